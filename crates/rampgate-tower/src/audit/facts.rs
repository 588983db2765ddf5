//! What the `AuditLayer` keeps about a request: the token facts `JwtLayer`
//! leaves, and the event's reserved place for a fail-closed route.

use crate::jwt::TokenFacts;
use crate::jwt::{AuditSlot, StoreHook};
use rampgate_core::audit::{AuditEvent, AuditPermit, Auditor};
use std::ops::Deref;
use std::sync::Mutex;

/// The [`AuditLayer`](super::AuditLayer)'s record of one request, in its
/// extensions: the [`TokenFacts`] `JwtLayer` fills in (readable through this
/// type too), and the event's place in the audit queue, which the contract's
/// gate reserves for an `audit = "required"` route. One allocation: the
/// auditor and the place live with the token facts, so a `TokenFacts`
/// cloned out of these and kept after the request keeps them too.
#[derive(Debug, Clone)]
pub struct AuditFacts(TokenFacts);

impl AuditFacts {
    /// The facts of a request an `AuditLayer` recording into `auditor` saw,
    /// with the event's place already reserved (`permit`) or not; the
    /// revocation stores the request meets are handed to `stores`.
    pub(crate) fn new(auditor: Auditor, permit: Option<AuditPermit>, stores: StoreHook) -> Self {
        AuditFacts(TokenFacts::audited(AuditSlot {
            auditor,
            permit: Mutex::new(permit),
            stores,
        }))
    }

    /// The token facts `JwtLayer` fills in, finding them inside these.
    pub(crate) fn token(&self) -> &TokenFacts {
        &self.0
    }

    fn slot(&self) -> &AuditSlot {
        self.0
            .audit_slot()
            .expect("AuditFacts are only made with their slot")
    }

    /// Reserves the event's place in the auditor's queue, unless it is
    /// reserved already: `false` when the queue is full, and the route must
    /// then fail closed.
    pub(crate) fn reserve(&self) -> bool {
        let slot = self.slot();
        let mut permit = slot.permit.lock().unwrap_or_else(|e| e.into_inner());
        if permit.is_none() {
            *permit = slot.auditor.reserve();
        }
        permit.is_some()
    }

    /// Records the request's event: into its reserved place, if any, or
    /// else into the queue, without waiting (dropped and counted when full).
    pub(crate) fn record(&self, event: AuditEvent) {
        let slot = self.slot();
        let permit = slot.permit.lock().unwrap_or_else(|e| e.into_inner()).take();
        match permit {
            Some(permit) => permit.record(event),
            None => {
                slot.auditor.record(event);
            }
        }
    }
}

impl Deref for AuditFacts {
    type Target = TokenFacts;

    fn deref(&self) -> &TokenFacts {
        &self.0
    }
}
