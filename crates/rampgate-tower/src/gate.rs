//! What the authorization layers after `JwtLayer` share: finding the verified
//! principal, and a future that is either the inner service's or a refusal.

use bytes::Bytes;
use http::{Extensions, Response, StatusCode};
use pin_project_lite::pin_project;
use rampgate_core::contract::Decision;
use rampgate_core::{Anonymous, Denial, Principal};
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
        Refused { refusal: Option<Refusal> },
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

    pub(crate) fn denied(denial: Denial) -> Self {
        tracing::debug!(reason = denial.reason().as_str(), "request denied");
        Self::refused(Refusal::Challenge(Box::new(denial)))
    }

    pub(crate) fn refused(refusal: Refusal) -> Self {
        GateFuture {
            state: GateState::Refused {
                refusal: Some(refusal),
            },
            decision: None,
        }
    }
}

impl<F, ResBody, E> Future for GateFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let result = match this.state.project() {
            GateStateProj::Inner { future } => ready!(future.poll(cx)),
            GateStateProj::Refused { refusal } => {
                let refusal = refusal.take().expect("GateFuture polled after completion");
                Ok(match refusal {
                    Refusal::Challenge(denial) => (*denial).into_response(),
                    Refusal::MissingJwtLayer => {
                        misconfigured("this layer needs JwtLayer to run before it")
                    }
                    Refusal::Misconfigured(what) => misconfigured(what),
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

fn misconfigured<B: From<Bytes>>(what: &'static str) -> Response<B> {
    tracing::error!(
        problem = what,
        "authorization layers are misconfigured: refusing the request"
    );
    let body = serde_json::json!({
        "error": "server_error",
        "reason": "layers_misconfigured",
        "description": what,
    });
    let mut response = Response::new(B::from(Bytes::from(body.to_string())));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response.extensions_mut().insert(Misconfigured(what));
    response
}
