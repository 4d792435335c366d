//! How fast the log is generated: events per second on one core, per workload, counting the
//! whole entry (arrival from the rate schedule, delay from the disorder model, payload).
//!
//! Generation must never bound an engine's result; this is the figure that shows it does not.
//! Run with `cargo bench -p flowmark-workloads --bench generate`.

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main};
use flowmark_core::time::MILLISECOND;
use flowmark_core::{Job, Log};
use flowmark_workloads::{Disorder, LogSpec, Query, RateProfile, Visitor, WorkloadSpec};
use std::hint::black_box;

const EVENTS: usize = 1_000_000;

/// Benchmarks reading `EVENTS` entries of one partition of the workload's log (built once,
/// outside the measurement).
struct Generate<'a, 'b> {
    group: &'a mut BenchmarkGroup<'b, WallTime>,
    name: String,
}

impl Visitor for Generate<'_, '_> {
    type Out = ();
    fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, log: L) {
        self.group.bench_function(self.name, |b| {
            b.iter(|| {
                for e in log.cursor(0, 0).take(EVENTS) {
                    black_box(&e);
                }
            })
        });
    }
}

fn generate(c: &mut Criterion) {
    let spec = LogSpec {
        seed: 1,
        partitions: 1,
        rate: RateProfile::constant(1_000_000.0),
        disorder: Disorder::uniform(500 * MILLISECOND),
    };
    let mut group = c.benchmark_group("generate");
    group.throughput(Throughput::Elements(EVENTS as u64)).sample_size(10);
    // one log per generator: the NEXMark queries and the word count variants share theirs
    let distinct = WorkloadSpec::catalog().into_iter().filter(|w| {
        !matches!(w, WorkloadSpec::Nexmark(n) if n.query != Query::Q0)
            && !matches!(w, WorkloadSpec::Wordcount(s) if s.slide.is_some())
    });
    for w in distinct {
        let name = match w {
            WorkloadSpec::Nexmark(_) => "nexmark".to_string(),
            _ => w.name(),
        };
        w.visit(&spec, Generate { group: &mut group, name }).expect("catalog workloads are valid");
    }
    group.finish();
}

criterion_group!(benches, generate);
criterion_main!(benches);
