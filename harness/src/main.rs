//! `flowmark`: benchmark and compare stream processing engines.
//!
//! For now it runs the reference engine — the ground truth every engine will be checked
//! against — over a workload and prints what it computed. The engines, suites and reports come
//! with their own issues.
#![forbid(unsafe_code)]

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

#[derive(clap::Args)]
struct RunArgs {
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
    println!("workloads:");
    for w in WorkloadSpec::catalog() {
        println!("  {:<20} watermark bound {}", w.name(), human(w.bound()));
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
        "flowmark: {} on the reference engine — seed {}, {} events/s for {}, {} partitions, \
         disorder ≤ {} with {:.2} % a further {} late, watermark bound {}",
        workload.name(),
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
        .visit(&log, Summarize { end: args.duration })
        .with_context(|| format!("workload {}", workload.name()))?
}

/// Runs the reference engine and prints a summary.
struct Summarize {
    end: Time,
}

impl Visitor for Summarize {
    type Out = Result<()>;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, job: J, log: L) -> Result<()> {
        let started = Instant::now();
        let out = flowmark_reference::run(&job, &log, Input { end: self.end, domain: Default::default() });
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
