//! Keyed operators: running aggregates, windows, and the two joins, each evaluated as a batch
//! over every record of the key (the rules are in the crate docs).

use crate::{Late, RefStream, Reference, Shared};
use flowmark_core::{
    Aggregate, Data, Key, KeyedStream, Rec, Update, Window, WindowResult, WindowSpec, Windows,
};
use std::collections::BTreeMap;

/// A keyed stream of the reference engine: every record with its key.
pub struct RefKeyed<K, V> {
    recs: Vec<(K, Rec<V>)>,
    ctx: Shared,
}

impl<K, V> RefKeyed<K, V> {
    pub(crate) fn new(recs: Vec<(K, Rec<V>)>, ctx: Shared) -> Self {
        RefKeyed { recs, ctx }
    }
}

/// Groups on-time records by (key, fixed window), counting the late ones. `assign` names the
/// windows of a record.
fn group_fixed<K: Key, V: Clone>(
    recs: Vec<(K, Rec<V>)>,
    spec: &WindowSpec,
    assign: impl Fn(&Rec<V>, &mut dyn FnMut(Window)),
    late: &mut Late,
) -> BTreeMap<(K, Window), Vec<Rec<V>>> {
    let mut groups: BTreeMap<(K, Window), Vec<Rec<V>>> = BTreeMap::new();
    for (k, r) in recs {
        let mut on_time = 0;
        assign(&r, &mut |w| {
            if spec.is_late(w, r.wm) {
                late.windows += 1;
            } else {
                on_time += 1;
                groups.entry((k.clone(), w)).or_default().push(r.clone());
            }
        });
        if on_time == 0 {
            late.events += 1;
        }
    }
    groups
}

/// The result of one key and window.
fn aggregate<K, V, A: Aggregate<V>>(
    agg: &A,
    key: K,
    window: Window,
    members: &[Rec<V>],
) -> Rec<WindowResult<K, A::Out>> {
    let mut acc = agg.init();
    for r in members {
        agg.add(&mut acc, &r.data);
    }
    let arrival = members.iter().map(|r| r.arrival).max().unwrap_or(i64::MIN);
    Rec::window_result(window, arrival, WindowResult { key, window, value: agg.finish(&acc) })
}

/// Merges the on-time records of one key into sessions: `[t, t + gap)` per record, merged where
/// they intersect.
fn sessions<V>(mut recs: Vec<Rec<V>>, gap: i64) -> Vec<(Window, Vec<Rec<V>>)> {
    recs.sort_by_key(|r| r.time);
    let mut out: Vec<(Window, Vec<Rec<V>>)> = Vec::new();
    for r in recs {
        let own = Window::new(r.time, r.time.saturating_add(gap));
        match out.last_mut() {
            Some((w, members)) if w.intersects(&own) => {
                *w = w.cover(&own);
                members.push(r);
            }
            _ => out.push((own, vec![r])),
        }
    }
    out
}

impl<K: Key, V: Data> KeyedStream<Reference, K, V> for RefKeyed<K, V> {
    fn reduce<A: Aggregate<V>>(self, agg: A) -> RefStream<Update<K, A::Out>> {
        let mut groups: BTreeMap<K, (A::Acc, Rec<()>)> = BTreeMap::new();
        for (k, r) in self.recs {
            let (acc, last) = groups.entry(k).or_insert_with(|| {
                (agg.init(), Rec { time: i64::MIN, arrival: i64::MIN, wm: i64::MIN, data: () })
            });
            agg.add(acc, &r.data);
            last.time = last.time.max(r.time);
            last.arrival = last.arrival.max(r.arrival);
            last.wm = last.wm.max(r.wm);
        }
        let out = groups
            .into_iter()
            .map(|(key, (acc, last))| last.with(Update { key, value: agg.finish(&acc) }))
            .collect();
        RefStream::new(out, self.ctx)
    }

    fn window<A: Aggregate<V>>(self, spec: WindowSpec, agg: A) -> RefStream<WindowResult<K, A::Out>> {
        debug_assert!(spec.validate().is_ok(), "invalid window spec: {spec:?}");
        let mut late = Late::default();
        let mut out = Vec::new();
        let mut emit =
            |key: K, window: Window, members: &[Rec<V>]| out.push(aggregate(&agg, key, window, members));
        match spec.windows {
            Windows::Session { gap } => {
                let mut per_key: BTreeMap<K, Vec<Rec<V>>> = BTreeMap::new();
                for (k, r) in self.recs {
                    if spec.is_late_element(r.time, r.wm) {
                        late.events += 1;
                        late.windows += 1;
                    } else {
                        per_key.entry(k).or_default().push(r);
                    }
                }
                for (k, recs) in per_key {
                    for (w, members) in sessions(recs, gap) {
                        emit(k.clone(), w, &members);
                    }
                }
            }
            Windows::Tumbling { .. } | Windows::Sliding { .. } => {
                let assign = |r: &Rec<V>, f: &mut dyn FnMut(Window)| spec.windows.assign(r.time, f);
                for ((k, w), members) in group_fixed(self.recs, &spec, assign, &mut late) {
                    emit(k, w, &members);
                }
            }
        }
        self.ctx.borrow_mut().out.late.push(late);
        RefStream::new(out, self.ctx)
    }

    fn window_by<A: Aggregate<V>>(
        self,
        window: impl Fn(&V) -> Window + Clone + Send + 'static,
        allowed_lateness: i64,
        agg: A,
    ) -> RefStream<WindowResult<K, A::Out>> {
        // the kind only matters for assignment, which `window` does here
        let spec = WindowSpec::new(Windows::tumbling(1)).with_lateness(allowed_lateness);
        let mut late = Late::default();
        let assign = |r: &Rec<V>, f: &mut dyn FnMut(Window)| f(window(&r.data));
        let mut out = Vec::new();
        for ((key, w), members) in group_fixed(self.recs, &spec, assign, &mut late) {
            out.push(aggregate(&agg, key, w, &members));
        }
        self.ctx.borrow_mut().out.late.push(late);
        RefStream::new(out, self.ctx)
    }

    fn window_join<W: Data + Ord, O: Data>(
        self,
        other: RefKeyed<K, W>,
        spec: WindowSpec,
        f: impl Fn(&K, Window, &[V], &[W], &mut Vec<O>) + Clone + Send + 'static,
    ) -> RefStream<O>
    where
        V: Ord,
    {
        debug_assert!(!spec.windows.is_merging(), "window joins take fixed windows");
        let mut late = Late::default();
        let left = group_fixed(self.recs, &spec, |r, f| spec.windows.assign(r.time, f), &mut late);
        let mut right = group_fixed(other.recs, &spec, |r, f| spec.windows.assign(r.time, f), &mut late);
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for ((k, w), mut l) in left {
            let Some(mut r) = right.remove(&(k.clone(), w)) else {
                continue;
            };
            l.sort_by(|a, b| (a.time, &a.data).cmp(&(b.time, &b.data)));
            r.sort_by(|a, b| (a.time, &a.data).cmp(&(b.time, &b.data)));
            let arrival =
                l.iter().map(|x| x.arrival).chain(r.iter().map(|x| x.arrival)).max().unwrap_or(i64::MIN);
            let lv: Vec<V> = l.into_iter().map(|x| x.data).collect();
            let rv: Vec<W> = r.into_iter().map(|x| x.data).collect();
            f(&k, w, &lv, &rv, &mut buf);
            out.extend(buf.drain(..).map(|o| Rec::window_result(w, arrival, o)));
        }
        self.ctx.borrow_mut().out.late.push(late);
        RefStream::new(out, self.ctx)
    }

    fn join<W: Data, O: Data>(
        self,
        other: RefKeyed<K, W>,
        f: impl Fn(&K, &V, &W) -> Option<O> + Clone + Send + 'static,
    ) -> RefStream<O> {
        let mut right: BTreeMap<K, Vec<Rec<W>>> = BTreeMap::new();
        for (k, r) in other.recs {
            right.entry(k).or_default().push(r);
        }
        let mut out = Vec::new();
        for (k, l) in self.recs {
            for r in right.get(&k).map(Vec::as_slice).unwrap_or_default() {
                if let Some(o) = f(&k, &l.data, &r.data) {
                    out.push(Rec {
                        time: l.time.max(r.time),
                        arrival: l.arrival.max(r.arrival),
                        wm: l.wm.max(r.wm),
                        data: o,
                    });
                }
            }
        }
        RefStream::new(out, self.ctx)
    }
}
