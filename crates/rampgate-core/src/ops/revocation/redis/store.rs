//! [`RedisRevocationStore`](crate::RedisRevocationStore): the [`RevocationStore`] over the mirror.

use super::super::{
    Revocation, RevocationCheck, RevocationError, RevocationHealth, RevocationObserver,
    RevocationStore,
};
use super::options::{RedisStoreError, RedisStoreOptions, StalePolicy};
use super::shared::{Op, Shared};
use super::task::run;
use super::wire::{Names, new_origin, open_client, redact};
use crate::reason::RevokedBy;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Aborts the background task when the last clone of the store goes.
struct TaskGuard(tokio::task::JoinHandle<()>);

impl Drop for TaskGuard {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Revocations shared by every replica through Redis: a [`RevocationStore`]
/// whose lookups read a local mirror (the same lock-free snapshot as
/// [`RevocationList`](crate::RevocationList)'s, never waiting on Redis), fed by pub/sub and
/// resynchronised in full on connect and on every reconnect.
///
/// Changes made through the trait (the admin router) apply to this replica's
/// mirror at once, and reach Redis and the other replicas from the
/// background task; made while Redis is down, they are kept and written on
/// reconnect. [`RedisRevocations`](crate::RedisRevocations) makes changes in Redis directly.
///
/// ```no_run
/// # async fn run() -> Result<(), rampgate_core::RedisStoreError> {
/// use rampgate_core::{RedisRevocationStore, RedisStoreOptions, StalePolicy};
/// use std::time::Duration;
///
/// let store = RedisRevocationStore::connect(
///     RedisStoreOptions::new("redis://127.0.0.1:6379")
///         .max_stale(Duration::from_secs(30), StalePolicy::FailClosed),
/// )
/// .await?;
/// // Verifier::builder().revocations(store.clone())...
/// # let _ = store; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRevocationStore {
    shared: Arc<Shared>,
    ops: mpsc::UnboundedSender<Op>,
    _task: Arc<TaskGuard>,
}

impl fmt::Debug for RedisRevocationStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisRevocationStore")
            .field("url", &self.shared.url)
            .field("prefix", &self.shared.names.prefix)
            .field("connected", &self.shared.connected.load(Ordering::Relaxed))
            .field("entries", &self.shared.mirror.len())
            .finish_non_exhaustive()
    }
}

impl RedisRevocationStore {
    /// Starts the store's background task (on the current tokio runtime) and
    /// waits, at most [`initial_wait`](RedisStoreOptions::initial_wait), for
    /// the first synchronisation. Past it the store is returned all the same
    /// (with a warning): it keeps trying, serves an empty mirror meanwhile,
    /// and refuses every token under [`StalePolicy::FailClosed`].
    ///
    /// # Errors
    ///
    /// [`RedisStoreError::InvalidUrl`] for a URL that is not a Redis URL.
    pub async fn connect(options: RedisStoreOptions) -> Result<Self, RedisStoreError> {
        let client = open_client(&options.url)?;
        let shared = Arc::new(Shared {
            mirror: options.list(),
            names: Names::new(&options.prefix),
            url: redact(&options.url),
            origin: new_origin(),
            connected: AtomicBool::new(false),
            synced: AtomicBool::new(false),
            fresh_at: AtomicI64::new(0),
            stale_logged: AtomicBool::new(false),
            down_logged: AtomicBool::new(false),
            queued: AtomicUsize::new(0),
            dropped: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            options,
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(client, Arc::clone(&shared), rx));
        let store = RedisRevocationStore {
            shared,
            ops: tx,
            _task: Arc::new(TaskGuard(task)),
        };
        if !store.wait_synced(store.shared.options.initial_wait).await {
            tracing::warn!(
                url = %store.shared.url,
                waited_ms = u64::try_from(store.shared.options.initial_wait.as_millis()).unwrap_or(u64::MAX),
                fail_closed = store.shared.options.stale_policy == StalePolicy::FailClosed,
                "revocation store: no synchronisation with Redis yet; starting without it and retrying"
            );
        }
        Ok(store)
    }

    /// Waits, at most `timeout`, until the mirror has been synchronised once.
    /// Returns whether it has.
    pub async fn wait_synced(&self, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.shared.synced.load(Ordering::Acquire) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Whether the store is in touch with Redis now.
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::Acquire)
    }

    /// The revocations held by the local mirror.
    pub fn len(&self) -> usize {
        self.shared.mirror.len()
    }

    /// Whether the local mirror holds nothing.
    pub fn is_empty(&self) -> bool {
        self.shared.mirror.is_empty()
    }
}

impl RevocationStore for RedisRevocationStore {
    fn check(&self, token: &RevocationCheck<'_>) -> Option<RevokedBy> {
        self.shared.mirror.check(token)
    }

    fn revoke(
        &self,
        revocation: Revocation,
        actor: Option<&str>,
    ) -> Result<Revocation, RevocationError> {
        self.shared.reserve()?;
        let stored = self
            .shared
            .mirror
            .revoke(revocation, actor)
            .inspect_err(|_| self.shared.dequeued())?;
        self.shared.enqueue(
            &self.ops,
            Op::Revoke(stored.clone(), actor.map(str::to_owned)),
        )?;
        Ok(stored)
    }

    fn unrevoke(
        &self,
        by: RevokedBy,
        value: &str,
        iss: Option<&str>,
        actor: Option<&str>,
    ) -> Result<Option<Revocation>, RevocationError> {
        let iss = if by == RevokedBy::Jti { None } else { iss };
        self.shared.reserve()?;
        let removed = self
            .shared
            .mirror
            .unrevoke(by, value, iss, actor)
            .inspect_err(|_| self.shared.dequeued())?;
        self.shared.enqueue(
            &self.ops,
            Op::Unrevoke(
                by,
                value.to_owned(),
                iss.map(str::to_owned),
                actor.map(str::to_owned),
            ),
        )?;
        Ok(removed)
    }

    fn list(&self) -> Vec<Revocation> {
        self.shared.mirror.list()
    }

    fn observe(&self, key: usize, observer: RevocationObserver) -> bool {
        self.shared.mirror.observe(key, observer)
    }

    fn usable(&self) -> bool {
        self.shared.usable()
    }

    fn health(&self) -> Option<RevocationHealth> {
        Some(RevocationHealth {
            store: "redis",
            connected: self.shared.connected.load(Ordering::Acquire),
            synced: self.shared.synced.load(Ordering::Acquire),
            stale_secs: self.shared.stale_for().as_secs(),
            usable: self.shared.usable(),
            entries: self.shared.mirror.len(),
            dropped_changes: self.shared.dropped.load(Ordering::Acquire),
            skipped_entries: self.shared.skipped.load(Ordering::Acquire),
        })
    }
}
