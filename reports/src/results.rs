//! The result directory: what a suite writes as it runs and what reports are rendered from.
//!
//! ```text
//! <dir>/manifest.json       the suite, its file, seed, revision, machine, versions
//! <dir>/runs/<id>.json      one finished run (the unit of completion: written atomically, last)
//! <dir>/runs.csv            one row per finished run (regenerated from runs/)
//! <dir>/timeline.csv        per run, per second (regenerated from runs/)
//! <dir>/latency/<id>.hlog   the run's due-time latency, one HdrHistogram per second
//! <dir>/outputs/<id>.tsv    the committed results the correctness check read
//! ```
//!
//! Every duration is in milliseconds (`_ms`), every rate in events (or results) per second.

use flowmark_core::durable::{DurableError, write_atomic};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A result directory that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    /// A file is missing or unreadable.
    #[error("cannot read {path}: {error}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why (in the message, not a source of its own: an error chain would say it twice).
        error: std::io::Error,
    },
    /// A file does not hold what it should.
    #[error("{path} is corrupt: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Writing failed.
    #[error(transparent)]
    Write(#[from] DurableError),
}

/// The machine a result set was measured on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Host name.
    pub hostname: String,
    /// CPU model.
    pub cpu: String,
    /// Logical cores.
    pub cores: usize,
    /// Physical memory, bytes.
    pub memory_bytes: u64,
    /// Operating system and kernel.
    pub os: String,
}

/// What made a result set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The suite's name.
    pub suite: String,
    /// The suite file's path as given, and its full text.
    pub suite_file: String,
    /// The suite file's text, so that the set can be resumed and re-read without it.
    pub suite_text: String,
    /// The suite's seed.
    pub seed: u64,
    /// Runs the suite makes.
    pub planned_runs: usize,
    /// When it started (UTC, RFC 3339).
    pub started: String,
    /// The git revision of the checkout (with `-dirty` when it had uncommitted changes).
    pub revision: String,
    /// The machine.
    pub machine: Machine,
    /// Versions: flowmark, rustc.
    pub versions: BTreeMap<String, String>,
    /// The command line.
    pub command: String,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "status", content = "reason")]
pub enum Status {
    /// It ran to the end and its results equal the reference's.
    Ok,
    /// It ran to the end but its results differ from the reference's.
    Incorrect(String),
    /// It did not finish (timed out, or the engine failed).
    Failed(String),
}

impl Status {
    /// A word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Incorrect(_) => "INCORRECT",
            Status::Failed(_) => "FAILED",
        }
    }
}

/// One injected failure and the engine's recovery from it. The phases follow one another:
/// detection (a task failure, a killed worker) or restart delay (a crash), restore, catch-up.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    /// The kind: `crash`, `task-failure`, `kill-worker`.
    pub kind: String,
    /// What was killed, for a killed worker: which process of the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub killed: Option<String>,
    /// When it was injected, seconds from the start of the measured period.
    pub at_s: f64,
    /// Until the engine noticed the failure itself (a task failure, a killed worker); `None`
    /// for a crash, which the harness injects and acts on.
    #[serde(default)]
    pub detection_ms: Option<f64>,
    /// A crash: from the kill until the harness started the engine again (the scenario's
    /// `restart_delay`, as it happened).
    #[serde(default)]
    pub restart_delay_ms: f64,
    /// From the restart (or the detection) until state was back and input was read again.
    pub restore_ms: f64,
    /// From then until every result's due-time latency and the backlog were back within
    /// their pre-failure levels, to stay there for the settled period; `None` if they never
    /// were before the input ended.
    pub catch_up_ms: Option<f64>,
    /// Recovery from the failure: the sum of the phases; `None` if the engine did not catch
    /// up.
    pub total_ms: Option<f64>,
    /// Recovery from the restart (or the detection): restore and catch-up.
    #[serde(default)]
    pub from_restart_ms: Option<f64>,
    /// A crash meant for a moment (`during`) that did not come within the harness's wait for
    /// it (2 s): it came at its time plus the wait, wherever the engine then was.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub moment_missed: bool,
}

impl Recovery {
    /// From the failure until the engine was restarted or noticed it: the restart delay or
    /// the detection.
    pub fn until_restart_ms(&self) -> f64 {
        self.detection_ms.unwrap_or(0.0) + self.restart_delay_ms
    }
}

/// A failure injected into a run, as scheduled: charts mark it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// `crash`, `task-failure` or `straggler`.
    pub kind: String,
    /// When it starts, seconds from the start of the measured period.
    pub from_s: f64,
    /// When it ends (a straggler's slow period; the same instant for the others).
    pub to_s: f64,
}

/// Latency percentiles of one metric, milliseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Results measured.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// 99.9th percentile.
    pub p999_ms: f64,
    /// Maximum.
    pub max_ms: f64,
    /// Mean.
    pub mean_ms: f64,
}

/// The percentiles at which latency distributions are kept: the HdrHistogram "nines".
pub const NINES: [f64; 11] = [0.0, 0.5, 0.75, 0.9, 0.95, 0.99, 0.995, 0.999, 0.9995, 0.9999, 1.0];

/// Latency distributions: `(percentile, milliseconds)` at [`NINES`].
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Curves {
    /// Due-time latency.
    pub due: Vec<(f64, f64)>,
    /// Event-time latency.
    pub event: Vec<(f64, f64)>,
    /// Processing-time latency.
    pub processing: Vec<(f64, f64)>,
}

/// Correctness against the reference engine.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Correctness {
    /// Results the reference has that the engine committed with the same value.
    pub correct: u64,
    /// Results the reference has that the engine never committed.
    pub missing: u64,
    /// Results committed more than once.
    pub duplicated: u64,
    /// Results whose last committed value differs from the reference's.
    pub wrong: u64,
    /// Results the reference does not have.
    pub unexpected: u64,
    /// Late events the engine dropped (its own count, over all its processes).
    pub late_dropped: u64,
    /// Late events the reference drops under the same allowed lateness.
    pub late_expected: u64,
}

impl Correctness {
    /// Whether the results equal the reference's.
    pub fn exact(&self) -> bool {
        self.missing == 0 && self.duplicated == 0 && self.wrong == 0 && self.unexpected == 0
    }
}

/// Mean latency of a result split into its parts (milliseconds): they add up to the mean
/// event-time-after-arrival latency, `emit − max a_i`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Anatomy {
    /// `due − max a_i`: waiting for the watermark.
    pub watermark_wait_ms: f64,
    /// From `due` to the start of the batch that processed the result (micro-batch only).
    pub batch_wait_ms: f64,
    /// The rest: processing, queueing and commit.
    pub processing_ms: f64,
}

/// Checkpoints (dataflow) or batch commits (micro-batch) during the measured period.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoints {
    /// How many completed.
    pub count: u64,
    /// Mean time from trigger (or batch start) to completion.
    pub mean_duration_ms: f64,
    /// Mean bytes of state written per checkpoint or batch.
    pub mean_bytes: f64,
}

/// The numbers of one run. Latencies are of results due inside the measured period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    /// Input events consumed per second over the measured period (for the baseline: the events
    /// it processed per second, flat out).
    pub input_rate: f64,
    /// Results emitted per second over the measured period.
    pub output_rate: f64,
    /// Due-time latency: `emit − due`.
    pub due: Percentiles,
    /// Event-time latency: `emit − t_ref`.
    pub event: Percentiles,
    /// Processing-time latency: `emit − max a_i`.
    pub processing: Percentiles,
    /// Commit latency: `commit − t_ref`.
    pub commit: Percentiles,
    /// Due-time latency when the result became visible, `max(commit, emit) − due`, for the
    /// results an exactly-once sink committed (none for other runs).
    #[serde(default)]
    pub visible: Percentiles,
    /// The latency distributions.
    #[serde(default)]
    pub curves: Curves,
    /// The mean latency's parts.
    pub anatomy: Anatomy,
    /// Largest backlog seen in the measured period.
    pub max_backlog_ms: f64,
    /// Checkpoints or batch commits.
    pub checkpoints: Checkpoints,
    /// Correctness.
    pub correctness: Correctness,
    /// CPU time of the engine process(es), user + system, seconds.
    pub cpu_s: f64,
    /// Peak resident memory of an engine process, bytes.
    pub peak_rss_bytes: u64,
    /// Engine processes started (1 + crashes).
    pub starts: u32,
    /// Input events the log offered the run, warm-up included (every event arriving before
    /// the input ended).
    #[serde(default)]
    pub events: u64,
    /// CPU time of the engine process(es) within the measured period, seconds (from their
    /// samples: start-up, the drain after the input ended and the time a process was down are
    /// left out).
    #[serde(default)]
    pub period_cpu_s: f64,
    /// CPU time of the threads that ran the job's tasks within the measured period, seconds
    /// (as the engine counted it; 0 from an engine that does not: a real engine).
    #[serde(default)]
    pub period_task_cpu_s: f64,
    /// Input events the engine read within the measured period (re-reads after a crash
    /// count: they are work done).
    #[serde(default)]
    pub period_events: u64,
    /// CPU time of the harness process while the engine ran, user + system, seconds: what
    /// the harness took from the machine beside the engine (the reference is evaluated after,
    /// in a process of its own).
    #[serde(default)]
    pub harness_cpu_s: f64,
    /// Peak resident memory of the reference's process, bytes: what holding the run's log
    /// took (see `docs/metrics.md`, "The harness's own limits").
    #[serde(default)]
    pub reference_peak_rss_bytes: u64,
    /// A run in processing time: how far its results are from the event-time truth.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain_error: Option<DomainError>,
    /// A run whose offered load changes (a burst, a step, a ramp): how it coped with the
    /// first change in the measured period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load_change: Option<LoadChange>,
    /// Per stage, what its tasks took in over the measured period and how long they waited
    /// on full output channels.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageLoad>,
}

/// How a run coped with a change of its offered load (`docs/metrics.md`, "Changes of load").
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct LoadChange {
    /// The profile: burst, step or ramp.
    pub kind: String,
    /// When the change started, seconds into the measured period.
    pub start_s: f64,
    /// When it ended (the burst's or the ramp's end; a step ends as it starts).
    pub end_s: f64,
    /// The backlog level before it: the largest backlog before the change, with its slack
    /// (as a recovery's level).
    pub backlog_level_ms: f64,
    /// The latency level before it: the largest due-time latency of a result before the
    /// change, with its slack.
    pub latency_level_ms: f64,
    /// The largest backlog from the change's start to the end of the input.
    pub peak_backlog_ms: f64,
    /// The due-time p99 of the results due from the change's start until it drained (or
    /// the input ended).
    pub p99_during_ms: f64,
    /// From the change's end until the backlog and every result's latency were back within
    /// their levels, to stay; `None` when that did not happen before the input ended.
    pub drain_ms: Option<f64>,
}

/// One stage's tasks over the measured period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StageLoad {
    /// The stage (`1 window`, `stage 0`).
    pub stage: String,
    /// Events or records each task took in, by task index.
    pub events: Vec<u64>,
    /// The share of the measured period each task spent blocked on a full output channel.
    pub blocked_share: Vec<f64>,
}

impl StageLoad {
    /// Load imbalance: the most events a task took in over the mean (1 when even; `None`
    /// when no task took any).
    pub fn imbalance(&self) -> Option<f64> {
        let total: u64 = self.events.iter().sum();
        let max = *self.events.iter().max()?;
        (total > 0).then(|| max as f64 * self.events.len() as f64 / total as f64)
    }
}

/// How far the results of a run in processing time are from the event-time reference's:
/// each final result (the last value committed for a key and window) against the event-time
/// result for the same key and window.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DomainError {
    /// Results (key and window) the run or the event-time reference has.
    pub windows: u64,
    /// Of them, those whose value differs from the event-time one, or that only one side has.
    pub wrong_windows: u64,
    /// Mean of `|value − truth| / |truth|` over the event-time results with a non-zero
    /// number as their value (a result the run lacks counts as zero); `None` when none has.
    pub mean_relative_error: Option<f64>,
    /// Input events (arrived before the input ended).
    pub events: u64,
    /// Of them, those whose arrival falls in other windows than their event time (`None`
    /// for a job without windows over its input, or with session windows).
    pub misplaced_events: Option<u64>,
}

/// One second of one run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Second {
    /// Seconds since the start of the measured period (negative during warm-up).
    pub t_s: f64,
    /// Input events consumed in this second.
    pub input_rate: f64,
    /// Results emitted in this second.
    pub output_rate: f64,
    /// Backlog at the end of the second.
    pub backlog_ms: f64,
    /// Due-time latency of the results emitted in this second.
    pub p50_ms: f64,
    /// 99th percentile of the same.
    pub p99_ms: f64,
    /// Maximum of the same.
    pub max_ms: f64,
    /// 99th percentile of the due-time latency of the results that became visible (their
    /// checkpoint or batch committed) in this second; 0 when none did.
    #[serde(default)]
    pub visible_p99_ms: f64,
    /// Events the log offered in this second (its schedule: the rate profile).
    #[serde(default)]
    pub offered_rate: f64,
    /// Micro-batch with back-pressure: the rate its controller allowed at the end of the
    /// second, events per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
}

/// One finished run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// A name unique in the set: configuration and repetition.
    pub id: String,
    /// The configuration without the repetition: runs with the same key are repetitions, and
    /// `compare` matches runs across sets by it.
    pub key: String,
    /// Repetition number (0-based).
    pub repetition: u32,
    /// The engine.
    pub engine: String,
    /// The workload.
    pub workload: String,
    /// The scenario: disorder and failure names.
    pub disorder: String,
    /// The failure scenario's name.
    pub failure: String,
    /// Input rate, events per second (the highest, when the load changes).
    pub rate: f64,
    /// The load as the suite named it: the rate, a multiple of the sustainable rate (`0.5x`),
    /// a rate profile's name.
    #[serde(default)]
    pub load: String,
    /// Engine settings, as `name=value`.
    pub settings: BTreeMap<String, String>,
    /// The log's seed.
    pub seed: u64,
    /// The watermark bound of the workload (the least event-time latency of a window result).
    pub watermark_bound_ms: f64,
    /// Warm-up and measured period, seconds.
    pub warmup_s: f64,
    /// The measured period.
    pub measure_s: f64,
    /// How it ended.
    pub status: Status,
    /// Its numbers.
    pub metrics: Metrics,
    /// The failures injected, as scheduled.
    #[serde(default)]
    pub faults: Vec<Fault>,
    /// Recoveries from the injected failures.
    pub recoveries: Vec<Recovery>,
    /// Per second.
    pub timeline: Vec<Second>,
    /// Wall time the run took, seconds.
    pub wall_s: f64,
    /// The most events per second the harness could feed this engine with this log (the
    /// generator, or the log server for a real engine), measured on the machine; `None` when
    /// unknown.
    #[serde(default)]
    pub feed_capacity: Option<f64>,
}

/// The engine name of the single-threaded baseline's runs.
pub const BASELINE: &str = "baseline";

impl Run {
    /// Whether it is a run of the single-threaded baseline: it ran flat out, off the schedule,
    /// so it has a rate but no latencies.
    pub fn is_baseline(&self) -> bool {
        self.engine == BASELINE
    }

    /// Why the run measured the harness rather than the engine, when it did: its offered rate
    /// was above what the harness could feed. Its latencies and rates are then never shown as
    /// the engine's.
    pub fn harness_bound(&self) -> Option<String> {
        let capacity = self.feed_capacity.filter(|c| self.rate > *c && !self.is_baseline())?;
        Some(format!(
            "offered {:.3} M events/s; the harness feeds this engine at most {:.3} M events/s",
            self.rate / 1e6,
            capacity / 1e6
        ))
    }

    /// Its status in one word for tables: `harness-bound` for a run that finished but measured
    /// the harness, else its status's.
    pub fn status_word(&self) -> &'static str {
        match &self.status {
            Status::Ok if self.harness_bound().is_some() => "harness-bound",
            s => s.word(),
        }
    }

    /// The reason beside the status word, if there is one.
    pub fn status_reason(&self) -> String {
        match &self.status {
            Status::Ok => self.harness_bound().unwrap_or_default(),
            Status::Incorrect(s) | Status::Failed(s) => s.clone(),
        }
    }

    /// The run's scenario: disorder and failure.
    pub fn scenario(&self) -> String {
        format!("{}/{}", self.disorder, self.failure)
    }

    /// The scenario under its load (`burst-0.5x-3x — uniform/none`): what the report's
    /// tables and charts group runs by, so that runs at other loads are never averaged or
    /// drawn together.
    pub fn situation(&self) -> String {
        if self.load.is_empty() { self.scenario() } else { format!("{} — {}", self.load, self.scenario()) }
    }

    /// Settings as one string (`a=1 b=2`).
    pub fn settings_string(&self) -> String {
        self.settings.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ")
    }
}

/// One probe of a sustainable-throughput search.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Probe {
    /// The constant input rate tried.
    pub rate: f64,
    /// Whether the backlog stayed bounded.
    pub sustained: bool,
    /// Largest backlog in the probe's measured period.
    pub max_backlog_ms: f64,
    /// The largest backlog in the last stretch of its measured period.
    pub end_backlog_ms: f64,
    /// How much the least backlog grew from the first stretch of the measured period to the
    /// last (negative: it fell); absent when the probe was stopped early, or in results
    /// written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth_ms: Option<f64>,
}

/// A sustainable-throughput search (Karimov et al., ICDE 2018): the highest constant rate at
/// which the backlog stays bounded.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Search {
    /// The engine.
    pub engine: String,
    /// Its settings.
    pub settings: BTreeMap<String, String>,
    /// The workload.
    pub workload: String,
    /// The probes, in the order they ran.
    pub probes: Vec<Probe>,
    /// The highest rate sustained (0 if none was).
    pub sustainable: f64,
    /// The lowest rate not sustained: `None` when every probe was, and the search found only a
    /// lower bound.
    pub upper: Option<f64>,
    /// The most the harness could feed the engine (events/s): the search's upper bound.
    #[serde(default)]
    pub limit: Option<f64>,
    /// The single-thread baseline's rate on the same log at the sustainable rate (events/s).
    #[serde(default)]
    pub baseline: Option<f64>,
    /// The runs at fractions of it, by id.
    pub runs: Vec<String>,
}

impl Search {
    /// The rate found, as a figure with what bounds it: `12.3 M/s (not 12.9)` when a probe
    /// above failed; `≥ 40.0 M/s (harness limit)` when the engine sustained the most the
    /// harness could feed it; `≥ 8.0 M/s (probe cap)` when the search ran out of probes first.
    pub fn figure(&self) -> String {
        let m = |r: f64| format!("{:.2} M/s", r / 1e6);
        match (self.upper, self.limit) {
            (Some(u), _) => format!("{} (not {:.2})", m(self.sustainable), u / 1e6),
            (None, Some(l)) if self.sustainable >= l => format!("≥ {} (harness limit)", m(self.sustainable)),
            (None, _) => format!("≥ {} (probe cap)", m(self.sustainable)),
        }
    }
}

/// A result set read from disk.
#[derive(Clone, Debug)]
pub struct ResultSet {
    /// Its directory.
    pub dir: PathBuf,
    /// What made it.
    pub manifest: Manifest,
    /// Its finished runs, ordered by id.
    pub runs: Vec<Run>,
    /// Its sustainable-throughput searches.
    pub searches: Vec<Search>,
}

fn read(path: &Path) -> Result<String, ResultsError> {
    std::fs::read_to_string(path).map_err(|error| ResultsError::Read { path: path.to_path_buf(), error })
}

fn json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ResultsError> {
    serde_json::from_str(&read(path)?)
        .map_err(|e| ResultsError::Corrupt { path: path.to_path_buf(), reason: e.to_string() })
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ResultsError> {
    let text = serde_json::to_string_pretty(value).expect("result types serialize");
    Ok(write_atomic(path, text.as_bytes(), None)?)
}

/// The path of a run's record.
pub fn run_path(dir: &Path, id: &str) -> PathBuf {
    dir.join("runs").join(format!("{id}.json"))
}

/// Where a result directory keeps the search named `name`.
pub fn search_path(dir: &Path, name: &str) -> PathBuf {
    dir.join("throughput").join(format!("{name}.json"))
}

impl ResultSet {
    /// The run a search made at the fraction of its sustainable rate nearest one half: the
    /// configuration's latency under load.
    pub fn nearest_half(&self, s: &Search) -> Option<&Run> {
        let runs = self.runs.iter().filter(|r| s.runs.contains(&r.id));
        runs.min_by(|a, b| {
            (a.rate / s.sustainable - 0.5).abs().total_cmp(&(b.rate / s.sustainable - 0.5).abs())
        })
    }

    /// Reads a result directory.
    pub fn load(dir: &Path) -> Result<ResultSet, ResultsError> {
        let manifest: Manifest = json(&dir.join("manifest.json"))?;
        let runs_dir = dir.join("runs");
        let mut runs = Vec::new();
        if runs_dir.exists() {
            let entries = std::fs::read_dir(&runs_dir)
                .map_err(|error| ResultsError::Read { path: runs_dir.clone(), error })?;
            for e in entries {
                let e = e.map_err(|error| ResultsError::Read { path: runs_dir.clone(), error })?;
                let path = e.path();
                if path.extension().is_some_and(|x| x == "json") {
                    runs.push(json::<Run>(&path)?);
                }
            }
        }
        runs.sort_by(|a, b| a.id.cmp(&b.id));
        let mut searches = Vec::new();
        let search_dir = dir.join("throughput");
        if search_dir.exists() {
            let entries = std::fs::read_dir(&search_dir)
                .map_err(|error| ResultsError::Read { path: search_dir.clone(), error })?;
            let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).collect();
            paths.sort();
            for path in paths.iter().filter(|p| p.extension().is_some_and(|x| x == "json")) {
                searches.push(json::<Search>(path)?);
            }
        }
        Ok(ResultSet { dir: dir.to_path_buf(), manifest, runs, searches })
    }

    /// Writes the manifest.
    pub fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), ResultsError> {
        std::fs::create_dir_all(dir.join("runs")).map_err(DurableError::io("create", dir))?;
        write_json(&dir.join("manifest.json"), manifest)
    }

    /// Writes one finished run's record (the last file a run writes).
    pub fn write_run(dir: &Path, run: &Run) -> Result<(), ResultsError> {
        write_json(&run_path(dir, &run.id), run)
    }

    /// Writes a sustainable-throughput search.
    pub fn write_search(dir: &Path, name: &str, search: &Search) -> Result<(), ResultsError> {
        let sub = dir.join("throughput");
        std::fs::create_dir_all(&sub).map_err(DurableError::io("create", &sub))?;
        write_json(&search_path(dir, name), search)
    }

    /// Reads one sustainable-throughput search.
    pub fn read_search(dir: &Path, name: &str) -> Result<Search, ResultsError> {
        json(&search_path(dir, name))
    }

    /// Regenerates `runs.csv` and `timeline.csv` from the run records.
    pub fn write_tables(&self) -> Result<(), ResultsError> {
        write_atomic(&self.dir.join("runs.csv"), runs_csv(&self.runs).as_bytes(), None)?;
        write_atomic(&self.dir.join("timeline.csv"), timeline_csv(&self.runs).as_bytes(), None)?;
        Ok(())
    }
}

/// The columns of `runs.csv` before the metrics: what the run was.
const RUN_COLUMNS: [&str; 11] = [
    "id",
    "engine",
    "workload",
    "rate",
    "disorder",
    "failure",
    "settings",
    "repetition",
    "seed",
    "status",
    "reason",
];

fn csv_text(w: csv::Writer<Vec<u8>>) -> String {
    let bytes = w.into_inner().expect("writing to memory cannot fail");
    String::from_utf8(bytes).expect("every field written is UTF-8")
}

/// `runs.csv`: one row per run — what it was, then every metric of
/// [`METRICS`](crate::metrics::METRICS) shown in `runs.csv`.
pub fn runs_csv(runs: &[Run]) -> String {
    let metrics: Vec<_> = crate::metrics::in_view(crate::metrics::View::Csv).collect();
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = RUN_COLUMNS.iter().copied().chain(metrics.iter().map(|m| m.name));
    w.write_record(header).expect("writing to memory cannot fail");
    for r in runs {
        let reason = r.status_reason();
        let what = [
            r.id.clone(),
            r.engine.clone(),
            r.workload.clone(),
            r.rate.to_string(),
            r.disorder.clone(),
            r.failure.clone(),
            r.settings_string(),
            r.repetition.to_string(),
            r.seed.to_string(),
            r.status_word().to_string(),
            reason,
        ];
        let record = what.into_iter().chain(metrics.iter().map(|m| m.csv(r)));
        w.write_record(record).expect("writing to memory cannot fail");
    }
    csv_text(w)
}

/// `timeline.csv`: per run, per second.
pub fn timeline_csv(runs: &[Run]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "id",
        "t_s",
        "input_rate",
        "output_rate",
        "backlog_ms",
        "p50_ms",
        "p99_ms",
        "max_ms",
        "visible_p99_ms",
        "offered_rate",
        "rate_limit",
    ])
    .expect("writing to memory cannot fail");
    // a second without results has no latency (0 is not one: every latency is at least 1 ns)
    let latency = |v: f64| if v > 0.0 { format!("{v:.3}") } else { String::new() };
    for r in runs {
        for s in &r.timeline {
            w.write_record([
                r.id.clone(),
                s.t_s.to_string(),
                format!("{:.0}", s.input_rate),
                format!("{:.0}", s.output_rate),
                format!("{:.3}", s.backlog_ms),
                latency(s.p50_ms),
                latency(s.p99_ms),
                latency(s.max_ms),
                latency(s.visible_p99_ms),
                format!("{:.0}", s.offered_rate),
                s.rate_limit.map_or(String::new(), |l| format!("{l:.0}")),
            ])
            .expect("writing to memory cannot fail");
        }
    }
    csv_text(w)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A manifest of nothing in particular.
    pub fn manifest() -> Manifest {
        Manifest {
            suite: "t".into(),
            suite_file: String::new(),
            suite_text: String::new(),
            seed: 1,
            planned_runs: 0,
            started: String::new(),
            revision: String::new(),
            machine: Machine::default(),
            versions: BTreeMap::new(),
            command: String::new(),
        }
    }

    /// A run with no numbers yet.
    pub fn run(id: &str) -> Run {
        Run {
            id: id.into(),
            key: id.into(),
            repetition: 0,
            engine: "dataflow".into(),
            workload: "wordcount".into(),
            disorder: "none".into(),
            failure: "none".into(),
            rate: 1000.0,
            load: String::new(),
            settings: BTreeMap::from([
                ("parallelism".into(), "2".into()),
                ("note".into(), "a, \"b\"".into()),
            ]),
            seed: 1,
            watermark_bound_ms: 0.0,
            warmup_s: 1.0,
            measure_s: 1.0,
            status: Status::Ok,
            metrics: Metrics::default(),
            faults: Vec::new(),
            recoveries: Vec::new(),
            timeline: Vec::new(),
            wall_s: 2.0,
            feed_capacity: None,
        }
    }

    #[test]
    fn a_run_offered_more_than_the_harness_feeds_is_harness_bound_and_one_at_it_is_not() {
        let mut r = run("a.0");
        r.metrics.due.p99_ms = 5.0;
        let p99 = crate::metrics::named("due_p99_ms").unwrap();
        assert_eq!(r.harness_bound(), None, "capacity unknown");
        r.feed_capacity = Some(r.rate);
        assert_eq!((r.harness_bound(), r.status_word()), (None, "ok"), "at the capacity");
        assert_eq!(p99.value(&r), Some(5.0));
        r.feed_capacity = Some(r.rate - 1.0);
        assert!(r.harness_bound().is_some_and(|why| why.contains("feeds this engine at most")));
        assert_eq!(r.status_word(), "harness-bound");
        assert_eq!(p99.value(&r), None, "never shown as the engine's figure");
        assert_eq!(p99.cell(&r), "—");
        let text = runs_csv(&[r]);
        assert!(text.contains(",harness-bound,offered 0.001 M events/s"), "{text}");
    }

    #[test]
    fn runs_csv_quotes_what_needs_it_and_reads_back_as_written() {
        let mut r = run("a.0");
        r.metrics.due.p99_ms = 12.3456;
        r.metrics.checkpoints.count = 3;
        r.status = Status::Incorrect("1 missing, 0 duplicated".into());
        let text = runs_csv(&[r.clone()]);
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        let header = reader.headers().unwrap().clone();
        let row = reader.records().next().unwrap().unwrap();
        let get = |name: &str| row.get(header.iter().position(|h| h == name).unwrap()).unwrap().to_string();
        assert_eq!(get("settings"), "note=a, \"b\" parallelism=2", "a setting with a comma and quotes");
        assert_eq!(get("reason"), "1 missing, 0 duplicated");
        assert_eq!(get("due_p99_ms"), "12.346");
        assert_eq!(get("checkpoints"), "3");
        assert_eq!(get("recovery_ms"), "", "no failure, no recovery");
        assert_eq!(header.len(), row.len());
        assert!(text.starts_with(
            "id,engine,workload,rate,disorder,failure,settings,repetition,seed,status,reason,input_rate,"
        ));
    }

    use proptest::prelude::*;

    /// Replaces the `k`-th number in a JSON text (mod their count) by `by`.
    fn renumber(text: &str, k: usize, by: &str) -> String {
        let bytes = text.as_bytes();
        let mut starts = Vec::new();
        for i in 0..bytes.len() {
            let prev = if i == 0 { b' ' } else { bytes[i - 1] };
            if bytes[i].is_ascii_digit() && !(prev.is_ascii_alphanumeric() || prev == b'.' || prev == b'-') {
                starts.push(i);
            }
        }
        let Some(&at) = starts.get(k % starts.len().max(1)) else { return text.to_string() };
        let end = at
            + text[at..]
                .find(|c: char| !(c.is_ascii_digit() || ".eE+-".contains(c)))
                .unwrap_or(text.len() - at);
        format!("{}{by}{}", &text[..at], &text[end..])
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Fuzzing a result directory: its manifest or a run's record with bytes flipped, cut
        /// short, or a number replaced by an extreme one loads (and renders into `runs.csv`)
        /// or is an error naming the file — never a panic.
        #[test]
        fn a_damaged_result_directory_loads_or_names_the_file(
            damage_run in any::<bool>(),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..3),
            cut in proptest::option::of(any::<usize>()),
            k in any::<usize>(),
            by in prop::sample::select(vec!["-1", "0", "1e308", "-1e308", "18446744073709551615", "-9223372036854775809", "0.5", "3"]),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let dir = dir.path();
            ResultSet::write_manifest(dir, &manifest()).unwrap();
            let mut r = run("a.0");
            r.metrics.due.p99_ms = 5.0;
            ResultSet::write_run(dir, &r).unwrap();
            let file = if damage_run { run_path(dir, "a.0") } else { dir.join("manifest.json") };
            let text = renumber(&std::fs::read_to_string(&file).unwrap(), k, by);
            let mut bytes = text.into_bytes();
            for (at, x) in &flips {
                let n = bytes.len();
                bytes[at % n] ^= x;
            }
            if let Some(c) = cut {
                bytes.truncate(c % (bytes.len() + 1));
            }
            std::fs::write(&file, &bytes).unwrap();
            match ResultSet::load(dir) {
                Ok(set) => {
                    let _ = runs_csv(&set.runs);
                }
                Err(e) => prop_assert!(e.to_string().contains(&file.display().to_string()), "{}", e),
            }
        }
    }
}
