//! flowmark's micro-batch engine (`flowmark_microbatch`, Spark Streaming-style discretized
//! streams).

use super::{Engine, EngineSpec, Registered, Table};
use crate::spec::WorkerSpec;
use crate::suite::fields::{Locate, SuiteError, spanned_durations, unplaced};
use crate::suite::scope::Scope;
use crate::worker;
use anyhow::{Context, Result};
use flowmark_core::output::Emission;
use flowmark_core::time::{SECOND, human};
use flowmark_core::{Job, Log, Time, TimeDomain};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Its entry in the registry.
pub const REGISTERED: Registered = Registered {
    name: "microbatch",
    about: "discretized streams (Spark-style)",
    searched: Some(|s| {
        EngineSpec::Microbatch(Microbatch {
            parallelism: s.parallelism,
            batch_interval: s.batch,
            time_domain: TimeDomain::Event,
            backpressure: false,
            snapshot_every: SNAPSHOT_EVERY,
            speculation: false,
        })
    }),
    default: || MicrobatchTable::default().configurations().remove(0),
};

/// The micro-batch engine's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Microbatch {
    /// Tasks per stage.
    pub parallelism: usize,
    /// The batch interval.
    #[serde(with = "flowmark_core::time::duration")]
    pub batch_interval: Time,
    /// Event-time or processing-time windows.
    pub time_domain: TimeDomain,
    /// Spark's PID back-pressure.
    pub backpressure: bool,
    /// A full snapshot of the state every this many batches (what changed in between).
    #[serde(default = "snapshot_every")]
    pub snapshot_every: u64,
    /// Speculative copies of straggling tasks (Spark's `spark.speculation`, at its default
    /// multiplier: a task running 1.5 times its stage's median).
    #[serde(default)]
    pub speculation: bool,
}

/// Spark's `spark.speculation.multiplier` default.
const SPECULATION_MULTIPLIER: f64 = 1.5;

/// The engine's default: a full snapshot every ten batches.
const SNAPSHOT_EVERY: u64 = 10;

fn snapshot_every() -> u64 {
    SNAPSHOT_EVERY
}

impl Microbatch {
    fn config(&self, spec: &WorkerSpec) -> flowmark_microbatch::Config {
        let mut c = flowmark_microbatch::Config::new(&spec.dir, spec.origin, spec.run.end());
        c.parallelism = self.parallelism;
        c.interval = self.batch_interval;
        c.domain = self.time_domain;
        c.backpressure = self.backpressure;
        c.snapshot_every = self.snapshot_every;
        c.speculation = self.speculation.then_some(SPECULATION_MULTIPLIER);
        c.faults.task_failure = spec.run.failure.task_failure;
        c.faults.straggler = spec.run.failure.straggler;
        c.faults.cpu_tax = spec.run.failure.cpu_tax;
        c.faults.slow_write = spec.run.failure.crash_during.slow_write();
        c
    }
}

impl Engine for Microbatch {
    fn name(&self) -> &'static str {
        REGISTERED.name
    }

    fn labels(&self) -> BTreeMap<String, String> {
        let time = match self.time_domain {
            TimeDomain::Event => "event",
            TimeDomain::Processing => "processing",
        };
        let mut labels = BTreeMap::from([
            ("parallelism".into(), self.parallelism.to_string()),
            ("batch".into(), human(self.batch_interval)),
            ("time".into(), time.into()),
            ("backpressure".into(), self.backpressure.to_string()),
        ]);
        // named only when not the default, so that the keys of runs made before the setting
        // existed stay as they were
        if self.snapshot_every != SNAPSHOT_EVERY {
            labels.insert("snapshot_every".into(), self.snapshot_every.to_string());
        }
        if self.speculation {
            labels.insert("speculation".into(), "true".into());
        }
        labels
    }

    fn domain(&self) -> TimeDomain {
        self.time_domain
    }

    fn batch_interval(&self) -> Time {
        self.batch_interval
    }

    fn commit_starts_batch(&self) -> bool {
        true
    }

    fn committed(&self, dir: &Path) -> Result<Vec<Emission>> {
        let c = flowmark_microbatch::Config::new(dir, 0, 0);
        if !c.output_dir.exists() {
            return Ok(Vec::new());
        }
        Ok(flowmark_microbatch::logs::read_committed(&c.checkpoint_dir, &c.output_dir)?)
    }

    fn run<J: Job, L: Log<Event = J::Event>>(&self, job: &J, log: &L, spec: &WorkerSpec) -> Result<()> {
        let config = self.config(spec);
        worker::sampled(spec, false, |metrics| {
            flowmark_microbatch::run(job, log, &config, metrics).context("micro-batch engine")?;
            Ok(())
        })
    }
}

/// `[microbatch]` in a suite file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MicrobatchTable {
    /// Parallelism.
    pub parallelism: Spanned<Vec<usize>>,
    /// Batch intervals.
    #[serde(with = "spanned_durations")]
    pub batch_interval: Spanned<Vec<Time>>,
    /// Time domains.
    pub time_domain: Vec<TimeDomain>,
    /// Back-pressure on or off.
    pub backpressure: Vec<bool>,
    /// Batches between full state snapshots.
    pub snapshot_every: Spanned<Vec<u64>>,
    /// Speculation on or off.
    pub speculation: Vec<bool>,
    /// Where its configurations run (everywhere when left out).
    pub only: Option<Spanned<Scope>>,
}

impl Default for MicrobatchTable {
    fn default() -> Self {
        MicrobatchTable {
            parallelism: unplaced(vec![2]),
            batch_interval: unplaced(vec![SECOND]),
            time_domain: vec![TimeDomain::Event],
            backpressure: vec![false],
            snapshot_every: unplaced(vec![SNAPSHOT_EVERY]),
            speculation: vec![false],
            only: None,
        }
    }
}

impl Table for MicrobatchTable {
    fn only(&self) -> Option<&Spanned<Scope>> {
        self.only.as_ref()
    }

    fn check(&self, at: &Locate) -> Result<(), SuiteError> {
        at.at_least_one("parallelism", &self.parallelism)?;
        let every = self.snapshot_every.get_ref();
        if every.is_empty() || every.contains(&0) {
            return Err(at.at(self.snapshot_every.span(), "`snapshot_every` must list values of at least 1"));
        }
        at.positive("batch_interval", &self.batch_interval)
    }

    fn configurations(&self) -> Vec<EngineSpec> {
        let mut out = Vec::new();
        for &parallelism in self.parallelism.get_ref() {
            for &batch_interval in self.batch_interval.get_ref() {
                for &time_domain in &self.time_domain {
                    for &backpressure in &self.backpressure {
                        for &snapshot_every in self.snapshot_every.get_ref() {
                            for &speculation in &self.speculation {
                                out.push(EngineSpec::Microbatch(Microbatch {
                                    parallelism,
                                    batch_interval,
                                    time_domain,
                                    backpressure,
                                    snapshot_every,
                                    speculation,
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
