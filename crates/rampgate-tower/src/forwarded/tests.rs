//! The trusted-proxy rule in-process: which requests get a certificate from
//! the header, which never do, and the refusal of a malformed one. Over real
//! sockets: tests/mtls_e2e/.

use super::*;
use bytes::Bytes;
use http::Response;
use rampgate_core::binding::Thumbprint;
use std::convert::Infallible;
use std::sync::Mutex;
use tower::{ServiceExt, service_fn};

/// The core's test certificate; [`X5T`] is openssl's SHA-256 of its DER
/// (`openssl x509 -outform DER | openssl dgst -sha256`).
const PEM: &str = include_str!("../../../rampgate-core/tests/pem/client-cert.pem");
const X5T: &str = "4N9T7W2sPR5xoLOzMVW4oDTIOBkadffwY7ciW9lozsk";
const HASH: &str = "e0df53ed6dac3d1e71a0b3b33155b8a034c838191a75f7f063b7225bd968cec9";

const PROXY: &str = "10.0.0.7:40000";
const CLIENT: &str = "192.0.2.1:40000";

/// The PEM URL-encoded as nginx's `$ssl_client_escaped_cert` is.
fn escaped() -> String {
    PEM.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn trusted() -> TrustedProxies {
    TrustedProxies::parse(["10.0.0.0/24"]).unwrap()
}

/// What the inner service saw: its certificate and whether any header of the
/// layer's name was left; `None` when it did not run.
type Saw = Option<(Option<Thumbprint>, bool)>;

/// `layer` around a recording service, called with `req` from `peer` (no
/// `ConnectInfo` when `None`).
async fn run(
    layer: &ForwardedCertLayer,
    peer: Option<&str>,
    mut req: Request<()>,
) -> (Response<Bytes>, Saw) {
    if let Some(peer) = peer {
        let peer: SocketAddr = peer.parse().unwrap();
        req.extensions_mut().insert(ConnectInfo(peer));
    }
    let saw = Arc::new(Mutex::new(None));
    let (record, header) = (saw.clone(), layer.header.clone());
    let inner = service_fn(move |req: Request<()>| {
        let certificate = req.extensions().get::<ClientCertificate>();
        let left = req.headers().contains_key(&header);
        *record.lock().unwrap() = Some((certificate.map(|c| c.thumbprint()), left));
        std::future::ready(Ok::<_, Infallible>(Response::new(Bytes::new())))
    });
    let response = layer.layer(inner).oneshot(req).await.unwrap();
    let saw = *saw.lock().unwrap();
    (response, saw)
}

fn get(headers: &[(HeaderName, &str)]) -> Request<()> {
    let mut req = Request::get("/me");
    for (name, value) in headers {
        req = req.header(name, *value);
    }
    req.body(()).unwrap()
}

fn x5t() -> Option<Thumbprint> {
    Thumbprint::from_base64url(X5T)
}

#[tokio::test]
async fn a_trusted_envoy_s_xfcc_names_the_certificate_and_is_removed() {
    let layer = ForwardedCertLayer::envoy(trusted());
    let cert = format!(
        r#"By=spiffe://a;Hash={HASH};Cert="{}";Subject="CN=c,O=d""#,
        escaped()
    );
    let (response, saw) = run(&layer, Some(PROXY), get(&[(XFCC, &cert)])).await;
    assert_eq!(response.status(), 200);
    assert_eq!(saw, Some((x5t(), false)));
    // The Hash alone is enough; earlier elements (other hops') are not taken.
    let forged = format!("Hash={}", "ab".repeat(32));
    let appended = format!("{forged},By=spiffe://a;Hash={HASH}");
    let (_, saw) = run(&layer, Some(PROXY), get(&[(XFCC, &appended)])).await;
    assert_eq!(saw, Some((x5t(), false)));
    // Two field lines are one list: the last line's element is taken.
    let req = get(&[(XFCC, &forged), (XFCC, &format!("Hash={HASH}"))]);
    let (_, saw) = run(&layer, Some(PROXY), req).await;
    assert_eq!(saw, Some((x5t(), false)));
}

#[tokio::test]
async fn a_trusted_nginx_s_escaped_pem_names_the_certificate() {
    let layer = ForwardedCertLayer::nginx(trusted());
    let (response, saw) = run(&layer, Some(PROXY), get(&[(SSL_CLIENT_CERT, &escaped())])).await;
    assert_eq!(response.status(), 200);
    assert_eq!(saw, Some((x5t(), false)));
    // nginx sends an empty value for a client without a certificate.
    let (response, saw) = run(&layer, Some(PROXY), get(&[(SSL_CLIENT_CERT, "")])).await;
    assert_eq!(response.status(), 200);
    assert_eq!(saw, Some((None, false)));
    let custom = HeaderName::from_static("x-client-cert");
    let layer = ForwardedCertLayer::nginx(trusted()).header(custom.clone());
    let (_, saw) = run(&layer, Some(PROXY), get(&[(custom.clone(), &escaped())])).await;
    assert_eq!(saw, Some((x5t(), false)));
}

#[tokio::test]
async fn the_header_of_an_untrusted_or_unknown_peer_is_ignored_and_removed() {
    let envoy = ForwardedCertLayer::envoy(trusted());
    let xfcc = format!("Hash={HASH}");
    for peer in [Some(CLIENT), None, Some("[2001:db8::1]:443")] {
        let (response, saw) = run(&envoy, peer, get(&[(XFCC, &xfcc)])).await;
        assert_eq!(response.status(), 200, "{peer:?}");
        assert_eq!(saw, Some((None, false)), "{peer:?}");
        // Nor is a malformed one refused: it was never read.
        let (response, saw) = run(&envoy, peer, get(&[(XFCC, "Hash=zz")])).await;
        assert_eq!(response.status(), 200, "{peer:?}");
        assert_eq!(saw, Some((None, false)), "{peer:?}");
    }
    let nobody = ForwardedCertLayer::nginx(TrustedProxies::none());
    let (_, saw) = run(&nobody, Some(PROXY), get(&[(SSL_CLIENT_CERT, &escaped())])).await;
    assert_eq!(saw, Some((None, false)));
}

#[tokio::test]
async fn a_trusted_peer_s_header_replaces_the_connection_s_certificate() {
    // The certificate of the proxy's own TLS connection (as TlsServer puts it).
    let proxy_cert = ClientCertificate::from_der(b"the proxy's own certificate");
    let with_tls = |mut req: Request<()>| {
        req.extensions_mut().insert(proxy_cert);
        req
    };
    let envoy = ForwardedCertLayer::envoy(trusted());
    let req = with_tls(get(&[(XFCC, &format!("Hash={HASH}"))]));
    assert_eq!(run(&envoy, Some(PROXY), req).await.1, Some((x5t(), false)));
    // A trusted proxy's client without a certificate has none.
    let req = with_tls(get(&[]));
    assert_eq!(run(&envoy, Some(PROXY), req).await.1, Some((None, false)));
    // A direct client keeps the certificate its own connection presented.
    let req = with_tls(get(&[(XFCC, &format!("Hash={HASH}"))]));
    let direct = Some((Some(proxy_cert.thumbprint()), false));
    assert_eq!(run(&envoy, Some(CLIENT), req).await.1, direct);
}

#[tokio::test]
async fn a_malformed_header_from_a_trusted_peer_is_refused_with_400() {
    let envoy = ForwardedCertLayer::envoy(trusted());
    let nginx = ForwardedCertLayer::nginx(trusted());
    let mismatch = format!("Hash={};Cert={}", "00".repeat(32), escaped());
    let cert = escaped();
    let cases = [
        (&envoy, vec![(XFCC, "Hash=zz")]),
        (&envoy, vec![(XFCC, r#"Subject="unclosed"#)]),
        (&envoy, vec![(XFCC, mismatch.as_str())]),
        (&nginx, vec![(SSL_CLIENT_CERT, "%ZZ")]),
        (&nginx, vec![(SSL_CLIENT_CERT, "not a pem")]),
        (&nginx, vec![(SSL_CLIENT_CERT, PEM.lines().nth(1).unwrap())]),
        (
            &nginx,
            vec![
                (SSL_CLIENT_CERT, cert.as_str()),
                (SSL_CLIENT_CERT, cert.as_str()),
            ],
        ),
    ];
    for (layer, headers) in cases {
        let (response, saw) = run(layer, Some(PROXY), get(&headers)).await;
        assert_eq!(response.status(), 400, "{headers:?}");
        let denial = response
            .extensions()
            .get::<rampgate_core::Denial>()
            .unwrap();
        assert_eq!(denial.reason().as_str(), "request_malformed");
        assert_eq!(saw, None, "the handler ran for {headers:?}");
    }
    // A gRPC request is refused with a gRPC answer.
    let req = get(&[
        (XFCC, "Hash=zz"),
        (http::header::CONTENT_TYPE, "application/grpc"),
    ]);
    let (response, saw) = run(&envoy, Some(PROXY), req).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["grpc-status"], "3");
    assert_eq!(saw, None);
}
