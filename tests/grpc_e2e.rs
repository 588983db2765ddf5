//! gRPC end to end: a real tonic client over loopback against tonic services
//! behind the rampgate layers (and, separately, `JwtInterceptor`), with
//! dev-issuer tokens verified over a real JWKS. Every refusal asserts the exact
//! gRPC code, the reason code, the challenge in the metadata, and that the
//! handler did not run. The server mixes an axum route and tonic services on
//! one port, as `axum::serve` serves them (HTTP/1.1 and h2c).
#![allow(clippy::unwrap_used)]

mod common;

/// The generated messages, client and server of `examples/grpc/proto/helloworld.proto`.
#[allow(missing_docs, unreachable_pub, dead_code, clippy::all)]
mod helloworld {
    include!("../examples/grpc/generated/helloworld.rs");
}

use axum::Router;
use axum::routing::get;
use helloworld::greeter_client::GreeterClient;
use helloworld::greeter_server::{Greeter, GreeterServer};
use helloworld::{HelloReply, HelloRequest};
use rampgate::contract::{Contract, ContractHandle};
use rampgate::tonic::RequestExt;
use rampgate::{AuthStack, JwtInterceptor, JwtLayer, Principal};
use rampgate_testkit::DevIssuer;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_stream::Stream;
use tonic::service::{LayerExt, Routes};
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

const CONTRACT: &str = r#"
version = 1
[scopes]
greet = "Be greeted"

[defaults]
unknown_consumer = { stage = "default", scopes = ["greet"] }
unknown_route = "deny"

[[routes]]
method = "POST"
path = "/helloworld.Greeter/*"
scopes = ["greet"]
"#;

/// [`CONTRACT`] with the whole greeter at a step-up trust level.
fn step_up_contract() -> String {
    let text = CONTRACT.replace(
        "scopes = [\"greet\"]\n",
        "scopes = [\"greet\"]\ntrust = \"sensitive\"\n",
    ) + "[trust.sensitive]\nacr_values = [\"mfa\"]\n";
    assert!(text.contains("trust = \"sensitive\""));
    text
}

/// A greeter that counts the calls that reached it and reads the principal.
#[derive(Clone, Default)]
struct CountingGreeter {
    calls: Arc<AtomicUsize>,
}

type Replies = Pin<Box<dyn Stream<Item = Result<HelloReply, Status>> + Send>>;

#[tonic::async_trait]
impl Greeter for CountingGreeter {
    async fn say_hello(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<HelloReply>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let principal = request.principal()?;
        let decided = request.decision().is_some();
        let message = format!(
            "hello {} from {} (decided: {decided})",
            request.get_ref().name,
            principal.sub().unwrap_or("-")
        );
        Ok(Response::new(HelloReply { message }))
    }

    type SayHelloStreamStream = Replies;

    async fn say_hello_stream(
        &self,
        request: Request<HelloRequest>,
    ) -> Result<Response<Replies>, Status> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let sub = request.principal()?.sub().unwrap_or("-").to_owned();
        let times = request.get_ref().times;
        let replies = (1..=times).map(move |i| {
            Ok(HelloReply {
                message: format!("{i} for {sub}"),
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(replies))))
    }
}

struct Server {
    dev: DevIssuer,
    addr: SocketAddr,
    /// Calls that reached the greeter.
    greeter: Arc<AtomicUsize>,
    /// Calls that reached the axum handler.
    http: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Server {
    async fn client(&self) -> GreeterClient<Channel> {
        GreeterClient::connect(format!("http://{}", self.addr))
            .await
            .unwrap()
    }

    fn greeter_calls(&self) -> usize {
        self.greeter.load(Ordering::SeqCst)
    }
}

/// One port: `GET /me` behind `JwtLayer` (axum), the greeter behind
/// `AuthStack` with `contract`, and the health service, public.
async fn serve(contract: &str) -> Server {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let contract = ContractHandle::new(Contract::parse(contract).unwrap());
    let greeter = CountingGreeter::default();
    let calls = greeter.calls.clone();
    let http = Arc::new(AtomicUsize::new(0));
    let seen = http.clone();
    let stack = AuthStack::new(verifier.clone())
        .jwt(|jwt| jwt.realm("grpc"))
        .contract(contract);
    let (_, health) = tonic_health::server::health_reporter();
    let grpc = Routes::new(stack.named_layer(GreeterServer::new(greeter)))
        .add_service(health)
        .into_axum_router();
    let app = Router::new()
        .route(
            "/me",
            get(move |p: Principal| async move {
                seen.fetch_add(1, Ordering::SeqCst);
                p.sub().unwrap_or("-").to_owned()
            }),
        )
        .route_layer(JwtLayer::new(verifier).realm("grpc"))
        .merge(grpc);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Server {
        dev,
        addr,
        greeter: calls,
        http,
        task,
    }
}

/// A `SayHello` call with `token` in `authorization: Bearer`.
fn hello(token: Option<&str>) -> Request<HelloRequest> {
    let mut request = Request::new(HelloRequest {
        name: "grpc".into(),
        times: 3,
    });
    if let Some(token) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    request
}

/// Asserts a refusal: `code`, `reason` in `rampgate-reason` and first in the
/// message; returns the `www-authenticate` challenge ("" without one).
fn refused(status: &Status, code: Code, reason: &str) -> String {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(
        status.metadata().get("rampgate-reason").unwrap(),
        reason,
        "{status:?}"
    );
    assert!(status.message().starts_with(reason), "{}", status.message());
    status
        .metadata()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_valid_token_reaches_the_greeter_with_its_principal_and_decision() {
    // conformance: 6750-1
    let server = serve(CONTRACT).await;
    let token = server.dev.token().sub("alice").scopes(["greet"]).sign();
    let reply = server.client().await.say_hello(hello(Some(&token))).await;
    let reply = reply.unwrap().into_inner();
    assert_eq!(reply.message, "hello grpc from alice (decided: true)");
    assert_eq!(server.greeter_calls(), 1);
}

#[tokio::test]
async fn token_problems_are_unauthenticated_with_the_challenge() {
    // conformance: 6750-5, 6750-8, 6750-9
    let server = serve(CONTRACT).await;
    let mut client = server.client().await;

    let status = client.say_hello(hello(None)).await.unwrap_err();
    let challenge = refused(&status, Code::Unauthenticated, "token_missing");
    assert_eq!(challenge, r#"Bearer realm="grpc""#);

    let status = client
        .say_hello(hello(Some("not-a.jwt")))
        .await
        .unwrap_err();
    let challenge = refused(&status, Code::Unauthenticated, "token_malformed");
    assert!(
        challenge.starts_with(r#"Bearer realm="grpc", error="invalid_token""#),
        "{challenge}"
    );

    let expired = server.dev.token().scopes(["greet"]).expires_in(-600).sign();
    let status = client.say_hello(hello(Some(&expired))).await.unwrap_err();
    let challenge = refused(&status, Code::Unauthenticated, "token_expired");
    assert_eq!(
        challenge,
        r#"Bearer realm="grpc", error="invalid_token", error_description="token expired""#
    );

    // Two authorization headers: the request is malformed (INVALID_ARGUMENT).
    let token = server.dev.token().scopes(["greet"]).sign();
    let mut request = hello(Some(&token));
    request
        .metadata_mut()
        .append("authorization", format!("Bearer {token}").parse().unwrap());
    let status = client.say_hello(request).await.unwrap_err();
    let challenge = refused(&status, Code::InvalidArgument, "request_malformed");
    assert!(
        challenge.contains(r#"error="invalid_request""#),
        "{challenge}"
    );

    assert_eq!(server.greeter_calls(), 0, "the greeter must not run");
}

#[tokio::test]
async fn a_missing_scope_is_permission_denied_naming_the_scope() {
    // conformance: 6750-10
    let server = serve(CONTRACT).await;
    let token = server.dev.token().scopes(["other"]).sign();
    let status = server
        .client()
        .await
        .say_hello(hello(Some(&token)))
        .await
        .unwrap_err();
    let challenge = refused(&status, Code::PermissionDenied, "scope_insufficient");
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
    assert!(challenge.ends_with(r#"scope="greet""#), "{challenge}");
    assert_eq!(server.greeter_calls(), 0);
}

#[tokio::test]
async fn a_weak_authentication_is_permission_denied_with_acr_values() {
    // conformance: 9470-1, 9470-2
    let server = serve(&step_up_contract()).await;
    let mut client = server.client().await;
    let weak = server.dev.token().scopes(["greet"]).acr("pwd").sign();
    let status = client.say_hello(hello(Some(&weak))).await.unwrap_err();
    let challenge = refused(&status, Code::PermissionDenied, "acr_insufficient");
    assert!(
        challenge.contains(r#"error="insufficient_user_authentication""#),
        "{challenge}"
    );
    assert!(challenge.contains(r#"acr_values="mfa""#), "{challenge}");
    assert_eq!(server.greeter_calls(), 0);

    let strong = server.dev.token().scopes(["greet"]).acr("mfa").sign();
    client.say_hello(hello(Some(&strong))).await.unwrap();
    assert_eq!(server.greeter_calls(), 1);
}

#[tokio::test]
async fn the_health_service_needs_no_token() {
    let server = serve(CONTRACT).await;
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest::default())
        .await
        .unwrap();
    assert_eq!(
        reply.into_inner().status(),
        tonic_health::pb::health_check_response::ServingStatus::Serving
    );
}

#[tokio::test]
async fn a_stream_is_authorised_once_at_its_start() {
    let server = serve(CONTRACT).await;
    let mut client = server.client().await;
    let token = server.dev.token().sub("alice").scopes(["greet"]).sign();
    let mut stream = client
        .say_hello_stream(hello(Some(&token)))
        .await
        .unwrap()
        .into_inner();
    let mut messages = Vec::new();
    while let Some(reply) = stream.message().await.unwrap() {
        messages.push(reply.message);
    }
    assert_eq!(messages, ["1 for alice", "2 for alice", "3 for alice"]);
    assert_eq!(server.greeter_calls(), 1, "one authorisation, one call");

    // Refused before the stream starts: the call itself fails.
    let status = client.say_hello_stream(hello(None)).await.unwrap_err();
    refused(&status, Code::Unauthenticated, "token_missing");
    assert_eq!(server.greeter_calls(), 1);
}

#[tokio::test]
async fn one_port_answers_http_over_http_and_grpc_over_grpc() {
    let server = serve(CONTRACT).await;
    let http = reqwest::Client::new();
    let me = format!("http://{}/me", server.addr);

    // The axum route: HTTP 401 with the JSON body.
    let response = http.get(&me).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(
        response.headers()["www-authenticate"],
        r#"Bearer realm="grpc""#
    );
    assert_eq!(response.headers()["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
    assert_eq!(body["reason"], "token_missing");
    assert_eq!(server.http.load(Ordering::SeqCst), 0);

    // The gRPC method on the same port: a gRPC status.
    let mut client = server.client().await;
    let status = client.say_hello(hello(None)).await.unwrap_err();
    refused(&status, Code::Unauthenticated, "token_missing");
    assert_eq!(server.greeter_calls(), 0);

    // And both pass with a good token.
    let token = server.dev.token().sub("alice").scopes(["greet"]).sign();
    let response = http.get(&me).bearer_auth(&token).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.text().await.unwrap(), "alice");
    client.say_hello(hello(Some(&token))).await.unwrap();
    assert_eq!(server.greeter_calls(), 1);
    assert_eq!(server.http.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_interceptor_gives_the_same_codes() {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let greeter = CountingGreeter::default();
    let calls = greeter.calls.clone();
    let service =
        GreeterServer::with_interceptor(greeter, JwtInterceptor::new(verifier).realm("grpc"));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    let status = client.say_hello(hello(None)).await.unwrap_err();
    let challenge = refused(&status, Code::Unauthenticated, "token_missing");
    assert_eq!(challenge, r#"Bearer realm="grpc""#);
    let expired = dev.token().expires_in(-600).sign();
    let status = client.say_hello(hello(Some(&expired))).await.unwrap_err();
    let challenge = refused(&status, Code::Unauthenticated, "token_expired");
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the greeter must not run");

    let token = dev.token().sub("alice").sign();
    let mut request = hello(Some(&token));
    request
        .metadata_mut()
        .append("authorization", format!("Bearer {token}").parse().unwrap());
    let status = client.say_hello(request).await.unwrap_err();
    refused(&status, Code::InvalidArgument, "request_malformed");
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the greeter must not run");

    let reply = client.say_hello(hello(Some(&token))).await.unwrap();
    // No contract behind an interceptor: no decision.
    assert_eq!(
        reply.into_inner().message,
        "hello grpc from alice (decided: false)"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    task.abort();
}

#[tokio::test]
async fn unavailable_keys_are_unavailable_with_a_retry_pushback_and_no_challenge() {
    // The issuer is down before the first fetch: the service cannot judge
    // any token, which may well be valid.
    let dev = DevIssuer::start().await.unwrap();
    dev.set_outage(true);
    let verifier = rampgate::Verifier::builder()
        .issuer(dev.issuer_config())
        .build_without_waiting()
        .unwrap();
    let greeter = CountingGreeter::default();
    let calls = greeter.calls.clone();
    let service = JwtLayer::new(verifier).named_layer(GreeterServer::new(greeter));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let token = dev.token().sign();
    let status = client.say_hello(hello(Some(&token))).await.unwrap_err();
    let challenge = refused(&status, Code::Unavailable, "keys_unavailable");
    assert_eq!(challenge, "", "no challenge: the token is not at fault");
    assert_eq!(
        status.metadata().get("grpc-retry-pushback-ms").unwrap(),
        "5000"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    task.abort();
}

#[tokio::test]
async fn a_whole_tonic_server_behind_the_stack_decides_listed_methods_by_path() {
    // `Server::layer` wraps the server's `Routes`: no axum `MatchedPath` reaches
    // the contract, which decides the listed gRPC methods on their exact path
    // (with the `axum` feature on, this used to be 500 for every call).
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let contract = ContractHandle::new(Contract::parse(CONTRACT).unwrap());
    let greeter = CountingGreeter::default();
    let calls = greeter.calls.clone();
    let stack = AuthStack::new(verifier)
        .jwt(|jwt| jwt.realm("grpc"))
        .contract(contract);
    let (_, health) = tonic_health::server::health_reporter();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(stack)
            .add_service(GreeterServer::new(greeter))
            .add_service(health)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();

    let token = dev.token().sub("alice").scopes(["greet"]).sign();
    let reply = client.say_hello(hello(Some(&token))).await.unwrap();
    assert_eq!(
        reply.into_inner().message,
        "hello grpc from alice (decided: true)"
    );
    let other = dev.token().scopes(["other"]).sign();
    let status = client.say_hello(hello(Some(&other))).await.unwrap_err();
    refused(&status, Code::PermissionDenied, "scope_insufficient");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // Every service is behind the layer here, health included, and the
    // contract does not list it: a valid token gets `route_unknown`.
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = Request::new(HealthCheckRequest::default());
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    let status = HealthClient::new(channel).check(request).await.unwrap_err();
    refused(&status, Code::PermissionDenied, "route_unknown");
    task.abort();
}

#[tokio::test]
async fn the_audit_layer_records_one_event_per_grpc_call() {
    use rampgate::audit::{AuditLayer, Auditor};
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let contract = ContractHandle::new(Contract::parse(CONTRACT).unwrap());
    let kept = rampgate_testkit::MemorySink::new();
    let auditor = Auditor::builder().sink(kept.clone()).build().unwrap();
    let stack = AuthStack::new(verifier)
        .jwt(|jwt| jwt.realm("grpc"))
        .contract(contract)
        .audit(AuditLayer::new(auditor.clone()));
    let greeter = CountingGreeter::default();
    let calls = greeter.calls.clone();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(stack)
            .add_service(GreeterServer::new(greeter))
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let token = dev.token().sub("alice").scopes(["greet"]).sign();
    client.say_hello(hello(Some(&token))).await.unwrap();
    let status = client.say_hello(hello(None)).await.unwrap_err();
    refused(&status, Code::Unauthenticated, "token_missing");
    let other = dev.token().sub("bob").scopes(["other"]).sign();
    let status = client.say_hello(hello(Some(&other))).await.unwrap_err();
    refused(&status, Code::PermissionDenied, "scope_insufficient");
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    auditor.flush().await;
    let events = kept.events();
    assert_eq!(events.len(), 3, "one event per call: {events:?}");
    let field = |i: usize, name: &str| events[i][name].clone();
    for (i, outcome, reason, sub) in [
        (0, "allow", "allowed", Some("alice")),
        (1, "deny", "token_missing", None),
        (2, "deny", "scope_insufficient", Some("bob")),
    ] {
        assert_eq!(field(i, "type"), "decision");
        assert_eq!(field(i, "method"), "POST");
        assert_eq!(field(i, "outcome"), outcome, "{}", events[i]);
        assert_eq!(field(i, "reason"), reason);
        assert_eq!(field(i, "sub").as_str(), sub);
        // A gRPC answer, refusals included, is HTTP 200 (trailers-only).
        assert_eq!(field(i, "status"), 200);
        // tonic's TcpConnectInfo gives the peer, for the anomaly signals.
        let client = field(i, "client_addr");
        assert!(
            client.as_str().is_some_and(|a| a.starts_with("127.0.0.1:")),
            "{client}"
        );
    }
    // The contract decided the verified calls by the route that covers the
    // method: the whole service's `/*` here.
    assert_eq!(field(0, "route"), "POST /helloworld.Greeter/*");
    assert_eq!(field(2, "missing"), serde_json::json!(["greet"]));
    task.abort();
}

/// A tonic server of the greeter behind `JwtInterceptor`, inside an
/// `AuditLayer` writing to memory: the sink, the auditor, a client and the
/// server task.
async fn audited_interceptor(
    verifier: rampgate::Verifier,
) -> (
    rampgate_testkit::MemorySink,
    rampgate::audit::Auditor,
    GreeterClient<Channel>,
    tokio::task::JoinHandle<Result<(), tonic::transport::Error>>,
) {
    use rampgate::audit::{AuditLayer, Auditor};
    let kept = rampgate_testkit::MemorySink::new();
    let auditor = Auditor::builder().sink(kept.clone()).build().unwrap();
    let service = GreeterServer::with_interceptor(
        CountingGreeter::default(),
        JwtInterceptor::new(verifier).realm("grpc"),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .layer(AuditLayer::new(auditor.clone()))
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    (kept, auditor, client, task)
}

#[tokio::test]
async fn the_audit_layer_records_the_interceptors_refusals_as_denials() {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let (kept, auditor, mut client, task) = audited_interceptor(verifier).await;
    let status = client.say_hello(hello(None)).await.unwrap_err();
    refused(&status, Code::Unauthenticated, "token_missing");
    let expired = dev.token().expires_in(-600).sign();
    let status = client.say_hello(hello(Some(&expired))).await.unwrap_err();
    refused(&status, Code::Unauthenticated, "token_expired");
    let token = dev.token().sub("alice").scopes(["greet"]).sign();
    client.say_hello(hello(Some(&token))).await.unwrap();

    auditor.flush().await;
    let events = kept.events();
    assert_eq!(events.len(), 3, "{events:?}");
    let outcomes: Vec<(&str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["outcome"].as_str().unwrap(),
                e["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("deny", "token_missing"),
            ("deny", "token_expired"),
            ("allow", "allowed")
        ]
    );
    task.abort();
}

#[tokio::test]
async fn the_interceptor_leaves_the_audit_layer_its_facts_and_its_revocation_store() {
    use rampgate::revocation::{Revocation, RevocationList, RevocationStore};
    let dev = DevIssuer::start().await.unwrap();
    let list = RevocationList::new();
    let verifier = rampgate::Verifier::builder()
        .issuer(dev.issuer_config())
        .revocations(list.clone())
        .build()
        .await
        .unwrap();
    let (kept, auditor, mut client, task) = audited_interceptor(verifier).await;
    let expired = dev
        .token()
        .sub("mallory")
        .client_id("scraper")
        .expires_in(-600)
        .sign();
    let status = client.say_hello(hello(Some(&expired))).await.unwrap_err();
    refused(&status, Code::Unauthenticated, "token_expired");
    let token = dev.token().sub("alice").scopes(["greet"]).sign();
    client.say_hello(hello(Some(&token))).await.unwrap();
    // The interceptor's verifier's list, met through the calls: its changes
    // are audited with no watch_revocations call.
    list.revoke(Revocation::jti("leaked-grpc"), Some("ops"))
        .unwrap();

    auditor.flush().await;
    let events = kept.events();
    assert_eq!(events.len(), 3, "{events:?}");
    // The refused call: what the token claimed, unverified, and its
    // fingerprint; never a verified subject.
    assert_eq!(events[0]["reason"], "token_expired");
    assert!(events[0]["sub"].is_null(), "{}", events[0]);
    assert_eq!(events[0]["claimed"]["sub"], "mallory");
    assert_eq!(events[0]["claimed"]["client_id"], "scraper");
    assert!(events[0]["token_fp"].is_string(), "{}", events[0]);
    // The verified call: the principal.
    assert_eq!(events[1]["reason"], "allowed");
    assert_eq!(events[1]["sub"], "alice");
    assert_eq!(events[2]["type"], "revocation");
    assert_eq!(events[2]["value"], "leaked-grpc");
    task.abort();
}

/// RFC 9449 over gRPC with a real tonic client: `authorization: DPoP` and the
/// proof in the `dpop` metadata, whose `htu` is the service's URL and the
/// method's path and whose `htm` is POST.
#[tokio::test]
async fn a_dpop_bound_token_calls_with_its_proof_in_metadata() {
    use rampgate::dpop::{DpopChecker, DpopOptions};
    use rampgate_testkit::DpopKey;
    let dev = DevIssuer::start().await.unwrap();
    let verifier = rampgate::Verifier::builder()
        .issuer(dev.issuer_config())
        .build()
        .await
        .unwrap();
    let greeter = CountingGreeter::default();
    let calls = greeter.calls.clone();
    let checker = DpopChecker::new(DpopOptions::default()).unwrap();
    let service = JwtLayer::new(verifier)
        .dpop(checker)
        .dpop_public_url("https://greeter.example")
        .named_layer(GreeterServer::new(greeter));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(service)
            .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
    );
    let mut client = GreeterClient::connect(format!("http://{addr}"))
        .await
        .unwrap();
    let key = DpopKey::generate();
    let token = dev.token().dpop_bound(&key).sign();
    let call = |proof: &str| {
        let mut request = Request::new(HelloRequest {
            name: "agent".into(),
            times: 1,
        });
        let metadata = request.metadata_mut();
        metadata.insert("authorization", format!("DPoP {token}").parse().unwrap());
        metadata.insert("dpop", proof.parse().unwrap());
        request
    };
    let method = "https://greeter.example/helloworld.Greeter/SayHello";
    let proof = key.proof("POST", method).access_token(&token).sign();
    let reply = client.say_hello(call(&proof)).await.unwrap();
    assert_eq!(
        reply.into_inner().message,
        "hello agent from dev-user (decided: false)"
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // The same proof again, a proof for another method, another key's proof.
    let other_method = key
        .proof(
            "POST",
            "https://greeter.example/helloworld.Greeter/SayHelloStream",
        )
        .access_token(&token)
        .sign();
    let stranger = DpopKey::generate()
        .proof("POST", method)
        .access_token(&token)
        .sign();
    for (proof, reason) in [
        (proof, "dpop_proof_replayed"),
        (other_method, "dpop_proof_htu"),
        (stranger, "dpop_key_mismatch"),
    ] {
        let status = client.say_hello(call(&proof)).await.unwrap_err();
        let challenge = refused(&status, Code::Unauthenticated, reason);
        assert!(challenge.starts_with("DPoP algs="), "{challenge}");
    }
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "no refused call reached the greeter"
    );
    task.abort();
}
