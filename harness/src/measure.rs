//! From what a run emitted and what the reference says it should have, the numbers
//! `docs/metrics.md` defines: latencies against the reference's instants, throughput and
//! backlog per second, recovery and its phases, correctness.

use crate::observe::{Incarnation, Observed, SAMPLE_EVERY};
use crate::reference::Truth;
use crate::spec::RunSpec;
use flowmark_core::Expected;
use flowmark_core::output::Emission;
use flowmark_core::protocol::Sample;
use flowmark_core::time::{MILLISECOND, SECOND, Time};
use flowmark_reports::results::{
    Anatomy, Checkpoints, Correctness, Curves, Metrics, Percentiles, Recovery, Second,
};
use hdrhistogram::Histogram;
use std::collections::HashMap;

/// The backlog counts as back under its pre-failure level (its largest value in the measured
/// period before the failure) when it is within this much above it: the level is a peak of a
/// saw-tooth for a micro-batch engine (its backlog waits a whole interval), and the run's
/// processing times jitter by a few milliseconds.
pub const BACKLOG_SLACK: Time = 10 * MILLISECOND;

/// … or within this factor of it, whichever is larger.
pub const BACKLOG_FACTOR: f64 = 1.1;

/// How long the backlog and latency must stay back at their pre-failure levels.
pub const SETTLED_FOR: Time = 3 * SECOND;

/// The p99 due-time latency must come back within this factor of its pre-failure value…
pub const LATENCY_FACTOR: f64 = 1.2;

/// … or within this much above it, whichever is larger: a p99 of a millisecond or two moves
/// by more than 20 % with scheduling noise alone on a shared machine.
pub const LATENCY_SLACK: Time = 10 * MILLISECOND;

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 3_600 * SECOND as u64, 3).expect("valid bounds")
}

fn ms(t: Time) -> f64 {
    t as f64 / MILLISECOND as f64
}

fn percentiles(h: &Histogram<u64>) -> Percentiles {
    if h.is_empty() {
        return Percentiles::default();
    }
    let q = |q: f64| ms(h.value_at_quantile(q) as Time);
    Percentiles {
        count: h.len(),
        p50_ms: q(0.5),
        p99_ms: q(0.99),
        p999_ms: q(0.999),
        max_ms: ms(h.max() as Time),
        mean_ms: h.mean() / MILLISECOND as f64,
    }
}

/// One result as the engine delivered it, beside the reference's instants.
#[derive(Clone, Copy, Debug)]
pub struct Delivered {
    /// The emission that made it final.
    pub emit: Time,
    /// The reference's due instant.
    pub due: Time,
    /// The latest event time it covers.
    pub time: Time,
    /// The latest arrival it covers.
    pub arrival: Time,
    /// The checkpoint or batch that committed it.
    pub commit: Option<u64>,
}

impl Delivered {
    /// Due-time latency.
    pub fn latency(&self) -> Time {
        self.emit - self.due
    }
}

/// For every result the reference knows, the emission that made it final: the earliest of the
/// trailing emissions that carry its last value (a re-emission of the same value after a crash
/// does not make it later). Ordered by emission.
pub fn delivered(emissions: &[Emission], truth: &Truth) -> Vec<Delivered> {
    let mut by_id: HashMap<&str, Vec<&Emission>> = HashMap::new();
    for e in emissions {
        by_id.entry(e.line.id.as_str()).or_default().push(e);
    }
    let mut out = Vec::new();
    for r in &truth.results {
        let Some(list) = by_id.get_mut(r.line.id.as_str()) else { continue };
        list.sort_by_key(|e| e.emitted);
        let last = &list[list.len() - 1].line.value;
        let first_of_run = list.iter().rev().take_while(|e| &e.line.value == last).last().expect("not empty");
        out.push(Delivered {
            emit: first_of_run.emitted,
            due: r.due,
            time: r.time,
            arrival: r.arrival,
            commit: first_of_run.commit,
        });
    }
    out.sort_by_key(|d| d.emit);
    out
}

/// Correctness of the committed results against the reference.
pub fn correctness(emissions: &[Emission], truth: &Truth, observed: &Observed) -> Correctness {
    let expected = Expected::from_lines(truth.results.iter().map(|e| e.line.clone()));
    let v = expected.check(emissions.iter().map(|e| &e.line));
    Correctness {
        correct: v.correct,
        missing: v.missing,
        duplicated: v.duplicated,
        wrong: v.wrong,
        unexpected: v.unexpected,
        late_dropped: observed
            .incarnations
            .iter()
            .filter_map(|i| i.samples.last())
            .map(|s| s.late_events)
            .sum(),
        late_expected: truth.late,
    }
}

/// The run's timeline of samples over all its processes.
pub struct Timeline<'a> {
    incarnations: &'a [Incarnation],
}

impl<'a> Timeline<'a> {
    /// Over `observed`'s processes.
    pub fn new(observed: &'a Observed) -> Self {
        Timeline { incarnations: &observed.incarnations }
    }

    /// The latest sample at or before `t`, with its process.
    fn at(&self, t: Time) -> Option<(&'a Incarnation, &'a Sample)> {
        self.incarnations
            .iter()
            .filter(|i| i.spawned <= t)
            .flat_map(|i| i.samples.iter().map(move |s| (i, s)))
            .filter(|(_, s)| s.at <= t)
            .max_by_key(|(_, s)| s.at)
    }

    /// The backlog at `t`: the latest sample's — grown by the time since, once its process
    /// has been killed (a killed engine reads nothing until the next one reports).
    pub fn backlog(&self, t: Time) -> Time {
        match self.at(t) {
            None => 0,
            Some((i, s)) if i.killed.is_some_and(|k| k <= t) => s.backlog + (t - s.at),
            Some((_, s)) => s.backlog,
        }
    }

    /// Input events read in `[from, to)`, over every process (re-reads after a recovery count).
    pub fn events_between(&self, from: Time, to: Time) -> u64 {
        let upto = |i: &Incarnation, t: Time| {
            i.samples.iter().take_while(|s| s.at < t).last().map_or(0, |s| s.events_in)
        };
        self.incarnations.iter().map(|i| upto(i, to).saturating_sub(upto(i, from))).sum()
    }

    /// The last instant anything was observed.
    pub fn last(&self) -> Time {
        self.incarnations.iter().flat_map(|i| i.samples.last()).map(|s| s.at).max().unwrap_or(0)
    }
}

/// Everything measured of a run.
pub struct Measured {
    /// The numbers.
    pub metrics: Metrics,
    /// Recoveries.
    pub recoveries: Vec<Recovery>,
    /// Per second.
    pub timeline: Vec<Second>,
    /// Due-time latency per second, for the interval log: (start, histogram).
    pub intervals: Vec<(Time, Histogram<u64>)>,
}

/// Measures a run.
pub fn measure(run: &RunSpec, observed: &Observed, emissions: &[Emission], truth: &Truth) -> Measured {
    let line = Timeline::new(observed);
    let delivered = delivered(emissions, truth);
    let mut metrics = Metrics {
        correctness: correctness(emissions, truth, observed),
        starts: observed.incarnations.len() as u32,
        events: truth.events,
        ..Default::default()
    };
    resources(&mut metrics, observed);
    if run.engine.engine().is_baseline() {
        flat_out(&mut metrics, observed, emissions);
        return Measured { metrics, recoveries: Vec::new(), timeline: Vec::new(), intervals: Vec::new() };
    }
    period_work(&mut metrics, run, observed);
    let commits = commits(observed);
    latencies(&mut metrics, run, &delivered, &commits);
    load(&mut metrics, run, observed, &line, emissions);
    metrics.checkpoints = checkpoints(run, observed, &commits);
    let (timeline, intervals) = per_second(run, &line, &delivered, emissions);
    let recoveries = recoveries(run, observed, &line, &delivered);
    Measured { metrics, recoveries, timeline, intervals }
}

/// CPU time (summed over the incarnations) and the largest peak memory of one.
fn resources(metrics: &mut Metrics, observed: &Observed) {
    for i in &observed.incarnations {
        if let Some(s) = i.samples.last() {
            metrics.cpu_s += s.cpu as f64 / SECOND as f64;
            metrics.peak_rss_bytes = metrics.peak_rss_bytes.max(s.peak_rss);
        }
    }
}

/// CPU time spent and input events read within the measured period: per incarnation, the
/// difference of its cumulative counters between its first and its last sample inside the
/// period.
fn period_work(metrics: &mut Metrics, run: &RunSpec, observed: &Observed) {
    let (w, end) = (run.warmup, run.end());
    for i in &observed.incarnations {
        let inside: Vec<&Sample> = i.samples.iter().filter(|s| s.at >= w && s.at < end).collect();
        if let (Some(first), Some(last)) = (inside.first(), inside.last()) {
            metrics.period_cpu_s += (last.cpu - first.cpu).max(0) as f64 / SECOND as f64;
            metrics.period_events += last.events_in.saturating_sub(first.events_in);
        }
    }
}

/// The baseline's rates: it ran flat out, so its events and results per second of its busy
/// time (the median pass).
fn flat_out(metrics: &mut Metrics, observed: &Observed, emissions: &[Emission]) {
    if let Some((events, busy)) = observed.finished {
        metrics.input_rate = events as f64 / (busy.max(1) as f64 / SECOND as f64);
        metrics.output_rate = emissions.len() as f64 / (busy.max(1) as f64 / SECOND as f64);
    }
}

/// The latest instant each checkpoint or batch id committed.
fn commits(observed: &Observed) -> HashMap<u64, flowmark_core::Commit> {
    let mut commits = HashMap::new();
    for c in observed.incarnations.iter().flat_map(|i| i.samples.iter()).flat_map(|s| s.commits.iter()) {
        commits.insert(c.id, *c);
    }
    commits
}

/// Latency percentiles and curves, and the anatomy, of the results due inside the measured
/// period (those due only because the input ended are left out: no engine could emit them
/// earlier).
fn latencies(
    metrics: &mut Metrics,
    run: &RunSpec,
    delivered: &[Delivered],
    commits: &HashMap<u64, flowmark_core::Commit>,
) {
    let (w, end) = (run.warmup, run.end());
    let batch_starts = run.engine.engine().commit_starts_batch();
    let (mut due, mut event, mut processing, mut commit) =
        (histogram(), histogram(), histogram(), histogram());
    let (mut ww, mut bw, mut pr, mut n) = (0.0, 0.0, 0.0, 0.0);
    for d in delivered.iter().filter(|d| d.due >= w && d.due < end) {
        let rec = |h: &mut Histogram<u64>, v: Time| h.saturating_record(v.max(1) as u64);
        rec(&mut due, d.latency());
        rec(&mut event, d.emit - d.time);
        rec(&mut processing, d.emit - d.arrival);
        let committed = d.commit.and_then(|c| commits.get(&c)).map_or(d.emit, |c| c.committed.max(d.emit));
        rec(&mut commit, committed - d.time);
        let wait = (d.due - d.arrival).max(0);
        let batch_wait = if batch_starts {
            d.commit.and_then(|c| commits.get(&c)).map_or(0, |c| (c.started - d.due).max(0))
        } else {
            0
        };
        ww += ms(wait);
        bw += ms(batch_wait);
        pr += ms((d.emit - d.arrival - wait - batch_wait).max(0));
        n += 1.0;
    }
    let curve = |h: &Histogram<u64>| {
        if h.is_empty() {
            return Vec::new();
        }
        flowmark_reports::results::NINES.iter().map(|&q| (q, ms(h.value_at_quantile(q) as Time))).collect()
    };
    metrics.curves = Curves { due: curve(&due), event: curve(&event), processing: curve(&processing) };
    metrics.due = percentiles(&due);
    metrics.event = percentiles(&event);
    metrics.processing = percentiles(&processing);
    metrics.commit = percentiles(&commit);
    if n > 0.0 {
        metrics.anatomy = Anatomy { watermark_wait_ms: ww / n, batch_wait_ms: bw / n, processing_ms: pr / n };
    }
}

/// Input and output rates over the measured period, and the largest backlog in it.
fn load(metrics: &mut Metrics, run: &RunSpec, observed: &Observed, line: &Timeline, emissions: &[Emission]) {
    let (w, end) = (run.warmup, run.end());
    let measured_secs = run.measure as f64 / SECOND as f64;
    metrics.input_rate = line.events_between(w, end) as f64 / measured_secs;
    metrics.output_rate =
        emissions.iter().filter(|e| e.emitted >= w && e.emitted < end).count() as f64 / measured_secs;
    metrics.max_backlog_ms = in_period(run, observed).map(|s| ms(s.backlog)).fold(0.0, f64::max);
}

/// The samples taken in the measured period.
fn in_period<'a>(run: &RunSpec, observed: &'a Observed) -> impl Iterator<Item = &'a Sample> {
    let (w, end) = (run.warmup, run.end());
    observed.incarnations.iter().flat_map(|i| i.samples.iter()).filter(move |s| s.at >= w && s.at < end)
}

/// The checkpoints or batch commits completed in the measured period: count, mean duration
/// and mean bytes.
fn checkpoints(
    run: &RunSpec,
    observed: &Observed,
    commits: &HashMap<u64, flowmark_core::Commit>,
) -> Checkpoints {
    let (w, end) = (run.warmup, run.end());
    let period_commits: Vec<_> = commits.values().filter(|c| c.committed >= w && c.committed < end).collect();
    let bytes: Vec<u64> = in_period(run, observed).map(|s| s.checkpoint_bytes).collect();
    Checkpoints {
        count: period_commits.len() as u64,
        mean_duration_ms: if period_commits.is_empty() {
            0.0
        } else {
            period_commits.iter().map(|c| ms(c.committed - c.started)).sum::<f64>()
                / period_commits.len() as f64
        },
        mean_bytes: if bytes.is_empty() {
            0.0
        } else {
            bytes.iter().sum::<u64>() as f64 / bytes.len() as f64
        },
    }
}

/// Per second, from the start of the log to the last sample: rates, backlog and the due-time
/// latency of the results emitted in it (with its histogram, for the interval log).
fn per_second(
    run: &RunSpec,
    line: &Timeline,
    delivered: &[Delivered],
    emissions: &[Emission],
) -> (Vec<Second>, Vec<(Time, Histogram<u64>)>) {
    let (w, end) = (run.warmup, run.end());
    let last = line.last().max(end);
    let mut timeline = Vec::new();
    let mut intervals = Vec::new();
    let mut k = 0;
    let mut cursor = 0;
    while k * SECOND < last {
        let (from, to) = (k * SECOND, (k + 1) * SECOND);
        let mut h = histogram();
        while cursor < delivered.len() && delivered[cursor].emit < to {
            let d = &delivered[cursor];
            if d.emit >= from && d.due < end {
                h.saturating_record(d.latency().max(1) as u64);
            }
            cursor += 1;
        }
        let q = |q: f64| if h.is_empty() { 0.0 } else { ms(h.value_at_quantile(q) as Time) };
        timeline.push(Second {
            t_s: (from - w) as f64 / SECOND as f64,
            input_rate: line.events_between(from, to) as f64,
            output_rate: emissions.iter().filter(|e| e.emitted >= from && e.emitted < to).count() as f64,
            backlog_ms: ms(line.backlog(to)),
            p50_ms: q(0.5),
            p99_ms: q(0.99),
            max_ms: if h.is_empty() { 0.0 } else { ms(h.max() as Time) },
        });
        intervals.push((from, h));
        k += 1;
    }
    (timeline, intervals)
}

/// The p99 due-time latency of the results made final in `(from, to]`, if any were.
fn p99_between(delivered: &[Delivered], from: Time, to: Time) -> Option<Time> {
    let lo = delivered.partition_point(|d| d.emit <= from);
    let hi = delivered.partition_point(|d| d.emit <= to);
    if lo >= hi {
        return None;
    }
    let mut v: Vec<Time> = delivered[lo..hi].iter().map(Delivered::latency).collect();
    v.sort_unstable();
    Some(v[((v.len() as f64 * 0.99).ceil() as usize).clamp(1, v.len()) - 1])
}

/// Recovery from every injected crash and task failure.
fn recoveries(run: &RunSpec, observed: &Observed, line: &Timeline, delivered: &[Delivered]) -> Vec<Recovery> {
    let mut out = Vec::new();
    let incs = &observed.incarnations;
    // crashes: the harness killed process i and started process i + 1
    for (i, inc) in incs.iter().enumerate() {
        let Some(killed) = inc.killed else { continue };
        let Some(next) = incs.get(i + 1) else { continue };
        let input = next.samples.iter().find_map(|s| s.input_started);
        out.push(recovery(run, "crash", killed, next.spawned, input, line, delivered));
    }
    // a task failure: the engine noticed it and restarted (dataflow) or recomputed (micro-batch)
    if let Some(f) = run.failure.task_failure {
        let samples = || incs.iter().flat_map(|i| i.samples.iter());
        if let Some(noticed) = samples().filter_map(|s| s.failure_noticed).find(|&t| t >= f.at) {
            let input = samples().filter_map(|s| s.input_started).find(|&t| t >= noticed);
            out.push(recovery(run, "task-failure", f.at, noticed, input, line, delivered));
        }
    }
    out
}

/// One recovery: failure at `failed`, noticed at `noticed`, input resumed at `input` (`None`:
/// the recovery did not stop the input, or it never resumed).
fn recovery(
    run: &RunSpec,
    kind: &str,
    failed: Time,
    noticed: Time,
    input: Option<Time>,
    line: &Timeline,
    delivered: &[Delivered],
) -> Recovery {
    let restored = input.filter(|&t| t >= noticed).unwrap_or(noticed);
    // the levels before the failure: over the measured period before it (or all of it before
    // it, for a failure during warm-up)
    let from = if failed > run.warmup { run.warmup } else { 0 };
    let mut backlog_before: Time = 0;
    let mut t = from;
    while t < failed {
        backlog_before = backlog_before.max(line.backlog(t));
        t += SAMPLE_EVERY;
    }
    let backlog_level =
        (backlog_before + BACKLOG_SLACK).max((backlog_before as f64 * BACKLOG_FACTOR) as Time);
    let p99_before = p99_between(delivered, from, failed).unwrap_or(0);
    let p99_level = (p99_before as f64 * LATENCY_FACTOR).max((p99_before + LATENCY_SLACK) as f64);
    let settled = |t: Time| {
        line.backlog(t) <= backlog_level
            && p99_between(delivered, t - SECOND, t).is_none_or(|p| p as f64 <= p99_level)
    };
    // the first instant from which both stay settled for SETTLED_FOR
    let last = line.last();
    let mut caught_up = None;
    let mut start = restored;
    let mut t = restored;
    while t <= last {
        if !settled(t) {
            start = t + SAMPLE_EVERY;
        } else if t - start >= SETTLED_FOR {
            caught_up = Some(start);
            break;
        }
        t += SAMPLE_EVERY;
    }
    let detection_ms = ms(noticed - failed);
    let restore_ms = ms(restored - noticed);
    let catch_up_ms = caught_up.map(|c| ms(c - restored));
    Recovery {
        kind: kind.to_string(),
        at_s: (failed - run.warmup) as f64 / SECOND as f64,
        detection_ms,
        restore_ms,
        catch_up_ms,
        total_ms: catch_up_ms.map(|c| detection_ms + restore_ms + c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Injection, RunSpec};
    use flowmark_core::ResultLine;
    use flowmark_core::protocol::Sample;
    use flowmark_workloads::{LogSpec, RateProfile, WorkloadSpec};

    fn line(id: &str, value: &str, emitted: Time) -> Emission {
        Emission {
            sink: "s".into(),
            emitted,
            line: ResultLine { id: id.into(), value: value.into() },
            commit: None,
        }
    }

    fn truth(ids: &[(&str, &str, Time)]) -> Truth {
        Truth {
            results: ids
                .iter()
                .map(|(id, v, due)| flowmark_reference::Emitted {
                    line: ResultLine { id: (*id).into(), value: (*v).into() },
                    time: due - 1,
                    arrival: due - 2,
                    due: *due,
                })
                .collect(),
            late: 0,
            events: 0,
        }
    }

    #[test]
    fn a_result_is_delivered_by_the_first_emission_of_its_final_value() {
        let t = truth(&[("a", "2", 100)]);
        // an early partial value, the final value, and a re-emission after a crash
        let e = [line("a", "1", 110), line("a", "2", 150), line("a", "2", 900)];
        let d = delivered(&e, &t);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].emit, 150);
        assert_eq!(d[0].latency(), 50);
    }

    fn sample(at: Time, backlog: Time, events_in: u64) -> Sample {
        Sample { at, backlog, events_in, ..Default::default() }
    }

    #[test]
    fn a_killed_engine_s_backlog_grows_until_its_successor_reports() {
        let observed = Observed {
            incarnations: vec![
                Incarnation {
                    spawned: 0,
                    killed: Some(1_000),
                    samples: vec![sample(500, 10, 5), sample(900, 20, 9)],
                },
                Incarnation { spawned: 2_000, killed: None, samples: vec![sample(2_500, 300, 4)] },
            ],
            ..Default::default()
        };
        let t = Timeline::new(&observed);
        assert_eq!(t.backlog(950), 20, "alive: the sample's backlog");
        assert_eq!(t.backlog(1_900), 20 + 1_000, "dead: growing");
        assert_eq!(t.backlog(2_600), 300, "the successor reports");
        assert_eq!(t.events_between(0, 1_000), 9);
        assert_eq!(t.events_between(0, 3_000), 13, "re-reads count");
    }

    #[test]
    fn the_work_of_the_measured_period_is_counted_per_process_between_its_samples_inside_it() {
        let run = RunSpec { measure: 2 * SECOND, ..test_run() };
        let at =
            |t: Time, cpu: Time, events: u64| Sample { at: t, cpu, events_in: events, ..Default::default() };
        // before the period, inside it, after it; then a restarted process inside it
        let first = Incarnation {
            samples: vec![
                at(500 * MILLISECOND, 10, 5),
                at(SECOND, 100, 10),
                at(2 * SECOND, 400, 70),
                at(3 * SECOND, 900, 99),
            ],
            ..Default::default()
        };
        let second = Incarnation {
            samples: vec![at(2_500 * MILLISECOND, 7, 3), at(2_900 * MILLISECOND, 57, 23)],
            ..Default::default()
        };
        let observed = Observed { incarnations: vec![first, second], ..Default::default() };
        let mut m = Metrics::default();
        period_work(&mut m, &run, &observed);
        // [1 s, 3 s): 100 → 400 and 10 → 70 in the first; 7 → 57 and 3 → 23 in the second
        assert!((m.period_cpu_s - 350.0 / SECOND as f64).abs() < 1e-15, "{}", m.period_cpu_s);
        assert_eq!(m.period_events, 60 + 20);
    }

    /// A run of the baseline with a 1 s warm-up and a 1 s measured period.
    fn test_run() -> RunSpec {
        RunSpec {
            id: "r".into(),
            key: "r".into(),
            repetition: 0,
            engine: (crate::engines::baseline::REGISTERED.default)(),
            workload: WorkloadSpec::catalog().remove(0),
            log: LogSpec {
                seed: 1,
                partitions: 1,
                rate: RateProfile::constant(1.0),
                disorder: Default::default(),
            },
            rate: 1.0,
            disorder: "none".into(),
            failure: Injection::default(),
            warmup: SECOND,
            measure: SECOND,
            timeout: 60 * SECOND,
        }
    }

    #[test]
    fn recovery_phases_add_up_and_catch_up_waits_for_latency_and_backlog() {
        let ms = MILLISECOND;
        let run = RunSpec { measure: 20 * SECOND, ..test_run() };
        // backlog 1 ms before a crash at 5 s; after a restart at 5.5 s input resumes at 5.6 s
        // with a backlog that drains by 8 s
        let before = (10..50).map(|k| sample(k * 100 * ms, ms, 0)).collect();
        let after = (56..200)
            .map(|k| {
                let t = k * 100 * ms;
                sample(t, (8 * SECOND - t).max(0), 0)
            })
            .collect();
        let incarnations = vec![
            Incarnation { spawned: 0, killed: Some(5 * SECOND), samples: before },
            Incarnation { spawned: 5_500 * ms, killed: None, samples: after },
        ];
        let observed = Observed { incarnations, ..Default::default() };
        let t = Timeline::new(&observed);
        // results: 10 ms late before the crash; late after it until 9 s
        let delivered: Vec<Delivered> = (0..200)
            .map(|k| {
                let due = k * 100 * ms;
                let late = if (5 * SECOND..9 * SECOND).contains(&due) { 2 * SECOND } else { 10 * ms };
                Delivered { emit: due + late, due, time: due, arrival: due, commit: None }
            })
            .collect::<Vec<_>>();
        let mut delivered = delivered;
        delivered.sort_by_key(|d| d.emit);
        let r = recovery(&run, "crash", 5 * SECOND, 5_500 * ms, Some(5_600 * ms), &t, &delivered);
        assert_eq!(r.detection_ms, 500.0);
        assert!((r.restore_ms - 100.0).abs() < 1e-9);
        let caught_up = r.catch_up_ms.expect("caught up") + 5_600.0;
        // the backlog is back under 10 ms at 7.99 s, but results made final until 10.9 s are
        // still 2 s late, and the sliding 1 s window of latencies clears them at 11.9 s
        assert!((11_900.0..=12_000.0).contains(&caught_up), "{caught_up}");
        assert_eq!(r.total_ms, Some(r.detection_ms + r.restore_ms + r.catch_up_ms.unwrap()));
    }
}
