//! Results: what a job's sinks receive, and how a result names itself so that the outputs of
//! different engines and runs can be matched exactly.
//!
//! A result has an *identity* (for a window result: its key and window bounds; for a per-record
//! result: the input it came from) and a *value*. An engine may emit several values for one
//! identity — a window that fires again with late input, a running aggregate that updates with
//! every record, a micro-batch that updates once per batch — and the last one is the result.
//!
//! An engine never emits for an identity the value it emitted last for it: an update that
//! changes nothing (a late record below a window's maximum, a running average that stays put)
//! is left out. So every repeated value in an output is a replay — what the correctness check
//! counts as a duplicate ([`crate::check`]).
//! Both are written as text so that every engine, including the JVM ones, writes them alike.

use crate::record::{Data, Key};
use crate::window::Window;
use serde::{Deserialize, Serialize};
use std::any::Any;
use std::fmt::{self, Display, Write};

/// A value a sink can take.
pub trait Output: Data {
    /// Writes the result's identity: what results are matched by across engines and runs.
    fn identity(&self, out: &mut String);
    /// Writes the result's value.
    fn value(&self, out: &mut String);

    /// The identity and value as a pair of strings.
    fn to_line(&self) -> ResultLine {
        // room for a key, a window and a count without growing
        let mut id = String::with_capacity(48);
        let mut value = String::with_capacity(16);
        self.identity(&mut id);
        self.value(&mut value);
        ResultLine { id, value }
    }
}

/// Appends `x` as its `Display` writes it. Integers — the usual keys and counts — go through
/// `itoa`, which costs a fraction of `write!`'s formatting machinery: a sink writes a line per
/// result, a window's whole burst of them at once. (The type test is resolved at compile time.)
#[inline]
pub fn push_display<T: Display + 'static>(out: &mut String, x: &T) {
    let any = x as &dyn Any;
    let mut buf = itoa::Buffer::new();
    let digits = if let Some(v) = any.downcast_ref::<u64>() {
        buf.format(*v)
    } else if let Some(v) = any.downcast_ref::<u32>() {
        buf.format(*v)
    } else if let Some(v) = any.downcast_ref::<i64>() {
        buf.format(*v)
    } else if let Some(v) = any.downcast_ref::<i32>() {
        buf.format(*v)
    } else if let Some(v) = any.downcast_ref::<usize>() {
        buf.format(*v)
    } else {
        let _ = write!(out, "{x}");
        return;
    };
    out.push_str(digits);
}

/// Writes a result as one line of an output file: `<emit time>\t<identity>\t<value>\n`, the
/// format every engine's sink writes and the harness reads.
pub fn write_line<T: Output>(emitted: crate::Time, result: &T, out: &mut String) {
    out.push_str(itoa::Buffer::new().format(emitted));
    out.push('\t');
    result.identity(out);
    out.push('\t');
    result.value(out);
    out.push('\n');
}

/// Writes a result already in text form as one line of an output file (as [`write_line`]).
pub fn write_result_line(emitted: crate::Time, line: &ResultLine, out: &mut String) {
    let _ = writeln!(out, "{emitted}\t{}\t{}", line.id, line.value);
}

/// A committed result as a reader of an engine's output sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Emission {
    /// The sink.
    pub sink: String,
    /// When it was emitted, in log time.
    pub emitted: crate::Time,
    /// Identity and value.
    pub line: ResultLine,
    /// The checkpoint (dataflow) or batch (micro-batch) whose commit made it visible; `None`
    /// for output visible as soon as it was written (at-least-once).
    pub commit: Option<u64>,
}

/// Reads a line written by [`write_line`] (without its newline).
pub fn parse_line(line: &str) -> Option<(crate::Time, ResultLine)> {
    let mut parts = line.splitn(3, '\t');
    let (t, id, value) = (parts.next()?, parts.next()?, parts.next()?);
    Some((t.parse().ok()?, ResultLine { id: id.to_string(), value: value.to_string() }))
}

/// A result as text: identity and value.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ResultLine {
    /// The identity.
    pub id: String,
    /// The value.
    pub value: String,
}

/// The result of a window aggregate: one per key and window.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WindowResult<K, O> {
    /// The key.
    pub key: K,
    /// The window.
    pub window: Window,
    /// The aggregate's result.
    pub value: O,
}

impl<K: Key, O: Data + Display> Output for WindowResult<K, O> {
    fn identity(&self, out: &mut String) {
        push_display(out, &self.key);
        out.push(' ');
        self.window.push_to(out);
    }
    fn value(&self, out: &mut String) {
        push_display(out, &self.value);
    }
}

/// The value of a keyed running aggregate after an update.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Update<K, O> {
    /// The key.
    pub key: K,
    /// The aggregate over every record of the key so far.
    pub value: O,
}

impl<K: Key, O: Data + Display> Output for Update<K, O> {
    fn identity(&self, out: &mut String) {
        push_display(out, &self.key);
    }
    fn value(&self, out: &mut String) {
        push_display(out, &self.value);
    }
}

/// Writes a list as `a,b,c`.
pub struct Joined<'a, T>(pub &'a [T]);

impl<T: Display> Display for Joined<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, x) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_char(',')?;
            }
            write!(f, "{x}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_result_line_reads_back_as_written() {
        let r = WindowResult { key: 7u32, window: Window::new(-10, 0), value: 3u64 };
        for emitted in [0, -1, 1_234_567_890_123, crate::Time::MIN] {
            let mut line = String::from("before\n");
            write_line(emitted, &r, &mut line);
            assert_eq!(line, format!("before\n{emitted}\t7 [-10,0)\t3\n"));
            let (t, parsed) = parse_line(line["before\n".len()..].trim_end()).expect("parses");
            assert_eq!((t, &parsed), (emitted, &r.to_line()));
        }
        assert_eq!(r.to_line(), ResultLine { id: "7 [-10,0)".into(), value: "3".into() });
    }

    #[test]
    fn push_display_writes_what_display_writes() {
        fn same<T: Display + 'static>(x: T) {
            let mut out = String::from("x");
            push_display(&mut out, &x);
            assert_eq!(out, format!("x{x}"));
        }
        for v in [0, 1, u64::MAX] {
            same(v);
        }
        for v in [0, 9, u32::MAX] {
            same(v);
        }
        for v in [i64::MIN, -1, 0, i64::MAX] {
            same(v);
        }
        for v in [i32::MIN, -7, i32::MAX] {
            same(v);
        }
        same(usize::MAX);
        same(-3i16);
        same(2.5f64);
        same("text");
        same(String::from("owned"));
        same(Joined(&[1, 2, 3]));
    }
}
