//! Word count on the micro-batch engine beside the hand-written single-threaded loop (the COST
//! baseline of `flowmark_workloads::baseline`), measured in the same run: 100 k Zipf words,
//! 1 s tumbling windows, 1 s batches, parallelism 1, generation included. The whole input has
//! already arrived, and batches are cut a second of log time at a time, so both read as fast
//! as they can.
//!
//! `cargo bench -p flowmark-microbatch --bench wordcount`; the ratio is printed at the end.

use criterion::{Criterion, Throughput};
use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Log, Metrics, Time};
use flowmark_microbatch::Config;
use flowmark_workloads::jobs::wordcount::{WordCount, WordCountSpec, Words};
use flowmark_workloads::{Disorder, GeneratedLog, LogSpec, RateProfile, baseline};
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn engine(job: &WordCount, log: &GeneratedLog<Words>, end: Time) -> Duration {
    let dir = std::env::temp_dir().join(format!("flowmark-bench-microbatch-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::new(&dir, monotonic_now() - end - SECOND, end);
    config.interval = SECOND;
    config.cut_at_ticks = true;
    let started = Instant::now();
    flowmark_microbatch::run(job, log, &config, Arc::new(Metrics::default())).unwrap();
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    took
}

fn main() {
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let job = WordCount::new(&WordCountSpec::default()).unwrap();
    let spec = LogSpec {
        seed: 3,
        partitions: 1,
        rate: RateProfile::constant(10_000_000.0),
        disorder: Disorder::uniform(200 * MILLISECOND),
    };
    let words = GeneratedLog::new(&spec, Words::new(100_000, 1.0).unwrap()).unwrap();
    let end = 2 * SECOND;
    let mut times: Vec<(&str, Duration)> = Vec::new();
    let mut g = c.benchmark_group("microbatch-wordcount-100k");
    g.throughput(Throughput::Elements(words.arrived_before(0, end)));
    g.bench_function("hand-written loop", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let t = Instant::now();
                    black_box(baseline::wordcount(&job, &words, end));
                    let took = t.elapsed();
                    times.push(("loop", took));
                    took
                })
                .sum()
        })
    });
    g.bench_function("microbatch p=1, 1 s batches", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let took = engine(&job, &words, end);
                    times.push(("engine", took));
                    took
                })
                .sum()
        })
    });
    g.finish();
    let median = |k: &str| {
        let mut v: Vec<Duration> = times.iter().filter(|t| t.0 == k).map(|t| t.1).collect();
        v.sort();
        v.get(v.len() / 2).copied()
    };
    if let (Some(l), Some(e)) = (median("loop"), median("engine")) {
        println!(
            "\nword count, 100 k words, 1 s batches: the micro-batch engine at parallelism 1 runs at {:.1} % of the \
             hand-written loop (medians {:.0} ms vs {:.0} ms)",
            100.0 * l.as_secs_f64() / e.as_secs_f64(),
            e.as_secs_f64() * 1e3,
            l.as_secs_f64() * 1e3
        );
    }
}
