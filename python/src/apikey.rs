//! API keys and server keys.

use std::sync::Arc;

use authgate_core::apikey::{self, ApiKeyManager, ApiKeyOptions, ApiKeyRecord};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert;
use crate::errors::{guard, guard_detached};
use crate::session::{clock_or_system, is_remote, store_or_default, PyManualClock, StoreArg};

/// What is stored for a key (never the key itself).
#[pyclass(frozen, get_all, name = "ApiKeyRecord", module = "authgate")]
pub struct PyApiKeyRecord {
    id: String,
    prefix: String,
    last_four: String,
    name: Option<String>,
    scopes: Vec<String>,
    created_at: u64,
    expires_at: Option<u64>,
    status: &'static str,
    credits: Option<u64>,
    rate_limit_policy: Option<String>,
    replaced_by: Option<String>,
    grace_until: Option<u64>,
    /// The app the key belongs to: the first key id of its line of rolls.
    app: String,
    hash: Py<PyBytes>,
}

pub(crate) fn record(py: Python<'_>, r: ApiKeyRecord) -> PyApiKeyRecord {
    PyApiKeyRecord {
        hash: PyBytes::new(py, &r.hash).unbind(),
        app: r.app_id().to_string(),
        id: r.id,
        prefix: r.prefix,
        last_four: r.last_four,
        name: r.name,
        scopes: r.scopes,
        created_at: r.created_at,
        expires_at: r.expires_at,
        status: r.status.name(),
        credits: r.credits,
        rate_limit_policy: r.rate_limit_policy,
        replaced_by: r.replaced_by,
        grace_until: r.grace_until,
    }
}

#[pymethods]
impl PyApiKeyRecord {
    fn __repr__(&self) -> String {
        format!(
            "ApiKeyRecord(id={:?}, prefix={:?}, last_four={:?}, status={:?})",
            self.id, self.prefix, self.last_four, self.status
        )
    }
}

/// A key's parts, read without any store.
#[pyclass(frozen, get_all, name = "ParsedApiKey", module = "authgate")]
pub struct PyParsedApiKey {
    prefix: String,
    id: String,
    last_four: String,
}

/// Checks a key's shape and checksum offline; raises `InvalidApiKey`.
#[pyfunction]
pub fn parse_api_key(py: Python<'_>, key: &str) -> PyResult<PyParsedApiKey> {
    let p = guard(py, || apikey::parse(key))?;
    Ok(PyParsedApiKey {
        prefix: p.prefix,
        id: p.id,
        last_four: p.last_four,
    })
}

/// Whether `granted` scopes cover `required` (`sms:*` covers `sms:send`, `*` covers all).
#[pyfunction]
pub fn scope_granted(granted: Vec<String>, required: &str) -> bool {
    apikey::scope_granted(&granted, required)
}

/// Creates, verifies, rolls and revokes API keys.
#[pyclass(frozen, name = "ApiKeyManager", module = "authgate")]
pub struct PyApiKeyManager {
    pub(crate) inner: Arc<ApiKeyManager>,
    pub(crate) remote: bool,
}

#[pymethods]
impl PyApiKeyManager {
    #[new]
    #[pyo3(signature = (*, store = None, clock = None))]
    fn new(store: Option<StoreArg<'_>>, clock: Option<PyRef<'_, PyManualClock>>) -> Self {
        PyApiKeyManager {
            remote: is_remote(&store),
            inner: Arc::new(ApiKeyManager::with_clock(
                store_or_default(store),
                clock_or_system(clock),
            )),
        }
    }

    /// True when its store is across the network (Redis).
    #[getter]
    fn remote_store(&self) -> bool {
        self.remote
    }

    /// Creates a key; returns `(plaintext, record)`. Show the plaintext once.
    #[pyo3(signature = (*, prefix = None, name = None, scopes = None, expires_at = None, credits = None, rate_limit_policy = None))]
    #[allow(clippy::too_many_arguments)]
    fn create(
        &self,
        py: Python<'_>,
        prefix: Option<String>,
        name: Option<String>,
        scopes: Option<&Bound<'_, PyAny>>,
        expires_at: Option<&Bound<'_, PyAny>>,
        credits: Option<u64>,
        rate_limit_policy: Option<String>,
    ) -> PyResult<(String, PyApiKeyRecord)> {
        let defaults = ApiKeyOptions::default();
        let options = ApiKeyOptions {
            prefix: prefix.unwrap_or(defaults.prefix),
            name,
            scopes: scopes
                .map(convert::strings)
                .transpose()?
                .unwrap_or_default(),
            expires_at: expires_at.map(convert::timestamp).transpose()?,
            credits,
            rate_limit_policy,
        };
        let (key, r) = guard_detached(py, || self.inner.create(&options))?;
        Ok((key, record(py, r)))
    }

    /// Verifies a key (and a scope); takes a credit from metered keys. Returns its record.
    #[pyo3(signature = (key, scope = None))]
    fn verify(&self, py: Python<'_>, key: &str, scope: Option<&str>) -> PyResult<PyApiKeyRecord> {
        Ok(record(
            py,
            guard_detached(py, || self.inner.verify(key, scope))?,
        ))
    }

    fn get(&self, py: Python<'_>, id: &str) -> PyResult<Option<PyApiKeyRecord>> {
        Ok(guard_detached(py, || self.inner.get(id))?.map(|r| record(py, r)))
    }

    fn list(&self, py: Python<'_>) -> PyResult<Vec<PyApiKeyRecord>> {
        Ok(guard_detached(py, || self.inner.list())?
            .into_iter()
            .map(|r| record(py, r))
            .collect())
    }

    fn revoke(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        guard_detached(py, || self.inner.revoke(id))
    }

    fn disable(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        guard_detached(py, || self.inner.disable(id))
    }

    fn enable(&self, py: Python<'_>, id: &str) -> PyResult<()> {
        guard_detached(py, || self.inner.enable(id))
    }

    /// Issues a replacement; the old key works for `grace` (seconds or timedelta) more.
    #[pyo3(signature = (id, grace = None))]
    fn roll(
        &self,
        py: Python<'_>,
        id: &str,
        grace: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<(String, PyApiKeyRecord)> {
        let grace = grace.map(convert::seconds).transpose()?.unwrap_or(0);
        let (key, r) = guard_detached(py, || self.inner.roll(id, grace))?;
        Ok((key, record(py, r)))
    }
}
