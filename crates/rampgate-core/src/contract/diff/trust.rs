//! The trust-level step: levels added, removed, or made easier or harder to
//! satisfy.

use super::{Change, ChangeKind, both_ways, change, list};
use crate::contract::{Contract, TrustLevel};
use std::collections::BTreeSet;

/// Every trust-level change: new and changed levels, then removed ones, each
/// in name order. Adding or removing a level is neutral: the routes that use
/// it show the access change.
pub(super) fn trust_levels(old: &Contract, new: &Contract) -> Vec<Change> {
    let mut changes = Vec::new();
    for (name, level) in new.trust_levels() {
        match old.trust_levels().get(name) {
            None => changes.push(change(
                ChangeKind::Neutral,
                format!("trust {name}"),
                "added",
            )),
            Some(before) => changes.extend(level_changed(name, before, level)),
        }
    }
    for name in old
        .trust_levels()
        .keys()
        .filter(|n| !new.trust_levels().contains_key(*n))
    {
        changes.push(change(
            ChangeKind::Neutral,
            format!("trust {name}"),
            "removed",
        ));
    }
    changes
}

/// How level `name` changed: widened and narrowed both when it got easier in
/// one way and harder in another, neutral when the same in effect.
pub(super) fn level_changed(name: &str, before: &TrustLevel, level: &TrustLevel) -> Vec<Change> {
    if before == level {
        return Vec::new();
    }
    let subject = format!("trust {name}");
    let set = |v: &[String]| v.iter().cloned().collect::<BTreeSet<String>>();
    let (acr_a, acr_b) = (set(&before.acr_values), set(&level.acr_values));
    let (amr_a, amr_b) = (set(&before.amr), set(&level.amr));
    let (wider, narrower) = compare(before, level);
    let age = |a: Option<u64>| a.map_or_else(|| "none".to_owned(), |a| format!("{a}s"));
    let mut detail = format!(
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
    if before.sender_constrained || level.sender_constrained {
        let bound = |b: bool| if b { "required" } else { "optional" };
        detail += &format!(
            ", sender_constrained {} -> {}",
            bound(before.sender_constrained),
            bound(level.sender_constrained)
        );
    }
    // Neither wider nor narrower: the same requirement in effect (acr_values
    // reordered, say), still a change of the file.
    both_ways(wider, narrower, subject, detail)
}

/// Whether the demands of `level` admit more requests than those of `before`
/// (wider), fewer (narrower), both (easier one way and harder another) or
/// neither (the same demands in effect).
pub(super) fn compare(before: &TrustLevel, level: &TrustLevel) -> (bool, bool) {
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
        || before.acr_hierarchy != level.acr_hierarchy
        || (before.sender_constrained && !level.sender_constrained);
    let narrower = (!acr_a.is_subset(&acr_b) && !acr_b.is_empty())
        || (acr_a.is_empty() && !acr_b.is_empty())
        || !amr_b.is_subset(&amr_a)
        || match (before.max_age, level.max_age) {
            (None, Some(_)) => true,
            (Some(a), Some(b)) => b < a,
            _ => false,
        }
        || (!before.sender_constrained && level.sender_constrained);
    (wider, narrower)
}

#[cfg(test)]
mod tests {
    use super::super::testing::contract;
    use super::*;

    fn level(acr: &[&str], amr: &[&str], max_age: Option<u64>) -> TrustLevel {
        let owned = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        TrustLevel {
            acr_values: owned(acr),
            acr_hierarchy: Vec::new(),
            amr: owned(amr),
            max_age,
            sender_constrained: false,
        }
    }

    #[test]
    fn requiring_a_sender_constrained_token_narrows_dropping_it_widens() {
        let before = level(&["mfa"], &[], Some(300));
        let after = TrustLevel {
            sender_constrained: true,
            ..before.clone()
        };
        let detail = "acr [mfa] -> [mfa], acr_hierarchy [] -> [], amr [] -> [], max_age 300s -> 300s, sender_constrained optional -> required";
        assert_eq!(
            level_changed("sensitive", &before, &after),
            [change(ChangeKind::Narrowed, "trust sensitive", detail)]
        );
        let back = detail.replace("optional -> required", "required -> optional");
        assert_eq!(
            level_changed("sensitive", &after, &before),
            [change(ChangeKind::Widened, "trust sensitive", &back)]
        );
    }

    #[test]
    fn levels_added_and_removed_are_neutral() {
        let old = contract("[trust.gone]\nmax_age = 60\n[trust.kept]\nmax_age = 60\n");
        let new = contract("[trust.kept]\nmax_age = 60\n[trust.new]\nmax_age = 60\n");
        assert_eq!(
            trust_levels(&old, &new),
            [
                change(ChangeKind::Neutral, "trust new", "added"),
                change(ChangeKind::Neutral, "trust gone", "removed"),
            ]
        );
    }

    #[test]
    fn a_level_easier_one_way_and_harder_another_is_both() {
        let before = level(&["mfa"], &["otp"], Some(300));
        let after = level(&["mfa"], &["otp", "hwk"], Some(900));
        let detail = "acr [mfa] -> [mfa], acr_hierarchy [] -> [], amr [otp] -> [hwk, otp], max_age 300s -> 900s";
        assert_eq!(
            level_changed("sensitive", &before, &after),
            [
                change(ChangeKind::Widened, "trust sensitive", detail),
                change(ChangeKind::Narrowed, "trust sensitive", detail),
            ]
        );
        assert_eq!(level_changed("sensitive", &before, &before), []);
    }

    #[test]
    fn reordered_acr_values_are_neutral_a_new_hierarchy_widens() {
        let before = level(&["mfa", "hwk"], &[], None);
        let after = level(&["hwk", "mfa"], &[], None);
        assert_eq!(
            level_changed("s", &before, &after),
            [change(
                ChangeKind::Neutral,
                "trust s",
                "acr [hwk, mfa] -> [hwk, mfa], acr_hierarchy [] -> [], amr [] -> [], max_age none -> none"
            )]
        );
        let laddered = TrustLevel {
            acr_hierarchy: vec!["mfa".into(), "hwk".into()],
            ..after
        };
        let kinds: Vec<ChangeKind> = level_changed("s", &before, &laddered)
            .into_iter()
            .map(|c| c.kind)
            .collect();
        assert_eq!(kinds, [ChangeKind::Widened]);
    }
}
