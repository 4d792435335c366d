//! Barrier alignment (Carbone et al., "Lightweight Asynchronous Snapshots for Distributed
//! Dataflows", 2015): a task with several inputs snapshots for checkpoint `n` once barrier `n`
//! has arrived on every input that has not ended. From the moment an input delivers the
//! barrier until then, that input is *blocked*: what it sends belongs to the next epoch, so the
//! task does not read it (it waits in the input's bounded channel, [`crate::inputs`]), and
//! the snapshot reflects exactly the records before the barrier on every input.

use crate::message::Barrier;

/// The alignment state of one task's inputs.
#[derive(Debug)]
pub struct BarrierAligner {
    ended: Vec<bool>,
    blocked: Vec<bool>,
    /// The barrier being aligned and on how many inputs it has arrived.
    aligning: Option<(Barrier, usize)>,
}

impl BarrierAligner {
    /// A task with `inputs` inputs, none blocked.
    pub fn new(inputs: usize) -> Self {
        BarrierAligner { ended: vec![false; inputs], blocked: vec![false; inputs], aligning: None }
    }

    /// Whether the task may read `input`: it has neither ended nor delivered the barrier
    /// being aligned.
    pub fn readable(&self, input: usize) -> bool {
        !self.ended[input] && !self.blocked[input]
    }

    /// Barrier `barrier` arrived on `input`: the input blocks. Returns the barrier when it has
    /// now arrived on every live input — the task snapshots and forwards it — and unblocks
    /// every input.
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

    /// Whether `input` has not ended.
    pub fn live_input(&self, input: usize) -> bool {
        !self.ended[input]
    }

    /// Inputs that have not ended.
    pub fn live(&self) -> usize {
        self.ended.iter().filter(|e| !**e).count()
    }

    /// Whether `input` is blocked: it delivered the barrier being aligned.
    pub fn is_blocked(&self, input: usize) -> bool {
        self.blocked[input]
    }

    /// Whether every input has ended and no alignment is under way.
    pub fn finished(&self) -> bool {
        self.live() == 0 && self.aligning.is_none()
    }

    fn complete(&mut self) -> Option<Barrier> {
        let (barrier, arrived) = self.aligning?;
        if arrived < self.live() {
            return None;
        }
        self.aligning = None;
        self.blocked.iter_mut().for_each(|b| *b = false);
        Some(barrier)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const B1: Barrier = Barrier { id: 1, last: false };
    const B2: Barrier = Barrier { id: 2, last: false };

    fn readable(a: &BarrierAligner) -> Vec<usize> {
        (0..a.blocked.len()).filter(|&i| a.readable(i)).collect()
    }

    #[test]
    fn a_single_input_aligns_at_once() {
        let mut a = BarrierAligner::new(1);
        assert_eq!(a.barrier(0, B1), Some(B1));
        assert!(!a.is_blocked(0));
        assert_eq!(readable(&a), vec![0]);
    }

    #[test]
    fn an_input_that_delivered_the_barrier_is_not_read_until_the_last_one_does() {
        let mut a = BarrierAligner::new(3);
        assert_eq!(a.barrier(1, B1), None);
        assert!(a.is_blocked(1) && !a.is_blocked(0));
        assert_eq!(readable(&a), vec![0, 2], "after its barrier: the next epoch, left in its channel");
        assert_eq!(a.barrier(0, B1), None, "one of three inputs still to deliver");
        assert_eq!(readable(&a), vec![2]);
        assert_eq!(a.barrier(2, B1), Some(B1), "the third: aligned");
        assert_eq!(readable(&a), vec![0, 1, 2]);
        // and the next checkpoint aligns afresh
        assert_eq!(a.barrier(0, B2), None);
        assert_eq!(a.barrier(1, B2), None);
        assert_eq!(a.barrier(2, B2), Some(B2));
    }

    #[test]
    fn an_input_ending_no_longer_holds_alignment_back_and_is_not_read() {
        let mut a = BarrierAligner::new(2);
        assert_eq!(a.barrier(0, B1), None);
        assert_eq!(a.end(1), Some(B1), "the other input ended: aligned without it");
        assert_eq!(readable(&a), vec![0]);
        // with one input left, a barrier aligns at once
        assert_eq!(a.barrier(0, B2), Some(B2));
    }

    #[test]
    fn it_is_finished_once_every_input_ended_and_not_while_aligning() {
        let mut a = BarrierAligner::new(2);
        a.end(0);
        assert!(!a.finished());
        assert_eq!(a.barrier(1, B1), Some(B1));
        assert_eq!(a.end(1), None);
        assert!(a.finished());
        let mut a = BarrierAligner::new(3);
        a.barrier(0, B1);
        a.end(1);
        assert!(!a.finished());
        assert_eq!(a.end(2), Some(B1), "the last input that had not delivered it ended");
        assert!(!a.finished(), "input 0 is live");
        a.end(0);
        assert!(a.finished());
    }

    #[test]
    #[should_panic(expected = "overtook")]
    fn a_barrier_cannot_overtake_another() {
        let mut a = BarrierAligner::new(2);
        a.barrier(0, B1);
        a.barrier(1, B2);
    }
}
