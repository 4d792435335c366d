//! Stateless operators, key_by and sinks: evaluated over the whole vector of records.

use crate::{Emitted, RefKeyed, Reference, Shared};
use flowmark_core::{Data, Key, Output, Rec, Stream};

/// A stream of the reference engine: every record of it, materialized.
pub struct RefStream<T> {
    pub(crate) recs: Vec<Rec<T>>,
    pub(crate) ctx: Shared,
}

impl<T> RefStream<T> {
    pub(crate) fn new(recs: Vec<Rec<T>>, ctx: Shared) -> Self {
        RefStream { recs, ctx }
    }
}

impl<T: Data> Stream<Reference, T> for RefStream<T> {
    fn map<U: Data>(self, f: impl Fn(T) -> U + Clone + Send + 'static) -> RefStream<U> {
        let recs = self.recs.into_iter().map(|r| Rec {
            time: r.time,
            arrival: r.arrival,
            wm: r.wm,
            data: f(r.data),
        });
        RefStream::new(recs.collect(), self.ctx)
    }

    fn filter(self, f: impl Fn(&T) -> bool + Clone + Send + 'static) -> RefStream<T> {
        RefStream::new(self.recs.into_iter().filter(|r| f(&r.data)).collect(), self.ctx)
    }

    fn flat_map<U: Data, I: IntoIterator<Item = U>>(
        self,
        f: impl Fn(T) -> I + Clone + Send + 'static,
    ) -> RefStream<U> {
        let mut out = Vec::new();
        for r in self.recs {
            let (time, arrival, wm) = (r.time, r.arrival, r.wm);
            out.extend(f(r.data).into_iter().map(|data| Rec { time, arrival, wm, data }));
        }
        RefStream::new(out, self.ctx)
    }

    fn fork(self) -> (RefStream<T>, RefStream<T>) {
        (RefStream::new(self.recs.clone(), self.ctx.clone()), self)
    }

    fn key_by<K: Key>(self, f: impl Fn(&T) -> K + Clone + Send + 'static) -> RefKeyed<K, T> {
        let recs = self.recs.into_iter().map(|r| (f(&r.data), r)).collect();
        RefKeyed::new(recs, self.ctx)
    }

    fn sink(self, name: &'static str)
    where
        T: Output,
    {
        let mut ctx = self.ctx.borrow_mut();
        let sink = ctx.out.sinks.entry(name.to_string()).or_default();
        sink.extend(self.recs.iter().map(|r| Emitted {
            line: r.data.to_line(),
            time: r.time,
            arrival: r.arrival,
        }));
    }
}
