//! Event-time windows: what a window is, which windows an instant falls in, and when a window
//! stops accepting input.
//!
//! The semantics follow Apache Flink's DataStream windows:
//! - a window is the half-open interval `[start, end)`; its last instant is `end − 1`;
//! - tumbling windows of size `s` are aligned to log time 0: `[k·s, (k+1)·s)`;
//! - sliding windows of size `s` and slide `d` start at every multiple of `d`; an instant falls
//!   in every window `[k·d, k·d + s)` that contains it;
//! - a session window starts as `[t, t + gap)` around each element and merges with every
//!   window of the same key it intersects;
//! - a window fires when the watermark reaches its last instant (`wm ≥ end − 1`) and is purged
//!   when `wm ≥ end − 1 + allowed_lateness`.
//!
//! Lateness is judged against the record's own watermark ([`crate::Rec::wm`]), which makes it
//! deterministic: see [`WindowSpec::is_late`] and [`WindowSpec::is_late_element`].
//!
//! ## Late firings and chained operators
//! A window with allowed lateness `L` changes its result with every late record it accepts,
//! until the watermark passes `end − 1 + L`. Where its results go decides how it emits them
//! ([`WindowSpec::fire_delay`]):
//! - **into a sink** (a consumer that keeps the last value per identity), it fires when the
//!   watermark reaches `end − 1` and again with every accepted late record that changes a
//!   result — the sink's last value is the final one;
//! - **into another stateful operator** (a window, join, session or running aggregate keyed
//!   downstream), it emits each result once, when it is final: when the watermark passes
//!   `end − 1 + L`. It then holds the watermark it passes on `L` behind its own, so that the
//!   downstream operator, whose watermark is never ahead of the records still on their way,
//!   receives every final result before its watermark reaches the result's time.
//!
//! So an operator downstream of a window sees each upstream result exactly once, with its final
//! value: what the reference engine computes. Apache Flink's DataStream API differs: a late
//! firing travels downstream as one more record, which a downstream window whose watermark has
//! passed it drops as late (or, with its own allowed lateness, adds a second time); Flink SQL
//! sends a retraction of the earlier value first. flowmark's rule needs neither retractions nor
//! aggregates that can undo an input, at the price of `L` more latency downstream.

use crate::error::ApiError;
use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A window: the half-open interval `[start, end)` of event time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Window {
    /// First instant inside the window.
    pub start: Time,
    /// First instant after the window.
    pub end: Time,
}

impl Window {
    /// The window `[start, end)`.
    pub const fn new(start: Time, end: Time) -> Self {
        Window { start, end }
    }

    /// The last instant inside the window: a result of this window carries it as its time.
    pub const fn max_time(&self) -> Time {
        self.end - 1
    }

    /// Whether the two windows share an instant.
    pub const fn intersects(&self, other: &Window) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The smallest window covering both.
    pub fn cover(&self, other: &Window) -> Window {
        Window::new(self.start.min(other.start), self.end.max(other.end))
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{},{})", self.start, self.end)
    }
}

impl Window {
    /// Appends the window as its [`Display`](fmt::Display) form writes it, `[start,end)`,
    /// without the formatting machinery: result lines write a window each.
    #[inline]
    pub fn push_to(&self, out: &mut String) {
        let mut buf = itoa::Buffer::new();
        out.push('[');
        out.push_str(buf.format(self.start));
        out.push(',');
        out.push_str(buf.format(self.end));
        out.push(')');
    }
}

/// The state of window `w` among `open`, the few open windows of an operator kept in order of
/// (end, start) — the order they fire in; `new` makes it if `w` is not open yet. Most records
/// fall in the newest window, so the vector is searched from its end.
#[inline]
pub fn open_window<S>(open: &mut Vec<(Window, S)>, w: Window, new: impl FnOnce() -> S) -> &mut S {
    // the window is nearly always open: found by equality alone, with the ordered insertion a
    // cold call of its own. Searching for the insertion point on every record, and returning
    // the state through one index for both cases, made the minimal word-count loop ~10 %
    // slower (bench/examples/one, rounds)
    if let Some(i) = open.iter().rposition(|(o, _)| *o == w) {
        return &mut open[i].1;
    }
    let i = insert_window(open, w, new);
    &mut open[i].1
}

/// Where window `w` is among `open`, made with `new` if it is not open yet
/// ([`open_window`]). An index stays valid until the next window is opened.
#[inline]
pub fn open_window_at<S>(open: &mut Vec<(Window, S)>, w: Window, new: impl FnOnce() -> S) -> usize {
    match open.iter().rposition(|(o, _)| *o == w) {
        Some(i) => i,
        None => insert_window(open, w, new),
    }
}

/// Opens window `w`, which is not open, in its place by (end, start) among `open`.
#[cold]
#[inline(never)]
fn insert_window<S>(open: &mut Vec<(Window, S)>, w: Window, new: impl FnOnce() -> S) -> usize {
    let i = open.iter().rposition(|(o, _)| (o.end, o.start) < (w.end, w.start)).map_or(0, |i| i + 1);
    open.insert(i, (w, new()));
    i
}

/// Names the windows of a record: fixed windows by its time ([`Assign`]), or the window its
/// value names ([`By`]).
pub trait Assigner<V>: Clone + Send + 'static {
    /// Calls `f` with every window of a record at `time` carrying `value`.
    fn assign(&mut self, time: Time, value: &V, f: impl FnMut(Window));

    /// The one window of a record at `time` carrying `value`, when every record has exactly
    /// one (`None` otherwise: then [`Assigner::assign`] names them). An operator's fast path.
    #[inline]
    fn single(&mut self, _time: Time, _value: &V) -> Option<Window> {
        None
    }
}

/// The window a record's value names.
#[derive(Clone)]
pub struct By<F>(pub F);

impl<V, F: Fn(&V) -> Window + Clone + Send + 'static> Assigner<V> for By<F> {
    #[inline]
    fn assign(&mut self, _: Time, value: &V, mut f: impl FnMut(Window)) {
        f((self.0)(value))
    }

    #[inline]
    fn single(&mut self, _: Time, value: &V) -> Option<Window> {
        Some((self.0)(value))
    }
}

impl<V> Assigner<V> for Assign {
    #[inline]
    fn assign(&mut self, time: Time, _: &V, f: impl FnMut(Window)) {
        Assign::assign(self, time, f)
    }

    #[inline]
    fn single(&mut self, time: Time, _: &V) -> Option<Window> {
        self.tumbling(time)
    }
}

/// Assigns instants to windows like [`Windows::assign`], remembering the windows of the last
/// instant and the instants that share them: the records of a window, nearly all of them in a
/// row, then skip the division.
#[derive(Clone, Copy, Debug)]
pub struct Assign {
    windows: Windows,
    /// The windows of the last instant assigned (a tumbling window: `first` alone)…
    last: Starts,
    /// … which, for other than tumbling windows, are those of every instant in
    /// `[from, until)` (empty at first).
    from: Time,
    until: Time,
}

impl Assign {
    /// An assigner of `windows`.
    pub const fn new(windows: Windows) -> Self {
        let none = Starts { first: Window::new(0, 0), slide: 0, count: 1 };
        Assign { windows, last: none, from: 0, until: 0 }
    }

    /// Calls `f` with every window that instant `t` falls in, as [`Windows::assign`] does.
    #[inline]
    pub fn assign(&mut self, t: Time, f: impl FnMut(Window)) {
        let starts = match self.tumbling(t) {
            Some(w) => Starts { first: w, slide: 0, count: 1 },
            None => self.others(t),
        };
        starts.each(f)
    }

    /// The tumbling window of instant `t` (`None` for other windows).
    #[inline]
    pub fn tumbling(&mut self, t: Time) -> Option<Window> {
        let Windows::Tumbling { size } = self.windows else { return None };
        let last = &mut self.last.first;
        if !(last.start <= t && t < last.end) {
            *last = tumbling_window(t, size);
        }
        Some(*last)
    }

    /// The windows of instant `t` for other than tumbling windows, worked out again only when
    /// `t` has others than the last.
    #[inline]
    fn others(&mut self, t: Time) -> Starts {
        if !(self.from <= t && t < self.until) {
            self.last = self.windows.starts(t);
            (self.from, self.until) = self.last.instants(self.windows);
        }
        self.last
    }
}

/// The windows of one instant: `count` (at least one) of equal length, each `slide` after the
/// one before.
#[derive(Clone, Copy, Debug)]
struct Starts {
    first: Window,
    slide: Time,
    count: u64,
}

impl Starts {
    /// The instants `[from, until)` that fall in exactly these windows of `windows`: from the
    /// start of the last window, or where the window before the first ends if later; until the
    /// next window starts, or the first ends if sooner. A session window is its instant's own.
    fn instants(self, windows: Windows) -> (Time, Time) {
        let Windows::Sliding { size, slide } = windows else {
            return match windows {
                Windows::Session { .. } => (self.first.start, self.first.start.saturating_add(1)),
                _ => (self.first.start, self.first.end),
            };
        };
        let last = self.first.start + (self.count as Time - 1) * slide;
        let from = last.max(self.first.start.saturating_sub(slide).saturating_add(size));
        let until = last.saturating_add(slide).min(self.first.end);
        (from, until)
    }

    /// Calls `f` with each window, earliest first. `f` is called from one place only, so it is
    /// inlined there: a per-record closure called from several would not be.
    #[inline]
    fn each(self, mut f: impl FnMut(Window)) {
        let mut w = self.first;
        let mut left = self.count;
        loop {
            f(w);
            left -= 1;
            if left == 0 {
                return;
            }
            w = Window::new(w.start + self.slide, w.end + self.slide);
        }
    }
}

/// The tumbling window of `size` that instant `t` falls in.
#[inline]
fn tumbling_window(t: Time, size: Time) -> Window {
    let start = t - t.rem_euclid(size);
    Window::new(start, start + size)
}

/// The kinds of event-time window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Windows {
    /// Fixed, non-overlapping windows of `size`, aligned to log time 0.
    Tumbling {
        /// Length of every window.
        size: Time,
    },
    /// Fixed windows of `size` starting every `slide`.
    Sliding {
        /// Length of every window.
        size: Time,
        /// Distance between the starts of consecutive windows.
        slide: Time,
    },
    /// Per-key windows of activity separated by at least `gap` of inactivity.
    Session {
        /// The inactivity that closes a session.
        gap: Time,
    },
}

impl Windows {
    /// Tumbling windows of `size`.
    pub const fn tumbling(size: Time) -> Self {
        Windows::Tumbling { size }
    }

    /// Sliding windows of `size` every `slide`.
    pub const fn sliding(size: Time, slide: Time) -> Self {
        Windows::Sliding { size, slide }
    }

    /// Session windows closed by `gap` of inactivity.
    pub const fn session(gap: Time) -> Self {
        Windows::Session { gap }
    }

    /// Whether windows of this kind merge (sessions).
    pub const fn is_merging(&self) -> bool {
        matches!(self, Windows::Session { .. })
    }

    /// Calls `f` with every window that instant `t` falls in, earliest start first. For
    /// sessions, that is the element's own window `[t, t + gap)`, before any merge.
    #[inline]
    pub fn assign(&self, t: Time, f: impl FnMut(Window)) {
        self.starts(t).each(f)
    }

    /// The windows instant `t` falls in ([`Windows::assign`]).
    #[inline]
    fn starts(&self, t: Time) -> Starts {
        match *self {
            Windows::Tumbling { size } => Starts { first: tumbling_window(t, size), slide: 0, count: 1 },
            Windows::Sliding { size, slide } => {
                // the starts are the multiples of `slide` in (t − size, t]: at least one, as
                // validation keeps `slide` at most `size`
                let earliest = t - size + 1;
                let start = earliest + (-earliest).rem_euclid(slide);
                let count = ((t - start) / slide + 1).max(1) as u64;
                Starts { first: Window::new(start, start + size), slide, count }
            }
            Windows::Session { gap } => {
                Starts { first: Window::new(t, t.saturating_add(gap)), slide: 0, count: 1 }
            }
        }
    }

    /// Checks that the sizes make sense.
    pub fn validate(&self) -> Result<(), ApiError> {
        let positive = |what: &'static str, v: Time| {
            if v > 0 { Ok(()) } else { Err(ApiError::NotPositive { what, value: v }) }
        };
        match *self {
            Windows::Tumbling { size } => positive("window size", size),
            Windows::Sliding { size, slide } => {
                positive("window size", size)?;
                positive("window slide", slide)?;
                if slide > size {
                    return Err(ApiError::Invalid(format!(
                        "sliding window slide {slide} ns exceeds its size {size} ns: \
                         events between windows would belong to none"
                    )));
                }
                Ok(())
            }
            Windows::Session { gap } => positive("session gap", gap),
        }
    }
}

/// A window definition as a job states it: the kind, and how long a fired window still
/// accepts late input.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WindowSpec {
    /// The kind of window.
    pub windows: Windows,
    /// How long after firing a window still accepts input (and fires again with it).
    pub allowed_lateness: Time,
}

impl WindowSpec {
    /// Windows of `windows` with no allowed lateness.
    pub const fn new(windows: Windows) -> Self {
        WindowSpec { windows, allowed_lateness: 0 }
    }

    /// The same windows, accepting input for `lateness` after they fire.
    pub const fn with_lateness(mut self, lateness: Time) -> Self {
        self.allowed_lateness = lateness;
        self
    }

    /// Checks the definition: positive sizes, non-negative lateness, and no lateness on
    /// sessions (a late merge would change a fired session's identity; flowmark keeps session
    /// results final).
    pub fn validate(&self) -> Result<(), ApiError> {
        self.windows.validate()?;
        if self.allowed_lateness < 0 {
            return Err(ApiError::Invalid(format!(
                "allowed lateness is {} ns; it must be zero or more",
                self.allowed_lateness
            )));
        }
        if self.windows.is_merging() && self.allowed_lateness > 0 {
            return Err(ApiError::Invalid(
                "session windows take no allowed lateness: a late merge would change the \
                 identity of a session that has already fired"
                    .into(),
            ));
        }
        Ok(())
    }

    /// How far behind its watermark an operator with these windows fires them, and holds the
    /// watermark it passes downstream: nothing when it emits every firing (its results go to a
    /// sink), the allowed lateness when it emits only final results (they feed another
    /// stateful operator). See the module docs.
    #[inline]
    pub const fn fire_delay(&self, final_only: bool) -> Time {
        if final_only { self.allowed_lateness } else { 0 }
    }

    /// Whether fixed window `w` no longer accepts a record whose watermark is `wm`: Flink's
    /// `window.maxTimestamp() + allowedLateness <= watermark`.
    #[inline]
    pub fn is_late(&self, w: Window, wm: Time) -> bool {
        w.max_time().saturating_add(self.allowed_lateness) <= wm
    }

    /// Whether an element at `t` with watermark `wm` is late for a merging (session) window:
    /// it is when it lies at or behind the watermark. This is stricter than judging its own
    /// window `[t, t + gap)`, and it is what makes a fired session final: an element that is
    /// not late is ahead of every engine's watermark, so it cannot reach back into a session
    /// that has fired (which ended at or before the watermark).
    #[inline]
    pub fn is_late_element(&self, t: Time, wm: Time) -> bool {
        t.saturating_add(self.allowed_lateness) <= wm
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn windows_of(w: Windows, t: Time) -> Vec<Window> {
        let mut v = Vec::new();
        w.assign(t, |x| v.push(x));
        v
    }

    #[test]
    fn tumbling_aligns_to_zero_including_negative_times() {
        let w = Windows::tumbling(10);
        assert_eq!(windows_of(w, 0), vec![Window::new(0, 10)]);
        assert_eq!(windows_of(w, 9), vec![Window::new(0, 10)]);
        assert_eq!(windows_of(w, 10), vec![Window::new(10, 20)]);
        assert_eq!(windows_of(w, -1), vec![Window::new(-10, 0)]);
    }

    #[test]
    fn sliding_assigns_every_covering_window() {
        let w = Windows::sliding(10, 4);
        // windows start at multiples of 4 and last 10: 13 is in [4,14) and [8,18) and [12,22)
        assert_eq!(windows_of(w, 13), vec![Window::new(4, 14), Window::new(8, 18), Window::new(12, 22)]);
        assert_eq!(windows_of(w, 0), vec![Window::new(-8, 2), Window::new(-4, 6), Window::new(0, 10)]);
    }

    #[test]
    fn sliding_windows_at_their_edges() {
        let w = Windows::sliding(10, 5);
        // the first and last instants of [0,10) and [5,15)
        assert_eq!(windows_of(w, 0), vec![Window::new(-5, 5), Window::new(0, 10)]);
        assert_eq!(windows_of(w, 4), vec![Window::new(-5, 5), Window::new(0, 10)]);
        assert_eq!(windows_of(w, 5), vec![Window::new(0, 10), Window::new(5, 15)]);
        assert_eq!(windows_of(w, 9), vec![Window::new(0, 10), Window::new(5, 15)]);
        // a slide equal to the size is tumbling
        assert_eq!(windows_of(Windows::sliding(10, 10), 19), vec![Window::new(10, 20)]);
        assert_eq!(windows_of(Windows::sliding(10, 10), -10), vec![Window::new(-10, 0)]);
    }

    #[test]
    fn windows_intersect_only_when_they_share_an_instant() {
        let w = Window::new(0, 10);
        assert!(!w.intersects(&Window::new(10, 20)) && !Window::new(10, 20).intersects(&w));
        assert!(w.intersects(&Window::new(9, 19)) && Window::new(-5, 1).intersects(&w));
        assert!(!w.intersects(&Window::new(-5, 0)));
        assert_eq!(w.cover(&Window::new(5, 15)), Window::new(0, 15));
        assert_eq!(Window::new(5, 15).cover(&w), Window::new(0, 15));
        assert_eq!(w.max_time(), 9);
        assert_eq!(w.to_string(), "[0,10)");
    }

    #[test]
    fn a_window_fires_late_only_when_it_feeds_state() {
        let spec = WindowSpec::new(Windows::tumbling(10)).with_lateness(5);
        assert_eq!((spec.fire_delay(false), spec.fire_delay(true)), (0, 5));
        assert_eq!(WindowSpec::new(Windows::tumbling(10)).fire_delay(true), 0);
    }

    #[test]
    fn late_for_a_session_at_the_watermark_exactly() {
        let spec = WindowSpec::new(Windows::session(10));
        assert!(spec.is_late_element(7, 7)); // at the watermark: late
        assert!(!spec.is_late_element(8, 7)); // one past: on time
        let late = WindowSpec { allowed_lateness: 3, ..spec };
        assert!(!late.is_late_element(5, 7) && late.is_late_element(4, 7));
        assert!(!WindowSpec::new(Windows::tumbling(10)).windows.is_merging());
        assert!(spec.windows.is_merging());
    }

    #[test]
    fn lateness_follows_flink() {
        let spec = WindowSpec::new(Windows::tumbling(10)).with_lateness(5);
        let w = Window::new(0, 10);
        assert!(!spec.is_late(w, 13)); // 9 + 5 > 13
        assert!(spec.is_late(w, 14)); // 9 + 5 <= 14
        let none = WindowSpec::new(Windows::tumbling(10));
        assert!(!none.is_late(w, 8) && none.is_late(w, 9)); // at its last instant: late
    }

    #[test]
    fn validation_names_the_problem() {
        assert!(Windows::tumbling(0).validate().is_err());
        assert!(Windows::sliding(10, 20).validate().is_err());
        let s = WindowSpec::new(Windows::session(5)).with_lateness(1);
        assert!(s.validate().unwrap_err().to_string().contains("session"));
        assert!(WindowSpec::new(Windows::tumbling(5)).with_lateness(-1).validate().is_err());
    }

    #[test]
    fn the_assigner_remembers_a_window_only_for_its_own_instants() {
        let mut a = Assign::new(Windows::tumbling(10));
        let mut at = |t| {
            let mut got = Vec::new();
            a.assign(t, |w| got.push(w));
            got
        };
        // 0 first: the empty window [0,0) it starts with holds no instant
        assert_eq!(at(0), [Window::new(0, 10)]);
        assert_eq!(at(9), [Window::new(0, 10)]);
        assert_eq!(at(10), [Window::new(10, 20)], "the end is outside");
        assert_eq!(at(9), [Window::new(0, 10)], "the start is inside, one before it is not");
        assert_eq!(at(-1), [Window::new(-10, 0)]);
        let mut s = Assign::new(Windows::sliding(10, 5));
        let mut got = Vec::new();
        s.assign(7, |w| got.push(w));
        assert_eq!(got, windows_of(Windows::sliding(10, 5), 7));
    }

    #[test]
    fn open_windows_stay_in_firing_order() {
        let windows = [(10, 20), (0, 10), (5, 15), (10, 20), (20, 30), (0, 20), (0, 10), (20, 30)];
        let mut open: Vec<(Window, u32)> = Vec::new();
        let mut at: Vec<(Window, u32)> = Vec::new();
        for (s, e) in windows {
            let w = Window::new(s, e);
            *open_window(&mut open, w, || 0) += 1;
            let i = open_window_at(&mut at, w, || 0);
            assert_eq!(at[i].0, w, "the index is the window's");
            at[i].1 += 1;
        }
        let order: Vec<_> = open.iter().map(|(w, n)| (w.start, w.end, *n)).collect();
        assert_eq!(order, [(0, 10, 2), (5, 15, 1), (0, 20, 1), (10, 20, 2), (20, 30, 2)]);
        assert_eq!(at, open);
    }

    #[test]
    fn a_window_pushes_the_text_it_displays() {
        for w in [Window::new(0, 10), Window::new(-5, 5), Window::new(Time::MIN, Time::MAX)] {
            let mut s = String::from("x");
            w.push_to(&mut s);
            assert_eq!(s, format!("x{w}"));
        }
    }

    proptest! {
        #[test]
        fn the_assigner_agrees_with_the_windows(
            times in proptest::collection::vec(-1_000i64..1_000, 1..50),
            size in 1i64..40,
            slide in 1i64..40,
        ) {
            for windows in [Windows::tumbling(size), Windows::sliding(size.max(slide), slide)] {
                let mut a = Assign::new(windows);
                for &t in &times {
                    let mut got = Vec::new();
                    a.assign(t, |w| got.push(w));
                    prop_assert_eq!(got, windows_of(windows, t));
                }
            }
        }

        /// Instants a step of at most 3 apart, so that most are assigned from the remembered
        /// windows, and a step crosses each edge of their instants from either side.
        #[test]
        fn the_assigner_agrees_with_the_windows_instant_by_instant(
            start in -1_000i64..1_000,
            steps in proptest::collection::vec(-3i64..=3, 1..200),
            size in 1i64..12,
            slide in 1i64..12,
        ) {
            let kinds = [Windows::tumbling(size), Windows::sliding(size.max(slide), slide), Windows::session(size)];
            for windows in kinds {
                let mut a = Assign::new(windows);
                let mut t = start;
                for step in &steps {
                    t += step;
                    let mut got = Vec::new();
                    a.assign(t, |w| got.push(w));
                    prop_assert_eq!(&got, &windows_of(windows, t), "{:?} at {}", windows, t);
                    let single = a.tumbling(t);
                    prop_assert_eq!(single, matches!(windows, Windows::Tumbling { .. }).then(|| got[0]));
                }
            }
        }

        #[test]
        fn assigned_windows_contain_the_instant(t in -1_000_000i64..1_000_000, size in 1i64..500, slide_div in 1i64..10) {
            let slide = (size / slide_div).max(1);
            for w in [Windows::tumbling(size), Windows::sliding(size, slide)] {
                let ws = windows_of(w, t);
                prop_assert!(!ws.is_empty());
                for x in &ws {
                    prop_assert!(x.start <= t && t < x.end);
                    prop_assert_eq!(x.end - x.start, size);
                }
                if let Windows::Sliding { .. } = w {
                    // exactly the windows starting at multiples of slide that contain t
                    let expect = (-(size / slide) - 2..=(size / slide) + 2)
                        .map(|k| (t - t.rem_euclid(slide)) + k * slide)
                        .filter(|s| *s <= t && t < s + size)
                        .count();
                    prop_assert_eq!(ws.len(), expect);
                }
            }
        }
    }
}
