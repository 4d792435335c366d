//! Comparing two result sets: runs matched by configuration, each metric's change with a 95 %
//! confidence interval over the repetitions, and a verdict per metric.
//!
//! A measured metric has *regressed* when it got worse by more than the threshold and the
//! confidence interval of the change excludes zero (Welch's t-interval for the difference of
//! the means; it needs at least two repetitions on each side — with one, a change is reported
//! but never confirmed). Counts that noise does not move — missing, duplicated and wrong
//! results, failed runs — regress on any increase.

use crate::results::{ResultSet, Run, Status};
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

/// Which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (latency, recovery, errors).
    Smaller,
    /// Bigger is better (throughput).
    Bigger,
}

/// A metric `compare` looks at.
pub struct Metric {
    /// Its name in tables and JSON.
    pub name: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Which way is better.
    pub better: Better,
    /// A count noise does not move: any increase regresses.
    pub exact: bool,
    /// How to read it from a run (`None`: not applicable).
    pub value: fn(&Run) -> Option<f64>,
}

fn scheduled(r: &Run, v: f64) -> Option<f64> {
    (r.engine != "baseline" && !matches!(r.status, Status::Failed(_))).then_some(v)
}

/// The metrics compared.
pub fn metrics() -> Vec<Metric> {
    let count = |name, value| Metric { name, unit: "results", better: Better::Smaller, exact: true, value };
    vec![
        Metric {
            name: "input_rate",
            unit: "events/s",
            better: Better::Bigger,
            exact: false,
            value: |r| Some(r.metrics.input_rate),
        },
        Metric {
            name: "due_p50",
            unit: "ms",
            better: Better::Smaller,
            exact: false,
            value: |r| scheduled(r, r.metrics.due.p50_ms),
        },
        Metric {
            name: "due_p99",
            unit: "ms",
            better: Better::Smaller,
            exact: false,
            value: |r| scheduled(r, r.metrics.due.p99_ms),
        },
        Metric {
            name: "event_p99",
            unit: "ms",
            better: Better::Smaller,
            exact: false,
            value: |r| scheduled(r, r.metrics.event.p99_ms),
        },
        Metric {
            name: "processing_p99",
            unit: "ms",
            better: Better::Smaller,
            exact: false,
            value: |r| scheduled(r, r.metrics.processing.p99_ms),
        },
        Metric {
            name: "recovery",
            unit: "ms",
            better: Better::Smaller,
            exact: false,
            value: |r| {
                (!r.recoveries.is_empty())
                    .then(|| r.recoveries.iter().map(|x| x.total_ms.unwrap_or(f64::INFINITY)).sum())
            },
        },
        Metric {
            name: "cpu",
            unit: "s",
            better: Better::Smaller,
            exact: false,
            value: |r| Some(r.metrics.cpu_s),
        },
        count("missing", |r| Some(r.metrics.correctness.missing as f64)),
        count("duplicated", |r| Some(r.metrics.correctness.duplicated as f64)),
        count("wrong", |r| Some((r.metrics.correctness.wrong + r.metrics.correctness.unexpected) as f64)),
        Metric {
            name: "failed",
            unit: "runs",
            better: Better::Smaller,
            exact: true,
            value: |r| Some(f64::from(u8::from(matches!(r.status, Status::Failed(_))))),
        },
    ]
}

/// The verdict on one metric of one configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    /// Worse beyond the threshold, with confidence.
    Regressed,
    /// Better beyond the threshold, with confidence.
    Improved,
    /// Neither.
    Unchanged,
}

impl Verdict {
    /// A word for tables.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Regressed => "regressed",
            Verdict::Improved => "improved",
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
    /// Mean in the base set.
    pub base: f64,
    /// Mean in the new set.
    pub new: f64,
    /// Repetitions in each.
    pub n: (usize, usize),
    /// `(new − base) / base`.
    pub change: f64,
    /// 95 % confidence interval of the change, relative to the base mean.
    pub interval: Option<(f64, f64)>,
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
    /// The threshold, as a fraction.
    pub threshold: f64,
}

/// The 97.5 % quantile of Student's t with `df` degrees of freedom (two-sided 95 %).
fn t975(df: f64) -> f64 {
    const TABLE: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
        2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
        2.045, 2.042,
    ];
    let d = df.floor().max(1.0) as usize;
    if d <= 30 { TABLE[d - 1] } else { 1.96 }
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0) } else { 0.0 };
    (mean, var)
}

/// Welch's 95 % interval for `mean(new) − mean(base)`, if both have two values or more.
fn welch(base: &[f64], new: &[f64]) -> Option<(f64, f64)> {
    if base.len() < 2 || new.len() < 2 {
        return None;
    }
    let ((mb, vb), (mn, vn)) = (mean_var(base), mean_var(new));
    let (sb, sn) = (vb / base.len() as f64, vn / new.len() as f64);
    let se = (sb + sn).sqrt();
    let diff = mn - mb;
    if se == 0.0 {
        return Some((diff, diff));
    }
    let df = (sb + sn).powi(2) / (sb * sb / (base.len() as f64 - 1.0) + sn * sn / (new.len() as f64 - 1.0));
    let t = t975(df);
    Some((diff - t * se, diff + t * se))
}

fn by_key(set: &ResultSet) -> BTreeMap<&str, Vec<&Run>> {
    let mut m: BTreeMap<&str, Vec<&Run>> = BTreeMap::new();
    for r in &set.runs {
        m.entry(r.key.as_str()).or_default().push(r);
    }
    m
}

/// Compares `new` with `base`; `threshold` is a fraction (0.05 for 5 %).
pub fn compare(base: &ResultSet, new: &ResultSet, threshold: f64) -> Result<Comparison, CompareError> {
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
    let mut rows = Vec::new();
    for (key, base_runs) in &b {
        let Some(new_runs) = n.get(key) else { continue };
        for m in metrics() {
            let bv: Vec<f64> = base_runs.iter().filter_map(|r| (m.value)(r)).collect();
            let nv: Vec<f64> = new_runs.iter().filter_map(|r| (m.value)(r)).collect();
            if bv.is_empty() || nv.is_empty() {
                continue;
            }
            let (bm, nm) = (mean_var(&bv).0, mean_var(&nv).0);
            let rel = |d: f64| {
                if bm.abs() > 0.0 {
                    d / bm.abs()
                } else if d == 0.0 {
                    0.0
                } else {
                    d.signum() * f64::INFINITY
                }
            };
            let change = rel(nm - bm);
            let interval = welch(&bv, &nv).map(|(lo, hi)| (rel(lo), rel(hi)));
            let worse = match m.better {
                Better::Smaller => nm > bm,
                Better::Bigger => nm < bm,
            };
            let verdict = if m.exact {
                if nm == bm {
                    Verdict::Unchanged
                } else if worse {
                    Verdict::Regressed
                } else {
                    Verdict::Improved
                }
            } else {
                let confident = interval.is_some_and(|(lo, hi)| lo > 0.0 || hi < 0.0)
                    || (nm.is_infinite() != bm.is_infinite());
                if !confident || change.abs() <= threshold {
                    Verdict::Unchanged
                } else if worse {
                    Verdict::Regressed
                } else {
                    Verdict::Improved
                }
            };
            rows.push(Row {
                key: key.to_string(),
                metric: m.name,
                unit: m.unit,
                better: m.better,
                base: bm,
                new: nm,
                n: (bv.len(), nv.len()),
                change,
                interval,
                verdict,
            });
        }
    }
    rows.sort_by(|a, b| a.verdict.cmp(&b.verdict).then(a.key.cmp(&b.key)));
    Ok(Comparison { rows, only_base, only_new, threshold })
}

fn pct(v: f64) -> String {
    if v.is_infinite() { "∞".into() } else { format!("{:+.1} %", v * 100.0) }
}

impl Comparison {
    /// Whether a metric regressed.
    pub fn regressed(&self) -> bool {
        self.rows.iter().any(|r| r.verdict == Verdict::Regressed)
    }

    /// The verdict as a Markdown table.
    pub fn markdown(&self) -> String {
        let count = |v: Verdict| self.rows.iter().filter(|r| r.verdict == v).count();
        let mut out = format!(
            "**{}**: {} regressed, {} improved, {} unchanged (threshold {:.1} %, 95 % confidence over repetitions)\n\n",
            if self.regressed() { "REGRESSED" } else { "no regression" },
            count(Verdict::Regressed),
            count(Verdict::Improved),
            count(Verdict::Unchanged),
            self.threshold * 100.0
        );
        out.push_str("| run | metric | base | new | change | 95 % CI | runs | verdict |\n|---|---|---:|---:|---:|---:|---:|---|\n");
        for r in &self.rows {
            let _ = writeln!(
                out,
                "| {} | {} | {:.3} {} | {:.3} {} | {} | {} | {}/{} | {} |",
                r.key,
                r.metric,
                r.base,
                r.unit,
                r.new,
                r.unit,
                pct(r.change),
                r.interval.map_or("—".into(), |(lo, hi)| format!("[{}, {}]", pct(lo), pct(hi))),
                r.n.0,
                r.n.1,
                if r.verdict == Verdict::Unchanged {
                    r.verdict.word().to_string()
                } else {
                    format!("**{}**", r.verdict.word())
                }
            );
        }
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
