//! The decisions in the window counted per route, per consumer on each
//! route, and per consumer over every route.

use crate::commands::ramp::audit::{Decision, ts_ms};
use rampgate_core::audit::AuditOutcome as Outcome;
use rampgate_core::contract::{Consumer, Contract};
use rampgate_core::{EventReason, Reason};
use std::collections::{BTreeMap, BTreeSet};

/// Requests by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Counts {
    pub(crate) requests: u64,
    pub(crate) allowed: u64,
    pub(crate) denied: u64,
    pub(crate) observe_denied: u64,
}

impl Counts {
    pub(crate) fn add(&mut self, outcome: Outcome) {
        self.requests += 1;
        match outcome {
            Outcome::Allow => self.allowed += 1,
            Outcome::Deny => self.denied += 1,
            Outcome::ObserveDeny => self.observe_denied += 1,
        }
    }

    /// The share of `n` in the requests, from 0 to 1, rounded to 4 decimals;
    /// `None` without requests.
    pub(crate) fn rate(&self, n: u64) -> Option<f64> {
        (self.requests > 0).then(|| (n as f64 / self.requests as f64 * 10_000.0).round() / 10_000.0)
    }
}

/// The three rates, for `--json`.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub(crate) struct Rates {
    allowed: Option<f64>,
    denied: Option<f64>,
    observe_denied: Option<f64>,
}

impl From<&Counts> for Rates {
    fn from(c: &Counts) -> Rates {
        Rates {
            allowed: c.rate(c.allowed),
            denied: c.rate(c.denied),
            observe_denied: c.rate(c.observe_denied),
        }
    }
}

/// One consumer on one route.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Row {
    /// The event's `consumer` (or `client_id`); `null` when the request had none.
    pub(crate) consumer: Option<String>,
    /// Whether the contract names this consumer.
    pub(crate) in_contract: bool,
    /// The consumer's current stage in the contract.
    pub(crate) stage: Option<String>,
    #[serde(flatten)]
    pub(crate) counts: Counts,
    pub(crate) rates: Rates,
    /// Scopes the observe-denied requests would have been missing, with counts.
    pub(crate) would_miss: BTreeMap<String, u64>,
    /// Scopes the denied requests were missing, with counts.
    pub(crate) denied_missing: BTreeMap<String, u64>,
    /// Reason codes of the denied and observe-denied requests, with counts.
    pub(crate) reasons: BTreeMap<String, u64>,
}

impl Row {
    fn new(contract: &Contract, consumer: Option<String>) -> Row {
        let named = consumer_named(contract, consumer.as_deref());
        Row {
            in_contract: named.is_some(),
            stage: named.map(|c| c.stage().name.clone()),
            consumer,
            counts: Counts::default(),
            rates: Rates::from(&Counts::default()),
            would_miss: BTreeMap::new(),
            denied_missing: BTreeMap::new(),
            reasons: BTreeMap::new(),
        }
    }

    fn add(&mut self, e: &Decision) {
        self.counts.add(e.outcome);
        let missing = match e.outcome {
            Outcome::Allow => return,
            Outcome::Deny => &mut self.denied_missing,
            Outcome::ObserveDeny => &mut self.would_miss,
        };
        for s in &e.missing {
            bump(missing, s);
        }
        bump(&mut self.reasons, &e.reason);
    }
}

/// Each request's time and outcome, in time order.
pub(crate) type Timeline = Vec<(i64, Outcome)>;

/// One route: its mode in the contract and its traffic per consumer.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct RouteReport {
    /// `METHOD /template` as in the events; `null` for requests no route matched.
    pub(crate) route: Option<String>,
    pub(crate) in_contract: bool,
    /// The route's mode in the contract: `enforce`, `observe` or `N%`.
    pub(crate) mode: Option<String>,
    /// What the contract route requires, in words.
    pub(crate) requires: Option<String>,
    #[serde(flatten)]
    pub(crate) counts: Counts,
    pub(crate) rates: Rates,
    /// Per consumer, by consumer name (requests without one last).
    pub(crate) consumers: Vec<Row>,
    /// Each request's time and outcome, for the charts.
    #[serde(skip)]
    pub(crate) timeline: Timeline,
}

/// One consumer over every route.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct ConsumerReport {
    pub(crate) consumer: Option<String>,
    pub(crate) in_contract: bool,
    pub(crate) stage: Option<String>,
    /// The stage after the current one, when the ramp has one.
    pub(crate) next_stage: Option<String>,
    #[serde(flatten)]
    pub(crate) counts: Counts,
    pub(crate) rates: Rates,
}

/// The counts of the decisions in the window.
pub(crate) struct Tally {
    /// The contract's routes in its order, then the others by name, then
    /// requests no route matched.
    pub(crate) routes: Vec<RouteReport>,
    /// The contract's consumers in its order, then the others.
    pub(crate) consumers: Vec<ConsumerReport>,
    /// The contract versions that decided the requests.
    pub(crate) versions: BTreeSet<u64>,
}

/// Counts `events`.
pub(crate) fn tally(contract: &Contract, events: &[&Decision]) -> Tally {
    let mut by_route: BTreeMap<Option<String>, (Counts, Timeline)> = BTreeMap::new();
    let mut by_pair: BTreeMap<(Option<String>, Option<String>), Row> = BTreeMap::new();
    let mut by_consumer: BTreeMap<Option<String>, Counts> = BTreeMap::new();
    let mut versions = BTreeSet::new();
    for e in events {
        versions.extend(e.contract_version);
        let (route, consumer) = (route_key(e), owned(&e.consumer));
        let (counts, timeline) = by_route.entry(route.clone()).or_default();
        counts.add(e.outcome);
        timeline.push((ts_ms(e), e.outcome));
        by_consumer
            .entry(consumer.clone())
            .or_default()
            .add(e.outcome);
        by_pair
            .entry((route, consumer.clone()))
            .or_insert_with(|| Row::new(contract, consumer))
            .add(e);
    }
    for row in by_pair.values_mut() {
        row.rates = Rates::from(&row.counts);
    }
    Tally {
        routes: routes(contract, by_route, &by_pair),
        consumers: consumers(contract, by_consumer),
        versions,
    }
}

/// The route an event is counted on: the one it names, except for an MCP
/// request no contract route listed (`route_unknown`, or let through by
/// `unknown_route = "allow"`), counted on its method and target
/// (`tools/call drop_tables`), so that each unlisted tool in use has its
/// own row rather than sharing the endpoint's (`POST /mcp`) with the
/// handshake.
pub(crate) fn route_key(e: &Decision) -> Option<String> {
    let unlisted = matches!(
        e.event_reason(),
        Some(EventReason::Refused(Reason::RouteUnknown) | EventReason::RouteUnlistedAllowed)
    );
    match (&e.mcp_method, &e.mcp_target) {
        (Some(method), Some(target)) if unlisted => Some(format!("{method} {target}")),
        (Some(method), None) if unlisted => Some(method.to_string()),
        _ => owned(&e.route),
    }
}

fn routes(
    contract: &Contract,
    mut by_route: BTreeMap<Option<String>, (Counts, Timeline)>,
    by_pair: &BTreeMap<(Option<String>, Option<String>), Row>,
) -> Vec<RouteReport> {
    let mut order: Vec<Option<String>> = contract.routes().iter().map(|r| Some(r.key())).collect();
    let mut others: Vec<Option<String>> = by_route
        .keys()
        .filter(|k| !order.contains(k))
        .cloned()
        .collect();
    // `None` sorts first in a BTreeMap; put it last.
    others.sort_by_key(|k| (k.is_none(), k.clone()));
    order.extend(others);
    let mut routes = Vec::new();
    for key in order {
        let declared = key.as_deref().and_then(|k| super::route_named(contract, k));
        let (counts, mut timeline) = by_route.remove(&key).unwrap_or_default();
        timeline.sort_unstable_by_key(|(ts, _)| *ts);
        let mut consumers: Vec<Row> = by_pair
            .iter()
            .filter(|((route, _), _)| *route == key)
            .map(|(_, row)| row.clone())
            .collect();
        consumers.sort_by_key(|r| (r.consumer.is_none(), r.consumer.clone()));
        routes.push(RouteReport {
            route: key,
            in_contract: declared.is_some(),
            mode: declared.map(|r| r.mode.to_string()),
            requires: declared.map(|r| r.requirement.describe()),
            rates: Rates::from(&counts),
            counts,
            consumers,
            timeline,
        });
    }
    routes
}

fn consumers(
    contract: &Contract,
    mut by_consumer: BTreeMap<Option<String>, Counts>,
) -> Vec<ConsumerReport> {
    let mut consumers = Vec::new();
    for c in contract.consumers() {
        let counts = by_consumer.remove(&Some(c.key())).unwrap_or_default();
        consumers.push(ConsumerReport {
            consumer: Some(c.key()),
            in_contract: true,
            stage: Some(c.stage().name.clone()),
            next_stage: c.stages.get(c.current + 1).map(|s| s.name.clone()),
            rates: Rates::from(&counts),
            counts,
        });
    }
    let mut rest: Vec<_> = by_consumer.into_iter().collect();
    rest.sort_by_key(|(k, _)| (k.is_none(), k.clone()));
    for (key, counts) in rest {
        consumers.push(ConsumerReport {
            consumer: key,
            in_contract: false,
            stage: None,
            next_stage: None,
            rates: Rates::from(&counts),
            counts,
        });
    }
    consumers
}

/// The contract's consumer that events name `key`.
pub(crate) fn consumer_named<'c>(
    contract: &'c Contract,
    key: Option<&str>,
) -> Option<&'c Consumer> {
    let key = key?;
    contract.consumers().iter().find(|c| c.key() == key)
}

/// An event's optional text, owned.
pub(crate) fn owned(text: &Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    text.as_deref().map(str::to_owned)
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_default() += 1;
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampgate_core::audit::AuditRecord;

    fn event(route: &str, outcome: &str, reason: &str, mcp: &str) -> Decision {
        let line = format!(
            r#"{{"type":"decision","ts":"2026-12-05T20:00:00Z","method":"POST","route":"{route}","consumer":"agent","outcome":"{outcome}","reason":"{reason}","contract_version":1{mcp}}}"#
        );
        match AuditRecord::parse(&line) {
            Ok(AuditRecord::Decision(event)) => *event,
            other => panic!("{other:?}"),
        }
    }

    /// An unlisted tool in use has its own row, named by its method and
    /// tool, not the endpoint's shared with the handshake.
    #[test]
    fn unlisted_mcp_calls_are_counted_on_their_method_and_target() {
        let contract = Contract::parse(
            "version = 1\n[mcp]\nendpoint = \"/mcp\"\n[[routes]]\nmcp = \"tools/call\"\nname = \"get_order\"\n",
        )
        .unwrap();
        let tool = |name: &str| format!(r#","mcp_method":"tools/call","mcp_target":"{name}""#);
        let events = [
            event(
                "POST /mcp",
                "allow",
                "allowed",
                r#","mcp_method":"initialize""#,
            ),
            event(
                "tools/call get_order",
                "allow",
                "allowed",
                &tool("get_order"),
            ),
            event("POST /mcp", "deny", "route_unknown", &tool("drop_tables")),
            event("POST /mcp", "deny", "route_unknown", &tool("drop_tables")),
            event(
                "POST /mcp",
                "allow",
                "route_unlisted_allowed",
                &tool("export_all"),
            ),
            event(
                "POST /mcp",
                "deny",
                "route_unknown",
                r#","mcp_method":"completion/complete""#,
            ),
        ];
        let refs: Vec<&Decision> = events.iter().collect();
        let tally = tally(&contract, &refs);
        let rows: Vec<(Option<&str>, bool, u64, u64)> = tally
            .routes
            .iter()
            .map(|r| {
                let c = r.counts;
                (r.route.as_deref(), r.in_contract, c.allowed, c.denied)
            })
            .collect();
        assert_eq!(
            rows,
            [
                (Some("tools/call get_order"), true, 1, 0),
                (Some("POST /mcp"), false, 1, 0),
                (Some("completion/complete"), false, 0, 1),
                (Some("tools/call drop_tables"), false, 0, 2),
                (Some("tools/call export_all"), false, 1, 0),
            ]
        );
    }
}
