//! A counter-based random source: the randomness of event `n` is a pure function of
//! `(seed, stream, n)`, so any event can be generated on its own, in any order, in any process.

pub use flowmark_core::rng::SplitMix64;
use flowmark_core::rng::{GOLDEN, mix};

/// The generator of one event's randomness: SplitMix64 started from a hash of
/// `(seed, stream, n)` ([`RandomStream::at`], [`for_event`]).
pub type EventRng = SplitMix64;

/// One independent quantity's random sources under one seed: the payloads, or the delays.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RandomStream {
    key: u64,
}

impl RandomStream {
    /// The sources of `stream` under `seed`.
    pub fn new(seed: u64, stream: u64) -> Self {
        RandomStream { key: mix(seed ^ mix(stream.wrapping_add(GOLDEN))) }
    }

    /// The source of event `n`.
    #[inline]
    pub fn at(&self, n: u64) -> EventRng {
        SplitMix64::from_state(self.key ^ n.wrapping_mul(GOLDEN))
    }
}

/// The random source of event `n` of `stream` (one stream per independent quantity: payload,
/// delay) under `seed`.
#[inline]
pub fn for_event(seed: u64, stream: u64, n: u64) -> EventRng {
    RandomStream::new(seed, stream).at(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_values_different_inputs_differ() {
        let a: Vec<u64> = (0..4).map(|_| for_event(7, 1, 42).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(for_event(7, 1, 42).next_u64(), for_event(7, 1, 43).next_u64());
        assert_ne!(for_event(7, 1, 42).next_u64(), for_event(8, 1, 42).next_u64());
        assert_ne!(for_event(7, 1, 42).next_u64(), for_event(7, 2, 42).next_u64());
    }

    #[test]
    fn uniform_values_are_roughly_uniform() {
        let n = 100_000;
        let mean: f64 = (0..n).map(|i| for_event(1, 0, i).next_f64()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        assert!((0..n).all(|i| for_event(1, 0, i).below(10) < 10));
    }
}
