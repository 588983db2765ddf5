//! `GET /me` with no authentication at all: the ceiling.

use axum::{Json, Router, routing::get};
use rampgate_load::{Me, SUBJECT, args, serve};

#[tokio::main]
async fn main() {
    let (port, _jwk) = args();
    let app = Router::new().route("/me", get(|| async { Json(Me { sub: SUBJECT }) }));
    serve("bare", port, app).await;
}
