//! The rampgate quickstart: an axum service with three routes.
//!
//! ```text
//! cargo run --example quickstart
//! ```
//!
//! - `GET /health`: public.
//! - `GET /ready`: public; the verifier's key health as JSON, 200 when every
//!   issuer has usable keys, 503 otherwise.
//! - `GET /me`: any valid token; answers its `sub`, `client_id` and `scopes`.
//!   Bearer tokens, and DPoP-bound tokens with their proofs (RFC 9449): DPoP
//!   is on by default here, tuned by `[dpop]` in the `RAMPGATE_CONFIG` file.
//! - `GET /profile`: requires the scope `profile:read` (403 `insufficient_scope`).
//!
//! Configuration (`rampgate::config`: the file named by `RAMPGATE_CONFIG`, then
//! these environment overrides):
//! - `RAMPGATE_ADDR`: listen address, default `127.0.0.1:3000`.
//! - `RAMPGATE_ISSUER` with `RAMPGATE_AUDIENCE`: the issuer to trust; keys from
//!   `RAMPGATE_JWKS_URL`, or from OIDC discovery on the issuer without it.
//! - `RAMPGATE_READY_TIMEOUT`: seconds to wait for the issuer's keys before
//!   listening, default 10 (`0`: do not wait); on timeout the example exits
//!   with an error naming the issuer.
//! - `RAMPGATE_CONTRACT`: a ramp contract file to enforce instead of the embedded
//!   `examples/quickstart.contract.toml`; it is watched and hot-reloaded. When it
//!   names an `issuer` and `audience` and no issuer is configured, they are used
//!   (with OIDC discovery).
//!
//! - `RAMPGATE_AUDIT`: a file to append one JSON line per request to (the
//!   audit trail, `docs/audit.md`); without it, audit events go to `tracing`.
//!
//! Tokens living longer than 24 hours (`exp - iat`), or without `iat`, are
//! refused: `[policy] max_token_lifetime_secs` in the `RAMPGATE_CONFIG` file
//! changes the limit (docs/getting-started.md, "Token lifetime").
//!
//! `GET /metrics` serves the Prometheus metrics (names in `docs/audit.md`).
//!
//! With no issuer configured at all, this example (never the library) starts the
//! embedded development issuer, says so on stderr, and prints ready-to-paste curl
//! commands with tokens it minted.
//!
//! `cargo run --example quickstart -- --inventory` prints the routes and scopes the
//! code declares, as JSON, for `rampgate contract routes FILE --inventory -`.

#[path = "support/mod.rs"]
mod support;

use axum::routing::get;
use axum::{Json, Router};
use rampgate::contract::Inventory;
use rampgate::{AuthStack, JwtLayer, Principal, ScopeLayer};
use rampgate_testkit::{DevIssuer, DpopKey};
use serde_json::{Value, json};
use std::net::SocketAddr;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing();

    // The routes and the scopes the code requires; recorded in an inventory.
    let mut inventory = Inventory::default();
    let read_profile = ScopeLayer::all(["profile:read"]).record(&mut inventory, "GET", "/profile");
    inventory = inventory.route("GET", "/me", Vec::<String>::new());
    if std::env::args().any(|a| a == "--inventory") {
        println!("{}", inventory.to_json());
        return Ok(());
    }

    // Before the verifier fetches its first keys, so that the JWKS metrics
    // count that fetch too.
    let metrics = support::metrics_route()?;
    let support::Setup {
        config,
        contract,
        verifier,
        dev,
    } = support::setup(include_str!("quickstart.contract.toml")).await?;
    let addr = config.listen_addr();
    let issuers: Vec<String> = verifier.issuers().map(str::to_owned).collect();
    let ready = support::ready_route(verifier.clone());
    let audit = support::audit_layer(&config, &contract, &verifier)?;
    // Kept to flush the audit queue once the server has stopped.
    let auditor = audit.auditor().clone();

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let metadata_url = format!("http://{addr}/.well-known/oauth-protected-resource");

    // The stack runs the audit layer first (it records JwtLayer's refusals
    // too), JwtLayer, then the contract; ScopeLayer on /profile states the
    // code's own requirement.
    let api_verifier = verifier.clone();
    // DPoP is on here by default; `[dpop]` in the RAMPGATE_CONFIG file tunes it.
    let jwt = config.dpop.clone().unwrap_or_default().apply(
        JwtLayer::new(verifier)
            .realm("quickstart")
            .resource_metadata(&metadata_url),
    )?;
    // Public, outside JwtLayer: RFC 9728 metadata, with the DPoP algorithms.
    let metadata = rampgate::metadata::MetadataRouter::new(contract.clone())
        .resource(format!("http://{addr}"))
        .authorization_servers(issuers)
        .bearer_methods_of(&jwt)
        .build();
    let api = Router::new()
        .route("/profile", get(profile).route_layer(read_profile))
        .route("/me", get(me));
    // One `route_layer` for the three: axum boxes and clones each route layer
    // per request, so one layer of three costs less than three of one.
    let app = AuthStack::from_jwt(jwt)
        .contract(contract.clone())
        .audit(audit)
        .protect(api)
        .route("/ready", ready)
        .route("/metrics", metrics)
        .route("/health", get(|| async { "ok" }))
        .merge(metadata);

    // `[admin]`: the admin router, for the operators' issuer and scope only.
    let app = support::with_admin(app, &config, &api_verifier).await?;

    println!("listening on {addr}");
    if let Some(dev) = &dev {
        print_try_it(dev, addr);
    }
    support::serve_audited(listener, app, &auditor).await?;
    Ok(())
}

async fn me(principal: Principal) -> Json<Value> {
    Json(json!({
        "sub": principal.sub(),
        "client_id": principal.client_id(),
        "scopes": principal.scopes(),
    }))
}

async fn profile(principal: Principal) -> Json<Value> {
    Json(json!({
        "sub": principal.sub(),
        "profile": { "display_name": principal.sub() },
    }))
}

fn print_try_it(dev: &DevIssuer, addr: SocketAddr) {
    // Tokens valid for an hour, so the commands keep working while you read.
    let reader = dev
        .token()
        .sub("alice")
        .client_id("quickstart-cli")
        .scopes(["profile:read"])
        .expires_in(3600)
        .sign();
    let plain = dev
        .token()
        .sub("bob")
        .client_id("quickstart-cli")
        .expires_in(3600)
        .sign();
    let expired = dev.token().sub("carol").expires_in(-3600).sign();
    // DPoP (RFC 9449): a token bound to a key made here, and one proof of it.
    let client = DpopKey::generate();
    let bound = dev
        .token()
        .sub("dora")
        .client_id("quickstart-agent")
        .dpop_bound(&client)
        .expires_in(3600)
        .sign();
    let proof = client
        .proof("GET", &format!("http://{addr}/me"))
        .access_token(&bound)
        .sign();
    println!(
        "\nembedded dev issuer: {} (audience {})\n\nTry it:\n\
         \x20 curl -i http://{addr}/health\n\
         \x20 curl -i http://{addr}/me                                            # 401, no token\n\
         \x20 curl -i -H 'Authorization: Bearer {reader}' http://{addr}/me\n\
         \x20 curl -i -H 'Authorization: Bearer {reader}' http://{addr}/profile   # 200\n\
         \x20 curl -i -H 'Authorization: Bearer {plain}' http://{addr}/profile    # 403 insufficient_scope\n\
         \x20 curl -i -H 'Authorization: DPoP {bound}' -H 'DPoP: {proof}' http://{addr}/me   # 200 once, within 60 s; again: 401 dpop_proof_replayed\n\
         \x20 curl -i -H 'Authorization: Bearer {expired}' http://{addr}/me       # 401 invalid_token (expired)\n\n\
         The DPoP token is bound to a key this process made (cnf.jkt), and each proof is good\n\
         for one request: docs/sender-constrained.md shows a client that makes its own.\n",
        dev.issuer(),
        dev.audience(),
    );
}
