//! Property tests (proptest): for random claims, requests and payloads, every JWT algorithm
//! and every signer round-trips, and any single-bit change of what was signed is refused.

use std::sync::Arc;

use authgate_core::clock::ManualClock;
use authgate_core::jwt::{Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::signature::{
    KeyMap, Request, RequestSigner, RequestVerifier, SignatureAlgorithm, SignatureKey,
    SignerConfig, VerifyPolicy,
};
use authgate_core::store::MemoryStore;
use authgate_core::webhook::{self, WebhookKey, WebhookVerifier};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const NOW: u64 = 1_700_000_000;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// One signing key per algorithm (RSA from the test data: generating one is slow).
fn keys() -> Vec<Key> {
    Algorithm::ALL
        .iter()
        .map(|&alg| match alg {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => {
                Key::hmac(Some("k"), alg, &Key::generate_hmac_secret(alg).unwrap()).unwrap()
            }
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::EdDSA | Algorithm::Ed25519 => {
                Key::from_pem(Some("k"), alg, &Key::generate_pem(alg).unwrap()).unwrap()
            }
            _ => Key::from_pem(Some("k"), alg, &data("rsa-private.pem")).unwrap(),
        })
        .collect()
}

fn claims_strategy() -> impl Strategy<Value = Map<String, Value>> {
    (
        "[a-zA-Z0-9@._-]{1,40}",
        proptest::collection::btree_map(
            "[a-z_]{1,12}",
            prop_oneof![
                any::<i64>().prop_map(Value::from),
                ".{0,30}".prop_map(Value::from),
                any::<bool>().prop_map(Value::from),
            ],
            0..5,
        ),
    )
        .prop_map(|(sub, extra)| {
            let mut claims: Map<String, Value> = extra
                .into_iter()
                // Registered names keep their meaning (a random `nbf` would be a valid refusal).
                .filter(|(k, _)| {
                    !["exp", "nbf", "iat", "iss", "aud", "sub", "scope"].contains(&k.as_str())
                })
                .collect();
            claims.insert("sub".into(), json!(sub));
            claims.insert("exp".into(), json!(NOW + 3600));
            claims
        })
}

fn flip(text: &str, i: usize, bit: u8) -> Vec<u8> {
    let mut b = text.as_bytes().to_vec();
    let i = i % b.len();
    b[i] ^= 1 << bit;
    b
}

/// A request carrying a signature (and its Content-Digest when there is a body).
fn signed<'a>(
    method: &'a str,
    url: &'a str,
    digest: &'a str,
    input: &'a str,
    signature: &'a str,
    body: &'a [u8],
) -> Request<'a> {
    let r = Request::new(method, url)
        .unwrap()
        .header("signature-input", input)
        .header("signature", signature);
    let r = if digest.is_empty() {
        r
    } else {
        r.header("content-digest", digest)
    };
    r.body(body)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn every_jwt_algorithm_round_trips_and_refuses_any_flipped_bit(
        claims in claims_strategy(),
        which in 0..Algorithm::ALL.len(),
        i in any::<usize>(),
        bit in 0u8..8,
    ) {
        let key = keys().swap_remove(which);
        let alg = key.algorithm();
        let set = KeySet::new();
        set.add(key, KeyStatus::Active).unwrap();
        let token = set.sign(&claims, None).unwrap();
        let got = set.verify_at(&token, &Validation::default(), NOW).unwrap();
        prop_assert_eq!(got.to_map(), claims, "{}", alg.name());
        let changed = String::from_utf8_lossy(&flip(&token, i, bit)).into_owned();
        prop_assert!(set.verify_at(&changed, &Validation::default(), NOW).is_err(), "{} accepted a flipped bit", alg.name());
    }

    #[test]
    fn every_request_signer_round_trips_and_refuses_any_flipped_bit(
        ed25519 in any::<bool>(),
        method in prop_oneof![Just("GET"), Just("POST"), Just("PUT"), Just("DELETE")],
        path in "/[a-z0-9/_-]{0,30}",
        query in proptest::option::of("[a-z]{1,8}=[a-z0-9]{0,8}"),
        body in proptest::collection::vec(any::<u8>(), 0..200),
        which in 0usize..3,
        i in any::<usize>(),
        bit in 0u8..8,
    ) {
        let alg = if ed25519 { SignatureAlgorithm::Ed25519 } else { SignatureAlgorithm::HmacSha256 };
        let (key, secret) = SignatureKey::generate(alg).unwrap();
        let verify_key = match alg {
            SignatureAlgorithm::HmacSha256 => SignatureKey::hmac_sha256(&secret).unwrap(),
            SignatureAlgorithm::Ed25519 => SignatureKey::ed25519_seed(&secret).unwrap(),
        };
        let clock = Arc::new(ManualClock::new(NOW));
        let signer = RequestSigner::with_clock("c1", Arc::new(key), SignerConfig::default(), clock.clone()).unwrap();
        let keys = KeyMap::new();
        keys.insert("c1", verify_key);
        let policy = VerifyPolicy { require_digest_with_body: !body.is_empty(), ..VerifyPolicy::default() };
        let verifier = RequestVerifier::with_clock(Arc::new(keys), Arc::new(MemoryStore::new()), policy, clock);
        let url = format!("https://api.example.com{path}{}", query.map(|q| format!("?{q}")).unwrap_or_default());
        let unsigned = Request::new(method, &url).unwrap().body(&body);
        let s = signer.sign(&unsigned).unwrap();
        let digest = s.content_digest.clone().unwrap_or_default();
        // Flip one bit of the signature parameters, the signature or the body.
        let (input, signature, changed_body) = match which {
            0 => (String::from_utf8_lossy(&flip(&s.signature_input, i, bit)).into_owned(), s.signature.clone(), body.clone()),
            1 => (s.signature_input.clone(), String::from_utf8_lossy(&flip(&s.signature, i, bit)).into_owned(), body.clone()),
            _ if !body.is_empty() => {
                let mut b = body.clone();
                let at = i % b.len();
                b[at] ^= 1 << bit;
                (s.signature_input.clone(), s.signature.clone(), b)
            }
            _ => (s.signature_input.clone(), String::from_utf8_lossy(&flip(&s.signature, i, bit)).into_owned(), body.clone()),
        };
        let changed = signed(method, &url, &digest, &input, &signature, &changed_body);
        prop_assert!(verifier.verify(&changed).is_err(), "a flipped bit was accepted");
        // The unchanged request verifies (once: its nonce is then used up).
        let original = signed(method, &url, &digest, &s.signature_input, &s.signature, &body);
        prop_assert!(verifier.verify(&original).is_ok());
    }

    #[test]
    fn every_webhook_signer_round_trips_and_refuses_any_flipped_bit(
        ed25519 in any::<bool>(),
        id in "msg_[a-zA-Z0-9]{1,24}",
        payload in proptest::collection::vec(any::<u8>(), 0..300),
        which in 0usize..3,
        i in any::<usize>(),
        bit in 0u8..8,
    ) {
        let (signing, receiving) = if ed25519 {
            WebhookKey::generate_keypair().unwrap()
        } else {
            let s = WebhookKey::generate_secret().unwrap();
            (s.clone(), s)
        };
        let signature = webhook::sign(&[WebhookKey::parse(&signing).unwrap()], &id, NOW, &payload).unwrap();
        let verifier = WebhookVerifier::with_clock(
            vec![WebhookKey::parse(&receiving).unwrap()], None, Arc::new(ManualClock::new(NOW))).unwrap();
        let ts = NOW.to_string();
        prop_assert!(verifier.verify(&id, &ts, &signature, &payload).is_ok());
        let outcome = match which {
            0 => verifier.verify(&id, &ts, &String::from_utf8_lossy(&flip(&signature, i, bit)), &payload),
            1 => verifier.verify(&String::from_utf8_lossy(&flip(&id, i, bit)), &ts, &signature, &payload),
            _ if !payload.is_empty() => {
                let mut p = payload.clone();
                let at = i % p.len();
                p[at] ^= 1 << bit;
                verifier.verify(&id, &ts, &signature, &p)
            }
            _ => verifier.verify(&id, &String::from_utf8_lossy(&flip(&ts, i, bit)), &signature, &payload),
        };
        prop_assert!(outcome.is_err(), "a flipped bit was accepted");
    }
}
