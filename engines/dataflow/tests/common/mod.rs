//! Shared by the integration tests: run a workload on the engine and on the reference, and
//! compare.

#![allow(dead_code)]

use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Expected, Job, Log, ResultLine, Time, TimeDomain, Verdict};
use flowmark_dataflow::{Config, Metrics, output};
use flowmark_reference::Input;
use flowmark_workloads::{Disorder, LogSpec, RateProfile, Visitor};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A fresh directory for one test run.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("flowmark-dataflow-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A log with disorder within `bound`, and 0.5 % of events a further 3 s late.
pub fn log_spec(seed: u64, rate: f64, bound: Time) -> LogSpec {
    LogSpec {
        seed,
        partitions: 4,
        rate: RateProfile::constant(rate),
        disorder: Disorder::uniform(bound).with_late(0.005, 3 * SECOND),
    }
}

/// A config for a run whose whole input (`end` of log time) has already arrived: the engine
/// reads as fast as it can.
pub fn catch_up(dir: &Path, parallelism: usize, end: Time) -> Config {
    let mut c = Config::new(dir, monotonic_now() - end - SECOND, end);
    c.parallelism = parallelism;
    c.checkpoint_interval = Some(50 * MILLISECOND);
    c
}

/// What the reference computes, and how many late events it drops.
pub fn reference<J: Job, L: Log<Event = J::Event>>(
    job: &J,
    log: &L,
    end: Time,
    domain: TimeDomain,
) -> (Expected, u64) {
    let out = flowmark_reference::run(job, log, Input { end, domain });
    let lines: Vec<ResultLine> = out.sinks.values().flatten().map(|e| e.line.clone()).collect();
    (Expected::from_lines(lines), out.late_events())
}

/// Runs on the engine and checks against the reference.
pub struct Compare {
    pub config: Config,
}

/// The outcome of a comparison.
#[derive(Debug)]
pub struct Compared {
    pub verdict: Verdict,
    pub expected: usize,
    pub late_expected: u64,
    pub late_seen: u64,
}

impl Visitor for Compare {
    type Out = Compared;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Compared {
        let metrics = Arc::new(Metrics::default());
        flowmark_dataflow::run(&job, &log, &self.config, metrics.clone()).unwrap();
        let (expected, late_expected) = reference(&job, &log, self.config.end, self.config.domain);
        let emitted = output::read_committed(&self.config.output_dir).unwrap();
        let lines: Vec<ResultLine> = emitted.into_iter().map(|e| e.line).collect();
        Compared {
            verdict: expected.check(&lines),
            expected: expected.len(),
            late_expected,
            late_seen: metrics.late_events.load(Ordering::Relaxed),
        }
    }
}
