//! The MCP layer with the contract's gate, in-process through a real axum
//! router: what reaches the server, and what is refused before it.

#![allow(clippy::unwrap_used)] // a test module, gated on its features

use crate::{ContractLayer, JwtLayer, McpGuard, McpLayer};
use axum::body::Body;
use axum::routing::any;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::BodyExt;
use rampgate_core::contract::{Contract, ContractHandle, McpAccess};
use rampgate_testkit::OfflineIssuer;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use tower::ServiceExt;

const CONTRACT: &str = r#"
version = 1
[mcp]
endpoint = "/mcp"
[scopes]
"orders:read" = "Read orders"
"orders:refund" = "Refund orders"
[defaults]
unknown_consumer = { stage = "default", scopes = ["orders:read", "orders:refund"] }
[[routes]]
mcp = "tools/call"
name = "get_order"
scopes = ["orders:read"]
[[routes]]
mcp = "tools/call"
name = "refund_order"
scopes = ["orders:refund"]
[[routes]]
mcp = "tools/call"
name = "audited"
audit = "required"
[[routes]]
method = "GET"
path = "/other"
"#;

/// What the server saw: the body it read and whether an `McpAccess` came with it.
type Seen = Arc<Mutex<Vec<(Bytes, bool)>>>;

struct Fixture {
    issuer: OfflineIssuer,
    app: axum::Router,
    seen: Seen,
}

/// The layers a fixture's router has around the server.
#[derive(Clone, Copy)]
struct Layers {
    mcp: bool,
    jwt: bool,
    contract: bool,
    /// JwtLayer also takes a token from the `access_token` query parameter.
    query_token: bool,
}

const ALL: Layers = Layers {
    mcp: true,
    jwt: true,
    contract: true,
    query_token: false,
};

async fn fixture(with_mcp_layer: bool) -> Fixture {
    let layers = Layers {
        mcp: with_mcp_layer,
        ..ALL
    };
    fixture_with(CONTRACT, layers, None).await
}

/// A router with `layers` around the server (behind an `McpGuard` at
/// `/mcp`), nested under `nest` when given.
async fn fixture_with(contract: &str, layers: Layers, nest: Option<&str>) -> Fixture {
    let issuer = OfflineIssuer::for_issuer("https://issuer.test", "api");
    let verifier = issuer.verifier().await.unwrap();
    let contract = ContractHandle::new(Contract::parse(contract).unwrap());
    let seen = Seen::default();
    let keep = seen.clone();
    let server = any(move |req: Request<Body>| {
        let keep = keep.clone();
        async move {
            let access = req.extensions().get::<McpAccess>().is_some();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            keep.lock().unwrap().push((body, access));
            "server ran"
        }
    });
    let mut app = axum::Router::new()
        .route_service("/mcp", McpGuard::new(server.clone()))
        .route("/other", server);
    if layers.contract {
        app = app.route_layer(ContractLayer::new(contract.clone()));
    }
    if layers.jwt {
        let jwt = JwtLayer::new(verifier);
        app = app.route_layer(if layers.query_token {
            jwt.allow_query_token("access_token")
        } else {
            jwt
        });
    }
    if layers.mcp {
        app = app.route_layer(McpLayer::new(contract).max_body_bytes(4096));
    }
    if let Some(prefix) = nest {
        app = axum::Router::new().nest(prefix, app);
    }
    Fixture { issuer, app, seen }
}

impl Fixture {
    fn token(&self, scopes: &[&str]) -> String {
        self.issuer
            .token()
            .sub("alice")
            .client_id("agent")
            .scopes(scopes.iter().copied())
            .sign()
    }

    async fn send(&self, method: &str, path: &str, token: &str, body: &str) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if !token.is_empty() {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req
            .header("content-type", "application/json")
            .body(Body::from(body.to_owned()))
            .unwrap();
        let response = self.app.clone().oneshot(req).await.unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, json)
    }

    fn server_calls(&self) -> usize {
        self.seen.lock().unwrap().len()
    }
}

fn call(tool: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"{tool}","arguments":{{"id":"A1"}}}}}}"#
    )
}

#[tokio::test]
async fn a_tool_call_is_decided_on_its_tool_and_the_body_reaches_the_server_intact() {
    let f = fixture(true).await;
    let reader = f.token(&["orders:read"]);
    let (status, _) = f.send("POST", "/mcp", &reader, &call("get_order")).await;
    assert_eq!(status, 200);
    assert_eq!(
        f.seen.lock().unwrap()[0],
        (Bytes::from(call("get_order")), true),
        "the server reads the very body that was decided on, with the caller's access"
    );
    let (status, body) = f.send("POST", "/mcp", &reader, &call("refund_order")).await;
    assert_eq!(status, 403);
    assert_eq!(body["reason"], "scope_insufficient");
    assert_eq!(
        f.server_calls(),
        1,
        "the refused call never reached the server"
    );
    // Unlisted tools follow unknown_route (deny by default).
    let (status, body) = f.send("POST", "/mcp", &reader, &call("drop_tables")).await;
    assert_eq!(
        (status.as_u16(), body["reason"].as_str()),
        (403, Some("route_unknown"))
    );
    assert_eq!(f.server_calls(), 1);
}

#[tokio::test]
async fn the_handshake_and_the_session_need_only_a_token_and_other_routes_are_untouched() {
    let f = fixture(true).await;
    let plain = f.token(&[]);
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    assert_eq!(f.send("POST", "/mcp", &plain, init).await.0, 200);
    assert_eq!(f.send("GET", "/mcp", &plain, "").await.0, 200);
    assert_eq!(f.send("DELETE", "/mcp", &plain, "").await.0, 200);
    // Another route: its body is not read, and no McpAccess is given.
    assert_eq!(f.send("GET", "/other", &plain, "[not json").await.0, 200);
    let seen = f.seen.lock().unwrap();
    assert_eq!(seen[3], (Bytes::from_static(b"[not json"), false));
}

#[tokio::test]
async fn batches_malformed_and_oversized_bodies_are_refused_before_the_server() {
    let f = fixture(true).await;
    let reader = f.token(&["orders:read"]);
    let batch = format!("[{}]", call("get_order"));
    let oversized = call(&"x".repeat(5000));
    for body in [
        batch.as_str(),
        "{not json",
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_order","name":"refund_order"}}"#,
        oversized.as_str(),
    ] {
        let (status, json) = f.send("POST", "/mcp", &reader, body).await;
        assert_eq!(status, 400, "{body:.60}");
        assert_eq!(json["reason"], "request_malformed");
    }
    let (_, json) = f.send("POST", "/mcp", &reader, &batch).await;
    assert!(
        json["description"].as_str().unwrap().contains("batch"),
        "{json}"
    );
    assert_eq!(f.server_calls(), 0);
    // Without a token, the 401 comes first, whatever the body.
    let (status, json) = f.send("POST", "/mcp", "", &batch).await;
    assert_eq!(status, 401, "{json}");
    assert_eq!(json["reason"], "token_missing");
}

#[tokio::test]
async fn without_the_mcp_layer_the_endpoint_is_refused_500() {
    let f = fixture(false).await;
    let reader = f.token(&["orders:read", "orders:refund"]);
    let (status, json) = f.send("POST", "/mcp", &reader, &call("get_order")).await;
    assert_eq!(status, 500);
    assert_eq!(json["reason"], "layers_misconfigured");
    assert!(json["description"].as_str().unwrap().contains("McpLayer"));
    assert_eq!(f.server_calls(), 0);
    // Other routes are decided as ever.
    assert_eq!(f.send("GET", "/other", &reader, "").await.0, 200);
}

#[tokio::test]
async fn a_tool_that_requires_its_audit_event_is_refused_without_an_audit_layer() {
    let f = fixture(true).await;
    let token = f.token(&[]);
    let (status, json) = f.send("POST", "/mcp", &token, &call("audited")).await;
    assert_eq!(status, 500);
    assert_eq!(json["reason"], "layers_misconfigured");
    assert!(json["description"].as_str().unwrap().contains("AuditLayer"));
    assert_eq!(f.server_calls(), 0);
}

/// Asserts the guard's refusal: 500 `layers_misconfigured`, and the server
/// never ran.
fn assert_undecided(f: &Fixture, (status, json): (StatusCode, Value)) {
    assert_eq!(status, 500, "{json}");
    assert_eq!(json["reason"], "layers_misconfigured");
    assert!(
        json["description"].as_str().unwrap().contains("MCP server"),
        "{json}"
    );
    assert_eq!(f.server_calls(), 0, "the tool must not run");
}

const ALLOW_UNKNOWN: &str = r#"
version = 1
[mcp]
endpoint = "/mcp"
[scopes]
"orders:refund" = "Refund orders"
[defaults]
unknown_route = "allow"
unknown_consumer = { stage = "default", scopes = ["orders:refund"] }
[[routes]]
mcp = "tools/call"
name = "refund_order"
scopes = ["orders:refund"]
"#;

/// Nested under `/v1`, the router matches `/v1/mcp`, which the contract's
/// `[mcp] endpoint = "/mcp"` does not name: the contract decides
/// `POST /v1/mcp` as an unlisted HTTP route, which `unknown_route = "allow"`
/// lets through. The guard refuses what was not decided per tool.
#[tokio::test]
async fn under_a_nested_router_a_tool_not_decided_per_tool_is_refused_500() {
    let f = fixture_with(ALLOW_UNKNOWN, ALL, Some("/v1")).await;
    let plain = f.token(&[]);
    let refused = f
        .send("POST", "/v1/mcp", &plain, &call("refund_order"))
        .await;
    assert_undecided(&f, refused);
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    assert_undecided(&f, f.send("POST", "/v1/mcp", &plain, init).await);
    // Named by its whole path, the nested endpoint is decided per tool.
    let whole = ALLOW_UNKNOWN.replace("endpoint = \"/mcp\"", "endpoint = \"/v1/mcp\"");
    let f = fixture_with(&whole, ALL, Some("/v1")).await;
    let plain = f.token(&[]);
    let (status, json) = f
        .send("POST", "/v1/mcp", &plain, &call("refund_order"))
        .await;
    assert_eq!(
        (status.as_u16(), json["reason"].as_str()),
        (403, Some("scope_insufficient"))
    );
    let refunder = f.token(&["orders:refund"]);
    let called = f
        .send("POST", "/v1/mcp", &refunder, &call("refund_order"))
        .await;
    assert_eq!(called.0, 200);
    assert_eq!(f.server_calls(), 1);
}

#[tokio::test]
async fn without_the_contract_layer_no_token_calls_a_tool() {
    let layers = Layers {
        contract: false,
        ..ALL
    };
    let f = fixture_with(ALLOW_UNKNOWN, layers, None).await;
    let plain = f.token(&[]);
    assert_undecided(
        &f,
        f.send("POST", "/mcp", &plain, &call("refund_order")).await,
    );
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    assert_undecided(&f, f.send("POST", "/mcp", &plain, init).await);
    assert_undecided(&f, f.send("GET", "/mcp", &plain, "").await);
}

#[tokio::test]
async fn without_the_jwt_layer_or_any_layer_the_server_is_never_called() {
    let f = fixture_with(ALLOW_UNKNOWN, Layers { jwt: false, ..ALL }, None).await;
    let token = f.token(&["orders:refund"]);
    let (status, json) = f.send("POST", "/mcp", &token, &call("refund_order")).await;
    assert_eq!(
        (status.as_u16(), json["reason"].as_str()),
        (500, Some("layers_misconfigured"))
    );
    assert_eq!(f.server_calls(), 0);
    let bare = Layers {
        mcp: false,
        jwt: false,
        contract: false,
        query_token: false,
    };
    let f = fixture_with(ALLOW_UNKNOWN, bare, None).await;
    assert_undecided(&f, f.send("POST", "/mcp", "", &call("refund_order")).await);
}

/// Behind every layer, the guard lets through what the contract decided,
/// the handshake and the session included.
#[tokio::test]
async fn the_guard_lets_through_every_request_the_contract_decided() {
    let f = fixture_with(ALLOW_UNKNOWN, ALL, None).await;
    let refunder = f.token(&["orders:refund"]);
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{}}"#;
    assert_eq!(f.send("POST", "/mcp", &refunder, init).await.0, 200);
    let called = f
        .send("POST", "/mcp", &refunder, &call("refund_order"))
        .await;
    assert_eq!(called.0, 200);
    assert_eq!(f.send("GET", "/mcp", &refunder, "").await.0, 200);
    assert_eq!(f.server_calls(), 3);
}

/// The metadata document names the resource the 401s point to, the
/// McpResource's URI, even when the contract names another `resource`.
#[tokio::test]
async fn the_metadata_names_the_mcp_servers_uri_over_the_contracts_resource() {
    let contract = Contract::parse(&CONTRACT.replace(
        "version = 1\n",
        "version = 1\nresource = \"https://other.example/mcp\"\n",
    ))
    .unwrap();
    let resource = crate::McpResource::new("https://mcp.example.com/mcp").unwrap();
    let app: axum::Router =
        resource.metadata_router(ContractHandle::new(contract), ["https://issuer.test"]);
    let req = Request::get("/.well-known/oauth-protected-resource/mcp")
        .body(Body::empty())
        .unwrap();
    let response = app.clone().oneshot(req).await.unwrap();
    assert_eq!(response.status(), 200);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let doc: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(doc["resource"], "https://mcp.example.com/mcp");
    assert_eq!(doc["scopes_supported"][0], "orders:read");
}

/// A request body, a call of `get_order`, that records whether anything
/// read it.
struct Watched(Arc<std::sync::atomic::AtomicBool>, Option<Bytes>);

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        std::task::Poll::Ready(self.1.take().map(|data| Ok(http_body::Frame::data(data))))
    }
}

/// Sends a `POST` of a watched body to `uri`, with `token` in the
/// `Authorization` header unless empty: the answer's status and reason, and
/// whether the body was read.
async fn post_watched(f: &Fixture, uri: &str, token: &str) -> (u16, Value, bool) {
    let read = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut req = Request::post(uri).header("content-type", "application/json");
    if !token.is_empty() {
        req = req.header("authorization", format!("Bearer {token}"));
    }
    let req = req
        .body(Body::new(Watched(
            read.clone(),
            Some(call("get_order").into()),
        )))
        .unwrap();
    let response = f.app.clone().oneshot(req).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    (status, json, read.load(std::sync::atomic::Ordering::SeqCst))
}

/// No body is buffered before there is a token to verify: without an
/// `Authorization` header, the body is never read, and the 401 follows.
#[tokio::test]
async fn without_an_authorization_header_the_body_is_not_read() {
    let f = fixture(true).await;
    let (status, json, read) = post_watched(&f, "/mcp", "").await;
    assert_eq!(
        (status, json["reason"].as_str()),
        (401, Some("token_missing"))
    );
    assert!(!read, "the body was read before authentication");
    assert_eq!(f.server_calls(), 0);
    // With the header, it is read (and the watched body is a call).
    let (status, _, read) = post_watched(&f, "/mcp", &f.token(&["orders:read"])).await;
    assert_eq!(status, 200);
    assert!(read);
}

/// A token JwtLayer takes from elsewhere than the `Authorization` header
/// does not make the unread body a bypass: the contract's gate refuses it.
#[tokio::test]
async fn a_token_from_the_query_gets_no_tool_without_a_read_body() {
    let layers = Layers {
        query_token: true,
        ..ALL
    };
    let f = fixture_with(ALLOW_UNKNOWN, layers, None).await;
    let token = f.token(&["orders:refund"]);
    let uri = format!("/mcp?access_token={token}");
    let (status, json, read) = post_watched(&f, &uri, "").await;
    assert_eq!(
        (status, json["reason"].as_str()),
        (400, Some("request_malformed")),
        "{json}"
    );
    assert!(
        json["description"]
            .as_str()
            .unwrap()
            .contains("Authorization")
    );
    assert!(!read);
    assert_eq!(f.server_calls(), 0, "the tool must not run");
}
