//! The stand-in for the remote key machinery when the `remote-jwks` feature is
//! off: a remote key source is refused when the verifier is built, so there is
//! never anything to fetch or to poll.

use super::{IssuerKeys, JwksOptions, KeySet, KeySource};
use crate::error::{Error, Result};
use std::sync::Arc;
use std::time::Duration;

/// Without the feature no HTTP client can be supplied: only `None` exists.
pub(crate) type HttpClient = Option<std::convert::Infallible>;

/// No value exists: without the feature no remote key set can be configured.
/// (A struct with a private empty field rather than an empty enum, so that the
/// callers' code after `Fetcher::new(..)?` is not flagged as unreachable.)
pub(super) struct Fetcher {
    never: std::convert::Infallible,
}

impl Fetcher {
    pub(super) fn new(
        issuer: &str,
        _source: KeySource,
        _options: &JwksOptions,
        _client: HttpClient,
    ) -> Result<Fetcher> {
        Err(Error::config(format!(
            "issuer {issuer:?}: remote key sources need the `remote-jwks` feature"
        )))
    }

    pub(super) async fn fetch(&self, _issuer: &str) -> Result<(KeySet, Option<Duration>)> {
        match self.never {}
    }
}

impl IssuerKeys {
    /// Nothing to start: only remote key sets are fetched and polled.
    pub(super) async fn start_remote(self: &Arc<Self>) {}

    /// Nothing to start, as for [`IssuerKeys::start_remote`].
    pub(super) fn start_remote_in_background(self: &Arc<Self>) {}
}
