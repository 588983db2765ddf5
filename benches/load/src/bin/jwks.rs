//! `jwks PORT JWKS_FILE`: serves the file at `GET /jwks`, as an issuer's JWKS
//! endpoint would. Every verifying server fetches its keys from here at start.

use axum::{Router, http::header, routing::get};
use rampgate_load::announce;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: jwks PORT JWKS_FILE";
    let port: u16 = args.next().expect(usage).parse().expect("PORT");
    let jwks = std::fs::read_to_string(args.next().expect(usage)).expect("JWKS_FILE");
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let jwks = jwks.clone();
            async move { ([(header::CONTENT_TYPE, "application/json")], jwks) }
        }),
    );
    let listener = tokio::net::TcpListener::bind(announce("jwks", port))
        .await
        .expect("bind");
    axum::serve(listener, app).await.expect("serve");
}
