//! The stateful operators, each split the way a batch runs it: a *map side* that runs in the
//! task reading a partition of the input (lateness checks, window assignment, pre-aggregation
//! of what can be pre-aggregated) and buckets its output by key, and a *reduce side* that runs
//! in the task owning a key partition and updates that partition's versioned state.
//!
//! State is versioned per batch: each partition's state tracks what a batch changed, which is
//! written as the batch's delta; every few batches the whole state is written as a snapshot.

pub mod join;
pub mod reduce;
pub mod session;
pub mod window;
pub mod window_join;

use serde::Serialize;
use serde::de::DeserializeOwned;
use std::sync::Mutex;

/// Late records dropped on the map side of one batch.
#[derive(Clone, Copy, Debug, Default)]
pub struct Late {
    /// Records late for all their windows (the late side output).
    pub events: u64,
    /// (record, window) pairs dropped.
    pub windows: u64,
}

/// What a map side produces: its items bucketed by key partition, and the late records it
/// dropped.
pub type Mapped<I> = (Vec<Vec<I>>, Late);

/// The state of one key partition of one operator, versioned per batch.
pub trait Versioned: Default + Send + Serialize + DeserializeOwned {
    /// What a batch changed.
    type Delta: Serialize + DeserializeOwned;
    /// The changes since the last call, forgetting them.
    fn take_delta(&mut self) -> Self::Delta;
    /// Applies a delta taken from the state at the previous version.
    fn apply(&mut self, delta: Self::Delta);
}

/// The current entries of the keys a batch changed (forgetting which they were): the delta of
/// a keyed state that upserts whole entries.
pub fn take_changed<K: std::hash::Hash + Eq + Clone, V: Clone>(
    entries: &rustc_hash::FxHashMap<K, V>,
    changed: &mut rustc_hash::FxHashSet<K>,
) -> Vec<(K, V)> {
    std::mem::take(changed).into_iter().filter_map(|k| Some((k.clone(), entries.get(&k)?.clone()))).collect()
}

/// A state file that passed its checksum but does not decode: a bug, or another version's.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The snapshot does not decode.
    #[error("snapshot does not decode: {0}")]
    Snapshot(bincode::Error),
    /// A delta does not decode.
    #[error("delta does not decode: {0}")]
    Delta(bincode::Error),
}

/// One operator's state, as the driver versions it.
pub trait Stateful: Send + Sync {
    /// The operator's id: its place in the order the job creates operators.
    fn id(&self) -> u32;
    /// Key partitions.
    fn partitions(&self) -> usize;
    /// A partition's changes since the last call, encoded.
    fn take_delta(&self, part: usize) -> Vec<u8>;
    /// A partition's whole state, encoded.
    fn snapshot(&self, part: usize) -> Vec<u8>;
    /// Replaces a partition's state by a snapshot (empty state for none) and deltas after it.
    fn restore(&self, part: usize, snapshot: Option<&[u8]>, deltas: &[Vec<u8>]) -> Result<(), StateError>;
}

/// An operator's state: one [`Versioned`] per key partition.
pub struct Partitioned<S> {
    id: u32,
    parts: Vec<Mutex<S>>,
}

impl<S: Versioned> Partitioned<S> {
    /// Empty state of operator `id` over `n` partitions.
    pub fn new(id: u32, n: usize) -> Self {
        Partitioned { id, parts: (0..n).map(|_| Mutex::new(S::default())).collect() }
    }

    /// Locks a partition (a task that panicked while holding it leaves it to be restored).
    pub fn lock(&self, part: usize) -> std::sync::MutexGuard<'_, S> {
        self.parts[part].lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl<S: Versioned> Stateful for Partitioned<S> {
    fn id(&self) -> u32 {
        self.id
    }

    fn partitions(&self) -> usize {
        self.parts.len()
    }

    fn take_delta(&self, part: usize) -> Vec<u8> {
        flowmark_core::durable::encode(&self.lock(part).take_delta())
    }

    fn snapshot(&self, part: usize) -> Vec<u8> {
        flowmark_core::durable::encode(&*self.lock(part))
    }

    fn restore(&self, part: usize, snapshot: Option<&[u8]>, deltas: &[Vec<u8>]) -> Result<(), StateError> {
        let mut state: S = match snapshot {
            Some(bytes) => bincode::deserialize(bytes).map_err(StateError::Snapshot)?,
            None => S::default(),
        };
        for d in deltas {
            let delta: S::Delta = bincode::deserialize(d).map_err(StateError::Delta)?;
            state.apply(delta);
        }
        *self.lock(part) = state;
        Ok(())
    }
}
