//! The remote JWKS client against a real local HTTPS server (private CA) that rotates its
//! keys, answers slowly, fails, drops connections and returns garbage. Time for the cache
//! is a manual clock; the network is real.

use std::sync::Arc;
use std::time::{Duration, Instant};

use authgate_core::clock::ManualClock;
use authgate_core::jwt::{Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::remote_jwks::{RemoteJwks, RemoteJwksOptions};
use authgate_core::ErrorKind;
use authgate_test_https::HttpsServer;
use serde_json::{json, Map, Value};

const NOW: u64 = 1_700_000_000;
const JWKS: &str = "/jwks.json";

/// An identity provider's signing key: signs tokens, and publishes its public half.
struct Signer(KeySet);

impl Signer {
    fn new(kid: &str) -> Signer {
        let pem = Key::generate_pem(Algorithm::ES256).unwrap();
        let set = KeySet::new();
        set.add(
            Key::from_pem(Some(kid), Algorithm::ES256, &pem).unwrap(),
            KeyStatus::Active,
        )
        .unwrap();
        Signer(set)
    }

    fn token(&self, iss: &str) -> String {
        let claims: Map<String, Value> =
            serde_json::from_value(json!({"sub": "alice", "iss": iss, "exp": NOW + 600})).unwrap();
        self.0.sign(&claims, None).unwrap()
    }
}

/// The JWKS document publishing these signers' public keys.
fn jwks(signers: &[&Signer]) -> String {
    let keys: Vec<Value> = signers
        .iter()
        .flat_map(|s| s.0.jwks()["keys"].as_array().unwrap().clone())
        .collect();
    json!({ "keys": keys }).to_string()
}

fn options(server: &HttpsServer) -> RemoteJwksOptions {
    RemoteJwksOptions {
        ca_cert_pem: Some(server.ca_pem.clone()),
        timeout: Duration::from_millis(800),
        ..RemoteJwksOptions::default()
    }
}

fn client(server: &HttpsServer, clock: &Arc<ManualClock>) -> RemoteJwks {
    RemoteJwks::new(&server.url(JWKS), options(server))
        .unwrap()
        .with_clock(clock.clone())
}

/// The provider's tokens here carry no `aud`; a remote set needs an audience or the
/// named opt-out (see `an_audience_is_required` below).
fn validation() -> Validation {
    Validation {
        accept_any_audience: true,
        ..Validation::default()
    }
}

fn verify(c: &RemoteJwks, token: &str) -> authgate_core::Result<String> {
    c.verify_at(token, &validation(), NOW)
        .map(|claims| claims.json().to_string())
}

#[test]
fn fetches_once_then_serves_the_cache_until_the_ttl() {
    let server = HttpsServer::start();
    let a = Signer::new("a");
    server.set(JWKS, 200, 0, &jwks(&[&a]));
    let clock = Arc::new(ManualClock::new(NOW));
    let c = client(&server, &clock);
    for _ in 0..5 {
        assert!(verify(&c, &a.token("idp")).unwrap().contains("alice"));
    }
    assert_eq!(server.hits(JWKS), 1);
    assert_eq!(c.status().kids, vec!["a".to_string()]);
    clock.advance(599);
    verify(&c, &a.token("idp")).unwrap();
    assert_eq!(server.hits(JWKS), 1);
    clock.advance(1);
    verify(&c, &a.token("idp")).unwrap();
    assert_eq!(
        server.hits(JWKS),
        2,
        "a set as old as its TTL is fetched again"
    );
    let status = c.status();
    assert_eq!((status.fetches, status.failures), (2, 0));
    assert_eq!(status.fetched_at, Some(NOW + 600));
}

#[test]
fn a_rotated_key_is_fetched_on_its_first_token_and_unknown_kids_cannot_hammer() {
    let server = HttpsServer::start();
    let (a, b) = (Signer::new("a"), Signer::new("b"));
    server.set(JWKS, 200, 0, &jwks(&[&a]));
    let clock = Arc::new(ManualClock::new(NOW));
    let c = client(&server, &clock);
    verify(&c, &a.token("idp")).unwrap();
    clock.advance(31);
    // The provider rotates: b is published, a withdrawn.
    server.set(JWKS, 200, 0, &jwks(&[&b]));
    verify(&c, &b.token("idp")).unwrap();
    assert_eq!(server.hits(JWKS), 2, "one refetch for the new kid");
    assert_eq!(c.status().kids, vec!["b".to_string()]);
    let e = verify(&c, &a.token("idp")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyNotFound);

    // Made-up kids within the cooldown: refused from the cache, no request.
    let forger = Signer::new("made-up");
    for _ in 0..50 {
        let e = verify(&c, &forger.token("idp")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::KeyNotFound);
    }
    assert_eq!(server.hits(JWKS), 2);
    clock.advance(30);
    for _ in 0..50 {
        verify(&c, &forger.token("idp")).unwrap_err();
    }
    assert_eq!(server.hits(JWKS), 3, "at most one fetch a cooldown");
    // A token without a kid, or one that is not a JWT, costs no fetch either.
    clock.advance(30);
    assert_eq!(
        verify(&c, "not.a.jwt").unwrap_err().kind(),
        ErrorKind::MalformedToken
    );
    assert_eq!(server.hits(JWKS), 3);
}

#[test]
fn failures_keep_the_good_cache_and_serve_it_stale_within_the_bound() {
    let server = HttpsServer::start();
    let a = Signer::new("a");
    server.set(JWKS, 200, 0, &jwks(&[&a]));
    let clock = Arc::new(ManualClock::new(NOW));
    let c = RemoteJwks::new(
        &server.url(JWKS),
        RemoteJwksOptions {
            max_stale: 3600,
            ..options(&server)
        },
    )
    .unwrap()
    .with_clock(clock.clone());
    verify(&c, &a.token("idp")).unwrap();
    let garbage = [
        (500, "internal error"),
        (503, ""),
        (200, "<html>maintenance</html>"),
        (200, "{\"keys\": []}"),
        (200, "{\"keys\": [{\"kty\": \"oct\", \"k\": \"c2VjcmV0\"}]}"),
        (200, "{\"keys\": [{\"kty\": \"EC\", \"crv\": \"P-256\""),
        (302, ""),
        (0, ""),
    ];
    let mut hits = 1;
    for (status, body) in garbage {
        clock.advance(601);
        server.set(JWKS, status, 0, body);
        // The provider misbehaves: the last good set is still served.
        verify(&c, &a.token("idp")).unwrap();
        hits += 1;
        assert_eq!(server.hits(JWKS), hits, "{status} {body}");
        let status_now = c.status();
        assert!(status_now.stale);
        assert_eq!(status_now.kids, vec!["a".to_string()]);
        let last = status_now.last_error.unwrap();
        assert_eq!(last.kind(), ErrorKind::KeySetUnavailable);
        // Retried at most once a cooldown, not on every request.
        verify(&c, &a.token("idp")).unwrap();
        assert_eq!(server.hits(JWKS), hits);
        // Back under the max_stale bound for the next round.
        server.set(JWKS, 200, 0, &jwks(&[&a]));
        clock.advance(31);
        verify(&c, &a.token("idp")).unwrap();
        hits += 1;
        assert!(!c.status().stale);
    }
    // Down for longer than max_stale: the stale set is no longer trusted.
    server.set(JWKS, 500, 0, "");
    clock.advance(600 + 3600);
    let e = verify(&c, &a.token("idp")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeySetUnavailable);
    assert!(e.message().contains("HTTP 500"), "{}", e.message());
    // And it comes back when the provider does.
    server.set(JWKS, 200, 0, &jwks(&[&a]));
    clock.advance(31);
    verify(&c, &a.token("idp")).unwrap();
}

#[test]
fn a_slow_provider_times_out_and_the_stale_set_is_served_meanwhile() {
    let server = HttpsServer::start();
    let a = Signer::new("a");
    server.set(JWKS, 200, 0, &jwks(&[&a]));
    let clock = Arc::new(ManualClock::new(NOW));
    let c = client(&server, &clock);
    verify(&c, &a.token("idp")).unwrap();
    clock.advance(601);
    server.set(JWKS, 200, 3000, &jwks(&[&a]));
    let started = Instant::now();
    verify(&c, &a.token("idp")).unwrap();
    let waited = started.elapsed();
    assert!(
        waited < Duration::from_millis(2500),
        "waited {waited:?} for a slow provider"
    );
    let last = c.status().last_error.unwrap();
    assert!(last.message().contains("no answer within"), "{last}");

    // Without a cached set, a slow provider is an error after the timeout.
    let cold = client(&server, &clock);
    let e = verify(&cold, &a.token("idp")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeySetUnavailable);
    // And within the cooldown it is not asked again.
    let started = Instant::now();
    let e = verify(&cold, &a.token("idp")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeySetUnavailable);
    assert!(started.elapsed() < Duration::from_millis(200));
}

/// Sixteen threads verify `token` at once; every one must succeed.
fn verify_from_16_threads(c: &Arc<RemoteJwks>, token: &str) {
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let (c, token) = (c.clone(), token.to_string());
            std::thread::spawn(move || verify(&c, &token).map(|_| ()))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
}

#[test]
fn while_one_caller_fetches_the_others_wait_for_it_or_use_the_cache() {
    let server = HttpsServer::start();
    let a = Signer::new("a");
    server.set(JWKS, 200, 300, &jwks(&[&a]));
    let clock = Arc::new(ManualClock::new(NOW));
    let c = Arc::new(client(&server, &clock));
    let token = a.token("idp");
    verify_from_16_threads(&c, &token);
    assert_eq!(server.hits(JWKS), 1, "sixteen cold callers, one fetch");
    // An expired cache: callers arriving during the refetch are served the old set.
    clock.advance(601);
    verify_from_16_threads(&c, &token);
    assert_eq!(server.hits(JWKS), 2);
}

#[test]
fn tls_is_checked_and_only_https_urls_are_taken() {
    let server = HttpsServer::start();
    let a = Signer::new("a");
    server.set(JWKS, 200, 0, &jwks(&[&a]));
    // The Mozilla roots do not know the private CA.
    let untrusting = RemoteJwks::new(&server.url(JWKS), RemoteJwksOptions::default()).unwrap();
    let e = untrusting.refresh().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeySetUnavailable);
    assert_eq!(
        server.hits(JWKS),
        0,
        "no request over an untrusted connection"
    );
    for url in [
        "http://127.0.0.1/jwks.json",
        "ftp://idp/jwks",
        "https://idp/ jwks",
        "",
    ] {
        let e = RemoteJwks::new(url, RemoteJwksOptions::default()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput, "{url}");
    }
    let e = RemoteJwks::new(
        &server.url(JWKS),
        RemoteJwksOptions {
            ca_cert_pem: Some("not a certificate".into()),
            ..RemoteJwksOptions::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    // A response larger than the bound is refused, the cache untouched.
    let big = format!("{{\"keys\": [], \"pad\": \"{}\"}}", "x".repeat(4096));
    server.set(JWKS, 200, 0, &big);
    let small = RemoteJwks::new(
        &server.url(JWKS),
        RemoteJwksOptions {
            max_bytes: 1024,
            ..options(&server)
        },
    )
    .unwrap();
    let e = small.refresh().unwrap_err();
    assert!(e.message().contains("over 1024 bytes"), "{e}");
}

#[test]
fn discovery_finds_the_key_set_and_binds_the_issuer() {
    let server = HttpsServer::start();
    let a = Signer::new("a");
    let issuer = server.url("/realms/main");
    let doc = "/realms/main/.well-known/openid-configuration";
    server.set(
        doc,
        200,
        0,
        &json!({"issuer": issuer, "jwks_uri": server.url("/realms/main/certs")}).to_string(),
    );
    server.set("/realms/main/certs", 200, 0, &jwks(&[&a]));
    let clock = Arc::new(ManualClock::new(NOW));
    for given in [issuer.clone(), format!("{issuer}/"), server.url(doc)] {
        let c = RemoteJwks::discover(&given, options(&server))
            .unwrap()
            .with_clock(clock.clone());
        verify(&c, &a.token(&issuer)).unwrap();
        // Tokens from another issuer are refused even though the key matches.
        let e = verify(&c, &a.token("https://elsewhere.example")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidIssuer);
        let status = c.status();
        assert_eq!(status.issuer.as_deref(), Some(issuer.as_str()));
        assert_eq!(
            status.jwks_uri,
            Some(server.url("/realms/main/certs")),
            "{given}"
        );
    }
    // A document naming another issuer, or an http:// key set, is refused.
    for bad in [
        json!({"issuer": "https://evil.example", "jwks_uri": server.url("/realms/main/certs")}),
        json!({"issuer": issuer, "jwks_uri": "http://127.0.0.1/certs"}),
        json!({"issuer": issuer}),
    ] {
        server.set(doc, 200, 0, &bad.to_string());
        let c = RemoteJwks::discover(&issuer, options(&server)).unwrap();
        let e = c.refresh().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::KeySetUnavailable, "{bad}");
    }
}
