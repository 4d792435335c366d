//! # flowmark-dataflow — the continuous engine
//!
//! Record-at-a-time, pipelined dataflow in the style of Apache Flink:
//! - a job becomes stages of parallel tasks; task `i` of every stage runs on worker thread `i`,
//!   which steps its tasks in turn and parks when none has work ([`worker`]); stateless
//!   operators chain inside a task, `key_by` exchanges records between stages by key hash over
//!   bounded channels (a slow task backpressures its sources), in buffers sent when full or
//!   after the buffer timeout ([`operator::exchange`]);
//! - sources read the replayable log never before an event's arrival time and emit
//!   watermarks; a task with several inputs holds the minimum, and an ended input does not
//!   hold it back ([`task`]);
//! - keyed state per operator: windows fire when the watermark passes their end, allowed
//!   lateness updates fired windows, late records are counted ([`operator`]);
//! - exactly-once state through asynchronous barrier snapshots — aligned, with an input that
//!   delivered the barrier left unread in its bounded channel ([`inputs`]), or unaligned, the
//!   barrier overtaking the data in flight, which is stored with the checkpoint — durable
//!   checksummed checkpoints, and a two-phase-commit sink ([`checkpoint`]); recovery in a new process from
//!   the newest checkpoint that verifies; a failed task restarts the job from it in-process.
//!
//! [`run`] runs a job to the end of its input.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod checkpoint;
pub mod config;
pub mod env;
pub mod error;
pub mod inputs;
pub mod message;
pub mod operator;
pub mod output;
pub mod state;
pub mod stream;
pub mod task;
pub mod worker;

pub use config::{
    CheckpointMode, Config, DEFAULT_BUFFER_TIMEOUT, Delivery, Faults, StorageFault, StorageFaultKind,
    Straggler, TaskFault,
};
pub use error::EngineError;
pub use flowmark_core::Metrics;
pub use stream::{DKeyed, DStream};

use checkpoint::coordinator::{self, Outcome, Plan};
use checkpoint::storage;
use crossbeam_channel::unbounded;
use env::{Env, FaultState};
use flowmark_core::{Job, Key, Log, LogClock, Runtime};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// The dataflow engine, as a [`Runtime`].
pub struct Dataflow;

impl Runtime for Dataflow {
    type Stream<T: flowmark_core::Data> = DStream<T>;
    type Keyed<K: Key, V: flowmark_core::Data> = DKeyed<K, V>;
}

/// How a run went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// The checkpoint the run resumed from when it started (0 for a fresh start).
    pub resumed_from: u64,
    /// In-process restarts after task failures.
    pub restarts: u32,
}

/// Runs `job` over `log` until the end of its input, resuming from the newest valid checkpoint
/// in the configured directory if there is one. Results are in the output directory (see
/// [`output::read_committed`]); `metrics` is updated as it runs.
pub fn run<J: Job, L: Log<Event = J::Event>>(
    job: &J,
    log: &L,
    config: &Config,
    metrics: Arc<Metrics>,
) -> Result<Summary, EngineError> {
    config.validate()?;
    for dir in [
        config.checkpoint_dir.clone(),
        config.output_dir.join("pending"),
        config.output_dir.join("committed"),
    ] {
        std::fs::create_dir_all(&dir).map_err(EngineError::io("create", &dir))?;
    }
    let faults = Arc::new(FaultState::new(config.faults.clone()));
    let mut restarts = 0;
    let mut resumed_from = None;
    loop {
        let restored = storage::latest_valid(&config.checkpoint_dir, |id, e| {
            eprintln!("flowmark-dataflow: passing over checkpoint {id}: {e}");
        })?;
        if let Some(r) = &restored {
            let m = &r.metadata;
            if m.parallelism != config.parallelism || m.job != job.name() {
                return Err(EngineError::Config(format!(
                    "the checkpoint directory {} holds checkpoint {} of job {} at parallelism {}, \
                     not of job {} at parallelism {}",
                    config.checkpoint_dir.display(),
                    m.id,
                    m.job,
                    m.parallelism,
                    job.name(),
                    config.parallelism
                )));
            }
        }
        let at = restored.as_ref().map_or(0, |r| r.metadata.id);
        resumed_from.get_or_insert(at);
        storage::recover_outputs(&config.output_dir, at)?;
        storage::discard_after(&config.checkpoint_dir, at)?;
        if restored.as_ref().is_some_and(|r| r.metadata.last) {
            // the job had finished: its results are all committed
            return Ok(Summary { resumed_from: at, restarts });
        }
        match attempt(job, log, config, &metrics, &faults, restored)? {
            None => return Ok(Summary { resumed_from: resumed_from.unwrap_or(0), restarts }),
            Some(failure) => {
                restarts += 1;
                metrics.failure(LogClock::new(config.origin).now(), true);
                eprintln!("flowmark-dataflow: {failure}; restarting from the latest checkpoint");
                if restarts > config.max_restarts {
                    return Err(EngineError::TooManyFailures { attempts: restarts, last: failure });
                }
            }
        }
    }
}

/// One attempt: builds and starts the job, supervises it. `Ok(None)` when it finished,
/// `Ok(Some(reason))` when a task failed (and everything has been stopped).
fn attempt<J: Job, L: Log<Event = J::Event>>(
    job: &J,
    log: &L,
    config: &Config,
    metrics: &Arc<Metrics>,
    faults: &Arc<FaultState>,
    restored: Option<storage::Restored>,
) -> Result<Option<String>, EngineError> {
    let (writes, write_queue) = unbounded();
    let (acks_tx, acks) = unbounded();
    let (status_tx, status) = unbounded();
    let (at, positions, restore) = match restored {
        Some(r) => (
            r.metadata.id,
            r.metadata.sources.into_iter().collect(),
            r.tasks.into_iter().map(|(k, v)| (k, Arc::new(v))).collect(),
        ),
        None => (0, HashMap::new(), HashMap::new()),
    };
    // late counts start from those of the checkpoint restored, added back task by task
    metrics.late_events.store(0, Ordering::Relaxed);
    metrics.late_windows.store(0, Ordering::Relaxed);
    let env = Arc::new(Env {
        config: config.clone(),
        clock: LogClock::new(config.origin),
        metrics: metrics.clone(),
        cancel: AtomicBool::new(false),
        trigger: AtomicU64::new(at << 1),
        sources_done: AtomicUsize::new(0),
        writer: writes,
        restore,
        positions,
        restored_from: at,
        faults: faults.clone(),
    });
    let b = stream::Builder::new(env.clone());
    job.build::<Dataflow>(DStream::source(&b, log.clone(), job.watermarks()));
    let started = b.start(&status_tx);
    let (tasks, sources) = started
        .inspect_err(|_| env.cancel.store(true, Ordering::Release))
        .map_err(EngineError::io("start", "worker threads"))?;
    drop(b);

    let writer = {
        let (config, faults) = (config.clone(), faults.clone());
        std::thread::Builder::new()
            .name("checkpoint-writer".into())
            .spawn(move || coordinator::run_writer(config, faults, write_queue, acks_tx))
            .map_err(EngineError::io("start", "checkpoint writer thread"))?
    };
    let coordinator = {
        let env = env.clone();
        let plan = Plan { job: job.name().to_string(), tasks, sources };
        std::thread::Builder::new()
            .name("checkpoint-coordinator".into())
            .spawn(move || {
                let outcome = coordinator::run_coordinator(env.clone(), acks, plan);
                if outcome.is_err() {
                    // a checkpoint cannot be written: the tasks stop, and the attempt fails
                    env.cancel.store(true, Ordering::Release);
                }
                outcome
            })
            .map_err(EngineError::io("start", "checkpoint coordinator thread"))?
    };

    let mut failure = None;
    for _ in 0..tasks {
        let Ok((id, result)) = status.recv() else { break };
        if let Err(message) = result {
            env.cancel.store(true, Ordering::Release);
            failure.get_or_insert(format!("task {}.{} failed: {message}", id.stage, id.index));
        }
    }
    if failure.is_some() {
        env.cancel.store(true, Ordering::Release);
    }
    let outcome = coordinator.join().unwrap_or(Ok(Outcome::Cancelled));
    env.cancel.store(true, Ordering::Release);
    // the writer stops once every sender of snapshots is gone: the tasks' (already) and env's
    drop(env);
    let _ = writer.join();
    match (failure, outcome) {
        (Some(f), _) => Ok(Some(f)),
        (None, Ok(Outcome::Finished)) => Ok(None),
        (None, Ok(Outcome::Cancelled)) => Ok(Some("the checkpoint coordinator stopped".into())),
        (None, Err(e)) => Err(e),
    }
}
