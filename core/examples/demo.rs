//! `make demo`: the core end to end, printing what happens at each step: sessions, key
//! rotation, API keys, client tokens, passwords, authenticator codes, rate limits, client
//! addresses behind proxies, signed requests and the mobile token manager.

use std::sync::Arc;
use std::thread;

use authgate_core::allowlist::{Allowlist, ClientIpResolver, ForwardedHeader};
use authgate_core::apikey::{ApiKeyManager, ApiKeyOptions, PREFIX_SERVER};
use authgate_core::client_token::{needs_refresh, ClientTokenVerifier, ClientTokens};
use authgate_core::clock::{Clock, ManualClock};
use authgate_core::jwt::{Algorithm, Key, KeySet, KeyStatus};
use authgate_core::otp::{Totp, TotpManager, TotpManagerConfig};
use authgate_core::password::{PasswordHasher, PasswordPolicy};
use authgate_core::ratelimit::{Policy, RateLimiter};
use authgate_core::session::{DeviceInfo, SessionConfig, SessionManager};
use authgate_core::signature::{
    KeyMap, Request, RequestSigner, RequestVerifier, SignatureKey, SignerConfig, VerifyPolicy,
};
use authgate_core::store::MemoryStore;
use authgate_core::token_manager::{
    FetchError, StorageError, TokenFetcher, TokenGrant, TokenManager, TokenManagerConfig,
    TokenStorage,
};
use authgate_core::Result;

fn step(n: u32, text: &str) {
    println!("\n{n}. {text}");
}

fn show<T>(what: &str, r: &Result<T>) {
    match r {
        Ok(_) => println!("   {what}: ok"),
        Err(e) => println!("   {what}: refused — {} ({})", e.code(), e),
    }
}

fn main() -> Result<()> {
    println!("authgate demo: the Rust core, step by step");
    let clock = Arc::new(ManualClock::new(authgate_core::clock::unix_now()));
    let store = Arc::new(MemoryStore::new());

    step(
        1,
        "A signing key (Ed25519, generated from the OS CSPRNG) and its public JWKS",
    );
    let keys = Arc::new(KeySet::single(Key::from_pem(
        Some("2026-11"),
        Algorithm::EdDSA,
        &Key::generate_pem(Algorithm::EdDSA)?,
    )?));
    println!("   JWKS: {}", keys.jwks());

    let config = SessionConfig {
        issuer: Some("https://auth.example".into()),
        audience: Some("api".into()),
        check_session_on_verify: true,
        ..SessionConfig::default()
    };
    let sessions = SessionManager::with_clock(keys.clone(), store.clone(), config, clock.clone())?;

    step(2, "Alice logs in on her phone");
    let phone = DeviceInfo {
        device_id: "phone-7f3a".into(),
        name: Some("Alice's phone".into()),
    };
    let login = sessions.login("alice", &phone, Some("read write"))?;
    println!(
        "   new device: {} (send a 'new sign-in' email)",
        login.new_device
    );
    println!(
        "   access token: {}…  (expires in {} s)",
        &login.tokens.access_token[..40],
        login.tokens.access_expires_at - clock.now()
    );
    println!("   refresh token: agr_… (only its SHA-256 is stored)");
    let claims = sessions.verify_access(&login.tokens.access_token)?;
    println!(
        "   verified: sub={} scope={:?}",
        claims.sub().unwrap_or("?"),
        claims.scope()
    );

    step(3, "Ten minutes later the app refreshes: the pair rotates");
    clock.advance(600);
    let second = sessions.refresh(&login.tokens.refresh_token)?;
    println!("   new pair issued for session {}", second.session_id);

    step(4, "Someone replays the OLD refresh token (stolen?)");
    show(
        "refresh with the old token",
        &sessions.refresh(&login.tokens.refresh_token),
    );
    show(
        "refresh with the newest token",
        &sessions.refresh(&second.refresh_token),
    );
    show(
        "access token of that session",
        &sessions.verify_access(&second.access_token),
    );

    step(
        5,
        "Alice signs in on two devices, then logs out of all devices",
    );
    let laptop = DeviceInfo {
        device_id: "laptop-19c2".into(),
        name: Some("Work laptop".into()),
    };
    let a = sessions.login("alice", &phone, None)?;
    let b = sessions.login("alice", &laptop, None)?;
    for s in sessions.list("alice")? {
        println!("   signed in: {} ({:?})", s.device_id, s.device_name);
    }
    println!("   revoked {} session(s)", sessions.revoke_all("alice")?);
    show(
        "refresh on the laptop",
        &sessions.refresh(&b.tokens.refresh_token),
    );
    show(
        "access token from the phone",
        &sessions.verify_access(&a.tokens.access_token),
    );

    step(
        6,
        "Key rotation: a new key signs, the old one still verifies until retired",
    );
    let old_token = sessions.login("bob", &phone, None)?.tokens.access_token;
    keys.add(
        Key::from_pem(
            Some("2026-12"),
            Algorithm::ES256,
            &Key::generate_pem(Algorithm::ES256)?,
        )?,
        KeyStatus::Active,
    )?;
    show(
        "token signed by the previous key",
        &sessions.verify_access(&old_token),
    );
    keys.retire("2026-11")?;
    show(
        "same token after retiring that key",
        &sessions.verify_access(&old_token),
    );

    step(
        7,
        "API keys: created once, stored as a hash, scoped, rolled",
    );
    let api_keys = ApiKeyManager::with_clock(store.clone(), clock.clone());
    let (key, record) = api_keys.create(&ApiKeyOptions {
        scopes: vec!["sms:*".into()],
        ..Default::default()
    })?;
    println!(
        "   new key (shown once): {}…{}",
        &key[..12],
        record.last_four
    );
    show(
        "verify for sms:send",
        &api_keys.verify(&key, Some("sms:send")),
    );
    show(
        "verify for billing:read",
        &api_keys.verify(&key, Some("billing:read")),
    );
    let mut typo = key.clone().into_bytes();
    typo[20] = if typo[20] == b'x' { b'y' } else { b'x' };
    show(
        "a key with one typo (caught by its checksum, no lookup)",
        &api_keys.verify(&String::from_utf8_lossy(&typo), None),
    );
    let (new_key, _) = api_keys.roll(&record.id, 3600)?;
    show(
        "old key during the grace hour",
        &api_keys.verify(&key, None),
    );
    clock.advance(3600);
    show("old key after the grace hour", &api_keys.verify(&key, None));
    show("new key", &api_keys.verify(&new_key, None));

    step(
        8,
        "Client tokens: the backend mints a 5-minute token for one user with its server key",
    );
    // Server keys are their own kind: a manager pinned to `ag_srv_`, on the same store.
    let server_keys = Arc::new(
        ApiKeyManager::with_clock(store.clone(), clock.clone())
            .with_prefixes(PREFIX_SERVER, &[])?,
    );
    let (server_key, _) = server_keys.create(&ApiKeyOptions {
        client_tokens: true,
        ..server_keys.options()
    })?;
    let minted = ClientTokens::new(&server_key)?; // the backend: holds the server key
    let token = minted.mint("user-42", 300, clock.now())?;
    let api = ClientTokenVerifier::new(server_keys); // the API: only the public key is stored
    show(
        "verify for user-42",
        &api.verify(&token, "user-42", clock.now()),
    );
    show(
        "verify for user-43",
        &api.verify(&token, "user-43", clock.now()),
    );
    println!(
        "   app: needs refresh now? {}; in 290 s? {}",
        needs_refresh(&token, clock.now(), 30),
        needs_refresh(&token, clock.now() + 290, 30)
    );
    passwords()?;
    one_time_codes(&store, &clock)?;
    limits(&store, &clock)?;
    signed_requests(&clock)?;
    token_manager(&clock)?;
    println!("\ndone.");
    Ok(())
}

fn passwords() -> Result<()> {
    step(
        9,
        "Passwords: every broken rule at once, then argon2id (OWASP parameters)",
    );
    let policy = PasswordPolicy::default().with_blocklist(["Password1"]);
    let codes: Vec<&str> = policy.check("hunter2").iter().map(|v| v.code).collect();
    println!("   \"hunter2\" breaks: {}", codes.join(", "));
    let hasher = PasswordHasher::default();
    let stored = hasher.hash("Correct7horse")?;
    println!("   stored: {}…", &stored[..40]);
    println!(
        "   verify the right password: {}, a wrong one: {}",
        hasher.verify("Correct7horse", &stored)?,
        hasher.verify("Correct7hors", &stored)?
    );
    Ok(())
}

fn one_time_codes(store: &Arc<MemoryStore>, clock: &Arc<ManualClock>) -> Result<()> {
    step(
        10,
        "An authenticator app: enrollment by QR, a code, the same code replayed",
    );
    let totp = TotpManager::with_clock(
        store.clone(),
        TotpManagerConfig {
            issuer: Some("ACME".into()),
            ..Default::default()
        },
        clock.clone(),
    )?;
    let enrollment = totp.begin_enrollment("alice@example.com")?;
    println!(
        "   {}",
        enrollment.uri_text().split('?').next().unwrap_or("")
    );
    for line in enrollment.qr()?.to_text().lines() {
        println!("   {line}");
    }
    let app = Totp::new(enrollment.secret(), enrollment.uri.options.clone())?;
    let code = app.generate(clock.now());
    let secret = totp.confirm_enrollment("alice@example.com", &code)?;
    clock.advance(30);
    let code = app.generate(clock.now());
    show(
        "sign-in code",
        &totp.verify("alice@example.com", &secret, &code),
    );
    show(
        "the same code again",
        &totp.verify("alice@example.com", &secret, &code),
    );
    Ok(())
}

fn limits(store: &Arc<MemoryStore>, clock: &Arc<ManualClock>) -> Result<()> {
    step(
        11,
        "Rate limits: 5 logins a minute per address, the headers of a refusal",
    );
    let limiter = RateLimiter::with_clock(store.clone(), clock.clone());
    limiter.set_policy("login", Policy::parse("5/minute")?)?;
    for _ in 0..5 {
        limiter.check("login", "ip:203.0.113.7", 1)?;
    }
    let refused = limiter.check("login", "ip:203.0.113.7", 1)?;
    println!("   6th login allowed? {}", refused.allowed);
    for (name, value) in refused.headers() {
        println!("   {name}: {value}");
    }

    step(12, "The client behind a proxy, and an allowlist");
    let resolver = ClientIpResolver::new(&["10.0.0.0/8"], ForwardedHeader::XForwardedFor)?;
    let client = resolver.resolve("10.0.0.5".parse().expect("ip"), &["6.6.6.6, 203.0.113.7"])?;
    println!(
        "   peer 10.0.0.5 (our proxy), X-Forwarded-For \"6.6.6.6, 203.0.113.7\": client {client}"
    );
    let admin = Allowlist::new(&["192.0.2.0/24"])?;
    show("admin panel for that client", &admin.check(client));
    show(
        "an allowlist entry with host bits set",
        &Allowlist::new(&["10.1.2.3/8"]),
    );
    Ok(())
}

fn signed_requests(clock: &Arc<ManualClock>) -> Result<()> {
    step(
        13,
        "A signed request (RFC 9421, hmac-sha256), replayed, then tampered with",
    );
    let key = Arc::new(SignatureKey::hmac_sha256(&[7u8; 32])?);
    let signer = RequestSigner::with_clock(
        "client-1",
        key.clone(),
        SignerConfig::default(),
        clock.clone(),
    )?;
    let keys = Arc::new(KeyMap::new());
    keys.insert_arc("client-1", key);
    let verifier = RequestVerifier::with_clock(
        keys,
        Arc::new(MemoryStore::new()),
        VerifyPolicy::default(),
        clock.clone(),
    );
    let body = br#"{"item":"book"}"#;
    let url = "https://api.example.com/v1/orders";
    let signed = signer.sign(&Request::new("POST", url)?.body(body))?;
    let digest = signed.content_digest.clone().unwrap_or_default();
    let request = |body: &'static [u8]| -> Result<Request<'_>> {
        Ok(Request::new("POST", url)?
            .header("content-digest", &digest)
            .header("signature-input", &signed.signature_input)
            .header("signature", &signed.signature)
            .body(body))
    };
    println!("   Signature-Input: {}", signed.signature_input);
    show("verify", &verifier.verify(&request(body)?));
    show("the same request again", &verifier.verify(&request(body)?));
    show(
        "a changed body",
        &verifier.verify(&request(br#"{"item":"car"}"#)?),
    );
    Ok(())
}

/// The app's side of the token manager: storage in memory, a backend that counts refreshes.
struct DemoApp {
    saved: std::sync::Mutex<Option<String>>,
    refreshes: std::sync::atomic::AtomicU32,
}

impl TokenStorage for DemoApp {
    fn read(&self) -> std::result::Result<Option<String>, StorageError> {
        Ok(self.saved.lock().expect("lock").clone())
    }
    fn write(&self, value: &str) -> std::result::Result<(), StorageError> {
        *self.saved.lock().expect("lock") = Some(value.into());
        Ok(())
    }
    fn delete(&self) -> std::result::Result<(), StorageError> {
        *self.saved.lock().expect("lock") = None;
        Ok(())
    }
}

impl TokenFetcher for DemoApp {
    fn fetch(&self, _refresh: Option<&str>) -> std::result::Result<TokenGrant, FetchError> {
        let n = self
            .refreshes
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst)
            + 1;
        thread::sleep(std::time::Duration::from_millis(50)); // the network
        Ok(TokenGrant {
            access_token: format!("access-{}", n + 1),
            refresh_token: Some(format!("refresh-{}", n + 1)),
            expires_in: Some(900),
            server_time: None,
        })
    }
}

fn token_manager(clock: &Arc<ManualClock>) -> Result<()> {
    step(
        14,
        "The mobile token manager: 8 threads ask for a token just after it expired",
    );
    let app = Arc::new(DemoApp {
        saved: std::sync::Mutex::new(None),
        refreshes: std::sync::atomic::AtomicU32::new(0),
    });
    let manager = Arc::new(TokenManager::with_clock(
        app.clone(),
        app.clone(),
        TokenManagerConfig::default(),
        clock.clone(),
    ));
    manager.sign_in(TokenGrant {
        access_token: "access-1".into(),
        refresh_token: Some("refresh-1".into()),
        expires_in: Some(900),
        server_time: Some(clock.now()),
    })?;
    clock.advance(900);
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let m = manager.clone();
            thread::spawn(move || m.access_token())
        })
        .collect();
    let tokens: Vec<String> = handles
        .into_iter()
        .map(|h| {
            h.join()
                .expect("thread")
                .unwrap_or_else(|e| e.code().into())
        })
        .collect();
    println!(
        "   tokens: {}; refreshes made: {}",
        tokens.join(", "),
        app.refreshes.load(std::sync::atomic::Ordering::SeqCst)
    );
    Ok(())
}
