//! Tasks: a chain of operators fed by the log (a [`SourceTask`]) or by the channels of its
//! inputs (an [`InputTask`]), with barrier alignment and watermark tracking; a worker thread
//! runs them ([`crate::worker`]).

mod input;
mod source;

pub use input::InputTask;
pub use source::SourceTask;

use crate::checkpoint::{Snapshot, Taken, TaskId, WriteRequest};
use crate::env::Env;
use crate::operator::Operator;
use crate::worker::Step;
use flowmark_core::{Data, Metrics, ReaderPosition, TaskLoad, Time};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Arc;

/// What a task's operators may use while running.
pub struct Context {
    id: TaskId,
    /// The logical stages the task hosts (more than its own when operators are chained into
    /// it): what a fault names.
    stages: std::ops::Range<usize>,
    env: Arc<Env>,
    state: Snapshot,
    outputs: Vec<(String, Taken)>,
    sources: Vec<(u32, ReaderPosition)>,
    /// Late records dropped by the task's operators since the job started (restored ones
    /// included): (events, pairs).
    late: (u64, u64),
    /// What the task took in and how long it waited on full output channels.
    load: Arc<TaskLoad>,
}

impl Context {
    /// The context of task `id`, with its late counts restored (and added to the metrics,
    /// which the attempt started from zero).
    pub(crate) fn new(id: TaskId, name: &str, stages: std::ops::Range<usize>, env: Arc<Env>) -> Self {
        let late = env.restore.get(&id).map_or((0, 0), |s| s.late);
        env.metrics.late(late.0, late.1);
        let load = env.metrics.task(&format!("{} {name}", id.stage), id.index as u32);
        Context {
            id,
            stages,
            env,
            state: Snapshot::default(),
            outputs: Vec::new(),
            sources: Vec::new(),
            late,
            load,
        }
    }

    /// Counts time the task spent blocked on a full output channel.
    pub fn blocked_for(&self, nanos: Time) {
        self.load.blocked_for(nanos);
    }

    /// Counts late records an operator dropped: `events` late for all their windows,
    /// `windows` (record, window) pairs.
    pub fn late(&mut self, events: u64, windows: u64) {
        self.late.0 += events;
        self.late.1 += windows;
        self.env.metrics.late(events, windows);
    }

    /// The task.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Log time now.
    #[inline]
    pub fn now(&self) -> Time {
        self.env.clock.now()
    }

    /// The engine's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.env.metrics
    }

    /// The run's settings.
    pub fn config(&self) -> &crate::config::Config {
        &self.env.config
    }

    /// The state operator `op` saved into the snapshot being taken (for operator tests).
    #[cfg(test)]
    pub(crate) fn saved<S: DeserializeOwned>(&mut self, op: u32) -> Option<S> {
        let state = std::mem::take(&mut self.state).encode();
        state.get(op).map(|b| bincode::deserialize(b).expect("saved state decodes"))
    }

    /// Adds an operator's state to the snapshot being taken: a copy of it, which the
    /// checkpoint writer encodes off the task's thread ([`Taken`]).
    pub fn save<S: Serialize + Send + 'static>(&mut self, op: u32, state: S) {
        self.state.operators.push((op, Taken::new(state)));
    }

    /// Hands a sink's results of the epoch over for the two-phase commit, as what the
    /// checkpoint writer turns into their lines.
    pub fn pre_commit(&mut self, sink: &str, lines: Taken) {
        self.outputs.push((sink.to_string(), lines));
    }

    /// What the task's sinks have pre-committed since its last snapshot, each encoded as the
    /// writer does it (for operator tests).
    #[cfg(test)]
    pub(crate) fn take_pre_committed(&mut self) -> Vec<(String, Vec<u8>)> {
        self.outputs.drain(..).map(|(sink, lines)| (sink, lines.encode())).collect()
    }

    fn send_snapshot(&mut self, checkpoint: u64) {
        let req = WriteRequest {
            checkpoint,
            task: self.id,
            state: Snapshot { late: self.late, ..std::mem::take(&mut self.state) },
            outputs: std::mem::take(&mut self.outputs),
            sources: std::mem::take(&mut self.sources),
        };
        // the writer outlives the tasks; if it is gone, the attempt is being torn down
        let _ = self.env.writer.send(req);
    }
}

/// What an operator factory gets: the task it builds for, and the state to restore.
pub struct TaskInfo<'a> {
    /// The task.
    pub id: TaskId,
    /// The attempt's shared environment.
    pub env: &'a Arc<Env>,
}

impl TaskInfo<'_> {
    /// The restored state of operator `op`, if the job resumed from a checkpoint that has it.
    ///
    /// The file it came from passed its checksum, so a state that does not decode is a bug
    /// (or a checkpoint of another version): the task fails loudly rather than start empty.
    pub fn restore<S: DeserializeOwned>(&self, op: u32) -> Option<S> {
        let bytes = self.env.restore.get(&self.id)?.get(op)?;
        Some(
            bincode::deserialize(bytes).unwrap_or_else(|e| {
                panic!("state of operator {op} in task {:?} does not decode: {e}", self.id)
            }),
        )
    }
}

/// A task that panicked, with its panic message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Panicked(pub String);

/// How a task's step begins: it is done if the attempt is being torn down, or if its input has
/// `ended` and its outputs have taken everything; it waits while they have not (back-pressure);
/// otherwise (`None`) it goes on.
fn settled<T>(env: &Env, op: &mut dyn Operator<T>, cx: &mut Context, ended: bool) -> Option<Step> {
    if env.cancelled() {
        Some(Step::Done)
    } else if op.blocked(cx) {
        Some(Step::Idle(None))
    } else if ended {
        Some(Step::Done)
    } else {
        None
    }
}

/// The in-flight data the task's restored checkpoint stored (unaligned checkpoints).
///
/// The file it came from passed its checksum, so data that does not decode is a bug (or a
/// checkpoint of another version): the task fails loudly rather than lose it.
fn restored_in_flight<T: Data>(cx: &Context) -> Vec<Vec<flowmark_core::Rec<T>>> {
    let Some(state) = cx.env.restore.get(&cx.id).filter(|s| !s.in_flight.is_empty()) else {
        return Vec::new();
    };
    bincode::deserialize(&state.in_flight)
        .unwrap_or_else(|e| panic!("the in-flight data of task {:?} does not decode: {e}", cx.id))
}
