//! Sessions, the in-memory store and the manual clock.

use std::sync::Arc;
use std::time::Duration;

use authgate_core::clock::{Clock, ManualClock, SystemClock};
use authgate_core::session::{self, DeviceInfo, SessionConfig, SessionManager};
use authgate_core::store::{MemoryStore, RedisConfig, RedisStore, Store};
use authgate_core::{Error, ErrorKind};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert::{self, DictSink};
use crate::errors::{guard, guard_detached};
use crate::jwt::PyKeySet;

/// The bounded, thread-safe in-memory store (the default).
#[pyclass(frozen, name = "MemoryStore", module = "authgate")]
pub struct PyMemoryStore {
    pub(crate) inner: Arc<MemoryStore>,
}

#[pymethods]
impl PyMemoryStore {
    #[new]
    #[pyo3(signature = (capacity = None))]
    fn new(capacity: Option<usize>) -> Self {
        let inner = capacity.map_or_else(MemoryStore::new, MemoryStore::with_capacity);
        PyMemoryStore {
            inner: Arc::new(inner),
        }
    }

    /// Rate-limited keys held (live ones, and refilled ones not yet swept out).
    #[getter]
    fn rate_limit_keys(&self) -> usize {
        self.inner.rate_limit_keys()
    }

    /// New rate-limited keys refused (`CapacityExceeded`) because the store was full of
    /// keys still being limited: a number to watch.
    #[getter]
    fn rate_limit_refusals(&self) -> u64 {
        self.inner.rate_limit_refusals()
    }
}

/// The store shared by many processes, in Redis: see `docs/redis.md`.
#[pyclass(frozen, name = "RedisStore", module = "authgate")]
pub struct PyRedisStore {
    pub(crate) inner: Arc<RedisStore>,
}

fn duration(
    seconds: Option<f64>,
    default: Duration,
    what: &str,
) -> authgate_core::Result<Duration> {
    match seconds {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        Some(_) => Err(Error::new(
            ErrorKind::InvalidInput,
            format!("{what} must be above 0 and at most a day, in seconds"),
        )),
    }
}

#[pymethods]
impl PyRedisStore {
    /// `RedisStore("redis://localhost:6379/0", prefix="authgate:", timeout=2.0)`;
    /// `rediss://` for TLS, with `ca_cert` (PEM) to trust a private CA. Connects on first
    /// use; `ping()` checks the connection.
    #[new]
    #[pyo3(signature = (url, *, prefix = None, connect_timeout = None, timeout = None, max_idle = None, ca_cert = None))]
    fn new(
        py: Python<'_>,
        url: &str,
        prefix: Option<String>,
        connect_timeout: Option<f64>,
        timeout: Option<f64>,
        max_idle: Option<usize>,
        ca_cert: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        let ca_cert = match ca_cert {
            None => None,
            Some(c) if c.is_instance_of::<PyBytes>() => {
                Some(c.cast::<PyBytes>()?.as_bytes().to_vec())
            }
            Some(c) => Some(c.extract::<String>()?.into_bytes()),
        };
        let inner = guard(py, || {
            let mut config = RedisConfig::new(url);
            if let Some(p) = prefix {
                config.prefix = p;
            }
            config.connect_timeout =
                duration(connect_timeout, config.connect_timeout, "connect_timeout")?;
            config.io_timeout = duration(timeout, config.io_timeout, "timeout")?;
            if let Some(n) = max_idle {
                config.max_idle = n;
            }
            config.ca_cert_pem = ca_cert;
            RedisStore::new(config)
        })?;
        Ok(PyRedisStore {
            inner: Arc::new(inner),
        })
    }

    /// Round-trips a PING; raises `StoreUnavailable` when Redis does not answer.
    fn ping(&self, py: Python<'_>) -> PyResult<()> {
        guard_detached(py, || self.inner.ping())
    }

    #[getter]
    fn prefix(&self) -> &str {
        self.inner.prefix()
    }

    fn __repr__(&self) -> String {
        format!("RedisStore(prefix={:?})", self.inner.prefix())
    }
}

/// Where a binding keeps its state: a `MemoryStore` or a `RedisStore`.
#[derive(FromPyObject)]
pub enum StoreArg<'py> {
    Memory(PyRef<'py, PyMemoryStore>),
    Redis(PyRef<'py, PyRedisStore>),
}

/// Whether the store is across the network, so that async callers (the ASGI middleware)
/// run checks off the event loop.
pub(crate) fn is_remote(store: &Option<StoreArg<'_>>) -> bool {
    matches!(store, Some(StoreArg::Redis(_)))
}

/// A clock that moves only when told to: for tests.
#[pyclass(frozen, name = "ManualClock", module = "authgate")]
pub struct PyManualClock {
    pub(crate) inner: Arc<ManualClock>,
}

#[pymethods]
impl PyManualClock {
    #[new]
    fn new(now: &Bound<'_, PyAny>) -> PyResult<Self> {
        Ok(PyManualClock {
            inner: Arc::new(ManualClock::new(convert::timestamp(now)?)),
        })
    }
    fn now(&self) -> u64 {
        self.inner.now()
    }
    fn set(&self, now: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.set(convert::timestamp(now)?);
        Ok(())
    }
    fn advance(&self, seconds: &Bound<'_, PyAny>) -> PyResult<()> {
        self.inner.advance(convert::seconds(seconds)?);
        Ok(())
    }
    /// Moves the clock by `ms` milliseconds (rate limits count milliseconds).
    fn advance_ms(&self, ms: u64) {
        self.inner.advance_millis(ms);
    }
    fn now_ms(&self) -> u64 {
        self.inner.now_millis()
    }
}

pub(crate) fn store_or_default(store: Option<StoreArg<'_>>) -> Arc<dyn Store> {
    match store {
        Some(StoreArg::Memory(s)) => s.inner.clone(),
        Some(StoreArg::Redis(s)) => s.inner.clone(),
        None => Arc::new(MemoryStore::new()),
    }
}

pub(crate) fn clock_or_system(clock: Option<PyRef<'_, PyManualClock>>) -> Arc<dyn Clock> {
    match clock {
        Some(c) => c.inner.clone(),
        None => Arc::new(SystemClock),
    }
}

/// Access + refresh tokens, as returned by `login` and `refresh`.
#[pyclass(frozen, get_all, name = "TokenPair", module = "authgate")]
pub struct PyTokenPair {
    access_token: String,
    refresh_token: String,
    session_id: String,
    access_expires_at: u64,
    refresh_expires_at: u64,
}

impl From<session::TokenPair> for PyTokenPair {
    fn from(p: session::TokenPair) -> Self {
        PyTokenPair {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            session_id: p.session_id,
            access_expires_at: p.access_expires_at,
            refresh_expires_at: p.refresh_expires_at,
        }
    }
}

#[pymethods]
impl PyTokenPair {
    fn __repr__(&self) -> String {
        format!(
            "TokenPair(session_id={:?}, access_expires_at={})",
            self.session_id, self.access_expires_at
        )
    }
}

/// What `login` returns: the tokens, and whether the device is new for this user.
#[pyclass(frozen, get_all, name = "LoginResult", module = "authgate")]
pub struct PyLoginResult {
    tokens: Py<PyTokenPair>,
    new_device: bool,
}

/// A live session, for a "signed-in devices" page.
#[pyclass(frozen, get_all, name = "SessionInfo", module = "authgate")]
pub struct PySessionInfo {
    session_id: String,
    device_id: String,
    device_name: Option<String>,
    created_at: u64,
    last_used_at: u64,
    expires_at: u64,
}

#[pymethods]
impl PySessionInfo {
    fn __repr__(&self) -> String {
        format!(
            "SessionInfo(device_id={:?}, last_used_at={})",
            self.device_id, self.last_used_at
        )
    }
}

/// Issues, rotates, verifies and revokes sessions.
#[pyclass(frozen, name = "SessionManager", module = "authgate")]
pub struct PySessionManager {
    pub(crate) inner: Arc<SessionManager>,
    pub(crate) remote: bool,
}

#[pymethods]
impl PySessionManager {
    #[new]
    #[pyo3(signature = (keys, *, issuer = None, audience = None, access_ttl = None, idle_timeout = None,
        absolute_lifetime = None, max_sessions_per_user = None, check_session_on_verify = None, leeway = None,
        retry_grace = None, client_id = None, store = None, clock = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        keys: PyRef<'_, PyKeySet>,
        issuer: Option<String>,
        audience: Option<String>,
        access_ttl: Option<&Bound<'_, PyAny>>,
        idle_timeout: Option<&Bound<'_, PyAny>>,
        absolute_lifetime: Option<&Bound<'_, PyAny>>,
        max_sessions_per_user: Option<usize>,
        check_session_on_verify: Option<bool>,
        leeway: Option<&Bound<'_, PyAny>>,
        retry_grace: Option<&Bound<'_, PyAny>>,
        client_id: Option<String>,
        store: Option<StoreArg<'_>>,
        clock: Option<PyRef<'_, PyManualClock>>,
    ) -> PyResult<Self> {
        let d = SessionConfig::default();
        let secs =
            |x: Option<&Bound<'_, PyAny>>, default: u64| x.map_or(Ok(default), convert::seconds);
        let config = SessionConfig {
            issuer,
            audience,
            access_ttl: secs(access_ttl, d.access_ttl)?,
            idle_timeout: secs(idle_timeout, d.idle_timeout)?,
            absolute_lifetime: secs(absolute_lifetime, d.absolute_lifetime)?,
            max_sessions_per_user: max_sessions_per_user.unwrap_or(d.max_sessions_per_user),
            check_session_on_verify: check_session_on_verify.unwrap_or(d.check_session_on_verify),
            leeway: secs(leeway, d.leeway)?,
            retry_grace: secs(retry_grace, d.retry_grace)?,
            client_id: client_id.unwrap_or(d.client_id),
        };
        let remote = is_remote(&store);
        let (store, clock) = (store_or_default(store), clock_or_system(clock));
        let inner = guard(py, || {
            SessionManager::with_clock(keys.inner.clone(), store, config, clock).map(Arc::new)
        })?;
        Ok(PySessionManager { inner, remote })
    }

    /// True when its store is across the network (Redis).
    #[getter]
    fn remote_store(&self) -> bool {
        self.remote
    }

    /// Starts a session; `scope` is space-separated.
    #[pyo3(signature = (user_id, device_id, *, device_name = None, scope = None))]
    fn login(
        &self,
        py: Python<'_>,
        user_id: &str,
        device_id: &str,
        device_name: Option<String>,
        scope: Option<&str>,
    ) -> PyResult<PyLoginResult> {
        let device = DeviceInfo {
            device_id: device_id.to_string(),
            name: device_name,
        };
        let r = guard_detached(py, || self.inner.login(user_id, &device, scope))?;
        Ok(PyLoginResult {
            tokens: Py::new(py, PyTokenPair::from(r.tokens))?,
            new_device: r.new_device,
        })
    }

    /// Rotates a refresh token. Reusing a rotated token raises `RefreshTokenReused`.
    fn refresh(&self, py: Python<'_>, refresh_token: &str) -> PyResult<PyTokenPair> {
        Ok(guard_detached(py, || self.inner.refresh(refresh_token))?.into())
    }

    /// Verifies an access token from this manager; returns its claims.
    fn verify_access<'py>(&self, py: Python<'py>, token: &str) -> PyResult<Bound<'py, PyAny>> {
        let mut sink = DictSink::new(py);
        let verified = guard(py, || self.inner.verify_access_into(token, &mut sink));
        sink.finish(verified)
    }

    fn revoke(&self, py: Python<'_>, session_id: &str) -> PyResult<bool> {
        guard_detached(py, || self.inner.revoke(session_id))
    }

    /// "Log out of all devices"; returns how many sessions ended.
    fn revoke_all(&self, py: Python<'_>, user_id: &str) -> PyResult<usize> {
        guard_detached(py, || self.inner.revoke_all(user_id))
    }

    /// The user's live sessions, most recently used first.
    fn list(&self, py: Python<'_>, user_id: &str) -> PyResult<Vec<PySessionInfo>> {
        let list = guard_detached(py, || self.inner.list(user_id))?;
        Ok(list
            .into_iter()
            .map(|s| PySessionInfo {
                session_id: s.session_id,
                device_id: s.device_id,
                device_name: s.device_name,
                created_at: s.created_at,
                last_used_at: s.last_used_at,
                expires_at: s.expires_at,
            })
            .collect())
    }
}
