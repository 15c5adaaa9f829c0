//! The deterministic generator of the non-RFC conformance vectors. Tokens are built from
//! hand-written header and payload text with a raw HMAC, not with the library's signer,
//! so they can carry what the signer would refuse (wrong types, duplicates, bad shapes).
//! Regenerate with `cargo run -p authgate-core --example gen_vectors`; a test fails when
//! the committed files differ from what this produces.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

const NOW: u64 = 1_700_000_000;
/// 32 bytes: the HS256 key of the generated JWT cases.
const SECRET: &[u8] = b"authgate conformance vectors key";

fn b64(data: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(data)
}

fn hs256(secret: &[u8], header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(input.as_bytes());
    format!("{input}.{}", b64(&mac.finalize().into_bytes()))
}

fn hs_key(kid: &str) -> Value {
    json!({"jwk": {"kty": "oct", "kid": kid, "k": b64(SECRET)}, "alg": "HS256"})
}

const H: &str = r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#;

fn claims_text(extra: &str) -> String {
    format!(
        r#"{{"sub":"user-1","exp":{},{extra}"iat":{}}}"#,
        NOW + 600,
        NOW - 10
    )
}

fn verify_case(name: &str, token: String, validation: Value, expect: Value) -> Value {
    json!({"name": name, "op": "verify", "keys": [hs_key("k1")], "token": token,
           "validation": validation, "expect": expect})
}

fn jwt_cases() -> Vec<Value> {
    let ok_payload = format!(
        r#"{{"iss":"https://auth.example","sub":"user-1","aud":"api","exp":{},"nbf":{},"iat":{},"jti":"j1","scope":"read write","tenant":{{"id":7}}}}"#,
        NOW + 600,
        NOW - 10,
        NOW - 10
    );
    let ok_claims: Value = serde_json::from_str(&ok_payload).unwrap();
    let strict = json!({"now": NOW, "issuers": ["https://auth.example"], "audiences": ["api"]});
    let now = json!({"now": NOW});
    let error = |code: &str| json!({"error": code});
    let tok = |payload: &str| hs256(SECRET, H, payload);
    let with_time = |name: &str, value: &str| claims_text(&format!(r#""{name}":{value},"#));
    let exp_at = |t: i64| format!(r#"{{"sub":"user-1","exp":{t}}}"#);

    let mut cases = vec![
        verify_case(
            "all registered claims valid",
            tok(&ok_payload),
            strict.clone(),
            json!({"claims": ok_claims}),
        ),
        verify_case(
            "aud array containing the audience",
            tok(&format!(r#"{{"aud":["other","api"],"exp":{}}}"#, NOW + 60)),
            json!({"now": NOW, "audiences": ["api"]}),
            json!({"claims": {"aud": ["other", "api"], "exp": NOW + 60}}),
        ),
        verify_case(
            "expired beyond leeway",
            tok(&exp_at(NOW as i64 - 31)),
            now.clone(),
            error("token_expired"),
        ),
        verify_case(
            "expired exactly at exp + leeway",
            tok(&exp_at(NOW as i64 - 30)),
            now.clone(),
            error("token_expired"),
        ),
        verify_case(
            "expired but within leeway",
            tok(&exp_at(NOW as i64 - 29)),
            now.clone(),
            json!({"claims": {"sub": "user-1", "exp": NOW - 29}}),
        ),
        verify_case(
            "expired with zero leeway",
            tok(&exp_at(NOW as i64)),
            json!({"now": NOW, "leeway": 0}),
            error("token_expired"),
        ),
        verify_case(
            "nbf in the future beyond leeway",
            tok(&with_time("nbf", &(NOW + 31).to_string())),
            now.clone(),
            error("token_not_yet_valid"),
        ),
        verify_case(
            "iat in the future beyond leeway",
            tok(&format!(r#"{{"exp":{},"iat":{}}}"#, NOW + 600, NOW + 100)),
            now.clone(),
            error("token_not_yet_valid"),
        ),
        verify_case(
            "exp is a string",
            tok(r#"{"exp":"1700000600"}"#),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "exp is a fraction",
            tok(r#"{"exp":1700000600.5}"#),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "exp is an integer written as a float",
            tok(r#"{"exp":1700000600.0}"#),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "exp is huge",
            tok(r#"{"exp":100000000000000000000}"#),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "exp is past year 9999",
            tok(r#"{"exp":253402300800}"#),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "exp is negative",
            tok(r#"{"exp":-1}"#),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "exp is null",
            tok(r#"{"exp":null}"#),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "exp is boolean",
            tok(r#"{"exp":true}"#),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "nbf is a string",
            tok(&with_time("nbf", r#""soon""#)),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "exp missing (required by default)",
            tok(r#"{"sub":"user-1"}"#),
            now.clone(),
            error("missing_claim"),
        ),
        verify_case(
            "custom required claim missing",
            tok(&claims_text("")),
            json!({"now": NOW, "required_claims": ["exp", "email"]}),
            error("missing_claim"),
        ),
        verify_case(
            "issuer configured, iss missing",
            tok(&claims_text(r#""aud":"api","#)),
            strict.clone(),
            error("missing_claim"),
        ),
        verify_case(
            "issuer configured, iss wrong",
            tok(&claims_text(r#""iss":"https://evil.example","aud":"api","#)),
            strict.clone(),
            error("invalid_issuer"),
        ),
        verify_case(
            "iss is a number",
            tok(&claims_text(r#""iss":42,"#)),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "audience configured, aud missing",
            tok(&claims_text(r#""iss":"https://auth.example","#)),
            strict.clone(),
            error("missing_claim"),
        ),
        verify_case(
            "audience configured, aud wrong",
            tok(&claims_text(
                r#""iss":"https://auth.example","aud":["web","admin"],"#,
            )),
            strict.clone(),
            error("invalid_audience"),
        ),
        verify_case(
            "aud is a number",
            tok(&claims_text(r#""aud":5,"#)),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "aud array holds a number",
            tok(&claims_text(r#""aud":["api",5],"#)),
            now.clone(),
            error("invalid_claim"),
        ),
        verify_case(
            "required scope missing",
            tok(&claims_text(r#""scope":"read write","#)),
            json!({"now": NOW, "required_scopes": ["admin"]}),
            error("insufficient_scope"),
        ),
        verify_case(
            "required scopes present",
            tok(&claims_text(r#""scope":"read write","#)),
            json!({"now": NOW, "required_scopes": ["write", "read"]}),
            json!({"claims": {"sub": "user-1", "exp": NOW + 600, "scope": "read write", "iat": NOW - 10}}),
        ),
        verify_case(
            "subject mismatch",
            tok(&claims_text("")),
            json!({"now": NOW, "subject": "user-2"}),
            error("invalid_claim"),
        ),
        verify_case(
            "duplicate exp claim",
            tok(&format!(r#"{{"exp":{},"exp":{}}}"#, NOW + 600, NOW + 9999)),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "payload is an array",
            tok("[1,2]"),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "payload is not JSON",
            tok("not json"),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "payload has trailing data",
            tok(&format!(r#"{{"exp":{}}} x"#, NOW + 60)),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "typ JWT where at+jwt is expected",
            tok(&claims_text("")),
            json!({"now": NOW, "token_type": "at+jwt"}),
            error("invalid_token_type"),
        ),
        verify_case(
            "typ missing where at+jwt is expected",
            hs256(SECRET, r#"{"alg":"HS256","kid":"k1"}"#, &claims_text("")),
            json!({"now": NOW, "token_type": "at+jwt"}),
            error("invalid_token_type"),
        ),
        verify_case(
            "typ application/AT+JWT matches at+jwt",
            hs256(
                SECRET,
                r#"{"alg":"HS256","typ":"application/AT+JWT","kid":"k1"}"#,
                &exp_at(NOW as i64 + 60),
            ),
            json!({"now": NOW, "token_type": "at+jwt"}),
            json!({"claims": {"sub": "user-1", "exp": NOW + 60}}),
        ),
        verify_case(
            "alg none, empty signature",
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","kid":"k1"}"#),
                b64(claims_text("").as_bytes())
            ),
            now.clone(),
            error("algorithm_not_allowed"),
        ),
        verify_case(
            "alg NONE signed with the HMAC key",
            hs256(SECRET, r#"{"alg":"NONE","kid":"k1"}"#, &claims_text("")),
            now.clone(),
            error("algorithm_not_allowed"),
        ),
        verify_case(
            "unknown algorithm",
            hs256(SECRET, r#"{"alg":"HS1024","kid":"k1"}"#, &claims_text("")),
            now.clone(),
            error("algorithm_not_allowed"),
        ),
        verify_case(
            "algorithm outside the validation allowlist",
            tok(&claims_text("")),
            json!({"now": NOW, "algorithms": ["RS256", "ES256"]}),
            error("algorithm_not_allowed"),
        ),
        verify_case(
            "unknown kid",
            hs256(SECRET, r#"{"alg":"HS256","kid":"nope"}"#, &claims_text("")),
            now.clone(),
            error("key_not_found"),
        ),
        verify_case(
            "jku header is never followed",
            hs256(
                b"attacker attacker attacker key!!",
                r#"{"alg":"HS256","kid":"attacker","jku":"https://evil.example/jwks"}"#,
                &claims_text(""),
            ),
            now.clone(),
            error("key_not_found"),
        ),
        verify_case(
            "embedded jwk header is never trusted",
            hs256(
                b"attacker attacker attacker key!!",
                r#"{"alg":"HS256","kid":"k1","jwk":{"kty":"oct","k":"YXR0YWNrZXIgYXR0YWNrZXIgYXR0YWNrZXIga2V5ISE"}}"#,
                &claims_text(""),
            ),
            now.clone(),
            error("invalid_signature"),
        ),
        verify_case(
            "signed with another key",
            hs256(b"another key of thirty-two bytes!", H, &claims_text("")),
            now.clone(),
            error("invalid_signature"),
        ),
        verify_case(
            "signature truncated",
            {
                let t = tok(&claims_text(""));
                t[..t.len() - 4].to_string()
            },
            now.clone(),
            error("invalid_signature"),
        ),
        verify_case(
            "payload swapped after signing",
            {
                let good = tok(&claims_text(""));
                let parts: Vec<&str> = good.split('.').collect();
                format!(
                    "{}.{}.{}",
                    parts[0],
                    b64(claims_text(r#""admin":true,"#).as_bytes()),
                    parts[2]
                )
            },
            now.clone(),
            error("invalid_signature"),
        ),
        verify_case(
            "crit header",
            hs256(
                SECRET,
                r#"{"alg":"HS256","kid":"k1","crit":["exp"],"exp":1}"#,
                &claims_text(""),
            ),
            now.clone(),
            error("unsupported_critical_header"),
        ),
        verify_case(
            "token larger than 8 KiB",
            tok(&claims_text(&format!(r#""pad":"{}","#, "a".repeat(9000)))),
            now.clone(),
            error("token_too_large"),
        ),
        verify_case(
            "token larger than a configured maximum",
            tok(&claims_text("")),
            json!({"now": NOW, "max_token_bytes": 64}),
            error("token_too_large"),
        ),
        verify_case(
            "empty token",
            String::new(),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "two parts",
            format!("{}.{}", b64(H.as_bytes()), b64(b"{}")),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "four parts",
            format!("{}.x", tok(&claims_text(""))),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "header is not base64url",
            {
                let t = tok(&claims_text(""));
                format!("!!{}", &t[2..])
            },
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "header with base64 padding",
            hs256(SECRET, r#"{"alg":"HS256","kid":"k1"} "#, &claims_text(""))
                .replacen('.', "=.", 1),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "header is a JSON array",
            hs256(SECRET, r#"["HS256"]"#, &claims_text("")),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "header without alg",
            hs256(SECRET, r#"{"kid":"k1"}"#, &claims_text("")),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "alg is a number",
            hs256(SECRET, r#"{"alg":256,"kid":"k1"}"#, &claims_text("")),
            now.clone(),
            error("malformed_token"),
        ),
        verify_case(
            "duplicate alg in header",
            hs256(
                SECRET,
                r#"{"alg":"none","alg":"HS256","kid":"k1"}"#,
                &claims_text(""),
            ),
            now.clone(),
            error("malformed_token"),
        ),
    ];
    // Key sets with more than one key.
    cases.push(json!({"name": "token under a retired key", "op": "verify",
        "keys": [dict(hs_key("k1"), "status", "retired")], "token": tok(&claims_text("")),
        "validation": now, "expect": error("key_not_found")}));
    cases.push(json!({"name": "kid bound to HS384 but token says HS256", "op": "verify",
        "keys": [{"jwk": {"kty": "oct", "kid": "k1", "k": b64(&[7u8; 48])}, "alg": "HS384"}],
        "token": tok(&claims_text("")), "validation": now, "expect": error("algorithm_not_allowed")}));
    cases.push(json!({"name": "no kid, several HS256 keys", "op": "verify",
        "keys": [hs_key("a"), hs_key("b")], "token": hs256(SECRET, r#"{"alg":"HS256"}"#, &claims_text("")),
        "validation": now, "expect": error("key_not_found")}));
    cases.push(json!({"name": "no kid, one HS256 key", "op": "verify",
        "keys": [hs_key("a")], "token": hs256(SECRET, r#"{"alg":"HS256"}"#, &exp_at(NOW as i64 + 5)),
        "validation": now, "expect": {"claims": {"sub": "user-1", "exp": NOW + 5}}}));

    let import = |name: &str, key: Value, expect: Value| json!({"name": name, "op": "import_key", "key": key, "expect": expect});
    let mut weak_rsa = vec![0xC0u8];
    weak_rsa.extend([0x01u8; 127]);
    cases.extend([
        import("HMAC key has no public JWK", hs_key("k1"), json!({"public_jwk": null})),
        import("HS256 key shorter than 32 bytes", json!({"jwk": {"kty": "oct", "k": b64(b"sixteen byte key")}, "alg": "HS256"}), error("weak_key")),
        import("HS512 key shorter than 64 bytes", json!({"jwk": {"kty": "oct", "k": b64(SECRET)}, "alg": "HS512"}), error("weak_key")),
        import("RSA modulus of 1024 bits", json!({"jwk": {"kty": "RSA", "n": b64(&weak_rsa), "e": "AQAB"}, "alg": "RS256"}), error("weak_key")),
        import("oct k is not base64url", json!({"jwk": {"kty": "oct", "k": "***"}, "alg": "HS256"}), error("invalid_key")),
        import("EC key on P-384 bound to ES256", json!({"jwk": {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}, "alg": "ES256"}), error("invalid_key")),
        import("EC point not on the curve", json!({"jwk": {"kty": "EC", "crv": "P-256", "x": b64(&[1u8; 32]), "y": b64(&[2u8; 32]), "d": b64(&[3u8; 32])}}), error("invalid_key")),
        import("JWK without kty", json!({"jwk": {"k": b64(SECRET)}}), error("invalid_key")),
        import("JWK alg none", json!({"jwk": {"kty": "oct", "alg": "none", "k": b64(SECRET)}}), error("algorithm_not_allowed")),
        import("JWK alg disagrees with the requested one", json!({"jwk": {"kty": "oct", "alg": "HS384", "k": b64(&[7u8; 48])}, "alg": "HS256"}), error("algorithm_not_allowed")),
        import("HMAC secret used as an RSA key", json!({"jwk": {"kty": "oct", "k": b64(SECRET)}, "alg": "RS256"}), error("invalid_key")),
    ]);
    let rsa_n = "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ";
    let jwks = json!({"keys": [
        {"kty": "RSA", "kid": "r1", "use": "sig", "n": rsa_n, "e": "AQAB"},
        {"kty": "EC", "kid": "e1", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty": "oct", "kid": "o1", "k": b64(SECRET)},
        {"kty": "RSA", "kid": "enc1", "use": "enc", "n": rsa_n, "e": "AQAB"},
        {"kty": "EC", "kid": "p521", "crv": "P-521", "x": "AA", "y": "AA"},
        {"kty": "unknown", "kid": "u1"}
    ]});
    cases.extend([
        json!({"name": "JWKS: signing keys imported, oct/enc/unsupported skipped", "op": "import_jwks", "jwks": jwks, "expect": {"kids": ["r1", "e1"]}}),
        json!({"name": "JWKS with no usable key", "op": "import_jwks", "jwks": {"keys": [{"kty": "oct", "k": b64(SECRET)}]}, "expect": error("invalid_key")}),
        json!({"name": "JWKS without keys array", "op": "import_jwks", "jwks": {"kty": "RSA"}, "expect": error("invalid_key")}),
    ]);
    cases
}

fn dict(mut v: Value, k: &str, x: &str) -> Value {
    v[k] = json!(x);
    v
}

fn apikey_cases() -> Vec<Value> {
    use authgate_core::apikey::crc32;
    const B62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let make = |prefix: &str, body: &str| {
        let text = format!("{prefix}{body}");
        let mut n = crc32(text.as_bytes()) as u64;
        let mut sum = [b'0'; 6];
        for slot in sum.iter_mut().rev() {
            *slot = B62[(n % 62) as usize];
            n /= 62;
        }
        format!("{text}{}", std::str::from_utf8(&sum).unwrap())
    };
    let body = "AbCdEf123456Zq9Xw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0FeDcBaZyXwVuT"; // 12 + 43 characters
    let live = make("ag_live_", body);
    let parse = |name: &str, key: &str, expect: Value| json!({"name": name, "op": "parse", "key": key, "expect": expect});
    let ok = |key: &str, prefix: &str| json!({"prefix": prefix, "id": "AbCdEf123456", "last_four": &key[key.len() - 4..]});
    let invalid = json!({"error": "invalid_api_key"});
    let mut typo = live.clone().into_bytes();
    typo[30] = if typo[30] == b'a' { b'b' } else { b'a' };
    let mut swapped = live.clone().into_bytes();
    swapped.swap(25, 26);
    let mut cases = vec![
        parse("live key", &live, ok(&live, "ag_live_")),
        parse(
            "test key",
            &make("ag_test_", body),
            ok(&make("ag_test_", body), "ag_test_"),
        ),
        parse(
            "server key",
            &make("ag_srv_", body),
            ok(&make("ag_srv_", body), "ag_srv_"),
        ),
        parse(
            "custom prefix",
            &make("acme_prod_", body),
            ok(&make("acme_prod_", body), "acme_prod_"),
        ),
        parse(
            "one character changed",
            std::str::from_utf8(&typo).unwrap(),
            invalid.clone(),
        ),
        parse(
            "two characters swapped",
            std::str::from_utf8(&swapped).unwrap(),
            invalid.clone(),
        ),
        parse("truncated", &live[..live.len() - 1], invalid.clone()),
        parse("one character added", &format!("{live}A"), invalid.clone()),
        parse(
            "upper-case prefix",
            &make("AG_LIVE_", body),
            invalid.clone(),
        ),
        parse(
            "prefix without underscore",
            &make("aglive", body),
            invalid.clone(),
        ),
        parse(
            "character outside base62",
            &make("ag_live_", &body.replacen('Z', "-", 1)),
            invalid.clone(),
        ),
        parse("empty", "", json!({"error": "missing_api_key"})),
        parse(
            "non-ASCII",
            &format!("ag_live_{}é", &body[..body.len() - 1]),
            invalid.clone(),
        ),
    ];
    for (granted, required, result) in [
        (vec!["sms:send"], "sms:send", true),
        (vec!["sms:*"], "sms:send", true),
        (vec!["sms:*"], "sms", false),
        (vec!["sms:*"], "email:send", false),
        (vec!["*"], "anything:at:all", true),
        (vec!["sms:send"], "sms:send:bulk", false),
        (vec!["sms*"], "smsx", false),
        (vec![], "sms:send", false),
    ] {
        cases.push(
            json!({"name": format!("scope {required} under {granted:?}"), "op": "scope_granted",
            "granted": granted, "required": required, "expect": {"result": result}}),
        );
    }
    cases
}

fn file(area: &str, description: &str, cases: Vec<Value>) -> String {
    let doc = json!({"area": area, "source": "generated by core/tests/support/generate.rs", "description": description, "cases": cases});
    serde_json::to_string_pretty(&doc).unwrap() + "\n"
}

/// (path under tests/vectors, contents) of every generated file.
pub fn generated_files() -> Vec<(&'static str, String)> {
    vec![
        ("jwt/generated.json", file("jwt", "JWT edge and attack cases: claim types, time checks, issuer, audience, scope, typ, algorithms, keys, malformed tokens, key and JWKS import", jwt_cases())),
        ("apikey/generated.json", file("apikey", "API key format, checksum and scope matching", apikey_cases())),
    ]
}
