//! tower Layers of rampgate.
//!
//! - [`JwtLayer`]: verifies the request's JWT access token and puts the
//!   [`Principal`](rampgate_core::Principal) in the request extensions, or answers
//!   with an RFC 6750 denial without calling the inner service.
//! - [`ScopeLayer`]: requires scopes of the verified token (403
//!   `insufficient_scope` otherwise).

pub mod jwt;
pub mod scope;

pub use jwt::{Jwt, JwtLayer};
pub use scope::{Scope, ScopeLayer};
