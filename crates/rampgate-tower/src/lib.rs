//! tower Layers of rampgate.
//!
//! - [`JwtLayer`]: verifies the request's JWT access token and puts the
//!   [`Principal`](rampgate_core::Principal) in the request extensions, or answers
//!   with an RFC 6750 denial without calling the inner service.
//! - [`ScopeLayer`]: requires scopes of the verified token (403
//!   `insufficient_scope` otherwise).
//! - [`ContractLayer`]: the ramp contract decides every request: the route's
//!   scopes, intersected with what the consumer's current stage allows.
//! - [`StepUpLayer`]: sensitive routes demand a stronger or fresher user
//!   authentication (RFC 9470 challenge).

/// `get_ref`, `get_mut` and `into_inner` for a service whose wrapped service is
/// the field `inner` (the accessors every tower-http service has).
macro_rules! define_inner_service_accessors {
    () => {
        /// Gets a reference to the underlying service.
        pub fn get_ref(&self) -> &S {
            &self.inner
        }

        /// Gets a mutable reference to the underlying service.
        pub fn get_mut(&mut self) -> &mut S {
            &mut self.inner
        }

        /// Consumes `self`, returning the underlying service.
        pub fn into_inner(self) -> S {
            self.inner
        }
    };
}

pub mod contract;
mod gate;
pub mod jwt;
pub mod scope;
pub mod stepup;
#[cfg(test)]
mod tests;

#[allow(deprecated)]
pub use contract::Contract;
pub use contract::{ContractGate, ContractLayer};
pub use gate::GateFuture;
pub use jwt::{Jwt, JwtLayer};
pub use scope::{Scope, ScopeLayer};
pub use stepup::{StepUp, StepUpLayer};
