//! The CPU time of the threads that run a job's tasks, counted by the threads themselves.
//!
//! An engine process also runs threads that are not the job's: the harness's sampler, a
//! checkpoint coordinator, a micro-batch driver. Their CPU is in the process's total; the
//! cost of the tasks' own code — what an operator's regression or a [`crate::CpuTax`] moves —
//! is counted apart, in [`Metrics::task_cpu`], by each task thread from its own CPU clock: after
//! a unit of work when a millisecond has passed since it last counted ([`count_task_cpu`]), and
//! in full when it ends ([`TaskCpu`]). What a thread has spent and not yet counted is therefore
//! at most its last millisecond's work, whatever it does next (parks, sleeps, ends).

use crate::metrics::Metrics;
use crate::time::Time;
use std::cell::Cell;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How often a busy thread counts at most: reading its CPU clock is a system call.
const EVERY: Duration = Duration::from_millis(1);

/// CPU time this thread has spent since it started, user + system, nanoseconds.
pub fn thread_cpu() -> Time {
    use nix::time::{ClockId, clock_gettime};
    clock_gettime(ClockId::CLOCK_THREAD_CPUTIME_ID).map_or(0, |t| t.tv_sec() * 1_000_000_000 + t.tv_nsec())
}

thread_local! {
    /// When this thread last counted its CPU time, and its CPU clock then (none: never, so
    /// that its first count takes in everything since it started).
    static COUNTED: Cell<Option<(Instant, Time)>> = const { Cell::new(None) };
}

/// Counts into `metrics` the CPU time this task thread has spent since it last counted, if a
/// millisecond has passed since then (or it never counted). Call it after each unit of work.
#[inline]
pub fn count_task_cpu(metrics: &Metrics) {
    if COUNTED.get().is_some_and(|(at, _)| at.elapsed() < EVERY) {
        return;
    }
    count_now(metrics);
}

fn count_now(metrics: &Metrics) {
    let now = thread_cpu();
    let before = COUNTED.get().map_or(0, |(_, cpu)| cpu);
    metrics.task_cpu.fetch_add((now - before).max(0), Ordering::Relaxed);
    COUNTED.set(Some((Instant::now(), now)));
}

/// Marks the current thread as one that runs tasks: counts its CPU time in full when dropped,
/// at the end of the thread's work (a panic that unwinds included).
pub struct TaskCpu<'a>(&'a Metrics);

impl<'a> TaskCpu<'a> {
    /// Starts accounting for this thread.
    pub fn new(metrics: &'a Metrics) -> Self {
        TaskCpu(metrics)
    }
}

impl Drop for TaskCpu<'_> {
    fn drop(&mut self) {
        count_now(self.0);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Spins until this thread has spent `ns` more of CPU time.
    pub(crate) fn busy(ns: Time) {
        let until = thread_cpu() + ns;
        while thread_cpu() < until {
            std::hint::spin_loop();
        }
    }

    #[test]
    fn a_task_thread_counts_all_its_cpu_time_by_its_end_and_at_most_a_millisecond_s_lags_behind() {
        let ms = 1_000_000;
        let metrics = Metrics::default();
        let spent = std::thread::scope(|s| {
            s.spawn(|| {
                let _cpu = TaskCpu::new(&metrics);
                for _ in 0..20 {
                    busy(ms / 2);
                    count_task_cpu(&metrics);
                    let lag = thread_cpu() - metrics.task_cpu.load(Ordering::Relaxed);
                    assert!(lag >= 0, "never counts more than was spent: {lag}");
                    // counted a millisecond of wall time ago at the latest, so the CPU time not
                    // yet counted is below that millisecond plus this step's half
                    assert!(lag < 2 * ms, "{lag} ns behind");
                }
                thread_cpu()
            })
            .join()
            .unwrap()
        });
        let counted = metrics.task_cpu.load(Ordering::Relaxed);
        assert!(counted >= 10 * ms, "{counted}");
        // the clock read after the loop, then the final count: everything, and no more than
        // the little spent in between
        assert!(counted >= spent && counted - spent < ms, "counted {counted}, spent {spent}");
    }
}
