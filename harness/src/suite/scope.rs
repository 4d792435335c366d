//! Where an engine table's configurations run: `only = { workloads, rates, disorder,
//! failures, search }` narrows them to some of the suite's workloads, loads, disorder levels
//! and failure scenarios (and keeps them out of the throughput searches), so that a table
//! varying one setting runs only where that setting matters.

use super::fields::{Locate, SuiteError};
use serde::Deserialize;
use toml::Spanned;

/// The names a table's configurations run on; a list left out admits every one.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// Workloads, by the names their runs go by.
    pub workloads: Option<Vec<String>>,
    /// Loads, by the names their runs go by (`1000000`, `0.5x`, a profile's name).
    pub rates: Option<Vec<String>>,
    /// Disorder levels, by name.
    pub disorder: Option<Vec<String>>,
    /// Failure scenarios, by name.
    pub failures: Option<Vec<String>>,
    /// Whether `[throughput]` searches the table's configurations (default: yes).
    pub search: Option<bool>,
}

/// Whether `list` admits `name` (a list left out admits every name).
fn names(list: &Option<Vec<String>>, name: &str) -> bool {
    list.as_ref().is_none_or(|l| l.iter().any(|n| n == name))
}

impl Scope {
    /// Whether a run of this workload, load, disorder level and failure scenario is in scope.
    pub fn admits(&self, workload: &str, load: &str, disorder: &str, failure: &str) -> bool {
        names(&self.workloads, workload)
            && names(&self.rates, load)
            && names(&self.disorder, disorder)
            && names(&self.failures, failure)
    }

    /// Whether some run of `workload` — under the failure scenario `failure`, when one is
    /// named — is in scope, whatever its load and disorder.
    pub fn admits_some(&self, workload: &str, failure: Option<&str>) -> bool {
        names(&self.workloads, workload) && failure.is_none_or(|f| names(&self.failures, f))
    }

    /// Whether a throughput search on `workload` is in scope: it reads `disorder` (the suite's
    /// first level) and injects no failure, which one of `unfailing` names (the scenarios of
    /// kind `none`).
    pub fn admits_search(&self, workload: &str, disorder: &str, unfailing: &[String]) -> bool {
        self.search != Some(false)
            && names(&self.workloads, workload)
            && names(&self.disorder, disorder)
            && (self.failures.is_none() || unfailing.iter().any(|f| names(&self.failures, f)))
    }

    /// An error at `only` when it names something the suite does not have, or leaves a list
    /// empty (a table that runs nowhere).
    pub fn check(
        only: &Spanned<Scope>,
        at: &Locate,
        workloads: &[String],
        rates: &[String],
        disorder: &[String],
        failures: &[String],
    ) -> Result<(), SuiteError> {
        let s = only.get_ref();
        for (key, list, known) in [
            ("workloads", &s.workloads, workloads),
            ("rates", &s.rates, rates),
            ("disorder", &s.disorder, disorder),
            ("failures", &s.failures, failures),
        ] {
            let Some(list) = list else { continue };
            if list.is_empty() {
                return Err(at.at(only.span(), format!("`only.{key}` is empty: the table would run nowhere")));
            }
            if let Some(unknown) = list.iter().find(|n| !known.contains(n)) {
                return Err(at.at(
                    only.span(),
                    format!(
                        "`only.{key}` names `{unknown}`, which is not one of the suite's: {}",
                        known.join(", ")
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(names: &[&str]) -> Option<Vec<String>> {
        Some(names.iter().map(|n| n.to_string()).collect())
    }

    #[test]
    fn a_list_left_out_admits_everything_and_a_list_only_its_names() {
        let all = Scope::default();
        assert!(all.admits("w", "r", "d", "f"));
        let some = Scope {
            workloads: list(&["a"]),
            rates: list(&["burst"]),
            failures: list(&["none"]),
            ..Default::default()
        };
        assert!(some.admits("a", "burst", "any", "none"));
        assert!(!some.admits("b", "burst", "any", "none"), "another workload");
        assert!(!some.admits("a", "0.5x", "any", "none"), "another load");
        assert!(!some.admits("a", "burst", "any", "crash"), "another failure");
    }

    #[test]
    fn a_search_needs_a_failure_free_scenario_in_scope() {
        let unfailing = vec!["none".to_string()];
        let crash_only = Scope { failures: list(&["crash"]), ..Default::default() };
        assert!(!crash_only.admits_search("w", "d", &unfailing));
        let none = Scope { failures: list(&["crash", "none"]), ..Default::default() };
        assert!(none.admits_search("w", "d", &unfailing));
        let other_level = Scope { disorder: list(&["late"]), ..Default::default() };
        assert!(!other_level.admits_search("w", "d", &unfailing), "searches read the first level");
        assert!(Scope::default().admits_search("w", "d", &[]), "no failure list: a search is in scope");
        let unsearched = Scope { search: Some(false), ..Default::default() };
        assert!(!unsearched.admits_search("w", "d", &unfailing) && unsearched.admits("w", "r", "d", "none"));
    }
}
