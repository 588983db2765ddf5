//! Client certificates read from what a TLS terminator forwards (RFC 8705 §3
//! behind a proxy): a PEM certificate, the URL-encoded PEM of nginx's
//! `$ssl_client_escaped_cert`, and Envoy's `x-forwarded-client-cert` (XFCC).
//!
//! Reading them is strict: one `CERTIFICATE` block whose DER is a
//! Certificate's outer structure (SEQUENCE of SEQUENCE, SEQUENCE, BIT STRING,
//! nothing after), percent escapes of exactly two hex digits, XFCC quoting
//! that closes. What the certificate is bound to is its SHA-256 over the DER,
//! so nothing inside it needs to be trusted or understood here: which client
//! certificates a terminator accepts is its own configuration. Nothing here
//! panics on any input.

use crate::binding::{ClientCertificate, Thumbprint};
use crate::pem::{BIT_STRING, Der, SEQUENCE, armoured};

/// Why a forwarded client certificate could not be read; says what is wrong.
///
/// ```
/// use rampgate_core::binding::ClientCertificate;
///
/// let err = ClientCertificate::from_escaped_pem(b"%ZZ").unwrap_err();
/// assert!(err.to_string().contains("percent"), "{err}");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid client certificate: {0}")]
pub struct CertificateError(String);

impl ClientCertificate {
    /// The certificate of a PEM holding exactly one `CERTIFICATE` block (the
    /// leaf).
    ///
    /// ```
    /// use rampgate_core::binding::ClientCertificate;
    ///
    /// let err = ClientCertificate::from_pem(b"-----BEGIN PUBLIC KEY-----").unwrap_err();
    /// assert!(err.to_string().contains("CERTIFICATE"), "{err}");
    /// ```
    pub fn from_pem(pem: &[u8]) -> Result<Self, CertificateError> {
        certificate_der(pem).map(|der| ClientCertificate::from_der(&der))
    }

    /// The certificate of a URL-encoded PEM: nginx's
    /// `$ssl_client_escaped_cert`, or the `Cert` of an XFCC element.
    ///
    /// `+` is taken as itself (it is a base64 character), never as a space.
    pub fn from_escaped_pem(escaped: &[u8]) -> Result<Self, CertificateError> {
        ClientCertificate::from_pem(&percent_decode(escaped)?)
    }

    /// The client certificate an Envoy `x-forwarded-client-cert` value
    /// names, or `None` when it names none; several field lines of the header
    /// are given joined with commas, in order.
    ///
    /// The value is a comma-separated list of elements, one per proxy that
    /// appended one (`forward_client_cert_details: APPEND_FORWARD`), each a
    /// `;`-separated list of `Key=Value` pairs, values with `,;=` in double
    /// quotes. **The last element is taken**: it is the one the proxy in
    /// front of this service added for the TLS connection it terminated; the
    /// ones before were written by earlier hops (or by the client itself),
    /// which nothing here can vouch for. In that element, `Cert` (the
    /// URL-encoded PEM) gives the certificate and `Hash` (the hex SHA-256 of
    /// its DER) its thumbprint; when both are present they must agree. An
    /// element with neither (only `By`, `Subject`, `URI`...) names no
    /// certificate.
    ///
    /// ```
    /// use rampgate_core::binding::ClientCertificate;
    ///
    /// let hash = "e0df53ed6dac3d1e71a0b3b33155b8a034c838191a75f7f063b7225bd968cec9";
    /// let xfcc = format!(r#"By=spiffe://a;Hash=00{};Subject="CN=x,O=y""#, &hash[2..]);
    /// let last = format!(r#"{xfcc},By=spiffe://b;Hash={hash};Subject="CN=client""#);
    /// let cert = ClientCertificate::from_xfcc(&last).unwrap().unwrap();
    /// assert_eq!(cert.thumbprint().to_string(), "4N9T7W2sPR5xoLOzMVW4oDTIOBkadffwY7ciW9lozsk");
    /// assert_eq!(ClientCertificate::from_xfcc("By=spiffe://b").unwrap(), None);
    /// assert!(ClientCertificate::from_xfcc(r#"Hash=00;Subject="unclosed"#).is_err());
    /// ```
    pub fn from_xfcc(value: &str) -> Result<Option<Self>, CertificateError> {
        let elements = split_quoted(value, b',')?;
        let Some(last) = elements.last() else {
            return Ok(None);
        };
        let (mut hash, mut cert) = (None, None);
        for pair in split_quoted(last, b';')? {
            let (key, value) = pair
                .split_once('=')
                .ok_or_else(|| error(format!("{pair:?} is not a Key=Value pair")))?;
            let value = unquote(value.trim())?;
            let slot = match key.trim().to_ascii_lowercase().as_str() {
                "hash" => &mut hash,
                "cert" => &mut cert,
                _ => continue,
            };
            if slot.replace(value).is_some() {
                return Err(error(format!("{} twice in one element", key.trim())));
            }
        }
        let hash = hash.map(|hex| hex_thumbprint(&hex)).transpose()?;
        let cert = cert
            .map(|pem| ClientCertificate::from_escaped_pem(pem.as_bytes()))
            .transpose()?;
        match (hash, cert) {
            (Some(hash), Some(cert)) if cert.thumbprint() != hash => Err(error(
                "the element's Hash is not the SHA-256 of its Cert".into(),
            )),
            (_, Some(cert)) => Ok(Some(cert)),
            (hash, None) => Ok(hash.map(ClientCertificate::from_thumbprint)),
        }
    }
}

fn error(message: String) -> CertificateError {
    CertificateError(message)
}

/// The DER of a PEM holding one certificate, its outer structure checked.
fn certificate_der(pem: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let ((), der) = armoured(pem, "certificate", |label| match label {
        "CERTIFICATE" => Ok(()),
        _ => Err(format!("a PEM of {label:?}; expected CERTIFICATE")),
    })
    .map_err(error)?;
    // RFC 5280 §4.1: Certificate ::= SEQUENCE { tbsCertificate,
    // signatureAlgorithm, signatureValue BIT STRING }.
    let check = || -> Result<(), String> {
        let mut outer = Der(&der);
        let mut certificate = Der(outer.read(SEQUENCE, "the Certificate")?);
        outer.finish("the Certificate")?;
        certificate.read(SEQUENCE, "the tbsCertificate")?;
        certificate.read(SEQUENCE, "the signatureAlgorithm")?;
        certificate.read(BIT_STRING, "the signatureValue")?;
        certificate.finish("the signatureValue")
    };
    check().map_err(error)?;
    Ok(der)
}

/// `%XX` escapes decoded; every `%` must start one.
fn percent_decode(input: &[u8]) -> Result<Vec<u8>, CertificateError> {
    let mut out = Vec::with_capacity(input.len());
    let mut bytes = input.iter();
    while let Some(&byte) = bytes.next() {
        if byte != b'%' {
            out.push(byte);
            continue;
        }
        let digit = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
        match (digit(bytes.next()), digit(bytes.next())) {
            // Two hex digits make at most 0xff.
            (Some(high), Some(low)) => out.push((high * 16 + low) as u8),
            _ => {
                return Err(error("a percent escape is not % and two hex digits".into()));
            }
        }
    }
    Ok(out)
}

/// `text` split on `separator` outside double quotes (a backslash escapes
/// the next character inside them), each part trimmed; empty text has no
/// parts, an empty part is refused.
fn split_quoted(text: &str, separator: u8) -> Result<Vec<&str>, CertificateError> {
    if text.trim().is_empty() {
        return Ok(Vec::new());
    }
    let (mut parts, mut start) = (Vec::new(), 0);
    let (mut quoted, mut escaped) = (false, false);
    for (i, byte) in text.bytes().enumerate() {
        match byte {
            _ if escaped => escaped = false,
            b'\\' if quoted => escaped = true,
            b'"' => quoted = !quoted,
            _ if byte == separator && !quoted => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if quoted {
        return Err(error("a double quote is not closed".into()));
    }
    parts.push(&text[start..]);
    let parts: Vec<&str> = parts.into_iter().map(str::trim).collect();
    if parts.iter().any(|part| part.is_empty()) {
        let what = if separator == b',' { "element" } else { "pair" };
        return Err(error(format!("an empty {what}")));
    }
    Ok(parts)
}

/// A value without its double quotes (and backslash escapes), or as it is.
fn unquote(value: &str) -> Result<String, CertificateError> {
    let Some(inner) = value.strip_prefix('"') else {
        return Ok(value.to_owned());
    };
    let inner = inner
        .strip_suffix('"')
        .ok_or_else(|| error("text after a closing double quote".into()))?;
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            '"' => return Err(error("text after a closing double quote".into())),
            _ => out.push(c),
        }
    }
    Ok(out)
}

/// The thumbprint of a hex SHA-256 (64 hex digits, either case).
fn hex_thumbprint(hex: &str) -> Result<Thumbprint, CertificateError> {
    let invalid = || error("Hash is not 64 hex digits (a SHA-256)".into());
    if hex.len() != 64 {
        return Err(invalid());
    }
    let digit = |b: u8| char::from(b).to_digit(16).ok_or_else(invalid);
    let mut bytes = [0u8; 32];
    for (byte, pair) in bytes.iter_mut().zip(hex.as_bytes().chunks_exact(2)) {
        // Two hex digits make at most 0xff.
        *byte = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Ok(Thumbprint::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tests/pem/client-cert.pem`; its thumbprint below is openssl's:
    /// `openssl x509 -outform DER | openssl dgst -sha256`.
    const PEM: &str = include_str!("../../tests/pem/client-cert.pem");
    const X5T: &str = "4N9T7W2sPR5xoLOzMVW4oDTIOBkadffwY7ciW9lozsk";
    const HASH: &str = "e0df53ed6dac3d1e71a0b3b33155b8a034c838191a75f7f063b7225bd968cec9";

    /// The PEM as nginx's `$ssl_client_escaped_cert` writes it (every
    /// character but unreserved ones escaped, `+`, `/` and `=` included).
    fn escaped(pem: &str) -> String {
        pem.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    fn x5t(cert: ClientCertificate) -> String {
        cert.thumbprint().to_string()
    }

    #[test]
    fn a_pem_certificate_has_the_thumbprint_openssl_computes() {
        assert_eq!(
            x5t(ClientCertificate::from_pem(PEM.as_bytes()).unwrap()),
            X5T
        );
        let crlf = PEM.replace('\n', "\r\n");
        assert_eq!(
            x5t(ClientCertificate::from_pem(crlf.as_bytes()).unwrap()),
            X5T
        );
    }

    #[test]
    fn anything_but_one_well_formed_certificate_is_refused() {
        let two = format!("{PEM}{PEM}");
        let key = PEM.replace("CERTIFICATE", "PUBLIC KEY");
        // A valid base64 body that is not a Certificate: a SEQUENCE of one INTEGER.
        let not_a_cert = "-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----";
        let trailing = PEM.replace("6A==", "6AA=");
        for bad in [
            "",
            "garbage",
            two.as_str(),
            key.as_str(),
            not_a_cert,
            trailing.as_str(),
        ] {
            assert!(
                ClientCertificate::from_pem(bad.as_bytes()).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn escaped_pems_are_percent_decoded_and_plus_is_not_a_space() {
        let cert = ClientCertificate::from_escaped_pem(escaped(PEM).as_bytes()).unwrap();
        assert_eq!(x5t(cert), X5T);
        // Only what must be escaped (spaces, newlines): `+` and `/` as they are.
        let light = PEM.replace(' ', "%20").replace('\n', "%0A");
        assert!(light.contains('+'));
        let cert = ClientCertificate::from_escaped_pem(light.as_bytes()).unwrap();
        assert_eq!(x5t(cert), X5T);
        for bad in ["%", "%0", "%0G", "%%41"] {
            let value = format!("{}{bad}", escaped(PEM));
            assert!(ClientCertificate::from_escaped_pem(value.as_bytes()).is_err());
        }
    }

    #[test]
    fn xfcc_takes_the_cert_or_hash_of_the_last_element() {
        let cert = escaped(PEM);
        let forged = format!("Hash={}", "ab".repeat(32));
        let one = format!(r#"By=spiffe://ns/a;Hash={HASH};Cert="{cert}";Subject="CN=a,O=b;c""#);
        let read = |v: &str| ClientCertificate::from_xfcc(v).map(|c| c.map(x5t));
        assert_eq!(read(&one).unwrap().as_deref(), Some(X5T));
        assert_eq!(
            read(&format!("{forged},{one}")).unwrap().as_deref(),
            Some(X5T)
        );
        assert_ne!(
            read(&format!("{one}, {forged}")).unwrap().as_deref(),
            Some(X5T)
        );
        assert_eq!(read(&format!("Cert={cert}")).unwrap().as_deref(), Some(X5T));
        let upper = format!("hash={}", HASH.to_uppercase());
        assert_eq!(read(&upper).unwrap().as_deref(), Some(X5T));
        assert_eq!(read(r#"By=spiffe://a;Subject="x\"y""#).unwrap(), None);
        assert_eq!(read("  ").unwrap(), None);
    }

    #[test]
    fn malformed_xfcc_is_an_error_never_a_certificate() {
        let cert = escaped(PEM);
        let mismatch = format!("Hash={};Cert={cert}", "00".repeat(32));
        let twice = format!("Hash={HASH};Hash={HASH}");
        for bad in [
            mismatch.as_str(),
            twice.as_str(),
            "Hash=abc",
            "Hash=zz",
            // 64 characters, but `+f` is not two hex digits.
            "Hash=+f00000000000000000000000000000000000000000000000000000000000000",
            "Cert=%ZZ",
            r#"Subject="CN=a"#,
            r#"Subject="CN=a"b"#,
            "By=a,,Hash=00",
            "By=a;;Hash=00",
            "justtext",
        ] {
            assert!(ClientCertificate::from_xfcc(bad).is_err(), "{bad}");
        }
    }
}
