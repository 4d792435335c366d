//! Exactly-once state: asynchronous barrier snapshots (Chandy–Lamport as Flink's ABS does it),
//! durable checkpoint files, and the two-phase commit of results.
//!
//! A checkpoint `n` goes like this:
//! 1. the [`coordinator`] asks the sources for it; each source records its
//!    partitions' positions and sends barrier `n` down every output;
//! 2. a task with several inputs aligns: after barrier `n` arrives on an input it stops
//!    reading that input until barrier `n` has arrived on all of them (what the input sends
//!    meanwhile waits in its bounded channel, [`crate::inputs`]);
//! 3. then it snapshots — each operator serializes its state into the task's snapshot, the
//!    sink hands over the results of the epoch as its *pre-commit* — and forwards the barrier;
//!    each operator copies its state ([`Taken`]), and the [writer](coordinator::run_writer)
//!    thread encodes and writes the snapshot to disk while the task goes on processing (the
//!    encoding and the write are off the processing path);
//!
//!    With unaligned checkpoints ([`crate::CheckpointMode::Unaligned`]) steps 2 and 3 go
//!    differently: the barrier travels on a control channel beside the data, saying after how
//!    many messages of its input it was sent ([`crate::message::Overtaking`]). A task reads each
//!    input only up to that message; once it has the barrier from every input it takes in the
//!    messages before it still in its channels, snapshots with them stored beside the operators'
//!    state (`TaskState::in_flight`), sends the barrier on, and then processes them. A task
//!    restored from such a checkpoint processes them first. The last checkpoint is aligned;
//! 4. when every task has acknowledged, the coordinator writes the checkpoint's metadata (with
//!    the source positions and every file's checksum): the checkpoint is complete. Only then are
//!    the epoch's results renamed into the committed output, where readers see them.

pub mod align;
pub mod coordinator;
pub mod storage;

use flowmark_core::ReaderPosition;
use serde::{Deserialize, Serialize};

/// A task: a stage of the job graph (in the order the job builds them; sources are the first)
/// and its index among the stage's parallel tasks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskId {
    /// The stage.
    pub stage: usize,
    /// The task in the stage.
    pub index: usize,
}

/// The state of a task in a checkpoint: each stateful operator's serialized state, by
/// operator id.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskState {
    /// (operator id, serialized state).
    pub operators: Vec<(u32, Vec<u8>)>,
    /// Late records the task's operators dropped up to the checkpoint: (events, (record,
    /// window) pairs). Restored with the state, so that a recovered run counts each late
    /// record once, as its committed output saw it.
    pub late: (u64, u64),
    /// Unaligned checkpoints: the buffers of records the task's inputs had sent before the
    /// barrier and it had not yet processed, in the order it processes them after restoring.
    pub in_flight: Vec<u8>,
}

impl TaskState {
    /// The state of one operator.
    pub fn get(&self, op: u32) -> Option<&[u8]> {
        self.operators.iter().find(|(id, _)| *id == op).map(|(_, b)| b.as_slice())
    }
}

/// What a task took at a barrier, turned into bytes later by the writer: an operator's state
/// (a copy), or a sink's results of the epoch (the batches it held).
///
/// Taking is what the barrier holds the task up for; the encoding — several times slower for
/// state of many small entries, such as open sessions, and tens of nanoseconds a line for
/// results — happens off the processing path (as Flink's heap state backend copies its state
/// table synchronously and writes it asynchronously). On a worker that matters twice: the
/// barrier holds up the worker's other tasks too, its source among them, and with it the
/// watermark every task downstream waits for.
pub struct Taken(Box<dyn FnOnce() -> Vec<u8> + Send>);

impl Taken {
    /// Takes `state`, to be encoded later.
    pub fn new<S: Serialize + Send + 'static>(state: S) -> Taken {
        Taken::with(move || storage::encode(&state))
    }

    /// Takes what `encode` will turn into bytes, later.
    pub fn with(encode: impl FnOnce() -> Vec<u8> + Send + 'static) -> Taken {
        Taken(Box::new(encode))
    }

    /// Encodes it.
    pub fn encode(self) -> Vec<u8> {
        (self.0)()
    }
}

impl std::fmt::Debug for Taken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Taken(..)")
    }
}

/// A task's snapshot as it leaves the task: [`TaskState`] with its operators' state not yet
/// encoded.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// (operator id, state taken).
    pub operators: Vec<(u32, Taken)>,
    /// As [`TaskState::late`].
    pub late: (u64, u64),
    /// As [`TaskState::in_flight`].
    pub in_flight: Vec<u8>,
}

impl Snapshot {
    /// The task state it encodes to.
    pub fn encode(self) -> TaskState {
        TaskState {
            operators: self.operators.into_iter().map(|(op, taken)| (op, taken.encode())).collect(),
            late: self.late,
            in_flight: self.in_flight,
        }
    }
}

/// What a task hands to the writer at a barrier.
#[derive(Debug)]
pub struct WriteRequest {
    /// The checkpoint.
    pub checkpoint: u64,
    /// The task.
    pub task: TaskId,
    /// Operator state.
    pub state: Snapshot,
    /// Pre-committed results of the epoch, per sink: lines of text, once encoded.
    pub outputs: Vec<(String, Taken)>,
    /// For a source task: its partitions' positions.
    pub sources: Vec<(u32, ReaderPosition)>,
}

/// A task's acknowledgement of a checkpoint, once its files are durable.
#[derive(Debug)]
pub struct Ack {
    /// The checkpoint.
    pub checkpoint: u64,
    /// The task's file as the metadata records it.
    pub file: TaskFile,
    /// Pending result files written.
    pub outputs: Vec<String>,
    /// Source positions.
    pub sources: Vec<(u32, ReaderPosition)>,
}

/// A task's state file, with what is needed to verify it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFile {
    /// The task.
    pub task: TaskId,
    /// Length of the payload.
    pub len: u64,
    /// CRC-32 of the payload.
    pub crc: u32,
}

/// A completed checkpoint's metadata: written last, so its presence (verified) is what makes a
/// checkpoint complete.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metadata {
    /// The checkpoint.
    pub id: u64,
    /// Whether it was taken at the end of the input.
    pub last: bool,
    /// The job it belongs to.
    pub job: String,
    /// The parallelism it was taken at (state is partitioned by it).
    pub parallelism: usize,
    /// Every task's file.
    pub tasks: Vec<TaskFile>,
    /// Every source partition's position.
    pub sources: Vec<(u32, ReaderPosition)>,
}
