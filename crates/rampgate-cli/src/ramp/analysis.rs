//! The report's numbers and verdicts, from the decision events and the
//! contract. Everything here is a pure function of its inputs; rendering is
//! in `text` and `html`, and this module's structs are the `--json` form.

use super::audit::{AuditLog, Decision, FileStats, Malformed, format_ts, ts_ms};
use rampgate_core::audit::AuditOutcome as Outcome;
use rampgate_core::contract::{Consumer, Contract, Mode};
use rampgate_core::{Reason, Requirement};
use std::collections::{BTreeMap, BTreeSet};

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

/// Requests by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Counts {
    pub(crate) requests: u64,
    pub(crate) allowed: u64,
    pub(crate) denied: u64,
    pub(crate) observe_denied: u64,
}

impl Counts {
    fn add(&mut self, outcome: Outcome) {
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

/// The roll-out step a verdict judges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Step {
    /// Enforce an observed or partly enforced route for everyone.
    EnforceRoute,
    /// Move a consumer to the next stage of its ramp.
    AdvanceConsumer,
}

/// What the data says about a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// The step would refuse requests that pass today.
    Breaks,
    /// The step refuses nothing that passes today, but requests refused
    /// today would stay refused after it.
    Review,
    /// Traffic, but fewer requests than `--min-requests`.
    NotEnoughData,
    /// No traffic at all: cannot judge.
    NoData,
    /// Enough requests, and none that the step would refuse.
    Safe,
}

impl Verdict {
    pub(crate) fn label(self) -> &'static str {
        match self {
            Verdict::Safe => "SAFE",
            Verdict::Breaks => "BREAKS",
            Verdict::Review => "REVIEW",
            Verdict::NotEnoughData => "NOT ENOUGH DATA",
            Verdict::NoData => "NO DATA",
        }
    }
}

/// A consumer that enforcing a route would break.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Breaking {
    pub(crate) consumer: Option<String>,
    /// Its requests to the route.
    pub(crate) requests: u64,
    /// Those that would be refused once enforced.
    pub(crate) observe_denied: u64,
    /// The scopes they would miss, with counts.
    pub(crate) missing: BTreeMap<String, u64>,
    /// Their reason codes, with counts.
    pub(crate) reasons: BTreeMap<String, u64>,
    /// What to do about it.
    pub(crate) hint: String,
}

/// Requests a consumer's next stage would still refuse.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct StillRefused {
    pub(crate) route: Option<String>,
    pub(crate) missing: Vec<String>,
    pub(crate) requests: u64,
}

/// The verdict on one step.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub(crate) struct StepVerdict {
    pub(crate) step: Step,
    /// The route key or the consumer key.
    pub(crate) subject: String,
    /// The current mode or stage.
    pub(crate) from: String,
    /// `enforce`, or the next stage.
    pub(crate) to: String,
    pub(crate) verdict: Verdict,
    /// The verdict in one sentence.
    pub(crate) message: String,
    /// The requests the verdict rests on.
    pub(crate) requests: u64,
    /// `enforce_route`: the consumers that would break.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) breaking: Option<Vec<Breaking>>,
    /// `advance_consumer`: scopes the next stage adds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) adds: Option<Vec<String>>,
    /// `advance_consumer`: requests refused today that the next stage would allow.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) would_allow: Option<u64>,
    /// `advance_consumer`: requests refused today that the next stage would still refuse.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) still_refused: Option<Vec<StillRefused>>,
    /// Caveats that do not change the verdict.
    pub(crate) notes: Vec<String>,
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

/// The time the report covers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub(crate) struct Window {
    /// The first and last event in the window (RFC 3339 UTC); `null` without events.
    pub(crate) first: Option<String>,
    pub(crate) last: Option<String>,
    /// Seconds from first to last.
    pub(crate) seconds: i64,
    /// `--since`, or the start `--window` gives, when one is set.
    pub(crate) since: Option<String>,
    #[serde(skip)]
    pub(crate) first_ms: i64,
    #[serde(skip)]
    pub(crate) last_ms: i64,
}

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
    pub(crate) no_traffic: NoTraffic,
    pub(crate) summary: Summary,
}

impl Analysis {
    /// Whether any verdict says a step would break consumers.
    pub(crate) fn breaks(&self) -> bool {
        self.summary.breaks > 0
    }
}

/// An event's optional text, owned.
fn owned(text: &Option<std::borrow::Cow<'_, str>>) -> Option<String> {
    text.as_deref().map(str::to_owned)
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_owned()).or_default() += 1;
}

/// `12 400`: digits grouped by three with spaces.
pub(crate) fn number(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// `3 days`, `5 hours`, `42 minutes`, `12 seconds`.
pub(crate) fn duration(seconds: i64) -> String {
    let plural = |n: i64, unit: &str| {
        if n == 1 {
            format!("1 {unit}")
        } else {
            format!("{n} {unit}s")
        }
    };
    let s = seconds.max(0);
    if s >= 36 * 3600 {
        plural((s + 43_200) / 86_400, "day")
    } else if s >= 2 * 3600 {
        plural((s + 1800) / 3600, "hour")
    } else if s >= 120 {
        plural((s + 30) / 60, "minute")
    } else {
        plural(s, "second")
    }
}

/// `a (3), b (1)`.
pub(crate) fn counted(map: &BTreeMap<String, u64>) -> String {
    map.iter()
        .map(|(k, n)| format!("{k} ({})", number(*n)))
        .collect::<Vec<_>>()
        .join(", ")
}

fn plural(n: u64, one: &str, many: &str) -> String {
    if n == 1 {
        format!("1 {one}")
    } else {
        format!("{} {many}", number(n))
    }
}

/// The key under which events name a contract consumer.
fn consumer_named<'c>(contract: &'c Contract, key: Option<&str>) -> Option<&'c Consumer> {
    let key = key?;
    contract.consumers().iter().find(|c| c.key() == key)
}

/// A route's requirement: the contract's when it lists the route, else what
/// the event recorded.
fn requirement_of(contract: &Contract, event: &Decision) -> Requirement {
    if let Some(route) = event.route.as_deref()
        && let Some((method, path)) = route.split_once(' ')
        && let Some(declared) = contract.route(method, path)
    {
        return declared.requirement.clone();
    }
    if event.required_one_of {
        Requirement::any(event.required.iter().map(|s| s.to_string()))
    } else {
        Requirement::all(event.required.iter().map(|s| s.to_string()))
    }
}

/// Each request's time and outcome, in time order once sorted.
type Timeline = Vec<(i64, Outcome)>;

/// Builds the report.
pub(crate) fn analyse(
    contract: &Contract,
    contract_file: &str,
    log: AuditLog,
    options: &Options,
) -> Analysis {
    let latest = log.decisions.iter().map(ts_ms).max();
    let start = match (options.since, options.window, latest) {
        (Some(since), _, _) => Some(since),
        (None, Some(window), Some(latest)) => Some(latest.saturating_sub(window)),
        _ => None,
    };
    let events: Vec<&Decision> = log
        .decisions
        .iter()
        .filter(|e| start.is_none_or(|start| ts_ms(e) >= start))
        .collect();
    let first_ms = events.iter().map(|e| ts_ms(e)).min().unwrap_or(0);
    let last_ms = events.iter().map(|e| ts_ms(e)).max().unwrap_or(0);
    let window = Window {
        first: (!events.is_empty()).then(|| format_ts(first_ms)),
        last: (!events.is_empty()).then(|| format_ts(last_ms)),
        seconds: (last_ms - first_ms) / 1000,
        since: start.map(format_ts),
        first_ms,
        last_ms,
    };

    // Per route, then per consumer.
    let mut by_route: BTreeMap<Option<String>, (Counts, Timeline)> = BTreeMap::new();
    let mut by_pair: BTreeMap<(Option<String>, Option<String>), Row> = BTreeMap::new();
    let mut by_consumer: BTreeMap<Option<String>, Counts> = BTreeMap::new();
    let mut versions = BTreeSet::new();
    for e in &events {
        if let Some(v) = e.contract_version {
            versions.insert(v);
        }
        let (route, consumer) = (owned(&e.route), owned(&e.consumer));
        let (counts, timeline) = by_route.entry(route.clone()).or_default();
        counts.add(e.outcome);
        timeline.push((ts_ms(e), e.outcome));
        by_consumer
            .entry(consumer.clone())
            .or_default()
            .add(e.outcome);
        let row = by_pair.entry((route, consumer.clone())).or_insert_with(|| {
            let named = consumer_named(contract, e.consumer.as_deref());
            Row {
                consumer,
                in_contract: named.is_some(),
                stage: named.map(|c| c.stage().name.clone()),
                counts: Counts::default(),
                rates: Rates::from(&Counts::default()),
                would_miss: BTreeMap::new(),
                denied_missing: BTreeMap::new(),
                reasons: BTreeMap::new(),
            }
        });
        row.counts.add(e.outcome);
        match e.outcome {
            Outcome::Allow => {}
            Outcome::Deny => {
                bump(&mut row.reasons, &e.reason);
                for s in &e.missing {
                    bump(&mut row.denied_missing, s);
                }
            }
            Outcome::ObserveDeny => {
                bump(&mut row.reasons, &e.reason);
                for s in &e.missing {
                    bump(&mut row.would_miss, s);
                }
            }
        }
    }
    for row in by_pair.values_mut() {
        row.rates = Rates::from(&row.counts);
    }

    // Routes: the contract's in its order, then the others by name, then `null`.
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
        let declared = key
            .as_deref()
            .and_then(|k| k.split_once(' '))
            .and_then(|(m, p)| contract.route(m, p));
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

    // Consumers: the contract's in its order, then the others.
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

    let span = duration(window.seconds);
    let mut verdicts = Vec::new();
    for declared in contract.routes() {
        if matches!(declared.mode, Mode::Enforce | Mode::Percent(100)) {
            continue;
        }
        let key = declared.key();
        let Some(report) = routes.iter().find(|r| r.route.as_deref() == Some(&key)) else {
            continue;
        };
        verdicts.push(route_verdict(contract, declared, report, options, &span));
    }
    for consumer in contract.consumers() {
        if consumer.current + 1 >= consumer.stages.len() {
            continue;
        }
        let key = consumer.key();
        let mine: Vec<&Decision> = events
            .iter()
            .filter(|e| e.consumer.as_deref() == Some(&key))
            .copied()
            .collect();
        verdicts.push(advance_verdict(contract, consumer, &mine, options, &span));
    }

    let mut summary = Summary::default();
    for v in &verdicts {
        match v.verdict {
            Verdict::Safe => summary.safe += 1,
            Verdict::Breaks => summary.breaks += 1,
            Verdict::Review => summary.review += 1,
            Verdict::NotEnoughData => summary.not_enough_data += 1,
            Verdict::NoData => summary.no_data += 1,
        }
    }
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
    let other_events = log.files.iter().map(|f| f.other_events).sum();
    let malformed_lines = log.malformed.len();
    Analysis {
        report_version: 1,
        contract: ContractInfo {
            file: contract_file.to_owned(),
            version: contract.version(),
        },
        input: Input {
            decisions: log.decisions.len(),
            in_window: events.len(),
            other_events,
            malformed_lines,
            malformed: log
                .malformed
                .into_iter()
                .take(MAX_MALFORMED_SHOWN)
                .collect(),
            contract_versions: versions,
            files: log.files,
        },
        window,
        min_requests: options.min_requests,
        routes,
        consumers,
        verdicts,
        no_traffic,
        summary,
    }
}

/// Why a consumer's observe-denials happen, and what would cure them.
fn hint(contract: &Contract, row: &Row) -> String {
    let Some(consumer) = consumer_named(contract, row.consumer.as_deref()) else {
        return if row.consumer.is_some() {
            "the contract does not name this consumer".to_owned()
        } else {
            "requests without a consumer (no token or no client_id)".to_owned()
        };
    };
    let mut parts = Vec::new();
    let missing: BTreeSet<&String> = row.would_miss.keys().collect();
    let beyond = Reason::ScopeBeyondStage.as_str();
    let insufficient = Reason::ScopeInsufficient.as_str();
    if row.reasons.contains_key(beyond) {
        let stage = &consumer.stage().name;
        let later = consumer.stages[consumer.current + 1..]
            .iter()
            .find(|s| missing.iter().all(|m| s.scopes.contains(*m)));
        parts.push(match later {
            Some(next) => format!(
                "its tokens carry the scopes but stage {stage} does not allow them: advance it to {} first",
                next.name
            ),
            None => format!(
                "its tokens carry the scopes but stage {stage} does not allow them, nor does any later stage"
            ),
        });
    }
    if row.reasons.contains_key(insufficient) {
        parts.push("its tokens lack the scopes: the client must request them".to_owned());
    }
    let others: Vec<&str> = row
        .reasons
        .keys()
        .map(String::as_str)
        .filter(|r| *r != beyond && *r != insufficient)
        .collect();
    if !others.is_empty() {
        parts.push(format!("reasons {}", others.join(", ")));
    }
    parts.join("; ")
}

fn route_verdict(
    contract: &Contract,
    declared: &rampgate_core::contract::Route,
    report: &RouteReport,
    options: &Options,
    span: &str,
) -> StepVerdict {
    let key = declared.key();
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
            hint: hint(contract, r),
        })
        .collect();
    let total = report.counts.requests;
    // Consumers the contract names that never called the route, and whose
    // stage could not satisfy it: enforcing would refuse them if they did.
    let mut notes = Vec::new();
    let unseen: Vec<String> = contract
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
        .map(|c| format!("{} (stage {})", c.key(), c.stage().name))
        .collect();
    if !unseen.is_empty() && total > 0 {
        notes.push(format!(
            "no request in the window from {}, whose stage does not allow {}: once enforced, they would be refused if they call it",
            unseen.join(", "),
            declared.requirement.describe()
        ));
    }
    if report.counts.denied > 0 {
        notes.push(format!(
            "{} already refused (enforced part of the roll-out, or failures before the contract)",
            plural(report.counts.denied, "request was", "requests were")
        ));
    }
    let (verdict, message) = if total == 0 {
        (
            Verdict::NoData,
            format!("no data: no request to {key} in the window; cannot judge"),
        )
    } else if !breaking.is_empty() {
        let who: Vec<String> = breaking
            .iter()
            .map(|b| {
                let one_of = declared.requirement.all_of().is_empty();
                let missing = match (b.missing.is_empty(), one_of) {
                    (true, _) => String::new(),
                    (false, false) => format!(
                        ", missing {}",
                        b.missing.keys().cloned().collect::<Vec<_>>().join(" ")
                    ),
                    (false, true) => format!(
                        ", missing one of {}",
                        b.missing.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                };
                format!(
                    "{} ({} of {} would be refused{missing})",
                    b.consumer.as_deref().unwrap_or("(no consumer)"),
                    number(b.observe_denied),
                    plural(b.requests, "request", "requests"),
                )
            })
            .collect();
        (
            Verdict::Breaks,
            format!(
                "would break {}: {}",
                plural(breaking.len() as u64, "consumer", "consumers"),
                who.join("; ")
            ),
        )
    } else if total < options.min_requests {
        (
            Verdict::NotEnoughData,
            format!(
                "not enough data: {} in {span}, fewer than --min-requests {}; 0 observe-denials so far",
                plural(total, "request", "requests"),
                options.min_requests
            ),
        )
    } else {
        (
            Verdict::Safe,
            format!(
                "safe to enforce: 0 observe-denials in {span} over {}",
                plural(total, "request", "requests")
            ),
        )
    };
    StepVerdict {
        step: Step::EnforceRoute,
        subject: key,
        from: declared.mode.to_string(),
        to: "enforce".to_owned(),
        verdict,
        message,
        requests: total,
        breaking: Some(breaking),
        adds: None,
        would_allow: None,
        still_refused: None,
        notes,
    }
}

fn advance_verdict(
    contract: &Contract,
    consumer: &Consumer,
    events: &[&Decision],
    options: &Options,
    span: &str,
) -> StepVerdict {
    let key = consumer.key();
    let stage = consumer.stage();
    let next = &consumer.stages[consumer.current + 1];
    let adds: Vec<String> = next.scopes.difference(&stage.scopes).cloned().collect();
    let total = events.len() as u64;
    let mut would_allow = 0;
    let mut still: BTreeMap<(Option<String>, Vec<String>), u64> = BTreeMap::new();
    let mut carried = BTreeSet::new();
    let mut breaks = 0;
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
                if !scoped.iter().any(|r| e.reason == r.as_str()) {
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
                    *still.entry((owned(&e.route), missing)).or_default() += 1;
                }
            }
        }
    }
    let still_refused: Vec<StillRefused> = still
        .into_iter()
        .map(|((route, missing), requests)| StillRefused {
            route,
            missing,
            requests,
        })
        .collect();
    let still_total: u64 = still_refused.iter().map(|s| s.requests).sum();
    let mut notes = Vec::new();
    let unused: Vec<&str> = adds
        .iter()
        .filter(|s| !carried.contains(*s))
        .map(String::as_str)
        .collect();
    if total > 0 && !unused.is_empty() {
        notes.push(format!(
            "no token seen carries {}: advancing changes nothing for {} until the client requests {}",
            unused.join(" "),
            if unused.len() == 1 { "it" } else { "them" },
            if unused.len() == 1 { "it" } else { "them" },
        ));
    }
    let adds_words = if adds.is_empty() {
        "adds no scope".to_owned()
    } else {
        format!("adds {}", adds.join(" "))
    };
    let step = format!("{} -> {} ({adds_words})", stage.name, next.name);
    let (verdict, message) = if total == 0 {
        (
            Verdict::NoData,
            format!("no data: {key} sent no request in the window; cannot judge"),
        )
    } else if breaks > 0 {
        (
            Verdict::Breaks,
            format!(
                "{step} would refuse {} allowed today",
                plural(breaks, "request", "requests")
            ),
        )
    } else if total < options.min_requests {
        (
            Verdict::NotEnoughData,
            format!(
                "not enough data: {} in {span}, fewer than --min-requests {}",
                plural(total, "request", "requests"),
                options.min_requests
            ),
        )
    } else if still_total > 0 {
        let what: Vec<String> = still_refused
            .iter()
            .map(|s| {
                format!(
                    "{} missing {} ({})",
                    s.route.as_deref().unwrap_or("(no route)"),
                    s.missing.join(" "),
                    number(s.requests)
                )
            })
            .collect();
        (
            Verdict::Review,
            format!(
                "advancing refuses nothing allowed today, but {} refused today would still be refused at {}: {}",
                plural(still_total, "request", "requests"),
                next.name,
                what.join("; ")
            ),
        )
    } else {
        (
            Verdict::Safe,
            format!(
                "safe to advance {step}: none of {} in {span} would be refused{}",
                plural(total, "request", "requests"),
                if would_allow > 0 {
                    format!(
                        ", and {} refused today for want of a scope would be allowed",
                        number(would_allow)
                    )
                } else {
                    String::new()
                }
            ),
        )
    };
    StepVerdict {
        step: Step::AdvanceConsumer,
        subject: key,
        from: stage.name.clone(),
        to: next.name.clone(),
        verdict,
        message,
        requests: total,
        breaking: None,
        adds: Some(adds),
        would_allow: Some(would_allow),
        still_refused: Some(still_refused),
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rampgate_core::audit::AuditRecord;

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
        // POST /x had no traffic: no data, never safe.
        assert_eq!(a.verdicts[1].verdict, Verdict::NoData);
        assert_eq!(a.no_traffic.routes, ["POST /x"]);
        assert_eq!(a.input.contract_versions, BTreeSet::from([2]));
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
            .find(|v| v.step == Step::AdvanceConsumer)
            .unwrap();
        assert_eq!(advance.verdict, Verdict::Safe, "{}", advance.message);
        assert_eq!(advance.would_allow, Some(4));
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
            .find(|v| v.step == Step::AdvanceConsumer)
            .unwrap();
        assert_eq!(advance.verdict, Verdict::Review, "{}", advance.message);
        assert_eq!(
            advance.still_refused,
            Some(vec![StillRefused {
                route: Some("POST /x".into()),
                missing: vec!["w".into()],
                requests: 1
            }])
        );
        // Below the threshold: not enough data, whatever else.
        let a = analysis(
            vec![decision(0, "GET /x", "allow", "allowed", r#"["r"]"#)],
            5,
        );
        let advance = a
            .verdicts
            .iter()
            .find(|v| v.step == Step::AdvanceConsumer)
            .unwrap();
        assert_eq!(advance.verdict, Verdict::NotEnoughData);
    }

    #[test]
    fn numbers_and_durations_read_well() {
        assert_eq!(number(0), "0");
        assert_eq!(number(999), "999");
        assert_eq!(number(12_400), "12 400");
        assert_eq!(number(1_234_567), "1 234 567");
        assert_eq!(duration(3 * 86_400 - 600), "3 days");
        assert_eq!(duration(47 * 3600), "2 days");
        assert_eq!(duration(35 * 3600), "35 hours");
        assert_eq!(duration(90), "90 seconds");
        assert_eq!(duration(3600), "60 minutes");
    }
}
