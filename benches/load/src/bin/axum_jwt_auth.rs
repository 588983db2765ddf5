//! `GET /me` behind `axum-jwt-auth` 0.7 (axum 0.8): a `RemoteJwksDecoder` on
//! the JWKS URL, ES256, `iss` and `aud` checked, the claims extracted with its
//! `Claims` extractor.

use axum::extract::FromRef;
use axum::{Json, Router, routing::get};
use axum_jwt_auth::{Claims, Decoder, RemoteJwksDecoder};
use jsonwebtoken10::{Algorithm, Validation};
use rampgate_load::{AUDIENCE, ISSUER, Me, announce, args};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Clone, Deserialize)]
struct TokenClaims {
    sub: String,
    client_id: String,
    scope: String,
}

#[derive(Clone, FromRef)]
struct State {
    decoder: Decoder<TokenClaims>,
}

async fn me(claims: Claims<TokenClaims>) -> Json<serde_json::Value> {
    let claims = claims.claims;
    Json(serde_json::json!(Me {
        sub: &claims.sub,
        client_id: &claims.client_id,
        scopes: claims.scope.split(' ').collect(),
    }))
}

#[tokio::main]
async fn main() {
    let (port, jwks_url) = args();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    let decoder = RemoteJwksDecoder::builder()
        .jwks_url(jwks_url)
        .validation(validation)
        .build()
        .expect("axum-jwt-auth");
    let _refresh = decoder.initialize().await.expect("JWKS");
    let state = State {
        decoder: Arc::new(decoder),
    };
    let app = Router::new().route("/me", get(me)).with_state(state);
    let listener = tokio::net::TcpListener::bind(announce("axum_jwt_auth", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
