//! What a new contract changes: which access widens and which narrows. The
//! differ runs one named step per part of the contract (header and scope
//! catalog, routes, consumers, defaults, trust levels).

mod consumers;
mod defaults;
mod header;
mod routes;
mod separation;
mod trust;
mod version;

pub use version::{ChangeNoteMissing, VersionError};

use super::{ChangeNote, Contract};
use std::collections::BTreeSet;
use std::fmt;

/// Whether a change gives more access, less, or neither.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// More access than before.
    Widened,
    /// Less access than before.
    Narrowed,
    /// Neither (documentation, future stages).
    Neutral,
}

/// One change between two contracts.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Change {
    /// Widened, narrowed or neutral.
    pub kind: ChangeKind,
    /// What changed: `route GET /x`, `consumer web`, `defaults`, `scope a`...
    pub subject: String,
    /// How, in words.
    pub detail: String,
    /// For a consumer whose current stage changed: from which stage to which,
    /// and which way along its ramp (the detail says the same in words).
    /// Not in the JSON form of a change, which stays `kind`, `subject`,
    /// `detail`; the audit trail's `contract_changed` entries carry it.
    #[serde(skip)]
    pub stage_move: Option<StageMove>,
}

/// A consumer's move from one stage to another, as data.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct StageMove {
    /// The stage it was at.
    pub from: String,
    /// The stage it is at now.
    pub to: String,
    /// Which way it moved along its new ramp.
    pub direction: StageDirection,
}

impl StageMove {
    /// A move from `from` to `to` in `direction`.
    pub fn new(from: impl Into<String>, to: impl Into<String>, direction: StageDirection) -> Self {
        StageMove {
            from: from.into(),
            to: to.into(),
            direction,
        }
    }
}

/// Which way a consumer moved along its ramp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum StageDirection {
    /// To a later stage of its ramp ("advanced pilot -> ga").
    Advanced,
    /// Back to an earlier stage ("rolled back ga -> pilot").
    RolledBack,
    /// To another stage, the old one being no longer on its ramp.
    Replaced,
}

/// The changes from one contract to the next.
///
/// ```
/// use rampgate_core::contract::{Contract, ContractDiff};
///
/// let old = Contract::parse(r#"
///     version = 1
///     issuer = "https://i.example"
///     audience = "api"
///     [scopes]
///     "read" = "r"
///     "write" = "w"
///     [[consumers]]
///     client_id = "web"
///     stage = "pilot"
///     stages = [{ name = "pilot", scopes = ["read"] }, { name = "ga", scopes = ["read", "write"] }]
/// "#).unwrap();
/// let new_text = r#"
///     version = 1
///     issuer = "https://i.example"
///     audience = "api"
///     [scopes]
///     "read" = "r"
///     "write" = "w"
///     [[consumers]]
///     client_id = "web"
///     stage = "ga"
///     stages = [{ name = "pilot", scopes = ["read"] }, { name = "ga", scopes = ["read", "write"] }]
/// "#;
/// let diff = ContractDiff::between(&old, &Contract::parse(new_text).unwrap());
/// assert!(diff.widens());
/// assert!(diff.check().is_err(), "widening without a version bump is refused");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ContractDiff {
    /// The old contract's version.
    pub from_version: u64,
    /// The new contract's version.
    pub to_version: u64,
    /// The changes, widened first.
    pub changes: Vec<Change>,
    /// The new version's `[change]` note, when it has one of its own (a note
    /// carried over unchanged from the old version does not describe this
    /// change, and is `None` here).
    pub change_note: Option<ChangeNote>,
}

/// A set as `a, b, c`, the way every detail lists scopes and values.
fn list(set: &BTreeSet<String>) -> String {
    set.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn change(kind: ChangeKind, subject: impl Into<String>, detail: impl Into<String>) -> Change {
    Change {
        kind,
        subject: subject.into(),
        detail: detail.into(),
        stage_move: None,
    }
}

/// The change(s) for one subject that may be easier one way and harder
/// another: widened and/or narrowed, or neutral when neither.
fn both_ways(wider: bool, narrower: bool, subject: String, detail: String) -> Vec<Change> {
    match (wider, narrower) {
        (true, true) => vec![
            change(ChangeKind::Widened, subject.clone(), detail.clone()),
            change(ChangeKind::Narrowed, subject, detail),
        ],
        (true, false) => vec![change(ChangeKind::Widened, subject, detail)],
        (false, true) => vec![change(ChangeKind::Narrowed, subject, detail)],
        (false, false) => vec![change(ChangeKind::Neutral, subject, detail)],
    }
}

impl ContractDiff {
    /// The changes from `old` to `new`.
    pub fn between(old: &Contract, new: &Contract) -> ContractDiff {
        let mut changes = [
            header::header(old, new),
            header::scope_catalog(old, new),
            routes::routes(old, new),
            consumers::consumers(old, new),
            defaults::defaults(old, new),
            trust::trust_levels(old, new),
            separation::separations(old, new),
        ]
        .concat();
        // Stable: within a kind, changes stay in the steps' order above.
        changes.sort_by_key(|c| c.kind);
        ContractDiff {
            from_version: old.version(),
            to_version: new.version(),
            changes,
            change_note: new
                .change_note()
                .filter(|note| old.change_note() != Some(*note))
                .cloned(),
        }
    }

    /// Whether any change gives more access.
    pub fn widens(&self) -> bool {
        self.changes.iter().any(|c| c.kind == ChangeKind::Widened)
    }

    /// Whether any change takes access away.
    pub fn narrows(&self) -> bool {
        self.changes.iter().any(|c| c.kind == ChangeKind::Narrowed)
    }

    /// Whether the contracts are the same in effect.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

impl fmt::Display for ContractDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "contract version {} -> {}",
            self.from_version, self.to_version
        )?;
        if let Some(note) = &self.change_note {
            write!(f, "  change by {}: {}", note.author, note.reason)?;
            match &note.ticket {
                Some(ticket) => writeln!(f, " ({ticket})")?,
                None => writeln!(f)?,
            }
        }
        if self.changes.is_empty() {
            return writeln!(f, "  no change in effect");
        }
        for c in &self.changes {
            let kind = match c.kind {
                ChangeKind::Widened => "widened ",
                ChangeKind::Narrowed => "narrowed",
                ChangeKind::Neutral => "neutral ",
            };
            writeln!(f, "  {kind}  {}: {}", c.subject, c.detail)?;
        }
        Ok(())
    }
}

/// Fixtures shared by the steps' tests.
#[cfg(test)]
mod testing {
    use super::ContractDiff;
    use crate::contract::Contract;

    pub(super) const BASE: &str = r#"
version = 1
issuer = "https://i.example"
audience = "api"
[scopes]
"read" = "r"
"write" = "w"
[[routes]]
method = "POST"
path = "/items"
scopes = ["write"]
mode = "observe"
[[consumers]]
client_id = "web"
stage = "pilot"
stages = [{ name = "pilot", scopes = ["read"] }, { name = "ga", scopes = ["read", "write"] }]
"#;

    pub(super) fn diff(new: &str) -> ContractDiff {
        ContractDiff::between(
            &Contract::parse(BASE).unwrap(),
            &Contract::parse(new).unwrap(),
        )
    }

    /// A contract with the scopes `read` and `write` and then `body`.
    pub(super) fn contract(body: &str) -> Contract {
        Contract::parse(&format!(
            "version = 1\n[scopes]\n\"read\" = \"r\"\n\"write\" = \"w\"\n{body}"
        ))
        .unwrap()
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{BASE, diff};
    use super::*;

    #[test]
    fn advancing_a_stage_widens() {
        let d = diff(
            &BASE
                .replace("stage = \"pilot\"", "stage = \"ga\"")
                .replace("version = 1", "version = 2"),
        );
        assert_eq!(
            d.to_string(),
            "contract version 1 -> 2\n  widened   consumer web: advanced pilot -> ga (adds write)\n"
        );
        assert!(d.check().is_ok());
    }

    #[test]
    fn enforcing_and_rolling_back_narrow() {
        let advanced = BASE.replace("stage = \"pilot\"", "stage = \"ga\"");
        let d = ContractDiff::between(
            &Contract::parse(&advanced).unwrap(),
            &Contract::parse(&BASE.replace("mode = \"observe\"", "mode = \"enforce\"")).unwrap(),
        );
        assert!(d.narrows() && !d.widens(), "{d}");
        assert!(
            d.to_string()
                .contains("rolled back ga -> pilot (removes write)"),
            "{d}"
        );
        assert!(d.to_string().contains("mode observe -> enforce"), "{d}");
        assert!(
            d.check()
                .unwrap_err()
                .to_string()
                .contains("version did not increase")
        );
    }

    #[test]
    fn loosening_a_trust_level_widens() {
        let with = |max_age: u32| {
            format!("{BASE}[trust.sensitive]\nacr_values = [\"mfa\"]\nmax_age = {max_age}\n")
        };
        let d = ContractDiff::between(
            &Contract::parse(&with(300)).unwrap(),
            &Contract::parse(&with(900)).unwrap(),
        );
        assert!(d.widens() && !d.narrows(), "{d}");
        let d = ContractDiff::between(
            &Contract::parse(&with(900)).unwrap(),
            &Contract::parse(&with(300)).unwrap(),
        );
        assert!(d.narrows() && !d.widens(), "{d}");
    }

    #[test]
    fn reordering_acr_values_is_neutral() {
        let with = |acr: &str| format!("{BASE}[trust.sensitive]\nacr_values = [{acr}]\n");
        let d = ContractDiff::between(
            &Contract::parse(&with("\"mfa\", \"hwk\"")).unwrap(),
            &Contract::parse(&with("\"hwk\", \"mfa\"")).unwrap(),
        );
        assert!(!d.widens() && !d.narrows(), "{d}");
        assert_eq!(d.changes.len(), 1);
    }

    #[test]
    fn a_widening_needs_a_change_note_of_its_own() {
        let advanced = BASE
            .replace("stage = \"pilot\"", "stage = \"ga\"")
            .replace("version = 1", "version = 2");
        let d = diff(&advanced);
        let err = d.require_change_note().unwrap_err();
        assert_eq!(err.to, 2);
        assert!(err.to_string().contains("add a [change] table"), "{err}");
        let note =
            "[change]\nauthor = \"ana\"\nreason = \"web passed its pilot\"\nticket = \"CHG-12\"\n";
        let noted = format!("{advanced}{note}");
        let d = diff(&noted);
        assert!(d.require_change_note().is_ok());
        assert_eq!(
            d.to_string(),
            "contract version 1 -> 2\n  change by ana: web passed its pilot (CHG-12)\n  widened   consumer web: advanced pilot -> ga (adds write)\n"
        );
        // A note carried over unchanged describes the earlier change, not this one.
        let old = Contract::parse(&format!("{BASE}{note}")).unwrap();
        let d = ContractDiff::between(&old, &Contract::parse(&noted).unwrap());
        assert_eq!(d.change_note, None);
        assert!(d.require_change_note().is_err());
        // A narrowing needs no note.
        let d = ContractDiff::between(
            &Contract::parse(&advanced).unwrap(),
            &Contract::parse(&BASE.replace("version = 1", "version = 3")).unwrap(),
        );
        assert!(d.narrows() && d.require_change_note().is_ok());
    }

    #[test]
    fn identical_contracts_have_no_changes() {
        let d = diff(BASE);
        assert!(d.is_empty() && d.check().is_ok());
    }

    #[test]
    fn routes_and_consumers_added_and_removed() {
        let new = BASE
            .replace("path = \"/items\"", "path = \"/things\"")
            .replace("client_id = \"web\"", "client_id = \"mobile\"");
        let d = diff(&new);
        let text = d.to_string();
        assert!(
            text.contains("widened   route POST /things: added (requires write)"),
            "{text}"
        );
        assert!(
            text.contains("narrowed  route POST /items: removed"),
            "{text}"
        );
        assert!(
            text.contains("widened   consumer mobile: added at stage pilot (read)"),
            "{text}"
        );
        assert!(text.contains("narrowed  consumer web: removed"), "{text}");
    }
}
