//! The job API on this engine: building the graph of tasks.
//!
//! A [`DStream`] is a stream whose consumer is not known yet: it holds a continuation that,
//! given the factory of the operator that will consume it, completes its own chain. Stateless
//! operators extend the chain; `key_by` then a keyed operator end it with an exchange and start
//! a new stage whose tasks read the exchange's channels; a sink ends it for good. Operators are
//! boxed per chain link, and a link processes a whole buffer per call, so a record never goes
//! through dynamic dispatch on its own.
//!
//! At parallelism 1 an exchange between two single-task stages routes every record to the one
//! task there is: it is a forward edge, and the keyed operator is chained into the upstream
//! task instead (as Flink chains operators joined by forward edges), sparing a task, a channel
//! and a copy of every record. Only two-input operators (joins) still start a stage of their
//! own. A fault names a *logical* stage (`TaskFault::stage`), counted as if every keyed
//! operator had a stage of its own; a task hosts the range of them it chains, so the stage a
//! suite's failure names exists at every parallelism.

use crate::checkpoint::TaskId;
use crate::config::CheckpointMode;
use crate::env::Env;
use crate::message::{Message, Overtaking};
use crate::operator::exchange::{Exchange, key_hash};
use crate::operator::join::Join;
use crate::operator::reduce::Reduce;
use crate::operator::session::SessionAggregate;
use crate::operator::sink::Sink;
use crate::operator::stateless::{Filter, FlatMap, Map};
use crate::operator::tee::Tee;
use crate::operator::window::WindowAggregate;
use crate::operator::window_join::{Side, WindowJoin};
use crate::operator::{Chained, Logic, Operator};
use crate::task::{self, Context, InputTask, SourceTask, TaskInfo};
use crate::worker::{self, Task};
use crossbeam_channel::{Receiver, Sender, bounded, unbounded};
use flowmark_core::{
    Aggregate, Data, Key, KeyedStream, Log, Output, Rec, Stream, Time, Update, WatermarkStrategy, Window,
    WindowResult, WindowSpec, Windows,
};
use std::cell::{Cell, RefCell};
use std::ops::Range;
use std::rc::Rc;
use std::sync::Arc;

/// The report a task makes when it ends.
pub(crate) type Status = (TaskId, Result<(), task::Panicked>);

/// Builds the operator a task runs for one link of a chain.
pub(crate) type Factory<T> = Box<dyn Fn(&TaskInfo) -> Box<dyn Operator<T>>>;

/// The tasks of each worker: task `i` of every stage runs on worker `i`.
type Workers = Vec<Vec<Box<dyn Task>>>;

/// Makes a stage's tasks, given the stage's number and the logical stages its tasks host,
/// task `i` onto worker `i`.
type Spawner = Box<dyn FnOnce(usize, Range<usize>, &Arc<Env>, &mut Workers)>;

/// How many logical stages a chain's tasks host: one, plus one per keyed operator chained
/// into them. Shared by every link of a chain (and both branches of a fork).
type Hosts = Rc<Cell<usize>>;

/// The sending ends of the channels into a new stage: data `[task][input]`, one from each
/// upstream task to each task, and each task's control channel (for the barriers of unaligned
/// checkpoints, [`Overtaking`]).
type Outs<T> = (Vec<Vec<Sender<Message<T>>>>, Vec<Sender<Overtaking>>);

/// The receiving ends, per task: its inputs, and its control channel.
type Ins<T> = Vec<(Vec<Receiver<Message<T>>>, Receiver<Overtaking>)>;

/// The graph under construction.
pub(crate) struct Builder {
    env: Arc<Env>,
    stages: RefCell<Vec<(Spawner, bool, Hosts)>>,
    ops: Cell<u32>,
}

impl Builder {
    pub(crate) fn new(env: Arc<Env>) -> Rc<Self> {
        Rc::new(Builder { env, stages: RefCell::new(Vec::new()), ops: Cell::new(0) })
    }

    fn parallelism(&self) -> usize {
        self.env.config.parallelism
    }

    /// A new operator id: ids follow the order in which the job creates operators, which is
    /// the same in every run of the job — what lets a restored task find its state.
    fn op_id(&self) -> u32 {
        let id = self.ops.get();
        self.ops.set(id + 1);
        id
    }

    fn add_stage(&self, source: bool, hosts: Hosts, spawn: Spawner) {
        self.stages.borrow_mut().push((spawn, source, hosts));
    }

    /// A channel from each of `inputs` upstream tasks to each task of a new stage, and a
    /// control channel into each.
    fn channels<T>(&self, inputs: usize) -> (Outs<T>, Ins<T>) {
        let capacity = self.env.config.channel_capacity;
        let (mut outs, mut ins) = ((Vec::new(), Vec::new()), Vec::new());
        for _ in 0..self.parallelism() {
            let (data_tx, data_rx): (Vec<_>, Vec<_>) = (0..inputs).map(|_| bounded(capacity)).unzip();
            let (control_tx, control_rx) = unbounded();
            outs.0.push(data_tx);
            outs.1.push(control_tx);
            ins.push((data_rx, control_rx));
        }
        (outs, ins)
    }

    fn unaligned(&self) -> bool {
        self.env.config.checkpoint_mode == CheckpointMode::Unaligned
    }

    /// Starts a worker per parallel task, each running task `i` of every stage, upstream
    /// stages first; returns the number of tasks and of source tasks.
    pub(crate) fn start(&self, status: &Sender<Status>) -> std::io::Result<(usize, usize)> {
        let n = self.parallelism();
        let stages = std::mem::take(&mut *self.stages.borrow_mut());
        let sources = stages.iter().filter(|(_, s, _)| *s).count() * n;
        let tasks = stages.len() * n;
        let mut workers: Workers = (0..n).map(|_| Vec::new()).collect();
        let mut logical = 0;
        for (stage, (spawn, _, hosts)) in stages.into_iter().enumerate() {
            let hosted = logical..logical + hosts.get();
            logical = hosted.end;
            spawn(stage, hosted, &self.env, &mut workers);
        }
        for (index, tasks) in workers.into_iter().enumerate() {
            worker::spawn(index, self.env.clone(), tasks, status.clone())?;
        }
        Ok((tasks, sources))
    }
}

/// Set when the results of a window with allowed lateness feed another stateful operator: the
/// window then emits only final results (`flowmark_core::window`, "Late firings and chained
/// operators"). Read when the tasks are made, once the whole job is built.
type FinalOnly = Rc<Cell<bool>>;

/// A stream of the dataflow engine, while the job is being built.
pub struct DStream<T> {
    b: Rc<Builder>,
    attach: Box<dyn FnOnce(Factory<T>)>,
    /// The flag of the windowed operator whose results this stream carries, if any.
    final_only: Option<FinalOnly>,
    /// The logical stages the chain's tasks host.
    hosts: Hosts,
}

/// A keyed stream of the dataflow engine: records paired with their key, not yet exchanged.
pub struct DKeyed<K, V> {
    stream: DStream<(K, V)>,
}

impl<E: Data> DStream<E> {
    /// The stream of `log`'s events, read by `parallelism` source tasks, partition `p` by task
    /// `p mod parallelism`.
    pub(crate) fn source<L: Log<Event = E>>(b: &Rc<Builder>, log: L, strategy: WatermarkStrategy) -> Self {
        let builder = b.clone();
        let hosts = Hosts::new(Cell::new(1));
        let hosted = hosts.clone();
        let attach = move |next: Factory<E>| {
            builder.add_stage(
                true,
                hosted,
                Box::new(move |stage, logical, env, workers| {
                    let n = env.config.parallelism;
                    for (index, worker) in workers.iter_mut().enumerate() {
                        let id = TaskId { stage, index };
                        let op = next(&TaskInfo { id, env });
                        let partitions: Vec<u32> =
                            (0..log.partitions()).filter(|p| *p as usize % n == index).collect();
                        let cx = Context::new(id, "source", logical.clone(), env.clone());
                        worker.push(Box::new(SourceTask::new(cx, log.clone(), strategy, partitions, op)));
                    }
                }),
            );
        };
        DStream { b: b.clone(), attach: Box::new(attach), final_only: None, hosts }
    }
}

impl<T: Data> DStream<T> {
    /// Extends the chain with a logic built per task by `make`.
    fn chain<L: Logic<T> + 'static>(self, make: impl Fn(&TaskInfo) -> L + 'static) -> DStream<L::Out>
    where
        L::Out: Data,
    {
        let attach = self.attach;
        DStream {
            b: self.b,
            attach: Box::new(move |next: Factory<L::Out>| {
                attach(Box::new(move |info| Box::new(Chained::new(make(info), next(info)))))
            }),
            final_only: self.final_only,
            hosts: self.hosts,
        }
    }

    /// A windowed operator's output whose mode `final_only` will decide.
    fn windowed(mut self, final_only: FinalOnly) -> Self {
        self.final_only = Some(final_only);
        self
    }
}

impl<K: Key, V: Data> DStream<(K, V)> {
    /// Ends the chain with an exchange into `outs`, as inputs `offset..offset + n` of the
    /// next stage's tasks; `wrap` turns a payload into what the next stage takes.
    fn exchange<X: Data>(
        self,
        outs: Outs<(K, X)>,
        offset: usize,
        wrap: impl Fn(V) -> X + Copy + Send + 'static,
    ) {
        let (size, timeout) = (self.b.env.config.buffer_size, self.b.env.config.buffer_timeout);
        let unaligned = self.b.unaligned();
        if let Some(flag) = &self.final_only {
            flag.set(true); // a stateful operator reads this stream
        }
        (self.attach)(Box::new(move |info| {
            let route = move |r: Rec<(K, V)>| {
                let (k, v) = r.data;
                (key_hash(&k), Rec { time: r.time, wm: r.wm, data: (k, wrap(v)) })
            };
            let input = offset + info.id.index;
            let mine = outs.0.iter().map(|task| task[input].clone()).collect();
            let exchange = Exchange::new(route, mine, size, timeout);
            if unaligned { Box::new(exchange.overtaking(outs.1.clone(), input)) } else { Box::new(exchange) }
        }));
    }
}

/// A stage of tasks reading `ins` through a logic.
fn stage<I: Data, L: Logic<I> + 'static>(
    b: &Rc<Builder>,
    name: &'static str,
    ins: Ins<I>,
    make: impl Fn(&TaskInfo) -> L + 'static,
) -> DStream<L::Out>
where
    L::Out: Data,
{
    let builder = b.clone();
    let unaligned = b.unaligned();
    let hosts = Hosts::new(Cell::new(1));
    let hosted = hosts.clone();
    let attach = move |next: Factory<L::Out>| {
        builder.add_stage(
            false,
            hosted,
            Box::new(move |stage, logical, env, workers| {
                for (index, ((rx, control), worker)) in ins.into_iter().zip(workers.iter_mut()).enumerate() {
                    let id = TaskId { stage, index };
                    let info = TaskInfo { id, env };
                    let op: Box<dyn Operator<I>> = Box::new(Chained::new(make(&info), next(&info)));
                    let cx = Context::new(id, name, logical.clone(), env.clone());
                    let control = unaligned.then_some(control);
                    worker.push(Box::new(InputTask::new(cx, rx, control, op)));
                }
            }),
        );
    };
    DStream { b: b.clone(), attach: Box::new(attach), final_only: None, hosts }
}

fn identity<V>(v: V) -> V {
    v
}

impl<K: Key, V: Data> DKeyed<K, V> {
    /// Exchanges this stream into a new stage of single-input tasks — or, at parallelism 1,
    /// chains the operator into this stream's tasks (a forward edge).
    fn into_stage<L: Logic<(K, V)> + 'static>(
        self,
        name: &'static str,
        make: impl Fn(&TaskInfo) -> L + 'static,
    ) -> DStream<L::Out>
    where
        L::Out: Data,
    {
        let b = self.stream.b.clone();
        if b.parallelism() == 1 {
            if let Some(flag) = &self.stream.final_only {
                flag.set(true); // a stateful operator reads this stream
            }
            let hosts = self.stream.hosts.clone();
            hosts.set(hosts.get() + 1);
            let mut chained = self.stream.chain(make);
            chained.final_only = None;
            return chained;
        }
        let (senders, receivers) = b.channels::<(K, V)>(b.parallelism());
        self.stream.exchange(senders, 0, identity::<V>);
        stage(&b, name, receivers, make)
    }

    /// Exchanges this stream and `other` into a new stage of two-input tasks.
    fn join_stage<W: Data, L: Logic<(K, Side<V, W>)> + 'static>(
        self,
        other: DKeyed<K, W>,
        name: &'static str,
        make: impl Fn(&TaskInfo) -> L + 'static,
    ) -> DStream<L::Out>
    where
        L::Out: Data,
    {
        let b = self.stream.b.clone();
        let n = b.parallelism();
        let (senders, receivers) = b.channels::<(K, Side<V, W>)>(2 * n);
        self.stream.exchange(senders.clone(), 0, Side::Left);
        other.stream.exchange(senders, n, Side::Right);
        stage(&b, name, receivers, make)
    }
}

impl<T: Data> Stream<crate::Dataflow, T> for DStream<T> {
    fn map<U: Data>(self, f: impl Fn(T) -> U + Clone + Send + 'static) -> DStream<U> {
        self.chain(move |_| Map(f.clone()))
    }

    fn filter(self, f: impl Fn(&T) -> bool + Clone + Send + 'static) -> DStream<T> {
        self.chain(move |_| Filter(f.clone()))
    }

    fn flat_map<U: Data, I: IntoIterator<Item = U>>(
        self,
        f: impl Fn(T) -> I + Clone + Send + 'static,
    ) -> DStream<U> {
        self.chain(move |_| FlatMap(f.clone()))
    }

    fn fork(self) -> (DStream<T>, DStream<T>) {
        // the upstream chain is completed once both branches have their consumers
        type Slot<T> = Rc<RefCell<(Option<Factory<T>>, Option<Box<dyn FnOnce(Factory<T>)>>)>>;
        let slot: Slot<T> = Rc::new(RefCell::new((None, Some(self.attach))));
        let branch = |slot: Slot<T>| -> Box<dyn FnOnce(Factory<T>)> {
            Box::new(move |f: Factory<T>| {
                let mut s = slot.borrow_mut();
                match s.0.take() {
                    None => s.0 = Some(f),
                    Some(first) => {
                        let attach = s.1.take().expect("a fork attaches upstream once");
                        drop(s);
                        attach(Box::new(move |info| Box::new(Tee::new(first(info), f(info)))));
                    }
                }
            })
        };
        (
            DStream {
                b: self.b.clone(),
                attach: branch(slot.clone()),
                final_only: self.final_only.clone(),
                hosts: self.hosts.clone(),
            },
            DStream { b: self.b, attach: branch(slot), final_only: self.final_only, hosts: self.hosts },
        )
    }

    fn key_by<K: Key>(self, f: impl Fn(&T) -> K + Clone + Send + 'static) -> DKeyed<K, T> {
        DKeyed { stream: self.map(move |v| (f(&v), v)) }
    }

    fn sink(self, name: &'static str)
    where
        T: Output,
    {
        let delivery = self.b.env.config.delivery;
        (self.attach)(Box::new(move |_| Box::new(Sink::new(name, delivery))));
    }
}

impl<K: Key, V: Data> KeyedStream<crate::Dataflow, K, V> for DKeyed<K, V> {
    fn reduce<A: Aggregate<V>>(self, agg: A) -> DStream<Update<K, A::Out>> {
        let op = self.stream.b.op_id();
        self.into_stage("reduce", move |info| Reduce::new(op, agg.clone(), info.restore(op)))
    }

    fn window<A: Aggregate<V>>(self, spec: WindowSpec, agg: A) -> DStream<WindowResult<K, A::Out>> {
        let op = self.stream.b.op_id();
        match spec.windows {
            Windows::Session { gap } => self.into_stage("session", move |info| {
                SessionAggregate::new(op, spec, gap, agg.clone(), info.restore(op))
            }),
            fixed => {
                let final_only = FinalOnly::default();
                let flag = final_only.clone();
                self.into_stage("window", move |info| {
                    WindowAggregate::new(
                        op,
                        spec,
                        flag.get(),
                        flowmark_core::Assign::new(fixed),
                        agg.clone(),
                        info.restore(op),
                    )
                })
                .windowed(final_only)
            }
        }
    }

    fn window_by<A: Aggregate<V>>(
        self,
        window: impl Fn(&V) -> Window + Clone + Send + 'static,
        allowed_lateness: Time,
        agg: A,
    ) -> DStream<WindowResult<K, A::Out>> {
        let op = self.stream.b.op_id();
        // the kind only matters for assignment, which `window` does here
        let spec = WindowSpec::new(Windows::tumbling(1)).with_lateness(allowed_lateness);
        let final_only = FinalOnly::default();
        let flag = final_only.clone();
        self.into_stage("window", move |info| {
            WindowAggregate::new(
                op,
                spec,
                flag.get(),
                flowmark_core::By(window.clone()),
                agg.clone(),
                info.restore(op),
            )
        })
        .windowed(final_only)
    }

    fn window_join<W: Data + Ord, O: Data + PartialEq>(
        self,
        other: DKeyed<K, W>,
        spec: WindowSpec,
        f: impl Fn(&K, Window, &[V], &[W], &mut Vec<O>) + Clone + Send + 'static,
    ) -> DStream<O>
    where
        V: Ord,
    {
        let op = self.stream.b.op_id();
        let final_only = FinalOnly::default();
        let flag = final_only.clone();
        self.join_stage(other, "window-join", move |info| {
            WindowJoin::new(op, spec, flag.get(), f.clone(), info.restore(op))
        })
        .windowed(final_only)
    }

    fn join<W: Data, O: Data>(
        self,
        other: DKeyed<K, W>,
        f: impl Fn(&K, &V, &W) -> Option<O> + Clone + Send + 'static,
    ) -> DStream<O> {
        let op = self.stream.b.op_id();
        self.join_stage(other, "join", move |info| Join::new(op, f.clone(), info.restore(op)))
    }
}
