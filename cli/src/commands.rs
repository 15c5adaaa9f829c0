//! The commands: each reads its arguments, calls the core, prints the result.

use std::path::PathBuf;
use std::sync::Arc;

use authgate_core::apikey::{self, ApiKeyOptions};
use authgate_core::clock::ManualClock;
use authgate_core::jwt::{self, Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::otp::{self, OtpAlgorithm, OtpOptions, OtpUri, QrCode, Totp};
use authgate_core::remote_jwks::{RemoteJwks, RemoteJwksOptions};
use authgate_core::signature::{Request, RequestSigner, SignatureKey, SignerConfig};
use authgate_core::util::{b64url_encode, random_bytes};
use authgate_core::webhook::{WebhookKey, WebhookVerifier};
use authgate_core::ErrorKind;
use clap::Args;
use serde_json::{json, Map, Value};

use crate::input::{self, duration, now};
use crate::{Failure, Outcome};

fn print_json(value: &Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(value).unwrap_or_default()
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn algorithm(name: &str) -> Result<Algorithm, Failure> {
    name.parse::<Algorithm>().map_err(|_| {
        let all: Vec<&str> = Algorithm::ALL.iter().map(|a| a.name()).collect();
        Failure::Input(format!(
            "unknown algorithm `{name}` (one of {})",
            all.join(", ")
        ))
    })
}

// ---- keygen ----

#[derive(Args)]
pub struct ApiKeyArgs {
    /// The key's prefix (ends with `_`), e.g. `ag_test_` for a test key.
    #[arg(long)]
    prefix: Option<String>,
}

pub fn api_key(a: &ApiKeyArgs, default_prefix: &str, json: bool) -> Outcome {
    let options = ApiKeyOptions {
        prefix: a
            .prefix
            .clone()
            .unwrap_or_else(|| default_prefix.to_string()),
        ..ApiKeyOptions::default()
    };
    // Server keys mint client tokens: their record keeps the tokens' public key.
    let options = ApiKeyOptions {
        client_tokens: default_prefix == apikey::PREFIX_SERVER,
        ..options
    };
    let (key, record) = apikey::generate(&options, now())?;
    let public = record.client_token_key.map(|k| b64url_encode(&k));
    if json {
        let mut out = json!({
            "key": key,
            "id": record.id,
            "prefix": record.prefix,
            "last_four": record.last_four,
            "sha256": hex(&record.hash),
        });
        if let Some(public) = &public {
            out["client_token_key"] = json!(public);
        }
        print_json(&out);
    } else {
        println!("{key}");
        eprintln!(
            "Shown once. Store only: id {}, sha256 {}{} (ApiKeyManager.import_key / importKey)",
            record.id,
            hex(&record.hash),
            public
                .map(|p| format!(", client_token_key {p}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct HmacSecretArgs {
    /// Random bytes in the secret (32 to 128).
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(32..=128))]
    bytes: u16,
}

pub fn hmac_secret(a: &HmacSecretArgs, json: bool) -> Outcome {
    let mut raw = vec![0u8; usize::from(a.bytes)];
    random_bytes(&mut raw)?;
    let secret = b64url_encode(&raw);
    if json {
        print_json(&json!({ "secret": secret, "bytes": a.bytes }));
    } else {
        println!("{secret}");
    }
    Ok(())
}

#[derive(Args)]
pub struct WebhookSecretArgs {
    /// An Ed25519 pair (v1a): `whsk_…` signs, `whpk_…` goes to receivers.
    #[arg(long)]
    ed25519: bool,
}

pub fn webhook_secret(a: &WebhookSecretArgs, json: bool) -> Outcome {
    if a.ed25519 {
        let (secret, public) = WebhookKey::generate_keypair()?;
        if json {
            print_json(&json!({ "secret_key": secret, "public_key": public }));
        } else {
            println!("{secret}\n{public}");
        }
    } else {
        let secret = WebhookKey::generate_secret()?;
        if json {
            print_json(&json!({ "secret": secret }));
        } else {
            println!("{secret}");
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct SigningKeyArgs {
    /// ES256, ES384, EdDSA, RS256…PS512 (a PEM key), or HS256/384/512 (a secret).
    #[arg(long, default_value = "ES256")]
    alg: String,
    /// The key id published in the JWKS and written in each token's header.
    #[arg(long)]
    kid: String,
    /// Write the private key to this file (mode 0600; never overwritten) instead of stdout.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

pub fn signing_key(a: &SigningKeyArgs, json: bool) -> Outcome {
    let alg = algorithm(&a.alg)?;
    let hmac = matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512);
    let (private, jwks) = if hmac {
        // A shared secret has no public half: there is no JWKS to publish.
        (b64url_encode(&Key::generate_hmac_secret(alg)?), Value::Null)
    } else {
        let pem = Key::generate_pem(alg)?;
        let set = KeySet::new();
        set.add(Key::from_pem(Some(&a.kid), alg, &pem)?, KeyStatus::Active)?;
        (pem, set.jwks())
    };
    if let Some(path) = &a.out {
        input::write_secret(path, &private)?;
    }
    if json {
        let mut out = json!({ "alg": alg.name(), "kid": a.kid, "jwks": jwks });
        if a.out.is_none() {
            out["private"] = Value::String(private);
        }
        print_json(&out);
    } else {
        if a.out.is_none() {
            print!("{private}");
            if hmac {
                println!();
            }
        }
        if !jwks.is_null() {
            println!(
                "{}",
                serde_json::to_string_pretty(&jwks).unwrap_or_default()
            );
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct JwksArgs {
    /// The keys' algorithm.
    #[arg(long)]
    alg: String,
    /// PEM files (private or public keys).
    #[arg(required = true)]
    keys: Vec<PathBuf>,
}

pub fn jwks(a: &JwksArgs) -> Outcome {
    let alg = algorithm(&a.alg)?;
    let set = KeySet::new();
    for path in &a.keys {
        let kid = path
            .file_stem()
            .and_then(|s| s.to_str())
            .ok_or_else(|| Failure::Input(format!("{}: no usable file name", path.display())))?;
        let pem = input::file_text(path, "key")?;
        set.add(Key::from_pem(Some(kid), alg, &pem)?, KeyStatus::Active)?;
    }
    print_json(&set.jwks());
    Ok(())
}

// ---- jwt ----

/// Where a JWT key comes from: a secret (HS*), a PEM file, or a JWKS file.
#[derive(Args)]
pub struct KeySource {
    /// The HMAC secret (HS*): `@file`, `-` for stdin, `hex:…`, `base64:…` or text (its
    /// UTF-8 bytes). Prefer the environment or a file: a command line shows in `ps`.
    #[arg(long, env = "AUTHGATE_JWT_SECRET", hide_env_values = true, conflicts_with_all = ["key", "jwks"])]
    secret: Option<String>,
    /// A PEM key file (a private key to sign; a private or public key to verify).
    #[arg(long, value_name = "FILE", conflicts_with = "jwks")]
    key: Option<PathBuf>,
    /// A JWKS file (verify only): the token's `kid` picks the key.
    #[arg(long, value_name = "FILE")]
    jwks: Option<PathBuf>,
    /// The algorithm (not needed with --jwks when each key names its own).
    #[arg(long, default_value = "HS256")]
    alg: String,
    /// The key id.
    #[arg(long)]
    kid: Option<String>,
}

impl KeySource {
    fn keys(&self) -> Result<KeySet, Failure> {
        let set = KeySet::new();
        if let Some(path) = &self.jwks {
            set.import_jwks(&input::file_text(path, "JWKS")?)?;
            return Ok(set);
        }
        let alg = algorithm(&self.alg)?;
        let key =
            match (&self.secret, &self.key) {
                (Some(secret), _) => {
                    Key::hmac(self.kid.as_deref(), alg, &input::secret(secret, "secret")?)?
                }
                (None, Some(path)) => {
                    Key::from_pem(self.kid.as_deref(), alg, &input::file_text(path, "key")?)?
                }
                (None, None) => return Err(Failure::Input(
                    "give the key: --secret (or AUTHGATE_JWT_SECRET), --key FILE or --jwks FILE"
                        .into(),
                )),
            };
        // A public key verifies only; a private key or secret also signs.
        let status = if key.can_sign() {
            KeyStatus::Active
        } else {
            KeyStatus::VerifyOnly
        };
        set.add(key, status)?;
        Ok(set)
    }
}

#[derive(Args)]
pub struct JwtSign {
    #[command(flatten)]
    key: KeySource,
    /// The claims as a JSON object: text, `@file` or `-` for stdin.
    #[arg(long, default_value = "{}")]
    claims: String,
    #[arg(long)]
    sub: Option<String>,
    #[arg(long)]
    iss: Option<String>,
    #[arg(long)]
    aud: Option<String>,
    /// Lifetime: sets `iat` and `exp` (90, 15m, 12h, 7d) unless the claims have `exp`.
    #[arg(long, default_value = "15m", value_parser = duration)]
    ttl: u64,
    /// The `typ` header.
    #[arg(long)]
    typ: Option<String>,
}

pub fn jwt_sign(a: &JwtSign, json: bool) -> Outcome {
    let text = input::text(&a.claims, "claims")?;
    let mut claims: Map<String, Value> = serde_json::from_str(&text)
        .map_err(|e| Failure::Input(format!("the claims are not a JSON object: {e}")))?;
    for (name, value) in [("sub", &a.sub), ("iss", &a.iss), ("aud", &a.aud)] {
        if let Some(v) = value {
            claims.insert(name.into(), Value::String(v.clone()));
        }
    }
    if !claims.contains_key("exp") {
        let now = now();
        claims.insert("iat".into(), now.into());
        claims.insert("exp".into(), now.saturating_add(a.ttl).into());
    }
    let token = a.key.keys()?.sign(&claims, a.typ.as_deref())?;
    if json {
        print_json(&json!({ "token": token }));
    } else {
        println!("{token}");
    }
    Ok(())
}

#[derive(Args)]
pub struct JwtVerify {
    /// The token: text, `@file` or `-` for stdin.
    token: String,
    #[command(flatten)]
    key: KeySource,
    /// Fetch the keys from this JWKS URL (https://) instead of a local key.
    #[arg(long, value_name = "URL", conflicts_with_all = ["secret", "key", "jwks", "oidc_issuer"])]
    jwks_url: Option<String>,
    /// Find the keys through OpenID Connect discovery of this issuer (its tokens must then
    /// name it, unless --iss says otherwise).
    #[arg(long, value_name = "URL", conflicts_with_all = ["secret", "key", "jwks"])]
    oidc_issuer: Option<String>,
    /// Trust only this CA (PEM file) for --jwks-url / --oidc-issuer.
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Accepted issuer (repeatable).
    #[arg(long)]
    iss: Vec<String>,
    /// Accepted audience (repeatable). Without one, a token carrying `aud` is refused
    /// unless --any-audience is given (and an identity provider's keys need one).
    #[arg(long)]
    aud: Vec<String>,
    /// Accept a token whatever its `aud` (only without --aud).
    #[arg(long, conflicts_with = "aud")]
    any_audience: bool,
    /// Clock-skew allowance for exp/nbf/iat.
    #[arg(long, default_value = "30", value_parser = duration)]
    leeway: u64,
    /// Check the time as of this Unix time instead of now.
    #[arg(long)]
    at: Option<u64>,
}

pub fn jwt_verify(a: &JwtVerify, json: bool) -> Outcome {
    let token = input::text(&a.token, "token")?;
    let validation = Validation {
        issuers: a.iss.clone(),
        audiences: a.aud.clone(),
        accept_any_audience: a.any_audience,
        leeway: a.leeway,
        ..Validation::default()
    };
    let at = a.at.unwrap_or_else(now);
    let options = || -> Result<RemoteJwksOptions, Failure> {
        Ok(RemoteJwksOptions {
            ca_cert_pem: a
                .ca_cert
                .as_deref()
                .map(|p| input::file_text(p, "CA certificate"))
                .transpose()?,
            ..RemoteJwksOptions::default()
        })
    };
    let remote = match (&a.jwks_url, &a.oidc_issuer) {
        (Some(url), _) => Some(RemoteJwks::new(url, options()?)?),
        (None, Some(issuer)) => Some(RemoteJwks::discover(issuer, options()?)?),
        (None, None) => None,
    };
    let claims = match remote {
        Some(remote) => remote.verify_at(&token, &validation, at),
        None => a.key.keys()?.verify_at(&token, &validation, at),
    }
    .map_err(|e| match e.kind() {
        // The provider could not be reached: nothing was decided about the token.
        ErrorKind::KeySetUnavailable => Failure::Io(format!("{}: {}", e.code(), e.message())),
        _ => Failure::Rejected(e),
    })?;
    let claims = Value::Object(claims.to_map());
    if json {
        print_json(&json!({ "valid": true, "claims": claims }));
    } else {
        print_json(&claims);
    }
    Ok(())
}

#[derive(Args)]
pub struct JwtInspect {
    /// The token: text, `@file` or `-` for stdin.
    token: String,
}

pub fn jwt_inspect(a: &JwtInspect) -> Outcome {
    let token = input::text(&a.token, "token")?;
    let (header, claims) = jwt::peek_unverified(&token)?;
    eprintln!("NOT VERIFIED: this shows what the token says, not that it is genuine.");
    let mut out = json!({ "header": header, "claims": claims.to_map(), "verified": false });
    if let Some(exp) = claims.get("exp").and_then(|v| v.as_u64()) {
        out["expires_in"] = json!(exp as i64 - now() as i64);
    }
    print_json(&out);
    Ok(())
}

// ---- totp ----

#[derive(Args)]
pub struct OtpArgs {
    /// SHA1 (what every app supports), SHA256 or SHA512.
    #[arg(long, default_value = "SHA1")]
    algorithm: String,
    #[arg(long, default_value_t = 6)]
    digits: u8,
    /// Seconds per code.
    #[arg(long, default_value_t = 30)]
    period: u64,
}

impl OtpArgs {
    fn options(&self) -> Result<OtpOptions, Failure> {
        Ok(OtpOptions {
            algorithm: OtpAlgorithm::parse(&self.algorithm)?,
            digits: self.digits,
            period: self.period,
            ..OtpOptions::default()
        })
    }
}

#[derive(Args)]
pub struct TotpEnroll {
    /// The account name shown in the app, e.g. alice@example.com.
    #[arg(long)]
    account: String,
    /// Your service's name, shown in the app.
    #[arg(long)]
    issuer: Option<String>,
    /// Use this base32 secret instead of a new one: text, `@file` or `-` for stdin.
    #[arg(long, env = "AUTHGATE_TOTP_SECRET", hide_env_values = true)]
    secret: Option<String>,
    /// Leave out the terminal QR code.
    #[arg(long)]
    no_qr: bool,
    #[command(flatten)]
    otp: OtpArgs,
}

pub fn totp_enroll(a: &TotpEnroll, json: bool) -> Outcome {
    let secret = match &a.secret {
        Some(s) => otp::base32_decode(&input::text(s, "secret")?)?,
        None => otp::generate_secret()?,
    };
    let uri = OtpUri::totp(&secret, &a.account, a.issuer.as_deref(), a.otp.options()?)?.to_uri();
    let secret = otp::base32_encode(&secret);
    if json {
        print_json(&json!({ "secret": secret, "uri": uri }));
        return Ok(());
    }
    println!("secret: {secret}\nuri:    {uri}");
    if !a.no_qr {
        println!("\n{}", QrCode::new(&uri)?.to_text());
    }
    Ok(())
}

#[derive(Args)]
pub struct TotpCode {
    /// The base32 secret, or `@file` (prefer the environment or a file: a command line
    /// shows in `ps`).
    #[arg(
        long,
        env = "AUTHGATE_TOTP_SECRET",
        hide_env_values = true,
        conflicts_with = "uri"
    )]
    secret: Option<String>,
    /// An otpauth://totp/ URI (its algorithm, digits and period win over the options).
    #[arg(long)]
    uri: Option<String>,
    /// The Unix time to compute the code for (default: now).
    #[arg(long)]
    time: Option<u64>,
    #[command(flatten)]
    otp: OtpArgs,
}

pub fn totp_code(a: &TotpCode, json: bool) -> Outcome {
    // Codes for secrets made elsewhere: 80-bit ones (common in older apps) are accepted.
    let options = OtpOptions {
        allow_short_secret: true,
        ..a.otp.options()?
    };
    let totp = match (&a.secret, &a.uri) {
        (Some(s), _) => Totp::from_base32(&input::text(s, "secret")?, options)?,
        (None, Some(uri)) => OtpUri::parse(uri, true)?.to_totp()?,
        (None, None) => {
            return Err(Failure::Input(
                "give --secret (or AUTHGATE_TOTP_SECRET) or --uri".into(),
            ))
        }
    };
    let time = a.time.unwrap_or_else(now);
    let code = totp.generate(time);
    let remaining = totp.remaining_secs(time);
    if json {
        print_json(&json!({ "code": code, "step": totp.step(time), "valid_for": remaining }));
    } else {
        println!("{code}");
        eprintln!("valid for {remaining} s more");
    }
    Ok(())
}

// ---- signed requests and webhooks ----

#[derive(Args)]
pub struct SignRequest {
    /// The request's absolute URL.
    url: String,
    /// The method.
    #[arg(short = 'X', long, default_value = "GET")]
    method: String,
    /// A header field to send and sign, `Name: value` (repeatable).
    #[arg(short = 'H', long = "header")]
    headers: Vec<String>,
    /// The body: text, `@file` or `-` for stdin. Gets a Content-Digest.
    #[arg(short = 'd', long)]
    data: Option<String>,
    /// The key id the server knows the key by.
    #[arg(long)]
    keyid: String,
    /// An hmac-sha256 secret: `@file`, `-` for stdin, `hex:…`, `base64:…` or text (its
    /// UTF-8 bytes). Prefer the environment or a file: a command line shows in `ps`.
    #[arg(
        long,
        env = "AUTHGATE_HMAC_SECRET",
        hide_env_values = true,
        conflicts_with = "ed25519_key"
    )]
    hmac_secret: Option<String>,
    /// An Ed25519 private key (PEM file).
    #[arg(long, value_name = "FILE")]
    ed25519_key: Option<PathBuf>,
    /// Covered components (repeatable; default @method @authority @path, @query if any,
    /// and content-digest with a body).
    #[arg(long = "component")]
    components: Vec<String>,
    /// The signature's label.
    #[arg(long, default_value = "sig1")]
    label: String,
    /// Add `expires` this long after `created` (90, 5m).
    #[arg(long, value_parser = duration)]
    expires_in: Option<u64>,
    /// Print `-H 'Name: value'` arguments for curl instead of header lines.
    #[arg(long)]
    curl: bool,
}

pub fn sign_request(a: &SignRequest, json: bool) -> Outcome {
    let key = match (&a.hmac_secret, &a.ed25519_key) {
        (Some(s), _) => SignatureKey::hmac_sha256(&input::secret(s, "secret")?)?,
        (None, Some(path)) => SignatureKey::ed25519_pem(&input::file_text(path, "key")?)?,
        (None, None) => {
            return Err(Failure::Input(
                "give the key: --hmac-secret (or AUTHGATE_HMAC_SECRET) or --ed25519-key FILE"
                    .into(),
            ))
        }
    };
    let mut fields = Vec::with_capacity(a.headers.len());
    for h in &a.headers {
        let (name, value) = h.split_once(':').ok_or_else(|| {
            Failure::Input(format!("`{h}` is not a header field like `Name: value`"))
        })?;
        fields.push((name.trim().to_string(), value.trim().to_string()));
    }
    let body = a.data.as_deref().map(input::value).transpose()?;
    let mut request = Request::new(&a.method, &a.url)?;
    for (name, value) in &fields {
        request = request.header(name, value);
    }
    if let Some(b) = &body {
        request = request.body(b);
    }
    let config = SignerConfig {
        label: a.label.clone(),
        components: (!a.components.is_empty()).then(|| a.components.clone()),
        expires_in: a.expires_in,
        ..SignerConfig::default()
    };
    let signed = RequestSigner::new(&a.keyid, Arc::new(key), config)?.sign(&request)?;
    let mut out = vec![
        ("Signature-Input", signed.signature_input),
        ("Signature", signed.signature),
    ];
    if let Some(d) = signed.content_digest {
        out.push(("Content-Digest", d));
    }
    if json {
        let map: Map<String, Value> = out
            .into_iter()
            .map(|(k, v)| (k.to_string(), Value::String(v)))
            .collect();
        print_json(&Value::Object(map));
    } else if a.curl {
        // Single-quoted for a POSIX shell: a quote inside becomes '\''.
        let args: Vec<String> = out
            .iter()
            .map(|(k, v)| format!("-H '{}: {}'", k, v.replace('\'', r"'\''")))
            .collect();
        println!("{}", args.join(" "));
    } else {
        for (k, v) in out {
            println!("{k}: {v}");
        }
    }
    Ok(())
}

#[derive(Args)]
pub struct VerifyWebhook {
    /// A key (`whsec_…` or `whpk_…`, or `@file` holding one; repeatable, for rotation).
    /// Prefer the environment or a file: a command line shows in `ps`.
    #[arg(
        long = "secret",
        env = "AUTHGATE_WEBHOOK_SECRET",
        hide_env_values = true,
        required = true
    )]
    secrets: Vec<String>,
    /// The `webhook-id` header.
    #[arg(long)]
    id: String,
    /// The `webhook-timestamp` header.
    #[arg(long)]
    timestamp: String,
    /// The `webhook-signature` header.
    #[arg(long)]
    signature: String,
    /// The raw payload: text, `@file` or `-` for stdin (default stdin).
    #[arg(long, default_value = "-")]
    payload: String,
    /// Seconds the timestamp may be away from now.
    #[arg(long, default_value = "300", value_parser = duration)]
    tolerance: u64,
    /// Check the timestamp as of this Unix time instead of now (replaying a saved webhook).
    #[arg(long)]
    at: Option<u64>,
}

pub fn verify_webhook(a: &VerifyWebhook, json: bool) -> Outcome {
    let from_stdin = a.secrets.iter().filter(|k| input::reads_stdin(k)).count()
        + usize::from(input::reads_stdin(&a.payload));
    if from_stdin > 1 {
        return Err(Failure::Input(
            "only one of --secret and the payload can be read from stdin (-): give the \
             secret as @file or in the environment, or the payload as @file"
                .into(),
        ));
    }
    let keys = a
        .secrets
        .iter()
        .map(|k| Ok(WebhookKey::parse(&input::text(k, "webhook key")?)?))
        .collect::<Result<Vec<_>, Failure>>()?;
    let payload = input::value(&a.payload)?;
    let clock = Arc::new(ManualClock::new(a.at.unwrap_or_else(now)));
    let verifier = WebhookVerifier::with_clock(keys, None, clock)?.tolerance(a.tolerance);
    let v = verifier
        .verify(&a.id, &a.timestamp, &a.signature, &payload)
        .map_err(Failure::Rejected)?;
    if json {
        print_json(
            &json!({ "valid": true, "id": v.id, "timestamp": v.timestamp, "version": v.version }),
        );
    } else {
        println!(
            "valid: id {}, timestamp {}, signature {}",
            v.id, v.timestamp, v.version
        );
    }
    Ok(())
}
