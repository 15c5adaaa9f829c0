//! API keys and server keys: `<prefix><id><secret><checksum>`, e.g.
//! `ag_live_` + 12-char id + 43-char secret (256 bits) + 6-char CRC32 checksum, all base62.
//!
//! The checksum lets anyone (a secret scanner, a support engineer, the parser) tell a
//! typo or a key-shaped string from a real key offline. Only the SHA-256 of the whole key
//! is stored: a 256-bit random secret needs no slow hash, and verification compares the
//! hashes in constant time. The plaintext is returned once, at creation.

use std::sync::Arc;

use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::store::Store;
use crate::util::{ct_eq, random_bytes, sha256};

pub const PREFIX_LIVE: &str = "ag_live_";
pub const PREFIX_TEST: &str = "ag_test_";
pub const PREFIX_SERVER: &str = "ag_srv_";
pub const ID_CHARS: usize = 12;
/// 43 base62 characters carry 256 bits.
pub const SECRET_CHARS: usize = 43;
pub const CHECKSUM_CHARS: usize = 6;
const BODY_CHARS: usize = ID_CHARS + SECRET_CHARS + CHECKSUM_CHARS;
pub const MAX_PREFIX_CHARS: usize = 24;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `n` uniformly random base62 characters (rejection sampling, so no modulo bias).
fn random_base62(n: usize) -> Result<String> {
    let mut out = String::with_capacity(n);
    let mut buf = [0u8; 64];
    while out.len() < n {
        random_bytes(&mut buf)?;
        for &b in buf.iter().filter(|&&b| b < 248) {
            if out.len() == n {
                break;
            }
            out.push(BASE62[(b % 62) as usize] as char);
        }
    }
    Ok(out)
}

const fn crc32_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}
static CRC32: [u32; 256] = crc32_table();

/// CRC-32 (IEEE), the checksum GitHub-style tokens use.
pub fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(!0u32, |c, &b| {
        CRC32[((c ^ b as u32) & 0xFF) as usize] ^ (c >> 8)
    })
}

fn checksum(text: &str) -> String {
    let mut n = crc32(text.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out.iter().map(|&b| b as char).collect()
}

fn check_prefix(prefix: &str) -> Result<()> {
    let ok = (2..=MAX_PREFIX_CHARS).contains(&prefix.len())
        && prefix.ends_with('_')
        && prefix.as_bytes()[0].is_ascii_lowercase()
        && prefix
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if !ok {
        return err(
            ErrorKind::InvalidInput,
            "a key prefix is 2-24 characters of a-z, 0-9 and `_`, starts with a letter and ends with `_`",
        );
    }
    Ok(())
}

/// What can be learned from a key without any store: its parts and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParsedApiKey {
    pub prefix: String,
    pub id: String,
    pub last_four: String,
    pub hash: [u8; 32],
}

/// Checks a key's shape and checksum. Errors are all `invalid_api_key`.
pub fn parse(key: &str) -> Result<ParsedApiKey> {
    let invalid = |why: &'static str| Error::new(ErrorKind::InvalidApiKey, why);
    if key.is_empty() {
        return Err(Error::new(ErrorKind::MissingApiKey, "no API key was given"));
    }
    if key.len() <= BODY_CHARS || key.len() > BODY_CHARS + MAX_PREFIX_CHARS || !key.is_ascii() {
        return Err(invalid("the API key has the wrong length"));
    }
    let (prefix, body) = key.split_at(key.len() - BODY_CHARS);
    check_prefix(prefix).map_err(|_| invalid("the API key has a malformed prefix"))?;
    if !body.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(invalid("the API key has characters outside base62"));
    }
    let (signed, sum) = key.split_at(key.len() - CHECKSUM_CHARS);
    if !ct_eq(checksum(signed).as_bytes(), sum.as_bytes()) {
        return Err(invalid("the API key's checksum does not match (a typo?)"));
    }
    Ok(ParsedApiKey {
        prefix: prefix.to_string(),
        id: body[..ID_CHARS].to_string(),
        last_four: key[key.len() - 4..].to_string(),
        hash: sha256(key.as_bytes()),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiKeyStatus {
    Active,
    /// Temporarily refused; can be enabled again.
    Disabled,
    /// Permanently refused.
    Revoked,
}

impl ApiKeyStatus {
    /// The name bindings use: `active`, `disabled`, `revoked`.
    pub const fn name(self) -> &'static str {
        match self {
            ApiKeyStatus::Active => "active",
            ApiKeyStatus::Disabled => "disabled",
            ApiKeyStatus::Revoked => "revoked",
        }
    }
}

/// What is stored for a key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    pub id: String,
    pub prefix: String,
    /// The key's last four characters, for display ("ag_live_…x7Kq").
    pub last_four: String,
    pub hash: [u8; 32],
    pub name: Option<String>,
    /// Granted scopes; `sms:*` grants every `sms:…` scope and `*` grants all.
    pub scopes: Vec<String>,
    pub created_at: u64,
    pub expires_at: Option<u64>,
    pub status: ApiKeyStatus,
    /// Remaining uses, when the key is metered.
    pub credits: Option<u64>,
    /// The name of the rate-limit policy the limiter applies to this key.
    pub rate_limit_policy: Option<String>,
    /// Set when the key was rolled: the new key's id, and when this one stops working.
    pub replaced_by: Option<String>,
    pub grace_until: Option<u64>,
    /// The app the key belongs to: the id of the first key of its line of rolls (`None`
    /// for a key that was never rolled from another: its own id). Rate limits per app are
    /// kept under it, so rolling a key does not refill its buckets.
    pub app: Option<String>,
}

/// Whether granted scopes cover `required`: exact match, `prefix:*`, or `*`.
pub fn scope_granted(granted: &[String], required: &str) -> bool {
    granted.iter().any(|g| {
        g == "*"
            || g == required
            || g.strip_suffix('*')
                .is_some_and(|p| p.ends_with(':') && required.starts_with(p))
    })
}

impl ApiKeyRecord {
    /// The app the key belongs to: [`ApiKeyRecord::app`], or the key's own id.
    pub fn app_id(&self) -> &str {
        self.app.as_deref().unwrap_or(&self.id)
    }

    /// Checks a presented key against this record at `now` (hash in constant time, then
    /// status, expiry, rolling and scope). Credits are the store's business.
    pub fn check(&self, presented: &ParsedApiKey, now: u64, scope: Option<&str>) -> Result<()> {
        if !ct_eq(&presented.hash, &self.hash) {
            return err(ErrorKind::InvalidApiKey, "the API key is not valid");
        }
        match self.status {
            ApiKeyStatus::Revoked => {
                return err(ErrorKind::ApiKeyRevoked, "the API key was revoked")
            }
            ApiKeyStatus::Disabled => {
                return err(ErrorKind::ApiKeyDisabled, "the API key is disabled")
            }
            ApiKeyStatus::Active => {}
        }
        if self.expires_at.is_some_and(|t| now >= t) {
            return err(ErrorKind::ApiKeyExpired, "the API key has expired");
        }
        if self.grace_until.is_some_and(|t| now >= t) {
            return err(
                ErrorKind::ApiKeyRotated,
                "the API key was replaced and its grace period ended",
            );
        }
        if let Some(scope) = scope {
            if !scope_granted(&self.scopes, scope) {
                return err(
                    ErrorKind::InsufficientScope,
                    "the API key lacks the required scope",
                );
            }
        }
        Ok(())
    }
}

/// How to create a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyOptions {
    pub prefix: String,
    pub name: Option<String>,
    pub scopes: Vec<String>,
    pub expires_at: Option<u64>,
    pub credits: Option<u64>,
    pub rate_limit_policy: Option<String>,
}

impl Default for ApiKeyOptions {
    fn default() -> Self {
        ApiKeyOptions {
            prefix: PREFIX_LIVE.to_string(),
            name: None,
            scopes: Vec::new(),
            expires_at: None,
            credits: None,
            rate_limit_policy: None,
        }
    }
}

/// Generates a key: returns the plaintext (show it once) and the record to store.
pub fn generate(options: &ApiKeyOptions, now: u64) -> Result<(String, ApiKeyRecord)> {
    check_prefix(&options.prefix)?;
    let mut key = options.prefix.clone();
    key.push_str(&random_base62(ID_CHARS + SECRET_CHARS)?);
    let sum = checksum(&key);
    key.push_str(&sum);
    let parsed = parse(&key)?;
    let record = ApiKeyRecord {
        id: parsed.id,
        prefix: parsed.prefix,
        last_four: parsed.last_four,
        hash: parsed.hash,
        name: options.name.clone(),
        scopes: options.scopes.clone(),
        created_at: now,
        expires_at: options.expires_at,
        status: ApiKeyStatus::Active,
        credits: options.credits,
        rate_limit_policy: options.rate_limit_policy.clone(),
        replaced_by: None,
        grace_until: None,
        app: None,
    };
    Ok((key, record))
}

/// Creates, verifies, rolls and revokes keys kept in a [`Store`].
pub struct ApiKeyManager {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl ApiKeyManager {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ApiKeyManager::with_clock(store, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        ApiKeyManager { store, clock }
    }

    /// Creates and stores a key; returns the plaintext (shown once) and its record.
    pub fn create(&self, options: &ApiKeyOptions) -> Result<(String, ApiKeyRecord)> {
        let (key, record) = generate(options, self.clock.now())?;
        self.store.apikey_insert(record.clone())?;
        Ok((key, record))
    }

    /// Verifies a presented key, optionally for a scope, and takes one credit from
    /// metered keys. Returns the key's record.
    pub fn verify(&self, key: &str, scope: Option<&str>) -> Result<ApiKeyRecord> {
        let record = self.authenticate(key, scope)?;
        self.spend(&record)?;
        Ok(record)
    }

    /// [`ApiKeyManager::verify`] without taking a credit: the gate spends it with
    /// [`ApiKeyManager::spend`] only once the request is admitted. A metered key with no
    /// credit left is refused here already.
    pub fn authenticate(&self, key: &str, scope: Option<&str>) -> Result<ApiKeyRecord> {
        let parsed = parse(key)?;
        let record = self
            .store
            .apikey_get(&parsed.id)?
            .ok_or_else(|| Error::new(ErrorKind::InvalidApiKey, "the API key is not valid"))?;
        record.check(&parsed, self.clock.now(), scope)?;
        if record.credits == Some(0) {
            return err(
                ErrorKind::ApiKeyCreditsExhausted,
                "the API key has no credits left",
            );
        }
        Ok(record)
    }

    /// Takes one credit from a metered key (atomically in the store); `api_key_credits_exhausted`
    /// when none is left. Keys without credits are not metered.
    pub fn spend(&self, record: &ApiKeyRecord) -> Result<()> {
        if record.credits.is_none() {
            return Ok(());
        }
        if !self.store.apikey_take_credit(&record.id)? {
            return err(
                ErrorKind::ApiKeyCreditsExhausted,
                "the API key has no credits left",
            );
        }
        Ok(())
    }

    pub fn get(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        self.store.apikey_get(id)
    }

    pub fn list(&self) -> Result<Vec<ApiKeyRecord>> {
        self.store.apikey_list()
    }

    fn set_status(&self, id: &str, status: ApiKeyStatus) -> Result<()> {
        if !self.store.apikey_set_status(id, status)? {
            return err(ErrorKind::InvalidApiKey, "no API key has this id");
        }
        Ok(())
    }

    pub fn revoke(&self, id: &str) -> Result<()> {
        self.set_status(id, ApiKeyStatus::Revoked)
    }

    pub fn disable(&self, id: &str) -> Result<()> {
        self.set_status(id, ApiKeyStatus::Disabled)
    }

    pub fn enable(&self, id: &str) -> Result<()> {
        self.set_status(id, ApiKeyStatus::Active)
    }

    /// Issues a replacement with the same prefix, name, scopes, expiry and policy; the
    /// old key keeps working for `grace_secs`, then fails with `api_key_rotated`.
    pub fn roll(&self, id: &str, grace_secs: u64) -> Result<(String, ApiKeyRecord)> {
        let old = self
            .store
            .apikey_get(id)?
            .ok_or_else(|| Error::new(ErrorKind::InvalidApiKey, "no API key has this id"))?;
        if old.status == ApiKeyStatus::Revoked {
            return err(ErrorKind::ApiKeyRevoked, "a revoked key cannot be rolled");
        }
        let options = ApiKeyOptions {
            prefix: old.prefix.clone(),
            name: old.name.clone(),
            scopes: old.scopes.clone(),
            expires_at: old.expires_at,
            credits: old.credits,
            rate_limit_policy: old.rate_limit_policy.clone(),
        };
        let (key, mut record) = generate(&options, self.clock.now())?;
        record.app = Some(old.app_id().to_string());
        self.store.apikey_insert(record.clone())?;
        let grace_until = self.clock.now().saturating_add(grace_secs);
        self.store.apikey_mark_rolled(id, &record.id, grace_until)?;
        Ok((key, record))
    }
}
