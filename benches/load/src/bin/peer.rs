//! `GET /me` behind the middleware most axum projects write by hand: an
//! `axum::middleware::from_fn` that calls `jsonwebtoken::decode` with a
//! `DecodingKey` built once and a `Validation` for ES256, `iss`, `aud`, `exp`.
//!
//! (`jwt-authorizer` 0.15, the most used dedicated crate, depends on axum 0.7 and
//! jsonwebtoken 9, so it does not fit an axum 0.8 app.)

use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json, Router, routing::get};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode};
use rampgate_load::{AUDIENCE, ISSUER, Me, args, serve};
use serde::Deserialize;
use std::sync::Arc;

#[derive(Clone, Deserialize)]
struct Claims {
    sub: String,
}

struct Auth {
    key: DecodingKey,
    validation: Validation,
}

async fn auth(State(auth): State<Arc<Auth>>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return unauthorized();
    };
    match decode::<Claims>(token, &auth.key, &auth.validation) {
        Ok(data) => {
            req.extensions_mut().insert(data.claims);
            next.run(req).await
        }
        Err(_) => unauthorized(),
    }
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer")],
    )
        .into_response()
}

async fn me(Extension(claims): Extension<Claims>) -> Json<serde_json::Value> {
    Json(serde_json::json!(Me { sub: &claims.sub }))
}

#[tokio::main]
async fn main() {
    let (port, jwk) = args();
    let jwk: serde_json::Value = serde_json::from_str(&jwk).expect("JWK");
    let member = |name: &str| jwk[name].as_str().expect("JWK member").to_owned();
    let key = DecodingKey::from_ec_components(&member("x"), &member("y")).expect("EC key");
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_issuer(&[ISSUER]);
    validation.set_audience(&[AUDIENCE]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.leeway = 60;
    let state = Arc::new(Auth { key, validation });
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(middleware::from_fn_with_state(state, auth));
    serve("peer", port, app).await;
}
