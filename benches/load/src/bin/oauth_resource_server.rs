//! `GET /me` behind `oauth-resource-server` 0.3 (axum 0.8): an `OAuthValidator`
//! with its `jwks_uri` set to the JWKS URL (so no issuer discovery), `iss` and
//! `aud` checked, the token's scope required (the crate refuses a config with
//! neither a required scope nor `require_at_jwt`), its `AuthLayer` on the route
//! and the claims read from its `AuthorizedToken` extractor.

use axum::{Json, Router, routing::get};
use oauth_resource_server::axum::AuthLayer;
use oauth_resource_server::{AuthorizedToken, KeyNaming, OAuthConfig, OAuthValidator};
use rampgate_load::{AUDIENCE, ISSUER, Me, SCOPE, announce, args};
use std::sync::Arc;
use std::time::Duration;

async fn me(token: AuthorizedToken) -> Json<serde_json::Value> {
    // The same work as the other servers' handlers: the claims into a JSON value.
    Json(serde_json::json!(Me {
        sub: token.subject.as_deref().unwrap_or_default(),
        client_id: token.client_id.as_deref().unwrap_or_default(),
        scopes: token.scopes.iter().map(String::as_str).collect(),
    }))
}

#[tokio::main]
async fn main() {
    let (port, jwks_url) = args();
    let resolved = OAuthConfig {
        enabled: true,
        issuer: ISSUER.into(),
        jwks_uri: Some(jwks_url),
        audience: AUDIENCE.into(),
        resource: format!("http://127.0.0.1:{port}/"),
        required_scope: Some(SCOPE.into()),
        ..OAuthConfig::default()
    }
    .resolve(KeyNaming::Dotted("oauth"))
    .expect("oauth-resource-server config")
    .expect("enabled");
    let validator = Arc::new(OAuthValidator::new(&resolved).expect("oauth-resource-server"));
    // The crate's startup: the first key load now, then hourly. Wait for it, as
    // the other servers do, so that no request finds the key set empty.
    validator.spawn_background_refresh();
    for _ in 0..100 {
        if validator.is_ready() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(validator.is_ready(), "JWKS not loaded");
    let auth = AuthLayer::builder()
        .oauth(validator)
        .build()
        .expect("AuthLayer");
    let app = Router::new().route("/me", get(me)).route_layer(auth);
    let listener = tokio::net::TcpListener::bind(announce("oauth_resource_server", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
