//! One error type for every way a request can fail authentication.
//!
//! Each [`ErrorKind`] has a stable [`reason code`](ErrorKind::code) (for example
//! `token_expired`) that appears in denial bodies and logs, and maps to
//! the RFC 6750 error it is reported as ([`ErrorKind::bearer_error`]).

use crate::reason::{Reason, RevokedBy, StepUpFailure};
use crate::sender::{BindingFailure, DpopFailure};
use http::StatusCode;
use std::fmt;
use std::sync::Arc;

/// A `Result` whose error is a rampgate [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a token, a request, a key set or a configuration was refused.
///
/// Small (one pointer) so that it is cheap to return on the hot path; the details
/// live in [`ErrorKind`].
///
/// ```
/// use rampgate_core::{Error, ErrorKind};
///
/// let err = Error::from(ErrorKind::TokenExpired);
/// assert_eq!(err.kind().code(), "token_expired");
/// assert_eq!(err.kind().bearer_error().map(|e| e.as_str()), Some("invalid_token"));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Error(Box<ErrorKind>);

impl Error {
    /// What went wrong.
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// Consumes the error, returning its kind.
    pub fn into_kind(self) -> ErrorKind {
        *self.0
    }

    /// The stable reason code, shorthand for `self.kind().code()`.
    pub fn code(&self) -> &'static str {
        self.0.code()
    }

    /// The stable reason, shorthand for `self.kind().reason()`.
    pub fn reason(&self) -> Reason {
        self.0.reason()
    }
}

impl From<ErrorKind> for Error {
    fn from(kind: ErrorKind) -> Self {
        Error(Box::new(kind))
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        // The kind displays as this error does, so the chain goes on with its cause.
        std::error::Error::source(&*self.0)
    }
}

/// Constructors for the crate's own configuration and JWKS failures.
impl Error {
    /// A configuration mistake; `message` says what to fix.
    pub(crate) fn config(message: impl Into<String>) -> Error {
        ErrorKind::Config {
            message: message.into(),
            source: None,
        }
        .into()
    }

    /// A JWKS or discovery document that could not be fetched or used.
    pub(crate) fn jwks(message: impl Into<String>) -> Error {
        ErrorKind::Jwks {
            message: message.into(),
            source: None,
        }
        .into()
    }

    /// Keeps `cause` as the [`source`](std::error::Error::source) of a
    /// configuration or JWKS error; other kinds carry no cause and are unchanged.
    pub(crate) fn caused_by(
        mut self,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        match &mut *self.0 {
            ErrorKind::Config { source, .. } | ErrorKind::Jwks { source, .. } => {
                *source = Some(ErrorCause(Arc::new(cause)));
            }
            _ => debug_assert!(false, "only Config and Jwks errors carry a cause"),
        }
        self
    }
}

/// The underlying error of an [`ErrorKind::Jwks`] or [`ErrorKind::Config`]: the
/// HTTP client's, the JSON parser's or the file system's.
///
/// It is what [`std::error::Error::source`] returns for those kinds (the inner
/// error itself, so it can be downcast). Two causes always compare equal, since
/// the errors of other libraries rarely can be compared: two such errors are
/// equal when their messages are and both or neither have a cause.
#[derive(Clone)]
pub struct ErrorCause(Arc<dyn std::error::Error + Send + Sync>);

impl ErrorCause {
    /// The underlying error.
    pub fn get(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        &*self.0
    }
}

// `Deref` rather than `Error`: the derived `source()` then returns the inner
// error itself, not this wrapper, so that callers can downcast it.
impl std::ops::Deref for ErrorCause {
    type Target = dyn std::error::Error + Send + Sync + 'static;

    fn deref(&self) -> &Self::Target {
        self.get()
    }
}

impl fmt::Debug for ErrorCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl PartialEq for ErrorCause {
    fn eq(&self, _: &ErrorCause) -> bool {
        // Errors of other libraries are rarely comparable; the message says enough.
        true
    }
}

impl Eq for ErrorCause {}

/// Every distinct failure, each with a stable reason code.
///
/// The `Display` text says what is wrong and, where it helps, what to fix. It never
/// contains the token. The request-side kinds (everything but [`ErrorKind::Config`]
/// and [`ErrorKind::Jwks`]) are safe to show to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The request carried no access token.
    #[error("no access token in the request")]
    TokenMissing,
    /// The request is malformed: for example two `Authorization` headers, or a
    /// token sent by more than one method (RFC 6750 §2).
    #[error("malformed request: {0}")]
    RequestMalformed(&'static str),
    /// The token is longer than the configured maximum.
    #[error("token longer than the maximum of {max} bytes")]
    TokenTooLarge {
        /// The configured maximum, in bytes.
        max: usize,
    },
    /// The token is not a well-formed compact JWS: dots, base64url, UTF-8, JSON.
    #[error("malformed token: {0}")]
    TokenMalformed(&'static str),
    /// The header's `alg` is not allowed for this issuer or for the key.
    #[error("algorithm not allowed: {0}")]
    AlgNotAllowed(&'static str),
    /// No key of the issuer has the token's `kid`.
    #[error("no key with this kid")]
    KidUnknown,
    /// The token has no `kid` and the issuer has more than one key for its algorithm.
    #[error("token has no kid and the issuer has several keys for its algorithm")]
    KidMissing,
    /// The signature does not verify.
    #[error("signature does not verify")]
    SignatureInvalid,
    /// `exp` is in the past (beyond the leeway).
    #[error("token expired")]
    TokenExpired,
    /// `nbf` is in the future (beyond the leeway).
    #[error("token not valid yet (nbf)")]
    TokenNotYetValid,
    /// `iat` is in the future (beyond the leeway).
    #[error("token issued in the future (iat)")]
    TokenIssuedInFuture,
    /// The token lives longer than the policy allows: `exp - iat` is more
    /// than [`ValidationPolicy::max_lifetime`](crate::ValidationPolicy::max_lifetime).
    #[error("token lifetime (exp - iat) longer than the {max_secs}s allowed")]
    TokenLifetimeExceeded {
        /// The longest lifetime allowed, in seconds.
        max_secs: u64,
    },
    /// `iss` is absent or not a configured issuer.
    #[error("issuer not trusted")]
    IssuerUnknown,
    /// `aud` is absent or names none of the configured audiences.
    #[error("audience does not name this resource")]
    AudienceMismatch,
    /// A claim the policy requires is absent (its name).
    #[error("required claim missing: {0}")]
    ClaimMissing(std::borrow::Cow<'static, str>),
    /// A claim has the wrong type or shape (for example a date that is not a JSON
    /// number).
    #[error("claim {claim} is invalid: must be {expected}")]
    ClaimInvalid {
        /// The claim's name (a dotted path for a nested scope claim).
        claim: std::borrow::Cow<'static, str>,
        /// What it must be, for example `"a string or an array of strings"`.
        expected: &'static str,
    },
    /// The header's `typ` is not one the policy accepts.
    #[error("token type (typ) not accepted")]
    TypMismatch,
    /// The token carries a claim only ID tokens have (`nonce`, `at_hash`,
    /// `c_hash`): an ID token is not an access token (RFC 9068 §4).
    #[error("the token carries {0}, a claim of OpenID Connect ID tokens, not of access tokens")]
    IdTokenClaims(&'static str),
    /// The header's `crit` lists an extension this verifier does not understand.
    #[error("critical header extension not supported")]
    CritUnsupported,
    /// The token is a nested JWT (`cty: JWT`), which is never accepted.
    #[error("nested tokens (cty JWT) are not accepted")]
    NestedTokenUnsupported,
    /// The token is bound to a key (`cnf`, RFC 7800: DPoP or mTLS) whose proof
    /// this service does not check, so it cannot be accepted as a bearer token
    /// (RFC 9449 §7.2).
    #[error("the token is bound to a key (cnf) and cannot be used as a bearer token")]
    TokenBound,
    /// The DPoP proof (RFC 9449 §4.3) was refused: 401 `invalid_dpop_proof`,
    /// or `use_dpop_nonce` with a fresh `DPoP-Nonce` when the nonce is missing
    /// or stale.
    #[error("{0}")]
    DpopProof(DpopFailure),
    /// The proof verified, but the token is not bound to it, or a bearer
    /// token was presented where a sender-constrained one is required: 401
    /// `invalid_token`.
    #[error("{0}")]
    Binding(BindingFailure),
    /// The issuer's keys are not available: never fetched, or stale beyond
    /// `max_stale`. The service's fault, not the token's: answered 503 with a
    /// `Retry-After`, without an RFC 6750 error.
    #[error("signing keys unavailable")]
    KeysUnavailable,
    /// The token is valid but lacks scopes the route requires (403).
    #[error("insufficient scope: the route requires {}{required}", if *one_of { "one of " } else { "" })]
    InsufficientScope {
        /// The scopes the route requires, space-delimited.
        required: String,
        /// Whether any one of `required` would do (otherwise all are needed).
        one_of: bool,
    },
    /// The ramp contract refuses the request (403): the consumer's stage does not
    /// allow a scope the route needs, the consumer or the route is unknown, or
    /// the token comes from another issuer than the contract's.
    ///
    /// Its challenge names no `scope`: a token with more scopes would not
    /// change the answer, and RFC 6750 §3.1's `scope` invites the client to get
    /// one. The description says what would.
    #[error("{}", describe_contract_denial(*.reason, .required, .stage.as_deref(), .stage_scopes.as_deref()))]
    ContractDenied {
        /// [`Reason::ScopeBeyondStage`], [`Reason::ConsumerUnknown`],
        /// [`Reason::RouteUnknown`] or [`Reason::IssuerNotInContract`].
        reason: Reason,
        /// The scopes the route requires, space-delimited (may be empty).
        required: String,
        /// For `scope_beyond_stage`: the consumer's current stage.
        stage: Option<String>,
        /// For `scope_beyond_stage`: the scopes that stage allows, space-delimited.
        stage_scopes: Option<String>,
    },
    /// The token carries two scopes or more of one separation-of-duties set
    /// (`[[separation]]` in the contract), and the route needs one of them
    /// (403 `insufficient_scope`, without `scope`: the cure is a token with
    /// fewer scopes, not more).
    #[error(
        "the contract refuses this request (separation_of_duties): the token carries {held}, which the separation {separation} keeps apart; use a token with only one of them"
    )]
    SeparationOfDuties {
        /// The separation's name.
        separation: String,
        /// The scopes of its set the token carries, space-delimited.
        held: String,
    },
    /// The route needs a stronger or fresher user authentication (RFC 9470): 401
    /// `insufficient_user_authentication` with `acr_values` and/or `max_age`.
    #[error("{}", .0.description())]
    StepUpRequired(Box<StepUpFailure>),
    /// The token verifies, but a revocation names it: its `jti`, its subject
    /// or consumer (issued before the cut-off), or the key that signed it.
    /// 401 `invalid_token`, with the reason of [`RevokedBy::reason`].
    #[error("{}", describe_revocation(*.0))]
    TokenRevoked(RevokedBy),
    /// The shared revocation store has been out of reach longer than its
    /// `max_stale`, and it is set to fail closed: whether the token is revoked
    /// is not known. The service's fault, answered 503 with a `Retry-After`,
    /// without an RFC 6750 error; the handler does not run.
    #[error("the revocations in force cannot be confirmed now; try again later")]
    RevocationUnavailable,
    /// The route demands fail-closed auditing and the audit queue could not
    /// take its event: the service's fault, answered 503 with a `Retry-After`,
    /// without an RFC 6750 error; the handler does not run.
    #[error("the audit record of this request cannot be kept; try again later")]
    AuditUnavailable,
    /// A gRPC method's path was requested without gRPC: not a `POST`, or a
    /// `content-type` other than `application/grpc`. Answered 415 before the
    /// method runs (a gRPC server dispatches on the path alone).
    #[error("this path is a gRPC method: call it over gRPC (POST, content-type application/grpc)")]
    GrpcRequired,
    /// The authorization layers cannot enforce what the route declares: a
    /// layer is missing, or stacked in the wrong order or place. The
    /// service's fault, answered 500 (gRPC `INTERNAL`); the text says what to
    /// fix.
    #[error("authorization layers misconfigured: {0}")]
    LayersMisconfigured(&'static str),
    /// A JWKS or OIDC discovery document could not be fetched or used.
    #[error("JWKS: {message}")]
    Jwks {
        /// What failed, for example `GET https://idp.example/jwks: HTTP 500`.
        message: String,
        /// The underlying error, when there is one (HTTP client, JSON parser).
        #[source]
        source: Option<ErrorCause>,
    },
    /// The configuration is invalid; the message says what to fix.
    #[error("configuration: {message}")]
    Config {
        /// What is wrong and what to fix.
        message: String,
        /// The underlying error, when there is one (for example reading a file).
        #[source]
        source: Option<ErrorCause>,
    },
}

impl ErrorKind {
    /// Every reason code a request can be denied with, for documentation and
    /// metrics: the codes of [`Reason::REQUEST`].
    pub const REQUEST_CODES: &'static [&'static str] = Reason::REQUEST_CODES;

    /// The stable reason, as a type.
    pub fn reason(&self) -> Reason {
        match self {
            ErrorKind::TokenMissing => Reason::TokenMissing,
            ErrorKind::RequestMalformed(_) => Reason::RequestMalformed,
            ErrorKind::TokenTooLarge { .. } => Reason::TokenTooLarge,
            ErrorKind::TokenMalformed(_) => Reason::TokenMalformed,
            ErrorKind::AlgNotAllowed(_) => Reason::AlgNotAllowed,
            ErrorKind::KidUnknown => Reason::KidUnknown,
            ErrorKind::KidMissing => Reason::KidMissing,
            ErrorKind::SignatureInvalid => Reason::SignatureInvalid,
            ErrorKind::TokenExpired => Reason::TokenExpired,
            ErrorKind::TokenNotYetValid => Reason::TokenNotYetValid,
            ErrorKind::TokenIssuedInFuture => Reason::TokenIssuedInFuture,
            ErrorKind::TokenLifetimeExceeded { .. } => Reason::TokenLifetimeExceeded,
            ErrorKind::IssuerUnknown => Reason::IssuerUnknown,
            ErrorKind::AudienceMismatch => Reason::AudienceMismatch,
            ErrorKind::ClaimMissing(_) => Reason::ClaimMissing,
            ErrorKind::ClaimInvalid { .. } => Reason::ClaimInvalid,
            ErrorKind::TypMismatch => Reason::TypMismatch,
            ErrorKind::IdTokenClaims(_) => Reason::IdTokenClaims,
            ErrorKind::CritUnsupported => Reason::CritUnsupported,
            ErrorKind::NestedTokenUnsupported => Reason::NestedTokenUnsupported,
            ErrorKind::TokenBound => Reason::TokenBound,
            ErrorKind::DpopProof(f) => f.reason(),
            ErrorKind::Binding(f) => f.reason(),
            ErrorKind::KeysUnavailable => Reason::KeysUnavailable,
            ErrorKind::InsufficientScope { .. } => Reason::ScopeInsufficient,
            ErrorKind::ContractDenied { reason, .. } => *reason,
            ErrorKind::SeparationOfDuties { .. } => Reason::SeparationOfDuties,
            ErrorKind::StepUpRequired(f) => f.reason(),
            ErrorKind::TokenRevoked(by) => by.reason(),
            ErrorKind::RevocationUnavailable => Reason::RevocationUnavailable,
            ErrorKind::AuditUnavailable => Reason::AuditUnavailable,
            ErrorKind::GrpcRequired => Reason::GrpcRequired,
            ErrorKind::LayersMisconfigured(_) => Reason::LayersMisconfigured,
            ErrorKind::Jwks { .. } => Reason::JwksError,
            ErrorKind::Config { .. } => Reason::ConfigInvalid,
        }
    }

    /// The stable, machine-readable reason code: `self.reason().as_str()`.
    pub fn code(&self) -> &'static str {
        self.reason().as_str()
    }

    /// The RFC 6750 §3.1 (or RFC 9470) error this failure is reported as, or
    /// `None` when the request simply carried no token (RFC 6750 §3.1: no
    /// `error` attribute then) or when the failure is the service's, not the
    /// token's (unavailable keys or audit, misconfigured layers), or a gRPC
    /// method called without gRPC: none of the codes describes those.
    pub fn bearer_error(&self) -> Option<BearerError> {
        match self {
            ErrorKind::TokenMissing
            | ErrorKind::KeysUnavailable
            | ErrorKind::RevocationUnavailable
            | ErrorKind::AuditUnavailable
            | ErrorKind::GrpcRequired
            | ErrorKind::LayersMisconfigured(_)
            | ErrorKind::Jwks { .. }
            | ErrorKind::Config { .. }
            | ErrorKind::DpopProof(DpopFailure::ReplayCacheFull) => None,
            ErrorKind::RequestMalformed(_) => Some(BearerError::InvalidRequest),
            ErrorKind::InsufficientScope { .. }
            | ErrorKind::ContractDenied { .. }
            | ErrorKind::SeparationOfDuties { .. } => Some(BearerError::InsufficientScope),
            ErrorKind::StepUpRequired(_) => Some(BearerError::InsufficientUserAuthentication),
            ErrorKind::DpopProof(DpopFailure::NonceRequired) => Some(BearerError::UseDpopNonce),
            ErrorKind::DpopProof(_) => Some(BearerError::InvalidDpopProof),
            _ => Some(BearerError::InvalidToken),
        }
    }

    /// The HTTP status a denial for this failure carries: 400 for a malformed
    /// request, 415 for a gRPC method called without gRPC, 500 for layers
    /// that cannot enforce the route, 403 for insufficient scope, 503 when
    /// the issuer's keys or the audit trail are not available, or the DPoP
    /// replay cache is full (the service cannot judge the token, or the
    /// proof, which may well be valid), 401 for everything
    /// else (RFC 9068 §4: every validation failure is `invalid_token`).
    pub fn status(&self) -> StatusCode {
        match self {
            ErrorKind::RequestMalformed(_) => StatusCode::BAD_REQUEST,
            ErrorKind::GrpcRequired => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorKind::LayersMisconfigured(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ErrorKind::InsufficientScope { .. }
            | ErrorKind::ContractDenied { .. }
            | ErrorKind::SeparationOfDuties { .. } => StatusCode::FORBIDDEN,
            ErrorKind::KeysUnavailable
            | ErrorKind::RevocationUnavailable
            | ErrorKind::AuditUnavailable
            | ErrorKind::Jwks { .. }
            | ErrorKind::Config { .. }
            | ErrorKind::DpopProof(DpopFailure::ReplayCacheFull) => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::UNAUTHORIZED,
        }
    }

    /// Whether the failure is the service's rather than the request's: the
    /// keys to judge the token are missing. Such denials are 503 with a
    /// `Retry-After`.
    pub fn is_unavailable(&self) -> bool {
        self.status() == StatusCode::SERVICE_UNAVAILABLE
    }
}

/// The `error` of a `WWW-Authenticate: Bearer` challenge (RFC 6750 §3.1,
/// RFC 9470 §3).
///
/// ```
/// use rampgate_core::{BearerError, ErrorKind};
///
/// assert_eq!(ErrorKind::TokenExpired.bearer_error(), Some(BearerError::InvalidToken));
/// assert_eq!(BearerError::InsufficientScope.as_str(), "insufficient_scope");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BearerError {
    /// `invalid_request`: the request is malformed (400).
    InvalidRequest,
    /// `invalid_token`: the token is expired, revoked, malformed or invalid (401).
    InvalidToken,
    /// `insufficient_scope`: the token lacks what the route requires (403).
    InsufficientScope,
    /// `insufficient_user_authentication`: the authentication is not strong
    /// or fresh enough (401, RFC 9470).
    InsufficientUserAuthentication,
    /// `invalid_dpop_proof`: the DPoP proof is invalid (401, RFC 9449 §7.1).
    InvalidDpopProof,
    /// `use_dpop_nonce`: the DPoP proof must carry the server's nonce (401,
    /// RFC 9449 §9).
    UseDpopNonce,
}

impl BearerError {
    /// The code, as the challenge and the body spell it.
    pub const fn as_str(self) -> &'static str {
        match self {
            BearerError::InvalidRequest => "invalid_request",
            BearerError::InvalidToken => "invalid_token",
            BearerError::InsufficientScope => "insufficient_scope",
            BearerError::InsufficientUserAuthentication => "insufficient_user_authentication",
            BearerError::InvalidDpopProof => "invalid_dpop_proof",
            BearerError::UseDpopNonce => "use_dpop_nonce",
        }
    }
}

impl fmt::Display for BearerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The description of a revocation refusal: what was revoked, and that a new
/// token may cure it only for a `jti` or a cut-off.
fn describe_revocation(by: RevokedBy) -> &'static str {
    match by {
        RevokedBy::Jti => "token revoked: this token (jti) is on the revocation list",
        RevokedBy::Sub => {
            "token revoked: tokens of this subject issued before the cut-off are refused"
        }
        RevokedBy::Consumer => {
            "token revoked: tokens of this client issued before the cut-off are refused"
        }
        RevokedBy::Kid => "token revoked: the key that signed it (kid) was revoked",
    }
}

/// The description of a contract refusal: which rule refused, and for the
/// refusals a new token cannot cure, that it cannot.
fn describe_contract_denial(
    reason: Reason,
    required: &str,
    stage: Option<&str>,
    stage_scopes: Option<&str>,
) -> String {
    let lead = format!("the contract refuses this request ({reason})");
    match reason {
        Reason::ScopeBeyondStage => {
            let allows = match stage_scopes {
                Some(s) if !s.is_empty() => s,
                _ => "no scope",
            };
            let stage = stage.map_or_else(String::new, |s| format!(" {s}"));
            format!(
                "{lead}: this client's current stage{stage} allows {allows}, not {required}; a new token will not change that"
            )
        }
        Reason::ConsumerUnknown => {
            format!(
                "{lead}: this client is not admitted to this API; a new token will not change that"
            )
        }
        Reason::IssuerNotInContract => {
            format!("{lead}: tokens of this issuer are not admitted to this API")
        }
        _ => lead,
    }
}

impl StepUpFailure {
    /// The error kind that renders the RFC 9470 challenge.
    pub fn into_error(self) -> Error {
        ErrorKind::StepUpRequired(Box::new(self)).into()
    }
}

impl From<StepUpFailure> for Error {
    fn from(failure: StepUpFailure) -> Self {
        failure.into_error()
    }
}

impl From<BindingFailure> for Error {
    fn from(failure: BindingFailure) -> Self {
        ErrorKind::Binding(failure).into()
    }
}

impl From<DpopFailure> for Error {
    fn from(failure: DpopFailure) -> Self {
        ErrorKind::DpopProof(failure).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn jwks_and_config_errors_keep_their_cause() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        let err = Error::jwks("GET https://idp/jwks: connection failed").caused_by(io);
        assert_eq!(err.code(), "jwks_error");
        assert_eq!(
            err.to_string(),
            "JWKS: GET https://idp/jwks: connection failed"
        );
        let source = err.source().expect("a source");
        assert_eq!(source.to_string(), "gone");
        assert!(source.downcast_ref::<std::io::Error>().is_some());
        let err = Error::config("bad").caused_by(std::fmt::Error);
        assert_eq!(err.to_string(), "configuration: bad");
        assert!(err.source().unwrap().is::<std::fmt::Error>());
        assert!(Error::config("bad").source().is_none());
    }

    #[test]
    fn errors_compare_by_message_not_by_cause() {
        let caused = Error::jwks("x").caused_by(std::fmt::Error);
        let io = std::io::Error::other("other cause");
        assert_eq!(caused, Error::jwks("x").caused_by(io));
        assert_eq!(caused, caused.clone());
        assert_ne!(caused, Error::jwks("y").caused_by(std::fmt::Error));
        assert_eq!(Error::jwks("x"), Error::jwks("x"));
        assert_ne!(Error::jwks("x"), Error::config("x"));
    }

    #[test]
    fn claim_invalid_names_the_claim_and_what_it_must_be() {
        let kind = ErrorKind::ClaimInvalid {
            claim: "aud".into(),
            expected: "a string or an array of strings",
        };
        assert_eq!(
            kind.to_string(),
            "claim aud is invalid: must be a string or an array of strings"
        );
        assert_eq!(kind.code(), "claim_invalid");
    }
}
