//! NEXMark q5 and q7 by hand.

use super::{Input, Panes};
use crate::nexmark::Event;
use crate::nexmark::q5::{self, HotItems, Q5};
use crate::nexmark::q7::{self, Highest, Q7};
use flowmark_core::{All, Baseline, Job, Log, Output, Time, WindowResult, WindowSpec, Windows};

/// q5, hot items: bids per auction per sliding window; per window, the auctions with the most.
/// A window's final counts give its final hot items (counts only grow, so the auctions at the
/// final maximum are exactly those the engines' running fold ends with).
pub fn q5<L: Log<Event = Event>>(job: &Q5, log: &L, end: Time) -> Baseline {
    let spec = WindowSpec::new(Windows::sliding(q5::SIZE, q5::SLIDE)).with_lateness(job.0.lateness);
    let per_window = Windows::tumbling(q5::SLIDE);
    let mut panes: Panes<u64, u64> = Panes::new(spec);
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    loop {
        let wm = input.round(|r| {
            if let Event::Bid(b) = r.data {
                panes.add(r.time, r.wm, b.auction, |c| *c += 1);
            }
        });
        panes.fire(wm, |window, counts| {
            let mut hot = HotItems::default();
            for (auction, bids) in counts {
                hot.add(auction, bids);
            }
            per_window.assign(window.max_time(), |slot| {
                results.push(WindowResult { key: window, window: slot, value: hot.clone() }.to_line())
            });
        });
        if wm == Time::MAX {
            break;
        }
    }
    Baseline { events: input.events, results }
}

/// q7, highest bid: per tumbling window, the bids at the highest price.
pub fn q7<L: Log<Event = Event>>(job: &Q7, log: &L, end: Time) -> Baseline {
    let spec = WindowSpec::new(Windows::tumbling(q7::SIZE)).with_lateness(job.0.lateness);
    let mut panes: Panes<All, Highest> = Panes::new(spec);
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    loop {
        let wm = input.round(|r| {
            if let Event::Bid(b) = r.data {
                panes.add(r.time, r.wm, All, |h| h.add(b.price, (b.auction, b.bidder, b.seq)));
            }
        });
        panes.fire_results(wm, &mut results);
        if wm == Time::MAX {
            break;
        }
    }
    Baseline { events: input.events, results }
}
