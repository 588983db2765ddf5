//! The separation step: separation-of-duties sets added, removed, or changed.
//! A set removed, or a scope taken out of one, lets a token hold together
//! what it could not before: that widens.

use super::{Change, ChangeKind, both_ways, change, list};
use crate::contract::{Contract, Separation};

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
}
