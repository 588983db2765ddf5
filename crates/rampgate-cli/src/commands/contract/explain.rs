//! `rampgate contract explain`: one decision of the contract, and why.
//!
//! The decision itself is [`Contract::decide_for`], the function the layers
//! call; this module only finds the route a concrete path falls under and
//! lays out what went into the decision.

use crate::{Report, Status};
use rampgate_core::contract::{
    Caller, Consumer, Contract, Decision, Mode, Outcome, Route, TrustLevel, UnknownConsumer,
    rollout_bucket,
};
use rampgate_core::{DecisionReason, Requirement, Scopes};
use std::collections::BTreeSet;
use std::fmt::Write as _;

/// The request and token to explain.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) client_id: String,
    pub(crate) iss: Option<String>,
    pub(crate) sub: Option<String>,
    pub(crate) scopes: String,
}

/// The contract route a request path falls under: the path itself when it is
/// a template of the contract, otherwise the first template whose segments
/// match (`{id}` matches one segment, `{*rest}` the remainder).
fn template<'c>(contract: &'c Contract, method: &str, path: &str) -> Option<&'c str> {
    let methods: &[&str] = if method.eq_ignore_ascii_case("HEAD") {
        &["HEAD", "GET"]
    } else {
        &[method]
    };
    for m in methods {
        if let Some(route) = contract.route(m, path) {
            return Some(&route.path);
        }
    }
    for m in methods {
        for route in contract.routes() {
            if route.method.eq_ignore_ascii_case(m) && matches(&route.path, path) {
                return Some(&route.path);
            }
        }
    }
    None
}

fn matches(template: &str, path: &str) -> bool {
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), _) if w.starts_with("{*") && w.ends_with('}') => return true,
            (Some(w), Some(h)) if w.starts_with('{') && w.ends_with('}') => {
                if h.is_empty() {
                    return false;
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return false,
        }
    }
}

/// The consumer the decision was made for, as the contract sees it.
#[derive(Debug, Clone, serde::Serialize)]
struct ConsumerJson {
    client_id: String,
    sub: Option<String>,
    /// Whether the contract names this consumer.
    known: bool,
    /// `client_id`, or `client_id/sub`: the key of roll-out buckets.
    key: Option<String>,
    stage: Option<String>,
    stage_scopes: Option<BTreeSet<String>>,
}

/// The percentage roll-out, for a route in a percent mode.
#[derive(Debug, Clone, serde::Serialize)]
struct RolloutJson {
    percent: u8,
    bucket: u8,
    /// Whether the consumer's bucket is below the percentage.
    enforced: bool,
}

/// `--json`: the decision as the layers record it, and what went into it.
#[derive(Debug, Clone, serde::Serialize)]
struct ExplainJson<'a> {
    request: RequestJson<'a>,
    decision: &'a Decision,
    /// The contract route the path falls under.
    route: Option<String>,
    requirement: Option<Requirement>,
    requirement_description: Option<String>,
    consumer: ConsumerJson,
    token_scopes: &'a Scopes,
    /// The token's scopes the stage allows: the only ones that count.
    effective_scopes: Option<BTreeSet<String>>,
    rollout: Option<RolloutJson>,
    trust_demands: Option<TrustLevel>,
    /// `false` when `--iss` differs from the contract's issuer.
    issuer_matches: Option<bool>,
    explanation: String,
}

#[derive(Debug, Clone, serde::Serialize)]
struct RequestJson<'a> {
    method: &'a str,
    path: &'a str,
    client_id: &'a str,
    iss: Option<&'a str>,
    sub: Option<&'a str>,
}

/// What the trust level demands, in words.
fn trust_words(level: &TrustLevel) -> String {
    let mut parts = Vec::new();
    if !level.acr_values.is_empty() {
        parts.push(format!("acr one of {}", level.acr_values.join(", ")));
    }
    if !level.acr_hierarchy.is_empty() {
        parts.push(format!(
            "(acr strength: {})",
            level.acr_hierarchy.join(" < ")
        ));
    }
    if !level.amr.is_empty() {
        parts.push(format!("amr all of {}", level.amr.join(", ")));
    }
    if let Some(secs) = level.max_age {
        parts.push(format!("authenticated within the last {secs}s (auth_time)"));
    }
    if level.sender_constrained {
        parts.push("a sender-constrained token (DPoP or a client certificate)".to_owned());
    }
    if parts.is_empty() {
        "nothing beyond a valid token".to_owned()
    } else {
        parts.join("; ")
    }
}

fn list<'a>(scopes: impl IntoIterator<Item = &'a String>) -> String {
    let joined: Vec<&str> = scopes.into_iter().map(String::as_str).collect();
    if joined.is_empty() {
        "(none)".to_owned()
    } else {
        joined.join(" ")
    }
}

/// The decision in one sentence.
fn because(d: &Decision, req: &Request) -> String {
    let stage = d.stage.as_deref().unwrap_or("?");
    let required = if d.required_one_of {
        format!("one of {}", d.required.replace(' ', ", "))
    } else {
        d.required.replace(' ', ", ")
    };
    match d.reason {
        DecisionReason::Allowed => {
            "the effective scopes satisfy the route's requirement".to_owned()
        }
        DecisionReason::RouteUnlistedAllowed => format!(
            "no route of the contract matches {} {}, and defaults.unknown_route = \"allow\"",
            req.method, req.path
        ),
        DecisionReason::ScopeInsufficient => format!("the token lacks {required}"),
        DecisionReason::ScopeBeyondStage => {
            format!("the token has {required}, but stage {stage} does not allow it")
        }
        DecisionReason::ConsumerUnknown => format!(
            "client_id {:?} is not in the contract, and defaults.unknown_consumer = \"deny\"",
            req.client_id
        ),
        DecisionReason::RouteUnknown => format!(
            "no route of the contract matches {} {}, and defaults.unknown_route = \"deny\"",
            req.method, req.path
        ),
        DecisionReason::IssuerNotInContract => {
            "the contract names its issuer and applies to that issuer's tokens only".to_owned()
        }
        DecisionReason::SeparationOfDuties => match &d.separated {
            Some(s) => format!(
                "the token carries {}, which separation {} keeps apart, and the route needs one of them",
                s.held.replace(' ', " and "),
                s.separation
            ),
            None => d.reason.as_str().to_owned(),
        },
        _ => d.reason.as_str().to_owned(),
    }
}

fn outcome_line(d: &Decision, req: &Request) -> String {
    let why = because(d, req);
    match d.outcome {
        Outcome::Allow => format!("allow ({}): {why}", d.reason),
        Outcome::Deny => format!("deny ({}): {why}", d.reason),
        Outcome::ObserveDeny => format!(
            "observe_deny ({}): {why}; the route is not enforced for this consumer, so the request proceeds and the would-be denial is recorded",
            d.reason
        ),
    }
}

/// Everything that went into one decision.
struct Facts<'c> {
    method: String,
    token_scopes: Scopes,
    decision: Decision,
    /// The contract route the path falls under (shown even when the issuer
    /// is refused before the route is looked at).
    route: Option<&'c Route>,
    /// The consumer entry, when the contract names this consumer.
    known: Option<&'c Consumer>,
    /// What the consumer's stage (or the default stage) allows.
    stage_scopes: Option<BTreeSet<String>>,
    effective: Option<BTreeSet<String>>,
    rollout: Option<RolloutJson>,
    trust_level: Option<&'c TrustLevel>,
    issuer_matches: Option<bool>,
}

impl<'c> Facts<'c> {
    fn gather(contract: &'c Contract, req: &Request) -> Facts<'c> {
        let method = req.method.to_ascii_uppercase();
        let token_scopes: Scopes = req.scopes.split_ascii_whitespace().collect();
        let template = template(contract, &method, &req.path);
        // Without --iss, the token is taken to come from the contract's own issuer.
        let iss = req.iss.as_deref().or(contract.issuer());
        let caller = Caller {
            iss,
            client_id: Some(&req.client_id),
            sub: req.sub.as_deref(),
            scopes: &token_scopes,
        };
        let decision = contract.decide_for(&method, template, caller);
        let route = match &decision.route {
            Some(key) => contract.routes().iter().find(|r| r.key() == **key),
            None => template.and_then(|t| contract.route(&method, t)),
        };
        let known = contract.consumer(iss, Some(&req.client_id), req.sub.as_deref());
        let stage_scopes = match (known, contract.unknown_consumer()) {
            (Some(c), _) => Some(c.stage().scopes.clone()),
            (None, UnknownConsumer::Stage(stage)) => Some(stage.scopes.clone()),
            (None, UnknownConsumer::Deny) => None,
        };
        let effective = stage_scopes.as_ref().map(|allowed| {
            token_scopes
                .iter()
                .filter(|s| allowed.contains(*s))
                .map(str::to_owned)
                .collect()
        });
        // Only consumers the contract names have a roll-out bucket.
        let rollout = match (route.map(|r| r.mode), known) {
            (Some(Mode::Percent(percent)), Some(consumer)) => {
                let bucket = rollout_bucket(&consumer.key());
                Some(RolloutJson {
                    percent,
                    bucket,
                    enforced: bucket < percent,
                })
            }
            _ => None,
        };
        let issuer_matches = match (&req.iss, contract.issuer()) {
            (Some(iss), Some(expected)) => Some(iss == expected),
            _ => None,
        };
        Facts {
            trust_level: route.and_then(|r| contract.trust_levels().get(&r.trust)),
            method,
            token_scopes,
            decision,
            route,
            known,
            stage_scopes,
            effective,
            rollout,
            issuer_matches,
        }
    }

    fn json(&self, req: &Request) -> String {
        let d = &self.decision;
        let out = ExplainJson {
            request: RequestJson {
                method: &self.method,
                path: &req.path,
                client_id: &req.client_id,
                iss: req.iss.as_deref(),
                sub: req.sub.as_deref(),
            },
            decision: d,
            route: self.route.map(|r| r.key()),
            requirement: self.route.map(|r| r.requirement.clone()),
            requirement_description: self.route.map(|r| r.requirement.describe()),
            consumer: ConsumerJson {
                client_id: req.client_id.clone(),
                sub: req.sub.clone(),
                known: self.known.is_some(),
                key: d.consumer.as_deref().map(str::to_owned),
                stage: d.stage.as_deref().map(str::to_owned),
                stage_scopes: self.stage_scopes.clone(),
            },
            token_scopes: &self.token_scopes,
            effective_scopes: self.effective.clone(),
            rollout: self.rollout.clone(),
            trust_demands: self.trust_level.cloned(),
            issuer_matches: self.issuer_matches,
            explanation: because(d, req),
        };
        crate::to_json(&out)
    }

    fn text(&self, file: &str, contract: &Contract, req: &Request) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "contract: {file} (version {})", contract.version());
        let _ = writeln!(out, "request:  {} {}", self.method, req.path);
        let _ = writeln!(out, "route:    {}", self.route_line(contract, req));
        let _ = writeln!(out, "consumer: {}", self.consumer_line(contract, req));
        if let Some(allowed) = &self.stage_scopes {
            let _ = writeln!(out, "stage allows:     {}", list(allowed));
        }
        let _ = writeln!(
            out,
            "token scopes:     {}",
            list(token_scopes_owned(&self.token_scopes).iter())
        );
        if let Some(effective) = &self.effective {
            let _ = writeln!(
                out,
                "effective scopes: {} (the token's scopes the stage allows)",
                list(effective)
            );
        }
        if let Some(r) = self.route {
            let _ = writeln!(out, "requires: {}", r.requirement.describe());
            let _ = writeln!(out, "mode:     {}", self.mode_line(r));
            let trust = match self.trust_level {
                Some(level) => format!(
                    "{}: {} (the contract checks it after the scopes)",
                    r.trust,
                    trust_words(level)
                ),
                None => format!("{}: no step-up", r.trust),
            };
            let _ = writeln!(out, "trust:    {trust}");
        }
        if let (Some(false), Some(iss), Some(expected)) =
            (self.issuer_matches, &req.iss, contract.issuer())
        {
            let _ = writeln!(
                out,
                "note:     the contract's issuer is {expected:?}: it refuses a token from {iss:?} (issuer_not_in_contract)"
            );
        }
        let _ = writeln!(out, "outcome:  {}", outcome_line(&self.decision, req));
        out
    }

    fn route_line(&self, contract: &Contract, req: &Request) -> String {
        match self.route {
            Some(r) if r.path == req.path => r.key(),
            Some(r) => format!("{} (the template {} falls under)", r.key(), req.path),
            None => {
                let unknown = if contract.unknown_route_allowed() {
                    "allow"
                } else {
                    "deny"
                };
                format!("none matches (defaults.unknown_route = \"{unknown}\")")
            }
        }
    }

    fn consumer_line(&self, contract: &Contract, req: &Request) -> String {
        match (self.known, contract.unknown_consumer()) {
            (Some(c), _) => {
                let stages: Vec<&str> = c.stages.iter().map(|s| s.name.as_str()).collect();
                let bound = match &c.sub {
                    Some(sub) => format!(" (bound to sub {sub})"),
                    None => String::new(),
                };
                format!(
                    "{}{bound}, stage {} (stages {})",
                    c.key(),
                    c.stage().name,
                    stages.join(" -> ")
                )
            }
            (None, UnknownConsumer::Stage(stage)) => format!(
                "{} is not in the contract: defaults.unknown_consumer admits it at stage {}",
                req.client_id, stage.name
            ),
            (None, UnknownConsumer::Deny) => format!(
                "{} is not in the contract: defaults.unknown_consumer = \"deny\" refuses it",
                req.client_id
            ),
        }
    }

    fn mode_line(&self, route: &Route) -> String {
        match (route.mode, &self.rollout) {
            (Mode::Enforce, _) => "enforce: denials are enforced".to_owned(),
            (Mode::Observe, _) => {
                "observe: denials are recorded, not enforced (observe_deny)".to_owned()
            }
            (Mode::Percent(0), _) => "0%: enforced for no consumer (observe_deny)".to_owned(),
            (Mode::Percent(n), Some(ro)) => format!(
                "{n}%: enforced for consumers in buckets 0-{}; {} is in bucket {}: {}",
                (n - 1).min(99),
                self.decision.consumer.as_deref().unwrap_or("?"),
                ro.bucket,
                if ro.enforced {
                    "enforced"
                } else {
                    "observed (observe_deny)"
                }
            ),
            (Mode::Percent(n), None) => format!(
                "{n}%: enforced for that share of the consumers the contract names; a consumer it does not name is always enforced"
            ),
        }
    }
}

/// `rampgate contract explain`.
pub(crate) fn explain(file: &str, contract: &Contract, req: &Request, json: bool) -> Report {
    let facts = Facts::gather(contract, req);
    let status = match facts.decision.outcome {
        Outcome::Allow | Outcome::ObserveDeny => Status::Ok,
        Outcome::Deny => Status::Failed,
    };
    let stdout = if json {
        facts.json(req)
    } else {
        facts.text(file, contract, req)
    };
    Report {
        stdout,
        stderr: String::new(),
        status,
    }
}

fn token_scopes_owned(scopes: &Scopes) -> Vec<String> {
    scopes.iter().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_match_concrete_paths() {
        assert!(matches("/accounts/{id}", "/accounts/42"));
        assert!(!matches("/accounts/{id}", "/accounts/"));
        assert!(!matches("/accounts/{id}", "/accounts/42/statements"));
        assert!(matches("/files/{*rest}", "/files/a/b"));
        assert!(matches("/accounts", "/accounts"));
        assert!(!matches("/accounts", "/accounts/42"));
    }
}
