//! What the load servers share: the issuer and audience every token and every
//! verifier uses, argument parsing, the `/me` body and the listener.

use axum::Json;
use rampgate::Principal;
use serde::Serialize;
use serde_json::{Value, json};
use std::net::SocketAddr;

/// `iss` of every token, and the one issuer every server trusts.
pub const ISSUER: &str = "https://issuer.load.test";
/// `aud` of every token, and the one audience every server answers to.
pub const AUDIENCE: &str = "load-api";
/// `sub` of every token; `bare` answers with it too, so all bodies are the same size.
pub const SUBJECT: &str = "load-user";
/// `client_id` of every token: a consumer the quickstart's contract does not
/// name, so it is admitted at the contract's default stage.
pub const CLIENT_ID: &str = "load-client";
/// `scope` of every token.
pub const SCOPE: &str = "profile:read";

/// The JSON body of `GET /me`: the same members as the quickstart's `/me`
/// (`sub`, `client_id`, `scopes`), so every server sends the same bytes.
#[derive(Serialize)]
pub struct Me<'a> {
    /// The token's subject.
    pub sub: &'a str,
    /// The token's `client_id`.
    pub client_id: &'a str,
    /// The token's scopes.
    pub scopes: Vec<&'a str>,
}

impl Me<'_> {
    /// The body every server answers for the load tokens (`bare` answers it
    /// without looking at any token).
    pub fn fixed() -> Me<'static> {
        Me {
            sub: SUBJECT,
            client_id: CLIENT_ID,
            scopes: vec![SCOPE],
        }
    }
}

/// `<bin> PORT JWKS_URL`: the port to listen on (127.0.0.1) and the JWKS every
/// verifying server fetches its keys from at start.
pub fn args() -> (u16, String) {
    let mut args = std::env::args().skip(1);
    let usage = "usage: <server> PORT JWKS_URL";
    let port = args
        .next()
        .expect(usage)
        .parse()
        .expect("PORT must be a number");
    let jwks_url = args.next().expect(usage);
    (port, jwks_url)
}

/// The address a server listens on, printed with its worker count: tokio sizes
/// its pool from the CPU affinity mask, so 1 under `taskset -c 0`.
pub fn announce(name: &str, port: u16) -> SocketAddr {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    eprintln!("{name} listening on http://{addr} (available_parallelism = {cpus})");
    addr
}

/// The quickstart example's ramp contract, for the servers and benchmarks
/// built like the quickstart.
pub const QUICKSTART_CONTRACT: &str = include_str!("../../../examples/quickstart.contract.toml");

/// The quickstart's `GET /me` handler, as the example writes it: the
/// principal's `sub`, `client_id` and scopes.
pub async fn me(principal: Principal) -> Json<Value> {
    Json(json!({
        "sub": principal.sub(),
        "client_id": principal.client_id(),
        "scopes": principal.scopes(),
    }))
}

pub mod grpc;
