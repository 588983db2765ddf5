//! The `Verifier`: token in, `Principal` or a precise error out. No web framework.
//!
//! It routes a token to its issuer by `iss` and checks the claims; the issuer's
//! keys, and whether refreshing them could help, are [`IssuerKeys`]'s business.

use crate::audit::Claimed;
use crate::binding::Presentation;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{IssuerHealth, IssuerKeys, KeyStats};
use crate::principal::Principal;
use crate::revocation::{RevocationCheck, RevocationHealth, RevocationStore};
use crate::token;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

mod cache;
mod issuer;

use cache::{CachedToken, TokenCache};
pub use cache::{TokenCacheOptions, TokenCacheStats};

pub use issuer::IssuerConfig;
pub(crate) use issuer::TimeClaims;
use issuer::{IssuerState, now_secs, refresh_may_help};

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
    /// `None` when turned off. A `Verifier`'s issuers never change, so no
    /// configuration change can leave a stale entry: a new configuration is a
    /// new verifier with a new, empty cache.
    cache: Option<TokenCache>,
    /// Consulted after every successful verification and on every cache hit.
    revocations: Option<Arc<dyn RevocationStore>>,
}

/// Builds a [`Verifier`].
#[derive(Debug, Default)]
pub struct VerifierBuilder {
    issuers: Vec<IssuerConfig>,
    max_token_bytes: Option<usize>,
    token_cache: Option<TokenCacheOptions>,
    no_token_cache: bool,
    revocations: Option<Arc<dyn RevocationStore>>,
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

    /// Keeps verified tokens so that the same token presented again skips the
    /// parse and the signature check. Defaults to on, with
    /// [`TokenCacheOptions::default`].
    ///
    /// A hit needs the byte-identical token, within the TTL, and every time
    /// claim (`exp`, `nbf`, `iat`, `auth_time`, with the issuer's leeway) still
    /// holding; and the key that verified it must still be the one the issuer's
    /// current key set gives for its `kid`, so a key rotated out, removed by
    /// [`Verifier::refresh_keys`] or gone stale stops the token at once. Only
    /// successful verifications are kept.
    pub fn token_cache(mut self, options: TokenCacheOptions) -> Self {
        self.token_cache = Some(options);
        self.no_token_cache = false;
        self
    }

    /// Verifies every token in full, every time.
    pub fn no_token_cache(mut self) -> Self {
        self.no_token_cache = true;
        self
    }

    /// Refuses the tokens `revocations` names, on every request: after the
    /// signature and claims verified, and on every token-cache hit, so a
    /// change is effective on the very next request. Pass a clone of a
    /// [`RevocationList`](crate::RevocationList) (clones share it) and keep
    /// one to revoke with.
    ///
    /// A revoked token is refused with 401 `invalid_token` and the reason of
    /// what revoked it: `token_revoked_jti`, `token_revoked_sub`,
    /// `token_revoked_consumer` or `token_revoked_kid`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use rampgate_core::{IssuerConfig, Key, KeySet, RevocationList, Verifier};
    ///
    /// let key = Key::from_jwk_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
    ///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
    /// let revocations = RevocationList::new();
    /// let verifier = Verifier::builder()
    ///     .issuer(IssuerConfig::new("https://issuer.example", ["api"])
    ///         .keys(KeySet::from_keys([key]).unwrap()))
    ///     .revocations(revocations.clone())
    ///     .build()
    ///     .await
    ///     .unwrap();
    /// # let _ = verifier;
    /// # }
    /// ```
    pub fn revocations(mut self, store: impl RevocationStore) -> Self {
        self.revocations = Some(Arc::new(store));
        self
    }

    /// [`revocations`](VerifierBuilder::revocations) for a store already
    /// shared (chosen at run time, such as the configuration's).
    pub fn revocations_shared(mut self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocations = Some(store);
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

    /// As [`build`](VerifierBuilder::build), but the watchers of JWKS files
    /// are handed to the caller, to run where it likes (its own runtime, a
    /// `JoinSet`), in the manner of tower's `Buffer::pair`: the future re-reads
    /// each file on change and ends when the verifier (every clone) is gone.
    /// Remote key sets still get their poller as with `build`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use rampgate_core::{IssuerConfig, JwksOptions, Verifier};
    /// use std::time::Duration;
    ///
    /// # let dir = std::env::temp_dir().join(format!("rampgate-doc-pair-{}", std::process::id()));
    /// # std::fs::create_dir_all(&dir).unwrap();
    /// # let path = dir.join("jwks.json");
    /// # std::fs::write(&path, r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#).unwrap();
    /// let (verifier, watchers) = Verifier::builder()
    ///     .issuer(
    ///         IssuerConfig::new("https://issuer.example", ["api"])
    ///             .jwks_file(&path)
    ///             .jwks_options(JwksOptions {
    ///                 file_poll_interval: Duration::from_millis(10),
    ///                 ..JwksOptions::default()
    ///             }),
    ///     )
    ///     .build_pair()
    ///     .await
    ///     .unwrap();
    /// let task = tokio::spawn(watchers);
    /// drop(verifier);
    /// task.await.unwrap(); // ends with the verifier
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// As [`build`](VerifierBuilder::build).
    pub async fn build_pair(self) -> Result<(Verifier, crate::BackgroundTasks)> {
        let verifier = self.assemble()?;
        let mut watchers = Vec::new();
        for issuer in &verifier.inner.issuers {
            issuer.keys.start_remote_only().await;
            watchers.extend(issuer.keys.file_watcher());
        }
        Ok((verifier, crate::sync::Tasks::new(watchers)))
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
                .any(|i: &IssuerState| i.issuer == config.issuer())
            {
                return Err(Error::config(format!(
                    "issuer {:?} is configured twice",
                    config.issuer()
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
                cache: if self.no_token_cache {
                    None
                } else {
                    TokenCache::new(self.token_cache.unwrap_or_default())
                },
                revocations: self.revocations,
            }),
        })
    }
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
    /// The shared revocation store's state, when it reports one (absent
    /// from the JSON otherwise).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocations: Option<RevocationHealth>,
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

/// A refusal, with what of the token was decoded before it: moved out of the
/// verification, never copied, so that the success path pays nothing for it.
struct Refused<'a> {
    refusal: Refusal<'a>,
    decoded: Decoded,
}

/// What of a refused token was decoded.
enum Decoded {
    /// Nothing: it did not parse (or the clock failed first).
    Nothing,
    /// The payload.
    Claims(serde_json::Map<String, Value>),
    /// The payload, consumed by a principal that could not be built: decode
    /// it again (a rare refusal: a claim of the wrong type).
    Consumed,
    /// A verified principal (the token is revoked).
    Principal(Principal),
}

impl Decoded {
    fn claimed(self, token: &str) -> Option<Claimed> {
        match self {
            Decoded::Nothing => None,
            Decoded::Claims(claims) => Claimed::from_claims(&claims),
            Decoded::Consumed => Claimed::from_token(token),
            Decoded::Principal(p) => Claimed::of(Some(p.iss()), p.client_id(), p.sub()),
        }
    }
}

impl<'a> From<Refusal<'a>> for Refused<'a> {
    fn from(refusal: Refusal<'a>) -> Self {
        Refused {
            refusal,
            decoded: Decoded::Nothing,
        }
    }
}

impl From<Error> for Refused<'_> {
    fn from(error: Error) -> Self {
        Refusal::Final(error).into()
    }
}

/// Refuses a verified token whose binding (`cnf`) `presented` does not
/// prove: the same check for a cache hit and a full verification.
fn check_presented(
    principal: &Principal,
    presented: &Presentation,
) -> Result<(), Refusal<'static>> {
    presented
        .check(principal.confirmation())
        .map_err(Refusal::Final)
}

/// A token [`Verifier::verify_cached_claimed`] refused: why, and what it
/// claimed.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RefusedToken {
    /// Why it was refused, as [`Verifier::verify_cached`] says.
    pub error: Error,
    /// What the token claimed (`iss`, `client_id`, `sub`), **unverified**,
    /// when its payload was decoded before the refusal: an expired, forged,
    /// unknown-`kid` or unknown-issuer token has it, a malformed one not.
    /// A forger chooses these values.
    pub claimed: Option<Claimed>,
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
    ///
    /// The token is a bearer token here: a sender-constrained one (`cnf`) is
    /// refused (`token_bound`, or `certificate_missing` for a
    /// certificate-bound one). See [`Verifier::verify_cached_presented`].
    pub fn verify_cached(&self, token: &str) -> Result<Principal> {
        self.verify_cached_presented(token, &Presentation::bearer())
    }

    /// [`Verifier::verify_cached`] for a token presented with a proof: a
    /// verified DPoP proof's key, the connection's client certificate. A
    /// token bound to a key or certificate (`cnf.jkt`, `cnf.x5t#S256`) is
    /// accepted only when `presented` proves it, on every request, cache
    /// hits included; a DPoP presentation needs a DPoP-bound token.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use rampgate_core::binding::{ClientCertificate, Presentation};
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
    /// let cert = ClientCertificate::from_der(b"the client's leaf certificate");
    /// let presented = Presentation::bearer().certificate(Some(cert));
    /// let err = verifier.verify_cached_presented("not-a-token", &presented).unwrap_err();
    /// assert_eq!(err.code(), "token_malformed");
    /// # }
    /// ```
    pub fn verify_cached_presented(
        &self,
        token: &str,
        presented: &Presentation,
    ) -> Result<Principal> {
        self.verify_inner(token, presented)
            .map_err(|refused| refused.refusal.into_error())
    }

    /// [`Verifier::verify_cached`], and for a refusal what the token claimed
    /// (unverified), taken from the payload the verification decoded: for
    /// the audit trail and the anomaly signals of refused tokens. An accepted
    /// token costs exactly what it costs `verify_cached`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use rampgate_core::binding::Presentation;
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
    /// // {"alg":"EdDSA","kid":"k1"} . {"iss":"https://issuer.example","aud":"api",
    /// // "exp":4102444800,"sub":"alice"} . (64 zero bytes: a forged signature)
    /// let forged = "eyJhbGciOiJFZERTQSIsImtpZCI6ImsxIn0.\
    ///     eyJpc3MiOiJodHRwczovL2lzc3Vlci5leGFtcGxlIiwiYXVkIjoiYXBpIiwiZXhwIjo0MTAyNDQ0ODAwLCJzdWIiOiJhbGljZSJ9.\
    ///     AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    /// let refused = verifier.verify_cached_claimed(forged, &Presentation::bearer()).unwrap_err();
    /// assert_eq!(refused.error.code(), "signature_invalid");
    /// let claimed = refused.claimed.unwrap();
    /// assert_eq!(claimed.iss.as_deref(), Some("https://issuer.example"));
    /// assert_eq!(claimed.sub.as_deref(), Some("alice"));
    /// # }
    /// ```
    pub fn verify_cached_claimed(
        &self,
        token: &str,
        presented: &Presentation,
    ) -> Result<Principal, RefusedToken> {
        self.verify_inner(token, presented)
            .map_err(|refused| RefusedToken {
                claimed: refused.decoded.claimed(token),
                error: refused.refusal.into_error(),
            })
    }

    /// Verifies `token`. When the token's `kid` is unknown (or no keys were ever
    /// fetched) and the issuer's keys are remote, refreshes them once, at most once
    /// per [`JwksOptions::unknown_kid_cooldown`](crate::JwksOptions::unknown_kid_cooldown), and tries again.
    ///
    /// The token is a bearer token here, as for [`Verifier::verify_cached`].
    pub async fn verify(&self, token: &str) -> Result<Principal> {
        self.verify_presented(token, &Presentation::bearer()).await
    }

    /// [`Verifier::verify`] for a token presented with a proof, as
    /// [`Verifier::verify_cached_presented`] says.
    pub async fn verify_presented(
        &self,
        token: &str,
        presented: &Presentation,
    ) -> Result<Principal> {
        match self
            .verify_inner(token, presented)
            .map_err(|refused| refused.refusal)
        {
            Ok(p) => Ok(p),
            Err(Refusal::KeysMayCure(e, keys)) => {
                if keys.refresh_for_unknown_kid().await {
                    self.verify_cached_presented(token, presented)
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

    fn verify_inner(
        &self,
        token: &str,
        presented: &Presentation,
    ) -> Result<Principal, Refused<'_>> {
        // An oversized token is never looked up (nor hashed): the parse refuses it.
        let cache = match &self.inner.cache {
            Some(cache) if token.len() <= self.inner.max_token_bytes => {
                let hash = cache.hash(token);
                if let Some(hit) = cache.get(hash, token) {
                    if let Some(principal) = self.still_valid(&hit) {
                        // The revocation list is consulted on every hit: a
                        // token revoked after it was cached is refused at once
                        // (and stays cached, for when it is un-revoked).
                        let kid = hit.key.kid().or(hit.kid.as_deref());
                        let checked = self
                            .check_revoked(&principal, kid, hit.times.iat)
                            .and_then(|()| check_presented(&principal, presented));
                        return match checked {
                            Ok(()) => Ok(principal),
                            Err(refusal) => Err(Refused {
                                refusal,
                                decoded: Decoded::Principal(principal),
                            }),
                        };
                    }
                    // Verified in full below, which gives the precise refusal.
                    cache.remove(hash, token);
                }
                Some((cache, hash))
            }
            _ => None,
        };
        let parsed = token::parse(token, self.inner.max_token_bytes)?;
        // A refusal from here on hands the decoded payload back (moved, not
        // copied), for what the token claimed.
        let refused = |refusal, claims| Refused {
            refusal,
            decoded: Decoded::Claims(claims),
        };
        let index = match self.issuer_index(&parsed.claims) {
            Ok(index) => index,
            Err(e) => return Err(refused(Refusal::Final(e), parsed.claims)),
        };
        let issuer = &self.inner.issuers[index];
        let now = now_secs()?;
        let (key, times) = match issuer.check(&parsed, now) {
            Ok(checked) => checked,
            Err(e) => {
                let refusal = if issuer.keys.is_refreshable() && refresh_may_help(&e) {
                    Refusal::KeysMayCure(e, &issuer.keys)
                } else {
                    Refusal::Final(e)
                };
                return Err(refused(refusal, parsed.claims));
            }
        };
        let header = parsed.header;
        let principal = Principal::from_claims(
            parsed.claims,
            Some(parsed.payload),
            &issuer.policy.scope_claims,
        )
        .map_err(|e| Refused {
            refusal: Refusal::Final(e),
            decoded: Decoded::Consumed,
        })?;
        // After the signature: only a genuine token is looked up, and a forged
        // one is refused for what it is. The key's own kid names the key even
        // when the token's header has none.
        let kid = key.kid().or(header.kid.as_deref());
        if let Err(refusal) = self.check_revoked(&principal, kid, times.iat) {
            return Err(Refused {
                refusal,
                decoded: Decoded::Principal(principal),
            });
        }
        if let Some((cache, hash)) = cache {
            let entry = || CachedToken {
                issuer: index,
                kid: header.kid,
                alg: header.alg,
                key,
                times,
                principal: principal.clone(),
            };
            cache.insert(hash, token, entry, now);
        }
        // After the cache: the token is genuine whatever was presented with
        // it, and its next presentation is checked again.
        match check_presented(&principal, presented) {
            Ok(()) => Ok(principal),
            Err(refusal) => Err(Refused {
                refusal,
                decoded: Decoded::Principal(principal),
            }),
        }
    }

    /// The index of the issuer `claims` name by `iss`.
    fn issuer_index(&self, claims: &serde_json::Map<String, Value>) -> Result<usize> {
        let iss = match claims.get("iss") {
            Some(Value::String(iss)) => iss.as_str(),
            None | Some(Value::Null) => {
                return Err(ErrorKind::ClaimMissing("iss".into()).into());
            }
            Some(_) => {
                let invalid = ErrorKind::ClaimInvalid {
                    claim: "iss".into(),
                    expected: "a string",
                };
                return Err(invalid.into());
            }
        };
        self.inner
            .issuers
            .iter()
            .position(|i| i.issuer == iss)
            .ok_or_else(|| ErrorKind::IssuerUnknown.into())
    }

    /// The cached principal, if every check that can change since the token
    /// was verified still passes; `None` sends the token to a full verification.
    fn still_valid(&self, hit: &CachedToken) -> Option<Principal> {
        let issuer = self.inner.issuers.get(hit.issuer)?;
        let now = now_secs().ok()?;
        hit.times.check(now, issuer.policy.leeway).ok()?;
        // The key must be the very one the issuer's keys give now: a kid
        // removed by a refresh, a stale remote set or a reloaded file all fail
        // here. Every new snapshot has new keys, so a refresh also sends each
        // cached token through one full verification again: costlier than
        // comparing key material, but never wrong.
        let key = issuer.keys.select(hit.kid.as_deref(), hit.alg).ok()?;
        if !Arc::ptr_eq(&key, &hit.key) {
            return None;
        }
        Some(hit.principal.clone())
    }

    /// Refuses a verified token that the revocation list names.
    fn check_revoked(
        &self,
        principal: &Principal,
        kid: Option<&str>,
        iat: Option<f64>,
    ) -> Result<(), Refusal<'_>> {
        let Some(store) = &self.inner.revocations else {
            return Ok(());
        };
        if !store.usable() {
            return Err(Refusal::Final(ErrorKind::RevocationUnavailable.into()));
        }
        let check = RevocationCheck::new(principal.iss())
            .kid(kid)
            .jti(principal.jti())
            .sub(principal.sub())
            .client_id(principal.client_id())
            .iat(iat);
        match store.check(&check) {
            None => Ok(()),
            Some(by) => {
                tracing::debug!(by = %by, iss = principal.iss(), "token revoked");
                Err(Refusal::Final(ErrorKind::TokenRevoked(by).into()))
            }
        }
    }

    /// The revocation store the verifier consults, if any.
    pub fn revocations(&self) -> Option<&Arc<dyn RevocationStore>> {
        self.inner.revocations.as_ref()
    }

    /// The token cache's counters, or `None` when the cache is off.
    pub fn cache_stats(&self) -> Option<TokenCacheStats> {
        self.inner.cache.as_ref().map(TokenCache::stats)
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
        let revocations = self.inner.revocations.as_ref().and_then(|s| s.health());
        Health {
            ready: issuers.iter().all(|i| i.ready) && revocations.as_ref().is_none_or(|r| r.usable),
            issuers,
            revocations,
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
