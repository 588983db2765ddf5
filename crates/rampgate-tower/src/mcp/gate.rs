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

#[cfg(test)]
mod tests {
    use super::*;
    use rampgate_core::contract::{McpBodyError, McpRead};

    fn contract() -> Contract {
        Contract::parse(
            "version = 1\n[mcp]\nendpoint = \"/mcp\"\n[[routes]]\nmcp = \"tools/call\"\nname = \"t\"\n",
        )
        .unwrap()
    }

    fn status(refused: Refused) -> (u16, &'static str) {
        let denial = refused.into_denial();
        (denial.status().as_u16(), denial.reason().as_str())
    }

    /// In every build, with or without the `mcp` feature: the endpoint is
    /// decided on what an McpLayer read, or refused.
    #[test]
    fn the_endpoint_is_decided_on_what_was_read_or_refused() {
        let contract = contract();
        let mut req = Request::new(());
        assert!(matches!(
            call_at_endpoint(&req, &contract, "/other"),
            Ok(None)
        ));
        let unread = call_at_endpoint(&req, &contract, "/mcp").unwrap_err();
        assert_eq!(status(unread), (500, "layers_misconfigured"));
        req.extensions_mut()
            .insert(McpRead(Err(McpBodyError::Batch)));
        let batch = call_at_endpoint(&req, &contract, "/mcp").unwrap_err();
        assert_eq!(status(batch), (400, "request_malformed"));
        let call = McpCall::new("tools/call", Some("t"));
        req.extensions_mut().insert(McpRead(Ok(call.clone())));
        assert_eq!(
            call_at_endpoint(&req, &contract, "/mcp").unwrap(),
            Some(&call)
        );
    }
}
