//! API keys and server keys: `<prefix><id><secret><checksum>`, e.g.
//! `ag_live_` + 12-char id + 43-char secret (256 bits) + 6-char CRC32 checksum, all base62.
//!
//! The checksum lets anyone (a secret scanner, a support engineer, the parser) tell a
//! typo or a key-shaped string from a real key offline. Only the SHA-256 of the whole key
//! is stored: a 256-bit random secret needs no slow hash, and verification compares the
//! hashes in constant time. The plaintext is returned once, at creation.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::store::{RollOutcome, Store};
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
/// The longest owner (tenant, account) id, in bytes.
pub const MAX_OWNER_BYTES: usize = 256;
/// The largest metadata object, as compact JSON, in bytes.
pub const MAX_METADATA_BYTES: usize = 4096;
/// `last_used_at` is written at most once per this many seconds per key, so verifying a
/// key does not cost a store write each time.
pub const LAST_USED_RESOLUTION_SECS: u64 = 60;
/// How many rolls a rolled key's credit follows to reach its line's balance.
pub const MAX_ROLL_CHAIN: usize = 8;

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

fn checksum(text: &str) -> [u8; CHECKSUM_CHARS] {
    let mut n = crc32(text.as_bytes()) as u64;
    let mut out = [b'0'; CHECKSUM_CHARS];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    out
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
    if !ct_eq(&checksum(signed), sum.as_bytes()) {
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
    /// Who the key belongs to (a tenant, an account, a user id): yours to set and filter by.
    pub owner: Option<String>,
    /// Free data of yours (a JSON object, at most [`MAX_METADATA_BYTES`] as JSON).
    pub metadata: Map<String, Value>,
    /// When the key last admitted a request (to [`LAST_USED_RESOLUTION_SECS`]).
    pub last_used_at: Option<u64>,
    /// For a server key made with `client_tokens`: the Ed25519 public key its client
    /// tokens are verified with (see [`crate::client_token`]). Public; the key is not kept.
    pub client_token_key: Option<[u8; 32]>,
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
        self.check_usable(now)?;
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

    /// Whether the key may be used at `now`: active, not expired, within a roll's grace.
    pub fn check_usable(&self, now: u64) -> Result<()> {
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
    pub owner: Option<String>,
    pub metadata: Map<String, Value>,
    /// Make this a server key that mints client tokens: its record keeps the public key
    /// they are verified with (see [`crate::client_token`]).
    pub client_tokens: bool,
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
            owner: None,
            metadata: Map::new(),
            client_tokens: false,
        }
    }
}

fn check_owner_and_metadata(owner: Option<&str>, metadata: &Map<String, Value>) -> Result<()> {
    if owner.is_some_and(|o| o.is_empty() || o.len() > MAX_OWNER_BYTES) {
        return err(
            ErrorKind::InvalidInput,
            format!("an owner is 1 to {MAX_OWNER_BYTES} bytes"),
        );
    }
    // JavaScript would read a `__proto__` member as the object's prototype.
    fn has_proto(v: &Value) -> bool {
        match v {
            Value::Object(m) => m.iter().any(|(k, v)| k == "__proto__" || has_proto(v)),
            Value::Array(items) => items.iter().any(has_proto),
            _ => false,
        }
    }
    if metadata
        .iter()
        .any(|(k, v)| k == "__proto__" || has_proto(v))
    {
        return err(
            ErrorKind::InvalidInput,
            "metadata cannot hold a `__proto__` member",
        );
    }
    let size = serde_json::to_string(metadata).map_or(usize::MAX, |t| t.len());
    if size > MAX_METADATA_BYTES {
        return err(
            ErrorKind::InvalidInput,
            format!("metadata is at most {MAX_METADATA_BYTES} bytes as JSON"),
        );
    }
    Ok(())
}

/// A key made elsewhere — `authgate keygen api-key --json` prints these — to be stored
/// by [`ApiKeyManager::import`]: the key's parts and its SHA-256, never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedApiKey {
    pub id: String,
    pub prefix: String,
    pub last_four: String,
    pub hash: [u8; 32],
    /// The client-token public key (`authgate keygen server-key --json` prints it).
    pub client_token_key: Option<[u8; 32]>,
}

/// Generates a key: returns the plaintext (show it once) and the record to store.
pub fn generate(options: &ApiKeyOptions, now: u64) -> Result<(String, ApiKeyRecord)> {
    check_prefix(&options.prefix)?;
    check_owner_and_metadata(options.owner.as_deref(), &options.metadata)?;
    let mut key = options.prefix.clone();
    key.push_str(&random_base62(ID_CHARS + SECRET_CHARS)?);
    let sum = checksum(&key);
    // Base62 digits are ASCII.
    key.push_str(std::str::from_utf8(&sum).unwrap_or_default());
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
        owner: options.owner.clone(),
        metadata: options.metadata.clone(),
        last_used_at: None,
        client_token_key: None,
    };
    let record = ApiKeyRecord {
        client_token_key: if options.client_tokens {
            Some(crate::client_token::public_key(&key)?)
        } else {
            None
        },
        ..record
    };
    Ok((key, record))
}

/// Creates, verifies, rolls and revokes keys kept in a [`Store`].
///
/// A manager accepts keys of the prefixes it is pinned to — by default only the one it
/// issues (`ag_live_`), so a test key (`ag_test_`) or a server key (`ag_srv_`) kept in the
/// same store is refused by a live gate. [`ApiKeyManager::with_prefixes`] changes both.
pub struct ApiKeyManager {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    prefix: String,
    accepted: Vec<String>,
}

impl ApiKeyManager {
    pub fn new(store: Arc<dyn Store>) -> Self {
        ApiKeyManager::with_clock(store, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        ApiKeyManager {
            store,
            clock,
            prefix: PREFIX_LIVE.to_string(),
            accepted: vec![PREFIX_LIVE.to_string()],
        }
    }

    /// Pins the prefix this manager issues and the prefixes it accepts (`accept` empty:
    /// only `issue`). `issue` must be among the accepted ones.
    pub fn with_prefixes(mut self, issue: &str, accept: &[String]) -> Result<Self> {
        check_prefix(issue)?;
        for p in accept {
            check_prefix(p)?;
        }
        let accepted = if accept.is_empty() {
            vec![issue.to_string()]
        } else {
            accept.to_vec()
        };
        if !accepted.iter().any(|p| p == issue) {
            return err(
                ErrorKind::InvalidInput,
                "the prefix a manager issues must be one it accepts",
            );
        }
        self.prefix = issue.to_string();
        self.accepted = accepted;
        Ok(self)
    }

    /// The prefix [`ApiKeyManager::create`] uses unless told otherwise.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The prefixes this manager accepts.
    pub fn accepted_prefixes(&self) -> &[String] {
        &self.accepted
    }

    fn check_accepted(&self, prefix: &str, what: ErrorKind) -> Result<()> {
        if self.accepted.iter().any(|p| p == prefix) {
            return Ok(());
        }
        err(
            what,
            if what == ErrorKind::InvalidApiKey {
                "the API key's prefix is not accepted here (a test or server key?)".to_string()
            } else {
                format!(
                    "this manager accepts {} keys: add the prefix to its accepted prefixes",
                    self.accepted.join(", ")
                )
            },
        )
    }

    /// Creates and stores a key; returns the plaintext (shown once) and its record.
    /// `options.prefix` must be one the manager accepts (the default options carry
    /// `ag_live_`; [`ApiKeyManager::options`] starts from the manager's own prefix).
    pub fn create(&self, options: &ApiKeyOptions) -> Result<(String, ApiKeyRecord)> {
        self.check_accepted(&options.prefix, ErrorKind::InvalidInput)?;
        let (key, record) = generate(options, self.clock.now())?;
        self.store.apikey_insert(record.clone())?;
        Ok((key, record))
    }

    /// Default options with this manager's prefix.
    pub fn options(&self) -> ApiKeyOptions {
        ApiKeyOptions {
            prefix: self.prefix.clone(),
            ..ApiKeyOptions::default()
        }
    }

    /// Stores a key made elsewhere (by `authgate keygen api-key`, or another instance)
    /// from its parts and SHA-256, with `options` (its prefix is the imported one's).
    /// The id must be new; the prefix one this manager accepts.
    pub fn import(&self, key: &ImportedApiKey, options: &ApiKeyOptions) -> Result<ApiKeyRecord> {
        check_prefix(&key.prefix)?;
        self.check_accepted(&key.prefix, ErrorKind::InvalidInput)?;
        check_owner_and_metadata(options.owner.as_deref(), &options.metadata)?;
        let base62 =
            |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_alphanumeric());
        if !base62(&key.id, ID_CHARS) || !base62(&key.last_four, 4) {
            return err(
                ErrorKind::InvalidInput,
                "an imported key has a 12-character id and its last four characters (base62)",
            );
        }
        let record = ApiKeyRecord {
            id: key.id.clone(),
            prefix: key.prefix.clone(),
            last_four: key.last_four.clone(),
            hash: key.hash,
            name: options.name.clone(),
            scopes: options.scopes.clone(),
            created_at: self.clock.now(),
            expires_at: options.expires_at,
            status: ApiKeyStatus::Active,
            credits: options.credits,
            rate_limit_policy: options.rate_limit_policy.clone(),
            replaced_by: None,
            grace_until: None,
            app: None,
            owner: options.owner.clone(),
            metadata: options.metadata.clone(),
            last_used_at: None,
            client_token_key: key.client_token_key,
        };
        self.store.apikey_insert(record.clone())?;
        Ok(record)
    }

    /// Deletes a key's record for good (revoking keeps it, for audit); false if unknown.
    pub fn delete(&self, id: &str) -> Result<bool> {
        self.store.apikey_delete(id)
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
        self.check_accepted(&parsed.prefix, ErrorKind::InvalidApiKey)?;
        let record = self
            .store
            .apikey_get(&parsed.id)?
            .ok_or_else(|| Error::new(ErrorKind::InvalidApiKey, "the API key is not valid"))?;
        record.check(&parsed, self.clock.now(), scope)?;
        // A rolled key's balance moved to its replacement: `spend` draws from there.
        if record.credits == Some(0) && record.replaced_by.is_none() {
            return err(
                ErrorKind::ApiKeyCreditsExhausted,
                "the API key has no credits left",
            );
        }
        Ok(record)
    }

    /// Takes one credit from a metered key (atomically in the store); `api_key_credits_exhausted`
    /// when none is left. Keys without credits are not metered.
    /// Also records the use (`last_used_at`, at most once a minute per key). A rolled
    /// key draws from its line's balance, which rolling moved to the replacement.
    pub fn spend(&self, record: &ApiKeyRecord) -> Result<()> {
        let now = self.clock.now();
        let touch = record
            .last_used_at
            .is_none_or(|t| now >= t.saturating_add(LAST_USED_RESOLUTION_SECS));
        if record.credits.is_none() {
            if touch {
                self.store.apikey_touch(&record.id, now)?;
            }
            return Ok(());
        }
        if !self.store.apikey_take_credit(&record.id, now)? {
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

    /// Issues a replacement with the same prefix, name, scopes, expiry, policy, owner and
    /// metadata; the old key keeps working for `grace_secs`, then fails with
    /// `api_key_rotated`. The credit balance moves to the new key (during the grace the old
    /// key draws from it: one balance, not two). Only an active key that was not rolled
    /// already and has not expired can be rolled — a disabled, revoked or retired key
    /// stays as it is, and a grace is never extended. All of it in one store step.
    pub fn roll(&self, id: &str, grace_secs: u64) -> Result<(String, ApiKeyRecord)> {
        let old = self
            .store
            .apikey_get(id)?
            .ok_or_else(|| Error::new(ErrorKind::InvalidApiKey, "no API key has this id"))?;
        let options = ApiKeyOptions {
            prefix: old.prefix.clone(),
            name: old.name.clone(),
            scopes: old.scopes.clone(),
            expires_at: old.expires_at,
            credits: old.credits,
            rate_limit_policy: old.rate_limit_policy.clone(),
            owner: old.owner.clone(),
            metadata: old.metadata.clone(),
            client_tokens: old.client_token_key.is_some(),
        };
        let now = self.clock.now();
        let (key, mut record) = generate(&options, now)?;
        record.app = Some(old.app_id().to_string());
        let grace_until = now.saturating_add(grace_secs);
        match self.store.apikey_roll(id, record, grace_until, now)? {
            RollOutcome::Rolled(record) => Ok((key, *record)),
            RollOutcome::NotFound => err(ErrorKind::InvalidApiKey, "no API key has this id"),
            RollOutcome::Revoked => err(ErrorKind::ApiKeyRevoked, "a revoked key cannot be rolled"),
            RollOutcome::Disabled => err(
                ErrorKind::ApiKeyDisabled,
                "a disabled key cannot be rolled: enable it first",
            ),
            RollOutcome::Expired => {
                err(ErrorKind::ApiKeyExpired, "an expired key cannot be rolled")
            }
            RollOutcome::AlreadyRolled => err(
                ErrorKind::ApiKeyRotated,
                "this key was already rolled: roll its replacement",
            ),
        }
    }
}
