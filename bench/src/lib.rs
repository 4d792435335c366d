//! flowmark's engine benchmarks: both engines, each job's COST baseline and a minimal
//! hand-tuned loop, run on the same pre-generated input held in memory, measured by wall time
//! *and* by the CPU time of every thread (`getrusage`) with the context switches they made.
//!
//! Events per CPU-second is the figure that compares designs fairly on a shared machine: a
//! run that keeps two threads busy to do one thread's work takes as little wall time as one
//! that does not, but twice the CPU. Generation is not measured here (it has its own
//! benchmark, `cargo bench -p flowmark-workloads --bench generate`): the input is generated
//! once, before any variant runs, into a [`VecLog`].
//!
//! Every variant's results are checked against the baseline's, once per case, before it is
//! measured: a faster variant that computes something else is refused.

#![forbid(missing_docs)]

pub mod minimal;
pub mod usage;

use flowmark_core::check::Expected;
use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Baseline, Job, Log, ResultLine, Time, VecLog};
use flowmark_workloads::{Disorder, LogSpec, RateProfile, Visitor, WorkloadSpec};
use std::any::Any;
use std::path::PathBuf;
use std::sync::Arc;
pub use usage::Usage;

/// What runs the job.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Variant {
    /// A minimal hand-tuned loop over the input's entries ([`minimal`]).
    Minimal,
    /// The job's COST baseline ([`flowmark_workloads::baseline`]).
    Baseline,
    /// The dataflow engine at this parallelism.
    Dataflow(usize),
    /// The micro-batch engine at this parallelism, 1 s batches.
    Microbatch(usize),
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Variant::Minimal => f.write_str("minimal loop"),
            Variant::Baseline => f.write_str("baseline"),
            Variant::Dataflow(p) => write!(f, "dataflow p={p}"),
            Variant::Microbatch(p) => write!(f, "microbatch p={p}"),
        }
    }
}

impl Variant {
    /// Every variant, at parallelism 1 and 2.
    pub const ALL: [Variant; 6] = [
        Variant::Minimal,
        Variant::Baseline,
        Variant::Dataflow(1),
        Variant::Dataflow(2),
        Variant::Microbatch(1),
        Variant::Microbatch(2),
    ];
}

/// The input of one benchmark case: a workload's log up to `end`, generated into memory.
#[derive(Clone, Debug)]
pub struct Input {
    /// The workload.
    pub workload: WorkloadSpec,
    /// The log's parameters.
    pub log: LogSpec,
    /// Its end: the entries arriving before it are the input.
    pub end: Time,
}

impl Input {
    /// `events` events of `workload` at 10 M events/s of log time, over 2 partitions (one
    /// per source task at parallelism 2), with 200 ms of uniform disorder. At that rate a
    /// second's window holds 10 M events: the cost of writing its results (a line per key)
    /// weighs on every variant alike, but little.
    pub fn new(workload: WorkloadSpec, events: u64) -> Input {
        let rate = 10_000_000.0;
        let log = LogSpec {
            seed: 3,
            partitions: 2,
            rate: RateProfile::constant(rate),
            disorder: Disorder::uniform(200 * MILLISECOND),
        };
        let end = (events as f64 / rate * SECOND as f64) as Time;
        Input { workload, log, end }
    }

    /// Runs `f` with the job and its log generated into memory.
    pub fn with<F: Prepared>(&self, f: F) -> F::Out {
        struct Generate<F>(F, Time);
        impl<F: Prepared> Visitor for Generate<F> {
            type Out = F::Out;
            fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> F::Out {
                let partitions = (0..log.partitions())
                    .map(|p| log.cursor(p, 0).take(log.arrived_before(p, self.1) as usize).collect())
                    .collect();
                let log = VecLog::new(partitions).expect("a generated log is in arrival order");
                self.0.run(&job, &log, self.1)
            }
        }
        self.workload.visit(&self.log, Generate(f, self.end)).expect("the benchmark's workloads are valid")
    }
}

/// Work on a job and its input in memory.
pub trait Prepared {
    /// What it gives.
    type Out;
    /// Works on `job` over `log` up to `end`.
    fn run<J: Job>(self, job: &J, log: &VecLog<J::Event>, end: Time) -> Self::Out;
}

/// A variant that ran, with its cost and results.
#[derive(Clone, Debug)]
pub struct Ran {
    /// Events of the input.
    pub events: u64,
    /// What it cost.
    pub usage: Usage,
    /// Its results (final or not, in emission order).
    pub results: Vec<ResultLine>,
}

/// Why a variant's run is not usable.
#[derive(Debug)]
pub enum BenchError {
    /// The variant does not exist for the job (no minimal loop or no baseline).
    Unavailable,
    /// The engine failed.
    Engine(String),
    /// Its results are not the baseline's.
    Wrong(String),
}

/// Runs `variant` on `job` over `log` up to `end` once, measured.
pub fn run<J: Job>(variant: Variant, job: &J, log: &VecLog<J::Event>, end: Time) -> Result<Ran, BenchError> {
    let events = (0..log.partitions()).map(|p| log.arrived_before(p, end)).sum();
    let done = |usage, results| Ok(Ran { events, usage, results });
    match variant {
        Variant::Minimal => {
            let (b, usage) = Usage::measure(|| minimal::run(job as &dyn Any, log as &dyn Any, end));
            let b: Baseline = b.ok_or(BenchError::Unavailable)?;
            done(usage, b.results)
        }
        Variant::Baseline => {
            let (b, usage) = Usage::measure(|| job.baseline(log, end));
            done(usage, b.ok_or(BenchError::Unavailable)?.results)
        }
        Variant::Dataflow(p) => {
            let dir = Scratch::new("dataflow");
            let mut config = flowmark_dataflow::Config::new(&dir.0, arrived(end), end);
            config.parallelism = p;
            let metrics = Arc::new(flowmark_core::Metrics::default());
            let (r, usage) = Usage::measure(|| flowmark_dataflow::run(job, log, &config, metrics));
            r.map_err(|e| BenchError::Engine(e.to_string()))?;
            let out = flowmark_dataflow::output::read_committed(&config.output_dir)
                .map_err(|e| BenchError::Engine(e.to_string()))?;
            done(usage, out.into_iter().map(|e| e.line).collect())
        }
        Variant::Microbatch(p) => {
            let dir = Scratch::new("microbatch");
            let mut config = flowmark_microbatch::Config::new(&dir.0, arrived(end), end);
            config.parallelism = p;
            config.interval = SECOND;
            config.cut_at_ticks = true;
            let metrics = Arc::new(flowmark_core::Metrics::default());
            let (r, usage) = Usage::measure(|| flowmark_microbatch::run(job, log, &config, metrics));
            r.map_err(|e| BenchError::Engine(e.to_string()))?;
            let out = flowmark_microbatch::logs::read_committed(&config.checkpoint_dir, &config.output_dir)
                .map_err(|e| BenchError::Engine(e.to_string()))?;
            done(usage, out.into_iter().map(|e| e.line).collect())
        }
    }
}

/// Checks a variant's results against the baseline's: every final result equal, none missing,
/// none extra.
pub fn check(ran: &Ran, expected: &Expected) -> Result<(), BenchError> {
    let verdict = expected.check(&ran.results);
    if verdict.is_exact() { Ok(()) } else { Err(BenchError::Wrong(format!("{verdict:?}"))) }
}

/// The monotonic origin of a log whose whole input up to `end` has already arrived, so that an
/// engine reads it as fast as it can.
fn arrived(end: Time) -> Time {
    monotonic_now() - end - SECOND
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let dir = std::env::temp_dir().join(format!("flowmark-bench-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_workloads::jobs::sessions::SessionsSpec;
    use flowmark_workloads::jobs::wordcount::WordCountSpec;
    use flowmark_workloads::jobs::ysb::YsbSpec;
    use flowmark_workloads::{NexmarkSpec, Query};

    /// Runs the minimal loop and the baseline and compares them.
    struct Same;

    impl Prepared for Same {
        type Out = (Ran, Result<(), BenchError>);
        fn run<J: Job>(self, job: &J, log: &VecLog<J::Event>, end: Time) -> Self::Out {
            let baseline = run(Variant::Baseline, job, log, end).expect("every case has a baseline");
            let minimal = run(Variant::Minimal, job, log, end).expect("every case has a minimal loop");
            let verdict = check(&minimal, &Expected::from_lines(baseline.results.iter().cloned()));
            (minimal, verdict)
        }
    }

    #[test]
    fn every_minimal_loop_computes_the_baselines_results() {
        // delays past every job's watermark bound, so that many records are late; and event
        // times on a 10 ms grid (or a nanosecond before it), so that watermarks land on window
        // ends exactly: a boundary rule off by one changes the results
        let mut grid = Disorder::on_grid(10 * MILLISECOND, 600 * MILLISECOND);
        grid.late_fraction = 0.01;
        grid.late_delay = 1_500 * MILLISECOND;
        for disorder in [Disorder::uniform(3 * SECOND), grid] {
            for w in [
                WorkloadSpec::Wordcount(WordCountSpec { vocabulary: 1_000, ..Default::default() }),
                WorkloadSpec::Ysb(YsbSpec::default()),
                WorkloadSpec::Nexmark(NexmarkSpec::new(Query::Q5)),
                WorkloadSpec::Sessions(SessionsSpec { users: 1_000, ..Default::default() }),
            ] {
                let name = w.name();
                // 3 s of log time at 100 k events/s: windows fire before the end as well as at it
                let mut input = Input::new(w, 0);
                input.log.rate = RateProfile::constant(100_000.0);
                input.log.disorder = disorder;
                input.end = 3 * SECOND;
                let (minimal, verdict) = {
                    let _alone = usage::tests::ALONE.lock();
                    input.with(Same)
                };
                assert!(verdict.is_ok(), "{name}, {disorder:?}: {verdict:?}");
                assert!(minimal.events > 290_000, "{name}: {}", minimal.events);
                assert!(!minimal.results.is_empty(), "{name}");
            }
        }
    }
}
