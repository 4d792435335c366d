//! NEXMark q2, selection: the auction and price of every bid on an auction whose id is a
//! multiple of 123 (the Flink suite's `MOD(auction, 123) = 0`).

use super::{Event, Params};
use flowmark_core::{Job, Output, Runtime, Stream, WatermarkStrategy};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// The selected fields of a bid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selected {
    /// Auction id.
    pub auction: u64,
    /// Price in cents.
    pub price: u64,
    /// The bid's number in the log.
    pub seq: u64,
}

impl Output for Selected {
    fn identity(&self, out: &mut String) {
        let _ = write!(out, "{}", self.seq);
    }
    fn value(&self, out: &mut String) {
        let _ = write!(out, "{},{}", self.auction, self.price);
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Q2(pub Params);

impl Job for Q2 {
    type Event = Event;
    fn name(&self) -> &'static str {
        "nexmark-q2"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.0.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Event>>(
        &self,
        log: &L,
        end: flowmark_core::Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::q2(self, log, end))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Event>) {
        input
            .flat_map(Event::bid)
            .filter(|b| b.auction % 123 == 0)
            .map(|b| Selected { auction: b.auction, price: b.price, seq: b.seq })
            .sink("selected-bids");
    }
}
