//! What the engine measures about itself while it runs, for the harness to read every interval.

use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Counters (monotonic, read as differences per interval) and gauges. Result latencies are
/// not measured here: the harness measures them from the results' emit times against the
/// reference's instants.
#[derive(Debug)]
pub struct Metrics {
    /// Input events read by the sources.
    pub events_in: AtomicU64,
    /// Results emitted by the sinks.
    pub results_out: AtomicU64,
    /// Records dropped as late (the late side output). An engine restores it with its
    /// state, so that after a recovery it counts each late record once, as the committed
    /// output saw it: it is not monotonic across a restart inside one process.
    pub late_events: AtomicU64,
    /// (record, window) pairs dropped as late.
    pub late_windows: AtomicU64,
    /// Per source partition, the arrival of its next unread event: what the backlog is
    /// measured from (see [`Metrics::backlog`]).
    pub next_unread: Mutex<Vec<Time>>,
    /// When the engine last noticed a failure inside it (`i64::MIN` if never).
    pub failure_noticed: AtomicI64,
    /// When the recovery from that failure last started over — the engine noticed it, or its
    /// restart failed and it restarted again ([`Metrics::failed_again`]): only input read by
    /// what started after this ends the restore (`i64::MIN` if never).
    pub recovery_started: AtomicI64,
    /// When this process first read input (`i64::MIN` until then): the end of a restore.
    pub input_started: AtomicI64,
    /// Checkpoints (dataflow) or batches (micro-batch) committed since the last
    /// [`Metrics::take_commits`].
    pub commits: Mutex<Vec<Commit>>,
    /// The sources' lowest watermark.
    pub watermark: AtomicI64,
    /// Checkpoints started.
    pub checkpoints_started: AtomicU64,
    /// Checkpoints completed.
    pub checkpoints_completed: AtomicU64,
    /// Duration of the last completed checkpoint, trigger to completion, in nanoseconds.
    pub last_checkpoint_duration: AtomicI64,
    /// Bytes written by the last completed checkpoint.
    pub last_checkpoint_bytes: AtomicU64,
    /// Restarts after task failures (dataflow), or task recomputations (micro-batch).
    pub restarts: AtomicU64,
    /// Micro-batch: speculative copies launched for straggling tasks.
    pub speculated: AtomicU64,
    /// Micro-batch: the most events per second the rate controller lets the next batch read
    /// (`f64` bits; 0 while it sets no bound).
    pub rate_limit: AtomicU64,
    /// Every task's load, in the order the tasks first reported.
    pub tasks: Mutex<Vec<Arc<TaskLoad>>>,
    /// CPU time the threads that run the job's tasks have spent, nanoseconds, as they counted
    /// it ([`crate::cpu`]): the process's CPU without its sampler, coordinator or driver.
    pub task_cpu: AtomicI64,
}

/// What one task has done: events (or records) it took in and time it spent blocked on a
/// full output channel. Cumulative over the process, restarts inside it included.
#[derive(Debug, Default)]
pub struct TaskLoad {
    /// The stage it belongs to.
    pub stage: String,
    /// Its index in the stage.
    pub index: u32,
    /// Events or records it took in.
    pub events: AtomicU64,
    /// Nanoseconds it waited for room in a full output channel (back-pressure).
    pub blocked: AtomicI64,
}

impl TaskLoad {
    /// Counts `n` events taken in.
    #[inline]
    pub fn took(&self, n: usize) {
        self.events.fetch_add(n as u64, Ordering::Relaxed);
    }

    /// Counts `nanos` spent blocked on a full output channel.
    pub fn blocked_for(&self, nanos: Time) {
        self.blocked.fetch_add(nanos, Ordering::Relaxed);
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            events_in: AtomicU64::new(0),
            results_out: AtomicU64::new(0),
            late_events: AtomicU64::new(0),
            late_windows: AtomicU64::new(0),
            next_unread: Mutex::new(Vec::new()),
            input_started: AtomicI64::new(i64::MIN),
            failure_noticed: AtomicI64::new(i64::MIN),
            recovery_started: AtomicI64::new(i64::MIN),
            commits: Mutex::new(Vec::new()),
            watermark: AtomicI64::new(i64::MIN),
            checkpoints_started: AtomicU64::new(0),
            checkpoints_completed: AtomicU64::new(0),
            last_checkpoint_duration: AtomicI64::new(0),
            last_checkpoint_bytes: AtomicU64::new(0),
            restarts: AtomicU64::new(0),
            speculated: AtomicU64::new(0),
            rate_limit: AtomicU64::new(0),
            tasks: Mutex::new(Vec::new()),
            task_cpu: AtomicI64::new(0),
        }
    }
}

/// A checkpoint (dataflow) or batch (micro-batch) that committed: its results became visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Commit {
    /// The checkpoint or batch id (the number in its output files' names).
    pub id: u64,
    /// When it started: the checkpoint's trigger, or the batch's start.
    pub started: Time,
    /// When it committed.
    pub committed: Time,
}

impl Metrics {
    /// Notes where a source partition stands: the arrival of its next unread event
    /// (`Time::MAX` once it has read all its input).
    pub fn next_unread(&self, partition: u32, arrival: Time) {
        let mut v = self.next_unread.lock().unwrap_or_else(|e| e.into_inner());
        let p = partition as usize;
        if v.len() <= p {
            v.resize(p + 1, Time::MIN);
        }
        v[p] = arrival;
    }

    /// The backlog at `now`: how long the oldest unread event has been waiting since its
    /// arrival (zero when every source is caught up or before any has reported).
    pub fn backlog(&self, now: Time) -> Time {
        let v = self.next_unread.lock().unwrap_or_else(|e| e.into_inner());
        v.iter().filter(|&&a| a != Time::MIN).map(|&a| (now - a).max(0)).max().unwrap_or(0)
    }

    /// Notes that input is being read at `now` (only the first call counts).
    pub fn mark_input(&self, now: Time) {
        if self.input_started.load(Ordering::Relaxed) == i64::MIN {
            let _ = self.input_started.compare_exchange(i64::MIN, now, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// Notes that the engine noticed a failure at `now` and is recovering from it: a restart
    /// (dataflow) or a task recomputation (micro-batch). When `input_stops`, the recovery stops
    /// the input, and the next [`Metrics::mark_input`] marks the end of its restore.
    pub fn failure(&self, now: Time, input_stops: bool) {
        self.restarts.fetch_add(1, Ordering::Relaxed);
        self.failure_noticed.store(now, Ordering::Relaxed);
        self.recovery_started.store(now, Ordering::Relaxed);
        if input_stops {
            self.input_started.store(i64::MIN, Ordering::Relaxed);
        }
    }

    /// Notes that the recovery from the failure last noticed started over at `now` (a
    /// restart that itself failed — say onto a machine not yet known to be gone): the same
    /// failure, whose restore now ends with the next input read by what started after `now`.
    pub fn failed_again(&self, now: Time) {
        self.recovery_started.store(now, Ordering::Relaxed);
        self.input_started.store(i64::MIN, Ordering::Relaxed);
    }

    /// Notes a commit.
    pub fn commit(&self, commit: Commit) {
        self.commits.lock().unwrap_or_else(|e| e.into_inner()).push(commit);
    }

    /// The commits since the last call.
    pub fn take_commits(&self) -> Vec<Commit> {
        std::mem::take(&mut *self.commits.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// The load counters of task `index` of `stage`: the same ones each time it is asked for
    /// (a task that restarts inside the process goes on counting where it was).
    pub fn task(&self, stage: &str, index: u32) -> Arc<TaskLoad> {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(t) = tasks.iter().find(|t| t.stage == stage && t.index == index) {
            return t.clone();
        }
        let t = Arc::new(TaskLoad { stage: stage.to_string(), index, ..Default::default() });
        tasks.push(t.clone());
        t
    }

    /// Sets the rate controller's bound (events per second), or clears it.
    pub fn set_rate_limit(&self, rate: Option<f64>) {
        self.rate_limit.store(rate.map_or(0, f64::to_bits), Ordering::Relaxed);
    }

    /// The rate controller's bound, if it sets one.
    pub fn rate_limit(&self) -> Option<f64> {
        Some(f64::from_bits(self.rate_limit.load(Ordering::Relaxed))).filter(|r| *r > 0.0)
    }

    /// Adds to a counter.
    #[inline]
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Counts late records dropped: `events` wholly late, `windows` (record, window) pairs.
    pub fn late(&self, events: u64, windows: u64) {
        if windows > 0 {
            self.late_events.fetch_add(events, Ordering::Relaxed);
            self.late_windows.fetch_add(windows, Ordering::Relaxed);
        }
    }
}
