//! Sign-in sessions: a short-lived access JWT plus an opaque refresh token that rotates
//! on every use, with reuse detection (OAuth 2.1 §4.3.1), "log out of all devices", a
//! session list and new-device detection.
//!
//! Guarantee: a revoked session can no longer refresh. Its access tokens stay valid until
//! they expire (at most `access_ttl`) unless `check_session_on_verify` is set, in which
//! case `verify_access` consults the store and revocation takes effect at once.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::clock::{Clock, SystemClock};
use crate::error::{err, ErrorKind, Result};
use crate::jwt::{
    CaptureText, ClaimSink, Claims, KeySet, NoSink, Validation, ACCESS_TOKEN_TYPE,
    DEFAULT_LEEWAY_SECS,
};
use crate::store::{Rotation, SessionRecord, Store};
pub use crate::store::{MAX_GRACE_RETRIES, MAX_RETRY_GRACE_SECS};
use crate::util::{b64url_decode, b64url_encode, random_b64url, random_bytes, sha256};

pub const DEFAULT_ACCESS_TTL_SECS: u64 = 15 * 60;
pub const DEFAULT_IDLE_TIMEOUT_SECS: u64 = 30 * 24 * 3600;
pub const DEFAULT_ABSOLUTE_LIFETIME_SECS: u64 = 90 * 24 * 3600;
pub const DEFAULT_MAX_SESSIONS_PER_USER: usize = 100;
/// Refresh tokens carry this many bytes from the OS CSPRNG (256 bits).
pub const REFRESH_TOKEN_BYTES: usize = 32;
/// Refresh tokens start with this, so they are recognisable in logs and secret scanners.
pub const REFRESH_TOKEN_PREFIX: &str = "agr_";
/// Longest accepted user or device id, in bytes.
pub const MAX_ID_BYTES: usize = 256;

/// How sessions behave. `Default` gives the documented defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// `iss` of access tokens, required when verifying if set.
    pub issuer: Option<String>,
    /// `aud` of access tokens, required when verifying if set.
    pub audience: Option<String>,
    pub access_ttl: u64,
    /// A refresh token unused for this long stops working.
    pub idle_timeout: u64,
    /// A session ends this long after login, however active.
    pub absolute_lifetime: u64,
    pub max_sessions_per_user: usize,
    /// Make `verify_access` check that the token's session is still live.
    pub check_session_on_verify: bool,
    pub leeway: u64,
    /// Seconds (0 to [`MAX_RETRY_GRACE_SECS`], default 0) during which the refresh token
    /// rotated last may be presented again — a client retrying after a lost response —
    /// and get a new pair instead of revoking the session. At most [`MAX_GRACE_RETRIES`]
    /// such retries per rotation; the grace runs from the rotation and is never extended;
    /// after it a reuse revokes the session as before. 0 is RFC 9700's strict detection.
    pub retry_grace: u64,
    /// The `client_id` claim of access tokens (RFC 9068 §2.2: the client the token was
    /// issued to). Default [`DEFAULT_CLIENT_ID`]; name your app.
    pub client_id: String,
}

/// The `client_id` of session access tokens unless configured.
pub const DEFAULT_CLIENT_ID: &str = "authgate";

impl Default for SessionConfig {
    fn default() -> Self {
        SessionConfig {
            issuer: None,
            audience: None,
            access_ttl: DEFAULT_ACCESS_TTL_SECS,
            idle_timeout: DEFAULT_IDLE_TIMEOUT_SECS,
            absolute_lifetime: DEFAULT_ABSOLUTE_LIFETIME_SECS,
            max_sessions_per_user: DEFAULT_MAX_SESSIONS_PER_USER,
            check_session_on_verify: false,
            leeway: DEFAULT_LEEWAY_SECS,
            retry_grace: 0,
            client_id: DEFAULT_CLIENT_ID.to_string(),
        }
    }
}

/// The device a login comes from: a stable id the app chooses, and a name for display.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceInfo {
    pub device_id: String,
    pub name: Option<String>,
}

/// What login and refresh return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    pub session_id: String,
    pub access_expires_at: u64,
    pub refresh_expires_at: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginResult {
    pub tokens: TokenPair,
    /// True when this device had not signed in as this user before.
    pub new_device: bool,
}

/// A live session, for a "signed-in devices" page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    pub session_id: String,
    pub device_id: String,
    pub device_name: Option<String>,
    pub created_at: u64,
    pub last_used_at: u64,
    pub expires_at: u64,
}

impl From<SessionRecord> for SessionInfo {
    fn from(r: SessionRecord) -> Self {
        SessionInfo {
            session_id: r.id,
            device_id: r.device_id,
            device_name: r.device_name,
            created_at: r.created_at,
            last_used_at: r.last_used_at,
            expires_at: r.expires_at,
        }
    }
}

/// Issues, rotates, verifies and revokes sessions. Cheap to share between threads.
pub struct SessionManager {
    keys: Arc<KeySet>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    config: SessionConfig,
    validation: Validation,
}

fn check_id(value: &str, what: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_ID_BYTES {
        return err(
            ErrorKind::InvalidInput,
            format!("{what} must be 1 to {MAX_ID_BYTES} bytes"),
        );
    }
    Ok(())
}

fn new_refresh_token() -> Result<(String, [u8; 32])> {
    let mut raw = [0u8; REFRESH_TOKEN_BYTES];
    random_bytes(&mut raw)?;
    let token = format!("{REFRESH_TOKEN_PREFIX}{}", b64url_encode(&raw));
    let hash = sha256(token.as_bytes());
    Ok((token, hash))
}

/// Hash of a presented refresh token, after a format check that needs no store.
fn refresh_hash(token: &str) -> Result<[u8; 32]> {
    let well_formed = token
        .strip_prefix(REFRESH_TOKEN_PREFIX)
        .and_then(|b| b64url_decode(b.as_bytes()))
        .is_some_and(|raw| raw.len() == REFRESH_TOKEN_BYTES);
    if !well_formed {
        return err(
            ErrorKind::InvalidRefreshToken,
            "the refresh token is malformed",
        );
    }
    Ok(sha256(token.as_bytes()))
}

impl SessionManager {
    pub fn new(keys: Arc<KeySet>, store: Arc<dyn Store>, config: SessionConfig) -> Result<Self> {
        SessionManager::with_clock(keys, store, config, Arc::new(SystemClock))
    }

    /// A manager on an injected clock (tests, conformance vectors).
    pub fn with_clock(
        keys: Arc<KeySet>,
        store: Arc<dyn Store>,
        config: SessionConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        if config.access_ttl == 0 || config.idle_timeout == 0 || config.absolute_lifetime == 0 {
            return err(
                ErrorKind::InvalidInput,
                "session lifetimes must be positive",
            );
        }
        if config.retry_grace > MAX_RETRY_GRACE_SECS {
            return err(
                ErrorKind::InvalidInput,
                format!("retry_grace is 0 to {MAX_RETRY_GRACE_SECS} seconds"),
            );
        }
        if config.client_id.is_empty() || config.client_id.len() > MAX_ID_BYTES {
            return err(
                ErrorKind::InvalidInput,
                format!("client_id must be 1 to {MAX_ID_BYTES} bytes"),
            );
        }
        let validation = Validation {
            leeway: config.leeway,
            issuers: config.issuer.iter().cloned().collect(),
            audiences: config.audience.iter().cloned().collect(),
            required_claims: vec!["exp".into(), "sub".into(), "sid".into()],
            token_type: Some(ACCESS_TOKEN_TYPE.into()),
            ..Validation::default()
        };
        Ok(SessionManager {
            keys,
            store,
            clock,
            config,
            validation,
        })
    }

    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    pub fn keys(&self) -> &Arc<KeySet> {
        &self.keys
    }

    /// Starts a session for `user_id` on `device`, with an optional space-separated scope.
    pub fn login(
        &self,
        user_id: &str,
        device: &DeviceInfo,
        scope: Option<&str>,
    ) -> Result<LoginResult> {
        check_id(user_id, "user id")?;
        check_id(&device.device_id, "device id")?;
        let now = self.clock.now();
        let (refresh_token, refresh_hash) = new_refresh_token()?;
        let record = SessionRecord {
            id: random_b64url(16)?,
            user_id: user_id.to_string(),
            device_id: device.device_id.clone(),
            device_name: device.name.clone(),
            scope: scope.filter(|s| !s.is_empty()).map(str::to_owned),
            created_at: now,
            last_used_at: now,
            expires_at: now
                .saturating_add(self.config.idle_timeout.min(self.config.absolute_lifetime)),
            absolute_expires_at: now.saturating_add(self.config.absolute_lifetime),
            refresh_hash,
            revoked: false,
        };
        let tokens = self.token_pair(&record, refresh_token, now)?;
        self.store
            .session_insert(record, self.config.max_sessions_per_user, now)?;
        // Only a login that succeeded marks its device as known.
        let seen = self.store.device_seen(user_id, &device.device_id)?;
        Ok(LoginResult {
            tokens,
            new_device: !seen,
        })
    }

    /// Exchanges a refresh token for a new pair; the presented token stops working.
    /// Presenting an already-rotated token revokes the session (`refresh_token_reused`).
    pub fn refresh(&self, refresh_token: &str) -> Result<TokenPair> {
        let presented = refresh_hash(refresh_token)?;
        let now = self.clock.now();
        let (new_token, new_hash) = new_refresh_token()?;
        let idle_until = now.saturating_add(self.config.idle_timeout);
        match self
            .store
            .session_rotate(
                &presented,
                new_hash,
                now,
                idle_until,
                self.config.retry_grace,
            )?
        {
            Rotation::Unknown => err(
                ErrorKind::InvalidRefreshToken,
                "the refresh token is not known",
            ),
            Rotation::Revoked(_) => err(ErrorKind::SessionRevoked, "the session was revoked"),
            Rotation::Reused(_) => err(
                ErrorKind::RefreshTokenReused,
                "this refresh token was already used; the session has been revoked",
            ),
            Rotation::RetriesExhausted(_) => err(
                ErrorKind::InvalidRefreshToken,
                "this refresh token was just rotated and its retries are used up; use the newest one",
            ),
            Rotation::Rotated { record, expired_at } | Rotation::Retried { record, expired_at } => {
                if expired_at <= now {
                    self.store.session_revoke(&record.id)?;
                    return err(ErrorKind::SessionExpired, "the session has expired");
                }
                self.token_pair(&record, new_token, now)
            }
        }
    }

    fn token_pair(
        &self,
        record: &SessionRecord,
        refresh_token: String,
        now: u64,
    ) -> Result<TokenPair> {
        let access_expires_at = now + self.config.access_ttl;
        let mut claims = Map::new();
        if let Some(iss) = &self.config.issuer {
            claims.insert("iss".into(), Value::from(iss.as_str()));
        }
        if let Some(aud) = &self.config.audience {
            claims.insert("aud".into(), Value::from(aud.as_str()));
        }
        claims.insert("sub".into(), Value::from(record.user_id.as_str()));
        claims.insert(
            "client_id".into(),
            Value::from(self.config.client_id.as_str()),
        );
        claims.insert("sid".into(), Value::from(record.id.as_str()));
        claims.insert("iat".into(), Value::from(now));
        claims.insert("exp".into(), Value::from(access_expires_at));
        claims.insert("jti".into(), Value::from(random_b64url(12)?));
        if let Some(scope) = &record.scope {
            claims.insert("scope".into(), Value::from(scope.as_str()));
        }
        Ok(TokenPair {
            access_token: self.keys.sign(&claims, Some(ACCESS_TOKEN_TYPE))?,
            refresh_token,
            session_id: record.id.clone(),
            access_expires_at,
            refresh_expires_at: record.expires_at,
        })
    }

    /// Verifies an access token issued by this manager (signature, `typ`, expiry, issuer,
    /// audience) and, if configured, that its session is still live.
    pub fn verify_access(&self, token: &str) -> Result<Claims> {
        self.verify_access_into(token, &mut NoSink)
    }

    /// [`SessionManager::verify_access`], handing every claim to `sink` during the one
    /// parse of the payload (for bindings that build a native claims object).
    pub fn verify_access_into<S: ClaimSink>(&self, token: &str, sink: &mut S) -> Result<Claims> {
        let now = self.clock.now();
        let mut sid = CaptureText::new("sid", sink);
        let claims = self
            .keys
            .verify_into(token, &self.validation, now, &mut sid)?;
        if self.config.check_session_on_verify {
            let sid = sid.take()?;
            match self.store.session_get(&sid)? {
                Some(r) if !r.revoked && r.expires_at > now => {}
                Some(r) if !r.revoked => {
                    return err(ErrorKind::SessionExpired, "the session has expired")
                }
                _ => return err(ErrorKind::SessionRevoked, "the session was revoked"),
            }
        }
        Ok(claims)
    }

    /// Ends one session. Returns false if it did not exist.
    pub fn revoke(&self, session_id: &str) -> Result<bool> {
        self.store.session_revoke(session_id)
    }

    /// "Log out of all devices": ends every session of the user; returns how many.
    pub fn revoke_all(&self, user_id: &str) -> Result<usize> {
        self.store.session_revoke_all(user_id)
    }

    /// The user's live sessions, most recently used first.
    pub fn list(&self, user_id: &str) -> Result<Vec<SessionInfo>> {
        let now = self.clock.now();
        Ok(self
            .store
            .session_list(user_id, now)?
            .into_iter()
            .map(SessionInfo::from)
            .collect())
    }
}
