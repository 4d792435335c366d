//! Late firings on both engines, emission by emission: a window with allowed lateness fires
//! when the watermark reaches its end, again for a late record that changes its result, not
//! for one that leaves it as it was — so the correctness check never takes a legitimate
//! re-firing for a replayed duplicate — and a record past the lateness is dropped.

mod common;

use common::{Ev, MaxPerWindow};
use flowmark_core::clock::monotonic_now;
use flowmark_core::output::Emission;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Entry, Expected, Metrics, Time, VecLog};
use flowmark_reference::Input;
use std::sync::Arc;

/// Windows that accept input for 1 s after they fire.
const JOB: MaxPerWindow = MaxPerWindow(SECOND);

const END: Time = 2_200 * MILLISECOND;

/// One partition; every record arrives in a 100 ms batch interval of its own, so that the
/// micro-batch engine has fired window [0, 100 ms) before the late records reach it.
fn log() -> VecLog<Ev> {
    let ms = MILLISECOND;
    let entries = [
        (10 * ms, 10 * ms, 5),   // [0,100): 5
        (150 * ms, 150 * ms, 1), // the watermark passes 99 ms: [0,100) fires with 5
        (250 * ms, 250 * ms, 1),
        (350 * ms, 50 * ms, 3), // late, accepted (99 ms + 1 s > 249 ms): max still 5, no firing
        (450 * ms, 60 * ms, 9), // late, accepted: max 9, fires again
        (550 * ms, 70 * ms, 9), // late, accepted: max still 9, no firing
        (2_000 * ms, 2_000 * ms, 1),
        (2_100 * ms, 80 * ms, 100), // wm 1999 ms ≥ 99 ms + 1 s: late, dropped
    ];
    let entries = entries.iter().map(|&(arrival, time, v)| Entry { arrival, time, event: (1, v) }).collect();
    VecLog::new(vec![entries]).unwrap()
}

fn scratch(name: &str) -> tempfile::TempDir {
    common::scratch(&format!("late-firings-{name}"))
}

/// The values emitted for window [0, 100 ms) of key 1, in order, and the check of the whole
/// output against the reference.
fn first_window(emitted: &[Emission]) -> Vec<String> {
    let id = format!("1 [0,{})", 100 * MILLISECOND);
    emitted.iter().filter(|e| e.line.id == id).map(|e| e.line.value.clone()).collect()
}

fn assert_fired_twice_and_exact(engine: &str, emitted: &[Emission]) {
    assert_eq!(first_window(emitted), ["5", "9"], "{engine}: {emitted:#?}");
    let out = flowmark_reference::run(&JOB, &log(), Input { end: END, domain: Default::default() });
    let expected = Expected::from_lines(out.lines("max"));
    let verdict = expected.check(emitted.iter().map(|e| &e.line));
    assert!(verdict.is_exact(), "{engine}: {verdict:?}");
    assert_eq!(out.late_events(), 1);
}

#[test]
fn dataflow_refires_only_for_a_change() {
    let scratch_dir = scratch("dataflow");
    let dir = scratch_dir.path();
    // in real time, so that each record is read (and the watermark advanced) on its own
    let mut config = flowmark_dataflow::Config::new(dir, monotonic_now(), END);
    config.parallelism = 1;
    let metrics = Arc::new(Metrics::default());
    flowmark_dataflow::run(&JOB, &log(), &config, metrics.clone()).unwrap();
    let emitted = flowmark_dataflow::output::read_committed(&config.output_dir).unwrap();
    assert_fired_twice_and_exact("dataflow", &emitted);
    assert_eq!(metrics.late_events.load(std::sync::atomic::Ordering::Relaxed), 1);
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn microbatch_refires_only_for_a_change() {
    let scratch_dir = scratch("microbatch");
    let dir = scratch_dir.path();
    let mut config = flowmark_microbatch::Config::new(dir, monotonic_now() - END - SECOND, END);
    config.parallelism = 1;
    config.interval = 100 * MILLISECOND;
    config.cut_at_ticks = true;
    let metrics = Arc::new(Metrics::default());
    flowmark_microbatch::run(&JOB, &log(), &config, metrics.clone()).unwrap();
    let emitted =
        flowmark_microbatch::logs::read_committed(&config.checkpoint_dir, &config.output_dir).unwrap();
    assert_fired_twice_and_exact("microbatch", &emitted);
    assert_eq!(metrics.late_events.load(std::sync::atomic::Ordering::Relaxed), 1);
    std::fs::remove_dir_all(dir).unwrap();
}
