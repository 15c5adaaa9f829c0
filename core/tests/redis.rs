//! The Redis backend against a real server: two instances (two stores, two connection
//! pools, as two servers would have) racing on one limit, one refresh token and one nonce;
//! TTLs on what is written; and failures — a server stopped mid-test gives
//! `store_unavailable` quickly (fail-closed, or a degraded decision when the limiter fails
//! open) and work continues once it is back; a wrong password is refused without the
//! password in any message.
//!
//! The shared tests use `AUTHGATE_REDIS_URL` (set by `make test`); the failure tests start
//! their own `redis-server` on a free loopback port, so stopping it disturbs nothing else.
#![cfg(feature = "redis")]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use authgate_core::clock::ManualClock;
use authgate_core::jwt::{Algorithm, Key, KeySet};
use authgate_core::ratelimit::{FailureMode, Policy, RateLimiter};
use authgate_core::session::{DeviceInfo, SessionConfig, SessionManager};
use authgate_core::signature::{
    KeyMap, Request, RequestSigner, RequestVerifier, SignatureAlgorithm, SignatureKey,
    SignerConfig, VerifyPolicy,
};
use authgate_core::store::{RedisConfig, RedisStore, Store};
use authgate_core::ErrorKind;

#[path = "support/stores.rs"]
mod stores;

const NOW: u64 = 1_700_000_000;

/// Two stores on one Redis, under one prefix: two servers of one deployment.
fn two_instances(url: &str) -> (Arc<RedisStore>, Arc<RedisStore>) {
    let first = stores::redis_store(url);
    let mut config = RedisConfig::new(url);
    config.prefix = first.prefix().to_string();
    (first, Arc::new(RedisStore::new(config).unwrap()))
}

#[test]
fn two_limiters_on_one_redis_stay_within_the_global_limit() {
    let Some(url) = stores::redis_url() else {
        return;
    };
    let (a, b) = two_instances(&url);
    let clock = Arc::new(ManualClock::new(NOW));
    let limiters: Vec<Arc<RateLimiter>> = [a, b]
        .into_iter()
        .map(|s| {
            let l = RateLimiter::with_clock(s, clock.clone());
            // 50 per hour: nothing refills while the threads run.
            l.set_policy("p", Policy::per_hour(50).unwrap()).unwrap();
            Arc::new(l)
        })
        .collect();
    let allowed = Arc::new(AtomicU64::new(0));
    let barrier = Arc::new(Barrier::new(8));
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let (l, a, b) = (limiters[i % 2].clone(), allowed.clone(), barrier.clone());
            thread::spawn(move || {
                b.wait();
                for _ in 0..25 {
                    if l.check("p", "shared-key", 1).unwrap().allowed {
                        a.fetch_add(1, Ordering::SeqCst);
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert_eq!(allowed.load(Ordering::SeqCst), 50);
    // Both instances see the same, empty bucket, and it refills for both.
    assert_eq!(limiters[0].peek("p", "shared-key").unwrap().remaining, 0);
    assert_eq!(limiters[1].peek("p", "shared-key").unwrap().remaining, 0);
    clock.advance(72); // one request's worth at 50/hour
    assert!(limiters[1].check("p", "shared-key", 1).unwrap().allowed);
    assert!(!limiters[0].check("p", "shared-key", 1).unwrap().allowed);
}

fn session_manager(store: Arc<RedisStore>, secret: &[u8]) -> SessionManager {
    let key = Key::hmac(Some("k"), Algorithm::HS256, secret).unwrap();
    SessionManager::with_clock(
        Arc::new(KeySet::single(key)),
        store,
        SessionConfig::default(),
        Arc::new(ManualClock::new(NOW)),
    )
    .unwrap()
}

#[test]
fn one_refresh_token_raced_on_two_instances_has_exactly_one_winner() {
    let Some(url) = stores::redis_url() else {
        return;
    };
    let (a, b) = two_instances(&url);
    let secret = Key::generate_hmac_secret(Algorithm::HS256).unwrap();
    let managers = [
        Arc::new(session_manager(a, &secret)),
        Arc::new(session_manager(b, &secret)),
    ];
    let device = DeviceInfo {
        device_id: "phone".into(),
        name: None,
    };
    for _ in 0..10 {
        let login = managers[0].login("alice", &device, None).unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (m, b, token) = (
                    managers[i % 2].clone(),
                    barrier.clone(),
                    login.tokens.refresh_token.clone(),
                );
                thread::spawn(move || {
                    b.wait();
                    m.refresh(&token)
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
        assert_eq!(winners.len(), 1, "exactly one refresh wins");
        for e in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(
                    e.kind(),
                    ErrorKind::RefreshTokenReused | ErrorKind::SessionRevoked
                ),
                "a losing refresh is reuse: {e}"
            );
        }
        // The losers presented a rotated token: the session is revoked everywhere,
        // including the winner's new refresh token.
        let err = managers[1].refresh(&winners[0].refresh_token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::SessionRevoked);
    }
}

/// 50 refreshes racing with one token under a retry grace: one rotation wins, at most
/// `MAX_GRACE_RETRIES` retries get pairs of their own, the rest are refused without
/// revoking — and every pair handed out keeps working (#20 item 9).
fn race_with_grace(managers: &[Arc<SessionManager>]) {
    use authgate_core::session::MAX_GRACE_RETRIES;
    let login = managers[0]
        .login(
            "alice",
            &DeviceInfo {
                device_id: "d".into(),
                name: None,
            },
            None,
        )
        .unwrap();
    let barrier = Arc::new(Barrier::new(50));
    let handles: Vec<_> = (0..50)
        .map(|i| {
            let (m, b, t) = (
                managers[i % managers.len()].clone(),
                barrier.clone(),
                login.tokens.refresh_token.clone(),
            );
            thread::spawn(move || {
                b.wait();
                m.refresh(&t)
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let pairs: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(
        pairs.len(),
        1 + MAX_GRACE_RETRIES,
        "one rotation and its retries"
    );
    for e in results.iter().filter_map(|r| r.as_ref().err()) {
        assert_eq!(e.kind(), ErrorKind::InvalidRefreshToken, "{e}");
    }
    // Nothing was revoked: each pair's access token verifies, and any one refresh token
    // carries the session on (the others then become stale, as after any rotation).
    for p in &pairs {
        managers[0].verify_access(&p.access_token).unwrap();
    }
    let next = managers[managers.len() - 1]
        .refresh(&pairs[0].refresh_token)
        .unwrap();
    managers[0].refresh(&next.refresh_token).unwrap();
}

#[test]
fn a_refresh_raced_on_two_instances_under_a_retry_grace_keeps_the_session() {
    let Some(url) = stores::redis_url() else {
        return;
    };
    let (a, b) = two_instances(&url);
    let secret = Key::generate_hmac_secret(Algorithm::HS256).unwrap();
    let config = SessionConfig {
        retry_grace: 10,
        ..SessionConfig::default()
    };
    let managers: Vec<Arc<SessionManager>> = [a, b]
        .into_iter()
        .map(|store| {
            let key = Key::hmac(Some("k"), Algorithm::HS256, &secret).unwrap();
            Arc::new(
                SessionManager::with_clock(
                    Arc::new(KeySet::single(key)),
                    store,
                    config.clone(),
                    Arc::new(ManualClock::new(NOW)),
                )
                .unwrap(),
            )
        })
        .collect();
    for _ in 0..5 {
        race_with_grace(&managers);
    }
}

#[test]
fn a_signed_request_replayed_on_another_instance_is_refused() {
    let Some(url) = stores::redis_url() else {
        return;
    };
    let (a, b) = two_instances(&url);
    let (key, secret) = SignatureKey::generate(SignatureAlgorithm::HmacSha256).unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let signer =
        RequestSigner::with_clock("c1", Arc::new(key), SignerConfig::default(), clock.clone())
            .unwrap();
    let verifiers: Vec<Arc<RequestVerifier>> = [a, b]
        .into_iter()
        .map(|store| {
            let keys = KeyMap::new();
            keys.insert("c1", SignatureKey::hmac_sha256(&secret).unwrap());
            Arc::new(RequestVerifier::with_clock(
                Arc::new(keys),
                store as Arc<dyn Store>,
                VerifyPolicy::default(),
                clock.clone(),
            ))
        })
        .collect();
    const URL: &str = "https://api.example.com/orders";
    for _ in 0..10 {
        let signed = signer
            .sign(&Request::new("POST", URL).unwrap().body(b"{}"))
            .unwrap();
        let digest = signed.content_digest.clone().unwrap();
        let barrier = Arc::new(Barrier::new(8));
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (v, b, s) = (verifiers[i % 2].clone(), barrier.clone(), signed.clone());
                let digest = digest.clone();
                thread::spawn(move || {
                    let req = Request::new("POST", URL)
                        .unwrap()
                        .header("content-digest", &digest)
                        .header("signature-input", &s.signature_input)
                        .header("signature", &s.signature)
                        .body(b"{}");
                    b.wait();
                    v.verify(&req).map(drop).map_err(|e| e.kind())
                })
            })
            .collect();
        let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
        assert!(results
            .iter()
            .filter_map(|r| r.err())
            .all(|k| k == ErrorKind::ReplayDetected));
    }
}

#[test]
fn what_is_written_expires() {
    let Some(url) = stores::redis_url() else {
        return;
    };
    let store = stores::redis_store(&url);
    let gcra = Policy::per_minute(10).unwrap().gcra();
    store
        .rate_limit("k", 1, &gcra, NOW * 1_000_000_000)
        .unwrap();
    assert!(store.nonce_insert("scope", "n1", NOW + 300, NOW).unwrap());
    assert!(!store
        .nonce_insert("scope", "n1", NOW + 300, NOW + 10)
        .unwrap());
    // A nonce whose window has passed is forgotten, whatever Redis still holds.
    assert!(store
        .nonce_insert("scope", "n1", NOW + 900, NOW + 300)
        .unwrap());
    let client = redis::Client::open(url.as_str()).unwrap();
    let mut con = client.get_connection().unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", store.prefix()))
        .query(&mut con)
        .unwrap();
    assert_eq!(keys.len(), 2, "{keys:?}");
    for k in keys {
        let ttl: i64 = redis::cmd("PTTL").arg(&k).query(&mut con).unwrap();
        // The bucket is full again after one token's refill: 6 s; the nonce after 600 s.
        let max = if k.contains(":rl:") { 6_000 } else { 600_000 };
        assert!(ttl > 0 && ttl <= max, "{k}: ttl {ttl}");
    }
}

/// A private redis-server on a free loopback port, stopped when dropped.
struct Server {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    args: Vec<String>,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// `None` when Redis tests are skipped (no `AUTHGATE_REDIS_URL`, not required).
    fn start(extra: &[&str]) -> Option<Server> {
        Server::start_with(|port, _| {
            let mut args = vec!["--port".to_string(), port.to_string()];
            args.extend(extra.iter().map(|s| s.to_string()));
            args
        })
    }

    /// A server whose arguments `args(port, dir)` gives (beyond bind, persistence, dir).
    fn start_with(args: impl FnOnce(u16, &std::path::Path) -> Vec<String>) -> Option<Server> {
        stores::redis_url()?;
        let dir = std::env::temp_dir().join(format!("authgate-redis-{}", free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let mut s = Server {
            child: None,
            port,
            args: args(port, &dir),
            dir,
        };
        s.spawn();
        Some(s)
    }

    fn spawn(&mut self) {
        let child = Command::new(
            std::env::var("AUTHGATE_REDIS_SERVER").unwrap_or_else(|_| "redis-server".into()),
        )
        .args(["--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(&self.dir)
        .args(&self.args)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (install Debian's redis-server, or set AUTHGATE_REDIS_SERVER)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_stopped_redis_gives_store_unavailable_fast_and_work_resumes_after_restart() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    let mut config = RedisConfig::new(server.url());
    config.connect_timeout = Duration::from_millis(500);
    config.io_timeout = Duration::from_millis(500);
    let store = Arc::new(RedisStore::new(config).unwrap());
    let clock = Arc::new(ManualClock::new(NOW));
    let limiter = RateLimiter::with_clock(store.clone(), clock.clone());
    limiter
        .set_policy("p", Policy::per_hour(3).unwrap())
        .unwrap();
    assert!(limiter.check("p", "k", 1).unwrap().allowed);
    assert!(store.nonce_insert("s", "n", NOW + 60, NOW).unwrap());

    server.stop();
    let started = Instant::now();
    let e = limiter.check("p", "k", 1).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
    // Authentication state fails closed too: a nonce can't be accepted unrecorded.
    let e = store.nonce_insert("s", "n2", NOW + 60, NOW).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
    assert!(started.elapsed() < Duration::from_secs(3), "no hang");
    // Failing open: the request goes through, marked degraded, with no headers.
    limiter.set_failure_mode(FailureMode::Open);
    let d = limiter.check("p", "k", 1).unwrap();
    assert!(d.allowed && d.degraded && d.headers().is_empty());
    limiter.set_failure_mode(FailureMode::Closed);

    // Restarted empty (no persistence here): the next calls reconnect and count anew.
    server.spawn();
    let d = limiter.check("p", "k", 1).unwrap();
    assert!(d.allowed && !d.degraded);
    assert_eq!(d.remaining, 2);
    assert!(store.nonce_insert("s", "n", NOW + 60, NOW).unwrap());
    assert!(!store.nonce_insert("s", "n", NOW + 60, NOW).unwrap());
}

#[test]
fn an_unreachable_redis_is_an_error_not_a_hang() {
    if stores::redis_url().is_none() {
        return;
    }
    // Nothing listens on a port just freed.
    let mut config = RedisConfig::new(format!("redis://127.0.0.1:{}", free_port()));
    config.connect_timeout = Duration::from_millis(300);
    let store = RedisStore::new(config).unwrap();
    let started = Instant::now();
    let e = store.ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
    assert!(started.elapsed() < Duration::from_secs(2));
    // Bad URLs are refused when the store is made, not at the first request.
    for bad in ["http://localhost", "redis://", "not a url"] {
        let e = RedisStore::open(bad).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
    }
}

#[test]
fn a_password_protected_redis_needs_the_password_which_no_message_repeats() {
    let Some(server) = Server::start(&["--requirepass", "s3cret-pass"]) else {
        return;
    };
    let without = RedisStore::open(&server.url()).unwrap();
    let e = without.ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
    let wrong = RedisStore::open(&format!("redis://:nope-pass@127.0.0.1:{}", server.port));
    let e = wrong.unwrap().ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
    assert!(!e.to_string().contains("nope-pass"), "{e}");
    let right =
        RedisStore::open(&format!("redis://:s3cret-pass@127.0.0.1:{}/0", server.port)).unwrap();
    right.ping().unwrap();
    assert!(!format!("{right:?}").contains("s3cret"));
    assert!(right.nonce_insert("s", "n", NOW + 60, NOW).unwrap());
}

/// A private CA, and a certificate it signed for localhost and 127.0.0.1 (PEM).
fn private_ca() -> (String, String, String) {
    let ca = authgate_test_https::private_ca();
    (ca.ca_pem, ca.cert_pem, ca.key_pem)
}

#[test]
fn rediss_reaches_a_tls_redis_through_a_private_ca_and_refuses_an_untrusted_one() {
    let (ca, cert, key) = private_ca();
    let Some(server) = Server::start_with(|port, dir| {
        for (name, pem) in [("ca.pem", &ca), ("cert.pem", &cert), ("key.pem", &key)] {
            std::fs::write(dir.join(name), pem).unwrap();
        }
        let file = |name: &str| dir.join(name).to_string_lossy().into_owned();
        vec![
            "--port".into(),
            "0".into(),
            "--tls-port".into(),
            port.to_string(),
            "--tls-cert-file".into(),
            file("cert.pem"),
            "--tls-key-file".into(),
            file("key.pem"),
            "--tls-ca-cert-file".into(),
            file("ca.pem"),
            "--tls-auth-clients".into(),
            "no".into(),
        ]
    }) else {
        return;
    };
    let mut config = RedisConfig::new(format!("rediss://127.0.0.1:{}", server.port));
    config.ca_cert_pem = Some(ca.clone().into_bytes());
    let store = RedisStore::new(config).unwrap();
    store.ping().unwrap();
    assert!(store.nonce_insert("s", "n", NOW + 60, NOW).unwrap());
    assert!(!store.nonce_insert("s", "n", NOW + 60, NOW).unwrap());

    // Without the private CA the server is not trusted; plain text to a TLS port fails.
    let mut fast = RedisConfig::new(format!("rediss://localhost:{}", server.port));
    fast.io_timeout = Duration::from_millis(500);
    let e = RedisStore::new(fast).unwrap().ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
    assert!(e.message().contains("certificate"), "{e}");
    let mut plain = RedisConfig::new(format!("redis://127.0.0.1:{}", server.port));
    plain.io_timeout = Duration::from_millis(500);
    let e = RedisStore::new(plain).unwrap().ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::StoreUnavailable);
}
