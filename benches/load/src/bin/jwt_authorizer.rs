//! `GET /me` behind `jwt-authorizer` 0.15 (the most used dedicated crate), on
//! axum 0.7 as that crate requires: keys from the JWKS URL, `iss` and `aud`
//! checked, the claims extracted with its `JwtClaims` extractor.

use axum07::{Json, Router, routing::get};
use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
use rampgate_load::{AUDIENCE, ISSUER, Me, announce, args};
use serde::Deserialize;

#[derive(Clone, Deserialize)]
struct Claims {
    sub: String,
    client_id: String,
    scope: String,
}

async fn me(JwtClaims(claims): JwtClaims<Claims>) -> Json<serde_json::Value> {
    // The same work as the quickstart's handler: the claims into a JSON value.
    Json(serde_json::json!(Me {
        sub: &claims.sub,
        client_id: &claims.client_id,
        scopes: claims.scope.split(' ').collect(),
    }))
}

#[tokio::main]
async fn main() {
    let (port, jwks_url) = args();
    let auth: Authorizer<Claims> = JwtAuthorizer::from_jwks_url(&jwks_url)
        .validation(Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]))
        .build()
        .await
        .expect("jwt-authorizer");
    let app = Router::new().route("/me", get(me)).layer(auth.into_layer());
    let listener = tokio::net::TcpListener::bind(announce("jwt_authorizer", port))
        .await
        .expect("bind");
    axum07::serve(listener, app).await.expect("serve");
}
