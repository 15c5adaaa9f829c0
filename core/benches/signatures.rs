//! RFC 9421 and webhook signatures on a typical API request: POST with a query, 5 covered
//! components plus `content-digest` over a 1 KiB body; verification includes the nonce
//! (replay) check against the in-memory store.

use std::sync::Arc;

use authgate_core::clock::ManualClock;
use authgate_core::signature::{
    KeyMap, Request, RequestSigner, RequestVerifier, SignatureAlgorithm, SignatureKey,
    SignerConfig, VerifyPolicy,
};
use authgate_core::store::MemoryStore;
use authgate_core::webhook::{self, WebhookKey, WebhookVerifier};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

const URL: &str = "https://api.example.com/v1/orders?dry=1";
const NOW: u64 = 1_700_000_000;

/// 1022 bytes of JSON, the same body the Python and Node benchmarks sign.
fn body() -> Vec<u8> {
    format!("{{\"items\":[{}\"end\"]}}", "\"book\",".repeat(145)).into_bytes()
}

fn components() -> Vec<String> {
    ["@method", "@authority", "@path", "@query", "content-type"]
        .map(String::from)
        .to_vec()
}

fn bench_requests(c: &mut Criterion) {
    let body = body();
    for alg in [SignatureAlgorithm::HmacSha256, SignatureAlgorithm::Ed25519] {
        let (key, secret) = SignatureKey::generate(alg).unwrap();
        let clock = Arc::new(ManualClock::new(NOW));
        let config = SignerConfig {
            components: Some(components()),
            ..SignerConfig::default()
        };
        let signer =
            RequestSigner::with_clock("client-1", Arc::new(key), config, clock.clone()).unwrap();
        let keys = KeyMap::new();
        keys.insert(
            "client-1",
            match alg {
                SignatureAlgorithm::HmacSha256 => SignatureKey::hmac_sha256(&secret).unwrap(),
                SignatureAlgorithm::Ed25519 => SignatureKey::ed25519_seed(&secret).unwrap(),
            },
        );
        let verifier = RequestVerifier::with_clock(
            Arc::new(keys),
            Arc::new(MemoryStore::new()),
            VerifyPolicy::default(),
            clock.clone(),
        );
        let request = || {
            Request::new("POST", URL)
                .unwrap()
                .header("content-type", "application/json")
                .body(&body)
        };
        c.bench_function(&format!("signature/{}/sign", alg.name()), |b| {
            b.iter(|| signer.sign(&request()).unwrap())
        });
        let mut n = 0u64;
        c.bench_function(&format!("signature/{}/verify", alg.name()), |b| {
            b.iter_batched(
                || {
                    // Move the clock now and then so remembered nonces expire, as in service.
                    n += 1;
                    if n.is_multiple_of(2000) {
                        clock.advance(1);
                    }
                    signer.sign(&request()).unwrap()
                },
                |h| {
                    let req = request()
                        .header("content-digest", h.content_digest.as_deref().unwrap())
                        .header("signature-input", &h.signature_input)
                        .header("signature", &h.signature);
                    verifier.verify(&req).unwrap()
                },
                BatchSize::SmallInput,
            )
        });
    }
}

fn bench_webhooks(c: &mut Criterion) {
    let payload = body();
    let secret = WebhookKey::generate_secret().unwrap();
    let keys = [WebhookKey::parse(&secret).unwrap()];
    c.bench_function("webhook/v1/sign", |b| {
        b.iter(|| webhook::sign(&keys, "msg_1", NOW, &payload).unwrap())
    });
    let sig = webhook::sign(&keys, "msg_1", NOW, &payload).unwrap();
    let verifier = WebhookVerifier::with_clock(
        vec![WebhookKey::parse(&secret).unwrap()],
        None,
        Arc::new(ManualClock::new(NOW)),
    )
    .unwrap();
    c.bench_function("webhook/v1/verify", |b| {
        b.iter(|| {
            verifier
                .verify("msg_1", "1700000000", &sig, &payload)
                .unwrap()
        })
    });
}

criterion_group!(benches, bench_requests, bench_webhooks);
criterion_main!(benches);
