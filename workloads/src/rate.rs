//! Rate profiles and the open-loop arrival schedule they define.
//!
//! A profile gives the input rate `r(t)` in events per second over the run. Event `n` (counting
//! over all partitions) arrives at `a_n = N⁻¹(n)`, where `N(t) = ∫₀ᵗ r` is the number of events
//! due by `t`: the schedule is fixed in advance and does not wait for the engine, which is what
//! keeps latency measurement free of coordinated omission. Every profile is turned into a
//! sequence of segments on which the rate is linear, so one inverse serves all of them.

use crate::error::{self, WorkloadError};
use flowmark_core::time::{SECOND, Time, duration};
use serde::{Deserialize, Serialize};

/// The input rate over a run, in events per second over all partitions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "profile", deny_unknown_fields)]
pub enum RateProfile {
    /// The same rate throughout.
    Constant {
        /// Events per second.
        rate: f64,
    },
    /// `from` until `at`, then linearly to `to` over `over`, then `to`.
    Ramp {
        /// Rate at the start.
        from: f64,
        /// Rate at the end of the ramp and after.
        to: f64,
        /// Length of the ramp.
        #[serde(with = "duration")]
        over: Time,
        /// When the ramp starts (0 when left out).
        #[serde(default, with = "duration")]
        at: Time,
    },
    /// `from` until `at`, then `to`.
    Step {
        /// Rate before the step.
        from: f64,
        /// Rate after the step.
        to: f64,
        /// When the step happens.
        #[serde(with = "duration")]
        at: Time,
    },
    /// `base`, with a burst at `peak` for `length` from `at`, and again every `every` after
    /// when that is given.
    Burst {
        /// Rate between bursts.
        base: f64,
        /// Rate during a burst.
        peak: f64,
        /// Length of each burst.
        #[serde(with = "duration")]
        length: Time,
        /// When the first burst starts (0 when left out).
        #[serde(default, with = "duration")]
        at: Time,
        /// Period of the bursts; a single burst when left out.
        #[serde(
            default,
            with = "flowmark_core::time::optional_duration",
            skip_serializing_if = "Option::is_none"
        )]
        every: Option<Time>,
    },
    /// `mean + amplitude · sin(2π t / period)`.
    Sine {
        /// Mean rate.
        mean: f64,
        /// Amplitude; below the mean, so the rate stays positive.
        amplitude: f64,
        /// Period.
        #[serde(with = "duration")]
        period: Time,
    },
}

impl RateProfile {
    /// A constant rate.
    pub fn constant(rate: f64) -> Self {
        RateProfile::Constant { rate }
    }

    /// The highest rate it offers.
    pub fn peak(&self) -> f64 {
        match *self {
            RateProfile::Constant { rate } => rate,
            RateProfile::Ramp { from, to, .. } | RateProfile::Step { from, to, .. } => from.max(to),
            RateProfile::Burst { base, peak, .. } => base.max(peak),
            RateProfile::Sine { mean, amplitude, .. } => mean + amplitude,
        }
    }

    /// The first change of load that starts at or after `t`: when it starts and when it
    /// ends (a step ends as it starts). None for a constant rate or a sine, which changes
    /// all the time.
    pub fn change_from(&self, t: Time) -> Option<(Time, Time)> {
        match *self {
            RateProfile::Constant { .. } | RateProfile::Sine { .. } => None,
            RateProfile::Ramp { over, at, .. } => (at >= t).then_some((at, at + over)),
            RateProfile::Step { at, .. } => (at >= t).then_some((at, at)),
            RateProfile::Burst { length, at, every: None, .. } => (at >= t).then_some((at, at + length)),
            RateProfile::Burst { length, at, every: Some(every), .. } => {
                let k = if t <= at { 0 } else { (t - at + every - 1) / every };
                let start = at + k * every;
                Some((start, start + length))
            }
        }
    }

    /// Checks the parameters: every rate positive, every duration positive.
    pub fn validate(&self) -> Result<(), WorkloadError> {
        let secs = |t: Time| t as f64 / SECOND as f64;
        match *self {
            RateProfile::Constant { rate } => error::rate("rate", rate),
            RateProfile::Ramp { from, to, over, at } => {
                error::rate("ramp `from` rate", from)?;
                error::rate("ramp `to` rate", to)?;
                error::non_negative("ramp start `at`", secs(at))?;
                error::positive("ramp length `over`", secs(over))
            }
            RateProfile::Step { from, to, at } => {
                error::rate("step `from` rate", from)?;
                error::rate("step `to` rate", to)?;
                error::positive("step time `at`", secs(at))
            }
            RateProfile::Burst { base, peak, length, at, every } => {
                error::rate("burst `base` rate", base)?;
                error::rate("burst `peak` rate", peak)?;
                error::positive("burst `length`", secs(length))?;
                error::non_negative("burst start `at`", secs(at))?;
                if let Some(every) = every {
                    error::positive("burst period `every`", secs(every))?;
                    if at.saturating_add(length) > every {
                        return Err(WorkloadError::Invalid(format!(
                            "a burst from {} for {} must end within its period {}",
                            flowmark_core::time::human(at),
                            flowmark_core::time::human(length),
                            flowmark_core::time::human(every)
                        )));
                    }
                    if length == every {
                        return Err(WorkloadError::Invalid(format!(
                            "burst length {} must be shorter than its period",
                            flowmark_core::time::human(length)
                        )));
                    }
                }
                Ok(())
            }
            RateProfile::Sine { mean, amplitude, period } => {
                error::rate("sine `mean` rate", mean)?;
                error::non_negative("sine `amplitude`", amplitude)?;
                error::positive("sine `period`", secs(period))?;
                if amplitude >= mean {
                    return Err(WorkloadError::Invalid(format!(
                        "sine amplitude {amplitude} must be below its mean {mean}, so that the rate stays positive"
                    )));
                }
                Ok(())
            }
        }
    }

    /// The arrival schedule of this profile.
    pub fn schedule(&self) -> Result<Schedule, WorkloadError> {
        self.validate()?;
        let secs = |t: Time| t as f64 / SECOND as f64;
        let mut b = Builder::default();
        let periodic = match *self {
            RateProfile::Constant { rate } => {
                b.push(rate, rate, f64::INFINITY);
                false
            }
            RateProfile::Ramp { from, to, over, at } => {
                b.push(from, from, secs(at));
                b.push(from, to, secs(over));
                b.push(to, to, f64::INFINITY);
                false
            }
            RateProfile::Step { from, to, at } => {
                b.push(from, from, secs(at));
                b.push(to, to, f64::INFINITY);
                false
            }
            RateProfile::Burst { base, peak, length, at, every } => {
                b.push(base, base, secs(at));
                b.push(peak, peak, secs(length));
                match every {
                    Some(every) => {
                        b.push(base, base, secs(every - at - length));
                        true
                    }
                    None => {
                        b.push(base, base, f64::INFINITY);
                        false
                    }
                }
            }
            RateProfile::Sine { mean, amplitude, period } => {
                // 64 linear pieces per period: the rate is within 0.12 % of the amplitude of the
                // true sine everywhere.
                const PIECES: usize = 64;
                let r =
                    |j: usize| mean + amplitude * (std::f64::consts::TAU * j as f64 / PIECES as f64).sin();
                for j in 0..PIECES {
                    b.push(r(j), r(j + 1), secs(period) / PIECES as f64);
                }
                true
            }
        };
        Ok(b.finish(periodic))
    }
}

/// One piece of a schedule: the rate goes linearly from `rate` to `rate + slope · dur`.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Segment {
    /// Start, in seconds from the start of the period.
    t0: f64,
    /// Events due before the segment starts.
    n0: f64,
    /// Rate at the start.
    rate: f64,
    /// Change of the rate per second.
    slope: f64,
    /// Length in seconds (infinite for the last segment of a non-periodic profile).
    dur: f64,
    /// `1 / rate`, for the constant-rate fast path.
    inv_rate: f64,
}

impl Segment {
    fn events(&self) -> f64 {
        self.rate * self.dur + 0.5 * self.slope * self.dur * self.dur
    }

    /// Seconds into the segment at which `x` events are due: the root of
    /// `rate·τ + slope·τ²/2 = x`, in the form that is stable when the slope is small.
    #[inline]
    fn time_of(&self, x: f64) -> f64 {
        if self.slope == 0.0 {
            return (x * self.inv_rate).min(self.dur);
        }
        let tau = 2.0 * x / (self.rate + (self.rate * self.rate + 2.0 * self.slope * x).sqrt());
        tau.clamp(0.0, self.dur)
    }

    /// Events due `tau` seconds into the segment.
    fn count_at(&self, tau: f64) -> f64 {
        self.rate * tau + 0.5 * self.slope * tau * tau
    }
}

#[derive(Default)]
struct Builder {
    segments: Vec<Segment>,
    t: f64,
    n: f64,
}

impl Builder {
    fn push(&mut self, from: f64, to: f64, dur: f64) {
        if dur == 0.0 {
            return;
        }
        let slope = if dur.is_finite() { (to - from) / dur } else { 0.0 };
        let s = Segment { t0: self.t, n0: self.n, rate: from, slope, dur, inv_rate: 1.0 / from };
        self.t += dur;
        self.n += s.events();
        self.segments.push(s);
    }

    fn finish(self, periodic: bool) -> Schedule {
        let period = periodic.then_some((self.t, self.n));
        Schedule { segments: self.segments, period }
    }
}

/// An open-loop arrival schedule: when event `n` is due.
#[derive(Clone, Debug, PartialEq)]
pub struct Schedule {
    segments: Vec<Segment>,
    /// For periodic profiles: the period in seconds and the events due per period.
    period: Option<(f64, f64)>,
}

impl Schedule {
    /// When event `n` (over all partitions) arrives.
    #[inline]
    pub fn arrival(&self, n: u64) -> Time {
        let n = n as f64;
        let (base, x) = match self.period {
            Some((secs, events)) => {
                let k = (n / events).floor();
                (k * secs, n - k * events)
            }
            None => (0.0, n),
        };
        let seg = if self.segments.len() == 1 {
            &self.segments[0]
        } else {
            let i = self.segments.partition_point(|s| s.n0 <= x).saturating_sub(1);
            &self.segments[i]
        };
        let secs = base + seg.t0 + seg.time_of(x - seg.n0);
        (secs * SECOND as f64) as Time
    }

    /// How many events are due strictly before `t`: the number of `n` with `arrival(n) < t`.
    pub fn due_before(&self, t: Time) -> u64 {
        if t <= 0 {
            return 0;
        }
        // An estimate from the cumulative count, corrected against `arrival` itself so that
        // the two always agree exactly.
        let secs = t as f64 / SECOND as f64;
        let mut n = self.count_at(secs).max(0.0) as u64;
        while n > 0 && self.arrival(n - 1) >= t {
            n -= 1;
        }
        while self.arrival(n) < t {
            n += 1;
        }
        n
    }

    fn count_at(&self, secs: f64) -> f64 {
        let (base, t) = match self.period {
            Some((p, events)) => {
                let k = (secs / p).floor();
                (k * events, secs - k * p)
            }
            None => (0.0, secs),
        };
        let i = self.segments.partition_point(|s| s.t0 <= t).saturating_sub(1);
        let s = &self.segments[i];
        base + s.n0 + s.count_at((t - s.t0).min(s.dur))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::time::MILLISECOND;

    fn sched(p: RateProfile) -> Schedule {
        p.schedule().unwrap()
    }

    #[test]
    fn constant_rate_spaces_events_evenly() {
        let s = sched(RateProfile::constant(1000.0));
        assert_eq!(s.arrival(0), 0);
        assert_eq!(s.arrival(1), MILLISECOND);
        assert_eq!(s.arrival(1500), 1_500 * MILLISECOND);
        assert_eq!(s.due_before(SECOND), 1000);
        assert_eq!(s.due_before(SECOND + 1), 1001);
    }

    #[test]
    fn ramp_doubles_the_count_rate() {
        // 0→2000/s over 1 s: N(t) = 1000 t², so event 250 is due at 0.5 s
        let s = sched(RateProfile::Ramp { from: 1e-9, to: 2000.0, over: SECOND, at: 0 });
        let a = s.arrival(250);
        assert!((a - 500 * MILLISECOND).abs() < MILLISECOND / 100, "{a}");
        // after the ramp: 1000 events in the first second, then 2000/s
        let a = s.arrival(3000);
        assert!((a - 2 * SECOND).abs() < MILLISECOND / 100, "{a}");
    }

    #[test]
    fn step_and_burst_counts() {
        let s = sched(RateProfile::Step { from: 100.0, to: 1000.0, at: SECOND });
        assert_eq!(s.due_before(SECOND), 100);
        assert_eq!(s.due_before(2 * SECOND), 1100);
        let b = sched(RateProfile::Burst {
            base: 100.0,
            peak: 1000.0,
            length: 100 * MILLISECOND,
            at: 0,
            every: Some(SECOND),
        });
        // each second: 100 events in the burst, then 90
        assert_eq!(b.due_before(SECOND), 190);
        assert_eq!(b.due_before(10 * SECOND), 1900);
        assert_eq!(b.due_before(10 * SECOND + 100 * MILLISECOND), 2000);
    }

    #[test]
    fn a_single_burst_and_a_late_ramp_start_where_they_say() {
        let b = sched(RateProfile::Burst {
            base: 100.0,
            peak: 1000.0,
            length: SECOND,
            at: 2 * SECOND,
            every: None,
        });
        assert_eq!(b.due_before(2 * SECOND), 200, "the base rate until the burst");
        assert_eq!(b.due_before(3 * SECOND), 1200, "the peak for its length");
        assert_eq!(b.due_before(13 * SECOND), 2200, "then the base for good");
        // a periodic burst in the middle of its period
        let p = RateProfile::Burst {
            base: 100.0,
            peak: 1000.0,
            length: SECOND,
            at: SECOND,
            every: Some(4 * SECOND),
        };
        let s = sched(p);
        assert_eq!(s.due_before(SECOND), 100);
        assert_eq!(s.due_before(2 * SECOND), 1100);
        assert_eq!(s.due_before(4 * SECOND), 1300);
        assert_eq!(s.due_before(6 * SECOND), 2400, "the second period's burst, from 5 s");
        let r = sched(RateProfile::Ramp { from: 100.0, to: 300.0, over: SECOND, at: SECOND });
        assert_eq!(r.due_before(SECOND), 100);
        assert_eq!(r.due_before(2 * SECOND), 300, "the ramp's mean, 200/s, for a second");
        assert_eq!(r.due_before(3 * SECOND), 600);
    }

    #[test]
    fn the_first_change_of_load_is_the_first_to_start_at_or_after_the_time_asked() {
        let burst =
            |every| RateProfile::Burst { base: 1.0, peak: 2.0, length: SECOND, at: 3 * SECOND, every };
        assert_eq!(burst(None).change_from(3 * SECOND), Some((3 * SECOND, 4 * SECOND)));
        assert_eq!(burst(None).change_from(3 * SECOND + 1), None, "a single burst already begun");
        let periodic = burst(Some(10 * SECOND));
        assert_eq!(periodic.change_from(0), Some((3 * SECOND, 4 * SECOND)));
        assert_eq!(periodic.change_from(3 * SECOND), Some((3 * SECOND, 4 * SECOND)));
        assert_eq!(periodic.change_from(3 * SECOND + 1), Some((13 * SECOND, 14 * SECOND)));
        let ramp = RateProfile::Ramp { from: 1.0, to: 3.0, over: SECOND, at: 2 * SECOND };
        assert_eq!(ramp.change_from(2 * SECOND), Some((2 * SECOND, 3 * SECOND)));
        assert_eq!(ramp.peak(), 3.0);
        assert_eq!(RateProfile::constant(5.0).change_from(0), None);
    }

    #[test]
    fn a_burst_must_end_within_its_period() {
        let burst = |at, every| RateProfile::Burst { base: 1.0, peak: 2.0, length: SECOND, at, every };
        assert!(burst(SECOND, Some(2 * SECOND)).validate().is_ok(), "ends as the period does");
        assert!(burst(SECOND + 1, Some(2 * SECOND)).validate().is_err(), "a nanosecond past it");
        assert!(burst(100 * SECOND, None).validate().is_ok(), "a single burst may start any time");
    }

    #[test]
    fn sine_averages_to_its_mean() {
        let s = sched(RateProfile::Sine { mean: 1000.0, amplitude: 500.0, period: SECOND });
        assert_eq!(s.due_before(10 * SECOND), 10_000);
        // more events in the first half period (rate above the mean) than in the second
        let half = s.due_before(SECOND / 2);
        assert!(half > 600, "{half}");
    }

    #[test]
    fn arrivals_never_decrease_and_agree_with_due_before() {
        for p in [
            RateProfile::constant(3333.0),
            RateProfile::Ramp { from: 10.0, to: 5000.0, over: SECOND, at: 0 },
            RateProfile::Burst {
                base: 50.0,
                peak: 4000.0,
                length: 20 * MILLISECOND,
                at: 100 * MILLISECOND,
                every: Some(300 * MILLISECOND),
            },
            RateProfile::Burst {
                base: 50.0,
                peak: 4000.0,
                length: 20 * MILLISECOND,
                at: SECOND,
                every: None,
            },
            RateProfile::Ramp { from: 10.0, to: 5000.0, over: SECOND, at: SECOND / 2 },
            RateProfile::Sine { mean: 2000.0, amplitude: 1999.0, period: 700 * MILLISECOND },
        ] {
            let s = sched(p.clone());
            let mut prev = 0;
            for n in 0..20_000 {
                let a = s.arrival(n);
                assert!(a >= prev, "{p:?}: event {n} at {a} before {prev}");
                prev = a;
            }
            for t in (0..3 * SECOND).step_by(7_777_777) {
                let n = s.due_before(t);
                assert!(n == 0 || s.arrival(n - 1) < t);
                assert!(s.arrival(n) >= t);
            }
        }
    }

    #[test]
    fn invalid_profiles_are_typed_errors() {
        assert_eq!(
            RateProfile::constant(-5.0).validate(),
            Err(WorkloadError::Rate { what: "rate", value: -5.0 })
        );
        assert!(RateProfile::constant(0.0).validate().is_err());
        assert!(RateProfile::constant(f64::NAN).validate().is_err());
        assert!(RateProfile::Sine { mean: 10.0, amplitude: 10.0, period: SECOND }.validate().is_err());
        assert!(
            RateProfile::Burst { base: 1.0, peak: 2.0, length: SECOND, at: 0, every: Some(SECOND) }
                .validate()
                .is_err()
        );
        assert!(RateProfile::Ramp { from: 1.0, to: 2.0, over: 0, at: 0 }.validate().is_err());
    }

    #[test]
    fn profiles_read_from_toml() {
        let p: RateProfile = toml::from_str(
            "profile = \"burst\"\nbase = 1000\npeak = 5000\nevery = \"10s\"\nlength = \"500ms\"",
        )
        .unwrap();
        assert_eq!(
            p,
            RateProfile::Burst {
                base: 1000.0,
                peak: 5000.0,
                length: 500 * MILLISECOND,
                at: 0,
                every: Some(10 * SECOND)
            }
        );
        let e = toml::from_str::<RateProfile>("profile = \"constant\"\nrat = 5").unwrap_err();
        assert!(e.to_string().contains("rat"), "{e}");
    }
}
