//! What the gRPC load servers and the load client share: the gRPC example's
//! generated code (`examples/grpc/generated/`, included, not copied), the
//! greeter of `grpc_bare` and `grpc_interceptor` (the example's replies, word
//! for word), the public health service, and the replies every server must send.

use crate::{CLIENT_ID, SUBJECT};
use helloworld::greeter_server::{Greeter, GreeterServer};
use helloworld::{HelloReply, HelloRequest};
use std::net::SocketAddr;
use std::pin::Pin;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// The example's messages, client and server, from `examples/grpc/proto/helloworld.proto`.
#[allow(missing_docs, unreachable_pub, clippy::all)]
pub mod helloworld {
    include!("../../../examples/grpc/generated/helloworld.rs");
}

/// `scope` of the gRPC tokens: what the example's contract requires.
pub const GRPC_SCOPE: &str = "greet";
/// `name` of every load request.
pub const NAME: &str = "load";
/// The most greetings one stream sends, as in the example.
pub const MAX_TIMES: u32 = 100;

/// The unary reply's text, in the example's words.
pub fn hello_text(name: &str, sub: &str, client_id: &str) -> String {
    format!("Hello {name}! (token of {sub}, client {client_id})")
}

/// The `i`th message of a stream, in the example's words.
pub fn stream_text(name: &str, i: u32) -> String {
    format!("Hello {name}! ({i})")
}

/// The verified caller, which `grpc_interceptor`'s interceptor puts into the
/// request's extensions, as rampgate puts its `Principal` there.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The token's `sub`.
    pub sub: String,
    /// The token's `client_id`.
    pub client_id: String,
}

/// The example's greeter without rampgate: it reads the [`Caller`] from the
/// request when it needs one (`grpc_interceptor`), or greets for the load
/// identity without reading any token (`grpc_bare`).
#[derive(Debug)]
pub struct LoadGreeter {
    needs_caller: bool,
}

impl LoadGreeter {
    /// The greeter of `grpc_bare`: every reply names the load token's subject
    /// and client, so that the replies are the example's, byte for byte.
    pub fn bare() -> Self {
        Self {
            needs_caller: false,
        }
    }

    /// The greeter behind an interceptor: a request without a [`Caller`] is refused.
    pub fn authenticated() -> Self {
        Self { needs_caller: true }
    }

    fn caller<T>(&self, request: &Request<T>) -> Result<(String, String), Status> {
        match request.extensions().get::<Caller>() {
            Some(caller) => Ok((caller.sub.clone(), caller.client_id.clone())),
            None if !self.needs_caller => Ok((SUBJECT.to_owned(), CLIENT_ID.to_owned())),
            None => Err(Status::unauthenticated("no verified caller")),
        }
    }
}

#[tonic::async_trait]
impl Greeter for LoadGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        let (sub, client_id) = self.caller(&request)?;
        let message = hello_text(&request.get_ref().name, &sub, &client_id);
        Ok(Response::new(HelloReply { message }))
    }

    type SayHelloStreamStream = Pin<Box<dyn Stream<Item = Result<HelloReply, Status>> + Send>>;

    async fn say_hello_stream(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<Self::SayHelloStreamStream>, Status> {
        self.caller(&request)?;
        let HelloRequest { name, times } = request.into_inner();
        let replies = (1..=times.clamp(1, MAX_TIMES)).map(move |i| {
            Ok(HelloReply {
                message: stream_text(&name, i),
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(replies))))
    }
}

/// Serves `greeter` beside the public `grpc.health.v1.Health`, on
/// 127.0.0.1:`port`, built as the example builds its server (the same
/// `TcpIncoming` with `TCP_NODELAY`, so the same socket options).
pub async fn serve<S>(name: &str, port: u16, greeter: S)
where
    S: tower::Service<http::Request<tonic::body::Body>, Error = std::convert::Infallible>
        + tonic::server::NamedService
        + Clone
        + Send
        + Sync
        + 'static,
    S::Response: axum::response::IntoResponse,
    S::Future: Send + 'static,
{
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<GreeterServer<LoadGreeter>>().await;
    let addr: SocketAddr = crate::announce(name, port);
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    tonic::transport::Server::builder()
        .add_service(greeter)
        .add_service(health_service)
        .serve_with_incoming(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
        )
        .await
        .expect("serve");
}
