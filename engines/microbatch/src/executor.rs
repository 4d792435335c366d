//! The executor pool: runs a stage's tasks on `parallelism` threads. A task that fails (panics)
//! is run again from its inputs — lineage: a map task re-reads its offset range or its parent
//! stage's output, a reduce task reloads its partition's state from the last committed version
//! — without restarting the batch or the process.

use crate::config::Faults;
use crate::error::EngineError;
use flowmark_core::cpu::{TaskCpu, count_task_cpu};
use flowmark_core::{LogClock, Metrics};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A task's code: called with its attempt number and a flag that is set once another copy of
/// the task has finished (a task checks it between chunks and gives up: Spark's task kill).
pub type Work<'a, O> = Box<dyn FnMut(u32, &AtomicBool) -> O + Send + 'a>;

/// A task: its work, and optionally a second instance of it to run as a speculative copy.
pub struct Task<'a, O> {
    work: Work<'a, O>,
    spare: Option<Work<'a, O>>,
}

impl<'a, O> Task<'a, O> {
    /// A task that is never copied.
    pub fn new(work: Work<'a, O>) -> Self {
        Task { work, spare: None }
    }

    /// A task that may be copied when it straggles (its work must be a pure function of its
    /// inputs).
    pub fn speculatable(work: Work<'a, O>, spare: Work<'a, O>) -> Self {
        Task { work, spare: Some(spare) }
    }
}

/// Attempts of one task before its batch fails.
const MAX_ATTEMPTS: u32 = 4;

/// When a stage has finished this share of its tasks, the ones still running are candidates
/// for speculation (Spark's `spark.speculation.quantile`).
const SPECULATION_QUANTILE: f64 = 0.75;

/// Runs stages of tasks.
pub struct Executor {
    parallelism: usize,
    speculation: Option<f64>,
    faults: Faults,
    failed: AtomicBool,
    stage: AtomicUsize,
    clock: LogClock,
    metrics: Arc<Metrics>,
}

struct Progress {
    started: Option<Instant>,
    took: Option<Duration>,
    copied: bool,
}

impl Executor {
    /// A pool of `parallelism` threads (started per stage); with `speculation`, a task running
    /// longer than that multiple of its stage's median gets a speculative copy.
    pub fn new(
        parallelism: usize,
        speculation: Option<f64>,
        faults: Faults,
        clock: LogClock,
        metrics: Arc<Metrics>,
    ) -> Self {
        Executor {
            parallelism,
            speculation,
            faults,
            failed: AtomicBool::new(false),
            stage: AtomicUsize::new(0),
            clock,
            metrics,
        }
    }

    /// Counts what the tasks of the stage that ran last took in: `records[j]` for task `j`
    /// (stages are numbered in the order a batch runs them, the same in every batch).
    pub fn took(&self, records: impl IntoIterator<Item = u64>) {
        let stage = self.stage.load(Ordering::Relaxed).saturating_sub(1);
        for (j, n) in records.into_iter().enumerate() {
            self.metrics.task(&format!("stage {stage}"), j as u32).took(n as usize);
        }
    }

    /// Starts counting stages for a new batch.
    pub fn new_batch(&self) {
        self.stage.store(0, Ordering::Relaxed);
    }

    /// Runs the tasks of one stage; returns their results in task order.
    pub fn run<'a, O: Send>(&self, tasks: Vec<Task<'a, O>>) -> Result<Vec<O>, EngineError> {
        let stage = self.stage.fetch_add(1, Ordering::Relaxed);
        let n = tasks.len();
        let (works, spares): (Vec<_>, Vec<_>) = tasks.into_iter().map(|t| (t.work, t.spare)).unzip();
        let queue = Mutex::new(works.into_iter().enumerate().collect::<VecDeque<_>>());
        let spares = Mutex::new(spares);
        let done: Vec<AtomicBool> = (0..n).map(|_| AtomicBool::new(false)).collect();
        let results: Mutex<Vec<Option<Result<O, EngineError>>>> = Mutex::new((0..n).map(|_| None).collect());
        let progress: Mutex<Vec<Progress>> =
            Mutex::new((0..n).map(|_| Progress { started: None, took: None, copied: false }).collect());
        let finish = |i: usize, r: Result<O, EngineError>, started: Instant| {
            if !done[i].swap(true, Ordering::AcqRel) {
                locked(&results)[i] = Some(r);
                locked(&progress)[i].took = Some(started.elapsed());
            }
        };
        std::thread::scope(|s| {
            for _ in 0..self.parallelism.min(n) {
                s.spawn(|| {
                    let _cpu = TaskCpu::new(&self.metrics);
                    loop {
                        count_task_cpu(&self.metrics);
                        let next = locked(&queue).pop_front();
                        let Some((i, mut work)) = next else { break };
                        let started = Instant::now();
                        locked(&progress)[i].started = Some(started);
                        let r = self.attempts(stage, i, &mut work, &done[i], false);
                        finish(i, r, started);
                    }
                });
            }
            let Some(multiple) = self.speculation else { return };
            while done.iter().any(|d| !d.load(Ordering::Acquire)) {
                std::thread::sleep(Duration::from_millis(1));
                let mut p = locked(&progress);
                let mut took: Vec<Duration> = p.iter().filter_map(|t| t.took).collect();
                if (took.len() as f64) < SPECULATION_QUANTILE * n as f64 || took.is_empty() {
                    continue;
                }
                took.sort();
                let threshold = took[took.len() / 2].mul_f64(multiple).max(Duration::from_millis(5));
                for i in 0..n {
                    let slow = p[i].started.is_some_and(|t| t.elapsed() > threshold);
                    if slow && p[i].took.is_none() && !p[i].copied && !done[i].load(Ordering::Acquire) {
                        let Some(mut spare) = locked(&spares)[i].take() else { continue };
                        p[i].copied = true;
                        self.metrics.speculated.fetch_add(1, Ordering::Relaxed);
                        let (done, finish) = (&done, &finish);
                        s.spawn(move || {
                            let _cpu = TaskCpu::new(&self.metrics);
                            let started = Instant::now();
                            let r = self.attempts(stage, i, &mut spare, &done[i], true);
                            finish(i, r, started);
                        });
                    }
                }
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|r| r.expect("every task ran"))
            .collect()
    }

    fn attempts<O>(
        &self,
        stage: usize,
        task: usize,
        f: &mut Work<'_, O>,
        done: &AtomicBool,
        copy: bool,
    ) -> Result<O, EngineError> {
        let mut last = String::new();
        for attempt in 0..MAX_ATTEMPTS {
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                self.inject(stage, task, attempt, copy, done);
                flowmark_core::CpuTax::levy(self.faults.cpu_tax, || f(attempt, done))
            }));
            match r {
                Ok(o) => return Ok(o),
                Err(p) => {
                    last = flowmark_core::panic_message(&*p);
                    self.metrics.failure(self.clock.now(), false);
                }
            }
        }
        Err(EngineError::TaskFailed { stage, task, attempts: MAX_ATTEMPTS, message: last })
    }

    fn inject(&self, stage: usize, task: usize, attempt: u32, copy: bool, done: &AtomicBool) {
        if let Some(f) = self.faults.task_failure
            && f.stage == stage
            && f.task == task
            && self.clock.now() >= f.at
            && !self.failed.swap(true, Ordering::AcqRel)
        {
            panic!("injected failure of task {stage}.{task} at log time {}", f.at);
        }
        if let Some(s) = self.faults.straggler
            && s.stage == stage
            && s.task == task
            && attempt == 0
            && !copy
        {
            let now = self.clock.now();
            if now >= s.from && now < s.until {
                // slow, in slices, so that a finished copy can stop it
                let until = Instant::now() + Duration::from_nanos(s.delay.max(0) as u64);
                while Instant::now() < until && !done.load(Ordering::Acquire) {
                    std::thread::sleep(Duration::from_millis(1).min(until - Instant::now()));
                }
            }
        }
    }
}

fn locked<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TaskFault;

    #[test]
    fn runs_in_order_and_recomputes_a_failed_task() {
        let faults =
            Faults { task_failure: Some(TaskFault { stage: 1, task: 2, at: 0 }), ..Faults::default() };
        let metrics = Arc::new(Metrics::default());
        let ex = Executor::new(2, None, faults, LogClock::starting_now(), metrics.clone());
        let tasks: Vec<Task<'_, usize>> =
            (0..5usize).map(|i| Task::new(Box::new(move |_, _| i * 10))).collect();
        assert_eq!(ex.run(tasks).unwrap(), vec![0, 10, 20, 30, 40]);
        let attempts = Mutex::new(Vec::new());
        let tasks: Vec<Task<'_, usize>> = (0..4usize)
            .map(|i| {
                let attempts = &attempts;
                Task::new(Box::new(move |a, _| {
                    attempts.lock().unwrap().push((i, a));
                    i
                }))
            })
            .collect();
        assert_eq!(ex.run(tasks).unwrap(), vec![0, 1, 2, 3]);
        // task 2 of stage 1 failed once (before it ran) and succeeded on its second attempt
        assert!(attempts.lock().unwrap().contains(&(2, 1)));
        assert_eq!(metrics.restarts.load(Ordering::Relaxed), 1);
    }

    #[test]
    fn a_straggler_is_overtaken_by_its_speculative_copy() {
        let straggler =
            crate::config::Straggler { stage: 0, task: 3, from: 0, until: i64::MAX, delay: 60_000_000_000 };
        let faults = Faults { straggler: Some(straggler), ..Faults::default() };
        let metrics = Arc::new(Metrics::default());
        let ex = Executor::new(2, Some(1.5), faults, LogClock::starting_now(), metrics.clone());
        let work = |i: usize| -> Work<'_, usize> {
            Box::new(move |_, _| {
                std::thread::sleep(Duration::from_millis(5));
                i
            })
        };
        let tasks: Vec<Task<'_, usize>> = (0..4).map(|i| Task::speculatable(work(i), work(i))).collect();
        // without the copy this stage would take a minute
        assert_eq!(ex.run(tasks).unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(metrics.speculated.load(Ordering::Relaxed), 1);
    }
}
