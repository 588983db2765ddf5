//! What the authorization layers after `JwtLayer` share: finding the verified
//! principal, and a future that is either the inner service's or a refusal.

use http::{Extensions, HeaderMap, Response};
use pin_project_lite::pin_project;
use rampgate_core::contract::Decision;
use rampgate_core::{Anonymous, Denial, DenialOptions, DenialResponseBody, ErrorKind, Principal};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

/// In the extensions of an answer whose request passed a step-up check (a
/// `StepUpLayer`'s policy, or the trust level of its contract route): the
/// `AuditLayer` records `step_up: "passed"` only then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepUpPassed;

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

/// The description of a layer that found no `JwtLayer` before it.
pub(crate) const NO_JWT_LAYER: &str = "this layer needs JwtLayer to run before it";

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

/// The 500 (gRPC `INTERNAL`) `layers_misconfigured` denial: `what` says what
/// to fix. Rendered like every other refusal, in the request's protocol.
pub(crate) fn misconfigured(what: &'static str, headers: &HeaderMap) -> Denial {
    tracing::error!(
        problem = what,
        "authorization layers are misconfigured: refusing the request"
    );
    DenialOptions::default()
        .for_request(headers)
        .deny(&ErrorKind::LayersMisconfigured(what).into())
}

pin_project! {
    /// Response future of the authorization layers: the inner service's answer,
    /// or a refusal that never reached it.
    pub struct GateFuture<F> {
        #[pin]
        state: GateState<F>,
        // The contract's decision, for the response's extensions.
        decision: Option<Arc<Decision>>,
        // Whether a step-up check passed, for the response's extensions.
        step_up_passed: bool,
    }
}

pin_project! {
    #[project = GateStateProj]
    enum GateState<F> {
        Inner { #[pin] future: F },
        Refused { denial: Option<Box<Denial>> },
    }
}

impl<F> GateFuture<F> {
    pub(crate) fn inner(future: F) -> Self {
        GateFuture {
            state: GateState::Inner { future },
            decision: None,
            step_up_passed: false,
        }
    }

    /// Puts `decision` in the response's extensions, whatever the answer.
    pub(crate) fn with_decision(mut self, decision: Arc<Decision>) -> Self {
        self.decision = Some(decision);
        self
    }

    /// Marks the answer [`StepUpPassed`].
    pub(crate) fn with_step_up_passed(mut self) -> Self {
        self.step_up_passed = true;
        self
    }

    /// A denial, answered in the protocol it was rendered for.
    pub(crate) fn denied(denial: Denial) -> Self {
        tracing::debug!(reason = denial.reason().as_str(), "request denied");
        GateFuture {
            state: GateState::Refused {
                denial: Some(Box::new(denial)),
            },
            decision: None,
            step_up_passed: false,
        }
    }

    /// A refusal of the request with these `headers`, answered over gRPC
    /// when the request is gRPC.
    pub(crate) fn refused(refusal: Refusal, headers: &HeaderMap) -> Self {
        let denial = match refusal {
            Refusal::Challenge(denial) => (*denial).grpc(rampgate_core::grpc::is_grpc(headers)),
            Refusal::MissingJwtLayer => misconfigured(NO_JWT_LAYER, headers),
            Refusal::Misconfigured(what) => misconfigured(what, headers),
        };
        GateFuture::denied(denial)
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
            GateStateProj::Refused { denial } => {
                let denial = denial.take().expect("GateFuture polled after completion");
                Ok(denial.into_response())
            }
        };
        Poll::Ready(result.map(|mut response| {
            if let Some(decision) = this.decision.take() {
                response.extensions_mut().insert(decision);
            }
            if *this.step_up_passed {
                response.extensions_mut().insert(StepUpPassed);
            }
            response
        }))
    }
}
