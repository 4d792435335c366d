//! The log server: the run's replayable log, served over loopback TCP to a JVM job — the role
//! Kafka plays for a real deployment — and the other end of the job's transactional sink.
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
//! CHECKPOINT <epoch>   → A                          a source took its snapshot for checkpoint
//!                                                   <epoch>: the first one is its trigger
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
//! Anything else is answered `ERR <reason>` and the connection is closed. The server counts
//! what it serves as the engine's input (events read, backlog: the oldest entry not yet
//! fetched) and hands results to the [`Journal`].
//!
//! A commit completes a checkpoint (Flink) or a batch (Spark). It started at its trigger — the
//! first source snapshot (`CHECKPOINT`) or the engine's own measure (`T`), else the first
//! pre-commit — and wrote the bytes that appeared under the engine's checkpoint directory
//! since the last commit ([`Written`]): the engine's checkpoint metrics, as flowmark's own
//! engines report them.

use crate::journal::Journal;
use crate::written::Written;
use flowmark_core::metrics::{Commit, Metrics};
use flowmark_core::{Log, LogClock, Time};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// What the connections share.
pub struct Shared<L> {
    /// The log.
    pub log: L,
    /// The run's clock.
    pub clock: LogClock,
    /// The end of the input, log time.
    pub end: Time,
    /// The engine's counters.
    pub metrics: Arc<Metrics>,
    /// The results.
    pub journal: Mutex<Journal>,
    /// The first pre-commit of each epoch not yet committed.
    pub precommits: Mutex<HashMap<u64, Time>>,
    /// The trigger of each epoch not yet committed, where a source or the engine reported it.
    triggers: Mutex<HashMap<u64, Time>>,
    /// The engine's checkpoint directory, if its bytes are measured.
    written: Option<Mutex<Written>>,
    /// Per partition: the highest entry fetched so far, plus one.
    fetched: Vec<AtomicU64>,
    connections: AtomicU64,
    /// The latest attempt of the job whose restart was journaled.
    restarted: AtomicU64,
}

impl<L: Log> Shared<L> {
    /// Serves `log` until `end`, counting into `metrics`, results into `journal`.
    pub fn new(log: L, clock: LogClock, end: Time, metrics: Arc<Metrics>, journal: Journal) -> Self {
        let fetched = (0..log.partitions()).map(|_| AtomicU64::new(0)).collect();
        Shared {
            log,
            clock,
            end,
            metrics,
            journal: Mutex::new(journal),
            precommits: Mutex::new(HashMap::new()),
            triggers: Mutex::new(HashMap::new()),
            written: None,
            fetched,
            connections: AtomicU64::new(0),
            restarted: AtomicU64::new(0),
        }
    }

    /// Measures the bytes each checkpoint writes under `dir`, the engine's checkpoint
    /// directory (what is there already does not count).
    pub fn with_checkpoints(mut self, dir: &std::path::Path) -> Self {
        self.written = Some(Mutex::new(Written::new(dir)));
        self
    }

    /// Epoch `epoch` was triggered at `at` (the earliest report counts).
    fn triggered(&self, epoch: u64, at: Time) {
        let mut t = self.triggers.lock().unwrap_or_else(|e| e.into_inner());
        let first = t.entry(epoch).or_insert(at);
        *first = (*first).min(at);
    }

    /// The engine restarted the job (attempt `attempt`) from a checkpoint covering `epoch` at
    /// `now`: journaled, the epochs it commits reported, and what earlier attempts started forgotten.
    fn restarted_job(&self, attempt: u64, epoch: Option<u64>, now: Time) -> std::io::Result<()> {
        let commits_some = {
            let mut p = self.precommits.lock().unwrap_or_else(|e| e.into_inner());
            let some = p.keys().any(|e| epoch.is_some_and(|n| *e <= n));
            p.clear();
            some
        };
        self.triggers.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let path = {
            let mut j = self.journal.lock().unwrap_or_else(|e| e.into_inner());
            j.restarted(attempt, epoch, now).map_err(|e| std::io::Error::other(e.to_string()))?;
            j.path().to_path_buf()
        };
        if commits_some {
            crate::journal::report_commits_at(path, now, self.metrics.clone());
        }
        Ok(())
    }

    /// Commit of the epochs up to `epoch` at `now`: when the checkpoint started (its trigger,
    /// else the first pre-commit of an epoch it commits), or `None` if they were committed
    /// already. Counts the completed checkpoint into the metrics.
    fn committed(&self, epoch: u64, now: Time) -> Option<Time> {
        let triggered = {
            let mut t = self.triggers.lock().unwrap_or_else(|e| e.into_inner());
            // an earlier epoch's trigger is that of a checkpoint that never completed
            let mine = t.get(&epoch).copied();
            t.retain(|e, _| *e > epoch);
            mine
        };
        let precommitted = {
            let mut p = self.precommits.lock().unwrap_or_else(|e| e.into_inner());
            let first = p.iter().filter(|(e, _)| **e <= epoch).map(|(_, t)| *t).min();
            p.retain(|e, _| *e > epoch);
            first
        };
        // every sink task reports the checkpoint's completion: the first report commits
        let precommitted = precommitted?;
        let started = triggered.unwrap_or(precommitted);
        let m = &self.metrics;
        m.checkpoints_completed.fetch_add(1, Ordering::Relaxed);
        m.last_checkpoint_duration.store(now - started, Ordering::Relaxed);
        if let Some(w) = &self.written {
            let bytes = w.lock().unwrap_or_else(|e| e.into_inner()).since_last();
            m.last_checkpoint_bytes.store(bytes, Ordering::Relaxed);
        }
        Some(started)
    }

    /// Entries of `partition` that exist at `now`.
    fn available(&self, partition: u32, now: Time) -> u64 {
        self.log.arrived_before(partition, now.min(self.end))
    }
}

/// Accepts connections on `listener` until the process ends, one thread each.
pub fn serve<L: Log>(listener: TcpListener, shared: Arc<Shared<L>>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let shared = shared.clone();
        let _ = std::thread::Builder::new().name("log-server".into()).spawn(move || {
            // a connection that breaks is the client's business (a dying JVM); nothing to do
            let _ = connection(stream, &shared);
        });
    }
}

fn connection<L: Log>(stream: TcpStream, shared: &Shared<L>) -> std::io::Result<()> {
    stream.set_nodelay(true)?;
    let mut input = BufReader::with_capacity(1 << 16, stream.try_clone()?);
    let mut out = BufWriter::with_capacity(1 << 16, stream);
    let mut line = String::new();
    let mut text = String::new();
    loop {
        line.clear();
        if input.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut words = line.split_ascii_whitespace();
        let reply = match words.next() {
            Some("COUNT") => {
                let now = shared.clock.now();
                let mut reply = format!("{}", u8::from(now >= shared.end));
                for p in 0..shared.log.partitions() {
                    reply.push_str(&format!(" {}", shared.available(p, now)));
                }
                writeln!(out, "{reply}")?;
                Ok(())
            }
            Some("FETCH") => {
                let mut n = || words.next().and_then(|w| w.parse::<u64>().ok());
                match (n(), n(), n()) {
                    (Some(p), Some(from), Some(to))
                        if p < u64::from(shared.log.partitions()) && from <= to =>
                    {
                        fetch(shared, p as u32, from, to, &mut text);
                        out.write_all(text.as_bytes())?;
                        Ok(())
                    }
                    _ => Err(format!("bad FETCH `{}`", line.trim_end())),
                }
            }
            Some("CHECKPOINT") => match words.next().and_then(|w| w.parse::<u64>().ok()) {
                Some(epoch) => {
                    shared.triggered(epoch, shared.clock.now());
                    writeln!(out, "A")?;
                    Ok(())
                }
                None => Err(format!("bad CHECKPOINT `{}`", line.trim_end())),
            },
            Some("SINK") => match words.next().map(str::parse::<u64>) {
                None => {
                    out.flush()?;
                    return sink(input, out, shared, None);
                }
                Some(Ok(attempt)) => {
                    out.flush()?;
                    return sink(input, out, shared, Some(attempt));
                }
                Some(Err(_)) => Err(format!("bad SINK `{}`", line.trim_end())),
            },
            _ => Err(format!("unknown request `{}`", line.trim_end())),
        };
        if let Err(reason) = reply {
            writeln!(out, "ERR {reason}")?;
            out.flush()?;
            return Ok(());
        }
        out.flush()?;
    }
}

/// Writes the reply to a FETCH of `[from, to)` of `partition` into `text`, and counts it.
fn fetch<L: Log>(shared: &Shared<L>, partition: u32, from: u64, to: u64, text: &mut String) {
    use std::fmt::Write as _;
    let now = shared.clock.now();
    let to = to.min(shared.available(partition, now)).max(from);
    text.clear();
    let _ = writeln!(text, "{}", to - from);
    let mut json = Vec::with_capacity(128);
    for entry in shared.log.cursor(partition, from).take((to - from) as usize) {
        json.clear();
        serde_json::to_writer(&mut json, &entry.event).expect("log events serialize");
        let _ = write!(text, "{}\t", entry.time);
        text.push_str(std::str::from_utf8(&json).expect("JSON is UTF-8"));
        text.push('\n');
    }
    let m = &shared.metrics;
    if to > from {
        m.mark_input(now);
        Metrics::add(&m.events_in, to - from);
    }
    let previous = shared.fetched[partition as usize].fetch_max(to, Ordering::Relaxed);
    if to >= previous {
        let next = shared.log.cursor(partition, to).next().map_or(Time::MAX, |e| e.arrival);
        m.next_unread(partition, if next >= shared.end { Time::MAX } else { next });
    }
}

fn sink<L: Log>(
    input: BufReader<TcpStream>,
    mut out: BufWriter<TcpStream>,
    shared: &Shared<L>,
    attempt: Option<u64>,
) -> std::io::Result<()> {
    let conn = shared.connections.fetch_add(1, Ordering::Relaxed) + 1;
    let journal = |f: &mut dyn FnMut(&mut Journal) -> Result<(), crate::ExternalError>| {
        let mut j = shared.journal.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut j).map_err(|e| std::io::Error::other(e.to_string()))
    };
    if let Some(attempt) = attempt {
        journal(&mut |j| j.sink_attempt(conn, attempt))?;
    }
    for line in input.lines() {
        let line = line?;
        let now = shared.clock.now();
        if let Some(rest) = line.strip_prefix("D\t") {
            let mut f = rest.splitn(3, '\t');
            let (Some(sink), Some(id), Some(value)) = (f.next(), f.next(), f.next()) else {
                writeln!(out, "ERR bad result `{line}`")?;
                break;
            };
            journal(&mut |j| j.result(conn, now, sink, id, value))?;
            Metrics::add(&shared.metrics.results_out, 1);
            continue;
        }
        let mut words = line.split_ascii_whitespace();
        let (kind, epoch) = (words.next(), words.next().and_then(|w| w.parse::<u64>().ok()));
        match (kind, epoch) {
            (Some("P"), Some(epoch)) => {
                journal(&mut |j| j.precommit(conn, epoch, now))?;
                shared.precommits.lock().unwrap_or_else(|e| e.into_inner()).entry(epoch).or_insert(now);
                out.write_all(b"A\n")?;
                out.flush()?;
            }
            (Some("T"), Some(epoch)) => match words.next().and_then(|w| w.parse::<Time>().ok()) {
                Some(ago) if ago >= 0 => shared.triggered(epoch, now - ago),
                _ => {
                    writeln!(out, "ERR bad trigger `{line}`")?;
                    break;
                }
            },
            (Some("X"), _) => {
                let epoch = match line[1..].trim() {
                    "-" => Some(None),
                    e => e.parse::<u64>().ok().map(Some),
                };
                match (attempt, epoch) {
                    (Some(attempt), Some(epoch)) if attempt > 0 => {
                        if shared.restarted.fetch_max(attempt, Ordering::AcqRel) < attempt {
                            shared.restarted_job(attempt, epoch, now)?;
                        }
                    }
                    _ => {
                        writeln!(
                            out,
                            "ERR bad restart `{line}`: it needs `X <epoch>|-` on a sink of an attempt above 0"
                        )?;
                        break;
                    }
                }
            }
            (Some("C"), Some(epoch)) => {
                if let Some(started) = shared.committed(epoch, now) {
                    journal(&mut |j| j.commit(epoch, now))?;
                    shared.metrics.commit(Commit { id: epoch, started, committed: now });
                }
            }
            _ => {
                writeln!(out, "ERR bad sink line `{line}`")?;
                break;
            }
        }
    }
    out.flush()
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

/// How fast the log server serves `log` over loopback to `connections` clients that only read
/// (each fetching its share of the partitions in turn, 4096 entries at a time, as the JVM jobs
/// do), with the whole log already arrived: each client reads until `length` has passed or it
/// has read `events`. The results journal, which no client writes, goes to `journal`.
///
/// This is the most the harness can feed a real engine: a rate above it measures the server,
/// not the engine.
pub fn capacity<L: Log>(
    log: L,
    connections: usize,
    length: std::time::Duration,
    events: u64,
    journal: &std::path::Path,
) -> Result<Served, crate::ExternalError> {
    use std::time::Instant;
    let io = |action| crate::ExternalError::io(action, journal);
    // every entry of the first hour has arrived
    let hour = 3_600 * flowmark_core::time::SECOND;
    let clock = LogClock::new(flowmark_core::clock::monotonic_now() - hour);
    let shared =
        Arc::new(Shared::new(log, clock, hour, Arc::new(Metrics::default()), Journal::open(journal, 0)?));
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io("bind"))?;
    let addr = listener.local_addr().map_err(io("bind"))?;
    let connections = connections.max(1);
    let server = {
        let shared = shared.clone();
        std::thread::spawn(move || {
            let mut handles = Vec::new();
            for _ in 0..connections {
                let Ok((stream, _)) = listener.accept() else { break };
                let shared = shared.clone();
                handles.push(std::thread::spawn(move || connection(stream, &shared)));
            }
            for h in handles {
                let _ = h.join();
            }
        })
    };
    let partitions = shared.log.partitions();
    let started = Instant::now();
    let clients: Vec<_> = (0..connections)
        .map(|c| {
            std::thread::spawn(move || -> std::io::Result<u64> {
                let stream = TcpStream::connect(addr)?;
                stream.set_nodelay(true)?;
                let mut reader = BufReader::with_capacity(1 << 16, stream.try_clone()?);
                let mut writer = stream;
                let mine: Vec<u32> = (0..partitions).filter(|p| *p as usize % connections == c).collect();
                let mut next = vec![0u64; mine.len()];
                let (mut read, mut line) = (0u64, String::new());
                let mut k = 0;
                while started.elapsed() < length && read < events && !mine.is_empty() {
                    let i = k % mine.len();
                    let request = format!("FETCH {} {} {}\n", mine[i], next[i], next[i] + 4096);
                    writer.write_all(request.as_bytes())?;
                    line.clear();
                    reader.read_line(&mut line)?;
                    let n: u64 = line.trim().parse().map_err(std::io::Error::other)?;
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
        let read = c.join().unwrap_or_else(|_| Err(std::io::Error::other("a client panicked")));
        served += read.map_err(io("read from the log server for"))?;
    }
    let seconds = started.elapsed().as_secs_f64();
    let _ = server.join();
    Ok(Served { events: served, seconds })
}
