//! `profile_stack [N] [bare|quickstart]`: N requests (default 200 000) with one
//! reused ES256 token through a router built like the quickstart's `/me`
//! (`JwtLayer` and the ramp contract as route layers, the same handler), or
//! through the bare handler, in process (`oneshot`, no socket). For an
//! instruction-level profile that a busy machine cannot skew:
//!
//! ```text
//! valgrind --tool=callgrind target/release/profile_stack 20000 quickstart
//! callgrind_annotate --inclusive=yes callgrind.out.<pid> | head -60
//! ```

use axum::{Json, Router, routing::get};
use http::header::AUTHORIZATION;
use rampgate::contract::{Contract, ContractHandle};
use rampgate::{ContractLayer, JwtLayer};
use rampgate_load::{AUDIENCE, CLIENT_ID, ISSUER, Me, QUICKSTART_CONTRACT, SCOPE, SUBJECT, me};
use rampgate_testkit::OfflineIssuer;
use serde_json::json;
use tower::ServiceExt as _;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(200_000, |a| a.parse().expect("N"));
    let which = args.next().unwrap_or_else(|| "quickstart".into());
    let issuer = OfflineIssuer::for_issuer(ISSUER, AUDIENCE);
    let token = issuer
        .token()
        .sub(SUBJECT)
        .client_id(CLIENT_ID)
        .scopes([SCOPE])
        .expires_in(3600)
        .sign();
    let verifier = issuer.verifier().await.expect("verifier");
    let contract = ContractHandle::new(Contract::parse(QUICKSTART_CONTRACT).expect("contract"));
    let app = match which.as_str() {
        "bare" => Router::new().route("/me", get(|| async { Json(json!(Me::fixed())) })),
        _ => Router::new()
            .route("/me", get(me))
            .route_layer(ContractLayer::new(contract))
            .route_layer(JwtLayer::new(verifier)),
    };
    let bearer = http::HeaderValue::from_str(&format!("Bearer {token}")).expect("header");
    let mut ok = 0usize;
    for _ in 0..n {
        let mut req = http::Request::get("/me")
            .body(axum::body::Body::empty())
            .expect("request");
        req.headers_mut().insert(AUTHORIZATION, bearer.clone());
        let response = app.clone().oneshot(req).await.expect("infallible");
        ok += usize::from(response.status() == 200);
    }
    assert_eq!(ok, n, "every request answered 200");
    eprintln!("{which}: {n} requests, all 200");
}
