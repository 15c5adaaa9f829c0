//! Client tokens ("secure mode"): a backend mints a short-lived HS256 token for one user
//! with its server key; the app sends it; the backend checks signature, expiry and that
//! it names the expected user. Payload: `{"user": ..., "exp": ...}`.

use serde_json::{Map, Value};

use crate::error::{err, Error, ErrorKind, Result};
use crate::jwt::{
    peek_unverified, Algorithm, CaptureText, Key, KeySet, NoSink, Validation, DEFAULT_LEEWAY_SECS,
};

pub const DEFAULT_CLIENT_TOKEN_TTL_SECS: u64 = 300;
/// Seconds before expiry at which a client should fetch a new token.
pub const DEFAULT_REFRESH_MARGIN_SECS: u64 = 30;

/// Mints and verifies client tokens with one server key.
pub struct ClientTokens {
    keys: KeySet,
    validation: Validation,
}

/// A verified client token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    pub user: String,
    pub exp: u64,
}

impl ClientTokens {
    /// Uses the server key's full text (at least 32 bytes) as the HS256 secret.
    pub fn new(server_key: &str) -> Result<Self> {
        let key = Key::hmac(None, Algorithm::HS256, server_key.as_bytes())?;
        let validation = Validation {
            leeway: DEFAULT_LEEWAY_SECS,
            required_claims: vec!["exp".into(), "user".into()],
            algorithms: vec![Algorithm::HS256],
            ..Validation::default()
        };
        Ok(ClientTokens {
            keys: KeySet::single(key),
            validation,
        })
    }

    /// Mints a token for `user` that expires `ttl` seconds after `now`.
    pub fn mint(&self, user: &str, ttl: u64, now: u64) -> Result<String> {
        if user.is_empty() || ttl == 0 {
            return err(
                ErrorKind::InvalidInput,
                "a client token needs a user and a positive ttl",
            );
        }
        let mut claims = Map::new();
        claims.insert("user".into(), Value::from(user));
        claims.insert("exp".into(), Value::from(now.saturating_add(ttl)));
        self.keys.sign(&claims, None)
    }

    /// Verifies signature and expiry at `now`, and that the token is for `expected_user`.
    pub fn verify(&self, token: &str, expected_user: &str, now: u64) -> Result<ClientToken> {
        let mut skip = NoSink;
        let mut user = CaptureText::new("user", &mut skip);
        let claims = self
            .keys
            .verify_into(token, &self.validation, now, &mut user)?;
        let user = user.take()?;
        if user != expected_user {
            return err(
                ErrorKind::UserMismatch,
                "the token was issued for another user",
            );
        }
        let exp = claims
            .exp()
            .ok_or_else(|| Error::new(ErrorKind::MissingClaim, "`exp` is missing"))?;
        Ok(ClientToken { user, exp })
    }
}

/// Client side: whether a token should be replaced — it is unreadable, has no `exp`, or
/// expires within `margin` seconds of `now`. Reads the token without verifying it.
pub fn needs_refresh(token: &str, now: u64, margin: u64) -> bool {
    match peek_unverified(token) {
        Ok((_, claims)) => claims
            .exp()
            .is_none_or(|exp| exp <= now.saturating_add(margin)),
        Err(_) => true,
    }
}
