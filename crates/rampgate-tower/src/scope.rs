//! `ScopeLayer`: the route needs these scopes from the verified token.
//!
//! Runs after [`JwtLayer`](crate::JwtLayer), which puts the
//! [`Principal`](rampgate_core::Principal) in the request extensions. A token without the scopes gets 403
//! with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`
//! (RFC 6750 §3.1) and the inner service never runs.

use crate::gate::{Authorize, Gate, Passed, Refused, principal};
use http::Request;
use rampgate_core::contract::Inventory;
use rampgate_core::{DenialOptions, ErrorKind, Requirement};
use std::sync::Arc;
use tower_layer::Layer;

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
        Gate::new(inner, self.clone())
    }
}

/// The service made by [`ScopeLayer`].
pub type Scope<S> = Gate<S, ScopeLayer>;

impl Authorize for ScopeLayer {
    fn authorize<B>(&self, req: &mut Request<B>) -> Result<Passed, Refused> {
        let principal = principal(req)?;
        self.requirement
            .check(principal.scopes())
            .map_err(|unmet| {
                let error = ErrorKind::InsufficientScope {
                    required: unmet.scope,
                    one_of: unmet.one_of,
                };
                Refused::new(DenialOptions::deny_in(req.extensions(), &error.into()))
            })?;
        Ok(Passed::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::JwtLayer;
    use crate::tests::{
        Seen, as_principal, assert_misconfigured, body, challenge, issuer, plain, reason, run,
    };
    use serde_json::json;

    #[tokio::test]
    async fn all_passes_with_every_scope() {
        let seen = Seen::default();
        let layer = ScopeLayer::all(["items:read", "items:write"]);
        let req = as_principal("GET", "/", json!({"scope": "items:write items:read extra"}));
        let response = run(&layer, &seen, req).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
    }

    #[tokio::test]
    async fn all_refuses_a_missing_scope_with_403_naming_the_scopes() {
        // conformance: 6750-10
        let seen = Seen::default();
        let layer = ScopeLayer::all(["items:read", "items:write"]);
        let req = as_principal("GET", "/", json!({"scope": "items:read"}));
        let response = run(&layer, &seen, req).await;
        assert_eq!(response.status(), 403);
        assert_eq!(reason(&response), "scope_insufficient");
        assert_eq!(body(&response)["error"], "insufficient_scope");
        assert!(
            challenge(&response).ends_with(r#"scope="items:read items:write""#),
            "{}",
            challenge(&response)
        );
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn any_passes_with_one_scope() {
        let seen = Seen::default();
        let layer = ScopeLayer::any(["admin", "support"]);
        let req = as_principal("GET", "/", json!({"scp": ["support"]}));
        assert_eq!(run(&layer, &seen, req).await.status(), 200);
        assert_eq!(seen.calls(), 1);
    }

    #[tokio::test]
    async fn any_refuses_none_of_them() {
        let seen = Seen::default();
        let layer = ScopeLayer::any(["admin", "support"]);
        let req = as_principal("GET", "/", json!({"scope": "items:read"}));
        let response = run(&layer, &seen, req).await;
        assert_eq!(response.status(), 403);
        assert_eq!(reason(&response), "scope_insufficient");
        assert_eq!(body(&response)["scope"], "admin support");
        assert!(challenge(&response).contains(r#"scope="admin support""#));
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn without_jwt_layer_it_is_a_server_error() {
        let seen = Seen::default();
        let response = run(&ScopeLayer::all(["a"]), &seen, plain("GET", "/")).await;
        assert_misconfigured(&response, &seen, "JwtLayer");
    }

    #[tokio::test]
    async fn anonymous_request_gets_the_no_token_challenge() {
        let (_, verifier) = issuer().await;
        let seen = Seen::default();
        let stack = tower::ServiceBuilder::new()
            .layer(JwtLayer::new(verifier).optional().realm("api"))
            .layer(ScopeLayer::all(["items:read"]));
        let response = run(&stack, &seen, plain("GET", "/")).await;
        assert_eq!(response.status(), 401);
        assert_eq!(reason(&response), "token_missing");
        assert_eq!(challenge(&response), r#"Bearer realm="api""#);
        assert_eq!(seen.calls(), 0);
    }

    #[test]
    fn record_declares_the_requirement_in_the_inventory() {
        let mut inventory = Inventory::default();
        let layer = ScopeLayer::any(["admin", "support"]).record(&mut inventory, "GET", "/x");
        assert_eq!(layer.requirement(), &Requirement::any(["admin", "support"]));
        assert!(
            inventory.to_json().contains("/x"),
            "{}",
            inventory.to_json()
        );
    }
}
