//! Errors of the micro-batch engine.

use flowmark_core::durable::DurableError;
use thiserror::Error;

/// What can stop a job.
#[derive(Debug, Error)]
pub enum EngineError {
    /// A log, state or output file could not be written, or failed its checks.
    #[error(transparent)]
    Durable(#[from] DurableError),
    /// The configuration cannot run.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The logs on disk contradict each other (another job's, or edited by hand).
    #[error("inconsistent logs in {dir}: {reason}")]
    Inconsistent {
        /// The directory.
        dir: std::path::PathBuf,
        /// What does not fit.
        reason: String,
    },
    /// A task kept failing after being recomputed.
    #[error("task {stage}.{task} failed {attempts} times; last: {message}")]
    TaskFailed {
        /// The stage of the batch.
        stage: usize,
        /// The task.
        task: usize,
        /// Attempts made.
        attempts: u32,
        /// The last panic message.
        message: String,
    },
}
