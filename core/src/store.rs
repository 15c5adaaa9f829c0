//! The state behind sessions and API keys sits behind one trait, [`Store`], whose every
//! method is one atomic operation. Backends: [`MemoryStore`] (bounded, thread-safe, the
//! default) and, with the `redis` feature, [`RedisStore`] for many processes.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use sha2::{Digest, Sha256};

mod rate_buckets;
#[cfg(feature = "redis")]
mod redis_store;

#[cfg(feature = "redis")]
pub use redis_store::{RedisConfig, RedisStore};

use crate::apikey::{ApiKeyRecord, ApiKeyStatus};
use crate::error::{err, ErrorKind, Result};
use crate::ratelimit::{Gcra, RateState};
use crate::util::ct_eq;

/// A refresh-token session as stored. Only the SHA-256 of the refresh token is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub id: String,
    pub user_id: String,
    pub device_id: String,
    pub device_name: Option<String>,
    pub scope: Option<String>,
    pub created_at: u64,
    pub last_used_at: u64,
    /// When the refresh token stops working: the earlier of idle timeout and absolute lifetime.
    pub expires_at: u64,
    /// The end of the session's absolute lifetime, fixed at login.
    pub absolute_expires_at: u64,
    pub refresh_hash: [u8; 32],
    pub revoked: bool,
}

/// What presenting a refresh token did, decided atomically by the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// It was the current token: it is replaced. Carries the updated record and the
    /// expiry the session had when the token was presented.
    Rotated {
        record: SessionRecord,
        expired_at: u64,
    },
    /// It was the token rotated last, presented again within the retry grace: the record
    /// now also accepts `replacement` (beside the winner's token, which stays valid).
    Retried {
        record: SessionRecord,
        expired_at: u64,
    },
    /// It was the token rotated last, within the retry grace, but that rotation's retries
    /// are used up ([`MAX_GRACE_RETRIES`]): refused, and nothing changed.
    RetriesExhausted(SessionRecord),
    /// It was an earlier, already-rotated token: the session is now revoked.
    Reused(SessionRecord),
    /// The session had already been revoked; nothing changed.
    Revoked(SessionRecord),
    /// No session knows this token.
    Unknown,
}

/// What [`Store::apikey_roll`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RollOutcome {
    /// The replacement is stored (with the moved balance) and the old key marked.
    Rolled(Box<ApiKeyRecord>),
    NotFound,
    Revoked,
    Disabled,
    Expired,
    /// The key was rolled before (it is retired or in its grace period).
    AlreadyRolled,
}

/// Atomic state operations for sessions and API keys.
pub trait Store: Send + Sync {
    /// Stores a new session. If the user has `max_per_user` live sessions, the least
    /// recently used one is removed first.
    fn session_insert(&self, session: SessionRecord, max_per_user: usize, now: u64) -> Result<()>;
    /// Rotates a refresh token: see [`Rotation`]. On `Rotated`, the record gets
    /// `replacement` as its hash, `now` as last use, and as expiry the earlier of
    /// `idle_until` and its absolute end; every other token of the session stops being
    /// current. With `grace` > 0, the token rotated last presented again before `grace`
    /// seconds have passed since that rotation is `Retried` (at most
    /// [`MAX_GRACE_RETRIES`] times per rotation; the grace is never extended).
    fn session_rotate(
        &self,
        presented: &[u8; 32],
        replacement: [u8; 32],
        now: u64,
        idle_until: u64,
        grace: u64,
    ) -> Result<Rotation>;
    fn session_get(&self, id: &str) -> Result<Option<SessionRecord>>;
    /// Marks a session revoked; false if it did not exist.
    fn session_revoke(&self, id: &str) -> Result<bool>;
    /// Revokes every live session of a user; returns how many.
    fn session_revoke_all(&self, user_id: &str) -> Result<usize>;
    /// The user's sessions that are neither revoked nor expired at `now`.
    fn session_list(&self, user_id: &str, now: u64) -> Result<Vec<SessionRecord>>;
    /// Records that `device_id` signed in as `user_id`; true if it had been seen before.
    fn device_seen(&self, user_id: &str, device_id: &str) -> Result<bool>;

    /// Stores a new API key record; its id must be new.
    fn apikey_insert(&self, record: ApiKeyRecord) -> Result<()>;
    fn apikey_get(&self, id: &str) -> Result<Option<ApiKeyRecord>>;
    fn apikey_list(&self) -> Result<Vec<ApiKeyRecord>>;
    fn apikey_set_status(&self, id: &str, status: ApiKeyStatus) -> Result<bool>;
    /// Rolls `id` to `replacement` in one step (see [`RollOutcome`]): only an active key,
    /// not rolled before and not expired at `now`. The replacement is stored with the old
    /// key's credit balance (moved, not copied: the old key's becomes 0 and it draws from
    /// its replacement), and the old key is marked replaced until `grace_until`.
    fn apikey_roll(
        &self,
        id: &str,
        replacement: ApiKeyRecord,
        grace_until: u64,
        now: u64,
    ) -> Result<RollOutcome>;
    /// Takes one credit from a key with a credit balance — for a rolled key, from the
    /// newest key of its line (following `replaced_by`, at most
    /// [`crate::apikey::MAX_ROLL_CHAIN`] steps) — and records `now` as the key's last use.
    /// Returns `Ok(false)` when the balance is zero; keys without a balance always succeed.
    fn apikey_take_credit(&self, id: &str, now: u64) -> Result<bool>;
    /// Records `now` as the key's last use.
    fn apikey_touch(&self, id: &str, now: u64) -> Result<()>;
    /// Removes a key's record; false if there was none.
    fn apikey_delete(&self, id: &str) -> Result<bool>;

    /// Records `nonce` in `scope` (a key id, a webhook sender) until `expires_at`, in one
    /// atomic step: true if it was new, false if it was already recorded and has not
    /// expired (a replay). Once `now` passes `expires_at` the entry may be forgotten.
    fn nonce_insert(&self, scope: &str, nonce: &str, expires_at: u64, now: u64) -> Result<bool>;

    /// Records `step` as the last accepted one-time-code step of `key` if it is after the
    /// recorded one (or none is recorded), atomically: true if recorded, false if not
    /// after (a replay). The entry may be forgotten once `now` passes `expires_at`.
    fn otp_step_advance(&self, key: &str, step: u64, expires_at: u64, now: u64) -> Result<bool>;

    /// Counts one attempt against `key` under `policy`, atomically: refused while the key
    /// is locked, otherwise counted as a failure in advance (so parallel guesses all
    /// count) and the lock for the new count set. A success must call
    /// [`Store::attempts_clear`].
    fn attempt_begin(&self, key: &str, now: u64, policy: &ThrottlePolicy) -> Result<AttemptGate>;
    /// Forgets the failures of `key` (after a success).
    fn attempts_clear(&self, key: &str) -> Result<()>;

    /// The account-wide cap on one-time-code guesses (NIST SP 800-63B §5.2.2): counts one
    /// attempt for `account` in advance, atomically, unless `cap` attempts have already
    /// failed in a row — then `Locked`, and it stays so (no expiry) until
    /// [`Store::lockout_clear`]. A count below the cap is forgotten `forget_after`
    /// seconds after its last failure.
    fn lockout_begin(
        &self,
        account: &str,
        cap: u32,
        forget_after: u64,
        now: u64,
    ) -> Result<LockoutGate>;
    /// Resets `account`'s count: after a success, or an administrator's unlock.
    fn lockout_clear(&self, account: &str) -> Result<()>;
    /// The failures in a row counted for `account` now.
    fn lockout_failures(&self, account: &str, now: u64) -> Result<u32>;

    /// Keeps a pending (not yet confirmed) secret for `key` until `expires_at`, replacing
    /// any earlier one.
    fn pending_secret_put(&self, key: &str, secret: &[u8], expires_at: u64, now: u64)
        -> Result<()>;
    /// The pending secret of `key`, if it has not expired.
    fn pending_secret_get(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>>;
    /// Removes the pending secret of `key`; false if there was none (someone else took it).
    fn pending_secret_remove(&self, key: &str) -> Result<bool>;

    /// Stores a new code challenge for `key` unless the live one forbids it: returns
    /// `Cooldown` before its `resend_after`, `Locked` when it used up `max_attempts`.
    /// A replaced live challenge passes its attempt count on, so resending never resets it.
    fn challenge_issue(
        &self,
        key: &str,
        challenge: ChallengeRecord,
        max_attempts: u32,
        now: u64,
    ) -> Result<ChallengeIssue>;
    /// Checks `code_hash` against the live challenge of `key` in constant time: a match
    /// consumes it; a mismatch counts an attempt.
    fn challenge_attempt(
        &self,
        key: &str,
        code_hash: &[u8; 32],
        max_attempts: u32,
        now: u64,
    ) -> Result<ChallengeAttempt>;
    /// Removes the challenge of `key` (e.g. its delivery failed); false if there was none.
    fn challenge_remove(&self, key: &str) -> Result<bool>;

    /// Replaces the recovery-code hashes of `user`.
    fn recovery_replace(&self, user: &str, hashes: Vec<[u8; 32]>) -> Result<()>;
    /// Uses up the code whose hash is `hash` (compared in constant time): false if none.
    fn recovery_consume(&self, user: &str, hash: &[u8; 32]) -> Result<bool>;
    /// How many unused recovery codes `user` has.
    fn recovery_remaining(&self, user: &str) -> Result<usize>;

    /// Takes `cost` tokens from the rate-limit bucket of `key` with [`Gcra::take`], in one
    /// atomic step (a cost of 0 only reads). The key's entry may be forgotten once `now_ns`
    /// passes its `full_at_ns`: its bucket is full again.
    fn rate_limit(&self, key: &str, cost: u64, gcra: &Gcra, now_ns: u64) -> Result<RateState>;

    /// [`Store::rate_limit`] on the bucket of `key` under the policy `policy` (what a
    /// [`crate::ratelimit::RateLimiter`] calls). By default the two are joined into one
    /// store key (`<policy length>:<policy>:<key>`, so no two pairs collide); a store may
    /// use them without joining them, as the in-memory one does.
    fn rate_limit_bucket(
        &self,
        policy: &str,
        key: &str,
        cost: u64,
        gcra: &Gcra,
        now_ns: u64,
    ) -> Result<RateState> {
        self.rate_limit(
            &crate::ratelimit::store_key(policy, key),
            cost,
            gcra,
            now_ns,
        )
    }

    /// What the store works out once per policy name to meter that policy's buckets
    /// faster, for [`Store::rate_limit_prepared`]; `None` (the default) if nothing. A
    /// [`crate::ratelimit::RateLimiter`] keeps it with the policy it caches.
    fn rate_limit_prepare(&self, policy: &str) -> Option<PreparedPolicy> {
        let _ = policy;
        None
    }

    /// [`Store::rate_limit_bucket`], given what [`Store::rate_limit_prepare`] returned for
    /// `policy`: the same bucket, the same answer. `prepared` must be what this store's
    /// `rate_limit_prepare` returned for the same `policy` name (the limiter keeps them
    /// together); one made for another name is not detected in release builds and meters
    /// that other name's bucket. One made by another store is detected: the store works
    /// its own out again.
    fn rate_limit_prepared(
        &self,
        prepared: &PreparedPolicy,
        policy: &str,
        key: &str,
        cost: u64,
        gcra: &Gcra,
        now_ns: u64,
    ) -> Result<RateState> {
        let _ = prepared;
        self.rate_limit_bucket(policy, key, cost, gcra, now_ns)
    }
}

/// What [`MemoryStore`] works out once per policy name: the key under which it hashes that
/// policy's rate-limit keys (derived from its own secret hash key and the policy's name).
/// Opaque, and only a store makes one.
#[derive(Clone, Copy)]
pub struct PreparedPolicy {
    hash_key: (u64, u64),
    /// Which store made it (a random number of the store's): another store's is not used.
    store: u64,
}

impl std::fmt::Debug for PreparedPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PreparedPolicy { .. }")
    }
}

/// Failed-attempt throttling (RFC 4226 §7.3): the first `free_failures` failures cost
/// nothing; each further one locks the key for `base_delay` seconds, doubling per
/// failure up to `max_delay`. The count is forgotten `forget_after` seconds after the
/// last failure, or at once after a success.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    pub free_failures: u32,
    pub base_delay: u64,
    pub max_delay: u64,
    pub forget_after: u64,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        ThrottlePolicy {
            free_failures: 5,
            base_delay: 30,
            max_delay: 3600,
            forget_after: 3600,
        }
    }
}

impl ThrottlePolicy {
    /// How long a key with `failures` failures is locked after the last one.
    pub fn delay_after(&self, failures: u32) -> u64 {
        if failures < self.free_failures.max(1) {
            return 0;
        }
        let doublings = (failures - self.free_failures.max(1)).min(63);
        self.base_delay
            .saturating_mul(1u64.checked_shl(doublings).unwrap_or(u64::MAX))
            .min(self.max_delay)
    }
}

/// What [`Store::lockout_begin`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockoutGate {
    /// Go ahead; this attempt is counted as failure number `failures` until cleared.
    Allowed { failures: u32 },
    /// `failures` attempts in a row failed (at least the cap): locked until cleared.
    Locked { failures: u32 },
}

/// What [`Store::attempt_begin`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptGate {
    /// Go ahead; this attempt is already counted as failure number `failures`.
    Allowed { failures: u32 },
    /// Refused until `until`.
    Locked { until: u64 },
}

/// A one-time code sent by SMS or email, as stored: only a keyed hash of the code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub code_hash: [u8; 32],
    pub issued_at: u64,
    pub expires_at: u64,
    /// A new code may be sent from this time on.
    pub resend_after: u64,
    /// Wrong codes tried so far.
    pub attempts: u32,
}

/// What [`Store::challenge_issue`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeIssue {
    /// Stored; carries the attempts already used (passed on from a replaced challenge).
    Issued {
        attempts: u32,
    },
    Cooldown {
        until: u64,
    },
    Locked {
        until: u64,
    },
}

/// What [`Store::challenge_attempt`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengeAttempt {
    /// The code matched; the challenge is used up.
    Accepted,
    /// Wrong; `remaining` attempts are left (0: now locked).
    Wrong { remaining: u32 },
    /// Too many wrong codes: locked until the challenge expires at `until`.
    Locked { until: u64 },
    /// No live challenge: never issued, expired or already used.
    Missing,
}

/// Defaults for the in-memory store's bounds.
pub const DEFAULT_MEMORY_CAPACITY: usize = 1_000_000;
/// How many already-rotated refresh tokens per session are remembered for reuse detection.
pub const REMEMBERED_ROTATIONS: usize = 32;
/// How many times the token rotated last may be presented again within the retry grace
/// (each retry mints one more live refresh token; past this, retries are refused).
pub const MAX_GRACE_RETRIES: usize = 4;
/// The longest retry grace a session manager accepts, in seconds.
pub const MAX_RETRY_GRACE_SECS: u64 = 60;
/// How many devices per user are remembered for new-device detection.
pub const REMEMBERED_DEVICES: usize = 64;

struct StoredSession {
    record: SessionRecord,
    previous: VecDeque<[u8; 32]>,
    /// The token presented at the last rotation, and when: what a retry may present.
    last_rotation: Option<([u8; 32], u64)>,
    /// Tokens minted by retries of the last rotation (current, beside `record.refresh_hash`).
    retries: Vec<[u8; 32]>,
}

#[derive(Default)]
struct Sessions {
    by_id: HashMap<String, StoredSession>,
    /// refresh-token hash → (session id, is the current token)
    by_hash: HashMap<[u8; 32], (String, bool)>,
    by_user: HashMap<String, Vec<String>>,
    devices: HashMap<String, VecDeque<String>>,
}

impl Sessions {
    fn remove(&mut self, id: &str) {
        let Some(s) = self.by_id.remove(id) else {
            return;
        };
        self.by_hash.remove(&s.record.refresh_hash);
        for h in s.previous.iter().chain(&s.retries) {
            self.by_hash.remove(h);
        }
        if let Some(ids) = self.by_user.get_mut(&s.record.user_id) {
            ids.retain(|x| x != id);
            if ids.is_empty() {
                self.by_user.remove(&s.record.user_id);
            }
        }
    }

    fn purge_expired(&mut self, now: u64) {
        let dead: Vec<String> = self
            .by_id
            .iter()
            .filter(|(_, s)| s.record.expires_at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for id in dead {
            self.remove(&id);
        }
        let live_users = &self.by_user;
        self.devices.retain(|user, _| live_users.contains_key(user));
    }
}

/// Seen nonces, keyed by a hash of (scope, nonce) so each entry has a fixed size whatever
/// the nonce's length, with a min-heap of expiries so forgetting old ones is cheap.
#[derive(Default)]
struct Nonces {
    seen: HashMap<[u8; 32], u64>,
    expiries: BinaryHeap<Reverse<(u64, [u8; 32])>>,
}

impl Nonces {
    fn forget_expired(&mut self, now: u64) {
        while let Some(Reverse((at, key))) = self.expiries.peek().copied() {
            if at > now {
                break;
            }
            self.expiries.pop();
            if self.seen.get(&key) == Some(&at) {
                self.seen.remove(&key);
            }
        }
    }
}

fn nonce_key(scope: &str, nonce: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((scope.len() as u64).to_be_bytes());
    h.update(scope.as_bytes());
    h.update(nonce.as_bytes());
    h.finalize().into()
}

struct Attempts {
    failures: u32,
    locked_until: u64,
    forget_at: u64,
}

/// An account's failed code checks in a row; `forget_at` is `u64::MAX` once locked.
struct Lockout {
    failures: u32,
    forget_at: u64,
}

/// One-time-code state: last steps, attempt counters, pending secrets, challenges and
/// recovery codes, each map bounded by the store's capacity.
#[derive(Default)]
struct OneTimeCodes {
    steps: HashMap<String, (u64, u64)>,
    attempts: HashMap<String, Attempts>,
    lockouts: HashMap<String, Lockout>,
    pending: HashMap<String, (Vec<u8>, u64)>,
    challenges: HashMap<String, ChallengeRecord>,
    recovery: HashMap<String, Vec<[u8; 32]>>,
}

/// Makes room for one more entry in `map`: drops the entries `dead` says have expired
/// when it is full, then refuses if it is still full.
fn make_room<V>(
    map: &mut HashMap<String, V>,
    key: &str,
    capacity: usize,
    dead: impl Fn(&V) -> bool,
    what: &'static str,
) -> Result<()> {
    if map.len() < capacity || map.contains_key(key) {
        return Ok(());
    }
    map.retain(|_, v| !dead(v));
    if map.len() >= capacity {
        return err(
            ErrorKind::CapacityExceeded,
            format!("the {what} store is full"),
        );
    }
    Ok(())
}

/// The bounded, thread-safe in-memory store: the default for one process.
pub struct MemoryStore {
    capacity: usize,
    rate_buckets: rate_buckets::RateBuckets,
    sessions: Mutex<Sessions>,
    apikeys: Mutex<HashMap<String, ApiKeyRecord>>,
    nonces: Mutex<Nonces>,
    codes: Mutex<OneTimeCodes>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_capacity(DEFAULT_MEMORY_CAPACITY)
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave these maps half-updated in a way that
    // breaks a security check (each update is a few inserts), so keep serving.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    /// A store holding at most `capacity` sessions (and as many API keys, unexpired
    /// nonces, and entries of each kind of one-time-code state; rate-limited keys up to an
    /// eighth more, as they spread unevenly over shards).
    pub fn with_capacity(capacity: usize) -> Self {
        MemoryStore {
            capacity: capacity.max(1),
            rate_buckets: rate_buckets::RateBuckets::new(capacity.max(1), random_hash_key()),
            sessions: Mutex::default(),
            apikeys: Mutex::default(),
            nonces: Mutex::default(),
            codes: Mutex::default(),
        }
    }
}

/// A random SipHash key for the rate-limit buckets, from std's randomly seeded hasher
/// (the OS's random source, read once per process).
fn random_hash_key() -> (u64, u64) {
    use std::hash::BuildHasher;
    let state = std::hash::RandomState::new();
    (state.hash_one(0x5eed_u64), state.hash_one(0xb0c4e7_u64))
}

impl MemoryStore {
    /// The same store with the rate-limit buckets hashed under a fixed `seed` instead of a
    /// random key, so which keys share a shard is reproducible: for tests only. In
    /// production, anyone who knows the seed can aim keys at one shard.
    pub fn with_hash_seed(mut self, seed: u64) -> Self {
        let capacity = self.capacity;
        self.rate_buckets =
            rate_buckets::RateBuckets::new(capacity, (seed, seed ^ 0x9e37_79b9_7f4a_7c15));
        self
    }

    /// How many rate-limited keys are held (live ones, and full ones not yet forgotten).
    pub fn rate_limit_keys(&self) -> usize {
        self.rate_buckets.len()
    }

    /// How many new rate-limited keys were refused with `capacity_exceeded` because the
    /// store was full of keys still being limited (since it was made): watch it — when it
    /// grows, the capacity is too small for the live keys or a client is spraying keys.
    pub fn rate_limit_refusals(&self) -> u64 {
        self.rate_buckets.refusals()
    }

    /// How many nonces are held (unexpired ones, and expired ones not yet forgotten).
    pub fn nonce_count(&self) -> usize {
        lock(&self.nonces).seen.len()
    }

    /// How many sessions are held (including expired and revoked ones not yet purged).
    pub fn session_count(&self) -> usize {
        lock(&self.sessions).by_id.len()
    }
}

impl Store for MemoryStore {
    fn rate_limit(&self, key: &str, cost: u64, gcra: &Gcra, now_ns: u64) -> Result<RateState> {
        // A key joined as `rate_limit_bucket`'s default joins one (`<policy length>:<policy>:
        // <key>`) is the same bucket as the pair's.
        let h = match crate::ratelimit::split_store_key(key) {
            Some((policy, key)) => self.rate_buckets.hash_under(
                self.rate_buckets.policy_key(policy.as_bytes()),
                key.as_bytes(),
            ),
            None => self.rate_buckets.hash(key.as_bytes()),
        };
        self.rate_buckets.take(h, cost, gcra, now_ns)
    }

    fn rate_limit_bucket(
        &self,
        policy: &str,
        key: &str,
        cost: u64,
        gcra: &Gcra,
        now_ns: u64,
    ) -> Result<RateState> {
        let h = self.rate_buckets.hash_under(
            self.rate_buckets.policy_key(policy.as_bytes()),
            key.as_bytes(),
        );
        self.rate_buckets.take(h, cost, gcra, now_ns)
    }

    fn rate_limit_prepare(&self, policy: &str) -> Option<PreparedPolicy> {
        Some(PreparedPolicy {
            hash_key: self.rate_buckets.policy_key(policy.as_bytes()),
            store: self.rate_buckets.id(),
        })
    }

    fn rate_limit_prepared(
        &self,
        prepared: &PreparedPolicy,
        policy: &str,
        key: &str,
        cost: u64,
        gcra: &Gcra,
        now_ns: u64,
    ) -> Result<RateState> {
        if prepared.store != self.rate_buckets.id() {
            return self.rate_limit_bucket(policy, key, cost, gcra, now_ns);
        }
        // Not `debug_assert_eq!`: its message would show the keys.
        debug_assert!(
            prepared.hash_key == self.rate_buckets.policy_key(policy.as_bytes()),
            "a prepared policy used with another policy's name"
        );
        // The policy's own hash key, worked out once: the key alone is hashed.
        let h = self
            .rate_buckets
            .hash_under(prepared.hash_key, key.as_bytes());
        self.rate_buckets.take(h, cost, gcra, now_ns)
    }

    fn session_insert(&self, session: SessionRecord, max_per_user: usize, now: u64) -> Result<()> {
        let mut s = lock(&self.sessions);
        if s.by_id.len() >= self.capacity {
            s.purge_expired(now);
            if s.by_id.len() >= self.capacity {
                return err(ErrorKind::CapacityExceeded, "the session store is full");
            }
        }
        let user_ids: Vec<String> = s.by_user.get(&session.user_id).cloned().unwrap_or_default();
        if user_ids.len() >= max_per_user.max(1) {
            let oldest = user_ids
                .iter()
                .filter_map(|id| s.by_id.get(id))
                .min_by_key(|x| (!x.record.revoked, x.record.last_used_at))
                .map(|x| x.record.id.clone());
            if let Some(id) = oldest {
                s.remove(&id);
            }
        }
        s.by_hash
            .insert(session.refresh_hash, (session.id.clone(), true));
        s.by_user
            .entry(session.user_id.clone())
            .or_default()
            .push(session.id.clone());
        s.by_id.insert(
            session.id.clone(),
            StoredSession {
                record: session,
                previous: VecDeque::new(),
                last_rotation: None,
                retries: Vec::new(),
            },
        );
        Ok(())
    }

    fn session_rotate(
        &self,
        presented: &[u8; 32],
        replacement: [u8; 32],
        now: u64,
        idle_until: u64,
        grace: u64,
    ) -> Result<Rotation> {
        let mut guard = lock(&self.sessions);
        let s = &mut *guard;
        let Some((id, current)) = s.by_hash.get(presented).cloned() else {
            return Ok(Rotation::Unknown);
        };
        let Some(stored) = s.by_id.get_mut(&id) else {
            return Ok(Rotation::Unknown);
        };
        if stored.record.revoked {
            return Ok(Rotation::Revoked(stored.record.clone()));
        }
        if !current {
            let retry = matches!(stored.last_rotation,
                Some((last, at)) if last == *presented && now < at.saturating_add(grace));
            if !retry {
                stored.record.revoked = true;
                return Ok(Rotation::Reused(stored.record.clone()));
            }
            if stored.retries.len() >= MAX_GRACE_RETRIES {
                return Ok(Rotation::RetriesExhausted(stored.record.clone()));
            }
            let expired_at = stored.record.expires_at;
            stored.retries.push(replacement);
            stored.record.last_used_at = now;
            stored.record.expires_at = idle_until.min(stored.record.absolute_expires_at);
            let record = stored.record.clone();
            s.by_hash.insert(replacement, (id, true));
            return Ok(Rotation::Retried { record, expired_at });
        }
        let expired_at = stored.record.expires_at;
        // Every token of the session that was current stops being so: the presented one,
        // the main one and the retries' (whichever of them was presented).
        let mut stale: Vec<[u8; 32]> = std::mem::take(&mut stored.retries);
        stale.push(stored.record.refresh_hash);
        stale.retain(|h| h != presented);
        stale.push(*presented);
        for h in stale {
            stored.previous.push_back(h);
            s.by_hash.insert(h, (id.clone(), false));
        }
        while stored.previous.len() > REMEMBERED_ROTATIONS {
            if let Some(old) = stored.previous.pop_front() {
                s.by_hash.remove(&old);
            }
        }
        stored.last_rotation = Some((*presented, now));
        stored.record.refresh_hash = replacement;
        stored.record.last_used_at = now;
        stored.record.expires_at = idle_until.min(stored.record.absolute_expires_at);
        let record = stored.record.clone();
        s.by_hash.insert(replacement, (id, true));
        Ok(Rotation::Rotated { record, expired_at })
    }

    fn session_get(&self, id: &str) -> Result<Option<SessionRecord>> {
        Ok(lock(&self.sessions).by_id.get(id).map(|s| s.record.clone()))
    }

    fn session_revoke(&self, id: &str) -> Result<bool> {
        let mut s = lock(&self.sessions);
        Ok(match s.by_id.get_mut(id) {
            Some(stored) => {
                stored.record.revoked = true;
                true
            }
            None => false,
        })
    }

    fn session_revoke_all(&self, user_id: &str) -> Result<usize> {
        let mut guard = lock(&self.sessions);
        let s = &mut *guard;
        let mut count = 0;
        for id in s.by_user.get(user_id).into_iter().flatten() {
            if let Some(stored) = s.by_id.get_mut(id) {
                count += usize::from(!stored.record.revoked);
                stored.record.revoked = true;
            }
        }
        Ok(count)
    }

    fn session_list(&self, user_id: &str, now: u64) -> Result<Vec<SessionRecord>> {
        let s = lock(&self.sessions);
        let mut list: Vec<SessionRecord> = s
            .by_user
            .get(user_id)
            .into_iter()
            .flatten()
            .filter_map(|id| s.by_id.get(id))
            .filter(|x| !x.record.revoked && x.record.expires_at > now)
            .map(|x| x.record.clone())
            .collect();
        list.sort_by_key(|r| std::cmp::Reverse(r.last_used_at));
        Ok(list)
    }

    fn device_seen(&self, user_id: &str, device_id: &str) -> Result<bool> {
        let mut guard = lock(&self.sessions);
        let s = &mut *guard;
        if s.devices.len() >= self.capacity && !s.devices.contains_key(user_id) {
            // Forget devices of users with no session left, to stay bounded.
            let live_users = &s.by_user;
            s.devices.retain(|user, _| live_users.contains_key(user));
        }
        let devices = s.devices.entry(user_id.to_string()).or_default();
        if devices.iter().any(|d| d == device_id) {
            return Ok(true);
        }
        devices.push_back(device_id.to_string());
        if devices.len() > REMEMBERED_DEVICES {
            devices.pop_front();
        }
        Ok(false)
    }

    fn apikey_insert(&self, record: ApiKeyRecord) -> Result<()> {
        let mut keys = lock(&self.apikeys);
        if keys.len() >= self.capacity {
            return err(ErrorKind::CapacityExceeded, "the API key store is full");
        }
        if keys.contains_key(&record.id) {
            return err(ErrorKind::InvalidInput, "an API key with this id exists");
        }
        keys.insert(record.id.clone(), record);
        Ok(())
    }

    fn apikey_get(&self, id: &str) -> Result<Option<ApiKeyRecord>> {
        Ok(lock(&self.apikeys).get(id).cloned())
    }

    fn apikey_list(&self) -> Result<Vec<ApiKeyRecord>> {
        let mut list: Vec<_> = lock(&self.apikeys).values().cloned().collect();
        list.sort_by(|a, b| (a.created_at, &a.id).cmp(&(b.created_at, &b.id)));
        Ok(list)
    }

    fn apikey_set_status(&self, id: &str, status: ApiKeyStatus) -> Result<bool> {
        Ok(lock(&self.apikeys)
            .get_mut(id)
            .map(|r| r.status = status)
            .is_some())
    }

    fn apikey_roll(
        &self,
        id: &str,
        mut replacement: ApiKeyRecord,
        grace_until: u64,
        now: u64,
    ) -> Result<RollOutcome> {
        let mut keys = lock(&self.apikeys);
        let Some(old) = keys.get(id) else {
            return Ok(RollOutcome::NotFound);
        };
        match old.status {
            ApiKeyStatus::Revoked => return Ok(RollOutcome::Revoked),
            ApiKeyStatus::Disabled => return Ok(RollOutcome::Disabled),
            ApiKeyStatus::Active => {}
        }
        if old.replaced_by.is_some() {
            return Ok(RollOutcome::AlreadyRolled);
        }
        if old.expires_at.is_some_and(|t| now >= t) {
            return Ok(RollOutcome::Expired);
        }
        if keys.contains_key(&replacement.id) {
            return err(ErrorKind::InvalidInput, "an API key with this id exists");
        }
        if keys.len() >= self.capacity {
            return err(ErrorKind::CapacityExceeded, "the API key store is full");
        }
        replacement.credits = old.credits;
        let new_id = replacement.id.clone();
        keys.insert(new_id.clone(), replacement.clone());
        if let Some(old) = keys.get_mut(id) {
            old.credits = old.credits.map(|_| 0);
            old.replaced_by = Some(new_id);
            old.grace_until = Some(grace_until);
        }
        Ok(RollOutcome::Rolled(Box::new(replacement)))
    }

    fn apikey_take_credit(&self, id: &str, now: u64) -> Result<bool> {
        let mut keys = lock(&self.apikeys);
        if let Some(r) = keys.get_mut(id) {
            r.last_used_at = Some(now);
        }
        // A rolled key's balance lives with the newest key of its line.
        let mut payer = id.to_string();
        for _ in 0..crate::apikey::MAX_ROLL_CHAIN {
            match keys.get(&payer).and_then(|r| r.replaced_by.clone()) {
                Some(next) if keys.contains_key(&next) => payer = next,
                _ => break,
            }
        }
        Ok(
            match keys.get_mut(&payer).and_then(|r| r.credits.as_mut()) {
                Some(0) => false,
                Some(n) => {
                    *n -= 1;
                    true
                }
                None => true,
            },
        )
    }

    fn apikey_touch(&self, id: &str, now: u64) -> Result<()> {
        if let Some(r) = lock(&self.apikeys).get_mut(id) {
            r.last_used_at = Some(now);
        }
        Ok(())
    }

    fn apikey_delete(&self, id: &str) -> Result<bool> {
        Ok(lock(&self.apikeys).remove(id).is_some())
    }

    fn nonce_insert(&self, scope: &str, nonce: &str, expires_at: u64, now: u64) -> Result<bool> {
        let key = nonce_key(scope, nonce);
        let mut n = lock(&self.nonces);
        n.forget_expired(now);
        if let Some(&until) = n.seen.get(&key) {
            if until > now {
                return Ok(false);
            }
        }
        if expires_at <= now {
            // Already outside its window: nothing to remember.
            return Ok(true);
        }
        if n.seen.len() >= self.capacity {
            return err(
                ErrorKind::CapacityExceeded,
                "the nonce store is full of unexpired nonces",
            );
        }
        n.seen.insert(key, expires_at);
        n.expiries.push(Reverse((expires_at, key)));
        Ok(true)
    }

    fn otp_step_advance(&self, key: &str, step: u64, expires_at: u64, now: u64) -> Result<bool> {
        let mut c = lock(&self.codes);
        if let Some(&(last, until)) = c.steps.get(key) {
            if until > now && step <= last {
                return Ok(false);
            }
        }
        make_room(
            &mut c.steps,
            key,
            self.capacity,
            |&(_, until)| until <= now,
            "one-time-code step",
        )?;
        c.steps.insert(key.to_string(), (step, expires_at));
        Ok(true)
    }

    fn attempt_begin(&self, key: &str, now: u64, policy: &ThrottlePolicy) -> Result<AttemptGate> {
        let mut c = lock(&self.codes);
        let live = c.attempts.get(key).filter(|a| a.forget_at > now);
        if let Some(a) = live {
            if a.locked_until > now {
                return Ok(AttemptGate::Locked {
                    until: a.locked_until,
                });
            }
        }
        let failures = live.map_or(0, |a| a.failures).saturating_add(1);
        make_room(
            &mut c.attempts,
            key,
            self.capacity,
            |a| a.forget_at <= now,
            "attempt",
        )?;
        let locked_until = now.saturating_add(policy.delay_after(failures));
        c.attempts.insert(
            key.to_string(),
            Attempts {
                failures,
                locked_until,
                forget_at: locked_until.max(now.saturating_add(policy.forget_after)),
            },
        );
        Ok(AttemptGate::Allowed { failures })
    }

    fn attempts_clear(&self, key: &str) -> Result<()> {
        lock(&self.codes).attempts.remove(key);
        Ok(())
    }

    fn lockout_begin(
        &self,
        account: &str,
        cap: u32,
        forget_after: u64,
        now: u64,
    ) -> Result<LockoutGate> {
        let mut c = lock(&self.codes);
        let failures = c
            .lockouts
            .get(account)
            .filter(|l| l.forget_at > now)
            .map_or(0, |l| l.failures);
        if failures >= cap {
            return Ok(LockoutGate::Locked { failures });
        }
        make_room(
            &mut c.lockouts,
            account,
            self.capacity,
            |l| l.forget_at <= now,
            "lockout",
        )?;
        let failures = failures + 1;
        let forget_at = if failures >= cap {
            u64::MAX
        } else {
            now.saturating_add(forget_after)
        };
        c.lockouts.insert(
            account.to_string(),
            Lockout {
                failures,
                forget_at,
            },
        );
        Ok(LockoutGate::Allowed { failures })
    }

    fn lockout_clear(&self, account: &str) -> Result<()> {
        lock(&self.codes).lockouts.remove(account);
        Ok(())
    }

    fn lockout_failures(&self, account: &str, now: u64) -> Result<u32> {
        Ok(lock(&self.codes)
            .lockouts
            .get(account)
            .filter(|l| l.forget_at > now)
            .map_or(0, |l| l.failures))
    }

    fn pending_secret_put(
        &self,
        key: &str,
        secret: &[u8],
        expires_at: u64,
        now: u64,
    ) -> Result<()> {
        let mut c = lock(&self.codes);
        make_room(
            &mut c.pending,
            key,
            self.capacity,
            |(_, until)| *until <= now,
            "pending secret",
        )?;
        c.pending
            .insert(key.to_string(), (secret.to_vec(), expires_at));
        Ok(())
    }

    fn pending_secret_get(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>> {
        Ok(lock(&self.codes)
            .pending
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(secret, _)| secret.clone()))
    }

    fn pending_secret_remove(&self, key: &str) -> Result<bool> {
        Ok(lock(&self.codes).pending.remove(key).is_some())
    }

    fn challenge_issue(
        &self,
        key: &str,
        mut challenge: ChallengeRecord,
        max_attempts: u32,
        now: u64,
    ) -> Result<ChallengeIssue> {
        let mut c = lock(&self.codes);
        if let Some(live) = c.challenges.get(key).filter(|x| x.expires_at > now) {
            if live.attempts >= max_attempts {
                return Ok(ChallengeIssue::Locked {
                    until: live.expires_at,
                });
            }
            if live.resend_after > now {
                return Ok(ChallengeIssue::Cooldown {
                    until: live.resend_after,
                });
            }
            challenge.attempts = challenge.attempts.max(live.attempts);
        }
        make_room(
            &mut c.challenges,
            key,
            self.capacity,
            |x| x.expires_at <= now,
            "challenge",
        )?;
        let attempts = challenge.attempts;
        c.challenges.insert(key.to_string(), challenge);
        Ok(ChallengeIssue::Issued { attempts })
    }

    fn challenge_attempt(
        &self,
        key: &str,
        code_hash: &[u8; 32],
        max_attempts: u32,
        now: u64,
    ) -> Result<ChallengeAttempt> {
        let mut c = lock(&self.codes);
        let Some(live) = c.challenges.get_mut(key).filter(|x| x.expires_at > now) else {
            return Ok(ChallengeAttempt::Missing);
        };
        if live.attempts >= max_attempts {
            return Ok(ChallengeAttempt::Locked {
                until: live.expires_at,
            });
        }
        if ct_eq(&live.code_hash, code_hash) {
            c.challenges.remove(key);
            return Ok(ChallengeAttempt::Accepted);
        }
        live.attempts += 1;
        Ok(ChallengeAttempt::Wrong {
            remaining: max_attempts - live.attempts,
        })
    }

    fn challenge_remove(&self, key: &str) -> Result<bool> {
        Ok(lock(&self.codes).challenges.remove(key).is_some())
    }

    fn recovery_replace(&self, user: &str, hashes: Vec<[u8; 32]>) -> Result<()> {
        let mut c = lock(&self.codes);
        make_room(
            &mut c.recovery,
            user,
            self.capacity,
            |h| h.is_empty(),
            "recovery code",
        )?;
        c.recovery.insert(user.to_string(), hashes);
        Ok(())
    }

    fn recovery_consume(&self, user: &str, hash: &[u8; 32]) -> Result<bool> {
        let mut c = lock(&self.codes);
        let Some(hashes) = c.recovery.get_mut(user) else {
            return Ok(false);
        };
        // Compare against every hash, so timing says nothing about which one matched.
        let mut found = None;
        for (i, h) in hashes.iter().enumerate() {
            if ct_eq(h, hash) {
                found = Some(i);
            }
        }
        Ok(found.map(|i| hashes.swap_remove(i)).is_some())
    }

    fn recovery_remaining(&self, user: &str) -> Result<usize> {
        Ok(lock(&self.codes).recovery.get(user).map_or(0, Vec::len))
    }
}
