//! `ForwardedCertLayer`: the client certificate of a request that a trusted
//! TLS terminator (Envoy, nginx, a load balancer) forwards in a header, as
//! the [`ClientCertificate`] `JwtLayer` compares with a certificate-bound
//! token's `cnf.x5t#S256` (RFC 8705 §3).
//!
//! # The trusted-proxy rule
//!
//! The header is taken only from a peer in the layer's [`TrustedProxies`],
//! by the address of the TCP connection: axum's `ConnectInfo<SocketAddr>` in
//! the request's extensions. Serve the app with
//! `app.into_make_service_with_connect_info::<SocketAddr>()` (or with
//! [`TlsServer`](crate::tls::TlsServer), which inserts it). A request whose
//! peer is unknown (no `ConnectInfo`) is treated as untrusted: fail closed.
//!
//! - From a trusted peer, the header is **the** source: the certificate it
//!   names replaces any other in the extensions (the one of the proxy's own
//!   TLS connection to this service, say), and a request without the header
//!   has no certificate. A malformed header is refused with 400
//!   `request_malformed` (the handler does not run): a terminator that sends
//!   one is misconfigured, and saying so beats refusing its clients'
//!   certificate-bound tokens as `certificate_missing` for no visible reason.
//! - From any other peer, the header is ignored, and a client can never set
//!   its certificate by sending it: only a certificate its own TLS
//!   connection presented (to [`TlsServer`](crate::tls::TlsServer)) stays.
//!
//! Either way the header is removed before the inner service runs.
//!
//! # The headers
//!
//! - [`ForwardedCertLayer::envoy`]: `x-forwarded-client-cert` (XFCC), its
//!   **last** element's `Cert` (URL-encoded PEM) or `Hash` (hex SHA-256 of
//!   the DER), which must agree when both are there. The last element is the
//!   one the proxy in front of this service added for the connection it
//!   terminated; earlier ones come from earlier hops (or from the client,
//!   with `APPEND_FORWARD`), which nothing here can vouch for. Configure Envoy
//!   with `forward_client_cert_details: SANITIZE_SET` and
//!   `set_current_client_cert_details: { cert: true }`.
//! - [`ForwardedCertLayer::nginx`]: `ssl-client-cert`, nginx's
//!   `$ssl_client_escaped_cert` (`proxy_set_header ssl-client-cert
//!   $ssl_client_escaped_cert;`), one URL-encoded PEM; empty or absent when
//!   the client sent no certificate. Another name with
//!   [`header`](ForwardedCertLayer::header).
//!
//! The layer must run before `JwtLayer`: with axum, add it with `layer`
//! around the router whose routes have the `JwtLayer` (or `AuthStack`) as a
//! `route_layer`.

mod proxies;

use crate::gate::{Authorize, Gate, Passed, Refused};
use axum::extract::ConnectInfo;
use http::header::{Entry, HeaderName};
use http::{HeaderValue, Request};
use rampgate_core::binding::ClientCertificate;
use rampgate_core::{CertificateError, DenialOptions, ErrorKind};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use tower_layer::Layer;

pub use proxies::{InvalidProxy, TrustedProxies};

/// The header of Envoy's forwarded client certificate details.
pub const XFCC: HeaderName = HeaderName::from_static("x-forwarded-client-cert");
/// The header nginx is usually configured to send `$ssl_client_escaped_cert` in.
pub const SSL_CLIENT_CERT: HeaderName = HeaderName::from_static("ssl-client-cert");

/// What the header holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    /// Envoy's `x-forwarded-client-cert`.
    Xfcc,
    /// One URL-encoded PEM (nginx's `$ssl_client_escaped_cert`).
    EscapedPem,
}

/// Takes the client certificate a trusted TLS terminator forwards in a header
/// and puts it in the request's extensions as a [`ClientCertificate`]. See
/// the [module](self) for the trusted-proxy rule.
///
/// ```
/// use axum::{Router, routing::get};
/// use rampgate_testkit::OfflineIssuer;
/// use rampgate_tower::JwtLayer;
/// use rampgate_tower::forwarded::{ForwardedCertLayer, TrustedProxies};
/// use std::net::SocketAddr;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// # let verifier = OfflineIssuer::new().verifier().await.unwrap();
/// let envoy = TrustedProxies::parse(["10.0.0.0/8"]).unwrap();
/// let app = Router::new()
///     .route("/me", get(|| async { "me" }))
///     .route_layer(JwtLayer::new(verifier))
///     // Outside the JwtLayer: it runs first.
///     .layer(ForwardedCertLayer::envoy(envoy));
/// // The peer address is what decides: serve with ConnectInfo.
/// let service = app.into_make_service_with_connect_info::<SocketAddr>();
/// # let _ = service;
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct ForwardedCertLayer {
    header: HeaderName,
    format: Format,
    trusted: Arc<TrustedProxies>,
    options: DenialOptions,
}

impl ForwardedCertLayer {
    /// Envoy's `x-forwarded-client-cert` from `trusted` peers: the `Cert` or
    /// `Hash` of its last element.
    pub fn envoy(trusted: TrustedProxies) -> Self {
        ForwardedCertLayer::new(XFCC, Format::Xfcc, trusted)
    }

    /// nginx's `$ssl_client_escaped_cert` (a URL-encoded PEM) in the
    /// `ssl-client-cert` header from `trusted` peers.
    pub fn nginx(trusted: TrustedProxies) -> Self {
        ForwardedCertLayer::new(SSL_CLIENT_CERT, Format::EscapedPem, trusted)
    }

    fn new(header: HeaderName, format: Format, trusted: TrustedProxies) -> Self {
        ForwardedCertLayer {
            header,
            format,
            trusted: Arc::new(trusted),
            options: DenialOptions::default(),
        }
    }

    /// Reads the certificate from the header `name` instead (in the same
    /// format). The header is removed from every request.
    pub fn header(mut self, name: HeaderName) -> Self {
        self.header = name;
        self
    }

    /// How a malformed header is refused (realm, body); the protocol is the
    /// request's (gRPC or HTTP).
    pub fn denial_options(mut self, options: DenialOptions) -> Self {
        self.options = options;
        self
    }

    /// The certificate the header's field lines `values` name, if any, or
    /// what is wrong with them.
    fn read(&self, values: &[HeaderValue]) -> Result<Option<ClientCertificate>, String> {
        let text = |e: CertificateError| e.to_string();
        match (self.format, values) {
            (_, []) => Ok(None),
            (Format::Xfcc, _) => {
                let lines: Result<Vec<&str>, _> = values.iter().map(HeaderValue::to_str).collect();
                let lines = lines.map_err(|_| "not visible ASCII text".to_owned())?;
                // Field lines of one header are one comma-separated list (RFC 9110 §5.3).
                ClientCertificate::from_xfcc(&lines.join(",")).map_err(text)
            }
            (Format::EscapedPem, [value]) if value.as_bytes().trim_ascii().is_empty() => Ok(None),
            (Format::EscapedPem, [value]) => ClientCertificate::from_escaped_pem(value.as_bytes())
                .map(Some)
                .map_err(text),
            (Format::EscapedPem, _) => Err("more than one field line".to_owned()),
        }
    }
}

impl<S> Layer<S> for ForwardedCertLayer {
    type Service = ForwardedCert<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Gate::new(inner, self.clone())
    }
}

/// The service made by [`ForwardedCertLayer`].
pub type ForwardedCert<S> = Gate<S, ForwardedCertLayer>;

/// Whether a request without `ConnectInfo` was logged once already.
static WARNED_NO_PEER: AtomicBool = AtomicBool::new(false);

impl Authorize for ForwardedCertLayer {
    fn authorize<B>(&self, req: &mut Request<B>) -> Result<Passed, Refused> {
        let values: Vec<HeaderValue> = match req.headers_mut().entry(&self.header) {
            Entry::Occupied(entry) => entry.remove_entry_mult().1.collect(),
            Entry::Vacant(_) => Vec::new(),
        };
        let peer = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(peer)| *peer);
        let Some(peer) = peer else {
            if !WARNED_NO_PEER.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    header = %self.header,
                    "ForwardedCertLayer: a request without ConnectInfo<SocketAddr> (serve with \
                     into_make_service_with_connect_info::<SocketAddr>()): its certificate \
                     header is ignored"
                );
            }
            return Ok(Passed::new());
        };
        if !self.trusted.contains(peer.ip()) {
            if !values.is_empty() {
                tracing::debug!(%peer, header = %self.header, "certificate header from an untrusted peer ignored");
            }
            return Ok(Passed::new());
        }
        // From a trusted terminator the header is the one source.
        req.extensions_mut().remove::<ClientCertificate>();
        match self.read(&values) {
            Ok(Some(certificate)) => {
                req.extensions_mut().insert(certificate);
                Ok(Passed::new())
            }
            Ok(None) => Ok(Passed::new()),
            Err(error) => {
                tracing::warn!(%peer, header = %self.header, %error, "a trusted proxy sent a malformed client certificate header");
                let error = ErrorKind::RequestMalformed(
                    "the client certificate header of the TLS terminator is malformed",
                );
                Err(Refused::new(
                    self.options.for_request(req.headers()).deny(&error.into()),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests;
