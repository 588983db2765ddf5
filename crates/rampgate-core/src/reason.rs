//! Reason codes as types: every code a request can be denied with, the reasons
//! a contract decides with, and the unmet step-up conditions.
//!
//! Each enum has a stable [`as_str`](Reason::as_str) name, which is also its
//! serde name, so that denial bodies, logs and renderers (and, later, audit
//! events and metrics) read the same code and cannot drift apart. The lists ([`Reason::REQUEST`],
//! [`Reason::ALL`]) are generated from the enums, never kept by hand.

use std::fmt;

/// Declares a fieldless enum of reason codes with `ALL`, `as_str`, `Display`,
/// `FromStr` and a serde name equal to the code.
macro_rules! reason_codes {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $code:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),*];

            /// Every code, in declaration order (the codes of `ALL`).
            pub const CODES: &'static [&'static str] = &[$($code),*];

            /// The stable, machine-readable code.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $code,)*
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = UnknownReason;

            fn from_str(code: &str) -> Result<Self, UnknownReason> {
                match code {
                    $($code => Ok($name::$variant),)*
                    _ => Err(UnknownReason(code.to_owned())),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                code.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

/// A string that names no reason code of the type it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown reason code {0:?}")]
pub struct UnknownReason(pub String);

reason_codes! {
    /// Why a request, a token, a key set or a configuration was refused: the
    /// stable reason code of every [`ErrorKind`](crate::ErrorKind).
    ///
    /// ```
    /// use rampgate_core::Reason;
    ///
    /// assert_eq!(Reason::TokenExpired.as_str(), "token_expired");
    /// assert_eq!("kid_unknown".parse::<Reason>().unwrap(), Reason::KidUnknown);
    /// assert!(Reason::REQUEST.contains(&Reason::ScopeBeyondStage));
    /// assert!(!Reason::REQUEST.contains(&Reason::ConfigInvalid));
    /// ```
    #[non_exhaustive]
    pub enum Reason {
        /// The request carried no access token.
        TokenMissing = "token_missing",
        /// The request is malformed (RFC 6750 `invalid_request`).
        RequestMalformed = "request_malformed",
        /// The token is longer than the configured maximum.
        TokenTooLarge = "token_too_large",
        /// The token is not a well-formed compact JWS.
        TokenMalformed = "token_malformed",
        /// The header's `alg` is not allowed for the issuer or the key.
        AlgNotAllowed = "alg_not_allowed",
        /// No key of the issuer has the token's `kid`.
        KidUnknown = "kid_unknown",
        /// No `kid`, and several keys of the token's algorithm.
        KidMissing = "kid_missing",
        /// The signature does not verify.
        SignatureInvalid = "signature_invalid",
        /// `exp` is in the past.
        TokenExpired = "token_expired",
        /// `nbf` is in the future.
        TokenNotYetValid = "token_not_yet_valid",
        /// `iat` is in the future.
        TokenIssuedInFuture = "token_issued_in_future",
        /// The token lives longer than the policy's `max_lifetime` (`exp - iat`).
        TokenLifetimeExceeded = "token_lifetime_exceeded",
        /// `iss` names no trusted issuer.
        IssuerUnknown = "issuer_unknown",
        /// `aud` names none of the configured audiences.
        AudienceMismatch = "audience_mismatch",
        /// A required claim is absent.
        ClaimMissing = "claim_missing",
        /// A claim has the wrong type or shape.
        ClaimInvalid = "claim_invalid",
        /// The header's `typ` is not accepted.
        TypMismatch = "typ_mismatch",
        /// The token carries claims only ID tokens have (`nonce`, `at_hash`, `c_hash`).
        IdTokenClaims = "id_token_claims",
        /// The header's `crit` names an unsupported extension.
        CritUnsupported = "crit_unsupported",
        /// A nested JWT (`cty: JWT`).
        NestedTokenUnsupported = "nested_token_unsupported",
        /// A sender-constrained token (`cnf`) presented as a bearer token.
        TokenBound = "token_bound",
        /// `Authorization: DPoP` without a `DPoP` proof header (RFC 9449 §7.1).
        DpopProofMissing = "dpop_proof_missing",
        /// More than one `DPoP` header (RFC 9449 §4.3, check 1).
        DpopProofMultiple = "dpop_proof_multiple",
        /// The proof is not one well-formed JWT with `jti`, `htm`, `htu`, `iat`
        /// (and `ath` at a resource server).
        DpopProofMalformed = "dpop_proof_malformed",
        /// The proof's `typ` is not `dpop+jwt`.
        DpopProofTyp = "dpop_proof_typ",
        /// The proof's `alg` is `none`, symmetric or not allowed.
        DpopProofAlg = "dpop_proof_alg",
        /// The proof's header `jwk` is missing, unusable or holds a private key.
        DpopProofJwk = "dpop_proof_jwk",
        /// The proof's signature does not verify with its `jwk`.
        DpopProofSignature = "dpop_proof_signature",
        /// The proof's `htm` is not the request's method.
        DpopProofHtm = "dpop_proof_htm",
        /// The proof's `htu` is not the request's URL (without query and fragment).
        DpopProofHtu = "dpop_proof_htu",
        /// The proof's `iat` is outside the accepted window.
        DpopProofIat = "dpop_proof_iat",
        /// The proof's `jti` was seen before, within the window: a replay.
        DpopProofReplayed = "dpop_proof_replayed",
        /// The proof's `ath` is not the hash of the access token presented.
        DpopProofAth = "dpop_proof_ath",
        /// The proof carries no nonce, or one no longer current: the client
        /// retries with the `DPoP-Nonce` of the answer (`use_dpop_nonce`).
        DpopNonceRequired = "dpop_nonce_required",
        /// The DPoP replay cache holds as many unexpired `jti`s as it may: a
        /// new proof cannot be recorded, so it is refused rather than a replay
        /// let through (503, the service's fault).
        DpopReplayCacheFull = "dpop_replay_cache_full",
        /// The proof's key is not the key the token is bound to (`cnf.jkt`).
        DpopKeyMismatch = "dpop_key_mismatch",
        /// `Authorization: DPoP` with a token that is not DPoP-bound (no `cnf.jkt`).
        DpopTokenUnbound = "dpop_token_unbound",
        /// A certificate-bound token (`cnf.x5t#S256`) without a client certificate.
        CertificateMissing = "certificate_missing",
        /// The client certificate is not the one the token is bound to.
        CertificateMismatch = "certificate_mismatch",
        /// The issuer or the route requires a sender-constrained token (DPoP or
        /// a client certificate) and a bearer token was presented.
        SenderConstraintRequired = "sender_constraint_required",
        /// The issuer's keys are not available (never fetched, or stale).
        KeysUnavailable = "keys_unavailable",
        /// The token lacks scopes the route requires.
        ScopeInsufficient = "scope_insufficient",
        /// The token has the scopes, but the consumer's ramp stage does not allow them.
        ScopeBeyondStage = "scope_beyond_stage",
        /// The contract names no such consumer and refuses unknown ones.
        ConsumerUnknown = "consumer_unknown",
        /// The contract names no such route and refuses unknown ones.
        RouteUnknown = "route_unknown",
        /// The contract names another issuer than the token's `iss`.
        IssuerNotInContract = "issuer_not_in_contract",
        /// The token carries two scopes or more of one separation-of-duties
        /// set (`[[separation]]`) and the route needs one of them.
        SeparationOfDuties = "separation_of_duties",
        /// Step-up: the `acr` is not strong enough.
        AcrInsufficient = "acr_insufficient",
        /// Step-up: required `amr` methods are missing.
        AmrMissing = "amr_missing",
        /// Step-up: the route needs `auth_time` and the token has none.
        AuthTimeMissing = "auth_time_missing",
        /// Step-up: the authentication is older than the route's `max_age`.
        AuthTimeStale = "auth_time_stale",
        /// The token's `jti` is on the revocation list.
        TokenRevokedJti = "token_revoked_jti",
        /// The token's subject was revoked: it was issued before the subject's cut-off.
        TokenRevokedSub = "token_revoked_sub",
        /// The token's consumer (`client_id`) was revoked: it was issued before the consumer's cut-off.
        TokenRevokedConsumer = "token_revoked_consumer",
        /// The key that signed the token (`kid`) was revoked.
        TokenRevokedKid = "token_revoked_kid",
        /// The revocations in force are not known: the shared revocation
        /// store has been out of reach longer than its `max_stale` and is set
        /// to fail closed (503, with `Retry-After`): the handler did not run.
        RevocationUnavailable = "revocation_unavailable",
        /// The route demands fail-closed auditing and its audit event could not
        /// be queued (503, with `Retry-After`): the handler did not run.
        AuditUnavailable = "audit_unavailable",
        /// A gRPC method was called without gRPC (it takes a `POST` with
        /// `content-type: application/grpc`): answered 415 before the method
        /// runs, as the gRPC protocol asks, so that no other client reads a
        /// gRPC answer's HTTP 200 as a success.
        GrpcRequired = "grpc_required",
        /// The authorization layers cannot enforce what the route declares
        /// (a layer missing, or stacked in the wrong order or place): the
        /// service's fault, answered 500 (gRPC `INTERNAL`) without running the
        /// handler. The description says what to fix.
        LayersMisconfigured = "layers_misconfigured",
        /// A JWKS or discovery document could not be fetched or used (never
        /// shown to a client: it is reported as `keys_unavailable`).
        JwksError = "jwks_error",
        /// The configuration is invalid (never the answer to a request).
        ConfigInvalid = "config_invalid",
    }
}

impl Reason {
    /// Every code a request can be denied with: [`Reason::ALL`] less the two
    /// that describe the service itself (`jwks_error`, `config_invalid`).
    pub const REQUEST: &'static [Reason] = Reason::ALL.split_at(Reason::ALL.len() - 2).0;

    /// The codes of [`Reason::REQUEST`], as strings.
    pub const REQUEST_CODES: &'static [&'static str] =
        Reason::CODES.split_at(Reason::CODES.len() - 2).0;

    /// Whether this is a step-up refusal (RFC 9470
    /// `insufficient_user_authentication`): the authentication is not
    /// strong or fresh enough.
    ///
    /// ```
    /// use rampgate_core::Reason;
    ///
    /// assert!(Reason::AcrInsufficient.is_step_up());
    /// assert!(!Reason::ScopeInsufficient.is_step_up());
    /// ```
    pub const fn is_step_up(self) -> bool {
        matches!(
            self,
            Reason::AcrInsufficient
                | Reason::AmrMissing
                | Reason::AuthTimeMissing
                | Reason::AuthTimeStale
        )
    }
}

reason_codes! {
    /// How a request ended when no layer answered it: the reason of its audit
    /// event then.
    #[non_exhaustive]
    pub enum EndReason {
        /// The client went away before the answer (status 499).
        RequestCancelled = "request_cancelled",
        /// The handler panicked (status 500, under a `CatchPanicLayer`).
        HandlerPanicked = "handler_panicked",
    }
}

/// The reason of an audit `decision` event: a refusal's [`Reason`], an
/// allowing one (`allowed`, `route_unlisted_allowed`), or how a request ended
/// unanswered ([`EndReason`]).
///
/// Each code has one variant: a contract's denying reasons are [`Reason`]s
/// (`scope_insufficient` is one whether refused or observed), so a code reads
/// back as the value it was written from.
///
/// ```
/// use rampgate_core::{DecisionReason, EventReason, Reason};
///
/// let observed = EventReason::from(DecisionReason::ScopeInsufficient);
/// assert_eq!(observed, EventReason::Refused(Reason::ScopeInsufficient));
/// assert_eq!("allowed".parse::<EventReason>().unwrap(), EventReason::Allowed);
/// assert_eq!(observed.as_str(), "scope_insufficient");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventReason {
    /// A refusal (or an observed would-be refusal) with this reason.
    Refused(Reason),
    /// `allowed`.
    Allowed,
    /// `route_unlisted_allowed`: the contract lets unlisted routes through.
    RouteUnlistedAllowed,
    /// No answer: the client went away, or the handler panicked.
    Ended(EndReason),
}

impl EventReason {
    /// The stable code.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventReason::Refused(r) => r.as_str(),
            EventReason::Allowed => DecisionReason::Allowed.as_str(),
            EventReason::RouteUnlistedAllowed => DecisionReason::RouteUnlistedAllowed.as_str(),
            EventReason::Ended(e) => e.as_str(),
        }
    }

    /// The refusal's reason, for a refusal.
    pub const fn refusal(self) -> Option<Reason> {
        match self {
            EventReason::Refused(r) => Some(r),
            _ => None,
        }
    }
}

impl From<Reason> for EventReason {
    fn from(reason: Reason) -> Self {
        EventReason::Refused(reason)
    }
}

impl From<DecisionReason> for EventReason {
    fn from(reason: DecisionReason) -> Self {
        match (reason.denial(), reason) {
            (Some(r), _) => EventReason::Refused(r),
            (None, DecisionReason::RouteUnlistedAllowed) => EventReason::RouteUnlistedAllowed,
            (None, _) => EventReason::Allowed,
        }
    }
}

impl From<EndReason> for EventReason {
    fn from(reason: EndReason) -> Self {
        EventReason::Ended(reason)
    }
}

impl fmt::Display for EventReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventReason {
    type Err = UnknownReason;

    fn from_str(code: &str) -> Result<Self, UnknownReason> {
        if let Ok(d) = code.parse::<DecisionReason>()
            && d.denial().is_none()
        {
            return Ok(d.into());
        }
        if let Ok(r) = code.parse::<Reason>() {
            return Ok(r.into());
        }
        code.parse::<EndReason>().map(Into::into)
    }
}

impl serde::Serialize for EventReason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for EventReason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        code.parse().map_err(serde::de::Error::custom)
    }
}

reason_codes! {
    /// Why a contract [`Decision`](crate::contract::Decision) came out as it did.
    #[non_exhaustive]
    pub enum DecisionReason {
        /// The request is allowed.
        Allowed = "allowed",
        /// The route is not in the contract, which lets unlisted routes through.
        RouteUnlistedAllowed = "route_unlisted_allowed",
        /// The token lacks a scope the route requires.
        ScopeInsufficient = "scope_insufficient",
        /// The token has the scope, but the consumer's current stage does not allow it.
        ScopeBeyondStage = "scope_beyond_stage",
        /// The consumer is not in the contract, which refuses unknown consumers.
        ConsumerUnknown = "consumer_unknown",
        /// The route is not in the contract, which refuses unlisted routes.
        RouteUnknown = "route_unknown",
        /// The token's issuer is not the one the contract applies to.
        IssuerNotInContract = "issuer_not_in_contract",
        /// The token carries two scopes or more of one separation-of-duties
        /// set, one of which the route needs.
        SeparationOfDuties = "separation_of_duties",
    }
}

impl DecisionReason {
    /// The denial reason this decision reason stands for, or `None` for the two
    /// that allow.
    pub const fn denial(self) -> Option<Reason> {
        match self {
            DecisionReason::Allowed | DecisionReason::RouteUnlistedAllowed => None,
            DecisionReason::ScopeInsufficient => Some(Reason::ScopeInsufficient),
            DecisionReason::ScopeBeyondStage => Some(Reason::ScopeBeyondStage),
            DecisionReason::ConsumerUnknown => Some(Reason::ConsumerUnknown),
            DecisionReason::RouteUnknown => Some(Reason::RouteUnknown),
            DecisionReason::IssuerNotInContract => Some(Reason::IssuerNotInContract),
            DecisionReason::SeparationOfDuties => Some(Reason::SeparationOfDuties),
        }
    }
}

reason_codes! {
    /// One unmet condition of a [`StepUpPolicy`](crate::StepUpPolicy).
    #[non_exhaustive]
    pub enum StepUpReason {
        /// The `acr` is absent or weaker than required.
        AcrInsufficient = "acr_insufficient",
        /// Required `amr` methods are missing.
        AmrMissing = "amr_missing",
        /// The policy has a `max_age` and the token has no `auth_time`.
        AuthTimeMissing = "auth_time_missing",
        /// The authentication is older than `max_age`.
        AuthTimeStale = "auth_time_stale",
    }
}

impl StepUpReason {
    /// The same code as a [`Reason`].
    pub const fn reason(self) -> Reason {
        match self {
            StepUpReason::AcrInsufficient => Reason::AcrInsufficient,
            StepUpReason::AmrMissing => Reason::AmrMissing,
            StepUpReason::AuthTimeMissing => Reason::AuthTimeMissing,
            StepUpReason::AuthTimeStale => Reason::AuthTimeStale,
        }
    }

    /// What the user must do, in words a client can show.
    pub const fn describe(self) -> &'static str {
        match self {
            StepUpReason::AcrInsufficient => "a stronger authentication level (acr) is required",
            StepUpReason::AmrMissing => "other authentication methods (amr) are required",
            StepUpReason::AuthTimeMissing => "the time of authentication (auth_time) is required",
            StepUpReason::AuthTimeStale => "a more recent authentication is required",
        }
    }

    /// Whether the condition is about the strength of the authentication
    /// (answered with `acr_values`) rather than its age (`max_age`).
    pub const fn is_strength(self) -> bool {
        matches!(
            self,
            StepUpReason::AcrInsufficient | StepUpReason::AmrMissing
        )
    }
}

reason_codes! {
    /// What a revocation names: the token itself (`jti`), every token of a
    /// subject or of a consumer issued before a cut-off, or every token a key
    /// signed. Each has its own [`Reason`] ([`RevokedBy::reason`]).
    #[non_exhaustive]
    pub enum RevokedBy {
        /// One token, by its `jti`.
        Jti = "jti",
        /// Every token of a subject (`sub`) issued before a cut-off.
        Sub = "sub",
        /// Every token of a consumer (`client_id`, or `azp`) issued before a cut-off.
        Consumer = "consumer",
        /// Every token signed by a key (`kid`) of an issuer.
        Kid = "kid",
    }
}

impl RevokedBy {
    /// The reason code a token refused by this revocation carries.
    pub const fn reason(self) -> Reason {
        match self {
            RevokedBy::Jti => Reason::TokenRevokedJti,
            RevokedBy::Sub => Reason::TokenRevokedSub,
            RevokedBy::Consumer => Reason::TokenRevokedConsumer,
            RevokedBy::Kid => Reason::TokenRevokedKid,
        }
    }
}

/// Why a principal's authentication is not strong or fresh enough: what a
/// [`StepUpPolicy`](crate::StepUpPolicy) check returns, and what the RFC 9470
/// challenge is rendered from.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct StepUpFailure {
    /// Every unmet condition, in the order acr, amr, auth_time.
    pub reasons: Vec<StepUpReason>,
    /// The `acr_values` to ask for, when the `acr` or `amr` condition failed.
    pub acr_values: Option<String>,
    /// The `max_age` to ask for, when the authentication is too old or undated.
    pub max_age: Option<u64>,
}

impl StepUpFailure {
    /// A failure with these unmet conditions and challenge parameters.
    pub fn new(
        reasons: Vec<StepUpReason>,
        acr_values: Option<String>,
        max_age: Option<u64>,
    ) -> Self {
        StepUpFailure {
            reasons,
            acr_values,
            max_age,
        }
    }

    /// The reason code the denial carries: that of the first unmet condition.
    pub fn reason(&self) -> Reason {
        self.reasons
            .first()
            .map_or(Reason::AcrInsufficient, |r| r.reason())
    }

    /// Every unmet condition in words, `; `-separated.
    pub fn description(&self) -> String {
        let words: Vec<&str> = self.reasons.iter().map(|r| r.describe()).collect();
        words.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in Reason::ALL {
            assert!(seen.insert(r.as_str()), "{r} twice");
            assert_eq!(r.as_str().parse::<Reason>(), Ok(*r));
            assert_eq!(serde_json::to_string(r).unwrap(), format!("\"{r}\""));
        }
        assert_eq!(
            "nope".parse::<Reason>(),
            Err(UnknownReason("nope".to_owned()))
        );
    }

    #[test]
    fn every_event_reason_reads_back_as_written() {
        let all = Reason::ALL
            .iter()
            .map(|r| EventReason::from(*r))
            .chain(DecisionReason::ALL.iter().map(|d| EventReason::from(*d)))
            .chain(EndReason::ALL.iter().map(|e| EventReason::from(*e)));
        for reason in all {
            assert_eq!(
                reason.as_str().parse::<EventReason>(),
                Ok(reason),
                "{reason}"
            );
            let json = serde_json::to_string(&reason).unwrap();
            assert_eq!(serde_json::from_str::<EventReason>(&json).unwrap(), reason);
        }
        assert!("no_such_code".parse::<EventReason>().is_err());
    }

    #[test]
    fn request_codes_leave_out_the_service_side_ones() {
        assert_eq!(Reason::REQUEST.len(), Reason::ALL.len() - 2);
        assert_eq!(Reason::REQUEST.last(), Some(&Reason::LayersMisconfigured));
        assert!(!Reason::REQUEST.contains(&Reason::JwksError));
        let codes: Vec<&str> = Reason::REQUEST.iter().map(|r| r.as_str()).collect();
        assert_eq!(codes, Reason::REQUEST_CODES);
    }

    #[test]
    fn decision_and_step_up_reasons_name_the_same_codes() {
        for d in DecisionReason::ALL {
            if let Some(r) = d.denial() {
                assert_eq!(r.as_str(), d.as_str());
                assert!(Reason::REQUEST.contains(&r));
            }
        }
        for s in StepUpReason::ALL {
            assert_eq!(s.reason().as_str(), s.as_str());
        }
        for b in RevokedBy::ALL {
            assert_eq!(b.reason().as_str(), format!("token_revoked_{b}"));
            assert!(Reason::REQUEST.contains(&b.reason()));
        }
    }
}
