//! Word count on the dataflow engine beside a hand-written single-threaded loop doing the same
//! computation, measured in the same run (McSherry et al.'s COST question: how close does the
//! engine come to one core doing the work directly?).
//!
//! Both read the same generated log — 100 k Zipf-distributed words, 1 s tumbling windows,
//! events at 10 M/s of log time, all of which have already arrived, so both read as fast as
//! they can — with generation included. The loop keeps the same watermark, drops the same late
//! events and writes the same result lines. The engine runs at parallelism 1.
//!
//! A second comparison: 1 M distinct words (uniform), checkpoints every second against no
//! checkpoints: the cost of checkpointing (`docs/metrics.md`, "Checkpoints").
//!
//! `cargo bench -p flowmark-dataflow --bench wordcount`; the ratios are printed at the end.

use criterion::{Criterion, Throughput};
use flowmark_core::Metrics;
use flowmark_core::clock::monotonic_now;
use flowmark_core::time::SECOND;
use flowmark_core::{Log, Time};
use flowmark_dataflow::Config;
use flowmark_workloads::jobs::wordcount::{WordCount, WordCountSpec, Words};
use flowmark_workloads::{Disorder, GeneratedLog, LogSpec, RateProfile};
use rustc_hash::FxHashMap;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RATE: f64 = 10_000_000.0;

fn log(vocabulary: u32, skew: f64, seconds: i64) -> (WordCount, GeneratedLog<Words>, Time) {
    let spec = WordCountSpec { vocabulary, skew, ..Default::default() };
    let log_spec = LogSpec {
        seed: 3,
        partitions: 1,
        rate: RateProfile::constant(RATE),
        disorder: Disorder::uniform(200 * flowmark_core::time::MILLISECOND),
    };
    let log = GeneratedLog::new(&log_spec, Words::new(vocabulary, skew).unwrap()).unwrap();
    (WordCount::new(&spec).unwrap(), log, seconds * SECOND)
}

fn engine(job: &WordCount, log: &GeneratedLog<Words>, end: Time, checkpoints: Option<Time>) -> Duration {
    let dir = std::env::temp_dir().join(format!("flowmark-bench-wordcount-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut config = Config::new(&dir, monotonic_now() - end - SECOND, end);
    config.checkpoint_interval = checkpoints;
    let started = Instant::now();
    flowmark_dataflow::run(job, log, &config, Arc::new(Metrics::default())).unwrap();
    let took = started.elapsed();
    let _ = std::fs::remove_dir_all(&dir);
    took
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn main() {
    let mut c = Criterion::default().configure_from_args().sample_size(10);
    let mut times: FxHashMap<&'static str, Vec<Duration>> = FxHashMap::default();

    let (job, words, end) = log(100_000, 1.0, 2);
    let events = words.arrived_before(0, end);
    let mut g = c.benchmark_group("wordcount-100k");
    g.throughput(Throughput::Elements(events));
    g.bench_function("hand-written loop", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t = Instant::now();
                black_box(flowmark_workloads::baseline::wordcount(&job, &words, end));
                let took = t.elapsed();
                times.entry("loop").or_default().push(took);
                total += took;
            }
            total
        })
    });
    g.bench_function("dataflow p=1", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let took = engine(&job, &words, end, None);
                times.entry("engine").or_default().push(took);
                total += took;
            }
            total
        })
    });
    g.finish();

    let (job, words, end) = log(1_000_000, 0.0, 3);
    let events = words.arrived_before(0, end);
    let mut g = c.benchmark_group("wordcount-1M-keys");
    g.throughput(Throughput::Elements(events));
    for (name, every) in [("no checkpoints", None), ("checkpoint every 1s", Some(SECOND))] {
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let took = engine(&job, &words, end, every);
                    times.entry(if every.is_some() { "ckpt" } else { "no-ckpt" }).or_default().push(took);
                    total += took;
                }
                total
            })
        });
    }
    g.finish();

    let m = |k: &str| times.get(k).cloned().map(median);
    if let (Some(l), Some(e)) = (m("loop"), m("engine")) {
        println!(
            "\nword count, 100 k words: engine at parallelism 1 runs at {:.1} % of the hand-written loop \
             (medians {:.0} ms vs {:.0} ms)",
            100.0 * l.as_secs_f64() / e.as_secs_f64(),
            e.as_secs_f64() * 1e3,
            l.as_secs_f64() * 1e3
        );
    }
    if let (Some(a), Some(b)) = (m("no-ckpt"), m("ckpt")) {
        println!(
            "word count, 1 M keys: with a checkpoint every second, throughput is {:.1} % of the run without \
             (medians {:.0} ms vs {:.0} ms)",
            100.0 * a.as_secs_f64() / b.as_secs_f64(),
            b.as_secs_f64() * 1e3,
            a.as_secs_f64() * 1e3
        );
    }
}
