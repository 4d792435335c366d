//! Real Apache Flink and Apache Spark under the harness: word count from the same log, results
//! equal to the reference engine's, and — Flink — across a SIGKILL and a restore from its own
//! checkpoint, with nothing lost and nothing committed twice; a window join (NEXMark q8) on
//! Flink likewise.
//!
//! They need the engines (`scripts/install-real-engines`): without them these tests say so and
//! pass, unless `FLOWMARK_REQUIRE_REAL_ENGINES` is set (as `.ci/run` does).

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One at a time: each JVM wants both cores.
static MACHINE: Mutex<()> = Mutex::new(());

fn installed() -> bool {
    let venv = std::env::var_os("FLOWMARK_ENGINES_VENV")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.engines/venv"), PathBuf::from);
    let found = venv.join("bin/python").exists();
    if !found {
        assert!(
            std::env::var_os("FLOWMARK_REQUIRE_REAL_ENGINES").is_none(),
            "FLOWMARK_REQUIRE_REAL_ENGINES is set but {} holds no engines: run scripts/install-real-engines",
            venv.display()
        );
        eprintln!("skipped: the real engines are not installed (scripts/install-real-engines)");
    }
    found
}

/// The workloads of these tests.
const WORD_COUNT: &str = r#"workload = "wordcount""#;
const NEXMARK_Q8: &str = "workload = \"nexmark\"\nquery = \"q8\"";

fn suite(engine: &str, warmup: &str, failures: &str) -> String {
    suite_of(engine, warmup, WORD_COUNT, failures)
}

fn suite_of(engine: &str, warmup: &str, workload: &str, failures: &str) -> String {
    format!(
        r#"
name = "{engine}"
seed = 11
warmup = "{warmup}"
measure = "10s"
timeout = "180s"
partitions = 2
engines = ["{engine}"]
rates = [20000]

[[workloads]]
{workload}

# disorder within the watermark bound: no event is late on any engine
[[disorder]]
name = "uniform"
delay = {{ model = "uniform", max = "200ms" }}
{failures}
"#
    )
}

/// The run's results equal the reference's, and there are more than `least` of them.
fn assert_exact(r: &Value, least: u64) {
    let c = &r["metrics"]["correctness"];
    assert_eq!(r["status"]["status"], "ok", "{}", r["status"]);
    for k in ["missing", "duplicated", "wrong", "unexpected"] {
        assert_eq!(c[k], 0, "{k}: {c}");
    }
    assert!(c["correct"].as_u64().unwrap() > least, "more than {least} results: {c}");
}

#[test]
fn flink_word_count_equals_the_reference_across_a_crash() {
    if !installed() {
        return;
    }
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let failures = r#"
[[failures]]
kind = "none"
name = "none"

# killed between checkpoints, after windows were emitted: what the dead process sent but never
# committed must not count, what its last checkpoint covers must
[[failures]]
kind = "crash"
name = "crash"
at = ["2500ms"]
"#;
    let runs = common::run_records("flink", &suite("flink", "10s", failures));
    assert_eq!(runs.len(), 2);
    for r in &runs {
        assert_exact(r, 10_000);
        if r["failure"] == "crash" {
            assert_eq!(r["metrics"]["starts"], 2, "{r}");
            let rec = &r["recoveries"].as_array().unwrap()[0];
            assert!(rec["restore_ms"].as_f64().unwrap() > 0.0, "{rec}");
        }
    }
}

#[test]
fn spark_word_count_equals_the_reference() {
    if !installed() {
        return;
    }
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let runs = common::run_records("spark", &suite("spark", "25s", ""));
    assert_eq!(runs.len(), 1);
    assert_exact(&runs[0], 10_000);
}

#[test]
fn flink_window_join_equals_the_reference() {
    if !installed() {
        return;
    }
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let none = "\n[[failures]]\nkind = \"none\"\nname = \"none\"\n";
    let runs = common::run_records("flink-q8", &suite_of("flink", "10s", NEXMARK_Q8, none));
    assert_eq!(runs.len(), 1);
    // new sellers: people who opened an auction in their first 10 s window
    assert_exact(&runs[0], 50);
}

#[test]
fn the_jvm_dies_with_the_harness_whether_it_is_terminated_hung_up_on_or_killed() {
    use flowmark_core::lifeline::{alive, children};
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    use std::time::Duration;
    if !installed() {
        return;
    }
    common::sighup_must_reach_the_harness();
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let scratch_dir = tempfile::Builder::new().prefix("flowmark-real-orphans-").tempdir().unwrap();
    let dir = scratch_dir.path();
    let none = "\n[[failures]]\nkind = \"none\"\nname = \"none\"\n";
    std::fs::write(dir.join("suite.toml"), suite("flink", "10s", none)).unwrap();
    let mut args = vec!["run".into(), dir.join("suite.toml").display().to_string()];
    args.extend(["--out".into(), dir.join("results").display().to_string()]);
    for sig in [Signal::SIGTERM, Signal::SIGHUP, Signal::SIGKILL] {
        let mut harness = Command::new(env!("CARGO_BIN_EXE_flowmark"))
            .args(&args)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = Pid::from_raw(harness.id() as i32);
        // the harness's engine process, and the JVM it started
        let mut family = Vec::new();
        let found = common::wait_until(Duration::from_secs(120), || {
            family = children(pid).into_iter().flat_map(|w| [vec![w], children(w)].concat()).collect();
            family.iter().any(|p| {
                std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                    .is_ok_and(|c| c.contains("flowmark.FlinkJob"))
            })
        });
        assert!(found, "{sig}: no JVM was started");
        std::thread::sleep(Duration::from_secs(2));
        kill(pid, sig).unwrap();
        harness.wait().unwrap();
        assert!(
            common::wait_until(Duration::from_secs(3), || family.iter().all(|p| !alive(*p))),
            "{sig}: the engine process or its JVM outlived the harness"
        );
        let results = std::fs::read_dir(dir.join("results")).unwrap().next().unwrap().unwrap().path();
        args = vec!["run".into(), "--resume".into(), results.display().to_string()];
    }
}

/// The Flink cluster `scripts/local-cluster` runs (two TaskManagers): started unless it is
/// running already, and then stopped when dropped — a cluster someone else started (a suite
/// running on this machine) is left as it was.
struct FlinkCluster {
    started: bool,
}

impl FlinkCluster {
    fn start() -> FlinkCluster {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/local-cluster");
        let home = std::env::var_os("FLOWMARK_CLUSTER_DIR")
            .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../.engines/cluster"), PathBuf::from);
        let running = std::fs::read_to_string(home.join("flink-jobmanager.supervisor"))
            .is_ok_and(|pid| Path::new("/proc").join(pid.trim()).exists());
        let status = Command::new(&script).args(["start", "flink"]).status().unwrap();
        assert!(status.success(), "scripts/local-cluster start flink: {status}");
        FlinkCluster { started: !running }
    }
}

impl Drop for FlinkCluster {
    fn drop(&mut self) {
        if self.started {
            let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/local-cluster");
            let _ = Command::new(&script).args(["stop", "flink"]).status();
        }
    }
}

#[test]
fn flink_on_a_cluster_recovers_exactly_from_a_killed_taskmanager_by_its_own_means() {
    if !installed() {
        return;
    }
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let _cluster = FlinkCluster::start();
    let failures = r#"
[[failures]]
kind = "kill-worker"
name = "kill-taskmanager"
at = "2s"

[flink]
cluster = "127.0.0.1:8081"
"#;
    let runs = common::run_records("flink-kill-worker", &suite("flink", "15s", failures));
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_exact(r, 10_000);
    assert_eq!(r["metrics"]["starts"], 1, "the harness restarted nothing: {r}");
    let rec = &r["recoveries"].as_array().unwrap()[0];
    eprintln!("recovery from the killed TaskManager: {rec}");
    assert_eq!(rec["kind"], "kill-worker", "{rec}");
    assert!(rec["killed"].as_str().is_some_and(|k| k.starts_with("flink-taskmanager-")), "{rec}");
    // the JobManager noticed (a surviving task's cancellation told the harness), and the
    // job read again only after its restart
    assert!(rec["detection_ms"].as_f64().is_some_and(|d| d >= 0.0), "{rec}");
    assert!(rec["restore_ms"].as_f64().unwrap() > 0.0, "{rec}");
}

#[test]
fn flink_reads_its_log_from_log_servers_of_their_own() {
    if !installed() {
        return;
    }
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let failures = "\n[[failures]]\nkind = \"none\"\nname = \"none\"\n\n[flink]\nlog_servers = 2\n";
    let runs = common::run_records("flink-log-servers", &suite("flink", "10s", failures));
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_exact(r, 10_000);
    // the engine process learned what the job read from the servers
    assert!(r["metrics"]["input_rate"].as_f64().unwrap() > 10_000.0, "{}", r["metrics"]);
}

/// A `flowmark serve-log --standby` process, killed when dropped.
struct StandingBy(std::process::Child, String);

impl StandingBy {
    fn start() -> StandingBy {
        use std::io::BufRead;
        let mut child = Command::new(env!("CARGO_BIN_EXE_flowmark"))
            .args(["serve-log", "--standby", "--listen", "127.0.0.1:0", "--threads", "1"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("flowmark serve-log starts");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let address =
            line.trim().strip_prefix("standing by ").unwrap_or_else(|| panic!("{line}")).to_string();
        StandingBy(child, address)
    }
}

impl Drop for StandingBy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn flink_reads_its_log_from_log_servers_standing_by_which_a_suite_names() {
    if !installed() {
        return;
    }
    let _machine = MACHINE.lock().unwrap_or_else(|e| e.into_inner());
    let servers = [StandingBy::start(), StandingBy::start()];
    let at: Vec<String> = servers.iter().map(|s| format!("\"{}\"", s.1)).collect();
    let failures = format!(
        "\n[[failures]]\nkind = \"none\"\nname = \"none\"\n\n[flink]\nlog_servers_at = [{}]\n",
        at.join(", ")
    );
    let runs = common::run_records("flink-standing-by", &suite("flink", "10s", &failures));
    assert_eq!(runs.len(), 1);
    let r = &runs[0];
    assert_exact(r, 10_000);
    assert!(r["metrics"]["input_rate"].as_f64().unwrap() > 10_000.0, "{}", r["metrics"]);
    assert!(r["id"].as_str().unwrap().contains("2-standing-by"), "{}", r["id"]);
}
