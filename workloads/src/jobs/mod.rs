//! The workloads other than NEXMark, one per file.

pub mod sessions;
pub mod wordcount;
pub mod ysb;
