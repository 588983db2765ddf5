//! `GET /me` without any authentication: the ceiling. It answers the same body
//! as the verifying servers, without reading any token.

use axum::{Json, Router, routing::get};
use rampgate_load::{Me, announce, args};

#[tokio::main]
async fn main() {
    let (port, _jwks_url) = args();
    let app = Router::new().route(
        "/me",
        get(|| async { Json(serde_json::json!(Me::fixed())) }),
    );
    let listener = tokio::net::TcpListener::bind(announce("bare", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
