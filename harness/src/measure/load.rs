//! How a run coped with its load: a change of the offered rate (a burst, a step, a ramp) and
//! how the work spread over each stage's tasks.

use super::{Delivered, Timeline, caught_up, histogram, levels, ms};
use crate::observe::{Observed, SAMPLE_EVERY};
use crate::spec::RunSpec;
use flowmark_core::time::{SECOND, Time};
use flowmark_reports::results::{LoadChange, StageLoad};
use flowmark_workloads::RateProfile;
use std::collections::BTreeMap;

/// The first change of the offered load that starts in the measured period, measured like a
/// recovery: the levels of backlog and latency before it, and how long after its end both were
/// back within them ([`caught_up`]).
pub fn load_change(run: &RunSpec, line: &Timeline, delivered: &[Delivered]) -> Option<LoadChange> {
    let (start, end) = run.log.rate.change_from(run.warmup)?;
    if start >= run.end() {
        return None;
    }
    let kind = match run.log.rate {
        RateProfile::Burst { .. } => "burst",
        RateProfile::Step { .. } => "step",
        RateProfile::Ramp { .. } => "ramp",
        RateProfile::Constant { .. } | RateProfile::Sine { .. } => return None,
    };
    let (latency_level, backlog_level) = levels(run, start, line, delivered);
    let horizon = run.end().min(line.last());
    let drained = caught_up(end, horizon, (latency_level, backlog_level), line, delivered);
    let until = drained.unwrap_or(horizon);
    let peak_backlog = (start..=horizon).step_by(SAMPLE_EVERY as usize).map(|t| line.backlog(t)).max();
    let mut during = histogram();
    for d in delivered.iter().filter(|d| d.due >= start && d.due < until) {
        during.saturating_record(d.latency().max(1) as u64);
    }
    let secs = |t: Time| (t - run.warmup) as f64 / SECOND as f64;
    Some(LoadChange {
        kind: kind.into(),
        start_s: secs(start),
        end_s: secs(end),
        backlog_level_ms: ms(backlog_level),
        latency_level_ms: ms(latency_level),
        peak_backlog_ms: ms(peak_backlog.unwrap_or(0)),
        p99_during_ms: if during.is_empty() { 0.0 } else { ms(during.value_at_quantile(0.99) as Time) },
        drain_ms: drained.map(|d| ms(d - end)),
    })
}

/// Per stage, the events each task took in and the share of the time it was blocked, over
/// the measured period: per process, the difference of its counters between its first and
/// its last sample inside the period (as the period's CPU time is counted).
pub fn stages(run: &RunSpec, observed: &Observed) -> Vec<StageLoad> {
    let (w, end) = (run.warmup, run.end());
    let mut sums: BTreeMap<(String, u32), (u64, Time)> = BTreeMap::new();
    for i in &observed.incarnations {
        let inside: Vec<_> = i.samples.iter().filter(|s| s.at >= w && s.at < end).collect();
        let (Some(first), Some(last)) = (inside.first(), inside.last()) else { continue };
        for t in &last.tasks {
            let before = first.tasks.iter().find(|b| b.stage == t.stage && b.index == t.index);
            let (events, blocked) = before.map_or((0, 0), |b| (b.events, b.blocked));
            let sum = sums.entry((t.stage.clone(), t.index)).or_default();
            sum.0 += t.events.saturating_sub(events);
            sum.1 += (t.blocked - blocked).max(0);
        }
    }
    let mut out: Vec<StageLoad> = Vec::new();
    for ((stage, index), (events, blocked)) in sums {
        if out.last().is_none_or(|s| s.stage != stage) {
            out.push(StageLoad { stage, ..Default::default() });
        }
        let s = out.last_mut().expect("pushed");
        let i = index as usize;
        if s.events.len() <= i {
            s.events.resize(i + 1, 0);
            s.blocked_share.resize(i + 1, 0.0);
        }
        s.events[i] = events;
        s.blocked_share[i] = blocked as f64 / run.measure as f64;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::measure::{BACKLOG_FACTOR, BACKLOG_SLACK};
    use crate::observe::Incarnation;
    use flowmark_core::protocol::{Sample, TaskSample};
    use flowmark_core::time::MILLISECOND;

    const MS: Time = MILLISECOND;

    /// A run of 1 s warm-up and 20 s measured with a burst from 5 s to 7 s of log time;
    /// samples every 100 ms with the backlog `backlog(t)`, results due every 10 ms with the
    /// latency `late(due)`.
    fn burst(
        backlog: impl Fn(Time) -> Time,
        late: impl Fn(Time) -> Time,
    ) -> (RunSpec, Observed, Vec<Delivered>) {
        let mut run = RunSpec { measure: 20 * SECOND, ..super::super::tests::test_run() };
        run.log.rate =
            RateProfile::Burst { base: 10.0, peak: 30.0, length: 2 * SECOND, at: 5 * SECOND, every: None };
        let samples = (0..run.end() / SAMPLE_EVERY + 10)
            .map(|k| Sample {
                at: k * SAMPLE_EVERY,
                backlog: backlog(k * SAMPLE_EVERY),
                ..Default::default()
            })
            .collect();
        let observed = Observed {
            incarnations: vec![Incarnation { samples, ..Default::default() }],
            ..Default::default()
        };
        let mut delivered: Vec<Delivered> = (0..run.end() / (10 * MS))
            .map(|k| {
                let due = k * 10 * MS;
                Delivered { emit: due + late(due), due, time: due, arrival: due, commit: None }
            })
            .collect();
        delivered.sort_by_key(|d| d.emit);
        (run, observed, delivered)
    }

    fn measured(run: &RunSpec, observed: &Observed, delivered: &[Delivered]) -> LoadChange {
        load_change(run, &Timeline::new(observed), delivered).expect("a burst in the measured period")
    }

    #[test]
    fn a_burst_drains_when_backlog_and_latency_are_back_at_their_levels() {
        // backlog 5 ms before the burst, climbing to 1 s at its end (7 s) and back to 5 ms at
        // 9 s; results 5 ms late, those due in [5 s, 9.5 s) 300 ms late
        let (run, observed, delivered) = burst(
            |t| match t {
                t if t < 5 * SECOND => 5 * MS,
                t if t < 7 * SECOND => 5 * MS + (t - 5 * SECOND) / 2,
                t if t < 9 * SECOND => (5 * MS + (9 * SECOND - t) / 2).max(5 * MS),
                _ => 5 * MS,
            },
            |due| if (5 * SECOND..9_500 * MS).contains(&due) { 300 * MS } else { 5 * MS },
        );
        let c = measured(&run, &observed, &delivered);
        assert_eq!((c.kind.as_str(), c.start_s, c.end_s), ("burst", 4.0, 6.0));
        assert_eq!(c.backlog_level_ms, 15.0, "5 ms and the 10 ms slack");
        assert_eq!(c.latency_level_ms, 15.0);
        assert!((c.peak_backlog_ms - 1000.0).abs() <= 50.0, "{}", c.peak_backlog_ms);
        // the last result out of its level is due at 9.49 s and emitted at 9.79 s
        let drain = c.drain_ms.expect("drained");
        assert!((drain - 2_790.0).abs() < 1e-6, "{drain}");
        assert!(
            (c.p99_during_ms - 300.0).abs() < 1.0,
            "the results due while it drained: {}",
            c.p99_during_ms
        );
    }

    #[test]
    fn a_burst_that_never_drains_says_so_and_one_draining_at_the_last_moment_counts() {
        let grow = |from: Time| {
            move |t: Time| if t < 5 * SECOND { 5 * MS } else { 5 * MS + (t - 5 * SECOND).min(from) }
        };
        // the backlog stays high to the end of the input
        let (run, observed, delivered) = burst(grow(Time::MAX), |_| 5 * MS);
        let c = measured(&run, &observed, &delivered);
        assert_eq!(c.drain_ms, None);
        assert!(c.peak_backlog_ms > 10_000.0);
        // the last sample out of its level at 20 s: settled for the one second to the input's
        // end at 21 s
        let settled =
            |back: Time| burst(|t| if t < 5 * SECOND || t >= back { 5 * MS } else { SECOND }, |_| 5 * MS);
        let (run, observed, delivered) = settled(20 * SECOND + SAMPLE_EVERY);
        assert_eq!(measured(&run, &observed, &delivered).drain_ms, Some(13_000.0));
        let (run, observed, delivered) = settled(20 * SECOND + 2 * SAMPLE_EVERY);
        assert_eq!(measured(&run, &observed, &delivered).drain_ms, None, "a sample later it is not");
    }

    #[test]
    fn a_batching_engine_s_backlog_is_within_its_level_anywhere_on_its_saw_tooth() {
        // before the burst the samples meet each batch at 70 % of its interval, after it just
        // before the next batch starts: the same saw-tooth, drained the moment the burst ends
        let (mut run, observed, delivered) = burst(|_| SECOND, |_| 5 * MS);
        run.engine = (crate::engines::microbatch::REGISTERED.default)();
        let interval = run.engine.engine().batch_interval();
        assert!(interval >= 10 * MS, "{interval}");
        let mut observed = observed;
        for s in &mut observed.incarnations[0].samples {
            s.backlog = if s.at < 5 * SECOND { interval * 7 / 10 } else { interval - MS };
        }
        let c = measured(&run, &observed, &delivered);
        assert_eq!(
            c.backlog_level_ms,
            ms((interval as f64 * BACKLOG_FACTOR) as Time).max(ms(interval + BACKLOG_SLACK))
        );
        assert_eq!(c.drain_ms, Some(0.0), "{c:?}");
    }

    #[test]
    fn stage_loads_count_the_measured_period_per_process() {
        let run = RunSpec { measure: 2 * SECOND, ..super::super::tests::test_run() };
        let task = |index, events, blocked| TaskSample { stage: "1 window".into(), index, events, blocked };
        let sample = |at, tasks| Sample { at, tasks, ..Default::default() };
        let observed = Observed {
            incarnations: vec![
                // before the period (1 s), inside it, and after its end (3 s): only the middle counts
                Incarnation {
                    samples: vec![
                        sample(500 * MS, vec![task(0, 10, 0), task(1, 10, 0)]),
                        sample(SECOND, vec![task(0, 100, 0), task(1, 100, 0)]),
                        sample(2 * SECOND, vec![task(0, 400, 200 * MS), task(1, 200, 0)]),
                        sample(3 * SECOND, vec![task(0, 9_000, SECOND), task(1, 9_000, 0)]),
                    ],
                    ..Default::default()
                },
                // a restarted process counts from its own first sample
                Incarnation {
                    samples: vec![
                        sample(2_500 * MS, vec![task(1, 0, 0)]),
                        sample(2_900 * MS, vec![task(1, 100, 0)]),
                    ],
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let s = stages(&run, &observed);
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].events, vec![300, 200]);
        assert_eq!(s[0].blocked_share, vec![0.1, 0.0]);
        assert_eq!(s[0].imbalance(), Some(1.2));
    }
}
