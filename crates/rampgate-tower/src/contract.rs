//! `ContractLayer`: the ramp contract decides every request.
//!
//! Applied once on a router (after [`JwtLayer`](crate::JwtLayer)), it finds the
//! matched route, asks the contract in force for a
//! [`Decision`](rampgate_core::contract::Decision), puts the decision in the request extensions for audit, and
//! answers 403 `insufficient_scope` for a denial. Observed routes let a would-be
//! denial through and record it.
//!
//! # Which path is matched
//!
//! - With the `axum` feature: the route template axum matched (`MatchedPath`).
//!   Apply the layer with `Router::route_layer`, inside the router that
//!   declares the routes. A request without a matched template (the layer put
//!   around the router, under `nest_service` or `fallback_service`, or with
//!   `Router::layer` on a path the router lacks) is refused with 500
//!   `layers_misconfigured`: its raw path is not normalised, so `/items/` or
//!   `/%69tems` would be an unknown route, which `unknown_route = "allow"` lets
//!   through.
//! - A gRPC request (`content-type: application/grpc...`) for a method the
//!   contract lists (`/pkg.Service/Method`, or its service's `/pkg.Service/*`),
//!   spelled the one way gRPC routes it: that exact path, in both builds and
//!   whatever template a router matched. An unlisted gRPC method without a
//!   template is an unknown route under `unknown_route = "deny"`, refused
//!   (`INTERNAL`) under `"allow"`.
//! - Otherwise, without the `axum` feature: the request path. For the same
//!   reason as above, a contract with `unknown_route = "allow"` is then refused with 500
//!   `layers_misconfigured` at every request, from the first one on (a reload
//!   can set it at any time, so it is checked per request).

use crate::gate::{GateFuture, Refusal, principal_or_refusal};
use http::{Request, Response};
use rampgate_core::contract::{ContractHandle, Outcome};
use rampgate_core::{DenialOptions, DenialResponseBody};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

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
        ContractGate {
            inner,
            contract: self.contract.clone(),
        }
    }
}

/// The service made by [`ContractLayer`].
///
/// Named for what it does (it lets a request through the contract's gate) so
/// that it never shadows [`rampgate_core::contract::Contract`], the contract
/// itself, in a file that uses both.
#[derive(Debug, Clone)]
pub struct ContractGate<S> {
    inner: S,
    contract: ContractHandle,
}

impl<S> ContractGate<S> {
    define_inner_service_accessors!();
}

/// The old name of [`ContractGate`].
#[deprecated(note = "renamed `ContractGate`: `Contract` is `rampgate_core::contract::Contract`")]
pub type Contract<S> = ContractGate<S>;

/// The refusal when axum matched no route template.
const NO_TEMPLATE: &str = "ContractLayer found no matched route template (axum's MatchedPath): \
    apply it with Router::route_layer inside the router that declares the routes, not with \
    Router::layer, around the router, nest_service or fallback_service";

/// The refusal when raw request paths meet `unknown_route = "allow"`.
const RAW_PATHS_ALLOWED: &str = "ContractLayer matches raw request paths (built without the \
    axum feature), and the contract says unknown_route = \"allow\": a path spelled another way \
    (a trailing slash, percent-encoding) would pass as an unknown route; set \
    unknown_route = \"deny\"";

/// The path the contract matches, or why the request cannot be decided.
///
/// With `templates` (the `axum` feature) it is the template axum matched, and
/// a request without one is refused: the raw path would be matched
/// unnormalised. Without it, the raw path is what gRPC routes by, but only a
/// contract that denies unknown routes can be trusted with it, since any other
/// spelling of a listed path is an unknown route.
///
/// A gRPC method path (`grpc_method`: a gRPC request whose path has the one
/// spelling gRPC routes by) that reaches here is not in the contract (listed
/// ones are decided before, on their exact path): without a template it is
/// an unknown route under `unknown_route = "deny"`, and refused under
/// `"allow"`, since a layer that sees no template may sit outside an HTTP
/// router whose routes a `content-type` must not unlock.
fn path_to_match<'r>(
    matched: Option<&'r str>,
    request_path: &'r str,
    grpc_method: bool,
    templates: bool,
    unknown_route_allowed: bool,
) -> Result<&'r str, &'static str> {
    match (templates, matched) {
        (true, Some(template)) => Ok(template),
        (true, None) if grpc_method && !unknown_route_allowed => Ok(request_path),
        (true, None) => Err(NO_TEMPLATE),
        (false, _) if unknown_route_allowed => Err(RAW_PATHS_ALLOWED),
        (false, _) => Ok(request_path),
    }
}

fn route_template<'r, B>(
    req: &'r Request<B>,
    contract: &rampgate_core::contract::Contract,
) -> Result<&'r str, &'static str> {
    // A gRPC method the contract lists is decided on its exact path, whatever
    // template a router matched (tonic's own is `/pkg.Service/{*rest}`).
    if let Some(path) = crate::grpc::listed_method(req, contract) {
        return Ok(path);
    }
    #[cfg(feature = "axum")]
    let matched = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|m| m.as_str());
    #[cfg(not(feature = "axum"))]
    let matched = None;
    path_to_match(
        matched,
        req.uri().path(),
        crate::grpc::method_path(req).is_some(),
        cfg!(feature = "axum"),
        contract.unknown_route_allowed(),
    )
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ContractGate<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: DenialResponseBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let decision = {
            let principal = match principal_or_refusal(req.extensions()) {
                Ok(principal) => principal,
                Err(refusal) => return GateFuture::refused(refusal, req.headers()),
            };
            let contract = self.contract.current();
            let path = match route_template(&req, &contract) {
                Ok(path) => path,
                Err(why) => {
                    return GateFuture::refused(Refusal::Misconfigured(why), req.headers());
                }
            };
            contract.decide(req.method().as_str(), Some(path), principal)
        };
        match decision.outcome {
            Outcome::Allow => {}
            Outcome::ShadowDeny => tracing::info!(
                outcome = "shadow_deny",
                reason = decision.reason.as_str(),
                route = decision.route.as_deref().unwrap_or(""),
                consumer = decision.consumer.as_deref().unwrap_or(""),
                stage = decision.stage.as_deref().unwrap_or(""),
                contract_version = decision.contract_version,
                "contract would deny; route observed, request allowed"
            ),
            Outcome::Deny => {
                let Some(error) = decision.error() else {
                    return GateFuture::refused(
                        Refusal::Misconfigured("the contract denied without a denial reason"),
                        req.headers(),
                    );
                };
                return GateFuture::denied(DenialOptions::deny_in(req.extensions(), &error))
                    .with_decision(Arc::new(decision));
            }
        }
        // The handler reads the decision from the request; the layers around
        // read it (as `Arc<Decision>`) from the response.
        let shared = Arc::new(decision.clone());
        req.extensions_mut().insert(decision);
        GateFuture::inner(self.inner.call(req)).with_decision(shared)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{
        Seen, as_principal, assert_misconfigured, body, challenge, contract, plain, reason, run,
    };
    use bytes::Bytes;
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
        assert_eq!(decision.outcome, Outcome::ShadowDeny);
        assert_eq!(decision.reason, DecisionReason::ScopeInsufficient);
        assert_eq!(&*decision.required, "export");
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
        let path = |matched, templates, allow| {
            path_to_match(matched, "/it%65ms/", false, templates, allow)
        };
        // With axum: the template, whatever unknown_route says; none is a refusal.
        assert_eq!(path(Some("/items/{id}"), true, true), Ok("/items/{id}"));
        assert_eq!(path(Some("/items/{id}"), true, false), Ok("/items/{id}"));
        assert!(path(None, true, false).unwrap_err().contains("route_layer"));
        assert!(path(None, true, true).unwrap_err().contains("route_layer"));
        // An unlisted gRPC method without a template: an unknown route under
        // "deny", refused under "allow", in both builds.
        let grpc = |templates, allow| path_to_match(None, "/pkg.Svc/M", true, templates, allow);
        assert_eq!(grpc(true, false), Ok("/pkg.Svc/M"));
        assert_eq!(grpc(false, false), Ok("/pkg.Svc/M"));
        assert!(grpc(true, true).is_err());
        assert!(grpc(false, true).is_err());
        // Without axum: the raw path, only under unknown_route = "deny".
        assert_eq!(path(None, false, false), Ok("/it%65ms/"));
        assert!(
            path(None, false, true)
                .unwrap_err()
                .contains("unknown_route")
        );
    }

    #[tokio::test]
    async fn without_jwt_layer_it_is_a_server_error() {
        let seen = Seen::default();
        let layer = ContractLayer::new(contract());
        let response = run(&layer, &seen, plain("GET", "/items")).await;
        assert_misconfigured(&response, &seen, "JwtLayer");
    }
}
