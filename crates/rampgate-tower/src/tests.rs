//! Fixtures shared by the layers' tests: tokens signed offline, an inner
//! service that records whether it ran and what it saw, and readers of the
//! answers. Everything runs in-process: `oneshot` on the layered service.

use bytes::Bytes;
use http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use http::{Extensions, Request, Response};
use rampgate_core::contract::{Contract, ContractHandle, Decision};
use rampgate_core::{DenialOptions, Principal, Verifier};
use rampgate_testkit::OfflineIssuer;
use serde_json::Value;
use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use tower::util::BoxCloneService;
use tower::{ServiceExt, service_fn};
use tower_layer::Layer;
use tower_service::Service;

/// The innermost service of every test.
pub(crate) type Inner = BoxCloneService<Request<()>, Response<Bytes>, Infallible>;

/// Records each call of the inner service and the extensions it was given.
#[derive(Clone, Default)]
pub(crate) struct Seen {
    calls: Arc<AtomicUsize>,
    last: Arc<Mutex<Option<Extensions>>>,
}

impl Seen {
    /// An inner service answering 200 `inner ran`, recording into `self`.
    pub(crate) fn service(&self) -> Inner {
        let seen = self.clone();
        BoxCloneService::new(service_fn(move |req: Request<()>| {
            seen.calls.fetch_add(1, Ordering::SeqCst);
            *seen.last.lock().unwrap() = Some(req.extensions().clone());
            std::future::ready(Ok(Response::new(Bytes::from_static(b"inner ran"))))
        }))
    }

    /// How many times the inner service ran.
    pub(crate) fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn last(&self) -> Extensions {
        self.last
            .lock()
            .unwrap()
            .clone()
            .expect("the inner service ran")
    }

    /// The principal the inner service saw.
    pub(crate) fn principal(&self) -> Option<Principal> {
        self.last().get::<Principal>().cloned()
    }

    /// The contract decision the inner service saw.
    pub(crate) fn decision(&self) -> Option<Decision> {
        self.last().get::<Arc<Decision>>().map(|d| (**d).clone())
    }

    /// Whether the inner service saw a request let through anonymously.
    pub(crate) fn anonymous(&self) -> bool {
        self.last().get::<rampgate_core::Anonymous>().is_some()
    }
}

/// `layer` around a fresh recording service, called once with `req`.
pub(crate) async fn run<L>(layer: &L, seen: &Seen, req: Request<()>) -> Response<Bytes>
where
    L: Layer<Inner>,
    L::Service: Service<Request<()>, Response = Response<Bytes>, Error = Infallible>,
{
    match layer.layer(seen.service()).oneshot(req).await {
        Ok(response) => response,
        Err(never) => match never {},
    }
}

/// An offline issuer and a verifier trusting it (static keys: no sockets).
pub(crate) async fn issuer() -> (OfflineIssuer, Verifier) {
    let issuer = OfflineIssuer::for_issuer("https://issuer.test", "api");
    let verifier = issuer.verifier().await.unwrap();
    (issuer, verifier)
}

/// `METHOD path` with `Authorization: Bearer token`, routed to the template
/// `path` (see [`routed`]).
pub(crate) fn bearer(method: &str, path: &str, token: &str) -> Request<()> {
    routed(
        Request::builder()
            .method(method)
            .uri(path)
            .header(AUTHORIZATION, format!("Bearer {token}"))
            .body(())
            .unwrap(),
    )
}

/// `req` as an axum router leaves it for a route whose template is the
/// request's path: with axum's `MatchedPath`, which `ContractLayer` requires
/// in a build with the `axum` feature. Without the feature, `req` unchanged.
///
/// `MatchedPath` has no public constructor, so a one-route router matches the
/// request for real; its handler does no I/O, so one poll finishes it.
pub(crate) fn routed(req: Request<()>) -> Request<()> {
    #[cfg(feature = "axum")]
    let req = {
        let mut req = req;
        use axum::extract::MatchedPath;
        use std::future::Future;
        use std::task::{Context, Waker};

        let template = req.uri().path().to_owned();
        let found: Arc<Mutex<Option<MatchedPath>>> = Arc::default();
        let keep = found.clone();
        let router: axum::Router = axum::Router::new().route(
            &template,
            axum::routing::any(move |matched: MatchedPath| {
                *keep.lock().unwrap() = Some(matched);
                std::future::ready(())
            }),
        );
        let probe = Request::builder()
            .method(req.method().clone())
            .uri(&template)
            .body(axum::body::Body::empty())
            .unwrap();
        let mut call = std::pin::pin!(router.oneshot(probe));
        let done = call
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_ready();
        assert!(done, "the one-route router answers at once");
        let matched = found
            .lock()
            .unwrap()
            .take()
            .expect("axum matched the route");
        req.extensions_mut().insert(matched);
        req
    };
    req
}

/// `METHOD path` without credentials.
pub(crate) fn plain(method: &str, path: &str) -> Request<()> {
    Request::builder()
        .method(method)
        .uri(path)
        .body(())
        .unwrap()
}

/// `METHOD path` carrying a principal with `claims`, as `JwtLayer` leaves it
/// on a route with the template `path`: for testing the layers after it on
/// their own.
pub(crate) fn as_principal(method: &str, path: &str, claims: Value) -> Request<()> {
    routed(unrouted_principal(method, path, claims))
}

/// [`as_principal`] where no router matched a template: a layer applied around
/// the router, under `nest_service` or `fallback_service`, or outside axum.
pub(crate) fn unrouted_principal(method: &str, path: &str, claims: Value) -> Request<()> {
    let mut req = plain(method, path);
    let principal = Principal::for_tests("https://issuer.test", claims).unwrap();
    req.extensions_mut().insert(principal);
    req.extensions_mut()
        .insert(DenialOptions::default().realm("api"));
    req
}

/// The JSON body of an answer.
pub(crate) fn body(response: &Response<Bytes>) -> Value {
    serde_json::from_slice(response.body()).unwrap()
}

/// The `reason` of an answer's JSON body.
pub(crate) fn reason(response: &Response<Bytes>) -> String {
    body(response)["reason"].as_str().unwrap().to_owned()
}

/// The `WWW-Authenticate` challenge.
pub(crate) fn challenge(response: &Response<Bytes>) -> &str {
    response.headers()[WWW_AUTHENTICATE].to_str().unwrap()
}

/// Asserts the 500 a layer answers when it runs without what must run first,
/// and that the request went no further.
pub(crate) fn assert_misconfigured(response: &Response<Bytes>, seen: &Seen, needs: &str) {
    assert_eq!(response.status(), 500);
    let body = body(response);
    assert_eq!(body["error"], "server_error");
    assert_eq!(body["reason"], "layers_misconfigured");
    let description = body["description"].as_str().unwrap();
    assert!(description.contains(needs), "{description}");
    assert_eq!(seen.calls(), 0, "the inner service must not run");
}

/// A ramp contract covering every decision the layers act on.
pub(crate) const CONTRACT: &str = r#"
version = 3

[scopes]
"items:read" = "Read items"
"items:write" = "Write items"
"export" = "Export"

[trust.sensitive]
acr_values = ["mfa"]

[[routes]]
method = "GET"
path = "/items"
scopes = ["items:read"]

[[routes]]
method = "GET"
path = "/items/{id}"
scopes = ["items:read"]

[[routes]]
method = "POST"
path = "/items"
scopes = ["items:write"]

[[routes]]
method = "GET"
path = "/export"
scopes = ["export"]
mode = "observe"

[[routes]]
method = "POST"
path = "/approve"
scopes = ["items:write"]
trust = "sensitive"

[[consumers]]
client_id = "web"
stage = "pilot"
stages = [
  { name = "pilot", scopes = ["items:read"] },
  { name = "ga", scopes = ["items:read", "items:write", "export"] },
]

[[consumers]]
client_id = "ops"
stage = "full"
stages = [{ name = "full", scopes = ["items:read", "items:write", "export"] }]
"#;

/// A live handle on [`CONTRACT`].
pub(crate) fn contract() -> ContractHandle {
    ContractHandle::new(Contract::parse(CONTRACT).unwrap())
}

/// [`contract`] with `unknown_route = "allow"`.
pub(crate) fn contract_allowing_unknown_routes() -> ContractHandle {
    let text = CONTRACT.replace(
        "version = 3\n",
        "version = 3\n\n[defaults]\nunknown_route = \"allow\"\n",
    );
    let contract = Contract::parse(&text).unwrap();
    assert!(contract.unknown_route_allowed());
    ContractHandle::new(contract)
}

/// The events `f` logs on this thread, one line each: the level, then every
/// field as `name=value` (the message is the field `message`).
pub(crate) fn capture_logs<R>(f: impl FnOnce() -> R) -> (R, Vec<String>) {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let result = tracing::subscriber::with_default(Capture(lines.clone()), f);
    let lines = lines.lock().unwrap().clone();
    (result, lines)
}

struct Capture(Arc<Mutex<Vec<String>>>);

impl tracing::Subscriber for Capture {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }

    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }

    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}

    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}

    fn event(&self, event: &tracing::Event<'_>) {
        struct Fields<'a>(&'a mut String);
        impl tracing::field::Visit for Fields<'_> {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={:?}", field.name(), value));
            }
        }
        let mut line = event.metadata().level().to_string();
        event.record(&mut Fields(&mut line));
        self.0.lock().unwrap().push(line);
    }

    fn enter(&self, _: &tracing::span::Id) {}

    fn exit(&self, _: &tracing::span::Id) {}
}
