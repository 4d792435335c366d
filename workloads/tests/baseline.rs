//! Every COST baseline loop computes exactly what the reference engine computes, on logs with
//! disorder, very late events and allowed lateness.

use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Expected, Job, Log};
use flowmark_reference::{Input, run};
use flowmark_workloads::Query;
use flowmark_workloads::{Disorder, LogSpec, NexmarkSpec, RateProfile, Visitor, WorkloadSpec};

struct Compare;

impl Visitor for Compare {
    type Out = Option<(usize, flowmark_core::Verdict)>;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Self::Out {
        let end = 12 * SECOND;
        let baseline = job.baseline(&log, end)?;
        let reference = run(&job, &log, Input { end, domain: Default::default() });
        let expected = Expected::from_lines(reference.sinks.values().flatten().map(|e| e.line.clone()));
        assert!(baseline.events > 0);
        Some((expected.len(), expected.check(&baseline.results)))
    }
}

#[test]
fn every_baseline_equals_the_reference() {
    let log = LogSpec {
        seed: 7,
        partitions: 3,
        rate: RateProfile::constant(10_000.0),
        disorder: Disorder::uniform(300 * MILLISECOND).with_late(0.01, 2 * SECOND),
    };
    let mut with_lateness = NexmarkSpec::new(Query::Q5);
    with_lateness.lateness = 3 * SECOND;
    let mut q7 = NexmarkSpec::new(Query::Q7);
    q7.lateness = SECOND;
    let mut checked = 0;
    for w in WorkloadSpec::catalog()
        .into_iter()
        .chain([WorkloadSpec::Nexmark(with_lateness), WorkloadSpec::Nexmark(q7)])
    {
        let Some((expected, verdict)) = w.visit(&log, Compare).unwrap() else { continue };
        assert!(expected > 0, "{}", w.name());
        assert!(verdict.is_exact(), "{}: {verdict:?}", w.name());
        checked += 1;
    }
    assert!(checked >= 13, "every workload, and q5 and q7 again with lateness: {checked}");
}
