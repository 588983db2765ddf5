//! The MCP server of the example: two tools over a made-up order book,
//! served by `rmcp`. It knows nothing of tokens: the layers in front decided
//! each call; `tools/list` shows only what the caller may call.

use rampgate::mcp::McpAccess;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, JsonObject,
    ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer, ServerHandler};
use serde_json::json;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// The order book's tools, and the orders refunded so far (one book for
/// every session, so that a refund shows in a later `get_order`).
#[derive(Clone, Default)]
pub(crate) struct Orders {
    refunded: Arc<Mutex<HashSet<String>>>,
}

fn id_schema() -> JsonObject {
    let schema = json!({
        "type": "object",
        "properties": { "id": { "type": "string", "description": "The order's id" } },
        "required": ["id"],
    });
    match schema {
        serde_json::Value::Object(map) => map,
        _ => JsonObject::new(),
    }
}

fn tools() -> Vec<Tool> {
    vec![
        Tool::new("get_order", "Look an order up by its id", id_schema()),
        Tool::new("refund_order", "Refund an order in full", id_schema()),
    ]
}

/// What the contract's gate left for this request: who may call what.
fn access(context: &RequestContext<RoleServer>) -> Option<&McpAccess> {
    context
        .extensions
        .get::<http::request::Parts>()?
        .extensions
        .get::<McpAccess>()
}

impl ServerHandler for Orders {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        // Least privilege in discovery: only the tools this caller's token
        // and stage may call. Without the gate's access (never behind
        // rampgate), list nothing rather than everything.
        let tools = match access(&context) {
            Some(access) => access.callable_tools(tools(), |t| &t.name),
            None => Vec::new(),
        };
        Ok(ListToolsResult::with_all_items(tools))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let id = request
            .arguments
            .as_ref()
            .and_then(|a| a.get("id"))
            .and_then(|id| id.as_str())
            .ok_or_else(|| ErrorData::invalid_params("the order's \"id\" is missing", None))?;
        let mut refunded = self.refunded.lock().unwrap_or_else(|e| e.into_inner());
        let text = match &*request.name {
            "get_order" => {
                let status = if refunded.contains(id) {
                    "refunded"
                } else {
                    "shipped"
                };
                json!({"id": id, "status": status, "total": "42.00 EUR"})
            }
            "refund_order" => {
                refunded.insert(id.to_owned());
                json!({"id": id, "status": "refunded", "refunded": "42.00 EUR"})
            }
            other => {
                return Err(ErrorData::invalid_params(
                    format!("no tool named {other:?}"),
                    None,
                ));
            }
        };
        Ok(CallToolResult::success(vec![ContentBlock::text(text.to_string())]).into())
    }
}
