//! # flowmark-reports
//!
//! Charts, the HTML report and the comparison of result sets, rendered from result directories
//! on disk. It depends on no engine.
//!
//! Not built yet: this crate holds the workspace's place for it (see the project's issue on
//! reports).
#![forbid(unsafe_code)]
