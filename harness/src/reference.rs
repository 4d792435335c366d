//! What the reference engine computes for a run: the ground truth its results are checked
//! against and its latencies measured from.
//!
//! It runs in a process of its own (`flowmark reference`, started like an engine process), so
//! that the run's timeout and Ctrl-C stop it wherever it is, and its memory goes with it.

use crate::observe::Interrupted;
use crate::spec::RunSpec;
use anyhow::{Context, Result};
use flowmark_core::{Job, Log, ResultLine, Time, TimeDomain};
use flowmark_reference::{Emitted, Input};
use flowmark_workloads::Visitor;
use serde::{Deserialize, Serialize};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The reference's results for a run.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Truth {
    /// Every result, with its instants.
    pub results: Vec<Emitted>,
    /// Late events it drops.
    pub late: u64,
    /// Events the log offers before the input ends.
    pub events: u64,
    /// For a run in processing time: the event-time truth its results are measured against.
    #[serde(default)]
    pub event_time: Option<EventTimeTruth>,
    /// The reference process's peak resident memory, bytes (0 when unknown).
    #[serde(default)]
    pub peak_rss: u64,
}

/// What a run in processing time would have computed in event time.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct EventTimeTruth {
    /// Every final result.
    pub results: Vec<ResultLine>,
    /// Input events in other windows by arrival than by event time
    /// ([`crate::domain_error::misplaced`]).
    pub misplaced: Option<u64>,
}

/// How an evaluation ended.
pub enum Evaluated {
    /// It finished.
    Truth(Truth),
    /// It took longer than the time left: the run fails.
    TimedOut,
    /// Its process failed (ran out of memory, say): the run fails, saying why.
    Failed(String),
}

/// Evaluates the run's job on the reference engine, in the engine's time domain, in the
/// process this is called from.
pub fn evaluate(run: &RunSpec) -> Result<Truth> {
    struct Evaluate(Time, TimeDomain);
    impl Visitor for Evaluate {
        type Out = Truth;
        fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Truth {
            let Evaluate(end, domain) = self;
            let out = flowmark_reference::run(&job, &log, Input { end, domain });
            let event_time = (domain == TimeDomain::Processing).then(|| {
                let out = flowmark_reference::run(&job, &log, Input { end, domain: TimeDomain::Event });
                EventTimeTruth {
                    results: out.sinks.into_values().flatten().map(|e| e.line).collect(),
                    misplaced: crate::domain_error::misplaced(&job, &log, end),
                }
            });
            Truth {
                late: out.late.iter().map(|l| l.events).sum(),
                results: out.sinks.into_values().flatten().collect(),
                events: (0..log.partitions()).map(|p| log.arrived_before(p, end)).sum(),
                event_time,
                peak_rss: 0,
            }
        }
    }
    run.workload
        .visit(&run.log, Evaluate(run.end(), run.engine.engine().domain()))
        .map_err(|e| anyhow::anyhow!("workload {}: {e}", run.workload.name()))
}

/// What the truth of a run depends on, named by a hash: the workload, the log, the end of the
/// input and the time domain. Repetitions of a configuration share it.
pub fn truth_name(run: &RunSpec) -> String {
    let inputs = serde_json::json!({
        "workload": run.workload,
        "log": run.log,
        "end": run.end(),
        "domain": format!("{:?}", run.engine.engine().domain()),
    });
    format!("{:016x}.json", flowmark_core::key_hash(&inputs.to_string()))
}

/// The run's truth from `cache` when a run with the same inputs was evaluated into it before
/// (a repetition, by the same binary: a result directory is one binary's); else evaluated in a
/// `flowmark reference` process working in `work`, for at most `limit` (killed after it, or at
/// Ctrl-C), and kept in `cache`.
pub fn truth(
    run: &RunSpec,
    cache: &Path,
    work: &Path,
    limit: Duration,
    cancel: &AtomicBool,
) -> Result<Result<Evaluated, Interrupted>> {
    std::fs::create_dir_all(cache).with_context(|| format!("creating {}", cache.display()))?;
    let out = cache.join(truth_name(run));
    if let Ok(bytes) = std::fs::read(&out)
        && let Ok(truth) = serde_json::from_slice(&bytes)
    {
        return Ok(Ok(Evaluated::Truth(truth)));
    }
    evaluate_in_process(run, work, &out, limit, cancel)
}

/// Evaluates the run in a `flowmark reference` process working in `dir`, writing its truth to
/// `out`, for at most `limit` (killed after it, or at Ctrl-C).
fn evaluate_in_process(
    run: &RunSpec,
    dir: &Path,
    out: &Path,
    limit: Duration,
    cancel: &AtomicBool,
) -> Result<Result<Evaluated, Interrupted>> {
    let spec = dir.join("reference-run.json");
    std::fs::write(&spec, serde_json::to_vec(run)?).with_context(|| format!("writing {}", spec.display()))?;
    let exe = std::env::current_exe().context("locating the flowmark binary")?;
    let stderr = dir.join("reference.stderr");
    let log = std::fs::File::create(&stderr).with_context(|| format!("creating {}", stderr.display()))?;
    let mut child = flowmark_core::lifeline::tie(&mut Command::new(exe))
        .arg("reference")
        .arg(&spec)
        .arg(out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .context("starting the reference process")?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the reference process")? {
            break status;
        }
        let stop = cancel.load(Ordering::Relaxed);
        if stop || Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(if stop { Err(Interrupted) } else { Ok(Evaluated::TimedOut) });
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    if !status.success() {
        let said = std::fs::read_to_string(&stderr).unwrap_or_default();
        let said = said.lines().rev().take(3).collect::<Vec<_>>().join(" | ");
        return Ok(Ok(Evaluated::Failed(format!(
            "the reference process failed ({status}){}",
            if said.is_empty() { String::new() } else { format!(": {said}") }
        ))));
    }
    let truth =
        serde_json::from_slice(&std::fs::read(out).with_context(|| format!("reading {}", out.display()))?)
            .with_context(|| format!("reading {}", out.display()))?;
    Ok(Ok(Evaluated::Truth(truth)))
}

/// `flowmark reference RUN OUT`: evaluates the run in `RUN` (JSON) and writes its truth to
/// `OUT`.
pub fn main(spec: &Path, out: &Path) -> Result<()> {
    let run: RunSpec =
        serde_json::from_slice(&std::fs::read(spec).with_context(|| format!("reading {}", spec.display()))?)
            .with_context(|| format!("reading {}", spec.display()))?;
    let mut truth = evaluate(&run)?;
    truth.peak_rss = crate::worker::peak_kib("self") * 1024;
    flowmark_core::durable::write_atomic(out, &serde_json::to_vec(&truth)?, None)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::microbatch::Microbatch;
    use crate::spec::{EngineSpec, Injection};
    use flowmark_core::time::SECOND;
    use flowmark_workloads::{Disorder, LogSpec, RateProfile, WorkloadSpec};

    fn run(repetition: u32, seed: u64, time_domain: TimeDomain, batch: Time) -> RunSpec {
        RunSpec {
            id: format!("r.{repetition}"),
            key: "r".into(),
            repetition,
            engine: EngineSpec::Microbatch(Microbatch {
                parallelism: 2,
                batch_interval: batch,
                time_domain,
                backpressure: false,
                snapshot_every: 10,
                speculation: false,
            }),
            workload: WorkloadSpec::catalog().remove(0),
            workload_name: "wordcount".into(),
            log: LogSpec {
                seed,
                partitions: 2,
                rate: RateProfile::constant(10.0),
                disorder: Disorder::uniform(0),
            },
            rate: 10.0,
            load: String::new(),
            pending: None,
            disorder: "none".into(),
            failure: Injection::default(),
            warmup: SECOND,
            measure: SECOND,
            timeout: 10 * SECOND,
        }
    }

    #[test]
    fn repetitions_and_engine_settings_share_a_truth_and_the_log_and_time_domain_do_not() {
        let base = truth_name(&run(0, 1, TimeDomain::Event, SECOND));
        assert_eq!(base, truth_name(&run(3, 1, TimeDomain::Event, SECOND)), "a repetition");
        assert_eq!(base, truth_name(&run(0, 1, TimeDomain::Event, 2 * SECOND)), "a setting of the engine");
        assert_ne!(base, truth_name(&run(0, 2, TimeDomain::Event, SECOND)), "another log");
        assert_ne!(base, truth_name(&run(0, 1, TimeDomain::Processing, SECOND)), "another time domain");
        let mut longer = run(0, 1, TimeDomain::Event, SECOND);
        longer.measure += 1;
        assert_ne!(base, truth_name(&longer), "another end of the input");
    }
}
