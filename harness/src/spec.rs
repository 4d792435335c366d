//! One run, fully specified: what the harness hands an engine process, and what names its
//! results.

pub use crate::engines::EngineSpec;
use crate::suite::rates::Offered;
use flowmark_core::time::{SECOND, Time};
use flowmark_core::{CpuTax, Straggler, TaskFault};
use flowmark_workloads::{LogSpec, RateProfile, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A failure scenario, resolved to instants of one run's log time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Injection {
    /// The scenario's name.
    pub name: String,
    /// SIGKILL the engine process at these log times.
    pub crashes: Vec<Time>,
    /// How long after a crash the harness restarts the engine.
    pub restart_delay: Time,
    /// A task fails inside the engine.
    pub task_failure: Option<TaskFault>,
    /// A task runs slowly.
    pub straggler: Option<Straggler>,
    /// Extra CPU work in every task (a known slowdown, for validating performance gates).
    #[serde(default)]
    pub cpu_tax: Option<CpuTax>,
}

impl Injection {
    /// Whether nothing is injected.
    pub fn is_none(&self) -> bool {
        self.crashes.is_empty()
            && self.task_failure.is_none()
            && self.straggler.is_none()
            && self.cpu_tax.is_none()
    }
}

/// How to search a sustainable rate (see `throughput`); each probe has the warm-up and
/// measured period of the search's base run.
#[derive(Clone, Debug)]
pub struct SearchPlan {
    /// The first rate tried.
    pub start: f64,
    /// Probes in all.
    pub steps: u32,
    /// Fractions of the rate found at which latency is measured.
    pub fractions: Vec<f64>,
}

/// One run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunSpec {
    /// Unique in its suite: the key and the repetition.
    pub id: String,
    /// The configuration without the repetition.
    pub key: String,
    /// Repetition (0-based).
    pub repetition: u32,
    /// The engine.
    pub engine: EngineSpec,
    /// The workload.
    pub workload: WorkloadSpec,
    /// The name its results go by (the suite's for the workload, by default the workload's own).
    pub workload_name: String,
    /// The log.
    pub log: LogSpec,
    /// The log's input rate, events per second: its highest, when it changes.
    pub rate: f64,
    /// The load as the suite names it: the rate, `0.5x`, a profile's name.
    #[serde(default)]
    pub load: String,
    /// A load given as a multiple of the sustainable rate: the run's log is set from the
    /// search's result (by [`RunSpec::offer`]) before it runs.
    #[serde(skip)]
    pub pending: Option<Offered>,
    /// The disorder level's name.
    pub disorder: String,
    /// The failure scenario.
    pub failure: Injection,
    /// Before measurement.
    pub warmup: Time,
    /// The measured period; the input ends at `warmup + measure`.
    pub measure: Time,
    /// A run that takes longer than this (wall time) is killed and marked failed.
    pub timeout: Time,
}

impl RunSpec {
    /// The base run of a sustainable-throughput search: `engine` on `workload` with no
    /// failure; its rate is set per probe.
    pub fn search(
        engine: EngineSpec,
        workload: WorkloadSpec,
        workload_name: &str,
        log: LogSpec,
        disorder: &str,
        warmup: Time,
        measure: Time,
    ) -> RunSpec {
        let key = search_key(workload_name, &engine);
        RunSpec {
            id: key.clone(),
            key,
            repetition: 0,
            engine,
            workload,
            workload_name: workload_name.into(),
            rate: 0.0,
            load: String::new(),
            pending: None,
            log,
            disorder: disorder.into(),
            failure: Injection { name: "none".into(), ..Default::default() },
            warmup,
            measure,
            // an engine that cannot keep up takes as long again to drain its backlog
            timeout: 3 * (warmup + measure) + 30 * SECOND,
        }
    }

    /// The end of the input, in log time.
    pub fn end(&self) -> Time {
        self.warmup + self.measure
    }

    /// The key of the search that finds this run's sustainable rate.
    pub fn search_key(&self) -> String {
        search_key(&self.workload_name, &self.engine)
    }

    /// Offers `profile`: the run's log takes it, its rate is its highest, and its timeout
    /// grows by the time the reference may take over its events (see [`REFERENCE_FLOOR`]).
    pub fn offer(&mut self, profile: RateProfile) {
        let events = profile.schedule().map_or(0, |s| s.due_before(self.end()));
        self.timeout += (events as f64 / REFERENCE_FLOOR * SECOND as f64) as Time;
        self.rate = profile.peak();
        if let RateProfile::Constant { rate } = profile
            && self.load.is_empty()
        {
            self.load = format!("{rate}");
        }
        self.log.rate = profile;
        self.pending = None;
    }
}

/// The reference evaluates at least this many events per second (about 2 M on one core of
/// the machine the docs were measured on): a run whose rate is set late (a probe, a load
/// relative to the sustainable rate) gets this long more for it.
pub const REFERENCE_FLOOR: f64 = 1e6;

/// The key of the search of `engine`'s sustainable rate on the workload named `workload_name`.
pub fn search_key(workload_name: &str, engine: &EngineSpec) -> String {
    flowmark_reports::slug(&format!("{workload_name}.{}", engine.key()))
}

/// What an engine process is told: the run, the shared origin and where to keep its files.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WorkerSpec {
    /// The run.
    pub run: RunSpec,
    /// CLOCK_MONOTONIC nanoseconds of log time 0.
    pub origin: Time,
    /// The engine's checkpoint and output directory (kept across restarts).
    pub dir: PathBuf,
    /// How often to report a sample.
    pub sample_every: Time,
}
