//! Durable files: checksummed framing and atomic writes, for checkpoints, state versions and
//! logs.
//!
//! Every file is framed as `FMCK` (magic), a format version, the payload length (u64 LE), the
//! payload's CRC-32 (u32 LE) and the payload, and written atomically: to a temporary name,
//! flushed to disk, then renamed. A reader checks magic, length and checksum before trusting a
//! byte, so a truncated or corrupted file is detected and never loaded.
//!
//! An engine writes through a [`Disk`], which can be given faults to inject: a pause half-way
//! through every write (to crash a process mid-write), and one [`StorageFault`] — the disk
//! full, the device failing, or the process dying half-way through a chosen write.

use serde::{Deserialize, Serialize};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use thiserror::Error;

/// What goes wrong in a [`StorageFault`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StorageFaultKind {
    /// The disk is full (`ENOSPC`) half-way through the write.
    NoSpace,
    /// The device fails (`EIO`) half-way through the write.
    Io,
    /// The process dies half-way through the write (it aborts): the file is left torn.
    Torn,
}

impl StorageFaultKind {
    /// Every kind.
    pub const ALL: [StorageFaultKind; 3] = [Self::NoSpace, Self::Io, Self::Torn];

    /// What the process says when it meets the fault: the system's message for the error, or
    /// (a torn write) the last words before it aborts.
    pub fn message(self) -> &'static str {
        match self {
            Self::NoSpace => "No space left on device",
            Self::Io => "Input/output error",
            Self::Torn => "storage fault: the process dies half-way through writing",
        }
    }
}

/// A fault of the disk at one durable write.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageFault {
    /// What goes wrong.
    pub kind: StorageFaultKind,
    /// The files it may hit: those whose directory and name contain this (`task-`,
    /// `_metadata`, `pending` for the dataflow engine; `offsets`, `commits`, `.delta`,
    /// `.snapshot`, `output` for the micro-batch engine).
    pub files: String,
    /// The write it hits, counting the writes of such files by this process from 1.
    pub nth: u32,
}

/// Where an engine's durable writes go, with the faults its run injects.
#[derive(Debug, Default)]
pub struct Disk {
    pause: Option<i64>,
    fault: Option<StorageFault>,
    /// Writes of the files the fault may hit, so far.
    seen: AtomicU32,
}

impl Disk {
    /// A disk that pauses `pause` nanoseconds half-way through every write, and fails as
    /// `fault` says.
    pub fn new(pause: Option<i64>, fault: Option<StorageFault>) -> Self {
        Disk { pause, fault, seen: AtomicU32::new(0) }
    }

    /// Writes `bytes` to `path` atomically ([`write_atomic`]), with the faults injected.
    pub fn write(&self, path: &Path, bytes: &[u8]) -> Result<(), DurableError> {
        let strike = self.fault.as_ref().filter(|f| {
            let parent = path.parent().and_then(Path::file_name).unwrap_or_default();
            let named = Path::new(parent).join(path.file_name().unwrap_or_default());
            named.to_string_lossy().contains(&f.files)
                && self.seen.fetch_add(1, Ordering::Relaxed) + 1 == f.nth
        });
        write(path, bytes, self.pause, strike.map(|f| f.kind))
    }
}

/// A durable file that could not be written or read back.
#[derive(Debug, Error)]
pub enum DurableError {
    /// The file system refused.
    #[error("{action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file failed its checks: truncated, corrupted, or not ours.
    #[error("{path} is unusable: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

impl DurableError {
    /// A mapper from an I/O error on `path` while doing `action`.
    pub fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| DurableError::Io { action, path, source }
    }
}

const MAGIC: &[u8; 4] = b"FMCK";
const VERSION: u32 = 1;
const HEADER: usize = 4 + 4 + 8 + 4;

/// Frames a payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks a framed file's bytes and returns the payload.
pub fn unframe<'a>(path: &Path, bytes: &'a [u8]) -> Result<&'a [u8], DurableError> {
    let bad = |reason: String| DurableError::Corrupt { path: path.to_path_buf(), reason };
    if bytes.len() < HEADER {
        return Err(bad(format!("{} bytes is shorter than the {HEADER}-byte header", bytes.len())));
    }
    if &bytes[..4] != MAGIC {
        return Err(bad("not a flowmark checkpoint file (bad magic)".into()));
    }
    let version = u32::from_le_bytes(bytes[4..8].try_into().expect("4 bytes"));
    if version != VERSION {
        return Err(bad(format!("format version {version}, expected {VERSION}")));
    }
    let len = u64::from_le_bytes(bytes[8..16].try_into().expect("8 bytes"));
    let crc = u32::from_le_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let payload = &bytes[HEADER..];
    if payload.len() as u64 != len {
        return Err(bad(format!("truncated: payload is {} bytes, header says {len}", payload.len())));
    }
    let actual = crc32fast::hash(payload);
    if actual != crc {
        return Err(bad(format!("checksum mismatch: {actual:08x}, header says {crc:08x}")));
    }
    Ok(payload)
}

/// Writes `bytes` to `path` atomically: a temporary file, flushed to disk, renamed. With
/// `pause`, sleeps half-way through the write (a test hook for crashes mid-write).
pub fn write_atomic(path: &Path, bytes: &[u8], pause: Option<i64>) -> Result<(), DurableError> {
    write(path, bytes, pause, None)
}

fn write(
    path: &Path,
    bytes: &[u8],
    pause: Option<i64>,
    fault: Option<StorageFaultKind>,
) -> Result<(), DurableError> {
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(DurableError::io("create", &tmp))?;
    let half = bytes.len() / 2;
    f.write_all(&bytes[..half]).map_err(DurableError::io("write", &tmp))?;
    if let Some(p) = pause {
        std::thread::sleep(std::time::Duration::from_nanos(p.max(0) as u64));
    }
    let errno = match fault {
        None => None,
        Some(StorageFaultKind::NoSpace) => Some(nix::errno::Errno::ENOSPC),
        Some(StorageFaultKind::Io) => Some(nix::errno::Errno::EIO),
        Some(StorageFaultKind::Torn) => {
            let _ = f.sync_data();
            eprintln!("{} {}", StorageFaultKind::Torn.message(), tmp.display());
            std::process::abort();
        }
    };
    if let Some(errno) = errno {
        return Err(DurableError::Io { action: "write", path: tmp, source: std::io::Error::from(errno) });
    }
    f.write_all(&bytes[half..]).map_err(DurableError::io("write", &tmp))?;
    f.sync_data().map_err(DurableError::io("sync", &tmp))?;
    drop(f);
    fs::rename(&tmp, path).map_err(DurableError::io("rename", &tmp))
}

/// Reads and checks a framed file.
pub fn read_framed(path: &Path) -> Result<Vec<u8>, DurableError> {
    let bytes = fs::read(path).map_err(DurableError::io("read", path))?;
    Ok(unframe(path, &bytes)?.to_vec())
}

/// Decodes a payload written by [`encode`].
pub fn decode<T: serde::de::DeserializeOwned>(path: &Path, payload: &[u8]) -> Result<T, DurableError> {
    bincode::deserialize(payload)
        .map_err(|e| DurableError::Corrupt { path: path.to_path_buf(), reason: format!("undecodable: {e}") })
}

/// Serializes a value.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    bincode::serialize(value).expect("in-memory serialization does not fail")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn framing_detects_truncation_and_corruption() {
        let d = std::env::temp_dir().join(format!("flowmark-durable-{}", std::process::id()));
        fs::create_dir_all(&d).unwrap();
        let p = d.join("f");
        write_atomic(&p, &frame(b"hello state"), None).unwrap();
        assert_eq!(read_framed(&p).unwrap(), b"hello state");
        let good = fs::read(&p).unwrap();
        fs::write(&p, &good[..good.len() - 3]).unwrap();
        assert!(read_framed(&p).unwrap_err().to_string().contains("truncated"));
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0x40;
        fs::write(&p, &bad).unwrap();
        assert!(read_framed(&p).unwrap_err().to_string().contains("checksum"));
        fs::write(&p, b"xx").unwrap();
        assert!(read_framed(&p).unwrap_err().to_string().contains("header"));
        fs::remove_dir_all(d).unwrap();
    }

    #[test]
    fn a_storage_fault_fails_the_nth_write_of_its_files_naming_the_file_and_leaves_the_old_one() {
        let d = tempfile::tempdir().unwrap();
        let fault = |kind| StorageFault { kind, files: "state".into(), nth: 2 };
        for kind in [StorageFaultKind::NoSpace, StorageFaultKind::Io] {
            let says = kind.message();
            let disk = Disk::new(None, Some(fault(kind)));
            let (state, other) = (d.path().join(format!("state-{kind:?}")), d.path().join("other"));
            disk.write(&state, &frame(b"first")).unwrap();
            disk.write(&other, b"not counted").unwrap();
            let e = disk.write(&state, &frame(b"second")).unwrap_err().to_string();
            assert!(e.contains(&format!("state-{kind:?}.tmp")) && e.contains(says), "{e}");
            assert_eq!(read_framed(&state).unwrap(), b"first", "the file in place is untouched");
            disk.write(&state, &frame(b"third")).unwrap();
            assert_eq!(read_framed(&state).unwrap(), b"third", "one write fails, not the ones after");
        }
    }

    use proptest::prelude::*;

    /// What a checkpoint or state file holds, roughly: nested lengths and strings.
    type Nested = Vec<(u32, String, Vec<(u64, Vec<u8>)>)>;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Fuzzing the framing: random bytes, and frames of random payloads with bytes flipped
        /// and cut off, are a payload only when intact, otherwise an error naming the file;
        /// a payload that verifies but is not what the reader expects does not decode, and
        /// says so with the file's name — never a panic.
        #[test]
        fn damaged_files_are_errors_that_name_the_file(
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            flips in proptest::collection::vec((any::<usize>(), 1..=255u8), 0..4),
            cut in 0..8usize,
            raw in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let path = Path::new("/state/chk-00000007/task-1-0");
            let named = |e: DurableError| e.to_string().contains("/state/chk-00000007/task-1-0");
            let mut bytes = frame(&payload);
            for (at, x) in &flips {
                let n = bytes.len();
                bytes[at % n] ^= x;
            }
            bytes.truncate(bytes.len().saturating_sub(cut));
            match unframe(path, &bytes) {
                Ok(p) => prop_assert!(bytes == frame(&payload) && p == payload.as_slice(), "a damaged file verified"),
                Err(e) => prop_assert!(named(e)),
            }
            if let Err(e) = unframe(path, &raw) {
                prop_assert!(named(e));
            }
            if let Err(e) = decode::<Nested>(path, &payload) {
                prop_assert!(named(e));
            }
        }
    }
}
