//! Errors of the job API.

use thiserror::Error;

/// A job, window or watermark definition that cannot run.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// A size, gap or rate that must be positive is not.
    #[error("{what} must be positive, got {value}")]
    NotPositive {
        /// What was wrong.
        what: &'static str,
        /// The value given.
        value: i64,
    },
    /// Any other inconsistent definition, with the reason.
    #[error("{0}")]
    Invalid(String),
}
