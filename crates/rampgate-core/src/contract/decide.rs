//! The contract's decision for one request: a pure function of the contract,
//! the matched route and the verified token.

use super::{Contract, McpCall, Mode, Stage, UnknownConsumer};
use crate::error::{Error, ErrorKind};
use crate::principal::{Principal, Scopes};
use crate::reason::{DecisionReason, Reason};
use crate::stepup::StepUpPolicy;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// The outcome of a contract decision: the same words as the audit trail's
/// [`AuditOutcome`](crate::audit::AuditOutcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The request may proceed.
    Allow,
    /// The request is refused (403 `insufficient_scope`).
    Deny,
    /// The request would be refused, but the route is observed (or outside its
    /// enforced percentage): it proceeds, and the would-be denial is recorded.
    /// Read from `shadow_deny` too, its earlier name.
    #[serde(alias = "shadow_deny")]
    ObserveDeny,
}

/// A decision with everything audit needs to explain it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Decision {
    /// Allow, deny or observe-deny.
    pub outcome: Outcome,
    /// Why: `allowed`, `route_unlisted_allowed`, `scope_insufficient` (the token
    /// lacks a scope), `scope_beyond_stage` (the token has it, but the consumer's
    /// current stage does not allow it), `consumer_unknown`, `route_unknown`,
    /// `issuer_not_in_contract` (the contract names another issuer),
    /// `separation_of_duties` (the token carries two scopes of one
    /// `[[separation]]` set the route needs one of).
    pub reason: DecisionReason,
    /// The version of the contract that decided.
    pub contract_version: u64,
    /// `METHOD path` of the matched contract route.
    pub route: Option<Arc<str>>,
    /// The consumer: a named one's key (`client_id`, `client_id/sub`, with
    /// `@issuer` when it names one), else the token's `client_id`.
    pub consumer: Option<Arc<str>>,
    /// The consumer's current stage.
    pub stage: Option<Arc<str>>,
    /// The scopes that stage allows, space-delimited, for the description of
    /// a `scope_beyond_stage` denial: set only when the stage's scopes fall
    /// short of the route's requirement (not serialised: the contract version
    /// says it).
    #[serde(skip)]
    pub stage_scopes: Option<String>,
    /// The route's roll-out mode.
    pub mode: Option<Mode>,
    /// The route's trust level (`standard`, `sensitive`...).
    pub trust: Option<Arc<str>>,
    /// What that trust level demands, compiled when the contract was parsed and
    /// taken from the same contract version as the rest of the decision (`None`
    /// for `standard`): step-up reads it from here, so a reload between two
    /// layers cannot mix versions.
    #[serde(skip)]
    pub step_up: Option<Arc<StepUpPolicy>>,
    /// The scopes the route requires, space-delimited (for the challenge): the
    /// all-of scopes, or the any-of ones when those are what is missing.
    pub required: Arc<str>,
    /// Whether any one of `required` would do.
    pub required_one_of: bool,
    /// Whether the route says `audit = "required"`: the contract's gate
    /// refuses the request unless an `AuditLayer` has reserved its event.
    #[serde(skip)]
    pub audit_required: bool,
    /// For `separation_of_duties`: the separation the token breaks and the
    /// scopes of its set the token carries (not serialised: the audit event
    /// has the token's scopes, and the contract version names the rule).
    #[serde(skip)]
    pub separated: Option<Separated>,
    /// For a request of the MCP endpoint: the JSON-RPC method and target it
    /// was decided on (the audit trail names them).
    #[serde(skip)]
    pub mcp: Option<Arc<McpCall>>,
}

/// The separation-of-duties rule a token breaks: it carries two or more
/// scopes of one `[[separation]]` set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Separated {
    /// The rule's name (`four-eyes`).
    pub separation: Arc<str>,
    /// The scopes of the set the token carries, space-delimited.
    pub held: String,
}

impl Decision {
    /// The error a denial answers with: `insufficient_scope` (403), naming the
    /// missing scopes only for `scope_insufficient` (the one refusal a token with
    /// more scopes would cure), or `None` when the decision allows the request (a
    /// observe denial too has its error, for the record).
    pub fn error(&self) -> Option<Error> {
        let reason = self.reason.denial()?;
        let kind = match (reason, &self.separated) {
            (Reason::ScopeInsufficient, _) => ErrorKind::InsufficientScope {
                required: self.required.to_string(),
                one_of: self.required_one_of,
            },
            (Reason::SeparationOfDuties, Some(s)) => ErrorKind::SeparationOfDuties {
                separation: s.separation.to_string(),
                held: s.held.clone(),
            },
            (reason, _) => ErrorKind::ContractDenied {
                reason,
                required: self.required.to_string(),
                stage: self.stage.as_deref().map(str::to_owned),
                stage_scopes: self.stage_scopes.clone(),
            },
        };
        Some(kind.into())
    }
}

/// The bucket (0..100) of a consumer for percentage roll-outs: stable, so a
/// consumer is either in or out, and raising the percentage only adds consumers.
pub fn rollout_bucket(consumer: &str) -> u8 {
    let digest = Sha256::digest(consumer.as_bytes());
    (u16::from_be_bytes([digest[0], digest[1]]) % 100) as u8
}

/// Who asks, as a decision sees the verified token: its issuer, its client,
/// its subject and its scopes.
///
/// ```
/// use rampgate_core::Scopes;
/// use rampgate_core::contract::{Caller, Contract, Outcome};
///
/// let contract = Contract::parse(r#"
///     version = 1
///     [scopes]
///     read = "Read"
///     [defaults]
///     unknown_consumer = { stage = "public", scopes = ["read"] }
///     [[routes]]
///     method = "GET"
///     path = "/items"
///     scopes = ["read"]
/// "#).unwrap();
/// let scopes: Scopes = ["read"].into_iter().collect();
/// let caller = Caller { client_id: Some("web"), ..Caller::new(&scopes) };
/// let decision = contract.decide_for("GET", Some("/items"), caller);
/// assert_eq!(decision.outcome, Outcome::Allow);
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    /// The token's issuer: a contract that names an `issuer` refuses every
    /// other one, `None` included.
    pub iss: Option<&'a str>,
    /// The token's `client_id`.
    pub client_id: Option<&'a str>,
    /// The token's subject.
    pub sub: Option<&'a str>,
    /// The token's scopes.
    pub scopes: &'a Scopes,
}

impl<'a> Caller<'a> {
    /// A caller with these scopes and nothing else.
    pub fn new(scopes: &'a Scopes) -> Self {
        Caller {
            iss: None,
            client_id: None,
            sub: None,
            scopes,
        }
    }

    /// The verified principal, as a caller.
    pub fn of(principal: &'a Principal) -> Self {
        Caller {
            iss: Some(principal.iss()),
            client_id: principal.client_id(),
            sub: principal.sub(),
            scopes: principal.scopes(),
        }
    }
}

/// What the matched route says, for the decision.
struct RouteFacts {
    index: usize,
    key: Arc<str>,
    mode: Mode,
    trust: Arc<str>,
    step_up: Option<Arc<StepUpPolicy>>,
    audit_required: bool,
    /// The scopes the route requires, space-delimited, and whether one will do.
    required: (Arc<str>, bool),
}

/// The caller's consumer and its current stage.
struct StageFacts<'c> {
    /// A named consumer's key, else the token's `client_id`.
    consumer: Option<Arc<str>>,
    name: Arc<str>,
    stage: &'c Stage,
    /// Whether the contract names the consumer: only those have a roll-out
    /// bucket (an unknown one chooses its own client_id, so it could choose
    /// to be observed).
    known: bool,
}

/// How the decision came out, before it is written down.
struct Verdict {
    outcome: Outcome,
    reason: DecisionReason,
    /// The unmet requirement and the stage's scopes, for a refusal.
    unmet: Option<(Arc<str>, bool, String)>,
    /// The separation a token breaks, for `separation_of_duties`.
    separated: Option<Separated>,
}

impl Verdict {
    fn of(outcome: Outcome, reason: DecisionReason) -> Self {
        Verdict {
            outcome,
            reason,
            unmet: None,
            separated: None,
        }
    }
}

impl Contract {
    /// Decides for a verified principal on `method` and the matched path template
    /// (`None` when the router matched no template).
    pub fn decide(&self, method: &str, path: Option<&str>, principal: &Principal) -> Decision {
        self.decide_for(method, path, Caller::of(principal))
    }

    /// [`Contract::decide`] for a [`Caller`] given by its values.
    pub fn decide_for(&self, method: &str, path: Option<&str>, caller: Caller<'_>) -> Decision {
        let route = path.and_then(|p| self.resolve(method, p));
        self.decide_route(route, Unlisted::ByDefault, caller)
    }

    /// Decides an MCP request (`tools/call` of a tool, `resources/read` of a
    /// URI...) for a verified principal, with the contract's `mcp` routes:
    /// the same consumers, stages, modes, trust levels and refusals as
    /// [`Contract::decide`]. A tool the contract does not list follows
    /// `unknown_route`; the handshake, `ping`, discovery and notifications
    /// ([`McpCall::token_only`]) are allowed to any valid token the contract
    /// applies to. `subscriptions/listen` is refused unless listed, whatever
    /// `unknown_route` says: its stream carries the updates of any resource
    /// it names.
    pub fn decide_mcp(&self, call: &McpCall, principal: &Principal) -> Decision {
        self.decide_mcp_for(call, Caller::of(principal))
    }

    /// [`Contract::decide_mcp`] for a [`Caller`] given by its values.
    pub fn decide_mcp_for(&self, call: &McpCall, caller: Caller<'_>) -> Decision {
        let route = (!call.token_only())
            .then(|| self.resolve_mcp(call.method(), call.target()))
            .flatten();
        let unlisted = if call.token_only() {
            Unlisted::Allowed
        } else if call.method() == super::mcp::LISTEN {
            Unlisted::Refused
        } else {
            Unlisted::ByDefault
        };
        let mut decision = self.decide_route(route, unlisted, caller);
        decision.mcp = Some(Arc::new(call.clone()));
        decision
    }

    /// The decision on the route at `index` (`None`: no listed route), the
    /// one body of every kind of decision. `unlisted`: what a request of no
    /// listed route gets.
    fn decide_route(
        &self,
        index: Option<usize>,
        unlisted: Unlisted,
        caller: Caller<'_>,
    ) -> Decision {
        // A contract that names its issuer speaks for that issuer's consumers
        // only: another trusted issuer could mint the same client_id.
        let applies = self.applies_to(caller.iss);
        let route = index.filter(|_| applies).map(|i| self.route_facts(i));
        let stage = route.as_ref().and_then(|_| self.stage_facts(caller));
        let verdict = match (&route, &stage) {
            _ if !applies => Verdict::of(Outcome::Deny, DecisionReason::IssuerNotInContract),
            (None, _) if unlisted == Unlisted::Allowed => {
                Verdict::of(Outcome::Allow, DecisionReason::Allowed)
            }
            (None, _) if unlisted == Unlisted::ByDefault && self.unknown_route_allowed => {
                Verdict::of(Outcome::Allow, DecisionReason::RouteUnlistedAllowed)
            }
            (None, _) => Verdict::of(Outcome::Deny, DecisionReason::RouteUnknown),
            (Some(_), None) => Verdict::of(Outcome::Deny, DecisionReason::ConsumerUnknown),
            (Some(route), Some(stage)) => self.judge(route, stage, caller.scopes),
        };
        let separated = verdict.separated;
        let (required, required_one_of, stage_scopes) = match (verdict.unmet, &route) {
            (Some((scope, one_of, stage_scopes)), _) => (scope, one_of, Some(stage_scopes)),
            (None, Some(r)) => (Arc::clone(&r.required.0), r.required.1, None),
            (None, None) => (Arc::from(""), false, None),
        };
        let (consumer, stage) = match stage {
            Some(s) => (s.consumer, Some(s.name)),
            None => (caller.client_id.map(Arc::from), None),
        };
        Decision {
            outcome: verdict.outcome,
            reason: verdict.reason,
            contract_version: self.version,
            route: route.as_ref().map(|r| Arc::clone(&r.key)),
            consumer,
            stage,
            stage_scopes,
            mode: route.as_ref().map(|r| r.mode),
            trust: route.as_ref().map(|r| Arc::clone(&r.trust)),
            step_up: route.as_ref().and_then(|r| r.step_up.clone()),
            required,
            required_one_of,
            audit_required: route.is_some_and(|r| r.audit_required),
            separated,
            mcp: None,
        }
    }

    fn route_facts(&self, index: usize) -> RouteFacts {
        let route = &self.routes()[index];
        let names = self.names();
        let one_of =
            route.requirement.all_of().is_empty() && !route.requirement.any_of().is_empty();
        RouteFacts {
            index,
            key: Arc::clone(&names.route_keys[index]),
            mode: route.mode,
            trust: Arc::clone(&names.route_trust[index]),
            step_up: self.step_up_policy(&route.trust).cloned(),
            audit_required: route.audit_required,
            required: (Arc::clone(&names.route_required[index]), one_of),
        }
    }

    /// The caller's consumer and stage: a named consumer's, else the
    /// `unknown_consumer` default, else none (`consumer_unknown`).
    fn stage_facts(&self, caller: Caller<'_>) -> Option<StageFacts<'_>> {
        let names = self.names();
        if let Some(i) = self.consumer_at(caller.iss, caller.client_id, caller.sub) {
            return Some(StageFacts {
                consumer: Some(Arc::clone(&names.consumer_keys[i])),
                name: Arc::clone(&names.consumer_stages[i]),
                stage: self.consumers()[i].stage(),
                known: true,
            });
        }
        match (&self.unknown_consumer, &names.unknown_stage) {
            (UnknownConsumer::Stage(stage), Some(name)) => Some(StageFacts {
                consumer: caller.client_id.map(Arc::from),
                name: Arc::clone(name),
                stage,
                known: false,
            }),
            _ => None,
        }
    }

    /// The verdict on a listed route for a consumer at `stage`: separation
    /// of duties first (a token holding two scopes of one set is refused on
    /// every route needing one of them, whatever its stage admits), then least
    /// privilege, only scopes both the token and the stage grant count.
    fn judge(&self, route: &RouteFacts, stage: &StageFacts<'_>, scopes: &Scopes) -> Verdict {
        if let Some(separated) = self.separated(route.index, scopes) {
            return Verdict {
                outcome: refusal(route.mode, stage),
                reason: DecisionReason::SeparationOfDuties,
                unmet: None,
                separated: Some(separated),
            };
        }
        let requirement = &self.routes()[route.index].requirement;
        let Err(unmet) =
            requirement.check_with(|s| scopes.contains(s) && stage.stage.scopes.contains(s))
        else {
            return Verdict::of(Outcome::Allow, DecisionReason::Allowed);
        };
        // Only a refusal describes the stage: allowed requests skip the join.
        let stage_scopes = stage
            .stage
            .scopes
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let reason = if requirement.check(scopes).is_ok() {
            DecisionReason::ScopeBeyondStage
        } else {
            DecisionReason::ScopeInsufficient
        };
        Verdict {
            outcome: refusal(route.mode, stage),
            reason,
            unmet: Some((Arc::from(unmet.scope), unmet.one_of, stage_scopes)),
            separated: None,
        }
    }

    /// The first separation on route `index` of which the token carries two
    /// scopes or more. Free for routes no separation concerns.
    fn separated(&self, index: usize, scopes: &Scopes) -> Option<Separated> {
        self.route_separations[index].iter().find_map(|&i| {
            let separation = &self.separations()[i];
            // Counted first: the allowed path allocates nothing.
            let two = separation
                .scopes
                .iter()
                .filter(|s| scopes.contains(s))
                .nth(1)
                .is_some();
            two.then(|| Separated {
                separation: Arc::from(separation.name.as_str()),
                held: separation.held(|s| scopes.contains(s)).join(" "),
            })
        })
    }
}

/// How a refusal on a route in `mode` comes out for this consumer: denied
/// where enforced, observed (the request proceeds) where not.
fn refusal(mode: Mode, stage: &StageFacts<'_>) -> Outcome {
    match mode {
        Mode::Enforce => Outcome::Deny,
        Mode::Observe => Outcome::ObserveDeny,
        Mode::Percent(n) => match &stage.consumer {
            Some(key) if stage.known && rollout_bucket(key) >= n => Outcome::ObserveDeny,
            _ => Outcome::Deny,
        },
    }
}

/// What a request no listed route decides gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unlisted {
    /// Allowed: it needs no route (the MCP handshake, discovery...).
    Allowed,
    /// What `defaults.unknown_route` says.
    ByDefault,
    /// Refused (`route_unknown`), whatever `unknown_route` says.
    Refused,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn caller<'a>(
        iss: Option<&'a str>,
        client_id: Option<&'a str>,
        sub: Option<&'a str>,
        scopes: &'a Scopes,
    ) -> Caller<'a> {
        Caller {
            iss,
            client_id,
            sub,
            scopes,
        }
    }

    const ISS: &str = "https://i.example";

    const CONTRACT: &str = r#"
version = 7
issuer = "https://i.example"
audience = "api"

[scopes]
"read" = "r"
"write" = "w"
"admin" = "a"
"export" = "e"

[defaults]
unknown_consumer = { stage = "public", scopes = ["read"] }

[[routes]]
method = "GET"
path = "/items"
scopes = ["read"]

[[routes]]
method = "POST"
path = "/items"
scopes = ["write"]

[[routes]]
method = "GET"
path = "/export"
scopes = ["export"]
mode = "observe"

[[routes]]
method = "DELETE"
path = "/items/{id}"
any = ["admin", "write"]
mode = "50%"

[[routes]]
method = "GET"
path = "/open"

[[consumers]]
client_id = "web"
stage = "pilot"
stages = [
  { name = "pilot", scopes = ["read"] },
  { name = "ga", scopes = ["read", "write", "export"] },
]

[[consumers]]
client_id = "web"
sub = "ops-robot"
stage = "full"
stages = [{ name = "full", scopes = ["read", "write", "admin", "export"] }]
"#;

    fn scopes(s: &[&str]) -> Scopes {
        s.iter().copied().collect()
    }

    /// (method, path, client_id, sub, token scopes, outcome, reason, stage)
    type Row<'a> = (
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        &'a [&'a str],
        Outcome,
        &'a str,
        Option<&'a str>,
    );

    #[test]
    fn decision_table() {
        let c = Contract::parse(CONTRACT).unwrap();
        // (method, path, client_id, sub, token scopes, outcome, reason, stage)
        let table: &[Row<'_>] = &[
            (
                "GET",
                Some("/items"),
                Some("web"),
                None,
                &["read"],
                Outcome::Allow,
                "allowed",
                Some("pilot"),
            ),
            (
                "GET",
                Some("/items"),
                Some("web"),
                None,
                &[],
                Outcome::Deny,
                "scope_insufficient",
                Some("pilot"),
            ),
            // The token carries write, but the pilot stage does not allow it.
            (
                "POST",
                Some("/items"),
                Some("web"),
                None,
                &["read", "write"],
                Outcome::Deny,
                "scope_beyond_stage",
                Some("pilot"),
            ),
            // The subject-bound entry wins for its subject.
            (
                "POST",
                Some("/items"),
                Some("web"),
                Some("ops-robot"),
                &["write"],
                Outcome::Allow,
                "allowed",
                Some("full"),
            ),
            // Observe mode: allowed, recorded as a would-be denial.
            (
                "GET",
                Some("/export"),
                Some("web"),
                None,
                &[],
                Outcome::ObserveDeny,
                "scope_insufficient",
                Some("pilot"),
            ),
            // Unknown consumers are admitted at the default stage.
            (
                "GET",
                Some("/items"),
                Some("stranger"),
                None,
                &["read"],
                Outcome::Allow,
                "allowed",
                Some("public"),
            ),
            (
                "POST",
                Some("/items"),
                Some("stranger"),
                None,
                &["write"],
                Outcome::Deny,
                "scope_beyond_stage",
                Some("public"),
            ),
            (
                "GET",
                Some("/items"),
                None,
                None,
                &["read"],
                Outcome::Allow,
                "allowed",
                Some("public"),
            ),
            // No requirement: any consumer's valid token.
            (
                "GET",
                Some("/open"),
                Some("web"),
                None,
                &[],
                Outcome::Allow,
                "allowed",
                Some("pilot"),
            ),
            // HEAD follows the GET route.
            (
                "HEAD",
                Some("/items"),
                Some("web"),
                None,
                &["read"],
                Outcome::Allow,
                "allowed",
                Some("pilot"),
            ),
            (
                "HEAD",
                Some("/items"),
                Some("web"),
                None,
                &[],
                Outcome::Deny,
                "scope_insufficient",
                Some("pilot"),
            ),
            // Routes outside the contract are refused by default.
            (
                "GET",
                Some("/nope"),
                Some("web"),
                None,
                &["read"],
                Outcome::Deny,
                "route_unknown",
                None,
            ),
            (
                "GET",
                None,
                Some("web"),
                None,
                &["read"],
                Outcome::Deny,
                "route_unknown",
                None,
            ),
            // Any-of: one of admin/write, within the consumer's stage.
            (
                "DELETE",
                Some("/items/{id}"),
                Some("web"),
                Some("ops-robot"),
                &["admin"],
                Outcome::Allow,
                "allowed",
                Some("full"),
            ),
        ];
        for (method, path, client, sub, token, outcome, reason, stage) in table {
            let d = c.decide_for(
                method,
                *path,
                caller(Some(ISS), *client, *sub, &scopes(token)),
            );
            assert_eq!(
                (d.outcome, d.reason.as_str(), d.stage.as_deref()),
                (*outcome, *reason, *stage),
                "{method} {path:?} {client:?} {sub:?} {token:?}"
            );
            assert_eq!(d.contract_version, 7);
        }
    }

    #[test]
    fn a_contract_naming_an_issuer_refuses_the_tokens_of_any_other() {
        let c = Contract::parse(CONTRACT).unwrap();
        // Issuer B mints client_id "web" with a sub of A's subject-bound entry:
        // it must get neither A's stages nor the unknown-consumer stage.
        for (client, sub) in [
            (Some("web"), None),
            (Some("web"), Some("ops-robot")),
            (None, None),
        ] {
            for iss in [Some("https://b.example"), Some("https://i.example/"), None] {
                let d = c.decide_for(
                    "GET",
                    Some("/items"),
                    caller(iss, client, sub, &scopes(&["read"])),
                );
                assert_eq!(
                    (d.outcome, d.reason, d.stage.as_deref()),
                    (Outcome::Deny, DecisionReason::IssuerNotInContract, None),
                    "{iss:?} {client:?} {sub:?}"
                );
                let err = d.error().unwrap();
                assert_eq!(err.reason(), Reason::IssuerNotInContract);
                assert_eq!(err.kind().status(), 403);
            }
        }
        // Even where unlisted routes are open to any valid token.
        let open = Contract::parse(
            &CONTRACT.replace("[defaults]\n", "[defaults]\nunknown_route = \"allow\"\n"),
        )
        .unwrap();
        let d = open.decide_for(
            "GET",
            Some("/nope"),
            caller(Some("https://b.example"), Some("web"), None, &scopes(&[])),
        );
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Deny, DecisionReason::IssuerNotInContract)
        );
        let d = open.decide_for(
            "GET",
            Some("/nope"),
            caller(Some(ISS), Some("web"), None, &scopes(&[])),
        );
        assert_eq!(d.reason, DecisionReason::RouteUnlistedAllowed);
    }

    #[test]
    fn a_consumer_naming_its_issuer_matches_only_that_issuer() {
        let text = r#"
version = 1
[scopes]
"read" = "r"
"write" = "w"
[defaults]
unknown_consumer = "deny"
[[routes]]
method = "POST"
path = "/items"
scopes = ["write"]
[[consumers]]
client_id = "web"
issuer = "https://a.example"
stage = "ga"
stages = [{ name = "ga", scopes = ["read", "write"] }]
[[consumers]]
client_id = "web"
issuer = "https://b.example"
stage = "pilot"
stages = [{ name = "pilot", scopes = ["read"] }]
"#;
        let c = Contract::parse(text).unwrap();
        let decide = |iss: &str| {
            let d = c.decide_for(
                "POST",
                Some("/items"),
                caller(Some(iss), Some("web"), None, &scopes(&["write"])),
            );
            (d.outcome, d.reason, d.stage, d.consumer)
        };
        assert_eq!(
            decide("https://a.example"),
            (
                Outcome::Allow,
                DecisionReason::Allowed,
                Some("ga".into()),
                Some("web@https://a.example".into())
            )
        );
        assert_eq!(
            decide("https://b.example"),
            (
                Outcome::Deny,
                DecisionReason::ScopeBeyondStage,
                Some("pilot".into()),
                Some("web@https://b.example".into())
            )
        );
        assert_eq!(
            decide("https://c.example"),
            (
                Outcome::Deny,
                DecisionReason::ConsumerUnknown,
                None,
                Some("web".into())
            )
        );
    }

    #[test]
    fn contract_refusals_do_not_invite_a_pointless_new_token() {
        // RFC 6750 §3.1: `scope` in an insufficient_scope challenge means "get
        // a token with these". A token with more scopes cannot pass a stage or
        // admit a consumer, so those refusals name no scope and say why.
        let c = Contract::parse(CONTRACT).unwrap();
        let deny = |client: Option<&str>, scopes_: &[&str], contract: &Contract| {
            let d = contract.decide_for(
                "POST",
                Some("/items"),
                caller(Some(ISS), client, None, &scopes(scopes_)),
            );
            crate::DenialOptions::default().deny(&d.error().unwrap())
        };
        let beyond = deny(Some("web"), &["read", "write"], &c);
        assert_eq!(beyond.reason(), Reason::ScopeBeyondStage);
        assert_eq!(beyond.status(), 403);
        assert_eq!(
            beyond.www_authenticate(),
            r#"Bearer error="insufficient_scope", error_description="the contract refuses this request (scope_beyond_stage): this client's current stage pilot allows read, not write; a new token will not change that""#
        );
        let body: serde_json::Value = serde_json::from_slice(&beyond.json_body()).unwrap();
        assert!(body.get("scope").is_none(), "{body}");

        let closed = Contract::parse(&CONTRACT.replace(
            r#"unknown_consumer = { stage = "public", scopes = ["read"] }"#,
            r#"unknown_consumer = "deny""#,
        ))
        .unwrap();
        let unknown = deny(Some("stranger"), &["write"], &closed);
        assert_eq!(unknown.reason(), Reason::ConsumerUnknown);
        assert_eq!(
            unknown.www_authenticate(),
            r#"Bearer error="insufficient_scope", error_description="the contract refuses this request (consumer_unknown): this client is not admitted to this API; a new token will not change that""#
        );
        // A scope the token lacks is still worth asking for.
        let missing = deny(Some("web"), &[], &c);
        assert_eq!(missing.reason(), Reason::ScopeInsufficient);
        assert!(
            missing
                .www_authenticate()
                .to_str()
                .unwrap()
                .ends_with(r#"scope="write""#),
            "{:?}",
            missing.www_authenticate()
        );
    }

    #[test]
    fn unknown_consumers_denied_when_the_contract_says_so() {
        let c = Contract::parse(&CONTRACT.replace(
            r#"unknown_consumer = { stage = "public", scopes = ["read"] }"#,
            r#"unknown_consumer = "deny""#,
        ))
        .unwrap();
        let d = c.decide_for(
            "GET",
            Some("/items"),
            caller(Some(ISS), Some("stranger"), None, &scopes(&["read"])),
        );
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Deny, DecisionReason::ConsumerUnknown)
        );
    }

    #[test]
    fn grpc_methods_match_exactly_or_by_their_service() {
        let c = Contract::parse(
            r#"
            version = 1
            [scopes]
            greet = "Greet"
            admin = "Admin"
            [[routes]]
            method = "POST"
            path = "/helloworld.Greeter/*"
            scopes = ["greet"]
            [[routes]]
            method = "POST"
            path = "/helloworld.Greeter/Reset"
            scopes = ["admin"]
            mode = "observe"
            [defaults]
            unknown_consumer = { stage = "public", scopes = ["greet"] }
            "#,
        )
        .unwrap();
        let decide = |path: &str, granted: &[&str]| {
            c.decide_for(
                "POST",
                Some(path),
                caller(None, Some("x"), None, &scopes(granted)),
            )
        };
        let d = decide("/helloworld.Greeter/SayHello", &["greet"]);
        assert_eq!(d.outcome, Outcome::Allow);
        assert_eq!(d.route.as_deref(), Some("POST /helloworld.Greeter/*"));
        let d = decide("/helloworld.Greeter/SayHello", &[]);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Deny, DecisionReason::ScopeInsufficient)
        );
        // The method's own route wins over its service's, with its own mode.
        let d = decide("/helloworld.Greeter/Reset", &["greet"]);
        assert_eq!(d.outcome, Outcome::ObserveDeny);
        assert_eq!(d.route.as_deref(), Some("POST /helloworld.Greeter/Reset"));
        // Another service, or a path spelled another way, is not covered.
        for path in ["/other.Greeter/SayHello", "/helloworld.Greeter/SayHello/"] {
            let d = decide(path, &["greet"]);
            assert_eq!(d.reason, DecisionReason::RouteUnknown, "{path}");
        }
    }

    #[test]
    fn unknown_consumers_get_no_rollout_bucket() {
        // An unknown consumer chooses its own client_id (and sub): were it
        // bucketed, it would pick one that skips enforcement.
        let c = Contract::parse(CONTRACT).unwrap();
        let mut ids: Vec<Option<String>> =
            (0..200).map(|i| Some(format!("stranger-{i}"))).collect();
        ids.push(None);
        for id in &ids {
            for sub in [None, Some("alice")] {
                let d = c.decide_for(
                    "DELETE",
                    Some("/items/{id}"),
                    caller(Some(ISS), id.as_deref(), sub, &scopes(&["admin"])),
                );
                assert_eq!(
                    (d.outcome, d.reason, d.stage.as_deref()),
                    (
                        Outcome::Deny,
                        DecisionReason::ScopeBeyondStage,
                        Some("public")
                    ),
                    "{id:?} {sub:?}"
                );
            }
        }
        // Known consumers keep their bucket: some of them are observed.
        let known = c.decide_for(
            "DELETE",
            Some("/items/{id}"),
            caller(Some(ISS), Some("web"), None, &scopes(&["admin"])),
        );
        let expected = if rollout_bucket("web") < 50 {
            Outcome::Deny
        } else {
            Outcome::ObserveDeny
        };
        assert_eq!(known.outcome, expected);
    }

    #[test]
    fn percentage_rollout_is_stable_per_consumer_and_monotonic() {
        let clients: Vec<String> = (0..400).map(|i| format!("client-{i}")).collect();
        // Buckets apply to known consumers only: name every client.
        let named = |text: &str| {
            let mut text = text.to_owned();
            for id in &clients {
                text.push_str(&format!(
                    "\n[[consumers]]\nclient_id = \"{id}\"\nstage = \"p\"\nstages = [{{ name = \"p\", scopes = [\"read\"] }}]\n"
                ));
            }
            Contract::parse(&text).unwrap()
        };
        let c = named(CONTRACT);
        let denied = |contract: &Contract| -> Vec<bool> {
            clients
                .iter()
                .map(|id| {
                    contract
                        .decide_for(
                            "DELETE",
                            Some("/items/{id}"),
                            caller(Some(ISS), Some(id), None, &scopes(&[])),
                        )
                        .outcome
                        == Outcome::Deny
                })
                .collect()
        };
        let half = denied(&c);
        assert_eq!(
            half,
            denied(&c),
            "the same consumer always gets the same outcome"
        );
        let share = half.iter().filter(|d| **d).count();
        assert!(
            (150..=250).contains(&share),
            "about half enforced, got {share}/400"
        );
        let more = named(&CONTRACT.replace("mode = \"50%\"", "mode = \"75%\""));
        let three_quarters = denied(&more);
        assert!(
            half.iter().zip(&three_quarters).all(|(h, t)| !h || *t),
            "raising the percentage only adds consumers"
        );
        let none = named(&CONTRACT.replace("mode = \"50%\"", "mode = \"0%\""));
        assert!(denied(&none).iter().all(|d| !d));
        let all = named(&CONTRACT.replace("mode = \"50%\"", "mode = \"100%\""));
        assert!(denied(&all).iter().all(|d| *d));
    }

    const FOUR_EYES: &str = r#"
version = 1
[scopes]
"payments:read" = "r"
"payments:write" = "w"
"payments:approve" = "a"
[[separation]]
name = "four-eyes"
scopes = ["payments:write", "payments:approve"]
[defaults]
unknown_consumer = { stage = "partner", scopes = ["payments:read", "payments:write"] }
[[routes]]
method = "POST"
path = "/payments"
scopes = ["payments:write"]
[[routes]]
method = "POST"
path = "/payments/{id}/approve"
any = ["payments:approve", "payments:read"]
mode = "observe"
[[routes]]
method = "GET"
path = "/payments"
scopes = ["payments:read"]
"#;

    #[test]
    fn a_token_holding_two_scopes_of_a_separation_set_is_refused_where_either_is_needed() {
        let contract = Contract::parse(FOUR_EYES).unwrap();
        let both = scopes(&["payments:read", "payments:write", "payments:approve"]);
        let caller = caller(None, Some("partner-app"), None, &both);
        // The stage admits payments:write (the default grants it), but the
        // token also carries payments:approve: refused, with its own reason.
        let d = contract.decide_for("POST", Some("/payments"), caller);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Deny, DecisionReason::SeparationOfDuties)
        );
        let separated = d.separated.clone().unwrap();
        assert_eq!(&*separated.separation, "four-eyes");
        assert_eq!(separated.held, "payments:approve payments:write");
        let error = d.error().unwrap();
        assert_eq!(error.code(), "separation_of_duties");
        assert_eq!(error.kind().status(), 403);
        assert!(
            error
                .to_string()
                .contains("the separation four-eyes keeps apart"),
            "{error}"
        );
        // An any-of route naming one of the set is concerned too; its mode
        // still applies (observed here).
        let d = contract.decide_for("POST", Some("/payments/{id}/approve"), caller);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::ObserveDeny, DecisionReason::SeparationOfDuties)
        );
        // A route needing neither scope is not.
        let d = contract.decide_for("GET", Some("/payments"), caller);
        assert_eq!(d.outcome, Outcome::Allow);
        // One scope of the set is fine.
        let one = scopes(&["payments:write"]);
        let d = contract.decide_for(
            "POST",
            Some("/payments"),
            Caller {
                scopes: &one,
                ..caller
            },
        );
        assert_eq!((d.outcome, d.separated), (Outcome::Allow, None));
    }

    #[test]
    fn contract_check_refuses_a_stage_granting_two_scopes_of_a_set() {
        let text = FOUR_EYES.replace(
            r#"scopes = ["payments:read", "payments:write"] }"#,
            r#"scopes = ["payments:write", "payments:approve"] }"#,
        );
        let errors = Contract::parse(&text).unwrap_err();
        assert_eq!(errors.0.len(), 1, "{errors}");
        assert_eq!(errors.0[0].line, Some(11));
        assert!(
            errors.0[0].message.starts_with(
                "defaults.unknown_consumer grants payments:approve and payments:write"
            ),
            "{errors}"
        );
    }
}
