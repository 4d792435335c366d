//! Window aggregation (fixed windows, or windows records name themselves), as Structured
//! Streaming runs it: the map side assigns windows, drops late records, and pre-aggregates per
//! (window, key); the reduce side merges the partial aggregates into the state, fires the
//! windows the batch's watermark has passed (and again any fired window a late record updated),
//! and purges windows past their allowed lateness.

use super::{Late, Mapped, Versioned};
use crate::plan::Collect;
use flowmark_core::{Aggregate, Assigner, Key, Rec, Time, Window, WindowResult, WindowSpec, key_hash, owner};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A window by (end, start): the order windows fire in.
pub type PaneId = (Time, Time);

fn window(p: PaneId) -> Window {
    Window::new(p.1, p.0)
}

/// A pre-aggregated (window, key) from one map task.
#[derive(Clone, Debug)]
pub struct Partial<K, A> {
    pane: PaneId,
    key: K,
    acc: A,
}

/// The map side: assigns windows, drops late records, pre-aggregates per (window, key), and
/// buckets the partial aggregates by key partition.
pub struct Combiner<K, V, A: Aggregate<V>, F> {
    agg: A,
    spec: WindowSpec,
    assign: F,
    n: usize,
    panes: Panes<K, A::Acc>,
    late: Late,
    _v: std::marker::PhantomData<fn(V)>,
}

/// One window's partial aggregates per key.
type Partials<K, A> = FxHashMap<K, A>;

/// The map side's windows: few are open at once, and consecutive records mostly fall in the
/// same one, so the last one used is tried first.
struct Panes<K, A> {
    list: Vec<(PaneId, Partials<K, A>)>,
    index: FxHashMap<PaneId, usize>,
    last: usize,
}

impl<K, A> Panes<K, A> {
    /// The partials of window `id`: the last one used, on the fast path.
    #[inline(always)]
    fn get(&mut self, id: PaneId) -> &mut Partials<K, A> {
        if self.list.get(self.last).is_none_or(|p| p.0 != id) {
            self.switch(id);
        }
        &mut self.list[self.last].1
    }

    /// Makes window `id` the last one used, opening it if it is new.
    #[cold]
    #[inline(never)]
    fn switch(&mut self, id: PaneId) {
        self.last = *self.index.entry(id).or_insert_with(|| {
            self.list.push((id, FxHashMap::default()));
            self.list.len() - 1
        });
    }
}

impl<K, V, A: Aggregate<V>, F> Combiner<K, V, A, F> {
    /// A combiner into `n` key partitions.
    pub fn new(agg: A, spec: WindowSpec, assign: F, n: usize) -> Self {
        Combiner {
            agg,
            spec,
            assign,
            n,
            panes: Panes { list: Vec::new(), index: FxHashMap::default(), last: 0 },
            late: Late::default(),
            _v: std::marker::PhantomData,
        }
    }
}

impl<K: Key, V: Send, A: Aggregate<V>, F: Assigner<V>> Collect<(K, V)> for Combiner<K, V, A, F> {
    type Out = Mapped<Partial<K, A::Acc>>;

    fn add(&mut self, chunk: Vec<Rec<(K, V)>>) {
        let Combiner { agg, spec, assign, panes, late, .. } = self;
        for r in chunk {
            let (key, value) = r.data;
            // one window per record (tumbling): no closure, and the key moves into its table
            if let Some(w) = assign.single(r.time, &value) {
                if spec.is_late(w, r.wm) {
                    late.windows += 1;
                    late.events += 1;
                } else {
                    agg.add(panes.get((w.end, w.start)).entry(key).or_insert_with(|| agg.init()), &value);
                }
                continue;
            }
            let mut on_time = false;
            assign.assign(r.time, &value, |w| {
                if spec.is_late(w, r.wm) {
                    late.windows += 1;
                    return;
                }
                on_time = true;
                let acc = panes.get((w.end, w.start)).entry(key.clone()).or_insert_with(|| agg.init());
                agg.add(acc, &value);
            });
            late.events += u64::from(!on_time);
        }
    }

    fn finish(self) -> Self::Out {
        let mut buckets: Vec<Vec<Partial<K, A::Acc>>> = (0..self.n).map(|_| Vec::new()).collect();
        for (pane, keys) in self.panes.list {
            for (key, acc) in keys {
                buckets[owner(key_hash(&key), self.n)].push(Partial { pane, key, acc });
            }
        }
        (buckets, self.late)
    }
}

/// One key partition's windows.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, A: Serialize", deserialize = "K: Key, A: Deserialize<'de>"))]
pub struct WindowState<K: Key, A> {
    panes: BTreeMap<PaneId, FxHashMap<K, A>>,
    fired: BTreeSet<PaneId>,
    #[serde(skip)]
    changes: Changes<K>,
}

#[derive(Debug)]
struct Changes<K> {
    updated: FxHashSet<(PaneId, K)>,
    fired: Vec<PaneId>,
    purged: Vec<PaneId>,
}

impl<K> Default for Changes<K> {
    fn default() -> Self {
        Changes { updated: FxHashSet::default(), fired: Vec::new(), purged: Vec::new() }
    }
}

impl<K: Key, A> Default for WindowState<K, A> {
    fn default() -> Self {
        WindowState { panes: BTreeMap::new(), fired: BTreeSet::new(), changes: Changes::default() }
    }
}

/// What a batch changed in a partition's windows.
#[derive(Debug, Serialize, Deserialize)]
pub struct WindowDelta<K, A> {
    upserts: Vec<(PaneId, K, A)>,
    fired: Vec<PaneId>,
    purged: Vec<PaneId>,
}

impl<K: Key, A: Clone + Send + Serialize + for<'de> Deserialize<'de>> Versioned for WindowState<K, A> {
    type Delta = WindowDelta<K, A>;

    fn take_delta(&mut self) -> WindowDelta<K, A> {
        let c = std::mem::take(&mut self.changes);
        let upserts = c
            .updated
            .into_iter()
            .filter_map(|(pane, key)| {
                let slot = self.panes.get(&pane)?.get(&key)?.clone();
                Some((pane, key, slot))
            })
            .collect();
        WindowDelta { upserts, fired: c.fired, purged: c.purged }
    }

    fn apply(&mut self, d: WindowDelta<K, A>) {
        for (pane, key, slot) in d.upserts {
            self.panes.entry(pane).or_default().insert(key, slot);
        }
        self.fired.extend(d.fired);
        for p in d.purged {
            self.panes.remove(&p);
            self.fired.remove(&p);
        }
    }
}

impl<K: Key, A: Clone> WindowState<K, A> {
    /// The reduce side: merges the batch's partial aggregates (firing a fired window again for
    /// a key whose result that changes), then fires the windows `delay` behind the watermark
    /// and purges those past their allowed lateness. With `delay` equal to the lateness, a
    /// window fires once, final, as it is purged (its results feed another stateful operator).
    pub fn reduce<V, G: Aggregate<V, Acc = A>>(
        &mut self,
        agg: &G,
        lateness: Time,
        delay: Time,
        input: &[Partial<K, A>],
        wm: Time,
        out: &mut Vec<Rec<WindowResult<K, G::Out>>>,
    ) {
        let result = |pane: PaneId, key: &K, acc: &A| {
            let w = window(pane);
            Rec::window_result(w, WindowResult { key: key.clone(), window: w, value: agg.finish(acc) })
        };
        // the partials come in runs of one pane (each map task's, pane by pane): a pane and
        // whether it fired are looked up once per run
        for run in input.chunk_by(|a, b| a.pane == b.pane) {
            let pane = run[0].pane;
            let fired = self.fired.contains(&pane);
            let slots = self.panes.entry(pane).or_default();
            for p in run {
                let slot = slots.entry(p.key.clone());
                let before = match &slot {
                    std::collections::hash_map::Entry::Occupied(e) if fired => Some(agg.finish(e.get())),
                    _ => None,
                };
                let acc = slot.or_insert_with(|| agg.init());
                agg.merge(acc, p.acc.clone());
                self.changes.updated.insert((pane, p.key.clone()));
                // a late record within the allowed lateness: the window fires again for its
                // key, if that changes its result
                if fired && before != Some(agg.finish(acc)) {
                    out.push(result(pane, &p.key, acc));
                }
            }
        }
        let fire_until = wm.saturating_add(1).saturating_sub(delay);
        for (&pane, slots) in self.panes.range(..=(fire_until, Time::MAX)) {
            if pane.0 <= fire_until && self.fired.insert(pane) {
                self.changes.fired.push(pane);
                out.extend(slots.iter().map(|(k, s)| result(pane, k, s)));
            }
        }
        purge(
            &mut self.panes,
            &mut self.fired,
            &mut self.changes.purged,
            wm.saturating_add(1).saturating_sub(lateness),
        );
    }
}

/// Removes the windows whose end is at or before `until` (their last instant plus the allowed
/// lateness is behind the watermark), recording them in `purged`.
pub fn purge<V>(
    panes: &mut BTreeMap<PaneId, V>,
    fired: &mut BTreeSet<PaneId>,
    purged: &mut Vec<PaneId>,
    until: Time,
) {
    while let Some(e) = panes.first_entry() {
        if e.key().0 > until {
            break;
        }
        let pane = *e.key();
        e.remove();
        fired.remove(&pane);
        purged.push(pane);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::{Max, Windows, time::MIN_WATERMARK};

    type M = Max<fn(&i64) -> i64>;
    const MAX: M = Max(|v: &i64| *v);

    /// Key 1's partial aggregate `v` for window [0, 10).
    fn partial(v: i64) -> Partial<u32, Option<i64>> {
        Partial { pane: (10, 0), key: 1, acc: Some(v) }
    }

    fn reduce(s: &mut WindowState<u32, Option<i64>>, delay: Time, input: &[i64], wm: Time) -> Vec<String> {
        let input: Vec<_> = input.iter().map(|&v| partial(v)).collect();
        let mut out = Vec::new();
        s.reduce(&MAX, 5, delay, &input, wm, &mut out);
        out.iter()
            .map(|r| format!("{} {} {}@{}/{}", r.data.key, r.data.window, r.data.value, r.time, r.wm))
            .collect()
    }

    #[test]
    fn the_map_side_drops_records_late_for_every_window() {
        let spec = WindowSpec::new(Windows::tumbling(10));
        let mut c = Combiner::new(MAX, spec, flowmark_core::Assign::new(spec.windows), 2);
        let rec = |time, wm, v| Rec { time, wm, data: (1u32, v) };
        c.add(vec![rec(9, 8, 3), rec(9, 9, 100), rec(3, MIN_WATERMARK, 5)]);
        let (buckets, late) = c.finish();
        assert_eq!((late.events, late.windows), (1, 1), "late at the window's last instant");
        let partials: Vec<_> = buckets.into_iter().flatten().collect();
        assert_eq!(partials.len(), 1);
        assert_eq!((partials[0].pane, partials[0].acc), ((10, 0), Some(5)));
    }

    #[test]
    fn fires_at_its_last_instant_refires_for_a_change_and_purges_after_the_lateness() {
        let mut s = WindowState::default();
        let mut replica = WindowState::default();
        let mut step = |s: &mut WindowState<u32, Option<i64>>, input: &[i64], wm| {
            let out = reduce(s, 0, input, wm);
            replica.apply(s.take_delta());
            assert_eq!(replica.panes.len(), s.panes.len(), "the deltas rebuild the state");
            assert_eq!(replica.fired, s.fired);
            out
        };
        assert!(step(&mut s, &[5], 8).is_empty());
        assert_eq!(step(&mut s, &[], 9), ["1 [0,10) 5@9/8"]);
        assert!(step(&mut s, &[], 9).is_empty(), "a window fires once");
        assert!(step(&mut s, &[2], 9).is_empty(), "a late record that changes nothing");
        assert_eq!(step(&mut s, &[7], 12), ["1 [0,10) 7@9/8"]);
        assert!(step(&mut s, &[], 13).is_empty());
        assert_eq!(s.panes.len(), 1, "kept until the watermark passes 9 + 5");
        assert!(step(&mut s, &[], 14).is_empty());
        assert!(s.panes.is_empty() && s.fired.is_empty());
    }

    #[test]
    fn feeding_state_it_fires_once_final() {
        let mut s = WindowState::default();
        assert!(reduce(&mut s, 5, &[5], 9).is_empty());
        assert!(reduce(&mut s, 5, &[7], 13).is_empty());
        assert_eq!(reduce(&mut s, 5, &[], 14), ["1 [0,10) 7@9/8"]);
        assert!(s.panes.is_empty());
    }

    #[test]
    fn purge_removes_windows_ending_at_or_before_the_limit() {
        let mut panes: BTreeMap<PaneId, ()> = [((10, 0), ()), ((20, 10), ())].into_iter().collect();
        let mut fired: BTreeSet<PaneId> = panes.keys().copied().collect();
        let mut purged = Vec::new();
        purge(&mut panes, &mut fired, &mut purged, 19);
        assert_eq!(purged, [(10, 0)]);
        purge(&mut panes, &mut fired, &mut purged, 20);
        assert_eq!(purged, [(10, 0), (20, 10)]);
        assert!(panes.is_empty() && fired.is_empty());
    }
}
