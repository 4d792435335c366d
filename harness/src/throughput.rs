//! Sustainable throughput (Karimov et al., "Benchmarking Distributed Stream Data Processing
//! Systems", ICDE 2018): the highest constant input rate at which the backlog — how long the
//! oldest unread event has waited since its arrival — stays bounded over the measured period.
//!
//! The search doubles the rate from a start until a probe fails, then bisects between the last
//! rate sustained and the first not. A probe is a short run judged on its backlog alone: it is
//! sustained when the backlog never exceeds [`BOUND`] plus the batch interval (a micro-batch
//! engine's backlog waits a whole interval by design) and does not grow over the probe — the
//! least backlog of its last stretch is at most that of its first plus [`DEFICIT`] of the time
//! between them. Then latency is measured, and checked against the reference, at fractions of
//! the rate found.

use crate::engines::{self, SearchSettings};
use crate::limits;
use crate::measure::Timeline;
use crate::observe::{self, GiveUp, Interrupted, Observed, SAMPLE_EVERY};
use crate::pipeline;
use crate::progress::Progress;
use crate::spec::{Injection, RunSpec, SearchPlan};
use anyhow::{Result, bail};
use flowmark_core::time::{self, SECOND, Time};
use flowmark_reports::results::{Probe, ResultSet, Search, Status};
use flowmark_reports::slug;
use flowmark_workloads::{Disorder, LogSpec, RateProfile, WorkloadSpec};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;

/// The largest backlog a sustained probe may show, beyond the batch interval.
pub const BOUND: Time = SECOND;

/// How fast the least backlog may grow over a probe, as a fraction of the time that passes: an
/// engine that reads only `1 − DEFICIT` of what arrives falls behind by this much. Half the
/// search's [`PRECISION`], so that a rate the engine falls behind at by more than the search
/// can resolve is not sustained.
pub const DEFICIT: f64 = PRECISION / 2.0;

/// `flowmark throughput`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// The engine: dataflow, microbatch, flink or spark.
    #[arg(long, default_value = "dataflow")]
    engine: String,
    /// The workload (see `flowmark list`).
    #[arg(long, default_value = "wordcount")]
    workload: String,
    /// Tasks per operator or stage.
    #[arg(long, default_value_t = 2)]
    parallelism: usize,
    /// Batch interval (micro-batch) or trigger interval (spark).
    #[arg(long, default_value = "1s", value_parser = time::duration::parse)]
    batch: Time,
    /// Checkpoint interval (dataflow, flink).
    #[arg(long, default_value = "1s", value_parser = time::duration::parse)]
    checkpoint: Time,
    /// The first rate tried, events per second.
    #[arg(long, default_value_t = 250_000.0)]
    start: f64,
    /// The most probes (the search stops before, once it has found the rate within 5 % or
    /// reached what the harness can feed).
    #[arg(long, default_value_t = 16)]
    steps: u32,
    /// Measured period of each probe.
    #[arg(long, default_value = "6s", value_parser = time::duration::parse)]
    probe: Time,
    /// Warm-up of each probe.
    #[arg(long, default_value = "2s", value_parser = time::duration::parse)]
    warmup: Time,
    /// Fractions of the sustainable rate to measure latency at.
    #[arg(long, value_delimiter = ',', default_value = "1.0,0.8,0.5")]
    fractions: Vec<f64>,
    /// Seed of the log.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Source partitions.
    #[arg(long, default_value_t = 4)]
    partitions: u32,
    /// Largest delay of an event behind its arrival (uniform disorder).
    #[arg(long, default_value = "200ms", value_parser = time::duration::parse)]
    disorder: Time,
    /// Where result directories go.
    #[arg(long, default_value = "results")]
    out: PathBuf,
}

/// Runs `flowmark throughput`.
pub fn main(args: &Args, cancel: &AtomicBool) -> Result<ExitCode> {
    let base = args.base_run()?;
    base.engine.engine().prepare()?;
    let plan = SearchPlan { start: args.start, steps: args.steps, fractions: args.fractions.clone() };
    let name = format!("throughput-{}-{}", args.engine, args.workload);
    let dir = crate::machine::new_dir(&args.out, &name);
    let manifest = crate::machine::manifest(&name, "", "", args.seed, args.fractions.len());
    ResultSet::write_manifest(&dir, &manifest)?;
    say!("flowmark: sustainable throughput of {} on {}, into {}", args.engine, args.workload, dir.display());
    let progress = Progress::new(u64::from(args.steps) + args.fractions.len() as u64, 0);
    let Ok(search) = search(&base, &plan, &dir, cancel, &progress)? else {
        say!("interrupted");
        return Ok(ExitCode::from(crate::INTERRUPTED));
    };
    let set = ResultSet::load(&dir)?;
    set.write_tables()?;
    say!("sustainable: {}", search.figure());
    for r in &set.runs {
        say!("  {}", flowmark_reports::metrics::summary_line(r));
    }
    let ok = set.runs.iter().all(|r| r.status == Status::Ok);
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

impl Args {
    /// The search's base run, from the arguments, checked.
    fn base_run(&self) -> Result<RunSpec> {
        let Some(workload) = WorkloadSpec::catalog().into_iter().find(|w| w.name() == self.workload) else {
            let names: Vec<String> = WorkloadSpec::catalog().iter().map(|w| w.name()).collect();
            bail!("unknown workload `{}`; the workloads are: {}", self.workload, names.join(", "));
        };
        let searchable: Vec<&str> =
            engines::REGISTRY.iter().filter(|r| r.searched.is_some()).map(|r| r.name).collect();
        let Some(searched) = engines::named(&self.engine).and_then(|r| r.searched) else {
            bail!("--engine must be one of {}, got `{}`", searchable.join(", "), self.engine);
        };
        if self.parallelism == 0
            || self.batch <= 0
            || self.checkpoint <= 0
            || self.probe <= 0
            || self.warmup < 0
        {
            bail!("--parallelism, --batch, --checkpoint and --probe must be positive, --warmup zero or more");
        }
        let engine = searched(&SearchSettings {
            parallelism: self.parallelism,
            batch: self.batch,
            checkpoint: self.checkpoint,
        });
        if let Some(why) = engine.engine().refuses(&workload, &Injection::default()) {
            bail!("{}: {why}", self.workload);
        }
        let interval = engine.engine().batch_interval();
        if self.probe < 3 * interval || self.warmup < interval {
            bail!(
                "a micro-batch probe must span at least 3 batch intervals (--probe) after a warm-up of one (--warmup)"
            );
        }
        if !(self.start.is_finite() && self.start > 0.0) || self.steps == 0 {
            bail!("--start must be a positive rate and --steps at least 1");
        }
        if self.start > limits::MAX_RATE {
            bail!(
                "--start {:e} is above the most a log can offer, {:e} events/s",
                self.start,
                limits::MAX_RATE
            );
        }
        if let Some(f) = self.fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
            bail!("--fractions must lie in (0, 1], got {f}");
        }
        let log = LogSpec {
            seed: self.seed,
            partitions: self.partitions,
            rate: RateProfile::constant(self.start),
            disorder: Disorder::uniform(self.disorder),
        };
        log.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
        let name = workload.name();
        Ok(RunSpec::search(engine, workload, &name, log, "uniform", self.warmup, self.probe))
    }
}

fn at_rate(base: &RunSpec, rate: f64, label: &str) -> RunSpec {
    let mut run = base.clone();
    run.load = format!("{rate}");
    run.offer(RateProfile::constant(rate));
    run.key = slug(&format!("{}.{label}", base.key));
    run.id = format!("{}.0", run.key);
    run
}

/// Searches `base`'s sustainable rate, then measures runs at fractions of it, all into `dir`.
pub fn search(
    base: &RunSpec,
    plan: &SearchPlan,
    dir: &Path,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<Result<Search, Interrupted>> {
    let work_root = crate::runner::work_root("flowmark-search");
    // each probe is `base` (its warm-up and measured period) at a rate of its own
    let outcome = probe_and_measure(base, plan, dir, &work_root, cancel, progress);
    progress.finish();
    let _ = std::fs::remove_dir_all(&work_root);
    let search = match outcome? {
        Ok(search) => search,
        Err(i) => return Ok(Err(i)),
    };
    ResultSet::write_search(dir, &base.key, &search)?;
    Ok(Ok(search))
}

fn probe_and_measure(
    base: &RunSpec,
    plan: &SearchPlan,
    dir: &Path,
    work_root: &Path,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<Result<Search, Interrupted>> {
    let engine = base.engine.engine();
    let limit = limits::feed_capacity(engine.feed(), &base.workload, &base.log)
        .unwrap_or(limits::MAX_RATE)
        .min(limits::MAX_RATE);
    let mut bracket = Bracket::default();
    let mut rate = plan.start.min(limit);
    let mut probes = Vec::new();
    for _ in 0..plan.steps {
        let run = at_rate(base, rate, &format!("probe-{rate:.0}"));
        let observed = match observe_one(&run, work_root, cancel, Some(hopeless(&run)), progress)? {
            Ok(o) => o,
            Err(i) => return Ok(Err(i)),
        };
        let probe = judge(&run, &observed);
        progress.end_run(&match observed.gave_up {
            Some((at, _)) => format!(
                "probe {rate:.0}/s: NOT sustained (backlog {:.1} ms at {}: stopped there)",
                probe.max_backlog_ms,
                time::human(at)
            ),
            None => format!(
                "probe {rate:.0}/s: {} (backlog max {:.1} ms, at the end {:.1} ms, least grew {:.1} ms)",
                if probe.sustained { "sustained" } else { "NOT sustained" },
                probe.max_backlog_ms,
                probe.end_backlog_ms,
                probe.growth_ms.unwrap_or(0.0)
            ),
        });
        probes.push(probe);
        match bracket.next(rate, probe.sustained, limit) {
            Some(next) => rate = next,
            None => break,
        }
    }
    let (good, bad) = (bracket.good, bracket.bad);
    let sustainable = good.unwrap_or(0.0);
    let mut runs = Vec::new();
    let mut baseline = None;
    if sustainable > 0.0 {
        for &f in &plan.fractions {
            // latency at a fraction of the sustainable rate is measured like any run
            let run = at_rate(base, (sustainable * f).round(), &format!("sustainable-x{f}"));
            if let Some(why) = limits::refuses(&run.workload, &run.log, run.rate, run.end()) {
                progress.line(&format!("{}: not measured: {why}", run.id));
                continue;
            }
            progress.start_run(&run.id, run.end());
            let record = match pipeline::run(&run, dir, work_root, false, cancel, progress)? {
                Ok(r) => r,
                Err(i) => return Ok(Err(i)),
            };
            progress.end_run(&flowmark_reports::metrics::summary_line(&record));
            ResultSet::write_run(dir, &record)?;
            runs.push(record.id);
        }
        baseline = match baseline_rate(base, sustainable, work_root, cancel, progress)? {
            Ok(b) => b,
            Err(i) => return Ok(Err(i)),
        };
    }
    Ok(Ok(Search {
        baseline,
        engine: base.engine.name().into(),
        settings: base.engine.settings(),
        workload: base.workload_name.clone(),
        probes,
        sustainable,
        upper: bad,
        limit: Some(limit),
        runs,
    }))
}

/// How close the search brackets the sustainable rate: it stops once the lowest rate not
/// sustained is within this fraction above the highest sustained.
pub const PRECISION: f64 = 0.05;

/// The rates a search has learned about: the highest sustained, the lowest not.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Bracket {
    good: Option<f64>,
    bad: Option<f64>,
}

impl Bracket {
    /// Takes in a probe at `rate`; the next rate to probe, or `None` when the search is done:
    /// double until a probe fails (at most up to `limit`, what the harness can feed), then
    /// bisect until the bracket is within [`PRECISION`]; halve while none is sustained.
    fn next(&mut self, rate: f64, sustained: bool, limit: f64) -> Option<f64> {
        if sustained {
            self.good = Some(self.good.map_or(rate, |g| g.max(rate)));
        } else {
            self.bad = Some(self.bad.map_or(rate, |b| b.min(rate)));
        }
        match (self.good, self.bad) {
            (Some(g), Some(b)) => (b > g * (1.0 + PRECISION)).then_some((g + b) / 2.0),
            (Some(g), None) => (g < limit).then_some((g * 2.0).min(limit)),
            (None, Some(b)) => Some(b / 2.0),
            (None, None) => None,
        }
    }
}

/// Runs `run`'s engine process and nothing more.
fn observe_one(
    run: &RunSpec,
    work_root: &Path,
    cancel: &AtomicBool,
    give_up: Option<GiveUp>,
    progress: &Progress,
) -> Result<Result<Observed, Interrupted>> {
    progress.start_run(&run.id, run.end());
    let work = work_root.join(&run.id);
    let observed = observe::observe(run, &work, cancel, give_up, |t| progress.tick(t));
    let _ = std::fs::remove_dir_all(&work);
    observed
}

/// The most backlog a sustained probe of `run` may show: [`BOUND`] plus the batch interval.
fn most_backlog(run: &RunSpec) -> Time {
    BOUND + run.engine.engine().batch_interval()
}

/// A probe is decided, not sustained, as soon as its backlog passes [`most_backlog`] in the
/// measured period: the harness stops it there rather than wait for the engine to drain.
fn hopeless(run: &RunSpec) -> GiveUp {
    GiveUp { after: run.warmup, backlog_above: most_backlog(run) }
}

/// A probe's verdict: sustained when the engine finished and its backlog was bounded.
fn judge(run: &RunSpec, observed: &Observed) -> Probe {
    if let Some((_, backlog)) = observed.gave_up {
        let ms = backlog as f64 / 1e6;
        return Probe {
            rate: run.rate,
            sustained: false,
            max_backlog_ms: ms,
            end_backlog_ms: ms,
            growth_ms: None,
        };
    }
    let line = Timeline::new(observed);
    let interval = run.engine.engine().batch_interval();
    let b = bounded(|t| line.backlog(t), run.warmup, run.end(), interval);
    let ms = |t: Time| t as f64 / 1e6;
    Probe {
        rate: run.rate,
        sustained: observed.failure.is_none() && b.bounded,
        max_backlog_ms: ms(b.max),
        end_backlog_ms: ms(b.end),
        growth_ms: Some(ms(b.growth)),
    }
}

/// The backlog of a probe's measured period, judged ([`bounded`]).
#[derive(Clone, Copy, Debug, PartialEq)]
struct Judged {
    /// Whether it stayed bounded.
    bounded: bool,
    /// The largest backlog.
    max: Time,
    /// The largest backlog of the last stretch.
    end: Time,
    /// How much the least backlog grew from the first stretch to the last (negative: fell).
    growth: Time,
}

/// Whether the backlog over the measured period `[w, end]` stayed bounded: it never exceeded
/// the bound (plus the batch interval), and its least value in the last stretch is at most its
/// least in the first plus [`DEFICIT`] of the time between the two.
///
/// The least value, not the largest: a pause (a checkpoint, a descheduled thread) raises a
/// stretch's peak and is gone again, while an engine that falls behind never gets back to
/// where it was. The stretches are a batch interval long (at least a second), so that each
/// holds one trough of a micro-batch engine's saw-tooth (the backlog grows for an interval and
/// falls once the batch is read); that trough is seen to within one sample, so a saw-tooth is
/// allowed one sampling period more.
fn bounded(backlog: impl Fn(Time) -> Time, w: Time, end: Time, interval: Time) -> Judged {
    let samples = |from: Time, to: Time| (from..to).step_by(SAMPLE_EVERY as usize).map(&backlog);
    let max = samples(w, end + 1).max().unwrap_or(0);
    let stretch = interval.max(SECOND).min(end - w);
    let least = |from: Time| samples(from, from + stretch).min().unwrap_or(0);
    let growth = least(end - stretch) - least(w);
    let sampling = if interval > 0 { SAMPLE_EVERY } else { 0 };
    let allowed = ((end - stretch - w) as f64 * DEFICIT) as Time + sampling;
    Judged {
        bounded: max <= BOUND + interval && growth <= allowed,
        max,
        end: samples(end - stretch, end).max().unwrap_or(0),
        growth,
    }
}

/// The single-thread baseline on the same log, at the rate found: its speed depends on the
/// log's density (events per window and key), so it is measured at the same one.
fn baseline_rate(
    base: &RunSpec,
    sustainable: f64,
    work_root: &Path,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<Result<Option<f64>, Interrupted>> {
    let mut run = at_rate(base, sustainable, "baseline");
    run.engine = (engines::baseline::REGISTERED.default)();
    let observed = match observe_one(&run, work_root, cancel, None, progress)? {
        Ok(o) => o,
        Err(i) => return Ok(Err(i)),
    };
    let baseline =
        observed.finished.map(|(events, busy)| events as f64 / (busy.max(1) as f64 / SECOND as f64));
    progress.end_run(&format!(
        "baseline on the same log: {}",
        baseline.map_or("failed".into(), |b| format!("{:.2} M events/s single-threaded", b / 1e6))
    ));
    Ok(Ok(baseline))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::time::MILLISECOND;

    /// The rates a search probes against an engine that sustains up to `capacity`.
    fn probes(start: f64, capacity: f64, limit: f64) -> Vec<f64> {
        let mut b = Bracket::default();
        let mut rate = start.min(limit);
        let mut out = vec![rate];
        while let Some(next) = b.next(rate, rate <= capacity, limit) {
            rate = next;
            out.push(rate);
            assert!(out.len() < 64, "the search does not end: {out:?}");
        }
        out
    }

    #[test]
    fn the_search_doubles_until_a_probe_fails_then_bisects_to_within_5_percent() {
        let p = probes(1.0, 37.0, 1e9);
        assert_eq!(&p[..7], &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]);
        let mut b = Bracket::default();
        for &r in &p {
            b.next(r, r <= 37.0, 1e9);
        }
        let (g, u) = (b.good.unwrap(), b.bad.unwrap());
        assert!(g <= 37.0 && u > 37.0 && u <= g * 1.05, "{g} .. {u}: {p:?}");
    }

    #[test]
    fn a_saw_tooth_backlog_of_long_batches_is_bounded_and_a_growing_one_is_not() {
        // 2 s batches: the backlog climbs from 0 to 2 s over each interval, then falls
        let saw = |t: Time| t.rem_euclid(2 * SECOND);
        let (w, end) = (2 * SECOND, 8 * SECOND);
        assert!(bounded(saw, w, end, 2 * SECOND).bounded, "trough against trough");
        // over one-second stretches the first (from 2 s to 3 s) has its trough at 0 and the
        // last (from 7 s to 8 s) only the upper half of a tooth, from 1 s: growth
        assert_eq!(bounded(saw, w, end, SECOND).growth, SECOND);
        assert!(!bounded(saw, w, end, SECOND).bounded);
        // the same saw-tooth on a backlog growing by 100 ms a second (10 % behind) grows by
        // 400 ms between the stretches: more than 2.5 % of 4 s and a sample
        let behind = bounded(|t| saw(t) + (t - w) / 10, w, end, 2 * SECOND);
        assert_eq!(behind.growth, 400 * MILLISECOND);
        assert!(!behind.bounded);
        // and past the bound plus the interval it is not bounded at all
        assert!(!bounded(|t| saw(t) + BOUND + SECOND, w, end, 2 * SECOND).bounded);
    }

    #[test]
    fn a_pause_at_the_end_is_bounded_but_a_backlog_that_never_drains_is_not() {
        let (w, end) = (SECOND, 4 * SECOND);
        // a record-at-a-time engine: a millisecond of backlog, and a 300 ms pause near the end
        let pause = |t: Time| {
            if (3400 * MILLISECOND..3700 * MILLISECOND).contains(&t) {
                MILLISECOND + t - 3400 * MILLISECOND
            } else {
                MILLISECOND
            }
        };
        let j = bounded(pause, w, end, 0);
        assert!(j.bounded && j.growth == 0 && j.end == 201 * MILLISECOND, "{j:?}");
        // a backlog that rises to 100 ms before the last stretch and stays there: more than 2.5 %
        // of the 2 s between the stretches
        let stuck = |t: Time| if t >= 2900 * MILLISECOND { 100 * MILLISECOND } else { MILLISECOND };
        assert!(!bounded(stuck, w, end, 0).bounded);
    }

    #[test]
    fn growth_of_exactly_the_deficit_is_bounded_and_a_nanosecond_more_is_not() {
        let (w, end) = (2 * SECOND, 8 * SECOND);
        // reads 97.5 % of what arrives: the least backlog of the last stretch (from 7 s) is
        // 2.5 % of the 5 s since the first stretch's (at 2 s)
        let lagging = |t: Time| (t - w) / 40;
        let j = bounded(lagging, w, end, 0);
        assert_eq!(j.growth, 125 * MILLISECOND);
        assert!(j.bounded);
        let more = |t: Time| lagging(t) + Time::from(t >= end - SECOND);
        assert!(!bounded(more, w, end, 0).bounded);
        // a saw-tooth is allowed one sample more, and not two
        let saw = |extra: Time| move |t: Time| lagging(t) + if t >= end - SECOND { extra } else { 0 };
        assert!(bounded(saw(SAMPLE_EVERY), w, end, SECOND).bounded);
        assert!(!bounded(saw(SAMPLE_EVERY + 1), w, end, SECOND).bounded);
    }

    #[test]
    fn a_backlog_at_the_bound_plus_the_interval_is_bounded_and_one_past_it_is_not() {
        let (w, end) = (SECOND, 4 * SECOND);
        assert!(bounded(|_| BOUND, w, end, 0).bounded);
        assert!(!bounded(|_| BOUND + 1, w, end, 0).bounded);
        assert!(bounded(|_| BOUND + SECOND, w, end, SECOND).bounded);
        assert!(!bounded(|_| BOUND + SECOND + 1, w, end, SECOND).bounded);
    }

    #[test]
    fn the_search_halves_while_nothing_is_sustained() {
        assert_eq!(&probes(8.0, 1.5, 1e9)[..4], &[8.0, 4.0, 2.0, 1.0]);
    }

    #[test]
    fn the_search_stops_at_the_harness_limit_when_the_engine_sustains_it() {
        let p = probes(1.0, 1e12, 10.0);
        assert_eq!(p, [1.0, 2.0, 4.0, 8.0, 10.0], "probes the limit itself, then stops");
        // an engine just under the limit is bracketed below it
        let p = probes(1.0, 9.0, 10.0);
        assert!(p.contains(&10.0) && p.iter().all(|&r| r <= 10.0), "{p:?}");
    }

    #[test]
    fn a_bracket_of_exactly_5_percent_is_done_and_one_just_wider_is_not() {
        let mut b = Bracket { good: Some(100.0), bad: None };
        assert_eq!(b.next(105.0, false, 1e9), None);
        let mut b = Bracket { good: Some(100.0), bad: None };
        assert_eq!(b.next(105.001, false, 1e9), Some(102.5005));
    }
}
