//! Window join: the map side assigns both inputs' records to fixed windows and drops late ones;
//! the reduce side groups them by window and key and, when the batch's watermark passes a
//! window, joins every key with records on both sides (again for a key a late record updated).

use super::join::Side;
use super::window::PaneId;
use super::{Late, Mapped, Versioned};
use crate::plan::Collect;
use flowmark_core::{Key, Rec, Time, Window, WindowSpec, key_hash, owner};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A record assigned to a window.
#[derive(Clone, Debug)]
pub struct Assigned<K, X> {
    pane: PaneId,
    key: K,
    time: Time,
    arrival: Time,
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
                    arrival: r.arrival,
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

/// One key partition's windows.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize, W: Serialize",
    deserialize = "K: Key, V: Deserialize<'de>, W: Deserialize<'de>"
))]
pub struct JoinWindows<K: Key, V, W> {
    panes: BTreeMap<PaneId, FxHashMap<K, Group<V, W>>>,
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
    upserts: Vec<(PaneId, K, Group<V, W>)>,
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

fn join<K, V: Ord + Clone, W: Ord + Clone, O>(
    f: &impl Fn(&K, Window, &[V], &[W], &mut Vec<O>),
    key: &K,
    pane: PaneId,
    g: &Group<V, W>,
    out: &mut Vec<Rec<O>>,
) {
    if g.left.is_empty() || g.right.is_empty() {
        return;
    }
    let mut l = g.left.clone();
    let mut r = g.right.clone();
    l.sort();
    r.sort();
    let l: Vec<V> = l.into_iter().map(|x| x.1).collect();
    let r: Vec<W> = r.into_iter().map(|x| x.1).collect();
    let w = Window::new(pane.1, pane.0);
    let mut buf = Vec::new();
    f(key, w, &l, &r, &mut buf);
    out.extend(buf.into_iter().map(|o| Rec::window_result(w, g.arrival, o)));
}

impl<K: Key, V: Ord + Clone, W: Ord + Clone> JoinWindows<K, V, W> {
    /// The reduce side.
    pub fn reduce<O>(
        &mut self,
        f: &impl Fn(&K, Window, &[V], &[W], &mut Vec<O>),
        lateness: Time,
        input: &[Assigned<K, Side<V, W>>],
        wm: Time,
        out: &mut Vec<Rec<O>>,
    ) {
        let mut refire = Vec::new();
        for a in input {
            let g = self.panes.entry(a.pane).or_default().entry(a.key.clone()).or_default();
            match &a.value {
                Side::Left(v) => g.left.push((a.time, v.clone())),
                Side::Right(v) => g.right.push((a.time, v.clone())),
            }
            g.arrival = g.arrival.max(a.arrival);
            self.updated.insert((a.pane, a.key.clone()));
            if self.fired.contains(&a.pane) {
                refire.push((a.pane, a.key.clone()));
            }
        }
        refire.sort();
        refire.dedup();
        for (pane, key) in refire {
            join(f, &key, pane, &self.panes[&pane][&key], out);
        }
        let fire_until = wm.saturating_add(1);
        for (&pane, groups) in self.panes.range(..=(fire_until, Time::MAX)) {
            if pane.0 <= fire_until && self.fired.insert(pane) {
                self.newly_fired.push(pane);
                for (key, g) in groups {
                    join(f, key, pane, g, out);
                }
            }
        }
        super::window::purge(
            &mut self.panes,
            &mut self.fired,
            &mut self.purged,
            fire_until.saturating_sub(lateness),
        );
    }
}
