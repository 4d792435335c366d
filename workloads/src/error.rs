//! Errors in workload parameters.

use thiserror::Error;

/// A workload parameter that cannot be used, named with the value that was given.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum WorkloadError {
    /// A rate that is zero, negative or not a number.
    #[error("{what} must be a positive number of events per second, got {value}")]
    Rate {
        /// Which rate.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A duration, size or count that must be positive.
    #[error("{what} must be positive, got {value}")]
    NotPositive {
        /// Which parameter.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A delay bound or delay that is negative.
    #[error("{what} must be zero or more, got {value}")]
    Negative {
        /// Which parameter.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// A fraction outside `[0, 1]`.
    #[error("{what} must be a fraction between 0 and 1, got {value}")]
    Fraction {
        /// Which parameter.
        what: &'static str,
        /// The value given.
        value: f64,
    },
    /// Anything else, with the reason.
    #[error("{0}")]
    Invalid(String),
}

pub(crate) fn positive(what: &'static str, value: f64) -> Result<(), WorkloadError> {
    if value > 0.0 && value.is_finite() { Ok(()) } else { Err(WorkloadError::NotPositive { what, value }) }
}

pub(crate) fn rate(what: &'static str, value: f64) -> Result<(), WorkloadError> {
    if value > 0.0 && value.is_finite() { Ok(()) } else { Err(WorkloadError::Rate { what, value }) }
}

pub(crate) fn non_negative(what: &'static str, value: f64) -> Result<(), WorkloadError> {
    if value >= 0.0 && value.is_finite() { Ok(()) } else { Err(WorkloadError::Negative { what, value }) }
}

pub(crate) fn fraction(what: &'static str, value: f64) -> Result<(), WorkloadError> {
    if (0.0..=1.0).contains(&value) { Ok(()) } else { Err(WorkloadError::Fraction { what, value }) }
}
