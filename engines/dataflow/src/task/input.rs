//! A task fed by upstream tasks, through one channel from each.

use super::Context;
use crate::checkpoint::align::BarrierAligner;
use crate::env::Env;
use crate::inputs::{Inputs, Received};
use crate::message::{Barrier, Message, Overtaking};
use crate::operator::Operator;
use crate::worker::{Step, Task, poll_interval};
use crossbeam_channel::{Receiver, Select};
use flowmark_core::{CpuTax, Data, Rec, WatermarkTracker};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Messages taken in from the inputs, with the input each came on.
type Taken<T> = Vec<(usize, Message<T>)>;

/// The most messages a step takes in: then the worker's other tasks have their turn.
const MESSAGES_PER_STEP: usize = 16;

/// A task fed by upstream tasks through its inputs, one channel each (and with unaligned
/// checkpoints a control channel, on which barriers overtake the data).
///
/// Watermarks: the task's watermark is the minimum over its inputs ([`WatermarkTracker`]); an
/// input that has ended no longer holds it back. Barriers: aligned by a [`BarrierAligner`];
/// an input that has delivered the barrier is not read until the others have (its messages
/// wait in its bounded channel); once aligned the operators snapshot and the barrier goes on.
/// An overtaking barrier ([`Overtaking`]) is not aligned: once it has come on every input, the
/// task takes in what its inputs had sent before it, snapshots with that data stored beside its
/// state, sends the barrier on, and only then processes the data.
pub struct InputTask<T> {
    cx: Context,
    env: Arc<Env>,
    op: Box<dyn Operator<T>>,
    inputs: Inputs<T>,
    tracker: WatermarkTracker,
    aligner: BarrierAligner,
    /// The overtaking barrier some inputs have delivered.
    overtaking: Option<Barrier>,
    /// The overtaking barrier every input has delivered, and what it has taken in of the data
    /// sent before it.
    in_flight: Option<(Barrier, Taken<T>)>,
    /// Whether it has processed the in-flight data of the checkpoint restored (its first step).
    started: bool,
    /// Its input has ended: it is done once its outputs have taken everything.
    ended: bool,
    poll: Duration,
}

impl<T: Data> InputTask<T> {
    /// Task `cx` reading `inputs` (and `control`) into `op`.
    pub fn new(
        cx: Context,
        inputs: Vec<Receiver<Message<T>>>,
        control: Option<Receiver<Overtaking>>,
        op: Box<dyn Operator<T>>,
    ) -> Self {
        let env = cx.env.clone();
        let n = inputs.len();
        InputTask {
            started: false,
            poll: poll_interval(&env),
            cx,
            env,
            op,
            inputs: Inputs::new(inputs, control),
            tracker: WatermarkTracker::new(n),
            aligner: BarrierAligner::new(n),
            overtaking: None,
            in_flight: None,
            ended: false,
        }
    }

    /// Takes in message `msg` of input `i`; whether the task has ended.
    fn take(&mut self, i: usize, msg: Message<T>) -> bool {
        let (env, cx) = (&self.env, &mut self.cx);
        env.faults.check(&cx.stages, cx.id.index, || env.clock.now());
        let (op, tracker, aligner) = (&mut *self.op, &mut self.tracker, &mut self.aligner);
        let aligned = CpuTax::levy(env.config.faults.cpu_tax, || handle(cx, op, tracker, aligner, i, msg));
        if let Some(b) = aligned {
            op.barrier(b, cx);
            cx.send_snapshot(b.id);
        }
        if aligner.finished() {
            op.end(cx);
            return true;
        }
        op.flush(cx);
        false
    }

    /// An overtaking barrier came: once every live input has delivered it, the task starts
    /// taking in the data sent before it.
    fn overtaken(&mut self, o: Overtaking) {
        let b = *self.overtaking.get_or_insert(o.barrier);
        assert_eq!(b, o.barrier, "barrier {} overtook barrier {}", o.barrier.id, b.id);
        if self.inputs.all_cut(|i| self.aligner.live_input(i)) {
            self.overtaking = None;
            self.in_flight = Some((b, Vec::new()));
        }
    }

    /// Takes in what has come of the data in flight; once it is all there, snapshots with it,
    /// passes the barrier on and processes it. Whether it was all there.
    fn take_in_flight(&mut self) -> bool {
        let (b, mut got) = self.in_flight.take().expect("a checkpoint in flight");
        if !self.inputs.take_in_flight(&mut got) {
            self.in_flight = Some((b, got));
            return false;
        }
        let (env, cx, op) = (&self.env, &mut self.cx, &mut *self.op);
        let tax = env.config.faults.cpu_tax;
        CpuTax::levy(tax, || op.barrier(b, cx));
        cx.state.in_flight = encode_in_flight(&got);
        cx.send_snapshot(b.id);
        for (i, msg) in got {
            let (tracker, aligner) = (&mut self.tracker, &mut self.aligner);
            let aligned = CpuTax::levy(tax, || handle(cx, op, tracker, aligner, i, msg));
            debug_assert!(aligned.is_none(), "barriers and ends come after the cut");
        }
        true
    }
}

impl<T: Data> Task for InputTask<T> {
    fn id(&self) -> crate::checkpoint::TaskId {
        self.cx.id
    }

    fn step(&mut self) -> Step {
        if let Some(step) = super::settled(&self.env, &mut *self.op, &mut self.cx, self.ended) {
            return step;
        }
        if !self.started {
            self.started = true;
            for mut batch in super::restored_in_flight(&self.cx) {
                self.op.data(&mut batch, &mut self.cx);
            }
        }
        if self.in_flight.is_some() && !self.take_in_flight() {
            return Step::Idle(None);
        }
        for taken in 0..MESSAGES_PER_STEP {
            let aligner = &self.aligner;
            match self.inputs.try_recv(|i| aligner.readable(i)) {
                Received::Message(i, msg) => {
                    if self.take(i, msg) {
                        self.ended = true;
                        return Step::Worked;
                    }
                }
                Received::Overtaking(o) => {
                    self.overtaken(o);
                    return Step::Worked;
                }
                Received::Nothing if taken > 0 => return Step::Worked,
                Received::Nothing => {
                    self.op.flush(&mut self.cx);
                    return Step::Idle(Some(Instant::now() + self.poll));
                }
                Received::Disconnected => return Step::Done,
            }
            if self.op.blocked(&mut self.cx) {
                return Step::Worked;
            }
        }
        Step::Worked
    }

    fn watch<'a>(&'a self, select: &mut Select<'a>) {
        self.op.watch(select);
        if self.in_flight.is_some() {
            self.inputs.watch_in_flight(select);
        } else {
            self.inputs.watch(|i| self.aligner.readable(i), select);
        }
    }
}

/// Processes message `msg` of input `i`; returns the barrier when it completes an alignment.
fn handle<T>(
    cx: &mut Context,
    op: &mut dyn Operator<T>,
    tracker: &mut WatermarkTracker,
    aligner: &mut BarrierAligner,
    i: usize,
    msg: Message<T>,
) -> Option<Barrier> {
    match msg {
        Message::Data(mut batch, then) => {
            cx.load.took(batch.len());
            op.data(&mut batch, cx);
            if let Some(w) = then.and_then(|wm| tracker.advance(i, wm)) {
                op.watermark(w, cx);
            }
            None
        }
        Message::Watermark(wm) => {
            if let Some(w) = tracker.advance(i, wm) {
                op.watermark(w, cx);
            }
            None
        }
        Message::Barrier(b) => aligner.barrier(i, b),
        Message::End => {
            if let Some(w) = tracker.set_idle(i, true) {
                op.watermark(w, cx);
            }
            aligner.end(i)
        }
    }
}

/// The buffers of records among `in_flight`, serialized for the snapshot (none: empty).
fn encode_in_flight<T: Data>(in_flight: &Taken<T>) -> Vec<u8> {
    let batches: Vec<&Vec<Rec<T>>> = in_flight
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Data(batch, _) => Some(batch),
            _ => None,
        })
        .collect();
    if batches.is_empty() { Vec::new() } else { crate::checkpoint::storage::encode(&batches) }
}
