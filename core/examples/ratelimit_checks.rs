//! A fixed amount of rate-limit work for instruction counting (`valgrind --tool=callgrind`):
//! `ratelimit_checks hot N` checks one key N times, `ratelimit_checks spread N` checks N
//! checks over 100,000 keys round robin, both on a stopped manual clock. Instruction counts
//! are repeatable on a shared machine where wall times are not.

use std::sync::Arc;

use authgate_core::clock::ManualClock;
use authgate_core::ratelimit::{Policy, RateLimiter};
use authgate_core::store::MemoryStore;

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "hot".into());
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let limiter = RateLimiter::with_clock(Arc::new(MemoryStore::new()), clock);
    limiter
        .set_policy("p", Policy::per_second(1_000_000_000 / 1_000).unwrap())
        .unwrap();
    let keys: Vec<String> = (0..100_000).map(|i| format!("key-{i}")).collect();
    let mut allowed = 0u64;
    for i in 0..n {
        let key = if mode == "hot" {
            &keys[0]
        } else {
            &keys[i % keys.len()]
        };
        allowed += u64::from(limiter.check("p", key, 1).unwrap().allowed);
    }
    println!("{mode} {n}: {allowed} allowed");
}
