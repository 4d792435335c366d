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
                Side::Left(v) => g.push_left(a.time, a.arrival, v.clone()),
                Side::Right(v) => g.push_right(a.time, a.arrival, v.clone()),
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
