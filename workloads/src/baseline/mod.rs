//! The COST baselines (McSherry, Isard and Murray, "Scalability! But at what COST?", HotOS
//! 2015): each workload's computation written by hand as one single-threaded loop, with no
//! engine, over the same log — the single-core figure every engine's throughput is set beside.
//!
//! A loop reads every partition a chunk at a time, borrowing the entries where the log holds
//! them ([`flowmark_core::Log::entries`]), and judges each record's lateness against its
//! partition's watermark by the rule every engine's `PartitionReader` follows
//! ([`PartitionWatermark`]); it keeps its windows in a short vector in firing order, and
//! finalizes a window once the watermark over all partitions has passed its
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
    Assign, Data, Entry, Key, Log, Output, PartitionWatermark, Rec, ResultLine, Time, WatermarkStrategy,
    Window, WindowResult, WindowSpec,
};
use rustc_hash::FxHashMap;

/// Records read per partition before moving to the next.
const CHUNK: u64 = 4096;

/// Every partition of a log up to an end, read a chunk at a time round robin, each entry
/// handed over as a record with its partition's watermark just before it — the watermark
/// every engine's `PartitionReader` gives it.
pub(crate) struct Input<'l, L: Log> {
    log: &'l L,
    /// Per partition: its number, the next offset, its end, its watermark.
    parts: Vec<(u32, u64, u64, PartitionWatermark)>,
    /// Where a chunk of a log that does not hold its entries is read into.
    buf: Vec<Entry<L::Event>>,
    /// Events read so far.
    pub(crate) events: u64,
}

impl<'l, L: Log> Input<'l, L> {
    pub(crate) fn new(log: &'l L, strategy: WatermarkStrategy, end: Time) -> Self {
        let parts =
            (0..log.partitions()).map(|p| (p, 0, log.arrived_before(p, end), strategy.partition())).collect();
        Input { log, parts, buf: Vec::new(), events: 0 }
    }

    /// Hands the next chunk of every partition to `f` and returns the watermark over the
    /// partitions that still have input: `Time::MAX` once all are read.
    #[inline]
    pub(crate) fn round(&mut self, mut f: impl FnMut(Rec<L::Event>)) -> Time {
        let mut wm = Time::MAX;
        for (p, next, end, pw) in self.parts.iter_mut() {
            let to = (*next + CHUNK).min(*end);
            let chunk = self.log.entries(*p, *next, to, &mut self.buf);
            // the watermark in a local for the chunk (written back after it), recomputed only
            // when an entry is the latest yet: kept in the partition's tuple, it was stored
            // and loaded again around every record
            let (mut local, mut current) = (*pw, pw.current());
            for e in chunk {
                f(Rec { time: e.time, wm: current, data: e.event.clone() });
                if local.advance(e.time) {
                    current = local.current();
                }
            }
            *pw = local;
            self.events += chunk.len() as u64;
            *next += chunk.len() as u64;
            if *next < *end {
                wm = wm.min(pw.current());
            }
        }
        wm
    }
}

/// The open windows of [`Panes`] while a round is read into them.
pub(crate) struct Adder<'p, K, V> {
    spec: WindowSpec,
    assign: Assign,
    open: &'p mut Vec<(Window, FxHashMap<K, V>)>,
}

impl<K: std::hash::Hash + Eq, V: Default> Adder<'_, K, V> {
    /// Updates `key`'s state in every window of `t` that a record with watermark `wm` is not
    /// late for.
    #[inline(always)]
    pub(crate) fn add(&mut self, t: Time, wm: Time, key: K, mut update: impl FnMut(&mut V))
    where
        K: Copy,
    {
        let (spec, open) = (self.spec, &mut *self.open);
        self.assign.assign(t, |w| {
            if !spec.is_late(w, wm) {
                update(window_state(open, w).entry(key).or_default());
            }
        });
    }
}

/// The state of window `w` among the open windows, kept in order of (end, start); a new window
/// starts from the default state ([`flowmark_core::open_window`]).
#[inline]
pub fn window_state<S: Default>(open: &mut Vec<(Window, S)>, w: Window) -> &mut S {
    flowmark_core::open_window(open, w, S::default)
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

    /// Reads the next round of `input` ([`Input::round`]), handing each record to `each` with
    /// the panes to add it to, and returns the round's watermark.
    ///
    /// The round's window assigner is a local of its loop, not a field of the panes: a field
    /// would be read back from memory after every update of a table (as the table could have
    /// changed it) — about ten instructions per word-count record (callgrind).
    #[inline]
    pub(crate) fn read<L: Log>(
        &mut self,
        input: &mut Input<'_, L>,
        mut each: impl FnMut(Rec<L::Event>, &mut Adder<'_, K, V>),
    ) -> Time {
        let mut adder =
            Adder { spec: self.spec, assign: Assign::new(self.spec.windows), open: &mut self.open };
        input.round(|r| each(r, &mut adder))
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
