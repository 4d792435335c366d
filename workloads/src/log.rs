//! The replayable log: event `i` of partition `p` as a pure function of the workload's
//! parameters, the seed, `p` and `i`.
//!
//! Events are numbered over all partitions in arrival order: event `n` goes to partition
//! `n mod P` as its entry `n div P`, and arrives at the schedule's `a_n`. Its payload and its
//! delay come from two independent random sources keyed by `(seed, n)`, so changing the
//! disorder changes event times and nothing else, and changing the partition count moves
//! events between partitions without changing them.

use crate::disorder::Disorder;
use crate::error::WorkloadError;
use crate::rate::{RateProfile, Schedule};
use crate::rng::{EventRng, RandomStream};
use flowmark_core::{Data, Entry, Log, Time};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Makes the payload of each event.
pub trait Generator: Clone + Send + Sync + 'static {
    /// The events.
    type Event: Data;
    /// Event `n` (counted over all partitions), whose event time is `time`, drawn from `rng`.
    fn event(&self, n: u64, time: Time, rng: &mut EventRng) -> Self::Event;
}

/// Random stream of event payloads.
const PAYLOAD: u64 = 1;
/// Random stream of event delays.
const DELAY: u64 = 2;

/// The parameters of a log that every workload shares.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSpec {
    /// The seed every random choice derives from.
    pub seed: u64,
    /// Source partitions.
    pub partitions: u32,
    /// Input rate over all partitions.
    pub rate: RateProfile,
    /// Disorder of event times.
    #[serde(default)]
    pub disorder: Disorder,
}

impl LogSpec {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        if self.partitions == 0 {
            return Err(WorkloadError::NotPositive { what: "partitions", value: 0.0 });
        }
        self.rate.validate()?;
        self.disorder.validate()
    }
}

/// A generated log.
#[derive(Clone, Debug)]
pub struct GeneratedLog<G> {
    inner: Arc<Inner<G>>,
}

#[derive(Debug)]
struct Inner<G> {
    payloads: RandomStream,
    delays: RandomStream,
    partitions: u32,
    schedule: Schedule,
    disorder: Disorder,
    generator: G,
}

impl<G: Generator> GeneratedLog<G> {
    /// The log `spec` describes, with payloads from `generator`.
    pub fn new(spec: &LogSpec, generator: G) -> Result<Self, WorkloadError> {
        spec.validate()?;
        Ok(GeneratedLog {
            inner: Arc::new(Inner {
                payloads: RandomStream::new(spec.seed, PAYLOAD),
                delays: RandomStream::new(spec.seed, DELAY),
                partitions: spec.partitions,
                schedule: spec.rate.schedule()?,
                disorder: spec.disorder,
                generator,
            }),
        })
    }

    /// Event `n` counted over all partitions.
    #[inline]
    pub fn entry(&self, n: u64) -> Entry<G::Event> {
        let inner = &*self.inner;
        let arrival = inner.schedule.arrival(n);
        let time = inner.disorder.event_time(arrival, &mut inner.delays.at(n));
        let event = inner.generator.event(n, time, &mut inner.payloads.at(n));
        Entry { arrival, time, event }
    }

    /// The generator.
    pub fn generator(&self) -> &G {
        &self.inner.generator
    }
}

/// Reads one partition of a [`GeneratedLog`].
pub struct Cursor<G> {
    log: GeneratedLog<G>,
    n: u64,
    step: u64,
}

impl<G: Generator> Iterator for Cursor<G> {
    type Item = Entry<G::Event>;

    #[inline]
    fn next(&mut self) -> Option<Entry<G::Event>> {
        let e = self.log.entry(self.n);
        self.n += self.step;
        Some(e)
    }
}

impl<G: Generator> Log for GeneratedLog<G> {
    type Event = G::Event;
    type Cursor = Cursor<G>;

    fn partitions(&self) -> u32 {
        self.inner.partitions
    }

    fn cursor(&self, partition: u32, index: u64) -> Cursor<G> {
        let step = u64::from(self.inner.partitions);
        Cursor { log: self.clone(), n: index * step + u64::from(partition), step }
    }

    fn arrived_before(&self, partition: u32, t: Time) -> u64 {
        let total = self.inner.schedule.due_before(t);
        let (p, step) = (u64::from(partition), u64::from(self.inner.partitions));
        // entries n = i·P + p with n < total
        if total > p { (total - p).div_ceil(step) } else { 0 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::disorder::Disorder;
    use flowmark_core::time::{MILLISECOND, SECOND};

    #[derive(Clone, Debug)]
    struct Numbers;
    impl Generator for Numbers {
        type Event = u64;
        fn event(&self, n: u64, _: Time, rng: &mut EventRng) -> u64 {
            n ^ rng.next_u64()
        }
    }

    fn spec(partitions: u32, disorder: Disorder) -> LogSpec {
        LogSpec { seed: 42, partitions, rate: RateProfile::constant(1000.0), disorder }
    }

    #[test]
    fn partitions_split_the_same_events() {
        let one = GeneratedLog::new(&spec(1, Disorder::uniform(50 * MILLISECOND)), Numbers).unwrap();
        let three = GeneratedLog::new(&spec(3, Disorder::uniform(50 * MILLISECOND)), Numbers).unwrap();
        let all: Vec<_> = one.cursor(0, 0).take(30).collect();
        for p in 0..3u32 {
            let part: Vec<_> = three.cursor(p, 0).take(10).collect();
            for (i, e) in part.iter().enumerate() {
                assert_eq!(e, &all[i * 3 + p as usize]);
            }
        }
        // a cursor started mid-way reads the same entries
        let mid: Vec<_> = three.cursor(1, 4).take(3).collect();
        assert_eq!(mid, three.cursor(1, 0).skip(4).take(3).collect::<Vec<_>>());
    }

    #[test]
    fn arrivals_and_counts_agree() {
        let log = GeneratedLog::new(&spec(3, Disorder::NONE), Numbers).unwrap();
        // 1000/s over 3 partitions: 1000 events in the first second, 334 + 333 + 333
        let counts: Vec<u64> = (0..3).map(|p| log.arrived_before(p, SECOND)).collect();
        assert_eq!(counts, vec![334, 333, 333]);
        for p in 0..3 {
            let n = counts[p as usize] as usize;
            let entries: Vec<_> = log.cursor(p, 0).take(n + 1).collect();
            assert!(entries[n - 1].arrival < SECOND && entries[n].arrival >= SECOND);
            assert!(entries.windows(2).all(|w| w[0].arrival <= w[1].arrival));
        }
    }

    #[test]
    fn disorder_moves_event_times_not_payloads() {
        let ordered = GeneratedLog::new(&spec(2, Disorder::NONE), Numbers).unwrap();
        let disordered = GeneratedLog::new(&spec(2, Disorder::uniform(100 * MILLISECOND)), Numbers).unwrap();
        let a: Vec<_> = ordered.cursor(1, 0).take(100).collect();
        let b: Vec<_> = disordered.cursor(1, 0).take(100).collect();
        assert!(a.iter().zip(&b).all(|(x, y)| x.event == y.event && x.arrival == y.arrival));
        assert!(a.iter().all(|e| e.time == e.arrival));
        assert!(b.iter().all(|e| e.time <= e.arrival && e.arrival - e.time <= 100 * MILLISECOND));
        assert!(b.iter().any(|e| e.time < e.arrival));
    }

    #[test]
    fn bad_specs_are_typed_errors() {
        let mut s = spec(0, Disorder::NONE);
        assert_eq!(
            GeneratedLog::new(&s, Numbers).unwrap_err(),
            WorkloadError::NotPositive { what: "partitions", value: 0.0 }
        );
        s.partitions = 1;
        s.rate = RateProfile::constant(-1.0);
        assert!(matches!(GeneratedLog::new(&s, Numbers).unwrap_err(), WorkloadError::Rate { .. }));
    }
}
