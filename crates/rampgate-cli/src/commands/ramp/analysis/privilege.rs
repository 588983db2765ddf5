//! Least privilege from evidence: for each consumer seen in the window at
//! its current stage, the scopes the stage grants that no request needed
//! (unused), and the scopes its tokens carried that the stage does not grant
//! (over-issued by the authorization server).
//!
//! A request *needs* the scopes of its route's requirement that its token
//! held: every all-of scope, and the any-of alternatives the token carried.
//! Only allowed requests count as use; a refused or observe-denied request
//! used nothing.

use super::ByConsumer;
use crate::commands::ramp::audit::Decision;
use rampgate_core::audit::AuditOutcome as Outcome;
use rampgate_core::contract::{Contract, Stage, UnknownConsumer};
use std::collections::{BTreeMap, BTreeSet};

/// The consumer name the report gives the tokens of consumers the contract
/// does not name, admitted at the `unknown_consumer` default stage.
pub(crate) const UNKNOWN_CONSUMERS: &str = "*";

/// One consumer's grant against its use.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct LeastPrivilege {
    /// The consumer's key, or `*` for every consumer the contract does not
    /// name (admitted at `defaults.unknown_consumer`).
    pub(crate) consumer: String,
    /// The consumer's current stage in the contract.
    pub(crate) stage: String,
    /// The scopes that stage grants.
    pub(crate) granted: BTreeSet<String>,
    /// The granted scopes some allowed request needed.
    pub(crate) used: BTreeSet<String>,
    /// The granted scopes no allowed request needed.
    pub(crate) unused: BTreeSet<String>,
    /// The scopes tokens carried that the stage does not grant.
    pub(crate) over_issued: BTreeSet<String>,
    /// How many requests carried each over-issued scope.
    pub(crate) over_issued_counts: BTreeMap<String, u64>,
    /// The over-issued scopes a later stage of the consumer grants, each
    /// with the first such stage: tokens issued ahead of a roll-out.
    pub(crate) granted_later: BTreeMap<String, String>,
    /// Each unused scope with the stage of the ramp that first grants it:
    /// the stages must nest, so narrowing means taking it out from there on.
    pub(crate) introduced_at: BTreeMap<String, String>,
    /// The consumer's requests at this stage in the window.
    pub(crate) requests: u64,
    /// Of those, the allowed ones (the only ones that use a scope).
    pub(crate) allowed: u64,
    /// How many requests needed each used scope.
    pub(crate) use_counts: BTreeMap<String, u64>,
    /// For an MCP server, the use grouped by tool (prompt, resource): each
    /// MCP route the consumer's allowed requests called, with the scopes
    /// they needed and how many times.
    pub(crate) per_tool: BTreeMap<String, BTreeMap<String, u64>>,
    /// Whether `requests` reaches `--min-requests`: without it, no
    /// recommendation is made.
    pub(crate) enough_data: bool,
    /// Whether the evidence recommends a change: with enough data, a scope
    /// to take away from the stage, or one the authorization server should
    /// stop issuing.
    pub(crate) recommends: bool,
}

/// The findings for every consumer seen at its current stage: the named
/// consumers in contract order, then the unknown consumers together.
pub(crate) fn least_privilege(
    contract: &Contract,
    by_consumer: &ByConsumer<'_>,
    min_requests: u64,
) -> Vec<LeastPrivilege> {
    let named: BTreeSet<String> = contract.consumers().iter().map(|c| c.key()).collect();
    let mut findings: Vec<LeastPrivilege> = contract
        .consumers()
        .iter()
        .filter_map(|consumer| {
            let key = consumer.key();
            let stage = consumer.stage();
            let mine = by_consumer
                .get(key.as_str())
                .into_iter()
                .flatten()
                .filter(|e| at_stage(e, stage));
            let ramp = (
                &consumer.stages[..consumer.current],
                &consumer.stages[consumer.current + 1..],
            );
            finding(contract, key.clone(), stage, ramp, mine, min_requests)
        })
        .collect();
    if let UnknownConsumer::Stage(stage) = contract.unknown_consumer() {
        let theirs = by_consumer
            .iter()
            .filter(|(consumer, _)| !named.contains(**consumer))
            .flat_map(|(_, events)| events)
            .filter(|e| at_stage(e, stage));
        findings.extend(finding(
            contract,
            UNKNOWN_CONSUMERS.to_owned(),
            stage,
            (&[], &[]),
            theirs,
            min_requests,
        ));
    }
    findings
}

/// Whether the contract decided the event at `stage`. An event without a
/// stage was not judged against one (another issuer's token, an unlisted
/// route, a refusal before the contract) and says nothing about this grant.
fn at_stage(event: &Decision, stage: &Stage) -> bool {
    event.stage.as_deref() == Some(stage.name.as_str())
}

/// One consumer's finding from its events, or `None` when it has none.
fn finding<'e>(
    contract: &Contract,
    consumer: String,
    stage: &Stage,
    ramp: (&[Stage], &[Stage]),
    events: impl Iterator<Item = &'e &'e Decision>,
    min_requests: u64,
) -> Option<LeastPrivilege> {
    let mut requests = 0;
    let mut allowed = 0;
    let mut use_counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut over_issued: BTreeMap<String, u64> = BTreeMap::new();
    let mut per_tool: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
    for event in events {
        requests += 1;
        for scope in &event.scopes {
            if !stage.scopes.contains(scope.as_ref()) {
                *over_issued.entry(scope.to_string()).or_default() += 1;
            }
        }
        if event.outcome != Outcome::Allow {
            continue;
        }
        allowed += 1;
        let mut tool = mcp_route(contract, event).map(|key| per_tool.entry(key).or_default());
        for scope in needed(contract, event) {
            if stage.scopes.contains(&scope) {
                if let Some(tool) = tool.as_mut() {
                    *tool.entry(scope.clone()).or_default() += 1;
                }
                *use_counts.entry(scope).or_default() += 1;
            }
        }
    }
    if requests == 0 {
        return None;
    }
    let used: BTreeSet<String> = use_counts.keys().cloned().collect();
    let unused: BTreeSet<String> = stage.scopes.difference(&used).cloned().collect();
    let enough_data = requests >= min_requests;
    let (earlier, later) = ramp;
    let introduced_at = unused
        .iter()
        .filter_map(|scope| {
            earlier
                .iter()
                .chain([stage])
                .find(|s| s.scopes.contains(scope))
                .map(|s| (scope.clone(), s.name.clone()))
        })
        .collect();
    let granted_later = over_issued
        .keys()
        .filter_map(|scope| {
            later
                .iter()
                .find(|s| s.scopes.contains(scope))
                .map(|s| (scope.clone(), s.name.clone()))
        })
        .collect();
    Some(LeastPrivilege {
        consumer,
        stage: stage.name.clone(),
        recommends: enough_data && (!unused.is_empty() || !over_issued.is_empty()),
        unused,
        granted: stage.scopes.clone(),
        used,
        over_issued: over_issued.keys().cloned().collect(),
        over_issued_counts: over_issued,
        granted_later,
        introduced_at,
        requests,
        allowed,
        use_counts,
        per_tool,
        enough_data,
    })
}

/// The key of the MCP route (`tools/call refund_order`) that decided
/// `event`, when it is one.
fn mcp_route(contract: &Contract, event: &Decision) -> Option<String> {
    let key = event.route.as_deref()?;
    super::route_named(contract, key)
        .filter(|r| r.mcp)
        .map(|_| key.to_owned())
}

/// The scopes an allowed request needed: its route's requirement (from the
/// contract, or from the event when the route is not in this version)
/// intersected with its token's scopes.
fn needed(contract: &Contract, event: &Decision) -> BTreeSet<String> {
    let requirement = super::requirement_of(contract, event);
    requirement
        .all_of()
        .iter()
        .chain(requirement.any_of())
        .filter(|s| event.scopes.iter().any(|t| t == *s))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampgate_core::audit::AuditRecord;

    const CONTRACT: &str = r#"
version = 1
[scopes]
"read" = "r"
"write" = "w"
"approve" = "a"
"admin" = "x"
[defaults]
unknown_consumer = { stage = "public", scopes = ["read"] }
[[routes]]
method = "GET"
path = "/items"
scopes = ["read"]
[[routes]]
method = "POST"
path = "/items"
any = ["write", "admin"]
[[consumers]]
client_id = "back-office"
stage = "full"
stages = [{ name = "pilot", scopes = ["read"] }, { name = "full", scopes = ["read", "write", "approve"] }]
"#;

    fn event(consumer: &str, stage: &str, route: &str, outcome: &str, scopes: &str) -> Decision {
        let line = format!(
            r#"{{"type":"decision","ts":"2026-11-23T10:00:00Z","route":"{route}","consumer":"{consumer}","stage":"{stage}","outcome":"{outcome}","reason":"allowed","scopes":{scopes},"contract_version":1}}"#
        );
        match AuditRecord::parse(&line) {
            Ok(AuditRecord::Decision(event)) => *event,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unused_and_over_issued_scopes_of_each_consumer() {
        let contract = Contract::parse(CONTRACT).unwrap();
        let events = [
            event(
                "back-office",
                "full",
                "GET /items",
                "allow",
                r#"["read","write","admin"]"#,
            ),
            // An any-of route: only the alternative the token held was needed.
            event(
                "back-office",
                "full",
                "POST /items",
                "allow",
                r#"["read","write","admin"]"#,
            ),
            // A refused request uses nothing.
            event(
                "back-office",
                "full",
                "GET /items",
                "deny",
                r#"["approve"]"#,
            ),
            // At an earlier stage: another grant, not counted against this one.
            event(
                "back-office",
                "pilot",
                "GET /items",
                "allow",
                r#"["read","approve"]"#,
            ),
            event("web", "public", "GET /items", "allow", r#"["read"]"#),
        ];
        let refs: Vec<&Decision> = events.iter().collect();
        let found = least_privilege(&contract, &super::super::by_consumer(&refs), 3);
        assert_eq!(found.len(), 2);
        let office = &found[0];
        assert_eq!(office.consumer, "back-office");
        assert_eq!(office.stage, "full");
        assert_eq!((office.requests, office.allowed), (3, 2));
        assert_eq!(office.used, set(&["read", "write"]));
        assert_eq!(office.unused, set(&["approve"]));
        assert_eq!(office.over_issued, set(&["admin"]));
        assert_eq!(
            office.over_issued_counts,
            BTreeMap::from([("admin".to_owned(), 2)])
        );
        assert!(office.granted_later.is_empty());
        assert_eq!(
            office.introduced_at,
            BTreeMap::from([("approve".to_owned(), "full".to_owned())])
        );
        assert!(office.enough_data && office.recommends);
        let unknown = &found[1];
        assert_eq!(unknown.consumer, UNKNOWN_CONSUMERS);
        assert_eq!((unknown.requests, unknown.unused.len()), (1, 0));
        // One request is below --min-requests 3: no recommendation.
        assert!(!unknown.enough_data && !unknown.recommends);
    }

    fn set(scopes: &[&str]) -> BTreeSet<String> {
        scopes.iter().map(|s| (*s).to_owned()).collect()
    }
}
