//! Rate limits, allowlists and passwords beyond the vectors: exact accounting under
//! concurrency, bounded memory under a spray of keys, hashing round trips with a pepper,
//! and hostile input to every parser.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;

use authgate_core::allowlist::{
    parse_ip, parse_network, Allowlist, ClientIpResolver, ForwardedHeader,
};
use authgate_core::clock::ManualClock;
use authgate_core::password::{PasswordHasher, PasswordPolicy};
use authgate_core::ratelimit::{Policy, RateLimiter};
use authgate_core::store::MemoryStore;
use authgate_core::ErrorKind;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

const START: u64 = 1_700_000_000;

fn limiter(store: Arc<MemoryStore>) -> (RateLimiter, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(START));
    (RateLimiter::with_clock(store, clock.clone()), clock)
}

#[test]
fn sixteen_threads_on_one_key_get_exactly_the_burst_through() {
    let (limiter, clock) = limiter(Arc::new(MemoryStore::new()));
    // 100 per hour: nothing refills while the threads run on a stopped clock.
    limiter
        .set_policy("p", Policy::per_hour(100).unwrap())
        .unwrap();
    let limiter = Arc::new(limiter);
    let allowed = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(16));
    let handles: Vec<_> = (0..16)
        .map(|_| {
            let (l, a, b) = (limiter.clone(), allowed.clone(), barrier.clone());
            thread::spawn(move || {
                b.wait();
                for _ in 0..50 {
                    if l.check("p", "hot", 1).unwrap().allowed {
                        a.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(allowed.load(Ordering::SeqCst), 100);
    // Costs above 1 under contention: never more than the burst in total.
    clock.advance(3600);
    let taken = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..16)
        .map(|i| {
            let (l, t) = (limiter.clone(), taken.clone());
            thread::spawn(move || {
                for _ in 0..20 {
                    let cost = 1 + (i % 7);
                    if l.check("p", "hot", cost).unwrap().allowed {
                        t.fetch_add(cost, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(taken.load(Ordering::SeqCst) <= 100);
    assert!(
        taken.load(Ordering::SeqCst) >= 94,
        "at most one cost short of the burst"
    );
}

#[test]
fn a_spray_of_random_keys_stays_within_the_capacity() {
    let store = Arc::new(MemoryStore::with_capacity(10_000));
    let (limiter, clock) = limiter(store.clone());
    let mut rng = Rng(7);
    for i in 0..200_000u64 {
        let key = format!("spray-{}", rng.next());
        assert!(limiter.check("default", &key, 1).unwrap().allowed);
        if i % 1000 == 0 {
            clock.advance_millis(10);
        }
    }
    // The bound: the capacity plus an eighth of slack (keys spread unevenly over shards).
    const BOUND: usize = 10_000 + 10_000 / 8 + 16;
    assert!(
        store.rate_limit_keys() <= BOUND,
        "{} keys held",
        store.rate_limit_keys()
    );
    // A key in steady use keeps its state while the spray goes on: it stays limited.
    limiter
        .set_policy("strict", Policy::per_hour(3).unwrap())
        .unwrap();
    for _ in 0..3 {
        assert!(limiter.check("strict", "victim", 1).unwrap().allowed);
    }
    for _ in 0..5_000 {
        limiter
            .check("default", &format!("spray-{}", rng.next()), 1)
            .unwrap();
    }
    // Once idle keys are full again they are forgotten first, so the map drains.
    clock.advance(120);
    for _ in 0..20_000 {
        limiter
            .check("default", &format!("late-{}", rng.next()), 1)
            .unwrap();
    }
    assert!(store.rate_limit_keys() <= BOUND);
    // The key held at its limit was not the one evicted: it is still refused.
    assert!(!limiter.check("strict", "victim", 1).unwrap().allowed);
}

#[test]
fn idle_keys_are_forgotten_without_changing_any_decision() {
    let store = Arc::new(MemoryStore::with_capacity(16));
    let (limiter, clock) = limiter(store.clone());
    limiter
        .set_policy("p", Policy::per_second(2).unwrap())
        .unwrap();
    for k in 0..16 {
        limiter.check("p", &format!("k{k}"), 2).unwrap();
    }
    // Every bucket is full again after a second: forgetting them is the same as keeping them.
    clock.advance(1);
    for k in 16..64 {
        let d = limiter.check("p", &format!("k{k}"), 1).unwrap();
        assert!(d.allowed);
        assert_eq!(d.remaining, 1);
    }
    assert!(store.rate_limit_keys() <= 32);
}

#[test]
fn refusals_carry_a_retry_after_that_is_exactly_enough() {
    let (limiter, clock) = limiter(Arc::new(MemoryStore::new()));
    limiter
        .set_policy("p", Policy::new(3, 1000).unwrap())
        .unwrap();
    for _ in 0..3 {
        assert!(limiter.check("p", "k", 1).unwrap().allowed);
    }
    let refused = limiter.check("p", "k", 1).unwrap();
    let wait = refused.retry_after_ms.unwrap();
    clock.advance_millis(wait - 1);
    assert!(!limiter.check("p", "k", 1).unwrap().allowed);
    clock.advance_millis(1);
    assert!(limiter.check("p", "k", 1).unwrap().allowed);
    let err = limiter
        .check("p", "k", 1)
        .unwrap()
        .into_result()
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(1));
}

#[test]
fn an_override_applies_to_its_key_until_removed() {
    let (limiter, _) = limiter(Arc::new(MemoryStore::new()));
    limiter
        .set_policy("p", Policy::per_hour(1).unwrap())
        .unwrap();
    limiter
        .set_override("p", "big", Policy::per_hour(10).unwrap())
        .unwrap();
    assert_eq!(limiter.check("p", "big", 1).unwrap().remaining, 9);
    assert_eq!(limiter.check("p", "small", 1).unwrap().remaining, 0);
    assert!(limiter.remove_override("p", "big"));
    assert!(!limiter.remove_override("p", "big"));
    assert!(!limiter.remove_override("other", "big"));
    // Back on the policy's own limit: one per hour, already taken.
    assert!(!limiter.check("p", "big", 1).unwrap().allowed);
}

#[test]
fn hashes_round_trip_with_and_without_a_pepper() {
    let fast = PasswordHasher::new(1024, 1, 1, None).unwrap();
    let phc = fast.hash("Correct7horse").unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{phc}");
    assert!(fast.verify("Correct7horse", &phc).unwrap());
    assert!(!fast.verify("Correct7horsf", &phc).unwrap());
    assert_ne!(
        fast.hash("Correct7horse").unwrap(),
        phc,
        "a new salt every time"
    );
    assert!(!fast.needs_rehash(&phc).unwrap());
    assert!(PasswordHasher::default().needs_rehash(&phc).unwrap());

    let pepper = [9u8; 32];
    let peppered = PasswordHasher::new(1024, 1, 1, Some(&pepper)).unwrap();
    let phc2 = peppered.hash("Correct7horse").unwrap();
    assert!(peppered.verify("Correct7horse", &phc2).unwrap());
    // Without the pepper (a stolen database alone) the hash does not verify.
    assert!(!fast.verify("Correct7horse", &phc2).unwrap());
    let other = PasswordHasher::new(1024, 1, 1, Some(&[8u8; 32])).unwrap();
    assert!(!other.verify("Correct7horse", &phc2).unwrap());

    assert_eq!(
        PasswordHasher::new(1024, 1, 1, Some(b"short"))
            .unwrap_err()
            .kind(),
        ErrorKind::WeakKey
    );
    assert_eq!(
        PasswordHasher::new(1, 1, 1, None).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
    assert_eq!(
        fast.hash(&"x".repeat(4097)).unwrap_err().kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn the_policy_reports_every_rule_and_enforce_names_them() {
    let e = PasswordPolicy::default().enforce("abc").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::WeakPassword);
    assert!(e
        .message()
        .contains("too_short, missing_uppercase, missing_digit"));
    assert!(
        !e.message().contains("abc"),
        "the password is not in the message"
    );
}

fn random_text(rng: &mut Rng, alphabet: &[u8]) -> String {
    let len = rng.below(48);
    (0..len)
        .map(|_| alphabet[rng.below(alphabet.len())] as char)
        .collect()
}

#[test]
fn hostile_addresses_networks_and_forwarding_headers_give_typed_errors() {
    let mut rng = Rng(0x5eed);
    let alphabet = b"0123456789abcdefABCDEF.:/%[]x, ;=\"-_ \t";
    let resolver = ClientIpResolver::new(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor).unwrap();
    let forwarded = ClientIpResolver::new(&["10.0.0.0/8"], ForwardedHeader::Forwarded).unwrap();
    let peer: IpAddr = "10.0.0.1".parse().unwrap();
    for _ in 0..20_000 {
        let text = random_text(&mut rng, alphabet);
        for result in [
            parse_ip(&text).map(|_| ()),
            parse_network(&text).map(|_| ()),
            Allowlist::new(&[text.as_str()]).map(|_| ()),
            resolver.resolve(peer, &[&text]).map(|_| ()),
            forwarded.resolve(peer, &[&text]).map(|_| ()),
        ] {
            if let Err(e) = result {
                assert_eq!(e.kind(), ErrorKind::InvalidInput, "{text:?}: {e}");
            }
        }
    }
    // Whatever parses as a network prints back to text that parses to the same network.
    for _ in 0..20_000 {
        let text = random_text(&mut rng, b"0123456789.:/abcdef");
        if let Ok(net) = parse_network(&text) {
            assert_eq!(parse_network(&net.to_string()).unwrap(), net, "{text:?}");
        }
    }
}

#[test]
fn hostile_phc_strings_and_passwords_give_typed_errors() {
    let hasher = PasswordHasher::new(1024, 1, 1, None).unwrap();
    let good = hasher.hash("pw").unwrap();
    let mut rng = Rng(42);
    for _ in 0..2_000 {
        let mut bytes = good.clone().into_bytes();
        let i = rng.below(bytes.len());
        bytes[i] = b"$=,abcAZ09+/x"[rng.below(13)];
        let mutated = String::from_utf8(bytes).unwrap();
        match hasher.verify("pw", &mutated) {
            Ok(_) => {}
            Err(e) => assert_eq!(e.kind(), ErrorKind::InvalidInput, "{mutated}"),
        }
    }
    // Parameters a hostile hash could claim to make verification expensive are refused.
    for huge in [
        "$argon2id$v=19$m=4294967295,t=1,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
        "$argon2id$v=19$m=1024,t=4294967295,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaA",
    ] {
        let started = std::time::Instant::now();
        let _ = hasher.verify("pw", huge);
        assert!(started.elapsed().as_secs() < 5, "{huge} took too long");
    }
}
