//! Proof of possession: DPoP proofs (RFC 9449) made here with real keys and checked for
//! every rule, and certificate-bound tokens (RFC 8705) with a real certificate in DER, PEM
//! and the URL-encoded PEM that nginx and Envoy pass on.

use std::sync::Arc;

use authgate_core::clock::ManualClock;
use authgate_core::jwt::{Algorithm, Key, KeySet, Validation};
use authgate_core::pop::{
    certificate_thumbprint, check_certificate_binding, create_proof, jwk_thumbprint,
    key_thumbprint, DpopPolicy, DpopRequest, DpopVerifier,
};
use authgate_core::store::MemoryStore;
use authgate_core::util::b64url_encode;
use authgate_core::ErrorKind;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

const NOW: u64 = 1_700_000_000;
const URI: &str = "https://api.example.com/orders";

/// A DPoP proof signed by `key` with `header` and `claims` as given.
fn proof(key: &Key, header: Value, claims: Value) -> String {
    let input = format!(
        "{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes())
    );
    let sig = key.sign(input.as_bytes()).unwrap();
    format!("{input}.{}", b64url_encode(&sig))
}

fn client_key(alg: Algorithm) -> (Key, Value) {
    let key = Key::from_pem(None, alg, &Key::generate_pem(alg).unwrap()).unwrap();
    let mut jwk = key.public_jwk().unwrap();
    jwk.remove("alg");
    jwk.remove("use");
    (key, Value::Object(jwk))
}

fn header(alg: Algorithm, jwk: &Value) -> Value {
    json!({"typ": "dpop+jwt", "alg": alg.name(), "jwk": jwk})
}

fn claims(jti: &str) -> Value {
    json!({"jti": jti, "htm": "POST", "htu": URI, "iat": NOW})
}

fn verifier(policy: DpopPolicy) -> DpopVerifier {
    DpopVerifier::with_clock(
        Arc::new(MemoryStore::new()),
        policy,
        Arc::new(ManualClock::new(NOW)),
    )
}

#[test]
fn a_proof_verifies_once_for_its_method_and_uri_with_every_key_type() {
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let (key, jwk) = client_key(alg);
        let v = verifier(DpopPolicy::default());
        let p = proof(&key, header(alg, &jwk), claims("j1"));
        let ok = v.verify(&p, "POST", URI, None).unwrap();
        assert_eq!(ok.jkt, key_thumbprint(&key).unwrap(), "{}", alg.name());
        assert_eq!(ok.jkt, jwk_thumbprint(jwk.as_object().unwrap()).unwrap());
        assert_eq!((ok.jti.as_str(), ok.iat), ("j1", NOW));
        let e = v.verify(&p, "POST", URI, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::ReplayDetected);
        // The query, fragment, host case and default port do not count; the path does.
        let q = proof(&key, header(alg, &jwk), claims("j2"));
        v.verify(
            &q,
            "POST",
            "https://API.example.com:443/orders?page=2#x",
            None,
        )
        .unwrap();
        let r = proof(&key, header(alg, &jwk), claims("j3"));
        let e = v
            .verify(&r, "POST", "https://api.example.com/orders/7", None)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidClaim);
        let e = v.verify(&r, "GET", URI, None).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidClaim);
    }
}

#[test]
fn every_rule_of_a_proof_is_checked() {
    let (key, jwk) = client_key(Algorithm::ES256);
    let v = verifier(DpopPolicy::default());
    let cases: Vec<(&str, Value, Value, ErrorKind)> = vec![
        (
            "typ",
            json!({"typ": "JWT", "alg": "ES256", "jwk": jwk}),
            claims("a"),
            ErrorKind::InvalidTokenType,
        ),
        (
            "no jwk",
            json!({"typ": "dpop+jwt", "alg": "ES256"}),
            claims("b"),
            ErrorKind::InvalidKey,
        ),
        (
            "alg none",
            json!({"typ": "dpop+jwt", "alg": "none", "jwk": jwk}),
            claims("c"),
            ErrorKind::AlgorithmNotAllowed,
        ),
        (
            "alg HS256",
            json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": jwk}),
            claims("d"),
            ErrorKind::AlgorithmNotAllowed,
        ),
        (
            "too old",
            header(Algorithm::ES256, &jwk),
            json!({"jti": "e", "htm": "POST", "htu": URI, "iat": NOW - 301}),
            ErrorKind::TokenExpired,
        ),
        (
            "future",
            header(Algorithm::ES256, &jwk),
            json!({"jti": "f", "htm": "POST", "htu": URI, "iat": NOW + 60}),
            ErrorKind::TokenNotYetValid,
        ),
        (
            "no jti",
            header(Algorithm::ES256, &jwk),
            json!({"htm": "POST", "htu": URI, "iat": NOW}),
            ErrorKind::MissingClaim,
        ),
        (
            "no iat",
            header(Algorithm::ES256, &jwk),
            json!({"jti": "g", "htm": "POST", "htu": URI}),
            ErrorKind::MissingClaim,
        ),
        (
            "iat text",
            header(Algorithm::ES256, &jwk),
            json!({"jti": "h", "htm": "POST", "htu": URI, "iat": "1700000000"}),
            ErrorKind::InvalidClaim,
        ),
    ];
    for (name, h, c, kind) in cases {
        let e = v.verify(&proof(&key, h, c), "POST", URI, None).unwrap_err();
        assert_eq!(e.kind(), kind, "{name}: {e}");
    }
    // A private key in the header, and a proof signed by another key than its jwk.
    let (other, _) = client_key(Algorithm::ES256);
    let mut private = jwk.clone();
    private["d"] = json!("AAAA");
    let e = v
        .verify(
            &proof(&key, header(Algorithm::ES256, &private), claims("i")),
            "POST",
            URI,
            None,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    let e = v
        .verify(
            &proof(&other, header(Algorithm::ES256, &jwk), claims("j")),
            "POST",
            URI,
            None,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidSignature);
    // A failed proof did not use up its jti.
    v.verify(
        &proof(&key, header(Algorithm::ES256, &jwk), claims("a")),
        "POST",
        URI,
        None,
    )
    .unwrap();
}

#[test]
fn ath_binds_the_proof_to_the_access_token_and_nonces_are_required_when_set() {
    let (key, jwk) = client_key(Algorithm::EdDSA);
    let token = "an.access.token";
    let ath = b64url_encode(&Sha256::digest(token.as_bytes()));
    let mut c = claims("k");
    c["ath"] = json!(ath);
    let v = verifier(DpopPolicy::default());
    v.verify(
        &proof(&key, header(Algorithm::EdDSA, &jwk), c.clone()),
        "POST",
        URI,
        Some(token),
    )
    .unwrap();
    c["jti"] = json!("l");
    let e = v
        .verify(
            &proof(&key, header(Algorithm::EdDSA, &jwk), c.clone()),
            "POST",
            URI,
            Some("another.token"),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidClaim);

    let v = verifier(DpopPolicy {
        nonce: Some("server-nonce-1".into()),
        ..DpopPolicy::default()
    });
    let e = v
        .verify(
            &proof(&key, header(Algorithm::EdDSA, &jwk), claims("m")),
            "POST",
            URI,
            None,
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UseDpopNonce);
    assert_eq!(e.kind().bearer_error(), "use_dpop_nonce");
    let mut c = claims("n");
    c["nonce"] = json!("server-nonce-1");
    let with_nonce = proof(&key, header(Algorithm::EdDSA, &jwk), c);
    // A nonce given with the request overrides the policy's (servers rotate them).
    let e = v
        .verify_request(&DpopRequest {
            proof: &with_nonce,
            method: "POST",
            uri: URI,
            nonce: Some("server-nonce-2"),
            ..DpopRequest::default()
        })
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::UseDpopNonce);
    v.verify(&with_nonce, "POST", URI, None).unwrap();
}

#[test]
fn created_proofs_verify_and_carry_what_the_request_needs() {
    let token = "an.access.token";
    // The algorithms a client can generate a key for (RSA keys are imported, not made).
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let (key, _) = client_key(alg);
        let made = create_proof(
            &key,
            "GET",
            "https://API.example.com/orders?page=2#top",
            Some(token),
            Some("n-1"),
            NOW,
        )
        .unwrap();
        let (head, body) = authgate_core::jwt::peek_unverified(&made).unwrap();
        assert_eq!(head["typ"], "dpop+jwt");
        assert_eq!(head["alg"], alg.name());
        let jwk = head["jwk"].as_object().unwrap();
        assert!(jwk
            .keys()
            .all(|k| ["kty", "crv", "x", "y", "n", "e"].contains(&k.as_str())));
        let body: Value = serde_json::from_str(body.json()).unwrap();
        assert_eq!(body["htu"], "https://api.example.com/orders");
        assert_eq!(body["htm"], "GET");
        assert_eq!(body["iat"], NOW);
        assert_eq!(body["nonce"], "n-1");
        assert_eq!(body["jti"].as_str().unwrap().len(), 22);
        let v = verifier(DpopPolicy::default());
        let ok = v
            .verify_request(&DpopRequest {
                proof: &made,
                method: "GET",
                uri: "https://api.example.com/orders",
                access_token: Some(token),
                nonce: Some("n-1"),
                ..DpopRequest::default()
            })
            .unwrap();
        assert_eq!(ok.jkt, key_thumbprint(&key).unwrap(), "{}", alg.name());
        // Two proofs for one request differ (fresh jti).
        let again = create_proof(&key, "GET", URI, None, None, NOW).unwrap();
        assert_ne!(made, again);
    }
    let hmac = Key::hmac(None, Algorithm::HS256, &[7u8; 32]).unwrap();
    let e = create_proof(&hmac, "GET", URI, None, None, NOW).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidKey);
    let (key, _) = client_key(Algorithm::ES256);
    let e = create_proof(&key, "GET", "/orders", None, None, NOW).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    let e = create_proof(&key, "G ET", URI, None, None, NOW).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
}

#[test]
fn a_bound_access_token_needs_a_proof_from_its_key() {
    let (key, jwk) = client_key(Algorithm::ES256);
    let jkt = key_thumbprint(&key).unwrap();
    let issuer = KeySet::single(Key::hmac(Some("as"), Algorithm::HS256, &[5u8; 32]).unwrap());
    let claims_of = |cnf: Value| {
        let token = issuer
            .sign(
                json!({"sub": "alice", "exp": NOW + 60, "cnf": cnf})
                    .as_object()
                    .unwrap(),
                None,
            )
            .unwrap();
        let claims = issuer
            .verify_at(&token, &Validation::default(), NOW)
            .unwrap();
        (token, claims)
    };
    let v = verifier(DpopPolicy::default());
    let (token, bound) = claims_of(json!({"jkt": jkt}));
    let proof_for = |jti: &str, token: &str| {
        let mut c = claims(jti);
        c["ath"] = json!(b64url_encode(&Sha256::digest(token.as_bytes())));
        proof(&key, header(Algorithm::ES256, &jwk), c)
    };
    v.verify_bound(&proof_for("o", &token), "POST", URI, &token, &bound)
        .unwrap();
    let (token2, other) = claims_of(json!({"jkt": "another-thumbprint"}));
    let e = v
        .verify_bound(&proof_for("p", &token2), "POST", URI, &token2, &other)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidClaim);
    let (token3, unbound) = claims_of(json!({}));
    let e = v
        .verify_bound(&proof_for("q", &token3), "POST", URI, &token3, &unbound)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingClaim);
}

#[test]
fn certificate_thumbprints_from_der_pem_and_url_encoded_pem_agree() {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["client.example".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let der = cert.der().to_vec();
    let expected = b64url_encode(&Sha256::digest(&der));
    let pem = cert.pem();
    let escaped: String = pem
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    for form in [der.clone(), pem.clone().into_bytes(), escaped.into_bytes()] {
        assert_eq!(certificate_thumbprint(&form).unwrap(), expected);
    }
    for bad in [
        &b""[..],
        b"not a certificate",
        b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n",
        &vec![0x30; 70_000],
    ] {
        let e = certificate_thumbprint(bad).unwrap_err();
        assert!(
            matches!(e.kind(), ErrorKind::InvalidInput | ErrorKind::InvalidKey),
            "{e}"
        );
    }
    let issuer = KeySet::single(Key::hmac(Some("as"), Algorithm::HS256, &[5u8; 32]).unwrap());
    let verify = |cnf: Value| {
        let token = issuer
            .sign(
                json!({"exp": NOW + 60, "cnf": cnf}).as_object().unwrap(),
                None,
            )
            .unwrap();
        issuer
            .verify_at(&token, &Validation::default(), NOW)
            .unwrap()
    };
    check_certificate_binding(&verify(json!({"x5t#S256": expected})), pem.as_bytes()).unwrap();
    let e = check_certificate_binding(&verify(json!({"x5t#S256": "other"})), &der).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidClaim);
    let e = check_certificate_binding(&verify(json!({})), &der).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::MissingClaim);
}
