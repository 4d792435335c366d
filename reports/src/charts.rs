//! The charts of a result set, drawn with plotters as PNG and SVG.
//!
//! Text is drawn with DejaVu Sans from the `dejavu` crate, registered with plotters' `ab_glyph`
//! backend, so labels appear on a machine with no system fonts.

use crate::results::{BASELINE, ResultSet, Run, Second, Status};
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A chart written to disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chart {
    /// File stem, unique in the set.
    pub name: String,
    /// What it shows.
    pub title: String,
    /// The section of the report it belongs to.
    pub section: String,
    /// The PNG file.
    pub png: PathBuf,
    /// The SVG file.
    pub svg: PathBuf,
}

/// A chart that could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("drawing chart {name}: {reason}")]
pub struct ChartError {
    /// The chart.
    pub name: String,
    /// Why.
    pub reason: String,
}

const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (960, 480);

fn register_font() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // the bytes are a valid font: the `dejavu` crate ships them
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// The colour of an engine, the same in every chart.
pub fn engine_colour(engine: &str) -> RGBColor {
    match engine {
        "dataflow" => RGBColor(31, 119, 180),
        "microbatch" => RGBColor(255, 127, 14),
        BASELINE => RGBColor(110, 110, 110),
        "flink" => RGBColor(148, 103, 189),
        "spark" => RGBColor(214, 39, 40),
        _ => RGBColor(44, 160, 44),
    }
}

/// Draws `$draw` (a closure taking a drawing area) into `<dir>/<name>.png` and `.svg`.
macro_rules! both {
    ($charts:expr, $dir:expr, $name:expr, $title:expr, $section:expr, $size:expr, $draw:expr) => {{
        let name: String = $name;
        let png = $dir.join(format!("{name}.png"));
        let svg = $dir.join(format!("{name}.svg"));
        let fail = |reason: String| ChartError { name: name.clone(), reason };
        {
            let area = BitMapBackend::new(&png, $size).into_drawing_area();
            area.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
            ($draw)(&area).map_err(|e: DrawError| fail(e.to_string()))?;
            area.present().map_err(|e| fail(e.to_string()))?;
        }
        {
            let area = SVGBackend::new(&svg, $size).into_drawing_area();
            area.fill(&WHITE).map_err(|e| fail(e.to_string()))?;
            ($draw)(&area).map_err(|e: DrawError| fail(e.to_string()))?;
            area.present().map_err(|e| fail(e.to_string()))?;
        }
        $charts.push(Chart { name, title: $title, section: $section, png, svg });
    }};
}

/// What plotters reported when drawing failed (its errors are generic over the backend, so
/// they are kept as their message).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DrawError(String);

fn e<E: std::fmt::Display>(e: E) -> DrawError {
    DrawError(e.to_string())
}

/// Groups of runs: `(workload, scenario)` → the runs (every engine, every repetition).
fn groups(set: &ResultSet) -> BTreeMap<(String, String), Vec<&Run>> {
    let mut g: BTreeMap<(String, String), Vec<&Run>> = BTreeMap::new();
    for r in set.runs.iter().filter(|r| !r.is_baseline() && !r.key.contains("sustainable")) {
        g.entry((r.workload.clone(), r.situation())).or_default().push(r);
    }
    g
}

/// Names runs in charts: by engine and the settings that tell a run from the engine's other
/// runs in the set (the settings every run of an engine shares say nothing).
pub struct Labels(BTreeMap<String, Vec<String>>);

impl Labels {
    /// The labels of `set`'s runs.
    pub fn new(set: &ResultSet) -> Labels {
        let mut values: BTreeMap<(String, String), std::collections::BTreeSet<String>> = BTreeMap::new();
        for r in &set.runs {
            for (k, v) in &r.settings {
                values.entry((r.engine.clone(), k.clone())).or_default().insert(v.clone());
            }
        }
        let mut varying: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for ((engine, key), v) in values {
            if v.len() > 1 {
                varying.entry(engine).or_default().push(key);
            }
        }
        Labels(varying)
    }

    /// A run's label.
    pub fn of(&self, r: &Run) -> String {
        let keys = self.0.get(&r.engine).map(Vec::as_slice).unwrap_or_default();
        let parts: Vec<String> =
            keys.iter().filter_map(|k| r.settings.get(k).map(|v| format!("{k}={v}"))).collect();
        if parts.is_empty() { r.engine.clone() } else { format!("{} {}", r.engine, parts.join(" ")) }
    }
}

/// Draws every chart of `set` into `dir`.
pub fn render(set: &ResultSet, dir: &Path) -> Result<Vec<Chart>, ChartError> {
    register_font();
    let labels = Labels::new(set);
    std::fs::create_dir_all(dir)
        .map_err(|err| ChartError { name: dir.display().to_string(), reason: err.to_string() })?;
    let mut charts = Vec::new();
    for ((workload, scenario), runs) in groups(set) {
        let stem = crate::slug(&format!("{workload}-{scenario}"));
        let section = format!("{workload} — {scenario}");
        let first: Vec<&Run> = first_repetition(&runs);
        both!(
            charts,
            dir,
            format!("latency-{stem}"),
            format!("Latency distribution: {workload}, {scenario}"),
            section.clone(),
            SIZE,
            |a| percentiles(a, &labels, &first, &workload)
        );
        both!(
            charts,
            dir,
            format!("timeline-{stem}"),
            format!("Due-time latency over time: {workload}, {scenario}"),
            section.clone(),
            SIZE,
            |a| latency_over_time(a, &labels, &first, &workload)
        );
        both!(
            charts,
            dir,
            format!("rates-{stem}"),
            format!("Offered, read and output rate over time: {workload}, {scenario}"),
            section.clone(),
            SIZE,
            |a| rates_over_time(a, &labels, &first, &workload)
        );
        // the load changed: how far behind each engine fell, and how it caught up
        if first.iter().any(|r| r.metrics.load_change.is_some()) {
            both!(
                charts,
                dir,
                format!("backlog-{stem}"),
                format!("Backlog over time: {workload}, {scenario}"),
                section.clone(),
                SIZE,
                |a| backlog_over_time(a, &labels, &first, &workload)
            );
        }
        let tasks = task_bars(&labels, &first);
        if tasks.iter().any(|(_, imbalance)| *imbalance >= UNEVEN) {
            let bars: Vec<Bar> = tasks.into_iter().flat_map(|(b, _)| b).collect();
            both!(
                charts,
                dir,
                format!("tasks-{stem}"),
                format!("Events per task: {workload}, {scenario}"),
                section.clone(),
                (SIZE.0.max(60 * bars.len() as u32), SIZE.1),
                |a| bar_chart(
                    a,
                    &format!("Events per task over the measured period: {workload}"),
                    "events",
                    &bars
                )
            );
        }
    }
    let workloads: Vec<String> = {
        let mut w: Vec<String> = set.runs.iter().map(|r| r.workload.clone()).collect();
        w.dedup();
        w.sort();
        w.dedup();
        w
    };
    for workload in &workloads {
        let stem = crate::slug(workload);
        let section = format!("{workload} — engines side by side");
        let bars = throughput_bars(set, &labels, workload);
        both!(
            charts,
            dir,
            format!("throughput-{stem}"),
            format!("Throughput beside the single-thread baseline: {workload}"),
            section.clone(),
            SIZE,
            |a| bar_chart(a, &format!("Throughput: {workload}"), "events/s", &bars)
        );
        let anatomy = anatomy_bars(set, &labels, workload);
        if !anatomy.is_empty() {
            both!(
                charts,
                dir,
                format!("anatomy-{stem}"),
                format!("Latency anatomy: {workload}"),
                section.clone(),
                SIZE,
                |a| stacked_bars(a, &format!("Latency anatomy (mean): {workload}"), &anatomy)
            );
        }
        let tradeoff = tradeoff_points(set, workload);
        if tradeoff.len() >= 2 {
            both!(
                charts,
                dir,
                format!("tradeoff-{stem}"),
                format!("Latency against sustainable throughput, per configuration: {workload}"),
                section.clone(),
                SIZE,
                |a| tradeoff_chart(a, workload, &tradeoff)
            );
        }
        let checkpoints = checkpoint_bars(set, &labels, workload);
        if !checkpoints.is_empty() {
            both!(
                charts,
                dir,
                format!("checkpoints-{stem}"),
                format!("Checkpoint cost: {workload}"),
                section.clone(),
                SIZE,
                |a| bar_chart(
                    a,
                    &format!("Checkpoint / batch commit duration (mean): {workload}"),
                    "ms",
                    &checkpoints
                )
            );
        }
    }
    let height = (120 + 28 * set.runs.len() as u32).max(300);
    both!(
        charts,
        dir,
        "correctness".to_string(),
        "Correctness of every run against the reference engine".to_string(),
        "Correctness".to_string(),
        (SIZE.0, height),
        |a| correctness(a, &labels, &set.runs)
    );
    Ok(charts)
}

fn first_repetition<'a>(runs: &[&'a Run]) -> Vec<&'a Run> {
    let min = runs.iter().map(|r| r.repetition).min().unwrap_or(0);
    runs.iter().copied().filter(|r| r.repetition == min).collect()
}

/// The x position of a percentile on the "nines" axis: 0 → 0, 90 % → 1, 99 % → 2, …; the
/// maximum is drawn at 5.
fn nines(q: f64) -> f64 {
    if q >= 1.0 { 5.0 } else { (-(1.0 - q).log10()).min(4.5) }
}

fn nines_label(x: &f64) -> String {
    match x.round() as i64 {
        _ if (x - x.round()).abs() > 0.01 => String::new(),
        0 => "0%".into(),
        1 => "90%".into(),
        2 => "99%".into(),
        3 => "99.9%".into(),
        4 => "99.99%".into(),
        5 => "max".into(),
        _ => String::new(),
    }
}

fn axis_ms(v: &f64) -> String {
    if *v >= 1000.0 {
        format!("{:.0} s", v / 1e3)
    } else if *v >= 1.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

fn log_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.filter(|v| *v > 0.0).fold((f64::MAX, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if hi <= 0.0 { (0.1, 10.0) } else { ((lo / 2.0).max(0.001), hi * 2.0) }
}

/// One engine configuration on the trade-off chart.
struct TradeOff {
    engine: String,
    label: String,
    /// Its sustainable rate, events/s.
    rate: f64,
    /// Due-time p99 at emit at about half of it (the search's run nearest 50 %), ms.
    p99_ms: f64,
}

/// Per searched configuration of `workload`: its sustainable rate and the p99 of its run at
/// the fraction nearest one half.
fn tradeoff_points(set: &ResultSet, workload: &str) -> Vec<TradeOff> {
    let p99 = crate::metrics::named("due_p99_ms").expect("a metric of the registry");
    let mut out = Vec::new();
    for s in set.searches.iter().filter(|s| s.workload == workload && s.sustainable > 0.0) {
        let Some(v) = set.nearest_half(s).and_then(|r| p99.value(r)) else { continue };
        // the settings that place it on the trade-off: the batch interval or the buffer timeout
        let label: Vec<String> = s
            .settings
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "parallelism" | "delivery" | "backpressure"))
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        out.push(TradeOff {
            engine: s.engine.clone(),
            label: label.join(" "),
            rate: s.sustainable,
            p99_ms: v,
        });
    }
    out
}

/// Each configuration a point: sustainable throughput across, p99 at half of it up (log).
fn tradeoff_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    workload: &str,
    points: &[TradeOff],
) -> Result<(), DrawError> {
    let (lo, hi) = log_range(points.iter().map(|p| p.p99_ms));
    let max_rate = points.iter().map(|p| p.rate).fold(0.0, f64::max) * 1.15 / 1e6;
    let mut chart = ChartBuilder::on(area)
        .caption(format!("p99 at half load against sustainable rate: {workload}"), (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_rate.max(0.1), (lo..hi).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("sustainable rate (M events/s)")
        .y_desc("due-time p99 at half of it (ms, log)")
        .label_style((FONT, 13))
        .y_label_formatter(&axis_ms)
        .draw()
        .map_err(e)?;
    let mut engines: Vec<&str> = points.iter().map(|p| p.engine.as_str()).collect();
    engines.dedup();
    for engine in engines {
        let c = engine_colour(engine);
        let mine: Vec<&TradeOff> = points.iter().filter(|p| p.engine == engine).collect();
        // each point with its configuration written beside it, clear of the marker
        chart
            .draw_series(mine.iter().map(|p| {
                EmptyElement::at((p.rate / 1e6, p.p99_ms))
                    + Circle::new((0, 0), 5, c.filled())
                    + Text::new(p.label.clone(), (8, -4), (FONT, 11).into_font().color(&c))
            }))
            .map_err(e)?
            .label(engine.to_string())
            .legend(move |(x, y)| Circle::new((x + 10, y), 5, c.filled()));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// The chart's legend, boxed, at `position`.
fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawError> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font((FONT, 12))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(e)
}

fn percentiles<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &Labels,
    runs: &[&Run],
    workload: &str,
) -> Result<(), DrawError> {
    let bound = runs.first().map_or(0.0, |r| r.watermark_bound_ms);
    let all = runs
        .iter()
        .flat_map(|r| r.metrics.curves.event.iter().chain(&r.metrics.curves.processing).map(|p| p.1))
        .chain([bound]);
    let (lo, hi) = log_range(all);
    let mut chart = ChartBuilder::on(area)
        .caption(format!("Latency percentiles: {workload}"), (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..5.0, (lo..hi).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_labels(6)
        .x_label_formatter(&nines_label)
        .x_desc("percentile")
        .y_desc("latency (ms, log)")
        .label_style((FONT, 13))
        .y_labels(12)
        .y_label_formatter(&axis_ms)
        .draw()
        .map_err(e)?;
    for r in runs {
        let c = engine_colour(&r.engine);
        let event: Vec<(f64, f64)> =
            r.metrics.curves.event.iter().map(|&(q, v)| (nines(q), v.max(lo))).collect();
        chart
            .draw_series(LineSeries::new(event, c.stroke_width(2)))
            .map_err(e)?
            .label(format!("{} event-time", labels.of(r)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        let processing: Vec<(f64, f64)> =
            r.metrics.curves.processing.iter().map(|&(q, v)| (nines(q), v.max(lo))).collect();
        let light = c.mix(0.5);
        chart
            .draw_series(DashedLineSeries::new(processing, 6, 4, light.stroke_width(2)))
            .map_err(e)?
            .label(format!("{} processing-time", labels.of(r)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], light.stroke_width(2)));
    }
    if bound > 0.0 {
        chart
            .draw_series(DashedLineSeries::new(vec![(0.0, bound), (5.0, bound)], 3, 3, BLACK.stroke_width(1)))
            .map_err(e)?
            .label(format!("watermark bound {bound:.0} ms"))
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}

fn time_range(runs: &[&Run]) -> (f64, f64) {
    let lo = runs.iter().flat_map(|r| r.timeline.first()).map(|s| s.t_s).fold(0.0, f64::min);
    let hi = runs.iter().flat_map(|r| r.timeline.last()).map(|s| s.t_s + 1.0).fold(1.0, f64::max);
    (lo, hi)
}

/// The points of a per-second latency, one line per stretch of seconds that have one: a second
/// without any result (an engine down after a crash) is a gap, not a straight segment across
/// it. Values are drawn at the middle of their second, at least `floor`.
fn stretches(timeline: &[Second], f: fn(&Second) -> f64, floor: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for s in timeline {
        if f(s) > 0.0 {
            out.last_mut().expect("one at least").push((s.t_s + 0.5, f(s).max(floor)));
        } else if !out.last().expect("one at least").is_empty() {
            out.push(Vec::new());
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

fn latency_over_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &Labels,
    runs: &[&Run],
    workload: &str,
) -> Result<(), DrawError> {
    let (t0, t1) = time_range(runs);
    let (lo, hi) =
        log_range(runs.iter().flat_map(|r| r.timeline.iter().flat_map(|s| [s.p99_ms, s.visible_p99_ms])));
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!(
                "due-time latency per second, {workload}: p50 (thin) and p99 (thick) at emit, p99 visible at commit (dashed; a lone second: a dot, a ring)"
            ),
            (FONT, 16),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(t0..t1, (lo..hi).log_scale())
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("seconds from the start of the measured period")
        .y_desc("latency (ms, log)")
        .label_style((FONT, 13))
        .y_labels(12)
        .y_label_formatter(&axis_ms)
        .draw()
        .map_err(e)?;
    if t0 < 0.0 {
        chart.draw_series([Rectangle::new([(t0, lo), (0.0, hi)], BLACK.mix(0.06).filled())]).map_err(e)?;
        chart.draw_series([Text::new("warm-up", (t0 + 0.1, hi / 1.5), (FONT, 12))]).map_err(e)?;
    }
    // stragglers' slow periods, hatched in the engine's colour
    for (k, r) in runs.iter().enumerate() {
        let c = engine_colour(&r.engine);
        for f in r.faults.iter().filter(|f| f.kind == "straggler") {
            chart
                .draw_series([Rectangle::new(
                    [(f.from_s, lo), (f.to_s.max(f.from_s + 0.05), hi)],
                    c.mix(0.2).filled(),
                )])
                .map_err(e)?;
            chart
                .draw_series([Text::new(
                    format!(" straggler {}", r.engine),
                    (f.from_s, hi / 1.5 / 1.6f64.powi(k as i32)),
                    (FONT, 12),
                )])
                .map_err(e)?;
        }
    }
    // recovery phases, shaded: detection or restart delay, restore, catch-up
    for (k, r) in runs.iter().enumerate() {
        let c = engine_colour(&r.engine);
        for x in &r.recoveries {
            let mut from = x.at_s;
            let phases = [
                (x.until_restart_ms(), 0.35),
                (x.restore_ms, 0.25),
                (x.catch_up_ms.unwrap_or((t1 - from) * 1e3), 0.12),
            ];
            for (ms, alpha) in phases {
                let to = (from + ms / 1e3).min(t1);
                chart
                    .draw_series([Rectangle::new([(from, lo), (to, hi)], c.mix(alpha).filled())])
                    .map_err(e)?;
                from = to;
            }
            chart
                .draw_series([PathElement::new(vec![(x.at_s, lo), (x.at_s, hi)], RED.stroke_width(2))])
                .map_err(e)?;
            chart
                .draw_series([Text::new(
                    format!(" {} {}", x.kind, r.engine),
                    (x.at_s, hi / 1.5 / 1.6f64.powi(k as i32)),
                    (FONT, 12),
                )])
                .map_err(e)?;
        }
    }
    for r in runs {
        let c = engine_colour(&r.engine);
        let segments = |f: fn(&Second) -> f64| stretches(&r.timeline, f, lo);
        for (k, points) in segments(|s| s.p99_ms).into_iter().enumerate() {
            let dots = points.clone();
            let series = chart.draw_series(LineSeries::new(points, c.stroke_width(3))).map_err(e)?;
            if k == 0 {
                series
                    .label(labels.of(r))
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
            }
            // a stretch of one second is a dot
            if dots.len() == 1 {
                chart.draw_series(dots.into_iter().map(|p| Circle::new(p, 3, c.filled()))).map_err(e)?;
            }
        }
        for points in segments(|s| s.p50_ms) {
            if let [p] = points[..] {
                chart.draw_series([Circle::new(p, 2, c.filled())]).map_err(e)?;
            }
            chart.draw_series(LineSeries::new(points, c.stroke_width(1))).map_err(e)?;
        }
        for points in segments(|s| s.visible_p99_ms) {
            if let [p] = points[..] {
                chart.draw_series([Circle::new(p, 4, c.stroke_width(1))]).map_err(e)?;
            }
            chart.draw_series(DashedLineSeries::new(points, 8, 5, c.stroke_width(2))).map_err(e)?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// A stage whose busiest task takes in this many times the mean gets its tasks drawn.
const UNEVEN: f64 = 1.1;

/// Per run, a bar per task of each stage (events it took in), and the run's largest imbalance.
fn task_bars(labels: &Labels, runs: &[&Run]) -> Vec<(Vec<Bar>, f64)> {
    runs.iter()
        .filter(|r| !r.metrics.stages.is_empty())
        .map(|r| {
            let imbalance = r.metrics.stages.iter().filter_map(|s| s.imbalance()).fold(1.0, f64::max);
            let bars = r
                .metrics
                .stages
                .iter()
                .flat_map(|s| {
                    let imbalance = s.imbalance().unwrap_or(1.0);
                    s.events.iter().enumerate().map(move |(i, &n)| Bar {
                        label: format!("{} · {} #{i}", labels.of(r), s.stage),
                        engine: r.engine.clone(),
                        value: n as f64,
                        note: if i == 0 { format!("max/mean {imbalance:.2}") } else { String::new() },
                    })
                })
                .collect();
            (bars, imbalance)
        })
        .collect()
}

/// A chart over the runs' seconds (`t0` to `t1`) and values from 0 to `hi`, its mesh drawn.
fn seconds_chart<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    caption: String,
    (t0, t1): (f64, f64),
    hi: f64,
    y_desc: &str,
    y_label: &dyn Fn(&f64) -> String,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, DrawError> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, (FONT, 16))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(t0..t1, 0.0..hi)
        .map_err(e)?;
    chart
        .configure_mesh()
        .x_desc("seconds from the start of the measured period")
        .y_desc(y_desc)
        .label_style((FONT, 13))
        .y_label_formatter(y_label)
        .draw()
        .map_err(e)?;
    Ok(chart)
}

fn backlog_over_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &Labels,
    runs: &[&Run],
    workload: &str,
) -> Result<(), DrawError> {
    let (t0, t1) = time_range(runs);
    let hi = runs.iter().flat_map(|r| r.timeline.iter().map(|s| s.backlog_ms)).fold(1.0, f64::max) * 1.15;
    let mut chart = seconds_chart(
        area,
        format!("Backlog at the end of each second, {workload}: the change of load shaded"),
        (t0, t1),
        hi,
        "backlog",
        &axis_ms,
    )?;
    for r in runs {
        let c = engine_colour(&r.engine);
        if let Some(x) = &r.metrics.load_change {
            let to = x.end_s.max(x.start_s + 0.05);
            chart
                .draw_series([Rectangle::new([(x.start_s, 0.0), (to, hi)], c.mix(0.12).filled())])
                .map_err(e)?;
            if let Some(d) = x.drain_ms {
                let at = x.end_s + d / 1e3;
                chart
                    .draw_series([PathElement::new(vec![(at, 0.0), (at, hi)], c.stroke_width(1))])
                    .map_err(e)?;
                chart
                    .draw_series([Text::new(format!(" drained {}", r.engine), (at, hi * 0.9), (FONT, 12))])
                    .map_err(e)?;
            }
        }
        let points: Vec<(f64, f64)> = r.timeline.iter().map(|s| (s.t_s + 1.0, s.backlog_ms)).collect();
        chart
            .draw_series(LineSeries::new(points, c.stroke_width(2)))
            .map_err(e)?
            .label(labels.of(r))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

fn rates_over_time<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &Labels,
    runs: &[&Run],
    workload: &str,
) -> Result<(), DrawError> {
    let (t0, t1) = time_range(runs);
    let hi = runs
        .iter()
        .flat_map(|r| {
            r.timeline
                .iter()
                .map(|s| s.input_rate.max(s.output_rate).max(s.offered_rate).max(s.rate_limit.unwrap_or(0.0)))
        })
        .fold(1.0, f64::max)
        * 1.15;
    let mut chart = seconds_chart(
        area,
        format!(
            "Offered (shaded), read (thick), output (thin), rate controller's bound (dashed) per second: {workload}"
        ),
        (t0, t1),
        hi,
        "per second",
        &|v| format!("{:.0}k", v / 1e3),
    )?;
    // the offered load behind everything: the profile each run was given (runs at a multiple
    // of their own sustainable rate are offered different rates)
    for r in runs {
        let c = engine_colour(&r.engine);
        let offered: Vec<(f64, f64)> = r
            .timeline
            .iter()
            .filter(|s| s.offered_rate > 0.0)
            .map(|s| (s.t_s + 0.5, s.offered_rate))
            .collect();
        chart.draw_series(AreaSeries::new(offered, 0.0, c.mix(0.08))).map_err(e)?;
    }
    for r in runs {
        let c = engine_colour(&r.engine);
        let bound: Vec<(f64, f64)> =
            r.timeline.iter().filter_map(|s| s.rate_limit.map(|l| (s.t_s + 1.0, l))).collect();
        if !bound.is_empty() {
            chart.draw_series(DashedLineSeries::new(bound, 6, 4, c.stroke_width(2))).map_err(e)?;
        }
        for f in &r.faults {
            if f.to_s > f.from_s {
                chart
                    .draw_series([Rectangle::new([(f.from_s, 0.0), (f.to_s, hi)], c.mix(0.15).filled())])
                    .map_err(e)?;
            } else {
                chart
                    .draw_series([PathElement::new(
                        vec![(f.from_s, 0.0), (f.from_s, hi)],
                        RED.stroke_width(2),
                    )])
                    .map_err(e)?;
            }
        }
        let input: Vec<(f64, f64)> = r.timeline.iter().map(|s| (s.t_s + 0.5, s.input_rate)).collect();
        let output: Vec<(f64, f64)> = r.timeline.iter().map(|s| (s.t_s + 0.5, s.output_rate)).collect();
        chart
            .draw_series(LineSeries::new(input, c.stroke_width(3)))
            .map_err(e)?
            .label(labels.of(r))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(3)));
        chart.draw_series(LineSeries::new(output, c.stroke_width(1))).map_err(e)?;
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// One bar: a label, its engine (for the colour), a value and a note drawn above it.
#[derive(Clone, Debug)]
struct Bar {
    label: String,
    engine: String,
    value: f64,
    note: String,
}

fn mean(values: impl Iterator<Item = f64>) -> f64 {
    let (n, s) = values.fold((0.0, 0.0), |(n, s), v| (n + 1.0, s + v));
    if n > 0.0 { s / n } else { 0.0 }
}

/// Per engine configuration: the sustainable rate where a search found one, else the input
/// rate it kept up with in the suite's failure-free runs (marked "offered"); the baseline's
/// flat-out rate.
fn throughput_bars(set: &ResultSet, labels: &Labels, workload: &str) -> Vec<Bar> {
    let mut bars = Vec::new();
    let mut configs: BTreeMap<String, Vec<&Run>> = BTreeMap::new();
    for r in set
        .runs
        .iter()
        .filter(|r| r.workload == workload && r.failure == "none" && !r.key.contains("sustainable"))
    {
        configs.entry(labels.of(r)).or_default().push(r);
    }
    let note = |s: &crate::results::Search| {
        format!("{}{:.2} M/s sustained", if s.upper.is_none() { "≥ " } else { "" }, s.sustainable / 1e6)
    };
    let mut shown = Vec::new();
    for (name, runs) in configs {
        let engine = runs[0].engine.clone();
        let search = set
            .searches
            .iter()
            .find(|s| s.workload == workload && s.engine == engine && s.settings == runs[0].settings);
        let offered = mean(runs.iter().map(|r| r.metrics.input_rate));
        let (value, text) = match search {
            Some(s) => {
                shown.push(s);
                (s.sustainable, note(s))
            }
            None if engine == BASELINE => (offered, format!("{:.2} M/s, 1 thread", offered / 1e6)),
            None => (offered, format!("{:.2} M/s offered", offered / 1e6)),
        };
        let label =
            if engine == BASELINE { format!("baseline at {:.1} M/s", runs[0].rate / 1e6) } else { name };
        bars.push(Bar { label, engine, value, note: text });
    }
    for s in set.searches.iter().filter(|s| s.workload == workload && !shown.contains(s)) {
        bars.push(Bar {
            label: s.engine.clone(),
            engine: s.engine.clone(),
            value: s.sustainable,
            note: note(s),
        });
    }
    // the baseline on the searches' logs: measured at the same density as the engines
    for s in set.searches.iter().filter(|s| s.workload == workload) {
        if let Some(b) = s.baseline {
            bars.push(Bar {
                label: format!("baseline at {:.1} M/s", s.sustainable / 1e6),
                engine: BASELINE.into(),
                value: b,
                note: format!("{:.2} M/s, 1 thread", b / 1e6),
            });
        }
    }
    bars
}

fn checkpoint_bars(set: &ResultSet, labels: &Labels, workload: &str) -> Vec<Bar> {
    let mut configs: BTreeMap<String, Vec<&Run>> = BTreeMap::new();
    for r in set
        .runs
        .iter()
        .filter(|r| r.workload == workload && r.failure == "none" && r.metrics.checkpoints.count > 0)
    {
        configs.entry(labels.of(r)).or_default().push(r);
    }
    configs
        .into_iter()
        .map(|(name, runs)| {
            let ms = mean(runs.iter().map(|r| r.metrics.checkpoints.mean_duration_ms));
            let bytes = mean(runs.iter().map(|r| r.metrics.checkpoints.mean_bytes));
            Bar {
                label: name,
                engine: runs[0].engine.clone(),
                value: ms,
                note: format!("{ms:.1} ms, {:.0} KiB", bytes / 1024.0),
            }
        })
        .collect()
}

fn anatomy_bars(set: &ResultSet, labels: &Labels, workload: &str) -> Vec<(String, String, [f64; 3])> {
    let mut configs: BTreeMap<String, Vec<&Run>> = BTreeMap::new();
    for r in set.runs.iter().filter(|r| {
        r.workload == workload && r.failure == "none" && !r.is_baseline() && !r.key.contains("sustainable")
    }) {
        configs.entry(labels.of(r)).or_default().push(r);
    }
    configs
        .into_iter()
        .map(|(name, runs)| {
            let a = |f: fn(&Run) -> f64| mean(runs.iter().map(|r| f(r)));
            (
                name,
                runs[0].engine.clone(),
                [
                    a(|r| r.metrics.anatomy.watermark_wait_ms),
                    a(|r| r.metrics.anatomy.batch_wait_ms),
                    a(|r| r.metrics.anatomy.processing_ms),
                ],
            )
        })
        .collect()
}

fn bar_chart<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    unit: &str,
    bars: &[Bar],
) -> Result<(), DrawError> {
    let n = bars.len().max(1);
    let hi = bars.iter().map(|b| b.value).fold(0.0, f64::max).max(1e-9) * 1.25;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..hi)
        .map_err(e)?;
    let names: Vec<String> = bars.iter().map(|b| b.label.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc(unit)
        .label_style((FONT, 12))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .y_label_formatter(&|v| {
            if *v >= 1e6 {
                format!("{:.1}M", v / 1e6)
            } else if *v >= 1e3 {
                format!("{:.0}k", v / 1e3)
            } else {
                format!("{v:.1}")
            }
        })
        .draw()
        .map_err(e)?;
    for (i, b) in bars.iter().enumerate() {
        let c = engine_colour(&b.engine);
        chart
            .draw_series([Rectangle::new(
                [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), b.value)],
                c.filled(),
            )])
            .map_err(e)?;
        chart
            .draw_series([Rectangle::new(
                [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), b.value)],
                WHITE.stroke_width(6),
            )])
            .map_err(e)?;
        chart
            .draw_series([Text::new(
                b.note.clone(),
                (SegmentValue::CenterOf(i), b.value + hi * 0.02),
                (FONT, 12).into_font().color(&BLACK).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )])
            .map_err(e)?;
    }
    Ok(())
}

fn stacked_bars<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    title: &str,
    bars: &[(String, String, [f64; 3])],
) -> Result<(), DrawError> {
    let n = bars.len().max(1);
    let hi = bars.iter().map(|b| b.2.iter().sum::<f64>()).fold(0.0, f64::max).max(1e-9) * 1.2;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(60)
        .y_label_area_size(80)
        .build_cartesian_2d((0..n - 1).into_segmented(), 0.0..hi)
        .map_err(e)?;
    let names: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
    chart
        .configure_mesh()
        .disable_x_mesh()
        .y_desc("ms")
        .label_style((FONT, 12))
        .x_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(e)?;
    let parts = ["watermark wait", "batch wait", "processing"];
    let shades = [0.35, 0.65, 1.0];
    for (i, (_, engine, values)) in bars.iter().enumerate() {
        let c = engine_colour(engine);
        let mut bottom = 0.0;
        for (k, v) in values.iter().enumerate() {
            let top = bottom + v;
            let style = c.mix(shades[k]).filled();
            chart
                .draw_series([Rectangle::new(
                    [(SegmentValue::Exact(i), bottom), (SegmentValue::Exact(i + 1), top)],
                    style,
                )])
                .map_err(e)?;
            if *v > hi * 0.04 {
                chart
                    .draw_series([Text::new(
                        format!("{}: {v:.0} ms", parts[k]),
                        (SegmentValue::CenterOf(i), (bottom + top) / 2.0),
                        (FONT, 12),
                    )])
                    .map_err(e)?;
            }
            bottom = top;
        }
        chart
            .draw_series([Rectangle::new(
                [(SegmentValue::Exact(i), 0.0), (SegmentValue::Exact(i + 1), bottom)],
                WHITE.stroke_width(6),
            )])
            .map_err(e)?;
    }
    Ok(())
}

fn correctness<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    labels: &Labels,
    runs: &[Run],
) -> Result<(), DrawError> {
    let n = runs.len().max(1);
    let wrong = |r: &Run| {
        let c = &r.metrics.correctness;
        (c.missing + c.duplicated + c.wrong + c.unexpected) as f64
    };
    let hi = runs.iter().map(wrong).fold(1.0, f64::max) * 1.3;
    let (title, body) = area.split_vertically(40);
    title
        .draw(&Text::new(
            "Results that differ from the reference, per run (missing + duplicated + wrong + unexpected)",
            (10, 10),
            (FONT, 16).into_font(),
        ))
        .map_err(e)?;
    let mut chart = ChartBuilder::on(&body)
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(330)
        .build_cartesian_2d(0.0..hi, (0..n - 1).into_segmented())
        .map_err(e)?;
    let names: Vec<String> =
        runs.iter().map(|r| format!("{} {} {}", r.workload, labels.of(r), r.scenario())).collect();
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .label_style((FONT, 11))
        .y_label_formatter(&|v| match v {
            SegmentValue::CenterOf(i) => names.get(*i).cloned().unwrap_or_default(),
            _ => String::new(),
        })
        .draw()
        .map_err(e)?;
    for (i, r) in runs.iter().enumerate() {
        let v = wrong(r);
        let (colour, note) = match &r.status {
            Status::Ok => {
                (RGBColor(44, 160, 44), format!("exact: {} results", r.metrics.correctness.correct))
            }
            Status::Incorrect(why) => (RED, format!("INCORRECT: {why}")),
            Status::Failed(why) => (RED, format!("FAILED: {}", why.chars().take(60).collect::<String>())),
        };
        if v > 0.0 {
            chart
                .draw_series([Rectangle::new(
                    [(0.0, SegmentValue::Exact(i)), (v, SegmentValue::Exact(i + 1))],
                    colour.filled(),
                )])
                .map_err(e)?;
        }
        chart
            .draw_series([Text::new(
                note,
                (v + hi * 0.01, SegmentValue::CenterOf(i)),
                (FONT, 12).into_font().color(&colour),
            )])
            .map_err(e)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_without_results_breaks_the_line_instead_of_bridging_it() {
        let second = |t_s: f64, p99_ms: f64| Second { t_s, p99_ms, ..Default::default() };
        let timeline =
            [second(0.0, 5.0), second(1.0, 6.0), second(2.0, 0.0), second(3.0, 0.0), second(4.0, 7.0)];
        let lines = stretches(&timeline, |s| s.p99_ms, 0.1);
        assert_eq!(lines, vec![vec![(0.5, 5.0), (1.5, 6.0)], vec![(4.5, 7.0)]]);
        assert!(stretches(&[second(0.0, 0.0)], |s| s.p99_ms, 0.1).is_empty());
    }
}
