//! What a route needs of a token's scopes: all of one set and, when given, any
//! one of another. The one scope check that `ScopeLayer`, the `Scoped<R>`
//! extractor, contract routes, the inventory and the CLI all use.

use crate::principal::Scopes;
use std::collections::BTreeSet;
use std::fmt;

/// A scope requirement: every scope of [`all_of`](Requirement::all_of), and at
/// least one of [`any_of`](Requirement::any_of) when that set is not empty.
///
/// ```
/// use rampgate_core::{Requirement, Scopes};
///
/// let admin_or_write = Requirement::all(["items:read"]).and_any(["admin", "items:write"]);
/// let token: Scopes = ["items:read", "admin"].into_iter().collect();
/// assert!(admin_or_write.check(&token).is_ok());
///
/// let reader: Scopes = ["items:read"].into_iter().collect();
/// let unmet = admin_or_write.check(&reader).unwrap_err();
/// assert_eq!((unmet.scope.as_str(), unmet.one_of), ("admin items:write", true));
/// assert_eq!(admin_or_write.describe(), "items:read and one of admin, items:write");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Requirement {
    /// Serialised as `scopes`, the contract file's name for it.
    #[serde(rename = "scopes")]
    all: BTreeSet<String>,
    any: BTreeSet<String>,
}

/// The condition of a [`Requirement`] a token failed: the scopes to name in the
/// `insufficient_scope` challenge (RFC 6750 §3.1), space-delimited.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unmet {
    /// The scopes of the failed condition, space-delimited: the all-of scopes
    /// when one of them is missing, else the any-of ones.
    pub scope: String,
    /// Whether any one of `scope` would do (the any-of condition failed).
    pub one_of: bool,
}

fn joined(set: &BTreeSet<String>, separator: &str) -> String {
    set.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(separator)
}

impl Requirement {
    /// No condition: any verified token satisfies it.
    pub fn none() -> Self {
        Requirement::default()
    }

    /// Every one of `scopes` is required.
    pub fn all<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement {
            all: scopes.into_iter().map(Into::into).collect(),
            any: BTreeSet::new(),
        }
    }

    /// At least one of `scopes` is required.
    pub fn any<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Requirement::none().and_any(scopes)
    }

    /// Adds an any-of condition (replacing the previous one).
    pub fn and_any<I, S>(mut self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.any = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// The scopes that are all required.
    pub fn all_of(&self) -> &BTreeSet<String> {
        &self.all
    }

    /// The scopes of which one is required (empty: no such condition).
    pub fn any_of(&self) -> &BTreeSet<String> {
        &self.any
    }

    /// Whether the requirement has no condition.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty() && self.any.is_empty()
    }

    /// Checks a token's scopes.
    pub fn check(&self, scopes: &Scopes) -> Result<(), Unmet> {
        self.check_with(|s| scopes.contains(s))
    }

    /// Whether the scopes `has` grants satisfy the requirement.
    pub fn is_satisfied_by(&self, has: impl Fn(&str) -> bool) -> bool {
        self.all.iter().all(|s| has(s)) && (self.any.is_empty() || self.any.iter().any(|s| has(s)))
    }

    /// Checks the scopes `has` grants (for example a token's scopes intersected
    /// with what a ramp stage allows), naming the condition that failed.
    pub fn check_with(&self, has: impl Fn(&str) -> bool) -> Result<(), Unmet> {
        if !self.all.iter().all(|s| has(s)) {
            return Err(Unmet {
                scope: joined(&self.all, " "),
                one_of: false,
            });
        }
        if !self.any.is_empty() && !self.any.iter().any(|s| has(s)) {
            return Err(Unmet {
                scope: joined(&self.any, " "),
                one_of: true,
            });
        }
        Ok(())
    }

    /// The scopes to name in a challenge before anything failed: the all-of
    /// scopes, or the any-of ones when there are no all-of scopes.
    pub fn challenge_scope(&self) -> String {
        if self.all.is_empty() {
            joined(&self.any, " ")
        } else {
            joined(&self.all, " ")
        }
    }

    /// In words: `a, b`, `one of a, b`, `a and one of b, c`, or `any valid token`.
    pub fn describe(&self) -> String {
        let list = |set| joined(set, ", ");
        match (self.all.is_empty(), self.any.is_empty()) {
            (true, true) => "any valid token".into(),
            (false, true) => list(&self.all),
            (true, false) => format!("one of {}", list(&self.any)),
            (false, false) => format!("{} and one of {}", list(&self.all), list(&self.any)),
        }
    }
}

impl fmt::Display for Requirement {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(s: &[&str]) -> Scopes {
        s.iter().copied().collect()
    }

    #[test]
    fn all_of_names_the_all_scopes_when_one_is_missing() {
        let r = Requirement::all(["a", "b"]);
        assert!(r.check(&scopes(&["a", "b", "c"])).is_ok());
        let unmet = r.check(&scopes(&["a"])).unwrap_err();
        assert_eq!((unmet.scope.as_str(), unmet.one_of), ("a b", false));
    }

    #[test]
    fn any_of_needs_one_and_is_named_only_when_the_all_part_holds() {
        let r = Requirement::all(["a"]).and_any(["x", "y"]);
        assert!(r.check(&scopes(&["a", "y"])).is_ok());
        let unmet = r.check(&scopes(&["a"])).unwrap_err();
        assert_eq!((unmet.scope.as_str(), unmet.one_of), ("x y", true));
        // Both fail: the all-of condition is named first.
        let unmet = r.check(&scopes(&[])).unwrap_err();
        assert_eq!((unmet.scope.as_str(), unmet.one_of), ("a", false));
    }

    #[test]
    fn no_condition_is_satisfied_by_any_token() {
        assert!(Requirement::none().check(&scopes(&[])).is_ok());
        assert!(Requirement::none().is_empty());
        assert_eq!(Requirement::none().describe(), "any valid token");
    }

    #[test]
    fn descriptions_and_challenge_scope() {
        assert_eq!(Requirement::all(["b", "a"]).describe(), "a, b");
        assert_eq!(Requirement::any(["b", "a"]).describe(), "one of a, b");
        assert_eq!(Requirement::any(["b", "a"]).challenge_scope(), "a b");
        let r = Requirement::all(["r", "s"]).and_any(["x", "y"]);
        assert_eq!(r.describe(), "r, s and one of x, y");
        assert_eq!(r.challenge_scope(), "r s");
    }

    #[test]
    fn check_with_sees_only_what_the_closure_grants() {
        let r = Requirement::all(["read"]);
        let token = scopes(&["read"]);
        let stage = scopes(&[]);
        assert!(r.check(&token).is_ok());
        assert!(
            r.check_with(|s| token.contains(s) && stage.contains(s))
                .is_err()
        );
    }
}
