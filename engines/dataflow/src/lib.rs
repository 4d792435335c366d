//! # flowmark-dataflow
//!
//! The continuous engine: parallel operator tasks joined by bounded channels, keyed state,
//! event time and watermarks, and exactly-once state through asynchronous barrier snapshots.
//!
//! Not built yet: this crate holds the workspace's place for it (see the project's issue on the
//! dataflow engine). It implements [`flowmark_core::Runtime`] when it lands.
#![forbid(unsafe_code)]
