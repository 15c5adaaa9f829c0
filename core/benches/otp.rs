//! TOTP on its own (generate; verify with a window of ±1 step, which computes three codes)
//! and through the TotpManager, which adds the throttle and replay checks in the store.

use std::sync::Arc;

use authgate_core::clock::ManualClock;
use authgate_core::otp::{generate_secret, OtpOptions, Totp, TotpManager, TotpManagerConfig};
use authgate_core::store::MemoryStore;
use authgate_core::ErrorKind;
use criterion::{criterion_group, criterion_main, Criterion};

const NOW: u64 = 1_700_000_000;

fn bench_totp(c: &mut Criterion) {
    let secret = generate_secret().unwrap();
    let totp = Totp::new(&secret, OtpOptions::default()).unwrap();
    c.bench_function("otp/totp/generate", |b| b.iter(|| totp.generate(NOW)));
    let code = totp.generate(NOW);
    c.bench_function("otp/totp/verify", |b| {
        b.iter(|| totp.verify(&code, NOW, 1, None).unwrap())
    });
    // The peer a Rust user would pick, on the same secret, digits, step and window (±1).
    let peer = totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret.clone())
        .build()
        .unwrap();
    assert_eq!(peer.generate(NOW).to_string(), code);
    c.bench_function("otp/totp-rs/generate", |b| b.iter(|| peer.generate(NOW)));
    c.bench_function("otp/totp-rs/verify", |b| {
        b.iter(|| assert!(peer.check(&code, NOW).is_some()))
    });

    // Many accounts verify in turn; the clock moves to the next step once every account has
    // used the current one, so every verification is accepted and the store stays small.
    const ACCOUNTS: usize = 10_000;
    let accounts: Vec<String> = (0..ACCOUNTS).map(|i| format!("user-{i}")).collect();
    let clock = Arc::new(ManualClock::new(NOW));
    let manager = TotpManager::with_clock(
        Arc::new(MemoryStore::new()),
        TotpManagerConfig::default(),
        clock.clone(),
    )
    .unwrap();
    let (mut n, mut now, mut code) = (0usize, NOW, totp.generate(NOW));
    c.bench_function("otp/manager/verify", |b| {
        b.iter(|| {
            if n == ACCOUNTS {
                n = 0;
                now += 30;
                clock.set(now);
                code = totp.generate(now);
            }
            n += 1;
            // Neighbouring steps share a code one time in a million: a replay then.
            if let Err(e) = manager.verify(&accounts[n - 1], &secret, &code) {
                assert_eq!(e.kind(), ErrorKind::CodeReused);
            }
        })
    });
}

criterion_group!(benches, bench_totp);
criterion_main!(benches);
