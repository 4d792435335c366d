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

    /// Entries `from..to` of `partition`, in arrival order: borrowed where the log holds them
    /// (a [`VecLog`]), else read into `buf`. How a COST baseline reads a chunk of a partition.
    fn entries<'a>(
        &'a self,
        partition: u32,
        from: u64,
        to: u64,
        buf: &'a mut Vec<Entry<Self::Event>>,
    ) -> &'a [Entry<Self::Event>] {
        buf.clear();
        buf.extend(self.cursor(partition, from).take(to.saturating_sub(from) as usize));
        buf
    }
}

/// Reads one partition of a log as records: assigns each record its time per the run's time
/// domain and the watermark of its partition just before it, and keeps that watermark.
///
/// Every engine reads through this type, so a record's `wm` — and with it every lateness
/// verdict — is the same on every engine.
pub struct PartitionReader<C: Iterator> {
    cursor: C,
    /// An entry read from the cursor but not yet consumed: read ahead to know its arrival.
    /// Touched only at the edges of a read, so that the loop over entries does not move each
    /// one through it.
    pending: Option<C::Item>,
    offset: u64,
    domain: TimeDomain,
    wm: PartitionWatermark,
    /// `wm.current()`, kept: it changes only with a new largest time, so the loop over entries
    /// does not recompute it per entry.
    current: Time,
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
            cursor: log.cursor(partition, at.offset),
            pending: None,
            offset: at.offset,
            domain,
            wm: at.wm,
            current: at.wm.current(),
        }
    }

    /// Where the reader is.
    pub fn position(&self) -> ReaderPosition {
        ReaderPosition { offset: self.offset, wm: self.wm }
    }

    /// The partition's watermark after everything read so far.
    pub fn watermark(&self) -> Time {
        self.current
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
        if self.pending.is_none() {
            self.pending = self.cursor.next();
        }
        self.pending.as_ref().map(|e| e.arrival)
    }

    /// The partition's watermark at `now` on the engine's clock, with every entry that has
    /// arrived by `now` read. In event time that is the watermark of the events read. In
    /// processing time a record's time is the clock at its arrival, so once nothing more has
    /// arrived by `now`, no record at or before `now` can follow: the watermark is `now`, and a
    /// window closes when the clock passes its end — on a timer, with no input after it, as
    /// Flink's processing-time windows and Spark's DStreams do.
    pub fn watermark_at(&mut self, now: Time) -> Time {
        if self.domain == TimeDomain::Processing && self.next_arrival().is_none_or(|a| a > now) {
            self.observe(now.saturating_add(1));
        }
        self.current
    }

    /// The offset of the next entry.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Reads the next entry as a record (`None` past the end of a finite log). The caller
    /// checks the record's arrival against its clock.
    #[inline]
    pub fn next_record(&mut self) -> Option<Rec<E>> {
        let entry = self.pending.take().or_else(|| self.cursor.next())?;
        Some(self.record(entry))
    }

    /// An entry's time in the run's time domain.
    #[inline(always)]
    fn time(&self, entry: &Entry<E>) -> Time {
        match self.domain {
            TimeDomain::Event => entry.time,
            TimeDomain::Processing => entry.arrival,
        }
    }

    /// Takes a time into the partition's watermark.
    #[inline(always)]
    fn observe(&mut self, time: Time) {
        if self.wm.advance(time) {
            self.current = self.wm.current();
        }
    }

    /// An entry as a record, with the watermark just before it; the reader moves past it.
    #[inline(always)]
    fn record(&mut self, entry: Entry<E>) -> Rec<E> {
        let time = self.time(&entry);
        let rec = Rec { time, wm: self.current, data: entry.event };
        self.observe(time);
        self.offset += 1;
        rec
    }

    /// Reads the entries that have arrived by `now` (arrival ≤ `now`), stopping before offset
    /// `end` and after `max` of them, into `out`; returns how many it read. The source's fast
    /// path: one pass, no per-entry checks beyond these.
    #[inline]
    pub fn read_arrived(&mut self, now: Time, end: u64, max: usize, out: &mut Vec<Rec<E>>) -> usize {
        let n = (end.saturating_sub(self.offset)).min(max as u64) as usize;
        out.reserve(n);
        let mut read = 0;
        if n > 0
            && let Some(e) = self.pending.take()
        {
            if e.arrival > now {
                self.pending = Some(e);
                return 0;
            }
            out.push(self.record(e));
            read = 1;
        }
        while read < n {
            let Some(e) = self.cursor.next() else { break };
            if e.arrival > now {
                self.pending = Some(e);
                break;
            }
            out.push(self.record(e));
            read += 1;
        }
        read
    }

    /// Reads every entry up to (not including) offset `end`, in order.
    #[inline]
    pub fn read_until(&mut self, end: u64, mut f: impl FnMut(Rec<E>)) {
        if self.offset < end
            && let Some(e) = self.pending.take()
        {
            f(self.record(e));
        }
        while self.offset < end {
            let Some(e) = self.cursor.next() else { break };
            f(self.record(e));
        }
    }
}

/// A log held in memory: for tests, and for replaying a recorded input.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VecLog<E> {
    partitions: Vec<std::sync::Arc<[Entry<E>]>>,
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
        Ok(VecLog { partitions: partitions.into_iter().map(Into::into).collect() })
    }

    /// The entries of a partition.
    pub fn entries(&self, partition: u32) -> &[Entry<E>] {
        &self.partitions[partition as usize]
    }
}

/// A cursor over a [`VecLog`] partition.
pub struct VecCursor<E> {
    entries: std::sync::Arc<[Entry<E>]>,
    next: usize,
}

impl<E: Clone> Iterator for VecCursor<E> {
    type Item = Entry<E>;
    #[inline]
    fn next(&mut self) -> Option<Entry<E>> {
        let e = self.entries.get(self.next)?.clone();
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
        VecCursor { entries: self.partitions[partition as usize].clone(), next: index as usize }
    }

    fn arrived_before(&self, partition: u32, t: Time) -> u64 {
        self.partitions[partition as usize].partition_point(|e| e.arrival < t) as u64
    }

    fn entries<'a>(&'a self, partition: u32, from: u64, to: u64, _: &'a mut Vec<Entry<E>>) -> &'a [Entry<E>] {
        let all = &self.partitions[partition as usize];
        let to = (to as usize).min(all.len());
        &all[(from as usize).min(to)..to]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One partition: entry i arrives at 10·i, happened at 10·i − 3 for odd i (disorder).
    fn log(n: i64) -> VecLog<i64> {
        let entries =
            (0..n).map(|i| Entry { arrival: 10 * i, time: 10 * i - 15 * (i % 2), event: i }).collect();
        VecLog::new(vec![entries]).unwrap()
    }

    fn reader(log: &VecLog<i64>) -> PartitionReader<VecCursor<i64>> {
        PartitionReader::new(log, 0, WatermarkStrategy::bounded(5), TimeDomain::Event)
    }

    #[test]
    fn reads_what_has_arrived_by_now_inclusive_and_stops_at_the_end_offset_and_the_maximum() {
        let log = log(10);
        let mut r = reader(&log);
        let mut out = Vec::new();
        // arrival ≤ now: entry 2 arrives at 20 exactly
        assert_eq!(r.read_arrived(19, 10, 100, &mut out), 2);
        assert_eq!(r.read_arrived(19, 10, 100, &mut out), 0, "nothing more has arrived");
        assert_eq!(r.next_arrival(), Some(20));
        assert_eq!(r.read_arrived(20, 10, 100, &mut out), 1);
        // at most `max`, and never past `end`
        assert_eq!(r.read_arrived(1_000, 10, 2, &mut out), 2);
        assert_eq!(r.read_arrived(1_000, 6, 100, &mut out), 1);
        assert_eq!(r.offset(), 6);
        assert_eq!(out.iter().map(|r| r.data).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
        // past the log's end
        assert_eq!(r.read_arrived(1_000, 100, 100, &mut out), 4);
        assert_eq!((r.next_arrival(), r.next_record()), (None, None));
    }

    #[test]
    fn every_way_of_reading_gives_the_same_records_and_watermarks() {
        let log = log(50);
        let mut one = reader(&log);
        let by_one: Vec<Rec<i64>> = std::iter::from_fn(|| one.next_record()).collect();
        let mut bulk = reader(&log);
        let mut by_bulk = Vec::new();
        let mut now = 0;
        while bulk.offset() < 50 {
            bulk.read_arrived(now, 50, 3, &mut by_bulk);
            now += 7;
        }
        let mut until = reader(&log);
        let mut by_until = Vec::new();
        until.read_until(20, |r| by_until.push(r));
        assert_eq!(until.next_arrival(), Some(200), "peeking does not consume");
        until.read_until(50, |r| by_until.push(r));
        assert_eq!(by_one.len(), 50);
        assert_eq!(by_one, by_bulk);
        assert_eq!(by_one, by_until);
        // each record carries its partition's watermark before it: max time − bound − 1
        assert_eq!(by_one[0].wm, crate::time::MIN_WATERMARK);
        assert_eq!(by_one[3].wm, 20 - 5 - 1);
        assert_eq!(one.position(), until.position());
        assert_eq!(one.position(), bulk.position());
        // resumed at a position, the reader goes on as if never stopped
        let mut first = reader(&log);
        first.read_until(20, |_| {});
        let at = first.position();
        assert_eq!(at.offset, 20);
        let mut resumed = PartitionReader::resume(&log, 0, TimeDomain::Event, at);
        assert_eq!(resumed.next_record().as_ref(), by_one.get(20));
    }
}
