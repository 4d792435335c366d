//! Due instants: when a perfect engine — one that costs nothing — could emit each result. Every
//! engine's due-time latency (`emit − due`, the headline latency of `docs/metrics.md`) is measured against
//! these, so all are measured against the same instants.
//!
//! - A result of a window (fixed, session, window join, `window_by`) is due when the watermark
//!   over all partitions — the minimum of every partition's watermark, each taken at the latest
//!   entry that has arrived — first reaches the window's last instant, or when the latest input
//!   it covers became due, whichever is later (a late record fires the window again on
//!   arrival). A window the watermark never reaches before the input ends is due at the end.
//! - A per-record result (map, filter, join) is due when its latest input became due: a source
//!   record at its arrival.
//! - A running aggregate's final value is due with the latest record of its key.

use flowmark_core::Time;

/// The watermark over all partitions as a function of arrival time.
#[derive(Clone, Debug, Default)]
pub struct DueClock {
    /// (arrival, watermark from then on), both increasing.
    steps: Vec<(Time, Time)>,
    end: Time,
}

impl DueClock {
    /// The clock of partitions given as their entries' (arrival, partition watermark after the
    /// entry), in arrival order; the input ends at `end`. Partitions with no entries do not
    /// hold the watermark back.
    pub fn new(partitions: &[Vec<(Time, Time)>], end: Time) -> Self {
        let live: Vec<bool> = partitions.iter().map(|p| !p.is_empty()).collect();
        let mut wm = vec![Time::MIN; partitions.len()];
        // the next entry of each partition: the partitions are merged by arrival
        let mut next = vec![0usize; partitions.len()];
        let arrival_of = |p: usize, next: &[usize]| partitions[p].get(next[p]).map(|e| e.0);
        let mut steps: Vec<(Time, Time)> = Vec::new();
        while let Some(arrival) = (0..partitions.len()).filter_map(|p| arrival_of(p, &next)).min() {
            // every entry that arrived at this instant, in every partition, before the minimum
            for (p, entries) in partitions.iter().enumerate() {
                while let Some(&(a, w)) = entries.get(next[p])
                    && a == arrival
                {
                    wm[p] = wm[p].max(w);
                    next[p] += 1;
                }
            }
            let global =
                wm.iter().zip(&live).filter(|(_, l)| **l).map(|(w, _)| *w).min().unwrap_or(Time::MIN);
            if steps.last().is_none_or(|s| global > s.1) {
                steps.push((arrival, global));
            }
        }
        DueClock { steps, end }
    }

    /// The first arrival at which the watermark reaches `t`; the end of the input if it never
    /// does.
    pub fn when_watermark_reaches(&self, t: Time) -> Time {
        let i = self.steps.partition_point(|s| s.1 < t);
        self.steps.get(i).map_or(self.end, |s| s.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_partition_holds_the_watermark() {
        // partition 0 races ahead; partition 1 catches up at arrival 30
        let c = DueClock::new(&[vec![(0, 5), (10, 50), (20, 90)], vec![(5, 3), (30, 60)], vec![]], 100);
        assert_eq!(c.when_watermark_reaches(3), 5); // both partitions have spoken at 5: min(5, 3)
        assert_eq!(c.when_watermark_reaches(4), 30); // at 10 and 20 partition 1 still holds it at 3
        assert_eq!(c.when_watermark_reaches(10), 30); // at 30: min(90, 60) = 60
        assert_eq!(c.when_watermark_reaches(60), 30);
        assert_eq!(c.when_watermark_reaches(61), 100); // never: the end of the input
    }
}
