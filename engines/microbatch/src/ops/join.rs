//! Regular join with unbounded state: both inputs are bucketed by key; the reduce side joins
//! each record of the batch with what the state holds of the other input (and with the batch's
//! earlier records), then keeps it.

use super::Versioned;
use crate::plan::Collect;
use flowmark_core::{Key, Rec, key_hash, owner};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

pub use flowmark_core::Side;

/// The map side of one input: buckets its records by key partition, tagged with their side.
pub struct Bucketer<K, V, X> {
    side: fn(V) -> X,
    buckets: Vec<Vec<Rec<(K, X)>>>,
}

impl<K, V, X> Bucketer<K, V, X> {
    /// A bucketer into `n` key partitions.
    pub fn new(side: fn(V) -> X, n: usize) -> Self {
        Bucketer { side, buckets: (0..n).map(|_| Vec::new()).collect() }
    }
}

impl<K: Key, V: Send, X: Send> Collect<(K, V)> for Bucketer<K, V, X> {
    type Out = Vec<Vec<Rec<(K, X)>>>;

    fn add(&mut self, chunk: Vec<Rec<(K, V)>>) {
        let n = self.buckets.len();
        for r in chunk {
            let (k, v) = r.data;
            let b = owner(key_hash(&k), n);
            self.buckets[b].push(Rec { time: r.time, wm: r.wm, data: (k, (self.side)(v)) });
        }
    }

    fn finish(self) -> Self::Out {
        self.buckets
    }
}

/// Both inputs' records of one key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Both<V, W> {
    left: Vec<Rec<V>>,
    right: Vec<Rec<W>>,
}

impl<V, W> Default for Both<V, W> {
    fn default() -> Self {
        Both { left: Vec::new(), right: Vec::new() }
    }
}

/// One key partition's join state.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, V: Serialize, W: Serialize",
    deserialize = "K: Key, V: Deserialize<'de>, W: Deserialize<'de>"
))]
pub struct JoinState<K: Key, V, W> {
    keys: FxHashMap<K, Both<V, W>>,
    #[serde(skip)]
    changed: FxHashSet<K>,
}

impl<K: Key, V, W> Default for JoinState<K, V, W> {
    fn default() -> Self {
        JoinState { keys: FxHashMap::default(), changed: FxHashSet::default() }
    }
}

impl<K: Key, V, W> Versioned for JoinState<K, V, W>
where
    V: Clone + Send + Serialize + for<'de> Deserialize<'de>,
    W: Clone + Send + Serialize + for<'de> Deserialize<'de>,
{
    type Delta = Vec<(K, Both<V, W>)>;

    fn take_delta(&mut self) -> Self::Delta {
        super::take_changed(&self.keys, &mut self.changed)
    }

    fn apply(&mut self, delta: Self::Delta) {
        self.keys.extend(delta);
    }
}

impl<K: Key, V: Clone, W: Clone> JoinState<K, V, W> {
    /// The reduce side.
    pub fn reduce<O>(
        &mut self,
        f: &impl Fn(&K, &V, &W) -> Option<O>,
        input: &[Rec<(K, Side<V, W>)>],
        out: &mut Vec<Rec<O>>,
    ) {
        for r in input {
            let key = &r.data.0;
            let both = self.keys.entry(key.clone()).or_default();
            match &r.data.1 {
                Side::Left(v) => {
                    let l = Rec { time: r.time, wm: r.wm, data: v.clone() };
                    out.extend(
                        both.right
                            .iter()
                            .filter_map(|w| f(key, &l.data, &w.data).map(|o| Rec::joined(&l, w, o))),
                    );
                    both.left.push(l);
                }
                Side::Right(w) => {
                    let rr = Rec { time: r.time, wm: r.wm, data: w.clone() };
                    out.extend(
                        both.left
                            .iter()
                            .filter_map(|l| f(key, &l.data, &rr.data).map(|o| Rec::joined(l, &rr, o))),
                    );
                    both.right.push(rr);
                }
            }
            self.changed.insert(key.clone());
        }
    }
}
