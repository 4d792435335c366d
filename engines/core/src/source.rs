//! The input of every job: a partitioned, replayable log, and the reader that turns its entries
//! into records.
//!
//! The log plays the part Kafka plays in a real deployment, except that it is a function: entry
//! `i` of partition `p` depends only on the workload's parameters, its seed, `p` and `i`. A
//! recovering engine re-reads from its checkpointed offsets and sees exactly the same entries.

use crate::record::{Data, Rec};
use crate::time::Time;
use crate::watermark::{PartitionWatermark, TimeDomain, WatermarkStrategy};
use serde::{Deserialize, Serialize};

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry<E> {
    /// When the entry becomes available to the engine. A source may not read it earlier.
    pub arrival: Time,
    /// The event's own timestamp: `arrival − delay`, where the delay is the run's disorder.
    pub time: Time,
    /// The event.
    pub event: E,
}

/// A partitioned, replayable log. Within a partition, arrival times never decrease.
pub trait Log: Clone + Send + Sync + 'static {
    /// The events the log holds.
    type Event: Data;
    /// A sequential reader over one partition: the fast path engines read through.
    type Cursor: Iterator<Item = Entry<Self::Event>> + Send;

    /// The number of partitions.
    fn partitions(&self) -> u32;

    /// Reads `partition` from entry `index` on, in arrival order. A generated log's cursor
    /// never ends: a bounded run stops reading at its end time.
    fn cursor(&self, partition: u32, index: u64) -> Self::Cursor;

    /// How many entries of `partition` arrive strictly before `t`: the end offset of a run of
    /// length `t`, and the offset a micro-batch cut at `t` reads up to.
    fn arrived_before(&self, partition: u32, t: Time) -> u64;
}

/// Reads one partition of a log as records: assigns each record its time per the run's time
/// domain and the watermark of its partition just before it, and keeps that watermark.
///
/// Every engine reads through this type, so a record's `wm` — and with it every lateness
/// verdict — is the same on every engine.
pub struct PartitionReader<C: Iterator> {
    cursor: std::iter::Peekable<C>,
    offset: u64,
    domain: TimeDomain,
    wm: PartitionWatermark,
}

/// What a reader must remember across a checkpoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReaderPosition {
    /// The next entry to read.
    pub offset: u64,
    /// The partition's watermark state at that offset.
    pub wm: PartitionWatermark,
}

impl<C: Iterator> PartitionReader<C> {
    /// A reader of `log`'s `partition` from its start.
    pub fn new<L: Log<Cursor = C>>(
        log: &L,
        partition: u32,
        strategy: WatermarkStrategy,
        domain: TimeDomain,
    ) -> Self {
        let start = ReaderPosition { offset: 0, wm: strategy_for(strategy, domain).partition() };
        Self::resume(log, partition, domain, start)
    }

    /// A reader resumed at a checkpointed position.
    pub fn resume<L: Log<Cursor = C>>(
        log: &L,
        partition: u32,
        domain: TimeDomain,
        at: ReaderPosition,
    ) -> Self {
        PartitionReader {
            cursor: log.cursor(partition, at.offset).peekable(),
            offset: at.offset,
            domain,
            wm: at.wm,
        }
    }

    /// Where the reader is.
    pub fn position(&self) -> ReaderPosition {
        ReaderPosition { offset: self.offset, wm: self.wm }
    }

    /// The partition's watermark after everything read so far.
    pub fn watermark(&self) -> Time {
        self.wm.current()
    }
}

/// In processing time the records are in arrival order, so the watermark trails the newest
/// arrival with no bound.
fn strategy_for(strategy: WatermarkStrategy, domain: TimeDomain) -> WatermarkStrategy {
    match domain {
        TimeDomain::Event => strategy,
        TimeDomain::Processing => WatermarkStrategy::bounded(0),
    }
}

impl<E: Data, C: Iterator<Item = Entry<E>>> PartitionReader<C> {
    /// When the next entry arrives (`None` past the end of a finite log).
    #[inline]
    pub fn next_arrival(&mut self) -> Option<Time> {
        self.cursor.peek().map(|e| e.arrival)
    }

    /// The offset of the next entry.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next entry as a record (`None` past the end of a finite log). The caller
    /// checks the record's arrival against its clock.
    #[inline]
    pub fn next_record(&mut self) -> Option<Rec<E>> {
        let entry = self.cursor.next()?;
        let time = match self.domain {
            TimeDomain::Event => entry.time,
            TimeDomain::Processing => entry.arrival,
        };
        let rec = Rec { time, arrival: entry.arrival, wm: self.wm.current(), data: entry.event };
        self.wm.observe(time);
        self.offset += 1;
        Some(rec)
    }

    /// Reads every entry up to (not including) offset `end`, in order.
    pub fn read_until(&mut self, end: u64, mut f: impl FnMut(Rec<E>)) {
        while self.offset < end {
            match self.next_record() {
                Some(rec) => f(rec),
                None => break,
            }
        }
    }
}

/// A log held in memory: for tests, and for replaying a recorded input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecLog<E> {
    partitions: std::sync::Arc<Vec<Vec<Entry<E>>>>,
}

impl<E: Data + Sync> VecLog<E> {
    /// A log of these partitions; each must be in arrival order.
    pub fn new(partitions: Vec<Vec<Entry<E>>>) -> Result<Self, crate::ApiError> {
        if partitions.is_empty() {
            return Err(crate::ApiError::Invalid("a log needs at least one partition".into()));
        }
        for (p, entries) in partitions.iter().enumerate() {
            if let Some(i) = entries.windows(2).position(|w| w[1].arrival < w[0].arrival) {
                return Err(crate::ApiError::Invalid(format!(
                    "partition {p} is not in arrival order at entry {}",
                    i + 1
                )));
            }
        }
        Ok(VecLog { partitions: std::sync::Arc::new(partitions) })
    }

    /// The entries of a partition.
    pub fn entries(&self, partition: u32) -> &[Entry<E>] {
        &self.partitions[partition as usize]
    }
}

/// A cursor over a [`VecLog`] partition.
pub struct VecCursor<E> {
    log: std::sync::Arc<Vec<Vec<Entry<E>>>>,
    partition: usize,
    next: usize,
}

impl<E: Clone> Iterator for VecCursor<E> {
    type Item = Entry<E>;
    fn next(&mut self) -> Option<Entry<E>> {
        let e = self.log[self.partition].get(self.next)?.clone();
        self.next += 1;
        Some(e)
    }
}

impl<E: Data + Sync> Log for VecLog<E> {
    type Event = E;
    type Cursor = VecCursor<E>;

    fn partitions(&self) -> u32 {
        self.partitions.len() as u32
    }

    fn cursor(&self, partition: u32, index: u64) -> VecCursor<E> {
        VecCursor { log: self.partitions.clone(), partition: partition as usize, next: index as usize }
    }

    fn arrived_before(&self, partition: u32, t: Time) -> u64 {
        self.partitions[partition as usize].partition_point(|e| e.arrival < t) as u64
    }
}
