//! `GET /me` behind `rampgate::JwtLayer`, with a static key set (no network).

use axum::{Json, Router, routing::get};
use rampgate::{IssuerConfig, JwtLayer, Key, KeySet, Principal, Verifier};
use rampgate_load::{AUDIENCE, ISSUER, Me, args, serve};

async fn me(principal: Principal) -> Json<serde_json::Value> {
    Json(serde_json::json!(Me {
        sub: principal.sub().unwrap_or_default()
    }))
}

#[tokio::main]
async fn main() {
    let (port, jwk) = args();
    let key = Key::from_jwk_json(&jwk).expect("JWK");
    let verifier = Verifier::builder()
        .issuer(
            IssuerConfig::new(ISSUER, [AUDIENCE]).keys(KeySet::from_keys([key]).expect("key set")),
        )
        .build()
        .await
        .expect("verifier");
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(JwtLayer::new(verifier));
    serve("rampgate", port, app).await;
}
