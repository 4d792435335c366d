//! The COST baseline (McSherry, Isard and Murray, "Scalability! But at what COST?", HotOS
//! 2015): each workload as one hand-written single-threaded loop, run flat out over the
//! whole log. It has a rate but no latencies, and no failure is injected into it.

use super::{Engine, EngineSpec, Registered, Table};
use crate::spec::{Injection, WorkerSpec};
use crate::suite::fields::{Locate, SuiteError};
use crate::worker;
use anyhow::{Context, Result, anyhow};
use flowmark_core::output::Emission;
use flowmark_core::protocol::Report;
use flowmark_core::{Job, Log, LogClock, Metrics, Time};
use flowmark_workloads::WorkloadSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

/// Its entry in the registry.
pub const REGISTERED: Registered = Registered {
    name: "baseline",
    about: "each workload as one hand-written single-threaded loop (COST)",
    searched: None,
    default: || EngineSpec::Baseline(Baseline {}),
};

/// The file the baseline writes its results to, under the run's directory.
const OUTPUT: &str = "baseline.tsv";

/// The baseline has no settings.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {}

impl Engine for Baseline {
    fn name(&self) -> &'static str {
        REGISTERED.name
    }

    fn labels(&self) -> BTreeMap<String, String> {
        BTreeMap::new()
    }

    fn is_baseline(&self) -> bool {
        true
    }

    fn skips(&self, workload: &WorkloadSpec, failure: &Injection) -> bool {
        !failure.is_none() || !workload.has_baseline()
    }

    fn committed(&self, dir: &Path) -> Result<Vec<Emission>> {
        let path = dir.join(OUTPUT);
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        text.lines()
            .map(|l| {
                let (emitted, line) = flowmark_core::output::parse_line(l)
                    .with_context(|| format!("{}: `{l}` is not a result line", path.display()))?;
                Ok(Emission { sink: String::new(), emitted, line, commit: None })
            })
            .collect()
    }

    /// Runs the job's loop over the whole log and writes its results; the time it reports
    /// busy is the median of repeated passes.
    fn run<J: Job, L: Log<Event = J::Event>>(&self, job: &J, log: &L, spec: &WorkerSpec) -> Result<()> {
        let (end, clock) = (spec.run.end(), LogClock::new(spec.origin));
        let started = Instant::now();
        let out = job
            .baseline(log, end)
            .ok_or_else(|| anyhow!("the job `{}` has no hand-written baseline", job.name()))?;
        // one pass of a short log is mostly start-up: repeat it until a second has passed (at
        // most twenty passes) and take the median pass
        let mut passes = vec![started.elapsed()];
        while started.elapsed() < Duration::from_secs(1) && passes.len() < 20 {
            let t = Instant::now();
            std::hint::black_box(job.baseline(log, end));
            passes.push(t.elapsed());
        }
        passes.sort_unstable();
        let busy = passes[passes.len() / 2].as_nanos() as Time;
        let mut text = String::new();
        for line in &out.results {
            flowmark_core::output::write_result_line(busy, line, &mut text);
        }
        std::fs::create_dir_all(&spec.dir).with_context(|| format!("creating {}", spec.dir.display()))?;
        flowmark_core::durable::write_atomic(&spec.dir.join(OUTPUT), text.as_bytes(), None)?;
        let mut s = worker::sample(&Metrics::default(), clock.now());
        s.events_in = out.events;
        s.results_out = out.results.len() as u64;
        worker::send(&Report::Sample(s));
        worker::send(&Report::Finished { at: clock.now(), events: out.events, busy });
        Ok(())
    }
}

/// `[baseline]` in a suite file: it has no settings.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BaselineTable {}

impl Table for BaselineTable {
    fn check(&self, _: &Locate) -> Result<(), SuiteError> {
        Ok(())
    }

    fn configurations(&self) -> Vec<EngineSpec> {
        vec![EngineSpec::Baseline(Baseline {})]
    }
}
