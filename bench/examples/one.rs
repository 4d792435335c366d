//! Runs variants of one benchmark case a few times and prints what each run cost: for
//! profiling (`perf record`) and quick comparisons outside criterion.
//!
//! `cargo run --release -p flowmark-bench --example one -- wordcount dataflow 1 [events] [runs]`
//! (variants: minimal, baseline, dataflow P, microbatch P; cases: wordcount, ysb, nexmark-q5,
//! sessions).
//!
//! Several variants, separated by commas (`minimal,baseline,dataflow2`: a parallelism written
//! onto the engine's name), run in turn, one run of each per round, on the same input; each
//! is then given with its median ratio to the first, round by round. On a shared machine whose
//! speed drifts by tens of percent from one minute to the next, a ratio of runs made seconds
//! apart is steadier than one of runs made minutes apart.

use flowmark_bench::{Input, Prepared, Variant};
use flowmark_core::{Job, Time, VecLog};
use flowmark_reports::stats::median;
use flowmark_workloads::WorkloadSpec;
use std::io::Write as _;

struct Runs(Vec<Variant>, usize);

impl Prepared for Runs {
    type Out = Result<(), String>;
    fn run<J: Job>(self, job: &J, log: &VecLog<J::Event>, end: Time) -> Result<(), String> {
        let Runs(variants, rounds) = self;
        // per variant, its events per CPU-second in each round
        let mut rates = vec![Vec::new(); variants.len()];
        for _ in 0..rounds {
            for (v, rate) in variants.iter().zip(&mut rates) {
                let ran = flowmark_bench::run(*v, job, log, end).map_err(|e| format!("{e:?}"))?;
                let u = ran.usage;
                rate.push(u.per_cpu_second(ran.events));
                if !say(format_args!(
                    "{v}: {} events, {:.0} ms wall, {:.0} ms CPU: {:.1} M events/s, {:.1} M events/CPU-s, {} + {} switches",
                    ran.events,
                    u.wall.as_secs_f64() * 1e3,
                    u.cpu.as_secs_f64() * 1e3,
                    u.per_second(ran.events) / 1e6,
                    u.per_cpu_second(ran.events) / 1e6,
                    u.voluntary,
                    u.involuntary
                )) {
                    return Ok(());
                }
            }
        }
        for (v, rate) in variants.iter().zip(&rates) {
            let ratios: Vec<f64> = rate.iter().zip(&rates[0]).map(|(r, first)| r / first).collect();
            let ratio = match v == &variants[0] {
                true => String::new(),
                false => format!(", {:.2} of {} (median of {rounds} rounds)", median(&ratios), variants[0]),
            };
            say(format_args!("{v}: median {:.1} M events/CPU-s{ratio}", median(rate) / 1e6));
        }
        Ok(())
    }
}

/// Writes a line to standard output: `false` once nobody reads it (a pipe into `head` that
/// has closed), and the runs stop there instead of panicking.
fn say(line: std::fmt::Arguments) -> bool {
    writeln!(std::io::stdout().lock(), "{line}").is_ok()
}

/// A variant's name: `minimal`, `baseline`, or an engine's with its parallelism written on
/// (`dataflow2`).
fn variant(name: &str) -> Option<Variant> {
    let engine = |prefix: &str| name.strip_prefix(prefix).and_then(|p| p.parse().ok()).filter(|p| *p > 0);
    match name {
        "minimal" => Some(Variant::Minimal),
        "baseline" => Some(Variant::Baseline),
        _ => engine("dataflow")
            .map(Variant::Dataflow)
            .or_else(|| engine("microbatch").map(Variant::Microbatch)),
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: one CASE (minimal|baseline|dataflow P|microbatch P|VARIANT,VARIANT...) [EVENTS] [RUNS] \
                 (VARIANT: minimal, baseline, dataflowP, microbatchP)";
    let case = args.first().ok_or(usage)?;
    let workload = WorkloadSpec::catalog()
        .into_iter()
        .find(|w| &w.name() == case)
        .ok_or_else(|| format!("no workload {case}"))?;
    let named = args.get(1).ok_or(usage)?;
    // an engine alone may take its parallelism as the next word
    let (variants, rest) = match (named.as_str(), args.get(2)) {
        ("dataflow" | "microbatch", Some(p)) => (vec![variant(&format!("{named}{p}")).ok_or(usage)?], 3),
        _ => (named.split(',').map(variant).collect::<Option<Vec<_>>>().ok_or(usage)?, 2),
    };
    let count = |i: usize, default: u64| {
        args.get(i).map_or(Ok(default), |a| a.parse().ok().filter(|n| *n > 0).ok_or(usage))
    };
    let events = count(rest, 20_000_000)?;
    let runs = count(rest + 1, 3)? as usize;
    Input::new(workload, events).with(Runs(variants, runs))
}
