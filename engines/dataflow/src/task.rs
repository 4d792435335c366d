//! Tasks: the threads that run a chain of operators, fed by the log (a source task) or by the
//! channel of its inputs (every other task), with barrier alignment and watermark tracking.

use crate::checkpoint::align::BarrierAligner;
use crate::checkpoint::{Snapshot, Taken, TaskId, WriteRequest};
use crate::env::Env;
use crate::inputs::{Inputs, Received};
use crate::message::{Barrier, Message, Overtaking};
use crate::operator::Operator;
use crossbeam_channel::{Receiver, Sender};
use flowmark_core::Metrics;
use flowmark_core::cpu::{TaskCpu, count_task_cpu};
use flowmark_core::time::{MAX_WATERMARK, MICROSECOND, MILLISECOND};
use flowmark_core::{
    CpuTax, Data, Log, PartitionReader, ReaderPosition, TaskLoad, Time, WatermarkStrategy, WatermarkTracker,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// What a task's operators may use while running.
pub struct Context {
    id: TaskId,
    /// The logical stages the task hosts (more than its own when operators are chained into
    /// it): what a fault names.
    stages: std::ops::Range<usize>,
    env: Arc<Env>,
    state: Snapshot,
    outputs: Vec<(String, Vec<u8>)>,
    sources: Vec<(u32, ReaderPosition)>,
    /// Late records dropped by the task's operators since the job started (restored ones
    /// included): (events, pairs).
    late: (u64, u64),
    /// What the task took in and how long it waited on full output channels.
    load: Arc<TaskLoad>,
}

impl Context {
    /// The context of task `id`, with its late counts restored (and added to the metrics,
    /// which the attempt started from zero).
    pub(crate) fn new(id: TaskId, name: &str, stages: std::ops::Range<usize>, env: Arc<Env>) -> Self {
        let late = env.restore.get(&id).map_or((0, 0), |s| s.late);
        env.metrics.late(late.0, late.1);
        let load = env.metrics.task(&format!("{} {name}", id.stage), id.index as u32);
        Context {
            id,
            stages,
            env,
            state: Snapshot::default(),
            outputs: Vec::new(),
            sources: Vec::new(),
            late,
            load,
        }
    }

    /// Counts time the task spent blocked on a full output channel.
    pub fn blocked_for(&self, nanos: Time) {
        self.load.blocked_for(nanos);
    }

    /// Counts late records an operator dropped: `events` late for all their windows,
    /// `windows` (record, window) pairs.
    pub fn late(&mut self, events: u64, windows: u64) {
        self.late.0 += events;
        self.late.1 += windows;
        self.env.metrics.late(events, windows);
    }

    /// The task.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// Log time now.
    #[inline]
    pub fn now(&self) -> Time {
        self.env.clock.now()
    }

    /// The engine's metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.env.metrics
    }

    /// The run's settings.
    pub fn config(&self) -> &crate::config::Config {
        &self.env.config
    }

    /// The state operator `op` saved into the snapshot being taken (for operator tests).
    #[cfg(test)]
    pub(crate) fn saved<S: DeserializeOwned>(&mut self, op: u32) -> Option<S> {
        let state = std::mem::take(&mut self.state).encode();
        state.get(op).map(|b| bincode::deserialize(b).expect("saved state decodes"))
    }

    /// Adds an operator's state to the snapshot being taken: a copy of it, which the
    /// checkpoint writer encodes off the task's thread ([`Taken`]).
    pub fn save<S: Serialize + Send + 'static>(&mut self, op: u32, state: S) {
        self.state.operators.push((op, Taken::new(state)));
    }

    /// Hands a sink's results of the epoch over for the two-phase commit.
    pub fn pre_commit(&mut self, sink: &str, lines: Vec<u8>) {
        self.outputs.push((sink.to_string(), lines));
    }

    /// What the task's sinks have pre-committed since its last snapshot.
    #[cfg(test)]
    pub(crate) fn pre_committed(&self) -> &[(String, Vec<u8>)] {
        &self.outputs
    }

    fn send_snapshot(&mut self, checkpoint: u64) {
        let req = WriteRequest {
            checkpoint,
            task: self.id,
            state: Snapshot { late: self.late, ..std::mem::take(&mut self.state) },
            outputs: std::mem::take(&mut self.outputs),
            sources: std::mem::take(&mut self.sources),
        };
        // the writer outlives the tasks; if it is gone, the attempt is being torn down
        let _ = self.env.writer.send(req);
    }
}

/// What an operator factory gets: the task it builds for, and the state to restore.
pub struct TaskInfo<'a> {
    /// The task.
    pub id: TaskId,
    /// The attempt's shared environment.
    pub env: &'a Arc<Env>,
}

impl TaskInfo<'_> {
    /// The restored state of operator `op`, if the job resumed from a checkpoint that has it.
    ///
    /// The file it came from passed its checksum, so a state that does not decode is a bug
    /// (or a checkpoint of another version): the task fails loudly rather than start empty.
    pub fn restore<S: DeserializeOwned>(&self, op: u32) -> Option<S> {
        let bytes = self.env.restore.get(&self.id)?.get(op)?;
        Some(
            bincode::deserialize(bytes).unwrap_or_else(|e| {
                panic!("state of operator {op} in task {:?} does not decode: {e}", self.id)
            }),
        )
    }
}

/// A task that panicked, with its panic message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Panicked(pub String);

/// Runs `body` on a thread of its own; reports how it ended (`Err` with the panic message if
/// it panicked) on `status`.
pub(crate) fn spawn(
    id: TaskId,
    name: &str,
    status: Sender<(TaskId, Result<(), Panicked>)>,
    body: impl FnOnce() + Send + 'static,
) {
    let thread = std::thread::Builder::new().name(format!("{name}-{}.{}", id.stage, id.index));
    let spawned = thread.spawn(move || {
        let result = std::panic::catch_unwind(AssertUnwindSafe(body)).map_err(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                .map_or_else(|| Panicked("task panicked".into()), Panicked)
        });
        let _ = status.send((id, result));
    });
    if let Err(e) = spawned {
        panic!("cannot start a thread for task {id:?}: {e}");
    }
}

fn poll_interval(env: &Env) -> Duration {
    Duration::from_nanos(env.config.buffer_timeout.clamp(100 * MICROSECOND, 10 * MILLISECOND) as u64)
}

/// Runs a task fed by upstream tasks through `inputs`, one channel each (and with unaligned
/// checkpoints, `control`, on which barriers overtake the data).
///
/// Watermarks: the task's watermark is the minimum over its inputs ([`WatermarkTracker`]); an
/// input that has ended no longer holds it back. Barriers: aligned by a [`BarrierAligner`];
/// an input that has delivered the barrier is not read until the others have (its messages
/// wait in its bounded channel); once aligned the operators snapshot and the barrier goes on.
/// An overtaking barrier ([`Overtaking`]) is not aligned: once it has come on every input, the
/// task takes in what its inputs had sent before it, snapshots with that data stored beside its
/// state, sends the barrier on, and only then processes the data.
pub(crate) fn run_input<T: Data>(
    mut cx: Context,
    inputs: Vec<Receiver<Message<T>>>,
    control: Option<Receiver<Overtaking>>,
    mut op: Box<dyn Operator<T>>,
) {
    let env = cx.env.clone();
    let poll = poll_interval(&env);
    let mut tracker = WatermarkTracker::new(inputs.len());
    let mut aligner = BarrierAligner::new(inputs.len());
    let mut inputs = Inputs::new(inputs, control);
    let mut overtaking: Option<Barrier> = None;
    let tax = env.config.faults.cpu_tax;
    let _cpu = TaskCpu::new(&env.metrics);
    for mut batch in restored_in_flight::<T>(&cx) {
        op.data(&mut batch, &mut cx);
    }
    loop {
        count_task_cpu(&env.metrics);
        let (i, msg) = match inputs.recv(|i| aligner.readable(i), poll) {
            Received::Message(i, msg) => (i, msg),
            Received::Overtaking(o) => {
                let b = *overtaking.get_or_insert(o.barrier);
                assert_eq!(b, o.barrier, "barrier {} overtook barrier {}", o.barrier.id, b.id);
                if inputs.all_cut(|i| aligner.live_input(i)) {
                    overtaking = None;
                    let in_flight = inputs.take_in_flight();
                    CpuTax::levy(tax, || op.barrier(b, &mut cx));
                    cx.state.in_flight = encode_in_flight(&in_flight);
                    cx.send_snapshot(b.id);
                    for (i, msg) in in_flight {
                        let aligned = CpuTax::levy(tax, || {
                            handle(&mut cx, &mut *op, &mut tracker, &mut aligner, i, msg)
                        });
                        debug_assert!(aligned.is_none(), "barriers and ends come after the cut");
                    }
                }
                continue;
            }
            Received::Timeout => {
                if env.cancelled() {
                    return;
                }
                op.flush(&mut cx);
                continue;
            }
            Received::Disconnected => return,
        };
        env.faults.check(&cx.stages, cx.id.index, || env.clock.now());
        let aligned = CpuTax::levy(tax, || handle(&mut cx, &mut *op, &mut tracker, &mut aligner, i, msg));
        if let Some(b) = aligned {
            op.barrier(b, &mut cx);
            cx.send_snapshot(b.id);
        }
        if aligner.finished() {
            op.end(&mut cx);
            return;
        }
        op.flush(&mut cx);
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
fn encode_in_flight<T: Data>(in_flight: &[(usize, Message<T>)]) -> Vec<u8> {
    let batches: Vec<&Vec<flowmark_core::Rec<T>>> = in_flight
        .iter()
        .filter_map(|(_, m)| match m {
            Message::Data(batch, _) => Some(batch),
            _ => None,
        })
        .collect();
    if batches.is_empty() { Vec::new() } else { crate::checkpoint::storage::encode(&batches) }
}

/// The in-flight data the task's restored checkpoint stored (unaligned checkpoints).
///
/// The file it came from passed its checksum, so data that does not decode is a bug (or a
/// checkpoint of another version): the task fails loudly rather than lose it.
fn restored_in_flight<T: Data>(cx: &Context) -> Vec<Vec<flowmark_core::Rec<T>>> {
    let Some(state) = cx.env.restore.get(&cx.id).filter(|s| !s.in_flight.is_empty()) else {
        return Vec::new();
    };
    bincode::deserialize(&state.in_flight)
        .unwrap_or_else(|e| panic!("the in-flight data of task {:?} does not decode: {e}", cx.id))
}

/// The shortest time a source that has read everything that had arrived waits before it reads
/// again (or the buffer timeout, if shorter). It bounds how late the source sees an entry, and
/// so a watermark, after its arrival. Each pass reads the clock, checks for checkpoints and
/// faults, and emits a watermark — a message to every downstream task, which wakes it — whatever
/// it read: a source that went round again as soon as anything had arrived spent a core on
/// passes of a few entries each (word count, parallelism 2, at 2 M events/s: 1.0 core for the
/// whole job, against 0.4 with this interval).
const READ_INTERVAL: Time = 200 * MICROSECOND;

/// Runs a source task over `partitions` of `log`.
///
/// It reads every entry whose arrival time has come — never earlier — a buffer at a time, and
/// after each buffer emits its watermark: the minimum over its partitions that still have
/// input. When the coordinator asks for a checkpoint it records its partitions' positions and
/// emits the barrier. When its input is exhausted it emits the final watermark and answers
/// checkpoint requests until the last one.
pub(crate) fn run_source<L: Log>(
    mut cx: Context,
    log: L,
    strategy: WatermarkStrategy,
    partitions: Vec<u32>,
    mut op: Box<dyn Operator<L::Event>>,
) {
    let env = cx.env.clone();
    let cfg = &env.config;
    let mut readers: Vec<(u32, PartitionReader<L::Cursor>, u64)> = partitions
        .iter()
        .map(|&p| {
            let end = log.arrived_before(p, cfg.end);
            let reader = match env.positions.get(&p) {
                Some(at) => PartitionReader::resume(&log, p, cfg.domain, *at),
                None => PartitionReader::new(&log, p, strategy, cfg.domain),
            };
            (p, reader, end)
        })
        .collect();
    let per_reader = (cfg.buffer_size / readers.len().max(1)).max(1);
    let mut batch = Vec::with_capacity(cfg.buffer_size);
    let mut last_trigger = env.restored_from;
    let mut last_wm = Time::MIN;
    let mut exhausted = false;
    let _cpu = TaskCpu::new(&env.metrics);
    loop {
        count_task_cpu(&env.metrics);
        if env.cancelled() {
            return;
        }
        let (id, last) = env.trigger();
        if id > last_trigger {
            last_trigger = id;
            cx.sources = readers.iter().map(|(p, r, _)| (*p, r.position())).collect();
            op.barrier(Barrier { id, last }, &mut cx);
            cx.send_snapshot(id);
            if last {
                op.end(&mut cx);
                return;
            }
        }
        if exhausted {
            std::thread::sleep(Duration::from_micros(200));
            continue;
        }
        env.faults.check(&cx.stages, cx.id.index, || env.clock.now());
        let now = env.clock.now();
        let mut caught_up = true;
        CpuTax::levy(cfg.faults.cpu_tax, || {
            for (_, reader, end) in readers.iter_mut() {
                caught_up &= reader.read_arrived(now, *end, per_reader, &mut batch) < per_reader;
            }
            let read = batch.len();
            if read > 0 {
                env.metrics.mark_input(now);
                Metrics::add(&env.metrics.events_in, read as u64);
                cx.load.took(read);
                op.data(&mut batch, &mut cx);
            }
        });
        let (mut wm, mut next) = (MAX_WATERMARK, Time::MAX);
        for (p, r, end) in readers.iter_mut() {
            let at = if r.offset() < *end { r.next_arrival().unwrap_or(Time::MAX) } else { Time::MAX };
            env.metrics.next_unread(*p, at);
            next = next.min(at);
            if r.offset() < *end {
                wm = wm.min(r.watermark_at(now));
            }
        }
        if wm > last_wm {
            last_wm = wm;
            op.watermark(wm, &mut cx);
            env.metrics.watermark.store(wm, Ordering::Relaxed);
        }
        if wm == MAX_WATERMARK {
            // every partition read to its end
            exhausted = true;
            op.flush(&mut cx);
            env.sources_done.fetch_add(1, Ordering::AcqRel);
            continue;
        }
        op.flush(&mut cx);
        if caught_up {
            // everything that had arrived is read: wait for more — until the next entry
            // arrives, but at least READ_INTERVAL, so that a pass's fixed costs are spread over
            // what arrived meanwhile
            let least = READ_INTERVAL.min(cfg.buffer_timeout);
            let most = cfg.buffer_timeout.clamp(50 * MICROSECOND, MILLISECOND).max(least);
            let wait = (next - env.clock.now()).clamp(least, most);
            if wait > 0 {
                std::thread::sleep(Duration::from_nanos(wait as u64));
            }
        }
    }
}
