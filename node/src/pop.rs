//! Proof of possession (`authgate_core::pop`) and identity providers' key sets
//! (`authgate_core::remote_jwks`). Fetching and store round trips run on the libuv pool.

use std::sync::Arc;
use std::time::Duration;

use authgate_core::clock::unix_now;
use authgate_core::pop::{self, DpopPolicy, DpopRequest, DpopVerifier};
use authgate_core::remote_jwks::{RemoteJwks, RemoteJwksOptions};
use napi::bindgen_prelude::{AsyncTask, Buffer, Either};
use napi_derive::napi;
use serde_json::Value;

use crate::convert::{self, opt_seconds};
use crate::errors::{core, invalid_arg, Result};
use crate::jwt::{algorithm, json_object, validation_json, JsKey};
use crate::offload::{offload, Offload};
use crate::session::{clock_or_system, store_or_default, JsManualClock, JsStore};

/// The RFC 7638 thumbprint of a public JWK (object or JSON text): what `cnf.jkt` holds.
#[napi(catch_unwind)]
pub fn jwk_thumbprint(jwk: Value) -> Result<String> {
    core(pop::jwk_thumbprint(&json_object(jwk, "jwk")?))
}

/// The RFC 8705 `x5t#S256` of a client certificate: PEM, URL-encoded PEM (as nginx and
/// Envoy pass it on) or DER.
#[napi(catch_unwind)]
pub fn certificate_thumbprint(certificate: Either<Buffer, String>) -> Result<String> {
    core(pop::certificate_thumbprint(&convert::bytes(&certificate)))
}

/// Checks that verified claims (JSON text: `index.js` stringifies them) are bound by
/// `cnf.x5t#S256` to the client certificate; throws otherwise.
#[napi(catch_unwind)]
pub fn check_certificate_binding_json(
    claims: String,
    certificate: Either<Buffer, String>,
) -> Result<()> {
    let claims = json_object(Value::String(claims), "claims")?;
    core(pop::check_certificate_binding_of(
        &claims,
        &convert::bytes(&certificate),
    ))
}

/// A fresh server nonce for DPoP (send it in a `DPoP-Nonce` header).
#[napi(catch_unwind)]
pub fn generate_dpop_nonce() -> Result<String> {
    core(pop::generate_nonce())
}

#[napi(object)]
#[derive(Default)]
pub struct DpopProofOptions {
    /// The access token sent beside the proof (its hash becomes `ath`).
    pub access_token: Option<String>,
    /// The server's last `DPoP-Nonce`.
    pub nonce: Option<String>,
    /// Seconds since the epoch (default: now).
    pub now: Option<f64>,
}

/// A DPoP proof for one request, signed by `key` (an asymmetric private key): what a
/// client sends in the `DPoP` header.
#[napi(catch_unwind)]
pub fn create_dpop_proof(
    key: &JsKey,
    method: String,
    uri: String,
    options: Option<DpopProofOptions>,
) -> Result<String> {
    let o = options.unwrap_or_default();
    let now = opt_seconds(o.now, "now")?.unwrap_or_else(unix_now);
    core(pop::create_proof(
        &key.inner,
        &method,
        &uri,
        o.access_token.as_deref(),
        o.nonce.as_deref(),
        now,
    ))
}

/// A verified DPoP proof.
#[napi(object)]
pub struct DpopProof {
    /// The thumbprint of the proof's key (what `cnf.jkt` must equal).
    pub jkt: String,
    pub jti: String,
    pub iat: f64,
}

#[napi(object)]
#[derive(Default)]
pub struct DpopVerifierOptions {
    /// How old a proof may be, in seconds (default 300).
    pub max_age: Option<f64>,
    /// Clock skew allowed for `iat` in the future, in seconds (default 5).
    pub leeway: Option<f64>,
    /// A nonce every proof must carry (per-request nonces go to `verify`).
    pub nonce: Option<String>,
    /// Accepted algorithms (default ES256, ES384, EdDSA, RS256, PS256).
    pub algorithms: Option<Vec<String>>,
}

/// What one request presents: `index.js` passes `accessClaims` as JSON text.
#[napi(object)]
#[derive(Default)]
pub struct DpopCheck {
    pub access_token: Option<String>,
    pub access_claims_json: Option<String>,
    pub nonce: Option<String>,
}

/// Verifies DPoP proofs (RFC 9449), each `jti` once through the store.
#[napi(js_name = "DpopVerifier")]
pub struct JsDpopVerifier {
    pub(crate) inner: Arc<DpopVerifier>,
}

fn verify_proof(
    verifier: &DpopVerifier,
    proof: &str,
    method: &str,
    uri: &str,
    check: &DpopCheck,
) -> Result<DpopProof> {
    let claims = check
        .access_claims_json
        .as_deref()
        .map(|text| json_object(Value::String(text.to_string()), "access claims"))
        .transpose()?;
    let verified = core(verifier.verify_request(&DpopRequest {
        proof,
        method,
        uri,
        access_token: check.access_token.as_deref(),
        access_claims: claims.as_ref(),
        nonce: check.nonce.as_deref(),
    }))?;
    Ok(DpopProof {
        jkt: verified.jkt,
        jti: verified.jti,
        iat: verified.iat as f64,
    })
}

#[napi]
impl JsDpopVerifier {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        options: Option<DpopVerifierOptions>,
        store: Option<&JsStore>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let d = DpopPolicy::default();
        let policy = DpopPolicy {
            max_age: opt_seconds(o.max_age, "maxAge")?.unwrap_or(d.max_age),
            leeway: opt_seconds(o.leeway, "leeway")?.unwrap_or(d.leeway),
            nonce: o.nonce,
            algorithms: match o.algorithms {
                Some(list) => list.iter().map(|a| algorithm(a)).collect::<Result<_>>()?,
                None => d.algorithms,
            },
        };
        Ok(JsDpopVerifier {
            inner: Arc::new(DpopVerifier::with_clock(
                store_or_default(store),
                policy,
                clock_or_system(clock),
            )),
        })
    }

    #[napi(catch_unwind)]
    pub fn verify(
        &self,
        proof: String,
        method: String,
        uri: String,
        check: Option<DpopCheck>,
    ) -> Result<DpopProof> {
        verify_proof(
            &self.inner,
            &proof,
            &method,
            &uri,
            &check.unwrap_or_default(),
        )
    }

    /// `verify` on the thread pool, for a replay store on the network (Redis).
    #[napi(catch_unwind, ts_return_type = "Promise<DpopProof | TaskFailure>")]
    pub fn verify_async(
        &self,
        proof: String,
        method: String,
        uri: String,
        check: Option<DpopCheck>,
    ) -> AsyncTask<Offload<DpopProof>> {
        let inner = self.inner.clone();
        let check = check.unwrap_or_default();
        offload(move || verify_proof(&inner, &proof, &method, &uri, &check))
    }
}

#[napi(object)]
#[derive(Default)]
pub struct RemoteJwksOptionsJs {
    /// Seconds a fetched key set is used (default 600).
    pub ttl: Option<f64>,
    /// Least seconds between fetches caused by an unknown kid or a failure (default 30).
    pub cooldown: Option<f64>,
    /// Seconds past its TTL a key set is still served while fetching fails (default 86400).
    pub max_stale: Option<f64>,
    /// The whole request's time limit in seconds (default 5).
    pub timeout: Option<f64>,
    /// The largest response accepted, in bytes (default 1 MiB).
    pub max_bytes: Option<f64>,
    /// Trust only this CA (PEM) instead of the Mozilla roots.
    pub ca_cert: Option<String>,
    /// Accept http:// URLs (never for production).
    pub allow_http: Option<bool>,
}

fn remote_options(o: Option<RemoteJwksOptionsJs>) -> Result<RemoteJwksOptions> {
    let o = o.unwrap_or_default();
    let d = RemoteJwksOptions::default();
    let timeout = match o.timeout {
        None => d.timeout,
        Some(t) if t.is_finite() && t > 0.0 && t <= 300.0 => Duration::from_secs_f64(t),
        Some(_) => return Err(invalid_arg("timeout is seconds above 0 and at most 300")),
    };
    let max_bytes = match o.max_bytes {
        None => d.max_bytes,
        Some(b) if b.is_finite() && b >= 1.0 && b.fract() == 0.0 => b as u64,
        Some(_) => return Err(invalid_arg("maxBytes is a whole number of bytes")),
    };
    Ok(RemoteJwksOptions {
        ttl: opt_seconds(o.ttl, "ttl")?.unwrap_or(d.ttl),
        cooldown: opt_seconds(o.cooldown, "cooldown")?.unwrap_or(d.cooldown),
        max_stale: opt_seconds(o.max_stale, "maxStale")?.unwrap_or(d.max_stale),
        timeout,
        max_bytes,
        ca_cert_pem: o.ca_cert,
        allow_http: o.allow_http.unwrap_or(false),
    })
}

/// What a remote key set holds and how fetching went.
#[napi(object)]
pub struct RemoteJwksStatus {
    pub kids: Vec<String>,
    pub fetched_at: Option<f64>,
    pub stale: bool,
    pub fetches: f64,
    pub failures: f64,
    /// The last fetch's failure (code and message), if it failed.
    pub last_error_code: Option<String>,
    pub last_error_message: Option<String>,
    pub jwks_uri: Option<String>,
    pub issuer: Option<String>,
}

/// An identity provider's key set, fetched over HTTPS and cached (see the core docs).
#[napi(js_name = "RemoteJwks")]
pub struct JsRemoteJwks {
    pub(crate) inner: Arc<RemoteJwks>,
}

#[napi]
impl JsRemoteJwks {
    /// A client for the JWKS at `url` (https://). Nothing is fetched until needed.
    #[napi(constructor, catch_unwind)]
    pub fn new(
        url: String,
        options: Option<RemoteJwksOptionsJs>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let client = core(RemoteJwks::new(&url, remote_options(options)?))?;
        Ok(JsRemoteJwks {
            inner: Arc::new(client.with_clock(clock_or_system(clock))),
        })
    }

    /// A client that finds the key set through OpenID Connect discovery of `issuer`.
    #[napi(factory, catch_unwind)]
    pub fn discover(
        issuer: String,
        options: Option<RemoteJwksOptionsJs>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let client = core(RemoteJwks::discover(&issuer, remote_options(options)?))?;
        Ok(JsRemoteJwks {
            inner: Arc::new(client.with_clock(clock_or_system(clock))),
        })
    }

    #[napi(getter)]
    pub fn url(&self) -> String {
        self.inner.url().to_string()
    }

    /// Verifies a token (options as JSON text, like `KeySet.verify`) on the thread pool;
    /// settles with the claims as JSON text.
    #[napi(catch_unwind, ts_return_type = "Promise<string | TaskFailure>")]
    pub fn verify_json_async(
        &self,
        token: String,
        options: Option<String>,
    ) -> Result<AsyncTask<Offload<String>>> {
        let (v, now) = validation_json(options)?;
        let inner = self.inner.clone();
        Ok(offload(move || {
            let claims = core(inner.verify_at(&token, &v, now.unwrap_or_else(unix_now)))?;
            Ok(claims.json().to_string())
        }))
    }

    /// Fetches the key set now, on the thread pool; settles with its kids.
    #[napi(catch_unwind, ts_return_type = "Promise<Array<string> | TaskFailure>")]
    pub fn refresh_async(&self) -> AsyncTask<Offload<Vec<String>>> {
        let inner = self.inner.clone();
        offload(move || {
            core(inner.refresh())?;
            Ok(inner.status().kids)
        })
    }

    #[napi(catch_unwind)]
    pub fn status(&self) -> RemoteJwksStatus {
        let s = self.inner.status();
        RemoteJwksStatus {
            kids: s.kids,
            fetched_at: s.fetched_at.map(|t| t as f64),
            stale: s.stale,
            fetches: s.fetches as f64,
            failures: s.failures as f64,
            last_error_code: s.last_error.as_ref().map(|e| e.code().to_uppercase()),
            last_error_message: s.last_error.as_ref().map(|e| e.message().to_string()),
            jwks_uri: s.jwks_uri,
            issuer: s.issuer,
        }
    }
}
