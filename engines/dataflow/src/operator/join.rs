//! Keyed regular join with unbounded state (a SQL inner join): every record of either input is
//! kept, and joined with every record of the other input with the same key — the earlier
//! arrivals at once, the later ones as they come — so each pair is offered to the join function
//! exactly once. A result's time is the later of the pair's, its watermark the higher.

use super::Logic;
use super::window_join::Side;
use crate::task::Context;
use flowmark_core::{Data, Key, Rec};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

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

type JoinState<K, V, W> = FxHashMap<K, Both<V, W>>;

/// The join operator.
pub struct Join<K: Key, V, W, F> {
    op: u32,
    f: F,
    state: JoinState<K, V, W>,
}

impl<K: Key, V, W, F> Join<K, V, W, F> {
    /// Operator `op`, restored from `state` if there is one.
    pub fn new(op: u32, f: F, state: Option<JoinState<K, V, W>>) -> Self {
        Join { op, f, state: state.unwrap_or_default() }
    }
}

impl<K, V, W, O, F> Logic<(K, Side<V, W>)> for Join<K, V, W, F>
where
    K: Key,
    V: Data,
    W: Data,
    F: Fn(&K, &V, &W) -> Option<O> + Send,
{
    type Out = O;

    fn data(&mut self, batch: &mut Vec<Rec<(K, Side<V, W>)>>, out: &mut Vec<Rec<O>>, _: &mut Context) {
        for r in batch.drain(..) {
            let (key, side) = r.data;
            let both = self.state.entry(key.clone()).or_default();
            match side {
                Side::Left(v) => {
                    let l = Rec { time: r.time, wm: r.wm, data: v };
                    for w in &both.right {
                        if let Some(o) = (self.f)(&key, &l.data, &w.data) {
                            out.push(Rec::joined(&l, w, o));
                        }
                    }
                    both.left.push(l);
                }
                Side::Right(v) => {
                    let w = Rec { time: r.time, wm: r.wm, data: v };
                    for l in &both.left {
                        if let Some(o) = (self.f)(&key, &l.data, &w.data) {
                            out.push(Rec::joined(l, &w, o));
                        }
                    }
                    both.right.push(w);
                }
            }
        }
    }

    fn snapshot(&self, cx: &mut Context) {
        cx.save(self.op, self.state.clone());
    }
}
