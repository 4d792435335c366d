//! The checkpoint coordinator, and the writer that makes snapshots durable off the tasks'
//! processing path.

use super::storage::{self, checkpoint_dir, encode, frame, output_name, task_file};
use super::{Ack, Metadata, TaskFile, WriteRequest};
use crate::config::Config;
use crate::env::{Env, FaultState};
use crate::error::EngineError;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use flowmark_core::durable::Disk;
use flowmark_core::time::MILLISECOND;
use flowmark_core::{ReaderPosition, Time};
use std::fs;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Writes the snapshots tasks hand over, then acknowledges them to the coordinator. Returns
/// when every sender of snapshots is gone (it holds none itself).
pub fn run_writer(
    config: Config,
    faults: Arc<FaultState>,
    requests: Receiver<WriteRequest>,
    acks: Sender<Result<Ack, EngineError>>,
) {
    while let Ok(req) = requests.recv() {
        let result = write(&config, &faults.disk, req);
        if acks.send(result).is_err() {
            return;
        }
    }
}

fn write(config: &Config, disk: &Disk, req: WriteRequest) -> Result<Ack, EngineError> {
    let dir = checkpoint_dir(&config.checkpoint_dir, req.checkpoint);
    fs::create_dir_all(&dir).map_err(EngineError::io("create", &dir))?;
    let payload = encode(&req.state.encode());
    let path = task_file(&dir, req.task);
    disk.write(&path, &frame(&payload))?;
    let pending = config.output_dir.join("pending");
    let mut outputs = Vec::new();
    for (sink, lines) in req.outputs {
        let lines = lines.encode();
        if lines.is_empty() {
            continue;
        }
        let name = output_name(&sink, req.checkpoint, req.task);
        disk.write(&pending.join(&name), &lines)?;
        outputs.push(name);
    }
    Ok(Ack {
        checkpoint: req.checkpoint,
        file: storage::task_entry(req.task, &payload),
        outputs,
        sources: req.sources,
    })
}

/// How the coordinator ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The checkpoint at the end of the input completed: the job is done.
    Finished,
    /// The attempt was cancelled.
    Cancelled,
}

struct InFlight {
    id: u64,
    last: bool,
    started: Time,
    files: Vec<TaskFile>,
    sources: Vec<(u32, ReaderPosition)>,
}

/// What the coordinator needs to know about the job.
pub struct Plan {
    /// The job's name, recorded in the metadata.
    pub job: String,
    /// Tasks that acknowledge each checkpoint.
    pub tasks: usize,
    /// Source tasks.
    pub sources: usize,
}

/// How often a coordinator with nothing due looks at whether the attempt was cancelled and
/// whether every source has read its input (which the last checkpoint follows).
const POLL: Time = 10 * MILLISECOND;

/// How long the coordinator waits for an acknowledgement before it looks again: until the next
/// checkpoint is due when none is in flight, but no longer than [`POLL`]. It used to look every
/// 2 ms whatever was due: 500 wake-ups a second, most of the engine's context switches, each
/// taking a core from a worker for a moment, and checkpoints up to 2 ms late.
fn wait(in_flight: bool, next_at: Time, now: Time, interval: Option<Time>) -> Duration {
    let wait = match (in_flight, interval) {
        (false, Some(_)) => next_at.saturating_sub(now).clamp(0, POLL),
        _ => POLL,
    };
    Duration::from_nanos(wait as u64)
}

/// Triggers checkpoints at the configured interval (one at a time), completes each when every
/// task has acknowledged it, commits its results, and triggers the last checkpoint when the
/// sources have read all their input.
pub fn run_coordinator(
    env: Arc<Env>,
    acks: Receiver<Result<Ack, EngineError>>,
    plan: Plan,
) -> Result<Outcome, EngineError> {
    let cfg = &env.config;
    let mut next_id = env.restored_from;
    let mut next_at = env.clock.now() + cfg.checkpoint_interval.unwrap_or(0);
    let mut inflight: Option<InFlight> = None;
    loop {
        if env.cancelled() {
            return Ok(Outcome::Cancelled);
        }
        let now = env.clock.now();
        if inflight.is_none() {
            let last = env.sources_done.load(Ordering::Acquire) >= plan.sources;
            if last || (cfg.checkpoint_interval.is_some() && now >= next_at) {
                next_id += 1;
                env.trigger.store(next_id << 1 | u64::from(last), Ordering::Release);
                env.metrics.checkpoints_started.fetch_add(1, Ordering::Relaxed);
                inflight = Some(InFlight {
                    id: next_id,
                    last,
                    started: now,
                    files: Vec::new(),
                    sources: Vec::new(),
                });
            }
        }
        let ack = match acks.recv_timeout(wait(inflight.is_some(), next_at, now, cfg.checkpoint_interval)) {
            Ok(ack) => ack?,
            Err(RecvTimeoutError::Timeout) => continue,
            Err(RecvTimeoutError::Disconnected) => return Ok(Outcome::Cancelled),
        };
        let Some(f) = inflight.as_mut().filter(|f| f.id == ack.checkpoint) else { continue };
        f.files.push(ack.file);
        f.sources.extend(ack.sources);
        if f.files.len() < plan.tasks {
            continue;
        }
        let f = inflight.take().expect("checked above");
        let bytes: u64 = f.files.iter().map(|t| t.len).sum();
        let mut files = f.files;
        files.sort_by_key(|t| t.task);
        let mut sources = f.sources;
        sources.sort_by_key(|s| s.0);
        let metadata = Metadata {
            id: f.id,
            last: f.last,
            job: plan.job.clone(),
            parallelism: cfg.parallelism,
            tasks: files,
            sources,
        };
        storage::complete(&env.faults.disk, &cfg.checkpoint_dir, &metadata)?;
        storage::commit_outputs(&cfg.output_dir, f.id)?;
        storage::prune(&cfg.checkpoint_dir, cfg.keep_checkpoints)?;
        let m = &env.metrics;
        m.checkpoints_completed.fetch_add(1, Ordering::Relaxed);
        m.last_checkpoint_duration.store(env.clock.now() - f.started, Ordering::Relaxed);
        m.last_checkpoint_bytes.store(bytes, Ordering::Relaxed);
        m.commit(flowmark_core::Commit { id: f.id, started: f.started, committed: env.clock.now() });
        if f.last {
            return Ok(Outcome::Finished);
        }
        next_at = env.clock.now() + cfg.checkpoint_interval.unwrap_or(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(d: Duration) -> f64 {
        d.as_secs_f64() * 1e3
    }

    #[test]
    fn the_coordinator_waits_until_the_next_checkpoint_is_due_but_no_longer_than_its_poll() {
        let interval = Some(1_000 * MILLISECOND);
        // nothing in flight: until the next is due
        assert_eq!(ms(wait(false, 7 * MILLISECOND, 4 * MILLISECOND, interval)), 3.0);
        assert_eq!(wait(false, 5 * MILLISECOND, 5 * MILLISECOND, interval), Duration::ZERO, "due now");
        assert_eq!(wait(false, 5 * MILLISECOND, 6 * MILLISECOND, interval), Duration::ZERO, "overdue");
        // but no longer than the poll, which notices a cancellation and the sources' end
        assert_eq!(wait(false, POLL, 0, interval), Duration::from_nanos(POLL as u64));
        assert_eq!(wait(false, POLL + 1, 0, interval), Duration::from_nanos(POLL as u64));
        assert_eq!(wait(false, POLL - 1, 0, interval), Duration::from_nanos(POLL as u64 - 1));
        // a checkpoint in flight, or none configured: the poll
        assert_eq!(wait(true, 3 * MILLISECOND, 0, interval), Duration::from_nanos(POLL as u64));
        assert_eq!(wait(false, 3 * MILLISECOND, 0, None), Duration::from_nanos(POLL as u64));
    }
}
