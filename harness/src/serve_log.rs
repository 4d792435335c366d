//! Log servers of their own: `flowmark serve-log`, and the engine process's side that starts
//! them.
//!
//! A run's log is a pure function of its seed, partition and index, so any machine can serve
//! any partition: a server needs only the run (its workload, log and end) and log time 0 as
//! wall-clock time ([`LogServeSpec`]). Several servers share the partitions — partition `p`
//! on server `p mod N` — so that the load a real engine's cluster reads scales with the
//! machines serving it, with no coordination between them. The engine process asks each what
//! it served (`STATS`, see `flowmark_external::server`) for the run's input and backlog.

use crate::spec::RunSpec;
use anyhow::{Context, Result, bail};
use flowmark_core::clock::monotonic_now;
use flowmark_core::{Job, Log, LogClock, Time};
use flowmark_external::server::{Server, Share, Shared};
use flowmark_workloads::Visitor;
use serde::{Deserialize, Serialize};
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// `flowmark serve-log`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// What to serve: the log spec (JSON) the engine process writes into the run's directory,
    /// `log-servers.json` (copy it to the machine that serves).
    spec: PathBuf,
    /// This server's place among those sharing the log, from 0.
    #[arg(long, default_value_t = 0)]
    index: u32,
    /// How many servers share the log: this one serves the partitions p with p mod OF = INDEX.
    #[arg(long, default_value_t = 1)]
    of: u32,
    /// The address to listen on (port 0: any free one; the address is printed).
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: String,
    /// Threads serving the connections (default: one per core).
    #[arg(long)]
    threads: Option<usize>,
}

/// What a log server serves: one run's log.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LogServeSpec {
    /// The run: its workload, log and end.
    pub run: RunSpec,
    /// Log time 0, as nanoseconds since the Unix epoch: other machines' clocks can read it.
    pub origin_unix_ns: i64,
}

/// Nanoseconds since the Unix epoch now.
fn unix_now() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_nanos()).unwrap_or(i64::MAX)
}

impl LogServeSpec {
    /// The spec of `run`'s log, whose time 0 is `origin` on this machine's monotonic clock.
    pub fn new(run: &RunSpec, origin: Time) -> LogServeSpec {
        LogServeSpec { run: run.clone(), origin_unix_ns: unix_now() - (monotonic_now() - origin) }
    }

    /// Log time 0 on this machine's monotonic clock.
    fn origin(&self) -> Time {
        monotonic_now() - (unix_now() - self.origin_unix_ns)
    }
}

/// Runs `flowmark serve-log` until interrupted (or, when the engine process started it,
/// until that process is gone). The first line on stdout is `listening <address>`.
pub fn main(args: &Args, cancel: &AtomicBool) -> Result<()> {
    if args.of == 0 || args.index >= args.of {
        bail!(
            "--index {} --of {}: the index must be below the number of servers (from 0)",
            args.index,
            args.of
        );
    }
    let text =
        std::fs::read_to_string(&args.spec).with_context(|| format!("reading {}", args.spec.display()))?;
    let spec: LogServeSpec = serde_json::from_str(&text).with_context(|| {
        format!("{} is not a log spec (as `log-servers.json` in a run's directory)", args.spec.display())
    })?;
    let listener =
        std::net::TcpListener::bind(&args.listen).with_context(|| format!("listening on {}", args.listen))?;
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let share = Share { index: args.index, of: args.of };
    let run = &spec.run;
    let serve = Serve { listener, clock: LogClock::new(spec.origin()), end: run.end(), share, threads };
    let server = run.workload.visit(&run.log, serve).map_err(|e| anyhow::anyhow!("workload: {e}"))??;
    println!("listening {}", server.address());
    if flowmark_core::lifeline::tied() {
        flowmark_core::lifeline::watch_parent(|| std::process::exit(0));
    }
    while !cancel.load(Ordering::Relaxed) {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    Ok(())
}

struct Serve {
    listener: std::net::TcpListener,
    clock: LogClock,
    end: Time,
    share: Share,
    threads: usize,
}

impl Visitor for Serve {
    type Out = Result<Server>;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, log: L) -> Result<Server> {
        let shared = Arc::new(Shared::log_only(log, self.clock, self.end, self.share));
        Server::start(self.listener, shared, self.threads).context("starting the log server")
    }
}

/// The most log servers a run starts.
pub const MAX_LOG_SERVERS: u32 = 64;

/// Log servers the engine process started as its children, on this machine: they end with it.
pub struct LogServers {
    children: Vec<Child>,
    /// Where the job reaches each, in order (partition p on the p mod N-th).
    pub addresses: Vec<String>,
}

impl LogServers {
    /// Starts `n` servers of `run`'s log (time 0 at `origin`), each on one thread, writing
    /// their spec into `dir`; they listen on all interfaces when `remote`, and the job reaches
    /// them at `advertise`.
    pub fn start(
        run: &RunSpec,
        origin: Time,
        dir: &Path,
        n: u32,
        advertise: &str,
        remote: bool,
    ) -> Result<Self> {
        let path = dir.join("log-servers.json");
        let json = serde_json::to_string_pretty(&LogServeSpec::new(run, origin)).context("log spec")?;
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
        let exe = std::env::current_exe().context("finding the flowmark binary")?;
        let mut servers = LogServers { children: Vec::new(), addresses: Vec::new() };
        for index in 0..n {
            let mut cmd = Command::new(&exe);
            cmd.arg("serve-log").arg(&path).args(["--index", &index.to_string(), "--of", &n.to_string()]);
            cmd.args(["--threads", "1", "--listen", if remote { "0.0.0.0:0" } else { "127.0.0.1:0" }]);
            flowmark_core::lifeline::tie(&mut cmd);
            let mut child = cmd
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .context("starting flowmark serve-log")?;
            let stdout = child.stdout.take();
            servers.children.push(child);
            let mut line = String::new();
            if let Some(out) = stdout {
                std::io::BufReader::new(out)
                    .read_line(&mut line)
                    .context("reading flowmark serve-log's address")?;
            }
            let Some(port) = line.trim().strip_prefix("listening ").and_then(|a| a.rsplit(':').next()) else {
                bail!("log server {index} of {n} did not start (it said `{}`)", line.trim());
            };
            servers.addresses.push(format!("{advertise}:{port}"));
        }
        Ok(servers)
    }
}

impl Drop for LogServers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::time::{MILLISECOND, SECOND};
    use std::io::{BufRead, BufReader, Write};

    /// The first run of a small suite: word count at 1000 events/s on 4 partitions, 10 s.
    fn run() -> RunSpec {
        let text = r#"
name = "t"
seed = 3
warmup = "0s"
measure = "10s"
timeout = "60s"
partitions = 4
engines = ["dataflow"]
rates = [1000]

[[workloads]]
workload = "wordcount"

[[disorder]]
name = "none"
delay = { model = "uniform", max = "0ms" }
"#;
        crate::suite::Suite::parse(Path::new("t.toml"), text).unwrap().plan().remove(0)
    }

    #[test]
    fn log_time_zero_travels_as_wall_clock_time_and_comes_back_as_this_machines() {
        let origin = monotonic_now() - 3 * SECOND;
        let spec = LogServeSpec::new(&run(), origin);
        let json: LogServeSpec = serde_json::from_str(&serde_json::to_string(&spec).unwrap()).unwrap();
        assert!((json.origin() - origin).abs() < 10 * MILLISECOND, "{} against {origin}", json.origin());
    }

    #[test]
    fn a_server_serves_its_share_of_the_runs_log_as_it_arrives() {
        let run = run();
        let clock = LogClock::new(monotonic_now() - 2 * SECOND);
        let share = Share { index: 1, of: 2 };
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let serve = Serve { listener, clock, end: run.end(), share, threads: 1 };
        let server = run.workload.visit(&run.log, serve).unwrap().unwrap();
        let stream = std::net::TcpStream::connect(server.address()).unwrap();
        let mut input = BufReader::new(stream.try_clone().unwrap());
        let mut out = stream;
        let mut line = String::new();
        writeln!(out, "COUNT").unwrap();
        input.read_line(&mut line).unwrap();
        // 2 s of 1000 events/s over 4 partitions have arrived: about 500 each
        let counts: Vec<u64> = line.split_whitespace().map(|w| w.parse().unwrap()).collect();
        assert_eq!(counts.len(), 5, "{line}");
        assert_eq!(counts[0], 0, "the input has not ended");
        assert!(counts[1..].iter().all(|n| (400..=600).contains(n)), "{line}");
        line.clear();
        writeln!(out, "FETCH 3 0 2").unwrap();
        input.read_line(&mut line).unwrap();
        assert_eq!(line, "2\n", "partition 3 is server 1's of 2");
        line.clear();
        input.read_line(&mut line).unwrap();
        input.read_line(&mut line).unwrap();
        line.clear();
        writeln!(out, "FETCH 2 0 2").unwrap();
        input.read_line(&mut line).unwrap();
        assert!(line.starts_with("ERR partition 2 is served by log server 0 of 2"), "{line}");
    }
}
