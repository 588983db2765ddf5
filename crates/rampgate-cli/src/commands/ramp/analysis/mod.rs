//! The report's numbers and verdicts, from the decision events and the
//! contract: the window (`window`), the counts (`tally`), and the verdicts
//! on enforcing a route (`route`) and advancing a consumer (`advance`).
//! Everything here is a pure function of its inputs and says nothing in
//! words: `ramp::words` does, for the renderers (`text`, `html`) and the
//! `--json` form, which is this module's structs.

mod advance;
mod privilege;
mod route;
mod tally;
mod verdict;
mod window;

pub(crate) use privilege::{LeastPrivilege, UNKNOWN_CONSUMERS};
pub(crate) use tally::{Counts, RouteReport};
#[cfg(test)]
pub(crate) use verdict::StillRefused;
pub(crate) use verdict::{Breaking, Cause, StageCure, StepDetails, StepVerdict, Verdict};

use super::audit::{AuditLog, Decision, FileStats, Malformed};
use rampgate_core::Requirement;
use rampgate_core::contract::{Contract, Mode, Route};
use std::collections::{BTreeSet, HashMap};
use tally::{ConsumerReport, Tally};
use window::Window;

/// How the report is asked for.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    /// Only events at or after this time (ms since the epoch).
    pub(crate) since: Option<i64>,
    /// Only events within this long before the latest event (ms).
    pub(crate) window: Option<i64>,
    /// Below this many requests a step is "not enough data".
    pub(crate) min_requests: u64,
}

/// The input's bookkeeping.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Input {
    pub(crate) files: Vec<FileStats>,
    /// Valid `decision` events in all files.
    pub(crate) decisions: usize,
    /// Of those, the ones inside the window.
    pub(crate) in_window: usize,
    /// Valid events of other types, skipped.
    pub(crate) other_events: usize,
    pub(crate) malformed_lines: usize,
    /// The first malformed lines (at most [`MAX_MALFORMED_SHOWN`]).
    pub(crate) malformed: Vec<Malformed>,
    /// The contract versions that decided the requests in the window.
    pub(crate) contract_versions: BTreeSet<u64>,
}

/// How many malformed lines are listed one by one.
pub(crate) const MAX_MALFORMED_SHOWN: usize = 10;

/// The contract the report judges against.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct ContractInfo {
    pub(crate) file: String,
    pub(crate) version: u64,
}

/// Contract routes and consumers without a single request in the window.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct NoTraffic {
    pub(crate) routes: Vec<String>,
    pub(crate) consumers: Vec<String>,
}

/// Verdicts by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Summary {
    pub(crate) safe: usize,
    pub(crate) breaks: usize,
    pub(crate) review: usize,
    pub(crate) not_enough_data: usize,
    pub(crate) no_data: usize,
}

/// The changes of the revocation list in the window (`revocation` events
/// at or after its start): an incident's footprint next to the traffic.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Revocations {
    pub(crate) total: u64,
    /// `revoke` events.
    pub(crate) revoked: u64,
    /// `unrevoke` events.
    pub(crate) unrevoked: u64,
    /// Events per kind (`jti`, `sub`, `consumer`, `kid`).
    pub(crate) by: std::collections::BTreeMap<String, u64>,
}

impl Revocations {
    fn count(log: &AuditLog, start_ms: Option<i64>) -> Self {
        let mut out = Revocations::default();
        for r in &log.revocations {
            if start_ms.is_some_and(|start| r.ts_ms < start) {
                continue;
            }
            out.total += 1;
            match r.action.as_str() {
                "revoke" => out.revoked += 1,
                "unrevoke" => out.unrevoked += 1,
                _ => {}
            }
            *out.by.entry(r.by.clone()).or_default() += 1;
        }
        out
    }
}

/// The whole report (the `--json` form).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct Analysis {
    /// The version of this JSON structure.
    pub(crate) report_version: u32,
    pub(crate) contract: ContractInfo,
    pub(crate) input: Input,
    pub(crate) window: Window,
    pub(crate) min_requests: u64,
    pub(crate) routes: Vec<RouteReport>,
    pub(crate) consumers: Vec<ConsumerReport>,
    pub(crate) verdicts: Vec<StepVerdict>,
    /// Each consumer's grant against its use, at its current stage.
    pub(crate) least_privilege: Vec<LeastPrivilege>,
    pub(crate) no_traffic: NoTraffic,
    /// The revocation list's changes in the window.
    pub(crate) revocations: Revocations,
    pub(crate) summary: Summary,
}

impl Analysis {
    /// Whether any verdict says a step would break consumers.
    pub(crate) fn breaks(&self) -> bool {
        self.summary.breaks > 0
    }
}

/// Builds the report.
pub(crate) fn analyse(
    contract: &Contract,
    contract_file: &str,
    log: AuditLog,
    options: &Options,
) -> Analysis {
    let (window, events) = window::select(&log.decisions, options);
    let Tally {
        routes,
        consumers,
        versions,
    } = tally::tally(contract, &events);
    let by_consumer = by_consumer(&events);
    let verdicts = verdicts(contract, &routes, &by_consumer, options, window.seconds);
    let least_privilege = privilege::least_privilege(contract, &by_consumer, options.min_requests);
    let no_traffic = NoTraffic {
        routes: routes
            .iter()
            .filter(|r| r.in_contract && r.counts.requests == 0)
            .filter_map(|r| r.route.clone())
            .collect(),
        consumers: consumers
            .iter()
            .filter(|c| c.in_contract && c.counts.requests == 0)
            .filter_map(|c| c.consumer.clone())
            .collect(),
    };
    let revocations = Revocations::count(&log, window.start_ms);
    let input = Input {
        decisions: log.decisions.len(),
        in_window: events.len(),
        other_events: log.files.iter().map(|f| f.other_events).sum(),
        malformed_lines: log.malformed.len(),
        malformed: log
            .malformed
            .into_iter()
            .take(MAX_MALFORMED_SHOWN)
            .collect(),
        contract_versions: versions,
        files: log.files,
    };
    Analysis {
        report_version: 1,
        contract: ContractInfo {
            file: contract_file.to_owned(),
            version: contract.version(),
        },
        input,
        window,
        min_requests: options.min_requests,
        routes,
        consumers,
        summary: Summary::of(&verdicts),
        verdicts,
        least_privilege,
        no_traffic,
        revocations,
    }
}

/// The contract route an event's `METHOD /template` key names, if this
/// version of the contract lists it.
fn route_named<'c>(contract: &'c Contract, key: &str) -> Option<&'c Route> {
    match key.split_once(' ') {
        Some((method, path)) => contract.route(method, path),
        // An MCP route without a target (`completion/complete`).
        None => contract.route(key, ""),
    }
}

/// A route's requirement: the contract's when it lists the route, else what
/// the event recorded.
fn requirement_of(contract: &Contract, event: &Decision) -> Requirement {
    if let Some(declared) = event
        .route
        .as_deref()
        .and_then(|k| route_named(contract, k))
    {
        return declared.requirement.clone();
    }
    let required = event.required.iter().map(|s| s.to_string());
    if event.required_one_of {
        Requirement::any(required)
    } else {
        Requirement::all(required)
    }
}

/// The verdicts on the contract's open steps: each route not enforced for
/// everyone, then each consumer with a next stage.
/// The window's events grouped by their `consumer`, once, for the steps
/// that look at one consumer at a time (events without one are left out).
pub(crate) type ByConsumer<'e> = HashMap<&'e str, Vec<&'e Decision>>;

fn by_consumer<'e>(events: &[&'e Decision]) -> ByConsumer<'e> {
    let mut grouped: ByConsumer<'e> = HashMap::new();
    for event in events {
        if let Some(consumer) = event.consumer.as_deref() {
            grouped.entry(consumer).or_default().push(event);
        }
    }
    grouped
}

fn verdicts(
    contract: &Contract,
    routes: &[RouteReport],
    by_consumer: &ByConsumer<'_>,
    options: &Options,
    span_seconds: i64,
) -> Vec<StepVerdict> {
    let mut verdicts = Vec::new();
    for declared in contract.routes() {
        if matches!(declared.mode, Mode::Enforce | Mode::Percent(100)) {
            continue;
        }
        let key = declared.key();
        let Some(report) = routes.iter().find(|r| r.route.as_deref() == Some(&key)) else {
            continue;
        };
        verdicts.push(route::enforce_route(
            contract,
            declared,
            report,
            options,
            span_seconds,
        ));
    }
    for consumer in contract.consumers() {
        if consumer.current + 1 >= consumer.stages.len() {
            continue;
        }
        let mine = by_consumer
            .get(consumer.key().as_str())
            .map_or(&[][..], Vec::as_slice);
        verdicts.push(advance::advance_consumer(
            contract,
            consumer,
            mine,
            options,
            span_seconds,
        ));
    }
    verdicts
}

impl Summary {
    fn of(verdicts: &[StepVerdict]) -> Summary {
        let mut summary = Summary::default();
        for v in verdicts {
            match v.verdict {
                Verdict::Safe => summary.safe += 1,
                Verdict::Breaks => summary.breaks += 1,
                Verdict::Review => summary.review += 1,
                Verdict::NotEnoughData => summary.not_enough_data += 1,
                Verdict::NoData => summary.no_data += 1,
            }
        }
        summary
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::ramp::words::{from_to, message};
    use rampgate_core::audit::AuditRecord;
    use rampgate_core::contract::Mode;

    const CONTRACT: &str = r#"
version = 3
[scopes]
"r" = "read"
"w" = "write"
[[routes]]
method = "GET"
path = "/x"
scopes = ["r"]
mode = "observe"
[[routes]]
method = "POST"
path = "/x"
scopes = ["w"]
mode = "50%"
[[consumers]]
client_id = "app"
stage = "one"
stages = [{ name = "one", scopes = ["r"] }, { name = "two", scopes = ["r", "w"] }]
"#;

    fn decision(minute: u32, route: &str, outcome: &str, reason: &str, scopes: &str) -> Decision {
        let line = format!(
            r#"{{"type":"decision","ts":"2026-11-23T10:{minute:02}:00Z","route":"{route}","consumer":"app","outcome":"{outcome}","reason":"{reason}","scopes":{scopes},"contract_version":2}}"#
        );
        match AuditRecord::parse(&line) {
            Ok(AuditRecord::Decision(event)) => *event,
            other => panic!("{other:?}"),
        }
    }

    fn analysis(decisions: Vec<Decision>, min_requests: u64) -> Analysis {
        let contract = Contract::parse(CONTRACT).unwrap();
        let log = AuditLog {
            decisions,
            ..AuditLog::default()
        };
        let options = Options {
            since: None,
            window: None,
            min_requests,
        };
        analyse(&contract, "c.toml", log, &options)
    }

    #[test]
    fn evidence_of_breakage_wins_over_the_threshold() {
        let mut events: Vec<_> = (0..17)
            .map(|m| decision(m, "GET /x", "allow", "allowed", r#"["r"]"#))
            .collect();
        events.extend(
            (17..20).map(|m| decision(m, "GET /x", "observe_deny", "scope_insufficient", "[]")),
        );
        let a = analysis(events, 100);
        let get = &a.verdicts[0];
        assert_eq!(
            (get.subject.as_str(), get.verdict),
            ("GET /x", Verdict::Breaks)
        );
        assert_eq!(get.requests, 20);
        assert!(a.breaks());
        assert!(
            matches!(
                get.step,
                StepDetails::EnforceRoute {
                    mode: Mode::Observe,
                    ..
                }
            ),
            "{get:?}"
        );
        assert_eq!(from_to(get), ("observe".into(), "enforce".into()));
        assert_eq!(from_to(&a.verdicts[1]), ("50%".into(), "enforce".into()));
        // POST /x had no traffic: no data, never safe.
        assert_eq!(a.verdicts[1].verdict, Verdict::NoData);
        assert_eq!(a.no_traffic.routes, ["POST /x"]);
        assert_eq!(a.input.contract_versions, BTreeSet::from([2]));
    }

    #[test]
    fn separation_refusals_say_one_duty_per_token() {
        let events = vec![decision(
            1,
            "GET /x",
            "observe_deny",
            "separation_of_duties",
            r#"["r","w"]"#,
        )];
        let a = analysis(events, 100);
        let get = &a.verdicts[0];
        assert_eq!(get.verdict, Verdict::Breaks);
        let StepDetails::EnforceRoute { breaking, .. } = &get.step else {
            panic!("{get:?}")
        };
        let hint = crate::commands::ramp::words::hint(&breaking[0].cause);
        assert_eq!(
            hint,
            "its tokens carry scopes a separation of duties keeps apart: the client must ask for one duty per token"
        );
    }

    #[test]
    fn advancing_replays_scope_refusals_at_the_next_stage() {
        // The token has w, the stage does not: stage two cures it.
        let mut events: Vec<_> = (0..4)
            .map(|m| decision(m, "POST /x", "deny", "scope_beyond_stage", r#"["r","w"]"#))
            .collect();
        events.push(decision(5, "GET /x", "allow", "allowed", r#"["r","w"]"#));
        let a = analysis(events.clone(), 5);
        let advance = a
            .verdicts
            .iter()
            .find(|v| matches!(v.step, StepDetails::AdvanceConsumer { .. }))
            .unwrap();
        assert_eq!(advance.verdict, Verdict::Safe, "{}", message(advance));
        assert_eq!(from_to(advance), ("one".into(), "two".into()));
        assert!(
            matches!(
                advance.step,
                StepDetails::AdvanceConsumer { would_allow: 4, .. }
            ),
            "{advance:?}"
        );
        // The token lacks w: stage two does not cure it.
        events.push(decision(
            6,
            "POST /x",
            "deny",
            "scope_insufficient",
            r#"["r"]"#,
        ));
        let a = analysis(events, 5);
        let advance = a
            .verdicts
            .iter()
            .find(|v| matches!(v.step, StepDetails::AdvanceConsumer { .. }))
            .unwrap();
        assert_eq!(advance.verdict, Verdict::Review, "{}", message(advance));
        let StepDetails::AdvanceConsumer { still_refused, .. } = &advance.step else {
            panic!("{advance:?}");
        };
        assert_eq!(
            *still_refused,
            [StillRefused {
                route: Some("POST /x".into()),
                missing: vec!["w".into()],
                requests: 1
            }]
        );
        // Below the threshold: not enough data, whatever else.
        let a = analysis(
            vec![decision(0, "GET /x", "allow", "allowed", r#"["r"]"#)],
            5,
        );
        let advance = a
            .verdicts
            .iter()
            .find(|v| matches!(v.step, StepDetails::AdvanceConsumer { .. }))
            .unwrap();
        assert_eq!(advance.verdict, Verdict::NotEnoughData);
    }
}
