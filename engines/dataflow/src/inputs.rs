//! A task's inputs: one bounded channel from each upstream task, read in turn.
//!
//! Each input has a channel of its own so that the task can stop reading one of them — an
//! input that has delivered a checkpoint barrier while the others have not — and leave what it
//! sends in its channel: once that channel is full its sender blocks, and back-pressure, not
//! the task's memory, holds the data (what Flink's aligned checkpoints do with its network
//! buffers). The inputs that may be read are taken in turn, so that none starves.
//!
//! For unaligned checkpoints the inputs also have a control channel, on which barriers
//! overtake the data ([`Overtaking`]). Such a barrier is handed to the task before any data,
//! and from then on its input is read only up to the message the barrier came after (its
//! *cut*); [`Inputs::take_in_flight`] then takes in the messages up to every input's cut.

use crate::message::{Message, Overtaking};
use crossbeam_channel::{Receiver, Select, TryRecvError};
use std::collections::VecDeque;

/// What [`Inputs::try_recv`] got.
#[derive(Debug)]
pub enum Received<T> {
    /// A message, with the input it came on.
    Message(usize, Message<T>),
    /// A barrier that overtook the data of its input (an unaligned checkpoint).
    Overtaking(Overtaking),
    /// Nothing waits on the inputs that may be read (or came within the timeout).
    Nothing,
    /// An input that may be read lost its sender with nothing left in it: the upstream task is
    /// gone without ending its stream (the attempt is being torn down).
    Disconnected,
}

/// A task's input channels.
pub struct Inputs<T> {
    receivers: Vec<Receiver<Message<T>>>,
    /// The input tried first next time.
    next: usize,
    /// Messages handed to the task, per input.
    taken: Vec<u64>,
    /// Unaligned checkpoints: the control channel, the barriers read from it and not yet
    /// handed over, per input the cut of the barrier being aligned, and a message read past
    /// its input's cut (it goes to the task once the checkpoint is taken).
    control: Option<Receiver<Overtaking>>,
    overtaking: VecDeque<Overtaking>,
    cuts: Vec<Option<u64>>,
    held: Vec<Option<Message<T>>>,
}

impl<T> Inputs<T> {
    /// Input `i` reads `receivers[i]`; barriers overtake on `control`, if any.
    pub fn new(receivers: Vec<Receiver<Message<T>>>, control: Option<Receiver<Overtaking>>) -> Self {
        let n = receivers.len();
        Inputs {
            receivers,
            next: 0,
            taken: vec![0; n],
            control,
            overtaking: VecDeque::new(),
            cuts: vec![None; n],
            held: (0..n).map(|_| None).collect(),
        }
    }

    /// How many inputs there are.
    pub fn len(&self) -> usize {
        self.receivers.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.receivers.is_empty()
    }

    /// Whether every input for which `live` holds has delivered the overtaking barrier.
    pub fn all_cut(&self, live: impl Fn(usize) -> bool) -> bool {
        self.cuts.iter().any(Option::is_some) && (0..self.len()).all(|i| !live(i) || self.cuts[i].is_some())
    }

    /// Whether input `i` may be read: it has no cut, or is not past it.
    fn before_cut(&self, i: usize) -> bool {
        self.cuts[i].is_none_or(|cut| self.taken[i] < cut)
    }

    /// The next overtaking barrier, or else the next message waiting on an input for which
    /// `readable` holds (and that is not past its cut), or [`Received::Nothing`]. The inputs
    /// are tried in turn, starting after the one the last message came on.
    pub fn try_recv(&mut self, readable: impl Fn(usize) -> bool) -> Received<T> {
        if let Some(o) = self.next_overtaking() {
            return Received::Overtaking(o);
        }
        let n = self.receivers.len();
        for k in 0..n {
            let i = (self.next + k) % n;
            if !readable(i) || !self.before_cut(i) {
                continue;
            }
            if let Some(m) = self.held[i].take() {
                return self.got(i, m);
            }
            match self.receivers[i].try_recv() {
                Ok(m) => return self.got(i, m),
                Err(TryRecvError::Disconnected) => return Received::Disconnected,
                Err(TryRecvError::Empty) => {}
            }
        }
        Received::Nothing
    }

    /// Registers in `select` the channels [`Inputs::try_recv`] reads with `readable`: when
    /// none is ready, it would find nothing.
    pub fn watch<'a>(&'a self, readable: impl Fn(usize) -> bool, select: &mut Select<'a>) {
        for i in (0..self.len()).filter(|&i| readable(i) && self.before_cut(i)) {
            select.recv(&self.receivers[i]);
        }
        if let Some(control) = &self.control {
            select.recv(control);
        }
    }

    /// [`Inputs::try_recv`], waiting up to `timeout` for something to arrive.
    #[cfg(test)]
    pub fn recv(&mut self, readable: impl Fn(usize) -> bool, timeout: std::time::Duration) -> Received<T> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.try_recv(&readable) {
                Received::Nothing => {}
                got => return got,
            }
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if left.is_zero() {
                return Received::Nothing;
            }
            let mut select = Select::new();
            self.watch(&readable, &mut select);
            let _ = select.ready_timeout(left);
        }
    }

    /// The next overtaking barrier of an input not already cut (a later checkpoint's waits
    /// for the one being aligned), its cut recorded.
    fn next_overtaking(&mut self) -> Option<Overtaking> {
        if let Some(control) = &self.control {
            loop {
                match control.try_recv() {
                    Ok(o) => self.overtaking.push_back(o),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        // every upstream task is gone: no barrier can come any more (and a
                        // closed channel, always ready, is not worth watching)
                        self.control = None;
                        break;
                    }
                }
            }
        }
        let at = self.overtaking.iter().position(|o| self.cuts[o.input].is_none())?;
        let o = self.overtaking.remove(at).expect("found");
        self.cuts[o.input] = Some(o.after);
        Some(o)
    }

    /// Hands message `m` of input `i` to the task — unless its input's overtaking barrier was
    /// sent before it: a barrier is sent on the control channel before the data after it, so
    /// a look there now finds it. Then the message waits, and the barrier goes first.
    fn got(&mut self, i: usize, m: Message<T>) -> Received<T> {
        if self.cuts[i].is_none()
            && let Some(control) = &self.control
        {
            self.overtaking.extend(control.try_iter());
            if self.overtaking.iter().any(|o| o.input == i && o.after <= self.taken[i]) {
                self.held[i] = Some(m);
                let o = self.next_overtaking().expect("one is waiting");
                return Received::Overtaking(o);
            }
        }
        self.taken[i] += 1;
        self.next = (i + 1) % self.receivers.len();
        Received::Message(i, m)
    }

    /// Once every live input has delivered the overtaking barrier: takes into `out` the
    /// messages sent before it that have come, in their order on each input, and says whether
    /// that was all of them (then the cuts are cleared). Some may still be on their way: a
    /// sender puts its barrier ahead of what its full channel could not take yet.
    pub fn take_in_flight(&mut self, out: &mut Vec<(usize, Message<T>)>) -> bool {
        let mut all = true;
        for i in 0..self.receivers.len() {
            let Some(cut) = self.cuts[i] else { continue };
            while self.taken[i] < cut {
                match self.receivers[i].try_recv() {
                    Ok(m) => {
                        self.taken[i] += 1;
                        out.push((i, m));
                    }
                    Err(TryRecvError::Empty) => {
                        all = false;
                        break;
                    }
                    // the sender is gone: the attempt is being torn down
                    Err(TryRecvError::Disconnected) => break,
                }
            }
        }
        if all {
            self.cuts.iter_mut().for_each(|c| *c = None);
        }
        all
    }

    /// Registers in `select` the inputs [`Inputs::take_in_flight`] still waits for.
    pub fn watch_in_flight<'a>(&'a self, select: &mut Select<'a>) {
        for i in 0..self.len() {
            if self.cuts[i].is_some_and(|cut| self.taken[i] < cut) {
                select.recv(&self.receivers[i]);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossbeam_channel::{Sender, bounded};
    use std::time::Duration;

    /// What `take_in_flight` takes when everything before the cuts is there already.
    fn in_flight(inputs: &mut Inputs<u32>) -> Vec<(usize, Message<u32>)> {
        let mut out = Vec::new();
        assert!(inputs.take_in_flight(&mut out), "all of it has come");
        out
    }

    const SHORT: Duration = Duration::from_millis(20);

    fn channels(n: usize, capacity: usize) -> (Vec<Sender<Message<u32>>>, Inputs<u32>) {
        let (tx, rx): (Vec<_>, Vec<_>) = (0..n).map(|_| bounded(capacity)).unzip();
        (tx, Inputs::new(rx, None))
    }

    fn data(r: Received<u32>) -> (usize, u64) {
        match r {
            Received::Message(i, Message::Watermark(w)) => (i, w as u64),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn inputs_with_messages_waiting_are_read_in_turn() {
        let (tx, mut inputs) = channels(3, 8);
        for (i, t) in tx.iter().enumerate() {
            for k in 0..3 {
                t.send(Message::Watermark((10 * i + k) as i64)).unwrap();
            }
        }
        let order: Vec<(usize, u64)> = (0..9).map(|_| data(inputs.recv(|_| true, SHORT))).collect();
        assert_eq!(order, vec![(0, 0), (1, 10), (2, 20), (0, 1), (1, 11), (2, 21), (0, 2), (1, 12), (2, 22)]);
        assert!(matches!(inputs.recv(|_| true, SHORT), Received::Nothing));
    }

    #[test]
    fn an_input_that_may_not_be_read_is_left_alone_and_its_sender_blocks_when_its_channel_is_full() {
        let (tx, mut inputs) = channels(2, 2);
        tx[0].send(Message::Watermark(1)).unwrap();
        tx[0].send(Message::Watermark(2)).unwrap();
        assert!(tx[0].try_send(Message::Watermark(3)).is_err(), "full: the sender would block");
        tx[1].send(Message::Watermark(7)).unwrap();
        assert_eq!(data(inputs.recv(|i| i == 1, SHORT)), (1, 7));
        assert!(matches!(inputs.recv(|i| i == 1, SHORT), Received::Nothing), "input 0 is not read");
        assert_eq!(tx[0].len(), 2, "its messages wait in its channel");
        // readable again: read in their order
        assert_eq!(data(inputs.recv(|_| true, SHORT)), (0, 1));
        assert_eq!(data(inputs.recv(|_| true, SHORT)), (0, 2));
    }

    #[test]
    fn a_message_arriving_while_waiting_is_received() {
        let (tx, mut inputs) = channels(2, 2);
        let sender = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(30));
            tx[1].send(Message::Watermark(5)).unwrap();
            tx
        });
        assert_eq!(data(inputs.recv(|_| true, Duration::from_secs(10))), (1, 5));
        drop(sender.join().unwrap());
    }

    #[test]
    fn a_readable_input_whose_sender_is_gone_is_a_disconnection_and_an_unreadable_one_is_not() {
        let (mut tx, mut inputs) = channels(2, 2);
        drop(tx.remove(0));
        assert!(matches!(inputs.recv(|i| i == 1, SHORT), Received::Nothing));
        assert!(matches!(inputs.recv(|_| true, SHORT), Received::Disconnected));
    }

    use crate::message::Barrier;
    use crossbeam_channel::unbounded;

    const B1: Barrier = Barrier { id: 1, last: false };

    fn overtaking(n: usize) -> (Vec<Sender<Message<u32>>>, Sender<Overtaking>, Inputs<u32>) {
        let (tx, rx): (Vec<_>, Vec<_>) = (0..n).map(|_| bounded(8)).unzip();
        let (control_tx, control_rx) = unbounded();
        (tx, control_tx, Inputs::new(rx, Some(control_rx)))
    }

    fn barrier(r: Received<u32>) -> usize {
        match r {
            Received::Overtaking(o) => o.input,
            other => panic!("{other:?}"),
        }
    }

    fn wm(t: i64) -> Message<u32> {
        Message::Watermark(t)
    }

    #[test]
    fn an_overtaking_barrier_comes_first_and_its_input_is_read_only_up_to_its_cut() {
        let (tx, control, mut inputs) = overtaking(2);
        tx[0].send(wm(1)).unwrap();
        tx[0].send(wm(2)).unwrap();
        control.send(Overtaking { input: 0, barrier: B1, after: 2 }).unwrap();
        tx[0].send(wm(3)).unwrap();
        tx[1].send(wm(10)).unwrap();
        assert_eq!(barrier(inputs.recv(|_| true, SHORT)), 0, "ahead of the data");
        assert!(!inputs.all_cut(|_| true));
        let read: Vec<(usize, u64)> = (0..3).map(|_| data(inputs.recv(|_| true, SHORT))).collect();
        assert_eq!(read, vec![(0, 1), (1, 10), (0, 2)]);
        assert!(matches!(inputs.recv(|_| true, SHORT), Received::Nothing), "input 0 is at its cut");
        // input 1's barrier came after the one message it sent, already taken in
        control.send(Overtaking { input: 1, barrier: B1, after: 1 }).unwrap();
        assert_eq!(barrier(inputs.recv(|_| true, SHORT)), 1);
        assert!(inputs.all_cut(|_| true));
        assert!(in_flight(&mut inputs).is_empty(), "everything before the cuts was processed");
        assert_eq!(data(inputs.recv(|_| true, SHORT)), (0, 3), "after the checkpoint: past the cut");
    }

    #[test]
    fn the_data_in_flight_is_what_each_input_sent_before_its_barrier_and_no_more() {
        let (tx, control, mut inputs) = overtaking(3);
        for t in 1..=3 {
            tx[0].send(wm(t)).unwrap();
        }
        control.send(Overtaking { input: 0, barrier: B1, after: 3 }).unwrap();
        tx[0].send(wm(4)).unwrap();
        tx[1].send(wm(10)).unwrap();
        control.send(Overtaking { input: 1, barrier: B1, after: 1 }).unwrap();
        assert_eq!(barrier(inputs.recv(|_| true, SHORT)), 0);
        assert_eq!(barrier(inputs.recv(|_| true, SHORT)), 1);
        assert!(!inputs.all_cut(|_| true), "input 2 has not delivered it");
        assert!(inputs.all_cut(|i| i != 2), "unless it has ended");
        let in_flight: Vec<(usize, u64)> =
            in_flight(&mut inputs).into_iter().map(|(i, m)| data(Received::Message(i, m))).collect();
        assert_eq!(in_flight, vec![(0, 1), (0, 2), (0, 3), (1, 10)]);
        assert_eq!(data(inputs.recv(|i| i != 2, SHORT)), (0, 4));
    }

    #[test]
    fn the_data_in_flight_is_taken_in_as_it_comes_until_the_last_message_before_the_barrier() {
        // the sender's barrier overtook two messages its full channel had not taken yet
        let (tx, control, mut inputs) = overtaking(1);
        tx[0].send(wm(1)).unwrap();
        control.send(Overtaking { input: 0, barrier: B1, after: 3 }).unwrap();
        assert_eq!(barrier(inputs.recv(|_| true, SHORT)), 0);
        let mut got = Vec::new();
        assert!(!inputs.take_in_flight(&mut got), "two have not come");
        tx[0].send(wm(2)).unwrap();
        assert!(!inputs.take_in_flight(&mut got), "one has not come");
        tx[0].send(wm(3)).unwrap();
        tx[0].send(wm(4)).unwrap();
        assert!(inputs.take_in_flight(&mut got), "the third is the last before the barrier");
        let got: Vec<(usize, u64)> = got.into_iter().map(|(i, m)| data(Received::Message(i, m))).collect();
        assert_eq!(got, vec![(0, 1), (0, 2), (0, 3)]);
        assert_eq!(data(inputs.recv(|_| true, SHORT)), (0, 4), "the cut is cleared");
    }

    #[test]
    fn a_closed_control_channel_is_no_longer_watched_so_that_an_idle_worker_does_not_spin() {
        let (_tx, control, mut inputs) = overtaking(1);
        drop(control);
        assert!(matches!(inputs.try_recv(|_| true), Received::Nothing));
        let mut select = Select::new();
        inputs.watch(|_| true, &mut select);
        assert!(select.ready_timeout(SHORT).is_err(), "nothing is ready: it waits");
    }

    #[test]
    fn a_later_barrier_of_an_input_waits_for_the_checkpoint_being_aligned() {
        let (_tx, control, mut inputs) = overtaking(2);
        let b2 = Barrier { id: 2, last: false };
        control.send(Overtaking { input: 0, barrier: B1, after: 0 }).unwrap();
        control.send(Overtaking { input: 0, barrier: b2, after: 0 }).unwrap();
        control.send(Overtaking { input: 1, barrier: B1, after: 0 }).unwrap();
        let mut got = Vec::new();
        for _ in 0..2 {
            if let Received::Overtaking(o) = inputs.recv(|_| true, SHORT) {
                got.push((o.input, o.barrier.id));
            }
        }
        assert_eq!(got, vec![(0, 1), (1, 1)], "input 0's barrier 2 is not its cut yet");
        assert!(inputs.all_cut(|_| true));
        assert!(in_flight(&mut inputs).is_empty());
        assert!(matches!(inputs.recv(|_| true, SHORT), Received::Overtaking(o) if o.barrier == b2));
    }

    #[test]
    fn a_message_read_past_its_inputs_cut_before_the_barrier_was_seen_waits_for_the_checkpoint() {
        // the race: the barrier of input 0 is sent, then a message after it; the task had
        // looked at the control channel just before, and reads the message first
        let (_tx, control, mut inputs) = overtaking(1);
        control.send(Overtaking { input: 0, barrier: B1, after: 0 }).unwrap();
        assert_eq!(barrier(inputs.got(0, wm(5))), 0, "the barrier goes first");
        assert!(matches!(inputs.recv(|_| true, SHORT), Received::Nothing), "the message is past the cut");
        assert!(inputs.all_cut(|_| true));
        assert!(in_flight(&mut inputs).is_empty(), "it is not data in flight: it came after");
        assert_eq!(data(inputs.recv(|_| true, SHORT)), (0, 5));
    }
}
