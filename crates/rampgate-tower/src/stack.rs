//! `AuthStack`: `JwtLayer`, `ContractLayer`, a `StepUpLayer` and the
//! `AuditLayer` in the one order that works, as one layer.
//!
//! Each layer reads what the one before it left in the request extensions:
//! the contract needs the principal, and an `audit = "required"` route needs
//! the audit layer's reservation. Added one by one (in axum, last added runs
//! first) they are easy to get backwards; a wrong order is refused with 500
//! `layers_misconfigured` at the first request, but `AuthStack` cannot be got
//! wrong at all. The contract's trust levels need no step-up layer: the
//! contract's gate enforces them.

use crate::{AuditLayer, ContractLayer, Jwt, JwtLayer, StepUpLayer};
use rampgate_core::contract::ContractHandle;
use rampgate_core::{StepUpPolicy, Verifier};
use tower_layer::{Identity, Layer};

/// The authorization layers in order: JWT, then the contract (which enforces
/// the routes' scopes, stages, trust levels and required audit), then a
/// step-up policy declared in code.
///
/// The type parameters say which parts are present (each is [`Identity`] until
/// set), so a stack is built only in a way that works: each part can be set
/// once.
///
/// ```
/// use rampgate_core::contract::{Contract, ContractHandle};
/// use rampgate_testkit::OfflineIssuer;
/// use rampgate_tower::AuthStack;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let issuer = OfflineIssuer::new();
/// # let verifier = issuer.verifier().await.unwrap();
/// # let contract = ContractHandle::new(Contract::parse(r#"
/// #     version = 1
/// #     [defaults]
/// #     unknown_route = "allow"
/// # "#).unwrap());
/// let stack = AuthStack::new(verifier)
///     .jwt(|jwt| jwt.realm("api"))
///     .contract(contract);
/// // In axum: `router.route_layer(stack)`, or `stack.protect(router)`.
/// # let _ = stack;
/// # }
/// ```
///
/// The third parameter is the slot of the [`AuditLayer`] ([`AuthStack::audit`]),
/// which runs outermost so that it also records the JWT layer's denials.
#[derive(Debug, Clone)]
#[must_use]
pub struct AuthStack<C = Identity, U = Identity, A = Identity> {
    jwt: JwtLayer,
    contract: C,
    step_up: U,
    audit: A,
}

impl AuthStack {
    /// A stack that verifies tokens with `verifier` (see [`JwtLayer::new`]);
    /// add the contract and step-up with the builder methods.
    pub fn new(verifier: Verifier) -> Self {
        AuthStack::from_jwt(JwtLayer::new(verifier))
    }

    /// A stack starting with this configured `JwtLayer`.
    pub fn from_jwt(jwt: JwtLayer) -> Self {
        AuthStack {
            jwt,
            contract: Identity::new(),
            step_up: Identity::new(),
            audit: Identity::new(),
        }
    }
}

impl<C, U, A> AuthStack<C, U, A> {
    /// Configures the JWT layer: `.jwt(|jwt| jwt.realm("api").optional())`.
    #[must_use = "a builder method returns the changed stack"]
    pub fn jwt(mut self, configure: impl FnOnce(JwtLayer) -> JwtLayer) -> Self {
        self.jwt = configure(self.jwt);
        self
    }

    /// The JWT layer, outermost of the three (inside the audit layer).
    pub fn jwt_layer(&self) -> &JwtLayer {
        &self.jwt
    }
}

impl<U, A: slots::AuditSlot> AuthStack<Identity, U, A> {
    /// Lets the ramp contract `contract` decide every request, after the JWT
    /// layer (see [`ContractLayer`]). An audit layer of the stack reads the
    /// routes' `audit = "required"` from it.
    pub fn contract(self, contract: ContractHandle) -> AuthStack<ContractLayer, U, A> {
        AuthStack {
            jwt: self.jwt,
            audit: self.audit.with_contract(&contract),
            contract: ContractLayer::new(contract),
            step_up: self.step_up,
        }
    }
}

impl<C: slots::ContractSlot, U> AuthStack<C, U, Identity> {
    /// Records one audit event per request with `audit`, **outermost**: it
    /// sees the JWT layer's refusals too, and answers 503
    /// `audit_unavailable` on a fail-closed route whose event cannot be queued
    /// before any other layer runs. Routes the stack's contract marks
    /// `audit = "required"` fail closed (unless `audit` has its own contract).
    /// When the stack's verifier has a revocation store, its changes are
    /// audit events too (`revocation`), with no call of your own.
    pub fn audit(self, audit: AuditLayer) -> AuthStack<C, U, AuditLayer> {
        if let Some(store) = self.jwt.verifier().revocations() {
            audit.auditor().watch_revocations(store.as_ref());
        }
        let audit = match self.contract.handle() {
            Some(handle) if !audit.has_contract() => audit.contract(handle.clone()),
            _ => audit,
        };
        AuthStack {
            jwt: self.jwt,
            contract: self.contract,
            step_up: self.step_up,
            audit,
        }
    }
}

/// What the stack's slots can hold, for the builder methods that join them.
mod slots {
    use crate::{AuditLayer, ContractLayer};
    use rampgate_core::contract::ContractHandle;
    use tower_layer::Identity;

    /// The contract slot: none, or a [`ContractLayer`].
    pub trait ContractSlot {
        /// The contract, when there is one.
        fn handle(&self) -> Option<&ContractHandle>;
    }

    impl ContractSlot for Identity {
        fn handle(&self) -> Option<&ContractHandle> {
            None
        }
    }

    impl ContractSlot for ContractLayer {
        fn handle(&self) -> Option<&ContractHandle> {
            Some(ContractLayer::handle(self))
        }
    }

    /// The audit slot: none, or an [`AuditLayer`].
    pub trait AuditSlot {
        /// Tells the audit layer the stack's contract.
        fn with_contract(self, contract: &ContractHandle) -> Self;
    }

    impl AuditSlot for Identity {
        fn with_contract(self, _: &ContractHandle) -> Self {
            self
        }
    }

    impl AuditSlot for AuditLayer {
        fn with_contract(self, contract: &ContractHandle) -> Self {
            if self.has_contract() {
                self
            } else {
                self.contract(contract.clone())
            }
        }
    }
}

impl<C, A> AuthStack<C, Identity, A> {
    /// Demands `policy` of every request's authentication, innermost (see
    /// [`StepUpLayer::new`]). The contract's trust levels need no call: its
    /// gate enforces them.
    pub fn step_up(self, policy: StepUpPolicy) -> AuthStack<C, StepUpLayer, A> {
        AuthStack {
            jwt: self.jwt,
            contract: self.contract,
            step_up: StepUpLayer::new(policy),
            audit: self.audit,
        }
    }
}

impl<S, C, U, A> Layer<S> for AuthStack<C, U, A>
where
    U: Layer<S>,
    C: Layer<U::Service>,
    A: Layer<Jwt<C::Service>>,
{
    type Service = A::Service;

    fn layer(&self, inner: S) -> Self::Service {
        // Innermost first: what runs last wraps the inner service.
        let inner = self.step_up.layer(inner);
        let inner = self.contract.layer(inner);
        self.audit.layer(self.jwt.layer(inner))
    }
}

#[cfg(feature = "axum")]
impl<C, U, A> AuthStack<C, U, A> {
    /// Protects every route of `router` added so far, with
    /// [`Router::route_layer`](axum::Router::route_layer): the contract sees the
    /// matched route template, and unknown paths still answer 404 rather than
    /// 401. Routes added afterwards are not protected.
    pub fn protect<T>(self, router: axum::Router<T>) -> axum::Router<T>
    where
        T: Clone + Send + Sync + 'static,
        Self: Layer<axum::routing::Route> + Clone + Send + Sync + 'static,
        <Self as Layer<axum::routing::Route>>::Service:
            tower_service::Service<axum::extract::Request> + Clone + Send + Sync + 'static,
        <<Self as Layer<axum::routing::Route>>::Service as tower_service::Service<
            axum::extract::Request,
        >>::Response: axum::response::IntoResponse + 'static,
        <<Self as Layer<axum::routing::Route>>::Service as tower_service::Service<
            axum::extract::Request,
        >>::Error: Into<std::convert::Infallible> + 'static,
        <<Self as Layer<axum::routing::Route>>::Service as tower_service::Service<
            axum::extract::Request,
        >>::Future: Send + 'static,
    {
        router.route_layer(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{
        Seen, assert_misconfigured, bearer, challenge, contract, issuer, plain, reason, run,
    };
    use crate::{ContractGate, ScopeLayer, StepUp};
    use rampgate_core::contract::Outcome;

    #[tokio::test]
    async fn the_stack_verifies_then_decides_then_steps_up() {
        let (issuer, verifier) = issuer().await;
        let stack = AuthStack::new(verifier)
            .jwt(|jwt| jwt.realm("api"))
            .contract(contract());
        let seen = Seen::default();
        let ops = || issuer.token().client_id("ops").scopes(["items:write"]);

        let response = run(&stack, &seen, plain("POST", "/approve")).await;
        assert_eq!(response.status(), 401);
        assert_eq!(challenge(&response), r#"Bearer realm="api""#);

        let web = issuer
            .token()
            .client_id("web")
            .scopes(["items:write"])
            .sign();
        let response = run(&stack, &seen, bearer("POST", "/items", &web)).await;
        assert_eq!(response.status(), 403);
        assert_eq!(reason(&response), "scope_beyond_stage");

        let weak = ops().acr("pwd").sign();
        let response = run(&stack, &seen, bearer("POST", "/approve", &weak)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(reason(&response), "acr_insufficient");
        assert_eq!(seen.calls(), 0, "no refusal reached the inner service");

        let strong = ops().acr("mfa").sign();
        let response = run(&stack, &seen, bearer("POST", "/approve", &strong)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
        assert_eq!(seen.principal().unwrap().client_id(), Some("ops"));
        assert_eq!(seen.decision().unwrap().outcome, Outcome::Allow);
    }

    #[tokio::test]
    async fn a_stack_without_contract_is_jwt_then_a_fixed_step_up() {
        let (issuer, verifier) = issuer().await;
        let policy = StepUpPolicy::default().acr_values(["mfa"]);
        let stack = AuthStack::new(verifier).step_up(policy);
        let seen = Seen::default();
        let response = run(&stack, &seen, bearer("GET", "/", &issuer.token().sign())).await;
        assert_eq!(response.status(), 401);
        assert_eq!(reason(&response), "acr_insufficient");
        let token = issuer.token().acr("mfa").sign();
        let response = run(&stack, &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 200);
        assert!(seen.decision().is_none(), "no contract, no decision");
    }

    #[tokio::test]
    async fn contract_outside_jwt_is_refused_at_the_first_request() {
        // The order axum's `route_layer` calls make easy to get backwards:
        // here the contract runs first and finds no principal.
        let (issuer, verifier) = issuer().await;
        let backwards = tower::ServiceBuilder::new()
            .layer(ContractLayer::new(contract()))
            .layer(JwtLayer::new(verifier));
        let seen = Seen::default();
        let token = issuer
            .token()
            .client_id("ops")
            .scopes(["items:read"])
            .sign();
        let response = run(&backwards, &seen, bearer("GET", "/items", &token)).await;
        assert_misconfigured(&response, &seen, "JwtLayer");
    }

    #[tokio::test]
    async fn every_service_gives_access_to_the_one_it_wraps() {
        let (_, verifier) = issuer().await;
        let stack = AuthStack::new(verifier)
            .contract(contract())
            .step_up(StepUpPolicy::default());
        let mut jwt = stack.layer(ScopeLayer::all(["a"]).layer(7_u32));
        let contract: &mut ContractGate<StepUp<crate::Scope<u32>>> = jwt.get_mut();
        let step_up: &StepUp<crate::Scope<u32>> = contract.get_ref();
        assert_eq!(*step_up.get_ref().get_ref(), 7);
        *jwt.get_mut().get_mut().get_mut().get_mut() = 8;
        let scope = jwt.into_inner().into_inner().into_inner();
        assert_eq!(scope.into_inner(), 8);
    }

    #[cfg(feature = "axum")]
    #[tokio::test]
    async fn protect_uses_route_layer_so_the_contract_sees_templates() {
        use axum::Extension;
        use axum::body::Body;
        use axum::routing::get;
        use rampgate_core::contract::Decision;
        use std::sync::Arc;

        let (issuer, verifier) = issuer().await;
        let router = axum::Router::new().route(
            "/items/{id}",
            get(|Extension(decision): Extension<Arc<Decision>>| async move {
                decision.route.as_deref().unwrap_or_default().to_owned()
            }),
        );
        let app = AuthStack::new(verifier)
            .contract(contract())
            .protect(router);
        let token = issuer
            .token()
            .client_id("web")
            .scopes(["items:read"])
            .sign();
        let request = |path: &str| {
            http::Request::get(path)
                .header("authorization", format!("Bearer {token}"))
                .body(Body::empty())
                .unwrap()
        };
        let response = tower::ServiceExt::oneshot(app.clone(), request("/items/42"))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body = axum::body::to_bytes(response.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(body, "GET /items/{id}");
        // Unknown paths are not protected routes: 404, not 401 or 403.
        let response = tower::ServiceExt::oneshot(app, request("/elsewhere"))
            .await
            .unwrap();
        assert_eq!(response.status(), 404);
    }
}
