//! Sender-constrained tokens: what a token is bound to (its `cnf` claim, RFC
//! 7800), what the request presented (a verified DPoP proof's key, a client
//! certificate), and why the two did not match.
//!
//! A bound token is accepted only with its proof, on every request: the
//! verifier compares the token's [`Confirmation`] with the request's
//! [`Presentation`] after its cache, so a cached token never skips it.

use crate::error::{ErrorKind, Result};
pub use crate::sender::{BindingFailure, DpopFailure};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::fmt;

/// A SHA-256 thumbprint: of a JWK (RFC 7638, DPoP's `jkt`) or of a DER
/// certificate (RFC 8705, `x5t#S256`). Shown and compared as base64url.
///
/// ```
/// use rampgate_core::binding::Thumbprint;
///
/// let t = Thumbprint::of_der(b"not really a certificate");
/// assert_eq!(Thumbprint::from_base64url(&t.to_string()), Some(t));
/// assert_eq!(t.to_string().len(), 43);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Thumbprint([u8; 32]);

impl Thumbprint {
    /// The SHA-256 of `der`: a certificate's `x5t#S256`.
    pub fn of_der(der: &[u8]) -> Self {
        Thumbprint::sha256(der)
    }

    /// The SHA-256 of `bytes`: of a JWK's canonical members (RFC 7638), or
    /// of an access token (a DPoP proof's `ath`).
    pub fn sha256(bytes: &[u8]) -> Self {
        Thumbprint(Sha256::digest(bytes).into())
    }

    /// The thumbprint of these 32 bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Thumbprint(bytes)
    }

    /// The thumbprint a base64url string (no padding) spells, if it is one.
    pub fn from_base64url(text: &str) -> Option<Self> {
        if text.len() != 43 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(text).ok()?;
        Some(Thumbprint(bytes.try_into().ok()?))
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&URL_SAFE_NO_PAD.encode(self.0))
    }
}

impl fmt::Debug for Thumbprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Thumbprint({self})")
    }
}

/// The client certificate of a request's TLS connection, by its SHA-256
/// thumbprint: put in the request extensions by the TLS acceptor that saw it,
/// or by a layer that trusts a TLS terminator's header. The JWT layer reads it
/// from there; nothing else does.
///
/// ```
/// use rampgate_core::binding::ClientCertificate;
///
/// let cert = ClientCertificate::from_der(b"DER bytes of the leaf certificate");
/// assert_eq!(cert.thumbprint().to_string().len(), 43);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientCertificate {
    thumbprint: Thumbprint,
}

impl ClientCertificate {
    /// The certificate whose DER encoding is `der` (the leaf, as the client sent it).
    pub fn from_der(der: &[u8]) -> Self {
        ClientCertificate {
            thumbprint: Thumbprint::of_der(der),
        }
    }

    /// A certificate known by its thumbprint only (a TLS terminator's hash).
    pub const fn from_thumbprint(thumbprint: Thumbprint) -> Self {
        ClientCertificate { thumbprint }
    }

    /// SHA-256 over the DER certificate: what `cnf.x5t#S256` must equal.
    pub const fn thumbprint(&self) -> Thumbprint {
        self.thumbprint
    }
}

/// What a token is bound to: its `cnf` claim (RFC 7800), read when it is
/// verified.
///
/// A `cnf` with another confirmation method than `jkt` (RFC 9449) or
/// `x5t#S256` (RFC 8705) is refused as `token_bound`: its proof cannot be
/// checked here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Confirmation {
    /// `cnf.jkt`: the thumbprint of the DPoP key.
    pub jkt: Option<Thumbprint>,
    /// `cnf.x5t#S256`: the thumbprint of the client certificate.
    pub x5t_s256: Option<Thumbprint>,
}

impl Confirmation {
    /// The confirmation of `claims`, `None` when it has no `cnf` (or a null
    /// one), as the verifier reads it.
    ///
    /// # Errors
    ///
    /// `token_bound` for a `cnf` with another method (or none),
    /// `claim_invalid` for one that is not an object or a thumbprint that is
    /// not 43 base64url characters.
    ///
    /// ```
    /// use rampgate_core::binding::Confirmation;
    /// use serde_json::json;
    ///
    /// let claims = json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}});
    /// let cnf = Confirmation::from_claims(claims.as_object().unwrap()).unwrap().unwrap();
    /// assert!(cnf.jkt.is_some() && cnf.x5t_s256.is_none());
    /// ```
    pub fn from_claims(claims: &Map<String, Value>) -> Result<Option<Self>> {
        let cnf = match claims.get("cnf") {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(cnf)) => cnf,
            Some(_) => {
                return Err(ErrorKind::ClaimInvalid {
                    claim: "cnf".into(),
                    expected: "a JSON object",
                }
                .into());
            }
        };
        let mut confirmation = Confirmation::default();
        for (name, value) in cnf {
            let slot = match name.as_str() {
                "jkt" => &mut confirmation.jkt,
                "x5t#S256" => &mut confirmation.x5t_s256,
                // `jwk`, `jku`, `kid`, `jwe`…: a proof of possession this
                // service cannot check, so never a bearer token either.
                _ => return Err(ErrorKind::TokenBound.into()),
            };
            let thumbprint = value.as_str().and_then(Thumbprint::from_base64url);
            *slot = Some(thumbprint.ok_or_else(|| ErrorKind::ClaimInvalid {
                claim: format!("cnf.{name}").into(),
                expected: "a base64url SHA-256 thumbprint (43 characters)",
            })?);
        }
        if confirmation.jkt.is_none() && confirmation.x5t_s256.is_none() {
            return Err(ErrorKind::TokenBound.into());
        }
        Ok(Some(confirmation))
    }
}

/// The marker a TLS acceptor puts in each request's extensions when it
/// terminated TLS in this process ([`TlsServer`] does): a DPoP proof's `htu`
/// then starts with `https` for an HTTP/1.1 request too, whose URI carries no
/// scheme.
///
/// [`TlsServer`]: https://docs.rs/rampgate-tower/latest/rampgate_tower/tls/struct.TlsServer.html
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TlsConnection;

/// What a verified token was bound to, and so what its request proved: the
/// audit trail's `bound` (`"dpop"`, `"mtls"` or `"dpop+mtls"`).
///
/// ```
/// use rampgate_core::binding::{BoundBy, Confirmation};
/// use serde_json::json;
///
/// let claims = json!({"cnf": {"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}});
/// let cnf = Confirmation::from_claims(claims.as_object().unwrap()).unwrap().unwrap();
/// assert_eq!(cnf.bound_by(), BoundBy::Dpop);
/// assert_eq!(serde_json::to_value(BoundBy::Dpop).unwrap(), "dpop");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub enum BoundBy {
    /// A DPoP key (`cnf.jkt`), proved by the request's DPoP proof.
    #[serde(rename = "dpop")]
    Dpop,
    /// A client certificate (`cnf.x5t#S256`), proved by the connection.
    #[serde(rename = "mtls")]
    Mtls,
    /// Both.
    #[serde(rename = "dpop+mtls")]
    DpopAndMtls,
}

impl Confirmation {
    /// What the token is bound to.
    pub const fn bound_by(&self) -> BoundBy {
        match (self.jkt.is_some(), self.x5t_s256.is_some()) {
            (true, true) => BoundBy::DpopAndMtls,
            (true, false) => BoundBy::Dpop,
            // A confirmation has one method at least.
            (false, _) => BoundBy::Mtls,
        }
    }
}

/// What a request presented besides its token: the key of its DPoP proof,
/// once that proof verified, and its TLS client certificate. Empty for a
/// plain bearer token.
///
/// ```
/// use rampgate_core::binding::{ClientCertificate, Presentation};
///
/// let bearer = Presentation::bearer();
/// assert!(bearer.is_bearer());
/// let mtls = Presentation::bearer().certificate(Some(ClientCertificate::from_der(b"leaf")));
/// assert!(!mtls.is_bearer());
/// ```
///
/// A DPoP key comes only from a verified proof
/// ([`DpopProof::presented`](crate::dpop::DpopProof::presented)): no caller
/// can claim one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Presentation {
    dpop_key: Option<Thumbprint>,
    certificate: Option<ClientCertificate>,
}

impl Presentation {
    /// A bearer token: no proof, no certificate.
    pub const fn bearer() -> Self {
        Presentation {
            dpop_key: None,
            certificate: None,
        }
    }

    /// With the key of a verified DPoP proof (`Authorization: DPoP`).
    pub(crate) const fn dpop(mut self, key: Thumbprint) -> Self {
        self.dpop_key = Some(key);
        self
    }

    /// The thumbprint of the DPoP proof's key: set only when the request
    /// used `Authorization: DPoP` and its proof verified.
    pub const fn dpop_key(&self) -> Option<Thumbprint> {
        self.dpop_key
    }

    /// The connection's client certificate, when there is one.
    pub const fn client_certificate(&self) -> Option<ClientCertificate> {
        self.certificate
    }

    /// With the connection's client certificate, if any.
    pub const fn certificate(mut self, certificate: Option<ClientCertificate>) -> Self {
        self.certificate = certificate;
        self
    }

    /// Whether nothing but the token was presented.
    pub const fn is_bearer(&self) -> bool {
        self.dpop_key.is_none() && self.certificate.is_none()
    }

    /// Refuses `confirmation` (the token's `cnf`) unless this presentation
    /// proves it: the DPoP key is the token's `jkt`, the certificate is its
    /// `x5t#S256`. A DPoP presentation needs a DPoP-bound token. A client
    /// certificate with an unbound token is not a binding (and not an error).
    pub(crate) fn check(&self, confirmation: Option<&Confirmation>) -> Result<()> {
        let (jkt, x5t) = confirmation.map_or((None, None), |c| (c.jkt, c.x5t_s256));
        match (self.dpop_key, jkt) {
            (Some(key), Some(jkt)) if key != jkt => {
                return Err(BindingFailure::DpopKeyMismatch.into());
            }
            (Some(_), None) => return Err(BindingFailure::DpopTokenUnbound.into()),
            // conformance: 9449-10. A DPoP-bound token sent as a bearer token.
            (None, Some(_)) => return Err(ErrorKind::TokenBound.into()),
            _ => {}
        }
        match (x5t, self.certificate) {
            (Some(x5t), Some(cert)) if cert.thumbprint() != x5t => {
                Err(BindingFailure::CertificateMismatch.into())
            }
            (Some(_), None) => Err(BindingFailure::CertificateMissing.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cnf(value: Value) -> Result<Option<Confirmation>> {
        let Value::Object(claims) = json!({ "cnf": value }) else {
            unreachable!()
        };
        Confirmation::from_claims(&claims)
    }

    const T: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    #[test]
    fn cnf_methods_are_read_and_unknown_ones_refused() {
        let jkt = cnf(json!({ "jkt": T })).unwrap().unwrap();
        assert_eq!(jkt.jkt.unwrap().to_string(), T);
        assert!(cnf(Value::Null).unwrap().is_none());
        let unknown = cnf(json!({ "jwk": {"kty": "EC"} })).unwrap_err();
        assert_eq!(unknown.code(), "token_bound");
        assert_eq!(cnf(json!({})).unwrap_err().code(), "token_bound");
        assert_eq!(
            cnf(json!({ "jkt": "short" })).unwrap_err().code(),
            "claim_invalid"
        );
        assert_eq!(cnf(json!("jkt")).unwrap_err().code(), "claim_invalid");
    }

    #[test]
    fn a_presentation_must_prove_every_binding() {
        let key = Thumbprint::from_base64url(T).unwrap();
        let other = Thumbprint::of_der(b"other");
        let dpop = Confirmation {
            jkt: Some(key),
            x5t_s256: None,
        };
        let bearer = Presentation::bearer();
        let code = |p: Presentation, c: Option<&Confirmation>| p.check(c).err().map(|e| e.code());
        assert_eq!(code(bearer, None), None);
        assert_eq!(code(bearer, Some(&dpop)), Some("token_bound"));
        assert_eq!(code(bearer.dpop(key), Some(&dpop)), None);
        assert_eq!(
            code(bearer.dpop(other), Some(&dpop)),
            Some("dpop_key_mismatch")
        );
        assert_eq!(code(bearer.dpop(key), None), Some("dpop_token_unbound"));
        let cert = ClientCertificate::from_der(b"leaf");
        let mtls = Confirmation {
            jkt: None,
            x5t_s256: Some(cert.thumbprint()),
        };
        assert_eq!(code(bearer, Some(&mtls)), Some("certificate_missing"));
        assert_eq!(code(bearer.certificate(Some(cert)), Some(&mtls)), None);
        let wrong = ClientCertificate::from_der(b"another leaf");
        assert_eq!(
            code(bearer.certificate(Some(wrong)), Some(&mtls)),
            Some("certificate_mismatch")
        );
        // A certificate with an unbound token binds nothing and refuses nothing.
        assert_eq!(code(bearer.certificate(Some(cert)), None), None);
    }
}
