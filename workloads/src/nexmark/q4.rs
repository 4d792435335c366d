//! NEXMark q4, average price for a category: the mean closing price of the auctions of each
//! category. As the Flink suite's SQL: the bids of an auction placed while it was open
//! (`auction.dateTime ≤ bid.dateTime ≤ auction.expires`) are joined to it; an auction's
//! closing price is its highest such bid; the mean runs over every closed auction with a bid.
//!
//! An auction closes when the watermark passes its expiry: its bids are aggregated in the
//! window `[dateTime, expires]` the auction names itself (`window_by`), whose result is final
//! once the window fires, so the running mean per category needs no retraction.

use super::{Auction, Bid, Event, Params};
use flowmark_core::{
    Average, Job, KeyedStream, Max, Runtime, Stream, Time, WatermarkStrategy, Window, WindowResult,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A bid placed while its auction was open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenBid {
    /// The auction.
    pub auction: AuctionKey,
    /// When the auction opened.
    pub opened: Time,
    /// When it closes.
    pub expires: Time,
    /// The bid's price, in cents.
    pub price: u64,
}

/// An auction and its category.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AuctionKey {
    /// Auction id.
    pub id: u64,
    /// Its category.
    pub category: u64,
}

impl fmt::Display for AuctionKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.id, self.category)
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Q4(pub Params);

impl Job for Q4 {
    type Event = Event;
    fn name(&self) -> &'static str {
        "nexmark-q4"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.0.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Event>>(
        &self,
        log: &L,
        end: Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::q4(self, log, end))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Event>) {
        let (auctions, bids) = input.fork();
        let auctions = auctions.flat_map(Event::auction).key_by(|a| a.id);
        let bids = bids.flat_map(Event::bid).key_by(|b| b.auction);
        auctions
            .join(bids, |_, a: &Auction, b: &Bid| {
                (a.date_time <= b.date_time && b.date_time <= a.expires).then_some(OpenBid {
                    auction: AuctionKey { id: a.id, category: a.category },
                    opened: a.date_time,
                    expires: a.expires,
                    price: b.price,
                })
            })
            .key_by(|o| o.auction)
            // no allowed lateness: the running mean downstream would count an updated price twice
            .window_by(|o| Window::new(o.opened, o.expires + 1), 0, Max(|o: &OpenBid| o.price as i64))
            .key_by(|r: &WindowResult<AuctionKey, i64>| r.key.category)
            .reduce(Average(|r: &WindowResult<AuctionKey, i64>| r.value))
            .sink("average-price-by-category");
    }
}
