//! Sessions, the in-memory store and the manual clock.

use std::sync::Arc;

use authgate_core::clock::{Clock, ManualClock, SystemClock};
use authgate_core::session::{self, DeviceInfo, SessionConfig, SessionManager};
use authgate_core::store::{MemoryStore, Store};
use pyo3::prelude::*;

use crate::convert::{self, DictSink};
use crate::errors::guard;
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

pub(crate) fn store_or_default(store: Option<PyRef<'_, PyMemoryStore>>) -> Arc<dyn Store> {
    match store {
        Some(s) => s.inner.clone(),
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
    inner: SessionManager,
}

#[pymethods]
impl PySessionManager {
    #[new]
    #[pyo3(signature = (keys, *, issuer = None, audience = None, access_ttl = None, idle_timeout = None,
        absolute_lifetime = None, max_sessions_per_user = None, check_session_on_verify = None, leeway = None,
        store = None, clock = None))]
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
        store: Option<PyRef<'_, PyMemoryStore>>,
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
        };
        let (store, clock) = (store_or_default(store), clock_or_system(clock));
        let inner = guard(py, || {
            SessionManager::with_clock(keys.inner.clone(), store, config, clock)
        })?;
        Ok(PySessionManager { inner })
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
        let r = guard(py, || self.inner.login(user_id, &device, scope))?;
        Ok(PyLoginResult {
            tokens: Py::new(py, PyTokenPair::from(r.tokens))?,
            new_device: r.new_device,
        })
    }

    /// Rotates a refresh token. Reusing a rotated token raises `RefreshTokenReused`.
    fn refresh(&self, py: Python<'_>, refresh_token: &str) -> PyResult<PyTokenPair> {
        Ok(guard(py, || self.inner.refresh(refresh_token))?.into())
    }

    /// Verifies an access token from this manager; returns its claims.
    fn verify_access<'py>(&self, py: Python<'py>, token: &str) -> PyResult<Bound<'py, PyAny>> {
        let mut sink = DictSink::new(py);
        let verified = guard(py, || self.inner.verify_access_into(token, &mut sink));
        sink.finish(verified)
    }

    fn revoke(&self, py: Python<'_>, session_id: &str) -> PyResult<bool> {
        guard(py, || self.inner.revoke(session_id))
    }

    /// "Log out of all devices"; returns how many sessions ended.
    fn revoke_all(&self, py: Python<'_>, user_id: &str) -> PyResult<usize> {
        guard(py, || self.inner.revoke_all(user_id))
    }

    /// The user's live sessions, most recently used first.
    fn list(&self, py: Python<'_>, user_id: &str) -> PyResult<Vec<PySessionInfo>> {
        let list = guard(py, || self.inner.list(user_id))?;
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
