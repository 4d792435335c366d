//! Minimal hand-tuned loops: each benchmarked job written as directly as it can be, to show
//! what one core can do and how close the COST baselines
//! ([`flowmark_workloads::baseline`]) come to it.
//!
//! A loop walks the in-memory entries of every partition (no cursor, no copies of entries it
//! skips), a chunk of each partition at a time as the baselines do, keeps each partition's
//! watermark ([`PartitionWatermark`], the same rule as every engine), drops what is late by
//! the same rule, and keeps its open windows in a short vector searched from the newest —
//! there are only a few open at a time. Results are the same text lines as the baseline's,
//! made inside the measured time: the output is part of the job.

use flowmark_core::{
    Assign, Baseline, Entry, Job, Log, Output, PartitionWatermark, ResultLine, Time, VecLog, Window,
    WindowResult, WindowSpec, Windows,
};
use flowmark_workloads::baseline::{OpenSessions, window_state};
use flowmark_workloads::jobs::sessions::{Click, Sessions};
use flowmark_workloads::jobs::wordcount::WordCount;
use flowmark_workloads::jobs::ysb::{AdEvent, EventType, Ysb};
use flowmark_workloads::nexmark::Event;
use flowmark_workloads::nexmark::q5::{self, HotItems, Q5};
use rustc_hash::FxHashMap;
use std::any::Any;
use std::hash::Hash;

/// Entries read per partition before moving to the next (as the baselines do).
const CHUNK: usize = 4096;

/// The minimal loop of `job` over `log` up to `end`, if there is one for the job.
pub fn run(job: &dyn Any, log: &dyn Any, end: Time) -> Option<Baseline> {
    if let (Some(job), Some(log)) = (job.downcast_ref::<WordCount>(), log.downcast_ref::<VecLog<u32>>()) {
        return wordcount(job, log, end);
    }
    if let (Some(job), Some(log)) = (job.downcast_ref::<Ysb>(), log.downcast_ref::<VecLog<AdEvent>>()) {
        return Some(ysb(job, log, end));
    }
    if let (Some(job), Some(log)) = (job.downcast_ref::<Q5>(), log.downcast_ref::<VecLog<Event>>()) {
        return Some(nexmark_q5(job, log, end));
    }
    if let (Some(job), Some(log)) = (job.downcast_ref::<Sessions>(), log.downcast_ref::<VecLog<Click>>()) {
        return Some(sessions(job, log, end));
    }
    None
}

/// Word count (tumbling windows only).
pub fn wordcount(job: &WordCount, log: &VecLog<u32>, end: Time) -> Option<Baseline> {
    let Windows::Tumbling { .. } = job.windows().windows else { return None };
    let mut results = Vec::new();
    let events =
        counts(log, end, job, job.windows(), |w| Some(*w), |window, keys| lines(window, keys, &mut results));
    Some(Baseline { events, results })
}

/// YSB: views counted per campaign and window.
pub fn ysb(job: &Ysb, log: &VecLog<AdEvent>, end: Time) -> Baseline {
    let (windows, campaign_of) = job.parts();
    let mut results = Vec::new();
    let key = |e: &AdEvent| (e.event_type == EventType::View).then(|| campaign_of[e.ad as usize]);
    let events = counts(log, end, job, windows, key, |window, keys| lines(window, keys, &mut results));
    Baseline { events, results }
}

/// NEXMark q5: bids counted per auction and sliding window, then the most bid-on auctions of
/// each window.
pub fn nexmark_q5(job: &Q5, log: &VecLog<Event>, end: Time) -> Baseline {
    let spec = WindowSpec::new(Windows::sliding(q5::SIZE, q5::SLIDE)).with_lateness(job.0.lateness);
    let slot = Windows::tumbling(q5::SLIDE);
    let mut results = Vec::new();
    let key = |e: &Event| if let Event::Bid(b) = e { Some(b.auction) } else { None };
    let events = counts(log, end, job, spec, key, |window, counts| {
        let mut hot = HotItems { bids: 0, auctions: Vec::new() };
        for (auction, bids) in counts {
            if bids > hot.bids {
                hot.bids = bids;
                hot.auctions.clear();
            }
            if bids == hot.bids {
                hot.auctions.push(auction);
            }
        }
        hot.auctions.sort_unstable();
        slot.assign(window.max_time(), |s| {
            results.push(WindowResult { key: window, window: s, value: hot.clone() }.to_line())
        });
    });
    Baseline { events, results }
}

/// Sessions: per user, clicks merged into sessions separated by the gap.
pub fn sessions(job: &Sessions, log: &VecLog<Click>, end: Time) -> Baseline {
    let mut open = OpenSessions::new(job.gap());
    let mut results = Vec::new();
    let mut input = Read::new(log, end, job);
    loop {
        let wm = input.round(|e, wm| open.click(e.time, wm, e.event));
        open.fire(wm, &mut results);
        if wm == Time::MAX {
            return Baseline { events: input.events, results };
        }
    }
}

/// Writes a window's counts as result lines.
fn lines<K: flowmark_core::Key>(window: Window, keys: FxHashMap<K, u64>, out: &mut Vec<ResultLine>) {
    out.extend(keys.into_iter().map(|(key, value)| WindowResult { key, window, value }.to_line()));
}

/// Every partition of a log up to an end, read a chunk of each in turn.
struct Read<'a, E> {
    parts: Vec<(&'a [Entry<E>], PartitionWatermark)>,
    events: u64,
}

impl<'a, E: flowmark_core::Data> Read<'a, E> {
    fn new<J: Job>(log: &'a VecLog<E>, end: Time, job: &J) -> Self {
        let parts = (0..log.partitions())
            .map(|p| (&log.entries(p)[..log.arrived_before(p, end) as usize], job.watermarks().partition()))
            .collect();
        Read { parts, events: 0 }
    }

    /// Hands the next chunk of every partition to `each`, every entry with its partition's
    /// watermark before it; returns the watermark over the partitions that still have input
    /// (`Time::MAX` once everything is read).
    #[inline]
    fn round(&mut self, mut each: impl FnMut(&Entry<E>, Time)) -> Time {
        let mut wm = Time::MAX;
        for (rest, pw) in self.parts.iter_mut() {
            let (chunk, after) = rest.split_at(rest.len().min(CHUNK));
            // the watermark in a local for the chunk (written back after it), recomputed only
            // when an entry is the latest yet: kept in the partition's tuple, it was stored and
            // loaded again around every record
            let (mut local, mut current) = (*pw, pw.current());
            for e in chunk {
                each(e, current);
                if local.advance(e.time) {
                    current = local.current();
                }
            }
            *pw = local;
            self.events += chunk.len() as u64;
            *rest = after;
            if !rest.is_empty() {
                wm = wm.min(pw.current());
            }
        }
        wm
    }
}

/// Counts the entries `key` keeps, per key and fixed window, handing each window to `fire`
/// once no record can reach it any more.
fn counts<E, K, J>(
    log: &VecLog<E>,
    end: Time,
    job: &J,
    spec: WindowSpec,
    key: impl Fn(&E) -> Option<K>,
    mut fire: impl FnMut(Window, FxHashMap<K, u64>),
) -> u64
where
    E: flowmark_core::Data,
    K: Copy + Hash + Eq,
    J: Job,
{
    // open windows in order of (end, start)
    let mut open: Vec<(Window, FxHashMap<K, u64>)> = Vec::new();
    let mut input = Read::new(log, end, job);
    let mut assign = Assign::new(spec.windows);
    loop {
        let wm = input.round(|e, wm| {
            let Some(k) = key(&e.event) else { return };
            assign.assign(e.time, |w| {
                if spec.is_late(w, wm) {
                    return;
                }
                *window_state(&mut open, w).entry(k).or_insert(0) += 1;
            });
        });
        let ready = open.iter().take_while(|(w, _)| spec.is_late(*w, wm)).count();
        for (w, keys) in open.drain(..ready) {
            fire(w, keys);
        }
        if wm == Time::MAX {
            return input.events;
        }
    }
}
