//! What a piece of work cost the process: wall time, CPU time of all its threads (user and
//! system, from `getrusage`), and context switches.

use std::time::{Duration, Instant};

/// The cost of one measured piece of work.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Usage {
    /// Wall-clock time.
    pub wall: Duration,
    /// CPU time of the whole process (every thread, finished ones included), user + system.
    pub cpu: Duration,
    /// Voluntary context switches: a thread gave up the CPU to wait (parked, slept, blocked).
    pub voluntary: u64,
    /// Involuntary context switches: a thread was preempted.
    pub involuntary: u64,
}

/// The process's counters at one instant.
#[derive(Clone, Copy, Debug)]
struct Counters {
    at: Instant,
    cpu: Duration,
    voluntary: u64,
    involuntary: u64,
}

fn counters() -> Counters {
    use nix::sys::resource::{UsageWho, getrusage};
    let at = Instant::now();
    match getrusage(UsageWho::RUSAGE_SELF) {
        Ok(u) => {
            let d = |t: nix::sys::time::TimeVal| {
                Duration::from_secs(t.tv_sec().max(0) as u64)
                    + Duration::from_micros(t.tv_usec().max(0) as u64)
            };
            Counters {
                at,
                cpu: d(u.user_time()) + d(u.system_time()),
                voluntary: u.voluntary_context_switches().max(0) as u64,
                involuntary: u.involuntary_context_switches().max(0) as u64,
            }
        }
        // getrusage(RUSAGE_SELF) cannot fail on Linux; counted as nothing if it does
        Err(_) => Counters { at, cpu: Duration::ZERO, voluntary: 0, involuntary: 0 },
    }
}

impl Usage {
    /// Runs `work` and measures it. Nothing else in the process should be busy meanwhile: the
    /// CPU time and switches are the whole process's.
    pub fn measure<T>(work: impl FnOnce() -> T) -> (T, Usage) {
        let before = counters();
        let out = work();
        let after = counters();
        let usage = Usage {
            wall: after.at - before.at,
            cpu: after.cpu.saturating_sub(before.cpu),
            voluntary: after.voluntary.saturating_sub(before.voluntary),
            involuntary: after.involuntary.saturating_sub(before.involuntary),
        };
        (out, usage)
    }

    /// Events per second of wall time.
    pub fn per_second(&self, events: u64) -> f64 {
        events as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    /// Events per CPU-second.
    pub fn per_cpu_second(&self, events: u64) -> f64 {
        events as f64 / self.cpu.as_secs_f64().max(1e-9)
    }

    /// Context switches of both kinds.
    pub fn switches(&self) -> u64 {
        self.voluntary + self.involuntary
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Held by a test that burns CPU or measures it: the figures are the whole process's.
    pub(crate) static ALONE: std::sync::Mutex<()> = std::sync::Mutex::new(());

    #[test]
    fn busy_work_costs_cpu_and_sleeping_does_not() {
        let _alone = ALONE.lock();
        // busy for 50 ms of this thread's own CPU time, however long a loaded machine takes
        let (_, busy) = Usage::measure(|| {
            let (t, start) = (Instant::now(), flowmark_core::cpu::thread_cpu());
            let mut x = 0u64;
            while flowmark_core::cpu::thread_cpu() - start < 50 * flowmark_core::time::MILLISECOND
                && t.elapsed() < Duration::from_secs(10)
            {
                x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
            }
            x
        });
        // getrusage ticks are coarse on some kernels: generous bounds
        assert!(busy.cpu >= Duration::from_millis(20), "{busy:?}");
        let (_, idle) = Usage::measure(|| std::thread::sleep(Duration::from_millis(50)));
        assert!(idle.wall >= Duration::from_millis(50));
        assert!(idle.cpu < Duration::from_millis(20), "{idle:?}");
        assert!(idle.voluntary >= 1, "sleeping gives up the CPU: {idle:?}");
        assert_eq!(busy.per_cpu_second(0), 0.0);
    }
}
