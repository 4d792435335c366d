//! Failures inside the process and on disk: a task that panics restarts the job from its latest
//! checkpoint without the process exiting; a corrupted or truncated checkpoint is detected and
//! passed over for an older one.

mod common;

use common::*;
use flowmark_core::Metrics;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_dataflow::TaskFault;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[test]
fn worker_entry() {
    worker_main();
}

fn real_time_spec(dir: &std::path::Path) -> WorkerSpec {
    let mut config = flowmark_dataflow::Config::new(dir, flowmark_core::clock::monotonic_now(), 3 * SECOND);
    config.parallelism = 2;
    config.checkpoint_interval = Some(150 * MILLISECOND);
    WorkerSpec { config, log: log_spec(8, 20_000.0, 500 * MILLISECOND) }
}

#[test]
fn a_failed_task_restarts_the_job_in_process_and_the_output_is_exact() {
    // at parallelism 1 the keyed stage is chained into the source task, which hosts logical
    // stage 1: a failure named there fails that task
    for (parallelism, stage, task) in [(2, 0, 1), (2, 1, 0), (1, 1, 0)] {
        let scratch_dir = scratch(&format!("task-failure-{parallelism}-{stage}"));
        let dir = scratch_dir.path();
        let mut spec = real_time_spec(dir);
        spec.config.parallelism = parallelism;
        spec.config.faults.task_failure = Some(TaskFault { stage, task, at: 1_500 * MILLISECOND });
        let (job, log) = crash_job(&spec.log);
        let metrics = Arc::new(Metrics::default());
        let summary = flowmark_dataflow::run(&job, &log, &spec.config, metrics.clone()).unwrap();
        assert_eq!(summary.restarts, 1, "task {stage}.{task}");
        let v = check_output(&spec);
        assert!(v.is_exact(), "task {stage}.{task}: {v:?}");
        // late records counted before the failure and again after the restart count once
        let (_, late_expected) = reference(&job, &log, spec.config.end, spec.config.domain);
        assert!(late_expected > 0, "the log has late events");
        let late_seen = metrics.late_events.load(std::sync::atomic::Ordering::Relaxed);
        assert_eq!(late_seen, late_expected, "task {stage}.{task}: late events");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// Runs a worker until it has completed at least three checkpoints, then kills it; returns the
/// newest completed checkpoint.
fn interrupted_run(dir: &std::path::Path, spec: &WorkerSpec) -> u64 {
    let mut child = spawn_worker(dir, spec, 0);
    let started = Instant::now();
    while completed(&spec.config.checkpoint_dir).len() < 3 {
        assert!(started.elapsed() < Duration::from_secs(20), "no checkpoints");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    *completed(&spec.config.checkpoint_dir).last().unwrap()
}

fn damage_and_recover(name: &str, damage: impl Fn(&std::path::Path)) {
    let scratch_dir = scratch(name);
    let dir = scratch_dir.path();
    let spec = real_time_spec(dir);
    let newest = interrupted_run(dir, &spec);
    let file = spec.config.checkpoint_dir.join(format!("chk-{newest:08}")).join("task-1-0");
    damage(&file);
    let (job, log) = crash_job(&spec.log);
    let summary = flowmark_dataflow::run(&job, &log, &spec.config, Arc::new(Metrics::default())).unwrap();
    assert!(
        summary.resumed_from < newest && summary.resumed_from > 0,
        "resumed from {} (newest {newest})",
        summary.resumed_from
    );
    let v = check_output(&spec);
    assert!(v.is_exact(), "{name}: {v:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_corrupted_checkpoint_is_passed_over() {
    damage_and_recover("corrupt", |f| {
        let mut bytes = std::fs::read(f).unwrap();
        let i = bytes.len() - 1;
        bytes[i] ^= 0x5a;
        std::fs::write(f, bytes).unwrap();
    });
}

#[test]
fn a_truncated_checkpoint_is_passed_over() {
    damage_and_recover("truncated", |f| {
        let bytes = std::fs::read(f).unwrap();
        std::fs::write(f, &bytes[..bytes.len() / 2]).unwrap();
    });
}
