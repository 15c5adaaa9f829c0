//! Client tokens ("secure mode"): your backend mints a short-lived token for one user with
//! its server key; the app sends it; your API checks it names the expected user.
//!
//! One design, with nothing secret stored on the verifying side: a server key (an API key,
//! `ag_srv_…`, created with `client_tokens`) determines an Ed25519 key pair —
//! seed = HMAC-SHA256(key = the server key's text, message = [`DERIVATION_LABEL`]). The
//! backend holding the server key signs client tokens with the private half
//! ([`ClientTokens`]); the record the API-key store keeps holds only the public half
//! (computed once, at creation, beside the key's SHA-256), and [`ClientTokenVerifier`]
//! checks tokens against it — and against the key's status, expiry and roll grace.
//!
//! A client token is a JWS: header `{"alg": "EdDSA", "typ": "client+jwt", "kid": <the
//! server key's id>}`, claims `{"user", "iat", "exp"}`; `exp` is required and at most
//! [`MAX_CLIENT_TOKEN_TTL_SECS`] after `iat`.
//!
//! Tokens of the earlier design (HS256 over the server key's text) are read only through
//! [`LegacyClientTokens`], whose opt-outs are named: `allow_missing_exp` for `{"user": id}`
//! payloads without `exp`, `allow_short_secret` for secrets under 32 bytes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;

use crate::apikey::{self, ApiKeyManager};
use crate::error::{err, Error, ErrorKind, Result};
use crate::jwt::{
    peek_unverified, Algorithm, CaptureText, Key, KeySet, KeyStatus, NoSink, Validation,
    DEFAULT_LEEWAY_SECS,
};

pub const DEFAULT_CLIENT_TOKEN_TTL_SECS: u64 = 300;
/// Seconds before expiry at which a client should fetch a new token.
pub const DEFAULT_REFRESH_MARGIN_SECS: u64 = 30;
/// The longest a client token may live (`exp` − `iat`).
pub const MAX_CLIENT_TOKEN_TTL_SECS: u64 = 24 * 3600;
/// The `typ` header of client tokens.
pub const CLIENT_TOKEN_TYPE: &str = "client+jwt";
/// What the Ed25519 seed is derived with (HMAC-SHA256 keyed by the server key).
pub const DERIVATION_LABEL: &[u8] = b"authgate client-token ed25519 v1";
/// The shortest secret [`LegacyClientTokens`] accepts with `allow_short_secret`.
pub const MIN_LEGACY_SECRET_BYTES: usize = 16;

/// The Ed25519 public key a server key mints client tokens with (32 bytes): what the
/// API-key record stores. The server key must be a well-formed key (checksum included).
pub fn public_key(server_key: &str) -> Result<[u8; 32]> {
    let (key, _) = signing_key(server_key)?;
    let mut out = [0u8; 32];
    out.copy_from_slice(key.ed25519_public_bytes().unwrap_or(&[0; 32]));
    Ok(out)
}

/// The signing key (kid = the server key's id) and the id.
fn signing_key(server_key: &str) -> Result<(Key, String)> {
    let parsed = apikey::parse(server_key).map_err(|_| {
        Error::new(
            ErrorKind::InvalidKey,
            "a server key is an authgate key (prefix, id, secret, checksum); \
             older secrets go through LegacyClientTokens",
        )
    })?;
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_key.as_bytes())
        .map_err(|_| Error::new(ErrorKind::InvalidKey, "invalid server key"))?;
    mac.update(DERIVATION_LABEL);
    let seed = mac.finalize().into_bytes();
    let key = Key::ed25519_from_seed(Some(&parsed.id), &seed)?;
    Ok((key, parsed.id))
}

fn validation() -> Validation {
    Validation {
        leeway: DEFAULT_LEEWAY_SECS,
        required_claims: vec!["exp".into(), "iat".into(), "user".into()],
        algorithms: vec![Algorithm::EdDSA],
        token_type: Some(CLIENT_TOKEN_TYPE.into()),
        ..Validation::default()
    }
}

/// A verified client token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    pub user: String,
    pub exp: u64,
}

/// Verifies signature, type, expiry and lifetime, and that the token names `expected_user`.
fn verify_with(
    keys: &KeySet,
    validation: &Validation,
    token: &str,
    expected_user: &str,
    now: u64,
) -> Result<ClientToken> {
    let mut skip = NoSink;
    let mut user = CaptureText::new("user", &mut skip);
    let claims = keys.verify_into(token, validation, now, &mut user)?;
    let user = user.take()?;
    let exp = claims
        .exp()
        .ok_or_else(|| Error::new(ErrorKind::MissingClaim, "`exp` is missing"))?;
    if let Some(iat) = claims.iat() {
        if exp.saturating_sub(iat) > MAX_CLIENT_TOKEN_TTL_SECS {
            return err(
                ErrorKind::InvalidClaim,
                format!("a client token lives at most {MAX_CLIENT_TOKEN_TTL_SECS} s"),
            );
        }
    }
    if user != expected_user {
        return err(
            ErrorKind::UserMismatch,
            "the token was issued for another user",
        );
    }
    Ok(ClientToken { user, exp })
}

fn check_mint(user: &str, ttl: u64) -> Result<()> {
    if user.is_empty() || ttl == 0 || ttl > MAX_CLIENT_TOKEN_TTL_SECS {
        return err(
            ErrorKind::InvalidInput,
            format!("a client token needs a user and a ttl of 1 to {MAX_CLIENT_TOKEN_TTL_SECS} s"),
        );
    }
    Ok(())
}

/// The backend's side: mints client tokens with its server key (and can verify its own).
pub struct ClientTokens {
    keys: KeySet,
    public: [u8; 32],
    validation: Validation,
}

impl ClientTokens {
    /// The minter for a server key (`ag_srv_…`, as created with `client_tokens`).
    pub fn new(server_key: &str) -> Result<Self> {
        let (key, _) = signing_key(server_key)?;
        let mut public = [0u8; 32];
        public.copy_from_slice(key.ed25519_public_bytes().unwrap_or(&[0; 32]));
        let keys = KeySet::new();
        keys.add(key, KeyStatus::Active)?;
        Ok(ClientTokens {
            keys,
            public,
            validation: validation(),
        })
    }

    /// The public key tokens are verified with (what the key's record holds).
    pub fn public_key(&self) -> [u8; 32] {
        self.public
    }

    /// Mints a token for `user` that expires `ttl` seconds after `now`.
    pub fn mint(&self, user: &str, ttl: u64, now: u64) -> Result<String> {
        check_mint(user, ttl)?;
        let mut claims = Map::new();
        claims.insert("user".into(), Value::from(user));
        claims.insert("iat".into(), Value::from(now));
        claims.insert("exp".into(), Value::from(now.saturating_add(ttl)));
        self.keys.sign(&claims, Some(CLIENT_TOKEN_TYPE))
    }

    /// Verifies a token minted with this server key at `now`, for `expected_user`.
    pub fn verify(&self, token: &str, expected_user: &str, now: u64) -> Result<ClientToken> {
        verify_with(&self.keys, &self.validation, token, expected_user, now)
    }
}

/// Server keys a verifier keeps ready (each with its decompressed point, and after 128
/// valid tokens its table: see `jwt::ed25519`); beyond this, it starts again from none.
pub const VERIFIER_KEYS_KEPT: usize = 1024;

/// The server keys a verifier keeps: by id, the public key and the set holding it.
type ReadyKeys = HashMap<String, ([u8; 32], Arc<KeySet>)>;

/// The API's side: verifies client tokens against the server keys in an API-key store —
/// the key named by the token's `kid` must exist, hold a client-token public key, and be
/// usable (active, not expired, within its roll grace). The record is read from the store
/// on every token; the key made from its public half is kept, by `kid` and public key, so
/// a hot server key is not decoded again per token and gets the faster Ed25519 route.
pub struct ClientTokenVerifier {
    keys: Arc<ApiKeyManager>,
    validation: Validation,
    ready: Mutex<ReadyKeys>,
}

impl ClientTokenVerifier {
    pub fn new(keys: Arc<ApiKeyManager>) -> Self {
        ClientTokenVerifier {
            keys,
            validation: validation(),
            ready: Mutex::new(HashMap::new()),
        }
    }

    /// The key set holding the server key `kid` with `public`: the kept one when the record
    /// still holds the same public key, else a new one (kept in its place).
    fn key_set(&self, kid: &str, public: &[u8; 32]) -> Result<Arc<KeySet>> {
        if let Some((held, keys)) = crate::store::lock(&self.ready).get(kid) {
            if held == public {
                return Ok(keys.clone());
            }
        }
        let keys = KeySet::new();
        keys.add(
            Key::ed25519_from_public(Some(kid), public)?,
            KeyStatus::VerifyOnly,
        )?;
        let keys = Arc::new(keys);
        let mut ready = crate::store::lock(&self.ready);
        if ready.len() >= VERIFIER_KEYS_KEPT && !ready.contains_key(kid) {
            ready.clear();
        }
        ready.insert(kid.to_string(), (*public, keys.clone()));
        Ok(keys)
    }

    /// Verifies `token` at `now` for `expected_user`.
    pub fn verify(&self, token: &str, expected_user: &str, now: u64) -> Result<ClientToken> {
        let (header, _) = peek_unverified(token)?;
        let kid = header
            .get("kid")
            .and_then(Value::as_str)
            .filter(|k| k.len() == apikey::ID_CHARS && k.bytes().all(|b| b.is_ascii_alphanumeric()))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::KeyNotFound,
                    "a client token names its server key's id as kid",
                )
            })?;
        let record = self.keys.get(kid)?.ok_or_else(|| {
            Error::new(ErrorKind::KeyNotFound, "no server key has the token's kid")
        })?;
        // Only keys of a kind this manager accepts (by default: the one it issues).
        if !self.keys.accepted_prefixes().contains(&record.prefix) {
            return err(
                ErrorKind::KeyNotFound,
                "the token's key is not of a kind this verifier accepts",
            );
        }
        let public = record.client_token_key.ok_or_else(|| {
            Error::new(
                ErrorKind::KeyNotFound,
                "the token's key was not created for client tokens",
            )
        })?;
        record.check_usable(now)?;
        let keys = self.key_set(kid, &public)?;
        verify_with(&keys, &self.validation, token, expected_user, now)
    }
}

/// The earlier design's tokens — HS256 with a shared secret (a server key's text) — for
/// migrating. Exactly as strict as before unless an opt-out is named.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LegacyOptions {
    /// Accept `{"user": id}` payloads without `exp` (tokens that never expire).
    pub allow_missing_exp: bool,
    /// Accept secrets of 16 to 31 bytes.
    pub allow_short_secret: bool,
}

/// Mints and verifies the earlier HS256 client tokens (see the module docs).
pub struct LegacyClientTokens {
    keys: KeySet,
    validation: Validation,
    options: LegacyOptions,
}

impl LegacyClientTokens {
    pub fn new(secret: &[u8], options: LegacyOptions) -> Result<Self> {
        let key = if secret.len() < 32 && options.allow_short_secret {
            if secret.len() < MIN_LEGACY_SECRET_BYTES {
                return err(
                    ErrorKind::WeakKey,
                    format!("a legacy secret is at least {MIN_LEGACY_SECRET_BYTES} bytes"),
                );
            }
            // HMAC zero-pads a key shorter than its block (RFC 2104 §2), so the secret
            // padded with zeros to 32 bytes computes the very same tags.
            let mut padded = secret.to_vec();
            padded.resize(32, 0);
            Key::hmac(None, Algorithm::HS256, &padded)?
        } else {
            Key::hmac(None, Algorithm::HS256, secret)?
        };
        let mut required_claims = vec!["user".to_string()];
        if !options.allow_missing_exp {
            required_claims.push("exp".into());
        }
        Ok(LegacyClientTokens {
            keys: KeySet::single(key),
            validation: Validation {
                leeway: DEFAULT_LEEWAY_SECS,
                required_claims,
                algorithms: vec![Algorithm::HS256],
                ..Validation::default()
            },
            options,
        })
    }

    /// Mints an HS256 token for `user` (always with `exp`), for clients not yet migrated.
    pub fn mint(&self, user: &str, ttl: u64, now: u64) -> Result<String> {
        check_mint(user, ttl)?;
        let mut claims = Map::new();
        claims.insert("user".into(), Value::from(user));
        claims.insert("exp".into(), Value::from(now.saturating_add(ttl)));
        self.keys.sign(&claims, None)
    }

    /// Verifies a legacy token at `now` for `expected_user`. Without `exp` (only with
    /// `allow_missing_exp`) the returned `exp` is 0.
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
        let exp = match claims.exp() {
            Some(exp) => exp,
            None if self.options.allow_missing_exp => 0,
            None => return err(ErrorKind::MissingClaim, "`exp` is missing"),
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apikey::{ApiKeyOptions, PREFIX_SERVER};
    use crate::clock::{Clock, ManualClock};
    use crate::store::MemoryStore;

    fn server_keys() -> (Arc<ApiKeyManager>, Arc<ManualClock>) {
        let clock = Arc::new(ManualClock::new(1_700_000_000));
        let keys = ApiKeyManager::with_clock(Arc::new(MemoryStore::new()), clock.clone())
            .with_prefixes(PREFIX_SERVER, &[])
            .unwrap();
        (Arc::new(keys), clock)
    }

    /// A new server key that may mint client tokens, and its record.
    fn client_token_key(keys: &ApiKeyManager) -> (String, crate::apikey::ApiKeyRecord) {
        keys.create(&ApiKeyOptions {
            client_tokens: true,
            ..keys.options()
        })
        .unwrap()
    }

    #[test]
    fn the_verifier_keeps_a_server_key_while_its_record_holds_it() {
        let (keys, clock) = server_keys();
        let (server_key, record) = client_token_key(&keys);
        let minter = ClientTokens::new(&server_key).unwrap();
        let verifier = ClientTokenVerifier::new(keys.clone());
        let now = clock.now();
        for user in ["u1", "u2", "u1"] {
            let token = minter.mint(user, 300, now).unwrap();
            assert_eq!(verifier.verify(&token, user, now).unwrap().user, user);
            assert!(verifier.verify(&token, "other", now).is_err());
        }
        let public = minter.public_key();
        let kept = verifier.key_set(&record.id, &public).unwrap();
        assert!(Arc::ptr_eq(
            &kept,
            &verifier.key_set(&record.id, &public).unwrap()
        ));
        // Another public key under the same id (a record changed in the store): a new set,
        // kept in its place; the old key's tokens do not verify against it.
        let other = ClientTokens::new(&client_token_key(&keys).0).unwrap();
        let replaced = verifier.key_set(&record.id, &other.public_key()).unwrap();
        assert!(!Arc::ptr_eq(&kept, &replaced));
        let token = minter.mint("u1", 300, now).unwrap();
        assert!(verify_with(&replaced, &verifier.validation, &token, "u1", now).is_err());
        assert!(!Arc::ptr_eq(
            &replaced,
            &verifier.key_set(&record.id, &public).unwrap()
        ));
        // The record is still read per token: a revoked key's tokens are refused at once.
        keys.revoke(&record.id).unwrap();
        assert!(verifier.verify(&token, "u1", now).is_err());
    }

    #[test]
    fn the_verifier_keeps_a_bounded_number_of_keys() {
        let (keys, _) = server_keys();
        let (server_key, _) = client_token_key(&keys);
        let public = ClientTokens::new(&server_key).unwrap().public_key();
        let verifier = ClientTokenVerifier::new(keys);
        for i in 0..VERIFIER_KEYS_KEPT + 10 {
            verifier.key_set(&format!("kid{i:08}"), &public).unwrap();
            assert!(crate::store::lock(&verifier.ready).len() <= VERIFIER_KEYS_KEPT);
        }
        assert_eq!(crate::store::lock(&verifier.ready).len(), 10);
    }
}
