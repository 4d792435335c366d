//! The claims flowmark exists to settle — what is commonly said when continuous dataflow
//! (Flink) is compared with micro-batching (Spark Streaming) — each judged by a written rule on
//! the numbers of one result set: holds, refuted, depends (on what), or not enough data (and
//! which runs it needs). `flowmark claims DIR` prints them; the report shows them first.
//! `docs/claims.md` explains every rule and the suite that feeds them (`suites/claims.toml`).

use crate::metrics::{self, ms};
use crate::results::{ResultSet, Run, Search, Status};
use std::collections::BTreeMap;

/// The two designs as engines of one set: a continuous engine and a micro-batch one, judged
/// against each other (never against the other pair's).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pair {
    /// The continuous engine's name in results.
    pub continuous: &'static str,
    /// The micro-batch engine's name in results.
    pub microbatch: &'static str,
    /// The pair's name for verdicts.
    pub name: &'static str,
}

/// flowmark's own engines, judged on every set.
pub const FLOWMARK: Pair =
    Pair { continuous: "dataflow", microbatch: "microbatch", name: "flowmark's engines" };

/// Real Apache Flink and Apache Spark, judged on a set that has runs of either.
pub const REAL: Pair =
    Pair { continuous: "flink", microbatch: "spark", name: "Apache Flink and Apache Spark" };
/// What "recovers in milliseconds" is taken to mean: back within its levels in under a second.
const FAST_RECOVERY_MS: f64 = 1000.0;
/// The most a checkpointing setting may cost (throughput, relative) to be called cheap.
const CHEAP: f64 = 0.10;

/// A claim's verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The numbers bear it out everywhere they reach.
    Holds,
    /// The numbers contradict it everywhere they reach.
    Refuted,
    /// It holds in some places and not in others: on what it depends.
    Depends(String),
    /// The set lacks the runs the rule needs: which.
    NoData(String),
}

impl Verdict {
    /// A word for tables.
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Holds => "holds",
            Verdict::Refuted => "refuted",
            Verdict::Depends(_) => "depends",
            Verdict::NoData(_) => "not enough data",
        }
    }

    /// What it depends on, or what is missing.
    pub fn detail(&self) -> &str {
        match self {
            Verdict::Depends(s) | Verdict::NoData(s) => s,
            _ => "",
        }
    }

    /// From how many of the places compared the claim held in.
    fn tally(held: usize, of: usize, missing: &str, mixed: impl FnOnce() -> String) -> Verdict {
        match (held, of) {
            (_, 0) => Verdict::NoData(missing.into()),
            (h, n) if h == n => Verdict::Holds,
            (0, _) => Verdict::Refuted,
            _ => Verdict::Depends(mixed()),
        }
    }
}

/// One claim, judged.
#[derive(Clone, Debug)]
pub struct Claim {
    /// Its number (1–6).
    pub number: u8,
    /// The engines it was judged on.
    pub pair: Pair,
    /// What is claimed.
    pub statement: &'static str,
    /// The rule that judges it, written out.
    pub rule: &'static str,
    /// The verdict.
    pub verdict: Verdict,
    /// The numbers it rests on, one line each.
    pub evidence: Vec<String>,
    /// Chart-name prefixes of the charts behind it (the report links those it has).
    pub charts: Vec<String>,
}

/// Judges every claim on `set`: on flowmark's engines, and on real Flink and Spark when the
/// set has runs of either.
pub fn judge(set: &ResultSet) -> Vec<Claim> {
    let plain = Plain::of(set);
    let real = set
        .runs
        .iter()
        .map(|r| &r.engine)
        .chain(set.searches.iter().map(|s| &s.engine))
        .any(|e| e == REAL.continuous || e == REAL.microbatch);
    let pairs = if real { vec![FLOWMARK, REAL] } else { vec![FLOWMARK] };
    pairs
        .into_iter()
        .flat_map(|pair| {
            [
                lower_latency(&plain, pair),
                higher_throughput(set, pair),
                processing_time(set, pair),
                checkpoint_cost(set, pair),
                fast_recovery(set, pair),
                batch_floor(set, &plain, pair),
            ]
        })
        .collect()
}

/// The claims as text for the terminal.
pub fn text(claims: &[Claim]) -> String {
    let mut out = String::new();
    let mut pair = None;
    for c in claims {
        if pair != Some(c.pair) {
            out.push_str(&format!(
                "On {} ({} against {}):\n",
                c.pair.name, c.pair.continuous, c.pair.microbatch
            ));
            pair = Some(c.pair);
        }
        out.push_str(&format!("{}. {} — {}", c.number, c.statement, c.verdict.word().to_uppercase()));
        if !c.verdict.detail().is_empty() {
            out.push_str(&format!(": {}", c.verdict.detail()));
        }
        out.push_str(&format!("\n   rule: {}\n", c.rule));
        for e in &c.evidence {
            out.push_str(&format!("   · {e}\n"));
        }
    }
    out
}

/// Where two engines' runs meet: the same workload, disorder level and offered rate.
type Point = (String, String, u64);

/// An engine configuration: its name and its settings as one string.
type Config = (String, String);

fn point(r: &Run) -> Point {
    (r.workload.clone(), r.disorder.clone(), r.rate as u64)
}

fn show_point(p: &Point) -> String {
    format!("{}, {}, {}", p.0, p.1, rate(p.2 as f64))
}

fn rate(r: f64) -> String {
    if r >= 1e6 { format!("{:.2} M/s", r / 1e6) } else { format!("{:.0} k/s", r / 1e3) }
}

fn in_processing_time(r: &Run) -> bool {
    r.settings.get("time").is_some_and(|t| t == "processing")
}

/// The runs that show an engine at a load, undisturbed: exact, no failure injected, in event
/// time, on the suite's own rates (not a throughput search's), not bound by the harness.
struct Plain<'a> {
    runs: Vec<&'a Run>,
}

impl<'a> Plain<'a> {
    fn of(set: &'a ResultSet) -> Self {
        let searched = searched(set);
        let runs = set
            .runs
            .iter()
            .filter(|r| {
                r.status == Status::Ok
                    && r.faults.is_empty()
                    && r.recoveries.is_empty()
                    && !in_processing_time(r)
                    && !r.is_baseline()
                    && r.harness_bound().is_none()
                    && !searched.contains(&r.id.as_str())
            })
            .collect();
        Plain { runs }
    }

    /// Per point and engine configuration, the mean of `metric` over the repetitions.
    fn by_point(&self, metric: &str) -> BTreeMap<Point, BTreeMap<Config, f64>> {
        let m = metrics::named(metric).expect("a metric of the registry");
        let mut sums: BTreeMap<Point, BTreeMap<Config, (f64, usize)>> = BTreeMap::new();
        for r in &self.runs {
            if let Some(v) = m.value(r) {
                let e = sums
                    .entry(point(r))
                    .or_default()
                    .entry((r.engine.clone(), r.settings_string()))
                    .or_default();
                e.0 += v;
                e.1 += 1;
            }
        }
        sums.into_iter()
            .map(|(p, c)| (p, c.into_iter().map(|(k, (s, n))| (k, s / n as f64)).collect()))
            .collect()
    }
}

/// The ids of the runs a throughput search made (at fractions of the rate it found): each
/// configuration at a load of its own, not at the suite's rates.
fn searched(set: &ResultSet) -> Vec<&str> {
    set.searches.iter().flat_map(|s| s.runs.iter().map(String::as_str)).collect()
}

/// The lowest value of an engine's configurations at a point, with the configuration.
fn best(configs: &BTreeMap<Config, f64>, engine: &str) -> Option<(f64, String)> {
    configs
        .iter()
        .filter(|((e, _), _)| e == engine)
        .map(|((_, s), v)| (*v, s.clone()))
        .min_by(|a, b| a.0.total_cmp(&b.0))
}

/// Claim 1, on one latency metric: (points where dataflow was lower, points compared, lines).
fn compare_latency(plain: &Plain, pair: Pair, metric: &str, what: &str) -> (usize, usize, Vec<String>) {
    let (mut lower, mut n, mut lines) = (0, 0, Vec::new());
    for (p, configs) in plain.by_point(metric) {
        let (Some((d, ds)), Some((m, msets))) =
            (best(&configs, pair.continuous), best(&configs, pair.microbatch))
        else {
            continue;
        };
        n += 1;
        lower += usize::from(d < m);
        lines.push(format!(
            "{}: {what} {} {} ({ds}), {} {} ({msets})",
            show_point(&p),
            pair.continuous,
            ms(d),
            pair.microbatch,
            ms(m)
        ));
    }
    (lower, n, lines)
}

fn lower_latency(plain: &Plain, pair: Pair) -> Claim {
    let (lower, n, mut evidence) = compare_latency(plain, pair, "due_p99_ms", "due p99 at emit");
    let mut verdict = Verdict::tally(
        lower,
        n,
        "needs exact runs of both engines on the same workload and rate, without failures",
        || format!("{}'s p99 is lower at {lower} of {n} points", pair.continuous),
    );
    // under exactly-once delivery a result counts once its checkpoint or batch commits
    let (vlower, vn, vlines) = compare_latency(plain, pair, "visible_p99_ms", "due p99 visible");
    evidence.extend(vlines);
    if verdict == Verdict::Holds && vn > 0 && vlower < vn {
        verdict = Verdict::Depends(format!(
            "on when a result counts: at emit {} is lower everywhere; once committed \
             (exactly-once), at {vlower} of {vn} points",
            pair.continuous
        ));
    }
    Claim {
        number: 1,
        pair,
        statement: "Continuous dataflow has lower latency than micro-batching at the same load",
        rule: "holds when, at every workload, disorder and offered rate both engines ran \
               (exact runs, no failure, event time), the best dataflow configuration's due-time \
               p99 at emit is below the best micro-batch configuration's — and, where results \
               are committed exactly once, also when they become visible",
        verdict,
        evidence,
        charts: vec!["latency-".into(), "tradeoff-".into()],
    }
}

/// An engine's highest sustainable rate on a workload, and whether it is only a lower bound
/// set by what the harness could feed.
fn best_search<'a>(searches: &'a [Search], engine: &str, workload: &str) -> Option<&'a Search> {
    searches
        .iter()
        .filter(|s| {
            s.engine == engine
                && s.workload == workload
                && s.settings.get("time").is_none_or(|t| t != "processing")
        })
        .max_by(|a, b| a.sustainable.total_cmp(&b.sustainable))
}

/// Whether `a` sustained a rate `b` did not: its bracket lies wholly above `b`'s (a search
/// with no failed probe — at a probe cap or the harness's limit — has no upper end).
fn above(a: &Search, b: &Search) -> bool {
    a.sustainable > 0.0 && b.upper.is_some_and(|u| a.sustainable >= u)
}

fn higher_throughput(set: &ResultSet, pair: Pair) -> Claim {
    let mut workloads: Vec<&str> = set.searches.iter().map(|s| s.workload.as_str()).collect();
    workloads.sort();
    workloads.dedup();
    let (mut higher, mut n, mut evidence, mut unclear) = (0, 0, Vec::new(), Vec::new());
    for w in workloads {
        let (Some(d), Some(m)) =
            (best_search(&set.searches, pair.continuous, w), best_search(&set.searches, pair.microbatch, w))
        else {
            continue;
        };
        evidence.push(format!("{w}: {} {}, {} {}", pair.continuous, d.figure(), pair.microbatch, m.figure()));
        if !above(d, m) && !above(m, d) {
            unclear.push(w.to_string());
            continue;
        }
        n += 1;
        higher += usize::from(above(d, m));
    }
    let verdict = if n == 0 && !unclear.is_empty() {
        Verdict::Depends(format!(
            "not told apart on {} (their searches' brackets overlap)",
            unclear.join(", ")
        ))
    } else {
        let mut v =
            Verdict::tally(higher, n, "needs a throughput search of both engines on a workload", || {
                format!("{} sustains more on {higher} of {n} workloads", pair.continuous)
            });
        if !unclear.is_empty() && v != Verdict::Refuted {
            v = Verdict::Depends(format!(
                "higher where told apart, not told apart on {}",
                unclear.join(", ")
            ));
        }
        v
    };
    Claim {
        number: 2,
        pair,
        statement: "Continuous dataflow sustains a higher throughput than micro-batching",
        rule: "holds when, on every workload searched for both, the best dataflow configuration \
               sustained a rate the best micro-batch configuration did not (its search's bracket — \
               from the highest rate sustained to the lowest not — lies wholly above the other's)",
        verdict,
        evidence,
        charts: vec!["throughput-".into(), "tradeoff-".into()],
    }
}

fn processing_time(set: &ResultSet, pair: Pair) -> Claim {
    // per (workload, disorder): processing-time errors and whether the event-time runs were exact
    type Level<'a> = (Vec<&'a Run>, Vec<&'a Run>);
    let mut levels: BTreeMap<(String, String), Level> = BTreeMap::new();
    let searched = searched(set);
    for r in set
        .runs
        .iter()
        .filter(|r| r.engine == pair.continuous || r.engine == pair.microbatch)
        .filter(|r| r.faults.is_empty() && !searched.contains(&r.id.as_str()))
    {
        let e = levels.entry((r.workload.clone(), r.disorder.clone())).or_default();
        if r.metrics.domain_error.is_some() { e.0.push(r) } else { e.1.push(r) }
    }
    let (mut held, mut n, mut evidence) = (0, 0, Vec::new());
    for ((w, d), (pt, et)) in &levels {
        let Some(first) = pt.first().and_then(|r| r.metrics.domain_error) else { continue };
        let wrong: f64 =
            pt.iter().filter_map(|r| metrics::named("pt_wrong_windows_pct")?.value(r)).fold(0.0, f64::max);
        let error =
            pt.iter().filter_map(|r| metrics::named("pt_relative_error_pct")?.value(r)).fold(0.0, f64::max);
        let exact = !et.is_empty() && et.iter().all(|r| r.status == Status::Ok);
        let misplaced = first.misplaced_events.map(|m| 100.0 * m as f64 / first.events.max(1) as f64);
        evidence.push(format!(
            "{w}, {d}: processing time {wrong:.2} % of windows wrong, mean error {error:.3} %, {} of events in \
             another window; event time {}",
            misplaced.map_or("?".into(), |m| format!("{m:.3} %")),
            if et.is_empty() { "not run".to_string() } else if exact { "exact".into() } else { "NOT exact".into() }
        ));
        // the claim is about disorder: a level that misplaces no event says nothing of it
        if et.is_empty() || misplaced == Some(0.0) {
            continue;
        }
        n += 1;
        held += usize::from(wrong > 0.0 && exact);
    }
    Claim {
        number: 3,
        pair,
        statement: "Micro-batching without event time (processing-time windows) gives wrong results \
                    under disorder; event time with watermarks gives correct ones",
        rule: "holds when, at every workload and disorder level that puts events in another window \
               by arrival than by event time, the processing-time runs' results differ from the \
               event-time truth in some window and the event-time runs at the same level are exact",
        verdict: Verdict::tally(
            held,
            n,
            "needs processing-time runs (`time_domain = [\"processing\"]`) beside event-time runs \
             under a disorder level",
            || format!("it holds at {held} of {n} workload and disorder levels"),
        ),
        evidence,
        charts: vec!["correctness".into()],
    }
}

/// A search's figure by a setting's value, for one engine and workload.
fn searches_by<'a>(
    set: &'a ResultSet,
    engine: &str,
    setting: &str,
) -> BTreeMap<(String, String), Vec<(String, &'a Search)>> {
    let mut out: BTreeMap<(String, String), Vec<(String, &Search)>> = BTreeMap::new();
    for s in set.searches.iter().filter(|s| s.engine == engine) {
        if let Some(value) = setting_of(&s.settings, setting) {
            let mut rest = s.settings.clone();
            rest.remove(setting);
            let rest: Vec<String> = rest.iter().map(|(k, v)| format!("{k}={v}")).collect();
            out.entry((s.workload.clone(), rest.join(" "))).or_default().push((value, s));
        }
    }
    out
}

/// Settings that a run names only when they are not at their default (`docs/suites.md`), with
/// that default.
const UNNAMED_DEFAULTS: &[(&str, &str)] = &[("snapshot_every", "10")];

/// A setting's value in `settings`, or its default where an unnamed setting has one.
fn setting_of(settings: &BTreeMap<String, String>, setting: &str) -> Option<String> {
    settings
        .get(setting)
        .cloned()
        .or_else(|| UNNAMED_DEFAULTS.iter().find(|(k, _)| *k == setting).map(|(_, v)| v.to_string()))
}

/// What setting a checkpointing setting more often costs in throughput, from two searches.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Cost {
    /// At most [`CHEAP`] whatever the true rates within the searches' brackets.
    Cheap,
    /// More than [`CHEAP`] whatever the true rates.
    Dear,
    /// The brackets allow either.
    Unresolved,
}

/// How often a checkpointing setting's value makes the engine write: its period, in
/// nanoseconds or batches (`off` never).
fn period(value: &str) -> f64 {
    match value {
        "off" => f64::INFINITY,
        v => v
            .parse::<f64>()
            .ok()
            .or_else(|| flowmark_core::time::duration::parse(v).ok().map(|t| t as f64))
            .unwrap_or(f64::NAN),
    }
}

/// Per workload (and the engine's other settings) searched at two or more values of
/// `setting`: the cost of the most frequent value against the least frequent, and a line.
fn setting_cost(set: &ResultSet, engine: &str, setting: &str, label: &str) -> Vec<(Cost, String)> {
    let mut out = Vec::new();
    for ((w, rest), mut searches) in searches_by(set, engine, setting) {
        if searches.len() < 2 {
            continue;
        }
        searches.sort_by(|a, b| period(&a.0).total_cmp(&period(&b.0)));
        let ((often_value, often), (rarely_value, rarely)) = (&searches[0], &searches[searches.len() - 1]);
        // the rate the frequent setting loses, as a share of the rare one's: at least
        // 1 − upper(often) / sustainable(rarely), at most 1 − sustainable(often) / upper(rarely)
        let least = 1.0 - often.upper.unwrap_or(f64::INFINITY) / rarely.sustainable.max(f64::MIN_POSITIVE);
        let most = 1.0 - often.sustainable / rarely.upper.unwrap_or(f64::INFINITY);
        let cost = if most <= CHEAP {
            Cost::Cheap
        } else if least > CHEAP {
            Cost::Dear
        } else {
            Cost::Unresolved
        };
        let figures: Vec<String> = searches
            .iter()
            .map(|(v, s)| {
                let p99 = set.nearest_half(s).and_then(|r| metrics::named("due_p99_ms")?.value(r));
                let at_half = p99.map_or(String::new(), |p| format!(", p99 {} at half of it", ms(p)));
                format!("{setting}={v}: {}{at_half}", s.figure())
            })
            .collect();
        let estimate = 1.0 - often.sustainable / rarely.sustainable.max(f64::MIN_POSITIVE);
        out.push((
            cost,
            format!(
                "{label}, {w} ({rest}): {}; {}={} against {}={} costs {:.0} % (between {:.0} and {:.0} % within the searches' brackets)",
                figures.join(", "),
                setting,
                often_value,
                setting,
                rarely_value,
                100.0 * estimate,
                100.0 * least.max(-1.0),
                100.0 * most.min(1.0)
            ),
        ));
    }
    out
}

fn checkpoint_cost(set: &ResultSet, pair: Pair) -> Claim {
    let dataflow =
        setting_cost(set, pair.continuous, "checkpoint", &format!("{} checkpoints", pair.continuous));
    let microbatch =
        setting_cost(set, pair.microbatch, "snapshot_every", &format!("{} full snapshots", pair.microbatch));
    let mut evidence: Vec<String> = dataflow.iter().chain(&microbatch).map(|(_, l)| l.clone()).collect();
    for engine in [pair.continuous, pair.microbatch] {
        let durations: Vec<f64> = set
            .runs
            .iter()
            .filter(|r| r.engine == engine)
            .filter_map(|r| metrics::named("checkpoint_ms")?.value(r))
            .collect();
        if !durations.is_empty() {
            let mean = durations.iter().sum::<f64>() / durations.len() as f64;
            evidence.push(format!(
                "{engine}: mean checkpoint / batch commit {} over {} runs",
                ms(mean),
                durations.len()
            ));
        }
    }
    let cheap = dataflow.iter().filter(|(c, _)| *c == Cost::Cheap).count();
    let dear = dataflow.iter().filter(|(c, _)| *c == Cost::Dear).count();
    let verdict = match (dataflow.len(), cheap, dear) {
        (0, ..) => Verdict::NoData(format!(
            "needs throughput searches of {} at two or more checkpoint intervals",
            pair.continuous
        )),
        (n, c, _) if c == n => Verdict::Holds,
        (n, _, d) if d == n => Verdict::Refuted,
        (n, c, d) => Verdict::Depends(format!(
            "cheap in {c}, dear in {d} of {n} comparisons; the others are not resolved by the searches' \
             brackets (more probes, `steps`, narrow them)"
        )),
    };
    Claim {
        number: 4,
        pair,
        statement: "Asynchronous barrier snapshots cost little throughput — less than micro-batching's \
                    checkpointing of state and offsets every batch",
        rule: "holds when, wherever the dataflow engine was searched at two or more checkpoint \
               intervals, its sustainable rate at the most frequent is within 10 % of its rate at the \
               least frequent (or none), whatever the true rates within the searches' brackets; \
               refuted when it is more than 10 % below whatever they are. The micro-batch engine's \
               cost of a full state snapshot every batch rather than every K is shown beside it",
        verdict,
        evidence,
        charts: vec!["checkpoints-".into(), "throughput-".into()],
    }
}

fn fast_recovery(set: &ResultSet, pair: Pair) -> Claim {
    let (mut fast, mut n, mut evidence) = (0, 0, Vec::new());
    for engine in [pair.continuous, pair.microbatch] {
        // (from the restart, the recovery's line) of every recovery of the engine
        let mut all: Vec<(f64, String)> = Vec::new();
        for r in set.runs.iter().filter(|r| r.engine == engine) {
            for x in &r.recoveries {
                let from_restart = x.from_restart_ms.unwrap_or(f64::INFINITY);
                let line = format!(
                    "{} at {:.1} s of {} {} ({}): restore {}, catch-up {}",
                    x.kind,
                    x.at_s,
                    r.workload,
                    r.disorder,
                    r.settings_string(),
                    ms(x.restore_ms),
                    x.catch_up_ms.map_or("never".into(), ms),
                );
                all.push((from_restart, line));
            }
        }
        if all.is_empty() {
            continue;
        }
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let under = all.iter().filter(|(t, _)| *t < FAST_RECOVERY_MS).count();
        let (slowest, line) = &all[all.len() - 1];
        evidence.push(format!(
            "{engine}: {} recoveries, from the restart median {}, {under} under a second; slowest {}: {line}",
            all.len(),
            ms(all[all.len() / 2].0),
            ms(*slowest)
        ));
        if engine == pair.continuous {
            (fast, n) = (under, all.len());
        }
        evidence.extend(recovery_by_workload(set, engine));
    }
    Claim {
        number: 5,
        pair,
        statement: "The continuous engine recovers from a failure fast (\"in milliseconds\")",
        rule: "holds when every recovery of the dataflow engine — from its restart (or its own \
               detection of a task failure) until latency and backlog are back within their \
               levels before the failure — takes less than one second",
        verdict: Verdict::tally(
            fast,
            n,
            &format!("needs runs of {} with a crash or task failure", pair.continuous),
            || format!("under a second in {fast} of {n} recoveries"),
        ),
        evidence,
        charts: vec!["timeline-".into()],
    }
}

/// Recovery against the size of the state, where an engine recovered on several workloads (the
/// claims suite's 1 k, 100 k and 1 M keys): per workload the median recovery from the restart,
/// restore and catch-up, beside the mean size of the runs' checkpoints.
fn recovery_by_workload(set: &ResultSet, engine: &str) -> Vec<String> {
    let mut by: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for r in set.runs.iter().filter(|r| r.engine == engine && !r.recoveries.is_empty()) {
        by.entry(&r.workload).or_default().push(r);
    }
    if by.len() < 2 {
        return Vec::new();
    }
    let bytes = metrics::named("checkpoint_bytes").expect("a metric of the registry");
    by.into_iter()
        .map(|(workload, runs)| {
            let all = || runs.iter().flat_map(|r| &r.recoveries);
            let of = |f: &dyn Fn(&crate::results::Recovery) -> Option<f64>| {
                let v: Vec<f64> = all().filter_map(f).collect();
                if v.is_empty() { "–".into() } else { ms(crate::stats::median(&v)) }
            };
            let sizes: Vec<f64> = runs.iter().filter_map(|r| bytes.value(r)).collect();
            let size = if sizes.is_empty() {
                "unknown".into()
            } else {
                format!("{:.1} MB", sizes.iter().sum::<f64>() / sizes.len() as f64 / 1e6)
            };
            format!(
                "{engine} on {workload}: {} recoveries, median from the restart {}, restore {}, catch-up {}; checkpoints of {size} (mean)",
                all().count(),
                of(&|x| x.from_restart_ms),
                of(&|x| Some(x.restore_ms)),
                of(&|x| x.catch_up_ms),
            )
        })
        .collect()
}

fn batch_floor(set: &ResultSet, plain: &Plain, pair: Pair) -> Claim {
    let interval_ms = |settings: &str| -> Option<f64> {
        let batch = settings.split(' ').find_map(|kv| kv.strip_prefix("batch="))?;
        flowmark_core::time::duration::parse(batch).ok().map(|t| t as f64 / 1e6)
    };
    let (mut held, mut n, mut evidence) = (0, 0, Vec::new());
    for (p, configs) in plain.by_point("due_p50_ms") {
        // the micro-batch configurations that differ only in their batch interval
        let mut series: BTreeMap<String, Vec<(f64, f64)>> = BTreeMap::new();
        for ((e, s), v) in &configs {
            if e == pair.microbatch
                && let Some(i) = interval_ms(s)
            {
                let rest: Vec<&str> = s.split(' ').filter(|kv| !kv.starts_with("batch=")).collect();
                series.entry(rest.join(" ")).or_default().push((i, *v));
            }
        }
        for (rest, mut s) in series.into_iter().filter(|(_, s)| s.len() >= 2) {
            s.sort_by(|a, b| a.0.total_cmp(&b.0));
            let rises = s.windows(2).all(|w| w[1].1 > w[0].1);
            let floor = s.iter().all(|(i, p50)| *p50 >= i / 2.0);
            let shown: Vec<String> =
                s.iter().map(|(i, p50)| format!("batch {} → p50 {}", ms(*i), ms(*p50))).collect();
            evidence.push(format!("{} ({rest}): {}", show_point(&p), shown.join(", ")));
            n += 1;
            held += usize::from(rises && floor);
        }
    }
    for ((w, rest), mut searches) in searches_by(set, pair.microbatch, "batch") {
        searches.sort_by(|a, b| period(&a.0).total_cmp(&period(&b.0)));
        if searches.len() >= 2 {
            let figures: Vec<String> =
                searches.iter().map(|(v, s)| format!("batch={v}: {}", s.figure())).collect();
            evidence.push(format!("sustainable, {w} ({rest}): {}", figures.join(", ")));
        }
    }
    Claim {
        number: 6,
        pair,
        statement: "Micro-batching's latency floor follows its batch interval",
        rule: "holds when, at every workload and rate the micro-batch engine ran at two or more batch \
               intervals (otherwise alike), its due-time p50 rises with every longer interval and is \
               at least half the interval",
        verdict: Verdict::tally(
            held,
            n,
            &format!("needs exact runs of {} at two or more batch intervals at one rate", pair.microbatch),
            || format!("it holds at {held} of {n} points"),
        ),
        evidence,
        charts: vec!["tradeoff-".into(), "latency-".into()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::{DomainError, Machine, Manifest, Metrics, Percentiles, Recovery};

    fn set(runs: Vec<Run>, searches: Vec<Search>) -> ResultSet {
        let manifest = Manifest {
            suite: "claims".into(),
            suite_file: String::new(),
            suite_text: String::new(),
            seed: 1,
            planned_runs: runs.len(),
            started: String::new(),
            revision: String::new(),
            machine: Machine::default(),
            versions: BTreeMap::new(),
            command: String::new(),
        };
        ResultSet { dir: ".".into(), manifest, runs, searches }
    }

    /// An exact run without failure; `settings` as `k=v` pairs.
    fn run(engine: &str, settings: &[(&str, &str)], rate: f64, p99: f64) -> Run {
        let settings: BTreeMap<String, String> =
            settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let id = format!("{engine}-{settings:?}-{rate}");
        Run {
            id: id.clone(),
            key: id,
            repetition: 0,
            engine: engine.into(),
            workload: "wordcount".into(),
            disorder: "uniform".into(),
            failure: "none".into(),
            rate,
            load: String::new(),
            settings,
            seed: 1,
            watermark_bound_ms: 200.0,
            warmup_s: 1.0,
            measure_s: 5.0,
            status: Status::Ok,
            metrics: Metrics {
                due: Percentiles { count: 100, p50_ms: p99 / 2.0, p99_ms: p99, ..Default::default() },
                ..Default::default()
            },
            faults: vec![],
            recoveries: vec![],
            timeline: vec![],
            wall_s: 1.0,
            feed_capacity: None,
        }
    }

    fn search(engine: &str, settings: &[(&str, &str)], sustainable: f64) -> Search {
        Search {
            engine: engine.into(),
            settings: settings.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            workload: "wordcount".into(),
            probes: vec![],
            sustainable,
            upper: Some(sustainable * 1.05),
            limit: None,
            baseline: None,
            runs: vec![],
        }
    }

    fn verdict(claims: &[Claim], n: u8) -> Verdict {
        claims.iter().find(|c| c.number == n).unwrap().verdict.clone()
    }

    #[test]
    fn an_empty_set_has_no_data_for_any_claim() {
        for c in judge(&set(vec![], vec![])) {
            assert!(matches!(c.verdict, Verdict::NoData(_)), "claim {}: {:?}", c.number, c.verdict);
        }
    }

    #[test]
    fn real_engines_are_judged_as_a_pair_of_their_own_and_only_when_the_set_has_them() {
        let ours =
            judge(&set(vec![run("dataflow", &[], 1e5, 5.0), run("microbatch", &[], 1e5, 900.0)], vec![]));
        assert_eq!(ours.len(), 6, "flowmark's pair alone");
        assert!(ours.iter().all(|c| c.pair == FLOWMARK));
        // Flink against Spark, never against flowmark's engines: Flink's p99 is below Spark's,
        // above the micro-batch engine's
        let runs = vec![
            run("dataflow", &[], 1e5, 5.0),
            run("microbatch", &[], 1e5, 900.0),
            run("flink", &[], 1e5, 1000.0),
            run("spark", &[], 1e5, 2000.0),
        ];
        let both = judge(&set(runs, vec![]));
        assert_eq!(both.len(), 12);
        let real: Vec<&Claim> = both.iter().filter(|c| c.pair == REAL).collect();
        assert_eq!(real.len(), 6);
        assert_eq!(real[0].verdict, Verdict::Holds, "{:?}", real[0]);
        assert!(
            real[0].evidence.iter().all(|e| e.contains("flink") && e.contains("spark")),
            "{:?}",
            real[0].evidence
        );
        let only_spark = judge(&set(vec![run("spark", &[], 1e5, 2000.0)], vec![]));
        assert!(
            only_spark.iter().filter(|c| c.pair == REAL).all(|c| matches!(c.verdict, Verdict::NoData(_)))
        );
        assert!(text(&both).contains("On Apache Flink and Apache Spark (flink against spark):"));
    }

    #[test]
    fn lower_latency_holds_fails_and_depends_point_by_point() {
        let df = |rate, p99| run("dataflow", &[("parallelism", "2")], rate, p99);
        let mb = |rate, p99| run("microbatch", &[("batch", "1s")], rate, p99);
        let holds = judge(&set(vec![df(1e5, 5.0), mb(1e5, 1500.0), df(1e6, 9.0), mb(1e6, 1600.0)], vec![]));
        assert_eq!(verdict(&holds, 1), Verdict::Holds);
        let refuted = judge(&set(vec![df(1e5, 1500.0), mb(1e5, 5.0)], vec![]));
        assert_eq!(verdict(&refuted, 1), Verdict::Refuted);
        // equal is not lower
        let tie = judge(&set(vec![df(1e5, 5.0), mb(1e5, 5.0)], vec![]));
        assert_eq!(verdict(&tie, 1), Verdict::Refuted);
        let mixed =
            judge(&set(vec![df(1e5, 5.0), mb(1e5, 1500.0), df(1e6, 2000.0), mb(1e6, 1600.0)], vec![]));
        assert!(matches!(verdict(&mixed, 1), Verdict::Depends(ref s) if s.contains("1 of 2")), "{mixed:?}");
        // a failed run, a run with a crash or one engine alone: nothing to compare
        let mut failed = mb(1e5, 1500.0);
        failed.status = Status::Failed("x".into());
        let mut crashed = mb(1e5, 1500.0);
        crashed.recoveries.push(Recovery {
            kind: "crash".into(),
            killed: None,
            at_s: 1.0,
            detection_ms: None,
            restart_delay_ms: 0.0,
            restore_ms: 10.0,
            catch_up_ms: Some(10.0),
            total_ms: Some(20.0),
            from_restart_ms: Some(20.0),
            moment_missed: false,
        });
        let lacking = judge(&set(vec![df(1e5, 5.0), failed, crashed], vec![]));
        assert!(matches!(verdict(&lacking, 1), Verdict::NoData(_)));
    }

    #[test]
    fn throughput_is_told_apart_only_where_the_brackets_do_not_overlap() {
        let bracket = |engine: &str, sustainable: f64, upper: Option<f64>| Search {
            upper,
            ..search(engine, &[], sustainable)
        };
        let s = |d: (f64, Option<f64>), m: (f64, Option<f64>)| {
            verdict(
                &judge(&set(vec![], vec![bracket("dataflow", d.0, d.1), bracket("microbatch", m.0, m.1)])),
                2,
            )
        };
        assert_eq!(s((20e6, Some(21e6)), (10e6, Some(11e6))), Verdict::Holds);
        assert_eq!(s((10e6, Some(11e6)), (20e6, Some(21e6))), Verdict::Refuted);
        // dataflow sustained the very rate micro-batch failed at: told apart; just below: not
        assert_eq!(s((11e6, Some(12e6)), (10e6, Some(11e6))), Verdict::Holds);
        assert!(matches!(s((10.9e6, Some(12e6)), (10e6, Some(11e6))), Verdict::Depends(_)));
        // a search that never failed a probe has no upper end: nothing sustains above it
        assert!(matches!(s((20e6, None), (8e6, None)), Verdict::Depends(_)));
        assert_eq!(s((20e6, None), (8e6, Some(9e6))), Verdict::Holds);
        assert!(matches!(
            judge(&set(vec![], vec![search("dataflow", &[], 1e6)]))[1].verdict,
            Verdict::NoData(_)
        ));
    }

    fn processing(wrong: u64, misplaced: u64) -> Run {
        let mut r = run("microbatch", &[("time", "processing")], 1e5, 1000.0);
        r.metrics.domain_error = Some(DomainError {
            windows: 100,
            wrong_windows: wrong,
            mean_relative_error: Some(wrong as f64 / 1000.0),
            events: 1000,
            misplaced_events: Some(misplaced),
        });
        r
    }

    #[test]
    fn processing_time_is_wrong_under_disorder_and_event_time_exact() {
        let et = run("microbatch", &[("time", "event")], 1e5, 1000.0);
        let claims = judge(&set(vec![processing(7, 30), et.clone()], vec![]));
        assert_eq!(verdict(&claims, 3), Verdict::Holds);
        // a throughput search's run is at a load of its own: not judged here
        let mut at_search_load = processing(7, 30);
        at_search_load.id = "searched".into();
        let mut s = search("microbatch", &[("time", "processing")], 1e6);
        s.runs = vec!["searched".into()];
        assert_eq!(
            verdict(&judge(&set(vec![processing(0, 30), at_search_load, et.clone()], vec![s])), 3),
            Verdict::Refuted
        );
        // disorder that misplaces events yet every window right: refuted
        assert_eq!(verdict(&judge(&set(vec![processing(0, 30), et.clone()], vec![])), 3), Verdict::Refuted);
        // event time incorrect at the same level: refuted
        let mut wrong_et = et.clone();
        wrong_et.status = Status::Incorrect("1 wrong".into());
        assert_eq!(verdict(&judge(&set(vec![processing(7, 30), wrong_et], vec![])), 3), Verdict::Refuted);
        // no event misplaced, or no event-time run beside it: the claim is not tested
        assert!(matches!(verdict(&judge(&set(vec![processing(0, 0), et], vec![])), 3), Verdict::NoData(_)));
        assert!(matches!(verdict(&judge(&set(vec![processing(7, 30)], vec![])), 3), Verdict::NoData(_)));
    }

    #[test]
    fn checkpoints_are_cheap_when_the_most_frequent_loses_at_most_ten_percent() {
        // brackets of 5 %: [rate, 1.05 × rate)
        let df = |interval, rate| search("dataflow", &[("checkpoint", interval)], rate);
        let judge4 = |s: Vec<Search>| verdict(&judge(&set(vec![], s)), 4);
        // 200 ms loses at most 1 − 9.6 / 10.5 = 8.6 %
        assert_eq!(judge4(vec![df("1s", 10e6), df("200ms", 9.6e6)]), Verdict::Holds);
        // at least 1 − 8.925 / 10 = 10.75 %
        assert_eq!(judge4(vec![df("1s", 10e6), df("200ms", 8.5e6)]), Verdict::Refuted);
        // between 3.4 % and 12.4 %: the brackets allow either
        assert!(matches!(judge4(vec![df("1s", 10e6), df("200ms", 9.2e6)]), Verdict::Depends(_)));
        // "off" is the least frequent; the cost runs from it to the most frequent, not back
        assert_eq!(judge4(vec![df("off", 10e6), df("1s", 9.8e6), df("200ms", 9.6e6)]), Verdict::Holds);
        assert_eq!(judge4(vec![df("1s", 5e6), df("200ms", 10e6)]), Verdict::Holds);
        assert_eq!(judge4(vec![df("200ms", 5e6), df("1s", 10e6)]), Verdict::Refuted);
        // the micro-batch engine's snapshots are shown, not judged
        let mb = |k, rate| search("microbatch", &[("snapshot_every", k)], rate);
        let claims = judge(&set(
            vec![],
            vec![df("1s", 10e6), df("200ms", 9.6e6), mb("1", 5e6), search("microbatch", &[], 10e6)],
        ));
        assert_eq!(verdict(&claims, 4), Verdict::Holds);
        assert!(
            claims[3]
                .evidence
                .iter()
                .any(|e| e.contains("snapshot_every=1 against snapshot_every=10 costs 50 %"))
        );
        assert!(matches!(judge4(vec![df("1s", 10e6)]), Verdict::NoData(_)));
    }

    #[test]
    fn recovery_is_fast_under_one_second() {
        let crashed = |from_restart: Option<f64>| {
            let mut r = run("dataflow", &[], 1e5, 5.0);
            r.recoveries.push(Recovery {
                kind: "crash".into(),
                killed: None,
                at_s: 3.0,
                detection_ms: None,
                restart_delay_ms: 0.0,
                restore_ms: 100.0,
                catch_up_ms: from_restart.map(|f| f - 100.0),
                total_ms: from_restart,
                from_restart_ms: from_restart,
                moment_missed: false,
            });
            r.id = format!("{from_restart:?}");
            r
        };
        assert_eq!(verdict(&judge(&set(vec![crashed(Some(999.0))], vec![])), 5), Verdict::Holds);
        assert_eq!(verdict(&judge(&set(vec![crashed(Some(1000.0))], vec![])), 5), Verdict::Refuted);
        assert_eq!(verdict(&judge(&set(vec![crashed(None)], vec![])), 5), Verdict::Refuted);
        assert!(matches!(
            verdict(&judge(&set(vec![crashed(Some(300.0)), crashed(Some(3000.0))], vec![])), 5),
            Verdict::Depends(_)
        ));
    }

    #[test]
    fn recovery_is_shown_against_the_size_of_the_state_per_workload() {
        let crashed = |workload: &str, from_restart: f64, bytes: f64| {
            let mut r = run("dataflow", &[], 1e5, 5.0);
            r.workload = workload.into();
            r.id = format!("{workload}-{from_restart}");
            r.metrics.checkpoints.mean_bytes = bytes;
            r.recoveries.push(Recovery {
                kind: "crash".into(),
                killed: None,
                at_s: 3.0,
                detection_ms: None,
                restart_delay_ms: 0.0,
                restore_ms: from_restart / 2.0,
                catch_up_ms: Some(from_restart / 2.0),
                total_ms: Some(from_restart),
                from_restart_ms: Some(from_restart),
                moment_missed: false,
            });
            r
        };
        let one = set(vec![crashed("small", 100.0, 1e3)], vec![]);
        assert!(
            recovery_by_workload(&one, "dataflow").is_empty(),
            "one workload: the engine's line says it all"
        );
        let runs = vec![
            crashed("small", 100.0, 1e3),
            crashed("small", 300.0, 3e3),
            crashed("small", 200.0, 2e3),
            crashed("large", 900.0, 4e7),
        ];
        let lines = recovery_by_workload(&set(runs, vec![]), "dataflow");
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("dataflow on large: 1 recoveries, median from the restart 900"),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("40.0 MB"), "{}", lines[0]);
        // the median of 100, 200 and 300, restore half of it, checkpoints of 2 kB on average
        assert!(
            lines[1].contains("median from the restart 200") && lines[1].contains("restore 100"),
            "{}",
            lines[1]
        );
        assert!(lines[1].contains("0.0 MB"), "{}", lines[1]);
        assert!(recovery_by_workload(&set(vec![], vec![]), "microbatch").is_empty());
    }

    #[test]
    fn the_batch_floor_rises_with_the_interval_and_is_at_least_half_of_it() {
        let mb = |batch, p50: f64| run("microbatch", &[("batch", batch)], 1e5, 2.0 * p50);
        let judge6 = |runs| verdict(&judge(&set(runs, vec![])), 6);
        assert_eq!(judge6(vec![mb("200ms", 150.0), mb("1s", 700.0), mb("2s", 1000.0)]), Verdict::Holds);
        // exactly half of the interval is on the floor; below it is not
        assert_eq!(judge6(vec![mb("200ms", 100.0), mb("1s", 500.0)]), Verdict::Holds);
        assert_eq!(judge6(vec![mb("200ms", 150.0), mb("1s", 499.0)]), Verdict::Refuted);
        // not rising
        assert_eq!(judge6(vec![mb("200ms", 700.0), mb("1s", 700.0)]), Verdict::Refuted);
        assert!(matches!(judge6(vec![mb("1s", 700.0)]), Verdict::NoData(_)));
    }
}
