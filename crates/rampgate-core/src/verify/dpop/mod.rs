//! DPoP proofs (RFC 9449), checked at a resource server: one proof against
//! one request, in the order of §4.3, each refusal its own [`DpopFailure`].
//!
//! A [`DpopChecker`] reads the `DPoP` header's proof, checks it against the
//! request's method, URL and access token, and returns the thumbprint of the
//! proof's key: the access token is accepted only if its `cnf.jkt` is that
//! thumbprint ([`DpopProof::presented`], then the verifier).
//! The token's own validity is the verifier's business, not this module's.
//!
//! ```
//! use rampgate_core::dpop::{DpopChecker, DpopOptions, DpopRequest};
//!
//! let checker = DpopChecker::new(DpopOptions::default()).unwrap();
//! let request = DpopRequest::new("GET", "https://api.example/orders?page=2", "the.access.token");
//! let err = checker.check("not a proof", &request).unwrap_err();
//! assert_eq!(err.code(), "dpop_proof_malformed");
//! assert!(checker.algs().iter().all(|alg| !alg.is_hmac()));
//! ```
//!
//! The checks, in order: one compact JWS (strict base64url, JSON without
//! repeated members) with `jti`, `htm`, `htu`, `iat` and `ath`; `typ`
//! `dpop+jwt`; an allowed asymmetric `alg`; a public `jwk` that fits it; the
//! signature; `htm` and `htu` (RFC 3986 normal forms, query and fragment
//! left out); the server's nonce, when nonces are on; `iat` within the
//! window; `ath`; and last the `jti`, which must not have been seen with
//! this key within the window.
//!
//! The replay cache is in memory, shared by a checker and its clones but not
//! by the replicas of a service: a proof captured and replayed to another
//! replica within its `iat` window (60 seconds by default, and only for the
//! method and URL it names, with the token it names) is not caught. Keep
//! [`DpopOptions::max_age`] short where that matters. Nonces
//! ([`DpopOptions::require_nonce`]) keep clients from making proofs ahead of
//! time; replicas that share [`DpopOptions::nonce_secret`] accept each
//! other's.

mod htu;
mod nonce;
mod proof;
mod replay;
mod thumbprint;

use crate::alg::Algorithm;
use crate::binding::{DpopFailure, Presentation, Thumbprint};
use crate::error::{Error, Result};
use crate::json::parse_strict;
use nonce::{NonceCheck, Nonces};
use replay::{ReplayCache, ReplayKey};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What a [`DpopChecker`] accepts: algorithms, the `iat` window, the replay
/// cache's size, and server nonces. Every default is the strict one.
///
/// ```
/// use rampgate_core::Algorithm;
/// use rampgate_core::dpop::{DpopChecker, DpopOptions};
/// use std::time::Duration;
///
/// let options = DpopOptions::default()
///     .algorithms([Algorithm::ES256, Algorithm::EdDSA])
///     .max_age(Duration::from_secs(30))
///     .require_nonce(Duration::from_secs(300))
///     .nonce_secret(b"thirty-two bytes shared by every replica");
/// let checker = DpopChecker::new(options).unwrap();
/// assert_eq!(checker.algs(), [Algorithm::ES256, Algorithm::EdDSA]);
/// assert!(checker.nonce().is_some());
/// ```
#[derive(Clone)]
#[must_use]
pub struct DpopOptions {
    algorithms: Vec<Algorithm>,
    max_age: Duration,
    future_leeway: Duration,
    replay_capacity: usize,
    nonce_interval: Option<Duration>,
    nonce_secret: Option<Vec<u8>>,
}

impl Default for DpopOptions {
    fn default() -> Self {
        DpopOptions {
            algorithms: Algorithm::ASYMMETRIC.to_vec(),
            max_age: Duration::from_secs(60),
            future_leeway: Duration::from_secs(5),
            replay_capacity: 1_000_000,
            nonce_interval: None,
            nonce_secret: None,
        }
    }
}

impl fmt::Debug for DpopOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopOptions")
            .field("algorithms", &self.algorithms)
            .field("max_age", &self.max_age)
            .field("future_leeway", &self.future_leeway)
            .field("replay_capacity", &self.replay_capacity)
            .field("nonce_interval", &self.nonce_interval)
            .field("nonce_secret", &self.nonce_secret.as_ref().map(|_| "<set>"))
            .finish()
    }
}

impl DpopOptions {
    /// The algorithms a proof may be signed with (§4.3 check 5), announced
    /// in the challenge's `algs`. Only asymmetric ones: [`DpopChecker::new`]
    /// refuses an HMAC algorithm or an empty list. Defaults to
    /// [`Algorithm::ASYMMETRIC`], every asymmetric algorithm rampgate verifies.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms.clear();
        for alg in algorithms {
            if !self.algorithms.contains(&alg) {
                self.algorithms.push(alg);
            }
        }
        self
    }

    /// How old a proof's `iat` may be, clock skew included: a proof is
    /// refused after that, and its `jti` is held as long (§11.1). Defaults to
    /// 60 seconds; at least 1. A longer window holds more `jti`s, and lets a captured
    /// proof be used for longer (within its one request's method and URL).
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// How far in the future a proof's `iat` may be: the client's clock may
    /// be ahead of the server's. Defaults to 5 seconds.
    pub fn future_leeway(mut self, leeway: Duration) -> Self {
        self.future_leeway = leeway;
        self
    }

    /// The most `jti`s the replay cache holds at once: proofs within the
    /// window beyond that are refused with `dpop_replay_cache_full` (503)
    /// rather than accepted without replay protection. Defaults to 1 000 000,
    /// about `max_age + future_leeway` seconds of 15 000 proofs a second;
    /// memory grows with the entries held, not with the bound
    /// (docs/benchmarks.md measures it). At least 1.
    pub fn replay_capacity(mut self, capacity: usize) -> Self {
        self.replay_capacity = capacity;
        self
    }

    /// Requires a server nonce in every proof (§8, §9), rotated every
    /// `interval`: a proof without the current nonce, or the previous one,
    /// is refused with `use_dpop_nonce`, and the answer carries
    /// [`DpopChecker::nonce`] in `DPoP-Nonce`. Off by default.
    pub fn require_nonce(mut self, interval: Duration) -> Self {
        self.nonce_interval = Some(interval);
        self
    }

    /// The secret nonces are made with (at least 32 bytes): give every
    /// replica of a service the same one, so that a nonce from one is good at
    /// all. Defaults to 32 random bytes per checker. Needs
    /// [`DpopOptions::require_nonce`].
    pub fn nonce_secret(mut self, secret: impl AsRef<[u8]>) -> Self {
        self.nonce_secret = Some(secret.as_ref().to_vec());
        self
    }

    fn nonces(&self) -> Result<Option<Nonces>> {
        let interval = match (self.nonce_interval, &self.nonce_secret) {
            (None, None) => return Ok(None),
            (None, Some(_)) => {
                return Err(Error::config(
                    "DPoP nonce_secret without require_nonce: set the rotation interval",
                ));
            }
            (Some(interval), _) => interval.as_secs(),
        };
        if interval == 0 {
            return Err(Error::config(
                "the DPoP nonce interval must be 1 second or more",
            ));
        }
        let secret = match &self.nonce_secret {
            Some(secret) if secret.len() < nonce::MIN_SECRET => {
                return Err(Error::config(format!(
                    "the DPoP nonce secret must be at least {} bytes",
                    nonce::MIN_SECRET
                )));
            }
            Some(secret) => secret.clone(),
            None => rand::random::<[u8; 32]>().to_vec(),
        };
        Nonces::new(&secret, interval)
            .map(Some)
            .ok_or_else(|| Error::config("the DPoP nonce secret is unusable"))
    }
}

/// The request a proof must match: its method, its URL, and the access
/// token it came with.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    method: &'a str,
    htu: &'a str,
    access_token: &'a str,
}

impl<'a> DpopRequest<'a> {
    /// The request made with `method` (`"GET"`, exactly as sent) to `htu`
    /// with `access_token` (the `Authorization: DPoP` token).
    ///
    /// `htu` is the request's full URL as clients reach it: scheme, host,
    /// port and path (the query and fragment, if given, are ignored). Behind
    /// a proxy or a load balancer, its scheme and host come from the
    /// service's configuration, never from the request's `Host` or
    /// `X-Forwarded-*` headers: those are the client's to choose.
    pub const fn new(method: &'a str, htu: &'a str, access_token: &'a str) -> Self {
        DpopRequest {
            method,
            htu,
            access_token,
        }
    }
}

/// A proof that passed its checks: the thumbprint of its key, and whether
/// the answer should carry a fresh nonce.
#[derive(Debug, Clone)]
#[must_use]
pub struct DpopProof {
    thumbprint: Thumbprint,
    stale_nonce: bool,
    replay: ReplayKey,
    /// When its `jti` may be forgotten, in seconds since the epoch.
    expiry: u64,
}

impl DpopProof {
    /// The RFC 7638 thumbprint of the proof's key: what the access token's
    /// `cnf.jkt` must be.
    pub const fn thumbprint(&self) -> Thumbprint {
        self.thumbprint
    }

    /// What the request presented: `base` (its connection's certificate, if
    /// any) and this proof's key, for
    /// [`Verifier::verify_cached_presented`](crate::Verifier::verify_cached_presented):
    /// the token's `cnf.jkt` must then be this proof's thumbprint.
    pub const fn presented(&self, base: Presentation) -> Presentation {
        base.dpop(self.thumbprint)
    }

    /// Whether the proof carried the previous nonce, still accepted: the
    /// answer should carry the current one ([`DpopChecker::nonce`]) in
    /// `DPoP-Nonce` (§8.2), so that the client's next proof has it.
    pub const fn needs_fresh_nonce(&self) -> bool {
        self.stale_nonce
    }
}

/// Checks DPoP proofs. Cheap to clone: clones share the replay cache.
///
/// [`check`](DpopChecker::check) does it all. A layer that verifies the
/// access token as well should [`verify`](DpopChecker::verify) the proof,
/// then verify the token bound to its thumbprint, then
/// [`record`](DpopChecker::record) the proof: only proofs of valid tokens
/// then take room in the replay cache, which a stranger's self-made keys
/// could otherwise fill.
#[derive(Clone)]
pub struct DpopChecker {
    inner: Arc<Inner>,
}

struct Inner {
    algorithms: Vec<Algorithm>,
    max_age: f64,
    future_leeway: f64,
    replay: ReplayCache,
    nonces: Option<Nonces>,
}

impl fmt::Debug for DpopChecker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopChecker")
            .field("algorithms", &self.inner.algorithms)
            .field("max_age", &self.inner.max_age)
            .field("future_leeway", &self.inner.future_leeway)
            .field("replay_capacity", &self.inner.replay.capacity())
            .field("nonces", &self.inner.nonces.is_some())
            .finish()
    }
}

impl DpopChecker {
    /// A checker with these options, or a configuration error that says
    /// what to fix.
    pub fn new(options: DpopOptions) -> Result<DpopChecker> {
        if options.algorithms.is_empty() {
            return Err(Error::config("DPoP needs at least one algorithm"));
        }
        if let Some(alg) = options.algorithms.iter().find(|alg| alg.is_hmac()) {
            return Err(Error::config(format!(
                "{alg} is symmetric: a DPoP proof is signed with the client's private key (RFC 9449 §4.3)"
            )));
        }
        if options.max_age < Duration::from_secs(1) {
            // iat is in whole seconds: a shorter window refuses good proofs.
            return Err(Error::config("the DPoP max_age must be 1 second or more"));
        }
        if options.replay_capacity == 0 {
            return Err(Error::config(
                "the DPoP replay cache needs room for one jti at least",
            ));
        }
        Ok(DpopChecker {
            inner: Arc::new(Inner {
                nonces: options.nonces()?,
                algorithms: options.algorithms,
                max_age: options.max_age.as_secs_f64(),
                future_leeway: options.future_leeway.as_secs_f64(),
                replay: ReplayCache::new(options.replay_capacity),
            }),
        })
    }

    /// The algorithms proofs may use: the `algs` of the `DPoP` challenge.
    pub fn algs(&self) -> &[Algorithm] {
        &self.inner.algorithms
    }

    /// The `jti`s the replay cache holds now (some may have expired and wait
    /// to be purged), for metrics and capacity planning.
    pub fn replay_entries(&self) -> usize {
        self.inner.replay.len()
    }

    /// The most `jti`s the replay cache holds at once: the options' bound,
    /// rounded up to a whole number per shard.
    pub fn replay_capacity(&self) -> usize {
        self.inner.replay.capacity()
    }

    /// The nonce to send now in `DPoP-Nonce`, when nonces are required.
    pub fn nonce(&self) -> Option<String> {
        self.nonce_at(now_secs())
    }

    /// [`nonce`](DpopChecker::nonce) at `now` (Unix seconds).
    fn nonce_at(&self, now: f64) -> Option<String> {
        self.inner.nonces.as_ref().and_then(|n| n.current(now))
    }

    /// Every check of RFC 9449 §4.3, the replay check included: the proof
    /// is recorded. Use [`verify`](DpopChecker::verify) and
    /// [`record`](DpopChecker::record) to check the access token in between.
    pub fn check(&self, proof: &str, request: &DpopRequest<'_>) -> Result<DpopProof> {
        let now = now_secs();
        let proof = self.verify_at(proof, request, now)?;
        self.record_at(&proof, now)?;
        Ok(proof)
    }

    /// Every check but the replay check: the proof is not recorded yet.
    /// Call [`record`](DpopChecker::record) once the access token is
    /// verified, before the request goes on.
    pub fn verify(&self, proof: &str, request: &DpopRequest<'_>) -> Result<DpopProof> {
        Ok(self.verify_at(proof, request, now_secs())?)
    }

    /// Records the proof's `jti`: refused as `dpop_proof_replayed` if this
    /// key's proof with this `jti` was recorded within the window, as
    /// `dpop_replay_cache_full` (503) if there is no room to record it.
    pub fn record(&self, proof: &DpopProof) -> Result<()> {
        Ok(self.record_at(proof, now_secs())?)
    }

    fn record_at(&self, proof: &DpopProof, now: f64) -> Result<(), DpopFailure> {
        // `as` saturates: a clock before 1970 purges nothing.
        self.inner
            .replay
            .insert(proof.replay, proof.expiry, now as u64)
    }

    /// The checks of §4.3 but the replay check, at `now` (seconds since the
    /// epoch).
    fn verify_at(
        &self,
        proof: &str,
        request: &DpopRequest<'_>,
        now: f64,
    ) -> Result<DpopProof, DpopFailure> {
        let inner = &*self.inner;
        let proof::SignedProof { key, claims } = proof::read(proof, &inner.algorithms)?;
        if claims.htm != request.method {
            return Err(DpopFailure::Htm);
        }
        let Some(expected) = htu::normalise(request.htu) else {
            tracing::warn!(
                htu = %crate::escape::escape_control(request.htu),
                "the request's URL given to the DPoP checker is not an absolute URL: no proof can match it"
            );
            return Err(DpopFailure::Htu);
        };
        if htu::normalise(&claims.htu).as_ref() != Some(&expected) {
            return Err(DpopFailure::Htu);
        }
        let stale_nonce = match &inner.nonces {
            None => false,
            Some(nonces) => match nonces.check(claims.nonce.as_deref(), now) {
                NonceCheck::Current => false,
                NonceCheck::Previous => true,
                NonceCheck::Refused => return Err(DpopFailure::NonceRequired),
            },
        };
        if claims.iat < now - inner.max_age || claims.iat > now + inner.future_leeway {
            return Err(DpopFailure::Iat);
        }
        if claims.ath != access_token_hash(request.access_token) {
            return Err(DpopFailure::Ath);
        }
        // Held until its iat leaves the window: iat + max_age, which is at
        // most now + future_leeway + max_age.
        let expiry = (now + inner.future_leeway + inner.max_age).ceil() as u64;
        Ok(DpopProof {
            thumbprint: key,
            stale_nonce,
            replay: replay::replay_key(&key, &claims.jti),
            expiry,
        })
    }
}

/// `ath`: the base64url SHA-256 of the access token (RFC 9449 §4.2).
///
/// ```
/// use rampgate_core::dpop::access_token_hash;
///
/// // RFC 9449 §7.1's example token and its ath.
/// assert_eq!(
///     access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
///     "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo",
/// );
/// ```
pub fn access_token_hash(access_token: &str) -> String {
    Thumbprint::sha256(access_token.as_bytes()).to_string()
}

/// The RFC 7638 thumbprint of a public JWK (EC, RSA or OKP): what a
/// DPoP-bound token's `cnf.jkt` holds, for issuers and tests that mint one.
///
/// ```
/// use rampgate_core::dpop::jwk_thumbprint;
///
/// let jwk = r#"{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
/// assert_eq!(jwk_thumbprint(jwk).unwrap().to_string(), "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
/// ```
pub fn jwk_thumbprint(jwk: &str) -> Result<Thumbprint> {
    match parse_strict(jwk.as_bytes()) {
        Ok(Value::Object(jwk)) => thumbprint::of_jwk(&jwk)
            .map_err(|why| Error::config(format!("no JWK thumbprint: {why}"))),
        _ => Err(Error::config("a JWK must be a JSON object")),
    }
}

/// Seconds since the epoch; 0 for a clock set before it (every `iat` then
/// fails the window: fail closed).
fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests;
