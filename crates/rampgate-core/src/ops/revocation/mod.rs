//! Revocation: tokens refused although their signature and claims verify.
//!
//! A [`RevocationList`] names tokens by their `jti` (kept until the token's
//! `exp`, then dropped), every token of a subject or of a consumer issued
//! before a cut-off (compared with the token's `iat`; a token without `iat` is
//! treated as issued before), and every token a key signed (`kid`, scoped by
//! issuer). The [`Verifier`](crate::Verifier) consults it on every request
//! after the signature verified, cache hits included
//! ([`VerifierBuilder::revocations`](crate::VerifierBuilder::revocations)).
//!
//! Lookups take no lock: the list is an immutable snapshot behind an
//! [`ArcSwap`], replaced as a whole by each change (changes are rare and
//! serialised by a mutex that lookups never touch). An empty list costs a
//! lookup one atomic load.
//!
//! [`RevocationStore`] is the trait the verifier consults, so that a shared
//! store (a database, a cache cluster) can stand in for the in-memory list.

use crate::reason::RevokedBy;
use crate::time::format_rfc3339;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

mod list;
#[cfg(feature = "redis")]
mod redis;
mod snapshot;

pub use list::RevocationList;
#[cfg(feature = "redis")]
pub use redis::{
    RedisRevocationStore, RedisRevocations, RedisStoreError, RedisStoreOptions, StalePolicy,
};

/// What the verifier knows of a verified token, for a revocation lookup.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct RevocationCheck<'a> {
    /// The token's issuer (`iss`), as configured.
    pub iss: &'a str,
    /// The `kid` of the key that verified the signature.
    pub kid: Option<&'a str>,
    /// The token's `jti`.
    pub jti: Option<&'a str>,
    /// The token's `sub`.
    pub sub: Option<&'a str>,
    /// The token's `client_id` (or `azp`).
    pub client_id: Option<&'a str>,
    /// The token's `iat`, in seconds since the epoch.
    pub iat: Option<f64>,
}

impl<'a> RevocationCheck<'a> {
    /// A lookup for a token of `iss` with nothing else known; set the other
    /// fields with the builder methods.
    pub fn new(iss: &'a str) -> Self {
        RevocationCheck {
            iss,
            kid: None,
            jti: None,
            sub: None,
            client_id: None,
            iat: None,
        }
    }

    /// Sets the `kid`.
    pub fn kid(mut self, kid: Option<&'a str>) -> Self {
        self.kid = kid;
        self
    }

    /// Sets the `jti`.
    pub fn jti(mut self, jti: Option<&'a str>) -> Self {
        self.jti = jti;
        self
    }

    /// Sets the `sub`.
    #[allow(clippy::should_implement_trait)] // named after the claim, not arithmetic
    pub fn sub(mut self, sub: Option<&'a str>) -> Self {
        self.sub = sub;
        self
    }

    /// Sets the `client_id`.
    pub fn client_id(mut self, client_id: Option<&'a str>) -> Self {
        self.client_id = client_id;
        self
    }

    /// Sets the `iat` (seconds since the epoch).
    pub fn iat(mut self, iat: Option<f64>) -> Self {
        self.iat = iat;
        self
    }
}

/// One revocation: what it names, and for how long it holds.
///
/// ```
/// use rampgate_core::{Revocation, RevokedBy};
/// use std::time::{Duration, SystemTime};
///
/// let now = SystemTime::now();
/// let one = Revocation::jti("a1b2c3").until(now + Duration::from_secs(300));
/// let alice = Revocation::subject("alice", now).issuer("https://issuer.example");
/// let key = Revocation::kid("https://issuer.example", "2024-key");
/// assert_eq!(key.by, RevokedBy::Kid);
/// # let _ = (one, alice);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Revocation {
    /// What kind of value it names.
    pub by: RevokedBy,
    /// The `jti`, `sub`, `client_id` or `kid`.
    pub value: String,
    /// The issuer it is limited to: required for a `kid`; optional for a
    /// subject or consumer (any issuer when `None`); ignored for a `jti`,
    /// which RFC 7519 §4.1.7 makes unique across issuers.
    pub iss: Option<String>,
    /// For a subject or consumer: tokens with an `iat` before this instant
    /// (or without `iat`) are refused. Defaults to the moment of revocation.
    pub issued_before: Option<SystemTime>,
    /// When the revocation lapses and is dropped. For a `jti`: the token's
    /// `exp` (a list's [`max_jti_lifetime`](RevocationList::with_max_jti_lifetime)
    /// from now when not given). `None` for the others: until un-revoked.
    pub until: Option<SystemTime>,
}

impl Revocation {
    /// Revokes one token by its `jti`. Set [`until`](Revocation::until) to
    /// the token's `exp` when it is known.
    pub fn jti(jti: impl Into<String>) -> Self {
        Revocation::new(RevokedBy::Jti, jti)
    }

    /// Revokes every token of subject `sub` issued before `issued_before`.
    pub fn subject(sub: impl Into<String>, issued_before: SystemTime) -> Self {
        Revocation {
            issued_before: Some(issued_before),
            ..Revocation::new(RevokedBy::Sub, sub)
        }
    }

    /// Revokes every token of consumer `client_id` (the `client_id` or `azp`
    /// claim) issued before `issued_before`.
    pub fn consumer(client_id: impl Into<String>, issued_before: SystemTime) -> Self {
        Revocation {
            issued_before: Some(issued_before),
            ..Revocation::new(RevokedBy::Consumer, client_id)
        }
    }

    /// Revokes every token signed by the key `kid` of issuer `iss`, even while
    /// the issuer still publishes the key.
    pub fn kid(iss: impl Into<String>, kid: impl Into<String>) -> Self {
        Revocation {
            iss: Some(iss.into()),
            ..Revocation::new(RevokedBy::Kid, kid)
        }
    }

    /// A revocation of `value` of kind `by`, with no issuer, cut-off or expiry.
    pub fn new(by: RevokedBy, value: impl Into<String>) -> Self {
        Revocation {
            by,
            value: value.into(),
            iss: None,
            issued_before: None,
            until: None,
        }
    }

    /// Limits the revocation to the tokens of issuer `iss`.
    pub fn issuer(mut self, iss: impl Into<String>) -> Self {
        self.iss = Some(iss.into());
        self
    }

    /// Drops the revocation at `until` (for a `jti`: the token's `exp`).
    pub fn until(mut self, until: SystemTime) -> Self {
        self.until = Some(until);
        self
    }
}

impl serde::Serialize for Revocation {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Revocation", 5)?;
        st.serialize_field("by", &self.by)?;
        st.serialize_field("value", &self.value)?;
        st.serialize_field("iss", &self.iss)?;
        st.serialize_field("issued_before", &self.issued_before.map(format_rfc3339))?;
        st.serialize_field("until", &self.until.map(format_rfc3339))?;
        st.end()
    }
}

/// Whether a [`RevocationEvent`] records a revocation or its removal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RevocationAction {
    /// A revocation was added (or replaced).
    Revoke,
    /// A revocation was removed.
    Unrevoke,
}

/// One change of a revocation list: the `revocation` audit event.
///
/// It serialises to the type-specific fields of the audit schema (`action`,
/// `by`, `value`, `issued_before`, `until`, `actor`, and `iss` when the
/// revocation is limited to an issuer); the audit sink adds `v`, `type` and
/// `ts` (from [`at`](RevocationEvent::at)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RevocationEvent {
    /// When the change was made (the list's clock).
    pub at: SystemTime,
    /// Revoke or un-revoke.
    pub action: RevocationAction,
    /// The revocation added or removed.
    pub revocation: Revocation,
    /// Who made the change (for the admin router: the token's `sub`, else its
    /// `client_id`), when known.
    pub actor: Option<String>,
}

impl serde::Serialize for RevocationEvent {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let r = &self.revocation;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("action", &self.action)?;
        m.serialize_entry("by", &r.by)?;
        m.serialize_entry("value", &r.value)?;
        m.serialize_entry("issued_before", &r.issued_before.map(format_rfc3339))?;
        m.serialize_entry("until", &r.until.map(format_rfc3339))?;
        m.serialize_entry("actor", &self.actor)?;
        if let Some(iss) = &r.iss {
            m.serialize_entry("iss", iss)?;
        }
        m.end()
    }
}

/// Called with every change of a [`RevocationList`]: connect it to the audit
/// sink. Called while the change is being made, so keep it short (queue the
/// event rather than write it).
pub type RevocationObserver = Arc<dyn Fn(&RevocationEvent) + Send + Sync>;

/// The clock of a [`RevocationList`]: when `jti` entries lapse, and the
/// default cut-off of a subject or consumer revocation.
pub type RevocationClock = Arc<dyn Fn() -> SystemTime + Send + Sync>;

/// Why a revocation could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RevocationError {
    /// The revocation is malformed; the message says what to fix.
    #[error("invalid revocation: {0}")]
    Invalid(String),
    /// The store behind the list failed (for a shared store).
    #[error("revocation store: {0}")]
    Store(String),
}

/// Where the verifier looks revocations up, and where the admin router
/// changes them. [`RevocationList`] is the in-memory implementation; a shared
/// store (so that every replica refuses a token at once) implements this.
///
/// [`check`](RevocationStore::check) runs on every verified request: it must
/// not block (no I/O; keep a local copy and refresh it in the background).
pub trait RevocationStore: Send + Sync + fmt::Debug + 'static {
    /// What, if anything, revokes this token.
    fn check(&self, token: &RevocationCheck<'_>) -> Option<RevokedBy>;

    /// Adds `revocation` (replacing one of the same kind, value and issuer),
    /// recording `actor`. Returns it as stored (with its defaults filled in).
    fn revoke(
        &self,
        revocation: Revocation,
        actor: Option<&str>,
    ) -> Result<Revocation, RevocationError>;

    /// Removes the revocation of `value` of kind `by` for issuer `iss` (`None`:
    /// the one for any issuer). Returns it, or `None` when there was none.
    fn unrevoke(
        &self,
        by: RevokedBy,
        value: &str,
        iss: Option<&str>,
        actor: Option<&str>,
    ) -> Result<Option<Revocation>, RevocationError>;

    /// Every revocation in force, ordered by kind, value and issuer.
    fn list(&self) -> Vec<Revocation>;

    /// Calls `observer` with every change from now on, replacing an observer
    /// registered before under the same `key` (so that watching twice never
    /// records twice). Returns whether the store reports its changes; the
    /// default reports none.
    fn observe(&self, key: usize, observer: RevocationObserver) -> bool {
        let _ = (key, observer);
        false
    }

    /// Whether [`check`](RevocationStore::check)'s answers may be relied on
    /// now. A shared store that has lost touch with its server for longer
    /// than its `max_stale`, and is set to fail closed, answers `false`: the
    /// verifier then refuses every token with 503 `revocation_unavailable`.
    /// The default (an in-memory list) is always usable.
    fn usable(&self) -> bool {
        true
    }

    /// The store's state for a readiness route (`Verifier::health`), or
    /// `None` for a store with nothing to report (the in-memory list).
    fn health(&self) -> Option<RevocationHealth> {
        None
    }
}

/// The state of a shared revocation store, in [`Health`](crate::Health).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct RevocationHealth {
    /// The kind of store (`"redis"`).
    pub store: &'static str,
    /// Whether the store is in touch with its server now.
    pub connected: bool,
    /// Whether the local mirror was ever synchronised with the server.
    pub synced: bool,
    /// Seconds since the mirror was last known current (0 while connected).
    pub stale_secs: u64,
    /// Whether the verifier may rely on the store now (see
    /// [`RevocationStore::usable`]).
    pub usable: bool,
    /// The revocations held by the local mirror.
    pub entries: usize,
    /// Changes made on this replica that the server refused for good (a
    /// command it can never accept) and that were dropped, since start.
    pub dropped_changes: u64,
    /// Entries under the store's prefix that are not revocations (not
    /// UTF-8, not JSON), skipped at the last resynchronisation.
    pub skipped_entries: u64,
}
