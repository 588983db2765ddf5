//! RFC 9728 protected resource metadata, built from the contract.

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rampgate_core::contract::{Contract, ContractHandle};
use serde_json::{Map, Value, json};

/// The metadata document (RFC 9728 §2) for `resource`: `resource`,
/// `authorization_servers`, `scopes_supported` (the contract's catalog) and
/// `bearer_methods_supported`. Empty members are left out (§3.2).
pub fn metadata_document(
    contract: &Contract,
    resource: &str,
    bearer_methods: &[&str],
    fallback_servers: &[String],
) -> Value {
    let mut doc = Map::new();
    doc.insert("resource".into(), json!(resource));
    let servers = if contract.authorization_servers().is_empty() {
        fallback_servers
    } else {
        contract.authorization_servers()
    };
    if !servers.is_empty() {
        doc.insert("authorization_servers".into(), json!(servers));
    }
    if !contract.scopes().is_empty() {
        doc.insert(
            "scopes_supported".into(),
            json!(contract.scopes().keys().collect::<Vec<_>>()),
        );
    }
    if !bearer_methods.is_empty() {
        doc.insert("bearer_methods_supported".into(), json!(bearer_methods));
    }
    Value::Object(doc)
}

/// A router serving `GET /.well-known/oauth-protected-resource` (and, for a
/// resource with a path, the path-inserted form of RFC 9728 §3.1) from the
/// contract in force. Merge it into the application *outside* `JwtLayer`: the
/// metadata is public.
///
/// The `resource` is the contract's `resource`; when the contract has none, the
/// URL the document is served under (`x-forwarded-proto` or `http`, and `Host`),
/// so that `resource` is always identical to the identifier the client built the
/// URL from (§3.3).
///
/// ```
/// use rampgate::contract::{Contract, ContractHandle};
///
/// let contract = ContractHandle::new(Contract::parse(r#"
///     version = 1
///     issuer = "https://login.example.com/"
///     resource = "https://api.example.com"
///     [scopes]
///     "profile:read" = "Read the profile"
/// "#).unwrap());
/// let app: axum::Router = rampgate::metadata::router(contract);
/// # let _ = app;
/// ```
pub fn router<S: Clone + Send + Sync + 'static>(contract: ContractHandle) -> Router<S> {
    router_with_servers(contract, Vec::new())
}

/// [`router`], announcing `authorization_servers` (for example the verifier's
/// issuers, `verifier.issuers()`) when the contract names none, so that clients
/// can find where to get a token.
pub fn router_with_servers<S: Clone + Send + Sync + 'static>(
    contract: ContractHandle,
    authorization_servers: Vec<String>,
) -> Router<S> {
    let state: MetadataState = (contract, std::sync::Arc::new(authorization_servers));
    Router::new()
        .route("/.well-known/oauth-protected-resource", get(root))
        .route(
            "/.well-known/oauth-protected-resource/{*rest}",
            get(with_path),
        )
        .with_state(state)
}

type MetadataState = (ContractHandle, std::sync::Arc<Vec<String>>);

async fn root(State((contract, servers)): State<MetadataState>, headers: HeaderMap) -> Response {
    serve(&contract, &servers, &headers, "")
}

async fn with_path(
    State((contract, servers)): State<MetadataState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&contract, &servers, &headers, &format!("/{rest}"))
}

fn serve(
    handle: &ContractHandle,
    servers: &[String],
    headers: &HeaderMap,
    inserted_path: &str,
) -> Response {
    let contract = handle.current();
    let resource = match contract.resource() {
        Some(resource) => {
            // The path inserted after the well-known segment must be the resource's own.
            let path = resource
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
                .unwrap_or("");
            if path.trim_end_matches('/') != inserted_path.trim_end_matches('/') {
                return StatusCode::NOT_FOUND.into_response();
            }
            resource.to_owned()
        }
        None => {
            let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .filter(|p| *p == "https" || *p == "http")
                .unwrap_or("http");
            format!("{scheme}://{host}{inserted_path}")
        }
    };
    let doc = metadata_document(&contract, &resource, &["header"], servers);
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        doc.to_string(),
    )
        .into_response()
}
