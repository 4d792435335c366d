//! Every metric of a run, listed once: its name, unit, which way is better, whether it applies
//! to the baseline, how to read it from a run and how to show it. `runs.csv`, the report's
//! summary table, `compare` and the terminal's headline and run lines all read this list.
//! What each metric means is in `docs/metrics.md`.

use crate::results::{Recovery, Run, Status};

/// Which way is better.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (latency, recovery, errors, resources).
    Smaller,
    /// Bigger is better (throughput).
    Bigger,
}

/// Where a metric is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// A column of `runs.csv`.
    Csv,
    /// A column of the report's summary table.
    Summary,
    /// A column of the terminal's headline table and a part of a run's line.
    Headline,
    /// Judged by `compare`.
    Compare,
}

/// One metric.
pub struct Metric {
    /// Its name: the column of `runs.csv` and the key in `compare`'s output.
    pub name: &'static str,
    /// Its heading in tables.
    pub heading: &'static str,
    /// Its unit.
    pub unit: &'static str,
    /// Which way is better; `None`: neither (an echo of the offered load, a count of starts).
    pub better: Option<Better>,
    /// A count noise does not move: any increase regresses.
    pub exact: bool,
    /// Measured on the shared schedule only: the baseline (which runs flat out, off the
    /// schedule) and failed runs have no value.
    pub scheduled: bool,
    /// Decimals in `runs.csv`.
    pub decimals: usize,
    /// How to show a value in tables.
    pub show: fn(f64) -> String,
    /// How to read it from a run (`None`: the run has none, e.g. a recovery without a
    /// failure; infinite: a recovery that never caught up).
    pub read: fn(&Run) -> Option<f64>,
    /// Where it is shown.
    pub views: &'static [View],
}

impl Metric {
    /// The run's value, or `None` when the metric does not apply to it.
    pub fn value(&self, r: &Run) -> Option<f64> {
        if self.scheduled
            && (r.is_baseline() || matches!(r.status, Status::Failed(_)) || r.harness_bound().is_some())
        {
            return None;
        }
        (self.read)(r)
    }

    /// Whether it is shown in `view`.
    pub fn in_view(&self, view: View) -> bool {
        self.views.contains(&view)
    }

    /// The run's value for a table: `—` when it has none.
    pub fn cell(&self, r: &Run) -> String {
        self.value(r).map_or("—".into(), self.show)
    }

    /// The run's value for `runs.csv`: every run's value as read (the baseline's too), empty
    /// when it has none or it is infinite.
    pub fn csv(&self, r: &Run) -> String {
        match (self.read)(r) {
            Some(v) if v.is_finite() => format!("{v:.*}", self.decimals),
            _ => String::new(),
        }
    }
}

/// Milliseconds, or seconds from one second on; `not caught up` for an infinite recovery.
pub fn ms(v: f64) -> String {
    if v.is_infinite() {
        "not caught up".into()
    } else if v >= 1000.0 {
        format!("{:.2} s", v / 1e3)
    } else {
        format!("{v:.1} ms")
    }
}

/// A drain time: `not drained` when it never ended.
fn drain(v: f64) -> String {
    if v.is_infinite() { "not drained".into() } else { ms(v) }
}

/// A rate per second.
pub fn rate(v: f64) -> String {
    if v < 10.0 { format!("{v:.2}") } else { format!("{v:.0}") }
}

fn one_decimal(v: f64) -> String {
    format!("{v:.1}")
}

fn whole(v: f64) -> String {
    format!("{v:.0}")
}

fn percent(v: f64) -> String {
    if v != 0.0 && v.abs() < 0.1 { format!("{v:.3} %") } else { format!("{v:.1} %") }
}

/// `part` of `whole` in percent (0 of nothing).
fn share(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { 100.0 * part as f64 / whole as f64 }
}

fn mib(v: f64) -> String {
    format!("{:.0} MiB", v / 1048576.0)
}

/// The sum of one phase over a run's recoveries; `None` without a recovery, infinite when one
/// of them never reached the phase's end.
fn recoveries(r: &Run, phase: fn(&Recovery) -> Option<f64>) -> Option<f64> {
    if r.recoveries.is_empty() {
        return None;
    }
    Some(r.recoveries.iter().map(|x| phase(x).unwrap_or(f64::INFINITY)).sum())
}

/// The detection time of a run's task failures (a crash has none: the harness acts on it).
fn detections(r: &Run) -> Option<f64> {
    let noticed: Vec<f64> = r.recoveries.iter().filter_map(|x| x.detection_ms).collect();
    (!noticed.is_empty()).then(|| noticed.iter().sum())
}

use View::{Compare, Csv, Headline, Summary};

macro_rules! metric {
    ($name:literal, $heading:literal, $unit:literal, $better:expr, $decimals:literal, $show:expr,
     $views:expr, |$r:ident| $read:expr) => {
        Metric {
            name: $name,
            heading: $heading,
            unit: $unit,
            better: $better,
            exact: false,
            scheduled: false,
            decimals: $decimals,
            show: $show,
            read: |$r| $read,
            views: $views,
        }
    };
}

/// CPU seconds `cpu_s` of the measured period per million of the events read in it (none when
/// either was not counted).
fn per_m_events(r: &Run, cpu_s: f64) -> Option<f64> {
    (r.metrics.period_events > 0 && cpu_s > 0.0).then(|| cpu_s * 1e6 / r.metrics.period_events as f64)
}

/// A latency percentile, measured on the schedule.
macro_rules! latency {
    ($name:literal, $heading:literal, $views:expr, |$r:ident| $read:expr) => {
        Metric {
            scheduled: true,
            ..metric!($name, $heading, "ms", Some(Better::Smaller), 3, ms, $views, |$r| Some($read))
        }
    };
}

/// A due-time latency at commit: only runs whose results an exactly-once sink committed have
/// one.
macro_rules! visible {
    ($name:literal, $heading:literal, $views:expr, |$r:ident| $read:expr) => {
        Metric {
            scheduled: true,
            ..metric!($name, $heading, "ms", Some(Better::Smaller), 3, ms, $views, |$r| ($r
                .metrics
                .visible
                .count
                > 0)
            .then(|| $read))
        }
    };
}

/// A count of results that noise does not move.
macro_rules! count {
    ($name:literal, $heading:literal, $views:expr, |$r:ident| $read:expr) => {
        Metric {
            exact: true,
            ..metric!($name, $heading, "results", Some(Better::Smaller), 0, whole, $views, |$r| Some(
                $read as f64
            ))
        }
    };
}

/// Every metric, in the order of `runs.csv`'s columns.
pub const METRICS: &[Metric] = &[
    // the offered load is echoed, never judged: an open-loop run consumes what it is offered
    // (for the baseline it is the rate it ran at flat out)
    metric!("input_rate", "input/s", "events/s", None, 1, rate, &[Csv, Summary, Headline], |r| Some(
        r.metrics.input_rate
    )),
    metric!("output_rate", "output/s", "results/s", None, 1, rate, &[Csv, Summary], |r| Some(
        r.metrics.output_rate
    )),
    latency!("due_p50_ms", "due p50 at emit", &[Csv, Summary, Headline, Compare], |r| r.metrics.due.p50_ms),
    latency!("due_p99_ms", "due p99 at emit", &[Csv, Summary, Headline, Compare], |r| r.metrics.due.p99_ms),
    // under exactly-once delivery a result is seen only once its checkpoint or batch commits
    visible!("visible_p50_ms", "due p50 visible", &[Csv, Summary, Headline, Compare], |r| r
        .metrics
        .visible
        .p50_ms),
    visible!("visible_p99_ms", "due p99 visible", &[Csv, Summary, Headline, Compare], |r| r
        .metrics
        .visible
        .p99_ms),
    latency!("due_p999_ms", "due p99.9", &[Csv], |r| r.metrics.due.p999_ms),
    latency!("due_max_ms", "due max", &[Csv, Summary], |r| r.metrics.due.max_ms),
    latency!("event_p50_ms", "event p50", &[Csv, Summary, Headline], |r| r.metrics.event.p50_ms),
    latency!("event_p99_ms", "event p99", &[Csv, Summary, Headline, Compare], |r| r.metrics.event.p99_ms),
    latency!("event_max_ms", "event max", &[Csv], |r| r.metrics.event.max_ms),
    latency!("processing_p50_ms", "processing p50", &[Csv], |r| r.metrics.processing.p50_ms),
    latency!("processing_p99_ms", "processing p99", &[Csv, Compare], |r| r.metrics.processing.p99_ms),
    latency!("commit_p50_ms", "commit p50", &[Csv], |r| r.metrics.commit.p50_ms),
    latency!("commit_p99_ms", "commit p99", &[Csv, Summary, Compare], |r| r.metrics.commit.p99_ms),
    latency!("watermark_wait_ms", "watermark wait", &[Csv], |r| r.metrics.anatomy.watermark_wait_ms),
    latency!("batch_wait_ms", "batch wait", &[Csv], |r| r.metrics.anatomy.batch_wait_ms),
    latency!("processing_ms", "processing", &[Csv], |r| r.metrics.anatomy.processing_ms),
    latency!("max_backlog_ms", "max backlog", &[Csv, Summary], |r| r.metrics.max_backlog_ms),
    metric!("checkpoints", "checkpoints", "checkpoints", None, 0, whole, &[Csv], |r| Some(
        r.metrics.checkpoints.count as f64
    )),
    latency!("checkpoint_ms", "checkpoint", &[Csv, Compare], |r| r.metrics.checkpoints.mean_duration_ms),
    metric!("checkpoint_bytes", "checkpoint bytes", "bytes", Some(Better::Smaller), 0, whole, &[Csv], |r| {
        Some(r.metrics.checkpoints.mean_bytes)
    }),
    metric!("correct", "correct", "results", None, 0, whole, &[Csv], |r| Some(
        r.metrics.correctness.correct as f64
    )),
    count!("missing", "missing", &[Csv, Compare], |r| r.metrics.correctness.missing),
    count!("duplicated", "duplicated", &[Csv, Compare], |r| r.metrics.correctness.duplicated),
    count!("wrong", "wrong", &[Csv, Compare], |r| r.metrics.correctness.wrong),
    count!("unexpected", "unexpected", &[Csv, Compare], |r| r.metrics.correctness.unexpected),
    metric!("late_dropped", "late dropped", "events", None, 0, whole, &[Csv], |r| Some(
        r.metrics.correctness.late_dropped as f64
    )),
    metric!("late_expected", "late expected", "events", None, 0, whole, &[Csv], |r| Some(
        r.metrics.correctness.late_expected as f64
    )),
    // a run in processing time against the event-time truth (`docs/metrics.md`)
    metric!(
        "pt_wrong_windows_pct",
        "windows off event time",
        "%",
        Some(Better::Smaller),
        2,
        percent,
        &[Csv, Summary],
        |r| r.metrics.domain_error.map(|e| share(e.wrong_windows, e.windows))
    ),
    metric!(
        "pt_relative_error_pct",
        "error vs event time",
        "%",
        Some(Better::Smaller),
        3,
        percent,
        &[Csv, Summary],
        |r| r.metrics.domain_error.and_then(|e| e.mean_relative_error).map(|x| 100.0 * x)
    ),
    metric!(
        "pt_misplaced_events_pct",
        "events in another window",
        "%",
        Some(Better::Smaller),
        3,
        percent,
        &[Csv, Summary],
        |r| r.metrics.domain_error.and_then(|e| Some(share(e.misplaced_events?, e.events)))
    ),
    metric!(
        "recovery_ms",
        "recovery",
        "ms",
        Some(Better::Smaller),
        3,
        ms,
        &[Csv, Summary, Headline, Compare],
        |r| recoveries(r, |x| x.total_ms)
    ),
    metric!(
        "recovery_from_restart_ms",
        "recovery from restart",
        "ms",
        Some(Better::Smaller),
        3,
        ms,
        &[Csv, Summary, Compare],
        |r| recoveries(r, |x| x.from_restart_ms)
    ),
    metric!("restart_delay_ms", "restart delay", "ms", None, 3, ms, &[Csv], |r| recoveries(r, |x| Some(
        x.restart_delay_ms
    ))),
    metric!("detection_ms", "detection", "ms", Some(Better::Smaller), 3, ms, &[Csv, Compare], |r| {
        detections(r)
    }),
    metric!("restore_ms", "restore", "ms", Some(Better::Smaller), 3, ms, &[Csv, Compare], |r| recoveries(
        r,
        |x| Some(x.restore_ms)
    )),
    metric!("catch_up_ms", "catch-up", "ms", Some(Better::Smaller), 3, ms, &[Csv, Compare], |r| recoveries(
        r,
        |x| x.catch_up_ms
    )),
    // a change of the offered load (`docs/metrics.md`, "Changes of load")
    Metric {
        scheduled: true,
        ..metric!(
            "change_peak_backlog_ms",
            "peak backlog after change",
            "ms",
            Some(Better::Smaller),
            3,
            ms,
            &[Csv, Summary],
            |r| r.metrics.load_change.as_ref().map(|c| c.peak_backlog_ms)
        )
    },
    Metric {
        scheduled: true,
        ..metric!(
            "change_p99_ms",
            "due p99 during change",
            "ms",
            Some(Better::Smaller),
            3,
            ms,
            &[Csv, Summary],
            |r| r.metrics.load_change.as_ref().map(|c| c.p99_during_ms)
        )
    },
    Metric {
        scheduled: true,
        // infinite (not drained) like a recovery that never caught up
        ..metric!("drain_ms", "drain", "ms", Some(Better::Smaller), 3, drain, &[Csv, Summary], |r| r
            .metrics
            .load_change
            .as_ref()
            .map(|c| c.drain_ms.unwrap_or(f64::INFINITY)))
    },
    metric!(
        "imbalance",
        "imbalance",
        "max/mean",
        Some(Better::Smaller),
        3,
        |v| format!("{v:.2}"),
        &[Csv, Summary],
        |r| r.metrics.stages.iter().filter_map(|s| s.imbalance()).reduce(f64::max)
    ),
    metric!("blocked_pct", "blocked", "%", Some(Better::Smaller), 2, percent, &[Csv, Summary], |r| r
        .metrics
        .stages
        .iter()
        .flat_map(|s| s.blocked_share.iter().copied())
        .reduce(f64::max)
        .map(|x| 100.0 * x)),
    metric!("cpu_s", "CPU s", "s", Some(Better::Smaller), 3, one_decimal, &[Csv, Summary], |r| Some(
        r.metrics.cpu_s
    )),
    Metric {
        scheduled: true,
        ..metric!(
            "cpu_per_m_events_s",
            "CPU s / M events",
            "s",
            Some(Better::Smaller),
            4,
            |v| format!("{v:.3}"),
            &[Summary, Compare],
            |r| per_m_events(r, r.metrics.period_cpu_s)
        )
    },
    Metric {
        scheduled: true,
        ..metric!(
            "task_cpu_per_m_events_s",
            "task CPU s / M events",
            "s",
            Some(Better::Smaller),
            4,
            |v| format!("{v:.3}"),
            &[Compare],
            |r| per_m_events(r, r.metrics.period_task_cpu_s)
        )
    },
    metric!("harness_cpu_s", "harness CPU s", "s", None, 3, one_decimal, &[Csv, Summary], |r| Some(
        r.metrics.harness_cpu_s
    )),
    metric!("feed_capacity", "harness feed/s", "events/s", None, 0, rate, &[Csv], |r| r.feed_capacity),
    metric!(
        "peak_rss_bytes",
        "peak RSS",
        "bytes",
        Some(Better::Smaller),
        0,
        mib,
        &[Csv, Summary, Compare],
        |r| { Some(r.metrics.peak_rss_bytes as f64) }
    ),
    metric!("starts", "starts", "processes", None, 0, whole, &[Csv], |r| Some(f64::from(r.metrics.starts))),
    metric!("wall_s", "wall", "s", None, 2, one_decimal, &[Csv], |r| Some(r.wall_s)),
    Metric {
        exact: true,
        ..metric!("failed", "failed", "runs", Some(Better::Smaller), 0, whole, &[Compare], |r| Some(
            f64::from(u8::from(matches!(r.status, Status::Failed(_))))
        ))
    },
];

/// The metrics shown in `view`, in order.
pub fn in_view(view: View) -> impl Iterator<Item = &'static Metric> {
    METRICS.iter().filter(move |m| m.in_view(view))
}

/// The metric called `name`.
pub fn named(name: &str) -> Option<&'static Metric> {
    METRICS.iter().find(|m| m.name == name)
}

/// One line about a finished run: its status and headline metrics (and why it is not ok).
pub fn summary_line(r: &Run) -> String {
    let values: Vec<String> = in_view(Headline)
        .filter_map(|m| m.value(r).map(|v| format!("{} {}", m.heading, (m.show)(v))))
        .collect();
    let why = r.status_reason();
    let why = if why.is_empty() { why } else { format!(" ({why})") };
    format!("{}: {} — {}{why}", r.id, r.status_word(), values.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_every_judged_metric_has_a_direction() {
        let mut names: Vec<&str> = METRICS.iter().map(|m| m.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), METRICS.len());
        assert!(in_view(Compare).all(|m| m.better.is_some()));
        assert!(named("input_rate").is_some_and(|m| !m.in_view(Compare)), "the offered load is never judged");
    }

    #[test]
    fn a_recovery_that_never_caught_up_is_infinite_everywhere_and_empty_in_csv() {
        let mut r = crate::results::tests::run("r");
        let recovery = named("recovery_ms").unwrap();
        assert_eq!(recovery.value(&r), None, "no failure, no recovery");
        assert_eq!(recovery.csv(&r), "");
        r.recoveries.push(Recovery {
            kind: "crash".into(),
            killed: None,
            at_s: 1.0,
            detection_ms: None,
            restart_delay_ms: 10.0,
            restore_ms: 20.0,
            catch_up_ms: None,
            total_ms: None,
            from_restart_ms: None,
            moment_missed: false,
        });
        assert_eq!(recovery.value(&r), Some(f64::INFINITY));
        assert_eq!(recovery.cell(&r), "not caught up");
        assert_eq!(recovery.csv(&r), "");
        assert_eq!(named("recovery_from_restart_ms").unwrap().value(&r), Some(f64::INFINITY));
        assert_eq!(named("restart_delay_ms").unwrap().csv(&r), "10.000");
        assert_eq!(named("detection_ms").unwrap().csv(&r), "", "a crash has no detection");
    }

    #[test]
    fn the_baseline_and_failed_runs_have_no_latency() {
        let mut r = crate::results::tests::run("r");
        r.metrics.due.p99_ms = 5.0;
        let p99 = named("due_p99_ms").unwrap();
        assert_eq!(p99.value(&r), Some(5.0));
        r.engine = crate::results::BASELINE.into();
        assert_eq!(p99.value(&r), None);
        assert_eq!(p99.csv(&r), "5.000", "runs.csv keeps every value as read");
        r.engine = "dataflow".into();
        r.status = Status::Failed("x".into());
        assert_eq!(p99.value(&r), None);
    }
}
