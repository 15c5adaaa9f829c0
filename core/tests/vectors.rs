//! Runs every conformance vector in `tests/vectors/` (the same files every runtime's
//! tests load). An unknown `op` fails, so a new kind of vector can't be skipped silently.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use authgate_core::apikey::{self, ApiKeyManager, ApiKeyOptions};
use authgate_core::client_token::{needs_refresh, ClientTokens};
use authgate_core::clock::ManualClock;
use authgate_core::jwt::{self, Algorithm, Key, KeySet, KeyStatus, Validation};
use authgate_core::session::{DeviceInfo, SessionConfig, SessionManager, TokenPair};
use authgate_core::signature::{
    content_digest, sign_request, verify_content_digest, DigestAlgorithm, KeyMap, Request,
    RequestVerifier, Selection, SignatureKey, SignatureParams, VerifyPolicy,
};
use authgate_core::store::Store;
use authgate_core::util::b64url_encode;
use authgate_core::webhook::{self, WebhookKey, WebhookVerifier};
use authgate_core::Result;
use base64::Engine as _;
use serde_json::{json, Map, Value};

#[path = "support/gate_runner.rs"]
mod gate_runner;
#[path = "support/limits_runner.rs"]
mod limits_runner;
#[path = "support/otp_runner.rs"]
mod otp_runner;
#[path = "support/pop_runner.rs"]
mod pop_runner;
#[path = "support/stores.rs"]
mod stores;
#[path = "support/token_manager_runner.rs"]
mod token_manager_runner;

type Outcome = std::result::Result<(), String>;

fn vectors_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors")
}

fn json_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("vectors dir")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            json_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "json") {
            out.push(p);
        }
    }
}

fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("vector field `{k}` missing"))
}

fn u(v: &Value, k: &str) -> Option<u64> {
    v.get(k).and_then(Value::as_u64)
}

fn strings(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// Compares a result with `expect`: either `{"error": code}` or a success check.
fn expect<T>(case: &Value, got: Result<T>, ok: impl FnOnce(T, &Value) -> Outcome) -> Outcome {
    let exp = &case["expect"];
    match (got, exp.get("error").and_then(Value::as_str)) {
        (Err(e), Some(code)) if e.code() == code => Ok(()),
        (Err(e), Some(code)) => Err(format!("expected error {code}, got {} ({e})", e.code())),
        (Err(e), None) => Err(format!("unexpected error {} ({e})", e.code())),
        (Ok(_), Some(code)) => Err(format!("expected error {code}, got success")),
        (Ok(v), None) => ok(v, exp),
    }
}

fn same(what: &str, got: &Value, want: &Value) -> Outcome {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: got {got}, want {want}"))
    }
}

fn key_from_spec(spec: &Value) -> Result<Key> {
    let alg = spec
        .get("alg")
        .and_then(Value::as_str)
        .map(str::parse::<Algorithm>)
        .transpose()?;
    if let Some(secret) = spec.get("secret_b64") {
        let alg = alg.expect("an HMAC secret spec names its alg");
        return Key::hmac(
            spec.get("kid").and_then(Value::as_str),
            alg,
            &raw_secret(secret),
        );
    }
    if let Some(pem) = spec.get("pem").and_then(Value::as_str) {
        let alg = alg.expect("a PEM key spec names its alg");
        return Key::from_pem(spec.get("kid").and_then(Value::as_str), alg, pem);
    }
    let jwk = spec["jwk"].as_object().cloned().unwrap_or_default();
    Key::from_jwk(&jwk, alg)
}

/// The bytes of a key spec's `secret_b64` (standard base64).
fn raw_secret(value: &Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(value.as_str().expect("secret_b64 is a string"))
        .expect("secret_b64 is base64")
}

/// A raw-secret key spec's algorithm and secret, for the one-shot HMAC functions.
fn raw_hmac(spec: &Value) -> Option<(Algorithm, Vec<u8>)> {
    let secret = raw_secret(spec.get("secret_b64")?);
    Some((spec["alg"].as_str()?.parse().ok()?, secret))
}

fn keyset_from_specs(specs: &Value) -> Result<KeySet> {
    let set = KeySet::new();
    for spec in specs.as_array().into_iter().flatten() {
        let status = match spec.get("status").and_then(Value::as_str) {
            Some("active") => KeyStatus::Active,
            Some("retired") => KeyStatus::Retired,
            _ => KeyStatus::VerifyOnly,
        };
        set.add(key_from_spec(spec)?, status)?;
    }
    Ok(set)
}

/// A `validation` object over the core's defaults; returns it and `now`.
fn validation(v: Option<&Value>) -> (Validation, u64) {
    let mut out = Validation::default();
    let Some(v) = v else {
        return (out, 1_700_000_000);
    };
    if let Some(x) = u(v, "leeway") {
        out.leeway = x;
    }
    if v.get("issuers").is_some() {
        out.issuers = strings(v.get("issuers"));
    }
    if v.get("audiences").is_some() {
        out.audiences = strings(v.get("audiences"));
    }
    out.accept_any_audience = v
        .get("accept_any_audience")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    out.subject = v.get("subject").and_then(Value::as_str).map(str::to_owned);
    if v.get("required_claims").is_some() {
        out.required_claims = strings(v.get("required_claims"));
    }
    out.required_scopes = strings(v.get("required_scopes"));
    out.token_type = v
        .get("token_type")
        .and_then(Value::as_str)
        .map(str::to_owned);
    out.algorithms = strings(v.get("algorithms"))
        .iter()
        .map(|a| a.parse().unwrap())
        .collect();
    if let Some(x) = u(v, "max_token_bytes") {
        out.max_token_bytes = x as usize;
    }
    (out, u(v, "now").unwrap_or(1_700_000_000))
}

fn run_jwt(case: &Value) -> Outcome {
    match s(case, "op") {
        "verify" => {
            let (v, now) = validation(case.get("validation"));
            let got = keyset_from_specs(&case["keys"])
                .and_then(|ks| ks.verify_at(s(case, "token"), &v, now));
            expect(case, got, |c, e| {
                same("claims", &Value::Object(c.to_map()), &e["claims"])
            })
        }
        "verify_jws" => {
            let algs: Vec<Algorithm> = strings(case.get("algorithms"))
                .iter()
                .map(|a| a.parse().unwrap())
                .collect();
            let got = keyset_from_specs(&case["keys"])
                .and_then(|ks| ks.verify_jws(s(case, "token"), &algs));
            expect(case, got, |jws, e| {
                same("header", &Value::Object(jws.header), &e["header"])?;
                same(
                    "payload",
                    &json!(b64url_encode(&jws.payload)),
                    &e["payload_b64"],
                )
            })
        }
        "sign" => {
            let input = s(case, "signing_input").as_bytes();
            let got = key_from_spec(&case["key"]).and_then(|k| k.sign(input));
            expect(case, got, |sig, e| {
                same("signature", &json!(b64url_encode(&sig)), &e["signature"])
            })?;
            // A raw secret: the one-shot function (what Node's Key.hmac signs with) agrees.
            match raw_hmac(&case["key"]) {
                Some((alg, secret)) => {
                    expect(case, jwt::hmac_sign_once(alg, &secret, input), |sig, e| {
                        same(
                            "one-shot signature",
                            &json!(b64url_encode(&sig)),
                            &e["signature"],
                        )
                    })
                }
                None => Ok(()),
            }
        }
        "verify_signature" => {
            let input = s(case, "signing_input").as_bytes();
            let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(s(case, "signature"))
                .map_err(|e| format!("signature: {e}"))?;
            // 130 times with one key: a key's first and later verifications take
            // different routes (Ed25519 builds a table of the key after 128 valid signatures).
            let got =
                key_from_spec(&case["key"]).map(|k| [0; 130].map(|_| k.verify(input, &signature)));
            expect(case, got, |valid, e| {
                valid
                    .iter()
                    .try_for_each(|valid| same("valid", &json!(valid), &e["valid"]))
            })?;
            match raw_hmac(&case["key"]) {
                Some((alg, secret)) => expect(
                    case,
                    jwt::hmac_verify_once(alg, &secret, input, &signature),
                    |valid, e| same("one-shot valid", &json!(valid), &e["valid"]),
                ),
                None => Ok(()),
            }
        }
        "import_key" => expect(case, key_from_spec(&case["key"]), |k, e| {
            same(
                "public_jwk",
                &k.public_jwk().map(Value::Object).unwrap_or(Value::Null),
                &e["public_jwk"],
            )
        }),
        "import_jwks" => {
            let set = KeySet::new();
            let got = set.import_jwks(&case["jwks"].to_string());
            expect(case, got, |kids, e| same("kids", &json!(kids), &e["kids"]))
        }
        op => Err(format!("unknown jwt op `{op}`")),
    }
}

/// Checks that every field of `want` equals the same field of `got`.
fn subset(what: &str, got: &Map<String, Value>, want: &Value) -> Outcome {
    for (k, v) in want.as_object().into_iter().flatten() {
        same(
            &format!("{what}.{k}"),
            got.get(k).unwrap_or(&Value::Null),
            v,
        )?;
    }
    Ok(())
}

fn run_session(case: &Value) -> Outcome {
    let c = &case["config"];
    let defaults = SessionConfig::default();
    let config = SessionConfig {
        issuer: c.get("issuer").and_then(Value::as_str).map(str::to_owned),
        audience: c.get("audience").and_then(Value::as_str).map(str::to_owned),
        access_ttl: u(c, "access_ttl").unwrap_or(defaults.access_ttl),
        idle_timeout: u(c, "idle_timeout").unwrap_or(defaults.idle_timeout),
        absolute_lifetime: u(c, "absolute_lifetime").unwrap_or(defaults.absolute_lifetime),
        max_sessions_per_user: u(c, "max_sessions_per_user")
            .map_or(defaults.max_sessions_per_user, |x| x as usize),
        check_session_on_verify: c
            .get("check_session_on_verify")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        leeway: u(c, "leeway").unwrap_or(defaults.leeway),
        retry_grace: u(c, "retry_grace").unwrap_or(defaults.retry_grace),
        client_id: c
            .get("client_id")
            .and_then(Value::as_str)
            .map_or(defaults.client_id, str::to_owned),
    };
    let store = match u(c, "store_capacity") {
        Some(n) => stores::bounded_store(n as usize),
        None => stores::store(),
    };
    let clock = Arc::new(ManualClock::new(u(case, "start").unwrap_or(1_700_000_000)));
    let keys = Arc::new(keyset_from_specs(&case["keys"]).map_err(|e| e.to_string())?);
    let manager = SessionManager::with_clock(keys, store, config, clock.clone());
    // A case whose configuration must be refused names the error at its top level.
    if let Some(code) = case.get("expect").and_then(|e| e.get("error")) {
        return match manager {
            Err(e) if e.code() == code => Ok(()),
            Err(e) => Err(format!("expected error {code}, got {} ({e})", e.code())),
            Ok(_) => Err(format!("expected error {code}, the manager was made")),
        };
    }
    let manager = manager.map_err(|e| e.to_string())?;
    let mut saved: HashMap<String, TokenPair> = HashMap::new();
    for (i, step) in case["steps"].as_array().into_iter().flatten().enumerate() {
        let pair = |name: &str| {
            saved
                .get(name)
                .cloned()
                .ok_or(format!("no saved pair `{name}`"))
        };
        let result: Outcome = match s(step, "do") {
            "advance" => {
                clock.advance(u(step, "seconds").unwrap_or(0));
                Ok(())
            }
            "login" => {
                let device = DeviceInfo {
                    device_id: s(step, "device").to_string(),
                    name: step
                        .get("device_name")
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                };
                let got = manager.login(
                    s(step, "user"),
                    &device,
                    step.get("scope").and_then(Value::as_str),
                );
                expect(step, got, |r, e| {
                    if let Some(name) = step.get("save").and_then(Value::as_str) {
                        saved.insert(name.to_string(), r.tokens.clone());
                    }
                    match e.get("new_device") {
                        Some(want) => same("new_device", &json!(r.new_device), want),
                        None => Ok(()),
                    }
                })
            }
            "refresh" => {
                let token = pair(s(step, "pair"))?.refresh_token;
                expect(step, manager.refresh(&token), |p, _| {
                    if let Some(name) = step.get("save").and_then(Value::as_str) {
                        saved.insert(name.to_string(), p);
                    }
                    Ok(())
                })
            }
            "refresh_text" => expect(step, manager.refresh(s(step, "token")), |_, _| Ok(())),
            "verify_access" => {
                let token = pair(s(step, "pair"))?.access_token;
                expect(step, manager.verify_access(&token), |c, e| {
                    subset("claims", &c.to_map(), &e["claims"])
                })
            }
            "revoke" => {
                let id = pair(s(step, "pair"))?.session_id;
                expect(step, manager.revoke(&id), |r, e| {
                    same("result", &json!(r), &e["result"])
                })
            }
            "revoke_all" => expect(step, manager.revoke_all(s(step, "user")), |n, e| {
                same("count", &json!(n), &e["count"])
            }),
            "list" => expect(step, manager.list(s(step, "user")), |list, e| {
                let devices: Vec<&str> = list.iter().map(|x| x.device_id.as_str()).collect();
                same("devices", &json!(devices), &e["devices"])
            }),
            op => Err(format!("unknown session step `{op}`")),
        };
        result.map_err(|m| format!("step {i} ({}): {m}", s(step, "do")))?;
    }
    Ok(())
}

fn run_apikey(case: &Value) -> Outcome {
    match s(case, "op") {
        "parse" => expect(case, apikey::parse(s(case, "key")), |p, e| {
            same("prefix", &json!(p.prefix), &e["prefix"])?;
            same("id", &json!(p.id), &e["id"])?;
            same("last_four", &json!(p.last_four), &e["last_four"])
        }),
        "scope_granted" => {
            let got = apikey::scope_granted(&strings(case.get("granted")), s(case, "required"));
            same("result", &json!(got), &case["expect"]["result"])
        }
        "scenario" => run_apikey_scenario(case),
        op => Err(format!("unknown apikey op `{op}`")),
    }
}

/// A scenario's manager: `config` may pin `prefix` and `accept_prefixes`.
fn apikey_manager(
    store: Arc<dyn authgate_core::store::Store>,
    clock: Arc<ManualClock>,
    config: Option<&Value>,
) -> std::result::Result<ApiKeyManager, String> {
    let manager = ApiKeyManager::with_clock(store, clock);
    let Some(c) = config else {
        return Ok(manager);
    };
    let issue = c
        .get("prefix")
        .and_then(Value::as_str)
        .unwrap_or(apikey::PREFIX_LIVE)
        .to_string();
    manager
        .with_prefixes(&issue, &strings(c.get("accept_prefixes")))
        .map_err(|e| e.to_string())
}

fn run_apikey_scenario(case: &Value) -> Outcome {
    let clock = Arc::new(ManualClock::new(u(case, "start").unwrap_or(1_700_000_000)));
    let store = stores::store();
    let manager = apikey_manager(store.clone(), clock.clone(), case.get("manager"))?;
    // `issuer`: another manager on the same store; `elsewhere`: one with its own store.
    let issuer = apikey_manager(store, clock.clone(), case.get("issuer"))?;
    let elsewhere = apikey_manager(
        Arc::new(authgate_core::store::MemoryStore::new()),
        clock.clone(),
        case.get("elsewhere"),
    )?;
    let mut saved: HashMap<String, (String, String)> = HashMap::new(); // name → (key, id)
    for (i, step) in case["steps"].as_array().into_iter().flatten().enumerate() {
        let key = |name: &str| {
            saved
                .get(name)
                .cloned()
                .ok_or(format!("no saved key `{name}`"))
        };
        let unit = |r: Result<()>| expect(step, r, |_, _| Ok(()));
        let result: Outcome = match s(step, "do") {
            "advance" => {
                clock.advance(u(step, "seconds").unwrap_or(0));
                Ok(())
            }
            "create" => {
                let by = match step.get("by").and_then(Value::as_str) {
                    Some("issuer") => &issuer,
                    Some("elsewhere") => &elsewhere,
                    _ => &manager,
                };
                let options = ApiKeyOptions {
                    prefix: step
                        .get("prefix")
                        .and_then(Value::as_str)
                        .unwrap_or(by.prefix())
                        .to_string(),
                    scopes: strings(step.get("scopes")),
                    expires_at: u(step, "expires_in").map(|d| clock_now(&clock) + d),
                    credits: u(step, "credits"),
                    owner: step.get("owner").and_then(Value::as_str).map(str::to_owned),
                    metadata: step
                        .get("metadata")
                        .and_then(Value::as_object)
                        .cloned()
                        .unwrap_or_default(),
                    ..ApiKeyOptions::default()
                };
                expect(step, by.create(&options), |(k, r), e| {
                    saved.insert(s(step, "save").to_string(), (k.clone(), r.id.clone()));
                    match e.get("prefix") {
                        Some(p) => same("prefix", &json!(r.prefix), p),
                        None => Ok(()),
                    }
                })
            }
            "verify" => {
                let (k, _) = key(s(step, "key"))?;
                let scope = step.get("scope").and_then(Value::as_str);
                expect(step, manager.verify(&k, scope), |_, _| Ok(()))
            }
            "verify_text" => expect(step, manager.verify(s(step, "text"), None), |_, _| Ok(())),
            "revoke" => unit(manager.revoke(&key(s(step, "key"))?.1)),
            "disable" => unit(manager.disable(&key(s(step, "key"))?.1)),
            "enable" => unit(manager.enable(&key(s(step, "key"))?.1)),
            "roll" => {
                let (_, id) = key(s(step, "key"))?;
                expect(
                    step,
                    manager.roll(&id, u(step, "grace").unwrap_or(0)),
                    |(k, r), _| {
                        saved.insert(s(step, "save").to_string(), (k, r.id));
                        Ok(())
                    },
                )
            }
            "get" => {
                let (_, id) = key(s(step, "key"))?;
                let record = manager
                    .get(&id)
                    .map_err(|e| e.to_string())?
                    .ok_or("no such record")?;
                let got = json!({
                    "status": record.status.name(),
                    "credits": record.credits,
                    "owner": record.owner,
                    "metadata": record.metadata,
                    "last_used_at": record.last_used_at,
                    "scopes": record.scopes,
                });
                let want = step["expect"].as_object().ok_or("expect fields")?;
                want.iter()
                    .try_for_each(|(name, value)| same(name, &got[name], value))
            }
            "delete" => {
                let (_, id) = key(s(step, "key"))?;
                expect(step, manager.delete(&id), |deleted, e| {
                    same("result", &json!(deleted), &e["result"])
                })
            }
            "import" => {
                let (k, _) = key(s(step, "key"))?;
                let parsed = apikey::parse(&k).map_err(|e| e.to_string())?;
                let imported = apikey::ImportedApiKey {
                    id: parsed.id,
                    prefix: parsed.prefix.clone(),
                    last_four: parsed.last_four,
                    hash: parsed.hash,
                    client_token_key: None,
                };
                let options = ApiKeyOptions {
                    prefix: parsed.prefix,
                    scopes: strings(step.get("scopes")),
                    credits: u(step, "credits"),
                    owner: step.get("owner").and_then(Value::as_str).map(str::to_owned),
                    ..ApiKeyOptions::default()
                };
                expect(step, manager.import(&imported, &options), |_, _| Ok(()))
            }
            op => Err(format!("unknown apikey step `{op}`")),
        };
        result.map_err(|m| format!("step {i} ({}): {m}", s(step, "do")))?;
    }
    Ok(())
}

fn clock_now(clock: &ManualClock) -> u64 {
    use authgate_core::clock::Clock;
    clock.now()
}

fn run_client_token(case: &Value) -> Outcome {
    use authgate_core::client_token::{
        self, ClientTokenVerifier, LegacyClientTokens, LegacyOptions,
    };
    use base64::Engine;
    let token_check = |t: client_token::ClientToken, e: &Value| {
        same("user", &json!(t.user), &e["user"])?;
        same("exp", &json!(t.exp), &e["exp"])
    };
    let now = u(case, "now").unwrap_or(0);
    match s(case, "op") {
        "public_key" => expect(
            case,
            client_token::public_key(s(case, "server_key")),
            |k, e| same("x", &json!(b64url(&k)), &e["x"]),
        ),
        "new" => expect(
            case,
            ClientTokens::new(s(case, "server_key")),
            |_, _| Ok(()),
        ),
        "verify" => {
            let got = ClientTokens::new(s(case, "server_key"))
                .and_then(|ct| ct.verify(s(case, "token"), s(case, "user"), now));
            expect(case, got, token_check)
        }
        "verify_stored" => {
            // The API's store holds the server key by its parts, hash and public key.
            let clock = Arc::new(ManualClock::new(now));
            let manager = Arc::new(
                ApiKeyManager::with_clock(stores::store(), clock)
                    .with_prefixes(apikey::PREFIX_SERVER, &[])
                    .map_err(|e| e.to_string())?,
            );
            let key = s(case, "server_key");
            let parsed = apikey::parse(key).map_err(|e| e.to_string())?;
            let public = case["client_token_key"]
                .as_str()
                .map(|x| {
                    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
                        .decode(x)
                        .map_err(|e| e.to_string())?;
                    <[u8; 32]>::try_from(raw).map_err(|_| "32 bytes".to_string())
                })
                .transpose()?;
            let imported = apikey::ImportedApiKey {
                id: parsed.id.clone(),
                prefix: parsed.prefix.clone(),
                last_four: parsed.last_four,
                hash: sha256_of(key),
                client_token_key: public,
            };
            manager
                .import(&imported, &manager.options())
                .map_err(|e| e.to_string())?;
            match case.get("then").and_then(Value::as_str) {
                Some("revoke") => manager.revoke(&parsed.id).map_err(|e| e.to_string())?,
                Some("disable") => manager.disable(&parsed.id).map_err(|e| e.to_string())?,
                _ => {}
            }
            let verifier = ClientTokenVerifier::new(manager);
            expect(
                case,
                verifier.verify(s(case, "token"), s(case, "user"), now),
                token_check,
            )
        }
        "verify_legacy" => {
            let secret = base64::engine::general_purpose::STANDARD
                .decode(s(case, "secret_b64"))
                .map_err(|e| e.to_string())?;
            let o = &case["options"];
            let options = LegacyOptions {
                allow_missing_exp: o["allow_missing_exp"].as_bool().unwrap_or(false),
                allow_short_secret: o["allow_short_secret"].as_bool().unwrap_or(false),
            };
            let got = LegacyClientTokens::new(&secret, options)
                .and_then(|ct| ct.verify(s(case, "token"), s(case, "user"), now));
            expect(case, got, token_check)
        }
        "needs_refresh" => {
            let got = needs_refresh(
                s(case, "token"),
                u(case, "now").unwrap_or(0),
                u(case, "margin").unwrap_or(0),
            );
            same("result", &json!(got), &case["expect"]["result"])
        }
        op => Err(format!("unknown client_token op `{op}`")),
    }
}

fn b64url(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// SHA-256 with the `sha2` crate (the hash the CLI prints), not through the code under test.
fn sha256_of(text: &str) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(text.as_bytes()).into()
}

fn run_http(case: &Value) -> Outcome {
    use authgate_core::http::{bearer_challenge, bearer_token};
    use authgate_core::{Error, ErrorKind};
    let kind = || ErrorKind::from_code(s(case, "code")).ok_or("unknown code".to_string());
    match s(case, "op") {
        "bearer_token" => expect(case, bearer_token(s(case, "header")), |t, e| {
            same("token", &json!(t), &e["token"])
        }),
        "http_status" => {
            let k = kind()?;
            same("status", &json!(k.http_status()), &case["expect"]["status"])?;
            same(
                "bearer_error",
                &json!(k.bearer_error()),
                &case["expect"]["bearer_error"],
            )
        }
        "challenge" => {
            let error = Error::new(kind()?, s(case, "message").to_string());
            let got = bearer_challenge(&error, case["realm"].as_str());
            same("challenge", &json!(got), &case["expect"]["challenge"])
        }
        "refusal" => {
            let r = authgate_core::http::refusal_for_code(
                s(case, "code"),
                s(case, "message"),
                case["retry_after"].as_u64(),
                &strings(case.get("violations")),
                case["realm"].as_str(),
                None,
            );
            let headers: Vec<[String; 2]> = r
                .headers
                .iter()
                .map(|(n, v)| [n.to_string(), v.clone()])
                .collect();
            same("status", &json!(r.status), &case["expect"]["status"])?;
            same("headers", &json!(headers), &case["expect"]["headers"])?;
            same("body", &json!(r.body), &case["expect"]["body"])
        }
        "request_url" => expect(
            case,
            authgate_core::http::request_url(s(case, "scheme"), s(case, "host"), s(case, "target")),
            |u, e| same("url", &json!(u), &e["url"]),
        ),
        "gate_url" => same(
            "url",
            &json!(authgate_core::http::gate_url(
                s(case, "scheme"),
                case["host"].as_str(),
                s(case, "target")
            )),
            &case["expect"]["url"],
        ),
        op => Err(format!("unknown http op `{op}`")),
    }
}

fn signature_key(spec: &Value) -> Result<SignatureKey> {
    match s(spec, "alg") {
        "hmac-sha256" => {
            let secret = base64::engine::general_purpose::STANDARD
                .decode(s(spec, "secret_b64"))
                .expect("vector secret is base64");
            SignatureKey::hmac_sha256(&secret)
        }
        "ed25519" => SignatureKey::ed25519_pem(s(spec, "pem")),
        other => panic!("unknown key alg `{other}` in a vector"),
    }
}

/// The request a vector describes; headers are borrowed from the vector.
fn vector_request(r: &Value) -> Result<Request<'_>> {
    let headers = r["headers"].as_array().expect("headers").iter();
    let pairs = headers.map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()));
    Request::from_message(s(r, "method"), s(r, "url"), pairs, s(r, "body").as_bytes())
}

fn verify_policy(p: &Value) -> VerifyPolicy {
    let mut policy = VerifyPolicy::default();
    if let Some(c) = p.get("required_components") {
        policy.required_components = strings(Some(c));
    }
    let flag = |k: &str, d: bool| p.get(k).and_then(Value::as_bool).unwrap_or(d);
    policy.require_query_when_present = flag("require_query_when_present", true);
    policy.require_digest_with_body = flag("require_digest_with_body", true);
    policy.require_created = flag("require_created", true);
    policy.require_nonce = flag("require_nonce", true);
    policy.require_keyid = flag("require_keyid", true);
    policy.require_expires = flag("require_expires", false);
    policy.max_skew = u(p, "max_skew").unwrap_or(300);
    policy.max_future_skew = u(p, "max_future_skew").unwrap_or(60);
    policy.tag = p.get("tag").and_then(Value::as_str).map(str::to_owned);
    policy
}

fn run_signature(case: &Value) -> Outcome {
    match s(case, "op") {
        "sign" => {
            let p = &case["params"];
            let params = SignatureParams {
                created: u(p, "created"),
                expires: u(p, "expires"),
                keyid: p.get("keyid").and_then(Value::as_str).map(str::to_owned),
                nonce: p.get("nonce").and_then(Value::as_str).map(str::to_owned),
                alg: p.get("alg").and_then(Value::as_bool).unwrap_or(false),
                tag: p.get("tag").and_then(Value::as_str).map(str::to_owned),
            };
            let digest = case
                .get("digest")
                .and_then(Value::as_str)
                .map(|d| DigestAlgorithm::from_name(d).expect("digest name"));
            let got = signature_key(&case["key"]).and_then(|key| {
                let req = vector_request(&case["request"])?;
                sign_request(
                    &req,
                    &key,
                    s(case, "label"),
                    &strings(case.get("components")),
                    &params,
                    digest,
                )
            });
            expect(case, got, |h, e| {
                same(
                    "signature_input",
                    &json!(h.signature_input),
                    &e["signature_input"],
                )?;
                same("signature", &json!(h.signature), &e["signature"])
            })
        }
        op @ ("verify" | "replay") => {
            let keys = KeyMap::new();
            for (id, spec) in case["keys"].as_object().expect("keys") {
                keys.insert(id, signature_key(spec).map_err(|e| e.to_string())?);
            }
            let verifier = RequestVerifier::with_clock(
                Arc::new(keys),
                stores::store(),
                verify_policy(&case["policy"]),
                Arc::new(ManualClock::new(u(case, "now").expect("now"))),
            );
            let select = &case["select"];
            let selection = Selection {
                label: select.get("label").and_then(Value::as_str),
                keyid: select.get("keyid").and_then(Value::as_str),
            };
            let run = || {
                let req = vector_request(&case["request"])?;
                verifier.verify_selected(&req, selection)
            };
            if op == "replay" {
                run().map_err(|e| format!("first attempt failed: {} ({e})", e.code()))?;
            }
            expect(case, run(), |v, e| {
                same("label", &json!(v.label), &e["label"])?;
                same("keyid", &json!(v.keyid), &e["keyid"])?;
                same("algorithm", &json!(v.algorithm.name()), &e["algorithm"])?;
                same("components", &json!(v.components), &e["components"])
            })
        }
        "content_digest" => {
            let alg = DigestAlgorithm::from_name(s(case, "algorithm")).expect("algorithm");
            let got = content_digest(alg, s(case, "body").as_bytes());
            same("value", &json!(got), &case["expect"]["value"])
        }
        "verify_content_digest" => expect(
            case,
            verify_content_digest(s(case, "field"), s(case, "body").as_bytes()),
            |_, _| Ok(()),
        ),
        op => Err(format!("unknown signature op `{op}`")),
    }
}

fn webhook_keys(case: &Value) -> Result<Vec<WebhookKey>> {
    strings(case.get("keys"))
        .iter()
        .map(|k| WebhookKey::parse(k))
        .collect()
}

fn run_webhook(case: &Value) -> Outcome {
    match s(case, "op") {
        "sign" => {
            let got = webhook_keys(case).and_then(|keys| {
                webhook::sign(
                    &keys,
                    s(case, "id"),
                    u(case, "timestamp").expect("timestamp"),
                    s(case, "payload").as_bytes(),
                )
            });
            expect(case, got, |sig, e| {
                same("signature", &json!(sig), &e["signature"])
            })
        }
        op @ ("verify" | "replay") => {
            let store: Arc<dyn Store> = stores::store();
            // The first attempt at `now`; a replay's second at `replay_now` (default `now`).
            let verifier = |now: u64| -> std::result::Result<WebhookVerifier, String> {
                let mut v = WebhookVerifier::with_clock(
                    webhook_keys(case).map_err(|e| e.to_string())?,
                    Some(store.clone()),
                    Arc::new(ManualClock::new(now)),
                )
                .map_err(|e| e.to_string())?
                .tolerance(u(case, "tolerance").unwrap_or(300));
                if let Some(r) = u(case, "id_retention") {
                    v = v.id_retention(r);
                }
                Ok(v)
            };
            let now = u(case, "now").expect("now");
            let headers: Vec<(&str, &str)> = case["headers"]
                .as_array()
                .expect("headers")
                .iter()
                .map(|h| (h[0].as_str().unwrap(), h[1].as_str().unwrap()))
                .collect();
            let payload = s(case, "payload").as_bytes();
            let mut at = now;
            if op == "replay" {
                verifier(now)?
                    .verify_headers(&headers, payload)
                    .map_err(|e| format!("first attempt failed: {} ({e})", e.code()))?;
                at = u(case, "replay_now").unwrap_or(now);
            }
            expect(
                case,
                verifier(at)?.verify_headers(&headers, payload),
                |w, e| {
                    same("id", &json!(w.id), &e["id"])?;
                    same("timestamp", &json!(w.timestamp), &e["timestamp"])?;
                    same("version", &json!(w.version), &e["version"])
                },
            )
        }
        "parse_key" => expect(case, WebhookKey::parse(s(case, "key")), |k, e| {
            same("version", &json!(k.version()), &e["version"])?;
            same("can_sign", &json!(k.can_sign()), &e["can_sign"])?;
            same("public_key", &json!(k.public_key()), &e["public_key"])
        }),
        op => Err(format!("unknown webhook op `{op}`")),
    }
}

/// Runs the vectors of `areas` (all when `None`); answers how many passed, and failures.
fn run_vectors(areas: Option<&[&str]>) -> (usize, Vec<String>) {
    let mut files = Vec::new();
    json_files(&vectors_dir(), &mut files);
    assert!(!files.is_empty(), "no vector files found");
    let (mut passed, mut failures) = (0, Vec::new());
    for file in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
        let area = s(&doc, "area");
        if areas.is_some_and(|a| !a.contains(&area)) {
            continue;
        }
        for case in doc["cases"].as_array().expect("cases") {
            // A store bounded to a few entries is the in-memory store's business.
            if stores::on_redis_now() && case["config"].get("store_capacity").is_some() {
                continue;
            }
            let outcome = match area {
                "jwt" => run_jwt(case),
                "session" => run_session(case),
                "apikey" => run_apikey(case),
                "client_token" => run_client_token(case),
                "http" => run_http(case),
                "gate" => gate_runner::run_gate(case, &doc["gates"]),
                "signature" => run_signature(case),
                "webhook" => run_webhook(case),
                "otp" => otp_runner::run_otp(case),
                "token_manager" => token_manager_runner::run_token_manager(case),
                "ratelimit" => limits_runner::run_ratelimit(case),
                "allowlist" => limits_runner::run_allowlist(case),
                "password" => limits_runner::run_password(case),
                "pop" => pop_runner::run_pop(case),
                "remote_jwks" => pop_runner::run_remote_jwks(case, &doc["tokens"]),
                other => Err(format!("unknown area `{other}`")),
            };
            match outcome {
                Ok(()) => passed += 1,
                Err(m) => failures.push(format!("{}: {}: {m}", file.display(), s(case, "name"))),
            }
        }
    }
    (passed, failures)
}

fn assert_passed(backend: &str, (passed, failures): (usize, Vec<String>)) {
    println!("{passed} vectors passed on {backend}");
    assert!(
        failures.is_empty(),
        "{} vector(s) failed on {backend}:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_conformance_vector_passes() {
    assert_passed("the in-memory store", run_vectors(None));
}

/// The areas whose vectors keep state in a store, run again with every store on Redis.
const STATEFUL_AREAS: &[&str] = &[
    "pop",
    "session",
    "apikey",
    "signature",
    "webhook",
    "otp",
    "ratelimit",
];

#[test]
fn every_stateful_vector_passes_on_redis() {
    let Some(url) = stores::redis_url() else {
        return;
    };
    let outcome = stores::on_redis(&url, || run_vectors(Some(STATEFUL_AREAS)));
    assert!(outcome.0 > 100, "only {} stateful vectors ran", outcome.0);
    assert_passed("Redis", outcome);
}

/// Every error code the core defines is exercised by at least one vector — except the
/// ones only a failing backend or OS can produce, listed here with the reason.
#[test]
fn every_error_code_has_a_vector() {
    let untestable = [
        (
            "store_unavailable",
            "needs a failing backend: core/tests/redis.rs stops a real Redis",
        ),
        ("internal", "needs the OS random source to fail"),
    ];
    let mut files = Vec::new();
    json_files(&vectors_dir(), &mut files);
    let all: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for kind in authgate_core::ErrorKind::ALL {
        let code = kind.code();
        if untestable.iter().any(|(c, _)| *c == code) {
            continue;
        }
        assert!(
            all.contains(&format!("\"error\": \"{code}\"")),
            "no vector expects error `{code}`"
        );
    }
}
