//! The COST baselines (McSherry, Isard and Murray, "Scalability! But at what COST?", HotOS
//! 2015): each workload's computation written by hand as one single-threaded loop, with no
//! engine, over the same log — the single-core figure every engine's throughput is set beside.
//!
//! A loop reads every partition through the same [`PartitionReader`] the engines use (so a
//! record's lateness is judged against the same watermark), keeps its windows in a plain
//! ordered map, and finalizes a window once the watermark over all partitions has passed its
//! last instant plus the allowed lateness: from then on every record for it is late on every
//! partition. The log is read as fast as the loop can go, not on its arrival schedule.
//! A job offers its loop through [`flowmark_core::Job::baseline`].

mod nexmark;
mod sessions;
mod wordcount;
mod ysb;

pub use nexmark::{q0, q1, q2, q3, q4, q5, q7, q8};
pub use sessions::{OpenSessions, sessions};
pub use wordcount::wordcount;
pub use ysb::ysb;

use flowmark_core::{
    Data, Key, Log, Output, PartitionReader, Rec, ResultLine, Time, TimeDomain, WatermarkStrategy, Window,
    WindowResult, WindowSpec,
};
use rustc_hash::FxHashMap;

/// Records read per partition before moving to the next.
const CHUNK: u64 = 4096;

/// Every partition of a log up to an end, read a chunk at a time round robin.
pub(crate) struct Input<L: Log> {
    readers: Vec<(PartitionReader<L::Cursor>, u64)>,
    /// Events read so far.
    pub(crate) events: u64,
}

impl<L: Log> Input<L> {
    pub(crate) fn new(log: &L, strategy: WatermarkStrategy, end: Time) -> Self {
        let readers = (0..log.partitions())
            .map(|p| (PartitionReader::new(log, p, strategy, TimeDomain::Event), log.arrived_before(p, end)))
            .collect();
        Input { readers, events: 0 }
    }

    /// Hands the next chunk of every partition to `f` and returns the watermark over the
    /// partitions that still have input: `Time::MAX` once all are read.
    #[inline]
    pub(crate) fn round(&mut self, mut f: impl FnMut(Rec<L::Event>)) -> Time {
        let mut wm = Time::MAX;
        for (reader, end) in self.readers.iter_mut() {
            let (from, stop) = (reader.offset(), (reader.offset() + CHUNK).min(*end));
            reader.read_until(stop, &mut f);
            self.events += reader.offset() - from;
            if reader.offset() < *end {
                wm = wm.min(reader.watermark());
            }
        }
        wm
    }
}

/// The state of window `w` among the open windows, kept in order of (end, start); a new window
/// starts from the default state. Only a few windows are open at a time and most records fall
/// in the newest, so the vector is searched from its end.
#[inline]
pub fn window_state<S: Default>(open: &mut Vec<(Window, S)>, w: Window) -> &mut S {
    let at = match open.iter().rposition(|(o, _)| (o.end, o.start) <= (w.end, w.start)) {
        Some(i) if open[i].0 == w => i,
        found => {
            let i = found.map_or(0, |i| i + 1);
            open.insert(i, (w, S::default()));
            i
        }
    };
    &mut open[at].1
}

/// Fixed windows of per-key state, finalized in order of their end ([`window_state`]).
pub(crate) struct Panes<K, V> {
    spec: WindowSpec,
    open: Vec<(Window, FxHashMap<K, V>)>,
}

impl<K: std::hash::Hash + Eq, V: Default> Panes<K, V> {
    pub(crate) fn new(spec: WindowSpec) -> Self {
        Panes { spec, open: Vec::new() }
    }

    /// Updates `key`'s state in every window of `t` that a record with watermark `wm` is not
    /// late for.
    #[inline(always)]
    pub(crate) fn add(&mut self, t: Time, wm: Time, key: K, mut update: impl FnMut(&mut V))
    where
        K: Copy,
    {
        let (spec, open) = (self.spec, &mut self.open);
        spec.windows.assign(t, |w| {
            if !spec.is_late(w, wm) {
                update(window_state(open, w).entry(key).or_default());
            }
        });
    }

    /// Writes a result line for every key of every window no record can reach any more at
    /// watermark `wm`.
    pub(crate) fn fire_results(&mut self, wm: Time, results: &mut Vec<ResultLine>)
    where
        K: Key,
        V: Data + std::fmt::Display,
    {
        self.fire(wm, |window, state| {
            results
                .extend(state.into_iter().map(|(key, value)| WindowResult { key, window, value }.to_line()))
        });
    }

    /// Hands every window that no record can reach any more at watermark `wm` to `done`.
    pub(crate) fn fire(&mut self, wm: Time, mut done: impl FnMut(Window, FxHashMap<K, V>)) {
        let ready = self.open.iter().take_while(|(w, _)| self.spec.is_late(*w, wm)).count();
        for (w, state) in self.open.drain(..ready) {
            done(w, state);
        }
    }
}
