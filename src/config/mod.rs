//! Configuration for production: a TOML file, overridden by `RAMPGATE_*`
//! environment variables, that builds the [`Verifier`], the contract handle and
//! the [`JwtLayer`].
//!
//! A missing setting is an error that says what to set. Nothing here ever
//! starts a development issuer: a program that wants one (the examples do, to
//! run on their embedded defaults) asks for it explicitly with
//! [`Config::has_issuer`] and `rampgate_testkit::DevIssuer`.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use rampgate::config::{Config, ConfigError};
//!
//! let config = Config::from_toml(r#"
//!     listen = "0.0.0.0:8080"
//!     realm = "payments"
//!
//!     [[issuers]]
//!     issuer = "https://login.example.com/"
//!     audiences = ["https://api.example.com"]
//!     discovery = true
//!     require_typ_at_jwt = true
//! "#).unwrap();
//! assert_eq!(config.listen_addr().port(), 8080);
//!
//! // No issuer anywhere is an error that names what to set, never a dev issuer.
//! let err = Config::default().issuer_configs(None).unwrap_err();
//! assert!(matches!(err, ConfigError::NoIssuer));
//! assert!(err.to_string().contains("RAMPGATE_ISSUER"));
//! # }
//! ```
//!
//! The file:
//!
//! ```toml
//! listen = "127.0.0.1:3000"          # RAMPGATE_ADDR
//! realm = "api"                      # the WWW-Authenticate realm
//! resource_metadata = "https://api.example.com/.well-known/oauth-protected-resource"
//! max_token_bytes = 8192
//! trusted_proxies = ["10.0.0.0/8"]   # X-Forwarded-For / Forwarded believed only from these
//! token_cache_entries = 4096         # verified tokens kept; 0 verifies every token in full
//! ready_timeout_secs = 10            # RAMPGATE_READY_TIMEOUT; 0 to not wait for keys
//!
//! [policy]                         # for every issuer
//! max_token_lifetime_secs = 86400    # longest exp - iat accepted (iat then required); default 24 h, 0: no limit
//!
//! [contract]
//! file = "contract.toml"             # RAMPGATE_CONTRACT
//! watch_secs = 5                     # hot reload; 0 to never re-read
//!
//! [audit]
//! file = "audit.jsonl"               # RAMPGATE_AUDIT: one JSON line per decision (docs/audit.md)
//! max_mb = 100                       # rotate past this size (0: never)
//! keep = 5                           # rotated files kept: audit.jsonl.1 .. .5
//! queue = 8192                       # events that can wait for the disk before being dropped
//!
//! [revocation]                       # docs/revocation.md
//! store = "redis"                    # "memory" (this process only) or "redis" (every replica; feature redis)
//! redis_url = "redis://127.0.0.1:6379"   # RAMPGATE_REDIS_URL (which also selects store = "redis")
//! max_stale_secs = 60                # without Redis this long, on_stale applies
//! on_stale = "keep-serving"          # or "fail-closed": 503 revocation_unavailable until Redis is back
//!
//! [admin]                            # off without the table; feature axum; docs/revocation.md
//! issuer = "https://login.example.com/"  # the operators' tokens only
//! audience = "rampgate-admin"        # an audience of the admin API's own
//! scope = "rampgate:admin"           # the default
//! jwks_url = "https://login.example.com/.well-known/jwks.json"   # default: OIDC discovery
//! path = "/admin"                    # the default
//!
//! [alerts]                           # feature audit-webhook; docs/audit.md, "Alerts"
//! webhook = "https://hooks.example.com/services/T0/B0/x"   # RAMPGATE_ALERTS_WEBHOOK
//! text = true                        # add a one-line "text" (Slack, Mattermost incoming webhooks)
//! queue = 256                        # alerts that can wait for the webhook before being dropped
//! retries = 3                        # tries after the first, 200 ms, 400 ms, 800 ms... apart
//!
//! [[issuers]]                        # RAMPGATE_ISSUER + RAMPGATE_AUDIENCE (+ RAMPGATE_JWKS_URL) replace
//!                                    # issuer, audiences and key source; the rest is kept
//! issuer = "https://login.example.com/"
//! audiences = ["https://api.example.com"]
//! jwks_url = "https://login.example.com/.well-known/jwks.json"   # or jwks_file, or discovery = true
//! require_typ_at_jwt = true          # RFC 9068 typing
//! allow_id_token_claims = false      # true only for issuers that put nonce on access tokens
//! required_claims = ["sub", "client_id"]
//! scope_claims = ["permissions"]     # besides scope and scp
//! algorithms = ["RS256"]             # default: every asymmetric algorithm
//! leeway_secs = 30                   # default 60, at most 300
//! sender_constrained = "required"    # default "optional": bearer tokens too (docs/sender-constrained.md)
//!
//! [dpop]                             # off without the table; docs/sender-constrained.md
//! public_url = "https://api.example.com"   # what proofs sign (htu); default: the request's scheme and Host
//! algorithms = ["ES256", "EdDSA"]    # default: every asymmetric algorithm
//! max_age_secs = 60                  # how old a proof may be; its jti is held as long
//! replay_capacity = 1000000          # proofs held against replay; full: 503, never forgotten early
//! nonce_interval_secs = 300          # require server nonces, rotated this often (default: none)
//! nonce_secret = "32 bytes or more, the same on every replica"
//! ```

#[cfg(feature = "axum")]
mod admin;
mod alerts;
mod dpop;
mod env;
mod issuer;
mod revocation;
mod serve;
mod settings;

pub use settings::{
    AdminSettings, AlertSettings, AuditSettings, ContractSettings, DpopSettings, IssuerSettings,
    PolicySettings, RevocationSettings, SenderConstrained,
};

use crate::contract::{Contract, ContractHandle};
use crate::{IssuerConfig, JwtLayer, ValidationPolicy, Verifier};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The address served on when neither the file nor `RAMPGATE_ADDR` names one.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3000";

/// How long [`Config::ready_verifier`] waits for keys when neither the file
/// nor `RAMPGATE_READY_TIMEOUT` says.
pub const DEFAULT_READY_TIMEOUT_SECS: u64 = 10;

/// The longest token lifetime (`exp - iat`) accepted when `[policy]
/// max_token_lifetime_secs` is not set: 24 hours, the longest default access
/// token lifetime of the major identity providers (Auth0's).
pub const DEFAULT_MAX_TOKEN_LIFETIME_SECS: u64 = 86_400;

/// Why a configuration could not be read or used; each says what to fix.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The configuration file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or does not fit the schema (unknown keys
    /// included).
    #[error("{origin}: {message}")]
    Parse {
        /// The file, or `configuration` for text.
        origin: String,
        /// What is wrong, with the line where TOML knows it.
        message: String,
    },
    /// A setting is invalid or two settings contradict each other.
    #[error("{0}")]
    Invalid(String),
    /// No issuer is configured anywhere.
    #[error(
        "no issuer configured: set RAMPGATE_ISSUER and RAMPGATE_AUDIENCE (keys from RAMPGATE_JWKS_URL, or OIDC discovery), add [[issuers]] to the file named by RAMPGATE_CONFIG, or name issuer and audience in the contract"
    )]
    NoIssuer,
    /// The contract file is invalid or unreadable.
    #[error("contract: {0}")]
    Contract(#[from] crate::contract::ReloadError),
    /// The verifier refused the issuers' configuration.
    #[error("{0}")]
    Verifier(#[from] crate::Error),
    /// Some issuers had no usable keys within `ready_timeout_secs`
    /// ([`Config::ready_verifier`]); the error names them, with their last
    /// fetch errors. A program that would rather start anyway (answering 503
    /// until the keys come) uses [`Config::verifier`] instead.
    #[error(
        "not ready within ready_timeout_secs (RAMPGATE_READY_TIMEOUT): {0}; check that the issuer's JWKS is reachable, or raise the timeout"
    )]
    NotReady(crate::Error),
}

/// The whole configuration. Every field is optional in the file; what a
/// program cannot do without is checked where it is used, with an error that
/// names the setting.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// Where the service listens (`RAMPGATE_ADDR`). Defaults to [`DEFAULT_LISTEN`].
    pub listen: Option<SocketAddr>,
    /// The `realm` of every challenge. Defaults to none.
    pub realm: Option<String>,
    /// The RFC 9728 metadata URL named in every challenge. Defaults to none.
    pub resource_metadata: Option<String>,
    /// The longest token accepted, in bytes. Defaults to 8 KiB.
    pub max_token_bytes: Option<usize>,
    /// The reverse proxies (addresses or CIDR ranges) whose
    /// `X-Forwarded-For` / `Forwarded` headers name the client, for the
    /// audit events' `client_addr` and the anomaly signals (see
    /// [`Config::trusted_proxies`]). Defaults to none: the client is the
    /// connection's peer and those headers are ignored.
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// How many verified tokens the verifier keeps (see
    /// [`VerifierBuilder::token_cache`](crate::VerifierBuilder::token_cache));
    /// `0` turns the cache off. Defaults to
    /// [`TokenCacheOptions::default`](crate::keys::TokenCacheOptions::default)'s 4096.
    pub token_cache_entries: Option<usize>,
    /// How long [`Config::ready_verifier`] waits for every issuer's first keys
    /// (`RAMPGATE_READY_TIMEOUT`), in seconds; `0` does not wait. Defaults to
    /// [`DEFAULT_READY_TIMEOUT_SECS`].
    pub ready_timeout_secs: Option<u64>,
    /// The trusted issuers. Defaults to none, which is an error when a verifier
    /// is built (unless the contract names its issuer and audience).
    #[serde(default)]
    pub issuers: Vec<IssuerSettings>,
    /// The validation rules of every issuer. Defaults to
    /// [`PolicySettings::default`]: tokens living at most 24 hours.
    pub policy: Option<PolicySettings>,
    /// The ramp contract file. Defaults to none (the program's own, if any).
    pub contract: Option<ContractSettings>,
    /// The audit trail's JSON Lines file. Defaults to none (audit events go
    /// to `tracing`).
    pub audit: Option<AuditSettings>,
    /// Where alerts are POSTed (see [`Config::auditor`]). Defaults to none.
    pub alerts: Option<AlertSettings>,
    /// Where revocations are kept (see [`Config::revocation_store`]).
    /// Defaults to none: the verifier consults no revocation store.
    pub revocation: Option<RevocationSettings>,
    /// The admin router (`Config::admin_router`, feature `axum`). Defaults
    /// to none: no admin routes.
    pub admin: Option<AdminSettings>,
    /// DPoP on [`Config::jwt_layer`]. Defaults to none: bearer tokens only
    /// (a DPoP-bound token is refused as `token_bound`).
    pub dpop: Option<DpopSettings>,
}

impl Config {
    /// Reads the configuration of a process: the file named by
    /// `RAMPGATE_CONFIG` (if set), then the `RAMPGATE_*` overrides (see
    /// [`Config::apply_env`]).
    pub fn from_env() -> Result<Config, ConfigError> {
        let base = match std::env::var_os("RAMPGATE_CONFIG") {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        base.apply_env(|name| std::env::var(name).ok())
    }

    /// Parses a configuration file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses configuration text.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, "configuration")
    }

    fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })
    }

    /// The longest token lifetime accepted (`[policy] max_token_lifetime_secs`,
    /// else [`DEFAULT_MAX_TOKEN_LIFETIME_SECS`]), or `None` when it is set to
    /// `0`.
    ///
    /// ```
    /// use rampgate::config::Config;
    /// use std::time::Duration;
    ///
    /// assert_eq!(Config::default().max_token_lifetime(), Some(Duration::from_secs(86_400)));
    /// let hour = Config::from_toml("[policy]\nmax_token_lifetime_secs = 3600").unwrap();
    /// assert_eq!(hour.max_token_lifetime(), Some(Duration::from_secs(3600)));
    /// let same = Config::from_toml("[policy]\nmax_token_lifetime = 3600").unwrap();
    /// assert_eq!(same.max_token_lifetime(), Some(Duration::from_secs(3600)));
    /// let off = Config::from_toml("[policy]\nmax_token_lifetime_secs = 0").unwrap();
    /// assert_eq!(off.max_token_lifetime(), None);
    /// ```
    pub fn max_token_lifetime(&self) -> Option<Duration> {
        let secs = self
            .policy
            .as_ref()
            .and_then(|p| p.max_token_lifetime_secs)
            .unwrap_or(DEFAULT_MAX_TOKEN_LIFETIME_SECS);
        (secs > 0).then(|| Duration::from_secs(secs))
    }

    /// The validation policy every issuer starts from:
    /// [`ValidationPolicy::default`] with [`Config::max_token_lifetime`]. The
    /// issuers of the file add their own settings to it; a program that
    /// trusts an issuer of its own (the examples' development issuer) gives
    /// it this policy, so that it is held to the same lifetime.
    pub fn validation_policy(&self) -> ValidationPolicy {
        let policy = ValidationPolicy::default();
        match self.max_token_lifetime() {
            Some(max) => policy.max_lifetime(max),
            None => policy,
        }
    }

    /// Whether an issuer is configured: in the file or environment, or as the
    /// `contract`'s issuer and audience. A program that runs a development
    /// issuer when this is `false` must say so loudly.
    pub fn has_issuer(&self, contract: Option<&Contract>) -> bool {
        !self.issuers.is_empty()
            || contract.is_some_and(|c| c.issuer().is_some() && c.audience().is_some())
    }

    /// The configured contract file, loaded and watched every `watch_secs`
    /// when positive; `None` when none is configured.
    ///
    /// The watcher is kept inside the handle
    /// ([`ContractHandle::watch`]): it runs for as long as the handle or
    /// any clone of it (in a `ContractLayer`, say) is alive, and there is no
    /// guard to keep. [`ContractHandle::stop_watching`] ends it.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Contract`] when the file cannot be read or is invalid,
    /// and, with watching on, when called outside a tokio runtime
    /// ([`ReloadError::NoRuntime`](crate::contract::ReloadError::NoRuntime)).
    pub fn contract(&self) -> Result<Option<ContractHandle>, ConfigError> {
        let Some(settings) = &self.contract else {
            return Ok(None);
        };
        let handle = ContractHandle::from_file(&settings.file)?;
        let period = settings.watch_secs.unwrap_or(5);
        if period > 0 {
            handle.watch(Duration::from_secs(period))?;
        }
        Ok(Some(handle))
    }

    /// The proxies of `trusted_proxies`, which [`Config::auditor`] gives its
    /// auditor (and so every `AuditLayer` recording into it).
    ///
    /// ```
    /// use rampgate::config::Config;
    ///
    /// let config = Config::from_toml("trusted_proxies = [\"10.0.0.0/8\", \"::1\"]").unwrap();
    /// assert!(!config.trusted_proxies().unwrap().is_empty());
    /// let bad = Config::from_toml("trusted_proxies = [\"proxy.internal\"]").unwrap();
    /// assert!(bad.trusted_proxies().unwrap_err().to_string().contains("proxy.internal"));
    /// ```
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming an entry that is not an address or a
    /// CIDR range.
    pub fn trusted_proxies(&self) -> Result<crate::anomaly::TrustedProxies, ConfigError> {
        crate::anomaly::TrustedProxies::parse(&self.trusted_proxies)
            .map_err(|e| ConfigError::Invalid(format!("trusted_proxies: {e}")))
    }

    /// The auditor of the configured audit file (`[audit]` or
    /// `RAMPGATE_AUDIT`): a [`FileSink`](crate::audit::FileSink) behind a
    /// bounded queue, flushed to disk on rotation. Without an audit file, an
    /// auditor writing to `tracing`. Either way it raises `anomaly` events
    /// with the default [`AnomalyOptions`](crate::anomaly::AnomalyOptions),
    /// and believes the forwarding headers of the `trusted_proxies` only
    /// (an `AuditLayer::new(auditor)` needs no other call for them). With
    /// `[alerts]` (or `RAMPGATE_ALERTS_WEBHOOK`), alerts also go to the
    /// webhook, through their own bounded queue.
    /// Call it from inside a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] when the file cannot be opened for appending,
    /// when a `trusted_proxies` entry is not an address or CIDR range, when
    /// `[alerts]` has no webhook, an invalid one, a zero queue, or the
    /// `audit-webhook` feature is off, or outside a tokio runtime.
    pub fn auditor(&self) -> Result<crate::audit::Auditor, ConfigError> {
        use crate::audit::{Auditor, FileSink, FileSinkOptions};
        let invalid = |e: &dyn std::fmt::Display| ConfigError::Invalid(format!("audit: {e}"));
        // Anomaly signals (bursts of failures per consumer, subject, address
        // and jti) ride along with the decisions, in the writer task.
        // The client of a request behind a trusted proxy is the one it
        // forwarded for, in every AuditLayer recording into this auditor.
        let mut builder = Auditor::builder()
            .anomalies(crate::anomaly::AnomalyDetector::new(
                crate::anomaly::AnomalyOptions::default(),
            ))
            .trusted_proxies(self.trusted_proxies()?);
        if let Some(settings) = &self.audit {
            let max_mb = settings.max_mb.unwrap_or(100);
            let options = FileSinkOptions::default()
                .max_bytes((max_mb > 0).then(|| max_mb.saturating_mul(1024 * 1024)))
                .keep(settings.keep.unwrap_or(5));
            let sink = FileSink::with_options(&settings.file, options).map_err(|e| {
                ConfigError::Invalid(format!(
                    "audit: cannot open {} for appending: {e}",
                    settings.file.display()
                ))
            })?;
            builder = builder
                .sink(sink)
                .capacity(settings.queue.unwrap_or(crate::audit::DEFAULT_CAPACITY));
        }
        if let Some(alerts) = &self.alerts {
            builder = alerts.apply(builder)?;
        }
        builder.build().map_err(|e| invalid(&e))
    }

    /// The configured contract file (see [`Config::contract`]), else the
    /// program's own `embedded` contract text.
    pub fn contract_or(&self, embedded: &str) -> Result<ContractHandle, ConfigError> {
        match self.contract()? {
            Some(handle) => Ok(handle),
            None => Contract::parse(embedded)
                .map(ContractHandle::new)
                .map_err(|e| ConfigError::Invalid(format!("embedded contract: {e}"))),
        }
    }

    /// The issuers to trust: the configured ones; else the contract's issuer and
    /// audience, with OIDC discovery; else [`ConfigError::NoIssuer`]. Each
    /// has [`Config::validation_policy`] (the `[policy]` section) with its
    /// own settings on top.
    pub fn issuer_configs(
        &self,
        contract: Option<&Contract>,
    ) -> Result<Vec<IssuerConfig>, ConfigError> {
        if !self.issuers.is_empty() {
            return self
                .issuers
                .iter()
                .map(|issuer| issuer.issuer_config_with(self.validation_policy()))
                .collect();
        }
        let Some(contract) = contract else {
            return Err(ConfigError::NoIssuer);
        };
        match (contract.issuer(), contract.audience()) {
            (Some(issuer), Some(audience)) => Ok(vec![
                IssuerConfig::new(issuer, [audience])
                    .discovery()
                    .policy(self.validation_policy()),
            ]),
            (None, None) => Err(ConfigError::NoIssuer),
            _ => Err(ConfigError::Invalid(
                "the contract names only one of issuer and audience: name both, or configure the issuer".into(),
            )),
        }
    }

    /// Builds the verifier for [`Config::issuer_configs`] (fetching remote keys
    /// once; see [`crate::VerifierBuilder::build`]).
    pub async fn verifier(&self, contract: Option<&Contract>) -> Result<Verifier, ConfigError> {
        let builder = self.with_revocations(self.builder(contract)?).await?;
        Ok(builder.build().await?)
    }

    fn builder(&self, contract: Option<&Contract>) -> Result<crate::VerifierBuilder, ConfigError> {
        let mut builder = Verifier::builder();
        for issuer in self.issuer_configs(contract)? {
            builder = builder.issuer(issuer);
        }
        if let Some(max) = self.max_token_bytes {
            builder = builder.max_token_bytes(max);
        }
        if let Some(max_entries) = self.token_cache_entries {
            builder = builder.token_cache(crate::keys::TokenCacheOptions {
                max_entries,
                ..crate::keys::TokenCacheOptions::default()
            });
        }
        Ok(builder)
    }

    /// A [`JwtLayer`] over `verifier` with the configured realm, resource
    /// metadata URL and DPoP (`[dpop]`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for a `[dpop]` table that cannot be used.
    pub fn jwt_layer(&self, verifier: Verifier) -> Result<JwtLayer, ConfigError> {
        let mut layer = JwtLayer::new(verifier);
        if let Some(realm) = &self.realm {
            layer = layer.realm(realm);
        }
        if let Some(url) = &self.resource_metadata {
            layer = layer.resource_metadata(url);
        }
        if let Some(dpop) = &self.dpop {
            layer = dpop.apply(layer)?;
        }
        Ok(layer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        let map: HashMap<&str, &str> = vars.iter().copied().collect();
        move |name| map.get(name).map(|v| (*v).to_owned())
    }

    #[test]
    fn nothing_configured_is_an_error_never_a_dev_issuer() {
        let config = Config::default().apply_env(env(&[])).unwrap();
        assert!(!config.has_issuer(None));
        assert!(matches!(
            config.issuer_configs(None),
            Err(ConfigError::NoIssuer)
        ));
    }

    #[test]
    fn environment_names_one_issuer() {
        let config = Config::default()
            .apply_env(env(&[
                ("RAMPGATE_ISSUER", "https://i.example"),
                ("RAMPGATE_AUDIENCE", "api"),
                ("RAMPGATE_ADDR", "127.0.0.1:0"),
                ("RAMPGATE_CONTRACT", "c.toml"),
                ("RAMPGATE_AUDIT", "audit.jsonl"),
            ]))
            .unwrap();
        assert_eq!(
            config.audit.as_ref().map(|a| a.file.clone()),
            Some(PathBuf::from("audit.jsonl"))
        );
        assert_eq!(config.issuers.len(), 1);
        assert!(config.issuers[0].discovery, "no JWKS URL: discovery");
        assert_eq!(config.listen_addr().port(), 0);
        assert_eq!(
            config.contract.as_ref().map(|c| c.file.clone()),
            Some(PathBuf::from("c.toml"))
        );
        let with_url = Config::default()
            .apply_env(env(&[
                ("RAMPGATE_ISSUER", "https://i.example"),
                ("RAMPGATE_AUDIENCE", "api"),
                ("RAMPGATE_JWKS_URL", "https://i.example/jwks"),
            ]))
            .unwrap();
        assert!(!with_url.issuers[0].discovery);
        assert!(with_url.issuer_configs(None).is_ok());
    }

    #[test]
    fn half_an_environment_is_refused() {
        for vars in [
            &[("RAMPGATE_AUDIENCE", "api")][..],
            &[("RAMPGATE_JWKS_URL", "https://i.example/jwks")][..],
            &[("RAMPGATE_ISSUER", "https://i.example")][..],
            &[("RAMPGATE_ADDR", "not an address")][..],
            &[("RAMPGATE_READY_TIMEOUT", "ten")][..],
        ] {
            let err = Config::default().apply_env(env(vars)).unwrap_err();
            assert!(matches!(err, ConfigError::Invalid(_)), "{vars:?}: {err}");
        }
    }

    #[test]
    fn the_environment_overrides_the_file() {
        let config = Config::from_toml(
            r#"
            listen = "127.0.0.1:9000"
            [[issuers]]
            issuer = "https://file.example"
            audiences = ["api"]
            discovery = true
            "#,
        )
        .unwrap()
        .apply_env(env(&[
            ("RAMPGATE_ISSUER", "https://env.example"),
            ("RAMPGATE_AUDIENCE", "api"),
        ]))
        .unwrap();
        assert_eq!(config.listen_addr().port(), 9000);
        assert_eq!(config.issuers.len(), 1);
        assert_eq!(config.issuers[0].issuer, "https://env.example");
    }

    #[tokio::test]
    async fn rampgate_issuer_keeps_the_file_issuers_validation_settings() {
        let idp = rampgate_testkit::DevIssuer::start().await.unwrap();
        let config = Config::from_toml(
            r#"
            [[issuers]]
            issuer = "https://file.example"
            audiences = ["file-api"]
            jwks_file = "file-keys.json"
            require_typ_at_jwt = true
            required_claims = ["client_id"]
            scope_claims = ["permissions"]
            algorithms = ["ES256"]
            leeway_secs = 5
            "#,
        )
        .unwrap()
        .apply_env(env(&[
            ("RAMPGATE_ISSUER", idp.issuer()),
            ("RAMPGATE_AUDIENCE", idp.audience()),
            ("RAMPGATE_JWKS_URL", &idp.jwks_url()),
        ]))
        .unwrap();
        let issuer = &config.issuers[0];
        assert_eq!(config.issuers.len(), 1);
        assert_eq!(issuer.issuer, idp.issuer());
        assert_eq!(issuer.audiences, [idp.audience()]);
        assert_eq!(issuer.jwks_url, Some(idp.jwks_url()));
        assert_eq!((issuer.jwks_file.as_ref(), issuer.discovery), (None, false));
        assert_eq!(issuer.algorithms, Some(vec!["ES256".to_owned()]));
        assert_eq!(issuer.leeway_secs, Some(5));
        assert_eq!(issuer.scope_claims, ["permissions"]);

        // The verifier enforces them for the environment's issuer.
        let verifier = config.verifier(None).await.unwrap();
        let code = |token: String| verifier.verify_cached(&token).err().map(|e| e.code());
        assert_eq!(
            code(idp.token().typ(Some("JWT")).sign()),
            Some("typ_mismatch")
        );
        let no_client = idp.token().claim("client_id", serde_json::Value::Null);
        assert_eq!(code(no_client.sign()), Some("claim_missing"));
        let permitted = idp
            .token()
            .claim("permissions", serde_json::json!(["orders:read"]))
            .sign();
        let principal = verifier.verify_cached(&permitted).unwrap();
        assert!(principal.has_scope("orders:read"));
    }

    #[test]
    fn rampgate_issuer_over_several_file_issuers_is_refused() {
        let file = Config::from_toml(
            r#"
            [[issuers]]
            issuer = "https://a.example"
            audiences = ["api"]
            discovery = true
            [[issuers]]
            issuer = "https://b.example"
            audiences = ["api"]
            discovery = true
            "#,
        )
        .unwrap();
        let err = file
            .apply_env(env(&[
                ("RAMPGATE_ISSUER", "https://a.example"),
                ("RAMPGATE_AUDIENCE", "api"),
            ]))
            .unwrap_err();
        assert!(matches!(err, ConfigError::Invalid(_)), "{err}");
        let text = err.to_string();
        for named in [
            "https://a.example",
            "https://b.example",
            "Unset RAMPGATE_ISSUER",
        ] {
            assert!(text.contains(named), "{named}: {text}");
        }
    }

    #[test]
    fn file_errors_name_the_key_and_line() {
        let err = Config::from_toml("[[issuers]]\nissuer = \"x\"\nsecret = 1\n").unwrap_err();
        let text = err.to_string();
        assert!(text.contains("secret") && text.contains("line 3"), "{text}");
        let err = Config::from_file("/nonexistent/rampgate.toml").unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err}");
    }

    #[test]
    fn every_issuer_needs_exactly_one_key_source_and_an_audience() {
        let issuer = |extra: &str| {
            Config::from_toml(&format!(
                "[[issuers]]\nissuer = \"https://i.example\"\naudiences = [\"api\"]\n{extra}"
            ))
            .unwrap()
            .issuer_configs(None)
        };
        let err = issuer("").unwrap_err().to_string();
        assert!(err.contains("no key source"), "{err}");
        let err = issuer("discovery = true\njwks_url = \"https://i.example/j\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("exactly one"), "{err}");
        assert!(issuer("jwks_file = \"keys.json\"").is_ok());
        let err = issuer("discovery = true\nalgorithms = [\"none\"]")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown algorithm \"none\""), "{err}");
        let no_audience =
            Config::from_toml("[[issuers]]\nissuer = \"https://i.example\"\ndiscovery = true\n")
                .unwrap();
        let err = no_audience.issuer_configs(None).unwrap_err().to_string();
        assert!(err.contains("audiences"), "{err}");
    }

    #[test]
    fn the_contract_can_name_the_issuer() {
        let contract = Contract::parse(
            "version = 1\nissuer = \"https://i.example\"\naudience = \"api\"\n[scopes]\n",
        )
        .unwrap();
        let config = Config::default();
        assert!(config.has_issuer(Some(&contract)));
        let issuers = config.issuer_configs(Some(&contract)).unwrap();
        assert_eq!(issuers[0].issuer(), "https://i.example");
        let half =
            Contract::parse("version = 1\nissuer = \"https://i.example\"\n[scopes]\n").unwrap();
        assert!(matches!(
            config.issuer_configs(Some(&half)),
            Err(ConfigError::Invalid(_))
        ));
    }

    /// A contract file of its own per test, removed at the end.
    struct TempFile(PathBuf);

    impl TempFile {
        fn new(name: &str, text: &str) -> TempFile {
            let path =
                std::env::temp_dir().join(format!("rampgate-config-{}-{name}", std::process::id()));
            std::fs::write(&path, text).unwrap();
            TempFile(path)
        }
    }

    impl Drop for TempFile {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn contract_config(file: &TempFile, watch_secs: u64) -> Config {
        Config::from_toml(&format!(
            "[contract]\nfile = {:?}\nwatch_secs = {watch_secs}\n",
            file.0.display().to_string()
        ))
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_configured_contract_is_watched_as_long_as_the_handle_lives() {
        let file = TempFile::new("watched.toml", "version = 1\n[scopes]\n");
        let handle = contract_config(&file, 1).contract().unwrap().unwrap();
        // No guard was returned: the handle alone keeps the watcher running.
        assert!(handle.is_watching());
        std::fs::write(&file.0, "version = 2\n[scopes]\n").unwrap();
        let start = std::time::Instant::now();
        while handle.current().version() != 2 && start.elapsed() < Duration::from_secs(5) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(handle.current().version(), 2, "reloaded without a restart");

        let unwatched = contract_config(&file, 0).contract().unwrap().unwrap();
        assert!(!unwatched.is_watching());
    }

    #[test]
    fn watching_the_contract_outside_a_runtime_is_an_error() {
        let file = TempFile::new("no-runtime.toml", "version = 1\n[scopes]\n");
        let err = contract_config(&file, 5).contract().unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Contract(crate::contract::ReloadError::NoRuntime)
            ),
            "{err}"
        );
        assert!(err.to_string().contains("tokio runtime"), "{err}");
        // Without watching, no runtime is needed.
        assert!(contract_config(&file, 0).contract().unwrap().is_some());
    }

    #[test]
    fn the_ready_timeout_comes_from_the_file_or_the_environment() {
        assert_eq!(Config::default().ready_timeout(), Duration::from_secs(10));
        let file = Config::from_toml("ready_timeout_secs = 3").unwrap();
        assert_eq!(file.ready_timeout(), Duration::from_secs(3));
        let env = file
            .apply_env(env(&[("RAMPGATE_READY_TIMEOUT", "0")]))
            .unwrap();
        assert_eq!(env.ready_timeout(), Duration::ZERO);
    }

    /// An issuer whose JWKS URL accepts connections and never answers.
    fn silent_issuer(listener: &std::net::TcpListener, ready_timeout_secs: u64) -> Config {
        Config::from_toml(&format!(
            "ready_timeout_secs = {ready_timeout_secs}\n[[issuers]]\nissuer = \"https://silent.example\"\naudiences = [\"api\"]\njwks_url = \"http://{}/jwks\"\n",
            listener.local_addr().unwrap()
        ))
        .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ready_verifier_gives_up_after_the_timeout_naming_the_issuer() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let started = std::time::Instant::now();
        let err = silent_issuer(&listener, 1)
            .ready_verifier(None)
            .await
            .unwrap_err();
        // Bounded by the ready timeout, not by the 5 s request timeout.
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(err, ConfigError::NotReady(_)), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("https://silent.example") && text.contains("RAMPGATE_READY_TIMEOUT"),
            "{text}"
        );

        // With 0 it does not wait: the verifier answers 503 until keys come.
        let verifier = silent_issuer(&listener, 0)
            .ready_verifier(None)
            .await
            .unwrap();
        assert!(!verifier.health().ready);
    }

    #[tokio::test]
    async fn ready_verifier_returns_once_the_keys_are_there() {
        let jwks = TempFile::new(
            "ready-jwks.json",
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
        );
        let config = Config::from_toml(&format!(
            "[[issuers]]\nissuer = \"https://i.example\"\naudiences = [\"api\"]\njwks_file = {:?}\n",
            jwks.0.display().to_string()
        ))
        .unwrap();
        let verifier = config.ready_verifier(None).await.unwrap();
        assert!(verifier.health().ready);
    }

    #[tokio::test]
    async fn the_token_cache_size_comes_from_the_file() {
        let jwks = TempFile::new(
            "cache-jwks.json",
            r#"{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#,
        );
        let issuer = format!(
            "[[issuers]]\nissuer = \"https://i.example\"\naudiences = [\"api\"]\njwks_file = {:?}\n",
            jwks.0.display().to_string()
        );
        let capacity = |text: String| async move {
            let config = Config::from_toml(&text).unwrap();
            let verifier = config.verifier(None).await.unwrap();
            verifier.cache_stats().map(|s| s.capacity)
        };
        assert_eq!(capacity(issuer.clone()).await, Some(4096));
        assert_eq!(
            capacity(format!("token_cache_entries = 100\n{issuer}")).await,
            Some(100)
        );
        assert_eq!(
            capacity(format!("token_cache_entries = 0\n{issuer}")).await,
            None
        );
    }

    #[tokio::test]
    async fn a_bad_policy_fails_the_build_with_the_verifiers_reason() {
        let config = Config::from_toml(
            "[[issuers]]\nissuer = \"https://i.example\"\naudiences = [\"api\"]\njwks_file = \"/nonexistent.json\"\n",
        )
        .unwrap();
        let err = config.verifier(None).await.unwrap_err();
        assert!(matches!(err, ConfigError::Verifier(_)), "{err}");
        assert!(err.to_string().contains("/nonexistent.json"), "{err}");
    }

    #[tokio::test]
    async fn id_token_claims_are_refused_unless_the_file_allows_them() {
        let issuer = rampgate_testkit::OfflineIssuer::for_issuer("https://i.example", "api");
        let file = std::env::temp_dir().join(format!("rampgate-idt-{}.json", std::process::id()));
        std::fs::write(&file, issuer.jwks_json()).unwrap();
        let token = issuer
            .token()
            .claim("nonce", serde_json::json!("n-0S6"))
            .sign();
        for (allow, expected) in [(false, Some("id_token_claims")), (true, None)] {
            let config = Config::from_toml(&format!(
                "[[issuers]]\nissuer = \"https://i.example\"\naudiences = [\"api\"]\njwks_file = {:?}\nallow_id_token_claims = {allow}\n",
                file.display().to_string()
            ))
            .unwrap();
            let verifier = config.verifier(None).await.unwrap();
            let code = verifier.verify_cached(&token).err().map(|e| e.code());
            assert_eq!(code, expected, "allow_id_token_claims = {allow}");
        }
        let _ = std::fs::remove_file(file);
    }

    #[tokio::test]
    async fn token_lifetime_is_capped_at_a_day_unless_the_policy_says_otherwise() {
        let issuer = rampgate_testkit::OfflineIssuer::for_issuer("https://i.example", "api");
        let file = TempFile::new("lifetime-jwks.json", &issuer.jwks_json());
        let issuer_toml = format!(
            "[[issuers]]\nissuer = \"https://i.example\"\naudiences = [\"api\"]\njwks_file = {:?}\n",
            file.0.display().to_string()
        );
        let month = issuer.token().expires_in(30 * 86_400).sign();
        let two_hours = issuer.token().expires_in(2 * 3600).sign();
        let undated = issuer.token().claim("iat", serde_json::Value::Null).sign();
        let code = async |policy: &str, token: &str| {
            let config = Config::from_toml(&format!("{policy}\n{issuer_toml}")).unwrap();
            let verifier = config.verifier(None).await.unwrap();
            verifier.verify_cached(token).err().map(|e| e.code())
        };
        // Unset: 24 hours, and iat required.
        assert_eq!(code("", &month).await, Some("token_lifetime_exceeded"));
        assert_eq!(code("", &two_hours).await, None);
        assert_eq!(code("", &undated).await, Some("claim_missing"));
        let hour = "[policy]\nmax_token_lifetime_secs = 3600";
        assert_eq!(
            code(hour, &two_hours).await,
            Some("token_lifetime_exceeded")
        );
        // 0: no limit, as before the policy existed.
        let off = "[policy]\nmax_token_lifetime_secs = 0";
        assert_eq!(code(off, &month).await, None);
        assert_eq!(code(off, &undated).await, None);
        let err = Config::from_toml("[policy]\nmax_token_lifetime = \"1d\"").unwrap_err();
        assert!(err.to_string().contains("max_token_lifetime"), "{err}");
    }

    #[tokio::test]
    async fn the_audit_section_builds_a_file_auditor() {
        let dir =
            std::env::temp_dir().join(format!("rampgate-config-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("audit.jsonl");
        let text = format!(
            "[audit]\nfile = {:?}\nmax_mb = 1\nkeep = 2\nqueue = 16\n",
            file.display().to_string()
        );
        let config = Config::from_toml(&text).unwrap();
        let auditor = config.auditor().unwrap();
        assert_eq!(auditor.capacity(), 16);
        assert!(file.exists(), "opened for appending at once");
        // A file that cannot be opened is a configuration error.
        let bad = Config::from_toml("[audit]\nfile = \"/nonexistent-dir/audit.jsonl\"\n").unwrap();
        assert!(matches!(bad.auditor(), Err(ConfigError::Invalid(_))));
        // Without [audit], events go to tracing.
        assert!(Config::default().auditor().is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
