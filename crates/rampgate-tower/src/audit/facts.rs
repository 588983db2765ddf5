//! What the `AuditLayer` keeps about a request: the token facts `JwtLayer`
//! leaves, and the event's reserved place for a fail-closed route.

use crate::jwt::TokenFacts;
use rampgate_core::audit::{AuditEvent, AuditPermit, Auditor};
use std::ops::Deref;
use std::sync::{Arc, Mutex};

/// The [`AuditLayer`](super::AuditLayer)'s record of one request, in its
/// extensions: the [`TokenFacts`] `JwtLayer` fills in (readable through this
/// type too), and the event's place in the audit queue, which the contract's
/// gate reserves for an `audit = "required"` route.
#[derive(Debug, Clone)]
pub struct AuditFacts(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    token: TokenFacts,
    auditor: Auditor,
    /// The event's reserved place in the auditor's queue, for a fail-closed
    /// route: taken by the audit layer when it records the event.
    permit: Mutex<Option<AuditPermit>>,
}

impl AuditFacts {
    /// The facts of a request an `AuditLayer` recording into `auditor` saw,
    /// with the event's place already reserved (`permit`) or not.
    pub(crate) fn new(auditor: Auditor, permit: Option<AuditPermit>) -> Self {
        AuditFacts(Arc::new(Inner {
            token: TokenFacts::default(),
            auditor,
            permit: Mutex::new(permit),
        }))
    }

    /// The token facts `JwtLayer` fills in, finding them inside these.
    pub(crate) fn token(&self) -> &TokenFacts {
        &self.0.token
    }

    /// Reserves the event's place in the auditor's queue, unless it is
    /// reserved already: `false` when the queue is full, and the route must
    /// then fail closed.
    pub(crate) fn reserve(&self) -> bool {
        let mut permit = self.0.permit.lock().unwrap_or_else(|e| e.into_inner());
        if permit.is_none() {
            *permit = self.0.auditor.reserve();
        }
        permit.is_some()
    }

    /// Records the request's event: into its reserved place, if any, or
    /// else into the queue, without waiting (dropped and counted when full).
    pub(crate) fn record(&self, event: AuditEvent) {
        let permit = self
            .0
            .permit
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        match permit {
            Some(permit) => permit.record(event),
            None => {
                self.0.auditor.record(event);
            }
        }
    }
}

impl Deref for AuditFacts {
    type Target = TokenFacts;

    fn deref(&self) -> &TokenFacts {
        &self.0.token
    }
}
