//! NEXMark q7, highest bid: for each 10 s tumbling window, the bids with the highest price (all
//! of them on a tie), as the Flink suite's SQL (which joins the bids with their window's
//! maximum price). One global group: a window of all bids.

use super::model::Bid;
use super::{Event, Params};
use flowmark_core::time::SECOND;
use flowmark_core::{
    All, Fold, Job, KeyedStream, Runtime, Stream, Time, WatermarkStrategy, WindowSpec, Windows,
};
use serde::{Deserialize, Serialize};
use std::fmt;

/// The window length.
pub const SIZE: Time = 10 * SECOND;

/// The highest bids of a window.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Highest {
    /// The highest price, in cents.
    pub price: u64,
    /// The bids at that price, as (auction, bidder, seq), ascending.
    pub bids: Vec<(u64, u64, u64)>,
}

impl Highest {
    pub(crate) fn add(&mut self, price: u64, bid: (u64, u64, u64)) {
        if price > self.price {
            self.price = price;
            self.bids.clear();
        }
        if price == self.price
            && let Err(i) = self.bids.binary_search(&bid)
        {
            self.bids.insert(i, bid);
        }
    }
}

impl fmt::Display for Highest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.price)?;
        for (i, (auction, bidder, seq)) in self.bids.iter().enumerate() {
            write!(f, "{}{auction}/{bidder}/{seq}", if i > 0 { "," } else { "" })?;
        }
        Ok(())
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Q7(pub Params);

impl Job for Q7 {
    type Event = Event;
    fn name(&self) -> &'static str {
        "nexmark-q7"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.0.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Event>>(
        &self,
        log: &L,
        end: Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::q7(self, log, end))
    }
    fn windows(&self) -> Option<Windows> {
        Some(Windows::tumbling(SIZE))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Event>) {
        let highest = Fold::new(
            Highest::default(),
            |acc: &mut Highest, b: &Bid| acc.add(b.price, (b.auction, b.bidder, b.seq)),
            |acc: &mut Highest, other: Highest| {
                for b in other.bids {
                    acc.add(other.price, b);
                }
            },
            Highest::clone,
        );
        input
            .flat_map(Event::bid)
            .key_by(|_| All)
            .window(WindowSpec::new(Windows::tumbling(SIZE)).with_lateness(self.0.lateness), highest)
            .sink("highest-bids");
    }
}
