//! # flowmark-reference — the ground truth
//!
//! The simplest correct evaluation of the job API: read the whole bounded log, apply the
//! watermark and lateness rules exactly as stated below, and compute every result as a batch.
//! Every other engine's output is checked against this one's, so these rules are the
//! definition of a correct result.
//!
//! ## Input
//! The log is read up to an end time: every entry of every partition that arrives strictly
//! before it. Each entry becomes a record whose time is its event time (in the event-time
//! domain) or its arrival time (in the processing-time domain), and whose `wm` is the watermark
//! of its own partition just before it was read (`flowmark_core::watermark`): for bounded
//! out-of-orderness, `max(time of earlier entries of the partition) − bound − 1`. At the end of the input the watermark is `+∞`: every window
//! fires.
//!
//! ## Lateness
//! - A record is **late for a fixed window** `w` (tumbling or sliding) when
//!   `w.end − 1 + allowed_lateness ≤ wm` (Flink's rule, with the record's own `wm`). It does not
//!   count towards that window. A record late for *all* its windows is a **late event**: it goes
//!   to the late side output, which is counted. A sliding-window record late for only some of
//!   its windows is counted in `late_windows` for each.
//! - A record is **late for a session window** when `time + allowed_lateness ≤ wm` (allowed
//!   lateness is zero for sessions), and then it is a late event.
//!
//! ## Results
//! - **window**: one result per key and window with at least one on-time record: the aggregate
//!   over those records. A window that fires more than once (late records within the allowed
//!   lateness) has as its result its last firing, which is this one.
//! - **sessions**: per key, the on-time records sorted by time; each starts the window
//!   `[t, t + gap)`; windows that intersect merge into their cover. One result per merged
//!   window.
//! - **window join**: per key and fixed window, the on-time records of each side; where both
//!   sides have any, the join function gets both, each sorted by (time, value).
//! - **join**: every pair of records with equal keys, left × right, offered once to the join
//!   function.
//! - **reduce**: one result per key: the aggregate over all its records.
//!
//! ## Chained operators and late firings
//! A window with allowed lateness `L` whose results are read by another stateful operator
//! (keyed again: a window, join, session or running aggregate) passes each result on once,
//! final — what this engine computes anyway, one result per key and window. Its reader fires
//! `L` later: a window downstream is due when the watermark reaches its last instant plus the
//! allowed lateness of every window with lateness upstream of it. Into a sink, the window's
//! results are due when it first fires, and its last value is the result (see
//! `flowmark_core::window`, "Late firings and chained operators", for the rule every engine
//! follows, and where it differs from Apache Flink's).
//!
//! A window result's time is its window's last instant; its arrival is the latest arrival of
//! the records it covers. A join result's time is the later of the pair's. Every result also
//! gets its due instant ([`due`]): when a perfect engine could have emitted it.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod chunks;
pub mod due;
mod keyed;
mod stream;

pub use keyed::RefKeyed;
pub use stream::RefStream;

use chunks::Chunks;
use flowmark_core::{
    Job, Log, PartitionReader, Rec, ResultLine, Runtime, Time, TimeDomain, WatermarkStrategy,
};
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use stream::Stamp;

/// The reference engine, as a [`Runtime`].
pub struct Reference;

impl Runtime for Reference {
    type Stream<T: flowmark_core::Data> = RefStream<T>;
    type Keyed<K: flowmark_core::Key, V: flowmark_core::Data> = RefKeyed<K, V>;
}

/// What a reference run reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// Read every entry arriving strictly before this time.
    pub end: Time,
    /// The run's time domain.
    pub domain: TimeDomain,
}

/// One result, with the instants latency is measured from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Emitted {
    /// Identity and value.
    pub line: ResultLine,
    /// The latest event time the result covers (a window's last instant).
    pub time: Time,
    /// The latest arrival among the inputs it covers.
    pub arrival: Time,
    /// When a perfect engine could have emitted it (see [`due`]).
    pub due: Time,
}

/// Late records dropped by one windowed operator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Late {
    /// Records late for every window they fall in: the late side output.
    pub events: u64,
    /// (record, window) pairs dropped because the window was late, counting the above.
    pub windows: u64,
}

/// Everything a reference run produced.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    /// Records read from the log.
    pub records: u64,
    /// Results per sink, in no particular order.
    pub sinks: BTreeMap<String, Vec<Emitted>>,
    /// Late records per windowed operator, in the order the job created them.
    pub late: Vec<Late>,
}

impl Output {
    /// All results of one sink as lines.
    pub fn lines(&self, sink: &str) -> Vec<ResultLine> {
        self.sinks.get(sink).map(|v| v.iter().map(|e| e.line.clone()).collect()).unwrap_or_default()
    }

    /// Late events over all operators.
    pub fn late_events(&self) -> u64 {
        self.late.iter().map(|l| l.events).sum()
    }
}

#[derive(Default)]
struct Context {
    out: Output,
    clock: due::DueClock,
}

type Shared = Rc<RefCell<Context>>;

/// Reads `log` per `input` into records, in partition order.
pub fn read<L: Log>(log: &L, strategy: WatermarkStrategy, input: Input) -> Vec<Rec<L::Event>> {
    // sized once: a vector grown by doubling holds up to twice its records, three times while
    // it moves, and the reference holds every record of a run's log
    let mut recs = Vec::with_capacity(events(log, input.end));
    for p in 0..log.partitions() {
        let end = log.arrived_before(p, input.end);
        let mut reader = PartitionReader::new(log, p, strategy, input.domain);
        reader.read_until(end, |r| recs.push(r));
    }
    recs
}

/// The entries of every partition of `log` that arrived before `end`.
fn events<L: Log>(log: &L, end: Time) -> usize {
    (0..log.partitions()).map(|p| log.arrived_before(p, end) as usize).sum()
}

/// Bytes the reference holds per event of a log of `E`, estimated: while it reads the log, a
/// record with its stamp and its read step; after that each operator gives back its input's
/// memory as it reads it, a chunk at a time, so it needs about the larger of its input and its
/// output — for the catalog's jobs, a keyed record, no larger than this. Left out: the job's
/// own state and the results, which grow with the keys and windows, not the events.
pub const fn bytes_per_event<E>() -> u64 {
    (size_of::<stream::Item<E>>() + size_of::<(Time, Time)>()) as u64
}

/// Runs `job` over `log` and returns every result.
pub fn run<J: Job, L: Log<Event = J::Event>>(job: &J, log: &L, input: Input) -> Output {
    let mut records = Chunks::new();
    let mut partitions = Vec::new();
    for p in 0..log.partitions() {
        let end = log.arrived_before(p, input.end);
        let mut reader = PartitionReader::new(log, p, job.watermarks(), input.domain);
        let mut steps = Vec::with_capacity(end as usize);
        while reader.offset() < end {
            let Some(arrival) = reader.next_arrival() else { break };
            let Some(r) = reader.next_record() else { break };
            steps.push((arrival, reader.watermark()));
            // a source record is due at its arrival
            records.push((Stamp::arrived(arrival), r));
        }
        partitions.push(steps);
    }
    let clock = due::DueClock::new(&partitions, input.end);
    // the read steps, 16 bytes a record, are not needed past the clock
    drop(partitions);
    let ctx: Shared = Rc::new(RefCell::new(Context { out: Output::default(), clock }));
    ctx.borrow_mut().out.records = records.len() as u64;
    job.build::<Reference>(RefStream::new(records, ctx.clone(), 0));
    std::mem::take(&mut ctx.borrow_mut().out)
}
