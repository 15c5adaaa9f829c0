//! The `token_manager` area of the conformance vectors (see tests/vectors/README.md): a
//! scripted storage and fetcher around one manager on a manual clock.

use std::sync::Arc;

use authgate_core::clock::ManualClock;
use authgate_core::token_manager::{
    AuthState, FetchError, StorageError, TokenGrant, TokenManager, TokenManagerConfig,
};
use serde_json::Value;

use super::{expect, s, same, u, Outcome};

#[path = "token_manager_fakes.rs"]
mod fakes;
use fakes::{Recorder, ScriptedFetcher, ScriptedStorage};

pub fn state_name(state: AuthState) -> &'static str {
    match state {
        AuthState::SignedOut => "signed_out",
        AuthState::SignedIn => "signed_in",
        AuthState::Refreshing => "refreshing",
    }
}

fn grant(v: &Value) -> TokenGrant {
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    TokenGrant {
        access_token: text("access_token").unwrap_or_default(),
        refresh_token: text("refresh_token"),
        expires_in: u(v, "expires_in"),
        server_time: u(v, "server_time"),
    }
}

fn answer(v: &Value) -> Result<TokenGrant, FetchError> {
    if let Some(g) = v.get("grant") {
        Ok(grant(g))
    } else if let Some(why) = v.get("invalid_grant") {
        Err(FetchError::InvalidGrant(why.as_str().unwrap_or("").into()))
    } else {
        Err(FetchError::Network(s(v, "network").into()))
    }
}

pub fn run_token_manager(case: &Value) -> Outcome {
    if s(case, "op") != "scenario" {
        return Err(format!("unknown token_manager op `{}`", s(case, "op")));
    }
    let clock = Arc::new(ManualClock::new(u(case, "start").expect("start")));
    let storage = Arc::new(ScriptedStorage::default());
    match case.get("storage") {
        Some(init) if init.get("value").is_some() => {
            *storage.value.lock().unwrap() = Some(init["value"].to_string())
        }
        Some(init) => *storage.value.lock().unwrap() = Some(s(init, "text").to_string()),
        None => {}
    }
    let fetcher = Arc::new(ScriptedFetcher::default());
    let mut config = TokenManagerConfig::default();
    if let Some(margin) = case.get("config").and_then(|c| u(c, "refresh_margin")) {
        config.refresh_margin = margin;
    }
    let manager = TokenManager::with_clock(storage.clone(), fetcher.clone(), config, clock.clone());
    let recorder = Arc::new(Recorder::default());
    manager.add_listener(recorder.clone());

    for (i, step) in case["steps"].as_array().expect("steps").iter().enumerate() {
        let want = &step["expect"];
        let got = match s(step, "do") {
            "sign_in" => expect(step, manager.sign_in(grant(&step["grant"])), |(), _| Ok(())),
            "sign_out" => expect(step, manager.sign_out(), |(), _| Ok(())),
            "restore" => expect(step, manager.restore(), |state, want| {
                same("state", &state_name(state).into(), &want["state"])
            }),
            "access_token" | "refresh" => {
                let token = if s(step, "do") == "refresh" {
                    manager.refresh()
                } else {
                    manager.access_token()
                };
                let sent = fetcher.sent.lock().unwrap().clone();
                expect(step, token, |token, want| {
                    same("token", &token.into(), &want["token"])
                })
                .and_then(|()| match u(want, "fetches") {
                    Some(n) if n as usize != sent.len() => {
                        Err(format!("fetches: got {}, want {n}", sent.len()))
                    }
                    _ => Ok(()),
                })
                .and_then(|()| match want.get("sent_refresh_token") {
                    Some(w) => same("sent_refresh_token", &sent.last().cloned().into(), w),
                    None => Ok(()),
                })
            }
            "respond" => {
                fetcher
                    .answers
                    .lock()
                    .unwrap()
                    .push_back(answer(&step["with"]));
                Ok(())
            }
            "storage_mode" => {
                *storage.failure.lock().unwrap() = match s(step, "mode") {
                    "ok" => None,
                    "keys_lost" => Some(StorageError::KeysLost),
                    _ => Some(StorageError::Failed("scripted failure".into())),
                };
                Ok(())
            }
            "advance" => {
                clock.advance(u(step, "seconds").expect("seconds"));
                Ok(())
            }
            "set_device_time" => {
                clock.set(u(step, "time").expect("time"));
                Ok(())
            }
            "report_server_time" => {
                manager.report_server_time(u(step, "time").expect("time"));
                Ok(())
            }
            "state" => same("state", &state_name(manager.state()).into(), &want["state"]),
            "stored" => {
                let value = storage.value.lock().unwrap().clone();
                let stored: Value = value
                    .map(|t| serde_json::from_str(&t).expect("stored JSON"))
                    .unwrap_or(Value::Null);
                same("present", &(!stored.is_null()).into(), &want["present"]).and_then(|()| {
                    ["access_token", "refresh_token"]
                        .iter()
                        .filter(|k| want.get(**k).is_some())
                        .try_for_each(|k| same(k, &stored[*k], &want[*k]))
                })
            }
            "events" => {
                let seen: Vec<Value> = std::mem::take(&mut *recorder.0.lock().unwrap())
                    .into_iter()
                    .map(|st| state_name(st).into())
                    .collect();
                same("events", &Value::Array(seen), &want["events"])
            }
            other => Err(format!("unknown step `{other}`")),
        };
        got.map_err(|m| format!("step {i} ({}): {m}", s(step, "do")))?;
    }
    Ok(())
}
