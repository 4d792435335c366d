//! `flowmark ab`: two copies of this build on a tiny suite, end to end; and the bad input it
//! must refuse before any run starts.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn scratch(name: &str) -> tempfile::TempDir {
    tempfile::Builder::new().prefix(&format!("flowmark-ab-{name}-")).tempdir().unwrap()
}

/// A copy of the binary under test (a side of its own).
fn copy(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::copy(env!("CARGO_BIN_EXE_flowmark"), &path).unwrap();
    path
}

const TINY: &str = r#"
name = "tiny"
seed = 11
warmup = "500ms"
measure = "1500ms"
timeout = "30s"
partitions = 2
engines = ["dataflow"]
rates = [20000]

[[workloads]]
workload = "wordcount"

[[disorder]]
name = "none"
"#;

fn ab(dir: &Path, args: &[&str]) -> (Output, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_flowmark"))
        .arg("ab")
        .args(args)
        .arg("--out")
        .arg(dir.join("results"))
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

#[test]
fn two_copies_of_one_build_run_interleaved_and_write_their_verdict() {
    let scratch_dir = scratch("same");
    let dir = scratch_dir.path();
    let (a, b) = (copy(dir, "flowmark-a"), copy(dir, "flowmark-b"));
    std::fs::write(dir.join("tiny.toml"), TINY).unwrap();
    let (out, text) = ab(dir, &[a.to_str().unwrap(), b.to_str().unwrap(), "tiny.toml"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let results: Vec<_> =
        std::fs::read_dir(dir.join("results")).unwrap().map(|e| e.unwrap().path()).collect();
    let [set] = results.as_slice() else { panic!("{results:?}") };
    for file in ["ab.json", "verdict.md", "verdict.json", "base/manifest.json", "new/manifest.json"] {
        assert!(set.join(file).exists(), "{file}: {text}");
    }
    for side in ["base", "new"] {
        let runs = std::fs::read_dir(set.join(side).join("runs")).unwrap().count();
        assert_eq!(runs, 1, "{side}");
    }
    // one run a side: the verdict says so instead of "unchanged"
    let md = std::fs::read_to_string(set.join("verdict.md")).unwrap();
    assert!(md.contains("no regression") && md.contains("no verdict possible"), "{md}");
    let verdict: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(set.join("verdict.json")).unwrap()).unwrap();
    assert_eq!(verdict["regressed"], false);
    assert!(verdict["counts"]["undecided"].as_u64().unwrap() > 0, "{verdict}");
    assert_eq!(verdict["sides"][0]["name"], "base");
    // a CPU tax and a changed setting reach the new side's runs only, their keys unchanged
    let scratch_dir = scratch("changed");
    let dir = scratch_dir.path();
    let (a, b) = (copy(dir, "flowmark-a"), copy(dir, "flowmark-b"));
    std::fs::write(dir.join("tiny.toml"), TINY).unwrap();
    let args = [
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "tiny.toml",
        "--new-cpu-tax",
        "0.5",
        "--new-set",
        "dataflow.buffer_timeout=7ms",
    ];
    let (out, text) = ab(dir, &args);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let set = std::fs::read_dir(dir.join("results")).unwrap().next().unwrap().unwrap().path();
    let settings = |side: &str| -> serde_json::Value {
        let runs = set.join(side).join("runs");
        let file = std::fs::read_dir(&runs).unwrap().next().unwrap().unwrap().path();
        serde_json::from_str::<serde_json::Value>(&std::fs::read_to_string(file).unwrap()).unwrap()["settings"].clone()
    };
    assert_eq!(settings("base")["buffer_timeout"], "5ms");
    assert!(settings("base").get("cpu_tax").is_none());
    assert_eq!(settings("new")["buffer_timeout"], "7ms");
    assert_eq!(settings("new")["cpu_tax"], "0.5");
    let (out, text) = ab(dir, &[args[0], args[1], "tiny.toml", "--new-set", "dataflow.speed=3"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("no setting `speed`"), "{text}");
}

#[test]
fn a_finished_comparison_resumes_to_its_verdict_without_running_again() {
    let scratch_dir = scratch("resume");
    let dir = scratch_dir.path();
    let (a, b) = (copy(dir, "flowmark-a"), copy(dir, "flowmark-b"));
    std::fs::write(dir.join("tiny.toml"), TINY).unwrap();
    let (out, text) = ab(dir, &[a.to_str().unwrap(), b.to_str().unwrap(), "tiny.toml"]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let set = std::fs::read_dir(dir.join("results")).unwrap().next().unwrap().unwrap().path();
    let (out, text) = ab(dir, &["--resume", set.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(!text.contains("[1/2]"), "{text}");
}

#[test]
fn bad_sides_are_refused_before_any_run_starts() {
    let scratch_dir = scratch("bad");
    let dir = scratch_dir.path();
    let a = copy(dir, "flowmark-a");
    std::fs::write(dir.join("tiny.toml"), TINY).unwrap();
    let a = a.to_str().unwrap();

    let (out, text) = ab(dir, &[a, "no-such-revision-xyz", "tiny.toml"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(
        text.contains("no-such-revision-xyz") && text.contains("neither a file nor a git revision"),
        "{text}"
    );

    let not_flowmark = dir.join("not-flowmark");
    std::fs::write(&not_flowmark, "#!/bin/sh\necho hello\n").unwrap();
    make_executable(&not_flowmark);
    let (out, text) = ab(dir, &[a, not_flowmark.to_str().unwrap(), "tiny.toml"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("not a flowmark binary"), "{text}");

    // a side that plans the suite otherwise (another version's suite semantics)
    let other = dir.join("other-plan");
    std::fs::write(
        &other,
        format!("#!/bin/sh\nif [ \"$1\" = plan ]; then echo '[\"x.0\"]'; else exec {a} \"$@\"; fi\n"),
    )
    .unwrap();
    make_executable(&other);
    let (out, text) = ab(dir, &[a, other.to_str().unwrap(), "tiny.toml"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("plan suite `tiny` differently"), "{text}");

    let (out, text) = ab(dir, &[a, a, "no-such-suite.toml"]);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("no-such-suite.toml"), "{text}");
    // nothing ran: no result directory holds a run
    let ran = walk(&dir.join("results")).iter().any(|p| {
        p.extension().is_some_and(|e| e == "json") && p.parent().is_some_and(|d| d.ends_with("runs"))
    });
    assert!(!ran);
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    entries
        .flat_map(|e| {
            let p = e.unwrap().path();
            if p.is_dir() { walk(&p) } else { vec![p] }
        })
        .collect()
}
