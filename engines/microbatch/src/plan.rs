//! The job API on this engine: a plan evaluated once per batch.
//!
//! An [`MStream`] is a stage's input (the partitions a batch gives it) and the fused chain of
//! narrow operators every task of the stage applies to its partition. A keyed operator ends
//! the stage: its map side runs in the same tasks, the shuffle regroups their buckets by key
//! partition, and a reduce stage updates the operator's state; its results are the next stage's
//! input. A partition crosses the chain as a vector, so no record is dispatched on its own.

use crate::error::EngineError;
use crate::executor::{Executor, Task, Work};
use crate::ops::{self, Late, Partitioned, Stateful, Versioned};
use flowmark_core::{
    Aggregate, Data, Key, KeyedStream, Log, Metrics, Output, PartitionReader, ReaderPosition, Rec, Stream,
    Time, TimeDomain, Update, Window, WindowResult, WindowSpec, Windows,
};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A partition of a stage's input, as the batch hands it over.
pub type Part = Arc<dyn Any + Send + Sync>;

type Input = Rc<dyn Fn(&Batch) -> Result<Vec<Part>, EngineError>>;
/// A task's chain: reads its partition and hands the results on in chunks, until the consumer
/// answers `false` (the task's other copy has finished).
type ChainFn<T> = Box<dyn FnMut(&Part, &mut dyn FnMut(Vec<Rec<T>>) -> bool) + Send>;
type Chain<T> = Rc<dyn Fn() -> ChainFn<T>>;
pub(crate) type SinkFn = Box<dyn Fn(&Batch) -> Result<Vec<u8>, EngineError>>;
/// How far behind the batch's watermark the operators reading a stream fire: the sum of the
/// delays of the windowed operators upstream that emit only final results
/// (`flowmark_core::window`, "Late firings and chained operators"). Evaluated per batch, once
/// the whole plan is built.
type Hold = Rc<dyn Fn() -> Time>;
/// Set when the results of a window with allowed lateness feed another stateful operator.
type FinalOnly = Rc<Cell<bool>>;

fn no_hold() -> Hold {
    Rc::new(|| 0)
}

/// Records per chunk a chain hands on: the batch flows through a task's operators a chunk at a
/// time, never materialized whole.
const CHUNK: usize = 1024;

/// What a task does with the chunks its chain produces.
pub trait Collect<T>: Send {
    /// The task's result.
    type Out: Send;
    /// Takes a chunk.
    fn add(&mut self, chunk: Vec<Rec<T>>);
    /// The result.
    fn finish(self) -> Self::Out;
}

/// Collects every record.
pub struct Gather<T>(Vec<Rec<T>>);

impl<T: Send> Collect<T> for Gather<T> {
    type Out = Vec<Rec<T>>;
    fn add(&mut self, mut chunk: Vec<Rec<T>>) {
        if self.0.is_empty() {
            self.0 = chunk;
        } else {
            self.0.append(&mut chunk);
        }
    }
    fn finish(self) -> Vec<Rec<T>> {
        self.0
    }
}

fn gather<T>() -> Gather<T> {
    Gather(Vec::new())
}

/// What a source task reads in one batch: offset ranges of its partitions.
#[derive(Debug)]
pub struct SourceSlice {
    /// (partition, position to start at, offset to stop before).
    pub ranges: Vec<(u32, ReaderPosition, u64)>,
    /// The log time the batch was cut at: every entry that arrived before it is in the batch,
    /// unless back-pressure held some back.
    pub cut: Time,
    /// Where each partition's reader ended, filled in by the task that read it.
    pub ends: Mutex<Vec<(u32, ReaderPosition)>>,
}

/// One batch being run: its id, watermark and input, and the means to run stages.
pub struct Batch<'a> {
    /// The batch.
    pub id: u64,
    /// The watermark the batch's stateful operators fire by (computed from earlier batches).
    pub wm: Time,
    /// What each source task reads.
    pub sources: Vec<Arc<SourceSlice>>,
    /// Runs stages.
    pub executor: &'a Executor,
    /// Counters.
    pub metrics: &'a Metrics,
    /// Log time now.
    pub now: &'a dyn Fn() -> Time,
    /// Restores a partition of an operator's state to the last committed version (before a
    /// reduce task is recomputed).
    pub reload: &'a (dyn Fn(&dyn Stateful, usize) -> Result<(), EngineError> + Sync),
    memo: RefCell<HashMap<u32, Vec<Part>>>,
}

impl<'a> Batch<'a> {
    /// A batch.
    pub fn new(
        id: u64,
        wm: Time,
        sources: Vec<Arc<SourceSlice>>,
        executor: &'a Executor,
        metrics: &'a Metrics,
        now: &'a dyn Fn() -> Time,
        reload: &'a (dyn Fn(&dyn Stateful, usize) -> Result<(), EngineError> + Sync),
    ) -> Self {
        Batch { id, wm, sources, executor, metrics, now, reload, memo: RefCell::new(HashMap::new()) }
    }
}

/// The plan under construction.
pub struct Builder {
    n: usize,
    domain: TimeDomain,
    ids: Cell<u32>,
    pub(crate) stateful: RefCell<Vec<Arc<dyn Stateful>>>,
    pub(crate) sinks: RefCell<Vec<(&'static str, SinkFn)>>,
}

impl Builder {
    /// A plan with `n` partitions per stage.
    pub fn new(n: usize, domain: TimeDomain) -> Rc<Self> {
        Rc::new(Builder {
            n,
            domain,
            ids: Cell::new(0),
            stateful: RefCell::new(Vec::new()),
            sinks: RefCell::new(Vec::new()),
        })
    }

    fn id(&self) -> u32 {
        let id = self.ids.get();
        self.ids.set(id + 1);
        id
    }

    fn state<S: Versioned + 'static>(&self) -> Arc<Partitioned<S>> {
        let s = Arc::new(Partitioned::<S>::new(self.id(), self.n));
        self.stateful.borrow_mut().push(s.clone());
        s
    }
}

/// A stream of the micro-batch engine.
pub struct MStream<T> {
    b: Rc<Builder>,
    input: Input,
    chain: Chain<T>,
    hold: Hold,
    /// The flag of the windowed operator whose results this stream carries, if any.
    final_only: Option<FinalOnly>,
}

/// A keyed stream: records paired with their key.
pub struct MKeyed<K, V> {
    stream: MStream<(K, V)>,
}

impl<E: Data> MStream<E> {
    /// The stream of `log`'s events: source task `i` reads the batch's ranges of the
    /// partitions `p` with `p mod parallelism = i`.
    pub fn source<L: Log<Event = E>>(b: &Rc<Builder>, log: L) -> Self {
        let domain = b.domain;
        let input: Input =
            Rc::new(|batch: &Batch| Ok(batch.sources.iter().map(|s| s.clone() as Part).collect()));
        let chain: Chain<E> = Rc::new(move || {
            let log = log.clone();
            Box::new(move |part: &Part, out: &mut dyn FnMut(Vec<Rec<E>>) -> bool| {
                let slice = part.downcast_ref::<SourceSlice>().expect("a source stage reads source slices");
                let mut chunk = Vec::with_capacity(CHUNK);
                let mut ends = Vec::new();
                for &(p, start, end) in &slice.ranges {
                    let mut reader = PartitionReader::resume(&log, p, domain, start);
                    while reader.offset() < end {
                        // everything up to the cut has arrived: read a chunk's worth at once
                        if reader.read_arrived(Time::MAX, end, CHUNK - chunk.len(), &mut chunk) == 0 {
                            break; // a finite log ended
                        }
                        if chunk.len() == CHUNK
                            && !out(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)))
                        {
                            return; // the other copy read this slice
                        }
                    }
                    // in processing time, a partition read up to the cut has its watermark there
                    reader.watermark_at(slice.cut - 1);
                    ends.push((p, reader.position()));
                }
                if !chunk.is_empty() && !out(chunk) {
                    return;
                }
                *slice.ends.lock().unwrap_or_else(|e| e.into_inner()) = ends;
            })
        });
        MStream { b: b.clone(), input, chain, hold: no_hold(), final_only: None }
    }
}

impl<T: Data> MStream<T> {
    fn then<U: Data>(self, f: impl Fn(Vec<Rec<T>>) -> Vec<Rec<U>> + Clone + Send + 'static) -> MStream<U> {
        let prev = self.chain;
        MStream {
            b: self.b,
            input: self.input,
            hold: self.hold,
            final_only: self.final_only,
            chain: Rc::new(move || {
                let mut c = prev();
                let f = f.clone();
                Box::new(move |p: &Part, out: &mut dyn FnMut(Vec<Rec<U>>) -> bool| {
                    c(p, &mut |chunk| out(f(chunk)))
                })
            }),
        }
    }

    /// The watermark the stateful operator reading this stream fires by in `batch`.
    fn read_by_state(&self, batch: &Batch) -> Time {
        batch.wm.saturating_sub((self.hold)())
    }

    /// Declares that a stateful operator reads this stream.
    fn feeds_state(&self) {
        if let Some(flag) = &self.final_only {
            flag.set(true);
        }
    }

    /// Runs the stage: every task passes its partition through the chain into a collector.
    fn run_stage<C: Collect<T>>(
        &self,
        batch: &Batch,
        collector: impl Fn() -> C + Clone + Send,
    ) -> Result<Vec<C::Out>, EngineError> {
        let parts = (self.input)(batch)?;
        // a task's result, and the records its chain passed on
        let work = |p| -> Work<'_, (C::Out, u64)> {
            let mut chain = (self.chain)();
            let collector = collector.clone();
            Box::new(move |_, stop: &AtomicBool| {
                let (mut c, mut records) = (collector(), 0);
                chain(p, &mut |chunk| {
                    records += chunk.len() as u64;
                    c.add(chunk);
                    !stop.load(Ordering::Relaxed)
                });
                (c.finish(), records)
            })
        };
        // a map task is a pure function of its partition: it may run as two copies
        let tasks: Vec<Task<'_, (C::Out, u64)>> =
            parts.iter().map(|p| Task::speculatable(work(p), work(p))).collect();
        let (out, records): (Vec<C::Out>, Vec<u64>) = batch.executor.run(tasks)?.into_iter().unzip();
        batch.executor.took(records);
        Ok(out)
    }
}

fn count_late(batch: &Batch, late: impl IntoIterator<Item = Late>) {
    let (mut events, mut windows) = (0, 0);
    for l in late {
        events += l.events;
        windows += l.windows;
    }
    batch.metrics.late(events, windows);
}

/// Regroups the map tasks' buckets by reduce partition.
fn shuffle<I>(buckets: Vec<Vec<Vec<I>>>, n: usize) -> Vec<Vec<I>> {
    let mut out: Vec<Vec<I>> = (0..n).map(|_| Vec::new()).collect();
    for task in buckets {
        for (j, b) in task.into_iter().enumerate() {
            out[j].extend(b);
        }
    }
    out
}

/// The reduce stage of a stateful operator: task `j` updates partition `j` of `state` with the
/// shuffled `input[j]` (restoring it first when recomputed), and its results are the next
/// stage's input.
fn reduce_stage<I: Send + Sync, S: Versioned + 'static, O: Data>(
    batch: &Batch,
    wm: Time,
    state: &Arc<Partitioned<S>>,
    input: Vec<Vec<I>>,
    f: impl Fn(&mut S, &[I], Time, &mut Vec<Rec<O>>) + Clone + Send,
) -> Result<Vec<Part>, EngineError> {
    let reload = batch.reload;
    let tasks: Vec<Task<'_, Result<Vec<Rec<O>>, EngineError>>> = input
        .iter()
        .enumerate()
        .map(|(j, items)| {
            let (state, f) = (state.clone(), f.clone());
            Task::new(Box::new(move |attempt: u32, _: &AtomicBool| {
                if attempt > 0 {
                    reload(&*state, j)?;
                }
                let mut out = Vec::new();
                f(&mut state.lock(j), items, wm, &mut out);
                Ok(out)
            }))
        })
        .collect();
    let out = batch.executor.run(tasks)?;
    batch.executor.took(input.iter().map(|items| items.len() as u64));
    out.into_iter().map(|r| r.map(|v| Arc::new(v) as Part)).collect()
}

/// A stream whose input is the results of a reduce stage, whose readers fire `hold` behind
/// the batch's watermark.
fn from_results<O: Data>(b: &Rc<Builder>, input: Input, hold: Hold) -> MStream<O> {
    let chain: Chain<O> = Rc::new(|| {
        Box::new(|p: &Part, out: &mut dyn FnMut(Vec<Rec<O>>) -> bool| {
            out(p.downcast_ref::<Vec<Rec<O>>>().expect("a stage reads its parent's results").clone());
        })
    });
    MStream { b: b.clone(), input, chain, hold, final_only: None }
}

impl<T: Data> Stream<crate::Microbatch, T> for MStream<T> {
    fn map<U: Data>(self, f: impl Fn(T) -> U + Clone + Send + 'static) -> MStream<U> {
        self.then(move |v| v.into_iter().map(|r| Rec { time: r.time, wm: r.wm, data: f(r.data) }).collect())
    }

    fn filter(self, f: impl Fn(&T) -> bool + Clone + Send + 'static) -> MStream<T> {
        self.then(move |mut v| {
            v.retain(|r| f(&r.data));
            v
        })
    }

    fn flat_map<U: Data, I: IntoIterator<Item = U>>(
        self,
        f: impl Fn(T) -> I + Clone + Send + 'static,
    ) -> MStream<U> {
        self.then(move |v| {
            let mut out = Vec::new();
            for r in v {
                let (time, wm) = (r.time, r.wm);
                out.extend(f(r.data).into_iter().map(|data| Rec { time, wm, data }));
            }
            out
        })
    }

    fn fork(self) -> (MStream<T>, MStream<T>) {
        // the shared upstream runs once per batch; both branches read its results
        let id = self.b.id();
        let up = Rc::new(self);
        let input: Input = {
            let up = up.clone();
            Rc::new(move |batch: &Batch| {
                if let Some(parts) = batch.memo.borrow().get(&id) {
                    return Ok(parts.clone());
                }
                let parts: Vec<Part> =
                    up.run_stage(batch, gather)?.into_iter().map(|v| Arc::new(v) as Part).collect();
                batch.memo.borrow_mut().insert(id, parts.clone());
                Ok(parts)
            })
        };
        let mut left = from_results(&up.b, input.clone(), up.hold.clone());
        let mut right = from_results(&up.b, input, up.hold.clone());
        left.final_only = up.final_only.clone();
        right.final_only = up.final_only.clone();
        (left, right)
    }

    fn key_by<K: Key>(self, f: impl Fn(&T) -> K + Clone + Send + 'static) -> MKeyed<K, T> {
        MKeyed { stream: self.map(move |v| (f(&v), v)) }
    }

    fn sink(self, name: &'static str)
    where
        T: Output,
    {
        let b = self.b.clone();
        let run: SinkFn = Box::new(move |batch: &Batch| {
            let parts = self.run_stage(batch, gather)?;
            let now = (batch.now)();
            let mut text = String::new();
            let mut results = 0;
            for r in parts.iter().flatten() {
                flowmark_core::output::write_line(now, &r.data, &mut text);
                results += 1;
            }
            Metrics::add(&batch.metrics.results_out, results);
            Ok(text.into_bytes())
        });
        b.sinks.borrow_mut().push((name, run));
    }
}

impl<K: Key, V: Data> KeyedStream<crate::Microbatch, K, V> for MKeyed<K, V> {
    fn reduce<A: Aggregate<V>>(self, agg: A) -> MStream<Update<K, A::Out>> {
        let b = self.stream.b.clone();
        let state = b.state::<ops::reduce::ReduceState<K, A::Acc>>();
        let n = b.n;
        let up = self.stream;
        up.feeds_state();
        let hold = up.hold.clone();
        let input: Input = Rc::new(move |batch: &Batch| {
            let a = agg.clone();
            let buckets = up.run_stage(batch, move || ops::reduce::Combiner::new(a.clone(), n))?;
            let a = agg.clone();
            let wm = up.read_by_state(batch);
            reduce_stage(batch, wm, &state, shuffle(buckets, n), move |s, items, _, out| {
                s.reduce(&a, items, out)
            })
        });
        from_results(&b, input, hold)
    }

    fn window<A: Aggregate<V>>(self, spec: WindowSpec, agg: A) -> MStream<WindowResult<K, A::Out>> {
        let b = self.stream.b.clone();
        let n = b.n;
        let up = self.stream;
        match spec.windows {
            Windows::Session { gap } => {
                let state = b.state::<ops::session::SessionState<K, A::Acc>>();
                up.feeds_state();
                let hold = up.hold.clone();
                let input: Input = Rc::new(move |batch: &Batch| {
                    let mapped = up.run_stage(batch, move || ops::session::Bucketer::new(spec, n))?;
                    let (buckets, late): (Vec<_>, Vec<_>) = mapped.into_iter().unzip();
                    count_late(batch, late);
                    let a = agg.clone();
                    let wm = up.read_by_state(batch);
                    reduce_stage(batch, wm, &state, shuffle(buckets, n), move |s, items, wm, out| {
                        s.reduce(&a, gap, items, wm, out)
                    })
                });
                from_results(&b, input, hold)
            }
            fixed => window_input(&b, up, spec, agg, flowmark_core::Assign::new(fixed)),
        }
    }

    fn window_by<A: Aggregate<V>>(
        self,
        window: impl Fn(&V) -> Window + Clone + Send + 'static,
        allowed_lateness: Time,
        agg: A,
    ) -> MStream<WindowResult<K, A::Out>> {
        let b = self.stream.b.clone();
        // the kind only matters for assignment, which `window` does here
        let spec = WindowSpec::new(Windows::tumbling(1)).with_lateness(allowed_lateness);
        window_input(&b, self.stream, spec, agg, flowmark_core::By(window))
    }

    fn window_join<W: Data + Ord, O: Data + PartialEq>(
        self,
        other: MKeyed<K, W>,
        spec: WindowSpec,
        f: impl Fn(&K, Window, &[V], &[W], &mut Vec<O>) + Clone + Send + 'static,
    ) -> MStream<O>
    where
        V: Ord,
    {
        use ops::join::Side;
        let b = self.stream.b.clone();
        let n = b.n;
        let state = b.state::<ops::window_join::JoinWindows<K, V, W>>();
        let (left, right) = (self.stream, other.stream);
        let (final_only, hold) = windowed(&left, &right, spec);
        let flag = final_only.clone();
        let input: Input = Rc::new(move |batch: &Batch| {
            let l = left.run_stage(batch, move || ops::window_join::Bucketer::new(spec, Side::Left, n))?;
            let r = right.run_stage(batch, move || ops::window_join::Bucketer::new(spec, Side::Right, n))?;
            let (lb, ll): (Vec<_>, Vec<_>) = l.into_iter().unzip();
            let (rb, rl): (Vec<_>, Vec<_>) = r.into_iter().unzip();
            count_late(batch, ll.into_iter().chain(rl));
            let mut items = shuffle(lb, n);
            for (j, extra) in shuffle(rb, n).into_iter().enumerate() {
                items[j].extend(extra);
            }
            let (f, lateness, delay) = (f.clone(), spec.allowed_lateness, spec.fire_delay(flag.get()));
            let wm = left.read_by_state(batch).min(right.read_by_state(batch));
            reduce_stage(batch, wm, &state, items, move |s, items, wm, out| {
                s.reduce(&f, lateness, delay, items, wm, out)
            })
        });
        let mut out = from_results(&b, input, hold);
        out.final_only = Some(final_only);
        out
    }

    fn join<W: Data, O: Data>(
        self,
        other: MKeyed<K, W>,
        f: impl Fn(&K, &V, &W) -> Option<O> + Clone + Send + 'static,
    ) -> MStream<O> {
        use ops::join::Side;
        let b = self.stream.b.clone();
        let n = b.n;
        let state = b.state::<ops::join::JoinState<K, V, W>>();
        let (left, right) = (self.stream, other.stream);
        left.feeds_state();
        right.feeds_state();
        let hold = max_hold(&left.hold, &right.hold);
        let input: Input = Rc::new(move |batch: &Batch| {
            let l = left.run_stage(batch, move || ops::join::Bucketer::new(Side::Left, n))?;
            let r = right.run_stage(batch, move || ops::join::Bucketer::new(Side::Right, n))?;
            let mut items = shuffle(l, n);
            for (j, extra) in shuffle(r, n).into_iter().enumerate() {
                items[j].extend(extra);
            }
            let f = f.clone();
            let wm = left.read_by_state(batch).min(right.read_by_state(batch));
            reduce_stage(batch, wm, &state, items, move |s, items, _, out| s.reduce(&f, items, out))
        });
        from_results(&b, input, hold)
    }
}

/// The output of a window aggregation over windows `assign` names.
fn window_input<K: Key, V: Data, A: Aggregate<V>>(
    b: &Rc<Builder>,
    up: MStream<(K, V)>,
    spec: WindowSpec,
    agg: A,
    assign: impl flowmark_core::Assigner<V>,
) -> MStream<WindowResult<K, A::Out>> {
    let state = b.state::<ops::window::WindowState<K, A::Acc>>();
    let n = b.n;
    let (final_only, hold) = windowed(&up, &up, spec);
    let flag = final_only.clone();
    let input: Input = Rc::new(move |batch: &Batch| {
        let (a, assign) = (agg.clone(), assign.clone());
        let mapped =
            up.run_stage(batch, move || ops::window::Combiner::new(a.clone(), spec, assign.clone(), n))?;
        let (buckets, late): (Vec<_>, Vec<_>) = mapped.into_iter().unzip();
        count_late(batch, late);
        let (a, lateness, delay) = (agg.clone(), spec.allowed_lateness, spec.fire_delay(flag.get()));
        let wm = up.read_by_state(batch);
        reduce_stage(batch, wm, &state, shuffle(buckets, n), move |s, items, wm, out| {
            s.reduce(&a, lateness, delay, items, wm, out)
        })
    });
    let mut out = from_results(b, input, hold);
    out.final_only = Some(final_only);
    out
}

/// A windowed operator reading `left` and `right` (the same stream for a one-input one): marks
/// them read by a stateful operator, and returns the operator's flag and the hold of its
/// output — its inputs' hold plus its own delay if it emits only final results.
fn windowed<A: Data, B: Data>(left: &MStream<A>, right: &MStream<B>, spec: WindowSpec) -> (FinalOnly, Hold) {
    left.feeds_state();
    right.feeds_state();
    let final_only = FinalOnly::default();
    let (flag, input) = (final_only.clone(), max_hold(&left.hold, &right.hold));
    (final_only, Rc::new(move || input().saturating_add(spec.fire_delay(flag.get()))))
}

/// The hold of an operator reading two streams: its watermark is the lower of theirs.
fn max_hold(a: &Hold, b: &Hold) -> Hold {
    let (a, b) = (a.clone(), b.clone());
    Rc::new(move || a().max(b()))
}
