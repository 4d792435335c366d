//! Keyed operators: running aggregates, windows, and the two joins, each evaluated as a batch
//! over every record of the key (the rules are in the crate docs). Every result gets its due
//! instant (see [`crate::due`]).

use crate::chunks::Chunks;
use crate::stream::{Item, Stamp};
use crate::{Late, RefStream, Reference, Shared};
use flowmark_core::{
    Aggregate, Data, Key, KeyedStream, Rec, Time, Update, Window, WindowResult, WindowSpec, Windows,
};
use std::collections::{BTreeMap, HashMap};

/// A record with its key and stamp.
type KeyedItem<K, V> = (K, Stamp, Rec<V>);

/// A keyed stream of the reference engine: every record with its key.
pub struct RefKeyed<K, V> {
    items: Chunks<KeyedItem<K, V>>,
    ctx: Shared,
    /// How far behind the watermark over all partitions the operator reading it fires.
    hold: Time,
}

impl<K, V> RefKeyed<K, V> {
    pub(crate) fn new(items: Chunks<KeyedItem<K, V>>, ctx: Shared, hold: Time) -> Self {
        RefKeyed { items, ctx, hold }
    }
}

/// Hands every on-time (record, fixed window) pair to `add`, in input order, and counts the
/// late ones. `assign` names the windows of a record.
fn on_time<K: Key, V>(
    items: Chunks<KeyedItem<K, V>>,
    spec: &WindowSpec,
    assign: impl Fn(&Rec<V>, &mut dyn FnMut(Window)),
    late: &mut Late,
    mut add: impl FnMut(&K, Window, Stamp, &Rec<V>),
) {
    for (k, stamp, r) in items {
        let mut on_time = false;
        assign(&r, &mut |w| {
            if spec.is_late(w, r.wm) {
                late.windows += 1;
            } else {
                on_time = true;
                add(&k, w, stamp, &r);
            }
        });
        if !on_time {
            late.events += 1;
        }
    }
}

/// Groups on-time records by (key, fixed window), members in input order, counting the late
/// ones. `assign` names the windows of a record.
fn group_fixed<K: Key, V: Clone>(
    items: Chunks<KeyedItem<K, V>>,
    spec: &WindowSpec,
    assign: impl Fn(&Rec<V>, &mut dyn FnMut(Window)),
    late: &mut Late,
) -> BTreeMap<(K, Window), Vec<Item<V>>> {
    let mut groups: HashMap<(K, Window), Vec<Item<V>>> = HashMap::new();
    on_time(items, spec, assign, late, |k, w, stamp, r| {
        groups.entry((k.clone(), w)).or_default().push((stamp, r.clone()));
    });
    groups.into_iter().collect()
}

/// The aggregate of every (key, fixed window) over its on-time records, counting the late
/// ones: the aggregate of [`group_fixed`]'s groups, folded as the records come instead of
/// held (a log of hundreds of millions of events would not fit), in the groups' order.
fn aggregate_fixed<K: Key, V, A: Aggregate<V>>(
    ctx: &Shared,
    hold: Time,
    agg: &A,
    items: Chunks<KeyedItem<K, V>>,
    spec: &WindowSpec,
    assign: impl Fn(&Rec<V>, &mut dyn FnMut(Window)),
    late: &mut Late,
) -> Chunks<Item<WindowResult<K, A::Out>>> {
    // by key, then window: a record's key is cloned only when the key is new
    let mut folds: HashMap<K, HashMap<Window, Fold<A::Acc>>> = HashMap::new();
    on_time(items, spec, assign, late, |k, w, stamp, r| {
        let windows = match folds.get_mut(k) {
            Some(windows) => windows,
            None => folds.entry(k.clone()).or_default(),
        };
        windows.entry(w).or_insert_with(|| Fold::new(agg.init())).add(agg, stamp, r);
    });
    let ordered: BTreeMap<(K, Window), Fold<A::Acc>> =
        folds.into_iter().flat_map(|(k, ws)| ws.into_iter().map(move |(w, f)| ((k.clone(), w), f))).collect();
    ordered.into_iter().map(|((k, w), fold)| fold.finish(ctx, hold, agg, k, w)).collect()
}

/// A window result's stamp, from the latest stamp among its members: due when the watermark,
/// `hold` behind, reaches the window's last instant, or when its latest member was due.
fn window_stamp(ctx: &Shared, hold: Time, w: Window, latest: Stamp) -> Stamp {
    Stamp { due: fires(ctx, hold, w).max(latest.due), ..latest }
}

/// When the watermark, `hold` behind, reaches the window's last instant.
fn fires(ctx: &Shared, hold: Time, w: Window) -> Time {
    ctx.borrow().clock.when_watermark_reaches(w.max_time().saturating_add(hold))
}

/// A window's aggregate over the members added so far (in input order), with the latest
/// stamp among them.
struct Fold<Acc> {
    acc: Acc,
    stamp: Stamp,
}

impl<Acc> Fold<Acc> {
    fn new(acc: Acc) -> Self {
        Fold { acc, stamp: Stamp::NONE }
    }

    fn add<V, A: Aggregate<V, Acc = Acc>>(&mut self, agg: &A, stamp: Stamp, r: &Rec<V>) {
        agg.add(&mut self.acc, &r.data);
        self.stamp = self.stamp.max(stamp);
    }

    /// The window's result: due when the watermark, `hold` behind, reaches its last instant,
    /// or when its latest member was due.
    fn finish<K, V, A: Aggregate<V, Acc = Acc>>(
        self,
        ctx: &Shared,
        hold: Time,
        agg: &A,
        key: K,
        window: Window,
    ) -> Item<WindowResult<K, A::Out>> {
        let value = agg.finish(&self.acc);
        let stamp = window_stamp(ctx, hold, window, self.stamp);
        (stamp, Rec::window_result(window, WindowResult { key, window, value }))
    }
}

/// The result of one key and window.
fn aggregate<K, V, A: Aggregate<V>>(
    ctx: &Shared,
    hold: Time,
    agg: &A,
    key: K,
    window: Window,
    members: &[Item<V>],
) -> Item<WindowResult<K, A::Out>> {
    let mut fold = Fold::new(agg.init());
    for (stamp, r) in members {
        fold.add(agg, *stamp, r);
    }
    fold.finish(ctx, hold, agg, key, window)
}

/// Merges the on-time records of one key into sessions: `[t, t + gap)` per record, merged where
/// they intersect.
fn sessions<V>(mut items: Vec<Item<V>>, gap: Time) -> Vec<(Window, Vec<Item<V>>)> {
    items.sort_by_key(|(_, r)| r.time);
    let mut out: Vec<(Window, Vec<Item<V>>)> = Vec::new();
    for item in items {
        let own = Window::new(item.1.time, item.1.time.saturating_add(gap));
        match out.last_mut() {
            Some((w, members)) if w.intersects(&own) => {
                *w = w.cover(&own);
                members.push(item);
            }
            _ => out.push((own, vec![item])),
        }
    }
    out
}

impl<K: Key, V: Data> KeyedStream<Reference, K, V> for RefKeyed<K, V> {
    fn reduce<A: Aggregate<V>>(self, agg: A) -> RefStream<Update<K, A::Out>> {
        let mut groups: BTreeMap<K, (A::Acc, Stamp, Rec<()>)> = BTreeMap::new();
        for (k, stamp, r) in self.items {
            let (acc, last_stamp, last) = groups.entry(k).or_insert_with(|| {
                (agg.init(), Stamp::NONE, Rec { time: Time::MIN, wm: Time::MIN, data: () })
            });
            agg.add(acc, &r.data);
            *last_stamp = last_stamp.max(stamp);
            last.time = last.time.max(r.time);
            last.wm = last.wm.max(r.wm);
        }
        let out = groups
            .into_iter()
            .map(|(key, (acc, stamp, last))| (stamp, last.with(Update { key, value: agg.finish(&acc) })))
            .collect();
        RefStream::new(out, self.ctx, self.hold)
    }

    fn window<A: Aggregate<V>>(self, spec: WindowSpec, agg: A) -> RefStream<WindowResult<K, A::Out>> {
        debug_assert!(spec.validate().is_ok(), "invalid window spec: {spec:?}");
        let mut late = Late::default();
        let mut out = Chunks::new();
        match spec.windows {
            Windows::Session { gap } => {
                let mut per_key: BTreeMap<K, Vec<Item<V>>> = BTreeMap::new();
                for (k, stamp, r) in self.items {
                    if spec.is_late_element(r.time, r.wm) {
                        late.events += 1;
                        late.windows += 1;
                    } else {
                        per_key.entry(k).or_default().push((stamp, r));
                    }
                }
                for (k, items) in per_key {
                    for (w, members) in sessions(items, gap) {
                        out.push(aggregate(&self.ctx, self.hold, &agg, k.clone(), w, &members));
                    }
                }
            }
            Windows::Tumbling { .. } | Windows::Sliding { .. } => {
                let assign = |r: &Rec<V>, f: &mut dyn FnMut(Window)| spec.windows.assign(r.time, f);
                out = aggregate_fixed(&self.ctx, self.hold, &agg, self.items, &spec, assign, &mut late);
            }
        }
        self.ctx.borrow_mut().out.late.push(late);
        RefStream::new(out, self.ctx, self.hold).windowed(spec.allowed_lateness)
    }

    fn window_by<A: Aggregate<V>>(
        self,
        window: impl Fn(&V) -> Window + Clone + Send + 'static,
        allowed_lateness: Time,
        agg: A,
    ) -> RefStream<WindowResult<K, A::Out>> {
        // the kind only matters for assignment, which `window` does here
        let spec = WindowSpec::new(Windows::tumbling(1)).with_lateness(allowed_lateness);
        let mut late = Late::default();
        let assign = |r: &Rec<V>, f: &mut dyn FnMut(Window)| f(window(&r.data));
        let out = aggregate_fixed(&self.ctx, self.hold, &agg, self.items, &spec, assign, &mut late);
        self.ctx.borrow_mut().out.late.push(late);
        RefStream::new(out, self.ctx, self.hold).windowed(allowed_lateness)
    }

    fn window_join<W: Data + Ord, O: Data + PartialEq>(
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
        let hold = self.hold.max(other.hold);
        let left = group_fixed(self.items, &spec, |r, f| spec.windows.assign(r.time, f), &mut late);
        let mut right = group_fixed(other.items, &spec, |r, f| spec.windows.assign(r.time, f), &mut late);
        let mut out = Chunks::new();
        let mut buf = Vec::new();
        for ((k, w), mut l) in left {
            let Some(mut r) = right.remove(&(k.clone(), w)) else { continue };
            l.sort_by(|a, b| (a.1.time, &a.1.data).cmp(&(b.1.time, &b.1.data)));
            r.sort_by(|a, b| (a.1.time, &a.1.data).cmp(&(b.1.time, &b.1.data)));
            let latest = l.iter().map(|x| x.0).chain(r.iter().map(|x| x.0)).fold(Stamp::NONE, Stamp::max);
            let stamp = window_stamp(&self.ctx, hold, w, latest);
            let lv: Vec<V> = l.into_iter().map(|x| x.1.data).collect();
            let rv: Vec<W> = r.into_iter().map(|x| x.1.data).collect();
            f(&k, w, &lv, &rv, &mut buf);
            out.extend(buf.drain(..).map(|o| (stamp, Rec::window_result(w, o))));
        }
        self.ctx.borrow_mut().out.late.push(late);
        RefStream::new(out, self.ctx, hold).windowed(spec.allowed_lateness)
    }

    fn join<W: Data, O: Data>(
        self,
        other: RefKeyed<K, W>,
        f: impl Fn(&K, &V, &W) -> Option<O> + Clone + Send + 'static,
    ) -> RefStream<O> {
        let mut right: BTreeMap<K, Vec<Item<W>>> = BTreeMap::new();
        for (k, stamp, r) in other.items {
            right.entry(k).or_default().push((stamp, r));
        }
        let mut out = Chunks::new();
        for (k, l_stamp, l) in self.items {
            for (r_stamp, r) in right.get(&k).map(Vec::as_slice).unwrap_or_default() {
                if let Some(o) = f(&k, &l.data, &r.data) {
                    out.push((l_stamp.max(*r_stamp), Rec::joined(&l, r, o)));
                }
            }
        }
        RefStream::new(out, self.ctx, self.hold.max(other.hold))
    }
}
