//! The header step: who issues and receives tokens, the resource identifier,
//! and the scope catalog.

use super::{Change, ChangeKind, change};
use crate::contract::Contract;

/// A changed issuer or audience widens: tokens the old contract refused may now
/// pass. The resource identifier and the authorization servers only change what
/// metadata advertises: neutral, but still changes (a reload must apply them,
/// and only with a higher version).
pub(super) fn header(old: &Contract, new: &Contract) -> Vec<Change> {
    // By default the servers are the issuer: that change is reported as the issuer's.
    let defaulted = |c: &Contract| c.authorization_servers() == c.issuer().as_slice();
    let servers = (old.authorization_servers() != new.authorization_servers()
        && !(defaulted(old) && defaulted(new)))
    .then(|| {
        change(
            ChangeKind::Neutral,
            "authorization_servers",
            format!(
                "[{}] -> [{}]",
                old.authorization_servers().join(", "),
                new.authorization_servers().join(", ")
            ),
        )
    });
    let fields = [
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
    });
    fields.chain(servers).collect()
}

/// Catalog entries are documentation: access changes show on routes and
/// consumers, so adding, removing or describing one anew is neutral.
pub(super) fn scope_catalog(old: &Contract, new: &Contract) -> Vec<Change> {
    let described = new.scopes().iter().filter_map(|(name, text)| {
        let before = old.scopes().get(name)?;
        (before != text).then(|| {
            change(
                ChangeKind::Neutral,
                format!("scope {name}"),
                format!("description {before:?} -> {text:?}"),
            )
        })
    });
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
    added.chain(removed).chain(described).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_only_changes_are_neutral_changes_not_nothing() {
        let old = Contract::parse(
            "version = 1\nissuer = \"https://a.example\"\n[scopes]\n\"read\" = \"Read\"\n",
        )
        .unwrap();
        let new = Contract::parse("version = 1\nissuer = \"https://a.example\"\nauthorization_servers = [\"https://as.example\"]\n[scopes]\n\"read\" = \"Read items\"\n").unwrap();
        assert_eq!(
            header(&old, &new),
            [change(
                ChangeKind::Neutral,
                "authorization_servers",
                "[https://a.example] -> [https://as.example]"
            )]
        );
        assert_eq!(
            scope_catalog(&old, &new),
            [change(
                ChangeKind::Neutral,
                "scope read",
                "description \"Read\" -> \"Read items\""
            )]
        );
        // So a reload with the same version is refused instead of silently
        // keeping the old text, and one with a higher version is applied.
        let diff = crate::contract::ContractDiff::between(&old, &new);
        assert!(diff.check().is_err());
    }

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
