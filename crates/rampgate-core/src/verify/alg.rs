//! The JWS signature algorithms rampgate verifies (RFC 7518, RFC 8037), by name
//! and by family.
//!
//! This is the one place that knows the JOSE names; `backend` maps them onto the
//! crypto backend's own types.

use crate::error::{Error, ErrorKind};
use std::fmt;
use std::str::FromStr;

/// A JWS signature algorithm rampgate can verify.
///
/// `none` is not one of them, and never will be.
///
/// ```
/// use rampgate_core::Algorithm;
///
/// let alg: Algorithm = "ES256".parse().unwrap();
/// assert_eq!(alg, Algorithm::ES256);
/// assert_eq!(alg.as_str(), "ES256");
/// assert!(alg.is_ecdsa() && !alg.is_hmac());
/// assert!("none".parse::<Algorithm>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Algorithm {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// EdDSA on Ed25519 (RFC 8037).
    EdDSA,
    /// HMAC with SHA-256 (a shared secret).
    HS256,
    /// HMAC with SHA-384 (a shared secret).
    HS384,
    /// HMAC with SHA-512 (a shared secret).
    HS512,
}

impl Algorithm {
    /// The asymmetric algorithms, which a [`ValidationPolicy`](crate::ValidationPolicy)
    /// allows by default.
    pub const ASYMMETRIC: [Algorithm; 9] = [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::EdDSA,
    ];

    /// The JOSE name (`"RS256"`, `"EdDSA"`, ...), as it appears in a header's `alg`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::EdDSA => "EdDSA",
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
        }
    }

    /// RSA signatures, PKCS#1 v1.5 (`RS*`) or PSS (`PS*`).
    pub const fn is_rsa(self) -> bool {
        matches!(
            self,
            Algorithm::RS256
                | Algorithm::RS384
                | Algorithm::RS512
                | Algorithm::PS256
                | Algorithm::PS384
                | Algorithm::PS512
        )
    }

    /// ECDSA signatures (`ES256`, `ES384`).
    pub const fn is_ecdsa(self) -> bool {
        matches!(self, Algorithm::ES256 | Algorithm::ES384)
    }

    /// Edwards-curve signatures (`EdDSA`).
    pub const fn is_eddsa(self) -> bool {
        matches!(self, Algorithm::EdDSA)
    }

    /// HMAC with a shared secret (`HS*`): anyone who can verify can also sign.
    pub const fn is_hmac(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }
}

impl FromStr for Algorithm {
    type Err = Error;

    /// Parses a JOSE `alg` name exactly. `none`, unknown names and case variants
    /// are refused with `alg_not_allowed`. `Ed25519` (the fully-specified name of
    /// RFC 9864) is read as `EdDSA`.
    fn from_str(name: &str) -> Result<Self, Error> {
        Ok(match name {
            "RS256" => Algorithm::RS256,
            "RS384" => Algorithm::RS384,
            "RS512" => Algorithm::RS512,
            "PS256" => Algorithm::PS256,
            "PS384" => Algorithm::PS384,
            "PS512" => Algorithm::PS512,
            "ES256" => Algorithm::ES256,
            "ES384" => Algorithm::ES384,
            "EdDSA" | "Ed25519" => Algorithm::EdDSA,
            "HS256" => Algorithm::HS256,
            "HS384" => Algorithm::HS384,
            "HS512" => Algorithm::HS512,
            "none" => return Err(ErrorKind::AlgNotAllowed("alg none never verifies").into()),
            _ => return Err(ErrorKind::AlgNotAllowed("unknown algorithm").into()),
        })
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> impl Iterator<Item = Algorithm> {
        Algorithm::ASYMMETRIC.into_iter().chain([
            Algorithm::HS256,
            Algorithm::HS384,
            Algorithm::HS512,
        ])
    }

    #[test]
    fn names_round_trip() {
        for alg in all() {
            assert_eq!(alg.as_str().parse::<Algorithm>().unwrap(), alg);
            assert_eq!(alg.to_string(), alg.as_str());
        }
        assert_eq!("Ed25519".parse::<Algorithm>().unwrap(), Algorithm::EdDSA);
    }

    #[test]
    fn none_unknown_and_case_variants_are_refused() {
        for name in ["none", "NONE", "rs256", "ES512", ""] {
            let err = name.parse::<Algorithm>().unwrap_err();
            assert_eq!(err.code(), "alg_not_allowed", "{name}");
        }
    }

    #[test]
    fn every_algorithm_is_in_exactly_one_family() {
        for alg in all() {
            let families = [alg.is_rsa(), alg.is_ecdsa(), alg.is_eddsa(), alg.is_hmac()];
            assert_eq!(families.iter().filter(|f| **f).count(), 1, "{alg}");
            assert_eq!(
                Algorithm::ASYMMETRIC.contains(&alg),
                !alg.is_hmac(),
                "{alg}"
            );
        }
    }
}
