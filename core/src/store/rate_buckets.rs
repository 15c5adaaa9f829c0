//! The in-memory backend of rate limits: one number per key (when its bucket is full
//! again), in shards so checks on different keys rarely wait for each other. Keys are
//! stored as a 64-bit keyed hash (SipHash with a random key per process: nobody can make
//! two keys collide on purpose), so a million keys take a few tens of MiB.
//!
//! Bounded: a shard at its share of the capacity (with 1/8 of slack, as keys do not spread
//! evenly) first forgets the keys whose buckets are full again (forgetting them changes no
//! decision), and, when everything left is live, the key closest to full among the last
//! keys inserted. That last case gives one key a fresh bucket, and needs more live keys
//! than the capacity: a client spraying random keys fills the map with keys that are each
//! nearly full, which is what it would have had anyway, while a key being held at its limit
//! is far from full and is not picked.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::Mutex;

use crate::ratelimit::{Gcra, RateState};

const SHARDS: usize = 16;
/// How many recently inserted keys are kept as eviction candidates.
const RECENT: usize = 32;

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

#[derive(Default)]
struct Shard {
    full_at: Map,
    /// Inserts since the last sweep: a sweep of a full shard runs at most once per eighth
    /// of its capacity, so a shard full of live keys costs O(1) per insert, not O(n).
    inserts_since_sweep: usize,
    /// The last keys inserted, round robin: where eviction looks first.
    recent: Vec<u64>,
    recent_next: usize,
}

pub(crate) struct RateBuckets {
    shards: Vec<Mutex<Shard>>,
    per_shard: usize,
    hasher: RandomState,
}

impl RateBuckets {
    pub(crate) fn new(capacity: usize) -> Self {
        RateBuckets {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: {
                let share = capacity.div_ceil(SHARDS).max(1);
                share + share / 8
            },
            hasher: RandomState::new(),
        }
    }

    pub(crate) fn take(&self, key: &str, cost: u64, gcra: &Gcra, now_ns: u64) -> RateState {
        let h = self.hasher.hash_one(key);
        let mut shard = super::lock(&self.shards[(h as usize) % SHARDS]);
        let known = shard.full_at.get(&h).copied().filter(|&t| t > now_ns);
        let state = gcra.take(known, cost, now_ns);
        if cost == 0 || !state.allowed {
            return state;
        }
        if known.is_none() {
            if shard.full_at.len() >= self.per_shard {
                shard.make_room(self.per_shard, now_ns);
            }
            shard.remember(h);
        }
        shard.full_at.insert(h, state.full_at_ns);
        state
    }

    /// Keys held (live or not yet swept), for tests and memory measurements.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| super::lock(s).full_at.len())
            .sum()
    }
}

impl Shard {
    fn make_room(&mut self, capacity: usize, now_ns: u64) {
        self.inserts_since_sweep += 1;
        if self.inserts_since_sweep >= capacity / 8 {
            self.inserts_since_sweep = 0;
            self.full_at.retain(|_, &mut t| t > now_ns);
        }
        if self.full_at.len() >= capacity {
            let closest = self
                .recent
                .iter()
                .filter_map(|k| self.full_at.get(k).map(|&t| (*k, t)))
                .min_by_key(|&(_, t)| t)
                .map(|(k, _)| k)
                // None of the recent keys is held any more: take any (rare).
                .or_else(|| self.full_at.keys().next().copied());
            if let Some(k) = closest {
                self.full_at.remove(&k);
            }
        }
    }

    fn remember(&mut self, h: u64) {
        if self.recent.len() < RECENT {
            self.recent.push(h);
        } else {
            self.recent[self.recent_next] = h;
            self.recent_next = (self.recent_next + 1) % RECENT;
        }
    }
}
