//! Where an issuer's keys come from, how a remote key set is kept fresh, and the
//! counters it reports.

use crate::keys::KeySet;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

/// Where an issuer's keys come from.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum KeySource {
    /// Keys given in code (JWKs, PEM or an HMAC secret). Never refreshed.
    Static(KeySet),
    /// A JWK Set file, read when the verifier is built and re-read when it
    /// changes (see [`JwksOptions::file_poll_interval`]).
    JwksFile(PathBuf),
    /// A remote JWK Set URL, polled in the background (feature `remote-jwks`).
    /// Must be `https`, or `http` to a loopback host.
    JwksUrl(String),
    /// OIDC discovery: `{issuer}/.well-known/openid-configuration` gives `jwks_uri`;
    /// the document's `issuer` must equal the configured one (feature `remote-jwks`).
    Discovery,
}

/// How a remote key set is fetched and kept fresh, and how often a JWKS file
/// is looked at.
#[derive(Debug, Clone)]
pub struct JwksOptions {
    /// Timeout of one HTTP request, body included, set on every request so
    /// that it holds for a client supplied with
    /// [`IssuerConfig::http_client`](crate::IssuerConfig) too. Defaults to 5 seconds.
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
    /// How often a JWKS file ([`KeySource::JwksFile`]) is checked for a change
    /// of its modification time or length, and re-read if it changed;
    /// `Duration::ZERO` never re-reads it. Needs a tokio runtime when the
    /// verifier is built: without one the file is read once (and a warning
    /// logged). A file that becomes unreadable or invalid keeps the last good
    /// keys serving (file keys never go stale) and counts one failure in
    /// [`KeyStats`] per change. Defaults to 5 seconds.
    pub file_poll_interval: Duration,
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
            file_poll_interval: Duration::from_secs(5),
        }
    }
}

/// The health of one issuer's key set, for a readiness route: what
/// [`Verifier::health`](crate::Verifier::health) reports per issuer.
///
/// **Warning:** `last_error` names the JWKS or discovery URL and the network
/// error; serve it on an internal port, not to the internet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct IssuerHealth {
    /// The issuer (`iss`), as configured.
    pub issuer: String,
    /// Whether its tokens can be verified now: keys loaded and not stale.
    pub ready: bool,
    /// How many keys are held now.
    pub keys: usize,
    /// Seconds since the key set was last loaded (fetched, or read for static
    /// and file keys); `None` when nothing was ever loaded.
    pub age_secs: Option<u64>,
    /// When the key set was last loaded, in seconds since the Unix epoch;
    /// `None` when nothing was ever loaded.
    pub last_refresh: Option<u64>,
    /// The last fetch error (or JWKS file reload error), cleared by the next
    /// success.
    pub last_error: Option<String>,
    /// Whether the keys held are older than `max_stale`, so no longer used.
    pub stale: bool,
}

/// Counters of an issuer's key set, for health checks and dashboards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeyStats {
    /// Successful fetches of the remote key set, or reloads of a changed JWKS
    /// file (the first read not counted).
    pub refreshes: u64,
    /// Failed fetches, or failed reloads of a changed JWKS file (one per
    /// change: a file that stays broken is counted once).
    pub failures: u64,
    /// When the key set was last fetched successfully (or loaded, for static keys).
    pub last_success: Option<SystemTime>,
    /// The last fetch or file reload error, cleared by the next success.
    pub last_error: Option<String>,
    /// The key ids currently trusted.
    pub kids: Vec<String>,
}
