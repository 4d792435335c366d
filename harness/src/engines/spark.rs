//! Real Apache Spark Structured Streaming, run through `flowmark_external`.

use super::{Engine, EngineSpec, Registered, Table, flink::LOOPBACK, jvm};
use crate::spec::{Injection, WorkerSpec};
use crate::suite::fields::{Locate, SuiteError, spanned_durations, unplaced};
use crate::suite::scope::Scope;
use anyhow::Result;
use flowmark_core::output::Emission;
use flowmark_core::time::{SECOND, human};
use flowmark_core::{Job, Log, Time};
use flowmark_workloads::WorkloadSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// Its entry in the registry.
pub const REGISTERED: Registered = Registered {
    name: "spark",
    about: "real Apache Spark Structured Streaming (scripts/install-real-engines)",
    searched: Some(|s| {
        EngineSpec::Spark(Spark {
            parallelism: s.parallelism,
            trigger: s.batch,
            state_store: StateStore::Hdfs,
            master: None,
            advertise: LOOPBACK.into(),
            servers: jvm::LogServing::default(),
        })
    }),
    default: || SparkTable::default().configurations().remove(0),
};

/// Real Spark's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spark {
    /// Parallelism of the job (`local[n]`, shuffle partitions).
    pub parallelism: usize,
    /// The micro-batch trigger interval.
    #[serde(with = "flowmark_core::time::duration")]
    pub trigger: Time,
    /// Where the job keeps its state (`spark.sql.streaming.stateStore.providerClass`).
    #[serde(default)]
    pub state_store: StateStore,
    /// A master URL (`spark://host:port`); `local[parallelism]` when absent.
    pub master: Option<String>,
    /// The address the cluster reaches the harness's log server at.
    pub advertise: String,
    /// Where its job reads the log from: log servers of its own, here or standing by
    /// elsewhere (none: the engine process serves it).
    #[serde(flatten)]
    pub servers: jvm::LogServing,
}

/// Spark's state store providers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StateStore {
    /// `HDFSBackedStateStoreProvider`, Spark's default (`hdfs`).
    #[default]
    Hdfs,
    /// `RocksDBStateStoreProvider` (`rocksdb`), as production jobs with large state run.
    RocksDb,
}

impl Engine for Spark {
    fn name(&self) -> &'static str {
        REGISTERED.name
    }

    fn feed(&self) -> crate::limits::Feed {
        self.servers.feed()
    }

    fn labels(&self) -> BTreeMap<String, String> {
        let mut labels = BTreeMap::from([
            ("parallelism".into(), self.parallelism.to_string()),
            ("batch".into(), human(self.trigger)),
            ("cluster".into(), self.master.clone().unwrap_or_else(|| "local".into())),
        ]);
        // Spark's default store is what runs were made with before the setting existed: only
        // RocksDB is named, so that their keys stay as they were
        if self.state_store == StateStore::RocksDb {
            labels.insert("state_store".into(), "rocksdb".into());
        }
        if let Some(servers) = self.servers.label() {
            labels.insert("log_servers".into(), servers);
        }
        labels
    }

    fn batch_interval(&self) -> Time {
        self.trigger
    }

    fn refuses(&self, workload: &WorkloadSpec, failure: &Injection) -> Option<String> {
        jvm::refuses(flowmark_external::Kind::Spark, workload, failure, self.master.is_some())
    }

    fn prepare(&self) -> Result<()> {
        jvm::prepare(flowmark_external::Kind::Spark)
    }

    fn committed(&self, dir: &Path) -> Result<Vec<Emission>> {
        jvm::committed(dir)
    }

    fn run<J: Job, L: Log<Event = J::Event>>(&self, _: &J, log: &L, spec: &WorkerSpec) -> Result<()> {
        let state = match self.state_store {
            StateStore::Hdfs => flowmark_external::SparkState::Hdfs,
            StateStore::RocksDb => flowmark_external::SparkState::RocksDb,
        };
        let engine =
            flowmark_external::Engine::Spark { trigger: self.trigger, state, master: self.master.clone() };
        jvm::run(log, spec, engine, self.parallelism, &self.advertise, &self.servers)
    }
}

/// `[spark]` in a suite file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SparkTable {
    /// Parallelism.
    pub parallelism: Spanned<Vec<usize>>,
    /// Micro-batch trigger intervals.
    #[serde(with = "spanned_durations")]
    pub trigger: Spanned<Vec<Time>>,
    /// State store providers: `hdfs`, `rocksdb`.
    pub state_store: Spanned<Vec<StateStore>>,
    /// A master URL, `spark://host:port`; `local[parallelism]` when absent.
    pub master: Option<Spanned<String>>,
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

impl Default for SparkTable {
    fn default() -> Self {
        SparkTable {
            parallelism: unplaced(vec![2]),
            trigger: unplaced(vec![SECOND]),
            state_store: unplaced(vec![StateStore::Hdfs]),
            master: None,
            advertise: LOOPBACK.into(),
            log_servers: unplaced(0),
            log_servers_at: None,
            only: None,
        }
    }
}

impl Table for SparkTable {
    fn only(&self) -> Option<&Spanned<Scope>> {
        self.only.as_ref()
    }

    fn check(&self, at: &Locate) -> Result<(), SuiteError> {
        at.at_least_one("parallelism", &self.parallelism)?;
        at.positive("trigger", &self.trigger)?;
        at.listed("state_store", &self.state_store)?;
        jvm::log_serving(at, "spark", &self.log_servers, &self.log_servers_at)?;
        at.not_blank("spark.master", &self.master)
    }

    fn configurations(&self) -> Vec<EngineSpec> {
        let mut out = Vec::new();
        for &parallelism in self.parallelism.get_ref() {
            for &trigger in self.trigger.get_ref() {
                for &state_store in self.state_store.get_ref() {
                    out.push(EngineSpec::Spark(Spark {
                        parallelism,
                        trigger,
                        state_store,
                        master: self.master.as_ref().map(|m| m.get_ref().clone()),
                        advertise: self.advertise.clone(),
                        servers: jvm::LogServing::of(&self.log_servers, &self.log_servers_at),
                    }));
                }
            }
        }
        out
    }
}
