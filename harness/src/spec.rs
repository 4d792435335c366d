//! One run, fully specified: what the harness hands an engine process, and what names its
//! results.

use flowmark_core::time::{Time, human};
use flowmark_core::{Straggler, TaskFault, TimeDomain};
use flowmark_workloads::{LogSpec, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// An engine and its settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "engine", rename_all = "kebab-case")]
pub enum EngineSpec {
    /// The continuous dataflow engine.
    Dataflow {
        /// Tasks per operator.
        parallelism: usize,
        /// Time between checkpoints.
        #[serde(with = "flowmark_core::time::duration")]
        checkpoint_interval: Time,
        /// Longest a partly filled buffer waits before it is sent.
        #[serde(with = "flowmark_core::time::duration")]
        buffer_timeout: Time,
        /// Delivery guarantee of the sink.
        delivery: flowmark_dataflow::Delivery,
    },
    /// The micro-batch engine.
    Microbatch {
        /// Tasks per stage.
        parallelism: usize,
        /// The batch interval.
        #[serde(with = "flowmark_core::time::duration")]
        batch_interval: Time,
        /// Event-time or processing-time windows.
        time_domain: TimeDomain,
        /// Spark's PID back-pressure.
        backpressure: bool,
    },
    /// The single-threaded hand-written loop.
    Baseline,
    /// Real Apache Flink (`flowmark_external`).
    Flink {
        /// Parallelism of the job.
        parallelism: usize,
        /// Time between checkpoints.
        #[serde(with = "flowmark_core::time::duration")]
        checkpoint_interval: Time,
        /// Least time between two watermarks of a source (`pipeline.auto-watermark-interval`).
        #[serde(with = "flowmark_core::time::duration")]
        watermark_interval: Time,
        /// A session cluster's JobManager (`host:port`); a local mini-cluster when absent.
        cluster: Option<String>,
        /// The address the cluster reaches the harness's log server at.
        advertise: String,
    },
    /// Real Apache Spark Structured Streaming (`flowmark_external`).
    Spark {
        /// Parallelism of the job (`local[n]`, shuffle partitions).
        parallelism: usize,
        /// The micro-batch trigger interval.
        #[serde(with = "flowmark_core::time::duration")]
        trigger: Time,
        /// A master URL (`spark://host:port`); `local[parallelism]` when absent.
        master: Option<String>,
        /// The address the cluster reaches the harness's log server at.
        advertise: String,
    },
}

impl EngineSpec {
    /// The engine's name.
    pub fn name(&self) -> &'static str {
        match self {
            EngineSpec::Dataflow { .. } => "dataflow",
            EngineSpec::Microbatch { .. } => "microbatch",
            EngineSpec::Baseline => "baseline",
            EngineSpec::Flink { .. } => "flink",
            EngineSpec::Spark { .. } => "spark",
        }
    }

    /// The settings, as names and values for tables.
    pub fn settings(&self) -> BTreeMap<String, String> {
        let mut s = BTreeMap::new();
        match self {
            EngineSpec::Dataflow { parallelism, checkpoint_interval, buffer_timeout, delivery } => {
                s.insert("parallelism".into(), parallelism.to_string());
                s.insert("checkpoint".into(), human(*checkpoint_interval));
                s.insert("buffer_timeout".into(), human(*buffer_timeout));
                s.insert(
                    "delivery".into(),
                    match delivery {
                        flowmark_dataflow::Delivery::ExactlyOnce => "exactly-once",
                        flowmark_dataflow::Delivery::AtLeastOnce => "at-least-once",
                    }
                    .into(),
                );
            }
            EngineSpec::Microbatch { parallelism, batch_interval, time_domain, backpressure } => {
                s.insert("parallelism".into(), parallelism.to_string());
                s.insert("batch".into(), human(*batch_interval));
                s.insert(
                    "time".into(),
                    match time_domain {
                        TimeDomain::Event => "event",
                        TimeDomain::Processing => "processing",
                    }
                    .into(),
                );
                s.insert("backpressure".into(), backpressure.to_string());
            }
            EngineSpec::Baseline => {}
            EngineSpec::Flink { parallelism, checkpoint_interval, watermark_interval, cluster, .. } => {
                s.insert("parallelism".into(), parallelism.to_string());
                s.insert("checkpoint".into(), human(*checkpoint_interval));
                s.insert("watermark_interval".into(), human(*watermark_interval));
                s.insert("cluster".into(), cluster.clone().unwrap_or_else(|| "local".into()));
            }
            EngineSpec::Spark { parallelism, trigger, master, .. } => {
                s.insert("parallelism".into(), parallelism.to_string());
                s.insert("batch".into(), human(*trigger));
                s.insert("cluster".into(), master.clone().unwrap_or_else(|| "local".into()));
            }
        }
        s
    }

    /// Whether it is a real engine, run through `flowmark_external`.
    pub fn is_external(&self) -> bool {
        matches!(self, EngineSpec::Flink { .. } | EngineSpec::Spark { .. })
    }

    /// The time domain its windows use.
    pub fn domain(&self) -> TimeDomain {
        match self {
            EngineSpec::Microbatch { time_domain, .. } => *time_domain,
            _ => TimeDomain::Event,
        }
    }
}

/// A failure scenario, resolved to instants of one run's log time.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Injection {
    /// The scenario's name.
    pub name: String,
    /// SIGKILL the engine process at these log times.
    pub crashes: Vec<Time>,
    /// How long after a crash the harness restarts the engine.
    pub detection: Time,
    /// A task fails inside the engine.
    pub task_failure: Option<TaskFault>,
    /// A task runs slowly.
    pub straggler: Option<Straggler>,
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
    /// The log.
    pub log: LogSpec,
    /// The log's (constant) input rate, events per second.
    pub rate: f64,
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
    /// The end of the input, in log time.
    pub fn end(&self) -> Time {
        self.warmup + self.measure
    }
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
