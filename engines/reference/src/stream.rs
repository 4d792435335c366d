//! Stateless operators, key_by and sinks: evaluated over every record of the stream, read a
//! chunk at a time. Each record travels with its [`Stamp`].

use crate::chunks::Chunks;
use crate::{Emitted, RefKeyed, Reference, Shared};
use flowmark_core::{Data, Key, Output, Rec, Stream, Time};

/// The instants a result's latency is measured from, carried beside each record (the engines
/// carry neither): when a perfect engine could have emitted it (see [`crate::due`]), and the
/// latest arrival among the inputs behind it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp {
    pub(crate) due: Time,
    pub(crate) arrival: Time,
}

impl Stamp {
    /// Before any input: what a fold over none carries.
    pub(crate) const NONE: Stamp = Stamp { due: Time::MIN, arrival: Time::MIN };

    /// A source record's: due at its arrival.
    pub(crate) fn arrived(at: Time) -> Stamp {
        Stamp { due: at, arrival: at }
    }

    /// The later of each instant: the stamp of what is made of both.
    pub(crate) fn max(self, other: Stamp) -> Stamp {
        Stamp { due: self.due.max(other.due), arrival: self.arrival.max(other.arrival) }
    }
}

/// A record with its stamp.
pub(crate) type Item<T> = (Stamp, Rec<T>);

/// A stream of the reference engine: every record of it, materialized.
pub struct RefStream<T> {
    pub(crate) items: Chunks<Item<T>>,
    pub(crate) ctx: Shared,
    /// When its producer fires: `hold` behind the watermark over all partitions.
    pub(crate) hold: Time,
    /// The allowed lateness of the windowed operator that produced it (0 for any other): if
    /// a stateful operator reads it, each result is emitted when final, and the reader fires
    /// that much further behind (see the crate docs).
    pub(crate) lateness: Time,
}

impl<T> RefStream<T> {
    /// The results of an operator that fires `hold` behind the watermark.
    pub(crate) fn new(items: Chunks<Item<T>>, ctx: Shared, hold: Time) -> Self {
        RefStream { items, ctx, hold, lateness: 0 }
    }

    /// The results of a windowed operator with `lateness`.
    pub(crate) fn windowed(mut self, lateness: Time) -> Self {
        self.lateness = lateness;
        self
    }

    /// The same timing, other items.
    fn with_items<U>(&self, items: Chunks<Item<U>>) -> RefStream<U> {
        RefStream { items, ctx: self.ctx.clone(), hold: self.hold, lateness: self.lateness }
    }
}

impl<T: Data> Stream<Reference, T> for RefStream<T> {
    fn map<U: Data>(mut self, f: impl Fn(T) -> U + Clone + Send + 'static) -> RefStream<U> {
        let items = std::mem::take(&mut self.items)
            .into_iter()
            .map(|(s, r)| (s, Rec { time: r.time, wm: r.wm, data: f(r.data) }));
        let items = items.collect();
        self.with_items(items)
    }

    fn filter(self, f: impl Fn(&T) -> bool + Clone + Send + 'static) -> RefStream<T> {
        let items = self.items.into_iter().filter(|(_, r)| f(&r.data)).collect();
        RefStream { items, ..self }
    }

    fn flat_map<U: Data, I: IntoIterator<Item = U>>(
        mut self,
        f: impl Fn(T) -> I + Clone + Send + 'static,
    ) -> RefStream<U> {
        let mut out = Chunks::new();
        for (s, r) in std::mem::take(&mut self.items) {
            let (time, wm) = (r.time, r.wm);
            out.extend(f(r.data).into_iter().map(|data| (s, Rec { time, wm, data })));
        }
        self.with_items(out)
    }

    fn fork(self) -> (RefStream<T>, RefStream<T>) {
        (self.with_items(self.items.clone()), self)
    }

    fn key_by<K: Key>(self, f: impl Fn(&T) -> K + Clone + Send + 'static) -> RefKeyed<K, T> {
        // results of a window with allowed lateness reach a stateful operator when final
        let hold = self.hold.saturating_add(self.lateness);
        let ctx = self.ctx.clone();
        let items = self
            .items
            .into_iter()
            .map(|(s, r)| {
                let due = if self.lateness > 0 {
                    s.due.max(ctx.borrow().clock.when_watermark_reaches(r.time.saturating_add(hold)))
                } else {
                    s.due
                };
                (f(&r.data), Stamp { due, ..s }, r)
            })
            .collect();
        RefKeyed::new(items, self.ctx, hold)
    }

    fn sink(self, name: &'static str)
    where
        T: Output,
    {
        let mut ctx = self.ctx.borrow_mut();
        let sink = ctx.out.sinks.entry(name.to_string()).or_default();
        sink.extend(self.items.iter().map(|(s, r)| Emitted {
            line: r.data.to_line(),
            time: r.time,
            arrival: s.arrival,
            due: s.due,
        }));
    }
}
