//! From what a run emitted and what the reference says it should have, the numbers
//! `docs/metrics.md` defines: latencies against the reference's instants, throughput and
//! backlog per second, recovery and its phases, correctness.

mod load;

use crate::observe::{Incarnation, Observed, SAMPLE_EVERY};
use crate::reference::Truth;
use crate::spec::RunSpec;
use flowmark_core::check::check_lines;
use flowmark_core::output::Emission;
use flowmark_core::protocol::Sample;
use flowmark_core::time::{MILLISECOND, SECOND, Time};
use flowmark_reports::results::{
    Anatomy, Checkpoints, Correctness, Curves, Metrics, Percentiles, Recovery, Second,
};
use hdrhistogram::Histogram;
use rustc_hash::FxHashMap;
use std::collections::HashMap;

/// The backlog counts as back under its pre-failure level (its largest value in the measured
/// period before the failure) when it is within this much above it: the level is a peak of a
/// saw-tooth for a micro-batch engine (its backlog waits a whole interval), and the run's
/// processing times jitter by a few milliseconds.
pub const BACKLOG_SLACK: Time = 10 * MILLISECOND;

/// … or within this factor of it, whichever is larger.
pub const BACKLOG_FACTOR: f64 = 1.1;

/// How long every result's latency and the backlog must stay within their pre-failure levels
/// for a recovery to count as caught up (the evidence that it is over, not a part of it).
pub const SETTLED_FOR: Time = SECOND;

/// A result's due-time latency counts as back at its pre-failure level (the largest before
/// the failure, in the measured period) when it is within this factor of it…
pub const LATENCY_FACTOR: f64 = 1.2;

/// … or within this much above it, whichever is larger: a latency of a millisecond or two
/// moves by more than 20 % with scheduling noise alone on a shared machine.
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
    // in order of emission (a stable sort: ties keep the order read), each identity's latest
    // value and the emission that started its trailing run of that value
    let mut in_order: Vec<&Emission> = emissions.iter().collect();
    in_order.sort_by_key(|e| e.emitted);
    let mut final_by_id: FxHashMap<&str, (&str, &Emission)> =
        FxHashMap::with_capacity_and_hasher(truth.results.len(), Default::default());
    for e in in_order {
        let value = e.line.value.as_str();
        final_by_id
            .entry(e.line.id.as_str())
            .and_modify(|(last, since)| {
                if *last != value {
                    *last = value;
                    *since = e;
                }
            })
            .or_insert((value, e));
    }
    let mut out = Vec::with_capacity(truth.results.len());
    for r in &truth.results {
        let Some(&(_, first_of_run)) = final_by_id.get(r.line.id.as_str()) else { continue };
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
    let v = check_lines(truth.results.iter().map(|e| &e.line), emissions.iter().map(|e| &e.line));
    Correctness {
        correct: v.correct,
        missing: v.missing,
        duplicated: v.duplicated,
        wrong: v.wrong,
        unexpected: v.unexpected,
        // the last process's count: an engine restores it with its state, so it counts each
        // late event once, as the committed output saw it
        late_dropped: observed
            .incarnations
            .iter()
            .rev()
            .find_map(|i| i.samples.last())
            .map_or(0, |s| s.late_events),
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
        reference_peak_rss_bytes: truth.peak_rss,
        domain_error: truth
            .event_time
            .as_ref()
            .map(|e| crate::domain_error::compare(emissions, &e.results, truth.events, e.misplaced)),
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
    let (timeline, intervals) = per_second(run, &line, &delivered, &commits, emissions);
    let recoveries = recoveries(run, observed, &line, &delivered);
    metrics.load_change = load::load_change(run, &line, &delivered);
    metrics.stages = load::stages(run, observed);
    Measured { metrics, recoveries, timeline, intervals }
}

/// CPU time (summed over the incarnations) and the largest peak memory of one.
fn resources(metrics: &mut Metrics, observed: &Observed) {
    metrics.harness_cpu_s = observed.harness_cpu as f64 / SECOND as f64;
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
            metrics.period_task_cpu_s += (last.task_cpu - first.task_cpu).max(0) as f64 / SECOND as f64;
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
    let (mut due, mut event, mut processing, mut commit, mut visible) =
        (histogram(), histogram(), histogram(), histogram(), histogram());
    let (mut ww, mut bw, mut pr, mut n) = (0.0, 0.0, 0.0, 0.0);
    for d in delivered.iter().filter(|d| d.due >= w && d.due < end) {
        let rec = |h: &mut Histogram<u64>, v: Time| h.saturating_record(v.max(1) as u64);
        rec(&mut due, d.latency());
        rec(&mut event, d.emit - d.time);
        rec(&mut processing, d.emit - d.arrival);
        let committed = visible_at(d, commits);
        rec(&mut commit, committed.unwrap_or(d.emit) - d.time);
        if let Some(at) = committed {
            rec(&mut visible, at - d.due);
        }
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
    metrics.visible = percentiles(&visible);
    if n > 0.0 {
        metrics.anatomy = Anatomy { watermark_wait_ms: ww / n, batch_wait_ms: bw / n, processing_ms: pr / n };
    }
}

/// When a result an exactly-once sink emitted became visible: when the checkpoint or batch
/// that committed it completed (not before its emission); `None` for a result no commit covers.
fn visible_at(d: &Delivered, commits: &HashMap<u64, flowmark_core::Commit>) -> Option<Time> {
    d.commit.and_then(|c| commits.get(&c)).map(|c| c.committed.max(d.emit))
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
    commits: &HashMap<u64, flowmark_core::Commit>,
    emissions: &[Emission],
) -> (Vec<Second>, Vec<(Time, Histogram<u64>)>) {
    let (w, end) = (run.warmup, run.end());
    let last = line.last().max(end);
    // (visible at, due-time latency then), in order of visibility
    let mut visible: Vec<(Time, Time)> = delivered
        .iter()
        .filter(|d| d.due < end)
        .filter_map(|d| visible_at(d, commits).map(|at| (at, at - d.due)))
        .collect();
    visible.sort_unstable();
    let schedule = run.log.rate.schedule().ok();
    let offered = |from: Time, to: Time| {
        schedule.as_ref().map_or(0.0, |s| s.due_before(to).saturating_sub(s.due_before(from)) as f64)
    };
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
        // the results that became visible in this second, in the same kind of histogram
        let mut shown = histogram();
        let (lo, hi) = (visible.partition_point(|v| v.0 < from), visible.partition_point(|v| v.0 < to));
        for &(_, latency) in &visible[lo..hi] {
            shown.saturating_record(latency.max(1) as u64);
        }
        let visible_p99 = if shown.is_empty() { 0.0 } else { ms(shown.value_at_quantile(0.99) as Time) };
        timeline.push(Second {
            t_s: (from - w) as f64 / SECOND as f64,
            input_rate: line.events_between(from, to) as f64,
            output_rate: emissions.iter().filter(|e| e.emitted >= from && e.emitted < to).count() as f64,
            backlog_ms: ms(line.backlog(to)),
            p50_ms: q(0.5),
            p99_ms: q(0.99),
            max_ms: if h.is_empty() { 0.0 } else { ms(h.max() as Time) },
            visible_p99_ms: visible_p99,
            offered_rate: if from < end { offered(from, to.min(end)) } else { 0.0 },
            rate_limit: line.at(to).and_then(|(_, s)| s.rate_limit),
        });
        intervals.push((from, h));
        k += 1;
    }
    (timeline, intervals)
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
        let failure = Failed {
            kind: "crash",
            killed: None,
            at: killed,
            restarted: next.spawned,
            noticed: None,
            missed: inc.moment_missed,
        };
        out.push(recovery(run, &failure, input, line, delivered));
    }
    let samples = || incs.iter().flat_map(|i| i.samples.iter());
    // a worker of the engine's cluster killed: the engine noticed it (through its heartbeats
    // or connections) and restarted the job from a checkpoint (Flink) or retried the lost
    // tasks (Spark); without its report, recovery is measured from the kill
    if let Some((killed, name)) = &observed.worker_killed {
        // the engine's report may carry its own clock's time of it, a little before the
        // harness's own reading after the kill
        let noticed = samples().filter_map(|s| s.failure_noticed).find(|&t| t >= killed - KILL_SLACK);
        // the restore ends where the last restart of this failure read (one that failed
        // again restarted the recovery: the samples' input start moves to the next)
        let input = noticed.and_then(|n| {
            samples()
                .filter(|s| s.failure_noticed == Some(n))
                .filter_map(|s| s.input_started)
                .next_back()
                .filter(|&t| t >= n)
        });
        let failure = Failed {
            kind: "kill-worker",
            killed: Some(name.clone()),
            at: *killed,
            restarted: noticed.unwrap_or(*killed).max(*killed),
            noticed: noticed.map(|n| n.max(*killed)),
            missed: false,
        };
        out.push(recovery(run, &failure, input, line, delivered));
    }
    // a task failure: the engine noticed it and restarted (dataflow) or recomputed (micro-batch)
    if let Some(f) = run.failure.task_failure
        && let Some(noticed) = samples().filter_map(|s| s.failure_noticed).find(|&t| t >= f.at)
    {
        let input = samples().filter_map(|s| s.input_started).find(|&t| t >= noticed);
        let failure = Failed {
            kind: "task-failure",
            killed: None,
            at: f.at,
            restarted: noticed,
            noticed: Some(noticed),
            missed: false,
        };
        out.push(recovery(run, &failure, input, line, delivered));
    }
    out
}

/// How far before the harness's reading of a worker's kill the engine's own report of
/// noticing it may lie (clocks read a few milliseconds apart).
const KILL_SLACK: Time = 20 * MILLISECOND;

/// A failure as it happened.
struct Failed {
    kind: &'static str,
    /// What was killed, for a killed worker.
    killed: Option<String>,
    /// When it was injected.
    at: Time,
    /// When the engine started again (a crash) or noticed it (a task failure).
    restarted: Time,
    /// When the engine noticed it itself, if it did.
    noticed: Option<Time>,
    /// A crash whose moment did not come: it came at its time plus the longest wait.
    missed: bool,
}

/// The levels a run's latency and backlog had before a failure at `failed`: over the measured
/// period before it (or all of the run before it, for a failure during warm-up), the largest
/// due-time latency of a result made final and the largest backlog, each with its slack.
fn levels(run: &RunSpec, failed: Time, line: &Timeline, delivered: &[Delivered]) -> (Time, Time) {
    let from = if failed > run.warmup { run.warmup } else { 0 };
    let backlog = (from..failed).step_by(SAMPLE_EVERY as usize).map(|t| line.backlog(t)).max().unwrap_or(0);
    // a batching engine's backlog is a saw-tooth up to its interval by design: samples that met
    // it at one phase before may meet it at another after, which is no backlog of work
    let backlog = backlog.max(run.engine.engine().batch_interval());
    let latency = delivered
        .iter()
        .filter(|d| d.emit >= from && d.emit < failed && d.due < run.end())
        .map(Delivered::latency)
        .max()
        .unwrap_or(0);
    let with_slack = |v: Time, factor: f64, slack: Time| (v + slack).max((v as f64 * factor) as Time);
    (with_slack(latency, LATENCY_FACTOR, LATENCY_SLACK), with_slack(backlog, BACKLOG_FACTOR, BACKLOG_SLACK))
}

/// The instant a recovery that resumed reading at `restored` caught up: the first from which
/// every result's due-time latency stays within `latency_level` and the backlog within
/// `backlog_level` for [`SETTLED_FOR`] — or `None` if that never happened before `horizon`.
///
/// A result late beyond the level is out of it from the instant it became so late (its due
/// instant plus the level) until it was emitted; the backlog is out of it at each sample above
/// its level. So catch-up ends when the last such stretch before a settled period does, to
/// the resolution of the emissions (and of the samples, for the backlog).
///
/// Only the samples taken from `restored` on are judged: until the restarted process's first
/// one (a sampling period after it started, or more) its backlog is not known, and the killed
/// process's backlog, growing since it died ([`Timeline::backlog`]), stops being anyone's once
/// the new process reads. Judging the stretch between by that growth made a catch-up of a few
/// milliseconds measure a whole sampling period whenever the first sample came late.
fn caught_up(
    restored: Time,
    horizon: Time,
    (latency_level, backlog_level): (Time, Time),
    line: &Timeline,
    delivered: &[Delivered],
) -> Option<Time> {
    let mut out: Vec<(Time, Time)> = delivered
        .iter()
        .filter(|d| d.emit > restored && d.due < horizon && d.latency() > latency_level)
        .map(|d| (d.due + latency_level, d.emit))
        .collect();
    out.extend(
        (line.incarnations.iter().flat_map(|i| &i.samples))
            .filter(|s| (restored..=horizon).contains(&s.at) && s.backlog > backlog_level)
            .map(|s| (s.at, s.at)),
    );
    out.sort_unstable();
    let mut settled_from = restored;
    for (from, to) in out {
        if from > settled_from + SETTLED_FOR {
            break;
        }
        settled_from = settled_from.max(to);
    }
    (settled_from + SETTLED_FOR <= horizon).then_some(settled_from)
}

/// One recovery; `input`: when the engine read input again (`None`: the recovery did not stop
/// the input, or it never resumed).
fn recovery(
    run: &RunSpec,
    f: &Failed,
    input: Option<Time>,
    line: &Timeline,
    delivered: &[Delivered],
) -> Recovery {
    let restored = input.filter(|&t| t >= f.restarted).unwrap_or(f.restarted);
    // results stop being due when the input ends; the evidence of a settled engine with them
    let horizon = run.end().min(line.last());
    let levels = levels(run, f.at, line, delivered);
    let caught_up = caught_up(restored, horizon, levels, line, delivered);
    let detection_ms = f.noticed.map(|n| ms(n - f.at));
    let restart_delay_ms = if f.noticed.is_some() { 0.0 } else { ms(f.restarted - f.at) };
    let restore_ms = ms(restored - f.restarted);
    let catch_up_ms = caught_up.map(|c| ms(c - restored));
    Recovery {
        kind: f.kind.to_string(),
        killed: f.killed.clone(),
        at_s: (f.at - run.warmup) as f64 / SECOND as f64,
        detection_ms,
        restart_delay_ms,
        restore_ms,
        catch_up_ms,
        total_ms: caught_up.map(|c| ms(c - f.at)),
        from_restart_ms: caught_up.map(|c| ms(c - f.restarted)),
        moment_missed: f.missed,
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
            event_time: None,
            peak_rss: 0,
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
                    ..Default::default()
                },
                Incarnation { spawned: 2_000, samples: vec![sample(2_500, 300, 4)], ..Default::default() },
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
        let at = |t: Time, cpu: Time, events: u64| Sample {
            at: t,
            cpu,
            task_cpu: cpu / 2,
            events_in: events,
            ..Default::default()
        };
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
        assert!((m.period_task_cpu_s - 175.0 / SECOND as f64).abs() < 1e-15, "{}", m.period_task_cpu_s);
        assert_eq!(m.period_events, 60 + 20);
    }

    /// A run of the baseline with a 1 s warm-up and a 1 s measured period.
    pub(crate) fn test_run() -> RunSpec {
        RunSpec {
            id: "r".into(),
            key: "r".into(),
            repetition: 0,
            engine: (crate::engines::baseline::REGISTERED.default)(),
            workload: WorkloadSpec::catalog().remove(0),
            workload_name: "wordcount".into(),
            log: LogSpec {
                seed: 1,
                partitions: 1,
                rate: RateProfile::constant(1.0),
                disorder: Default::default(),
            },
            rate: 1.0,
            load: String::new(),
            pending: None,
            disorder: "none".into(),
            failure: Injection::default(),
            warmup: SECOND,
            measure: SECOND,
            timeout: 60 * SECOND,
        }
    }

    /// A crash at 5 s, restart at `restarted`, input read again at `input`; samples every
    /// 100 ms with the backlog `backlog(t)`, results due every 10 ms with latency `late(due)`.
    fn crash(
        restarted: Time,
        input: Time,
        backlog: impl Fn(Time) -> Time,
        late: impl Fn(Time) -> Time,
    ) -> (RunSpec, Observed, Vec<Delivered>) {
        let run = RunSpec { measure: 20 * SECOND, ..test_run() };
        let at = |from: Time, to: Time| {
            (from / SAMPLE_EVERY..to / SAMPLE_EVERY)
                .map(|k| sample(k * SAMPLE_EVERY, backlog(k * SAMPLE_EVERY), 0))
                .collect()
        };
        let mut incarnations = vec![
            Incarnation {
                spawned: 0,
                killed: Some(5 * SECOND),
                samples: at(SECOND, 5 * SECOND),
                moment_missed: false,
            },
            Incarnation { spawned: restarted, samples: at(input, run.end() + SECOND), ..Default::default() },
        ];
        incarnations[1].samples[0].input_started = Some(input);
        let mut delivered: Vec<Delivered> = (0..run.end() / (10 * MILLISECOND))
            .map(|k| {
                let due = k * 10 * MILLISECOND;
                Delivered { emit: due + late(due), due, time: due, arrival: due, commit: None }
            })
            .collect();
        delivered.sort_by_key(|d| d.emit);
        (run, Observed { incarnations, ..Default::default() }, delivered)
    }

    fn crash_recovery(run: &RunSpec, observed: &Observed, delivered: &[Delivered]) -> Recovery {
        let r = recoveries(run, observed, &Timeline::new(observed), delivered);
        assert_eq!(r.len(), 1);
        r[0].clone()
    }

    #[test]
    fn a_killed_workers_restore_ends_with_the_reading_of_the_last_restart_of_that_failure() {
        let ms = MILLISECOND;
        let (run, crashed, delivered) = crash(5_500 * ms, 5_600 * ms, |_| ms, |_| 10 * ms);
        // one process throughout: the worker killed at 5 s, the engine noticing at 5.1 s; a
        // first restart reads at 5.3 s and fails again (the input start cleared), the last
        // reads at 6 s
        let mut samples: Vec<Sample> = crashed.incarnations.into_iter().flat_map(|i| i.samples).collect();
        samples.sort_by_key(|s| s.at);
        for s in &mut samples {
            s.input_started = Some(SECOND);
            if s.at >= 5_100 * ms {
                s.failure_noticed = Some(5_100 * ms);
                s.input_started = match s.at {
                    t if t < 5_300 * ms => None,
                    t if t < 5_400 * ms => Some(5_300 * ms),
                    t if t < 6 * SECOND => None,
                    _ => Some(6 * SECOND),
                };
            }
        }
        let observed = Observed {
            incarnations: vec![Incarnation { spawned: 0, samples, ..Default::default() }],
            worker_killed: Some((5 * SECOND, "flink-taskmanager-1 (pid 7)".into())),
            ..Default::default()
        };
        let r = crash_recovery(&run, &observed, &delivered);
        assert_eq!(r.kind, "kill-worker");
        assert_eq!(r.killed.as_deref(), Some("flink-taskmanager-1 (pid 7)"));
        assert!((r.detection_ms.unwrap() - 100.0).abs() < 1e-9, "{r:?}");
        assert!((r.restore_ms - 900.0).abs() < 1e-9, "the last restart's reading, not the first: {r:?}");
        assert_eq!(r.restart_delay_ms, 0.0);
    }

    #[test]
    fn recovery_phases_add_up_and_catch_up_waits_for_latency_and_backlog() {
        let ms = MILLISECOND;
        // backlog 1 ms before a crash at 5 s; restarted at 5.5 s, input read at 5.6 s with a
        // backlog that drains by 8 s; results 10 ms late, those due in [5 s, 9 s) 2 s late
        let (run, observed, delivered) = crash(
            5_500 * ms,
            5_600 * ms,
            |t| if t < 5 * SECOND { ms } else { (8 * SECOND - t).max(0) },
            |due| if (5 * SECOND..9 * SECOND).contains(&due) { 2 * SECOND } else { 10 * ms },
        );
        let r = crash_recovery(&run, &observed, &delivered);
        assert_eq!(r.detection_ms, None, "a crash is the harness's, not detected");
        assert_eq!(r.restart_delay_ms, 500.0);
        assert!((r.restore_ms - 100.0).abs() < 1e-9);
        // the backlog is back under its level at 7.99 s, but the last result 2 s late (due at
        // 8.99 s) is emitted at 10.99 s
        let caught_up = r.catch_up_ms.expect("caught up") + 5_600.0;
        assert!((caught_up - 10_990.0).abs() < 1e-6, "{caught_up}");
        assert_eq!(r.total_ms, Some(r.restart_delay_ms + r.restore_ms + r.catch_up_ms.unwrap()));
        assert_eq!(r.from_restart_ms, Some(r.restore_ms + r.catch_up_ms.unwrap()));
        assert!(!r.moment_missed);
        // the same crash after waiting in vain for its moment: said so beside the recovery
        let mut observed = observed;
        observed.incarnations[0].moment_missed = true;
        assert!(crash_recovery(&run, &observed, &delivered).moment_missed);
    }

    #[test]
    fn a_100_ms_disturbance_measures_100_ms_not_a_second() {
        let ms = MILLISECOND;
        // restarted at once, reading at 5.01 s; the results due in [5 s, 5.11 s) all wait for
        // 5.11 s, the backlog is 40 ms at the one sample inside the disturbance
        let (run, observed, delivered) = crash(
            5 * SECOND,
            5_010 * ms,
            |t| if t == 5_100 * ms { 40 * ms } else { ms },
            |due| if (5 * SECOND..5_110 * ms).contains(&due) { 5_110 * ms - due } else { 2 * ms },
        );
        let r = crash_recovery(&run, &observed, &delivered);
        let catch_up = r.catch_up_ms.expect("caught up");
        assert!((catch_up - 100.0).abs() <= SAMPLE_EVERY as f64 / 1e6, "{catch_up} ms");
        assert_eq!(r.total_ms, Some(110.0));
    }

    #[test]
    fn the_killed_process_backlog_is_not_judged_after_the_restarted_one_reads() {
        let ms = MILLISECOND;
        // restarted at once, reading at 5.01 s, on time from 5.02 s: the results due before
        // wait for 5.02 s; the new process's first sample comes only at 5.2 s (a sampling
        // period after it started, and then some)
        let (run, mut observed, delivered) = crash(
            5 * SECOND,
            5_010 * ms,
            |_| ms,
            |due| if (5 * SECOND..5_020 * ms).contains(&due) { 5_020 * ms - due } else { 2 * ms },
        );
        let restarted = &mut observed.incarnations[1];
        restarted.samples.retain(|s| s.at >= 5_200 * ms);
        restarted.samples[0].input_started = Some(5_010 * ms);
        let r = crash_recovery(&run, &observed, &delivered);
        // caught up when the last late result came, at 5.02 s: not at 5.11 s, the instant on a
        // sampling period's grid from 5.01 s when the killed process's backlog (1 ms at its last
        // sample, 4.9 s, and growing since) was the latest known
        assert_eq!(r.catch_up_ms, Some(10.0), "{r:?}");
        // a sample after the input resumed that is above the level still counts, at its instant
        let mut late_sample = observed.clone();
        late_sample.incarnations[1].samples[0].backlog = 100 * ms;
        assert_eq!(crash_recovery(&run, &late_sample, &delivered).catch_up_ms, Some(190.0));
    }

    #[test]
    fn a_recovery_that_never_settles_says_so() {
        let ms = MILLISECOND;
        // after the crash every result is 200 ms late to the end of the input
        let (run, observed, delivered) =
            crash(5 * SECOND, 5_010 * ms, |_| ms, |due| if due >= 5 * SECOND { 200 * ms } else { 2 * ms });
        let r = crash_recovery(&run, &observed, &delivered);
        assert_eq!((r.catch_up_ms, r.total_ms, r.from_restart_ms), (None, None, None));
    }

    #[test]
    fn catch_up_needs_the_whole_settled_period_and_no_more() {
        let ms = MILLISECOND;
        // results 10 ms late before the crash: a level of 20 ms, on the results' 10 ms grid
        let level = LATENCY_SLACK + 10 * ms;
        // two disturbances: results due in [5 s, 5.1 s) emitted at 5.1 s, then one result out
        // of its level from `second` on; the first counts as over only if the second starts
        // more than the settled period after its end
        let run_with = |second: Time| {
            crash(
                5 * SECOND,
                5 * SECOND,
                |_| ms,
                |due| {
                    if (5 * SECOND..5_100 * ms).contains(&due) {
                        5_100 * ms - due
                    } else if due == second - level {
                        level + 50 * ms
                    } else {
                        10 * ms
                    }
                },
            )
        };
        let end_of = |second: Time| {
            let (run, observed, delivered) = run_with(second);
            crash_recovery(&run, &observed, &delivered).catch_up_ms.map(|c| c + 5_000.0)
        };
        // the second one out of level at 5.1 s + SETTLED_FOR: inside the settled period
        let inside = 5_100 * ms + SETTLED_FOR;
        assert_eq!(end_of(inside), Some((inside + 50 * ms) as f64 / 1e6));
        // … 10 ms later: after it (the results are 10 ms apart)
        assert_eq!(end_of(inside + 10 * ms), Some(5_100.0));
    }

    #[test]
    fn a_recovery_settled_exactly_at_the_end_of_the_input_counts_and_one_later_does_not() {
        let ms = MILLISECOND;
        for (late_until, caught_up) in [(15 * SECOND, true), (15 * SECOND + 10 * ms, false)] {
            // input ends at 21 s; results 2 ms late except those due in [5 s, late_until)
            let (run, observed, delivered) = crash(
                5 * SECOND,
                5 * SECOND,
                |_| ms,
                |due| {
                    if (5 * SECOND..late_until).contains(&due) {
                        late_until + 5 * SECOND - due
                    } else {
                        2 * ms
                    }
                },
            );
            assert_eq!(run.end(), 21 * SECOND);
            // the last late result is emitted at late_until + 5 s: 20 s exactly settles by 21 s
            let r = crash_recovery(&run, &observed, &delivered);
            assert_eq!(r.catch_up_ms.is_some(), caught_up, "late until {late_until}: {r:?}");
        }
    }
}
