//! What the authorization layers after `JwtLayer` share: one service,
//! [`Gate`], around what each of them decides ([`Authorize`]), finding the
//! verified principal, and a future that is either the inner service's or a
//! refusal.

use http::{Extensions, HeaderMap, Request, Response};
use pin_project_lite::pin_project;
use rampgate_core::contract::Decision;
use rampgate_core::{
    Anonymous, Denial, DenialOptions, DenialResponseBody, ErrorKind, Principal, Protocol,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tower_service::Service;

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

/// A request a gate lets through, and what it learned about it for the
/// middleware around (the answer's extensions).
#[derive(Debug, Default)]
#[must_use]
pub struct Passed {
    decision: Option<Arc<Decision>>,
    step_up_passed: bool,
}

impl Passed {
    /// Let through, with nothing to tell.
    pub fn new() -> Self {
        Passed::default()
    }

    /// The contract's decision, put in the answer's extensions.
    pub fn decision(mut self, decision: Arc<Decision>) -> Self {
        self.decision = Some(decision);
        self
    }

    /// A step-up check passed: the answer carries [`StepUpPassed`].
    pub fn step_up_passed(mut self) -> Self {
        self.step_up_passed = true;
        self
    }
}

/// A request a gate refuses: the denial to answer with, and the contract's
/// decision when one was made (for the answer's extensions).
#[derive(Debug)]
pub struct Refused {
    denial: Box<Denial>,
    decision: Option<Arc<Decision>>,
}

impl Refused {
    /// Refused with `denial`.
    pub fn new(denial: Denial) -> Self {
        Refused {
            denial: Box::new(denial),
            decision: None,
        }
    }

    /// The contract's decision, put in the answer's extensions.
    pub fn decision(mut self, decision: Arc<Decision>) -> Self {
        self.decision = Some(decision);
        self
    }

    /// The denial this refusal answers with (for tests).
    #[cfg(test)]
    pub(crate) fn into_denial(self) -> Denial {
        *self.denial
    }

    /// The refusal a `Refusal` of the request with these `headers` answers
    /// with, over gRPC when the request is gRPC.
    pub(crate) fn of(refusal: Refusal, headers: &HeaderMap) -> Self {
        Refused::new(match refusal {
            Refusal::Challenge(denial) => (*denial).in_protocol(Protocol::of(headers)),
            Refusal::MissingJwtLayer => misconfigured(NO_JWT_LAYER, headers),
            Refusal::Misconfigured(what) => misconfigured(what, headers),
        })
    }
}

/// The verified principal of `req`, or the refusal of a request without one.
pub(crate) fn principal<B>(req: &Request<B>) -> Result<&Principal, Refused> {
    principal_or_refusal(req.extensions()).map_err(|r| Refused::of(r, req.headers()))
}

/// What an authorization layer decides, the one thing [`ScopeLayer`],
/// [`StepUpLayer`] and [`ContractLayer`] differ in: whether a request, with
/// the principal `JwtLayer` left in its extensions, may reach the inner
/// service. [`Gate`] is the service around it, in the manner of
/// tower-http's `ValidateRequest`.
///
/// [`ScopeLayer`]: crate::ScopeLayer
/// [`StepUpLayer`]: crate::StepUpLayer
/// [`ContractLayer`]: crate::ContractLayer
pub trait Authorize {
    /// Lets `request` through (it may add to its extensions for the handler),
    /// or refuses it; the inner service runs only on `Ok`.
    fn authorize<B>(&self, request: &mut Request<B>) -> Result<Passed, Refused>;
}

/// The service of every authorization layer: asks `A` about each request,
/// and calls the inner service only for one it lets through.
#[derive(Debug, Clone)]
pub struct Gate<S, A> {
    inner: S,
    authorize: A,
}

impl<S, A> Gate<S, A> {
    /// `inner`, behind `authorize`.
    pub fn new(inner: S, authorize: A) -> Self {
        Gate { inner, authorize }
    }

    /// What this gate decides with.
    pub fn authorizer(&self) -> &A {
        &self.authorize
    }

    define_inner_service_accessors!();
}

impl<S, A, ReqBody, ResBody> Service<Request<ReqBody>> for Gate<S, A>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    A: Authorize,
    ResBody: DenialResponseBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        match self.authorize.authorize(&mut req) {
            Ok(passed) => GateFuture {
                state: GateState::Inner {
                    future: self.inner.call(req),
                },
                passed,
            },
            Err(refused) => {
                tracing::debug!(reason = refused.denial.reason().as_str(), "request denied");
                GateFuture {
                    passed: Passed {
                        decision: refused.decision,
                        step_up_passed: false,
                    },
                    state: GateState::Refused {
                        denial: Some(refused.denial),
                    },
                }
            }
        }
    }
}

pin_project! {
    /// Response future of the authorization layers: the inner service's answer,
    /// or a refusal that never reached it.
    pub struct GateFuture<F> {
        #[pin]
        state: GateState<F>,
        // What goes in the answer's extensions.
        passed: Passed,
    }
}

pin_project! {
    #[project = GateStateProj]
    enum GateState<F> {
        Inner { #[pin] future: F },
        Refused { denial: Option<Box<Denial>> },
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
            if let Some(decision) = this.passed.decision.take() {
                response.extensions_mut().insert(decision);
            }
            if this.passed.step_up_passed {
                response.extensions_mut().insert(StepUpPassed);
            }
            response
        }))
    }
}
