//! HTTP Message Signatures (RFC 9421) for requests, with `hmac-sha256` and `ed25519`,
//! `Content-Digest` (RFC 9530) and replay protection through the [`Store`].
//!
//! A client signs with a [`RequestSigner`]; a server checks with a [`RequestVerifier`],
//! which finds keys by `keyid` through a [`KeyResolver`] and applies a [`VerifyPolicy`]:
//! by default `@method`, `@authority`, `@path` (and `@query`, `content-digest` when the
//! request has them) must be covered, `created` must be at most 300 s old and 60 s ahead, and each `nonce` is
//! accepted once per key.

mod digest;
mod request;
pub mod sfv;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

pub use digest::{content_digest, verify_content_digest, DigestAlgorithm};
pub use request::{Request, MAX_HEADERS, MAX_HEADER_VALUE_BYTES, MAX_URI_BYTES};

use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::jwt::{truncate, Algorithm, Key};
use crate::store::Store;
use crate::util::{b64url_encode, random_bytes};
use digest::malformed_with;
use sfv::{BareItem, InnerList, Item, Member, Params};

/// The largest `Signature-Input` or `Signature` field accepted.
pub const MAX_SIGNATURE_FIELD_BYTES: usize = 8 * 1024;
/// Default maximum age of `created`, in seconds.
pub const DEFAULT_MAX_SKEW: u64 = 300;
/// Default allowance for a `created` ahead of the verifier's clock, in seconds: clocks
/// drift, but a request is not signed minutes in the future.
pub const DEFAULT_MAX_FUTURE_SKEW: u64 = 60;

/// The signature algorithms supported (RFC 9421 §3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SignatureAlgorithm {
    HmacSha256,
    Ed25519,
}

impl SignatureAlgorithm {
    /// The registered name: `hmac-sha256` or `ed25519`.
    pub fn name(self) -> &'static str {
        match self {
            SignatureAlgorithm::HmacSha256 => "hmac-sha256",
            SignatureAlgorithm::Ed25519 => "ed25519",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "hmac-sha256" => Some(SignatureAlgorithm::HmacSha256),
            "ed25519" => Some(SignatureAlgorithm::Ed25519),
            _ => None,
        }
    }
}

/// A key bound to one signature algorithm: an HMAC secret, or an Ed25519 private key
/// (signs and verifies) or public key (verifies only).
#[derive(Debug)]
pub struct SignatureKey {
    alg: SignatureAlgorithm,
    key: Key,
}

impl SignatureKey {
    /// An `hmac-sha256` key; the secret must be at least 32 bytes.
    pub fn hmac_sha256(secret: &[u8]) -> Result<Self> {
        Ok(SignatureKey {
            alg: SignatureAlgorithm::HmacSha256,
            key: Key::hmac(None, Algorithm::HS256, secret)?,
        })
    }

    /// An `ed25519` key from PEM: `PRIVATE KEY` (PKCS#8) or `PUBLIC KEY` (SPKI).
    pub fn ed25519_pem(pem: &str) -> Result<Self> {
        Ok(SignatureKey {
            alg: SignatureAlgorithm::Ed25519,
            key: Key::from_pem(None, Algorithm::EdDSA, pem)?,
        })
    }

    /// An `ed25519` public key from its 32 raw bytes.
    pub fn ed25519_public(public: &[u8]) -> Result<Self> {
        Ok(SignatureKey {
            alg: SignatureAlgorithm::Ed25519,
            key: Key::ed25519_from_public(None, public)?,
        })
    }

    /// An `ed25519` private key from its 32-byte seed.
    pub fn ed25519_seed(seed: &[u8]) -> Result<Self> {
        Ok(SignatureKey {
            alg: SignatureAlgorithm::Ed25519,
            key: Key::ed25519_from_seed(None, seed)?,
        })
    }

    /// A new key from the OS CSPRNG, with the bytes to keep: the 32-byte HMAC secret, or
    /// the 32-byte Ed25519 seed.
    pub fn generate(alg: SignatureAlgorithm) -> Result<(Self, Vec<u8>)> {
        let mut secret = vec![0u8; 32];
        random_bytes(&mut secret)?;
        let key = match alg {
            SignatureAlgorithm::HmacSha256 => SignatureKey::hmac_sha256(&secret)?,
            SignatureAlgorithm::Ed25519 => SignatureKey::ed25519_seed(&secret)?,
        };
        Ok((key, secret))
    }

    pub fn algorithm(&self) -> SignatureAlgorithm {
        self.alg
    }

    /// Whether this key can sign (an HMAC secret or an Ed25519 private key).
    pub fn can_sign(&self) -> bool {
        self.key.can_sign()
    }

    /// The raw 32-byte Ed25519 public key; `None` for HMAC keys.
    pub fn public_key_bytes(&self) -> Option<Vec<u8>> {
        self.key.ed25519_public_bytes().map(<[u8]>::to_vec)
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        self.key.sign(message)
    }

    /// Constant-time for HMAC tags.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.key.verify(message, signature)
    }
}

/// Finds the key for a `keyid`. `Ok(None)` means "unknown key".
pub trait KeyResolver: Send + Sync {
    fn resolve(&self, keyid: &str) -> Result<Option<Arc<SignatureKey>>>;
}

impl<F> KeyResolver for F
where
    F: Fn(&str) -> Result<Option<Arc<SignatureKey>>> + Send + Sync,
{
    fn resolve(&self, keyid: &str) -> Result<Option<Arc<SignatureKey>>> {
        self(keyid)
    }
}

/// A thread-safe map of `keyid` → key, the simplest resolver.
#[derive(Default)]
pub struct KeyMap {
    keys: RwLock<HashMap<String, Arc<SignatureKey>>>,
}

impl KeyMap {
    pub fn new() -> Self {
        KeyMap::default()
    }

    pub fn insert(&self, keyid: &str, key: SignatureKey) {
        self.insert_arc(keyid, Arc::new(key));
    }

    /// Adds a key shared with other maps or resolvers.
    pub fn insert_arc(&self, keyid: &str, key: Arc<SignatureKey>) {
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(keyid.to_string(), key);
    }

    pub fn remove(&self, keyid: &str) -> bool {
        self.keys
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .remove(keyid)
            .is_some()
    }

    pub fn len(&self) -> usize {
        self.keys.read().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl KeyResolver for KeyMap {
    fn resolve(&self, keyid: &str) -> Result<Option<Arc<SignatureKey>>> {
        Ok(self
            .keys
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(keyid)
            .cloned())
    }
}

/// The signature parameters (RFC 9421 §2.3) written into `Signature-Input`, in the order
/// `created`, `expires`, `keyid`, `nonce`, `alg`, `tag`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignatureParams {
    pub created: Option<u64>,
    pub expires: Option<u64>,
    pub keyid: Option<String>,
    pub nonce: Option<String>,
    /// Write the key's algorithm name as `alg`.
    pub alg: bool,
    pub tag: Option<String>,
}

/// The header fields a signed request carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedHeaders {
    pub signature_input: String,
    pub signature: String,
    /// Set when the signer computed `Content-Digest`; the request must carry it.
    pub content_digest: Option<String>,
}

/// Checks a covered-component identifier: a known derived component or a lower-case
/// field name.
fn check_component(name: &str) -> Result<()> {
    let ok = if let Some(derived) = name.strip_prefix('@') {
        matches!(
            derived,
            "method" | "authority" | "path" | "query" | "target-uri" | "scheme" | "request-target"
        )
    } else {
        !name.is_empty()
            && name.len() <= 256
            && name
                .bytes()
                .all(|b| b.is_ascii_graphic() && !b.is_ascii_uppercase() && b != b'"' && b != b'\\')
    };
    if ok {
        Ok(())
    } else {
        err(
            ErrorKind::MalformedSignature,
            format!(
                "`{}` is not a supported component (derived components: @method, @authority, \
                 @path, @query, @target-uri, @scheme, @request-target; fields in lower case)",
                truncate(name, 64)
            ),
        )
    }
}

fn string_param(params: &mut Params, name: &str, value: &Option<String>) -> Result<()> {
    if let Some(v) = value {
        if !sfv::is_sf_string(v) {
            return err(
                ErrorKind::InvalidInput,
                format!("the `{name}` parameter must be printable ASCII"),
            );
        }
        params.push((name.to_string(), BareItem::String(v.clone())));
    }
    Ok(())
}

fn int_param(params: &mut Params, name: &str, value: Option<u64>) -> Result<()> {
    if let Some(v) = value {
        let v = i64::try_from(v)
            .ok()
            .filter(|v| *v < 1_000_000_000_000_000)
            .ok_or_else(|| Error::new(ErrorKind::InvalidInput, format!("`{name}` is too large")))?;
        params.push((name.to_string(), BareItem::Integer(v)));
    }
    Ok(())
}

/// Builds the signature base (RFC 9421 §2.5). `digest` overrides the request's
/// `Content-Digest` (a signer adding one). Also returns the `content-digest` value the base
/// covers, if any, so a verifier checks the body against exactly that value.
fn signature_base(
    req: &Request,
    components: &[String],
    signature_params: &str,
    digest: Option<&str>,
) -> Result<(String, Option<String>)> {
    let mut base = String::with_capacity(256);
    let mut covered_digest = None;
    for name in components {
        let value = if name.starts_with('@') {
            req.derived(name)
        } else if name == "content-digest" && digest.is_some() {
            digest.map(Cow::Borrowed)
        } else {
            req.field_value(name)?
        };
        let Some(value) = value else {
            return err(
                ErrorKind::MissingComponent,
                format!(
                    "the signature covers `{}`, which the request does not have",
                    truncate(name, 64)
                ),
            );
        };
        base.push('"');
        base.push_str(name);
        base.push_str("\": ");
        base.push_str(&value);
        base.push('\n');
        if name == "content-digest" {
            covered_digest = Some(value.into_owned());
        }
    }
    base.push_str("\"@signature-params\": ");
    base.push_str(signature_params);
    Ok((base, covered_digest))
}

/// Signs `req` with explicit parameters: the low-level, deterministic signer (the RFC 9421
/// Appendix B examples are reproduced with it). With `digest`, `Content-Digest` is computed
/// over the body, covered, and returned for the request to carry.
pub fn sign_request(
    req: &Request,
    key: &SignatureKey,
    label: &str,
    components: &[String],
    params: &SignatureParams,
    digest: Option<DigestAlgorithm>,
) -> Result<SignedHeaders> {
    req.check_headers()?;
    if !sfv::is_key(label) {
        return err(
            ErrorKind::InvalidInput,
            "the label must be lower-case letters, digits, `_`, `-`, `.` or `*`",
        );
    }
    if !key.can_sign() {
        return err(
            ErrorKind::InvalidKey,
            "this key cannot sign (public key only)",
        );
    }
    let mut components = components.to_vec();
    let content_digest = digest.map(|alg| content_digest(alg, req.body_bytes()));
    if content_digest.is_some() && !components.iter().any(|c| c == "content-digest") {
        components.push("content-digest".to_string());
    }
    for (i, c) in components.iter().enumerate() {
        check_component(c)?;
        if components[..i].contains(c) {
            return err(
                ErrorKind::InvalidInput,
                format!("component `{}` is listed twice", truncate(c, 64)),
            );
        }
    }
    let mut list_params = Params::new();
    int_param(&mut list_params, "created", params.created)?;
    int_param(&mut list_params, "expires", params.expires)?;
    string_param(&mut list_params, "keyid", &params.keyid)?;
    string_param(&mut list_params, "nonce", &params.nonce)?;
    if params.alg {
        list_params.push(("alg".into(), BareItem::String(key.alg.name().into())));
    }
    string_param(&mut list_params, "tag", &params.tag)?;
    let list = InnerList {
        items: components
            .iter()
            .map(|c| Item {
                value: BareItem::String(c.clone()),
                params: Params::new(),
            })
            .collect(),
        params: list_params,
    };
    let mut serialized = String::new();
    sfv::write_inner_list(&mut serialized, &list);
    let (base, _) = signature_base(req, &components, &serialized, content_digest.as_deref())?;
    let sig = key.sign(base.as_bytes())?;
    let mut signature = format!("{label}=");
    sfv::write_bare_item(&mut signature, &BareItem::ByteSeq(sig));
    Ok(SignedHeaders {
        signature_input: format!("{label}={serialized}"),
        signature,
        content_digest,
    })
}

/// How a [`RequestSigner`] signs. The defaults match [`VerifyPolicy::default`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignerConfig {
    /// The signature's label in the headers (default `sig1`).
    pub label: String,
    /// Covered components; `None` means `@method`, `@authority`, `@path`, plus `@query`
    /// when the request has one (and `content-digest` when there is a body, see `digest`).
    pub components: Option<Vec<String>>,
    /// Compute and cover `Content-Digest` for requests with a body (default sha-256).
    pub digest: Option<DigestAlgorithm>,
    /// Add `expires = created + this` (default: none).
    pub expires_in: Option<u64>,
    /// Add a random `nonce` (default true).
    pub nonce: bool,
    /// Write `alg` (default true).
    pub alg: bool,
    pub tag: Option<String>,
}

impl Default for SignerConfig {
    fn default() -> Self {
        SignerConfig {
            label: "sig1".into(),
            components: None,
            digest: Some(DigestAlgorithm::Sha256),
            expires_in: None,
            nonce: true,
            alg: true,
            tag: None,
        }
    }
}

/// Signs outgoing requests with one key: `created` from the clock, a fresh nonce each time.
pub struct RequestSigner {
    key: Arc<SignatureKey>,
    keyid: String,
    config: SignerConfig,
    clock: Arc<dyn Clock>,
}

fn default_components(req: &Request) -> Vec<String> {
    let mut c: Vec<String> = vec!["@method".into(), "@authority".into(), "@path".into()];
    if req.has_query() {
        c.push("@query".into());
    }
    c
}

impl RequestSigner {
    pub fn new(keyid: &str, key: Arc<SignatureKey>, config: SignerConfig) -> Result<Self> {
        RequestSigner::with_clock(keyid, key, config, Arc::new(SystemClock))
    }

    pub fn with_clock(
        keyid: &str,
        key: Arc<SignatureKey>,
        config: SignerConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if !key.can_sign() {
            return err(
                ErrorKind::InvalidKey,
                "this key cannot sign (public key only)",
            );
        }
        if !sfv::is_key(&config.label) {
            return err(ErrorKind::InvalidInput, "the label is not a valid key");
        }
        if let Some(components) = &config.components {
            for c in components {
                check_component(c)?;
            }
        }
        Ok(RequestSigner {
            key,
            keyid: keyid.to_string(),
            config,
            clock,
        })
    }

    /// Signs `req`: the returned header values go on the request as `Signature-Input`,
    /// `Signature` and (when set) `Content-Digest`.
    pub fn sign(&self, req: &Request) -> Result<SignedHeaders> {
        let created = self.clock.now();
        let nonce = if self.config.nonce {
            let mut raw = [0u8; 16];
            random_bytes(&mut raw)?;
            Some(b64url_encode(&raw))
        } else {
            None
        };
        let params = SignatureParams {
            created: Some(created),
            expires: self.config.expires_in.map(|s| created.saturating_add(s)),
            keyid: Some(self.keyid.clone()),
            nonce,
            alg: self.config.alg,
            tag: self.config.tag.clone(),
        };
        let components = match &self.config.components {
            Some(c) => c.clone(),
            None => default_components(req),
        };
        let digest = self.config.digest.filter(|_| !req.body_bytes().is_empty());
        sign_request(
            req,
            &self.key,
            &self.config.label,
            &components,
            &params,
            digest,
        )
    }
}

/// What a verifier requires of a signature. The default is strict; see the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyPolicy {
    /// Components every signature must cover (default `@method`, `@authority`, `@path`).
    pub required_components: Vec<String>,
    /// Also require `@query` when the request has a query (default true).
    pub require_query_when_present: bool,
    /// Also require `content-digest` (checked against the body) when there is a body
    /// (default true).
    pub require_digest_with_body: bool,
    pub require_created: bool,
    pub require_nonce: bool,
    pub require_keyid: bool,
    pub require_expires: bool,
    /// How old `created` may be, in seconds (default 300).
    pub max_skew: u64,
    /// How far `created` may be ahead of now, in seconds (default 60).
    pub max_future_skew: u64,
    /// Only accept signatures with this `tag`.
    pub tag: Option<String>,
}

impl Default for VerifyPolicy {
    fn default() -> Self {
        VerifyPolicy {
            required_components: vec!["@method".into(), "@authority".into(), "@path".into()],
            require_query_when_present: true,
            require_digest_with_body: true,
            require_created: true,
            require_nonce: true,
            require_keyid: true,
            require_expires: false,
            max_skew: DEFAULT_MAX_SKEW,
            max_future_skew: DEFAULT_MAX_FUTURE_SKEW,
            tag: None,
        }
    }
}

/// Which signature to check when a request carries several.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection<'s> {
    pub label: Option<&'s str>,
    pub keyid: Option<&'s str>,
}

/// A signature that passed every check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedSignature {
    pub label: String,
    pub keyid: Option<String>,
    pub algorithm: SignatureAlgorithm,
    pub created: Option<u64>,
    pub expires: Option<u64>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
    pub components: Vec<String>,
}

/// The parameters of one `Signature-Input` member, typed.
struct ParsedParams {
    created: Option<u64>,
    expires: Option<u64>,
    keyid: Option<String>,
    nonce: Option<String>,
    alg: Option<String>,
    tag: Option<String>,
}

fn parse_params(params: &Params) -> Result<ParsedParams> {
    let string = |name: &str| -> Result<Option<String>> {
        match sfv::param(params, name) {
            None => Ok(None),
            Some(BareItem::String(s)) => Ok(Some(s.clone())),
            Some(_) => err(
                ErrorKind::MalformedSignature,
                format!("the `{name}` parameter must be a string"),
            ),
        }
    };
    let int = |name: &str| -> Result<Option<u64>> {
        match sfv::param(params, name) {
            None => Ok(None),
            Some(BareItem::Integer(n)) if *n >= 0 => Ok(Some(*n as u64)),
            Some(_) => err(
                ErrorKind::MalformedSignature,
                format!("the `{name}` parameter must be a non-negative integer"),
            ),
        }
    };
    Ok(ParsedParams {
        created: int("created")?,
        expires: int("expires")?,
        keyid: string("keyid")?,
        nonce: string("nonce")?,
        alg: string("alg")?,
        tag: string("tag")?,
    })
}

fn signature_field(req: &Request, name: &str) -> Result<Option<sfv::Dictionary>> {
    let Some(value) = req.field_value(name)? else {
        return Ok(None);
    };
    if value.len() > MAX_SIGNATURE_FIELD_BYTES {
        return err(
            ErrorKind::MalformedSignature,
            format!("{name} is larger than {MAX_SIGNATURE_FIELD_BYTES} bytes"),
        );
    }
    sfv::parse_dictionary(&value)
        .map(Some)
        .map_err(|e| malformed_with(name, e.0))
}

/// Checks signed requests: key lookup by `keyid`, the policy, the signature, the body's
/// digest and, last, the nonce (so a request that fails never uses up its nonce).
pub struct RequestVerifier {
    resolver: Arc<dyn KeyResolver>,
    policy: VerifyPolicy,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl RequestVerifier {
    pub fn new(
        resolver: Arc<dyn KeyResolver>,
        store: Arc<dyn Store>,
        policy: VerifyPolicy,
    ) -> Self {
        RequestVerifier::with_clock(resolver, store, policy, Arc::new(SystemClock))
    }

    pub fn with_clock(
        resolver: Arc<dyn KeyResolver>,
        store: Arc<dyn Store>,
        policy: VerifyPolicy,
        clock: Arc<dyn Clock>,
    ) -> Self {
        RequestVerifier {
            resolver,
            policy,
            store,
            clock,
        }
    }

    pub fn policy(&self) -> &VerifyPolicy {
        &self.policy
    }

    /// Verifies the request's signature; with several, the first (in `Signature-Input`
    /// order) whose key is known.
    pub fn verify(&self, req: &Request) -> Result<VerifiedSignature> {
        self.verify_selected(req, Selection::default())
    }

    /// Verifies the signature chosen by label and/or keyid.
    pub fn verify_selected(&self, req: &Request, select: Selection) -> Result<VerifiedSignature> {
        self.verify_with(req, select, self.resolver.as_ref())
    }

    /// Like [`RequestVerifier::verify_selected`] with another resolver for this call.
    pub fn verify_with(
        &self,
        req: &Request,
        select: Selection,
        resolver: &dyn KeyResolver,
    ) -> Result<VerifiedSignature> {
        req.check_headers()?;
        let inputs = signature_field(req, "signature-input")?;
        let signatures = signature_field(req, "signature")?;
        let (Some(inputs), Some(signatures)) = (inputs, signatures) else {
            return err(
                ErrorKind::MissingSignature,
                "the request has no Signature-Input and Signature fields",
            );
        };
        let mut unknown_key = None;
        let mut considered = 0;
        for (label, member) in &inputs {
            if select.label.is_some_and(|l| l != label) {
                continue;
            }
            let Member::InnerList(list) = member else {
                return err(
                    ErrorKind::MalformedSignature,
                    "a Signature-Input member must be an inner list",
                );
            };
            let params = parse_params(&list.params)?;
            if select.keyid.is_some() && params.keyid.as_deref() != select.keyid {
                continue;
            }
            if self.policy.tag.is_some() && params.tag != self.policy.tag {
                continue;
            }
            considered += 1;
            let Some(keyid) = params.keyid.as_deref() else {
                if self.policy.require_keyid {
                    return err(
                        ErrorKind::MissingComponent,
                        "the signature has no `keyid` parameter",
                    );
                }
                return err(
                    ErrorKind::UnknownKey,
                    "the signature has no `keyid`, so no key can be found for it",
                );
            };
            match resolver.resolve(keyid)? {
                None => {
                    unknown_key.get_or_insert_with(|| keyid.to_string());
                }
                Some(key) => {
                    return self.verify_one(req, label, list, params, &key, &signatures);
                }
            }
        }
        match unknown_key {
            Some(keyid) => err(
                ErrorKind::UnknownKey,
                format!("no key is known for keyid `{}`", truncate(&keyid, 64)),
            ),
            None if considered == 0 => err(
                ErrorKind::MissingSignature,
                "no signature matches the requested label, keyid or tag",
            ),
            None => err(ErrorKind::MissingSignature, "no signature could be checked"),
        }
    }

    fn verify_one(
        &self,
        req: &Request,
        label: &str,
        list: &InnerList,
        params: ParsedParams,
        key: &SignatureKey,
        signatures: &sfv::Dictionary,
    ) -> Result<VerifiedSignature> {
        if let Some(alg) = &params.alg {
            if SignatureAlgorithm::from_name(alg) != Some(key.algorithm()) {
                return err(
                    ErrorKind::AlgorithmMismatch,
                    format!(
                        "the signature says `{}` but its key is {}",
                        truncate(alg, 32),
                        key.algorithm().name()
                    ),
                );
            }
        }
        // Covered components: strings without parameters, no duplicates.
        let mut components: Vec<String> = Vec::with_capacity(list.items.len());
        for item in &list.items {
            let BareItem::String(name) = &item.value else {
                return err(
                    ErrorKind::MalformedSignature,
                    "covered components must be strings",
                );
            };
            if !item.params.is_empty() {
                return err(
                    ErrorKind::MalformedSignature,
                    format!(
                        "component parameters (on `{}`) are not supported",
                        truncate(name, 64)
                    ),
                );
            }
            check_component(name)?;
            if components.contains(name) {
                return err(
                    ErrorKind::MalformedSignature,
                    format!("component `{}` is covered twice", truncate(name, 64)),
                );
            }
            components.push(name.clone());
        }
        let p = &self.policy;
        let covers = |name: &str| components.iter().any(|c| c == name);
        let body = req.body_bytes();
        let required = p
            .required_components
            .iter()
            .map(String::as_str)
            .chain((p.require_query_when_present && req.has_query()).then_some("@query"))
            .chain((p.require_digest_with_body && !body.is_empty()).then_some("content-digest"));
        for name in required {
            if !covers(name) {
                return err(
                    ErrorKind::MissingComponent,
                    format!("the signature must cover `{}`", truncate(name, 64)),
                );
            }
        }
        for (needed, present, name) in [
            (p.require_created, params.created.is_some(), "created"),
            (p.require_nonce, params.nonce.is_some(), "nonce"),
            (p.require_expires, params.expires.is_some(), "expires"),
        ] {
            if needed && !present {
                return err(
                    ErrorKind::MissingComponent,
                    format!("the signature has no `{name}` parameter"),
                );
            }
        }
        if let (Some(created), Some(expires)) = (params.created, params.expires) {
            if expires < created {
                return err(
                    ErrorKind::MalformedSignature,
                    "`expires` is earlier than `created`",
                );
            }
        }
        let now = self.clock.now();
        if let Some(created) = params.created {
            if created > now.saturating_add(p.max_future_skew) {
                return err(ErrorKind::StaleTimestamp, "`created` is in the future");
            }
            if now > created.saturating_add(p.max_skew) {
                return err(
                    ErrorKind::StaleTimestamp,
                    format!("`created` is more than {} s old", p.max_skew),
                );
            }
        }
        if let Some(expires) = params.expires {
            if now >= expires {
                return err(ErrorKind::SignatureExpired, "the signature has expired");
            }
        }
        let signature = match signatures.iter().find(|(l, _)| l == label) {
            None => {
                return err(
                    ErrorKind::MissingSignature,
                    format!("Signature has no `{}` member", truncate(label, 64)),
                )
            }
            Some((
                _,
                Member::Item(Item {
                    value: BareItem::ByteSeq(sig),
                    ..
                }),
            )) => sig,
            Some(_) => {
                return err(
                    ErrorKind::MalformedSignature,
                    "a Signature member must be a byte sequence",
                )
            }
        };
        let mut serialized = String::new();
        sfv::write_inner_list(&mut serialized, list);
        let (base, covered_digest) = signature_base(req, &components, &serialized, None)?;
        if !key.verify(base.as_bytes(), signature) {
            return err(
                ErrorKind::SignatureMismatch,
                "the signature does not match the request",
            );
        }
        if let Some(field) = covered_digest {
            verify_content_digest(&field, body)?;
        }
        if let Some(nonce) = &params.nonce {
            // Remember the nonce for as long as the request could still be accepted.
            let mut until = params
                .created
                .unwrap_or(now)
                .saturating_add(p.max_skew)
                .saturating_add(1);
            if let Some(expires) = params.expires {
                until = until.min(expires).max(now + 1);
            }
            let scope = params.keyid.as_deref().unwrap_or("");
            if !self
                .store
                .nonce_insert(&format!("sig:{scope}"), nonce, until, now)?
            {
                return err(
                    ErrorKind::ReplayDetected,
                    "this nonce was already used: the request is a replay",
                );
            }
        }
        Ok(VerifiedSignature {
            label: label.to_string(),
            keyid: params.keyid,
            algorithm: key.algorithm(),
            created: params.created,
            expires: params.expires,
            nonce: params.nonce,
            tag: params.tag,
            components,
        })
    }
}
