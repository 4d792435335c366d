//! Runs one variant of one benchmark case a few times and prints what each run cost: for
//! profiling (`perf record`) and quick checks outside criterion.
//!
//! `cargo run --release -p flowmark-bench --example one -- wordcount dataflow 1 [events] [runs]`
//! (variants: minimal, baseline, dataflow P, microbatch P; cases: wordcount, ysb, nexmark-q5,
//! sessions).

use flowmark_bench::{Input, Prepared, Variant};
use flowmark_core::{Job, Time, VecLog};
use flowmark_workloads::WorkloadSpec;
use std::io::Write as _;

struct Runs(Variant, usize);

impl Prepared for Runs {
    type Out = Result<(), String>;
    fn run<J: Job>(self, job: &J, log: &VecLog<J::Event>, end: Time) -> Result<(), String> {
        let mut cpu = Vec::new();
        let mut events = 0;
        for _ in 0..self.1 {
            let ran = flowmark_bench::run(self.0, job, log, end).map_err(|e| format!("{e:?}"))?;
            cpu.push(ran.usage.cpu);
            events = ran.events;
            let u = ran.usage;
            if !say(format_args!(
                "{}: {} events, {:.0} ms wall, {:.0} ms CPU: {:.1} M events/s, {:.1} M events/CPU-s, {} + {} switches",
                self.0,
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
        cpu.sort();
        let median = cpu[cpu.len() / 2];
        say(format_args!(
            "{}: median {:.1} M events/CPU-s",
            self.0,
            events as f64 / median.as_secs_f64().max(1e-9) / 1e6
        ));
        Ok(())
    }
}

/// Writes a line to standard output: `false` once nobody reads it (a pipe into `head` that
/// has closed), and the runs stop there instead of panicking.
fn say(line: std::fmt::Arguments) -> bool {
    writeln!(std::io::stdout().lock(), "{line}").is_ok()
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: one CASE (minimal|baseline|dataflow P|microbatch P) [EVENTS] [RUNS]";
    let case = args.first().ok_or(usage)?;
    let workload = WorkloadSpec::catalog()
        .into_iter()
        .find(|w| &w.name() == case)
        .ok_or_else(|| format!("no workload {case}"))?;
    let p = |i: usize| args.get(i).and_then(|a| a.parse().ok()).ok_or(usage);
    let (variant, rest) = match args.get(1).map(String::as_str) {
        Some("minimal") => (Variant::Minimal, 2),
        Some("baseline") => (Variant::Baseline, 2),
        Some("dataflow") => (Variant::Dataflow(p(2)?), 3),
        Some("microbatch") => (Variant::Microbatch(p(2)?), 3),
        _ => return Err(usage.into()),
    };
    let count = |i: usize, default: u64| {
        args.get(i).map_or(Ok(default), |a| a.parse().ok().filter(|n| *n > 0).ok_or(usage))
    };
    let events = count(rest, 20_000_000)?;
    let runs = count(rest + 1, 3)? as usize;
    Input::new(workload, events).with(Runs(variant, runs))
}
