//! The executor pool: runs a stage's tasks on `parallelism` threads. A task that fails (panics)
//! is run again from its inputs — lineage: a map task re-reads its offset range or its parent
//! stage's output, a reduce task reloads its partition's state from the last committed version
//! — without restarting the batch or the process.

use crate::config::Faults;
use crate::error::EngineError;
use flowmark_core::{LogClock, Metrics};
use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A task: called with its attempt number (0 first) until it returns.
pub type Task<'a, O> = Box<dyn FnMut(u32) -> O + Send + 'a>;

/// Attempts of one task before its batch fails.
const MAX_ATTEMPTS: u32 = 4;

/// Runs stages of tasks.
pub struct Executor {
    parallelism: usize,
    faults: Faults,
    failed: AtomicBool,
    stage: AtomicUsize,
    clock: LogClock,
    metrics: Arc<Metrics>,
}

impl Executor {
    /// A pool of `parallelism` threads (started per stage).
    pub fn new(parallelism: usize, faults: Faults, clock: LogClock, metrics: Arc<Metrics>) -> Self {
        Executor {
            parallelism,
            faults,
            failed: AtomicBool::new(false),
            stage: AtomicUsize::new(0),
            clock,
            metrics,
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
        let queue = Mutex::new(tasks.into_iter().enumerate().collect::<VecDeque<_>>());
        let results: Mutex<Vec<Option<Result<O, EngineError>>>> = Mutex::new((0..n).map(|_| None).collect());
        std::thread::scope(|s| {
            for _ in 0..self.parallelism.min(n) {
                s.spawn(|| {
                    loop {
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                        let Some((i, mut task)) = next else { break };
                        let r = self.attempts(stage, i, &mut task);
                        results.lock().unwrap_or_else(|e| e.into_inner())[i] = Some(r);
                    }
                });
            }
        });
        results
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .into_iter()
            .map(|r| r.expect("every task ran"))
            .collect()
    }

    fn attempts<O>(&self, stage: usize, task: usize, f: &mut Task<'_, O>) -> Result<O, EngineError> {
        let mut last = String::new();
        for attempt in 0..MAX_ATTEMPTS {
            let r = std::panic::catch_unwind(AssertUnwindSafe(|| {
                self.inject(stage, task, attempt);
                f(attempt)
            }));
            match r {
                Ok(o) => return Ok(o),
                Err(p) => {
                    last = p
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_else(|| "task panicked".into());
                    self.metrics.restarts.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        Err(EngineError::TaskFailed { stage, task, attempts: MAX_ATTEMPTS, message: last })
    }

    fn inject(&self, stage: usize, task: usize, attempt: u32) {
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
        {
            let now = self.clock.now();
            if now >= s.from && now < s.until {
                std::thread::sleep(std::time::Duration::from_nanos(s.delay.max(0) as u64));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TaskFault;

    #[test]
    fn runs_in_order_and_recomputes_a_failed_task() {
        let faults = Faults { task_failure: Some(TaskFault { stage: 1, task: 2, at: 0 }), straggler: None };
        let metrics = Arc::new(Metrics::default());
        let ex = Executor::new(2, faults, LogClock::starting_now(), metrics.clone());
        let tasks: Vec<Task<'_, usize>> =
            (0..5usize).map(|i| Box::new(move |_: u32| i * 10) as Task<'_, usize>).collect();
        assert_eq!(ex.run(tasks).unwrap(), vec![0, 10, 20, 30, 40]);
        let attempts = Mutex::new(Vec::new());
        let tasks: Vec<Task<'_, usize>> = (0..4usize)
            .map(|i| {
                let attempts = &attempts;
                Box::new(move |a: u32| {
                    attempts.lock().unwrap().push((i, a));
                    i
                }) as Task<'_, usize>
            })
            .collect();
        assert_eq!(ex.run(tasks).unwrap(), vec![0, 1, 2, 3]);
        // task 2 of stage 1 failed once (before it ran) and succeeded on its second attempt
        assert!(attempts.lock().unwrap().contains(&(2, 1)));
        assert_eq!(metrics.restarts.load(Ordering::Relaxed), 1);
    }
}
