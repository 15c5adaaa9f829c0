//! `make demo`: the token core end to end, printing what happens at each step.

use std::sync::Arc;

use authgate_core::apikey::{ApiKeyManager, ApiKeyOptions, PREFIX_SERVER};
use authgate_core::client_token::{needs_refresh, ClientTokens};
use authgate_core::clock::{Clock, ManualClock};
use authgate_core::jwt::{Algorithm, Key, KeySet, KeyStatus};
use authgate_core::session::{DeviceInfo, SessionConfig, SessionManager};
use authgate_core::store::MemoryStore;
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
    println!("authgate demo: sessions, key rotation, API keys and client tokens");
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
    let (server_key, _) = api_keys.create(&ApiKeyOptions {
        prefix: PREFIX_SERVER.into(),
        ..Default::default()
    })?;
    let minted = ClientTokens::new(&server_key)?;
    let token = minted.mint("user-42", 300, clock.now())?;
    show(
        "verify for user-42",
        &minted.verify(&token, "user-42", clock.now()),
    );
    show(
        "verify for user-43",
        &minted.verify(&token, "user-43", clock.now()),
    );
    println!(
        "   app: needs refresh now? {}; in 290 s? {}",
        needs_refresh(&token, clock.now(), 30),
        needs_refresh(&token, clock.now() + 290, 30)
    );
    println!("\ndone.");
    Ok(())
}
