//! Anomaly signals: counters of failures per consumer, subject and client
//! address that flag bursts worth a look.
//!
//! An [`AnomalyDetector`] is fed one [`Observation`] per decision (the audit
//! layer does it) and counts, per key, within a window:
//!
//! | signal | counts | keys |
//! |---|---|---|
//! | `expired_retries` | `token_expired` refusals | consumer, sub, client address |
//! | `bad_signatures` | `signature_invalid` refusals | consumer, sub, client address |
//! | `unknown_kids` | `kid_unknown` refusals | consumer, sub, client address |
//! | `scope_probing` | **distinct routes** refused with `scope_insufficient` or `scope_beyond_stage` | consumer, sub, client address |
//! | `jti_multi_addr` | **distinct client addresses** presenting the same `jti` (any outcome) | jti |
//!
//! When a key's count reaches the signal's threshold, [`observe`](AnomalyDetector::observe)
//! returns one [`AnomalyEvent`] for it, and no other for that key until its
//! window ends. A window opens at a key's first counted event and lasts
//! [`AnomalyOptions::window`]; the next event after it opens a new one.
//!
//! # Memory
//!
//! At most [`AnomalyOptions::max_keys`] keys are tracked (16 384 by default),
//! split over 16 shards, each behind its own mutex. A key is kept as its
//! keyed 64-bit hash (an event names the key of the observation that fired
//! it, truncated to [`MAX_KEY_BYTES`]), with at most [`MAX_DISTINCT`]
//! distinct values and [`MAX_REASONS`] reason counters held inline, so an
//! entry is about 130 bytes, 650 with 64 distinct values (the allocator's
//! share aside): the default bound is about 11 MiB at worst, 2 MiB typically.
//! A new key allocates nothing. When a shard is full, the new key replaces the entry with
//! the lowest count among the next [`EVICTION_SAMPLE`] slots (an entry whose
//! window is over goes first): a flood of distinct one-shot keys evicts its own
//! members, which all have a count of 1, never a key that is hot (counted
//! twice or more) or has already fired.

use crate::reason::{EventReason, Reason};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime};

mod addr;
mod detector;

pub use addr::{ProxyRangeError, TrustedProxies, address_key};
pub use detector::AnomalyDetector;

/// The longest key kept, in bytes; longer keys are truncated (on a character
/// boundary) before they are counted.
pub const MAX_KEY_BYTES: usize = 128;

/// The most distinct routes or addresses remembered per key and window.
pub const MAX_DISTINCT: usize = 64;

/// The most reason codes counted per key and window (others are not itemised).
pub const MAX_REASONS: usize = 8;

/// How many slots a full shard looks at to choose what to evict.
pub const EVICTION_SAMPLE: usize = 8;

/// How many shards (each with its own mutex) the keys are spread over.
const SHARDS: usize = 16;

/// A kind of anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Signal {
    /// Repeated `token_expired` refusals: a client retrying a dead token.
    ExpiredRetries,
    /// Repeated `signature_invalid` refusals: forged or tampered tokens.
    BadSignatures,
    /// Repeated `kid_unknown` refusals: tokens of keys never published.
    UnknownKids,
    /// Insufficient-scope refusals on many distinct routes: probing.
    ScopeProbing,
    /// One `jti` presented from several client addresses: a copied token.
    JtiMultiAddr,
}

impl Reason {
    /// The anomaly signal a refusal with this reason counts towards, if any:
    /// expired tokens, bad signatures, unknown `kid`s, and scope probing.
    ///
    /// ```
    /// use rampgate_core::Reason;
    /// use rampgate_core::anomaly::Signal;
    ///
    /// assert_eq!(Reason::TokenExpired.signal(), Some(Signal::ExpiredRetries));
    /// assert_eq!(Reason::ScopeBeyondStage.signal(), Some(Signal::ScopeProbing));
    /// assert_eq!(Reason::AudienceMismatch.signal(), None);
    /// ```
    pub const fn signal(self) -> Option<Signal> {
        match self {
            Reason::TokenExpired => Some(Signal::ExpiredRetries),
            Reason::SignatureInvalid => Some(Signal::BadSignatures),
            Reason::KidUnknown => Some(Signal::UnknownKids),
            Reason::ScopeInsufficient | Reason::ScopeBeyondStage => Some(Signal::ScopeProbing),
            _ => None,
        }
    }
}

impl Signal {
    /// The stable name, as in the `anomaly` audit event.
    pub const fn as_str(self) -> &'static str {
        match self {
            Signal::ExpiredRetries => "expired_retries",
            Signal::BadSignatures => "bad_signatures",
            Signal::UnknownKids => "unknown_kids",
            Signal::ScopeProbing => "scope_probing",
            Signal::JtiMultiAddr => "jti_multi_addr",
        }
    }
}

/// What an anomaly's key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum KeyKind {
    /// The contract consumer (or `client_id`).
    Consumer,
    /// The token's subject.
    Sub,
    /// The client's IP address.
    ClientAddr,
    /// The token's `jti`.
    Jti,
}

/// Thresholds, window and memory bound of an [`AnomalyDetector`].
///
/// A threshold of 0 turns its signal off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnomalyOptions {
    /// How long a window lasts. Defaults to 60 s.
    pub window: Duration,
    /// The most keys tracked at once, all signals together. Defaults to 16 384.
    pub max_keys: usize,
    /// `token_expired` refusals per key and window. Defaults to 20.
    pub expired_retries: u32,
    /// `signature_invalid` refusals per key and window. Defaults to 5.
    pub bad_signatures: u32,
    /// `kid_unknown` refusals per key and window. Defaults to 10.
    pub unknown_kids: u32,
    /// Distinct routes refused for scope per key and window. Defaults to 5.
    pub scope_probing_routes: u32,
    /// Distinct client addresses per `jti` and window. Defaults to 3.
    pub jti_addrs: u32,
}

impl Default for AnomalyOptions {
    fn default() -> Self {
        AnomalyOptions {
            window: Duration::from_secs(60),
            max_keys: 16_384,
            expired_retries: 20,
            bad_signatures: 5,
            unknown_kids: 10,
            scope_probing_routes: 5,
            jti_addrs: 3,
        }
    }
}

impl AnomalyOptions {
    /// The threshold of `signal`.
    pub fn threshold(&self, signal: Signal) -> u32 {
        match signal {
            Signal::ExpiredRetries => self.expired_retries,
            Signal::BadSignatures => self.bad_signatures,
            Signal::UnknownKids => self.unknown_kids,
            Signal::ScopeProbing => self.scope_probing_routes,
            Signal::JtiMultiAddr => self.jti_addrs,
        }
    }
}

/// One decision, as the detector sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Observation<'a> {
    /// The decision's reason (`allowed`, `token_expired`, …).
    pub reason: EventReason,
    /// The contract consumer, else the token's `client_id`.
    pub consumer: Option<&'a str>,
    /// The token's subject.
    pub sub: Option<&'a str>,
    /// The client's IP address (without the port).
    pub client_addr: Option<IpAddr>,
    /// The token's `jti`.
    pub jti: Option<&'a str>,
    /// The matched route (`GET /payments/{id}`).
    pub route: Option<&'a str>,
    /// When the decision was made.
    pub at: SystemTime,
}

impl<'a> Observation<'a> {
    /// A decision with `reason` (a [`Reason`], a
    /// [`DecisionReason`](crate::DecisionReason) or an [`EventReason`]), at
    /// `at`; set the rest with the builder methods.
    pub fn new(reason: impl Into<EventReason>, at: SystemTime) -> Self {
        Observation {
            reason: reason.into(),
            consumer: None,
            sub: None,
            client_addr: None,
            jti: None,
            route: None,
            at,
        }
    }

    /// Sets the consumer.
    pub fn consumer(mut self, consumer: Option<&'a str>) -> Self {
        self.consumer = consumer;
        self
    }

    /// Sets the subject.
    #[allow(clippy::should_implement_trait)] // named after the claim, not arithmetic
    pub fn sub(mut self, sub: Option<&'a str>) -> Self {
        self.sub = sub;
        self
    }

    /// Sets the client address.
    pub fn client_addr(mut self, addr: Option<IpAddr>) -> Self {
        self.client_addr = addr;
        self
    }

    /// Sets the `jti`.
    pub fn jti(mut self, jti: Option<&'a str>) -> Self {
        self.jti = jti;
        self
    }

    /// Sets the route.
    pub fn route(mut self, route: Option<&'a str>) -> Self {
        self.route = route;
        self
    }
}

/// A threshold crossed: the `anomaly` audit event.
///
/// Serialises to the type-specific fields of the audit schema (`signal`,
/// `key_kind`, `key`, `window_secs`, `count`, `threshold`, `reasons`); the
/// sink adds `v`, `type` and `ts` (from [`at`](AnomalyEvent::at)).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct AnomalyEvent {
    /// When the threshold was crossed (the observation's time).
    #[serde(skip)]
    pub at: SystemTime,
    /// Which signal.
    pub signal: Signal,
    /// What the key is.
    pub key_kind: KeyKind,
    /// The consumer, subject, address or `jti` (at most [`MAX_KEY_BYTES`]).
    pub key: String,
    /// The window's length, in seconds.
    pub window_secs: u64,
    /// The count that crossed the threshold: refusals, or for
    /// `scope_probing` and `jti_multi_addr` distinct routes or addresses.
    pub count: u64,
    /// The threshold crossed.
    pub threshold: u64,
    /// The reason codes counted in the window, with their counts.
    pub reasons: BTreeMap<&'static str, u64>,
}
