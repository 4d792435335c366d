//! The log server: the run's replayable log, served over TCP to a JVM job — the role Kafka
//! plays for a real deployment — and the other end of the job's transactional sink.
//!
//! One line per request, ASCII, on a connection the client keeps open:
//!
//! ```text
//! COUNT                → <done> <n_0> … <n_{P-1}>   events of each partition that exist now
//!                                                   (arrived, and before the run's end); done
//!                                                   is 1 once the input has ended
//! FETCH <p> <from> <to> → <n>, then n lines <event time>\t<event as JSON>
//!                                                   entries [from, to) of partition p, cut at
//!                                                   what exists now
//! STATS [<since>]     → <events> <started> <resumed> <u_0> … <u_{P-1}>
//!                                                   what this server served: events fetched,
//!                                                   when the first was (log time), the first
//!                                                   read on a connection opened after <since>
//!                                                   (a restarted job's; `-`: none, or no
//!                                                   <since>), and per partition the arrival of
//!                                                   its next unread entry (`-`: not read here)
//! CHECKPOINT <epoch>   → A                          a source took its snapshot for checkpoint
//!                                                   <epoch>: the first one is its trigger
//! FAILURE <key> <ns> <stops> → A                    the engine noticed a failure <ns>
//!                                                   nanoseconds ago (the first report of
//!                                                   <key> counts); stops: 1 if it stopped
//!                                                   reading its input to recover
//! SINK [<attempt>]     the connection becomes a result stream, of that attempt of the job
//!                      (the engine's own restarts count attempts; 0 when not named):
//!   D\t<sink>\t<id>\t<value>   a result (timestamped on arrival)
//!   P <epoch>          pre-commit; answered `A` once durable
//!   T <epoch> <ns>     the engine's own measure: <epoch> was triggered <ns> nanoseconds ago
//!   C <epoch>          commit
//!   X <epoch>|-        the engine restarted the job (this sink's attempt) from a checkpoint
//!                      covering <epoch>; the first report of an attempt counts
//! ```
//!
//! Anything else is answered `ERR <reason>` and the connection is closed.
//!
//! Two kinds of server speak it. The engine process's own ([`Shared::new`]) serves every
//! partition, counts what it serves as the engine's input (events read, backlog: the oldest
//! entry not yet fetched) and hands results to the [`Journal`]. A log server of its own
//! (`flowmark serve-log`, [`Shared::log_only`]) serves its share of the partitions — partition
//! `p` on server `p mod N` — and nothing else: the log is a pure function of the run's seed,
//! so any machine can serve any partition, and the engine process learns what was read from
//! each server's `STATS` ([`poll_stats`]).
//!
//! A commit completes a checkpoint (Flink) or a batch (Spark). It started at its trigger — the
//! first source snapshot (`CHECKPOINT`) or the engine's own measure (`T`), else the first
//! pre-commit — and wrote the bytes that appeared under the engine's checkpoint directory
//! since the last commit ([`Written`]): the engine's checkpoint metrics, as flowmark's own
//! engines report them.
//!
//! Both run on tokio: one server holds the connections of many source tasks on a few threads.

use crate::journal::Journal;
use crate::written::Written;
use flowmark_core::metrics::{Commit, Metrics};
use flowmark_core::{Log, LogClock, Time};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, BufWriter};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// Which partitions a server serves: those `p` with `p mod of == index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Share {
    /// This server's place among them, from 0.
    pub index: u32,
    /// How many servers share the log.
    pub of: u32,
}

impl Share {
    /// One server for the whole log.
    pub const ALL: Share = Share { index: 0, of: 1 };

    /// Whether this server serves `partition`.
    pub fn serves(&self, partition: u32) -> bool {
        partition % self.of.max(1) == self.index
    }
}

/// What the connections share.
pub struct Shared<L> {
    log: L,
    clock: LogClock,
    end: Time,
    share: Share,
    /// What was served: the engine's counters (its own server) or this server's.
    metrics: Arc<Metrics>,
    /// Per partition: the highest entry fetched so far, plus one.
    fetched: Vec<AtomicU64>,
    /// The latest connections that read: when each opened, and its first read.
    first_reads: Mutex<std::collections::VecDeque<(Time, Time)>>,
    /// The results side, on the engine process's own server only.
    sink: Option<SinkSide>,
}

/// How soon after the start of a recovery a new failure that stops the input is taken for
/// the same one, its restart failing again (Flink's restarts 100 ms apart, until its
/// JobManager declares a lost TaskManager dead: seconds).
const RESTART_STORM: Time = 10 * flowmark_core::time::SECOND;

/// The connections whose first reads a server remembers (the latest ones).
const FIRST_READS: usize = 1024;

/// A connection's own state.
struct Connection {
    /// When it opened.
    opened: Time,
    /// Whether it has read any input.
    read: bool,
}

/// The engine process's side: results, commits and the engine's checkpoints.
struct SinkSide {
    journal: Mutex<Journal>,
    /// The first pre-commit of each epoch not yet committed.
    precommits: Mutex<HashMap<u64, Time>>,
    /// The trigger of each epoch not yet committed, where a source or the engine reported it.
    triggers: Mutex<HashMap<u64, Time>>,
    /// The engine's checkpoint directory, if its bytes are measured.
    written: Option<Mutex<Written>>,
    connections: AtomicU64,
    /// The latest attempt of the job whose restart was journaled.
    restarted: AtomicU64,
    /// The failures the engine reported, by key.
    failures: Mutex<std::collections::HashSet<String>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl<L: Log> Shared<L> {
    /// The engine process's own server: serves all of `log` until `end`, counting into
    /// `metrics`, results into `journal`.
    pub fn new(log: L, clock: LogClock, end: Time, metrics: Arc<Metrics>, journal: Journal) -> Self {
        let mut shared = Shared::log_only(log, clock, end, Share::ALL);
        shared.metrics = metrics;
        shared.sink = Some(SinkSide {
            journal: Mutex::new(journal),
            precommits: Mutex::new(HashMap::new()),
            triggers: Mutex::new(HashMap::new()),
            written: None,
            connections: AtomicU64::new(0),
            restarted: AtomicU64::new(0),
            failures: Mutex::new(std::collections::HashSet::new()),
        });
        shared
    }

    /// A log server of its own: serves `share` of `log`'s partitions until `end`, and what it
    /// served to `STATS`; takes no results.
    pub fn log_only(log: L, clock: LogClock, end: Time, share: Share) -> Self {
        let fetched = (0..log.partitions()).map(|_| AtomicU64::new(0)).collect();
        Shared {
            log,
            clock,
            end,
            share,
            metrics: Arc::new(Metrics::default()),
            fetched,
            first_reads: Mutex::new(std::collections::VecDeque::new()),
            sink: None,
        }
    }

    /// Measures the bytes each checkpoint writes under `dir`, the engine's checkpoint
    /// directory (what is there already does not count).
    pub fn with_checkpoints(mut self, dir: &std::path::Path) -> Self {
        if let Some(sink) = &mut self.sink {
            sink.written = Some(Mutex::new(Written::new(dir)));
        }
        self
    }

    /// Journals the end of the job at `now` (the engine process's own server).
    pub fn finished(&self, now: Time) -> Result<(), crate::ExternalError> {
        match &self.sink {
            Some(sink) => lock(&sink.journal).finished(now),
            None => Ok(()),
        }
    }

    /// Entries of `partition` that exist at `now`.
    fn available(&self, partition: u32, now: Time) -> u64 {
        self.log.arrived_before(partition, now.min(self.end))
    }

    /// The reply to one request line on connection `conn` into `text`: `Ok(None)` when
    /// answered, `Ok(Some(attempt))` when the connection becomes a sink, `Err` naming what is
    /// wrong with it.
    fn answer(
        &self,
        line: &str,
        conn: &mut Connection,
        text: &mut String,
    ) -> Result<Option<Option<u64>>, String> {
        use std::fmt::Write as _;
        text.clear();
        let mut words = line.split_ascii_whitespace();
        let bad = |what: &str| format!("bad {what} `{}`", line.trim_end());
        match words.next() {
            Some("COUNT") => {
                let now = self.clock.now();
                let _ = write!(text, "{}", u8::from(now >= self.end));
                for p in 0..self.log.partitions() {
                    let _ = write!(text, " {}", self.available(p, now));
                }
                text.push('\n');
            }
            Some("FETCH") => {
                let mut n = || words.next().and_then(|w| w.parse::<u64>().ok());
                match (n(), n(), n()) {
                    (Some(p), Some(from), Some(to)) if p < u64::from(self.log.partitions()) && from <= to => {
                        if !self.share.serves(p as u32) {
                            return Err(format!(
                                "partition {p} is served by log server {} of {}, this is {}",
                                p % u64::from(self.share.of),
                                self.share.of,
                                self.share.index
                            ));
                        }
                        self.fetch(p as u32, from, to, conn, text);
                    }
                    _ => return Err(bad("FETCH")),
                }
            }
            Some("STATS") => {
                let since = match words.next().map(str::parse::<Time>) {
                    None => None,
                    Some(Ok(since)) => Some(since),
                    Some(Err(_)) => return Err(bad("STATS")),
                };
                let m = &self.metrics;
                let time = |text: &mut String, t: Option<Time>| match t {
                    Some(t) => {
                        let _ = write!(text, " {t}");
                    }
                    None => text.push_str(" -"),
                };
                let started = Some(m.input_started.load(Ordering::Relaxed)).filter(|t| *t != i64::MIN);
                let resumed = since.and_then(|since| {
                    lock(&self.first_reads)
                        .iter()
                        .filter(|(opened, _)| *opened > since)
                        .map(|(_, r)| *r)
                        .min()
                });
                let _ = write!(text, "{}", m.events_in.load(Ordering::Relaxed));
                time(text, started);
                time(text, resumed);
                let unread = lock(&m.next_unread).clone();
                for p in 0..self.log.partitions() as usize {
                    time(text, unread.get(p).copied().filter(|u| *u != Time::MIN));
                }
                text.push('\n');
            }
            Some("CHECKPOINT") => match (&self.sink, words.next().and_then(|w| w.parse::<u64>().ok())) {
                (Some(sink), Some(epoch)) => {
                    sink.triggered(epoch, self.clock.now());
                    text.push_str("A\n");
                }
                (None, _) => {
                    return Err(
                        "this log server takes no checkpoint reports: send them to the engine process's"
                            .into(),
                    );
                }
                (_, None) => return Err(bad("CHECKPOINT")),
            },
            Some("FAILURE") => {
                let Some(sink) = &self.sink else {
                    return Err(
                        "this log server takes no failure reports: send them to the engine process's".into(),
                    );
                };
                let (key, ago) = (words.next(), words.next().and_then(|w| w.parse::<Time>().ok()));
                match (key, ago, words.next()) {
                    (Some(key), Some(ago), Some(stops @ ("0" | "1"))) if ago >= 0 => {
                        if lock(&sink.failures).insert(key.to_string()) {
                            let (m, now) = (&self.metrics, self.clock.now());
                            let last = m.recovery_started.load(Ordering::Relaxed);
                            // a restart that failed again soon after (Flink redeploying onto
                            // a TaskManager not yet known to be lost) is the same failure
                            if stops == "1" && last != i64::MIN && now - last < RESTART_STORM {
                                m.failed_again(now - ago);
                            } else {
                                m.failure(now - ago, stops == "1");
                            }
                        }
                        text.push_str("A\n");
                    }
                    _ => return Err(bad("FAILURE")),
                }
            }
            Some("SINK") => {
                if self.sink.is_none() {
                    return Err("this log server takes no results: send them to the engine process's".into());
                }
                return match words.next().map(str::parse::<u64>) {
                    None => Ok(Some(None)),
                    Some(Ok(attempt)) => Ok(Some(Some(attempt))),
                    Some(Err(_)) => Err(bad("SINK")),
                };
            }
            _ => return Err(format!("unknown request `{}`", line.trim_end())),
        }
        Ok(None)
    }

    /// Writes the reply to a FETCH of `[from, to)` of `partition` on connection `conn` into
    /// `text`, and counts it.
    fn fetch(&self, partition: u32, from: u64, to: u64, conn: &mut Connection, text: &mut String) {
        use std::fmt::Write as _;
        let now = self.clock.now();
        let to = to.min(self.available(partition, now)).max(from);
        let _ = writeln!(text, "{}", to - from);
        let mut json = Vec::with_capacity(128);
        for entry in self.log.cursor(partition, from).take((to - from) as usize) {
            json.clear();
            serde_json::to_writer(&mut json, &entry.event).expect("log events serialize");
            let _ = write!(text, "{}\t", entry.time);
            text.push_str(std::str::from_utf8(&json).expect("JSON is UTF-8"));
            text.push('\n');
        }
        let m = &self.metrics;
        if to > from {
            // input read again after a failure that stopped it ends the restore — unless on a
            // connection of the attempt the engine gave up, still finishing its last fetch
            if conn.opened > m.recovery_started.load(Ordering::Relaxed) {
                m.mark_input(now);
            }
            if !conn.read {
                conn.read = true;
                let mut first = lock(&self.first_reads);
                if first.len() == FIRST_READS {
                    first.pop_front();
                }
                first.push_back((conn.opened, now));
            }
            Metrics::add(&m.events_in, to - from);
        }
        let previous = self.fetched[partition as usize].fetch_max(to, Ordering::Relaxed);
        if to >= previous {
            let next = self.log.cursor(partition, to).next().map_or(Time::MAX, |e| e.arrival);
            m.next_unread(partition, if next >= self.end { Time::MAX } else { next });
        }
    }
}

impl SinkSide {
    /// Epoch `epoch` was triggered at `at` (the earliest report counts).
    fn triggered(&self, epoch: u64, at: Time) {
        let mut t = lock(&self.triggers);
        let first = t.entry(epoch).or_insert(at);
        *first = (*first).min(at);
    }

    fn journal(
        &self,
        f: impl FnOnce(&mut Journal) -> Result<(), crate::ExternalError>,
    ) -> std::io::Result<()> {
        f(&mut lock(&self.journal)).map_err(|e| std::io::Error::other(e.to_string()))
    }

    /// The engine restarted the job (attempt `attempt`) from a checkpoint covering `epoch` at
    /// `now`: journaled, the epochs it commits reported, and what earlier attempts started forgotten.
    fn restarted_job(
        &self,
        attempt: u64,
        epoch: Option<u64>,
        now: Time,
        metrics: &Arc<Metrics>,
    ) -> std::io::Result<()> {
        let commits_some = {
            let mut p = lock(&self.precommits);
            let some = p.keys().any(|e| epoch.is_some_and(|n| *e <= n));
            p.clear();
            some
        };
        lock(&self.triggers).clear();
        let mut path = None;
        self.journal(|j| {
            path = Some(j.path().to_path_buf());
            j.restarted(attempt, epoch, now)
        })?;
        if let (true, Some(path)) = (commits_some, path) {
            crate::journal::report_commits_at(path, now, metrics.clone());
        }
        Ok(())
    }

    /// Commit of the epochs up to `epoch` at `now`: when the checkpoint started (its trigger,
    /// else the first pre-commit of an epoch it commits), or `None` if they were committed
    /// already. Counts the completed checkpoint into the metrics.
    fn committed(&self, epoch: u64, now: Time, m: &Metrics) -> Option<Time> {
        let triggered = {
            let mut t = lock(&self.triggers);
            // an earlier epoch's trigger is that of a checkpoint that never completed
            let mine = t.get(&epoch).copied();
            t.retain(|e, _| *e > epoch);
            mine
        };
        let precommitted = {
            let mut p = lock(&self.precommits);
            let first = p.iter().filter(|(e, _)| **e <= epoch).map(|(_, t)| *t).min();
            p.retain(|e, _| *e > epoch);
            first
        };
        // every sink task reports the checkpoint's completion: the first report commits
        let precommitted = precommitted?;
        let started = triggered.unwrap_or(precommitted);
        m.checkpoints_completed.fetch_add(1, Ordering::Relaxed);
        m.last_checkpoint_duration.store(now - started, Ordering::Relaxed);
        if let Some(w) = &self.written {
            m.last_checkpoint_bytes.store(lock(w).since_last(), Ordering::Relaxed);
        }
        Some(started)
    }
}

/// A server running: its address; dropping it stops it.
pub struct Server {
    address: SocketAddr,
    _runtime: tokio::runtime::Runtime,
}

impl Server {
    /// Serves `shared` to whoever connects to `listener`, on `threads` threads, until dropped.
    pub fn start<L: Log>(
        listener: std::net::TcpListener,
        shared: Arc<Shared<L>>,
        threads: usize,
    ) -> std::io::Result<Server> {
        let address = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("log-server")
            .enable_io()
            .build()?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        runtime.spawn(async move {
            loop {
                // a connection that fails to arrive is the client's business; go on accepting
                let Ok((stream, _)) = listener.accept().await else { continue };
                let shared = shared.clone();
                // a connection that breaks is the client's business too (a dying JVM)
                tokio::spawn(async move { connection(stream, &shared).await });
            }
        });
        Ok(Server { address, _runtime: runtime })
    }

    /// Where it listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

async fn connection<L: Log>(stream: TcpStream, shared: &Shared<L>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let (read, write) = stream.into_split();
    let mut input = BufReader::with_capacity(1 << 16, read);
    let mut out = BufWriter::with_capacity(1 << 16, write);
    let (mut line, mut text) = (String::new(), String::new());
    let mut conn = Connection { opened: shared.clock.now(), read: false };
    loop {
        line.clear();
        if input.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        match shared.answer(&line, &mut conn, &mut text) {
            Ok(None) => out.write_all(text.as_bytes()).await?,
            Ok(Some(attempt)) => {
                out.flush().await?;
                return sink(input, out, shared, attempt).await;
            }
            Err(reason) => {
                out.write_all(format!("ERR {reason}\n").as_bytes()).await?;
                return out.flush().await;
            }
        }
        out.flush().await?;
    }
}

async fn sink<L: Log>(
    input: BufReader<OwnedReadHalf>,
    mut out: BufWriter<OwnedWriteHalf>,
    shared: &Shared<L>,
    attempt: Option<u64>,
) -> std::io::Result<()> {
    let Some(side) = &shared.sink else { return Ok(()) };
    let conn = side.connections.fetch_add(1, Ordering::Relaxed) + 1;
    if let Some(attempt) = attempt {
        side.journal(|j| j.sink_attempt(conn, attempt))?;
    }
    let mut lines = input.lines();
    while let Some(line) = lines.next_line().await? {
        let now = shared.clock.now();
        if let Some(rest) = line.strip_prefix("D\t") {
            let mut f = rest.splitn(3, '\t');
            let (Some(name), Some(id), Some(value)) = (f.next(), f.next(), f.next()) else {
                out.write_all(format!("ERR bad result `{line}`\n").as_bytes()).await?;
                break;
            };
            side.journal(|j| j.result(conn, now, name, id, value))?;
            Metrics::add(&shared.metrics.results_out, 1);
            continue;
        }
        let mut words = line.split_ascii_whitespace();
        let (kind, epoch) = (words.next(), words.next().and_then(|w| w.parse::<u64>().ok()));
        let refused = match (kind, epoch) {
            (Some("P"), Some(epoch)) => {
                side.journal(|j| j.precommit(conn, epoch, now))?;
                lock(&side.precommits).entry(epoch).or_insert(now);
                out.write_all(b"A\n").await?;
                out.flush().await?;
                None
            }
            (Some("T"), Some(epoch)) => match words.next().and_then(|w| w.parse::<Time>().ok()) {
                Some(ago) if ago >= 0 => {
                    side.triggered(epoch, now - ago);
                    None
                }
                _ => Some(format!("bad trigger `{line}`")),
            },
            (Some("X"), _) => {
                let epoch = match line[1..].trim() {
                    "-" => Some(None),
                    e => e.parse::<u64>().ok().map(Some),
                };
                match (attempt, epoch) {
                    (Some(attempt), Some(epoch)) if attempt > 0 => {
                        if side.restarted.fetch_max(attempt, Ordering::AcqRel) < attempt {
                            side.restarted_job(attempt, epoch, now, &shared.metrics)?;
                        }
                        None
                    }
                    _ => Some(format!(
                        "bad restart `{line}`: it needs `X <epoch>|-` on a sink of an attempt above 0"
                    )),
                }
            }
            (Some("C"), Some(epoch)) => {
                if let Some(started) = side.committed(epoch, now, &shared.metrics) {
                    side.journal(|j| j.commit(epoch, now))?;
                    shared.metrics.commit(Commit { id: epoch, started, committed: now });
                }
                None
            }
            _ => Some(format!("bad sink line `{line}`")),
        };
        if let Some(reason) = refused {
            out.write_all(format!("ERR {reason}\n").as_bytes()).await?;
            break;
        }
    }
    out.flush().await
}

/// Asks each of `servers` (log servers of their own, together serving the whole log) what it
/// served, every `every`, until `stop`, into the engine's `metrics`: events read (their sum),
/// when input was first read — after a failure the engine noticed, on a connection opened
/// since (the restarted job's: the end of its restore) — and each partition's next unread
/// entry (for the backlog). A server that cannot be reached is asked again next time.
pub fn poll_stats(
    servers: &[String],
    metrics: &Metrics,
    every: std::time::Duration,
    stop: &std::sync::atomic::AtomicBool,
) {
    use std::io::{BufRead, Write};
    let mut connections: Vec<Option<(std::net::TcpStream, std::io::BufReader<std::net::TcpStream>)>> =
        servers.iter().map(|_| None).collect();
    let mut line = String::new();
    while !stop.load(Ordering::Relaxed) {
        let failed = Some(metrics.recovery_started.load(Ordering::Relaxed)).filter(|t| *t != i64::MIN);
        let request = failed.map_or_else(|| "STATS\n".to_string(), |since| format!("STATS {since}\n"));
        let (mut events, mut started) = (0u64, None::<Time>);
        for (address, conn) in servers.iter().zip(&mut connections) {
            if conn.is_none() {
                *conn = std::net::TcpStream::connect(address)
                    .and_then(|s| Ok((s.try_clone()?, std::io::BufReader::new(s))))
                    .ok();
            }
            let Some((out, input)) = conn else { continue };
            line.clear();
            let asked = out.write_all(request.as_bytes()).and_then(|()| input.read_line(&mut line));
            let Some(stats) = asked.ok().filter(|n| *n > 0).and_then(|_| Stats::parse(&line)) else {
                *conn = None;
                continue;
            };
            events += stats.events;
            // the first read; after a failure, the first on a connection opened since
            if let Some(s) = if failed.is_some() { stats.resumed } else { stats.started } {
                started = Some(started.map_or(s, |t: Time| t.min(s)));
            }
            for (p, unread) in stats.unread.iter().enumerate() {
                if let Some(u) = unread {
                    metrics.next_unread(p as u32, *u);
                }
            }
        }
        if let Some(started) = started {
            metrics.mark_input(started);
        }
        metrics.events_in.fetch_max(events, Ordering::Relaxed);
        std::thread::sleep(every);
    }
}

/// A server's reply to `STATS`.
#[derive(Debug, PartialEq)]
struct Stats {
    events: u64,
    started: Option<Time>,
    resumed: Option<Time>,
    unread: Vec<Option<Time>>,
}

impl Stats {
    fn parse(line: &str) -> Option<Stats> {
        let time = |w: &str| if w == "-" { Some(None) } else { w.parse::<Time>().ok().map(Some) };
        let mut words = line.split_ascii_whitespace();
        let events = words.next()?.parse().ok()?;
        let started = time(words.next()?)?;
        let resumed = time(words.next()?)?;
        let unread = words.map(time).collect::<Option<Vec<_>>>()?;
        Some(Stats { events, started, resumed, unread })
    }
}

/// What [`capacity`] measured: events served to the clients, and the wall time it took.
#[derive(Clone, Copy, Debug)]
pub struct Served {
    /// Events the clients read.
    pub events: u64,
    /// From the first request to the last reply.
    pub seconds: f64,
}

impl Served {
    /// Events per second.
    pub fn rate(&self) -> f64 {
        self.events as f64 / self.seconds.max(1e-9)
    }
}

/// How fast `servers` log servers of their own (as `flowmark serve-log` runs them, each on
/// `threads` threads) serve `log` over loopback to `connections` clients that only read: each
/// client fetches its share of the partitions in turn, 4096 entries at a time, each partition
/// from its server, as the JVM jobs do. The whole log has already arrived; each client reads
/// until `length` has passed or it has read `events`.
///
/// This is the most the harness can feed a real engine: a rate above it measures the servers,
/// not the engine.
pub fn capacity<L: Log>(
    log: L,
    servers: u32,
    threads: usize,
    connections: usize,
    length: std::time::Duration,
    events: u64,
) -> std::io::Result<Served> {
    use std::io::{BufRead, Write};
    use std::time::Instant;
    // every entry of the first hour has arrived
    let hour = 3_600 * flowmark_core::time::SECOND;
    let clock = LogClock::new(flowmark_core::clock::monotonic_now() - hour);
    let partitions = log.partitions();
    let servers = servers.max(1);
    let running = (0..servers)
        .map(|index| {
            let shared = Arc::new(Shared::log_only(log.clone(), clock, hour, Share { index, of: servers }));
            Server::start(std::net::TcpListener::bind("127.0.0.1:0")?, shared, threads)
        })
        .collect::<std::io::Result<Vec<_>>>()?;
    let addresses: Vec<SocketAddr> = running.iter().map(Server::address).collect();
    let connections = connections.max(1);
    let started = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|c| {
            let addresses = addresses.clone();
            std::thread::spawn(move || -> std::io::Result<u64> {
                let mine: Vec<u32> = (0..partitions).filter(|p| *p as usize % connections == c).collect();
                let mut streams = Vec::new();
                for p in &mine {
                    let stream = std::net::TcpStream::connect(addresses[(*p % servers) as usize])?;
                    stream.set_nodelay(true)?;
                    streams.push((std::io::BufReader::with_capacity(1 << 16, stream.try_clone()?), stream));
                }
                let mut next = vec![0u64; mine.len()];
                let (mut read, mut line) = (0u64, String::new());
                let mut k = 0;
                while started.elapsed() < length && read < events && !mine.is_empty() {
                    let i = k % mine.len();
                    let (reader, writer) = &mut streams[i];
                    writer.write_all(
                        format!("FETCH {} {} {}\n", mine[i], next[i], next[i] + 4096).as_bytes(),
                    )?;
                    line.clear();
                    reader.read_line(&mut line)?;
                    let n: u64 = line.trim().parse().map_err(|_| std::io::Error::other(line.clone()))?;
                    for _ in 0..n {
                        line.clear();
                        reader.read_line(&mut line)?;
                    }
                    next[i] += n;
                    read += n;
                    k += 1;
                }
                Ok(read)
            })
        })
        .collect();
    let mut served = 0;
    for c in clients {
        served += c.join().unwrap_or_else(|_| Err(std::io::Error::other("a client panicked")))?;
    }
    Ok(Served { events: served, seconds: started.elapsed().as_secs_f64() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_share_is_the_partitions_equal_to_its_index_modulo_the_servers() {
        let second = Share { index: 1, of: 4 };
        let served: Vec<u32> = (0..10).filter(|p| second.serves(*p)).collect();
        assert_eq!(served, [1, 5, 9]);
        assert!((0..10).all(|p| Share::ALL.serves(p)));
    }

    #[test]
    fn stats_name_what_was_not_read_and_refuse_what_is_not_a_number() {
        let stats = Stats::parse("12 -5 30 - 7 9223372036854775807\n").unwrap();
        let unread = vec![None, Some(7), Some(Time::MAX)];
        assert_eq!(stats, Stats { events: 12, started: Some(-5), resumed: Some(30), unread });
        assert_eq!(Stats::parse("0 - -\n").unwrap().started, None);
        assert!(Stats::parse("0 -\n").is_none(), "no resumed field");
        assert!(Stats::parse("12 x 1").is_none());
        assert!(Stats::parse("").is_none());
    }
}
