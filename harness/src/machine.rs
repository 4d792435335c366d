//! What made a result set: the machine, the revision, the versions.

use flowmark_reports::results::{Machine, Manifest};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn read(path: &str) -> String {
    std::fs::read_to_string(path).unwrap_or_default().trim().to_string()
}

/// The machine this process runs on.
pub fn machine() -> Machine {
    let cpuinfo = read("/proc/cpuinfo");
    let cpu = cpuinfo
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split_once(':'))
        .map_or("unknown".into(), |(_, v)| v.trim().to_string());
    let memory_kb: u64 = read("/proc/meminfo")
        .lines()
        .find(|l| l.starts_with("MemTotal:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    Machine {
        hostname: read("/proc/sys/kernel/hostname"),
        cpu,
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_bytes: memory_kb * 1024,
        os: format!("{} {}", read("/proc/sys/kernel/ostype"), read("/proc/sys/kernel/osrelease")),
    }
}

fn output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The git revision of the working directory's checkout, `-dirty` when it has uncommitted
/// changes, or `unknown` outside one.
pub fn revision() -> String {
    match output("git", &["rev-parse", "HEAD"]) {
        Some(rev) => {
            let dirty = output("git", &["status", "--porcelain", "--untracked-files=no"])
                .is_some_and(|s| !s.is_empty());
            if dirty { format!("{rev}-dirty") } else { rev }
        }
        None => "unknown".into(),
    }
}

/// flowmark's and rustc's versions.
pub fn versions() -> BTreeMap<String, String> {
    let mut v = BTreeMap::new();
    v.insert("flowmark".into(), env!("CARGO_PKG_VERSION").into());
    v.insert("rustc".into(), output("rustc", &["--version"]).unwrap_or_else(|| "unknown".into()));
    v.insert("profile".into(), if cfg!(debug_assertions) { "debug" } else { "release" }.into());
    v
}

/// Now, UTC, as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn timestamp() -> String {
    let secs =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // civil date from days since 1970-01-01 (Howard Hinnant's algorithm)
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

/// A new result directory under `root` for `name`, named by the time.
pub fn new_dir(root: &Path, name: &str) -> PathBuf {
    root.join(format!("{}-{}", name, timestamp().replace(':', "")))
}

/// The manifest of a result set made now, on this machine, by this command.
pub fn manifest(suite: &str, file: &str, text: &str, seed: u64, planned_runs: usize) -> Manifest {
    Manifest {
        suite: suite.to_string(),
        suite_file: file.to_string(),
        suite_text: text.to_string(),
        seed,
        planned_runs,
        started: timestamp(),
        revision: revision(),
        machine: machine(),
        versions: versions(),
        command: std::env::args().collect::<Vec<_>>().join(" "),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn timestamps_are_utc_dates() {
        let t = super::timestamp();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'), "{t}");
    }
}
