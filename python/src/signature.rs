//! HTTP message signatures (RFC 9421) and Standard Webhooks signatures.

use std::sync::{Arc, Mutex};

use authgate_core::signature::{
    self as sig, DigestAlgorithm, KeyMap, KeyResolver, Request, RequestSigner, RequestVerifier,
    Selection, SignatureAlgorithm, SignatureKey, SignatureParams, SignerConfig, VerifiedSignature,
    VerifyPolicy,
};
use authgate_core::webhook::{self, WebhookKey, WebhookVerifier};
use authgate_core::{Error, ErrorKind};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::convert;
use crate::errors::{guard, guard_detached};
use crate::session::{clock_or_system, store_or_default, PyManualClock, StoreArg};

fn algorithm(name: &str) -> PyResult<SignatureAlgorithm> {
    SignatureAlgorithm::from_name(name).ok_or_else(|| {
        PyValueError::new_err(format!(
            "unknown signature algorithm `{name}` (hmac-sha256, ed25519)"
        ))
    })
}

fn digest_algorithm(name: Option<&str>) -> PyResult<Option<DigestAlgorithm>> {
    name.map(|n| {
        DigestAlgorithm::from_name(n).ok_or_else(|| {
            PyValueError::new_err(format!("unknown digest `{n}` (sha-256, sha-512)"))
        })
    })
    .transpose()
}

/// Header fields from a mapping (`dict`, Starlette/Werkzeug headers: every `items()` pair)
/// or an iterable of `(name, value)` pairs.
fn header_pairs(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<(String, String)>> {
    let Some(obj) = obj else {
        return Ok(Vec::new());
    };
    let items = if obj.hasattr("items")? {
        obj.call_method0("items")?
    } else {
        obj.clone()
    };
    items
        .try_iter()
        .map_err(|_| PyTypeError::new_err("headers must be a mapping or (name, value) pairs"))?
        .map(|pair| {
            let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = pair?.extract()?;
            Ok((convert::text(&name)?, convert::text(&value)?))
        })
        .collect()
}

/// The body as bytes (`bytes`, `bytearray`, `str` as UTF-8, or `None` for none).
fn body_bytes(obj: Option<&Bound<'_, PyAny>>) -> PyResult<Vec<u8>> {
    match obj {
        None => Ok(Vec::new()),
        Some(o) if o.is_none() => Ok(Vec::new()),
        Some(o) if o.is_instance_of::<PyBytes>() || o.is_instance_of::<PyString>() => {
            convert::bytes(o)
        }
        Some(o) => o
            .extract::<Vec<u8>>()
            .map_err(|_| PyTypeError::new_err("the body must be bytes, bytearray or str")),
    }
}

/// Builds the core request over borrowed parts and runs `f` on it.
fn with_request<R>(
    method: &str,
    url: &str,
    headers: &[(String, String)],
    body: &[u8],
    f: impl FnOnce(&Request) -> authgate_core::Result<R>,
) -> authgate_core::Result<R> {
    let pairs = headers.iter().map(|(n, v)| (n.as_str(), v.as_str()));
    f(&Request::from_message(method, url, pairs, body)?)
}

/// A key for request signatures: an `hmac-sha256` secret or an `ed25519` key.
#[pyclass(frozen, name = "SignatureKey", module = "authgate")]
pub struct PySignatureKey {
    pub(crate) inner: Arc<SignatureKey>,
}

fn wrap(key: SignatureKey) -> PySignatureKey {
    PySignatureKey {
        inner: Arc::new(key),
    }
}

#[pymethods]
impl PySignatureKey {
    /// An `hmac-sha256` key (secret of at least 32 bytes).
    #[staticmethod]
    fn hmac_sha256(py: Python<'_>, secret: &Bound<'_, PyAny>) -> PyResult<Self> {
        let secret = convert::bytes(secret)?;
        guard(py, || SignatureKey::hmac_sha256(&secret)).map(wrap)
    }

    /// An `ed25519` key from PEM (`PRIVATE KEY` signs and verifies, `PUBLIC KEY` verifies).
    #[staticmethod]
    fn ed25519_pem(py: Python<'_>, pem: &str) -> PyResult<Self> {
        guard(py, || SignatureKey::ed25519_pem(pem)).map(wrap)
    }

    /// An `ed25519` public key from its 32 raw bytes.
    #[staticmethod]
    fn ed25519_public(py: Python<'_>, public: &[u8]) -> PyResult<Self> {
        guard(py, || SignatureKey::ed25519_public(public)).map(wrap)
    }

    /// An `ed25519` private key from its 32-byte seed.
    #[staticmethod]
    fn ed25519_seed(py: Python<'_>, seed: &[u8]) -> PyResult<Self> {
        guard(py, || SignatureKey::ed25519_seed(seed)).map(wrap)
    }

    /// A new key and the 32 bytes to keep (HMAC secret or Ed25519 seed).
    #[staticmethod]
    fn generate(py: Python<'_>, algorithm: &str) -> PyResult<(Self, Py<PyBytes>)> {
        let alg = self::algorithm(algorithm)?;
        let (key, secret) = guard(py, || SignatureKey::generate(alg))?;
        Ok((wrap(key), PyBytes::new(py, &secret).unbind()))
    }

    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().name()
    }

    #[getter]
    fn can_sign(&self) -> bool {
        self.inner.can_sign()
    }

    /// The raw Ed25519 public key (to give to the verifying side); `None` for HMAC.
    #[getter]
    fn public_key_bytes<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.public_key_bytes().map(|b| PyBytes::new(py, &b))
    }

    fn __repr__(&self) -> String {
        format!(
            "SignatureKey(algorithm={:?}, can_sign={})",
            self.inner.algorithm().name(),
            self.inner.can_sign()
        )
    }
}

fn headers_dict<'py>(py: Python<'py>, h: sig::SignedHeaders) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("Signature-Input", h.signature_input)?;
    d.set_item("Signature", h.signature)?;
    if let Some(digest) = h.content_digest {
        d.set_item("Content-Digest", digest)?;
    }
    Ok(d)
}

/// Low-level deterministic signing with explicit parameters (conformance vectors, tests).
#[pyfunction]
#[pyo3(signature = (key, method, url, headers = None, body = None, *, label = "sig1", components, created = None, expires = None, keyid = None, nonce = None, alg = false, tag = None, digest = None))]
#[allow(clippy::too_many_arguments)]
pub fn sign_request<'py>(
    py: Python<'py>,
    key: PyRef<'_, PySignatureKey>,
    method: &str,
    url: &str,
    headers: Option<&Bound<'_, PyAny>>,
    body: Option<&Bound<'_, PyAny>>,
    label: &str,
    components: &Bound<'_, PyAny>,
    created: Option<u64>,
    expires: Option<u64>,
    keyid: Option<String>,
    nonce: Option<String>,
    alg: bool,
    tag: Option<String>,
    digest: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let headers = header_pairs(headers)?;
    let body = body_bytes(body)?;
    let components = convert::strings(components)?;
    let digest = digest_algorithm(digest)?;
    let params = SignatureParams {
        created,
        expires,
        keyid,
        nonce,
        alg,
        tag,
    };
    let signed = guard(py, || {
        with_request(method, url, &headers, &body, |req| {
            sig::sign_request(req, &key.inner, label, &components, &params, digest)
        })
    })?;
    headers_dict(py, signed)
}

/// Signs outgoing requests: `created` now, a fresh nonce, `Content-Digest` for bodies.
#[pyclass(frozen, name = "RequestSigner", module = "authgate")]
pub struct PyRequestSigner {
    inner: RequestSigner,
}

#[pymethods]
impl PyRequestSigner {
    #[new]
    #[pyo3(signature = (keyid, key, *, label = "sig1".to_string(), components = None, digest = Some("sha-256"), expires_in = None, nonce = true, alg = true, tag = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        keyid: &str,
        key: PyRef<'_, PySignatureKey>,
        label: String,
        components: Option<&Bound<'_, PyAny>>,
        digest: Option<&str>,
        expires_in: Option<&Bound<'_, PyAny>>,
        nonce: bool,
        alg: bool,
        tag: Option<String>,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let config = SignerConfig {
            label,
            components: components.map(convert::strings).transpose()?,
            digest: digest_algorithm(digest)?,
            expires_in: expires_in.map(convert::seconds).transpose()?,
            nonce,
            alg,
            tag,
        };
        let inner = guard(py, || {
            RequestSigner::with_clock(keyid, key.inner.clone(), config, clock_or_system(clock))
        })?;
        Ok(PyRequestSigner { inner })
    }

    /// The header fields to add: `Signature-Input`, `Signature` and, for a body,
    /// `Content-Digest`.
    #[pyo3(signature = (method, url, headers = None, body = None))]
    fn sign<'py>(
        &self,
        py: Python<'py>,
        method: &str,
        url: &str,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let headers = header_pairs(headers)?;
        let body = body_bytes(body)?;
        let signed = guard(py, || {
            with_request(method, url, &headers, &body, |req| self.inner.sign(req))
        })?;
        headers_dict(py, signed)
    }
}

/// A signature that passed verification.
#[pyclass(frozen, get_all, name = "VerifiedSignature", module = "authgate")]
pub struct PyVerifiedSignature {
    label: String,
    keyid: Option<String>,
    algorithm: &'static str,
    created: Option<u64>,
    expires: Option<u64>,
    nonce: Option<String>,
    tag: Option<String>,
    components: Vec<String>,
}

impl From<VerifiedSignature> for PyVerifiedSignature {
    fn from(v: VerifiedSignature) -> Self {
        PyVerifiedSignature {
            label: v.label,
            keyid: v.keyid,
            algorithm: v.algorithm.name(),
            created: v.created,
            expires: v.expires,
            nonce: v.nonce,
            tag: v.tag,
            components: v.components,
        }
    }
}

#[pymethods]
impl PyVerifiedSignature {
    fn __repr__(&self) -> String {
        format!(
            "VerifiedSignature(label={:?}, keyid={:?}, algorithm={:?})",
            self.label, self.keyid, self.algorithm
        )
    }
}

/// A resolver calling a Python function `keyid -> SignatureKey | None`; an exception it
/// raises is kept and re-raised after the core returns.
struct CallbackResolver<'a> {
    func: &'a Py<PyAny>,
    raised: Mutex<Option<PyErr>>,
}

impl KeyResolver for CallbackResolver<'_> {
    fn resolve(&self, keyid: &str) -> authgate_core::Result<Option<Arc<SignatureKey>>> {
        Python::attach(|py| {
            let outcome = self.func.call1(py, (keyid,)).and_then(|r| {
                let r = r.into_bound(py);
                if r.is_none() {
                    Ok(None)
                } else {
                    Ok(Some(
                        r.extract::<PyRef<'_, PySignatureKey>>()?.inner.clone(),
                    ))
                }
            });
            outcome.map_err(|e| {
                *self.raised.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
                Error::new(
                    ErrorKind::UnknownKey,
                    "the key resolver raised an exception",
                )
            })
        })
    }
}

/// Checks signed requests against a policy; keys come from a dict `{keyid: SignatureKey}`
/// or a function `keyid -> SignatureKey | None`.
#[pyclass(frozen, name = "RequestVerifier", module = "authgate")]
pub struct PyRequestVerifier {
    inner: RequestVerifier,
    keys: Arc<KeyMap>,
    callback: Option<Py<PyAny>>,
}

#[pymethods]
impl PyRequestVerifier {
    #[new]
    #[pyo3(signature = (keys, *, required_components = None, require_query_when_present = true, require_digest_with_body = true, require_created = true, require_nonce = true, require_keyid = true, require_expires = false, max_skew = None, max_future_skew = None, tag = None, store = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        keys: &Bound<'_, PyAny>,
        required_components: Option<&Bound<'_, PyAny>>,
        require_query_when_present: bool,
        require_digest_with_body: bool,
        require_created: bool,
        require_nonce: bool,
        require_keyid: bool,
        require_expires: bool,
        max_skew: Option<&Bound<'_, PyAny>>,
        max_future_skew: Option<&Bound<'_, PyAny>>,
        tag: Option<String>,
        store: Option<StoreArg<'_>>,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let map = Arc::new(KeyMap::new());
        let mut callback = None;
        if let Ok(d) = keys.cast::<PyDict>() {
            for (k, v) in d.iter() {
                let k: String = k.extract()?;
                let v: PyRef<'_, PySignatureKey> = v
                    .extract()
                    .map_err(|_| PyTypeError::new_err("keys must map keyid to SignatureKey"))?;
                map.insert_arc(&k, v.inner.clone());
            }
        } else if keys.is_callable() {
            callback = Some(keys.clone().unbind());
        } else {
            return Err(PyTypeError::new_err(
                "keys must be a dict {keyid: SignatureKey} or a function keyid -> SignatureKey | None",
            ));
        }
        let defaults = VerifyPolicy::default();
        let policy = VerifyPolicy {
            required_components: required_components
                .map(convert::strings)
                .transpose()?
                .unwrap_or(defaults.required_components),
            require_query_when_present,
            require_digest_with_body,
            require_created,
            require_nonce,
            require_keyid,
            require_expires,
            max_skew: max_skew
                .map(convert::seconds)
                .transpose()?
                .unwrap_or(defaults.max_skew),
            max_future_skew: max_future_skew
                .map(convert::seconds)
                .transpose()?
                .unwrap_or(defaults.max_future_skew),
            tag,
        };
        Ok(PyRequestVerifier {
            inner: RequestVerifier::with_clock(
                map.clone(),
                store_or_default(store),
                policy,
                clock_or_system(clock),
            ),
            keys: map,
            callback,
        })
    }

    /// Adds or replaces a key (dict-configured verifiers).
    fn add_key(&self, keyid: &str, key: PyRef<'_, PySignatureKey>) {
        self.keys.insert_arc(keyid, key.inner.clone());
    }

    fn remove_key(&self, keyid: &str) -> bool {
        self.keys.remove(keyid)
    }

    /// Verifies a request; raises a `SignatureError` subclass (or `InvalidInput`).
    #[pyo3(signature = (method, url, headers, body = None, *, label = None, keyid = None))]
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        method: &str,
        url: &str,
        headers: &Bound<'_, PyAny>,
        body: Option<&Bound<'_, PyAny>>,
        label: Option<&str>,
        keyid: Option<&str>,
    ) -> PyResult<PyVerifiedSignature> {
        let headers = header_pairs(Some(headers))?;
        let body_owned;
        let body: &[u8] = match body {
            Some(b) if b.is_instance_of::<PyBytes>() => b.cast::<PyBytes>()?.as_bytes(),
            other => {
                body_owned = body_bytes(other)?;
                &body_owned
            }
        };
        let select = Selection { label, keyid };
        let verified = match &self.callback {
            None => guard_detached(py, || {
                with_request(method, url, &headers, body, |req| {
                    self.inner.verify_selected(req, select)
                })
            }),
            Some(func) => {
                let resolver = CallbackResolver {
                    func,
                    raised: Mutex::new(None),
                };
                let result = guard(py, || {
                    with_request(method, url, &headers, body, |req| {
                        self.inner.verify_with(req, select, &resolver)
                    })
                });
                if let Some(e) = resolver
                    .raised
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .take()
                {
                    return Err(e);
                }
                result
            }
        }?;
        Ok(verified.into())
    }
}

/// The `Content-Digest` value for a body (`sha-256` or `sha-512`).
#[pyfunction]
#[pyo3(signature = (body, algorithm = "sha-256"))]
pub fn content_digest(body: &Bound<'_, PyAny>, algorithm: &str) -> PyResult<String> {
    let alg = digest_algorithm(Some(algorithm))?.unwrap_or(DigestAlgorithm::Sha256);
    Ok(sig::content_digest(alg, &body_bytes(Some(body))?))
}

/// Checks a `Content-Digest` value against a body; raises `DigestMismatch`.
#[pyfunction]
pub fn verify_content_digest(py: Python<'_>, field: &str, body: &Bound<'_, PyAny>) -> PyResult<()> {
    let body = body_bytes(Some(body))?;
    guard(py, || sig::verify_content_digest(field, &body))
}

/// A Standard Webhooks key: `whsec_…` secret, `whsk_…` Ed25519 secret key or `whpk_…`
/// Ed25519 public key.
#[pyclass(frozen, name = "WebhookKey", module = "authgate")]
pub struct PyWebhookKey {
    inner: WebhookKey,
}

#[pymethods]
impl PyWebhookKey {
    #[new]
    fn new(py: Python<'_>, key: &str) -> PyResult<Self> {
        let inner = guard(py, || WebhookKey::parse(key))?;
        Ok(PyWebhookKey { inner })
    }

    /// A new `whsec_` secret.
    #[staticmethod]
    fn generate_secret(py: Python<'_>) -> PyResult<String> {
        guard(py, WebhookKey::generate_secret)
    }

    /// A new Ed25519 pair `(whsk_…, whpk_…)`.
    #[staticmethod]
    fn generate_keypair(py: Python<'_>) -> PyResult<(String, String)> {
        guard(py, WebhookKey::generate_keypair)
    }

    /// `v1` (HMAC) or `v1a` (Ed25519).
    #[getter]
    fn version(&self) -> &'static str {
        self.inner.version()
    }

    #[getter]
    fn can_sign(&self) -> bool {
        self.inner.can_sign()
    }

    /// The `whpk_` public key of an Ed25519 key, for receivers; `None` for secrets.
    #[getter]
    fn public_key(&self) -> Option<String> {
        self.inner.public_key()
    }

    fn __repr__(&self) -> String {
        format!(
            "WebhookKey(version={:?}, can_sign={})",
            self.inner.version(),
            self.inner.can_sign()
        )
    }
}

fn webhook_keys(py: Python<'_>, keys: &Bound<'_, PyAny>) -> PyResult<Vec<WebhookKey>> {
    let mut out = Vec::new();
    for text in convert::strings(keys)? {
        out.push(guard(py, || WebhookKey::parse(&text))?);
    }
    Ok(out)
}

/// The `webhook-signature` value: one signature per key, space-separated.
#[pyfunction]
pub fn sign_webhook(
    py: Python<'_>,
    keys: &Bound<'_, PyAny>,
    id: &str,
    timestamp: &Bound<'_, PyAny>,
    payload: &Bound<'_, PyAny>,
) -> PyResult<String> {
    let keys = webhook_keys(py, keys)?;
    let ts = convert::timestamp(timestamp)?;
    let payload = body_bytes(Some(payload))?;
    guard(py, || webhook::sign(&keys, id, ts, &payload))
}

/// A webhook that passed verification.
#[pyclass(frozen, get_all, name = "VerifiedWebhook", module = "authgate")]
pub struct PyVerifiedWebhook {
    id: String,
    timestamp: u64,
    version: &'static str,
}

#[pymethods]
impl PyVerifiedWebhook {
    fn __repr__(&self) -> String {
        format!(
            "VerifiedWebhook(id={:?}, timestamp={}, version={:?})",
            self.id, self.timestamp, self.version
        )
    }
}

/// Verifies incoming webhooks against trusted keys (secrets and/or `whpk_` public keys).
/// With a store (default: a new in-memory one), each `webhook-id` is accepted once.
#[pyclass(frozen, name = "WebhookVerifier", module = "authgate")]
pub struct PyWebhookVerifier {
    inner: WebhookVerifier,
}

#[pymethods]
impl PyWebhookVerifier {
    #[new]
    #[pyo3(signature = (keys, *, tolerance = None, id_retention = None, store = None, check_replay = true, clock = None))]
    fn new(
        py: Python<'_>,
        keys: &Bound<'_, PyAny>,
        tolerance: Option<&Bound<'_, PyAny>>,
        id_retention: Option<&Bound<'_, PyAny>>,
        store: Option<StoreArg<'_>>,
        check_replay: bool,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let keys = webhook_keys(py, keys)?;
        let store = check_replay.then(|| store_or_default(store));
        let mut inner = guard(py, || {
            WebhookVerifier::with_clock(keys, store, clock_or_system(clock))
        })?;
        if let Some(t) = tolerance {
            inner = inner.tolerance(convert::seconds(t)?);
        }
        if let Some(r) = id_retention {
            inner = inner.id_retention(convert::seconds(r)?);
        }
        Ok(PyWebhookVerifier { inner })
    }

    /// Verifies from the request's headers and raw body bytes.
    fn verify(
        &self,
        py: Python<'_>,
        headers: &Bound<'_, PyAny>,
        payload: &Bound<'_, PyAny>,
    ) -> PyResult<PyVerifiedWebhook> {
        let pairs = header_pairs(Some(headers))?;
        let refs: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let payload = body_bytes(Some(payload))?;
        let v = guard_detached(py, || self.inner.verify_headers(&refs, &payload))?;
        Ok(PyVerifiedWebhook {
            id: v.id,
            timestamp: v.timestamp,
            version: v.version,
        })
    }
}
