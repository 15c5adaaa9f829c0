//! Sessions, the in-memory store and the manual clock.

use std::sync::Arc;
use std::time::Duration;

use authgate_core::clock::{Clock, ManualClock, SystemClock};
use authgate_core::session::{self, DeviceInfo, SessionConfig, SessionManager};
use authgate_core::store::{MemoryStore, RedisConfig, RedisStore, Store};
use napi::bindgen_prelude::AsyncTask;
use napi_derive::napi;

use crate::convert::{opt_seconds, seconds};
use crate::errors::{core, Result};
use crate::jwt::JsKeySet;
use crate::offload::{offload, Offload};

/// A store: the bounded in-memory one (the constructor, the default) or Redis
/// (`NativeStore.redis`). `index.js` shows them as `MemoryStore` and `RedisStore`.
#[napi(js_name = "NativeStore")]
pub struct JsStore {
    pub(crate) inner: Arc<dyn Store>,
    memory: Option<Arc<MemoryStore>>,
    redis: Option<Arc<RedisStore>>,
}

/// How to reach Redis; times in seconds.
#[napi(object)]
#[derive(Default)]
pub struct RedisOptions {
    /// Put before every key (default `authgate:`).
    pub prefix: Option<String>,
    pub connect_timeout: Option<f64>,
    /// For each command's reply (default 2 s).
    pub timeout: Option<f64>,
    /// Idle connections kept for reuse (default 16).
    pub max_idle: Option<u32>,
    /// PEM certificates to trust for `rediss://` instead of the system's roots.
    pub ca_cert: Option<String>,
}

fn duration(value: Option<f64>, default: Duration, what: &str) -> Result<Duration> {
    match value {
        None => Ok(default),
        Some(s) if s.is_finite() && s > 0.0 && s <= 86_400.0 => Ok(Duration::from_secs_f64(s)),
        Some(_) => core(Err(authgate_core::Error::new(
            authgate_core::ErrorKind::InvalidInput,
            format!("{what} must be above 0 and at most a day, in seconds"),
        ))),
    }
}

#[napi]
impl JsStore {
    #[napi(constructor)]
    pub fn new(capacity: Option<u32>) -> Self {
        let memory = Arc::new(
            capacity.map_or_else(MemoryStore::new, |c| MemoryStore::with_capacity(c as usize)),
        );
        JsStore {
            inner: memory.clone(),
            memory: Some(memory),
            redis: None,
        }
    }

    /// A Redis store for `url` (`redis://`, or `rediss://` for TLS); connects on first use.
    #[napi(factory, catch_unwind)]
    pub fn redis(url: String, options: Option<RedisOptions>) -> Result<Self> {
        let o = options.unwrap_or_default();
        let mut config = RedisConfig::new(url);
        if let Some(p) = o.prefix {
            config.prefix = p;
        }
        config.connect_timeout =
            duration(o.connect_timeout, config.connect_timeout, "connectTimeout")?;
        config.io_timeout = duration(o.timeout, config.io_timeout, "timeout")?;
        if let Some(n) = o.max_idle {
            config.max_idle = n as usize;
        }
        config.ca_cert_pem = o.ca_cert.map(String::into_bytes);
        let store = Arc::new(core(RedisStore::new(config))?);
        Ok(JsStore {
            inner: store.clone(),
            memory: None,
            redis: Some(store),
        })
    }

    /// The key prefix of a Redis store; null in memory.
    #[napi(getter)]
    pub fn prefix(&self) -> Option<String> {
        self.redis.as_ref().map(|r| r.prefix().to_string())
    }

    /// Rate-limited keys held in memory (live ones, and refilled ones not yet swept out);
    /// null for Redis.
    #[napi(getter)]
    pub fn rate_limit_keys(&self) -> Option<f64> {
        self.memory.as_ref().map(|m| m.rate_limit_keys() as f64)
    }

    /// New rate-limited keys refused (`CapacityExceeded`) because the store was full of
    /// keys still being limited: a number to watch. Null for Redis.
    #[napi(getter)]
    pub fn rate_limit_refusals(&self) -> Option<f64> {
        self.memory.as_ref().map(|m| m.rate_limit_refusals() as f64)
    }

    /// Round-trips a PING to Redis on the thread pool (resolves at once in memory).
    #[napi(catch_unwind, ts_return_type = "Promise<null | TaskFailure>")]
    pub fn ping(&self) -> AsyncTask<Offload<()>> {
        let redis = self.redis.clone();
        offload(move || match redis {
            Some(r) => core(r.ping()),
            None => Ok(()),
        })
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

pub(crate) fn store_or_default(store: Option<&JsStore>) -> Arc<dyn Store> {
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
    /// Seconds (0–60, default 0) in which the refresh token rotated last may be presented
    /// again (a retry after a lost response) without revoking the session.
    pub retry_grace: Option<f64>,
    /// The access tokens' `client_id` claim (RFC 9068; default `authgate`).
    pub client_id: Option<String>,
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
    pub(crate) inner: Arc<SessionManager>,
}

fn login(
    m: &SessionManager,
    user_id: &str,
    device_id: String,
    options: Option<LoginOptions>,
) -> Result<LoginResult> {
    let o = options.unwrap_or_default();
    let device = DeviceInfo {
        device_id,
        name: o.device_name,
    };
    let r = core(m.login(user_id, &device, o.scope.as_deref()))?;
    Ok(LoginResult {
        tokens: r.tokens.into(),
        new_device: r.new_device,
    })
}

fn list(m: &SessionManager, user_id: &str) -> Result<Vec<SessionInfo>> {
    Ok(core(m.list(user_id))?
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

#[napi]
impl JsSessionManager {
    #[napi(constructor, catch_unwind)]
    pub fn new(
        keys: &JsKeySet,
        options: Option<SessionOptions>,
        store: Option<&JsStore>,
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
            retry_grace: opt_seconds(o.retry_grace, "retryGrace")?.unwrap_or(d.retry_grace),
            client_id: o.client_id.unwrap_or(d.client_id),
        };
        let inner = core(SessionManager::with_clock(
            keys.inner.clone(),
            store_or_default(store),
            config,
            clock_or_system(clock),
        ))?;
        Ok(JsSessionManager {
            inner: Arc::new(inner),
        })
    }

    #[napi(catch_unwind)]
    pub fn login(
        &self,
        user_id: String,
        device_id: String,
        options: Option<LoginOptions>,
    ) -> Result<LoginResult> {
        login(&self.inner, &user_id, device_id, options)
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
        list(&self.inner, &user_id)
    }

    // Promise variants, for a store on the network (Redis).

    #[napi(catch_unwind, ts_return_type = "Promise<LoginResult | TaskFailure>")]
    pub fn login_async(
        &self,
        user_id: String,
        device_id: String,
        options: Option<LoginOptions>,
    ) -> AsyncTask<Offload<LoginResult>> {
        let m = self.inner.clone();
        offload(move || login(&m, &user_id, device_id, options))
    }

    #[napi(catch_unwind, ts_return_type = "Promise<TokenPair | TaskFailure>")]
    pub fn refresh_async(&self, refresh_token: String) -> AsyncTask<Offload<TokenPair>> {
        let m = self.inner.clone();
        offload(move || Ok(core(m.refresh(&refresh_token))?.into()))
    }

    #[napi(catch_unwind, ts_return_type = "Promise<string | TaskFailure>")]
    pub fn verify_access_json_async(&self, token: String) -> AsyncTask<Offload<String>> {
        let m = self.inner.clone();
        offload(move || Ok(core(m.verify_access(&token))?.json().to_string()))
    }

    #[napi(catch_unwind, ts_return_type = "Promise<boolean | TaskFailure>")]
    pub fn revoke_async(&self, session_id: String) -> AsyncTask<Offload<bool>> {
        let m = self.inner.clone();
        offload(move || core(m.revoke(&session_id)))
    }

    #[napi(catch_unwind, ts_return_type = "Promise<number | TaskFailure>")]
    pub fn revoke_all_async(&self, user_id: String) -> AsyncTask<Offload<u32>> {
        let m = self.inner.clone();
        offload(move || Ok(core(m.revoke_all(&user_id))? as u32))
    }

    #[napi(
        catch_unwind,
        ts_return_type = "Promise<Array<SessionInfo> | TaskFailure>"
    )]
    pub fn list_async(&self, user_id: String) -> AsyncTask<Offload<Vec<SessionInfo>>> {
        let m = self.inner.clone();
        offload(move || list(&m, &user_id))
    }
}
