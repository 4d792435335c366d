//! One run, from start to record, as consecutive steps: spawn and observe the engine process
//! → read what it committed → evaluate the reference → measure → record. Each step writes its
//! raw data to the result directory before the next; the run's record is returned for the
//! caller to write last (a run without one did not finish). The suite runner and the
//! throughput search both run their runs through here, and nothing here calls back up.

use crate::limits;
use crate::measure::{self, Measured};
use crate::observe::{self, Interrupted, Observed};
use crate::progress::Progress;
use crate::reference::{self, Evaluated, Truth};
use crate::spec::RunSpec;
use anyhow::{Context, Result};
use flowmark_core::durable::write_atomic;
use flowmark_core::output::Emission;
use flowmark_core::time::{SECOND, Time, human};
use flowmark_reports::results::{self, Run, Status};
use std::path::Path;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

/// Runs `run` (its engine's files under `work_root`), writes its raw data into the result
/// directory `dir`, and returns its record. With `keep_truth` the reference's results are kept
/// in `dir/truth/` for the runs with the same inputs (repetitions) to reuse.
pub fn run(
    run: &RunSpec,
    dir: &Path,
    work_root: &Path,
    keep_truth: bool,
    cancel: &AtomicBool,
    progress: &Progress,
) -> Result<Result<Run, Interrupted>> {
    let work = work_root.join(&run.id);
    // what the harness can feed this engine, measured before the run (once per workload)
    let engine = run.engine.engine();
    let feed_capacity = (!engine.is_baseline())
        .then(|| limits::feed_capacity(engine.feed(), &run.workload, &run.log))
        .flatten();
    let mut observed = match observe::observe(run, &work, cancel, None, |t| progress.tick(t))? {
        Ok(o) => o,
        Err(i) => return Ok(Err(i)),
    };
    progress.message("checking against the reference");
    let emissions = committed(run, &work, &observed)?;
    write_outputs(&dir.join("outputs").join(format!("{}.tsv", run.id)), &emissions)?;
    // the run's timeout covers the reference too
    let left = Duration::from_nanos(run.timeout as u64).saturating_sub(observed.wall);
    let started = Instant::now();
    let cache = if keep_truth { dir.join("truth") } else { work.clone() };
    let truth = match reference::truth(run, &cache, &work, left, cancel)? {
        Err(i) => return Ok(Err(i)),
        Ok(Evaluated::Truth(t)) => t,
        Ok(Evaluated::TimedOut) => {
            observed.failure.get_or_insert_with(|| {
                format!("the reference did not finish within the run's timeout of {}", human(run.timeout))
            });
            Truth::default()
        }
        Ok(Evaluated::Failed(why)) => {
            observed.failure.get_or_insert(why);
            Truth::default()
        }
    };
    observed.wall += started.elapsed();
    let measured = measure::measure(run, &observed, &emissions, &truth);
    write_hlog(&dir.join("latency").join(format!("{}.hlog", run.id)), run, &measured)?;
    keep_stderr(run, &work, dir, &observed)?;
    let _ = std::fs::remove_dir_all(&work);
    let status = status(&observed, &measured, &truth);
    Ok(Ok(record(run, status, measured, observed.wall.as_secs_f64(), feed_capacity)))
}

/// The results the engine committed; what can be read of them when the run failed.
fn committed(run: &RunSpec, work: &Path, observed: &Observed) -> Result<Vec<Emission>> {
    let read = run.engine.engine().committed(work);
    if observed.failure.is_none() {
        read.with_context(|| format!("reading the results of {}", run.id))
    } else {
        Ok(read.unwrap_or_default())
    }
}

/// What the engine said on stderr, kept when the run failed.
fn keep_stderr(run: &RunSpec, work: &Path, dir: &Path, observed: &Observed) -> Result<()> {
    if observed.failure.is_some()
        && let Ok(text) = std::fs::read_to_string(work.join("engine.stderr"))
    {
        let path = dir.join("logs").join(format!("{}.stderr", run.id));
        std::fs::create_dir_all(dir.join("logs")).context("creating logs/")?;
        write_atomic(&path, text.as_bytes(), None)?;
    }
    Ok(())
}

/// Failed when the engine did not finish, incorrect when its results differ from the
/// reference's, ok otherwise.
fn status(observed: &Observed, measured: &Measured, truth: &Truth) -> Status {
    let c = &measured.metrics.correctness;
    match &observed.failure {
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
    }
}

fn record(run: &RunSpec, status: Status, m: Measured, wall_s: f64, feed_capacity: Option<f64>) -> Run {
    let secs = |t: Time| t as f64 / SECOND as f64;
    Run {
        id: run.id.clone(),
        key: run.key.clone(),
        repetition: run.repetition,
        engine: run.engine.name().into(),
        workload: run.workload_name.clone(),
        disorder: run.disorder.clone(),
        failure: run.failure.name.clone(),
        rate: run.rate,
        load: run.load.clone(),
        settings: settings(run),
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
        feed_capacity,
    }
}

/// The engine's settings, and the CPU tax when one was levied (it leaves the run's key alone,
/// so that a taxed run is compared with its untaxed twin).
fn settings(run: &RunSpec) -> std::collections::BTreeMap<String, String> {
    let mut s = run.engine.settings();
    if let Some(t) = run.failure.cpu_tax {
        s.insert("cpu_tax".into(), t.fraction.to_string());
    }
    s
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
            let start = Duration::from_nanos(*from as u64);
            w.write_histogram(h, start, Duration::from_secs(1), None)
                .map_err(|e| anyhow::anyhow!("writing the interval log: {e:?}"))?;
        }
    }
    Ok(write_atomic(path, &bytes, None)?)
}
