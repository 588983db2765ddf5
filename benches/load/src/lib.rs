//! What the load servers share: the issuer and audience every token and every
//! verifier uses, argument parsing, the `/me` body and the listener.

use axum::Router;
use serde::Serialize;
use std::net::SocketAddr;

/// `iss` of every token, and the one issuer every server trusts.
pub const ISSUER: &str = "https://issuer.load.test";
/// `aud` of every token, and the one audience every server answers to.
pub const AUDIENCE: &str = "load-api";
/// `sub` of the valid token; `bare` answers with it too, so all bodies are the same size.
pub const SUBJECT: &str = "load-user";

/// The JSON body of `GET /me`.
#[derive(Serialize)]
pub struct Me<'a> {
    /// The token's subject.
    pub sub: &'a str,
}

/// `<bin> PORT JWK_FILE`: the port to listen on (127.0.0.1) and the public JWK.
pub fn args() -> (u16, String) {
    let mut args = std::env::args().skip(1);
    let usage = "usage: <server> PORT JWK_FILE";
    let port = args
        .next()
        .expect(usage)
        .parse()
        .expect("PORT must be a number");
    let jwk_file = args.next().expect(usage);
    let jwk = std::fs::read_to_string(&jwk_file).expect("cannot read JWK_FILE");
    (port, jwk)
}

/// Serves `app` on 127.0.0.1:`port` until killed.
pub async fn serve(name: &str, port: u16, app: Router) {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    // tokio sizes its worker pool from the CPU affinity mask: 1 under `taskset -c 0`.
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    eprintln!("{name} listening on http://{addr} (available_parallelism = {cpus})");
    axum::serve(listener, app).await.expect("serve");
}
