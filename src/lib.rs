//! # rampgate
//!
//! Strict JWT / OAuth authorization middleware for tower services (axum, tonic):
//! every route is protected by a signed JWT access token verified offline against
//! keys refreshed from the issuer's JWKS.
//!
//! The shortest protected axum route:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use axum::{Router, routing::get};
//! use rampgate::{IssuerConfig, JwtLayer, Principal, Verifier};
//! use tower::ServiceExt;
//!
//! # let dev = rampgate_testkit::DevIssuer::start().await.unwrap();
//! # let (issuer_url, audience) = (dev.issuer().to_owned(), dev.audience().to_owned());
//! let verifier = Verifier::builder()
//!     // Keys come from the issuer's OIDC discovery document and JWKS.
//!     .issuer(IssuerConfig::new(issuer_url, [audience]).discovery())
//!     .build()
//!     .await
//!     .unwrap();
//!
//! let app: Router = Router::new()
//!     .route("/me", get(|p: Principal| async move { format!("hello {:?}", p.sub()) }))
//!     .route_layer(JwtLayer::new(verifier).realm("api"));
//!
//! // No token: 401 with an RFC 6750 challenge, and the handler never runs.
//! let request = http::Request::get("/me").body(axum::body::Body::empty()).unwrap();
//! let response = app.oneshot(request).await.unwrap();
//! assert_eq!(response.status(), 401);
//! assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="api""#);
//! # }
//! ```
//!
//! The pieces:
//!
//! - [`Verifier`]: framework-free verification (usable from a queue consumer),
//!   [`IssuerConfig`] per trusted issuer, [`ValidationPolicy`] with strict defaults.
//! - [`JwtLayer`], [`ScopeLayer`], [`ContractLayer`], [`StepUpLayer`]: tower layers;
//!   [`AuthStack`] installs JWT → contract → step-up in that order in one call.
//! - [`contract`]: ramp contracts (routes, scopes, consumers' stages), hot reload.
//! - [`metadata`]: RFC 9728 protected resource metadata from the contract.
//! - [`config`]: a TOML file and `RAMPGATE_*` overrides that build the verifier,
//!   the contract and the layer, and never fall back to a development issuer.
//! - [`Principal`] and [`axum::Claims`]: axum extractors (feature `axum`).
//! - [`Denial`]: how every refusal is answered (RFC 6750 `WWW-Authenticate`),
//!   over HTTP or, for a gRPC request, as a gRPC status ([`grpc`]).
//! - [`tonic::RequestExt`] and [`JwtInterceptor`] (feature `tonic`): the
//!   principal in tonic handlers, and the JWT check as a tonic interceptor.
//!   The layers wrap tonic services in every build. See `docs/grpc.md`.
//! - [`RevocationList`]: tokens refused before their `exp` (by `jti`, subject,
//!   consumer or `kid`), consulted by the [`Verifier`] on every request;
//!   `admin::RevocationAdmin` (feature `axum`) serves it to operators holding
//!   a token of its own issuer, audience and scope (`admin::AdminPolicy`).
//! - [`anomaly`]: failure counters that flag bursts (expired-token retries,
//!   bad signatures, unknown kids, scope probing, one `jti` from many addresses).
//! - `rampgate::testkit` (feature `testkit`): an embedded OIDC issuer for
//!   development and tests.
//!
//! Cargo features: `axum`, `remote-jwks` and `aws-lc-rs` (default; aws-lc-rs
//! needs a C compiler), `rust-crypto` (the pure-Rust backend, with
//! `default-features = false`), `tonic`, `metrics`, `audit-webhook`,
//! `testkit`.
#![cfg_attr(docsrs, feature(doc_cfg))]

pub use rampgate_core::{
    Algorithm, Anonymous, DecisionReason, Denial, DenialBody, DenialOptions, DenialResponseBody,
    Error, ErrorCause, ErrorKind, GRPC_REASON_HEADER, Health, IssuerConfig, IssuerHealth,
    JwksOptions, Key, KeySet, KeySource, KeyStats, Principal, RETRY_AFTER_SECS, Reason,
    Requirement, Result, Revocation, RevocationAction, RevocationCheck, RevocationClock,
    RevocationError, RevocationEvent, RevocationList, RevocationObserver, RevocationStore,
    RevokedBy, Scopes, SkippedKey, StepUpFailure, StepUpPolicy, StepUpReason, TokenCacheOptions,
    TokenCacheStats, UnknownReason, Unmet, ValidationPolicy, Verifier, VerifierBuilder,
};

/// Anomaly signals: failure counters per consumer, subject, address and `jti`.
pub mod anomaly {
    pub use rampgate_core::anomaly::*;
}

/// The revocation admin router (feature `axum`): revoke, list and un-revoke
/// behind a token of its own issuer, audience and scope.
#[cfg(feature = "axum")]
pub use rampgate_tower::admin;
pub use rampgate_tower::{
    Audit, AuditLayer, AuthStack, ContractGate, ContractLayer, Jwt, JwtLayer, Scope, ScopeLayer,
    StepUp, StepUpLayer, StepUpPassed,
};

pub mod config;

/// gRPC denials: which requests are gRPC, the status codes, `grpc-message`.
pub mod grpc {
    pub use rampgate_core::grpc::*;
}

/// tonic: [`RequestExt::principal`](tonic::RequestExt::principal) for
/// handlers, and `tonic::Status` from a [`Denial`].
#[cfg(feature = "tonic")]
pub mod tonic {
    pub use rampgate_core::tonic::*;
}

#[cfg(feature = "tonic")]
pub use rampgate_tower::JwtInterceptor;

/// Ramp contracts: the contract file, decisions, diffs, the live handle.
pub mod contract {
    pub use rampgate_core::contract::*;
}

/// The audit trail: events, the [`Auditor`](audit::Auditor) queue, sinks, and
/// the tower [`AuditLayer`]. See `docs/audit.md`.
pub mod audit {
    pub use rampgate_core::audit::*;
    pub use rampgate_tower::audit::*;
}

/// RFC 9728 protected resource metadata from the contract (feature `axum`).
#[cfg(feature = "axum")]
pub use rampgate_tower::metadata;

#[cfg(feature = "axum")]
pub use rampgate_core::require_scopes;

/// axum extractors: `Principal`, `Option<Principal>`, [`Claims<T>`](axum::Claims).
#[cfg(feature = "axum")]
pub mod axum {
    pub use rampgate_core::axum::*;
}

/// The embedded development issuer and testing kit.
#[cfg(feature = "testkit")]
pub use rampgate_testkit as testkit;
