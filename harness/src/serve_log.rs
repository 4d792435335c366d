//! Log servers of their own: `flowmark serve-log`, and the engine process's side that starts
//! them.
//!
//! A run's log is a pure function of its seed, partition and index, so any machine can serve
//! any partition: a server needs only the run (its workload, log and end) and log time 0 as
//! wall-clock time ([`LogServeSpec`]). Several servers share the partitions — partition `p`
//! on server `p mod N` — so that the load a real engine's cluster reads scales with the
//! machines serving it, with no coordination between them. The engine process asks each what
//! it served (`STATS`, see `flowmark_external::server`) for the run's input and backlog.
//!
//! On other machines a server stands by (`flowmark serve-log --standby`) until a harness
//! assigns it a run: the engine process connects, sends `RUN <assignment>` (the spec, the
//! server's share, and a fingerprint of the log), and reads `OK <port>`, the port the run's
//! log is served on; the server serves it until that connection closes — the run is over, or
//! the engine process is gone — and then stands by for the next. A server that would generate
//! another log than the harness's (another version of flowmark) refuses the run.

use crate::spec::RunSpec;
use anyhow::{Context, Result, bail};
use flowmark_core::clock::monotonic_now;
use flowmark_core::{Job, Log, LogClock, Time};
use flowmark_external::server::{Server, Share, Shared};
use flowmark_workloads::Visitor;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// `flowmark serve-log`'s arguments.
#[derive(clap::Args)]
pub struct Args {
    /// What to serve: the log spec (JSON) the engine process writes into the run's directory,
    /// `log-servers.json` (copy it to the machine that serves). Left out with `--standby`.
    #[arg(required_unless_present = "standby")]
    spec: Option<PathBuf>,
    /// Stand by for the runs harnesses assign (a suite's `log_servers_at`), one at a time:
    /// `--listen` is then the address harnesses reach it at, and each run's log is served on
    /// a port of its own, on the same interface.
    #[arg(long, conflicts_with_all = ["spec", "index", "of"])]
    standby: bool,
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

/// A run assigned to a server standing by: what to serve, its share, and the fingerprint of
/// the log as the harness generates it.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Assignment {
    /// The run's log.
    pub spec: LogServeSpec,
    /// The server's place among those sharing the log.
    pub index: u32,
    /// How many share it.
    pub of: u32,
    /// [`fingerprint`] of the log.
    pub fingerprint: u64,
}

/// Entries of each partition a fingerprint covers.
const FINGERPRINTED: usize = 64;

/// A hash of the first entries of every partition of `log`: two machines that generate the
/// same log agree on it; another version of the generator (or of the workload's parameters)
/// gives another.
pub fn fingerprint<L: Log>(log: &L) -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = rustc_hash::FxBuildHasher.build_hasher();
    for p in 0..log.partitions() {
        for e in log.cursor(p, 0).take(FINGERPRINTED) {
            h.write(&serde_json::to_vec(&e).unwrap_or_default());
        }
    }
    h.finish()
}

/// Longest a harness may take to send its assignment, and a server to answer it.
const ASSIGNMENT_TIMEOUT: Duration = Duration::from_secs(30);

fn check_share(index: u32, of: u32) -> Result<()> {
    if of == 0 || index >= of {
        bail!("--index {index} --of {of}: the index must be below the number of servers (from 0)");
    }
    Ok(())
}

fn threads(args: &Args) -> usize {
    args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Serves `spec`'s log, share `share`, on `listener`.
fn serve(listener: TcpListener, spec: &LogServeSpec, share: Share, threads: usize) -> Result<Server> {
    let run = &spec.run;
    let serve = Serve { listener, clock: LogClock::new(spec.origin()), end: run.end(), share, threads };
    run.workload.visit(&run.log, serve).map_err(|e| anyhow::anyhow!("workload: {e}"))?
}

/// Runs `flowmark serve-log` until interrupted (or, when the engine process started it,
/// until that process is gone). The first line on stdout is `listening <address>`
/// (`standing by <address>` with `--standby`).
pub fn main(args: &Args, cancel: &AtomicBool) -> Result<()> {
    if args.standby {
        let listener =
            TcpListener::bind(&args.listen).with_context(|| format!("listening on {}", args.listen))?;
        println!("standing by {}", listener.local_addr()?);
        return stand_by(listener, threads(args), cancel);
    }
    check_share(args.index, args.of)?;
    let path = args.spec.as_ref().context("give the log spec to serve, or --standby")?;
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let spec: LogServeSpec = serde_json::from_str(&text).with_context(|| {
        format!("{} is not a log spec (as `log-servers.json` in a run's directory)", path.display())
    })?;
    let listener =
        TcpListener::bind(&args.listen).with_context(|| format!("listening on {}", args.listen))?;
    let server = serve(listener, &spec, Share { index: args.index, of: args.of }, threads(args))?;
    println!("listening {}", server.address());
    if flowmark_core::lifeline::tied() {
        flowmark_core::lifeline::watch_parent(|| std::process::exit(0));
    }
    while !cancel.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(())
}

/// Stands by on `listener` for harnesses, serving the run each assigns until it hangs up,
/// one at a time, until `cancel` is set. A bad assignment is answered `ERR <why>` and
/// reported; the server stands by on.
fn stand_by(listener: TcpListener, threads: usize, cancel: &AtomicBool) -> Result<()> {
    let ip = listener.local_addr()?.ip();
    listener.set_nonblocking(true)?;
    while !cancel.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((control, from)) => {
                if let Err(e) = assigned(control, ip, threads, cancel) {
                    eprintln!("flowmark serve-log: the run {from} assigned: {e:#}");
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Err(e) => return Err(e).context("standing by"),
        }
    }
    Ok(())
}

/// Serves the run assigned on `control` (on a new port of `ip`) until the harness hangs up.
fn assigned(control: TcpStream, ip: IpAddr, threads: usize, cancel: &AtomicBool) -> Result<()> {
    control.set_nonblocking(false)?;
    control.set_read_timeout(Some(ASSIGNMENT_TIMEOUT))?;
    let mut reader = BufReader::new(control.try_clone()?);
    let mut answer = control;
    let mut line = String::new();
    reader.read_line(&mut line).context("reading the assignment")?;
    let server = match accept_assignment(line.trim_end(), ip, threads) {
        Ok((server, a)) => {
            eprintln!(
                "flowmark serve-log: serving {} (server {} of {}) on {}",
                a.spec.run.id,
                a.index,
                a.of,
                server.address()
            );
            server
        }
        Err(e) => {
            let _ = writeln!(answer, "ERR {}", format!("{e:#}").replace('\n', " "));
            return Err(e);
        }
    };
    writeln!(answer, "OK {}", server.address().port())?;
    // serve until the harness hangs up: its run is over, or it is gone
    answer.set_read_timeout(Some(Duration::from_millis(100)))?;
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if cancel.load(Ordering::Relaxed) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    drop(server);
    eprintln!("flowmark serve-log: the run ended; standing by");
    Ok(())
}

/// Starts serving an assignment, `RUN <json>`, if it is one this server can serve.
fn accept_assignment(request: &str, ip: IpAddr, threads: usize) -> Result<(Server, Assignment)> {
    let Some(json) = request.strip_prefix("RUN ") else {
        let shown: String = request.chars().take(40).collect();
        bail!("expected `RUN <assignment>`, got `{shown}`");
    };
    let a: Assignment = serde_json::from_str(json).context("the assignment does not parse")?;
    check_share(a.index, a.of)?;
    let run = &a.spec.run;
    let ours = run.workload.visit(&run.log, Fingerprint).map_err(|e| anyhow::anyhow!("workload: {e}"))?;
    if ours != a.fingerprint {
        bail!(
            "this server generates another log for {} than the harness does (fingerprint {ours:016x}, the harness's {:016x}): run the same version of flowmark on both",
            run.id,
            a.fingerprint
        );
    }
    let listener = TcpListener::bind((ip, 0)).with_context(|| format!("listening on {ip}"))?;
    let server = serve(listener, &a.spec, Share { index: a.index, of: a.of }, threads)?;
    Ok((server, a))
}

/// Computes a workload's [`fingerprint`].
struct Fingerprint;

impl Visitor for Fingerprint {
    type Out = u64;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, log: L) -> u64 {
        fingerprint(&log)
    }
}

struct Serve {
    listener: TcpListener,
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

/// Log servers of a run: started by the engine process as its children on this machine, or
/// standing by elsewhere and assigned the run. Either way they serve it until dropped.
pub struct LogServers {
    children: Vec<Child>,
    /// The connections on which servers standing by were assigned the run: closing one ends
    /// its run there.
    assigned: Vec<TcpStream>,
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
        let mut servers = LogServers { children: Vec::new(), assigned: Vec::new(), addresses: Vec::new() };
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
                BufReader::new(out).read_line(&mut line).context("reading flowmark serve-log's address")?;
            }
            let Some(port) = line.trim().strip_prefix("listening ").and_then(|a| a.rsplit(':').next()) else {
                bail!("log server {index} of {n} did not start (it said `{}`)", line.trim());
            };
            servers.addresses.push(format!("{advertise}:{port}"));
        }
        Ok(servers)
    }

    /// Assigns `run`'s log (time 0 at `origin`, generated as `log`) to the servers standing by
    /// at `at` (`host:port` each, `flowmark serve-log --standby`), server i the i-th share; the
    /// spec is written into `dir` too, as for servers started here.
    pub fn assign<L: Log>(run: &RunSpec, origin: Time, log: &L, dir: &Path, at: &[String]) -> Result<Self> {
        let spec = LogServeSpec::new(run, origin);
        let path = dir.join("log-servers.json");
        let json = serde_json::to_string_pretty(&spec).context("log spec")?;
        std::fs::write(&path, json).with_context(|| format!("writing {}", path.display()))?;
        let fingerprint = fingerprint(log);
        let of = at.len() as u32;
        let mut servers = LogServers { children: Vec::new(), assigned: Vec::new(), addresses: Vec::new() };
        for (index, address) in at.iter().enumerate() {
            let a = Assignment { spec: spec.clone(), index: index as u32, of, fingerprint };
            let (control, port) = assign_one(address, &a)
                .with_context(|| format!("assigning the run to the log server standing by at {address}"))?;
            let host = address.rsplit_once(':').map_or(address.as_str(), |(h, _)| h);
            servers.addresses.push(format!("{host}:{port}"));
            servers.assigned.push(control);
        }
        Ok(servers)
    }
}

/// Sends assignment `a` to the server standing by at `address`; its connection (held open
/// for the run) and the port it serves the run on.
fn assign_one(address: &str, a: &Assignment) -> Result<(TcpStream, u16)> {
    let addr = address
        .to_socket_addrs()
        .with_context(|| format!("`{address}` is not a host:port"))?
        .next()
        .with_context(|| format!("`{address}` names no address"))?;
    let control = TcpStream::connect_timeout(&addr, ASSIGNMENT_TIMEOUT)
        .context("cannot connect (is `flowmark serve-log --standby` running there?)")?;
    control.set_read_timeout(Some(ASSIGNMENT_TIMEOUT))?;
    let mut out = control.try_clone()?;
    writeln!(out, "RUN {}", serde_json::to_string(a).context("assignment")?)?;
    let mut line = String::new();
    BufReader::new(control.try_clone()?)
        .read_line(&mut line)
        .context("no answer (is it serving another run?)")?;
    let line = line.trim_end();
    if let Some(why) = line.strip_prefix("ERR ") {
        bail!("it refused the run: {why}");
    }
    let port = line
        .strip_prefix("OK ")
        .and_then(|p| p.parse::<u16>().ok())
        .with_context(|| format!("it answered `{line}`, not `OK <port>`"))?;
    Ok((control, port))
}

impl Drop for LogServers {
    fn drop(&mut self) {
        for control in &self.assigned {
            let _ = control.shutdown(std::net::Shutdown::Both);
        }
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

    /// A small suite: word count at 1000 events/s on 4 partitions, 10 s.
    const SUITE: &str = r#"
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

    /// Its first run.
    fn run() -> RunSpec {
        crate::suite::Suite::parse(Path::new("t.toml"), SUITE).unwrap().plan().remove(0)
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
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let serve = Serve { listener, clock, end: run.end(), share, threads: 1 };
        let server = run.workload.visit(&run.log, serve).unwrap().unwrap();
        let stream = TcpStream::connect(server.address()).unwrap();
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

    /// Sends `request` to `address` and reads the one-line answer.
    fn ask(address: &str, request: &str) -> String {
        let stream = TcpStream::connect(address).unwrap();
        writeln!(&stream, "{request}").unwrap();
        let mut line = String::new();
        BufReader::new(stream).read_line(&mut line).unwrap();
        line
    }

    /// Assigns `run` to the servers standing by at `at`, with the log the harness generates.
    fn assign(run: &RunSpec, at: &[String]) -> Result<LogServers> {
        struct Assign<'a>(&'a RunSpec, &'a [String]);
        impl Visitor for Assign<'_> {
            type Out = Result<LogServers>;
            fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, log: L) -> Result<LogServers> {
                let (origin, dir) = (monotonic_now() - 2 * SECOND, tempfile::tempdir().unwrap());
                LogServers::assign(self.0, origin, &log, dir.path(), self.1)
            }
        }
        run.workload.visit(&run.log, Assign(run, at)).unwrap()
    }

    /// Servers standing by on loopback until the returned flag is set.
    fn standing_by(n: usize) -> (Vec<String>, Arc<AtomicBool>) {
        let cancel = Arc::new(AtomicBool::new(false));
        let at = (0..n)
            .map(|_| {
                let listener = TcpListener::bind("127.0.0.1:0").unwrap();
                let address = listener.local_addr().unwrap().to_string();
                let cancel = cancel.clone();
                std::thread::spawn(move || stand_by(listener, 1, &cancel));
                address
            })
            .collect();
        (at, cancel)
    }

    #[test]
    fn servers_standing_by_serve_each_assigned_run_until_the_harness_hangs_up() {
        let run = run();
        let (at, cancel) = standing_by(2);
        for _ in 0..2 {
            let servers = assign(&run, &at).unwrap();
            assert_eq!(servers.addresses.len(), 2);
            for (i, data) in servers.addresses.iter().enumerate() {
                assert!(data.starts_with("127.0.0.1:") && !at.contains(data), "{data}: a port of its own");
                // server i of 2 serves partitions i and i + 2 and refuses the others
                assert_eq!(ask(data, &format!("FETCH {} 0 1", i + 2)), "1\n");
                let other = ask(data, &format!("FETCH {} 0 1", 1 - i));
                assert!(other.starts_with(&format!(
                    "ERR partition {} is served by log server {}",
                    1 - i,
                    1 - i
                )));
            }
            let data = servers.addresses.clone();
            drop(servers);
            // hung up: the run's port closes, and the server stands by for the next run
            let closed = (0..100).any(|_| {
                std::thread::sleep(Duration::from_millis(20));
                TcpStream::connect(&data[0]).is_err()
            });
            assert!(closed, "{} still serves after the harness hung up", data[0]);
        }
        cancel.store(true, Ordering::Relaxed);
    }

    #[test]
    fn a_server_standing_by_refuses_a_bad_request_and_another_log_and_stands_by_on() {
        let run = run();
        let (at, cancel) = standing_by(1);
        let answer = ask(&at[0], "HELLO");
        assert!(answer.starts_with("ERR expected `RUN <assignment>`, got `HELLO`"), "{answer}");
        let answer = ask(&at[0], "RUN {\"spec\": 1}");
        assert!(answer.starts_with("ERR the assignment does not parse"), "{answer}");
        let wrong = Assignment { spec: LogServeSpec::new(&run, 0), index: 0, of: 1, fingerprint: 7 };
        let answer = ask(&at[0], &format!("RUN {}", serde_json::to_string(&wrong).unwrap()));
        assert!(answer.contains("generates another log"), "{answer}");
        let share = Assignment { of: 0, fingerprint: 7, ..wrong };
        let answer = ask(&at[0], &format!("RUN {}", serde_json::to_string(&share).unwrap()));
        assert!(answer.contains("--index 0 --of 0"), "{answer}");
        // and the harness's side says which server refused what
        let another = flowmark_core::VecLog::<u32>::new(vec![Vec::new()]).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let refused = LogServers::assign(&run, 0, &another, dir.path(), &at);
        let e = format!("{:#}", refused.err().expect("another log is refused"));
        assert!(e.contains(&format!("standing by at {}", at[0])) && e.contains("another log"), "{e}");
        assert!(assign(&run, &at).is_ok(), "it stands by on");
        cancel.store(true, Ordering::Relaxed);
        let nobody = format!("{:#}", assign(&run, &["127.0.0.1:1".to_string()]).err().expect("nobody there"));
        assert!(nobody.contains("is `flowmark serve-log --standby` running there?"), "{nobody}");
    }

    #[test]
    fn a_suite_names_servers_here_or_standing_by_not_both() {
        let suite = |flink: &str| {
            let text = format!("{}\n[flink]\n{flink}\n", SUITE.replace("\"dataflow\"", "\"flink\""));
            crate::suite::Suite::parse(Path::new("t.toml"), &text).map(|s| s.plan().remove(0))
        };
        let both = suite("log_servers = 2\nlog_servers_at = [\"a:1\"]").expect_err("refused").to_string();
        assert!(both.contains("both name log servers"), "{both}");
        let bad = suite("log_servers_at = [\"a:1\", \"b\"]").expect_err("refused").to_string();
        assert!(bad.contains("`b` is not host:port"), "{bad}");
        let run = suite("log_servers_at = [\"10.0.0.2:7000\", \"10.0.0.3:7000\"]").unwrap();
        let crate::engines::EngineSpec::Flink(f) = &run.engine else { panic!("{:?}", run.engine) };
        assert_eq!(f.servers.log_servers_at.len(), 2);
        assert!(run.key.contains("2-standing-by"), "{}", run.key);
    }
}
