//! The verdict on moving a consumer to the next stage of its ramp: its
//! requests in the window replayed against the next stage's scopes.

use super::verdict::{StepDetails, StepVerdict, StillRefused, Verdict};
use super::{Options, requirement_of};
use crate::commands::ramp::audit::Decision;
use rampgate_core::audit::AuditOutcome as Outcome;
use rampgate_core::contract::{Consumer, Contract, Stage};
use rampgate_core::{EventReason, Reason};
use std::collections::{BTreeMap, BTreeSet};

/// What advancing `consumer` one stage would do to its requests, `events`.
pub(crate) fn advance_consumer(
    contract: &Contract,
    consumer: &Consumer,
    events: &[&Decision],
    options: &Options,
    span_seconds: i64,
) -> StepVerdict {
    let stage = consumer.stage();
    let next = &consumer.stages[consumer.current + 1];
    let adds: Vec<String> = next.scopes.difference(&stage.scopes).cloned().collect();
    let replay = replay(contract, next, events);
    let total = events.len() as u64;
    let still_total: u64 = replay.still_refused.iter().map(|s| s.requests).sum();
    let verdict = if total == 0 {
        Verdict::NoData
    } else if replay.breaks > 0 {
        Verdict::Breaks
    } else if total < options.min_requests {
        Verdict::NotEnoughData
    } else if still_total > 0 {
        Verdict::Review
    } else {
        Verdict::Safe
    };
    let unused = adds
        .iter()
        .filter(|s| !replay.carried.contains(*s))
        .cloned()
        .collect();
    StepVerdict {
        subject: consumer.key(),
        verdict,
        requests: total,
        span_seconds,
        min_requests: options.min_requests,
        step: StepDetails::AdvanceConsumer {
            stage: stage.name.clone(),
            next: next.name.clone(),
            adds,
            unused,
            breaks: replay.breaks,
            would_allow: replay.would_allow,
            still_refused: replay.still_refused,
        },
    }
}

/// The requests as the next stage would decide them.
struct Replay {
    /// Every scope the tokens carried.
    carried: BTreeSet<String>,
    /// Allowed today, refused at the next stage.
    breaks: u64,
    /// Refused today for a scope, allowed at the next stage.
    would_allow: u64,
    /// Refused today for a scope, still refused at the next stage.
    still_refused: Vec<StillRefused>,
}

fn replay(contract: &Contract, next: &Stage, events: &[&Decision]) -> Replay {
    let mut carried = BTreeSet::new();
    let (mut breaks, mut would_allow) = (0, 0);
    let mut still: BTreeMap<(Option<String>, Vec<String>), u64> = BTreeMap::new();
    for e in events {
        carried.extend(e.scopes.iter().map(|s| s.to_string()));
        let requirement = requirement_of(contract, e);
        let token: BTreeSet<&str> = e.scopes.iter().map(|s| &**s).collect();
        let at_next = |s: &str| token.contains(s) && next.scopes.contains(s);
        match e.outcome {
            Outcome::Allow => {
                // Stages only widen, so this holds; checked all the same.
                if !requirement.is_empty() && !requirement.is_satisfied_by(at_next) {
                    breaks += 1;
                }
            }
            Outcome::Deny | Outcome::ObserveDeny => {
                let scoped = [Reason::ScopeBeyondStage, Reason::ScopeInsufficient];
                let refusal = e.event_reason().and_then(EventReason::refusal);
                if !refusal.is_some_and(|r| scoped.contains(&r)) {
                    continue;
                }
                if requirement.is_satisfied_by(at_next) {
                    would_allow += 1;
                } else {
                    let mut missing: Vec<String> = requirement
                        .all_of()
                        .iter()
                        .filter(|s| !at_next(s))
                        .cloned()
                        .collect();
                    if !requirement.any_of().is_empty()
                        && !requirement.any_of().iter().any(|s| at_next(s))
                    {
                        missing.extend(requirement.any_of().iter().cloned());
                    }
                    let route = super::tally::route_key(e);
                    *still.entry((route, missing)).or_default() += 1;
                }
            }
        }
    }
    Replay {
        carried,
        breaks,
        would_allow,
        still_refused: still
            .into_iter()
            .map(|((route, missing), requests)| StillRefused {
                route,
                missing,
                requests,
            })
            .collect(),
    }
}
