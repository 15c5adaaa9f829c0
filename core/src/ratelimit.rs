//! Keyed rate limiting: a token bucket per key, computed with GCRA (the Generic Cell Rate
//! Algorithm), which keeps one number per key — the time at which its bucket is full again
//! (the "theoretical arrival time"). Tokens refill at a constant rate and unused ones carry
//! over up to the burst. A key whose time has passed has a full bucket, so the store may
//! forget it at any moment without changing a decision: that is what bounds memory.
//!
//! Several named policies (per app, per user, per IP, per route) live in one
//! [`RateLimiter`]; each check names its policy, and a key can be granted its own policy
//! (an app that was sold more). Every decision carries the header values clients expect:
//! `RateLimit-Policy` / `RateLimit` (draft-ietf-httpapi-ratelimit-headers), the
//! `X-RateLimit-*` trio, and `Retry-After` when refused.

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

use crate::clock::{Clock, SystemClock};
use crate::error::{err, Error, ErrorKind, Result};
use crate::store::{PreparedPolicy, Store};
use crate::util::push_decimal;

/// The default policy: 1000 requests per minute, bursts up to 1000.
pub const DEFAULT_LIMIT: u64 = 1000;
pub const DEFAULT_PERIOD_MS: u64 = 60_000;
/// The name of the policy a [`RateLimiter`] starts with.
pub const DEFAULT_POLICY: &str = "default";
/// The policy the web gates meter every request with, per client address, before any
/// credential is checked (so floods of forged tokens or unknown API keys are counted too):
/// a [`RateLimiter`] starts with it at [`DEFAULT_CLIENT_LIMIT`] per minute.
pub const CLIENT_POLICY: &str = "per_client";
pub const DEFAULT_CLIENT_LIMIT: u64 = 600;
/// The longest key or policy name accepted, in bytes.
pub const MAX_KEY_BYTES: usize = 512;
/// The longest policy name accepted, in bytes (printable ASCII only).
pub const MAX_POLICY_NAME_BYTES: usize = 64;
/// The longest period accepted: one day.
pub const MAX_PERIOD_MS: u64 = 86_400_000;
/// The most requests a policy may allow per period (and the largest burst and cost).
pub const MAX_LIMIT: u64 = 1_000_000_000;

const NANOS_PER_MILLI: u64 = 1_000_000;

/// `limit` requests per `period_ms`, refilled at a constant rate, with a bucket holding
/// `burst` (by default `limit`: unused requests carry over up to one period's worth).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub limit: u64,
    pub period_ms: u64,
    pub burst: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            limit: DEFAULT_LIMIT,
            period_ms: DEFAULT_PERIOD_MS,
            burst: DEFAULT_LIMIT,
        }
    }
}

impl Policy {
    /// `limit` per `period_ms`, with a burst of `limit`.
    pub fn new(limit: u64, period_ms: u64) -> Result<Self> {
        Policy {
            limit,
            period_ms,
            burst: limit,
        }
        .checked()
    }

    pub fn per_second(limit: u64) -> Result<Self> {
        Policy::new(limit, 1000)
    }

    pub fn per_minute(limit: u64) -> Result<Self> {
        Policy::new(limit, 60_000)
    }

    pub fn per_hour(limit: u64) -> Result<Self> {
        Policy::new(limit, 3_600_000)
    }

    /// `"100/minute"`, `"5/second"`, `"1000/hour"`, `"10000/day"`, or with a count of units:
    /// `"10/5 minutes"`, `"3/10s"` (units `s`, `m`, `h`, `d`, `ms` or their English names).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::new(
                ErrorKind::InvalidInput,
                "a rate is written `<limit>/<period>`, e.g. `100/minute` or `10/5 seconds`",
            )
        };
        if text.len() > 64 {
            return Err(bad());
        }
        let (limit, period) = text.split_once('/').ok_or_else(bad)?;
        let limit: u64 = limit.trim().parse().map_err(|_| bad())?;
        let period = period.trim();
        let digits = period.bytes().take_while(u8::is_ascii_digit).count();
        let count: u64 = if digits == 0 {
            1
        } else {
            period[..digits].parse().map_err(|_| bad())?
        };
        let unit_ms: u64 = match period[digits..].trim().to_ascii_lowercase().as_str() {
            "ms" | "millisecond" | "milliseconds" => 1,
            "s" | "sec" | "second" | "seconds" => 1000,
            "m" | "min" | "minute" | "minutes" => 60_000,
            "h" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            _ => return Err(bad()),
        };
        Policy::new(limit, count.checked_mul(unit_ms).ok_or_else(bad)?)
    }

    /// The same rate with a bucket of `burst`.
    pub fn with_burst(self, burst: u64) -> Result<Self> {
        Policy { burst, ..self }.checked()
    }

    /// The policy if its numbers are in range (`invalid_input` otherwise).
    pub fn checked(self) -> Result<Self> {
        if !(1..=MAX_LIMIT).contains(&self.limit) || !(1..=MAX_LIMIT).contains(&self.burst) {
            return err(
                ErrorKind::InvalidInput,
                format!("a rate limit and its burst must be 1 to {MAX_LIMIT}"),
            );
        }
        if !(1..=MAX_PERIOD_MS).contains(&self.period_ms) {
            return err(
                ErrorKind::InvalidInput,
                "a rate-limit period must be 1 ms to 1 day",
            );
        }
        if self.gcra().interval_ns == 0 {
            return err(
                ErrorKind::InvalidInput,
                "the rate is too high: more than one request per nanosecond",
            );
        }
        Ok(self)
    }

    /// The GCRA parameters: one token every `period / limit`, `burst` tokens of slack.
    pub fn gcra(&self) -> Gcra {
        // A checked period (at most a day) fits in u64 nanoseconds; a wider division
        // only for a policy built by hand past the bounds.
        let interval_ns = match self.period_ms.checked_mul(NANOS_PER_MILLI) {
            Some(ns) => ns / self.limit.max(1),
            None => {
                (u128::from(self.period_ms) * u128::from(NANOS_PER_MILLI)
                    / u128::from(self.limit.max(1))) as u64
            }
        };
        Gcra {
            interval_ns,
            capacity_ns: interval_ns.saturating_mul(self.burst),
        }
    }
}

/// GCRA in numbers: the time one token takes to refill, and a full bucket's worth of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    pub interval_ns: u64,
    pub capacity_ns: u64,
}

/// What a store answers for one key: whether the request went through, and the key's
/// theoretical arrival time afterwards (when its bucket is full again), in nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateState {
    pub allowed: bool,
    pub full_at_ns: u64,
}

impl Gcra {
    /// The decision for `cost` tokens at `now_ns` on a bucket full at `full_at_ns` (`None`
    /// for a key never seen or forgotten): every store runs this, atomically per key. A
    /// cost of 0 only reads.
    pub fn take(&self, full_at_ns: Option<u64>, cost: u64, now_ns: u64) -> RateState {
        let start = full_at_ns.map_or(now_ns, |t| t.max(now_ns));
        let after = start.saturating_add(cost.saturating_mul(self.interval_ns));
        if after - now_ns <= self.capacity_ns {
            RateState {
                allowed: true,
                full_at_ns: after,
            }
        } else {
            RateState {
                allowed: false,
                full_at_ns: start,
            }
        }
    }
}

/// How a check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RateOutcome {
    /// The request went through (or, for a peek or a cost of 0, could).
    #[default]
    Allowed,
    /// Refused for now: the bucket holds fewer tokens than the cost; `Retry-After` says
    /// when it will hold enough.
    Limited,
    /// Refused for good: the cost is larger than the whole bucket (the policy's burst), so
    /// no amount of waiting lets it through. No `Retry-After`.
    InsufficientCapacity,
}

impl RateOutcome {
    /// `allowed`, `limited` or `insufficient_capacity`.
    pub const fn name(self) -> &'static str {
        match self {
            RateOutcome::Allowed => "allowed",
            RateOutcome::Limited => "limited",
            RateOutcome::InsufficientCapacity => "insufficient_capacity",
        }
    }

    /// 0, 1 or 2 (for bindings that pass decisions as numbers).
    pub const fn index(self) -> u8 {
        self as u8
    }

    pub const fn from_index(i: u8) -> RateOutcome {
        match i {
            1 => RateOutcome::Limited,
            2 => RateOutcome::InsufficientCapacity,
            _ => RateOutcome::Allowed,
        }
    }
}

/// The name of a policy as a decision carries it: at most [`MAX_POLICY_NAME_BYTES`] bytes
/// held inline, so a check allocates nothing for it and threads share no counter.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PolicyName {
    len: u8,
    bytes: [u8; MAX_POLICY_NAME_BYTES],
}

impl PolicyName {
    const EMPTY: PolicyName = PolicyName {
        len: 0,
        bytes: [0; MAX_POLICY_NAME_BYTES],
    };

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// A policy name, checked as [`RateLimiter::set_policy`] checks it.
    pub fn new(name: &str) -> Result<PolicyName> {
        check_policy_name(name)?;
        Ok(PolicyName::held(name))
    }

    /// A name the limiter holds (checked when its policy was set).
    fn held(name: &str) -> PolicyName {
        let src = &name.as_bytes()[..name.len().min(MAX_POLICY_NAME_BYTES)];
        let mut bytes = [0u8; MAX_POLICY_NAME_BYTES];
        // Eight bytes a step, the last few as one word: a check makes one of these, and a
        // copy of a length known only at run time is a call to `memcpy`.
        let mut words = src.chunks_exact(8);
        for (to, from) in bytes.chunks_exact_mut(8).zip(&mut words) {
            to.copy_from_slice(from);
        }
        let rest = words.remainder();
        if !rest.is_empty() {
            let at = src.len() - rest.len();
            let word = rest
                .iter()
                .rev()
                .fold(0u64, |w, &b| (w << 8) | u64::from(b));
            // `at` is at most 56 here (a remainder is under 8 bytes of at most 64).
            if let Some(to) = bytes.get_mut(at..at + 8) {
                to.copy_from_slice(&word.to_le_bytes());
            }
        }
        PolicyName {
            len: src.len() as u8,
            bytes,
        }
    }

    /// Whether this is `name`, compared a byte at a time: a binding may have written
    /// `name` a byte at a time just before, and wider loads of it would wait for those
    /// stores (names are short; a call to `memcmp` costs more than the loop).
    fn is(&self, name: &str) -> bool {
        let name = name.as_bytes();
        name.len() == usize::from(self.len) && self.bytes.iter().zip(name).all(|(a, b)| a == b)
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from a `&str` no longer than the buffer, and policy names are
        // ASCII (checked when set), so the held bytes are whole characters.
        std::str::from_utf8(self.as_bytes()).unwrap_or("")
    }
}

impl std::ops::Deref for PolicyName {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl std::fmt::Debug for PolicyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::fmt::Display for PolicyName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<str> for PolicyName {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for PolicyName {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// One rate-limit decision, with what to tell the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateDecision {
    pub policy: PolicyName,
    pub allowed: bool,
    pub outcome: RateOutcome,
    /// Requests per window, and the window in seconds (rounded up).
    pub limit: u64,
    pub window_secs: u64,
    /// The bucket's size.
    pub burst: u64,
    /// Requests of cost 1 that would go through now (never more than `burst`).
    pub remaining: u64,
    /// Milliseconds until the bucket is full again.
    pub reset_after_ms: u64,
    /// Milliseconds until one more request of cost 1 goes through (0 while `remaining`
    /// is above 0).
    pub next_unit_ms: u64,
    /// When limited: milliseconds until this request's cost would go through. `None` when
    /// allowed, and for `insufficient_capacity` (waiting does not help).
    pub retry_after_ms: Option<u64>,
    /// The time of the decision, Unix milliseconds.
    pub now_ms: u64,
    /// The store could not be reached and the limiter fails open: the request went
    /// through unmetered, and there are no headers to send.
    pub degraded: bool,
}

/// What a check does when its store fails (Redis down, timed out).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailureMode {
    /// The check fails with `store_unavailable` (HTTP 503): nothing goes through
    /// unmetered. The default.
    #[default]
    Closed,
    /// The request goes through with a decision marked `degraded`: availability over
    /// enforcement, for limits that protect capacity rather than security.
    Open,
}

impl FailureMode {
    /// `closed` or `open`.
    pub fn parse(text: &str) -> Result<Self> {
        match text {
            "closed" => Ok(FailureMode::Closed),
            "open" => Ok(FailureMode::Open),
            _ => err(
                ErrorKind::InvalidInput,
                "the failure mode must be `closed` or `open`",
            ),
        }
    }

    pub const fn name(self) -> &'static str {
        match self {
            FailureMode::Closed => "closed",
            FailureMode::Open => "open",
        }
    }
}

fn ceil_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

/// Appends `name` as an RFC 8941 string. Policy names are checked to be printable ASCII
/// without `"` or `\\` when set ([`check_policy_name`]), so this never drops or escapes a
/// character; a name that got here otherwise loses the characters no header may carry.
fn push_quoted(out: &mut String, name: &str) {
    out.push('"');
    if name.chars().all(is_name_char) {
        out.push_str(name);
    } else {
        out.extend(name.chars().filter(|&c| is_name_char(c)));
    }
    out.push('"');
}

/// `"name";<a>=<x>;<b>=<y>`: the shape of both RateLimit headers, built in one allocation.
fn name_and_params(name: &str, a: &str, x: u64, b: &str, y: u64) -> String {
    let mut out = String::with_capacity(name.len() + 2 + 2 * 24);
    push_quoted(&mut out, name);
    out.push_str(a);
    push_decimal(&mut out, x);
    out.push_str(b);
    push_decimal(&mut out, y);
    out
}

/// The lower-case names of the RateLimit headers, as every runtime sends them.
const WIRE_NAMES: [&str; 6] = [
    "ratelimit-policy",
    "ratelimit",
    "x-ratelimit-limit",
    "x-ratelimit-remaining",
    "x-ratelimit-reset",
    "retry-after",
];

fn number(n: u64) -> String {
    let mut out = String::with_capacity(20);
    push_decimal(&mut out, n);
    out
}

/// Printable ASCII other than `"` and `\\`: what a policy name may hold, so that it
/// goes into the `RateLimit` headers as it is.
fn is_name_char(c: char) -> bool {
    (' '..='~').contains(&c) && c != '"' && c != '\\'
}

impl RateDecision {
    /// The quota window `w` of the headers: the seconds in which the bucket (`q` = the
    /// burst) refills from empty, rounded up. Equal to the policy's period when the burst
    /// is the limit (the default).
    pub fn quota_window_secs(&self) -> u64 {
        if self.burst == self.limit || self.limit == 0 {
            return self.window_secs;
        }
        // window_secs is the period rounded up; the burst's share of it, rounded up.
        (u128::from(self.window_secs) * u128::from(self.burst))
            .div_ceil(u128::from(self.limit))
            .max(1) as u64
    }

    /// `RateLimit-Policy: "name";q=1000;w=60` (draft-ietf-httpapi-ratelimit-headers): the
    /// quota `q` is the bucket (the burst), `w` the seconds it takes to refill from empty,
    /// so `q/w` is the policy's rate and `r` never exceeds `q`.
    pub fn policy_header(&self) -> String {
        name_and_params(
            &self.policy,
            ";q=",
            self.burst,
            ";w=",
            self.quota_window_secs(),
        )
    }

    /// `RateLimit: "name";r=999;t=1`: `r` requests left now (at most `q`); `t`, while some
    /// are left, the seconds until the bucket is full again, and when none is left, the
    /// seconds until the next one (then equal to `Retry-After` for a request of cost 1).
    pub fn ratelimit_header(&self) -> String {
        name_and_params(
            &self.policy,
            ";r=",
            self.remaining.min(self.burst),
            ";t=",
            self.reset_secs(),
        )
    }

    /// The `t` of the `RateLimit` header.
    pub fn reset_secs(&self) -> u64 {
        if self.remaining == 0 && !self.degraded {
            ceil_secs(self.next_unit_ms).max(1)
        } else {
            ceil_secs(self.reset_after_ms)
        }
    }

    /// Seconds to wait before retrying (rounded up), when limited. `None` when allowed and
    /// for `insufficient_capacity`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after_ms.map(|ms| ceil_secs(ms).max(1))
    }

    /// Every header to send: `RateLimit-Policy`, `RateLimit`, `X-RateLimit-Limit`,
    /// `X-RateLimit-Remaining`, `X-RateLimit-Reset` (Unix seconds when the bucket is full
    /// again, as GitHub sends it) and, when refused, `Retry-After`.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        self.headers_named(&[
            "RateLimit-Policy",
            "RateLimit",
            "X-RateLimit-Limit",
            "X-RateLimit-Remaining",
            "X-RateLimit-Reset",
            "Retry-After",
        ])
    }

    /// The headers under the six `names` given (in the order of [`RateDecision::headers`]).
    fn headers_named(&self, names: &[&'static str; 6]) -> Vec<(&'static str, String)> {
        let mut out = Vec::with_capacity(6);
        self.push_headers_named(names, &mut out, true);
        out
    }

    /// The headers of [`RateDecision::headers_named`], pushed onto `out`; `Retry-After`
    /// only when `retry_after` (a refusal writes its own).
    fn push_headers_named(
        &self,
        names: &[&'static str; 6],
        out: &mut Vec<(&'static str, String)>,
        retry_after: bool,
    ) {
        if self.degraded {
            return;
        }
        out.push((names[0], self.policy_header()));
        out.push((names[1], self.ratelimit_header()));
        out.push((names[2], number(self.burst)));
        out.push((names[3], number(self.remaining)));
        let reset = ceil_secs(self.now_ms.saturating_add(self.reset_after_ms));
        out.push((names[4], number(reset)));
        if let Some(secs) = self.retry_after_secs().filter(|_| retry_after) {
            out.push((names[5], number(secs)));
        }
    }

    /// [`RateDecision::headers`] with lower-case names, as HTTP/2 and ASGI require and
    /// as every authgate runtime sends them.
    pub fn wire_headers(&self) -> Vec<(&'static str, String)> {
        self.headers_named(&WIRE_NAMES)
    }

    /// [`RateDecision::wire_headers`] pushed onto `out`, `retry-after` only when
    /// `retry_after`.
    pub(crate) fn push_wire_headers(
        &self,
        out: &mut Vec<(&'static str, String)>,
        retry_after: bool,
    ) {
        self.push_headers_named(&WIRE_NAMES, out, retry_after);
    }

    /// `Ok` when allowed; otherwise `rate_limited`, with `retry_after` set when waiting
    /// helps (not for `insufficient_capacity`).
    pub fn into_result(self) -> Result<RateDecision> {
        match self.outcome {
            RateOutcome::Allowed => Ok(self),
            RateOutcome::Limited => {
                let secs = self.retry_after_secs().unwrap_or(1);
                Err(limited(&self.policy, secs))
            }
            RateOutcome::InsufficientCapacity => Err(Error::new(
                ErrorKind::RateLimited,
                format!(
                    "the cost is larger than the burst of policy `{}`: it can never go through",
                    self.policy
                ),
            )),
        }
    }
}

/// The `rate_limited` error of a request refused by `policy` until `secs` from now.
pub(crate) fn limited(policy: &str, secs: u64) -> Error {
    // Built without `format!`: a flood's every request may be refused with it.
    let mut message = String::with_capacity(40 + policy.len());
    message.push_str("rate limit of policy `");
    message.push_str(policy);
    message.push_str("` exceeded");
    Error::new(ErrorKind::RateLimited, message).with_retry_after(secs)
}

/// A policy name: 1 to 64 characters of printable ASCII other than `"` and `\\`, so it
/// reaches the headers as it is and no two policies can advertise the same name.
fn check_policy_name(name: &str) -> Result<()> {
    if name.is_empty() || name.len() > MAX_POLICY_NAME_BYTES || !name.chars().all(is_name_char) {
        return err(
            ErrorKind::InvalidInput,
            format!(
                "a policy name is 1 to {MAX_POLICY_NAME_BYTES} characters of printable ASCII \
                 other than `\"` and `\\` (it is sent in the RateLimit headers)"
            ),
        );
    }
    Ok(())
}

/// The cost of a check given as a number by a binding (a JavaScript or Python number): a
/// whole number from 0 to [`MAX_LIMIT`]; anything else (negative, fractional, not finite)
/// is `invalid_input`, the same in every runtime.
pub fn cost_from_number(cost: f64) -> Result<u64> {
    // The usual cost, without the conversions below (a chain of three on the check's way).
    if cost == 1.0 {
        return Ok(1);
    }
    // In range, a whole number is its own truncation (`as` truncates; `fract` would be a
    // call to libm's `trunc` on a CPU without SSE4.1's rounding, the x86-64 baseline, and
    // through `i64` each conversion is one instruction there, where `u64` takes a dozen).
    if !(0.0..=MAX_LIMIT as f64).contains(&cost) || (cost as i64) as f64 != cost {
        return err(
            ErrorKind::InvalidInput,
            format!("the cost must be a whole number from 0 to {MAX_LIMIT}"),
        );
    }
    Ok(cost as i64 as u64)
}

fn check_name(text: &str, what: &'static str) -> Result<()> {
    if text.is_empty() || text.len() > MAX_KEY_BYTES {
        return err(
            ErrorKind::InvalidInput,
            format!("the {what} must be 1 to {MAX_KEY_BYTES} bytes"),
        );
    }
    Ok(())
}

/// Named policies over one store. Cheap to share (`Send + Sync`); checks on different keys
/// run in parallel, and checks on one key are atomic in the store.
pub struct RateLimiter {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// The policies and the keys' overrides, under one lock. A check reads them through
    /// its thread's [`PolicyCache`] and takes the lock only on a miss.
    policies: RwLock<Policies>,
    /// Which state the policies are in: a fresh number from [`next_version`] on every
    /// change, stored under the write lock. No two states of any two limiters share one,
    /// so a thread's cached policy is current exactly when its version is this one.
    version: AtomicU64,
    failure_mode: RwLock<FailureMode>,
}

#[derive(Default)]
struct Policies {
    /// Looked up on every check by a name the application chose (never by client input),
    /// so a plain FNV-1a hash serves: no flooding to defend against.
    named: HashMap<String, Policy, BuildHasherDefault<Fnv1a>>,
    /// policy → key → the policy granted to that key instead (nested, so a check looks
    /// it up by `&str` without allocating).
    overrides: HashMap<String, HashMap<String, Policy>>,
}

impl RateLimiter {
    /// A limiter with the `default` policy (1000 per minute) and `per_client` (600 per
    /// minute, what the web gates meter each client address with before credentials).
    pub fn new(store: Arc<dyn Store>) -> Self {
        RateLimiter::with_clock(store, Arc::new(SystemClock))
    }

    pub fn with_clock(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        let per_client = Policy {
            limit: DEFAULT_CLIENT_LIMIT,
            period_ms: 60_000,
            burst: DEFAULT_CLIENT_LIMIT,
        };
        let policies = [
            (DEFAULT_POLICY.to_string(), Policy::default()),
            (CLIENT_POLICY.to_string(), per_client),
        ]
        .into_iter()
        .collect();
        RateLimiter {
            store,
            clock,
            policies: RwLock::new(Policies {
                named: policies,
                overrides: HashMap::new(),
            }),
            version: AtomicU64::new(next_version()),
            failure_mode: RwLock::new(FailureMode::Closed),
        }
    }

    /// What checks do when the store fails: see [`FailureMode`].
    pub fn set_failure_mode(&self, mode: FailureMode) {
        *write(&self.failure_mode) = mode;
    }

    pub fn failure_mode(&self) -> FailureMode {
        *read(&self.failure_mode)
    }

    /// Adds or replaces the policy `name`. Existing buckets keep their state.
    pub fn set_policy(&self, name: &str, policy: Policy) -> Result<()> {
        check_policy_name(name)?;
        let policy = policy.checked()?;
        let mut policies = write(&self.policies);
        policies.named.insert(name.to_string(), policy);
        self.changed();
        Ok(())
    }

    pub fn remove_policy(&self, name: &str) -> bool {
        let mut policies = write(&self.policies);
        let removed = policies.named.remove(name).is_some();
        self.changed();
        removed
    }

    /// Marks the policies changed; called with the write lock held, after the change.
    fn changed(&self) {
        self.version.store(next_version(), Ordering::Release);
    }

    pub fn policy(&self, name: &str) -> Option<Policy> {
        read(&self.policies).named.get(name).copied()
    }

    /// Grants `key` its own policy under `policy_name` (e.g. an app on a bigger plan).
    pub fn set_override(&self, policy_name: &str, key: &str, policy: Policy) -> Result<()> {
        check_policy_name(policy_name)?;
        check_name(key, "key")?;
        let policy = policy.checked()?;
        let mut policies = write(&self.policies);
        policies
            .overrides
            .entry(policy_name.to_string())
            .or_default()
            .insert(key.to_string(), policy);
        self.changed();
        Ok(())
    }

    pub fn remove_override(&self, policy_name: &str, key: &str) -> bool {
        let mut policies = write(&self.policies);
        let overrides = &mut policies.overrides;
        let Some(keys) = overrides.get_mut(policy_name) else {
            return false;
        };
        let removed = keys.remove(key).is_some();
        if keys.is_empty() {
            overrides.remove(policy_name);
        }
        self.changed();
        removed
    }

    /// Takes `cost` requests from `key`'s bucket under `policy_name`. A refusal is a
    /// decision with `allowed == false`, not an error; see [`RateDecision::into_result`].
    /// A cost of 0 takes nothing (a peek); a cost larger than the policy's burst can never
    /// go through and is refused with the outcome `insufficient_capacity` (no retry).
    pub fn check(&self, policy_name: &str, key: &str, cost: u64) -> Result<RateDecision> {
        self.decide(policy_name, key, cost)
    }

    /// The state of `key` without taking anything from it.
    pub fn peek(&self, policy_name: &str, key: &str) -> Result<RateDecision> {
        self.decide(policy_name, key, 0)
    }

    fn decide(&self, policy_name: &str, key: &str, cost: u64) -> Result<RateDecision> {
        check_name(key, "key")?;
        if cost > MAX_LIMIT {
            return err(
                ErrorKind::InvalidInput,
                format!("the cost must be a whole number from 0 to {MAX_LIMIT}"),
            );
        }
        let Metered {
            policy,
            gcra,
            per_interval,
            prepared,
        } = self.policy_for(policy_name, key)?;
        let name = PolicyName::held(policy_name);
        let too_big = cost > policy.burst;
        let now_ms = self.clock.now_millis();
        let now_ns = now_ms.saturating_mul(NANOS_PER_MILLI);
        let taken = if too_big { 0 } else { cost };
        let taking = match &prepared {
            Some(prepared) => {
                self.store
                    .rate_limit_prepared(prepared, policy_name, key, taken, &gcra, now_ns)
            }
            None => self
                .store
                .rate_limit_bucket(policy_name, key, taken, &gcra, now_ns),
        };
        let state = match taking {
            Ok(state) => state,
            Err(e)
                if e.kind() == ErrorKind::StoreUnavailable
                    && self.failure_mode() == FailureMode::Open =>
            {
                return Ok(RateDecision {
                    policy: name,
                    allowed: true,
                    outcome: RateOutcome::Allowed,
                    limit: policy.limit,
                    window_secs: ceil_secs(policy.period_ms),
                    burst: policy.burst,
                    remaining: policy.burst,
                    reset_after_ms: 0,
                    next_unit_ms: 0,
                    retry_after_ms: None,
                    now_ms,
                    degraded: true,
                })
            }
            Err(e) => return Err(e),
        };
        let level_ns = state.full_at_ns.saturating_sub(now_ns);
        let remaining =
            per_interval.divide(gcra.capacity_ns.saturating_sub(level_ns), gcra.interval_ns);
        // Until one more token fits: the level must drop to capacity - interval.
        let next_unit_ms = if remaining == 0 {
            (level_ns + gcra.interval_ns)
                .saturating_sub(gcra.capacity_ns)
                .div_ceil(NANOS_PER_MILLI)
        } else {
            0
        };
        let (outcome, retry_after_ms) = if too_big {
            (RateOutcome::InsufficientCapacity, None)
        } else if state.allowed {
            (RateOutcome::Allowed, None)
        } else {
            let needed = level_ns + cost * gcra.interval_ns - gcra.capacity_ns;
            (RateOutcome::Limited, Some(needed.div_ceil(NANOS_PER_MILLI)))
        };
        Ok(RateDecision {
            policy: name,
            allowed: outcome == RateOutcome::Allowed,
            outcome,
            limit: policy.limit,
            window_secs: ceil_secs(policy.period_ms),
            burst: policy.burst,
            remaining,
            reset_after_ms: level_ns.div_ceil(NANOS_PER_MILLI),
            next_unit_ms,
            retry_after_ms,
            now_ms,
            degraded: false,
        })
    }

    /// The policy `key` is checked under, and its GCRA numbers (cached with it: making them
    /// is a 64-bit division).
    fn policy_for(&self, policy_name: &str, key: &str) -> Result<Metered> {
        let version = self.version.load(Ordering::Acquire);
        if let Some(found) = POLICY_CACHE.with(|c| c.borrow().get(version, policy_name)) {
            return Ok(found);
        }
        let policies = read(&self.policies);
        // Read under the lock: the version of the state about to be read.
        let version = self.version.load(Ordering::Relaxed);
        let keys = policies.overrides.get(policy_name);
        if let Some(p) = keys.and_then(|keys| keys.get(key)) {
            return Ok(Metered::new(*p, None));
        }
        match policies.named.get(policy_name) {
            // A policy some keys override depends on the key: not cached.
            Some(p) if keys.is_some() => Ok(Metered::new(*p, None)),
            Some(p) => {
                let metered = Metered::new(*p, self.store.rate_limit_prepare(policy_name));
                POLICY_CACHE.with(|c| c.borrow_mut().put(version, policy_name, metered));
                Ok(metered)
            }
            None => err(
                ErrorKind::InvalidInput,
                format!("no rate-limit policy named `{policy_name}`"),
            ),
        }
    }
}

/// A policy with what a check works out from it once: its GCRA numbers (a 64-bit
/// division), the reciprocal of its interval (for the other division a check makes), and
/// what the store prepares for the policy's name (the in-memory store: the key its buckets
/// are hashed under).
#[derive(Clone, Copy)]
struct Metered {
    policy: Policy,
    gcra: Gcra,
    per_interval: Reciprocal,
    prepared: Option<PreparedPolicy>,
}

impl Metered {
    fn new(policy: Policy, prepared: Option<PreparedPolicy>) -> Self {
        let gcra = policy.gcra();
        Metered {
            policy,
            gcra,
            per_interval: Reciprocal::new(gcra.interval_ns),
            prepared,
        }
    }
}

/// `floor(2^64 / d)` for a divisor `d` (`u64::MAX` for 1): `x / d` is then the high half of
/// `x` times it, or one more (Granlund and Montgomery's bound: the estimate is never above
/// the quotient and less than one below it), for any 64-bit `x`. A multiplication and a
/// check where a 64-bit division takes a few times longer.
#[derive(Clone, Copy)]
struct Reciprocal(u64);

impl Reciprocal {
    fn new(d: u64) -> Self {
        Reciprocal(match d {
            0 | 1 => u64::MAX,
            d => ((1u128 << 64) / u128::from(d)) as u64,
        })
    }

    /// `x / d`, `d` being the divisor this was made for (0 is taken as 1).
    fn divide(self, x: u64, d: u64) -> u64 {
        let d = d.max(1);
        let q = ((u128::from(x) * u128::from(self.0)) >> 64) as u64;
        // `q` is at most the quotient, so `q * d` does not overflow.
        if x - q * d >= d {
            q + 1
        } else {
            q
        }
    }
}

/// The versions of limiters' policy states, from 1 (0 marks an empty cache slot).
static VERSIONS: AtomicU64 = AtomicU64::new(1);

fn next_version() -> u64 {
    VERSIONS.fetch_add(1, Ordering::Relaxed)
}

/// Slots in each thread's [`PolicyCache`]: a gate meters a request under a few policies
/// (per client, per app, per route, login), and a thread that cycles through more
/// (limiter, policy) pairs than this takes the lock on every check, as before the cache.
const POLICY_CACHE_SLOTS: usize = 8;

thread_local! {
    /// The policies this thread looked up last, so that a check does not take the
    /// policies' lock (two atomic read-modify-writes, about a sixth of a check).
    static POLICY_CACHE: RefCell<PolicyCache> = const { RefCell::new(PolicyCache::EMPTY) };
}

/// The last few (limiter version, policy name) → policy pairs looked up. An entry is only
/// used while its limiter is at the version it was read at, so a change is seen by the next
/// check; policies that some keys override are never cached.
#[derive(Clone, Copy)]
struct PolicyCache {
    slots: [(u64, PolicyName, Metered); POLICY_CACHE_SLOTS],
    next: usize,
}

/// The policy of an empty slot (never returned: no version is 0).
const UNSET: Policy = Policy {
    limit: 0,
    period_ms: 0,
    burst: 0,
};
const UNSET_METERED: Metered = Metered {
    policy: UNSET,
    gcra: Gcra {
        interval_ns: 0,
        capacity_ns: 0,
    },
    per_interval: Reciprocal(0),
    prepared: None,
};

impl PolicyCache {
    const EMPTY: PolicyCache = PolicyCache {
        slots: [(0, PolicyName::EMPTY, UNSET_METERED); POLICY_CACHE_SLOTS],
        next: 0,
    };

    fn get(&self, version: u64, name: &str) -> Option<Metered> {
        self.slots
            .iter()
            .find(|(v, n, _)| *v == version && n.is(name))
            .map(|&(_, _, m)| m)
    }

    fn put(&mut self, version: u64, name: &str, metered: Metered) {
        self.slots[self.next] = (version, PolicyName::held(name), metered);
        self.next = (self.next + 1) % POLICY_CACHE_SLOTS;
    }
}

/// FNV-1a, 64-bit: for the map of policy names.
struct Fnv1a(u64);

impl Default for Fnv1a {
    fn default() -> Self {
        Fnv1a(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv1a {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

/// The policy and key a [`store_key`] was made of; `None` for a string no `store_key` makes.
pub(crate) fn split_store_key(joined: &str) -> Option<(&str, &str)> {
    let (length, rest) = joined.split_once(':')?;
    // The length as `store_key` writes it: decimal digits, no leading zero.
    if length.is_empty()
        || length.len() > 19
        || !length.bytes().all(|b| b.is_ascii_digit())
        || (length.len() > 1 && length.starts_with('0'))
    {
        return None;
    }
    let n: usize = length.parse().ok()?;
    let policy = rest.get(..n)?;
    let key = rest.get(n..)?.strip_prefix(':')?;
    Some((policy, key))
}

/// The store key of a bucket: the policy and key, separated so no pair can collide.
pub(crate) fn store_key(policy: &str, key: &str) -> String {
    let mut out = String::with_capacity(policy.len() + key.len() + 8);
    out.push_str(&policy.len().to_string());
    out.push(':');
    out.push_str(policy);
    out.push(':');
    out.push_str(key);
    out
}

fn read<T>(l: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(l: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dividing_by_a_reciprocal_is_the_integer_quotient() {
        let mut next = crate::util::xorshift(0x00d1_71de);
        let mut divisors = vec![1u64, 2, 3, 7, 10, 1_000, 60_000_000, 86_400_000_000_000];
        divisors.extend([
            u64::MAX,
            u64::MAX - 1,
            1 << 63,
            (1 << 63) + 1,
            (1 << 32) - 1,
            1 << 32,
        ]);
        divisors.extend(
            (0..2_000)
                .map(|_| next() >> (next() % 64))
                .filter(|&d| d > 0),
        );
        for d in divisors {
            let r = Reciprocal::new(d);
            let mut xs = vec![0u64, 1, d - 1, d, u64::MAX, u64::MAX - 1, u64::MAX / d * d];
            xs.extend([
                d.saturating_mul(2),
                d.saturating_mul(2) - 1,
                d.saturating_mul(1000).saturating_add(1),
            ]);
            xs.extend((0..50).map(|_| next() >> (next() % 64)));
            for x in xs {
                assert_eq!(r.divide(x, d), x / d, "{x} / {d}");
            }
        }
    }

    #[test]
    fn a_held_policy_name_is_its_bytes_then_zeros() {
        let text: String = (0..80u8).map(|i| char::from(b'!' + i)).collect();
        for len in 0..=80 {
            let name = PolicyName::held(&text[..len]);
            let kept = len.min(MAX_POLICY_NAME_BYTES);
            assert_eq!(name.as_str(), &text[..kept], "length {len}");
            // Equality and hashing see the whole buffer: past the name, zeros.
            assert!(name.bytes[kept..].iter().all(|&b| b == 0), "length {len}");
            // Whatever follows the name where it is read from.
            let elsewhere = format!("{}~~~~~~~~", &text[..len]);
            assert_eq!(name, PolicyName::held(&elsewhere[..len]));
        }
    }

    #[test]
    fn a_cost_is_a_whole_number_in_range() {
        let max = MAX_LIMIT as f64;
        for (n, want) in [
            (0.0, Some(0)),
            (-0.0, Some(0)),
            (1.0, Some(1)),
            (max, Some(MAX_LIMIT)),
            (max - 1.0, Some(MAX_LIMIT - 1)),
        ] {
            assert_eq!(cost_from_number(n).ok(), want, "{n}");
        }
        for n in [
            0.5,
            1.5,
            1e-300,
            max - 0.5,
            max + 1.0,
            -1.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            1e300,
        ] {
            let e = cost_from_number(n).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{n}");
        }
    }

    #[test]
    fn gcra_numbers_for_the_default_policy() {
        let g = Policy::default().gcra();
        assert_eq!(g.interval_ns, 60_000_000);
        assert_eq!(g.capacity_ns, 60_000_000_000);
        // A fresh key: one token taken, the bucket full again one interval later.
        let s = g.take(None, 1, 1_000);
        assert!(s.allowed);
        assert_eq!(s.full_at_ns, 1_000 + 60_000_000);
    }

    #[test]
    fn policies_out_of_range_are_refused() {
        assert!(Policy::new(0, 1000).is_err());
        assert!(Policy::new(10, 0).is_err());
        assert!(Policy::new(10, MAX_PERIOD_MS + 1).is_err());
        assert!(Policy::per_second(10).unwrap().with_burst(0).is_err());
        assert!(
            Policy::new(MAX_LIMIT, 1).is_err(),
            "one request per 1e-9 ms is too fast"
        );
    }

    #[test]
    fn rates_parse_from_text() {
        assert_eq!(
            Policy::parse("100/minute").unwrap(),
            Policy::per_minute(100).unwrap()
        );
        assert_eq!(
            Policy::parse("5 / second").unwrap(),
            Policy::per_second(5).unwrap()
        );
        assert_eq!(
            Policy::parse("10/5 minutes").unwrap(),
            Policy::new(10, 300_000).unwrap()
        );
        assert_eq!(
            Policy::parse("3/10s").unwrap(),
            Policy::new(3, 10_000).unwrap()
        );
        assert_eq!(
            Policy::parse("1/day").unwrap(),
            Policy::new(1, 86_400_000).unwrap()
        );
        for bad in [
            "",
            "100",
            "x/minute",
            "100/fortnight",
            "100/2 days",
            "-1/s",
            "0/s",
            "1/0s",
        ] {
            assert!(Policy::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_memory_store_meters_a_bucket_under_its_joined_key() {
        // The in-memory store hashes the policy and key in pieces; a store that joins them
        // (the trait's default) must land on the same bucket.
        let store = crate::store::MemoryStore::new();
        let g = Policy::per_minute(2).unwrap().gcra();
        for (policy, key) in [("a:b", "c"), ("p", "k"), ("x".repeat(64).as_str(), "é")] {
            let joined = store_key(policy, key);
            assert!(
                store
                    .rate_limit_bucket(policy, key, 1, &g, 1_000)
                    .unwrap()
                    .allowed
            );
            assert!(store.rate_limit(&joined, 1, &g, 1_000).unwrap().allowed);
            assert!(
                !store
                    .rate_limit_bucket(policy, key, 1, &g, 1_000)
                    .unwrap()
                    .allowed
            );
        }
        // ... and "a:b" + "c" is not "a" + "b:c".
        assert!(
            store
                .rate_limit_bucket("a", "b:c", 1, &g, 1_000)
                .unwrap()
                .allowed
        );
    }

    #[test]
    fn a_bucket_is_the_same_whether_its_policy_is_cached_or_not() {
        // A cached policy meters with the store's prepared form of its name; a policy some
        // key overrides is not cached and meters without it. Adding or removing an override
        // of another key must not hand this key a fresh bucket.
        let store = Arc::new(crate::store::MemoryStore::new());
        let clock = Arc::new(crate::clock::ManualClock::new(1_000));
        let limiter = RateLimiter::with_clock(store.clone(), clock);
        limiter
            .set_policy("api", Policy::per_minute(2).unwrap())
            .unwrap();
        assert!(limiter.check("api", "k", 1).unwrap().allowed);
        assert!(limiter.check("api", "k", 1).unwrap().allowed);
        assert!(!limiter.check("api", "k", 1).unwrap().allowed);
        limiter
            .set_override("api", "other", Policy::per_minute(100).unwrap())
            .unwrap();
        assert!(!limiter.check("api", "k", 1).unwrap().allowed);
        assert!(limiter.remove_override("api", "other"));
        assert!(!limiter.check("api", "k", 1).unwrap().allowed);
        // ... and from another thread (whose cache is empty).
        std::thread::scope(|s| {
            s.spawn(|| assert!(!limiter.check("api", "k", 1).unwrap().allowed));
        });
        // The store's own entry points land on the same bucket.
        let g = Policy::per_minute(2).unwrap().gcra();
        let now_ns = 1_000 * 1_000_000_000;
        assert!(
            !store
                .rate_limit_bucket("api", "k", 1, &g, now_ns)
                .unwrap()
                .allowed
        );
        assert!(
            !store
                .rate_limit(&store_key("api", "k"), 1, &g, now_ns)
                .unwrap()
                .allowed
        );
        // Another store's prepared policy is not taken for this store's.
        let other = crate::store::MemoryStore::new();
        let foreign = other.rate_limit_prepare("api").unwrap();
        assert!(
            !store
                .rate_limit_prepared(&foreign, "api", "k", 1, &g, now_ns)
                .unwrap()
                .allowed
        );
        // Another key and another policy's same key are other buckets.
        assert!(limiter.check("api", "k2", 1).unwrap().allowed);
        limiter
            .set_policy("web", Policy::per_minute(2).unwrap())
            .unwrap();
        assert!(limiter.check("web", "k", 1).unwrap().allowed);
    }

    #[test]
    fn a_long_policy_name_meters_one_bucket_through_every_store_entry_point() {
        // Names longer than a limiter allows reach the store only through its own API;
        // their hash key is derived from a heap copy of the name, not the stack buffer.
        let store = crate::store::MemoryStore::new();
        let g = Policy::per_minute(2).unwrap().gcra();
        let now_ns = 1_000 * 1_000_000_000;
        let name = "p".repeat(200);
        let prepared = store.rate_limit_prepare(&name).unwrap();
        let take = |how: u8| {
            match how {
                0 => store.rate_limit_prepared(&prepared, &name, "k", 1, &g, now_ns),
                1 => store.rate_limit_bucket(&name, "k", 1, &g, now_ns),
                _ => store.rate_limit(&store_key(&name, "k"), 1, &g, now_ns),
            }
            .unwrap()
            .allowed
        };
        assert!(take(0));
        assert!(take(1));
        assert!(!take(2));
        assert!(!take(0));
        // A name one byte shorter is another bucket.
        assert!(
            store
                .rate_limit_bucket(&name[1..], "k", 1, &g, now_ns)
                .unwrap()
                .allowed
        );
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "a prepared policy used with another policy's name")]
    fn a_prepared_policy_used_with_another_name_is_caught_in_debug_builds() {
        let store = crate::store::MemoryStore::new();
        let g = Policy::per_minute(2).unwrap().gcra();
        let a = store.rate_limit_prepare("a").unwrap();
        let _ = store.rate_limit_prepared(&a, "b", "k", 1, &g, 1_000);
    }

    #[test]
    fn store_keys_split_back_into_their_policy_and_key() {
        for (policy, key) in [
            ("api", "k"),
            ("", ""),
            ("a:b", ":c:"),
            ("x".repeat(64).as_str(), "é"),
        ] {
            assert_eq!(
                split_store_key(&store_key(policy, key)),
                Some((policy, key))
            );
        }
        // Strings no store_key makes.
        for joined in [
            "",
            "api",
            ":a:b",
            "3:api",
            "3:apik",
            "03:api:k",
            "4:api:k",
            "x:a:b",
            "+1:a:b",
            "3:ap:k",
            "99999999999999999999:a:b",
        ] {
            assert_eq!(split_store_key(joined), None, "{joined}");
        }
    }

    #[test]
    fn policy_names_are_held_inline() {
        let name = PolicyName::new("per_client").unwrap();
        assert_eq!(name, "per_client");
        assert_eq!(format!("{name} {name:?}"), "per_client \"per_client\"");
        assert!(PolicyName::new(&"p".repeat(64)).is_ok());
        for bad in ["", "a\"b", "é", &"p".repeat(65)] {
            assert!(PolicyName::new(bad).is_err(), "{bad}");
        }
        let limiter = RateLimiter::new(Arc::new(crate::store::MemoryStore::new()));
        let long = "p".repeat(64);
        limiter
            .set_policy(&long, Policy::per_minute(5).unwrap())
            .unwrap();
        assert_eq!(limiter.check(&long, "k", 1).unwrap().policy, long.as_str());
    }

    #[test]
    fn store_keys_cannot_collide() {
        assert_ne!(store_key("a:b", "c"), store_key("a", "b:c"));
    }
}
