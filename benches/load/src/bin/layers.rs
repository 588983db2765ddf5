//! `GET /me` behind rampgate's authorization layers only: `JwtLayer` (keys
//! from the JWKS URL, token cache on, the default) and the quickstart's ramp
//! contract, without the quickstart's audit trail and metrics. It shows what
//! the authorization itself costs next to the whole quickstart.

use axum::{Router, routing::get};
use rampgate::contract::{Contract, ContractHandle};
use rampgate::{ContractLayer, IssuerConfig, JwtLayer, Verifier};
use rampgate_load::{AUDIENCE, ISSUER, QUICKSTART_CONTRACT, announce, args, me};
use std::time::Duration;

#[tokio::main]
async fn main() {
    let (port, jwks_url) = args();
    let verifier = Verifier::builder()
        .issuer(IssuerConfig::new(ISSUER, [AUDIENCE]).jwks_url(&jwks_url))
        .build()
        .await
        .expect("verifier");
    verifier
        .wait_ready(Duration::from_secs(10))
        .await
        .expect("keys");
    let contract = ContractHandle::new(Contract::parse(QUICKSTART_CONTRACT).expect("contract"));
    let app = Router::new()
        .route("/me", get(me))
        .route_layer(ContractLayer::new(contract))
        .route_layer(JwtLayer::new(verifier));
    let listener = tokio::net::TcpListener::bind(announce("layers", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
