//! `ContractLayer`: the ramp contract decides every request.
//!
//! Applied once on a router (after [`JwtLayer`](crate::JwtLayer)), it finds the
//! matched route (axum's `MatchedPath` with the `axum` feature, otherwise the
//! request path, which is what gRPC paths are), asks the contract in force for a
//! [`Decision`], puts the decision in the request extensions for audit, and
//! answers 403 `insufficient_scope` for a denial. Observed routes let a would-be
//! denial through and record it.

use crate::gate::{GateFuture, Refusal, principal_or_refusal};
use bytes::Bytes;
use http::{Request, Response};
use rampgate_core::DenialOptions;
use rampgate_core::contract::{ContractHandle, Outcome};
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
/// contract.watch(std::time::Duration::from_secs(5)); // hot reload
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

fn route_template<B>(req: &Request<B>) -> &str {
    #[cfg(feature = "axum")]
    if let Some(matched) = req.extensions().get::<axum::extract::MatchedPath>() {
        return matched.as_str();
    }
    req.uri().path()
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ContractGate<S>
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

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let decision = {
            let principal = match principal_or_refusal(req.extensions()) {
                Ok(principal) => principal,
                Err(refusal) => return GateFuture::refused(refusal),
            };
            let contract = self.contract.current();
            contract.decide(req.method().as_str(), Some(route_template(&req)), principal)
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
                    return GateFuture::refused(Refusal::Misconfigured(
                        "the contract denied without a denial reason",
                    ));
                };
                return GateFuture::denied(DenialOptions::deny_in(req.extensions(), &error));
            }
        }
        req.extensions_mut().insert(decision);
        GateFuture::inner(self.inner.call(req))
    }
}
