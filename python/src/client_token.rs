//! Client tokens ("secure mode").

use authgate_core::client_token::{
    self, ClientTokens, DEFAULT_CLIENT_TOKEN_TTL_SECS, DEFAULT_REFRESH_MARGIN_SECS,
};
use pyo3::prelude::*;

use crate::convert;
use crate::errors::guard;

/// A verified client token.
#[pyclass(frozen, get_all, name = "ClientToken", module = "authgate")]
pub struct PyClientToken {
    user: String,
    exp: u64,
}

/// Mints and verifies short-lived HS256 tokens for one user with a server key.
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
