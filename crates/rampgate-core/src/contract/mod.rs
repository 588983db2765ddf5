//! Ramp contracts: the versioned agreement of which scopes each route needs and
//! which scopes each consumer may use at its current stage.
//!
//! A contract is a TOML file (schema in `docs/contracts.md`). [`Contract::parse`]
//! reports every semantic problem with its line and what to fix (a TOML syntax or
//! schema error stops the parse at the first one);
//! [`Contract::decide`] is the pure decision function the layers call;
//! [`ContractDiff`] says what a new version widens or narrows.
//!
//! ```
//! use rampgate_core::contract::Contract;
//!
//! let contract = Contract::parse(r#"
//!     version = 1
//!     issuer = "https://login.example.com/"
//!     audience = "https://api.example.com"
//!
//!     [scopes]
//!     "profile:read" = "Read the user's profile"
//!
//!     [[routes]]
//!     method = "GET"
//!     path = "/profile"
//!     scopes = ["profile:read"]
//!
//!     [[consumers]]
//!     client_id = "mobile-app"
//!     stage = "pilot"
//!     stages = [{ name = "pilot", scopes = ["profile:read"] }]
//! "#).unwrap();
//! assert_eq!(contract.version(), 1);
//! ```

mod check;
mod decide;
mod diff;
mod digest;
mod handle;
mod inventory;
mod mcp;
#[cfg(feature = "openapi")]
#[cfg_attr(docsrs, doc(cfg(feature = "openapi")))]
pub mod openapi;
pub(crate) mod requirement;
pub(crate) mod stepup;

pub use decide::{Caller, Decision, Outcome, Separated, rollout_bucket};
pub use diff::{
    Change, ChangeKind, ChangeNoteMissing, ContractDiff, StageDirection, StageMove, VersionError,
};
pub use digest::{ContractDigest, DigestParseError};
pub use handle::{ContractEvent, ContractHandle, ContractWatch, ReloadError};
pub use inventory::{Inventory, InventoryRoute};
pub use mcp::{
    DEFAULT_MAX_BODY_BYTES, McpAccess, McpBodyError, McpCall, McpRead, McpTarget,
    TOKEN_ONLY_METHODS, TOKEN_ONLY_NOTIFICATIONS, is_token_only,
};

use crate::{Requirement, StepUpPolicy};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// How a route's requirement is rolled out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Denials are enforced.
    Enforce,
    /// Would-be denials are allowed and recorded (`observe_deny`).
    Observe,
    /// Enforced for this percentage of consumers, chosen by a stable hash of the
    /// consumer so that a consumer does not flap; observed for the rest.
    Percent(u8),
}

impl serde::Serialize for Mode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Mode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = std::borrow::Cow::<str>::deserialize(d)?;
        match &*text {
            "enforce" => Ok(Mode::Enforce),
            "observe" => Ok(Mode::Observe),
            other => match other.strip_suffix('%').and_then(|n| n.parse::<u8>().ok()) {
                Some(n) if n <= 100 => Ok(Mode::Percent(n)),
                _ => Err(serde::de::Error::custom(format_args!(
                    "mode {other:?} is not enforce, observe or a percentage such as 25%"
                ))),
            },
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mode::Enforce => f.write_str("enforce"),
            Mode::Observe => f.write_str("observe"),
            Mode::Percent(n) => write!(f, "{n}%"),
        }
    }
}

/// One route of the contract.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// HTTP method, upper case (`POST` for gRPC); for an MCP route, the
    /// JSON-RPC method (`tools/call`).
    pub method: String,
    /// The path template as axum writes it (`/accounts/{id}`), or a gRPC path
    /// (`/pkg.Service/Method`); for an MCP route, the tool or prompt name or
    /// the resource URI pattern (`orders://*`), empty for a method without one.
    pub path: String,
    /// Whether this is an MCP route (`mcp = "tools/call"`), decided on the
    /// MCP endpoint's JSON-RPC messages, never on an HTTP request's path.
    pub mcp: bool,
    /// The scopes the route requires (`scopes`: all of them; `any`: one of them).
    pub requirement: Requirement,
    /// Trust level: `standard`, or a level defined under `[trust]` (`sensitive`).
    pub trust: String,
    /// Roll-out mode.
    pub mode: Mode,
    /// `audit = "required"`: the route fails closed when its audit event
    /// cannot be queued (503 `audit_unavailable`, the handler not called).
    pub audit_required: bool,
}

impl Route {
    /// `METHOD path`, the route's key; for an MCP route `tools/call name`,
    /// or the method alone when it has no target.
    pub fn key(&self) -> String {
        // Built on every decision: no formatting machinery.
        let mut key = String::with_capacity(self.method.len() + 1 + self.path.len());
        key.push_str(&self.method);
        if !self.path.is_empty() {
            key.push(' ');
            key.push_str(&self.path);
        }
        key
    }

    /// The requirement as a scope string for a challenge: the all-of scopes, or
    /// the any-of ones when there are no all-of scopes.
    pub fn challenge_scope(&self) -> String {
        self.requirement.challenge_scope()
    }
}

/// One named stage of a consumer's ramp.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Stage {
    /// The stage's name (`pilot`, `ga`...).
    pub name: String,
    /// Scopes a consumer at this stage may use.
    pub scopes: BTreeSet<String>,
}

/// An OAuth client and its ramp.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Consumer {
    /// Matched against the token's `client_id` (or `azp`).
    pub client_id: String,
    /// When set, the token's `sub` must also match.
    pub sub: Option<String>,
    /// When set, only tokens of this issuer (`iss`, exact) match. Defaults to
    /// none: the consumer then stands for this `client_id` at the contract's
    /// `issuer`, or at every trusted issuer when the contract names none.
    pub issuer: Option<String>,
    /// The ordered stages; each one's scopes include the previous one's.
    pub stages: Vec<Stage>,
    /// Index of the current stage in `stages`.
    pub current: usize,
}

impl Consumer {
    /// The consumer's current stage.
    pub fn stage(&self) -> &Stage {
        &self.stages[self.current]
    }

    /// `client_id`, or `client_id/sub` when bound to a subject, followed by
    /// `@issuer` when the consumer names its own issuer.
    pub fn key(&self) -> String {
        let base = match &self.sub {
            Some(sub) => format!("{}/{sub}", self.client_id),
            None => self.client_id.clone(),
        };
        match &self.issuer {
            Some(issuer) => format!("{base}@{issuer}"),
            None => base,
        }
    }
}

/// What happens to tokens of consumers the contract does not name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UnknownConsumer {
    /// They are refused (403).
    Deny,
    /// They are admitted at this stage.
    Stage(Stage),
}

/// A set of scopes no single consumer may hold two of (`[[separation]]`):
/// separation of duties, such as creating a payment and approving it.
///
/// `rampgate contract check` refuses a stage, or the `unknown_consumer`
/// default, that grants two scopes of one set; at run time a token carrying
/// two of them is refused (`separation_of_duties`) on every route that needs
/// one of them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Separation {
    /// The rule's name (`four-eyes`).
    pub name: String,
    /// The scopes kept apart.
    pub scopes: BTreeSet<String>,
}

impl Separation {
    /// Whether a route with `requirement` is checked by this set: it needs
    /// (all-of or any-of) one of the set's scopes.
    pub fn concerns(&self, requirement: &Requirement) -> bool {
        self.scopes
            .iter()
            .any(|s| requirement.all_of().contains(s) || requirement.any_of().contains(s))
    }

    /// The scopes of this set for which `has` is true, in the set's order.
    ///
    /// ```
    /// # use rampgate_core::contract::Contract;
    /// let contract = Contract::parse(r#"
    ///     version = 1
    ///     [scopes]
    ///     "payments:write" = "Create payments"
    ///     "payments:approve" = "Approve payments"
    ///     [[separation]]
    ///     name = "four-eyes"
    ///     scopes = ["payments:write", "payments:approve"]
    /// "#).unwrap();
    /// let four_eyes = &contract.separations()[0];
    /// let token = ["payments:write", "payments:approve"];
    /// assert_eq!(four_eyes.held(|s| token.contains(&s)).len(), 2);
    /// ```
    pub fn held(&self, has: impl Fn(&str) -> bool) -> Vec<&str> {
        self.scopes
            .iter()
            .map(String::as_str)
            .filter(|s| has(s))
            .collect()
    }
}

/// Why this version of the contract was made (`[change]`): who, why, and the
/// ticket that tracks it. `rampgate contract diff --require-change-note`
/// refuses a widening without one; reload events carry it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ChangeNote {
    /// Who made the change.
    pub author: String,
    /// Why, in a sentence.
    pub reason: String,
    /// The ticket or change request, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
}

/// Requirements of a trust level (`[trust.sensitive]`), used by step-up. The
/// contract compiles each level into a shared [`StepUpPolicy`] when it is parsed
/// ([`Contract::step_up_policy`]).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub struct TrustLevel {
    /// Acceptable `acr` values, in order of preference.
    pub acr_values: Vec<String>,
    /// `acr` levels from weakest to strongest: a stronger level satisfies a
    /// weaker requirement.
    pub acr_hierarchy: Vec<String>,
    /// `amr` methods that are all required.
    pub amr: Vec<String>,
    /// Largest age of the authentication (`auth_time`), in seconds.
    pub max_age: Option<u64>,
    /// Whether the token must be sender-constrained (`sender_constrained =
    /// "required"`): bound to a DPoP key or a client certificate and
    /// presented with its proof. A bearer token is refused with 401
    /// `sender_constraint_required`.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sender_constrained: bool,
}

impl TrustLevel {
    /// The step-up policy this level demands.
    pub fn policy(&self) -> StepUpPolicy {
        let policy = StepUpPolicy::default()
            .acr_values(self.acr_values.iter().cloned())
            .acr_hierarchy(self.acr_hierarchy.iter().cloned())
            .amr_all(self.amr.iter().cloned());
        let policy = if self.sender_constrained {
            policy.require_sender_constrained()
        } else {
            policy
        };
        match self.max_age {
            Some(secs) => policy.max_age(std::time::Duration::from_secs(secs)),
            None => policy,
        }
    }
}

/// A checked contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contract {
    version: u64,
    issuer: Option<String>,
    audience: Option<String>,
    resource: Option<String>,
    /// `[mcp] endpoint`: the path of the MCP Streamable HTTP endpoint.
    mcp_endpoint: Option<String>,
    authorization_servers: Vec<String>,
    scopes: BTreeMap<String, String>,
    routes: Vec<Route>,
    consumers: Vec<Consumer>,
    unknown_consumer: UnknownConsumer,
    unknown_route_allowed: bool,
    trust: BTreeMap<String, TrustLevel>,
    separations: Vec<Separation>,
    /// For each route (index-aligned with `routes`), the separations that
    /// name one of the scopes it requires: empty when none does, so that a
    /// contract without separations costs nothing per decision.
    route_separations: Vec<Vec<usize>>,
    change: Option<ChangeNote>,
    /// Each trust level compiled once, shared by every decision that needs it.
    step_up: BTreeMap<String, Arc<StepUpPolicy>>,
    /// Each route's index by path, then by method (upper case): a lookup
    /// borrows the request's path and method, allocating nothing.
    route_index: foldhash::HashMap<String, Vec<(String, usize)>>,
    /// Each consumer's index by `client_id`, in file order: a lookup costs the
    /// same with ten consumers or ten thousand.
    consumer_index: foldhash::HashMap<String, Vec<usize>>,
    /// The strings every decision carries, made once per contract, so that a
    /// decision shares them rather than allocating its own.
    names: Names,
    /// Whether any route says `audit = "required"`.
    any_audit_required: bool,
}

/// Shared names, index-aligned with [`Contract::routes`] and
/// [`Contract::consumers`]; derived from them, so equal contracts have equal names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Names {
    pub(crate) route_keys: Vec<Arc<str>>,
    pub(crate) route_trust: Vec<Arc<str>>,
    pub(crate) route_required: Vec<Arc<str>>,
    pub(crate) consumer_keys: Vec<Arc<str>>,
    pub(crate) consumer_stages: Vec<Arc<str>>,
    pub(crate) unknown_stage: Option<Arc<str>>,
}

impl Names {
    pub(crate) fn new(
        routes: &[Route],
        consumers: &[Consumer],
        unknown_consumer: &UnknownConsumer,
    ) -> Names {
        Names {
            route_keys: routes.iter().map(|r| Arc::from(r.key())).collect(),
            route_trust: routes.iter().map(|r| Arc::from(r.trust.as_str())).collect(),
            route_required: routes
                .iter()
                .map(|r| Arc::from(r.challenge_scope()))
                .collect(),
            consumer_keys: consumers.iter().map(|c| Arc::from(c.key())).collect(),
            consumer_stages: consumers
                .iter()
                .map(|c| Arc::from(c.stage().name.as_str()))
                .collect(),
            unknown_stage: match unknown_consumer {
                UnknownConsumer::Stage(stage) => Some(Arc::from(stage.name.as_str())),
                UnknownConsumer::Deny => None,
            },
        }
    }
}

/// One problem found in a contract file: where, what, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractError {
    /// 1-based line in the file, when known.
    pub line: Option<usize>,
    /// What is wrong and what to do about it.
    pub message: String,
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Every problem of a contract file, in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractErrors(pub Vec<ContractError>);

impl fmt::Display for ContractErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ContractErrors {}

impl ContractErrors {
    /// Each error prefixed with `file:line:`, one per line, as compilers print them.
    pub fn render(&self, file: &str) -> String {
        self.0
            .iter()
            .map(|e| match e.line {
                Some(line) => format!("{file}:{line}: error: {}", e.message),
                None => format!("{file}: error: {}", e.message),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Contract {
    /// Parses and checks a contract; every semantic problem is reported, each with
    /// its line (a syntax or schema error stops at the first one).
    pub fn parse(text: &str) -> Result<Contract, ContractErrors> {
        check::parse(text)
    }

    /// The contract's version; every change must increase it.
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The issuer the service trusts, when the contract names it.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_deref()
    }

    /// The audience (this service's identifier in tokens), when the contract
    /// names it.
    pub fn audience(&self) -> Option<&str> {
        self.audience.as_deref()
    }

    /// The protected resource identifier (RFC 9728), when the contract names it;
    /// otherwise the metadata endpoint uses the URL it is served under.
    pub fn resource(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// The path of the MCP endpoint (`[mcp] endpoint`), when the contract
    /// names one: its requests are decided per MCP method and target, and
    /// only on what an `McpLayer` read from their bodies.
    pub fn mcp_endpoint(&self) -> Option<&str> {
        self.mcp_endpoint.as_deref()
    }

    /// Authorization servers for RFC 9728 metadata; defaults to the issuer.
    pub fn authorization_servers(&self) -> &[String] {
        &self.authorization_servers
    }

    /// The scope catalog: name → description.
    pub fn scopes(&self) -> &BTreeMap<String, String> {
        &self.scopes
    }

    /// The routes, in file order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The consumers, in file order.
    pub fn consumers(&self) -> &[Consumer] {
        &self.consumers
    }

    /// What happens to unknown consumers.
    pub fn unknown_consumer(&self) -> &UnknownConsumer {
        &self.unknown_consumer
    }

    /// Whether routes not in the contract are allowed (to any valid token).
    pub fn unknown_route_allowed(&self) -> bool {
        self.unknown_route_allowed
    }

    /// The trust levels defined under `[trust]`.
    pub fn trust_levels(&self) -> &BTreeMap<String, TrustLevel> {
        &self.trust
    }

    /// The separation-of-duties sets (`[[separation]]`), in file order.
    pub fn separations(&self) -> &[Separation] {
        &self.separations
    }

    /// Why this version was made (`[change]`), when the contract says.
    pub fn change_note(&self) -> Option<&ChangeNote> {
        self.change.as_ref()
    }

    /// The step-up policy of the trust level `name`, compiled when the contract
    /// was parsed; `None` for `standard` and for names the contract does not define.
    pub fn step_up_policy(&self, name: &str) -> Option<&Arc<StepUpPolicy>> {
        self.step_up.get(name)
    }

    /// Whether the route `method path` (`HEAD` falling back to `GET`, as
    /// decisions do) says `audit = "required"`. Cheap when no route does: no
    /// lookup at all.
    pub fn audit_required(&self, method: &str, path: &str) -> bool {
        if !self.any_audit_required {
            return false;
        }
        self.resolve(method, path)
            .is_some_and(|i| self.routes[i].audit_required)
    }

    /// The index of the route deciding `method path`, as decisions find it:
    /// the route itself; for `HEAD`, the `GET` route (axum serves `HEAD` with
    /// the `GET` handler) unless `HEAD` is declared; for a gRPC method not
    /// listed itself, its service's `/package.Service/*`.
    pub(crate) fn resolve(&self, method: &str, path: &str) -> Option<usize> {
        self.http_route_at(method, path)
            .or_else(|| {
                method
                    .eq_ignore_ascii_case("HEAD")
                    .then(|| self.http_route_at("GET", path))
                    .flatten()
            })
            .or_else(|| {
                crate::grpc::with_service_pattern(path, |service| {
                    self.http_route_at(method, service)
                })
                .flatten()
            })
    }

    /// [`Contract::route_at`] for HTTP and gRPC routes only.
    fn http_route_at(&self, method: &str, path: &str) -> Option<usize> {
        self.route_at(method, path).filter(|&i| !self.routes[i].mcp)
    }

    /// Whether the contract lists the gRPC method path `path`
    /// (`/package.Service/Method`) for `POST`, the one method gRPC uses, as
    /// itself or under its service's `/package.Service/*`: such a path is a
    /// gRPC method's, decided on its exact spelling and only over gRPC.
    pub fn lists_grpc_method(&self, path: &str) -> bool {
        if !crate::grpc::is_method_path(path) {
            return false;
        }
        self.route_at("POST", path).is_some()
            || crate::grpc::with_pattern_of_method(path, |service| {
                self.route_at("POST", service).is_some()
            })
            .unwrap_or(false)
    }

    /// The route with this method and path template.
    pub fn route(&self, method: &str, path: &str) -> Option<&Route> {
        self.route_at(method, path).map(|i| &self.routes[i])
    }

    /// The index in [`Contract::routes`] of the route with this method and path.
    pub(crate) fn route_at(&self, method: &str, path: &str) -> Option<usize> {
        let methods = self.route_index.get(path)?;
        methods
            .iter()
            .find(|(m, _)| m.eq_ignore_ascii_case(method))
            .map(|(_, i)| *i)
    }

    pub(crate) fn names(&self) -> &Names {
        &self.names
    }

    /// Whether the contract applies to tokens of `iss`: always when it names no
    /// `issuer`, otherwise only to that issuer's tokens.
    pub fn applies_to(&self, iss: Option<&str>) -> bool {
        self.issuer.is_none() || self.issuer.as_deref() == iss
    }

    /// The consumer a token of issuer `iss` belongs to: by `client_id` and,
    /// where the contract binds them, `sub` and `issuer`. A subject-bound entry
    /// wins over a plain one, then an entry naming the issuer over one that
    /// does not. `None` when the contract does not apply to `iss` at all.
    pub fn consumer(
        &self,
        iss: Option<&str>,
        client_id: Option<&str>,
        sub: Option<&str>,
    ) -> Option<&Consumer> {
        self.consumer_at(iss, client_id, sub)
            .map(|i| &self.consumers[i])
    }

    /// The index in [`Contract::consumers`] of [`Contract::consumer`]'s answer.
    pub(crate) fn consumer_at(
        &self,
        iss: Option<&str>,
        client_id: Option<&str>,
        sub: Option<&str>,
    ) -> Option<usize> {
        let client_id = client_id?;
        if !self.applies_to(iss) {
            return None;
        }
        self.consumer_index
            .get(client_id)?
            .iter()
            .copied()
            .filter(|&i| {
                let c = &self.consumers[i];
                (c.issuer.is_none() || c.issuer.as_deref() == iss)
                    && (c.sub.is_none() || c.sub.as_deref() == sub)
            })
            .max_by_key(|&i| {
                let c = &self.consumers[i];
                (c.sub.is_some(), c.issuer.is_some())
            })
    }
}
