//! MCP servers behind the contract: per-tool decisions at the Streamable
//! HTTP endpoint (`docs/mcp.md`).
//!
//! With the `mcp` feature: [`McpLayer`] reads each request's JSON-RPC method
//! and tool, prompt or resource for [`ContractLayer`](crate::ContractLayer);
//! [`McpResource`] is the server's canonical URI (the tokens' audience,
//! RFC 8707) and its RFC 9728 metadata; [`McpGuard`], around the server,
//! refuses what the contract did not decide per MCP method. Without the
//! feature, the contract's gate still refuses every request of a
//! contract's `[mcp] endpoint` (500 `layers_misconfigured`): what the
//! contract declares per tool cannot be decided without reading the body.

mod gate;
#[cfg(feature = "mcp")]
mod guard;
#[cfg(feature = "mcp")]
mod layer;
#[cfg(feature = "mcp")]
mod resource;
#[cfg(all(test, feature = "mcp", feature = "axum"))]
mod tests;

pub(crate) use gate::call_at_endpoint;
#[cfg(feature = "mcp")]
pub use guard::{McpGuard, McpGuardLayer};
#[cfg(feature = "mcp")]
pub use layer::{Mcp, McpFuture, McpLayer};
#[cfg(feature = "mcp")]
pub use resource::{McpResource, McpResourceError};
