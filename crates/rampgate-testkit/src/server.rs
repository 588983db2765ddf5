//! The discovery and JWKS endpoints, and the faults they can be told to show.

use crate::lock;
use crate::{
    key::alg_name,
    shared::{Behaviour, Shared},
};

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::Ordering;

pub(crate) async fn discovery(State(s): State<Arc<Shared>>) -> Response {
    s.discovery_fetches.fetch_add(1, Ordering::Relaxed);
    let behaviour = lock(&s.behaviour).clone();
    if let Some(r) = misbehave(&behaviour).await {
        return r;
    }
    let doc = json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{}/jwks.json", s.issuer),
        "id_token_signing_alg_values_supported": [alg_name(s.alg)],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    });
    axum::Json(doc).into_response()
}

pub(crate) async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::Relaxed);
    let behaviour = lock(&s.behaviour).clone();
    if let Some(r) = misbehave(&behaviour).await {
        return r;
    }
    let body = match behaviour.jwks_body {
        Some(body) => body,
        None => jwks_document(&s).to_string(),
    };
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(max_age) = behaviour.max_age
        && let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}"))
    {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}

pub(crate) async fn misbehave(b: &Behaviour) -> Option<Response> {
    if !b.delay.is_zero() {
        tokio::time::sleep(b.delay).await;
    }
    b.outage.then(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "dev issuer: simulated outage",
        )
            .into_response()
    })
}

pub(crate) fn jwks_document(s: &Shared) -> Value {
    let keys: Vec<Value> = lock(&s.keys).iter().map(|k| k.public_jwk.clone()).collect();
    json!({ "keys": keys })
}
