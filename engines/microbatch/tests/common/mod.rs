//! Shared by the integration tests: run a workload on the engine and on the reference, and
//! compare.

#![allow(dead_code)]

use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Expected, Job, Log, Metrics, ResultLine, Time, TimeDomain, Verdict};
use flowmark_microbatch::{Config, logs};
use flowmark_reference::Input;
use flowmark_workloads::jobs::wordcount::{WordCount, WordCountSpec, Words};
use flowmark_workloads::{Disorder, GeneratedLog, LogSpec, RateProfile, Visitor};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A fresh directory for one test run.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("flowmark-microbatch-{name}-")).tempdir().unwrap()
}

/// A log on the window edges ([`Disorder::edges`]).
pub fn edge_log_spec(seed: u64, rate: f64, bound: Time) -> LogSpec {
    LogSpec { seed, partitions: 4, rate: RateProfile::constant(rate), disorder: Disorder::edges(bound) }
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

/// A run whose whole input has already arrived, read one batch interval at a time.
pub fn replay(dir: &Path, parallelism: usize, interval: Time, end: Time) -> Config {
    let mut c = Config::new(dir, monotonic_now() - end - SECOND, end);
    c.parallelism = parallelism;
    c.interval = interval;
    c.cut_at_ticks = true;
    c.snapshot_every = 4;
    c
}

/// The committed results.
pub fn committed(config: &Config) -> Vec<ResultLine> {
    logs::read_committed(&config.checkpoint_dir, &config.output_dir)
        .unwrap()
        .into_iter()
        .map(|e| e.line)
        .collect()
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
    pub batches: u64,
}

impl Visitor for Compare {
    type Out = Compared;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Compared {
        let metrics = Arc::new(Metrics::default());
        let summary = flowmark_microbatch::run(&job, &log, &self.config, metrics.clone()).unwrap();
        let out =
            flowmark_reference::run(&job, &log, Input { end: self.config.end, domain: self.config.domain });
        let expected = Expected::from_lines(out.sinks.values().flatten().map(|e| e.line.clone()));
        Compared {
            verdict: expected.check(&committed(&self.config)),
            expected: expected.len(),
            late_expected: out.late_events(),
            late_seen: metrics.late_events.load(Ordering::Relaxed),
            batches: summary.batches,
        }
    }
}

/// The job the crash tests run, and its log.
pub fn crash_job(log: &LogSpec) -> (WordCount, GeneratedLog<Words>) {
    let spec = WordCountSpec { vocabulary: 2_000, window: 500 * MILLISECOND, ..Default::default() };
    (WordCount::new(&spec).unwrap(), GeneratedLog::new(log, Words::new(2_000, 1.0).unwrap()).unwrap())
}

/// The committed output of a crash-test run checked against the reference.
pub fn check_output(config: &Config, log: &LogSpec) -> Verdict {
    let (job, log) = crash_job(log);
    let out = flowmark_reference::run(&job, &log, Input { end: config.end, domain: TimeDomain::Event });
    let expected = Expected::from_lines(out.sinks.values().flatten().map(|e| e.line.clone()));
    assert!(!expected.is_empty());
    expected.check(&committed(config))
}
