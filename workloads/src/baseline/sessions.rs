//! Sessionization by hand: per user, clicks merged into sessions separated by the gap.

use super::Input;
use crate::jobs::sessions::{Activity, Click, Sessions};
use flowmark_core::{Baseline, Job, Log, Output, Time, Window, WindowResult, WindowSpec, Windows};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

/// Sessions over `log` up to `end`, in one loop. A click on time opens `[t, t + gap)` and
/// merges with every session of its user it intersects; a session is final — and written —
/// once the watermark over all partitions reaches its last instant, for a click on time after
/// that starts at or after its end.
pub fn sessions<L: Log<Event = Click>>(job: &Sessions, log: &L, end: Time) -> Baseline {
    let spec = WindowSpec::new(Windows::session(job.gap()));
    let mut open: FxHashMap<u32, Vec<(Window, Activity)>> = FxHashMap::default();
    // (end, user, start) of every open session, to finalize them in order of their end
    let mut ends: BTreeSet<(Time, u32, Time)> = BTreeSet::new();
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    loop {
        let wm = input.round(|r| {
            if spec.is_late_element(r.time, r.wm) {
                return;
            }
            let window = Window::new(r.time, r.time.saturating_add(job.gap()));
            let user = open.entry(r.data.user).or_default();
            // the click joins the first session it touches, in place; any other it touches
            // then (it bridged a gap) is merged into that one
            let Some(first) = user.iter().position(|(w, _)| w.intersects(&window)) else {
                ends.insert((window.end, r.data.user, window.start));
                user.push((window, Activity { clicks: 1, pages: vec![r.data.page] }));
                return;
            };
            let (w, activity) = &mut user[first];
            ends.remove(&(w.end, r.data.user, w.start));
            let mut merged = w.cover(&window);
            activity.clicks += 1;
            activity.add_page(r.data.page);
            let mut i = first + 1;
            while i < user.len() {
                if !user[i].0.intersects(&merged) {
                    i += 1;
                    continue;
                }
                let (other, b) = user.swap_remove(i);
                ends.remove(&(other.end, r.data.user, other.start));
                merged = merged.cover(&other);
                let a = &mut user[first].1;
                a.clicks += b.clicks;
                for p in b.pages {
                    a.add_page(p);
                }
            }
            user[first].0 = merged;
            ends.insert((merged.end, r.data.user, merged.start));
        });
        while let Some(&(e, user, start)) = ends.first() {
            if !spec.is_late(Window::new(start, e), wm) {
                break;
            }
            ends.pop_first();
            let sessions = open.get_mut(&user).expect("an open session has its user");
            if let Some(i) = sessions.iter().position(|(w, _)| w.start == start && w.end == e) {
                let (window, value) = sessions.swap_remove(i);
                results.push(WindowResult { key: user, window, value }.to_line());
            }
        }
        if wm == Time::MAX {
            break;
        }
    }
    Baseline { events: input.events, results }
}
