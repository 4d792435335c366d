//! Stateless operators — map, filter, flat_map — chained inside a task. Each keeps a record's
//! instants (event time, watermark) and changes its payload.

use super::Logic;
use crate::task::Context;
use flowmark_core::Rec;

/// Transforms each record's payload.
pub struct Map<F>(pub F);

impl<T, U, F: Fn(T) -> U + Send> Logic<T> for Map<F> {
    type Out = U;
    #[inline]
    fn data(&mut self, batch: &mut Vec<Rec<T>>, out: &mut Vec<Rec<U>>, _: &mut Context) {
        out.extend(batch.drain(..).map(|r| Rec { time: r.time, wm: r.wm, data: (self.0)(r.data) }));
    }
}

/// Keeps the records whose payload satisfies a predicate.
pub struct Filter<F>(pub F);

impl<T, F: Fn(&T) -> bool + Send> Logic<T> for Filter<F> {
    type Out = T;
    #[inline]
    fn data(&mut self, batch: &mut Vec<Rec<T>>, out: &mut Vec<Rec<T>>, _: &mut Context) {
        out.extend(batch.drain(..).filter(|r| (self.0)(&r.data)));
    }
}

/// Transforms each record into zero or more.
pub struct FlatMap<F>(pub F);

impl<T, U, I: IntoIterator<Item = U>, F: Fn(T) -> I + Send> Logic<T> for FlatMap<F> {
    type Out = U;
    #[inline]
    fn data(&mut self, batch: &mut Vec<Rec<T>>, out: &mut Vec<Rec<U>>, _: &mut Context) {
        for r in batch.drain(..) {
            let (time, wm) = (r.time, r.wm);
            out.extend((self.0)(r.data).into_iter().map(|data| Rec { time, wm, data }));
        }
    }
}
