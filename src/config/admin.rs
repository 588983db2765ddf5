//! `[admin]`: the admin router, mounted with its own issuer, audience and
//! scope ([`Config::admin_router`]).

use super::{AdminSettings, Config, ConfigError};
use crate::admin::{AdminPolicy, RevocationAdmin};
use crate::{IssuerConfig, JwtLayer, Verifier};

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(format!("[admin] {message}"))
}

impl AdminSettings {
    /// Where the router is mounted: `path`, or `/admin`.
    fn mount(&self) -> Result<String, ConfigError> {
        let path = self
            .path
            .as_deref()
            .unwrap_or("/admin")
            .trim_end_matches('/');
        if !path.starts_with('/') || path.len() < 2 {
            return Err(invalid(format!(
                "path = {:?}: use an absolute path such as \"/admin\"",
                self.path.as_deref().unwrap_or_default()
            )));
        }
        Ok(path.to_owned())
    }
}

impl Config {
    /// The admin router `[admin]` describes, mounted at its `path`, or `None`
    /// without the table: `/revocations` over `api`'s revocation store and
    /// `POST /keys/refresh` over `api`'s keys, for tokens of the `[admin]`
    /// issuer only, naming its audience, with its scope, verified by a
    /// verifier of its own (which consults the same store, so a revoked
    /// admin token is refused too). Merge it into the service's router.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for an empty issuer, audience or scope, a bad
    /// path, or an `api` verifier without a revocation store (add
    /// `[revocation]`); the admin verifier's own build errors.
    pub async fn admin_router(&self, api: &Verifier) -> Result<Option<axum::Router>, ConfigError> {
        let Some(settings) = &self.admin else {
            return Ok(None);
        };
        let path = settings.mount()?;
        let mut policy = AdminPolicy::new(&settings.issuer, &settings.audience)
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(scope) = &settings.scope {
            policy = policy.scope(scope).map_err(|e| invalid(e.to_string()))?;
        }
        let Some(store) = api.revocations().cloned() else {
            return Err(invalid(
                "needs a revocation store to administer: add [revocation] (store = \"memory\" or \"redis\") or set RAMPGATE_REDIS_URL".into(),
            ));
        };
        let issuer = IssuerConfig::new(&settings.issuer, [settings.audience.clone()])
            .policy(self.validation_policy());
        let issuer = match &settings.jwks_url {
            Some(url) => issuer.jwks_url(url),
            None => issuer.discovery(),
        };
        let verifier = Verifier::builder()
            .issuer(issuer)
            .revocations_shared(store.clone())
            .build_without_waiting()?;
        let router = RevocationAdmin::shared(store, policy)
            .keys(api.clone())
            .router(JwtLayer::new(verifier).realm("admin"));
        Ok(Some(axum::Router::new().nest(&path, router)))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};
    use crate::Verifier;
    use crate::revocation::RevocationList;

    async fn api(with_store: bool) -> Verifier {
        let key = crate::keys::Key::from_jwk_json(
            r#"{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#,
        )
        .unwrap();
        let mut builder = Verifier::builder().issuer(
            crate::IssuerConfig::new("https://api-issuer.example", ["api"])
                .keys(crate::keys::KeySet::from_keys([key]).unwrap()),
        );
        if with_store {
            builder = builder.revocations(RevocationList::new());
        }
        builder.build().await.unwrap()
    }

    async fn error(text: &str, with_store: bool) -> String {
        let config = Config::from_toml(text).unwrap();
        match config.admin_router(&api(with_store).await).await {
            Err(ConfigError::Invalid(message)) => message,
            Err(other) => panic!("{text}: {other}"),
            Ok(_) => panic!("{text}: accepted"),
        }
    }

    const ADMIN: &str = "[admin]\nissuer = \"https://login.example\"\naudience = \"rampgate-admin\"\njwks_url = \"http://127.0.0.1:1/jwks\"\n";

    #[tokio::test]
    async fn no_table_no_router_and_bad_tables_say_what_to_fix() {
        let none = Config::default().admin_router(&api(true).await).await;
        assert!(none.unwrap().is_none());
        assert!(error(ADMIN, false).await.contains("add [revocation]"));
        let empty = "[admin]\nissuer = \"\"\naudience = \"a\"\n";
        assert!(error(empty, true).await.starts_with("[admin]"));
        let path = format!("{ADMIN}path = \"admin\"\n");
        assert!(error(&path, true).await.contains("absolute path"));
        assert!(
            Config::from_toml("[admin]\nissuer = \"i\"\n").is_err(),
            "audience required"
        );
        let built = Config::from_toml(ADMIN)
            .unwrap()
            .admin_router(&api(true).await)
            .await;
        assert!(built.unwrap().is_some());
    }
}
