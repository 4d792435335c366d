//! The Yahoo Streaming Benchmark by hand: keep views, map ad to campaign, count per campaign and
//! window.

use super::{Input, Panes};
use crate::jobs::ysb::{AdEvent, EventType, Ysb};
use flowmark_core::{Baseline, Job, Log, Time};

/// YSB over `log` up to `end`, in one loop.
pub fn ysb<L: Log<Event = AdEvent>>(job: &Ysb, log: &L, end: Time) -> Baseline {
    let (windows, campaign_of) = job.parts();
    let mut panes: Panes<u32, u64> = Panes::new(windows);
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    loop {
        let wm = panes.read(&mut input, |r, panes| {
            if r.data.event_type == EventType::View {
                panes.add(r.time, r.wm, campaign_of[r.data.ad as usize], |c| *c += 1);
            }
        });
        panes.fire_results(wm, &mut results);
        if wm == Time::MAX {
            break;
        }
    }
    Baseline { events: input.events, results }
}
