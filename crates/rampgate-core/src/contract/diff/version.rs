//! The version rule: a new contract that changes anything must raise `version`,
//! and a lower version is never applied.

use super::ContractDiff;

impl ContractDiff {
    /// Refuses a change that does not increase the version. Widening access
    /// without a higher version is the one a deployment must never let through.
    pub fn check(&self) -> Result<(), VersionError> {
        let (from, to) = (self.from_version, self.to_version);
        // An older version is never deployed over a newer one, changed or not:
        // otherwise a later replay of a stale file could widen access.
        if to < from {
            return Err(VersionError::Decreased { from, to });
        }
        if self.is_empty() || to > from {
            return Ok(());
        }
        if self.widens() {
            Err(VersionError::WidenedWithoutVersion { from, to })
        } else {
            Err(VersionError::ChangedWithoutVersion { from, to })
        }
    }
}

impl ContractDiff {
    /// Refuses a widening whose new version carries no `[change]` note of its
    /// own (`rampgate contract diff --require-change-note`): every grant of
    /// access says who made it and why.
    pub fn require_change_note(&self) -> Result<(), ChangeNoteMissing> {
        if self.widens() && self.change_note.is_none() {
            return Err(ChangeNoteMissing {
                to: self.to_version,
            });
        }
        Ok(())
    }
}

/// A widening without a `[change]` note of its own
/// ([`ContractDiff::require_change_note`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "access widens but version {to} has no [change] note of its own: add a [change] table saying who widened it (author) and why (reason), with its ticket if any"
)]
pub struct ChangeNoteMissing {
    /// The new contract's version.
    pub to: u64,
}

/// Why [`ContractDiff::check`] refuses a new contract: its version does not
/// increase over the one in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// The new version is lower, whether or not anything changed.
    #[error(
        "the version went down ({from} -> {to}): deploy a contract with a higher version instead"
    )]
    Decreased {
        /// The version in force.
        from: u64,
        /// The new contract's version.
        to: u64,
    },
    /// Access widens under the same version.
    #[error("access widens but the version did not increase ({from} -> {to}): raise `version`")]
    WidenedWithoutVersion {
        /// The version in force.
        from: u64,
        /// The new contract's version.
        to: u64,
    },
    /// Something changed (nothing widens) under the same version.
    #[error(
        "the contract changed but the version did not increase ({from} -> {to}): raise `version`"
    )]
    ChangedWithoutVersion {
        /// The version in force.
        from: u64,
        /// The new contract's version.
        to: u64,
    },
}

impl VersionError {
    /// A stable identifier for logs and machines: `version_decreased`,
    /// `widened_without_version` or `changed_without_version`.
    pub fn code(&self) -> &'static str {
        match self {
            VersionError::Decreased { .. } => "version_decreased",
            VersionError::WidenedWithoutVersion { .. } => "widened_without_version",
            VersionError::ChangedWithoutVersion { .. } => "changed_without_version",
        }
    }

    /// The version in force.
    pub fn from_version(&self) -> u64 {
        match *self {
            VersionError::Decreased { from, .. }
            | VersionError::WidenedWithoutVersion { from, .. }
            | VersionError::ChangedWithoutVersion { from, .. } => from,
        }
    }

    /// The refused contract's version.
    pub fn to_version(&self) -> u64 {
        match *self {
            VersionError::Decreased { to, .. }
            | VersionError::WidenedWithoutVersion { to, .. }
            | VersionError::ChangedWithoutVersion { to, .. } => to,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{BASE, diff};
    use super::*;
    use crate::contract::Contract;

    #[test]
    fn widening_without_a_version_bump_is_refused() {
        let d = diff(&BASE.replace("scopes = [\"write\"]\nmode", "scopes = []\nmode"));
        assert!(d.widens());
        assert_eq!(
            d.check().unwrap_err().to_string(),
            "access widens but the version did not increase (1 -> 1): raise `version`"
        );
    }

    #[test]
    fn a_lower_version_is_refused_even_without_changes() {
        let newer = Contract::parse(&BASE.replace("version = 1", "version = 5")).unwrap();
        let d = ContractDiff::between(&newer, &Contract::parse(BASE).unwrap());
        assert_eq!(
            d.check().unwrap_err().to_string(),
            "the version went down (5 -> 1): deploy a contract with a higher version instead"
        );
    }

    #[test]
    fn each_refusal_has_its_code_and_versions() {
        let refusals = [
            (
                VersionError::Decreased { from: 5, to: 1 },
                "version_decreased",
            ),
            (
                VersionError::WidenedWithoutVersion { from: 3, to: 3 },
                "widened_without_version",
            ),
            (
                VersionError::ChangedWithoutVersion { from: 3, to: 3 },
                "changed_without_version",
            ),
        ];
        for (refusal, code) in refusals {
            assert_eq!(refusal.code(), code);
        }
        let narrowed = diff(&BASE.replace("mode = \"observe\"", "mode = \"enforce\""));
        assert_eq!(
            narrowed.check(),
            Err(VersionError::ChangedWithoutVersion { from: 1, to: 1 })
        );
        assert_eq!(
            narrowed.check().unwrap_err().to_string(),
            "the contract changed but the version did not increase (1 -> 1): raise `version`"
        );
        let lower = ContractDiff::between(
            &Contract::parse(&BASE.replace("version = 1", "version = 5")).unwrap(),
            &Contract::parse(BASE).unwrap(),
        );
        let refusal = lower.check().unwrap_err();
        assert_eq!((refusal.from_version(), refusal.to_version()), (5, 1));
    }
}
