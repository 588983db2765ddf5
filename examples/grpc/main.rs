//! The rampgate gRPC example: a tonic server whose greeter needs a token.
//!
//! ```text
//! cargo run --example grpc --features tonic
//! ```
//!
//! - `helloworld.Greeter/SayHello` and the server-streaming
//!   `helloworld.Greeter/SayHelloStream`: a valid token with the scope `greet`,
//!   from any consumer (the contract, `examples/grpc/contract.toml`, admits
//!   unknown consumers at a default stage that allows `greet`). The stream is
//!   authorised once, when it starts.
//! - `grpc.health.v1.Health`: public.
//! - Server reflection, `grpc.reflection.v1` and `v1alpha`: public, so that
//!   `grpcurl` (old and new builds) lists and calls the methods without the
//!   `.proto` file.
//!
//! A refusal is a gRPC status: `UNAUTHENTICATED` for a missing or bad token,
//! `PERMISSION_DENIED` for a missing scope, with the RFC 6750 challenge in
//! the `www-authenticate` metadata (docs/grpc.md).
//!
//! Configuration, as for the quickstart (`rampgate::config`): `RAMPGATE_ADDR`
//! (default `127.0.0.1:3000`), `RAMPGATE_ISSUER` with `RAMPGATE_AUDIENCE` and
//! `RAMPGATE_JWKS_URL` (OIDC discovery without it), `RAMPGATE_READY_TIMEOUT`,
//! `RAMPGATE_CONTRACT`. With no issuer configured, this example (never the
//! library) starts the embedded development issuer, says so on stderr, and
//! prints ready-to-paste commands with tokens it minted, for the example
//! client (`cargo run --example grpc_client`, nothing to install) and for
//! `grpcurl`.
//!
//! `cargo run --example grpc --features tonic -- --inventory` prints the
//! methods and scopes the code relies on, as JSON, for `rampgate contract
//! routes examples/grpc/contract.toml --inventory -`.
//!
//! The code in `generated/` is checked in: generated from `proto/` by
//! `cargo run --manifest-path tools/grpc-codegen/Cargo.toml` (protox, a
//! pure-Rust proto compiler), so no build needs `protoc`.

#[path = "../support/mod.rs"]
#[allow(dead_code)]
mod support;

/// The generated messages, client and server of `proto/helloworld.proto`.
#[allow(missing_docs, unreachable_pub, clippy::all)]
mod helloworld {
    include!("generated/helloworld.rs");

    /// The file descriptor set, for server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = include_bytes!("generated/helloworld_descriptor.bin");
}

use helloworld::greeter_server::{Greeter, GreeterServer};
use helloworld::{HelloReply, HelloRequest};
use rampgate::AuthStack;
use rampgate::tonic::RequestExt;
use rampgate_testkit::DevIssuer;
use std::net::SocketAddr;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::service::LayerExt;
use tonic::{Request, Response, Status};

/// The greeter: it reads the verified principal from the request.
#[derive(Debug, Default)]
struct MyGreeter;

/// The most greetings one stream sends.
const MAX_TIMES: u32 = 100;

#[tonic::async_trait]
impl Greeter for MyGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let principal = request.principal()?;
        let message = format!(
            "Hello {}! (token of {}, client {})",
            request.get_ref().name,
            principal.sub().unwrap_or("-"),
            principal.client_id().unwrap_or("-"),
        );
        Ok(Response::new(HelloReply { message }))
    }

    type SayHelloStreamStream = Pin<Box<dyn Stream<Item = Result<HelloReply, Status>> + Send>>;

    async fn say_hello_stream(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<Self::SayHelloStreamStream>, Status> {
        // Authorised once, here: the layers ran before this call, and the
        // messages below need no further check.
        request.principal()?;
        let HelloRequest { name, times } = request.into_inner();
        let replies = (1..=times.clamp(1, MAX_TIMES)).map(move |i| {
            Ok(HelloReply {
                message: format!("Hello {name}! ({i})"),
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(replies))))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing();
    // The methods and the scopes the code relies on, for
    // `rampgate contract routes examples/grpc/contract.toml --inventory -`.
    if std::env::args().any(|a| a == "--inventory") {
        let inventory = rampgate::contract::Inventory::default()
            .route("POST", "/helloworld.Greeter/SayHello", ["greet"])
            .route("POST", "/helloworld.Greeter/SayHelloStream", ["greet"]);
        println!("{}", inventory.to_json());
        return Ok(());
    }
    let support::Setup {
        config,
        contract,
        verifier,
        dev,
    } = support::setup(include_str!("contract.toml")).await?;

    // JWT → contract → step-up, around the greeter alone; `named_layer` keeps
    // the service's gRPC name, so it is added like any tonic service.
    let stack = AuthStack::new(verifier)
        .jwt(|jwt| jwt.realm("grpc-example"))
        .contract(contract);
    let greeter = stack.named_layer(GreeterServer::new(MyGreeter));

    // Health and reflection stay public: no layer around them.
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<GreeterServer<MyGreeter>>().await;
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(helloworld::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };

    let listener = tokio::net::TcpListener::bind(config.listen_addr()).await?;
    let addr = listener.local_addr()?;
    let server = tonic::transport::Server::builder()
        .add_service(greeter)
        .add_service(health_service)
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);

    println!("listening on {addr}");
    if let Some(dev) = &dev {
        print_try_it(dev, addr);
    }
    server
        .serve_with_incoming_shutdown(
            // TCP_NODELAY, as tonic's own `serve` sets it: without it, a
            // stream's later messages wait for the client's delayed ACK
            // (40 ms on Linux) whenever they leave in more than one write.
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            async {
                let _ = tokio::signal::ctrl_c().await;
            },
        )
        .await?;
    Ok(())
}

fn print_try_it(dev: &DevIssuer, addr: SocketAddr) {
    // Tokens valid for an hour, so the commands keep working while you read.
    let greeter = dev
        .token()
        .sub("alice")
        .client_id("grpc-cli")
        .scopes(["greet"])
        .expires_in(3600)
        .sign();
    let no_scope = dev
        .token()
        .sub("bob")
        .client_id("grpc-cli")
        .expires_in(3600)
        .sign();
    let expired = dev.token().sub("carol").expires_in(-3600).sign();
    let client =
        format!("RAMPGATE_ADDR={addr} cargo run --example grpc_client --features tonic --");
    println!(
        "\nembedded dev issuer: {} (audience {})\n\nTry it with the example client (nothing to install):\n\
         \x20 {client} health\n\
         \x20 {client} hello                 # UNAUTHENTICATED, no token\n\
         \x20 {client} hello {greeter}\n\
         \x20 {client} stream {greeter}\n\
         \x20 {client} hello {no_scope}   # PERMISSION_DENIED, scope=\"greet\"\n\
         \x20 {client} hello {expired}   # UNAUTHENTICATED, token expired\n\
         \nor with grpcurl (it uses the server's reflection):\n\
         \x20 grpcurl -plaintext {addr} list\n\
         \x20 grpcurl -plaintext {addr} grpc.health.v1.Health/Check\n\
         \x20 grpcurl -plaintext -H 'authorization: Bearer {greeter}' -d '{{\"name\":\"alice\"}}' {addr} helloworld.Greeter/SayHello\n\
         \x20 grpcurl -plaintext -v -d '{{\"name\":\"alice\"}}' {addr} helloworld.Greeter/SayHello   # Unauthenticated\n",
        dev.issuer(),
        dev.audience(),
    );
}
