//! The job API: a job is written once, generic over the engine, and every engine runs that
//! same definition.
//!
//! A [`Runtime`] names an engine's stream types; [`Stream`] and [`KeyedStream`] are the
//! operations a job composes. Every user function is a generic parameter, so an engine
//! monomorphizes the record-at-a-time path: an engine may erase types between operators (to
//! build a graph of tasks or a plan of stages), but then only once per buffer or batch of
//! records, never per record.
//!
//! Semantics every engine must implement (the reference engine's docs state them in full):
//! - stateless operators (`map`, `filter`, `flat_map`) keep a record's instants;
//! - `key_by` partitions by key; what follows is per key;
//! - [`KeyedStream::reduce`] emits the key's aggregate over all records so far, as updates
//!   whose last value is the result;
//! - [`KeyedStream::window`] emits one result per key and window when the watermark passes the
//!   window's end, again with every accepted late record that changes it, and drops (and
//!   counts) the records that are late; read by another stateful operator, a window with
//!   allowed lateness emits each result once, final (see [`crate::window`], "Late firings and
//!   chained operators"); [`KeyedStream::window_by`] does the same with a window each record
//!   names itself;
//! - [`KeyedStream::window_join`] groups both inputs by key and window and calls the join
//!   function once per key and window in which both sides have records;
//! - [`KeyedStream::join`] keeps every record of both inputs and emits each matching pair once.

use crate::aggregate::Aggregate;
use crate::output::{Output, Update, WindowResult};
use crate::record::{Data, Key};
use crate::time::Time;
use crate::watermark::WatermarkStrategy;
use crate::window::{Window, WindowSpec};

/// An engine, as far as a job can see: the types of its streams.
pub trait Runtime: Sized + 'static {
    /// A stream of records carrying `T`.
    type Stream<T: Data>: Stream<Self, T>;
    /// A stream partitioned by `K`, carrying `V`.
    type Keyed<K: Key, V: Data>: KeyedStream<Self, K, V>;
}

/// The operations on a stream.
pub trait Stream<R: Runtime, T: Data>: Sized {
    /// Transforms each record.
    fn map<U: Data>(self, f: impl Fn(T) -> U + Clone + Send + 'static) -> R::Stream<U>;

    /// Keeps the records for which `f` holds.
    fn filter(self, f: impl Fn(&T) -> bool + Clone + Send + 'static) -> R::Stream<T>;

    /// Transforms each record into zero or more.
    fn flat_map<U: Data, I: IntoIterator<Item = U>>(
        self,
        f: impl Fn(T) -> I + Clone + Send + 'static,
    ) -> R::Stream<U>;

    /// Sends every record down two branches (a fan-out): a job that reads two views of one
    /// log — people and auctions — forks the input.
    fn fork(self) -> (R::Stream<T>, R::Stream<T>);

    /// Partitions the stream by a key.
    fn key_by<K: Key>(self, f: impl Fn(&T) -> K + Clone + Send + 'static) -> R::Keyed<K, T>;

    /// Sends the records to the named sink: the job's output.
    fn sink(self, name: &'static str)
    where
        T: Output;
}

/// The operations on a keyed stream.
pub trait KeyedStream<R: Runtime, K: Key, V: Data>: Sized {
    /// A running aggregate per key: after each record (or batch of records) of a key, its
    /// aggregate over every record so far.
    fn reduce<A: Aggregate<V>>(self, agg: A) -> R::Stream<Update<K, A::Out>>;

    /// An aggregate per key and event-time window.
    fn window<A: Aggregate<V>>(self, spec: WindowSpec, agg: A) -> R::Stream<WindowResult<K, A::Out>>;

    /// An aggregate per key and window, where each record names its own window (NEXMark q4:
    /// an auction's bids until it closes). Lateness is judged as for fixed windows.
    fn window_by<A: Aggregate<V>>(
        self,
        window: impl Fn(&V) -> Window + Clone + Send + 'static,
        allowed_lateness: Time,
        agg: A,
    ) -> R::Stream<WindowResult<K, A::Out>>;

    /// Joins two keyed streams within fixed (tumbling or sliding) windows: for every key and
    /// window in which both have records, `f` gets both sides' values — each ordered by event
    /// time, then by value, so that it sees the same input on every engine — and pushes its
    /// results.
    fn window_join<W: Data + Ord, O: Data + PartialEq>(
        self,
        other: R::Keyed<K, W>,
        spec: WindowSpec,
        f: impl Fn(&K, Window, &[V], &[W], &mut Vec<O>) + Clone + Send + 'static,
    ) -> R::Stream<O>
    where
        V: Ord;

    /// Joins two keyed streams with unbounded state (a regular SQL inner join): each pair of
    /// records with equal keys is offered to `f` once, whichever came first; `Some` is
    /// emitted. The result's time is the later of the two event times.
    fn join<W: Data, O: Data>(
        self,
        other: R::Keyed<K, W>,
        f: impl Fn(&K, &V, &W) -> Option<O> + Clone + Send + 'static,
    ) -> R::Stream<O>;
}

/// A job: a dataflow over one log, defined once for every engine.
pub trait Job: Send + Sync + 'static {
    /// The events of the job's log.
    type Event: Data;

    /// The job's name, as suites and results name it.
    fn name(&self) -> &'static str;

    /// How the job's sources derive watermarks.
    fn watermarks(&self) -> WatermarkStrategy;

    /// Builds the dataflow on `input`, the stream of the log's events.
    fn build<R: Runtime>(&self, input: R::Stream<Self::Event>);

    /// The windows that decide where an event of the log counts: those of the job's first
    /// windowed operator. They let the harness count the events that processing time puts in
    /// another window than their event time does. `None` for a job with no window over its
    /// input, or with merging (session) windows, whose bounds depend on the other events.
    fn windows(&self) -> Option<crate::Windows> {
        None
    }

    /// The job's COST baseline (McSherry, Isard and Murray, "Scalability! But at what COST?",
    /// HotOS 2015): the same computation written by hand as one single-threaded loop, with no
    /// engine, over `log` up to `end` — or `None` for a job that has none.
    fn baseline<L: crate::Log<Event = Self::Event>>(&self, log: &L, end: Time) -> Option<Baseline> {
        let _ = (log, end);
        None
    }
}

/// What a job's hand-written baseline loop read and computed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Baseline {
    /// Events read.
    pub events: u64,
    /// Its final results, one per identity.
    pub results: Vec<crate::ResultLine>,
}
