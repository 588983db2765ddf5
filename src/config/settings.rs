//! The sections of the configuration file, as they are read: `[alerts]`,
//! `[audit]`, `[dpop]`, `[policy]`, `[[issuers]]`, `[contract]` and `[revocation]`.

use serde::Deserialize;
use std::path::PathBuf;

// Named in the documentation of the settings only.
#[cfg(doc)]
use {super::Config, super::DEFAULT_MAX_TOKEN_LIFETIME_SECS, crate::ValidationPolicy};

/// The alert webhook (`[alerts]`, see [`Config::auditor`]): contract
/// widenings, stage rollbacks, anomaly signals, `kid` revocations and audit
/// overflow, each POSTed as one JSON object. Needs the `audit-webhook`
/// feature: without it, an `[alerts]` table is an error, never ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AlertSettings {
    /// The http(s) URL alerts are POSTed to (`RAMPGATE_ALERTS_WEBHOOK`).
    /// Required.
    pub webhook: Option<String>,
    /// Adds a `"text"` member, a one-line summary, for chat incoming
    /// webhooks. Defaults to `false`.
    #[serde(default)]
    pub text: bool,
    /// How many alerts can wait for the webhook before more are dropped
    /// (and counted). Defaults to 256.
    pub queue: Option<usize>,
    /// How many times a failed POST is retried. Defaults to 3.
    pub retries: Option<u32>,
}

/// The audit file (see [`Config::auditor`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AuditSettings {
    /// The JSON Lines file events are appended to (`RAMPGATE_AUDIT`).
    pub file: PathBuf,
    /// Rotate when the file would pass this many MiB; `0` never rotates.
    /// Defaults to 100.
    pub max_mb: Option<u64>,
    /// How many rotated files to keep. Defaults to 5.
    pub keep: Option<usize>,
    /// The queue's capacity in events. Defaults to 8192.
    pub queue: Option<usize>,
}

/// DPoP (RFC 9449) on the [`JwtLayer`](crate::JwtLayer) of
/// [`Config::jwt_layer`] (`[dpop]`): `Authorization: DPoP` tokens with their
/// proofs are accepted besides bearer tokens. Off without the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct DpopSettings {
    /// The service's URL as clients reach it (`https://api.example.com`):
    /// a proof's `htu` must be it followed by the request's path. Set it
    /// behind a proxy, a load balancer or TLS termination. Defaults to the
    /// request's own scheme and `Host`.
    pub public_url: Option<String>,
    /// The proof algorithms accepted (JOSE names, asymmetric only).
    /// Defaults to every asymmetric algorithm.
    pub algorithms: Option<Vec<String>>,
    /// How old a proof's `iat` may be, in seconds; its `jti` is held as
    /// long against replay. Defaults to 60.
    pub max_age_secs: Option<u64>,
    /// How many proofs the replay cache holds at most; when full, proofs
    /// are refused (503) rather than old ones forgotten. Defaults to 1,000,000.
    pub replay_capacity: Option<usize>,
    /// Require server nonces (RFC 9449 §9), rotated every this many
    /// seconds. Defaults to none: no nonces.
    pub nonce_interval_secs: Option<u64>,
    /// The secret nonces are derived from, shared by every replica so that
    /// each accepts the others' nonces (at least 32 bytes). Defaults to a
    /// random one per process.
    pub nonce_secret: Option<String>,
}

/// The validation rules every issuer's tokens must meet (`[policy]`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct PolicySettings {
    /// The longest lifetime a token may have, `exp - iat`, in seconds: a
    /// longer-lived token is refused with `token_lifetime_exceeded`, one
    /// without `iat` with `claim_missing` (see
    /// [`ValidationPolicy::max_lifetime`]). `0` sets no limit. Defaults to
    /// [`DEFAULT_MAX_TOKEN_LIFETIME_SECS`] (24 hours). `max_token_lifetime`
    /// is accepted as another name for it (seconds too).
    #[serde(alias = "max_token_lifetime")]
    pub max_token_lifetime_secs: Option<u64>,
}

/// One trusted issuer in the file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct IssuerSettings {
    /// The exact `iss`.
    pub issuer: String,
    /// The audiences this service answers to; at least one.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// The JWKS URL (https, or http on loopback).
    pub jwks_url: Option<String>,
    /// A JWKS file, read when the verifier is built and re-read when it
    /// changes (every 5 seconds it is checked; see `JwksOptions::file_poll_interval`).
    pub jwks_file: Option<PathBuf>,
    /// Find the JWKS through OIDC discovery on the issuer.
    #[serde(default)]
    pub discovery: bool,
    /// Require `typ: at+jwt` (RFC 9068 §4). Defaults to `false`.
    #[serde(default)]
    pub require_typ_at_jwt: bool,
    /// Accept tokens that carry ID-token claims (`nonce`, `at_hash`, `c_hash`).
    /// Defaults to `false`. **Warning:** only for an issuer that puts them on
    /// access tokens (Keycloak before 25); see `ValidationPolicy::allow_id_token_claims`.
    #[serde(default)]
    pub allow_id_token_claims: bool,
    /// Claims that must be present besides `iss`, `aud` and `exp`.
    #[serde(default)]
    pub required_claims: Vec<String>,
    /// Extra claim paths scopes are read from (`permissions`, `realm_access.roles`).
    #[serde(default)]
    pub scope_claims: Vec<String>,
    /// The algorithms allowed (JOSE names). Defaults to every asymmetric one.
    pub algorithms: Option<Vec<String>>,
    /// Clock skew tolerated, in seconds. Defaults to 60; at most 300.
    pub leeway_secs: Option<u64>,
    /// `"required"`: every token of this issuer must be sender-constrained
    /// (bound to a DPoP key or a client certificate, `cnf`, and presented
    /// with its proof); a bearer token is refused with
    /// `sender_constraint_required`. Defaults to `"optional"`: bearer
    /// tokens are accepted, bound ones only with their proof.
    #[serde(default)]
    pub sender_constrained: SenderConstrained,
}

/// Whether tokens must be sender-constrained (`sender_constrained`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SenderConstrained {
    /// Bearer tokens are accepted; a bound token only with its proof.
    #[default]
    Optional,
    /// Only bound tokens, each with its proof.
    Required,
}

/// The admin router (`[admin]`, see `Config::admin_router`, feature
/// `axum`): revocations and `POST /keys/refresh` for the tokens of one
/// issuer, for one audience, with one scope. Off without the table.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct AdminSettings {
    /// The issuer of the operators' tokens (`iss`, exactly). Required.
    pub issuer: String,
    /// The audience admin tokens must name, one of the admin API's own.
    /// Required.
    pub audience: String,
    /// The scope every admin request needs. Defaults to `rampgate:admin`.
    pub scope: Option<String>,
    /// The admin issuer's JWKS URL; without it, OIDC discovery on the issuer.
    pub jwks_url: Option<String>,
    /// Where the router is mounted. Defaults to `/admin`.
    pub path: Option<String>,
}

/// Where revocations are kept (`[revocation]`, see
/// [`Config::revocation_store`]).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct RevocationSettings {
    /// `"memory"` (this process only, lost at restart; the default) or
    /// `"redis"` (shared by every replica; needs the `redis` feature and
    /// `redis_url`).
    pub store: Option<String>,
    /// The Redis server, `redis://host:port[/db]` (`RAMPGATE_REDIS_URL`).
    pub redis_url: Option<String>,
    /// The prefix of the keys and channel in Redis. Defaults to `rampgate`.
    pub prefix: Option<String>,
    /// Seconds without Redis after which `on_stale` applies. Defaults to 60.
    /// `max_stale` is accepted as another name for it (seconds too).
    #[serde(alias = "max_stale")]
    pub max_stale_secs: Option<u64>,
    /// Past `max_stale`: `"keep-serving"` (the default: the last mirror
    /// goes on answering, so a revocation made elsewhere meanwhile is not
    /// seen) or `"fail-closed"` (every token refused with 503
    /// `revocation_unavailable` until Redis is back).
    pub on_stale: Option<String>,
    /// The most changes made through this replica (the admin router) that
    /// may wait for Redis during an outage; past it, a change is refused
    /// rather than queued. Defaults to 10 000.
    pub max_queued: Option<usize>,
}

/// Shows `redis_url` with its password hidden.
impl std::fmt::Debug for RevocationSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationSettings")
            .field("store", &self.store)
            .field(
                "redis_url",
                &self.redis_url.as_deref().map(rampgate_core::redact_url),
            )
            .field("prefix", &self.prefix)
            .field("max_stale_secs", &self.max_stale_secs)
            .field("on_stale", &self.on_stale)
            .field("max_queued", &self.max_queued)
            .finish()
    }
}

/// The contract file and how often it is re-read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct ContractSettings {
    /// The contract file (`RAMPGATE_CONTRACT`).
    pub file: PathBuf,
    /// Seconds between two checks of the file for a new version; `0` never
    /// re-reads it. Defaults to 5.
    pub watch_secs: Option<u64>,
}
