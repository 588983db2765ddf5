//! The verdict on enforcing an observed or partly enforced route.

use super::Options;
use super::tally::{RouteReport, Row, consumer_named};
use super::verdict::{Breaking, Cause, StageCure, StepDetails, StepVerdict, Verdict};
use rampgate_core::Reason;
use rampgate_core::contract::{Contract, Route};
use std::collections::BTreeSet;

/// What enforcing `declared` for everyone would do, judged on its traffic.
pub(crate) fn enforce_route(
    contract: &Contract,
    declared: &Route,
    report: &RouteReport,
    options: &Options,
    span_seconds: i64,
) -> StepVerdict {
    let breaking: Vec<Breaking> = report
        .consumers
        .iter()
        .filter(|r| r.counts.observe_denied > 0)
        .map(|r| Breaking {
            consumer: r.consumer.clone(),
            requests: r.counts.requests,
            observe_denied: r.counts.observe_denied,
            missing: r.would_miss.clone(),
            reasons: r.reasons.clone(),
            cause: cause(contract, r),
        })
        .collect();
    let total = report.counts.requests;
    let verdict = if total == 0 {
        Verdict::NoData
    } else if !breaking.is_empty() {
        Verdict::Breaks
    } else if total < options.min_requests {
        Verdict::NotEnoughData
    } else {
        Verdict::Safe
    };
    StepVerdict {
        subject: declared.key(),
        verdict,
        requests: total,
        span_seconds,
        min_requests: options.min_requests,
        step: StepDetails::EnforceRoute {
            mode: declared.mode,
            breaking,
            one_of: declared.requirement.all_of().is_empty(),
            requires: declared.requirement.describe(),
            unseen: unseen(contract, declared, report),
            already_denied: report.counts.denied,
        },
    }
}

/// Consumers the contract names that never called the route, and whose
/// stage could not satisfy it: enforcing would refuse them if they did.
fn unseen(contract: &Contract, declared: &Route, report: &RouteReport) -> Vec<(String, String)> {
    contract
        .consumers()
        .iter()
        .filter(|c| {
            let key = c.key();
            !report
                .consumers
                .iter()
                .any(|r| r.consumer.as_deref() == Some(&key))
        })
        .filter(|c| {
            !declared
                .requirement
                .is_satisfied_by(|s| c.stage().scopes.contains(s))
        })
        .map(|c| (c.key(), c.stage().name.clone()))
        .collect()
}

/// Why a consumer's observe-denials happen, and what would cure them.
fn cause(contract: &Contract, row: &Row) -> Cause {
    let Some(consumer) = consumer_named(contract, row.consumer.as_deref()) else {
        return if row.consumer.is_some() {
            Cause::NotInContract
        } else {
            Cause::NoConsumer
        };
    };
    let missing: BTreeSet<&String> = row.would_miss.keys().collect();
    let beyond = Reason::ScopeBeyondStage.as_str();
    let insufficient = Reason::ScopeInsufficient.as_str();
    let separated = Reason::SeparationOfDuties.as_str();
    let beyond_stage = row.reasons.contains_key(beyond).then(|| {
        consumer.stages[consumer.current + 1..]
            .iter()
            .find(|s| missing.iter().all(|m| s.scopes.contains(*m)))
            .map_or(StageCure::NoLaterStage, |s| {
                StageCure::AdvanceTo(s.name.clone())
            })
    });
    Cause::Named {
        stage: consumer.stage().name.clone(),
        beyond_stage,
        lacks_scopes: row.reasons.contains_key(insufficient),
        separated: row.reasons.contains_key(separated),
        other_reasons: row
            .reasons
            .keys()
            .filter(|r| *r != beyond && *r != insufficient && *r != separated)
            .cloned()
            .collect(),
    }
}
