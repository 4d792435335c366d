//! Faults the harness injects into an engine, described the same way for every engine.

use crate::time::Time;
use serde::{Deserialize, Serialize};

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

/// Extra CPU work in every task of an engine: after each unit of work (a buffer of records or
/// a watermark handled by a dataflow task, a task run of a micro-batch stage) the task spins
/// for `fraction` times as long as the work took. A known slowdown of the engine's processing
/// by about `fraction`, for proving that a performance gate catches one (`docs/ci.md`); it
/// never changes a result.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuTax {
    /// Extra work as a fraction of the work done (0.1: 10 % more).
    pub fraction: f64,
}

impl CpuTax {
    /// Runs `work`, then spins for `fraction` of the time it took; just runs it without a tax.
    #[inline]
    pub fn levy<R>(tax: Option<CpuTax>, work: impl FnOnce() -> R) -> R {
        let Some(tax) = tax.filter(|t| t.fraction > 0.0) else { return work() };
        let started = std::time::Instant::now();
        let out = work();
        let until = started.elapsed().mul_f64(tax.fraction);
        let spin = std::time::Instant::now();
        while spin.elapsed() < until {
            std::hint::spin_loop();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn busy(d: Duration) -> u64 {
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < d {
            n = n.wrapping_add(1);
        }
        n
    }

    #[test]
    fn a_tax_spins_its_fraction_of_the_work_and_none_without_one() {
        let t = Instant::now();
        CpuTax::levy(Some(CpuTax { fraction: 1.0 }), || busy(Duration::from_millis(20)));
        assert!(t.elapsed() >= Duration::from_millis(40), "{:?}", t.elapsed());
        assert_eq!(CpuTax::levy(None, || 7), 7);
        assert_eq!(CpuTax::levy(Some(CpuTax { fraction: 0.0 }), || 8), 8);
    }
}
