//! What the contract's gate does at the MCP endpoint, with or without the
//! `mcp` feature: decide on what an `McpLayer` read, or refuse.

use crate::gate::{Refusal, Refused};
use http::Request;
use rampgate_core::DenialOptions;
use rampgate_core::contract::{Contract, McpCall, McpRead};

/// The refusal of a request of the MCP endpoint that no `McpLayer` read.
const NO_MCP_LAYER: &str = "the contract names this path as its [mcp] endpoint, and no McpLayer \
    read the request's JSON-RPC body: add McpLayer (feature mcp) outside ContractLayer, on the \
    endpoint's route";

/// The MCP call `req` makes when `path` (the route the gate matched) is the
/// contract's MCP endpoint; `None` for any other path. At the endpoint, a
/// body that is not one JSON-RPC request is refused (400
/// `request_malformed`), and so is a request no `McpLayer` read (500
/// `layers_misconfigured`): without its method and tool, the request cannot
/// be decided.
pub(crate) fn call_at_endpoint<'r, B>(
    req: &'r Request<B>,
    contract: &Contract,
    path: &str,
) -> Result<Option<&'r McpCall>, Refused> {
    if contract.mcp_endpoint() != Some(path) {
        return Ok(None);
    }
    match req.extensions().get::<McpRead>() {
        Some(McpRead(Ok(call))) => Ok(Some(call)),
        Some(McpRead(Err(why))) => Err(Refused::new(DenialOptions::deny_in(
            req.extensions(),
            &why.error(),
        ))),
        None => Err(Refused::of(
            Refusal::Misconfigured(NO_MCP_LAYER),
            req.headers(),
        )),
    }
}
