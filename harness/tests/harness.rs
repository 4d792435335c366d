//! The harness end to end: the `flowmark` binary runs small suites with engines as separate
//! processes, and the result directories say what happened.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Suites run one at a time: their latencies are measurements, and the machine has 2 cores.
static MACHINE: Mutex<()> = Mutex::new(());

fn flowmark() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowmark"))
}

fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("flowmark-harness-{name}-")).tempdir().unwrap()
}

/// Writes `suite` into `dir` and runs it; returns the output and the result directory.
fn run_suite(dir: &Path, suite: &str) -> (Output, PathBuf) {
    let path = dir.join("suite.toml");
    std::fs::write(&path, suite).unwrap();
    let out = flowmark().arg("run").arg(&path).arg("--out").arg(dir.join("results")).output().unwrap();
    let results = result_dir(dir);
    (out, results)
}

fn result_dir(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("results"))
        .map(|mut d| d.next().unwrap().unwrap().path())
        .unwrap_or_else(|_| dir.join("results/none"))
}

/// The run records of a result directory, by failure scenario name and engine settings.
fn runs(results: &Path) -> Vec<Value> {
    let mut out: Vec<Value> = std::fs::read_dir(results.join("runs"))
        .unwrap()
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap())
        .collect();
    out.sort_by_key(|r| r["id"].as_str().unwrap().to_string());
    out
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

const HEAD: &str = r#"
name = "test"
seed = 5
partitions = 2
rates = [20000]
"#;

/// The tables every test suite has, after its own top-level keys.
const TABLES: &str = r#"
[[workloads]]
workload = "wordcount"

[[disorder]]
name = "uniform"
delay = { model = "uniform", max = "100ms" }
"#;

#[test]
fn bad_input_is_exit_2_with_a_message_naming_what_is_wrong() {
    let scratch_dir = scratch("bad");
    let dir = scratch_dir.path();
    let (out, _) = run_suite(dir, &format!("{HEAD}\nwarmup = 1\n{TABLES}"));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("suite.toml:"), "names the file and line: {}", text(&out));

    let bad = HEAD.replace(
        "rates = [20000]",
        "rates = [20000]\nengines = [\"flink-ish\"]\nwarmup = \"1s\"\nmeasure = \"1s\"\ntimeout = \"10s\"",
    ) + TABLES;
    let (out, _) = run_suite(dir, &bad);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("flink-ish") && text(&out).contains(":6:"), "{}", text(&out));

    // impossible runs: a rate no log offers, a log no memory holds, durations that overflow
    let impossible = |rates: &str, warmup: &str, measure: &str| {
        let suite = HEAD.replace("rates = [20000]", &format!("rates = [{rates}]"))
            + &format!(
                "engines = [\"dataflow\"]\nwarmup = \"{warmup}\"\nmeasure = \"{measure}\"\ntimeout = \"2562047h\"\n"
            )
            + TABLES;
        let (out, results) = run_suite(dir, &suite);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(!results.exists(), "refused before anything ran");
        text(&out)
    };
    let t = impossible("1e30", "1s", "1s");
    assert!(t.contains(":5: `rates`: 1e30 events/s is above the most a log can offer"), "{t}");
    let t = impossible("100000000", "1s", "2000000s");
    assert!(t.contains("`rates`: at 1e8 events/s") && t.contains("GiB of memory is available"), "{t}");
    let t = impossible("20000", "1500000h", "1500000h");
    assert!(t.contains("`warmup` plus `measure` overflows log time"), "{t}");

    let out = flowmark().args(["run", "--bogus-flag"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // a log server: a share that does not exist, a spec that is not one
    let out = flowmark()
        .args(["serve-log", "/nonexistent/log-servers.json", "--index", "2", "--of", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--index 2 --of 2"), "{}", text(&out));
    let out = flowmark().args(["serve-log", "/nonexistent/log-servers.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("/nonexistent/log-servers.json"), "{}", text(&out));
    std::fs::write(dir.join("not-a-spec.json"), "{\"run\": 1}").unwrap();
    let out = flowmark().arg("serve-log").arg(dir.join("not-a-spec.json")).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is not a log spec"), "{}", text(&out));

    let out = flowmark().args(["run", "--resume", "/nonexistent/flowmark-results"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("/nonexistent/flowmark-results/manifest.json"), "{}", text(&out));
}

#[test]
fn output_into_a_closed_pipe_is_dropped_without_a_panic() {
    // `flowmark list | head -0`: the reader has left before the first line
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = flowmark().arg("list").stdout(writer).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}: {stderr}", out.status);
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_straggler_stall_shows_in_p99_and_max_latency() {
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch_dir = scratch("straggler");
    let dir = scratch_dir.path();
    let suite = format!(
        r#"{HEAD}
engines = ["dataflow"]
warmup = "1s"
measure = "5s"
timeout = "60s"
{TABLES}
[[failures]]
kind = "none"
name = "none"

# the window task stalls for 1 s: one message takes a second longer
[[failures]]
kind = "straggler"
name = "straggler"
at = "1500ms"
length = "1s"
delay = "1s"

[dataflow]
parallelism = [1]
"#
    );
    let (out, results) = run_suite(dir, &suite);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs = runs(&results);
    let by = |name: &str| runs.iter().find(|r| r["failure"] == name).unwrap()["metrics"]["due"].clone();
    let (calm, stalled) = (by("none"), by("straggler"));
    let ms = |v: &Value, k: &str| v[k].as_f64().unwrap();
    // open loop: every result due during the stall waits for it, from its own due instant
    assert!(ms(&stalled, "max_ms") >= 700.0, "the stall is in the maximum: {stalled}");
    assert!(ms(&stalled, "p99_ms") >= 500.0, "and in the 99th percentile: {stalled}");
    assert!(ms(&calm, "p99_ms") < ms(&stalled, "p99_ms") / 3.0, "without it: {calm} vs {stalled}");
}

#[test]
fn crash_recovery_is_measured_in_phases_and_at_least_once_duplicates_are_caught() {
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch_dir = scratch("crash");
    let dir = scratch_dir.path();
    let suite = format!(
        r#"{HEAD}
engines = ["dataflow"]
warmup = "1s"
measure = "8s"
timeout = "60s"
{TABLES}
# the crash comes before the first checkpoint (3 s) and after two windows fired: the
# at-least-once sink has shown their results, and the replay shows them again
[[failures]]
kind = "crash"
name = "crash"
at = ["1600ms"]
restart_delay = "300ms"

[dataflow]
parallelism = [1]
checkpoint_interval = ["3s"]
delivery = ["exactly-once", "at-least-once"]
"#
    );
    let (out, results) = run_suite(dir, &suite);
    assert_eq!(out.status.code(), Some(1), "the at-least-once run is incorrect: {}", text(&out));
    let runs = runs(&results);
    assert_eq!(runs.len(), 2);
    for r in &runs {
        let rec = &r["recoveries"].as_array().unwrap()[0];
        let f = |k: &str| rec[k].as_f64().unwrap_or(f64::NAN);
        assert!(rec["detection_ms"].is_null(), "a crash is not detected: {rec}");
        assert!(f("restart_delay_ms") >= 300.0 && f("restart_delay_ms") < 1000.0, "{rec}");
        assert!(f("restore_ms") > 0.0, "{rec}");
        assert!(f("catch_up_ms") >= 0.0, "caught up: {rec}");
        assert!(
            (f("restart_delay_ms") + f("restore_ms") + f("catch_up_ms") - f("total_ms")).abs() < 1e-6,
            "{rec}"
        );
        assert!((f("restore_ms") + f("catch_up_ms") - f("from_restart_ms")).abs() < 1e-6, "{rec}");
        assert_eq!(r["metrics"]["starts"], 2);
        let c = &r["metrics"]["correctness"];
        if r["settings"]["delivery"] == "exactly-once" {
            assert_eq!(r["status"]["status"], "ok", "{r}");
            assert_eq!(c["duplicated"], 0);
        } else {
            assert_eq!(r["status"]["status"], "incorrect", "{}", r["status"]);
            assert!(c["duplicated"].as_u64().unwrap() > 0, "{c}");
            assert_eq!(c["missing"], 0, "{c}");
        }
    }
    let rows = csv_rows(&results.join("runs.csv"));
    assert!(
        rows.iter().any(|r| r["settings"].contains("delivery=at-least-once") && r["status"] == "INCORRECT")
    );
    assert!(rows.iter().any(|r| r["settings"].contains("delivery=exactly-once") && r["status"] == "ok"));
}

#[test]
fn late_firings_through_chained_windows_are_exact_across_a_crash_on_both_engines() {
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch_dir = scratch("edges");
    let dir = scratch_dir.path();
    // NEXMark q5 with allowed lateness on a log on the window edges (suites/edges.toml in
    // small): late bids re-fire the first window, whose final counts the second one reads;
    // and word count on the same log, which drops the late events
    let suite = r#"
name = "edges-small"
seed = 3
partitions = 2
rates = [20000]
engines = ["dataflow", "microbatch"]
warmup = "1s"
measure = "11s"
timeout = "60s"

[[workloads]]
workload = "nexmark"
query = "q5"
lateness = "2s"

# without lateness the late events are dropped: counted once each across the crash
[[workloads]]
workload = "wordcount"

[[disorder]]
name = "grid"
delay = { model = "grid", grid = "10ms", max = "600ms" }
late_fraction = 0.01
late_delay = "1500ms"

[[failures]]
kind = "crash"
name = "crash"
at = ["4s"]

[dataflow]
parallelism = [2]
checkpoint_interval = ["500ms"]

[microbatch]
parallelism = [2]
batch_interval = ["500ms"]
"#;
    let (out, results) = run_suite(dir, suite);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs = runs(&results);
    assert_eq!(runs.len(), 4);
    for r in &runs {
        assert_eq!(r["status"]["status"], "ok", "{r}");
        assert_eq!(r["metrics"]["starts"], 2, "{r}");
        let c = &r["metrics"]["correctness"];
        assert!(c["correct"].as_u64().unwrap() >= 5, "{c}");
        for k in ["missing", "duplicated", "wrong", "unexpected"] {
            assert_eq!(c[k], 0, "{k}: {c}");
        }
        // each late event counted once, as the committed output saw it, across the crash
        if r["workload"] == "wordcount" {
            assert!(c["late_expected"].as_u64().unwrap() > 0, "{c}");
        }
        assert_eq!(c["late_dropped"], c["late_expected"], "{c}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn an_interrupted_suite_keeps_its_runs_and_resumes() {
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch_dir = scratch("resume");
    let dir = scratch_dir.path();
    let suite = HEAD.replace("rates = [20000]", "rates = [10000, 20000, 30000]")
        + r#"
engines = ["dataflow", "baseline"]
warmup = "500ms"
measure = "2s"
timeout = "60s"
"# + TABLES
        + r#"
[dataflow]
parallelism = [1]
"#;
    std::fs::write(dir.join("suite.toml"), &suite).unwrap();
    let mut child = flowmark()
        .arg("run")
        .arg(dir.join("suite.toml"))
        .arg("--out")
        .arg(dir.join("results"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // wait for the first finished run, then Ctrl-C
    let started = std::time::Instant::now();
    loop {
        let done = std::fs::read_dir(result_dir(dir).join("runs")).map_or(0, |d| d.count());
        if done >= 1 {
            break;
        }
        assert!(started.elapsed().as_secs() < 60, "no run finished");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    let results = result_dir(dir);
    let kept = runs(&results).len();
    assert!((1..6).contains(&kept), "{kept} runs kept");

    let out = flowmark().arg("run").arg("--resume").arg(&results).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let all = runs(&results);
    assert_eq!(all.len(), 6, "3 rates × (dataflow + baseline)");
    for file in ["manifest.json", "runs.csv", "timeline.csv"] {
        assert!(results.join(file).exists(), "{file}");
    }
    for r in &all {
        let id = r["id"].as_str().unwrap();
        assert!(results.join("outputs").join(format!("{id}.tsv")).exists(), "{id}");
        let hlog = std::fs::read_to_string(results.join("latency").join(format!("{id}.hlog"))).unwrap();
        assert!(hlog.contains("#[BaseTime:"), "a standard interval log: {hlog}");
        assert_eq!(r["status"]["status"], "ok", "{r}");
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(results.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["seed"], 5);
    assert!(manifest["machine"]["cores"].as_u64().unwrap() >= 1);
    assert!(!manifest["revision"].as_str().unwrap().is_empty());
    let timeline = csv_rows(&results.join("timeline.csv"));
    assert!(timeline.len() > 6, "{timeline:?}");
    let ids: Vec<&str> = all.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert!(timeline.iter().all(|s| ids.contains(&s["id"].as_str())), "every second belongs to a run");
    let rows = csv_rows(&results.join("runs.csv"));
    assert_eq!(rows.len(), 6);
    assert!(rows.iter().all(|r| r["status"] == "ok" && r["missing"] == "0" && r["seed"] == "5"), "{rows:?}");
}

/// The rows of a CSV file with a header, as column → value.
fn csv_rows(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let header = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            header.iter().map(String::from).zip(r.iter().map(String::from)).collect()
        })
        .collect()
}

#[test]
fn a_burst_at_a_multiple_of_the_sustainable_rate_is_exact_and_measured_on_both_engines() {
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch_dir = scratch("burst");
    let dir = scratch_dir.path();
    // a search of one probe sustains its start rate: the runs offer a tenth of it, then all of
    // it for a second; a hot key (Zipf 1.5) makes the window stage uneven
    let suite = HEAD.replace(
        "rates = [20000]",
        r#"rates = [{ profile = "burst", base = "0.1x", peak = "1x", at = "1s", length = "1s" }]"#,
    ) + r#"
engines = ["dataflow", "microbatch"]
warmup = "1s"
measure = "5s"
timeout = "60s"

[[workloads]]
workload = "wordcount"
skew = 1.5

[[disorder]]
name = "uniform"
delay = { model = "uniform", max = "100ms" }

[dataflow]
parallelism = [2]

[microbatch]
parallelism = [2]
batch_interval = ["200ms"]
backpressure = [false, true]

[throughput]
workloads = ["wordcount"]
start = 200000
probe = "1s"
warmup = "500ms"
steps = 1
"#;
    let (out, results) = run_suite(dir, &suite);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs = runs(&results);
    assert_eq!(runs.len(), 3, "{}", text(&out));
    for r in &runs {
        let id = r["id"].as_str().unwrap();
        assert_eq!(r["status"]["status"], "ok", "exact under the burst: {r}");
        assert_eq!(r["load"], "burst-0.1x-1x");
        assert_eq!(r["rate"].as_f64(), Some(200_000.0), "{id}: the peak, the whole sustainable rate");
        let change = &r["metrics"]["load_change"];
        assert_eq!(
            (change["kind"].as_str(), change["start_s"].as_f64(), change["end_s"].as_f64()),
            (Some("burst"), Some(1.0), Some(2.0)),
            "{id}"
        );
        assert!(change["drain_ms"].as_f64().is_some(), "{id}: a sustainable burst drains: {change}");
        // the schedule offered 20 k events in a second of the base rate and 200 k in the burst's
        let offered = |t: f64| {
            r["timeline"].as_array().unwrap().iter().find(|s| s["t_s"] == t).unwrap()["offered_rate"]
                .as_f64()
                .unwrap()
        };
        assert!((offered(0.0) - 20_000.0).abs() <= 1.0 && (offered(1.0) - 200_000.0).abs() <= 1.0, "{id}");
        let stages = r["metrics"]["stages"].as_array().unwrap();
        assert!(stages.len() >= 2, "{id}: {stages:?}");
        let events: u64 = stages[0]["events"].as_array().unwrap().iter().map(|e| e.as_u64().unwrap()).sum();
        assert!(events > 0, "{id}: {stages:?}");
        // the task threads counted their CPU time: some, and less than the whole process's
        let (task, process) = (
            r["metrics"]["period_task_cpu_s"].as_f64().unwrap(),
            r["metrics"]["period_cpu_s"].as_f64().unwrap(),
        );
        assert!(task > 0.0 && task < process, "{id}: task threads {task} s of the process's {process} s");
    }
    let bounded = runs.iter().find(|r| r["settings"]["backpressure"] == "true").unwrap();
    assert!(
        bounded["timeline"].as_array().unwrap().iter().any(|s| s["rate_limit"].as_f64().is_some()),
        "the PID controller's bound over time"
    );
    let rows = csv_rows(&results.join("runs.csv"));
    assert!(rows.iter().all(|r| !r["drain_ms"].is_empty() && !r["imbalance"].is_empty()), "{rows:?}");
}

/// The reference holds every record of a run's log, and a run is refused when its estimate
/// (`limits::reference_bytes_per_event`: 56 bytes per word-count event) does not fit in memory.
/// The estimate must hold: each operator gives back its input's memory as it reads it, so that
/// input and output are never both whole (104 bytes per event when they were).
#[test]
fn the_reference_holds_about_its_estimate_per_event() {
    let suite = HEAD.replace("rates = [20000]", "rates = [1000000]")
        + r#"
engines = ["baseline"]
warmup = "0s"
measure = "3s"
timeout = "120s"
"# + TABLES;
    let scratch_dir = scratch("reference-memory");
    let (out, results) = run_suite(scratch_dir.path(), &suite);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let runs = runs(&results);
    let metrics = &runs[0]["metrics"];
    let events = metrics["events"].as_u64().unwrap();
    let peak = metrics["reference_peak_rss_bytes"].as_u64().unwrap();
    assert_eq!(events, 3_000_000);
    // the estimate, a little over, and the process's own memory (its binary, its allocator)
    let bound = 64 * events + (48 << 20);
    assert!(peak <= bound, "the reference peaked at {peak} bytes, {} per event", peak / events);
}
