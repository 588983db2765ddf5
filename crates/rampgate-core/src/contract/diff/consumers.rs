//! The consumers step: consumers added and removed, and for a kept consumer
//! the scopes its current stage gains or loses.

use super::{Change, ChangeKind, StageDirection, StageMove, change, list};
use crate::contract::{Consumer, Contract, Stage};
use std::collections::BTreeSet;

/// Every consumer change, new consumers in new-file order first, then removed ones.
pub(super) fn consumers(old: &Contract, new: &Contract) -> Vec<Change> {
    let mut changes = Vec::new();
    for consumer in new.consumers() {
        let Some(before) = old.consumers().iter().find(|c| c.key() == consumer.key()) else {
            let stage = consumer.stage();
            changes.push(change(
                ChangeKind::Widened,
                format!("consumer {}", consumer.key()),
                format!("added at stage {} ({})", stage.name, list(&stage.scopes)),
            ));
            continue;
        };
        changes.extend(consumer_changed(before, consumer));
    }
    for consumer in old.consumers() {
        if !new.consumers().iter().any(|c| c.key() == consumer.key()) {
            changes.push(change(
                ChangeKind::Narrowed,
                format!("consumer {}", consumer.key()),
                "removed",
            ));
        }
    }
    changes
}

/// What changed for a consumer both contracts have: the current stage's
/// scopes decide the kind; a move or a reshaped ramp alone is neutral.
pub(super) fn consumer_changed(before: &Consumer, consumer: &Consumer) -> Vec<Change> {
    let subject = format!("consumer {}", consumer.key());
    let (was, stage) = (before.stage(), consumer.stage());
    let gained: BTreeSet<String> = stage.scopes.difference(&was.scopes).cloned().collect();
    let lost: BTreeSet<String> = was.scopes.difference(&stage.scopes).cloned().collect();
    let (verb, moved) = stage_move(was, consumer);
    let mut changes = Vec::new();
    if !gained.is_empty() {
        changes.push(change(
            ChangeKind::Widened,
            subject.clone(),
            format!("{verb} (adds {})", list(&gained)),
        ));
    }
    if !lost.is_empty() {
        changes.push(change(
            ChangeKind::Narrowed,
            subject.clone(),
            format!("{verb} (removes {})", list(&lost)),
        ));
    }
    if gained.is_empty()
        && lost.is_empty()
        && (was.name != stage.name || before.stages != consumer.stages)
    {
        changes.push(change(
            ChangeKind::Neutral,
            subject,
            format!("{verb}; current scopes unchanged"),
        ));
    }
    for c in &mut changes {
        c.stage_move.clone_from(&moved);
    }
    changes
}

/// How the consumer moved from stage `was`, judged on its new ramp: advanced,
/// rolled back, or (when the new ramp no longer has `was`) just a new stage;
/// in words, and as data when it moved at all.
fn stage_move(was: &Stage, consumer: &Consumer) -> (String, Option<StageMove>) {
    let stage = consumer.stage();
    if was.name == stage.name {
        return (format!("stage {}", stage.name), None);
    }
    let (direction, words) = match consumer.stages.iter().position(|s| s.name == was.name) {
        Some(i) if i < consumer.current => (StageDirection::Advanced, "advanced"),
        Some(_) => (StageDirection::RolledBack, "rolled back"),
        None => (StageDirection::Replaced, "stage"),
    };
    (
        format!("{words} {} -> {}", was.name, stage.name),
        Some(StageMove::new(&was.name, &stage.name, direction)),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::contract;
    use super::*;

    fn stage(name: &str, scopes: &[&str]) -> Stage {
        Stage {
            name: name.into(),
            scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn moved(mut change: Change, stage_move: StageMove) -> Change {
        change.stage_move = Some(stage_move);
        change
    }

    fn web(stages: Vec<Stage>, current: usize) -> Consumer {
        Consumer {
            client_id: "web".into(),
            sub: None,
            issuer: None,
            stages,
            current,
        }
    }

    #[test]
    fn added_consumers_widen_and_removed_ones_narrow() {
        let consumer = |id: &str| {
            format!(
                "[[consumers]]\nclient_id = \"{id}\"\nstage = \"p\"\nstages = [{{ name = \"p\", scopes = [\"read\"] }}]\n"
            )
        };
        assert_eq!(
            consumers(&contract(&consumer("old")), &contract(&consumer("new"))),
            [
                change(
                    ChangeKind::Widened,
                    "consumer new",
                    "added at stage p (read)"
                ),
                change(ChangeKind::Narrowed, "consumer old", "removed"),
            ]
        );
    }

    #[test]
    fn a_consumer_moved_to_another_issuer_is_one_removed_and_one_added() {
        let consumer = |issuer: &str| {
            format!(
                "[[consumers]]\nclient_id = \"web\"\n{issuer}stage = \"p\"\nstages = [{{ name = \"p\", scopes = [\"read\"] }}]\n"
            )
        };
        assert_eq!(
            consumers(
                &contract(&consumer("issuer = \"https://a.example\"\n")),
                &contract(&consumer("issuer = \"https://b.example\"\n"))
            ),
            [
                change(
                    ChangeKind::Widened,
                    "consumer web@https://b.example",
                    "added at stage p (read)"
                ),
                change(
                    ChangeKind::Narrowed,
                    "consumer web@https://a.example",
                    "removed"
                ),
            ]
        );
        assert_eq!(
            consumers(
                &contract(&consumer("")),
                &contract(&consumer("issuer = \"https://a.example\"\n"))
            )
            .iter()
            .map(|c| c.kind)
            .collect::<Vec<_>>(),
            [ChangeKind::Widened, ChangeKind::Narrowed]
        );
    }

    #[test]
    fn a_kept_consumer_reports_what_its_current_stage_gains_and_loses() {
        let ramp = vec![stage("pilot", &["read"]), stage("ga", &["read", "write"])];
        assert_eq!(
            consumer_changed(&web(ramp.clone(), 0), &web(ramp.clone(), 1)),
            [moved(
                change(
                    ChangeKind::Widened,
                    "consumer web",
                    "advanced pilot -> ga (adds write)"
                ),
                StageMove::new("pilot", "ga", StageDirection::Advanced)
            )]
        );
        assert_eq!(
            consumer_changed(&web(ramp.clone(), 1), &web(ramp.clone(), 0)),
            [moved(
                change(
                    ChangeKind::Narrowed,
                    "consumer web",
                    "rolled back ga -> pilot (removes write)"
                ),
                StageMove::new("ga", "pilot", StageDirection::RolledBack)
            )]
        );
        let swapped = vec![stage("pilot", &["read"]), stage("beta", &["read", "write"])];
        assert_eq!(
            consumer_changed(&web(ramp.clone(), 1), &web(swapped, 1)),
            [moved(
                change(
                    ChangeKind::Neutral,
                    "consumer web",
                    "stage ga -> beta; current scopes unchanged"
                ),
                StageMove::new("ga", "beta", StageDirection::Replaced)
            )]
        );
        let later = vec![stage("pilot", &["read"]), stage("ga", &["read"])];
        assert_eq!(
            consumer_changed(&web(ramp.clone(), 0), &web(later, 0)),
            [change(
                ChangeKind::Neutral,
                "consumer web",
                "stage pilot; current scopes unchanged"
            )]
        );
        assert_eq!(consumer_changed(&web(ramp.clone(), 0), &web(ramp, 0)), []);
    }
}
