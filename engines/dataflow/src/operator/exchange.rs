//! The exchange: the end of a chain that partitions records by key among the tasks of the next
//! stage, in buffers sent when full or when the oldest record in them has waited for the buffer
//! timeout. Watermarks, barriers and the end go to every task.

use super::Operator;
use crate::message::{Barrier, Message, Tagged};
use crate::task::Context;
use crossbeam_channel::{Sender, TrySendError};
use flowmark_core::{Rec, Time};

pub use flowmark_core::record::{key_hash, owner};

/// Partitions records of type `T` into buffers of type `O` for the next stage.
pub struct Exchange<T, O, F> {
    route: F,
    input: usize,
    senders: Vec<Sender<Tagged<O>>>,
    buffers: Vec<Vec<Rec<O>>>,
    since: Vec<Option<Time>>,
    size: usize,
    timeout: Time,
    _in: std::marker::PhantomData<fn(T)>,
}

impl<T, O, F: Fn(Rec<T>) -> (u64, Rec<O>)> Exchange<T, O, F> {
    /// An exchange that is input `input` of every task behind `senders`; `route` turns a record
    /// into its key hash and the record the next stage takes.
    pub fn new(route: F, input: usize, senders: Vec<Sender<Tagged<O>>>, size: usize, timeout: Time) -> Self {
        let n = senders.len();
        Exchange {
            route,
            input,
            senders,
            buffers: (0..n).map(|_| Vec::with_capacity(size)).collect(),
            since: vec![None; n],
            size,
            timeout,
            _in: std::marker::PhantomData,
        }
    }

    fn send(&mut self, target: usize, cx: &Context) {
        let full = std::mem::replace(&mut self.buffers[target], Vec::with_capacity(self.size));
        self.since[target] = None;
        put(&self.senders[target], (self.input, Message::Data(full)), cx);
    }

    fn send_all_buffers(&mut self, cx: &Context) {
        for t in 0..self.buffers.len() {
            if !self.buffers[t].is_empty() {
                self.send(t, cx);
            }
        }
    }

    fn broadcast(&mut self, make: impl Fn() -> Message<O>, cx: &Context) {
        self.send_all_buffers(cx);
        for s in &self.senders {
            put(s, (self.input, make()), cx);
        }
    }
}

/// Sends `message`, counting the time spent waiting when the channel is full (back-pressure:
/// the next stage is behind).
fn put<O>(to: &Sender<Tagged<O>>, message: Tagged<O>, cx: &Context) {
    // a closed channel means the next stage is gone: the attempt is being torn down
    if let Err(TrySendError::Full(message)) = to.try_send(message) {
        let waited = std::time::Instant::now();
        let _ = to.send(message);
        cx.blocked_for(waited.elapsed().as_nanos() as Time);
    }
}

impl<T, O: Send, F: Fn(Rec<T>) -> (u64, Rec<O>) + Send> Operator<T> for Exchange<T, O, F> {
    #[inline]
    fn data(&mut self, batch: &mut Vec<Rec<T>>, cx: &mut Context) {
        let n = self.buffers.len();
        let mut now = None;
        for r in batch.drain(..) {
            let (hash, rec) = (self.route)(r);
            let t = owner(hash, n);
            if self.since[t].is_none() {
                self.since[t] = Some(*now.get_or_insert_with(|| cx.now()));
            }
            self.buffers[t].push(rec);
            if self.buffers[t].len() >= self.size {
                self.send(t, cx);
            }
        }
    }

    fn watermark(&mut self, wm: Time, cx: &mut Context) {
        self.broadcast(|| Message::Watermark(wm), cx);
    }

    fn barrier(&mut self, barrier: Barrier, cx: &mut Context) {
        self.broadcast(|| Message::Barrier(barrier), cx);
    }

    fn flush(&mut self, cx: &mut Context) {
        if self.since.iter().all(Option::is_none) {
            return;
        }
        let now = cx.now();
        for t in 0..self.buffers.len() {
            if self.since[t].is_some_and(|s| now - s >= self.timeout) {
                self.send(t, cx);
            }
        }
    }

    fn end(&mut self, cx: &mut Context) {
        self.broadcast(|| Message::End, cx);
    }
}
