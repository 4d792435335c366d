//! NEXMark q0, pass-through: every bid, unchanged. It measures the cost of moving a record
//! through the engine.

use super::model::Bid;
use super::{Event, Params};
use flowmark_core::{Job, Output, Runtime, Stream, WatermarkStrategy};
use std::fmt::Write;

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Q0(pub Params);

impl Output for Bid {
    fn identity(&self, out: &mut String) {
        let _ = write!(out, "{}", self.seq);
    }
    fn value(&self, out: &mut String) {
        let _ = write!(out, "{},{},{},{}", self.auction, self.bidder, self.price, self.date_time);
    }
}

impl Job for Q0 {
    type Event = Event;
    fn name(&self) -> &'static str {
        "nexmark-q0"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.0.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Event>>(
        &self,
        log: &L,
        end: flowmark_core::Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::q0(self, log, end))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Event>) {
        input.flat_map(Event::bid).sink("bids");
    }
}
