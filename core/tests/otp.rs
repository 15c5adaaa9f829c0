//! One-time codes beyond the conformance vectors: QR codes read back by an independent
//! decoder, replay under concurrency, generated secrets and codes, throttling bounds.

use std::sync::{Arc, Barrier};

use authgate_core::clock::ManualClock;
use authgate_core::otp::{
    generate_secret, ChallengeConfig, Challenges, CodeDelivery, OtpOptions, OtpUri, QrCode,
    RecoveryCodes, RecoveryConfig, ThrottlePolicy, Totp, TotpManager, TotpManagerConfig,
    GENERATED_SECRET_BYTES,
};
use authgate_core::store::{MemoryStore, Store};
use authgate_core::{ErrorKind, Result};

const URI: &str = "otpauth://totp/ACME%20Co:alice%40example.com?secret=MFXXI2DHMF2GKLLPORYC25DFON2C2MBR&issuer=ACME%20Co";

/// Reads a QR code from a greyscale raster with rqrr, which shares no code with ours.
fn read_qr(width: usize, height: usize, light: impl Fn(usize, usize) -> bool) -> String {
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        if light(x, y) {
            255
        } else {
            0
        }
    });
    let grids = img.detect_grids();
    assert_eq!(grids.len(), 1, "expected one QR code");
    grids[0].decode().expect("the QR code decodes").1
}

#[test]
fn png_qr_code_decodes_to_the_uri() {
    let png = QrCode::new(URI).unwrap().to_png(4).unwrap();
    let decoder = png::Decoder::new(std::io::Cursor::new(png));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(
        (info.bit_depth, info.color_type),
        (png::BitDepth::One, png::ColorType::Grayscale)
    );
    let (w, h, row) = (info.width as usize, info.height as usize, info.line_size);
    let text = read_qr(w, h, |x, y| buf[y * row + x / 8] & (0x80 >> (x % 8)) != 0);
    assert_eq!(text, URI);
}

#[test]
fn svg_qr_code_decodes_to_the_uri() {
    let svg = QrCode::new(URI).unwrap().to_svg(8).unwrap();
    assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
    // Rasterise the path: each run is `M{x},{y}h{len}v1h-{len}z`.
    let side: usize = svg
        .split("viewBox=\"0 0 ")
        .nth(1)
        .unwrap()
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let mut dark = vec![false; side * side];
    let path = svg
        .split(" d=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    for run in path.split('M').filter(|r| !r.is_empty()) {
        let (xy, rest) = run.split_once('h').unwrap();
        let (x, y) = xy.split_once(',').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let len: usize = rest.split_once('v').unwrap().0.parse().unwrap();
        for i in x..x + len {
            dark[y * side + i] = true;
        }
    }
    let scale = 4;
    let text = read_qr(side * scale, side * scale, |x, y| {
        !dark[(y / scale) * side + x / scale]
    });
    assert_eq!(text, URI);
}

#[test]
fn terminal_qr_code_decodes_to_the_uri() {
    let text = QrCode::new(URI).unwrap().to_text();
    let lines: Vec<Vec<char>> = text.lines().map(|l| l.chars().collect()).collect();
    let width = lines[0].len();
    assert!(lines.iter().all(|l| l.len() == width));
    // Drawn characters are light modules; each line holds two module rows.
    let light = |x: usize, y: usize| match lines[y / 2][x] {
        '█' => true,
        '▀' => y.is_multiple_of(2),
        '▄' => y % 2 == 1,
        _ => false,
    };
    let scale = 4;
    // Surround with extra light margin so the decoder finds the quiet zone.
    let (w, h) = (width + 8, lines.len() * 2 + 8);
    let decoded = read_qr(w * scale, h * scale, |x, y| {
        let (x, y) = (x / scale, y / scale);
        if x < 4 || y < 4 || x >= width + 4 || y >= lines.len() * 2 + 4 {
            return true;
        }
        light(x - 4, y - 4)
    });
    assert_eq!(decoded, URI);
}

#[test]
fn qr_rejects_oversized_text_and_scales() {
    assert_eq!(
        QrCode::new(&"x".repeat(5000)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    let qr = QrCode::new(URI).unwrap();
    assert!(qr.to_png(0).is_err() && qr.to_svg(65).is_err());
}

#[test]
fn generated_secrets_are_160_bits_and_differ() {
    let a = generate_secret().unwrap();
    let b = generate_secret().unwrap();
    assert_eq!(a.len(), GENERATED_SECRET_BYTES);
    assert_eq!(GENERATED_SECRET_BYTES * 8, 160);
    assert_ne!(a, b);
}

#[test]
fn uri_round_trips_names_that_need_escaping() {
    let secret = generate_secret().unwrap();
    for (account, issuer) in [
        ("a b+c@d", Some("Q&A / Ops")),
        ("ünï#?%", None),
        ("x", Some("100%")),
    ] {
        let uri = OtpUri::totp(&secret, account, issuer, OtpOptions::default()).unwrap();
        let back = OtpUri::parse(&uri.to_uri(), false).unwrap();
        assert_eq!(back, uri, "{}", uri.to_uri());
    }
}

#[test]
fn one_code_is_accepted_once_across_threads() {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let manager =
        Arc::new(TotpManager::with_clock(store, TotpManagerConfig::default(), clock).unwrap());
    let secret = generate_secret().unwrap();
    let code = Totp::new(&secret, OtpOptions::default())
        .unwrap()
        .generate(1_700_000_000);
    let threads = 16;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (manager, barrier, secret, code) = (
                manager.clone(),
                barrier.clone(),
                secret.clone(),
                code.clone(),
            );
            std::thread::spawn(move || {
                barrier.wait();
                manager.verify("alice", &secret, &code)
            })
        })
        .collect();
    let results: Vec<Result<u64>> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.iter().filter_map(|r| r.as_ref().err()) {
        // Refused as a replay, or throttled by the failures the other threads counted.
        assert!(
            matches!(r.kind(), ErrorKind::CodeReused | ErrorKind::TooManyAttempts),
            "{r:?}"
        );
    }
}

#[test]
fn parallel_guesses_all_count_towards_the_lock() {
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let config = TotpManagerConfig {
        throttle: ThrottlePolicy {
            free_failures: 5,
            ..ThrottlePolicy::default()
        },
        ..TotpManagerConfig::default()
    };
    let manager =
        Arc::new(TotpManager::with_clock(Arc::new(MemoryStore::new()), config, clock).unwrap());
    let secret = generate_secret().unwrap();
    let totp = Totp::new(&secret, OtpOptions::default()).unwrap();
    let valid: Vec<String> = (-1..=1)
        .map(|d: i64| totp.generate((1_700_000_000 + 30 * d) as u64))
        .collect();
    let guesses: Vec<String> = (0..)
        .map(|i: u32| format!("{:06}", i * 7919))
        .filter(|g| !valid.contains(g))
        .take(32)
        .collect();
    let handles: Vec<_> = guesses
        .into_iter()
        .map(|guess| {
            let (manager, secret) = (manager.clone(), secret.clone());
            std::thread::spawn(move || manager.verify("bob", &secret, &guess))
        })
        .collect();
    let kinds: Vec<ErrorKind> = handles
        .into_iter()
        .filter_map(|h| h.join().unwrap().err().map(|e| e.kind()))
        .collect();
    assert_eq!(kinds.len(), 32);
    // The fifth counted attempt sets the lock: at most five guesses are checked, the
    // rest are refused unchecked.
    let checked = kinds
        .iter()
        .filter(|k| **k != ErrorKind::TooManyAttempts)
        .count();
    assert!(checked <= 5, "{checked} guesses were checked");
}

#[test]
fn sms_codes_are_uniform_digits_and_stored_only_as_hashes() {
    let store = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let challenges = Challenges::with_clock(
        store,
        ChallengeConfig {
            resend_cooldown: 0,
            max_attempts: 1000,
            ..ChallengeConfig::default()
        },
        clock,
    )
    .unwrap();
    let mut counts = [0usize; 10];
    for _ in 0..2000 {
        let seen = std::cell::RefCell::new(String::new());
        let sender = |d: &CodeDelivery<'_>| -> Result<()> {
            *seen.borrow_mut() = d.code.to_string();
            Ok(())
        };
        challenges.issue("u", "+15550100", &sender).unwrap();
        let seen = seen.into_inner();
        assert_eq!(seen.len(), 6);
        for b in seen.bytes() {
            counts[usize::from(b - b'0')] += 1;
        }
    }
    // 12000 digits: each digit within a generous band around 1200.
    assert!(
        counts.iter().all(|&n| (1000..1400).contains(&n)),
        "{counts:?}"
    );
    // A different hash key cannot check the same code: only the keyed hash is stored.
    let shared = Arc::new(MemoryStore::new());
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let a = Challenges::with_clock(
        shared.clone(),
        ChallengeConfig {
            hash_key: Some(vec![1; 32]),
            ..Default::default()
        },
        clock.clone(),
    )
    .unwrap();
    let b = Challenges::with_clock(
        shared.clone(),
        ChallengeConfig {
            hash_key: Some(vec![2; 32]),
            ..Default::default()
        },
        clock.clone(),
    )
    .unwrap();
    let c = Challenges::with_clock(
        shared,
        ChallengeConfig {
            hash_key: Some(vec![1; 32]),
            ..Default::default()
        },
        clock,
    )
    .unwrap();
    let code = std::cell::RefCell::new(String::new());
    a.issue(
        "s",
        "x@example.com",
        &|d: &CodeDelivery<'_>| -> Result<()> {
            *code.borrow_mut() = d.code.to_string();
            Ok(())
        },
    )
    .unwrap();
    let code = code.into_inner();
    assert_eq!(
        b.verify("s", &code).unwrap_err().kind(),
        ErrorKind::InvalidCode
    );
    c.verify("s", &code).unwrap();
    assert_eq!(
        Challenges::new(
            Arc::new(MemoryStore::new()),
            ChallengeConfig {
                hash_key: Some(vec![0; 31]),
                ..Default::default()
            }
        )
        .err()
        .map(|e| e.kind()),
        Some(ErrorKind::WeakKey)
    );
}

#[test]
fn recovery_code_sets_are_unique_and_bounded() {
    let codes =
        RecoveryCodes::new(Arc::new(MemoryStore::new()), RecoveryConfig::default()).unwrap();
    let set = codes.generate("u").unwrap();
    let mut unique = set.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 10);
    assert!(RecoveryCodes::new(
        Arc::new(MemoryStore::new()),
        RecoveryConfig {
            count: 101,
            ..Default::default()
        }
    )
    .is_err());
    assert_eq!(
        codes.verify(&"u".repeat(257), &set[0]).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn the_store_stays_bounded() {
    let store = MemoryStore::with_capacity(3);
    let policy = ThrottlePolicy::default();
    for key in ["a", "b", "c"] {
        store.attempt_begin(key, 100, &policy).unwrap();
    }
    assert_eq!(
        store.attempt_begin("d", 100, &policy).unwrap_err().kind(),
        ErrorKind::CapacityExceeded
    );
    // Once the counts are forgotten there is room again.
    store
        .attempt_begin("d", 100 + policy.forget_after + 1, &policy)
        .unwrap();
}

#[test]
fn a_code_shared_by_neighbouring_steps_is_accepted_once_for_the_later_step() {
    // Steps 57349742 and 57349743 of this secret share a code (tests/vectors/otp/cases.json).
    let secret = b"authgate-otp-test-01";
    let now = 57_349_743 * 30;
    let totp = Totp::new(secret, OtpOptions::default()).unwrap();
    assert_eq!(totp.generate_at_step(57_349_742), totp.generate(now));
    let manager = TotpManager::with_clock(
        Arc::new(MemoryStore::new()),
        TotpManagerConfig::default(),
        Arc::new(ManualClock::new(now)),
    )
    .unwrap();
    let code = totp.generate(now);
    assert_eq!(manager.verify("alice", secret, &code).unwrap(), 57_349_743);
    assert_eq!(
        manager.verify("alice", secret, &code).unwrap_err().kind(),
        ErrorKind::CodeReused
    );
}

#[test]
fn one_account_cap_across_totp_challenges_and_recovery_codes() {
    use authgate_core::otp::{CodeLockout, DEFAULT_MAX_FAILURES};
    let clock = Arc::new(ManualClock::new(1_700_000_000));
    let store: Arc<dyn authgate_core::store::Store> = Arc::new(MemoryStore::new());
    let lenient = ThrottlePolicy {
        free_failures: 1000,
        ..ThrottlePolicy::default()
    };
    let totp = TotpManager::with_clock(
        store.clone(),
        TotpManagerConfig {
            throttle: lenient,
            ..TotpManagerConfig::default()
        },
        clock.clone(),
    )
    .unwrap();
    let sms = Challenges::with_clock(
        store.clone(),
        ChallengeConfig {
            max_attempts: 1000,
            ..ChallengeConfig::default()
        },
        clock.clone(),
    )
    .unwrap();
    let recovery = RecoveryCodes::with_clock(
        store.clone(),
        RecoveryConfig {
            throttle: lenient,
            ..RecoveryConfig::default()
        },
        clock.clone(),
    )
    .unwrap();
    let lockout = CodeLockout::with_clock(store.clone(), clock.clone());
    let secret = [7u8; 20];
    let codes = recovery.generate("u1").unwrap();
    let sent = sms.issue_for_delivery("u1", "+15550100").unwrap().code;
    // 100 wrong codes in a row, spread over the three kinds and many days.
    for i in 0..DEFAULT_MAX_FAILURES {
        let r = match i % 3 {
            0 => totp.verify("u1", &secret, "000000x").map(|_| ()),
            1 => sms.verify("u1", "not-it").map(|_| ()),
            _ => recovery.verify("u1", "zzzzz-zzzzz").map(|_| ()),
        };
        assert_ne!(
            r.unwrap_err().kind(),
            ErrorKind::AccountLocked,
            "failure {i}"
        );
        clock.advance(3600);
    }
    assert_eq!(lockout.failures("u1").unwrap(), DEFAULT_MAX_FAILURES);
    // Now even the right codes are refused, by every kind.
    let good = Totp::new(&secret, OtpOptions::default())
        .unwrap()
        .generate(authgate_core::clock::Clock::now(&*clock));
    for r in [
        totp.verify("u1", &secret, &good).map(|_| ()),
        sms.verify("u1", &sent),
        recovery.verify("u1", &codes[0]).map(|_| ()),
    ] {
        assert_eq!(r.unwrap_err().kind(), ErrorKind::AccountLocked);
    }
    // Another account is not affected; an unlock restores this one.
    assert_eq!(lockout.failures("u2").unwrap(), 0);
    assert!(lockout.unlock("u1").unwrap());
    assert_eq!(recovery.verify("u1", &codes[0]).unwrap(), 9);
}

#[test]
fn the_last_hotp_counter_has_no_successor() {
    use authgate_core::otp::Hotp;
    let hotp = Hotp::new(b"12345678901234567890", OtpOptions::default()).unwrap();
    // A code for counter u64::MAX matches, but there is no next counter to store: refused
    // rather than wrapped to 0 (which would make every earlier code valid again).
    let code = hotp.generate(u64::MAX);
    let e = hotp.verify(&code, u64::MAX - 1, 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.message().contains("exhausted"));
    // The one before it still moves the counter on.
    let code = hotp.generate(u64::MAX - 1);
    assert_eq!(hotp.verify(&code, u64::MAX - 1, 1).unwrap(), u64::MAX);
}
