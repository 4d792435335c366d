//! How wrong processing time is: a run whose windows are on arrival time (DStreams, Flink's
//! processing-time windows) gets results that are exact for *that* definition, and the
//! correctness check confirms it against the processing-time reference. What a user wants to
//! know is how far those results are from the event-time truth — the answer the job was meant
//! to give. This compares every final result of such a run with the event-time reference's
//! result for the same key and window, and counts the input events that arrival time puts in
//! another window than their event time does.

use flowmark_core::output::Emission;
use flowmark_core::{Job, Log, ResultLine, Time, Window};
use flowmark_reports::results::DomainError;
use std::collections::HashMap;

/// The events of `log` that arrived before `end` whose windows under `job`'s window
/// definition differ between their arrival and their event time; `None` when the job has no
/// window over its input that an event's time alone decides (no window, or sessions).
pub fn misplaced<J: Job, L: Log<Event = J::Event>>(job: &J, log: &L, end: Time) -> Option<u64> {
    let windows = job.windows().filter(|w| !w.is_merging())?;
    // the earliest window an instant falls in decides all of them (tumbling and sliding)
    let first = |t: Time| {
        let mut first: Option<Window> = None;
        windows.assign(t, |w| {
            first.get_or_insert(w);
        });
        first
    };
    let mut n = 0;
    for p in 0..log.partitions() {
        let upto = log.arrived_before(p, end) as usize;
        n += log.cursor(p, 0).take(upto).filter(|e| first(e.time) != first(e.arrival)).count() as u64;
    }
    Some(n)
}

/// Compares the run's final results (the last value committed per identity) with the
/// event-time reference's; `events` and `misplaced` are the input's counts.
pub fn compare(
    emitted: &[Emission],
    event_time: &[ResultLine],
    events: u64,
    misplaced: Option<u64>,
) -> DomainError {
    let mut ours: HashMap<&str, &str> = HashMap::with_capacity(emitted.len());
    for e in emitted {
        ours.insert(&e.line.id, &e.line.value);
    }
    let truth: HashMap<&str, &str> = event_time.iter().map(|l| (l.id.as_str(), l.value.as_str())).collect();
    let only_ours = ours.keys().filter(|id| !truth.contains_key(*id)).count() as u64;
    let mut wrong = only_ours;
    let (mut relative, mut numeric) = (0.0, 0u64);
    for (id, value) in &truth {
        let got = ours.get(id).copied();
        if got != Some(*value) {
            wrong += 1;
        }
        // a result processing time never produced counts as zero
        if let Ok(want) = value.parse::<f64>()
            && want != 0.0
            && let Some(got) = got.map_or(Some(0.0), |g| g.parse::<f64>().ok())
        {
            relative += ((got - want) / want).abs();
            numeric += 1;
        }
    }
    DomainError {
        windows: truth.len() as u64 + only_ours,
        wrong_windows: wrong,
        mean_relative_error: (numeric > 0).then(|| relative / numeric as f64),
        events,
        misplaced_events: misplaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::time::MILLISECOND;
    use flowmark_core::{
        Count, Entry, KeyedStream, Runtime, Stream, VecLog, WatermarkStrategy, WindowSpec, Windows,
    };

    /// Counts per key in 100 ms tumbling windows.
    struct Counts;
    impl Job for Counts {
        type Event = u32;
        fn name(&self) -> &'static str {
            "counts"
        }
        fn watermarks(&self) -> WatermarkStrategy {
            WatermarkStrategy::bounded(100 * MILLISECOND)
        }
        fn build<R: Runtime>(&self, input: R::Stream<u32>) {
            input
                .key_by(|k| *k)
                .window(WindowSpec::new(Windows::tumbling(100 * MILLISECOND)), Count)
                .sink("c");
        }
        fn windows(&self) -> Option<Windows> {
            Some(Windows::tumbling(100 * MILLISECOND))
        }
    }

    fn entry(arrival_ms: i64, time_ms: i64, key: u32) -> Entry<u32> {
        Entry { arrival: arrival_ms * MILLISECOND, time: time_ms * MILLISECOND, event: key }
    }

    /// Key 1 has four events in [0, 100 ms) of event time; one of them (event time 95 ms)
    /// arrives at 100 ms, in the next window of arrival time — the edge itself — and one at
    /// 99 ms arrives at 99 ms, still in its own. Key 2's one event arrives 30 ms late, in the
    /// same window. The event arriving after the end does not count.
    fn log() -> VecLog<u32> {
        VecLog::new(vec![
            vec![entry(10, 10, 1), entry(20, 20, 1), entry(99, 99, 1), entry(100, 95, 1)],
            vec![entry(40, 10, 2), entry(300, 120, 1)],
        ])
        .unwrap()
    }

    fn lines(domain: flowmark_core::TimeDomain) -> Vec<ResultLine> {
        let end = 250 * MILLISECOND;
        let out = flowmark_reference::run(&Counts, &log(), flowmark_reference::Input { end, domain });
        out.sinks.into_values().flatten().map(|e| e.line).collect()
    }

    #[test]
    fn a_known_misplacement_is_counted_exactly() {
        assert_eq!(
            misplaced(&Counts, &log(), 250 * MILLISECOND),
            Some(1),
            "only the event arriving on the edge"
        );
        // the event arriving at 300 ms is past an end of 250 ms; with an end of 301 ms it counts
        assert_eq!(misplaced(&Counts, &log(), 301 * MILLISECOND), Some(2));
    }

    #[test]
    fn processing_time_results_are_compared_with_the_event_time_truth() {
        use flowmark_core::TimeDomain::{Event, Processing};
        let emitted: Vec<Emission> = lines(Processing)
            .into_iter()
            .map(|line| Emission { sink: "c".into(), emitted: 0, line, commit: None })
            .collect();
        let e = compare(&emitted, &lines(Event), 5, Some(1));
        // event time: key 1 [0,100) = 4, key 2 [0,100) = 1; processing time: key 1 [0,100) = 3,
        // key 1 [100,200) = 1 (a window event time does not have), key 2 [0,100) = 1
        assert_eq!((e.windows, e.wrong_windows), (3, 2));
        // |3 − 4| / 4 for key 1, 0 for key 2
        assert_eq!(e.mean_relative_error, Some(0.125));
        assert_eq!((e.events, e.misplaced_events), (5, Some(1)));
    }

    #[test]
    fn results_equal_to_the_truth_have_no_error_and_a_missing_one_counts_as_zero() {
        let truth = vec![
            ResultLine { id: "a [0,1)".into(), value: "4".into() },
            ResultLine { id: "b [0,1)".into(), value: "2".into() },
        ];
        let emit = |id: &str, value: &str| Emission {
            sink: "c".into(),
            emitted: 0,
            line: ResultLine { id: id.into(), value: value.into() },
            commit: None,
        };
        // an earlier value of a result is replaced by its last
        let same =
            compare(&[emit("a [0,1)", "3"), emit("a [0,1)", "4"), emit("b [0,1)", "2")], &truth, 6, None);
        assert_eq!((same.windows, same.wrong_windows, same.mean_relative_error), (2, 0, Some(0.0)));
        let missing = compare(&[emit("a [0,1)", "4")], &truth, 6, None);
        assert_eq!((missing.windows, missing.wrong_windows, missing.mean_relative_error), (2, 1, Some(0.5)));
    }

    #[test]
    fn a_job_that_names_no_windows_or_sessions_has_no_misplacement() {
        /// Sessions, or (`named` false) windows the job does not name.
        struct Unnamed(bool);
        impl Job for Unnamed {
            type Event = u32;
            fn name(&self) -> &'static str {
                "unnamed"
            }
            fn watermarks(&self) -> WatermarkStrategy {
                WatermarkStrategy::bounded(0)
            }
            fn build<R: Runtime>(&self, input: R::Stream<u32>) {
                input.key_by(|k| *k).window(WindowSpec::new(Windows::session(MILLISECOND)), Count).sink("c");
            }
            fn windows(&self) -> Option<Windows> {
                self.0.then_some(Windows::session(MILLISECOND))
            }
        }
        assert_eq!(misplaced(&Unnamed(true), &log(), 250 * MILLISECOND), None);
        assert_eq!(misplaced(&Unnamed(false), &log(), 250 * MILLISECOND), None);
    }
}
