//! Real Apache Flink and Apache Spark as systems under test.
//!
//! The engine process (`flowmark worker`) of a run on a real engine runs [`run`]: it serves
//! the run's replayable log over loopback TCP ([`server`]), starts the engine's JVM job (in
//! its own process group, so that the harness's SIGKILL takes both), and journals the results
//! the job's transactional sink sends back, timestamped on arrival ([`journal`]). The job does
//! all parsing, windowing and state itself; after a crash it restores from the engine's own
//! checkpoint (Flink: the newest complete `chk-N`; Spark: its `checkpointLocation`).
//!
//! The jobs are Java sources in `java/flowmark`, compiled with `javac` against the engines'
//! jars (installed by `scripts/install-real-engines`) the first time they are needed.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod cluster;
pub mod journal;
mod jvm;
pub mod server;
pub mod written;

pub use jvm::{Install, Kind};

use flowmark_core::metrics::Metrics;
use flowmark_core::{Log, LogClock, Time};
use journal::Journal;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// What can go wrong running a real engine.
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// A file operation failed.
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        /// What was being done.
        action: &'static str,
        /// To what.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The engines are not installed.
    #[error("the real engines are not installed: {0}; run scripts/install-real-engines")]
    NotInstalled(String),
    /// The jobs did not compile.
    #[error("compiling the JVM jobs: {0}")]
    Compile(String),
    /// The JVM job failed.
    #[error("the {engine} job exited with {status}; {log} ends:\n{tail}", log = log.display())]
    Job {
        /// The engine.
        engine: &'static str,
        /// How it exited.
        status: String,
        /// Its log.
        log: PathBuf,
        /// The end of its log.
        tail: String,
    },
    /// A journal line is not one.
    #[error("{}: line {line}: {reason}", path.display())]
    Journal {
        /// The journal.
        path: PathBuf,
        /// The line (1-based).
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// The log server could not start.
    #[error("the log server: {0}")]
    Server(std::io::Error),
}

impl ExternalError {
    /// An I/O error's constructor for `map_err`.
    pub fn io(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> ExternalError + use<> {
        let path = path.to_path_buf();
        move |source| ExternalError::Io { action, path, source }
    }
}

/// A real engine and its settings.
#[derive(Clone, Debug, PartialEq)]
pub enum Engine {
    /// Apache Flink.
    Flink {
        /// Time between checkpoints.
        checkpoint_interval: Time,
        /// Least time between two watermarks a source emits (Flink's
        /// `pipeline.auto-watermark-interval`; 0: with every fetch).
        watermark_interval: Time,
        /// Where the job keeps its state.
        state: FlinkState,
        /// A session cluster's JobManager (`host:port`) instead of a local mini-cluster.
        cluster: Option<String>,
    },
    /// Apache Spark Structured Streaming.
    Spark {
        /// The micro-batch trigger interval.
        trigger: Time,
        /// Where the job keeps its state.
        state: SparkState,
        /// A master URL (`spark://host:port`) instead of `local[parallelism]`.
        master: Option<String>,
    },
}

/// Flink's state backend (`state.backend.type`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FlinkState {
    /// State as objects on the JVM's heap; each checkpoint writes all of it.
    #[default]
    HashMap,
    /// State in an embedded RocksDB on local disk, as production deployments with large state
    /// run; `incremental`: a checkpoint uploads only the SST files the previous one did not
    /// (`execution.checkpointing.incremental`).
    RocksDb {
        /// Incremental checkpoints.
        incremental: bool,
    },
}

/// Spark's state store provider (`spark.sql.streaming.stateStore.providerClass`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SparkState {
    /// The default `HDFSBackedStateStoreProvider`: state in the executor's memory, each batch's
    /// changes written as a delta file.
    #[default]
    Hdfs,
    /// `RocksDBStateStoreProvider`: state in an embedded RocksDB, its files uploaded at each
    /// commit.
    RocksDb,
}

impl Engine {
    /// Which engine.
    pub fn kind(&self) -> Kind {
        match self {
            Engine::Flink { .. } => Kind::Flink,
            Engine::Spark { .. } => Kind::Spark,
        }
    }

    /// Whether the job runs on a cluster the harness did not start (which may reach the log
    /// from other machines).
    pub fn remote(&self) -> bool {
        match self {
            Engine::Flink { cluster, .. } => cluster.is_some(),
            Engine::Spark { master, .. } => master.is_some(),
        }
    }
}

/// One run of a job on a real engine.
#[derive(Clone, Debug)]
pub struct Config {
    /// The engine.
    pub engine: Engine,
    /// The job and its parameters (`job`, window sizes, `bound`, `lateness`, in nanoseconds).
    pub job: Vec<(String, String)>,
    /// Parallelism of the job.
    pub parallelism: usize,
    /// The run's directory, kept across restarts: checkpoints, journal, the JVM's log.
    pub dir: PathBuf,
    /// Monotonic nanoseconds of log time 0.
    pub origin: Time,
    /// The end of the input, log time.
    pub end: Time,
    /// The address the JVM reaches the log server at (`127.0.0.1` unless a cluster on other
    /// machines runs the job).
    pub advertise: String,
    /// Where the engines are installed.
    pub install: Install,
    /// Log servers of their own (`host:port`, partition p on the p mod N-th) that serve the
    /// job its input; the engine process's own server when empty.
    pub log_servers: Vec<String>,
}

/// How often the engine process asks log servers of their own what they served.
const STATS_EVERY: std::time::Duration = std::time::Duration::from_millis(20);

/// Threads of the engine process's own log server.
const SERVER_THREADS: usize = 2;

/// The run's journal under its directory.
pub fn journal_path(dir: &Path) -> PathBuf {
    dir.join("journal.tsv")
}

/// Runs the job over `log` on the real engine, restoring from the engine's checkpoint in the
/// run's directory if there is one; returns when the job has finished.
pub fn run<L: Log>(log: &L, config: &Config, metrics: Arc<Metrics>) -> Result<(), ExternalError> {
    let dir = &config.dir;
    let clock = LogClock::new(config.origin);
    let kind = config.engine.kind();
    std::fs::create_dir_all(dir).map_err(ExternalError::io("create", dir))?;
    let tmp = dir.join("jvm-tmp");
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).map_err(ExternalError::io("create", &tmp))?;

    // recovery: the epochs an earlier process pre-committed and the engine's checkpoint covers
    // are committed now; the rest will be produced again
    let path = journal_path(dir);
    let restarted = path.exists();
    let mut journal = Journal::open(&path, clock.now())?;
    let checkpoints = dir.join(kind.name()).join("checkpoints");
    let restore = match kind {
        Kind::Flink => newest_flink_checkpoint(&checkpoints),
        Kind::Spark => newest_spark_commit(&checkpoints).map(|n| (n, checkpoints.clone())),
    };
    if restarted {
        let restored_at = clock.now();
        journal.restored(restore.as_ref().map(|(n, _)| *n), restored_at)?;
        journal::report_commits_at(path.clone(), restored_at, metrics.clone());
    }

    let listener = TcpListener::bind((if config.engine.remote() { "0.0.0.0" } else { "127.0.0.1" }, 0))
        .map_err(ExternalError::Server)?;
    let shared = Arc::new(
        server::Shared::new(log.clone(), clock, config.end, metrics.clone(), journal)
            .with_checkpoints(&checkpoints),
    );
    let own =
        server::Server::start(listener, shared.clone(), SERVER_THREADS).map_err(ExternalError::Server)?;
    let port = own.address().port();
    // with log servers of their own, what the job read is what they served
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let poller = (!config.log_servers.is_empty()).then(|| {
        let (servers, metrics, stop) = (config.log_servers.clone(), metrics.clone(), stop.clone());
        std::thread::spawn(move || server::poll_stats(&servers, &metrics, STATS_EVERY, &stop))
    });
    let ran = run_job(config, kind, &restore, &checkpoints, &tmp, log.partitions(), port);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    if let Some(poller) = poller {
        let _ = poller.join();
    }
    ran?;
    shared.finished(clock.now())
}

/// Runs the JVM job to its end; `port`: the engine process's own server's.
fn run_job(
    config: &Config,
    kind: Kind,
    restore: &Option<(u64, PathBuf)>,
    checkpoints: &Path,
    tmp: &Path,
    partitions: u32,
    port: u16,
) -> Result<(), ExternalError> {
    let dir = &config.dir;

    let mut args = config.job.clone();
    let mut arg = |k: &str, v: String| args.push((k.to_string(), v));
    arg("server", format!("{}:{port}", config.advertise));
    if !config.log_servers.is_empty() {
        arg("log", config.log_servers.join(","));
    }
    arg("partitions", partitions.to_string());
    arg("parallelism", config.parallelism.to_string());
    let ms = |t: Time| (t / 1_000_000).to_string();
    match &config.engine {
        Engine::Flink { checkpoint_interval, watermark_interval, state, cluster } => {
            arg("checkpoints", format!("file://{}", absolute(checkpoints).display()));
            arg("checkpoint-interval-ms", ms(*checkpoint_interval));
            arg("watermark-interval-ms", ms(*watermark_interval));
            let (backend, incremental) = match state {
                FlinkState::HashMap => ("hashmap", false),
                FlinkState::RocksDb { incremental } => ("rocksdb", *incremental),
            };
            arg("state-backend", backend.into());
            arg("incremental", incremental.to_string());
            if let Some((_, chk)) = restore {
                arg("restore", format!("file://{}", absolute(chk).display()));
            }
            if let Some(c) = cluster {
                arg("cluster", c.clone());
            }
        }
        Engine::Spark { trigger, state, master } => {
            arg("checkpoints", absolute(checkpoints).display().to_string());
            arg("trigger-ms", ms(*trigger));
            let store = match state {
                SparkState::Hdfs => "hdfs",
                SparkState::RocksDb => "rocksdb",
            };
            arg("state-store", store.into());
            if let Some(m) = master {
                arg("master", m.clone());
            }
        }
    }
    let jvm_log = dir.join(format!("{}.log", kind.name()));
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&jvm_log)
        .map_err(ExternalError::io("open", &jvm_log))?;
    let err = out.try_clone().map_err(ExternalError::io("open", &jvm_log))?;
    let mut cmd = config.install.command(kind, tmp, 4096, &args)?;
    let status =
        cmd.current_dir(dir).stdin(std::process::Stdio::null()).stdout(out).stderr(err).status().map_err(
            |e| ExternalError::Job {
                engine: kind.name(),
                status: format!("no start ({e})"),
                log: jvm_log.clone(),
                tail: String::new(),
            },
        )?;
    let _ = std::fs::remove_dir_all(tmp);
    if !status.success() {
        let text = std::fs::read_to_string(&jvm_log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(30)..].join("\n");
        return Err(ExternalError::Job {
            engine: kind.name(),
            status: status.to_string(),
            log: jvm_log,
            tail,
        });
    }
    Ok(())
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The newest complete Flink checkpoint under `dir` (`<job id>/chk-<n>/_metadata`): its
/// number and directory. Checkpoint numbers continue across restores, so the largest is the
/// newest.
fn newest_flink_checkpoint(dir: &Path) -> Option<(u64, PathBuf)> {
    let jobs = std::fs::read_dir(dir).ok()?;
    jobs.filter_map(|j| j.ok())
        .flat_map(|j| std::fs::read_dir(j.path()).into_iter().flatten().filter_map(|c| c.ok()))
        .filter_map(|c| {
            let n = c.file_name().to_str()?.strip_prefix("chk-")?.parse::<u64>().ok()?;
            c.path().join("_metadata").is_file().then(|| (n, c.path()))
        })
        .max_by_key(|(n, _)| *n)
}

/// The last batch Spark committed under its checkpoint location (`commits/<batch id>`).
fn newest_spark_commit(dir: &Path) -> Option<u64> {
    std::fs::read_dir(dir.join("commits"))
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u64>().ok())
        .max()
}
