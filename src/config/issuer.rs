//! One `[[issuers]]` entry as the verifier takes it.

use super::{Config, ConfigError, IssuerSettings, SenderConstrained};
use crate::keys::Algorithm;
use crate::{IssuerConfig, ValidationPolicy};
use std::time::Duration;

impl IssuerSettings {
    /// The issuer as the verifier takes it, with the default `[policy]`
    /// (tokens living at most [`DEFAULT_MAX_TOKEN_LIFETIME_SECS`](super::DEFAULT_MAX_TOKEN_LIFETIME_SECS)). Exactly
    /// one key source must be set.
    pub fn issuer_config(&self) -> Result<IssuerConfig, ConfigError> {
        self.issuer_config_with(Config::default().validation_policy())
    }

    /// The issuer as the verifier takes it, its settings added to `base` (the
    /// `[policy]` rules, [`Config::validation_policy`]). Exactly one key
    /// source must be set.
    pub fn issuer_config_with(&self, base: ValidationPolicy) -> Result<IssuerConfig, ConfigError> {
        let invalid =
            |what: String| ConfigError::Invalid(format!("issuer {:?}: {what}", self.issuer));
        if self.audiences.is_empty() {
            return Err(invalid("set `audiences` (at least one)".into()));
        }
        let config = IssuerConfig::new(&self.issuer, self.audiences.iter().cloned());
        let config = match (&self.jwks_url, &self.jwks_file, self.discovery) {
            (Some(url), None, false) => config.jwks_url(url),
            (None, Some(file), false) => config.jwks_file(file),
            (None, None, true) => config.discovery(),
            (None, None, false) => {
                return Err(invalid(
                    "no key source: set jwks_url, jwks_file or discovery = true".into(),
                ));
            }
            _ => {
                return Err(invalid(
                    "set exactly one of jwks_url, jwks_file and discovery = true".into(),
                ));
            }
        };
        let mut policy = base;
        if self.require_typ_at_jwt {
            policy = policy.require_typ_at_jwt();
        }
        if self.allow_id_token_claims {
            policy = policy.allow_id_token_claims();
        }
        policy = policy.require_claims(self.required_claims.iter().cloned());
        for path in &self.scope_claims {
            policy = policy.scope_claim(path);
        }
        if let Some(names) = &self.algorithms {
            policy = policy.algorithms(algorithms(names).map_err(invalid)?);
        }
        if let Some(secs) = self.leeway_secs {
            policy = policy.leeway(Duration::from_secs(secs));
        }
        if self.sender_constrained == SenderConstrained::Required {
            policy = policy.require_sender_constrained();
        }
        Ok(config.policy(policy))
    }
}

/// The algorithms of a setting's JOSE names, or which name is unknown.
pub(super) fn algorithms(names: &[String]) -> Result<Vec<Algorithm>, String> {
    names
        .iter()
        .map(|name| {
            name.parse::<Algorithm>()
                .map_err(|_| format!("unknown algorithm {name:?}"))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use rampgate_core::binding::{ClientCertificate, Presentation};

    #[tokio::test]
    async fn an_issuer_may_require_sender_constrained_tokens() {
        let idp = rampgate_testkit::DevIssuer::start().await.unwrap();
        let file = format!(
            "[[issuers]]\nissuer = {:?}\naudiences = [{:?}]\njwks_url = {:?}\nsender_constrained = \"required\"\n",
            idp.issuer(),
            idp.audience(),
            idp.jwks_url()
        );
        let verifier = Config::from_toml(&file)
            .unwrap()
            .verifier(None)
            .await
            .unwrap();
        let bearer = verifier.verify_cached(&idp.token().sign()).unwrap_err();
        assert_eq!(bearer.code(), "sender_constraint_required");
        let cert = ClientCertificate::from_der(b"leaf");
        let bound = idp.token().certificate_bound(&cert).sign();
        let presented = Presentation::bearer().certificate(Some(cert));
        let principal = verifier
            .verify_cached_presented(&bound, &presented)
            .unwrap();
        assert!(principal.is_sender_constrained());

        let typo = file.replace("\"required\"", "\"always\"");
        let err = Config::from_toml(&typo).unwrap_err().to_string();
        assert!(
            err.contains("unknown variant `always`, expected `optional` or `required`"),
            "{err}"
        );
    }
}
