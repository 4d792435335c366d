//! What every task of one attempt of a job shares.

use crate::checkpoint::{TaskId, TaskState, WriteRequest};
use crate::config::{Config, Faults};
use crossbeam_channel::Sender;
use flowmark_core::Metrics;
use flowmark_core::durable::Disk;
use flowmark_core::{LogClock, ReaderPosition, Time};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// Shared by the tasks, the checkpoint coordinator and the supervisor of one attempt.
pub struct Env {
    /// The run's settings.
    pub config: Config,
    /// Log time.
    pub clock: LogClock,
    /// Counters and histograms the harness reads.
    pub metrics: Arc<Metrics>,
    /// Set when the attempt is being torn down.
    pub cancel: AtomicBool,
    /// The latest checkpoint the coordinator asked the sources for: `id << 1 | last`.
    pub trigger: AtomicU64,
    /// Source tasks that have read all their input.
    pub sources_done: AtomicUsize,
    /// Where tasks send their snapshots to be written.
    pub writer: Sender<WriteRequest>,
    /// Operator state to restore, per task.
    pub restore: HashMap<TaskId, Arc<TaskState>>,
    /// Source positions to resume from, per partition.
    pub positions: HashMap<u32, ReaderPosition>,
    /// The checkpoint restored from (0 for none).
    pub restored_from: u64,
    /// Faults injected once per process, shared across attempts.
    pub faults: Arc<FaultState>,
}

impl Env {
    /// Whether the attempt is being torn down.
    #[inline]
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The pending checkpoint request.
    pub fn trigger(&self) -> (u64, bool) {
        let t = self.trigger.load(Ordering::Acquire);
        (t >> 1, t & 1 == 1)
    }
}

/// Injected faults, and whether each has happened.
#[derive(Debug, Default)]
pub struct FaultState {
    /// The faults.
    pub faults: Faults,
    /// Where checkpoints and results are written, with the storage faults injected.
    pub disk: Disk,
    failed: AtomicBool,
}

impl FaultState {
    /// The faults of a run.
    pub fn new(faults: Faults) -> Self {
        let disk = Disk::new(faults.slow_checkpoint_write, faults.storage.clone());
        FaultState { faults, disk, failed: AtomicBool::new(false) }
    }

    /// Called by each task for each message, with the logical stages it hosts and its index:
    /// panics if this task is the one to fail now, and sleeps if it is straggling.
    #[inline]
    pub fn check(&self, stages: &std::ops::Range<usize>, index: usize, now: impl Fn() -> Time) {
        if let Some(f) = self.faults.task_failure
            && stages.contains(&f.stage)
            && f.task == index
            && !self.failed.load(Ordering::Relaxed)
            && now() >= f.at
            && !self.failed.swap(true, Ordering::AcqRel)
        {
            panic!("injected failure of task {}.{index} at log time {}", f.stage, f.at);
        }
        if let Some(s) = self.faults.straggler
            && stages.contains(&s.stage)
            && s.task == index
        {
            let t = now();
            if t >= s.from && t < s.until {
                std::thread::sleep(std::time::Duration::from_nanos(s.delay.max(0) as u64));
            }
        }
    }
}
