//! Keyed session windows: each record opens `[t, t + gap)`, merged with every session of its key
//! it intersects; a session fires (and is purged) when the watermark reaches its last instant.
//! A record at or behind its own watermark is late (see `WindowSpec::is_late_element`), which
//! is what makes a fired session final.

use super::Logic;
use crate::state::Shards;
use crate::task::Context;
use flowmark_core::time::MILLISECOND;
use flowmark_core::{Aggregate, Key, Rec, Time, Window, WindowResult, WindowSpec};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;
use std::collections::BTreeMap;
use std::sync::Arc;

/// An open session.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "A: Serialize", deserialize = "A: Deserialize<'de>"))]
pub struct Session<A> {
    window: Window,
    acc: Shared<A>,
}

/// An accumulator shared copy-on-write with the snapshots taken of it: a session's may hold a
/// list of pages, which a snapshot should not copy, and which a change copies only while a
/// snapshot not yet written still holds it.
#[derive(Clone, Debug)]
pub struct Shared<A>(Arc<A>);

impl<A: Clone> Shared<A> {
    fn get_mut(&mut self) -> &mut A {
        Arc::make_mut(&mut self.0)
    }

    fn into_inner(self) -> A {
        Arc::unwrap_or_clone(self.0)
    }
}

impl<A: Serialize> Serialize for Shared<A> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de, A: Deserialize<'de>> Deserialize<'de> for Shared<A> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        A::deserialize(deserializer).map(|a| Shared(Arc::new(a)))
    }
}

/// A key's open sessions: nearly always one (two only while a record after a long pause opens
/// a new one before the old has fired), kept inline so that a copy of the state for a
/// checkpoint allocates nothing per key.
type Open<A> = SmallVec<[Session<A>; 1]>;

/// The width of a timer bucket ([`Timers`]).
const TIMER_BUCKET: Time = MILLISECOND;

/// When sessions end: the keys whose sessions may end in each millisecond, checked when the
/// watermark reaches it. A key is added each time one of its sessions gets a new end, and an
/// entry left behind by a session that grew or merged since is skipped when its time comes:
/// a record costs one push into a recent bucket, where an ordered set of exact ends would
/// cost a removal and an insertion at the depth of every open session.
///
/// Timers are not part of a checkpoint: they are rebuilt from the sessions on restore.
#[derive(Clone, Debug)]
struct Timers<K> {
    buckets: BTreeMap<Time, Vec<K>>,
}

impl<K: Clone> Timers<K> {
    fn bucket(end: Time) -> Time {
        end.div_euclid(TIMER_BUCKET)
    }

    fn push(&mut self, end: Time, key: K) {
        let b = Self::bucket(end);
        match self.buckets.last_entry() {
            Some(mut last) if *last.key() == b => last.get_mut().push(key),
            _ => self.buckets.entry(b).or_default().push(key),
        }
    }
}

/// Session state: open sessions per key, in shards that a checkpoint shares rather than
/// copies ([`Shards`]).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(
    serialize = "K: Serialize, A: Serialize",
    deserialize = "K: Key, A: Deserialize<'de> + Clone"
))]
pub struct Sessions<K: Key, A> {
    open: Shards<K, Open<A>>,
}

impl<K: Key, A> Default for Sessions<K, A> {
    fn default() -> Self {
        Sessions { open: Shards::default() }
    }
}

/// The session window operator.
pub struct SessionAggregate<K: Key, V, A: Aggregate<V>> {
    op: u32,
    spec: WindowSpec,
    gap: Time,
    agg: A,
    state: Sessions<K, A::Acc>,
    timers: Timers<K>,
    _v: std::marker::PhantomData<fn(V)>,
}

impl<K: Key, V, A: Aggregate<V>> SessionAggregate<K, V, A> {
    /// Operator `op` with sessions closed by `gap`, restored from `state` if there is one.
    pub fn new(op: u32, spec: WindowSpec, gap: Time, agg: A, state: Option<Sessions<K, A::Acc>>) -> Self {
        let state = state.unwrap_or_default();
        let mut timers = Timers { buckets: BTreeMap::new() };
        for (key, list) in state.open.iter() {
            for s in list {
                timers.push(s.window.end, key.clone());
            }
        }
        SessionAggregate { op, spec, gap, agg, state, timers, _v: std::marker::PhantomData }
    }

    /// Fires `key`'s sessions whose last instant is at or behind `wm`; returns whether one of
    /// its sessions still ends in bucket `b`.
    fn fire_key(&mut self, key: &K, wm: Time, b: Time, out: &mut Vec<Rec<WindowResult<K, A::Out>>>) -> bool {
        let shard = self.state.open.shard_mut(key);
        let Some(list) = shard.get_mut(key) else { return false };
        let mut i = 0;
        while i < list.len() {
            if list[i].window.end - 1 <= wm {
                let s = list.swap_remove(i);
                let value = self.agg.finish(&s.acc.0);
                out.push(Rec::window_result(
                    s.window,
                    WindowResult { key: key.clone(), window: s.window, value },
                ));
            } else {
                i += 1;
            }
        }
        let pending = list.iter().any(|s| Timers::<K>::bucket(s.window.end) == b);
        if list.is_empty() {
            shard.remove(key);
        }
        pending
    }
}

impl<K: Key, V: Send, A: Aggregate<V>> Logic<(K, V)> for SessionAggregate<K, V, A> {
    type Out = WindowResult<K, A::Out>;

    fn data(&mut self, batch: &mut Vec<Rec<(K, V)>>, _: &mut Vec<Rec<Self::Out>>, cx: &mut Context) {
        let mut late = 0;
        for r in batch.drain(..) {
            if self.spec.is_late_element(r.time, r.wm) {
                late += 1;
                continue;
            }
            let (key, value) = r.data;
            let window = Window::new(r.time, r.time.saturating_add(self.gap));
            let list = self.state.open.shard_mut(&key).entry(key.clone()).or_default();
            // the record joins the first session it touches, in place: adding one value to a
            // large accumulator, not the accumulator to a new one, keeps a long session's cost
            // per record constant (aggregates do not depend on the order of their values)
            let mut merged = match list.iter().position(|s| s.window.intersects(&window)) {
                Some(i) => {
                    let mut s = list.swap_remove(i);
                    s.window = s.window.cover(&window);
                    self.agg.add(s.acc.get_mut(), &value);
                    s
                }
                None => {
                    let mut acc = self.agg.init();
                    self.agg.add(&mut acc, &value);
                    Session { window, acc: Shared(Arc::new(acc)) }
                }
            };
            // merge until nothing intersects (a record may bridge the gap between two sessions)
            while let Some(i) = list.iter().position(|s| s.window.intersects(&merged.window)) {
                let s = list.swap_remove(i);
                merged.window = merged.window.cover(&s.window);
                self.agg.merge(merged.acc.get_mut(), s.acc.into_inner());
            }
            self.timers.push(merged.window.end, key);
            list.push(merged);
        }
        cx.late(late, late);
    }

    fn watermark(&mut self, wm: Time, out: &mut Vec<Rec<Self::Out>>, _: &mut Context) {
        // a session fires when the watermark reaches its last instant: end − 1 ≤ wm
        let edge = Timers::<K>::bucket(wm.saturating_add(1));
        while let Some(entry) = self.timers.buckets.first_entry() {
            let b = *entry.key();
            if b > edge {
                break;
            }
            let keys = entry.remove();
            if b < edge {
                // every end in the bucket is at or before wm + 1
                for key in &keys {
                    self.fire_key(key, wm, b, out);
                }
            } else {
                // the bucket of wm + 1: keep the keys whose sessions in it are not due yet
                let mut waiting = Vec::new();
                for key in keys {
                    if self.fire_key(&key, wm, b, out) {
                        waiting.push(key);
                    }
                }
                if !waiting.is_empty() {
                    self.timers.buckets.insert(b, waiting);
                }
                break;
            }
        }
    }

    fn snapshot(&self, cx: &mut Context) {
        cx.save(self.op, self.state.clone());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::testing::{context, late_events, rec};
    use flowmark_core::{Sum, Windows, time::MIN_WATERMARK};

    type Op = SessionAggregate<u32, i64, Sum<fn(&i64) -> i64>>;

    fn op() -> Op {
        SessionAggregate::new(0, WindowSpec::new(Windows::session(10)), 10, Sum(|v: &i64| *v), None)
    }

    fn fire(op: &mut Op, cx: &mut Context, wm: Time) -> Vec<String> {
        let mut out = Vec::new();
        op.watermark(wm, &mut out, cx);
        out.iter().map(|r| format!("{} {} {}", r.data.key, r.data.window, r.data.value)).collect()
    }

    #[test]
    fn sessions_merge_and_fire_at_their_last_instant() {
        let (mut op, cx) = (op(), &mut context());
        let mut out = Vec::new();
        // [3,13) and [12,22) intersect: [3,22); [22,32) only touches it
        op.data(&mut vec![rec(3, MIN_WATERMARK, 1, 1), rec(12, 2, 1, 2), rec(22, 11, 1, 4)], &mut out, cx);
        assert!(out.is_empty());
        op.snapshot(cx);
        let saved: Sessions<u32, i64> = cx.saved(0).expect("the operator saves its state");
        assert_eq!(saved.open.get(&1).map(|l| l.len()), Some(2));
        assert!(fire(&mut op, cx, 20).is_empty());
        assert_eq!(fire(&mut op, cx, 21), ["1 [3,22) 3"]);
        // at the watermark: late; one past it: on time, its own session
        op.data(&mut vec![rec(21, 21, 1, 8), rec(22, 21, 2, 16)], &mut out, cx);
        assert_eq!(late_events(cx), 1);
        assert!(fire(&mut op, cx, 30).is_empty());
        assert_eq!(fire(&mut op, cx, 31), ["1 [22,32) 4", "2 [22,32) 16"]);
        op.snapshot(cx);
        assert!(cx.saved::<Sessions<u32, i64>>(0).unwrap().open.is_empty());
    }

    #[test]
    fn a_session_fires_at_its_last_instant_across_timer_buckets() {
        let ms = MILLISECOND;
        let gap = 3 * ms;
        let mk = |state| -> Op {
            SessionAggregate::new(0, WindowSpec::new(Windows::session(gap)), gap, Sum(|v: &i64| *v), state)
        };
        let (mut op, cx) = (mk(None), &mut context());
        let mut out = Vec::new();
        // key 1 ends exactly on a bucket's first instant (5 ms); key 2 grows from ending at
        // 4 ms + 1 to 9 ms + 1, leaving a stale timer behind; key 3 ends one before 5 ms
        let batch = vec![
            rec(2 * ms, MIN_WATERMARK, 1, 1),
            rec(ms + 1, MIN_WATERMARK, 2, 2),
            rec(2 * ms - 1, MIN_WATERMARK, 3, 4),
        ];
        op.data(&mut batch.clone(), &mut out, cx);
        op.data(&mut vec![rec(4 * ms, 0, 2, 8), rec(6 * ms + 1, 0, 2, 16)], &mut out, cx);
        assert!(fire(&mut op, cx, 5 * ms - 3).is_empty());
        assert_eq!(fire(&mut op, cx, 5 * ms - 2), ["3 [1999999,4999999) 4"]);
        assert!(fire(&mut op, cx, 5 * ms - 2).is_empty(), "a session fires once");
        assert_eq!(fire(&mut op, cx, 5 * ms - 1), ["1 [2000000,5000000) 1"]);
        // the stale timer of key 2 at 4 ms + 1 passes without firing it
        assert!(fire(&mut op, cx, 9 * ms - 1).is_empty());
        // a copy restored from the checkpoint rebuilds its timers from the sessions
        op.snapshot(cx);
        let saved = cx.saved::<Sessions<u32, i64>>(0).expect("the operator saves its state");
        let mut restored = mk(Some(saved));
        for op in [&mut op, &mut restored] {
            assert_eq!(fire(op, cx, 9 * ms), ["2 [1000001,9000001) 26"]);
            assert!(op.state.open.is_empty() && op.timers.buckets.is_empty());
        }
    }
}
