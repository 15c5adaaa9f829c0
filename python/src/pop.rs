//! Proof of possession (`authgate_core::pop`) and identity providers' key sets
//! (`authgate_core::remote_jwks`). Everything that may touch the network or a remote store
//! runs with the GIL released.

use std::sync::Arc;
use std::time::Duration;

use authgate_core::jwt::Validation;
use authgate_core::pop::{self, DpopPolicy, DpopRequest, DpopVerifier};
use authgate_core::remote_jwks::{RemoteJwks, RemoteJwksOptions};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyFloat};

use crate::convert::{self, json_text_to_py, to_json_map};
use crate::errors::{guard, guard_detached, guard_store, to_py};
use crate::jwt::{algorithm, jwk_map, token_text, validation, PyKey, PyKeySet};
use crate::session::{clock_or_system, is_remote, store_or_default, PyManualClock, StoreArg};

/// The RFC 7638 thumbprint of a public JWK (dict or JSON text): what `cnf.jkt` holds.
#[pyfunction]
pub fn jwk_thumbprint(py: Python<'_>, jwk: &Bound<'_, PyAny>) -> PyResult<String> {
    let map = jwk_map(jwk)?;
    guard(py, || pop::jwk_thumbprint(&map))
}

/// The RFC 8705 `x5t#S256` of a client certificate: PEM, URL-encoded PEM (as nginx and
/// Envoy pass it on) or DER bytes.
#[pyfunction]
pub fn certificate_thumbprint(py: Python<'_>, certificate: &Bound<'_, PyAny>) -> PyResult<String> {
    let cert = convert::bytes(certificate)?;
    guard(py, || pop::certificate_thumbprint(&cert))
}

/// Checks that verified claims (a dict) are bound by `cnf.x5t#S256` to the client
/// certificate the TLS terminator passed on; raises otherwise.
#[pyfunction]
pub fn check_certificate_binding(
    py: Python<'_>,
    claims: &Bound<'_, PyDict>,
    certificate: &Bound<'_, PyAny>,
) -> PyResult<()> {
    let (claims, cert) = (to_json_map(claims, 0)?, convert::bytes(certificate)?);
    guard(py, || pop::check_certificate_binding_of(&claims, &cert))
}

/// A fresh server nonce for DPoP (send it in a `DPoP-Nonce` header).
#[pyfunction]
pub fn generate_dpop_nonce(py: Python<'_>) -> PyResult<String> {
    guard(py, pop::generate_nonce)
}

/// A DPoP proof for one request, signed by `key` (an asymmetric private key): what a
/// client sends in the `DPoP` header. `access_token` adds its hash (`ath`); `nonce` is the
/// server's last `DPoP-Nonce`.
#[pyfunction]
#[pyo3(signature = (key, method, uri, *, access_token = None, nonce = None, now = None))]
pub fn create_dpop_proof(
    py: Python<'_>,
    key: PyRef<'_, PyKey>,
    method: &str,
    uri: &str,
    access_token: Option<&str>,
    nonce: Option<&str>,
    now: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    let now = convert::now_or_system(now)?;
    let key = key.inner.clone();
    guard(py, || {
        pop::create_proof(&key, method, uri, access_token, nonce, now)
    })
}

/// A verified DPoP proof: `jkt` (its key's thumbprint), `jti`, `iat`.
#[pyclass(frozen, get_all, name = "DpopProof", module = "authgate")]
pub struct PyDpopProof {
    jkt: String,
    jti: String,
    iat: u64,
}

#[pymethods]
impl PyDpopProof {
    fn __repr__(&self) -> String {
        format!("DpopProof(jkt={:?}, iat={})", self.jkt, self.iat)
    }
}

/// Verifies DPoP proofs (RFC 9449): method, URI, age, `ath`, nonce, the access token's
/// `cnf.jkt`, and each proof's `jti` once through the store (Redis: across servers).
#[pyclass(frozen, name = "DpopVerifier", module = "authgate")]
pub struct PyDpopVerifier {
    pub(crate) inner: Arc<DpopVerifier>,
    pub(crate) remote: bool,
}

#[pymethods]
impl PyDpopVerifier {
    #[new]
    #[pyo3(signature = (*, max_age = None, leeway = None, nonce = None, algorithms = None, store = None, clock = None))]
    fn new(
        py: Python<'_>,
        max_age: Option<&Bound<'_, PyAny>>,
        leeway: Option<&Bound<'_, PyAny>>,
        nonce: Option<String>,
        algorithms: Option<&Bound<'_, PyAny>>,
        store: Option<StoreArg<'_>>,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let mut policy = DpopPolicy {
            nonce,
            ..DpopPolicy::default()
        };
        if let Some(x) = max_age {
            policy.max_age = convert::seconds(x)?;
        }
        if let Some(x) = leeway {
            policy.leeway = convert::seconds(x)?;
        }
        if let Some(x) = algorithms {
            policy.algorithms = convert::strings(x)?
                .iter()
                .map(|a| algorithm(py, a))
                .collect::<PyResult<_>>()?;
        }
        let remote = is_remote(&store);
        Ok(PyDpopVerifier {
            inner: Arc::new(DpopVerifier::with_clock(
                store_or_default(store),
                policy,
                clock_or_system(clock),
            )),
            remote,
        })
    }

    /// Verifies the `DPoP` header `proof` for a request. With `access_claims` (the access
    /// token's verified claims, a dict) the token must be bound to the proof's key; with
    /// `nonce`, the proof must carry it (else `UseDpopNonce`).
    #[pyo3(signature = (proof, method, uri, *, access_token = None, access_claims = None, nonce = None))]
    #[allow(clippy::too_many_arguments)]
    fn verify(
        &self,
        py: Python<'_>,
        proof: &Bound<'_, PyAny>,
        method: &str,
        uri: &str,
        access_token: Option<&Bound<'_, PyAny>>,
        access_claims: Option<&Bound<'_, PyDict>>,
        nonce: Option<&str>,
    ) -> PyResult<PyDpopProof> {
        let proof = token_text(proof)?;
        let access_token = access_token.map(token_text).transpose()?;
        let claims = access_claims.map(|c| to_json_map(c, 0)).transpose()?;
        let verified = guard_store(py, self.remote, || {
            self.inner.verify_request(&DpopRequest {
                proof: &proof,
                method,
                uri,
                access_token: access_token.as_deref(),
                access_claims: claims.as_ref(),
                nonce,
            })
        })?;
        Ok(PyDpopProof {
            jkt: verified.jkt,
            jti: verified.jti,
            iat: verified.iat,
        })
    }

    /// Whether the replay store is Redis (the async wrappers then run checks off the loop).
    #[getter]
    fn remote_store(&self) -> bool {
        self.remote
    }
}

fn timeout(obj: &Bound<'_, PyAny>) -> PyResult<Duration> {
    let secs: f64 = if let Ok(f) = obj.cast::<PyFloat>() {
        f.value()
    } else if obj.hasattr("total_seconds")? {
        obj.call_method0("total_seconds")?.extract()?
    } else {
        convert::seconds(obj)? as f64
    };
    if !(secs.is_finite() && secs > 0.0 && secs <= 300.0) {
        return Err(PyValueError::new_err(
            "timeout is a number of seconds above 0 and at most 300",
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// The keyword arguments shared by `RemoteJwks()` and `RemoteJwks.discover`.
#[allow(clippy::too_many_arguments)]
fn options(
    ttl: Option<&Bound<'_, PyAny>>,
    cooldown: Option<&Bound<'_, PyAny>>,
    max_stale: Option<&Bound<'_, PyAny>>,
    timeout_s: Option<&Bound<'_, PyAny>>,
    max_bytes: Option<u64>,
    ca_cert_pem: Option<String>,
    allow_http: bool,
) -> PyResult<RemoteJwksOptions> {
    let mut o = RemoteJwksOptions {
        ca_cert_pem,
        allow_http,
        ..RemoteJwksOptions::default()
    };
    if let Some(x) = ttl {
        o.ttl = convert::seconds(x)?;
    }
    if let Some(x) = cooldown {
        o.cooldown = convert::seconds(x)?;
    }
    if let Some(x) = max_stale {
        o.max_stale = convert::seconds(x)?;
    }
    if let Some(x) = timeout_s {
        o.timeout = timeout(x)?;
    }
    if let Some(x) = max_bytes {
        o.max_bytes = x;
    }
    Ok(o)
}

/// An identity provider's key set, fetched over HTTPS and cached: refetched after `ttl`,
/// or for a token with a new `kid` (at most once per `cooldown`); while the provider is
/// down the last good set is served for up to `max_stale` more seconds. Fetches release
/// the GIL; `authgate.aio.AsyncRemoteJwks` runs them off the event loop.
#[pyclass(frozen, name = "RemoteJwks", module = "authgate")]
pub struct PyRemoteJwks {
    pub(crate) inner: Arc<RemoteJwks>,
}

fn build(
    py: Python<'_>,
    make: impl FnOnce() -> authgate_core::Result<RemoteJwks>,
    clock: Option<PyRef<'_, PyManualClock>>,
) -> PyResult<PyRemoteJwks> {
    let client = guard(py, make)?.with_clock(clock_or_system(clock));
    Ok(PyRemoteJwks {
        inner: Arc::new(client),
    })
}

#[pymethods]
impl PyRemoteJwks {
    /// A client for the JWKS at `url` (https://). Nothing is fetched until needed.
    #[new]
    #[pyo3(signature = (url, *, ttl = None, cooldown = None, max_stale = None, timeout = None, max_bytes = None, ca_cert_pem = None, allow_http = false, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        url: &str,
        ttl: Option<&Bound<'_, PyAny>>,
        cooldown: Option<&Bound<'_, PyAny>>,
        max_stale: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_bytes: Option<u64>,
        ca_cert_pem: Option<String>,
        allow_http: bool,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let o = options(
            ttl,
            cooldown,
            max_stale,
            timeout,
            max_bytes,
            ca_cert_pem,
            allow_http,
        )?;
        build(py, || RemoteJwks::new(url, o), clock)
    }

    /// A client that finds the key set through OpenID Connect discovery of `issuer` (the
    /// issuer URL or its `/.well-known/openid-configuration`). Tokens must then name that
    /// issuer unless `verify` is given issuers of its own.
    #[staticmethod]
    #[pyo3(signature = (issuer, *, ttl = None, cooldown = None, max_stale = None, timeout = None, max_bytes = None, ca_cert_pem = None, allow_http = false, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn discover(
        py: Python<'_>,
        issuer: &str,
        ttl: Option<&Bound<'_, PyAny>>,
        cooldown: Option<&Bound<'_, PyAny>>,
        max_stale: Option<&Bound<'_, PyAny>>,
        timeout: Option<&Bound<'_, PyAny>>,
        max_bytes: Option<u64>,
        ca_cert_pem: Option<String>,
        allow_http: bool,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let o = options(
            ttl,
            cooldown,
            max_stale,
            timeout,
            max_bytes,
            ca_cert_pem,
            allow_http,
        )?;
        build(py, || RemoteJwks::discover(issuer, o), clock)
    }

    /// The URL the client was made with.
    #[getter]
    fn url(&self) -> String {
        self.inner.url().to_string()
    }

    /// Verifies a token with the provider's keys, then its claims; returns them as a dict.
    /// Same keyword arguments as `KeySet.verify`.
    #[pyo3(signature = (token, *, issuer = None, audience = None, subject = None, required_claims = None,
        required_scopes = None, token_type = None, algorithms = None, leeway = None, max_token_bytes = None, accept_any_audience = false, now = None))]
    #[allow(clippy::too_many_arguments)]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'_, PyAny>,
        issuer: Option<&Bound<'_, PyAny>>,
        audience: Option<&Bound<'_, PyAny>>,
        subject: Option<String>,
        required_claims: Option<&Bound<'_, PyAny>>,
        required_scopes: Option<&Bound<'_, PyAny>>,
        token_type: Option<String>,
        algorithms: Option<&Bound<'_, PyAny>>,
        leeway: Option<&Bound<'_, PyAny>>,
        max_token_bytes: Option<usize>,
        accept_any_audience: bool,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let v: Validation = validation(
            issuer,
            audience,
            subject,
            required_claims,
            required_scopes,
            token_type,
            algorithms,
            leeway,
            max_token_bytes,
            accept_any_audience,
            py,
        )?;
        let now = convert::now_or_system(now)?;
        let (token, client) = (token_text(token)?, self.inner.clone());
        let claims = guard_detached(py, move || client.verify_at(&token, &v, now))?;
        json_text_to_py(py, claims.json())
    }

    /// Fetches the key set now (whatever the cache holds); returns its kids. A failure
    /// raises and leaves the cached set in place.
    fn refresh(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let client = self.inner.clone();
        guard_detached(py, move || client.refresh())?;
        Ok(self.inner.status().kids)
    }

    /// The key set to verify with (fetched if none is cached or it is past its TTL).
    fn key_set(&self, py: Python<'_>) -> PyResult<PyKeySet> {
        let client = self.inner.clone();
        let inner = guard_detached(py, move || client.key_set())?;
        Ok(PyKeySet { inner })
    }

    /// What is cached and how fetching went: `kids`, `fetched_at`, `stale`, `fetches`,
    /// `failures`, `last_error` (an exception or None), `jwks_uri`, `issuer`.
    fn status<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.inner.status();
        let d = PyDict::new(py);
        d.set_item("kids", s.kids)?;
        d.set_item("fetched_at", s.fetched_at)?;
        d.set_item("stale", s.stale)?;
        d.set_item("fetches", s.fetches)?;
        d.set_item("failures", s.failures)?;
        d.set_item("last_error", s.last_error.map(|e| to_py(py, &e)))?;
        d.set_item("jwks_uri", s.jwks_uri)?;
        d.set_item("issuer", s.issuer)?;
        Ok(d)
    }

    fn __repr__(&self) -> String {
        format!("RemoteJwks({:?})", self.inner.url())
    }
}
