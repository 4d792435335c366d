//! Every job of the workloads crate, with disorder and very late events, gives exactly the
//! reference engine's results at parallelism 1 and 2 — and drops exactly the late events the
//! reference drops.

mod common;

use common::{Compare, catch_up, edge_log_spec, log_spec, scratch};
use flowmark_core::TimeDomain;
use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_dataflow::{CheckpointMode, Config};
use flowmark_workloads::{LogSpec, WorkloadSpec};

/// Runs `w` over `log` and checks the committed results and the late count against the
/// reference's.
fn matches_the_reference(w: &WorkloadSpec, log: &LogSpec, parallelism: usize, what: &str) {
    let end = 12 * SECOND;
    let scratch_dir = scratch(&format!("{}-{}-p{parallelism}", w.name(), log.seed));
    let dir = scratch_dir.path();
    let c = w.visit(log, Compare { config: catch_up(dir, parallelism, end) }).unwrap();
    let what = format!("{} {what} at parallelism {parallelism}", w.name());
    assert!(c.expected > 0, "{what}: the reference has no results");
    assert!(c.verdict.is_exact(), "{what}: {:?} of {} expected", c.verdict, c.expected);
    assert_eq!(c.late_seen, c.late_expected, "{what}: late events");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn every_job_matches_the_reference_at_parallelism_1_and_2() {
    for w in WorkloadSpec::catalog() {
        for parallelism in [1, 2] {
            matches_the_reference(&w, &log_spec(11, 20_000.0, w.bound()), parallelism, "");
        }
    }
}

/// Allowed lateness through every windowed job — NEXMark q5's two chained windows among them
/// — on a log whose watermarks land on window ends and whose late events land on the lateness
/// limit to the nanosecond.
#[test]
fn windowed_jobs_with_allowed_lateness_match_the_reference_on_window_edges() {
    for w in WorkloadSpec::catalog().iter().filter_map(|w| w.with_lateness(SECOND)) {
        for parallelism in [1, 2] {
            let log = edge_log_spec(13, 20_000.0, w.bound());
            matches_the_reference(&w, &log, parallelism, "with 1 s allowed lateness");
        }
    }
}

/// Unaligned checkpoints every 50 ms of a run that reads as fast as it can (its channels
/// full): barriers overtake the data, which each task processes after its snapshot — and every
/// job still gives the reference's results.
#[test]
fn every_job_matches_the_reference_with_unaligned_checkpoints() {
    for w in WorkloadSpec::catalog() {
        let scratch_dir = scratch(&format!("{}-unaligned", w.name()));
        let dir = scratch_dir.path();
        let mut config = catch_up(dir, 2, 8 * SECOND);
        config.checkpoint_mode = CheckpointMode::Unaligned;
        let c = w.visit(&log_spec(17, 20_000.0, w.bound()), Compare { config }).unwrap();
        assert!(c.verdict.is_exact(), "{}: {:?} of {} expected", w.name(), c.verdict, c.expected);
        assert_eq!(c.late_seen, c.late_expected, "{}: late events", w.name());
    }
}

/// Channels of one buffer of four records, at parallelism 3 on fewer cores: nearly every send
/// finds its channel full, so what the tasks send waits in their exchanges while their workers
/// run the other tasks — the readers of those channels among them — and barriers, aligned or
/// overtaking, wait behind the data. Nothing may hang, and every job gives the reference's
/// results.
#[test]
fn every_job_matches_the_reference_through_channels_that_are_always_full() {
    for w in WorkloadSpec::catalog() {
        for mode in [CheckpointMode::Aligned, CheckpointMode::Unaligned] {
            let scratch_dir = scratch(&format!("{}-full-{mode:?}", w.name()));
            let dir = scratch_dir.path();
            let mut config = catch_up(dir, 3, 4 * SECOND);
            (config.channel_capacity, config.buffer_size, config.checkpoint_mode) = (1, 4, mode);
            let c = w.visit(&log_spec(19, 10_000.0, w.bound()), Compare { config }).unwrap();
            assert!(
                c.verdict.is_exact(),
                "{} {mode:?}: {:?} of {} expected",
                w.name(),
                c.verdict,
                c.expected
            );
            assert_eq!(c.late_seen, c.late_expected, "{} {mode:?}: late events", w.name());
        }
    }
}

#[test]
fn processing_time_windows_match_the_reference_in_arrival_order() {
    let w = &WorkloadSpec::catalog()[0];
    let scratch_dir = scratch("processing-time");
    let dir = scratch_dir.path();
    let mut config = catch_up(dir, 2, 6 * SECOND);
    config.domain = TimeDomain::Processing;
    let c = w.visit(&log_spec(5, 20_000.0, w.bound()), Compare { config }).unwrap();
    assert!(c.verdict.is_exact(), "{:?}", c.verdict);
    assert_eq!(c.late_seen, 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_run_in_real_time_waits_for_arrivals_and_matches() {
    // 1.5 s of input at 10 k events/s, read as it arrives
    let w = &WorkloadSpec::catalog()[0];
    let scratch_dir = scratch("real-time");
    let dir = scratch_dir.path();
    let end = 1_500 * MILLISECOND;
    let mut config = Config::new(dir, monotonic_now(), end);
    config.parallelism = 2;
    config.checkpoint_interval = Some(200 * MILLISECOND);
    let started = std::time::Instant::now();
    let c = w.visit(&log_spec(9, 10_000.0, w.bound()), Compare { config }).unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(1_400), "it read ahead of the schedule");
    assert!(c.verdict.is_exact(), "{:?}", c.verdict);
    std::fs::remove_dir_all(dir).unwrap();
}
