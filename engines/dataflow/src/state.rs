//! Keyed operator state that a checkpoint copies without stopping the task for long.
//!
//! A snapshot must capture the state as it is at the barrier while the task goes on changing
//! it. Copying a large state at the barrier stalls the task for as long as the copy takes — for
//! open sessions, each with its list of pages, 10 ms per 40 000 keys — and that stall is the
//! tail of every result's latency. [`Shards`] splits the state into shards shared
//! copy-on-write with the snapshots taken of it (as Flink's heap state backend shares its
//! state table): a snapshot copies only the shards' handles, and the first change to a shard
//! after a snapshot copies that shard alone. The copying is the same in total, but spread over
//! the checkpoint interval in pieces of 1/[`SHARDS`] of the state.

use flowmark_core::key_hash;
use rustc_hash::FxHashMap;
use serde::de::{Deserialize, Deserializer};
use serde::ser::{Serialize, SerializeMap, Serializer};
use std::hash::Hash;
use std::sync::Arc;

/// How many shards keyed state is split into.
pub const SHARDS: usize = 64;

/// A map from keys to values in [`SHARDS`] shards shared copy-on-write with its snapshots.
/// It serializes as one map, whatever the number of shards.
#[derive(Clone, Debug)]
pub struct Shards<K, V> {
    shards: Vec<Arc<FxHashMap<K, V>>>,
}

impl<K, V> Default for Shards<K, V> {
    fn default() -> Self {
        Shards { shards: (0..SHARDS).map(|_| Arc::new(FxHashMap::default())).collect() }
    }
}

/// The shard of a key: the top bits of its hash (the low bits place it within the shard's
/// table, and task partitioning uses the hash's full range).
#[inline]
fn shard_of<K: Hash>(key: &K) -> usize {
    (key_hash(key) >> (64 - SHARDS.trailing_zeros())) as usize
}

impl<K: Hash + Eq + Clone, V: Clone> Shards<K, V> {
    /// The shard holding `key`, for a change: copied first if a snapshot still shares it.
    #[inline]
    pub fn shard_mut(&mut self, key: &K) -> &mut FxHashMap<K, V> {
        Arc::make_mut(&mut self.shards[shard_of(key)])
    }

    /// The value of `key`.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.shards[shard_of(key)].get(key)
    }

    /// A snapshot: the shards shared, nothing copied.
    pub fn snapshot(&self) -> Shards<K, V> {
        self.clone()
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.len()).sum()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.shards.iter().all(|s| s.is_empty())
    }

    /// Every key and value.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.shards.iter().flat_map(|s| s.iter())
    }
}

impl<K: Serialize, V: Serialize> Serialize for Shards<K, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.shards.iter().map(|s| s.len()).sum()))?;
        for (k, v) in self.shards.iter().flat_map(|s| s.iter()) {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

impl<'de, K, V> Deserialize<'de> for Shards<K, V>
where
    K: Deserialize<'de> + Hash + Eq + Clone,
    V: Deserialize<'de> + Clone,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let all = FxHashMap::<K, V>::deserialize(deserializer)?;
        let mut shards = Shards::default();
        for (k, v) in all {
            shards.shard_mut(&k).insert(k, v);
        }
        Ok(shards)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_keeps_the_state_it_saw_while_the_state_changes() {
        let mut state: Shards<u32, Vec<u32>> = Shards::default();
        for k in 0..1_000 {
            state.shard_mut(&k).insert(k, vec![k]);
        }
        let snap = state.snapshot();
        state.shard_mut(&7).get_mut(&7).expect("present").push(70);
        state.shard_mut(&1_000).insert(1_000, vec![]);
        assert_eq!(snap.get(&7), Some(&vec![7]));
        assert_eq!(snap.len(), 1_000);
        assert_eq!(state.get(&7), Some(&vec![7, 70]));
        assert_eq!(state.len(), 1_001);
        // only the shards changed since were copied
        let shared = state.shards.iter().zip(&snap.shards).filter(|(a, b)| Arc::ptr_eq(a, b)).count();
        assert!(shared >= SHARDS - 2, "{shared}");
    }

    #[test]
    fn it_serializes_as_one_map_and_reads_back_into_the_same_shards() {
        let mut state: Shards<u64, u8> = Shards::default();
        for k in 0..300u64 {
            state.shard_mut(&k).insert(k, (k % 7) as u8);
        }
        let bytes = bincode::serialize(&state).expect("encodes");
        let flat: FxHashMap<u64, u8> = bincode::deserialize(&bytes).expect("a plain map");
        assert_eq!(flat.len(), 300);
        let back: Shards<u64, u8> = bincode::deserialize(&bytes).expect("decodes");
        for k in 0..300u64 {
            assert_eq!(back.get(&k), Some(&((k % 7) as u8)));
            assert!(back.shards[shard_of(&k)].contains_key(&k));
        }
        assert!(state.shards.iter().filter(|s| !s.is_empty()).count() > SHARDS / 2, "keys spread");
    }
}
