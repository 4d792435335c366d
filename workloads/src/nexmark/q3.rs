//! NEXMark q3, local item suggestion: people in Oregon, Idaho or California who sell in
//! category 10 — name, city, state and auction id for every such auction. A regular (unbounded
//! state) inner join of people with auctions on `person.id = auction.seller`, as the Flink
//! suite's SQL.

use super::{Auction, Event, Name, Params, Person};
use flowmark_core::{Job, KeyedStream, Output, Runtime, Stream, WatermarkStrategy};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// One suggestion.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The seller.
    pub person: u64,
    /// The seller's name.
    pub name: Name,
    /// The seller's city (index).
    pub city: u8,
    /// The seller's state (index).
    pub state: u8,
    /// The auction.
    pub auction: u64,
}

impl Output for Suggestion {
    fn identity(&self, out: &mut String) {
        let _ = write!(out, "{} {}", self.person, self.auction);
    }
    fn value(&self, out: &mut String) {
        let p = Person {
            id: self.person,
            name: self.name,
            credit_card: 0,
            city: self.city,
            state: self.state,
            date_time: 0,
        };
        let _ = write!(out, "{},{},{}", self.name, p.city_name(), p.state_name());
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Q3(pub Params);

impl Job for Q3 {
    type Event = Event;
    fn name(&self) -> &'static str {
        "nexmark-q3"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.0.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Event>>(
        &self,
        log: &L,
        end: flowmark_core::Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::q3(self, log, end))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Event>) {
        // two views of one log, as the SQL reads the person and auction views of one table
        let (people, auctions) = input.fork();
        let people = people
            .flat_map(Event::person)
            .filter(|p| matches!(p.state_name(), "OR" | "ID" | "CA"))
            .key_by(|p| p.id);
        let auctions = auctions.flat_map(Event::auction).filter(|a| a.category == 10).key_by(|a| a.seller);
        people
            .join(auctions, |_, p: &Person, a: &Auction| {
                Some(Suggestion { person: p.id, name: p.name, city: p.city, state: p.state, auction: a.id })
            })
            .sink("suggestions");
    }
}
