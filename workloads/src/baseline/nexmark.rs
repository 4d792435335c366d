//! NEXMark q0, q1, q2, q3, q4, q5, q7 and q8 by hand.

use super::{Input, Panes};
use crate::nexmark::q1::{EuroBid, Q1};
use crate::nexmark::q2::{Q2, Selected};
use crate::nexmark::q3::{Q3, Suggestion};
use crate::nexmark::q4::{AuctionKey, Q4};
use crate::nexmark::q5::{self, HotItems, Q5};
use crate::nexmark::q7::{self, Highest, Q7};
use crate::nexmark::q8::{self, NewSeller, Q8};
use crate::nexmark::{Auction, Event, Person};
use flowmark_core::{
    Aggregate, All, Average, Baseline, Job, Log, Output, Time, Update, Window, WindowResult, WindowSpec,
    Windows,
};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

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
        let wm = panes.read(&mut input, |r, panes| {
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
        let wm = panes.read(&mut input, |r, panes| {
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

/// Every bid of `log` up to `end`, read by one loop, each mapped by `f` (`None`: dropped).
fn per_bid<L: Log<Event = Event>, J: Job<Event = Event>, O: Output>(
    job: &J,
    log: &L,
    end: Time,
    f: impl Fn(&crate::nexmark::Bid) -> Option<O>,
) -> Baseline {
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    while input.round(|r| {
        if let Event::Bid(b) = &r.data
            && let Some(o) = f(b)
        {
            results.push(o.to_line());
        }
    }) != Time::MAX
    {}
    Baseline { events: input.events, results }
}

/// q0, pass-through: every bid.
pub fn q0<L: Log<Event = Event>>(job: &crate::nexmark::q0::Q0, log: &L, end: Time) -> Baseline {
    per_bid(job, log, end, |b| Some(*b))
}

/// q1, currency conversion: every bid's price in euros.
pub fn q1<L: Log<Event = Event>>(job: &Q1, log: &L, end: Time) -> Baseline {
    per_bid(job, log, end, |b| {
        Some(EuroBid {
            auction: b.auction,
            bidder: b.bidder,
            price: b.price * 908 / 1000,
            date_time: b.date_time,
            seq: b.seq,
        })
    })
}

/// q2, selection: the bids on every 123rd auction.
pub fn q2<L: Log<Event = Event>>(job: &Q2, log: &L, end: Time) -> Baseline {
    per_bid(job, log, end, |b| {
        (b.auction % 123 == 0).then_some(Selected { auction: b.auction, price: b.price, seq: b.seq })
    })
}

/// q3, local item suggestion: people in OR, ID or CA joined with the category-10 auctions
/// they sell, whichever arrives first (an unwindowed join keeps both sides).
pub fn q3<L: Log<Event = Event>>(job: &Q3, log: &L, end: Time) -> Baseline {
    let mut people: FxHashMap<u64, Person> = FxHashMap::default();
    let mut auctions: FxHashMap<u64, Vec<Auction>> = FxHashMap::default();
    let mut results = Vec::new();
    let suggest = |p: &Person, a: &Auction| {
        Suggestion { person: p.id, name: p.name, city: p.city, state: p.state, auction: a.id }.to_line()
    };
    let mut input = Input::new(log, job.watermarks(), end);
    while input.round(|r| match r.data {
        Event::Person(p) if matches!(p.state_name(), "OR" | "ID" | "CA") => {
            for a in auctions.get(&p.id).into_iter().flatten() {
                results.push(suggest(&p, a));
            }
            people.insert(p.id, p);
        }
        Event::Auction(a) if a.category == 10 => {
            if let Some(p) = people.get(&a.seller) {
                results.push(suggest(p, &a));
            }
            auctions.entry(a.seller).or_default().push(a);
        }
        _ => {}
    }) != Time::MAX
    {}
    Baseline { events: input.events, results }
}

/// q8, new sellers: per tumbling window, the people who also opened an auction in it.
pub fn q8<L: Log<Event = Event>>(job: &Q8, log: &L, end: Time) -> Baseline {
    let spec = WindowSpec::new(Windows::tumbling(q8::SIZE)).with_lateness(job.0.lateness);
    // per window and person id: the person (earliest by event time, then value) and whether
    // an auction of theirs fell in it
    let mut panes: Panes<u64, (Option<(Time, Person)>, bool)> = Panes::new(spec);
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    loop {
        let wm = panes.read(&mut input, |r, panes| match r.data {
            Event::Person(p) => panes.add(r.time, r.wm, p.id, |(first, _)| {
                if first.is_none_or(|f| (r.time, p) < f) {
                    *first = Some((r.time, p));
                }
            }),
            Event::Auction(a) => panes.add(r.time, r.wm, a.seller, |(_, sold)| *sold = true),
            Event::Bid(_) => {}
        });
        panes.fire(wm, |window, sellers| {
            for (_, (person, sold)) in sellers {
                if let (Some((_, p)), true) = (person, sold) {
                    results.push(NewSeller { id: p.id, name: p.name, window }.to_line());
                }
            }
        });
        if wm == Time::MAX {
            break;
        }
    }
    Baseline { events: input.events, results }
}

/// q4, average price per category: each auction's highest bid made while it was open (a bid
/// joined with its auction is judged late against the later of the two records' watermarks,
/// like any joined record), then per category the average of those highest bids.
pub fn q4<L: Log<Event = Event>>(job: &Q4, log: &L, end: Time) -> Baseline {
    // the auctions seen (with their watermark), the bids waiting for theirs
    let mut auctions: FxHashMap<u64, (Auction, Time)> = FxHashMap::default();
    let mut waiting: FxHashMap<u64, Vec<(crate::nexmark::Bid, Time)>> = FxHashMap::default();
    // per auction, the highest bid price among its on-time bids
    let mut highest: FxHashMap<AuctionKey, i64> = FxHashMap::default();
    let mut offer = |a: &Auction, a_wm: Time, b: &crate::nexmark::Bid, b_wm: Time| {
        let valid = a.date_time <= b.date_time && b.date_time <= a.expires;
        // the window [opened, expires + 1) is late for the joined record when its last
        // instant is at or behind the record's watermark
        let late = WindowSpec::new(Windows::tumbling(1))
            .is_late(Window::new(a.date_time, a.expires + 1), a_wm.max(b_wm));
        if valid && !late {
            let h = highest.entry(AuctionKey { id: a.id, category: a.category }).or_insert(i64::MIN);
            *h = (*h).max(b.price as i64);
        }
    };
    let mut input = Input::new(log, job.watermarks(), end);
    while input.round(|r| match r.data {
        Event::Auction(a) => {
            for (b, b_wm) in waiting.remove(&a.id).into_iter().flatten() {
                offer(&a, r.wm, &b, b_wm);
            }
            auctions.insert(a.id, (a, r.wm));
        }
        Event::Bid(b) => match auctions.get(&b.auction) {
            Some((a, a_wm)) => offer(a, *a_wm, &b, r.wm),
            None => waiting.entry(b.auction).or_default().push((b, r.wm)),
        },
        Event::Person(_) => {}
    }) != Time::MAX
    {}
    let average = Average(|v: &i64| *v);
    let mut per_category: BTreeMap<u64, flowmark_core::aggregate::Mean> = BTreeMap::new();
    for (key, price) in highest {
        Aggregate::<i64>::add(&average, per_category.entry(key.category).or_default(), &price);
    }
    let results = per_category
        .into_iter()
        .map(|(key, acc)| Update { key, value: Aggregate::<i64>::finish(&average, &acc) }.to_line())
        .collect();
    Baseline { events: input.events, results }
}
