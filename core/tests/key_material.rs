//! Key import hardening (#20 items 1, 2, 14, 15): key material refused as an HMAC secret,
//! EC points checked at import, Ed25519 PKCS#8 v1 written, and the RFC 9864 `Ed25519` name.

#[path = "support/rng.rs"]
mod rng;

use authgate_core::jwt::{self, Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::ErrorKind;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use serde_json::{json, Map, Value};

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The DER inside a PEM file (written here, not by the code under test).
fn der(name: &str) -> Vec<u8> {
    let body: String = data(name)
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    STANDARD.decode(body).unwrap()
}

fn hmac_error(secret: &[u8]) -> (ErrorKind, String) {
    let e = Key::hmac(None, Algorithm::HS256, secret).expect_err("key material was accepted");
    (e.kind(), e.to_string())
}

#[test]
fn pem_files_of_every_kind_are_refused_as_hmac_secrets() {
    for name in [
        "ec-public.pem",
        "ec-private.pem",
        "ec-private-sec1.pem",
        "ec-cert.pem",
        "ed25519-public.pem",
        "ed25519-private.pem",
        "rsa-public.pem",
        "rsa-public-pkcs1.pem",
        "rsa-private.pem",
        "rsa-private-pkcs1.pem",
    ] {
        let pem = data(name);
        for variant in [
            pem.clone(),
            format!("  {pem}"),
            format!("\n{pem}"),
            pem.replace('\n', "\r\n"),
        ] {
            let (kind, message) = hmac_error(variant.as_bytes());
            assert_eq!(kind, ErrorKind::InvalidKey, "{name}");
            assert!(
                message.contains("a PEM key or certificate"),
                "{name}: {message}"
            );
        }
    }
}

#[test]
fn der_keys_and_certificates_are_refused_as_hmac_secrets() {
    let cases = [
        ("ec-public.pem", "SubjectPublicKeyInfo"),
        ("ed25519-public.pem", "SubjectPublicKeyInfo"),
        ("rsa-public.pem", "SubjectPublicKeyInfo"),
        ("ec-cert.pem", "X.509 certificate"),
        ("ec-private.pem", "PKCS#8"),
        ("ed25519-private.pem", "PKCS#8"),
        ("rsa-private.pem", "PKCS#8"),
        ("ec-private-sec1.pem", "SEC1"),
        ("rsa-public-pkcs1.pem", "RSA public key (PKCS#1)"),
        ("rsa-private-pkcs1.pem", "RSA private key (PKCS#1)"),
    ];
    for (name, what) in cases {
        let (kind, message) = hmac_error(&der(name));
        assert_eq!(kind, ErrorKind::InvalidKey, "{name}");
        assert!(message.contains(what), "{name}: {message}");
    }
}

#[test]
fn ssh_public_keys_and_jwks_are_refused_as_hmac_secrets() {
    for name in ["ec-public.ssh", "ed25519-public.ssh"] {
        let (kind, message) = hmac_error(data(name).as_bytes());
        assert_eq!(kind, ErrorKind::InvalidKey);
        assert!(message.contains("SSH public key"), "{message}");
    }
    let key = Key::from_pem(Some("k"), Algorithm::ES256, &data("ec-private.pem")).unwrap();
    let public = Value::Object(key.public_jwk().unwrap()).to_string();
    let (kind, message) = hmac_error(public.as_bytes());
    assert_eq!(kind, ErrorKind::InvalidKey);
    assert!(message.contains("a JWK"), "{message}");
    let set = json!({"keys": [key.public_jwk().unwrap()]}).to_string();
    assert!(hmac_error(format!(" {set}").as_bytes())
        .1
        .contains("a JWK set"));
    // Through a JWK too: an `oct` key whose `k` is a PEM public key.
    let oct =
        json!({"kty": "oct", "alg": "HS256", "k": URL_SAFE_NO_PAD.encode(data("ec-public.pem"))});
    let e = Key::from_jwk(oct.as_object().unwrap(), None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
}

#[test]
fn random_and_text_secrets_are_still_accepted() {
    // 100,000 seeded random secrets, a third of them shaped to start like DER (0x30 and
    // their own length): none is mistaken for key material.
    let mut rng = rng::Rng(0x5eed_0020);
    for i in 0..100_000 {
        let len = 32 + rng.below(33);
        let mut secret: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 3 == 0 {
            secret[0] = 0x30;
            secret[1] = (len - 2) as u8;
        }
        Key::hmac(None, Algorithm::HS256, &secret)
            .unwrap_or_else(|e| panic!("secret {i} ({secret:02x?}) refused: {e}"));
    }
    for text in [
        "correct horse battery staple, and thirty-two bytes more",
        "{\"not\": \"a jwk\", \"padding\": \"to thirty-two bytes\"}",
        "ssh is a word that may begin a long passphrase, like this",
    ] {
        Key::hmac(None, Algorithm::HS256, text.as_bytes()).unwrap();
    }
}

fn ec_jwk(alg: Algorithm) -> Map<String, Value> {
    let pem = Key::generate_pem(alg).unwrap();
    Key::from_pem(None, alg, &pem)
        .unwrap()
        .public_jwk()
        .unwrap()
}

fn b64(v: &Value) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn an_ec_point_off_its_curve_is_refused_at_import() {
    for alg in [Algorithm::ES256, Algorithm::ES384] {
        let good = ec_jwk(alg);
        Key::from_jwk(&good, None).unwrap();
        let mut y = b64(&good["y"]);
        let last = y.len() - 1;
        y[last] ^= 1;
        let mut off = good.clone();
        off.insert("y".into(), Value::String(URL_SAFE_NO_PAD.encode(&y)));
        let e = Key::from_jwk(&off, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidKey);
        assert!(e.to_string().contains("not a point on"), "{e}");
        // A JWKS with only that key holds no usable key; beside a good key it is skipped.
        let set = KeySet::new();
        assert!(set
            .import_jwks(&json!({"keys": [off]}).to_string())
            .is_err());
    }
}

#[test]
fn ec_coordinates_must_each_be_the_full_field_size() {
    let good = ec_jwk(Algorithm::ES256);
    let (x, y) = (b64(&good["x"]), b64(&good["y"]));
    // The same 64 bytes split 33/31: one point, another RFC 7638 thumbprint.
    let mut joined = x.clone();
    joined.extend(&y);
    let mut split = good.clone();
    split.insert(
        "x".into(),
        Value::String(URL_SAFE_NO_PAD.encode(&joined[..33])),
    );
    split.insert(
        "y".into(),
        Value::String(URL_SAFE_NO_PAD.encode(&joined[33..])),
    );
    let e = Key::from_jwk(&split, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    assert!(e.to_string().contains("32 bytes each"), "{e}");
    // A leading zero byte on a coordinate is refused the same way.
    let mut padded = good.clone();
    let mut long_x = vec![0u8];
    long_x.extend(&x);
    padded.insert("x".into(), Value::String(URL_SAFE_NO_PAD.encode(&long_x)));
    assert_eq!(
        Key::from_jwk(&padded, None).unwrap_err().kind(),
        ErrorKind::InvalidKey
    );
}

#[test]
fn generated_ed25519_pem_is_pkcs8_v1_and_both_versions_are_read() {
    let pem = Key::generate_pem(Algorithm::EdDSA).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let doc = STANDARD.decode(body).unwrap();
    // RFC 8410 §7's v1 layout, byte for byte up to the seed.
    assert_eq!(
        doc[..16],
        [
            0x30, 0x2E, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2B, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20
        ]
    );
    assert_eq!(doc.len(), 48);
    Key::from_pem(None, Algorithm::EdDSA, &pem).unwrap();
    // The v2 form (with the public key, RFC 5958) is still read: ring writes it.
    let rng = ring::rand::SystemRandom::new();
    let v2 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    assert_eq!(v2.as_ref()[4], 0x01, "ring writes version 1 (v2)");
    let v2_pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        STANDARD.encode(v2.as_ref())
    );
    let key = Key::from_pem(None, Algorithm::EdDSA, &v2_pem).unwrap();
    assert!(key.can_sign());
}

fn claims() -> Map<String, Value> {
    json!({"sub": "u", "exp": 1_700_000_600u64})
        .as_object()
        .unwrap()
        .clone()
}

#[test]
fn ed25519_and_eddsa_names_verify_each_other() {
    let pem = Key::generate_pem(Algorithm::Ed25519).unwrap();
    let new_name = Key::from_pem(Some("k"), Algorithm::Ed25519, &pem).unwrap();
    let old_name = Key::from_pem(Some("k"), Algorithm::EdDSA, &pem).unwrap();
    let t_new = jwt::sign_with(&new_name, &claims(), None).unwrap();
    let t_old = jwt::sign_with(&old_name, &claims(), None).unwrap();
    // Each key signs with the name it was made with.
    let (h_new, _) = jwt::peek_unverified(&t_new).unwrap();
    let (h_old, _) = jwt::peek_unverified(&t_old).unwrap();
    assert_eq!(h_new["alg"], "Ed25519");
    assert_eq!(h_old["alg"], "EdDSA");
    let validation = Validation::default();
    for (verifier, name) in [(new_name, "Ed25519"), (old_name, "EdDSA")] {
        let set = KeySet::new();
        set.add(verifier, KeyStatus::VerifyOnly).unwrap();
        for token in [&t_new, &t_old] {
            set.verify_at(token, &validation, 1_700_000_000)
                .unwrap_or_else(|e| panic!("{name} key: {e}"));
            // An allow-list naming either spelling admits both.
            for list in [[Algorithm::EdDSA], [Algorithm::Ed25519]] {
                set.verify_jws(token, &list).unwrap();
            }
            // Another algorithm's list does not.
            let e = set.verify_jws(token, &[Algorithm::ES256]).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::AlgorithmNotAllowed);
        }
    }
    assert_eq!("Ed25519".parse::<Algorithm>().unwrap(), Algorithm::Ed25519);
    // A JWK that says EdDSA loaded as Ed25519 takes the caller's name.
    let jwk = Key::from_pem(None, Algorithm::EdDSA, &pem)
        .unwrap()
        .public_jwk()
        .unwrap();
    let key = Key::from_jwk(&jwk, Some(Algorithm::Ed25519)).unwrap();
    assert_eq!(key.algorithm(), Algorithm::Ed25519);
    // An ES256 JWK is not an Ed25519 key under either name.
    let ec = ec_jwk(Algorithm::ES256);
    assert!(Key::from_jwk(&ec, Some(Algorithm::Ed25519)).is_err());
}

#[test]
fn a_jwks_import_is_all_or_nothing() {
    let a = ec_jwk(Algorithm::ES256);
    let b = ec_jwk(Algorithm::ES256);
    let with_kid = |jwk: &Map<String, Value>, kid: &str| {
        let mut jwk = jwk.clone();
        jwk.insert("kid".into(), Value::String(kid.into()));
        Value::Object(jwk)
    };
    let set = KeySet::new();
    set.import_jwks(&json!({"keys": [with_kid(&a, "one")]}).to_string())
        .unwrap();
    // A second document whose second key takes a kid the set holds: nothing is added.
    let e = set
        .import_jwks(&json!({"keys": [with_kid(&b, "two"), with_kid(&b, "one")]}).to_string())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(set.list().len(), 1, "the import stopped half-way");
    // Two keys under one kid inside a document: nothing is added either.
    let e = set
        .import_jwks(
            &json!({"keys": [with_kid(&a, "three"), with_kid(&b, "three"), with_kid(&b, "four")]})
                .to_string(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    assert_eq!(set.list().len(), 1);
    // More keys than a JWKS may list.
    let many: Vec<Value> = (0..=authgate_core::jwt::MAX_JWKS_KEYS)
        .map(|i| json!({"kty": "oct", "k": "c2VjcmV0", "kid": i.to_string()}))
        .collect();
    let e = KeySet::new()
        .import_jwks(&json!({ "keys": many }).to_string())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
}

#[test]
fn claims_nest_at_most_127_levels_counting_the_payload() {
    let key = Key::hmac(None, Algorithm::HS256, &[7u8; 32]).unwrap();
    let token = |levels: usize| {
        let text = format!(
            r#"{{"exp":1700000600,"data":{}"deep"{}}}"#,
            "[".repeat(levels),
            "]".repeat(levels)
        );
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256"}"#),
            URL_SAFE_NO_PAD.encode(text)
        );
        let signature = URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).unwrap());
        format!("{input}.{signature}")
    };
    let set = KeySet::single(Key::hmac(None, Algorithm::HS256, &[7u8; 32]).unwrap());
    let v = Validation::default();
    assert_eq!(jwt::MAX_NESTING, 127);
    set.verify_at(&token(126), &v, 1_700_000_000).unwrap();
    for levels in [127, 128, 100_000] {
        let e = set
            .verify_at(
                &token(levels),
                &Validation {
                    max_token_bytes: 1 << 20,
                    ..Validation::default()
                },
                1_700_000_000,
            )
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::MalformedToken, "{levels}");
        assert!(e.to_string().contains("deeper than 127"), "{e}");
    }
    // peek (no verification) applies the same limit.
    assert_eq!(
        jwt::peek_unverified(&token(127)).unwrap_err().kind(),
        ErrorKind::MalformedToken
    );
}

/// #20 item 17 (review): a kid-less token picks the key bound to its algorithm before an
/// RSA key published without `alg`, and one set verifying the same token under different
/// allow-lists (its parsed header memoized after the first) decides each time by the
/// list of that call.
#[test]
fn an_alg_less_rsa_key_under_changing_allow_lists_and_beside_a_bound_key() {
    let pem = data("rsa-private.pem");
    let token = |alg: Algorithm| {
        let signer = KeySet::single(Key::from_pem(None, alg, &pem).unwrap());
        let mut claims = Map::new();
        claims.insert("exp".into(), json!(4_102_444_800u64));
        signer.sign(&claims, None).unwrap()
    };
    let mut jwk = Key::from_pem(None, Algorithm::RS256, &pem)
        .unwrap()
        .public_jwk()
        .unwrap();
    jwk.remove("alg");
    jwk.remove("kid");
    let with = |algorithms: Vec<Algorithm>| Validation {
        algorithms,
        ..Validation::default()
    };
    let ps256 = token(Algorithm::PS256);
    for order in [[0, 1, 2, 0], [1, 2, 0, 1]] {
        let set = KeySet::single(Key::from_jwk(&jwk, None).unwrap());
        for step in order {
            let got = match step {
                0 => set.verify(&ps256, &with(vec![Algorithm::PS256])),
                1 => set.verify(&ps256, &with(vec![])),
                _ => set.verify(&ps256, &with(vec![Algorithm::RS256])),
            };
            match step {
                0 => assert!(got.is_ok(), "{order:?} {step}: {:?}", got.err()),
                _ => assert_eq!(
                    got.unwrap_err().kind(),
                    ErrorKind::AlgorithmNotAllowed,
                    "{order:?} {step}"
                ),
            }
        }
    }
    // Beside an RS256-bound key: RS256 tokens go to the bound key, PS256 ones (allowed)
    // to the alg-less one; both without a kid.
    let set = KeySet::new();
    set.add(
        Key::from_jwk(
            &{
                let mut j = jwk.clone();
                j.insert("kid".into(), json!("alg-less"));
                j
            },
            None,
        )
        .unwrap(),
        KeyStatus::VerifyOnly,
    )
    .unwrap();
    set.add(
        Key::from_pem(Some("bound"), Algorithm::RS256, &data("rsa-public.pem")).unwrap(),
        KeyStatus::VerifyOnly,
    )
    .unwrap();
    set.verify(&token(Algorithm::RS256), &with(vec![])).unwrap();
    set.verify(&ps256, &with(vec![Algorithm::PS256, Algorithm::RS256]))
        .unwrap();
}
