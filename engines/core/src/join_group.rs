//! One key's records of one window of a window join, as both engines keep them, and the join
//! of such a group — the one place that fixes the order the join function sees.

use crate::record::Rec;
use crate::time::Time;
use crate::window::Window;
use serde::{Deserialize, Serialize};

/// One key's records in one window of a window join.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct JoinGroup<V, W> {
    left: Vec<(Time, V)>,
    right: Vec<(Time, W)>,
}

impl<V, W> Default for JoinGroup<V, W> {
    fn default() -> Self {
        JoinGroup { left: Vec::new(), right: Vec::new() }
    }
}

impl<V: Ord + Clone, W: Ord + Clone> JoinGroup<V, W> {
    /// Adds a left record.
    pub fn push_left(&mut self, time: Time, v: V) {
        self.left.push((time, v));
    }

    /// Adds a right record.
    pub fn push_right(&mut self, time: Time, w: W) {
        self.right.push((time, w));
    }

    /// What the join function gives for this group now — nothing unless both sides have
    /// records — called with both sides' values ordered by (event time, value), so that it
    /// sees the same input on every engine.
    pub fn results<K, O>(
        &self,
        f: &impl Fn(&K, Window, &[V], &[W], &mut Vec<O>),
        key: &K,
        window: Window,
    ) -> Vec<O> {
        let mut buf = Vec::new();
        if self.left.is_empty() || self.right.is_empty() {
            return buf;
        }
        let mut l = self.left.clone();
        let mut r = self.right.clone();
        l.sort();
        r.sort();
        let l: Vec<V> = l.into_iter().map(|x| x.1).collect();
        let r: Vec<W> = r.into_iter().map(|x| x.1).collect();
        f(key, window, &l, &r, &mut buf);
        buf
    }

    /// Emits this group's [`results`](Self::results) as results of `window`.
    pub fn join<K, O>(
        &self,
        f: &impl Fn(&K, Window, &[V], &[W], &mut Vec<O>),
        key: &K,
        window: Window,
        out: &mut Vec<Rec<O>>,
    ) {
        self.emit(self.results(f, key, window), window, out);
    }

    /// Emits `results` of this group as results of `window`.
    pub fn emit<O>(&self, results: Vec<O>, window: Window, out: &mut Vec<Rec<O>>) {
        out.extend(results.into_iter().map(|o| Rec::window_result(window, o)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Joins by listing both sides.
    fn list(k: &u8, w: Window, l: &[char], r: &[char], out: &mut Vec<String>) {
        out.push(format!("{k} {w} {l:?} {r:?}"));
    }

    #[test]
    fn a_group_joins_both_sides_in_time_then_value_order() {
        let mut g = JoinGroup::default();
        let w = Window::new(0, 10);
        g.push_left(5, 'b');
        assert!(g.results(&list, &1, w).is_empty(), "one side only: nothing");
        g.push_right(2, 'z');
        g.push_left(5, 'a');
        g.push_left(1, 'c');
        g.push_right(2, 'y');
        assert_eq!(g.results(&list, &1, w), ["1 [0,10) ['c', 'a', 'b'] ['y', 'z']"]);
        let mut out = Vec::new();
        g.join(&list, &1, w, &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!((out[0].time, out[0].wm), (9, 8));
        g.emit(vec!["again".to_string()], w, &mut out);
        assert_eq!(out[1].data, "again");
        let mut right_only = JoinGroup::<char, char>::default();
        right_only.push_right(1, 'r');
        assert!(right_only.results(&list, &1, w).is_empty());
    }
}
