//! `[dpop]`: the DPoP checker of the configured `JwtLayer`.

use super::{ConfigError, DpopSettings};
use crate::JwtLayer;
use crate::dpop::{DpopChecker, DpopOptions};
use std::time::Duration;

impl DpopSettings {
    /// The options these settings give, checked.
    pub fn options(&self) -> Result<DpopOptions, ConfigError> {
        let invalid = |what: String| ConfigError::Invalid(format!("[dpop] {what}"));
        let mut options = DpopOptions::default();
        if let Some(names) = &self.algorithms {
            let algorithms = super::issuer::algorithms(names)
                .map_err(|why| invalid(format!("algorithms: {why}")))?;
            options = options.algorithms(algorithms);
        }
        if let Some(secs) = self.max_age_secs {
            options = options.max_age(Duration::from_secs(secs));
        }
        if let Some(capacity) = self.replay_capacity {
            options = options.replay_capacity(capacity);
        }
        match (self.nonce_interval_secs, &self.nonce_secret) {
            (Some(0), _) => {
                return Err(invalid(
                    "nonce_interval_secs must be positive (or left out: no nonces)".into(),
                ));
            }
            (Some(secs), secret) => {
                options = options.require_nonce(Duration::from_secs(secs));
                if let Some(secret) = secret {
                    options = options.nonce_secret(secret.as_bytes());
                }
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "nonce_secret without nonce_interval_secs: set the interval to require nonces"
                        .into(),
                ));
            }
            (None, None) => {}
        }
        Ok(options)
    }

    /// `layer` with these settings' DPoP: what [`Config::jwt_layer`](super::Config::jwt_layer)
    /// does with `[dpop]`, for a layer made otherwise.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming the setting that cannot be used.
    pub fn apply(&self, layer: JwtLayer) -> Result<JwtLayer, ConfigError> {
        let checker = DpopChecker::new(self.options()?)
            .map_err(|e| ConfigError::Invalid(format!("[dpop] {e}")))?;
        let layer = layer.dpop(checker);
        match &self.public_url {
            Some(url) => layer
                .try_dpop_public_url(url)
                .map_err(|e| ConfigError::Invalid(format!("[dpop] public_url: {e}"))),
            None => Ok(layer),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[tokio::test]
    async fn each_unusable_setting_is_named() {
        let verifier = rampgate_testkit::OfflineIssuer::new()
            .verifier()
            .await
            .unwrap();
        for (table, expected) in [
            (
                "public_url = \"api.example.com\"",
                "[dpop] public_url: configuration: the DPoP public URL \"api.example.com\" must be an http(s) URL naming a host",
            ),
            (
                "algorithms = [\"HS256\"]",
                "[dpop] configuration: HS256 is symmetric",
            ),
            (
                "algorithms = [\"ES257\"]",
                "[dpop] algorithms: unknown algorithm \"ES257\"",
            ),
            (
                "nonce_interval_secs = 0",
                "[dpop] nonce_interval_secs must be positive",
            ),
            (
                "nonce_secret = \"0123456789abcdef0123456789abcdef\"",
                "[dpop] nonce_secret without nonce_interval_secs",
            ),
        ] {
            let config = Config::from_toml(&format!("[dpop]\n{table}\n")).unwrap();
            let err = config.jwt_layer(verifier.clone()).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{table}: {err}");
        }
        let good = "[dpop]\npublic_url = \"https://api.example.com/\"\nnonce_interval_secs = 300\n";
        assert!(Config::from_toml(good).unwrap().jwt_layer(verifier).is_ok());
    }
}
