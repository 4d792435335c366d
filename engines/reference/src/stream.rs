//! Stateless operators, key_by and sinks: evaluated over the whole vector of records. Each
//! record travels with its due instant.

use crate::{Emitted, RefKeyed, Reference, Shared};
use flowmark_core::{Data, Key, Output, Rec, Stream, Time};

/// A record with its due instant.
pub(crate) type Item<T> = (Time, Rec<T>);

/// A stream of the reference engine: every record of it, materialized.
pub struct RefStream<T> {
    pub(crate) items: Vec<Item<T>>,
    pub(crate) ctx: Shared,
}

impl<T> RefStream<T> {
    pub(crate) fn new(items: Vec<Item<T>>, ctx: Shared) -> Self {
        RefStream { items, ctx }
    }
}

impl<T: Data> Stream<Reference, T> for RefStream<T> {
    fn map<U: Data>(self, f: impl Fn(T) -> U + Clone + Send + 'static) -> RefStream<U> {
        let items = self
            .items
            .into_iter()
            .map(|(due, r)| (due, Rec { time: r.time, arrival: r.arrival, wm: r.wm, data: f(r.data) }));
        RefStream::new(items.collect(), self.ctx)
    }

    fn filter(self, f: impl Fn(&T) -> bool + Clone + Send + 'static) -> RefStream<T> {
        RefStream::new(self.items.into_iter().filter(|(_, r)| f(&r.data)).collect(), self.ctx)
    }

    fn flat_map<U: Data, I: IntoIterator<Item = U>>(
        self,
        f: impl Fn(T) -> I + Clone + Send + 'static,
    ) -> RefStream<U> {
        let mut out = Vec::new();
        for (due, r) in self.items {
            let (time, arrival, wm) = (r.time, r.arrival, r.wm);
            out.extend(f(r.data).into_iter().map(|data| (due, Rec { time, arrival, wm, data })));
        }
        RefStream::new(out, self.ctx)
    }

    fn fork(self) -> (RefStream<T>, RefStream<T>) {
        (RefStream::new(self.items.clone(), self.ctx.clone()), self)
    }

    fn key_by<K: Key>(self, f: impl Fn(&T) -> K + Clone + Send + 'static) -> RefKeyed<K, T> {
        let items = self.items.into_iter().map(|(due, r)| (f(&r.data), due, r)).collect();
        RefKeyed::new(items, self.ctx)
    }

    fn sink(self, name: &'static str)
    where
        T: Output,
    {
        let mut ctx = self.ctx.borrow_mut();
        let sink = ctx.out.sinks.entry(name.to_string()).or_default();
        sink.extend(self.items.iter().map(|(due, r)| Emitted {
            line: r.data.to_line(),
            time: r.time,
            arrival: r.arrival,
            due: *due,
        }));
    }
}
