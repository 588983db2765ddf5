//! The response future of [`Audit`](super::Audit): records the event when the
//! answer (or an error) comes back, or when the request is dropped unanswered.

use super::{AuditFacts, REQUEST_ID, Template};
use crate::gate::StepUpPassed;
use http::{HeaderValue, Method, Response};
use pin_project_lite::pin_project;
use rampgate_core::audit::{AuditEvent, AuditOutcome, DecisionEvent, StepUpResult};
use rampgate_core::contract::{Decision, Outcome};
use rampgate_core::{Denial, EndReason, EventReason, Reason};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Instant, SystemTime};
use tracing::field::Empty;

/// A span for a `TraceLayer` (or any middleware) around the audit layer,
/// declaring the fields the audit layer records into the current span:
/// `iss`, `sub`, `client_id`, `route`, `contract_version`, `stage`,
/// `outcome`, `reason` (tracing keeps only fields a span declared when it
/// was made). With tower-http:
/// `TraceLayer::new_for_http().make_span_with(rampgate::audit::make_span)`.
/// The token is never a field; the URI is recorded without its query, where
/// a token could travel.
pub fn make_span<B>(request: &http::Request<B>) -> tracing::Span {
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = request.uri().path(),
        iss = Empty,
        sub = Empty,
        client_id = Empty,
        route = Empty,
        contract_version = Empty,
        stage = Empty,
        outcome = Empty,
        reason = Empty,
    )
}

/// The span of one request, with the decision's fields still empty.
pub(super) fn request_span(request_id: &HeaderValue, method: &Method) -> tracing::Span {
    // DEBUG: a subscriber that formats spans (tracing-subscriber's `fmt`)
    // would otherwise format these fields on every request at the INFO level
    // most services run at, which cost more than everything else the layers do.
    tracing::debug_span!(
        "rampgate.request",
        request_id = request_id.to_str().unwrap_or("-"),
        method = method.as_str(),
        iss = Empty,
        sub = Empty,
        client_id = Empty,
        route = Empty,
        contract_version = Empty,
        stage = Empty,
        outcome = Empty,
        reason = Empty,
    )
}

/// `rampgate-reason`, parsed once: a `&str` name is parsed on every lookup.
static GRPC_REASON: http::HeaderName =
    http::HeaderName::from_static(rampgate_core::GRPC_REASON_HEADER);

/// What the event needs from the request, kept until the answer.
pub(super) struct Pending {
    pub(super) facts: AuditFacts,
    pub(super) started: Instant,
    pub(super) ts: SystemTime,
    pub(super) request_id: HeaderValue,
    pub(super) method: Method,
    pub(super) template: Option<Template>,
    pub(super) client_addr: Option<SocketAddr>,
    pub(super) span: tracing::Span,
}

pin_project! {
    /// Response future of [`Audit`](super::Audit).
    pub struct AuditFuture<F, B> {
        #[pin]
        state: State<F, B>,
        pending: Option<Pending>,
    }

    impl<F, B> PinnedDrop for AuditFuture<F, B> {
        fn drop(this: Pin<&mut Self>) {
            // Dropped before the answer: the client went away, or a panic
            // unwinds through here. Still exactly one event.
            if let Some(pending) = this.project().pending.take() {
                let panicking = std::thread::panicking();
                let status = if panicking { 500 } else { 499 };
                pending.finish(status, Ending::Dropped { panicking });
            }
        }
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        Inner { #[pin] future: F },
        Unavailable { response: Option<Response<B>> },
    }
}

impl<F, B> AuditFuture<F, B> {
    pub(super) fn new(future: F, pending: Pending) -> Self {
        AuditFuture {
            state: State::Inner { future },
            pending: Some(pending),
        }
    }

    pub(super) fn unavailable(response: Response<B>) -> Self {
        AuditFuture {
            state: State::Unavailable {
                response: Some(response),
            },
            pending: None,
        }
    }
}

impl<F, B, E> Future for AuditFuture<F, B>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<B>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        match this.state.project() {
            StateProj::Unavailable { response } => {
                let response = response
                    .take()
                    .expect("AuditFuture polled after completion");
                Poll::Ready(Ok(response))
            }
            StateProj::Inner { future } => {
                let result = {
                    let _entered = this.pending.as_ref().map(|p| p.span.enter());
                    ready!(future.poll(cx))
                };
                let Some(pending) = this.pending.take() else {
                    return Poll::Ready(result);
                };
                match result {
                    Ok(mut response) => {
                        let extensions = response.extensions();
                        let denial = extensions.get::<Denial>();
                        let decision = extensions.get::<Arc<Decision>>().cloned();
                        let step_up_passed = extensions.get::<StepUpPassed>().is_some();
                        let status = response.status().as_u16();
                        // A `JwtInterceptor` refuses with a `tonic::Status`, whose
                        // response carries no `Denial`: its `rampgate-reason`
                        // header names the refusal.
                        let reason = denial.map(|d| d.reason()).or_else(|| {
                            response
                                .headers()
                                .get(&GRPC_REASON)
                                .and_then(|v| v.to_str().ok())
                                .and_then(|code| code.parse::<rampgate_core::Reason>().ok())
                        });
                        let request_id = pending.request_id.clone();
                        let ending = Ending::Answered {
                            denial: reason,
                            decision,
                            step_up_passed,
                        };
                        pending.finish(status, ending);
                        if !response.headers().contains_key(&REQUEST_ID) {
                            response.headers_mut().insert(REQUEST_ID, request_id);
                        }
                        Poll::Ready(Ok(response))
                    }
                    Err(e) => {
                        pending.finish(500, Ending::Failed);
                        Poll::Ready(Err(e))
                    }
                }
            }
        }
    }
}

/// How a request ended, as the audit layer saw it.
pub(super) enum Ending {
    /// An answer came back, carrying in its extensions the refusal's reason
    /// (a `Denial`, or a `JwtInterceptor`'s `rampgate-reason`), the
    /// contract's decision and whether a step-up check passed.
    Answered {
        denial: Option<Reason>,
        decision: Option<Arc<Decision>>,
        step_up_passed: bool,
    },
    /// The inner service failed (`Err`).
    Failed,
    /// Dropped before the answer: the client went away, or a panic unwound.
    Dropped { panicking: bool },
}

impl Pending {
    /// Builds and queues the event, and records the span's fields.
    fn finish(self, status: u16, ending: Ending) {
        let principal = self.facts.principal().cloned();
        let (outcome, reason, decision, step_up) = match ending {
            Ending::Answered {
                denial: Some(r),
                decision,
                ..
            } => {
                let step_up = r.is_step_up().then_some(StepUpResult::Failed);
                (AuditOutcome::Deny, EventReason::from(r), decision, step_up)
            }
            Ending::Answered {
                denial: None,
                decision,
                step_up_passed,
            } => {
                let step_up = step_up_passed.then_some(StepUpResult::Passed);
                let (outcome, reason) = match &decision {
                    Some(d) if d.outcome == Outcome::ObserveDeny => {
                        (AuditOutcome::ObserveDeny, d.reason.into())
                    }
                    Some(d) => (AuditOutcome::Allow, d.reason.into()),
                    None => (AuditOutcome::Allow, EventReason::Allowed),
                };
                (outcome, reason, decision, step_up)
            }
            Ending::Failed => (AuditOutcome::Allow, EventReason::Allowed, None, None),
            Ending::Dropped { panicking } => {
                let end = if panicking {
                    EndReason::HandlerPanicked
                } else {
                    EndReason::RequestCancelled
                };
                (AuditOutcome::Allow, end.into(), None, None)
            }
        };
        let mut event = DecisionEvent::new(self.ts, self.request_id, self.method);
        let route_in_decision = decision.as_ref().is_some_and(|d| d.route.is_some());
        if !route_in_decision && let Some(t) = &self.template {
            event.matched_route = Some(format!("{} {}", event.method, t.as_str()));
        }
        event.status = status;
        event.outcome = outcome;
        event.reason = reason;
        event.principal = principal;
        event.decision = decision;
        event.token_fp = self.facts.token_fp();
        if event.principal.is_none() {
            event.claimed = self.facts.claimed().cloned();
        }
        event.step_up = step_up;
        event.client_addr = self.client_addr;
        event.latency_us = u64::try_from(self.started.elapsed().as_micros()).unwrap_or(u64::MAX);
        event.verify_us = self.facts.verify_us();
        record_span(&self.span, &event);
        // And into the span around this layer (a `TraceLayer`'s, whose
        // `make_span` declared the fields: see `audit::make_span`).
        let current = tracing::Span::current();
        if current.id() != self.span.id() || self.span.is_none() {
            record_span(&current, &event);
        }
        self.facts.record(AuditEvent::Decision(event));
    }
}

/// Records the decision's fields into `span` (ignored for fields it lacks).
fn record_span(span: &tracing::Span, e: &DecisionEvent) {
    if span.is_disabled() {
        return;
    }
    let p = e.principal.as_ref();
    let d = e.decision.as_deref();
    if let Some(p) = p {
        span.record("iss", p.iss());
        if let Some(sub) = p.sub() {
            span.record("sub", sub);
        }
        if let Some(client_id) = p.client_id() {
            span.record("client_id", client_id);
        }
    }
    if let Some(route) = e.route() {
        span.record("route", route);
    }
    if let Some(d) = d {
        span.record("contract_version", d.contract_version);
        if let Some(stage) = d.stage.as_deref() {
            span.record("stage", stage);
        }
    }
    span.record("outcome", e.outcome.as_str());
    span.record("reason", e.reason.as_str());
}
