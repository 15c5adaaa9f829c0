//! Behaviour beyond the shared vectors: PEM import, every algorithm's round trip, key
//! rotation, JWKS export/import, concurrency, and interop with the `jsonwebtoken` crate.

use std::sync::{Arc, Barrier};
use std::thread;

use authgate_core::apikey::{ApiKeyManager, ApiKeyOptions};
use authgate_core::client_token::ClientTokens;
use authgate_core::clock::ManualClock;
use authgate_core::jwt::{self, Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::session::{DeviceInfo, SessionConfig, SessionManager};
use authgate_core::store::MemoryStore;
use authgate_core::ErrorKind;
use serde_json::{json, Map, Value};

const NOW: u64 = 1_700_000_000;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn claims(exp: u64) -> Map<String, Value> {
    json!({"sub": "user-1", "exp": exp, "iat": NOW, "scope": "read"})
        .as_object()
        .unwrap()
        .clone()
}

fn private_key(alg: Algorithm, kid: &str) -> Key {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
            Key::hmac(Some(kid), alg, &Key::generate_hmac_secret(alg).unwrap()).unwrap()
        }
        Algorithm::ES256 | Algorithm::ES384 | Algorithm::EdDSA | Algorithm::Ed25519 => {
            Key::from_pem(Some(kid), alg, &Key::generate_pem(alg).unwrap()).unwrap()
        }
        _ => Key::from_pem(Some(kid), alg, &data("rsa-private.pem")).unwrap(),
    }
}

#[test]
fn every_algorithm_round_trips_and_rejects_a_changed_token() {
    for &alg in Algorithm::ALL {
        let set = KeySet::single(private_key(alg, "k"));
        let token = set.sign(&claims(NOW + 60), None).unwrap();
        let verified = set.verify_at(&token, &Validation::default(), NOW).unwrap();
        assert_eq!(verified.sub(), Some("user-1"), "{alg}");
        assert!(verified.has_scope("read"));
        // Flip one bit in each part: never accepted.
        for pos in [5, token.find('.').unwrap() + 5, token.len() - 10] {
            let mut bytes = token.clone().into_bytes();
            bytes[pos] ^= 0x01;
            let changed = String::from_utf8(bytes).unwrap();
            assert!(
                set.verify_at(&changed, &Validation::default(), NOW)
                    .is_err(),
                "{alg} at {pos}"
            );
        }
    }
}

#[test]
fn public_halves_verify_what_private_keys_sign() {
    for (alg, private, public) in [
        (Algorithm::RS256, "rsa-private.pem", "rsa-public.pem"),
        (Algorithm::PS256, "rsa-private-pkcs1.pem", "rsa-public.pem"),
        (Algorithm::ES256, "ec-private.pem", "ec-public.pem"),
        // SEC1 `EC PRIVATE KEY` PEM from OpenSSL (#20 item 18), the second after the
        // `EC PARAMETERS` block `openssl ecparam -genkey` writes first.
        (Algorithm::ES256, "ec-private-sec1.pem", "ec-public.pem"),
        (
            Algorithm::ES256,
            "ec-private-ecparam.pem",
            "ec-public-ecparam.pem",
        ),
        (
            Algorithm::EdDSA,
            "ed25519-private.pem",
            "ed25519-public.pem",
        ),
    ] {
        let signer = KeySet::single(Key::from_pem(Some("k"), alg, &data(private)).unwrap());
        let token = signer.sign(&claims(NOW + 60), None).unwrap();
        let verifier = KeySet::new();
        verifier
            .add(
                Key::from_pem(Some("k"), alg, &data(public)).unwrap(),
                KeyStatus::VerifyOnly,
            )
            .unwrap();
        verifier
            .verify_at(&token, &Validation::default(), NOW)
            .unwrap();
        // And through the JWKS the signer publishes.
        let via_jwks = KeySet::new();
        via_jwks.import_jwks(&signer.jwks().to_string()).unwrap();
        via_jwks
            .verify_at(&token, &Validation::default(), NOW)
            .unwrap();
    }
}

#[test]
fn pem_of_the_wrong_kind_is_a_typed_error() {
    let e = Key::from_pem(None, Algorithm::ES384, &data("ec-private-sec1.pem")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    let e = Key::from_pem(None, Algorithm::ES256, &data("rsa-public.pem")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    let e = Key::from_pem(None, Algorithm::RS256, "not a pem").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    let e = Key::generate_pem(Algorithm::RS256).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[test]
fn public_keys_cannot_sign_or_be_active() {
    let public = Key::from_pem(Some("p"), Algorithm::EdDSA, &data("ed25519-public.pem")).unwrap();
    assert!(!public.can_sign());
    let set = KeySet::new();
    assert_eq!(
        set.add(public, KeyStatus::Active).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
}

#[test]
fn rotation_signs_with_the_new_key_and_verifies_with_both_until_retired() {
    let set = KeySet::single(private_key(Algorithm::ES256, "2026-01"));
    let old_token = set.sign(&claims(NOW + 60), None).unwrap();
    set.add(
        private_key(Algorithm::EdDSA, "2026-02"),
        KeyStatus::VerifyOnly,
    )
    .unwrap();
    set.activate("2026-02").unwrap();
    let new_token = set.sign(&claims(NOW + 60), None).unwrap();
    let (header, _) = jwt::peek_unverified(&new_token).unwrap();
    assert_eq!(header["kid"], "2026-02");
    assert_eq!(header["alg"], "EdDSA");
    set.verify_at(&old_token, &Validation::default(), NOW)
        .unwrap();
    set.retire("2026-01").unwrap();
    let e = set
        .verify_at(&old_token, &Validation::default(), NOW)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::KeyNotFound);
    set.verify_at(&new_token, &Validation::default(), NOW)
        .unwrap();
    assert_eq!(
        set.jwks()["keys"].as_array().unwrap().len(),
        1,
        "retired keys leave the JWKS"
    );
    assert_eq!(
        set.add(
            private_key(Algorithm::HS256, "2026-02"),
            KeyStatus::VerifyOnly
        )
        .unwrap_err()
        .kind(),
        ErrorKind::InvalidInput
    );
}

#[test]
fn signing_refuses_claims_it_would_not_verify() {
    let set = KeySet::single(private_key(Algorithm::HS256, "k"));
    for bad in [
        json!({"exp": "soon"}),
        json!({"exp": 1.5}),
        json!({"iss": 3}),
        json!({"aud": [1]}),
    ] {
        let e = set.sign(bad.as_object().unwrap(), None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidClaim, "{bad}");
    }
}

#[test]
fn error_messages_never_contain_the_token_or_secret() {
    let secret = b"a-very-secret-hmac-key-of-32-byte";
    let set = KeySet::single(Key::hmac(Some("k"), Algorithm::HS256, secret).unwrap());
    let token = set.sign(&claims(NOW - 3600), None).unwrap();
    let sig = token.rsplit('.').next().unwrap();
    for t in [token.clone(), format!("{token}x"), token.replace('.', "")] {
        let e = set.verify_at(&t, &Validation::default(), NOW).unwrap_err();
        assert!(
            !e.message().contains(sig) && !e.message().contains("secret"),
            "{}",
            e.message()
        );
    }
}

fn device(id: &str) -> DeviceInfo {
    DeviceInfo {
        device_id: id.into(),
        name: None,
    }
}

fn manager(clock: Arc<ManualClock>) -> SessionManager {
    let keys = Arc::new(KeySet::single(private_key(Algorithm::HS256, "s")));
    SessionManager::with_clock(
        keys,
        Arc::new(MemoryStore::new()),
        SessionConfig::default(),
        clock,
    )
    .unwrap()
}

#[test]
fn concurrent_refreshes_with_one_token_have_exactly_one_winner() {
    let m = Arc::new(manager(Arc::new(ManualClock::new(NOW))));
    for _ in 0..20 {
        let login = m.login("alice", &device("d"), None).unwrap();
        let barrier = Arc::new(Barrier::new(16));
        let handles: Vec<_> = (0..16)
            .map(|_| {
                let (m, b, t) = (
                    m.clone(),
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
        let winners = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(winners, 1);
        for r in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(
                    r.kind(),
                    ErrorKind::RefreshTokenReused | ErrorKind::SessionRevoked
                ),
                "{r}"
            );
        }
    }
}

/// 50 refreshes racing with one token under a retry grace: one rotation wins, at most
/// `MAX_GRACE_RETRIES` retries get pairs of their own, the rest are refused without
/// revoking — and every pair handed out keeps working (#20 item 9).
fn race_with_grace(managers: &[Arc<SessionManager>]) {
    use authgate_core::session::MAX_GRACE_RETRIES;
    let login = managers[0].login("alice", &device("d"), None).unwrap();
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
fn concurrent_refreshes_under_a_retry_grace_keep_the_session() {
    let m = Arc::new(
        SessionManager::with_clock(
            Arc::new(KeySet::single(private_key(Algorithm::HS256, "k"))),
            Arc::new(MemoryStore::new()),
            SessionConfig {
                retry_grace: 10,
                ..SessionConfig::default()
            },
            Arc::new(ManualClock::new(NOW)),
        )
        .unwrap(),
    );
    for _ in 0..10 {
        race_with_grace(std::slice::from_ref(&m));
    }
}

#[test]
fn refresh_tokens_are_random_and_only_hashes_are_kept() {
    let m = manager(Arc::new(ManualClock::new(NOW)));
    let a = m.login("alice", &device("d"), None).unwrap();
    let b = m.login("alice", &device("d"), None).unwrap();
    assert_ne!(a.tokens.refresh_token, b.tokens.refresh_token);
    assert!(a.tokens.refresh_token.starts_with("agr_") && a.tokens.refresh_token.len() == 4 + 43);
    let listed = format!("{:?}", m.list("alice").unwrap());
    assert!(!listed.contains(&a.tokens.refresh_token[4..]));
}

#[test]
fn metered_api_key_credits_are_exact_under_concurrency() {
    let keys = Arc::new(ApiKeyManager::new(Arc::new(MemoryStore::new())));
    let (key, _) = keys
        .create(&ApiKeyOptions {
            credits: Some(100),
            ..Default::default()
        })
        .unwrap();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (keys, key) = (keys.clone(), key.clone());
            thread::spawn(move || (0..50).filter(|_| keys.verify(&key, None).is_ok()).count())
        })
        .collect();
    let accepted: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(accepted, 100);
}

#[test]
fn api_keys_are_stored_as_hashes_and_shown_once() {
    let keys = ApiKeyManager::new(Arc::new(MemoryStore::new()));
    let (key, record) = keys.create(&ApiKeyOptions::default()).unwrap();
    let stored = format!("{:?}", keys.list().unwrap());
    assert!(!stored.contains(&key[8..]), "the secret must not be stored");
    assert_eq!(record.last_four, key[key.len() - 4..]);
    assert_eq!(keys.verify(&key, None).unwrap().id, record.id);
}

#[test]
fn client_tokens_mint_and_verify() {
    let (server_key, _) = authgate_core::apikey::generate(
        &ApiKeyOptions {
            prefix: authgate_core::apikey::PREFIX_SERVER.into(),
            ..ApiKeyOptions::default()
        },
        NOW,
    )
    .unwrap();
    let ct = ClientTokens::new(&server_key).unwrap();
    let token = ct.mint("u-1", 300, NOW).unwrap();
    assert_eq!(ct.verify(&token, "u-1", NOW + 10).unwrap().exp, NOW + 300);
    assert_eq!(
        ct.verify(&token, "u-2", NOW).unwrap_err().kind(),
        ErrorKind::UserMismatch
    );
    assert_eq!(
        ct.verify(&token, "u-1", NOW + 400).unwrap_err().kind(),
        ErrorKind::TokenExpired
    );
    assert!(!authgate_core::client_token::needs_refresh(&token, NOW, 30));
    assert!(authgate_core::client_token::needs_refresh(
        &token,
        NOW + 280,
        30
    ));
}

mod interop {
    use super::*;
    use jsonwebtoken as jwtcrate;
    use serde_json::Value;

    fn theirs(alg: Algorithm) -> jwtcrate::Algorithm {
        alg.name().parse().unwrap()
    }

    fn their_keys(alg: Algorithm) -> (jwtcrate::EncodingKey, jwtcrate::DecodingKey, Key, Key) {
        let (private, public) = match alg {
            Algorithm::ES256 => ("ec-private.pem", "ec-public.pem"),
            Algorithm::EdDSA => ("ed25519-private.pem", "ed25519-public.pem"),
            _ => ("rsa-private.pem", "rsa-public.pem"),
        };
        let (private, public) = (data(private), data(public));
        let (enc, dec) = match alg {
            Algorithm::ES256 => (
                jwtcrate::EncodingKey::from_ec_pem(private.as_bytes()).unwrap(),
                jwtcrate::DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
            ),
            Algorithm::EdDSA => (
                jwtcrate::EncodingKey::from_ed_pem(private.as_bytes()).unwrap(),
                jwtcrate::DecodingKey::from_ed_pem(public.as_bytes()).unwrap(),
            ),
            _ => (
                jwtcrate::EncodingKey::from_rsa_pem(private.as_bytes()).unwrap(),
                jwtcrate::DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
            ),
        };
        (
            enc,
            dec,
            Key::from_pem(Some("k"), alg, &private).unwrap(),
            Key::from_pem(Some("k"), alg, &public).unwrap(),
        )
    }

    /// The `jsonwebtoken` crate (not written here) verifies our tokens and we verify theirs.
    #[test]
    fn jsonwebtoken_crate_and_authgate_verify_each_other() {
        let exp = authgate_core::clock::unix_now() + 600;
        for alg in [
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::EdDSA,
            Algorithm::HS256,
        ] {
            let (enc, dec, ours_private, ours_public) = if alg == Algorithm::HS256 {
                let secret = b"0123456789abcdef0123456789abcdef";
                (
                    jwtcrate::EncodingKey::from_secret(secret),
                    jwtcrate::DecodingKey::from_secret(secret),
                    Key::hmac(Some("k"), alg, secret).unwrap(),
                    Key::hmac(Some("k"), alg, secret).unwrap(),
                )
            } else {
                their_keys(alg)
            };
            let ours = jwt::sign_with(&ours_private, &claims(exp), None).unwrap();
            let mut v = jwtcrate::Validation::new(theirs(alg));
            v.validate_aud = false;
            let decoded = jwtcrate::decode::<Value>(&ours, &dec, &v).unwrap();
            assert_eq!(decoded.claims["sub"], "user-1", "{alg}");

            let mut header = jwtcrate::Header::new(theirs(alg));
            header.kid = Some("k".into());
            let their_token = jwtcrate::encode(&header, &claims(exp), &enc).unwrap();
            let set = KeySet::new();
            set.add(ours_public, KeyStatus::VerifyOnly).unwrap();
            let verified = set.verify(&their_token, &Validation::default()).unwrap();
            assert_eq!(verified.sub(), Some("user-1"), "{alg}");
        }
    }
}

/// After a first token memoizes its header, tokens with the byte-identical header must
/// still get every per-token check, and a change to the key set must drop the memo.
#[test]
fn memoized_headers_change_no_verdict() {
    let set = KeySet::single(private_key(Algorithm::HS256, "k"));
    let good = set.sign(&claims(NOW + 60), None).unwrap();
    let v = Validation::default();
    set.verify_at(&good, &v, NOW).unwrap();
    set.verify_at(&good, &v, NOW).unwrap(); // now through the memo

    let (input, sig) = good.rsplit_once('.').unwrap();
    let other_sig = set
        .sign(&claims(NOW + 61), None)
        .unwrap()
        .rsplit_once('.')
        .unwrap()
        .1
        .to_string();
    assert_eq!(
        set.verify_at(&format!("{input}.{other_sig}"), &v, NOW)
            .unwrap_err()
            .kind(),
        ErrorKind::InvalidSignature
    );
    assert_eq!(
        set.verify_at(&format!("{input}.!{}", &sig[1..]), &v, NOW)
            .unwrap_err()
            .kind(),
        ErrorKind::MalformedToken
    );
    let typed = Validation {
        token_type: Some("at+jwt".into()),
        ..Validation::default()
    };
    assert_eq!(
        set.verify_at(&good, &typed, NOW).unwrap_err().kind(),
        ErrorKind::InvalidTokenType
    );
    let rs_only = Validation {
        algorithms: vec![Algorithm::RS256],
        ..Validation::default()
    };
    assert_eq!(
        set.verify_at(&good, &rs_only, NOW).unwrap_err().kind(),
        ErrorKind::AlgorithmNotAllowed
    );
    assert_eq!(
        set.verify_at(&good, &v, NOW + 3600).unwrap_err().kind(),
        ErrorKind::TokenExpired
    );

    set.retire("k").unwrap();
    assert_eq!(
        set.verify_at(&good, &v, NOW).unwrap_err().kind(),
        ErrorKind::KeyNotFound
    );
}

#[test]
fn verification_is_thread_safe_during_rotation() {
    let set = Arc::new(KeySet::single(private_key(Algorithm::HS256, "a")));
    let token = set.sign(&claims(NOW + 60), None).unwrap();
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (set, token) = (set.clone(), token.clone());
            thread::spawn(move || {
                (0..2000).all(|_| set.verify_at(&token, &Validation::default(), NOW).is_ok())
            })
        })
        .collect();
    for i in 0..50 {
        let kid = format!("b{i}");
        set.add(private_key(Algorithm::HS256, &kid), KeyStatus::VerifyOnly)
            .unwrap();
        set.remove(&kid).unwrap();
    }
    assert!(
        readers.into_iter().all(|h| h.join().unwrap()),
        "key 'a' stayed valid throughout"
    );
}

/// Bindings share these objects between threads without wrapping them in locks.
#[test]
fn shared_objects_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<KeySet>();
    assert_send_sync::<Key>();
    assert_send_sync::<SessionManager>();
    assert_send_sync::<ApiKeyManager>();
    assert_send_sync::<ClientTokens>();
    assert_send_sync::<MemoryStore>();
    assert_send_sync::<authgate_core::Error>();
}

/// A sink rebuilding the claims sees exactly what `Claims::to_map` returns.
#[test]
fn claim_sink_sees_every_claim_once() {
    use authgate_core::jwt::{ClaimSink, RegisteredValue};
    use serde::Deserialize;

    #[derive(Default)]
    struct Collect(Map<String, Value>);
    impl ClaimSink for Collect {
        fn registered(&mut self, name: &str, value: RegisteredValue<'_>) {
            let v = match value {
                RegisteredValue::Time(t) => json!(t),
                RegisteredValue::Text(s) => json!(s),
                RegisteredValue::Audience(list, false) => json!(list[0]),
                RegisteredValue::Audience(list, true) => json!(list),
            };
            self.0.insert(name.to_string(), v);
        }
        fn other<'de, D: serde::Deserializer<'de>>(
            &mut self,
            name: &str,
            value: D,
        ) -> Result<(), D::Error> {
            self.0.insert(name.to_string(), Value::deserialize(value)?);
            Ok(())
        }
    }

    let set = KeySet::single(private_key(Algorithm::HS256, "k"));
    for c in [
        json!({"exp": NOW + 60, "aud": "api", "iss": "i\"ss\\u00e9", "x": {"y": [1, 2.5, null, true]}}),
        json!({"exp": NOW + 60, "aud": ["a", "b"], "scope": "r w", "sub": "s", "jti": "j", "iat": NOW, "nbf": NOW, "emoji": "\u{1F600}"}),
    ] {
        let token = set.sign(c.as_object().unwrap(), None).unwrap();
        let mut sink = Collect::default();
        let claims = set
            .verify_into(
                &token,
                &Validation {
                    accept_any_audience: true,
                    ..Validation::default()
                },
                NOW,
                &mut sink,
            )
            .unwrap();
        assert_eq!(sink.0, claims.to_map());
        assert_eq!(Value::Object(sink.0), c);
    }
}
