//! Runs on real Apache Flink and Apache Spark: which workloads have JVM jobs, and the engine
//! process's side of such a run (`flowmark_external` does the work).

use crate::spec::{EngineSpec, WorkerSpec};
use anyhow::{Context, Result};
use flowmark_core::{Log, Metrics};
use flowmark_workloads::{Query, WorkloadSpec};
use std::sync::Arc;

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

/// Where the installed engines are, with the jobs compiled: fails early, with the fix, when
/// they are not installed.
pub fn prepare(engine: &EngineSpec) -> Result<()> {
    let install = flowmark_external::Install::locate();
    let kind = match engine {
        EngineSpec::Flink { .. } => flowmark_external::Kind::Flink,
        EngineSpec::Spark { .. } => flowmark_external::Kind::Spark,
        _ => return Ok(()),
    };
    install.job_jar(kind).with_context(|| format!("preparing {}", kind.name()))?;
    Ok(())
}

/// Runs the spec's job on its real engine over `log`.
pub fn run<L: Log>(log: &L, spec: &WorkerSpec, metrics: Arc<Metrics>) -> Result<()> {
    let run = &spec.run;
    let (engine, parallelism, advertise) = match &run.engine {
        EngineSpec::Flink { parallelism, checkpoint_interval, watermark_interval, cluster, advertise } => (
            flowmark_external::Engine::Flink {
                checkpoint_interval: *checkpoint_interval,
                watermark_interval: *watermark_interval,
                cluster: cluster.clone(),
            },
            *parallelism,
            advertise.clone(),
        ),
        EngineSpec::Spark { parallelism, trigger, master, advertise } => (
            flowmark_external::Engine::Spark { trigger: *trigger, master: master.clone() },
            *parallelism,
            advertise.clone(),
        ),
        other => anyhow::bail!("{} is not a real engine", other.name()),
    };
    let config = flowmark_external::Config {
        engine,
        job: job_args(&run.workload).map_err(anyhow::Error::msg)?,
        parallelism,
        dir: spec.dir.clone(),
        origin: spec.origin,
        end: run.end(),
        advertise,
        install: flowmark_external::Install::locate(),
    };
    flowmark_external::run(log, &config, metrics).with_context(|| format!("{} job", run.engine.name()))
}
