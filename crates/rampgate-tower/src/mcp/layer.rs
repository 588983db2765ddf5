//! `McpLayer`: reads the JSON-RPC message of each request of the MCP
//! endpoint, for the contract's gate to decide on.

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{Method, Request};
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use rampgate_core::contract::{
    ContractHandle, DEFAULT_MAX_BODY_BYTES, McpBodyError, McpCall, McpRead,
};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// A tower [`Layer`] that reads the body of every `POST` to the contract's
/// `[mcp] endpoint` that has an `Authorization` header (up to a limit,
/// [`DEFAULT_MAX_BODY_BYTES`] unless set) and leaves its JSON-RPC method
/// and target in the request's extensions ([`McpRead`]) for
/// [`ContractLayer`](crate::ContractLayer), which decides on them per tool,
/// prompt or resource. The body is handed on intact. A `GET` (the server's
/// stream) or `DELETE` (the end of a session) of the endpoint needs only a
/// valid token; other paths pass untouched.
///
/// It decides nothing itself: a malformed body, a batch or a body over the
/// limit is refused by the contract's gate (400 `request_malformed`), after
/// `JwtLayer`, so that a request without a token gets its 401 first and every
/// refusal has its audit event. Add it outside the other layers, on the
/// endpoint's route (in axum, the last `route_layer`), with
/// [`McpGuard`](crate::McpGuard) around the server itself:
///
/// ```no_run
/// # async fn run(contract: rampgate_core::contract::ContractHandle, verifier: rampgate_core::Verifier, mcp: axum::routing::MethodRouter) {
/// use rampgate_tower::{AuthStack, McpGuard, McpLayer};
///
/// let app: axum::Router = axum::Router::new()
///     .route_service("/mcp", McpGuard::new(mcp))
///     .route_layer(AuthStack::new(verifier).contract(contract.clone()))
///     .route_layer(McpLayer::new(contract)); // runs first
/// # }
/// ```
///
/// A `POST` without an `Authorization` header (where MCP clients send their
/// token) is passed on unread: `JwtLayer` answers 401, and a token taken
/// from elsewhere gets 400 `request_malformed` from the contract's gate. A
/// request with the header is read before its token is verified, so put a
/// timeout in front of the whole stack for a client that sends its body
/// slowly (tower-http's `TimeoutLayer`, or the server's own).
///
/// The request body type must be rebuildable from the bytes read
/// (`From<Bytes>`), as axum's `Body` and `Full<Bytes>` are.
#[derive(Debug, Clone)]
#[must_use]
pub struct McpLayer {
    contract: ContractHandle,
    max_body_bytes: usize,
}

impl McpLayer {
    /// Reads the requests of `contract`'s `[mcp] endpoint` (reloads included).
    pub fn new(contract: ContractHandle) -> Self {
        McpLayer {
            contract,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
        }
    }

    /// The largest body read. Defaults to [`DEFAULT_MAX_BODY_BYTES`] (1 MiB);
    /// a longer one is refused (400 `request_malformed`) before the server
    /// sees it.
    pub fn max_body_bytes(mut self, max: usize) -> Self {
        self.max_body_bytes = max;
        self
    }
}

impl<S> Layer<S> for McpLayer {
    type Service = Mcp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Mcp {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`McpLayer`].
#[derive(Debug, Clone)]
pub struct Mcp<S> {
    inner: S,
    layer: McpLayer,
}

impl<S> Mcp<S> {
    define_inner_service_accessors!();
}

/// The response future of [`Mcp`].
pub type McpFuture<R, E> = Pin<Box<dyn Future<Output = Result<R, E>> + Send>>;

impl<S, B> Service<Request<B>> for Mcp<S>
where
    S: Service<Request<B>> + Clone + Send + 'static,
    S::Future: Send,
    B: Body + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = McpFuture<S::Response, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        let contract = self.layer.contract.current();
        let at_endpoint = contract
            .mcp_endpoint()
            .is_some_and(|endpoint| endpoint == path_of(&req));
        if !at_endpoint {
            return Box::pin(self.inner.call(req));
        }
        if req.method() != Method::POST {
            let call = McpCall::session(req.method().as_str());
            req.extensions_mut().insert(McpRead(Ok(call)));
            return Box::pin(self.inner.call(req));
        }
        if !req.headers().contains_key(AUTHORIZATION) {
            // Nothing is buffered for a request without a token: JwtLayer
            // answers 401, or, for a token it took from elsewhere (a query,
            // a cookie), the contract's gate refuses what was not read.
            req.extensions_mut()
                .insert(McpRead(Err(McpBodyError::Unread)));
            return Box::pin(self.inner.call(req));
        }
        // The clone that was not driven to readiness stays here; the ready
        // one goes into the future.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let max = self.layer.max_body_bytes;
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let (read, bytes) = read_body(body, max).await;
            parts.extensions.insert(McpRead(read));
            inner.call(Request::from_parts(parts, B::from(bytes))).await
        })
    }
}

/// The route a request is on: axum's matched template when there is one,
/// else its path (as the contract's gate matches it).
fn path_of<B>(req: &Request<B>) -> &str {
    crate::contract::matched_template(req).unwrap_or_else(|| req.uri().path())
}

/// The body's bytes and the call they make, or why they make none (with
/// what was read, empty past the limit).
async fn read_body<B>(body: B, max: usize) -> (Result<McpCall, McpBodyError>, Bytes)
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    match Limited::new(body, max).collect().await {
        Ok(collected) => {
            let bytes = collected.to_bytes();
            (McpCall::parse(&bytes), bytes)
        }
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => {
            (Err(McpBodyError::TooLarge), Bytes::new())
        }
        Err(_) => (
            Err(McpBodyError::Malformed(
                "the MCP request body could not be read",
            )),
            Bytes::new(),
        ),
    }
}
