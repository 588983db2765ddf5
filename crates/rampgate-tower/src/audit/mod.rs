//! `AuditLayer`: exactly one audit event per request that reaches it, whatever
//! the outcome, and the request's decision recorded into its tracing span.
//!
//! Put it **outside** `JwtLayer`, so that it sees the JWT layer's refusals too:
//! [`AuthStack::audit`](crate::AuthStack::audit) installs it outermost. It
//!
//! 1. takes the request id from `x-request-id` (or generates one, and adds it
//!    to the request) and echoes it in the response;
//! 2. puts its [`AuditFacts`] in the request extensions: they hold the
//!    [`TokenFacts`](crate::jwt::TokenFacts) record `JwtLayer` fills with the
//!    token's fingerprint (never the token) and the principal;
//! 3. for a fail-closed route, reserves the event's place in the auditor's
//!    queue first, or answers 503 `audit_unavailable` without calling the inner
//!    service;
//! 4. reads the outcome from the response's extensions (the [`Denial`] of a
//!    refusal, the contract's `Arc<Decision>`), records the fields into the
//!    tracing span and queues one `decision` event, built from what is at hand
//!    (reference counts and `&'static` codes) and serialised by the auditor's
//!    writer task, not here.
//!
//! An inner service that fails (`Err`) gives an event with status 500; a
//! request dropped before its answer (the client went away, or the handler
//! panicked under a `CatchPanicLayer` outside) gives one with status 499 and
//! reason `request_cancelled` (500 and `handler_panicked` while panicking).

mod facts;
mod future;
mod stores;

pub use facts::AuditFacts;
pub use future::{AuditFuture, make_span};

use http::{HeaderName, HeaderValue, Method, Request, Response};
use rampgate_core::anomaly::TrustedProxies;
use rampgate_core::audit::Auditor;
use rampgate_core::contract::ContractHandle;
use rampgate_core::{DenialOptions, DenialResponseBody, ErrorKind};
use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Instant, SystemTime};
use tower_layer::Layer;
use tower_service::Service;

#[cfg(doc)]
use rampgate_core::Denial;

/// The request id header read and echoed.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

type Predicate = dyn Fn(&Method, &str) -> bool + Send + Sync;

/// Which routes fail closed.
#[derive(Clone, Default)]
struct FailClosed {
    /// `METHOD /template` keys.
    routes: Arc<HashSet<String>>,
    predicate: Option<Arc<Predicate>>,
    contract: Option<ContractHandle>,
}

impl FailClosed {
    fn demanded(&self, method: &Method, template: Option<&str>) -> bool {
        let Some(template) = template else {
            return false;
        };
        // HEAD is served by the GET handler (as axum does): it fails closed
        // like GET, as the contract's own routes do.
        if !self.routes.is_empty()
            && (self.routes.contains(&format!("{method} {template}"))
                || (method == Method::HEAD && self.routes.contains(&format!("GET {template}"))))
        {
            return true;
        }
        if let Some(predicate) = &self.predicate
            && predicate(method, template)
        {
            return true;
        }
        self.contract
            .as_ref()
            .is_some_and(|c| c.current().audit_required(method.as_str(), template))
    }
}

/// A tower [`Layer`] that records one audit event per request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_core::audit::Auditor;
/// use rampgate_tower::AuditLayer;
///
/// let auditor = Auditor::tracing().unwrap(); // or Auditor::builder().sink(FileSink)...
/// let layer = AuditLayer::new(auditor.clone())
///     .fail_closed_routes(["POST /payments"]);
/// # let _ = layer;
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct AuditLayer {
    auditor: Auditor,
    fail_closed: FailClosed,
    span: bool,
    proxies: Arc<TrustedProxies>,
    /// Watches the revocation stores the requests meet (one per layer and
    /// its clones, built once: a request clones a reference).
    stores: crate::jwt::StoreHook,
}

impl fmt::Debug for AuditLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditLayer")
            .field("auditor", &self.auditor)
            .field("fail_closed_routes", &self.fail_closed.routes)
            .field("span", &self.span)
            .finish_non_exhaustive()
    }
}

impl AuditLayer {
    /// A layer recording into `auditor`.
    pub fn new(auditor: Auditor) -> Self {
        AuditLayer {
            stores: stores::StoreWatch::new(auditor.clone()).hook(),
            proxies: auditor.trusted_proxies().clone(),
            auditor,
            fail_closed: FailClosed::default(),
            span: true,
        }
    }

    /// The auditor events go to (its counters: `dropped`, `written`...).
    pub fn auditor(&self) -> &Auditor {
        &self.auditor
    }

    /// These routes (`"METHOD /template"`, as the router declares them) fail
    /// closed: when their event cannot be queued they answer 503
    /// `audit_unavailable` and the inner service is not called.
    pub fn fail_closed_routes<I, S>(mut self, routes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = (*self.fail_closed.routes).clone();
        for route in routes {
            let route = route.as_ref().trim();
            let (method, path) = route.split_once(' ').unwrap_or(("", route));
            set.insert(format!("{} {}", method.to_ascii_uppercase(), path.trim()));
        }
        self.fail_closed.routes = Arc::new(set);
        self
    }

    /// Routes for which `predicate(method, template)` is true fail closed.
    pub fn fail_closed_if(
        mut self,
        predicate: impl Fn(&Method, &str) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.fail_closed.predicate = Some(Arc::new(predicate));
        self
    }

    /// Routes the contract marks `audit = "required"` fail closed (read from
    /// the contract in force at each request, so reloads apply).
    /// [`AuthStack`](crate::AuthStack) sets its own contract here.
    pub fn contract(mut self, contract: ContractHandle) -> Self {
        self.fail_closed.contract = Some(contract);
        self
    }

    /// The proxies whose `X-Forwarded-For` / `Forwarded` name the client in
    /// the events' `client_addr` and the anomaly signals, instead of the
    /// auditor's ([`AuditorBuilder::trusted_proxies`](rampgate_core::audit::AuditorBuilder::trusted_proxies),
    /// which `rampgate::config`'s `trusted_proxies` sets). Without any (the
    /// default) the client is the connection's peer, and those headers,
    /// which any client can send, are ignored.
    pub fn trusted_proxies(mut self, proxies: TrustedProxies) -> Self {
        self.proxies = Arc::new(proxies);
        self
    }

    /// Whether to open a `rampgate.request` span per request (default: yes).
    /// Without it the fields are still recorded into the current span.
    pub fn span(mut self, enabled: bool) -> Self {
        self.span = enabled;
        self
    }

    pub(crate) fn has_contract(&self) -> bool {
        self.fail_closed.contract.is_some()
    }
}

impl<S> Layer<S> for AuditLayer {
    type Service = Audit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Audit {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`AuditLayer`].
#[derive(Clone, Debug)]
pub struct Audit<S> {
    inner: S,
    layer: AuditLayer,
}

impl<S> Audit<S> {
    define_inner_service_accessors!();
}

/// How many request ids a thread takes from the process's counter at once.
const ID_BLOCK: u64 = 1024;

/// A request id: a random prefix per process and a counter, unique and cheap.
/// Each thread takes a block of [`ID_BLOCK`] numbers from the shared counter
/// and counts through it alone: a service on many cores does not bounce the
/// counter's cache line between them on every request.
fn new_request_id() -> HeaderValue {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    thread_local! {
        /// The next number of this thread's block, and the block's end.
        static BLOCK: std::cell::Cell<(u64, u64)> = const { std::cell::Cell::new((0, 0)) };
    }
    let prefix = *PREFIX.get_or_init(rand_prefix);
    let n = BLOCK.with(|block| {
        let (mut next, mut end) = block.get();
        if next == end {
            next = NEXT.fetch_add(ID_BLOCK, Ordering::Relaxed);
            end = next + ID_BLOCK;
        }
        block.set((next + 1, end));
        next
    });
    // `{prefix:08x}-{n:012x}`, without the formatting machinery (this runs on
    // every request); the counter wraps after 2^48 requests.
    let mut id = [b'-'; ID_LEN];
    hex_into(&mut id[..8], u64::from(prefix));
    hex_into(&mut id[9..], n);
    HeaderValue::from_maybe_shared(id_bytes(&id)).unwrap_or_else(|_| HeaderValue::from_static("-"))
}

/// The length of a generated request id.
const ID_LEN: usize = 21;

/// How many generated ids share one buffer: an id kept after its request
/// (by a handler, say) keeps its buffer's 1.3 KiB alive.
const IDS_PER_BUFFER: usize = 64;

/// `id` as `Bytes` cut from this thread's current buffer of ids: the id is
/// cloned into the request, the answer and the event, and a `Bytes` of its
/// own would cost two allocations per request (the copy, then the shared
/// count its first clone makes), freed by the audit writer in batches; these
/// cost two per [`IDS_PER_BUFFER`]. A buffer is freed when the last id cut
/// from it is. A thread whose locals are being destroyed gets a copy.
fn id_bytes(id: &[u8; ID_LEN]) -> bytes::Bytes {
    thread_local! {
        static IDS: std::cell::RefCell<bytes::BytesMut> =
            std::cell::RefCell::new(bytes::BytesMut::new());
    }
    IDS.try_with(|ids| {
        let mut ids = ids.borrow_mut();
        if ids.capacity() < ID_LEN {
            *ids = bytes::BytesMut::with_capacity(ID_LEN * IDS_PER_BUFFER);
        }
        ids.extend_from_slice(id);
        ids.split_to(ID_LEN).freeze()
    })
    .unwrap_or_else(|_| bytes::Bytes::copy_from_slice(id))
}

/// Writes the low `out.len()` hex digits of `v` into `out`, most significant first.
fn hex_into(out: &mut [u8], mut v: u64) {
    for digit in out.iter_mut().rev() {
        *digit = b"0123456789abcdef"[(v & 0xf) as usize];
        v >>= 4;
    }
}

fn rand_prefix() -> u32 {
    // Distinct per process: the clock's nanoseconds and the process id.
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() ^ (d.as_secs() as u32))
        .unwrap_or(0);
    nanos ^ std::process::id().rotate_left(16)
}

/// The route template of the request: axum's matched path, or (without the
/// `axum` feature, gRPC) the request path.
fn template<B>(req: &Request<B>) -> Option<Template> {
    #[cfg(feature = "axum")]
    {
        req.extensions()
            .get::<axum::extract::MatchedPath>()
            .cloned()
            .map(Template::Matched)
    }
    #[cfg(not(feature = "axum"))]
    {
        Some(Template::Path(req.uri().path().to_owned()))
    }
}

/// The route template, kept cheaply until the event needs it.
#[derive(Debug, Clone)]
pub(crate) enum Template {
    #[cfg(feature = "axum")]
    Matched(axum::extract::MatchedPath),
    #[cfg(not(feature = "axum"))]
    Path(String),
}

impl Template {
    fn as_str(&self) -> &str {
        match self {
            #[cfg(feature = "axum")]
            Template::Matched(m) => m.as_str(),
            #[cfg(not(feature = "axum"))]
            Template::Path(p) => p,
        }
    }
}

/// The connection's peer: axum's `ConnectInfo` (`into_make_service_with_connect_info`),
/// or tonic's `TcpConnectInfo` (feature `tonic`).
fn peer_addr<B>(_req: &Request<B>) -> Option<std::net::SocketAddr> {
    #[cfg(feature = "axum")]
    if let Some(c) = _req
        .extensions()
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
    {
        return Some(c.0);
    }
    #[cfg(feature = "tonic")]
    if let Some(addr) = _req
        .extensions()
        .get::<tonic::transport::server::TcpConnectInfo>()
        .and_then(|c| c.remote_addr())
    {
        return Some(addr);
    }
    None
}

/// The client's address: the peer, or, behind a trusted proxy, the client it
/// forwarded for (with port 0: the proxy's headers name no port).
fn client_addr<B>(req: &Request<B>, proxies: &TrustedProxies) -> Option<std::net::SocketAddr> {
    let peer = peer_addr(req)?;
    let ip = proxies.client_ip(peer.ip(), req.headers());
    Some(if ip == peer.ip() {
        peer
    } else {
        std::net::SocketAddr::new(ip, 0)
    })
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Audit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: DenialResponseBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = AuditFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let ts = SystemTime::now();
        let request_id = match req.headers().get(&REQUEST_ID) {
            Some(id) if !id.is_empty() && id.len() <= 200 && id.to_str().is_ok() => id.clone(),
            _ => {
                let id = new_request_id();
                req.headers_mut().insert(REQUEST_ID, id.clone());
                id
            }
        };
        let template = template(&req);
        let method = req.method().clone();
        let client_addr = client_addr(&req, &self.layer.proxies);
        let span = if self.layer.span {
            future::request_span(&request_id, &method)
        } else {
            tracing::Span::none()
        };
        let permit = if self
            .layer
            .fail_closed
            .demanded(&method, template.as_ref().map(Template::as_str))
        {
            match self.layer.auditor.reserve() {
                Some(permit) => Some(permit),
                None => {
                    tracing::warn!(
                        target: "rampgate::audit",
                        request_id = request_id.to_str().unwrap_or("-"),
                        route = template.as_ref().map(Template::as_str),
                        "audit queue full on a fail-closed route: answering 503 audit_unavailable"
                    );
                    // In the request's protocol: 503 over HTTP, 14 UNAVAILABLE over gRPC.
                    let mut response: Response<ResBody> = DenialOptions::default()
                        .for_request(req.headers())
                        .deny(&ErrorKind::AuditUnavailable.into())
                        .into_response();
                    response.headers_mut().insert(REQUEST_ID, request_id);
                    return AuditFuture::unavailable(response);
                }
            }
        } else {
            None
        };
        // The gate of the contract reserves the event's place through these
        // facts when the route it decided says `audit = "required"` and no
        // reservation was made here (no template to tell it before).
        // The revocation stores this request meets (its verifier's, the admin
        // router's) are watched: their changes become events with no call.
        let facts = AuditFacts::new(
            self.layer.auditor.clone(),
            permit,
            self.layer.stores.clone(),
        );
        // One extension: `JwtLayer` finds its `TokenFacts` inside.
        req.extensions_mut().insert(facts.clone());
        let future = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        AuditFuture::new(
            future,
            future::Pending {
                facts,
                started,
                ts,
                request_id,
                method,
                template,
                client_addr,
                span,
            },
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use rampgate_testkit::MemorySink;
    use tower::ServiceExt;

    fn auditor() -> (Auditor, MemorySink) {
        let kept = MemorySink::new();
        let auditor = Auditor::builder().sink(kept.clone()).build().unwrap();
        (auditor, kept)
    }

    fn request() -> Request<()> {
        Request::get("/x").body(()).unwrap()
    }

    #[tokio::test]
    async fn an_inner_error_is_one_event_with_status_500() {
        let (auditor, kept) = auditor();
        let service =
            AuditLayer::new(auditor.clone()).layer(tower::service_fn(|_: Request<()>| async {
                Err::<Response<Bytes>, _>("broken")
            }));
        assert!(service.oneshot(request()).await.is_err());
        auditor.flush().await;
        let events = kept.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["status"], 500);
        assert_eq!(events[0]["outcome"], "allow");
    }

    #[tokio::test]
    async fn a_request_dropped_unanswered_is_one_event_with_status_499() {
        let (auditor, kept) = auditor();
        let service = AuditLayer::new(auditor.clone()).layer(tower::service_fn(|_: Request<()>| {
            std::future::pending::<Result<Response<Bytes>, String>>()
        }));
        let future = service.oneshot(request());
        // Polled once (the request reaches the layer), then dropped.
        let dropped = tokio::time::timeout(std::time::Duration::from_millis(1), future).await;
        assert!(dropped.is_err());
        auditor.flush().await;
        let events = kept.events();
        assert_eq!(events.len(), 1, "{events:?}");
        assert_eq!(events[0]["status"], 499);
        assert_eq!(events[0]["reason"], "request_cancelled");
    }

    #[tokio::test]
    async fn a_panicking_handler_is_one_event_with_status_500() {
        let (auditor, kept) = auditor();
        let service =
            AuditLayer::new(auditor.clone()).layer(tower::service_fn(|_: Request<()>| async {
                if true {
                    panic!("handler bug");
                }
                Ok::<Response<Bytes>, String>(Response::new(Bytes::new()))
            }));
        let task = tokio::spawn(service.oneshot(request()));
        assert!(task.await.unwrap_err().is_panic());
        auditor.flush().await;
        let events = kept.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0]["status"], 500);
        assert_eq!(events[0]["reason"], "handler_panicked");
    }

    #[tokio::test]
    async fn the_request_id_is_kept_or_generated_and_echoed() {
        let (auditor, _) = auditor();
        let service =
            AuditLayer::new(auditor).layer(tower::service_fn(|req: Request<()>| async move {
                // The handler sees the id too.
                let id = req.headers()[&REQUEST_ID].clone();
                let mut response = Response::new(Bytes::new());
                response.headers_mut().insert("seen-id", id);
                Ok::<_, String>(response)
            }));
        let response = service.clone().oneshot(request()).await.unwrap();
        let generated = response.headers()[&REQUEST_ID].clone();
        assert_eq!(response.headers()["seen-id"], generated);
        let mut req = request();
        req.headers_mut()
            .insert(REQUEST_ID, HeaderValue::from_static("mine-1"));
        let response = service.oneshot(req).await.unwrap();
        assert_eq!(response.headers()[&REQUEST_ID], "mine-1");
        assert_ne!(generated, "mine-1");
    }

    #[test]
    fn generated_request_ids_are_a_prefix_and_a_counter_in_hex() {
        let (a, b) = (new_request_id(), new_request_id());
        let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
        for id in [a, b] {
            assert_eq!(id.len(), 21, "{id}");
            assert_eq!(&id[8..9], "-");
            assert!(
                id.bytes()
                    .enumerate()
                    .all(|(i, c)| i == 8 || c.is_ascii_hexdigit())
            );
        }
        assert_eq!(a[..8], b[..8], "one prefix per process");
        let counter = |id: &str| u64::from_str_radix(&id[9..], 16).unwrap();
        assert!(counter(b) > counter(a));
        let mut out = [0u8; 4];
        hex_into(&mut out, 0xabc);
        assert_eq!(&out, b"0abc");
    }

    #[test]
    fn ids_cut_from_a_shared_buffer_keep_their_own_bytes() {
        // Across three buffers, all kept alive together.
        let ids: Vec<HeaderValue> = (0..IDS_PER_BUFFER * 2 + 3)
            .map(|_| new_request_id())
            .collect();
        let counters: Vec<u64> = ids
            .iter()
            .map(|id| {
                let id = id.to_str().unwrap();
                assert_eq!(id.len(), ID_LEN, "{id}");
                u64::from_str_radix(&id[9..], 16).unwrap()
            })
            .collect();
        assert!(counters.windows(2).all(|w| w[0] < w[1]), "{counters:?}");
    }

    #[test]
    fn request_ids_from_many_threads_never_repeat() {
        // Past a block's end on every thread: each takes its own blocks.
        let each = usize::try_from(ID_BLOCK).unwrap() * 2 + 7;
        let threads: Vec<_> = (0..4)
            .map(|_| {
                std::thread::spawn(move || (0..each).map(|_| new_request_id()).collect::<Vec<_>>())
            })
            .collect();
        let ids: Vec<HeaderValue> = threads
            .into_iter()
            .flat_map(|t| t.join().unwrap())
            .collect();
        let distinct: std::collections::HashSet<&HeaderValue> = ids.iter().collect();
        assert_eq!(distinct.len(), ids.len());
    }
}
