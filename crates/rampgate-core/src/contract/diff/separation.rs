//! The separation step: separation-of-duties sets added, removed, or changed.
//! A set removed, or a scope taken out of one, lets a token hold together
//! what it could not before: that widens.

use super::{Change, ChangeKind, both_ways, change, list};
use crate::contract::{Contract, Route, Separation};
use std::collections::BTreeSet;

/// Every separation change: new and changed sets, then removed ones, each in
/// the new (then the old) file's order.
pub(super) fn separations(old: &Contract, new: &Contract) -> Vec<Change> {
    let find = |c: &'_ Contract, name: &str| -> Option<Separation> {
        c.separations().iter().find(|s| s.name == name).cloned()
    };
    let mut changes = Vec::new();
    for set in new.separations() {
        let subject = format!("separation {}", set.name);
        match find(old, &set.name) {
            None => changes.push(change(
                ChangeKind::Narrowed,
                subject,
                format!("added: no consumer may hold two of {}", list(&set.scopes)),
            )),
            Some(before) if before.scopes != set.scopes => {
                let freed = before.scopes.difference(&set.scopes).count() > 0;
                let bound = set.scopes.difference(&before.scopes).count() > 0;
                changes.extend(both_ways(
                    freed,
                    bound,
                    subject,
                    format!(
                        "keeps apart [{}] -> [{}]",
                        list(&before.scopes),
                        list(&set.scopes)
                    ),
                ));
            }
            Some(_) => {}
        }
    }
    changes.extend(routes(old, new));
    for set in old.separations() {
        if find(new, &set.name).is_none() {
            changes.push(change(
                ChangeKind::Widened,
                format!("separation {}", set.name),
                format!(
                    "removed: a token may now hold {} together",
                    list(&set.scopes)
                ),
            ));
        }
    }
    changes
}

/// For each route both contracts have, the separations (kept in both) that
/// stop or start concerning it because its requirement changed: a route that
/// no longer needs a scope of a set serves the tokens the set refused.
fn routes(old: &Contract, new: &Contract) -> Vec<Change> {
    let kept = |name: &String| {
        old.separations().iter().any(|s| &s.name == name)
            && new.separations().iter().any(|s| &s.name == name)
    };
    let mut changes = Vec::new();
    for route in new.routes() {
        let Some(before) = old.route(&route.method, &route.path) else {
            continue;
        };
        let (was, is) = (concerning(old, before), concerning(new, route));
        let subject = format!("route {}", route.key());
        for name in was.difference(&is).filter(|n| kept(n)) {
            changes.push(change(
                ChangeKind::Widened,
                subject.clone(),
                format!("no longer checked by separation {name}: it needs none of its scopes"),
            ));
        }
        for name in is.difference(&was).filter(|n| kept(n)) {
            changes.push(change(
                ChangeKind::Narrowed,
                subject.clone(),
                format!("now checked by separation {name}"),
            ));
        }
    }
    changes
}

/// The names of the separations of `contract` that name a scope `route`
/// needs (all-of or any-of).
fn concerning(contract: &Contract, route: &Route) -> BTreeSet<String> {
    contract
        .separations()
        .iter()
        .filter(|set| set.concerns(&route.requirement))
        .map(|set| set.name.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::testing::contract;
    use super::*;

    fn with(scopes: &str) -> Contract {
        contract(&format!(
            "\"admin\" = \"a\"\n[[separation]]\nname = \"four-eyes\"\nscopes = [{scopes}]\n"
        ))
    }

    fn without() -> Contract {
        contract("\"admin\" = \"a\"\n")
    }

    #[test]
    fn adding_a_set_narrows_and_removing_it_widens() {
        let added = separations(&without(), &with("\"read\", \"write\""));
        assert_eq!(
            added,
            [change(
                ChangeKind::Narrowed,
                "separation four-eyes",
                "added: no consumer may hold two of read, write"
            )]
        );
        let removed = separations(&with("\"read\", \"write\""), &without());
        assert_eq!(
            removed,
            [change(
                ChangeKind::Widened,
                "separation four-eyes",
                "removed: a token may now hold read, write together"
            )]
        );
    }

    #[test]
    fn taking_a_scope_out_widens_and_adding_one_narrows() {
        let three = with("\"read\", \"write\", \"admin\"");
        let two = with("\"read\", \"write\"");
        let out = separations(&three, &two);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].kind, ChangeKind::Widened);
        assert_eq!(
            out[0].detail,
            "keeps apart [admin, read, write] -> [read, write]"
        );
        assert_eq!(separations(&two, &three)[0].kind, ChangeKind::Narrowed);
        assert!(separations(&two, &two).is_empty());
    }

    #[test]
    fn a_route_that_stops_needing_a_separated_scope_widens() {
        let with_any = |any: &str| {
            contract(&format!(
                "\"admin\" = \"a\"\n[[separation]]\nname = \"four-eyes\"\nscopes = [\"write\", \"admin\"]\n[[routes]]\nmethod = \"POST\"\npath = \"/x\"\nany = [{any}]\n"
            ))
        };
        let before = with_any("\"admin\", \"read\"");
        let after = with_any("\"read\"");
        assert_eq!(
            separations(&before, &after),
            [change(
                ChangeKind::Widened,
                "route POST /x",
                "no longer checked by separation four-eyes: it needs none of its scopes"
            )]
        );
        assert_eq!(
            separations(&after, &before),
            [change(
                ChangeKind::Narrowed,
                "route POST /x",
                "now checked by separation four-eyes"
            )]
        );
    }
}
