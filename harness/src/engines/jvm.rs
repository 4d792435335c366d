//! What real Apache Flink and Apache Spark share: which workloads have JVM jobs, what cannot
//! be injected into them, and the engine process's side of a run (`flowmark_external` does
//! the work).

use crate::limits::Feed;
use crate::serve_log::LogServers;
pub use crate::serve_log::MAX_LOG_SERVERS;
use crate::spec::{Injection, WorkerSpec};
use crate::suite::fields::{Locate, SuiteError};
use crate::worker;
use anyhow::{Context, Result};
use flowmark_core::Log;
use flowmark_core::output::Emission;
use flowmark_external::Kind;
use flowmark_workloads::{Query, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::path::Path;
use toml::Spanned;

/// Where a real engine's job reads its log from: the engine process's own server (neither
/// set), `log_servers` servers of their own it starts on this machine, or the servers standing
/// by at `log_servers_at` (`flowmark serve-log --standby`, on other machines).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogServing {
    /// Log servers of their own, started by the engine process; 0: none.
    #[serde(default)]
    pub log_servers: u32,
    /// Addresses (`host:port`) of log servers standing by elsewhere.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub log_servers_at: Vec<String>,
}

impl LogServing {
    /// As a table sets them (checked by [`log_serving`]).
    pub fn of(n: &Spanned<u32>, elsewhere: &Option<Spanned<Vec<String>>>) -> Self {
        LogServing {
            log_servers: *n.get_ref(),
            log_servers_at: elsewhere.as_ref().map(|l| l.get_ref().clone()).unwrap_or_default(),
        }
    }

    /// The harness's feed: what it can measure of the servers' capacity on this machine.
    pub fn feed(&self) -> Feed {
        if self.log_servers_at.is_empty() {
            Feed::Served { servers: self.log_servers }
        } else {
            Feed::Elsewhere
        }
    }

    /// The label naming them, if the job has servers of its own: their number (`-standing-by`
    /// when elsewhere).
    pub fn label(&self) -> Option<String> {
        match (self.log_servers, self.log_servers_at.len()) {
            (_, n @ 1..) => Some(format!("{n}-standing-by")),
            (0, _) => None,
            (n, _) => Some(n.to_string()),
        }
    }
}

/// The log servers a table names, checked: at most [`MAX_LOG_SERVERS`], a `host:port` each, and
/// either servers started here or servers standing by, not both.
pub fn log_serving(
    at: &Locate,
    engine: &str,
    n: &Spanned<u32>,
    elsewhere: &Option<Spanned<Vec<String>>>,
) -> Result<LogServing, SuiteError> {
    at.at_most(&format!("{engine}.log_servers"), n, MAX_LOG_SERVERS)?;
    let Some(list) = elsewhere else { return Ok(LogServing::of(n, elsewhere)) };
    let name = format!("{engine}.log_servers_at");
    if *n.get_ref() > 0 {
        return Err(at.at(
            list.span(),
            format!("`{engine}.log_servers` and `{name}` both name log servers: give one of them"),
        ));
    }
    if list.get_ref().is_empty() || list.get_ref().len() > MAX_LOG_SERVERS as usize {
        return Err(at.at(list.span(), format!("`{name}` lists from 1 to {MAX_LOG_SERVERS} addresses")));
    }
    for a in list.get_ref() {
        let port = a.rsplit_once(':').map(|(host, port)| (host.trim(), port.parse::<u16>()));
        if !matches!(port, Some((host, Ok(p))) if !host.is_empty() && p > 0) {
            return Err(at.at(list.span(), format!("`{name}`: `{a}` is not host:port")));
        }
    }
    Ok(LogServing::of(n, elsewhere))
}

/// The NEXMark queries the real engines have JVM jobs for (q4 is not yet written).
const NEXMARK_JOBS: [Query; 7] =
    [Query::Q0, Query::Q1, Query::Q2, Query::Q3, Query::Q5, Query::Q7, Query::Q8];

/// The JVM job of a workload on engine `kind` and its parameters (nanoseconds), or why there
/// is none.
pub fn job_args(kind: Kind, workload: &WorkloadSpec) -> Result<Vec<(String, String)>, String> {
    let p = |k: &str, v: i64| (k.to_string(), v.to_string());
    match workload {
        WorkloadSpec::Wordcount(w) => Ok(vec![
            ("job".into(), "wordcount".into()),
            p("window", w.window),
            p("slide", w.slide.unwrap_or(0)),
            p("bound", w.bound),
            p("lateness", w.lateness),
        ]),
        WorkloadSpec::Ysb(y) => Ok(vec![
            ("job".into(), "ysb".into()),
            p("window", y.window),
            p("bound", y.bound),
            p("lateness", y.lateness),
        ]),
        WorkloadSpec::Sessions(s) => Ok(vec![
            ("job".into(), "sessions".into()),
            p("gap", s.gap),
            p("bound", s.bound),
            p("lateness", 0),
        ]),
        WorkloadSpec::Nexmark(n) if NEXMARK_JOBS.contains(&n.query) => {
            Ok(vec![("job".into(), workload.name()), p("bound", n.bound), p("lateness", n.lateness)])
        }
        _ => {
            let queries: Vec<String> = NEXMARK_JOBS.iter().map(|q| format!("{q:?}").to_lowercase()).collect();
            Err(format!(
                "no {} job for {} yet: it runs wordcount (tumbling and sliding), ysb, sessions and nexmark {}",
                kind.name(),
                workload.name(),
                queries.join(", ")
            ))
        }
    }
}

/// Why a real engine cannot run `workload` under `failure`; `remote` when the job runs on a
/// cluster the harness did not start.
pub fn refuses(kind: Kind, workload: &WorkloadSpec, failure: &Injection, remote: bool) -> Option<String> {
    if let Err(e) = job_args(kind, workload) {
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
    if !remote && failure.kill_worker.is_some() {
        let setting = match kind {
            Kind::Flink => "flink.cluster",
            Kind::Spark => "spark.master",
        };
        return Some(format!(
            "kill_worker kills a worker of a cluster: set `{setting}` to one scripts/local-cluster started"
        ));
    }
    None
}

/// Compiles the engine's job once: fails early, with the fix, when it is not installed.
pub fn prepare(kind: Kind) -> Result<()> {
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
    servers: &LogServing,
) -> Result<()> {
    let run = &spec.run;
    let mut job = job_args(engine.kind(), &run.workload).map_err(anyhow::Error::msg)?;
    if let WorkloadSpec::Ysb(y) = &run.workload {
        // YSB's static table of ads to campaigns (Redis in the original), made from the seed
        let (ysb, _) = flowmark_workloads::jobs::ysb::Ysb::new(y, run.log.seed)?;
        let table: Vec<String> = ysb.parts().1.iter().map(u32::to_string).collect();
        job.push(("campaigns".into(), table.join(",")));
    }
    // log servers of their own, when asked for: children of this process, ended with it, or
    // standing by elsewhere, serving the run while this process holds their connections
    let servers = if !servers.log_servers_at.is_empty() {
        Some(LogServers::assign(run, spec.origin, log, &spec.dir, &servers.log_servers_at)?)
    } else if servers.log_servers > 0 {
        Some(LogServers::start(run, spec.origin, &spec.dir, servers.log_servers, advertise, engine.remote())?)
    } else {
        None
    };
    let config = flowmark_external::Config {
        job,
        engine,
        parallelism,
        dir: spec.dir.clone(),
        origin: spec.origin,
        end: run.end(),
        advertise: advertise.to_string(),
        install: flowmark_external::Install::locate(),
        log_servers: servers.as_ref().map(|s| s.addresses.clone()).unwrap_or_default(),
    };
    let name = run.engine.name();
    // a JVM takes seconds to start: its process reports once it reads, so that until then
    // the harness counts the backlog as growing (as for a process it killed) instead of
    // taking the silence for an empty backlog
    worker::sampled(spec, true, |metrics| {
        flowmark_external::run(log, &config, metrics).with_context(|| format!("{name} job"))
    })
}
