//! The audit events and their JSON Lines form (schema v1, `docs/audit.md`).
//!
//! Events are built on the request path from what is already at hand
//! (reference-counted [`Principal`] and [`Decision`], `&'static` reason codes)
//! and serialised later, by the writer task: no formatting on the request path.

use super::record::{AuditRecord, ContractChangedRecord, ContractRefusedRecord, DecisionRecord};
use crate::binding::Confirmation;
use crate::contract::{ChangeKind, ChangeNote, ContractDiff, ContractDigest, Decision, StageMove};
use crate::principal::Principal;
use crate::reason::EventReason;
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// The schema version written in every event's `v`.
pub const SCHEMA_VERSION: u32 = 1;

/// The first 12 hex digits of SHA-256 over the raw token: enough to tell the
/// requests of one token apart from another's, never the token itself.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenFingerprint([u8; 6]);

impl TokenFingerprint {
    /// The fingerprint of `token` (the raw compact JWS, as sent).
    pub fn of(token: &str) -> Self {
        TokenFingerprint(crate::principal::digest_prefix(token))
    }

    /// The fingerprint of `token`, which `principal` was verified from: the
    /// same value as [`TokenFingerprint::of`], hashed once per principal (so
    /// once per cached token) rather than once per request.
    pub fn of_verified(principal: &Principal, token: &str) -> Self {
        TokenFingerprint(principal.token_digest_prefix(token))
    }
}

impl fmt::Display for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex::write(f, &self.0)
    }
}

impl fmt::Debug for TokenFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenFingerprint({self})")
    }
}

impl Serialize for TokenFingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TokenFingerprint {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        crate::hex::parse(&text)
            .map(TokenFingerprint)
            .ok_or_else(|| {
                serde::de::Error::custom(format_args!("token_fp {text:?} is not 12 hex digits"))
            })
    }
}

/// What became of a request, as the audit trail says it: the same words as
/// the contract's [`Outcome`](crate::contract::Outcome).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditOutcome {
    /// Let through.
    Allow,
    /// Refused by a layer (or the audit layer itself, fail-closed).
    Deny,
    /// The contract would have refused, but the route is observed (or outside
    /// its enforced percentage): let through. Read from `shadow_deny` too,
    /// the contract's earlier word for it.
    #[serde(alias = "shadow_deny")]
    ObserveDeny,
}

impl AuditOutcome {
    /// `allow`, `deny` or `observe_deny`.
    pub const fn as_str(self) -> &'static str {
        match self {
            AuditOutcome::Allow => "allow",
            AuditOutcome::Deny => "deny",
            AuditOutcome::ObserveDeny => "observe_deny",
        }
    }
}

/// Whether step-up applied to the request, and how it ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepUpResult {
    /// The authentication was strong and fresh enough.
    Passed,
    /// It was not: the request was refused.
    Failed,
}

/// One request's `decision` event.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DecisionEvent {
    /// When the request reached the audit layer.
    pub ts: SystemTime,
    /// From `x-request-id`, or generated.
    pub request_id: http::HeaderValue,
    /// The HTTP method.
    pub method: http::Method,
    /// `METHOD template` of the framework's matched route, used when the
    /// contract matched none (`decision.route` wins when set).
    pub matched_route: Option<String>,
    /// The response status.
    pub status: u16,
    /// Allow, deny or observe-deny.
    pub outcome: AuditOutcome,
    /// The stable reason code, as a type.
    pub reason: EventReason,
    /// The verified principal, when a token was verified.
    pub principal: Option<Principal>,
    /// The contract's decision, when a contract decided.
    pub decision: Option<Arc<Decision>>,
    /// The token's fingerprint, when the request carried a token.
    pub token_fp: Option<TokenFingerprint>,
    /// What a refused token claimed, **unverified**: its `iss`, `client_id`
    /// and `sub` as decoded, when it was decoded far enough. Never set for a
    /// verified token (see `principal`).
    pub claimed: Option<Claimed>,
    /// Step-up's result, when step-up applied.
    pub step_up: Option<StepUpResult>,
    /// The peer address, when known.
    pub client_addr: Option<SocketAddr>,
    /// Microseconds from the audit layer to the response head.
    pub latency_us: u64,
    /// Microseconds the token's verification took, when one ran (for the
    /// `rampgate_verify_duration_seconds` histogram; not in the JSON).
    pub verify_us: Option<u64>,
}

impl DecisionEvent {
    /// An event for a request that was allowed with no token facts yet: set
    /// the fields that apply.
    pub fn new(ts: SystemTime, request_id: http::HeaderValue, method: http::Method) -> Self {
        DecisionEvent {
            ts,
            request_id,
            method,
            matched_route: None,
            status: 200,
            outcome: AuditOutcome::Allow,
            reason: EventReason::Allowed,
            principal: None,
            decision: None,
            token_fp: None,
            claimed: None,
            step_up: None,
            client_addr: None,
            latency_us: 0,
            verify_us: None,
        }
    }

    /// The route as the event names it: the contract's, else the matched one.
    pub fn route(&self) -> Option<&str> {
        self.decision
            .as_ref()
            .and_then(|d| d.route.as_deref())
            .or(self.matched_route.as_deref())
    }

    /// The consumer that decided: the contract's key, else the `client_id`.
    pub fn consumer(&self) -> Option<&str> {
        self.decision
            .as_ref()
            .and_then(|d| d.consumer.as_deref())
            .or_else(|| self.principal.as_ref().and_then(Principal::client_id))
    }
}

/// What a token claimed, as decoded without verifying it: for the audit
/// trail and the anomaly signals of refused tokens (expired, bad signature,
/// unknown `kid`...). Nothing here is to be trusted: a forger chooses it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimed {
    /// The `iss` the token claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// The `client_id` (else `azp`) the token claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    /// The `sub` the token claims.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
}

/// The longest claimed value kept, in bytes: more says nothing more.
const MAX_CLAIMED_BYTES: usize = 256;

impl Claimed {
    /// What `token` claims, when it is a compact JWS of at most 16 KiB whose
    /// payload is a JSON object naming at least one of `iss`, `client_id`
    /// (or `azp`) and `sub` as strings; `None` otherwise.
    ///
    /// ```
    /// use rampgate_core::audit::Claimed;
    ///
    /// // {"alg":"ES256"} . {"iss":"https://i.example","sub":"alice"} . (any signature)
    /// let token = "eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJodHRwczovL2kuZXhhbXBsZSIsInN1YiI6ImFsaWNlIn0.c2ln";
    /// let claimed = Claimed::from_token(token).unwrap();
    /// assert_eq!(claimed.iss.as_deref(), Some("https://i.example"));
    /// assert_eq!(claimed.sub.as_deref(), Some("alice"));
    /// assert!(Claimed::from_token("not.a.token").is_none());
    /// ```
    pub fn from_token(token: &str) -> Option<Claimed> {
        let parsed = crate::token::parse(token, 16 * 1024).ok()?;
        Claimed::from_claims(&parsed.claims)
    }

    /// What a decoded payload claims: the verifier gives it for a refusal
    /// from the payload it decoded anyway, so nothing is decoded twice.
    pub(crate) fn from_claims(claims: &serde_json::Map<String, serde_json::Value>) -> Option<Self> {
        let text = |name: &str| claims.get(name)?.as_str();
        Claimed::of(
            text("iss"),
            text("client_id").or_else(|| text("azp")),
            text("sub"),
        )
    }

    /// Each value cut to [`MAX_CLAIMED_BYTES`] (on a character boundary);
    /// `None` when there is none.
    pub(crate) fn of(
        iss: Option<&str>,
        client_id: Option<&str>,
        sub: Option<&str>,
    ) -> Option<Self> {
        let cut = |v: &str| {
            let mut end = v.len().min(MAX_CLAIMED_BYTES);
            while !v.is_char_boundary(end) {
                end -= 1;
            }
            v[..end].to_owned()
        };
        let claimed = Claimed {
            iss: iss.map(cut),
            client_id: client_id.map(cut),
            sub: sub.map(cut),
        };
        (claimed != Claimed::default()).then_some(claimed)
    }
}

/// One change of a `contract_changed` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContractChangeEntry {
    /// `METHOD /template` when the change is about a route.
    pub route: Option<String>,
    /// The consumer key when the change is about a consumer.
    pub consumer: Option<String>,
    /// `widening`, `narrowing` or `other`.
    pub kind: Cow<'static, str>,
    /// What changed, in words (with the subject when it is neither a route
    /// nor a consumer: `defaults`, `scope a`...).
    pub detail: String,
    /// For a consumer whose stage changed: from which stage to which, and
    /// which way (written only then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stage_move: Option<StageMove>,
}

/// The word a change's kind has in a `contract_changed` event.
const fn entry_kind(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Widened => "widening",
        ChangeKind::Narrowed => "narrowing",
        ChangeKind::Neutral => "other",
    }
}

impl ContractChangeEntry {
    /// Whether this change widens access (`kind` is `widening`).
    pub fn widens(&self) -> bool {
        self.kind == entry_kind(ChangeKind::Widened)
    }
}

/// One applied contract reload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContractChanged {
    /// When it was applied.
    pub ts: SystemTime,
    /// The new version.
    pub version: u64,
    /// The version it replaced.
    pub previous_version: u64,
    /// Every change, widenings first.
    pub changes: Vec<ContractChangeEntry>,
    /// Whether any change widens access.
    pub alert: bool,
    /// SHA-256 of the applied file's bytes; `None` for a contract applied
    /// as a value.
    pub sha256: Option<ContractDigest>,
    /// The new version's own `[change]` note (a note carried over unchanged
    /// from the previous version is not this change's).
    pub change: Option<ChangeNote>,
}

impl ContractChanged {
    /// The event for an applied `diff` (no digest: set
    /// [`sha256`](ContractChanged::sha256) when the contract came from a
    /// file).
    pub fn from_diff(diff: &ContractDiff) -> Self {
        let changes = diff
            .changes
            .iter()
            .map(|c| {
                let kind = entry_kind(c.kind);
                let (route, consumer, detail) = if let Some(r) = c.subject.strip_prefix("route ") {
                    (Some(r.to_owned()), None, c.detail.clone())
                } else if let Some(k) = c.subject.strip_prefix("consumer ") {
                    (None, Some(k.to_owned()), c.detail.clone())
                } else {
                    (None, None, format!("{}: {}", c.subject, c.detail))
                };
                ContractChangeEntry {
                    route,
                    consumer,
                    kind: Cow::Borrowed(kind),
                    detail,
                    stage_move: c.stage_move.clone(),
                }
            })
            .collect();
        ContractChanged {
            ts: SystemTime::now(),
            version: diff.to_version,
            previous_version: diff.from_version,
            changes,
            alert: diff.widens(),
            sha256: None,
            change: diff.change_note.clone(),
        }
    }
}

/// One refused contract reload.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ContractRefused {
    /// When it was refused.
    pub ts: SystemTime,
    /// The refused contract's version, when known.
    pub version: Option<u64>,
    /// The version in force, which keeps serving.
    pub previous_version: u64,
    /// Why, in words.
    pub error: String,
    /// A stable code: `version_not_increased`, `contract_invalid`,
    /// `contract_unreadable`.
    pub reason: Option<&'static str>,
    /// SHA-256 of the refused file's bytes, when it could be read.
    pub sha256: Option<ContractDigest>,
    /// The refused contract's `[change]` note, when it parsed and has one.
    pub change: Option<ChangeNote>,
}

/// One line of the audit trail.
#[derive(Debug, Clone)]
#[non_exhaustive]
// The decision is held inline: see its variant.
#[allow(clippy::large_enum_variant)]
pub enum AuditEvent {
    /// One request's outcome. Held inline, not boxed: decisions are nearly
    /// every event, and a box of their own (made on the request path, freed
    /// by the audit writer in batches, past the allocator's thread cache)
    /// cost more than moving the larger value through the queue.
    Decision(DecisionEvent),
    /// An applied contract reload.
    ContractChanged(ContractChanged),
    /// A refused contract reload.
    ContractRefused(ContractRefused),
    /// Any other event type (`anomaly`, `revocation`, ...): `fields` are
    /// written after `v`, `type` and `ts`, in their order.
    Other {
        /// The event's `type`.
        kind: &'static str,
        /// When it happened.
        ts: SystemTime,
        /// Its fields.
        fields: serde_json::Map<String, serde_json::Value>,
    },
}

impl AuditEvent {
    /// The event's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            AuditEvent::Decision(_) => "decision",
            AuditEvent::ContractChanged(_) => "contract_changed",
            AuditEvent::ContractRefused(_) => "contract_refused",
            AuditEvent::Other { kind, .. } => kind,
        }
    }

    /// Appends the event as one JSON line (with its `\n`) to `out`.
    pub fn write_json_line(&self, out: &mut Vec<u8>) {
        // Serialising these types cannot fail: every map key is a string.
        let _ = serde_json::to_writer(&mut *out, &self.record());
        out.push(b'\n');
    }

    /// The event as one JSON object.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self.record()).unwrap_or(serde_json::Value::Null)
    }
}

impl AuditEvent {
    /// The event's line of the schema, borrowing from the event: what
    /// [`AuditEvent::write_json_line`] writes and
    /// [`read_events`](super::read_events) reads back (its times to the
    /// millisecond, as written).
    pub fn record(&self) -> AuditRecord<'_> {
        match self {
            AuditEvent::Decision(d) => AuditRecord::Decision(Box::new(decision_record(d))),
            AuditEvent::ContractChanged(c) => {
                let mut record = ContractChangedRecord::new(
                    to_millis(c.ts),
                    c.version,
                    c.previous_version,
                    &c.changes,
                    c.alert,
                );
                record.sha256 = c.sha256;
                record.change = c.change.as_ref().map(Cow::Borrowed);
                AuditRecord::ContractChanged(record)
            }
            AuditEvent::ContractRefused(r) => {
                let mut record =
                    ContractRefusedRecord::new(to_millis(r.ts), r.version, &r.error, r.reason);
                record.previous_version = Some(r.previous_version);
                record.sha256 = r.sha256;
                record.change = r.change.as_ref().map(Cow::Borrowed);
                AuditRecord::ContractRefused(record)
            }
            AuditEvent::Other { kind, ts, fields } => AuditRecord::Other {
                kind: Cow::Borrowed(kind),
                ts: Some(to_millis(*ts)),
                fields: Cow::Borrowed(fields),
            },
        }
    }
}

/// `t` to the millisecond, as the schema writes it (a time before 1970 as
/// the epoch).
fn to_millis(t: SystemTime) -> SystemTime {
    let since = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    UNIX_EPOCH + std::time::Duration::from_millis(since.as_millis() as u64)
}

fn decision_record(d: &DecisionEvent) -> DecisionRecord<'_> {
    let p = d.principal.as_ref();
    let c = d.decision.as_deref();
    let required = required(d);
    let missing = missing(d, &required);
    let mut r = DecisionRecord::new(
        to_millis(d.ts),
        d.request_id.to_str().unwrap_or("-"),
        d.method.as_str(),
        d.outcome,
    );
    r.route = d.route().map(Cow::Borrowed);
    r.status = d.status;
    r.reason = Cow::Borrowed(d.reason.as_str());
    r.iss = p.map(Principal::iss).map(Cow::Borrowed);
    r.client_id = p.and_then(Principal::client_id).map(Cow::Borrowed);
    r.consumer = d.consumer().map(Cow::Borrowed);
    r.sub = p.and_then(Principal::sub).map(Cow::Borrowed);
    r.jti = p.and_then(Principal::jti).map(Cow::Borrowed);
    r.token_fp = d.token_fp;
    r.claimed = d
        .claimed
        .as_ref()
        .filter(|_| p.is_none())
        .map(Cow::Borrowed);
    r.scopes = p
        .map(|p| p.scopes().iter().map(Cow::Borrowed).collect())
        .unwrap_or_default();
    r.required = required.into_iter().map(Cow::Borrowed).collect();
    r.required_one_of = c.is_some_and(|c| c.required_one_of);
    r.missing = missing.into_iter().map(Cow::Borrowed).collect();
    r.contract_version = c.map(|c| c.contract_version);
    r.stage = c.and_then(|c| c.stage.as_deref()).map(Cow::Borrowed);
    r.mode = c.and_then(|c| c.mode);
    r.trust = c.and_then(|c| c.trust.as_deref()).map(Cow::Borrowed);
    r.step_up = d.step_up;
    r.bound = p
        .and_then(Principal::confirmation)
        .map(Confirmation::bound_by);
    let mcp = c.and_then(|c| c.mcp.as_deref());
    r.mcp_method = mcp.map(|m| Cow::Borrowed(m.method()));
    r.mcp_target = mcp.and_then(|m| m.target()).map(Cow::Borrowed);
    r.client_addr = d.client_addr;
    r.latency_us = d.latency_us;
    r
}

/// The required scopes the token and the consumer's stage do not both grant:
/// only a contract refusal, real or observed, has any.
pub(crate) fn missing<'a>(d: &DecisionEvent, required: &[&'a str]) -> Vec<&'a str> {
    let Some(c) = d.decision.as_deref() else {
        return Vec::new();
    };
    if c.reason.denial().is_none() {
        return Vec::new();
    }
    let stage: Vec<&str> = c
        .stage_scopes
        .as_deref()
        .map(|s| s.split(' ').collect())
        .unwrap_or_default();
    required
        .iter()
        .copied()
        .filter(|s| {
            let token = d.principal.as_ref().is_some_and(|p| p.scopes().contains(s));
            let staged = c.stage_scopes.is_none() || stage.contains(s);
            !(token && staged)
        })
        .collect()
}

/// The scopes a decision requires, as a list.
pub(crate) fn required(d: &DecisionEvent) -> Vec<&str> {
    d.decision
        .as_deref()
        .map(|c| c.required.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

/// RFC 3339 UTC with milliseconds: `2026-11-29T04:05:06.789Z`.
#[derive(Clone, Copy)]
pub(crate) struct Timestamp(pub(crate) SystemTime);

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::time::format_rfc3339(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_verified_tokens_fingerprint_is_its_own_and_hashed_once() {
        let principal =
            Principal::for_tests("https://i.example", serde_json::json!({"sub": "a"})).unwrap();
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJl";
        let fp = TokenFingerprint::of_verified(&principal, token);
        assert_eq!(fp, TokenFingerprint::of(token));
        assert_eq!(fp.to_string().len(), 12);
        // A clone shares the memo (the cache hands out clones of one principal).
        assert_eq!(TokenFingerprint::of_verified(&principal.clone(), token), fp);
    }

    #[test]
    fn timestamps_are_rfc3339_utc_with_milliseconds() {
        let at = |secs: u64, ms: u64| {
            Timestamp(UNIX_EPOCH + Duration::from_secs(secs) + Duration::from_millis(ms))
                .to_string()
        };
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.005Z");
        assert_eq!(at(1_795_925_106, 789), "2026-11-29T04:05:06.789Z");
    }

    #[test]
    fn the_fingerprint_is_the_first_12_hex_digits_of_sha256() {
        // sha256("abc") = ba7816bf8f01cfea...
        assert_eq!(TokenFingerprint::of("abc").to_string(), "ba7816bf8f01");
    }

    #[test]
    fn a_decision_event_has_every_schema_field() {
        let event = AuditEvent::Decision(DecisionEvent::new(
            UNIX_EPOCH,
            http::HeaderValue::from_static("req-1"),
            http::Method::GET,
        ));
        let json = event.to_json();
        for field in [
            "v",
            "type",
            "ts",
            "request_id",
            "method",
            "route",
            "status",
            "outcome",
            "reason",
            "iss",
            "client_id",
            "consumer",
            "sub",
            "jti",
            "token_fp",
            "scopes",
            "required",
            "required_one_of",
            "missing",
            "contract_version",
            "stage",
            "mode",
            "trust",
            "step_up",
            "client_addr",
            "latency_us",
        ] {
            assert!(json.get(field).is_some(), "{field} missing: {json}");
        }
        assert_eq!(json["v"], 1);
        assert_eq!(json["type"], "decision");
        let mut line = Vec::new();
        event.write_json_line(&mut line);
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        assert!(line.ends_with(b"\n"));
    }

    #[test]
    fn an_mcp_decision_names_its_method_and_tool_and_reads_back() {
        let contract = crate::contract::Contract::parse(
            "version = 1\n[mcp]\nendpoint = \"/mcp\"\n[defaults]\nunknown_consumer = { stage = \"s\", scopes = [] }\n[[routes]]\nmcp = \"tools/call\"\nname = \"get_order\"\n",
        )
        .unwrap();
        let scopes = crate::principal::Scopes::default();
        let call = crate::contract::McpCall::new("tools/call", Some("get_order"));
        let decision = contract.decide_mcp_for(&call, crate::contract::Caller::new(&scopes));
        let mut event = DecisionEvent::new(
            UNIX_EPOCH,
            http::HeaderValue::from_static("r"),
            http::Method::POST,
        );
        event.decision = Some(Arc::new(decision));
        let json = AuditEvent::Decision(event.clone()).to_json();
        assert_eq!(json["mcp_method"], "tools/call");
        assert_eq!(json["mcp_target"], "get_order");
        assert_eq!(json["route"], "tools/call get_order");
        let record: DecisionRecord<'_> = serde_json::from_value(json).unwrap();
        assert_eq!(record.mcp_target.as_deref(), Some("get_order"));
        // Not an MCP request: the fields are left out.
        event.decision = None;
        let json = AuditEvent::Decision(event).to_json();
        assert!(json.get("mcp_method").is_none() && json.get("mcp_target").is_none());
    }
}
