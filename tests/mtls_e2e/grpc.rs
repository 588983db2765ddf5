//! gRPC over the TLS server: a tonic greeter behind `JwtLayer`, served by
//! `TlsServer`, called by a tonic client whose connections are rustls ones
//! presenting client A's certificate, B's, or none.

use crate::pki::{Identity, Pki};
use rampgate::JwtLayer;
use rampgate::binding::ClientCertificate;
use rampgate::tls::TlsServer;
use rampgate_testkit::OfflineIssuer;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_stream::Stream;
use tonic::service::{LayerExt, Routes};
use tonic::transport::{Channel, Endpoint};
use tonic::{Code, Request, Response, Status};

/// The generated messages, client and server of `examples/grpc/proto/helloworld.proto`.
#[allow(missing_docs, unreachable_pub, dead_code, clippy::all)]
mod helloworld {
    include!("../../examples/grpc/generated/helloworld.rs");
}

use helloworld::greeter_client::GreeterClient;
use helloworld::greeter_server::{Greeter, GreeterServer};
use helloworld::{HelloReply, HelloRequest};

/// Answers with the thumbprint of the client certificate it was called with,
/// counting its calls.
#[derive(Clone, Default)]
struct CertificateGreeter {
    calls: Arc<AtomicUsize>,
}

type Replies = Pin<Box<dyn Stream<Item = Result<HelloReply, Status>> + Send>>;

#[tonic::async_trait]
impl Greeter for CertificateGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let certificate = request.extensions().get::<ClientCertificate>();
        let message = certificate.map_or("none".to_owned(), |c| c.thumbprint().to_string());
        Ok(Response::new(HelloReply { message }))
    }

    type SayHelloStreamStream = Replies;

    async fn say_hello_stream(
        &self,
        _: Request<HelloRequest>,
    ) -> Result<Response<Replies>, Status> {
        Err(Status::unimplemented("not in this test"))
    }
}

/// A tonic channel to `addr` over rustls, presenting `identity` (or none).
async fn channel(pki: &Pki, addr: SocketAddr, identity: Option<&Identity>) -> Channel {
    let config = Arc::new(pki.client_config(identity, b"h2"));
    let connector = tower::service_fn(move |_: http::Uri| {
        let config = config.clone();
        async move {
            let tcp = tokio::net::TcpStream::connect(addr).await?;
            let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
            let tls = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await?;
            Ok::<_, std::io::Error>(hyper_util::rt::TokioIo::new(tls))
        }
    });
    Endpoint::from_static("http://localhost")
        .connect_with_connector(connector)
        .await
        .unwrap()
}

fn hello(token: &str) -> Request<HelloRequest> {
    let mut request = Request::new(HelloRequest {
        name: "mtls".into(),
        times: 1,
    });
    let bearer = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", bearer);
    request
}

/// The refusal's gRPC code and its reason code (metadata `rampgate-reason`).
fn refusal(status: &Status) -> (Code, &str) {
    let reason = status.metadata().get("rampgate-reason").unwrap();
    (status.code(), reason.to_str().unwrap())
}

// conformance: 8705-1
#[tokio::test]
async fn a_certificate_bound_token_over_grpc_passes_only_with_its_certificate() {
    let pki = Pki::new();
    let issuer = OfflineIssuer::new();
    let greeter = CertificateGreeter::default();
    let calls = greeter.calls.clone();
    let verifier = issuer.verifier().await.unwrap();
    let service = JwtLayer::new(verifier).named_layer(GreeterServer::new(greeter));
    let app = Routes::new(service).into_axum_router();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(TlsServer::new(pki.server_config(false)).serve(listener, app));
    let token = pki.a.bound_token(&issuer);

    let mut a = GreeterClient::new(channel(&pki, addr, Some(&pki.a)).await);
    let reply = a.say_hello(hello(&token)).await.unwrap().into_inner();
    assert_eq!(reply.message, pki.a.x5t());
    let mut b = GreeterClient::new(channel(&pki, addr, Some(&pki.b)).await);
    let status = b.say_hello(hello(&token)).await.unwrap_err();
    assert_eq!(
        refusal(&status),
        (Code::Unauthenticated, "certificate_mismatch")
    );
    let mut none = GreeterClient::new(channel(&pki, addr, None).await);
    let status = none.say_hello(hello(&token)).await.unwrap_err();
    assert_eq!(
        refusal(&status),
        (Code::Unauthenticated, "certificate_missing")
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "the greeter ran on a refusal"
    );
    server.abort();
}
