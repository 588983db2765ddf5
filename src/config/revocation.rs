//! `[revocation]`: the store the verifier consults ([`Config::revocation_store`]).

use super::{Config, ConfigError, RevocationSettings};
use crate::VerifierBuilder;
use crate::revocation::{RevocationList, RevocationStore};
use std::sync::Arc;

/// The store a `[revocation]` table names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StoreKind {
    Memory,
    Redis,
}

impl RevocationSettings {
    /// The store named by `store`; without it, Redis when `redis_url` is
    /// set (as `RAMPGATE_REDIS_URL` does), else memory. The Redis-only keys
    /// are refused with a memory store rather than ignored.
    fn kind(&self) -> Result<StoreKind, ConfigError> {
        let has_url = self
            .redis_url
            .as_deref()
            .is_some_and(|u| !u.trim().is_empty());
        let kind = match self.store.as_deref().map(str::trim) {
            None if has_url => StoreKind::Redis,
            None | Some("memory") => StoreKind::Memory,
            Some("redis") => StoreKind::Redis,
            Some(other) => {
                return Err(invalid(format!(
                    "store = {other:?} is not a store: use \"memory\" or \"redis\""
                )));
            }
        };
        if kind == StoreKind::Memory {
            let redis_only = [
                ("redis_url", self.redis_url.is_some()),
                ("prefix", self.prefix.is_some()),
                ("max_stale_secs", self.max_stale_secs.is_some()),
                ("on_stale", self.on_stale.is_some()),
                ("max_queued", self.max_queued.is_some()),
            ];
            if let Some((key, _)) = redis_only.iter().find(|(_, set)| *set) {
                return Err(invalid(format!(
                    "{key} applies to the Redis store only, and this table selects the memory store: remove {key}, or set store = \"redis\" with redis_url = \"redis://host:port\""
                )));
            }
        }
        Ok(kind)
    }

    /// Whether past `max_stale` the store refuses every token.
    fn fail_closed(&self) -> Result<bool, ConfigError> {
        match self.on_stale.as_deref().map(str::trim) {
            None | Some("keep-serving") => Ok(false),
            Some("fail-closed") => Ok(true),
            Some(other) => Err(invalid(format!(
                "on_stale = {other:?}: use \"keep-serving\" or \"fail-closed\""
            ))),
        }
    }

    fn redis_url(&self) -> Result<&str, ConfigError> {
        match self.redis_url.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Ok(url),
            _ => Err(invalid(
                "store = \"redis\" needs redis_url = \"redis://host:port\" (or RAMPGATE_REDIS_URL)"
                    .into(),
            )),
        }
    }
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid(format!("[revocation] {message}"))
}

impl Config {
    /// The revocation store `[revocation]` (or `RAMPGATE_REDIS_URL`) names,
    /// or `None` without either: a [`RevocationList`] for `store = "memory"`;
    /// for `store = "redis"`, a
    /// [`RedisRevocationStore`](crate::revocation::RedisRevocationStore)
    /// (feature `redis`), after a wait for its first synchronisation bounded
    /// by [`Config::ready_timeout`], as the first keys are. Past it the
    /// store is used all the same and `on_stale` applies meanwhile.
    ///
    /// [`Config::verifier`] and [`Config::ready_verifier`] attach it; get it
    /// back with [`Verifier::revocations`](crate::Verifier::revocations) (for
    /// the admin router, or to audit its changes).
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for an unknown `store` or `on_stale`,
    /// `store = "redis"` without `redis_url` or with an invalid one, or in a
    /// build without the `redis` feature: never silently in memory.
    pub async fn revocation_store(&self) -> Result<Option<Arc<dyn RevocationStore>>, ConfigError> {
        let Some(settings) = &self.revocation else {
            return Ok(None);
        };
        let fail_closed = settings.fail_closed()?;
        match settings.kind()? {
            StoreKind::Memory => Ok(Some(Arc::new(RevocationList::new()))),
            StoreKind::Redis => {
                let url = settings.redis_url()?;
                self.redis_store(settings, url, fail_closed).await
            }
        }
    }

    #[cfg(feature = "redis")]
    async fn redis_store(
        &self,
        settings: &RevocationSettings,
        url: &str,
        fail_closed: bool,
    ) -> Result<Option<Arc<dyn RevocationStore>>, ConfigError> {
        use crate::revocation::{RedisRevocationStore, RedisStoreOptions, StalePolicy};
        let policy = if fail_closed {
            StalePolicy::FailClosed
        } else {
            StalePolicy::KeepServing
        };
        let max_stale = std::time::Duration::from_secs(settings.max_stale_secs.unwrap_or(60));
        let mut options = RedisStoreOptions::new(url)
            .max_stale(max_stale, policy)
            .initial_wait(self.ready_timeout());
        if let Some(prefix) = &settings.prefix {
            options = options.prefix(prefix);
        }
        match settings.max_queued {
            Some(0) => {
                return Err(invalid(
                    "max_queued = 0 would refuse every change made through this replica: give at least 1 (the default is 10000)".into(),
                ));
            }
            Some(max) => options = options.max_queued(max),
            None => {}
        }
        let store = RedisRevocationStore::connect(options)
            .await
            .map_err(|e| invalid(format!("redis_url: {e}")))?;
        Ok(Some(Arc::new(store)))
    }

    #[cfg(not(feature = "redis"))]
    async fn redis_store(
        &self,
        _settings: &RevocationSettings,
        _url: &str,
        _fail_closed: bool,
    ) -> Result<Option<Arc<dyn RevocationStore>>, ConfigError> {
        Err(invalid(
            "store = \"redis\" needs rampgate built with the `redis` feature: enable it, or use store = \"memory\" (and unset RAMPGATE_REDIS_URL)".into(),
        ))
    }

    /// `builder` with [`Config::revocation_store`]'s store, if any.
    pub(super) async fn with_revocations(
        &self,
        builder: VerifierBuilder,
    ) -> Result<VerifierBuilder, ConfigError> {
        Ok(match self.revocation_store().await? {
            Some(store) => builder.revocations_shared(store),
            None => builder,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};

    async fn error(text: &str) -> String {
        match Config::from_toml(text).unwrap().revocation_store().await {
            Err(ConfigError::Invalid(message)) => message,
            Err(other) => panic!("{text}: {other}"),
            Ok(_) => panic!("{text}: accepted"),
        }
    }

    #[tokio::test]
    async fn memory_is_the_default_store_and_no_table_is_none() {
        assert!(
            Config::default()
                .revocation_store()
                .await
                .unwrap()
                .is_none()
        );
        let config = Config::from_toml("[revocation]\n").unwrap();
        let store = config.revocation_store().await.unwrap().unwrap();
        assert!(format!("{store:?}").starts_with("RevocationList"));
        let config = Config::from_toml("[revocation]\nstore = \"memory\"\n").unwrap();
        assert!(config.revocation_store().await.unwrap().is_some());
    }

    #[tokio::test]
    async fn bad_revocation_tables_are_refused_with_what_to_fix() {
        assert!(
            error("[revocation]\nstore = \"etcd\"\n")
                .await
                .contains("\"memory\" or \"redis\"")
        );
        let missing = error("[revocation]\nstore = \"redis\"\n").await;
        assert!(missing.contains("needs redis_url"), "{missing}");
        let stale = error("[revocation]\non_stale = \"panic\"\n").await;
        assert!(stale.contains("fail-closed"), "{stale}");
        assert!(Config::from_toml("[revocation]\nurl = \"x\"\n").is_err());
    }

    #[tokio::test]
    async fn redis_only_keys_are_refused_with_the_memory_store() {
        for key in [
            "redis_url = \"redis://127.0.0.1:1\"",
            "prefix = \"fleet\"",
            "max_stale_secs = 5",
            "max_stale = 5",
            "on_stale = \"fail-closed\"",
            "max_queued = 100",
        ] {
            let message = error(&format!("[revocation]\nstore = \"memory\"\n{key}\n")).await;
            assert!(
                message.contains("applies to the Redis store only"),
                "{message}"
            );
        }
        let message = error("[revocation]\nprefix = \"fleet\"\n").await;
        assert!(message.contains("set store = \"redis\""), "{message}");
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn a_max_queued_of_zero_is_refused_before_connecting() {
        let message =
            error("[revocation]\nredis_url = \"redis://127.0.0.1:1\"\nmax_queued = 0\n").await;
        assert!(
            message.starts_with("[revocation] max_queued = 0 would refuse every change"),
            "{message}"
        );
    }

    /// `max_queued` reaches the store: with Redis gone, the second change
    /// made through this replica is refused rather than queued.
    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn max_queued_bounds_the_changes_waiting_for_redis() {
        use crate::revocation::Revocation;
        let mut redis = rampgate_testkit::RedisServer::start()
            .expect("redis-server must be installed (.ci/run installs it)");
        let text = format!(
            "[revocation]\nredis_url = \"{}\"\nmax_queued = 1\n",
            redis.url()
        );
        let store = Config::from_toml(&text)
            .unwrap()
            .revocation_store()
            .await
            .unwrap()
            .unwrap();
        redis.stop();
        // The first change that finds Redis gone waits in the queue...
        let mut queued = false;
        for _ in 0..300 {
            if store.health().is_some_and(|h| !h.connected) {
                queued = true;
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert!(queued, "the store noticed Redis is gone");
        store.revoke(Revocation::jti("one"), None).unwrap();
        // ...and the next one is refused: the queue holds one.
        let err = store.revoke(Revocation::jti("two"), None).unwrap_err();
        assert!(err.to_string().contains("max_queued"), "{err}");
    }

    #[test]
    fn a_redis_url_without_store_selects_redis() {
        let config =
            Config::from_toml("[revocation]\nredis_url = \"redis://127.0.0.1:1\"\n").unwrap();
        let settings = config.revocation.unwrap();
        assert_eq!(settings.kind().unwrap(), super::StoreKind::Redis);
    }

    #[test]
    fn debug_hides_the_redis_password() {
        let config = Config::from_toml(
            "[revocation]\nredis_url = \"redis://ops:s3cret@db:6379?password=s3cret\"\n",
        )
        .unwrap();
        let shown = format!("{:?}", config.revocation.unwrap());
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("redis://ops:***@db:6379"), "{shown}");
    }

    #[cfg(not(feature = "redis"))]
    #[tokio::test]
    async fn without_the_feature_redis_is_refused_never_memory() {
        let message =
            error("[revocation]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:1\"\n").await;
        assert!(message.contains("`redis` feature"), "{message}");
    }

    #[cfg(feature = "redis")]
    #[tokio::test]
    async fn an_invalid_redis_url_is_refused() {
        let message = error("[revocation]\nstore = \"redis\"\nredis_url = \"http://x\"\n").await;
        assert!(message.contains("invalid Redis URL"), "{message}");
    }

    #[test]
    fn rampgate_redis_url_selects_redis_unless_the_file_says_memory() {
        let env = |vars: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                vars.iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let vars = &[("RAMPGATE_REDIS_URL", "redis://10.0.0.1:6379")];
        let config = Config::from_toml("[revocation]\nmax_stale = 5\n")
            .unwrap()
            .apply_env(env(vars))
            .unwrap();
        let r = config.revocation.unwrap();
        assert_eq!(r.store.as_deref(), Some("redis"));
        assert_eq!(r.redis_url.as_deref(), Some("redis://10.0.0.1:6379"));
        assert_eq!(r.max_stale_secs, Some(5));
        let err = Config::from_toml("[revocation]\nstore = \"memory\"\n")
            .unwrap()
            .apply_env(env(vars))
            .unwrap_err();
        assert!(err.to_string().contains("RAMPGATE_REDIS_URL"), "{err}");
    }
}
