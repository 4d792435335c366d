//! NEXMark q8, monitor new users: the people who opened an auction in the same 10 s tumbling
//! window in which they registered — id, name and window — as the Flink suite's SQL, a window
//! join of people and auctions on `person.id = auction.seller`.

use super::{Auction, Event, Name, Params, Person};
use flowmark_core::time::SECOND;
use flowmark_core::{
    Job, KeyedStream, Output, Runtime, Stream, Time, WatermarkStrategy, Window, WindowSpec, Windows,
};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

/// The window length.
pub const SIZE: Time = 10 * SECOND;

/// A new user who is also a seller.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewSeller {
    /// Person id.
    pub id: u64,
    /// Name.
    pub name: Name,
    /// The window of both events.
    pub window: Window,
}

impl Output for NewSeller {
    fn identity(&self, out: &mut String) {
        let _ = write!(out, "{} {}", self.id, self.window);
    }
    fn value(&self, out: &mut String) {
        let _ = write!(out, "{}", self.name);
    }
}

/// The job.
#[derive(Clone, Copy, Debug)]
pub struct Q8(pub Params);

impl Job for Q8 {
    type Event = Event;
    fn name(&self) -> &'static str {
        "nexmark-q8"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.0.bound)
    }
    fn baseline<L: flowmark_core::Log<Event = Event>>(
        &self,
        log: &L,
        end: Time,
    ) -> Option<flowmark_core::Baseline> {
        Some(crate::baseline::q8(self, log, end))
    }
    fn windows(&self) -> Option<Windows> {
        Some(Windows::tumbling(SIZE))
    }
    fn build<R: Runtime>(&self, input: R::Stream<Event>) {
        let (people, auctions) = input.fork();
        let people = people.flat_map(Event::person).key_by(|p| p.id);
        let auctions = auctions.flat_map(Event::auction).key_by(|a| a.seller);
        let spec = WindowSpec::new(Windows::tumbling(SIZE)).with_lateness(self.0.lateness);
        people
            .window_join(auctions, spec, |_, window, people: &[Person], _: &[Auction], out| {
                // a person registers once; the SQL groups people by id, name and window
                if let Some(p) = people.first() {
                    out.push(NewSeller { id: p.id, name: p.name, window });
                }
            })
            .sink("new-sellers");
    }
}
