//! Serving helpers, apart from the builders: where the service listens and
//! how long it waits for the first keys before it does.

use super::{Config, ConfigError, DEFAULT_LISTEN, DEFAULT_READY_TIMEOUT_SECS};
use crate::Verifier;
use crate::contract::Contract;
use std::net::SocketAddr;
use std::time::Duration;

impl Config {
    /// The address to listen on: the configured one, or [`DEFAULT_LISTEN`].
    pub fn listen_addr(&self) -> SocketAddr {
        self.listen.unwrap_or_else(|| {
            DEFAULT_LISTEN
                .parse()
                .unwrap_or(SocketAddr::from(([127, 0, 0, 1], 3000)))
        })
    }

    /// How long [`Config::ready_verifier`] waits for keys: `ready_timeout_secs`,
    /// or [`DEFAULT_READY_TIMEOUT_SECS`].
    pub fn ready_timeout(&self) -> Duration {
        Duration::from_secs(
            self.ready_timeout_secs
                .unwrap_or(DEFAULT_READY_TIMEOUT_SECS),
        )
    }

    /// Builds the verifier for [`Config::issuer_configs`] and waits, at most
    /// [`Config::ready_timeout`], until every issuer has usable keys: for a
    /// service that should not listen before it can verify a token. The whole
    /// wait is bounded, however slow the identity provider (the first fetches
    /// run in the background; see
    /// [`VerifierBuilder::build_without_waiting`](crate::VerifierBuilder::build_without_waiting)).
    /// With `ready_timeout_secs = 0` it does not wait: tokens are answered 503
    /// `keys_unavailable` until the keys come.
    ///
    /// # Errors
    ///
    /// [`ConfigError::NotReady`] naming the issuers still without keys when the
    /// timeout passes (the caller decides: the examples exit with it before
    /// they listen); the errors of [`Config::verifier`] otherwise.
    pub async fn ready_verifier(
        &self,
        contract: Option<&Contract>,
    ) -> Result<Verifier, ConfigError> {
        let builder = self.with_revocations(self.builder(contract)?).await?;
        let verifier = builder.build_without_waiting()?;
        let timeout = self.ready_timeout();
        if !timeout.is_zero() {
            verifier
                .wait_ready(timeout)
                .await
                .map_err(ConfigError::NotReady)?;
        }
        Ok(verifier)
    }
}
