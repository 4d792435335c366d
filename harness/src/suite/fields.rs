//! The pieces suite tables are made of: durations with their place in the file, and errors
//! that name the file, the line and the field.

use flowmark_core::Time;
use serde::{Deserialize, Deserializer};
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A suite file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SuiteError {
    /// The file.
    pub file: PathBuf,
    /// The line (1-based; 0 when the error has no place in the file).
    pub line: usize,
    /// What is wrong, naming the field.
    pub message: String,
}

/// Places errors in a suite file's text.
#[derive(Clone, Copy)]
pub struct Locate<'a> {
    file: &'a Path,
    text: &'a str,
}

impl<'a> Locate<'a> {
    /// Errors in `text`, the contents of `file`.
    pub fn new(file: &'a Path, text: &'a str) -> Self {
        Locate { file, text }
    }

    /// An error at byte offset `span.start` of the text.
    pub fn at(&self, span: Range<usize>, message: impl Into<String>) -> SuiteError {
        SuiteError { file: self.file.to_path_buf(), line: self.line(span.start), message: message.into() }
    }

    /// The 1-based line of a byte offset.
    pub fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }

    /// An error when any value of a list setting is zero or the list is empty.
    pub fn at_least_one(&self, name: &str, values: &Spanned<Vec<usize>>) -> Result<(), SuiteError> {
        if values.get_ref().is_empty() || values.get_ref().contains(&0) {
            return Err(self.at(values.span(), format!("`{name}` must list values of at least 1")));
        }
        Ok(())
    }

    /// An error when a list setting is empty.
    pub fn listed<T>(&self, name: &str, values: &Spanned<Vec<T>>) -> Result<(), SuiteError> {
        if values.get_ref().is_empty() {
            return Err(self.at(values.span(), format!("`{name}` must list at least one value")));
        }
        Ok(())
    }

    /// An error when a list of durations is empty or holds one that is not positive.
    pub fn positive(&self, name: &str, values: &Spanned<Vec<Time>>) -> Result<(), SuiteError> {
        if values.get_ref().is_empty() || values.get_ref().iter().any(|t| *t <= 0) {
            return Err(self.at(values.span(), format!("`{name}` must list positive intervals")));
        }
        Ok(())
    }

    /// An error when a count is above `most`.
    pub fn at_most(&self, name: &str, value: &Spanned<u32>, most: u32) -> Result<(), SuiteError> {
        if *value.get_ref() > most {
            return Err(self.at(value.span(), format!("`{name}` is {}: at most {most}", value.get_ref())));
        }
        Ok(())
    }

    /// An error when an optional text setting is given but blank.
    pub fn not_blank(&self, name: &str, value: &Option<Spanned<String>>) -> Result<(), SuiteError> {
        match value {
            Some(v) if v.get_ref().trim().is_empty() => Err(self.at(v.span(), format!("`{name}` is empty"))),
            _ => Ok(()),
        }
    }
}

/// A spanned value as a default (it has no place in the file).
pub fn unplaced<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

#[derive(Deserialize)]
struct Duration(#[serde(with = "flowmark_core::time::duration")] Time);

/// A duration (`"200ms"`) with its place in the file.
pub mod spanned_duration {
    use super::*;

    /// Deserializes it.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<Time>, D::Error> {
        let s = Spanned::<Duration>::deserialize(d)?;
        Ok(Spanned::new(s.span(), s.into_inner().0))
    }
}

/// A list of durations.
pub mod durations {
    use super::*;

    /// Deserializes it.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Time>, D::Error> {
        Ok(Vec::<Duration>::deserialize(d)?.into_iter().map(|w| w.0).collect())
    }
}

/// A list of intervals, each a duration or `"off"`, with its place in the file.
pub mod spanned_intervals {
    use super::*;

    #[derive(Deserialize)]
    struct Interval(#[serde(with = "flowmark_core::time::interval_or_off")] Option<Time>);

    /// Deserializes it.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<Vec<Option<Time>>>, D::Error> {
        let s = Spanned::<Vec<Interval>>::deserialize(d)?;
        Ok(Spanned::new(s.span(), s.into_inner().into_iter().map(|w| w.0).collect()))
    }
}

/// A list of durations with its place in the file.
pub mod spanned_durations {
    use super::*;

    /// Deserializes it.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Spanned<Vec<Time>>, D::Error> {
        let s = Spanned::<Vec<Duration>>::deserialize(d)?;
        Ok(Spanned::new(s.span(), s.into_inner().into_iter().map(|w| w.0).collect()))
    }
}

/// An engine's settings in a suite file: one table (`[dataflow]`), each setting a list and
/// every combination a configuration — or several (`[[dataflow]]`), whose configurations are
/// the union of each one's (so that a suite can vary one setting at a time instead of trying
/// every combination).
#[derive(Clone, Debug)]
pub struct Tables<T>(pub Vec<T>);

impl<T: Default> Default for Tables<T> {
    fn default() -> Self {
        Tables(vec![T::default()])
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Tables<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::{MapAccess, SeqAccess, Visitor, value::MapAccessDeserializer};
        struct OneOrMany<T>(std::marker::PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for OneOrMany<T> {
            type Value = Tables<T>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a table of settings, or an array of them")
            }
            fn visit_map<M: MapAccess<'de>>(self, map: M) -> Result<Tables<T>, M::Error> {
                Ok(Tables(vec![T::deserialize(MapAccessDeserializer::new(map))?]))
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Tables<T>, S::Error> {
                let mut all = Vec::new();
                while let Some(t) = seq.next_element()? {
                    all.push(t);
                }
                Ok(Tables(all))
            }
        }
        d.deserialize_any(OneOrMany(std::marker::PhantomData))
    }
}
