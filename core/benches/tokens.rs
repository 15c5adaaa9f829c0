//! `make bench`: token costs beside one raw HMAC-SHA256 and beside the `jsonwebtoken`
//! crate doing the same work (same keys, same claims, same checks: exp, iss, aud).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

use authgate_core::apikey::{ApiKeyManager, ApiKeyOptions};
use authgate_core::jwt::{self, Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::session::{DeviceInfo, SessionConfig, SessionManager};
use authgate_core::store::MemoryStore;
use criterion::{criterion_group, criterion_main, Criterion};
use hmac::{Hmac, Mac};
use jsonwebtoken as other;
use serde_json::{json, Map, Value};
use sha2::Sha256;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

fn claims() -> Map<String, Value> {
    let now = authgate_core::clock::unix_now();
    json!({"iss": "https://auth.example", "aud": "api", "sub": "user-1", "iat": now, "exp": now + 3600, "scope": "read write", "jti": "b3f1c2"})
        .as_object()
        .unwrap()
        .clone()
}

fn validation() -> Validation {
    Validation {
        issuers: vec!["https://auth.example".into()],
        audiences: vec!["api".into()],
        ..Validation::default()
    }
}

fn their_validation(alg: other::Algorithm) -> other::Validation {
    let mut v = other::Validation::new(alg);
    v.set_issuer(&["https://auth.example"]);
    v.set_audience(&["api"]);
    v
}

struct Case {
    alg: Algorithm,
    private: Key,
    public: Key,
    their_enc: other::EncodingKey,
    their_dec: other::DecodingKey,
}

fn cases() -> Vec<Case> {
    let pem = |alg, private: &str, public: &str| {
        let (private, public) = (data(private), data(public));
        let (enc, dec) = match alg {
            Algorithm::ES256 => (
                other::EncodingKey::from_ec_pem(private.as_bytes()).unwrap(),
                other::DecodingKey::from_ec_pem(public.as_bytes()).unwrap(),
            ),
            Algorithm::EdDSA => (
                other::EncodingKey::from_ed_pem(private.as_bytes()).unwrap(),
                other::DecodingKey::from_ed_pem(public.as_bytes()).unwrap(),
            ),
            _ => (
                other::EncodingKey::from_rsa_pem(private.as_bytes()).unwrap(),
                other::DecodingKey::from_rsa_pem(public.as_bytes()).unwrap(),
            ),
        };
        Case {
            alg,
            private: Key::from_pem(Some("k"), alg, &private).unwrap(),
            public: Key::from_pem(Some("k"), alg, &public).unwrap(),
            their_enc: enc,
            their_dec: dec,
        }
    };
    vec![
        Case {
            alg: Algorithm::HS256,
            private: Key::hmac(Some("k"), Algorithm::HS256, SECRET).unwrap(),
            public: Key::hmac(Some("k"), Algorithm::HS256, SECRET).unwrap(),
            their_enc: other::EncodingKey::from_secret(SECRET),
            their_dec: other::DecodingKey::from_secret(SECRET),
        },
        pem(Algorithm::ES256, "ec-private.pem", "ec-public.pem"),
        pem(Algorithm::RS256, "rsa-private.pem", "rsa-public.pem"),
        pem(
            Algorithm::EdDSA,
            "ed25519-private.pem",
            "ed25519-public.pem",
        ),
    ]
}

fn tokens(c: &mut Criterion) {
    let claims = claims();
    for case in cases() {
        let name = case.alg.name();
        let theirs: other::Algorithm = name.parse().unwrap();
        let token = jwt::sign_with(&case.private, &claims, None).unwrap();
        let ed_public = case.public.ed25519_public_bytes().map(<[u8]>::to_vec);
        let set = KeySet::new();
        set.add(case.public, KeyStatus::VerifyOnly).unwrap();
        let v = validation();
        let tv = their_validation(theirs);
        let mut header = other::Header::new(theirs);
        header.kid = Some("k".into());

        if case.alg == Algorithm::HS256 {
            let input = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();
            c.bench_function("raw HMAC-SHA256 of the token's signing input", |b| {
                b.iter(|| {
                    let mut mac = Hmac::<Sha256>::new_from_slice(black_box(SECRET)).unwrap();
                    mac.update(black_box(&input));
                    black_box(mac.finalize().into_bytes())
                })
            });
        }
        if let Some(public) = ed_public {
            // The signature alone with ed25519-dalek, the crate a Rust user would pick (and
            // what the core verifies Ed25519 with): the floor of a verify.
            let (input, sig) = token.rsplit_once('.').unwrap();
            let sig: [u8; 64] = authgate_core::util::b64url_decode(sig.as_bytes())
                .unwrap()
                .try_into()
                .unwrap();
            let public: [u8; 32] = public.try_into().unwrap();
            let key = ed25519_dalek::VerifyingKey::from_bytes(&public).unwrap();
            let sig = ed25519_dalek::Signature::from_bytes(&sig);
            let input = input.as_bytes().to_vec();
            use ed25519_dalek::Verifier;
            c.bench_function("EdDSA verify/ed25519-dalek (signature only)", |b| {
                b.iter(|| key.verify(black_box(&input), &sig).unwrap())
            });
        }
        c.bench_function(&format!("{name} sign/authgate"), |b| {
            b.iter(|| jwt::sign_with(&case.private, black_box(&claims), None).unwrap())
        });
        c.bench_function(&format!("{name} sign/jsonwebtoken"), |b| {
            b.iter(|| other::encode(&header, black_box(&claims), &case.their_enc).unwrap())
        });
        c.bench_function(&format!("{name} verify+claims/authgate"), |b| {
            b.iter(|| set.verify(black_box(&token), &v).unwrap())
        });
        c.bench_function(&format!("{name} verify+claims/jsonwebtoken"), |b| {
            b.iter(|| other::decode::<Value>(black_box(&token), &case.their_dec, &tv).unwrap())
        });
    }
}

/// HS256 verify as tokens grow: the claims of the table above, then with a `permissions`
/// array (as identity providers issue) until the token is about 2 KB and 8 KB. Each size
/// has its own raw HMAC-SHA256 of the signing input, the floor of a verify. The names
/// carry the token's length in bytes (`bench/report.py` reads them).
fn token_sizes(c: &mut Criterion) {
    let key = Key::hmac(Some("k"), Algorithm::HS256, SECRET).unwrap();
    let set = KeySet::single(Key::hmac(Some("k"), Algorithm::HS256, SECRET).unwrap());
    let v = validation();
    let tv = their_validation(other::Algorithm::HS256);
    let dec = other::DecodingKey::from_secret(SECRET);
    for target in [0usize, 2048, 8192] {
        let mut claims = claims();
        let mut permissions = Vec::new();
        let token = loop {
            if target > 0 {
                claims.insert("permissions".into(), json!(permissions));
            }
            let token = jwt::sign_with(&key, &claims, None).unwrap();
            if token.len() + 40 > target {
                break token;
            }
            let n = permissions.len();
            permissions.push(json!(format!(
                "orders:{}:region-{n:03}",
                ["read", "write"][n % 2]
            )));
        };
        let name = |who: &str| format!("HS256 verify by token size/{} B/{who}", token.len());
        let input = token.rsplit_once('.').unwrap().0.as_bytes().to_vec();
        c.bench_function(&name("raw HMAC"), |b| {
            b.iter(|| {
                let mut mac = Hmac::<Sha256>::new_from_slice(black_box(SECRET)).unwrap();
                mac.update(black_box(&input));
                black_box(mac.finalize().into_bytes())
            })
        });
        c.bench_function(&name("authgate"), |b| {
            b.iter(|| set.verify(black_box(&token), &v).unwrap())
        });
        c.bench_function(&name("jsonwebtoken"), |b| {
            b.iter(|| other::decode::<Value>(black_box(&token), &dec, &tv).unwrap())
        });
    }
}

fn sessions(c: &mut Criterion) {
    let keys = Arc::new(KeySet::single(
        Key::hmac(Some("k"), Algorithm::HS256, SECRET).unwrap(),
    ));
    let m =
        SessionManager::new(keys, Arc::new(MemoryStore::new()), SessionConfig::default()).unwrap();
    let device = DeviceInfo {
        device_id: "phone".into(),
        name: None,
    };
    let mut refresh = m
        .login("alice", &device, Some("read"))
        .unwrap()
        .tokens
        .refresh_token;
    c.bench_function("session refresh rotation (HS256 access token)", |b| {
        b.iter(|| {
            let pair = m.refresh(&refresh).unwrap();
            refresh = pair.refresh_token;
        })
    });
    let keys = ApiKeyManager::new(Arc::new(MemoryStore::new()));
    let (key, _) = keys
        .create(&ApiKeyOptions {
            scopes: vec!["sms:*".into()],
            ..Default::default()
        })
        .unwrap();
    c.bench_function("API key verify (checksum, hash, lookup, scope)", |b| {
        b.iter(|| keys.verify(black_box(&key), Some("sms:send")).unwrap())
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2)).sample_size(50);
    targets = tokens, token_sizes, sessions
}
criterion_main!(benches);
