//! What the reference engine computes for a run: the ground truth its results are checked
//! against and its latencies measured from.

use crate::spec::RunSpec;
use anyhow::Result;
use flowmark_core::{Job, Log, Time, TimeDomain};
use flowmark_reference::{Emitted, Input};
use flowmark_workloads::Visitor;

/// The reference's results for a run.
pub struct Truth {
    /// Every result, with its instants.
    pub results: Vec<Emitted>,
    /// Late events it drops.
    pub late: u64,
    /// Events the log offers before the input ends.
    pub events: u64,
}

/// Evaluates the run's job on the reference engine, in the engine's time domain.
pub fn truth(run: &RunSpec) -> Result<Truth> {
    struct Evaluate(Time, TimeDomain);
    impl Visitor for Evaluate {
        type Out = Truth;
        fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Truth {
            let out = flowmark_reference::run(&job, &log, Input { end: self.0, domain: self.1 });
            Truth {
                late: out.late.iter().map(|l| l.events).sum(),
                results: out.sinks.into_values().flatten().collect(),
                events: (0..log.partitions()).map(|p| log.arrived_before(p, self.0)).sum(),
            }
        }
    }
    run.workload
        .visit(&run.log, Evaluate(run.end(), run.engine.engine().domain()))
        .map_err(|e| anyhow::anyhow!("workload {}: {e}", run.workload.name()))
}
