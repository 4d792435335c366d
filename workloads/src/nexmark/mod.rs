//! NEXMark: an online auction's people, auctions and bids, and the benchmark's queries.
//!
//! The queries follow the definitions of the NEXMark benchmark as implemented for Apache Flink
//! (the SQL of `nexmark/nexmark`, `nexmark-flink/src/main/resources/queries/q*.sql`) and
//! Apache Beam (`sdks/java/testing/nexmark`), after Tucker et al., "NEXMark — A Benchmark for
//! Queries over Data Streams" (2002):
//!
//! | query | what it computes | operators |
//! |---|---|---|
//! | q0 | every bid, unchanged (pass-through) | map |
//! | q1 | every bid with its price in euros (× 0.908) | map |
//! | q2 | the bids on auctions whose id is a multiple of 123 | filter |
//! | q3 | people in OR, ID or CA selling in category 10: name, city, state, auction | stateful join |
//! | q4 | the average closing price per category | join, per-auction window, running mean |
//! | q5 | the auctions with the most bids in each 10 s window sliding by 2 s | sliding count, then max |
//! | q7 | the highest bids of each 10 s window | tumbling max |
//! | q8 | people who opened an auction in the 10 s window they registered in | window join |
//!
//! Each file holds one query: its output type and its job, written once against the job API.

mod generator;
pub mod model;
pub(crate) mod q0;
pub(crate) mod q1;
pub(crate) mod q2;
pub(crate) mod q3;
pub(crate) mod q4;
pub mod q5;
pub(crate) mod q7;
pub(crate) mod q8;

pub use generator::{HOT_AUCTION_RATIO, HOT_BIDDER_RATIO, HOT_SELLER_RATIO, NexmarkGenerator};
pub use model::{Auction, Bid, Event, Name, Person};
pub use q0::Q0;
pub use q1::Q1;
pub use q2::Q2;
pub use q3::Q3;
pub use q4::Q4;
pub use q5::Q5;
pub use q7::Q7;
pub use q8::Q8;

use flowmark_core::time::{SECOND, Time, duration};
use serde::{Deserialize, Serialize};

/// What every NEXMark query is parameterized by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Params {
    /// The watermark's out-of-orderness bound.
    #[serde(with = "duration")]
    pub bound: Time,
    /// How long windows accept late bids after firing.
    #[serde(default, with = "duration")]
    pub lateness: Time,
}

impl Default for Params {
    fn default() -> Self {
        Params { bound: SECOND / 2, lateness: 0 }
    }
}
