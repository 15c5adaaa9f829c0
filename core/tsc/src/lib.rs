//! The CPU's time-stamp counter, for authgate-core's wall clock: on x86-64, `RDTSC` counts
//! at a constant rate on every core where the kernel chose it as its clock source, and
//! reading it costs a third of a call into the vDSO. The core decides whether and how to
//! use it; this crate only reads it.
//!
//! A crate of its own because the read is an `unsafe` intrinsic, which authgate-core
//! forbids.
#![no_std]

/// The time-stamp counter, in ticks of a rate only the caller can measure; `None` on CPUs
/// other than x86-64.
#[inline]
pub fn ticks() -> Option<u64> {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: every x86-64 CPU has RDTSC. It reads a counter into registers and touches
        // no memory. (A thread can ask Linux to make it fault, `prctl(PR_SET_TSC,
        // PR_TSC_SIGSEGV)`, as some sandboxes do: such a process must not use this crate,
        // which the core's documentation of `SystemClock` says.)
        Some(unsafe { core::arch::x86_64::_rdtsc() })
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_counter_moves_forward_on_x86_64_and_is_absent_elsewhere() {
        let (a, b) = (super::ticks(), super::ticks());
        if cfg!(target_arch = "x86_64") {
            let (a, b) = (a.unwrap(), b.unwrap());
            // One thread, two reads in a row: never backwards on one core, and a
            // counter that moved.
            let mut later = b;
            while later == a {
                later = super::ticks().unwrap();
            }
            assert!(later.wrapping_sub(a) < u64::MAX / 2);
        } else {
            assert_eq!((a, b), (None, None));
        }
    }
}
