//! Failures: SIGKILL of the engine process at seeded random moments — at least once between a
//! batch's offset-log write and its commit-log write — with restarts that have nothing in
//! memory; a task failure recomputed from lineage without restarting anything; corrupt and
//! truncated state files detected and passed over.

mod common;

use common::*;
use flowmark_core::Metrics;
use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_microbatch::{Config, TaskFault};
use flowmark_workloads::LogSpec;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

const WORKER: &str = "FLOWMARK_TEST_MICROBATCH_WORKER";

#[derive(serde::Serialize, serde::Deserialize)]
struct WorkerSpec {
    config: Config,
    log: LogSpec,
}

/// The entry point of worker processes (does nothing in a normal test run).
#[test]
fn worker_entry() {
    let Ok(path) = std::env::var(WORKER) else { return };
    let spec: WorkerSpec = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let (job, log) = crash_job(&spec.log);
    flowmark_microbatch::run(&job, &log, &spec.config, Arc::new(Metrics::default())).unwrap();
}

fn worker(dir: &Path, spec: &WorkerSpec, n: usize) -> std::process::Command {
    let path = dir.join(format!("worker-{n}.json"));
    std::fs::write(&path, serde_json::to_string(spec).unwrap()).unwrap();
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "worker_entry", "--test-threads", "1", "--nocapture"])
        .env(WORKER, &path)
        .stdout(std::process::Stdio::null());
    cmd
}

fn spawn_worker(dir: &Path, spec: &WorkerSpec, n: usize) -> std::process::Child {
    worker(dir, spec, n).spawn().unwrap()
}

fn newest(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).max().unwrap_or(0))
        .unwrap_or(0)
}

fn spec(dir: &Path) -> WorkerSpec {
    let mut config = Config::new(dir, monotonic_now(), 4 * SECOND);
    config.parallelism = 2;
    config.interval = 100 * MILLISECOND;
    config.snapshot_every = 3;
    WorkerSpec { config, log: log_spec(21, 20_000.0, 500 * MILLISECOND) }
}

/// Kills a worker after `after`, or (with `between_logs`) at the first moment after that when
/// a batch's offsets are logged and its commit is not; returns whether it was killed there.
fn kill(dir: &Path, spec: &WorkerSpec, n: usize, after: Duration, between_logs: bool) -> bool {
    let mut child = spawn_worker(dir, spec, n);
    let started = Instant::now();
    let (offsets, commits) =
        (spec.config.checkpoint_dir.join("offsets"), spec.config.checkpoint_dir.join("commits"));
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("worker {n} ended by itself ({status}) before it could be killed");
        }
        let in_flight = newest(&offsets) > newest(&commits);
        if started.elapsed() >= after && (!between_logs || in_flight) {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            // only a kill that left a logged, uncommitted batch behind counts
            return newest(&offsets) > newest(&commits);
        }
        assert!(started.elapsed() < Duration::from_secs(20), "worker {n} never ran a batch");
        std::thread::sleep(Duration::from_micros(200));
    }
}

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    let mut rng = 7u64;
    let mut pick = |lo: u64, hi: u64| {
        rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        lo + (rng >> 33) % (hi - lo)
    };
    let scratch_dir = scratch("crash");
    let dir = scratch_dir.path();
    let spec = spec(dir);
    let mut between = false;
    for n in 0..4 {
        between |= kill(dir, &spec, n, Duration::from_millis(pick(200, 700)), n % 2 == 1);
    }
    assert!(between, "no kill landed between an offset-log write and its commit");
    let status = spawn_worker(dir, &spec, 99).wait().unwrap();
    assert!(status.success());
    let v = check_output(&spec.config, &spec.log);
    assert!(v.is_exact(), "{v:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_failed_task_is_recomputed_without_restarting_anything() {
    // stage 0 reads the input; stage 1 is the window's reduce stage
    for stage in [0, 1] {
        let scratch_dir = scratch(&format!("task-failure-{stage}"));
        let dir = scratch_dir.path();
        let mut spec = spec(dir);
        spec.config.end = 2 * SECOND;
        spec.config.faults.task_failure = Some(TaskFault { stage, task: 1, at: SECOND });
        let (job, log) = crash_job(&spec.log);
        let metrics = Arc::new(Metrics::default());
        let summary = flowmark_microbatch::run(&job, &log, &spec.config, metrics.clone()).unwrap();
        assert_eq!(summary.resumed_after, 0);
        assert_eq!(metrics.restarts.load(std::sync::atomic::Ordering::Relaxed), 1, "one task recomputed");
        let v = check_output(&spec.config, &spec.log);
        assert!(v.is_exact(), "stage {stage}: {v:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}

fn damage_newest_state_and_recover(name: &str, damage: impl Fn(&Path)) {
    let scratch_dir = scratch(name);
    let dir = scratch_dir.path();
    let spec = spec(dir);
    // run until a few snapshots exist, then kill
    let mut child = spawn_worker(dir, &spec, 0);
    let started = Instant::now();
    while newest(&spec.config.checkpoint_dir.join("commits")) < 10 {
        assert!(started.elapsed() < Duration::from_secs(20));
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // damage the newest snapshot of operator 0, partition 0
    let state = spec.config.checkpoint_dir.join("state/0/0");
    let mut snapshots: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "snapshot"))
        .collect();
    snapshots.sort();
    let newest_snapshot = snapshots.last().unwrap().clone();
    damage(&newest_snapshot);
    let (job, log) = crash_job(&spec.log);
    let summary = flowmark_microbatch::run(&job, &log, &spec.config, Arc::new(Metrics::default())).unwrap();
    assert!(summary.resumed_after >= 10);
    let v = check_output(&spec.config, &spec.log);
    assert!(v.is_exact(), "{name}: {v:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_corrupt_state_file_is_passed_over() {
    damage_newest_state_and_recover("corrupt", |f| {
        let mut b = std::fs::read(f).unwrap();
        let i = b.len() - 1;
        b[i] ^= 0x77;
        std::fs::write(f, b).unwrap();
    });
}

#[test]
fn a_truncated_state_file_is_passed_over() {
    damage_newest_state_and_recover("truncated", |f| {
        let b = std::fs::read(f).unwrap();
        std::fs::write(f, &b[..b.len() / 3]).unwrap();
    });
}

#[test]
fn a_straggling_task_is_overtaken_by_a_speculative_copy() {
    let scratch_dir = scratch("straggler");
    let dir = scratch_dir.path();
    let mut config = replay(dir, 4, 500 * MILLISECOND, 3 * SECOND);
    // every batch's input task 1 would take ten seconds; its copies do not straggle
    config.faults.straggler = Some(flowmark_microbatch::Straggler {
        stage: 0,
        task: 1,
        from: 0,
        until: i64::MAX,
        delay: 10 * SECOND,
    });
    config.speculation = Some(1.5);
    let log = log_spec(4, 20_000.0, 500 * MILLISECOND);
    let (job, words) = crash_job(&log);
    let metrics = Arc::new(Metrics::default());
    let summary = flowmark_microbatch::run(&job, &words, &config, metrics.clone()).unwrap();
    let speculated = metrics.speculated.load(std::sync::atomic::Ordering::Relaxed);
    assert!(speculated >= summary.batches - 1, "{speculated} copies for {} batches", summary.batches);
    let v = check_output(&config, &log);
    assert!(v.is_exact(), "{v:?}");
    std::fs::remove_dir_all(dir).unwrap();
}

/// Each storage fault at each kind of file the engine writes — the offset log, the commit
/// log, state deltas and snapshots, results: the engine fails with an error naming the file
/// (or, for a torn write, dies), nothing half-written is loaded, and once the fault is gone a
/// restart recovers to exactly the reference's results.
#[test]
fn a_storage_fault_fails_the_engine_naming_the_file_and_a_restart_recovers_exactly() {
    use flowmark_microbatch::{StorageFault, StorageFaultKind};
    for kind in StorageFaultKind::ALL {
        let says = kind.message();
        for files in ["offsets", "commits", ".delta", ".snapshot", "output"] {
            let what = format!("{kind:?} writing {files}");
            let scratch_dir = scratch(&format!("disk-{kind:?}{files}"));
            let dir = scratch_dir.path();
            let mut spec = spec(dir);
            spec.config = replay(dir, 2, 100 * MILLISECOND, 4 * SECOND);
            spec.config.faults.storage = Some(StorageFault { kind, files: files.into(), nth: 3 });
            let out = worker(dir, &spec, 0).stderr(std::process::Stdio::piped()).output().unwrap();
            let said = String::from_utf8_lossy(&out.stderr);
            assert!(!out.status.success(), "{what}: the engine went on");
            assert!(said.contains(says), "{what}: {said}");
            if kind != StorageFaultKind::Torn {
                assert!(said.contains(files) && said.contains(".tmp"), "{what}: names the file: {said}");
            }
            spec.config.faults.storage = None;
            assert!(spawn_worker(dir, &spec, 1).wait().unwrap().success(), "{what}: the restart failed");
            let v = check_output(&spec.config, &spec.log);
            assert!(v.is_exact(), "{what}: {v:?}");
        }
    }
}
