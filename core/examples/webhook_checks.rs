//! A fixed amount of webhook verification for instruction counting (`valgrind
//! --tool=callgrind`): `webhook_checks N` verifies the Standard Webhooks example N times with
//! one trusted key (no replay store), `webhook_checks N forged` verifies N forged requests
//! of 16 entries against two keys. Instruction counts are repeatable where wall times are not.

use std::sync::Arc;

use authgate_core::clock::ManualClock;
use authgate_core::webhook::{WebhookKey, WebhookVerifier};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const TS: u64 = 1614265330;
const PAYLOAD: &[u8] = br#"{"test": 2432232314}"#;
const SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let forged = args.next().as_deref() == Some("forged");
    let mut keys = vec![WebhookKey::parse(SECRET).unwrap()];
    if forged {
        keys.push(WebhookKey::parse("whsec_YW5vdGhlci1lbmRwb2ludC1zZWNyZXQtMzItYnl0ZXM=").unwrap());
    }
    let verifier = WebhookVerifier::with_clock(keys, None, Arc::new(ManualClock::new(TS))).unwrap();
    let fake = (0..16)
        .map(|i| format!("v1,{}", "A".repeat(42) + &format!("{:x}=", i % 16)))
        .collect::<Vec<_>>()
        .join(" ");
    let signature = if forged { fake.as_str() } else { SIG };
    let mut ok = 0;
    for _ in 0..n {
        ok += usize::from(
            verifier
                .verify(ID, &TS.to_string(), signature, PAYLOAD)
                .is_ok(),
        );
    }
    println!("{n} verified, {ok} accepted");
}
