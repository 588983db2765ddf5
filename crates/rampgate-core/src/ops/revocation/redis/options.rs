//! The settings of the Redis store, its errors, and what it does past
//! `max_stale`.

use super::super::RevocationError;
use super::super::list::RevocationList;
use std::time::Duration;

/// Why the Redis store could not be set up or could not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RedisStoreError {
    /// The URL is not a Redis URL.
    #[error(
        "invalid Redis URL {url:?}: {reason}; use redis://[user:password@]host[:port][/db] (or unix:///path/to/socket)"
    )]
    InvalidUrl {
        /// The URL given, with any password hidden.
        url: String,
        /// What the client found wrong.
        reason: String,
    },
    /// Redis could not be reached, or refused a command.
    #[error(
        "Redis at {url} is unreachable or refused the command: {reason}; check that the server runs and the URL, password and database are right"
    )]
    Unreachable {
        /// The URL, with any password hidden.
        url: String,
        /// The client's error.
        reason: String,
    },
    /// The revocation is malformed; the message says what to fix.
    #[error(transparent)]
    Invalid(#[from] RevocationError),
}

impl From<RedisStoreError> for RevocationError {
    fn from(e: RedisStoreError) -> Self {
        match e {
            RedisStoreError::Invalid(e) => e,
            other => RevocationError::Store(other.to_string()),
        }
    }
}

/// What a store does once it has been out of touch with Redis for longer
/// than [`max_stale`](RedisStoreOptions::max_stale).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StalePolicy {
    /// Keep answering from the last mirror (the default): requests keep
    /// flowing, but a revocation made elsewhere during the outage is not
    /// seen by this replica until Redis is back.
    #[default]
    KeepServing,
    /// Refuse every token with 503 `revocation_unavailable` until Redis is
    /// back and the mirror resynchronised.
    FailClosed,
}

/// The settings of a [`RedisRevocationStore`](crate::RedisRevocationStore) (and of [`RedisRevocations`](crate::RedisRevocations)).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisStoreOptions {
    /// `redis://host:port[/db]`.
    pub url: String,
    /// The prefix of every key and of the channel (default `rampgate`): one
    /// per fleet sharing a server.
    pub prefix: String,
    /// How long the mirror may go without Redis before
    /// [`stale_policy`](RedisStoreOptions::stale_policy) applies (default 60 s).
    pub max_stale: Duration,
    /// What happens past `max_stale` (default: keep serving).
    pub stale_policy: StalePolicy,
    /// How long [`RedisRevocationStore::connect`](crate::RedisRevocationStore::connect) waits for the first
    /// synchronisation (default 5 s). Past it, the store is returned all the
    /// same, keeps trying in the background, and the policy applies.
    pub initial_wait: Duration,
    /// How often a connected store checks that Redis still answers (default 1 s).
    pub check_interval: Duration,
    /// How long a `jti` revocation given no `until` lasts (default 24 h).
    pub max_jti_lifetime: Duration,
    /// How long past its `until` an entry is kept, in Redis and in the
    /// mirror, to cover the verifier's leeway (default 5 min).
    pub expiry_margin: Duration,
    /// How many changes made on this replica may wait for Redis (default
    /// 10 000); past it, a change is refused with an error rather than
    /// queued, so that an outage cannot grow the queue without bound.
    pub max_queued: usize,
}

impl RedisStoreOptions {
    /// The defaults, for the server at `url`.
    pub fn new(url: impl Into<String>) -> Self {
        RedisStoreOptions {
            url: url.into(),
            prefix: "rampgate".to_owned(),
            max_stale: Duration::from_secs(60),
            stale_policy: StalePolicy::KeepServing,
            initial_wait: Duration::from_secs(5),
            check_interval: Duration::from_secs(1),
            max_jti_lifetime: Duration::from_secs(24 * 3600),
            expiry_margin: Duration::from_secs(300),
            max_queued: 10_000,
        }
    }

    /// Sets [`prefix`](RedisStoreOptions::prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Sets [`max_stale`](RedisStoreOptions::max_stale) and the policy past it.
    pub fn max_stale(mut self, max_stale: Duration, policy: StalePolicy) -> Self {
        self.max_stale = max_stale;
        self.stale_policy = policy;
        self
    }

    /// Sets [`initial_wait`](RedisStoreOptions::initial_wait).
    pub fn initial_wait(mut self, wait: Duration) -> Self {
        self.initial_wait = wait;
        self
    }

    /// Sets [`check_interval`](RedisStoreOptions::check_interval).
    pub fn check_interval(mut self, interval: Duration) -> Self {
        self.check_interval = interval;
        self
    }

    /// Sets [`max_jti_lifetime`](RedisStoreOptions::max_jti_lifetime).
    pub fn max_jti_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_jti_lifetime = lifetime;
        self
    }

    /// Sets [`expiry_margin`](RedisStoreOptions::expiry_margin).
    pub fn expiry_margin(mut self, margin: Duration) -> Self {
        self.expiry_margin = margin;
        self
    }

    /// Sets [`max_queued`](RedisStoreOptions::max_queued).
    pub fn max_queued(mut self, max: usize) -> Self {
        self.max_queued = max;
        self
    }

    pub(super) fn list(&self) -> RevocationList {
        RevocationList::new()
            .with_max_jti_lifetime(self.max_jti_lifetime)
            .with_expiry_margin(self.expiry_margin)
    }
}
