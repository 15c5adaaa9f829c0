//! [`RedisStore`]: the [`Store`] shared by many processes. Every operation is one Lua
//! script or one command, so it is atomic in Redis however many servers race on a key.
//! Times are compared with the caller's clock (passed in), as in [`MemoryStore`], and
//! every entry carries a TTL so nothing outlives its use.
//!
//! Failures: a Redis that cannot be reached, answers too late or refuses a command gives
//! [`ErrorKind::StoreUnavailable`] — never a hang (connect and I/O timeouts), never a
//! secret in the message (the URL, which may hold a password, is never repeated).
//!
//! [`MemoryStore`]: super::MemoryStore

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use redis::{Client, Connection, FromRedisValue, RedisError, Script, ScriptInvocation, Value};

use super::{
    nonce_key, AttemptGate, ChallengeAttempt, ChallengeIssue, ChallengeRecord, LockoutGate,
    RollOutcome, Rotation, SessionRecord, Store, ThrottlePolicy, MAX_GRACE_RETRIES,
    REMEMBERED_DEVICES, REMEMBERED_ROTATIONS,
};
use crate::apikey::{ApiKeyRecord, ApiKeyStatus};
use crate::error::{err, Error, ErrorKind, Result};
use crate::ratelimit::{Gcra, RateState};

/// How to reach Redis and how long to keep what has no expiry of its own.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://[user:password@]host[:port][/db]`, or `rediss://` for TLS.
    pub url: String,
    /// Put before every key, so several applications can share one Redis.
    pub prefix: String,
    pub connect_timeout: Duration,
    /// For each command's reply.
    pub io_timeout: Duration,
    /// Idle connections kept for reuse.
    pub max_idle: usize,
    /// PEM certificates to trust for `rediss://` instead of the system's roots.
    pub ca_cert_pem: Option<Vec<u8>>,
    /// How long a session is kept after it expires, so a late refresh gets
    /// `session_expired` rather than `invalid_refresh_token`.
    pub session_retention: Duration,
    /// How long the devices a user signed in from are remembered after the last sign-in.
    pub device_retention: Duration,
}

impl RedisConfig {
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            prefix: "authgate:".to_string(),
            connect_timeout: Duration::from_secs(2),
            io_timeout: Duration::from_secs(2),
            max_idle: 16,
            ca_cert_pem: None,
            session_retention: Duration::from_secs(7 * 86_400),
            device_retention: Duration::from_secs(180 * 86_400),
        }
    }
}

/// The longest TTL set, ten years: bounds what absurd expiry times could ask for.
const MAX_TTL_MS: u64 = 10 * 365 * 86_400 * 1000;
const NANOS: u64 = 1_000_000_000;

/// A TTL in milliseconds from `now` to `until` (seconds), at least 1 ms.
fn ttl_ms(until: u64, now: u64) -> u64 {
    until
        .saturating_sub(now)
        .saturating_mul(1000)
        .clamp(1, MAX_TTL_MS)
}

macro_rules! scripts {
    ($($name:ident = $($file:literal),+;)+) => {
        struct Scripts {
            $($name: Script,)+
        }
        impl Scripts {
            fn load() -> Self {
                Scripts {
                    $($name: Script::new(concat!($(include_str!(concat!("redis_scripts/", $file)), "\n"),+)),)+
                }
            }
        }
    };
}

scripts! {
    rate_limit = "rate_limit.lua";
    nonce = "nonce.lua";
    otp_step = "otp_step.lua";
    attempt_begin = "attempt_begin.lua";
    lockout_begin = "lockout_begin.lua";
    pending_put = "pending_put.lua";
    challenge_issue = "challenge_issue.lua";
    challenge_attempt = "ct_eq.lua", "challenge_attempt.lua";
    recovery_replace = "recovery_replace.lua";
    recovery_consume = "ct_eq.lua", "recovery_consume.lua";
    session_insert = "sessions.lua", "session_insert.lua";
    session_rotate = "sessions.lua", "session_rotate.lua";
    session_revoke_all = "sessions.lua", "session_revoke_all.lua";
    session_list = "sessions.lua", "session_list.lua";
    device_seen = "device_seen.lua";
    set_if_exists = "set_if_exists.lua";
    apikey_insert = "apikey_insert.lua";
    apikey_take_credit = "apikey_take_credit.lua";
    apikey_roll = "apikey_roll.lua";
}

/// The Redis backend. Cheap to share behind an `Arc`; connections are pooled.
pub struct RedisStore {
    client: Client,
    config: RedisConfig,
    idle: Mutex<Vec<Connection>>,
    scripts: Scripts,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the URL: it may hold a password.
        f.debug_struct("RedisStore")
            .field("prefix", &self.config.prefix)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: &RedisError) -> Error {
    let what = if e.is_timeout() {
        "Redis did not answer in time".to_string()
    } else if e.is_connection_refusal() {
        "Redis refused the connection".to_string()
    } else if is_tls_failure(e) {
        "the TLS handshake with Redis failed: is its certificate trusted (ca_cert)?".to_string()
    } else if e.is_io_error() || e.is_connection_dropped() {
        "the connection to Redis failed".to_string()
    } else if let Some(code) = e.code() {
        // A server error code (NOAUTH, WRONGPASS, OOM, READONLY, …), never its text.
        format!("Redis answered {code}")
    } else {
        format!("Redis failed ({:?})", e.kind())
    };
    Error::new(ErrorKind::StoreUnavailable, what)
}

/// Whether a failure came from TLS (an untrusted or mismatched certificate): told apart by
/// the error's text, which is itself never shown (it may name the host).
fn is_tls_failure(e: &RedisError) -> bool {
    let text = e.to_string().to_ascii_lowercase();
    ["certificate", "handshake", "tls"]
        .iter()
        .any(|w| text.contains(w))
}

fn lock(m: &Mutex<Vec<Connection>>) -> MutexGuard<'_, Vec<Connection>> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Reads a reply the scripts are written to give; anything else is Redis misbehaving.
fn parse<T: FromRedisValue>(v: Value) -> Result<T> {
    T::from_redis_value(v).or_else(|_| {
        err(
            ErrorKind::StoreUnavailable,
            "Redis gave an unexpected answer",
        )
    })
}

fn malformed<T>(what: &str) -> Result<T> {
    err(
        ErrorKind::StoreUnavailable,
        format!("a {what} stored in Redis is malformed"),
    )
}

impl RedisStore {
    /// Checks the URL; connects on first use, so a Redis that is down at start-up gives
    /// errors until it is up rather than stopping the application.
    pub fn new(config: RedisConfig) -> Result<Self> {
        let client = match &config.ca_cert_pem {
            Some(pem) => Client::build_with_tls(
                config.url.as_str(),
                redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(pem.clone()),
                },
            ),
            None => Client::open(config.url.as_str()),
        };
        let client = client.or_else(|e| {
            err(
                ErrorKind::InvalidInput,
                format!(
                    "the Redis URL is not valid ({:?}); expected redis://host:port or rediss://",
                    e.kind()
                ),
            )
        })?;
        if config.connect_timeout.is_zero() || config.io_timeout.is_zero() {
            return err(ErrorKind::InvalidInput, "Redis timeouts must be above zero");
        }
        Ok(RedisStore {
            client,
            config,
            idle: Mutex::new(Vec::new()),
            scripts: Scripts::load(),
        })
    }

    /// Connects to `url` with the defaults of [`RedisConfig::new`].
    pub fn open(url: &str) -> Result<Self> {
        RedisStore::new(RedisConfig::new(url))
    }

    pub fn prefix(&self) -> &str {
        &self.config.prefix
    }

    /// Round-trips a PING: `Ok` when Redis answers.
    pub fn ping(&self) -> Result<()> {
        self.with(|c| redis::cmd("PING").query::<String>(c).map(drop))
    }

    fn connect(&self) -> std::result::Result<Connection, RedisError> {
        let con = self
            .client
            .get_connection_with_timeout(self.config.connect_timeout)?;
        con.set_read_timeout(Some(self.config.io_timeout))?;
        con.set_write_timeout(Some(self.config.io_timeout))?;
        Ok(con)
    }

    /// Runs `f` on a pooled connection. A connection that failed is dropped with every
    /// idle one (after a restart they are all dead); nothing is retried, since a script
    /// may have run before its reply was lost.
    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> std::result::Result<T, RedisError>,
    ) -> Result<T> {
        let pooled = lock(&self.idle).pop();
        let mut con = match pooled {
            Some(c) => c,
            None => self.connect().map_err(|e| unavailable(&e))?,
        };
        match f(&mut con) {
            Ok(v) => {
                let mut idle = lock(&self.idle);
                if idle.len() < self.config.max_idle {
                    idle.push(con);
                }
                Ok(v)
            }
            Err(e) => {
                if e.is_io_error() || e.is_connection_dropped() || e.is_timeout() {
                    lock(&self.idle).clear();
                } else if lock(&self.idle).len() < self.config.max_idle {
                    lock(&self.idle).push(con);
                }
                Err(unavailable(&e))
            }
        }
    }

    fn run(&self, invocation: &ScriptInvocation<'_>) -> Result<Value> {
        self.with(|c| invocation.invoke::<Value>(c))
    }

    fn key(&self, kind: &str, name: &str) -> String {
        let mut k = String::with_capacity(self.config.prefix.len() + kind.len() + name.len());
        k.push_str(&self.config.prefix);
        k.push_str(kind);
        k.push_str(name);
        k
    }

    fn session_ttl_ms(&self, expires_at: u64, now: u64) -> u64 {
        let retention = self.config.session_retention.as_millis() as u64;
        ttl_ms(expires_at, now)
            .saturating_add(retention)
            .min(MAX_TTL_MS)
    }
}

fn split_ns(ns: u64) -> (u64, u64) {
    (ns / NANOS, ns % NANOS)
}

fn join_ns(s: u64, n: u64) -> u64 {
    s.saturating_mul(NANOS).saturating_add(n)
}

fn opt_field(out: &mut Vec<Vec<u8>>, name: &str, value: Option<&str>) {
    if let Some(v) = value {
        out.push(name.as_bytes().to_vec());
        out.push(v.as_bytes().to_vec());
    }
}

fn field(out: &mut Vec<Vec<u8>>, name: &str, value: impl AsRef<[u8]>) {
    out.push(name.as_bytes().to_vec());
    out.push(value.as_ref().to_vec());
}

fn session_fields(s: &SessionRecord) -> Vec<Vec<u8>> {
    let mut f = Vec::with_capacity(22);
    field(&mut f, "u", &s.user_id);
    field(&mut f, "d", &s.device_id);
    opt_field(&mut f, "dn", s.device_name.as_deref());
    opt_field(&mut f, "sc", s.scope.as_deref());
    field(&mut f, "ca", s.created_at.to_string());
    field(&mut f, "lu", s.last_used_at.to_string());
    field(&mut f, "e", s.expires_at.to_string());
    field(&mut f, "ae", s.absolute_expires_at.to_string());
    field(&mut f, "h", s.refresh_hash);
    field(&mut f, "r", if s.revoked { "1" } else { "0" });
    f
}

/// A hash's fields as text and bytes.
struct Fields(HashMap<String, Vec<u8>>);

impl Fields {
    fn from_value(v: Value) -> Result<Self> {
        let map: HashMap<String, Vec<u8>> = parse(v)?;
        Ok(Fields(map))
    }
    fn text(&self, name: &str, what: &str) -> Result<String> {
        match self.0.get(name).map(|b| String::from_utf8(b.clone())) {
            Some(Ok(s)) => Ok(s),
            _ => malformed(what),
        }
    }
    fn opt_text(&self, name: &str, what: &str) -> Result<Option<String>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(_) => self.text(name, what).map(Some),
        }
    }
    fn num(&self, name: &str, what: &str) -> Result<u64> {
        self.text(name, what)?.parse().or_else(|_| malformed(what))
    }
    fn opt_num(&self, name: &str, what: &str) -> Result<Option<u64>> {
        match self.0.get(name) {
            None => Ok(None),
            Some(_) => self.num(name, what).map(Some),
        }
    }
    fn hash(&self, name: &str, what: &str) -> Result<[u8; 32]> {
        match self.0.get(name).map(|b| <[u8; 32]>::try_from(b.as_slice())) {
            Some(Ok(h)) => Ok(h),
            _ => malformed(what),
        }
    }
}

fn session_from(v: Value) -> Result<SessionRecord> {
    let f = Fields::from_value(v)?;
    const W: &str = "session";
    Ok(SessionRecord {
        id: f.text("id", W)?,
        user_id: f.text("u", W)?,
        device_id: f.text("d", W)?,
        device_name: f.opt_text("dn", W)?,
        scope: f.opt_text("sc", W)?,
        created_at: f.num("ca", W)?,
        last_used_at: f.num("lu", W)?,
        expires_at: f.num("e", W)?,
        absolute_expires_at: f.num("ae", W)?,
        refresh_hash: f.hash("h", W)?,
        revoked: f.text("r", W)? == "1",
    })
}

fn apikey_fields(r: &ApiKeyRecord) -> Result<Vec<Vec<u8>>> {
    let mut f = Vec::with_capacity(26);
    field(&mut f, "id", &r.id);
    field(&mut f, "p", &r.prefix);
    field(&mut f, "l", &r.last_four);
    field(&mut f, "h", r.hash);
    opt_field(&mut f, "n", r.name.as_deref());
    let scopes = serde_json::to_string(&r.scopes)
        .or_else(|_| err(ErrorKind::Internal, "scopes could not be encoded"))?;
    field(&mut f, "sc", scopes);
    field(&mut f, "ca", r.created_at.to_string());
    opt_field(&mut f, "x", r.expires_at.map(|x| x.to_string()).as_deref());
    field(&mut f, "st", r.status.name());
    opt_field(&mut f, "c", r.credits.map(|x| x.to_string()).as_deref());
    opt_field(&mut f, "rp", r.rate_limit_policy.as_deref());
    opt_field(&mut f, "rb", r.replaced_by.as_deref());
    opt_field(&mut f, "g", r.grace_until.map(|x| x.to_string()).as_deref());
    opt_field(&mut f, "ap", r.app.as_deref());
    opt_field(&mut f, "o", r.owner.as_deref());
    if !r.metadata.is_empty() {
        let metadata = serde_json::to_string(&r.metadata)
            .or_else(|_| err(ErrorKind::Internal, "metadata could not be encoded"))?;
        field(&mut f, "md", metadata);
    }
    opt_field(
        &mut f,
        "lu",
        r.last_used_at.map(|x| x.to_string()).as_deref(),
    );
    if let Some(public) = r.client_token_key {
        field(&mut f, "ct", public);
    }
    Ok(f)
}

fn apikey_from(f: &Fields) -> Result<ApiKeyRecord> {
    const W: &str = "API key";
    let status = match f.text("st", W)?.as_str() {
        "active" => ApiKeyStatus::Active,
        "disabled" => ApiKeyStatus::Disabled,
        "revoked" => ApiKeyStatus::Revoked,
        _ => return malformed(W),
    };
    let scopes: Vec<String> = serde_json::from_str(&f.text("sc", W)?).or_else(|_| malformed(W))?;
    Ok(ApiKeyRecord {
        id: f.text("id", W)?,
        prefix: f.text("p", W)?,
        last_four: f.text("l", W)?,
        hash: f.hash("h", W)?,
        name: f.opt_text("n", W)?,
        scopes,
        created_at: f.num("ca", W)?,
        expires_at: f.opt_num("x", W)?,
        status,
        credits: f.opt_num("c", W)?,
        rate_limit_policy: f.opt_text("rp", W)?,
        replaced_by: f.opt_text("rb", W)?,
        grace_until: f.opt_num("g", W)?,
        app: f.opt_text("ap", W)?,
        owner: f.opt_text("o", W)?,
        metadata: match f.opt_text("md", W)? {
            Some(text) => serde_json::from_str(&text).or_else(|_| malformed(W))?,
            None => serde_json::Map::new(),
        },
        last_used_at: f.opt_num("lu", W)?,
        client_token_key: match f.0.contains_key("ct") {
            true => Some(f.hash("ct", W)?),
            false => None,
        },
    })
}

/// Splits a script's `{code, a, b, …}` answer.
fn reply(v: Value) -> Result<Vec<Value>> {
    parse(v)
}

fn int(v: &Value) -> Result<u64> {
    match v {
        Value::Int(n) => Ok((*n).max(0) as u64),
        _ => err(
            ErrorKind::StoreUnavailable,
            "Redis gave an unexpected answer",
        ),
    }
}

impl Store for RedisStore {
    fn rate_limit(&self, key: &str, cost: u64, gcra: &Gcra, now_ns: u64) -> Result<RateState> {
        let (now_s, now_n) = split_ns(now_ns);
        let (step_s, step_n) = split_ns(cost.saturating_mul(gcra.interval_ns));
        let (cap_s, cap_n) = split_ns(gcra.capacity_ns);
        let r = reply(
            self.run(
                self.scripts
                    .rate_limit
                    .key(self.key("rl:", key))
                    .arg(now_s)
                    .arg(now_n)
                    .arg(step_s)
                    .arg(step_n)
                    .arg(cap_s)
                    .arg(cap_n)
                    .arg(cost),
            )?,
        )?;
        match r.as_slice() {
            [allowed, s, n] => Ok(RateState {
                allowed: int(allowed)? == 1,
                full_at_ns: join_ns(int(s)?, int(n)?),
            }),
            _ => malformed("rate-limit answer"),
        }
    }

    fn session_insert(&self, session: SessionRecord, max_per_user: usize, now: u64) -> Result<()> {
        let ttl = self.session_ttl_ms(session.expires_at, now);
        let mut inv = self.scripts.session_insert.prepare_invoke();
        inv.arg(&self.config.prefix)
            .arg(&session.id)
            .arg(&session.user_id)
            .arg(max_per_user)
            .arg(ttl);
        for f in session_fields(&session) {
            inv.arg(f);
        }
        self.run(&inv).map(drop)
    }

    fn session_rotate(
        &self,
        presented: &[u8; 32],
        replacement: [u8; 32],
        now: u64,
        idle_until: u64,
        grace: u64,
    ) -> Result<Rotation> {
        // The TTL follows the new expiry: the earlier of idle timeout and absolute end,
        // which only the script knows; keeping to the idle one is at most that long.
        let ttl = self.session_ttl_ms(idle_until, now);
        let r = reply(
            self.run(
                self.scripts
                    .session_rotate
                    .prepare_invoke()
                    .arg(&self.config.prefix)
                    .arg(&presented[..])
                    .arg(&replacement[..])
                    .arg(now)
                    .arg(idle_until)
                    .arg(REMEMBERED_ROTATIONS)
                    .arg(ttl)
                    .arg(grace)
                    .arg(MAX_GRACE_RETRIES),
            )?,
        )?;
        let mut it = r.into_iter();
        let code = it.next().as_ref().map(int).transpose()?;
        let expired_at = it.next().as_ref().map(int).transpose()?;
        let record = it.next().map(session_from).transpose()?;
        Ok(match (code, expired_at, record) {
            (Some(0), _, _) => Rotation::Unknown,
            (Some(1), Some(expired_at), Some(record)) => Rotation::Rotated { record, expired_at },
            (Some(2), _, Some(record)) => Rotation::Reused(record),
            (Some(3), _, Some(record)) => Rotation::Revoked(record),
            (Some(4), Some(expired_at), Some(record)) => Rotation::Retried { record, expired_at },
            (Some(5), _, Some(record)) => Rotation::RetriesExhausted(record),
            _ => return malformed("rotation answer"),
        })
    }

    fn session_get(&self, id: &str) -> Result<Option<SessionRecord>> {
        let key = self.key("s:", id);
        let v: Value = self.with(|c| redis::cmd("HGETALL").arg(&key).query(c))?;
        let mut fields: HashMap<String, Vec<u8>> = parse(v)?;
        if fields.is_empty() {
            return Ok(None);
        }
        fields.insert("id".into(), id.as_bytes().to_vec());
        let v = Value::Map(
            fields
                .into_iter()
                .map(|(k, v)| (Value::BulkString(k.into_bytes()), Value::BulkString(v)))
                .collect(),
        );
        session_from(v).map(Some)
    }

    fn session_revoke(&self, id: &str) -> Result<bool> {
        let v = self.run(
            self.scripts
                .set_if_exists
                .key(self.key("s:", id))
                .arg("r")
                .arg("1"),
        )?;
        Ok(int(&v)? == 1)
    }

    fn session_revoke_all(&self, user_id: &str) -> Result<usize> {
        let v = self.run(
            self.scripts
                .session_revoke_all
                .prepare_invoke()
                .arg(&self.config.prefix)
                .arg(user_id),
        )?;
        Ok(int(&v)? as usize)
    }

    fn session_list(&self, user_id: &str, now: u64) -> Result<Vec<SessionRecord>> {
        let v = self.run(
            self.scripts
                .session_list
                .prepare_invoke()
                .arg(&self.config.prefix)
                .arg(user_id),
        )?;
        let mut list = Vec::new();
        for r in reply(v)? {
            let record = session_from(r)?;
            if !record.revoked && record.expires_at > now {
                list.push(record);
            }
        }
        list.sort_by_key(|r| std::cmp::Reverse(r.last_used_at));
        Ok(list)
    }

    fn device_seen(&self, user_id: &str, device_id: &str) -> Result<bool> {
        let v = self.run(
            self.scripts
                .device_seen
                .key(self.key("sd:", user_id))
                .arg(device_id)
                .arg(REMEMBERED_DEVICES)
                .arg(self.config.device_retention.as_millis() as u64),
        )?;
        Ok(int(&v)? == 1)
    }

    fn apikey_insert(&self, record: ApiKeyRecord) -> Result<()> {
        let mut inv = self.scripts.apikey_insert.prepare_invoke();
        inv.key(self.key("k:", &record.id))
            .key(self.key("keys", ""))
            .arg(&record.id);
        for f in apikey_fields(&record)? {
            inv.arg(f);
        }
        if int(&self.run(&inv)?)? == 0 {
            return err(ErrorKind::InvalidInput, "an API key with this id exists");
        }
        Ok(())
    }

    fn apikey_get(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        let key = self.key("k:", id);
        let v: Value = self.with(|c| redis::cmd("HGETALL").arg(&key).query(c))?;
        let f = Fields::from_value(v)?;
        if f.0.is_empty() {
            return Ok(None);
        }
        apikey_from(&f).map(Some)
    }

    fn apikey_list(&self) -> Result<Vec<ApiKeyRecord>> {
        let index = self.key("keys", "");
        let ids: Vec<String> = self.with(|c| redis::cmd("SMEMBERS").arg(&index).query(c))?;
        let mut pipe = redis::pipe();
        for id in &ids {
            pipe.cmd("HGETALL").arg(self.key("k:", id));
        }
        let values: Vec<Value> = self.with(|c| pipe.query(c))?;
        let mut list = Vec::with_capacity(values.len());
        for v in values {
            let f = Fields::from_value(v)?;
            if !f.0.is_empty() {
                list.push(apikey_from(&f)?);
            }
        }
        list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(list)
    }

    fn apikey_set_status(&self, id: &str, status: ApiKeyStatus) -> Result<bool> {
        let v = self.run(
            self.scripts
                .set_if_exists
                .key(self.key("k:", id))
                .arg("st")
                .arg(status.name()),
        )?;
        Ok(int(&v)? == 1)
    }

    fn apikey_roll(
        &self,
        id: &str,
        replacement: ApiKeyRecord,
        grace_until: u64,
        now: u64,
    ) -> Result<RollOutcome> {
        let mut inv = self.scripts.apikey_roll.prepare_invoke();
        inv.key(self.key("k:", id))
            .key(self.key("k:", &replacement.id))
            .key(self.key("keys", ""))
            .arg(&replacement.id)
            .arg(grace_until)
            .arg(now);
        for f in apikey_fields(&replacement)? {
            inv.arg(f);
        }
        Ok(match int(&self.run(&inv)?)? {
            0 => RollOutcome::NotFound,
            1 => {
                let stored = self.apikey_get(&replacement.id)?;
                RollOutcome::Rolled(Box::new(stored.unwrap_or(replacement)))
            }
            2 => RollOutcome::Revoked,
            3 => RollOutcome::Disabled,
            4 => RollOutcome::Expired,
            5 => RollOutcome::AlreadyRolled,
            _ => return err(ErrorKind::InvalidInput, "an API key with this id exists"),
        })
    }

    fn apikey_take_credit(&self, id: &str, now: u64) -> Result<bool> {
        let v = self.run(
            self.scripts
                .apikey_take_credit
                .key(self.key("k:", id))
                .arg(self.key("k:", ""))
                .arg(now)
                .arg(crate::apikey::MAX_ROLL_CHAIN),
        )?;
        Ok(int(&v)? == 1)
    }

    fn apikey_touch(&self, id: &str, now: u64) -> Result<()> {
        self.run(
            self.scripts
                .set_if_exists
                .key(self.key("k:", id))
                .arg("lu")
                .arg(now),
        )
        .map(drop)
    }

    fn apikey_delete(&self, id: &str) -> Result<bool> {
        let (record, index) = (self.key("k:", id), self.key("keys", ""));
        let (deleted, _): (u64, u64) = self.with(|c| {
            redis::pipe()
                .atomic()
                .cmd("DEL")
                .arg(&record)
                .cmd("SREM")
                .arg(&index)
                .arg(id)
                .query(c)
        })?;
        Ok(deleted == 1)
    }

    fn nonce_insert(&self, scope: &str, nonce: &str, expires_at: u64, now: u64) -> Result<bool> {
        let key = self.key("n:", &hex(&nonce_key(scope, nonce)));
        let v = self.run(
            self.scripts
                .nonce
                .key(key)
                .arg(now)
                .arg(expires_at)
                .arg(ttl_ms(expires_at, now)),
        )?;
        Ok(int(&v)? == 1)
    }

    fn otp_step_advance(&self, key: &str, step: u64, expires_at: u64, now: u64) -> Result<bool> {
        let v = self.run(
            self.scripts
                .otp_step
                .key(self.key("ot:", key))
                .arg(step)
                .arg(expires_at)
                .arg(now)
                .arg(ttl_ms(expires_at, now)),
        )?;
        Ok(int(&v)? == 1)
    }

    fn attempt_begin(&self, key: &str, now: u64, policy: &ThrottlePolicy) -> Result<AttemptGate> {
        let r = reply(
            self.run(
                self.scripts
                    .attempt_begin
                    .key(self.key("at:", key))
                    .arg(now)
                    .arg(policy.free_failures)
                    .arg(policy.base_delay)
                    .arg(policy.max_delay)
                    .arg(policy.forget_after),
            )?,
        )?;
        match r.as_slice() {
            [code, n] if int(code)? == 1 => Ok(AttemptGate::Allowed {
                failures: int(n)?.min(u64::from(u32::MAX)) as u32,
            }),
            [_, until] => Ok(AttemptGate::Locked { until: int(until)? }),
            _ => malformed("attempt answer"),
        }
    }

    fn attempts_clear(&self, key: &str) -> Result<()> {
        let key = self.key("at:", key);
        self.with(|c| redis::cmd("DEL").arg(&key).query::<()>(c))
    }

    fn lockout_begin(
        &self,
        account: &str,
        cap: u32,
        forget_after: u64,
        now: u64,
    ) -> Result<LockoutGate> {
        let r = reply(
            self.run(
                self.scripts
                    .lockout_begin
                    .key(self.key("lo:", account))
                    .arg(cap)
                    .arg(ttl_ms(now.saturating_add(forget_after), now)),
            )?,
        )?;
        let count = |v: &Value| Ok::<u32, Error>(int(v)?.min(u64::from(u32::MAX)) as u32);
        match r.as_slice() {
            [code, n] if int(code)? == 1 => Ok(LockoutGate::Allowed {
                failures: count(n)?,
            }),
            [_, n] => Ok(LockoutGate::Locked {
                failures: count(n)?,
            }),
            _ => malformed("lockout answer"),
        }
    }

    fn lockout_clear(&self, account: &str) -> Result<()> {
        let key = self.key("lo:", account);
        self.with(|c| redis::cmd("DEL").arg(&key).query::<()>(c))
    }

    fn lockout_failures(&self, account: &str, _now: u64) -> Result<u32> {
        let key = self.key("lo:", account);
        let n: Option<u64> = self.with(|c| redis::cmd("GET").arg(&key).query(c))?;
        Ok(n.unwrap_or(0).min(u64::from(u32::MAX)) as u32)
    }

    fn pending_secret_put(
        &self,
        key: &str,
        secret: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<()> {
        self.run(
            self.scripts
                .pending_put
                .key(self.key("ps:", key))
                .arg(secret)
                .arg(expires_at)
                .arg(now)
                .arg(ttl_ms(expires_at, now)),
        )
        .map(drop)
    }

    fn pending_secret_get(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>> {
        let key = self.key("ps:", key);
        let (secret, until): (Option<Vec<u8>>, Option<u64>) =
            self.with(|c| redis::cmd("HMGET").arg(&key).arg("s").arg("e").query(c))?;
        Ok(match (secret, until) {
            (Some(s), Some(until)) if until > now => Some(s),
            _ => None,
        })
    }

    fn pending_secret_remove(&self, key: &str) -> Result<bool> {
        let key = self.key("ps:", key);
        let n: u64 = self.with(|c| redis::cmd("DEL").arg(&key).query(c))?;
        Ok(n > 0)
    }

    fn challenge_issue(
        &self,
        key: &str,
        challenge: ChallengeRecord,
        max_attempts: u32,
        now: u64,
    ) -> Result<ChallengeIssue> {
        let r = reply(
            self.run(
                self.scripts
                    .challenge_issue
                    .key(self.key("ch:", key))
                    .arg(&challenge.code_hash[..])
                    .arg(challenge.issued_at)
                    .arg(challenge.expires_at)
                    .arg(challenge.resend_after)
                    .arg(challenge.attempts)
                    .arg(max_attempts)
                    .arg(now)
                    .arg(ttl_ms(challenge.expires_at, now)),
            )?,
        )?;
        match r.as_slice() {
            [code, n] => Ok(match int(code)? {
                0 => ChallengeIssue::Issued {
                    attempts: int(n)?.min(u64::from(u32::MAX)) as u32,
                },
                1 => ChallengeIssue::Cooldown { until: int(n)? },
                _ => ChallengeIssue::Locked { until: int(n)? },
            }),
            _ => malformed("challenge answer"),
        }
    }

    fn challenge_attempt(
        &self,
        key: &str,
        code_hash: &[u8; 32],
        max_attempts: u32,
        now: u64,
    ) -> Result<ChallengeAttempt> {
        let r = reply(
            self.run(
                self.scripts
                    .challenge_attempt
                    .key(self.key("ch:", key))
                    .arg(&code_hash[..])
                    .arg(max_attempts)
                    .arg(now),
            )?,
        )?;
        Ok(match r.as_slice() {
            [code] if int(code)? == 0 => ChallengeAttempt::Accepted,
            [code] if int(code)? == 3 => ChallengeAttempt::Missing,
            [code, n] if int(code)? == 1 => ChallengeAttempt::Wrong {
                remaining: int(n)?.min(u64::from(u32::MAX)) as u32,
            },
            [code, n] if int(code)? == 2 => ChallengeAttempt::Locked { until: int(n)? },
            _ => return malformed("challenge answer"),
        })
    }

    fn challenge_remove(&self, key: &str) -> Result<bool> {
        let key = self.key("ch:", key);
        let n: u64 = self.with(|c| redis::cmd("DEL").arg(&key).query(c))?;
        Ok(n > 0)
    }

    fn recovery_replace(&self, user: &str, hashes: Vec<[u8; 32]>) -> Result<()> {
        let mut inv = self.scripts.recovery_replace.key(self.key("rc:", user));
        for h in &hashes {
            inv.arg(&h[..]);
        }
        self.run(&inv).map(drop)
    }

    fn recovery_consume(&self, user: &str, hash: &[u8; 32]) -> Result<bool> {
        let v = self.run(
            self.scripts
                .recovery_consume
                .key(self.key("rc:", user))
                .arg(&hash[..]),
        )?;
        Ok(int(&v)? == 1)
    }

    fn recovery_remaining(&self, user: &str) -> Result<usize> {
        let key = self.key("rc:", user);
        let n: u64 = self.with(|c| redis::cmd("SCARD").arg(&key).query(c))?;
        Ok(n as usize)
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 15)] as char);
    }
    s
}
