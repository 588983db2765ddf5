//! [`RevocationList`]: the in-memory [`RevocationStore`].

use super::snapshot::{Scoped, Snapshot, from_secs, secs, secs_ceil, secs_floor};
use super::{
    Revocation, RevocationAction, RevocationCheck, RevocationClock, RevocationError,
    RevocationEvent, RevocationObserver, RevocationStore,
};
use crate::escape_control;
use crate::reason::RevokedBy;
use crate::sync::lock;
use crate::time::format_rfc3339;
use arc_swap::ArcSwap;

mod change;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

/// How long a `jti` revocation given no `until` lasts.
const DEFAULT_MAX_JTI_LIFETIME: Duration = Duration::from_secs(24 * 3600);

/// How long past its `until` an entry is kept: the verifier accepts a token
/// up to its leeway (60 s by default) after `exp`.
const DEFAULT_EXPIRY_MARGIN: Duration = Duration::from_secs(300);

/// The most changes of one call logged one by one.
const MAX_LOGGED_CHANGES: usize = 16;

/// The fewest seconds between two purges started by lookups.
const PURGE_INTERVAL_SECS: i64 = 1;

/// The in-memory revocation list: cheap to clone (every clone shares it),
/// effective on the very next lookup after a change.
///
/// ```
/// use rampgate_core::{Revocation, RevocationCheck, RevocationList, RevocationStore, RevokedBy};
/// use std::time::{Duration, SystemTime};
///
/// let list = RevocationList::new();
/// let token = RevocationCheck::new("https://issuer.example").jti(Some("t-1"));
/// assert_eq!(list.check(&token), None);
///
/// let exp = SystemTime::now() + Duration::from_secs(600);
/// list.revoke(Revocation::jti("t-1").until(exp), Some("ops")).unwrap();
/// assert_eq!(list.check(&token), Some(RevokedBy::Jti));
///
/// list.unrevoke(RevokedBy::Jti, "t-1", None, Some("ops")).unwrap();
/// assert_eq!(list.check(&token), None);
/// ```
///
/// # Cost
///
/// A lookup on an empty list is one atomic load. Otherwise it is one
/// lock-free snapshot load and up to four hash lookups (`kid`, `jti`, `sub`,
/// `client_id`); nothing is allocated. A change copies the list (O(n), and
/// twice its memory for a moment): use [`revoke_many`](RevocationList::revoke_many)
/// for many at once. Expired entries are dropped by the next change, by
/// [`purge_expired`](RevocationList::purge_expired), or by the first lookup
/// that finds the earliest expiry passed (at most once a second; other
/// lookups read the old snapshot meanwhile).
#[derive(Clone)]
pub struct RevocationList {
    inner: Arc<Inner>,
}

struct Inner {
    /// Whether the snapshot holds anything: the fast path of a lookup.
    active: AtomicBool,
    snapshot: ArcSwap<Snapshot>,
    /// Serialises changes; lookups never take it.
    writer: Mutex<()>,
    /// Observers, with the key of the ones that replace themselves.
    observers: Mutex<Vec<(Option<usize>, RevocationObserver)>>,
    clock: RevocationClock,
    max_jti_lifetime: Duration,
    expiry_margin: Duration,
    /// Seconds of the last purge a lookup started.
    last_purge: AtomicI64,
}

impl fmt::Debug for RevocationList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationList")
            .field("len", &self.len())
            .finish_non_exhaustive()
    }
}

impl Default for RevocationList {
    fn default() -> Self {
        RevocationList::new()
    }
}

impl RevocationList {
    /// An empty list on the system clock.
    pub fn new() -> Self {
        RevocationList::with_clock(Arc::new(SystemTime::now))
    }

    /// An empty list on `clock` (for tests that move time forward).
    pub fn with_clock(clock: RevocationClock) -> Self {
        RevocationList {
            inner: Arc::new(Inner {
                active: AtomicBool::new(false),
                snapshot: ArcSwap::from_pointee(Snapshot {
                    next_drop: i64::MAX,
                    ..Snapshot::default()
                }),
                writer: Mutex::new(()),
                observers: Mutex::new(Vec::new()),
                clock,
                max_jti_lifetime: DEFAULT_MAX_JTI_LIFETIME,
                expiry_margin: DEFAULT_EXPIRY_MARGIN,
                last_purge: AtomicI64::new(i64::MIN),
            }),
        }
    }

    fn configure(mut self, f: impl FnOnce(&mut Inner)) -> Self {
        match Arc::get_mut(&mut self.inner) {
            Some(inner) => f(inner),
            None => tracing::warn!(
                "RevocationList options must be set before the list is cloned; ignored"
            ),
        }
        self
    }

    /// How long a `jti` revocation given no `until` lasts: the longest
    /// lifetime of the issuers' tokens. Defaults to 24 hours. Set it before
    /// cloning the list.
    #[must_use]
    pub fn with_max_jti_lifetime(self, lifetime: Duration) -> Self {
        self.configure(|i| i.max_jti_lifetime = lifetime)
    }

    /// How long past its `until` an entry is kept, to cover the verifier's
    /// leeway on `exp` (60 s by default). Defaults to 5 minutes. Set it before
    /// cloning the list.
    #[must_use]
    pub fn with_expiry_margin(self, margin: Duration) -> Self {
        self.configure(|i| i.expiry_margin = margin)
    }

    /// Calls `observer` with every change from now on (the `revocation`
    /// audit event).
    pub fn on_change(&self, observer: RevocationObserver) {
        lock(&self.inner.observers).push((None, observer));
    }

    /// The number of revocations held (expired ones not yet dropped included).
    pub fn len(&self) -> usize {
        self.inner.snapshot.load().len()
    }

    /// Whether the list holds nothing.
    pub fn is_empty(&self) -> bool {
        !self.inner.active.load(Ordering::Acquire)
    }

    pub(super) fn now(&self) -> SystemTime {
        (self.inner.clock)()
    }

    /// Drops every entry past its `until` (plus the margin) now, and frees its
    /// memory. Returns how many were dropped.
    pub fn purge_expired(&self) -> usize {
        let _writer = lock(&self.inner.writer);
        self.purge_locked()
    }

    fn purge_locked(&self) -> usize {
        let now = secs_floor(self.now());
        let current = self.inner.snapshot.load_full();
        if current.next_drop > now {
            return 0;
        }
        let mut next = Snapshot::clone(&current);
        let before = next.len();
        next.purge(now);
        let dropped = before - next.len();
        self.publish(next);
        if dropped > 0 {
            tracing::debug!(dropped, "expired revocations dropped");
        }
        dropped
    }

    fn publish(&self, snapshot: Snapshot) {
        let active = snapshot.len() > 0;
        self.inner.snapshot.store(Arc::new(snapshot));
        self.inner.active.store(active, Ordering::Release);
    }

    /// Validates `r` and fills in its defaults.
    pub(super) fn normalise(
        &self,
        mut r: Revocation,
        now: SystemTime,
    ) -> Result<Revocation, RevocationError> {
        let invalid = |m: &str| Err(RevocationError::Invalid(m.to_owned()));
        if r.value.is_empty() {
            return invalid("the value must not be empty");
        }
        if r.iss.as_deref() == Some("") {
            return invalid("the issuer must not be empty when given");
        }
        match r.by {
            RevokedBy::Jti => {
                if r.issued_before.is_some() {
                    return invalid(
                        "issued_before applies to sub and consumer revocations, not jti",
                    );
                }
                // A jti is unique across issuers (RFC 7519 §4.1.7).
                r.iss = None;
                // Whole seconds, as `exp` is.
                let until = r.until.unwrap_or(now + self.inner.max_jti_lifetime);
                r.until = Some(from_secs(secs_ceil(until)));
            }
            RevokedBy::Sub | RevokedBy::Consumer => {
                r.issued_before = Some(r.issued_before.unwrap_or(now));
            }
            RevokedBy::Kid => {
                if r.iss.is_none() {
                    return invalid("a kid revocation needs the issuer (iss) whose key it is");
                }
                if r.issued_before.is_some() {
                    return invalid(
                        "issued_before applies to sub and consumer revocations, not kid",
                    );
                }
            }
        }
        if r.until.is_some_and(|u| u <= now) {
            return invalid("until is in the past");
        }
        Ok(r)
    }

    fn notify(
        &self,
        action: RevocationAction,
        revocation: &Revocation,
        actor: Option<&str>,
        at: SystemTime,
        log: bool,
    ) {
        let actor = actor.map(str::to_owned);
        if log {
            tracing::info!(
                action = ?action,
                by = %revocation.by,
                value = &*escape_control(&revocation.value),
                iss = revocation.iss.as_deref().map(escape_control).as_deref(),
                issued_before = revocation.issued_before.map(format_rfc3339),
                until = revocation.until.map(format_rfc3339),
                actor = actor.as_deref().map(escape_control).as_deref(),
                "revocation list changed"
            );
        }
        let observers = lock(&self.inner.observers).clone();
        if observers.is_empty() {
            return;
        }
        let event = RevocationEvent {
            at,
            action,
            revocation: revocation.clone(),
            actor,
        };
        for (_, observer) in &observers {
            observer(&event);
        }
    }

    /// Adds every revocation of `revocations` in one change (one copy of the
    /// list), recording `actor`: for a mass revocation. Nothing is added
    /// when one of them is invalid.
    pub fn revoke_many(
        &self,
        revocations: impl IntoIterator<Item = Revocation>,
        actor: Option<&str>,
    ) -> Result<Vec<Revocation>, RevocationError> {
        let now = self.now();
        let revocations = revocations
            .into_iter()
            .map(|r| self.normalise(r, now))
            .collect::<Result<Vec<_>, _>>()?;
        self.apply(&revocations, actor, now, true);
        Ok(revocations)
    }

    /// The lookup of [`RevocationStore::check`], with the purge a passed
    /// expiry calls for.
    fn lookup(&self, t: &RevocationCheck<'_>) -> Option<RevokedBy> {
        if !self.inner.active.load(Ordering::Acquire) {
            return None;
        }
        let snapshot = self.inner.snapshot.load();
        let now = secs(self.now());
        if now as i64 >= snapshot.next_drop {
            self.purge_soon(now as i64);
        }
        let scoped_hit = |map: &HashMap<Arc<str>, Vec<Scoped>>, value: Option<&str>, kid: bool| {
            let Some(entries) = value.and_then(|v| map.get(v)) else {
                return false;
            };
            entries.iter().any(|e| {
                e.iss.as_deref().is_none_or(|iss| iss == t.iss)
                    && e.until.is_none_or(|u| now < secs(u))
                    // A token without iat may be older than any cut-off.
                    && (kid || t.iat.is_none_or(|iat| iat < e.before))
            })
        };
        if scoped_hit(&snapshot.kid, t.kid, true) {
            return Some(RevokedBy::Kid);
        }
        if let Some(e) = t.jti.and_then(|j| snapshot.jti.get(j))
            && now < e.drop_at as f64
        {
            // Kept past `until` by the margin, so a token accepted within the
            // verifier's leeway after its exp is still refused.
            return Some(RevokedBy::Jti);
        }
        if scoped_hit(&snapshot.sub, t.sub, false) {
            return Some(RevokedBy::Sub);
        }
        if scoped_hit(&snapshot.consumer, t.client_id, false) {
            return Some(RevokedBy::Consumer);
        }
        None
    }

    /// Purges on a lookup's behalf, unless another purge or change is under
    /// way or one was started less than a second ago: never waits.
    fn purge_soon(&self, now: i64) {
        let last = self.inner.last_purge.load(Ordering::Relaxed);
        if now.saturating_sub(last) < PURGE_INTERVAL_SECS
            || self
                .inner
                .last_purge
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_err()
        {
            return;
        }
        if let Ok(_writer) = self.inner.writer.try_lock() {
            self.purge_locked();
        }
    }
}

impl RevocationStore for RevocationList {
    fn observe(&self, key: usize, observer: RevocationObserver) -> bool {
        let mut observers = lock(&self.inner.observers);
        match observers.iter_mut().find(|(k, _)| *k == Some(key)) {
            Some(slot) => slot.1 = observer,
            None => observers.push((Some(key), observer)),
        }
        true
    }

    fn check(&self, token: &RevocationCheck<'_>) -> Option<RevokedBy> {
        self.lookup(token)
    }

    fn revoke(
        &self,
        revocation: Revocation,
        actor: Option<&str>,
    ) -> Result<Revocation, RevocationError> {
        let mut stored = self.revoke_many([revocation], actor)?;
        stored
            .pop()
            .ok_or_else(|| RevocationError::Store("nothing was stored".to_owned()))
    }

    fn unrevoke(
        &self,
        by: RevokedBy,
        value: &str,
        iss: Option<&str>,
        actor: Option<&str>,
    ) -> Result<Option<Revocation>, RevocationError> {
        Ok(self.remove(by, value, iss, actor, true))
    }

    fn list(&self) -> Vec<Revocation> {
        self.list_all()
    }
}

impl RevocationList {
    /// Every revocation held, ordered by kind, value and issuer.
    pub(super) fn list_all(&self) -> Vec<Revocation> {
        let snapshot = self.inner.snapshot.load();
        let mut out = Vec::with_capacity(snapshot.len());
        for (jti, e) in &snapshot.jti {
            out.push(Revocation {
                until: Some(from_secs(e.until)),
                ..Revocation::jti(jti.as_ref())
            });
        }
        for by in [RevokedBy::Sub, RevokedBy::Consumer, RevokedBy::Kid] {
            for (value, entries) in snapshot.scoped(by) {
                for e in entries {
                    out.push(Revocation {
                        iss: e.iss.as_deref().map(str::to_owned),
                        issued_before: e.issued_before,
                        until: e.until,
                        ..Revocation::new(by, value.as_ref())
                    });
                }
            }
        }
        out.sort_by(|a, b| (a.by, &a.value, &a.iss).cmp(&(b.by, &b.value, &b.iss)));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicU64;
    use std::time::UNIX_EPOCH;

    const ISS: &str = "https://issuer.example";

    /// A clock that stands still until moved.
    fn manual_clock(start: SystemTime) -> (RevocationClock, Arc<AtomicU64>) {
        let millis = Arc::new(AtomicU64::new(
            start.duration_since(UNIX_EPOCH).unwrap().as_millis() as u64,
        ));
        let m = Arc::clone(&millis);
        let clock: RevocationClock =
            Arc::new(move || UNIX_EPOCH + Duration::from_millis(m.load(Ordering::SeqCst)));
        (clock, millis)
    }

    fn token<'a>() -> RevocationCheck<'a> {
        RevocationCheck::new(ISS)
            .kid(Some("k1"))
            .jti(Some("j1"))
            .sub(Some("alice"))
            .client_id(Some("web"))
            .iat(Some(secs(SystemTime::now()) - 10.0))
    }

    #[test]
    fn a_logged_revocation_cannot_forge_a_line() {
        let list = RevocationList::new();
        let value = "alice\nINFO revocation list changed value=bob\u{1b}[2J";
        let logs = crate::escape::capture::logs(|| {
            let revocation = Revocation::subject(value, SystemTime::now());
            list.revoke(revocation, Some("ops\r\nroot")).unwrap();
        });
        crate::escape::capture::assert_no_forged_line(&logs, 1);
        assert!(logs.contains(r"value=alice\nINFO"), "{logs}");
        assert!(logs.contains(r"actor=ops\r\nroot"), "{logs}");
    }

    #[test]
    fn an_empty_list_revokes_nothing() {
        let list = RevocationList::new();
        assert!(list.is_empty());
        assert_eq!(list.check(&token()), None);
        assert!(list.list().is_empty());
    }

    #[test]
    fn each_kind_revokes_with_its_own_reason() {
        let list = RevocationList::new();
        let now = SystemTime::now();
        list.revoke(Revocation::consumer("web", now), None).unwrap();
        assert_eq!(list.check(&token()), Some(RevokedBy::Consumer));
        list.revoke(Revocation::subject("alice", now), None)
            .unwrap();
        assert_eq!(list.check(&token()), Some(RevokedBy::Sub));
        list.revoke(Revocation::jti("j1"), None).unwrap();
        assert_eq!(list.check(&token()), Some(RevokedBy::Jti));
        list.revoke(Revocation::kid(ISS, "k1"), None).unwrap();
        assert_eq!(list.check(&token()), Some(RevokedBy::Kid));
        assert_eq!(list.len(), 4);
        let kinds: Vec<RevokedBy> = list.list().iter().map(|r| r.by).collect();
        assert_eq!(kinds, RevokedBy::ALL);
        for by in [RevokedBy::Kid, RevokedBy::Jti, RevokedBy::Sub] {
            let iss = (by == RevokedBy::Kid).then_some(ISS);
            let value = match by {
                RevokedBy::Kid => "k1",
                RevokedBy::Jti => "j1",
                _ => "alice",
            };
            assert!(list.unrevoke(by, value, iss, None).unwrap().is_some());
        }
        assert_eq!(list.check(&token()), Some(RevokedBy::Consumer));
        list.unrevoke(RevokedBy::Consumer, "web", None, None)
            .unwrap();
        assert_eq!(list.check(&token()), None);
        assert!(list.is_empty());
        assert_eq!(list.unrevoke(RevokedBy::Jti, "j1", None, None), Ok(None));
    }

    #[test]
    fn a_cut_off_spares_tokens_issued_after_it_and_refuses_those_without_iat() {
        let list = RevocationList::new();
        let cut = SystemTime::now();
        list.revoke(Revocation::subject("alice", cut), None)
            .unwrap();
        let after = token().iat(Some(secs(cut) + 1.0));
        assert_eq!(list.check(&after), None);
        assert_eq!(list.check(&token().iat(None)), Some(RevokedBy::Sub));
        assert_eq!(list.check(&token().sub(Some("bob"))), None);
    }

    #[test]
    fn issuer_scopes_hold() {
        let list = RevocationList::new();
        list.revoke(Revocation::kid(ISS, "k1"), None).unwrap();
        let other = RevocationCheck::new("https://other.example").kid(Some("k1"));
        assert_eq!(
            list.check(&other),
            None,
            "another issuer's k1 is not revoked"
        );
        list.revoke(
            Revocation::consumer("web", SystemTime::now()).issuer("https://other.example"),
            None,
        )
        .unwrap();
        // This issuer's web tokens are refused only for the kid.
        assert_eq!(list.check(&token().kid(None)), None);
        assert_eq!(list.check(&token()), Some(RevokedBy::Kid));
        assert_eq!(
            list.check(&other.client_id(Some("web"))),
            Some(RevokedBy::Consumer)
        );
        // Un-revoking names the issuer the revocation was for.
        assert_eq!(
            list.unrevoke(RevokedBy::Consumer, "web", None, None),
            Ok(None)
        );
        assert!(
            list.unrevoke(
                RevokedBy::Consumer,
                "web",
                Some("https://other.example"),
                None
            )
            .unwrap()
            .is_some()
        );
    }

    #[test]
    fn bad_revocations_are_refused() {
        let list = RevocationList::new();
        let now = SystemTime::now();
        let cases = [
            Revocation::jti(""),
            Revocation::new(RevokedBy::Kid, "k1"),
            Revocation::jti("j").until(now - Duration::from_secs(1)),
            Revocation {
                issued_before: Some(now),
                ..Revocation::jti("j")
            },
            Revocation::subject("alice", now).issuer(""),
        ];
        for r in cases {
            assert!(
                matches!(
                    list.revoke(r.clone(), None),
                    Err(RevocationError::Invalid(_))
                ),
                "{r:?}"
            );
        }
        assert!(list.is_empty());
    }

    #[test]
    fn jti_entries_lapse_after_exp_and_their_memory_is_dropped() {
        let start = SystemTime::now();
        let (clock, millis) = manual_clock(start);
        let list = RevocationList::with_clock(clock).with_expiry_margin(Duration::from_secs(60));
        let exp = start + Duration::from_secs(300);
        list.revoke(Revocation::jti("j1").until(exp), None).unwrap();
        list.revoke(Revocation::jti("j2"), None).unwrap();
        let default_until = start + DEFAULT_MAX_JTI_LIFETIME;
        assert_eq!(
            list.list()[1].until,
            Some(from_secs(secs_ceil(default_until)))
        );
        // Still refused past exp, within the margin that covers the leeway.
        millis.fetch_add(330_000, Ordering::SeqCst);
        assert_eq!(list.check(&token()), Some(RevokedBy::Jti));
        assert_eq!(list.len(), 2);
        millis.fetch_add(31_000, Ordering::SeqCst);
        // The first lookup past the drop time refuses nothing and purges.
        assert_eq!(list.check(&token()), None);
        assert_eq!(list.len(), 1);
        assert_eq!(list.list()[0].value, "j2");
        millis.fetch_add(
            DEFAULT_MAX_JTI_LIFETIME.as_millis() as u64,
            Ordering::SeqCst,
        );
        assert_eq!(list.purge_expired(), 1);
        assert!(list.is_empty());
    }

    #[test]
    fn cut_offs_with_until_lapse_too() {
        let start = SystemTime::now();
        let (clock, millis) = manual_clock(start);
        let list = RevocationList::with_clock(clock).with_expiry_margin(Duration::ZERO);
        list.revoke(
            Revocation::subject("alice", start).until(start + Duration::from_secs(10)),
            None,
        )
        .unwrap();
        assert_eq!(list.check(&token()), Some(RevokedBy::Sub));
        millis.fetch_add(11_000, Ordering::SeqCst);
        // The lookup past `until` refuses nothing, and drops the entry.
        assert_eq!(list.check(&token()), None);
        assert!(list.is_empty());
        assert_eq!(list.purge_expired(), 0);
    }

    #[test]
    fn every_change_is_an_event_with_the_schema_fields() {
        let list = RevocationList::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        list.on_change(Arc::new(move |e: &RevocationEvent| {
            lock(&s).push(serde_json::to_value(e).unwrap());
        }));
        let cut = UNIX_EPOCH + Duration::from_millis(1_795_925_106_789);
        list.revoke(Revocation::subject("alice", cut), Some("ops"))
            .unwrap();
        list.revoke(Revocation::kid(ISS, "k1"), None).unwrap();
        list.unrevoke(RevokedBy::Sub, "alice", None, Some("ops"))
            .unwrap();
        let seen = lock(&seen).clone();
        assert_eq!(
            seen[0],
            serde_json::json!({"action": "revoke", "by": "sub", "value": "alice",
                "issued_before": "2026-11-29T04:05:06.789Z", "until": null, "actor": "ops"})
        );
        assert_eq!(seen[1]["iss"], ISS);
        assert_eq!(seen[1]["by"], "kid");
        assert_eq!(seen[1]["actor"], serde_json::Value::Null);
        assert_eq!(seen[2]["action"], "unrevoke");
        assert_eq!(seen[2]["issued_before"], "2026-11-29T04:05:06.789Z");
        assert_eq!(seen.len(), 3);
    }

    #[test]
    fn a_million_jti_entries_still_answer_exactly() {
        let list = RevocationList::new();
        let until = SystemTime::now() + Duration::from_secs(3600);
        let n = 1_000_000;
        list.revoke_many(
            (0..n).map(|i| Revocation::jti(format!("jti-{i:08}")).until(until)),
            None,
        )
        .unwrap();
        assert_eq!(list.len(), n);
        for i in (0..n).step_by(997) {
            let jti = format!("jti-{i:08}");
            let t = RevocationCheck::new(ISS).jti(Some(&jti));
            assert_eq!(list.check(&t), Some(RevokedBy::Jti), "{jti}");
        }
        for i in [n, n + 1, 5 * n] {
            let jti = format!("jti-{i:08}");
            assert_eq!(list.check(&RevocationCheck::new(ISS).jti(Some(&jti))), None);
        }
        // One more change on top of a large list.
        list.revoke(Revocation::jti("extra").until(until), None)
            .unwrap();
        assert_eq!(list.len(), n + 1);
        assert_eq!(
            list.check(&RevocationCheck::new(ISS).jti(Some("jti-00000000"))),
            Some(RevokedBy::Jti)
        );
    }

    #[test]
    fn lookups_and_changes_from_many_threads_agree() {
        let list = RevocationList::new();
        std::thread::scope(|s| {
            for t in 0..4 {
                let list = list.clone();
                s.spawn(move || {
                    for i in 0..200 {
                        let jti = format!("t{t}-{i}");
                        list.revoke(Revocation::jti(jti.as_str()), None).unwrap();
                        let check = RevocationCheck::new(ISS).jti(Some(&jti));
                        assert_eq!(list.check(&check), Some(RevokedBy::Jti));
                    }
                });
            }
        });
        assert_eq!(list.len(), 800);
    }
}
