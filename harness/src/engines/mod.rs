//! The engines flowmark runs: one file each, behind one trait, listed once in the registry
//! at the bottom of this file.
//!
//! An engine file holds everything the harness knows of that engine: its settings (what a run
//! names, what its process is told), its table in a suite file with the defaults, how its
//! settings label a run, how its process runs a job, where its committed results are read
//! from, and what it refuses to run. The rest of the harness asks [`Engine`] and never matches
//! on which engine it is.
//!
//! Adding an engine: a new file here implementing [`Engine`] and [`Table`], one line in
//! the `registry!` list at the bottom of this file, and its table as a field of
//! [`crate::suite::Suite`] (with its line in `Suite::tables`).

pub mod baseline;
pub mod dataflow;
pub mod flink;
mod jvm;
pub mod microbatch;
pub mod spark;

use crate::limits::Feed;
use crate::spec::{Injection, WorkerSpec};
use crate::suite::fields::{Locate, SuiteError};
use crate::suite::scope::Scope;
use anyhow::Result;
use flowmark_core::output::Emission;
use flowmark_core::{Job, Log, Time, TimeDomain};
use flowmark_workloads::WorkloadSpec;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

/// An engine with its settings, as the harness sees it.
pub trait Engine {
    /// Its name in suites, results and on the command line.
    fn name(&self) -> &'static str;

    /// Its settings as names and values: they label the run in tables and make its key.
    fn labels(&self) -> BTreeMap<String, String>;

    /// The time domain its windows use.
    fn domain(&self) -> TimeDomain {
        TimeDomain::Event
    }

    /// The interval its input is cut into batches at (0: none). Its backlog is a saw-tooth of
    /// that period by design, which a sustainable-throughput probe allows for.
    fn batch_interval(&self) -> Time {
        0
    }

    /// Whether a commit it reports starts with the batch it commits, so that the wait for the
    /// batch to start is a part of a result's latency of its own.
    fn commit_starts_batch(&self) -> bool {
        false
    }

    /// Whether it is the single-threaded baseline: it reads the whole log flat out, off the
    /// schedule, so it has a rate but no latencies, and no failure is injected into it.
    fn is_baseline(&self) -> bool {
        false
    }

    /// Why it cannot run `workload` under `failure`, when it cannot; a suite asking for it is
    /// refused before anything runs.
    fn refuses(&self, _workload: &WorkloadSpec, failure: &Injection) -> Option<String> {
        failure.kill_worker.map(|_| {
            "kill_worker kills a worker of a real engine's cluster; flowmark's engines run in one process (a crash or a task failure injects into them)".into()
        })
    }

    /// Whether a suite's run of `workload` under `failure` is left out for this engine
    /// without an error (the baseline measures only what it can).
    fn skips(&self, _workload: &WorkloadSpec, _failure: &Injection) -> bool {
        false
    }

    /// How its input reaches it, which bounds the rate the harness can feed it.
    fn feed(&self) -> Feed {
        Feed::Generated
    }

    /// Done once before its first run (a real engine's job is compiled): fails early, saying
    /// how to fix it, when the engine is not installed.
    fn prepare(&self) -> Result<()> {
        Ok(())
    }

    /// The results it committed under the run directory `dir`, in commit order.
    fn committed(&self, dir: &Path) -> Result<Vec<Emission>>;

    /// Runs `job` over `log` in the engine process (`flowmark worker`), reporting to the
    /// harness on stdout, until the input ends.
    fn run<J: Job, L: Log<Event = J::Event>>(&self, job: &J, log: &L, spec: &WorkerSpec) -> Result<()>
    where
        Self: Sized;
}

/// An engine's table in a suite file (`[dataflow]`): lists of settings to try, every
/// combination one configuration.
pub trait Table {
    /// Checks the values (the file's own checks of types and names are serde's).
    fn check(&self, at: &Locate) -> Result<(), SuiteError>;

    /// Every configuration the table names.
    fn configurations(&self) -> Vec<EngineSpec>;

    /// Where its configurations run (`only`; everywhere when `None`).
    fn only(&self) -> Option<&Spanned<Scope>> {
        None
    }

    /// Every `only` of the table or tables, for the suite to check the names they give.
    fn scopes(&self) -> Vec<&Spanned<Scope>> {
        self.only().into_iter().collect()
    }

    /// Its configurations, each with the scopes it runs in (one per table that names it).
    fn scoped(&self) -> Vec<(EngineSpec, Vec<Scope>)> {
        let scope = self.only().map(|s| s.get_ref().clone()).unwrap_or_default();
        self.configurations().into_iter().map(|c| (c, vec![scope.clone()])).collect()
    }
}

/// Several tables of one engine (`[[dataflow]]`): the union of their configurations, each once,
/// in the order they first appear.
impl<T: Table> Table for crate::suite::fields::Tables<T> {
    fn check(&self, at: &Locate) -> Result<(), SuiteError> {
        if self.0.is_empty() {
            return Err(at.at(0..0, "an engine's array of tables is empty"));
        }
        self.0.iter().try_for_each(|t| t.check(at))
    }

    fn configurations(&self) -> Vec<EngineSpec> {
        self.scoped().into_iter().map(|(c, _)| c).collect()
    }

    fn scopes(&self) -> Vec<&Spanned<Scope>> {
        self.0.iter().flat_map(|t| t.scopes()).collect()
    }

    /// A configuration that several tables name runs wherever any of them says.
    fn scoped(&self) -> Vec<(EngineSpec, Vec<Scope>)> {
        let mut out: Vec<(EngineSpec, Vec<Scope>)> = Vec::new();
        for (c, scopes) in self.0.iter().flat_map(|t| t.scoped()) {
            match out.iter_mut().find(|(o, _)| *o == c) {
                Some((_, all)) => all.extend(scopes),
                None => out.push((c, scopes)),
            }
        }
        out
    }
}

/// The settings `flowmark throughput` takes for any engine.
#[derive(Clone, Copy, Debug)]
pub struct SearchSettings {
    /// Tasks per operator or stage.
    pub parallelism: usize,
    /// Batch or trigger interval.
    pub batch: Time,
    /// Checkpoint interval.
    pub checkpoint: Time,
}

/// What the registry knows of an engine before it has settings.
pub struct Registered {
    /// Its name.
    pub name: &'static str,
    /// One line on what it is.
    pub about: &'static str,
    /// Its configuration for a sustainable-throughput search; `None` when it has no
    /// sustainable rate (the baseline runs flat out).
    pub searched: Option<fn(&SearchSettings) -> EngineSpec>,
    /// Its configuration with the defaults of its suite table.
    pub default: fn() -> EngineSpec,
}

/// Declares the engines: the enum of their settings (one variant each, serialized with an
/// `engine` tag), its dispatch to [`Engine`], and [`REGISTRY`].
macro_rules! registry {
    ($($variant:ident => $module:ident :: $settings:ident),+ $(,)?) => {
        /// An engine and its settings: what a run names and what its process is told.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "engine", rename_all = "kebab-case")]
        pub enum EngineSpec {
            $(
                #[doc = concat!("The engine of [`", stringify!($module), "`].")]
                $variant($module::$settings),
            )+
        }

        impl EngineSpec {
            /// The engine.
            pub fn engine(&self) -> &dyn Engine {
                match self {
                    $(EngineSpec::$variant(e) => e,)+
                }
            }

            /// Runs `job` over `log` on the engine (in the engine process).
            pub fn run<J: Job, L: Log<Event = J::Event>>(&self, job: &J, log: &L, spec: &WorkerSpec) -> Result<()> {
                match self {
                    $(EngineSpec::$variant(e) => e.run(job, log, spec),)+
                }
            }
        }

        /// Every engine, in the order `flowmark list` shows them.
        pub const REGISTRY: &[Registered] = &[$($module::REGISTERED,)+];
    };
}

registry! {
    Dataflow => dataflow::Dataflow,
    Microbatch => microbatch::Microbatch,
    Baseline => baseline::Baseline,
    Flink => flink::Flink,
    Spark => spark::Spark,
}

impl EngineSpec {
    /// The engine's name.
    pub fn name(&self) -> &'static str {
        self.engine().name()
    }

    /// Its settings, as names and values for tables.
    pub fn settings(&self) -> BTreeMap<String, String> {
        self.engine().labels()
    }

    /// The engine and its settings' values, as a part of a run's key.
    pub fn key(&self) -> String {
        format!("{}.{}", self.name(), self.settings().into_values().collect::<Vec<_>>().join("-"))
    }
}

/// The registered engine called `name`.
pub fn named(name: &str) -> Option<&'static Registered> {
    REGISTRY.iter().find(|r| r.name == name)
}

/// The registered engines' names, for messages.
pub fn names() -> String {
    REGISTRY.iter().map(|r| r.name).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_keys_of_the_default_configurations_are_those_of_existing_result_directories() {
        // run ids are made of these: a result directory is resumed and compared by them
        let keys: Vec<String> = REGISTRY.iter().map(|e| (e.default)().key()).collect();
        assert_eq!(
            keys,
            [
                "dataflow.5ms-1s-exactly-once-2",
                "microbatch.false-1s-2-event",
                "baseline.",
                "flink.1s-local-2-200ms",
                "spark.1s-local-2"
            ]
        );
    }

    #[test]
    fn a_configuration_goes_to_the_engine_process_and_back_unchanged() {
        for e in REGISTRY {
            let spec = (e.default)();
            let json = serde_json::to_string(&spec).unwrap();
            assert!(json.contains(&format!("\"engine\":\"{}\"", e.name)), "{json}");
            assert_eq!(serde_json::from_str::<EngineSpec>(&json).unwrap(), spec);
        }
    }

    #[test]
    fn only_the_baseline_has_no_sustainable_rate_and_only_batching_engines_a_batch_interval() {
        let s = SearchSettings { parallelism: 3, batch: 7, checkpoint: 11 };
        for e in REGISTRY {
            let Some(searched) = e.searched else {
                assert!((e.default)().engine().is_baseline(), "{}", e.name);
                continue;
            };
            let spec = searched(&s);
            assert_eq!(spec.name(), e.name);
            assert_eq!(spec.settings()["parallelism"], "3");
            let interval = spec.engine().batch_interval();
            assert!(interval == 0 || interval == 7, "{}: {interval}", e.name);
        }
    }
}
