//! A counter-based random source: the randomness of event `n` is a pure function of
//! `(seed, stream, n)`, so any event can be generated on its own, in any order, in any process.

/// Random numbers for one event. Each call draws the next value of a SplitMix64 sequence
/// started from a hash of `(seed, stream, n)` (SplitMix64: Steele, Lea and Flood, "Fast
/// splittable pseudorandom number generators", OOPSLA 2014).
#[derive(Clone, Copy, Debug)]
pub struct EventRng {
    state: u64,
}

const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

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
        EventRng { state: self.key ^ n.wrapping_mul(GOLDEN) }
    }
}

impl EventRng {
    /// The random source of event `n` of `stream` (one stream per independent quantity:
    /// payload, delay) under `seed`.
    #[inline]
    pub fn new(seed: u64, stream: u64, n: u64) -> Self {
        RandomStream::new(seed, stream).at(n)
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// A uniform value in `[0, 1)`.
    #[inline]
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// A uniform value in `[0, n)` (Lemire's multiply-shift; the bias is below 2⁻³² for the
    /// ranges used here).
    #[inline]
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_inputs_same_values_different_inputs_differ() {
        let a: Vec<u64> = (0..4).map(|_| EventRng::new(7, 1, 42).next_u64()).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
        assert_ne!(EventRng::new(7, 1, 42).next_u64(), EventRng::new(7, 1, 43).next_u64());
        assert_ne!(EventRng::new(7, 1, 42).next_u64(), EventRng::new(8, 1, 42).next_u64());
        assert_ne!(EventRng::new(7, 1, 42).next_u64(), EventRng::new(7, 2, 42).next_u64());
    }

    #[test]
    fn uniform_values_are_roughly_uniform() {
        let n = 100_000;
        let mean: f64 = (0..n).map(|i| EventRng::new(1, 0, i).next_f64()).sum::<f64>() / n as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
        assert!((0..n).all(|i| EventRng::new(1, 0, i).below(10) < 10));
    }
}
