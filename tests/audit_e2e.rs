//! The audit trail end to end: a real axum server on loopback with the
//! `AuditLayer` outermost in `AuthStack`, real HTTP clients, real files.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::routing::{get, post};
use rampgate::audit::{
    AuditEvent, AuditLayer, AuditSink, Auditor, FileSink, FileSinkOptions, FlushPolicy, SinkFuture,
    TracingSink,
};
use rampgate::contract::{Contract, ContractHandle, Decision};
use rampgate::{AuthStack, Denial, Verifier};
use rampgate_testkit::OfflineIssuer;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Semaphore;

const CONTRACT: &str = r#"
version = 1

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

[[routes]]
method = "POST"
path = "/pay"
scopes = ["items:read"]
audit = "required"

[[routes]]
method = "GET"
path = "/refund"
scopes = ["items:read"]

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

/// What the middleware outside the router saw in a response's extensions.
#[derive(Debug, Clone)]
struct Seen {
    denial: Option<String>,
    decision: Option<String>,
}

struct Server {
    addr: SocketAddr,
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<Seen>>>,
    client: reqwest::Client,
    _server: tokio::task::JoinHandle<()>,
}

impl Server {
    async fn start(verifier: Verifier, contract: ContractHandle, audit: AuditLayer) -> Server {
        let calls = Arc::new(AtomicUsize::new(0));
        let handler = |calls: Arc<AtomicUsize>| {
            move || {
                let calls = calls.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    "done"
                }
            }
        };
        let router = Router::new()
            .route(
                "/items",
                get(handler(calls.clone())).post(handler(calls.clone())),
            )
            .route("/export", get(handler(calls.clone())))
            .route("/approve", post(handler(calls.clone())))
            .route("/pay", post(handler(calls.clone())))
            .route("/refund", get(handler(calls.clone())));
        let app = AuthStack::new(verifier)
            .jwt(|jwt| jwt.realm("api"))
            .contract(contract)
            .audit(audit)
            .protect(router);
        // Middleware outside the router, as a TraceLayer would be.
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        let app = app.layer(tower::util::MapResponseLayer::new(
            move |response: axum::response::Response| {
                let denial = response
                    .extensions()
                    .get::<Denial>()
                    .map(|d| d.reason().as_str().to_owned());
                let decision = response
                    .extensions()
                    .get::<Arc<Decision>>()
                    .map(|d| d.reason.as_str().to_owned());
                record.lock().unwrap().push(Seen { denial, decision });
                response
            },
        ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .unwrap();
        });
        Server {
            addr,
            calls,
            seen,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            _server: server,
        }
    }

    async fn send(&self, method: &str, path: &str, token: Option<&str>) -> reqwest::Response {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self
            .client
            .request(method, format!("http://{}{path}", self.addr));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        req.send().await.unwrap()
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn contract() -> ContractHandle {
    ContractHandle::new(Contract::parse(CONTRACT).unwrap())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rampgate-audit-{name}-{}-{}",
        std::process::id(),
        rand::random::<u32>()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Every line of `audit.jsonl` and its rotated files, oldest first.
fn read_lines(path: &Path) -> (Vec<serde_json::Value>, usize) {
    let mut files = vec![path.to_path_buf()];
    let mut n = 1;
    loop {
        let mut name = path.as_os_str().to_owned();
        name.push(format!(".{n}"));
        let rotated = PathBuf::from(name);
        if !rotated.exists() {
            break;
        }
        files.push(rotated);
        n += 1;
    }
    let count = files.len();
    let mut lines = Vec::new();
    for file in files.iter().rev() {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(
            text.is_empty() || text.ends_with('\n'),
            "a split line in {file:?}"
        );
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line)
                .unwrap_or_else(|e| panic!("not one JSON object per line ({e}): {line}"));
            lines.push(value);
        }
    }
    (lines, count)
}

/// A sink that waits at a gate before each batch, then keeps the events.
#[derive(Clone)]
struct GatedSink {
    gate: Arc<Semaphore>,
    events: Arc<Mutex<Vec<serde_json::Value>>>,
    batches_started: Arc<AtomicUsize>,
}

impl GatedSink {
    fn closed() -> GatedSink {
        GatedSink {
            gate: Arc::new(Semaphore::new(0)),
            events: Arc::default(),
            batches_started: Arc::default(),
        }
    }

    fn open(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    fn len(&self) -> usize {
        self.events.lock().unwrap().len()
    }
}

impl AuditSink for GatedSink {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        Box::pin(async move {
            self.batches_started.fetch_add(1, Ordering::SeqCst);
            let _permit = self.gate.acquire().await.unwrap();
            let mut events = self.events.lock().unwrap();
            events.extend(batch.iter().map(AuditEvent::to_json));
            Ok(())
        })
    }
}

/// Polls `condition` every 10 ms until it holds, for at most 20 s.
async fn eventually(what: &str, condition: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_file_sink_loses_nothing_under_concurrency_and_across_rotations() {
    const TASKS: usize = 8;
    const REQUESTS: usize = 40;
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let dir = temp_dir("file");
    let path = dir.join("audit.jsonl");
    let sink = FileSink::with_options(
        &path,
        FileSinkOptions::default()
            .max_bytes(Some(16 * 1024))
            .keep(1000)
            .flush(FlushPolicy::OnRotate),
    )
    .unwrap();
    let auditor = Auditor::builder()
        .capacity(8192)
        .sink(sink)
        .build()
        .unwrap();
    let server =
        Arc::new(Server::start(verifier, contract(), AuditLayer::new(auditor.clone())).await);
    let token = issuer
        .token()
        .client_id("web")
        .scopes(["items:read"])
        .sign();
    let mut tasks = Vec::new();
    for t in 0..TASKS {
        let (server, token) = (server.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..REQUESTS {
                // Allowed, then refused by JwtLayer (no token), in turn.
                let token = (i % 2 == 0).then_some(token.as_str());
                let response = server.send("GET", "/items", token).await;
                let expected = if token.is_some() { 200 } else { 401 };
                assert_eq!(response.status(), expected, "task {t} request {i}");
                assert!(response.headers().contains_key("x-request-id"));
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    auditor.flush().await;
    let (lines, files) = read_lines(&path);
    assert_eq!(
        lines.len(),
        TASKS * REQUESTS,
        "exactly one line per request"
    );
    assert!(
        files > 2,
        "the small size made the file rotate: {files} files"
    );
    assert_eq!(auditor.dropped(), 0);
    assert_eq!(auditor.written(), (TASKS * REQUESTS) as u64);
    let ids: HashSet<&str> = lines
        .iter()
        .map(|l| l["request_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), TASKS * REQUESTS, "one event per request");
    let count = |reason: &str| lines.iter().filter(|l| l["reason"] == reason).count();
    assert_eq!(count("allowed"), TASKS * REQUESTS / 2);
    assert_eq!(
        count("token_missing"),
        TASKS * REQUESTS / 2,
        "JwtLayer refusals too"
    );
    for line in &lines {
        assert_eq!(line["v"], 1);
        assert_eq!(line["type"], "decision");
        assert_eq!(line["route"], "GET /items");
        assert!(
            line["client_addr"]
                .as_str()
                .unwrap()
                .starts_with("127.0.0.1:")
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_stalled_sink_lets_events_queue_then_drain() {
    const TASKS: usize = 4;
    const REQUESTS: usize = 25;
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let sink = GatedSink::closed();
    let auditor = Auditor::builder()
        .capacity(1024)
        .sink(sink.clone())
        .build()
        .unwrap();
    let server =
        Arc::new(Server::start(verifier, contract(), AuditLayer::new(auditor.clone())).await);
    let token = issuer
        .token()
        .client_id("web")
        .scopes(["items:read"])
        .sign();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (server, token) = (server.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..REQUESTS {
                let response = server.send("GET", "/items", Some(&token)).await;
                assert_eq!(response.status(), 200);
            }
        }));
    }
    // Every request is answered while the sink is stalled.
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(sink.len(), 0, "nothing written yet: the sink is stalled");
    assert_eq!(auditor.dropped(), 0);
    assert_eq!(
        auditor.written(),
        0,
        "the events wait (in the queue, or the stalled batch)"
    );
    sink.open();
    auditor.flush().await;
    assert_eq!(sink.len(), TASKS * REQUESTS);
    assert_eq!(auditor.written(), (TASKS * REQUESTS) as u64);
    assert_eq!(auditor.queued(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_tiny_queue_counts_its_overflow_exactly() {
    const REQUESTS: usize = 120;
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let sink = GatedSink::closed();
    let auditor = Auditor::builder()
        .capacity(4)
        .sink(sink.clone())
        .build()
        .unwrap();
    let server =
        Arc::new(Server::start(verifier, contract(), AuditLayer::new(auditor.clone())).await);
    let token = issuer
        .token()
        .client_id("web")
        .scopes(["items:read"])
        .sign();
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let (server, token) = (server.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            for _ in 0..REQUESTS / 4 {
                let response = server.send("GET", "/items", Some(&token)).await;
                assert_eq!(response.status(), 200, "overflow never refuses a request");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(auditor.dropped() > 0, "a queue of 4 overflowed");
    sink.open();
    auditor.flush().await;
    assert_eq!(auditor.recorded(), REQUESTS as u64);
    assert_eq!(
        auditor.written() + auditor.dropped(),
        REQUESTS as u64,
        "sent = written + dropped"
    );
    assert_eq!(sink.len() as u64, auditor.written());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_fail_closed_route_answers_503_without_running_the_handler_when_the_queue_is_full() {
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let sink = GatedSink::closed();
    let auditor = Auditor::builder()
        .capacity(2)
        .sink(sink.clone())
        .build()
        .unwrap();
    // POST /pay fails closed through the contract (audit = "required"),
    // GET /refund through code.
    let layer = AuditLayer::new(auditor.clone()).fail_closed_routes(["GET /refund"]);
    let server = Server::start(verifier, contract(), layer).await;
    let token = issuer
        .token()
        .client_id("ops")
        .scopes(["items:read", "items:write"])
        .sign();
    // With room in the queue, the fail-closed routes run.
    assert_eq!(
        server.send("POST", "/pay", Some(&token)).await.status(),
        200
    );
    assert_eq!(
        server.send("GET", "/refund", Some(&token)).await.status(),
        200
    );
    assert_eq!(server.calls(), 2);
    // Fill the queue: the writer holds one batch at the gate, two wait.
    eventually("the writer took a batch", || {
        sink.batches_started.load(Ordering::SeqCst) > 0
    })
    .await;
    while auditor.dropped() == 0 {
        assert_eq!(
            server.send("GET", "/items", Some(&token)).await.status(),
            200
        );
    }
    let calls = server.calls();
    // HEAD is served by the GET handler: it fails closed like GET.
    for (method, path) in [("POST", "/pay"), ("GET", "/refund"), ("HEAD", "/refund")] {
        let response = server.send(method, path, Some(&token)).await;
        assert_eq!(response.status(), 503, "{method} {path}");
        assert_eq!(response.headers()["retry-after"], "5");
        assert!(response.headers().contains_key("x-request-id"));
        if method == "HEAD" {
            assert_eq!(server.calls(), calls, "the handler did not run");
            continue;
        }
        let body: serde_json::Value =
            serde_json::from_slice(&response.bytes().await.unwrap()).unwrap();
        assert_eq!(body["reason"], "audit_unavailable");
        assert_eq!(server.calls(), calls, "the handler did not run");
    }
    // A best-effort route still runs, its event dropped and counted.
    let dropped = auditor.dropped();
    assert_eq!(
        server.send("GET", "/items", Some(&token)).await.status(),
        200
    );
    assert_eq!(auditor.dropped(), dropped + 1);
    sink.open();
    auditor.flush().await;
    assert_eq!(auditor.written() + auditor.dropped(), auditor.recorded());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_outcome_is_one_event_with_its_reason_and_visible_to_outer_middleware() {
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let sink = GatedSink::closed();
    sink.open();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    let server = Server::start(verifier, contract(), AuditLayer::new(auditor.clone())).await;
    let web = issuer
        .token()
        .sub("alice")
        .client_id("web")
        .scopes(["items:read", "items:write"])
        .claim("jti", "jti-1".into())
        .sign();
    let ops_weak = issuer
        .token()
        .client_id("ops")
        .scopes(["items:write"])
        .acr("pwd")
        .sign();
    let ops_strong = issuer
        .token()
        .client_id("ops")
        .scopes(["items:write"])
        .acr("mfa")
        .sign();
    // method, path, token, status, outcome, reason
    type Case<'a> = (&'a str, &'a str, Option<&'a str>, u16, &'a str, &'a str);
    let cases: [Case<'_>; 6] = [
        ("GET", "/items", Some(&web), 200, "allow", "allowed"),
        (
            "POST",
            "/items",
            Some(&web),
            403,
            "deny",
            "scope_beyond_stage",
        ),
        (
            "GET",
            "/export",
            Some(&web),
            200,
            "observe_deny",
            "scope_insufficient",
        ),
        (
            "POST",
            "/approve",
            Some(&ops_weak),
            401,
            "deny",
            "acr_insufficient",
        ),
        (
            "POST",
            "/approve",
            Some(&ops_strong),
            200,
            "allow",
            "allowed",
        ),
        ("GET", "/items", None, 401, "deny", "token_missing"),
    ];
    for (method, path, token, status, _, _) in cases {
        let response = server.send(method, path, token).await;
        assert_eq!(response.status(), status, "{method} {path}");
    }
    // A request id sent by the client is kept and echoed.
    let response = server
        .client
        .get(format!("http://{}/items", server.addr))
        .header("x-request-id", "client-chosen-id")
        .header("authorization", format!("Bearer {web}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "client-chosen-id");
    auditor.flush().await;
    let events = sink.events.lock().unwrap().clone();
    assert_eq!(events.len(), cases.len() + 1, "one event per request");
    for ((method, path, _, status, outcome, reason), event) in cases.iter().zip(&events) {
        assert_eq!(event["status"], *status, "{event}");
        assert_eq!(event["outcome"], *outcome, "{event}");
        assert_eq!(event["reason"], *reason, "{event}");
        assert_eq!(event["method"], *method);
        assert_eq!(event["route"], format!("{method} {path}"));
    }
    let allowed = &events[0];
    assert_eq!(allowed["sub"], "alice");
    assert_eq!(allowed["client_id"], "web");
    assert_eq!(allowed["consumer"], "web");
    assert_eq!(allowed["jti"], "jti-1");
    assert_eq!(allowed["iss"], issuer.issuer());
    assert_eq!(allowed["stage"], "pilot");
    assert_eq!(allowed["contract_version"], 1);
    assert_eq!(allowed["mode"], "enforce");
    assert_eq!(allowed["token_fp"].as_str().unwrap().len(), 12);
    assert_eq!(
        allowed["scopes"],
        serde_json::json!(["items:read", "items:write"])
    );
    assert_eq!(events[1]["missing"], serde_json::json!(["items:write"]));
    assert_eq!(events[2]["missing"], serde_json::json!(["export"]));
    assert_eq!(events[2]["mode"], "observe");
    assert_eq!(events[3]["step_up"], "failed");
    assert_eq!(events[4]["step_up"], "passed");
    for event in &events[..3] {
        assert!(event["step_up"].is_null(), "no step-up applied: {event}");
    }
    assert!(events[5]["token_fp"].is_null() && events[5]["iss"].is_null());
    assert_eq!(events[6]["request_id"], "client-chosen-id");
    // The middleware outside the router saw the denials and the decisions.
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), cases.len() + 1);
    assert_eq!(seen[0].decision.as_deref(), Some("allowed"));
    assert_eq!(seen[1].denial.as_deref(), Some("scope_beyond_stage"));
    assert_eq!(seen[1].decision.as_deref(), Some("scope_beyond_stage"));
    assert_eq!(seen[2].decision.as_deref(), Some("scope_insufficient"));
    assert!(seen[2].denial.is_none(), "observed: let through");
    assert_eq!(seen[3].denial.as_deref(), Some("acr_insufficient"));
    assert_eq!(seen[5].denial.as_deref(), Some("token_missing"));
    assert!(seen[5].decision.is_none(), "refused before the contract");
}

/// Writes each batch to a file sink and to `tracing`.
struct Tee(FileSink, TracingSink);

impl AuditSink for Tee {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        Box::pin(async move {
            self.1.write(batch).await?;
            self.0.write(batch).await
        })
    }

    fn flush(&mut self) -> SinkFuture<'_> {
        self.0.flush()
    }
}

/// A `MakeWriter` into a shared buffer.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_token_appears_in_any_event_or_log_line() {
    // Everything runs on this thread (server, client, writer), so a
    // thread-local subscriber sees every log line, at every level.
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let dir = temp_dir("tokens");
    let path = dir.join("audit.jsonl");
    let sink = Tee(FileSink::open(&path).unwrap(), TracingSink);
    let auditor = Auditor::builder().sink(sink).build().unwrap();
    let server = Server::start(verifier, contract(), AuditLayer::new(auditor.clone())).await;
    let forger = OfflineIssuer::for_issuer(issuer.issuer(), issuer.audience());

    let mut tokens = Vec::new();
    for i in 0..5 {
        let sub = format!("user-{i}");
        let web = || issuer.token().sub(&sub).client_id("web");
        let ops = || issuer.token().sub(&sub).client_id("ops");
        let cases = [
            // allow
            ("GET", "/items", web().scopes(["items:read"]).sign(), 200),
            // malformed: a valid token with its payload cut short
            (
                "GET",
                "/items",
                {
                    let t = web().scopes(["items:read"]).sign();
                    let (head, rest) = t.split_once('.').unwrap();
                    let (_, sig) = rest.split_once('.').unwrap();
                    format!("{head}.eyJzdWIi.{sig}")
                },
                401,
            ),
            // expired
            (
                "GET",
                "/items",
                web().scopes(["items:read"]).expires_in(-600).sign(),
                401,
            ),
            // bad signature
            (
                "GET",
                "/items",
                forger.token().sub(&sub).client_id("web").sign(),
                401,
            ),
            // insufficient scope
            ("GET", "/items", web().sign(), 403),
            // observe-deny
            ("GET", "/export", web().scopes(["items:read"]).sign(), 200),
            // step-up failure
            (
                "POST",
                "/approve",
                ops().scopes(["items:write"]).acr("pwd").sign(),
                401,
            ),
        ];
        for (method, path, token, status) in cases {
            let response = server.send(method, path, Some(&token)).await;
            assert_eq!(response.status(), status, "{method} {path}");
            tokens.push(token);
        }
        // missing
        assert_eq!(server.send("GET", "/items", None).await.status(), 401);
    }
    auditor.flush().await;
    let file = std::fs::read_to_string(&path).unwrap();
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert_eq!(file.lines().count(), 40, "one event per request");
    assert!(logs.contains("rampgate::audit"), "the tracing sink wrote");
    assert!(logs.contains("token_fp="), "{logs}");
    for token in &tokens {
        let signature = token.rsplit('.').next().unwrap();
        for (name, output) in [("audit file", &file), ("logs", &logs)] {
            assert!(!output.contains(token.as_str()), "a token in the {name}");
            assert!(
                signature.len() < 16 || !output.contains(signature),
                "a token's signature in the {name}"
            );
        }
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_reloads_are_audited_and_a_widening_is_an_alert() {
    let dir = temp_dir("contract");
    let file = dir.join("contract.toml");
    std::fs::write(&file, CONTRACT).unwrap();
    let handle = ContractHandle::from_file(&file).unwrap();
    let sink = GatedSink::closed();
    sink.open();
    let alerts = GatedSink::closed();
    alerts.open();
    let auditor = Auditor::builder()
        .sink(sink.clone())
        .alerts(alerts.clone())
        .build()
        .unwrap();
    auditor.watch_contract(&handle);

    // v2 moves web to its ga stage: a widening.
    let v2 = CONTRACT
        .replace("version = 1", "version = 2")
        .replace(r#"stage = "pilot""#, r#"stage = "ga""#);
    std::fs::write(&file, &v2).unwrap();
    handle.reload().unwrap();
    // v3 observes POST /items instead of enforcing it... without a new
    // version: refused.
    let same_version = v2.replace(
        "path = \"/items\"\nscopes = [\"items:write\"]",
        "path = \"/items\"\nscopes = [\"items:write\"]\nmode = \"observe\"",
    );
    std::fs::write(&file, &same_version).unwrap();
    assert!(handle.reload().is_err());
    // An invalid file: refused too.
    std::fs::write(&file, "version = 4\n[[routes]]\nmethod = \"GET\"\n").unwrap();
    assert!(handle.reload().is_err());
    auditor.flush().await;

    let events = sink.events.lock().unwrap().clone();
    assert_eq!(events.len(), 3, "{events:#?}");
    let changed = &events[0];
    assert_eq!(changed["type"], "contract_changed");
    assert_eq!(changed["version"], 2);
    assert_eq!(changed["previous_version"], 1);
    assert_eq!(changed["alert"], true);
    let widening = changed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["kind"] == "widening")
        .expect("a widening");
    assert_eq!(widening["consumer"], "web");
    assert_eq!(
        widening["stage_move"],
        serde_json::json!({"from": "pilot", "to": "ga", "direction": "advanced"})
    );
    assert_eq!(
        changed["sha256"],
        rampgate::contract::ContractDigest::of(v2.as_bytes()).to_string()
    );
    assert!(changed["change"].is_null(), "v2 has no [change] note");
    assert_eq!(events[1]["type"], "contract_refused");
    assert_eq!(events[1]["version"], 2);
    assert_eq!(events[1]["previous_version"], 2);
    assert_eq!(events[1]["reason"], "version_not_increased");
    assert_eq!(events[2]["type"], "contract_refused");
    assert_eq!(events[2]["reason"], "contract_invalid");
    assert_eq!(events[2]["previous_version"], 2);
    assert_eq!(events[2]["sha256"].as_str().map(str::len), Some(64));
    assert_eq!(auditor.widenings(), 1);
    eventually("the alert reached the alert sink", || alerts.len() == 1).await;
    assert_eq!(alerts.events.lock().unwrap()[0]["type"], "contract_changed");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "current_thread")]
async fn the_decision_is_recorded_into_the_span_of_the_middleware_around() {
    use tower::ServiceExt;
    use tracing::Instrument;

    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::INFO)
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let auditor = Auditor::builder()
        .sink(GatedSink::closed())
        .build()
        .unwrap();
    let app = AuthStack::new(verifier)
        .contract(contract())
        .audit(AuditLayer::new(auditor).span(false))
        .protect(Router::new().route("/items", get(|| async { "items" })));
    let token = issuer.token().sub("alice").client_id("web").sign();
    let request = http::Request::get("/items?access_token=not-logged")
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    // What a TraceLayer with `make_span_with(rampgate::audit::make_span)` does.
    let span = rampgate::audit::make_span(&request);
    let response = app.oneshot(request).instrument(span.clone()).await.unwrap();
    assert_eq!(response.status(), 403);
    span.in_scope(|| tracing::info!("finished"));
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let line = logs.lines().find(|l| l.contains("finished")).unwrap();
    for field in [
        r#"iss="https://issuer.rampgate.test""#,
        r#"sub="alice""#,
        r#"client_id="web""#,
        r#"route="GET /items""#,
        "contract_version=1",
        r#"stage="pilot""#,
        r#"outcome="deny""#,
        r#"reason="scope_insufficient""#,
    ] {
        assert!(line.contains(field), "{field} not in {line}");
    }
    assert!(
        !logs.contains(&token) && !logs.contains("not-logged"),
        "{logs}"
    );
}

#[cfg(feature = "audit-webhook")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_webhook_sink_posts_batches_and_retries_a_failing_receiver() {
    use rampgate::audit::WebhookSink;
    // A receiver that answers 503 twice, then takes every batch.
    let posts = Arc::new(AtomicUsize::new(0));
    let received = Arc::new(Mutex::new(Vec::<serde_json::Value>::new()));
    let (p, r) = (posts.clone(), received.clone());
    let receiver = Router::new().route(
        "/hook",
        post(move |body: axum::body::Bytes| {
            let (p, r) = (p.clone(), r.clone());
            async move {
                if p.fetch_add(1, Ordering::SeqCst) < 2 {
                    return axum::http::StatusCode::SERVICE_UNAVAILABLE;
                }
                let batch: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
                r.lock().unwrap().extend(batch);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, receiver).await.unwrap() });
    let sink = WebhookSink::new(&format!("http://{addr}/hook"))
        .unwrap()
        .retries(3)
        .backoff(Duration::from_millis(10));
    let auditor = Auditor::builder().sink(sink).build().unwrap();
    let issuer = OfflineIssuer::new();
    let server = Server::start(
        issuer.verifier().await.unwrap(),
        contract(),
        AuditLayer::new(auditor.clone()),
    )
    .await;
    for _ in 0..5 {
        assert_eq!(server.send("GET", "/items", None).await.status(), 401);
    }
    auditor.flush().await;
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 5, "every event arrived once");
    assert!(received.iter().all(|e| e["reason"] == "token_missing"));
    assert!(
        posts.load(Ordering::SeqCst) >= 3,
        "two refusals were retried"
    );
    assert_eq!(auditor.failed(), 0);
    assert_eq!(auditor.written(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_token_retries_raise_one_anomaly_event_per_key_and_window() {
    use rampgate::anomaly::{AnomalyDetector, AnomalyOptions};
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let dir = temp_dir("anomaly");
    let path = dir.join("audit.jsonl");
    let detector = AnomalyDetector::new(AnomalyOptions {
        expired_retries: 3,
        ..AnomalyOptions::default()
    });
    let auditor = Auditor::builder()
        .sink(FileSink::with_options(&path, FileSinkOptions::default()).unwrap())
        .anomalies(detector)
        .build()
        .unwrap();
    let server = Server::start(verifier, contract(), AuditLayer::new(auditor.clone())).await;
    let expired = issuer
        .token()
        .sub("alice")
        .client_id("web")
        .scopes(["items:read"])
        .expires_in(-600)
        .sign();
    for _ in 0..7 {
        let response = server.send("GET", "/items", Some(&expired)).await;
        assert_eq!(response.status(), 401);
    }
    assert_eq!(server.calls(), 0);
    auditor.flush().await;
    let (lines, _) = read_lines(&path);
    let of_type = |t: &'static str| lines.iter().filter(move |l| l["type"] == t);
    assert_eq!(of_type("decision").count(), 7);
    assert!(of_type("decision").all(|l| l["reason"] == "token_expired"));
    // The token is refused before any principal exists: no verified iss,
    // but what it claimed, marked unverified, keys the signals.
    for decision in of_type("decision") {
        assert!(decision["iss"].is_null(), "{decision}");
        assert!(decision["sub"].is_null(), "{decision}");
        assert_eq!(decision["claimed"]["iss"], issuer.issuer());
        assert_eq!(decision["claimed"]["client_id"], "web");
        assert_eq!(decision["claimed"]["sub"], "alice");
    }
    // One anomaly per key (the claimed consumer and subject, the client's
    // address): the threshold (3) is crossed once in the window, not four
    // times.
    let anomalies: Vec<&serde_json::Value> = of_type("anomaly").collect();
    assert_eq!(anomalies.len(), 3, "{anomalies:?}");
    let keyed = |kind: &str| {
        anomalies
            .iter()
            .find(|a| a["key_kind"] == kind)
            .unwrap_or_else(|| panic!("no {kind} anomaly: {anomalies:?}"))
    };
    assert_eq!(keyed("consumer")["key"], "web");
    assert_eq!(keyed("sub")["key"], "alice");
    assert_eq!(keyed("client_addr")["key"], "127.0.0.1");
    for a in &anomalies {
        assert_eq!(a["signal"], "expired_retries");
        assert_eq!(a["count"], 3);
        assert_eq!(a["threshold"], 3);
        assert_eq!(a["window_secs"], 60);
    }
    // It follows the decision that crossed the threshold, and every event is
    // counted: recorded = written.
    let position = lines.iter().position(|l| l["type"] == "anomaly").unwrap();
    assert_eq!(
        lines[..position]
            .iter()
            .filter(|l| l["type"] == "decision")
            .count(),
        3
    );
    assert_eq!(auditor.recorded(), 10);
    assert_eq!(auditor.written(), 10);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocations_are_audit_events() {
    use rampgate::revocation::{Revocation, RevocationList, RevocationStore, RevokedBy};
    let dir = temp_dir("revocation");
    let path = dir.join("audit.jsonl");
    let auditor = Auditor::builder()
        .sink(FileSink::with_options(&path, FileSinkOptions::default()).unwrap())
        .build()
        .unwrap();
    let list = RevocationList::new();
    auditor.watch_revocations(&list);
    let until = std::time::SystemTime::now() + Duration::from_secs(600);
    list.revoke(Revocation::jti("leaked-1").until(until), Some("ops"))
        .unwrap();
    assert!(
        list.unrevoke(RevokedBy::Jti, "leaked-1", None, Some("ops"))
            .unwrap()
            .is_some()
    );
    auditor.flush().await;
    let (lines, _) = read_lines(&path);
    assert_eq!(lines.len(), 2, "{lines:?}");
    for (line, action) in lines.iter().zip(["revoke", "unrevoke"]) {
        assert_eq!(line["type"], "revocation");
        assert_eq!(line["action"], action);
        assert_eq!(line["by"], "jti");
        assert_eq!(line["value"], "leaked-1");
        assert_eq!(line["actor"], "ops");
        assert_eq!(line["v"], 1);
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mass_revocation_larger_than_the_queue_is_written_in_full() {
    use rampgate::revocation::{Revocation, RevocationList};
    let sink = GatedSink::closed();
    let auditor = Auditor::builder()
        .capacity(4)
        .sink(sink.clone())
        .build()
        .unwrap();
    let list = RevocationList::new();
    auditor.watch_revocations(&list);
    let until = std::time::SystemTime::now() + Duration::from_secs(600);
    list.revoke_many(
        (0..50).map(|i| Revocation::jti(format!("leaked-{i}")).until(until)),
        Some("ops"),
    )
    .unwrap();
    // The writer is stalled and the queue holds 4: the rest wait, not drop.
    sink.open();
    eventually("every revocation event is written", || sink.len() == 50).await;
    assert_eq!(auditor.dropped(), 0);
    let events = sink.events.lock().unwrap().clone();
    let values: HashSet<&str> = events
        .iter()
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(values.len(), 50);
    assert!(events.iter().all(|e| e["type"] == "revocation"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decisions_dropped_from_a_full_queue_still_count_towards_anomalies() {
    use rampgate::anomaly::{AnomalyDetector, AnomalyOptions};
    use rampgate::audit::DecisionEvent;
    let sink = GatedSink::closed();
    let auditor = Auditor::builder()
        .capacity(1)
        .sink(sink.clone())
        .anomalies(AnomalyDetector::new(AnomalyOptions {
            bad_signatures: 5,
            ..AnomalyOptions::default()
        }))
        .build()
        .unwrap();
    // A burst of forged tokens from one address while the sink is stalled:
    // most decisions find no room, yet the detector counts all ten.
    for i in 0..10 {
        let mut d = DecisionEvent::new(
            std::time::SystemTime::now(),
            http::HeaderValue::from_str(&format!("r-{i}")).unwrap(),
            http::Method::GET,
        );
        d.status = 401;
        d.outcome = rampgate::audit::AuditOutcome::Deny;
        d.reason = rampgate::Reason::SignatureInvalid.into();
        d.client_addr = Some("203.0.113.7:4000".parse().unwrap());
        auditor.record(AuditEvent::Decision(d));
    }
    // Ten decisions and the one anomaly the fifth set off (queued or, with
    // the queue full, dropped and counted: never unseen).
    assert_eq!(auditor.recorded(), 11);
    assert!(auditor.dropped() >= 8, "{}", auditor.dropped());
    sink.open();
    auditor.flush().await;
    assert_eq!(auditor.written() + auditor.dropped(), 11);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_required_audit_holds_for_a_grpc_service_pattern_without_a_template() {
    use tower::ServiceExt;
    // The audit layer knows no contract and sees no route template (a tonic
    // `Server::layer`): only the contract's gate can tell that the method's
    // service pattern requires audit, and it has the event reserved itself.
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let sink = GatedSink::closed();
    let auditor = Auditor::builder()
        .capacity(2)
        .sink(sink.clone())
        .build()
        .unwrap();
    let contract = ContractHandle::new(
        Contract::parse(
            r#"
version = 1
[scopes]
greet = "Greet"
[defaults]
unknown_consumer = { stage = "public", scopes = ["greet"] }
[[routes]]
method = "POST"
path = "/pkg.Svc/*"
scopes = ["greet"]
audit = "required"
[[routes]]
method = "POST"
path = "/pkg.Open/Call"
scopes = ["greet"]
"#,
        )
        .unwrap(),
    );
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let method = tower::service_fn(move |_: http::Request<axum::body::Body>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async { Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::empty())) }
    });
    let service = tower::ServiceBuilder::new()
        .layer(AuditLayer::new(auditor.clone()))
        .layer(rampgate::JwtLayer::new(verifier))
        .layer(rampgate::ContractLayer::new(contract))
        .service(method);
    let token = issuer.token().scopes(["greet"]).sign();
    let call = |path: &str| {
        http::Request::post(path)
            .header("content-type", "application/grpc")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let response = service.clone().oneshot(call("/pkg.Svc/Do")).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().get("grpc-status").is_none());
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Fill the queue: the writer holds one batch at the gate, the rest wait.
    eventually("the writer took a batch", || {
        sink.batches_started.load(Ordering::SeqCst) > 0
    })
    .await;
    while auditor.dropped() == 0 {
        let response = service
            .clone()
            .oneshot(call("/pkg.Open/Call"))
            .await
            .unwrap();
        assert!(response.headers().get("grpc-status").is_none());
    }
    let before = calls.load(Ordering::SeqCst);
    let response = service.clone().oneshot(call("/pkg.Svc/Do")).await.unwrap();
    assert_eq!(response.headers()["grpc-status"], "14");
    assert_eq!(response.headers()["rampgate-reason"], "audit_unavailable");
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(
        calls.load(Ordering::SeqCst),
        before,
        "the method did not run"
    );
    sink.open();
    auditor.flush().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_for_names_the_client_only_behind_a_trusted_proxy() {
    use rampgate::anomaly::TrustedProxies;
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let token = issuer
        .token()
        .client_id("web")
        .scopes(["items:read"])
        .sign();
    let mut addrs = Vec::new();
    for proxies in [vec![], vec!["127.0.0.0/8"]] {
        let sink = GatedSink::closed();
        sink.open();
        let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
        let layer = AuditLayer::new(auditor.clone())
            .trusted_proxies(TrustedProxies::parse(&proxies).unwrap());
        let server = Server::start(verifier.clone(), contract(), layer).await;
        let response = server
            .client
            .get(format!("http://{}/items", server.addr))
            .bearer_auth(&token)
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        auditor.flush().await;
        let events = sink.events.lock().unwrap().clone();
        assert_eq!(events.len(), 1);
        addrs.push(events[0]["client_addr"].as_str().unwrap().to_owned());
    }
    // Not trusted: the header is the client's own claim, ignored.
    assert!(addrs[0].starts_with("127.0.0.1:"), "{}", addrs[0]);
    // The loopback peer is a trusted proxy: its rightmost hop is the client.
    assert_eq!(addrs[1], "203.0.113.9:0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stacks_revocations_are_audited_without_wiring_and_once() {
    use rampgate::revocation::{Revocation, RevocationList, RevocationStore, RevokedBy};
    let issuer = OfflineIssuer::new();
    let list = RevocationList::new();
    let verifier = Verifier::builder()
        .issuer(issuer.issuer_config())
        .revocations(list.clone())
        .build()
        .await
        .unwrap();
    let sink = GatedSink::closed();
    sink.open();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    // No watch_revocations call: the stack knows its verifier's store.
    let _stack = AuthStack::new(verifier)
        .contract(contract())
        .audit(AuditLayer::new(auditor.clone()));
    let actions = async || {
        auditor.flush().await;
        let events = sink.events.lock().unwrap().clone();
        events
            .iter()
            .filter(|e| e["type"] == "revocation")
            .map(|e| e["action"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    list.revoke(Revocation::jti("leaked-2"), Some("ops"))
        .unwrap();
    list.unrevoke(RevokedBy::Jti, "leaked-2", None, Some("ops"))
        .unwrap();
    assert_eq!(actions().await, ["revoke", "unrevoke"]);
    // Watching by hand as well still gives one event per change.
    assert!(auditor.watch_revocations(&list));
    list.revoke(Revocation::jti("leaked-3"), Some("ops"))
        .unwrap();
    assert_eq!(actions().await, ["revoke", "unrevoke", "revoke"]);
}

/// A sink that keeps the events themselves.
#[derive(Clone, Default)]
struct KeepSink(Arc<Mutex<Vec<AuditEvent>>>);

impl AuditSink for KeepSink {
    fn write<'a>(&'a mut self, batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        self.0.lock().unwrap().extend(batch.iter().cloned());
        Box::pin(async { Ok(()) })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_of_event_written_reads_back_equal() {
    use rampgate::anomaly::{AnomalyDetector, AnomalyOptions};
    use rampgate::audit::{AuditRecord, read_events};
    use rampgate::revocation::{Revocation, RevocationList, RevocationStore, RevokedBy};
    use tower::ServiceExt;
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let dir = temp_dir("round-trip");
    let file = dir.join("contract.toml");
    std::fs::write(&file, CONTRACT).unwrap();
    let handle = ContractHandle::from_file(&file).unwrap();
    let sink = KeepSink::default();
    let auditor = Auditor::builder()
        .sink(sink.clone())
        .anomalies(AnomalyDetector::new(AnomalyOptions {
            expired_retries: 3,
            ..AnomalyOptions::default()
        }))
        .build()
        .unwrap();
    auditor.watch_contract(&handle);
    let list = RevocationList::new();
    auditor.watch_revocations(&list);
    let server = Server::start(verifier, handle.clone(), AuditLayer::new(auditor.clone())).await;
    let web = issuer
        .token()
        .sub("alice")
        .client_id("web")
        .scopes(["items:read", "items:write"])
        .claim("jti", "jti-1".into())
        .sign();
    let ops = |acr: &str| {
        let token = issuer.token().client_id("ops").scopes(["items:write"]);
        token.acr(acr).sign()
    };
    let expired = issuer
        .token()
        .sub("bob")
        .client_id("web")
        .expires_in(-600)
        .sign();
    let requests = [
        ("GET", "/items", Some(web.clone()), 200),
        ("POST", "/items", Some(web.clone()), 403),
        ("GET", "/export", Some(web), 200),
        ("GET", "/items", None, 401),
        ("POST", "/approve", Some(ops("pwd")), 401),
        ("POST", "/approve", Some(ops("mfa")), 200),
        ("GET", "/items", Some(expired.clone()), 401),
        ("GET", "/items", Some(expired.clone()), 401),
        ("GET", "/items", Some(expired), 401),
    ];
    for (method, path, token, status) in &requests {
        let response = server.send(method, path, token.as_deref()).await;
        assert_eq!(response.status(), *status, "{method} {path}");
    }
    // A contract layer without a JWT layer under the audit layer: 500.
    let misconfigured = tower::ServiceBuilder::new()
        .layer(AuditLayer::new(auditor.clone()))
        .layer(rampgate::ContractLayer::new(handle.clone()))
        .service(Router::new().route("/items", get(|| async { "items" })));
    let request = http::Request::get("/items")
        .body(axum::body::Body::empty())
        .unwrap();
    assert_eq!(misconfigured.oneshot(request).await.unwrap().status(), 500);
    // A reload applied, one refused; a revocation and its undoing.
    std::fs::write(&file, CONTRACT.replace("version = 1", "version = 2")).unwrap();
    handle.reload().unwrap();
    std::fs::write(&file, "version = 3\n[[routes]]\nmethod = \"GET\"\n").unwrap();
    assert!(handle.reload().is_err());
    let until = std::time::SystemTime::now() + Duration::from_secs(600);
    list.revoke(Revocation::jti("leaked-1").until(until), Some("ops"))
        .unwrap();
    list.unrevoke(RevokedBy::Jti, "leaked-1", None, Some("ops"))
        .unwrap();
    auditor.flush().await;

    let events = sink.0.lock().unwrap().clone();
    let kinds: HashSet<String> = events
        .iter()
        .map(|e| {
            let json = e.to_json();
            match e.kind() {
                "decision" => format!("decision {} {}", json["outcome"], json["reason"]),
                kind => kind.to_owned(),
            }
        })
        .collect();
    for kind in [
        r#"decision "allow" "allowed""#,
        r#"decision "deny" "scope_beyond_stage""#,
        r#"decision "observe_deny" "scope_insufficient""#,
        r#"decision "deny" "token_missing""#,
        r#"decision "deny" "acr_insufficient""#,
        r#"decision "deny" "token_expired""#,
        r#"decision "deny" "layers_misconfigured""#,
        "anomaly",
        "contract_changed",
        "contract_refused",
        "revocation",
    ] {
        assert!(kinds.contains(kind), "no {kind} event in {kinds:?}");
    }
    // Written as the file sink writes them, read back by the reader.
    let mut lines = Vec::new();
    for event in &events {
        event.write_json_line(&mut lines);
    }
    let read: Vec<AuditRecord<'static>> =
        read_events(&lines[..]).collect::<Result<_, _>>().unwrap();
    assert_eq!(read.len(), events.len());
    for (event, record) in events.iter().zip(&read) {
        assert_eq!(*record, event.record(), "{}", event.to_json());
        // And the record read back writes the very same line.
        let mut written = Vec::new();
        event.write_json_line(&mut written);
        let mut again = serde_json::to_vec(record).unwrap();
        again.push(b'\n');
        assert_eq!(
            String::from_utf8(again).unwrap(),
            String::from_utf8(written).unwrap()
        );
    }
    std::fs::remove_dir_all(dir).unwrap();
}

/// A service whose `JwtLayer` and `AuditLayer` are composed apart (no
/// `AuthStack`), with the revocation admin router nested under the same audit
/// layer, audited into a file; the API's verifier consults `api_list`, the
/// admin router changes `admin_list` and its own verifier consults none.
async fn apart(
    issuer: &OfflineIssuer,
    api_list: &rampgate::revocation::RevocationList,
    admin_list: &rampgate::revocation::RevocationList,
    path: &Path,
) -> (SocketAddr, Auditor) {
    use rampgate::JwtLayer;
    use rampgate::admin::{AdminPolicy, RevocationAdmin};
    let auditor = Auditor::builder()
        .sink(FileSink::with_options(path, FileSinkOptions::default()).unwrap())
        .build()
        .unwrap();
    let api = Verifier::builder()
        .issuer(issuer.issuer_config())
        .revocations(api_list.clone())
        .build()
        .await
        .unwrap();
    let admin_only = Verifier::builder()
        .issuer(issuer.issuer_config())
        .build()
        .await
        .unwrap();
    let policy = AdminPolicy::new(issuer.issuer(), issuer.audience()).unwrap();
    let admin = RevocationAdmin::new(admin_list.clone(), policy)
        .router(JwtLayer::new(admin_only).realm("admin"));
    let app = Router::new()
        .route("/items", get(|| async { "items" }))
        .route_layer(JwtLayer::new(api).realm("api"))
        .nest("/admin", admin)
        .layer(AuditLayer::new(auditor.clone()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (addr, auditor)
}

/// The `revocation` events of the file, as `(action, value)`.
fn revocation_lines(path: &Path) -> Vec<(String, String)> {
    read_lines(path)
        .0
        .iter()
        .filter(|l| l["type"] == "revocation")
        .map(|l| {
            let text = |f: &str| l[f].as_str().unwrap().to_owned();
            (text("action"), text("value"))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn layers_composed_apart_audit_their_verifiers_revocations_without_a_call() {
    use rampgate::revocation::{Revocation, RevocationList, RevocationStore, RevokedBy};
    let issuer = OfflineIssuer::new();
    let dir = temp_dir("revocations-apart");
    let path = dir.join("audit.jsonl");
    let (api_list, admin_list) = (RevocationList::new(), RevocationList::new());
    let (addr, auditor) = apart(&issuer, &api_list, &admin_list, &path).await;
    let client = reqwest::Client::new();
    let token = issuer.token().sub("alice").sign();
    let answer = client
        .get(format!("http://{addr}/items"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    // No watch_revocations anywhere: the audit layer met the verifier's list
    // through the request, and watches it from then on.
    api_list
        .revoke(Revocation::jti("leaked-4"), Some("ops"))
        .unwrap();
    api_list
        .unrevoke(RevokedBy::Jti, "leaked-4", None, Some("ops"))
        .unwrap();
    auditor.flush().await;
    let expected = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, v)| ((*a).to_owned(), (*v).to_owned()))
            .collect()
    };
    assert_eq!(
        revocation_lines(&path),
        expected(&[("revoke", "leaked-4"), ("unrevoke", "leaked-4")])
    );
    // Many more requests watch nothing twice: one event per change.
    for _ in 0..5 {
        let answer = client
            .get(format!("http://{addr}/items"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 200);
    }
    api_list.revoke(Revocation::jti("leaked-5"), None).unwrap();
    auditor.flush().await;
    assert_eq!(revocation_lines(&path).len(), 3);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_routers_first_change_under_an_audit_layer_is_audited() {
    use rampgate::revocation::RevocationList;
    let issuer = OfflineIssuer::new();
    let dir = temp_dir("revocations-admin");
    let path = dir.join("audit.jsonl");
    let (api_list, admin_list) = (RevocationList::new(), RevocationList::new());
    let (addr, auditor) = apart(&issuer, &api_list, &admin_list, &path).await;
    // The very first request is the change: no API request went before, and
    // the admin router's own verifier consults no list.
    let admin = issuer.token().sub("root").scopes(["rampgate:admin"]).sign();
    let answer = reqwest::Client::new()
        .post(format!("http://{addr}/admin/revocations"))
        .bearer_auth(&admin)
        .header("content-type", "application/json")
        .body(r#"{"by": "sub", "value": "mallory"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 201);
    auditor.flush().await;
    let (lines, _) = read_lines(&path);
    let revocation = lines
        .iter()
        .find(|l| l["type"] == "revocation")
        .unwrap_or_else(|| panic!("no revocation event: {lines:?}"));
    assert_eq!(revocation["action"], "revoke");
    assert_eq!(revocation["by"], "sub");
    assert_eq!(revocation["value"], "mallory");
    assert_eq!(revocation["actor"], "root");
    // And the admin request itself is a decision of the same trail.
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "decision" && l["method"] == "POST" && l["status"] == 201),
        "{lines:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_router_built_with_an_audit_layer_audits_its_store_at_once() {
    use rampgate::JwtLayer;
    use rampgate::admin::{AdminPolicy, RevocationAdmin};
    use rampgate::revocation::{Revocation, RevocationList, RevocationStore};
    let issuer = OfflineIssuer::new();
    let dir = temp_dir("revocations-admin-built");
    let path = dir.join("audit.jsonl");
    let auditor = Auditor::builder()
        .sink(FileSink::with_options(&path, FileSinkOptions::default()).unwrap())
        .build()
        .unwrap();
    let list = RevocationList::new();
    let policy = AdminPolicy::new(issuer.issuer(), issuer.audience()).unwrap();
    let admin = RevocationAdmin::new(list.clone(), policy)
        .audit(AuditLayer::new(auditor.clone()))
        .router(JwtLayer::new(issuer.verifier().await.unwrap()));
    // Before any request: a change from code is audited already.
    list.revoke(Revocation::jti("leaked-6"), Some("boot"))
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, admin).await.unwrap() });
    let token = issuer.token().sub("root").scopes(["rampgate:admin"]).sign();
    let answer = reqwest::Client::new()
        .get(format!("http://{addr}/revocations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200);
    auditor.flush().await;
    let (lines, _) = read_lines(&path);
    assert_eq!(
        revocation_lines(&path),
        [("revoke".to_owned(), "leaked-6".to_owned())]
    );
    // The admin router's own requests are decisions of the trail.
    let decision = lines.iter().find(|l| l["type"] == "decision").unwrap();
    assert_eq!(
        (decision["method"].as_str(), decision["status"].as_u64()),
        (Some("GET"), Some(200))
    );
    assert_eq!(decision["sub"], "root");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_configs_trusted_proxies_reach_the_audit_layer_through_the_auditor() {
    use rampgate::config::Config;
    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let token = issuer
        .token()
        .client_id("web")
        .scopes(["items:read"])
        .sign();
    let dir = temp_dir("config-proxies");
    let mut addrs = Vec::new();
    for proxies in ["", "trusted_proxies = [\"127.0.0.0/8\"]\n"] {
        let path = dir.join(format!("audit-{}.jsonl", addrs.len()));
        let text = format!(
            "{proxies}[audit]\nfile = {:?}\n",
            path.display().to_string()
        );
        let auditor = Config::from_toml(&text).unwrap().auditor().unwrap();
        // No trusted_proxies call on the layer: the auditor carries them.
        let server = Server::start(
            verifier.clone(),
            contract(),
            AuditLayer::new(auditor.clone()),
        )
        .await;
        let response = server
            .client
            .get(format!("http://{}/items", server.addr))
            .bearer_auth(&token)
            .header("x-forwarded-for", "198.51.100.1, 203.0.113.9")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        auditor.flush().await;
        let (lines, _) = read_lines(&path);
        assert_eq!(lines.len(), 1, "{lines:?}");
        addrs.push(lines[0]["client_addr"].as_str().unwrap().to_owned());
    }
    assert!(addrs[0].starts_with("127.0.0.1:"), "{}", addrs[0]);
    assert_eq!(addrs[1], "203.0.113.9:0");
    std::fs::remove_dir_all(dir).unwrap();
}

/// The `AuditLayer` puts one record in the request, its `AuditFacts`, which
/// `JwtLayer` fills and a handler reads; a `TokenFacts` of one's own, put in
/// between the two layers, is the one filled instead.
#[tokio::test]
async fn handlers_read_the_token_facts_through_audit_facts_or_their_own() {
    use axum::Extension;
    use rampgate::JwtLayer;
    use rampgate::audit::AuditFacts;
    use rampgate_tower::jwt::TokenFacts;
    use tower::ServiceExt;

    let issuer = OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let token = issuer.token().sub("alice").client_id("web").sign();
    let get_me = || {
        http::Request::get("/me")
            .header("authorization", format!("Bearer {token}"))
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let sub_of = |facts: &TokenFacts| {
        let principal = facts.principal().expect("JwtLayer filled the facts");
        (
            principal.sub().map(str::to_owned),
            facts.token_fp().is_some(),
        )
    };

    let audited = AuthStack::new(verifier.clone())
        .audit(AuditLayer::new(Auditor::tracing().unwrap()))
        .protect(Router::new().route(
            "/me",
            get(move |Extension(facts): Extension<AuditFacts>| async move {
                let (sub, fingerprinted) = sub_of(&facts);
                format!("{}:{fingerprinted}", sub.unwrap_or_default())
            }),
        ));
    let body = audited.oneshot(get_me()).await.unwrap().into_body();
    let body = axum::body::to_bytes(body, 1024).await.unwrap();
    assert_eq!(body, "alice:true");

    let own = TokenFacts::default();
    let inserted = own.clone();
    let between = Router::new()
        .route("/me", get(|| async { "ok" }))
        .route_layer(JwtLayer::new(verifier))
        .layer(tower::util::MapRequestLayer::new(
            move |mut req: http::Request<axum::body::Body>| {
                req.extensions_mut().insert(inserted.clone());
                req
            },
        ))
        .layer(AuditLayer::new(Auditor::tracing().unwrap()));
    let response = between.oneshot(get_me()).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(sub_of(&own), (Some("alice".to_owned()), true));
}
