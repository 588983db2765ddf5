//! The `Verifier`: token in, `Principal` or a precise error out. No web framework.

use crate::alg::Algorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::key::KeySet;
use crate::policy::{CompiledPolicy, ValidationPolicy};
use crate::principal::Principal;
use crate::token;
use arc_swap::ArcSwap;
use serde_json::{Map, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// Keys given in code (JWKs, PEM or an HMAC secret). Never refreshed.
    Static(KeySet),
    /// A JWK Set file, read once when the verifier is built.
    JwksFile(PathBuf),
    /// A remote JWK Set URL, polled in the background (feature `remote-jwks`).
    /// Must be `https`, or `http` to a loopback host.
    JwksUrl(String),
    /// OIDC discovery: `{issuer}/.well-known/openid-configuration` gives `jwks_uri`;
    /// the document's `issuer` must equal the configured one (feature `remote-jwks`).
    Discovery,
}

/// How a remote key set is fetched and kept fresh.
#[derive(Debug, Clone)]
pub struct JwksOptions {
    /// Timeout of one HTTP request, body included. Defaults to 5 seconds.
    pub request_timeout: Duration,
    /// Largest JWKS or discovery document accepted. Defaults to 256 KiB.
    pub max_body_bytes: usize,
    /// Refresh period when the response has no `Cache-Control: max-age`.
    /// Defaults to 5 minutes.
    pub default_refresh: Duration,
    /// Lower bound on the refresh period taken from `max-age`. Defaults to 1 minute.
    pub min_refresh: Duration,
    /// Upper bound on the refresh period taken from `max-age`. Defaults to 1 hour.
    /// Must be shorter than `max_stale`, so that an outage is noticed with time
    /// to spare.
    pub max_refresh: Duration,
    /// The least time between two fetches caused by tokens with an unknown `kid`
    /// (scheduled refreshes do not count). Defaults to 30 seconds, so a flood of
    /// invented kids causes at most one fetch per 30 seconds.
    pub unknown_kid_cooldown: Duration,
    /// How long the last good keys keep verifying while fetches fail. Past it,
    /// every token is refused with `keys_unavailable`. Defaults to 24 hours.
    pub max_stale: Duration,
    /// First retry delay after a failed fetch; doubles on each failure.
    /// Defaults to 1 second.
    pub backoff_initial: Duration,
    /// Largest retry delay. Defaults to 5 minutes.
    pub backoff_max: Duration,
}

impl Default for JwksOptions {
    fn default() -> Self {
        JwksOptions {
            request_timeout: Duration::from_secs(5),
            max_body_bytes: 256 * 1024,
            default_refresh: Duration::from_secs(300),
            min_refresh: Duration::from_secs(60),
            max_refresh: Duration::from_secs(3600),
            unknown_kid_cooldown: Duration::from_secs(30),
            max_stale: Duration::from_secs(86_400),
            backoff_initial: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
        }
    }
}

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
}

/// Counters of an issuer's key set, for health checks and dashboards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyStats {
    /// Successful fetches of the remote key set.
    pub refreshes: u64,
    /// Failed fetches.
    pub failures: u64,
    /// When the key set was last fetched successfully (or loaded, for static keys).
    pub last_success: Option<SystemTime>,
    /// The last fetch error, cleared by the next success.
    pub last_error: Option<String>,
    /// The key ids currently trusted.
    pub kids: Vec<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Snapshot {
    pub(crate) set: KeySet,
    /// When the set was loaded; `None` when nothing was ever loaded.
    pub(crate) loaded_at: Option<Instant>,
    /// The same moment on the wall clock, for [`KeyStats`].
    pub(crate) loaded_wall: Option<SystemTime>,
}

pub(crate) struct IssuerState {
    pub(crate) issuer: String,
    audiences: Vec<String>,
    policy: CompiledPolicy,
    algorithms: Vec<Algorithm>,
    pub(crate) keys: ArcSwap<Snapshot>,
    /// `None` for static keys, which never go stale.
    pub(crate) max_stale: Option<Duration>,
    #[cfg(feature = "remote-jwks")]
    pub(crate) remote: Option<crate::jwks::Remote>,
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
    pub(crate) inner: Arc<VerifierInner>,
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

pub(crate) struct VerifierInner {
    pub(crate) issuers: Vec<IssuerState>,
    max_token_bytes: usize,
    #[cfg(feature = "remote-jwks")]
    pub(crate) pollers: std::sync::Mutex<Vec<tokio::task::AbortHandle>>,
}

impl Drop for VerifierInner {
    fn drop(&mut self) {
        #[cfg(feature = "remote-jwks")]
        if let Ok(pollers) = self.pollers.get_mut() {
            for poller in pollers.drain(..) {
                poller.abort();
            }
        }
    }
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
        #[cfg(feature = "remote-jwks")]
        if issuers.iter().any(|i| i.remote.is_some())
            && tokio::runtime::Handle::try_current().is_err()
        {
            return Err(Error::config(
                "remote key sources need a tokio runtime: build the verifier inside one",
            ));
        }
        let verifier = Verifier {
            inner: Arc::new(VerifierInner {
                issuers,
                max_token_bytes: self.max_token_bytes.unwrap_or(8 * 1024),
                #[cfg(feature = "remote-jwks")]
                pollers: std::sync::Mutex::new(Vec::new()),
            }),
        };
        #[cfg(feature = "remote-jwks")]
        crate::jwks::start(&verifier).await;
        Ok(verifier)
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
        } = config;
        let cfg = |msg: String| Error::config(format!("issuer {issuer:?}: {msg}"));
        if issuer.is_empty() {
            return Err(Error::config("an issuer must not be empty"));
        }
        if audiences.is_empty() || audiences.iter().any(String::is_empty) {
            return Err(cfg("at least one non-empty audience is required".into()));
        }
        let policy = policy.compile().map_err(|e| cfg(e.to_string()))?;
        let source = source.ok_or_else(|| {
            cfg(
                "no key source: call .keys(..), .jwks_file(..), .jwks_url(..) or .discovery()"
                    .into(),
            )
        })?;
        let mut algorithms = policy.algorithms.clone();
        let (set, remote_target) = match source {
            KeySource::Static(set) => (Some(set), None),
            KeySource::JwksFile(path) => {
                let bytes = std::fs::read(&path).map_err(|e| {
                    cfg(format!("cannot read JWKS file {}: {e}", path.display())).caused_by(e)
                })?;
                let (set, skipped) = KeySet::from_jwks_json(&bytes)
                    .map_err(|e| cfg(format!("JWKS file {}: {e}", path.display())).caused_by(e))?;
                for s in &skipped {
                    tracing::warn!(issuer = %issuer, kid = ?s.kid, reason = %s.reason, "JWK skipped");
                }
                (Some(set), None)
            }
            other => (None, Some(other)),
        };
        if let Some(set) = &set {
            if set.is_empty() {
                return Err(cfg("the key set is empty".into()));
            }
            if set.has_symmetric() {
                if set.has_asymmetric() {
                    return Err(cfg(
                        "an issuer is trusted either with an HMAC secret or with public keys, never both".into(),
                    ));
                }
                // HMAC issuers verify only the HMAC algorithms of their keys.
                algorithms = set.algorithms();
            }
        }
        let snapshot = match set {
            Some(set) => Snapshot {
                set,
                loaded_at: Some(Instant::now()),
                loaded_wall: Some(SystemTime::now()),
            },
            None => Snapshot::default(),
        };
        let max_stale = remote_target.as_ref().map(|_| jwks.max_stale);
        #[cfg(feature = "remote-jwks")]
        let remote = match remote_target {
            Some(target) => Some(crate::jwks::Remote::new(&issuer, target, jwks.clone())?),
            None => None,
        };
        #[cfg(not(feature = "remote-jwks"))]
        if remote_target.is_some() {
            return Err(cfg(
                "remote key sources need the `remote-jwks` feature".into()
            ));
        }
        Ok(IssuerState {
            issuer,
            audiences,
            policy,
            algorithms,
            keys: ArcSwap::from_pointee(snapshot),
            max_stale,
            #[cfg(feature = "remote-jwks")]
            remote,
        })
    }

    /// Signature and claims, against the keys held now.
    fn check(&self, token: &token::UnverifiedToken<'_>, now: f64) -> Result<()> {
        let header = &token.header;
        if !self.algorithms.contains(&header.alg) {
            return Err(ErrorKind::AlgNotAllowed("algorithm not allowed for this issuer").into());
        }
        let snapshot = self.keys.load();
        match (snapshot.loaded_at, self.max_stale) {
            (None, _) => return Err(ErrorKind::KeysUnavailable.into()),
            (Some(at), Some(max_stale)) if at.elapsed() > max_stale => {
                return Err(ErrorKind::KeysUnavailable.into());
            }
            _ => {}
        }
        let key = snapshot.set.select(header.kid.as_deref(), header.alg)?;
        if !key.verify(token.signing_input, &token.signature) {
            return Err(ErrorKind::SignatureInvalid.into());
        }
        self.check_claims(&header.typ, &token.claims, now)
    }

    fn check_claims(
        &self,
        typ: &Option<String>,
        claims: &Map<String, Value>,
        now: f64,
    ) -> Result<()> {
        let policy = &self.policy;
        if let Some(accepted) = &policy.required_typ {
            let ok = typ
                .as_deref()
                .is_some_and(|t| accepted.iter().any(|a| a.eq_ignore_ascii_case(t)));
            if !ok {
                return Err(ErrorKind::TypMismatch.into());
            }
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
        let aud_invalid = || ErrorKind::ClaimInvalid {
            claim: "aud".into(),
            expected: "a string or an array of strings",
        };
        match claims.get("aud") {
            None | Some(Value::Null) => return Err(ErrorKind::ClaimMissing("aud".into()).into()),
            Some(Value::String(aud)) => {
                if !self.audiences.iter().any(|a| a == aud) {
                    return Err(ErrorKind::AudienceMismatch.into());
                }
            }
            Some(Value::Array(auds)) => {
                let mut matched = false;
                for aud in auds {
                    let aud = aud.as_str().ok_or_else(aud_invalid)?;
                    matched |= self.audiences.iter().any(|a| a == aud);
                }
                if !matched {
                    return Err(ErrorKind::AudienceMismatch.into());
                }
            }
            Some(_) => {
                return Err(aud_invalid().into());
            }
        }
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

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
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
        self.verify_inner(token).map_err(|(e, _)| e)
    }

    /// Verifies `token`. When the token's `kid` is unknown (or no keys were ever
    /// fetched) and the issuer's keys are remote, refreshes them once, at most once
    /// per [`JwksOptions::unknown_kid_cooldown`], and tries again.
    pub async fn verify(&self, token: &str) -> Result<Principal> {
        match self.verify_inner(token) {
            Ok(p) => Ok(p),
            #[cfg(feature = "remote-jwks")]
            Err((e, Some(idx))) => {
                let issuer = &self.inner.issuers[idx];
                if crate::jwks::refresh_for_unknown_kid(issuer).await {
                    self.verify_cached(token)
                } else {
                    Err(e)
                }
            }
            Err((e, _)) => Err(e),
        }
    }

    /// Whether a failed [`Verifier::verify_cached`] could succeed after a key
    /// refresh, that is whether calling [`Verifier::verify`] is worth it.
    pub fn may_refresh(&self, error: &Error) -> bool {
        refresh_may_help(error) && self.inner.issuers.iter().any(|i| i.max_stale.is_some())
    }

    /// The error, and the index of an issuer whose keys a refresh might complete.
    fn verify_inner(&self, token: &str) -> Result<Principal, (Error, Option<usize>)> {
        let parsed = token::parse(token, self.inner.max_token_bytes).map_err(|e| (e, None))?;
        let iss = match parsed.claims.get("iss") {
            Some(Value::String(iss)) => iss.as_str(),
            None | Some(Value::Null) => {
                return Err((ErrorKind::ClaimMissing("iss".into()).into(), None));
            }
            Some(_) => {
                let invalid = ErrorKind::ClaimInvalid {
                    claim: "iss".into(),
                    expected: "a string",
                };
                return Err((invalid.into(), None));
            }
        };
        let (idx, issuer) = self
            .inner
            .issuers
            .iter()
            .enumerate()
            .find(|(_, i)| i.issuer == iss)
            .ok_or_else(|| (ErrorKind::IssuerUnknown.into(), None))?;
        match issuer.check(&parsed, now_secs()) {
            Ok(()) => {}
            Err(e) => {
                let refreshable = issuer.max_stale.is_some() && refresh_may_help(&e);
                return Err((e, refreshable.then_some(idx)));
            }
        }
        Principal::from_claims(parsed.claims, &issuer.policy.scope_claims).map_err(|e| (e, None))
    }

    /// Fetches `issuer`'s remote key set now, whatever the schedule and cooldown:
    /// for an operator who knows a key was rotated out or compromised. The keys
    /// are swapped in only if the fetch succeeds.
    pub async fn refresh_keys(&self, issuer: &str) -> Result<()> {
        let state = self
            .inner
            .issuers
            .iter()
            .find(|i| i.issuer == issuer)
            .ok_or_else(|| Error::config(format!("issuer {issuer:?} is not configured")))?;
        #[cfg(feature = "remote-jwks")]
        if state.remote.is_some() {
            return crate::jwks::refresh_now(state).await;
        }
        let _ = state;
        Err(Error::config(format!(
            "issuer {issuer:?} has no remote key set to refresh"
        )))
    }

    /// Counters of the key set of `issuer`, or `None` when it is not configured.
    pub fn key_stats(&self, issuer: &str) -> Option<KeyStats> {
        let state = self.inner.issuers.iter().find(|i| i.issuer == issuer)?;
        let snapshot = state.keys.load();
        let kids = snapshot.set.kids().into_iter().map(str::to_owned).collect();
        #[allow(unused_mut)] // only remote key sets add fetch counters
        let mut stats = KeyStats {
            refreshes: 0,
            failures: 0,
            last_success: snapshot.loaded_wall,
            last_error: None,
            kids,
        };
        #[cfg(feature = "remote-jwks")]
        if let Some(remote) = &state.remote {
            remote.fill_stats(&mut stats);
        }
        Some(stats)
    }

    /// The configured issuers.
    pub fn issuers(&self) -> impl Iterator<Item = &str> {
        self.inner.issuers.iter().map(|i| i.issuer.as_str())
    }

    /// The algorithms accepted from `issuer`, by JOSE name.
    pub fn algorithms(&self, issuer: &str) -> Vec<&'static str> {
        self.inner
            .issuers
            .iter()
            .find(|i| i.issuer == issuer)
            .map(|i| i.algorithms.iter().map(|a| a.as_str()).collect())
            .unwrap_or_default()
    }
}
