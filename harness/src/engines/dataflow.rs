//! flowmark's continuous dataflow engine (`flowmark_dataflow`, Flink-style).

use super::{Engine, EngineSpec, Registered, Table};
use crate::spec::WorkerSpec;
use crate::suite::fields::{Locate, SuiteError, spanned_durations, spanned_intervals, unplaced};
use crate::suite::scope::Scope;
use crate::worker;
use anyhow::{Context, Result};
use flowmark_core::output::Emission;
use flowmark_core::time::{SECOND, human};
use flowmark_core::{Job, Log, Time, TimeDomain};
use flowmark_dataflow::{CheckpointMode, Delivery};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Its entry in the registry.
pub const REGISTERED: Registered = Registered {
    name: "dataflow",
    about: "continuous record-at-a-time dataflow (Flink-style)",
    searched: Some(|s| {
        EngineSpec::Dataflow(Dataflow {
            parallelism: s.parallelism,
            checkpoint_interval: Some(s.checkpoint),
            buffer_timeout: flowmark_dataflow::DEFAULT_BUFFER_TIMEOUT,
            delivery: Delivery::default(),
            time_domain: TimeDomain::Event,
            checkpoint_mode: CheckpointMode::Aligned,
        })
    }),
    default: || DataflowTable::default().configurations().remove(0),
};

/// The dataflow engine's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Dataflow {
    /// Tasks per operator.
    pub parallelism: usize,
    /// Time between checkpoints; `None`: none (but the last, at the end of the input).
    #[serde(with = "flowmark_core::time::interval_or_off")]
    pub checkpoint_interval: Option<Time>,
    /// Longest a partly filled buffer waits before it is sent.
    #[serde(with = "flowmark_core::time::duration")]
    pub buffer_timeout: Time,
    /// Delivery guarantee of the sink.
    pub delivery: Delivery,
    /// Event-time or processing-time windows.
    #[serde(default)]
    pub time_domain: TimeDomain,
    /// Aligned or unaligned checkpoints.
    #[serde(default)]
    pub checkpoint_mode: CheckpointMode,
}

impl Dataflow {
    fn config(&self, spec: &WorkerSpec) -> flowmark_dataflow::Config {
        let mut c = flowmark_dataflow::Config::new(&spec.dir, spec.origin, spec.run.end());
        c.parallelism = self.parallelism;
        c.checkpoint_interval = self.checkpoint_interval;
        c.buffer_timeout = self.buffer_timeout;
        c.delivery = self.delivery;
        c.domain = self.time_domain;
        c.checkpoint_mode = self.checkpoint_mode;
        c.faults.task_failure = spec.run.failure.task_failure;
        c.faults.straggler = spec.run.failure.straggler;
        c.faults.cpu_tax = spec.run.failure.cpu_tax;
        c.faults.slow_checkpoint_write = spec.run.failure.crash_during.slow_write();
        c
    }
}

impl Engine for Dataflow {
    fn name(&self) -> &'static str {
        REGISTERED.name
    }

    fn labels(&self) -> BTreeMap<String, String> {
        let delivery = match self.delivery {
            Delivery::ExactlyOnce => "exactly-once",
            Delivery::AtLeastOnce => "at-least-once",
        };
        let mut labels = BTreeMap::from([
            ("parallelism".into(), self.parallelism.to_string()),
            ("checkpoint".into(), self.checkpoint_interval.map_or("off".into(), human)),
            ("buffer_timeout".into(), human(self.buffer_timeout)),
            ("delivery".into(), delivery.into()),
        ]);
        // event time is the engine's own domain: only the other one is named, so that the
        // keys of runs made before the setting existed stay as they were
        if self.time_domain == TimeDomain::Processing {
            labels.insert("time".into(), "processing".into());
        }
        if self.checkpoint_mode == CheckpointMode::Unaligned {
            labels.insert("checkpoints".into(), "unaligned".into());
        }
        labels
    }

    fn domain(&self) -> TimeDomain {
        self.time_domain
    }

    fn committed(&self, dir: &Path) -> Result<Vec<Emission>> {
        let output = flowmark_dataflow::Config::new(dir, 0, 0).output_dir;
        if !output.exists() {
            return Ok(Vec::new());
        }
        Ok(flowmark_dataflow::output::read_committed(&output)?)
    }

    fn run<J: Job, L: Log<Event = J::Event>>(&self, job: &J, log: &L, spec: &WorkerSpec) -> Result<()> {
        let config = self.config(spec);
        worker::sampled(spec, false, |metrics| {
            flowmark_dataflow::run(job, log, &config, metrics).context("dataflow engine")?;
            Ok(())
        })
    }
}

/// `[dataflow]` in a suite file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataflowTable {
    /// Parallelism.
    pub parallelism: Spanned<Vec<usize>>,
    /// Checkpoint intervals (`"off"`: none).
    #[serde(with = "spanned_intervals")]
    pub checkpoint_interval: Spanned<Vec<Option<Time>>>,
    /// Buffer timeouts.
    #[serde(with = "spanned_durations")]
    pub buffer_timeout: Spanned<Vec<Time>>,
    /// Delivery guarantees.
    pub delivery: Vec<Delivery>,
    /// Time domains.
    pub time_domain: Vec<TimeDomain>,
    /// Checkpoint modes.
    pub checkpoint_mode: Vec<CheckpointMode>,
    /// Where its configurations run (everywhere when left out).
    pub only: Option<Spanned<Scope>>,
}

impl Default for DataflowTable {
    fn default() -> Self {
        DataflowTable {
            parallelism: unplaced(vec![2]),
            checkpoint_interval: unplaced(vec![Some(SECOND)]),
            buffer_timeout: unplaced(vec![flowmark_dataflow::DEFAULT_BUFFER_TIMEOUT]),
            delivery: vec![Delivery::ExactlyOnce],
            time_domain: vec![TimeDomain::Event],
            checkpoint_mode: vec![CheckpointMode::Aligned],
            only: None,
        }
    }
}

impl Table for DataflowTable {
    fn only(&self) -> Option<&Spanned<Scope>> {
        self.only.as_ref()
    }

    fn check(&self, at: &Locate) -> Result<(), SuiteError> {
        at.at_least_one("parallelism", &self.parallelism)?;
        let intervals = self.checkpoint_interval.get_ref();
        if intervals.is_empty() || intervals.iter().flatten().any(|t| *t <= 0) {
            return Err(at.at(
                self.checkpoint_interval.span(),
                "`checkpoint_interval` must list positive intervals or \"off\"",
            ));
        }
        if let Some(t) = self.buffer_timeout.get_ref().iter().find(|t| **t < 0) {
            return Err(at.at(
                self.buffer_timeout.span(),
                format!("`buffer_timeout` must be zero or more, got {}", human(*t)),
            ));
        }
        Ok(())
    }

    fn configurations(&self) -> Vec<EngineSpec> {
        let mut out = Vec::new();
        for &parallelism in self.parallelism.get_ref() {
            for &checkpoint_interval in self.checkpoint_interval.get_ref() {
                for &buffer_timeout in self.buffer_timeout.get_ref() {
                    for &delivery in &self.delivery {
                        for &time_domain in &self.time_domain {
                            for &checkpoint_mode in &self.checkpoint_mode {
                                out.push(EngineSpec::Dataflow(Dataflow {
                                    parallelism,
                                    checkpoint_interval,
                                    buffer_timeout,
                                    delivery,
                                    time_domain,
                                    checkpoint_mode,
                                }));
                            }
                        }
                    }
                }
            }
        }
        out
    }
}
