//! The log server and the results journal, spoken to over TCP as the JVM jobs do — no JVM
//! needed: counts respect arrival and the run's end, fetches return the events as the engines
//! read them, and a sink's results count once pre-committed and committed.

use flowmark_core::clock::monotonic_now;
use flowmark_core::time::{MILLISECOND, SECOND};
use flowmark_core::{Entry, LogClock, Metrics, Time, VecLog};
use flowmark_external::journal::{self, Journal};
use flowmark_external::server::{self, Server, Share, Shared};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::Ordering;

/// Two partitions of one event per millisecond of log time (the event is its index), with
/// event times 3 ms behind arrivals; the run ends at 2 s.
fn start(dir: &std::path::Path) -> (std::net::SocketAddr, Arc<Metrics>, LogClock) {
    let partition = |p: u32| {
        (0..4000u32)
            .map(|i| Entry {
                arrival: i64::from(i) * MILLISECOND,
                time: i64::from(i) * MILLISECOND - 3,
                event: i + p,
            })
            .collect::<Vec<_>>()
    };
    let log = VecLog::new(vec![partition(0), partition(1)]).unwrap();
    // log time now is about 3 s: everything before the end (2 s) has arrived
    let clock = LogClock::new(monotonic_now() - 3 * SECOND);
    let metrics = Arc::new(Metrics::default());
    let journal = Journal::open(&dir.join("journal.tsv"), clock.now()).unwrap();
    let shared = Arc::new(
        Shared::new(log, clock, 2 * SECOND, metrics.clone(), journal).with_checkpoints(&dir.join("chk")),
    );
    let server = Server::start(TcpListener::bind("127.0.0.1:0").unwrap(), shared, 2).unwrap();
    let addr = server.address();
    // it serves until the test process ends
    std::mem::forget(server);
    (addr, metrics, clock)
}

/// An empty directory of this name under the temporary directory, this process's own.
fn fresh(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

struct Client {
    out: TcpStream,
    input: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: std::net::SocketAddr) -> Client {
        let out = TcpStream::connect(addr).unwrap();
        Client { input: BufReader::new(out.try_clone().unwrap()), out }
    }
    fn send(&mut self, line: &str) {
        writeln!(self.out, "{line}").unwrap();
    }
    fn line(&mut self) -> String {
        let mut s = String::new();
        self.input.read_line(&mut s).unwrap();
        s.trim_end().to_string()
    }
}

#[test]
fn the_log_is_served_as_it_arrives_and_results_count_once_committed() {
    let dir = fresh("flowmark-external-server");
    let (addr, metrics, clock) = start(&dir);

    let mut log = Client::connect(addr);
    log.send("COUNT");
    assert_eq!(log.line(), "1 2000 2000", "the input has ended at 2 s: 2000 events each");
    log.send("FETCH 1 10 13");
    assert_eq!(log.line(), "3");
    let events: Vec<String> = (0..3).map(|_| log.line()).collect();
    assert_eq!(events, ["9999997\t11", "10999997\t12", "11999997\t13"]);
    log.send("FETCH 0 1999 5000");
    assert_eq!(log.line(), "1", "cut at what exists");
    assert_eq!(log.line(), "1998999997\t1999");
    assert_eq!(metrics.events_in.load(Ordering::Relaxed), 4);
    // partition 0 has been read to its end; partition 1's next unread event arrived at 13 ms
    let backlog = metrics.backlog(clock.now());
    assert!(backlog >= clock.now() - 13 * MILLISECOND - SECOND / 10, "{backlog}");
    log.send("FETCH 7 0 1");
    assert!(log.line().starts_with("ERR bad FETCH"), "a bad request is named");

    let mut sink = Client::connect(addr);
    sink.send("SINK");
    sink.send("D\tcounts\tw [0,1000)\t5");
    sink.send("P 1");
    assert_eq!(sink.line(), "A", "pre-commit acknowledged once durable");
    sink.send("D\tcounts\tw [1000,2000)\t7");
    sink.send("C 1");
    sink.send("P 2");
    assert_eq!(sink.line(), "A");
    let committed = journal::read(&dir.join("journal.tsv")).unwrap();
    let ids: Vec<&str> = committed.emissions.iter().map(|e| e.line.id.as_str()).collect();
    assert_eq!(ids, ["w [0,1000)"], "epoch 2 is pre-committed, not committed");
    assert_eq!(committed.waiting, vec![2]);
    assert_eq!(metrics.take_commits().len(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_checkpoint_lasts_from_its_trigger_to_its_commit_and_wrote_what_appeared_in_its_directory() {
    let dir = fresh("flowmark-external-checkpoints");
    std::fs::create_dir_all(dir.join("chk")).unwrap();
    std::fs::write(dir.join("chk/before"), [0u8; 50]).unwrap();
    let (addr, metrics, clock) = start(&dir);
    let (mut source, mut sink) = (Client::connect(addr), Client::connect(addr));
    sink.send("SINK");
    let load = |a: &std::sync::atomic::AtomicU64| a.load(Ordering::Relaxed);

    // Flink: the first source snapshot is the trigger
    let before_trigger = clock.now();
    source.send("CHECKPOINT 1");
    assert_eq!(source.line(), "A");
    source.send("CHECKPOINT 1");
    assert_eq!(source.line(), "A", "a second source's report of the same checkpoint");
    std::fs::write(dir.join("chk/state-1"), [0u8; 1000]).unwrap();
    sink.send("P 1");
    assert_eq!(sink.line(), "A");
    let precommitted = clock.now();
    sink.send("C 1");
    sink.send("P 2");
    assert_eq!(sink.line(), "A", "C 1 was handled before this");
    let commits = metrics.take_commits();
    assert_eq!(commits.len(), 1);
    assert!(commits[0].started >= before_trigger && commits[0].started < precommitted, "{commits:?}");
    assert_eq!(load(&metrics.checkpoints_completed), 1);
    assert_eq!(load(&metrics.last_checkpoint_bytes), 1000, "the file there before does not count");
    let duration = metrics.last_checkpoint_duration.load(Ordering::Relaxed);
    assert_eq!(duration, commits[0].committed - commits[0].started);

    // a checkpoint that never completed: the next one's duration starts at its own trigger
    source.send("CHECKPOINT 3");
    assert_eq!(source.line(), "A");
    let before_4 = clock.now();
    source.send("CHECKPOINT 4");
    assert_eq!(source.line(), "A");
    sink.send("P 4");
    assert_eq!(sink.line(), "A");
    sink.send("C 4");
    // Spark: the engine's own measure of the batch, sent before its commit
    sink.send("T 5 250000000");
    sink.send("P 5");
    assert_eq!(sink.line(), "A");
    let sent_5 = clock.now();
    sink.send("C 5");
    sink.send("P 6");
    assert_eq!(sink.line(), "A");
    let commits = metrics.take_commits();
    assert_eq!(commits.iter().map(|c| c.id).collect::<Vec<_>>(), [4, 5]);
    assert!(commits[0].started >= before_4, "not checkpoint 3's trigger: {commits:?}");
    assert!(
        commits[1].started <= sent_5 - 250 * MILLISECOND,
        "250 ms before the T line arrived: {commits:?}"
    );
    assert_eq!(load(&metrics.checkpoints_completed), 3);
    assert_eq!(load(&metrics.last_checkpoint_bytes), 0, "nothing new since checkpoint 4");

    source.send("CHECKPOINT x");
    assert!(source.line().starts_with("ERR bad CHECKPOINT"));
    sink.send("T 7 -5");
    assert!(sink.line().starts_with("ERR bad trigger"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_restart_inside_the_job_is_journaled_once_per_attempt_and_commits_what_its_checkpoint_covers() {
    let dir = fresh("flowmark-external-restart");
    let (addr, metrics, _) = start(&dir);
    let mut old = Client::connect(addr);
    old.send("SINK 0");
    old.send("D\tcounts\ta\t1");
    old.send("P 2");
    assert_eq!(old.line(), "A");
    old.send("D\tcounts\tx\t1");
    old.send("P 3");
    assert_eq!(old.line(), "A");
    // a worker died: checkpoint 3 never completed, the engine restored from 2
    let (mut one, mut two) = (Client::connect(addr), Client::connect(addr));
    one.send("SINK 1");
    one.send("X 2");
    two.send("SINK 1");
    two.send("X 2");
    one.send("D\tcounts\tx\t1");
    one.send("P 3");
    assert_eq!(one.line(), "A");
    two.send("P 3");
    assert_eq!(two.line(), "A");
    one.send("C 3");
    one.send("P 4");
    assert_eq!(one.line(), "A");
    let committed = journal::read(&dir.join("journal.tsv")).unwrap();
    let ids: Vec<&str> = committed.emissions.iter().map(|e| e.line.id.as_str()).collect();
    assert_eq!(ids, ["a", "x"], "epoch 2 by the restart, then the new attempt's epoch 3");
    let text = std::fs::read_to_string(dir.join("journal.tsv")).unwrap();
    assert_eq!(text.lines().filter(|l| l.starts_with("X\t")).count(), 1, "{text}");
    // the restart's commit is reported off the sink's thread
    let mut commits: Vec<u64> = Vec::new();
    for _ in 0..500 {
        commits.extend(metrics.take_commits().iter().map(|c| c.id));
        if commits.len() >= 2 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    commits.sort_unstable();
    assert_eq!(commits, [2, 3]);

    let mut bad = Client::connect(addr);
    bad.send("SINK");
    bad.send("X 5");
    assert!(bad.line().starts_with("ERR bad restart"), "a sink that named no attempt");
    let mut bad = Client::connect(addr);
    bad.send("SINK one");
    assert!(bad.line().starts_with("ERR bad SINK"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn log_servers_of_their_own_share_the_partitions_and_tell_what_they_served() {
    let log = VecLog::new(
        (0..3u32)
            .map(|p| {
                (0..100u32).map(|i| Entry { arrival: i64::from(i), time: i64::from(i), event: p }).collect()
            })
            .collect(),
    )
    .unwrap();
    let clock = LogClock::new(monotonic_now() - SECOND);
    let servers: Vec<Server> = (0..2)
        .map(|index| {
            let shared = Arc::new(Shared::log_only(log.clone(), clock, 50, Share { index, of: 2 }));
            Server::start(TcpListener::bind("127.0.0.1:0").unwrap(), shared, 1).unwrap()
        })
        .collect();
    let (mut first, mut second) =
        (Client::connect(servers[0].address()), Client::connect(servers[1].address()));
    first.send("STATS");
    assert_eq!(first.line(), "0 - - - - -", "nothing served yet");
    first.send("COUNT");
    assert_eq!(first.line(), "1 50 50 50", "every server counts every partition");
    first.send("FETCH 2 0 10");
    assert_eq!(first.line(), "10");
    (0..10).for_each(|_| drop(first.line()));
    second.send("FETCH 1 45 60");
    assert_eq!(second.line(), "5", "cut at the run's end");
    (0..5).for_each(|_| drop(second.line()));
    // events served, when the first was (about 1 s of log time), the next unread arrivals
    let stats = |c: &mut Client| {
        c.send("STATS");
        let line = c.line();
        let started: i64 = line.split(' ').nth(1).unwrap().parse().unwrap();
        assert!((SECOND..2 * SECOND).contains(&started), "{line}");
        line.split(' ').filter(|w| *w != started.to_string()).collect::<Vec<_>>().join(" ")
    };
    assert_eq!(stats(&mut first), "10 - - - 10", "partition 2's next unread entry arrived at 10");
    assert_eq!(stats(&mut second), format!("5 - - {} -", i64::MAX), "partition 1 was read to the end");

    // the engine process adds up what they served
    let metrics = Metrics::default();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let addresses: Vec<String> = servers.iter().map(|s| s.address().to_string()).collect();
    std::thread::scope(|s| {
        s.spawn(|| server::poll_stats(&addresses, &metrics, std::time::Duration::from_millis(1), &stop));
        while metrics.events_in.load(Ordering::Relaxed) < 15 {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        stop.store(true, Ordering::Relaxed);
    });
    assert_eq!(metrics.events_in.load(Ordering::Relaxed), 15);
    assert_eq!(*metrics.next_unread.lock().unwrap(), [Time::MIN, Time::MAX, 10]);
    let started = metrics.input_started.load(Ordering::Relaxed);
    assert!((SECOND..2 * SECOND).contains(&started), "the first read: {started}");

    // the engine restarts its job: the old attempt's last reads do not end the restore, the
    // new attempt's first read — on a connection opened since — does
    let noticed = clock.now();
    metrics.failure(noticed, true);
    first.send("FETCH 2 10 12");
    assert_eq!(first.line(), "2", "the cancelled attempt's last fetch");
    (0..2).for_each(|_| drop(first.line()));
    first.send(&format!("STATS {noticed}"));
    assert_eq!(first.line().split(' ').nth(2), Some("-"), "no read on a connection opened since");
    let mut restarted = Client::connect(servers[0].address());
    let before = clock.now();
    restarted.send("FETCH 0 0 1");
    assert_eq!(restarted.line(), "1");
    drop(restarted.line());
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|s| {
        s.spawn(|| server::poll_stats(&addresses, &metrics, std::time::Duration::from_millis(1), &stop));
        while metrics.input_started.load(Ordering::Relaxed) == i64::MIN {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let resumed = metrics.input_started.load(Ordering::Relaxed);
    assert!(resumed >= before && resumed <= clock.now(), "the new connection's first read: {resumed}");
    first.send("STATS x");
    assert!(first.line().starts_with("ERR bad STATS"));

    // what belongs to another server, or to the engine process, is refused by name
    let mut second = Client::connect(servers[1].address());
    second.send("FETCH 2 0 1");
    assert_eq!(second.line(), "ERR partition 2 is served by log server 0 of 2, this is 1");
    let mut sink = Client::connect(servers[0].address());
    sink.send("SINK");
    assert!(sink.line().starts_with("ERR this log server takes no results"));
}

#[test]
fn a_failure_the_engine_noticed_counts_once_and_only_a_new_attempts_reading_ends_its_restore() {
    let dir = fresh("flowmark-external-failure");
    let (addr, metrics, clock) = start(&dir);
    let mut old = Client::connect(addr);
    old.send("FETCH 0 0 10");
    assert_eq!(old.line(), "10");
    (0..10).for_each(|_| drop(old.line()));
    assert_ne!(metrics.input_started.load(Ordering::Relaxed), i64::MIN, "reading started");

    // two surviving sources of attempt 0 hear that the job is restarted
    let mut report = Client::connect(addr);
    report.send("FAILURE flink-attempt-0 0 1");
    assert_eq!(report.line(), "A");
    report.send("FAILURE flink-attempt-0 0 1");
    assert_eq!(report.line(), "A");
    assert_eq!(metrics.restarts.load(Ordering::Relaxed), 1, "one failure, reported twice");
    let noticed = metrics.failure_noticed.load(Ordering::Relaxed);
    assert_ne!(noticed, i64::MIN);
    assert_eq!(metrics.input_started.load(Ordering::Relaxed), i64::MIN, "the restart stopped the input");

    // the cancelled attempt's last fetch does not end the restore; the new attempt's does
    old.send("FETCH 0 10 12");
    assert_eq!(old.line(), "2");
    (0..2).for_each(|_| drop(old.line()));
    assert_eq!(metrics.input_started.load(Ordering::Relaxed), i64::MIN);
    let mut new = Client::connect(addr);
    new.send("FETCH 0 12 13");
    assert_eq!(new.line(), "1");
    drop(new.line());
    assert!(metrics.input_started.load(Ordering::Relaxed) >= noticed);

    // that restart fails too (onto a TaskManager not yet known to be lost): the same failure,
    // whose restore ends only with the next restart's reading
    report.send("FAILURE flink-attempt-1 0 1");
    assert_eq!(report.line(), "A");
    assert_eq!(metrics.restarts.load(Ordering::Relaxed), 1, "one failure still");
    assert_eq!(metrics.failure_noticed.load(Ordering::Relaxed), noticed, "noticed when it was");
    assert_eq!(metrics.input_started.load(Ordering::Relaxed), i64::MIN, "the restore goes on");
    new.send("FETCH 0 13 14");
    assert_eq!(new.line(), "1");
    drop(new.line());
    assert_eq!(metrics.input_started.load(Ordering::Relaxed), i64::MIN, "the failed restart's reading");
    let again = metrics.recovery_started.load(Ordering::Relaxed);
    let mut last = Client::connect(addr);
    last.send("FETCH 0 14 15");
    assert_eq!(last.line(), "1");
    drop(last.line());
    assert!(metrics.input_started.load(Ordering::Relaxed) >= again);

    // Spark: an executor lost 300 ms ago, the input going on
    let before = clock.now();
    report.send("FAILURE spark-executor-1 300000000 0");
    assert_eq!(report.line(), "A");
    let after = clock.now();
    assert_eq!(metrics.restarts.load(Ordering::Relaxed), 2);
    let lost = metrics.failure_noticed.load(Ordering::Relaxed);
    assert!(
        (before - 300 * MILLISECOND..=after - 300 * MILLISECOND).contains(&lost),
        "300 ms before it arrived"
    );
    assert_ne!(metrics.input_started.load(Ordering::Relaxed), i64::MIN, "the input did not stop");
    report.send("FAILURE spark-executor-2 -1 0");
    assert!(report.line().starts_with("ERR bad FAILURE"), "a time in the future is refused");
    let _ = std::fs::remove_dir_all(&dir);
}
