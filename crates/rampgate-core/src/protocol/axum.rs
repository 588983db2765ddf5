//! axum extractors: [`Principal`], `Option<Principal>` and [`Claims<T>`].
//!
//! They read what `JwtLayer` put in the request extensions; they never verify a
//! token themselves. A handler that asks for a `Principal` on a route without the
//! layer gets a 500 that says so, never an unauthenticated pass.
//!
//! (These impls live in the core crate because Rust's orphan rule only lets the
//! crate that defines `Principal` implement axum's traits for it.)

use crate::denial::{Anonymous, Denial};
use crate::error::ErrorKind;
use crate::principal::Principal;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;
use serde::de::DeserializeOwned;

impl IntoResponse for Denial {
    fn into_response(self) -> Response {
        Denial::into_response(self)
    }
}

pub mod rejection {
    //! Rejections of the rampgate extractors.
    //!
    //! Each is an HTTP answer (`IntoResponse`) and a `std::error::Error`
    //! (`thiserror`) whose message says what went wrong and, for a server-side
    //! mistake, what to fix. No message ever contains the token.

    use super::*;

    /// `IntoResponse` for a rejection whose every variant holds an answer.
    macro_rules! answered_by_variants {
        ($name:ident { $($variant:ident),+ $(,)? }) => {
            impl IntoResponse for $name {
                fn into_response(self) -> Response {
                    match self {
                        $($name::$variant(inner) => inner.into_response(),)+
                    }
                }
            }
        };
    }

    /// The description of the layering mistake a [`MissingJwtLayer`] is.
    const NO_JWT_LAYER: &str = "the route reads a Principal but JwtLayer is not applied to \
        it: add JwtLayer (or AuthStack) to the route with route_layer";

    /// The handler asked for a principal on a route that `JwtLayer` does not cover.
    /// A server-side mistake: answered with 500 `layers_misconfigured` and a
    /// message that says what to fix.
    #[derive(Debug, Clone, Copy, Default, thiserror::Error)]
    #[error("{}", NO_JWT_LAYER)]
    #[non_exhaustive]
    pub struct MissingJwtLayer;

    impl IntoResponse for MissingJwtLayer {
        fn into_response(self) -> Response {
            // The one answer to a layering mistake: 500 `layers_misconfigured`.
            let error = crate::ErrorKind::LayersMisconfigured(NO_JWT_LAYER);
            crate::DenialOptions::default()
                .deny(&error.into())
                .into_http_response()
        }
    }

    impl IntoResponse for Box<Denial> {
        fn into_response(self) -> Response {
            (*self).into_response()
        }
    }

    /// Why a [`Principal`] could not be extracted.
    #[derive(Debug, Clone, thiserror::Error)]
    #[non_exhaustive]
    pub enum PrincipalRejection {
        /// No token on a route where the layer lets anonymous requests through.
        #[error("the request carried no access token and the handler requires one: {0}")]
        Unauthenticated(Denial),
        /// `JwtLayer` is not applied to the route.
        #[error(transparent)]
        MissingJwtLayer(MissingJwtLayer),
    }
    answered_by_variants!(PrincipalRejection {
        Unauthenticated,
        MissingJwtLayer
    });

    /// Why [`Claims<T>`](super::Claims) could not be extracted.
    #[derive(Debug, Clone, thiserror::Error)]
    #[non_exhaustive]
    pub enum ClaimsRejection {
        /// No principal (see [`PrincipalRejection`]).
        #[error(transparent)]
        Principal(PrincipalRejection),
        /// The token's claims do not have the shape the handler asks for: 401
        /// `invalid_token` with reason `claim_invalid`.
        #[error("the token's claims do not fit the type the handler extracts: {0}")]
        InvalidClaims(Denial),
    }
    answered_by_variants!(ClaimsRejection {
        Principal,
        InvalidClaims
    });

    /// Why a [`Scoped`] extractor refused the request.
    #[derive(Debug, Clone, thiserror::Error)]
    #[non_exhaustive]
    pub enum ScopedRejection {
        /// No principal.
        #[error(transparent)]
        Principal(PrincipalRejection),
        /// The token lacks the scopes (403).
        #[error("the token lacks scopes the handler requires: {0}")]
        InsufficientScope(Denial),
    }
    answered_by_variants!(ScopedRejection {
        Principal,
        InsufficientScope
    });

    /// Why a [`SteppedUp`] extractor refused the request.
    #[derive(Debug, Clone, thiserror::Error)]
    #[non_exhaustive]
    pub enum SteppedUpRejection {
        /// No principal.
        #[error(transparent)]
        Principal(PrincipalRejection),
        /// The authentication is too weak or too old (401, RFC 9470).
        #[error("the user must authenticate again, more strongly or more recently: {0}")]
        StepUpRequired(Box<Denial>),
        /// The policy requires a sender-constrained token and a bearer token
        /// came (401 `sender_constraint_required`).
        #[error("a sender-constrained token is required: {0}")]
        SenderConstraintRequired(Box<Denial>),
    }
    answered_by_variants!(SteppedUpRejection {
        Principal,
        StepUpRequired,
        SenderConstraintRequired
    });
}

use rejection::{ClaimsRejection, MissingJwtLayer, PrincipalRejection};
// Their first home: kept so that code naming them there still compiles.
pub use rejection::{ScopedRejection, SteppedUpRejection};

impl<S: Send + Sync> FromRequestParts<S> for Principal {
    type Rejection = PrincipalRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(principal.clone());
        }
        match parts.extensions.get::<Anonymous>() {
            Some(Anonymous(challenge)) => {
                Err(PrincipalRejection::Unauthenticated(challenge.clone()))
            }
            None => Err(PrincipalRejection::MissingJwtLayer(MissingJwtLayer)),
        }
    }
}

/// `Option<Principal>`: `None` only when the request carried no token (on a route
/// where the layer allows that). A malformed or invalid token never reaches the
/// handler: the layer refuses it.
impl<S: Send + Sync> OptionalFromRequestParts<S> for Principal {
    type Rejection = MissingJwtLayer;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        if let Some(principal) = parts.extensions.get::<Principal>() {
            return Ok(Some(principal.clone()));
        }
        if parts.extensions.get::<Anonymous>().is_some() {
            return Ok(None);
        }
        Err(MissingJwtLayer)
    }
}

/// The verified token's claims, deserialised into the handler's own type.
///
/// ```
/// use rampgate_core::axum::Claims;
///
/// #[derive(serde::Deserialize)]
/// struct Tenant { tenant_id: String }
///
/// async fn handler(Claims(tenant): Claims<Tenant>) -> String {
///     tenant.tenant_id
/// }
/// ```
#[derive(Debug, Clone)]
pub struct Claims<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Claims<T> {
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = <Principal as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(ClaimsRejection::Principal)?;
        principal.claims_as::<T>().map(Claims).map_err(|_| {
            ClaimsRejection::InvalidClaims(crate::DenialOptions::deny_in(
                &parts.extensions,
                &ErrorKind::ClaimInvalid {
                    // The shape belongs to the handler's type, not to one claim.
                    claim: "claims".into(),
                    expected: "the shape this route needs",
                }
                .into(),
            ))
        })
    }
}

/// A scope requirement stated in a handler's signature: the scopes are constants
/// of a zero-sized type declared with [`require_scopes!`](crate::require_scopes).
pub trait ScopeRequirement: Send + Sync + 'static {
    /// Scopes that are all required.
    const ALL: &'static [&'static str];
    /// Scopes of which one is required (empty: no such condition).
    const ANY: &'static [&'static str] = &[];

    /// The requirement as a [`Requirement`](crate::Requirement).
    fn requirement() -> crate::Requirement {
        crate::Requirement::all(Self::ALL.iter().copied()).and_any(Self::ANY.iter().copied())
    }
}

/// Declares a [`ScopeRequirement`] type.
///
/// ```
/// rampgate_core::require_scopes!(ReadProfile: all ["profile:read"]);
/// rampgate_core::require_scopes!(Moderate: any ["admin", "moderator"]);
///
/// use rampgate_core::axum::{ScopeRequirement, Scoped};
/// assert_eq!(ReadProfile::ALL, ["profile:read"]);
///
/// async fn profile(principal: Scoped<ReadProfile>) -> String {
///     principal.sub().unwrap_or_default().to_owned()
/// }
/// ```
#[macro_export]
macro_rules! require_scopes {
    ($(#[$meta:meta])* $name:ident: all [$($scope:literal),* $(,)?]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;
        impl $crate::axum::ScopeRequirement for $name {
            const ALL: &'static [&'static str] = &[$($scope),*];
        }
    };
    ($(#[$meta:meta])* $name:ident: any [$($scope:literal),* $(,)?]) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, Default)]
        pub struct $name;
        impl $crate::axum::ScopeRequirement for $name {
            const ALL: &'static [&'static str] = &[];
            const ANY: &'static [&'static str] = &[$($scope),*];
        }
    };
}

/// The verified principal, after checking the scopes of `R`: rejects exactly as
/// `ScopeLayer` does (403 `insufficient_scope` with `scope="..."`, the handler
/// never runs).
#[derive(Debug, Clone)]
pub struct Scoped<R> {
    principal: Principal,
    requirement: std::marker::PhantomData<R>,
}

impl<R> Scoped<R> {
    /// The verified principal, which has the scopes of `R`.
    pub fn into_inner(self) -> Principal {
        self.principal
    }
}

impl<R> std::ops::Deref for Scoped<R> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

impl<S: Send + Sync, R: ScopeRequirement> FromRequestParts<S> for Scoped<R> {
    type Rejection = ScopedRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = <Principal as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(ScopedRejection::Principal)?;
        match R::requirement().check(principal.scopes()) {
            Ok(()) => Ok(Scoped {
                principal,
                requirement: std::marker::PhantomData,
            }),
            Err(unmet) => Err(ScopedRejection::InsufficientScope(
                crate::DenialOptions::deny_in(
                    &parts.extensions,
                    &ErrorKind::InsufficientScope {
                        required: unmet.scope,
                        one_of: unmet.one_of,
                    }
                    .into(),
                ),
            )),
        }
    }
}

impl crate::contract::Inventory {
    /// Records the requirement of a [`Scoped<R>`] handler at `method path`.
    pub fn scoped<R: ScopeRequirement>(self, method: &str, path: &str) -> Self {
        self.require(method, path, &R::requirement())
    }
}

/// A step-up requirement stated in a handler's signature (see [`SteppedUp`]).
pub trait StepUpRequirement: Send + Sync + 'static {
    /// The policy the principal's authentication must meet.
    fn policy() -> crate::StepUpPolicy;
}

/// The verified principal, after checking that its authentication meets `R`'s
/// step-up policy; otherwise the RFC 9470 challenge (401
/// `insufficient_user_authentication`) and the handler never runs.
///
/// ```
/// use rampgate_core::StepUpPolicy;
/// use rampgate_core::axum::{SteppedUp, StepUpRequirement};
/// use std::time::Duration;
///
/// struct RecentMfa;
/// impl StepUpRequirement for RecentMfa {
///     fn policy() -> StepUpPolicy {
///         StepUpPolicy::default().acr_values(["mfa"]).max_age(Duration::from_secs(300))
///     }
/// }
///
/// async fn approve(SteppedUp(principal, ..): SteppedUp<RecentMfa>) -> String {
///     format!("approved by {:?}", principal.sub())
/// }
/// ```
#[derive(Debug, Clone)]
pub struct SteppedUp<R>(pub Principal, pub std::marker::PhantomData<R>);

impl<S: Send + Sync, R: StepUpRequirement> FromRequestParts<S> for SteppedUp<R> {
    type Rejection = SteppedUpRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let principal = <Principal as FromRequestParts<S>>::from_request_parts(parts, state)
            .await
            .map_err(SteppedUpRejection::Principal)?;
        // All the policy demands, a sender-constrained token included.
        let Err(error) = R::policy().enforce(&principal) else {
            return Ok(SteppedUp(principal, std::marker::PhantomData));
        };
        let denial = Box::new(crate::DenialOptions::deny_in(&parts.extensions, &error));
        Err(match error.reason() {
            crate::Reason::SenderConstraintRequired => {
                SteppedUpRejection::SenderConstraintRequired(denial)
            }
            _ => SteppedUpRejection::StepUpRequired(denial),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DenialOptions, Error};
    use std::error::Error as _;

    fn parts_with(extensions: http::Extensions) -> Parts {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        parts.extensions = extensions;
        parts
    }

    #[tokio::test]
    async fn missing_layer_says_what_to_fix() {
        let mut parts = parts_with(http::Extensions::new());
        let rejection = <Principal as FromRequestParts<()>>::from_request_parts(&mut parts, &())
            .await
            .unwrap_err();
        let message = rejection.to_string();
        assert!(message.contains("JwtLayer is not applied"), "{message}");
        assert!(message.contains("route_layer"), "{message}");
        assert!(rejection.source().is_none());
        let response = rejection.into_response();
        assert_eq!(response.status(), 500);
    }

    #[tokio::test]
    async fn anonymous_rejection_describes_the_denial() {
        let mut extensions = http::Extensions::new();
        let challenge = DenialOptions::default().deny(&Error::from(ErrorKind::TokenMissing));
        extensions.insert(Anonymous(challenge));
        let mut parts = parts_with(extensions);
        let rejection = <Claims<serde_json::Value> as FromRequestParts<()>>::from_request_parts(
            &mut parts,
            &(),
        )
        .await
        .unwrap_err();
        assert!(matches!(rejection, ClaimsRejection::Principal(_)));
        assert_eq!(
            rejection.to_string(),
            "the request carried no access token and the handler requires one: \
             no access token in the request"
        );
        assert_eq!(rejection.into_response().status(), 401);
    }

    #[tokio::test]
    async fn scope_and_step_up_rejections_name_what_is_missing() {
        #[derive(Debug)]
        struct Write;
        impl ScopeRequirement for Write {
            const ALL: &'static [&'static str] = &["orders:write"];
        }
        #[derive(Debug)]
        struct Mfa;
        impl StepUpRequirement for Mfa {
            fn policy() -> crate::StepUpPolicy {
                crate::StepUpPolicy::default().acr_values(["mfa"])
            }
        }
        let principal = Principal::for_tests(
            "https://issuer.example",
            serde_json::json!({"sub": "alice", "scope": "orders:read", "acr": "pwd"}),
        )
        .unwrap();
        let mut extensions = http::Extensions::new();
        extensions.insert(principal);

        let mut parts = parts_with(extensions.clone());
        let scoped = <Scoped<Write> as FromRequestParts<()>>::from_request_parts(&mut parts, &())
            .await
            .unwrap_err();
        // The old path still names the same type.
        let scoped: ScopedRejection = scoped;
        assert!(
            scoped.to_string().ends_with("requires orders:write"),
            "{scoped}"
        );
        assert_eq!(scoped.into_response().status(), 403);

        let mut parts = parts_with(extensions);
        let stepped = <SteppedUp<Mfa> as FromRequestParts<()>>::from_request_parts(&mut parts, &())
            .await
            .unwrap_err();
        let stepped: rejection::SteppedUpRejection = stepped;
        assert!(stepped.to_string().contains("(acr)"), "{stepped}");
        assert_eq!(stepped.into_response().status(), 401);
    }

    #[tokio::test]
    async fn stepped_up_enforces_a_required_sender_constraint() {
        #[derive(Debug)]
        struct Bound;
        impl StepUpRequirement for Bound {
            fn policy() -> crate::StepUpPolicy {
                crate::StepUpPolicy::default().require_sender_constrained()
            }
        }
        let extract = |claims: serde_json::Value| async move {
            let principal = Principal::for_tests("https://issuer.example", claims).unwrap();
            let mut extensions = http::Extensions::new();
            extensions.insert(principal);
            let mut parts = parts_with(extensions);
            <SteppedUp<Bound> as FromRequestParts<()>>::from_request_parts(&mut parts, &()).await
        };
        let refused = extract(serde_json::json!({"sub": "a"})).await.unwrap_err();
        assert!(matches!(
            refused,
            rejection::SteppedUpRejection::SenderConstraintRequired(_)
        ));
        let response = refused.into_response();
        assert_eq!(response.status(), 401);
        assert_eq!(
            response.extensions().get::<Denial>().unwrap().reason(),
            crate::Reason::SenderConstraintRequired
        );
        let jkt = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";
        let bound = serde_json::json!({"sub": "a", "cnf": {"jkt": jkt}});
        assert!(extract(bound).await.is_ok());
    }
}
