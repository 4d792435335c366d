//! `rates`: the load each run offers — a constant rate, or a profile over time (a ramp, a step,
//! a burst, a sine) — in events per second or as a multiple of the sustainable rate the suite's
//! `[throughput]` search finds for the run's configuration and workload (`"0.5x"`).
//!
//! A profile's times are measured from the start of the measured period, like a failure's:
//! `{ profile = "burst", base = "0.5x", peak = "1.5x", at = "5s", length = "5s" }` offers half
//! the sustainable rate, then one and a half times it for five seconds from five seconds into
//! the measured period, then half again.

use flowmark_core::Time;
use flowmark_core::time::duration;
use flowmark_workloads::RateProfile;
use serde::{Deserialize, Deserializer};

/// A rate as a suite gives it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Level {
    /// Events per second.
    Absolute(f64),
    /// A multiple of the sustainable rate of the run's configuration on its workload.
    Sustainable(f64),
}

impl Level {
    /// Events per second, given the sustainable rate (`None` when unknown: a relative level
    /// then has none).
    pub fn at(&self, sustainable: Option<f64>) -> Option<f64> {
        match *self {
            Level::Absolute(r) => Some(r),
            Level::Sustainable(x) => sustainable.map(|s| (x * s).round()),
        }
    }

    /// As run ids show it: `1000000`, `0.5x`.
    fn label(&self) -> String {
        match self {
            Level::Absolute(r) => format!("{r}"),
            Level::Sustainable(x) => format!("{x}x"),
        }
    }

    fn relative(&self) -> bool {
        matches!(self, Level::Sustainable(_))
    }

    /// Reads `1000000` or `"0.5x"`.
    fn read(value: &toml::Value) -> Result<Level, String> {
        let level = match value {
            toml::Value::Integer(n) => Level::Absolute(*n as f64),
            toml::Value::Float(f) => Level::Absolute(*f),
            toml::Value::String(s) => match s.trim().strip_suffix('x').map(|x| x.trim().parse::<f64>()) {
                Some(Ok(x)) => Level::Sustainable(x),
                _ => {
                    return Err(format!(
                        "`{s}` is not a rate: give events per second (1000000) or a multiple of the sustainable rate (\"0.5x\")"
                    ));
                }
            },
            other => {
                return Err(format!(
                    "{other} is not a rate: give events per second (1000000) or a multiple of the sustainable rate (\"0.5x\")"
                ));
            }
        };
        let (Level::Absolute(v) | Level::Sustainable(v)) = level;
        if !(v.is_finite() && v > 0.0) {
            return Err(format!("rates must be positive, got {}", level.label()));
        }
        Ok(level)
    }
}

impl<'de> Deserialize<'de> for Level {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Level::read(&toml::Value::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// A profile over time; its times count from the start of the measured period.
#[derive(Clone, Debug, PartialEq, Deserialize)]
#[serde(tag = "profile", rename_all = "snake_case", deny_unknown_fields)]
pub enum Profile {
    /// `from` until `at`, then linearly to `to` over `over`, then `to`.
    Ramp {
        /// Its name in run ids (by default made of its kind and rates).
        name: Option<String>,
        /// The rate before.
        from: Level,
        /// The rate after.
        to: Level,
        /// How long the ramp takes.
        #[serde(with = "duration")]
        over: Time,
        /// When it starts (0: with the measured period).
        #[serde(default, with = "duration")]
        at: Time,
    },
    /// `from` until `at`, then `to`.
    Step {
        /// Its name in run ids.
        name: Option<String>,
        /// The rate before.
        from: Level,
        /// The rate after.
        to: Level,
        /// When it changes.
        #[serde(with = "duration")]
        at: Time,
    },
    /// `base`, with a burst at `peak` for `length` from `at` (and every `every` after, when
    /// given).
    Burst {
        /// Its name in run ids.
        name: Option<String>,
        /// The rate between bursts.
        base: Level,
        /// The rate during a burst.
        peak: Level,
        /// How long a burst lasts.
        #[serde(with = "duration")]
        length: Time,
        /// When the first burst starts.
        #[serde(default, with = "duration")]
        at: Time,
        /// The period of the bursts; one burst when left out.
        #[serde(default, with = "flowmark_core::time::optional_duration")]
        every: Option<Time>,
    },
    /// `mean + amplitude · sin(2π t / period)`.
    Sine {
        /// Its name in run ids.
        name: Option<String>,
        /// The mean rate.
        mean: Level,
        /// The amplitude (a rate).
        amplitude: Level,
        /// The period.
        #[serde(with = "duration")]
        period: Time,
    },
}

impl Profile {
    fn levels(&self) -> Vec<Level> {
        match self {
            Profile::Ramp { from, to, .. } | Profile::Step { from, to, .. } => vec![*from, *to],
            Profile::Burst { base, peak, .. } => vec![*base, *peak],
            Profile::Sine { mean, amplitude, .. } => vec![*mean, *amplitude],
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Profile::Ramp { .. } => "ramp",
            Profile::Step { .. } => "step",
            Profile::Burst { .. } => "burst",
            Profile::Sine { .. } => "sine",
        }
    }

    fn name(&self) -> Option<&String> {
        match self {
            Profile::Ramp { name, .. }
            | Profile::Step { name, .. }
            | Profile::Burst { name, .. }
            | Profile::Sine { name, .. } => name.as_ref(),
        }
    }
}

/// One `rates` entry.
#[derive(Clone, Debug, PartialEq)]
pub enum Offered {
    /// The same rate throughout.
    Constant(Level),
    /// A rate that changes.
    Profile(Profile),
}

impl Offered {
    /// Reads a `rates` entry — a number, a multiple (`"0.5x"`) or a profile table — for runs
    /// with a warm-up of `warmup`. The error says what is wrong with it.
    pub fn read(value: &toml::Value, warmup: Time) -> Result<Offered, String> {
        let offered = match value {
            toml::Value::Table(_) => {
                let profile: Profile = value
                    .clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| format!("rate profile: {}", e.message().trim_end()))?;
                if let Some(name) = profile.name()
                    && (name.is_empty() || name.contains(['/', ' ']))
                {
                    return Err(format!(
                        "rate profile name `{name}` must be non-empty, without slashes or spaces"
                    ));
                }
                Offered::Profile(profile)
            }
            other => Offered::Constant(Level::read(other)?),
        };
        // the profile itself must hold (a burst within its period, an amplitude below the
        // mean) whatever the sustainable rate turns out to be
        if let Some(profile) = offered.resolve(warmup, Some(1e6)) {
            profile.validate().map_err(|e| e.to_string())?;
        }
        Ok(offered)
    }

    /// The name in run ids: the rate for a constant one (as before profiles existed), the
    /// profile's name or its kind and rates.
    pub fn label(&self) -> String {
        match self {
            Offered::Constant(level) => level.label(),
            Offered::Profile(p) => p.name().cloned().unwrap_or_else(|| {
                let levels: Vec<String> = p.levels().iter().map(Level::label).collect();
                format!("{}-{}", p.kind(), levels.join("-"))
            }),
        }
    }

    /// Whether a rate is a multiple of the sustainable rate.
    pub fn relative(&self) -> bool {
        match self {
            Offered::Constant(level) => level.relative(),
            Offered::Profile(p) => p.levels().iter().any(Level::relative),
        }
    }

    /// The log's rate profile, for a run whose measured period starts at `warmup`, given the
    /// sustainable rate; `None` when a level is relative and the rate is unknown.
    pub fn resolve(&self, warmup: Time, sustainable: Option<f64>) -> Option<RateProfile> {
        let r = |l: &Level| l.at(sustainable);
        Some(match self {
            Offered::Constant(level) => RateProfile::Constant { rate: r(level)? },
            Offered::Profile(Profile::Ramp { from, to, over, at, .. }) => {
                RateProfile::Ramp { from: r(from)?, to: r(to)?, over: *over, at: warmup + at }
            }
            Offered::Profile(Profile::Step { from, to, at, .. }) => {
                RateProfile::Step { from: r(from)?, to: r(to)?, at: warmup + at }
            }
            Offered::Profile(Profile::Burst { base, peak, length, at, every, .. }) => {
                // a periodic burst keeps its phase: the first at `at` into the measured period
                let first = warmup + at;
                let at = every.map_or(first, |every| first.rem_euclid(every));
                RateProfile::Burst { base: r(base)?, peak: r(peak)?, length: *length, at, every: *every }
            }
            Offered::Profile(Profile::Sine { mean, amplitude, period, .. }) => {
                RateProfile::Sine { mean: r(mean)?, amplitude: r(amplitude)?, period: *period }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowmark_core::time::SECOND;

    fn read(text: &str) -> Result<Offered, String> {
        let v: toml::Table = toml::from_str(&format!("r = {text}")).unwrap();
        Offered::read(&v["r"], 0)
    }

    #[test]
    fn constant_rates_keep_their_labels_and_multiples_are_relative() {
        let c = read("1000000").unwrap();
        assert_eq!((c.label(), c.relative()), ("1000000".to_string(), false));
        assert_eq!(c.resolve(SECOND, None), Some(RateProfile::constant(1e6)));
        let x = read("\"0.5x\"").unwrap();
        assert_eq!((x.label(), x.relative()), ("0.5x".to_string(), true));
        assert_eq!(x.resolve(0, None), None, "unknown until the search has run");
        assert_eq!(x.resolve(0, Some(3e6)), Some(RateProfile::constant(1.5e6)));
    }

    #[test]
    fn each_profile_kind_reads_into_its_schedule_in_log_time() {
        let w = 2 * SECOND;
        let burst =
            read(r#"{ profile = "burst", base = "0.5x", peak = "1.5x", at = "5s", length = "5s" }"#).unwrap();
        assert_eq!(burst.label(), "burst-0.5x-1.5x");
        assert_eq!(
            burst.resolve(w, Some(2e6)),
            Some(RateProfile::Burst {
                base: 1e6,
                peak: 3e6,
                length: 5 * SECOND,
                at: 7 * SECOND,
                every: None
            })
        );
        let periodic =
            read(r#"{ profile = "burst", base = 10, peak = 20, at = "1s", length = "1s", every = "4s" }"#)
                .unwrap();
        assert_eq!(
            periodic.resolve(w, None),
            Some(RateProfile::Burst {
                base: 10.0,
                peak: 20.0,
                length: SECOND,
                at: 3 * SECOND,
                every: Some(4 * SECOND)
            }),
            "the first burst 1 s into the measured period, 3 s into the log"
        );
        let ramp = read(r#"{ profile = "ramp", name = "up", from = 100, to = 300, over = "10s" }"#).unwrap();
        assert_eq!(ramp.label(), "up");
        assert_eq!(
            ramp.resolve(w, None),
            Some(RateProfile::Ramp { from: 100.0, to: 300.0, over: 10 * SECOND, at: w })
        );
        let step = read(r#"{ profile = "step", from = 100, to = "2x", at = "3s" }"#).unwrap();
        assert_eq!(
            step.resolve(w, Some(50.0)),
            Some(RateProfile::Step { from: 100.0, to: 100.0, at: 5 * SECOND })
        );
        let sine = read(r#"{ profile = "sine", mean = "1x", amplitude = "0.5x", period = "10s" }"#).unwrap();
        assert_eq!(
            sine.resolve(w, Some(10.0)),
            Some(RateProfile::Sine { mean: 10.0, amplitude: 5.0, period: 10 * SECOND })
        );
    }

    #[test]
    fn bad_rates_and_profiles_say_what_is_wrong() {
        let e = read("\"half\"").unwrap_err();
        assert!(e.contains("`half` is not a rate"), "{e}");
        assert!(read("-5").unwrap_err().contains("positive"));
        assert!(read("\"0x\"").unwrap_err().contains("positive"));
        let e = read(r#"{ profile = "burst", base = 1, peak = 2, lenght = "1s" }"#).unwrap_err();
        assert!(e.contains("lenght"), "{e}");
        let e = read(r#"{ profile = "wave", mean = 1 }"#).unwrap_err();
        assert!(e.contains("wave"), "{e}");
        let e = read(r#"{ profile = "sine", mean = 10, amplitude = 10, period = "1s" }"#).unwrap_err();
        assert!(e.contains("amplitude"), "{e}");
        let e = read(r#"{ profile = "burst", base = 1, peak = 2, at = "3s", length = "2s", every = "4s" }"#)
            .unwrap_err();
        assert!(e.contains("within its period"), "{e}");
        let e = read(r#"{ profile = "step", name = "a/b", from = 1, to = 2, at = "1s" }"#).unwrap_err();
        assert!(e.contains("a/b"), "{e}");
    }
}
