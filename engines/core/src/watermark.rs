//! Watermarks: how a source partition derives its watermark from the events it has read, and
//! how an operator with several inputs combines theirs.
//!
//! A watermark `w` asserts that no more events with event time `≤ w` are expected. With the
//! bounded-out-of-orderness strategy (Flink's `forBoundedOutOfOrderness`), a partition's
//! watermark after reading events `0..i` is `max(event time) − bound − 1`: an event at most
//! `bound` behind the newest one seen is never late.
//!
//! Each record carries the watermark its partition had just before it was read
//! ([`crate::Rec::wm`]); an operator's own watermark is the minimum over its inputs, so it is
//! never ahead of the `wm` of a record still on its way. Lateness is judged against the
//! record's `wm`, which makes it a property of the log, the same on every engine.

use crate::error::ApiError;
use crate::time::{MIN_WATERMARK, Time};
use serde::{Deserialize, Serialize};

/// How a source partition derives its watermark from the event times it has read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum WatermarkStrategy {
    /// `max(event time seen) − bound − 1`: events at most `bound` out of order are on time.
    BoundedOutOfOrderness {
        /// The disorder the job tolerates.
        bound: Time,
    },
}

impl WatermarkStrategy {
    /// The bounded-out-of-orderness strategy.
    pub const fn bounded(bound: Time) -> Self {
        WatermarkStrategy::BoundedOutOfOrderness { bound }
    }

    /// The disorder the strategy tolerates: the lower bound of every window's event-time
    /// latency, drawn on latency charts.
    pub const fn bound(&self) -> Time {
        match *self {
            WatermarkStrategy::BoundedOutOfOrderness { bound } => bound,
        }
    }

    /// Checks the strategy.
    pub fn validate(&self) -> Result<(), ApiError> {
        if self.bound() < 0 {
            return Err(ApiError::Invalid(format!(
                "watermark bound is {} ns; it must be zero or more",
                self.bound()
            )));
        }
        Ok(())
    }

    /// A generator for one partition.
    pub fn partition(&self) -> PartitionWatermark {
        PartitionWatermark { bound: self.bound(), max_time: MIN_WATERMARK }
    }
}

/// The watermark of one source partition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartitionWatermark {
    bound: Time,
    max_time: Time,
}

impl PartitionWatermark {
    /// The watermark now.
    #[inline]
    pub fn current(&self) -> Time {
        if self.max_time == MIN_WATERMARK {
            MIN_WATERMARK
        } else {
            self.max_time.saturating_sub(self.bound).saturating_sub(1)
        }
    }

    /// Takes an event's time into account.
    #[inline]
    pub fn observe(&mut self, event_time: Time) {
        self.max_time = self.max_time.max(event_time);
    }

    /// Observes an event at `event_time`; whether the watermark may have moved (the event is
    /// the latest yet).
    #[inline]
    pub fn advance(&mut self, event_time: Time) -> bool {
        let later = event_time > self.max_time;
        if later {
            self.max_time = event_time;
        }
        later
    }
}

/// The watermark of an operator with several inputs: the minimum over the inputs that are not
/// idle. An idle input (a source partition with nothing to read, an upstream task that has
/// finished) does not hold time back; when it becomes active again it counts from then on.
/// The combined watermark never goes backwards.
#[derive(Clone, Debug)]
pub struct WatermarkTracker {
    inputs: Vec<InputState>,
    combined: Time,
}

#[derive(Clone, Copy, Debug)]
struct InputState {
    wm: Time,
    idle: bool,
}

impl WatermarkTracker {
    /// A tracker for `inputs` inputs, all active and at the minimum watermark.
    pub fn new(inputs: usize) -> Self {
        WatermarkTracker {
            inputs: vec![InputState { wm: MIN_WATERMARK, idle: false }; inputs],
            combined: MIN_WATERMARK,
        }
    }

    /// The combined watermark.
    #[inline]
    pub fn current(&self) -> Time {
        self.combined
    }

    /// The last watermark seen on `input`.
    pub fn input(&self, input: usize) -> Time {
        self.inputs[input].wm
    }

    /// Records a watermark from `input` (which also marks it active). Returns the new combined
    /// watermark if it advanced.
    ///
    /// A watermark behind one already seen on the same input is a bug upstream: it panics in
    /// debug builds (so that tests catch it) and is ignored in release builds.
    pub fn advance(&mut self, input: usize, wm: Time) -> Option<Time> {
        let state = &mut self.inputs[input];
        debug_assert!(wm >= state.wm, "watermark of input {input} went backwards: {} -> {wm}", state.wm);
        state.wm = state.wm.max(wm);
        state.idle = false;
        self.recompute()
    }

    /// Marks `input` idle (or active again). Returns the new combined watermark if it advanced.
    pub fn set_idle(&mut self, input: usize, idle: bool) -> Option<Time> {
        self.inputs[input].idle = idle;
        self.recompute()
    }

    fn recompute(&mut self) -> Option<Time> {
        let min = self.inputs.iter().filter(|i| !i.idle).map(|i| i.wm).min();
        match min {
            Some(m) if m > self.combined => {
                self.combined = m;
                Some(m)
            }
            // every input idle: hold, as Flink does
            _ => None,
        }
    }
}

/// Which clock a run's windows are defined on.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeDomain {
    /// Windows over the events' own timestamps, with watermarks (Flink, Structured Streaming).
    #[default]
    Event,
    /// Windows over arrival time (classic DStreams): a record's time is its arrival, so the
    /// input is in order and nothing is late — but disorder puts events in the wrong window.
    Processing,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_partition_watermark() {
        let mut p = WatermarkStrategy::bounded(10).partition();
        assert_eq!(p.current(), MIN_WATERMARK);
        p.observe(100);
        assert_eq!(p.current(), 89);
        p.observe(50); // out of order: does not move it back
        assert_eq!(p.current(), 89);
        p.observe(120);
        assert_eq!(p.current(), 109);
        // advance tells whether the time is the latest yet: a tie is not
        assert!(!p.advance(120) && !p.advance(119), "no later time: {}", p.current());
        assert!(p.advance(121));
        assert_eq!(p.current(), 110);
    }

    #[test]
    fn a_bound_may_be_zero_but_not_negative() {
        assert!(WatermarkStrategy::bounded(0).validate().is_ok());
        assert!(WatermarkStrategy::bounded(1).validate().is_ok());
        let e = WatermarkStrategy::bounded(-1).validate().unwrap_err();
        assert!(e.to_string().contains("-1 ns"), "{e}");
        assert_eq!(WatermarkStrategy::bounded(7).bound(), 7);
    }

    #[test]
    fn tracker_takes_the_minimum_of_active_inputs() {
        let mut t = WatermarkTracker::new(3);
        assert_eq!(t.advance(0, 10), None);
        assert_eq!(t.advance(1, 20), None);
        assert_eq!(t.advance(2, 5), Some(5));
        assert_eq!(t.advance(2, 30), Some(10));
        assert_eq!(t.current(), 10);
        assert_eq!((t.input(0), t.input(1), t.input(2)), (10, 20, 30));
    }

    #[test]
    fn idle_input_does_not_hold_time_back_and_time_never_goes_back() {
        let mut t = WatermarkTracker::new(2);
        t.advance(0, 100);
        assert_eq!(t.current(), MIN_WATERMARK);
        assert_eq!(t.set_idle(1, true), Some(100));
        // input 1 comes back far behind: the combined watermark holds
        assert_eq!(t.advance(1, 40), None);
        assert_eq!(t.current(), 100);
        assert_eq!(t.advance(1, 150), None);
        assert_eq!(t.advance(0, 200), Some(150));
    }

    #[test]
    fn all_idle_holds() {
        let mut t = WatermarkTracker::new(2);
        t.advance(0, 7);
        t.advance(1, 9);
        assert_eq!(t.set_idle(0, true), Some(9));
        assert_eq!(t.set_idle(1, true), None);
        assert_eq!(t.current(), 9);
    }

    #[test]
    #[should_panic(expected = "went backwards")]
    #[cfg(debug_assertions)]
    fn regressing_input_is_caught_in_tests() {
        let mut t = WatermarkTracker::new(1);
        t.advance(0, 10);
        t.advance(0, 9);
    }
}
