//! Disorder: how far behind its arrival an event's own timestamp is.
//!
//! An event arriving at `a` has event time `a − d`, with the delay `d ≥ 0` drawn from the
//! model; a fraction of events are additionally *very late* by a fixed extra delay — past any
//! sensible watermark bound, so that late-data handling is exercised.

use crate::error::{self, WorkloadError};
use crate::rng::EventRng;
use flowmark_core::time::{MILLISECOND, SECOND, Time, duration};
use serde::{Deserialize, Serialize};

/// The distribution of the delay between an event's time and its arrival.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "model", deny_unknown_fields)]
pub enum Delay {
    /// Every event arrives at its own time: the input is in order.
    #[default]
    None,
    /// Uniform on `[0, max]`.
    Uniform {
        /// Largest delay.
        #[serde(with = "duration")]
        max: Time,
    },
    /// Exponential with the given mean, cut at `max`.
    Exponential {
        /// Mean delay.
        #[serde(with = "duration")]
        mean: Time,
        /// Largest delay.
        #[serde(with = "duration")]
        max: Time,
    },
    /// A Pareto (Lomax) tail: `scale · (U^(−1/shape) − 1)`, cut at `max`. Most delays are small
    /// and a few are very large.
    Pareto {
        /// Scale of the delays.
        #[serde(with = "duration")]
        scale: Time,
        /// Tail index: smaller is heavier.
        shape: f64,
        /// Largest delay.
        #[serde(with = "duration")]
        max: Time,
    },
    /// On the edges: uniform on `[0, max]`, then the event time moves back to the multiple of
    /// `grid` at or before it — or, for every other event, to one nanosecond before that
    /// multiple. With window sizes, slides, the watermark bound and the allowed lateness
    /// multiples of `grid`, events fall on the first and last instants of windows, partition
    /// watermarks land on window ends to the nanosecond, and late events on the lateness limit
    /// exactly — many times a second: the boundary rules (`<` against `≤`, the `− 1` of the
    /// watermark) decide results.
    Grid {
        /// The spacing of the instants event times fall on.
        #[serde(with = "duration")]
        grid: Time,
        /// Largest delay before the move to the grid.
        #[serde(with = "duration")]
        max: Time,
    },
}

/// The disorder of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Disorder {
    /// The delay of ordinary events.
    #[serde(default)]
    pub delay: Delay,
    /// The fraction of events that are very late.
    #[serde(default)]
    pub late_fraction: f64,
    /// The extra delay of a very late event.
    #[serde(default, with = "duration")]
    pub late_delay: Time,
}

impl Disorder {
    /// No disorder.
    pub const NONE: Disorder = Disorder { delay: Delay::None, late_fraction: 0.0, late_delay: 0 };

    /// Uniform delays up to `max`, nothing very late.
    pub const fn uniform(max: Time) -> Self {
        Disorder { delay: Delay::Uniform { max }, late_fraction: 0.0, late_delay: 0 }
    }

    /// Uniform delays up to `max`, event times moved onto a grid of `grid` or a nanosecond
    /// before it ([`Delay::Grid`]), nothing very late.
    pub const fn on_grid(grid: Time, max: Time) -> Self {
        Disorder { delay: Delay::Grid { grid, max }, late_fraction: 0.0, late_delay: 0 }
    }

    /// Disorder on the window edges for a job whose watermark bound is `bound`: event times on
    /// a 10 ms grid or a nanosecond before it, delays up to 100 ms past the bound (so that
    /// watermarks land on window ends, and late events on the lateness limit, to the
    /// nanosecond), and 1 % of events a further 3 s late.
    pub const fn edges(bound: Time) -> Self {
        Disorder::on_grid(10 * MILLISECOND, bound + 100 * MILLISECOND).with_late(0.01, 3 * SECOND)
    }

    /// The same delays, with `fraction` of the events an extra `delay` late.
    pub const fn with_late(mut self, fraction: f64, delay: Time) -> Self {
        self.late_fraction = fraction;
        self.late_delay = delay;
        self
    }

    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        let secs = |t: Time| t as f64 / SECOND as f64;
        match self.delay {
            Delay::None => {}
            Delay::Uniform { max } => error::non_negative("uniform delay `max`", secs(max))?,
            Delay::Exponential { mean, max } => {
                error::positive("exponential delay `mean`", secs(mean))?;
                error::non_negative("exponential delay `max`", secs(max))?;
            }
            Delay::Pareto { scale, shape, max } => {
                error::positive("pareto delay `scale`", secs(scale))?;
                error::positive("pareto delay `shape`", shape)?;
                error::non_negative("pareto delay `max`", secs(max))?;
            }
            Delay::Grid { grid, max } => {
                error::positive("grid delay `grid`", secs(grid))?;
                error::non_negative("grid delay `max`", secs(max))?;
            }
        }
        error::fraction("late_fraction", self.late_fraction)?;
        error::non_negative("late_delay", secs(self.late_delay))
    }

    /// The largest delay of an event that is not very late: the watermark bound under which a
    /// job sees no late events at all.
    pub fn max_delay(&self) -> Time {
        match self.delay {
            Delay::None => 0,
            Delay::Uniform { max } | Delay::Exponential { max, .. } | Delay::Pareto { max, .. } => max,
            // moving back to the grid adds up to a grid step, less a nanosecond, plus one
            Delay::Grid { grid, max } => max + grid,
        }
    }

    /// The event time of an event arriving at `arrival`.
    #[inline]
    pub fn event_time(&self, arrival: Time, rng: &mut EventRng) -> Time {
        let time = arrival - self.delay(rng);
        match self.delay {
            Delay::Grid { grid, .. } => time - time.rem_euclid(grid) - rng.below(2) as Time,
            _ => time,
        }
    }

    /// Draws a delay.
    #[inline]
    pub fn delay(&self, rng: &mut EventRng) -> Time {
        let base = match self.delay {
            Delay::None => 0,
            Delay::Uniform { max } | Delay::Grid { max, .. } => rng.below(max as u64 + 1) as Time,
            Delay::Exponential { mean, max } => {
                let u = 1.0 - rng.next_f64(); // (0, 1]
                ((-u.ln() * mean as f64) as Time).min(max)
            }
            Delay::Pareto { scale, shape, max } => {
                let u = 1.0 - rng.next_f64();
                ((scale as f64 * (u.powf(-1.0 / shape) - 1.0)).min(max as f64) as Time).min(max)
            }
        };
        if self.late_fraction > 0.0 && rng.next_f64() < self.late_fraction {
            base + self.late_delay
        } else {
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(d: Disorder, n: u64) -> Vec<Time> {
        (0..n).map(|i| d.delay(&mut crate::rng::for_event(3, 9, i))).collect()
    }

    #[test]
    fn delays_stay_in_their_bounds() {
        let max = 200 * MILLISECOND;
        for d in [
            Disorder::uniform(max),
            Disorder { delay: Delay::Exponential { mean: 20 * MILLISECOND, max }, ..Disorder::NONE },
            Disorder { delay: Delay::Pareto { scale: 5 * MILLISECOND, shape: 1.5, max }, ..Disorder::NONE },
        ] {
            let xs = delays(d, 50_000);
            assert!(xs.iter().all(|&x| (0..=max).contains(&x)), "{d:?}");
            assert!(xs.iter().any(|&x| x > 0));
        }
        assert!(delays(Disorder::NONE, 100).iter().all(|&x| x == 0));
    }

    #[test]
    fn grid_times_fall_on_window_edges() {
        let grid = 10 * MILLISECOND;
        let d = Disorder { delay: Delay::Grid { grid, max: 50 * MILLISECOND }, ..Disorder::NONE };
        let (mut on, mut before) = (0, 0);
        for i in 0..10_000u64 {
            let arrival = (i as Time * 7_777_777) % (9 * SECOND) - SECOND;
            let t = d.event_time(arrival, &mut crate::rng::for_event(3, 9, i));
            assert!(t <= arrival && arrival - t <= d.max_delay(), "{arrival} {t}");
            match t.rem_euclid(grid) {
                0 => on += 1,
                r if r == grid - 1 => before += 1,
                r => panic!("{t} is {r} ns past the grid"),
            }
        }
        assert!(on > 4_000 && before > 4_000, "{on} on the grid, {before} a nanosecond before");
    }

    #[test]
    fn exponential_mean_and_late_fraction() {
        let d =
            Disorder { delay: Delay::Exponential { mean: 10 * MILLISECOND, max: SECOND }, ..Disorder::NONE }
                .with_late(0.01, 5 * SECOND);
        let xs = delays(d, 200_000);
        let late = xs.iter().filter(|&&x| x >= 5 * SECOND).count();
        assert!((1500..2500).contains(&late), "{late}");
        let on_time: Vec<_> = xs.iter().filter(|&&x| x < 5 * SECOND).collect();
        let mean = on_time.iter().map(|&&x| x as f64).sum::<f64>() / on_time.len() as f64;
        assert!((mean / MILLISECOND as f64 - 10.0).abs() < 0.3, "{mean}");
    }

    #[test]
    fn invalid_disorder_is_a_typed_error() {
        assert_eq!(
            Disorder::uniform(-1).validate(),
            Err(WorkloadError::Negative { what: "uniform delay `max`", value: -1e-9 })
        );
        assert!(Disorder::NONE.with_late(1.5, SECOND).validate().is_err());
        let e = toml::from_str::<Disorder>("delay = { model = \"uniform\", max = \"-5ms\" }").unwrap();
        assert!(e.validate().is_err());
    }
}
