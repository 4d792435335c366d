//! Word count by hand: count per word and window (tumbling or sliding).

use super::{Input, Panes};
use crate::jobs::wordcount::WordCount;
use flowmark_core::{Baseline, Job, Log, Time};

/// Word count over `log` up to `end`, in one loop.
pub fn wordcount<L: Log<Event = u32>>(job: &WordCount, log: &L, end: Time) -> Baseline {
    let mut panes: Panes<u32, u64> = Panes::new(job.windows());
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    loop {
        let wm = panes.read(
            &mut input,
            #[inline(always)]
            |r, panes| panes.add(r.time, r.wm, r.data, |c| *c += 1),
        );
        panes.fire_results(wm, &mut results);
        if wm == Time::MAX {
            break;
        }
    }
    Baseline { events: input.events, results }
}
