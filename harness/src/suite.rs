//! Suite files: the matrix of runs a suite makes, read from TOML and checked before anything
//! runs.
//!
//! A suite is engines × workloads × rates × disorders × failure scenarios × engine settings,
//! each run repeated, with a warm-up and a measured period. An unknown key, a wrong type or an
//! impossible value is an error that names the file, the line and the field.

use crate::spec::{EngineSpec, Injection, RunSpec};
use flowmark_core::time::duration;
use flowmark_core::{Straggler, TaskFault, Time};
use flowmark_reports::slug;
use flowmark_workloads::{Disorder, LogSpec, RateProfile, WorkloadSpec};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use toml::Spanned;

/// An engine a suite runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EngineName {
    /// The continuous dataflow engine.
    Dataflow,
    /// The micro-batch engine.
    Microbatch,
    /// The single-threaded hand-written loop (the COST baseline).
    Baseline,
    /// Real Apache Flink.
    Flink,
    /// Real Apache Spark Structured Streaming.
    Spark,
}

/// A suite file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Suite {
    /// The suite's name.
    pub name: String,
    /// What it is for.
    #[serde(default)]
    pub description: String,
    /// The seed every run derives its randomness from.
    pub seed: u64,
    /// Runs of each configuration.
    #[serde(default = "one")]
    pub repetitions: Spanned<u32>,
    /// Time before measurement starts.
    #[serde(with = "spanned_duration")]
    pub warmup: Spanned<Time>,
    /// The measured period.
    #[serde(with = "spanned_duration")]
    pub measure: Spanned<Time>,
    /// A run taking longer than this is killed and marked failed.
    #[serde(with = "spanned_duration")]
    pub timeout: Spanned<Time>,
    /// Source partitions of every log.
    pub partitions: Spanned<u32>,
    /// The engines.
    pub engines: Spanned<Vec<EngineName>>,
    /// Input rates, events per second.
    pub rates: Spanned<Vec<f64>>,
    /// The workloads.
    pub workloads: Vec<Spanned<WorkloadSpec>>,
    /// The disorder levels.
    pub disorder: Vec<Spanned<NamedDisorder>>,
    /// The failure scenarios.
    #[serde(default)]
    pub failures: Vec<Spanned<Failure>>,
    /// Settings of the dataflow engine to try.
    #[serde(default)]
    pub dataflow: DataflowSettings,
    /// Settings of the micro-batch engine to try.
    #[serde(default)]
    pub microbatch: MicrobatchSettings,
    /// Settings of real Apache Flink to try.
    #[serde(default)]
    pub flink: FlinkSettings,
    /// Settings of real Apache Spark to try.
    #[serde(default)]
    pub spark: SparkSettings,
    /// Sustainable-throughput searches to run after the matrix.
    pub throughput: Option<Spanned<ThroughputSettings>>,
}

/// A sustainable-throughput search for every engine configuration of the suite on the named
/// workloads (first disorder level, no failure).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThroughputSettings {
    /// Workloads to search on, by name (`flowmark list`), among the suite's.
    pub workloads: Vec<String>,
    /// The first rate tried, events per second.
    pub start: f64,
    /// Probes per search.
    pub steps: u32,
    /// The measured period of a probe.
    #[serde(with = "duration")]
    pub probe: Time,
    /// The warm-up of a probe.
    #[serde(with = "duration")]
    pub warmup: Time,
    /// Fractions of the sustainable rate to measure latency at (may be empty).
    #[serde(default)]
    pub fractions: Vec<f64>,
}

impl ThroughputSettings {
    /// The search plan.
    pub fn plan(&self) -> crate::throughput::Plan {
        crate::throughput::Plan {
            start: self.start,
            steps: self.steps,
            probe: self.probe,
            warmup: self.warmup,
            fractions: self.fractions.clone(),
        }
    }
}

fn one() -> Spanned<u32> {
    Spanned::new(0..0, 1)
}

/// A disorder level with a name for the results.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamedDisorder {
    /// Its name.
    pub name: String,
    /// The delay of ordinary events.
    #[serde(default)]
    pub delay: flowmark_workloads::Delay,
    /// The fraction of events that are very late.
    #[serde(default)]
    pub late_fraction: f64,
    /// The extra delay of a very late event.
    #[serde(default, with = "duration")]
    pub late_delay: Time,
}

impl NamedDisorder {
    /// The disorder.
    pub fn disorder(&self) -> Disorder {
        Disorder { delay: self.delay, late_fraction: self.late_fraction, late_delay: self.late_delay }
    }
}

/// A failure scenario.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "kebab-case")]
#[allow(clippy::enum_variant_names)] // "task failure" is the scenario's name in DESIGN.md
pub enum Failure {
    /// No failure.
    None {
        /// Its name.
        name: String,
    },
    /// SIGKILL of the engine process at the given times into the measured period, and at
    /// `random` more times drawn from the suite's seed.
    Crash {
        /// Its name.
        name: String,
        /// When, measured from the start of the measured period.
        #[serde(default, with = "durations")]
        at: Vec<Time>,
        /// How many more crashes at seeded random times in the measured period.
        #[serde(default)]
        random: u32,
        /// How long the harness takes to notice and restart the engine.
        #[serde(with = "duration")]
        detection: Time,
    },
    /// One task fails inside the engine.
    TaskFailure {
        /// Its name.
        name: String,
        /// When, into the measured period.
        #[serde(with = "duration")]
        at: Time,
    },
    /// One task runs slowly for a while.
    Straggler {
        /// Its name.
        name: String,
        /// When it starts, into the measured period.
        #[serde(with = "duration")]
        at: Time,
        /// For how long.
        #[serde(with = "duration")]
        length: Time,
        /// Extra time per unit of work while slow.
        #[serde(with = "duration")]
        delay: Time,
    },
}

/// Dataflow settings; every combination is a configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DataflowSettings {
    /// Parallelism.
    pub parallelism: Spanned<Vec<usize>>,
    /// Checkpoint intervals.
    #[serde(with = "spanned_durations")]
    pub checkpoint_interval: Spanned<Vec<Time>>,
    /// Buffer timeouts.
    #[serde(with = "spanned_durations")]
    pub buffer_timeout: Spanned<Vec<Time>>,
    /// Delivery guarantees.
    pub delivery: Vec<flowmark_dataflow::Delivery>,
}

impl Default for DataflowSettings {
    fn default() -> Self {
        DataflowSettings {
            parallelism: Spanned::new(0..0, vec![2]),
            checkpoint_interval: Spanned::new(0..0, vec![flowmark_core::time::SECOND]),
            buffer_timeout: Spanned::new(0..0, vec![5 * flowmark_core::time::MILLISECOND]),
            delivery: vec![flowmark_dataflow::Delivery::ExactlyOnce],
        }
    }
}

/// Micro-batch settings; every combination is a configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MicrobatchSettings {
    /// Parallelism.
    pub parallelism: Spanned<Vec<usize>>,
    /// Batch intervals.
    #[serde(with = "spanned_durations")]
    pub batch_interval: Spanned<Vec<Time>>,
    /// Time domains.
    pub time_domain: Vec<flowmark_core::TimeDomain>,
    /// Back-pressure on or off.
    pub backpressure: Vec<bool>,
}

impl Default for MicrobatchSettings {
    fn default() -> Self {
        MicrobatchSettings {
            parallelism: Spanned::new(0..0, vec![2]),
            batch_interval: Spanned::new(0..0, vec![flowmark_core::time::SECOND]),
            time_domain: vec![flowmark_core::TimeDomain::Event],
            backpressure: vec![false],
        }
    }
}

/// Real Flink's settings; every combination is a configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlinkSettings {
    /// Parallelism.
    pub parallelism: Spanned<Vec<usize>>,
    /// Checkpoint intervals.
    #[serde(with = "spanned_durations")]
    pub checkpoint_interval: Spanned<Vec<Time>>,
    /// Least times between two watermarks of a source (`pipeline.auto-watermark-interval`).
    #[serde(with = "spanned_durations")]
    pub watermark_interval: Spanned<Vec<Time>>,
    /// A session cluster's JobManager, `host:port`; a local mini-cluster when absent.
    pub cluster: Option<Spanned<String>>,
    /// The address the cluster reaches the harness's log server at.
    pub advertise: String,
}

impl Default for FlinkSettings {
    fn default() -> Self {
        FlinkSettings {
            parallelism: Spanned::new(0..0, vec![2]),
            checkpoint_interval: Spanned::new(0..0, vec![flowmark_core::time::SECOND]),
            watermark_interval: Spanned::new(0..0, vec![200 * flowmark_core::time::MILLISECOND]),
            cluster: None,
            advertise: "127.0.0.1".into(),
        }
    }
}

/// Real Spark's settings; every combination is a configuration.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SparkSettings {
    /// Parallelism.
    pub parallelism: Spanned<Vec<usize>>,
    /// Micro-batch trigger intervals.
    #[serde(with = "spanned_durations")]
    pub trigger: Spanned<Vec<Time>>,
    /// A master URL, `spark://host:port`; `local[parallelism]` when absent.
    pub master: Option<Spanned<String>>,
    /// The address the cluster reaches the harness's log server at.
    pub advertise: String,
}

impl Default for SparkSettings {
    fn default() -> Self {
        SparkSettings {
            parallelism: Spanned::new(0..0, vec![2]),
            trigger: Spanned::new(0..0, vec![flowmark_core::time::SECOND]),
            master: None,
            advertise: "127.0.0.1".into(),
        }
    }
}

mod spanned_duration {
    use flowmark_core::Time;
    use serde::{Deserialize, Deserializer};
    use toml::Spanned;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<Time>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "flowmark_core::time::duration")] Time);
        let s = Spanned::<W>::deserialize(d)?;
        Ok(Spanned::new(s.span(), s.into_inner().0))
    }
}

mod durations {
    use flowmark_core::Time;
    use serde::{Deserialize, Deserializer};

    #[derive(Deserialize)]
    pub struct W(#[serde(with = "flowmark_core::time::duration")] pub Time);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Time>, D::Error> {
        Ok(Vec::<W>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }
}

mod spanned_durations {
    use super::durations::W;
    use flowmark_core::Time;
    use serde::{Deserialize, Deserializer};
    use toml::Spanned;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<Vec<Time>>, D::Error> {
        let s = Spanned::<Vec<W>>::deserialize(d)?;
        Ok(Spanned::new(s.span(), s.into_inner().into_iter().map(|w| w.0).collect()))
    }
}

/// A suite file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SuiteError {
    /// The file.
    pub file: PathBuf,
    /// The line (1-based).
    pub line: usize,
    /// What is wrong, naming the field.
    pub message: String,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

impl Suite {
    /// Reads and checks a suite file.
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let text = std::fs::read_to_string(path).map_err(|e| SuiteError {
            file: path.to_path_buf(),
            line: 0,
            message: format!("cannot read the suite file: {e}"),
        })?;
        Suite::parse(path, &text)
    }

    /// Parses and checks a suite from text (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Suite, SuiteError> {
        let at = |span: std::ops::Range<usize>, message: String| SuiteError {
            file: path.to_path_buf(),
            line: line_of(text, span.start),
            message,
        };
        let suite: Suite = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(text, s.start));
            at(0..0, e.message().to_string()).with_line(line)
        })?;
        let positive = |name: &str, v: &Spanned<Time>| {
            if *v.get_ref() > 0 { Ok(()) } else { Err(at(v.span(), format!("`{name}` must be positive"))) }
        };
        positive("measure", &suite.measure)?;
        positive("timeout", &suite.timeout)?;
        if let Some(t) = &suite.throughput {
            let s = t.get_ref();
            let bad = |m: String| Err(at(t.span(), format!("[throughput]: {m}")));
            if !(s.start.is_finite() && s.start > 0.0) || s.steps == 0 || s.probe <= 0 || s.warmup < 0 {
                return bad("`start`, `steps` and `probe` must be positive, `warmup` zero or more".into());
            }
            if let Some(f) = s.fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
                return bad(format!("`fractions` must lie in (0, 1], got {f}"));
            }
            // a micro-batch engine's backlog is a saw-tooth over the batch interval: a probe
            // shorter than a few intervals cannot tell it from growth
            let longest = suite.microbatch.batch_interval.get_ref().iter().max().copied().unwrap_or(0);
            if suite.engines.get_ref().contains(&EngineName::Microbatch)
                && (s.probe < 3 * longest || s.warmup < longest)
            {
                return bad(format!(
                    "`probe` must be at least 3 batch intervals and `warmup` at least one ({}), got {} and {}",
                    flowmark_core::time::human(longest),
                    flowmark_core::time::human(s.probe),
                    flowmark_core::time::human(s.warmup)
                ));
            }
            let names: Vec<String> = suite.workloads.iter().map(|w| w.get_ref().name()).collect();
            if let Some(w) = s.workloads.iter().find(|w| !names.contains(w)) {
                return bad(format!("workload `{w}` is not one of the suite's: {}", names.join(", ")));
            }
        }
        if *suite.warmup.get_ref() < 0 {
            return Err(at(suite.warmup.span(), "`warmup` must be zero or more".into()));
        }
        if *suite.timeout.get_ref() <= suite.warmup.get_ref() + suite.measure.get_ref() {
            return Err(at(
                suite.timeout.span(),
                "`timeout` must be longer than `warmup` plus `measure`".into(),
            ));
        }
        if *suite.repetitions.get_ref() == 0 {
            return Err(at(suite.repetitions.span(), "`repetitions` must be at least 1".into()));
        }
        if *suite.partitions.get_ref() == 0 {
            return Err(at(suite.partitions.span(), "`partitions` must be at least 1".into()));
        }
        if suite.engines.get_ref().is_empty() {
            return Err(at(suite.engines.span(), "`engines` names no engine".into()));
        }
        if let Some(r) = suite.rates.get_ref().iter().find(|r| !(r.is_finite() && **r > 0.0)) {
            return Err(at(
                suite.rates.span(),
                format!("`rates` must be positive events per second, got {r}"),
            ));
        }
        if suite.rates.get_ref().is_empty() || suite.workloads.is_empty() || suite.disorder.is_empty() {
            return Err(at(
                0..0,
                "a suite needs at least one rate, one `[[workloads]]` and one `[[disorder]]`".into(),
            ));
        }
        for d in &suite.disorder {
            d.get_ref()
                .disorder()
                .validate()
                .map_err(|e| at(d.span(), format!("disorder `{}`: {e}", d.get_ref().name)))?;
        }
        suite.check_real_engines(&at)?;
        for p in [
            &suite.dataflow.parallelism,
            &suite.microbatch.parallelism,
            &suite.flink.parallelism,
            &suite.spark.parallelism,
        ] {
            if p.get_ref().is_empty() || p.get_ref().contains(&0) {
                return Err(at(p.span(), "`parallelism` must list values of at least 1".into()));
            }
        }
        for d in [
            &suite.dataflow.checkpoint_interval,
            &suite.microbatch.batch_interval,
            &suite.flink.checkpoint_interval,
            &suite.spark.trigger,
        ] {
            if d.get_ref().iter().any(|t| *t <= 0) {
                return Err(at(d.span(), "intervals must be positive".into()));
            }
        }
        Ok(suite)
    }

    /// What the real engines cannot run: workloads without a JVM job, faults inside the engine,
    /// crashes of a job on a cluster (the harness kills only its own processes).
    fn check_real_engines(
        &self,
        at: &impl Fn(std::ops::Range<usize>, String) -> SuiteError,
    ) -> Result<(), SuiteError> {
        let engines = self.engines.get_ref();
        let real: Vec<&str> = engines
            .iter()
            .filter_map(|e| match e {
                EngineName::Flink => Some("flink"),
                EngineName::Spark => Some("spark"),
                _ => None,
            })
            .collect();
        if real.is_empty() {
            return Ok(());
        }
        for w in &self.workloads {
            if let Err(e) = crate::external::job_args(w.get_ref()) {
                return Err(at(
                    w.span(),
                    format!("{} cannot run on {}: {e}", w.get_ref().name(), real.join(", ")),
                ));
            }
        }
        let remote = (engines.contains(&EngineName::Flink) && self.flink.cluster.is_some())
            || (engines.contains(&EngineName::Spark) && self.spark.master.is_some());
        for f in &self.failures {
            let bad = match f.get_ref() {
                Failure::TaskFailure { .. } | Failure::Straggler { .. } => {
                    Some("task failures and stragglers are injected inside flowmark's own engines only")
                }
                Failure::Crash { .. } if remote => {
                    Some("a crash kills the harness's own processes, not a job on a cluster")
                }
                _ => None,
            };
            if let Some(why) = bad {
                return Err(at(
                    f.span(),
                    format!("failure `{}` cannot run on {}: {why}", f.get_ref().name(), real.join(", ")),
                ));
            }
        }
        for (name, v) in [("flink.cluster", &self.flink.cluster), ("spark.master", &self.spark.master)] {
            if let Some(v) = v
                && v.get_ref().trim().is_empty()
            {
                return Err(at(v.span(), format!("`{name}` is empty")));
            }
        }
        Ok(())
    }

    /// Every run of the suite, in the order they run: repetitions outermost (so an early stop
    /// still covers every configuration), then workloads, rates, disorders, failures, engines.
    pub fn plan(&self) -> Vec<RunSpec> {
        let none = [Failure::None { name: "none".into() }];
        let failures: Vec<&Failure> = if self.failures.is_empty() {
            none.iter().collect()
        } else {
            self.failures.iter().map(|f| f.get_ref()).collect()
        };
        let (warmup, measure) = (*self.warmup.get_ref(), *self.measure.get_ref());
        let mut plan = Vec::new();
        for repetition in 0..*self.repetitions.get_ref() {
            for workload in &self.workloads {
                let workload = workload.get_ref();
                for &rate in self.rates.get_ref() {
                    for disorder in &self.disorder {
                        let disorder = disorder.get_ref();
                        let log = LogSpec {
                            seed: self.seed,
                            partitions: *self.partitions.get_ref(),
                            rate: RateProfile::constant(rate),
                            disorder: disorder.disorder(),
                        };
                        for failure in &failures {
                            for engine in self.engine_specs() {
                                let baseline = engine == EngineSpec::Baseline;
                                if baseline
                                    && (!matches!(failure, Failure::None { .. }) || !workload.has_baseline())
                                {
                                    continue;
                                }
                                let mut key = format!(
                                    "{}.{}.{}.{}.{}",
                                    workload.name(),
                                    engine.name(),
                                    engine.settings().values().cloned().collect::<Vec<_>>().join("-"),
                                    rate,
                                    disorder.name,
                                );
                                key = slug(&format!("{key}.{}", failure.name()));
                                let injection = failure.resolve(&key, self.seed, warmup, measure);
                                plan.push(RunSpec {
                                    id: format!("{key}.{repetition}"),
                                    key,
                                    repetition,
                                    engine: engine.clone(),
                                    workload: workload.clone(),
                                    log: log.clone(),
                                    rate,
                                    disorder: disorder.name.clone(),
                                    failure: injection,
                                    warmup,
                                    measure,
                                    timeout: *self.timeout.get_ref(),
                                });
                            }
                        }
                    }
                }
            }
        }
        plan
    }

    /// The sustainable-throughput searches: a base run (its rate set per probe) per engine
    /// configuration and named workload.
    pub fn searches(&self) -> Vec<RunSpec> {
        let Some(t) = &self.throughput else { return Vec::new() };
        let disorder = self.disorder[0].get_ref();
        let mut out = Vec::new();
        for name in &t.get_ref().workloads {
            let Some(workload) = self.workloads.iter().map(|w| w.get_ref()).find(|w| &w.name() == name)
            else {
                continue;
            };
            for engine in self.engine_specs().into_iter().filter(|e| *e != EngineSpec::Baseline) {
                let log = LogSpec {
                    seed: self.seed,
                    partitions: *self.partitions.get_ref(),
                    rate: RateProfile::constant(1.0),
                    disorder: disorder.disorder(),
                };
                let (w, m) = (t.get_ref().warmup, t.get_ref().probe);
                out.push(crate::throughput::base_run(engine, workload.clone(), log, &disorder.name, w, m));
            }
        }
        out
    }

    /// Every engine configuration the suite names.
    fn engine_specs(&self) -> Vec<EngineSpec> {
        let mut out = Vec::new();
        for engine in self.engines.get_ref() {
            match engine {
                EngineName::Dataflow => {
                    let s = &self.dataflow;
                    for &parallelism in s.parallelism.get_ref() {
                        for &checkpoint_interval in s.checkpoint_interval.get_ref() {
                            for &buffer_timeout in s.buffer_timeout.get_ref() {
                                for &delivery in &s.delivery {
                                    out.push(EngineSpec::Dataflow {
                                        parallelism,
                                        checkpoint_interval,
                                        buffer_timeout,
                                        delivery,
                                    });
                                }
                            }
                        }
                    }
                }
                EngineName::Microbatch => {
                    let s = &self.microbatch;
                    for &parallelism in s.parallelism.get_ref() {
                        for &batch_interval in s.batch_interval.get_ref() {
                            for &time_domain in &s.time_domain {
                                for &backpressure in &s.backpressure {
                                    out.push(EngineSpec::Microbatch {
                                        parallelism,
                                        batch_interval,
                                        time_domain,
                                        backpressure,
                                    });
                                }
                            }
                        }
                    }
                }
                EngineName::Baseline => out.push(EngineSpec::Baseline),
                EngineName::Flink => {
                    let s = &self.flink;
                    for &parallelism in s.parallelism.get_ref() {
                        for &checkpoint_interval in s.checkpoint_interval.get_ref() {
                            for &watermark_interval in s.watermark_interval.get_ref() {
                                out.push(EngineSpec::Flink {
                                    parallelism,
                                    checkpoint_interval,
                                    watermark_interval,
                                    cluster: s.cluster.as_ref().map(|c| c.get_ref().clone()),
                                    advertise: s.advertise.clone(),
                                });
                            }
                        }
                    }
                }
                EngineName::Spark => {
                    let s = &self.spark;
                    for &parallelism in s.parallelism.get_ref() {
                        for &trigger in s.trigger.get_ref() {
                            out.push(EngineSpec::Spark {
                                parallelism,
                                trigger,
                                master: s.master.as_ref().map(|m| m.get_ref().clone()),
                                advertise: s.advertise.clone(),
                            });
                        }
                    }
                }
            }
        }
        out
    }

    /// How many runs the suite makes.
    pub fn runs(&self) -> usize {
        self.plan().len()
    }
}

impl Failure {
    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            Failure::None { name }
            | Failure::Crash { name, .. }
            | Failure::TaskFailure { name, .. }
            | Failure::Straggler { name, .. } => name,
        }
    }

    /// The scenario as instants of a run's log time (measured period starting at `warmup`);
    /// random crash times come from `seed` and the run's `key`.
    pub fn resolve(&self, key: &str, seed: u64, warmup: Time, measure: Time) -> Injection {
        let mut out = Injection { name: self.name().to_string(), ..Default::default() };
        // the task that fails or straggles: the first task after the sources
        let (stage, task) = (1, 0);
        match self {
            Failure::None { .. } => {}
            Failure::Crash { at, random, detection, .. } => {
                out.crashes = at.iter().map(|t| warmup + t).collect();
                let mut state = seed ^ flowmark_core::key_hash(&key.to_string());
                for _ in 0..*random {
                    // SplitMix64 step: a uniform instant in the measured period's middle 80 %
                    state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = state;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    z ^= z >> 31;
                    let u = (z >> 11) as f64 / (1u64 << 53) as f64;
                    out.crashes.push(warmup + measure / 10 + (u * measure as f64 * 0.8) as Time);
                }
                out.crashes.sort_unstable();
                out.detection = *detection;
            }
            Failure::TaskFailure { at, .. } => {
                out.task_failure = Some(TaskFault { stage, task, at: warmup + at });
            }
            Failure::Straggler { at, length, delay, .. } => {
                out.straggler = Some(Straggler {
                    stage,
                    task,
                    from: warmup + at,
                    until: warmup + at + length,
                    delay: *delay,
                });
            }
        }
        out
    }
}

impl SuiteError {
    fn with_line(mut self, line: usize) -> Self {
        self.line = line;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Suite, SuiteError> {
        Suite::parse(Path::new("suites/test.toml"), text)
    }

    const GOOD: &str = r#"
name = "t"
seed = 1
warmup = "2s"
measure = "10s"
timeout = "60s"
partitions = 4
engines = ["dataflow", "microbatch", "baseline"]
rates = [100000, 200000]

[[workloads]]
workload = "wordcount"

[[workloads]]
workload = "nexmark"
query = "q5"

[[disorder]]
name = "uniform"
delay = { model = "uniform", max = "200ms" }

[[failures]]
kind = "none"
name = "none"

[[failures]]
kind = "crash"
name = "crash"
at = ["5s"]
detection = "1s"

[dataflow]
parallelism = [1, 2]
"#;

    #[test]
    fn the_shipped_suites_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        names.sort();
        assert!(names.len() >= 5, "{names:?}");
        for path in names {
            let suite = Suite::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(suite.runs() > 0, "{}", path.display());
        }
    }

    #[test]
    fn a_good_suite_expands_into_its_matrix() {
        let s = parse(GOOD).unwrap();
        // (dataflow 2 settings + microbatch 1) × 2 failures + the baseline without failures,
        // × 2 workloads × 2 rates × 1 disorder
        let plan = s.plan();
        assert_eq!(plan.len(), (3 * 2 + 1) * 2 * 2);
        let ids: std::collections::BTreeSet<_> = plan.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), plan.len(), "ids are unique");
        let crash = plan.iter().find(|r| r.failure.name == "crash").unwrap();
        assert_eq!(
            crash.failure.crashes,
            vec![7 * flowmark_core::time::SECOND],
            "5 s into the measured period"
        );
        assert!(plan.iter().all(|r| r.engine.name() != "baseline" || r.failure.name == "none"));
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_field() {
        let e = parse(&GOOD.replace("rates = [100000, 200000]", "rate = [1]")).unwrap_err();
        assert_eq!(e.line, 9, "{e}");
        assert!(e.to_string().starts_with("suites/test.toml:9:") && e.to_string().contains("rate"), "{e}");

        let e = parse(&GOOD.replace("partitions = 4", "partitions = \"four\"")).unwrap_err();
        assert_eq!(e.line, 7, "{e}");

        let e = parse(&GOOD.replace("rates = [100000, 200000]", "rates = [100000, -5]")).unwrap_err();
        assert_eq!(e.line, 9);
        assert!(e.message.contains("rates"), "{e}");

        let e = parse(&GOOD.replace("max = \"200ms\"", "max = \"-200ms\"")).unwrap_err();
        assert!(e.message.contains("uniform delay `max`"), "{e}");
        assert_eq!(e.line, 18, "the `[[disorder]]` entry: {e}");

        let e = parse(&GOOD.replace("query = \"q5\"", "query = \"q6\"")).unwrap_err();
        assert!(e.message.contains("q6"), "{e}");

        let e = parse(&GOOD.replace("timeout = \"60s\"", "timeout = \"5s\"")).unwrap_err();
        assert!(e.message.contains("timeout"), "{e}");
        assert_eq!(e.line, 6);

        let e = parse(&GOOD.replace("parallelism = [1, 2]", "parallelism = [0]")).unwrap_err();
        assert!(e.message.contains("parallelism"), "{e}");

        let search = "\n[throughput]\nworkloads = [\"ysb\"]\nstart = 1000\nsteps = 3\nprobe = \"3s\"\nwarmup = \"1s\"\n";
        let e = parse(&format!("{GOOD}{search}")).unwrap_err();
        assert!(e.message.contains("[throughput]") && e.message.contains("ysb"), "{e}");
        let ok = parse(&format!("{GOOD}{}", search.replace("ysb", "nexmark-q5"))).unwrap();
        assert_eq!(ok.searches().len(), 3, "one per engine configuration but the baseline");
    }

    #[test]
    fn real_engines_expand_and_refuse_what_they_cannot_run() {
        let real = GOOD.replace(
            r#"engines = ["dataflow", "microbatch", "baseline"]"#,
            r#"engines = ["flink", "spark"]"#,
        ) + "\n[flink]\ncheckpoint_interval = [\"1s\", \"5s\"]\n[spark]\ntrigger = [\"500ms\"]\n";
        let s = parse(&real).unwrap();
        let plan = s.plan();
        // (flink 2 + spark 1) × 2 workloads × 2 rates × 2 failures
        assert_eq!(plan.len(), 24);
        assert!(plan.iter().any(|r| matches!(
            &r.engine,
            EngineSpec::Flink { checkpoint_interval, cluster: None, .. } if *checkpoint_interval == 5 * flowmark_core::time::SECOND
        )));
        assert!(plan.iter().any(|r| r.engine.name() == "spark" && r.engine.settings()["batch"] == "500ms"));

        let e = parse(&real.replace("query = \"q5\"", "query = \"q3\"")).unwrap_err();
        assert!(e.message.contains("nexmark-q3 cannot run on flink, spark"), "{e}");
        assert_eq!(e.line, 14, "the workload's entry: {e}");

        let straggler = "\n[[failures]]\nkind = \"straggler\"\nname = \"slow\"\nat = \"1s\"\nlength = \"1s\"\ndelay = \"10ms\"\n";
        let e = parse(&format!("{real}{straggler}")).unwrap_err();
        assert!(e.message.contains("failure `slow` cannot run on flink, spark"), "{e}");

        // a crash kills the harness's processes, not a job on a cluster
        let e =
            parse(&real.replace("[spark]\n", "[spark]\nmaster = \"spark://127.0.0.1:7077\"\n")).unwrap_err();
        assert!(e.message.contains("failure `crash`") && e.message.contains("cluster"), "{e}");
        let remote = real.replace("[spark]\n", "[spark]\nmaster = \"spark://127.0.0.1:7077\"\n");
        let remote = remote.replace(
            "[[failures]]\nkind = \"crash\"\nname = \"crash\"\nat = [\"5s\"]\ndetection = \"1s\"\n",
            "",
        );
        let s = parse(&remote).unwrap();
        assert!(s.plan().iter().any(|r| r.engine.settings()["cluster"] == "spark://127.0.0.1:7077"));
    }
}
