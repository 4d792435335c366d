//! Suite files: the matrix of runs a suite makes, read from TOML and checked before anything
//! runs.
//!
//! A suite is engines × workloads × rates × disorders × failure scenarios × engine settings,
//! each run repeated, with a warm-up and a measured period. An unknown key, a wrong type or an
//! impossible value is an error that names the file, the line and the field.

pub mod fields;
pub mod rates;
pub mod scope;

use crate::engines::dataflow::DataflowTable;
use crate::engines::flink::FlinkTable;
use crate::engines::microbatch::MicrobatchTable;
use crate::engines::spark::SparkTable;
use crate::engines::{self, EngineSpec, Table, baseline::BaselineTable};
use crate::limits;
use crate::spec::{CrashMoment, Injection, RunSpec, SearchPlan};
pub use fields::SuiteError;
use fields::{Locate, Tables, durations, spanned_duration};
use flowmark_core::time::duration;
use flowmark_core::{CpuTax, Straggler, TaskFault, Time};
use flowmark_reports::slug;
use flowmark_workloads::{Disorder, LogSpec, RateProfile, SplitMix64, WorkloadSpec};
use rates::Offered;
use serde::Deserialize;
use std::path::Path;
use toml::Spanned;

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
    /// The engines, by name (`flowmark list`).
    pub engines: Spanned<Vec<String>>,
    /// The loads offered: rates (events per second, or multiples of the sustainable rate like
    /// `"0.5x"`) and rate profiles (`rates::Profile`), as written.
    pub rates: Spanned<Vec<Spanned<toml::Value>>>,
    /// The same, read (by [`Suite::parse`]).
    #[serde(skip)]
    offered: Vec<Offered>,
    /// The workloads.
    pub workloads: Vec<Spanned<SuiteWorkload>>,
    /// The disorder levels.
    pub disorder: Vec<Spanned<NamedDisorder>>,
    /// The failure scenarios.
    #[serde(default)]
    pub failures: Vec<Spanned<Failure>>,
    /// Settings of the dataflow engine to try.
    #[serde(default)]
    pub dataflow: Tables<DataflowTable>,
    /// Settings of the micro-batch engine to try.
    #[serde(default)]
    pub microbatch: Tables<MicrobatchTable>,
    /// The baseline (it has no settings).
    #[serde(default)]
    pub baseline: BaselineTable,
    /// Settings of real Apache Flink to try.
    #[serde(default)]
    pub flink: Tables<FlinkTable>,
    /// Settings of real Apache Spark to try.
    #[serde(default)]
    pub spark: Tables<SparkTable>,
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
    /// The most probes a search makes (it stops before, once it has found the rate within
    /// 5 % or reached what the harness can feed).
    #[serde(default = "most_probes")]
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

fn most_probes() -> u32 {
    16
}

impl ThroughputSettings {
    /// The search plan.
    pub fn plan(&self) -> SearchPlan {
        SearchPlan { start: self.start, steps: self.steps, fractions: self.fractions.clone() }
    }
}

/// A `[[workloads]]` entry: a workload with its parameters, and the name its runs go by.
#[derive(Clone, Debug, Deserialize)]
pub struct SuiteWorkload {
    /// The name in run ids and results; by default the workload's own (`flowmark list`). Two
    /// entries of one workload with other parameters need names of their own.
    #[serde(default)]
    name: Option<String>,
    /// The workload.
    #[serde(flatten)]
    pub spec: WorkloadSpec,
}

impl SuiteWorkload {
    /// The name its runs go by.
    pub fn name(&self) -> String {
        self.name.clone().unwrap_or_else(|| self.spec.name())
    }
}

fn one() -> Spanned<u32> {
    fields::unplaced(1)
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
#[allow(clippy::enum_variant_names)] // "task failure" is the scenario's name in suites and docs
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
        /// How long after the kill the harness starts the engine again (default 0): a
        /// stand-in for a cluster manager's reaction, reported as its own phase, never as
        /// the engine's.
        #[serde(default, with = "duration")]
        restart_delay: Time,
        /// The moment each crash waits for (`anywhere`, `checkpoint-write`, `between-logs`).
        #[serde(default)]
        during: CrashMoment,
    },
    /// SIGKILL of one worker of a real engine's cluster (a Flink TaskManager, a Spark
    /// executor; which one the run's seed decides): the engine notices it through its own
    /// heartbeats and recovers by its own means.
    KillWorker {
        /// Its name.
        name: String,
        /// When, into the measured period.
        #[serde(with = "duration")]
        at: Time,
    },
    /// One task fails inside the engine.
    TaskFailure {
        /// Its name.
        name: String,
        /// When, into the measured period.
        #[serde(with = "duration")]
        at: Time,
    },
    /// Extra CPU work in every task of flowmark's engines: a known slowdown of their
    /// processing by about `fraction`, to prove a performance gate with (`docs/ci.md`).
    CpuTax {
        /// Its name.
        name: String,
        /// Extra work as a fraction of the work done (0.1: 10 % more).
        fraction: f64,
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
        /// The stage of the slow task: by default the first after the sources (1); 0 is a
        /// source task — in the micro-batch engine a map task reading the input, which a
        /// speculative copy can stand in for.
        #[serde(default = "first_after_sources")]
        stage: usize,
    },
}

fn first_after_sources() -> usize {
    1
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
        let at = Locate::new(path, text);
        let mut suite: Suite = toml::from_str(text).map_err(|e| {
            let mut error = at.at(0..0, e.message());
            error.line = e.span().map_or(0, |s| at.line(s.start));
            error
        })?;
        suite.check_run(&at)?;
        suite.offered = suite
            .rates
            .get_ref()
            .iter()
            .map(|r| {
                Offered::read(r.get_ref(), *suite.warmup.get_ref())
                    .map_err(|e| at.at(r.span(), format!("`rates`: {e}")))
            })
            .collect::<Result<_, _>>()?;
        for (i, o) in suite.offered.iter().enumerate() {
            if suite.offered[..i].iter().any(|p| p.label() == o.label()) {
                return Err(at.at(
                    suite.rates.get_ref()[i].span(),
                    format!(
                        "`rates`: a second load named `{}`: give a profile a `name` of its own",
                        o.label()
                    ),
                ));
            }
        }
        suite.check_matrix(&at)?;
        for (_, table) in suite.tables() {
            table.check(&at)?;
        }
        suite.check_scopes(&at)?;
        suite.check_refusals(&at)?;
        suite.check_search(&at)?;
        suite.check_relative(&at)?;
        Ok(suite)
    }

    /// Every engine's table, by the engine's name.
    fn tables(&self) -> [(&'static str, &dyn Table); 5] {
        [
            (engines::dataflow::REGISTERED.name, &self.dataflow),
            (engines::microbatch::REGISTERED.name, &self.microbatch),
            (engines::baseline::REGISTERED.name, &self.baseline),
            (engines::flink::REGISTERED.name, &self.flink),
            (engines::spark::REGISTERED.name, &self.spark),
        ]
    }

    /// The times, repetitions and partitions of every run.
    fn check_run(&self, at: &Locate) -> Result<(), SuiteError> {
        for (name, v) in [("measure", &self.measure), ("timeout", &self.timeout)] {
            if *v.get_ref() <= 0 {
                return Err(at.at(v.span(), format!("`{name}` must be positive")));
            }
        }
        if *self.warmup.get_ref() < 0 {
            return Err(at.at(self.warmup.span(), "`warmup` must be zero or more"));
        }
        let Some(run) = self.warmup.get_ref().checked_add(*self.measure.get_ref()) else {
            return Err(at.at(
                self.measure.span(),
                "`warmup` plus `measure` overflows log time (at most 292 years of nanoseconds)",
            ));
        };
        if *self.timeout.get_ref() <= run {
            return Err(at.at(self.timeout.span(), "`timeout` must be longer than `warmup` plus `measure`"));
        }
        if *self.repetitions.get_ref() == 0 {
            return Err(at.at(self.repetitions.span(), "`repetitions` must be at least 1"));
        }
        if *self.partitions.get_ref() == 0 {
            return Err(at.at(self.partitions.span(), "`partitions` must be at least 1"));
        }
        Ok(())
    }

    /// The engines, rates, workloads and disorder levels.
    fn check_matrix(&self, at: &Locate) -> Result<(), SuiteError> {
        let engines = self.engines.get_ref();
        if engines.is_empty() {
            return Err(at.at(self.engines.span(), "`engines` names no engine"));
        }
        if let Some(e) = engines.iter().find(|e| engines::named(e).is_none()) {
            return Err(at.at(
                self.engines.span(),
                format!("unknown engine `{e}` in `engines`; the engines are: {}", engines::names()),
            ));
        }
        if self.offered.is_empty() || self.workloads.is_empty() || self.disorder.is_empty() {
            return Err(
                at.at(0..0, "a suite needs at least one rate, one `[[workloads]]` and one `[[disorder]]`")
            );
        }
        for (i, w) in self.workloads.iter().enumerate() {
            let name = w.get_ref().name();
            if name.is_empty() || name.contains(['.', '/', ' ']) {
                return Err(at.at(
                    w.span(),
                    format!("workload name `{name}` must be non-empty, without dots, slashes or spaces"),
                ));
            }
            if self.workloads[..i].iter().any(|o| o.get_ref().name() == name) {
                return Err(at.at(
                    w.span(),
                    format!(
                        "a second `[[workloads]]` entry named `{name}`: give each entry of a workload a `name` of its own"
                    ),
                ));
            }
        }
        for d in &self.disorder {
            d.get_ref()
                .disorder()
                .validate()
                .map_err(|e| at.at(d.span(), format!("disorder `{}`: {e}", d.get_ref().name)))?;
        }
        let (warmup, measure) = (*self.warmup.get_ref(), *self.measure.get_ref());
        for w in &self.workloads {
            for (offered, written) in self.offered.iter().zip(self.rates.get_ref()) {
                // a multiple of the sustainable rate is checked when it is known, before its run
                let Some(profile) = offered.resolve(warmup, None) else { continue };
                let rate = profile.peak();
                let log = LogSpec {
                    seed: self.seed,
                    partitions: *self.partitions.get_ref(),
                    rate: profile,
                    disorder: Disorder::default(),
                };
                if let Some(why) = limits::refuses(&w.get_ref().spec, &log, rate, warmup + measure) {
                    return Err(at.at(written.span(), format!("`rates`: {why}")));
                }
            }
        }
        for f in &self.failures {
            let (name, times) = match f.get_ref() {
                Failure::Crash { name, at, .. } => (name, at.clone()),
                Failure::TaskFailure { name, at } | Failure::KillWorker { name, at } => (name, vec![*at]),
                Failure::Straggler { name, at, length, .. } => (name, vec![at.saturating_add(*length)]),
                _ => continue,
            };
            if times.iter().any(|t| t.checked_add(warmup).is_none_or(|t| t >= i64::MAX / 2)) {
                return Err(at.at(f.span(), format!("failure `{name}`: its times overflow log time")));
            }
        }
        for f in &self.failures {
            if let Failure::CpuTax { name, fraction } = f.get_ref()
                && !(fraction.is_finite() && (0.0..=10.0).contains(fraction))
            {
                return Err(at.at(
                    f.span(),
                    format!("failure `{name}`: `fraction` must lie in [0, 10], got {fraction}"),
                ));
            }
        }
        Ok(())
    }

    /// What an engine cannot run — a workload it has no job for, a failure it cannot take —
    /// refuses the suite, at the workload's or the failure's entry; a configuration is asked
    /// only about what its table's scope lets it run.
    fn check_refusals(&self, at: &Locate) -> Result<(), SuiteError> {
        let configurations = self.scoped_configurations();
        let refusal = |w: &Spanned<SuiteWorkload>, failure: &Injection, scenario: Option<&str>| {
            let (workload, name) = (&w.get_ref().spec, w.get_ref().name());
            let mut names: Vec<&str> = Vec::new();
            let mut reason = None;
            for (engine, scopes) in &configurations {
                if !scopes.iter().any(|s| s.admits_some(&name, scenario)) {
                    continue;
                }
                if let Some(why) = engine.engine().refuses(workload, failure) {
                    if !names.contains(&engine.name()) {
                        names.push(engine.name());
                    }
                    reason.get_or_insert(why);
                }
            }
            reason.map(|why| (names.join(", "), why))
        };
        let none = Injection::default();
        for w in &self.workloads {
            if let Some((names, why)) = refusal(w, &none, None) {
                return Err(at.at(w.span(), format!("{} cannot run on {names}: {why}", w.get_ref().name())));
            }
        }
        let (warmup, measure) = (*self.warmup.get_ref(), *self.measure.get_ref());
        for f in &self.failures {
            let injection = f.get_ref().resolve("check", self.seed, warmup, measure);
            for w in &self.workloads {
                if let Some((names, why)) = refusal(w, &injection, Some(f.get_ref().name())) {
                    return Err(at.at(
                        f.span(),
                        format!("failure `{}` cannot run on {names}: {why}", f.get_ref().name()),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The names every table's `only` gives.
    fn check_scopes(&self, at: &Locate) -> Result<(), SuiteError> {
        let workloads: Vec<String> = self.workloads.iter().map(|w| w.get_ref().name()).collect();
        let rates: Vec<String> = self.offered.iter().map(Offered::label).collect();
        let disorder: Vec<String> = self.disorder.iter().map(|d| d.get_ref().name.clone()).collect();
        let failures: Vec<String> = self.failure_list().iter().map(|f| f.name().to_string()).collect();
        for (_, table) in self.tables() {
            for only in table.scopes() {
                scope::Scope::check(only, at, &workloads, &rates, &disorder, &failures)?;
            }
        }
        Ok(())
    }

    /// The failure scenarios; one of kind `none` when the suite names none.
    fn failure_list(&self) -> Vec<Failure> {
        if self.failures.is_empty() {
            vec![Failure::None { name: "none".into() }]
        } else {
            self.failures.iter().map(|f| f.get_ref().clone()).collect()
        }
    }

    /// The sustainable-throughput search's settings.
    fn check_search(&self, at: &Locate) -> Result<(), SuiteError> {
        let Some(t) = &self.throughput else { return Ok(()) };
        let s = t.get_ref();
        let bad = |m: String| Err(at.at(t.span(), format!("[throughput]: {m}")));
        if !(s.start.is_finite() && s.start > 0.0) || s.steps == 0 || s.probe <= 0 || s.warmup < 0 {
            return bad("`start`, `steps` and `probe` must be positive, `warmup` zero or more".into());
        }
        if let Some(f) = s.fractions.iter().find(|f| !(**f > 0.0 && **f <= 1.0)) {
            return bad(format!("`fractions` must lie in (0, 1], got {f}"));
        }
        let names: Vec<String> = self.workloads.iter().map(|w| w.get_ref().name()).collect();
        if let Some(w) = s.workloads.iter().find(|w| !names.contains(w)) {
            return bad(format!("workload `{w}` is not one of the suite's: {}", names.join(", ")));
        }
        Ok(())
    }

    /// A load given as a multiple of the sustainable rate needs a search for every run that
    /// offers it.
    fn check_relative(&self, at: &Locate) -> Result<(), SuiteError> {
        let searches: Vec<String> = self.searches().iter().map(|s| s.key.clone()).collect();
        for run in self.plan() {
            let Some(offered) = &run.pending else { continue };
            if !searches.contains(&run.search_key()) {
                let i = self.offered.iter().position(|o| o == offered).unwrap_or(0);
                return Err(at.at(
                    self.rates.get_ref()[i].span(),
                    format!(
                        "`rates`: `{}` is relative to the sustainable rate, but [throughput] does not search {} on {} (add the workload to [throughput] `workloads`, or let the engine table's `only` search)",
                        offered.label(),
                        run.workload_name,
                        run.engine.key()
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Whether a run's load depends on a search: the searches then come first.
    pub fn searches_first(&self) -> bool {
        self.offered.iter().any(Offered::relative)
    }

    /// Every run of the suite, in the order they run: repetitions outermost (so an early stop
    /// still covers every configuration), then workloads, rates, disorders, failures, engines.
    pub fn plan(&self) -> Vec<RunSpec> {
        let failures = self.failure_list();
        let (warmup, measure) = (*self.warmup.get_ref(), *self.measure.get_ref());
        let configurations = self.scoped_configurations();
        let mut plan = Vec::new();
        for repetition in 0..*self.repetitions.get_ref() {
            for (workload, offered, disorder) in self.logs() {
                for failure in &failures {
                    for (engine, scopes) in &configurations {
                        let load = offered.label();
                        if !scopes
                            .iter()
                            .any(|s| s.admits(&workload.name(), &load, &disorder.name, failure.name()))
                        {
                            continue;
                        }
                        let key = slug(&format!(
                            "{}.{}.{}.{}.{}",
                            workload.name(),
                            engine.key(),
                            offered.label(),
                            disorder.name,
                            failure.name()
                        ));
                        let injection = failure.resolve(&key, self.seed, warmup, measure);
                        if engine.engine().skips(&workload.spec, &injection) {
                            continue;
                        }
                        // the baseline runs flat out, and has no sustainable rate to scale by
                        if engine.engine().is_baseline() && offered.relative() {
                            continue;
                        }
                        // a load relative to the sustainable rate is set once the search
                        // has found it
                        let profile = offered.resolve(warmup, None);
                        let rate = profile.as_ref().map_or(0.0, RateProfile::peak);
                        let log = self.log(profile.unwrap_or(RateProfile::constant(1.0)), disorder);
                        plan.push(RunSpec {
                            id: format!("{key}.{repetition}"),
                            key,
                            repetition,
                            engine: engine.clone(),
                            workload: workload.spec.clone(),
                            workload_name: workload.name(),
                            log,
                            rate,
                            load: offered.label(),
                            pending: offered.relative().then(|| offered.clone()),
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
        plan
    }

    /// Every workload × load × disorder level.
    fn logs(&self) -> Vec<(&SuiteWorkload, &Offered, &NamedDisorder)> {
        let mut out = Vec::new();
        for workload in &self.workloads {
            for offered in &self.offered {
                for disorder in &self.disorder {
                    out.push((workload.get_ref(), offered, disorder.get_ref()));
                }
            }
        }
        out
    }

    fn log(&self, rate: RateProfile, disorder: &NamedDisorder) -> LogSpec {
        LogSpec {
            seed: self.seed,
            partitions: *self.partitions.get_ref(),
            rate,
            disorder: disorder.disorder(),
        }
    }

    /// The sustainable-throughput searches: a base run (its rate set per probe) per engine
    /// configuration that has a sustainable rate and named workload.
    pub fn searches(&self) -> Vec<RunSpec> {
        let Some(t) = &self.throughput else { return Vec::new() };
        let t = t.get_ref();
        let disorder = self.disorder[0].get_ref();
        let unfailing: Vec<String> = self
            .failure_list()
            .iter()
            .filter(|f| matches!(f, Failure::None { .. }))
            .map(|f| f.name().to_string())
            .collect();
        let mut out = Vec::new();
        for name in &t.workloads {
            let Some(workload) = self.workloads.iter().map(|w| w.get_ref()).find(|w| &w.name() == name)
            else {
                continue;
            };
            for (engine, _) in self.scoped_configurations().into_iter().filter(|(e, scopes)| {
                !e.engine().is_baseline()
                    && scopes.iter().any(|s| s.admits_search(name, &disorder.name, &unfailing))
            }) {
                let log = self.log(RateProfile::constant(1.0), disorder);
                // a micro-batch engine's backlog is a saw-tooth over the batch interval: a
                // probe shorter than a few intervals cannot tell it from growth
                let interval = engine.engine().batch_interval();
                let (warmup, probe) = (t.warmup.max(interval), t.probe.max(3 * interval));
                out.push(RunSpec::search(
                    engine,
                    workload.spec.clone(),
                    name,
                    log,
                    &disorder.name,
                    warmup,
                    probe,
                ));
            }
        }
        out
    }

    /// Every engine configuration (for tests: the plan is made from the scoped ones).
    #[cfg(test)]
    fn configurations(&self) -> Vec<EngineSpec> {
        self.scoped_configurations().into_iter().map(|(c, _)| c).collect()
    }

    /// Every engine configuration with the scopes it runs in.
    fn scoped_configurations(&self) -> Vec<(EngineSpec, Vec<scope::Scope>)> {
        let tables = self.tables();
        self.engines
            .get_ref()
            .iter()
            .filter_map(|name| tables.iter().find(|(n, _)| n == name))
            .flat_map(|(_, table)| table.scoped())
            .collect()
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
            | Failure::KillWorker { name, .. }
            | Failure::CpuTax { name, .. }
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
            Failure::Crash { at, random, restart_delay, during, .. } => {
                out.crashes = at.iter().map(|t| warmup + t).collect();
                // uniform instants in the measured period's middle 80 %
                let mut rng = SplitMix64::from_state(seed ^ flowmark_core::key_hash(&key.to_string()));
                for _ in 0..*random {
                    let u = rng.next_f64();
                    out.crashes.push(warmup + measure / 10 + (u * measure as f64 * 0.8) as Time);
                }
                out.crashes.sort_unstable();
                out.restart_delay = *restart_delay;
                out.crash_during = *during;
            }
            Failure::TaskFailure { at, .. } => {
                out.task_failure = Some(TaskFault { stage, task, at: warmup + at });
            }
            Failure::KillWorker { at, .. } => out.kill_worker = Some(warmup + at),
            Failure::CpuTax { fraction, .. } => out.cpu_tax = Some(CpuTax { fraction: *fraction }),
            Failure::Straggler { at, length, delay, stage, .. } => {
                out.straggler = Some(Straggler {
                    stage: *stage,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::flink::Flink;
    use flowmark_core::time::SECOND;

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
restart_delay = "1s"

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
    fn every_registered_engine_has_a_table_whose_defaults_make_its_default_configuration() {
        let s = parse(GOOD).unwrap();
        let tables = s.tables();
        assert_eq!(tables.len(), engines::REGISTRY.len());
        for e in engines::REGISTRY {
            let (_, table) =
                tables.iter().find(|(n, _)| *n == e.name).unwrap_or_else(|| panic!("{}", e.name));
            if e.name != "dataflow" {
                // GOOD sets [dataflow]; every other table is its default
                assert_eq!(table.configurations()[0], (e.default)(), "{}", e.name);
            }
            assert_eq!((e.default)().name(), e.name);
        }
    }

    #[test]
    fn an_unknown_engine_is_named_with_the_known_ones() {
        let e = parse(&GOOD.replace(r#""baseline"]"#, r#""storm"]"#)).unwrap_err();
        assert_eq!(e.line, 8, "{e}");
        assert!(
            e.message.contains("`storm`")
                && e.message.contains("dataflow, microbatch, baseline, flink, spark"),
            "{e}"
        );
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
        assert_eq!(crash.failure.crashes, vec![7 * SECOND], "5 s into the measured period");
        assert!(plan.iter().all(|r| r.engine.name() != "baseline" || r.failure.name == "none"));
    }

    #[test]
    fn rates_may_be_profiles_and_multiples_of_the_sustainable_rate() {
        let text = GOOD
            .replace(
                "rates = [100000, 200000]",
                r#"rates = [
  100000,
  { profile = "burst", base = "0.5x", peak = "1.5x", at = "3s", length = "2s" },
  { profile = "ramp", name = "up", from = 100000, to = 300000, over = "5s" },
  { profile = "step", from = 100000, to = 200000, at = "4s" },
  { profile = "sine", mean = 200000, amplitude = 100000, period = "5s" },
]"#,
            )
            .replace(
                "[dataflow]",
                r#"[throughput]
workloads = ["wordcount", "nexmark-q5"]
start = 100000
probe = "3s"
warmup = "1s"

[dataflow]"#,
            );
        let s = parse(&text).unwrap();
        let plan = s.plan();
        let run = |label: &str| plan.iter().find(|r| r.key.contains(&format!(".{label}."))).unwrap();
        assert_eq!(run("100000").log.rate, RateProfile::constant(1e5));
        assert_eq!(run("100000").pending, None);
        let burst = run("burst-0.5x-1.5x");
        assert!(burst.pending.is_some(), "set from the search before it runs");
        assert!(s.searches_first());
        let mut resolved = burst.clone();
        resolved.offer(burst.pending.as_ref().unwrap().resolve(burst.warmup, Some(4e5)).unwrap());
        assert_eq!(
            resolved.log.rate,
            RateProfile::Burst { base: 2e5, peak: 6e5, length: 2 * SECOND, at: 5 * SECOND, every: None }
        );
        assert_eq!(resolved.rate, 6e5, "a run's rate is its highest");
        assert_eq!(
            run("up").log.rate,
            RateProfile::Ramp { from: 1e5, to: 3e5, over: 5 * SECOND, at: 2 * SECOND }
        );
        assert_eq!(run("step-100000-200000").rate, 2e5);
        assert!(matches!(run("sine-200000-100000").log.rate, RateProfile::Sine { .. }));
        assert!(
            plan.iter().all(|r| r.engine.name() != "baseline" || r.pending.is_none()),
            "the baseline has no sustainable rate to scale by"
        );
        // a bad profile is an error at its own line
        let e = parse(&text.replace("length = \"2s\"", "lenght = \"2s\"")).unwrap_err();
        assert_eq!(e.line, 11, "{e}");
        assert!(e.message.contains("lenght"), "{e}");
        let e = parse(&text.replace("period = \"5s\"", "period = \"0s\"")).unwrap_err();
        assert_eq!(e.line, 14, "{e}");
        // a multiple of the sustainable rate needs the search
        let e = parse(&text.replace("\"nexmark-q5\"]", "]")).unwrap_err();
        assert_eq!(e.line, 11, "{e}");
        assert!(
            e.message.contains("relative to the sustainable rate") && e.message.contains("nexmark-q5"),
            "{e}"
        );
        assert!(!parse(GOOD).unwrap().searches_first());
        // two loads of one name would be runs of one id
        let e = parse(&text.replace(r#"name = "up""#, r#"name = "step-100000-200000""#)).unwrap_err();
        assert_eq!(e.line, 13, "{e}");
        assert!(e.message.contains("a second load named `step-100000-200000`"), "{e}");
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
    fn checkpointing_off_snapshots_and_processing_time_are_settings_of_their_own() {
        let tables = "\n[dataflow]\ncheckpoint_interval = [\"off\", \"200ms\"]\ntime_domain = [\"event\", \"processing\"]\n\
                      [microbatch]\nsnapshot_every = [1, 10]\n";
        let s = parse(&(GOOD.replace("[dataflow]\nparallelism = [1, 2]\n", "") + tables)).unwrap();
        let labels: Vec<String> = s
            .scoped_configurations()
            .iter()
            .map(|(e, _)| e.engine().labels())
            .map(|l| {
                l.iter()
                    .filter(|(k, _)| ["checkpoint", "time", "snapshot_every"].contains(&k.as_str()))
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        assert_eq!(
            labels,
            [
                "checkpoint=off",
                "checkpoint=off time=processing",
                "checkpoint=200ms",
                "checkpoint=200ms time=processing",
                "snapshot_every=1 time=event",
                "time=event",
                "",
            ],
            "the defaults (event time, a snapshot every 10 batches) are not named on the dataflow engine"
        );
        for (bad, field) in [
            (
                "checkpoint_interval = [\"of\"]",
                "`of` is not a duration: expected a number and a unit, like 250ms, or \"off\"",
            ),
            ("checkpoint_interval = [\"0s\"]", "checkpoint_interval"),
            ("time_domain = [\"wall\"]", "wall"),
        ] {
            let e = parse(&(GOOD.replace("parallelism = [1, 2]", bad))).unwrap_err();
            assert!(e.message.contains(field), "{bad}: {e}");
            assert_eq!(e.line, 33, "{bad}: {e}");
        }
        let e = parse(&(GOOD.to_string() + "\n[microbatch]\nsnapshot_every = [0]\n")).unwrap_err();
        assert!(e.message.contains("snapshot_every"), "{e}");
    }

    #[test]
    fn entries_of_one_workload_go_by_names_of_their_own() {
        let sizes = "\n[[workloads]]\nname = \"wordcount-1k\"\nworkload = \"wordcount\"\nvocabulary = 1000\n";
        let s = parse(&format!("{GOOD}{sizes}")).unwrap();
        let plan = s.plan();
        let small: Vec<&RunSpec> = plan.iter().filter(|r| r.workload_name == "wordcount-1k").collect();
        assert_eq!(small.len(), plan.len() / 3, "a third workload, as many runs as each of the others");
        assert!(small.iter().all(|r| r.id.starts_with("wordcount-1k.")), "{}", small[0].id);
        assert!(matches!(&small[0].workload, WorkloadSpec::Wordcount(w) if w.vocabulary == 1000));
        let ids: std::collections::BTreeSet<_> = plan.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids.len(), plan.len(), "ids are unique");

        // a second entry of word count without a name of its own collides with the first
        let twice = "\n[[workloads]]\nworkload = \"wordcount\"\nvocabulary = 1000\n";
        let e = parse(&format!("{GOOD}{twice}")).unwrap_err();
        assert!(e.message.contains("`wordcount`") && e.message.contains("`name`"), "{e}");
        assert_eq!(e.line, GOOD.lines().count() + 2, "the second entry: {e}");
        let e = parse(&format!("{GOOD}{}", sizes.replace("wordcount-1k", "word.count"))).unwrap_err();
        assert!(e.message.contains("dots"), "{e}");
        // its parameters are still checked, and unknown keys still refused
        let e = parse(&format!("{GOOD}{}", sizes.replace("vocabulary", "vocabularyy"))).unwrap_err();
        assert!(e.message.contains("vocabularyy"), "{e}");
    }

    #[test]
    fn a_table_runs_only_where_it_says() {
        let tables = "\n[[dataflow]]\nparallelism = [1]\n\
                      [[dataflow]]\nparallelism = [2]\nonly = { workloads = [\"nexmark-q5\"], failures = [\"none\"] }\n\
                      [throughput]\nworkloads = [\"wordcount\", \"nexmark-q5\"]\nstart = 1000\nprobe = \"1s\"\nwarmup = \"1s\"\n";
        let s = parse(&(GOOD.replace("[dataflow]\nparallelism = [1, 2]\n", "") + tables)).unwrap();
        let p2: Vec<RunSpec> = s
            .plan()
            .into_iter()
            .filter(|r| r.engine.name() == "dataflow" && r.engine.settings()["parallelism"] == "2")
            .collect();
        // nexmark-q5 × 2 rates × 1 disorder × the failure `none`
        assert_eq!(p2.len(), 2, "{:?}", p2.iter().map(|r| &r.id).collect::<Vec<_>>());
        assert!(p2.iter().all(|r| r.workload_name == "nexmark-q5" && r.failure.name == "none"));
        let p1 =
            s.plan().into_iter().filter(|r| r.engine.settings().get("parallelism").is_some_and(|p| p == "1"));
        assert_eq!(p1.count(), 2 * 2 * 2, "unscoped: 2 workloads × 2 rates × 2 failures");
        let searched: Vec<String> = s.searches().iter().map(|r| r.id.clone()).collect();
        assert_eq!(
            searched.iter().filter(|id| id.contains("dataflow") && id.starts_with("wordcount.")).count(),
            1,
            "{searched:?}"
        );
        assert_eq!(
            searched.iter().filter(|id| id.contains("dataflow") && id.starts_with("nexmark-q5.")).count(),
            2,
            "{searched:?}"
        );

        for (bad, what) in [
            ("workloads = [\"nexmark-q5\"]", "workloads = [\"q6\"]"),
            ("failures = [\"none\"]", "failures = []"),
            ("failures = [\"none\"]", "kinds = [\"none\"]"),
        ] {
            let text = GOOD.replace("[dataflow]\nparallelism = [1, 2]\n", "") + &tables.replace(bad, what);
            let e = parse(&text).unwrap_err();
            assert_eq!(e.line, GOOD.lines().count() - 2 + 6, "the `only` line, {what}: {e}");
        }
    }

    #[test]
    fn a_micro_batch_probe_spans_three_batch_intervals() {
        let tables = "\n[microbatch]\nbatch_interval = [\"200ms\", \"2s\"]\n\
                      [throughput]\nworkloads = [\"wordcount\"]\nstart = 1000\nprobe = \"1s\"\nwarmup = \"500ms\"\n";
        let s = parse(&format!("{GOOD}{tables}")).unwrap();
        let spans: Vec<(String, Time, Time)> = s
            .searches()
            .into_iter()
            .filter(|r| r.engine.name() == "microbatch")
            .map(|r| (r.engine.settings()["batch"].clone(), r.warmup, r.measure))
            .collect();
        let second = SECOND;
        assert_eq!(
            spans,
            vec![("200ms".into(), second / 2, 3 * second / 5), ("2s".into(), 2 * second, 6 * second)]
                .into_iter()
                .map(|(b, w, m): (String, Time, Time)| (b, w, m.max(second)))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn several_tables_of_an_engine_add_up_their_configurations_once_each() {
        let tables = "\n[[microbatch]]\nbatch_interval = [\"200ms\", \"1s\"]\n\n[[microbatch]]\nsnapshot_every = [1]\n\n\
                      [[microbatch]]\nbatch_interval = [\"1s\"]\n";
        let s = parse(&(GOOD.to_string() + tables)).unwrap();
        let mb: Vec<String> = s
            .scoped_configurations()
            .iter()
            .filter(|(e, _)| e.name() == "microbatch")
            .map(|(e, _)| e.engine().labels())
            .map(|l| format!("{} {}", l["batch"], l.get("snapshot_every").map_or("10", |s| s.as_str())))
            .collect();
        assert_eq!(mb, ["200ms 10", "1s 10", "1s 1"], "the third table repeats the second configuration");
        // an error inside the second table names its line
        let e = parse(&(GOOD.to_string() + &tables.replace("snapshot_every = [1]", "snapshot_every = [0]")))
            .unwrap_err();
        assert!(e.message.contains("snapshot_every"), "{e}");
        let e = parse(&(GOOD.to_string() + &tables.replace("snapshot_every = [1]", "snapshot = [1]")))
            .unwrap_err();
        assert!(e.message.contains("unknown field `snapshot`"), "{e}");
        assert_eq!(e.line, GOOD.lines().count() + 6, "{e}");
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
            EngineSpec::Flink(Flink { checkpoint_interval, cluster: None, .. }) if *checkpoint_interval == 5 * SECOND
        )));
        assert!(plan.iter().any(|r| r.engine.name() == "spark" && r.engine.settings()["batch"] == "500ms"));

        let e = parse(&real.replace("query = \"q5\"", "query = \"q4\"")).unwrap_err();
        assert!(e.message.contains("nexmark-q4 cannot run on flink, spark"), "{e}");
        assert!(e.message.contains("no flink job for nexmark-q4 yet"), "the reason: {e}");
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
            "[[failures]]\nkind = \"crash\"\nname = \"crash\"\nat = [\"5s\"]\nrestart_delay = \"1s\"\n",
            "",
        );
        let s = parse(&remote).unwrap();
        assert!(s.plan().iter().any(|r| r.engine.settings()["cluster"] == "spark://127.0.0.1:7077"));

        // a worker killed: only on a cluster, where a crash is refused; tables scoped to
        // their failures run each where it can
        let kill = "\n[[failures]]\nkind = \"kill-worker\"\nname = \"kill\"\nat = \"2s\"\n";
        let e = parse(&format!("{real}{kill}")).unwrap_err();
        assert!(e.message.contains("failure `kill` cannot run on flink, spark"), "{e}");
        assert!(e.message.contains("`flink.cluster`"), "names the setting: {e}");
        let e = parse(&format!("{}{kill}", GOOD)).unwrap_err();
        assert!(e.message.contains("flowmark's engines run in one process"), "{e}");
        let both = format!("{real}{kill}")
            .replace("\n[flink]\n", "\n[[flink]]\nonly = { failures = [\"none\", \"crash\"] }\n")
            .replace("\n[spark]\n", "\n[[spark]]\nonly = { failures = [\"none\", \"crash\"] }\n")
            + "\n[[flink]]\ncluster = \"127.0.0.1:8081\"\nonly = { failures = [\"kill\"] }\n"
            + "\n[[spark]]\nmaster = \"spark://127.0.0.1:7077\"\nonly = { failures = [\"kill\"] }\n";
        let plan = parse(&both).unwrap().plan();
        let killed: Vec<&RunSpec> = plan.iter().filter(|r| r.failure.kill_worker.is_some()).collect();
        assert_eq!(killed.len(), 2 * 2 * 2, "flink and spark on a cluster × 2 workloads × 2 rates");
        assert!(killed.iter().all(|r| r.engine.settings()["cluster"] != "local"));
        assert_eq!(killed[0].failure.kill_worker, Some(2 * SECOND + *parse(&both).unwrap().warmup.get_ref()));

        // like flowmark's engines, each may have several tables, each with its own scope
        let tables = real.replace("\n[flink]\n", "\n[[flink]]\n")
            + "\n[[flink]]\ncheckpoint_interval = [\"200ms\"]\nonly = { failures = [\"none\"] }\n";
        let plan = parse(&tables).unwrap().plan();
        let flink = |ms: Time| {
            plan.iter()
                .filter(|r| {
                    matches!(&r.engine, EngineSpec::Flink(f) if f.checkpoint_interval == ms * flowmark_core::time::MILLISECOND)
                })
                .count()
        };
        assert_eq!((flink(1000), flink(5000), flink(200)), (8, 8, 4), "200 ms without the crash");
    }

    #[test]
    fn state_backends_are_settings_and_incremental_is_one_of_rocksdb_only() {
        let real = GOOD.replace(
            r#"engines = ["dataflow", "microbatch", "baseline"]"#,
            r#"engines = ["flink", "spark"]"#,
        );
        let tables = "\n[flink]\nstate_backend = [\"hashmap\", \"rocksdb\"]\nincremental = [true, false]\n\
                      [spark]\nstate_store = [\"hdfs\", \"rocksdb\"]\n";
        let s = parse(&format!("{real}{tables}")).unwrap();
        let keys: Vec<String> = s.configurations().iter().map(EngineSpec::key).collect();
        assert_eq!(
            keys,
            [
                // the heap backend runs once, and its key is that of runs made before the setting
                "flink.1s-local-2-200ms",
                "flink.1s-local-2-rocksdb-incremental-200ms",
                "flink.1s-local-2-rocksdb-200ms",
                "spark.1s-local-2",
                "spark.1s-local-2-rocksdb",
            ]
        );
        let state = |e: &EngineSpec| match e {
            EngineSpec::Flink(f) => format!("{:?} {}", f.state_backend, f.incremental),
            EngineSpec::Spark(s) => format!("{:?}", s.state_store),
            _ => unreachable!(),
        };
        let states: Vec<String> = s.configurations().iter().map(state).collect();
        assert_eq!(states, ["HashMap false", "RocksDb true", "RocksDb false", "Hdfs", "RocksDb"]);

        let heap_only =
            tables.replace(r#"state_backend = ["hashmap", "rocksdb"]"#, r#"state_backend = ["hashmap"]"#);
        let e = parse(&format!("{real}{heap_only}")).unwrap_err();
        assert!(e.message.contains("flink.incremental = true") && e.message.contains("rocksdb"), "{e}");
        assert_eq!(e.line, real.lines().count() + 4, "the line of `incremental`: {e}");
        let e = parse(&format!("{real}{}", tables.replace(r#""hdfs", "rocksdb""#, r#""hdfs", "memory""#)))
            .unwrap_err();
        assert!(e.message.contains("unknown variant `memory`"), "{e}");
        let e = parse(&format!("{real}{}", tables.replace(r#"["hdfs", "rocksdb"]"#, "[]"))).unwrap_err();
        assert!(e.message.contains("`state_store` must list at least one value"), "{e}");
    }

    use proptest::prelude::*;

    /// Every suite shipped in `suites/`: (path, text).
    fn shipped() -> Vec<(String, String)> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites");
        let mut out: Vec<(String, String)> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .map(|p| (p.display().to_string(), std::fs::read_to_string(&p).unwrap()))
            .collect();
        out.sort();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(384))]

        /// Fuzzing the suite parser: every shipped suite with a line dropped, doubled or given
        /// an extreme value, and bytes flipped, parses and plans, or is an error naming the
        /// file — never a panic, never a plan without end.
        #[test]
        fn a_damaged_suite_file_plans_or_is_an_error_naming_it(
            which in any::<usize>(),
            line in any::<usize>(),
            how in 0..4u8,
            by in prop::sample::select(vec!["-1", "0", "1e308", "18446744073709551615", "0.5", "\"\"", "[]", "{}", "\"1e9x\""]),
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..2),
        ) {
            let suites = shipped();
            let (name, text) = &suites[which % suites.len()];
            let mut lines: Vec<String> = text.lines().map(String::from).collect();
            let l = line % lines.len();
            match how {
                0 => drop(lines.remove(l)),
                1 => lines.insert(l, lines[l].clone()),
                2 => {
                    if let Some((key, _)) = lines[l].split_once('=') {
                        lines[l] = format!("{key}= {by}");
                    }
                }
                _ => {}
            }
            let mut bytes = lines.join("\n").into_bytes();
            for (at, x) in &flips {
                let n = bytes.len();
                bytes[at % n] ^= x;
            }
            let text = String::from_utf8_lossy(&bytes);
            match Suite::parse(Path::new(name), &text) {
                Ok(suite) => {
                    let _ = suite.plan();
                }
                Err(e) => prop_assert!(e.to_string().contains(name.as_str()), "{}", e),
            }
        }
    }
}
