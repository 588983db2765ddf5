//! A bounded cache of verified tokens, so that a client sending the same token
//! again does not cost a parse and a signature check each time.
//!
//! A hit proves that the presented token is byte for byte one that was
//! verified: the slot is found by a hash seeded at random for this cache
//! (foldhash; only verified tokens take a place) of the token's last
//! [`HASHED_TAIL`] bytes, and the whole stored token is compared with the
//! presented one. A `jti`, `kid` or signature is never a key: the hash only
//! picks the slot; only the byte-for-byte comparison makes a hit.
//!
//! Why only the tail: hashing the whole token was a tenth of a cache hit's cost.
//! The last 64 bytes of a token hold its signature (for HS256, 43 characters,
//! the whole signature and the end of the claims), and a signature depends on
//! the whole signed content, so distinct verified tokens differ there; tokens that an attacker makes share a tail
//! only with each other or with a token they copy, and only verified tokens
//! ever enter the cache, so a shared tail costs a failed comparison, never a
//! wrong hit or an eviction.
//!
//! Admission: while a shard holds fewer live entries than its capacity (an
//! entry dropped for its TTL or a failed re-check frees its slot), every
//! verified token is kept. Once it is full, a new token is kept only on its
//! second verification: the first notes its hash in the shard's doorkeeper
//! (four `u64` per entry, each hash at two places, so that two new tokens
//! seldom push each other out), and a token found there when it is verified
//! again takes a victim's place. A one-shot token (a client minting one per
//! request) then costs no copy of the token, no eviction of an entry that is
//! being reused, and no freeing of evicted claims long out of the CPU's
//! caches; a reused token costs one more full verification before it is
//! cached.
//!
//! Eviction is CLOCK (second chance) within each shard: a hit sets the entry's
//! reference bit, and the hand clears bits as it looks for a victim, so an
//! entry hit at least once per sweep of its shard survives any number of
//! admitted tokens passing through. New entries start unreferenced, so tokens
//! used twice and then dropped evict their own earlier members, not the hot
//! entries. Entries past their `exp` or TTL are taken first.
//!
//! Only the lookup and the insertion hold a shard's lock; verification, and
//! building an entry to insert, never do.

use super::TimeClaims;

/// How many of a token's last bytes pick its slot (see the module docs).
pub(crate) const HASHED_TAIL: usize = 64;
use crate::alg::Algorithm;
use crate::key::Key;
use crate::principal::Principal;
use crate::sync::{PassThrough, lock};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How many verified tokens a [`Verifier`](crate::Verifier) keeps, and for how
/// long at most (never past a token's own `exp`).
///
/// Admission: while the cache has room, every verified token is kept. Once it
/// is full, a new token is kept on its second verification, in place of an
/// entry that is not being reused: one-shot tokens then never displace
/// reused ones, nor cost a copy, an eviction and the freeing of the evicted
/// claims; a reused token costs one more full verification before it is
/// cached ([`TokenCacheStats::deferred`] counts the tokens not kept).
///
/// ```
/// use rampgate_core::TokenCacheOptions;
/// use std::time::Duration;
///
/// let options = TokenCacheOptions { max_entries: 50_000, ttl: Duration::from_secs(60) };
/// assert_eq!(TokenCacheOptions::default().max_entries, 4096);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenCacheOptions {
    /// The most tokens held at once. Each entry holds the token (at most
    /// [`max_token_bytes`](crate::VerifierBuilder::max_token_bytes)) and its
    /// decoded claims. 0 turns the cache off. Defaults to 4096.
    pub max_entries: usize,
    /// The longest an entry is used, whatever the token's `exp`. A zero TTL
    /// turns the cache off. Defaults to 5 minutes.
    pub ttl: Duration,
}

impl Default for TokenCacheOptions {
    fn default() -> Self {
        TokenCacheOptions {
            max_entries: 4096,
            ttl: Duration::from_secs(300),
        }
    }
}

/// Counters of a verifier's token cache, from [`Verifier::cache_stats`](crate::Verifier::cache_stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct TokenCacheStats {
    /// Tokens held now.
    pub entries: usize,
    /// The most tokens held at once ([`TokenCacheOptions::max_entries`]).
    pub capacity: usize,
    /// Lookups that found the token, before the checks a hit still runs.
    pub hits: u64,
    /// Lookups that did not find the token (or found it past its TTL).
    pub misses: u64,
    /// Entries dropped on a hit because a check failed (expired, key removed, …).
    pub invalidated: u64,
    /// Verified tokens added.
    pub insertions: u64,
    /// Entries pushed out to make room.
    pub evictions: u64,
    /// Verified tokens not kept because the cache was full and the token was
    /// new to it: it is kept when verified again ([`TokenCacheOptions`],
    /// "Admission").
    pub deferred: u64,
}

/// What a verification established, kept for the next identical token.
pub(crate) struct CachedToken {
    /// The index of the issuer in the verifier.
    pub(crate) issuer: usize,
    pub(crate) kid: Option<String>,
    pub(crate) alg: Algorithm,
    /// The key that verified the signature, from the snapshot held then.
    pub(crate) key: Arc<Key>,
    pub(crate) times: TimeClaims,
    pub(crate) principal: Principal,
}

/// The longest TTL used, whatever the options say.
const MAX_TTL: Duration = Duration::from_secs(365 * 24 * 3600);

/// Shards enough that two cores, or sixty-four, seldom wait on one another.
const MAX_SHARDS: usize = 32;

pub(crate) struct TokenCache {
    /// Randomly seeded, and far cheaper than SipHash on a token's tail. Only
    /// verified tokens take a place, so no one picks the hashes a shard holds.
    hasher: foldhash::quality::RandomState,
    ttl: Duration,
    capacity: usize,
    shards: Box<[Mutex<Shard>]>,
}

struct Entry {
    hash: u64,
    token: Box<str>,
    value: Arc<CachedToken>,
    /// Inserted + TTL.
    until: Instant,
    referenced: bool,
}

#[derive(Default)]
struct Shard {
    index: HashMap<u64, usize, BuildHasherDefault<PassThrough>>,
    slots: Vec<Option<Entry>>,
    capacity: usize,
    hand: usize,
    len: usize,
    /// Slots emptied by `take`, reused before the vector grows.
    free: Vec<usize>,
    /// The doorkeeper: hashes of tokens verified once while the shard was
    /// full, at two places each (empty until the shard first fills).
    seen: Box<[u64]>,
    /// Which of a hash's two places the next note goes to.
    flip: bool,
    hits: u64,
    misses: u64,
    invalidated: u64,
    insertions: u64,
    evictions: u64,
    deferred: u64,
}

impl TokenCache {
    /// `None` when the options turn the cache off.
    pub(crate) fn new(options: TokenCacheOptions) -> Option<TokenCache> {
        if options.max_entries == 0 || options.ttl.is_zero() {
            return None;
        }
        let n = options.max_entries.min(MAX_SHARDS);
        // The shards' capacities add up to max_entries exactly.
        let (base, rest) = (options.max_entries / n, options.max_entries % n);
        let shards = (0..n)
            .map(|i| {
                Mutex::new(Shard {
                    capacity: base + usize::from(i < rest),
                    ..Shard::default()
                })
            })
            .collect();
        Some(TokenCache {
            hasher: foldhash::quality::RandomState::default(),
            // `Instant + Duration::MAX` would panic on every insertion; a token's
            // own `exp` bounds an entry anyway.
            ttl: options.ttl.min(MAX_TTL),
            capacity: options.max_entries,
            shards,
        })
    }

    pub(crate) fn hash(&self, token: &str) -> u64 {
        let bytes = token.as_bytes();
        self.hasher
            .hash_one(&bytes[bytes.len().saturating_sub(HASHED_TAIL)..])
    }

    fn shard(&self, hash: u64) -> &Mutex<Shard> {
        // The high half picks the shard; the index map's buckets use the low bits.
        let i = (hash >> 32) as usize % self.shards.len();
        &self.shards[i]
    }

    /// The entry for exactly `token`, if held and within its TTL.
    pub(crate) fn get(&self, hash: u64, token: &str) -> Option<Arc<CachedToken>> {
        let now = Instant::now();
        let mut shard = lock(self.shard(hash));
        let found = shard.index.get(&hash).copied();
        let Some(i) = found else {
            shard.misses += 1;
            return None;
        };
        let (exact, fresh) = match &shard.slots[i] {
            Some(e) => (*e.token == *token, now < e.until),
            None => (false, false),
        };
        if !exact {
            shard.misses += 1;
            return None;
        }
        if !fresh {
            shard.take(i);
            shard.misses += 1;
            return None;
        }
        shard.hits += 1;
        let entry = shard.slots[i].as_mut()?;
        entry.referenced = true;
        Some(Arc::clone(&entry.value))
    }

    /// Drops the entry for exactly `token`: a hit whose checks failed.
    pub(crate) fn remove(&self, hash: u64, token: &str) {
        let mut shard = lock(self.shard(hash));
        if let Some(&i) = shard.index.get(&hash)
            && shard.slots[i].as_ref().is_some_and(|e| *e.token == *token)
        {
            shard.take(i);
            shard.invalidated += 1;
        }
    }

    /// Keeps a verified token, made by `value` when it is admitted (see the
    /// module docs). `now` is the wall clock in seconds, to find expired
    /// entries first when making room.
    pub(crate) fn insert(
        &self,
        hash: u64,
        token: &str,
        value: impl FnOnce() -> CachedToken,
        now: f64,
    ) {
        let shard = self.shard(hash);
        {
            let mut shard = lock(shard);
            let known = shard.index.contains_key(&hash);
            if !known && shard.len >= shard.capacity && !shard.admits(hash) {
                shard.deferred += 1;
                return;
            }
        }
        // Built without the lock, which the cache hits of the shard take.
        let entry = Some(Entry {
            hash,
            token: token.into(),
            value: Arc::new(value()),
            until: Instant::now() + self.ttl,
            referenced: false,
        });
        let mut shard = lock(shard);
        shard.insertions += 1;
        // An evicted or replaced entry is freed after the lock is released.
        let _old = match shard.index.get(&hash).copied() {
            // The same token verified twice at once, or (2^-64) another token
            // with the same hash: either way the newer verification stands.
            Some(i) => std::mem::replace(&mut shard.slots[i], entry),
            None => {
                let (i, evicted) = shard.room(now);
                shard.evictions += u64::from(evicted.is_some());
                shard.slots[i] = entry;
                shard.index.insert(hash, i);
                shard.len += 1;
                evicted
            }
        };
        drop(shard);
    }

    pub(crate) fn stats(&self) -> TokenCacheStats {
        let mut stats = TokenCacheStats {
            capacity: self.capacity,
            ..TokenCacheStats::default()
        };
        for shard in &self.shards {
            let s = lock(shard);
            stats.entries += s.len;
            stats.hits += s.hits;
            stats.misses += s.misses;
            stats.invalidated += s.invalidated;
            stats.insertions += s.insertions;
            stats.evictions += s.evictions;
            stats.deferred += s.deferred;
        }
        stats
    }
}

impl Shard {
    /// Takes the entry out of slot `i`, if any; the slot is free again.
    fn take(&mut self, i: usize) -> Option<Entry> {
        let e = self.evict(i)?;
        self.free.push(i);
        Some(e)
    }

    /// Takes the entry out of slot `i`, to fill the slot at once.
    fn evict(&mut self, i: usize) -> Option<Entry> {
        let e = self.slots[i].take()?;
        self.index.remove(&e.hash);
        self.len -= 1;
        Some(e)
    }

    /// An empty slot for a new entry, and the entry evicted to make it.
    fn room(&mut self, now: f64) -> (usize, Option<Entry>) {
        // A free slot may have been filled again since `take` listed it.
        while let Some(i) = self.free.pop() {
            if self.slots[i].is_none() {
                return (i, None);
            }
        }
        if self.slots.len() < self.capacity {
            self.slots.push(None);
            return (self.slots.len() - 1, None);
        }
        let i = self.victim(now);
        (i, self.evict(i))
    }

    /// Whether a new token may displace an entry of this full shard: when its
    /// hash is in the doorkeeper (it was verified once already), which then
    /// forgets it; otherwise the hash is noted at one of its two places, in
    /// turn, for next time.
    fn admits(&mut self, hash: u64) -> bool {
        if self.seen.is_empty() {
            self.seen = vec![0; self.capacity.max(1) * 4].into_boxed_slice();
        }
        let n = self.seen.len() as u64;
        // Not the high half's low bits: they pick the shard.
        let places = [(hash % n) as usize, (hash.rotate_left(24) % n) as usize];
        if let Some(&at) = places.iter().find(|&&at| self.seen[at] == hash) {
            self.seen[at] = 0;
            return true;
        }
        self.flip = !self.flip;
        self.seen[places[usize::from(self.flip)]] = hash;
        false
    }

    /// The slot to reuse: the first empty, expired or unreferenced one from the
    /// hand on, clearing reference bits on the way. Ends within two turns, as
    /// the first clears every bit. Only called on a full, non-empty shard.
    fn victim(&mut self, now: f64) -> usize {
        let instant = Instant::now();
        loop {
            let i = self.hand;
            self.hand = (self.hand + 1) % self.slots.len();
            match &mut self.slots[i] {
                None => return i,
                Some(e) if e.until <= instant || now >= e.value.times.exp => return i,
                Some(e) if e.referenced => e.referenced = false,
                Some(_) => return i,
            }
        }
    }
}
