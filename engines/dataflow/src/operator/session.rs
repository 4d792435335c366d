//! Keyed session windows: each record opens `[t, t + gap)`, merged with every session of its key
//! it intersects; a session fires (and is purged) when the watermark reaches its last instant.
//! A record at or behind its own watermark is late (see `WindowSpec::is_late_element`), which
//! is what makes a fired session final.

use super::Logic;
use crate::task::Context;
use flowmark_core::{Aggregate, Key, Rec, Time, Window, WindowResult, WindowSpec};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// An open session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session<A> {
    window: Window,
    acc: A,
    arrival: Time,
}

/// Session state: open sessions per key, and their ends in firing order.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, A: Serialize", deserialize = "K: Key, A: Deserialize<'de>"))]
pub struct Sessions<K: Key, A> {
    open: FxHashMap<K, Vec<Session<A>>>,
    timers: BTreeSet<(Time, K)>,
}

impl<K: Key, A> Default for Sessions<K, A> {
    fn default() -> Self {
        Sessions { open: FxHashMap::default(), timers: BTreeSet::new() }
    }
}

/// The session window operator.
pub struct SessionAggregate<K: Key, V, A: Aggregate<V>> {
    op: u32,
    spec: WindowSpec,
    gap: Time,
    agg: A,
    state: Sessions<K, A::Acc>,
    _v: std::marker::PhantomData<fn(V)>,
}

impl<K: Key, V, A: Aggregate<V>> SessionAggregate<K, V, A> {
    /// Operator `op` with sessions closed by `gap`, restored from `state` if there is one.
    pub fn new(op: u32, spec: WindowSpec, gap: Time, agg: A, state: Option<Sessions<K, A::Acc>>) -> Self {
        SessionAggregate {
            op,
            spec,
            gap,
            agg,
            state: state.unwrap_or_default(),
            _v: std::marker::PhantomData,
        }
    }
}

impl<K: Key, V: Send, A: Aggregate<V>> Logic<(K, V)> for SessionAggregate<K, V, A> {
    type Out = WindowResult<K, A::Out>;

    fn data(&mut self, batch: &mut Vec<Rec<(K, V)>>, _: &mut Vec<Rec<Self::Out>>, cx: &mut Context) {
        let mut late = 0;
        for r in batch.drain(..) {
            if self.spec.is_late_element(r.time, r.wm) {
                late += 1;
                continue;
            }
            let (key, value) = r.data;
            let window = Window::new(r.time, r.time.saturating_add(self.gap));
            let list = self.state.open.entry(key.clone()).or_default();
            // the record joins the first session it touches, in place: adding one value to a
            // large accumulator, not the accumulator to a new one, keeps a long session's cost
            // per record constant (aggregates do not depend on the order of their values)
            let mut merged = match list.iter().position(|s| s.window.intersects(&window)) {
                Some(i) => {
                    let mut s = list.swap_remove(i);
                    self.state.timers.remove(&(s.window.end, key.clone()));
                    s.window = s.window.cover(&window);
                    s.arrival = s.arrival.max(r.arrival);
                    self.agg.add(&mut s.acc, &value);
                    s
                }
                None => {
                    let mut acc = self.agg.init();
                    self.agg.add(&mut acc, &value);
                    Session { window, acc, arrival: r.arrival }
                }
            };
            // merge until nothing intersects (a record may bridge the gap between two sessions)
            while let Some(i) = list.iter().position(|s| s.window.intersects(&merged.window)) {
                let s = list.swap_remove(i);
                self.state.timers.remove(&(s.window.end, key.clone()));
                merged.window = merged.window.cover(&s.window);
                merged.arrival = merged.arrival.max(s.arrival);
                self.agg.merge(&mut merged.acc, s.acc);
            }
            self.state.timers.insert((merged.window.end, key));
            list.push(merged);
        }
        cx.late(late, late);
    }

    fn watermark(&mut self, wm: Time, out: &mut Vec<Rec<Self::Out>>, _: &mut Context) {
        while let Some((end, _)) = self.state.timers.first()
            && *end - 1 <= wm
        {
            let (end, key) = self.state.timers.pop_first().expect("checked above");
            let Some(list) = self.state.open.get_mut(&key) else { continue };
            if let Some(i) = list.iter().position(|s| s.window.end == end) {
                let s = list.swap_remove(i);
                let value = self.agg.finish(&s.acc);
                out.push(Rec::window_result(
                    s.window,
                    s.arrival,
                    WindowResult { key: key.clone(), window: s.window, value },
                ));
            }
            if list.is_empty() {
                self.state.open.remove(&key);
            }
        }
    }

    fn snapshot(&self, cx: &mut Context) {
        cx.save(self.op, &self.state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::testing::{context, late_events, rec};
    use flowmark_core::{Sum, Windows, time::MIN_WATERMARK};

    type Op = SessionAggregate<u32, i64, Sum<fn(&i64) -> i64>>;

    fn op() -> Op {
        SessionAggregate::new(0, WindowSpec::new(Windows::session(10)), 10, Sum(|v: &i64| *v), None)
    }

    fn fire(op: &mut Op, cx: &mut Context, wm: Time) -> Vec<String> {
        let mut out = Vec::new();
        op.watermark(wm, &mut out, cx);
        out.iter().map(|r| format!("{} {} {}", r.data.key, r.data.window, r.data.value)).collect()
    }

    #[test]
    fn sessions_merge_and_fire_at_their_last_instant() {
        let (mut op, cx) = (op(), &mut context());
        let mut out = Vec::new();
        // [3,13) and [12,22) intersect: [3,22); [22,32) only touches it
        op.data(&mut vec![rec(3, MIN_WATERMARK, 1, 1), rec(12, 2, 1, 2), rec(22, 11, 1, 4)], &mut out, cx);
        assert!(out.is_empty());
        op.snapshot(cx);
        let saved: Sessions<u32, i64> = cx.saved(0).expect("the operator saves its state");
        assert_eq!((saved.open[&1].len(), saved.timers.len()), (2, 2));
        assert!(fire(&mut op, cx, 20).is_empty());
        assert_eq!(fire(&mut op, cx, 21), ["1 [3,22) 3"]);
        // at the watermark: late; one past it: on time, its own session
        op.data(&mut vec![rec(21, 21, 1, 8), rec(22, 21, 2, 16)], &mut out, cx);
        assert_eq!(late_events(cx), 1);
        assert!(fire(&mut op, cx, 30).is_empty());
        assert_eq!(fire(&mut op, cx, 31), ["1 [22,32) 4", "2 [22,32) 16"]);
        op.snapshot(cx);
        assert!(cx.saved::<Sessions<u32, i64>>(0).unwrap().open.is_empty());
    }
}
