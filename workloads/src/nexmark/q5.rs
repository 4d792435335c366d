//! NEXMark q5, hot items: for each 10 s window sliding by 2 s, the auctions with the most
//! bids (all of them on a tie). Two windowed stages, as the Flink suite's SQL: a sliding
//! count per auction, then the maximum over each window's counts.
//!
//! The second stage groups the first stage's results by their window. A result carries its
//! window's last instant as its time, so a tumbling window of the slide's length holds exactly
//! the results of one first-stage window.

use super::{Event, Params};
use flowmark_core::output::Joined;
use flowmark_core::time::SECOND;
use flowmark_core::{
    Count, Fold, Job, KeyedStream, Runtime, Stream, Time, WatermarkStrategy, WindowResult, WindowSpec,
    Windows,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The window length.
pub const SIZE: Time = 10 * SECOND;
/// The slide.
pub const SLIDE: Time = 2 * SECOND;

/// The auctions with the most bids in a window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HotItems {
    /// Their number of bids.
    pub bids: u64,
    /// The auctions, ascending.
    pub auctions: Vec<u64>,
}

impl fmt::Display for HotItems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.bids, Joined(&self.auctions))
    }
}

impl HotItems {
    pub(crate) fn add(&mut self, auction: u64, bids: u64) {
        if bids > self.bids {
            self.bids = bids;
            self.auctions.clear();
        }
        if bids == self.bids
            && let Err(i) = self.auctions.binary_search(&auction)
        {
            self.auctions.insert(i, auction);
        }
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Q5(pub Params);

impl Job for Q5 {
    type Event = Event;
    fn name(&self) -> &'static str {
        "nexmark-q5"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.0.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Event>>(
        &self,
        log: &L,
        end: Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::q5(self, log, end))
    }
    fn windows(&self) -> Option<Windows> {
        Some(Windows::sliding(SIZE, SLIDE))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Event>) {
        let hot = Fold::new(
            HotItems::default(),
            |acc: &mut HotItems, r: &WindowResult<u64, u64>| acc.add(r.key, r.value),
            |acc: &mut HotItems, other: HotItems| {
                for a in other.auctions {
                    acc.add(a, other.bids);
                }
            },
            HotItems::clone,
        );
        input
            .flat_map(Event::bid)
            .key_by(|b| b.auction)
            .window(WindowSpec::new(Windows::sliding(SIZE, SLIDE)).with_lateness(self.0.lateness), Count)
            .key_by(|r: &WindowResult<u64, u64>| r.window)
            .window(WindowSpec::new(Windows::tumbling(SLIDE)), hot)
            .sink("hot-items");
    }
}
