//! The MCP step: each `mcp` route's method and target (`name` for tools and
//! prompts, `uri` for resources), and the `[mcp] endpoint` they are served at.

use super::{Checker, RawMcp, RawRoute};
use crate::contract::{McpTarget, Route, is_token_only};
use toml::Spanned;

impl Checker<'_> {
    /// An MCP route's target: its `name` or `uri` pattern as its method
    /// needs, or empty for a method without one.
    pub(super) fn mcp_target(&mut self, r: &RawRoute, mcp: &Spanned<String>) -> String {
        let method = mcp.get_ref();
        for (field, given) in [("method", &r.method), ("path", &r.path)] {
            if let Some(given) = given {
                self.error(
                    Some(given.span()),
                    format!("an MCP route (mcp = {method:?}) has no {field}: it is decided on the [mcp] endpoint's JSON-RPC messages"),
                );
            }
        }
        if method.is_empty() || method.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.error(
                Some(mcp.span()),
                format!("mcp {method:?} is not a JSON-RPC method such as \"tools/call\""),
            );
        } else if is_token_only(method) {
            self.error(
                Some(mcp.span()),
                format!("mcp {method:?} needs only a valid token and cannot be listed (tools/list is filtered by the server, see docs/mcp.md); list tools/call, resources/read or prompts/get routes"),
            );
        }
        let (wanted, unwanted) = match McpTarget::of(method) {
            McpTarget::Name => (Some(("name", &r.name)), Some(("uri", &r.uri))),
            McpTarget::Uri => (Some(("uri", &r.uri)), Some(("name", &r.name))),
            McpTarget::None => (None, None),
        };
        let others: Vec<(&str, &Option<Spanned<String>>)> = match (wanted, unwanted) {
            (_, Some(u)) => vec![u],
            (None, None) => vec![("name", &r.name), ("uri", &r.uri)],
            (Some(_), None) => Vec::new(),
        };
        for (field, given) in others {
            if let Some(given) = given {
                self.error(
                    Some(given.span()),
                    format!("mcp {method:?} has no {field}: tools/call and prompts/get take a name, resources/read a uri"),
                );
            }
        }
        let Some((field, given)) = wanted else {
            return String::new();
        };
        let Some(given) = given else {
            self.error(
                Some(mcp.span()),
                format!("mcp {method:?} needs {field}: the one it decides"),
            );
            return String::new();
        };
        let target = given.get_ref();
        let stars = target.matches('*').count();
        let pattern_ok = match field {
            "uri" => stars == 0 || (stars == 1 && target.ends_with('*')),
            _ => stars == 0,
        };
        if target.is_empty() || !pattern_ok {
            self.error(
                Some(given.span()),
                format!(
                    "{field} {target:?} of mcp {method:?} must be a non-empty name{}",
                    if field == "uri" {
                        " or URI, with at most one * at its end (orders://*)"
                    } else {
                        ", without *"
                    }
                ),
            );
        }
        target.clone()
    }

    /// `[mcp] endpoint`: a path, required as soon as a route is an MCP one.
    pub(super) fn mcp_endpoint(
        &mut self,
        raw: Option<&Spanned<RawMcp>>,
        routes: &[Route],
    ) -> Option<String> {
        let Some(raw) = raw else {
            if routes.iter().any(|r| r.mcp) {
                self.error(
                    None,
                    "MCP routes need [mcp] endpoint = \"/mcp\": the path of the MCP server's Streamable HTTP endpoint".to_owned(),
                );
            }
            return None;
        };
        let endpoint = raw.get_ref().endpoint.get_ref();
        if !endpoint.starts_with('/') {
            self.error(
                Some(raw.get_ref().endpoint.span()),
                format!("[mcp] endpoint {endpoint:?} must be a path such as \"/mcp\""),
            );
        }
        if let Some(r) = routes.iter().find(|r| !r.mcp && r.path == *endpoint) {
            self.error(
                Some(raw.get_ref().endpoint.span()),
                format!("route {} is the [mcp] endpoint, whose requests are decided per MCP method: list mcp routes instead", r.key()),
            );
        }
        Some(endpoint.clone())
    }
}

#[cfg(test)]
mod tests {
    use crate::contract::Contract;

    fn errors(body: &str) -> Vec<String> {
        match Contract::parse(&format!("version = 1\n[scopes]\na = \"A\"\n{body}")) {
            Ok(_) => Vec::new(),
            Err(e) => e.0.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn mcp_routes_are_read_with_their_targets() {
        let contract = Contract::parse(
            "version = 1\n[mcp]\nendpoint = \"/mcp\"\n[scopes]\na = \"A\"\n\
             [[routes]]\nmcp = \"tools/call\"\nname = \"refund_order\"\nscopes = [\"a\"]\n\
             [[routes]]\nmcp = \"resources/read\"\nuri = \"orders://*\"\nmode = \"observe\"\n\
             [[routes]]\nmcp = \"completion/complete\"\n\
             [[routes]]\nmcp = \"resources/directory/read\"\nuri = \"orders://*\"\n\
             [[routes]]\nmcp = \"skills/get\"\nuri = \"skill://refunds/SKILL.md\"\n\
             [[routes]]\nmcp = \"subscriptions/listen\"\n\
             [[routes]]\nmcp = \"notifications/custom\"\n",
        )
        .unwrap();
        let keys: Vec<String> = contract.routes().iter().map(|r| r.key()).collect();
        assert_eq!(
            keys,
            [
                "tools/call refund_order",
                "resources/read orders://*",
                "completion/complete",
                "resources/directory/read orders://*",
                "skills/get skill://refunds/SKILL.md",
                "subscriptions/listen",
                "notifications/custom",
            ]
        );
        assert!(contract.routes().iter().all(|r| r.mcp));
        assert_eq!(contract.mcp_endpoint(), Some("/mcp"));
        // An HTTP request never reaches an MCP route.
        assert!(contract.resolve("TOOLS/CALL", "refund_order").is_none());
        assert_eq!(
            contract.resolve_mcp("tools/call", Some("refund_order")),
            Some(0)
        );
        assert_eq!(
            contract.resolve_mcp("resources/read", Some("orders://A1")),
            Some(1)
        );
        assert_eq!(
            contract.resolve_mcp("resources/read", Some("users://1")),
            None
        );
        assert_eq!(contract.resolve_mcp("tools/call", Some("refund")), None);
        assert_eq!(contract.resolve_mcp("completion/complete", None), Some(2));
        assert_eq!(
            contract.resolve_mcp("resources/directory/read", Some("orders://A1/")),
            Some(3)
        );
        assert_eq!(
            contract.resolve_mcp("skills/get", Some("skill://refunds/SKILL.md")),
            Some(4)
        );
    }

    #[test]
    fn each_mcp_route_problem_is_reported_on_its_line() {
        assert_eq!(
            errors(
                "[mcp]\nendpoint = \"mcp\"\n\
                 [[routes]]\nmcp = \"tools/call\"\n\
                 [[routes]]\nmcp = \"tools/list\"\n\
                 [[routes]]\nmcp = \"notifications/initialized\"\n\
                 [[routes]]\nmcp = \"resources/read\"\nuri = \"a*b\"\nname = \"x\"\n\
                 [[routes]]\nmcp = \"prompts/get\"\nname = \"p\"\npath = \"/mcp\"\n\
                 [[routes]]\nscopes = [\"a\"]\n"
            ),
            [
                "line 5: [mcp] endpoint \"mcp\" must be a path such as \"/mcp\"",
                "line 7: mcp \"tools/call\" needs name: the one it decides",
                "line 9: mcp \"tools/list\" needs only a valid token and cannot be listed (tools/list is filtered by the server, see docs/mcp.md); list tools/call, resources/read or prompts/get routes",
                "line 11: mcp \"notifications/initialized\" needs only a valid token and cannot be listed (tools/list is filtered by the server, see docs/mcp.md); list tools/call, resources/read or prompts/get routes",
                "line 14: uri \"a*b\" of mcp \"resources/read\" must be a non-empty name or URI, with at most one * at its end (orders://*)",
                "line 15: mcp \"resources/read\" has no name: tools/call and prompts/get take a name, resources/read a uri",
                "line 19: an MCP route (mcp = \"prompts/get\") has no path: it is decided on the [mcp] endpoint's JSON-RPC messages",
                "line 20: a route needs method and path (an HTTP or gRPC route), or mcp (an MCP route)",
            ]
        );
        assert_eq!(
            errors("[[routes]]\nmcp = \"tools/call\"\nname = \"t\"\n"),
            [
                "MCP routes need [mcp] endpoint = \"/mcp\": the path of the MCP server's Streamable HTTP endpoint"
            ]
        );
        assert_eq!(
            errors(
                "[mcp]\nendpoint = \"/mcp\"\n[[routes]]\nmethod = \"POST\"\npath = \"/mcp\"\nname = \"x\"\n"
            ),
            [
                "line 5: route POST /mcp is the [mcp] endpoint, whose requests are decided per MCP method: list mcp routes instead",
                "line 9: name belongs to an MCP route (mcp = \"tools/call\"); an HTTP route has a path",
            ]
        );
    }
}
