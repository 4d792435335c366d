//! The clock the harness and the engine process share.
//!
//! Both read `CLOCK_MONOTONIC`, which is one clock for every process on the machine, so an
//! instant taken in one process means the same in another: the harness hands the engine the
//! schedule's start as a number, and latencies are plain differences.

use crate::time::Time;
use nix::time::{ClockId, clock_gettime};

/// Nanoseconds on the machine's monotonic clock.
pub fn monotonic_now() -> Time {
    // CLOCK_MONOTONIC is always available on Linux; if it ever failed there would be no clock
    // to measure with at all.
    let ts = clock_gettime(ClockId::CLOCK_MONOTONIC).expect("CLOCK_MONOTONIC is readable");
    ts.tv_sec() * 1_000_000_000 + ts.tv_nsec()
}

/// Log time, anchored at the monotonic instant of log time 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LogClock {
    /// The monotonic instant of log time 0.
    pub origin: Time,
}

impl LogClock {
    /// A clock whose log time 0 is `origin` on the monotonic clock.
    pub const fn new(origin: Time) -> Self {
        LogClock { origin }
    }

    /// A clock whose log time 0 is now.
    pub fn starting_now() -> Self {
        LogClock { origin: monotonic_now() }
    }

    /// The log time now.
    #[inline]
    pub fn now(&self) -> Time {
        monotonic_now() - self.origin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advances() {
        let c = LogClock::starting_now();
        let a = c.now();
        std::thread::sleep(std::time::Duration::from_millis(2));
        assert!(c.now() - a >= 2_000_000);
        assert!(a >= 0);
    }
}
