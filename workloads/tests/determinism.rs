//! The same seed gives byte-identical event streams — in another process, and across repeated
//! reads — for every workload.

use flowmark_core::time::MILLISECOND;
use flowmark_core::{Job, Log};
use flowmark_workloads::{Disorder, LogSpec, RateProfile, Visitor, WorkloadSpec};
use std::io::Write;
use std::process::Command;

const DUMP_TO: &str = "FLOWMARK_TEST_DUMP_TO";

fn spec() -> LogSpec {
    LogSpec {
        seed: 0x5eed,
        partitions: 3,
        rate: RateProfile::Sine { mean: 50_000.0, amplitude: 20_000.0, period: 1_000 * MILLISECOND },
        disorder: Disorder::uniform(200 * MILLISECOND).with_late(0.01, 2_000 * MILLISECOND),
    }
}

/// Serializes the first entries of every partition of every workload.
struct Dump;

impl Visitor for Dump {
    type Out = Vec<u8>;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, log: L) -> Vec<u8> {
        let mut out = Vec::new();
        for p in 0..log.partitions() {
            for e in log.cursor(p, 0).take(2_000) {
                serde_json::to_writer(&mut out, &e).unwrap();
                out.push(b'\n');
            }
        }
        out
    }
}

fn dump_all() -> Vec<u8> {
    let mut out = Vec::new();
    for w in WorkloadSpec::catalog() {
        writeln!(out, "# {}", w.name()).unwrap();
        out.extend(w.visit(&spec(), Dump).unwrap());
    }
    out
}

/// In a child process (the same test binary, told where to write): writes the dump.
#[test]
fn child_writes_dump() {
    if let Ok(path) = std::env::var(DUMP_TO) {
        std::fs::write(path, dump_all()).unwrap();
    }
}

#[test]
fn same_seed_same_bytes_in_another_process() {
    let dir = tempfile::Builder::new().prefix("flowmark-determinism-").tempdir().unwrap();
    let path = dir.path().join("child.jsonl");
    let status = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_writes_dump", "--test-threads", "1"])
        .env(DUMP_TO, &path)
        .status()
        .unwrap();
    assert!(status.success());
    let theirs = std::fs::read(&path).unwrap();
    let ours = dump_all();
    assert!(ours.len() > 1_000_000, "dump is {} bytes", ours.len());
    assert!(ours == theirs, "the child process generated different events");
}

#[test]
fn a_different_seed_gives_different_events() {
    let mut other = spec();
    other.seed += 1;
    let w = &WorkloadSpec::catalog()[0];
    assert_ne!(w.visit(&spec(), Dump).unwrap(), w.visit(&other, Dump).unwrap());
}
