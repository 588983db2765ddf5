//! What the authorization layers after `JwtLayer` share: finding the verified
//! principal, and a future that is either the inner service's or a refusal.

use bytes::Bytes;
use http::{Extensions, HeaderMap, Response, StatusCode};
use pin_project_lite::pin_project;
use rampgate_core::contract::Decision;
use rampgate_core::{Anonymous, Denial, DenialResponseBody, Principal};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

/// In the extensions of a 500 `layers_misconfigured` answer: what is wrong
/// with the layering, for the middleware around the layers (the
/// `AuditLayer` records it with that reason).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Misconfigured(pub &'static str);

/// Why there is no principal to authorize.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// An anonymous request on a route where the token is optional, or a denial:
    /// the answer to give.
    Challenge(Box<Denial>),
    /// No `JwtLayer` ran before this layer: a server-side mistake.
    MissingJwtLayer,
    /// Another layering mistake, described.
    Misconfigured(&'static str),
}

/// The verified principal, or why there is none.
pub(crate) fn principal_or_refusal(extensions: &Extensions) -> Result<&Principal, Refusal> {
    if let Some(principal) = extensions.get::<Principal>() {
        return Ok(principal);
    }
    match extensions.get::<Anonymous>() {
        Some(Anonymous(challenge)) => Err(Refusal::Challenge(Box::new(challenge.clone()))),
        None => Err(Refusal::MissingJwtLayer),
    }
}

pin_project! {
    /// Response future of the authorization layers: the inner service's answer,
    /// or a refusal that never reached it.
    pub struct GateFuture<F> {
        #[pin]
        state: GateState<F>,
        // The contract's decision, for the response's extensions.
        decision: Option<Arc<Decision>>,
    }
}

pin_project! {
    #[project = GateStateProj]
    enum GateState<F> {
        Inner { #[pin] future: F },
        Refused { refusal: Option<Refusal>, grpc: bool },
    }
}

impl<F> GateFuture<F> {
    pub(crate) fn inner(future: F) -> Self {
        GateFuture {
            state: GateState::Inner { future },
            decision: None,
        }
    }

    /// Puts `decision` in the response's extensions, whatever the answer.
    pub(crate) fn with_decision(mut self, decision: Arc<Decision>) -> Self {
        self.decision = Some(decision);
        self
    }

    /// A denial, answered in the protocol it was rendered for.
    pub(crate) fn denied(denial: Denial) -> Self {
        tracing::debug!(reason = denial.reason().as_str(), "request denied");
        let grpc = denial.is_grpc();
        GateFuture {
            state: GateState::Refused {
                refusal: Some(Refusal::Challenge(Box::new(denial))),
                grpc,
            },
            decision: None,
        }
    }

    /// A refusal of the request with these `headers`, answered over gRPC
    /// when the request is gRPC.
    pub(crate) fn refused(refusal: Refusal, headers: &HeaderMap) -> Self {
        GateFuture {
            state: GateState::Refused {
                refusal: Some(refusal),
                grpc: rampgate_core::grpc::is_grpc(headers),
            },
            decision: None,
        }
    }
}

impl<F, ResBody, E> Future for GateFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: DenialResponseBody,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.state.project() {
            GateStateProj::Inner { future } => ready!(future.poll(cx)),
            GateStateProj::Refused { refusal, grpc } => {
                let refusal = refusal.take().expect("GateFuture polled after completion");
                Ok(match refusal {
                    Refusal::Challenge(denial) => (*denial).grpc(*grpc).into_response(),
                    Refusal::MissingJwtLayer => {
                        misconfigured("this layer needs JwtLayer to run before it", *grpc)
                    }
                    Refusal::Misconfigured(what) => misconfigured(what, *grpc),
                })
            }
        };
        Poll::Ready(result.map(|mut response| {
            if let Some(decision) = this.decision.take() {
                response.extensions_mut().insert(decision);
            }
            response
        }))
    }
}

/// The answer to a request the layers cannot decide: 500 over HTTP,
/// `INTERNAL` over gRPC, with reason `layers_misconfigured`.
pub(crate) fn misconfigured<B: DenialResponseBody>(what: &'static str, grpc: bool) -> Response<B> {
    tracing::error!(
        problem = what,
        "authorization layers are misconfigured: refusing the request"
    );
    if grpc {
        let mut response: Response<B> = crate::grpc::internal(what);
        response.extensions_mut().insert(Misconfigured(what));
        return response;
    }
    let body = serde_json::json!({
        "error": "server_error",
        "reason": "layers_misconfigured",
        "description": what,
    });
    let mut response = Response::new(B::from_bytes(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response.extensions_mut().insert(Misconfigured(what));
    response
}
