//! `Key`, `KeySet` and the JWT functions. Every check happens in the core.

use std::sync::Arc;

use authgate_core::jwt::{self, Algorithm, Key, KeySet, KeyStatus, Validation};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};

use crate::convert::{self, json_text_to_py, to_json_map, value_to_py, DictSink};
use crate::errors::{guard, guard_detached};

pub(crate) fn algorithm(py: Python<'_>, name: &str) -> PyResult<Algorithm> {
    guard(py, || name.parse::<Algorithm>())
}

pub(crate) fn jwk_map(
    obj: &Bound<'_, PyAny>,
) -> PyResult<serde_json::Map<String, serde_json::Value>> {
    if let Ok(d) = obj.cast::<PyDict>() {
        return to_json_map(d, 0);
    }
    let text = convert::text(obj)?;
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        _ => Err(PyValueError::new_err("a JWK must be a JSON object")),
    }
}

/// A signing or verification key, bound to one algorithm.
#[pyclass(frozen, name = "Key", module = "authgate")]
pub struct PyKey {
    pub(crate) inner: Arc<Key>,
}

#[pymethods]
impl PyKey {
    /// An HMAC key (HS256/384/512); the secret must be at least as long as the hash.
    #[staticmethod]
    #[pyo3(signature = (secret, alg = "HS256", *, kid = None))]
    fn hmac(
        py: Python<'_>,
        secret: &Bound<'_, PyAny>,
        alg: &str,
        kid: Option<&str>,
    ) -> PyResult<Self> {
        let (alg, secret) = (algorithm(py, alg)?, convert::bytes(secret)?);
        Ok(PyKey {
            inner: Arc::new(guard(py, || Key::hmac(kid, alg, &secret))?),
        })
    }

    /// A key from PEM (PKCS#8 or PKCS#1 private, SubjectPublicKeyInfo or PKCS#1 public).
    #[staticmethod]
    #[pyo3(signature = (pem, alg, *, kid = None))]
    fn from_pem(
        py: Python<'_>,
        pem: &Bound<'_, PyAny>,
        alg: &str,
        kid: Option<&str>,
    ) -> PyResult<Self> {
        let (alg, pem) = (algorithm(py, alg)?, convert::text(pem)?);
        Ok(PyKey {
            inner: Arc::new(guard(py, || Key::from_pem(kid, alg, &pem))?),
        })
    }

    /// A key from a JWK (dict or JSON text).
    #[staticmethod]
    #[pyo3(signature = (jwk, alg = None))]
    fn from_jwk(py: Python<'_>, jwk: &Bound<'_, PyAny>, alg: Option<&str>) -> PyResult<Self> {
        let alg = alg.map(|a| algorithm(py, a)).transpose()?;
        let map = jwk_map(jwk)?;
        Ok(PyKey {
            inner: Arc::new(guard(py, || Key::from_jwk(&map, alg))?),
        })
    }

    /// A new private key as PKCS#8 PEM (ES256, ES384, EdDSA), from the OS CSPRNG.
    #[staticmethod]
    fn generate_pem(py: Python<'_>, alg: &str) -> PyResult<String> {
        let alg = algorithm(py, alg)?;
        guard(py, || Key::generate_pem(alg))
    }

    /// A new random HMAC secret of the hash's length.
    #[staticmethod]
    #[pyo3(signature = (alg = "HS256"))]
    fn generate_hmac_secret<'py>(py: Python<'py>, alg: &str) -> PyResult<Bound<'py, PyBytes>> {
        let alg = algorithm(py, alg)?;
        Ok(PyBytes::new(
            py,
            &guard(py, || Key::generate_hmac_secret(alg))?,
        ))
    }

    #[getter]
    fn kid(&self) -> Option<&str> {
        self.inner.kid()
    }

    #[getter]
    fn alg(&self) -> &'static str {
        self.inner.algorithm().name()
    }

    #[getter]
    fn can_sign(&self) -> bool {
        self.inner.can_sign()
    }

    /// The public JWK, or None for HMAC keys.
    fn public_jwk<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .public_jwk()
            .map(|m| value_to_py(py, &serde_json::Value::Object(m)))
            .transpose()
    }

    /// The raw signature of `message`.
    fn sign<'py>(
        &self,
        py: Python<'py>,
        message: &Bound<'_, PyAny>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let (message, key) = (convert::bytes(message)?, self.inner.clone());
        Ok(PyBytes::new(
            py,
            &guard_detached(py, move || key.sign(&message))?,
        ))
    }

    /// Whether `signature` is a valid raw signature of `message`.
    fn verify(
        &self,
        py: Python<'_>,
        message: &Bound<'_, PyAny>,
        signature: &Bound<'_, PyAny>,
    ) -> PyResult<bool> {
        let (message, signature, key) = (
            convert::bytes(message)?,
            convert::bytes(signature)?,
            self.inner.clone(),
        );
        guard_detached(py, move || Ok(key.verify(&message, &signature)))
    }

    fn __repr__(&self) -> String {
        format!(
            "Key(alg={:?}, kid={:?}, can_sign={})",
            self.alg(),
            self.kid(),
            self.can_sign()
        )
    }
}

/// A rotating set of keys: signs with the active key, verifies with any not retired.
#[pyclass(frozen, name = "KeySet", module = "authgate")]
pub struct PyKeySet {
    pub(crate) inner: Arc<KeySet>,
}

/// The validation keyword arguments, over the core's defaults.
#[allow(clippy::too_many_arguments)]
pub(crate) fn validation(
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
    py: Python<'_>,
) -> PyResult<Validation> {
    let mut v = Validation {
        accept_any_audience,
        ..Validation::default()
    };
    if let Some(x) = issuer {
        v.issuers = convert::strings(x)?;
    }
    if let Some(x) = audience {
        v.audiences = convert::strings(x)?;
    }
    v.subject = subject;
    if let Some(x) = required_claims {
        v.required_claims = convert::strings(x)?;
    }
    if let Some(x) = required_scopes {
        v.required_scopes = convert::strings(x)?;
    }
    v.token_type = token_type;
    if let Some(x) = algorithms {
        v.algorithms = convert::strings(x)?
            .iter()
            .map(|a| algorithm(py, a))
            .collect::<PyResult<_>>()?;
    }
    if let Some(x) = leeway {
        v.leeway = convert::seconds(x)?;
    }
    if let Some(x) = max_token_bytes {
        v.max_token_bytes = x;
    }
    Ok(v)
}

fn convert_status(py: Python<'_>, name: &str) -> PyResult<KeyStatus> {
    guard(py, || name.parse::<KeyStatus>())
}

pub(crate) fn token_text(token: &Bound<'_, PyAny>) -> PyResult<String> {
    convert::text(token).map_err(|e| {
        if e.is_instance_of::<PyTypeError>(token.py()) {
            PyTypeError::new_err("a token is str (or ASCII bytes)")
        } else {
            e
        }
    })
}

#[pymethods]
impl PyKeySet {
    /// A key set; the first key that can sign becomes active, the others verify only.
    #[new]
    #[pyo3(signature = (keys = None))]
    fn new(py: Python<'_>, keys: Option<Vec<PyRef<'_, PyKey>>>) -> PyResult<Self> {
        let set = KeySet::new();
        let mut active = false;
        for key in keys.unwrap_or_default() {
            let status = if !active && key.inner.can_sign() {
                KeyStatus::Active
            } else {
                KeyStatus::VerifyOnly
            };
            active |= status == KeyStatus::Active;
            guard(py, || set.add(key.inner.clone(), status))?;
        }
        Ok(PyKeySet {
            inner: Arc::new(set),
        })
    }

    /// Adds a key; `status="active"` makes it the signing key.
    #[pyo3(signature = (key, status = "verify_only"))]
    fn add(&self, py: Python<'_>, key: PyRef<'_, PyKey>, status: &str) -> PyResult<()> {
        let status = convert_status(py, status)?;
        guard(py, || self.inner.add(key.inner.clone(), status))
    }

    fn activate(&self, py: Python<'_>, kid: &str) -> PyResult<()> {
        guard(py, || self.inner.activate(kid))
    }

    fn retire(&self, py: Python<'_>, kid: &str) -> PyResult<()> {
        guard(py, || self.inner.retire(kid))
    }

    fn remove(&self, py: Python<'_>, kid: &str) -> PyResult<()> {
        guard(py, || self.inner.remove(kid))
    }

    /// `(kid, alg, status)` of every key.
    fn list(&self) -> Vec<(Option<String>, &'static str, &'static str)> {
        self.inner
            .list()
            .into_iter()
            .map(|(kid, alg, s)| (kid, alg.name(), s.name()))
            .collect()
    }

    /// The public keys as a JWKS dict.
    fn jwks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        value_to_py(py, &self.inner.jwks())
    }

    /// Imports the signing keys of a JWKS (dict or JSON text) as verify-only keys.
    fn import_jwks(&self, py: Python<'_>, jwks: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
        let text = match jwks.cast::<PyDict>() {
            Ok(d) => serde_json::Value::Object(to_json_map(d, 0)?).to_string(),
            Err(_) => convert::text(jwks)?,
        };
        guard(py, || self.inner.import_jwks(&text))
    }

    /// Signs a dict of claims with the active key.
    #[pyo3(signature = (claims, *, typ = None))]
    fn sign(
        &self,
        py: Python<'_>,
        claims: &Bound<'_, PyDict>,
        typ: Option<String>,
    ) -> PyResult<String> {
        let claims = to_json_map(claims, 0)?;
        let set = self.inner.clone();
        if set.only_hmac() {
            guard(py, || set.sign(&claims, typ.as_deref()))
        } else {
            guard_detached(py, move || set.sign(&claims, typ.as_deref()))
        }
    }

    /// Verifies a token's signature, then its claims; returns the claims as a dict.
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
        let v = validation(
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
        verify_token(py, &self.inner, token, &v, now)
    }

    /// A verifier with these checks built once, for servers verifying many tokens
    /// (same keyword arguments as `verify`, except `now`).
    #[pyo3(signature = (*, issuer = None, audience = None, subject = None, required_claims = None,
        required_scopes = None, token_type = None, algorithms = None, leeway = None, max_token_bytes = None, accept_any_audience = false))]
    #[allow(clippy::too_many_arguments)]
    fn verifier(
        &self,
        py: Python<'_>,
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
    ) -> PyResult<PyVerifier> {
        let validation = validation(
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
        Ok(PyVerifier {
            keys: self.inner.clone(),
            validation,
        })
    }

    /// Verifies only the signature of a compact JWS; returns `(header, payload bytes)`.
    #[pyo3(signature = (token, *, algorithms = None))]
    fn verify_jws<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'_, PyAny>,
        algorithms: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyBytes>)> {
        let algs: Vec<Algorithm> = match algorithms {
            Some(a) => convert::strings(a)?
                .iter()
                .map(|n| algorithm(py, n))
                .collect::<PyResult<_>>()?,
            None => Vec::new(),
        };
        let (token, set) = (token_text(token)?, self.inner.clone());
        let jws = guard_detached(py, move || set.verify_jws(&token, &algs))?;
        Ok((
            value_to_py(py, &serde_json::Value::Object(jws.header))?,
            PyBytes::new(py, &jws.payload),
        ))
    }

    fn __repr__(&self) -> String {
        format!("KeySet({} keys)", self.inner.list().len())
    }
}

/// Verification shared by `KeySet.verify` and `Verifier.verify`.
fn verify_token<'py>(
    py: Python<'py>,
    set: &Arc<KeySet>,
    token: &Bound<'_, PyAny>,
    v: &Validation,
    now: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let now = convert::now_or_system(now)?;
    let mut sink = DictSink::new(py);
    let verified = match token.cast::<PyString>() {
        // The common case: HMAC is cheaper than releasing the interpreter, so keep it, and
        // build the dict during the core's one parse of the payload.
        Ok(s) if set.only_hmac() => convert::with_str(s, |token| {
            guard(py, || set.verify_into(token, v, now, &mut sink))
        })?,
        _ => {
            let (token, set, v) = (token_text(token)?, set.clone(), v.clone());
            let claims = guard_detached(py, move || set.verify_at(&token, &v, now))?;
            return json_text_to_py(py, claims.json());
        }
    };
    sink.finish(verified)
}

/// A key set with a fixed set of checks (see `KeySet.verifier`).
#[pyclass(frozen, name = "Verifier", module = "authgate")]
pub struct PyVerifier {
    keys: Arc<KeySet>,
    validation: Validation,
}

impl PyVerifier {
    /// The key set and checks, for the gate.
    pub(crate) fn parts(&self) -> (Arc<KeySet>, Validation) {
        (self.keys.clone(), self.validation.clone())
    }
}

#[pymethods]
impl PyVerifier {
    /// Verifies a token; returns its claims as a dict.
    #[pyo3(signature = (token, now = None))]
    fn verify<'py>(
        &self,
        py: Python<'py>,
        token: &Bound<'_, PyAny>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        verify_token(py, &self.keys, token, &self.validation, now)
    }
}

/// Reads a token's header and claims WITHOUT verifying anything (for display only).
#[pyfunction]
pub fn peek_unverified<'py>(
    py: Python<'py>,
    token: &Bound<'_, PyAny>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let token = token_text(token)?;
    let (header, claims) = guard(py, || jwt::peek_unverified(&token))?;
    Ok((
        value_to_py(py, &serde_json::Value::Object(header))?,
        json_text_to_py(py, claims.json())?,
    ))
}

/// Signs `claims` with one key (no key set needed).
#[pyfunction]
#[pyo3(signature = (key, claims, *, typ = None))]
pub fn sign_with(
    py: Python<'_>,
    key: PyRef<'_, PyKey>,
    claims: &Bound<'_, PyDict>,
    typ: Option<String>,
) -> PyResult<String> {
    let (claims, key) = (to_json_map(claims, 0)?, key.inner.clone());
    guard_detached(py, move || jwt::sign_with(&key, &claims, typ.as_deref()))
}
