//! `flowmark`: benchmark and compare stream processing engines.
//!
//! `flowmark run [SUITE]` runs a suite — every engine as a separate process on an open-loop
//! schedule, with its failures injected — checks every run against the reference engine, and
//! writes a result directory; `flowmark throughput` searches an engine's sustainable rate;
//! `flowmark list` lists what there is. See `../shared/DESIGN.md` for the metrics.
#![forbid(unsafe_code)]

mod execute;
mod external;
mod machine;
mod measure;
mod process;
mod progress;
mod runner;
mod spec;
mod suite;
mod throughput;
mod worker;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use flowmark_core::time::human;
use flowmark_reports::results::{Manifest, ResultSet};
use flowmark_workloads::WorkloadSpec;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// List the engines, workloads and suites.
    List,
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
}

#[derive(clap::Args)]
struct CompareArgs {
    /// The baseline result directory.
    base: PathBuf,
    /// The result directory to judge.
    new: PathBuf,
    /// A change beyond this many percent (with confidence) is a regression.
    #[arg(long, default_value_t = 5.0)]
    threshold: f64,
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
/// Exit code after Ctrl-C.
const INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::Throughput(args) => throughput::main(&args, &cancel_on_ctrl_c()),
        Command::List => list().map(|()| ExitCode::SUCCESS),
        Command::Report { dir } => report(&dir).map(|()| ExitCode::SUCCESS),
        Command::Compare(args) => compare(&args),
        Command::Worker { spec } => {
            // the harness kills the engine's whole process group; Ctrl-C in its terminal
            // does not reach it (it has its own group)
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

/// A flag that Ctrl-C sets.
fn cancel_on_ctrl_c() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::Relaxed) {
            eprintln!("\nflowmark: interrupted twice; exiting now");
            std::process::exit(i32::from(INTERRUPTED));
        }
        eprintln!("\nflowmark: stopping after killing the current run (Ctrl-C again to exit at once)");
    });
    cancel
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
            let manifest = Manifest {
                suite: suite.name.clone(),
                suite_file: path.display().to_string(),
                suite_text: text,
                seed: suite.seed,
                planned_runs: suite.runs(),
                started: machine::timestamp(),
                revision: machine::revision(),
                machine: machine::machine(),
                versions: machine::versions(),
                command: std::env::args().collect::<Vec<_>>().join(" "),
            };
            let dir = runner::new_dir(&args.out, &suite.name);
            (suite, manifest, dir)
        }
    };
    println!(
        "flowmark: suite `{}` — {} runs, seed {}, revision {}, into {}",
        suite.name,
        suite.runs(),
        suite.seed,
        manifest.revision,
        dir.display()
    );
    let cancel = cancel_on_ctrl_c();
    let outcome = runner::run_suite(&suite, &manifest, &dir, &cancel)?;
    let set = ResultSet::load(&dir)?;
    print!("{}", headline(&set));
    if !set.runs.is_empty() {
        report(&dir)?;
    }
    match outcome {
        runner::Outcome::Interrupted => {
            println!(
                "interrupted: {} of {} runs finished and kept in {}; complete them with\n  flowmark run --resume {}",
                set.runs.len(),
                suite.runs(),
                dir.display(),
                dir.display()
            );
            Ok(ExitCode::from(INTERRUPTED))
        }
        runner::Outcome::Done { ok } => {
            println!("results: {}", dir.display());
            if ok {
                Ok(ExitCode::SUCCESS)
            } else {
                println!("some runs FAILED or were INCORRECT: see runs.csv");
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
    println!(
        "report: {} ({} charts, rendered in {:.1} s)",
        rendered.html.display(),
        rendered.charts.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `flowmark compare`.
fn compare(args: &CompareArgs) -> Result<ExitCode> {
    if !(args.threshold.is_finite() && args.threshold >= 0.0) {
        bail!("--threshold must be a percentage of zero or more, got {}", args.threshold);
    }
    let base = ResultSet::load(&args.base)
        .with_context(|| format!("the base result set {}", args.base.display()))?;
    let new =
        ResultSet::load(&args.new).with_context(|| format!("the new result set {}", args.new.display()))?;
    let comparison = flowmark_reports::compare::compare(&base, &new, args.threshold / 100.0)?;
    let markdown = comparison.markdown();
    print!("{markdown}");
    if let Some(path) = &args.markdown {
        std::fs::write(path, &markdown).with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &args.json {
        let (smaller, bigger) = comparison.benchmark_json();
        std::fs::write(path, smaller).with_context(|| format!("writing {}", path.display()))?;
        let bigger_path = path.with_extension("bigger.json");
        std::fs::write(&bigger_path, bigger).with_context(|| format!("writing {}", bigger_path.display()))?;
    }
    Ok(if comparison.regressed() { ExitCode::from(RUN_FAILED) } else { ExitCode::SUCCESS })
}

/// The headline table of a result set, as Markdown.
fn headline(set: &ResultSet) -> String {
    use std::fmt::Write;
    let mut out = String::from(
        "\n| workload | engine | scenario | input/s | due p50 | due p99 | event p50 | event p99 | recovery | correct |\n\
         |---|---|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for r in &set.runs {
        let m = &r.metrics;
        let ms = |v: f64| if v >= 1000.0 { format!("{:.2} s", v / 1e3) } else { format!("{v:.1} ms") };
        let latency = |v: f64| if r.engine == "baseline" { "—".to_string() } else { ms(v) };
        let recovery = if r.recoveries.is_empty() {
            "—".to_string()
        } else {
            r.recoveries
                .iter()
                .map(|x| x.total_ms.map_or("not caught up".into(), ms))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let c = &m.correctness;
        let correct = if c.exact() {
            format!("exact ({})", c.correct)
        } else {
            format!("**{}**: {} missing, {} dup, {} wrong", r.status.word(), c.missing, c.duplicated, c.wrong)
        };
        let correct = match &r.status {
            flowmark_reports::results::Status::Failed(why) => format!("**FAILED**: {why}"),
            _ => correct,
        };
        let _ = writeln!(
            out,
            "| {} | {} {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            r.workload,
            r.engine,
            r.settings_string(),
            r.scenario(),
            m.input_rate,
            latency(m.due.p50_ms),
            latency(m.due.p99_ms),
            latency(m.event.p50_ms),
            latency(m.event.p99_ms),
            recovery,
            correct
        );
    }
    out
}

fn list() -> Result<()> {
    println!("engines:\n  dataflow     continuous record-at-a-time dataflow (Flink-style)");
    println!("  microbatch   discretized streams (Spark-style)");
    println!("  baseline     each workload as one hand-written single-threaded loop (COST)");
    println!("  flink        real Apache Flink (scripts/install-real-engines)");
    println!("  spark        real Apache Spark Structured Streaming (scripts/install-real-engines)");
    println!("workloads:");
    for w in WorkloadSpec::catalog() {
        println!(
            "  {:<20} watermark bound {}{}{}",
            w.name(),
            human(w.bound()),
            if w.has_baseline() { "" } else { "  (no hand-written baseline yet)" },
            if external::job_args(&w).is_ok() { "  (also on flink, spark)" } else { "" }
        );
    }
    println!("suites:");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../suites");
    let dir = if dir.exists() { dir } else { PathBuf::from("suites") };
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).into_iter().flatten().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        match suite::Suite::load(path) {
            Ok(s) => println!("  {:<20} {} runs — {}", s.name, s.runs(), s.description),
            Err(e) => println!("  {e}"),
        }
    }
    if files.is_empty() {
        bail!("no suites found in {}", dir.display());
    }
    Ok(())
}
