//! The boundary's invariant, as a matrix over real sockets: every supported
//! composition of the layers × every property a contract declares for a route
//! (scopes, the consumer's stage, the roll-out mode, the trust level,
//! `audit = "required"`) × {met, not met}.
//!
//! Whenever a property is not met, the answer has the exact status and reason
//! code, `Cache-Control: no-store`, and the handler did not run. A composition
//! that cannot enforce a property refuses every request with 500
//! `layers_misconfigured` (gRPC 13 `INTERNAL`), never a pass.
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
use rampgate::audit::Auditor;
use rampgate::contract::{Contract, ContractHandle};
use rampgate::{AuditLayer, AuthStack, ContractLayer, JwtInterceptor, JwtLayer, Principal};
use rampgate_testkit::DevIssuer;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio_stream::Stream;
use tonic::service::LayerExt;
use tonic::transport::Channel;

/// What a contract declares for both `GET /hello` and the greeter's `SayHello`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Property {
    Scopes,
    Stage,
    Observe,
    Trust,
    Audit,
}

const PROPERTIES: [Property; 5] = [
    Property::Scopes,
    Property::Stage,
    Property::Observe,
    Property::Trust,
    Property::Audit,
];

/// A contract declaring `property` on the HTTP route and the gRPC method (the
/// method by its exact path, or by its service pattern for the last three).
fn contract(property: Property) -> ContractHandle {
    let (rule, grpc_path) = match property {
        Property::Scopes => (r#"scopes = ["read"]"#, "/helloworld.Greeter/SayHello"),
        Property::Stage => (r#"scopes = ["write"]"#, "/helloworld.Greeter/SayHello"),
        Property::Observe => (
            "scopes = [\"write\"]\nmode = \"observe\"",
            "/helloworld.Greeter/SayHello",
        ),
        Property::Trust => (
            "scopes = [\"read\"]\ntrust = \"sensitive\"",
            "/helloworld.Greeter/*",
        ),
        Property::Audit => (
            "scopes = [\"read\"]\naudit = \"required\"",
            "/helloworld.Greeter/*",
        ),
    };
    let text = format!(
        r#"
version = 1
[scopes]
read = "Read"
write = "Write"
[trust.sensitive]
acr_values = ["mfa"]
[defaults]
unknown_route = "deny"
[[routes]]
method = "GET"
path = "/hello"
{rule}
[[routes]]
method = "POST"
path = "{grpc_path}"
{rule}
[[consumers]]
client_id = "app"
stage = "one"
stages = [{{ name = "one", scopes = ["read"] }}]
[[consumers]]
client_id = "full"
stage = "two"
stages = [{{ name = "two", scopes = ["read", "write"] }}]
"#
    );
    ContractHandle::new(Contract::parse(&text).unwrap())
}

/// A token that meets `property` (or not), as far as a token can.
fn token(dev: &DevIssuer, property: Property, met: bool) -> String {
    let base = dev.token().sub("alice");
    let token = match (property, met) {
        (Property::Scopes | Property::Audit, true) => base.client_id("app").scopes(["read"]),
        (Property::Scopes, false) => base.client_id("app").scopes(["write"]),
        (Property::Stage | Property::Observe, true) => {
            base.client_id("full").scopes(["read", "write"])
        }
        (Property::Stage, false) => base.client_id("app").scopes(["read", "write"]),
        (Property::Observe, false) => base.client_id("app").scopes(["read"]),
        (Property::Trust, true) => base.client_id("app").scopes(["read"]).acr("mfa"),
        (Property::Trust, false) => base.client_id("app").scopes(["read"]).acr("pwd"),
        // The audit property is met by the composition, not the token.
        (Property::Audit, false) => base.client_id("app").scopes(["read"]),
    };
    token.sign()
}

/// The expected refusal `(HTTP status, gRPC code, reason)`, or `None` for a pass.
fn expected(property: Property, met: bool, audited: bool) -> Option<(i32, i32, &'static str)> {
    match (property, met) {
        (Property::Audit, _) if !audited => Some((500, 13, "layers_misconfigured")),
        (_, true) | (Property::Observe, false) | (Property::Audit, false) => None,
        (Property::Scopes, false) => Some((403, 7, "scope_insufficient")),
        (Property::Stage, false) => Some((403, 7, "scope_beyond_stage")),
        (Property::Trust, false) => Some((401, 7, "acr_insufficient")),
    }
}

/// How the layers are put together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Composition {
    /// `AuthStack::protect` (`route_layer`) on an axum router.
    Stack,
    /// The layers one by one with `route_layer`, the audit layer with `layer`.
    RouteLayers,
    /// The layers one by one with `Router::layer`.
    RouterLayers,
    /// `AuthStack` as tonic's `named_layer` around the greeter.
    NamedLayer,
    /// `AuthStack` as `tonic::transport::Server::layer`.
    ServerLayer,
    /// One port: the axum route and the greeter's `Routes`, served by axum.
    OnePort,
    /// `JwtInterceptor` on the greeter, the contract's layer around the server.
    Interceptor,
}

const COMPOSITIONS: [Composition; 7] = [
    Composition::Stack,
    Composition::RouteLayers,
    Composition::RouterLayers,
    Composition::NamedLayer,
    Composition::ServerLayer,
    Composition::OnePort,
    Composition::Interceptor,
];

impl Composition {
    fn is_grpc(self) -> bool {
        !matches!(
            self,
            Composition::Stack | Composition::RouteLayers | Composition::RouterLayers
        )
    }

    /// A contract enforced here only refuses: nothing verifies the token
    /// before the contract's gate, whatever the property.
    fn always_misconfigured(self) -> bool {
        matches!(self, Composition::Interceptor)
    }
}

/// A greeter that counts the calls that reached it.
#[derive(Clone)]
struct CountingGreeter(Arc<AtomicUsize>);

type Replies = Pin<Box<dyn Stream<Item = Result<HelloReply, tonic::Status>> + Send>>;

#[tonic::async_trait]
impl Greeter for CountingGreeter {
    async fn say_hello(
        &self,
        request: tonic::Request<HelloRequest>,
    ) -> Result<tonic::Response<HelloReply>, tonic::Status> {
        self.0.fetch_add(1, Ordering::SeqCst);
        let message = format!("hello {}", request.get_ref().name);
        Ok(tonic::Response::new(HelloReply { message }))
    }

    type SayHelloStreamStream = Replies;

    async fn say_hello_stream(
        &self,
        _: tonic::Request<HelloRequest>,
    ) -> Result<tonic::Response<Replies>, tonic::Status> {
        Err(tonic::Status::unimplemented("not here"))
    }
}

struct Served {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Served {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The HTTP route `GET /hello`, counting its calls.
fn hello_router(calls: &Arc<AtomicUsize>) -> Router {
    let calls = calls.clone();
    Router::new().route(
        "/hello",
        get(move |p: Principal| async move {
            calls.fetch_add(1, Ordering::SeqCst);
            p.sub().unwrap_or("-").to_owned()
        }),
    )
}

/// Serves `composition` with `contract`, with an `AuditLayer` outermost when
/// `audited`.
async fn serve(
    composition: Composition,
    verifier: &rampgate::Verifier,
    contract: &ContractHandle,
    audited: bool,
) -> Served {
    let calls = Arc::new(AtomicUsize::new(0));
    let audit = AuditLayer::new(Auditor::tracing().unwrap());
    let stack = AuthStack::new(verifier.clone()).contract(contract.clone());
    let greeter = CountingGreeter(calls.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let audited_router = |router: Router| -> Router {
        if audited {
            router.layer(audit.clone())
        } else {
            router
        }
    };
    let app = match composition {
        Composition::Stack if audited => stack.audit(audit.clone()).protect(hello_router(&calls)),
        Composition::Stack => stack.protect(hello_router(&calls)),
        Composition::RouteLayers => audited_router(
            hello_router(&calls)
                .route_layer(ContractLayer::new(contract.clone()))
                .route_layer(JwtLayer::new(verifier.clone())),
        ),
        Composition::RouterLayers => audited_router(
            hello_router(&calls)
                .layer(ContractLayer::new(contract.clone()))
                .layer(JwtLayer::new(verifier.clone())),
        ),
        Composition::OnePort => {
            let grpc =
                tonic::service::Routes::new(stack.clone().named_layer(GreeterServer::new(greeter)))
                    .into_axum_router();
            audited_router(stack.protect(hello_router(&calls)).merge(grpc))
        }
        Composition::NamedLayer | Composition::ServerLayer | Composition::Interceptor => {
            let task = serve_tonic(
                composition,
                verifier,
                contract,
                greeter,
                audited.then_some(audit),
                listener,
            );
            return Served { addr, calls, task };
        }
    };
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Served { addr, calls, task }
}

/// The tonic servers: the greeter behind `named_layer`, `Server::layer`, or
/// `JwtInterceptor` with the contract's layer around it.
fn serve_tonic(
    composition: Composition,
    verifier: &rampgate::Verifier,
    contract: &ContractHandle,
    greeter: CountingGreeter,
    audit: Option<AuditLayer>,
    listener: tokio::net::TcpListener,
) -> tokio::task::JoinHandle<()> {
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    let stack = AuthStack::new(verifier.clone()).contract(contract.clone());
    let mut server = tonic::transport::Server::builder().layer(tower::util::option_layer(audit));
    match composition {
        Composition::NamedLayer => {
            let router = server.add_service(stack.named_layer(GreeterServer::new(greeter)));
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() })
        }
        Composition::ServerLayer => {
            let router = server.layer(stack).add_service(GreeterServer::new(greeter));
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() })
        }
        _ => {
            let intercepted =
                GreeterServer::with_interceptor(greeter, JwtInterceptor::new(verifier.clone()));
            // The contract's layer around the server runs before the
            // interceptor: it finds no verified principal.
            let router = server
                .layer(ContractLayer::new(contract.clone()))
                .add_service(intercepted);
            tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() })
        }
    }
}

/// What came back.
#[derive(Debug)]
struct Answer {
    passed: bool,
    /// The HTTP status, or the gRPC code.
    status: i32,
    reason: String,
    cache_control: String,
}

/// `GET /hello` over HTTP, or `SayHello` over gRPC, with `token`.
async fn call(served: &Served, grpc: bool, token: &str) -> Answer {
    if !grpc {
        let response = reqwest::Client::new()
            .get(format!("http://{}/hello", served.addr))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .map(|v| v.to_str().unwrap().to_owned())
                .unwrap_or_default()
        };
        let cache_control = header("cache-control");
        let bytes = response.bytes().await.unwrap();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        return Answer {
            passed: status == 200,
            status: i32::from(status),
            reason: body["reason"].as_str().unwrap_or_default().to_owned(),
            cache_control,
        };
    }
    let mut client = GreeterClient::connect(format!("http://{}", served.addr))
        .await
        .unwrap();
    let mut request = tonic::Request::new(HelloRequest {
        name: "matrix".into(),
        times: 1,
    });
    request
        .metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    match client.say_hello(request).await {
        Ok(reply) => {
            assert_eq!(reply.into_inner().message, "hello matrix");
            Answer {
                passed: true,
                status: 0,
                reason: String::new(),
                cache_control: String::new(),
            }
        }
        Err(status) => {
            let meta = |name: &str| {
                status
                    .metadata()
                    .get(name)
                    .map(|v| v.to_str().unwrap().to_owned())
                    .unwrap_or_default()
            };
            Answer {
                passed: false,
                status: status.code() as i32,
                reason: meta("rampgate-reason"),
                cache_control: meta("cache-control"),
            }
        }
    }
}

#[tokio::test]
async fn every_composition_enforces_every_declared_property_or_refuses() {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let mut rows = 0;
    for property in PROPERTIES {
        let contract = contract(property);
        for composition in COMPOSITIONS {
            for audited in [false, true] {
                let served = serve(composition, &verifier, &contract, audited).await;
                for met in [true, false] {
                    let case = format!("{composition:?} {property:?} met={met} audited={audited}");
                    let before = served.calls.load(Ordering::SeqCst);
                    let token = token(&dev, property, met);
                    let answer = call(&served, composition.is_grpc(), &token).await;
                    let ran = served.calls.load(Ordering::SeqCst) - before;
                    let expected = if composition.always_misconfigured() {
                        Some((500, 13, "layers_misconfigured"))
                    } else {
                        expected(property, met, audited)
                    };
                    match expected {
                        None => {
                            assert!(answer.passed, "{case}: {answer:?}");
                            assert_eq!(ran, 1, "{case}: the handler runs once");
                        }
                        Some((http, grpc, reason)) => {
                            let status = if composition.is_grpc() { grpc } else { http };
                            assert!(!answer.passed, "{case}: {answer:?}");
                            assert_eq!(answer.status, status, "{case}: {answer:?}");
                            assert_eq!(answer.reason, reason, "{case}");
                            assert_eq!(answer.cache_control, "no-store", "{case}");
                            assert_eq!(ran, 0, "{case}: the handler must not run");
                        }
                    }
                    rows += 1;
                }
            }
        }
    }
    assert_eq!(rows, PROPERTIES.len() * COMPOSITIONS.len() * 2 * 2);
}

/// A contract that lets unknown routes through but no unknown consumer, and
/// lists the greeter (the black-box case of the review).
const OPEN_ROUTES: &str = r#"
version = 1
[scopes]
greet = "Be greeted"
[defaults]
unknown_route = "allow"
unknown_consumer = "deny"
[[routes]]
method = "POST"
path = "/helloworld.Greeter/*"
scopes = ["greet"]
"#;

/// A raw HTTP/2 request for `SayHello`: a framed `HelloRequest` under any
/// method and `content-type`, as no gRPC client would send it.
async fn raw_say_hello(
    addr: SocketAddr,
    method: http::Method,
    content_type: Option<&str>,
    token: &str,
) -> http::Response<tonic::body::Body> {
    let frame = say_hello_frame();
    let mut request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}/helloworld.Greeter/SayHello"))
        .header("authorization", format!("Bearer {token}"));
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    let body = tonic::body::Body::new(axum::body::Body::from(frame));
    let channel = channel(addr).await;
    tower::ServiceExt::oneshot(channel, request.body(body).unwrap())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_grpc_method_is_not_reached_by_changing_the_requests_shape() {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let contract = ContractHandle::new(Contract::parse(OPEN_ROUTES).unwrap());
    // An unknown consumer without the scope.
    let token = dev.token().client_id("stranger").sign();
    for composition in [
        Composition::NamedLayer,
        Composition::ServerLayer,
        Composition::OnePort,
    ] {
        let served = serve(composition, &verifier, &contract, false).await;
        // Over gRPC: refused by the contract.
        let grpc = raw_say_hello(
            served.addr,
            http::Method::POST,
            Some("application/grpc"),
            &token,
        )
        .await;
        assert_eq!(grpc.status(), 200, "{composition:?}");
        assert_eq!(grpc.headers()["grpc-status"], "7", "{composition:?}");
        assert_eq!(grpc.headers()["rampgate-reason"], "consumer_unknown");
        assert_eq!(grpc.headers()["cache-control"], "no-store");
        // The same message in another shape: refused before the method runs.
        for (method, content_type) in [
            (http::Method::POST, Some("application/octet-stream")),
            (http::Method::POST, None),
            (http::Method::GET, Some("application/grpc")),
            (http::Method::GET, None),
            (http::Method::PUT, Some("application/grpc+proto")),
        ] {
            let case = format!("{composition:?} {method} {content_type:?}");
            let response = raw_say_hello(served.addr, method, content_type, &token).await;
            assert_eq!(response.status(), 415, "{case}");
            assert_eq!(response.headers()["cache-control"], "no-store", "{case}");
            assert!(response.headers().get("grpc-status").is_none(), "{case}");
            let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 4096)
                .await
                .unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body["reason"], "grpc_required", "{case}");
        }
        assert_eq!(served.calls.load(Ordering::SeqCst), 0, "{composition:?}");
    }
}

/// A greeter contract (`POST` on `path` needs `greet`) that lets unknown
/// routes through, for the review's nested and template cases.
fn greeter_contract(path: &str) -> ContractHandle {
    let text = OPEN_ROUTES
        .replace(
            "unknown_consumer = \"deny\"",
            "unknown_consumer = { stage = \"all\", scopes = [\"greet\"] }",
        )
        .replace(
            "path = \"/helloworld.Greeter/*\"",
            &format!("path = \"{path}\""),
        );
    ContractHandle::new(Contract::parse(&text).unwrap())
}

/// Serves `app` on loopback; returns its address and the server task.
async fn serve_app(app: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, task)
}

/// `SayHello` at `path` with the method and content-type given: the HTTP
/// status, the gRPC status (if any) and the reason (header or JSON body).
async fn raw_at(
    addr: SocketAddr,
    path: &str,
    method: http::Method,
    content_type: &str,
    token: &str,
) -> (u16, Option<String>, String) {
    let frame = say_hello_frame();
    let request = http::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", content_type)
        .body(tonic::body::Body::new(axum::body::Body::from(frame)))
        .unwrap();
    let channel = channel(addr).await;
    let response = tower::ServiceExt::oneshot(channel, request).await.unwrap();
    let status = response.status().as_u16();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let grpc = header("grpc-status");
    let reason = header("rampgate-reason").unwrap_or_default();
    let body = axum::body::to_bytes(axum::body::Body::new(response.into_body()), 4096)
        .await
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let reason = json["reason"].as_str().map_or(reason, str::to_owned);
    (status, grpc, reason)
}

#[tokio::test]
async fn tonic_routes_nested_under_a_prefix_are_decided_on_their_method() {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let no_greet = dev.token().client_id("stranger").sign();
    let greet = dev.token().client_id("friend").scopes(["greet"]).sign();
    for (inside, listed) in [
        (true, "/helloworld.Greeter/*"),
        (false, "/helloworld.Greeter/*"),
        (true, "/helloworld.Greeter/SayHello"),
    ] {
        let calls = Arc::new(AtomicUsize::new(0));
        let stack = AuthStack::new(verifier.clone()).contract(greeter_contract(listed));
        let greeter = GreeterServer::new(CountingGreeter(calls.clone()));
        let app = if inside {
            let routes = tonic::service::Routes::new(stack.named_layer(greeter));
            Router::new().nest("/grpc", routes.into_axum_router())
        } else {
            let routes = tonic::service::Routes::new(greeter);
            Router::new()
                .nest("/grpc", routes.into_axum_router())
                .route_layer(stack)
        };
        let (addr, task) = serve_app(app).await;
        let case = format!("inside={inside} listed={listed}");
        let path = "/grpc/helloworld.Greeter/SayHello";
        let grpc = "application/grpc";
        let refused = raw_at(addr, path, http::Method::POST, grpc, &no_greet).await;
        assert_eq!(
            (refused.1.as_deref(), refused.2.as_str()),
            (Some("7"), "scope_insufficient"),
            "{case}"
        );
        for (method, content_type) in [
            (http::Method::POST, "application/octet-stream"),
            (http::Method::GET, grpc),
        ] {
            let shape = raw_at(addr, path, method, content_type, &greet).await;
            assert_eq!(
                (shape.0, shape.2.as_str()),
                (415, "grpc_required"),
                "{case}"
            );
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            0,
            "{case}: the method must not run"
        );
        let allowed = raw_at(addr, path, http::Method::POST, grpc, &greet).await;
        assert_eq!(allowed.1, None, "{case}: {allowed:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1, "{case}");
        task.abort();
    }
}

#[tokio::test]
async fn an_http_route_shaped_like_a_grpc_service_stays_an_http_route() {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let text = r#"
version = 1
[scopes]
read = "Read"
admin = "Admin"
[defaults]
unknown_route = "allow"
unknown_consumer = { stage = "all", scopes = ["read", "admin"] }
[[routes]]
method = "POST"
path = "/files.v1/{*rest}"
scopes = ["admin"]
[[routes]]
method = "GET"
path = "/files.v1/{*rest}"
scopes = ["read"]
"#;
    let contract = ContractHandle::new(Contract::parse(text).unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let router = Router::new().route(
        "/files.v1/{*rest}",
        axum::routing::any(move || {
            seen.fetch_add(1, Ordering::SeqCst);
            async { "http handler ran" }
        }),
    );
    let app = AuthStack::new(verifier).contract(contract).protect(router);
    let (addr, task) = serve_app(app).await;
    let read = dev.token().client_id("x").scopes(["read"]).sign();
    let path = "/files.v1/Upload";
    // POST needs admin, whatever the content-type says.
    for content_type in ["application/json", "application/grpc"] {
        let (_, _, reason) = raw_at(addr, path, http::Method::POST, content_type, &read).await;
        assert_eq!(reason, "scope_insufficient", "{content_type}");
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "the handler must not run");
    let (status, _, _) = raw_at(addr, path, http::Method::GET, "application/json", &read).await;
    assert_eq!(status, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    task.abort();
}

/// A framed `HelloRequest`, as a gRPC client sends it.
fn say_hello_frame() -> Vec<u8> {
    use prost::Message;
    let message = HelloRequest {
        name: "bob".into(),
        times: 1,
    }
    .encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&u32::try_from(message.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(&message);
    frame
}

/// An HTTP/2 channel to `addr`, for requests of any shape.
async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}
