//! NEXMark q1, currency conversion: every bid with its price converted from dollars to euros
//! (`price × 0.908`; the price is in cents and the result is rounded down to a cent).

use super::{Event, Params};
use flowmark_core::{Job, Output, Runtime, Stream, Time, WatermarkStrategy};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// A bid priced in euro cents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EuroBid {
    /// Auction id.
    pub auction: u64,
    /// Bidder id.
    pub bidder: u64,
    /// Price in euro cents.
    pub price: u64,
    /// Event time.
    pub date_time: Time,
    /// The bid's number in the log.
    pub seq: u64,
}

impl Output for EuroBid {
    fn identity(&self, out: &mut String) {
        let _ = write!(out, "{}", self.seq);
    }
    fn value(&self, out: &mut String) {
        let _ = write!(out, "{},{},{},{}", self.auction, self.bidder, self.price, self.date_time);
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Q1(pub Params);

impl Job for Q1 {
    type Event = Event;
    fn name(&self) -> &'static str {
        "nexmark-q1"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.0.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Event>>(
        &self,
        log: &L,
        end: Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::q1(self, log, end))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Event>) {
        input
            .flat_map(Event::bid)
            .map(|b| EuroBid {
                auction: b.auction,
                bidder: b.bidder,
                price: b.price * 908 / 1000,
                date_time: b.date_time,
                seq: b.seq,
            })
            .sink("euro-bids");
    }
}
