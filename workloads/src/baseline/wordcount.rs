//! Word count by hand: count per word and window (tumbling or sliding).

use super::{Input, Panes};
use crate::jobs::wordcount::WordCount;
use flowmark_core::{Baseline, Job, Log, Time, WindowSpec, Windows};

/// Word count over `log` up to `end`, in one loop.
pub fn wordcount<L: Log<Event = u32>>(job: &WordCount, log: &L, end: Time) -> Baseline {
    // one loop per kind of window: in the tumbling one the compiler knows that an instant has
    // one window, as a loop written for tumbling windows alone would
    let spec = job.windows();
    match spec.windows {
        Windows::Tumbling { size } => {
            count::<L, true>(job, log, end, WindowSpec { windows: Windows::Tumbling { size }, ..spec })
        }
        _ => count::<L, false>(job, log, end, spec),
    }
}

/// [`wordcount`] with windows `spec`. `TUMBLING` is not read: it makes each kind's loop a
/// function of its own, whose closures are called from one place each and so inlined (one
/// function inlined into both arms would call its closures from two, and keep them calls).
#[inline(always)]
fn count<L: Log<Event = u32>, const TUMBLING: bool>(
    job: &WordCount,
    log: &L,
    end: Time,
    spec: WindowSpec,
) -> Baseline {
    let mut panes: Panes<u32, u64> = Panes::new(spec);
    let mut results = Vec::new();
    let mut input = Input::new(log, job.watermarks(), end);
    loop {
        let wm = panes.read(&mut input, |r, panes| panes.add(r.time, r.wm, r.data, |c| *c += 1));
        panes.fire_results(wm, &mut results);
        if wm == Time::MAX {
            break;
        }
    }
    Baseline { events: input.events, results }
}
