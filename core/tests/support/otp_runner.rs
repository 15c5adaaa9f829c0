//! The `otp` area of the conformance vectors (see tests/vectors/README.md).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use authgate_core::clock::{Clock, ManualClock};
use authgate_core::otp::{
    base32_decode, base32_encode, ChallengeConfig, Challenges, CodeDelivery, CodeLockout, Hotp,
    OtpAlgorithm, OtpKind, OtpOptions, OtpUri, RecoveryCodes, RecoveryConfig, ThrottlePolicy, Totp,
    TotpManager, TotpManagerConfig, DEFAULT_MAX_FAILURES,
};
use authgate_core::{Error, ErrorKind, Result};
use serde_json::{json, Value};

use super::{expect, s, same, u, Outcome};

fn hex_decode(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("vector hex"))
        .collect()
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn options(case: &Value) -> Result<OtpOptions> {
    let defaults = OtpOptions::default();
    Ok(OtpOptions {
        algorithm: match case.get("algorithm").and_then(Value::as_str) {
            Some(name) => OtpAlgorithm::parse(name)?,
            None => defaults.algorithm,
        },
        digits: u(case, "digits").map_or(defaults.digits, |d| d as u8),
        period: u(case, "period").unwrap_or(defaults.period),
        allow_short_secret: case
            .get("allow_short_secret")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    })
}

fn secret(case: &Value) -> Result<Vec<u8>> {
    match case.get("secret_base32").and_then(Value::as_str) {
        Some(text) => base32_decode(text),
        None => Ok(hex_decode(s(case, "secret_hex"))),
    }
}

fn totp(case: &Value) -> Result<Totp> {
    Totp::new(&secret(case)?, options(case)?)
}

fn hotp(case: &Value) -> Result<Hotp> {
    Hotp::new(&secret(case)?, options(case)?)
}

pub fn run_otp(case: &Value) -> Outcome {
    match s(case, "op") {
        "hotp" => expect(case, hotp(case), |g, exp| {
            same(
                "code",
                &json!(g.generate(u(case, "counter").unwrap())),
                &exp["code"],
            )
        }),
        "totp" => expect(case, totp(case), |g, exp| {
            let t = u(case, "time").unwrap();
            same("code", &json!(g.generate(t)), &exp["code"])?;
            same("step", &json!(g.step(t)), &exp["step"])
        }),
        "totp_verify" => {
            let got = totp(case).and_then(|g| {
                g.verify(
                    s(case, "code"),
                    u(case, "time").unwrap(),
                    u(case, "window").unwrap_or(1),
                    u(case, "last_step"),
                )
            });
            expect(case, got, |step, exp| {
                same("step", &json!(step), &exp["step"])
            })
        }
        "hotp_verify" => {
            let got = hotp(case).and_then(|g| {
                g.verify(
                    s(case, "code"),
                    u(case, "counter").unwrap(),
                    u(case, "look_ahead").unwrap_or(5),
                )
            });
            expect(case, got, |n, exp| {
                same("next_counter", &json!(n), &exp["next_counter"])
            })
        }
        "base32_encode" => same(
            "text",
            &json!(base32_encode(&hex_decode(s(case, "hex")))),
            &case["expect"]["text"],
        ),
        "base32_decode" => expect(case, base32_decode(s(case, "text")), |b, exp| {
            same("hex", &json!(hex_encode(&b)), &exp["hex"])
        }),
        "uri_build" => {
            let got = options(case).and_then(|o| {
                OtpUri::totp(
                    &hex_decode(s(case, "secret_hex")),
                    s(case, "account"),
                    case.get("issuer").and_then(Value::as_str),
                    o,
                )
            });
            expect(case, got, |uri, exp| {
                same("uri", &json!(uri.to_uri()), &exp["uri"])
            })
        }
        "uri_parse" => {
            let allow = case.get("allow_short_secret").and_then(Value::as_bool) == Some(true);
            expect(case, OtpUri::parse(s(case, "uri"), allow), |p, exp| {
                let mut got = json!({
                    "kind": match p.kind { OtpKind::Totp => "totp", OtpKind::Hotp { .. } => "hotp" },
                    "account": p.account,
                    "issuer": p.issuer,
                    "secret_hex": hex_encode(&p.secret),
                    "algorithm": p.options.algorithm.name(),
                    "digits": p.options.digits,
                    "period": p.options.period,
                });
                if let OtpKind::Hotp { counter } = p.kind {
                    got["counter"] = json!(counter);
                }
                same("parsed", &got, exp)
            })
        }
        "totp_scenario" => run_totp_scenario(case),
        "challenge_scenario" => run_challenge_scenario(case),
        "recovery_scenario" => run_recovery_scenario(case),
        op => Err(format!("unknown otp op `{op}`")),
    }
}

/// Checks a scenario step's result, including `retry_after` on errors.
fn check_step<T>(step: &Value, got: Result<T>, ok: impl FnOnce(T, &Value) -> Outcome) -> Outcome {
    let exp = &step["expect"];
    if let (Err(e), Some(want)) = (&got, u(exp, "retry_after")) {
        if e.retry_after() != Some(want) {
            return Err(format!(
                "retry_after: got {:?}, want {want}",
                e.retry_after()
            ));
        }
    }
    expect(step, got, ok).map_err(|m| format!("step {step}: {m}"))
}

fn throttle(v: &Value) -> ThrottlePolicy {
    let d = ThrottlePolicy::default();
    ThrottlePolicy {
        free_failures: u(v, "free_failures").map_or(d.free_failures, |n| n as u32),
        base_delay: u(v, "base_delay").unwrap_or(d.base_delay),
        max_delay: u(v, "max_delay").unwrap_or(d.max_delay),
        forget_after: u(v, "forget_after").unwrap_or(d.forget_after),
    }
}

fn max_failures(c: &Value) -> u32 {
    u(c, "max_failures").map_or(DEFAULT_MAX_FAILURES, |n| n as u32)
}

/// `failures` (expect `count`) and `unlock` (expect `result`) of the account's lockout.
fn lockout_step(step: &Value, lockout: &CodeLockout, account: &str) -> Outcome {
    match s(step, "do") {
        "failures" => check_step(step, lockout.failures(account), |n, exp| {
            same("count", &json!(n), &exp["count"])
        }),
        _ => check_step(step, lockout.unlock(account), |r, exp| {
            same("result", &json!(r), &exp["result"])
        }),
    }
}

fn run_totp_scenario(case: &Value) -> Outcome {
    let c = &case["config"];
    let clock = Arc::new(ManualClock::new(u(case, "start").unwrap()));
    let config = TotpManagerConfig {
        issuer: c.get("issuer").and_then(Value::as_str).map(str::to_string),
        window: u(c, "window").unwrap_or(1),
        throttle: throttle(&c["throttle"]),
        enrollment_ttl: u(c, "enrollment_ttl").unwrap_or(600),
        max_failures: max_failures(c),
        ..TotpManagerConfig::default()
    };
    let store = crate::stores::store();
    let lockout = CodeLockout::with_clock(store.clone(), clock.clone());
    let manager =
        TotpManager::with_clock(store, config, clock.clone()).map_err(|e| e.to_string())?;
    let (mut pending, mut active): (HashMap<String, Vec<u8>>, HashMap<String, Vec<u8>>) =
        Default::default();
    for step in case["steps"].as_array().unwrap() {
        let account = step.get("account").and_then(Value::as_str).unwrap_or("");
        let secret = pending.get(account).or(active.get(account)).cloned();
        let code = || -> String {
            let gen = secret
                .as_ref()
                .map(|k| Totp::new(k, OtpOptions::default()).unwrap());
            let now_step = clock.now() / 30;
            match (&step["code"], gen) {
                (Value::String(w), Some(g)) if w == "wrong" => {
                    let near: Vec<String> = (now_step - 2..=now_step + 2)
                        .map(|st| g.generate_at_step(st))
                        .collect();
                    (0..)
                        .map(|n| format!("{n:06}"))
                        .find(|c| !near.contains(c))
                        .unwrap()
                }
                (Value::String(literal), _) => literal.clone(),
                (spec, Some(g)) => {
                    g.generate_at_step(now_step.wrapping_add_signed(spec["at"].as_i64().unwrap()))
                }
                (_, None) => "000000".into(),
            }
        };
        match s(step, "do") {
            "begin_enrollment" => check_step(step, manager.begin_enrollment(account), |e, exp| {
                let uri = e.uri_text();
                if !uri.starts_with(s(exp, "uri_starts_with")) {
                    return Err(format!("uri {uri} lacks the expected start"));
                }
                same(
                    "expires_in",
                    &json!(e.expires_at - clock.now()),
                    &exp["expires_in"],
                )?;
                same(
                    "secret_bytes",
                    &json!(e.secret().len()),
                    &exp["secret_bytes"],
                )?;
                pending.insert(account.to_string(), e.secret().to_vec());
                Ok(())
            })?,
            "confirm_enrollment" => check_step(
                step,
                manager.confirm_enrollment(account, &code()),
                |k, _| {
                    pending.remove(account);
                    active.insert(account.to_string(), k);
                    Ok(())
                },
            )?,
            "verify" => {
                let key = active.get(account).cloned().unwrap_or_default();
                check_step(step, manager.verify(account, &key, &code()), |st, exp| {
                    same("step", &json!(st), &exp["step"])
                })?
            }
            "advance" => clock.advance(u(step, "seconds").unwrap()),
            "unlock" | "failures" => lockout_step(step, &lockout, account)?,
            other => return Err(format!("unknown totp_scenario step `{other}`")),
        }
    }
    Ok(())
}

fn run_challenge_scenario(case: &Value) -> Outcome {
    let c = &case["config"];
    let clock = Arc::new(ManualClock::new(u(case, "start").unwrap()));
    let config = ChallengeConfig {
        digits: u(c, "digits").unwrap_or(6) as u8,
        ttl: u(c, "ttl").unwrap_or(300),
        max_attempts: u(c, "max_attempts").unwrap_or(5) as u32,
        resend_cooldown: u(c, "resend_cooldown").unwrap_or(30),
        hash_key: None,
        max_failures: max_failures(c),
    };
    let digits = usize::from(config.digits);
    let store = crate::stores::store();
    let lockout = CodeLockout::with_clock(store.clone(), clock.clone());
    let challenges =
        Challenges::with_clock(store, config, clock.clone()).map_err(|e| e.to_string())?;
    let sent: RefCell<HashMap<String, Vec<String>>> = RefCell::default();
    for step in case["steps"].as_array().unwrap() {
        let subject = step.get("subject").and_then(Value::as_str).unwrap_or("");
        match s(step, "do") {
            "issue" => {
                let fail = step.get("sender").and_then(Value::as_str) == Some("fail");
                let destination = s(step, "destination");
                let sender = |d: &CodeDelivery<'_>| -> Result<()> {
                    assert_eq!(d.destination, destination);
                    assert!(d.code.len() == digits && d.code.bytes().all(|b| b.is_ascii_digit()));
                    if fail {
                        return Err(Error::new(ErrorKind::DeliveryFailed, "gateway down"));
                    }
                    sent.borrow_mut()
                        .entry(d.subject.to_string())
                        .or_default()
                        .push(d.code.to_string());
                    Ok(())
                };
                check_step(
                    step,
                    challenges.issue(subject, destination, &sender),
                    |i, exp| {
                        same(
                            "expires_in",
                            &json!(i.expires_at - clock.now()),
                            &exp["expires_in"],
                        )?;
                        same(
                            "resend_in",
                            &json!(i.resend_after - clock.now()),
                            &exp["resend_in"],
                        )?;
                        same(
                            "attempts_left",
                            &json!(i.attempts_left),
                            &exp["attempts_left"],
                        )
                    },
                )?
            }
            "verify" => {
                let codes = sent.borrow().get(subject).cloned().unwrap_or_default();
                let last = codes.last().cloned().unwrap_or_default();
                let code = match s(step, "code") {
                    "sent" => last,
                    "previous" => codes[codes.len() - 2].clone(),
                    "wrong" => {
                        let mut w = last.into_bytes();
                        let end = w.len() - 1;
                        w[end] = b'0' + (w[end] - b'0' + 1) % 10;
                        String::from_utf8(w).unwrap()
                    }
                    literal => literal.to_string(),
                };
                check_step(step, challenges.verify(subject, &code), |(), _| Ok(()))?
            }
            "advance" => clock.advance(u(step, "seconds").unwrap()),
            "unlock" | "failures" => lockout_step(step, &lockout, subject)?,
            other => return Err(format!("unknown challenge_scenario step `{other}`")),
        }
    }
    Ok(())
}

fn run_recovery_scenario(case: &Value) -> Outcome {
    let c = &case["config"];
    let clock = Arc::new(ManualClock::new(u(case, "start").unwrap()));
    let config = RecoveryConfig {
        count: u(c, "count").unwrap_or(10) as usize,
        hash_key: None,
        throttle: throttle(&c["throttle"]),
        max_failures: max_failures(c),
    };
    let store = crate::stores::store();
    let lockout = CodeLockout::with_clock(store.clone(), clock.clone());
    let codes =
        RecoveryCodes::with_clock(store, config, clock.clone()).map_err(|e| e.to_string())?;
    let mut sets: HashMap<String, Vec<Vec<String>>> = HashMap::new();
    for step in case["steps"].as_array().unwrap() {
        let user = step.get("user").and_then(Value::as_str).unwrap_or("");
        match s(step, "do") {
            "generate" => check_step(step, codes.generate(user), |set, exp| {
                let shape = |c: &String| {
                    c.len() == 11
                        && c.char_indices().all(|(i, ch)| {
                            if i == 5 {
                                ch == '-'
                            } else {
                                "0123456789abcdefghjkmnpqrstvwxyz".contains(ch)
                            }
                        })
                };
                if !set.iter().all(shape) {
                    return Err(format!("malformed recovery codes {set:?}"));
                }
                let mut unique = set.clone();
                unique.sort();
                unique.dedup();
                same("count", &json!(unique.len()), &exp["count"])?;
                sets.entry(user.to_string()).or_default().push(set);
                Ok(())
            })?,
            "verify" => {
                let code = match &step["code"] {
                    Value::String(literal) => literal.clone(),
                    spec => {
                        let set = &sets[user][u(spec, "set").unwrap() as usize];
                        let shown = set[u(spec, "index").unwrap() as usize].clone();
                        match s(spec, "form") {
                            "shown" => shown,
                            "upper_no_hyphen" => shown.replace('-', "").to_uppercase(),
                            "spaces" => format!(" {} ", shown.replace('-', " ")),
                            other => panic!("unknown form {other}"),
                        }
                    }
                };
                check_step(step, codes.verify(user, &code), |n, exp| {
                    same("remaining", &json!(n), &exp["remaining"])
                })?
            }
            "remaining" => check_step(step, codes.remaining(user), |n, exp| {
                same("remaining", &json!(n), &exp["remaining"])
            })?,
            "advance" => clock.advance(u(step, "seconds").unwrap()),
            "unlock" | "failures" => lockout_step(step, &lockout, user)?,
            other => return Err(format!("unknown recovery_scenario step `{other}`")),
        }
    }
    Ok(())
}
