//! Zipf-distributed ranks in O(1) per draw, through an alias table (Walker's alias method,
//! in Vose's construction: M. D. Vose, "A linear algorithm for generating random numbers with a
//! given distribution", IEEE TSE 1991).

use crate::error::{self, WorkloadError};
use crate::rng::EventRng;
use std::sync::Arc;

/// Ranks `0..n` with `P(k) ∝ 1 / (k + 1)^s`.
#[derive(Clone, Debug)]
pub struct Zipf {
    /// Per slot: the threshold below which the slot itself is drawn (out of 2³²), and its alias.
    table: Arc<[(u32, u32)]>,
}

impl Zipf {
    /// The distribution over `n` ranks with skew `s` (`s = 0` is uniform).
    pub fn new(n: u32, s: f64) -> Result<Self, WorkloadError> {
        error::positive("vocabulary size", f64::from(n))?;
        error::non_negative("zipf skew", s)?;
        let weights: Vec<f64> = (1..=n).map(|k| 1.0 / f64::from(k).powf(s)).collect();
        let total: f64 = weights.iter().sum();
        let mut scaled: Vec<f64> = weights.iter().map(|w| w * f64::from(n) / total).collect();
        let mut table = vec![(u32::MAX, 0u32); n as usize];
        let (mut small, mut large): (Vec<u32>, Vec<u32>) = (0..n).partition(|&i| scaled[i as usize] < 1.0);
        while let (Some(&s_i), Some(&l_i)) = (small.last(), large.last()) {
            small.pop();
            let p = scaled[s_i as usize];
            table[s_i as usize] = ((p * 4_294_967_296.0).min(4_294_967_295.0) as u32, l_i);
            scaled[l_i as usize] -= 1.0 - p;
            if scaled[l_i as usize] < 1.0 {
                large.pop();
                small.push(l_i);
            }
        }
        // what remains has probability 1 up to rounding
        for i in small.into_iter().chain(large) {
            table[i as usize] = (u32::MAX, i);
        }
        Ok(Zipf { table: table.into() })
    }

    /// Draws a rank.
    #[inline]
    pub fn sample(&self, rng: &mut EventRng) -> u32 {
        let r = rng.next_u64();
        let slot = ((u128::from(r >> 32) * self.table.len() as u128) >> 32) as usize;
        let (threshold, alias) = self.table[slot];
        if (r as u32) < threshold { slot as u32 } else { alias }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequencies_follow_the_law() {
        let z = Zipf::new(1000, 1.0).unwrap();
        let mut counts = vec![0u32; 1000];
        let n = 400_000;
        for i in 0..n {
            counts[z.sample(&mut crate::rng::for_event(1, 2, i)) as usize] += 1;
        }
        let h: f64 = (1..=1000).map(|k| 1.0 / f64::from(k)).sum();
        for k in [0usize, 1, 9, 99] {
            let expected = n as f64 / (h * (k + 1) as f64);
            let got = f64::from(counts[k]);
            assert!((got - expected).abs() / expected < 0.05, "rank {k}: {got} vs {expected}");
        }
        // rank 0 twice as frequent as rank 1
        let ratio = f64::from(counts[0]) / f64::from(counts[1]);
        assert!((ratio - 2.0).abs() < 0.1, "{ratio}");
    }

    #[test]
    fn uniform_when_unskewed_and_errors_when_empty() {
        let z = Zipf::new(4, 0.0).unwrap();
        let mut counts = [0u32; 4];
        for i in 0..40_000 {
            counts[z.sample(&mut crate::rng::for_event(5, 0, i)) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (9_500..10_500).contains(&c)), "{counts:?}");
        assert!(Zipf::new(0, 1.0).is_err());
        assert!(Zipf::new(10, -1.0).is_err());
    }
}
