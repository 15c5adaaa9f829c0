//! The `gate` area of the conformance vectors (`tests/vectors/http/gate.json`): requests
//! through a configured gate and the exact HTTP answer.

use std::sync::Arc;

use authgate_core::allowlist::{Allowlist, ClientIpResolver, ForwardedHeader};
use authgate_core::apikey::{ApiKeyManager, ApiKeyOptions};
use authgate_core::clock::ManualClock;
use authgate_core::gate::{Gate, GateConfig, GateOutcome, GateRequest, TokenVerifier};
use authgate_core::jwt::{Algorithm, Key, KeySet, Validation};
use authgate_core::ratelimit::{Policy, RateLimiter};
use authgate_core::store::{MemoryStore, Store};
use serde_json::Value;

use super::{s, strings, u, Outcome};

/// A gate built from a vector's gate spec, and the API key created for it.
pub fn gate_from_spec(spec: &Value, store: Arc<dyn Store>) -> Result<(Gate, String), String> {
    let e = |e: authgate_core::Error| e.to_string();
    let mut config = GateConfig {
        realm: spec["realm"].as_str().map(str::to_string),
        ..GateConfig::default()
    };
    let proxies = strings(spec.get("trusted_proxies"));
    if !proxies.is_empty() {
        config.client_ip = Some(Arc::new(
            ClientIpResolver::new(&proxies, ForwardedHeader::XForwardedFor).map_err(e)?,
        ));
    }
    if let Some(list) = spec.get("allowlist") {
        config.allowlist = Some(Arc::new(Allowlist::new(&strings(Some(list))).map_err(e)?));
    }
    if let Some(t) = spec.get("tokens") {
        let key = Key::hmac(None, Algorithm::HS256, s(t, "hs256_secret").as_bytes()).map_err(e)?;
        let validation = Validation {
            issuers: vec![s(t, "issuer").to_string()],
            audiences: t
                .get("audience")
                .and_then(Value::as_str)
                .map(|a| vec![a.to_string()])
                .unwrap_or_default(),
            accept_any_audience: t["accept_any_audience"].as_bool().unwrap_or(false),
            ..Validation::default()
        };
        config.accept_id_tokens = t["accept_id_tokens"].as_bool().unwrap_or(false);
        config.tokens = Some(TokenVerifier::Keys {
            keys: Arc::new(KeySet::single(key)),
            validation,
        });
    }
    config.scopes = strings(spec.get("scopes"));
    // Every runner makes the key, so cases can send one to gates that do not read keys.
    let manager = ApiKeyManager::new(store.clone());
    let (api_key, _) = manager
        .create(&ApiKeyOptions {
            scopes: vec!["read".to_string()],
            ..ApiKeyOptions::default()
        })
        .map_err(e)?;
    if let Some(a) = spec.get("api_keys") {
        config.api_keys = Some(Arc::new(manager));
        config.api_key_in_authorization = a["in_authorization"].as_bool().unwrap_or(false);
    }
    if let Some(l) = spec.get("limiter") {
        let clock = Arc::new(ManualClock::new(u(l, "now").unwrap_or(1_700_000_000)));
        let limiter = RateLimiter::with_clock(store, clock);
        for (name, text) in l["policies"].as_object().into_iter().flatten() {
            let policy = Policy::parse(text.as_str().unwrap_or_default()).map_err(e)?;
            limiter.set_policy(name, policy).map_err(e)?;
        }
        config.limiter = Some(Arc::new(limiter));
    }
    Ok((Gate::new(config).map_err(e)?, api_key))
}

/// `{api_key}` and `{api_key_typo}` replaced.
pub fn fill(text: &str, api_key: &str) -> String {
    let mut typo = api_key.to_string();
    if let Some(last) = typo.pop() {
        typo.push(if last == 'a' { 'b' } else { 'a' });
    }
    text.replace("{api_key_typo}", &typo)
        .replace("{api_key}", api_key)
}

pub fn run_gate(case: &Value, gates: &Value) -> Outcome {
    let store: Arc<dyn Store> = Arc::new(MemoryStore::new());
    let (gate, api_key) = gate_from_spec(&gates[s(case, "gate")], store)?;
    for (i, step) in case["steps"].as_array().ok_or("steps")?.iter().enumerate() {
        let r = &step["request"];
        let pairs: Vec<(String, String)> = r["headers"]
            .as_array()
            .ok_or("headers")?
            .iter()
            .map(|h| {
                let name = h[0].as_str().unwrap_or_default().to_string();
                (name, fill(h[1].as_str().unwrap_or_default(), &api_key))
            })
            .collect();
        let headers: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_str()))
            .collect();
        let url = format!("http://localhost{}", s(r, "path"));
        let request = GateRequest {
            method: s(r, "method"),
            url: &url,
            peer: Some("127.0.0.1"),
            headers: &headers,
            client_certificate: None,
        };
        let want = &step["expect"];
        let (status, got_headers, body) = match gate.check(&request, None) {
            GateOutcome::Admitted(a) => (200, a.headers, None),
            GateOutcome::Refused(r) => {
                (r.response.status, r.response.headers, Some(r.response.body))
            }
        };
        let at = format!("step {}", i + 1);
        if u(want, "status") != Some(u64::from(status)) {
            return Err(format!(
                "{at}: status {status}, want {} (body {body:?})",
                want["status"]
            ));
        }
        for (name, value) in want["headers"].as_object().into_iter().flatten() {
            let got: Vec<&String> = got_headers
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .collect();
            if got != [value.as_str().unwrap_or_default()] {
                return Err(format!("{at}: header {name} is {got:?}, want {value}"));
            }
        }
        for name in strings(want.get("absent")) {
            if got_headers.iter().any(|(n, _)| *n == name) {
                return Err(format!("{at}: header {name} must be absent"));
            }
        }
        if let Some(want_body) = want["body"].as_str() {
            if body.as_deref() != Some(want_body) {
                return Err(format!("{at}: body {body:?}, want {want_body:?}"));
            }
        }
    }
    Ok(())
}
