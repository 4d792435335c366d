//! Comparing two result sets: runs matched by configuration, each metric's change (of the
//! median over the repetitions) with a 95 % interval, and a verdict per metric.
//!
//! A measured metric has *regressed* when the Mann–Whitney U test says the sides differ
//! ([`stats::mann_whitney`]) and its median got worse by more than its threshold — the noise
//! band `flowmark ab --calibrate` measured for it, or the global threshold. Neither test
//! assumes normal data. Each metric is judged twice: per configuration, at 5 % over the
//! configurations (Bonferroni), and over every configuration at once ([`ALL`]: each run's value
//! divided by its configuration's median, pooled; tested both by van Elteren's stratified
//! rank-sum test, [`stats::van_elteren`], each configuration ranked within itself, and by the
//! Mann–Whitney test of the pool, each at half the level), at 5 % over the metrics. Samples
//! too small
//! for a test to reach its level at all get *no verdict*, said plainly, never a silent
//! "unchanged". The interval shown is a seeded bootstrap interval of the ratio of the medians
//! ([`stats::ratio_interval`]). Counts that noise does not move — missing, duplicated, wrong
//! and unexpected results, failed runs — regress on any increase, from one run a side.

use crate::metrics::{Better, Metric, View};
use crate::results::{ResultSet, Run};
use crate::stats;
use std::collections::BTreeMap;
use std::fmt::Write;

/// Two result sets that cannot be compared.
#[derive(Debug, thiserror::Error)]
pub enum CompareError {
    /// No run of one set matches a run of the other.
    #[error(
        "the result sets do not match: no run of {new} has the configuration of a run of {base} (suites `{base_suite}` and `{new_suite}`)"
    )]
    Mismatched {
        /// The base set's directory.
        base: String,
        /// The new set's directory.
        new: String,
        /// The base set's suite.
        base_suite: String,
        /// The new set's suite.
        new_suite: String,
    },
}

/// The verdict on one metric of one configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Worse beyond the threshold, with confidence.
    Regressed,
    /// Better beyond the threshold, with confidence.
    Improved,
    /// Too few runs for the test to reach significance at all.
    Undecided,
    /// Neither.
    Unchanged,
}

impl Verdict {
    /// A word for tables.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
            Verdict::Undecided => "no verdict possible",
            Verdict::Unchanged => "unchanged",
        }
    }
}

/// One metric of one configuration, compared.
#[derive(Clone, Debug)]
pub struct Row {
    /// The configuration.
    pub key: String,
    /// The metric.
    pub metric: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// Median in the base set (mean, for a count).
    pub base: f64,
    /// Median in the new set (mean, for a count).
    pub new: f64,
    /// Repetitions in each.
    pub n: (usize, usize),
    /// `(new − base) / base`.
    pub change: f64,
    /// 95 % bootstrap interval of the change of the median.
    pub interval: Option<(f64, f64)>,
    /// The Mann–Whitney p-value (measured metrics).
    pub p: Option<f64>,
    /// The threshold the change was judged against, as a fraction.
    pub threshold: f64,
    /// The verdict.
    pub verdict: Verdict,
}

/// A comparison.
#[derive(Clone, Debug)]
pub struct Comparison {
    /// Every metric of every matched configuration.
    pub rows: Vec<Row>,
    /// Configurations only in the base set.
    pub only_base: Vec<String>,
    /// Configurations only in the new set.
    pub only_new: Vec<String>,
    /// The thresholds.
    pub thresholds: Thresholds,
    /// The significance level of one configuration's test (corrected for their number).
    pub alpha: f64,
}

/// The significance level of the test.
pub const ALPHA: f64 = 0.05;

/// Bootstrap resamples of an interval.
const RESAMPLES: usize = 2000;

/// How large a change of a measured metric must be to count: per metric, the noise band
/// `flowmark ab --calibrate` measured; else the default.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    /// For metrics without a band of their own, a fraction (0.05 for 5 %).
    pub default: f64,
    /// Per metric name, a fraction.
    #[serde(default)]
    pub noise: BTreeMap<String, f64>,
}

impl Thresholds {
    /// One threshold for every metric.
    pub fn uniform(default: f64) -> Self {
        Thresholds { default, noise: BTreeMap::new() }
    }

    /// The threshold of `metric`: its calibrated noise band, else the default.
    pub fn of(&self, metric: &str) -> f64 {
        self.noise.get(metric).copied().unwrap_or(self.default)
    }
}

fn by_key(set: &ResultSet) -> BTreeMap<&str, Vec<&Run>> {
    let mut m: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for r in &set.runs {
        m.entry(r.key.as_str()).or_default().push(r);
    }
    m
}

/// Compares `new` with `base`, judging each measured metric against its threshold.
pub fn compare(
    base: &ResultSet,
    new: &ResultSet,
    thresholds: &Thresholds,
) -> Result<Comparison, CompareError> {
    let (b, n) = (by_key(base), by_key(new));
    let only_base: Vec<String> = b.keys().filter(|k| !n.contains_key(*k)).map(|k| k.to_string()).collect();
    let only_new: Vec<String> = n.keys().filter(|k| !b.contains_key(*k)).map(|k| k.to_string()).collect();
    if !b.keys().any(|k| n.contains_key(k)) {
        return Err(CompareError::Mismatched {
            base: base.dir.display().to_string(),
            new: new.dir.display().to_string(),
            base_suite: base.manifest.suite.clone(),
            new_suite: new.manifest.suite.clone(),
        });
    }
    // one configuration's test is corrected for the number of configurations (Bonferroni):
    // with many, only runs enough to decide alone get a verdict of their own
    let configurations = b.keys().filter(|k| n.contains_key(*k)).count();
    let alpha = ALPHA / configurations.max(1) as f64;
    let mut rows = Vec::new();
    for (key, base_runs) in &b {
        let Some(new_runs) = n.get(key) else { continue };
        for m in crate::metrics::in_view(View::Compare) {
            let bv: Vec<f64> = base_runs.iter().filter_map(|r| m.value(r)).collect();
            let nv: Vec<f64> = new_runs.iter().filter_map(|r| m.value(r)).collect();
            if let Some(row) = judge(key, m, &bv, &nv, thresholds, alpha) {
                rows.push(row);
            }
        }
    }
    rows.extend(pooled(&b, &n, thresholds));
    rows.sort_by(|a, b| a.verdict.cmp(&b.verdict).then(a.key.cmp(&b.key)));
    Ok(Comparison { rows, only_base, only_new, thresholds: thresholds.clone(), alpha })
}

/// The key of the rows that pool every configuration.
pub const ALL: &str = "(all configurations)";

/// One row per measured metric over every configuration at once: each run's value divided by
/// the median of its configuration over both sides, pooled. A change that moves every
/// configuration a little — a slower code path, a CPU tax — shows here with the power of
/// all the runs together, where each configuration's handful of runs cannot tell it from
/// noise. Two tests decide, each at half the level: one ranks each configuration's runs
/// within it (van Elteren), so that a noisy configuration — a crash's recovery — cannot drown
/// the quiet ones' agreement on a small change; the other ranks the pooled values together
/// (Mann–Whitney), which sees a large change of a few configurations (one engine's) that the
/// unchanged ones dilute in van Elteren's sum. The level is Bonferroni-corrected over the
/// pooled metrics; the interval resamples within each configuration.
fn pooled(b: &BTreeMap<&str, Vec<&Run>>, n: &BTreeMap<&str, Vec<&Run>>, thresholds: &Thresholds) -> Vec<Row> {
    let measured: Vec<&Metric> =
        crate::metrics::in_view(View::Compare).filter(|m| !m.exact && m.better.is_some()).collect();
    let alpha = ALPHA / measured.len().max(1) as f64;
    let mut rows = Vec::new();
    for m in measured {
        let mut strata: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
        for (key, base_runs) in b {
            let Some(new_runs) = n.get(key) else { continue };
            let bv: Vec<f64> =
                base_runs.iter().filter_map(|r| m.value(r)).filter(|v| v.is_finite()).collect();
            let nv: Vec<f64> = new_runs.iter().filter_map(|r| m.value(r)).filter(|v| v.is_finite()).collect();
            if bv.is_empty() || nv.is_empty() {
                continue;
            }
            let centre = stats::median(&[bv.as_slice(), nv.as_slice()].concat());
            if centre > 0.0 {
                strata
                    .push((bv.iter().map(|v| v / centre).collect(), nv.iter().map(|v| v / centre).collect()));
            }
        }
        let strata: Vec<(&[f64], &[f64])> =
            strata.iter().map(|(b, n)| (b.as_slice(), n.as_slice())).collect();
        let pool = |second: bool| -> Vec<f64> {
            strata.iter().flat_map(|&(b, n)| if second { n } else { b }).copied().collect()
        };
        let (pb, pn) = (pool(false), pool(true));
        // two tests, each at half the level (Bonferroni): van Elteren's for a change of every
        // configuration, small against each one's noise; the pooled Mann–Whitney test for a
        // large change of some configurations only (one engine's), which the others' ranks
        // dilute in van Elteren's sum
        let stratified = stats::van_elteren(&strata).map(|t| t.p);
        let pooled = stats::mann_whitney(&pb, &pn).map(|t| t.p);
        let p = match (stratified, pooled) {
            (Some(a), Some(b)) => Some((2.0 * a.min(b)).min(1.0)),
            _ => None,
        };
        let test = Test {
            interval: stats::stratified_ratio_interval(&strata, 0.95, RESAMPLES, seed(ALL, m)),
            p,
            decidable: stats::can_decide(pb.len(), pn.len(), alpha),
        };
        if let Some(row) = decide(ALL, m, &pb, &pn, test, thresholds, alpha) {
            rows.push(Row { unit: "× its configuration's median", ..row });
        }
    }
    rows
}

/// What a test said about one metric, for [`decide`].
struct Test {
    /// The 95 % interval of the ratio of the medians.
    interval: Option<(f64, f64)>,
    /// The two-sided p-value.
    p: Option<f64>,
    /// Whether samples this small can reach the level at all.
    decidable: bool,
}

/// The seed of one row's bootstrap: the same rows, the same intervals.
fn seed(key: &str, m: &Metric) -> u64 {
    flowmark_core::key_hash(&format!("{key} {}", m.name))
}

/// `(new − base) / base`, infinite when the base is 0 and the new value is not.
fn relative(base: f64, new: f64) -> f64 {
    if base == new {
        0.0
    } else if base.abs() > 0.0 {
        (new - base) / base.abs()
    } else {
        (new - base).signum() * f64::INFINITY
    }
}

/// One metric of one configuration, judged by the Mann–Whitney test; `None` when a side has
/// no value of it.
pub fn judge(
    key: &str,
    m: &Metric,
    base: &[f64],
    new: &[f64],
    thresholds: &Thresholds,
    alpha: f64,
) -> Option<Row> {
    // counts are judged on any change: no test, and no bootstrap to throw away
    let test = if m.exact {
        Test { interval: None, p: None, decidable: true }
    } else {
        Test {
            interval: stats::ratio_interval(base, new, 0.95, RESAMPLES, seed(key, m)),
            p: stats::mann_whitney(base, new).map(|t| t.p),
            decidable: stats::can_decide(base.len(), new.len(), alpha),
        }
    };
    decide(key, m, base, new, test, thresholds, alpha)
}

/// The row of one metric: the change of its median against its threshold, where `test` is
/// significant at `alpha` (counts against any change); `None` when a side has no value.
fn decide(
    key: &str,
    m: &Metric,
    base: &[f64],
    new: &[f64],
    test: Test,
    thresholds: &Thresholds,
    alpha: f64,
) -> Option<Row> {
    let better = m.better?;
    if base.is_empty() || new.is_empty() {
        return None;
    }
    let worse = |change: f64| match better {
        Better::Smaller => change > 0.0,
        Better::Bigger => change < 0.0,
    };
    let direction = |change: f64| if worse(change) { Verdict::Regressed } else { Verdict::Improved };
    let row = |b: f64, n: f64, interval, p, threshold, verdict| Row {
        key: key.to_string(),
        metric: m.name,
        unit: m.unit,
        better,
        base: b,
        new: n,
        n: (base.len(), new.len()),
        change: relative(b, n),
        interval,
        p,
        threshold,
        verdict,
    };
    if m.exact {
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        let (b, n) = (mean(base), mean(new));
        let verdict = if b == n { Verdict::Unchanged } else { direction(relative(b, n)) };
        return Some(row(b, n, None, None, 0.0, verdict));
    }
    let (b, n) = (stats::median(base), stats::median(new));
    let change = relative(b, n);
    let threshold = thresholds.of(m.name);
    let verdict = if !test.decidable {
        Verdict::Undecided
    } else if test.p.is_some_and(|p| p < alpha) && change.abs() > threshold {
        direction(change)
    } else {
        Verdict::Unchanged
    };
    let interval = test.interval.map(|(lo, hi)| (lo - 1.0, hi - 1.0));
    Some(row(b, n, interval, test.p, threshold, verdict))
}

/// `rows` as a Markdown table.
fn table(rows: &[&Row]) -> String {
    let mut out = String::from(
        "| run | metric | base | new | change | 95 % interval | p | threshold | runs | verdict |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {:.3} {} | {:.3} {} | {} | {} | {} | {} | {}/{} | {} |",
            r.key,
            r.metric,
            r.base,
            r.unit,
            r.new,
            r.unit,
            pct(r.change),
            r.interval.map_or("—".into(), |(lo, hi)| format!("[{}, {}]", pct(lo), pct(hi))),
            r.p.map_or("—".into(), |p| format!("{p:.3}")),
            if r.p.is_some() { format!("{:.1} %", r.threshold * 100.0) } else { "any".into() },
            r.n.0,
            r.n.1,
            if matches!(r.verdict, Verdict::Unchanged | Verdict::Undecided) {
                r.verdict.word().to_string()
            } else {
                format!("**{}**", r.verdict.word())
            }
        );
    }
    out
}

fn pct(v: f64) -> String {
    if v.is_infinite() { "∞".into() } else { format!("{:+.1} %", v * 100.0) }
}

impl Comparison {
    /// Whether a metric regressed.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Regressed)
    }

    /// The verdict in Markdown: the counts, then the rows that decide — every metric over all
    /// configurations together, and any configuration's row that regressed or improved — then
    /// every configuration's rows, folded (`<details>`: a CI job summary shows them on a click).
    pub fn markdown(&self) -> String {
        let mut out = self.markdown_summary();
        let every: Vec<&Row> = self.rows.iter().filter(|r| r.key != ALL).collect();
        if !every.is_empty() {
            let _ = write!(
                out,
                "\n<details><summary>Every configuration: {} rows</summary>\n\n{}\n</details>\n",
                every.len(),
                table(&every)
            );
        }
        out
    }

    /// The verdict without every configuration's rows (for a terminal): what decided it.
    pub fn markdown_summary(&self) -> String {
        let count = |v: Verdict| self.rows.iter().filter(|r| r.verdict == v).count();
        let mut out = format!(
            "**{}**: {} regressed, {} improved, {} unchanged, {} without a verdict (Mann–Whitney U per configuration; over all of them, van Elteren's stratified test and Mann–Whitney U of the pool, each at half the level; at {:.0} %; change of the median beyond the metric's threshold: {:.1} % unless calibrated)\n\n",
            if self.regressed() { "REGRESSED" } else { "no regression" },
            count(Verdict::Regressed),
            count(Verdict::Improved),
            count(Verdict::Unchanged),
            count(Verdict::Undecided),
            ALPHA * 100.0,
            self.thresholds.default * 100.0
        );
        if count(Verdict::Undecided) > 0 {
            let _ = writeln!(
                out,
                "No verdict possible for a configuration alone where a side has fewer than {} runs: with so few, no test at {:.2} % (5 % over the {} configurations) can tell a change from noise. The rows `{ALL}` judge every configuration together.\n",
                stats::runs_needed(self.alpha),
                self.alpha * 100.0,
                (ALPHA / self.alpha).round()
            );
        }
        let deciding: Vec<&Row> = self
            .rows
            .iter()
            .filter(|r| r.key == ALL || matches!(r.verdict, Verdict::Regressed | Verdict::Improved))
            .collect();
        out.push_str(&table(&deciding));
        for k in &self.only_base {
            let _ = writeln!(out, "\nonly in the base set: `{k}`");
        }
        for k in &self.only_new {
            let _ = writeln!(out, "\nonly in the new set: `{k}`");
        }
        out
    }

    /// The new set's metrics as github-action-benchmark reads them: `(smaller is better, bigger
    /// is better)`, each a JSON array of `{name, unit, value, range, extra}`.
    pub fn benchmark_json(&self) -> (String, String) {
        let entry = |r: &Row| {
            serde_json::json!({
                "name": format!("{} {}", r.key, r.metric),
                "unit": r.unit,
                "value": if r.new.is_finite() { r.new } else { f64::MAX },
                "range": r.interval.map_or(String::new(), |(lo, hi)| format!("{} … {}", pct(lo), pct(hi))),
                "extra": format!("base {:.3} ({} runs), change {}, {}", r.base, r.n.0, pct(r.change), r.verdict.word()),
            })
        };
        let smaller: Vec<_> = self.rows.iter().filter(|r| r.better == Better::Smaller).map(entry).collect();
        let bigger: Vec<_> = self.rows.iter().filter(|r| r.better == Better::Bigger).map(entry).collect();
        (
            serde_json::to_string_pretty(&smaller).expect("json"),
            serde_json::to_string_pretty(&bigger).expect("json"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::tests::run;
    use flowmark_core::rng::SplitMix64;

    /// A set of `configs` configurations × `reps` runs whose CPU per event is `scale` times a
    /// per-configuration level, with ±10 % noise from `seed`.
    fn set(configs: usize, reps: u32, scale: f64, seed: u64) -> ResultSet {
        set_scaled(configs, reps, |_| scale, seed)
    }

    /// [`set`] with configuration `c`'s level scaled by `scale(c)`.
    fn set_scaled(configs: usize, reps: u32, scale: impl Fn(usize) -> f64, seed: u64) -> ResultSet {
        let mut g = SplitMix64::from_state(seed);
        let mut runs = Vec::new();
        for c in 0..configs {
            for rep in 0..reps {
                let mut r = run(&format!("c{c}.{rep}"));
                r.key = format!("c{c}");
                r.repetition = rep;
                r.metrics.period_events = 1_000_000;
                r.metrics.period_cpu_s = (1.0 + c as f64) * scale(c) * (0.9 + 0.2 * g.next_f64());
                runs.push(r);
            }
        }
        ResultSet { dir: "x".into(), manifest: crate::results::tests::manifest(), runs, searches: Vec::new() }
    }

    fn cpu_rows(c: &Comparison) -> Vec<&Row> {
        c.rows.iter().filter(|r| r.metric == "cpu_per_m_events_s").collect()
    }

    #[test]
    fn a_small_shift_of_every_configuration_is_found_by_pooling_them() {
        let t = Thresholds::uniform(0.05);
        let found = (0..10)
            .filter(|i| {
                let c = compare(&set(8, 4, 1.0, 2 * i), &set(8, 4, 1.12, 2 * i + 1), &t).unwrap();
                cpu_rows(&c).iter().any(|r| r.key == ALL && r.verdict == Verdict::Regressed)
            })
            .count();
        assert!(found >= 9, "a 12 % shift found by the pooled row in {found} of 10");
        // no shift: the pooled row stays quiet
        let alarms = (0..20)
            .filter(|i| {
                let c = compare(&set(8, 4, 1.0, 100 + 2 * i), &set(8, 4, 1.0, 101 + 2 * i), &t).unwrap();
                c.regressed()
            })
            .count();
        assert!(alarms <= 1, "{alarms} of 20 A/A comparisons alarmed");
    }

    #[test]
    fn a_large_change_of_a_few_configurations_is_found_too() {
        // three of eight configurations 50 % worse, the others unchanged: each changed
        // configuration's ranks are all the new side's, but van Elteren's sum alone is diluted
        // by the unchanged ones (p ≈ 0.01, above the corrected level); the pooled ranks see it
        let t = Thresholds::uniform(0.05);
        let found = (0..10)
            .filter(|i| {
                let new = set_scaled(8, 4, |c| if c < 3 { 1.5 } else { 1.0 }, 301 + 2 * i);
                let c = compare(&set(8, 4, 1.0, 300 + 2 * i), &new, &t).unwrap();
                cpu_rows(&c).iter().any(|r| r.key == ALL && r.verdict == Verdict::Regressed)
            })
            .count();
        assert_eq!(found, 10, "three configurations 50 % worse, found in {found} of 10");
    }

    #[test]
    fn the_summary_shows_what_decided_and_the_full_verdict_folds_every_configuration_s_rows() {
        let c = compare(&set(8, 4, 1.0, 1), &set(8, 4, 1.5, 2), &Thresholds::uniform(0.05)).unwrap();
        let per_config: Vec<&Row> = c.rows.iter().filter(|r| r.key != ALL).collect();
        let quiet =
            per_config.iter().find(|r| r.verdict == Verdict::Unchanged || r.verdict == Verdict::Undecided);
        let quiet = quiet.expect("a configuration's row without a change");
        let line = |r: &Row| format!("| {} | {} |", r.key, r.metric);
        let (summary, full) = (c.markdown_summary(), c.markdown());
        assert!(summary.contains("| (all configurations) | cpu_per_m_events_s |"), "{summary}");
        assert!(!summary.contains(&line(quiet)), "{summary}");
        let folded = full.split("<details>").nth(1).expect("folded rows");
        assert!(folded.contains(&line(quiet)) && folded.contains("</details>"), "{full}");
        assert_eq!(folded.matches("\n| ").count(), per_config.len() + 1, "every row and the heading once");
        for r in c.rows.iter().filter(|r| r.verdict == Verdict::Regressed) {
            assert!(summary.contains(&line(r)), "a regression is always in the summary: {summary}");
        }
    }
}
