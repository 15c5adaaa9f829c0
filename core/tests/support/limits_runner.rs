//! The `ratelimit`, `allowlist` and `password` areas of the conformance vectors.

use std::sync::Arc;

use authgate_core::allowlist::{parse_network, Allowlist, ClientIpResolver, ForwardedHeader};
use authgate_core::clock::ManualClock;
use authgate_core::password::{PasswordHasher, PasswordPolicy, PasswordRules};
use authgate_core::ratelimit::{cost_from_number, Policy, RateLimiter, DEFAULT_POLICY};
use serde_json::{json, Value};

use super::{expect, s, same, strings, u, Outcome};

fn policy_of(v: &Value) -> authgate_core::Result<Policy> {
    let p = Policy::new(u(v, "limit").unwrap_or(0), u(v, "period_ms").unwrap_or(0))?;
    match u(v, "burst") {
        Some(b) => p.with_burst(b),
        None => Ok(p),
    }
}

/// Checks the fields `want` names; a `null` `retry_after_ms` must be absent.
fn decision_matches(d: &authgate_core::ratelimit::RateDecision, want: &Value) -> Outcome {
    let got = json!({
        "allowed": d.allowed,
        "outcome": d.outcome.name(),
        "remaining": d.remaining,
        "reset_after_ms": d.reset_after_ms,
        "retry_after_ms": d.retry_after_ms,
    });
    for key in [
        "allowed",
        "outcome",
        "remaining",
        "reset_after_ms",
        "retry_after_ms",
    ] {
        if let Some(w) = want.get(key) {
            same(key, &got[key], w)?;
        }
    }
    if let Some(headers) = want.get("headers").and_then(Value::as_object) {
        let all = d.headers();
        for (name, value) in headers {
            let got = all.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            same(name, &got.into(), value)?;
        }
    }
    Ok(())
}

pub fn run_ratelimit(case: &Value) -> Outcome {
    match s(case, "op") {
        "policy" => expect(case, policy_of(&case["policy"]), |_, _| Ok(())),
        "scenario" => {
            let clock = Arc::new(ManualClock::new(0));
            clock.advance_millis(u(case, "start_ms").expect("start_ms"));
            let limiter = RateLimiter::with_clock(crate::stores::store(), clock.clone());
            for (name, p) in case["policies"].as_object().into_iter().flatten() {
                limiter
                    .set_policy(name, policy_of(p).expect("policy"))
                    .expect("set");
            }
            for o in case["overrides"].as_array().into_iter().flatten() {
                limiter
                    .set_override(s(o, "policy"), s(o, "key"), policy_of(o).expect("policy"))
                    .expect("override");
            }
            for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
                let policy = step
                    .get("policy")
                    .and_then(Value::as_str)
                    .unwrap_or(DEFAULT_POLICY);
                // A cost is any JSON number, read as the bindings read theirs.
                let cost = step
                    .get("cost")
                    .and_then(Value::as_f64)
                    .map_or(Ok(1), cost_from_number);
                let got = match s(step, "do") {
                    "check" => expect(
                        step,
                        cost.and_then(|c| limiter.check(policy, s(step, "key"), c)),
                        |d, w| decision_matches(&d, w),
                    ),
                    "set_policy" => expect(
                        step,
                        policy_of(&step["policy"])
                            .and_then(|p| limiter.set_policy(s(step, "name"), p)),
                        |(), _| Ok(()),
                    ),
                    "peek" => expect(step, limiter.peek(policy, s(step, "key")), |d, w| {
                        decision_matches(&d, w)
                    }),
                    "enforce" => {
                        let r = cost
                            .and_then(|c| limiter.check(policy, s(step, "key"), c))
                            .and_then(|d| d.into_result());
                        let retry = r.as_ref().err().and_then(|e| e.retry_after());
                        expect(step, r, |_, _| Ok(())).and_then(|()| {
                            // `null` means: no retry_after at all.
                            match step["expect"].get("retry_after") {
                                Some(w) => same("retry_after", &retry.into(), w),
                                None => Ok(()),
                            }
                        })
                    }
                    "advance_ms" => {
                        clock.advance_millis(u(step, "ms").expect("ms"));
                        Ok(())
                    }
                    other => Err(format!("unknown step `{other}`")),
                };
                got.map_err(|m| format!("step {i}: {m}"))?;
            }
            Ok(())
        }
        other => Err(format!("unknown ratelimit op `{other}`")),
    }
}

fn allow_any(case: &Value) -> bool {
    case.get("allow_any")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

pub fn run_allowlist(case: &Value) -> Outcome {
    match s(case, "op") {
        "parse_network" => expect(case, parse_network(s(case, "text")), |n, w| {
            same("network", &n.to_string().into(), &w["network"])
        }),
        "contains" => expect(
            case,
            Allowlist::new_with(&strings(case.get("entries")), allow_any(case))
                .and_then(|l| l.contains_str(s(case, "ip"))),
            |r, w| same("result", &r.into(), &w["result"]),
        ),
        "check" => expect(
            case,
            Allowlist::new_with(&strings(case.get("entries")), allow_any(case)).and_then(|l| {
                let ip = authgate_core::allowlist::parse_ip(s(case, "ip"))?;
                l.check(ip)
            }),
            |(), _| Ok(()),
        ),
        "client_ip" => {
            let header = match s(case, "header") {
                "forwarded" => ForwardedHeader::Forwarded,
                _ => ForwardedHeader::XForwardedFor,
            };
            let values = strings(case.get("values"));
            let values: Vec<&str> = values.iter().map(String::as_str).collect();
            expect(
                case,
                ClientIpResolver::new(&strings(case.get("trusted")), header).and_then(|r| {
                    let peer = authgate_core::allowlist::parse_ip(s(case, "peer"))?;
                    r.resolve(peer, &values)
                }),
                |ip, w| same("ip", &ip.to_string().into(), &w["ip"]),
            )
        }
        other => Err(format!("unknown allowlist op `{other}`")),
    }
}

fn password_policy(case: &Value) -> PasswordPolicy {
    let base = match &case["policy"] {
        Value::String(name) if name == "nist" => PasswordPolicy::nist(),
        Value::Object(custom) => {
            let flag = |k: &str| custom.get(k).and_then(Value::as_bool);
            let len = |k: &str| u(&case["policy"], k).map(|n| n as usize);
            PasswordPolicy::from(PasswordRules {
                min_length: len("min_length"),
                max_length: len("max_length"),
                require_uppercase: flag("require_uppercase"),
                require_lowercase: flag("require_lowercase"),
                require_digit: flag("require_digit"),
                require_symbol: flag("require_symbol"),
                common_passwords: flag("common_passwords"),
                blocklist: Vec::new(),
            })
        }
        _ => PasswordPolicy::default(),
    };
    base.with_blocklist(strings(case.get("blocklist")))
}

fn context(case: &Value) -> Vec<String> {
    strings(case.get("context"))
}

pub fn run_password(case: &Value) -> Outcome {
    let hasher = PasswordHasher::default();
    match s(case, "op") {
        "policy_check" => expect(
            case,
            password_policy(case).check_with_context(s(case, "password"), &context(case)),
            |got, want| {
                let got: Vec<Value> = got.iter().map(|v| v.code.into()).collect();
                same("violations", &Value::Array(got), &want["violations"])
            },
        ),
        "enforce" => expect(
            case,
            password_policy(case).enforce_with_context(s(case, "password"), &context(case)),
            |(), _| Ok(()),
        ),
        "verify" => expect(
            case,
            hasher.verify(s(case, "password"), s(case, "hash")),
            |r, w| same("result", &r.into(), &w["result"]),
        ),
        "needs_rehash" => expect(case, hasher.needs_rehash(s(case, "hash")), |r, w| {
            same("result", &r.into(), &w["result"])
        }),
        other => Err(format!("unknown password op `{other}`")),
    }
}
