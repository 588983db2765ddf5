//! Certificate-bound tokens (RFC 8705 §3) end to end, over real sockets on
//! loopback: a test CA, a server certificate and two client certificates made
//! at test time (rcgen), the in-process TLS server (`rampgate::tls`) and a
//! real TLS client (reqwest over rustls) presenting a certificate or none;
//! and a trusted TLS terminator's header (`rampgate::forwarded`) sent by a
//! "proxy" on another loopback address than the client's; and gRPC (tonic)
//! over the TLS server (grpc.rs, with the `tonic` feature).
#![allow(clippy::unwrap_used)]

#[cfg(feature = "tonic")]
mod grpc;
mod pki;

use pki::{Identity, Pki};

use axum::Router;
use axum::extract::ConnectInfo;
use axum::routing::get;
use rampgate::JwtLayer;
use rampgate::binding::ClientCertificate;
use rampgate::forwarded::{ForwardedCertLayer, TrustedProxies};
use rampgate::tls::TlsServer;
use rampgate_testkit::OfflineIssuer;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A TLS server of `app` on a free loopback port, stopped (gracefully) by
/// sending on the returned channel; the task ends when it has stopped.
struct Served {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Served {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.addr.port())
    }
}

async fn serve_tls(config: rustls::ServerConfig, app: Router) -> Served {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(
        TlsServer::new(config).serve_with_shutdown(listener, app, async {
            let _ = stopped.await;
        }),
    );
    Served {
        addr,
        stop: Some(stop),
        task,
    }
}

/// What `/whoami` answers: the thumbprint of the request's client certificate
/// (`none` without one), the protocol and the peer's address.
fn whoami() -> Router {
    Router::new().route(
        "/whoami",
        get(
            |cert: Option<axum::Extension<ClientCertificate>>,
             ConnectInfo(peer): ConnectInfo<SocketAddr>,
             version: http::Version| async move {
                let cert = cert.map_or("none".to_owned(), |c| c.thumbprint().to_string());
                format!("{cert} {version:?} {}", peer.ip())
            },
        ),
    )
}

async fn text(client: &reqwest::Client, url: &str) -> reqwest::Result<String> {
    client
        .get(url)
        .send()
        .await?
        .error_for_status()?
        .text()
        .await
}

#[tokio::test]
async fn the_connection_s_client_certificate_reaches_the_handler_over_http1_and_http2() {
    let pki = Pki::new();
    let served = serve_tls(pki.server_config(false), whoami()).await;
    let url = served.url("/whoami");
    for http2 in [false, true] {
        let version = if http2 { "HTTP/2.0" } else { "HTTP/1.1" };
        let a = text(&pki.client(Some(&pki.a), http2), &url).await.unwrap();
        assert_eq!(a, format!("{} {version} 127.0.0.1", pki.a.x5t()));
        let b = text(&pki.client(Some(&pki.b), http2), &url).await.unwrap();
        assert_eq!(b, format!("{} {version} 127.0.0.1", pki.b.x5t()));
        // Optional client auth: no certificate, no extension.
        let none = text(&pki.client(None, http2), &url).await.unwrap();
        assert_eq!(none, format!("none {version} 127.0.0.1"));
        // Sending the forwarding headers changes nothing over direct TLS.
        let forged = pki
            .client(None, http2)
            .get(&url)
            .header(
                "x-forwarded-client-cert",
                format!("Hash={}", pki.a.hex_hash()),
            )
            .header("ssl-client-cert", pki.a.pem().replace('\n', "%0A"))
            .send()
            .await
            .unwrap();
        assert_eq!(
            forged.text().await.unwrap(),
            format!("none {version} 127.0.0.1")
        );
    }
    // A certificate the client CA did not issue fails the handshake.
    assert!(
        text(&pki.client(Some(&pki.stranger), false), &url)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn required_client_auth_refuses_a_client_without_a_certificate() {
    let pki = Pki::new();
    let served = serve_tls(pki.server_config(true), whoami()).await;
    let url = served.url("/whoami");
    assert!(text(&pki.client(None, false), &url).await.is_err());
    assert!(text(&pki.client(None, true), &url).await.is_err());
    let a = text(&pki.client(Some(&pki.a), false), &url).await.unwrap();
    assert!(a.starts_with(&pki.a.x5t()), "{a}");
}

#[tokio::test]
async fn graceful_shutdown_stops_accepting_and_returns() {
    let pki = Pki::new();
    let mut served = serve_tls(pki.server_config(false), whoami()).await;
    let client = pki.client(Some(&pki.a), true);
    let url = served.url("/whoami");
    text(&client, &url).await.unwrap();
    served.stop.take().unwrap().send(()).unwrap();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(10), &mut served.task);
    stopped.await.expect("the server stops").unwrap().unwrap();
    assert!(text(&pki.client(Some(&pki.a), false), &url).await.is_err());
}

#[tokio::test]
async fn a_client_that_never_finishes_its_handshake_is_disconnected() {
    use tokio::io::AsyncReadExt;
    let pki = Pki::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = TlsServer::new(pki.server_config(false))
        .handshake_timeout(std::time::Duration::from_millis(200));
    let _server = tokio::spawn(server.serve(listener, whoami()));
    // A TCP connection that sends nothing: closed by the server (read 0).
    let mut silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut buf = [0u8; 16];
    let read = tokio::time::timeout(std::time::Duration::from_secs(5), silent.read(&mut buf));
    assert_eq!(read.await.expect("closed before 5 s").unwrap_or(0), 0);
    // Others are served meanwhile.
    let url = format!("https://localhost:{}/whoami", addr.port());
    assert!(text(&pki.client(Some(&pki.a), true), &url).await.is_ok());
}

/// A router whose `/me` needs a token (JwtLayer), counting the handler's runs.
fn protected(verifier: rampgate::Verifier, calls: Arc<AtomicUsize>) -> Router {
    Router::new()
        .route(
            "/me",
            get(move || {
                calls.fetch_add(1, Ordering::SeqCst);
                async { "me" }
            }),
        )
        .route_layer(JwtLayer::new(verifier))
}

/// Status and reason code of an answer.
async fn answer(request: reqwest::RequestBuilder) -> (u16, String) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let body = response.text().await.unwrap();
    let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    (
        status,
        body["reason"].as_str().unwrap_or_default().to_owned(),
    )
}

// conformance: 8705-1
#[tokio::test]
async fn a_certificate_bound_token_passes_only_over_tls_presenting_its_certificate() {
    let pki = Pki::new();
    let issuer = OfflineIssuer::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let app = protected(issuer.verifier().await.unwrap(), calls.clone());
    let served = serve_tls(pki.server_config(false), app).await;
    let url = served.url("/me");
    let token = pki.a.bound_token(&issuer);
    for http2 in [false, true] {
        let before = calls.load(Ordering::SeqCst);
        let send = |id: Option<&Identity>| pki.client(id, http2).get(&url).bearer_auth(&token);
        assert_eq!(answer(send(Some(&pki.a))).await, (200, String::new()));
        assert_eq!(calls.load(Ordering::SeqCst), before + 1);
        let mismatch = answer(send(Some(&pki.b))).await;
        assert_eq!(mismatch, (401, "certificate_mismatch".to_owned()));
        let missing = answer(send(None)).await;
        assert_eq!(missing, (401, "certificate_missing".to_owned()));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            before + 1,
            "the handler ran on a refusal"
        );
    }
    // A plain bearer token still passes with a client certificate.
    let bearer = issuer.token().sign();
    let plain = pki
        .client(Some(&pki.b), false)
        .get(&url)
        .bearer_auth(bearer);
    assert_eq!(answer(plain).await.0, 200);
}

/// A plain HTTP server of `app` with `ConnectInfo`, as behind a TLS terminator.
async fn serve_plain(app: Router) -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let service = app.into_make_service_with_connect_info::<SocketAddr>();
    let task = tokio::spawn(async move { axum::serve(listener, service).await.unwrap() });
    (addr, task)
}

/// A client whose connections come from `source` (another loopback address
/// than 127.0.0.1 is a different peer).
fn from(source: &str) -> reqwest::Client {
    let source: IpAddr = source.parse().unwrap();
    reqwest::Client::builder()
        .local_address(source)
        .build()
        .unwrap()
}

const PROXY: &str = "127.0.0.2";

// conformance: 8705-1
#[tokio::test]
async fn a_trusted_terminator_s_header_binds_and_a_client_s_own_header_never_does() {
    let pki = Pki::new();
    let issuer = OfflineIssuer::new();
    let calls = Arc::new(AtomicUsize::new(0));
    let trusted = TrustedProxies::parse([format!("{PROXY}/32")]).unwrap();
    let app = protected(issuer.verifier().await.unwrap(), calls.clone())
        .layer(ForwardedCertLayer::envoy(trusted));
    let (addr, _server) = serve_plain(app).await;
    let url = format!("http://{addr}/me");
    let token = pki.a.bound_token(&issuer);
    let escaped = pki.a.pem().replace('\n', "%0A").replace(' ', "%20");
    let xfcc = |id: &Identity| {
        format!(
            "By=spiffe://test/proxy;Hash={};Subject=\"CN=x\"",
            id.hex_hash()
        )
    };
    let send = |source: &str, header: String| {
        from(source)
            .get(&url)
            .bearer_auth(&token)
            .header("x-forwarded-client-cert", header)
    };
    // From the trusted proxy: the header's certificate, by Hash or by Cert.
    assert_eq!(answer(send(PROXY, xfcc(&pki.a))).await.0, 200);
    assert_eq!(
        answer(send(PROXY, format!("Cert=\"{escaped}\""))).await.0,
        200
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let mismatch = answer(send(PROXY, xfcc(&pki.b))).await;
    assert_eq!(mismatch, (401, "certificate_mismatch".to_owned()));
    // Malformed from the trusted proxy: 400, the handler does not run.
    let malformed = answer(send(PROXY, "Hash=zz".to_owned())).await;
    assert_eq!(malformed, (400, "request_malformed".to_owned()));
    // A client naming its own certificate is ignored: no certificate at all.
    let forged = answer(send("127.0.0.1", xfcc(&pki.a))).await;
    assert_eq!(forged, (401, "certificate_missing".to_owned()));
    let forged = answer(send("127.0.0.1", "Hash=zz".to_owned())).await;
    assert_eq!(forged, (401, "certificate_missing".to_owned()));
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "the handler ran on a refusal"
    );
}

#[tokio::test]
async fn a_trusted_nginx_header_sets_the_certificate_of_the_request() {
    let pki = Pki::new();
    let trusted = TrustedProxies::parse([PROXY]).unwrap();
    let app = whoami().layer(ForwardedCertLayer::nginx(trusted));
    let (addr, _server) = serve_plain(app).await;
    let url = format!("http://{addr}/whoami");
    // nginx's $ssl_client_escaped_cert: every reserved character escaped.
    let escaped: String = pki
        .b
        .pem()
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let get = |source: &str| from(source).get(&url).header("ssl-client-cert", &escaped);
    let seen = get(PROXY).send().await.unwrap().text().await.unwrap();
    assert_eq!(seen, format!("{} HTTP/1.1 {PROXY}", pki.b.x5t()));
    let seen = get("127.0.0.1").send().await.unwrap().text().await.unwrap();
    assert_eq!(seen, "none HTTP/1.1 127.0.0.1");
}
