//! The `authgate` binary run as an operator would: outputs checked with the core (keys
//! parse, tokens verify, signed requests verify), RFC and specification vectors, exit codes
//! and error output.

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

use authgate_core::jwt::{Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::signature::{KeyMap, Request, RequestVerifier, SignatureKey, VerifyPolicy};
use authgate_core::store::MemoryStore;
use serde_json::Value;

fn authgate(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_authgate"))
        .args(args)
        .env_remove("AUTHGATE_JWT_SECRET")
        .env_remove("AUTHGATE_HMAC_SECRET")
        .env_remove("AUTHGATE_TOTP_SECRET")
        .env_remove("AUTHGATE_WEBHOOK_SECRET")
        .output()
        .expect("the authgate binary runs")
}

fn with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_authgate"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn stdout(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn json(o: &Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn help_lists_every_command_and_the_exit_codes() {
    let help = stdout(&authgate(&["--help"]));
    for cmd in [
        "keygen",
        "jwt",
        "totp",
        "sign-request",
        "verify-webhook",
        "Exit codes",
    ] {
        assert!(help.contains(cmd), "{cmd} missing from --help");
    }
    let o = authgate(&["jwt", "frobnicate"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("frobnicate"));
}

#[test]
fn api_and_server_keys_parse_and_show_what_to_store() {
    let v = json(&authgate(&["keygen", "api-key", "--json"]));
    let key = v["key"].as_str().unwrap();
    let parsed = authgate_core::apikey::parse(key).unwrap();
    assert_eq!(parsed.prefix, "ag_live_");
    assert_eq!(v["id"], parsed.id.as_str());
    let hash: String = parsed.hash.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(v["sha256"], hash.as_str());

    let o = authgate(&["keygen", "server-key"]);
    let key = stdout(&o);
    assert_eq!(
        authgate_core::apikey::parse(key.trim()).unwrap().prefix,
        "ag_srv_"
    );
    assert!(stderr(&o).contains("Store only"));
    assert!(stderr(&o).contains("client_token_key"));
    // What the CLI prints imports into a server-key manager, whose verifier then checks
    // the client tokens the key mints (#20 items 12, 13).
    let v = json(&authgate(&["keygen", "server-key", "--json"]));
    let key = v["key"].as_str().unwrap();
    let unhex = |s: &str| -> [u8; 32] {
        let raw: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        raw.try_into().unwrap()
    };
    let public =
        authgate_core::util::b64url_decode(v["client_token_key"].as_str().unwrap().as_bytes())
            .unwrap();
    let store = std::sync::Arc::new(authgate_core::store::MemoryStore::new());
    let manager = std::sync::Arc::new(
        authgate_core::apikey::ApiKeyManager::new(store)
            .with_prefixes(authgate_core::apikey::PREFIX_SERVER, &[])
            .unwrap(),
    );
    manager
        .import(
            &authgate_core::apikey::ImportedApiKey {
                id: v["id"].as_str().unwrap().into(),
                prefix: v["prefix"].as_str().unwrap().into(),
                last_four: v["last_four"].as_str().unwrap().into(),
                hash: unhex(v["sha256"].as_str().unwrap()),
                client_token_key: Some(public.try_into().unwrap()),
            },
            &manager.options(),
        )
        .unwrap();
    let now = 1_700_000_000;
    let token = authgate_core::client_token::ClientTokens::new(key)
        .unwrap()
        .mint("u-1", 60, now)
        .unwrap();
    let verifier = authgate_core::client_token::ClientTokenVerifier::new(manager.clone());
    assert_eq!(verifier.verify(&token, "u-1", now).unwrap().user, "u-1");
    assert_eq!(
        manager.verify(key, None).unwrap().id,
        v["id"].as_str().unwrap()
    );
    let o = authgate(&["keygen", "api-key", "--prefix", "bad prefix"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn secrets_are_fresh_and_long_enough() {
    let a = stdout(&authgate(&["keygen", "hmac-secret"]));
    let b = stdout(&authgate(&["keygen", "hmac-secret"]));
    assert_ne!(a, b);
    assert_eq!(a.trim().len(), 43); // 32 bytes in base64url
    assert_eq!(
        authgate(&["keygen", "hmac-secret", "--bytes", "8"])
            .status
            .code(),
        Some(2)
    );
    let w = stdout(&authgate(&["keygen", "webhook-secret"]));
    assert!(w.starts_with("whsec_"));
    let pair = json(&authgate(&[
        "keygen",
        "webhook-secret",
        "--ed25519",
        "--json",
    ]));
    assert!(pair["secret_key"].as_str().unwrap().starts_with("whsk_"));
    assert!(pair["public_key"].as_str().unwrap().starts_with("whpk_"));
}

#[test]
fn a_signing_key_signs_tokens_its_jwks_verifies() {
    let dir = std::env::temp_dir().join(format!("authgate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let pem = dir.join("k1.pem");
    let _ = std::fs::remove_file(&pem);
    let pem_path = pem.to_str().unwrap();
    let keygen = [
        "keygen",
        "signing-key",
        "--alg",
        "EdDSA",
        "--kid",
        "k1",
        "--out",
        pem_path,
    ];
    let out = json(&authgate(&[&keygen[..], &["--json"]].concat()));
    assert!(
        out.get("private").is_none(),
        "the private key went to the file only"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&pem).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Never overwritten.
    let again = authgate(&keygen);
    assert_eq!(again.status.code(), Some(3));
    let jwks_file = dir.join("jwks.json");
    std::fs::write(&jwks_file, out["jwks"].to_string()).unwrap();

    let token = stdout(&authgate(&[
        "jwt",
        "sign",
        "--key",
        pem.to_str().unwrap(),
        "--alg",
        "EdDSA",
        "--kid",
        "k1",
        "--claims",
        r#"{"scope":"read"}"#,
        "--sub",
        "alice",
        "--aud",
        "api",
        "--ttl",
        "5m",
    ]));
    let token = token.trim();
    // The core verifies it with the published JWKS…
    let keys = KeySet::new();
    keys.import_jwks(&out["jwks"].to_string()).unwrap();
    let validation = Validation {
        audiences: vec!["api".into()],
        ..Validation::default()
    };
    let claims = keys.verify(token, &validation).unwrap();
    assert_eq!(claims.get("sub").unwrap(), "alice");
    // …and so does the CLI; `keygen jwks` rebuilds the same JWKS from the PEM.
    let verified = json(&authgate(&[
        "jwt",
        "verify",
        token,
        "--jwks",
        jwks_file.to_str().unwrap(),
        "--aud",
        "api",
        "--json",
    ]));
    assert_eq!(verified["claims"]["scope"], "read");
    let rebuilt = json(&authgate(&[
        "keygen",
        "jwks",
        "--alg",
        "EdDSA",
        pem.to_str().unwrap(),
    ]));
    assert_eq!(rebuilt, out["jwks"]);
    // The wrong audience, and any changed character, are rejected with exit 1.
    let o = authgate(&[
        "jwt",
        "verify",
        token,
        "--jwks",
        jwks_file.to_str().unwrap(),
        "--aud",
        "other",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid_audience"), "{}", stderr(&o));
    let mut tampered = token.to_string();
    let i = tampered.rfind('.').unwrap() + 3;
    let c = if &tampered[i..=i] == "A" { "B" } else { "A" };
    tampered.replace_range(i..=i, c);
    let o = authgate(&[
        "jwt",
        "verify",
        &tampered,
        "--jwks",
        jwks_file.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err: Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(err["error"], "invalid_signature");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn hs256_tokens_from_a_secret_in_the_environment_or_stdin() {
    let secret = "a-test-secret-of-more-than-32-bytes!!";
    let o = Command::new(env!("CARGO_BIN_EXE_authgate"))
        .args([
            "jwt",
            "sign",
            "--sub",
            "bob",
            "--claims",
            r#"{"exp": 4000000000}"#,
        ])
        .env("AUTHGATE_JWT_SECRET", secret)
        .output()
        .unwrap();
    let token = stdout(&o);
    let key = Key::hmac(None, Algorithm::HS256, secret.as_bytes()).unwrap();
    let keys = KeySet::new();
    keys.add(key, KeyStatus::Active).unwrap();
    let claims = keys.verify(token.trim(), &Validation::default()).unwrap();
    assert_eq!(claims.get("exp").unwrap(), 4_000_000_000u64);
    assert!(
        claims.get("iat").is_none(),
        "an explicit exp is kept as given"
    );
    // The token from stdin; expired as of --at.
    let o = with_stdin(
        &["jwt", "verify", "-", "--secret", secret],
        token.as_bytes(),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let o = with_stdin(
        &[
            "jwt",
            "verify",
            "-",
            "--secret",
            secret,
            "--at",
            "4000000100",
        ],
        token.as_bytes(),
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("token_expired"));
    // A short secret and an unknown algorithm are input errors (exit 2), not rejections.
    assert_eq!(
        authgate(&["jwt", "sign", "--secret", "short"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(
        authgate(&["jwt", "sign", "--secret", secret, "--alg", "none"])
            .status
            .code(),
        Some(2)
    );
    assert_eq!(authgate(&["jwt", "verify", "x.y.z"]).status.code(), Some(2));
    assert_eq!(
        authgate(&["jwt", "verify", "@/nonexistent/token", "--secret", secret])
            .status
            .code(),
        Some(3)
    );
}

/// #20 item 21: secrets on the command line are warned about (not from the environment or
/// a file), hex and base64 secrets are decoded only when written so, errors are sentences
/// (no Rust names), a public key verifies, and a token with `aud` needs `--aud`.
#[test]
fn secrets_encodings_warnings_and_plain_errors() {
    const WARNING: &str = "visible to other users";
    let hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let raw: Vec<u8> = (0..32u8).map(|i| (i % 16) * 0x11).collect();
    let verify_with = |secret: &[u8], token: &str| {
        let keys = KeySet::single(Key::hmac(None, Algorithm::HS256, secret).unwrap());
        keys.verify(token.trim(), &Validation::default())
    };
    // hex: decodes; text that looks like hex is its characters, with a note saying so.
    let claims = r#"{"exp": 4000000000}"#;
    let o = authgate(&[
        "jwt",
        "sign",
        "--secret",
        &format!("hex:{hex}"),
        "--claims",
        claims,
    ]);
    let token = stdout(&o);
    assert!(verify_with(&raw, &token).is_ok());
    assert!(stderr(&o).contains(WARNING), "{}", stderr(&o));
    let o = authgate(&["jwt", "sign", "--secret", hex, "--claims", claims]);
    assert!(verify_with(hex.as_bytes(), &stdout(&o)).is_ok());
    assert!(stderr(&o).contains("write hex:"), "{}", stderr(&o));
    // base64 (standard or URL-safe, padded or not) decodes to the same bytes.
    for b64 in [
        "base64:ABEiM0RVZneImaq7zN3u/wARIjNEVWZ3iJmqu8zd7v8=",
        "base64url:ABEiM0RVZneImaq7zN3u_wARIjNEVWZ3iJmqu8zd7v8",
    ] {
        let o = authgate(&["jwt", "sign", "--secret", b64, "--claims", claims]);
        assert!(verify_with(&raw, &stdout(&o)).is_ok(), "{b64}");
    }
    let o = authgate(&["jwt", "sign", "--secret", "hex:zz", "--claims", claims]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("not valid hex"));
    // From the environment or a file: no warning.
    let o = Command::new(env!("CARGO_BIN_EXE_authgate"))
        .args(["jwt", "sign", "--claims", claims])
        .env("AUTHGATE_JWT_SECRET", format!("hex:{hex}"))
        .output()
        .unwrap();
    assert!(verify_with(&raw, &stdout(&o)).is_ok());
    assert!(!stderr(&o).contains(WARNING));
    let dir = std::env::temp_dir().join(format!("authgate-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("secret");
    std::fs::write(&file, hex).unwrap();
    let at_file = format!("@{}", file.display());
    let o = authgate(&["jwt", "sign", "--secret", &at_file, "--claims", claims]);
    assert!(verify_with(hex.as_bytes(), &stdout(&o)).is_ok());
    assert!(!stderr(&o).contains(WARNING));
    // A webhook key from a file; a literal one is warned about.
    let whsec = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    std::fs::write(&file, format!("{whsec}\n")).unwrap();
    let args = |secret: &str| {
        [
            "verify-webhook",
            "--secret",
            secret,
            "--id",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            "--timestamp",
            "1614265330",
            "--signature",
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
            "--at",
            "1614265330",
            "--payload",
            r#"{"test": 2432232314}"#,
        ]
        .map(str::to_string)
    };
    let run = |secret: &str| {
        let a = args(secret);
        authgate(&a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let o = run(&at_file);
    assert!(stdout(&o).starts_with("valid"));
    assert!(!stderr(&o).contains(WARNING));
    let o = run(whsec);
    assert!(stdout(&o).starts_with("valid"));
    assert!(stderr(&o).contains(WARNING));
    // --json keeps stderr to JSON alone.
    let o = authgate(&["--json", "jwt", "sign", "--secret", hex, "--claims", claims]);
    assert!(o.status.success());
    assert_eq!(stderr(&o), "");
    // A text secret file's line ending is not part of the secret; a binary file is whole.
    let text = "a-text-secret-of-32-bytes-or-more";
    for written in [format!("{text}\n"), format!("{text}\r\n"), text.to_string()] {
        std::fs::write(&file, &written).unwrap();
        let o = authgate(&["jwt", "sign", "--secret", &at_file, "--claims", claims]);
        assert!(
            verify_with(text.as_bytes(), &stdout(&o)).is_ok(),
            "{written:?}"
        );
    }
    let binary: Vec<u8> = [&[0xff, 0xfe][..], &[7u8; 29], b"\n"].concat();
    std::fs::write(&file, &binary).unwrap();
    let o = authgate(&["jwt", "sign", "--secret", &at_file, "--claims", claims]);
    assert!(verify_with(&binary, &stdout(&o)).is_ok());
    // totp enroll --secret reads @file too.
    std::fs::write(&file, "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n").unwrap();
    let o = authgate(&[
        "totp",
        "enroll",
        "--account",
        "a@example.com",
        "--no-qr",
        "--secret",
        &at_file,
    ]);
    assert!(
        stdout(&o).starts_with("secret: JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP\n"),
        "{}",
        stderr(&o)
    );
    // The secret and the payload cannot both come from stdin.
    let mut a = args("-").to_vec();
    a.truncate(a.len() - 2); // the payload defaults to stdin
    let o = authgate(&a.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("only one of --secret and the payload"),
        "{}",
        stderr(&o)
    );
    // … nor through a file that is stdin.
    for stdin_file in [
        "@/dev/stdin",
        "@/dev/fd/0",
        "@/dev//stdin",
        "@/dev/./stdin",
        "@/proc/thread-self/fd/0",
    ] {
        let mut a = args("-").to_vec();
        let last = a.len() - 1;
        a[last] = stdin_file.to_string();
        let o = authgate(&a.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(o.status.code(), Some(2), "{stdin_file}");
        assert!(stderr(&o).contains("only one of --secret and the payload"));
    }
    std::fs::remove_dir_all(&dir).unwrap();

    // Errors read as sentences: ring's reason names (WrongAlgorithm …) never show.
    let data = |name: &str| format!("{}/../core/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let o = authgate(&[
        "jwt",
        "sign",
        "--key",
        &data("ed25519-private.pem"),
        "--alg",
        "ES256",
        "--claims",
        claims,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let message = stderr(&o);
    assert!(message.contains("another type or curve"), "{message}");
    assert!(
        !message
            .split(|c: char| !c.is_ascii_alphanumeric())
            .any(|w| {
                w.len() > 1
                    && w.starts_with(|c: char| c.is_ascii_uppercase())
                    && w.chars().skip(1).any(|c| c.is_ascii_uppercase())
                    && w.chars().any(|c| c.is_ascii_lowercase())
            }),
        "a CamelCase name in: {message}"
    );
    // A public key verifies (it cannot sign, so it is not the set's signing key).
    let token = stdout(&authgate(&[
        "jwt",
        "sign",
        "--key",
        &data("ec-private.pem"),
        "--alg",
        "ES256",
        "--claims",
        claims,
    ]));
    let o = authgate(&[
        "jwt",
        "verify",
        "--key",
        &data("ec-public.pem"),
        "--alg",
        "ES256",
        token.trim(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    // A token with `aud` needs --aud (or --any-audience), as in every runtime.
    let env_run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_authgate"))
            .args(args)
            .env(
                "AUTHGATE_JWT_SECRET",
                "a-test-secret-of-more-than-32-bytes!!",
            )
            .output()
            .unwrap()
    };
    let token = stdout(&env_run(&[
        "jwt", "sign", "--aud", "api", "--claims", claims,
    ]));
    let o = env_run(&["jwt", "verify", token.trim()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid_audience"), "{}", stderr(&o));
    assert!(env_run(&["jwt", "verify", "--aud", "api", token.trim()])
        .status
        .success());
    assert!(env_run(&["jwt", "verify", "--any-audience", token.trim()])
        .status
        .success());
}

#[test]
fn inspect_shows_header_and_claims_and_says_nothing_was_verified() {
    let token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    let o = authgate(&["jwt", "inspect", token]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["header"]["alg"], "HS256");
    assert_eq!(v["claims"]["name"], "John Doe");
    assert_eq!(v["verified"], false);
    assert!(stderr(&o).contains("NOT VERIFIED"));
    let o = authgate(&["jwt", "inspect", "not-a-token"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("malformed_token"));
}

#[test]
fn totp_codes_match_rfc_6238_and_enrollment_gives_a_working_uri() {
    // RFC 6238 appendix B, SHA-1: secret "12345678901234567890".
    let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    for (time, code) in [
        ("59", "94287082"),
        ("1111111109", "07081804"),
        ("2000000000", "69279037"),
    ] {
        let out = stdout(&authgate(&[
            "totp", "code", "--secret", secret, "--time", time, "--digits", "8",
        ]));
        assert_eq!(out.trim(), code, "at {time}");
    }
    let enrolled = json(&authgate(&[
        "totp",
        "enroll",
        "--account",
        "alice@example.com",
        "--issuer",
        "Acme",
        "--json",
    ]));
    let uri = enrolled["uri"].as_str().unwrap();
    let parsed = authgate_core::otp::OtpUri::parse(uri, false).unwrap();
    assert_eq!(parsed.account, "alice@example.com");
    let from_uri = json(&authgate(&[
        "totp",
        "code",
        "--uri",
        uri,
        "--time",
        "1700000000",
        "--json",
    ]));
    let from_secret = json(&authgate(&[
        "totp",
        "code",
        "--secret",
        enrolled["secret"].as_str().unwrap(),
        "--time",
        "1700000000",
        "--json",
    ]));
    assert_eq!(from_uri["code"], from_secret["code"]);
    assert_eq!(
        from_uri["code"].as_str().unwrap(),
        parsed.to_totp().unwrap().generate(1_700_000_000)
    );
    // The terminal QR code is printed unless --no-qr.
    let text = stdout(&authgate(&[
        "totp",
        "enroll",
        "--account",
        "a",
        "--secret",
        secret,
    ]));
    assert!(text.contains('█') && text.contains(&format!("secret={secret}")));
    assert_eq!(
        authgate(&["totp", "code", "--secret", "not base32!"])
            .status
            .code(),
        Some(2)
    );
}

#[test]
fn sign_request_prints_headers_the_core_verifier_accepts() {
    let secret = "request-signing-secret-32-bytes-long!";
    let v = json(&authgate(&[
        "sign-request",
        "-X",
        "POST",
        "https://api.example.com/v1/orders?dry=1",
        "-H",
        "content-type: application/json",
        "-d",
        r#"{"qty":2}"#,
        "--keyid",
        "client-1",
        "--hmac-secret",
        secret,
        "--json",
    ]));
    let keys = KeyMap::new();
    keys.insert(
        "client-1",
        SignatureKey::hmac_sha256(secret.as_bytes()).unwrap(),
    );
    let verifier = RequestVerifier::new(
        Arc::new(keys),
        Arc::new(MemoryStore::new()),
        VerifyPolicy::default(),
    );
    let req = |body: &'static [u8]| {
        Request::new("POST", "https://api.example.com/v1/orders?dry=1")
            .unwrap()
            .header("content-type", "application/json")
            .header("content-digest", v["Content-Digest"].as_str().unwrap())
            .header("signature-input", v["Signature-Input"].as_str().unwrap())
            .header("signature", v["Signature"].as_str().unwrap())
            .body(body)
    };
    assert!(
        verifier.verify(&req(br#"{"qty":3}"#)).is_err(),
        "a changed body fails"
    );
    verifier.verify(&req(br#"{"qty":2}"#)).unwrap();
    assert!(
        verifier.verify(&req(br#"{"qty":2}"#)).is_err(),
        "a replay fails"
    );

    let lines = stdout(&authgate(&[
        "sign-request",
        "https://api.example.com/x",
        "--keyid",
        "k",
        "--hmac-secret",
        secret,
    ]));
    assert!(lines
        .lines()
        .any(|l| l.starts_with("Signature-Input: sig1=(")));
    let curl = stdout(&authgate(&[
        "sign-request",
        "https://api.example.com/x",
        "--keyid",
        "k",
        "--hmac-secret",
        secret,
        "--curl",
    ]));
    assert!(curl.starts_with("-H 'Signature-Input: "));
    let o = authgate(&["sign-request", "https://api.example.com/x", "--keyid", "k"]);
    assert_eq!(o.status.code(), Some(2));
    let o = authgate(&[
        "sign-request",
        "https://api.example.com/x",
        "--keyid",
        "k",
        "--hmac-secret",
        secret,
        "-H",
        "no colon",
    ]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn verify_webhook_runs_the_webhook_vectors() {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/vectors/webhook/cases.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(dir).unwrap()).unwrap();
    let mut ran = 0;
    for case in doc["cases"].as_array().unwrap() {
        if case["op"] != "verify" {
            continue;
        }
        let header = |name: &str| {
            case["headers"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|h| h[0].as_str().unwrap().eq_ignore_ascii_case(name))
                .map(|h| h[1].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        };
        let (ids, stamps, sigs) = (
            header("webhook-id"),
            header("webhook-timestamp"),
            header("webhook-signature"),
        );
        let svix = case["headers"].as_array().unwrap().iter().any(|h| {
            h[0].as_str()
                .unwrap()
                .to_ascii_lowercase()
                .starts_with("svix-")
        });
        if ids.len() != 1 || stamps.len() != 1 || sigs.len() != 1 || svix {
            continue; // missing, repeated and aliased headers are the header parser's cases
        }
        let mut args = vec!["verify-webhook".to_string(), "--json".into()];
        for k in case["keys"].as_array().unwrap() {
            args.extend(["--secret".into(), k.as_str().unwrap().to_string()]);
        }
        let now = case["now"].as_u64().unwrap().to_string();
        let tolerance = case
            .get("tolerance")
            .and_then(Value::as_u64)
            .unwrap_or(300)
            .to_string();
        args.extend([
            "--id".into(),
            ids[0].clone(),
            "--timestamp".into(),
            stamps[0].clone(),
        ]);
        args.extend([
            "--signature".into(),
            sigs[0].clone(),
            "--at".into(),
            now,
            "--tolerance".into(),
            tolerance,
        ]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let o = with_stdin(&refs, case["payload"].as_str().unwrap().as_bytes());
        let name = case["name"].as_str().unwrap();
        match case["expect"].get("error").and_then(Value::as_str) {
            None => {
                let v: Value = serde_json::from_slice(&o.stdout)
                    .unwrap_or_else(|_| panic!("{name}: {}", stderr(&o)));
                assert_eq!(v["id"], case["expect"]["id"], "{name}");
                assert_eq!(v["version"], case["expect"]["version"], "{name}");
            }
            Some(code) => {
                assert_ne!(o.status.code(), Some(0), "{name}");
                let err: Value = serde_json::from_str(stderr(&o).trim()).unwrap();
                // A malformed key is an input error; everything else a rejection.
                let expected_exit = if ["invalid_key", "weak_key"].contains(&code) {
                    2
                } else {
                    1
                };
                assert_eq!(o.status.code(), Some(expected_exit), "{name}");
                if expected_exit == 1 {
                    assert_eq!(err["error"], code, "{name}");
                }
            }
        }
        ran += 1;
    }
    assert!(ran >= 5, "only {ran} webhook vectors ran");
}

#[test]
fn jwt_verify_fetches_an_identity_providers_keys() {
    let server = authgate_test_https::HttpsServer::start();
    let dir = std::env::temp_dir().join(format!("authgate-cli-ca-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, &server.ca_pem).unwrap();
    let ca = ca.to_str().unwrap();
    let pem = Key::generate_pem(Algorithm::ES256).unwrap();
    let keys = KeySet::new();
    keys.add(
        Key::from_pem(Some("idp-1"), Algorithm::ES256, &pem).unwrap(),
        KeyStatus::Active,
    )
    .unwrap();
    let issuer = server.url("/idp");
    server.set("/idp/jwks", 200, 0, &keys.jwks().to_string());
    let doc = serde_json::json!({"issuer": issuer, "jwks_uri": server.url("/idp/jwks")});
    server.set(
        "/idp/.well-known/openid-configuration",
        200,
        0,
        &doc.to_string(),
    );
    let claims =
        serde_json::json!({"iss": issuer, "sub": "alice", "aud": "api", "exp": 4_000_000_000u64});
    let token = keys.sign(claims.as_object().unwrap(), None).unwrap();
    let url = server.url("/idp/jwks");
    let v = json(&authgate(&[
        "jwt",
        "verify",
        &token,
        "--jwks-url",
        &url,
        "--ca-cert",
        ca,
        "--aud",
        "api",
    ]));
    assert_eq!(v["sub"], "alice");
    let v = json(&authgate(&[
        "jwt",
        "verify",
        &token,
        "--oidc-issuer",
        &issuer,
        "--ca-cert",
        ca,
        "--any-audience",
    ]));
    assert_eq!(v["iss"], issuer.as_str());
    // A token from elsewhere is rejected (1); a provider that cannot be reached is exit 3.
    let o = authgate(&[
        "jwt",
        "verify",
        &token,
        "--jwks-url",
        &url,
        "--ca-cert",
        ca,
        "--aud",
        "other",
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("invalid_audience"));
    // Without an audience an identity provider's keys verify nothing (refused, 1).
    let o = authgate(&["jwt", "verify", &token, "--jwks-url", &url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("audience"));
    let o = authgate(&["jwt", "verify", &token, "--jwks-url", &url, "--aud", "api"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("key_set_unavailable"));
    let o = authgate(&[
        "jwt",
        "verify",
        &token,
        "--jwks-url",
        "http://127.0.0.1/jwks",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = authgate(&["jwt", "verify", &token, "--jwks-url", &url, "--secret", "x"]);
    assert_eq!(o.status.code(), Some(2));
    std::fs::remove_dir_all(&dir).unwrap();
}
