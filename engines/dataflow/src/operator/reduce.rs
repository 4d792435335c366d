//! Keyed running aggregate: per key, the aggregate over every record so far, emitted as an
//! update once per buffer for every key the buffer changed (the last update is the result).

use super::Logic;
use crate::task::Context;
use flowmark_core::{Aggregate, Key, Rec, Time, Update};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// One key's aggregate, with the latest instants it covers.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Running<A> {
    acc: A,
    time: Time,
    wm: Time,
    #[serde(skip)]
    dirty: bool,
}

/// The running aggregate operator.
pub struct Reduce<K: Key, V, A: Aggregate<V>> {
    op: u32,
    agg: A,
    state: FxHashMap<K, Running<A::Acc>>,
    /// The keys the buffer touched, with their result before it (`None` for a new key).
    touched: Vec<(K, Option<A::Out>)>,
    _v: std::marker::PhantomData<fn(V)>,
}

impl<K: Key, V, A: Aggregate<V>> Reduce<K, V, A> {
    /// Operator `op`, restored from `state` if there is one.
    pub fn new(op: u32, agg: A, state: Option<FxHashMap<K, Running<A::Acc>>>) -> Self {
        Reduce {
            op,
            agg,
            state: state.unwrap_or_default(),
            touched: Vec::new(),
            _v: std::marker::PhantomData,
        }
    }
}

impl<K: Key, V: Send, A: Aggregate<V>> Logic<(K, V)> for Reduce<K, V, A> {
    type Out = Update<K, A::Out>;

    fn data(&mut self, batch: &mut Vec<Rec<(K, V)>>, out: &mut Vec<Rec<Self::Out>>, _: &mut Context) {
        for r in batch.drain(..) {
            let (key, value) = r.data;
            let agg = &self.agg;
            let mut before = None;
            let slot = self
                .state
                .entry(key.clone())
                .and_modify(|slot| {
                    if !slot.dirty {
                        before = Some(agg.finish(&slot.acc));
                    }
                })
                .or_insert_with(|| Running { acc: agg.init(), time: Time::MIN, wm: Time::MIN, dirty: false });
            agg.add(&mut slot.acc, &value);
            slot.time = slot.time.max(r.time);
            slot.wm = slot.wm.max(r.wm);
            if !slot.dirty {
                slot.dirty = true;
                self.touched.push((key, before));
            }
        }
        for (key, before) in self.touched.drain(..) {
            if let Some(slot) = self.state.get_mut(&key) {
                slot.dirty = false;
                let value = self.agg.finish(&slot.acc);
                if before.as_ref() == Some(&value) {
                    continue; // an update that changes nothing is left out
                }
                out.push(Rec { time: slot.time, wm: slot.wm, data: Update { key, value } });
            }
        }
    }

    fn snapshot(&self, cx: &mut Context) {
        cx.save(self.op, self.state.clone());
    }
}
