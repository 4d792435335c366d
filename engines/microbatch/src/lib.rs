//! # flowmark-microbatch
//!
//! The micro-batch engine: a driver cuts the input into batches, each batch runs as stages of
//! parallel tasks with a shuffle between them; exactly-once through an offset log, a commit
//! log, versioned state and lineage.
//!
//! Not built yet: this crate holds the workspace's place for it (see the project's issue on the
//! micro-batch engine). It implements [`flowmark_core::Runtime`] when it lands.
#![forbid(unsafe_code)]
