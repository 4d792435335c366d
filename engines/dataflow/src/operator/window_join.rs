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
                    Side::Left(v) => g.push_left(r.time, r.arrival, v.clone()),
                    Side::Right(v) => g.push_right(r.time, r.arrival, v.clone()),
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
        cx.metrics().late(late_events, late_windows);
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
        cx.save(self.op, &self.panes);
    }
}
