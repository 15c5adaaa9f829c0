//! Redis-backed checks per second: rate-limit checks and nonce checks, one at a time and
//! from many threads, against the server at `AUTHGATE_REDIS_URL` (`make bench` starts a
//! private one). Prints JSON lines for `bench/report.py`.

use std::sync::Arc;
use std::thread;
use std::time::Instant;

use authgate_core::clock::Clock;
use authgate_core::ratelimit::{Policy, RateLimiter};
use authgate_core::store::{RedisConfig, RedisStore, Store};

const SECONDS: f64 = 2.0;

/// Calls `op(thread, i)` from `threads` threads for about `SECONDS`; answers calls per second.
fn throughput(threads: usize, op: impl Fn(usize, u64) + Send + Sync + 'static) -> f64 {
    let op = Arc::new(op);
    let started = Instant::now();
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let op = op.clone();
            thread::spawn(move || {
                let mut n = 0u64;
                while started.elapsed().as_secs_f64() < SECONDS {
                    for _ in 0..64 {
                        op(t, n);
                        n += 1;
                    }
                }
                n
            })
        })
        .collect();
    let calls: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    calls as f64 / started.elapsed().as_secs_f64()
}

fn main() {
    let url = std::env::var("AUTHGATE_REDIS_URL").expect("AUTHGATE_REDIS_URL");
    let mut config = RedisConfig::new(&url);
    config.prefix = "bench:".into();
    config.max_idle = 64;
    let store = Arc::new(RedisStore::new(config).unwrap());
    store.ping().unwrap();
    let limiter = Arc::new(RateLimiter::new(store.clone()));
    // A limit no check reaches: every call is an allowed request that writes its bucket.
    limiter
        .set_policy("api", Policy::per_minute(1_000_000_000).unwrap())
        .unwrap();
    for threads in [1, 8, 32] {
        let l = limiter.clone();
        let keys: Arc<Vec<String>> = Arc::new((0..10_000).map(|i| format!("app-{i}")).collect());
        let ops = throughput(threads, move |t, i| {
            let key = &keys[(t * 7919 + i as usize) % keys.len()];
            assert!(l.check("api", key, 1).unwrap().allowed);
        });
        println!(
            "{{\"bench\": \"redis\", \"op\": \"rate-limit check\", \"threads\": {threads}, \"ops_per_sec\": {ops:.0}}}"
        );
        let s = store.clone();
        let now = authgate_core::clock::SystemClock.now();
        let ops = throughput(threads, move |t, i| {
            let nonce = format!("{threads}-{t}-{i}");
            assert!(s.nonce_insert("bench", &nonce, now + 300, now).unwrap());
        });
        println!(
            "{{\"bench\": \"redis\", \"op\": \"nonce check\", \"threads\": {threads}, \"ops_per_sec\": {ops:.0}}}"
        );
    }
}
