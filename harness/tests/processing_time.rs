//! Processing-time windows on both engines close on the engine's clock, as Flink's
//! processing-time windows and Spark's DStreams do: a window fires once the clock passes its
//! end, with no input after it — not when the next record happens to arrive.

mod common;

use common::{Ev, MaxPerWindow};
use flowmark_core::clock::monotonic_now;
use flowmark_core::output::Emission;
use flowmark_core::time::MILLISECOND;
use flowmark_core::{Entry, Expected, Metrics, Time, TimeDomain, VecLog};
use flowmark_reference::Input;
use std::sync::Arc;

/// Windows with no allowed lateness.
const JOB: MaxPerWindow = MaxPerWindow(0);

const END: Time = 1_600 * MILLISECOND;
/// When the input resumes after the gap.
const RESUMES: Time = 1_200 * MILLISECOND;

/// Two records in [0, 100 ms) of arrival time (event times far in the past: in processing
/// time they count where they arrive), one on that window's end — the only record of
/// [100 ms, 200 ms) — then nothing until 1.2 s.
fn log() -> VecLog<Ev> {
    let ms = MILLISECOND;
    let entries = [(10 * ms, 5), (99 * ms, 7), (100 * ms, 100), (RESUMES, 1)];
    let entries = entries.iter().map(|&(arrival, v)| Entry { arrival, time: 0, event: (1, v) }).collect();
    VecLog::new(vec![entries]).unwrap()
}

/// The emission of window [100 ms, 200 ms), after checking the whole output against the
/// reference.
fn second_window(engine: &str, emitted: &[Emission]) -> Emission {
    let out = flowmark_reference::run(&JOB, &log(), Input { end: END, domain: TimeDomain::Processing });
    let verdict = Expected::from_lines(out.lines("max")).check(emitted.iter().map(|e| &e.line));
    assert!(verdict.is_exact(), "{engine}: {verdict:?}");
    let value = |id: String| -> Vec<&Emission> { emitted.iter().filter(|e| e.line.id == id).collect() };
    let first = value(format!("1 [0,{})", 100 * MILLISECOND));
    assert_eq!(first.len(), 1, "{engine}: {emitted:#?}");
    assert_eq!(first[0].line.value, "7", "{engine}: the record at 100 ms is in the next window");
    let second = value(format!("1 [{},{})", 100 * MILLISECOND, 200 * MILLISECOND));
    let [second] = second.as_slice() else { panic!("{engine}: {emitted:#?}") };
    assert_eq!(second.line.value, "100");
    (*second).clone()
}

fn scratch(name: &str) -> tempfile::TempDir {
    common::scratch(&format!("processing-time-{name}"))
}

#[test]
fn dataflow_fires_a_processing_time_window_on_its_timer() {
    let scratch_dir = scratch("dataflow");
    let mut config = flowmark_dataflow::Config::new(scratch_dir.path(), monotonic_now(), END);
    config.parallelism = 1;
    config.domain = TimeDomain::Processing;
    flowmark_dataflow::run(&JOB, &log(), &config, Arc::new(Metrics::default())).unwrap();
    let emitted = flowmark_dataflow::output::read_committed(&config.output_dir).unwrap();
    let second = second_window("dataflow", &emitted);
    assert!(
        (200 * MILLISECOND..RESUMES - 500 * MILLISECOND).contains(&second.emitted),
        "fired at {} ms, not on the clock passing 200 ms",
        second.emitted / MILLISECOND
    );
}

#[test]
fn microbatch_fires_a_processing_time_window_with_the_batch_it_ends_in() {
    let scratch_dir = scratch("microbatch");
    let mut config = flowmark_microbatch::Config::new(scratch_dir.path(), monotonic_now(), END);
    config.parallelism = 1;
    config.interval = 100 * MILLISECOND;
    config.cut_at_ticks = true;
    config.domain = TimeDomain::Processing;
    flowmark_microbatch::run(&JOB, &log(), &config, Arc::new(Metrics::default())).unwrap();
    let emitted =
        flowmark_microbatch::logs::read_committed(&config.checkpoint_dir, &config.output_dir).unwrap();
    let second = second_window("microbatch", &emitted);
    // the batch cut at 200 ms holds [100 ms, 200 ms) whole and closes it; the one cut at
    // 300 ms would be a batch late
    assert_eq!(second.commit, Some(2), "emitted at {} ms", second.emitted / MILLISECOND);
}
