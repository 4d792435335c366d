//! The bytes a real engine writes to its checkpoint storage, measured from outside: the files
//! under the checkpoint directory, walked at each completed checkpoint.
//!
//! Between two walks, what was written is every file that is new plus the growth of every file
//! seen before — so an incremental checkpoint counts only the SST files it uploaded, and a
//! full one everything it wrote again. Files being written when the walk passes are counted
//! as far as they got, and their rest at the next walk: the total over a run is exact, each
//! checkpoint's share as close as the moment of its completion allows. Temporary files that
//! are renamed into place once complete (`*.tmp`, as Spark's checkpoint file manager writes)
//! are not counted, so that a rename does not count its bytes twice.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The files under a checkpoint directory, as the last walk found them.
#[derive(Debug)]
pub struct Written {
    root: PathBuf,
    sizes: HashMap<PathBuf, u64>,
}

impl Written {
    /// Watches `root`: what is there already (an earlier process's checkpoints) does not count.
    pub fn new(root: &Path) -> Self {
        let mut w = Written { root: root.to_path_buf(), sizes: HashMap::new() };
        w.since_last();
        w
    }

    /// The bytes written under the directory since the last call (or since [`Written::new`]).
    pub fn since_last(&mut self) -> u64 {
        let mut now = HashMap::with_capacity(self.sizes.len());
        walk(&self.root, &mut now);
        let written = now
            .iter()
            .map(|(path, &size)| size.saturating_sub(self.sizes.get(path).copied().unwrap_or(0)))
            .sum();
        self.sizes = now;
        written
    }
}

/// Every regular file under `dir` but temporary ones, with its size. A directory that
/// vanishes during the walk (a checkpoint the engine discarded) is skipped.
fn walk(dir: &Path, out: &mut HashMap<PathBuf, u64>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let Ok(kind) = entry.file_type() else { continue };
        let path = entry.path();
        if kind.is_dir() {
            walk(&path, out);
        } else if kind.is_file()
            && !entry.file_name().to_string_lossy().ends_with(".tmp")
            && let Ok(meta) = entry.metadata()
        {
            out.insert(path, meta.len());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, bytes: usize) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, vec![7u8; bytes]).unwrap();
    }

    #[test]
    fn new_files_and_growth_count_once_and_what_was_there_before_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(&root.join("job/chk-1/_metadata"), 100);
        let mut w = Written::new(root);
        assert_eq!(w.since_last(), 0, "an earlier process's checkpoint");
        write(&root.join("job/chk-2/state"), 1000);
        write(&root.join("job/shared/a.sst"), 500);
        assert_eq!(w.since_last(), 1500);
        assert_eq!(w.since_last(), 0, "nothing new");
        // an incremental checkpoint: one more SST file, the old one kept
        write(&root.join("job/shared/b.sst"), 300);
        write(&root.join("job/chk-2/state"), 1200);
        std::fs::remove_dir_all(root.join("job/chk-1")).unwrap();
        assert_eq!(w.since_last(), 300 + 200, "the new file and the growth of the old one");
    }

    #[test]
    fn temporary_files_do_not_count_until_renamed_into_place() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Written::new(dir.path());
        let tmp = dir.path().join("state/0/.1.delta.3f2a.tmp");
        write(&tmp, 64);
        assert_eq!(w.since_last(), 0);
        std::fs::rename(&tmp, dir.path().join("state/0/1.delta")).unwrap();
        assert_eq!(w.since_last(), 64);
    }

    #[test]
    fn a_file_written_again_under_the_same_name_after_it_was_deleted_counts_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = Written::new(dir.path());
        write(&dir.path().join("commits/1"), 10);
        assert_eq!(w.since_last(), 10);
        std::fs::remove_file(dir.path().join("commits/1")).unwrap();
        assert_eq!(w.since_last(), 0);
        write(&dir.path().join("commits/1"), 10);
        assert_eq!(w.since_last(), 10);
    }
}
