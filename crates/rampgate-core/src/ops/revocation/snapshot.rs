//! One state of a [`RevocationList`](super::RevocationList): immutable once
//! published, replaced as a whole by each change.

use crate::reason::RevokedBy;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A subject or consumer cut-off, or a kid revocation (no cut-off).
#[derive(Debug, Clone)]
pub(super) struct Scoped {
    pub(super) iss: Option<Arc<str>>,
    /// Tokens with an `iat` before this (seconds) are refused.
    pub(super) before: f64,
    pub(super) issued_before: Option<SystemTime>,
    pub(super) until: Option<SystemTime>,
    /// `until` + margin, in seconds; `i64::MAX` for none.
    pub(super) drop_at: i64,
}

/// One list state, never changed once published.
#[derive(Debug, Clone, Default)]
pub(super) struct Snapshot {
    /// `jti` → when it is dropped (`until` + margin), seconds.
    pub(super) jti: HashMap<Arc<str>, JtiEntry>,
    pub(super) sub: HashMap<Arc<str>, Vec<Scoped>>,
    pub(super) consumer: HashMap<Arc<str>, Vec<Scoped>>,
    pub(super) kid: HashMap<Arc<str>, Vec<Scoped>>,
    /// The earliest `drop_at` of every entry; `i64::MAX` for none.
    pub(super) next_drop: i64,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct JtiEntry {
    /// The `until` given, seconds.
    pub(super) until: i64,
    /// `until` + margin, seconds.
    pub(super) drop_at: i64,
}

impl Snapshot {
    pub(super) fn len(&self) -> usize {
        self.jti.len()
            + [&self.sub, &self.consumer, &self.kid]
                .iter()
                .map(|m| m.values().map(Vec::len).sum::<usize>())
                .sum::<usize>()
    }

    pub(super) fn scoped_mut(&mut self, by: RevokedBy) -> &mut HashMap<Arc<str>, Vec<Scoped>> {
        match by {
            RevokedBy::Consumer => &mut self.consumer,
            RevokedBy::Kid => &mut self.kid,
            _ => &mut self.sub,
        }
    }

    /// Drops the entries whose `drop_at` is passed; recomputes `next_drop`.
    pub(super) fn purge(&mut self, now: i64) {
        self.jti.retain(|_, e| e.drop_at > now);
        for map in [&mut self.sub, &mut self.consumer, &mut self.kid] {
            map.retain(|_, entries| {
                entries.retain(|e| e.drop_at > now);
                !entries.is_empty()
            });
        }
        let scoped = [&self.sub, &self.consumer, &self.kid]
            .into_iter()
            .flat_map(|m| m.values().flatten().map(|e| e.drop_at));
        self.next_drop = self
            .jti
            .values()
            .map(|e| e.drop_at)
            .chain(scoped)
            .min()
            .unwrap_or(i64::MAX);
    }
}

pub(super) fn secs(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

pub(super) fn secs_ceil(t: SystemTime) -> i64 {
    let s = secs(t).ceil();
    if s >= i64::MAX as f64 {
        i64::MAX
    } else {
        s as i64
    }
}

pub(super) fn secs_floor(t: SystemTime) -> i64 {
    secs(t).floor() as i64
}

pub(super) fn from_secs(s: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(s).unwrap_or(0))
}

/// `until` + margin, in whole seconds, saturating.
pub(super) fn drop_at(until: Option<SystemTime>, margin: Duration) -> i64 {
    match until {
        None => i64::MAX,
        Some(t) => secs_ceil(t).saturating_add(i64::try_from(margin.as_secs()).unwrap_or(i64::MAX)),
    }
}

impl Snapshot {
    pub(super) fn scoped(&self, by: RevokedBy) -> &HashMap<Arc<str>, Vec<Scoped>> {
        match by {
            RevokedBy::Consumer => &self.consumer,
            RevokedBy::Kid => &self.kid,
            _ => &self.sub,
        }
    }
}
