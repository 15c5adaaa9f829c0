//! Rate limits (one hot key; 100k keys in turn), allowlist lookups, and argon2id hashing
//! with the default (OWASP) parameters.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

use authgate_core::allowlist::Allowlist;
use authgate_core::password::PasswordHasher;
use authgate_core::ratelimit::{Policy, RateLimiter};
use authgate_core::store::MemoryStore;
use criterion::{criterion_group, criterion_main, Criterion};

/// Hands authgate's answer to the optimiser by reference and asserts it allowed the check:
/// the whole decision is made, and not copied into criterion's slot (a 144-byte decision
/// returned by value cost criterion's loop 15 ns of its own per call, against nothing for
/// `governor`'s `Ok(())`).
fn allowed<E>(answer: &Result<authgate_core::ratelimit::RateDecision, E>) -> bool {
    matches!(std::hint::black_box(answer), Ok(d) if d.allowed)
}

/// The same for `governor`'s answer (`Ok` when allowed).
fn governor_allowed<T, E>(answer: &Result<T, E>) -> bool {
    std::hint::black_box(answer).is_ok()
}

fn bench_limiter(c: &mut Criterion) {
    // A policy generous enough that every check in the run is allowed (the common case).
    let limiter = RateLimiter::new(Arc::new(MemoryStore::new()));
    limiter
        .set_policy("api", Policy::per_second(1_000_000_000 / 2).unwrap())
        .unwrap();
    // governor's keyed limiter (DashMap, quanta clock) with the same generous quota.
    let quota = governor::Quota::per_second(NonZeroU32::new(1_000_000_000 / 2).unwrap());
    let peer = governor::RateLimiter::keyed(quota);
    c.bench_function("limits/ratelimit/check_hot_key", |b| {
        b.iter(|| assert!(allowed(&limiter.check("api", "app-1", 1))))
    });
    let hot = "app-1".to_string();
    c.bench_function("limits/governor/check_hot_key", |b| {
        b.iter(|| assert!(governor_allowed(&peer.check_key(&hot))))
    });
    for n in [1_000usize, 100_000] {
        let keys: Vec<String> = (0..n).map(|i| format!("app-{i}")).collect();
        let label = if n == 1_000 { "1k" } else { "100k" };
        let mut i = 0;
        c.bench_function(&format!("limits/ratelimit/check_{label}_keys"), |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                assert!(allowed(&limiter.check("api", &keys[i], 1)))
            })
        });
        let mut i = 0;
        c.bench_function(&format!("limits/governor/check_{label}_keys"), |b| {
            b.iter(|| {
                i = (i + 1) % keys.len();
                assert!(governor_allowed(&peer.check_key(&keys[i])))
            })
        });
    }
}

fn bench_allowlist(c: &mut Criterion) {
    // 1,000 IPv4 /24s and 1,000 IPv6 /48s with gaps between them (so none merge), as a
    // large corporate list might hold.
    let mut entries: Vec<String> = (0..1000)
        .map(|i| format!("10.{}.{}.0/24", (2 * i) / 256, (2 * i) % 256))
        .collect();
    entries.extend((0..1000).map(|i| format!("2001:db8:{:x}::/48", 2 * i)));
    let list = Allowlist::new(&entries).unwrap();
    let hit: IpAddr = "10.3.200.7".parse().unwrap();
    let miss: IpAddr = "192.0.2.1".parse().unwrap();
    let hit6: IpAddr = "2001:db8:7ce::1".parse().unwrap();
    c.bench_function("limits/allowlist/contains_v4_hit", |b| {
        b.iter(|| list.contains(hit))
    });
    c.bench_function("limits/allowlist/contains_v4_miss", |b| {
        b.iter(|| list.contains(miss))
    });
    c.bench_function("limits/allowlist/contains_v6_hit", |b| {
        b.iter(|| list.contains(hit6))
    });
    c.bench_function("limits/allowlist/contains_str_v4", |b| {
        b.iter(|| list.contains_str("10.3.200.7").unwrap())
    });
}

fn bench_password(c: &mut Criterion) {
    let hasher = PasswordHasher::default();
    let mut group = c.benchmark_group("limits/password");
    group.sample_size(10);
    group.bench_function("argon2id_hash_19MiB_t2", |b| {
        b.iter(|| hasher.hash("correct horse battery staple").unwrap())
    });
    let phc = hasher.hash("correct horse battery staple").unwrap();
    group.bench_function("argon2id_verify_19MiB_t2", |b| {
        b.iter(|| hasher.verify("correct horse battery staple", &phc).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_limiter, bench_allowlist, bench_password);
criterion_main!(benches);
