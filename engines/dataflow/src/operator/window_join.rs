//! Keyed window join: both inputs grouped by key and fixed window; when a window fires, the
//! join function gets, for every key with records on both sides, both sides' values ordered by
//! (event time, value). Lateness as for window aggregation; a late record accepted into a
//! fired window joins its key again.

use super::Logic;
use crate::task::Context;
use flowmark_core::{Data, Key, Rec, Time, Window, WindowSpec};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use flowmark_core::Side;

/// One key's records in one window.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Group<V, W> {
    left: Vec<(Time, V)>,
    right: Vec<(Time, W)>,
    arrival: Time,
}

impl<V, W> Default for Group<V, W> {
    fn default() -> Self {
        Group { left: Vec::new(), right: Vec::new(), arrival: Time::MIN }
    }
}

/// A window's groups.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize, W: Serialize",
    deserialize = "K: Key, V: Deserialize<'de>, W: Deserialize<'de>"
))]
pub struct JoinPane<K: Key, V, W> {
    fired: bool,
    groups: FxHashMap<K, Group<V, W>>,
}

type JoinPanes<K, V, W> = BTreeMap<(Time, Time), JoinPane<K, V, W>>;

/// The window join operator.
pub struct WindowJoin<K: Key, V, W, O, F> {
    op: u32,
    spec: WindowSpec,
    f: F,
    panes: JoinPanes<K, V, W>,
    buf: Vec<O>,
}

impl<K: Key, V: Data + Ord, W: Data + Ord, O, F: Fn(&K, Window, &[V], &[W], &mut Vec<O>)>
    WindowJoin<K, V, W, O, F>
{
    /// Operator `op`, restored from `state` if there is one.
    pub fn new(op: u32, spec: WindowSpec, f: F, state: Option<JoinPanes<K, V, W>>) -> Self {
        WindowJoin { op, spec, f, panes: state.unwrap_or_default(), buf: Vec::new() }
    }

    fn join(&mut self, key: &K, w: Window, g: &Group<V, W>, out: &mut Vec<Rec<O>>) {
        if g.left.is_empty() || g.right.is_empty() {
            return;
        }
        let mut left = g.left.clone();
        let mut right = g.right.clone();
        left.sort();
        right.sort();
        let left: Vec<V> = left.into_iter().map(|(_, v)| v).collect();
        let right: Vec<W> = right.into_iter().map(|(_, v)| v).collect();
        (self.f)(key, w, &left, &right, &mut self.buf);
        out.extend(self.buf.drain(..).map(|o| Rec::window_result(w, g.arrival, o)));
    }
}

impl<K, V, W, O, F> Logic<(K, Side<V, W>)> for WindowJoin<K, V, W, O, F>
where
    K: Key,
    V: Data + Ord,
    W: Data + Ord,
    O: Send,
    F: Fn(&K, Window, &[V], &[W], &mut Vec<O>) + Send,
{
    type Out = O;

    fn data(&mut self, batch: &mut Vec<Rec<(K, Side<V, W>)>>, out: &mut Vec<Rec<O>>, cx: &mut Context) {
        let (mut late_events, mut late_windows) = (0, 0);
        let mut refire = Vec::new();
        for r in batch.drain(..) {
            let (key, side) = r.data;
            let mut on_time = false;
            let (panes, spec) = (&mut self.panes, &self.spec);
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
                match &side {
                    Side::Left(v) => g.left.push((r.time, v.clone())),
                    Side::Right(v) => g.right.push((r.time, v.clone())),
                }
                g.arrival = g.arrival.max(r.arrival);
                if pane.fired {
                    refire.push(w);
                }
            });
            if !on_time {
                late_events += 1;
            }
            for w in refire.drain(..) {
                let g = self.panes[&(w.end, w.start)].groups[&key].clone();
                self.join(&key, w, &g, out);
            }
        }
        cx.metrics().late(late_events, late_windows);
    }

    fn watermark(&mut self, wm: Time, out: &mut Vec<Rec<O>>, _: &mut Context) {
        let fire_until = wm.saturating_add(1);
        let to_fire: Vec<(Time, Time)> = self
            .panes
            .range(..=(fire_until, Time::MAX))
            .filter(|(k, p)| !p.fired && k.0 <= fire_until)
            .map(|(k, _)| *k)
            .collect();
        for k in to_fire {
            let mut pane = self.panes.remove(&k).expect("listed above");
            let w = Window::new(k.1, k.0);
            for (key, g) in &pane.groups {
                self.join(key, w, g, out);
            }
            pane.fired = true;
            self.panes.insert(k, pane);
        }
        let purge_until = wm.saturating_add(1).saturating_sub(self.spec.allowed_lateness);
        while let Some(entry) = self.panes.first_entry() {
            if entry.key().0 > purge_until {
                break;
            }
            entry.remove();
        }
    }

    fn snapshot(&self, cx: &mut Context) {
        cx.save(self.op, &self.panes);
    }
}
