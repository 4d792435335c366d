//! `flowmark`: benchmark and compare stream processing engines.
//!
//! `flowmark run [SUITE]` runs a suite — every engine as a separate process on an open-loop
//! schedule, with its failures injected — checks every run against the reference engine, and
//! writes a result directory; `flowmark throughput` searches an engine's sustainable rate;
//! `flowmark list` lists what there is. What every metric means is in `docs/metrics.md`, the
//! result directory's format in `docs/results.md`.
#![forbid(unsafe_code)]

/// `println!` that never panics: when stdout is gone (a pipe whose reader left, `| head`), what
/// would be printed is dropped and the command goes on — its results are on disk.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `print!` that never panics (see `say!`).
macro_rules! say_raw {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($arg)*);
    }};
}

mod ab;
mod domain_error;
mod engines;
mod limits;
mod machine;
mod measure;
mod observe;
mod pipeline;
mod process;
mod progress;
mod reference;
mod runner;
mod serve_log;
mod signals;
mod spec;
mod suite;
mod throughput;
mod worker;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use flowmark_core::time::human;
use flowmark_reports::results::ResultSet;
use flowmark_workloads::WorkloadSpec;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Parser)]
#[command(name = "flowmark", version, about = "Benchmark and compare stream processing engines")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a suite and write its result directory (default: the quick suite).
    Run(RunArgs),
    /// Search the highest constant rate an engine sustains on a workload.
    Throughput(throughput::Args),
    /// Render the charts and report.html of a result directory again, from its files.
    Report {
        /// The result directory.
        dir: PathBuf,
    },
    /// Compare two result sets: the change of every metric with its confidence interval.
    Compare(CompareArgs),
    /// Judge the claims of continuous dataflow against micro-batching on a result set
    /// (`suites/claims.toml` makes one that reaches every claim).
    Claims {
        /// The result directory.
        dir: PathBuf,
    },
    /// A/B performance gate: two flowmark binaries or git revisions run a suite interleaved;
    /// exits 1 when the new side regressed.
    Ab(ab::Args),
    /// List the engines, workloads and suites.
    List,
    /// Serve a run's log (or a share of its partitions) to a real engine's sources, as a
    /// process of its own: on another machine, or several sharing the partitions.
    ServeLog(serve_log::Args),
    /// The ids of a suite's runs and the keys of its searches, as JSON (for `flowmark ab`).
    #[command(hide = true)]
    Plan {
        /// The suite file.
        suite: PathBuf,
    },
    /// The reference process the harness starts (not for direct use).
    #[command(hide = true)]
    Reference {
        /// The run's spec (JSON).
        spec: PathBuf,
        /// Where its truth goes (JSON).
        out: PathBuf,
    },
    /// The engine process the harness starts (not for direct use).
    #[command(hide = true)]
    Worker {
        /// The run's spec (JSON).
        spec: PathBuf,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// A suite file, or the name of one in `suites/` (`quick`, `full`).
    #[arg(default_value = "quick")]
    suite: String,
    /// Where result directories go.
    #[arg(long, default_value = "results")]
    out: PathBuf,
    /// Complete an interrupted result directory instead of starting a new one.
    #[arg(long, value_name = "DIR", conflicts_with = "suite")]
    resume: Option<PathBuf>,
    /// Make only the run with this id, or the search with this key (repeatable).
    #[arg(long, value_name = "ID")]
    only: Vec<String>,
    /// Levy a CPU tax on every run: extra work in every task of flowmark's engines, this
    /// fraction of the work done (a known slowdown, to validate a performance gate; the runs'
    /// keys stay the same).
    #[arg(long, value_name = "FRACTION")]
    cpu_tax: Option<f64>,
    /// Change a setting of every run of an engine, keeping the runs' keys (a known change of
    /// behaviour, to validate a performance gate): `dataflow.buffer_timeout=200ms`.
    #[arg(long, value_name = "ENGINE.SETTING=VALUE")]
    set: Vec<String>,
}

#[derive(clap::Args)]
struct CompareArgs {
    /// The baseline result directory.
    base: PathBuf,
    /// The result directory to judge.
    new: PathBuf,
    /// A change of the median beyond this many percent (with significance) is a regression,
    /// for metrics without a calibrated noise band.
    #[arg(long, default_value_t = 5.0)]
    threshold: f64,
    /// Noise bands per metric, as `flowmark ab --calibrate` writes them (`noise.json`).
    #[arg(long, value_name = "FILE")]
    noise: Option<PathBuf>,
    /// Write the new set's metrics for github-action-benchmark: FILE gets the
    /// customSmallerIsBetter entries, FILE with `.bigger.json` the customBiggerIsBetter ones.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Also write the Markdown table to this file.
    #[arg(long, value_name = "FILE")]
    markdown: Option<PathBuf>,
}

/// Exit code when a run failed or its results were incorrect.
const RUN_FAILED: u8 = 1;
/// Exit code for bad input.
const BAD_INPUT: u8 = 2;
/// Exit code after Ctrl-C, SIGTERM or SIGHUP.
use signals::INTERRUPTED;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Throughput(args) => throughput::main(&args, &signals::cancel_flag()),
        Command::List => list().map(|()| ExitCode::SUCCESS),
        Command::ServeLog(args) => {
            serve_log::main(&args, &signals::cancel_flag()).map(|()| ExitCode::SUCCESS)
        }
        Command::Report { dir } => report(&dir).map(|()| ExitCode::SUCCESS),
        Command::Compare(args) => compare(&args),
        Command::Claims { dir } => claims(&dir).map(|()| ExitCode::SUCCESS),
        Command::Ab(args) => ab::main(&args, &signals::cancel_flag()),
        Command::Plan { suite } => plan(&suite).map(|()| ExitCode::SUCCESS),
        Command::Reference { spec, out } => {
            flowmark_core::lifeline::watch_parent(flowmark_core::lifeline::end_group);
            return match reference::main(&spec, &out) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("flowmark reference: {e:#}");
                    ExitCode::from(RUN_FAILED)
                }
            };
        }
        Command::Worker { spec } => {
            // the harness kills the engine's whole process group; Ctrl-C in its terminal
            // does not reach it (it has its own group); if the harness dies without killing
            // it, the group ends itself
            flowmark_core::lifeline::watch_parent(flowmark_core::lifeline::end_group);
            return match worker::main(&spec) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("flowmark worker: {e:#}");
                    ExitCode::from(RUN_FAILED)
                }
            };
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(BAD_INPUT)
        }
    }
}

/// A suite named on the command line: a path, or a name in `suites/`.
fn suite_path(name: &str) -> PathBuf {
    let path = PathBuf::from(name);
    if path.exists() || name.ends_with(".toml") || name.contains('/') {
        return path;
    }
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../suites")
        .join(format!("{name}.toml"))
        .canonicalize()
        .unwrap_or_else(|_| PathBuf::from("suites").join(format!("{name}.toml")))
}

fn run(args: &RunArgs) -> Result<ExitCode> {
    let (suite, manifest, dir) = match &args.resume {
        Some(dir) => {
            let set = ResultSet::load(dir).with_context(|| format!("resuming {}", dir.display()))?;
            let m = set.manifest;
            let suite = suite::Suite::parse(Path::new(&m.suite_file), &m.suite_text)
                .with_context(|| format!("the suite recorded in {}", dir.join("manifest.json").display()))?;
            (suite, m, dir.clone())
        }
        None => {
            let path = suite_path(&args.suite);
            let suite = suite::Suite::load(&path)?;
            let text = std::fs::read_to_string(&path)?;
            let file = path.display().to_string();
            let manifest = machine::manifest(&suite.name, &file, &text, suite.seed, suite.runs());
            let dir = machine::new_dir(&args.out, &suite.name);
            (suite, manifest, dir)
        }
    };
    // bad flags are refused before anything is said or written
    if let Some(f) = args.cpu_tax
        && !(f.is_finite() && (0.0..=10.0).contains(&f))
    {
        bail!("--cpu-tax must lie in [0, 10], got {f}");
    }
    let selection =
        runner::Selection { only: args.only.clone(), cpu_tax: args.cpu_tax, set: args.set.clone() };
    selection.plan(&suite)?;
    say!(
        "flowmark: suite `{}` — {} runs, seed {}, revision {}, into {}",
        suite.name,
        suite.runs(),
        suite.seed,
        manifest.revision,
        dir.display()
    );
    let cancel = signals::cancel_flag();
    let outcome = runner::run_suite(&suite, &selection, &manifest, &dir, &cancel)?;
    let set = ResultSet::load(&dir)?;
    say_raw!("{}", headline(&set));
    if !set.runs.is_empty() {
        report(&dir)?;
    }
    match outcome {
        runner::Outcome::Interrupted => {
            say!(
                "interrupted: {} of {} runs finished and kept in {}; complete them with\n  flowmark run --resume {}",
                set.runs.len(),
                suite.runs(),
                dir.display(),
                dir.display()
            );
            Ok(ExitCode::from(INTERRUPTED))
        }
        runner::Outcome::Done { ok } => {
            say!("results: {}", dir.display());
            if ok {
                Ok(ExitCode::SUCCESS)
            } else {
                say!("some runs FAILED or were INCORRECT: see runs.csv");
                Ok(ExitCode::from(RUN_FAILED))
            }
        }
    }
}

/// Renders a result directory's charts and report.
fn report(dir: &Path) -> Result<()> {
    let started = std::time::Instant::now();
    let rendered = flowmark_reports::render(dir)
        .with_context(|| format!("rendering the report of {}", dir.display()))?;
    say!(
        "report: {} ({} charts, rendered in {:.1} s)",
        rendered.html.display(),
        rendered.charts.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `flowmark claims`.
fn claims(dir: &Path) -> Result<()> {
    let set = ResultSet::load(dir).with_context(|| format!("the result set {}", dir.display()))?;
    say_raw!("{}", flowmark_reports::claims::text(&flowmark_reports::claims::judge(&set)));
    Ok(())
}

/// `flowmark compare`.
fn compare(args: &CompareArgs) -> Result<ExitCode> {
    let base = ResultSet::load(&args.base)
        .with_context(|| format!("the base result set {}", args.base.display()))?;
    let new =
        ResultSet::load(&args.new).with_context(|| format!("the new result set {}", args.new.display()))?;
    let thresholds = thresholds(args.threshold, args.noise.as_deref())?;
    let comparison = flowmark_reports::compare::compare(&base, &new, &thresholds)?;
    say_raw!("{}", comparison.markdown_summary());
    if let Some(path) = &args.markdown {
        std::fs::write(path, comparison.markdown()).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        write_benchmark_json(&comparison, path)?;
    }
    Ok(if comparison.regressed() { ExitCode::from(RUN_FAILED) } else { ExitCode::SUCCESS })
}

/// Writes the new set's metrics for github-action-benchmark: `path` gets the
/// customSmallerIsBetter entries, `path` with `.bigger.json` the customBiggerIsBetter ones.
fn write_benchmark_json(comparison: &flowmark_reports::compare::Comparison, path: &Path) -> Result<()> {
    let (smaller, bigger) = comparison.benchmark_json();
    std::fs::write(path, smaller).with_context(|| format!("writing {}", path.display()))?;
    let bigger_path = path.with_extension("bigger.json");
    std::fs::write(&bigger_path, bigger).with_context(|| format!("writing {}", bigger_path.display()))?;
    Ok(())
}

/// `flowmark plan`: the suite's run ids, then its search keys, as a JSON array.
fn plan(path: &Path) -> Result<()> {
    let suite = suite::Suite::load(path)?;
    let units: Vec<String> =
        suite.plan().into_iter().map(|r| r.id).chain(suite.searches().into_iter().map(|r| r.key)).collect();
    use std::io::Write;
    // a reader that stops early (`| head`) is no error
    let _ = writeln!(std::io::stdout(), "{}", serde_json::to_string(&units)?);
    Ok(())
}

/// The thresholds of a verdict: the noise bands in `noise` for the metrics it has, `percent`
/// for the others.
fn thresholds(percent: f64, noise: Option<&Path>) -> Result<flowmark_reports::compare::Thresholds> {
    if !(percent.is_finite() && percent >= 0.0) {
        bail!("--threshold must be a percentage of zero or more, got {percent}");
    }
    let mut t = flowmark_reports::compare::Thresholds::uniform(percent / 100.0);
    if let Some(path) = noise {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the noise bands {}", path.display()))?;
        let bands: flowmark_reports::compare::Thresholds =
            serde_json::from_str(&text).with_context(|| {
                format!("{} is not a noise file written by `flowmark ab --calibrate`", path.display())
            })?;
        t.noise = bands.noise;
    }
    Ok(t)
}

/// The headline table of a result set, as Markdown: the metrics of the headline view and
/// the correctness of each run.
fn headline(set: &ResultSet) -> String {
    use flowmark_reports::metrics::{self, View};
    use flowmark_reports::results::Status;
    use std::fmt::Write;
    let columns: Vec<_> = metrics::in_view(View::Headline).collect();
    let mut out = String::from("\n| workload | engine | scenario |");
    for m in &columns {
        let _ = write!(out, " {} |", m.heading);
    }
    out.push_str(" correct |\n|---|---|---|");
    out.push_str(&"---:|".repeat(columns.len()));
    out.push_str("---|\n");
    for r in &set.runs {
        let c = &r.metrics.correctness;
        let correct = match &r.status {
            Status::Failed(why) => format!("**FAILED**: {why}"),
            _ if r.harness_bound().is_some() => {
                format!("**harness-bound**: {}", r.harness_bound().unwrap_or_default())
            }
            _ if c.exact() => format!("exact ({})", c.correct),
            _ => format!(
                "**{}**: {} missing, {} dup, {} wrong",
                r.status.word(),
                c.missing,
                c.duplicated,
                c.wrong
            ),
        };
        let _ = write!(out, "| {} | {} {} | {} |", r.workload, r.engine, r.settings_string(), r.scenario());
        for m in &columns {
            let _ = write!(out, " {} |", m.cell(r));
        }
        let _ = writeln!(out, " {correct} |");
    }
    out
}

fn list() -> Result<()> {
    say!("engines:");
    for e in engines::REGISTRY {
        say!("  {:<12} {}", e.name, e.about);
    }
    say!("workloads:");
    let defaults: Vec<spec::EngineSpec> = engines::REGISTRY.iter().map(|e| (e.default)()).collect();
    for w in WorkloadSpec::catalog() {
        let refused: Vec<&str> = defaults
            .iter()
            .filter(|e| e.engine().refuses(&w, &spec::Injection::default()).is_some())
            .map(|e| e.name())
            .collect();
        say!(
            "  {:<20} watermark bound {}{}{}",
            w.name(),
            human(w.bound()),
            if w.has_baseline() { "" } else { "  (no hand-written baseline yet)" },
            if refused.is_empty() { String::new() } else { format!("  (not on {})", refused.join(", ")) }
        );
    }
    say!("suites:");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites");
    let dir = if dir.exists() { dir } else { PathBuf::from("suites") };
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).into_iter().flatten().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        match suite::Suite::load(path) {
            Ok(s) => say!("  {:<20} {} runs — {}", s.name, s.runs(), s.description),
            Err(e) => say!("  {e}"),
        }
    }
    if files.is_empty() {
        bail!("no suites found in {}", dir.display());
    }
    Ok(())
}
