//! Sessionization by hand: per user, clicks merged into sessions separated by the gap.

use super::Input;
use crate::jobs::sessions::{Activity, Click, Sessions};
use flowmark_core::{
    Baseline, Job, Log, Output, ResultLine, Time, Window, WindowResult, WindowSpec, Windows,
};
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Sessions over `log` up to `end`, in one loop. A click on time opens `[t, t + gap)` and
/// merges with every session of its user it intersects; a session is final — and written —
/// once the watermark over all partitions reaches its last instant, for a click on time after
/// that starts at or after its end.
pub fn sessions<L: Log<Event = Click>>(job: &Sessions, log: &L, end: Time) -> Baseline {
    let mut open = OpenSessions::new(job.gap());
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    loop {
        let wm = input.round(|r| open.click(r.time, r.wm, r.data));
        open.fire(wm, &mut results);
        if wm == Time::MAX {
            break;
        }
    }
    Baseline { events: input.events, results }
}

/// The open sessions of every user, and their ends in firing order.
pub struct OpenSessions {
    gap: Time,
    spec: WindowSpec,
    open: FxHashMap<u32, Vec<(Window, Activity)>>,
    /// (end, user, start) of every session as it opened, earliest end first. A click that
    /// grows a session leaves its entry be; when the entry comes up, the session that now holds
    /// its start (sessions only grow, and a user's are disjoint) fires if it ends there, or
    /// goes back with its new end. A session costs a push or two, where keeping every open
    /// session's exact bounds in order cost a removal and an insertion per click.
    ends: BinaryHeap<Reverse<(Time, u32, Time)>>,
}

impl OpenSessions {
    /// No sessions yet; sessions close after `gap` without a click.
    pub fn new(gap: Time) -> Self {
        OpenSessions {
            gap,
            spec: WindowSpec::new(Windows::session(gap)),
            open: FxHashMap::default(),
            ends: BinaryHeap::new(),
        }
    }

    /// A click at `t`, read when its partition's watermark was `wm`: dropped if late, else
    /// added to the first session of its user it touches, in place (constant work however long
    /// the session), merging any other it then touches (it bridged a gap).
    #[inline]
    pub fn click(&mut self, t: Time, wm: Time, click: Click) {
        if self.spec.is_late_element(t, wm) {
            return;
        }
        let (user, window) = (click.user, Window::new(t, t.saturating_add(self.gap)));
        let sessions = self.open.entry(user).or_default();
        let Some(first) = sessions.iter().position(|(w, _)| w.intersects(&window)) else {
            self.ends.push(Reverse((window.end, user, window.start)));
            sessions.push((window, Activity { clicks: 1, pages: vec![click.page] }));
            return;
        };
        let (w, activity) = &mut sessions[first];
        let mut merged = w.cover(&window);
        activity.clicks += 1;
        activity.add_page(click.page);
        let mut i = first + 1;
        while i < sessions.len() {
            if !sessions[i].0.intersects(&merged) {
                i += 1;
                continue;
            }
            let (other, b) = sessions.swap_remove(i);
            merged = merged.cover(&other);
            let a = &mut sessions[first].1;
            a.clicks += b.clicks;
            for p in b.pages {
                a.add_page(p);
            }
        }
        sessions[first].0 = merged;
    }

    /// Writes every session the watermark `wm` has made final.
    pub fn fire(&mut self, wm: Time, results: &mut Vec<ResultLine>) {
        while let Some(&Reverse((end, user, start))) = self.ends.peek() {
            if !self.spec.is_late(Window::new(start, end), wm) {
                break;
            }
            self.ends.pop();
            let sessions = self.open.get_mut(&user).expect("an open session has its user");
            // none once it has fired (an entry of a session another one merged into)
            let Some(i) = sessions.iter().position(|(w, _)| w.start <= start && start < w.end) else {
                continue;
            };
            let now = sessions[i].0;
            if now.end > end {
                self.ends.push(Reverse((now.end, user, now.start)));
                continue;
            }
            let (window, value) = sessions.swap_remove(i);
            results.push(WindowResult { key: user, window, value }.to_line());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::time::MIN_WATERMARK;

    const GAP: Time = 10;

    fn click(open: &mut OpenSessions, t: Time, user: u32, page: u32) {
        open.click(t, MIN_WATERMARK, Click { user, page });
    }

    fn fired(open: &mut OpenSessions, wm: Time) -> Vec<String> {
        let mut out = Vec::new();
        open.fire(wm, &mut out);
        out.into_iter().map(|l| format!("{} = {}", l.id, l.value)).collect()
    }

    #[test]
    fn a_session_fires_when_the_watermark_reaches_its_last_instant_after_growing() {
        let mut open = OpenSessions::new(GAP);
        click(&mut open, 0, 1, 5);
        click(&mut open, 6, 1, 7);
        // its first entry ends at 10; the session now ends at 16
        assert!(fired(&mut open, 9).is_empty());
        assert!(fired(&mut open, 14).is_empty(), "the last instant is 15");
        assert_eq!(fired(&mut open, 15), ["1 [0,16) = 2 clicks, 2 pages"]);
        assert!(fired(&mut open, 100).is_empty(), "once");
    }

    #[test]
    fn sessions_a_click_bridges_fire_once_as_one() {
        let mut open = OpenSessions::new(GAP);
        click(&mut open, 0, 1, 5);
        click(&mut open, 20, 1, 5);
        click(&mut open, 30, 2, 9);
        // [0,10) and [20,30) are apart; a click at 9 grows the first to [0,19), and one at 15
        // ([15,25)) bridges it to the second: both entries come up, one session fires
        click(&mut open, 9, 1, 6);
        click(&mut open, 15, 1, 7);
        assert_eq!(fired(&mut open, 29), ["1 [0,30) = 4 clicks, 3 pages"]);
        assert_eq!(fired(&mut open, 39), ["2 [30,40) = 1 clicks, 1 pages"]);
        assert!(fired(&mut open, 1000).is_empty());
    }

    #[test]
    fn clicks_exactly_a_gap_apart_are_two_sessions() {
        let mut open = OpenSessions::new(GAP);
        click(&mut open, 0, 1, 5);
        click(&mut open, 10, 1, 5);
        assert_eq!(fired(&mut open, 9), ["1 [0,10) = 1 clicks, 1 pages"]);
        assert_eq!(fired(&mut open, 19), ["1 [10,20) = 1 clicks, 1 pages"]);
    }
}
