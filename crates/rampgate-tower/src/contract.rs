//! `ContractLayer`: the ramp contract decides every request, and enforces
//! everything it declares for the route.
//!
//! Applied once on a router (after [`JwtLayer`](crate::JwtLayer)), it finds the
//! matched route, asks the contract in force for a
//! [`Decision`], and enforces it:
//!
//! - **scopes, stage and roll-out mode**: 403 `insufficient_scope` for a
//!   denial; an observed route lets a would-be denial through and records it;
//! - **the trust level**: a route whose `trust` names a level of the
//!   contract's `[trust]` gets the RFC 9470 step-up challenge (401
//!   `insufficient_user_authentication`) when the token's `acr`, `amr` or
//!   `auth_time` falls short, in every roll-out mode. No `StepUpLayer` is
//!   needed for it (that one is for step-up declared in code);
//! - **`audit = "required"`**: the event must have a reserved place in the
//!   audit queue of an `AuditLayer` outside: 503 `audit_unavailable` when the
//!   queue is full, 500 `layers_misconfigured` when no `AuditLayer` is there.
//!
//! It then puts the decision in the request extensions for the handler, and
//! in the response's for the middleware around (the `AuditLayer`).
//!
//! # Which path is matched
//!
//! - **The contract's MCP endpoint** (`[mcp] endpoint`): each request is
//!   decided on the JSON-RPC method and tool, prompt or resource that an
//!   [`McpLayer`](crate::mcp) outside read from its body
//!   ([`Contract::decide_mcp`]), with the same stages, modes, trust levels
//!   and audit as any route; a body that is not one JSON-RPC request gets
//!   400 `request_malformed`, and a request no `McpLayer` read 500
//!   `layers_misconfigured`. The requests it lets through carry an
//!   [`McpAccess`] for the server's `tools/list` filter.
//! - **A gRPC method** is decided on its exact path, `/pkg.Service/Method`,
//!   then its service's `/pkg.Service/*`, whatever the request's method and
//!   `content-type`, and only over gRPC: called otherwise (not a `POST` with
//!   `content-type: application/grpc`), it is refused with 415
//!   `grpc_required` before it runs, since a gRPC server dispatches on the
//!   path alone. A path is a gRPC method's when it has the method shape and
//!   the contract lists it for `POST` (itself or as `/pkg.Service/*`); under
//!   a tonic template (`.../pkg.Service/{*rest}`, nested under a prefix or
//!   not) the method path is found at the service's segment.
//! - **An HTTP route** is decided on its own template (axum's `MatchedPath`,
//!   `axum` feature), never on its path: a `content-type` cannot move it to
//!   another route. Apply the layer with `Router::route_layer` (or
//!   `AuthStack::protect`), inside the router that declares the routes. A
//!   request without a matched template (the layer put around the router,
//!   under `nest_service` or `fallback_service`) is refused with 500
//!   `layers_misconfigured`: its raw path is not normalised, so `/items/` or
//!   `/%69tems` would be an unknown route, which `unknown_route = "allow"`
//!   lets through.
//! - An unlisted gRPC method without a template is an unknown route under
//!   `unknown_route = "deny"`, and refused (`INTERNAL`) under `"allow"`.
//! - Otherwise, without the `axum` feature: the request path. For the same
//!   reason as above, a contract with `unknown_route = "allow"` is then
//!   refused with 500 `layers_misconfigured` at every request, from the first
//!   one on (a reload can set it at any time, so it is checked per request).

use crate::audit::AuditFacts;
use crate::gate::{Authorize, Gate, Passed, Refusal, Refused, principal};
use http::Request;
use rampgate_core::contract::{Contract, ContractHandle, Decision, McpAccess, Outcome};
use rampgate_core::{DenialOptions, ErrorKind, Principal, Protocol, escape_control};
use std::sync::Arc;
use tower_layer::Layer;

/// A tower [`Layer`] enforcing a ramp contract.
///
/// ```no_run
/// use rampgate_core::contract::ContractHandle;
/// use rampgate_tower::ContractLayer;
///
/// let contract = ContractHandle::from_file("contract.toml").unwrap();
/// contract.watch(std::time::Duration::from_secs(5)).unwrap(); // hot reload
/// let layer = ContractLayer::new(contract);
/// # let _ = layer;
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ContractLayer {
    contract: ContractHandle,
}

impl ContractLayer {
    /// A layer deciding with the contract `contract` holds (reloads included).
    pub fn new(contract: ContractHandle) -> Self {
        ContractLayer { contract }
    }

    /// The contract handle this layer decides with.
    pub fn handle(&self) -> &ContractHandle {
        &self.contract
    }
}

impl<S> Layer<S> for ContractLayer {
    type Service = ContractGate<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate::new(inner, self.clone())
    }
}

/// The service made by [`ContractLayer`].
///
/// Named for what it does (it lets a request through the contract's gate) so
/// that it never shadows [`rampgate_core::contract::Contract`], the contract
/// itself, in a file that uses both.
pub type ContractGate<S> = Gate<S, ContractLayer>;

/// The refusal when axum matched no route template.
const NO_TEMPLATE: &str = "ContractLayer found no matched route template (axum's MatchedPath): \
    apply it with Router::route_layer inside the router that declares the routes, not with \
    Router::layer, around the router, nest_service or fallback_service";

/// The refusal when raw request paths meet `unknown_route = "allow"`.
const RAW_PATHS_ALLOWED: &str = "ContractLayer matches raw request paths (built without the \
    axum feature), and the contract says unknown_route = \"allow\": a path spelled another way \
    (a trailing slash, percent-encoding) would pass as an unknown route; set \
    unknown_route = \"deny\"";

/// The refusal of an `audit = "required"` route without an `AuditLayer`.
const NO_AUDIT_LAYER: &str = "the contract says audit = \"required\" for this route, and no \
    AuditLayer runs outside ContractLayer to record it: add one (AuthStack::audit)";

/// Why a request cannot be decided on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Undecidable {
    /// A gRPC method called without gRPC.
    NotGrpc,
    /// The layers cannot tell which route this is (described).
    Misconfigured(&'static str),
}

/// What gRPC says about a request's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grpc {
    /// Nothing: an HTTP request, or a path without the method shape.
    No,
    /// A gRPC method's path (listed, or under its tonic template), called
    /// over gRPC.
    Method,
    /// A gRPC method's path called without gRPC.
    NotCalled,
    /// A gRPC call of a method-shaped path that neither the contract nor a
    /// tonic template says is a gRPC method's.
    Unlisted,
}

/// The path the contract matches, or why the request cannot be decided.
///
/// A gRPC method is decided on its exact path, and only over gRPC.
/// Otherwise, with `templates` (the `axum` feature) it is the template axum
/// matched, and a request without one is refused: the raw path would be
/// matched unnormalised. Without it, the raw path is what gRPC routes by,
/// but only a contract that denies unknown routes can be trusted with it,
/// since any other spelling of a listed path is an unknown route.
///
/// An unlisted gRPC method without a template is an unknown route under
/// `unknown_route = "deny"`, and refused under `"allow"`: a layer that sees no
/// template may sit outside an HTTP router.
fn path_to_match<'r>(
    matched: Option<&'r str>,
    request_path: &'r str,
    grpc: Grpc,
    templates: bool,
    unknown_route_allowed: bool,
) -> Result<&'r str, Undecidable> {
    match grpc {
        Grpc::NotCalled => return Err(Undecidable::NotGrpc),
        Grpc::Method => return Ok(request_path),
        Grpc::Unlisted | Grpc::No => {}
    }
    match (templates, matched) {
        (true, Some(template)) => Ok(template),
        (true, None) if grpc == Grpc::Unlisted && !unknown_route_allowed => Ok(request_path),
        (true, None) => Err(Undecidable::Misconfigured(NO_TEMPLATE)),
        (false, _) if unknown_route_allowed => Err(Undecidable::Misconfigured(RAW_PATHS_ALLOWED)),
        (false, _) => Ok(request_path),
    }
}

/// The template axum matched for `req` (always `None` without the `axum` feature).
pub(crate) fn matched_template<B>(req: &Request<B>) -> Option<&str> {
    #[cfg(feature = "axum")]
    {
        req.extensions()
            .get::<axum::extract::MatchedPath>()
            .map(|m| m.as_str())
    }
    #[cfg(not(feature = "axum"))]
    {
        let _ = req;
        None
    }
}

fn route_path<'r, B>(req: &'r Request<B>, contract: &Contract) -> Result<&'r str, Undecidable> {
    let matched = matched_template(req);
    let path = req.uri().path();
    let call = crate::grpc::is_call(req);
    let method = crate::grpc::method_of(path, matched, contract);
    let grpc = match (method, call) {
        (Some(_), true) => Grpc::Method,
        (Some(_), false) => Grpc::NotCalled,
        (None, true) if rampgate_core::grpc::is_method_path(path) => Grpc::Unlisted,
        (None, _) => Grpc::No,
    };
    path_to_match(
        matched,
        method.unwrap_or(path),
        grpc,
        cfg!(feature = "axum"),
        contract.unknown_route_allowed(),
    )
}

/// Enforces what `decision` declares beyond its outcome: the trust level's
/// step-up and the reserved audit event. `Ok(true)` when a step-up passed.
fn enforce<B>(
    req: &Request<B>,
    principal: &Principal,
    decision: &Decision,
) -> Result<bool, Refused> {
    let refuse = |error: &rampgate_core::Error| {
        Refused::new(DenialOptions::deny_in(req.extensions(), error))
    };
    let facts = req.extensions().get::<AuditFacts>();
    if decision.audit_required && facts.is_none() {
        return Err(Refused::of(
            Refusal::Misconfigured(NO_AUDIT_LAYER),
            req.headers(),
        ));
    }
    if decision.outcome == Outcome::Deny {
        return Err(match decision.error() {
            Some(error) => refuse(&error),
            None => Refused::of(
                Refusal::Misconfigured("the contract denied without a denial reason"),
                req.headers(),
            ),
        });
    }
    let step_up_passed = match decision.step_up.as_deref() {
        None => false,
        Some(policy) => match policy.enforce(principal) {
            Ok(()) => policy.steps_up(),
            Err(error) => return Err(refuse(&error)),
        },
    };
    if decision.audit_required && !facts.is_some_and(AuditFacts::reserve) {
        tracing::warn!(
            target: "rampgate::audit",
            route = decision.route.as_deref(),
            "audit queue full on a fail-closed route: answering 503 audit_unavailable"
        );
        return Err(refuse(&ErrorKind::AuditUnavailable.into()));
    }
    Ok(step_up_passed)
}

impl Authorize for ContractLayer {
    fn authorize<B>(&self, req: &mut Request<B>) -> Result<Passed, Refused> {
        // For the MCP server's own least-privilege filter (tools/list).
        let mut mcp_access = None;
        let (decision, step_up_passed) = {
            let principal = principal(req)?;
            let contract = self.contract.current();
            let path = match route_path(req, &contract) {
                Ok(path) => path,
                Err(Undecidable::NotGrpc) => {
                    // Over HTTP whatever the content-type says: a 415 no
                    // client reads as a gRPC answer's HTTP 200.
                    let error = ErrorKind::GrpcRequired.into();
                    let denial = DenialOptions::deny_in(req.extensions(), &error)
                        .in_protocol(Protocol::Http);
                    return Err(Refused::new(denial));
                }
                Err(Undecidable::Misconfigured(why)) => {
                    return Err(Refused::of(Refusal::Misconfigured(why), req.headers()));
                }
            };
            let decision = match crate::mcp::call_at_endpoint(req, &contract, path)? {
                Some(call) => contract.decide_mcp(call, principal),
                None => contract.decide(req.method().as_str(), Some(path), principal),
            };
            if decision.mcp.is_some() {
                mcp_access = Some(McpAccess::new(Arc::clone(&contract), principal.clone()));
            }
            let enforced = enforce(req, principal, &decision);
            let decision = Arc::new(decision);
            match enforced {
                Ok(step_up_passed) => (decision, step_up_passed),
                Err(refused) => return Err(refused.decision(decision)),
            }
        };
        if decision.outcome == Outcome::ObserveDeny {
            tracing::info!(
                outcome = "observe_deny",
                reason = decision.reason.as_str(),
                route = decision.route.as_deref().unwrap_or(""),
                // An unknown consumer is the token's own client_id: escaped.
                consumer = &*escape_control(decision.consumer.as_deref().unwrap_or("")),
                stage = decision.stage.as_deref().unwrap_or(""),
                contract_version = decision.contract_version,
                "contract would deny; route observed, request allowed"
            );
        }
        // The handler reads the decision from the request; the layers around
        // read it from the response. One allocation, shared by both.
        req.extensions_mut().insert(Arc::clone(&decision));
        if let Some(access) = mcp_access {
            req.extensions_mut().insert(access);
        }
        let passed = Passed::new().decision(decision);
        Ok(if step_up_passed {
            passed.step_up_passed()
        } else {
            passed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{
        Seen, as_principal, assert_misconfigured, body, challenge, contract, plain, reason, run,
    };
    use bytes::Bytes;
    use http::Response;
    use rampgate_core::DecisionReason;
    use rampgate_core::contract::Contract;
    use serde_json::json;

    fn web(scope: &str) -> serde_json::Value {
        json!({"sub": "alice", "client_id": "web", "scope": scope})
    }

    /// Asserts a contract denial: 403, the reason, and no inner call.
    fn assert_denied(response: &Response<Bytes>, seen: &Seen, code: &str) {
        assert_eq!(response.status(), 403);
        assert_eq!(reason(response), code);
        assert_eq!(body(response)["error"], "insufficient_scope");
        assert_eq!(seen.calls(), 0, "the inner service must not run");
    }

    #[tokio::test]
    async fn allowed_request_reaches_the_inner_service_with_the_decision() {
        let seen = Seen::default();
        let layer = ContractLayer::new(contract());
        let response = run(
            &layer,
            &seen,
            as_principal("GET", "/items", web("items:read")),
        )
        .await;
        assert_eq!(response.status(), 200);
        let decision = seen.decision().unwrap();
        assert_eq!(decision.outcome, Outcome::Allow);
        assert_eq!(decision.reason, DecisionReason::Allowed);
        assert_eq!(decision.contract_version, 3);
        assert_eq!(decision.route.as_deref(), Some("GET /items"));
        assert_eq!(decision.stage.as_deref(), Some("pilot"));
    }

    #[tokio::test]
    async fn a_token_without_the_scope_is_scope_insufficient() {
        let seen = Seen::default();
        let layer = ContractLayer::new(contract());
        let response = run(&layer, &seen, as_principal("GET", "/items", web(""))).await;
        assert_denied(&response, &seen, "scope_insufficient");
        assert!(challenge(&response).ends_with(r#"scope="items:read""#));
    }

    #[tokio::test]
    async fn a_scope_the_stage_does_not_allow_yet_is_scope_beyond_stage() {
        let seen = Seen::default();
        let layer = ContractLayer::new(contract());
        // The token carries items:write, but web's pilot stage only allows reads.
        let req = as_principal("POST", "/items", web("items:read items:write"));
        let response = run(&layer, &seen, req).await;
        assert_denied(&response, &seen, "scope_beyond_stage");
    }

    #[tokio::test]
    async fn an_unlisted_consumer_is_consumer_unknown() {
        let seen = Seen::default();
        let layer = ContractLayer::new(contract());
        let claims = json!({"client_id": "stranger", "scope": "items:read"});
        let response = run(&layer, &seen, as_principal("GET", "/items", claims)).await;
        assert_denied(&response, &seen, "consumer_unknown");
    }

    #[tokio::test]
    async fn an_unlisted_route_is_route_unknown() {
        let seen = Seen::default();
        let layer = ContractLayer::new(contract());
        let response = run(
            &layer,
            &seen,
            as_principal("GET", "/nowhere", web("items:read")),
        )
        .await;
        assert_denied(&response, &seen, "route_unknown");
    }

    #[tokio::test]
    async fn an_observed_route_lets_a_would_be_denial_through_and_records_it() {
        let seen = Seen::default();
        let layer = ContractLayer::new(contract());
        let response = run(
            &layer,
            &seen,
            as_principal("GET", "/export", web("items:read")),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
        let decision = seen.decision().unwrap();
        assert_eq!(decision.outcome, Outcome::ObserveDeny);
        assert_eq!(decision.reason, DecisionReason::ScopeInsufficient);
        assert_eq!(&*decision.required, "export");
    }

    #[test]
    fn an_unknown_consumer_cannot_forge_the_observe_deny_log_line() {
        let text = crate::tests::CONTRACT.replace(
            "version = 3\n",
            "version = 3\n\n[defaults]\nunknown_consumer = { stage = \"public\", scopes = [\"items:read\"] }\n",
        );
        let layer = ContractLayer::new(ContractHandle::new(Contract::parse(&text).unwrap()));
        let seen = Seen::default();
        let claims = json!({"sub": "eve", "client_id": "evil\n\u{1b}[2J", "scope": "items:read"});
        let req = as_principal("GET", "/export", claims);
        let (response, logs) = crate::tests::capture_logs(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            runtime.block_on(run(&layer, &seen, req))
        });
        assert_eq!(response.status(), 200);
        let line = logs.iter().find(|l| l.contains("observe_deny")).unwrap();
        // The capture shows values through `Debug`: the field holds the
        // escaped text (a backslash, then `n`), not a raw newline or ESC.
        assert!(line.contains(r#"consumer="evil\\n\\u{1b}[2J""#), "{line}");
    }

    #[tokio::test]
    async fn a_reload_decides_the_next_request() {
        let handle = contract();
        let layer = ContractLayer::new(handle.clone());
        let seen = Seen::default();
        let req = || as_principal("POST", "/items", web("items:read items:write"));
        assert_eq!(run(&layer, &seen, req()).await.status(), 403);
        // Version 4 moves web to its ga stage, which allows writes.
        let next = crate::tests::CONTRACT
            .replace("version = 3", "version = 4")
            .replace(r#"stage = "pilot""#, r#"stage = "ga""#);
        handle.apply(Contract::parse(&next).unwrap()).unwrap();
        let response = run(&layer, &seen, req()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.decision().unwrap().contract_version, 4);
    }

    #[cfg(feature = "axum")]
    #[tokio::test]
    async fn with_the_axum_feature_a_request_without_matched_template_is_a_server_error() {
        // nest_service, fallback_service or a layer around the router: axum
        // matched no template, and the raw path is not one. `%61dmin` is
        // `admin`, and `/items/` is not `/items`: as unknown routes they would
        // pass `unknown_route = "allow"`.
        use crate::tests::unrouted_principal;
        let layer = ContractLayer::new(crate::tests::contract_allowing_unknown_routes());
        for path in ["/static/%61dmin", "/items/", "/items"] {
            let seen = Seen::default();
            let req = unrouted_principal("GET", path, web("items:read"));
            let response = run(&layer, &seen, req).await;
            assert_misconfigured(&response, &seen, "route_layer");
        }
        // The same refusal with `unknown_route = "deny"`: the raw path is never matched.
        let seen = Seen::default();
        let req = unrouted_principal("GET", "/items", web("items:read"));
        let response = run(&ContractLayer::new(contract()), &seen, req).await;
        assert_misconfigured(&response, &seen, "route_layer");
    }

    #[tokio::test]
    async fn a_matched_template_the_contract_lacks_passes_unknown_route_allow() {
        // With axum the template is the router's own: allowing it is safe.
        // Without axum this is the raw-path case, refused (next tests).
        let seen = Seen::default();
        let layer = ContractLayer::new(crate::tests::contract_allowing_unknown_routes());
        let req = as_principal("GET", "/unlisted", web("items:read"));
        let response = run(&layer, &seen, req).await;
        if cfg!(feature = "axum") {
            assert_eq!(response.status(), 200);
            assert_eq!(seen.calls(), 1);
            let decision = seen.decision().unwrap();
            assert_eq!(decision.reason, DecisionReason::RouteUnlistedAllowed);
        } else {
            assert_misconfigured(&response, &seen, "unknown_route");
        }
    }

    #[cfg(not(feature = "axum"))]
    #[tokio::test]
    async fn without_the_axum_feature_unknown_route_allow_is_refused_at_every_request() {
        // Raw paths are not normalised: `unknown_route = "allow"` would pass
        // `/items/` or `/it%65ms` as unknown routes. Known routes are refused
        // too, so that the misconfiguration shows at the first request.
        let layer = ContractLayer::new(crate::tests::contract_allowing_unknown_routes());
        for path in ["/items/", "/it%65ms", "/items"] {
            let seen = Seen::default();
            let response = run(&layer, &seen, as_principal("GET", path, web("items:read"))).await;
            assert_misconfigured(&response, &seen, "unknown_route");
        }
    }

    #[test]
    fn the_path_to_match_comes_from_the_router_or_is_refused() {
        // The decision both builds make, with `templates` standing for the
        // `axum` feature, so that each build tests the other's branch too.
        let misconfigured = |r: Result<&str, Undecidable>, needle: &str| match r {
            Err(Undecidable::Misconfigured(why)) => why.contains(needle),
            _ => false,
        };
        let path = |matched, templates, allow| {
            path_to_match(matched, "/it%65ms/", Grpc::No, templates, allow)
        };
        // With axum: the template, whatever unknown_route says; none is a refusal.
        assert_eq!(path(Some("/items/{id}"), true, true), Ok("/items/{id}"));
        assert_eq!(path(Some("/items/{id}"), true, false), Ok("/items/{id}"));
        assert!(misconfigured(path(None, true, false), "route_layer"));
        assert!(misconfigured(path(None, true, true), "route_layer"));
        // An unlisted gRPC call without a template: an unknown route under
        // "deny", refused under "allow", in both builds; with a template
        // (an HTTP route's), that template.
        let grpc = |matched, templates, allow| {
            path_to_match(matched, "/pkg.Svc/M", Grpc::Unlisted, templates, allow)
        };
        assert_eq!(grpc(None, true, false), Ok("/pkg.Svc/M"));
        assert_eq!(grpc(None, false, false), Ok("/pkg.Svc/M"));
        assert!(grpc(None, true, true).is_err());
        assert!(grpc(None, false, true).is_err());
        assert_eq!(grpc(Some("/{a}/{b}"), true, true), Ok("/{a}/{b}"));
        // A gRPC method: its exact path whatever the template, only over gRPC.
        for (matched, templates, allow) in [
            (None, true, true),
            (None, false, true),
            (Some("/pkg.Svc/{*rest}"), true, true),
            (Some("/pkg.Svc/{*rest}"), true, false),
        ] {
            let method = path_to_match(matched, "/pkg.Svc/M", Grpc::Method, templates, allow);
            assert_eq!(method, Ok("/pkg.Svc/M"));
            let not_called =
                path_to_match(matched, "/pkg.Svc/M", Grpc::NotCalled, templates, allow);
            assert_eq!(not_called, Err(Undecidable::NotGrpc));
        }
        // Without axum: the raw path, only under unknown_route = "deny".
        assert_eq!(path(None, false, false), Ok("/it%65ms/"));
        assert!(misconfigured(path(None, false, true), "unknown_route"));
    }

    #[tokio::test]
    async fn without_jwt_layer_it_is_a_server_error() {
        let seen = Seen::default();
        let layer = ContractLayer::new(contract());
        let response = run(&layer, &seen, plain("GET", "/items")).await;
        assert_misconfigured(&response, &seen, "JwtLayer");
    }
}
