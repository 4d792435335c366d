//! Workers: the threads that run the tasks, task `i` of every stage on worker `i` (as timely
//! dataflow's workers each run their share of every operator).
//!
//! A task is a state machine that never blocks: [`Task::step`] does a bounded piece of work
//! — a source's read of what has arrived, an input task's few messages — and says whether it
//! did any. A worker steps its tasks in turn, upstream first, so that what a source sends its
//! own downstream task is taken in within the same round, without a hand-off between threads;
//! only what crosses to another worker goes through a channel that wakes a thread. When no task
//! had anything to do the worker parks until a channel one of them watches is ready (an input
//! with a message, an output with room again) or until the earliest time one asked to be
//! stepped at. A source whose buffers are all in a full channel stops reading
//! ([`crate::operator::Operator::blocked`]): back-pressure without a blocked thread, which on a
//! worker that also runs the reader of that channel would never end.
//!
//! At parallelism 2 on two cores this is two busy threads instead of four (two sources, two
//! window tasks) taking turns on the cores, parked and woken for every buffer.

use crate::checkpoint::TaskId;
use crate::env::Env;
use crate::stream::Status;
use crate::task::Panicked;
use crossbeam_channel::{Select, Sender};
use flowmark_core::cpu::{TaskCpu, count_task_cpu};
use flowmark_core::time::{MICROSECOND, MILLISECOND};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What one step of a task came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// It did some work: it may have more.
    Worked,
    /// It had nothing to do. Step it again when a channel it watches is ready, and no later
    /// than the instant given.
    Idle(Option<Instant>),
    /// It has finished, or the attempt is being torn down.
    Done,
}

/// A task as a worker runs it.
pub trait Task: Send {
    /// Which task it is.
    fn id(&self) -> TaskId;
    /// Does a bounded piece of work, without blocking.
    fn step(&mut self) -> Step;
    /// Registers in `select` the channels whose readiness may give it something to do.
    fn watch<'a>(&'a self, select: &mut Select<'a>);
}

/// How long an idle worker parks at most: its tasks' partly filled buffers are sent after the
/// buffer timeout ([`crate::operator::Operator::flush`]), and the attempt may be cancelled.
pub(crate) fn poll_interval(env: &Env) -> Duration {
    Duration::from_nanos(env.config.buffer_timeout.clamp(100 * MICROSECOND, 10 * MILLISECOND) as u64)
}

/// Starts worker `index` on a thread of its own, running `tasks` until each is done, and
/// reporting how each ended (`Err` with the panic message if it panicked) on `status`.
pub(crate) fn spawn(
    index: usize,
    env: Arc<Env>,
    tasks: Vec<Box<dyn Task>>,
    status: Sender<Status>,
) -> std::io::Result<()> {
    std::thread::Builder::new().name(format!("worker-{index}")).spawn(move || run(&env, tasks, &status))?;
    Ok(())
}

fn run(env: &Env, mut tasks: Vec<Box<dyn Task>>, status: &Sender<Status>) {
    let _cpu = TaskCpu::new(&env.metrics);
    let poll = poll_interval(env);
    let mut wake: Vec<Option<Instant>> = vec![None; tasks.len()];
    while !tasks.is_empty() {
        count_task_cpu(&env.metrics);
        let mut worked = false;
        let mut i = 0;
        while i < tasks.len() {
            match std::panic::catch_unwind(AssertUnwindSafe(|| tasks[i].step())) {
                Ok(Step::Worked) => worked = true,
                Ok(Step::Idle(until)) => wake[i] = until,
                Ok(Step::Done) => {
                    let _ = status.send((tasks[i].id(), Ok(())));
                    tasks.remove(i);
                    wake.remove(i);
                    continue;
                }
                Err(p) => {
                    // its channels close as it is dropped: the tasks it fed or read see it gone
                    let _ = status.send((tasks[i].id(), Err(Panicked(flowmark_core::panic_message(&*p)))));
                    tasks.remove(i);
                    wake.remove(i);
                    continue;
                }
            }
            i += 1;
        }
        if worked || tasks.is_empty() {
            continue;
        }
        let now = Instant::now();
        let until = wake.iter().flatten().copied().fold(now + poll, Instant::min);
        let timeout = until.saturating_duration_since(now);
        let mut select = Select::new();
        for t in &tasks {
            t.watch(&mut select);
        }
        // returns at once if a channel is ready already (its message came after the task
        // looked), and sleeps out the timeout if nothing is watched
        let _ = select.ready_timeout(timeout);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operator::testing::env;
    use crossbeam_channel::{Receiver, unbounded};

    /// Waits for `wanted` messages on `rx`, counting its steps.
    struct Reader {
        id: TaskId,
        rx: Receiver<u32>,
        wanted: usize,
        steps: Arc<std::sync::atomic::AtomicUsize>,
    }

    impl Task for Reader {
        fn id(&self) -> TaskId {
            self.id
        }
        fn step(&mut self) -> Step {
            self.steps.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            match self.rx.try_recv() {
                Ok(_) if self.wanted == 1 => Step::Done,
                Ok(_) => {
                    self.wanted -= 1;
                    Step::Worked
                }
                Err(_) => Step::Idle(None),
            }
        }
        fn watch<'a>(&'a self, select: &mut Select<'a>) {
            select.recv(&self.rx);
        }
    }

    /// Panics at its first step.
    struct Failing(TaskId);

    impl Task for Failing {
        fn id(&self) -> TaskId {
            self.0
        }
        fn step(&mut self) -> Step {
            panic!("injected: {}", self.0.index)
        }
        fn watch<'a>(&'a self, _: &mut Select<'a>) {}
    }

    #[test]
    fn a_task_that_panics_is_reported_with_its_message_and_the_worker_runs_the_others_on() {
        let (tx, rx) = unbounded();
        let steps = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reader = Reader { id: TaskId { stage: 1, index: 0 }, rx, wanted: 2, steps };
        let tasks: Vec<Box<dyn Task>> =
            vec![Box::new(Failing(TaskId { stage: 0, index: 7 })), Box::new(reader)];
        let (status, reports) = unbounded();
        spawn(0, Arc::new(env()), tasks, status).unwrap();
        let (id, failed) = reports.recv().unwrap();
        assert_eq!((id.stage, failed), (0, Err(Panicked("injected: 7".into()))));
        tx.send(1).unwrap();
        tx.send(2).unwrap();
        assert_eq!(reports.recv().unwrap(), (TaskId { stage: 1, index: 0 }, Ok(())));
        assert!(reports.recv().is_err(), "the worker has ended");
    }

    #[test]
    fn an_idle_worker_parks_until_a_channel_it_watches_is_ready_rather_than_spin() {
        let (tx, rx) = unbounded();
        let steps = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let reader = Reader { id: TaskId { stage: 1, index: 0 }, rx, wanted: 1, steps: steps.clone() };
        let (status, reports) = unbounded();
        let env = env(); // a poll interval of the default buffer timeout, 5 ms
        spawn(0, Arc::new(env), vec![Box::new(reader)], status).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        tx.send(1).unwrap();
        assert!(reports.recv().unwrap().1.is_ok());
        // a step at each poll interval at most (10 in 50 ms, more if this thread overslept),
        // and one when the message came: a worker that spun would step it thousands of times
        let steps = steps.load(std::sync::atomic::Ordering::Relaxed);
        assert!((2..=50).contains(&steps), "{steps} steps");
    }
}
