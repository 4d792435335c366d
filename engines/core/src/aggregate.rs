//! Aggregate functions: the small trait every keyed running aggregate and window aggregate is
//! written against, and the standard ones.
//!
//! An aggregate is an accumulator with `add` and `merge`. Engines may add records in any order
//! and pre-aggregate on the map side of a shuffle (the micro-batch engine does), so `add` and
//! `merge` must be commutative and associative: the result may not depend on the order in
//! which records reached the accumulator. Every aggregate here is; a [`Fold`] must be too.

use crate::record::Data;
use serde::{Deserialize, Serialize};
use std::fmt;

/// An aggregate function over values of type `V`.
pub trait Aggregate<V>: Clone + Send + 'static {
    /// The accumulator: what the engine keeps per key (and window) and checkpoints.
    type Acc: Data;
    /// The result. Comparable, so that an engine can leave out an update that does not change
    /// a result (see [`crate::output`]).
    type Out: Data + PartialEq;
    /// A fresh accumulator.
    fn init(&self) -> Self::Acc;
    /// Adds one value.
    fn add(&self, acc: &mut Self::Acc, value: &V);
    /// Merges another accumulator into `acc` (map-side pre-aggregation, session merges).
    fn merge(&self, acc: &mut Self::Acc, other: Self::Acc);
    /// The result of an accumulator.
    fn finish(&self, acc: &Self::Acc) -> Self::Out;
}

/// The number of values.
#[derive(Clone, Copy, Debug, Default)]
pub struct Count;

impl<V> Aggregate<V> for Count {
    type Acc = u64;
    type Out = u64;
    #[inline]
    fn init(&self) -> u64 {
        0
    }
    #[inline]
    fn add(&self, acc: &mut u64, _: &V) {
        *acc += 1;
    }
    #[inline]
    fn merge(&self, acc: &mut u64, other: u64) {
        *acc += other;
    }
    #[inline]
    fn finish(&self, acc: &u64) -> u64 {
        *acc
    }
}

/// The sum of an integer projection of the values.
#[derive(Clone, Copy, Debug)]
pub struct Sum<F>(pub F);

impl<V, F: Fn(&V) -> i64 + Clone + Send + 'static> Aggregate<V> for Sum<F> {
    type Acc = i64;
    type Out = i64;
    #[inline]
    fn init(&self) -> i64 {
        0
    }
    #[inline]
    fn add(&self, acc: &mut i64, v: &V) {
        *acc = acc.wrapping_add((self.0)(v));
    }
    #[inline]
    fn merge(&self, acc: &mut i64, other: i64) {
        *acc = acc.wrapping_add(other);
    }
    #[inline]
    fn finish(&self, acc: &i64) -> i64 {
        *acc
    }
}

/// The smallest integer projection of the values.
#[derive(Clone, Copy, Debug)]
pub struct Min<F>(pub F);

impl<V, F: Fn(&V) -> i64 + Clone + Send + 'static> Aggregate<V> for Min<F> {
    type Acc = Option<i64>;
    type Out = i64;
    fn init(&self) -> Option<i64> {
        None
    }
    #[inline]
    fn add(&self, acc: &mut Option<i64>, v: &V) {
        let x = (self.0)(v);
        *acc = Some(acc.map_or(x, |a| a.min(x)));
    }
    fn merge(&self, acc: &mut Option<i64>, other: Option<i64>) {
        *acc = match (*acc, other) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
    }
    /// An empty group has no result; engines never finish one.
    fn finish(&self, acc: &Option<i64>) -> i64 {
        acc.unwrap_or(i64::MAX)
    }
}

/// The largest integer projection of the values.
#[derive(Clone, Copy, Debug)]
pub struct Max<F>(pub F);

impl<V, F: Fn(&V) -> i64 + Clone + Send + 'static> Aggregate<V> for Max<F> {
    type Acc = Option<i64>;
    type Out = i64;
    fn init(&self) -> Option<i64> {
        None
    }
    #[inline]
    fn add(&self, acc: &mut Option<i64>, v: &V) {
        let x = (self.0)(v);
        *acc = Some(acc.map_or(x, |a| a.max(x)));
    }
    fn merge(&self, acc: &mut Option<i64>, other: Option<i64>) {
        *acc = match (*acc, other) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
    /// An empty group has no result; engines never finish one.
    fn finish(&self, acc: &Option<i64>) -> i64 {
        acc.unwrap_or(i64::MIN)
    }
}

/// The mean of an integer projection of the values. The sum is kept exactly (as an integer),
/// so the mean is the same whatever order the values came in.
#[derive(Clone, Copy, Debug)]
pub struct Average<F>(pub F);

/// The accumulator of [`Average`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mean {
    /// Sum of the values.
    pub sum: i128,
    /// Number of values.
    pub count: u64,
}

/// A mean, printed with a fixed number of decimals so that every engine writes it alike.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct MeanValue(pub f64);

impl fmt::Display for MeanValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:.3}", self.0)
    }
}

impl<V, F: Fn(&V) -> i64 + Clone + Send + 'static> Aggregate<V> for Average<F> {
    type Acc = Mean;
    type Out = MeanValue;
    fn init(&self) -> Mean {
        Mean::default()
    }
    #[inline]
    fn add(&self, acc: &mut Mean, v: &V) {
        acc.sum += i128::from((self.0)(v));
        acc.count += 1;
    }
    fn merge(&self, acc: &mut Mean, other: Mean) {
        acc.sum += other.sum;
        acc.count += other.count;
    }
    fn finish(&self, acc: &Mean) -> MeanValue {
        if acc.count == 0 { MeanValue(f64::NAN) } else { MeanValue(acc.sum as f64 / acc.count as f64) }
    }
}

/// A general fold: an initial accumulator, a function that adds a value, one that merges two
/// accumulators, and one that turns the accumulator into the result. `add` and `merge` must be
/// commutative and associative (see the module docs).
#[derive(Clone)]
pub struct Fold<A, Add, Merge, Finish> {
    init: A,
    add: Add,
    merge: Merge,
    finish: Finish,
}

impl<A, Add, Merge, Finish> Fold<A, Add, Merge, Finish> {
    /// A fold from its four parts.
    pub fn new(init: A, add: Add, merge: Merge, finish: Finish) -> Self {
        Fold { init, add, merge, finish }
    }
}

impl<V, A, O, Add, Merge, Finish> Aggregate<V> for Fold<A, Add, Merge, Finish>
where
    A: Data,
    O: Data + PartialEq,
    Add: Fn(&mut A, &V) + Clone + Send + 'static,
    Merge: Fn(&mut A, A) + Clone + Send + 'static,
    Finish: Fn(&A) -> O + Clone + Send + 'static,
{
    type Acc = A;
    type Out = O;
    fn init(&self) -> A {
        self.init.clone()
    }
    #[inline]
    fn add(&self, acc: &mut A, v: &V) {
        (self.add)(acc, v)
    }
    fn merge(&self, acc: &mut A, other: A) {
        (self.merge)(acc, other)
    }
    fn finish(&self, acc: &A) -> O {
        (self.finish)(acc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run<A: Aggregate<i64>>(a: &A, xs: &[i64]) -> A::Out {
        // add half, merge the other half: must equal adding all
        let mut left = a.init();
        let mut right = a.init();
        for (i, x) in xs.iter().enumerate() {
            if i % 2 == 0 { a.add(&mut left, x) } else { a.add(&mut right, x) }
        }
        a.merge(&mut left, right);
        a.finish(&left)
    }

    #[test]
    fn standard_aggregates() {
        let xs = [3, -1, 7, 7, 2];
        let id = |x: &i64| *x;
        assert_eq!(run(&Count, &xs), 5);
        assert_eq!(run(&Sum(id), &xs), 18);
        assert_eq!(run(&Min(id), &xs), -1);
        assert_eq!(run(&Max(id), &xs), 7);
        assert_eq!(run(&Average(id), &xs).to_string(), "3.600");
    }

    #[test]
    fn fold_collects_distinct_values() {
        let distinct = Fold::new(
            Vec::<i64>::new(),
            |acc: &mut Vec<i64>, v: &i64| {
                if let Err(i) = acc.binary_search(v) {
                    acc.insert(i, *v)
                }
            },
            |acc: &mut Vec<i64>, other: Vec<i64>| {
                for v in other {
                    if let Err(i) = acc.binary_search(&v) {
                        acc.insert(i, v)
                    }
                }
            },
            |acc: &Vec<i64>| acc.len() as u64,
        );
        assert_eq!(run(&distinct, &[1, 2, 2, 3, 1]), 3);
    }
}
