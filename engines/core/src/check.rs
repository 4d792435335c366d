//! The correctness check: an engine's emitted results against the reference engine's.

use crate::output::ResultLine;
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// The expected results: the final value of every identity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    results: FxHashMap<String, String>,
}

impl Expected {
    /// Expected results from the reference engine's output, last value per identity.
    pub fn from_lines(lines: impl IntoIterator<Item = ResultLine>) -> Self {
        let mut results = FxHashMap::default();
        for l in lines {
            results.insert(l.id, l.value);
        }
        Expected { results }
    }

    /// How many results there are.
    pub fn len(&self) -> usize {
        self.results.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }

    /// The expected value of an identity.
    pub fn get(&self, id: &str) -> Option<&str> {
        self.results.get(id).map(String::as_str)
    }

    /// The results in identity order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        let mut all: Vec<(&str, &str)> = self.results.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        all.sort_unstable();
        all.into_iter()
    }

    /// Checks an engine's emissions, in the order a reader saw them, against these results.
    pub fn check<'a>(&self, emitted: impl IntoIterator<Item = &'a ResultLine>) -> Verdict {
        tally(|id| self.results.get(id).map(String::as_str), self.results.keys().map(String::as_str), emitted)
    }
}

/// Checks emissions, in the order a reader saw them, against expected lines (the last value of
/// an identity counts), without copying either: what [`Expected::check`] does, for a caller
/// that holds the expected lines already (millions of them, for a big run).
pub fn check_lines<'a>(
    expected: impl IntoIterator<Item = &'a ResultLine>,
    emitted: impl IntoIterator<Item = &'a ResultLine>,
) -> Verdict {
    let expected = expected.into_iter();
    let mut results: FxHashMap<&str, &str> =
        FxHashMap::with_capacity_and_hasher(expected.size_hint().0, Default::default());
    for l in expected {
        results.insert(&l.id, &l.value);
    }
    tally(|id| results.get(id).copied(), results.keys().copied(), emitted)
}

/// The verdict on `emitted` against the expected value of each identity (`expected`, whose
/// identities are `ids`).
fn tally<'a, 'e>(
    expected: impl Fn(&str) -> Option<&'e str>,
    ids: impl Iterator<Item = &'e str>,
    emitted: impl IntoIterator<Item = &'a ResultLine>,
) -> Verdict {
    let emitted = emitted.into_iter();
    let mut last: FxHashMap<&str, &str> =
        FxHashMap::with_capacity_and_hasher(emitted.size_hint().0, Default::default());
    let mut verdict = Verdict::default();
    for line in emitted {
        verdict.emitted += 1;
        match last.insert(&line.id, &line.value) {
            // the same value again for the same identity: a replayed emission
            Some(prev) if prev == line.value => verdict.duplicated += 1,
            _ => {}
        }
    }
    for (id, value) in &last {
        match expected(id) {
            None => verdict.unexpected += 1,
            Some(v) if v != *value => verdict.wrong += 1,
            Some(_) => verdict.correct += 1,
        }
    }
    verdict.missing = ids.filter(|k| !last.contains_key(*k)).count() as u64;
    verdict
}

/// How an engine's output compares with the reference.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// Emissions seen, updates included.
    pub emitted: u64,
    /// Identities whose final value matches.
    pub correct: u64,
    /// Expected identities never emitted.
    pub missing: u64,
    /// Emissions that repeat the previous value of their identity (a replay after a crash).
    pub duplicated: u64,
    /// Identities whose final value differs.
    pub wrong: u64,
    /// Identities the reference does not have.
    pub unexpected: u64,
}

impl Verdict {
    /// Whether the output is exactly the reference's, with nothing emitted twice.
    pub fn is_exact(&self) -> bool {
        self.missing == 0 && self.duplicated == 0 && self.wrong == 0 && self.unexpected == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(id: &str, v: &str) -> ResultLine {
        ResultLine { id: id.into(), value: v.into() }
    }

    #[test]
    fn expected_keeps_the_last_value_per_identity_in_identity_order() {
        let e = Expected::from_lines([l("b", "2"), l("a", "1"), l("a", "3")]);
        assert_eq!((e.len(), e.is_empty()), (2, false));
        assert!(Expected::default().is_empty());
        assert_eq!((e.get("a"), e.get("z")), (Some("3"), None));
        assert_eq!(e.iter().collect::<Vec<_>>(), [("a", "3"), ("b", "2")]);
    }

    #[test]
    fn exact_means_every_fault_count_is_zero() {
        assert!(Verdict { emitted: 3, correct: 3, ..Verdict::default() }.is_exact());
        for v in [
            Verdict { missing: 1, ..Verdict::default() },
            Verdict { duplicated: 1, ..Verdict::default() },
            Verdict { wrong: 1, ..Verdict::default() },
            Verdict { unexpected: 1, ..Verdict::default() },
        ] {
            assert!(!v.is_exact(), "{v:?}");
        }
    }

    #[test]
    fn late_firings_are_updates_not_duplicates() {
        // a window fires with 5, a late record fires it again with 9: the last value is the
        // result and nothing is a duplicate; a replay of the re-firing is one
        let expected = Expected::from_lines([l("w", "9")]);
        let v = expected.check(&[l("w", "5"), l("w", "9")]);
        assert_eq!(v, Verdict { emitted: 2, correct: 1, ..Verdict::default() });
        assert!(v.is_exact());
        let v = expected.check(&[l("w", "5"), l("w", "9"), l("w", "9")]);
        assert_eq!((v.duplicated, v.correct), (1, 1));
        // an earlier value coming back is an update, not a duplicate (A, B, A)
        let v = Expected::from_lines([l("w", "5")]).check(&[l("w", "5"), l("w", "9"), l("w", "5")]);
        assert!(v.is_exact(), "{v:?}");
    }

    #[test]
    fn final_value_wins_and_replays_count_as_duplicates() {
        let expected = Expected::from_lines([l("a", "1"), l("b", "2"), l("c", "3")]);
        let emitted = [l("a", "0"), l("a", "1"), l("b", "2"), l("b", "2"), l("x", "9")];
        let v = expected.check(&emitted);
        assert_eq!(v, Verdict { emitted: 5, correct: 2, missing: 1, duplicated: 1, wrong: 0, unexpected: 1 });
        assert!(!v.is_exact());
        let v = expected.check(&[l("a", "1"), l("b", "2"), l("c", "4")]);
        assert_eq!((v.correct, v.wrong), (2, 1));
        assert!(expected.check(&[l("c", "3"), l("b", "2"), l("a", "1")]).is_exact());
    }

    #[test]
    fn checking_borrowed_lines_gives_the_same_verdict() {
        let expected = [l("a", "1"), l("b", "2"), l("c", "3"), l("a", "4")];
        let emitted = [l("a", "0"), l("a", "4"), l("b", "2"), l("b", "2"), l("x", "9")];
        assert_eq!(check_lines(&expected, &emitted), Expected::from_lines(expected.clone()).check(&emitted));
        assert_eq!(check_lines(&expected, &emitted).missing, 1, "c; a's last expected value is 4");
    }
}
