//! The reference engine's semantics, checked against expectations computed by hand.
//!
//! Every test builds a small log of `(key, value)` events with chosen arrival and event times,
//! runs a job over it, and compares the results with values worked out in the comments.

use flowmark_core::{
    Entry, Job, KeyedStream, Output, Runtime, Stream, Sum, Time, TimeDomain, VecLog, WatermarkStrategy,
    Window, WindowResult, WindowSpec, Windows,
};
use flowmark_reference::{Input, Late, run};
use serde::{Deserialize, Serialize};
use std::fmt::Write;

type Ev = (u32, i64);

/// A partition from `(arrival, event time, key, value)`.
fn part(entries: &[(Time, Time, u32, i64)]) -> Vec<Entry<Ev>> {
    entries.iter().map(|&(arrival, time, k, v)| Entry { arrival, time, event: (k, v) }).collect()
}

/// A single partition in which each event arrives at its own time index (so arrival order is
/// the order given), with the given event times, all of key 1 and value 1.
fn ordered(times: &[Time]) -> VecLog<Ev> {
    let entries: Vec<_> = times.iter().enumerate().map(|(i, &t)| (i as Time, t, 1, 1)).collect();
    VecLog::new(vec![part(&entries)]).unwrap()
}

fn everything() -> Input {
    Input { end: Time::MAX, domain: TimeDomain::Event }
}

/// Sorted "identity = value" lines of a sink.
fn lines<J: Job<Event = Ev>>(job: &J, log: &VecLog<Ev>, sink: &str) -> (Vec<String>, Vec<Late>) {
    let out = run(job, log, everything());
    let mut v: Vec<String> = out.lines(sink).into_iter().map(|l| format!("{} = {}", l.id, l.value)).collect();
    v.sort();
    (v, out.late)
}

/// Sums values per key in windows.
struct WindowSum {
    spec: WindowSpec,
    bound: Time,
}

impl Job for WindowSum {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "window-sum"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.bound)
    }
    fn build<R: Runtime>(&self, input: R::Stream<Ev>) {
        input.key_by(|e| e.0).window(self.spec, Sum(|e: &Ev| e.1)).sink("out");
    }
}

fn tumbling(size: Time, lateness: Time, bound: Time) -> WindowSum {
    WindowSum { spec: WindowSpec::new(Windows::tumbling(size)).with_lateness(lateness), bound }
}

// Event times 1, 5, 12, 3, 25, 8, 14 in this arrival order, bound 0: the watermark before each
// record is (max time so far) − 1 = −∞, 0, 4, 11, 11, 24, 24.
const TIMES: [Time; 7] = [1, 5, 12, 3, 25, 8, 14];

#[test]
fn tumbling_windows_drop_and_count_late_records() {
    // [0,10) closes for good at wm ≥ 9: 3 (wm 11) and 8 (wm 24) are late.
    // [10,20) at wm ≥ 19: 14 (wm 24) is late.
    let (out, late) = lines(&tumbling(10, 0, 0), &ordered(&TIMES), "out");
    assert_eq!(out, ["1 [0,10) = 2", "1 [10,20) = 1", "1 [20,30) = 1"]);
    assert_eq!(late, [Late { events: 3, windows: 3 }]);
}

#[test]
fn allowed_lateness_admits_records_until_window_end_plus_lateness() {
    // lateness 5: [0,10) accepts while wm < 9 + 5 = 14: 3 (wm 11) counts, 8 (wm 24) is late;
    // [10,20) accepts while wm < 24: 14 (wm 24) is late.
    let (out, late) = lines(&tumbling(10, 5, 0), &ordered(&TIMES), "out");
    assert_eq!(out, ["1 [0,10) = 3", "1 [10,20) = 1", "1 [20,30) = 1"]);
    assert_eq!(late, [Late { events: 2, windows: 2 }]);
}

#[test]
fn the_watermark_bound_makes_disorder_on_time() {
    // bound 20: wm before each = max − 21: nothing is late
    let (out, late) = lines(&tumbling(10, 0, 20), &ordered(&TIMES), "out");
    assert_eq!(out, ["1 [0,10) = 4", "1 [10,20) = 2", "1 [20,30) = 1"]);
    assert_eq!(late, [Late::default()]);
}

#[test]
fn sliding_windows_judge_each_window_and_count_wholly_late_records() {
    // size 10, slide 5; times 2, 7, 11, 4, 6 with wm −∞, 1, 6, 10, 10.
    // 2 → [-5,5) [0,10); 7 → [0,10) [5,15); 11 → [5,15) [10,20);
    // 4 → [-5,5) (4 ≤ 10: late) [0,10) (9 ≤ 10: late): a late event;
    // 6 → [0,10) late, [5,15) (14 > 10) on time: one late window, not a late event.
    let job = WindowSum { spec: WindowSpec::new(Windows::sliding(10, 5)), bound: 0 };
    let (out, late) = lines(&job, &ordered(&[2, 7, 11, 4, 6]), "out");
    assert_eq!(out, ["1 [-5,5) = 1", "1 [0,10) = 2", "1 [10,20) = 1", "1 [5,15) = 3"]);
    assert_eq!(late, [Late { events: 1, windows: 3 }]);
}

#[test]
fn session_windows_merge_what_intersects_and_nothing_else() {
    // gap 5, nothing late (bound 100): 1, 4, 8, 12 chain into [1,17); 20 starts [20,25) since
    // [1,17) and [20,25) do not intersect; 30 starts [30,35).
    let job = WindowSum { spec: WindowSpec::new(Windows::session(5)), bound: 100 };
    let (out, late) = lines(&job, &ordered(&[1, 20, 4, 8, 30, 12]), "out");
    assert_eq!(out, ["1 [1,17) = 4", "1 [20,25) = 1", "1 [30,35) = 1"]);
    assert_eq!(late, [Late::default()]);
    // windows are half-open: [1,6) and [6,11) touch but do not intersect
    let (out, _) = lines(&job, &ordered(&[1, 6]), "out");
    assert_eq!(out, ["1 [1,6) = 1", "1 [6,11) = 1"]);
}

#[test]
fn session_records_behind_the_watermark_are_late() {
    // bound 5: wm before each of 1, 10, 6, 3 is −∞, −5, 4, 4. 6 > 4 is on time and bridges
    // into [6,15) with 10; 3 ≤ 4 is late even though its own window [3,8) is still open.
    let job = WindowSum { spec: WindowSpec::new(Windows::session(5)), bound: 5 };
    let (out, late) = lines(&job, &ordered(&[1, 10, 6, 3]), "out");
    assert_eq!(out, ["1 [1,6) = 1", "1 [6,15) = 2"]);
    assert_eq!(late, [Late { events: 1, windows: 1 }]);
}

#[test]
fn lateness_is_judged_against_the_records_own_partition() {
    // Partition 0 runs ahead to time 100; partition 1 is at time 5. A record of partition 1 at
    // time 3 is not late: its own partition's watermark is 4 (bound 0) — whatever partition 0
    // did, an engine's watermark cannot pass partition 1's before this record is processed.
    let log = VecLog::new(vec![
        part(&[(0, 1, 1, 1), (1, 100, 1, 1)]),
        part(&[(0, 5, 1, 1), (2, 3, 1, 1), (3, 2, 1, 1)]),
    ])
    .unwrap();
    // partition 1's watermark before 3 is 4: [0,10) has max 9 > 4: on time; same for 2
    let (out, late) = lines(&tumbling(10, 0, 0), &log, "out");
    assert_eq!(out, ["1 [0,10) = 4", "1 [100,110) = 1"]);
    assert_eq!(late, [Late::default()]);
}

#[test]
fn processing_time_windows_use_arrival_and_nothing_is_late() {
    // arrivals 0, 4, 11, 12 with event times far apart: windows over arrival
    let log = VecLog::new(vec![part(&[(0, 50, 1, 1), (4, 2, 1, 1), (11, 90, 1, 1), (12, 1, 1, 1)])]).unwrap();
    let out = run(&tumbling(10, 0, 0), &log, Input { end: Time::MAX, domain: TimeDomain::Processing });
    let mut got: Vec<_> = out.lines("out").into_iter().map(|l| format!("{} = {}", l.id, l.value)).collect();
    got.sort();
    assert_eq!(got, ["1 [0,10) = 2", "1 [10,20) = 2"]);
    assert_eq!(out.late_events(), 0);
}

#[test]
fn the_input_ends_at_the_end_time() {
    // entries arriving at 0..7; end 4 reads arrivals 0, 1, 2, 3
    let input = Input { end: 4, domain: TimeDomain::Event };
    let out = run(&tumbling(10, 0, 0), &ordered(&TIMES), input);
    assert_eq!(out.records, 4);
    // each record with its time and its partition's watermark before it
    let recs = flowmark_reference::read(&ordered(&TIMES), WatermarkStrategy::bounded(0), input);
    let instants: Vec<_> = recs.iter().map(|r| (r.time, r.wm)).collect();
    assert_eq!(instants, [(1, Time::MIN), (5, 0), (12, 4), (3, 11)]);
    // 3 (wm 11) is late for [0,10)
    assert_eq!(out.late_events(), 1);
}

/// Per key: values of the left stream joined with the right within tumbling windows.
struct WindowJoin {
    bound: Time,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Pairing(u32, Window, Vec<i64>, Vec<i64>);

impl Output for Pairing {
    fn identity(&self, out: &mut String) {
        let _ = write!(out, "{} {}", self.0, self.1);
    }
    fn value(&self, out: &mut String) {
        let _ = write!(out, "{:?} x {:?}", self.2, self.3);
    }
}

impl Job for WindowJoin {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "window-join"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.bound)
    }
    fn build<R: Runtime>(&self, input: R::Stream<Ev>) {
        // odd keys are the left side, even keys the right side of key k / 2
        let (l, r) = input.fork();
        let l = l.filter(|e| e.0 % 2 == 1).key_by(|e| e.0 / 2);
        let r = r.filter(|e| e.0 % 2 == 0).key_by(|e| e.0 / 2);
        l.window_join(r, WindowSpec::new(Windows::tumbling(10)), |k, w, ls: &[Ev], rs: &[Ev], out| {
            out.push(Pairing(*k, w, ls.iter().map(|e| e.1).collect(), rs.iter().map(|e| e.1).collect()))
        })
        .sink("out");
    }
}

#[test]
fn window_join_pairs_both_sides_of_a_key_and_window() {
    // keys: 3 = left of 1, 2 = right of 1, 5 = left of 2, 4 = right of 2, 6 = right of 3.
    // (arrival, time, key, value), bound 0, one partition:
    let log = VecLog::new(vec![part(&[
        (0, 5, 3, 50),   // left 1 @ 5
        (1, 2, 3, 20),   // left 1 @ 2 (wm 4: on time in [0,10))
        (2, 7, 2, 70),   // right 1 @ 7
        (3, 3, 5, 30),   // left 2 @ 3: no right side in [0,10)
        (4, 12, 3, 120), // left 1 @ 12
        (5, 13, 2, 130), // right 1 @ 13
        (6, 15, 4, 150), // right 2 @ 15: no left side in [10,20)
        (7, 4, 6, 40),   // right 3 @ 4: late (wm 14 ≥ 9), and no left side anyway
        (8, 9, 2, 90),   // right 1 @ 9: late for [0,10) (wm 14)
    ])])
    .unwrap();
    let (out, late) = lines(&WindowJoin { bound: 0 }, &log, "out");
    // left values ordered by time: [0,10) of key 1 has 20 @ 2 then 50 @ 5
    assert_eq!(out, ["1 [0,10) = [20, 50] x [70]", "1 [10,20) = [120] x [130]"]);
    assert_eq!(late, [Late { events: 2, windows: 2 }]);
}

/// An unbounded-state join of keys 1 (left) and 2 (right) by value.
struct Regular;

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Matched(i64, i64, i64);

impl Output for Matched {
    fn identity(&self, out: &mut String) {
        let _ = write!(out, "{} {}", self.0, self.1);
    }
    fn value(&self, out: &mut String) {
        let _ = write!(out, "{}", self.2);
    }
}

impl Job for Regular {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "join"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(0)
    }
    fn build<R: Runtime>(&self, input: R::Stream<Ev>) {
        let (l, r) = input.fork();
        let l = l.filter(|e| e.0 == 1).key_by(|e| e.1 % 10);
        let r = r.filter(|e| e.0 == 2).key_by(|e| e.1 % 10);
        l.join(r, |_, a: &Ev, b: &Ev| (b.1 != 99).then_some(Matched(a.1, b.1, a.1 + b.1))).sink("out");
    }
}

#[test]
fn regular_join_emits_every_matching_pair_once_whatever_the_order() {
    // left 11, 21 (join key 1), 12 (key 2); right 31, 41 (key 1), 99 (key 9), 52 (key 2, before
    // its partner), and a very late right 61 (joins have no lateness: it still matches)
    let log = VecLog::new(vec![part(&[
        (0, 0, 1, 11),
        (1, 1, 2, 52),
        (2, 2, 1, 12),
        (3, 3, 2, 31),
        (4, 4, 1, 21),
        (5, 5, 2, 41),
        (6, 6, 2, 99),
        (7, -100, 2, 61),
    ])])
    .unwrap();
    let (out, late) = lines(&Regular, &log, "out");
    assert_eq!(
        out,
        ["11 31 = 42", "11 41 = 52", "11 61 = 72", "12 52 = 64", "21 31 = 52", "21 41 = 62", "21 61 = 82"]
    );
    assert!(late.is_empty());
}

/// A running sum per key, and a window each record names itself.
struct ReduceAndWindowBy;

impl Job for ReduceAndWindowBy {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "reduce"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(0)
    }
    fn build<R: Runtime>(&self, input: R::Stream<Ev>) {
        let (a, b) = input.fork();
        a.key_by(|e| e.0).reduce(Sum(|e: &Ev| e.1)).sink("sums");
        // each record's window starts at 0 and ends at its value: [0, value)
        b.key_by(|e| e.0).window_by(|e| Window::new(0, e.1), 2, Sum(|e: &Ev| e.1)).sink("windows");
    }
}

#[test]
fn reduce_gives_the_total_per_key_and_window_by_uses_each_records_window() {
    // times 1, 2, 20, 3 with wm −∞, 0, 1, 19; values name windows [0,10), [0,10), [0,30), [0,10)
    // [0,10) is late for wm ≥ 9 + 2 = 11: the last record (wm 19) is late.
    let log =
        VecLog::new(vec![part(&[(0, 1, 1, 10), (1, 2, 1, 10), (2, 20, 2, 30), (3, 3, 1, 10)])]).unwrap();
    let (sums, _) = lines(&ReduceAndWindowBy, &log, "sums");
    assert_eq!(sums, ["1 = 30", "2 = 30"]);
    let (windows, late) = lines(&ReduceAndWindowBy, &log, "windows");
    assert_eq!(windows, ["1 [0,10) = 20", "2 [0,30) = 30"]);
    assert_eq!(late, [Late { events: 1, windows: 1 }]);
}

#[test]
fn a_window_is_due_when_the_watermark_over_all_partitions_reaches_its_end() {
    // bound 0. Partition 0 arrives at 0, 10, 20 with times 1, 12, 25 (watermark after: 0, 11,
    // 24); partition 1 at 5, 15, 30 with times 2, 14, 31 (1, 13, 30). The watermark over both:
    // 0 at arrival 5, 1 at 10, 11 at 15, 13 at 20, 24 at 30.
    let log = VecLog::new(vec![
        part(&[(0, 1, 1, 1), (10, 12, 1, 1), (20, 25, 1, 1)]),
        part(&[(5, 2, 1, 1), (15, 14, 1, 1), (30, 31, 1, 1)]),
    ])
    .unwrap();
    let out = run(&tumbling(10, 0, 0), &log, Input { end: 100, domain: TimeDomain::Event });
    let mut due: Vec<(String, Time)> = out.sinks["out"].iter().map(|e| (e.line.id.clone(), e.due)).collect();
    due.sort();
    assert_eq!(
        due,
        [
            ("1 [0,10)".to_string(), 15),   // the watermark reaches 9 at arrival 15
            ("1 [10,20)".to_string(), 30),  // reaches 19 at 30
            ("1 [20,30)".to_string(), 100), // never reaches 29: due at the end of the input
            ("1 [30,40)".to_string(), 100),
        ]
    );
}

#[test]
fn a_per_record_result_is_due_at_its_arrival() {
    let log = VecLog::new(vec![part(&[(3, 1, 1, 10), (7, 2, 2, 20)])]).unwrap();
    let out = run(&Regular, &log, Input { end: 100, domain: TimeDomain::Event });
    // key 1 value 10 joins key 2 value 20? values mod 10 are both 0: one pair, due with the later
    let due: Vec<Time> = out.sinks["out"].iter().map(|e| e.due).collect();
    assert_eq!(due, [7]);
}

/// Sums per key in 10-wide tumbling windows with `lateness`, then sums those results per
/// window: two chained windows, as NEXMark q5 has.
struct Chained {
    lateness: Time,
}

impl Job for Chained {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "chained"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(0)
    }
    fn build<R: Runtime>(&self, input: R::Stream<Ev>) {
        let first = input
            .key_by(|e| e.0)
            .window(WindowSpec::new(Windows::tumbling(10)).with_lateness(self.lateness), Sum(|e: &Ev| e.1));
        let (direct, chained) = first.fork();
        let (chained, totals) = chained.fork();
        direct.sink("first");
        totals
            .key_by(|r: &WindowResult<u32, i64>| r.key)
            .reduce(Sum(|r: &WindowResult<u32, i64>| r.value))
            .sink("totals");
        chained
            .key_by(|r: &WindowResult<u32, i64>| r.window)
            .window(WindowSpec::new(Windows::tumbling(10)), Sum(|r: &WindowResult<u32, i64>| r.value))
            .sink("second");
    }
}

#[test]
fn a_chained_window_takes_each_upstream_result_once_final_and_is_due_after_the_lateness() {
    // bound 0, one partition, arrivals 0..: (key, time, value). The watermark after each entry
    // is 0, 4, 11, 11, 24, 24, 24. With lateness 5, [0,10) accepts while wm < 14: the late 3
    // (wm 11) joins it; 8 (wm 24) is late, and so is 14 for [10,20) (19 + 5 ≤ 24).
    let log = VecLog::new(vec![part(&[
        (0, 1, 1, 1),
        (1, 5, 2, 2),
        (2, 12, 1, 4),
        (3, 3, 2, 8),
        (4, 25, 1, 16),
        (5, 8, 1, 32),
        (6, 14, 2, 64),
    ])])
    .unwrap();
    let job = Chained { lateness: 5 };
    let (first, late) = lines(&job, &log, "first");
    assert_eq!(first, ["1 [0,10) = 1", "1 [10,20) = 4", "1 [20,30) = 16", "2 [0,10) = 10"]);
    assert_eq!(late, [Late { events: 2, windows: 2 }, Late::default()]);
    // the second window sees every first-window result with its final value, none late
    let (second, _) = lines(&job, &log, "second");
    assert_eq!(second, ["[0,10) [0,10) = 11", "[10,20) [10,20) = 4", "[20,30) [20,30) = 16"]);
    let out = run(&job, &log, Input { end: 100, domain: TimeDomain::Event });
    let due = |sink: &str| -> Vec<(String, Time)> {
        let mut v: Vec<_> = out.sinks[sink].iter().map(|e| (e.line.id.clone(), e.due)).collect();
        v.sort();
        v
    };
    // into the sink, [0,10) is due when it first fires (wm 11 ≥ 9 at arrival 2) — its late
    // record (arrival 3) makes it due again, and the later instant counts
    assert_eq!(due("first")[0], ("1 [0,10)".to_string(), 2));
    assert_eq!(due("first")[3], ("2 [0,10)".to_string(), 3));
    // downstream, when the watermark reaches 9 + 5 (arrival 4) and 19 + 5 (arrival 4); 29 + 5
    // is never reached: due at the end of the input
    assert_eq!(
        due("second"),
        [
            ("[0,10) [0,10)".to_string(), 4),
            ("[10,20) [10,20)".to_string(), 4),
            ("[20,30) [20,30)".to_string(), 100)
        ]
    );
    // a running aggregate of the first window's results takes each once, final, and is due
    // with the latest: for key 2, [0,10) when the watermark reaches 9 + 5 (arrival 4)
    let (totals, _) = lines(&job, &log, "totals");
    assert_eq!(totals, ["1 = 21", "2 = 10"]);
    assert_eq!(due("totals"), [("1".to_string(), 100), ("2".to_string(), 4)]);
    // without lateness the late 3 is dropped and the second window is due with the first
    let job = Chained { lateness: 0 };
    let (second, _) = lines(&job, &log, "second");
    assert_eq!(second, ["[0,10) [0,10) = 3", "[10,20) [10,20) = 4", "[20,30) [20,30) = 16"]);
    let out = run(&job, &log, Input { end: 100, domain: TimeDomain::Event });
    let mut due: Vec<Time> = out.sinks["second"].iter().map(|e| e.due).collect();
    due.sort();
    assert_eq!(due, [2, 4, 100]);
}
