//! What flows between tasks: data, watermarks, barriers, and the end of a stream.

use flowmark_core::{Rec, Time};

/// A checkpoint barrier: every record before it on every input belongs to checkpoint `id`'s
/// snapshot, every record after it does not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Barrier {
    /// The checkpoint.
    pub id: u64,
    /// Whether this is the checkpoint taken at the end of a bounded input, after which the
    /// job finishes.
    pub last: bool,
}

/// A checkpoint barrier sent ahead of the data in flight (an unaligned checkpoint), beside its
/// sender's data channel to one task: `after` is how many messages the sender had put in that
/// channel before it. The task snapshots once it has this barrier from every input; the
/// messages sent before it that the task had not yet taken in are stored with the checkpoint
/// (its *in-flight* data) and processed after the snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overtaking {
    /// The input of the receiving task the barrier belongs to.
    pub input: usize,
    /// The barrier.
    pub barrier: Barrier,
    /// Messages sent on that input's channel before it.
    pub after: u64,
}

/// One message on a channel between tasks.
#[derive(Debug)]
pub enum Message<T> {
    /// A buffer of records, and the sender's watermark after them if it advanced: a watermark
    /// that finds a buffer partly filled leaves with it, in one message rather than two.
    Data(Vec<Rec<T>>, Option<Time>),
    /// The sender's watermark advanced.
    Watermark(Time),
    /// A checkpoint barrier.
    Barrier(Barrier),
    /// The sender has nothing more to send.
    End,
}
