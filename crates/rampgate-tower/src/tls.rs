//! In-process TLS with rustls (feature `tls`): [`TlsServer`] accepts TCP
//! connections, does the TLS handshake and serves a tower HTTP service (an
//! axum `Router`, a tonic service...) over HTTP/1.1 and HTTP/2, with the
//! client certificate of the connection in each request's extensions as a
//! [`ClientCertificate`]: what `JwtLayer` compares with a certificate-bound
//! token's `cnf.x5t#S256` (RFC 8705 §3).
//!
//! Whether a client must present a certificate, and which ones are accepted,
//! is the `rustls::ServerConfig`'s: a `WebPkiClientVerifier` over the client
//! CA's roots, with `allow_unauthenticated()` to let clients without one
//! connect (their certificate-bound tokens are refused as
//! `certificate_missing`, their bearer tokens go on as usual). A client
//! cannot put a [`ClientCertificate`] in the extensions itself: only the
//! handshake sets it.
//!
//! With the `axum` feature each request also carries the peer address as
//! axum's `ConnectInfo<SocketAddr>`, as `into_make_service_with_connect_info`
//! would give it.
//!
//! rustls's crypto provider: aws-lc-rs with this crate's `aws-lc-rs` feature
//! (the default); otherwise enable one on rustls yourself. [`rustls`] is
//! re-exported here, the version this crate is built with.

use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use rampgate_core::binding::{ClientCertificate, TlsConnection};
use std::error::Error as StdError;
use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tower_service::Service;

pub use rustls;

/// How long a client has to finish the TLS handshake, by default.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A TLS server for a tower HTTP service: HTTP/1.1 and HTTP/2 (by ALPN, or
/// HTTP/2 with prior knowledge), the client certificate of each connection in
/// its requests' extensions.
///
/// ```no_run
/// # #[cfg(not(all(feature = "axum", feature = "aws-lc-rs")))] fn main() {}
/// # #[cfg(all(feature = "axum", feature = "aws-lc-rs"))]
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::get};
/// use rampgate_core::binding::ClientCertificate;
/// use rampgate_tower::tls::{TlsServer, rustls};
/// use rustls::pki_types::{CertificateDer, PrivateKeyDer, pem::PemObject};
/// use rustls::server::WebPkiClientVerifier;
/// use std::sync::Arc;
///
/// let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
/// let mut client_ca = rustls::RootCertStore::empty();
/// for cert in CertificateDer::pem_file_iter("client-ca.pem")? {
///     client_ca.add(cert?)?;
/// }
/// let clients = WebPkiClientVerifier::builder_with_provider(client_ca.into(), provider.clone())
///     .allow_unauthenticated() // a certificate is optional; remove to require one
///     .build()?;
/// let config = rustls::ServerConfig::builder_with_provider(provider)
///     .with_safe_default_protocol_versions()?
///     .with_client_cert_verifier(clients)
///     .with_single_cert(
///         CertificateDer::pem_file_iter("server.pem")?.collect::<Result<_, _>>()?,
///         PrivateKeyDer::from_pem_file("server-key.pem")?,
///     )?;
///
/// let app = Router::new().route(
///     "/whoami",
///     get(|cert: Option<axum::Extension<ClientCertificate>>| async move {
///         cert.map(|c| c.thumbprint().to_string()).unwrap_or_default()
///     }),
/// );
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:8443").await?;
/// TlsServer::new(config).serve(listener, app).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
#[must_use]
pub struct TlsServer {
    acceptor: TlsAcceptor,
    handshake_timeout: Duration,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServer")
            .field("handshake_timeout", &self.handshake_timeout)
            .finish_non_exhaustive()
    }
}

impl TlsServer {
    /// A server with this rustls configuration. When it names no ALPN
    /// protocol, `h2` and `http/1.1` are offered.
    pub fn new(mut config: rustls::ServerConfig) -> Self {
        if config.alpn_protocols.is_empty() {
            config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        }
        TlsServer::from_config(Arc::new(config))
    }

    /// A server with this rustls configuration as it is (ALPN included).
    pub fn from_config(config: Arc<rustls::ServerConfig>) -> Self {
        TlsServer {
            acceptor: TlsAcceptor::from(config),
            handshake_timeout: HANDSHAKE_TIMEOUT,
        }
    }

    /// How long a client has to finish the handshake before its connection is
    /// closed ([`HANDSHAKE_TIMEOUT`] by default).
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// Serves `service` on the connections of `listener`, until the process
    /// ends. Errors of one connection (a failed handshake, a reset) end that
    /// connection only.
    pub async fn serve<S, B>(self, listener: TcpListener, service: S) -> io::Result<()>
    where
        S: Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        self.serve_with_shutdown(listener, service, std::future::pending())
            .await
    }

    /// Serves `service` until `signal` completes, then stops accepting,
    /// lets each connection finish the requests it is serving (HTTP/2 with a
    /// GOAWAY), and returns once they are all closed.
    pub async fn serve_with_shutdown<S, B, F>(
        self,
        listener: TcpListener,
        service: S,
        signal: F,
    ) -> io::Result<()>
    where
        S: Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
        F: Future<Output = ()> + Send,
    {
        let graceful = GracefulShutdown::new();
        let mut signal = std::pin::pin!(signal);
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                () = &mut signal => break,
            };
            let (tcp, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    accept_failed(error).await;
                    continue;
                }
            };
            let connection = Connection {
                server: self.clone(),
                peer,
                watcher: graceful.watcher(),
            };
            tokio::spawn(connection.serve(tcp, service.clone()));
        }
        drop(listener);
        graceful.shutdown().await;
        Ok(())
    }
}

/// After a failed `accept`: a client that went away is nothing; anything else
/// (out of file descriptors...) is logged, and accepting pauses a moment
/// rather than spin, as hyper's and axum's servers do.
async fn accept_failed(error: io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accepting a TCP connection failed");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted TCP connection, before its handshake.
struct Connection {
    server: TlsServer,
    peer: SocketAddr,
    watcher: Watcher,
}

impl Connection {
    async fn serve<S, B>(self, tcp: TcpStream, service: S)
    where
        S: Service<http::Request<Incoming>, Response = http::Response<B>> + Clone + Send + 'static,
        S::Future: Send + 'static,
        S::Error: Into<Box<dyn StdError + Send + Sync>>,
        B: hyper::body::Body + Send + 'static,
        B::Data: Send,
        B::Error: Into<Box<dyn StdError + Send + Sync>>,
    {
        let Connection {
            server,
            peer,
            watcher,
        } = self;
        let handshake = server.acceptor.accept(tcp);
        let tls = match tokio::time::timeout(server.handshake_timeout, handshake).await {
            Ok(Ok(tls)) => tls,
            Ok(Err(error)) => {
                tracing::debug!(%peer, %error, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%peer, "TLS handshake timed out");
                return;
            }
        };
        // The leaf is the first certificate the client sent (RFC 8446 §4.4.2).
        let certificate = tls
            .get_ref()
            .1
            .peer_certificates()
            .and_then(<[_]>::first)
            .map(|leaf| ClientCertificate::from_der(leaf));
        let service = hyper::service::service_fn(move |mut req: http::Request<Incoming>| {
            let extensions = req.extensions_mut();
            extensions.insert(TlsConnection);
            if let Some(certificate) = certificate {
                extensions.insert(certificate);
            }
            #[cfg(feature = "axum")]
            extensions.insert(axum::extract::ConnectInfo(peer));
            let mut service = service.clone();
            async move {
                poll_fn(|cx| service.poll_ready(cx)).await?;
                service.call(req).await
            }
        });
        let builder = Builder::new(TokioExecutor::new());
        let connection = builder.serve_connection_with_upgrades(TokioIo::new(tls), service);
        if let Err(error) = watcher.watch(connection).await {
            tracing::debug!(%peer, %error, "connection closed with an error");
        }
    }
}
