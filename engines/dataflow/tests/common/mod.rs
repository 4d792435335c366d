//! Shared by the integration tests: run a workload on the engine and on the reference, and
//! compare.

#![allow(dead_code)]

use flowmark_core::Metrics;
use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Expected, Job, Log, ResultLine, Time, TimeDomain, Verdict};
use flowmark_dataflow::{Config, output};
use flowmark_reference::Input;
use flowmark_workloads::{Disorder, LogSpec, RateProfile, Visitor};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// A fresh directory for one test run.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("flowmark-dataflow-{name}-")).tempdir().unwrap()
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

/// What a worker process runs: word count over a seeded log, with the config given.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct WorkerSpec {
    pub config: Config,
    pub log: LogSpec,
}

/// The environment variable that makes a test binary a worker.
pub const WORKER: &str = "FLOWMARK_TEST_WORKER";

/// The job the crash tests run, and its log.
pub fn crash_job(
    log: &LogSpec,
) -> (
    flowmark_workloads::jobs::wordcount::WordCount,
    flowmark_workloads::GeneratedLog<flowmark_workloads::jobs::wordcount::Words>,
) {
    use flowmark_workloads::jobs::wordcount::{WordCount, WordCountSpec, Words};
    let spec = WordCountSpec { vocabulary: 2_000, window: 500 * MILLISECOND, ..Default::default() };
    (
        WordCount::new(&spec).unwrap(),
        flowmark_workloads::GeneratedLog::new(log, Words::new(2_000, 1.0).unwrap()).unwrap(),
    )
}

/// In a worker process: runs the spec in the environment variable, then exits.
pub fn worker_main() {
    let Ok(path) = std::env::var(WORKER) else { return };
    let spec: WorkerSpec = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (job, log) = crash_job(&spec.log);
    flowmark_dataflow::run(&job, &log, &spec.config, Arc::new(Metrics::default())).unwrap();
}

/// The command of a worker process (this test binary, running only `worker_entry`).
fn worker(dir: &Path, spec: &WorkerSpec, n: usize) -> std::process::Command {
    let path = dir.join(format!("worker-{n}.json"));
    std::fs::write(&path, serde_json::to_string(spec).unwrap()).unwrap();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "worker_entry", "--test-threads", "1", "--nocapture"])
        .env(WORKER, &path)
        .stdout(std::process::Stdio::null());
    cmd
}

/// Starts a worker process.
pub fn spawn_worker(dir: &Path, spec: &WorkerSpec, n: usize) -> std::process::Child {
    worker(dir, spec, n).spawn().unwrap()
}

/// Runs a worker process to its end: whether it succeeded, and what it said on stderr.
pub fn run_worker(dir: &Path, spec: &WorkerSpec, n: usize) -> (bool, String) {
    let out = worker(dir, spec, n).stderr(std::process::Stdio::piped()).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Whether a checkpoint file is being written right now.
pub fn writing_checkpoint(checkpoints: &Path) -> bool {
    let Ok(dirs) = std::fs::read_dir(checkpoints) else { return false };
    dirs.filter_map(|d| d.ok()).any(|d| {
        std::fs::read_dir(d.path())
            .map(|fs| fs.filter_map(|f| f.ok()).any(|f| f.file_name().to_string_lossy().ends_with(".tmp")))
            .unwrap_or(false)
    })
}

/// Completed checkpoints on disk.
pub fn completed(checkpoints: &Path) -> Vec<u64> {
    let Ok(dirs) = std::fs::read_dir(checkpoints) else { return vec![] };
    let mut ids: Vec<u64> = dirs
        .filter_map(|d| d.ok())
        .filter(|d| d.path().join("_metadata").exists())
        .filter_map(|d| d.file_name().to_str()?.strip_prefix("chk-")?.parse().ok())
        .collect();
    ids.sort();
    ids
}

/// The committed output checked against the reference.
pub fn check_output(spec: &WorkerSpec) -> Verdict {
    let (job, log) = crash_job(&spec.log);
    let (expected, _) = reference(&job, &log, spec.config.end, spec.config.domain);
    let emitted = output::read_committed(&spec.config.output_dir).unwrap();
    let lines: Vec<ResultLine> = emitted.into_iter().map(|e| e.line).collect();
    assert!(!expected.is_empty());
    expected.check(&lines)
}

/// A tiny deterministic random source for choosing kill times.
pub fn pick(seed: &mut u64, lo: u64, hi: u64) -> u64 {
    *seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    lo + (*seed >> 33) % (hi - lo)
}
