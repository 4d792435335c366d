//! The settings of a micro-batch run.

use crate::error::EngineError;
pub use flowmark_core::durable::{StorageFault, StorageFaultKind};
use flowmark_core::time::SECOND;
pub use flowmark_core::{CpuTax, Straggler, TaskFault};
use flowmark_core::{Time, TimeDomain};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// Faults to inject, for the harness's failure scenarios.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// One task panics once, when log time reaches `at`; it is recomputed from its inputs.
    pub task_failure: Option<TaskFault>,
    /// One task runs slowly (its first attempt only) during a period.
    pub straggler: Option<Straggler>,
    /// Extra CPU work in every task.
    #[serde(default)]
    pub cpu_tax: Option<CpuTax>,
    /// Pause this long half-way through every durable write (to crash a process mid-write).
    #[serde(default)]
    pub slow_write: Option<Time>,
    /// A fault of the disk at one write of a log, state or result file (`offsets`,
    /// `commits`, `.delta`, `.snapshot`, `output`).
    #[serde(default)]
    pub storage: Option<StorageFault>,
}

/// The settings of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Tasks per stage, and reduce partitions of every shuffle.
    pub parallelism: usize,
    /// The trigger: a batch is cut every `interval` of log time, or at once when the previous
    /// batch overran it.
    pub interval: Time,
    /// Cut every batch at its scheduled tick, even one that starts late: a backlog is then read
    /// one interval at a time, as a replay of the schedule (the default reads everything that
    /// has arrived when the batch starts, as Spark does).
    pub cut_at_ticks: bool,
    /// Adapt how much a batch reads to the measured processing rate (Spark's PID rate
    /// estimator), so that a slow engine keeps up instead of building ever longer batches.
    pub backpressure: bool,
    /// With back-pressure, the rate (records per second) the first batch reads at, before
    /// there is a measurement (Spark's `backpressure.initialRate`); none for no limit.
    pub initial_rate: Option<f64>,
    /// Launch a speculative copy of a map task running longer than this multiple of its
    /// stage's median (Spark's `spark.speculation.multiplier`); none to disable.
    pub speculation: Option<f64>,
    /// A full state snapshot every this many batches (deltas in between).
    pub snapshot_every: u64,
    /// Where the offset log, commit log and state versions live.
    pub checkpoint_dir: PathBuf,
    /// Where results are written.
    pub output_dir: PathBuf,
    /// The run's time domain.
    pub domain: TimeDomain,
    /// The monotonic instant of log time 0.
    pub origin: Time,
    /// The input ends with the entries arriving before this log time.
    pub end: Time,
    /// Faults to inject.
    pub faults: Faults,
}

impl Config {
    /// Defaults for a run writing under `dir`, with its log starting at `origin` and ending at
    /// `end`.
    pub fn new(dir: impl Into<PathBuf>, origin: Time, end: Time) -> Self {
        let dir = dir.into();
        Config {
            parallelism: 1,
            interval: SECOND,
            cut_at_ticks: false,
            backpressure: false,
            initial_rate: None,
            speculation: None,
            snapshot_every: 10,
            checkpoint_dir: dir.join("checkpoints"),
            output_dir: dir.join("output"),
            domain: TimeDomain::Event,
            origin,
            end,
            faults: Faults::default(),
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: String| Err(EngineError::Config(m));
        if self.parallelism == 0 {
            return bad("parallelism must be at least 1".into());
        }
        if self.interval <= 0 {
            return bad(format!("the batch interval must be positive, got {} ns", self.interval));
        }
        if self.speculation.is_some_and(|m| m.is_nan() || m < 1.0) {
            return bad(format!("speculation must be a multiple of at least 1, got {:?}", self.speculation));
        }
        if self.initial_rate.is_some_and(|r| r.is_nan() || r <= 0.0) {
            return bad(format!("initial_rate must be positive, got {:?}", self.initial_rate));
        }
        if self.snapshot_every == 0 {
            return bad("snapshot_every must be at least 1".into());
        }
        Ok(())
    }
}
