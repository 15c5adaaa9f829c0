//! Hostile input against every parser of untrusted text: random bytes, truncations and
//! single-bit flips of valid inputs give a typed error (or, for an unchanged input, success),
//! never a panic. A deterministic generator keeps failures reproducible; the cargo-fuzz
//! targets of the reliability issue go further.

use authgate_core::apikey::{self, ApiKeyOptions};
use authgate_core::client_token::needs_refresh;
use authgate_core::http::bearer_token;
use authgate_core::jwt::{peek_unverified, Algorithm, Key, KeySet, Validation};
use serde_json::json;

#[path = "support/rng.rs"]
mod rng;
use rng::Rng;

fn variants(valid: &str, rng: &mut Rng) -> Vec<Vec<u8>> {
    let bytes = valid.as_bytes();
    let mut out = Vec::new();
    for _ in 0..300 {
        let mut flipped = bytes.to_vec();
        let i = rng.below(flipped.len());
        flipped[i] ^= 1 << rng.below(8);
        out.push(flipped);
        out.push(bytes[..rng.below(bytes.len())].to_vec());
        let len = rng.below(400);
        out.push((0..len).map(|_| rng.next() as u8).collect());
        let alphabet = b"eyJhbGciOiJIUzI1NiJ9.-_=+/ \"{}[],:0123456789";
        out.push(
            (0..len)
                .map(|_| alphabet[rng.below(alphabet.len())])
                .collect(),
        );
    }
    out
}

#[test]
fn token_parsers_never_panic() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let set = KeySet::new();
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA] {
        let key = match alg {
            Algorithm::HS256 => Key::hmac(Some("hs"), alg, &[9u8; 32]).unwrap(),
            _ => Key::from_pem(Some(alg.name()), alg, &Key::generate_pem(alg).unwrap()).unwrap(),
        };
        set.add(key, authgate_core::jwt::KeyStatus::VerifyOnly)
            .unwrap();
    }
    let signer = KeySet::single(Key::hmac(Some("hs"), Algorithm::HS256, &[9u8; 32]).unwrap());
    let claims =
        json!({"sub": "u", "exp": 4_000_000_000u64, "aud": ["a", "b"], "x": {"y": [1, null]}});
    let valid = signer.sign(claims.as_object().unwrap(), None).unwrap();
    let v = Validation {
        audiences: vec!["a".into()],
        ..Validation::default()
    };
    let mut accepted = 0;
    for input in variants(&valid, &mut rng) {
        let text = String::from_utf8_lossy(&input);
        match set.verify(&text, &v) {
            Ok(_) => {
                accepted += 1;
                assert_eq!(text, valid, "only the unchanged token may verify");
            }
            Err(e) => assert!(!e.code().is_empty()),
        }
        let _ = set.verify_jws(&text, &[]);
        let _ = peek_unverified(&text);
        let _ = needs_refresh(&text, 0, 30);
        let _ = bearer_token(&text);
    }
    // Even a flip in the last character's unused bits is refused (canonical base64url only).
    assert_eq!(accepted, 0, "no changed token verifies");
    set.verify(&valid, &v).unwrap();
}

#[test]
fn key_and_api_key_parsers_never_panic() {
    let mut rng = Rng(42);
    let (key, _) = apikey::generate(&ApiKeyOptions::default(), 0).unwrap();
    for input in variants(&key, &mut rng) {
        let text = String::from_utf8_lossy(&input);
        if let Ok(parsed) = apikey::parse(&text) {
            assert_eq!(text, key, "a changed key must fail its checksum");
            assert_eq!(parsed.last_four, key[key.len() - 4..]);
        }
        let _ = Key::from_pem(None, Algorithm::ES256, &text);
        let _ = Key::from_jwk_json(&text, None);
        let _ = KeySet::new().import_jwks(&text);
    }
}

#[test]
fn one_time_code_parsers_never_panic() {
    use authgate_core::otp::{base32_decode, OtpOptions, OtpUri, Totp};
    let mut rng = Rng(6238);
    let uri = "otpauth://hotp/ACME%20Co:alice%40example.com?secret=MFXXI2DHMF2GKLLPORYC25DFON2C2MBR&issuer=ACME%20Co&counter=7&digits=8&algorithm=SHA256";
    let totp =
        Totp::from_base32("MFXXI2DHMF2GKLLPORYC25DFON2C2MBR", OtpOptions::default()).unwrap();
    for input in variants(uri, &mut rng) {
        let text = String::from_utf8_lossy(&input);
        let _ = OtpUri::parse(&text, true);
        let _ = base32_decode(&text);
        let _ = totp.verify(&text, 1_700_000_000, 1, Some(3));
    }
}
