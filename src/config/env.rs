//! The `RAMPGATE_*` environment overrides of a [`Config`].

use super::{
    AlertSettings, AuditSettings, Config, ConfigError, ContractSettings, IssuerSettings,
    RevocationSettings,
};

impl Config {
    /// Applies the environment overrides, read through `var`:
    ///
    /// - `RAMPGATE_ADDR`: the listen address.
    /// - `RAMPGATE_ISSUER` with `RAMPGATE_AUDIENCE`: the issuer to trust, its
    ///   keys from `RAMPGATE_JWKS_URL` or, without it, OIDC discovery. When the
    ///   file has one `[[issuers]]`, the variables replace its `issuer`,
    ///   `audiences` and key source and keep its validation settings
    ///   (`algorithms`, `require_typ_at_jwt`, `allow_id_token_claims`,
    ///   `required_claims`, `scope_claims`, `leeway_secs`); when it has
    ///   several, which one to replace is ambiguous and it is an error.
    ///   `RAMPGATE_AUDIENCE` or `RAMPGATE_JWKS_URL` without `RAMPGATE_ISSUER` is an
    ///   error (half a configuration is never completed with a default).
    /// - `RAMPGATE_CONTRACT`: the contract file.
    /// - `RAMPGATE_AUDIT`: the audit file (see [`Config::auditor`]).
    /// - `RAMPGATE_ALERTS_WEBHOOK`: the alert webhook's URL (`[alerts]
    ///   webhook`; the table's other settings are kept).
    /// - `RAMPGATE_REDIS_URL`: the shared revocation store's Redis
    ///   (`[revocation] redis_url`); selects `store = "redis"` unless the file
    ///   chose `"memory"`, which is then an error.
    /// - `RAMPGATE_READY_TIMEOUT`: seconds to wait for the issuers' first keys
    ///   (see [`Config::ready_verifier`]).
    pub fn apply_env(
        mut self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        if let Some(addr) = var("RAMPGATE_ADDR") {
            self.listen = Some(addr.parse().map_err(|e| {
                ConfigError::Invalid(format!(
                    "RAMPGATE_ADDR is not an address like 127.0.0.1:3000: {e}"
                ))
            })?);
        }
        let (audience, jwks_url) = (var("RAMPGATE_AUDIENCE"), var("RAMPGATE_JWKS_URL"));
        match var("RAMPGATE_ISSUER") {
            Some(issuer) => {
                let audience = audience.ok_or_else(|| {
                    ConfigError::Invalid(
                        "RAMPGATE_AUDIENCE must be set with RAMPGATE_ISSUER".into(),
                    )
                })?;
                self.override_issuer(issuer, audience, jwks_url)?;
            }
            None if audience.is_some() || jwks_url.is_some() => {
                return Err(ConfigError::Invalid(
                    "RAMPGATE_AUDIENCE or RAMPGATE_JWKS_URL is set but RAMPGATE_ISSUER is not: set RAMPGATE_ISSUER too".into(),
                ));
            }
            None => {}
        }
        if let Some(secs) = var("RAMPGATE_READY_TIMEOUT") {
            self.ready_timeout_secs = Some(secs.trim().parse().map_err(|e| {
                ConfigError::Invalid(format!(
                    "RAMPGATE_READY_TIMEOUT is not a number of seconds like 10: {e}"
                ))
            })?);
        }
        if let Some(file) = var("RAMPGATE_AUDIT") {
            let kept = self.audit.take().unwrap_or_default();
            self.audit = Some(AuditSettings {
                file: file.into(),
                ..kept
            });
        }
        if let Some(url) = var("RAMPGATE_ALERTS_WEBHOOK") {
            let kept = self.alerts.take().unwrap_or_default();
            self.alerts = Some(AlertSettings {
                webhook: Some(url),
                ..kept
            });
        }
        if let Some(url) = var("RAMPGATE_REDIS_URL") {
            let kept = self.revocation.take().unwrap_or_default();
            if kept.store.as_deref() == Some("memory") {
                return Err(ConfigError::Invalid(
                    "RAMPGATE_REDIS_URL is set but [revocation] store = \"memory\": set store = \"redis\", or unset RAMPGATE_REDIS_URL".into(),
                ));
            }
            self.revocation = Some(RevocationSettings {
                store: Some("redis".into()),
                redis_url: Some(url),
                ..kept
            });
        }
        if let Some(file) = var("RAMPGATE_CONTRACT") {
            let watch_secs = self.contract.as_ref().and_then(|c| c.watch_secs);
            self.contract = Some(ContractSettings {
                file: file.into(),
                watch_secs,
            });
        }
        Ok(self)
    }

    /// `RAMPGATE_ISSUER` over the file's issuers: the file's one issuer keeps
    /// its validation settings under the new URL, audience and key source;
    /// several issuers are refused, since which one the variable replaces
    /// (and whether the others should still be trusted) cannot be told.
    fn override_issuer(
        &mut self,
        issuer: String,
        audience: String,
        jwks_url: Option<String>,
    ) -> Result<(), ConfigError> {
        let kept = match std::mem::take(&mut self.issuers).as_slice() {
            [] => IssuerSettings::default(),
            [file] => {
                tracing::info!(
                    issuer = %issuer,
                    file_issuer = %file.issuer,
                    "RAMPGATE_ISSUER replaces the file's issuer, audiences and key source; its validation settings are kept"
                );
                file.clone()
            }
            several => {
                let names: Vec<&str> = several.iter().map(|i| i.issuer.as_str()).collect();
                return Err(ConfigError::Invalid(format!(
                    "RAMPGATE_ISSUER is set and the file configures {} issuers ({}): which one it replaces is ambiguous. Unset RAMPGATE_ISSUER (with RAMPGATE_AUDIENCE and RAMPGATE_JWKS_URL) and configure the issuers in the file, or keep one [[issuers]] for it to take the settings of",
                    several.len(),
                    names.join(", ")
                )));
            }
        };
        self.issuers = vec![IssuerSettings {
            issuer,
            audiences: vec![audience],
            discovery: jwks_url.is_none(),
            jwks_url,
            jwks_file: None,
            ..kept
        }];
        Ok(())
    }
}
