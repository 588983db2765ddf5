//! One trusted issuer: its configuration ([`IssuerConfig`]), and the checks of
//! a token's claims against it (routing by `iss` is the verifier's).

use crate::alg::Algorithm;
use crate::binding::BindingFailure;
use crate::error::{Error, ErrorKind, Result};
use crate::key::Key;
use crate::keys::{HttpClient, IssuerKeys, JwksOptions, KeySet, KeySource};
use crate::policy::{CompiledPolicy, ID_TOKEN_CLAIMS, ValidationPolicy, names_another_jwt_type};
use crate::token;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

/// One trusted issuer: its exact `iss`, the audiences this service answers to,
/// where its keys come from and its validation policy.
///
/// ```
/// use rampgate_core::{IssuerConfig, ValidationPolicy};
///
/// let issuer = IssuerConfig::new("https://login.example.com/", ["https://api.example.com"])
///     .discovery()
///     .policy(ValidationPolicy::rfc9068());
/// assert_eq!(issuer.issuer(), "https://login.example.com/");
/// ```
#[derive(Debug, Clone)]
pub struct IssuerConfig {
    issuer: String,
    audiences: Vec<String>,
    source: Option<KeySource>,
    policy: ValidationPolicy,
    jwks: JwksOptions,
    http_client: HttpClient,
}

impl IssuerConfig {
    /// An issuer whose tokens must carry `iss == issuer` exactly and an `aud` naming
    /// at least one of `audiences`. Set its key source before building.
    pub fn new<I, S>(issuer: impl Into<String>, audiences: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        IssuerConfig {
            issuer: issuer.into(),
            audiences: audiences.into_iter().map(Into::into).collect(),
            source: None,
            policy: ValidationPolicy::default(),
            jwks: JwksOptions::default(),
            http_client: None,
        }
    }

    /// The configured `iss`.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// Trusts these keys, never refreshed.
    pub fn keys(mut self, keys: KeySet) -> Self {
        self.source = Some(KeySource::Static(keys));
        self
    }

    /// Reads the keys from a JWK Set file when the verifier is built.
    pub fn jwks_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.source = Some(KeySource::JwksFile(path.into()));
        self
    }

    /// Polls this JWK Set URL (feature `remote-jwks`).
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.source = Some(KeySource::JwksUrl(url.into()));
        self
    }

    /// Finds the JWK Set through OIDC discovery on the issuer (feature `remote-jwks`).
    pub fn discovery(mut self) -> Self {
        self.source = Some(KeySource::Discovery);
        self
    }

    /// Sets the key source.
    pub fn source(mut self, source: KeySource) -> Self {
        self.source = Some(source);
        self
    }

    /// Sets the validation policy. Defaults to [`ValidationPolicy::default`].
    pub fn policy(mut self, policy: ValidationPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Sets how a remote key set is fetched. Defaults to [`JwksOptions::default`].
    pub fn jwks_options(mut self, options: JwksOptions) -> Self {
        self.jwks = options;
        self
    }

    /// Fetches this issuer's JWKS and discovery document with `client`: for a
    /// private CA, a proxy or a client certificate (feature `remote-jwks`; the
    /// method does not exist without it). Defaults to rampgate's own client.
    ///
    /// Rampgate's own client refuses redirects (one could lead to plain http or
    /// to another host) and times out connections and requests after
    /// [`JwksOptions::request_timeout`]. Build `client` the same way, with
    /// `redirect(reqwest::redirect::Policy::none())` and a connect timeout: an
    /// answer that a redirect-following client got from another URL is refused
    /// anyway, after the request was made. [`JwksOptions::request_timeout`] and
    /// [`JwksOptions::max_body_bytes`] still apply to every request, whatever
    /// the client's own settings.
    ///
    /// ```
    /// use rampgate_core::IssuerConfig;
    ///
    /// let client = reqwest::Client::builder()
    ///     .redirect(reqwest::redirect::Policy::none())
    ///     .connect_timeout(std::time::Duration::from_secs(5))
    ///     // .add_root_certificate(..) or .proxy(..) as the network needs
    ///     .build()
    ///     .unwrap();
    /// let issuer = IssuerConfig::new("https://login.example.com/", ["api"])
    ///     .discovery()
    ///     .http_client(client);
    /// # let _ = issuer;
    /// ```
    #[cfg(feature = "remote-jwks")]
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http_client = Some(client);
        self
    }
}

pub(super) struct IssuerState {
    pub(super) issuer: String,
    pub(super) audiences: Vec<String>,
    pub(super) policy: CompiledPolicy,
    pub(super) algorithms: Vec<Algorithm>,
    /// Shared with the issuer's poller, if any, which holds only a `Weak`.
    pub(super) keys: Arc<IssuerKeys>,
}

impl IssuerState {
    pub(super) fn new(config: IssuerConfig) -> Result<Self> {
        let IssuerConfig {
            issuer,
            audiences,
            source,
            policy,
            jwks,
            http_client,
        } = config;
        let cfg = |msg: &str| Error::config(format!("issuer {issuer:?}: {msg}"));
        if issuer.is_empty() {
            return Err(Error::config("an issuer must not be empty"));
        }
        if audiences.is_empty() || audiences.iter().any(String::is_empty) {
            return Err(cfg("at least one non-empty audience is required"));
        }
        let policy = policy.compile().map_err(|e| cfg(&e.to_string()))?;
        let source = source.ok_or_else(|| {
            cfg("no key source: call .keys(..), .jwks_file(..), .jwks_url(..) or .discovery()")
        })?;
        let keys = IssuerKeys::new(&issuer, source, jwks, http_client)?;
        // HMAC issuers verify only the HMAC algorithms of their keys.
        let algorithms = keys
            .hmac_algorithms()
            .unwrap_or_else(|| policy.algorithms.clone());
        Ok(IssuerState {
            issuer,
            audiences,
            policy,
            algorithms,
            keys: Arc::new(keys),
        })
    }

    /// Claims and signature, against the keys held now. Returns the key that
    /// verified the signature and the time claims, which a cache hit checks again.
    pub(super) fn check(
        &self,
        token: &token::UnverifiedToken<'_>,
        now: f64,
    ) -> Result<(Arc<Key>, TimeClaims)> {
        let header = &token.header;
        if !self.algorithms.contains(&header.alg) {
            return Err(ErrorKind::AlgNotAllowed("algorithm not allowed for this issuer").into());
        }
        let key = self.keys.select(header.kid.as_deref(), header.alg)?;
        // The claims are checked before the signature, so that an expired, early
        // or misdirected token (or a flood of them) never costs a signature check,
        // the one expensive step. Only the reason changes for a token with several
        // faults: an expired token with a bad signature is `token_expired`. RFC 8725
        // does not order the checks, and a reason names only what the token's own
        // readable claims already show (its `exp`, its `aud`, its `typ`) measured
        // against this service's configuration, like the `iss` routing and `kid`
        // lookup before it; nothing of the key leaks, and every token that passes
        // has had both checks.
        let times = self.check_claims(&header.typ, &token.claims, now)?;
        if !key.verify(token.signing_input, &token.signature) {
            return Err(ErrorKind::SignatureInvalid.into());
        }
        Ok((key, times))
    }

    pub(super) fn check_claims(
        &self,
        typ: &Option<String>,
        claims: &Map<String, Value>,
        now: f64,
    ) -> Result<TimeClaims> {
        let policy = &self.policy;
        // conformance: JWT-11. A logout token, a security event or a DPoP proof
        // signed by the same issuer must not pass as an access token.
        let typ_ok = match &policy.required_typ {
            Some(accepted) => typ
                .as_deref()
                .is_some_and(|t| accepted.iter().any(|a| a.eq_ignore_ascii_case(t))),
            None => !typ.as_deref().is_some_and(names_another_jwt_type),
        };
        if !typ_ok {
            return Err(ErrorKind::TypMismatch.into());
        }
        // An ID token typed `JWT` looks like an access token but for these claims.
        if !policy.allow_id_token_claims
            && let Some(name) = ID_TOKEN_CLAIMS
                .into_iter()
                .find(|name| claims.get(*name).is_some_and(|v| !v.is_null()))
        {
            return Err(ErrorKind::IdTokenClaims(name).into());
        }
        let exp = numeric_date(claims, "exp")?.ok_or(ErrorKind::ClaimMissing("exp".into()))?;
        let mut times = TimeClaims {
            exp,
            nbf: numeric_date(claims, "nbf")?,
            iat: numeric_date(claims, "iat")?,
            auth_time: None,
        };
        // auth_time is read only after the other three are checked, so that an
        // expired token with a malformed auth_time stays `token_expired`.
        times.check(now, policy.leeway)?;
        times.auth_time = numeric_date(claims, "auth_time")?;
        times.check(now, policy.leeway)?;
        if let Some(max) = policy.max_lifetime {
            times.check_lifetime(max)?;
        }
        self.check_audience(claims.get("aud"))?;
        // A sender-constrained token (`cnf`) is only as safe as the proof that
        // goes with it: the verifier compares it with what the request
        // presented (`Presentation::check`), after the cache, on every request.
        if policy.require_sender_constrained && claims.get("cnf").is_none_or(Value::is_null) {
            return Err(BindingFailure::SenderConstraintRequired.into());
        }
        for name in &policy.required_claims {
            if matches!(claims.get(name.as_str()), None | Some(Value::Null)) {
                return Err(ErrorKind::ClaimMissing(name.clone().into()).into());
            }
        }
        Ok(times)
    }

    /// `aud` must name at least one of the configured audiences.
    pub(super) fn check_audience(&self, aud: Option<&Value>) -> Result<()> {
        let invalid = || ErrorKind::ClaimInvalid {
            claim: "aud".into(),
            expected: "a string or an array of strings",
        };
        let matched = match aud {
            None | Some(Value::Null) => return Err(ErrorKind::ClaimMissing("aud".into()).into()),
            Some(Value::String(aud)) => self.audiences.iter().any(|a| a == aud),
            Some(Value::Array(auds)) => {
                let mut matched = false;
                for aud in auds {
                    let aud = aud.as_str().ok_or_else(invalid)?;
                    matched |= self.audiences.iter().any(|a| a == aud);
                }
                matched
            }
            Some(_) => return Err(invalid().into()),
        };
        if !matched {
            return Err(ErrorKind::AudienceMismatch.into());
        }
        Ok(())
    }
}

/// A token's time claims: what can turn a verified token invalid as time passes
/// (or as the clock steps back), so what a cache hit must check again.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TimeClaims {
    pub(crate) exp: f64,
    pub(crate) nbf: Option<f64>,
    pub(crate) iat: Option<f64>,
    pub(crate) auth_time: Option<f64>,
}

impl TimeClaims {
    /// The one place the time claims are judged, for a fresh token and for a
    /// cache hit alike.
    pub(crate) fn check(&self, now: f64, leeway: f64) -> Result<()> {
        if now >= self.exp + leeway {
            return Err(ErrorKind::TokenExpired.into());
        }
        if self.nbf.is_some_and(|nbf| nbf > now + leeway) {
            return Err(ErrorKind::TokenNotYetValid.into());
        }
        if self.iat.is_some_and(|iat| iat > now + leeway) {
            return Err(ErrorKind::TokenIssuedInFuture.into());
        }
        // A future auth_time would count as "just authenticated" for step-up
        // until that moment comes.
        if self.auth_time.is_some_and(|t| t > now + leeway) {
            return Err(ErrorKind::ClaimInvalid {
                claim: "auth_time".into(),
                expected: "a NumericDate not in the future",
            }
            .into());
        }
        Ok(())
    }

    /// `exp - iat` must be at most `max` seconds, and `iat` present to tell.
    /// Checked once, for a fresh token: a token's lifetime never changes, so
    /// a cache hit needs no second look.
    pub(crate) fn check_lifetime(&self, max: f64) -> Result<()> {
        let iat = self.iat.ok_or(ErrorKind::ClaimMissing("iat".into()))?;
        if self.exp - iat > max {
            return Err(ErrorKind::TokenLifetimeExceeded {
                max_secs: max as u64,
            }
            .into());
        }
        Ok(())
    }
}

/// A NumericDate claim: absent, or a finite JSON number (RFC 7519 §2).
pub(super) fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>> {
    let invalid = || ErrorKind::ClaimInvalid {
        claim: name.into(),
        expected: "a NumericDate (a finite JSON number)",
    };
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Ok(Some(f)),
            _ => Err(invalid().into()),
        },
        Some(_) => Err(invalid().into()),
    }
}

/// Failures a fresh copy of a remote key set could cure.
pub(super) fn refresh_may_help(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::KidUnknown | ErrorKind::KeysUnavailable
    )
}

pub(super) fn now_secs() -> Result<f64> {
    secs_since_epoch(SystemTime::now())
}

/// Seconds since the epoch; a time before it is a broken clock, at which every
/// `exp` would look in the future: refuse rather than read it as 0.
pub(super) fn secs_since_epoch(t: SystemTime) -> Result<f64> {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .map_err(|e| {
            tracing::error!(error = %e, "system clock before 1970; refusing every token");
            Error::config("the system clock is before 1970: fix the host's clock").caused_by(e)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_clock_before_1970_fails_closed() {
        // A clock before the epoch once read as 0, at which every token is
        // unexpired: refuse instead, as the service's fault.
        let before = UNIX_EPOCH - Duration::from_secs(3600);
        let err = secs_since_epoch(before).unwrap_err();
        assert_eq!(err.code(), "config_invalid");
        assert!(err.to_string().contains("system clock"), "{err}");
        assert_eq!(err.kind().status(), 503);
        let after = UNIX_EPOCH + Duration::from_millis(1500);
        assert_eq!(secs_since_epoch(after).unwrap(), 1.5);
    }
}
