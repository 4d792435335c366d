//! Suite files: the matrix of runs a suite makes, read from TOML and checked before anything
//! runs.
//!
//! A suite is engines × workloads × rates × disorders × failure scenarios × engine settings,
//! each run repeated, with a warm-up and a measured period. An unknown key, a wrong type or an
//! impossible value is an error that names the file, the line and the field.

use flowmark_core::Time;
use flowmark_core::time::duration;
use flowmark_workloads::{Disorder, WorkloadSpec};
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
pub enum Failure {
    /// No failure.
    None {
        /// Its name.
        name: String,
    },
    /// SIGKILL of the engine process at the given times into the measured period.
    Crash {
        /// Its name.
        name: String,
        /// When, measured from the start of the measured period.
        #[serde(with = "durations")]
        at: Vec<Time>,
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
        for p in [&suite.dataflow.parallelism, &suite.microbatch.parallelism] {
            if p.get_ref().is_empty() || p.get_ref().contains(&0) {
                return Err(at(p.span(), "`parallelism` must list values of at least 1".into()));
            }
        }
        for d in [&suite.dataflow.checkpoint_interval, &suite.microbatch.batch_interval] {
            if d.get_ref().iter().any(|t| *t <= 0) {
                return Err(at(d.span(), "intervals must be positive".into()));
            }
        }
        Ok(suite)
    }

    /// How many runs the suite makes.
    pub fn runs(&self) -> usize {
        let per_engine: usize = self
            .engines
            .get_ref()
            .iter()
            .map(|e| match e {
                EngineName::Dataflow => {
                    let s = &self.dataflow;
                    s.parallelism.get_ref().len()
                        * s.checkpoint_interval.get_ref().len()
                        * s.buffer_timeout.get_ref().len()
                        * s.delivery.len()
                }
                EngineName::Microbatch => {
                    let s = &self.microbatch;
                    s.parallelism.get_ref().len()
                        * s.batch_interval.get_ref().len()
                        * s.time_domain.len()
                        * s.backpressure.len()
                }
                EngineName::Baseline => 1,
            })
            .sum();
        per_engine
            * self.workloads.len()
            * self.rates.get_ref().len()
            * self.disorder.len()
            * self.failures.len().max(1)
            * *self.repetitions.get_ref() as usize
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
        for name in ["quick", "full"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites").join(format!("{name}.toml"));
            let suite = Suite::load(&path).unwrap_or_else(|e| panic!("{e}"));
            assert!(suite.runs() > 0);
        }
    }

    #[test]
    fn a_good_suite_expands_into_its_matrix() {
        let s = parse(GOOD).unwrap();
        // dataflow 2 settings + microbatch 1 + baseline 1, × 2 workloads × 2 rates × 1 × 2 failures
        assert_eq!(s.runs(), 4 * 2 * 2 * 2);
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
    }
}
