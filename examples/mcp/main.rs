//! An MCP server behind rampgate: each tool has its own scope, ramp, step-up
//! and audit event.
//!
//! ```text
//! cargo run --example mcp --features mcp
//! ```
//!
//! An `rmcp` server over Streamable HTTP at `/mcp` with two tools:
//! `get_order` (`{"id": ...}`, scope `orders:read`) and `refund_order`
//! (scope `orders:refund`, trust level `sensitive`: an `mfa` login at most
//! 300 seconds old). `tools/list` shows only the tools the caller may call.
//! The contract is `examples/mcp/contract.toml`; `docs/mcp.md` explains it.
//!
//! Configuration, as the quickstart's (`rampgate::config`):
//! - `RAMPGATE_ADDR`: listen address, default `127.0.0.1:3000`.
//! - `RAMPGATE_ISSUER`, `RAMPGATE_JWKS_URL`: the issuer to trust (OIDC
//!   discovery without the JWKS URL). `RAMPGATE_AUDIENCE`: the audience its
//!   tokens must name, by default this server's canonical URI,
//!   `http://ADDR/mcp` (RFC 8707).
//! - `RAMPGATE_CONTRACT`: another contract file (watched, hot-reloaded).
//! - `RAMPGATE_AUDIT`: a file to append one JSON line per request to, each
//!   naming the MCP method and tool.
//!
//! Every 401 names the RFC 9728 metadata, served at
//! `/.well-known/oauth-protected-resource/mcp` with the contract's scopes.
//!
//! With no issuer configured at all, this example (never the library) starts
//! the embedded development issuer, says so on stderr, and prints
//! ready-to-paste commands for a real MCP client with tokens it minted.

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

mod orders;

use axum::Router;
use rampgate::AuthStack;
use rampgate::config::Config;
use rampgate::mcp::{McpGuard, McpLayer, McpResource};
use rampgate_testkit::DevIssuer;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing();

    // The canonical URI needs the bound address (RAMPGATE_ADDR may say port
    // 0), and the issuer's settings need the URI: the address first.
    let listen = Config::from_env_with(|name| match name {
        "RAMPGATE_ISSUER" | "RAMPGATE_AUDIENCE" | "RAMPGATE_JWKS_URL" => None,
        _ => std::env::var(name).ok(),
    })?
    .listen_addr();
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let resource = McpResource::new(format!("http://{addr}/mcp"))?;
    // RAMPGATE_AUDIENCE, else this server's own URI: tokens for another
    // resource are refused (audience_mismatch).
    let config = Config::from_env_with(|name| {
        let value = std::env::var(name).ok();
        match name {
            "RAMPGATE_AUDIENCE" if std::env::var_os("RAMPGATE_ISSUER").is_some() => {
                value.or_else(|| Some(resource.uri().to_owned()))
            }
            _ => value,
        }
    })?;
    let dev_issuer = DevIssuer::builder().audience(resource.uri());
    let support::Setup {
        config,
        contract,
        verifier,
        dev,
    } = support::setup_with(config, include_str!("contract.toml"), dev_issuer).await?;
    let audit = support::audit_layer(&config, &contract, &verifier)?;
    // Kept to flush the audit queue once the server has stopped.
    let auditor = audit.auditor().clone();
    let issuers: Vec<String> = verifier.issuers().map(str::to_owned).collect();

    let book = orders::Orders::default();
    let server = StreamableHttpService::new(
        move || Ok(book.clone()),
        LocalSessionManager::default().into(),
        StreamableHttpServerConfig::default(),
    );
    let jwt = config
        .jwt_layer(verifier)?
        .realm("mcp")
        .resource_metadata(resource.metadata_url());
    // Route layers run from the last added: McpLayer reads the JSON-RPC
    // message first, then audit → JWT → the contract decide on its tool.
    // McpGuard, around the server itself, refuses (500) any request the
    // contract did not decide per tool: a missing layer, or a nested router
    // whose path the contract's [mcp] endpoint does not name.
    let app = Router::new()
        .route_service("/mcp", McpGuard::new(server))
        .route_layer(
            AuthStack::from_jwt(jwt)
                .contract(contract.clone())
                .audit(audit),
        )
        .route_layer(McpLayer::new(contract.clone()))
        .merge(resource.metadata_router(contract, issuers));

    println!("listening on {addr}");
    if let Some(dev) = &dev {
        print_try_it(dev, &resource);
    }
    support::serve_audited_streaming(listener, app, &auditor).await?;
    Ok(())
}

fn print_try_it(dev: &DevIssuer, resource: &McpResource) {
    // Tokens valid for an hour, so the commands keep working while you read.
    let token = |scopes: &[&str]| {
        dev.token()
            .sub("alice")
            .client_id("agent-cli")
            .scopes(scopes.iter().copied())
            .expires_in(3600)
    };
    let reader = token(&["orders:read"]).sign();
    let refunder = token(&["orders:read", "orders:refund"]).sign();
    let stepped_up = token(&["orders:read", "orders:refund"])
        .acr("mfa")
        .auth_time_ago(0)
        .sign();
    let bot = dev
        .token()
        .sub("support-bot")
        .client_id("support-bot")
        .scopes(["orders:read", "orders:refund"])
        .expires_in(3600)
        .sign();
    let url = resource.uri();
    let client = "python3 examples/mcp/client.py";
    println!(
        "\nembedded dev issuer: {} (audience {url})\n\n\
         Try it with the official Python MCP SDK (pip install mcp):\n\
         \x20 curl -i -X POST {url}                                  # 401, resource_metadata\n\
         \x20 {client} {url} {reader} list                           # [\"get_order\"]\n\
         \x20 {client} {url} {reader} call get_order '{{\"id\":\"A1\"}}'\n\
         \x20 {client} {url} {reader} call refund_order '{{\"id\":\"A1\"}}'    # 403 insufficient_scope, scope=\"orders:refund\"\n\
         \x20 {client} {url} {refunder} call refund_order '{{\"id\":\"A1\"}}'  # 401 step-up: acr_values=\"mfa\"\n\
         \x20 {client} {url} {stepped_up} call refund_order '{{\"id\":\"A1\"}}'  # refunded\n\
         \x20 {client} {url} {bot} call refund_order '{{\"id\":\"A1\"}}'       # 403: support-bot's stage reads only\n",
        dev.issuer(),
    );
}
