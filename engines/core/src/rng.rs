//! flowmark's one random generator: SplitMix64, whose state is one counter, so that a value
//! is a pure function of where the counter starts — each event of the log gets its own
//! (`flowmark_workloads::rng`), and every seeded choice of the harness and the reports derives
//! from a suite's seed.

use core::convert::Infallible;
use rand_core::{SeedableRng, TryRng};

/// SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
/// OOPSLA 2014): a 64-bit counter stepped by the golden ratio and mixed. flowmark's one
/// generator — of each event's randomness (started from a hash of `(seed, stream, n)`, see
/// `RandomStream`) and of the harness's seeded choices. It implements `rand_core`'s
/// [`TryRng`] (so `rand`'s [`Rng`](rand_core::Rng)) and [`SeedableRng`], so that `rand`'s and
/// `rand_distr`'s distributions can draw from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitMix64 {
    state: u64,
}

/// The golden-ratio increment of SplitMix64's counter.
pub const GOLDEN: u64 = 0x9e37_79b9_7f4a_7c15;

/// SplitMix64's output function: a bijective mix of 64 bits.
#[inline]
pub fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

impl SplitMix64 {
    /// The generator whose state starts at `state`.
    pub const fn from_state(state: u64) -> Self {
        SplitMix64 { state }
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN);
        mix(self.state)
    }

    /// A uniform value in `[0, 1)` (the top 53 bits).
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

impl TryRng for SplitMix64 {
    type Error = Infallible;

    #[inline]
    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok((self.next_u64() >> 32) as u32)
    }

    #[inline]
    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        for chunk in dst.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
        Ok(())
    }
}

impl SeedableRng for SplitMix64 {
    type Seed = [u8; 8];

    fn from_seed(seed: [u8; 8]) -> Self {
        SplitMix64 { state: u64::from_le_bytes(seed) }
    }

    /// The state is the seed itself, as SplitMix64 is defined.
    fn seed_from_u64(state: u64) -> Self {
        SplitMix64 { state }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn it_is_splitmix64() {
        // the first outputs from state 1234567 (the reference implementation's test vector,
        // Vigna's splitmix64.c)
        let mut g = SplitMix64::seed_from_u64(1234567);
        let first: Vec<u64> = (0..3).map(|_| g.next_u64()).collect();
        assert_eq!(first, [6457827717110365317, 3203168211198807973, 9817491932198370423]);
    }

    #[test]
    fn rand_distributions_draw_from_it() {
        use rand_distr::{Distribution, Exp};
        let mut g = SplitMix64::seed_from_u64(9);
        let exp = Exp::new(2.0).unwrap();
        let n = 50_000;
        let mean = (0..n).map(|_| exp.sample(&mut g)).sum::<f64>() / f64::from(n);
        assert!((mean - 0.5).abs() < 0.02, "mean {mean}");
        // the same seed, the same draws
        let a: Vec<f64> = (0..5).map(|_| exp.sample(&mut SplitMix64::seed_from_u64(3))).collect();
        assert!(a.windows(2).all(|w| w[0] == w[1]));
    }

    #[test]
    fn below_stays_below_and_unit_values_stay_in_the_unit_interval() {
        let mut g = SplitMix64::from_state(5);
        for _ in 0..10_000 {
            assert!(g.below(7) < 7);
            let u = g.next_f64();
            assert!((0.0..1.0).contains(&u));
        }
    }
}
