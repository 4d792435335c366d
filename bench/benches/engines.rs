//! Both engines, the COST baselines and the minimal loops on the same pre-generated input:
//! word count, YSB, NEXMark q5 and sessions, at parallelism 1 and 2. Criterion measures wall
//! time; every run's CPU time (all threads, `getrusage`) and context switches are recorded
//! beside it, and a table of medians — events per second, events per CPU-second, switches,
//! and the ratios to the minimal loop and to the baseline — is printed at the end.
//!
//! The ratios come from runs of their own: [`ROUNDS`] rounds of one run of every variant in
//! turn, each ratio the median over the rounds of the two variants' events per CPU-second in
//! the same round. Criterion measures one variant's samples after another's, and on a shared
//! machine whose speed drifts by tens of percent from minute to minute, a ratio of medians
//! taken minutes apart measured the drift as much as the variants (word count's baseline at
//! 0.75–0.79 of the minimal loop by medians, 0.83–0.89 by rounds, the same code).
//!
//! `cargo bench -p flowmark-bench --bench engines`; `FLOWMARK_BENCH_CASES=wordcount,ysb` runs
//! only those cases (criterion's own filter still selects variants). `FLOWMARK_BENCH_SCALE` multiplies the events of every case (20 M for word count
//! and YSB, 5 M for NEXMark q5, 1 M for sessions, whose per-user state makes every event a few
//! cache misses).

use criterion::{Criterion, SamplingMode, Throughput};
use flowmark_bench::{BenchError, Input, Prepared, Ran, Usage, Variant, check};
use flowmark_core::check::Expected;
use flowmark_core::{Job, Time, VecLog};
use flowmark_workloads::jobs::sessions::SessionsSpec;
use flowmark_workloads::jobs::wordcount::WordCountSpec;
use flowmark_workloads::jobs::ysb::YsbSpec;
use flowmark_workloads::{NexmarkSpec, Query, WorkloadSpec};
use std::time::Duration;

/// One case: every variant on one workload's input.
struct Case<'a> {
    c: &'a mut Criterion,
    name: String,
    table: &'a mut Vec<Row>,
}

/// Rounds of every variant in turn, the ratios' runs.
const ROUNDS: usize = 9;

/// The medians of one variant.
struct Row {
    case: String,
    variant: Variant,
    events: u64,
    usage: Usage,
    /// Events per CPU-second in each round.
    rounds: Vec<f64>,
}

impl Prepared for Case<'_> {
    type Out = ();
    fn run<J: Job>(self, job: &J, log: &VecLog<J::Event>, end: Time) {
        let baseline =
            flowmark_bench::run(Variant::Baseline, job, log, end).expect("every case has a baseline");
        let expected = Expected::from_lines(baseline.results.iter().cloned());
        let mut g = self.c.benchmark_group(&self.name);
        g.throughput(Throughput::Elements(baseline.events)).sampling_mode(SamplingMode::Flat).sample_size(10);
        g.warm_up_time(Duration::from_millis(100)).measurement_time(Duration::from_secs(1));
        let mut rows = Vec::new();
        for variant in Variant::ALL {
            // checked once, outside the measurement
            match flowmark_bench::run(variant, job, log, end).and_then(|r| check(&r, &expected)) {
                Ok(()) => {}
                Err(BenchError::Unavailable) => continue,
                Err(e) => panic!("{}, {variant}: {e:?}", self.name),
            }
            let mut runs: Vec<Ran> = Vec::new();
            g.bench_function(variant.to_string(), |b| {
                b.iter_custom(|iters| {
                    (0..iters)
                        .map(|_| {
                            let ran = flowmark_bench::run(variant, job, log, end).expect("ran before");
                            let wall = ran.usage.wall;
                            runs.push(Ran { results: Vec::new(), ..ran });
                            wall
                        })
                        .sum()
                })
            });
            if let Some(usage) = median(&runs) {
                rows.push(Row {
                    case: self.name.clone(),
                    variant,
                    events: baseline.events,
                    usage,
                    rounds: Vec::new(),
                });
            }
        }
        g.finish();
        for _ in 0..ROUNDS {
            for row in &mut rows {
                let ran = flowmark_bench::run(row.variant, job, log, end).expect("ran before");
                row.rounds.push(ran.usage.per_cpu_second(ran.events));
            }
        }
        self.table.extend(rows);
    }
}

/// The median of each figure on its own.
fn median(runs: &[Ran]) -> Option<Usage> {
    fn mid<T: Ord + Copy>(mut v: Vec<T>) -> T {
        v.sort();
        v[v.len() / 2]
    }
    (!runs.is_empty()).then(|| Usage {
        wall: mid(runs.iter().map(|r| r.usage.wall).collect()),
        cpu: mid(runs.iter().map(|r| r.usage.cpu).collect()),
        voluntary: mid(runs.iter().map(|r| r.usage.voluntary).collect()),
        involuntary: mid(runs.iter().map(|r| r.usage.involuntary).collect()),
    })
}

fn print(table: &[Row]) {
    println!(
        "\n{:<12} {:<16} {:>10} {:>12} {:>9} {:>9} {:>9} {:>10} {:>10}",
        "case",
        "variant",
        "events",
        "M ev/s",
        "M ev/cpu-s",
        "÷ minimal",
        "÷ baseline",
        "vol. sw",
        "invol. sw"
    );
    for r in table {
        let per_cpu = r.usage.per_cpu_second(r.events);
        let of = |v: Variant| {
            table.iter().find(|o| o.case == r.case && o.variant == v).map_or("-".to_string(), |o| {
                let ratios: Vec<f64> = r.rounds.iter().zip(&o.rounds).map(|(a, b)| a / b).collect();
                format!("{:.2}", flowmark_reports::stats::median(&ratios))
            })
        };
        println!(
            "{:<12} {:<16} {:>10} {:>12.1} {:>10.1} {:>9} {:>10} {:>10} {:>10}",
            r.case,
            r.variant.to_string(),
            r.events,
            r.usage.per_second(r.events) / 1e6,
            per_cpu / 1e6,
            of(Variant::Minimal),
            of(Variant::Baseline),
            r.usage.voluntary,
            r.usage.involuntary
        );
    }
    println!(
        "(medians of each figure over criterion's samples; ÷ are medians over {ROUNDS} rounds of every variant in turn of the ratio of events per CPU-second in the round)"
    );
}

fn main() {
    let mut c = Criterion::default().configure_from_args();
    let scale: f64 = std::env::var("FLOWMARK_BENCH_SCALE").ok().and_then(|v| v.parse().ok()).unwrap_or(1.0);
    // events per case: about a second of the slowest variant's work on a 2-core machine
    let cases = [
        (WorkloadSpec::Wordcount(WordCountSpec::default()), 20_000_000.0),
        (WorkloadSpec::Ysb(YsbSpec::default()), 20_000_000.0),
        (WorkloadSpec::Nexmark(NexmarkSpec::new(Query::Q5)), 5_000_000.0),
        (WorkloadSpec::Sessions(SessionsSpec::default()), 1_000_000.0),
    ];
    let only = std::env::var("FLOWMARK_BENCH_CASES").ok();
    let mut table = Vec::new();
    for (w, events) in cases {
        let name = w.name();
        if only.as_ref().is_some_and(|o| !o.split(',').any(|n| n == name)) {
            continue;
        }
        Input::new(w, (events * scale) as u64).with(Case { c: &mut c, name, table: &mut table });
    }
    print(&table);
}
