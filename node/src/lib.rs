//! The Node binding of authgate-core (napi-rs). Each module mirrors a module of the core
//! and only converts arguments, calls the core and maps errors; `index.js` adds the
//! `AuthError` classes and the framework middleware.
// napi-derive leaves its export registration out of the test build, so there everything
// exported looks unused.
#![cfg_attr(test, allow(dead_code))]

mod allowlist;
mod apikey;
mod client_token;
mod convert;
mod errors;
mod fast_check;
mod fast_gate;
mod gate;
mod http;
mod jwt;
mod offload;
mod otp;
mod password;
mod pop;
mod ratelimit;
mod session;
mod signature;

use napi_derive::napi;

/// The core's defaults, so JavaScript never repeats them.
#[napi(object)]
pub struct Defaults {
    pub leeway_secs: u32,
    pub max_token_bytes: u32,
    pub access_ttl_secs: u32,
    pub idle_timeout_secs: u32,
    pub absolute_lifetime_secs: u32,
    pub client_token_ttl_secs: u32,
    pub access_token_type: String,
    /// The name of the policy a `RateLimiter` starts with (1000 per minute).
    pub rate_limit_policy: String,
    /// The policy the web gates meter each client address with before any credential
    /// check (`per_client`, 600 per minute in a new `RateLimiter`).
    pub client_rate_policy: String,
}

#[napi]
pub fn defaults() -> Defaults {
    use authgate_core::{client_token as ct, jwt, session};
    Defaults {
        leeway_secs: jwt::DEFAULT_LEEWAY_SECS as u32,
        max_token_bytes: jwt::DEFAULT_MAX_TOKEN_BYTES as u32,
        access_ttl_secs: session::DEFAULT_ACCESS_TTL_SECS as u32,
        idle_timeout_secs: session::DEFAULT_IDLE_TIMEOUT_SECS as u32,
        absolute_lifetime_secs: session::DEFAULT_ABSOLUTE_LIFETIME_SECS as u32,
        client_token_ttl_secs: ct::DEFAULT_CLIENT_TOKEN_TTL_SECS as u32,
        access_token_type: jwt::ACCESS_TOKEN_TYPE.into(),
        rate_limit_policy: authgate_core::ratelimit::DEFAULT_POLICY.into(),
        client_rate_policy: authgate_core::ratelimit::CLIENT_POLICY.into(),
    }
}
