//! `McpGuard`: the MCP server itself refuses a request the contract did not
//! decide per MCP method, whatever the layers around it are.

use crate::gate::{Authorize, Gate, GateFuture, Passed, Refusal, Refused};
use http::{Request, Response};
use rampgate_core::DenialResponseBody;
use rampgate_core::contract::Decision;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// The refusal of a request that reached the MCP server without a per-tool
/// decision.
const UNDECIDED: &str = "this request reached the MCP server without the contract's decision \
    on its MCP method and tool: put JwtLayer and ContractLayer around the server, with McpLayer \
    outside them, and make the contract's [mcp] endpoint the path the router matches (under \
    Router::nest, the whole path: \"/v1/mcp\")";

/// Around the MCP server: lets a request through only when
/// [`ContractLayer`](crate::ContractLayer) decided it as an MCP request (the
/// [`Decision`] it left in the request names the MCP method, `mcp`), and
/// refuses any other with 500 `layers_misconfigured`, the server never
/// called.
///
/// Without it, a layering mistake would let every tool through with any
/// valid token, or with none: no `ContractLayer`, or a path the contract's
/// `[mcp] endpoint` does not name (a router nested under `/v1` matches
/// `/v1/mcp`, which the contract then decides as a plain HTTP route, under
/// `defaults.unknown_route`). The handshake, discovery and session requests
/// get their decision too (allowed on a valid token), so they pass.
///
/// ```no_run
/// # fn wrap<S>(rmcp_service: S) -> rampgate_tower::McpGuard<S> {
/// // axum: .route_service("/mcp", McpGuard::new(rmcp_service))
/// rampgate_tower::McpGuard::new(rmcp_service)
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct McpGuard<S> {
    gate: Gate<S, McpDecided>,
}

impl<S> McpGuard<S> {
    /// `server`, refusing what the contract did not decide per MCP method.
    pub fn new(server: S) -> Self {
        McpGuard {
            gate: Gate::new(server, McpDecided),
        }
    }

    /// The MCP server.
    pub fn get_ref(&self) -> &S {
        self.gate.get_ref()
    }
}

/// The [`Layer`] of [`McpGuard`]: apply it to the MCP server's service alone
/// (innermost), not around the authorization layers.
#[derive(Debug, Clone, Copy, Default)]
#[must_use]
pub struct McpGuardLayer;

impl<S> Layer<S> for McpGuardLayer {
    type Service = McpGuard<S>;

    fn layer(&self, inner: S) -> Self::Service {
        McpGuard::new(inner)
    }
}

/// What [`McpGuard`] checks: the contract's decision of the request, made
/// on its MCP method.
#[derive(Debug, Clone, Copy)]
pub(crate) struct McpDecided;

impl Authorize for McpDecided {
    fn authorize<B>(&self, req: &mut Request<B>) -> Result<Passed, Refused> {
        let decided = req
            .extensions()
            .get::<Arc<Decision>>()
            .is_some_and(|decision| decision.mcp.is_some());
        if decided {
            Ok(Passed::new())
        } else {
            Err(Refused::of(
                Refusal::Misconfigured(UNDECIDED),
                req.headers(),
            ))
        }
    }
}

impl<S, B, ResBody> Service<Request<B>> for McpGuard<S>
where
    S: Service<Request<B>, Response = Response<ResBody>>,
    ResBody: DenialResponseBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.gate.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        self.gate.call(req)
    }
}
