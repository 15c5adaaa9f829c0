//! RFC 9421 request signing for apps: a [`RequestSigner`] produces the `Signature-Input`,
//! `Signature` and `Content-Digest` values an authgate server verifies, and a
//! [`RequestVerifier`] checks signed messages from a server with the core's verifier.

use std::sync::Arc;

use authgate_core::signature::{self as core, DigestAlgorithm, KeyMap, Request, VerifyPolicy};
use authgate_core::store::MemoryStore;

use crate::errors::{guard, Result};
use crate::token_manager::{clock_of, TimeSource};

#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct HttpHeader {
    pub name: String,
    pub value: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Enum)]
pub enum SignatureAlgorithm {
    HmacSha256,
    Ed25519,
}

impl From<core::SignatureAlgorithm> for SignatureAlgorithm {
    fn from(a: core::SignatureAlgorithm) -> Self {
        match a {
            core::SignatureAlgorithm::HmacSha256 => SignatureAlgorithm::HmacSha256,
            core::SignatureAlgorithm::Ed25519 => SignatureAlgorithm::Ed25519,
        }
    }
}

/// A request-signing key: an HMAC secret or an Ed25519 key (private to sign, public to
/// verify).
#[derive(uniffi::Object)]
pub struct SignatureKey(Arc<core::SignatureKey>);

#[uniffi::export]
impl SignatureKey {
    /// At least 32 bytes.
    #[uniffi::constructor]
    pub fn hmac_sha256(secret: Vec<u8>) -> Result<Arc<Self>> {
        guard(|| {
            core::SignatureKey::hmac_sha256(&secret).map(|k| Arc::new(SignatureKey(Arc::new(k))))
        })
    }

    /// The 32-byte seed of an Ed25519 private key.
    #[uniffi::constructor]
    pub fn ed25519_seed(seed: Vec<u8>) -> Result<Arc<Self>> {
        guard(|| {
            core::SignatureKey::ed25519_seed(&seed).map(|k| Arc::new(SignatureKey(Arc::new(k))))
        })
    }

    /// The 32 raw bytes of an Ed25519 public key.
    #[uniffi::constructor]
    pub fn ed25519_public(public_key: Vec<u8>) -> Result<Arc<Self>> {
        guard(|| {
            core::SignatureKey::ed25519_public(&public_key)
                .map(|k| Arc::new(SignatureKey(Arc::new(k))))
        })
    }

    /// An Ed25519 `PRIVATE KEY` (PKCS#8) or `PUBLIC KEY` (SPKI) in PEM.
    #[uniffi::constructor]
    pub fn ed25519_pem(pem: String) -> Result<Arc<Self>> {
        guard(|| core::SignatureKey::ed25519_pem(&pem).map(|k| Arc::new(SignatureKey(Arc::new(k)))))
    }

    pub fn algorithm(&self) -> Result<SignatureAlgorithm> {
        guard(|| Ok(self.0.algorithm().into()))
    }

    pub fn can_sign(&self) -> Result<bool> {
        guard(|| Ok(self.0.can_sign()))
    }

    /// The raw Ed25519 public key (to register with the server); `None` for HMAC.
    pub fn public_key(&self) -> Result<Option<Vec<u8>>> {
        guard(|| Ok(self.0.public_key_bytes()))
    }
}

/// How a signer signs; every `None` takes the core's default (label `sig1`;
/// `@method @authority @path`, `@query` when present; `content-digest` over a body; a
/// fresh `nonce`; `alg` written; no `expires`).
#[derive(Debug, Clone, Default, uniffi::Record)]
pub struct SignerOptions {
    #[uniffi(default = None)]
    pub label: Option<String>,
    #[uniffi(default = None)]
    pub components: Option<Vec<String>>,
    /// Compute and cover `Content-Digest` (sha-256) for a request with a body.
    #[uniffi(default = None)]
    pub content_digest: Option<bool>,
    #[uniffi(default = None)]
    pub expires_in_secs: Option<u64>,
    #[uniffi(default = None)]
    pub nonce: Option<bool>,
    #[uniffi(default = None)]
    pub include_alg: Option<bool>,
    #[uniffi(default = None)]
    pub tag: Option<String>,
}

impl From<SignerOptions> for core::SignerConfig {
    fn from(o: SignerOptions) -> Self {
        let d = core::SignerConfig::default();
        core::SignerConfig {
            label: o.label.unwrap_or(d.label),
            components: o.components.or(d.components),
            digest: match o.content_digest {
                Some(false) => None,
                Some(true) => Some(DigestAlgorithm::Sha256),
                None => d.digest,
            },
            expires_in: o.expires_in_secs.or(d.expires_in),
            nonce: o.nonce.unwrap_or(d.nonce),
            alg: o.include_alg.unwrap_or(d.alg),
            tag: o.tag.or(d.tag),
        }
    }
}

/// The header values to add to a signed request.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SignedHeaders {
    pub signature_input: String,
    pub signature: String,
    /// Set when the signer computed `Content-Digest`: send it too.
    pub content_digest: Option<String>,
    /// All of the above as headers, ready to add to the request.
    pub headers: Vec<HttpHeader>,
}

fn request<'a>(
    method: &'a str,
    url: &'a str,
    headers: &'a [HttpHeader],
    body: &'a [u8],
) -> authgate_core::Result<Request<'a>> {
    Request::from_message(
        method,
        url,
        headers.iter().map(|h| (h.name.as_str(), h.value.as_str())),
        body,
    )
}

/// Signs outgoing requests with one key: `created` from the clock, a fresh nonce each time.
#[derive(uniffi::Object)]
pub struct RequestSigner(core::RequestSigner);

#[uniffi::export]
impl RequestSigner {
    #[uniffi::constructor(default(options = None, time_source = None))]
    pub fn new(
        keyid: String,
        key: Arc<SignatureKey>,
        options: Option<SignerOptions>,
        time_source: Option<Arc<dyn TimeSource>>,
    ) -> Result<Arc<Self>> {
        guard(|| {
            core::RequestSigner::with_clock(
                &keyid,
                key.0.clone(),
                options.unwrap_or_default().into(),
                clock_of(time_source),
            )
            .map(|s| Arc::new(RequestSigner(s)))
        })
    }

    /// Signs a request given as method, absolute URL, headers and body.
    #[uniffi::method(default(body = None))]
    pub fn sign(
        &self,
        method: String,
        url: String,
        headers: Vec<HttpHeader>,
        body: Option<Vec<u8>>,
    ) -> Result<SignedHeaders> {
        guard(|| {
            let body = body.unwrap_or_default();
            let signed = self.0.sign(&request(&method, &url, &headers, &body)?)?;
            let mut out = Vec::with_capacity(3);
            if let Some(digest) = &signed.content_digest {
                out.push(header("Content-Digest", digest));
            }
            out.push(header("Signature-Input", &signed.signature_input));
            out.push(header("Signature", &signed.signature));
            Ok(SignedHeaders {
                signature_input: signed.signature_input,
                signature: signed.signature,
                content_digest: signed.content_digest,
                headers: out,
            })
        })
    }
}

fn header(name: &str, value: &str) -> HttpHeader {
    HttpHeader {
        name: name.into(),
        value: value.into(),
    }
}

/// A signature that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct VerifiedSignature {
    pub label: String,
    pub keyid: Option<String>,
    pub algorithm: SignatureAlgorithm,
    pub created: Option<u64>,
    pub components: Vec<String>,
}

/// Verifies signed requests with the core's default (strict) policy and an in-memory
/// nonce store: for messages a server signs for the app, and for tests.
#[derive(uniffi::Object)]
pub struct RequestVerifier {
    keys: Arc<KeyMap>,
    inner: core::RequestVerifier,
}

#[uniffi::export]
impl RequestVerifier {
    #[uniffi::constructor(default(time_source = None))]
    pub fn new(time_source: Option<Arc<dyn TimeSource>>) -> Result<Arc<Self>> {
        guard(|| {
            let keys = Arc::new(KeyMap::new());
            let inner = core::RequestVerifier::with_clock(
                keys.clone(),
                Arc::new(MemoryStore::new()),
                VerifyPolicy::default(),
                clock_of(time_source),
            );
            Ok(Arc::new(RequestVerifier { keys, inner }))
        })
    }

    pub fn add_key(&self, keyid: String, key: Arc<SignatureKey>) -> Result<()> {
        guard(|| {
            self.keys.insert_arc(&keyid, key.0.clone());
            Ok(())
        })
    }

    #[uniffi::method(default(body = None))]
    pub fn verify(
        &self,
        method: String,
        url: String,
        headers: Vec<HttpHeader>,
        body: Option<Vec<u8>>,
    ) -> Result<VerifiedSignature> {
        guard(|| {
            let body = body.unwrap_or_default();
            let v = self
                .inner
                .verify(&request(&method, &url, &headers, &body)?)?;
            Ok(VerifiedSignature {
                label: v.label,
                keyid: v.keyid,
                algorithm: v.algorithm.into(),
                created: v.created,
                components: v.components,
            })
        })
    }
}
