//! The journal: every result a JVM job sent, with the transaction protocol around it, appended
//! by each engine process of a run in turn — and the reader that turns it into what was
//! committed.
//!
//! The JVM sinks are transactional against the harness, as Flink's two-phase-commit sinks are
//! against Kafka: results arrive at once (and are timestamped on arrival), a *pre-commit* of an
//! epoch (a Flink checkpoint id, a Spark batch id) makes the results a connection sent since its
//! previous pre-commit durable and names their epoch, and a *commit* makes every pre-committed
//! epoch up to it visible. When the engine dies, what it pre-committed but never committed
//! waits: the next process restores from the engine's own checkpoint, and the journal records
//! which epoch that checkpoint covers (`restored`) — the waiting epochs up to it are committed
//! then (the restored state contains their effects, so they will not be produced again) and the
//! rest are dropped (the engine replays them). Results never pre-committed are dropped too.
//! A bounded job that finishes commits everything it sent (`finished`).
//!
//! On a cluster the engine also restarts the job by its own means when a worker dies (Flink's
//! restart from its newest checkpoint), inside the same engine process. Each sink connection
//! then names the job's attempt it belongs to (`S`), and the first sink of a new attempt reports
//! the checkpoint it restored from (`X`): as at a restore of a new process, the epochs earlier
//! attempts pre-committed up to that checkpoint are committed and the later ones dropped; what
//! they sent and did not pre-commit is dropped, and anything still arriving from their
//! connections is ignored (those tasks were cancelled).
//!
//! Nothing is deduplicated: a result committed twice is counted twice by the correctness
//! check. Lines are tab-separated:
//!
//! ```text
//! I  <time>                              a new engine process
//! R  <epoch>  <time>                     it restored from a checkpoint covering <epoch>
//!                                        (`-`: it found none and starts afresh)
//! S  <conn>  <attempt>                   <conn> is a sink of the job's attempt <attempt>
//! X  <attempt>  <epoch>  <time>          the engine restarted the job (attempt <attempt>, more
//!                                        than 0) from a checkpoint covering <epoch> (or `-`)
//! D  <conn>  <time>  <sink>  <id>  <value>   a result arrived on connection <conn>
//! P  <conn>  <epoch>  <time>             <conn>'s results so far belong to <epoch>; durable
//! C  <epoch>  <time>                     epochs up to <epoch> are committed
//! F  <time>                              the job finished: all it sent is committed
//! ```

use crate::ExternalError;
use flowmark_core::Time;
use flowmark_core::metrics::Commit;
use flowmark_core::output::{Emission, ResultLine};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Appends to a run's journal.
pub struct Journal {
    out: BufWriter<File>,
    path: PathBuf,
    line: String,
}

impl Journal {
    /// Opens the journal at `path` for appending, first cutting off a line torn by a SIGKILL of
    /// the previous process, and records a new engine process starting at `now`.
    pub fn open(path: &Path, now: Time) -> Result<Journal, ExternalError> {
        cut_torn_line(path)?;
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(ExternalError::io("open", path))?;
        let mut j = Journal {
            out: BufWriter::with_capacity(1 << 16, f),
            path: path.to_path_buf(),
            line: String::new(),
        };
        j.write(format_args!("I\t{now}"))?;
        Ok(j)
    }

    fn write(&mut self, args: std::fmt::Arguments<'_>) -> Result<(), ExternalError> {
        self.line.clear();
        let _ = self.line.write_fmt(args);
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes()).map_err(ExternalError::io("write", &self.path))
    }

    /// The process restored from a checkpoint that covers `epoch` (`None`: it starts afresh).
    pub fn restored(&mut self, epoch: Option<u64>, now: Time) -> Result<(), ExternalError> {
        match epoch {
            Some(epoch) => self.write(format_args!("R\t{epoch}\t{now}"))?,
            None => self.write(format_args!("R\t-\t{now}"))?,
        }
        self.flush()
    }

    /// Connection `conn` is a sink of the job's attempt `attempt`.
    pub fn sink_attempt(&mut self, conn: u64, attempt: u64) -> Result<(), ExternalError> {
        self.write(format_args!("S\t{conn}\t{attempt}"))
    }

    /// The engine restarted the job inside this process: attempt `attempt` restored from a
    /// checkpoint that covers `epoch` (`None`: it starts afresh).
    pub fn restarted(&mut self, attempt: u64, epoch: Option<u64>, now: Time) -> Result<(), ExternalError> {
        match epoch {
            Some(epoch) => self.write(format_args!("X\t{attempt}\t{epoch}\t{now}"))?,
            None => self.write(format_args!("X\t{attempt}\t-\t{now}"))?,
        }
        self.flush()
    }

    /// A result arrived on `conn`.
    pub fn result(
        &mut self,
        conn: u64,
        now: Time,
        sink: &str,
        id: &str,
        value: &str,
    ) -> Result<(), ExternalError> {
        self.write(format_args!("D\t{conn}\t{now}\t{sink}\t{id}\t{value}"))
    }

    /// `conn`'s results so far belong to `epoch`; returns once they are written.
    pub fn precommit(&mut self, conn: u64, epoch: u64, now: Time) -> Result<(), ExternalError> {
        self.write(format_args!("P\t{conn}\t{epoch}\t{now}"))?;
        self.flush()
    }

    /// Epochs up to `epoch` are committed.
    pub fn commit(&mut self, epoch: u64, now: Time) -> Result<(), ExternalError> {
        self.write(format_args!("C\t{epoch}\t{now}"))?;
        self.flush()
    }

    /// The job finished.
    pub fn finished(&mut self, now: Time) -> Result<(), ExternalError> {
        self.write(format_args!("F\t{now}"))?;
        self.flush()
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Hands everything written so far to the kernel (enough to survive a SIGKILL).
    pub fn flush(&mut self) -> Result<(), ExternalError> {
        self.out.flush().map_err(ExternalError::io("write", &self.path))
    }
}

/// Cuts the file at `path` (if any) after its last newline, reading only its tail: the journal
/// of a long run is large, and this is on the path of a restart.
fn cut_torn_line(path: &Path) -> Result<(), ExternalError> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = match std::fs::OpenOptions::new().read(true).write(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(ExternalError::io("open", path)(e)),
    };
    let len = f.metadata().map_err(ExternalError::io("read", path))?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 1 << 16];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let buf = &mut chunk[..(end - start) as usize];
        f.seek(SeekFrom::Start(start)).map_err(ExternalError::io("read", path))?;
        f.read_exact(buf).map_err(ExternalError::io("read", path))?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            end = start + i as u64 + 1;
            break;
        }
        end = start;
    }
    if end < len {
        f.set_len(end).map_err(ExternalError::io("truncate", path))?;
    }
    Ok(())
}

/// What a journal says.
#[derive(Debug, Default)]
pub struct Committed {
    /// The committed results, in commit order.
    pub emissions: Vec<Emission>,
    /// Every commit: its epoch, its first pre-commit and its commit.
    pub commits: Vec<Commit>,
    /// Epochs the last process pre-committed and did not commit: they wait for the next
    /// process's restore.
    pub waiting: Vec<u64>,
}

struct Pending {
    emitted: Time,
    sink: String,
    line: ResultLine,
}

/// An epoch's pre-committed results.
#[derive(Default)]
struct Epoch {
    results: Vec<Pending>,
    started: Option<Time>,
}

#[derive(Default)]
struct Reader {
    out: Committed,
    /// This process's results not yet pre-committed, per connection.
    open: HashMap<u64, Vec<Pending>>,
    /// This process's pre-committed epochs.
    epochs: BTreeMap<u64, Epoch>,
    /// Earlier processes' pre-committed epochs, waiting for a restore.
    waiting: BTreeMap<u64, Epoch>,
    /// This process's sink connections that named their job attempt, with it (0 otherwise).
    attempts: HashMap<u64, u64>,
    /// The job's attempt in this process: connections of earlier ones are ignored.
    attempt: u64,
}

impl Reader {
    fn commit(&mut self, epoch: u64, e: Epoch, at: Time, id: Option<u64>) {
        self.out.commits.push(Commit { id: epoch, started: e.started.unwrap_or(at), committed: at });
        self.out.emissions.extend(e.results.into_iter().map(|p| Emission {
            sink: p.sink,
            emitted: p.emitted,
            line: p.line,
            commit: id,
        }));
    }

    /// Whether connection `conn` belongs to a job attempt that was restarted.
    fn cancelled(&self, conn: u64) -> bool {
        self.attempts.get(&conn).copied().unwrap_or(0) < self.attempt
    }

    fn line(&mut self, line: &str) -> Option<()> {
        let mut f = line.split('\t');
        let time = |s: Option<&str>| s?.parse::<Time>().ok();
        let num = |s: Option<&str>| s?.parse::<u64>().ok();
        let epoch_or_none = |s: Option<&str>| match s? {
            "-" => Some(None),
            e => Some(Some(e.parse::<u64>().ok()?)),
        };
        match f.next()? {
            "I" => {
                time(f.next())?;
                for (epoch, e) in std::mem::take(&mut self.epochs) {
                    let w = self.waiting.entry(epoch).or_default();
                    w.results.extend(e.results);
                    w.started = w.started.or(e.started);
                }
                self.open.clear();
                // a new process numbers its connections and its job's attempts afresh
                self.attempts.clear();
                self.attempt = 0;
            }
            "S" => {
                let (conn, attempt) = (num(f.next())?, num(f.next())?);
                self.attempts.insert(conn, attempt);
            }
            "X" => {
                let (attempt, epoch, at) = (num(f.next())?, epoch_or_none(f.next())?, time(f.next())?);
                if attempt > self.attempt {
                    self.attempt = attempt;
                    let epochs = std::mem::take(&mut self.epochs);
                    for (e, results) in epochs.into_iter().filter(|(e, _)| epoch.is_some_and(|n| *e <= n)) {
                        self.commit(e, results, at, Some(e));
                    }
                    // every connection open now belongs to an earlier attempt
                    self.open.clear();
                }
            }
            "R" => {
                let epoch = epoch_or_none(f.next())?;
                let at = time(f.next())?;
                let waiting = std::mem::take(&mut self.waiting);
                for (e, results) in waiting.into_iter().filter(|(e, _)| epoch.is_some_and(|n| *e <= n)) {
                    self.commit(e, results, at, Some(e));
                }
            }
            "D" => {
                let (conn, emitted) = (num(f.next())?, time(f.next())?);
                let (sink, id, value) = (f.next()?, f.next()?, f.next()?);
                if self.cancelled(conn) {
                    return f.next().is_none().then_some(());
                }
                self.open.entry(conn).or_default().push(Pending {
                    emitted,
                    sink: sink.to_string(),
                    line: ResultLine { id: id.to_string(), value: value.to_string() },
                });
            }
            "P" => {
                let (conn, epoch, at) = (num(f.next())?, num(f.next())?, time(f.next())?);
                if self.cancelled(conn) {
                    return f.next().is_none().then_some(());
                }
                let e = self.epochs.entry(epoch).or_default();
                e.started = Some(e.started.map_or(at, |s| s.min(at)));
                e.results.extend(self.open.remove(&conn).unwrap_or_default());
            }
            "C" => {
                let (epoch, at) = (num(f.next())?, time(f.next())?);
                let later = self.epochs.split_off(&(epoch + 1));
                for (e, results) in std::mem::replace(&mut self.epochs, later) {
                    self.commit(e, results, at, Some(e));
                }
            }
            "F" => {
                let at = time(f.next())?;
                for (e, results) in std::mem::take(&mut self.epochs) {
                    self.commit(e, results, at, Some(e));
                }
                let mut open: Vec<_> = std::mem::take(&mut self.open).into_iter().collect();
                open.sort_by_key(|(conn, _)| *conn);
                for (_, results) in open {
                    self.out.emissions.extend(results.into_iter().map(|p| Emission {
                        sink: p.sink,
                        emitted: p.emitted,
                        line: p.line,
                        commit: None,
                    }));
                }
            }
            _ => return None,
        }
        if f.next().is_some() {
            return None;
        }
        Some(())
    }
}

/// Reports to `metrics`, off the caller's thread, the commits a restore at `at` made (the
/// journal at `path` says which): their instants count for commit latency. The whole journal
/// is read, which takes long for a long run, and the restore's path should not wait for it.
pub fn report_commits_at(path: PathBuf, at: Time, metrics: std::sync::Arc<flowmark_core::Metrics>) {
    let _ = std::thread::Builder::new().name("journal-commits".into()).spawn(move || {
        if let Ok(j) = read(&path) {
            j.commits.into_iter().filter(|c| c.committed == at).for_each(|c| metrics.commit(c));
        }
    });
}

/// Reads the journal at `path` (none yet: nothing committed).
pub fn read(path: &Path) -> Result<Committed, ExternalError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Committed::default()),
        Err(e) => return Err(ExternalError::io("read", path)(e)),
    };
    let mut r = Reader::default();
    let complete = text.rfind('\n').map_or("", |i| &text[..i]);
    for (n, line) in complete.lines().enumerate() {
        if r.line(line).is_none() {
            return Err(ExternalError::Journal {
                path: path.to_path_buf(),
                line: n + 1,
                reason: format!("`{line}` is not a journal line"),
            });
        }
    }
    r.out.waiting = r.epochs.keys().chain(r.waiting.keys()).copied().collect();
    Ok(r.out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn journal(text: &str) -> Committed {
        let dir =
            std::env::temp_dir().join(format!("flowmark-journal-{}-{}", std::process::id(), text.len()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.tsv");
        std::fs::write(&path, text.replace(' ', "\t")).unwrap();
        let out = read(&path).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        out
    }

    fn ids(c: &Committed) -> Vec<(&str, Option<u64>)> {
        c.emissions.iter().map(|e| (e.line.id.as_str(), e.commit)).collect()
    }

    #[test]
    fn commits_what_was_precommitted_and_drops_the_rest() {
        let c = journal(
            "I 0\nD 1 10 s a 1\nD 2 11 s b 1\nP 1 1 20\nP 2 1 21\nD 1 30 s c 1\nC 1 40\nD 1 50 s d 1\n",
        );
        assert_eq!(ids(&c), vec![("a", Some(1)), ("b", Some(1))]);
        assert_eq!(c.commits, vec![Commit { id: 1, started: 20, committed: 40 }]);
        assert!(c.waiting.is_empty());
    }

    #[test]
    fn a_restore_commits_the_epochs_its_checkpoint_covers() {
        // the process dies after pre-committing epochs 2 and 3; the engine's newest checkpoint
        // is 2: epoch 2's results are final, epoch 3's will be produced again
        let text = "I 0\nD 1 10 s a 1\nP 1 2 20\nD 1 30 s b 1\nP 1 3 40\nD 1 45 s x 1\n";
        assert_eq!(journal(text).waiting, vec![2, 3]);
        let c = journal(&format!("{text}I 100\nR 2 110\nD 1 120 s b 1\nP 1 3 130\nC 3 140\n"));
        assert_eq!(ids(&c), vec![("a", Some(2)), ("b", Some(3))]);
        assert_eq!(c.commits[0], Commit { id: 2, started: 20, committed: 110 });
    }

    #[test]
    fn a_restart_inside_the_job_commits_what_its_checkpoint_covers_and_ignores_the_cancelled_tasks() {
        // two sinks of attempt 0 pre-commit epochs 2 and 3; a worker dies, checkpoint 3 never
        // completes, and the engine restarts the job from checkpoint 2 (attempt 1)
        let text = "I 0\nS 1 0\nS 2 0\nD 1 10 s a 1\nD 2 11 s b 1\nP 1 2 20\nP 2 2 21\n\
                    D 1 30 s c 1\nP 1 3 40\nD 2 45 s x 1\n\
                    S 3 1\nX 1 2 100\nS 4 1\nX 1 2 101\n\
                    D 2 102 s late 1\nP 2 3 103\n\
                    D 3 110 s c 1\nD 4 111 s y 1\nP 3 3 120\nP 4 3 121\nC 3 130\n";
        let c = journal(text);
        assert_eq!(ids(&c), vec![("a", Some(2)), ("b", Some(2)), ("c", Some(3)), ("y", Some(3))]);
        assert_eq!(c.commits[0], Commit { id: 2, started: 20, committed: 100 });
        assert_eq!(c.commits[1], Commit { id: 3, started: 120, committed: 130 }, "the new attempt's epoch 3");
        // restarted afresh (no checkpoint yet): nothing earlier attempts pre-committed counts
        let c = journal("I 0\nS 1 0\nD 1 10 s a 1\nP 1 1 20\nS 2 1\nX 1 - 30\nD 2 40 s a 1\nF 50\n");
        assert_eq!(ids(&c), vec![("a", None)]);
        // a new process numbers attempts afresh: its connection 1 is not the old attempt's
        let c = journal("I 0\nS 1 0\nS 2 1\nX 1 - 30\nI 40\nR - 41\nD 1 50 s a 1\nF 60\n");
        assert_eq!(ids(&c), vec![("a", None)]);
    }

    #[test]
    fn finishing_commits_everything_sent() {
        let c = journal("I 0\nD 1 10 s a 1\nP 1 1 20\nD 1 30 s b 1\nF 40\n");
        assert_eq!(ids(&c), vec![("a", Some(1)), ("b", None)]);
        // killed before its first checkpoint: what it pre-committed is dropped
        let c = journal("I 0\nD 1 10 s a 1\nP 1 1 20\nI 30\nR - 31\nF 40\n");
        assert!(ids(&c).is_empty() && c.commits.is_empty());
    }

    #[test]
    fn duplicates_are_kept() {
        // an engine that commits a result twice (say, a non-idempotent replay) is caught by the
        // correctness check, not here
        let c =
            journal("I 0\nD 1 10 s a 1\nP 1 1 20\nC 1 30\nI 40\nR 0 41\nD 1 50 s a 1\nP 1 1 60\nC 1 70\n");
        assert_eq!(ids(&c), vec![("a", Some(1)), ("a", Some(1))]);
    }

    #[test]
    fn a_torn_last_line_is_ignored_and_garbage_is_an_error() {
        let c = journal("I 0\nD 1 10 s a 1\nP 1 1 20\nC 1 30\nD 1 4");
        assert_eq!(ids(&c), vec![("a", Some(1))]);
        let dir = std::env::temp_dir().join(format!("flowmark-journal-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("journal.tsv");
        std::fs::write(&path, "I\t0\nQ\t1\n").unwrap();
        let e = read(&path).unwrap_err().to_string();
        assert!(e.contains("journal.tsv") && e.contains("line 2"), "{e}");
        // the next process cuts the torn line before it appends
        std::fs::write(&path, "I\t0\nD\t1\t4").unwrap();
        drop(Journal::open(&path, 7).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "I\t0\nI\t7\n");
        let _ = std::fs::remove_dir_all(&dir);
    }

    use proptest::prelude::*;

    /// A journal of two engine processes: results, pre-commits, a restore, commits.
    const GOOD: &str = "I\t0\nD\t1\t10\ts\ta\t1\nP\t1\t2\t20\nD\t1\t30\ts\tb\t1\nP\t1\t3\t40\n\
                        I\t100\nR\t2\t110\nD\t1\t120\ts\tb\t1\nP\t1\t3\t130\nC\t3\t140\nF\t150\n";

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Fuzzing the journal reader: a journal with bytes flipped, lines dropped or doubled,
        /// or nothing but random bytes is what it commits or an error naming the file (and
        /// the line) — never a panic.
        #[test]
        fn a_damaged_journal_is_read_or_an_error_naming_it(
            flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            drop_line in proptest::option::of(0..11usize),
            double_line in proptest::option::of(0..11usize),
            raw in proptest::collection::vec(any::<u8>(), 0..100),
            use_raw in any::<bool>(),
        ) {
            let mut lines: Vec<&str> = GOOD.lines().collect();
            if let Some(d) = double_line {
                lines.insert(d, lines[d]);
            }
            if let Some(d) = drop_line {
                lines.remove(d);
            }
            let mut bytes = (lines.join("\n") + "\n").into_bytes();
            for (at, x) in &flips {
                let n = bytes.len();
                bytes[at % n] ^= x;
            }
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("journal.tsv");
            std::fs::write(&path, if use_raw { &raw } else { &bytes }).unwrap();
            if let Err(e) = read(&path) {
                prop_assert!(e.to_string().contains(&path.display().to_string()), "{}", e);
            }
        }
    }
}
