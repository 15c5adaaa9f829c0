//! The in-memory backend of rate limits: one number per key (when its bucket is full
//! again), in shards so checks on different keys rarely wait for each other. Keys are
//! stored as a 64-bit keyed hash (SipHash-1-3 with a random key per store: nobody can make
//! two keys collide on purpose), so a million keys take a few tens of MiB. A policy's keys
//! are hashed under a key of the policy's own, itself the store's keyed hash of the
//! policy's name, so a check hashes only its key.
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
    id: u64,
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
            id: siphash13(hash_key, b"store id"),
            refusals: AtomicU64::new(0),
        }
    }

    /// The hash of `key` under the store's own hash key.
    pub(crate) fn hash(&self, key: &[u8]) -> u64 {
        siphash13(self.keys, key)
    }

    /// A number that tells this store's prepared policies from another's (derived from its
    /// hash key, which is random per store).
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// The hash of `key` under `hash_key` (one of [`policy_key`](Self::policy_key)'s).
    pub(crate) fn hash_under(&self, hash_key: (u64, u64), key: &[u8]) -> u64 {
        siphash13(hash_key, key)
    }

    /// The hash key of a policy's buckets: two outputs of the store's keyed hash over the
    /// policy's name (as `<length>:<name>:`, then 0 or 1), so each policy's keys are hashed
    /// under a key of its own that nobody knows without the store's. A bucket is then the
    /// hash of its key alone under its policy's key: a check hashes the key, not the
    /// policy's name again, and a policy's hash key can be worked out once.
    pub(crate) fn policy_key(&self, policy: &[u8]) -> (u64, u64) {
        // `<length>:<name>:` and one byte: 69 bytes at most for a limiter's names.
        let mut prefix = [0u8; 80];
        let mut digits = [0u8; 20];
        let length = crate::util::decimal(policy.len() as u64, &mut digits);
        let mut derive = |pieces: &[&[u8]]| -> u64 {
            let total: usize = pieces.iter().map(|p| p.len()).sum();
            if total <= prefix.len() {
                let mut at = 0;
                for piece in pieces {
                    prefix[at..at + piece.len()].copy_from_slice(piece);
                    at += piece.len();
                }
                siphash13(self.keys, &prefix[..at])
            } else {
                siphash13(self.keys, &pieces.concat())
            }
        };
        (
            derive(&[length, b":", policy, b":", &[0]]),
            derive(&[length, b":", policy, b":", &[1]]),
        )
    }

    /// [`Gcra::take`] on the key whose [`hash`](Self::hash) is `h`.
    pub(crate) fn take(&self, h: u64, cost: u64, gcra: &Gcra, now_ns: u64) -> Result<RateState> {
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

/// SipHash-1-3 (Aumasson and Bernstein's SipHash with one compression round and three
/// finalisation rounds) of `bytes` under the 128-bit key `(k0, k1)`, in one pass over a
/// contiguous message: a streaming hasher fed the same bytes in pieces spends more on its
/// buffering than on the rounds for keys this short.
fn siphash13(keys: (u64, u64), bytes: &[u8]) -> u64 {
    siphash::<1, 3>(keys, bytes)
}

/// SipHash with `C` compression and `D` finalisation rounds.
#[inline(always)]
fn siphash<const C: usize, const D: usize>((k0, k1): (u64, u64), bytes: &[u8]) -> u64 {
    #[inline(always)]
    fn round(v: &mut [u64; 4]) {
        v[0] = v[0].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(13) ^ v[0];
        v[0] = v[0].rotate_left(32);
        v[2] = v[2].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(16) ^ v[2];
        v[0] = v[0].wrapping_add(v[3]);
        v[3] = v[3].rotate_left(21) ^ v[0];
        v[2] = v[2].wrapping_add(v[1]);
        v[1] = v[1].rotate_left(17) ^ v[2];
        v[2] = v[2].rotate_left(32);
    }
    #[inline(always)]
    fn word(b: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 8];
        w.copy_from_slice(&b[at..at + 8]);
        u64::from_le_bytes(w)
    }
    #[inline(always)]
    fn half(b: &[u8], at: usize) -> u64 {
        let mut w = [0u8; 4];
        w.copy_from_slice(&b[at..at + 4]);
        u64::from(u32::from_le_bytes(w))
    }
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let n = bytes.len();
    let whole = n & !7;
    let mut at = 0;
    while at < whole {
        let m = word(bytes, at);
        v[3] ^= m;
        for _ in 0..C {
            round(&mut v);
        }
        v[0] ^= m;
        at += 8;
    }
    // The last 0 to 7 bytes, little-endian, under the length's low byte. Loads that
    // overlap put the same bytes in the same places.
    let left = n - whole;
    let tail = match left {
        0 => 0,
        _ if n >= 8 => word(bytes, n - 8) >> (64 - 8 * left),
        4.. => half(bytes, 0) | half(bytes, n - 4) << (8 * (left - 4)),
        2.. => {
            u64::from(u16::from_le_bytes([bytes[0], bytes[1]]))
                | u64::from(u16::from_le_bytes([bytes[n - 2], bytes[n - 1]])) << (8 * (left - 2))
        }
        _ => u64::from(bytes[0]),
    };
    let m = (n as u64) << 56 | tail;
    v[3] ^= m;
    for _ in 0..C {
        round(&mut v);
    }
    v[0] ^= m;
    v[2] ^= 0xff;
    for _ in 0..D {
        round(&mut v);
    }
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::Hasher;

    #[test]
    fn siphash_1_3_is_the_reference_one_for_every_length_and_offset() {
        // The siphasher crate's SipHasher13 is the reference: every length from 0 to 80
        // bytes (each tail length, through several whole words), at each offset in a buffer
        // (unaligned loads), under random keys.
        let mut next = crate::util::xorshift(0x5a9_1313);
        let buf: Vec<u8> = (0..128).map(|_| next() as u8).collect();
        for _ in 0..16 {
            let keys = (next(), next());
            for len in 0..=80 {
                for at in 0..8 {
                    let bytes = &buf[at..at + len];
                    let mut reference = siphasher::sip::SipHasher13::new_with_keys(keys.0, keys.1);
                    reference.write(bytes);
                    assert_eq!(
                        siphash13(keys, bytes),
                        reference.finish(),
                        "{len} bytes at {at}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_policys_hash_key_is_the_keyed_hash_of_its_length_name_and_index() {
        // Names whose derivation input fits the stack buffer and names that do not (from
        // 76 bytes): both branches are the keyed hash of `<length>:<name>:` and 0 or 1,
        // written out here with `format!`.
        let keys = (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        let buckets = RateBuckets::new(64, keys);
        let mut seen = std::collections::HashSet::new();
        for len in [0usize, 1, 9, 10, 64, 75, 76, 77, 80, 200, 4096] {
            let name = "n".repeat(len);
            let expected = |index: u8| {
                let mut input = format!("{len}:{name}:").into_bytes();
                input.push(index);
                siphash13(keys, &input)
            };
            let got = buckets.policy_key(name.as_bytes());
            assert_eq!(got, (expected(0), expected(1)), "{len}-byte name");
            assert_ne!(got.0, got.1);
            assert!(seen.insert(got), "{len}-byte name");
        }
    }

    #[test]
    fn siphash_2_4_known_answers_from_the_paper() {
        // The same code with two and four rounds is SipHash-2-4, whose authors published
        // outputs for the key 00 01 .. 0f and the messages 00 01 .. (n-1) (the reference
        // implementation's vectors; 15 bytes is the paper's worked example, Appendix A).
        let keys = (0x0706_0504_0302_0100, 0x0f0e_0d0c_0b0a_0908);
        let message: Vec<u8> = (0..64).collect();
        for (len, expected) in [
            (0usize, 0x726f_db47_dd0e_0e31u64),
            (1, 0x74f8_39c5_93dc_67fd),
            (2, 0x0d6c_8009_d9a9_4f5a),
            (3, 0x8567_6696_d7fb_7e2d),
            (4, 0xcf27_94e0_2771_87b7),
            (7, 0xab02_00f5_8b01_d137),
            (8, 0x93f5_f579_9a93_2462),
            (15, 0xa129_ca61_49be_45e5),
            (63, 0x958a_324c_eb06_4572),
        ] {
            assert_eq!(
                siphash::<2, 4>(keys, &message[..len]),
                expected,
                "{len} bytes"
            );
        }
    }
}
