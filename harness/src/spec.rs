//! One run, fully specified: what the harness hands an engine process, and what names its
//! results.

pub use crate::engines::EngineSpec;
use crate::suite::rates::Offered;
use flowmark_core::time::{MILLISECOND, SECOND, Time};
use flowmark_core::{CpuTax, Straggler, TaskFault};
use flowmark_workloads::{LogSpec, RateProfile, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A failure scenario, resolved to instants of one run's log time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Injection {
    /// The scenario's name.
    pub name: String,
    /// SIGKILL the engine process at these log times.
    pub crashes: Vec<Time>,
    /// How long after a crash the harness restarts the engine.
    pub restart_delay: Time,
    /// The moment each crash waits for, from its time on.
    #[serde(default)]
    pub crash_during: CrashMoment,
    /// A task fails inside the engine.
    pub task_failure: Option<TaskFault>,
    /// A task runs slowly.
    pub straggler: Option<Straggler>,
    /// Extra CPU work in every task (a known slowdown, for validating performance gates).
    #[serde(default)]
    pub cpu_tax: Option<CpuTax>,
    /// SIGKILL one worker of a real engine's cluster at this log time (chosen by the run's
    /// seed and key); the engine recovers by its own means.
    #[serde(default)]
    pub kill_worker: Option<Time>,
}

/// What a crash waits for once its time has come: the engine process is killed at the first
/// instant it is in that state (or after [`CrashMoment::WAIT`], whatever it is doing). Read
/// from the engine's directory, so only flowmark's engines have these moments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CrashMoment {
    /// Whatever the engine is doing.
    #[default]
    Anywhere,
    /// While it writes a durable file (a checkpoint's or state version's, a log entry, a
    /// result file): a temporary file exists. The engines then pause half-way through every
    /// such write ([`CrashMoment::SLOW_WRITE`]) to make the moment last.
    CheckpointWrite,
    /// While a checkpoint or batch is begun and not committed: the dataflow engine's newest
    /// checkpoint directory has no metadata yet; the micro-batch engine's newest batch is in
    /// its offset log and not its commit log.
    BetweenLogs,
}

impl CrashMoment {
    /// The longest a crash waits for its moment.
    pub const WAIT: Time = 2 * SECOND;

    /// How long the engines pause half-way through a durable write when crashes wait for one.
    pub const SLOW_WRITE: Time = 10 * MILLISECOND;

    /// The pause half-way through durable writes this moment asks of the engine.
    pub fn slow_write(self) -> Option<Time> {
        (self == CrashMoment::CheckpointWrite).then_some(Self::SLOW_WRITE)
    }

    /// Whether the engine whose directory is `dir` is in this moment now.
    pub fn reached(self, dir: &std::path::Path) -> bool {
        match self {
            CrashMoment::Anywhere => true,
            CrashMoment::CheckpointWrite => writing(dir),
            CrashMoment::BetweenLogs => {
                let checkpoints = dir.join("checkpoints");
                let newest = |d: &std::path::Path, strip: &str| {
                    std::fs::read_dir(d)
                        .into_iter()
                        .flatten()
                        .flatten()
                        .filter_map(|e| {
                            let name = e.file_name().to_str()?.to_string();
                            name.strip_prefix(strip)?.parse::<u64>().ok().map(|n| (n, e.path()))
                        })
                        .max()
                };
                match newest(&checkpoints.join("offsets"), "") {
                    Some((offsets, _)) => {
                        newest(&checkpoints.join("commits"), "").is_none_or(|(c, _)| c < offsets)
                    }
                    None => newest(&checkpoints, "chk-").is_some_and(|(_, d)| !d.join("_metadata").exists()),
                }
            }
        }
    }
}

/// Whether a temporary file (a durable write in progress) exists anywhere under `dir`.
fn writing(dir: &std::path::Path) -> bool {
    std::fs::read_dir(dir).into_iter().flatten().flatten().any(|e| {
        let path = e.path();
        if path.is_dir() { writing(&path) } else { path.extension().is_some_and(|x| x == "tmp") }
    })
}

impl Injection {
    /// Whether nothing is injected.
    pub fn is_none(&self) -> bool {
        self.crashes.is_empty()
            && self.task_failure.is_none()
            && self.straggler.is_none()
            && self.cpu_tax.is_none()
    }
}

/// How to search a sustainable rate (see `throughput`); each probe has the warm-up and
/// measured period of the search's base run.
#[derive(Clone, Debug)]
pub struct SearchPlan {
    /// The first rate tried.
    pub start: f64,
    /// Probes in all.
    pub steps: u32,
    /// Fractions of the rate found at which latency is measured.
    pub fractions: Vec<f64>,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Unique in its suite: the key and the repetition.
    pub id: String,
    /// The configuration without the repetition.
    pub key: String,
    /// Repetition (0-based).
    pub repetition: u32,
    /// The engine.
    pub engine: EngineSpec,
    /// The workload.
    pub workload: WorkloadSpec,
    /// The name its results go by (the suite's for the workload, by default the workload's own).
    pub workload_name: String,
    /// The log.
    pub log: LogSpec,
    /// The log's input rate, events per second: its highest, when it changes.
    pub rate: f64,
    /// The load as the suite names it: the rate, `0.5x`, a profile's name.
    #[serde(default)]
    pub load: String,
    /// A load given as a multiple of the sustainable rate: the run's log is set from the
    /// search's result (by [`RunSpec::offer`]) before it runs.
    #[serde(skip)]
    pub pending: Option<Offered>,
    /// The disorder level's name.
    pub disorder: String,
    /// The failure scenario.
    pub failure: Injection,
    /// Before measurement.
    pub warmup: Time,
    /// The measured period; the input ends at `warmup + measure`.
    pub measure: Time,
    /// A run that takes longer than this (wall time) is killed and marked failed.
    pub timeout: Time,
}

impl RunSpec {
    /// The base run of a sustainable-throughput search: `engine` on `workload` with no
    /// failure; its rate is set per probe.
    pub fn search(
        engine: EngineSpec,
        workload: WorkloadSpec,
        workload_name: &str,
        log: LogSpec,
        disorder: &str,
        warmup: Time,
        measure: Time,
    ) -> RunSpec {
        let key = search_key(workload_name, &engine);
        RunSpec {
            id: key.clone(),
            key,
            repetition: 0,
            engine,
            workload,
            workload_name: workload_name.into(),
            rate: 0.0,
            load: String::new(),
            pending: None,
            log,
            disorder: disorder.into(),
            failure: Injection { name: "none".into(), ..Default::default() },
            warmup,
            measure,
            // an engine that cannot keep up takes as long again to drain its backlog
            timeout: 3 * (warmup + measure) + 30 * SECOND,
        }
    }

    /// The end of the input, in log time.
    pub fn end(&self) -> Time {
        self.warmup + self.measure
    }

    /// The key of the search that finds this run's sustainable rate.
    pub fn search_key(&self) -> String {
        search_key(&self.workload_name, &self.engine)
    }

    /// Offers `profile`: the run's log takes it, its rate is its highest, and its timeout
    /// grows by the time the reference may take over its events (see [`REFERENCE_FLOOR`]).
    pub fn offer(&mut self, profile: RateProfile) {
        let events = profile.schedule().map_or(0, |s| s.due_before(self.end()));
        self.timeout += (events as f64 / REFERENCE_FLOOR * SECOND as f64) as Time;
        self.rate = profile.peak();
        if let RateProfile::Constant { rate } = profile
            && self.load.is_empty()
        {
            self.load = format!("{rate}");
        }
        self.log.rate = profile;
        self.pending = None;
    }
}

/// The reference evaluates at least this many events per second (about 2 M on one core of
/// the machine the docs were measured on): a run whose rate is set late (a probe, a load
/// relative to the sustainable rate) gets this long more for it.
pub const REFERENCE_FLOOR: f64 = 1e6;

/// The key of the search of `engine`'s sustainable rate on the workload named `workload_name`.
pub fn search_key(workload_name: &str, engine: &EngineSpec) -> String {
    flowmark_reports::slug(&format!("{workload_name}.{}", engine.key()))
}

/// What an engine process is told: the run, the shared origin and where to keep its files.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkerSpec {
    /// The run.
    pub run: RunSpec,
    /// CLOCK_MONOTONIC nanoseconds of log time 0.
    pub origin: Time,
    /// The engine's checkpoint and output directory (kept across restarts).
    pub dir: PathBuf,
    /// How often to report a sample.
    pub sample_every: Time,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn a_crash_moment_is_read_from_the_engines_directory() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        let (offsets, commits) = (dir.join("checkpoints/offsets"), dir.join("checkpoints/commits"));
        fs::create_dir_all(&offsets).unwrap();
        fs::create_dir_all(&commits).unwrap();
        assert!(CrashMoment::Anywhere.reached(dir));
        assert!(!CrashMoment::CheckpointWrite.reached(dir));
        assert!(!CrashMoment::BetweenLogs.reached(dir), "no batch yet");
        // micro-batch: batch 3 in the offset log, 2 committed; then 3 committed too
        fs::write(offsets.join("0000000003"), "").unwrap();
        fs::write(commits.join("0000000002"), "").unwrap();
        assert!(CrashMoment::BetweenLogs.reached(dir));
        fs::write(commits.join("0000000003"), "").unwrap();
        assert!(!CrashMoment::BetweenLogs.reached(dir), "the batch is committed");
        // a durable write in progress, deep in the tree
        fs::create_dir_all(dir.join("checkpoints/state/1/0")).unwrap();
        fs::write(dir.join("checkpoints/state/1/0/0000000004.delta.tmp"), "").unwrap();
        assert!(CrashMoment::CheckpointWrite.reached(dir));

        // dataflow: the newest checkpoint directory without its metadata
        let d = tempfile::tempdir().unwrap();
        let dir = d.path();
        for (id, complete) in [(7, true), (8, false)] {
            let chk = dir.join(format!("checkpoints/chk-{id:08}"));
            fs::create_dir_all(&chk).unwrap();
            if complete {
                fs::write(chk.join("_metadata"), "").unwrap();
            }
        }
        assert!(CrashMoment::BetweenLogs.reached(dir));
        fs::write(dir.join("checkpoints/chk-00000008/_metadata"), "").unwrap();
        assert!(!CrashMoment::BetweenLogs.reached(dir));
    }
}
