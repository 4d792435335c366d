//! Errors of the dataflow engine.

use std::path::PathBuf;
use thiserror::Error;

/// What can stop a job.
#[derive(Debug, Error)]
pub enum EngineError {
    /// A file or directory could not be read or written.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A checkpoint file failed its checks (truncated, corrupt, or of another job).
    #[error("checkpoint file {path} is unusable: {reason}")]
    CorruptCheckpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A durable file could not be written, or failed its checks when read back.
    #[error(transparent)]
    Durable(#[from] flowmark_core::durable::DurableError),
    /// The configuration cannot run.
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The job failed more often than its restart budget allows.
    #[error("job failed {attempts} times, giving up; last failure: {last}")]
    TooManyFailures {
        /// Attempts made.
        attempts: u32,
        /// The last failure.
        last: String,
    },
}

impl EngineError {
    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| EngineError::Io { action, path, source }
    }
}
