//! Window join: the map side assigns both inputs' records to fixed windows and drops late ones;
//! the reduce side groups them by window and key and, when the batch's watermark passes a
//! window, joins every key with records on both sides (again for a key a late record updated).

use super::join::Side;
use super::window::PaneId;
use super::{Late, Mapped, Versioned};
use crate::plan::Collect;
use flowmark_core::{JoinGroup, Key, Rec, Time, Window, WindowSpec, key_hash, owner};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A record assigned to a window.
#[derive(Clone, Debug)]
pub struct Assigned<K, X> {
    pane: PaneId,
    key: K,
    time: Time,
    value: X,
}

/// The map side of one input: assigns windows, drops late records, buckets by key partition.
pub struct Bucketer<K, V, X> {
    spec: WindowSpec,
    side: fn(V) -> X,
    buckets: Vec<Vec<Assigned<K, X>>>,
    late: Late,
}

impl<K, V, X> Bucketer<K, V, X> {
    /// A bucketer into `n` key partitions.
    pub fn new(spec: WindowSpec, side: fn(V) -> X, n: usize) -> Self {
        Bucketer { spec, side, buckets: (0..n).map(|_| Vec::new()).collect(), late: Late::default() }
    }
}

impl<K: Key, V: Clone + Send, X: Send> Collect<(K, V)> for Bucketer<K, V, X> {
    type Out = Mapped<Assigned<K, X>>;

    fn add(&mut self, chunk: Vec<Rec<(K, V)>>) {
        let n = self.buckets.len();
        let Bucketer { spec, side, buckets, late } = self;
        for r in chunk {
            let b = owner(key_hash(&r.data.0), n);
            let mut on_time = false;
            spec.windows.assign(r.time, |w| {
                if spec.is_late(w, r.wm) {
                    late.windows += 1;
                    return;
                }
                on_time = true;
                let value = side(r.data.1.clone());
                buckets[b].push(Assigned {
                    pane: (w.end, w.start),
                    key: r.data.0.clone(),
                    time: r.time,
                    value,
                });
            });
            if !on_time {
                late.events += 1;
            }
        }
    }

    fn finish(self) -> Self::Out {
        (self.buckets, self.late)
    }
}

/// One key partition's windows.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize, W: Serialize",
    deserialize = "K: Key, V: Deserialize<'de>, W: Deserialize<'de>"
))]
pub struct JoinWindows<K: Key, V, W> {
    panes: BTreeMap<PaneId, FxHashMap<K, JoinGroup<V, W>>>,
    fired: BTreeSet<PaneId>,
    #[serde(skip)]
    updated: FxHashSet<(PaneId, K)>,
    #[serde(skip)]
    newly_fired: Vec<PaneId>,
    #[serde(skip)]
    purged: Vec<PaneId>,
}

impl<K: Key, V, W> Default for JoinWindows<K, V, W> {
    fn default() -> Self {
        JoinWindows {
            panes: BTreeMap::new(),
            fired: BTreeSet::new(),
            updated: FxHashSet::default(),
            newly_fired: Vec::new(),
            purged: Vec::new(),
        }
    }
}

/// What a batch changed.
#[derive(Debug, Serialize, Deserialize)]
pub struct JoinDelta<K, V, W> {
    upserts: Vec<(PaneId, K, JoinGroup<V, W>)>,
    fired: Vec<PaneId>,
    purged: Vec<PaneId>,
}

impl<K: Key, V, W> Versioned for JoinWindows<K, V, W>
where
    V: Clone + Send + Serialize + for<'de> Deserialize<'de>,
    W: Clone + Send + Serialize + for<'de> Deserialize<'de>,
{
    type Delta = JoinDelta<K, V, W>;

    fn take_delta(&mut self) -> Self::Delta {
        let upserts = std::mem::take(&mut self.updated)
            .into_iter()
            .filter_map(|(p, k)| {
                let g = self.panes.get(&p)?.get(&k)?.clone();
                Some((p, k, g))
            })
            .collect();
        JoinDelta {
            upserts,
            fired: std::mem::take(&mut self.newly_fired),
            purged: std::mem::take(&mut self.purged),
        }
    }

    fn apply(&mut self, d: Self::Delta) {
        for (p, k, g) in d.upserts {
            self.panes.entry(p).or_default().insert(k, g);
        }
        self.fired.extend(d.fired);
        for p in d.purged {
            self.panes.remove(&p);
            self.fired.remove(&p);
        }
    }
}

impl<K: Key, V: Ord + Clone, W: Ord + Clone> JoinWindows<K, V, W> {
    /// The reduce side: adds the batch's records (joining a fired window's key again where
    /// that changes its results), then fires the windows `delay` behind the watermark and
    /// purges those past their allowed lateness (as [`super::window::WindowState::reduce`]).
    pub fn reduce<O: PartialEq>(
        &mut self,
        f: &impl Fn(&K, Window, &[V], &[W], &mut Vec<O>),
        lateness: Time,
        delay: Time,
        input: &[Assigned<K, Side<V, W>>],
        wm: Time,
        out: &mut Vec<Rec<O>>,
    ) {
        // fired windows' keys this batch adds to, with their results before it
        let mut refire: BTreeMap<(PaneId, K), Vec<O>> = BTreeMap::new();
        for a in input {
            let fired = self.fired.contains(&a.pane);
            let g = self.panes.entry(a.pane).or_default().entry(a.key.clone()).or_default();
            if fired && !refire.contains_key(&(a.pane, a.key.clone())) {
                refire.insert((a.pane, a.key.clone()), g.results(f, &a.key, window(a.pane)));
            }
            match &a.value {
                Side::Left(v) => g.push_left(a.time, v.clone()),
                Side::Right(v) => g.push_right(a.time, v.clone()),
            }
            self.updated.insert((a.pane, a.key.clone()));
        }
        for ((pane, key), before) in refire {
            let g = &self.panes[&pane][&key];
            let after = g.results(f, &key, window(pane));
            if after != before {
                g.emit(after, window(pane), out);
            }
        }
        let fire_until = wm.saturating_add(1).saturating_sub(delay);
        for (&pane, groups) in self.panes.range(..=(fire_until, Time::MAX)) {
            if pane.0 <= fire_until && self.fired.insert(pane) {
                self.newly_fired.push(pane);
                for (key, g) in groups {
                    g.join(f, key, window(pane), out);
                }
            }
        }
        super::window::purge(
            &mut self.panes,
            &mut self.fired,
            &mut self.purged,
            wm.saturating_add(1).saturating_sub(lateness),
        );
    }
}

fn window(pane: PaneId) -> Window {
    Window::new(pane.1, pane.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::Windows;

    type Out = (u32, i64, usize);

    /// The earliest left value and how many right ones.
    fn first_left(k: &u32, _: Window, l: &[i64], r: &[i64], out: &mut Vec<Out>) {
        out.push((*k, l[0], r.len()));
    }

    fn assigned(time: Time, value: Side<i64, i64>) -> Assigned<u32, Side<i64, i64>> {
        Assigned { pane: (10, 0), key: 1, time, value }
    }

    fn reduce(
        s: &mut JoinWindows<u32, i64, i64>,
        delay: Time,
        input: &[Assigned<u32, Side<i64, i64>>],
        wm: Time,
    ) -> Vec<Out> {
        let mut out = Vec::new();
        s.reduce(&first_left, 5, delay, input, wm, &mut out);
        out.into_iter().map(|r| r.data).collect()
    }

    #[test]
    fn the_map_side_drops_records_late_for_every_window() {
        let mut b = Bucketer::new(WindowSpec::new(Windows::tumbling(10)), Side::<i64, i64>::Left, 1);
        let rec = |time, wm| Rec { time, wm, data: (1u32, 1i64) };
        b.add(vec![rec(9, 8), rec(9, 9)]);
        let (buckets, late) = b.finish();
        assert_eq!((late.events, late.windows, buckets[0].len()), (1, 1, 1));
    }

    #[test]
    fn joins_at_the_last_instant_and_again_for_a_changing_late_record() {
        let mut s = JoinWindows::default();
        let both = [assigned(4, Side::Left(40)), assigned(2, Side::Right(0))];
        assert!(reduce(&mut s, 0, &both, 8).is_empty());
        assert_eq!(reduce(&mut s, 0, &[], 9), [(1, 40, 1)]);
        assert!(reduce(&mut s, 0, &[], 9).is_empty(), "a window fires once");
        assert!(reduce(&mut s, 0, &[assigned(6, Side::Left(60))], 9).is_empty());
        assert_eq!(
            reduce(&mut s, 0, &[assigned(1, Side::Left(10)), assigned(3, Side::Right(0))], 12),
            [(1, 10, 2)]
        );
        assert!(reduce(&mut s, 0, &[], 13).is_empty());
        assert_eq!(s.panes.len(), 1, "kept until the watermark passes 9 + 5");
        // the batch's delta rebuilds the state
        let mut replica = JoinWindows::default();
        replica.apply(s.take_delta());
        assert_eq!((replica.panes.len(), replica.fired.len()), (1, 1));
        assert_eq!(replica.panes[&(10, 0)][&1].results(&first_left, &1, Window::new(0, 10)), [(1, 10, 2)]);
        reduce(&mut s, 0, &[], 14);
        assert!(s.panes.is_empty() && s.fired.is_empty());
        replica.apply(s.take_delta());
        assert!(replica.panes.is_empty() && replica.fired.is_empty());
    }

    #[test]
    fn feeding_state_it_joins_once_final() {
        let mut s = JoinWindows::default();
        assert!(reduce(&mut s, 5, &[assigned(4, Side::Left(40)), assigned(2, Side::Right(0))], 9).is_empty());
        assert!(reduce(&mut s, 5, &[assigned(1, Side::Left(10))], 13).is_empty());
        assert_eq!(reduce(&mut s, 5, &[], 14), [(1, 10, 1)]);
    }
}
