//! What `JwtLayer` leaves about a request's token for the middleware around
//! it: the `AuditLayer` reads these facts. The JWT layer only finds them in
//! the request (inside the `AuditLayer`'s `AuditFacts`); it records nothing
//! else for the audit trail.

use crate::audit::AuditFacts;
use http::Extensions;
use rampgate_core::audit::{AuditPermit, Auditor, Claimed, TokenFingerprint};
use rampgate_core::binding::Presentation;
use rampgate_core::{Error, Principal, RevocationStore, Verifier};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

/// A small shared record that middleware outside `JwtLayer` puts in the
/// request extensions and `JwtLayer` fills in (the
/// [`AuditLayer`](crate::AuditLayer) puts its [`AuditFacts`], which holds
/// one): the token's fingerprint (never the token), the
/// verified principal (one reference count, no copy), what a refused token
/// claimed (unverified) and how long verification took. Written once,
/// without locks; read when the answer comes back, even if the request's
/// extensions are gone by then. Without it in the extensions, `JwtLayer`
/// records nothing (no hashing, no clock).
#[derive(Debug, Clone, Default)]
pub struct TokenFacts(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    token_fp: OnceLock<TokenFingerprint>,
    principal: OnceLock<Principal>,
    claimed: OnceLock<Claimed>,
    /// Microseconds plus one (0: no verification ran).
    verify_us: AtomicU64,
    /// The `AuditLayer`'s own part, when these facts are its
    /// [`AuditFacts`]: one allocation for both.
    audit: Option<AuditSlot>,
}

/// What an [`AuditFacts`] holds besides its token facts: the auditor, the
/// event's reserved place in its queue for a fail-closed route, and what is
/// done with the revocation stores the request meets.
#[derive(Debug)]
pub(crate) struct AuditSlot {
    pub(crate) auditor: Auditor,
    pub(crate) permit: Mutex<Option<AuditPermit>>,
    pub(crate) stores: StoreHook,
}

/// What middleware outside does with each revocation store a request meets
/// (its verifier's, or the admin router's before a change): the
/// [`AuditLayer`](crate::AuditLayer) watches it, so that the store's changes
/// are audit events without a call of the service's own.
#[derive(Clone)]
pub(crate) struct StoreHook(pub(crate) Arc<MeetStore>);

/// What a [`StoreHook`] calls.
pub(crate) type MeetStore = dyn Fn(&Arc<dyn RevocationStore>) + Send + Sync;

impl std::fmt::Debug for StoreHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreHook")
    }
}

impl TokenFacts {
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

    /// The facts of an [`AuditFacts`], with the audit layer's `slot`.
    pub(crate) fn audited(slot: AuditSlot) -> Self {
        TokenFacts(Arc::new(Inner {
            audit: Some(slot),
            ..Inner::default()
        }))
    }

    /// The audit layer's part, when these facts are an [`AuditFacts`]'s.
    pub(crate) fn audit_slot(&self) -> Option<&AuditSlot> {
        self.0.audit.as_ref()
    }
}

/// The request's token facts: a `TokenFacts` middleware put in (`own`), as
/// before, or else those the [`AuditLayer`](crate::AuditLayer)'s record holds
/// (`audit`), which costs the request one extension rather than two.
pub(crate) fn facts_of<'a>(
    audit: Option<&'a AuditFacts>,
    own: Option<&'a TokenFacts>,
) -> Option<&'a TokenFacts> {
    own.or(audit.map(AuditFacts::token))
}

/// [`facts_of`] an HTTP request's extensions.
pub(crate) fn in_extensions(extensions: &Extensions) -> Option<&TokenFacts> {
    facts_of(extensions.get(), extensions.get())
}

/// Hands `store` to the hook of the request's facts, if any: called before
/// the store is consulted or changed for this request.
#[cfg(feature = "axum")]
pub(crate) fn meet_store(extensions: &Extensions, store: &Arc<dyn RevocationStore>) {
    if let Some(facts) = in_extensions(extensions) {
        facts.meet_store(store);
    }
}

impl TokenFacts {
    fn meet_store(&self, store: &Arc<dyn RevocationStore>) {
        if let Some(slot) = &self.0.audit {
            (slot.stores.0)(store);
        }
    }
}

/// Verifies `token` against the keys `verifier` holds now; when middleware
/// outside asked for the facts, also records the token's fingerprint, the
/// time taken, the principal or, for a refusal, what the token claimed (from
/// the payload the verification decoded: nothing is decoded twice). Without
/// them, this is [`Verifier::verify_cached_presented`] and nothing else.
///
/// `facts` are the request's (`JwtLayer`'s HTTP request, `JwtInterceptor`'s
/// tonic request: tonic keeps the extensions).
pub(crate) fn verify_noted(
    facts: Option<&TokenFacts>,
    token: &str,
    presented: &Presentation,
    verifier: &Verifier,
) -> Result<Principal, Error> {
    let Some(facts) = facts else {
        return verifier.verify_cached_presented(token, presented);
    };
    if let Some(store) = verifier.revocations() {
        facts.meet_store(store);
    }
    let started = Instant::now();
    let result = verifier.verify_cached_claimed(token, presented);
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX - 1);
    facts.0.verify_us.store(us + 1, Ordering::Relaxed);
    let (fingerprint, result) = match result {
        Ok(principal) => {
            let _ = facts.0.principal.set(principal.clone());
            (
                TokenFingerprint::of_verified(&principal, token),
                Ok(principal),
            )
        }
        Err(refused) => {
            if let Some(claimed) = refused.claimed {
                let _ = facts.0.claimed.set(claimed);
            }
            (TokenFingerprint::of(token), Err(refused.error))
        }
    };
    let _ = facts.0.token_fp.set(fingerprint);
    result
}

/// Records the principal a later verification (after a key refresh) gave.
pub(crate) fn note_principal(extensions: &Extensions, principal: &Principal) {
    if let Some(facts) = in_extensions(extensions) {
        let _ = facts.0.principal.set(principal.clone());
    }
}
