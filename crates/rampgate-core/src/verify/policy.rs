//! What a token must satisfy, with strict defaults.

use crate::alg::Algorithm;
use crate::error::{Error, Result};
use std::time::Duration;

/// The validation rules for the tokens of one issuer.
///
/// The defaults are strict: only asymmetric algorithms, `iss`, `aud` and `exp`
/// required, 60 s of leeway. Loosening a rule is always an explicit call.
/// (The token lifetime is not capped by default; `rampgate::config` caps it at
/// 24 hours unless told otherwise. See [`ValidationPolicy::max_lifetime`].)
///
/// ```
/// use rampgate_core::{Algorithm, ValidationPolicy};
/// use std::time::Duration;
///
/// let policy = ValidationPolicy::default()
///     .require_typ_at_jwt()
///     .algorithms([Algorithm::ES256, Algorithm::EdDSA])
///     .leeway(Duration::from_secs(30));
/// assert_eq!(policy.leeway, Duration::from_secs(30));
/// assert_eq!(policy.algorithms, [Algorithm::ES256, Algorithm::EdDSA]);
/// ```
#[derive(Debug, Clone)]
pub struct ValidationPolicy {
    /// Algorithms a token may use. Each key is also bound to one algorithm, so a
    /// token must match both.
    ///
    /// Defaults to RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA.
    /// HS256/384/512 are added automatically for an issuer configured with an HMAC
    /// secret, and never otherwise.
    pub algorithms: Vec<Algorithm>,
    /// Clock skew tolerated on `exp`, `nbf` and `iat`.
    ///
    /// Defaults to 60 seconds. RFC 9068 §4 allows "a few minutes" at most; values
    /// over 5 minutes are refused when the verifier is built.
    pub leeway: Duration,
    /// Accepted `typ` header values (compared case-insensitively), or `None` for
    /// the default rule.
    ///
    /// Defaults to `None`: no `typ`, `JWT` and every access-token type (`at+jwt`,
    /// `application/at+jwt`, vendor types ending in `-at+jwt` such as
    /// `application/okta-internal-at+jwt`) are accepted, and every other
    /// `…+jwt` type (`logout+jwt`, `secevent+jwt`, `dpop+jwt`, `id_token+jwt`…)
    /// is refused with `typ_mismatch`: those JWTs are signed by the same issuer
    /// for other purposes and must never pass as access tokens (RFC 8725 §3.11).
    /// [`ValidationPolicy::require_typ_at_jwt`] requires the RFC 9068 values.
    pub required_typ: Option<Vec<String>>,
    /// Whether tokens carrying claims only ID tokens have (`nonce`, `at_hash`,
    /// `c_hash`) are accepted.
    ///
    /// Defaults to `false`: such a token is refused with `id_token_claims`, since
    /// an OpenID Connect ID token whose `aud` happens to name this resource (a
    /// client and an API sharing one identifier) would otherwise pass as an
    /// access token. See [`ValidationPolicy::allow_id_token_claims`].
    pub allow_id_token_claims: bool,
    /// Claims that must be present besides `iss`, `aud` and `exp` (always required).
    ///
    /// Defaults to none. [`ValidationPolicy::rfc9068`] requires `sub`, `client_id`,
    /// `iat` and `jti`.
    pub required_claims: Vec<String>,
    /// Claims the principal's scopes are read from. Each is a dotted path into the
    /// claims (`realm_access.roles`) holding a space-delimited string or an array of
    /// strings.
    ///
    /// Defaults to `scope` and `scp`. Add `permissions` for Auth0 or
    /// `realm_access.roles` for Keycloak with [`ValidationPolicy::scope_claim`].
    pub scope_claims: Vec<String>,
    /// The longest lifetime a token may have, `exp - iat`, or `None` for no
    /// limit. When set, `iat` is required (`claim_missing`) and a token whose
    /// lifetime is longer is refused with `token_lifetime_exceeded`, however
    /// long before its `exp` it is presented.
    ///
    /// Defaults to `None`. See [`ValidationPolicy::max_lifetime`].
    pub max_lifetime: Option<Duration>,
    /// Whether every token of the issuer must be sender-constrained (a `cnf`
    /// proved by DPoP or by the client certificate): a bearer token is then
    /// refused with `sender_constraint_required`.
    ///
    /// Defaults to `false`: bearer tokens are accepted, and a bound token
    /// only with its proof. A contract can require binding per route
    /// (`sender_constrained = "required"` in a trust level).
    pub require_sender_constrained: bool,
}

impl Default for ValidationPolicy {
    fn default() -> Self {
        ValidationPolicy {
            algorithms: Algorithm::ASYMMETRIC.to_vec(),
            leeway: Duration::from_secs(60),
            required_typ: None,
            allow_id_token_claims: false,
            required_claims: Vec::new(),
            scope_claims: vec!["scope".into(), "scp".into()],
            max_lifetime: None,
            require_sender_constrained: false,
        }
    }
}

/// The most leeway a policy may have (RFC 9068 §4: "a few minutes").
const MAX_LEEWAY: Duration = Duration::from_secs(300);

impl ValidationPolicy {
    /// The RFC 9068 profile: `typ` must be `at+jwt` or `application/at+jwt`, and
    /// `sub`, `client_id`, `iat` and `jti` must be present.
    pub fn rfc9068() -> Self {
        ValidationPolicy::default()
            .require_typ_at_jwt()
            .require_claims(["sub", "client_id", "iat", "jti"])
    }

    /// Requires `typ` to be `at+jwt` or `application/at+jwt` (RFC 9068 §4).
    pub fn require_typ_at_jwt(mut self) -> Self {
        self.required_typ = Some(vec!["at+jwt".into(), "application/at+jwt".into()]);
        self
    }

    /// Accepts tokens that carry `nonce`, `at_hash` or `c_hash`.
    ///
    /// **Warning:** these claims are what tells an ID token from an access
    /// token when both have `typ: JWT`; with this call an ID token whose `aud`
    /// names this resource is accepted as an access token. Use it only for an
    /// issuer known to put them on access tokens (Keycloak before 25.0 adds
    /// `nonce` to the access token when the client sent one), and prefer
    /// [`ValidationPolicy::require_typ_at_jwt`] where the issuer supports it.
    pub fn allow_id_token_claims(mut self) -> Self {
        self.allow_id_token_claims = true;
        self
    }

    /// Sets the leeway on `exp`, `nbf` and `iat`.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Refuses tokens that live longer than `max`: those whose `exp - iat` is
    /// more than `max` (`token_lifetime_exceeded`), and those without `iat`
    /// (`claim_missing`), whose lifetime cannot be known. A stolen token is
    /// only good until its `exp`; this keeps an issuer misconfigured to mint
    /// tokens valid for months (or an `exp` in 2099) from being honoured.
    ///
    /// The major identity providers issue access tokens living at most a day
    /// by default (docs/getting-started.md lists them), so 24 hours breaks
    /// none of them. The leeway does not apply: the lifetime is the issuer's
    /// choice, not a matter of clocks. A zero `max` is refused when the
    /// verifier is built.
    ///
    /// ```
    /// use rampgate_core::ValidationPolicy;
    /// use std::time::Duration;
    ///
    /// let policy = ValidationPolicy::default().max_lifetime(Duration::from_secs(24 * 3600));
    /// assert_eq!(policy.max_lifetime, Some(Duration::from_secs(86_400)));
    /// ```
    pub fn max_lifetime(mut self, max: Duration) -> Self {
        self.max_lifetime = Some(max);
        self
    }

    /// Refuses bearer tokens of this issuer: each token must be bound to a
    /// DPoP key or a client certificate (`cnf`) and presented with its proof.
    ///
    /// ```
    /// use rampgate_core::ValidationPolicy;
    ///
    /// assert!(ValidationPolicy::default().require_sender_constrained().require_sender_constrained);
    /// ```
    pub fn require_sender_constrained(mut self) -> Self {
        self.require_sender_constrained = true;
        self
    }

    /// Restricts the algorithms. JOSE names parse with `"ES256".parse::<Algorithm>()`.
    pub fn algorithms(mut self, algs: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = algs.into_iter().collect();
        self
    }

    /// Adds claims that must be present.
    pub fn require_claims<I, S>(mut self, claims: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.required_claims
            .extend(claims.into_iter().map(Into::into));
        self
    }

    /// Adds a claim path scopes are read from (`"permissions"`, `"realm_access.roles"`).
    pub fn scope_claim(mut self, path: impl Into<String>) -> Self {
        self.scope_claims.push(path.into());
        self
    }

    /// Checks the policy.
    pub(crate) fn compile(&self) -> Result<CompiledPolicy> {
        if self.leeway > MAX_LEEWAY {
            return Err(Error::config(format!(
                "leeway of {}s is more than the 300s allowed",
                self.leeway.as_secs()
            )));
        }
        if self.algorithms.iter().any(|alg| alg.is_hmac()) {
            return Err(Error::config(
                "HMAC algorithms are enabled by configuring the issuer with Key::hmac, not in the policy",
            ));
        }
        if self.algorithms.is_empty() {
            return Err(Error::config("the policy allows no algorithm"));
        }
        if self.max_lifetime.is_some_and(|max| max.is_zero()) {
            return Err(Error::config(
                "a max_lifetime of 0 refuses every token: set a positive one, or none to not limit the lifetime",
            ));
        }
        Ok(CompiledPolicy {
            algorithms: self.algorithms.clone(),
            leeway: self.leeway.as_secs_f64(),
            required_typ: self
                .required_typ
                .as_ref()
                .map(|t| t.iter().map(|s| s.to_ascii_lowercase()).collect()),
            allow_id_token_claims: self.allow_id_token_claims,
            required_claims: self.required_claims.clone(),
            scope_claims: self
                .scope_claims
                .iter()
                .map(|p| p.split('.').map(str::to_owned).collect())
                .collect(),
            max_lifetime: self.max_lifetime.map(|max| max.as_secs_f64()),
            require_sender_constrained: self.require_sender_constrained,
        })
    }
}

#[derive(Debug, Clone)]
pub(crate) struct CompiledPolicy {
    pub(crate) algorithms: Vec<Algorithm>,
    pub(crate) leeway: f64,
    pub(crate) required_typ: Option<Vec<String>>,
    pub(crate) allow_id_token_claims: bool,
    pub(crate) required_claims: Vec<String>,
    pub(crate) scope_claims: Vec<Vec<String>>,
    /// The longest `exp - iat` accepted, in seconds.
    pub(crate) max_lifetime: Option<f64>,
    pub(crate) require_sender_constrained: bool,
}

/// Claims that only OpenID Connect ID tokens carry (OIDC Core §2, §3.3.2.11).
pub const ID_TOKEN_CLAIMS: [&str; 3] = ["nonce", "at_hash", "c_hash"];

/// Whether `typ` names a kind of JWT other than an access token: a media type
/// (with or without `application/`) ending in `+jwt` whose subtype is neither
/// `at+jwt` nor a vendor's `…-at+jwt` / `….at+jwt`.
pub fn names_another_jwt_type(typ: &str) -> bool {
    let typ = typ.to_ascii_lowercase();
    let subtype = typ.strip_prefix("application/").unwrap_or(&typ);
    let Some(kind) = subtype.strip_suffix("+jwt") else {
        return false;
    };
    // `chat+jwt` ends in "at+jwt" too: the vendor prefix must end at a separator.
    let access = match kind.strip_suffix("at") {
        Some("") => true,
        Some(prefix) => prefix.ends_with(['-', '.']),
        None => false,
    };
    !access
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_and_empty_algorithm_lists_are_refused() {
        let hmac = ValidationPolicy::default().algorithms([Algorithm::ES256, Algorithm::HS256]);
        let err = hmac.compile().unwrap_err();
        assert!(err.to_string().contains("Key::hmac"), "{err}");
        let none = ValidationPolicy::default().algorithms([]);
        assert_eq!(none.compile().unwrap_err().code(), "config_invalid");
        let ok = ValidationPolicy::default().compile().unwrap();
        assert_eq!(ok.algorithms, Algorithm::ASYMMETRIC);
    }

    #[test]
    fn a_zero_max_lifetime_is_refused() {
        let zero = ValidationPolicy::default().max_lifetime(Duration::ZERO);
        let err = zero.compile().unwrap_err();
        assert_eq!(err.code(), "config_invalid");
        assert!(err.to_string().contains("max_lifetime of 0"), "{err}");
        let day = ValidationPolicy::default().max_lifetime(Duration::from_secs(86_400));
        assert_eq!(day.compile().unwrap().max_lifetime, Some(86_400.0));
    }

    #[test]
    fn access_token_types_are_told_from_other_jwt_types() {
        for other in [
            "logout+jwt",
            "application/secevent+jwt",
            "DPoP+JWT",
            "chat+jwt",
        ] {
            assert!(names_another_jwt_type(other), "{other}");
        }
        for access in [
            "JWT",
            "at+jwt",
            "Application/AT+JWT",
            "application/okta-internal-at+jwt",
            "JOSE",
        ] {
            assert!(!names_another_jwt_type(access), "{access}");
        }
    }
}
