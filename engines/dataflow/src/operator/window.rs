//! Keyed window aggregation over fixed windows (tumbling, sliding) or windows each record
//! names itself (`window_by`), with Flink's semantics: a window fires when the watermark
//! reaches its last instant, fires again for every late record it still accepts that changes
//! its result, and is purged once the watermark passes its last instant plus the allowed
//! lateness. A record late for a window does not count towards it; one late for all its
//! windows goes to the late side output (counted in the metrics).
//!
//! Feeding another stateful operator, it fires each window once, when it is purged, and holds
//! the watermark it passes on back by the allowed lateness (`flowmark_core::window`, "Late
//! firings and chained operators").

use super::Logic;
use crate::task::Context;
use flowmark_core::{
    Aggregate, Assigner, Key, Rec, Time, Window, WindowResult, WindowSpec, open_window, open_window_at,
};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The open window's keys, each with its accumulator.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, A: Serialize", deserialize = "K: Key, A: Deserialize<'de>"))]
pub struct Pane<K: Key, A> {
    fired: bool,
    slots: FxHashMap<K, A>,
}

impl<K: Key, A> Pane<K, A> {
    fn empty() -> Self {
        Pane { fired: false, slots: FxHashMap::default() }
    }

    /// Adds a record to `key` in this pane of window `w`: to its accumulator before the window
    /// fires, as a late firing after ([`add_late`]).
    #[inline(always)]
    fn add<V, G: Aggregate<V, Acc = A>>(
        &mut self,
        w: Window,
        key: K,
        value: &V,
        agg: &G,
        out: &mut Vec<Rec<WindowResult<K, G::Out>>>,
    ) {
        if self.fired {
            add_late(self, w, key, value, agg, out);
        } else {
            agg.add(self.slots.entry(key).or_insert_with(|| agg.init()), value);
        }
    }
}

/// Window state: the open panes in order of (end, start), so that the ones to fire come first
/// ([`open_window`]).
type Panes<K, A> = Vec<(Window, Pane<K, A>)>;

/// The window aggregation operator.
pub struct WindowAggregate<K: Key, V, A: Aggregate<V>, S> {
    op: u32,
    spec: WindowSpec,
    assigner: S,
    agg: A,
    panes: Panes<K, A::Acc>,
    /// How far behind the watermark windows fire ([`WindowSpec::fire_delay`]).
    delay: Time,
}

impl<K: Key, V, A: Aggregate<V>, S: Assigner<V>> WindowAggregate<K, V, A, S> {
    /// Operator `op`, restored from `state` if there is one; `final_only` when its results
    /// feed another stateful operator.
    pub fn new(
        op: u32,
        spec: WindowSpec,
        final_only: bool,
        assigner: S,
        agg: A,
        state: Option<Panes<K, A::Acc>>,
    ) -> Self {
        let delay = spec.fire_delay(final_only);
        WindowAggregate { op, spec, assigner, agg, panes: state.unwrap_or_default(), delay }
    }

    /// Adds a record to every window the assigner names that it is not late for (counting
    /// those it is, `late_windows`); whether it was on time for any.
    fn add_to_each(
        &mut self,
        time: Time,
        wm: Time,
        key: K,
        value: &V,
        out: &mut Vec<Rec<WindowResult<K, A::Out>>>,
        late_windows: &mut u64,
    ) -> bool {
        let mut on_time = false;
        let (panes, agg, spec) = (&mut self.panes, &self.agg, &self.spec);
        self.assigner.assign(time, value, |w| {
            if spec.is_late(w, wm) {
                *late_windows += 1;
                return;
            }
            on_time = true;
            open_window(panes, w, Pane::empty).add(w, key.clone(), value, agg, out);
        });
        on_time
    }
}

/// Adds a late record to `key` in `pane`, which has fired: when that changes the key's result
/// the window fires again, with the new one (a late firing). Only with allowed lateness.
#[cold]
#[inline(never)]
fn add_late<K: Key, V, A: Aggregate<V>>(
    pane: &mut Pane<K, A::Acc>,
    w: Window,
    key: K,
    value: &V,
    agg: &A,
    out: &mut Vec<Rec<WindowResult<K, A::Out>>>,
) {
    let slot = pane.slots.entry(key.clone());
    let before = match &slot {
        std::collections::hash_map::Entry::Occupied(e) => Some(agg.finish(e.get())),
        std::collections::hash_map::Entry::Vacant(_) => None,
    };
    let acc = slot.or_insert_with(|| agg.init());
    agg.add(acc, value);
    let value = agg.finish(acc);
    if before.as_ref() != Some(&value) {
        out.push(Rec::window_result(w, WindowResult { key, window: w, value }));
    }
}

impl<K: Key, V: Send, A: Aggregate<V>, S: Assigner<V>> Logic<(K, V)> for WindowAggregate<K, V, A, S> {
    type Out = WindowResult<K, A::Out>;

    fn data(&mut self, batch: &mut Vec<Rec<(K, V)>>, out: &mut Vec<Rec<Self::Out>>, cx: &mut Context) {
        let (mut late_events, mut late_windows) = (0, 0);
        // the pane the last record went to, which the next nearly always shares: its index
        // stays valid until another pane opens
        let mut last: Option<(Window, usize)> = None;
        for r in batch.drain(..) {
            let (key, value) = r.data;
            let Some(w) = self.assigner.single(r.time, &value) else {
                last = None;
                let on_time = self.add_to_each(r.time, r.wm, key, &value, out, &mut late_windows);
                late_events += u64::from(!on_time);
                continue;
            };
            if self.spec.is_late(w, r.wm) {
                late_windows += 1;
                late_events += 1;
                continue;
            }
            let at = match last {
                Some((lw, at)) if lw == w => at,
                _ => {
                    let at = open_window_at(&mut self.panes, w, Pane::empty);
                    last = Some((w, at));
                    at
                }
            };
            self.panes[at].1.add(w, key, &value, &self.agg, out);
        }
        cx.late(late_events, late_windows);
    }

    fn watermark(&mut self, wm: Time, out: &mut Vec<Rec<Self::Out>>, _: &mut Context) {
        // fire: last instant (end − 1) at or behind the watermark (less the delay)
        let fire_until = wm.saturating_add(1).saturating_sub(self.delay);
        for (w, pane) in self.panes.iter_mut().take_while(|(w, _)| w.end <= fire_until) {
            if pane.fired {
                continue;
            }
            pane.fired = true;
            let w = *w;
            out.reserve(pane.slots.len());
            for (key, acc) in &pane.slots {
                out.push(Rec::window_result(
                    w,
                    WindowResult { key: key.clone(), window: w, value: self.agg.finish(acc) },
                ));
            }
        }
        // purge: last instant plus lateness at or behind the watermark
        let purge_until = wm.saturating_add(1).saturating_sub(self.spec.allowed_lateness);
        let purged = self.panes.iter().take_while(|(w, _)| w.end <= purge_until).count();
        debug_assert!(
            self.panes[..purged].iter().all(|(_, p)| p.fired),
            "a window was purged before it fired"
        );
        self.panes.drain(..purged);
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
    use flowmark_core::{Assign, Max, Windows, time::MIN_WATERMARK};

    type Op = WindowAggregate<u32, i64, Max<fn(&i64) -> i64>, Assign>;

    fn op(lateness: Time, final_only: bool) -> Op {
        let spec = WindowSpec::new(Windows::tumbling(10)).with_lateness(lateness);
        WindowAggregate::new(0, spec, final_only, Assign::new(spec.windows), Max(|v: &i64| *v), None)
    }

    fn data(op: &mut Op, cx: &mut Context, r: Rec<(u32, i64)>) -> Vec<String> {
        let mut out = Vec::new();
        op.data(&mut vec![r], &mut out, cx);
        out.iter()
            .map(|r| format!("{} {} {}@{}/{}", r.data.key, r.data.window, r.data.value, r.time, r.wm))
            .collect()
    }

    fn watermark(op: &mut Op, cx: &mut Context, wm: Time) -> Vec<String> {
        let mut out = Vec::new();
        op.watermark(wm, &mut out, cx);
        out.iter().map(|r| format!("{} {} {}", r.data.key, r.data.window, r.data.value)).collect()
    }

    /// Windows in the operator's state, from a snapshot.
    fn open(op: &Op, cx: &mut Context) -> usize {
        op.snapshot(cx);
        cx.saved::<Panes<u32, Option<i64>>>(0).expect("the operator saves its state").len()
    }

    #[test]
    fn fires_at_its_last_instant_refires_for_a_change_and_purges_after_the_lateness() {
        let (mut op, cx) = (op(5, false), &mut context());
        assert!(data(&mut op, cx, rec(3, MIN_WATERMARK, 1, 5)).is_empty());
        assert!(watermark(&mut op, cx, 8).is_empty());
        assert_eq!(watermark(&mut op, cx, 9), ["1 [0,10) 5"]);
        assert!(watermark(&mut op, cx, 9).is_empty(), "a window fires once");
        // late but within the lateness (9 + 5 > wm): a smaller value changes nothing
        assert!(data(&mut op, cx, rec(4, 9, 1, 2)).is_empty());
        assert_eq!(data(&mut op, cx, rec(5, 13, 1, 7)), ["1 [0,10) 7@9/8"]);
        // 9 + 5 ≤ 14: late, dropped and counted
        assert!(data(&mut op, cx, rec(6, 14, 1, 100)).is_empty());
        assert_eq!(late_events(cx), 1);
        // a new key in a fired window fires for itself
        assert_eq!(data(&mut op, cx, rec(7, 10, 2, 1)), ["2 [0,10) 1@9/8"]);
        assert!(watermark(&mut op, cx, 12).is_empty());
        assert_eq!(open(&op, cx), 1, "kept until the watermark passes 9 + 5");
        assert!(watermark(&mut op, cx, 13).is_empty());
        assert_eq!(open(&op, cx), 1);
        watermark(&mut op, cx, 14);
        assert_eq!(open(&op, cx), 0);
        assert_eq!(op.hold(), 0);
    }

    #[test]
    fn feeding_state_it_fires_once_final_and_holds_the_watermark() {
        let (mut op, cx) = (op(5, true), &mut context());
        assert_eq!(op.hold(), 5);
        assert!(data(&mut op, cx, rec(3, MIN_WATERMARK, 1, 5)).is_empty());
        assert!(watermark(&mut op, cx, 9).is_empty());
        assert!(data(&mut op, cx, rec(5, 13, 1, 7)).is_empty());
        assert!(watermark(&mut op, cx, 13).is_empty());
        assert_eq!(watermark(&mut op, cx, 14), ["1 [0,10) 7"]);
        assert_eq!(open(&op, cx), 0);
    }

    #[test]
    fn a_record_late_for_every_window_is_a_late_event() {
        let (mut op, cx) = (op(0, false), &mut context());
        assert!(data(&mut op, cx, rec(9, 8, 1, 1)).is_empty());
        assert_eq!(late_events(cx), 0, "on time one instant before the window's last");
        assert!(data(&mut op, cx, rec(9, 9, 1, 1)).is_empty());
        assert_eq!(late_events(cx), 1, "late at the window's last instant");
        assert_eq!(watermark(&mut op, cx, 9), ["1 [0,10) 1"]);
    }
}
