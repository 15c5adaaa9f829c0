//! HTTP message signatures (RFC 9421) and Standard Webhooks signatures. `index.js` turns
//! `{ method, url, headers, body }` into a [`HttpRequest`] (header names and values as two
//! arrays, so crossing the boundary costs two array conversions, not one object per field).

use std::sync::Arc;

use authgate_core::signature::{
    self as sig, DigestAlgorithm, KeyMap, Request, RequestSigner, RequestVerifier, Selection,
    SignatureAlgorithm, SignatureKey, SignatureParams, SignerConfig, VerifyPolicy,
};
use authgate_core::webhook::{self, WebhookKey, WebhookVerifier};
use napi::bindgen_prelude::{Buffer, Either};
use napi_derive::napi;

use crate::convert::{self, opt_seconds};
use crate::errors::{core, invalid_arg, Result};
use crate::offload::{offload, Offload};
use crate::session::{clock_or_system, store_or_default, JsManualClock, JsStore};
use napi::bindgen_prelude::AsyncTask;

#[napi(object)]
pub struct HttpRequest {
    pub method: String,
    /// The absolute URL, e.g. `https://api.example.com/v1/orders?dry=1`.
    pub url: String,
    pub header_names: Vec<String>,
    pub header_values: Vec<String>,
    pub body: Option<Either<Buffer, String>>,
}

fn body_of(body: &Option<Either<Buffer, String>>) -> &[u8] {
    match body {
        None => &[],
        Some(Either::A(b)) => b,
        Some(Either::B(s)) => s.as_bytes(),
    }
}

fn with_request<R>(
    r: &HttpRequest,
    f: impl FnOnce(&Request) -> authgate_core::Result<R>,
) -> Result<R> {
    with_parts(
        &r.method,
        &r.url,
        &r.header_names,
        &r.header_values,
        body_of(&r.body),
        f,
    )
}

fn with_parts<R>(
    method: &str,
    url: &str,
    names: &[String],
    values: &[String],
    body: &[u8],
    f: impl FnOnce(&Request) -> authgate_core::Result<R>,
) -> Result<R> {
    if names.len() != values.len() {
        return Err(invalid_arg("headerNames and headerValues differ in length"));
    }
    let pairs = names
        .iter()
        .zip(values)
        .map(|(n, v)| (n.as_str(), v.as_str()));
    let req = core(Request::from_message(method, url, pairs, body))?;
    core(f(&req))
}

fn verified(v: sig::VerifiedSignature) -> VerifiedSignature {
    VerifiedSignature {
        label: v.label,
        keyid: v.keyid,
        algorithm: v.algorithm.name().into(),
        created: v.created.map(|t| t as i64),
        expires: v.expires.map(|t| t as i64),
        nonce: v.nonce,
        tag: v.tag,
        components: v.components,
    }
}

fn signature_algorithm(name: &str) -> Result<SignatureAlgorithm> {
    SignatureAlgorithm::from_name(name).ok_or_else(|| {
        invalid_arg(format!(
            "unknown signature algorithm `{name}` (hmac-sha256, ed25519)"
        ))
    })
}

fn digest_algorithm(name: Option<&str>) -> Result<Option<DigestAlgorithm>> {
    name.map(|n| {
        DigestAlgorithm::from_name(n)
            .ok_or_else(|| invalid_arg(format!("unknown digest `{n}` (sha-256, sha-512)")))
    })
    .transpose()
}

/// A key for request signatures: an `hmac-sha256` secret or an `ed25519` key.
#[napi(js_name = "SignatureKey")]
pub struct JsSignatureKey {
    pub(crate) inner: Arc<SignatureKey>,
}

fn wrap(key: SignatureKey) -> JsSignatureKey {
    JsSignatureKey {
        inner: Arc::new(key),
    }
}

#[napi]
impl JsSignatureKey {
    /// An `hmac-sha256` key (at least 32 bytes).
    #[napi(factory, catch_unwind)]
    pub fn hmac_sha256(secret: Either<Buffer, String>) -> Result<Self> {
        core(SignatureKey::hmac_sha256(&convert::bytes(&secret))).map(wrap)
    }

    /// An `ed25519` key from PEM (`PRIVATE KEY` signs, `PUBLIC KEY` verifies).
    #[napi(factory, catch_unwind)]
    pub fn ed25519_pem(pem: Either<String, Buffer>) -> Result<Self> {
        core(SignatureKey::ed25519_pem(&convert::text(pem)?)).map(wrap)
    }

    /// An `ed25519` public key from its 32 raw bytes.
    #[napi(factory, catch_unwind)]
    pub fn ed25519_public(public: Buffer) -> Result<Self> {
        core(SignatureKey::ed25519_public(&public)).map(wrap)
    }

    /// An `ed25519` private key from its 32-byte seed.
    #[napi(factory, catch_unwind)]
    pub fn ed25519_seed(seed: Buffer) -> Result<Self> {
        core(SignatureKey::ed25519_seed(&seed)).map(wrap)
    }

    /// A new key's 32 bytes to keep (HMAC secret or Ed25519 seed), from the OS CSPRNG;
    /// build the key from them with `hmacSha256` or `ed25519Seed`.
    #[napi(catch_unwind)]
    pub fn generate_secret(algorithm: String) -> Result<Buffer> {
        let alg = signature_algorithm(&algorithm)?;
        let (_, secret) = core(SignatureKey::generate(alg))?;
        Ok(secret.into())
    }

    #[napi(getter)]
    pub fn algorithm(&self) -> String {
        self.inner.algorithm().name().into()
    }

    #[napi(getter)]
    pub fn can_sign(&self) -> bool {
        self.inner.can_sign()
    }

    /// The raw Ed25519 public key (for the verifying side); null for HMAC keys.
    #[napi(getter)]
    pub fn public_key_bytes(&self) -> Option<Buffer> {
        self.inner.public_key_bytes().map(Buffer::from)
    }
}

/// The header fields a signer produces.
#[napi(object)]
pub struct SignedHeaders {
    pub signature_input: String,
    pub signature: String,
    pub content_digest: Option<String>,
}

fn headers(h: sig::SignedHeaders) -> SignedHeaders {
    SignedHeaders {
        signature_input: h.signature_input,
        signature: h.signature,
        content_digest: h.content_digest,
    }
}

#[napi(object)]
#[derive(Default)]
pub struct SignRequestOptions {
    pub label: Option<String>,
    pub components: Vec<String>,
    pub created: Option<f64>,
    pub expires: Option<f64>,
    pub keyid: Option<String>,
    pub nonce: Option<String>,
    pub alg: Option<bool>,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

/// Low-level deterministic signing with explicit parameters (vectors, tests).
#[napi(catch_unwind)]
pub fn sign_request(
    key: &JsSignatureKey,
    request: HttpRequest,
    options: SignRequestOptions,
) -> Result<SignedHeaders> {
    let params = SignatureParams {
        created: opt_seconds(options.created, "created")?,
        expires: opt_seconds(options.expires, "expires")?,
        keyid: options.keyid,
        nonce: options.nonce,
        alg: options.alg.unwrap_or(false),
        tag: options.tag,
    };
    let digest = digest_algorithm(options.digest.as_deref())?;
    let label = options.label.unwrap_or_else(|| "sig1".into());
    with_request(&request, |req| {
        sig::sign_request(
            req,
            &key.inner,
            &label,
            &options.components,
            &params,
            digest,
        )
    })
    .map(headers)
}

#[napi(object)]
#[derive(Default)]
pub struct SignerOptions {
    pub label: Option<String>,
    pub components: Option<Vec<String>>,
    /// `sha-256` (default), `sha-512`, or null for no Content-Digest.
    pub digest: Option<Either<String, napi::bindgen_prelude::Null>>,
    pub expires_in: Option<f64>,
    pub nonce: Option<bool>,
    pub alg: Option<bool>,
    pub tag: Option<String>,
}

/// Signs outgoing requests: `created` now, a fresh nonce, `Content-Digest` for bodies.
#[napi(js_name = "RequestSigner")]
pub struct JsRequestSigner {
    inner: RequestSigner,
}

#[napi]
impl JsRequestSigner {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        keyid: String,
        key: &JsSignatureKey,
        options: Option<SignerOptions>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let d = SignerConfig::default();
        let digest = match o.digest {
            None => d.digest,
            Some(Either::B(_)) => None,
            Some(Either::A(name)) => digest_algorithm(Some(&name))?,
        };
        let config = SignerConfig {
            label: o.label.unwrap_or(d.label),
            components: o.components,
            digest,
            expires_in: opt_seconds(o.expires_in, "expiresIn")?,
            nonce: o.nonce.unwrap_or(d.nonce),
            alg: o.alg.unwrap_or(d.alg),
            tag: o.tag,
        };
        Ok(JsRequestSigner {
            inner: core(RequestSigner::with_clock(
                &keyid,
                key.inner.clone(),
                config,
                clock_or_system(clock),
            ))?,
        })
    }

    #[napi(catch_unwind)]
    pub fn sign(&self, request: HttpRequest) -> Result<SignedHeaders> {
        with_request(&request, |req| self.inner.sign(req)).map(headers)
    }
}

#[napi(object)]
#[derive(Default)]
pub struct VerifyPolicyOptions {
    pub required_components: Option<Vec<String>>,
    pub require_query_when_present: Option<bool>,
    pub require_digest_with_body: Option<bool>,
    pub require_created: Option<bool>,
    pub require_nonce: Option<bool>,
    pub require_keyid: Option<bool>,
    pub require_expires: Option<bool>,
    /// How old `created` may be, in seconds (default 300).
    pub max_skew: Option<f64>,
    /// How far `created` may be ahead of now, in seconds (default 60).
    pub max_future_skew: Option<f64>,
    pub tag: Option<String>,
}

#[napi(object)]
pub struct VerifiedSignature {
    pub label: String,
    pub keyid: Option<String>,
    pub algorithm: String,
    pub created: Option<i64>,
    pub expires: Option<i64>,
    pub nonce: Option<String>,
    pub tag: Option<String>,
    pub components: Vec<String>,
}

/// Checks signed requests; keys are added by keyid.
#[napi(js_name = "RequestVerifier")]
pub struct JsRequestVerifier {
    inner: Arc<RequestVerifier>,
    keys: Arc<KeyMap>,
}

#[napi]
impl JsRequestVerifier {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        options: Option<VerifyPolicyOptions>,
        store: Option<&JsStore>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let d = VerifyPolicy::default();
        let policy = VerifyPolicy {
            required_components: o.required_components.unwrap_or(d.required_components),
            require_query_when_present: o
                .require_query_when_present
                .unwrap_or(d.require_query_when_present),
            require_digest_with_body: o
                .require_digest_with_body
                .unwrap_or(d.require_digest_with_body),
            require_created: o.require_created.unwrap_or(d.require_created),
            require_nonce: o.require_nonce.unwrap_or(d.require_nonce),
            require_keyid: o.require_keyid.unwrap_or(d.require_keyid),
            require_expires: o.require_expires.unwrap_or(d.require_expires),
            max_skew: opt_seconds(o.max_skew, "maxSkew")?.unwrap_or(d.max_skew),
            max_future_skew: opt_seconds(o.max_future_skew, "maxFutureSkew")?
                .unwrap_or(d.max_future_skew),
            tag: o.tag,
        };
        let keys = Arc::new(KeyMap::new());
        Ok(JsRequestVerifier {
            inner: Arc::new(RequestVerifier::with_clock(
                keys.clone(),
                store_or_default(store),
                policy,
                clock_or_system(clock),
            )),
            keys,
        })
    }

    #[napi]
    pub fn add_key(&self, keyid: String, key: &JsSignatureKey) {
        self.keys.insert_arc(&keyid, key.inner.clone());
    }

    #[napi]
    pub fn remove_key(&self, keyid: String) -> bool {
        self.keys.remove(&keyid)
    }

    #[napi(catch_unwind)]
    pub fn verify(
        &self,
        request: HttpRequest,
        label: Option<String>,
        keyid: Option<String>,
    ) -> Result<VerifiedSignature> {
        let select = Selection {
            label: label.as_deref(),
            keyid: keyid.as_deref(),
        };
        with_request(&request, |req| self.inner.verify_selected(req, select)).map(verified)
    }

    /// `verify` on the thread pool, for a replay store on the network (Redis).
    #[napi(
        catch_unwind,
        ts_return_type = "Promise<VerifiedSignature | TaskFailure>"
    )]
    pub fn verify_async(
        &self,
        request: HttpRequest,
        label: Option<String>,
        keyid: Option<String>,
    ) -> AsyncTask<Offload<VerifiedSignature>> {
        // The body is copied out of JavaScript's memory before leaving its thread.
        let body = body_of(&request.body).to_vec();
        let HttpRequest {
            method,
            url,
            header_names,
            header_values,
            ..
        } = request;
        let inner = self.inner.clone();
        offload(move || {
            let select = Selection {
                label: label.as_deref(),
                keyid: keyid.as_deref(),
            };
            with_parts(&method, &url, &header_names, &header_values, &body, |req| {
                inner.verify_selected(req, select)
            })
            .map(verified)
        })
    }
}

/// The `Content-Digest` value for a body.
#[napi(catch_unwind)]
pub fn content_digest(body: Either<Buffer, String>, algorithm: Option<String>) -> Result<String> {
    let alg = digest_algorithm(Some(algorithm.as_deref().unwrap_or("sha-256")))?
        .unwrap_or(DigestAlgorithm::Sha256);
    Ok(sig::content_digest(alg, &convert::bytes(&body)))
}

/// Checks a `Content-Digest` value against a body.
#[napi(catch_unwind)]
pub fn verify_content_digest(field: String, body: Either<Buffer, String>) -> Result<()> {
    core(sig::verify_content_digest(&field, &convert::bytes(&body)))
}

/// A Standard Webhooks key: `whsec_…`, `whsk_…` or `whpk_…`.
#[napi(js_name = "WebhookKey")]
pub struct JsWebhookKey {
    inner: WebhookKey,
}

#[napi(object)]
pub struct WebhookKeypair {
    pub secret_key: String,
    pub public_key: String,
}

#[napi]
impl JsWebhookKey {
    #[napi(constructor, catch_unwind)]
    pub fn new(key: String) -> Result<Self> {
        Ok(JsWebhookKey {
            inner: core(WebhookKey::parse(&key))?,
        })
    }

    /// A new `whsec_` secret.
    #[napi(catch_unwind)]
    pub fn generate_secret() -> Result<String> {
        core(WebhookKey::generate_secret())
    }

    /// A new Ed25519 pair: `whsk_…` to sign, `whpk_…` for receivers.
    #[napi(catch_unwind)]
    pub fn generate_keypair() -> Result<WebhookKeypair> {
        let (secret_key, public_key) = core(WebhookKey::generate_keypair())?;
        Ok(WebhookKeypair {
            secret_key,
            public_key,
        })
    }

    #[napi(getter)]
    pub fn version(&self) -> String {
        self.inner.version().into()
    }

    #[napi(getter)]
    pub fn can_sign(&self) -> bool {
        self.inner.can_sign()
    }

    #[napi(getter)]
    pub fn public_key(&self) -> Option<String> {
        self.inner.public_key()
    }
}

fn webhook_keys(keys: &[String]) -> Result<Vec<WebhookKey>> {
    keys.iter().map(|k| core(WebhookKey::parse(k))).collect()
}

/// The `webhook-signature` value: one signature per key, space-separated.
#[napi(catch_unwind)]
pub fn sign_webhook(
    keys: Vec<String>,
    id: String,
    timestamp: f64,
    payload: Either<Buffer, String>,
) -> Result<String> {
    let keys = webhook_keys(&keys)?;
    let ts = convert::seconds(timestamp, "timestamp")?;
    core(webhook::sign(&keys, &id, ts, &convert::bytes(&payload)))
}

#[napi(object)]
#[derive(Default)]
pub struct WebhookVerifierOptions {
    pub tolerance: Option<f64>,
    pub id_retention: Option<f64>,
    /// Recognise redeliveries by `webhook-id` (default true).
    pub check_replay: Option<bool>,
}

#[napi(object)]
pub struct VerifiedWebhook {
    pub id: String,
    pub timestamp: i64,
    pub version: String,
}

/// Verifies incoming webhooks against trusted keys.
#[napi(js_name = "WebhookVerifier")]
pub struct JsWebhookVerifier {
    inner: Arc<WebhookVerifier>,
}

fn verify_webhook(
    v: &WebhookVerifier,
    names: &[String],
    values: &[String],
    payload: &[u8],
) -> Result<VerifiedWebhook> {
    if names.len() != values.len() {
        return Err(invalid_arg("headerNames and headerValues differ in length"));
    }
    let pairs: Vec<(&str, &str)> = names
        .iter()
        .zip(values)
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let w = core(v.verify_headers(&pairs, payload))?;
    Ok(VerifiedWebhook {
        id: w.id,
        timestamp: w.timestamp as i64,
        version: w.version.into(),
    })
}

#[napi]
impl JsWebhookVerifier {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        keys: Vec<String>,
        options: Option<WebhookVerifierOptions>,
        store: Option<&JsStore>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let store = o
            .check_replay
            .unwrap_or(true)
            .then(|| store_or_default(store));
        let mut inner = core(WebhookVerifier::with_clock(
            webhook_keys(&keys)?,
            store,
            clock_or_system(clock),
        ))?;
        if let Some(t) = opt_seconds(o.tolerance, "tolerance")? {
            inner = inner.tolerance(t);
        }
        if let Some(r) = opt_seconds(o.id_retention, "idRetention")? {
            inner = inner.id_retention(r);
        }
        Ok(JsWebhookVerifier {
            inner: Arc::new(inner),
        })
    }

    #[napi(catch_unwind)]
    pub fn verify(
        &self,
        header_names: Vec<String>,
        header_values: Vec<String>,
        payload: Either<Buffer, String>,
    ) -> Result<VerifiedWebhook> {
        // Borrowed: the synchronous path needs no copy of the payload.
        let payload: &[u8] = match &payload {
            Either::A(b) => b,
            Either::B(s) => s.as_bytes(),
        };
        verify_webhook(&self.inner, &header_names, &header_values, payload)
    }

    /// `verify` on the thread pool, for a replay store on the network (Redis).
    #[napi(
        catch_unwind,
        ts_return_type = "Promise<VerifiedWebhook | TaskFailure>"
    )]
    pub fn verify_async(
        &self,
        header_names: Vec<String>,
        header_values: Vec<String>,
        payload: Either<Buffer, String>,
    ) -> AsyncTask<Offload<VerifiedWebhook>> {
        let payload = convert::bytes(&payload);
        let inner = self.inner.clone();
        offload(move || verify_webhook(&inner, &header_names, &header_values, &payload))
    }
}
