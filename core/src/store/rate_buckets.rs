//! The in-memory backend of rate limits: one number per key (when its bucket is full
//! again), in shards so checks on different keys rarely wait for each other. Keys are
//! stored as a 64-bit keyed hash (SipHash-1-3 with a random key per store: nobody can make
//! two keys collide on purpose), so a million keys take a few tens of MiB.
//!
//! Bounded, and never at the cost of a decision: a key is only ever forgotten once its
//! bucket is full again (forgetting it then changes nothing). A shard at its share of the
//! capacity (with 1/8 of slack, as keys do not spread evenly) sweeps out such keys; when
//! every key it holds is still live, a *new* key is refused with `capacity_exceeded`
//! (fail closed) and counted in [`RateBuckets::refusals`], while every key already held
//! keeps being metered exactly. So no spray of keys can hand a key held at its limit a
//! fresh bucket; the price is that, while the store is full of live keys, new clients are
//! turned away until some bucket refills (size the capacity above the live keys you
//! expect).
//!
//! Sweeps are amortised: a shard sweeps only when some key can have refilled (a lower
//! bound on the held keys' refill times has passed) and it has done at least an eighth of
//! its capacity in checks since the last sweep, so a sweep costs at most eight entries
//! per check, whatever the timing of the keys.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

use siphasher::sip::SipHasher13;

use crate::error::{Error, ErrorKind, Result};
use crate::ratelimit::{Gcra, RateState};

/// Shards of a large store; a small one has fewer (one per 256 keys of capacity, rounded
/// down to a power of two), so its keys are not spread too thin for the slack to even them
/// out.
const MAX_SHARDS: usize = 16;
const KEYS_PER_SHARD_AT_LEAST: usize = 256;

/// The keys are already uniform hashes: use them as they are.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Map = HashMap<u64, u64, BuildHasherDefault<Prehashed>>;

struct Shard {
    full_at: Map,
    /// Checks since the last sweep (capped): a sweep needs an eighth of the shard's
    /// capacity of them, so its cost is spread over the checks that paid for it.
    credit: usize,
    /// No held key refills before this time (a lower bound; `u64::MAX` when empty): until
    /// then a sweep would free nothing.
    earliest: u64,
}

impl Default for Shard {
    fn default() -> Self {
        Shard {
            full_at: Map::default(),
            credit: 0,
            earliest: u64::MAX,
        }
    }
}

/// A shard's lock. A check holds it for a few tens of nanoseconds (a sweep or a growing
/// map for longer), and a mutex's release is an atomic read-modify-write (it must learn
/// whether a thread sleeps on it), a tenth of a check: on Linux a spin lock, released with a
/// plain store; a thread that finds it taken calls `sched_yield` before trying again. On
/// other systems a mutex: on Apple's and Android's, a spinning thread of a higher priority
/// can keep a lower one from ever releasing a lock, and Windows yields only within a
/// processor.
#[cfg(target_os = "linux")]
type ShardLock = spin::mutex::SpinMutex<Shard, spin::relax::Yield>;
#[cfg(not(target_os = "linux"))]
type ShardLock = std::sync::Mutex<Shard>;

#[cfg(target_os = "linux")]
fn lock(shard: &ShardLock) -> impl std::ops::DerefMut<Target = Shard> + '_ {
    shard.lock()
}

#[cfg(not(target_os = "linux"))]
fn lock(shard: &ShardLock) -> impl std::ops::DerefMut<Target = Shard> + '_ {
    super::lock(shard)
}

pub(crate) struct RateBuckets {
    shards: Vec<ShardLock>,
    per_shard: usize,
    keys: (u64, u64),
    refusals: AtomicU64,
}

impl RateBuckets {
    /// Buckets for about `capacity` keys, hashed with `hash_key` (random in production;
    /// fixed only where a test needs reproducible shard placement).
    pub(crate) fn new(capacity: usize, hash_key: (u64, u64)) -> Self {
        let shards = 1
            << (capacity / KEYS_PER_SHARD_AT_LEAST)
                .clamp(1, MAX_SHARDS)
                .ilog2();
        RateBuckets {
            shards: (0..shards)
                .map(|_| ShardLock::new(Shard::default()))
                .collect(),
            per_shard: {
                let share = capacity.div_ceil(shards).max(1);
                share + share / 8
            },
            keys: hash_key,
            refusals: AtomicU64::new(0),
        }
    }

    /// The hash of the key made of `pieces` one after the other (the same as of the
    /// joined bytes).
    fn hash(&self, pieces: &[&[u8]]) -> u64 {
        let mut h = SipHasher13::new_with_keys(self.keys.0, self.keys.1);
        for piece in pieces {
            h.write(piece);
        }
        h.finish()
    }

    /// [`Gcra::take`] on the key made of `pieces` (its bytes one after the other).
    pub(crate) fn take(
        &self,
        pieces: &[&[u8]],
        cost: u64,
        gcra: &Gcra,
        now_ns: u64,
    ) -> Result<RateState> {
        let h = self.hash(pieces);
        // A mask, not `%` (a division is a tenth of a check). Bits 32 and up: the maps
        // place keys by the low bits and tag them with the top seven, so a shard's keys
        // must not share either.
        let mut shard = lock(&self.shards[(h >> 32) as usize & (self.shards.len() - 1)]);
        let shard = &mut *shard;
        shard.credit = shard.credit.saturating_add(1).min(self.per_shard);
        if let Some(held) = shard.full_at.get_mut(&h) {
            // A key held: one lookup, updated in place.
            let state = gcra.take(Some(*held).filter(|&t| t > now_ns), cost, now_ns);
            if cost != 0 && state.allowed {
                *held = state.full_at_ns;
                shard.earliest = shard.earliest.min(state.full_at_ns);
            }
            return Ok(state);
        }
        let state = gcra.take(None, cost, now_ns);
        if cost == 0 || !state.allowed {
            return Ok(state);
        }
        if shard.full_at.len() >= self.per_shard {
            shard.sweep(self.per_shard, now_ns);
            if shard.full_at.len() >= self.per_shard {
                self.refusals.fetch_add(1, Ordering::Relaxed);
                let wait_ns = shard.earliest.saturating_sub(now_ns);
                return Err(Error::new(
                    ErrorKind::CapacityExceeded,
                    "the rate-limit store is full of keys that are still being limited: \
                     a new key is refused until one of them refills",
                )
                .with_retry_after(wait_ns.div_ceil(1_000_000_000).max(1)));
            }
        }
        shard.earliest = shard.earliest.min(state.full_at_ns);
        shard.full_at.insert(h, state.full_at_ns);
        Ok(state)
    }

    /// Keys held (live or not yet swept), for tests and memory measurements.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).full_at.len()).sum()
    }

    /// New keys refused because their shard was full of live keys, since the store began.
    pub(crate) fn refusals(&self) -> u64 {
        self.refusals.load(Ordering::Relaxed)
    }
}

impl Shard {
    /// Forgets the keys whose buckets are full again, when some can be and the checks
    /// since the last sweep have paid for it.
    fn sweep(&mut self, capacity: usize, now_ns: u64) {
        if now_ns < self.earliest || self.credit < (capacity / 8).max(1) {
            return;
        }
        self.credit = 0;
        let mut earliest = u64::MAX;
        self.full_at.retain(|_, &mut t| {
            let live = t > now_ns;
            if live {
                earliest = earliest.min(t);
            }
            live
        });
        self.earliest = earliest;
    }
}
