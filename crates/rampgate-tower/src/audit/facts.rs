//! What the layers inside tell the `AuditLayer` about a request's token.

use http::Extensions;
use rampgate_core::audit::{AuditPermit, Auditor, Claimed, TokenFingerprint};
use rampgate_core::{Error, Principal};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// A small shared record the [`AuditLayer`](super::AuditLayer) puts in the
/// request extensions and `JwtLayer` fills in: the token's fingerprint (never
/// the token), the verified principal (one reference count, no copy) and how
/// long verification took. Written once, without locks; read by the audit
/// layer when the answer comes back, even if the request's extensions are
/// gone by then.
#[derive(Debug, Clone, Default)]
pub struct AuditFacts(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    token_fp: OnceLock<TokenFingerprint>,
    principal: OnceLock<Principal>,
    /// What a refused token claimed, unverified.
    claimed: OnceLock<Claimed>,
    /// Microseconds plus one (0: no verification ran).
    verify_us: AtomicU64,
    /// The auditor the event goes to, for a reservation made inside.
    auditor: Option<Auditor>,
    /// The event's reserved place in the auditor's queue, for a fail-closed
    /// route: taken by the audit layer when it records the event.
    permit: Mutex<Option<AuditPermit>>,
}

impl AuditFacts {
    /// The facts of a request an `AuditLayer` recording into `auditor` saw,
    /// with the event's place already reserved (`permit`) or not.
    pub(crate) fn new(auditor: Auditor, permit: Option<AuditPermit>) -> Self {
        AuditFacts(Arc::new(Inner {
            auditor: Some(auditor),
            permit: Mutex::new(permit),
            ..Inner::default()
        }))
    }

    /// Reserves the event's place in the auditor's queue, unless it is
    /// reserved already: `false` when the queue is full (or no auditor), and
    /// the route must then fail closed.
    pub(crate) fn reserve(&self) -> bool {
        let mut permit = self.0.permit.lock().unwrap_or_else(|e| e.into_inner());
        if permit.is_none() {
            *permit = self.0.auditor.as_ref().and_then(Auditor::reserve);
        }
        permit.is_some()
    }

    /// The reserved place, if any, taken to record the event into.
    pub(crate) fn take_permit(&self) -> Option<AuditPermit> {
        self.0
            .permit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
    }

    /// The fingerprint of the request's token, when it had one.
    pub fn token_fp(&self) -> Option<TokenFingerprint> {
        self.0.token_fp.get().copied()
    }

    /// The verified principal, when the token was verified.
    pub fn principal(&self) -> Option<&Principal> {
        self.0.principal.get()
    }

    /// What a refused token claimed (`iss`, `client_id`, `sub`), unverified,
    /// when it was decoded far enough.
    pub fn claimed(&self) -> Option<&Claimed> {
        self.0.claimed.get()
    }

    /// Microseconds the token's verification took, when one ran.
    pub fn verify_us(&self) -> Option<u64> {
        match self.0.verify_us.load(Ordering::Relaxed) {
            0 => None,
            n => Some(n - 1),
        }
    }
}

/// Runs `verify` on `token`; when an audit layer is outside, also records the
/// token's fingerprint, the time taken and the principal. Without one, this
/// is `verify()` and nothing else (no hashing, no clock).
pub(crate) fn verify_noted(
    extensions: &Extensions,
    token: &str,
    verify: impl FnOnce() -> Result<Principal, Error>,
) -> Result<Principal, Error> {
    let Some(facts) = extensions.get::<AuditFacts>() else {
        return verify();
    };
    let started = Instant::now();
    let result = verify();
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
    facts.0.verify_us.store(us + 1, Ordering::Relaxed);
    let fingerprint = match &result {
        Ok(principal) => {
            let _ = facts.0.principal.set(principal.clone());
            TokenFingerprint::of_verified(principal, token)
        }
        Err(_) => {
            // Only on refusals: the success path decodes nothing twice.
            if let Some(claimed) = Claimed::from_token(token) {
                let _ = facts.0.claimed.set(claimed);
            }
            TokenFingerprint::of(token)
        }
    };
    let _ = facts.0.token_fp.set(fingerprint);
    result
}

/// Records the principal a later verification (after a key refresh) gave.
pub(crate) fn note_principal(extensions: &Extensions, principal: &Principal) {
    if let Some(facts) = extensions.get::<AuditFacts>() {
        let _ = facts.0.principal.set(principal.clone());
    }
}
