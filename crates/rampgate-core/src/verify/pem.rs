//! A strict reader of PEM public keys (RFC 7468) and the DER inside them.
//!
//! Two kinds of PEM are taken: `PUBLIC KEY`, a SubjectPublicKeyInfo (RFC 5280
//! §4.1.2.7) of an RSA (RFC 3279), EC (RFC 5480, named curve P-256 or P-384,
//! uncompressed point) or Ed25519 (RFC 8410) key; and `RSA PUBLIC KEY`, a
//! PKCS#1 RSAPublicKey (RFC 8017 §A.1.1). The reader checks that the key's
//! algorithm fits the one it is loaded for, reads DER only (definite, minimal
//! lengths; no trailing bytes at any level), and returns the raw key material
//! in the form the crypto backend takes. Every failure is an error message
//! naming what is wrong; nothing here panics on any input.

use crate::alg::Algorithm;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

pub(crate) const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
pub(crate) const BIT_STRING: u8 = 0x03;
const NULL: u8 = 0x05;
const OID: u8 = 0x06;

/// The DER contents of the object identifiers a public key may name, with the
/// names error messages use.
const RSA_ENCRYPTION: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
const EC_PUBLIC_KEY: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];
const P256: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07];
const P384: &[u8] = &[0x2b, 0x81, 0x04, 0x00, 0x22];
const ED25519: &[u8] = &[0x2b, 0x65, 0x70];
const NAMES: [(&[u8], &str); 10] = [
    (RSA_ENCRYPTION, "RSA"),
    (EC_PUBLIC_KEY, "EC"),
    (ED25519, "Ed25519"),
    (P256, "P-256"),
    (P384, "P-384"),
    (&[0x2b, 0x81, 0x04, 0x00, 0x23], "P-521"),
    (&[0x2b, 0x81, 0x04, 0x00, 0x0a], "secp256k1"),
    (&[0x2b, 0x65, 0x71], "Ed448"),
    (&[0x2b, 0x65, 0x6e], "X25519"),
    (
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a],
        "RSASSA-PSS",
    ),
];

/// The modulus and public exponent (big-endian, without leading zeros) of an
/// RSA public key, from a `PUBLIC KEY` or `RSA PUBLIC KEY` PEM.
pub(crate) fn rsa_public_key(pem: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let (label, der) = decode(pem)?;
    match label {
        Label::Pkcs1 => rsa_components(&der),
        Label::Spki => {
            let spki = Spki::parse(&der)?;
            spki.expect_algorithm(RSA_ENCRYPTION, "RSA")?;
            // RFC 3279 §2.3.1: the parameters are NULL.
            if spki.parameters != [NULL, 0] {
                return Err("the parameters of an rsaEncryption key must be NULL".into());
            }
            rsa_components(spki.key)
        }
    }
}

/// The uncompressed SEC1 point (`04 || x || y`) of an EC public key on the curve
/// of `alg` (ES256: P-256, ES384: P-384), from a `PUBLIC KEY` PEM.
pub(crate) fn ec_public_key(pem: &[u8], alg: Algorithm) -> Result<Vec<u8>, String> {
    let (curve, name, len) = match alg {
        Algorithm::ES256 => (P256, "P-256", 32),
        Algorithm::ES384 => (P384, "P-384", 48),
        _ => return Err(format!("{alg} is not an ECDSA algorithm")),
    };
    let der = spki_der(pem, "an EC")?;
    let spki = Spki::parse(&der)?;
    spki.expect_algorithm(EC_PUBLIC_KEY, "EC")?;
    let mut parameters = Der(spki.parameters);
    let named = parameters
        .read(OID, "the named curve")
        .map_err(|e| format!("{e} (only named curves are taken)"))?;
    parameters.finish("the named curve")?;
    if named != curve {
        return Err(format!(
            "a key on curve {}, but {alg} needs {name}",
            oid_name(named)
        ));
    }
    if spki.key.len() != 1 + 2 * len || spki.key.first() != Some(&4) {
        return Err(format!(
            "the EC point must be uncompressed (04 || x || y, {} bytes for {name}); got {} bytes",
            1 + 2 * len,
            spki.key.len()
        ));
    }
    Ok(spki.key.to_vec())
}

/// The 32-byte public key of an Ed25519 key, from a `PUBLIC KEY` PEM.
pub(crate) fn ed25519_public_key(pem: &[u8]) -> Result<[u8; 32], String> {
    let der = spki_der(pem, "an Ed25519")?;
    let spki = Spki::parse(&der)?;
    spki.expect_algorithm(ED25519, "Ed25519")?;
    // RFC 8410 §3: the parameters are absent.
    if !spki.parameters.is_empty() {
        return Err("an Ed25519 key has no algorithm parameters".into());
    }
    spki.key
        .try_into()
        .map_err(|_| format!("an Ed25519 public key is 32 bytes, got {}", spki.key.len()))
}

/// What the armour says the PEM holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Label {
    /// `PUBLIC KEY`: a SubjectPublicKeyInfo.
    Spki,
    /// `RSA PUBLIC KEY`: a PKCS#1 RSAPublicKey.
    Pkcs1,
}

/// The DER of a `PUBLIC KEY` PEM; `kind` ("an EC") names the key an
/// `RSA PUBLIC KEY` PEM is refused for.
fn spki_der(pem: &[u8], kind: &str) -> Result<Vec<u8>, String> {
    match decode(pem)? {
        (Label::Spki, der) => Ok(der),
        (Label::Pkcs1, _) => Err(format!(
            "an RSA PUBLIC KEY PEM holds an RSA key, not {kind} key"
        )),
    }
}

/// The label and the decoded body of a PEM holding exactly one public key.
fn decode(pem: &[u8]) -> Result<(Label, Vec<u8>), String> {
    armoured(pem, "key", |label| match label {
        "PUBLIC KEY" => Ok(Label::Spki),
        "RSA PUBLIC KEY" => Ok(Label::Pkcs1),
        _ if label.contains("PRIVATE KEY") => Err(format!(
            "a private key PEM ({label}); give the public key \
             (`openssl pkey -pubout` prints it)"
        )),
        "CERTIFICATE" => Err("a certificate PEM; give its public key \
                              (`openssl x509 -pubkey -noout` prints it)"
            .into()),
        _ => Err(format!(
            "a PEM of {label:?}; expected PUBLIC KEY or RSA PUBLIC KEY"
        )),
    })
}

/// The decoded body of a PEM holding exactly one block (RFC 7468), and what
/// `label` makes of its label (it refuses the labels not wanted); `what`
/// ("key", "certificate") names the one thing a PEM must hold in errors.
pub(crate) fn armoured<T>(
    pem: &[u8],
    what: &str,
    label: impl FnOnce(&str) -> Result<T, String>,
) -> Result<(T, Vec<u8>), String> {
    let text = std::str::from_utf8(pem)
        .map_err(|_| "not PEM text (a DER file? give the PEM form)".to_owned())?;
    let mut lines = text.trim().lines().map(str::trim_end);
    let name = lines
        .next()
        .and_then(|line| line.strip_prefix("-----BEGIN "))
        .and_then(|line| line.strip_suffix("-----"))
        .ok_or("does not start with a -----BEGIN ...----- line")?;
    let kind = label(name)?;
    let end = lines.next_back().unwrap_or_default();
    if end != format!("-----END {name}-----") {
        return Err(format!(
            "the last line must be -----END {name}-----; one {what} per PEM"
        ));
    }
    let mut body = String::new();
    for line in lines {
        if line.starts_with("-----") {
            return Err(format!(
                "{line:?} inside the {name} block; one {what} per PEM"
            ));
        }
        body.extend(line.chars().filter(|c| !c.is_ascii_whitespace()));
    }
    if body.is_empty() {
        return Err(format!("the {name} block is empty"));
    }
    let der = STANDARD
        .decode(body)
        .map_err(|e| format!("the PEM body is not valid base64 ({e})"))?;
    Ok((kind, der))
}

/// A SubjectPublicKeyInfo: the algorithm's OID, the raw DER of its parameters
/// (empty when absent), and the contents of the key's BIT STRING.
struct Spki<'a> {
    algorithm: &'a [u8],
    parameters: &'a [u8],
    key: &'a [u8],
}

impl<'a> Spki<'a> {
    fn parse(der: &'a [u8]) -> Result<Self, String> {
        let mut outer = Der(der);
        let mut info = Der(outer.read(SEQUENCE, "the SubjectPublicKeyInfo")?);
        outer.finish("the SubjectPublicKeyInfo")?;
        let mut algorithm = Der(info.read(SEQUENCE, "the AlgorithmIdentifier")?);
        let oid = algorithm.read(OID, "the algorithm OID")?;
        let bits = info.read(BIT_STRING, "the public key BIT STRING")?;
        info.finish("the public key")?;
        let key = match bits.split_first() {
            Some((0, key)) => key,
            Some(_) => return Err("the public key BIT STRING has unused bits".into()),
            None => return Err("the public key BIT STRING is empty".into()),
        };
        Ok(Spki {
            algorithm: oid,
            parameters: algorithm.0,
            key,
        })
    }

    /// Refuses a key whose algorithm is not `expected` (named `name`).
    fn expect_algorithm(&self, expected: &[u8], name: &str) -> Result<(), String> {
        if self.algorithm == expected {
            Ok(())
        } else {
            Err(format!(
                "the key's algorithm is {}, not {name}",
                oid_name(self.algorithm)
            ))
        }
    }
}

/// n and e of a PKCS#1 RSAPublicKey: SEQUENCE { INTEGER n, INTEGER e }.
fn rsa_components(der: &[u8]) -> Result<(Vec<u8>, Vec<u8>), String> {
    let mut outer = Der(der);
    let mut key = Der(outer.read(SEQUENCE, "the RSAPublicKey")?);
    outer.finish("the RSAPublicKey")?;
    let n = positive_integer(key.read(INTEGER, "the modulus")?, "the modulus")?;
    let e = positive_integer(
        key.read(INTEGER, "the public exponent")?,
        "the public exponent",
    )?;
    key.finish("the public exponent")?;
    Ok((n.to_vec(), e.to_vec()))
}

/// The big-endian magnitude of a DER INTEGER that must be positive, its
/// leading zero (if any) removed.
fn positive_integer<'a>(content: &'a [u8], what: &str) -> Result<&'a [u8], String> {
    match content {
        [] => Err(format!("{what} is an empty INTEGER")),
        [first, ..] if first & 0x80 != 0 => Err(format!("{what} is negative")),
        [0] => Err(format!("{what} is zero")),
        [0, second, ..] if second & 0x80 == 0 => {
            Err(format!("{what} has a superfluous leading zero (not DER)"))
        }
        [0, rest @ ..] => Ok(rest),
        _ => Ok(content),
    }
}

/// The name of a known OID, or its dotted form.
fn oid_name(oid: &[u8]) -> String {
    match NAMES.iter().find(|(known, _)| *known == oid) {
        Some((_, name)) => format!("{name} ({})", dotted(oid)),
        None => dotted(oid),
    }
}

/// The dotted form of an OID's DER contents, `?` where it is malformed.
fn dotted(oid: &[u8]) -> String {
    let mut arcs: Vec<u64> = Vec::new();
    let mut value = 0u64;
    for (i, byte) in oid.iter().enumerate() {
        value = match value.checked_mul(128) {
            Some(v) => v | u64::from(byte & 0x7f),
            None => return "?".into(),
        };
        if byte & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (value / 40).min(2);
                arcs.push(first);
                arcs.push(value - first * 40);
            } else {
                arcs.push(value);
            }
            value = 0;
        } else if i + 1 == oid.len() {
            return "?".into();
        }
    }
    if arcs.is_empty() {
        return "?".into();
    }
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

/// A DER reader over the bytes not yet read.
pub(crate) struct Der<'a>(pub(crate) &'a [u8]);

impl<'a> Der<'a> {
    /// The contents of the next element, which must have tag `tag`; `what`
    /// names it in errors.
    pub(crate) fn read(&mut self, tag: u8, what: &str) -> Result<&'a [u8], String> {
        let (&found, rest) = self
            .0
            .split_first()
            .ok_or_else(|| format!("truncated DER: {what} is missing"))?;
        if found != tag {
            return Err(format!(
                "{what}: expected tag 0x{tag:02x}, found 0x{found:02x}"
            ));
        }
        let (len, rest) = length(rest, what)?;
        if len > rest.len() {
            return Err(format!(
                "truncated DER: {what} claims {len} bytes, {} left",
                rest.len()
            ));
        }
        let (content, rest) = rest.split_at(len);
        self.0 = rest;
        Ok(content)
    }

    /// Refuses bytes left after `what`.
    pub(crate) fn finish(&self, what: &str) -> Result<(), String> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(format!("{} trailing bytes after {what}", self.0.len()))
        }
    }
}

/// A DER length (X.690 §8.1.3, §10.1: definite, in the fewest bytes) and the
/// bytes after it.
fn length<'a>(input: &'a [u8], what: &str) -> Result<(usize, &'a [u8]), String> {
    let (&first, rest) = input
        .split_first()
        .ok_or_else(|| format!("truncated DER: the length of {what} is missing"))?;
    if first < 0x80 {
        return Ok((usize::from(first), rest));
    }
    let count = usize::from(first & 0x7f);
    if count == 0 {
        return Err(format!("{what} has an indefinite length (BER, not DER)"));
    }
    if count > 4 {
        return Err(format!("{what} has a length of {count} bytes"));
    }
    if rest.len() < count {
        return Err(format!("truncated DER: the length of {what} is cut short"));
    }
    let (bytes, rest) = rest.split_at(count);
    let len = bytes.iter().fold(0u32, |acc, b| acc << 8 | u32::from(*b));
    if bytes.first() == Some(&0) || len < 0x80 {
        return Err(format!(
            "{what} has a length not in its shortest form (not DER)"
        ));
    }
    let len = usize::try_from(len).map_err(|_| format!("{what} is too long"))?;
    Ok((len, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_definite_and_minimal() {
        let what = "x";
        assert_eq!(length(&[0x7f], what).unwrap().0, 0x7f);
        assert_eq!(length(&[0x81, 0x80], what).unwrap().0, 0x80);
        assert_eq!(
            length(&[0x82, 0x01, 0x00, 9], what).unwrap(),
            (0x100, &[9u8][..])
        );
        assert_eq!(
            length(&[0x84, 0x7f, 0xff, 0xff, 0xff], what).unwrap().0,
            0x7fff_ffff
        );
        for bad in [
            &[][..],
            &[0x80],
            &[0x81],
            &[0x81, 0x7f],
            &[0x82, 0x00, 0xff],
            &[0x82, 0x01],
            &[0x85, 1, 1, 1, 1, 1],
        ] {
            assert!(length(bad, what).is_err(), "{bad:02x?}");
        }
        // A length past the end is refused by the reader, not trusted.
        assert!(
            Der(&[0x30, 0x84, 0x7f, 0xff, 0xff, 0xff])
                .read(SEQUENCE, what)
                .is_err()
        );
    }

    #[test]
    fn oids_are_named_in_dotted_form() {
        assert_eq!(oid_name(RSA_ENCRYPTION), "RSA (1.2.840.113549.1.1.1)");
        assert_eq!(oid_name(EC_PUBLIC_KEY), "EC (1.2.840.10045.2.1)");
        assert_eq!(oid_name(P256), "P-256 (1.2.840.10045.3.1.7)");
        assert_eq!(oid_name(P384), "P-384 (1.3.132.0.34)");
        assert_eq!(oid_name(ED25519), "Ed25519 (1.3.101.112)");
        assert_eq!(oid_name(&[0x2b, 0x06, 0x01]), "1.3.6.1");
        assert_eq!(oid_name(&[0x88, 0x37]), "2.999");
        // Malformed: empty, cut in the middle of an arc, an arc over 64 bits.
        assert_eq!(oid_name(&[]), "?");
        assert_eq!(oid_name(&[0x2b, 0x86]), "?");
        let mut huge = [0xffu8; 11];
        huge[10] = 0x7f;
        assert_eq!(oid_name(&huge), "?");
    }

    #[test]
    fn integers_must_be_positive_and_minimal() {
        assert_eq!(positive_integer(&[0x01], "e").unwrap(), [0x01]);
        assert_eq!(positive_integer(&[0x00, 0x80], "n").unwrap(), [0x80]);
        assert_eq!(positive_integer(&[0x00], "n").unwrap_err(), "n is zero");
        assert!(positive_integer(&[], "n").is_err());
        assert!(positive_integer(&[0x80], "n").is_err());
        assert!(positive_integer(&[0x00, 0x01], "n").is_err());
    }
}
