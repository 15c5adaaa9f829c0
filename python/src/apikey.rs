//! API keys and server keys.

use std::sync::Arc;

use authgate_core::apikey::{self, ApiKeyManager, ApiKeyOptions, ApiKeyRecord, ImportedApiKey};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

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
    /// Who the key belongs to (yours to set).
    owner: Option<String>,
    /// Your data about the key (a dict; a copy).
    metadata: Py<PyAny>,
    /// When the key last admitted a request (to the minute).
    last_used_at: Option<u64>,
    /// A server key's client-token public key (32 bytes), when it mints client tokens.
    client_token_key: Option<Py<PyBytes>>,
}

pub(crate) fn record(py: Python<'_>, r: ApiKeyRecord) -> PyApiKeyRecord {
    let metadata = convert::value_to_py(py, &serde_json::Value::Object(r.metadata.clone()))
        .map(Bound::unbind)
        .unwrap_or_else(|_| PyDict::new(py).into_any().unbind());
    PyApiKeyRecord {
        hash: PyBytes::new(py, &r.hash).unbind(),
        app: r.app_id().to_string(),
        owner: r.owner,
        metadata,
        last_used_at: r.last_used_at,
        client_token_key: r.client_token_key.map(|k| PyBytes::new(py, &k).unbind()),
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

/// A SHA-256 given as 64 hex characters or 32 bytes.
fn sha256_arg(value: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    let raw = match value.extract::<String>() {
        Ok(text) if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) => (0..32)
            .map(|i| u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap_or(0))
            .collect(),
        Ok(_) => Vec::new(),
        Err(_) => convert::bytes(value)?,
    };
    raw.try_into()
        .map_err(|_| PyValueError::new_err("sha256 is 64 hex characters or 32 bytes"))
}

/// A 32-byte public key given as bytes or base64url text (as the CLI prints it).
fn public_key_arg(value: &Bound<'_, PyAny>) -> PyResult<[u8; 32]> {
    let raw = match value.extract::<String>() {
        Ok(text) => authgate_core::util::b64url_decode(text.as_bytes()).unwrap_or_default(),
        Err(_) => convert::bytes(value)?,
    };
    raw.try_into()
        .map_err(|_| PyValueError::new_err("client_token_key is 32 bytes (or their base64url)"))
}

/// Creates, verifies, rolls and revokes API keys.
#[pyclass(frozen, name = "ApiKeyManager", module = "authgate")]
pub struct PyApiKeyManager {
    pub(crate) inner: Arc<ApiKeyManager>,
    pub(crate) remote: bool,
}

#[pymethods]
impl PyApiKeyManager {
    /// `prefix` is the prefix keys are created with (default `ag_live_`);
    /// `accept_prefixes` the prefixes `verify` accepts (default: only `prefix`), so a
    /// test or server key is refused by a live manager even in the same store.
    #[new]
    #[pyo3(signature = (*, store = None, clock = None, prefix = None, accept_prefixes = None))]
    fn new(
        py: Python<'_>,
        store: Option<StoreArg<'_>>,
        clock: Option<PyRef<'_, PyManualClock>>,
        prefix: Option<String>,
        accept_prefixes: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let remote = is_remote(&store);
        let accept = accept_prefixes
            .map(convert::strings)
            .transpose()?
            .unwrap_or_default();
        let manager = ApiKeyManager::with_clock(store_or_default(store), clock_or_system(clock));
        let manager = match prefix {
            None if accept.is_empty() => manager,
            prefix => {
                let issue = prefix.unwrap_or_else(|| manager.prefix().to_string());
                guard(py, || manager.with_prefixes(&issue, &accept))?
            }
        };
        Ok(PyApiKeyManager {
            remote,
            inner: Arc::new(manager),
        })
    }

    /// The prefix keys are created with.
    #[getter]
    fn prefix(&self) -> String {
        self.inner.prefix().to_string()
    }

    /// The prefixes `verify` accepts.
    #[getter]
    fn accept_prefixes(&self) -> Vec<String> {
        self.inner.accepted_prefixes().to_vec()
    }

    /// True when its store is across the network (Redis).
    #[getter]
    fn remote_store(&self) -> bool {
        self.remote
    }

    /// Creates a key; returns `(plaintext, record)`. Show the plaintext once.
    #[pyo3(signature = (*, prefix = None, name = None, scopes = None, expires_at = None, credits = None,
        rate_limit_policy = None, owner = None, metadata = None, client_tokens = false))]
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
        owner: Option<String>,
        metadata: Option<&Bound<'_, PyDict>>,
        client_tokens: bool,
    ) -> PyResult<(String, PyApiKeyRecord)> {
        let options = self.options(
            prefix,
            name,
            scopes,
            expires_at,
            credits,
            rate_limit_policy,
            owner,
            metadata,
            client_tokens,
        )?;
        let (key, r) = guard_detached(py, || self.inner.create(&options))?;
        Ok((key, record(py, r)))
    }

    /// Stores a key made elsewhere (`authgate keygen api-key --json` prints `id`,
    /// `prefix`, `last_four` and `sha256`): only its hash is kept. Returns its record.
    #[pyo3(signature = (*, id, prefix, last_four, sha256, name = None, scopes = None, expires_at = None,
        credits = None, rate_limit_policy = None, owner = None, metadata = None, client_token_key = None))]
    #[allow(clippy::too_many_arguments)]
    fn import_key(
        &self,
        py: Python<'_>,
        id: String,
        prefix: String,
        last_four: String,
        sha256: &Bound<'_, PyAny>,
        name: Option<String>,
        scopes: Option<&Bound<'_, PyAny>>,
        expires_at: Option<&Bound<'_, PyAny>>,
        credits: Option<u64>,
        rate_limit_policy: Option<String>,
        owner: Option<String>,
        metadata: Option<&Bound<'_, PyDict>>,
        client_token_key: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<PyApiKeyRecord> {
        let hash = sha256_arg(sha256)?;
        let options = self.options(
            Some(prefix.clone()),
            name,
            scopes,
            expires_at,
            credits,
            rate_limit_policy,
            owner,
            metadata,
            false,
        )?;
        let key = ImportedApiKey {
            id,
            prefix,
            last_four,
            hash,
            client_token_key: client_token_key.map(public_key_arg).transpose()?,
        };
        Ok(record(
            py,
            guard_detached(py, || self.inner.import(&key, &options))?,
        ))
    }

    /// Deletes a key's record for good (`revoke` keeps it); False if there was none.
    fn delete(&self, py: Python<'_>, id: &str) -> PyResult<bool> {
        guard_detached(py, || self.inner.delete(id))
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

impl PyApiKeyManager {
    #[allow(clippy::too_many_arguments)]
    fn options(
        &self,
        prefix: Option<String>,
        name: Option<String>,
        scopes: Option<&Bound<'_, PyAny>>,
        expires_at: Option<&Bound<'_, PyAny>>,
        credits: Option<u64>,
        rate_limit_policy: Option<String>,
        owner: Option<String>,
        metadata: Option<&Bound<'_, PyDict>>,
        client_tokens: bool,
    ) -> PyResult<ApiKeyOptions> {
        Ok(ApiKeyOptions {
            prefix: prefix.unwrap_or_else(|| self.inner.prefix().to_string()),
            name,
            scopes: scopes
                .map(convert::strings)
                .transpose()?
                .unwrap_or_default(),
            expires_at: expires_at.map(convert::timestamp).transpose()?,
            credits,
            rate_limit_policy,
            owner,
            metadata: metadata
                .map(|m| convert::to_json_map(m, 0))
                .transpose()?
                .unwrap_or_default(),
            client_tokens,
        })
    }
}
