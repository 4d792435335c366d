//! The exchange: the end of a chain that partitions records by key among the tasks of the next
//! stage, in buffers sent when full or when the oldest record in them has waited for the buffer
//! timeout. Watermarks, barriers and the end go to every task — a barrier of an unaligned
//! checkpoint on each task's control channel, ahead of the data ([`Overtaking`]).
//!
//! A channel that is full does not block the task: what it cannot take waits in the exchange,
//! in order, and the task takes in nothing more until it has gone ([`Operator::blocked`]).
//! The task's worker meanwhile runs its other tasks — among them, perhaps, the reader of that
//! very channel ([`crate::worker`]).

use super::Operator;
use crate::message::{Barrier, Message, Overtaking};
use crate::task::Context;
use crossbeam_channel::{Select, Sender, TrySendError};
use flowmark_core::{Rec, Time};
use std::collections::VecDeque;
use std::time::Instant;

pub use flowmark_core::record::{key_hash, owner};

/// Partitions records of type `T` into buffers of type `O` for the next stage.
pub struct Exchange<T, O, F> {
    route: F,
    senders: Vec<Sender<Message<O>>>,
    /// Messages put on each channel, those still waiting for room included.
    sent: Vec<u64>,
    /// Unaligned checkpoints: the next stage's control channels, and this task's input there.
    overtake: Option<(Vec<Sender<Overtaking>>, usize)>,
    buffers: Vec<Vec<Rec<O>>>,
    since: Vec<Option<Time>>,
    size: usize,
    timeout: Time,
    /// Per channel, in their order, the messages it was full for.
    waiting: Vec<VecDeque<Message<O>>>,
    /// Since when some message has waited: time the task counts as blocked.
    blocked_since: Option<Instant>,
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
            waiting: (0..n).map(|_| VecDeque::new()).collect(),
            blocked_since: None,
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
    fn send(&mut self, target: usize, then: Option<Time>) {
        let full = std::mem::replace(&mut self.buffers[target], Vec::with_capacity(self.size));
        self.since[target] = None;
        self.put(target, Message::Data(full, then));
    }

    /// Puts `message` on target `target`'s channel — or, if the channel is full or messages
    /// wait for it already, behind them ([`Operator::blocked`] offers them again).
    fn put(&mut self, target: usize, message: Message<O>) {
        self.sent[target] += 1;
        let waiting = &mut self.waiting[target];
        if !waiting.is_empty() {
            waiting.push_back(message);
            return;
        }
        // a closed channel means the next stage is gone: the attempt is being torn down
        if let Err(TrySendError::Full(message)) = self.senders[target].try_send(message) {
            waiting.push_back(message);
            self.blocked_since.get_or_insert_with(Instant::now);
        }
    }

    fn send_all_buffers(&mut self) {
        for t in 0..self.buffers.len() {
            if !self.buffers[t].is_empty() {
                self.send(t, None);
            }
        }
    }

    fn broadcast(&mut self, make: impl Fn() -> Message<O>) {
        self.send_all_buffers();
        for t in 0..self.senders.len() {
            self.put(t, make());
        }
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
                self.send(t, None);
            }
        }
    }

    fn watermark(&mut self, wm: Time, _cx: &mut Context) {
        // after every record sent before it: with a partly filled buffer, or alone
        for t in 0..self.buffers.len() {
            if self.buffers[t].is_empty() {
                self.put(t, Message::Watermark(wm));
            } else {
                self.send(t, Some(wm));
            }
        }
    }

    fn barrier(&mut self, barrier: Barrier, _cx: &mut Context) {
        match &self.overtake {
            // the checkpoint at the end of the input is aligned: it must follow all the data
            Some(_) if !barrier.last => {
                self.send_all_buffers();
                let (control, input) = self.overtake.as_ref().expect("matched");
                for (t, c) in control.iter().enumerate() {
                    // unbounded: a barrier never waits; a closed channel is a teardown
                    let _ = c.send(Overtaking { input: *input, barrier, after: self.sent[t] });
                }
            }
            _ => self.broadcast(|| Message::Barrier(barrier)),
        }
    }

    fn flush(&mut self, cx: &mut Context) {
        if self.since.iter().all(Option::is_none) {
            return;
        }
        let now = cx.now();
        for t in 0..self.buffers.len() {
            if self.since[t].is_some_and(|s| now - s >= self.timeout) {
                self.send(t, None);
            }
        }
    }

    fn end(&mut self, _cx: &mut Context) {
        self.broadcast(|| Message::End);
    }

    fn blocked(&mut self, cx: &mut Context) -> bool {
        let Some(since) = self.blocked_since else { return false };
        let mut still = false;
        for (waiting, to) in self.waiting.iter_mut().zip(&self.senders) {
            while let Some(message) = waiting.pop_front() {
                match to.try_send(message) {
                    Ok(()) => {}
                    Err(TrySendError::Full(message)) => {
                        waiting.push_front(message);
                        still = true;
                        break;
                    }
                    // the next stage is gone: the attempt is being torn down
                    Err(TrySendError::Disconnected(_)) => waiting.clear(),
                }
            }
        }
        if !still {
            self.blocked_since = None;
            cx.blocked_for(since.elapsed().as_nanos() as Time);
        }
        still
    }

    fn watch<'a>(&'a self, select: &mut Select<'a>) {
        for (waiting, to) in self.waiting.iter().zip(&self.senders) {
            if !waiting.is_empty() {
                select.send(to);
            }
        }
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
    fn what_a_full_channel_cannot_take_waits_in_order_and_an_overtaking_barrier_counts_it_as_sent() {
        let cx = &mut context();
        let (tx, rx) = crossbeam_channel::bounded(1);
        let (control, overtaking) = unbounded();
        let route = |r: Rec<u64>| (0, r);
        let mut ex = Exchange::new(route, vec![tx], 2, Time::MAX).overtaking(vec![control], 3);
        let recs = |keys: &[u64]| keys.iter().map(|&k| Rec { time: 0, wm: 0, data: k }).collect::<Vec<_>>();
        assert!(!ex.blocked(cx), "nothing waits yet");
        ex.data(&mut recs(&[1, 2, 3, 4, 5]), cx);
        ex.watermark(10, cx);
        ex.barrier(Barrier { id: 1, last: false }, cx);
        // [1,2] went; [3,4], [5]+wm10 wait, and the barrier overtook them
        let o = overtaking.try_recv().unwrap();
        assert_eq!((o.input, o.barrier.id, o.after), (3, 1, 3), "after everything put before it");
        let mut got = Vec::new();
        for _ in 0..2 {
            assert!(ex.blocked(cx), "a message still waits");
            got.extend(received(&rx)); // the reader makes room for one more
        }
        assert!(!ex.blocked(cx), "the last one went");
        got.extend(received(&rx));
        assert_eq!(got, ["[1,2]", "[3,4]", "[5]+wm10"]);
        ex.watermark(20, cx);
        assert!(!ex.blocked(cx), "the channel had room");
        assert_eq!(received(&rx), ["wm20"]);
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
