//! A [`RevocationList`]'s changes as a whole: revocations added (already
//! normalised, or read back from a shared store), removed, or the whole list
//! replaced by a resynchronisation.

use super::super::snapshot::{
    JtiEntry, Scoped, Snapshot, drop_at, from_secs, secs, secs_ceil, secs_floor,
};
use super::super::{Revocation, RevocationAction};
use super::{MAX_LOGGED_CHANGES, RevocationList};
use crate::escape_control;
use crate::reason::RevokedBy;
use crate::sync::lock;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

impl RevocationList {
    /// How long past its `until` an entry is kept.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the Redis store's
    pub(in crate::ops::revocation) fn expiry_margin(&self) -> Duration {
        self.inner.expiry_margin
    }

    /// Adds `revocations`, already normalised (or read back from a shared
    /// store, where they were), in one change; reports them to the observers
    /// when `notify`.
    pub(in crate::ops::revocation) fn apply(
        &self,
        revocations: &[Revocation],
        actor: Option<&str>,
        now: SystemTime,
        notify: bool,
    ) {
        let _writer = lock(&self.inner.writer);
        let mut next = Snapshot::clone(&self.inner.snapshot.load());
        next.jti.reserve(revocations.len());
        for r in revocations {
            insert(&mut next, r, self.inner.expiry_margin);
        }
        next.purge(secs_floor(now));
        self.publish(next);
        if !notify {
            return;
        }
        // A mass revocation is one log line; every change is still an event.
        let log_each = revocations.len() <= MAX_LOGGED_CHANGES;
        if !log_each {
            tracing::info!(
                count = revocations.len(),
                actor = actor.map(escape_control).as_deref(),
                "revocation list changed: many revocations added at once"
            );
        }
        for r in revocations {
            self.notify(RevocationAction::Revoke, r, actor, now, log_each);
        }
    }

    /// Replaces the whole list with `revocations` (read back from a shared
    /// store), telling no observer: a resynchronisation, not a change.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))] // the Redis store's
    pub(in crate::ops::revocation) fn replace_all(&self, revocations: &[Revocation]) {
        let mut next = Snapshot {
            next_drop: i64::MAX,
            ..Snapshot::default()
        };
        next.jti.reserve(revocations.len());
        for r in revocations {
            insert(&mut next, r, self.inner.expiry_margin);
        }
        let _writer = lock(&self.inner.writer);
        next.purge(secs_floor(self.now()));
        self.publish(next);
    }

    /// Removes the revocation of `value` of kind `by` for issuer `iss`;
    /// reports the removal to the observers when `notify`.
    pub(in crate::ops::revocation) fn remove(
        &self,
        by: RevokedBy,
        value: &str,
        iss: Option<&str>,
        actor: Option<&str>,
        notify: bool,
    ) -> Option<Revocation> {
        let now = self.now();
        let _writer = lock(&self.inner.writer);
        let current = self.inner.snapshot.load_full();
        let removed = match by {
            RevokedBy::Jti => {
                if !current.jti.contains_key(value) {
                    return None;
                }
                let mut next = Snapshot::clone(&current);
                let entry = next.jti.remove(value);
                next.purge(secs_floor(now));
                self.publish(next);
                Revocation {
                    until: entry.map(|e| from_secs(e.until)),
                    ..Revocation::jti(value)
                }
            }
            _ => {
                let found = current
                    .scoped(by)
                    .get(value)
                    .and_then(|entries| entries.iter().find(|e| e.iss.as_deref() == iss).cloned());
                let entry = found?;
                let mut next = Snapshot::clone(&current);
                let map = next.scoped_mut(by);
                if let Some(entries) = map.get_mut(value) {
                    entries.retain(|e| e.iss.as_deref() != iss);
                    if entries.is_empty() {
                        map.remove(value);
                    }
                }
                next.purge(secs_floor(now));
                self.publish(next);
                Revocation {
                    iss: entry.iss.as_deref().map(str::to_owned),
                    issued_before: entry.issued_before,
                    until: entry.until,
                    ..Revocation::new(by, value)
                }
            }
        };
        if notify {
            self.notify(RevocationAction::Unrevoke, &removed, actor, now, true);
        }
        Some(removed)
    }
}

/// Adds `r` to `next`, replacing an entry of the same kind, value and issuer.
fn insert(next: &mut Snapshot, r: &Revocation, margin: Duration) {
    let value: Arc<str> = Arc::from(r.value.as_str());
    let until = r.until;
    if r.by == RevokedBy::Jti {
        let entry = JtiEntry {
            until: until.map_or(i64::MAX, secs_ceil),
            drop_at: drop_at(until, margin),
        };
        next.jti.insert(value, entry);
        return;
    }
    let iss: Option<Arc<str>> = r.iss.as_deref().map(Arc::from);
    let scoped = Scoped {
        before: r.issued_before.map_or(f64::INFINITY, secs),
        issued_before: r.issued_before,
        until,
        drop_at: drop_at(until, margin),
        iss,
    };
    let entries = next.scoped_mut(r.by).entry(value).or_default();
    entries.retain(|e| e.iss != scoped.iss);
    entries.push(scoped);
}
