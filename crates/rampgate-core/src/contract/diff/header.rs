//! The header step: who issues and receives tokens, the resource identifier,
//! and the scope catalog.

use super::{Change, ChangeKind, change};
use crate::contract::Contract;

/// A changed issuer or audience widens: tokens the old contract refused may now
/// pass. The resource identifier only changes what metadata advertises.
pub(super) fn header(old: &Contract, new: &Contract) -> Vec<Change> {
    [
        ("issuer", old.issuer(), new.issuer()),
        ("audience", old.audience(), new.audience()),
        ("resource", old.resource(), new.resource()),
    ]
    .into_iter()
    .filter_map(|(field, a, b)| {
        let (a, b) = (a.unwrap_or("(not set)"), b.unwrap_or("(not set)"));
        let kind = if field == "resource" {
            ChangeKind::Neutral
        } else {
            ChangeKind::Widened
        };
        (a != b).then(|| change(kind, field, format!("{a:?} -> {b:?}")))
    })
    .collect()
}

/// Catalog entries are documentation: access changes show on routes and
/// consumers, so adding or removing one is neutral.
pub(super) fn scope_catalog(old: &Contract, new: &Contract) -> Vec<Change> {
    let added = new
        .scopes()
        .keys()
        .filter(|s| !old.scopes().contains_key(*s))
        .map(|name| {
            change(
                ChangeKind::Neutral,
                format!("scope {name}"),
                "added to the catalog",
            )
        });
    let removed = old
        .scopes()
        .keys()
        .filter(|s| !new.scopes().contains_key(*s))
        .map(|name| {
            change(
                ChangeKind::Neutral,
                format!("scope {name}"),
                "removed from the catalog",
            )
        });
    added.chain(removed).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_and_audience_changes_widen_a_resource_change_is_neutral() {
        let old =
            Contract::parse("version = 1\nissuer = \"https://a.example\"\naudience = \"api\"\n")
                .unwrap();
        let new = Contract::parse("version = 1\nissuer = \"https://b.example\"\nresource = \"https://api.example\"\naudience = \"api\"\n").unwrap();
        assert_eq!(
            header(&old, &new),
            [
                change(
                    ChangeKind::Widened,
                    "issuer",
                    "\"https://a.example\" -> \"https://b.example\""
                ),
                change(
                    ChangeKind::Neutral,
                    "resource",
                    "\"(not set)\" -> \"https://api.example\""
                ),
            ]
        );
        assert_eq!(header(&old, &old), []);
    }

    #[test]
    fn catalog_additions_then_removals_are_neutral() {
        let old = Contract::parse("version = 1\n[scopes]\n\"a\" = \"A\"\n\"b\" = \"B\"\n").unwrap();
        let new =
            Contract::parse("version = 1\n[scopes]\n\"b\" = \"B\"\n\"c\" = \"C\"\n\"d\" = \"D\"\n")
                .unwrap();
        assert_eq!(
            scope_catalog(&old, &new),
            [
                change(ChangeKind::Neutral, "scope c", "added to the catalog"),
                change(ChangeKind::Neutral, "scope d", "added to the catalog"),
                change(ChangeKind::Neutral, "scope a", "removed from the catalog"),
            ]
        );
    }
}
