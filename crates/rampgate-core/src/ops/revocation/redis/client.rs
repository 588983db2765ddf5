//! [`RedisRevocations`](crate::RedisRevocations): one-off changes straight into Redis.

use super::super::Revocation;
use super::super::list::RevocationList;
use super::options::{RedisStoreError, RedisStoreOptions};
use super::wire::{
    Names, connection_config, new_origin, open_client, read_all, redact, unreachable, write_revoke,
    write_unrevoke,
};
use crate::reason::RevokedBy;
use redis::aio::MultiplexedConnection;
use std::fmt;
use std::time::{Duration, SystemTime};

/// Direct access to the revocations in Redis, without a mirror: for one-off
/// changes (the `rampgate revoke` CLI). Every replica's
/// [`RedisRevocationStore`](crate::RedisRevocationStore) applies the changes within moments.
///
/// ```no_run
/// # async fn run() -> Result<(), rampgate_core::RedisStoreError> {
/// use rampgate_core::{RedisRevocations, RedisStoreOptions, Revocation};
///
/// let redis = RedisRevocations::connect(&RedisStoreOptions::new("redis://127.0.0.1:6379")).await?;
/// redis.revoke(Revocation::jti("a1b2c3"), Some("cli:ops@host")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocations {
    conn: MultiplexedConnection,
    names: Names,
    url: String,
    /// Validates revocations and fills in their defaults; holds nothing.
    rules: RevocationList,
    origin: String,
}

impl fmt::Debug for RedisRevocations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocations")
            .field("url", &self.url)
            .field("prefix", &self.names.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisRevocations {
    /// Connects to the server of `options.url` (within 5 seconds).
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`] for a URL that is not a Redis URL,
    /// [`RedisStoreError::Unreachable`] when the server does not answer.
    pub async fn connect(options: &RedisStoreOptions) -> Result<Self, RedisStoreError> {
        let client = open_client(&options.url)?;
        let url = redact(&options.url);
        let conn = client
            .get_multiplexed_async_connection_with_config(&connection_config(Duration::from_secs(
                5,
            )))
            .await
            .map_err(|e| unreachable(&url, &e))?;
        Ok(RedisRevocations {
            conn,
            names: Names::new(&options.prefix),
            url,
            rules: options.list(),
            origin: new_origin(),
        })
    }

    /// Stores `revocation` (replacing one of the same kind, value and
    /// issuer) and publishes the change. Returns it as stored.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Invalid`] for a malformed revocation, else
    /// [`RedisStoreError::Unreachable`].
    pub async fn revoke(
        &self,
        revocation: Revocation,
        actor: Option<&str>,
    ) -> Result<Revocation, RedisStoreError> {
        let r = self.rules.normalise(revocation, SystemTime::now())?;
        let margin = self.rules.expiry_margin();
        write_revoke(
            &mut self.conn.clone(),
            &self.names,
            &r,
            actor,
            &self.origin,
            margin,
        )
        .await
        .map_err(|e| unreachable(&self.url, &e))?;
        Ok(r)
    }

    /// Removes the revocation of `value` of kind `by` for issuer `iss` and
    /// publishes the change. Returns it, or `None` when there was none.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Unreachable`].
    pub async fn unrevoke(
        &self,
        by: RevokedBy,
        value: &str,
        iss: Option<&str>,
        actor: Option<&str>,
    ) -> Result<Option<Revocation>, RedisStoreError> {
        // A jti is unique across issuers: its revocation has none.
        let iss = if by == RevokedBy::Jti { None } else { iss };
        write_unrevoke(
            &mut self.conn.clone(),
            &self.names,
            (by, value, iss),
            actor,
            &self.origin,
        )
        .await
        .map_err(|e| unreachable(&self.url, &e))
    }

    /// Every revocation in Redis, ordered by kind, value and issuer.
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::Unreachable`].
    pub async fn list(&self) -> Result<Vec<Revocation>, RedisStoreError> {
        let mut all = read_all(&mut self.conn.clone(), &self.names)
            .await
            .map_err(|e| unreachable(&self.url, &e))?
            .revocations;
        all.sort_by(|a, b| (a.by, &a.value, &a.iss).cmp(&(b.by, &b.value, &b.iss)));
        Ok(all)
    }
}
