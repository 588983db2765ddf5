//! What a new contract changes: which access widens and which narrows.

use super::{Contract, Mode, UnknownConsumer};
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
pub struct Change {
    /// Widened, narrowed or neutral.
    pub kind: ChangeKind,
    /// What changed: `route GET /x`, `consumer web`, `defaults`, `scope a`...
    pub subject: String,
    /// How, in words.
    pub detail: String,
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
pub struct ContractDiff {
    /// The old contract's version.
    pub from_version: u64,
    /// The new contract's version.
    pub to_version: u64,
    /// The changes, widened first.
    pub changes: Vec<Change>,
}

fn list(set: &BTreeSet<String>) -> String {
    set.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

fn strictness(mode: Mode) -> u8 {
    match mode {
        Mode::Observe => 0,
        Mode::Percent(n) => n,
        Mode::Enforce => 100,
    }
}

impl ContractDiff {
    /// The changes from `old` to `new`.
    pub fn between(old: &Contract, new: &Contract) -> ContractDiff {
        let mut changes = Vec::new();
        let mut push = |kind, subject: String, detail: String| {
            changes.push(Change {
                kind,
                subject,
                detail,
            })
        };

        for (field, a, b) in [
            ("issuer", old.issuer(), new.issuer()),
            ("audience", old.audience(), new.audience()),
            ("resource", old.resource(), new.resource()),
        ] {
            let (a, b) = (a.unwrap_or("(not set)"), b.unwrap_or("(not set)"));
            if a != b {
                let kind = if field == "resource" {
                    ChangeKind::Neutral
                } else {
                    ChangeKind::Widened
                };
                push(kind, field.into(), format!("{a:?} -> {b:?}"));
            }
        }

        for name in new
            .scopes()
            .keys()
            .filter(|s| !old.scopes().contains_key(*s))
        {
            push(
                ChangeKind::Neutral,
                format!("scope {name}"),
                "added to the catalog".into(),
            );
        }
        for name in old
            .scopes()
            .keys()
            .filter(|s| !new.scopes().contains_key(*s))
        {
            push(
                ChangeKind::Neutral,
                format!("scope {name}"),
                "removed from the catalog".into(),
            );
        }

        for route in new.routes() {
            let subject = format!("route {}", route.key());
            let Some(before) = old.route(&route.method, &route.path) else {
                let kind = if old.unknown_route_allowed() {
                    ChangeKind::Narrowed
                } else {
                    ChangeKind::Widened
                };
                push(
                    kind,
                    subject,
                    format!("added (requires {})", route.requirement.describe()),
                );
                continue;
            };
            let (was, now) = (&before.requirement, &route.requirement);
            let dropped: BTreeSet<String> =
                was.all_of().difference(now.all_of()).cloned().collect();
            let added: BTreeSet<String> = now.all_of().difference(was.all_of()).cloned().collect();
            if !dropped.is_empty() {
                push(
                    ChangeKind::Widened,
                    subject.clone(),
                    format!("no longer requires {}", list(&dropped)),
                );
            }
            if !added.is_empty() {
                push(
                    ChangeKind::Narrowed,
                    subject.clone(),
                    format!("now also requires {}", list(&added)),
                );
            }
            if was.any_of() != now.any_of() {
                let kind = match (was.any_of().is_empty(), now.any_of().is_empty()) {
                    (true, false) => ChangeKind::Narrowed,
                    (false, true) => ChangeKind::Widened,
                    _ if was.any_of().is_subset(now.any_of()) => ChangeKind::Widened,
                    _ if now.any_of().is_subset(was.any_of()) => ChangeKind::Narrowed,
                    _ => ChangeKind::Widened,
                };
                push(
                    kind,
                    subject.clone(),
                    format!(
                        "any-of [{}] -> [{}]",
                        list(was.any_of()),
                        list(now.any_of())
                    ),
                );
            }
            if before.mode != route.mode {
                let kind = if strictness(route.mode) < strictness(before.mode) {
                    ChangeKind::Widened
                } else {
                    ChangeKind::Narrowed
                };
                push(
                    kind,
                    subject.clone(),
                    format!("mode {} -> {}", before.mode, route.mode),
                );
            }
            if before.trust != route.trust {
                let kind = match (before.trust.as_str(), route.trust.as_str()) {
                    (_, "standard") => ChangeKind::Widened,
                    ("standard", _) => ChangeKind::Narrowed,
                    _ => ChangeKind::Neutral,
                };
                push(
                    kind,
                    subject.clone(),
                    format!("trust {} -> {}", before.trust, route.trust),
                );
            }
        }
        for route in old.routes() {
            if new.route(&route.method, &route.path).is_none() {
                let kind = if new.unknown_route_allowed() {
                    ChangeKind::Widened
                } else {
                    ChangeKind::Narrowed
                };
                push(kind, format!("route {}", route.key()), "removed".into());
            }
        }

        for consumer in new.consumers() {
            let subject = format!("consumer {}", consumer.key());
            let stage = consumer.stage();
            let Some(before) = old.consumers().iter().find(|c| c.key() == consumer.key()) else {
                push(
                    ChangeKind::Widened,
                    subject,
                    format!("added at stage {} ({})", stage.name, list(&stage.scopes)),
                );
                continue;
            };
            let was = before.stage();
            let gained: BTreeSet<String> = stage.scopes.difference(&was.scopes).cloned().collect();
            let lost: BTreeSet<String> = was.scopes.difference(&stage.scopes).cloned().collect();
            let verb = if was.name == stage.name {
                format!("stage {}", stage.name)
            } else {
                let from = consumer.stages.iter().position(|s| s.name == was.name);
                match from {
                    Some(i) if i < consumer.current => {
                        format!("advanced {} -> {}", was.name, stage.name)
                    }
                    Some(_) => format!("rolled back {} -> {}", was.name, stage.name),
                    None => format!("stage {} -> {}", was.name, stage.name),
                }
            };
            if !gained.is_empty() {
                push(
                    ChangeKind::Widened,
                    subject.clone(),
                    format!("{verb} (adds {})", list(&gained)),
                );
            }
            if !lost.is_empty() {
                push(
                    ChangeKind::Narrowed,
                    subject.clone(),
                    format!("{verb} (removes {})", list(&lost)),
                );
            }
            if gained.is_empty()
                && lost.is_empty()
                && (was.name != stage.name || before.stages != consumer.stages)
            {
                push(
                    ChangeKind::Neutral,
                    subject.clone(),
                    format!("{verb}; current scopes unchanged"),
                );
            }
        }
        for consumer in old.consumers() {
            if !new.consumers().iter().any(|c| c.key() == consumer.key()) {
                push(
                    ChangeKind::Narrowed,
                    format!("consumer {}", consumer.key()),
                    "removed".into(),
                );
            }
        }

        let describe_unknown = |u: &UnknownConsumer| match u {
            UnknownConsumer::Deny => "deny".to_owned(),
            UnknownConsumer::Stage(s) => format!("stage {} ({})", s.name, list(&s.scopes)),
        };
        let (a, b) = (old.unknown_consumer(), new.unknown_consumer());
        if a != b {
            fn scopes(u: &UnknownConsumer) -> Option<&BTreeSet<String>> {
                match u {
                    UnknownConsumer::Deny => None,
                    UnknownConsumer::Stage(s) => Some(&s.scopes),
                }
            }
            let (sa, sb) = (scopes(a), scopes(b));
            let kind = match (sa, sb) {
                (None, Some(_)) => ChangeKind::Widened,
                (Some(_), None) => ChangeKind::Narrowed,
                (Some(x), Some(y)) if !y.is_subset(x) => ChangeKind::Widened,
                (Some(x), Some(y)) if !x.is_subset(y) => ChangeKind::Narrowed,
                _ => ChangeKind::Neutral,
            };
            push(
                kind,
                "defaults".into(),
                format!(
                    "unknown consumers: {} -> {}",
                    describe_unknown(a),
                    describe_unknown(b)
                ),
            );
        }
        if old.unknown_route_allowed() != new.unknown_route_allowed() {
            let kind = if new.unknown_route_allowed() {
                ChangeKind::Widened
            } else {
                ChangeKind::Narrowed
            };
            let word = |allowed: bool| if allowed { "allow" } else { "deny" };
            push(
                kind,
                "defaults".into(),
                format!(
                    "unknown routes: {} -> {}",
                    word(old.unknown_route_allowed()),
                    word(new.unknown_route_allowed())
                ),
            );
        }
        for (name, level) in new.trust_levels() {
            let subject = format!("trust {name}");
            let Some(before) = old.trust_levels().get(name) else {
                push(ChangeKind::Neutral, subject, "added".into());
                continue;
            };
            if before == level {
                continue;
            }
            let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
            let (acr_a, acr_b) = (set(&before.acr_values), set(&level.acr_values));
            let (amr_a, amr_b) = (set(&before.amr), set(&level.amr));
            // Accepting more acr values, needing fewer amr methods or allowing an
            // older authentication each admit more requests.
            let wider = (!acr_b.is_subset(&acr_a) && !acr_a.is_empty())
                || (acr_b.is_empty() && !acr_a.is_empty())
                || !amr_a.is_subset(&amr_b)
                || match (before.max_age, level.max_age) {
                    (Some(_), None) => true,
                    (Some(a), Some(b)) => b > a,
                    _ => false,
                }
                // A reordered ladder may let a weaker level through: review it as wider.
                || before.acr_hierarchy != level.acr_hierarchy;
            let narrower = (!acr_a.is_subset(&acr_b) && !acr_b.is_empty())
                || (acr_a.is_empty() && !acr_b.is_empty())
                || !amr_b.is_subset(&amr_a)
                || match (before.max_age, level.max_age) {
                    (None, Some(_)) => true,
                    (Some(a), Some(b)) => b < a,
                    _ => false,
                };
            let age = |a: Option<u64>| a.map_or_else(|| "none".to_owned(), |a| format!("{a}s"));
            let detail = format!(
                "acr [{}] -> [{}], acr_hierarchy [{}] -> [{}], amr [{}] -> [{}], max_age {} -> {}",
                list(&acr_a),
                list(&acr_b),
                before.acr_hierarchy.join(", "),
                level.acr_hierarchy.join(", "),
                list(&amr_a),
                list(&amr_b),
                age(before.max_age),
                age(level.max_age)
            );
            if wider {
                push(ChangeKind::Widened, subject.clone(), detail.clone());
            }
            if narrower {
                push(ChangeKind::Narrowed, subject.clone(), detail.clone());
            }
            if !wider && !narrower {
                // Same requirement in effect (acr_values reordered, say).
                push(ChangeKind::Neutral, subject, detail);
            }
        }
        for name in old
            .trust_levels()
            .keys()
            .filter(|n| !new.trust_levels().contains_key(*n))
        {
            push(
                ChangeKind::Neutral,
                format!("trust {name}"),
                "removed".into(),
            );
        }

        changes.sort_by_key(|c| c.kind);
        ContractDiff {
            from_version: old.version(),
            to_version: new.version(),
            changes,
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

impl fmt::Display for ContractDiff {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "contract version {} -> {}",
            self.from_version, self.to_version
        )?;
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

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = r#"
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

    fn diff(new: &str) -> ContractDiff {
        ContractDiff::between(
            &Contract::parse(BASE).unwrap(),
            &Contract::parse(new).unwrap(),
        )
    }

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
