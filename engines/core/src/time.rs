//! Time on the log's clock.
//!
//! Every instant in flowmark — an event's event time, its arrival time, a watermark, a window
//! bound — is a [`Time`]: signed nanoseconds since the start of the run's arrival schedule
//! (log time 0). The harness maps log time onto the monotonic clock it shares with the engine
//! process, so `emit − due` is a plain subtraction.

/// An instant or a duration on the log's clock, in nanoseconds.
pub type Time = i64;

/// One nanosecond.
pub const NANOSECOND: Time = 1;
/// One microsecond.
pub const MICROSECOND: Time = 1_000;
/// One millisecond.
pub const MILLISECOND: Time = 1_000_000;
/// One second.
pub const SECOND: Time = 1_000_000_000;

/// The watermark before anything is known: every event is ahead of it.
pub const MIN_WATERMARK: Time = Time::MIN;
/// The watermark at the end of a bounded input: every window fires.
pub const MAX_WATERMARK: Time = Time::MAX;

/// Formats a duration for people: `1.5s`, `250ms`, `40µs`, `12ns`.
pub fn human(t: Time) -> String {
    let a = t.unsigned_abs();
    let sign = if t < 0 { "-" } else { "" };
    if a >= SECOND as u64 {
        format!("{sign}{}s", trim(a as f64 / SECOND as f64))
    } else if a >= MILLISECOND as u64 {
        format!("{sign}{}ms", trim(a as f64 / MILLISECOND as f64))
    } else if a >= MICROSECOND as u64 {
        format!("{sign}{}µs", trim(a as f64 / MICROSECOND as f64))
    } else {
        format!("{sign}{a}ns")
    }
}

fn trim(x: f64) -> String {
    let s = format!("{x:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(1_500 * MILLISECOND), "1.5s");
        assert_eq!(human(250 * MILLISECOND), "250ms");
        assert_eq!(human(40 * MICROSECOND), "40µs");
        assert_eq!(human(-12), "-12ns");
    }
}

/// An optional interval in configuration files: a duration, or `"off"` for none (a setting
/// that can be turned off, like checkpointing). Use with
/// `#[serde(with = "…::interval_or_off")]` on an `Option<Time>`.
pub mod interval_or_off {
    use super::Time;
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes `"off"` or the duration.
    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            None => s.serialize_str("off"),
            Some(t) => super::duration::serialize(t, s),
        }
    }

    /// Reads `"off"` or a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        use super::duration::Written;
        match Written::deserialize(d)? {
            Written::Int(n) => Ok(Some(n)),
            Written::Text(s) if s.trim() == "off" => Ok(None),
            Written::Text(s) => super::duration::parse(&s)
                .map(Some)
                .map_err(|e| serde::de::Error::custom(format!("{e}, or \"off\""))),
        }
    }
}

/// An optional duration in configuration files, left out for none. Use with
/// `#[serde(default, with = "…::optional_duration")]` on an `Option<Time>`.
pub mod optional_duration {
    use super::Time;
    use serde::{Deserializer, Serializer};

    /// Writes the duration (a field that is `None` is skipped by its
    /// `skip_serializing_if`, or written as a unit).
    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            None => s.serialize_none(),
            Some(t) => super::duration::serialize(t, s),
        }
    }

    /// Reads a duration.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        super::duration::deserialize(d).map(Some)
    }
}

/// Durations in configuration files: either a whole number of nanoseconds or a string with a
/// unit — `"250ms"`, `"1.5s"`, `"40us"`, `"2m"`. Use with `#[serde(with = "…::duration")]`.
pub mod duration {
    use super::{MICROSECOND, MILLISECOND, SECOND, Time};
    use serde::{Deserialize, Deserializer, Serializer, de};

    /// A duration that cannot be read.
    #[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
    pub enum DurationError {
        /// No number before the unit.
        #[error("`{0}` is not a duration: expected a number and a unit, like 250ms")]
        NotANumber(String),
        /// A unit that is not one of ns, us, ms, s, m, h.
        #[error("`{text}` has unknown unit `{unit}`: use ns, us, ms, s, m or h")]
        UnknownUnit {
            /// The duration as written.
            text: String,
            /// Its unit.
            unit: String,
        },
        /// More nanoseconds than a [`Time`] holds.
        #[error("`{0}` is out of range")]
        OutOfRange(String),
    }

    /// Parses `"250ms"`-style durations.
    pub fn parse(s: &str) -> Result<Time, DurationError> {
        let s = s.trim();
        let split = s.find(|c: char| c.is_ascii_alphabetic() || c == 'µ').unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let value: f64 = num.trim().parse().map_err(|_| DurationError::NotANumber(s.to_string()))?;
        let scale = match unit.trim() {
            "ns" => 1.0,
            "us" | "µs" => MICROSECOND as f64,
            "ms" => MILLISECOND as f64,
            "s" | "" => SECOND as f64,
            "m" | "min" => 60.0 * SECOND as f64,
            "h" => 3600.0 * SECOND as f64,
            u => {
                return Err(DurationError::UnknownUnit { text: s.to_string(), unit: u.to_string() });
            }
        };
        let ns = value * scale;
        if !ns.is_finite() || ns.abs() > i64::MAX as f64 {
            return Err(DurationError::OutOfRange(s.to_string()));
        }
        Ok(ns.round() as Time)
    }

    /// Writes a duration as a string with a unit.
    pub fn serialize<S: Serializer>(t: &Time, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::human(*t))
    }

    /// Reads a duration from a string with a unit or a number of nanoseconds.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Time, D::Error> {
        match Written::deserialize(d)? {
            Written::Int(n) => Ok(n),
            Written::Text(s) => parse(&s).map_err(de::Error::custom),
        }
    }

    /// A duration as a file holds it, before it is read.
    #[derive(Deserialize)]
    #[serde(untagged)]
    pub(super) enum Written {
        /// Nanoseconds.
        Int(i64),
        /// A number and a unit.
        Text(String),
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn parses_units_and_round_trips() {
            assert_eq!(parse("250ms"), Ok(250 * MILLISECOND));
            assert_eq!(parse("1.5s"), Ok(1_500 * MILLISECOND));
            assert_eq!(parse("40us"), Ok(40 * MICROSECOND));
            assert_eq!(parse("2m"), Ok(120 * SECOND));
            assert_eq!(parse("fast"), Err(DurationError::NotANumber("fast".into())));
            assert_eq!(
                parse("3 weeks"),
                Err(DurationError::UnknownUnit { text: "3 weeks".into(), unit: "weeks".into() })
            );
            assert!(parse("3 weeks").unwrap_err().to_string().contains("unknown unit `weeks`"));
            assert_eq!(parse("99999999999999h"), Err(DurationError::OutOfRange("99999999999999h".into())));
            for t in [1, 999, 40 * MICROSECOND, 250 * MILLISECOND, 1_500 * MILLISECOND] {
                assert_eq!(parse(&super::super::human(t)), Ok(t));
            }
        }
    }
}
