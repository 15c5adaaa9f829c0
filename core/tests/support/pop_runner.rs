//! Runs the `pop` and `remote_jwks` vector areas (see tests/vectors/README.md).

use std::sync::Arc;
use std::time::Duration;

use authgate_core::clock::{Clock, ManualClock};
use authgate_core::gate::{Gate, GateConfig, TokenVerifier};
use authgate_core::jwt::{Algorithm, Key, KeySet, Validation};
use authgate_core::pop::{
    certificate_thumbprint, check_certificate_binding_of, jwk_thumbprint, DpopPolicy, DpopRequest,
    DpopVerifier,
};
use authgate_core::remote_jwks::{RemoteJwks, RemoteJwksOptions};
use authgate_core::Result;
use authgate_test_https::HttpsServer;
use base64::Engine as _;
use serde_json::{json, Map, Value};

use super::{expect, s, same, strings, u, validation, Outcome};

fn object(v: &Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn certificate(case: &Value) -> Vec<u8> {
    match case.get("certificate_der_b64").and_then(Value::as_str) {
        Some(b64) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64 DER"),
        None => s(case, "certificate").as_bytes().to_vec(),
    }
}

fn policy(case: &Value) -> DpopPolicy {
    let mut policy = DpopPolicy::default();
    let Some(p) = case.get("policy") else {
        return policy;
    };
    if let Some(x) = u(p, "max_age") {
        policy.max_age = x;
    }
    if let Some(x) = u(p, "leeway") {
        policy.leeway = x;
    }
    policy.nonce = p.get("nonce").and_then(Value::as_str).map(str::to_owned);
    if p.get("algorithms").is_some() {
        policy.algorithms = strings(p.get("algorithms"))
            .iter()
            .map(|a| a.parse::<Algorithm>().expect("an algorithm"))
            .collect();
    }
    policy
}

pub fn run_pop(case: &Value) -> Outcome {
    match s(case, "op") {
        "jwk_thumbprint" => expect(case, jwk_thumbprint(&object(&case["jwk"])), |t, e| {
            same("jkt", &json!(t), &e["jkt"])
        }),
        "certificate_thumbprint" => {
            expect(case, certificate_thumbprint(&certificate(case)), |t, e| {
                same("x5t", &json!(t), &e["x5t"])
            })
        }
        "certificate_binding" => expect(
            case,
            check_certificate_binding_of(&object(&case["claims"]), &certificate(case)),
            |_, _| Ok(()),
        ),
        "dpop_verify" => {
            let verifier = DpopVerifier::with_clock(
                crate::stores::store(),
                policy(case),
                Arc::new(ManualClock::new(u(case, "now").expect("now"))),
            );
            for (i, r) in case["requests"]
                .as_array()
                .expect("requests")
                .iter()
                .enumerate()
            {
                let claims = r.get("access_claims").map(object);
                let got = verifier.verify_request(&DpopRequest {
                    proof: s(r, "proof"),
                    method: s(r, "method"),
                    uri: s(r, "uri"),
                    access_token: r.get("access_token").and_then(Value::as_str),
                    access_claims: claims.as_ref(),
                    nonce: r.get("nonce").and_then(Value::as_str),
                });
                expect(r, got, |p, e| {
                    same("jkt", &json!(p.jkt), &e["jkt"])?;
                    same("jti", &json!(p.jti), &e["jti"])?;
                    same("iat", &json!(p.iat), &e["iat"])
                })
                .map_err(|m| format!("request {i}: {m}"))?;
            }
            Ok(())
        }
        "gate_dpop_nonce" => {
            let dpop = DpopVerifier::new(
                crate::stores::store(),
                DpopPolicy {
                    nonce: Some(s(case, "nonce").to_owned()),
                    ..DpopPolicy::default()
                },
            );
            let key = Key::hmac(
                None,
                Algorithm::HS256,
                b"gate-nonce-vector-secret-0123456789",
            )
            .expect("a key");
            let gate = Gate::new(GateConfig {
                tokens: Some(TokenVerifier::Keys {
                    keys: Arc::new(KeySet::single(key)),
                    validation: Validation::default(),
                }),
                dpop: Some(Arc::new(dpop)),
                ..GateConfig::default()
            });
            expect(case, gate, |_, _| Ok(()))
        }
        op => Err(format!("unknown pop op `{op}`")),
    }
}

fn options(case: &Value, server: &HttpsServer) -> RemoteJwksOptions {
    let o = &case["options"];
    let defaults = RemoteJwksOptions::default();
    RemoteJwksOptions {
        ttl: u(o, "ttl").unwrap_or(defaults.ttl),
        cooldown: u(o, "cooldown").unwrap_or(defaults.cooldown),
        max_stale: u(o, "max_stale").unwrap_or(defaults.max_stale),
        timeout: u(o, "timeout_ms")
            .map(Duration::from_millis)
            .unwrap_or(defaults.timeout),
        ca_cert_pem: Some(server.ca_pem.clone()),
        ..defaults
    }
}

/// One scenario: a fresh server and client, its steps in order. `tokens` are the file's.
pub fn run_remote_jwks(case: &Value, tokens: &Value) -> Outcome {
    if s(case, "op") != "scenario" {
        return Err(format!("unknown remote_jwks op `{}`", s(case, "op")));
    }
    let server = HttpsServer::start();
    let base = server.url("");
    let start = u(case, "start").expect("start");
    let clock = Arc::new(ManualClock::new(start));
    let client = match case.get("discover").and_then(Value::as_str) {
        Some(path) => RemoteJwks::discover(&server.url(path), options(case, &server)),
        None => RemoteJwks::new(&server.url("/jwks.json"), options(case, &server)),
    }
    .map_err(|e| e.to_string())?
    .with_clock(clock.clone());
    let (validation, _) = validation(case.get("validation"));
    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        let outcome = match s(step, "do") {
            "serve" => {
                let body = s(step, "body").replace("{base}", &base);
                let status = u(step, "status").expect("status") as u16;
                server.set(
                    s(step, "path"),
                    status,
                    u(step, "delay_ms").unwrap_or(0),
                    &body,
                );
                Ok(())
            }
            "advance" => {
                clock.advance(u(step, "seconds").expect("seconds"));
                Ok(())
            }
            "verify" => {
                let token = tokens[s(step, "token")].as_str().expect("a named token");
                let got: Result<_> = client.verify_at(token, &validation, clock.now());
                expect(step, got, |claims, e| {
                    let claims: Value = serde_json::from_str(claims.json()).unwrap();
                    for (name, want) in e.as_object().expect("expected claims") {
                        same(name, &claims[name], want)?;
                    }
                    Ok(())
                })
            }
            "refresh" => expect(step, client.refresh(), |_, _| Ok(())),
            "hits" => same(
                "hits",
                &json!(server.hits(s(step, "path"))),
                &step["expect"],
            ),
            "status" => {
                let st = client.status();
                let e = &step["expect"];
                same("kids", &json!(st.kids), &e["kids"])
                    .and_then(|_| same("stale", &json!(st.stale), &e["stale"]))
                    .and_then(|_| same("fetches", &json!(st.fetches), &e["fetches"]))
                    .and_then(|_| same("failures", &json!(st.failures), &e["failures"]))
                    .and_then(|_| match e.get("last_error") {
                        Some(want) => {
                            same("last_error", &json!(st.last_error.map(|e| e.code())), want)
                        }
                        None => Ok(()),
                    })
            }
            other => Err(format!("unknown step `{other}`")),
        };
        outcome.map_err(|m| format!("step {i} ({}): {m}", s(step, "do")))?;
    }
    Ok(())
}
