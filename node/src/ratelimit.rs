//! Rate limits: the limiter, its policies and its decisions (with their HTTP headers).

use std::collections::HashMap;
use std::sync::Arc;

use authgate_core::ratelimit::{
    cost_from_number, FailureMode, Policy, PolicyName, RateDecision, RateLimiter, RateOutcome,
    DEFAULT_POLICY,
};
use napi::bindgen_prelude::{AsyncTask, Either, Float64ArraySlice, Unknown};
use napi::Env;
use napi_derive::napi;

use crate::convert::seconds;
use crate::errors::{core, Result};
use crate::offload::{offload, Offload};
use crate::session::{clock_or_system, store_or_default, JsManualClock, JsStore};

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

/// The numbers of a decision, in the order `index.js` reads them from the array the native
/// check fills (one reused `Float64Array`: no object is built per check).
pub(crate) const FIELDS: usize = 12;

fn too_small() -> napi::Error<crate::errors::Code> {
    crate::errors::invalid_arg("the decision buffer is too small")
}

/// `n as f64`, through `i64` when it fits: one instruction on x86-64's baseline, where a
/// `u64` takes about six (a decision has eight of them).
fn number(n: u64) -> f64 {
    match i64::try_from(n) {
        Ok(n) => n as f64,
        Err(_) => n as f64,
    }
}

pub(crate) fn write_decision(d: &RateDecision, out: &mut [f64]) -> Result<()> {
    if out.len() < FIELDS {
        return Err(too_small());
    }
    let values = [
        f64::from(u8::from(d.allowed)),
        number(d.limit),
        number(d.window_secs),
        number(d.burst),
        number(d.remaining),
        number(d.reset_after_ms),
        d.retry_after_ms.map_or(-1.0, number),
        d.retry_after_secs().map_or(-1.0, number),
        number(d.now_ms),
        f64::from(u8::from(d.degraded)),
        f64::from(d.outcome.index()),
        number(d.next_unit_ms),
    ];
    out[..FIELDS].copy_from_slice(&values);
    Ok(())
}

/// A decision from its numbers (as `write_decision` wrote them) and its policy's name.
pub(crate) fn decision_from(policy: String, numbers: &[f64]) -> Result<RateDecision> {
    if numbers.len() < FIELDS {
        return Err(crate::errors::invalid_arg("a decision has 12 numbers"));
    }
    let n = |i: usize| numbers[i].max(0.0) as u64;
    Ok(RateDecision {
        policy: core(PolicyName::new(&policy))?,
        allowed: numbers[0] == 1.0,
        outcome: RateOutcome::from_index(n(10).min(2) as u8),
        next_unit_ms: n(11),
        limit: n(1),
        window_secs: n(2),
        burst: n(3),
        remaining: n(4),
        reset_after_ms: n(5),
        retry_after_ms: (numbers[6] >= 0.0).then(|| n(6)),
        now_ms: n(8),
        degraded: numbers[9] == 1.0,
    })
}

/// The headers of a decision given by its numbers (as `write_decision` wrote them): the
/// core formats them, so the JavaScript getter never does.
#[napi(catch_unwind)]
pub fn rate_limit_headers(policy: String, numbers: Vec<f64>) -> Result<HashMap<String, String>> {
    Ok(decision_from(policy, &numbers)?
        .headers()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect())
}

fn cost_arg(cost: Option<f64>) -> Result<u64> {
    cost.map_or(Ok(1), |c| core(cost_from_number(c)))
}

#[napi(js_name = "RateLimiter")]
pub struct JsRateLimiter {
    pub(crate) inner: Arc<RateLimiter>,
}

/// A decision's numbers (as `write_decision` writes them) as a new array: for Promises,
/// which can't share the one reused buffer.
fn decision_numbers(d: &RateDecision) -> Result<Vec<f64>> {
    let mut out = vec![0.0; FIELDS];
    write_decision(d, &mut out)?;
    Ok(out)
}

/// The decision's numbers into the caller's `Float64Array`.
fn fill(d: &RateDecision, out: &mut Float64ArraySlice) -> Result<()> {
    // SAFETY: this runs on the JavaScript thread during the call that passed `out`; no
    // JavaScript runs until it returns, so nothing else reads or writes the buffer.
    let slice = unsafe { out.as_mut() };
    write_decision(d, slice)
}

#[napi]
impl JsRateLimiter {
    #[napi(constructor, catch_unwind)]
    pub fn new(store: Option<&JsStore>, clock: Option<&JsManualClock>) -> Self {
        JsRateLimiter {
            inner: Arc::new(RateLimiter::with_clock(
                store_or_default(store),
                clock_or_system(clock),
            )),
        }
    }

    /// `'closed'` (a store failure throws `StoreUnavailable`, the default) or `'open'` (the
    /// request goes through with `degraded` set).
    #[napi(getter)]
    pub fn failure_mode(&self) -> String {
        self.inner.failure_mode().name().to_string()
    }

    #[napi(setter, catch_unwind)]
    pub fn set_failure_mode(&self, mode: String) -> Result<()> {
        self.inner
            .set_failure_mode(core(FailureMode::parse(&mode))?);
        Ok(())
    }

    /// `checkInto` on the thread pool; settles with the decision's numbers.
    #[napi(catch_unwind, ts_return_type = "Promise<number[] | TaskFailure>")]
    pub fn check_async(
        &self,
        key: String,
        policy: Option<String>,
        cost: Option<f64>,
        enforce: bool,
    ) -> Result<AsyncTask<Offload<Vec<f64>>>> {
        let cost = cost_arg(cost)?;
        let inner = self.inner.clone();
        Ok(offload(move || {
            let policy = policy.as_deref().unwrap_or(DEFAULT_POLICY);
            let d = core(inner.check(policy, &key, cost))?;
            let d = if enforce { core(d.into_result())? } else { d };
            decision_numbers(&d)
        }))
    }

    /// `peekInto` on the thread pool.
    #[napi(catch_unwind, ts_return_type = "Promise<number[] | TaskFailure>")]
    pub fn peek_async(&self, key: String, policy: Option<String>) -> AsyncTask<Offload<Vec<f64>>> {
        let inner = self.inner.clone();
        offload(move || {
            let policy = policy.as_deref().unwrap_or(DEFAULT_POLICY);
            decision_numbers(&core(inner.peek(policy, &key))?)
        })
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

    /// Takes `cost` from `key`'s bucket under `policy` (null: the default policy) and writes
    /// the decision into `out`. With `enforce`, a refusal returns the core's `RateLimited`
    /// message (its retry-after in `out[12]`, -1 when none) for the facade to throw: a
    /// refusal is an answer, and a thrown native error would capture a stack on the way.
    #[napi(catch_unwind)]
    pub fn check_into(
        &self,
        key: String,
        policy: Option<String>,
        cost: Option<f64>,
        enforce: bool,
        mut out: Float64ArraySlice,
    ) -> Result<Option<String>> {
        let policy = policy.as_deref().unwrap_or(DEFAULT_POLICY);
        // A buffer the decision cannot be written into is refused before anything is taken.
        // SAFETY: as in `fill`: the JavaScript thread, during the call that passed `out`.
        if unsafe { out.as_mut() }.len() < FIELDS {
            return Err(too_small());
        }
        let d = core(self.inner.check(policy, &key, cost_arg(cost)?))?;
        fill(&d, &mut out)?;
        if !enforce || d.allowed {
            return Ok(None);
        }
        // SAFETY: as in `fill`: the JavaScript thread, during the call that passed `out`.
        let slice = unsafe { out.as_mut() };
        match d.into_result() {
            Ok(_) => Ok(None),
            Err(e) if slice.len() > FIELDS => {
                slice[FIELDS] = e.retry_after().map_or(-1.0, |s| s as f64);
                Ok(Some(e.message().to_string()))
            }
            Err(e) => Err(crate::errors::js(e)),
        }
    }

    /// `[check, enforce, out]`: `checkInto` as two bare functions bound to this limiter,
    /// writing into `out`, a `Float64Array` over memory they own (see `fast_check`); `null`
    /// where the runtime allows no such memory. What the facade's `check` and `enforce`
    /// call.
    #[napi(
        catch_unwind,
        ts_return_type = "[(key: unknown, policy: unknown, cost: unknown) => undefined | string | false, (key: unknown, policy: unknown, cost: unknown) => undefined | string | false, Float64Array] | null"
    )]
    pub fn checker<'env>(&self, env: Env) -> napi::Result<Unknown<'env>> {
        let f = crate::fast_check::make(env.raw(), self.inner.clone())?;
        // SAFETY: `f` is a value just made on this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), f) })
    }

    /// The state of `key` without taking anything, written into `out`.
    #[napi(catch_unwind)]
    pub fn peek_into(
        &self,
        key: String,
        policy: Option<String>,
        mut out: Float64ArraySlice,
    ) -> Result<()> {
        let policy = policy.as_deref().unwrap_or(DEFAULT_POLICY);
        fill(&core(self.inner.peek(policy, &key))?, &mut out)
    }
}
