//! How fast log servers feed a real engine: events per second served over loopback to
//! clients that only read — one server (one thread) to one and to four connections, and four
//! servers sharing the partitions to four connections — for word count's and NEXMark's logs. A real engine's run at a rate above this measures the server, not the engine (the
//! harness marks such a run `harness-bound`).
//!
//! Run with `cargo bench -p flowmark-external --bench serve`.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowmark_core::time::MILLISECOND;
use flowmark_core::{Job, Log};
use flowmark_workloads::{Disorder, LogSpec, Query, RateProfile, Visitor, WorkloadSpec};
use std::time::Duration;

/// Events each connection reads per iteration.
const EVENTS: u64 = 200_000;

struct Serve<'a> {
    c: &'a mut Criterion,
    name: String,
}

impl Visitor for Serve<'_> {
    type Out = ();
    fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, log: L) {
        let mut group = self.c.benchmark_group(format!("serve/{}", self.name));
        group.sample_size(10);
        // one thread per server: what one server serves, and whether four scale out
        for (servers, connections) in [(1u32, 1usize), (1, 4), (4, 4)] {
            group.throughput(Throughput::Elements(EVENTS * connections as u64));
            group.bench_function(format!("{servers} server(s), {connections} connection(s)"), |b| {
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let served = flowmark_external::server::capacity(
                            log.clone(),
                            servers,
                            1,
                            connections,
                            Duration::from_secs(60),
                            EVENTS,
                        )
                        .expect("the log servers serve");
                        total += Duration::from_secs_f64(served.seconds);
                    }
                    total
                })
            });
        }
        group.finish();
    }
}

fn serve(c: &mut Criterion) {
    let spec = LogSpec {
        seed: 1,
        partitions: 4,
        rate: RateProfile::constant(1_000_000.0),
        disorder: Disorder::uniform(200 * MILLISECOND),
    };
    for w in WorkloadSpec::catalog() {
        let name = match &w {
            WorkloadSpec::Wordcount(s) if s.slide.is_none() => "wordcount",
            WorkloadSpec::Nexmark(n) if n.query == Query::Q5 => "nexmark",
            _ => continue,
        };
        w.visit(&spec, Serve { c, name: name.into() }).expect("catalog workloads are valid");
    }
}

criterion_group!(benches, serve);
criterion_main!(benches);
