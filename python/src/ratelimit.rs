//! Rate limits: policies, the limiter and its decisions (with their HTTP headers).

use authgate_core::ratelimit::{
    cost_from_number, FailureMode, Policy, RateDecision, RateLimiter, DEFAULT_POLICY,
};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::sync::Arc;

use crate::errors::{guard, guard_store};
use crate::session::{clock_or_system, is_remote, store_or_default, PyManualClock, StoreArg};

/// `limit` requests per `period` seconds (an int, float or `timedelta`), with a bucket
/// of `burst` (default `limit`). `RatePolicy.parse("100/minute")` reads the usual text.
#[pyclass(frozen, name = "RatePolicy", module = "authgate")]
#[derive(Clone, Copy)]
pub struct PyRatePolicy {
    pub(crate) inner: Policy,
}

fn period_ms(obj: &Bound<'_, PyAny>) -> PyResult<u64> {
    if let Ok(delta) = obj.cast::<pyo3::types::PyDelta>() {
        let secs: f64 = delta.call_method0("total_seconds")?.extract()?;
        return Ok((secs * 1000.0).round() as u64);
    }
    let secs: f64 = obj.extract()?;
    if !secs.is_finite() || secs < 0.0 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "the period must be a positive number of seconds",
        ));
    }
    Ok((secs * 1000.0).round() as u64)
}

#[pymethods]
impl PyRatePolicy {
    #[new]
    #[pyo3(signature = (limit, period, *, burst = None))]
    fn new(
        py: Python<'_>,
        limit: u64,
        period: &Bound<'_, PyAny>,
        burst: Option<u64>,
    ) -> PyResult<Self> {
        let period = period_ms(period)?;
        let inner = guard(py, || {
            let p = Policy::new(limit, period)?;
            burst.map_or(Ok(p), |b| p.with_burst(b))
        })?;
        Ok(PyRatePolicy { inner })
    }

    /// `"100/minute"`, `"5/second"`, `"10/5 minutes"`, `"3/10s"`.
    #[staticmethod]
    fn parse(py: Python<'_>, text: &str) -> PyResult<Self> {
        guard(py, || Policy::parse(text)).map(|inner| PyRatePolicy { inner })
    }

    #[getter]
    fn limit(&self) -> u64 {
        self.inner.limit
    }
    #[getter]
    fn period_ms(&self) -> u64 {
        self.inner.period_ms
    }
    #[getter]
    fn burst(&self) -> u64 {
        self.inner.burst
    }
    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .extract::<PyRef<'_, PyRatePolicy>>()
            .is_ok_and(|o| o.inner == self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "RatePolicy(limit={}, period_ms={}, burst={})",
            self.inner.limit, self.inner.period_ms, self.inner.burst
        )
    }
}

/// One decision: whether the request goes through, what is left, and the headers to send.
#[pyclass(frozen, name = "RateDecision", module = "authgate")]
pub struct PyRateDecision {
    pub(crate) inner: RateDecision,
}

#[pymethods]
impl PyRateDecision {
    #[getter]
    fn allowed(&self) -> bool {
        self.inner.allowed
    }
    #[getter]
    fn policy(&self) -> &str {
        &self.inner.policy
    }
    #[getter]
    fn limit(&self) -> u64 {
        self.inner.limit
    }
    #[getter]
    fn window(&self) -> u64 {
        self.inner.window_secs
    }
    #[getter]
    fn burst(&self) -> u64 {
        self.inner.burst
    }
    #[getter]
    fn remaining(&self) -> u64 {
        self.inner.remaining
    }
    #[getter]
    fn reset_after_ms(&self) -> u64 {
        self.inner.reset_after_ms
    }
    #[getter]
    fn retry_after_ms(&self) -> Option<u64> {
        self.inner.retry_after_ms
    }
    /// Seconds to wait (rounded up) when refused, else `None`: the `Retry-After` value.
    #[getter]
    fn retry_after(&self) -> Option<u64> {
        self.inner.retry_after_secs()
    }
    /// The same headers with lower-case names, as they go on the wire (ASGI requires them).
    #[getter]
    fn wire_headers(&self) -> Vec<(&'static str, String)> {
        self.inner.wire_headers()
    }
    /// `RateLimit-Policy`, `RateLimit`, `X-RateLimit-*` and, when refused, `Retry-After`.
    #[getter]
    fn headers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (name, value) in self.inner.headers() {
            d.set_item(name, value)?;
        }
        Ok(d)
    }
    /// `allowed`, `limited` (wait `retry_after`) or `insufficient_capacity` (the cost is
    /// above the burst: waiting never helps).
    #[getter]
    fn outcome(&self) -> &'static str {
        self.inner.outcome.name()
    }
    /// True when the store failed and the limiter, set to fail open, let the request
    /// through unmetered (no headers then).
    #[getter]
    fn degraded(&self) -> bool {
        self.inner.degraded
    }
    fn __bool__(&self) -> bool {
        self.inner.allowed
    }
    fn __repr__(&self) -> String {
        format!(
            "RateDecision(policy={:?}, allowed={}, remaining={}, retry_after_ms={:?})",
            self.inner.policy, self.inner.allowed, self.inner.remaining, self.inner.retry_after_ms
        )
    }
}

/// Named policies over a store (the in-memory one by default). Starts with the `default`
/// policy: 1000 requests per minute.
#[pyclass(frozen, name = "RateLimiter", module = "authgate")]
pub struct PyRateLimiter {
    pub(crate) inner: Arc<RateLimiter>,
    pub(crate) remote: bool,
}

#[pymethods]
impl PyRateLimiter {
    #[new]
    #[pyo3(signature = (store = None, *, clock = None, failure_mode = "closed"))]
    fn new(
        py: Python<'_>,
        store: Option<StoreArg<'_>>,
        clock: Option<PyRef<'_, PyManualClock>>,
        failure_mode: &str,
    ) -> PyResult<Self> {
        let mode = guard(py, || FailureMode::parse(failure_mode))?;
        let remote = is_remote(&store);
        let inner = RateLimiter::with_clock(store_or_default(store), clock_or_system(clock));
        inner.set_failure_mode(mode);
        Ok(PyRateLimiter {
            inner: Arc::new(inner),
            remote,
        })
    }

    /// True when its store is across the network (Redis).
    #[getter]
    fn remote_store(&self) -> bool {
        self.remote
    }

    /// What checks do when the store fails: `"closed"` (raise `StoreUnavailable`, the
    /// default) or `"open"` (let the request through, with `degraded` set).
    #[getter]
    fn failure_mode(&self) -> &'static str {
        self.inner.failure_mode().name()
    }

    #[setter]
    fn set_failure_mode(&self, py: Python<'_>, mode: &str) -> PyResult<()> {
        let mode = guard(py, || FailureMode::parse(mode))?;
        self.inner.set_failure_mode(mode);
        Ok(())
    }

    /// Adds or replaces a policy: a `RatePolicy` or text such as `"100/minute"`.
    fn set_policy(&self, py: Python<'_>, name: &str, policy: &Bound<'_, PyAny>) -> PyResult<()> {
        let policy = policy_arg(py, policy)?;
        guard(py, || self.inner.set_policy(name, policy))
    }

    fn remove_policy(&self, name: &str) -> bool {
        self.inner.remove_policy(name)
    }

    fn policy(&self, name: &str) -> Option<PyRatePolicy> {
        self.inner.policy(name).map(|inner| PyRatePolicy { inner })
    }

    /// Grants `key` its own policy under `policy` (e.g. an app on a bigger plan).
    fn set_override(
        &self,
        py: Python<'_>,
        policy: &str,
        key: &str,
        granted: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let granted = policy_arg(py, granted)?;
        guard(py, || self.inner.set_override(policy, key, granted))
    }

    fn remove_override(&self, policy: &str, key: &str) -> bool {
        self.inner.remove_override(policy, key)
    }

    /// Takes `cost` from `key`'s bucket under `policy` (None: the `default` policy). A
    /// refusal is a decision with `allowed` False; a cost of 0 takes nothing, a cost above
    /// the burst is refused with the outcome `insufficient_capacity`.
    #[pyo3(signature = (key, *, policy = None, cost = 1.0))]
    fn check(
        &self,
        py: Python<'_>,
        key: &str,
        policy: Option<&str>,
        cost: f64,
    ) -> PyResult<PyRateDecision> {
        let policy = policy.unwrap_or(DEFAULT_POLICY);
        guard_store(py, self.remote, || {
            self.inner.check(policy, key, cost_from_number(cost)?)
        })
        .map(|inner| PyRateDecision { inner })
    }

    /// Like `check`, raising `RateLimited` (with `retry_after`) when refused.
    #[pyo3(signature = (key, *, policy = None, cost = 1.0))]
    fn enforce(
        &self,
        py: Python<'_>,
        key: &str,
        policy: Option<&str>,
        cost: f64,
    ) -> PyResult<PyRateDecision> {
        let policy = policy.unwrap_or(DEFAULT_POLICY);
        guard_store(py, self.remote, || {
            self.inner
                .check(policy, key, cost_from_number(cost)?)?
                .into_result()
        })
        .map(|inner| PyRateDecision { inner })
    }

    /// The state of `key` without taking anything.
    #[pyo3(signature = (key, *, policy = None))]
    fn peek(&self, py: Python<'_>, key: &str, policy: Option<&str>) -> PyResult<PyRateDecision> {
        let policy = policy.unwrap_or(DEFAULT_POLICY);
        guard_store(py, self.remote, || self.inner.peek(policy, key))
            .map(|inner| PyRateDecision { inner })
    }
}

fn policy_arg(py: Python<'_>, obj: &Bound<'_, PyAny>) -> PyResult<Policy> {
    if let Ok(p) = obj.extract::<PyRef<'_, PyRatePolicy>>() {
        return Ok(p.inner);
    }
    let text: String = obj.extract().map_err(|_| {
        pyo3::exceptions::PyTypeError::new_err(
            "a policy is a RatePolicy or text like \"100/minute\"",
        )
    })?;
    guard(py, || Policy::parse(&text))
}
