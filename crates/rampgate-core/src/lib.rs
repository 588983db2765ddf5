//! The framework-free core of rampgate: strict verification of signed JWT access
//! tokens, key sets refreshed from JWKS, the verified [`Principal`], and the one
//! place refusals become HTTP answers ([`Denial`]).
//!
//! Use it directly where there is no HTTP server, for example in a worker that
//! verifies a token carried in a queue message:
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use rampgate_core::{IssuerConfig, Key, KeySet, ValidationPolicy, Verifier};
//!
//! let key = Key::from_jwk_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
//!     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
//! let verifier = Verifier::builder()
//!     .issuer(
//!         IssuerConfig::new("https://issuer.example", ["orders-worker"])
//!             .keys(KeySet::from_keys([key]).unwrap())
//!             .policy(ValidationPolicy::rfc9068()),
//!     )
//!     .build()
//!     .await
//!     .unwrap();
//!
//! let token_from_message = "eyJhbGciOiJub25lIn0.e30.";
//! let err = verifier.verify(token_from_message).await.unwrap_err();
//! assert_eq!(err.code(), "token_malformed");
//! # }
//! ```
//!
//! Feature flags: `aws-lc-rs` (the default signature backend, the fastest
//! measured) or `rust-crypto` (pure Rust, for targets without a C compiler;
//! exactly one is needed, and aws-lc-rs wins when both are on), `remote-jwks`
//! (JWKS URLs and OIDC discovery, with reqwest and rustls, whose own TLS
//! provider is aws-lc-rs), `axum` (extractors; depends on axum-core only),
//! `tonic` (`tonic::Status` for denials, [`tonic::RequestExt`] for handlers;
//! tonic without its transport), `metrics`, `audit-webhook`, `openapi`
//! (OpenAPI 3.1 documents from the contract, `contract::openapi`), `redis`
//! (`RedisRevocationStore`: revocations shared by every replica through
//! Redis, with a local mirror fed by pub/sub). gRPC
//! requests get gRPC answers in every build: see [`grpc`].
#![cfg_attr(docsrs, feature(doc_cfg))]

// Four subsystems, each a folder (ARCHITECTURE.md): verification, the
// contract language, operations, protocol adapters; and the foundations they
// share at the root (errors and reason codes, time, background tasks, log
// escaping). Each module keeps its short path (`crate::key`, `crate::audit`)
// through the imports below, so that a module's place is one line here.
pub mod contract;
mod error;
mod escape;
mod hex;
mod ops;
mod protocol;
mod reason;
mod sender;
mod sync;
pub mod time;
mod verify;

use contract::{requirement, stepup};
use protocol::{body, denial};
use verify::{
    alg, backend, certificate, ed25519, json, key, keys, pem, policy, principal, token, verifier,
};

use ops::revocation;
pub use ops::{anomaly, audit};
pub use protocol::grpc;
pub use verify::binding;
pub use verify::dpop;

#[cfg(feature = "axum")]
pub use protocol::axum;

#[cfg(feature = "tonic")]
pub use protocol::tonic;

pub use alg::Algorithm;
pub use body::DenialResponseBody;
pub use certificate::CertificateError;
pub use denial::{
    Anonymous, DPOP_NONCE, Denial, DenialBody, DenialOptions, GRPC_REASON_HEADER, Protocol,
    RETRY_AFTER_SECS,
};
pub use error::{BearerError, Error, ErrorCause, ErrorKind, Result};
pub use escape::{escape_control, redact_url};
pub use key::Key;
pub use keys::{IssuerHealth, JwksOptions, KeySet, KeySource, KeyStats, SkippedKey};
pub use policy::ValidationPolicy;
pub use principal::{Principal, Scopes};
pub use reason::{
    DecisionReason, EndReason, EventReason, Reason, RevokedBy, StepUpFailure, StepUpReason,
    UnknownReason,
};
pub use requirement::{Requirement, Unmet};
#[cfg(feature = "redis")]
pub use revocation::{
    RedisRevocationStore, RedisRevocations, RedisStoreError, RedisStoreOptions, StalePolicy,
};
pub use revocation::{
    Revocation, RevocationAction, RevocationCheck, RevocationClock, RevocationError,
    RevocationEvent, RevocationHealth, RevocationList, RevocationObserver, RevocationStore,
};
pub use stepup::StepUpPolicy;
pub use sync::Tasks as BackgroundTasks;
pub use verifier::{Health, IssuerConfig, RefusedToken, Verifier, VerifierBuilder};
pub use verifier::{TokenCacheOptions, TokenCacheStats};

/// Examining a token without trusting it, for tools (the `rampgate` CLI's
/// `token inspect`, test-vector runners): the verifier's own strict JSON
/// parser, its tests for other kinds of JWT, and a signature check alone.
/// Nothing here verifies a token: use [`Verifier`] for that.
///
/// ```
/// use rampgate_core::inspect::{ID_TOKEN_CLAIMS, names_another_jwt_type, parse_json_strict};
///
/// assert!(names_another_jwt_type("logout+jwt"));
/// assert!(!names_another_jwt_type("at+jwt"));
/// assert!(ID_TOKEN_CLAIMS.contains(&"nonce"));
/// // A member name repeated is refused, at any depth.
/// assert!(parse_json_strict(br#"{"sub":"a","sub":"b"}"#).is_err());
/// ```
pub mod inspect {
    use crate::{Error, ErrorKind, Key};

    /// The verifier's own JSON parser: one value, duplicate member names refused
    /// at every depth (for tools that decode a token without verifying it).
    pub use crate::json::parse_strict as parse_json_strict;

    /// The default policy's own tests for other kinds of JWT: a `typ` naming
    /// one, and the claims only ID tokens carry.
    pub use crate::policy::{ID_TOKEN_CLAIMS, names_another_jwt_type};

    /// Verifies a compact JWS's signature with `key` (and nothing else: no claims).
    /// Returns the decoded payload.
    pub fn verify_signature(token: &str, key: &Key) -> Result<Vec<u8>, Error> {
        let parsed = crate::token::parse_jws(token, usize::MAX)?;
        if parsed.alg != key.algorithm() {
            return Err(ErrorKind::AlgNotAllowed("the key serves another algorithm").into());
        }
        if !key.verify(parsed.signing_input, &parsed.signature) {
            return Err(ErrorKind::SignatureInvalid.into());
        }
        Ok(parsed.payload)
    }
}
