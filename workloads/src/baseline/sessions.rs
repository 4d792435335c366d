//! Sessionization by hand: per user, clicks merged into sessions separated by the gap.

use super::Input;
use crate::jobs::sessions::{Activity, Click, Sessions};
use flowmark_core::{
    Baseline, Job, Log, Output, ResultLine, Time, Window, WindowResult, WindowSpec, Windows,
};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

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
    /// (end, user, start) of every open session.
    ends: BTreeSet<(Time, u32, Time)>,
}

impl OpenSessions {
    /// No sessions yet; sessions close after `gap` without a click.
    pub fn new(gap: Time) -> Self {
        OpenSessions {
            gap,
            spec: WindowSpec::new(Windows::session(gap)),
            open: FxHashMap::default(),
            ends: BTreeSet::new(),
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
            self.ends.insert((window.end, user, window.start));
            sessions.push((window, Activity { clicks: 1, pages: vec![click.page] }));
            return;
        };
        let (w, activity) = &mut sessions[first];
        self.ends.remove(&(w.end, user, w.start));
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
            self.ends.remove(&(other.end, user, other.start));
            merged = merged.cover(&other);
            let a = &mut sessions[first].1;
            a.clicks += b.clicks;
            for p in b.pages {
                a.add_page(p);
            }
        }
        sessions[first].0 = merged;
        self.ends.insert((merged.end, user, merged.start));
    }

    /// Writes every session the watermark `wm` has made final.
    pub fn fire(&mut self, wm: Time, results: &mut Vec<ResultLine>) {
        while let Some(&(end, user, start)) = self.ends.first() {
            if !self.spec.is_late(Window::new(start, end), wm) {
                break;
            }
            self.ends.pop_first();
            let sessions = self.open.get_mut(&user).expect("an open session has its user");
            if let Some(i) = sessions.iter().position(|(w, _)| w.start == start && w.end == end) {
                let (window, value) = sessions.swap_remove(i);
                results.push(WindowResult { key: user, window, value }.to_line());
            }
        }
    }
}
