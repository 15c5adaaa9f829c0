//! Rate limits: the limiter, its policies and its decisions (with their HTTP headers).

use std::collections::HashMap;

use authgate_core::ratelimit::{Policy, RateDecision, RateLimiter, DEFAULT_POLICY};
use napi::bindgen_prelude::Either;
use napi_derive::napi;

use crate::convert::seconds;
use crate::errors::{core, Result};
use crate::session::{clock_or_system, store_or_default, JsManualClock, JsMemoryStore};

/// `limit` requests per `periodMs`, with a bucket of `burst` (default `limit`).
#[napi(object)]
pub struct RatePolicy {
    pub limit: f64,
    pub period_ms: f64,
    pub burst: Option<f64>,
}

impl From<Policy> for RatePolicy {
    fn from(p: Policy) -> Self {
        RatePolicy {
            limit: p.limit as f64,
            period_ms: p.period_ms as f64,
            burst: Some(p.burst as f64),
        }
    }
}

/// A policy as an object or as text like `'100/minute'`.
fn policy_arg(policy: Either<String, RatePolicy>) -> Result<Policy> {
    match policy {
        Either::A(text) => core(Policy::parse(&text)),
        Either::B(p) => {
            let base = core(Policy::new(
                seconds(p.limit, "limit")?,
                seconds(p.period_ms, "periodMs")?,
            ))?;
            match p.burst {
                Some(b) => core(base.with_burst(seconds(b, "burst")?)),
                None => Ok(base),
            }
        }
    }
}

#[napi(object)]
pub struct CheckOptions {
    /// The policy's name (default `'default'`: 1000 per minute).
    pub policy: Option<String>,
    /// Requests this one counts for (default 1).
    pub cost: Option<f64>,
}

/// One decision, with the headers to send.
#[napi(object)]
pub struct JsRateDecision {
    pub allowed: bool,
    pub policy: String,
    pub limit: f64,
    pub window: f64,
    pub burst: f64,
    pub remaining: f64,
    pub reset_after_ms: f64,
    pub retry_after_ms: Option<f64>,
    /// Seconds to wait (rounded up) when refused: the `Retry-After` value.
    pub retry_after: Option<f64>,
    /// `RateLimit-Policy`, `RateLimit`, `X-RateLimit-*` and, when refused, `Retry-After`.
    pub headers: HashMap<String, String>,
}

impl From<RateDecision> for JsRateDecision {
    fn from(d: RateDecision) -> Self {
        JsRateDecision {
            headers: d
                .headers()
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect(),
            retry_after: d.retry_after_secs().map(|s| s as f64),
            allowed: d.allowed,
            limit: d.limit as f64,
            window: d.window_secs as f64,
            burst: d.burst as f64,
            remaining: d.remaining as f64,
            reset_after_ms: d.reset_after_ms as f64,
            retry_after_ms: d.retry_after_ms.map(|m| m as f64),
            policy: d.policy,
        }
    }
}

#[napi(js_name = "RateLimiter")]
pub struct JsRateLimiter {
    inner: RateLimiter,
}

fn options(o: Option<CheckOptions>) -> Result<(String, u64)> {
    let o = o.unwrap_or(CheckOptions {
        policy: None,
        cost: None,
    });
    let cost = match o.cost {
        Some(c) => seconds(c, "cost")?,
        None => 1,
    };
    Ok((o.policy.unwrap_or_else(|| DEFAULT_POLICY.into()), cost))
}

#[napi]
impl JsRateLimiter {
    #[napi(constructor, catch_unwind)]
    pub fn new(store: Option<&JsMemoryStore>, clock: Option<&JsManualClock>) -> Self {
        JsRateLimiter {
            inner: RateLimiter::with_clock(store_or_default(store), clock_or_system(clock)),
        }
    }

    #[napi(catch_unwind)]
    pub fn set_policy(&self, name: String, policy: Either<String, RatePolicy>) -> Result<()> {
        let policy = policy_arg(policy)?;
        core(self.inner.set_policy(&name, policy))
    }

    #[napi(catch_unwind)]
    pub fn remove_policy(&self, name: String) -> bool {
        self.inner.remove_policy(&name)
    }

    #[napi(catch_unwind)]
    pub fn policy(&self, name: String) -> Option<RatePolicy> {
        self.inner.policy(&name).map(RatePolicy::from)
    }

    #[napi(catch_unwind)]
    pub fn set_override(
        &self,
        policy: String,
        key: String,
        granted: Either<String, RatePolicy>,
    ) -> Result<()> {
        let granted = policy_arg(granted)?;
        core(self.inner.set_override(&policy, &key, granted))
    }

    #[napi(catch_unwind)]
    pub fn remove_override(&self, policy: String, key: String) -> bool {
        self.inner.remove_override(&policy, &key)
    }

    /// Takes `cost` from `key`'s bucket; a refusal is a decision with `allowed: false`.
    #[napi(catch_unwind)]
    pub fn check(&self, key: String, options: Option<CheckOptions>) -> Result<JsRateDecision> {
        let (policy, cost) = self::options(options)?;
        core(self.inner.check(&policy, &key, cost)).map(Into::into)
    }

    /// Like `check`, throwing `RateLimited` (with `retryAfter`) when refused.
    #[napi(catch_unwind)]
    pub fn enforce(&self, key: String, options: Option<CheckOptions>) -> Result<JsRateDecision> {
        let (policy, cost) = self::options(options)?;
        core(
            self.inner
                .check(&policy, &key, cost)
                .and_then(RateDecision::into_result),
        )
        .map(Into::into)
    }

    /// The state of `key` without taking anything.
    #[napi(catch_unwind)]
    pub fn peek(&self, key: String, options: Option<CheckOptions>) -> Result<JsRateDecision> {
        let (policy, _) = self::options(options)?;
        core(self.inner.peek(&policy, &key)).map(Into::into)
    }
}
