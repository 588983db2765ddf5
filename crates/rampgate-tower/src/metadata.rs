//! RFC 9728 protected resource metadata, built from the contract.
//!
//! [`router`] serves it for a contract that names its `resource`;
//! [`MetadataRouter`] also takes the resource identifier, the authorization
//! servers and the `JwtLayer`'s bearer methods.

use crate::WELL_KNOWN;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rampgate_core::contract::{Contract, ContractHandle};
use serde_json::{Map, Value, json};
use std::sync::Arc;

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
/// contract in force: [`MetadataRouter::new(contract).build()`](MetadataRouter).
/// Merge it into the application *outside* `JwtLayer`: the metadata is public.
///
/// The `resource` is the contract's `resource`; a contract without one gets
/// 500 (set it, or use [`MetadataRouter::resource`]). `bearer_methods_supported`
/// is `["header"]`, what [`JwtLayer::new`](crate::JwtLayer::new) accepts; use
/// [`MetadataRouter::bearer_methods_of`] for a layer that accepts more.
///
/// ```
/// use rampgate_core::contract::{Contract, ContractHandle};
///
/// let contract = ContractHandle::new(Contract::parse(r#"
///     version = 1
///     issuer = "https://login.example.com/"
///     resource = "https://api.example.com"
///     [scopes]
///     "profile:read" = "Read the profile"
/// "#).unwrap());
/// let app: axum::Router = rampgate_tower::metadata::router(contract);
/// # let _ = app;
/// ```
pub fn router<S: Clone + Send + Sync + 'static>(contract: ContractHandle) -> Router<S> {
    MetadataRouter::new(contract).build()
}

/// Builds the RFC 9728 metadata router: where the `resource` identifier comes
/// from, and which authorization servers and bearer methods it announces.
///
/// The document is served from the contract in force (reloads show at once).
/// Its `resource` is, in this order: the contract's `resource`; the one given
/// to [`resource`](MetadataRouter::resource); the request's own URL, only after
/// [`resource_from_request_host`](MetadataRouter::resource_from_request_host).
/// Without any of them, the endpoint answers 500 and says so.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_tower::JwtLayer;
/// use rampgate_core::contract::{Contract, ContractHandle};
/// use rampgate_tower::metadata::MetadataRouter;
///
/// # let verifier = rampgate_testkit::OfflineIssuer::new().verifier().await.unwrap();
/// let contract = ContractHandle::new(Contract::parse(r#"
///     version = 1
///     [scopes]
///     "profile:read" = "Read the profile"
/// "#).unwrap());
/// let jwt = JwtLayer::new(verifier.clone()).allow_query_token("access_token");
/// let metadata: axum::Router = MetadataRouter::new(contract)
///     .resource("https://api.example.com")
///     .authorization_servers(verifier.issuers())
///     .bearer_methods_of(&jwt) // ["header", "query"]
///     .build();
/// # let _ = metadata;
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MetadataRouter {
    contract: ContractHandle,
    servers: Vec<String>,
    bearer_methods: &'static [&'static str],
    /// `dpop_signing_alg_values_supported` (RFC 9728 §2), when DPoP is on.
    dpop_algs: Vec<&'static str>,
    resource: Option<String>,
    /// `resource` wins over the contract's (an MCP server's URI, which its
    /// 401s point to).
    resource_wins: bool,
    from_request_host: bool,
}

impl MetadataRouter {
    /// A router for `contract`, announcing the bearer method `header` and no
    /// authorization server besides the contract's.
    pub fn new(contract: ContractHandle) -> Self {
        MetadataRouter {
            contract,
            servers: Vec::new(),
            bearer_methods: &["header"],
            dpop_algs: Vec::new(),
            resource: None,
            resource_wins: false,
            from_request_host: false,
        }
    }

    /// Announces these `authorization_servers` (for example the verifier's
    /// issuers, `verifier.issuers()`) when the contract names none, so that
    /// clients can find where to get a token.
    pub fn authorization_servers<I, S>(mut self, servers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.servers = servers.into_iter().map(Into::into).collect();
        self
    }

    /// Announces the bearer methods `jwt` accepts
    /// ([`JwtLayer::bearer_methods`](crate::JwtLayer::bearer_methods)): `header`,
    /// and `query` when it allows query tokens. Cookies and custom headers are
    /// not RFC 6750 methods and are never announced. When `jwt` checks DPoP
    /// proofs, also their algorithms, as `dpop_signing_alg_values_supported`.
    pub fn bearer_methods_of(mut self, jwt: &crate::JwtLayer) -> Self {
        self.bearer_methods = jwt.bearer_methods();
        self.dpop_algs = jwt.dpop_algs();
        self
    }

    /// The resource identifier (an absolute URL without a fragment) when the
    /// contract has no `resource`. The contract's wins: it can be changed by a
    /// reload.
    pub fn resource(mut self, url: impl Into<String>) -> Self {
        self.resource = Some(url.into());
        self
    }

    /// The resource identifier, whatever the contract's `resource` says:
    /// the URI the 401s of `McpResource` point to.
    #[cfg(feature = "mcp")]
    pub(crate) fn resource_over_contract(mut self, url: String) -> Self {
        self.resource = Some(url);
        self.resource_wins = true;
        self
    }

    /// Without a `resource` from the contract or [`resource`](Self::resource),
    /// builds it from the request: `x-forwarded-proto` (`http` or `https`,
    /// default `http`), `Host` and the inserted path. Those answers carry
    /// `Cache-Control: no-store`.
    ///
    /// **Warning:** both headers are the client's. Any client can make the
    /// document name another resource, and RFC 9728 §3.3 has clients check
    /// `resource` against the URL they came from, so this check then proves
    /// nothing. Use it only behind a proxy that sets `Host` and
    /// `x-forwarded-proto` itself and refuses hosts that are not yours, or for
    /// development on loopback.
    pub fn resource_from_request_host(mut self) -> Self {
        self.from_request_host = true;
        self
    }

    /// The router serving the metadata.
    pub fn build<S: Clone + Send + Sync + 'static>(self) -> Router<S> {
        let state = Arc::new(self);
        Router::new()
            .route(WELL_KNOWN, get(root))
            .route(&format!("{WELL_KNOWN}/{{*rest}}"), get(with_path))
            .with_state(state)
    }
}

type MetadataState = Arc<MetadataRouter>;

async fn root(State(config): State<MetadataState>, headers: HeaderMap) -> Response {
    serve(&config, &headers, "")
}

async fn with_path(
    State(config): State<MetadataState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    serve(&config, &headers, &format!("/{rest}"))
}

/// The answer when no `resource` can be served.
fn misconfigured(description: &'static str) -> Response {
    let body = json!({"error": "server_error", "description": description});
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        body.to_string(),
    )
        .into_response()
}

fn serve(config: &MetadataRouter, headers: &HeaderMap, inserted_path: &str) -> Response {
    let contract = config.contract.current();
    let configured = if config.resource_wins {
        config.resource.as_deref()
    } else {
        contract.resource().or(config.resource.as_deref())
    };
    let (resource, cache_control) = match configured {
        Some(resource) => {
            if !resource.contains("://") || resource.contains('#') {
                return misconfigured(
                    "the metadata router's resource is not an absolute URL without a fragment \
                     (RFC 9728)",
                );
            }
            // The path inserted after the well-known segment must be the resource's own.
            let path = resource
                .split_once("://")
                .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
                .unwrap_or("");
            if path.trim_end_matches('/') != inserted_path.trim_end_matches('/') {
                return StatusCode::NOT_FOUND.into_response();
            }
            (resource.to_owned(), "max-age=300")
        }
        None if config.from_request_host => {
            let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
                return StatusCode::NOT_FOUND.into_response();
            };
            let scheme = headers
                .get("x-forwarded-proto")
                .and_then(|h| h.to_str().ok())
                .filter(|p| *p == "https" || *p == "http")
                .unwrap_or("http");
            // Built from this request's headers: no cache may hand it to another client.
            (format!("{scheme}://{host}{inserted_path}"), "no-store")
        }
        None => {
            return misconfigured(
                "no resource identifier: set `resource` in the contract or \
                 MetadataRouter::resource(url); the request's Host is not trusted unless the \
                 router is built with MetadataRouter::resource_from_request_host()",
            );
        }
    };
    let mut doc = metadata_document(&contract, &resource, config.bearer_methods, &config.servers);
    if !config.dpop_algs.is_empty() {
        doc["dpop_signing_alg_values_supported"] = json!(config.dpop_algs);
    }
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::CACHE_CONTROL, cache_control),
        ],
        doc.to_string(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use tower::ServiceExt;

    fn handle(text: &str) -> ContractHandle {
        ContractHandle::new(Contract::parse(text).unwrap())
    }

    const NO_RESOURCE: &str = r#"
        version = 1
        [scopes]
        "items:read" = "Read items"
    "#;

    /// `GET path` with a `Host` and an `x-forwarded-proto` a client chose.
    async fn get(app: Router, path: &str) -> (StatusCode, HeaderMap, Value) {
        let request = axum::http::Request::get(path)
            .header(header::HOST, "evil.example")
            .header("x-forwarded-proto", "https")
            .body(axum::body::Body::empty())
            .unwrap();
        let response = app.oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (parts.status, parts.headers, body)
    }

    #[tokio::test]
    async fn without_a_resource_the_request_host_is_not_reflected() {
        let (status, _, body) = get(router(handle(NO_RESOURCE)), WELL_KNOWN).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(body["error"], "server_error");
        let description = body["description"].as_str().unwrap();
        assert!(description.contains("resource"), "{description}");
        assert!(!body.to_string().contains("evil.example"), "{body}");
    }

    #[tokio::test]
    async fn a_configured_resource_is_served_whatever_the_host() {
        let app = MetadataRouter::new(handle(NO_RESOURCE))
            .resource("https://api.example.com/v1")
            .build();
        let (status, headers, body) = get(app.clone(), &format!("{WELL_KNOWN}/v1")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["resource"], "https://api.example.com/v1");
        assert_eq!(headers[header::CACHE_CONTROL], "max-age=300");
        // Path insertion (RFC 9728 §3.1) applies to it as to the contract's.
        let (status, _, _) = get(app, WELL_KNOWN).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn the_contracts_resource_wins_over_the_configured_one() {
        let text = NO_RESOURCE.replace(
            "version = 1",
            "version = 1\nresource = \"https://contract.example\"",
        );
        let app = MetadataRouter::new(handle(&text))
            .resource("https://configured.example")
            .build();
        let (status, _, body) = get(app, WELL_KNOWN).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["resource"], "https://contract.example");
    }

    #[tokio::test]
    async fn a_configured_resource_that_is_no_url_is_refused() {
        let app = MetadataRouter::new(handle(NO_RESOURCE))
            .resource("api.example.com")
            .build();
        let (status, _, body) = get(app, WELL_KNOWN).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert!(
            body["description"]
                .as_str()
                .unwrap()
                .contains("absolute URL")
        );
    }

    #[tokio::test]
    async fn the_request_host_only_when_opted_in_and_never_cached() {
        let app = MetadataRouter::new(handle(NO_RESOURCE))
            .resource_from_request_host()
            .build();
        let (status, headers, body) = get(app, WELL_KNOWN).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body["resource"], "https://evil.example");
        assert_eq!(headers[header::CACHE_CONTROL], "no-store");
    }

    #[tokio::test]
    async fn bearer_methods_are_the_jwt_layers() {
        let verifier = rampgate_testkit::OfflineIssuer::new()
            .verifier()
            .await
            .unwrap();
        let methods = |jwt: crate::JwtLayer| async move {
            let app = MetadataRouter::new(handle(NO_RESOURCE))
                .resource("https://api.example.com")
                .bearer_methods_of(&jwt)
                .build();
            get(app, WELL_KNOWN).await.2["bearer_methods_supported"].clone()
        };
        let jwt = crate::JwtLayer::new(verifier).token_from_cookie("at");
        assert_eq!(methods(jwt.clone()).await, json!(["header"]));
        let jwt = jwt.allow_query_token("access_token");
        assert_eq!(methods(jwt.clone()).await, json!(["header", "query"]));
        // With DPoP, its algorithms too (RFC 9728 §2).
        let options = rampgate_core::dpop::DpopOptions::default().algorithms([
            rampgate_core::Algorithm::ES256,
            rampgate_core::Algorithm::EdDSA,
        ]);
        let jwt = jwt.dpop(rampgate_core::dpop::DpopChecker::new(options).unwrap());
        let app = MetadataRouter::new(handle(NO_RESOURCE))
            .resource("https://api.example.com")
            .bearer_methods_of(&jwt)
            .build();
        let doc = get(app, WELL_KNOWN).await.2;
        assert_eq!(
            doc["dpop_signing_alg_values_supported"],
            json!(["ES256", "EdDSA"])
        );
    }
}
