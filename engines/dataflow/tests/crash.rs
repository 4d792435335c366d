//! Crash recovery: the engine process is killed with SIGKILL (not stopped) at seeded random
//! moments — one of them while a checkpoint file is being written — and restarted each time
//! with nothing in memory. The committed output must equal the reference exactly: nothing
//! lost, nothing duplicated.

mod common;

use common::*;
use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_dataflow::{CheckpointMode, Config, Delivery, Straggler};
use std::time::{Duration, Instant};

/// The entry point of worker processes (does nothing in a normal test run).
#[test]
fn worker_entry() {
    worker_main();
}

fn spec(dir: &std::path::Path, delivery: Delivery) -> WorkerSpec {
    let mut config = Config::new(dir, monotonic_now(), 4 * SECOND);
    config.parallelism = 2;
    config.checkpoint_interval = Some(150 * MILLISECOND);
    config.delivery = delivery;
    WorkerSpec { config, log: log_spec(21, 20_000.0, 500 * MILLISECOND) }
}

/// Kills a worker at `after`, or (with `during_write`) the first time a checkpoint file is
/// being written after that; returns whether it was killed mid-write.
fn kill_at(dir: &std::path::Path, spec: &WorkerSpec, n: usize, after: Duration, during_write: bool) -> bool {
    let mut child = spawn_worker(dir, spec, n);
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("worker {n} ended by itself ({status}) before it could be killed");
        }
        let writing = writing_checkpoint(&spec.config.checkpoint_dir);
        if started.elapsed() >= after && (!during_write || writing) {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
            return writing;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "worker {n} never wrote a checkpoint");
        std::thread::sleep(Duration::from_micros(500));
    }
}

fn crash_repeatedly(delivery: Delivery, seed: u64) -> flowmark_core::Verdict {
    let scratch_dir = scratch(&format!("crash-{delivery:?}-{seed}"));
    let dir = scratch_dir.path();
    let mut spec = spec(dir, delivery);
    let mut rng = seed;
    let mut killed_mid_write = false;
    for n in 0..4 {
        let during_write = n == 1;
        // the incarnation to be killed mid-write writes slowly, to leave a window for it
        spec.config.faults.slow_checkpoint_write = during_write.then_some(200 * MILLISECOND);
        let after = Duration::from_millis(pick(&mut rng, 150, 700));
        killed_mid_write |= kill_at(dir, &spec, n, after, during_write);
    }
    assert!(killed_mid_write, "no kill landed while a checkpoint was being written");
    // the last incarnation runs to the end
    spec.config.faults.slow_checkpoint_write = None;
    let status = spawn_worker(dir, &spec, 99).wait().unwrap();
    assert!(status.success(), "the final worker failed: {status}");
    let verdict = check_output(&spec);
    std::fs::remove_dir_all(dir).unwrap();
    verdict
}

#[test]
fn sigkill_at_random_moments_loses_and_duplicates_nothing() {
    for seed in [1, 2] {
        let v = crash_repeatedly(Delivery::ExactlyOnce, seed);
        assert!(v.is_exact(), "seed {seed}: {v:?}");
    }
}

#[test]
fn at_least_once_delivery_shows_its_duplicates_after_a_crash() {
    let v = crash_repeatedly(Delivery::AtLeastOnce, 3);
    assert_eq!((v.missing, v.wrong, v.unexpected), (0, 0, 0), "{v:?}");
    assert!(v.duplicated > 0, "replayed results were not seen twice: {v:?}");
}

/// Whether a complete checkpoint under `checkpoints` stored data in flight.
fn stored_in_flight(checkpoints: &std::path::Path) -> bool {
    use flowmark_dataflow::checkpoint::storage;
    storage::checkpoint_ids(checkpoints).unwrap().into_iter().any(|id| {
        storage::read_checkpoint(checkpoints, id)
            .is_ok_and(|c| c.tasks.values().any(|t| !t.in_flight.is_empty()))
    })
}

#[test]
fn unaligned_checkpoints_store_the_data_in_flight_and_recover_exactly_from_it() {
    for seed in [4, 5] {
        let scratch_dir = scratch(&format!("unaligned-{seed}"));
        let dir = scratch_dir.path();
        let mut spec = spec(dir, Delivery::ExactlyOnce);
        spec.config.checkpoint_mode = CheckpointMode::Unaligned;
        // input for longer than three incarnations can last, however slowly they start: each
        // must still be reading when it is killed
        spec.config.end = 8 * SECOND;
        // one window task slower than its input: its channels fill, the barriers overtake
        spec.config.channel_capacity = 8;
        let slow = Straggler { stage: 1, task: 0, from: 0, until: 8 * SECOND, delay: 4 * MILLISECOND };
        spec.config.faults.straggler = Some(slow);
        let mut rng = seed;
        let mut in_flight = false;
        for n in 0..3 {
            let after = Duration::from_millis(pick(&mut rng, 600, 1500));
            kill_at(dir, &spec, n, after, false);
            in_flight |= stored_in_flight(&spec.config.checkpoint_dir);
        }
        assert!(in_flight, "seed {seed}: no checkpoint stored data in flight");
        let status = spawn_worker(dir, &spec, 99).wait().unwrap();
        assert!(status.success(), "the final worker failed: {status}");
        let verdict = check_output(&spec);
        assert!(verdict.is_exact(), "seed {seed}: {verdict:?}");
    }
}

/// Each storage fault at each kind of file the engine writes: the engine fails with an error
/// naming the file (or, for a torn write, dies), nothing half-written is loaded, and once the
/// fault is gone a restart recovers to exactly the reference's results.
#[test]
fn a_storage_fault_fails_the_engine_naming_the_file_and_a_restart_recovers_exactly() {
    use flowmark_dataflow::{StorageFault, StorageFaultKind};
    for kind in StorageFaultKind::ALL {
        let says = kind.message();
        for files in ["task-", "_metadata", "pending"] {
            let what = format!("{kind:?} writing {files}");
            let scratch_dir = scratch(&format!("disk-{kind:?}-{files}"));
            let dir = scratch_dir.path();
            let mut spec = spec(dir, Delivery::ExactlyOnce);
            spec.config = catch_up(dir, 2, 30 * SECOND);
            // a checkpoint every 5 ms: enough of them in a run that reads as fast as it can
            spec.config.checkpoint_interval = Some(5 * MILLISECOND);
            spec.config.faults.storage = Some(StorageFault { kind, files: files.into(), nth: 3 });
            let (ok, said) = run_worker(dir, &spec, 0);
            assert!(!ok, "{what}: the engine went on: {said}");
            assert!(said.contains(says), "{what}: {said}");
            if kind != StorageFaultKind::Torn {
                assert!(said.contains(files) && said.contains(".tmp"), "{what}: names the file: {said}");
            }
            spec.config.faults.storage = None;
            let (ok, said) = run_worker(dir, &spec, 1);
            assert!(ok, "{what}: the restart failed: {said}");
            let verdict = check_output(&spec);
            assert!(verdict.is_exact(), "{what}: {verdict:?}");
        }
    }
}
