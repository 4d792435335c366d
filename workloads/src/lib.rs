//! # flowmark-workloads
//!
//! Deterministic, seeded, replayable workloads: the log every engine reads (event `i` of
//! partition `p` is a pure function of `(seed, p, i)`), with its open-loop arrival schedule
//! ([`rate`]) and disorder ([`disorder`]), and the jobs, each written once against the job API
//! of `flowmark-core`: word count, the Yahoo Streaming Benchmark, NEXMark q0–q5, q7, q8, and
//! clickstream sessionization.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod baseline;
pub mod disorder;
pub mod error;
pub mod jobs;
pub mod log;
pub mod nexmark;
pub mod rate;
pub mod rng;
pub mod workload;
pub mod zipf;

pub use disorder::{Delay, Disorder};
pub use error::WorkloadError;
pub use log::{GeneratedLog, Generator, LogSpec};
pub use rate::{RateProfile, Schedule};
pub use rng::SplitMix64;
pub use workload::{NexmarkSpec, Query, Visitor, WorkloadSpec};
