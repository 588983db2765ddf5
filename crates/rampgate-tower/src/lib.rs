//! tower Layers of rampgate.
//!
//! - [`JwtLayer`]: verifies the request's JWT access token and puts the
//!   [`Principal`](rampgate_core::Principal) in the request extensions, or answers
//!   with an RFC 6750 denial without calling the inner service.
//! - [`ScopeLayer`]: requires scopes of the verified token (403
//!   `insufficient_scope` otherwise).
//! - [`ContractLayer`]: the ramp contract decides every request and enforces
//!   everything it declares for the route: the scopes, intersected with what
//!   the consumer's current stage allows, the trust level (the RFC 9470
//!   step-up challenge) and `audit = "required"`.
//! - [`StepUpLayer`]: a stronger or fresher user authentication declared in
//!   code, for routes the contract does not mark.
//! - [`AuditLayer`]: exactly one audit event per request, whatever the
//!   outcome, to a `rampgate_core::audit::Auditor`; fail-closed routes.
//! - [`AuthStack`]: `JwtLayer`, `ContractLayer` and a `StepUpLayer` as one layer,
//!   in the order they must run, with the `AuditLayer` outermost
//!   ([`AuthStack::audit`]).
//!
//! Every answer a layer produced or let through carries the outcome in its
//! extensions: the [`Denial`](rampgate_core::Denial) of a refusal, the
//! contract's decision as `Arc<Decision>`, [`StepUpPassed`] when a step-up
//! check passed, so middleware around the layers sees them. A 500
//! `layers_misconfigured` is a `Denial` too.
//!
//! # The invariant
//!
//! Every property the contract declares for a route (its scopes, the
//! consumer's stage and roll-out mode, its trust level, `audit =
//! "required"`) is enforced for every request that reaches the handler, in
//! every supported composition, or the request is refused with 500
//! `layers_misconfigured` (gRPC `INTERNAL`) and the handler does not run.
//! `ContractLayer` enforces them all itself, so no other layer has to be
//! remembered: the trust level needs no `StepUpLayer`, and an `audit =
//! "required"` route needs an `AuditLayer` outside, which has reserved its
//! event, or it is refused.
//!
//! Every layer refuses with an HTTP answer, never an error: the services'
//! `Error` is the inner service's. Each service gives access to the one it
//! wraps with `get_ref`, `get_mut` and `into_inner`.
//!
//! # The order of the layers
//!
//! Each layer reads what the one before it left in the request extensions:
//! `JwtLayer` → `ContractLayer` → `StepUpLayer` (optional) → handler. [`AuthStack`]
//! installs them in that order in one call:
//!
//! ```
//! # #[cfg(not(feature = "axum"))] fn main() {}
//! # #[cfg(feature = "axum")]
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use axum::{Router, body::Body, routing::get};
//! use rampgate_core::contract::{Contract, ContractHandle};
//! use rampgate_testkit::OfflineIssuer;
//! use rampgate_tower::AuthStack;
//! use tower::ServiceExt;
//!
//! let issuer = OfflineIssuer::new();
//! let verifier = issuer.verifier().await.unwrap();
//! let contract = ContractHandle::new(Contract::parse(r#"
//!     version = 1
//!     [scopes]
//!     "orders:read" = "Read orders"
//!     [[routes]]
//!     method = "GET"
//!     path = "/orders"
//!     scopes = ["orders:read"]
//!     [[consumers]]
//!     client_id = "web"
//!     stage = "ga"
//!     stages = [{ name = "ga", scopes = ["orders:read"] }]
//! "#).unwrap());
//!
//! let app = AuthStack::new(verifier)
//!     .jwt(|jwt| jwt.realm("api"))
//!     .contract(contract)
//!     .protect(Router::new().route("/orders", get(|| async { "orders" })));
//!
//! let token = issuer.token().client_id("web").scopes(["orders:read"]).sign();
//! let request = http::Request::get("/orders")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Body::empty())
//!     .unwrap();
//! assert_eq!(app.clone().oneshot(request).await.unwrap().status(), 200);
//!
//! // Without the scope, the contract refuses; the handler never runs.
//! let token = issuer.token().client_id("web").sign();
//! let request = http::Request::get("/orders")
//!     .header("authorization", format!("Bearer {token}"))
//!     .body(Body::empty())
//!     .unwrap();
//! assert_eq!(app.oneshot(request).await.unwrap().status(), 403);
//! # }
//! ```
//!
//! `stack.protect(router)` (feature `axum`) is `router.route_layer(stack)`:
//! the contract matches the route template axum matched, and a request that
//! reaches it without one (a layer around the router, `nest_service`,
//! `fallback_service`) is refused with 500 `layers_misconfigured`.
//!
//! # gRPC (tonic)
//!
//! The layers wrap tonic services as they are: `stack.named_layer(GreeterServer::new(..))`
//! (`tonic::service::LayerExt`) is added to a tonic server like the service
//! itself. A gRPC request (`content-type: application/grpc...`) is refused with
//! a gRPC answer (trailers-only, `grpc-status` 16 `UNAUTHENTICATED`, 7
//! `PERMISSION_DENIED`, 14 `UNAVAILABLE`, ...), rendered by the same
//! [`Denial`](rampgate_core::Denial) as the HTTP answers, and the contract
//! decides the gRPC methods it lists on their exact path, `/pkg.Service/Method`
//! or `/pkg.Service/*` (see [`contract`]), whatever the request's method and
//! `content-type`: such a method called without gRPC is refused with 415
//! `grpc_required` before it runs. The response body must implement
//! [`DenialResponseBody`](rampgate_core::DenialResponseBody) (tonic's and
//! axum's do). `JwtInterceptor` (feature `tonic`) is the JWT check as a
//! tonic interceptor.
//!
//! The layers stay available one by one. With `tower::ServiceBuilder` the
//! first added runs first; with axum's `route_layer` (or `layer`) the **last**
//! added runs first:
//!
//! ```text
//! ServiceBuilder::new().layer(jwt).layer(contract).layer(step_up)
//! router.route_layer(step_up).route_layer(contract).route_layer(jwt)
//! ```
//!
//! A layer that runs before what it needs never lets the request through: it
//! answers 500 with reason `layers_misconfigured` and a description of the
//! missing layer, from the first request on.
#![cfg_attr(docsrs, feature(doc_cfg))]

/// `get_ref`, `get_mut` and `into_inner` for a service whose wrapped service is
/// the field `inner` (the accessors every tower-http service has).
macro_rules! define_inner_service_accessors {
    () => {
        /// Gets a reference to the underlying service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// Gets a mutable reference to the underlying service.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Consumes `self`, returning the underlying service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}

/// Where RFC 9728 metadata is served, before the resource's path (§3.1).
#[cfg(any(feature = "axum", feature = "mcp"))]
pub(crate) const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

#[cfg(feature = "axum")]
pub mod admin;
pub mod audit;
pub mod contract;
#[cfg(feature = "axum")]
pub mod forwarded;
mod gate;
mod grpc;
#[cfg(feature = "tonic")]
mod interceptor;
pub mod jwt;
#[cfg(test)]
mod matrix;
#[cfg_attr(not(feature = "mcp"), allow(unreachable_pub))]
pub mod mcp;
#[cfg(feature = "axum")]
pub mod metadata;
pub mod scope;
pub mod stack;
pub mod stepup;
#[cfg(test)]
mod tests;
#[cfg(feature = "tls")]
pub mod tls;

pub use audit::{Audit, AuditLayer};
pub use contract::{ContractGate, ContractLayer};
#[cfg(feature = "axum")]
pub use forwarded::{ForwardedCert, ForwardedCertLayer};
pub use gate::{Authorize, Gate, GateFuture, Passed, Refused, StepUpPassed};
#[cfg(feature = "tonic")]
pub use interceptor::JwtInterceptor;
pub use jwt::{Jwt, JwtLayer};
#[cfg(feature = "mcp")]
pub use mcp::{McpGuard, McpGuardLayer, McpLayer, McpResource};
pub use scope::{Scope, ScopeLayer};
pub use stack::AuthStack;
pub use stepup::{StepUp, StepUpLayer};
