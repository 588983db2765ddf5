//! `ScopeLayer`: the route needs these scopes from the verified token.
//!
//! Runs after [`JwtLayer`](crate::JwtLayer), which puts the
//! [`Principal`] in the request extensions. A token without the scopes gets 403
//! with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`
//! (RFC 6750 §3.1) and the inner service never runs.

use crate::gate::{GateFuture, principal_or_refusal};
use bytes::Bytes;
use http::{Request, Response};
use rampgate_core::{DenialOptions, ErrorKind, Principal};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    All,
    Any,
}

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
pub struct ScopeLayer {
    scopes: Arc<[String]>,
    mode: Mode,
}

impl ScopeLayer {
    /// The token must carry every one of `scopes`.
    pub fn all<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeLayer {
            scopes: scopes.into_iter().map(Into::into).collect(),
            mode: Mode::All,
        }
    }

    /// The token must carry at least one of `scopes`.
    pub fn any<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeLayer {
            scopes: scopes.into_iter().map(Into::into).collect(),
            mode: Mode::Any,
        }
    }

    /// Records this requirement for `method path` in `inventory`, so the app can
    /// list what its code declares (`rampgate contract routes`).
    pub fn record(
        self,
        inventory: &mut rampgate_core::contract::Inventory,
        method: &str,
        path: &str,
    ) -> Self {
        let (all, any): (&[String], &[String]) = match self.mode {
            Mode::All => (&self.scopes, &[]),
            Mode::Any => (&[], &self.scopes),
        };
        inventory
            .routes
            .push(rampgate_core::contract::InventoryRoute {
                method: method.to_ascii_uppercase(),
                path: path.to_owned(),
                scopes: all.to_vec(),
                any: any.to_vec(),
            });
        self
    }

    fn satisfied_by(&self, principal: &Principal) -> bool {
        match self.mode {
            Mode::All => self.scopes.iter().all(|s| principal.has_scope(s)),
            Mode::Any => self.scopes.iter().any(|s| principal.has_scope(s)),
        }
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
        if self.layer.satisfied_by(principal) {
            return GateFuture::inner(self.inner.call(req));
        }
        let denial = DenialOptions::deny_in(
            extensions,
            &ErrorKind::InsufficientScope {
                required: self.layer.scopes.join(" "),
                one_of: self.layer.mode == Mode::Any,
            }
            .into(),
        );
        GateFuture::denied(denial)
    }
}
