//! `StepUpLayer`: sensitive routes demand a stronger or fresher authentication.
//!
//! A token that is valid and has the scopes, but whose `acr`, `amr` or
//! `auth_time` falls short, gets the RFC 9470 challenge: 401 with
//! `WWW-Authenticate: Bearer error="insufficient_user_authentication",
//! error_description="...", acr_values="...", max_age="N"` and a JSON body with
//! the same facts. The handler never runs.

use crate::gate::{GateFuture, Refusal, principal_or_refusal};
use bytes::Bytes;
use http::{Request, Response};
use rampgate_core::contract::Decision;
use rampgate_core::{DenialOptions, StepUpPolicy};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

#[derive(Debug, Clone)]
enum Source {
    Policy(Arc<StepUpPolicy>),
    Contract,
}

/// Requires a strong or fresh enough user authentication.
///
/// ```
/// use rampgate_core::StepUpPolicy;
/// use rampgate_tower::StepUpLayer;
/// use std::time::Duration;
///
/// // In code, for one route:
/// let approve = StepUpLayer::new(
///     StepUpPolicy::default()
///         .acr_values(["mfa"])
///         .acr_hierarchy(["pwd", "mfa", "hwk"])
///         .max_age(Duration::from_secs(300)),
/// );
/// # let _ = approve;
/// ```
///
/// Or for every route of a router, from the contract: routes whose `trust` is a
/// level defined under `[trust]` get that level's policy; `standard` routes are
/// not affected. Apply it inside `ContractLayer`: the level comes from its
/// decision, so both layers always use the same contract version.
#[derive(Debug, Clone)]
#[must_use]
pub struct StepUpLayer {
    source: Source,
}

impl StepUpLayer {
    /// Applies `policy` to every request.
    pub fn new(policy: StepUpPolicy) -> Self {
        StepUpLayer {
            source: Source::Policy(Arc::new(policy)),
        }
    }

    /// Applies the trust level of each request's contract route, as decided by
    /// `ContractLayer` (which must run before it).
    pub fn from_contract() -> Self {
        StepUpLayer {
            source: Source::Contract,
        }
    }
}

impl<S> Layer<S> for StepUpLayer {
    type Service = StepUp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        StepUp {
            inner,
            source: self.source.clone(),
        }
    }
}

/// The service made by [`StepUpLayer`].
#[derive(Debug, Clone)]
pub struct StepUp<S> {
    inner: S,
    source: Source,
}

impl<S> StepUp<S> {
    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for StepUp<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = GateFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let extensions = req.extensions();
        let principal = match principal_or_refusal(extensions) {
            Ok(principal) => principal,
            Err(refusal) => return GateFuture::refused(refusal),
        };
        let policy = match &self.source {
            Source::Policy(policy) => Some(policy.as_ref()),
            Source::Contract => {
                let Some(decision) = extensions.get::<Decision>() else {
                    return GateFuture::refused(Refusal::Misconfigured(
                        "StepUpLayer::from_contract needs ContractLayer to run before it",
                    ));
                };
                decision.step_up.as_deref()
            }
        };
        match policy.map(|p| p.check(principal)) {
            None | Some(Ok(())) => GateFuture::inner(self.inner.call(req)),
            Some(Err(failure)) => {
                GateFuture::denied(DenialOptions::deny_in(extensions, &failure.into_error()))
            }
        }
    }
}
