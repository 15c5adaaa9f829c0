//! The in-memory store under a spray of ten million distinct keys, for each kind of entry
//! that an attacker can make it hold: rate-limit buckets, nonces and sessions. The store is
//! bounded to one million entries; this prints how many it held at most, how many requests
//! it refused (`capacity_exceeded`: unexpired nonces and live sessions are never forgotten
//! early, since forgetting would let a replay or a revoked session through), and the
//! process's resident memory, as JSON lines. Run: `cargo run --release -p authgate-core
//! --example store_memory`; docs/reliability.md records a run.

use std::sync::Arc;
use std::time::Instant;

use authgate_core::clock::{Clock, ManualClock};
use authgate_core::ratelimit::RateLimiter;
use authgate_core::store::{MemoryStore, SessionRecord, Store};
use authgate_core::ErrorKind;

const MILLION: u64 = 1_000_000;
const SPRAY: u64 = 10 * MILLION;

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// A fast, reproducible stream of distinct-looking keys.
struct Keys(u64);

impl Keys {
    fn next(&mut self, prefix: &str, out: &mut String) {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        out.clear();
        out.push_str(prefix);
        out.push_str(&self.0.to_string());
    }
}

fn report(what: &str, held: u64, refused: u64, rss_before: u64, started: Instant) {
    println!(
        "{{\"spray\": \"{what}\", \"keys\": {SPRAY}, \"capacity\": {MILLION}, \"peak_held\": {held}, \
         \"refused\": {refused}, \"rss_growth_mib\": {:.1}, \"rss_mib\": {:.1}, \"peak_rss_mib\": {:.1}, \"seconds\": {:.1}}}",
        (status_kib("VmRSS:").saturating_sub(rss_before)) as f64 / 1024.0,
        status_kib("VmRSS:") as f64 / 1024.0,
        status_kib("VmHWM:") as f64 / 1024.0,
        started.elapsed().as_secs_f64(),
    );
}

fn main() {
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let mut key = String::with_capacity(40);
    let mut keys = Keys(0x9E37_79B9_7F4A_7C15);

    // Rate limits: one request per key, 1 ms passing every 100 requests. Idle buckets are
    // full again after their refill and may be forgotten; the store stays at its bound.
    let started = Instant::now();
    let rss = status_kib("VmRSS:");
    let store = Arc::new(MemoryStore::with_capacity(MILLION as usize));
    let limiter = RateLimiter::with_clock(store.clone(), clock.clone());
    let mut peak = 0;
    for i in 0..SPRAY {
        keys.next("ip:", &mut key);
        limiter.check("default", &key, 1).unwrap();
        if i % 100 == 0 {
            clock.advance_millis(1);
        }
        if i % 50_000 == 0 {
            peak = peak.max(store.rate_limit_keys() as u64);
        }
    }
    report("rate-limit keys", peak, 0, rss, started);
    drop(limiter);
    drop(store);

    // Nonces: a 300 s window, 2,000 new nonces a second: at most 600,000 are unexpired
    // at once, and expired ones are forgotten.
    let started = Instant::now();
    let rss = status_kib("VmRSS:");
    let store = MemoryStore::with_capacity(MILLION as usize);
    let (mut refused, mut live_peak) = (0u64, 0u64);
    for i in 0..SPRAY {
        keys.next("n-", &mut key);
        let now = clock.now();
        match store.nonce_insert("sig:client", &key, now + 300, now) {
            Ok(true) => {}
            Ok(false) => panic!("a fresh nonce was called a replay"),
            Err(e) if e.kind() == ErrorKind::CapacityExceeded => refused += 1,
            Err(e) => panic!("{e}"),
        }
        if i % 2_000 == 1_999 {
            clock.advance(1);
        }
        if i % 50_000 == 0 {
            live_peak = live_peak.max(store.nonce_count() as u64);
        }
    }
    report(
        "nonces (2,000/s, 300 s window)",
        live_peak,
        refused,
        rss,
        started,
    );
    // Then ten million more at one instant: past one million unexpired, each is refused.
    let started = Instant::now();
    let now = clock.now();
    let mut refused = 0u64;
    for _ in 0..SPRAY {
        keys.next("burst-", &mut key);
        if let Err(e) = store.nonce_insert("sig:client", &key, now + 300, now) {
            assert_eq!(e.kind(), ErrorKind::CapacityExceeded);
            refused += 1;
        }
    }
    report(
        "nonces (all at one instant)",
        store.nonce_count() as u64,
        refused,
        rss,
        started,
    );
    drop(store);

    // Sessions: ten million logins of distinct users, each session living 600 s, 1,000
    // logins a second: expired sessions are purged when the store is full.
    let started = Instant::now();
    let rss = status_kib("VmRSS:");
    let store = MemoryStore::with_capacity(MILLION as usize);
    let (mut refused, mut held) = (0u64, 0u64);
    for i in 0..SPRAY {
        keys.next("user-", &mut key);
        let now = clock.now();
        let mut hash = [0u8; 32];
        hash[..8].copy_from_slice(&i.to_le_bytes());
        let record = SessionRecord {
            id: format!("s{i}"),
            user_id: key.clone(),
            device_id: "d".into(),
            device_name: None,
            scope: None,
            created_at: now,
            last_used_at: now,
            expires_at: now + 600,
            absolute_expires_at: now + 600,
            refresh_hash: hash,
            revoked: false,
        };
        if let Err(e) = store.session_insert(record, 100, now) {
            assert_eq!(e.kind(), ErrorKind::CapacityExceeded);
            refused += 1;
        }
        if i % 1_000 == 999 {
            clock.advance(1);
        }
        if i % 50_000 == 0 {
            held = held.max(store.session_count() as u64);
        }
    }
    report(
        "sessions (1,000 logins/s, 600 s life)",
        held,
        refused,
        rss,
        started,
    );
}
