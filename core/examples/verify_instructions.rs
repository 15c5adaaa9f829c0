//! The verify hot paths, run N times for instruction counts under callgrind (exact and
//! repeatable on a shared machine, unlike wall times). One token's claims (iss, aud, sub,
//! iat, exp, scope) as the peer benchmarks use:
//!
//!   cargo build --release -p authgate-core --example verify_instructions
//!   for n in 0 1000; do valgrind --tool=callgrind --callgrind-out-file=/dev/null \
//!       target/release/examples/verify_instructions HS256 $n; done
//!
//! The difference of the two totals over 1000 is the cost of one verification. `gate`
//! instead of an algorithm runs one request through a gate with a Bearer HS256 token.
use std::sync::Arc;

use authgate_core::gate::{Gate, GateConfig, GateOutcome, GateRequest, TokenVerifier};
use authgate_core::jwt::{self, Algorithm, Key, KeySet, KeyStatus, Validation};
use serde_json::json;

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";
const NOW: u64 = 1_700_000_100;

fn data(name: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR")))
        .expect("a test key")
}

fn keys(alg: Algorithm) -> (Key, Key) {
    let pem = |name: &str| Key::from_pem(Some("k"), alg, &data(name)).expect("a key");
    match alg {
        Algorithm::ES256 => (pem("ec-private.pem"), pem("ec-public.pem")),
        Algorithm::RS256 => (pem("rsa-private.pem"), pem("rsa-public.pem")),
        Algorithm::EdDSA => (pem("ed25519-private.pem"), pem("ed25519-public.pem")),
        _ => {
            let hmac = || Key::hmac(Some("k"), Algorithm::HS256, SECRET).expect("a key");
            (hmac(), hmac())
        }
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "HS256".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(1000);
    let gate = what == "gate";
    let alg: Algorithm = if gate {
        Algorithm::HS256
    } else {
        what.parse().expect("an algorithm")
    };
    let now = if gate {
        authgate_core::clock::unix_now()
    } else {
        NOW
    };
    let claims = json!({"iss": "https://auth.example", "aud": "api", "sub": "user-1",
        "iat": now - 100, "exp": now + 3500, "scope": "read write"});
    let (private, public) = keys(alg);
    let token =
        jwt::sign_with(&private, claims.as_object().expect("claims"), None).expect("a token");
    let set = KeySet::new();
    set.add(public, KeyStatus::VerifyOnly).expect("added");
    let validation = Validation {
        issuers: vec!["https://auth.example".into()],
        audiences: vec!["api".into()],
        algorithms: vec![alg],
        ..Validation::default()
    };
    let mut ok = 0;
    if gate {
        let tokens = TokenVerifier::Keys {
            keys: Arc::new(set),
            validation,
        };
        let gate = Gate::new(GateConfig {
            tokens: Some(tokens),
            ..GateConfig::default()
        })
        .expect("a gate");
        let auth = format!("Bearer {token}");
        let headers = [("authorization", auth.as_str())];
        for _ in 0..n {
            let request = GateRequest {
                method: "GET",
                url: "https://api.example/x",
                peer: Some("10.0.0.1"),
                headers: &headers,
                client_certificate: None,
            };
            let outcome = gate.check(std::hint::black_box(&request), None);
            ok += usize::from(matches!(outcome, GateOutcome::Admitted(_)));
        }
    } else {
        for _ in 0..n {
            ok += usize::from(
                set.verify_at(std::hint::black_box(&token), &validation, NOW)
                    .is_ok(),
            );
        }
    }
    assert_eq!(ok, n, "every verification succeeds");
}
