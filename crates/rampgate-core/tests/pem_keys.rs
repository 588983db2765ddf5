//! `Key::from_pem` with real PEM files (tests/pem/, made with OpenSSL): each kind
//! of public key loads and verifies a token signed with its private key, and
//! malformed or wrong PEMs are refused with a message that says what is wrong.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey};
use rampgate_core::{ErrorKind, IssuerConfig, Key, KeySet, Verifier};
use serde_json::json;
use std::time::{SystemTime, UNIX_EPOCH};

const ISS: &str = "https://issuer.example";
const AUD: &str = "api";

fn fixture(name: &str) -> Vec<u8> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/pem")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A token for `alg`, signed with the private key in `key_file`.
fn token(alg: Algorithm, key_file: &str) -> String {
    let pem = fixture(key_file);
    let key = match alg {
        Algorithm::RS256 | Algorithm::PS384 => EncodingKey::from_rsa_pem(&pem),
        Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(&pem),
        _ => EncodingKey::from_ed_pem(&pem),
    }
    .unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": format!("{alg:?}"), "kid": "pem"}).to_string()),
        URL_SAFE_NO_PAD
            .encode(json!({"iss": ISS, "aud": AUD, "exp": now + 300, "sub": "alice"}).to_string())
    );
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, alg).unwrap();
    format!("{input}.{sig}")
}

async fn verifier(key: Key) -> Verifier {
    Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).keys(KeySet::from_keys([key]).unwrap()))
        .build()
        .await
        .unwrap()
}

/// The message `Key::from_pem` refuses `pem` for `alg` with.
fn refusal(pem: &[u8], alg: &str) -> String {
    match Key::from_pem(pem, alg, None)
        .map(|_| ())
        .map_err(|e| e.into_kind())
    {
        Err(ErrorKind::Config { message, .. }) => message,
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[tokio::test]
async fn every_kind_of_public_key_pem_loads_and_verifies() {
    let cases = [
        (Algorithm::RS256, "rsa2048.key", "rsa2048.spki.pem"),
        (Algorithm::RS256, "rsa2048.key", "rsa2048.pkcs1.pem"),
        (Algorithm::PS384, "rsa2048.key", "rsa2048.spki.pem"),
        (Algorithm::ES256, "p256.key", "p256.pem"),
        (Algorithm::ES384, "p384.key", "p384.pem"),
        (Algorithm::EdDSA, "ed25519.key", "ed25519.pem"),
    ];
    for (alg, private, public) in cases {
        let name = format!("{alg:?}");
        let key = Key::from_pem(&fixture(public), &name, Some("pem"))
            .unwrap_or_else(|e| panic!("{public} for {name}: {e}"));
        assert_eq!(key.alg(), name);
        let v = verifier(key).await;
        let token = token(alg, private);
        assert!(v.verify(&token).await.is_ok(), "{public} for {name}");
        // A token signed by another key of the same kind is refused.
        let mut forged = token.clone();
        forged.truncate(token.rfind('.').unwrap() + 1);
        forged.push_str(&URL_SAFE_NO_PAD.encode([7u8; 64]));
        assert!(v.verify(&forged).await.is_err(), "{public} for {name}");
    }
}

#[test]
fn crlf_line_ends_and_surrounding_whitespace_are_taken() {
    let pem = String::from_utf8(fixture("p256.pem")).unwrap();
    let crlf = format!("\n  {}\r\n\r\n", pem.trim().replace('\n', "\r\n"));
    assert!(Key::from_pem(crlf.as_bytes(), "ES256", None).is_ok());
    // One long body line, as some tools write it.
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let one_line = format!("-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n");
    assert!(Key::from_pem(one_line.as_bytes(), "ES256", None).is_ok());
}

#[test]
fn a_key_must_fit_the_algorithm_it_is_loaded_for() {
    let rsa = fixture("rsa2048.spki.pem");
    let pkcs1 = fixture("rsa2048.pkcs1.pem");
    let p256 = fixture("p256.pem");
    let p384 = fixture("p384.pem");
    let ed = fixture("ed25519.pem");
    let cases: [(&[u8], &str, &str); 9] = [
        (
            &p256,
            "RS256",
            "not an RSA public key PEM: the key's algorithm is EC (1.2.840.10045.2.1), not RSA",
        ),
        (
            &ed,
            "PS256",
            "not an RSA public key PEM: the key's algorithm is Ed25519 (1.3.101.112), not RSA",
        ),
        (
            &rsa,
            "ES256",
            "not an EC public key PEM: the key's algorithm is RSA (1.2.840.113549.1.1.1), not EC",
        ),
        (
            &pkcs1,
            "ES256",
            "not an EC public key PEM: an RSA PUBLIC KEY PEM holds an RSA key, not an EC key",
        ),
        (
            &p256,
            "ES384",
            "not an EC public key PEM: a key on curve P-256 (1.2.840.10045.3.1.7), but ES384 needs P-384",
        ),
        (
            &p384,
            "ES256",
            "not an EC public key PEM: a key on curve P-384 (1.3.132.0.34), but ES256 needs P-256",
        ),
        (
            &p256,
            "EdDSA",
            "not an Ed25519 public key PEM: the key's algorithm is EC (1.2.840.10045.2.1), not Ed25519",
        ),
        (
            &pkcs1,
            "EdDSA",
            "not an Ed25519 public key PEM: an RSA PUBLIC KEY PEM holds an RSA key, not an Ed25519 key",
        ),
        (&p256, "HS256", "use Key::hmac for a shared secret"),
    ];
    for (pem, alg, expected) in cases {
        assert_eq!(refusal(pem, alg), expected, "{alg}");
    }
}

#[test]
fn private_keys_and_certificates_are_refused() {
    for (file, alg) in [
        ("rsa2048.key", "RS256"),
        ("p256.key", "ES256"),
        ("p384.key", "ES384"),
        ("ed25519.key", "EdDSA"),
    ] {
        let reason = refusal(&fixture(file), alg);
        assert!(
            reason.contains("a private key PEM (PRIVATE KEY); give the public key"),
            "{file}: {reason}"
        );
    }
    for label in ["RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"] {
        let pem = format!("-----BEGIN {label}-----\nAAAA\n-----END {label}-----\n");
        let reason = refusal(pem.as_bytes(), "RS256");
        assert!(reason.contains("a private key PEM"), "{label}: {reason}");
    }
    let cert = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    assert!(refusal(cert.as_bytes(), "ES256").contains("a certificate PEM; give its public key"));
}

/// The body of a PEM fixture, decoded.
fn der(name: &str) -> Vec<u8> {
    let pem = String::from_utf8(fixture(name)).unwrap();
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    STANDARD.decode(body).unwrap()
}

fn armour(label: &str, der: &[u8]) -> Vec<u8> {
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        STANDARD.encode(der)
    )
    .into_bytes()
}

#[test]
fn malformed_pems_are_refused_with_what_is_wrong() {
    let p256 = String::from_utf8(fixture("p256.pem")).unwrap();
    let p256_der = der("p256.pem");
    let ed_der = der("ed25519.pem");
    let mut trailing = p256_der.clone();
    trailing.push(0);
    let mut long_form = p256_der.clone();
    // 30 59 -> 30 81 59: a length that is not in its shortest form.
    long_form.splice(1..2, [0x81, 0x59]);
    let mut bad_oid = ed_der.clone();
    bad_oid[8] = 0x71; // 1.3.101.113, Ed448
    let mut compressed = p256_der.clone();
    compressed.truncate(p256_der.len() - 32);
    compressed[1] -= 32;
    // 30 59 (30 13 ...) 03 42 00 04 x y: the BIT STRING's length, the point's tag.
    compressed[24] -= 32;
    compressed[26] = 0x02;
    let cases: Vec<(Vec<u8>, &str, &str)> = vec![
        (b"".to_vec(), "ES256", "does not start with a -----BEGIN"),
        (p256_der.clone(), "ES256", "not PEM text"),
        (
            p256.replace("BEGIN PUBLIC KEY", "BEGIN PUBLIC KEY ")
                .into_bytes(),
            "ES256",
            "expected PUBLIC KEY or RSA PUBLIC KEY",
        ),
        (
            p256.replace("END PUBLIC KEY", "END RSA PUBLIC KEY")
                .into_bytes(),
            "ES256",
            "the last line must be -----END PUBLIC KEY-----",
        ),
        (
            format!("{p256}{p256}").into_bytes(),
            "ES256",
            "one key per PEM",
        ),
        (
            p256.lines()
                .take(2)
                .collect::<Vec<_>>()
                .join("\n")
                .into_bytes(),
            "ES256",
            "the last line must be",
        ),
        (
            p256.replacen('A', "*", 1).into_bytes(),
            "ES256",
            "not valid base64",
        ),
        (
            p256.replacen("=", "", 1).into_bytes(),
            "ES256",
            "not valid base64",
        ),
        (
            b"-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n".to_vec(),
            "ES256",
            "the PUBLIC KEY block is empty",
        ),
        (
            armour("PUBLIC KEY", &p256_der[..40]),
            "ES256",
            "truncated DER: the SubjectPublicKeyInfo claims 89 bytes, 38 left",
        ),
        (
            armour("PUBLIC KEY", &trailing),
            "ES256",
            "1 trailing bytes after the SubjectPublicKeyInfo",
        ),
        (
            armour("PUBLIC KEY", &long_form),
            "ES256",
            "not in its shortest form",
        ),
        (
            armour("PUBLIC KEY", &[0x30, 0x80, 0, 0]),
            "ES256",
            "indefinite length",
        ),
        (
            armour("PUBLIC KEY", &[0x30, 0x85, 1, 1, 1, 1, 1]),
            "ES256",
            "a length of 5 bytes",
        ),
        (
            armour("PUBLIC KEY", &[0x02, 0x01, 0x00]),
            "ES256",
            "expected tag 0x30, found 0x02",
        ),
        (
            armour("PUBLIC KEY", &bad_oid),
            "EdDSA",
            "the key's algorithm is Ed448 (1.3.101.113), not Ed25519",
        ),
        (
            armour("PUBLIC KEY", &compressed),
            "ES256",
            "must be uncompressed (04 || x || y, 65 bytes for P-256); got 33 bytes",
        ),
        (
            armour("RSA PUBLIC KEY", &[0x30, 0x03, 0x02, 0x01, 0x80]),
            "RS256",
            "the modulus is negative",
        ),
        (
            armour("RSA PUBLIC KEY", &[0x30, 0x04, 0x02, 0x02, 0x00, 0x01]),
            "RS256",
            "superfluous leading zero",
        ),
        (
            armour("RSA PUBLIC KEY", &[0x30, 0x03, 0x02, 0x01, 0x01]),
            "RS256",
            "truncated DER: the public exponent is missing",
        ),
    ];
    for (pem, alg, needle) in cases {
        let reason = refusal(&pem, alg);
        assert!(reason.contains(needle), "{needle:?} not in {reason:?}");
    }
}

#[test]
fn pem_keys_get_the_checks_jwks_get() {
    // A small-order Ed25519 key (the identity) and a point off the curve.
    let mut identity = der("ed25519.pem");
    let n = identity.len();
    identity[n - 32..].copy_from_slice(&[0; 32]);
    identity[n - 32] = 1;
    assert!(refusal(&armour("PUBLIC KEY", &identity), "EdDSA").contains("small order"));
    identity[n - 32] = 2;
    assert_eq!(
        refusal(&armour("PUBLIC KEY", &identity), "EdDSA"),
        "the PEM's key is not a valid Ed25519 point"
    );
    // An RSA exponent of 1 in an otherwise real key.
    let mut pkcs1 = der("rsa2048.pkcs1.pem");
    let n = pkcs1.len();
    pkcs1[n - 5..].copy_from_slice(&[0x02, 0x03, 0x00, 0x00, 0x01]);
    assert!(refusal(&armour("RSA PUBLIC KEY", &pkcs1), "RS256").contains("exponent"));
}

/// Every prefix and every single-byte change of each fixture is refused or
/// loaded, never a panic.
#[test]
fn mangled_fixtures_never_panic() {
    for (name, alg) in [
        ("rsa2048.spki.pem", "RS256"),
        ("rsa2048.pkcs1.pem", "RS256"),
        ("p256.pem", "ES256"),
        ("p384.pem", "ES384"),
        ("ed25519.pem", "EdDSA"),
    ] {
        let der = der(name);
        let label = if name.contains("pkcs1") {
            "RSA PUBLIC KEY"
        } else {
            "PUBLIC KEY"
        };
        for cut in 0..der.len() {
            assert!(Key::from_pem(&armour(label, &der[..cut]), alg, None).is_err());
        }
        for i in 0..der.len().min(64) {
            for byte in [0x00, 0x7f, 0x80, 0x81, 0xff] {
                let mut mangled = der.clone();
                mangled[i] = byte;
                let _ = Key::from_pem(&armour(label, &mangled), alg, None);
            }
        }
    }
}
