//! Barrier alignment (Carbone et al., "Lightweight Asynchronous Snapshots for Distributed
//! Dataflows", 2015): a task with several inputs snapshots for checkpoint `n` once barrier `n`
//! has arrived on every input that has not ended. From the moment an input delivers the
//! barrier until then, that input is *blocked*: what it sends belongs to the next epoch and is
//! held back, so that the snapshot reflects exactly the records before the barrier on every
//! input. When the last barrier arrives, the held messages are released in their order.

use crate::message::Barrier;
use std::collections::VecDeque;

/// The alignment state of one task's inputs; `M` is what travels on them.
#[derive(Debug)]
pub struct BarrierAligner<M> {
    ended: Vec<bool>,
    blocked: Vec<bool>,
    held: Vec<VecDeque<M>>,
    released: VecDeque<(usize, M)>,
    /// The barrier being aligned and on how many inputs it has arrived.
    aligning: Option<(Barrier, usize)>,
}

impl<M> BarrierAligner<M> {
    /// A task with `inputs` inputs, none blocked.
    pub fn new(inputs: usize) -> Self {
        BarrierAligner {
            ended: vec![false; inputs],
            blocked: vec![false; inputs],
            held: (0..inputs).map(|_| VecDeque::new()).collect(),
            released: VecDeque::new(),
            aligning: None,
        }
    }

    /// The next message released by a completed alignment, with its input: these come before
    /// anything newly received.
    pub fn next_released(&mut self) -> Option<(usize, M)> {
        self.released.pop_front()
    }

    /// A message received on `input`: given back to be processed now, or held (`None`) while
    /// the input is blocked.
    pub fn admit(&mut self, input: usize, message: M) -> Option<M> {
        if self.blocked[input] {
            self.held[input].push_back(message);
            None
        } else {
            Some(message)
        }
    }

    /// Barrier `barrier` arrived on `input` (an admitted message): the input blocks. Returns
    /// the barrier when it has now arrived on every live input — the task snapshots and
    /// forwards it — and releases what was held.
    ///
    /// # Panics
    ///
    /// When a different barrier is being aligned: barriers travel in order on every channel,
    /// so one cannot overtake another.
    pub fn barrier(&mut self, input: usize, barrier: Barrier) -> Option<Barrier> {
        let arrived = match self.aligning {
            Some((current, n)) => {
                assert_eq!(current, barrier, "barrier {} overtook barrier {}", barrier.id, current.id);
                n + 1
            }
            None => 1,
        };
        self.blocked[input] = true;
        self.aligning = Some((barrier, arrived));
        self.complete()
    }

    /// `input` ended: it no longer takes part in alignment. Returns the barrier being aligned
    /// when every remaining input has delivered it.
    pub fn end(&mut self, input: usize) -> Option<Barrier> {
        self.ended[input] = true;
        self.complete()
    }

    /// Inputs that have not ended.
    pub fn live(&self) -> usize {
        self.ended.iter().filter(|e| !**e).count()
    }

    /// Whether `input` is blocked: it delivered the barrier being aligned.
    pub fn is_blocked(&self, input: usize) -> bool {
        self.blocked[input]
    }

    /// Whether every input has ended and nothing is held or waiting to be processed.
    pub fn finished(&self) -> bool {
        self.live() == 0 && self.aligning.is_none() && self.released.is_empty()
    }

    fn complete(&mut self) -> Option<Barrier> {
        let (barrier, arrived) = self.aligning?;
        if arrived < self.live() {
            return None;
        }
        self.aligning = None;
        for (input, queue) in self.held.iter_mut().enumerate() {
            self.blocked[input] = false;
            self.released.extend(queue.drain(..).map(|m| (input, m)));
        }
        Some(barrier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B1: Barrier = Barrier { id: 1, last: false };
    const B2: Barrier = Barrier { id: 2, last: false };

    fn released(a: &mut BarrierAligner<&'static str>) -> Vec<(usize, &'static str)> {
        std::iter::from_fn(|| a.next_released()).collect()
    }

    #[test]
    fn a_single_input_aligns_at_once() {
        let mut a = BarrierAligner::new(1);
        assert_eq!(a.admit(0, "x"), Some("x"));
        assert_eq!(a.barrier(0, B1), Some(B1));
        assert!(!a.is_blocked(0));
        assert_eq!(a.admit(0, "y"), Some("y"));
    }

    #[test]
    fn an_input_that_delivered_the_barrier_is_held_until_the_last_one_does() {
        let mut a = BarrierAligner::new(3);
        assert_eq!(a.barrier(1, B1), None);
        assert!(a.is_blocked(1) && !a.is_blocked(0));
        assert_eq!(a.admit(1, "1a"), None, "after its barrier: the next epoch");
        assert_eq!(a.admit(0, "0a"), Some("0a"), "before its barrier: this epoch");
        assert_eq!(a.barrier(0, B1), None, "one of three inputs still to deliver");
        assert_eq!(a.admit(0, "0b"), None);
        assert_eq!(a.admit(1, "1b"), None);
        assert_eq!(a.barrier(2, B1), Some(B1), "the third: aligned");
        assert!((0..3).all(|i| !a.is_blocked(i)));
        // released input by input, each in its order
        assert_eq!(released(&mut a), vec![(0, "0b"), (1, "1a"), (1, "1b")]);
        // and the next checkpoint aligns afresh
        assert_eq!(a.barrier(0, B2), None);
        assert_eq!(a.barrier(1, B2), None);
        assert_eq!(a.barrier(2, B2), Some(B2));
    }

    #[test]
    fn an_input_ending_no_longer_holds_alignment_back() {
        let mut a = BarrierAligner::new(2);
        assert_eq!(a.barrier(0, B1), None);
        assert_eq!(a.admit(0, "held"), None);
        assert_eq!(a.end(1), Some(B1), "the other input ended: aligned without it");
        assert_eq!(released(&mut a), vec![(0, "held")]);
        // with one input left, a barrier aligns at once
        assert_eq!(a.barrier(0, B2), Some(B2));
    }

    #[test]
    fn an_end_received_on_a_blocked_input_is_held_like_any_message() {
        let mut a = BarrierAligner::new(2);
        assert_eq!(a.barrier(0, B1), None);
        assert_eq!(a.admit(0, "end"), None);
        assert_eq!(a.live(), 2);
        assert_eq!(a.barrier(1, B1), Some(B1));
        assert_eq!(released(&mut a), vec![(0, "end")]);
        assert_eq!(a.end(0), None);
        assert!(!a.finished(), "input 1 is still live");
        assert_eq!(a.end(1), None);
        assert!(a.finished());
    }

    #[test]
    fn it_is_not_finished_while_aligning_or_releasing() {
        let mut a = BarrierAligner::new(2);
        a.end(0);
        assert!(!a.finished());
        assert_eq!(a.barrier(1, B1), Some(B1));
        assert_eq!(a.admit(1, "x"), Some("x"));
        assert_eq!(a.end(1), None);
        assert!(a.finished());
        let mut a = BarrierAligner::new(2);
        a.barrier(0, B1);
        a.admit(0, "x");
        a.end(1);
        a.end(0);
        assert!(!a.finished(), "a message is released but not yet processed");
        assert_eq!(released(&mut a), vec![(0, "x")]);
        assert!(a.finished());
    }

    #[test]
    #[should_panic(expected = "overtook")]
    fn a_barrier_cannot_overtake_another() {
        let mut a: BarrierAligner<()> = BarrierAligner::new(2);
        a.barrier(0, B1);
        a.barrier(1, B2);
    }
}
