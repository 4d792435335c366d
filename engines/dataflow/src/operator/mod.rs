//! Operators: the code a task runs for each message, chained inside the task.
//!
//! An [`Operator`] takes every kind of message. Most operators are a [`Logic`] — one required
//! method for data, default hooks for watermarks and snapshots — wrapped in [`Chained`], which
//! owns the output buffer and the next operator and forwards what the logic does not handle.
//! Terminal operators (the exchange writer, the sink) implement [`Operator`] directly.

pub mod exchange;
pub mod join;
pub mod reduce;
pub mod session;
pub mod sink;
pub mod stateless;
pub mod tee;
pub mod window;
pub mod window_join;

use crate::message::Barrier;
use crate::task::Context;
use crossbeam_channel::Select;
use flowmark_core::{Rec, Time};

/// Everything an operator does with the messages reaching it.
pub trait Operator<T>: Send {
    /// Processes a buffer of records, leaving it empty.
    fn data(&mut self, batch: &mut Vec<Rec<T>>, cx: &mut Context);
    /// The task's watermark advanced.
    fn watermark(&mut self, wm: Time, cx: &mut Context);
    /// A checkpoint barrier: write state into the task's snapshot, then pass the barrier on.
    fn barrier(&mut self, barrier: Barrier, cx: &mut Context);
    /// Sends partly filled buffers that have waited long enough.
    fn flush(&mut self, cx: &mut Context);
    /// The input ended.
    fn end(&mut self, cx: &mut Context);
    /// Offers its outputs what they could not take before (a full channel); whether some of
    /// it still waits. The task takes in nothing more until it does not: back-pressure.
    fn blocked(&mut self, _cx: &mut Context) -> bool {
        false
    }
    /// Registers in `select` the outputs it waits for room in.
    fn watch<'a>(&'a self, _select: &mut Select<'a>) {}
}

/// The logic of an operator inside a chain.
pub trait Logic<In>: Send {
    /// What it emits.
    type Out;
    /// Processes a buffer (leaving it empty), pushing results to `out`.
    fn data(&mut self, batch: &mut Vec<Rec<In>>, out: &mut Vec<Rec<Self::Out>>, cx: &mut Context);
    /// The watermark advanced: fire what it completes.
    fn watermark(&mut self, _wm: Time, _out: &mut Vec<Rec<Self::Out>>, _cx: &mut Context) {}
    /// How far behind its own the watermark it passes on is: an operator that emits results
    /// only once they are final holds its output's watermark back until then.
    fn hold(&self) -> Time {
        0
    }
    /// Writes the operator's state for a checkpoint.
    fn snapshot(&self, _cx: &mut Context) {}
}

/// A [`Logic`] with its output buffer and the operator after it.
pub struct Chained<L: Logic<In>, In> {
    logic: L,
    out: Vec<Rec<L::Out>>,
    next: Box<dyn Operator<L::Out>>,
}

impl<L: Logic<In>, In> Chained<L, In> {
    /// `logic`, feeding `next`.
    pub fn new(logic: L, next: Box<dyn Operator<L::Out>>) -> Self {
        Chained { logic, out: Vec::new(), next }
    }

    fn pass_on(&mut self, cx: &mut Context) {
        if !self.out.is_empty() {
            self.next.data(&mut self.out, cx);
        }
    }
}

impl<In, L> Operator<In> for Chained<L, In>
where
    L: Logic<In>,
    L::Out: Send,
{
    #[inline]
    fn data(&mut self, batch: &mut Vec<Rec<In>>, cx: &mut Context) {
        self.logic.data(batch, &mut self.out, cx);
        self.pass_on(cx);
    }

    fn watermark(&mut self, wm: Time, cx: &mut Context) {
        self.logic.watermark(wm, &mut self.out, cx);
        self.pass_on(cx);
        self.next.watermark(wm.saturating_sub(self.logic.hold()), cx);
    }

    fn barrier(&mut self, barrier: Barrier, cx: &mut Context) {
        self.logic.snapshot(cx);
        self.next.barrier(barrier, cx);
    }

    fn flush(&mut self, cx: &mut Context) {
        self.next.flush(cx);
    }

    fn end(&mut self, cx: &mut Context) {
        self.next.end(cx);
    }

    fn blocked(&mut self, cx: &mut Context) -> bool {
        self.next.blocked(cx)
    }

    fn watch<'a>(&'a self, select: &mut Select<'a>) {
        self.next.watch(select);
    }
}

/// What the operator tests share: a task context outside any job, and records.
#[cfg(test)]
pub(crate) mod testing {
    use crate::checkpoint::TaskId;
    use crate::config::Config;
    use crate::env::{Env, FaultState};
    use crate::task::Context;
    use flowmark_core::{LogClock, Metrics, Rec, Time};
    use std::collections::HashMap;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

    /// A context of one task of a job that does not run; its metrics count late records.
    pub(crate) fn context() -> Context {
        Context::new(TaskId { stage: 0, index: 0 }, "test", 0..1, Arc::new(env()))
    }

    /// The environment of an attempt that runs no job.
    pub(crate) fn env() -> Env {
        let config = Config::new(std::env::temp_dir(), 0, 0);
        Env {
            clock: LogClock::new(config.origin),
            faults: Arc::new(FaultState::new(config.faults.clone())),
            config,
            metrics: Arc::new(Metrics::default()),
            cancel: AtomicBool::new(false),
            trigger: AtomicU64::new(0),
            sources_done: AtomicUsize::new(0),
            writer: crossbeam_channel::unbounded().0,
            restore: HashMap::new(),
            positions: HashMap::new(),
            restored_from: 0,
        }
    }

    /// Late events counted so far.
    pub(crate) fn late_events(cx: &Context) -> u64 {
        cx.metrics().late_events.load(Ordering::Relaxed)
    }

    /// A keyed record at `time` judged against `wm`.
    pub(crate) fn rec<K, V>(time: Time, wm: Time, key: K, value: V) -> Rec<(K, V)> {
        Rec { time, wm, data: (key, value) }
    }
}
