//! Workloads by name: what a suite file names, and the one place where a workload's
//! parameters become a concrete job and log, handed to whatever runs them.

use crate::error::WorkloadError;
use crate::jobs::sessions::{Sessions, SessionsSpec};
use crate::jobs::wordcount::{WordCount, WordCountSpec, Words};
use crate::jobs::ysb::{Ysb, YsbSpec};
use crate::log::{GeneratedLog, LogSpec};
use crate::nexmark::{self, NexmarkGenerator, Params};
use flowmark_core::time::{SECOND, Time, duration};
use flowmark_core::{Job, Log};
use serde::{Deserialize, Serialize};

/// A workload and its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "workload", rename_all = "kebab-case")]
pub enum WorkloadSpec {
    /// Word count (tumbling, or sliding with a `slide`).
    Wordcount(WordCountSpec),
    /// The Yahoo Streaming Benchmark pipeline.
    Ysb(YsbSpec),
    /// A NEXMark query.
    Nexmark(NexmarkSpec),
    /// Clickstream sessionization.
    Sessions(SessionsSpec),
}

/// The NEXMark queries flowmark runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Query {
    Q0,
    Q1,
    Q2,
    Q3,
    Q4,
    Q5,
    Q7,
    Q8,
}

impl Query {
    /// Every query.
    pub const ALL: [Query; 8] =
        [Query::Q0, Query::Q1, Query::Q2, Query::Q3, Query::Q4, Query::Q5, Query::Q7, Query::Q8];
}

/// Parameters of a NEXMark workload.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NexmarkSpec {
    /// The query.
    pub query: Query,
    /// The watermark's out-of-orderness bound.
    #[serde(default = "half_second", with = "duration")]
    pub bound: Time,
    /// How long windows accept late bids after firing.
    #[serde(default, with = "duration")]
    pub lateness: Time,
    /// Shortest auction.
    #[serde(default = "one_second", with = "duration")]
    pub min_auction_length: Time,
    /// Longest auction.
    #[serde(default = "twenty_seconds", with = "duration")]
    pub max_auction_length: Time,
    /// Key skew: all but one in this many bids go to a hot auction (1: none; the NEXMark
    /// generators' `hotAuctionRatio`, 2 by default).
    #[serde(default = "hot_auction_ratio")]
    pub hot_auction_ratio: u64,
    /// All but one in this many auctions are a hot seller's (4 by default).
    #[serde(default = "hot_seller_ratio")]
    pub hot_seller_ratio: u64,
    /// All but one in this many bids are a hot bidder's (4 by default).
    #[serde(default = "hot_bidder_ratio")]
    pub hot_bidder_ratio: u64,
}

fn hot_auction_ratio() -> u64 {
    nexmark::HOT_AUCTION_RATIO
}
fn hot_seller_ratio() -> u64 {
    nexmark::HOT_SELLER_RATIO
}
fn hot_bidder_ratio() -> u64 {
    nexmark::HOT_BIDDER_RATIO
}

fn half_second() -> Time {
    SECOND / 2
}
fn one_second() -> Time {
    SECOND
}
fn twenty_seconds() -> Time {
    20 * SECOND
}

impl NexmarkSpec {
    /// The query with default parameters.
    pub fn new(query: Query) -> Self {
        let g = NexmarkGenerator::default();
        NexmarkSpec {
            query,
            bound: half_second(),
            lateness: 0,
            min_auction_length: g.min_auction_length,
            max_auction_length: g.max_auction_length,
            hot_auction_ratio: g.hot_auction_ratio,
            hot_seller_ratio: g.hot_seller_ratio,
            hot_bidder_ratio: g.hot_bidder_ratio,
        }
    }
}

/// Receives a workload as a concrete job and log: the engine, or the reference, that runs it.
/// Dispatch over workloads happens once, here; everything after is monomorphized.
pub trait Visitor {
    /// What running gives.
    type Out;
    /// Runs `job` over `log`.
    fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Self::Out;
}

impl WorkloadSpec {
    /// The workload's name, as results name it.
    pub fn name(&self) -> String {
        match self {
            WorkloadSpec::Wordcount(s) if s.slide.is_some() => "wordcount-sliding".into(),
            WorkloadSpec::Wordcount(_) => "wordcount".into(),
            WorkloadSpec::Ysb(_) => "ysb".into(),
            WorkloadSpec::Nexmark(n) => format!("nexmark-{:?}", n.query).to_lowercase(),
            WorkloadSpec::Sessions(_) => "sessions".into(),
        }
    }

    /// Every workload with its default parameters.
    pub fn catalog() -> Vec<WorkloadSpec> {
        let mut all = vec![
            WorkloadSpec::Wordcount(WordCountSpec::default()),
            WorkloadSpec::Wordcount(WordCountSpec {
                window: 2 * SECOND,
                slide: Some(SECOND / 2),
                ..Default::default()
            }),
            WorkloadSpec::Ysb(YsbSpec::default()),
        ];
        all.extend(Query::ALL.map(|q| WorkloadSpec::Nexmark(NexmarkSpec::new(q))));
        all.push(WorkloadSpec::Sessions(SessionsSpec::default()));
        all
    }

    /// Whether the workload's job has a hand-written COST baseline
    /// ([`flowmark_core::Job::baseline`]).
    pub fn has_baseline(&self) -> bool {
        struct Has;
        impl Visitor for Has {
            type Out = bool;
            fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> bool {
                job.baseline(&log, 0).is_some()
            }
        }
        let log = LogSpec {
            seed: 0,
            partitions: 1,
            rate: crate::RateProfile::constant(1.0),
            disorder: Default::default(),
        };
        self.visit(&log, Has).unwrap_or(false)
    }

    /// The same workload with its windows accepting late input for `lateness` after they
    /// fire; `None` for one whose windows take no allowed lateness (NEXMark q0–q3 have no
    /// windows, q4's close with their auctions, and sessions stay final once fired).
    pub fn with_lateness(&self, lateness: Time) -> Option<WorkloadSpec> {
        let mut w = self.clone();
        match &mut w {
            WorkloadSpec::Wordcount(s) => s.lateness = lateness,
            WorkloadSpec::Ysb(s) => s.lateness = lateness,
            WorkloadSpec::Nexmark(s) if matches!(s.query, Query::Q5 | Query::Q7 | Query::Q8) => {
                s.lateness = lateness
            }
            WorkloadSpec::Nexmark(_) | WorkloadSpec::Sessions(_) => return None,
        }
        Some(w)
    }

    /// The workload's watermark bound: the disorder its jobs tolerate.
    pub fn bound(&self) -> Time {
        match self {
            WorkloadSpec::Wordcount(s) => s.bound,
            WorkloadSpec::Ysb(s) => s.bound,
            WorkloadSpec::Nexmark(s) => s.bound,
            WorkloadSpec::Sessions(s) => s.bound,
        }
    }

    /// Builds the job and the log `log` describes, and hands them to `v`.
    pub fn visit<V: Visitor>(&self, log: &LogSpec, v: V) -> Result<V::Out, WorkloadError> {
        Ok(match self {
            WorkloadSpec::Wordcount(s) => {
                v.visit(WordCount::new(s)?, GeneratedLog::new(log, Words::new(s.vocabulary, s.skew)?)?)
            }
            WorkloadSpec::Ysb(s) => {
                let (job, events) = Ysb::new(s, log.seed)?;
                v.visit(job, GeneratedLog::new(log, events)?)
            }
            WorkloadSpec::Sessions(s) => {
                let (job, clicks) = Sessions::new(s)?;
                v.visit(job, GeneratedLog::new(log, clicks)?)
            }
            WorkloadSpec::Nexmark(s) => {
                if s.min_auction_length <= 0 || s.max_auction_length < s.min_auction_length {
                    return Err(WorkloadError::Invalid(format!(
                        "nexmark auction lengths must satisfy 0 < min_auction_length ≤ max_auction_length, got {} and {}",
                        flowmark_core::time::human(s.min_auction_length),
                        flowmark_core::time::human(s.max_auction_length)
                    )));
                }
                if s.bound < 0 || s.lateness < 0 {
                    return Err(WorkloadError::Invalid(
                        "nexmark bound and lateness must be zero or more".into(),
                    ));
                }
                if s.hot_auction_ratio == 0 || s.hot_seller_ratio == 0 || s.hot_bidder_ratio == 0 {
                    return Err(WorkloadError::Invalid(
                        "nexmark hot_auction_ratio, hot_seller_ratio and hot_bidder_ratio must be at least 1 (1: nothing is hot)".into(),
                    ));
                }
                let g = NexmarkGenerator {
                    min_auction_length: s.min_auction_length,
                    max_auction_length: s.max_auction_length,
                    hot_auction_ratio: s.hot_auction_ratio,
                    hot_seller_ratio: s.hot_seller_ratio,
                    hot_bidder_ratio: s.hot_bidder_ratio,
                };
                let log = GeneratedLog::new(log, g)?;
                let p = Params { bound: s.bound, lateness: s.lateness };
                match s.query {
                    Query::Q0 => v.visit(nexmark::Q0(p), log),
                    Query::Q1 => v.visit(nexmark::Q1(p), log),
                    Query::Q2 => v.visit(nexmark::Q2(p), log),
                    Query::Q3 => v.visit(nexmark::Q3(p), log),
                    Query::Q4 => v.visit(nexmark::Q4(p), log),
                    Query::Q5 => v.visit(nexmark::Q5(p), log),
                    Query::Q7 => v.visit(nexmark::Q7(p), log),
                    Query::Q8 => v.visit(nexmark::Q8(p), log),
                }
            }
        })
    }
}
