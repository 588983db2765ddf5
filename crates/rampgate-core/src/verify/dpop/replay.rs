//! The replay cache of RFC 9449 §11.1: each proof's `jti`, with the key
//! that signed it, held until the proof's `iat` could no longer pass the
//! window, so that a second use within the window is refused.
//!
//! What it holds is 16 bytes of SHA-256 over the key's thumbprint and the
//! `jti`: one client's `jti` can never block another's, and a long `jti`
//! costs no more memory than a short one. Entries live in shards, each a
//! set and a queue in order of expiry (insertion order, since every entry
//! is held for the same time from its insertion), behind its own lock.
//!
//! It is bounded, and when full it never forgets an entry still inside its
//! window: a forgotten `jti` would let that proof be replayed, silently. A
//! shard that is full once its expired entries are gone refuses the new
//! proof instead ([`DpopFailure::ReplayCacheFull`], a 503 the operator sees
//! and can size the cache for). Because the checker's callers record a
//! proof only once the access token bound to it verified, filling the cache
//! takes valid tokens, not just self-made keys.

use crate::binding::{DpopFailure, Thumbprint};
use crate::sync::lock;
use sha2::{Digest, Sha256};
use std::collections::{HashSet, VecDeque};
use std::hash::{BuildHasher, RandomState};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Shards of the cache: enough that two cores rarely wait on one lock.
const SHARDS: usize = 32;

/// What identifies one proof: 16 bytes of SHA-256 over (thumbprint, `jti`).
pub(super) type ReplayKey = [u8; 16];

/// The key of the proof signed by `key` with this `jti`.
pub(super) fn replay_key(key: &Thumbprint, jti: &str) -> ReplayKey {
    let digest = Sha256::new()
        .chain_update(key.as_bytes())
        .chain_update(jti.as_bytes())
        .finalize();
    let mut out = [0; 16];
    out.copy_from_slice(&digest[..16]);
    out
}

/// One shard: the keys held, and the same keys in order of expiry.
#[derive(Default)]
struct Shard {
    held: HashSet<ReplayKey, RandomState>,
    /// (expiry in whole seconds since the epoch, key); expiries never
    /// decrease from front to back.
    queue: VecDeque<(u64, ReplayKey)>,
}

impl Shard {
    /// Forgets the entries whose expiry has passed.
    fn purge(&mut self, now: u64) {
        while let Some(&(expiry, key)) = self.queue.front() {
            if expiry >= now {
                break;
            }
            self.queue.pop_front();
            self.held.remove(&key);
        }
    }
}

/// The sharded, bounded replay cache.
pub(super) struct ReplayCache {
    shards: Box<[Mutex<Shard>]>,
    per_shard: usize,
    /// Picks the shard with a key of its own, so that no client can aim its
    /// proofs at one shard.
    chooser: RandomState,
    /// Whether the fullness was logged since the last successful insertion.
    warned: AtomicBool,
}

impl ReplayCache {
    /// A cache of about `capacity` entries (at least one per shard).
    pub(super) fn new(capacity: usize) -> ReplayCache {
        ReplayCache {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            per_shard: capacity.div_ceil(SHARDS).max(1),
            chooser: RandomState::new(),
            warned: AtomicBool::new(false),
        }
    }

    /// The most entries held at once.
    pub(super) fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }

    /// Entries held now, expired ones not yet purged included.
    pub(super) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).held.len()).sum()
    }

    /// Records `key` until `expiry` (seconds since the epoch): refused as
    /// [`DpopFailure::Replayed`] if it is held already, as
    /// [`DpopFailure::ReplayCacheFull`] if its shard is full of entries
    /// that have not expired at `now`.
    pub(super) fn insert(&self, key: ReplayKey, expiry: u64, now: u64) -> Result<(), DpopFailure> {
        let index = (self.chooser.hash_one(key) % SHARDS as u64) as usize;
        let mut shard = lock(&self.shards[index]);
        shard.purge(now);
        if shard.held.contains(&key) {
            return Err(DpopFailure::Replayed);
        }
        if shard.held.len() >= self.per_shard {
            drop(shard);
            if !self.warned.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    capacity = self.capacity(),
                    "DPoP replay cache full: proofs are refused (503) until entries expire; raise DpopOptions::replay_capacity"
                );
            }
            return Err(DpopFailure::ReplayCacheFull);
        }
        // Expiries stay in order even if the clock steps back: an entry is
        // then held a little longer, never less.
        let expiry = shard
            .queue
            .back()
            .map_or(expiry, |&(last, _)| last.max(expiry));
        shard.held.insert(key);
        shard.queue.push_back((expiry, key));
        drop(shard);
        self.warned.store(false, Ordering::Relaxed);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(jti: &str) -> ReplayKey {
        replay_key(&Thumbprint::of_der(b"key"), jti)
    }

    #[test]
    fn a_key_is_held_until_its_expiry() {
        let cache = ReplayCache::new(100);
        assert_eq!(cache.insert(key("a"), 160, 100), Ok(()));
        assert_eq!(cache.insert(key("a"), 170, 110), Err(DpopFailure::Replayed));
        assert_eq!(cache.insert(key("a"), 220, 160), Err(DpopFailure::Replayed));
        // Past its expiry, it is forgotten: its proof's iat is out of the window by then.
        assert_eq!(cache.insert(key("a"), 221, 161), Ok(()));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn one_clients_jti_is_not_anothers() {
        let cache = ReplayCache::new(100);
        let other = replay_key(&Thumbprint::of_der(b"other key"), "a");
        assert_eq!(cache.insert(key("a"), 160, 100), Ok(()));
        assert_eq!(cache.insert(other, 160, 100), Ok(()));
        assert_ne!(key("a"), other);
        // Nor is a jti another that shares its bytes with the key's.
        assert_ne!(key("ab"), key("a"));
    }

    #[test]
    fn a_full_cache_refuses_rather_than_forgets() {
        // One entry per shard: the smallest cache.
        let cache = ReplayCache::new(1);
        assert_eq!(cache.capacity(), SHARDS);
        let mut refused = 0;
        let mut accepted = Vec::new();
        for i in 0..10 * SHARDS {
            let k = key(&i.to_string());
            match cache.insert(k, 160, 100) {
                Ok(()) => accepted.push(k),
                Err(DpopFailure::ReplayCacheFull) => refused += 1,
                Err(other) => panic!("{other:?}"),
            }
        }
        assert!(accepted.len() <= SHARDS && refused >= 9 * SHARDS);
        assert_eq!(cache.len(), accepted.len());
        // Every accepted proof is still refused as a replay: nothing was forgotten.
        for k in &accepted {
            assert_eq!(cache.insert(*k, 160, 150), Err(DpopFailure::Replayed));
        }
        // Once the entries expire, there is room again.
        let mut room = 0;
        for i in 0..10 * SHARDS {
            room += usize::from(cache.insert(key(&format!("later {i}")), 300, 200).is_ok());
        }
        assert!(room > 0);
    }

    #[test]
    fn a_clock_stepping_back_keeps_entries_longer() {
        let cache = ReplayCache::new(1_000);
        // One shard's view: insert at expiry 200, then (clock stepped back) at 150.
        let mut shard = Shard::default();
        shard.held.insert(key("late"));
        shard.queue.push_back((200, key("late")));
        *lock(&cache.shards[0]) = shard;
        let index = |k: ReplayKey| (cache.chooser.hash_one(k) % SHARDS as u64) as usize;
        let k = (0..)
            .map(|i| key(&format!("k{i}")))
            .find(|k| index(*k) == 0)
            .unwrap();
        assert_eq!(cache.insert(k, 150, 100), Ok(()));
        let queue = &lock(&cache.shards[0]).queue;
        assert_eq!(queue.back(), Some(&(200, k)));
    }
}
