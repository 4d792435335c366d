//! # flowmark-microbatch — the micro-batch engine
//!
//! Discretized streams in the style of Spark Streaming and Structured Streaming:
//! - a driver cuts the input into batches on a trigger — every interval, or at once when the
//!   previous batch overran it — each reading, per partition, the offsets that have arrived by
//!   the cut; with back-pressure, a PID estimator caps how much a batch reads ([`rate`]);
//! - a batch runs as stages of parallel tasks ([`executor`]): narrow operators fused into one
//!   stage, map-side pre-aggregation, a hash shuffle into the reduce partitions, the stateful
//!   stage ([`plan`], [`ops`]);
//! - time: event time with a watermark computed from earlier batches, or processing time
//!   (windows over arrival);
//! - exactly-once: the offset log is written before a batch runs, its results and state delta
//!   after, then the commit log; state is versioned per batch (a delta per batch, a snapshot
//!   every few); results are written per batch, so a re-run replaces them ([`logs`]);
//! - recovery in a new process rebuilds state from the newest valid snapshot and deltas
//!   (passing over corrupt files, re-running batches from their logged offsets where needed),
//!   re-runs an uncommitted batch with exactly its logged offsets, and goes on; a failed task
//!   is recomputed from its inputs (lineage) without restarting the batch or the process.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod executor;
pub mod logs;
pub mod ops;
pub mod plan;
pub mod rate;

pub use config::{Config, Faults, StorageFault, StorageFaultKind, Straggler, TaskFault};
pub use error::EngineError;
pub use plan::{MKeyed, MStream};

use executor::Executor;
use flowmark_core::durable::Disk;
use flowmark_core::time::MAX_WATERMARK;
use flowmark_core::{
    Job, Key, Log, LogClock, Metrics, PartitionReader, ReaderPosition, Runtime, Time, TimeDomain,
};
use logs::{CommitEntry, Logs, OffsetEntry};
use ops::Stateful;
use plan::{Batch, Builder, SourceSlice};
use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// The micro-batch engine, as a [`Runtime`].
pub struct Microbatch;

impl Runtime for Microbatch {
    type Stream<T: flowmark_core::Data> = MStream<T>;
    type Keyed<K: Key, V: flowmark_core::Data> = MKeyed<K, V>;
}

/// How a run went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The last committed batch when the run started (0 for a fresh start).
    pub resumed_after: u64,
    /// The state version recovery rebuilt (below `resumed_after` when newer state files were
    /// unusable and batches were re-run from the offset log).
    pub state_version: u64,
    /// Batches run.
    pub batches: u64,
}

/// Runs `job` over `log` to the end of its input, resuming after the last committed batch if the
/// checkpoint directory has one. Results are read with [`logs::read_committed`].
pub fn run<J: Job, L: Log<Event = J::Event>>(
    job: &J,
    log: &L,
    config: &Config,
    metrics: Arc<Metrics>,
) -> Result<Summary, EngineError> {
    config.validate()?;
    let logs = Logs::new(&config.checkpoint_dir, &config.output_dir)?
        .on(Disk::new(config.faults.slow_write, config.faults.storage.clone()));
    let b = Builder::new(config.parallelism, config.domain);
    job.build::<Microbatch>(MStream::source(&b, log.clone()));
    let stateful: Vec<Arc<dyn Stateful>> = b.stateful.borrow().clone();
    let sinks = std::mem::take(&mut *b.sinks.borrow_mut());
    let recovered = recover(job, log, config, &logs, &stateful)?;
    metrics.late_events.store(recovered.late.0, Ordering::Relaxed);
    metrics.late_windows.store(recovered.late.1, Ordering::Relaxed);
    let clock = LogClock::new(config.origin);
    let executor =
        Executor::new(config.parallelism, config.speculation, config.faults.clone(), clock, metrics.clone());
    let mut driver = Driver {
        log,
        config,
        logs,
        stateful,
        sinks,
        executor,
        metrics,
        clock,
        ends: (0..log.partitions()).map(|p| (p, log.arrived_before(p, config.end))).collect(),
        positions: recovered.positions,
    };
    let batches = driver.run_from(recovered.version)?;
    Ok(Summary { resumed_after: recovered.resumed_after, state_version: recovered.version, batches })
}

/// Where recovery left a run.
struct Recovered {
    /// The last committed batch.
    resumed_after: u64,
    /// The state version every partition was restored to.
    version: u64,
    /// Where each partition stands after that version.
    positions: BTreeMap<u32, ReaderPosition>,
    /// Late records dropped by the batches up to that version: (events, pairs).
    late: (u64, u64),
}

/// Recovery: the last committed batch, the newest state version every partition reaches
/// (restored), and where each source partition stands after it.
fn recover<J: Job, L: Log<Event = J::Event>>(
    job: &J,
    log: &L,
    config: &Config,
    logs: &Logs,
    stateful: &[Arc<dyn Stateful>],
) -> Result<Recovered, EngineError> {
    let warn = |e: &flowmark_core::durable::DurableError| eprintln!("flowmark-microbatch: passing over {e}");
    let committed = logs.last_commit(warn)?;
    let resumed_after = committed.as_ref().map_or(0, |c| c.batch);
    let mut version = resumed_after;
    for op in stateful {
        for part in 0..op.partitions() {
            version = version.min(logs.restorable(op.id(), part, resumed_after, warn)?.version);
        }
    }
    for op in stateful {
        for part in 0..op.partitions() {
            logs.restore(&**op, part, version)?;
        }
    }
    // where each partition stands after `version`: its end in the commit log, or the start
    let mut positions: BTreeMap<u32, ReaderPosition> = (0..log.partitions())
        .map(|p| (p, PartitionReader::new(log, p, job.watermarks(), config.domain).position()))
        .collect();
    if version > 0 {
        let entry =
            logs.offsets(version + 1)?.map(|e| e.ranges.iter().map(|r| (r.0, r.1)).collect::<Vec<_>>());
        match entry {
            // the next batch's logged start is exactly where `version` ended
            Some(starts) => positions.extend(starts),
            None => positions.extend(committed.iter().flat_map(|c| c.ends.iter().copied())),
        }
    }
    // late records counted from those of the batches `version` covers: the batches re-run
    // after it count theirs again
    let late = if version > 0 { logs.commit(version).map_or((0, 0), |c| c.late) } else { (0, 0) };
    Ok(Recovered { resumed_after, version, positions, late })
}

/// The driver of a run: cuts batches, runs them, and commits them.
struct Driver<'a, L: Log> {
    log: &'a L,
    config: &'a Config,
    logs: Logs,
    stateful: Vec<Arc<dyn Stateful>>,
    sinks: Vec<(&'static str, plan::SinkFn)>,
    executor: Executor,
    metrics: Arc<Metrics>,
    clock: LogClock,
    /// Per partition, the offset its input ends at.
    ends: BTreeMap<u32, u64>,
    /// Per partition, where the next batch starts.
    positions: BTreeMap<u32, ReaderPosition>,
}

impl<L: Log> Driver<'_, L> {
    /// Runs the batches after `version` until the last one; returns how many ran.
    fn run_from(&mut self, version: u64) -> Result<u64, EngineError> {
        let (config, clock) = (self.config, self.clock);
        let mut pid = rate::PidRateEstimator::default();
        let mut max_rate: Option<f64> = if config.backpressure { config.initial_rate } else { None };
        self.metrics.set_rate_limit(max_rate);
        let mut next_at = if version == 0 { config.interval } else { clock.now() };
        let mut batch_id = version + 1;
        let mut batches = 0;
        loop {
            let (entry, scheduled) = self.next_entry(batch_id, next_at, max_rate)?;
            let started = clock.now();
            self.metrics.mark_input(started);
            self.report_unread(&entry);
            let state_bytes = self.run_batch(&entry)?;
            let finished = clock.now();
            let records: u64 =
                entry.ranges.iter().map(|(_, start, end)| end.saturating_sub(start.offset)).sum();
            self.record(&entry, records, started, finished, state_bytes);
            batches += 1;
            if entry.last {
                return Ok(batches);
            }
            if config.backpressure {
                max_rate =
                    pid.update(finished, records, finished - started, started - scheduled, config.interval);
                self.metrics.set_rate_limit(max_rate);
            }
            // the next batch: at the next tick, or at once (cut now) if this one overran it
            next_at = next_tick(scheduled, config.interval);
            if !config.cut_at_ticks && finished > next_at {
                next_at = finished;
            }
            batch_id += 1;
        }
    }

    /// Batch `id`'s offsets and when it was scheduled: as logged when it is re-run after a
    /// crash (exactly its logged offsets, at once), else cut at its tick (`next_at`) and
    /// logged before it runs.
    fn next_entry(
        &self,
        id: u64,
        next_at: Time,
        max_rate: Option<f64>,
    ) -> Result<(OffsetEntry, Time), EngineError> {
        let (config, clock) = (self.config, self.clock);
        if let Some(logged) = self.logs.offsets(id)? {
            return Ok((logged, clock.now()));
        }
        // nothing arrives after the end of the input: no batch waits past it
        let wait = next_at.min(config.end) - clock.now();
        if wait > 0 {
            std::thread::sleep(std::time::Duration::from_nanos(wait as u64));
        }
        let at = if config.cut_at_ticks { next_at } else { clock.now() };
        let quota = max_rate.map(|r| r * config.interval as f64 / 1e9);
        let entry = cut(id, at, self.log, config.domain, &self.positions, &self.ends, quota);
        self.logs.write_offsets(&entry)?;
        Ok((entry, next_at))
    }

    /// Tells the metrics the arrival of the next unread event of each partition once `entry`
    /// is read: what the backlog is measured from.
    fn report_unread(&self, entry: &OffsetEntry) {
        for (&p, &end_of_input) in &self.ends {
            let next = entry.ranges.iter().find(|r| r.0 == p).map_or(self.positions[&p].offset, |r| r.2);
            let arrival = if next < end_of_input {
                self.log.cursor(p, next).next().map_or(Time::MAX, |e| e.arrival)
            } else {
                Time::MAX
            };
            self.metrics.next_unread(p, arrival);
        }
    }

    /// Runs a batch's stages, writes its results and state, and commits it; returns the bytes
    /// of state written.
    fn run_batch(&mut self, entry: &OffsetEntry) -> Result<u64, EngineError> {
        let (config, clock, batch_id) = (self.config, self.clock, entry.batch);
        let n = config.parallelism;
        let sources: Vec<Arc<SourceSlice>> = (0..n)
            .map(|i| {
                let ranges = entry.ranges.iter().filter(|r| r.0 as usize % n == i).copied().collect();
                Arc::new(SourceSlice { ranges, cut: entry.cut, ends: Mutex::new(Vec::new()) })
            })
            .collect();
        let now = || clock.now();
        let logs = &self.logs;
        let reload = |op: &dyn Stateful, part: usize| logs.restore(op, part, batch_id - 1);
        let batch = Batch::new(batch_id, entry.wm, sources, &self.executor, &self.metrics, &now, &reload);
        self.executor.new_batch();
        for (name, sink) in &self.sinks {
            let lines = sink(&batch)?;
            logs.write_output(name, batch_id, &lines)?;
        }
        let snapshot = batch_id % config.snapshot_every == 0;
        let mut state_bytes = 0;
        for op in &self.stateful {
            for part in 0..op.partitions() {
                state_bytes += logs.write_state(&**op, part, batch_id, snapshot)?;
                if snapshot && batch_id > config.snapshot_every {
                    logs.prune_state(op.id(), part, batch_id - config.snapshot_every)?;
                }
            }
        }
        for s in &batch.sources {
            self.positions.extend(s.ends.lock().unwrap_or_else(|e| e.into_inner()).iter().copied());
        }
        logs.write_commit(&CommitEntry {
            batch: batch_id,
            ends: self.positions.iter().map(|(p, r)| (*p, *r)).collect(),
            late: (
                self.metrics.late_events.load(Ordering::Relaxed),
                self.metrics.late_windows.load(Ordering::Relaxed),
            ),
        })?;
        Ok(state_bytes)
    }

    /// The batch's numbers, into the metrics.
    fn record(&self, entry: &OffsetEntry, records: u64, started: Time, finished: Time, state_bytes: u64) {
        let m = &self.metrics;
        Metrics::add(&m.events_in, records);
        m.checkpoints_completed.fetch_add(1, Ordering::Relaxed);
        m.last_checkpoint_bytes.store(state_bytes, Ordering::Relaxed);
        m.commit(flowmark_core::Commit { id: entry.batch, started, committed: finished });
        m.watermark.store(entry.wm, Ordering::Relaxed);
    }
}

/// The first tick after `t`. Ticks are the multiples of the interval, as DStreams' batch times
/// are: a batch that overran, or the first after a restart (cut at once), does not shift every
/// later batch off the windows' ends — in processing time a window closes with the batch cut at
/// its end.
fn next_tick(t: Time, interval: Time) -> Time {
    (t.div_euclid(interval) + 1) * interval
}

/// Cuts batch `id` at log time `cut`: per partition, from where it stands to what has arrived
/// (at most `quota` records in all, with back-pressure); the watermark is the minimum over the
/// partitions that still have input, and `+∞` — the last batch — when none has. A partition's
/// watermark in event time is the one of the batches before; in processing time, when the
/// batch reads everything that arrived before the cut, it is the cut itself (less one): a
/// window closes with the batch at whose cut it ends, as a DStream's window does.
fn cut<L: Log>(
    id: u64,
    cut: Time,
    log: &L,
    domain: TimeDomain,
    positions: &BTreeMap<u32, ReaderPosition>,
    ends: &BTreeMap<u32, u64>,
    quota: Option<f64>,
) -> OffsetEntry {
    let per_partition = quota.map(|q| ((q / positions.len().max(1) as f64) as u64).max(1));
    let mut wm = MAX_WATERMARK;
    let mut ranges = Vec::new();
    for (&p, start) in positions {
        let end_of_input = ends[&p];
        if start.offset >= end_of_input {
            continue;
        }
        let arrived = log.arrived_before(p, cut).min(end_of_input);
        let mut end = arrived;
        if let Some(q) = per_partition {
            end = end.min(start.offset + q);
        }
        wm = wm.min(match domain {
            TimeDomain::Processing if end == arrived => cut - 1,
            _ => start.wm.current(),
        });
        ranges.push((p, *start, end.max(start.offset)));
    }
    OffsetEntry { batch: id, cut, wm, last: wm == MAX_WATERMARK, ranges }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_stay_on_the_ticks_after_one_off_them() {
        // on a tick: the next one
        assert_eq!(next_tick(1_000, 100), 1_100);
        // off it (an overrun, a restart): back on the next tick, not an interval later
        assert_eq!(next_tick(1_001, 100), 1_100);
        assert_eq!(next_tick(1_099, 100), 1_100);
        assert_eq!(next_tick(0, 100), 100);
    }
}
