//! What the harness itself can do: the largest rate a log can offer, the memory the reference
//! needs to hold a run's log (a run beyond them is refused before it starts), and the rate at
//! which it can feed an engine (a run above it is marked harness-bound).

use flowmark_core::time::{SECOND, Time, human};
use flowmark_core::{Job, Log};
use flowmark_workloads::{LogSpec, RateProfile, Visitor, WorkloadSpec};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The largest rate a log offers, events per second: log time has nanosecond resolution, so a
/// log offers at most one event per nanosecond.
pub const MAX_RATE: f64 = 1e9;

/// The memory available to new processes (`MemAvailable`), if the machine says.
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kb: u64 =
        meminfo.lines().find(|l| l.starts_with("MemAvailable:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Bytes the reference holds per event of `workload`'s log, estimated
/// ([`flowmark_reference::bytes_per_event`]).
pub fn reference_bytes_per_event(workload: &WorkloadSpec, log: &LogSpec) -> Option<u64> {
    struct Size;
    impl Visitor for Size {
        type Out = u64;
        fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, _: L) -> u64 {
            flowmark_reference::bytes_per_event::<J::Event>()
        }
    }
    workload.visit(log, Size).ok()
}

/// The share of the available memory a run's reference may be estimated to need: the estimate
/// leaves out the job's own state and the results, and the engine's own processes run beside
/// it. (A run whose reference was estimated at 21.4 of 22.1 GiB had it killed for want of
/// memory — by an estimate that was then 15 % short; the estimate now matches the reference's
/// measured peak to within 1 % on word count, YSB and NEXMark q5.)
pub const HEADROOM: f64 = 0.8;

/// Why a run of `workload` at `rate` over `duration` of log time cannot be made on this
/// machine, if it cannot: a rate above [`MAX_RATE`], or a log too large for the reference to
/// hold in the memory available.
pub fn refuses(workload: &WorkloadSpec, log: &LogSpec, rate: f64, duration: Time) -> Option<String> {
    if rate > MAX_RATE {
        return Some(format!(
            "{rate:e} events/s is above the most a log can offer, {MAX_RATE:e} events/s (one event per nanosecond of log time)"
        ));
    }
    // a profile offers what its schedule says, not its highest rate throughout
    let (events, at) = match &log.rate {
        RateProfile::Constant { .. } => (rate * duration as f64 / SECOND as f64, "at"),
        profile => (profile.schedule().ok()?.due_before(duration) as f64, "at up to"),
    };
    let log = LogSpec { rate: RateProfile::constant(rate), ..log.clone() };
    let per_event = reference_bytes_per_event(workload, &log)?;
    let available = available_memory()?;
    let needed = events * per_event as f64;
    (needed > HEADROOM * available as f64).then(|| {
        format!(
            "{at} {rate:e} events/s for {} the log of {} holds about {events:.2e} events, which the reference needs about {:.1} GiB to hold ({per_event} bytes each); {:.1} GiB of memory is available, of which it may take {:.0} %",
            human(duration),
            workload.name(),
            needed / (1u64 << 30) as f64,
            available as f64 / (1u64 << 30) as f64,
            HEADROOM * 100.0,
        )
    })
}

/// How an engine gets its input, which bounds what the harness can feed it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Feed {
    /// Its source tasks generate the log themselves (flowmark's engines): at most as fast as
    /// the generator, one source thread per core.
    Generated,
    /// Log servers serve it over TCP (Flink, Spark): the engine process's own (`servers` 0),
    /// or that many of their own on this machine, one thread each.
    Served {
        /// Log servers of their own.
        servers: u32,
    },
    /// Log servers on other machines serve it: the harness cannot measure their capacity.
    Elsewhere,
}

/// A capacity is the best of this many measurements…
const CAPACITY_TRIES: usize = 5;

/// … of this long each: the most the machine did, not its noise.
const CAPACITY_PROBE: Duration = Duration::from_millis(80);

/// The rate of the log a capacity is measured on: more entries arrive in its first hour than
/// any measurement reads.
const CAPACITY_LOG_RATE: f64 = 1e8;

/// What a capacity was measured for: the feed, the workload with its parameters (JSON) and the
/// partitions.
type Measured = (Feed, String, u32);

/// The most events per second the harness can feed an engine fed by `feed` with `workload`'s
/// log of `partitions` (a rate above it measures the harness, not the engine): measured once
/// per process and kept, as the best of a few short measurements. The generator: one thread
/// reading a partition's entries, times the threads that can run at once (partitions, at most
/// the cores); the log server: clients that only read, one connection per partition up to the
/// cores. `None` if it cannot be measured.
pub fn feed_capacity(feed: Feed, workload: &WorkloadSpec, log: &LogSpec) -> Option<f64> {
    static MEASURED: Mutex<Vec<(Measured, f64)>> = Mutex::new(Vec::new());
    let key = (feed, serde_json::to_string(workload).ok()?, log.partitions);
    let mut measured = MEASURED.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, c)) = measured.iter().find(|(k, _)| *k == key) {
        return Some(*c);
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = cores.min(log.partitions as usize);
    // the log's own rate may be a placeholder (a load relative to a rate not yet searched):
    // the measurement's log has every entry it could read arrived
    let log = &LogSpec { rate: RateProfile::constant(CAPACITY_LOG_RATE), ..log.clone() };
    let capacity = match feed {
        Feed::Generated => workload.visit(log, Generate).ok()? * threads as f64,
        Feed::Served { servers } => {
            // the engine process's own server runs on a thread per core, the others on one each
            let serve = match servers {
                0 => Serve { servers: 1, threads: cores, connections: threads },
                n => Serve { servers: n, threads: 1, connections: threads },
            };
            workload.visit(log, serve).ok()??
        }
        Feed::Elsewhere => return None,
    };
    measured.push((key, capacity));
    Some(capacity)
}

/// Entries per second one thread generates from partition 0.
struct Generate;

impl Visitor for Generate {
    type Out = f64;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, log: L) -> f64 {
        let mut cursor = log.cursor(0, 0);
        let mut best = 0.0f64;
        for _ in 0..CAPACITY_TRIES {
            let started = Instant::now();
            let mut n = 0u64;
            while started.elapsed() < CAPACITY_PROBE {
                for e in cursor.by_ref().take(16_384) {
                    std::hint::black_box(&e);
                    n += 1;
                }
            }
            best = best.max(n as f64 / started.elapsed().as_secs_f64());
        }
        best
    }
}

/// Entries per second the log server serves.
struct Serve {
    servers: u32,
    threads: usize,
    connections: usize,
}

impl Visitor for Serve {
    type Out = Option<f64>;
    fn visit<J: Job, L: Log<Event = J::Event>>(self, _: J, log: L) -> Option<f64> {
        let mut best = None;
        for _ in 0..CAPACITY_TRIES {
            let served = flowmark_external::server::capacity(
                log.clone(),
                self.servers,
                self.threads,
                self.connections,
                CAPACITY_PROBE,
                u64::MAX,
            );
            let rate = served.ok()?.rate();
            best = Some(best.map_or(rate, |b: f64| b.max(rate)));
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_workloads::Disorder;

    fn log() -> LogSpec {
        LogSpec { seed: 1, partitions: 4, rate: RateProfile::constant(1.0), disorder: Disorder::uniform(0) }
    }

    #[test]
    fn a_rate_above_one_event_per_nanosecond_is_refused_and_one_at_it_is_not_for_that() {
        let w = WorkloadSpec::catalog().remove(0);
        let above = refuses(&w, &log(), MAX_RATE * 1.000_001, SECOND).expect("refused");
        assert!(above.contains("one event per nanosecond"), "{above}");
        let at = refuses(&w, &log(), MAX_RATE, SECOND).unwrap_or_default();
        assert!(!at.contains("nanosecond"), "{at}");
    }

    #[test]
    fn a_log_larger_than_memory_is_refused_and_a_small_one_is_not() {
        let w = WorkloadSpec::catalog().remove(0);
        assert_eq!(refuses(&w, &log(), 1000.0, 10 * SECOND), None);
        let Some(available) = available_memory() else { return };
        let per_event = reference_bytes_per_event(&w, &log()).unwrap();
        // just more events than fit, over 1000 s
        let rate = (available / per_event + 1_000_000) as f64 / 1000.0;
        let why = refuses(&w, &log(), rate, 1000 * SECOND).expect("refused");
        assert!(why.contains("GiB of memory is available"), "{why}");
    }

    #[test]
    fn a_log_estimated_at_three_quarters_of_memory_is_made_and_one_at_nine_tenths_is_not() {
        let w = WorkloadSpec::catalog().remove(0);
        let Some(available) = available_memory() else { return };
        let per_event = reference_bytes_per_event(&w, &log()).unwrap() as f64;
        // over 1000 s, at the rate whose log the estimate puts at this share of the memory
        let at = |share: f64| share * available as f64 / per_event / 1000.0;
        assert_eq!(refuses(&w, &log(), at(0.75), 1000 * SECOND), None);
        let why = refuses(&w, &log(), at(0.9), 1000 * SECOND).expect("refused");
        assert!(why.contains("of which it may take 80 %"), "{why}");
    }

    #[test]
    fn the_log_servers_capacity_does_not_depend_on_the_rate_of_the_log_it_is_asked_for() {
        // a log at one event a second (the placeholder of a load relative to a rate not yet
        // searched) has 3 600 entries in its first hour: read in 80 ms, at most 45 k a second
        let w = WorkloadSpec::catalog().remove(0);
        let slow = LogSpec { partitions: 3, ..log() };
        let capacity = feed_capacity(Feed::Served { servers: 0 }, &w, &slow).expect("measured");
        assert!(capacity > 100_000.0, "{capacity} events/s");
    }
}
