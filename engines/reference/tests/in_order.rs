//! Property: when every event's delay is within the watermark bound, nothing is late, and the
//! results are exactly those of the same events delivered in event-time order.

use flowmark_core::{
    Count, Entry, Job, KeyedStream, Runtime, Stream, Time, TimeDomain, VecLog, WatermarkStrategy, WindowSpec,
    Windows,
};
use flowmark_reference::{Input, run};
use proptest::prelude::*;

type Ev = (u32, i64);

/// Counts per key in the given windows, with the given bound.
struct Counts {
    spec: WindowSpec,
    bound: Time,
}

impl Job for Counts {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "counts"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(self.bound)
    }
    fn build<R: Runtime>(&self, input: R::Stream<Ev>) {
        input.key_by(|e| e.0).window(self.spec, Count).sink("out");
    }
}

fn results(job: &Counts, log: &VecLog<Ev>) -> (Vec<String>, u64) {
    let out = run(job, log, Input { end: Time::MAX, domain: TimeDomain::Event });
    let mut v: Vec<String> = out.lines("out").into_iter().map(|l| format!("{} {}", l.id, l.value)).collect();
    v.sort();
    (v, out.late_events())
}

/// An event: (arrival gap after the previous one, delay as a fraction of the bound, key,
/// partition).
type Spec = (Time, f64, u32, u32);

/// A bound, a number of partitions, and events.
fn events() -> impl Strategy<Value = (Time, u32, Vec<Spec>)> {
    (0i64..40, 1u32..4, prop::collection::vec((0i64..6, 0.0f64..=1.0, 0u32..4, 0u32..3), 1..150))
}

fn windows() -> impl Strategy<Value = Windows> {
    prop_oneof![
        (1i64..30).prop_map(Windows::tumbling),
        (1i64..30, 1i64..5).prop_map(|(s, k)| Windows::sliding(s * k, s)),
        (1i64..15).prop_map(Windows::session),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn disorder_within_the_bound_changes_nothing((bound, partitions, evs) in events(), windows in windows()) {
        let mut parts: Vec<Vec<Entry<Ev>>> = vec![Vec::new(); partitions as usize];
        let mut arrival = 0;
        let mut all = Vec::new();
        for (i, (gap, frac, key, p)) in evs.into_iter().enumerate() {
            arrival += gap;
            let delay = (bound as f64 * frac).round() as Time;
            let e = Entry { arrival, time: arrival - delay, event: (key, i as i64) };
            all.push(e.clone());
            parts[(p % partitions) as usize].push(e);
        }
        let disordered = VecLog::new(parts).unwrap();
        // the same events in event-time order, each arriving at its own time
        all.sort_by_key(|e| e.time);
        let in_order = VecLog::new(vec![all.into_iter().map(|e| Entry { arrival: e.time, ..e }).collect()]).unwrap();

        let job = Counts { spec: WindowSpec::new(windows), bound };
        let (a, late_a) = results(&job, &disordered);
        let (b, late_b) = results(&job, &in_order);
        prop_assert_eq!(late_a, 0);
        prop_assert_eq!(late_b, 0);
        prop_assert_eq!(a, b);
    }
}
