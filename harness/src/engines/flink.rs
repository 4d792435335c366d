//! Real Apache Flink (DataStream API), run through `flowmark_external`.

use super::{Engine, EngineSpec, Registered, Table, jvm};
use crate::spec::{Injection, WorkerSpec};
use crate::suite::fields::{Locate, SuiteError, spanned_durations, unplaced};
use crate::suite::scope::Scope;
use anyhow::Result;
use flowmark_core::output::Emission;
use flowmark_core::time::{MILLISECOND, SECOND, human};
use flowmark_core::{Job, Log, Time};
use flowmark_workloads::WorkloadSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Its entry in the registry.
pub const REGISTERED: Registered = Registered {
    name: "flink",
    about: "real Apache Flink (scripts/install-real-engines)",
    searched: Some(|s| {
        EngineSpec::Flink(Flink {
            parallelism: s.parallelism,
            checkpoint_interval: s.checkpoint,
            watermark_interval: WATERMARK_INTERVAL,
            state_backend: StateBackend::HashMap,
            incremental: false,
            cluster: None,
            advertise: LOOPBACK.into(),
            servers: jvm::LogServing::default(),
        })
    }),
    default: || FlinkTable::default().configurations().remove(0),
};

/// The default least time between two watermarks of a source (Flink's own default of
/// `pipeline.auto-watermark-interval`).
const WATERMARK_INTERVAL: Time = 200 * MILLISECOND;

/// The address a local job reaches the harness's log server at.
pub(super) const LOOPBACK: &str = "127.0.0.1";

/// Real Flink's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Flink {
    /// Parallelism of the job.
    pub parallelism: usize,
    /// Time between checkpoints.
    #[serde(with = "flowmark_core::time::duration")]
    pub checkpoint_interval: Time,
    /// Least time between two watermarks of a source (`pipeline.auto-watermark-interval`).
    #[serde(with = "flowmark_core::time::duration")]
    pub watermark_interval: Time,
    /// Where the job keeps its state (`state.backend.type`).
    #[serde(default)]
    pub state_backend: StateBackend,
    /// Incremental checkpoints (`execution.checkpointing.incremental`; RocksDB only).
    #[serde(default)]
    pub incremental: bool,
    /// A session cluster's JobManager (`host:port`); a local mini-cluster when absent.
    pub cluster: Option<String>,
    /// The address the cluster reaches the harness's log server at.
    pub advertise: String,
    /// Where its job reads the log from: log servers of its own, here or standing by
    /// elsewhere (none: the engine process serves it).
    #[serde(flatten)]
    pub servers: jvm::LogServing,
}

/// Flink's state backends.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateBackend {
    /// State as objects on the heap (`hashmap`).
    #[default]
    HashMap,
    /// State in an embedded RocksDB (`rocksdb`), as production jobs with large state run.
    RocksDb,
}

impl Flink {
    fn state(&self) -> flowmark_external::FlinkState {
        match self.state_backend {
            StateBackend::HashMap => flowmark_external::FlinkState::HashMap,
            StateBackend::RocksDb => flowmark_external::FlinkState::RocksDb { incremental: self.incremental },
        }
    }
}

impl Engine for Flink {
    fn name(&self) -> &'static str {
        REGISTERED.name
    }

    fn feed(&self) -> crate::limits::Feed {
        self.servers.feed()
    }

    fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            ("parallelism".into(), self.parallelism.to_string()),
            ("checkpoint".into(), human(self.checkpoint_interval)),
            ("watermark_interval".into(), human(self.watermark_interval)),
            ("cluster".into(), self.cluster.clone().unwrap_or_else(|| "local".into())),
        ]);
        // the heap is the backend runs were made with before the setting existed: only RocksDB
        // is named, so that their keys stay as they were
        if self.state_backend == StateBackend::RocksDb {
            let incremental = if self.incremental { "rocksdb-incremental" } else { "rocksdb" };
            labels.insert("state_backend".into(), incremental.into());
        }
        if let Some(servers) = self.servers.label() {
            labels.insert("log_servers".into(), servers);
        }
        labels
    }

    fn refuses(&self, workload: &WorkloadSpec, failure: &Injection) -> Option<String> {
        jvm::refuses(flowmark_external::Kind::Flink, workload, failure, self.cluster.is_some())
    }

    fn prepare(&self) -> Result<()> {
        jvm::prepare(flowmark_external::Kind::Flink)
    }

    fn committed(&self, dir: &Path) -> Result<Vec<Emission>> {
        jvm::committed(dir)
    }

    fn run<J: Job, L: Log<Event = J::Event>>(&self, _: &J, log: &L, spec: &WorkerSpec) -> Result<()> {
        let engine = flowmark_external::Engine::Flink {
            checkpoint_interval: self.checkpoint_interval,
            watermark_interval: self.watermark_interval,
            state: self.state(),
            cluster: self.cluster.clone(),
        };
        jvm::run(log, spec, engine, self.parallelism, &self.advertise, &self.servers)
    }
}

/// `[flink]` in a suite file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlinkTable {
    /// Parallelism.
    pub parallelism: Spanned<Vec<usize>>,
    /// Checkpoint intervals.
    #[serde(with = "spanned_durations")]
    pub checkpoint_interval: Spanned<Vec<Time>>,
    /// Least times between two watermarks of a source (`pipeline.auto-watermark-interval`).
    #[serde(with = "spanned_durations")]
    pub watermark_interval: Spanned<Vec<Time>>,
    /// State backends: `hashmap`, `rocksdb`.
    pub state_backend: Spanned<Vec<StateBackend>>,
    /// Incremental checkpoints or not, for the RocksDB backend (the heap's are always full).
    pub incremental: Spanned<Vec<bool>>,
    /// A session cluster's JobManager, `host:port`; a local mini-cluster when absent.
    pub cluster: Option<Spanned<String>>,
    /// The address the cluster reaches the harness's log server at.
    pub advertise: String,
    /// Log servers of their own (`flowmark serve-log`, started by the engine process) that
    /// share the log's partitions; 0: the engine process serves it.
    pub log_servers: Spanned<u32>,
    /// Log servers standing by on other machines (`flowmark serve-log --standby`), `host:port`
    /// each, assigned each run's log: partition p on the p mod N-th.
    pub log_servers_at: Option<Spanned<Vec<String>>>,
    /// Where its configurations run (everywhere when left out).
    pub only: Option<Spanned<Scope>>,
}

impl Default for FlinkTable {
    fn default() -> Self {
        FlinkTable {
            parallelism: unplaced(vec![2]),
            checkpoint_interval: unplaced(vec![SECOND]),
            watermark_interval: unplaced(vec![WATERMARK_INTERVAL]),
            state_backend: unplaced(vec![StateBackend::HashMap]),
            incremental: unplaced(vec![false]),
            cluster: None,
            advertise: LOOPBACK.into(),
            log_servers: unplaced(0),
            log_servers_at: None,
            only: None,
        }
    }
}

impl Table for FlinkTable {
    fn only(&self) -> Option<&Spanned<Scope>> {
        self.only.as_ref()
    }

    fn check(&self, at: &Locate) -> Result<(), SuiteError> {
        at.at_least_one("parallelism", &self.parallelism)?;
        at.positive("checkpoint_interval", &self.checkpoint_interval)?;
        at.listed("state_backend", &self.state_backend)?;
        at.listed("incremental", &self.incremental)?;
        if self.incremental.get_ref().contains(&true)
            && !self.state_backend.get_ref().contains(&StateBackend::RocksDb)
        {
            return Err(at.at(
                self.incremental.span(),
                "`flink.incremental = true` needs `state_backend = [\"rocksdb\"]`: the heap backend's checkpoints are always full",
            ));
        }
        jvm::log_serving(at, "flink", &self.log_servers, &self.log_servers_at)?;
        at.not_blank("flink.cluster", &self.cluster)
    }

    fn configurations(&self) -> Vec<EngineSpec> {
        let mut out = Vec::new();
        for &parallelism in self.parallelism.get_ref() {
            for &checkpoint_interval in self.checkpoint_interval.get_ref() {
                for &watermark_interval in self.watermark_interval.get_ref() {
                    for &state_backend in self.state_backend.get_ref() {
                        // incremental is a setting of RocksDB only: the heap backend runs once
                        let incremental: &[bool] = match state_backend {
                            StateBackend::HashMap => &[false],
                            StateBackend::RocksDb => self.incremental.get_ref(),
                        };
                        for &incremental in incremental {
                            out.push(EngineSpec::Flink(Flink {
                                parallelism,
                                checkpoint_interval,
                                watermark_interval,
                                state_backend,
                                incremental,
                                cluster: self.cluster.as_ref().map(|c| c.get_ref().clone()),
                                advertise: self.advertise.clone(),
                                servers: jvm::LogServing::of(&self.log_servers, &self.log_servers_at),
                            }));
                        }
                    }
                }
            }
        }
        out
    }
}
