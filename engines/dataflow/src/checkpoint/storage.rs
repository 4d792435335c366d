//! Checkpoint and result files on disk, framed and written by `flowmark_core::durable`
//! (checksummed, atomic), so that a truncated or corrupted file is detected and never loaded.
//!
//! ```text
//! <checkpoints>/chk-00000042/task-<stage>-<index>   a task's operator state
//! <checkpoints>/chk-00000042/_metadata              written last: the checkpoint is complete
//! <output>/pending/<sink>.<checkpoint>.<stage>-<index>     pre-committed results
//! <output>/committed/<sink>.<checkpoint>.<stage>-<index>   results a reader may see
//! ```

use super::{Metadata, TaskFile, TaskId, TaskState};
use crate::error::EngineError;
pub use flowmark_core::durable::{Disk, decode, encode, frame, read_framed, unframe, write_atomic};
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The directory of checkpoint `id`.
pub fn checkpoint_dir(root: &Path, id: u64) -> PathBuf {
    root.join(format!("chk-{id:08}"))
}

/// The state file of `task` in checkpoint directory `dir`.
pub fn task_file(dir: &Path, task: TaskId) -> PathBuf {
    dir.join(format!("task-{}-{}", task.stage, task.index))
}

/// A checkpoint read back and verified.
#[derive(Debug)]
pub struct Restored {
    /// Its metadata.
    pub metadata: Metadata,
    /// Every task's state.
    pub tasks: HashMap<TaskId, TaskState>,
}

/// Checkpoint ids present under `root`, newest first (complete or not).
pub fn checkpoint_ids(root: &Path) -> Result<Vec<u64>, EngineError> {
    let mut ids = Vec::new();
    if !root.exists() {
        return Ok(ids);
    }
    for entry in fs::read_dir(root).map_err(EngineError::io("list", root))? {
        let entry = entry.map_err(EngineError::io("list", root))?;
        if let Some(id) =
            entry.file_name().to_str().and_then(|n| n.strip_prefix("chk-")).and_then(|n| n.parse().ok())
        {
            ids.push(id);
        }
    }
    ids.sort_unstable_by(|a, b| b.cmp(a));
    Ok(ids)
}

/// Reads checkpoint `id` and verifies every file of it.
pub fn read_checkpoint(root: &Path, id: u64) -> Result<Restored, EngineError> {
    let dir = checkpoint_dir(root, id);
    let meta_path = dir.join("_metadata");
    let metadata: Metadata = decode(&meta_path, &read_framed(&meta_path)?)?;
    let mut tasks = HashMap::new();
    for f in &metadata.tasks {
        let path = task_file(&dir, f.task);
        let payload = read_framed(&path)?;
        if payload.len() as u64 != f.len || crc32fast::hash(&payload) != f.crc {
            return Err(EngineError::CorruptCheckpoint {
                path,
                reason: "does not match the checksum the checkpoint's metadata recorded".into(),
            });
        }
        tasks.insert(f.task, decode(&path, &payload)?);
    }
    Ok(Restored { metadata, tasks })
}

/// The newest complete checkpoint whose files all verify, passing over (and reporting through
/// `skipped`) any that do not.
pub fn latest_valid(
    root: &Path,
    mut skipped: impl FnMut(u64, &EngineError),
) -> Result<Option<Restored>, EngineError> {
    for id in checkpoint_ids(root)? {
        if !checkpoint_dir(root, id).join("_metadata").exists() {
            continue; // never completed: not a checkpoint
        }
        match read_checkpoint(root, id) {
            Ok(r) => return Ok(Some(r)),
            Err(e) => skipped(id, &e),
        }
    }
    Ok(None)
}

/// At recovery from checkpoint `at`: removes the checkpoints after it — incomplete, or passed
/// over as corrupt — so that the ids the job goes on with are fresh.
pub fn discard_after(root: &Path, at: u64) -> Result<(), EngineError> {
    for id in checkpoint_ids(root)? {
        if id > at {
            let dir = checkpoint_dir(root, id);
            fs::remove_dir_all(&dir).map_err(EngineError::io("remove", &dir))?;
        }
    }
    Ok(())
}

/// Writes a checkpoint's metadata on `disk`, completing it.
pub fn complete(disk: &Disk, root: &Path, metadata: &Metadata) -> Result<(), EngineError> {
    let path = checkpoint_dir(root, metadata.id).join("_metadata");
    Ok(disk.write(&path, &frame(&encode(metadata)))?)
}

/// Removes all but the newest `keep` complete checkpoints, and incomplete ones older than the
/// newest complete one.
pub fn prune(root: &Path, keep: usize) -> Result<(), EngineError> {
    let ids = checkpoint_ids(root)?;
    let complete: Vec<u64> =
        ids.iter().copied().filter(|id| checkpoint_dir(root, *id).join("_metadata").exists()).collect();
    let Some(&newest) = complete.first() else { return Ok(()) };
    let kept: Vec<u64> = complete.iter().copied().take(keep).collect();
    for id in ids {
        if id < newest && !kept.contains(&id) {
            let dir = checkpoint_dir(root, id);
            fs::remove_dir_all(&dir).map_err(EngineError::io("remove", &dir))?;
        }
    }
    Ok(())
}

/// The name of a result file: `<sink>.<checkpoint>.<stage>-<index>`.
pub fn output_name(sink: &str, checkpoint: u64, task: TaskId) -> String {
    format!("{sink}.{checkpoint:08}.{}-{}", task.stage, task.index)
}

fn checkpoint_of(name: &str) -> Option<u64> {
    name.split('.').nth(1)?.parse().ok()
}

/// Commits pending results of checkpoints up to `upto`: renames them into `committed/`.
pub fn commit_outputs(output: &Path, upto: u64) -> Result<(), EngineError> {
    let pending = output.join("pending");
    let committed = output.join("committed");
    if !pending.exists() {
        return Ok(());
    }
    for entry in fs::read_dir(&pending).map_err(EngineError::io("list", &pending))? {
        let entry = entry.map_err(EngineError::io("list", &pending))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") {
            continue;
        }
        if checkpoint_of(&name).is_some_and(|c| c <= upto) {
            let to = committed.join(&name);
            fs::rename(entry.path(), &to).map_err(EngineError::io("commit", &to))?;
        }
    }
    Ok(())
}

/// At recovery from checkpoint `at`: commits what it covers, drops pending results of later
/// checkpoints, and removes committed results of later checkpoints (which exist only when a
/// newer checkpoint was lost to a storage fault; the replay emits them again, identically).
pub fn recover_outputs(output: &Path, at: u64) -> Result<(), EngineError> {
    commit_outputs(output, at)?;
    for dir in [output.join("pending"), output.join("committed")] {
        if !dir.exists() {
            continue;
        }
        for entry in fs::read_dir(&dir).map_err(EngineError::io("list", &dir))? {
            let entry = entry.map_err(EngineError::io("list", &dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let live = name.contains(".live.");
            if !live && (name.ends_with(".tmp") || checkpoint_of(&name).is_none_or(|c| c > at)) {
                fs::remove_file(entry.path()).map_err(EngineError::io("remove", entry.path()))?;
            }
        }
    }
    Ok(())
}

/// The task file entry of a written state payload.
pub fn task_entry(task: TaskId, payload: &[u8]) -> TaskFile {
    TaskFile { task, len: payload.len() as u64, crc: crc32fast::hash(payload) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("flowmark-storage-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn prune_keeps_the_newest_complete() {
        let d = tmp("prune");
        for id in 1..=5 {
            fs::create_dir_all(checkpoint_dir(&d, id)).unwrap();
            if id != 4 {
                let m = Metadata {
                    id,
                    last: false,
                    job: "j".into(),
                    parallelism: 1,
                    tasks: vec![],
                    sources: vec![],
                };
                complete(&Disk::default(), &d, &m).unwrap();
            }
        }
        prune(&d, 2).unwrap();
        // 5 and 3 are the newest complete; 4 is incomplete but older than 5
        assert_eq!(checkpoint_ids(&d).unwrap(), vec![5, 3]);
        fs::remove_dir_all(d).unwrap();
    }

    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Fuzzing checkpoints: a complete checkpoint whose metadata or task file is replaced
        /// by random bytes, or by a verifying frame of a random payload, is never loaded — an
        /// error naming the damaged file — and recovery passes over it to the one before.
        #[test]
        fn a_damaged_checkpoint_is_an_error_naming_the_file_and_passed_over(
            bytes in proptest::collection::vec(any::<u8>(), 0..200),
            framed in any::<bool>(),
            metadata in any::<bool>(),
        ) {
            let root = tempfile::tempdir().unwrap();
            let root = root.path();
            let task = TaskId { stage: 1, index: 0 };
            let state = encode(&TaskState { operators: vec![(3, vec![1, 2, 3])], late: (4, 5), in_flight: vec![6] });
            for id in [1, 2] {
                let dir = checkpoint_dir(root, id);
                fs::create_dir_all(&dir).unwrap();
                write_atomic(&task_file(&dir, task), &frame(&state), None).unwrap();
                let m = Metadata {
                    id,
                    last: false,
                    job: "j".into(),
                    parallelism: 1,
                    tasks: vec![task_entry(task, &state)],
                    sources: vec![],
                };
                complete(&Disk::default(), root, &m).unwrap();
            }
            let dir = checkpoint_dir(root, 2);
            let damaged = if metadata { dir.join("_metadata") } else { task_file(&dir, task) };
            let content = if framed { frame(&bytes) } else { bytes.clone() };
            fs::write(&damaged, &content).unwrap();
            let mut passed_over = Vec::new();
            let restored = latest_valid(root, |id, e| passed_over.push((id, e.to_string()))).unwrap();
            let restored = restored.expect("checkpoint 1 is intact");
            if restored.metadata.id != 1 {
                // only a metadata frame whose random payload decodes can name other files
                prop_assert!(framed && metadata);
            } else {
                prop_assert_eq!(restored.metadata.id, 1);
                prop_assert_eq!(passed_over.len(), 1);
                let named = damaged.display().to_string();
                prop_assert!(passed_over[0].1.contains(&named), "{}", passed_over[0].1);
            }
        }
    }
}
