//! Statistics for few, noisy samples — a handful of repetitions of a run on a shared machine,
//! whose latencies and CPU times are skewed and heavy-tailed, never normal:
//!
//! - [`mann_whitney`]: the Mann–Whitney U test (Mann and Whitney, 1947) of whether one side
//!   tends to be larger, on ranks only: exact for small samples without ties, the normal
//!   approximation with the tie correction otherwise;
//! - [`van_elteren`]: van Elteren's stratified rank-sum test (van Elteren, 1960) — one
//!   Mann–Whitney test per stratum (a configuration), ranked within it, combined with weights
//!   `1 / (N + 1)` — for a change that moves every configuration at once: a noisy
//!   configuration's ranks stay its own and cannot drown the quiet ones';
//! - [`ratio_interval`]: a percentile bootstrap interval (Efron, 1979) of the ratio of the
//!   medians, seeded so that a verdict is reproducible, resampled within each stratum;
//! - [`can_decide`]: whether samples this small can reach significance at all.

use flowmark_core::rng::SplitMix64;

/// The median (the mean of the two middle values of an even count); `NaN` for none.
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 { v[n / 2] } else { (v[n / 2 - 1] + v[n / 2]) / 2.0 }
}

/// The outcome of a Mann–Whitney U test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MannWhitney {
    /// U of the second sample: how many of the pairs `(a, b)` have `b > a` (ties count half).
    pub u: f64,
    /// The two-sided p-value.
    pub p: f64,
    /// Whether `p` is exact (small samples without ties) or the normal approximation.
    pub exact: bool,
}

/// Largest total sample size for which the exact distribution of U is computed.
const EXACT_UP_TO: usize = 40;

/// Tests whether `b` tends to differ from `a`; `None` when either is empty.
pub fn mann_whitney(a: &[f64], b: &[f64]) -> Option<MannWhitney> {
    let (m, n) = (a.len(), b.len());
    if m == 0 || n == 0 {
        return None;
    }
    let mut u = 0.0;
    for x in a {
        for y in b {
            u += match y.total_cmp(x) {
                std::cmp::Ordering::Greater => 1.0,
                std::cmp::Ordering::Equal => 0.5,
                std::cmp::Ordering::Less => 0.0,
            };
        }
    }
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(f64::total_cmp);
    let ties: Vec<usize> =
        all.chunk_by(|x, y| x.total_cmp(y).is_eq()).map(<[f64]>::len).filter(|&t| t > 1).collect();
    if ties.is_empty() && m + n <= EXACT_UP_TO {
        let counts = u_distribution(m, n);
        let total: f64 = counts.iter().sum();
        let k = u as usize;
        let below: f64 = counts[..=k].iter().sum::<f64>() / total;
        let above: f64 = counts[k..].iter().sum::<f64>() / total;
        return Some(MannWhitney { u, p: (2.0 * below.min(above)).min(1.0), exact: true });
    }
    let (mf, nf) = (m as f64, n as f64);
    let total = mf + nf;
    let tie_term: f64 =
        ties.iter().map(|&t| (t as f64).powi(3) - t as f64).sum::<f64>() / (total * (total - 1.0));
    let variance = mf * nf / 12.0 * ((total + 1.0) - tie_term);
    if variance <= 0.0 {
        // every value is the same
        return Some(MannWhitney { u, p: 1.0, exact: false });
    }
    let mean = mf * nf / 2.0;
    let z = ((u - mean).abs() - 0.5).max(0.0) / variance.sqrt();
    Some(MannWhitney { u, p: (2.0 * normal_upper_tail(z)).min(1.0), exact: false })
}

/// The outcome of van Elteren's test.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stratified {
    /// The standardised statistic: positive when the second samples tend to be larger.
    pub z: f64,
    /// The two-sided p-value (the normal approximation).
    pub p: f64,
}

/// Tests whether the second sample of each stratum tends to differ from its first, every
/// stratum the same way: `T = Σ W / (N + 1)` over the strata, with `W` the second sample's rank
/// sum within its stratum (midranks for ties) and `N` the stratum's size, standardised by its
/// mean `Σ n / 2` and variance `Σ m n ((N + 1) − Σ (t³ − t) / (N (N − 1))) / (12 (N + 1)²)`
/// (Lehmann, *Nonparametrics*, 1975, §3.3). Strata missing a side add nothing; `None` when
/// every stratum does.
pub fn van_elteren(strata: &[(&[f64], &[f64])]) -> Option<Stratified> {
    let (mut t, mut mean, mut variance) = (0.0, 0.0, 0.0);
    let mut any = false;
    for (a, b) in strata {
        let (m, n) = (a.len() as f64, b.len() as f64);
        if a.is_empty() || b.is_empty() {
            continue;
        }
        any = true;
        let total = m + n;
        let mut all: Vec<(f64, bool)> =
            a.iter().map(|&v| (v, false)).chain(b.iter().map(|&v| (v, true))).collect();
        all.sort_by(|x, y| x.0.total_cmp(&y.0));
        let (mut w, mut ties, mut at) = (0.0, 0.0, 0usize);
        for group in all.chunk_by(|x, y| x.0.total_cmp(&y.0).is_eq()) {
            let size = group.len() as f64;
            let midrank = at as f64 + (size + 1.0) / 2.0;
            w += midrank * group.iter().filter(|(_, second)| *second).count() as f64;
            ties += size.powi(3) - size;
            at += group.len();
        }
        let weight = 1.0 / (total + 1.0);
        t += w * weight;
        mean += n / 2.0;
        let tie_term = if total > 1.0 { ties / (total * (total - 1.0)) } else { 0.0 };
        variance += m * n * ((total + 1.0) - tie_term) / 12.0 * weight * weight;
    }
    if !any {
        return None;
    }
    if variance <= 0.0 {
        return Some(Stratified { z: 0.0, p: 1.0 });
    }
    let z = (t - mean) / variance.sqrt();
    Some(Stratified { z, p: (2.0 * normal_upper_tail(z.abs())).min(1.0) })
}

/// The number of arrangements of `m` and `n` distinct values giving each U, `0..=m·n`: the
/// largest value is either the first sample's (no value of the second is above it) or the
/// second's (above all `m` of the first), so `f(m, n, u) = f(m − 1, n, u) + f(m, n − 1, u − m)`.
fn u_distribution(m: usize, n: usize) -> Vec<f64> {
    // table[j][u] for the current m, j = 0..=n
    let mut table: Vec<Vec<f64>> = (0..=n).map(|_| vec![1.0]).collect();
    for i in 1..=m {
        let mut next: Vec<Vec<f64>> = vec![vec![1.0]];
        for j in 1..=n {
            let mut row = vec![0.0; i * j + 1];
            // the largest value is from the first sample: no pair gains
            for (u, c) in table[j].iter().enumerate() {
                row[u] += c;
            }
            // … or from the second: it is above all i of the first
            for (u, c) in next[j - 1].iter().enumerate() {
                row[u + i] += c;
            }
            next.push(row);
        }
        table = next;
    }
    table.swap_remove(n)
}

/// `P(Z > z)` of the standard normal distribution.
fn normal_upper_tail(z: f64) -> f64 {
    use statrs::distribution::{ContinuousCDF, Normal};
    Normal::standard().sf(z)
}

/// Whether samples of these sizes can reach a two-sided p below `alpha` at all: the exact
/// test's smallest p is `2 / C(m + n, m)` (every value of one side above every value of the
/// other). With 3 runs a side it is 0.1; with 4, 0.029.
pub fn can_decide(m: usize, n: usize, alpha: f64) -> bool {
    if m == 0 || n == 0 {
        return false;
    }
    let mut arrangements = 1.0;
    for i in 0..m.min(n) {
        arrangements = arrangements * (m + n - i) as f64 / (i + 1) as f64;
    }
    2.0 / arrangements < alpha
}

/// The runs per side needed for a verdict at `alpha` with equal sides.
pub fn runs_needed(alpha: f64) -> usize {
    (1..).find(|&n| can_decide(n, n, alpha)).unwrap_or(usize::MAX)
}

/// A `level` (say 0.95) percentile bootstrap interval of `median(b) / median(a)`, from
/// `resamples` resamplings of each side drawn with `seed`; `None` when a side is empty, or a
/// resampled median of `a` is 0 or a ratio is not finite (an infinite recovery).
pub fn ratio_interval(a: &[f64], b: &[f64], level: f64, resamples: usize, seed: u64) -> Option<(f64, f64)> {
    stratified_ratio_interval(&[(a, b)], level, resamples, seed)
}

/// [`ratio_interval`] of pooled strata: each resampling draws every stratum's sides from that
/// stratum alone (as many values as it has), so that each stratum keeps its share of the
/// pool; the ratio is of the pooled medians. `None` when either pooled side is empty.
pub fn stratified_ratio_interval(
    strata: &[(&[f64], &[f64])],
    level: f64,
    resamples: usize,
    seed: u64,
) -> Option<(f64, f64)> {
    if strata.iter().all(|s| s.0.is_empty()) || strata.iter().all(|s| s.1.is_empty()) || resamples == 0 {
        return None;
    }
    let mut rng = SplitMix64::from_state(seed);
    let mut draw = |second: bool| -> f64 {
        let mut sample = Vec::new();
        for &(a, b) in strata {
            let v = if second { b } else { a };
            sample.extend((0..v.len()).map(|_| v[rng.below(v.len() as u64) as usize]));
        }
        median(&sample)
    };
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let (ma, mb) = (draw(false), draw(true));
        if ma == 0.0 || !(mb / ma).is_finite() {
            return None;
        }
        ratios.push(mb / ma);
    }
    ratios.sort_by(f64::total_cmp);
    let tail = (1.0 - level) / 2.0;
    let at = |q: f64| ratios[((q * resamples as f64) as usize).min(resamples - 1)];
    Some((at(tail), at(1.0 - tail)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` values around `centre` with a noise of ±`spread` (relative), heavy on one side,
    /// from `seed`.
    fn noisy(n: usize, centre: f64, spread: f64, seed: u64) -> Vec<f64> {
        let mut g = SplitMix64::from_state(seed);
        (0..n).map(|_| centre * (1.0 + spread * (g.next_f64() - 0.3).powi(3) * 3.0)).collect()
    }

    #[test]
    fn the_median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    #[test]
    fn the_exact_distribution_of_u_is_that_of_the_tables() {
        // m = n = 2: U = 0..4 with counts 1 1 2 1 1 (of C(4, 2) = 6)
        assert_eq!(u_distribution(2, 2), vec![1.0, 1.0, 2.0, 1.0, 1.0]);
        // m = 3, n = 2: C(5, 2) = 10 arrangements, symmetric
        let d = u_distribution(3, 2);
        assert_eq!(d.iter().sum::<f64>(), 10.0);
        assert_eq!(d, vec![1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0]);
        assert_eq!(u_distribution(4, 4).iter().sum::<f64>(), 70.0);
    }

    #[test]
    fn complete_separation_of_four_runs_a_side_is_significant_and_of_three_is_not() {
        let t = mann_whitney(&[1.0, 2.0, 3.0, 4.0], &[5.0, 6.0, 7.0, 8.0]).unwrap();
        assert!(t.exact);
        assert_eq!(t.u, 16.0);
        assert!((t.p - 2.0 / 70.0).abs() < 1e-12, "{}", t.p);
        let t = mann_whitney(&[1.0, 2.0, 3.0], &[5.0, 6.0, 7.0]).unwrap();
        assert!((t.p - 0.1).abs() < 1e-12, "{}", t.p);
        assert!(can_decide(4, 4, 0.05) && !can_decide(3, 3, 0.05) && !can_decide(1, 1, 0.05));
        assert!(can_decide(3, 5, 0.05), "2 / C(8, 3) = 0.036");
        assert!(!can_decide(2, 6, 0.05), "2 / C(8, 2) = 0.071");
        assert_eq!(runs_needed(0.05), 4);
    }

    #[test]
    fn identical_samples_and_ties_give_no_signal() {
        let t = mann_whitney(&[5.0; 6], &[5.0; 6]).unwrap();
        assert_eq!(t.p, 1.0);
        let t = mann_whitney(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 2.0, 3.0]).unwrap();
        assert!(!t.exact && t.p > 0.9, "{t:?}");
        assert!(mann_whitney(&[], &[1.0]).is_none());
    }

    #[test]
    fn the_normal_approximation_agrees_with_the_exact_test_for_larger_samples() {
        let a: Vec<f64> = (0..20).map(f64::from).collect();
        let b: Vec<f64> = (0..20).map(|i| f64::from(i) + 6.5).collect();
        let exact = mann_whitney(&a, &b).unwrap();
        assert!(exact.exact);
        let mut b_tied = b.clone();
        b_tied[0] = a[10]; // one tie forces the approximation
        let approx = mann_whitney(&a, &b_tied).unwrap();
        assert!(!approx.exact);
        assert!((exact.p.ln() - approx.p.ln()).abs() < 0.5, "{} vs {}", exact.p, approx.p);
    }

    #[test]
    fn no_effect_rarely_alarms_and_a_known_shift_is_found() {
        // 200 comparisons of 6 runs a side drawn from one distribution: about 5 % below 0.05
        let alarms = (0..200)
            .filter(|i| {
                let (a, b) = (noisy(6, 100.0, 0.2, 2 * i), noisy(6, 100.0, 0.2, 2 * i + 1));
                mann_whitney(&a, &b).unwrap().p < 0.05
            })
            .count();
        assert!(alarms <= 20, "{alarms} of 200 false alarms");
        // a 30 % shift against noise of about ±10 %: found nearly always
        let found = (0..50)
            .filter(|i| {
                let (a, b) = (noisy(6, 100.0, 0.1, 1000 + 2 * i), noisy(6, 130.0, 0.1, 1001 + 2 * i));
                mann_whitney(&a, &b).unwrap().p < 0.05
            })
            .count();
        assert!(found >= 48, "{found} of 50 shifts found");
    }

    #[test]
    fn van_elteren_of_one_stratum_is_the_normal_mann_whitney() {
        // without the continuity correction, Z of one stratum is (U − mn/2) / √(mn(N+1)/12)
        let (a, b) = ([1.0, 2.0, 4.0, 7.0, 8.0], [3.0, 5.0, 6.0, 9.0, 10.0, 11.0]);
        let t = van_elteren(&[(&a, &b)]).unwrap();
        let u = mann_whitney(&a, &b).unwrap().u;
        let z = (u - 15.0) / (30.0_f64 * 12.0 / 12.0).sqrt();
        assert!((t.z - z).abs() < 1e-12, "{} vs {z}", t.z);
        assert!((t.p - 2.0 * normal_upper_tail(z)).abs() < 1e-12);
        // its sign says which side is larger
        assert!(van_elteren(&[(&b, &a)]).unwrap().z < 0.0);
    }

    #[test]
    fn van_elteren_adds_strata_with_weights_and_handles_ties_and_empty_sides() {
        // two identical strata of complete separation: T − E doubles, the variance doubles
        let (a, b) = ([1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]);
        let one = van_elteren(&[(&a, &b)]).unwrap();
        let two = van_elteren(&[(&a, &b), (&a, &b)]).unwrap();
        assert!((two.z - one.z * 2f64.sqrt()).abs() < 1e-12, "{two:?} {one:?}");
        // complete separation of 4 + 4 in each of 8 strata: far beyond any corrected level
        let eight = van_elteren(&[(&a[..], &b[..]); 8]).unwrap();
        assert!(eight.p < 1e-6, "{eight:?}");
        // W = 26, N = 8: Z = (26 / 9 − 2) / √(16 · 9 / 12 / 81)
        assert!((one.z - (26.0 / 9.0 - 2.0) / (16.0_f64 * 9.0 / 12.0 / 81.0).sqrt()).abs() < 1e-12);
        // a stratum without one of its sides adds nothing
        let with_empty = van_elteren(&[(&a, &b), (&a, &[])]).unwrap();
        assert_eq!(with_empty, one);
        assert!(van_elteren(&[(&[], &b)]).is_none());
        assert!(van_elteren(&[]).is_none());
        // every value the same: no signal; ties take midranks and shrink the variance
        assert_eq!(van_elteren(&[(&[5.0; 3], &[5.0; 3])]).unwrap().p, 1.0);
        let tied = van_elteren(&[(&[1.0, 2.0, 2.0], &[2.0, 3.0, 4.0])]).unwrap();
        let untied = van_elteren(&[(&[1.0, 2.0, 2.1], &[2.2, 3.0, 4.0])]).unwrap();
        assert!(tied.z > 0.0 && tied.z < untied.z, "{tied:?} {untied:?}");
    }

    #[test]
    fn a_noisy_stratum_does_not_hide_a_shift_of_the_quiet_ones() {
        // a 5 % shift in three quiet strata (±5 %) and five very noisy ones (±60 %), values
        // divided by each stratum's median as `compare` pools them: the stratified test finds
        // it nearly always, the one pooled rank test clearly less often
        let (mut stratified, mut pooled) = (0, 0);
        for i in 0..100u64 {
            let strata: Vec<(Vec<f64>, Vec<f64>)> = (0..8u64)
                .map(|s| {
                    let spread = if s < 5 { 0.6 } else { 0.05 };
                    let seed = 10_000 + 100 * i + 2 * s;
                    let (a, b) = (noisy(4, 1.0, spread, seed), noisy(4, 1.05, spread, seed + 1));
                    let centre = median(&[a.as_slice(), b.as_slice()].concat());
                    (a.iter().map(|v| v / centre).collect(), b.iter().map(|v| v / centre).collect())
                })
                .collect();
            let refs: Vec<(&[f64], &[f64])> =
                strata.iter().map(|(a, b)| (a.as_slice(), b.as_slice())).collect();
            stratified += usize::from(van_elteren(&refs).unwrap().p < 0.005);
            let (a, b): (Vec<f64>, Vec<f64>) = (
                refs.iter().flat_map(|s| s.0).copied().collect(),
                refs.iter().flat_map(|s| s.1).copied().collect(),
            );
            pooled += usize::from(mann_whitney(&a, &b).unwrap().p < 0.005);
        }
        assert!(stratified >= 88, "the stratified test found {stratified} of 100");
        assert!(pooled + 8 <= stratified, "pooled ranks found {pooled}, stratified {stratified}");
        // and no shift: rarely an alarm
        let alarms = (0..200u64)
            .filter(|i| {
                let strata: Vec<(Vec<f64>, Vec<f64>)> = (0..8u64)
                    .map(|s| {
                        (
                            noisy(4, 1.0, 0.2, 50_000 + 20 * i + 2 * s),
                            noisy(4, 1.0, 0.2, 50_001 + 20 * i + 2 * s),
                        )
                    })
                    .collect();
                let refs: Vec<(&[f64], &[f64])> =
                    strata.iter().map(|(a, b)| (a.as_slice(), b.as_slice())).collect();
                van_elteren(&refs).unwrap().p < 0.05
            })
            .count();
        assert!(alarms <= 20, "{alarms} of 200 false alarms at 5 %");
    }

    #[test]
    fn the_stratified_interval_resamples_within_strata() {
        // one stratum: the same interval as the unstratified one, from the same seed
        let (a, b) = (noisy(8, 100.0, 0.1, 7), noisy(8, 150.0, 0.1, 8));
        assert_eq!(
            stratified_ratio_interval(&[(&a, &b)], 0.95, 500, 3),
            ratio_interval(&a, &b, 0.95, 500, 3)
        );
        // two strata, each with no noise at all, one at 1 → 1.1 and one at 10 → 11: every
        // resampling keeps one value of each stratum per side, so the pooled ratio never moves
        let (lo, hi) =
            stratified_ratio_interval(&[(&[1.0], &[1.1]), (&[10.0], &[11.0])], 0.95, 500, 3).unwrap();
        assert!((lo - 1.1).abs() < 1e-12 && (hi - lo).abs() < 1e-12, "({lo}, {hi})");
        assert_eq!(stratified_ratio_interval(&[(&[], &[1.0])], 0.95, 10, 1), None);
    }

    #[test]
    fn the_bootstrap_interval_covers_the_true_ratio_and_is_reproducible() {
        let a = noisy(8, 100.0, 0.1, 7);
        let b = noisy(8, 150.0, 0.1, 8);
        let (lo, hi) = ratio_interval(&a, &b, 0.95, 2000, 42).unwrap();
        assert!(lo < 1.5 && 1.5 < hi && lo > 1.2 && hi < 1.8, "({lo}, {hi})");
        assert_eq!(
            ratio_interval(&a, &b, 0.95, 2000, 42),
            Some((lo, hi)),
            "the same seed, the same interval"
        );
        assert_eq!(ratio_interval(&[0.0, 0.0], &[1.0], 0.95, 10, 1), None);
        assert_eq!(ratio_interval(&[1.0], &[], 0.95, 10, 1), None);
        assert_eq!(ratio_interval(&[f64::INFINITY; 3], &[f64::INFINITY; 3], 0.95, 10, 1), None);
    }
}
