//! The COST baseline (McSherry, Isard and Murray, "Scalability! But at what COST?", HotOS 2015):
//! each workload's computation written as one single-threaded loop, with no engine, over the
//! same log — the single-core figure every engine's throughput is set beside.

use crate::jobs::wordcount::{WordCount, Words};
use crate::log::GeneratedLog;
use flowmark_core::time::SECOND;
use flowmark_core::{Job, Log, PartitionReader, Time, TimeDomain, Window, WindowSpec, Windows};
use std::collections::BTreeMap;
use std::fmt::Write;

type Counts = rustc_hash::FxHashMap<u32, u64>;

/// Word count with 1 s tumbling windows over partition 0 of `log` up to `end`, in one loop:
/// read, keep the watermark, drop late words, count per word and window, fire windows as the
/// watermark passes them and write their result lines. Returns the number of results.
pub fn wordcount(job: &WordCount, log: &GeneratedLog<Words>, end: Time) -> u64 {
    let spec = WindowSpec::new(Windows::tumbling(SECOND));
    let mut reader = PartitionReader::new(log, 0, job.watermarks(), TimeDomain::Event);
    let n = log.arrived_before(0, end);
    let mut windows: BTreeMap<Time, Counts> = BTreeMap::new();
    let mut out = String::new();
    let mut results = 0u64;
    let mut fire = |wm: Time, windows: &mut BTreeMap<Time, Counts>| {
        while let Some(e) = windows.first_entry() {
            if *e.key() + SECOND - 1 > wm {
                break;
            }
            let start = *e.key();
            for (word, count) in e.remove() {
                let _ = writeln!(out, "0\t{word} [{start},{})\t{count}", start + SECOND);
                results += 1;
            }
            std::hint::black_box(out.len());
            out.clear();
        }
    };
    let mut last_wm = Time::MIN;
    for i in 0..n {
        let Some(r) = reader.next_record() else { break };
        let start = r.time - r.time.rem_euclid(SECOND);
        if !spec.is_late(Window::new(start, start + SECOND), r.wm) {
            *windows.entry(start).or_default().entry(r.data).or_default() += 1;
        }
        if i % 1024 == 1023 && reader.watermark() > last_wm {
            last_wm = reader.watermark();
            fire(last_wm, &mut windows);
        }
    }
    fire(Time::MAX, &mut windows);
    results
}
