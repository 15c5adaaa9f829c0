//! Client tokens ("secure mode").

use authgate_core::client_token::{
    self, ClientTokenVerifier, ClientTokens, LegacyClientTokens, LegacyOptions,
    DEFAULT_CLIENT_TOKEN_TTL_SECS, DEFAULT_REFRESH_MARGIN_SECS,
};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::apikey::PyApiKeyManager;
use crate::convert;
use crate::errors::{guard, guard_detached};

/// A verified client token.
#[pyclass(frozen, get_all, name = "ClientToken", module = "authgate")]
pub struct PyClientToken {
    user: String,
    exp: u64,
}

/// The backend's side: mints short-lived EdDSA tokens for one user with its server key
/// (an `ag_srv_` key created with `client_tokens=True`), and verifies its own.
#[pyclass(frozen, name = "ClientTokens", module = "authgate")]
pub struct PyClientTokens {
    inner: ClientTokens,
}

#[pymethods]
impl PyClientTokens {
    #[new]
    fn new(py: Python<'_>, server_key: &str) -> PyResult<Self> {
        Ok(PyClientTokens {
            inner: guard(py, || ClientTokens::new(server_key))?,
        })
    }

    /// The Ed25519 public key the tokens are verified with (what the key's record keeps).
    #[getter]
    fn public_key<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.public_key())
    }

    #[pyo3(signature = (user, *, ttl = None, now = None))]
    fn mint(
        &self,
        py: Python<'_>,
        user: &str,
        ttl: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let ttl = ttl
            .map(convert::seconds)
            .transpose()?
            .unwrap_or(DEFAULT_CLIENT_TOKEN_TTL_SECS);
        let now = convert::now_or_system(now)?;
        guard(py, || self.inner.mint(user, ttl, now))
    }

    #[pyo3(signature = (token, user, *, now = None))]
    fn verify(
        &self,
        py: Python<'_>,
        token: &str,
        user: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClientToken> {
        let now = convert::now_or_system(now)?;
        let t = guard(py, || self.inner.verify(token, user, now))?;
        Ok(PyClientToken {
            user: t.user,
            exp: t.exp,
        })
    }
}

/// The API's side: verifies client tokens against the server keys an `ApiKeyManager`
/// keeps (only their public keys are stored); the key must be usable.
#[pyclass(frozen, name = "ClientTokenVerifier", module = "authgate")]
pub struct PyClientTokenVerifier {
    inner: ClientTokenVerifier,
}

#[pymethods]
impl PyClientTokenVerifier {
    #[new]
    fn new(api_keys: PyRef<'_, PyApiKeyManager>) -> Self {
        PyClientTokenVerifier {
            inner: ClientTokenVerifier::new(api_keys.inner.clone()),
        }
    }

    #[pyo3(signature = (token, user, *, now = None))]
    fn verify(
        &self,
        py: Python<'_>,
        token: &str,
        user: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClientToken> {
        let now = convert::now_or_system(now)?;
        let (token, user) = (token.to_string(), user.to_string());
        let t = guard_detached(py, || self.inner.verify(&token, &user, now))?;
        Ok(PyClientToken {
            user: t.user,
            exp: t.exp,
        })
    }
}

/// The earlier HS256 client tokens (a shared secret), for migrating; the opt-outs are
/// named: `allow_missing_exp` (`{"user": id}` without `exp`), `allow_short_secret`
/// (16 to 31 bytes).
#[pyclass(frozen, name = "LegacyClientTokens", module = "authgate")]
pub struct PyLegacyClientTokens {
    inner: LegacyClientTokens,
}

#[pymethods]
impl PyLegacyClientTokens {
    #[new]
    #[pyo3(signature = (secret, *, allow_missing_exp = false, allow_short_secret = false))]
    fn new(
        py: Python<'_>,
        secret: &Bound<'_, PyAny>,
        allow_missing_exp: bool,
        allow_short_secret: bool,
    ) -> PyResult<Self> {
        let secret = convert::bytes(secret)?;
        let options = LegacyOptions {
            allow_missing_exp,
            allow_short_secret,
        };
        Ok(PyLegacyClientTokens {
            inner: guard(py, || LegacyClientTokens::new(&secret, options))?,
        })
    }

    #[pyo3(signature = (user, *, ttl = None, now = None))]
    fn mint(
        &self,
        py: Python<'_>,
        user: &str,
        ttl: Option<&Bound<'_, PyAny>>,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<String> {
        let ttl = ttl
            .map(convert::seconds)
            .transpose()?
            .unwrap_or(DEFAULT_CLIENT_TOKEN_TTL_SECS);
        let now = convert::now_or_system(now)?;
        guard(py, || self.inner.mint(user, ttl, now))
    }

    /// Verifies a legacy token; `exp` is 0 when the token has none (`allow_missing_exp`).
    #[pyo3(signature = (token, user, *, now = None))]
    fn verify(
        &self,
        py: Python<'_>,
        token: &str,
        user: &str,
        now: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyClientToken> {
        let now = convert::now_or_system(now)?;
        let t = guard(py, || self.inner.verify(token, user, now))?;
        Ok(PyClientToken {
            user: t.user,
            exp: t.exp,
        })
    }
}

/// Whether a client token should be replaced (unreadable, or expiring within `margin`).
#[pyfunction]
#[pyo3(signature = (token, *, now = None, margin = None))]
pub fn needs_refresh(
    token: &str,
    now: Option<&Bound<'_, PyAny>>,
    margin: Option<&Bound<'_, PyAny>>,
) -> PyResult<bool> {
    let margin = margin
        .map(convert::seconds)
        .transpose()?
        .unwrap_or(DEFAULT_REFRESH_MARGIN_SECS);
    Ok(client_token::needs_refresh(
        token,
        convert::now_or_system(now)?,
        margin,
    ))
}
