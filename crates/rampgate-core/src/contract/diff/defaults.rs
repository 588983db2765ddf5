//! The defaults step: what happens to consumers and routes the contract does
//! not name.

use super::{Change, ChangeKind, change, list};
use crate::contract::{Contract, UnknownConsumer};
use std::collections::BTreeSet;

/// The unknown-consumer change, then the unknown-route one.
pub(super) fn defaults(old: &Contract, new: &Contract) -> Vec<Change> {
    unknown_consumers(old.unknown_consumer(), new.unknown_consumer())
        .into_iter()
        .chain(unknown_routes(
            old.unknown_route_allowed(),
            new.unknown_route_allowed(),
        ))
        .collect()
}

/// Admitting unknown consumers, or to more scopes, widens.
pub(super) fn unknown_consumers(a: &UnknownConsumer, b: &UnknownConsumer) -> Option<Change> {
    if a == b {
        return None;
    }
    fn scopes(u: &UnknownConsumer) -> Option<&BTreeSet<String>> {
        match u {
            UnknownConsumer::Deny => None,
            UnknownConsumer::Stage(s) => Some(&s.scopes),
        }
    }
    let kind = match (scopes(a), scopes(b)) {
        (None, Some(_)) => ChangeKind::Widened,
        (Some(_), None) => ChangeKind::Narrowed,
        (Some(x), Some(y)) if !y.is_subset(x) => ChangeKind::Widened,
        (Some(x), Some(y)) if !x.is_subset(y) => ChangeKind::Narrowed,
        _ => ChangeKind::Neutral,
    };
    let describe = |u: &UnknownConsumer| match u {
        UnknownConsumer::Deny => "deny".to_owned(),
        UnknownConsumer::Stage(s) => format!("stage {} ({})", s.name, list(&s.scopes)),
    };
    Some(change(
        kind,
        "defaults",
        format!("unknown consumers: {} -> {}", describe(a), describe(b)),
    ))
}

/// Allowing unknown routes widens; denying them narrows.
pub(super) fn unknown_routes(was_allowed: bool, now_allowed: bool) -> Option<Change> {
    if was_allowed == now_allowed {
        return None;
    }
    let kind = if now_allowed {
        ChangeKind::Widened
    } else {
        ChangeKind::Narrowed
    };
    let word = |allowed: bool| if allowed { "allow" } else { "deny" };
    Some(change(
        kind,
        "defaults",
        format!(
            "unknown routes: {} -> {}",
            word(was_allowed),
            word(now_allowed)
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::testing::contract;
    use super::*;
    use crate::contract::Stage;

    fn stage(name: &str, scopes: &[&str]) -> UnknownConsumer {
        UnknownConsumer::Stage(Stage {
            name: name.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        })
    }

    #[test]
    fn both_defaults_are_compared_consumers_first() {
        let old = contract("");
        let new = contract(
            "[defaults]\nunknown_consumer = { stage = \"public\", scopes = [\"read\"] }\nunknown_route = \"allow\"\n",
        );
        assert_eq!(
            defaults(&old, &new),
            [
                change(
                    ChangeKind::Widened,
                    "defaults",
                    "unknown consumers: deny -> stage public (read)"
                ),
                change(
                    ChangeKind::Widened,
                    "defaults",
                    "unknown routes: deny -> allow"
                ),
            ]
        );
        assert_eq!(defaults(&new, &new), []);
    }

    #[test]
    fn unknown_consumer_changes_are_judged_by_scopes() {
        let deny = UnknownConsumer::Deny;
        let read = stage("public", &["read"]);
        let both = stage("public", &["read", "write"]);
        let kind = |a, b| unknown_consumers(a, b).map(|c| c.kind);
        assert_eq!(kind(&deny, &deny), None);
        assert_eq!(kind(&read, &deny), Some(ChangeKind::Narrowed));
        assert_eq!(kind(&read, &both), Some(ChangeKind::Widened));
        assert_eq!(kind(&both, &read), Some(ChangeKind::Narrowed));
        assert_eq!(
            unknown_consumers(&read, &stage("guest", &["read"])),
            Some(change(
                ChangeKind::Neutral,
                "defaults",
                "unknown consumers: stage public (read) -> stage guest (read)"
            ))
        );
    }

    #[test]
    fn denying_unknown_routes_narrows() {
        assert_eq!(
            unknown_routes(true, false),
            Some(change(
                ChangeKind::Narrowed,
                "defaults",
                "unknown routes: allow -> deny"
            ))
        );
        assert_eq!(unknown_routes(false, false), None);
    }
}
