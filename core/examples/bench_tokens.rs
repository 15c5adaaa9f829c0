//! Prints, as JSON, the tokens the peer benchmarks (bench/peers) verify: the same claims
//! (iss, aud, sub, exp, iat, scope) signed by authgate with the test keys in tests/data.
use authgate_core::jwt::{self, Algorithm, Key};
use serde_json::json;

fn main() -> authgate_core::Result<()> {
    let data = |f: &str| {
        std::fs::read_to_string(format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR")))
            .expect("test key")
    };
    let now = authgate_core::clock::unix_now();
    let claims = json!({"iss": "https://auth.example", "aud": "api", "sub": "user-1", "iat": now, "exp": now + 3600, "scope": "read write", "jti": "b3f1c2"});
    let claims = claims.as_object().expect("object");
    let secret = "0123456789abcdef0123456789abcdef";
    let mut tokens = serde_json::Map::new();
    for (alg, key) in [
        (
            Algorithm::HS256,
            Key::hmac(Some("k"), Algorithm::HS256, secret.as_bytes())?,
        ),
        (
            Algorithm::ES256,
            Key::from_pem(Some("k"), Algorithm::ES256, &data("ec-private.pem"))?,
        ),
        (
            Algorithm::RS256,
            Key::from_pem(Some("k"), Algorithm::RS256, &data("rsa-private.pem"))?,
        ),
        (
            Algorithm::EdDSA,
            Key::from_pem(Some("k"), Algorithm::EdDSA, &data("ed25519-private.pem"))?,
        ),
    ] {
        tokens.insert(
            alg.name().into(),
            json!(jwt::sign_with(&key, claims, None)?),
        );
    }
    println!(
        "{}",
        json!({"hs_secret": secret, "issuer": "https://auth.example", "audience": "api", "tokens": tokens})
    );
    Ok(())
}
