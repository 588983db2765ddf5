//! What the store and its background task share: the mirror and the
//! connection state.

use super::super::list::RevocationList;
use super::super::{Revocation, RevocationError};
use super::options::{RedisStoreOptions, StalePolicy};
use super::wire::{Message, Names, OP_REVOKE, OP_UNREVOKE, now_millis};
use crate::escape_control;
use crate::reason::RevokedBy;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime};

/// A change made through the [`RevocationStore`] trait, on its way to Redis.
#[derive(Debug)]
pub(super) enum Op {
    Revoke(Revocation, Option<String>),
    Unrevoke(RevokedBy, String, Option<String>, Option<String>),
}

/// What the store and its background task share.
pub(super) struct Shared {
    pub(super) mirror: RevocationList,
    pub(super) names: Names,
    pub(super) url: String,
    pub(super) options: RedisStoreOptions,
    pub(super) origin: String,
    pub(super) connected: AtomicBool,
    pub(super) synced: AtomicBool,
    /// When the mirror was last known current (ms since the epoch; 0: never).
    pub(super) fresh_at: AtomicI64,
    /// Whether the "stale past max_stale" line was logged for this outage.
    pub(super) stale_logged: AtomicBool,
    /// Whether the "unreachable" line was logged for this outage.
    pub(super) down_logged: AtomicBool,
    /// Changes made through the trait and not yet written (in the channel
    /// or the task's queue).
    pub(super) queued: AtomicUsize,
    /// Changes Redis refused for good, dropped since the store started.
    pub(super) dropped: AtomicU64,
    /// Entries under the prefix that are not revocations, at the last
    /// resynchronisation.
    pub(super) skipped: AtomicU64,
}

impl Shared {
    pub(super) fn stale_for(&self) -> Duration {
        if self.connected.load(Ordering::Acquire) {
            return Duration::ZERO;
        }
        let since = now_millis().saturating_sub(self.fresh_at.load(Ordering::Acquire));
        Duration::from_millis(u64::try_from(since).unwrap_or(0))
    }

    pub(super) fn usable(&self) -> bool {
        match self.options.stale_policy {
            StalePolicy::KeepServing => true,
            StalePolicy::FailClosed => {
                self.synced.load(Ordering::Acquire) && self.stale_for() <= self.options.max_stale
            }
        }
    }

    pub(super) fn touch(&self) {
        self.fresh_at.store(now_millis(), Ordering::Release);
    }

    /// Records a lost connection: one log line per outage.
    pub(super) fn mark_down(&self, error: &redis::RedisError) {
        self.connected.store(false, Ordering::Release);
        if !self.down_logged.swap(true, Ordering::AcqRel) {
            tracing::warn!(
                url = %self.url,
                error = %error,
                entries = self.mirror.len(),
                "revocation store: Redis unreachable; serving from the last mirror while reconnecting"
            );
            #[cfg(feature = "metrics")]
            metrics::gauge!("rampgate_revocation_store_connected").set(0.0);
        }
    }

    /// Reserves a place in the queue for one change, unless `max_queued`
    /// changes already wait for Redis. Undo with [`Shared::dequeued`].
    pub(super) fn reserve(&self) -> Result<(), RevocationError> {
        let max = self.options.max_queued;
        if self.queued.fetch_add(1, Ordering::AcqRel) >= max {
            self.dequeued();
            return Err(RevocationError::Store(format!(
                "{max} changes already wait for Redis at {} (max_queued): make this one once Redis is back",
                self.url
            )));
        }
        Ok(())
    }

    /// Sends `op`, whose place [`Shared::reserve`] reserved, to the task.
    pub(super) fn enqueue(
        &self,
        ops: &tokio::sync::mpsc::UnboundedSender<Op>,
        op: Op,
    ) -> Result<(), RevocationError> {
        ops.send(op).map_err(|_| {
            self.dequeued();
            RevocationError::Store("the Redis store's task has stopped".into())
        })
    }

    /// Records that a change left the queue (written, lapsed, dropped, or
    /// never made).
    pub(super) fn dequeued(&self) {
        let _ = self
            .queued
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1));
    }

    /// Records a change Redis refused for good and that is dropped.
    pub(super) fn record_dropped(&self, error: &redis::RedisError, change: &Op) {
        let dropped = self
            .dropped
            .fetch_add(1, Ordering::AcqRel)
            .saturating_add(1);
        tracing::error!(
            url = %self.url,
            error = %error,
            change = ?change,
            dropped,
            "revocation store: Redis refused a change for good; dropped. No other replica sees it, and this one forgets it at its next resynchronisation: make it again once the cause (in the error) is fixed"
        );
        #[cfg(feature = "metrics")]
        metrics::counter!("rampgate_revocation_store_dropped_changes_total").increment(1);
    }

    /// Records that the background task ended: nothing keeps the mirror
    /// current any more.
    pub(super) fn mark_ended(&self) {
        self.connected.store(false, Ordering::Release);
        self.synced.store(false, Ordering::Release);
        if !std::thread::panicking() {
            return;
        }
        tracing::error!(
            url = %self.url,
            "revocation store: its background task failed; the mirror is no longer kept current"
        );
        #[cfg(feature = "metrics")]
        metrics::gauge!("rampgate_revocation_store_connected").set(0.0);
    }

    /// Logs, once per outage, that the mirror is now older than `max_stale`.
    pub(super) fn log_if_stale(&self) {
        if self.stale_for() <= self.options.max_stale
            || self.stale_logged.swap(true, Ordering::AcqRel)
        {
            return;
        }
        let refusing = self.options.stale_policy == StalePolicy::FailClosed;
        tracing::error!(
            url = %self.url,
            max_stale_secs = self.options.max_stale.as_secs(),
            refusing,
            "revocation store: out of touch with Redis past max_stale{}",
            if refusing {
                "; refusing every token with 503 revocation_unavailable"
            } else {
                "; still serving from the last mirror (stale_policy keep-serving)"
            }
        );
    }

    pub(super) fn mark_up(&self, entries: usize) {
        self.touch();
        // Connected before synced: whoever sees `synced` sees it connected.
        let was_connected = self.connected.swap(true, Ordering::AcqRel);
        let first = !self.synced.swap(true, Ordering::AcqRel);
        self.stale_logged.store(false, Ordering::Release);
        self.down_logged.store(false, Ordering::Release);
        if !was_connected {
            tracing::info!(
                url = %self.url,
                entries,
                first,
                "revocation store: connected to Redis; mirror synchronised"
            );
            #[cfg(feature = "metrics")]
            metrics::gauge!("rampgate_revocation_store_connected").set(1.0);
        }
        #[cfg(feature = "metrics")]
        metrics::counter!("rampgate_revocation_store_resyncs_total").increment(1);
    }

    /// Applies a change read from the channel (another store's).
    pub(super) fn apply_message(&self, payload: &str) {
        let Ok(m) = serde_json::from_str::<Message>(payload) else {
            tracing::warn!(
                payload = &*escape_control(payload),
                "revocation store: a message on the channel is not a change; ignored"
            );
            return;
        };
        self.touch();
        if m.origin == self.origin {
            return;
        }
        let Some(r) = m.r.into_revocation() else {
            return;
        };
        let actor = m.actor.as_deref();
        match m.op.as_str() {
            OP_REVOKE => self.mirror.apply(&[r], actor, SystemTime::now(), true),
            OP_UNREVOKE => {
                let _ = self
                    .mirror
                    .remove(r.by, &r.value, r.iss.as_deref(), actor, true);
            }
            _ => {}
        }
    }
}
