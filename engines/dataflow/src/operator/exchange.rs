//! The exchange: the end of a chain that partitions records by key among the tasks of the next
//! stage, in buffers sent when full or when the oldest record in them has waited for the buffer
//! timeout. Watermarks, barriers and the end go to every task — a barrier of an unaligned
//! checkpoint on each task's control channel, ahead of the data ([`Overtaking`]).

use super::Operator;
use crate::message::{Barrier, Message, Overtaking};
use crate::task::Context;
use crossbeam_channel::{Sender, TrySendError};
use flowmark_core::{Rec, Time};

pub use flowmark_core::record::{key_hash, owner};

/// Partitions records of type `T` into buffers of type `O` for the next stage.
pub struct Exchange<T, O, F> {
    route: F,
    senders: Vec<Sender<Message<O>>>,
    /// Messages sent on each channel.
    sent: Vec<u64>,
    /// Unaligned checkpoints: the next stage's control channels, and this task's input there.
    overtake: Option<(Vec<Sender<Overtaking>>, usize)>,
    buffers: Vec<Vec<Rec<O>>>,
    since: Vec<Option<Time>>,
    size: usize,
    timeout: Time,
    _in: std::marker::PhantomData<fn(T)>,
}

impl<T, O, F: Fn(Rec<T>) -> (u64, Rec<O>)> Exchange<T, O, F> {
    /// An exchange into `senders`, its input channel at each task of the next stage; `route`
    /// turns a record into its key hash and the record the next stage takes.
    pub fn new(route: F, senders: Vec<Sender<Message<O>>>, size: usize, timeout: Time) -> Self {
        let n = senders.len();
        Exchange {
            route,
            senders,
            sent: vec![0; n],
            overtake: None,
            buffers: (0..n).map(|_| Vec::with_capacity(size)).collect(),
            since: vec![None; n],
            size,
            timeout,
            _in: std::marker::PhantomData,
        }
    }

    /// Sends barriers of unaligned checkpoints on `control` (the next stage's control
    /// channels), as input `input` of each task there.
    pub fn overtaking(mut self, control: Vec<Sender<Overtaking>>, input: usize) -> Self {
        self.overtake = Some((control, input));
        self
    }

    /// Sends target `target`'s buffer, with watermark `then` after it if given.
    fn send(&mut self, target: usize, then: Option<Time>, cx: &Context) {
        let full = std::mem::replace(&mut self.buffers[target], Vec::with_capacity(self.size));
        self.since[target] = None;
        self.put(target, Message::Data(full, then), cx);
    }

    fn put(&mut self, target: usize, message: Message<O>, cx: &Context) {
        put(&self.senders[target], message, cx);
        self.sent[target] += 1;
    }

    fn send_all_buffers(&mut self, cx: &Context) {
        for t in 0..self.buffers.len() {
            if !self.buffers[t].is_empty() {
                self.send(t, None, cx);
            }
        }
    }

    fn broadcast(&mut self, make: impl Fn() -> Message<O>, cx: &Context) {
        self.send_all_buffers(cx);
        for t in 0..self.senders.len() {
            self.put(t, make(), cx);
        }
    }
}

/// Sends `message`, counting the time spent waiting when the channel is full (back-pressure:
/// the next stage is behind).
fn put<O>(to: &Sender<Message<O>>, message: Message<O>, cx: &Context) {
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
                self.send(t, None, cx);
            }
        }
    }

    fn watermark(&mut self, wm: Time, cx: &mut Context) {
        // after every record sent before it: with a partly filled buffer, or alone
        for t in 0..self.buffers.len() {
            if self.buffers[t].is_empty() {
                self.put(t, Message::Watermark(wm), cx);
            } else {
                self.send(t, Some(wm), cx);
            }
        }
    }

    fn barrier(&mut self, barrier: Barrier, cx: &mut Context) {
        match &self.overtake {
            // the checkpoint at the end of the input is aligned: it must follow all the data
            Some(_) if !barrier.last => {
                self.send_all_buffers(cx);
                let (control, input) = self.overtake.as_ref().expect("matched");
                for (t, c) in control.iter().enumerate() {
                    // unbounded: a barrier never waits; a closed channel is a teardown
                    let _ = c.send(Overtaking { input: *input, barrier, after: self.sent[t] });
                }
            }
            _ => self.broadcast(|| Message::Barrier(barrier), cx),
        }
    }

    fn flush(&mut self, cx: &mut Context) {
        if self.since.iter().all(Option::is_none) {
            return;
        }
        let now = cx.now();
        for t in 0..self.buffers.len() {
            if self.since[t].is_some_and(|s| now - s >= self.timeout) {
                self.send(t, None, cx);
            }
        }
    }

    fn end(&mut self, cx: &mut Context) {
        self.broadcast(|| Message::End, cx);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::testing::context;
    use crossbeam_channel::{Receiver, unbounded};

    fn received(rx: &Receiver<Message<u64>>) -> Vec<String> {
        rx.try_iter()
            .map(|m| match m {
                Message::Data(b, then) => {
                    let keys: Vec<String> = b.iter().map(|r| r.data.to_string()).collect();
                    format!("[{}]{}", keys.join(","), then.map_or(String::new(), |w| format!("+wm{w}")))
                }
                Message::Watermark(w) => format!("wm{w}"),
                other => format!("{other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_watermark_leaves_with_a_partly_filled_buffer_or_alone_and_after_every_record_before_it() {
        let cx = &mut context();
        let (tx, rx): (Vec<_>, Vec<_>) = (0..2).map(|_| unbounded()).unzip();
        // even keys to task 0, odd to task 1; buffers of 3
        let route = |r: Rec<u64>| (if r.data.is_multiple_of(2) { 0 } else { u64::MAX }, r);
        let mut ex = Exchange::new(route, tx, 3, Time::MAX);
        let recs = |keys: &[u64]| keys.iter().map(|&k| Rec { time: 0, wm: 0, data: k }).collect::<Vec<_>>();
        ex.data(&mut recs(&[2, 4, 6, 8]), cx);
        ex.watermark(10, cx);
        ex.data(&mut recs(&[1]), cx);
        ex.watermark(20, cx);
        assert_eq!(received(&rx[0]), ["[2,4,6]", "[8]+wm10", "wm20"]);
        assert_eq!(received(&rx[1]), ["wm10", "[1]+wm20"]);
    }
}
