//! The `Verifier`: token in, `Principal` or a precise error out. No web framework.
//!
//! It routes a token to its issuer by `iss` and checks the claims; the issuer's
//! keys, and whether refreshing them could help, are [`IssuerKeys`]'s business.

use crate::alg::Algorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{HttpClient, IssuerHealth, IssuerKeys, JwksOptions, KeySet, KeySource, KeyStats};
use crate::policy::{CompiledPolicy, ID_TOKEN_CLAIMS, ValidationPolicy, names_another_jwt_type};
use crate::principal::Principal;
use crate::token;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

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

struct IssuerState {
    issuer: String,
    audiences: Vec<String>,
    policy: CompiledPolicy,
    algorithms: Vec<Algorithm>,
    /// Shared with the issuer's poller, if any, which holds only a `Weak`.
    keys: Arc<IssuerKeys>,
}

/// Verifies signed JWT access tokens offline against the configured issuers' keys.
///
/// Cheap to clone; every clone shares the key sets. Remote key sets are refreshed
/// by a background task that ends when the last clone is dropped.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_core::{IssuerConfig, Key, KeySet, Verifier};
///
/// let key = Key::from_jwk_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
/// let verifier = Verifier::builder()
///     .issuer(IssuerConfig::new("https://issuer.example", ["api"])
///         .keys(KeySet::from_keys([key]).unwrap()))
///     .build()
///     .await
///     .unwrap();
/// let err = verifier.verify("not-a-token").await.unwrap_err();
/// assert_eq!(err.code(), "token_malformed");
/// # }
/// ```
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<VerifierInner>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field(
                "issuers",
                &self
                    .inner
                    .issuers
                    .iter()
                    .map(|i| &i.issuer)
                    .collect::<Vec<_>>(),
            )
            .finish_non_exhaustive()
    }
}

struct VerifierInner {
    issuers: Vec<IssuerState>,
    max_token_bytes: usize,
}

/// Builds a [`Verifier`].
#[derive(Debug, Default)]
pub struct VerifierBuilder {
    issuers: Vec<IssuerConfig>,
    max_token_bytes: Option<usize>,
}

impl VerifierBuilder {
    /// Trusts one more issuer. Tokens are routed to an issuer by their `iss`, and
    /// only that issuer's keys can verify them.
    pub fn issuer(mut self, issuer: IssuerConfig) -> Self {
        self.issuers.push(issuer);
        self
    }

    /// The longest token accepted, checked before any decoding. Defaults to 8 KiB.
    pub fn max_token_bytes(mut self, max: usize) -> Self {
        self.max_token_bytes = Some(max);
        self
    }

    /// Checks the configuration, loads static and file key sets, fetches remote
    /// ones once and starts their pollers (which needs a tokio runtime).
    ///
    /// A remote key set that cannot be fetched now does not fail the build: the
    /// poller keeps trying with backoff and tokens are refused with
    /// `keys_unavailable` until it succeeds. Configuration mistakes do fail it.
    pub async fn build(self) -> Result<Verifier> {
        let verifier = self.assemble()?;
        // Issuers are few: their first fetches run one after another.
        for issuer in &verifier.inner.issuers {
            issuer.keys.start().await;
        }
        Ok(verifier)
    }

    /// Checks the configuration and loads static and file key sets as
    /// [`build`](VerifierBuilder::build) does, but does not wait for the first
    /// fetch of remote key sets: their pollers make it at once, in the
    /// background (which needs a tokio runtime). Until it succeeds, tokens of
    /// that issuer are refused with `keys_unavailable`.
    ///
    /// For a start-up whose wait for keys must be bounded however slow the
    /// identity provider: follow it with [`Verifier::wait_ready`], which then
    /// bounds the whole wait (`build` can take up to `request_timeout` per
    /// remote issuer first).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # #[cfg(feature = "remote-jwks")] {
    /// use rampgate_core::{IssuerConfig, Verifier};
    /// use std::time::Duration;
    ///
    /// // A JWKS server that is not there (yet).
    /// let verifier = Verifier::builder()
    ///     .issuer(IssuerConfig::new("https://issuer.example", ["api"]).jwks_url("http://127.0.0.1:9/jwks"))
    ///     .build_without_waiting()
    ///     .unwrap();
    /// let err = verifier.wait_ready(Duration::from_millis(100)).await.unwrap_err();
    /// assert!(err.to_string().contains("https://issuer.example"));
    /// # }
    /// # }
    /// ```
    pub fn build_without_waiting(self) -> Result<Verifier> {
        let verifier = self.assemble()?;
        for issuer in &verifier.inner.issuers {
            issuer.keys.start_in_background();
        }
        Ok(verifier)
    }

    /// The verifier, its keys loaded or ready to be fetched; nothing started.
    fn assemble(self) -> Result<Verifier> {
        if self.issuers.is_empty() {
            return Err(Error::config("no issuer configured"));
        }
        let mut issuers = Vec::with_capacity(self.issuers.len());
        for config in self.issuers {
            if issuers
                .iter()
                .any(|i: &IssuerState| i.issuer == config.issuer)
            {
                return Err(Error::config(format!(
                    "issuer {:?} is configured twice",
                    config.issuer
                )));
            }
            issuers.push(IssuerState::new(config)?);
        }
        if issuers.iter().any(|i| i.keys.is_refreshable())
            && tokio::runtime::Handle::try_current().is_err()
        {
            return Err(Error::config(
                "remote key sources need a tokio runtime: build the verifier inside one",
            ));
        }
        Ok(Verifier {
            inner: Arc::new(VerifierInner {
                issuers,
                max_token_bytes: self.max_token_bytes.unwrap_or(8 * 1024),
            }),
        })
    }
}

impl IssuerState {
    fn new(config: IssuerConfig) -> Result<Self> {
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

    /// Claims and signature, against the keys held now.
    fn check(&self, token: &token::UnverifiedToken<'_>, now: f64) -> Result<()> {
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
        self.check_claims(&header.typ, &token.claims, now)?;
        if !key.verify(token.signing_input, &token.signature) {
            return Err(ErrorKind::SignatureInvalid.into());
        }
        Ok(())
    }

    fn check_claims(
        &self,
        typ: &Option<String>,
        claims: &Map<String, Value>,
        now: f64,
    ) -> Result<()> {
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
        let nbf = numeric_date(claims, "nbf")?;
        let iat = numeric_date(claims, "iat")?;
        if now >= exp + policy.leeway {
            return Err(ErrorKind::TokenExpired.into());
        }
        if nbf.is_some_and(|nbf| nbf > now + policy.leeway) {
            return Err(ErrorKind::TokenNotYetValid.into());
        }
        if iat.is_some_and(|iat| iat > now + policy.leeway) {
            return Err(ErrorKind::TokenIssuedInFuture.into());
        }
        // A future auth_time would count as "just authenticated" for step-up
        // until that moment comes.
        if numeric_date(claims, "auth_time")?.is_some_and(|t| t > now + policy.leeway) {
            return Err(ErrorKind::ClaimInvalid {
                claim: "auth_time".into(),
                expected: "a NumericDate not in the future",
            }
            .into());
        }
        self.check_audience(claims.get("aud"))?;
        // conformance: 9449-10. A sender-constrained token is only as safe as the
        // proof that goes with it; without checking that proof, refuse it.
        if claims.get("cnf").is_some_and(|c| !c.is_null()) {
            return Err(ErrorKind::TokenBound.into());
        }
        for name in &policy.required_claims {
            if matches!(claims.get(name.as_str()), None | Some(Value::Null)) {
                return Err(ErrorKind::ClaimMissing(name.clone().into()).into());
            }
        }
        Ok(())
    }

    /// `aud` must name at least one of the configured audiences.
    fn check_audience(&self, aud: Option<&Value>) -> Result<()> {
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

/// A NumericDate claim: absent, or a finite JSON number (RFC 7519 §2).
fn numeric_date(claims: &Map<String, Value>, name: &'static str) -> Result<Option<f64>> {
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
fn refresh_may_help(error: &Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::KidUnknown | ErrorKind::KeysUnavailable
    )
}

fn now_secs() -> Result<f64> {
    secs_since_epoch(SystemTime::now())
}

/// Seconds since the epoch; a time before it is a broken clock, at which every
/// `exp` would look in the future: refuse rather than read it as 0.
fn secs_since_epoch(t: SystemTime) -> Result<f64> {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .map_err(|e| {
            tracing::error!(error = %e, "system clock before 1970; refusing every token");
            Error::config("the system clock is before 1970: fix the host's clock").caused_by(e)
        })
}

/// The health of every issuer's keys: what a `/ready` route serves.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_core::{IssuerConfig, Key, KeySet, Verifier};
///
/// let key = Key::from_jwk_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
/// let verifier = Verifier::builder()
///     .issuer(IssuerConfig::new("https://issuer.example", ["api"])
///         .keys(KeySet::from_keys([key]).unwrap()))
///     .build()
///     .await
///     .unwrap();
/// let health = verifier.health();
/// assert!(health.ready);
/// assert_eq!(health.issuers[0].keys, 1);
/// let json = serde_json::to_value(&health).unwrap();
/// assert_eq!(json["issuers"][0]["stale"], false);
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Health {
    /// Whether every issuer's tokens can be verified now.
    pub ready: bool,
    /// Each configured issuer, in configuration order.
    pub issuers: Vec<IssuerHealth>,
}

/// How often [`Verifier::wait_ready`] looks at the keys again.
const READY_POLL: Duration = Duration::from_millis(50);

/// Why a token was refused by the keys held now.
enum Refusal<'a> {
    /// No refresh can change the answer.
    Final(Error),
    /// The token names a key this issuer's keys do not hold (yet), or they hold
    /// none: a refresh of these keys may cure it.
    KeysMayCure(Error, &'a IssuerKeys),
}

impl From<Error> for Refusal<'_> {
    fn from(error: Error) -> Self {
        Refusal::Final(error)
    }
}

impl Refusal<'_> {
    fn into_error(self) -> Error {
        match self {
            Refusal::Final(e) | Refusal::KeysMayCure(e, _) => e,
        }
    }
}

impl Verifier {
    /// Starts building a verifier.
    pub fn builder() -> VerifierBuilder {
        VerifierBuilder::default()
    }

    /// Verifies `token` against the keys held now, without any network call.
    ///
    /// This is the whole check; [`Verifier::verify`] only adds one single-flight,
    /// rate-limited refresh of the issuer's remote key set when the token names a
    /// key that is not (yet) known.
    pub fn verify_cached(&self, token: &str) -> Result<Principal> {
        self.verify_inner(token).map_err(Refusal::into_error)
    }

    /// Verifies `token`. When the token's `kid` is unknown (or no keys were ever
    /// fetched) and the issuer's keys are remote, refreshes them once, at most once
    /// per [`JwksOptions::unknown_kid_cooldown`], and tries again.
    pub async fn verify(&self, token: &str) -> Result<Principal> {
        match self.verify_inner(token) {
            Ok(p) => Ok(p),
            Err(Refusal::KeysMayCure(e, keys)) => {
                if keys.refresh_for_unknown_kid().await {
                    self.verify_cached(token)
                } else {
                    Err(e)
                }
            }
            Err(Refusal::Final(e)) => Err(e),
        }
    }

    /// Whether a failed [`Verifier::verify_cached`] could succeed after a key
    /// refresh, that is whether calling [`Verifier::verify`] is worth it.
    pub fn may_refresh(&self, error: &Error) -> bool {
        refresh_may_help(error) && self.inner.issuers.iter().any(|i| i.keys.is_refreshable())
    }

    fn verify_inner(&self, token: &str) -> Result<Principal, Refusal<'_>> {
        let parsed = token::parse(token, self.inner.max_token_bytes)?;
        let iss = match parsed.claims.get("iss") {
            Some(Value::String(iss)) => iss.as_str(),
            None | Some(Value::Null) => {
                return Err(Error::from(ErrorKind::ClaimMissing("iss".into())).into());
            }
            Some(_) => {
                let invalid = ErrorKind::ClaimInvalid {
                    claim: "iss".into(),
                    expected: "a string",
                };
                return Err(Error::from(invalid).into());
            }
        };
        let issuer = self
            .issuer(iss)
            .ok_or_else(|| Error::from(ErrorKind::IssuerUnknown))?;
        let now = now_secs()?;
        if let Err(e) = issuer.check(&parsed, now) {
            return Err(if issuer.keys.is_refreshable() && refresh_may_help(&e) {
                Refusal::KeysMayCure(e, &issuer.keys)
            } else {
                Refusal::Final(e)
            });
        }
        Ok(Principal::from_claims(
            parsed.claims,
            &issuer.policy.scope_claims,
        )?)
    }

    fn issuer(&self, iss: &str) -> Option<&IssuerState> {
        self.inner.issuers.iter().find(|i| i.issuer == iss)
    }

    /// Fetches `issuer`'s remote key set now, whatever the schedule and cooldown:
    /// for an operator who knows a key was rotated out or compromised. The keys
    /// are swapped in only if the fetch succeeds.
    pub async fn refresh_keys(&self, issuer: &str) -> Result<()> {
        let state = self
            .issuer(issuer)
            .ok_or_else(|| Error::config(format!("issuer {issuer:?} is not configured")))?;
        if !state.keys.is_refreshable() {
            return Err(Error::config(format!(
                "issuer {issuer:?} has no remote key set to refresh"
            )));
        }
        state.keys.refresh_now().await
    }

    /// The health of every issuer's keys (count, age, last refresh, last error,
    /// stale or not), for a readiness route; serialises to JSON.
    pub fn health(&self) -> Health {
        let issuers: Vec<IssuerHealth> =
            self.inner.issuers.iter().map(|i| i.keys.health()).collect();
        Health {
            ready: issuers.iter().all(|i| i.ready),
            issuers,
        }
    }

    /// Waits, at most `timeout`, until every issuer has usable keys: for a
    /// start-up that should not take traffic it would answer with 503
    /// `keys_unavailable`. The key pollers keep fetching in the background
    /// meanwhile; this only watches them.
    ///
    /// # Errors
    ///
    /// `jwks_error` naming the issuers that still have no usable keys, with
    /// their last fetch errors, when `timeout` passes first.
    pub async fn wait_ready(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.inner.issuers.iter().all(|i| i.keys.is_ready()) {
                return Ok(());
            }
            let now = tokio::time::Instant::now();
            if now >= deadline {
                let missing: Vec<String> = self
                    .health()
                    .issuers
                    .into_iter()
                    .filter(|i| !i.ready)
                    .map(|i| match i.last_error {
                        Some(e) => format!("{:?} ({e})", i.issuer),
                        None => format!("{:?}", i.issuer),
                    })
                    .collect();
                return Err(Error::jwks(format!(
                    "no usable keys after {}ms for {}",
                    timeout.as_millis(),
                    missing.join(", ")
                )));
            }
            tokio::time::sleep_until(deadline.min(now + READY_POLL)).await;
        }
    }

    /// Counters of the key set of `issuer`, or `None` when it is not configured.
    pub fn key_stats(&self, issuer: &str) -> Option<KeyStats> {
        Some(self.issuer(issuer)?.keys.stats())
    }

    /// The configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|i| i.issuer.as_str())
    }

    /// The algorithms accepted from `issuer`, by JOSE name.
    pub fn algorithms(&self, issuer: &str) -> Vec<&'static str> {
        self.issuer(issuer)
            .map(|i| i.algorithms.iter().map(|a| a.as_str()).collect())
            .unwrap_or_default()
    }
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
        assert_eq!(err.kind().http_status(), 503);
        let after = UNIX_EPOCH + Duration::from_millis(1500);
        assert_eq!(secs_since_epoch(after).unwrap(), 1.5);
    }
}
