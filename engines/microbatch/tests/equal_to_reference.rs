//! Every job of the workloads crate, in event time with disorder and very late events, gives
//! exactly the reference engine's results at parallelism 1 and 2, for batch intervals from
//! 100 ms to 5 s — and drops exactly the late events the reference drops. In processing time it
//! equals the reference fed the same events in arrival order.

mod common;

use common::{Compare, edge_log_spec, log_spec, replay, scratch};
use flowmark_core::time::{MILLISECOND, SECOND, human};
use flowmark_core::{Time, TimeDomain};
use flowmark_workloads::{LogSpec, WorkloadSpec};

/// Runs `w` over `log` and checks the committed results and the late count against the
/// reference's.
fn matches_the_reference(
    w: &WorkloadSpec,
    log: &LogSpec,
    parallelism: usize,
    interval: Time,
    end: Time,
    what: &str,
) {
    let scratch_dir = scratch(&format!("{}-{}-p{parallelism}-{interval}", w.name(), log.seed));
    let dir = scratch_dir.path();
    let c = w.visit(log, Compare { config: replay(dir, parallelism, interval, end) }).unwrap();
    let what = format!("{} {what} at parallelism {parallelism}, interval {}", w.name(), human(interval));
    assert!(c.expected > 0, "{what}: the reference has no results");
    assert!(c.batches as i64 >= end / interval, "{what}: only {} batches", c.batches);
    assert!(c.verdict.is_exact(), "{what}: {:?} of {} expected", c.verdict, c.expected);
    assert_eq!(c.late_seen, c.late_expected, "{what}: late events");
    std::fs::remove_dir_all(dir).unwrap();
}

fn every_job_matches_the_reference(interval: Time, end: Time) {
    for w in WorkloadSpec::catalog() {
        for parallelism in [1, 2] {
            matches_the_reference(&w, &log_spec(11, 20_000.0, w.bound()), parallelism, interval, end, "");
        }
    }
}

#[test]
fn every_job_matches_the_reference_with_100ms_batches() {
    every_job_matches_the_reference(100 * MILLISECOND, 4 * SECOND);
}

#[test]
fn every_job_matches_the_reference_with_1s_batches() {
    every_job_matches_the_reference(SECOND, 12 * SECOND);
}

#[test]
fn every_job_matches_the_reference_with_5s_batches() {
    every_job_matches_the_reference(5 * SECOND, 12 * SECOND);
}

/// Allowed lateness through every windowed job — NEXMark q5's two chained windows among them
/// — on a log whose watermarks land on window ends and whose late events land on the lateness
/// limit to the nanosecond.
#[test]
fn windowed_jobs_with_allowed_lateness_match_the_reference_on_window_edges() {
    for w in WorkloadSpec::catalog().iter().filter_map(|w| w.with_lateness(SECOND)) {
        for (parallelism, interval) in [(1, SECOND), (2, 300 * MILLISECOND)] {
            let log = edge_log_spec(13, 20_000.0, w.bound());
            matches_the_reference(&w, &log, parallelism, interval, 12 * SECOND, "with 1 s allowed lateness");
        }
    }
}

#[test]
fn processing_time_windows_equal_the_reference_in_arrival_order() {
    let w = &WorkloadSpec::catalog()[0];
    let scratch_dir = scratch("processing-time");
    let dir = scratch_dir.path();
    let mut config = replay(dir, 2, 500 * MILLISECOND, 6 * SECOND);
    config.domain = TimeDomain::Processing;
    let c = w.visit(&log_spec(5, 20_000.0, w.bound()), Compare { config }).unwrap();
    assert!(c.verdict.is_exact(), "{:?}", c.verdict);
    assert_eq!(c.late_seen, 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn back_pressure_reads_a_backlog_in_capped_batches_and_matches() {
    // the whole input has arrived; without back-pressure the first batch would read it all
    let w = &WorkloadSpec::catalog()[0];
    let scratch_dir = scratch("back-pressure");
    let dir = scratch_dir.path();
    let mut config = replay(dir, 2, 200 * MILLISECOND, 6 * SECOND);
    config.cut_at_ticks = false;
    config.backpressure = true;
    config.initial_rate = Some(10_000.0);
    let c = w.visit(&log_spec(3, 20_000.0, w.bound()), Compare { config }).unwrap();
    assert!(c.batches > 3, "the backlog was read in {} batches", c.batches);
    assert!(c.verdict.is_exact(), "{:?}", c.verdict);
    std::fs::remove_dir_all(dir).unwrap();
}
