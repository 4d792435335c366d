//! # flowmark-core
//!
//! What every flowmark engine shares: the job API ([`Runtime`], [`Stream`], [`KeyedStream`],
//! [`Job`]), records and time, windows and lateness, watermarks, aggregate functions, the
//! replayable log a job reads, result identities, and the correctness check.
//!
//! The semantics are defined here once — when a record is late, when a window fires, what a
//! result's identity is — and evaluated directly by the reference engine
//! (`flowmark-reference`), against which every other engine is checked.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod aggregate;
pub mod api;
pub mod check;
pub mod clock;
pub mod cpu;
pub mod durable;
pub mod error;
pub mod faults;
pub mod join_group;
pub mod lifeline;
pub mod metrics;
pub mod output;
pub mod protocol;
pub mod record;
pub mod rng;
pub mod source;
pub mod time;
pub mod watermark;
pub mod window;

pub use aggregate::{Aggregate, Average, Count, Fold, Max, Min, Sum};
pub use api::{Baseline, Job, KeyedStream, Runtime, Stream};
pub use check::{Expected, Verdict};
pub use clock::LogClock;
pub use error::ApiError;
pub use faults::{CpuTax, Straggler, TaskFault, panic_message};
pub use join_group::JoinGroup;
pub use metrics::{Commit, Metrics, TaskLoad};
pub use output::{Output, ResultLine, Update, WindowResult};
pub use record::{All, Data, Key, Rec, Side, key_hash, owner};
pub use source::{Entry, Log, PartitionReader, ReaderPosition, VecLog};
pub use time::Time;
pub use watermark::{PartitionWatermark, TimeDomain, WatermarkStrategy, WatermarkTracker};
pub use window::{Assign, Assigner, By, Window, WindowSpec, Windows, open_window, open_window_at};
