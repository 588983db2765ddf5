//! The gRPC example's services without any authentication: the ceiling of
//! the gRPC runs. `helloworld.Greeter` (`SayHello`, `SayHelloStream`) with
//! the example's replies, for the load identity, without reading any token,
//! and the public `grpc.health.v1.Health`, on tonic 0.14. (The example's
//! server reflection is left out: no load run calls it.)
//!
//! `grpc_bare PORT JWKS_URL` (the JWKS URL is not used).

use rampgate_load::args;
use rampgate_load::grpc::helloworld::greeter_server::GreeterServer;
use rampgate_load::grpc::{LoadGreeter, serve};

#[tokio::main]
async fn main() {
    let (port, _jwks_url) = args();
    serve("grpc_bare", port, GreeterServer::new(LoadGreeter::bare())).await;
}
