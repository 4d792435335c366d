//! Durable files: checksummed framing and atomic writes, for checkpoints, state versions and
//! logs.
//!
//! Every file is framed as `FMCK` (magic), a format version, the payload length (u64 LE), the
//! payload's CRC-32 (u32 LE) and the payload, and written atomically: to a temporary name,
//! flushed to disk, then renamed. A reader checks magic, length and checksum before trusting a
//! byte, so a truncated or corrupted file is detected and never loaded.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use thiserror::Error;

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
    let tmp = path.with_extension("tmp");
    let mut f = fs::File::create(&tmp).map_err(DurableError::io("create", &tmp))?;
    let half = bytes.len() / 2;
    f.write_all(&bytes[..half]).map_err(DurableError::io("write", &tmp))?;
    if let Some(p) = pause {
        std::thread::sleep(std::time::Duration::from_nanos(p.max(0) as u64));
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
pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
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
