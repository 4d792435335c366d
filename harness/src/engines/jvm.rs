//! What real Apache Flink and Apache Spark share: which workloads have JVM jobs, what cannot
//! be injected into them, and the engine process's side of a run (`flowmark_external` does
//! the work).

use crate::spec::{Injection, WorkerSpec};
use crate::worker;
use anyhow::{Context, Result};
use flowmark_core::Log;
use flowmark_core::output::Emission;
use flowmark_workloads::{Query, WorkloadSpec};
use std::path::Path;

/// The JVM job of a workload and its parameters (nanoseconds), or why there is none.
pub fn job_args(workload: &WorkloadSpec) -> Result<Vec<(String, String)>, String> {
    let p = |k: &str, v: i64| (k.to_string(), v.to_string());
    match workload {
        WorkloadSpec::Wordcount(w) => Ok(vec![
            ("job".into(), "wordcount".into()),
            p("window", w.window),
            p("slide", w.slide.unwrap_or(0)),
            p("bound", w.bound),
            p("lateness", w.lateness),
        ]),
        WorkloadSpec::Nexmark(n) if matches!(n.query, Query::Q5 | Query::Q7) => {
            Ok(vec![("job".into(), workload.name()), p("bound", n.bound), p("lateness", n.lateness)])
        }
        _ => Err("the real engines have jobs for wordcount, nexmark q5 and nexmark q7 only".into()),
    }
}

/// Why a real engine cannot run `workload` under `failure`; `remote` when the job runs on a
/// cluster the harness did not start.
pub fn refuses(workload: &WorkloadSpec, failure: &Injection, remote: bool) -> Option<String> {
    if let Err(e) = job_args(workload) {
        return Some(e);
    }
    if failure.task_failure.is_some() || failure.straggler.is_some() || failure.cpu_tax.is_some() {
        return Some(
            "task failures, stragglers and CPU taxes are injected inside flowmark's own engines only".into(),
        );
    }
    if remote && !failure.crashes.is_empty() {
        return Some("a crash kills the harness's own processes, not a job on a cluster".into());
    }
    None
}

/// Compiles the engine's job once: fails early, with the fix, when it is not installed.
pub fn prepare(kind: flowmark_external::Kind) -> Result<()> {
    let install = flowmark_external::Install::locate();
    install.job_jar(kind).with_context(|| format!("preparing {}", kind.name()))?;
    Ok(())
}

/// The results the job committed (its journal) under the run directory `dir`.
pub fn committed(dir: &Path) -> Result<Vec<Emission>> {
    Ok(flowmark_external::journal::read(&flowmark_external::journal_path(dir))?.emissions)
}

/// Runs the spec's job on a real engine over `log`.
pub fn run<L: Log>(
    log: &L,
    spec: &WorkerSpec,
    engine: flowmark_external::Engine,
    parallelism: usize,
    advertise: &str,
) -> Result<()> {
    let run = &spec.run;
    let config = flowmark_external::Config {
        engine,
        job: job_args(&run.workload).map_err(anyhow::Error::msg)?,
        parallelism,
        dir: spec.dir.clone(),
        origin: spec.origin,
        end: run.end(),
        advertise: advertise.to_string(),
        install: flowmark_external::Install::locate(),
    };
    let name = run.engine.name();
    // a JVM takes seconds to start: its process reports once it reads, so that until then
    // the harness counts the backlog as growing (as for a process it killed) instead of
    // taking the silence for an empty backlog
    worker::sampled(spec, true, |metrics| {
        flowmark_external::run(log, &config, metrics).with_context(|| format!("{name} job"))
    })
}
