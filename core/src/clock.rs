//! Time is injectable so that every runtime's tests are deterministic and never sleep.

use std::sync::atomic::{AtomicU64, Ordering};

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
        let (secs, nanos) = wall_clock();
        // Not through a u128: the whole seconds and the milliseconds of the rest.
        secs.saturating_mul(1000) + u64::from(nanos / 1_000_000)
    }
}

/// Seconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    wall_clock().0
}

/// The system's wall clock (`CLOCK_REALTIME`): seconds since the Unix epoch and the
/// nanoseconds past them; `(0, 0)` if the clock is before 1970. On Linux and Android the
/// vDSO is called directly, as `SystemTime::now` calls it through libc and then checks and
/// converts: about 17 against 26 ns here, a tenth of a rate-limit check.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn wall_clock() -> (u64, u32) {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Realtime);
    match (u64::try_from(t.tv_sec), u32::try_from(t.tv_nsec)) {
        (Ok(secs), Ok(nanos)) if nanos < 1_000_000_000 => (secs, nanos),
        _ => (0, 0),
    }
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn wall_clock() -> (u64, u32) {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs(), d.subsec_nanos()))
        .unwrap_or((0, 0))
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    #[test]
    fn the_system_clock_is_the_wall_clock_in_seconds_and_milliseconds() {
        let std_millis = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        };
        for _ in 0..1000 {
            let before = std_millis();
            let (millis, secs) = (SystemClock.now_millis(), SystemClock.now());
            let after = std_millis();
            // Read between two reads of `SystemTime` (with 2 s of slack for a clock set
            // meanwhile): the same clock, in the same units.
            assert!(
                millis + 2000 >= before && millis <= after + 2000,
                "{before} {millis} {after}"
            );
            assert!(
                secs * 1000 + 2000 >= before && secs * 1000 <= after + 2000,
                "{before} {secs} {after}"
            );
        }
    }
}
