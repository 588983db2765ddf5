//! MCP (Model Context Protocol) requests, as the contract decides them.
//!
//! An MCP server over Streamable HTTP takes every request as a `POST` of one
//! JSON-RPC message to one endpoint (`/mcp`): what matters is the message's
//! `method` and, for a call, its target, the tool or prompt `name` or the
//! resource `uri`. [`McpCall::parse`] reads those from a body (strictly: one
//! message, no batch, no duplicate member); [`Contract::decide_mcp`] decides
//! on them with the contract's `mcp` routes, its consumers, stages, roll-out
//! modes and trust levels, exactly as [`Contract::decide`] does for an HTTP
//! route.
//!
//! ```
//! use rampgate_core::Scopes;
//! use rampgate_core::contract::{Caller, Contract, McpCall, Outcome};
//!
//! let contract = Contract::parse(r#"
//!     version = 1
//!     [mcp]
//!     endpoint = "/mcp"
//!     [scopes]
//!     "orders:read" = "Read orders"
//!     "orders:refund" = "Refund orders"
//!     [defaults]
//!     unknown_consumer = { stage = "default", scopes = ["orders:read", "orders:refund"] }
//!     [[routes]]
//!     mcp = "tools/call"
//!     name = "refund_order"
//!     scopes = ["orders:refund"]
//! "#).unwrap();
//! let call = McpCall::parse(
//!     br#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"refund_order"}}"#,
//! ).unwrap();
//! assert_eq!(call.target(), Some("refund_order"));
//! let scopes: rampgate_core::Scopes = ["orders:read"].into_iter().collect();
//! let decision = contract.decide_mcp_for(&call, Caller::new(&scopes));
//! assert_eq!(decision.outcome, Outcome::Deny);
//! assert_eq!(&*decision.required, "orders:refund");
//! ```

use super::Contract;
use crate::error::{Error, ErrorKind};
use serde::Deserialize;
use serde_json::value::RawValue;
use std::sync::Arc;

/// The largest MCP request body [`McpCall::parse`]'s callers read by default:
/// 1 MiB, far above any tool call's arguments, far below what would hurt.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// The methods that need only a valid token: the handshake, `ping`, and
/// discovery (whose results the server filters, see `docs/mcp.md`). The
/// client's notifications of the specification ([`TOKEN_ONLY_NOTIFICATIONS`],
/// without an `id`) and its answers to the server's own requests need only a
/// valid token too.
pub const TOKEN_ONLY_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "prompts/list",
    "resources/list",
    "resources/templates/list",
];

/// The client notifications of the MCP specification, which need only a
/// valid token when sent as notifications (without an `id`). Any other
/// `notifications/...` method, or one of these with an `id` (a request to
/// the server, such as `rmcp`'s custom requests), is decided by its route.
pub const TOKEN_ONLY_NOTIFICATIONS: &[&str] = &[
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/roots/list_changed",
];

/// `subscriptions/listen`: refused unless the contract lists it.
pub(crate) const LISTEN: &str = "subscriptions/listen";

/// What names a method's target: the `name` of a tool or prompt, the `uri`
/// of a resource, or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpTarget {
    /// `params.name`: `tools/call`, `prompts/get`.
    Name,
    /// `params.uri`: `resources/read`, `resources/subscribe`,
    /// `resources/unsubscribe`, `resources/directory/read`, `skills/get`.
    Uri,
    /// The method has no target.
    None,
}

impl McpTarget {
    /// What names the target of `method`.
    pub fn of(method: &str) -> McpTarget {
        match method {
            "tools/call" | "prompts/get" => McpTarget::Name,
            "resources/read"
            | "resources/subscribe"
            | "resources/unsubscribe"
            | "resources/directory/read"
            | "skills/get" => McpTarget::Uri,
            _ => McpTarget::None,
        }
    }
}

/// Whether `method` needs only a valid token (see [`TOKEN_ONLY_METHODS`] and
/// [`TOKEN_ONLY_NOTIFICATIONS`], the latter only when sent without an `id`).
pub fn is_token_only(method: &str) -> bool {
    TOKEN_ONLY_METHODS.contains(&method) || TOKEN_ONLY_NOTIFICATIONS.contains(&method)
}

/// One MCP request: its JSON-RPC `method` and target, as read from its body.
///
/// Left in the request's extensions by the `McpLayer` of `rampgate-tower`
/// (feature `mcp`) for the contract's gate, and carried by the
/// [`Decision`](super::Decision) for the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpCall {
    method: Arc<str>,
    target: Option<Arc<str>>,
    token_only: bool,
}

/// Why a body is not one MCP request. Each is answered 400
/// `request_malformed` before the server sees the body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum McpBodyError {
    /// A JSON array: a batch, which MCP no longer allows (2025-06-18).
    #[error("{}", MCP_BATCH)]
    Batch,
    /// Longer than the layer's limit.
    #[error("{}", MCP_TOO_LARGE)]
    TooLarge,
    /// Not read: the request has no `Authorization` header, where MCP
    /// clients send their access token, and no body is read before one.
    #[error("{}", MCP_UNREAD)]
    Unread,
    /// Not one JSON-RPC 2.0 message with the members its method needs; the
    /// text says what is wrong.
    #[error("{0}")]
    Malformed(&'static str),
}

const MCP_BATCH: &str = "the body is a JSON-RPC batch, which MCP does not allow since \
    2025-06-18: send one message per request";
const NEEDS_NAME: &str = "this MCP method needs params.name, a string";
const NEEDS_URI: &str = "this MCP method needs params.uri, a string";
const MCP_TOO_LARGE: &str = "the MCP request body is larger than this server accepts";
const MCP_UNREAD: &str = "an MCP request carries its access token in the Authorization header \
    (MCP authorization specification), and this one has none: its body was not read";

impl McpBodyError {
    /// The error a refusal answers with: 400 `request_malformed`, its
    /// description saying what is wrong.
    pub fn error(self) -> Error {
        ErrorKind::RequestMalformed(match self {
            McpBodyError::Batch => MCP_BATCH,
            McpBodyError::TooLarge => MCP_TOO_LARGE,
            McpBodyError::Unread => MCP_UNREAD,
            McpBodyError::Malformed(why) => why,
        })
        .into()
    }
}

/// A JSON-RPC 2.0 message, as far as the decision needs it. A member given
/// twice is an error (serde refuses a duplicate field): the server must not
/// read another method or target than the one decided on.
#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow)]
    jsonrpc: Option<&'a RawValue>,
    /// Whether the message has an `id` (`null` included): a request.
    #[serde(default, deserialize_with = "present")]
    id: Option<()>,
    method: Option<String>,
    #[serde(borrow)]
    params: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow)]
    error: Option<&'a RawValue>,
}

/// `Some` for a member that is there, whatever its value.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<()>, D::Error> {
    serde::de::IgnoredAny::deserialize(d).map(|_| Some(()))
}

#[derive(Deserialize)]
struct Named {
    name: Option<String>,
}

#[derive(Deserialize)]
struct Located {
    uri: Option<String>,
}

impl McpCall {
    /// A call of `method` on `target` (for tests and servers that read the
    /// body themselves).
    pub fn new(method: &str, target: Option<&str>) -> McpCall {
        McpCall {
            method: Arc::from(method),
            target: target.map(Arc::from),
            token_only: is_token_only(method),
        }
    }

    /// A request of the endpoint that carries no JSON-RPC request of its
    /// own: the client's answer to a server request (`result` or `error`),
    /// or a `GET` (the server's stream) or `DELETE` (the end of a session).
    /// It needs only a valid token; `label` is what the audit trail names.
    pub fn session(label: &str) -> McpCall {
        McpCall {
            method: Arc::from(label),
            target: None,
            token_only: true,
        }
    }

    /// Reads one JSON-RPC 2.0 message: its `method` and, for the methods
    /// that have one, its target (`params.name` or `params.uri`, a string).
    pub fn parse(body: &[u8]) -> Result<McpCall, McpBodyError> {
        let first = body.iter().find(|b| !b.is_ascii_whitespace());
        if first == Some(&b'[') {
            return Err(McpBodyError::Batch);
        }
        if first != Some(&b'{') {
            return Err(McpBodyError::Malformed(
                "the MCP request body is not a JSON-RPC message (a JSON object)",
            ));
        }
        let message: Message<'_> = serde_json::from_slice(body).map_err(|_| {
            McpBodyError::Malformed(
                "the MCP request body is not valid JSON-RPC: invalid JSON, a member given \
                 twice, or a method that is not a string",
            )
        })?;
        if message.jsonrpc.map(RawValue::get) != Some("\"2.0\"") {
            return Err(McpBodyError::Malformed(
                "the MCP request body is not JSON-RPC 2.0: \"jsonrpc\" must be \"2.0\"",
            ));
        }
        let Some(method) = message.method else {
            return match (message.result, message.error) {
                (Some(_), None) | (None, Some(_)) => Ok(McpCall::session("response")),
                _ => Err(McpBodyError::Malformed(
                    "the JSON-RPC message has no method, and is not a response",
                )),
            };
        };
        if message.params.is_some_and(|p| !p.get().starts_with('{')) {
            return Err(McpBodyError::Malformed(
                "the MCP request's params must be an object (MCP has no positional params)",
            ));
        }
        let target = match McpTarget::of(&method) {
            McpTarget::None => None,
            McpTarget::Name => Some(target(message.params, |n: Named| n.name, NEEDS_NAME)?),
            McpTarget::Uri => Some(target(message.params, |l: Located| l.uri, NEEDS_URI)?),
        };
        let mut call = McpCall::new(&method, target.as_deref());
        // A notification's method with an id is a request to the server.
        call.token_only &= !(message.id.is_some() && method.starts_with("notifications/"));
        Ok(call)
    }

    /// The JSON-RPC method (`tools/call`), or what [`McpCall::session`] named.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// The tool or prompt name, or the resource URI, for the methods that
    /// have one.
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// Whether the request needs only a valid token (see
    /// [`TOKEN_ONLY_METHODS`]).
    pub fn token_only(&self) -> bool {
        self.token_only
    }
}

/// The target of a call: `field` of its `params`, which must be a string.
fn target<'a, T: Deserialize<'a>>(
    params: Option<&'a RawValue>,
    field: impl Fn(T) -> Option<String>,
    needs: &'static str,
) -> Result<String, McpBodyError> {
    let missing = || McpBodyError::Malformed(needs);
    let params = params.ok_or_else(missing)?;
    let value: T = serde_json::from_str(params.get()).map_err(|_| missing())?;
    field(value).ok_or_else(missing)
}

/// What an `McpLayer` read from a request of the MCP endpoint, left in the
/// request's extensions for the contract's gate: the call, or why the body is
/// not one (the gate answers 400 `request_malformed`). At the endpoint, a
/// request without it is refused with 500 `layers_misconfigured`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McpRead(pub Result<McpCall, McpBodyError>);

/// What the caller of an MCP request may do, by the same decision as its
/// calls: for a server that hides from `tools/list` (and `prompts/list`,
/// `resources/list`) what the caller's token and stage cannot use.
///
/// The contract's gate leaves it in the extensions of every request of the
/// MCP endpoint it lets through, with the contract version that decided it;
/// an `rmcp` handler finds it in the `http::request::Parts` of its
/// `RequestContext`.
///
/// ```
/// use rampgate_core::contract::{Contract, McpAccess};
/// use std::sync::Arc;
///
/// let contract = Arc::new(Contract::parse(r#"
///     version = 1
///     [mcp]
///     endpoint = "/mcp"
///     [scopes]
///     "orders:read" = "Read orders"
///     "orders:refund" = "Refund orders"
///     [defaults]
///     unknown_consumer = { stage = "default", scopes = ["orders:read", "orders:refund"] }
///     [[routes]]
///     mcp = "tools/call"
///     name = "get_order"
///     scopes = ["orders:read"]
///     [[routes]]
///     mcp = "tools/call"
///     name = "refund_order"
///     scopes = ["orders:refund"]
/// "#).unwrap());
/// let principal = rampgate_core::Principal::for_tests(
///     "https://idp.example",
///     serde_json::json!({"sub": "a", "client_id": "agent", "scope": "orders:read"}),
/// ).unwrap();
/// let access = McpAccess::new(contract, principal);
/// let tools = access.callable_tools(["get_order", "refund_order"], |t| t);
/// assert_eq!(tools, ["get_order"]);
/// ```
#[derive(Clone)]
pub struct McpAccess {
    contract: Arc<Contract>,
    principal: crate::Principal,
}

impl std::fmt::Debug for McpAccess {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("McpAccess")
            .field("contract_version", &self.contract.version())
            .finish_non_exhaustive()
    }
}

impl McpAccess {
    /// The access of `principal` under `contract`.
    pub fn new(contract: Arc<Contract>, principal: crate::Principal) -> Self {
        McpAccess {
            contract,
            principal,
        }
    }

    /// Whether a call of `method` on `target` would get through the gate:
    /// allowed, or refused only in observe mode. A trust level is not
    /// judged here: the call gets the step-up challenge, which a client can
    /// answer, so such a tool stays listed.
    pub fn may(&self, method: &str, target: &str) -> bool {
        let call = McpCall::new(method, Some(target));
        let decision = self.contract.decide_mcp(&call, &self.principal);
        decision.outcome != super::Outcome::Deny
    }

    /// Whether the caller may call the tool `name`.
    pub fn may_call_tool(&self, name: &str) -> bool {
        self.may("tools/call", name)
    }

    /// The items of a `tools/list` result the caller may call, in their
    /// order; `name` gives each one's tool name.
    pub fn callable_tools<T>(
        &self,
        tools: impl IntoIterator<Item = T>,
        name: impl Fn(&T) -> &str,
    ) -> Vec<T> {
        tools
            .into_iter()
            .filter(|t| self.may_call_tool(name(t)))
            .collect()
    }
}

/// Whether the contract's MCP route target `pattern` covers `target`: the
/// same string, or, for a pattern ending in `*`, any target it begins.
pub(crate) fn covers(pattern: &str, target: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => target.starts_with(prefix),
        None => pattern == target,
    }
}

impl Contract {
    /// The index of the MCP route deciding `method` on `target`: the route
    /// naming it exactly, else the longest pattern (`orders://*`) covering it.
    pub(crate) fn resolve_mcp(&self, method: &str, target: Option<&str>) -> Option<usize> {
        let target = target.unwrap_or("");
        self.routes()
            .iter()
            .enumerate()
            .filter(|(_, r)| r.mcp && r.method == method && covers(&r.path, target))
            .max_by_key(|(_, r)| (r.path == target, r.path.len()))
            .map(|(i, _)| i)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_call_names_its_method_and_target() {
        let call = McpCall::parse(
            br#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_order","arguments":{"id":"A1"}}}"#,
        )
        .unwrap();
        assert_eq!(
            (call.method(), call.target()),
            ("tools/call", Some("get_order"))
        );
        assert!(!call.token_only());
        let read = McpCall::parse(
            br#" {"jsonrpc":"2.0","id":"x","method":"resources/read","params":{"uri":"orders://A1"}}"#,
        )
        .unwrap();
        assert_eq!(read.target(), Some("orders://A1"));
        let prompt = McpCall::parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"summary"}}"#,
        )
        .unwrap();
        assert_eq!(prompt.target(), Some("summary"));
    }

    use crate::reason::DecisionReason;

    #[test]
    fn the_handshake_discovery_notifications_and_responses_need_only_a_token() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#,
            r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#,
            r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":4,"result":{}}"#,
            r#"{"jsonrpc":"2.0","id":4,"error":{"code":-1,"message":"no"}}"#,
        ] {
            let call = McpCall::parse(body.as_bytes()).unwrap();
            assert!(call.token_only(), "{body}");
            assert_eq!(call.target(), None);
        }
        let other =
            McpCall::parse(br#"{"jsonrpc":"2.0","id":5,"method":"completion/complete"}"#).unwrap();
        assert!(!other.token_only());
    }

    /// `notifications/...` with an `id` is a request to the server (rmcp
    /// makes it a custom request): only the specification's notifications,
    /// sent as notifications, need only a token.
    #[test]
    fn only_the_specifications_notifications_without_an_id_need_only_a_token() {
        for method in TOKEN_ONLY_NOTIFICATIONS {
            let note = format!(r#"{{"jsonrpc":"2.0","method":"{method}","params":{{}}}}"#);
            assert!(
                McpCall::parse(note.as_bytes()).unwrap().token_only(),
                "{note}"
            );
            for id in ["1", "null", "\"x\""] {
                let request =
                    format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{method}","params":{{}}}}"#);
                let call = McpCall::parse(request.as_bytes()).unwrap();
                assert!(!call.token_only(), "{request}");
            }
        }
        for body in [
            r#"{"jsonrpc":"2.0","method":"notifications/refund_everything"}"#,
            r#"{"jsonrpc":"2.0","id":9,"method":"notifications/refund_everything"}"#,
        ] {
            let call = McpCall::parse(body.as_bytes()).unwrap();
            assert!(!call.token_only(), "{body}");
            for unknown_route in ["deny", "allow"] {
                let d = decide(&contract(unknown_route), call.clone(), "agent", &[]);
                let expected = if unknown_route == "deny" {
                    (crate::contract::Outcome::Deny, DecisionReason::RouteUnknown)
                } else {
                    (
                        crate::contract::Outcome::Allow,
                        DecisionReason::RouteUnlistedAllowed,
                    )
                };
                assert_eq!((d.outcome, d.reason), expected, "{body}");
            }
        }
        let with_id =
            McpCall::parse(br#"{"jsonrpc":"2.0","id":1,"method":"notifications/initialized"}"#)
                .unwrap();
        let d = decide(&contract("deny"), with_id, "agent", &[]);
        assert_eq!(d.reason, DecisionReason::RouteUnknown);
    }

    /// serde reads a struct from an array: `["refund_order"]` must not name
    /// a tool the server reads differently.
    #[test]
    fn positional_params_are_refused() {
        for body in [
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["refund_order"]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":["orders://A1"]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[]}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":"refund_order"}"#,
        ] {
            let refused = McpCall::parse(body.as_bytes());
            assert!(
                matches!(refused, Err(McpBodyError::Malformed(why)) if why.contains("params")),
                "{body}: {refused:?}"
            );
        }
    }

    /// rmcp 3.11 serves `resources/directory/read` and `skills/get` on a
    /// `params.uri`: `uri` routes cover them. `subscriptions/listen` is
    /// refused unless listed, `unknown_route = "allow"` or not.
    #[test]
    fn directory_reads_and_skills_are_decided_on_their_uri_and_listen_only_when_listed() {
        use crate::contract::Outcome;
        for method in ["resources/directory/read", "skills/get"] {
            let body = format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{{"uri":"orders://A1/"}}}}"#
            );
            let call = McpCall::parse(body.as_bytes()).unwrap();
            assert_eq!(call.target(), Some("orders://A1/"));
            let no_uri = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{{}}}}"#);
            assert_eq!(
                McpCall::parse(no_uri.as_bytes()),
                Err(McpBodyError::Malformed(NEEDS_URI))
            );
        }
        let c = Contract::parse(
            r#"
            version = 1
            [mcp]
            endpoint = "/mcp"
            [scopes]
            "orders:read" = "Read orders"
            [defaults]
            unknown_route = "allow"
            unknown_consumer = { stage = "default", scopes = ["orders:read"] }
            [[routes]]
            mcp = "skills/get"
            uri = "orders://*"
            scopes = ["orders:read"]
            "#,
        )
        .unwrap();
        let skill = McpCall::new("skills/get", Some("orders://refunds/SKILL.md"));
        let d = decide(&c, skill.clone(), "agent", &[]);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Deny, DecisionReason::ScopeInsufficient)
        );
        assert_eq!(d.route.as_deref(), Some("skills/get orders://*"));
        assert_eq!(
            decide(&c, skill, "agent", &["orders:read"]).outcome,
            Outcome::Allow
        );
        let listen = McpCall::parse(
            br#"{"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{"notifications":{"resourceSubscriptions":["orders://A1"]}}}"#,
        )
        .unwrap();
        assert!(!listen.token_only());
        let d = decide(&c, listen.clone(), "agent", &["orders:read"]);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Deny, DecisionReason::RouteUnknown)
        );
        let listed = Contract::parse(
            r#"
            version = 1
            [mcp]
            endpoint = "/mcp"
            [scopes]
            "orders:read" = "Read orders"
            [defaults]
            unknown_consumer = { stage = "default", scopes = ["orders:read"] }
            [[routes]]
            mcp = "subscriptions/listen"
            scopes = ["orders:read"]
            "#,
        )
        .unwrap();
        let d = decide(&listed, listen, "agent", &["orders:read"]);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Allow, DecisionReason::Allowed)
        );
        assert_eq!(d.route.as_deref(), Some("subscriptions/listen"));
    }

    #[test]
    fn batches_and_malformed_bodies_are_refused() {
        assert_eq!(
            McpCall::parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#),
            Err(McpBodyError::Batch)
        );
        for body in [
            "",
            "null",
            "{",
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            r#"{"id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":7}"#,
            r#"{"jsonrpc":"2.0","id":1}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":3}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"name":"x"}}"#,
            // The server must not read another method or tool than the one decided.
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"refund_order"}}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_order","name":"refund_order"}}"#,
        ] {
            let refused = McpCall::parse(body.as_bytes());
            assert!(
                matches!(refused, Err(McpBodyError::Malformed(_))),
                "{body}: {refused:?}"
            );
        }
        for refused in [McpBodyError::Batch, McpBodyError::Unread] {
            let error = refused.error();
            assert_eq!(error.kind().code(), "request_malformed");
            assert_eq!(error.kind().status(), 400);
        }
    }

    fn contract(unknown_route: &str) -> Contract {
        Contract::parse(&format!(
            r#"
            version = 3
            issuer = "https://idp.example"
            [mcp]
            endpoint = "/mcp"
            [scopes]
            "orders:read" = "Read orders"
            "orders:refund" = "Refund orders"
            [trust.sensitive]
            acr_values = ["mfa"]
            [defaults]
            unknown_route = "{unknown_route}"
            unknown_consumer = {{ stage = "default", scopes = ["orders:read", "orders:refund"] }}
            [[routes]]
            mcp = "tools/call"
            name = "get_order"
            scopes = ["orders:read"]
            [[routes]]
            mcp = "tools/call"
            name = "refund_order"
            scopes = ["orders:refund"]
            trust = "sensitive"
            [[routes]]
            mcp = "resources/read"
            uri = "orders://*"
            scopes = ["orders:read"]
            mode = "observe"
            [[consumers]]
            client_id = "support-bot"
            stage = "read"
            stages = [{{ name = "read", scopes = ["orders:read"] }}, {{ name = "refund", scopes = ["orders:read", "orders:refund"] }}]
            "#
        ))
        .unwrap()
    }

    fn decide(
        contract: &Contract,
        call: McpCall,
        client: &str,
        scopes: &[&str],
    ) -> crate::contract::Decision {
        let scopes: crate::Scopes = scopes.iter().copied().collect();
        let caller = crate::contract::Caller {
            iss: Some("https://idp.example"),
            client_id: Some(client),
            ..crate::contract::Caller::new(&scopes)
        };
        contract.decide_mcp_for(&call, caller)
    }

    #[test]
    fn each_tool_is_decided_with_the_contracts_stages_modes_and_trust() {
        use crate::contract::Outcome;

        let c = contract("deny");
        let get = || McpCall::new("tools/call", Some("get_order"));
        let refund = || McpCall::new("tools/call", Some("refund_order"));
        let d = decide(&c, get(), "agent", &["orders:read"]);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Allow, DecisionReason::Allowed)
        );
        assert_eq!(d.route.as_deref(), Some("tools/call get_order"));
        assert_eq!(d.mcp.as_deref(), Some(&get()));
        assert!(d.step_up.is_none());
        let d = decide(&c, refund(), "agent", &["orders:read"]);
        assert_eq!(d.outcome, Outcome::Deny);
        assert_eq!(d.reason, DecisionReason::ScopeInsufficient);
        assert_eq!(&*d.required, "orders:refund");
        // Allowed by scope; the trust level's policy goes with the decision.
        let d = decide(&c, refund(), "agent", &["orders:refund"]);
        assert_eq!(d.outcome, Outcome::Allow);
        assert_eq!(d.trust.as_deref(), Some("sensitive"));
        assert!(d.step_up.is_some());
        // The agent's ramp: its stage does not allow refunds yet.
        let d = decide(&c, refund(), "support-bot", &["orders:refund"]);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Deny, DecisionReason::ScopeBeyondStage)
        );
        assert_eq!(d.stage.as_deref(), Some("read"));
        // An observed resource lets the would-be denial through.
        let read = McpCall::new("resources/read", Some("orders://A1"));
        let d = decide(&c, read, "agent", &[]);
        assert_eq!(d.outcome, Outcome::ObserveDeny);
        assert_eq!(d.route.as_deref(), Some("resources/read orders://*"));
    }

    #[test]
    fn unlisted_tools_follow_unknown_route_and_the_handshake_needs_a_token_only() {
        use crate::contract::Outcome;

        let unlisted = || McpCall::new("tools/call", Some("delete_everything"));
        let d = decide(&contract("deny"), unlisted(), "agent", &["orders:refund"]);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Deny, DecisionReason::RouteUnknown)
        );
        let d = decide(&contract("allow"), unlisted(), "agent", &[]);
        assert_eq!(
            (d.outcome, d.reason),
            (Outcome::Allow, DecisionReason::RouteUnlistedAllowed)
        );
        for call in [
            McpCall::new("initialize", None),
            McpCall::new("tools/list", None),
            McpCall::new("notifications/initialized", None),
            McpCall::session("GET"),
        ] {
            let d = decide(&contract("deny"), call.clone(), "agent", &[]);
            assert_eq!(
                (d.outcome, d.reason),
                (Outcome::Allow, DecisionReason::Allowed)
            );
            assert_eq!(d.route, None, "{call:?}");
        }
        // Another issuer's token: not even the handshake.
        let scopes = crate::Scopes::default();
        let caller = crate::contract::Caller {
            iss: Some("https://other.example"),
            ..crate::contract::Caller::new(&scopes)
        };
        let d = contract("allow").decide_mcp_for(&McpCall::new("initialize", None), caller);
        assert_eq!(d.reason, DecisionReason::IssuerNotInContract);
    }

    #[cfg(feature = "openapi")]
    #[test]
    fn mcp_routes_are_left_out_of_openapi_documents() {
        use crate::contract::openapi::{LeftOutWhy, OpenApiOptions};
        let doc = contract("deny").openapi(&OpenApiOptions::new()).unwrap();
        let left_out: Vec<(&str, LeftOutWhy)> = doc
            .left_out
            .iter()
            .map(|l| (l.route.as_str(), l.why))
            .collect();
        assert_eq!(
            left_out,
            [
                ("tools/call get_order", LeftOutWhy::Mcp),
                ("tools/call refund_order", LeftOutWhy::Mcp),
                ("resources/read orders://*", LeftOutWhy::Mcp),
            ]
        );
    }

    #[test]
    fn patterns_cover_their_prefix_and_names_only_themselves() {
        assert!(covers("orders://*", "orders://A1"));
        assert!(!covers("orders://*", "order://A1"));
        assert!(covers("refund_order", "refund_order"));
        assert!(!covers("refund_order", "refund_order2"));
    }
}
