//! Memory of the in-memory rate-limit store: RSS before and after one million distinct
//! keys (each left with a live bucket), then a spray of ten million random keys into a
//! store bounded to one million. Prints JSON lines; `make bench` writes them into
//! docs/benchmarks.md.

use std::sync::Arc;

use authgate_core::clock::ManualClock;
use authgate_core::ratelimit::RateLimiter;
use authgate_core::store::MemoryStore;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    const MILLION: usize = 1_000_000;
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let store = Arc::new(MemoryStore::with_capacity(MILLION));
    let limiter = RateLimiter::with_clock(store.clone(), clock.clone());
    let before = rss_kib();
    let mut key = String::with_capacity(32);
    for i in 0..MILLION {
        key.clear();
        key.push_str("app-");
        key.push_str(&i.to_string());
        limiter.check("default", &key, 1).unwrap();
    }
    let after = rss_kib();
    println!(
        "{{\"what\": \"1M distinct keys\", \"keys_held\": {}, \"rss_growth_kib\": {}, \"bytes_per_key\": {:.1}}}",
        store.rate_limit_keys(),
        after - before,
        (after - before) as f64 * 1024.0 / MILLION as f64
    );

    // Ten million random keys, one per request, the clock moving 1 ms each 100 requests:
    // the store never holds more than its bound, and memory stops growing.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut peak_keys = 0;
    for i in 0..10 * MILLION {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        key.clear();
        key.push_str("spray-");
        key.push_str(&x.to_string());
        limiter.check("default", &key, 1).unwrap();
        if i % 100 == 0 {
            clock.advance_millis(1);
        }
        if i % 100_000 == 0 {
            peak_keys = peak_keys.max(store.rate_limit_keys());
        }
    }
    let sprayed = rss_kib();
    println!(
        "{{\"what\": \"10M random keys into a store bounded to 1M\", \"peak_keys_held\": {}, \"rss_kib_total\": {}, \"rss_growth_after_1M_kib\": {}}}",
        peak_keys.max(store.rate_limit_keys()),
        sprayed,
        sprayed.saturating_sub(after)
    );
}
