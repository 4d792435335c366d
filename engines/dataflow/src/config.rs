//! The settings of a dataflow run.

use crate::error::EngineError;
pub use flowmark_core::durable::{StorageFault, StorageFaultKind};
use flowmark_core::time::{MILLISECOND, SECOND};
pub use flowmark_core::{CpuTax, Straggler, TaskFault};
use flowmark_core::{Time, TimeDomain};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// When results become visible to a reader of the output directory.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Delivery {
    /// Results become visible when the checkpoint that covers them completes (two-phase
    /// commit): a reader never sees a duplicate or a result that is later rolled back.
    #[default]
    ExactlyOnce,
    /// Results become visible as soon as they are emitted; after a failure the replay emits
    /// some of them again.
    AtLeastOnce,
}

/// How a task with several inputs takes its part of a checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckpointMode {
    /// Barriers travel with the data; a task waits for the barrier on every input, not
    /// reading those that delivered it (back-pressure holds their data in their channels).
    #[default]
    Aligned,
    /// Barriers overtake the data in flight; a task snapshots as soon as it has the barrier
    /// from every input, and stores what its inputs had sent before the barrier and it had
    /// not yet processed with the checkpoint (replayed on recovery). Flink's unaligned
    /// checkpoints. The checkpoint at the end of the input is aligned.
    Unaligned,
}

/// Faults to inject, for the harness's failure scenarios.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Faults {
    /// Panic in one task when log time reaches the given instant (once per process).
    pub task_failure: Option<TaskFault>,
    /// Slow one task down for a period.
    pub straggler: Option<Straggler>,
    /// Pause this long in the middle of writing every checkpoint file (to test a crash while a
    /// checkpoint is being written).
    pub slow_checkpoint_write: Option<Time>,
    /// Extra CPU work in every task.
    #[serde(default)]
    pub cpu_tax: Option<CpuTax>,
    /// A fault of the disk at one write of a checkpoint or result file (`task-`, `_metadata`,
    /// `pending`).
    #[serde(default)]
    pub storage: Option<StorageFault>,
}

/// Longest a partly filled buffer waits before it is sent, unless set otherwise (Flink's
/// default `execution.buffer-timeout` is 100 ms; flowmark's smaller one favours latency).
pub const DEFAULT_BUFFER_TIMEOUT: Time = 5 * MILLISECOND;

/// The settings of a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Config {
    /// Parallel tasks per operator.
    pub parallelism: usize,
    /// Records per buffer between tasks.
    pub buffer_size: usize,
    /// Longest a partly filled buffer waits before it is sent (Flink's buffer timeout).
    pub buffer_timeout: Time,
    /// Buffers a channel holds before its sender blocks (backpressure).
    pub channel_capacity: usize,
    /// Time between checkpoints; none for no checkpoints.
    pub checkpoint_interval: Option<Time>,
    /// Aligned or unaligned checkpoints.
    #[serde(default)]
    pub checkpoint_mode: CheckpointMode,
    /// Where checkpoints are written.
    pub checkpoint_dir: PathBuf,
    /// How many completed checkpoints to keep.
    pub keep_checkpoints: usize,
    /// Where results are written.
    pub output_dir: PathBuf,
    /// Exactly-once or at-least-once results.
    pub delivery: Delivery,
    /// The run's time domain.
    pub domain: TimeDomain,
    /// The monotonic instant of log time 0 (see `flowmark_core::clock`).
    pub origin: Time,
    /// The input ends with the entries arriving before this log time.
    pub end: Time,
    /// In-process restarts allowed after task failures.
    pub max_restarts: u32,
    /// Faults to inject.
    pub faults: Faults,
}

impl Config {
    /// Defaults for a run writing under `dir`, with its log starting at `origin` and ending
    /// at `end`.
    pub fn new(dir: impl Into<PathBuf>, origin: Time, end: Time) -> Self {
        let dir = dir.into();
        Config {
            parallelism: 1,
            buffer_size: 1024,
            buffer_timeout: DEFAULT_BUFFER_TIMEOUT,
            channel_capacity: 64,
            checkpoint_interval: Some(SECOND),
            checkpoint_mode: CheckpointMode::Aligned,
            checkpoint_dir: dir.join("checkpoints"),
            keep_checkpoints: 3,
            output_dir: dir.join("output"),
            delivery: Delivery::ExactlyOnce,
            domain: TimeDomain::Event,
            origin,
            end,
            max_restarts: 10,
            faults: Faults::default(),
        }
    }

    /// Checks the settings.
    pub fn validate(&self) -> Result<(), EngineError> {
        let bad = |m: String| Err(EngineError::Config(m));
        if self.parallelism == 0 {
            return bad("parallelism must be at least 1".into());
        }
        if self.buffer_size == 0 || self.channel_capacity == 0 {
            return bad("buffer_size and channel_capacity must be at least 1".into());
        }
        if self.buffer_timeout < 0 {
            return bad(format!("buffer_timeout must be zero or more, got {} ns", self.buffer_timeout));
        }
        if let Some(i) = self.checkpoint_interval
            && i <= 0
        {
            return bad(format!("checkpoint_interval must be positive, got {i} ns"));
        }
        if self.keep_checkpoints == 0 {
            return bad("keep_checkpoints must be at least 1".into());
        }
        Ok(())
    }
}
