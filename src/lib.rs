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
//! - [`revocation::RevocationList`]: tokens refused before their `exp` (by `jti`, subject,
//!   consumer or `kid`), consulted by the [`Verifier`] on every request;
//!   `admin::RevocationAdmin` (feature `axum`) serves it to operators holding
//!   a token of its own issuer, audience and scope (`admin::AdminPolicy`).
//! - [`anomaly`]: failure counters that flag bursts (expired-token retries,
//!   bad signatures, unknown kids, scope probing, one `jti` from many addresses).
//! - [`mcp`] (feature `mcp`): MCP servers behind the contract, decided per
//!   tool, prompt or resource (`docs/mcp.md`).
//! - [`binding`]: sender-constrained tokens; for a certificate-bound one
//!   (RFC 8705) the client certificate of the connection comes from
//!   `tls::TlsServer` (feature `tls`, rustls in-process) or from a trusted TLS
//!   terminator's header (`forwarded::ForwardedCertLayer`, feature `axum`).
//!   See `docs/sender-constrained.md`.
//! - `rampgate::testkit` (feature `testkit`): an embedded OIDC issuer for
//!   development and tests.
//!
//! Cargo features: `axum`, `remote-jwks` and `aws-lc-rs` (default; aws-lc-rs
//! needs a C compiler), `rust-crypto` (the pure-Rust backend, with
//! `default-features = false`), `tonic`, `metrics`, `audit-webhook` (the
//! audit trail's webhook sink and the alert webhook, `[alerts]`), `openapi`
//! (OpenAPI 3.1 from the contract: `contract::openapi`), `redis` (revocations
//! shared by every replica through Redis: `revocation::RedisRevocationStore`,
//! `[revocation] store = "redis"`), `tls` (in-process TLS with rustls, the
//! client certificate of each connection for certificate-bound tokens:
//! `tls::TlsServer`), `mcp` (MCP servers: per-tool decisions,
//! `mcp::McpLayer`), `testkit`.
#![cfg_attr(docsrs, feature(doc_cfg))]

// The names a service needs to protect its routes; everything else lives in
// a module named for its subsystem.
pub use rampgate_core::{
    DecisionReason, Denial, Error, ErrorKind, IssuerConfig, JwksOptions, Principal, Reason,
    Requirement, Result, Scopes, StepUpPolicy, ValidationPolicy, Verifier, VerifierBuilder,
};
pub use rampgate_tower::{AuditLayer, AuthStack, ContractLayer, JwtLayer, ScopeLayer, StepUpLayer};

/// Sender-constrained tokens: what a token is bound to (`cnf`), what a
/// request presented (a DPoP key, a client certificate) and why they did not
/// match. See `docs/sender-constrained.md`. A client certificate forwarded by
/// a TLS terminator is read with
/// [`ClientCertificate::from_xfcc`](binding::ClientCertificate::from_xfcc) and
/// its siblings ([`CertificateError`](binding::CertificateError)).
pub mod binding {
    pub use rampgate_core::CertificateError;
    pub use rampgate_core::binding::*;
}

/// DPoP (RFC 9449): the proof checker `JwtLayer::dpop` takes.
pub mod dpop {
    pub use rampgate_core::dpop::*;
}

/// Anomaly signals: failure counters per consumer, subject, address and `jti`.
pub mod anomaly {
    pub use rampgate_core::anomaly::*;
}

/// How refusals are answered: the [`Denial`], its options
/// and body, the protocol (HTTP or gRPC), the bearer error.
pub mod denial {
    pub use rampgate_core::{
        Anonymous, BearerError, DPOP_NONCE, Denial, DenialBody, DenialOptions, DenialResponseBody,
        GRPC_REASON_HEADER, Protocol, RETRY_AFTER_SECS,
    };
}

/// Keys and key sets, their health, and the verified-token cache.
pub mod keys {
    pub use rampgate_core::{
        Algorithm, BackgroundTasks, Health, IssuerHealth, Key, KeySet, KeySource, KeyStats,
        SkippedKey, TokenCacheOptions, TokenCacheStats,
    };
}

/// Revocation: the [`RevocationList`](revocation::RevocationList) the verifier
/// consults, the [`RevocationStore`](revocation::RevocationStore) trait, and
/// their events.
#[cfg_attr(docsrs, doc = "")]
#[cfg_attr(docsrs, doc = include_str!("../docs/revocation.md"))]
pub mod revocation {
    #[cfg(feature = "redis")]
    pub use rampgate_core::{
        RedisRevocationStore, RedisRevocations, RedisStoreError, RedisStoreOptions, StalePolicy,
    };
    pub use rampgate_core::{
        Revocation, RevocationAction, RevocationCheck, RevocationClock, RevocationError,
        RevocationEvent, RevocationHealth, RevocationList, RevocationObserver, RevocationStore,
        RevokedBy,
    };
}

/// Reason codes, as types: every code a request can be refused with, a
/// contract decides with, or an audit event records.
pub mod reason {
    pub use rampgate_core::ErrorCause;
    pub use rampgate_core::{
        DecisionReason, EndReason, EventReason, Reason, RevokedBy, StepUpFailure, StepUpReason,
        UnknownReason, Unmet,
    };
}

/// The services the layers make, the gate they share, and what the answers
/// carry in their extensions.
pub mod layers {
    pub use rampgate_tower::{
        Audit, Authorize, ContractGate, Gate, GateFuture, Jwt, Passed, Refused, Scope, StepUp,
        StepUpPassed,
    };
}

/// In-process TLS with rustls (feature `tls`): [`TlsServer`](tls::TlsServer)
/// serves a router over HTTP/1.1 and HTTP/2 with each connection's client
/// certificate in its requests' extensions.
#[cfg(feature = "tls")]
pub use rampgate_tower::tls;

/// The client certificate a trusted TLS terminator forwards in a header
/// (feature `axum`): [`ForwardedCertLayer`](forwarded::ForwardedCertLayer).
#[cfg(feature = "axum")]
pub use rampgate_tower::forwarded;

/// RFC 3339 timestamps, as audit events and the admin router write them.
pub mod time {
    pub use rampgate_core::time::*;
}

/// The revocation admin router (feature `axum`): revoke, list and un-revoke
/// behind a token of its own issuer, audience and scope.
#[cfg(feature = "axum")]
pub use rampgate_tower::admin;

pub mod config;

/// gRPC denials: which requests are gRPC, the status codes, `grpc-message`.
#[cfg_attr(docsrs, doc = "")]
#[cfg_attr(docsrs, doc = include_str!("../docs/grpc.md"))]
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
#[cfg_attr(docsrs, doc = "")]
#[cfg_attr(docsrs, doc = include_str!("../docs/contracts.md"))]
pub mod contract {
    pub use rampgate_core::contract::*;
}

/// The audit trail: events, the [`Auditor`](audit::Auditor) queue, sinks, and
/// the tower [`AuditLayer`]. See `docs/audit.md`.
#[cfg_attr(docsrs, doc = "")]
#[cfg_attr(docsrs, doc = include_str!("../docs/audit.md"))]
pub mod audit {
    pub use rampgate_core::audit::*;
    pub use rampgate_tower::audit::*;
}

/// MCP servers behind the contract (feature `mcp`, `docs/mcp.md`):
/// [`McpLayer`](mcp::McpLayer) reads each request's JSON-RPC method and tool
/// for `ContractLayer`, which decides per tool with the contract's `mcp`
/// routes; [`McpGuard`](mcp::McpGuard), around the server, refuses what the
/// contract did not decide per tool; [`McpAccess`](mcp::McpAccess) filters
/// `tools/list`;
/// [`McpResource`](mcp::McpResource) is the server's canonical URI (the
/// tokens' audience) and its RFC 9728 metadata.
#[cfg(feature = "mcp")]
#[cfg_attr(docsrs, doc(cfg(feature = "mcp")))]
pub mod mcp {
    pub use rampgate_core::contract::{
        DEFAULT_MAX_BODY_BYTES, McpAccess, McpBodyError, McpCall, McpRead, McpTarget,
        TOKEN_ONLY_METHODS, TOKEN_ONLY_NOTIFICATIONS, is_token_only,
    };
    pub use rampgate_tower::mcp::*;
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
