//! Time is injectable so that every runtime's tests are deterministic and never sleep.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A source of the current time since the Unix epoch.
pub trait Clock: Send + Sync {
    /// Whole seconds.
    fn now(&self) -> u64;
    /// Milliseconds, for rate limits; clocks that only know seconds need not implement it.
    fn now_millis(&self) -> u64 {
        self.now().saturating_mul(1000)
    }
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        unix_now()
    }
    fn now_millis(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            // Not `as_millis` (a u128): the whole seconds and the milliseconds of the rest.
            .map(|d| d.as_secs().saturating_mul(1000) + u64::from(d.subsec_millis()))
            .unwrap_or(0)
    }
}

/// Seconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A clock that only moves when told to: for tests and conformance vectors. It keeps
/// milliseconds; `now` is the whole seconds.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn new(now: u64) -> Self {
        ManualClock(AtomicU64::new(now.saturating_mul(1000)))
    }
    pub fn set(&self, now: u64) {
        self.0.store(now.saturating_mul(1000), Ordering::SeqCst)
    }
    pub fn advance(&self, seconds: u64) {
        self.advance_millis(seconds.saturating_mul(1000));
    }
    pub fn advance_millis(&self, millis: u64) {
        self.0.fetch_add(millis, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst) / 1000
    }
    fn now_millis(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
