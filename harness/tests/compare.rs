//! `flowmark compare`: the verdict and exit code CI pipelines read.

use flowmark_reports::results::{Manifest, Metrics, Percentiles, ResultSet, Run, Status};
use std::path::Path;
use std::process::{Command, Output};

fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("flowmark-compare-{name}-")).tempdir().unwrap()
}

fn manifest() -> Manifest {
    Manifest {
        suite: "ci".into(),
        suite_file: "suites/ci.toml".into(),
        suite_text: String::new(),
        seed: 1,
        planned_runs: 6,
        started: "2026-11-24T00:00:00Z".into(),
        revision: "abc".into(),
        machine: Default::default(),
        versions: Default::default(),
        command: "flowmark run ci".into(),
    }
}

/// A run whose numbers carry a little noise per repetition; `slower` scales its p99.
fn run(key: &str, repetition: u32, slower: f64) -> Run {
    let noise = [1.0, 1.01, 0.99, 1.02, 0.98][repetition as usize % 5];
    let mut metrics = Metrics { input_rate: 100_000.0 * noise, cpu_s: 4.0 * noise, ..Default::default() };
    metrics.due =
        Percentiles { count: 1000, p50_ms: 2.0 * noise, p99_ms: 10.0 * noise * slower, ..Default::default() };
    metrics.event = Percentiles { count: 1000, p50_ms: 500.0, p99_ms: 510.0 * noise, ..Default::default() };
    metrics.correctness.correct = 1000;
    Run {
        id: format!("{key}.{repetition}"),
        key: key.into(),
        repetition,
        engine: "dataflow".into(),
        workload: "wordcount".into(),
        disorder: "uniform".into(),
        failure: "none".into(),
        rate: 100_000.0,
        load: String::new(),
        settings: Default::default(),
        seed: 1,
        watermark_bound_ms: 500.0,
        warmup_s: 1.0,
        measure_s: 5.0,
        status: Status::Ok,
        metrics,
        faults: Vec::new(),
        recoveries: Vec::new(),
        timeline: Vec::new(),
        wall_s: 6.0,
        feed_capacity: None,
    }
}

fn write_set(dir: &Path, keys: &[&str], slower: f64) {
    write_reps(dir, keys, slower, 5);
}

fn write_reps(dir: &Path, keys: &[&str], slower: f64, repetitions: u32) {
    ResultSet::write_manifest(dir, &manifest()).unwrap();
    for key in keys {
        for rep in 0..repetitions {
            ResultSet::write_run(dir, &run(key, rep, slower)).unwrap();
        }
    }
}

fn compare(base: &Path, new: &Path, extra: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flowmark"))
        .arg("compare")
        .arg(base)
        .arg(new)
        .args(extra)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

#[test]
fn identical_sets_are_unchanged() {
    let scratch_dir = scratch("same");
    let dir = scratch_dir.path();
    write_set(&dir.join("a"), &["wc.dataflow", "wc.microbatch"], 1.0);
    write_set(&dir.join("b"), &["wc.dataflow", "wc.microbatch"], 1.0);
    let json = dir.join("bench.json");
    let (out, text) = compare(&dir.join("a"), &dir.join("b"), &["--json", json.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("no regression") && text.contains("unchanged"), "{text}");
    assert!(!text.contains("**regressed**"), "{text}");
    let smaller: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let entry = &smaller.as_array().unwrap()[0];
    assert!(entry["name"].is_string() && entry["unit"].is_string() && entry["value"].is_number(), "{entry}");
    let bigger: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bench.bigger.json")).unwrap()).unwrap();
    // the offered input rate of an open-loop run is no measure of the code: never judged
    assert!(bigger.as_array().unwrap().iter().all(|e| !e["name"].as_str().unwrap().contains("input_rate")));
    assert!(smaller.as_array().unwrap().iter().any(|e| e["name"].as_str().unwrap().ends_with("due_p99_ms")));
}

#[test]
fn a_metric_20_percent_worse_is_a_regression_named_in_the_verdict() {
    let scratch_dir = scratch("worse");
    let dir = scratch_dir.path();
    write_set(&dir.join("a"), &["wc.dataflow"], 1.0);
    write_set(&dir.join("b"), &["wc.dataflow"], 1.2);
    let (out, text) = compare(&dir.join("a"), &dir.join("b"), &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = text.lines().find(|l| l.contains("**regressed**")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("due_p99") && line.contains("+20.0 %"), "{line}");
    assert_eq!(text.matches("**regressed**").count(), 1, "only that metric: {text}");
    // a threshold above the change lets it pass
    let (out, text) = compare(&dir.join("a"), &dir.join("b"), &["--threshold", "25"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
}

#[test]
fn too_few_runs_a_side_say_no_verdict_is_possible_instead_of_unchanged() {
    let scratch_dir = scratch("few");
    let dir = scratch_dir.path();
    write_reps(&dir.join("a"), &["wc.dataflow"], 1.0, 1);
    write_reps(&dir.join("b"), &["wc.dataflow"], 2.0, 1);
    let (out, text) = compare(&dir.join("a"), &dir.join("b"), &[]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let line = text.lines().find(|l| l.contains("| due_p99_ms |")).unwrap_or_else(|| panic!("{text}"));
    assert!(line.contains("no verdict possible") && line.contains("+100.0 %"), "{line}");
    assert!(text.contains("fewer than 4 runs"), "{text}");
    // three a side cannot reach significance either; four can
    write_reps(&dir.join("c"), &["wc.dataflow"], 1.0, 3);
    write_reps(&dir.join("d"), &["wc.dataflow"], 2.0, 3);
    let (_, text) = compare(&dir.join("c"), &dir.join("d"), &[]);
    assert!(text.contains("no verdict possible"), "{text}");
    write_reps(&dir.join("e"), &["wc.dataflow"], 1.0, 4);
    write_reps(&dir.join("f"), &["wc.dataflow"], 2.0, 4);
    let (out, text) = compare(&dir.join("e"), &dir.join("f"), &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    // a count regresses from one run a side
    let mut broken = run("wc.dataflow", 0, 1.0);
    broken.metrics.correctness.missing = 1;
    ResultSet::write_run(&dir.join("b"), &broken).unwrap();
    let (out, text) = compare(&dir.join("a"), &dir.join("b"), &[]);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.lines().any(|l| l.contains("| missing |") && l.contains("**regressed**")), "{text}");
}

#[test]
fn a_calibrated_noise_band_raises_the_bar_for_its_metric_only() {
    let scratch_dir = scratch("noise");
    let dir = scratch_dir.path();
    write_set(&dir.join("a"), &["wc.dataflow"], 1.0);
    write_set(&dir.join("b"), &["wc.dataflow"], 1.2);
    let noise = dir.join("noise.json");
    std::fs::write(&noise, r#"{"default": 0.05, "noise": {"due_p99_ms": 0.3}}"#).unwrap();
    let (out, text) = compare(&dir.join("a"), &dir.join("b"), &["--noise", noise.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "a 20 % change inside a 30 % noise band: {text}");
    std::fs::write(&noise, "not json").unwrap();
    let (out, text) = compare(&dir.join("a"), &dir.join("b"), &["--noise", noise.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("noise.json") && text.contains("calibrate"), "{text}");
}

#[test]
fn a_corrupt_missing_or_mismatched_set_is_bad_input() {
    let scratch_dir = scratch("bad");
    let dir = scratch_dir.path();
    write_set(&dir.join("a"), &["wc.dataflow"], 1.0);
    write_set(&dir.join("b"), &["wc.dataflow"], 1.0);
    let corrupt = dir.join("b/runs/wc.dataflow.1.json");
    std::fs::write(&corrupt, "{ not json").unwrap();
    let (out, text) = compare(&dir.join("a"), &dir.join("b"), &[]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("wc.dataflow.1.json") && text.contains("corrupt"), "{text}");

    let (out, text) = compare(&dir.join("a"), &dir.join("nowhere"), &[]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("nowhere/manifest.json"), "{text}");

    write_set(&dir.join("c"), &["ysb.microbatch"], 1.0);
    let (out, text) = compare(&dir.join("a"), &dir.join("c"), &[]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("do not match"), "{text}");

    let (out, _) = compare(&dir.join("a"), &dir.join("a"), &["--threshold", "-3"]);
    assert_eq!(out.status.code(), Some(2));
}
