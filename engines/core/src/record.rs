//! Records: a payload with the two instants every engine carries with it.

use crate::time::Time;
use serde::{Deserialize, Serialize};
use std::fmt::{Debug, Display};
use std::hash::Hash;

/// What may travel through a job: cloneable, sendable to another task and readable from several
/// (a batch's partition may be read by more than one task), serializable into a checkpoint.
pub trait Data: Clone + Debug + Send + Sync + Serialize + for<'de> Deserialize<'de> + 'static {}
impl<T: Clone + Debug + Send + Sync + Serialize + for<'de> Deserialize<'de> + 'static> Data for T {}

/// What a stream may be keyed by: data with a total order (so that ties break the same way on
/// every engine), a hash (for partitioning) and a textual form (for result identities).
pub trait Key: Data + Hash + Eq + Ord + Display {}
impl<T: Data + Hash + Eq + Ord + Display> Key for T {}

/// A record in flight.
///
/// `wm` is what makes lateness a property of the input rather than of an engine's timing: it
/// is the watermark of the record's own source partition just before the record was read
/// (see [`crate::watermark`]). An engine's watermark at any operator is never ahead of the `wm`
/// of a record still on its way to that operator, so judging lateness against `wm` gives the
/// same verdict on every engine, at every parallelism, in every run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rec<T> {
    /// Event time: for a source record, when the event happened; for a window result, the
    /// window's last instant.
    pub time: Time,
    /// The watermark the record is judged against for lateness.
    pub wm: Time,
    /// The payload.
    pub data: T,
}

impl<T> Rec<T> {
    /// The result of window `window`: its time is the window's last instant, and its
    /// watermark just below that, so that no window downstream judges it late. That holds
    /// because a window's results reach a downstream operator before its watermark reaches
    /// the window's last instant: an on-time firing is emitted ahead of the watermark that fired
    /// it, and a window with allowed lateness that feeds another stateful operator emits only
    /// its final results and holds the watermark it passes on behind them (see
    /// [`crate::window`]'s "Late firings and chained operators"). Late re-firings go only to
    /// sinks.
    #[inline]
    pub fn window_result(window: crate::Window, data: T) -> Rec<T> {
        Rec { time: window.max_time(), wm: window.max_time() - 1, data }
    }

    /// The result of joining `a` with `b`: the later event time, and the higher
    /// watermark — the one of the two records that reached the join last bounds every engine's
    /// watermark downstream, and the higher is a function of the pair, the same on every engine.
    #[inline]
    pub fn joined<A, B>(a: &Rec<A>, b: &Rec<B>, data: T) -> Rec<T> {
        Rec { time: a.time.max(b.time), wm: a.wm.max(b.wm), data }
    }

    /// The same instants with another payload: what a stateless operator emits.
    #[inline]
    pub fn with<U>(&self, data: U) -> Rec<U> {
        Rec { time: self.time, wm: self.wm, data }
    }
}

/// A key for a stream that has a single group (a global window, NEXMark q7's highest bid).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
pub struct All;

impl Display for All {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("*")
    }
}

/// The hash every engine partitions keys by: fixed (not seeded per process), so that a key goes
/// to the same task after a restart as before — where its state is.
#[inline]
pub fn key_hash<K: Hash>(key: &K) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(key)
}

/// The partition among `n` that owns a key hash.
#[inline]
pub fn owner(hash: u64, n: usize) -> usize {
    ((u128::from(hash) * n as u128) >> 64) as usize
}

/// A record of either input of a two-input operator (a join).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side<V, W> {
    /// From the left input.
    Left(V),
    /// From the right input.
    Right(W),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Window;

    #[test]
    fn a_window_result_is_stamped_just_below_its_last_instant() {
        let r = Rec::window_result(Window::new(0, 10), "x");
        assert_eq!((r.time, r.wm, r.data), (9, 8, "x"));
        // a window of the same extent downstream does not judge it late
        let spec = crate::WindowSpec::new(crate::Windows::tumbling(10));
        assert!(!spec.is_late(Window::new(0, 10), r.wm));
    }

    #[test]
    fn a_joined_record_takes_the_later_instants_of_the_pair() {
        // each instant from a different record: neither record's pair alone is the answer
        let a = Rec { time: 5, wm: 4, data: () };
        let b = Rec { time: 7, wm: 3, data: () };
        let j = Rec::joined(&a, &b, 'j');
        assert_eq!((j.time, j.wm, j.data), (7, 4, 'j'));
        let k = Rec::joined(&b, &a, ());
        assert_eq!((k.time, k.wm), (7, 4));
        assert_eq!(a.with(1u8), Rec { time: 5, wm: 4, data: 1u8 });
    }

    #[test]
    fn keys_spread_evenly_over_their_owners() {
        for n in [1usize, 2, 3, 4] {
            let mut per = vec![0u32; n];
            for k in 0..4_000u64 {
                per[owner(key_hash(&k), n)] += 1;
            }
            let even = 4_000 / n as u32;
            assert!(per.iter().all(|&c| c > even * 8 / 10 && c < even * 12 / 10), "{n}: {per:?}");
        }
        assert_eq!((owner(0, 4), owner(u64::MAX, 4), owner(u64::MAX / 2, 2)), (0, 3, 0));
        assert_eq!(key_hash(&7u64), key_hash(&7u64));
        assert_eq!(All.to_string(), "*");
    }
}
