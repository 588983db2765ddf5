//! `ScopeLayer`: the route needs these scopes from the verified token.
//!
//! Runs after [`JwtLayer`](crate::JwtLayer), which puts the
//! [`Principal`] in the request extensions. A token without the scopes gets 403
//! with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`
//! (RFC 6750 §3.1) and the inner service never runs.

use crate::gate::{GateFuture, principal_or_refusal};
use bytes::Bytes;
use http::{Request, Response};
use rampgate_core::contract::Inventory;
use rampgate_core::{DenialOptions, ErrorKind, Requirement};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Requires scopes of the verified token: all of a set, or any one of a set.
///
/// ```
/// use rampgate_tower::ScopeLayer;
///
/// let read = ScopeLayer::all(["profile:read"]);
/// let admin_or_support = ScopeLayer::any(["admin", "support"]);
/// # let _ = (read, admin_or_support);
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ScopeLayer {
    requirement: Arc<Requirement>,
}

impl ScopeLayer {
    /// The token must carry every one of `scopes`.
    pub fn all<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeLayer::new(Requirement::all(scopes))
    }

    /// The token must carry at least one of `scopes`.
    pub fn any<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeLayer::new(Requirement::any(scopes))
    }

    /// The token must meet `requirement` (all of some scopes and one of others).
    pub fn new(requirement: Requirement) -> Self {
        ScopeLayer {
            requirement: Arc::new(requirement),
        }
    }

    /// The requirement this layer enforces.
    pub fn requirement(&self) -> &Requirement {
        &self.requirement
    }

    /// Records this requirement for `method path` in `inventory`, so the app can
    /// list what its code declares (`rampgate contract routes`).
    #[must_use = "record returns the layer, which still has to be applied"]
    pub fn record(self, inventory: &mut Inventory, method: &str, path: &str) -> Self {
        *inventory = std::mem::take(inventory).require(method, path, &self.requirement);
        self
    }
}

impl<S> Layer<S> for ScopeLayer {
    type Service = Scope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Scope {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`ScopeLayer`].
#[derive(Debug, Clone)]
pub struct Scope<S> {
    inner: S,
    layer: ScopeLayer,
}

impl<S> Scope<S> {
    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Scope<S>
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
        match self.layer.requirement.check(principal.scopes()) {
            Ok(()) => GateFuture::inner(self.inner.call(req)),
            Err(unmet) => {
                let error = ErrorKind::InsufficientScope {
                    required: unmet.scope,
                    one_of: unmet.one_of,
                };
                GateFuture::denied(DenialOptions::deny_in(extensions, &error.into()))
            }
        }
    }
}
