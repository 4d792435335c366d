//! The processes of the standalone clusters `scripts/local-cluster` runs on this machine: the
//! workers a `kill_worker` failure kills.
//!
//! The script writes each worker's process id to `<name>.pid` in its directory, and starts a
//! killed one again after a moment (as a cluster manager would). Flink's workers are its
//! TaskManagers; Spark's are the executors its workers launch for a job (children of the
//! worker processes), which is where the job's tasks and their state live.

use crate::Kind;
use flowmark_core::lifeline;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// A process of the cluster.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worker {
    /// Its process id.
    pub pid: u32,
    /// What it is, for the report: `flink-taskmanager-1`, `spark-worker-2 executor`.
    pub name: String,
}

/// The directory `scripts/local-cluster` keeps its pid files and logs in:
/// `$FLOWMARK_CLUSTER_DIR`, else `.engines/cluster` in the checkout.
pub fn dir() -> PathBuf {
    std::env::var_os("FLOWMARK_CLUSTER_DIR")
        .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.engines/cluster"), PathBuf::from)
}

/// The live workers of engine `kind`'s cluster whose pid files are in `dir`, in the order of
/// their names: Flink's TaskManagers, Spark's executors.
pub fn workers(kind: Kind, dir: &Path) -> Vec<Worker> {
    let prefix = match kind {
        Kind::Flink => "flink-taskmanager-",
        Kind::Spark => "spark-worker-",
    };
    let mut files: Vec<(String, u32)> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| {
            let name = e.ok()?.file_name().to_str()?.strip_suffix(".pid")?.to_string();
            let pid = std::fs::read_to_string(dir.join(format!("{name}.pid"))).ok()?.trim().parse().ok()?;
            name.starts_with(prefix).then_some((name, pid))
        })
        .filter(|(_, pid)| alive(*pid))
        .collect();
    files.sort();
    match kind {
        Kind::Flink => files.into_iter().map(|(name, pid)| Worker { pid, name }).collect(),
        Kind::Spark => files
            .into_iter()
            .flat_map(|(name, worker)| {
                executors(worker).into_iter().map(move |pid| Worker { pid, name: format!("{name} executor") })
            })
            .collect(),
    }
}

/// Whether `pid` runs (a zombie does not).
fn alive(pid: u32) -> bool {
    lifeline::alive(Pid::from_raw(pid as i32))
}

/// The executors a Spark worker launched: its live descendants running
/// `CoarseGrainedExecutorBackend`.
fn executors(worker: u32) -> Vec<u32> {
    let (mut out, mut next): (Vec<Pid>, Vec<Pid>) = (Vec::new(), vec![Pid::from_raw(worker as i32)]);
    // down the children, a few generations (the worker may start them through a shell)
    for _ in 0..4 {
        next = next.into_iter().flat_map(lifeline::children).collect();
        out.extend(next.iter().filter(|pid| {
            std::fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains("CoarseGrainedExecutorBackend"))
        }));
    }
    let mut out: Vec<u32> = out.into_iter().map(|p| p.as_raw() as u32).collect();
    out.sort_unstable();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn workers_are_read_from_their_pid_files_and_only_live_ones_count() {
        let d = tempfile::tempdir().unwrap();
        let me = std::process::id();
        std::fs::write(d.path().join("flink-taskmanager-2.pid"), format!("{me}\n")).unwrap();
        std::fs::write(d.path().join("flink-taskmanager-1.pid"), format!("{me}\n")).unwrap();
        std::fs::write(d.path().join("flink-jobmanager.pid"), format!("{me}\n")).unwrap();
        // a pid no process has (above the kernel's largest)
        std::fs::write(d.path().join("flink-taskmanager-3.pid"), "4194305\n").unwrap();
        std::fs::write(d.path().join("flink-taskmanager-4.pid"), "not a pid\n").unwrap();
        let names: Vec<String> = workers(Kind::Flink, d.path()).into_iter().map(|w| w.name).collect();
        assert_eq!(names, ["flink-taskmanager-1", "flink-taskmanager-2"], "not the JobManager, not the dead");
        // this test process has no executors under it
        std::fs::write(d.path().join("spark-worker-1.pid"), format!("{me}\n")).unwrap();
        assert!(workers(Kind::Spark, d.path()).is_empty());
    }
}
