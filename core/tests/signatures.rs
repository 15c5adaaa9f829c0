//! Request and webhook signatures beyond the conformance vectors: round trips through the
//! high-level signer, concurrent replays (exactly one wins), any single-bit change refused,
//! and hostile header values (random, truncated, bit-flipped) giving typed errors, never a
//! panic.

use std::sync::{Arc, Barrier};
use std::thread;

use authgate_core::clock::ManualClock;
use authgate_core::signature::{
    sfv, KeyMap, Request, RequestSigner, RequestVerifier, Selection, SignatureAlgorithm,
    SignatureKey, SignerConfig, VerifyPolicy,
};
use authgate_core::store::{MemoryStore, Store};
use authgate_core::webhook::{self, WebhookKey, WebhookVerifier};
use authgate_core::ErrorKind;

const NOW: u64 = 1_700_000_000;
const URL: &str = "https://api.example.com/v1/orders?dry=1";
const BODY: &[u8] = br#"{"item":"book","qty":2}"#;

struct Signed {
    input: String,
    signature: String,
    digest: String,
}

fn setup(alg: SignatureAlgorithm) -> (RequestSigner, RequestVerifier) {
    let (key, secret) = SignatureKey::generate(alg).unwrap();
    let clock = Arc::new(ManualClock::new(NOW));
    let signer = RequestSigner::with_clock(
        "client-1",
        Arc::new(key),
        SignerConfig::default(),
        clock.clone(),
    )
    .unwrap();
    let verify_key = match alg {
        SignatureAlgorithm::HmacSha256 => SignatureKey::hmac_sha256(&secret).unwrap(),
        SignatureAlgorithm::Ed25519 => {
            let public = SignatureKey::ed25519_seed(&secret)
                .unwrap()
                .public_key_bytes()
                .unwrap();
            SignatureKey::ed25519_public(&public).unwrap()
        }
    };
    let keys = KeyMap::new();
    keys.insert("client-1", verify_key);
    let verifier = RequestVerifier::with_clock(
        Arc::new(keys),
        Arc::new(MemoryStore::new()),
        VerifyPolicy::default(),
        clock,
    );
    (signer, verifier)
}

fn sign(signer: &RequestSigner) -> Signed {
    let req = Request::new("POST", URL)
        .unwrap()
        .header("content-type", "application/json")
        .body(BODY);
    let h = signer.sign(&req).unwrap();
    Signed {
        input: h.signature_input,
        signature: h.signature,
        digest: h.content_digest.expect("a body gets a Content-Digest"),
    }
}

fn request<'a>(s: &'a Signed, url: &'a str, body: &'a [u8]) -> Request<'a> {
    Request::new("POST", url)
        .unwrap()
        .header("content-type", "application/json")
        .header("content-digest", &s.digest)
        .header("signature-input", &s.input)
        .header("signature", &s.signature)
        .body(body)
}

#[test]
fn signer_output_verifies_under_the_default_policy() {
    for alg in [SignatureAlgorithm::HmacSha256, SignatureAlgorithm::Ed25519] {
        let (signer, verifier) = setup(alg);
        let s = sign(&signer);
        assert!(s.input.starts_with(
            r#"sig1=("@method" "@authority" "@path" "@query" "content-digest");created=1700000000;keyid="client-1";nonce=""#
        ));
        assert!(s.input.ends_with(&format!(r#";alg="{}""#, alg.name())));
        let v = verifier.verify(&request(&s, URL, BODY)).unwrap();
        assert_eq!(v.algorithm, alg);
        assert_eq!(v.keyid.as_deref(), Some("client-1"));
        // The nonce is spent: the same request again is a replay.
        assert_eq!(
            verifier.verify(&request(&s, URL, BODY)).unwrap_err().kind(),
            ErrorKind::ReplayDetected
        );
        // Two signings never share a nonce.
        assert_ne!(sign(&signer).input, s.input);
    }
}

#[test]
fn a_failed_request_does_not_use_up_its_nonce() {
    let (signer, verifier) = setup(SignatureAlgorithm::HmacSha256);
    let s = sign(&signer);
    let tampered = verifier.verify(&request(&s, URL, b"{}")).unwrap_err();
    assert_eq!(tampered.kind(), ErrorKind::DigestMismatch);
    verifier.verify(&request(&s, URL, BODY)).unwrap();
}

#[test]
fn concurrent_replays_of_one_request_exactly_one_is_accepted() {
    let (signer, verifier) = setup(SignatureAlgorithm::HmacSha256);
    let verifier = Arc::new(verifier);
    let s = Arc::new(sign(&signer));
    let threads = 16;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (verifier, s, barrier) = (verifier.clone(), s.clone(), barrier.clone());
            thread::spawn(move || {
                barrier.wait();
                verifier
                    .verify(&request(&s, URL, BODY))
                    .map_err(|e| e.kind())
            })
        })
        .collect();
    let results: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    assert!(results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .all(|k| *k == ErrorKind::ReplayDetected));
}

#[test]
fn nonces_are_per_key_and_forgotten_after_the_window() {
    let store = MemoryStore::with_capacity(2);
    assert!(store.nonce_insert("a", "n", NOW + 10, NOW).unwrap());
    assert!(!store.nonce_insert("a", "n", NOW + 10, NOW).unwrap());
    assert!(store.nonce_insert("b", "n", NOW + 10, NOW).unwrap());
    // Full of live nonces: refuse rather than forget one early.
    assert_eq!(
        store
            .nonce_insert("c", "n", NOW + 10, NOW)
            .unwrap_err()
            .kind(),
        ErrorKind::CapacityExceeded
    );
    // After the window the entries are gone and room is back.
    assert!(store.nonce_insert("c", "n", NOW + 20, NOW + 10).unwrap());
    assert!(store.nonce_insert("a", "n", NOW + 20, NOW + 10).unwrap());
}

#[test]
fn any_single_bit_change_of_a_signed_request_is_refused() {
    let (signer, verifier) = setup(SignatureAlgorithm::HmacSha256);
    let s = sign(&signer);
    let flip = |text: &str, i: usize, bit: u8| -> Option<String> {
        let mut b = text.as_bytes().to_vec();
        b[i] ^= 1 << bit;
        String::from_utf8(b).ok()
    };
    let mut checked = 0;
    for bit in 0..7 {
        for i in 0..URL.len() {
            let Some(url) = flip(URL, i, bit) else {
                continue;
            };
            let Ok(req) = Request::new("POST", &url) else {
                continue;
            };
            let req = req
                .header("content-type", "application/json")
                .header("content-digest", &s.digest)
                .header("signature-input", &s.input)
                .header("signature", &s.signature)
                .body(BODY);
            // Changes that leave every covered component equal (the scheme is not covered;
            // host case normalises away) are not changes to the signed request.
            let covered = ["@authority", "@path", "@query"];
            let original = Request::new("POST", URL).unwrap();
            if covered
                .iter()
                .all(|c| req.derived(c) == original.derived(c))
            {
                continue;
            }
            assert!(verifier.verify(&req).is_err(), "url {url:?} accepted");
            checked += 1;
        }
        for i in 0..BODY.len() {
            let mut body = BODY.to_vec();
            body[i] ^= 1 << bit;
            assert!(verifier.verify(&request(&s, URL, &body)).is_err());
            checked += 1;
        }
        for i in 0..s.signature.len() {
            let Some(sig) = flip(&s.signature, i, bit) else {
                continue;
            };
            let t = Signed {
                signature: sig,
                input: s.input.clone(),
                digest: s.digest.clone(),
            };
            assert!(verifier.verify(&request(&t, URL, BODY)).is_err());
            checked += 1;
        }
    }
    assert!(checked > 500);
    // The unchanged request still verifies: the failures above were the changes.
    verifier.verify(&request(&s, URL, BODY)).unwrap();
}

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn hostile(valid: &str, rng: &mut Rng) -> Vec<String> {
    let alphabet = b"sig1=(\"@method\" ;created=17000 keyid=\"a\":AAAA+/=:,?0*-.\\ \t";
    let mut out = Vec::new();
    for _ in 0..400 {
        out.push(valid[..rng.below(valid.len())].to_string());
        let mut b = valid.as_bytes().to_vec();
        let i = rng.below(b.len());
        b[i] = alphabet[rng.below(alphabet.len())];
        out.push(String::from_utf8_lossy(&b).into_owned());
        let len = rng.below(300);
        out.push(
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())] as char)
                .collect(),
        );
        out.push(
            (0..len)
                .map(|_| (rng.next() as u8 & 0x7f) as char)
                .collect(),
        );
    }
    out.push("a".repeat(20_000));
    out.push("(".repeat(5_000));
    out
}

#[test]
fn hostile_signature_headers_give_typed_errors() {
    let (signer, verifier) = setup(SignatureAlgorithm::Ed25519);
    let s = sign(&signer);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut tried = 0;
    for input in hostile(&s.input, &mut rng) {
        if input == s.input {
            continue;
        }
        let t = Signed {
            input,
            signature: s.signature.clone(),
            digest: s.digest.clone(),
        };
        assert!(verifier.verify(&request(&t, URL, BODY)).is_err());
        tried += 1;
    }
    for signature in hostile(&s.signature, &mut rng) {
        if signature == s.signature {
            continue;
        }
        let t = Signed {
            input: s.input.clone(),
            signature,
            digest: s.digest.clone(),
        };
        assert!(verifier.verify(&request(&t, URL, BODY)).is_err());
        tried += 1;
    }
    for digest in hostile(&s.digest, &mut rng) {
        if digest == s.digest {
            continue;
        }
        let t = Signed {
            input: s.input.clone(),
            signature: s.signature.clone(),
            digest,
        };
        assert!(verifier.verify(&request(&t, URL, BODY)).is_err());
        let _ = authgate_core::signature::verify_content_digest(&t.digest, BODY);
        tried += 1;
    }
    for text in hostile(&s.input, &mut rng) {
        // The parser alone: never panics, and what it accepts re-serialises and re-parses
        // to the same value.
        if let Ok(dict) = sfv::parse_dictionary(&text) {
            for (_, member) in &dict {
                if let sfv::Member::InnerList(list) = member {
                    let mut out = String::new();
                    sfv::write_inner_list(&mut out, list);
                    let again = sfv::parse_dictionary(&format!("x={out}")).unwrap();
                    assert_eq!(again[0].1, *member);
                }
            }
        }
    }
    assert!(tried > 3000);
    verifier.verify(&request(&s, URL, BODY)).unwrap();
}

#[test]
fn hostile_webhook_headers_give_typed_errors() {
    let secret = WebhookKey::generate_secret().unwrap();
    let key = WebhookKey::parse(&secret).unwrap();
    let sig = webhook::sign(&[key], "msg_1", NOW, b"{}").unwrap();
    let verifier = WebhookVerifier::with_clock(
        vec![WebhookKey::parse(&secret).unwrap()],
        None,
        Arc::new(ManualClock::new(NOW)),
    )
    .unwrap();
    let mut rng = Rng(0xFEED_0000_0000_0042);
    for bad in hostile(&sig, &mut rng) {
        assert!(verifier.verify("msg_1", "1700000000", &bad, b"{}").is_err() || bad == sig);
    }
    for bad in hostile("1700000000", &mut rng) {
        assert!(verifier.verify("msg_1", &bad, &sig, b"{}").is_err() || bad == "1700000000");
    }
    for bad in hostile("msg_1", &mut rng) {
        assert!(verifier.verify(&bad, "1700000000", &sig, b"{}").is_err() || bad == "msg_1");
    }
    for bad in hostile(&secret, &mut rng) {
        let _ = WebhookKey::parse(&bad);
    }
    verifier.verify("msg_1", "1700000000", &sig, b"{}").unwrap();
}

#[test]
fn a_selection_and_a_per_call_resolver() {
    let (signer, verifier) = setup(SignatureAlgorithm::HmacSha256);
    let s = sign(&signer);
    let none = |_: &str| Ok(None);
    assert_eq!(
        verifier
            .verify_with(&request(&s, URL, BODY), Selection::default(), &none)
            .unwrap_err()
            .kind(),
        ErrorKind::UnknownKey
    );
    let v = verifier
        .verify_selected(
            &request(&s, URL, BODY),
            Selection {
                label: Some("sig1"),
                keyid: Some("client-1"),
            },
        )
        .unwrap();
    assert_eq!(v.label, "sig1");
}
