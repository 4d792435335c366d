//! The micro-batch engine's durable logs, as Structured Streaming keeps them:
//!
//! ```text
//! <checkpoints>/offsets/<batch>            write-ahead: a batch's offset ranges and watermark
//! <checkpoints>/commits/<batch>            written after its output and state: it is done
//! <checkpoints>/state/<op>/<part>/<batch>.delta      what the batch changed
//! <checkpoints>/state/<op>/<part>/<batch>.snapshot   the whole state after the batch
//! <output>/<sink>.<batch>                  a batch's results; a re-run replaces it
//! ```
//!
//! Every file is checksummed and written atomically (`flowmark_core::durable`).

use crate::error::EngineError;
use crate::ops::Stateful;
use flowmark_core::durable::{Disk, DurableError, decode, encode, frame, read_framed};
use flowmark_core::{ReaderPosition, Time};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A batch's entry in the offset log, written before it runs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OffsetEntry {
    /// The batch.
    pub batch: u64,
    /// When it was cut, log time.
    pub cut: Time,
    /// The watermark its operators fire by.
    pub wm: Time,
    /// Whether it is the last batch (the input is exhausted; every window fires).
    pub last: bool,
    /// Per partition: where it starts and the offset it reads up to.
    pub ranges: Vec<(u32, ReaderPosition, u64)>,
}

/// A batch's entry in the commit log, written once its output and state are durable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommitEntry {
    /// The batch.
    pub batch: u64,
    /// Where each partition's reading ended: the next batch starts there.
    pub ends: Vec<(u32, ReaderPosition)>,
    /// Late records dropped by this batch and all before it: (events, (record, window)
    /// pairs). Recovery starts counting from the entry of the state version it restored.
    pub late: (u64, u64),
}

/// A partition's state as far as its files can rebuild it.
#[derive(Debug)]
pub struct Restorable {
    /// The version they reach.
    pub version: u64,
    /// The snapshot to start from (empty state for none).
    pub snapshot: Option<Vec<u8>>,
    /// The deltas after it, in order.
    pub deltas: Vec<Vec<u8>>,
}

/// The logs of one run.
#[derive(Clone, Debug)]
pub struct Logs {
    root: PathBuf,
    output: PathBuf,
    disk: Arc<Disk>,
}

fn numbered(dir: &Path) -> Result<Vec<u64>, EngineError> {
    let mut ids = Vec::new();
    if !dir.exists() {
        return Ok(ids);
    }
    for e in std::fs::read_dir(dir).map_err(DurableError::io("list", dir))? {
        let e = e.map_err(DurableError::io("list", dir))?;
        if let Some(id) = e.file_name().to_str().and_then(|n| n.parse().ok()) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

impl Logs {
    /// The logs under `root`, results under `output`.
    pub fn new(root: &Path, output: &Path) -> Result<Self, EngineError> {
        for d in [root.join("offsets"), root.join("commits"), root.join("state"), output.to_path_buf()] {
            std::fs::create_dir_all(&d).map_err(DurableError::io("create", &d))?;
        }
        Ok(Logs { root: root.to_path_buf(), output: output.to_path_buf(), disk: Arc::default() })
    }

    fn entry(&self, log: &str, batch: u64) -> PathBuf {
        self.root.join(log).join(format!("{batch:010}"))
    }

    fn state_dir(&self, op: u32, part: usize) -> PathBuf {
        self.root.join("state").join(op.to_string()).join(part.to_string())
    }

    /// The same logs, written on `disk` (with the storage faults it injects).
    pub fn on(self, disk: Disk) -> Self {
        Logs { disk: Arc::new(disk), ..self }
    }

    fn write<T: Serialize>(&self, path: &Path, value: &T) -> Result<(), EngineError> {
        Ok(self.disk.write(path, &frame(&encode(value)))?)
    }

    fn read<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, DurableError> {
        decode(path, &read_framed(path)?)
    }

    /// Writes a batch's offsets, before it runs.
    pub fn write_offsets(&self, e: &OffsetEntry) -> Result<(), EngineError> {
        self.write(&self.entry("offsets", e.batch), e)
    }

    /// The offsets of a batch, if it was logged (and the entry verifies).
    pub fn offsets(&self, batch: u64) -> Result<Option<OffsetEntry>, EngineError> {
        let path = self.entry("offsets", batch);
        if !path.exists() {
            return Ok(None);
        }
        Ok(Some(Self::read(&path)?))
    }

    /// Marks a batch done.
    pub fn write_commit(&self, e: &CommitEntry) -> Result<(), EngineError> {
        self.write(&self.entry("commits", e.batch), e)
    }

    /// The commit entry of `batch`, if it was written and verifies.
    pub fn commit(&self, batch: u64) -> Option<CommitEntry> {
        Self::read(&self.entry("commits", batch)).ok()
    }

    /// The newest batch whose commit entry verifies; a corrupt entry is passed over (its batch
    /// runs again).
    pub fn last_commit(
        &self,
        mut skipped: impl FnMut(&DurableError),
    ) -> Result<Option<CommitEntry>, EngineError> {
        for batch in numbered(&self.root.join("commits"))?.into_iter().rev() {
            match Self::read::<CommitEntry>(&self.entry("commits", batch)) {
                Ok(e) => return Ok(Some(e)),
                Err(e) => skipped(&e),
            }
        }
        Ok(None)
    }

    /// Writes a batch's results for one sink (replacing those of an earlier run of the batch).
    pub fn write_output(&self, sink: &str, batch: u64, lines: &[u8]) -> Result<(), EngineError> {
        Ok(self.disk.write(&self.output.join(format!("{sink}.{batch:010}")), lines)?)
    }

    /// Writes a partition's delta (and, every so often, snapshot) of `op` after `batch`.
    pub fn write_state(
        &self,
        op: &dyn Stateful,
        part: usize,
        batch: u64,
        snapshot: bool,
    ) -> Result<u64, EngineError> {
        let dir = self.state_dir(op.id(), part);
        std::fs::create_dir_all(&dir).map_err(DurableError::io("create", &dir))?;
        let delta = frame(&op.take_delta(part));
        self.disk.write(&dir.join(format!("{batch:010}.delta")), &delta)?;
        let mut bytes = delta.len() as u64;
        if snapshot {
            let snap = frame(&op.snapshot(part));
            bytes += snap.len() as u64;
            self.disk.write(&dir.join(format!("{batch:010}.snapshot")), &snap)?;
        }
        Ok(bytes)
    }

    /// The newest version up to `upto` that a partition's state can be restored to: from the
    /// newest snapshot that verifies (or empty state), through deltas that all verify.
    pub fn restorable(
        &self,
        op: u32,
        part: usize,
        upto: u64,
        mut skipped: impl FnMut(&DurableError),
    ) -> Result<Restorable, EngineError> {
        let dir = self.state_dir(op, part);
        let mut snapshots: Vec<u64> = Vec::new();
        if dir.exists() {
            for e in std::fs::read_dir(&dir).map_err(DurableError::io("list", &dir))? {
                let e = e.map_err(DurableError::io("list", &dir))?;
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(v) = name.strip_suffix(".snapshot").and_then(|v| v.parse().ok())
                    && v <= upto
                {
                    snapshots.push(v);
                }
            }
        }
        snapshots.sort_unstable();
        let mut base = (0, None);
        for v in snapshots.into_iter().rev() {
            match read_framed(&dir.join(format!("{v:010}.snapshot"))) {
                Ok(bytes) => {
                    base = (v, Some(bytes));
                    break;
                }
                Err(e) => skipped(&e),
            }
        }
        let (mut version, snapshot) = base;
        let mut deltas = Vec::new();
        while version < upto {
            match read_framed(&dir.join(format!("{:010}.delta", version + 1))) {
                Ok(d) => {
                    deltas.push(d);
                    version += 1;
                }
                Err(e) => {
                    skipped(&e);
                    break;
                }
            }
        }
        Ok(Restorable { version, snapshot, deltas })
    }

    /// Restores a partition's state to exactly `version`.
    pub fn restore(&self, op: &dyn Stateful, part: usize, version: u64) -> Result<(), EngineError> {
        let Restorable { version: reached, snapshot, deltas } =
            self.restorable(op.id(), part, version, |_| {})?;
        if reached < version {
            return Err(EngineError::Inconsistent {
                dir: self.state_dir(op.id(), part),
                reason: format!("state version {version} cannot be rebuilt (the files reach {reached})"),
            });
        }
        op.restore(part, snapshot.as_deref(), &deltas).map_err(|e| EngineError::Inconsistent {
            dir: self.state_dir(op.id(), part),
            reason: e.to_string(),
        })
    }

    /// Removes state files no restore to a version from `keep_from` on needs.
    pub fn prune_state(&self, op: u32, part: usize, keep_from: u64) -> Result<(), EngineError> {
        let dir = self.state_dir(op, part);
        for e in std::fs::read_dir(&dir).map_err(DurableError::io("list", &dir))? {
            let e = e.map_err(DurableError::io("list", &dir))?;
            let name = e.file_name().to_string_lossy().into_owned();
            let v: Option<u64> = name.split('.').next().and_then(|v| v.parse().ok());
            if v.is_some_and(|v| v < keep_from) {
                std::fs::remove_file(e.path()).map_err(DurableError::io("remove", e.path()))?;
            }
        }
        Ok(())
    }
}

/// A result as a reader sees it.
pub use flowmark_core::output::parse_line;

/// Every result of the batches committed so far, in batch order: (sink, emit time, line).
pub fn read_committed(
    checkpoints: &Path,
    output: &Path,
) -> Result<Vec<flowmark_core::output::Emission>, EngineError> {
    let logs = Logs::new(checkpoints, output)?;
    let last = logs.last_commit(|_| {})?.map_or(0, |c| c.batch);
    let mut files: Vec<(u64, String)> = Vec::new();
    for e in std::fs::read_dir(output).map_err(DurableError::io("list", output))? {
        let e = e.map_err(DurableError::io("list", output))?;
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some((_, b)) = name.rsplit_once('.')
            && let Ok(b) = b.parse::<u64>()
            && b <= last
        {
            files.push((b, name));
        }
    }
    files.sort();
    let mut out = Vec::new();
    for (batch, name) in files {
        let path = output.join(&name);
        let text = std::fs::read_to_string(&path).map_err(DurableError::io("read", &path))?;
        let sink = name.rsplit_once('.').map(|(s, _)| s.to_string()).unwrap_or_default();
        for line in text.lines() {
            let (t, l) = parse_line(line).ok_or_else(|| DurableError::Corrupt {
                path: path.clone(),
                reason: format!("`{line}` is not a result line"),
            })?;
            out.push(flowmark_core::output::Emission {
                sink: sink.clone(),
                emitted: t,
                line: l,
                commit: Some(batch),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Fuzzing the offset and commit logs: an entry of random bytes, or a verifying frame
        /// of a random payload, is an error naming its file (the offset log), or passed over
        /// (the commit log: its batch runs again) — never a panic, never an entry.
        #[test]
        fn damaged_log_entries_are_named_or_passed_over(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            framed in any::<bool>(),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let logs = Logs::new(&dir.path().join("logs"), &dir.path().join("out")).unwrap();
            let content = if framed { frame(&bytes) } else { bytes.clone() };
            let entry = logs.entry("offsets", 3);
            std::fs::write(&entry, &content).unwrap();
            if logs.offsets(3).is_ok() {
                // a verifying frame's random payload may happen to decode as an entry
                prop_assert!(framed);
            } else {
                let e = logs.offsets(3).unwrap_err().to_string();
                prop_assert!(e.contains(&entry.display().to_string()), "{}", e);
            }
            std::fs::write(logs.entry("commits", 3), &content).unwrap();
            let mut skipped = 0;
            let last = logs.last_commit(|_| skipped += 1).unwrap();
            prop_assert_eq!(last.is_none(), skipped == 1);
        }
    }
}
