//! `StepUpLayer`: routes declared in code demand a stronger or fresher
//! authentication.
//!
//! A token that is valid and has the scopes, but whose `acr`, `amr` or
//! `auth_time` falls short, gets the RFC 9470 challenge: 401 with
//! `WWW-Authenticate: Bearer error="insufficient_user_authentication",
//! error_description="...", acr_values="...", max_age="N"` and a JSON body with
//! the same facts. The handler never runs.
//!
//! A route whose contract `trust` level demands step-up needs no
//! `StepUpLayer`: [`ContractLayer`](crate::ContractLayer) enforces the
//! contract's trust levels itself.

use crate::gate::{Authorize, Gate, Passed, Refused, principal};
use http::Request;
use rampgate_core::{DenialOptions, StepUpPolicy};
use std::sync::Arc;
use tower_layer::Layer;

/// Requires a strong or fresh enough user authentication, for the routes it
/// is applied to.
///
/// ```
/// use rampgate_core::StepUpPolicy;
/// use rampgate_tower::StepUpLayer;
/// use std::time::Duration;
///
/// let approve = StepUpLayer::new(
///     StepUpPolicy::default()
///         .acr_values(["mfa"])
///         .acr_hierarchy(["pwd", "mfa", "hwk"])
///         .max_age(Duration::from_secs(300)),
/// );
/// # let _ = approve;
/// ```
///
/// For routes of a contract, declare a `trust` level instead: the contract's
/// gate enforces it, so it holds whichever layers are stacked.
#[derive(Debug, Clone)]
#[must_use]
pub struct StepUpLayer {
    policy: Arc<StepUpPolicy>,
}

impl StepUpLayer {
    /// Applies `policy` to every request.
    pub fn new(policy: StepUpPolicy) -> Self {
        StepUpLayer {
            policy: Arc::new(policy),
        }
    }

    /// The policy this layer enforces.
    pub fn policy(&self) -> &StepUpPolicy {
        &self.policy
    }
}

impl<S> Layer<S> for StepUpLayer {
    type Service = StepUp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate::new(inner, self.clone())
    }
}

/// The service made by [`StepUpLayer`].
pub type StepUp<S> = Gate<S, StepUpLayer>;

impl Authorize for StepUpLayer {
    fn authorize<B>(&self, req: &mut Request<B>) -> Result<Passed, Refused> {
        let principal = principal(req)?;
        match self.policy.enforce(principal) {
            Ok(()) if self.policy.steps_up() => Ok(Passed::new().step_up_passed()),
            Ok(()) => Ok(Passed::new()),
            Err(error) => Err(Refused::new(DenialOptions::deny_in(
                req.extensions(),
                &error,
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ContractLayer;
    use crate::tests::{
        Seen, as_principal, assert_misconfigured, body, challenge, contract, plain, reason, run,
    };
    use bytes::Bytes;
    use http::Response;
    use serde_json::json;
    use std::time::{Duration, SystemTime, UNIX_EPOCH};

    fn mfa() -> StepUpLayer {
        StepUpLayer::new(
            StepUpPolicy::default()
                .acr_values(["mfa"])
                .acr_hierarchy(["pwd", "mfa", "hwk"])
                .max_age(Duration::from_secs(300)),
        )
    }

    fn seconds_ago(n: u64) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            - n
    }

    /// Asserts the RFC 9470 challenge with `code`, inner service not run.
    fn assert_step_up(response: &Response<Bytes>, seen: &Seen, code: &str) {
        assert_eq!(response.status(), 401);
        assert_eq!(reason(response), code);
        assert_eq!(body(response)["error"], "insufficient_user_authentication");
        assert!(
            challenge(response).contains(r#"error="insufficient_user_authentication""#),
            "{}",
            challenge(response)
        );
        assert_eq!(seen.calls(), 0, "the inner service must not run");
    }

    #[tokio::test]
    async fn a_strong_and_recent_authentication_passes() {
        let seen = Seen::default();
        // hwk is above mfa on the ladder, so it satisfies the policy too.
        let claims = json!({"acr": "hwk", "auth_time": seconds_ago(10)});
        let response = run(&mfa(), &seen, as_principal("POST", "/approve", claims)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
    }

    #[tokio::test]
    async fn a_weaker_acr_gets_the_step_up_challenge() {
        // conformance: 9470-1
        let seen = Seen::default();
        let claims = json!({"acr": "pwd", "auth_time": seconds_ago(10)});
        let response = run(&mfa(), &seen, as_principal("POST", "/approve", claims)).await;
        assert_step_up(&response, &seen, "acr_insufficient");
        assert!(challenge(&response).contains(r#"acr_values="mfa hwk""#));
        assert_eq!(body(&response)["acr_values"], "mfa hwk");
    }

    #[tokio::test]
    async fn a_stale_authentication_gets_the_step_up_challenge() {
        let seen = Seen::default();
        let claims = json!({"acr": "mfa", "auth_time": seconds_ago(3600)});
        let response = run(&mfa(), &seen, as_principal("POST", "/approve", claims)).await;
        assert_step_up(&response, &seen, "auth_time_stale");
        assert!(challenge(&response).contains(r#"max_age="300""#));
    }

    #[tokio::test]
    async fn the_contract_layer_alone_enforces_the_routes_trust_level() {
        // No StepUpLayer: the contract's gate checks the trust level itself.
        let seen = Seen::default();
        let ops = |acr: &str| json!({"client_id": "ops", "scope": "items:write", "acr": acr});
        let layer = ContractLayer::new(contract());
        let response = run(&layer, &seen, as_principal("POST", "/approve", ops("pwd"))).await;
        assert_step_up(&response, &seen, "acr_insufficient");
        assert!(challenge(&response).contains(r#"acr_values="mfa""#));
        assert!(response.extensions().get::<crate::StepUpPassed>().is_none());
        let response = run(&layer, &seen, as_principal("POST", "/approve", ops("mfa"))).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
        assert!(response.extensions().get::<crate::StepUpPassed>().is_some());
    }

    #[tokio::test]
    async fn standard_routes_are_not_stepped_up_nor_marked_passed() {
        let seen = Seen::default();
        let claims = json!({"client_id": "ops", "scope": "items:write"});
        let layer = ContractLayer::new(contract());
        let response = run(&layer, &seen, as_principal("POST", "/items", claims)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.decision().unwrap().trust.as_deref(), Some("standard"));
        assert!(response.extensions().get::<crate::StepUpPassed>().is_none());
    }

    #[tokio::test]
    async fn a_passed_policy_marks_the_answer() {
        let seen = Seen::default();
        let claims = json!({"acr": "mfa", "auth_time": seconds_ago(5)});
        let response = run(&mfa(), &seen, as_principal("POST", "/approve", claims)).await;
        assert_eq!(response.status(), 200);
        assert!(response.extensions().get::<crate::StepUpPassed>().is_some());
    }

    #[tokio::test]
    async fn without_jwt_layer_it_is_a_server_error() {
        let seen = Seen::default();
        let response = run(&mfa(), &seen, plain("POST", "/approve")).await;
        assert_misconfigured(&response, &seen, "JwtLayer");
    }
}
