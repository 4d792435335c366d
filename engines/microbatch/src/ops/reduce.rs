//! Running aggregate per key: the map side pre-aggregates per key, the reduce side merges into
//! the key's running aggregate and emits one update per key the batch touched.

use super::Versioned;
use crate::plan::Collect;
use flowmark_core::{Aggregate, Key, Rec, Time, Update, key_hash, owner};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};

/// A key's aggregate with the latest instants it covers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Running<A> {
    acc: A,
    time: Time,
    wm: Time,
}

/// The map side: pre-aggregates per key, buckets by key partition.
pub struct Combiner<K, V, A: Aggregate<V>> {
    agg: A,
    n: usize,
    local: FxHashMap<K, Running<A::Acc>>,
    _v: std::marker::PhantomData<fn(V)>,
}

impl<K, V, A: Aggregate<V>> Combiner<K, V, A> {
    /// A combiner into `n` key partitions.
    pub fn new(agg: A, n: usize) -> Self {
        Combiner { agg, n, local: FxHashMap::default(), _v: std::marker::PhantomData }
    }
}

impl<K: Key, V: Send, A: Aggregate<V>> Collect<(K, V)> for Combiner<K, V, A> {
    type Out = Vec<Vec<(K, Running<A::Acc>)>>;

    fn add(&mut self, chunk: Vec<Rec<(K, V)>>) {
        let agg = &self.agg;
        for r in chunk {
            let (key, value) = r.data;
            let e = self.local.entry(key).or_insert_with(|| Running {
                acc: agg.init(),
                time: Time::MIN,
                wm: Time::MIN,
            });
            agg.add(&mut e.acc, &value);
            e.time = e.time.max(r.time);
            e.wm = e.wm.max(r.wm);
        }
    }

    fn finish(self) -> Self::Out {
        let mut buckets: Vec<Vec<(K, Running<A::Acc>)>> = (0..self.n).map(|_| Vec::new()).collect();
        for (k, r) in self.local {
            buckets[owner(key_hash(&k), self.n)].push((k, r));
        }
        buckets
    }
}

/// One key partition's aggregates.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, A: Serialize", deserialize = "K: Key, A: Deserialize<'de>"))]
pub struct ReduceState<K: Key, A> {
    keys: FxHashMap<K, Running<A>>,
    #[serde(skip)]
    changed: FxHashSet<K>,
}

impl<K: Key, A> Default for ReduceState<K, A> {
    fn default() -> Self {
        ReduceState { keys: FxHashMap::default(), changed: FxHashSet::default() }
    }
}

impl<K: Key, A: Clone + Send + Serialize + for<'de> Deserialize<'de>> Versioned for ReduceState<K, A> {
    type Delta = Vec<(K, Running<A>)>;

    fn take_delta(&mut self) -> Self::Delta {
        super::take_changed(&self.keys, &mut self.changed)
    }

    fn apply(&mut self, delta: Self::Delta) {
        self.keys.extend(delta);
    }
}

impl<K: Key, A: Clone> ReduceState<K, A> {
    /// The reduce side.
    pub fn reduce<V, G: Aggregate<V, Acc = A>>(
        &mut self,
        agg: &G,
        input: &[(K, Running<A>)],
        out: &mut Vec<Rec<Update<K, G::Out>>>,
    ) {
        // the keys the batch touches, with their result before it (`None` for a new key)
        let mut touched = Vec::new();
        for (key, part) in input {
            let first = self.changed.insert(key.clone());
            let mut before = None;
            let e = self
                .keys
                .entry(key.clone())
                .and_modify(|e| {
                    if first {
                        before = Some(agg.finish(&e.acc));
                    }
                })
                .or_insert_with(|| Running { acc: agg.init(), time: Time::MIN, wm: Time::MIN });
            agg.merge(&mut e.acc, part.acc.clone());
            e.time = e.time.max(part.time);
            e.wm = e.wm.max(part.wm);
            if first {
                touched.push((key.clone(), before));
            }
        }
        for (key, before) in touched {
            let e = &self.keys[&key];
            let value = agg.finish(&e.acc);
            if before.as_ref() == Some(&value) {
                continue; // an update that changes nothing is left out
            }
            out.push(Rec { time: e.time, wm: e.wm, data: Update { value, key } });
        }
    }
}
