//! Why a sender-constrained token was refused: its DPoP proof
//! ([`DpopFailure`]) or its binding ([`BindingFailure`]). At the root, beside
//! the reason codes, so that `error` can name them without depending on the
//! verification that produces them (`binding`, `dpop`); public through
//! [`binding`](crate::binding).

use crate::reason::Reason;
use std::fmt;

/// Why a DPoP proof was refused (RFC 9449 §4.3): each failure its own reason
/// code, all `invalid_dpop_proof` in the challenge but the nonce's
/// (`use_dpop_nonce`) and a full replay cache's (503, no challenge error).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DpopFailure {
    /// `Authorization: DPoP` without a `DPoP` header.
    Missing,
    /// Two `DPoP` headers or more.
    Multiple,
    /// Not one well-formed JWT with the claims a proof must have; says what.
    Malformed(&'static str),
    /// `typ` is not `dpop+jwt`.
    Typ,
    /// `alg` is `none`, symmetric or not in the allow-list.
    Alg,
    /// The header's `jwk` is missing, unusable or private; says what.
    Jwk(&'static str),
    /// The signature does not verify with the header's `jwk`.
    Signature,
    /// `htm` is not the request's method.
    Htm,
    /// `htu` is not the request's URL.
    Htu,
    /// `iat` is outside the accepted window.
    Iat,
    /// The `jti` was seen within the window.
    Replayed,
    /// `ath` is not the access token's hash.
    Ath,
    /// No nonce, or not a current one: retry with the answer's `DPoP-Nonce`.
    NonceRequired,
    /// The proof is good, but the replay cache is full of `jti`s still inside
    /// their window: it cannot be recorded, so it is refused (503) rather
    /// than accepted without replay protection.
    ReplayCacheFull,
}

impl DpopFailure {
    /// The stable reason.
    pub const fn reason(&self) -> Reason {
        match self {
            DpopFailure::Missing => Reason::DpopProofMissing,
            DpopFailure::Multiple => Reason::DpopProofMultiple,
            DpopFailure::Malformed(_) => Reason::DpopProofMalformed,
            DpopFailure::Typ => Reason::DpopProofTyp,
            DpopFailure::Alg => Reason::DpopProofAlg,
            DpopFailure::Jwk(_) => Reason::DpopProofJwk,
            DpopFailure::Signature => Reason::DpopProofSignature,
            DpopFailure::Htm => Reason::DpopProofHtm,
            DpopFailure::Htu => Reason::DpopProofHtu,
            DpopFailure::Iat => Reason::DpopProofIat,
            DpopFailure::Replayed => Reason::DpopProofReplayed,
            DpopFailure::Ath => Reason::DpopProofAth,
            DpopFailure::NonceRequired => Reason::DpopNonceRequired,
            DpopFailure::ReplayCacheFull => Reason::DpopReplayCacheFull,
        }
    }
}

impl fmt::Display for DpopFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DpopFailure::Missing => {
                f.write_str("the DPoP scheme needs exactly one DPoP proof header")
            }
            DpopFailure::Multiple => f.write_str("more than one DPoP header"),
            DpopFailure::Malformed(why) => write!(f, "the DPoP proof is malformed: {why}"),
            DpopFailure::Typ => f.write_str("the DPoP proof's typ is not dpop+jwt"),
            DpopFailure::Alg => f.write_str(
                "the DPoP proof's alg is not an allowed asymmetric algorithm (see algs)",
            ),
            DpopFailure::Jwk(why) => write!(f, "the DPoP proof's jwk is unusable: {why}"),
            DpopFailure::Signature => f.write_str("the DPoP proof's signature does not verify"),
            DpopFailure::Htm => f.write_str("the DPoP proof's htm is not this request's method"),
            DpopFailure::Htu => f.write_str("the DPoP proof's htu is not this request's URL"),
            DpopFailure::Iat => f.write_str("the DPoP proof's iat is outside the accepted window"),
            DpopFailure::Replayed => {
                f.write_str("the DPoP proof was used before: make a new one per request")
            }
            DpopFailure::Ath => {
                f.write_str("the DPoP proof's ath is not the hash of this access token")
            }
            DpopFailure::NonceRequired => {
                f.write_str("the DPoP proof needs the nonce of the DPoP-Nonce header")
            }
            DpopFailure::ReplayCacheFull => f.write_str(
                "too many DPoP proofs in the replay window to record this one; try again later",
            ),
        }
    }
}

/// Why a sender-constrained token, or a route that requires one, was refused
/// although any proof presented verified. All `invalid_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BindingFailure {
    /// The DPoP proof's key is not the token's `cnf.jkt`.
    DpopKeyMismatch,
    /// `Authorization: DPoP` with a token that has no `cnf.jkt`.
    DpopTokenUnbound,
    /// A certificate-bound token without a client certificate.
    CertificateMissing,
    /// The client certificate is not the token's `cnf.x5t#S256`.
    CertificateMismatch,
    /// The issuer or route requires a sender-constrained token.
    SenderConstraintRequired,
}

impl BindingFailure {
    /// The stable reason.
    pub const fn reason(self) -> Reason {
        match self {
            BindingFailure::DpopKeyMismatch => Reason::DpopKeyMismatch,
            BindingFailure::DpopTokenUnbound => Reason::DpopTokenUnbound,
            BindingFailure::CertificateMissing => Reason::CertificateMissing,
            BindingFailure::CertificateMismatch => Reason::CertificateMismatch,
            BindingFailure::SenderConstraintRequired => Reason::SenderConstraintRequired,
        }
    }
}

impl fmt::Display for BindingFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BindingFailure::DpopKeyMismatch => {
                "the DPoP proof is signed by another key than the one the token is bound to (cnf.jkt)"
            }
            BindingFailure::DpopTokenUnbound => {
                "the DPoP scheme needs a DPoP-bound token (cnf.jkt); send this one as Bearer"
            }
            BindingFailure::CertificateMissing => {
                "the token is bound to a client certificate (cnf.x5t#S256) and the connection presented none"
            }
            BindingFailure::CertificateMismatch => {
                "the client certificate is not the one the token is bound to (cnf.x5t#S256)"
            }
            BindingFailure::SenderConstraintRequired => {
                "a sender-constrained token is required here (DPoP or a client certificate), not a bearer token"
            }
        })
    }
}
