//! Running a suite: every run of its plan, one after another, each written to the result
//! directory as it finishes — raw data first, the run's record last — so that an interrupted
//! suite keeps every run it finished and `--resume` completes it.

use crate::execute::{self, Interrupted};
use crate::measure::{self, Measured};
use crate::progress::Progress;
use crate::spec::RunSpec;
use crate::suite::Suite;
use anyhow::{Context, Result};
use flowmark_core::durable::write_atomic;
use flowmark_core::output::Emission;
use flowmark_core::time::{SECOND, Time};
use flowmark_reports::results::{self, Manifest, ResultSet, Run, Status};
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// How a suite ended.
pub enum Outcome {
    /// Every run finished; `ok` when all were correct and none failed.
    Done {
        /// All runs ok.
        ok: bool,
    },
    /// Ctrl-C: the finished runs are kept.
    Interrupted,
}

/// Runs `suite` into `dir` (a new result directory, or one being resumed), skipping runs it
/// already holds.
pub fn run_suite(suite: &Suite, manifest: &Manifest, dir: &Path, cancel: &AtomicBool) -> Result<Outcome> {
    let plan = suite.plan();
    // the real engines' jobs compile once, before the first run (and before anything is
    // written), and say so if the engines are not installed
    for engine in plan.iter().map(|r| &r.engine).filter(|e| e.is_external()) {
        crate::external::prepare(engine)?;
    }
    ResultSet::write_manifest(dir, manifest)?;
    let done: Vec<bool> = plan.iter().map(|r| results::run_path(dir, &r.id).exists()).collect();
    let already = done.iter().filter(|d| **d).count();
    let progress = Progress::new(plan.len() as u64, already as u64);
    if already > 0 {
        progress.line(&format!("resuming: {already} of {} runs already done", plan.len()));
    }
    let work_root = std::env::temp_dir().join(format!("flowmark-work-{}", std::process::id()));
    for (run, done) in plan.iter().zip(done) {
        if done {
            continue;
        }
        progress.start_run(&run.id, run.end());
        let record = match one(run, dir, &work_root, cancel, &progress)? {
            Ok(r) => r,
            Err(Interrupted) => {
                progress.finish();
                let _ = std::fs::remove_dir_all(&work_root);
                ResultSet::load(dir)?.write_tables()?;
                return Ok(Outcome::Interrupted);
            }
        };
        progress.end_run(&summary_line(&record));
        ResultSet::write_run(dir, &record)?;
        ResultSet::load(dir)?.write_tables()?;
    }
    progress.finish();
    if let Some(t) = &suite.throughput {
        for base in suite.searches() {
            if dir.join("throughput").join(format!("{}.json", base.key)).exists() {
                continue;
            }
            let plan = t.get_ref().plan();
            let progress = Progress::new(u64::from(plan.steps) + plan.fractions.len() as u64, 0);
            progress.line(&format!("sustainable throughput of {}", base.key));
            if crate::throughput::search(&base, &plan, dir, cancel, &progress)?.is_err() {
                let _ = std::fs::remove_dir_all(&work_root);
                ResultSet::load(dir)?.write_tables()?;
                return Ok(Outcome::Interrupted);
            }
        }
    }
    let _ = std::fs::remove_dir_all(&work_root);
    let set = ResultSet::load(dir)?;
    set.write_tables()?;
    Ok(Outcome::Done { ok: set.runs.iter().all(|r| r.status == Status::Ok) })
}

/// One run, measured and written: outputs, interval log, then its record (returned, for the
/// caller to write last).
pub fn one(
    run: &RunSpec,
    dir: &Path,
    work_root: &Path,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<Result<Run, Interrupted>> {
    let work = work_root.join(&run.id);
    let observed = match execute::observe(run, &work, cancel, |t| progress.tick(t))? {
        Ok(o) => o,
        Err(i) => return Ok(Err(i)),
    };
    progress.message("checking against the reference");
    let emissions = if observed.failure.is_none() {
        execute::committed(&run.engine, &work)
            .with_context(|| format!("reading the results of {}", run.id))?
    } else {
        execute::committed(&run.engine, &work).unwrap_or_default()
    };
    write_outputs(&dir.join("outputs").join(format!("{}.tsv", run.id)), &emissions)?;
    let truth = execute::truth(run)?;
    let measured = measure::measure(run, &observed, &emissions, &truth);
    write_hlog(&dir.join("latency").join(format!("{}.hlog", run.id)), run, &measured)?;
    // keep what the engine said on stderr when the run failed
    if observed.failure.is_some()
        && let Ok(text) = std::fs::read_to_string(work.join("engine.stderr"))
    {
        let path = dir.join("logs").join(format!("{}.stderr", run.id));
        std::fs::create_dir_all(dir.join("logs")).context("creating logs/")?;
        write_atomic(&path, text.as_bytes(), None)?;
    }
    let _ = std::fs::remove_dir_all(&work);
    let c = &measured.metrics.correctness;
    let status = match &observed.failure {
        Some(reason) => Status::Failed(reason.clone()),
        None if !c.exact() => Status::Incorrect(format!(
            "{} missing, {} duplicated, {} wrong, {} unexpected of {} results",
            c.missing,
            c.duplicated,
            c.wrong,
            c.unexpected,
            truth.results.len()
        )),
        None => Status::Ok,
    };
    Ok(Ok(record(run, status, measured, observed.wall.as_secs_f64())))
}

fn record(run: &RunSpec, status: Status, m: Measured, wall_s: f64) -> Run {
    let secs = |t: Time| t as f64 / SECOND as f64;
    Run {
        id: run.id.clone(),
        key: run.key.clone(),
        repetition: run.repetition,
        engine: run.engine.name().into(),
        workload: run.workload.name(),
        disorder: run.disorder.clone(),
        failure: run.failure.name.clone(),
        rate: run.rate,
        settings: run.engine.settings(),
        seed: run.log.seed,
        watermark_bound_ms: run.workload.bound() as f64 / 1e6,
        warmup_s: secs(run.warmup),
        measure_s: secs(run.measure),
        status,
        metrics: m.metrics,
        faults: faults(run),
        recoveries: m.recoveries,
        timeline: m.timeline,
        wall_s,
    }
}

/// The run's failures, as scheduled, in seconds of the measured period.
fn faults(run: &RunSpec) -> Vec<results::Fault> {
    let s = |t: Time| (t - run.warmup) as f64 / SECOND as f64;
    let f = &run.failure;
    let mut out: Vec<results::Fault> = f
        .crashes
        .iter()
        .map(|&t| results::Fault { kind: "crash".into(), from_s: s(t), to_s: s(t) })
        .collect();
    if let Some(t) = f.task_failure {
        out.push(results::Fault { kind: "task-failure".into(), from_s: s(t.at), to_s: s(t.at) });
    }
    if let Some(t) = f.straggler {
        out.push(results::Fault { kind: "straggler".into(), from_s: s(t.from), to_s: s(t.until) });
    }
    out
}

/// The committed results, as the engine wrote them.
fn write_outputs(path: &Path, emissions: &[Emission]) -> Result<()> {
    std::fs::create_dir_all(path.parent().expect("under the result directory"))?;
    let mut text = String::new();
    for e in emissions {
        flowmark_core::output::write_result_line(e.emitted, &e.line, &mut text);
    }
    Ok(write_atomic(path, text.as_bytes(), None)?)
}

/// The due-time latency per second, as an HdrHistogram interval log (values in nanoseconds;
/// timestamps in seconds of log time).
fn write_hlog(path: &Path, run: &RunSpec, m: &Measured) -> Result<()> {
    use hdrhistogram::serialization::V2DeflateSerializer;
    use hdrhistogram::serialization::interval_log::IntervalLogWriterBuilder;
    std::fs::create_dir_all(path.parent().expect("under the result directory"))?;
    let mut bytes = Vec::new();
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut b = IntervalLogWriterBuilder::new();
        b.add_comment(&format!("flowmark {}: due-time latency of run {}", env!("CARGO_PKG_VERSION"), run.id));
        b.add_comment(
            "values in nanoseconds; timestamps in seconds from log time 0 (the warm-up starts there)",
        );
        b.with_base_time(std::time::UNIX_EPOCH).with_max_value_divisor(1e6);
        let mut w = b.begin_log_with(&mut bytes, &mut serializer).context("starting the interval log")?;
        for (from, h) in &m.intervals {
            let start = std::time::Duration::from_nanos(*from as u64);
            w.write_histogram(h, start, std::time::Duration::from_secs(1), None)
                .map_err(|e| anyhow::anyhow!("writing the interval log: {e:?}"))?;
        }
    }
    Ok(write_atomic(path, &bytes, None)?)
}

/// One line about a finished run.
pub fn summary_line(r: &Run) -> String {
    let m = &r.metrics;
    let recovery = r
        .recoveries
        .iter()
        .map(|x| x.total_ms.map_or("did not catch up".into(), |t| format!("recovered in {:.1} s", t / 1e3)))
        .collect::<Vec<_>>()
        .join(", ");
    if r.engine == "baseline" {
        return format!(
            "{}: {} — {:.2} M events/s single-threaded",
            r.id,
            r.status.word(),
            m.input_rate / 1e6
        );
    }
    format!(
        "{}: {} — in {:.0}/s, due p50 {:.1} ms p99 {:.1} ms max {:.1} ms{}{}",
        r.id,
        r.status.word(),
        m.input_rate,
        m.due.p50_ms,
        m.due.p99_ms,
        m.due.max_ms,
        if recovery.is_empty() { String::new() } else { format!("; {recovery}") },
        match &r.status {
            Status::Ok => String::new(),
            Status::Incorrect(s) | Status::Failed(s) => format!(" ({s})"),
        }
    )
}

/// A new result directory under `root` for `suite`, named by the time.
pub fn new_dir(root: &Path, suite: &str) -> PathBuf {
    root.join(format!("{}-{}", suite, crate::machine::timestamp().replace(':', "")))
}
