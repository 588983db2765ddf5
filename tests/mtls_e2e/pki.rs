//! The test PKI, made at test time with rcgen: a CA, the server's
//! certificate and two clients' (A and B) it issued, and a client it did not;
//! rustls configurations and reqwest clients over them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rampgate::binding::ClientCertificate;
use rampgate_testkit::OfflineIssuer;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// A certificate and its private key.
pub(crate) struct Identity {
    pub(crate) der: CertificateDer<'static>,
    pub(crate) key: PrivatePkcs8KeyDer<'static>,
}

impl Identity {
    /// The base64url SHA-256 of the DER, computed here (sha2), not by rampgate.
    pub(crate) fn x5t(&self) -> String {
        URL_SAFE_NO_PAD.encode(Sha256::digest(&self.der))
    }

    /// The SHA-256 of the DER in lowercase hex, as Envoy's XFCC `Hash`.
    pub(crate) fn hex_hash(&self) -> String {
        Sha256::digest(&self.der)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    pub(crate) fn pem(&self) -> String {
        let body = base64::engine::general_purpose::STANDARD.encode(&self.der);
        let lines: Vec<&str> = body
            .as_bytes()
            .chunks(64)
            .map(|l| std::str::from_utf8(l).unwrap())
            .collect();
        format!(
            "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
            lines.join("\n")
        )
    }

    pub(crate) fn bound_token(&self, issuer: &OfflineIssuer) -> String {
        let certificate = ClientCertificate::from_der(&self.der);
        issuer.token().certificate_bound(&certificate).sign()
    }
}

/// A test CA, the server's certificate (localhost, 127.0.0.1) and two
/// clients', A and B, issued by it; and a client the CA never issued.
pub(crate) struct Pki {
    ca: CertificateDer<'static>,
    server: Identity,
    pub(crate) a: Identity,
    pub(crate) b: Identity,
    pub(crate) stranger: Identity,
}

fn issue(
    name: &str,
    usage: ExtendedKeyUsagePurpose,
    issuer: Option<&Issuer<'_, KeyPair>>,
) -> Identity {
    let key = KeyPair::generate().unwrap();
    let mut params =
        CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()]).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.extended_key_usages = vec![usage];
    let cert = match issuer {
        Some(issuer) => params.signed_by(&key, issuer).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    Identity {
        der: cert.der().clone(),
        key: PrivatePkcs8KeyDer::from(key.serialize_der()),
    }
}

impl Pki {
    pub(crate) fn new() -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "rampgate test CA");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = params.self_signed(&ca_key).unwrap().der().clone();
        let issuer = Issuer::new(params, ca_key);
        let client = ExtendedKeyUsagePurpose::ClientAuth;
        Pki {
            ca,
            server: issue(
                "localhost",
                ExtendedKeyUsagePurpose::ServerAuth,
                Some(&issuer),
            ),
            a: issue("client A", client.clone(), Some(&issuer)),
            b: issue("client B", client.clone(), Some(&issuer)),
            stranger: issue("stranger", client, None),
        }
    }

    fn roots(&self) -> Arc<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(self.ca.clone()).unwrap();
        Arc::new(roots)
    }

    /// The server's rustls configuration: client certificates of the test CA,
    /// `required` or optional.
    pub(crate) fn server_config(&self, required: bool) -> rustls::ServerConfig {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier = WebPkiClientVerifier::builder_with_provider(self.roots(), provider.clone());
        let verifier = if required {
            verifier.build()
        } else {
            verifier.allow_unauthenticated().build()
        };
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier.unwrap())
            .with_single_cert(
                vec![self.server.der.clone()],
                PrivateKeyDer::Pkcs8(self.server.key.clone_key()),
            )
            .unwrap()
    }

    /// A client's rustls configuration: trusts the test CA, presents
    /// `identity` (or no certificate), offers `alpn`.
    pub(crate) fn client_config(
        &self,
        identity: Option<&Identity>,
        alpn: &[u8],
    ) -> rustls::ClientConfig {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(self.roots());
        let mut config = match identity {
            Some(id) => builder
                .with_client_auth_cert(
                    vec![id.der.clone()],
                    PrivateKeyDer::Pkcs8(id.key.clone_key()),
                )
                .unwrap(),
            None => builder.with_no_client_auth(),
        };
        config.alpn_protocols = vec![alpn.to_vec()];
        config
    }

    /// A client trusting the test CA, presenting `identity` (or no
    /// certificate), over HTTP/2 when `http2`, else HTTP/1.1 (by ALPN).
    pub(crate) fn client(&self, identity: Option<&Identity>, http2: bool) -> reqwest::Client {
        let alpn: &[u8] = if http2 { b"h2" } else { b"http/1.1" };
        let client = reqwest::Client::builder()
            .tls_backend_preconfigured(self.client_config(identity, alpn));
        let client = if http2 {
            client.http2_prior_knowledge()
        } else {
            client.http1_only()
        };
        client.build().unwrap()
    }
}
