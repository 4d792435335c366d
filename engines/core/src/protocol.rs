//! The engine-process protocol: what an engine process, run by the harness as the system under
//! test, tells the harness. One JSON object per line on the process's stdout.
//!
//! Times are log time (nanoseconds since the run's origin on the shared monotonic clock), so
//! the harness can set them beside the log's arrival schedule and the reference's due instants.

use crate::metrics::Commit;
use crate::time::Time;
use serde::{Deserialize, Serialize};

/// One line from the engine process.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Report {
    /// The engine's counters, sent every sampling interval.
    Sample(Sample),
    /// The engine read all its input and committed all its results.
    Finished {
        /// When.
        at: Time,
        /// Events read by this process (for the baseline: the events its loop processed).
        events: u64,
        /// Wall time of the processing, nanoseconds (for the baseline: the loop alone).
        busy: Time,
    },
    /// The engine failed and gave up.
    Failed {
        /// Why.
        message: String,
    },
}

/// The engine's counters at one instant. Counters count from the start of this process.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// When it was taken.
    pub at: Time,
    /// Input events read.
    pub events_in: u64,
    /// Results emitted.
    pub results_out: u64,
    /// Backlog: `at` minus the arrival of the oldest unread event.
    pub backlog: Time,
    /// The sources' lowest watermark.
    pub watermark: Time,
    /// Records dropped as late.
    pub late_events: u64,
    /// Failures the engine noticed and recovered from inside the process.
    pub restarts: u64,
    /// When it last noticed one.
    pub failure_noticed: Option<Time>,
    /// When this process first read input (after its latest restore).
    pub input_started: Option<Time>,
    /// Checkpoints or batches committed since the previous sample.
    pub commits: Vec<Commit>,
    /// Bytes of state the latest checkpoint or batch wrote.
    pub checkpoint_bytes: u64,
    /// CPU time of the process so far, user + system, nanoseconds.
    pub cpu: Time,
    /// Peak resident memory of the process, bytes.
    pub peak_rss: u64,
    /// CPU time of the threads that run the job's tasks so far, nanoseconds (0 from an
    /// engine that does not count it: a real engine's).
    #[serde(default)]
    pub task_cpu: Time,
    /// Micro-batch: the rate controller's bound on the next batch, events per second (none
    /// when it sets none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
    /// Every task's load so far.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskSample>,
}

/// One task's load so far (cumulative over its process).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TaskSample {
    /// Its stage.
    pub stage: String,
    /// Its index in the stage.
    pub index: u32,
    /// Events or records it took in.
    pub events: u64,
    /// Time it spent blocked on a full output channel.
    pub blocked: Time,
}
