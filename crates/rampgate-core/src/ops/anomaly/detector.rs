//! [`AnomalyDetector`]: sharded per-key windows with a bounded entry count.

use super::{
    AnomalyEvent, AnomalyOptions, EVICTION_SAMPLE, KeyKind, MAX_DISTINCT, MAX_KEY_BYTES,
    MAX_REASONS, Observation, SHARDS, Signal,
};
use crate::reason::{EventReason, Reason};
use crate::sync::{PassThrough, lock};
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, RandomState};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

/// Counts failures per key and window, and says when one crosses a threshold.
///
/// Thread-safe and cheap: an observation that counts nothing takes no lock;
/// others lock one of 16 shards per key.
///
/// ```
/// use rampgate_core::Reason;
/// use rampgate_core::anomaly::{AnomalyDetector, AnomalyOptions, Observation, Signal};
/// use std::time::SystemTime;
///
/// let detector = AnomalyDetector::new(AnomalyOptions { bad_signatures: 3, ..Default::default() });
/// let addr = "203.0.113.9".parse().ok();
/// let now = SystemTime::now();
/// let seen: Vec<_> = (0..5)
///     .flat_map(|_| detector.observe(&Observation::new(Reason::SignatureInvalid, now).client_addr(addr)))
///     .collect();
/// assert_eq!(seen.len(), 1, "once per key and window");
/// assert_eq!(seen[0].signal, Signal::BadSignatures);
/// assert_eq!(seen[0].key, "203.0.113.9");
/// assert_eq!(seen[0].count, 3);
/// ```
#[derive(Debug)]
pub struct AnomalyDetector {
    options: AnomalyOptions,
    window_ms: u64,
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
}

/// One key's window. The key itself is not kept: an entry is found by its
/// keyed 64-bit hash (with the signal and key kind), which nobody can aim at
/// another key, and an event names the key of the observation that fired it.
/// A new entry allocates nothing (only a second distinct value does): a
/// flood of one-shot keys (a `jti` per request) costs no allocation per key,
/// and no freeing when it is evicted.
#[derive(Debug)]
struct Entry {
    hash: u64,
    signal: Signal,
    kind: KeyKind,
    /// Milliseconds since the epoch.
    window_start: u64,
    count: u32,
    /// Hashes of the distinct routes or addresses, for the distinct signals.
    distinct: Distinct,
    reasons: Reasons,
    fired: bool,
}

/// Up to [`MAX_DISTINCT`] distinct hashes; the first inline (most keys of a
/// distinct signal never see a second value).
#[derive(Debug, Default)]
struct Distinct {
    /// The first value; 0 for none.
    first: u64,
    more: Vec<u64>,
}

impl Distinct {
    fn len(&self) -> usize {
        usize::from(self.first != 0) + self.more.len()
    }

    /// Adds `v` unless it is there or the set is full (a 0 hash counts as none).
    fn add(&mut self, v: u64) {
        if v == 0 || self.first == v || self.more.contains(&v) || self.len() >= MAX_DISTINCT {
            return;
        }
        if self.first == 0 {
            self.first = v;
        } else {
            self.more.push(v);
        }
    }

    fn clear(&mut self) {
        self.first = 0;
        self.more.clear();
    }
}

/// Up to [`MAX_REASONS`] reason counters, inline.
#[derive(Debug)]
struct Reasons {
    len: usize,
    counts: [(EventReason, u32); MAX_REASONS],
}

impl Default for Reasons {
    fn default() -> Self {
        Reasons {
            len: 0,
            counts: [(EventReason::Allowed, 0); MAX_REASONS],
        }
    }
}

impl Reasons {
    fn count(&mut self, reason: EventReason) {
        let counted = &mut self.counts[..self.len];
        if let Some((_, n)) = counted.iter_mut().find(|(r, _)| *r == reason) {
            *n = n.saturating_add(1);
        } else if self.len < MAX_REASONS {
            self.counts[self.len] = (reason, 1);
            self.len += 1;
        }
    }

    /// The codes counted, with their counts.
    fn iter(&self) -> impl Iterator<Item = (&'static str, u32)> + '_ {
        self.counts[..self.len]
            .iter()
            .map(|(r, n)| (r.as_str(), *n))
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

#[derive(Debug, Default)]
struct Shard {
    index: HashMap<u64, usize, BuildHasherDefault<PassThrough>>,
    slots: Vec<Entry>,
    capacity: usize,
    hand: usize,
}

fn truncate(key: &str) -> &str {
    if key.len() <= MAX_KEY_BYTES {
        return key;
    }
    let mut end = MAX_KEY_BYTES;
    while !key.is_char_boundary(end) {
        end -= 1;
    }
    &key[..end]
}

impl AnomalyDetector {
    /// A detector with these options.
    pub fn new(options: AnomalyOptions) -> Self {
        let n = SHARDS.min(options.max_keys.max(1));
        let (base, rest) = (options.max_keys / n, options.max_keys % n);
        let shards = (0..n)
            .map(|i| {
                Mutex::new(Shard {
                    capacity: (base + usize::from(i < rest)).max(1),
                    ..Shard::default()
                })
            })
            .collect();
        AnomalyDetector {
            options,
            window_ms: u64::try_from(options.window.as_millis())
                .unwrap_or(u64::MAX)
                .max(1),
            hasher: RandomState::new(),
            shards,
        }
    }

    /// The options.
    pub fn options(&self) -> &AnomalyOptions {
        &self.options
    }

    /// The number of keys tracked now (never more than
    /// [`AnomalyOptions::max_keys`], or 1 per shard when that is smaller).
    pub fn entries(&self) -> usize {
        self.shards.iter().map(|s| lock(s).slots.len()).sum()
    }

    /// Counts `o`, and returns an event for every key whose count reached its
    /// threshold with it (at most one per key and window).
    pub fn observe(&self, o: &Observation<'_>) -> Vec<AnomalyEvent> {
        let mut events = Vec::new();
        let failure = o.reason.refusal().and_then(Reason::signal);
        let at = u64::try_from(
            o.at.duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_millis(),
        )
        .unwrap_or(u64::MAX);
        if let Some(signal) = failure.filter(|s| self.options.threshold(*s) > 0) {
            let route = o.route.map(|r| self.hasher.hash_one(r));
            let addr = o.client_addr.map(super::address_key);
            let keys = [
                (KeyKind::Consumer, o.consumer),
                (KeyKind::Sub, o.sub),
                (KeyKind::ClientAddr, addr.as_deref()),
            ];
            let distinct = (signal == Signal::ScopeProbing).then_some(route);
            for (kind, key) in keys.into_iter().filter_map(|(k, v)| Some((k, v?))) {
                self.count(signal, kind, key, at, o, distinct, &mut events);
            }
        }
        if self.options.jti_addrs > 0
            && let (Some(jti), Some(addr)) = (o.jti, o.client_addr)
        {
            // Only the group's hash is kept: no need to write the address out.
            let addr = Some(self.hasher.hash_one(super::addr::address_block(addr)));
            self.count(
                Signal::JtiMultiAddr,
                KeyKind::Jti,
                jti,
                at,
                o,
                Some(addr),
                &mut events,
            );
        }
        events
    }

    /// Counts one event of `signal` for the key. `distinct` is `Some` for the
    /// signals that count distinct values (with the value's hash, when known).
    #[allow(clippy::too_many_arguments)]
    fn count(
        &self,
        signal: Signal,
        kind: KeyKind,
        key: &str,
        at: u64,
        o: &Observation<'_>,
        distinct: Option<Option<u64>>,
        events: &mut Vec<AnomalyEvent>,
    ) {
        let key = truncate(key);
        let hash = self.hasher.hash_one((signal, kind, key));
        let shard = &self.shards[(hash >> 32) as usize % self.shards.len()];
        let mut shard = lock(shard);
        let window_ms = self.window_ms;
        let i = match shard.index.get(&hash).copied() {
            Some(i) if shard.slots[i].signal == signal && shard.slots[i].kind == kind => i,
            found => {
                let entry = Entry {
                    hash,
                    signal,
                    kind,
                    window_start: at,
                    count: 0,
                    distinct: Distinct::default(),
                    reasons: Reasons::default(),
                    fired: false,
                };
                shard.place(found, entry, at, window_ms)
            }
        };
        let entry = &mut shard.slots[i];
        if at >= entry.window_start.saturating_add(window_ms) {
            entry.window_start = at;
            entry.count = 0;
            entry.distinct.clear();
            entry.reasons.clear();
            entry.fired = false;
        }
        entry.count = entry.count.saturating_add(1);
        entry.reasons.count(o.reason);
        let measured = match distinct {
            None => entry.count,
            Some(value) => {
                if let Some(v) = value {
                    entry.distinct.add(v);
                }
                entry.distinct.len() as u32
            }
        };
        let threshold = self.options.threshold(signal);
        if !entry.fired && measured >= threshold {
            entry.fired = true;
            let event = AnomalyEvent {
                at: o.at,
                signal,
                key_kind: kind,
                key: key.to_owned(),
                window_secs: self.options.window.as_secs(),
                count: u64::from(measured),
                threshold: u64::from(threshold),
                reasons: entry
                    .reasons
                    .iter()
                    .map(|(c, n)| (c, u64::from(n)))
                    .collect(),
            };
            tracing::warn!(
                signal = signal.as_str(),
                key_kind = ?kind,
                key = &*crate::escape_control(&event.key),
                count = event.count,
                threshold = event.threshold,
                window_secs = event.window_secs,
                "anomaly threshold crossed"
            );
            events.push(event);
        }
    }
}

impl Shard {
    /// Puts a new entry in: in the slot of a colliding hash, in a free slot,
    /// or in place of the sampled entry with the lowest count. Returns its slot.
    fn place(&mut self, collided: Option<usize>, entry: Entry, now: u64, window_ms: u64) -> usize {
        let hash = entry.hash;
        let i = if let Some(i) = collided {
            // The same hash with another signal or key kind (a 2^-64 chance
            // under the secret hash key): the newer one takes the slot.
            i
        } else if self.slots.len() < self.capacity {
            self.slots.push(entry);
            self.index.insert(hash, self.slots.len() - 1);
            return self.slots.len() - 1;
        } else {
            let victim = self.victim(now, window_ms);
            let old = self.slots[victim].hash;
            self.index.remove(&old);
            victim
        };
        self.slots[i] = entry;
        self.index.insert(hash, i);
        i
    }

    /// The slot to reuse in a full shard: among the next `EVICTION_SAMPLE`
    /// slots from the hand, the first whose window is over, else the lowest
    /// count (fired entries last; the oldest window on a tie).
    fn victim(&mut self, now: u64, window_ms: u64) -> usize {
        let n = self.slots.len();
        let mut best = self.hand % n;
        let mut best_rank = (true, u32::MAX, u64::MAX);
        for step in 0..EVICTION_SAMPLE.min(n) {
            let i = (self.hand + step) % n;
            let e = &self.slots[i];
            if now >= e.window_start.saturating_add(window_ms) {
                best = i;
                break;
            }
            let rank = (e.fired, e.count, e.window_start);
            if rank < best_rank {
                best_rank = rank;
                best = i;
            }
        }
        self.hand = (best + 1) % n;
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::EventReason;
    use std::collections::BTreeMap;
    use std::net::IpAddr;
    use std::time::{Duration, SystemTime};

    #[test]
    fn an_entry_is_as_small_as_the_module_docs_say() {
        // "about 130 bytes, 650 with 64 distinct values"
        let inline = std::mem::size_of::<Entry>();
        assert!(inline <= 136, "{inline}");
        assert!(inline + MAX_DISTINCT * 8 <= 650);
    }

    /// The time of an observation, in milliseconds since the epoch.
    fn at_ms(ms: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_millis(ms)
    }

    const T0: u64 = 1_795_925_106_000;

    fn options() -> AnomalyOptions {
        AnomalyOptions {
            window: Duration::from_secs(10),
            expired_retries: 3,
            bad_signatures: 3,
            unknown_kids: 3,
            scope_probing_routes: 3,
            jti_addrs: 2,
            ..AnomalyOptions::default()
        }
    }

    fn ip(s: &str) -> Option<IpAddr> {
        s.parse().ok()
    }

    #[test]
    fn a_client_chosen_key_cannot_forge_a_log_line() {
        let d = AnomalyDetector::new(options());
        let sub = "alice\nWARN anomaly threshold crossed key=bob\u{1b}[2J";
        let mut fired = Vec::new();
        let logs = crate::escape::capture::logs(|| {
            for ms in 0..3 {
                fired.extend(d.observe(
                    &Observation::new(Reason::TokenExpired, at_ms(T0 + ms)).sub(Some(sub)),
                ));
            }
        });
        assert!(fired.iter().any(|e| e.key == sub), "{fired:?}");
        crate::escape::capture::assert_no_forged_line(&logs, fired.len());
        assert!(logs.contains(r"key=alice\nWARN anomaly"), "{logs}");
    }

    #[test]
    fn a_threshold_fires_once_per_window_and_again_in_the_next() {
        let d = AnomalyDetector::new(options());
        let fire = |ms: u64| {
            d.observe(
                &Observation::new(Reason::TokenExpired, at_ms(ms))
                    .consumer(Some("web"))
                    .sub(Some("alice"))
                    .client_addr(ip("192.0.2.1")),
            )
        };
        assert!(fire(T0).is_empty());
        assert!(fire(T0 + 100).is_empty());
        let events = fire(T0 + 200);
        // One event per key: consumer, sub and address each crossed.
        assert_eq!(events.len(), 3, "{events:?}");
        let kinds: Vec<KeyKind> = events.iter().map(|e| e.key_kind).collect();
        assert_eq!(
            kinds,
            [KeyKind::Consumer, KeyKind::Sub, KeyKind::ClientAddr]
        );
        let e = &events[0];
        assert_eq!(e.signal, Signal::ExpiredRetries);
        assert_eq!((e.count, e.threshold, e.window_secs), (3, 3, 10));
        assert_eq!(e.reasons, BTreeMap::from([("token_expired", 3)]));
        // Never again in this window, however many more.
        for k in 0..50 {
            assert!(fire(T0 + 300 + k).is_empty());
        }
        // A new window counts from zero and fires again.
        assert!(fire(T0 + 10_200).is_empty());
        assert!(fire(T0 + 10_300).is_empty());
        assert_eq!(fire(T0 + 10_400).len(), 3);
    }

    #[test]
    fn scope_probing_counts_distinct_routes() {
        let d = AnomalyDetector::new(options());
        let probe = |route: &str, ms: u64| {
            d.observe(
                &Observation::new(Reason::ScopeInsufficient, at_ms(ms))
                    .consumer(Some("mobile"))
                    .route(Some(route)),
            )
        };
        // The same route again and again is not probing.
        for k in 0..20 {
            assert!(probe("GET /a", T0 + k).is_empty());
        }
        assert!(probe("GET /b", T0 + 30).is_empty());
        let events = probe("GET /c", T0 + 40);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].signal, Signal::ScopeProbing);
        assert_eq!(events[0].count, 3, "distinct routes");
        assert_eq!(events[0].reasons["scope_insufficient"], 22);
        let json = serde_json::to_value(&events[0]).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"signal": "scope_probing", "key_kind": "consumer", "key": "mobile",
                "window_secs": 10, "count": 3, "threshold": 3,
                "reasons": {"scope_insufficient": 22}})
        );
    }

    #[test]
    fn one_jti_from_several_addresses_is_flagged() {
        let d = AnomalyDetector::new(options());
        let seen = |addr: &str, reason: EventReason, ms: u64| {
            d.observe(
                &Observation::new(reason, at_ms(ms))
                    .jti(Some("j-1"))
                    .client_addr(ip(addr)),
            )
        };
        assert!(seen("198.51.100.1", EventReason::Allowed, T0).is_empty());
        assert!(seen("198.51.100.1", EventReason::Allowed, T0 + 1).is_empty());
        let events = seen("2001:db8::1", EventReason::Allowed, T0 + 2);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].signal, Signal::JtiMultiAddr);
        assert_eq!(
            (events[0].key_kind, events[0].key.as_str()),
            (KeyKind::Jti, "j-1")
        );
        assert_eq!(events[0].count, 2);
        assert_eq!(events[0].reasons["allowed"], 3);
    }

    #[test]
    fn signals_count_apart_and_a_zero_threshold_is_off() {
        let d = AnomalyDetector::new(AnomalyOptions {
            bad_signatures: 0,
            ..options()
        });
        for k in 0..10 {
            let o = Observation::new(Reason::SignatureInvalid, at_ms(T0 + k))
                .client_addr(ip("192.0.2.7"));
            assert!(d.observe(&o).is_empty());
            let o =
                Observation::new(EventReason::Allowed, at_ms(T0 + k)).client_addr(ip("192.0.2.7"));
            assert!(d.observe(&o).is_empty());
        }
        assert_eq!(d.entries(), 0);
        let kid =
            |k| Observation::new(Reason::KidUnknown, at_ms(T0 + k)).client_addr(ip("192.0.2.7"));
        assert!(d.observe(&kid(0)).is_empty());
        let exp = Observation::new(Reason::TokenExpired, at_ms(T0)).client_addr(ip("192.0.2.7"));
        assert!(d.observe(&exp).is_empty());
        assert!(d.observe(&kid(1)).is_empty());
        assert_eq!(d.observe(&kid(2))[0].signal, Signal::UnknownKids);
    }

    #[test]
    fn a_flood_of_distinct_keys_stays_within_the_bound_and_keeps_the_hot_key() {
        let max_keys = 4096;
        let d = AnomalyDetector::new(AnomalyOptions {
            max_keys,
            bad_signatures: 50,
            ..options()
        });
        let hot = |k: u64| {
            d.observe(
                &Observation::new(Reason::SignatureInvalid, at_ms(T0 + k))
                    .client_addr(ip("192.0.2.200")),
            )
        };
        assert!(hot(0).is_empty());
        assert!(hot(1).is_empty());
        let mut fired = Vec::new();
        for i in 0..100_000u32 {
            let flood = format!("flood-{i}");
            let o = Observation::new(Reason::SignatureInvalid, at_ms(T0 + 2))
                .sub(Some(&flood))
                .consumer(Some(&flood));
            assert!(d.observe(&o).is_empty());
            if i % 2000 == 0 {
                fired.extend(hot(3));
            }
            assert!(d.entries() <= max_keys);
        }
        assert!(d.entries() <= max_keys);
        // The hot key kept its count through the flood and fired once.
        assert_eq!(fired.len(), 1, "{fired:?}");
        assert_eq!(fired[0].key, "192.0.2.200");
        assert_eq!(fired[0].count, 50);
    }

    #[test]
    fn long_keys_are_truncated_on_a_character_boundary() {
        let d = AnomalyDetector::new(AnomalyOptions {
            bad_signatures: 1,
            ..options()
        });
        let long = "é".repeat(200);
        let events =
            d.observe(&Observation::new(Reason::SignatureInvalid, at_ms(T0)).sub(Some(&long)));
        assert_eq!(events[0].key.len(), MAX_KEY_BYTES);
        assert!(events[0].key.chars().all(|c| c == 'é'));
    }

    #[test]
    fn many_threads_count_exactly_once() {
        let d = AnomalyDetector::new(AnomalyOptions {
            unknown_kids: 400,
            ..options()
        });
        let fired = std::sync::atomic::AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for k in 0..250 {
                        let o =
                            Observation::new(Reason::KidUnknown, at_ms(T0 + k)).consumer(Some("c"));
                        fired.fetch_add(d.observe(&o).len(), std::sync::atomic::Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(fired.into_inner(), 1);
    }
}
