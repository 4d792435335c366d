//! Faults the harness injects into an engine, described the same way for every engine.

use crate::cpu::thread_cpu;
use crate::time::Time;
use serde::{Deserialize, Serialize};

/// The message of a task's panic (an injected failure's, or a bug's), from its payload.
pub fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "task panicked".into())
}

/// One task fails (panics) once, when log time reaches `at`; the engine's own recovery path
/// handles it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFault {
    /// The stage, in the order the engine numbers them (0 reads the input).
    pub stage: usize,
    /// The task within the stage.
    pub task: usize,
    /// Log time of the failure.
    pub at: Time,
}

/// One task runs slowly for a period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Straggler {
    /// The stage.
    pub stage: usize,
    /// The task within the stage.
    pub task: usize,
    /// Start of the slow period, in log time.
    pub from: Time,
    /// End of the slow period.
    pub until: Time,
    /// Extra time the task spends per unit of work (a message, or a task run) while slow.
    pub delay: Time,
}

/// Extra CPU work in every task of an engine: a task's thread, after a unit of work (a buffer
/// of records or a watermark handled by a dataflow task, a task run of a micro-batch stage),
/// spins until it has spent `fraction` more CPU time than it spent since it last paid (at
/// most every millisecond; its thread's CPU clock, so that time preempted or blocked is not
/// taxed, nor time preempted while it spins). A known increase of the CPU the engine's task
/// threads take, by `fraction`, for proving that a performance gate catches one
/// (`docs/ci.md`); it never changes a result.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuTax {
    /// Extra work as a fraction of the work done (0.1: 10 % more).
    pub fraction: f64,
}

impl CpuTax {
    /// Runs `work`, then pays the tax on the thread's CPU time since it last paid, if a
    /// millisecond has passed since; just runs it without a tax.
    #[inline]
    pub fn levy<R>(tax: Option<CpuTax>, work: impl FnOnce() -> R) -> R {
        let Some(tax) = tax.filter(|t| t.fraction > 0.0) else { return work() };
        let out = work();
        PAID.with(|paid| {
            // a thread's CPU clock starts at its creation: a new thread pays for all of it
            if let Some((at, _)) = paid.get()
                && at.elapsed() < std::time::Duration::from_millis(1)
            {
                return;
            }
            let cpu = paid.get().map_or(0, |(_, cpu)| cpu);
            let now = thread_cpu();
            let until = now + ((now - cpu) as f64 * tax.fraction) as i64;
            let mut spun = now;
            // the clock read often enough that the tax overshoots by a microsecond at most (a
            // `spin_loop` hint takes up to ~140 cycles): a unit of work at a low rate is tens of
            // microseconds, a coarser check would tax it by far more than its fraction
            while spun < until {
                for _ in 0..16 {
                    std::hint::spin_loop();
                }
                spun = thread_cpu();
            }
            paid.set(Some((std::time::Instant::now(), spun)));
        });
        out
    }
}

thread_local! {
    /// When this thread last paid its CPU tax, and its CPU clock then.
    static PAID: std::cell::Cell<Option<(std::time::Instant, i64)>> = const { std::cell::Cell::new(None) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::tests::busy;

    #[test]
    fn a_tax_spends_its_fraction_of_the_work_s_cpu_time_on_top_and_nothing_without_one() {
        let ms = 1_000_000;
        for fraction in [1.0, 0.1] {
            // each in a thread of its own, whose account starts with it
            std::thread::spawn(move || {
                let before = thread_cpu();
                CpuTax::levy(Some(CpuTax { fraction }), || busy(20 * ms));
                let spent = thread_cpu() - before;
                assert!(spent >= ((1.0 + fraction) * 20.0 * ms as f64) as i64, "{fraction}: {spent} ns");
            })
            .join()
            .unwrap();
        }
        assert_eq!(CpuTax::levy(None, || 7), 7);
        assert_eq!(CpuTax::levy(Some(CpuTax { fraction: 0.0 }), || 8), 8);
    }
}
