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

pub mod contract;
mod gate;
pub mod jwt;
pub mod scope;
pub mod stepup;

pub use contract::{Contract, ContractLayer};
pub use gate::GateFuture;
pub use jwt::{Jwt, JwtLayer};
pub use scope::{Scope, ScopeLayer};
pub use stepup::{StepUp, StepUpLayer};
