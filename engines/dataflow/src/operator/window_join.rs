//! Keyed window join: both inputs grouped by key and fixed window; when a window fires, the
//! join function gets, for every key with records on both sides, both sides' values ordered by
//! (event time, value). Lateness as for window aggregation; a late record accepted into a
//! fired window joins its key again (emitted if that changes the key's results). Feeding
//! another stateful operator, it joins each window once, when it is final (see
//! [`super::window`]).

use super::Logic;
use crate::task::Context;
use flowmark_core::{Data, JoinGroup, Key, Rec, Time, Window, WindowSpec};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use flowmark_core::Side;

/// A window's groups.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize, W: Serialize",
    deserialize = "K: Key, V: Deserialize<'de>, W: Deserialize<'de>"
))]
pub struct JoinPane<K: Key, V, W> {
    fired: bool,
    groups: FxHashMap<K, JoinGroup<V, W>>,
}

type JoinPanes<K, V, W> = BTreeMap<(Time, Time), JoinPane<K, V, W>>;

/// The window join operator.
pub struct WindowJoin<K: Key, V, W, O, F> {
    op: u32,
    spec: WindowSpec,
    f: F,
    panes: JoinPanes<K, V, W>,
    delay: Time,
    _out: std::marker::PhantomData<fn() -> O>,
}

impl<K: Key, V: Data + Ord, W: Data + Ord, O, F: Fn(&K, Window, &[V], &[W], &mut Vec<O>)>
    WindowJoin<K, V, W, O, F>
{
    /// Operator `op`, restored from `state` if there is one; `final_only` when its results
    /// feed another stateful operator.
    pub fn new(op: u32, spec: WindowSpec, final_only: bool, f: F, state: Option<JoinPanes<K, V, W>>) -> Self {
        let delay = spec.fire_delay(final_only);
        WindowJoin { op, spec, f, panes: state.unwrap_or_default(), delay, _out: std::marker::PhantomData }
    }
}

impl<K, V, W, O, F> Logic<(K, Side<V, W>)> for WindowJoin<K, V, W, O, F>
where
    K: Key,
    V: Data + Ord,
    W: Data + Ord,
    O: Send + PartialEq,
    F: Fn(&K, Window, &[V], &[W], &mut Vec<O>) + Send,
{
    type Out = O;

    fn data(&mut self, batch: &mut Vec<Rec<(K, Side<V, W>)>>, out: &mut Vec<Rec<O>>, cx: &mut Context) {
        let (mut late_events, mut late_windows) = (0, 0);
        let mut refire = Vec::new();
        for r in batch.drain(..) {
            let (key, side) = r.data;
            let mut on_time = false;
            let (panes, spec, f) = (&mut self.panes, &self.spec, &self.f);
            spec.windows.assign(r.time, |w| {
                if spec.is_late(w, r.wm) {
                    late_windows += 1;
                    return;
                }
                on_time = true;
                let pane = panes
                    .entry((w.end, w.start))
                    .or_insert_with(|| JoinPane { fired: false, groups: FxHashMap::default() });
                let g = pane.groups.entry(key.clone()).or_default();
                let before = pane.fired.then(|| g.results(f, &key, w));
                match &side {
                    Side::Left(v) => g.push_left(r.time, v.clone()),
                    Side::Right(v) => g.push_right(r.time, v.clone()),
                }
                if let Some(before) = before {
                    let after = g.results(f, &key, w);
                    if after != before {
                        refire.push((w, after));
                    }
                }
            });
            if !on_time {
                late_events += 1;
            }
            for (w, results) in refire.drain(..) {
                self.panes[&(w.end, w.start)].groups[&key].emit(results, w, out);
            }
        }
        cx.late(late_events, late_windows);
    }

    fn watermark(&mut self, wm: Time, out: &mut Vec<Rec<O>>, _: &mut Context) {
        let fire_until = wm.saturating_add(1).saturating_sub(self.delay);
        let f = &self.f;
        for (&(end, start), pane) in self.panes.range_mut(..=(fire_until, Time::MAX)) {
            if pane.fired || end > fire_until {
                continue;
            }
            pane.fired = true;
            let w = Window::new(start, end);
            for (key, g) in &pane.groups {
                g.join(f, key, w, out);
            }
        }
        let purge_until = wm.saturating_add(1).saturating_sub(self.spec.allowed_lateness);
        while let Some(entry) = self.panes.first_entry() {
            if entry.key().0 > purge_until {
                break;
            }
            entry.remove();
        }
    }

    fn hold(&self) -> Time {
        self.delay
    }

    fn snapshot(&self, cx: &mut Context) {
        cx.save(self.op, self.panes.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::testing::{context, late_events, rec};
    use flowmark_core::{Windows, time::MIN_WATERMARK};

    type Out = (u32, i64, usize);
    type F = fn(&u32, Window, &[i64], &[i64], &mut Vec<Out>);
    type Op = WindowJoin<u32, i64, i64, Out, F>;

    /// The earliest left value and how many right ones.
    fn first_left(k: &u32, _: Window, l: &[i64], r: &[i64], out: &mut Vec<Out>) {
        out.push((*k, l[0], r.len()));
    }

    fn op(lateness: Time, final_only: bool) -> Op {
        let spec = WindowSpec::new(Windows::tumbling(10)).with_lateness(lateness);
        WindowJoin::new(0, spec, final_only, first_left as F, None)
    }

    fn data(op: &mut Op, cx: &mut Context, r: Rec<(u32, Side<i64, i64>)>) -> Vec<Out> {
        let mut out = Vec::new();
        op.data(&mut vec![r], &mut out, cx);
        out.into_iter().map(|r| r.data).collect()
    }

    fn fire(op: &mut Op, cx: &mut Context, wm: Time) -> Vec<Out> {
        let mut out = Vec::new();
        op.watermark(wm, &mut out, cx);
        out.into_iter().map(|r| r.data).collect()
    }

    #[test]
    fn joins_at_the_last_instant_and_again_for_a_changing_late_record() {
        let (mut op, cx) = (op(5, false), &mut context());
        assert!(data(&mut op, cx, rec(4, MIN_WATERMARK, 1, Side::Left(40))).is_empty());
        assert!(data(&mut op, cx, rec(2, MIN_WATERMARK, 1, Side::Right(0))).is_empty());
        assert!(fire(&mut op, cx, 8).is_empty());
        assert_eq!(fire(&mut op, cx, 9), [(1, 40, 1)]);
        // a later left value leaves the first one first: no new result
        assert!(data(&mut op, cx, rec(6, 9, 1, Side::Left(60))).is_empty());
        // an earlier one changes it, and so does a right one
        assert_eq!(data(&mut op, cx, rec(1, 12, 1, Side::Left(10))), [(1, 10, 1)]);
        assert_eq!(data(&mut op, cx, rec(3, 13, 1, Side::Right(0))), [(1, 10, 2)]);
        assert!(data(&mut op, cx, rec(3, 14, 1, Side::Right(0))).is_empty());
        assert_eq!(late_events(cx), 1);
        fire(&mut op, cx, 13);
        op.snapshot(cx);
        assert_eq!(cx.saved::<JoinPanes<u32, i64, i64>>(0).unwrap().len(), 1);
        fire(&mut op, cx, 14);
        op.snapshot(cx);
        assert_eq!(cx.saved::<JoinPanes<u32, i64, i64>>(0).unwrap().len(), 0);
    }

    #[test]
    fn feeding_state_it_joins_once_final() {
        let (mut op, cx) = (op(5, true), &mut context());
        assert_eq!(op.hold(), 5);
        data(&mut op, cx, rec(4, MIN_WATERMARK, 1, Side::Left(40)));
        data(&mut op, cx, rec(2, MIN_WATERMARK, 1, Side::Right(0)));
        assert!(fire(&mut op, cx, 9).is_empty());
        assert!(data(&mut op, cx, rec(1, 12, 1, Side::Left(10))).is_empty());
        assert!(fire(&mut op, cx, 13).is_empty());
        assert_eq!(fire(&mut op, cx, 14), [(1, 10, 1)]);
    }
}
