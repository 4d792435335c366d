//! Session windows: the map side drops records at or behind their watermark (late) and buckets
//! the rest by key; the reduce side merges each record's `[t, t + gap)` into its key's
//! sessions and fires the sessions the batch's watermark has passed.

use super::{Late, Mapped, Versioned};
use crate::plan::Collect;
use flowmark_core::{Aggregate, Key, Rec, Time, Window, WindowResult, WindowSpec, key_hash, owner};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// The map side: drops late records, buckets the rest by key partition.
pub struct Bucketer<K, V> {
    spec: WindowSpec,
    buckets: Vec<Vec<Rec<(K, V)>>>,
    late: Late,
}

impl<K, V> Bucketer<K, V> {
    /// A bucketer into `n` key partitions.
    pub fn new(spec: WindowSpec, n: usize) -> Self {
        Bucketer { spec, buckets: (0..n).map(|_| Vec::new()).collect(), late: Late::default() }
    }
}

impl<K: Key, V: Send> Collect<(K, V)> for Bucketer<K, V> {
    type Out = Mapped<Rec<(K, V)>>;

    fn add(&mut self, chunk: Vec<Rec<(K, V)>>) {
        let n = self.buckets.len();
        for r in chunk {
            if self.spec.is_late_element(r.time, r.wm) {
                self.late.events += 1;
                self.late.windows += 1;
            } else {
                self.buckets[owner(key_hash(&r.data.0), n)].push(r);
            }
        }
    }

    fn finish(self) -> Self::Out {
        (self.buckets, self.late)
    }
}

/// An open session.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Session<A> {
    window: Window,
    acc: A,
}

/// One key partition's open sessions.
#[derive(Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "K: Serialize, A: Serialize", deserialize = "K: Key, A: Deserialize<'de>"))]
pub struct SessionState<K: Key, A> {
    open: FxHashMap<K, Vec<Session<A>>>,
    timers: BTreeSet<(Time, K)>,
    #[serde(skip)]
    changed: FxHashSet<K>,
}

impl<K: Key, A> Default for SessionState<K, A> {
    fn default() -> Self {
        SessionState { open: FxHashMap::default(), timers: BTreeSet::new(), changed: FxHashSet::default() }
    }
}

impl<K: Key, A> SessionState<K, A> {
    fn set(&mut self, key: K, sessions: Vec<Session<A>>) {
        if let Some(old) = self.open.remove(&key) {
            for s in old {
                self.timers.remove(&(s.window.end, key.clone()));
            }
        }
        for s in &sessions {
            self.timers.insert((s.window.end, key.clone()));
        }
        if !sessions.is_empty() {
            self.open.insert(key, sessions);
        }
    }
}

impl<K: Key, A: Clone + Send + Serialize + for<'de> Deserialize<'de>> Versioned for SessionState<K, A> {
    /// Every changed key's sessions (none: the key has no open session).
    type Delta = Vec<(K, Vec<Session<A>>)>;

    fn take_delta(&mut self) -> Self::Delta {
        std::mem::take(&mut self.changed)
            .into_iter()
            .map(|k| {
                let s = self.open.get(&k).cloned().unwrap_or_default();
                (k, s)
            })
            .collect()
    }

    fn apply(&mut self, delta: Self::Delta) {
        for (k, s) in delta {
            self.set(k, s);
        }
    }
}

impl<K: Key, A: Clone> SessionState<K, A> {
    /// The reduce side.
    pub fn reduce<V, G: Aggregate<V, Acc = A>>(
        &mut self,
        agg: &G,
        gap: Time,
        input: &[Rec<(K, V)>],
        wm: Time,
        out: &mut Vec<Rec<WindowResult<K, G::Out>>>,
    ) {
        for r in input {
            let key = &r.data.0;
            let window = Window::new(r.time, r.time.saturating_add(gap));
            // take the key's sessions out (with their timers) rather than copy them
            let mut list = self.open.remove(key).unwrap_or_default();
            for s in &list {
                self.timers.remove(&(s.window.end, key.clone()));
            }
            // the record joins the first session it touches, in place: adding one value to a
            // large accumulator, not the accumulator to a new one, keeps a long session's cost
            // per record constant (aggregates do not depend on the order of their values)
            let mut merged = match list.iter().position(|s| s.window.intersects(&window)) {
                Some(i) => {
                    let mut s = list.swap_remove(i);
                    s.window = s.window.cover(&window);
                    agg.add(&mut s.acc, &r.data.1);
                    s
                }
                None => {
                    let mut acc = agg.init();
                    agg.add(&mut acc, &r.data.1);
                    Session { window, acc }
                }
            };
            // merge until nothing intersects (a record may bridge the gap between two sessions)
            while let Some(i) = list.iter().position(|s| s.window.intersects(&merged.window)) {
                let s = list.swap_remove(i);
                merged.window = merged.window.cover(&s.window);
                agg.merge(&mut merged.acc, s.acc);
            }
            list.push(merged);
            self.set(key.clone(), list);
            self.changed.insert(key.clone());
        }
        while let Some((end, _)) = self.timers.first()
            && *end - 1 <= wm
        {
            let (end, key) = self.timers.pop_first().expect("checked above");
            let mut list = self.open.remove(&key).unwrap_or_default();
            if let Some(i) = list.iter().position(|s| s.window.end == end) {
                let s = list.swap_remove(i);
                let w = s.window;
                out.push(Rec::window_result(
                    w,
                    WindowResult { key: key.clone(), window: w, value: agg.finish(&s.acc) },
                ));
            }
            if !list.is_empty() {
                self.open.insert(key.clone(), list);
            }
            self.changed.insert(key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::{Sum, Windows, time::MIN_WATERMARK};

    fn rec(time: Time, wm: Time, key: u32, v: i64) -> Rec<(u32, i64)> {
        Rec { time, wm, data: (key, v) }
    }

    fn reduce(s: &mut SessionState<u32, i64>, input: &[Rec<(u32, i64)>], wm: Time) -> Vec<String> {
        let mut out = Vec::new();
        s.reduce(&Sum(|v: &i64| *v), 10, input, wm, &mut out);
        out.iter().map(|r| format!("{} {} {}", r.data.key, r.data.window, r.data.value)).collect()
    }

    #[test]
    fn records_at_the_watermark_are_late() {
        let mut b = Bucketer::new(WindowSpec::new(Windows::session(10)), 1);
        b.add(vec![rec(21, 21, 1, 1), rec(22, 21, 1, 1)]);
        let (buckets, late) = b.finish();
        assert_eq!((late.events, late.windows, buckets[0].len()), (1, 1, 1));
    }

    #[test]
    fn sessions_merge_and_fire_at_their_last_instant() {
        let mut s = SessionState::default();
        let mut replica = SessionState::default();
        // [3,13) and [12,22) intersect: [3,22); [22,32) only touches it
        let input = [rec(3, MIN_WATERMARK, 1, 1), rec(12, 2, 1, 2), rec(22, 11, 1, 4)];
        assert!(reduce(&mut s, &input, 20).is_empty());
        replica.apply(s.take_delta());
        assert_eq!((replica.open[&1].len(), replica.timers.len()), (2, 2));
        assert_eq!(reduce(&mut s, &[], 21), ["1 [3,22) 3"]);
        assert!(reduce(&mut s, &[rec(22, 21, 2, 16)], 30).is_empty());
        assert_eq!(reduce(&mut s, &[], 31), ["1 [22,32) 4", "2 [22,32) 16"]);
        replica.apply(s.take_delta());
        assert!(s.open.is_empty() && replica.open.is_empty() && replica.timers.is_empty());
    }
}
