//! The harness stopped from outside: SIGTERM and SIGHUP stop it like Ctrl-C (the engine's
//! process group killed, the result directory resumable); SIGKILLed, its engine processes die
//! with it, and `--resume` completes the suite with every run once — the same `runs.csv` as an
//! uninterrupted run with the same seed, apart from what was measured.

mod common;

use common::{scratch, wait_until};
use flowmark_core::lifeline::{alive, children};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// Suites run one at a time: the machine has 2 cores.
static MACHINE: Mutex<()> = Mutex::new(());

const SUITE: &str = r#"
name = "signals"
seed = 9
partitions = 2
rates = [10000, 20000, 30000]
engines = ["dataflow", "microbatch"]
warmup = "500ms"
measure = "5s"
timeout = "60s"

[[workloads]]
workload = "wordcount"

[[disorder]]
name = "uniform"
delay = { model = "uniform", max = "100ms" }

[[failures]]
kind = "none"
name = "none"

[dataflow]
parallelism = [1]

[microbatch]
parallelism = [1]
batch_interval = ["500ms"]
"#;

fn flowmark() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowmark"))
}

/// Starts `flowmark run` on the suite in `dir` (a new result directory, or `--resume`).
fn start(dir: &Path, resume: Option<&Path>) -> Child {
    let mut cmd = flowmark();
    cmd.arg("run").stdout(Stdio::null()).stderr(Stdio::null());
    match resume {
        Some(results) => cmd.arg("--resume").arg(results),
        None => cmd.arg(dir.join("suite.toml")).arg("--out").arg(dir.join("results")),
    };
    cmd.spawn().unwrap()
}

fn result_dir(dir: &Path) -> PathBuf {
    started(dir).expect("a result directory")
}

/// The result directory, once the harness has made it.
fn started(dir: &Path) -> Option<PathBuf> {
    Some(std::fs::read_dir(dir.join("results")).ok()?.next()?.ok()?.path())
}

fn finished_runs(results: &Path) -> usize {
    std::fs::read_dir(results.join("runs")).map_or(0, |d| d.count())
}

/// Waits until the harness has an engine process running (a `flowmark worker`), after at
/// least `runs` finished runs; returns it.
fn running_engine(harness: &Child, results: impl Fn() -> Option<PathBuf>, runs: usize) -> Pid {
    let mut engine = None;
    let found = wait_until(Duration::from_secs(90), || {
        if results().is_none_or(|r| finished_runs(&r) < runs) {
            return false;
        }
        engine = children(Pid::from_raw(harness.id() as i32)).into_iter().find(|c| {
            std::fs::read_to_string(format!("/proc/{c}/cmdline")).is_ok_and(|cmd| cmd.contains("worker"))
        });
        engine.is_some()
    });
    assert!(found, "no engine process after {runs} runs");
    // well into its run
    std::thread::sleep(Duration::from_millis(800));
    engine.unwrap()
}

fn signal(child: &Child, signal: Signal) {
    kill(Pid::from_raw(child.id() as i32), signal).unwrap();
}

/// The columns of `runs.csv` that do not depend on timing, row by row, sorted by run id.
fn outcome(results: &Path) -> Vec<String> {
    let mut reader = csv::Reader::from_path(results.join("runs.csv")).unwrap();
    let header = reader.headers().unwrap().clone();
    let keep = [
        "id",
        "engine",
        "workload",
        "rate",
        "disorder",
        "failure",
        "settings",
        "repetition",
        "seed",
        "status",
        "correct",
        "missing",
        "duplicated",
        "wrong",
        "unexpected",
        "late_expected",
    ];
    let columns: Vec<usize> = keep.iter().map(|k| header.iter().position(|h| h == *k).unwrap()).collect();
    let mut rows: Vec<String> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            columns.iter().map(|&c| r[c].to_string()).collect::<Vec<_>>().join(",")
        })
        .collect();
    rows.sort();
    rows
}

#[test]
fn sigterm_and_sighup_stop_it_like_ctrl_c_and_the_engine_goes_with_it() {
    common::sighup_must_reach_the_harness();
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch_dir = scratch("signals-term");
    let dir = scratch_dir.path();
    std::fs::write(dir.join("suite.toml"), SUITE).unwrap();
    let mut harness = start(dir, None);
    // SIGTERM during the first run, SIGHUP once a run has finished
    for (runs, sig) in [(0, Signal::SIGTERM), (1, Signal::SIGHUP)] {
        let engine = running_engine(&harness, || started(dir), runs);
        signal(&harness, sig);
        let status = harness.wait().unwrap();
        assert_eq!(status.code(), Some(130), "{sig}: exits as after Ctrl-C");
        assert!(!alive(engine), "{sig}: its engine process was killed with it");
        let results = result_dir(dir);
        assert!(finished_runs(&results) >= runs, "{sig}: finished runs are kept");
        harness = start(dir, Some(&results));
    }
    assert_eq!(harness.wait().unwrap().code(), Some(0), "the resumed suite completes");
    assert_eq!(finished_runs(&result_dir(dir)), 6);
}

#[test]
fn sigkilled_its_engine_dies_with_it_and_resume_loses_nothing_and_counts_nothing_twice() {
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch_dir = scratch("signals-kill");
    let dir = scratch_dir.path();
    std::fs::write(dir.join("suite.toml"), SUITE).unwrap();

    // killed three times: mid-run before any run finished, mid-run after one, and just as a
    // run's record appeared (its raw data written, the summary files not yet)
    let mut harness = start(dir, None);
    for (k, runs) in [0, 1].into_iter().enumerate() {
        let engine = running_engine(&harness, || started(dir), runs);
        signal(&harness, Signal::SIGKILL);
        harness.wait().unwrap();
        assert!(
            wait_until(Duration::from_secs(2), || !alive(engine)),
            "kill {k}: the engine process outlived the harness"
        );
        harness = start(dir, Some(&result_dir(dir)));
    }
    let results = result_dir(dir);
    let before = finished_runs(&results);
    assert!(wait_until(Duration::from_secs(90), || finished_runs(&results) > before));
    let engines = children(Pid::from_raw(harness.id() as i32));
    signal(&harness, Signal::SIGKILL);
    harness.wait().unwrap();
    assert!(
        wait_until(Duration::from_secs(2), || engines.iter().all(|e| !alive(*e))),
        "its engine or reference process outlived the harness"
    );
    let resumed = start(dir, Some(&results)).wait().unwrap();
    assert_eq!(resumed.code(), Some(0), "the resumed suite completes");

    // the same suite, never interrupted
    let whole_dir = scratch("signals-whole");
    std::fs::write(whole_dir.path().join("suite.toml"), SUITE).unwrap();
    let whole = start(whole_dir.path(), None).wait().unwrap();
    assert_eq!(whole.code(), Some(0));
    let (interrupted, uninterrupted) = (outcome(&results), outcome(&result_dir(whole_dir.path())));
    assert_eq!(interrupted.len(), 6, "every run once: {interrupted:#?}");
    assert_eq!(interrupted, uninterrupted);
}
