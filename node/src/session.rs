//! Sessions, the in-memory store and the manual clock.

use std::sync::Arc;

use authgate_core::clock::{Clock, ManualClock, SystemClock};
use authgate_core::session::{self, DeviceInfo, SessionConfig, SessionManager};
use authgate_core::store::{MemoryStore, Store};
use napi_derive::napi;

use crate::convert::{opt_seconds, seconds};
use crate::errors::{core, Result};
use crate::jwt::JsKeySet;

/// The bounded, thread-safe in-memory store (the default).
#[napi(js_name = "MemoryStore")]
pub struct JsMemoryStore {
    pub(crate) inner: Arc<MemoryStore>,
}

#[napi]
impl JsMemoryStore {
    #[napi(constructor)]
    pub fn new(capacity: Option<u32>) -> Self {
        let inner =
            capacity.map_or_else(MemoryStore::new, |c| MemoryStore::with_capacity(c as usize));
        JsMemoryStore {
            inner: Arc::new(inner),
        }
    }
}

/// A clock that moves only when told to: for tests.
#[napi(js_name = "ManualClock")]
pub struct JsManualClock {
    pub(crate) inner: Arc<ManualClock>,
}

#[napi]
impl JsManualClock {
    #[napi(constructor, catch_unwind)]
    pub fn new(now: f64) -> Result<Self> {
        Ok(JsManualClock {
            inner: Arc::new(ManualClock::new(seconds(now, "now")?)),
        })
    }
    #[napi]
    pub fn now(&self) -> i64 {
        self.inner.now() as i64
    }
    #[napi(catch_unwind)]
    pub fn set(&self, now: f64) -> Result<()> {
        self.inner.set(seconds(now, "now")?);
        Ok(())
    }
    #[napi(catch_unwind)]
    pub fn advance(&self, by: f64) -> Result<()> {
        self.inner.advance(seconds(by, "seconds")?);
        Ok(())
    }
    /// Moves the clock by `ms` milliseconds (rate limits count milliseconds).
    #[napi(catch_unwind)]
    pub fn advance_ms(&self, ms: f64) -> Result<()> {
        self.inner.advance_millis(seconds(ms, "ms")?);
        Ok(())
    }
    #[napi]
    pub fn now_ms(&self) -> f64 {
        self.inner.now_millis() as f64
    }
}

pub(crate) fn store_or_default(store: Option<&JsMemoryStore>) -> Arc<dyn Store> {
    match store {
        Some(s) => s.inner.clone(),
        None => Arc::new(MemoryStore::new()),
    }
}

pub(crate) fn clock_or_system(clock: Option<&JsManualClock>) -> Arc<dyn Clock> {
    match clock {
        Some(c) => c.inner.clone(),
        None => Arc::new(SystemClock),
    }
}

#[napi(object)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
    pub access_expires_at: i64,
    pub refresh_expires_at: i64,
}

impl From<session::TokenPair> for TokenPair {
    fn from(p: session::TokenPair) -> Self {
        TokenPair {
            access_token: p.access_token,
            refresh_token: p.refresh_token,
            session_id: p.session_id,
            access_expires_at: p.access_expires_at as i64,
            refresh_expires_at: p.refresh_expires_at as i64,
        }
    }
}

#[napi(object)]
pub struct LoginResult {
    pub tokens: TokenPair,
    pub new_device: bool,
}

#[napi(object)]
pub struct SessionInfo {
    pub session_id: String,
    pub device_id: String,
    pub device_name: Option<String>,
    pub created_at: i64,
    pub last_used_at: i64,
    pub expires_at: i64,
}

/// Session options; unset fields take the core's defaults. Durations are seconds.
#[napi(object)]
#[derive(Default)]
pub struct SessionOptions {
    pub issuer: Option<String>,
    pub audience: Option<String>,
    pub access_ttl: Option<f64>,
    pub idle_timeout: Option<f64>,
    pub absolute_lifetime: Option<f64>,
    pub max_sessions_per_user: Option<u32>,
    pub check_session_on_verify: Option<bool>,
    pub leeway: Option<f64>,
}

#[napi(object)]
#[derive(Default)]
pub struct LoginOptions {
    pub device_name: Option<String>,
    pub scope: Option<String>,
}

/// Issues, rotates, verifies and revokes sessions.
#[napi(js_name = "SessionManager")]
pub struct JsSessionManager {
    inner: SessionManager,
}

#[napi]
impl JsSessionManager {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        keys: &JsKeySet,
        options: Option<SessionOptions>,
        store: Option<&JsMemoryStore>,
        clock: Option<&JsManualClock>,
    ) -> Result<Self> {
        let o = options.unwrap_or_default();
        let d = SessionConfig::default();
        let config = SessionConfig {
            issuer: o.issuer,
            audience: o.audience,
            access_ttl: opt_seconds(o.access_ttl, "accessTtl")?.unwrap_or(d.access_ttl),
            idle_timeout: opt_seconds(o.idle_timeout, "idleTimeout")?.unwrap_or(d.idle_timeout),
            absolute_lifetime: opt_seconds(o.absolute_lifetime, "absoluteLifetime")?
                .unwrap_or(d.absolute_lifetime),
            max_sessions_per_user: o
                .max_sessions_per_user
                .map_or(d.max_sessions_per_user, |n| n as usize),
            check_session_on_verify: o
                .check_session_on_verify
                .unwrap_or(d.check_session_on_verify),
            leeway: opt_seconds(o.leeway, "leeway")?.unwrap_or(d.leeway),
        };
        let inner = core(SessionManager::with_clock(
            keys.inner.clone(),
            store_or_default(store),
            config,
            clock_or_system(clock),
        ))?;
        Ok(JsSessionManager { inner })
    }

    #[napi(catch_unwind)]
    pub fn login(
        &self,
        user_id: String,
        device_id: String,
        options: Option<LoginOptions>,
    ) -> Result<LoginResult> {
        let o = options.unwrap_or_default();
        let device = DeviceInfo {
            device_id,
            name: o.device_name,
        };
        let r = core(self.inner.login(&user_id, &device, o.scope.as_deref()))?;
        Ok(LoginResult {
            tokens: r.tokens.into(),
            new_device: r.new_device,
        })
    }

    #[napi(catch_unwind)]
    pub fn refresh(&self, refresh_token: String) -> Result<TokenPair> {
        Ok(core(self.inner.refresh(&refresh_token))?.into())
    }

    /// Verifies an access token; returns its claims as JSON text (parsed by `index.js`).
    #[napi(catch_unwind)]
    pub fn verify_access_json(&self, token: String) -> Result<String> {
        Ok(core(self.inner.verify_access(&token))?.json().to_string())
    }

    #[napi(catch_unwind)]
    pub fn revoke(&self, session_id: String) -> Result<bool> {
        core(self.inner.revoke(&session_id))
    }

    #[napi(catch_unwind)]
    pub fn revoke_all(&self, user_id: String) -> Result<u32> {
        Ok(core(self.inner.revoke_all(&user_id))? as u32)
    }

    #[napi(catch_unwind)]
    pub fn list(&self, user_id: String) -> Result<Vec<SessionInfo>> {
        Ok(core(self.inner.list(&user_id))?
            .into_iter()
            .map(|s| SessionInfo {
                session_id: s.session_id,
                device_id: s.device_id,
                device_name: s.device_name,
                created_at: s.created_at as i64,
                last_used_at: s.last_used_at as i64,
                expires_at: s.expires_at as i64,
            })
            .collect())
    }
}
