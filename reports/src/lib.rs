//! # flowmark-reports
//!
//! Reads result directories from disk — [`results`] defines them — and renders what people
//! look at from them: charts, the HTML report, and the comparison of two result sets. It depends
//! on no engine: a result set can be re-rendered or compared long after the run.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod results;

pub use results::{Manifest, ResultSet, ResultsError, Run};
