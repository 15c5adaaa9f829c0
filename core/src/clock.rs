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

/// The system's wall clock. On x86-64 Linux, where the kernel keeps time with the CPU's
/// time-stamp counter, milliseconds are read from that counter between reads of the system
/// time (see the `tsc` module's notes); a process that makes the counter's instruction fault
/// (`prctl(PR_SET_TSC, PR_TSC_SIGSEGV)`, as a few sandboxes do) must give its limiters a
/// clock of its own.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> u64 {
        unix_now()
    }
    fn now_millis(&self) -> u64 {
        #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
        if let Some(ns) = tsc::now_nanos() {
            return ns / 1_000_000;
        }
        let (secs, nanos) = wall_clock();
        // Not through a u128: the whole seconds and the milliseconds of the rest.
        secs.saturating_mul(1000) + u64::from(nanos / 1_000_000)
    }
}

/// The wall clock in nanoseconds, as [`wall_clock`] reads it (0 before 1970).
fn wall_nanos() -> u64 {
    let (secs, nanos) = wall_clock();
    secs.saturating_mul(1_000_000_000)
        .saturating_add(u64::from(nanos))
}

/// Rate limits read the clock on every check, and a read of the system clock through the
/// vDSO is a fifth of a check. Where the kernel keeps time with the CPU's time-stamp
/// counter (its clock source is `tsc`: the counter runs at one constant rate, the same on
/// every core), the process reads the system clock about once a millisecond and, in
/// between, adds the ticks counted since, at the rate measured between its last reads (a
/// rate is used once two measurements in a row agree to a thousandth, so a clock set during
/// one is not taken for a rate). The time a check sees is the system clock's within where in
/// its read the system clock was sampled: tens of nanoseconds, at most a few hundred, either
/// way; at the very edge of a millisecond a check may see the one before or after. A clock
/// set meanwhile (or slewed by NTP) is followed from the next read. Elsewhere (no `tsc`
/// clock source, other CPUs) every read goes to the system clock; the clock source is read
/// again about every second (when the kernel stops trusting the counter, it changes it).
///
/// The anchor is shared by the process's threads, in atomics under a sequence number (a
/// thread-local one costs a call to `__tls_get_addr` per read in a shared library, which is
/// what the Python and Node packages are). A thread that finds it being replaced reads the
/// system clock; when two threads re-anchor at once, one of them does. (A process forked
/// while another thread was replacing it would find it being replaced for good, and read the
/// system clock every time: correct, only slower.)
#[cfg(all(target_arch = "x86_64", target_os = "linux"))]
mod tsc {
    use std::sync::atomic::{fence, AtomicU64, AtomicU8, Ordering};

    use super::counter::Anchor;
    use super::wall_nanos;

    const UNKNOWN: u8 = 0;
    const NO: u8 = 1;
    const YES: u8 = 2;
    /// Whether the kernel keeps time with the time-stamp counter, and the counter when that
    /// was last read (about every 2^32 ticks: a second or two).
    static SOURCE: AtomicU8 = AtomicU8::new(UNKNOWN);
    static SOURCE_READ_AT: AtomicU64 = AtomicU64::new(0);
    const SOURCE_READ_EVERY: u64 = 1 << 32;

    /// Reads of the system clock made here (for a test that the counter is used).
    #[cfg(test)]
    pub(super) static SYSTEM_READS: AtomicU64 = AtomicU64::new(0);

    fn system() -> u64 {
        #[cfg(test)]
        SYSTEM_READS.fetch_add(1, Ordering::Relaxed);
        wall_nanos()
    }

    fn tsc_source() -> bool {
        std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
            .is_ok_and(|source| source.trim() == "tsc")
    }

    pub(super) fn usable() -> bool {
        match SOURCE.load(Ordering::Relaxed) {
            YES => true,
            NO => false,
            _ => {
                let yes = tsc_source();
                SOURCE.store(if yes { YES } else { NO }, Ordering::Relaxed);
                yes
            }
        }
    }

    /// Reads the clock source again when it was last read long ago (by one thread).
    fn recheck_source(tick: u64) {
        let last = SOURCE_READ_AT.load(Ordering::Relaxed);
        if tick.wrapping_sub(last) > SOURCE_READ_EVERY
            && SOURCE_READ_AT
                .compare_exchange(last, tick, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
            && !tsc_source()
        {
            SOURCE.store(NO, Ordering::Relaxed);
        }
    }

    /// Even while the anchor below is whole; odd while a thread replaces it.
    static SEQUENCE: AtomicU64 = AtomicU64::new(0);
    static TICK: AtomicU64 = AtomicU64::new(0);
    static NS: AtomicU64 = AtomicU64::new(0);
    static SCALE: AtomicU64 = AtomicU64::new(0);

    /// The anchor and the sequence number it was read at; `None` while it is replaced.
    fn load() -> Option<(Anchor, u64)> {
        let sequence = SEQUENCE.load(Ordering::Acquire);
        let anchor = Anchor {
            tick: TICK.load(Ordering::Relaxed),
            ns: NS.load(Ordering::Relaxed),
            scale: SCALE.load(Ordering::Relaxed),
        };
        fence(Ordering::Acquire);
        (sequence & 1 == 0 && SEQUENCE.load(Ordering::Relaxed) == sequence)
            .then_some((anchor, sequence))
    }

    /// Replaces the anchor read at `sequence` with `anchor`, unless another thread has
    /// replaced it meanwhile (or is replacing it).
    fn store(anchor: Anchor, sequence: u64) {
        if SEQUENCE
            .compare_exchange(sequence, sequence + 1, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        fence(Ordering::Release);
        TICK.store(anchor.tick, Ordering::Relaxed);
        NS.store(anchor.ns, Ordering::Relaxed);
        SCALE.store(anchor.scale, Ordering::Relaxed);
        SEQUENCE.store(sequence + 2, Ordering::Release);
    }

    /// The wall clock in nanoseconds, or `None` where the counter is not used.
    pub(super) fn now_nanos() -> Option<u64> {
        if !usable() {
            return None;
        }
        let tick = authgate_tsc::ticks()?;
        let Some((mut anchor, sequence)) = load() else {
            return Some(system());
        };
        if let Some(ns) = anchor.extrapolate(tick) {
            return Some(ns);
        }
        recheck_source(tick);
        let before = anchor;
        let ns = anchor.read(tick, system, || authgate_tsc::ticks().unwrap_or(u64::MAX));
        if anchor != before {
            store(anchor, sequence);
        }
        Some(ns)
    }
}

/// Seconds since the Unix epoch by the system clock (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    wall_clock().0
}

/// The system's wall clock (`CLOCK_REALTIME`, through libc): seconds since the Unix
/// epoch and the nanoseconds past them; `(0, 0)` if the clock is before 1970. Rate limits
/// read it about once a millisecond where the time-stamp counter serves (see `tsc`), and on
/// every check elsewhere.
fn wall_clock() -> (u64, u32) {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| (d.as_secs(), d.subsec_nanos()))
        .unwrap_or((0, 0))
}

/// The counter's arithmetic, apart from the counter (so that tests can drive it).
#[cfg_attr(
    not(all(target_arch = "x86_64", target_os = "linux")),
    allow(dead_code)
)]
mod counter {
    /// Ticks of the counter after which the system clock is read again: 2^21, about 0.7 ms
    /// at 3 GHz and 2 ms at 1 GHz.
    const RESYNC_TICKS: u64 = 1 << 21;
    /// A read of the system clock that took more ticks than this (the thread was interrupted
    /// meanwhile) says too little about when it happened to anchor the count to: about
    /// 0.3 µs at 3 GHz, where a read takes about 20 ns. The anchor is placed half-way
    /// through the read, so it is off by at most half of this.
    const MAX_READ_TICKS: u64 = 1 << 10;
    /// Two reads further apart than this (about 6 minutes at 3 GHz) do not measure the rate:
    /// the machine may have slept between them.
    const MAX_BASELINE_TICKS: u64 = 1 << 40;
    /// The rates accepted, in nanoseconds per tick as 32.32 fixed point: counters of 250 MHz to
    /// 16 GHz.
    const MIN_SCALE: u64 = 1 << 28;
    const MAX_SCALE: u64 = 1 << 34;

    /// Where the count of ticks was last tied to the system clock, and the rate.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) struct Anchor {
        pub(super) tick: u64,
        pub(super) ns: u64,
        /// Nanoseconds per tick, 32.32 fixed point, with its lowest bit set once confirmed
        /// (two measurements in a row agreed; only then is it used) and clear while it is a
        /// first measurement; 0 until one is made.
        pub(super) scale: u64,
    }

    impl Anchor {
        #[cfg(test)]
        pub(super) const NONE: Anchor = Anchor {
            tick: 0,
            ns: 0,
            scale: 0,
        };

        /// The time at `tick` from the anchor, while it is recent and the rate confirmed.
        #[inline]
        pub(super) fn extrapolate(&self, tick: u64) -> Option<u64> {
            let since = tick.wrapping_sub(self.tick);
            // At most 2^21 ticks times 2^34: no overflow.
            (self.scale & 1 == 1 && since < RESYNC_TICKS)
                .then(|| self.ns.saturating_add((since * self.scale) >> 32))
        }

        /// The wall-clock time at counter value `tick`: extrapolated from the anchor while it
        /// is recent and the rate confirmed, otherwise `system()` (read after `tick`, and
        /// followed by `after()`, the counter again), which moves the anchor there once the
        /// two reads are far enough apart to measure the rate.
        pub(super) fn read(
            &mut self,
            tick: u64,
            system: impl FnOnce() -> u64,
            after: impl FnOnce() -> u64,
        ) -> u64 {
            if let Some(ns) = self.extrapolate(tick) {
                return ns;
            }
            let ns = system();
            let took = after().wrapping_sub(tick);
            if took > MAX_READ_TICKS {
                return ns;
            }
            // The system clock was read somewhere between the two counts: say, half-way.
            let at = tick.wrapping_add(took / 2);
            let baseline = at.wrapping_sub(self.tick);
            if self.ns != 0 && baseline < RESYNC_TICKS {
                // Too close to the last anchor to measure the rate by: keep that anchor.
                return ns;
            }
            let measured = match ns.checked_sub(self.ns) {
                Some(elapsed) if self.ns != 0 && baseline < MAX_BASELINE_TICKS => {
                    let scale = (u128::from(elapsed) << 32) / u128::from(baseline);
                    u64::try_from(scale).unwrap_or(0)
                }
                _ => 0,
            };
            // A rate in range is confirmed when it agrees to a thousandth with the one before
            // (confirmed or not); otherwise it waits for the next measurement (the system
            // clock may have been set during this one). Out of range, none.
            let last = self.scale & !1;
            let scale = if !(MIN_SCALE..=MAX_SCALE).contains(&measured) {
                0
            } else if last != 0 && measured.abs_diff(last) <= last >> 10 {
                measured | 1
            } else {
                measured & !1
            };
            *self = Anchor {
                tick: at,
                ns,
                scale,
            };
            ns
        }
    }
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

    use super::counter::Anchor;

    /// A machine whose counter runs at `ticks_per_ns` from `start` while its system clock
    /// reads `base` + the nanoseconds since: `read` at `tick`, with the system clock read
    /// `took` ticks after it, counting the reads of the system clock.
    struct Machine {
        ticks_per_ns: u64,
        base: u64,
        system_reads: u32,
    }

    impl Machine {
        fn system_at(&self, tick: u64) -> u64 {
            self.base + tick / self.ticks_per_ns
        }

        fn read(&mut self, anchor: &mut Anchor, tick: u64, took: u64) -> u64 {
            let at = self.system_at(tick + took / 2);
            let reads = &mut self.system_reads;
            anchor.read(
                tick,
                || {
                    *reads += 1;
                    at
                },
                || tick + took,
            )
        }
    }

    const BASE: u64 = 1_764_900_000_000_000_000;

    #[test]
    fn between_reads_of_the_system_clock_the_counter_gives_its_time() {
        for ticks_per_ns in [1u64, 2, 3, 4] {
            let mut machine = Machine {
                ticks_per_ns,
                base: BASE,
                system_reads: 0,
            };
            let mut anchor = Anchor::NONE;
            // A check every 997 ticks for about 20 ms of this machine's time.
            let step = 997;
            let end = 20_000_000 * ticks_per_ns;
            let mut tick = 5_000;
            let mut checks = 0u32;
            while tick < end {
                let ns = machine.read(&mut anchor, tick, 60);
                let exact = machine.system_at(tick);
                // Within a few nanoseconds of the system clock (the half of a read's 60
                // ticks, and the rounding of the rate), always.
                assert!(ns.abs_diff(exact) <= 40, "{ticks_per_ns}: {ns} vs {exact}");
                tick += step;
                checks += 1;
            }
            // The system clock was read about once per 2^21 ticks once the rate was
            // confirmed, plus the first two periods of 2^21 ticks (a rate measured, then
            // confirmed), each check of which reads it.
            let warm_up = (2u64 << 21) / step + 2;
            let after = (end >> 21) + 2;
            assert!(
                u64::from(machine.system_reads) <= warm_up + after,
                "{ticks_per_ns}: {} reads in {checks} checks",
                machine.system_reads
            );
            assert!(u64::from(machine.system_reads) >= after - 4);
        }
    }

    #[test]
    fn a_system_clock_set_while_the_first_rate_is_measured_is_not_taken_for_a_rate() {
        for jump in [1_000_000i64, 50_000, 2_000, -2_000] {
            let mut machine = Machine {
                ticks_per_ns: 3,
                base: BASE,
                system_reads: 0,
            };
            let mut anchor = Anchor::NONE;
            let mut tick = 10_000;
            for i in 0..20_000 {
                // The clock is set once the first anchor is down, before the rate is known.
                if i == 10 {
                    machine.base = machine.base.checked_add_signed(jump).unwrap();
                }
                tick += 1_000;
                let ns = machine.read(&mut anchor, tick, 60);
                let exact = machine.system_at(tick);
                assert!(ns.abs_diff(exact) <= 40, "{jump}: {ns} vs {exact}");
            }
            // ... and the counter is in use once the rate is measured twice alike.
            assert!(
                machine.system_reads < 20_000 / 2,
                "{}",
                machine.system_reads
            );
        }
    }

    #[test]
    fn an_interrupted_read_of_the_system_clock_does_not_anchor_the_counter() {
        let mut machine = Machine {
            ticks_per_ns: 3,
            base: BASE,
            system_reads: 0,
        };
        let mut anchor = Anchor::NONE;
        // Every read of the system clock takes 10,000 ticks: its time is the system's
        // each time, and nothing is anchored.
        for i in 0..100u64 {
            let tick = 1_000 + i * (1 << 20);
            let ns = machine.read(&mut anchor, tick, 10_000);
            assert_eq!(ns, machine.system_at(tick + 5_000));
            assert_eq!(anchor, Anchor::NONE);
        }
        assert_eq!(machine.system_reads, 100);
    }

    #[test]
    fn a_system_clock_set_meanwhile_is_followed_and_its_jump_is_not_taken_for_a_rate() {
        let mut machine = Machine {
            ticks_per_ns: 3,
            base: BASE,
            system_reads: 0,
        };
        let mut anchor = Anchor::NONE;
        let mut tick = 0;
        let step = |machine: &mut Machine, anchor: &mut Anchor, tick: &mut u64| {
            *tick += 1_000;
            let ns = machine.read(anchor, *tick, 60);
            (ns, machine.system_at(*tick))
        };
        // Warm up: the rate is measured.
        for _ in 0..10_000 {
            step(&mut machine, &mut anchor, &mut tick);
        }
        // The clock is set an hour back, then a second, a millisecond and 50 µs forward
        // (the last two give rates in the range accepted): after the next read of the
        // system clock (at most 2^21 ticks later) the counter's time is the system's again,
        // never a time extrapolated at a rate measured across the jump.
        for jump in [-3_600_000_000_000i64, 1_000_000_000, 1_000_000, 50_000] {
            machine.base = machine.base.checked_add_signed(jump).unwrap();
            let mut settled = false;
            for _ in 0..20_000 {
                let (ns, exact) = step(&mut machine, &mut anchor, &mut tick);
                if settled {
                    assert!(ns.abs_diff(exact) <= 40, "{ns} vs {exact}");
                } else {
                    settled = ns.abs_diff(exact) <= 40;
                }
            }
            assert!(settled);
        }
    }

    #[test]
    fn a_counter_that_goes_back_or_leaps_reads_the_system_clock() {
        let mut machine = Machine {
            ticks_per_ns: 3,
            base: BASE,
            system_reads: 0,
        };
        let mut anchor = Anchor::NONE;
        let mut tick = 1 << 30;
        for _ in 0..5_000 {
            tick += 1_000;
            machine.read(&mut anchor, tick, 60);
        }
        // A counter behind the last anchor (further back than a period between reads), and
        // one far ahead (a resume from sleep): each is a read of the system clock, never an
        // extrapolation.
        for tick in [tick - (1 << 22), tick + (1 << 45)] {
            let before = machine.system_reads;
            let ns = machine.read(&mut anchor, tick, 60);
            assert_eq!(machine.system_reads, before + 1);
            assert_eq!(ns, machine.system_at(tick + 30));
        }
    }

    /// Reads of [`SystemClock::now_millis`] for 30 ms of the system's time (a few dozen
    /// periods between reads of the system clock where the counter is used), each within a
    /// millisecond of the system's reads around it.
    fn keeps_to_the_system_time() {
        let std_millis = || {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        };
        let start = std_millis();
        let mut reads = 0u64;
        while std_millis() < start + 30 || reads < 10_000 {
            let before = std_millis();
            let ours = SystemClock.now_millis();
            let after = std_millis();
            reads += 1;
            if after < before {
                continue; // the system clock was set back meanwhile
            }
            assert!(
                ours + 1 >= before && ours <= after + 1,
                "{before} {ours} {after}"
            );
        }
    }

    #[test]
    fn the_system_clock_keeps_to_the_system_time_over_many_periods_of_the_counter() {
        keeps_to_the_system_time();
    }

    /// Where the kernel keeps time with the counter, the system clock reads it between
    /// reads of the system time: a few per 200,000 reads, once warm.
    #[test]
    #[cfg(all(target_arch = "x86_64", target_os = "linux"))]
    fn where_the_kernel_keeps_time_with_the_counter_the_clock_reads_it() {
        use std::sync::atomic::Ordering;
        if !tsc::usable() {
            eprintln!("the clock source is not `tsc` here: nothing to test");
            return;
        }
        let warm_until = std::time::Instant::now() + std::time::Duration::from_millis(10);
        while std::time::Instant::now() < warm_until {
            SystemClock.now_millis();
        }
        let before = tsc::SYSTEM_READS.load(Ordering::Relaxed);
        for _ in 0..200_000 {
            SystemClock.now_millis();
        }
        let reads = tsc::SYSTEM_READS.load(Ordering::Relaxed) - before;
        assert!(reads < 2_000, "{reads} reads of the system clock");
    }

    #[test]
    fn threads_sharing_the_counter_s_anchor_each_keep_to_the_system_time() {
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(keeps_to_the_system_time))
            .collect();
        for t in threads {
            t.join().unwrap();
        }
    }

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
