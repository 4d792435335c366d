//! `flowmark`: benchmark and compare stream processing engines.
//!
//! For now it runs one workload on one engine — the reference engine (the ground truth), or the
//! dataflow engine, checked against it — and prints what it computed. Suites, the micro-batch
//! engine and reports come with their own issues.
#![forbid(unsafe_code)]

pub mod suite;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use flowmark_core::time::{self, Time, human};
use flowmark_core::{Job, Log};
use flowmark_reference::Input;
use flowmark_workloads::{Disorder, LogSpec, RateProfile, Visitor, WorkloadSpec};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(name = "flowmark", version, about = "Benchmark and compare stream processing engines")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a workload on the reference engine and print a summary of its results.
    Run(RunArgs),
    /// List the workloads.
    List,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Engine {
    /// The ground truth: the whole log evaluated as a batch.
    Reference,
    /// The continuous dataflow engine, reading the log in real time.
    Dataflow,
    /// The micro-batch engine, cutting the log into batches in real time.
    Microbatch,
}

#[derive(clap::Args)]
struct RunArgs {
    /// The engine.
    #[arg(long, value_enum, default_value = "reference")]
    engine: Engine,
    /// Parallel tasks per operator (dataflow) or per stage (micro-batch).
    #[arg(long, default_value_t = 2)]
    parallelism: usize,
    /// Batch interval (micro-batch).
    #[arg(long, default_value = "1s", value_parser = time::duration::parse)]
    batch: Time,
    /// The workload (see `flowmark list`).
    #[arg(long, default_value = "wordcount")]
    workload: String,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Input rate, events per second.
    #[arg(long, default_value_t = 200_000.0)]
    rate: f64,
    /// Length of the input (e.g. 10s, 500ms).
    #[arg(long, default_value = "10s", value_parser = time::duration::parse)]
    duration: Time,
    /// Source partitions.
    #[arg(long, default_value_t = 4)]
    partitions: u32,
    /// Largest delay of an event behind its arrival (uniform disorder).
    #[arg(long, default_value = "200ms", value_parser = time::duration::parse)]
    disorder: Time,
    /// Fraction of events that are very late.
    #[arg(long, default_value_t = 0.001)]
    late_fraction: f64,
    /// How late a very late event is.
    #[arg(long, default_value = "5s", value_parser = time::duration::parse)]
    late_delay: Time,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(args) => run(&args),
        Command::List => {
            list();
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn list() {
    println!("engines:\n  reference, dataflow, microbatch");
    println!("workloads:");
    for w in WorkloadSpec::catalog() {
        println!("  {:<20} watermark bound {}", w.name(), human(w.bound()));
    }
    println!("suites (suites/*.toml):");
    let dir = std::path::Path::new("suites");
    let mut files: Vec<_> =
        std::fs::read_dir(dir).into_iter().flatten().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    files.sort();
    for path in files.iter().filter(|p| p.extension().is_some_and(|e| e == "toml")) {
        match suite::Suite::load(path) {
            Ok(s) => println!("  {:<20} {} runs — {}", s.name, s.runs(), s.description),
            Err(e) => println!("  {}: {e}", path.display()),
        }
    }
}

fn run(args: &RunArgs) -> Result<()> {
    let catalog = WorkloadSpec::catalog();
    let Some(workload) = catalog.iter().find(|w| w.name() == args.workload) else {
        let names: Vec<String> = catalog.iter().map(|w| w.name()).collect();
        bail!("unknown workload `{}`; the workloads are: {}", args.workload, names.join(", "));
    };
    if args.duration <= 0 {
        bail!("--duration must be positive, got {}", human(args.duration));
    }
    let log = LogSpec {
        seed: args.seed,
        partitions: args.partitions,
        rate: RateProfile::constant(args.rate),
        disorder: Disorder::uniform(args.disorder).with_late(args.late_fraction, args.late_delay),
    };
    println!(
        "flowmark: {} on the {} engine — seed {}, {} events/s for {}, {} partitions, \
         disorder ≤ {} with {:.2} % a further {} late, watermark bound {}",
        workload.name(),
        match args.engine {
            Engine::Reference => "reference",
            Engine::Dataflow => "dataflow",
            Engine::Microbatch => "micro-batch",
        },
        args.seed,
        args.rate,
        human(args.duration),
        args.partitions,
        human(args.disorder),
        args.late_fraction * 100.0,
        human(args.late_delay),
        human(workload.bound()),
    );
    workload
        .visit(
            &log,
            Summarize {
                end: args.duration,
                engine: args.engine,
                parallelism: args.parallelism,
                batch: args.batch,
            },
        )
        .with_context(|| format!("workload {}", workload.name()))?
}

/// Runs the engine and prints a summary.
struct Summarize {
    end: Time,
    engine: Engine,
    parallelism: usize,
    batch: Time,
}

impl Visitor for Summarize {
    type Out = Result<()>;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Result<()> {
        match self.engine {
            Engine::Reference => reference(&job, &log, self.end),
            Engine::Dataflow => dataflow(&job, &log, self.end, self.parallelism),
            Engine::Microbatch => microbatch(&job, &log, self.end, self.parallelism, self.batch),
        }
    }
}

/// Runs the dataflow engine in real time, then checks its committed results against the
/// reference engine.
fn dataflow<J: Job, L: Log<Event = J::Event>>(job: &J, log: &L, end: Time, parallelism: usize) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("flowmark-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = flowmark_dataflow::Config::new(&dir, flowmark_core::clock::monotonic_now(), end);
    config.parallelism = parallelism;
    let metrics = std::sync::Arc::new(flowmark_core::Metrics::default());
    let started = Instant::now();
    flowmark_dataflow::run(job, log, &config, metrics.clone()).context("dataflow engine")?;
    let took = started.elapsed();
    let emitted: Vec<_> = flowmark_dataflow::output::read_committed(&config.output_dir)?
        .into_iter()
        .map(|e| (e.emitted, e.line))
        .collect();
    let _ = std::fs::remove_dir_all(&dir);
    report("dataflow", parallelism, job, log, end, &metrics, took, &emitted)
}

/// Runs the micro-batch engine in real time, then checks its committed results against the
/// reference engine.
fn microbatch<J: Job, L: Log<Event = J::Event>>(
    job: &J,
    log: &L,
    end: Time,
    parallelism: usize,
    batch: Time,
) -> Result<()> {
    let dir = std::env::temp_dir().join(format!("flowmark-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = flowmark_microbatch::Config::new(&dir, flowmark_core::clock::monotonic_now(), end);
    config.parallelism = parallelism;
    config.interval = batch;
    let metrics = std::sync::Arc::new(flowmark_core::Metrics::default());
    let started = Instant::now();
    flowmark_microbatch::run(job, log, &config, metrics.clone()).context("micro-batch engine")?;
    let took = started.elapsed();
    let emitted: Vec<_> =
        flowmark_microbatch::logs::read_committed(&config.checkpoint_dir, &config.output_dir)?
            .into_iter()
            .map(|(_, t, l)| (t, l))
            .collect();
    let _ = std::fs::remove_dir_all(&dir);
    report("micro-batch", parallelism, job, log, end, &metrics, took, &emitted)
}

/// Prints what an engine did and how its results compare with the reference engine's.
#[allow(clippy::too_many_arguments)]
fn report<J: Job, L: Log<Event = J::Event>>(
    engine: &str,
    parallelism: usize,
    job: &J,
    log: &L,
    end: Time,
    metrics: &flowmark_core::Metrics,
    took: std::time::Duration,
    emitted: &[(Time, flowmark_core::ResultLine)],
) -> Result<()> {
    let reference = flowmark_reference::run(job, log, Input { end, domain: Default::default() });
    let expected =
        flowmark_core::Expected::from_lines(reference.sinks.values().flatten().map(|e| e.line.clone()));
    let lines: Vec<_> = emitted.iter().map(|(_, l)| l.clone()).collect();
    let verdict = expected.check(&lines);
    let ordering = std::sync::atomic::Ordering::Relaxed;
    let latency = flowmark_core::Metrics::take(&metrics.event_time_latency);
    // due-time latency: the emission that made each result final, against the instant a perfect
    // engine could have emitted it; results due only at the end of the input are left out
    let due: std::collections::HashMap<&str, Time> =
        reference.sinks.values().flatten().map(|e| (e.line.id.as_str(), e.due)).collect();
    let mut last: std::collections::HashMap<&str, Time> = std::collections::HashMap::new();
    for (t, l) in emitted {
        last.insert(l.id.as_str(), *t);
    }
    let mut due_latency = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000_000, 3)?;
    for (id, t) in &last {
        if let Some(&d) = due.get(id)
            && d < end
        {
            due_latency.saturating_record((t - d).max(1) as u64);
        }
    }
    println!(
        "{engine}, parallelism {parallelism}: read {} events in {:.2?}; {} results committed; {} late events dropped",
        metrics.events_in.load(ordering),
        took,
        emitted.len(),
        metrics.late_events.load(ordering),
    );
    println!(
        "due-time latency of {} results due before the end of the input: p50 {}, p99 {}, max {}",
        due_latency.len(),
        human(due_latency.value_at_quantile(0.5) as Time),
        human(due_latency.value_at_quantile(0.99) as Time),
        human(due_latency.max() as Time),
    );
    println!(
        "event-time latency of results: p50 {}, p99 {}, max {}; {} checkpoints or batches committed",
        human(latency.value_at_quantile(0.5) as Time),
        human(latency.value_at_quantile(0.99) as Time),
        human(latency.max() as Time),
        metrics.checkpoints_completed.load(ordering),
    );
    println!(
        "against the reference: {} correct, {} missing, {} duplicated, {} wrong, {} unexpected — {}",
        verdict.correct,
        verdict.missing,
        verdict.duplicated,
        verdict.wrong,
        verdict.unexpected,
        if verdict.is_exact() { "exact" } else { "INCORRECT" }
    );
    if verdict.is_exact() { Ok(()) } else { bail!("the {engine} engine's results differ from the reference") }
}

/// Runs the reference engine and prints a summary of its results.
fn reference<J: Job, L: Log<Event = J::Event>>(job: &J, log: &L, end: Time) -> Result<()> {
    {
        let started = Instant::now();
        let out = flowmark_reference::run(job, log, Input { end, domain: Default::default() });
        let took = started.elapsed();
        println!(
            "read {} events; evaluated in {:.2?} ({:.1} M events/s)",
            out.records,
            took,
            out.records as f64 / took.as_secs_f64() / 1e6
        );
        for (i, late) in out.late.iter().enumerate() {
            println!(
                "windowed operator {i}: {} late events dropped ({} late window assignments)",
                late.events, late.windows
            );
        }
        for (sink, results) in &out.sinks {
            println!("sink `{sink}`: {} results", results.len());
            let mut sample: Vec<_> = results.iter().collect();
            sample.sort_by_key(|e| (e.time, e.line.id.clone()));
            for e in sample.iter().take(5) {
                println!("  {:<40} {}", e.line.id, e.line.value);
            }
            if sample.len() > 5 {
                println!("  … {} more", sample.len() - 5);
            }
        }
        Ok(())
    }
}
