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

/// One message on a channel between tasks.
#[derive(Debug)]
pub enum Message<T> {
    /// A buffer of records.
    Data(Vec<Rec<T>>),
    /// The sender's watermark advanced.
    Watermark(Time),
    /// A checkpoint barrier.
    Barrier(Barrier),
    /// The sender has nothing more to send.
    End,
}

/// A message tagged with the input it came from (a task's inputs share one channel).
pub type Tagged<T> = (usize, Message<T>);
