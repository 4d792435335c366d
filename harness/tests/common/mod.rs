//! What the harness's test binaries share: a job small enough to follow record by record (the
//! emission-by-emission tests of both engines), a scratch directory, and running a suite.
#![allow(dead_code)] // each test binary uses its part

use flowmark_core::time::MILLISECOND;
use flowmark_core::{Job, KeyedStream, Max, Runtime, Stream, Time, WatermarkStrategy, WindowSpec, Windows};

/// A key and a value.
pub type Ev = (u32, i64);

/// The maximum value per key in 100 ms tumbling windows that accept input for `.0` (allowed
/// lateness) after they fire; the watermark bound is zero.
pub struct MaxPerWindow(pub Time);

impl Job for MaxPerWindow {
    type Event = Ev;
    fn name(&self) -> &'static str {
        "max-per-window"
    }
    fn watermarks(&self) -> WatermarkStrategy {
        WatermarkStrategy::bounded(0)
    }
    fn build<R: Runtime>(&self, input: R::Stream<Ev>) {
        let spec = WindowSpec::new(Windows::tumbling(100 * MILLISECOND)).with_lateness(self.0);
        input.key_by(|e| e.0).window(spec, Max(|e: &Ev| e.1)).sink("max");
    }
}

/// A fresh directory, removed when dropped.
pub fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("flowmark-{name}-")).tempdir().unwrap()
}

/// Runs `suite` with the `flowmark` binary, requires it to succeed, and returns its run
/// records.
pub fn run_records(name: &str, suite: &str) -> Vec<serde_json::Value> {
    let scratch_dir = scratch(name);
    let dir = scratch_dir.path();
    std::fs::write(dir.join("suite.toml"), suite).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_flowmark"))
        .arg("run")
        .arg(dir.join("suite.toml"))
        .arg("--out")
        .arg(dir.join("results"))
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{text}");
    let results = std::fs::read_dir(dir.join("results")).unwrap().next().unwrap().unwrap().path();
    std::fs::read_dir(results.join("runs"))
        .unwrap()
        .map(|e| serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap())
        .collect()
}

/// Polls `what` every 20 ms until it holds, at most `limit`; whether it did.
pub fn wait_until(limit: std::time::Duration, mut what: impl FnMut() -> bool) -> bool {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if what() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    what()
}

/// Fails the test at once, saying why, when this process was started with SIGHUP ignored
/// (`nohup cargo test`): every harness it starts inherits that, and a harness whose SIGHUP was
/// ignored at start leaves it alone by design (`harness/src/signals.rs`) — a test that hangs it
/// up would otherwise fail later, on a suite that went on to its end.
pub fn sighup_must_reach_the_harness() {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let ignored = status.lines().filter_map(|l| l.strip_prefix("SigIgn:")).any(|mask| {
        u64::from_str_radix(mask.trim(), 16).is_ok_and(|m| m & 1 << (nix::libc::SIGHUP - 1) != 0)
    });
    assert!(!ignored, "SIGHUP is ignored in this test process (run under nohup?): run the tests without it");
}
