//! Verification keys, each bound to exactly one algorithm.
//!
//! A key is decoded and checked once, when its set is loaded: RSA keys shorter than
//! 2048 bits or longer than 4096 (which could never verify), EC points of the wrong length or off their curve, keys meant for
//! encryption and keys of unknown types are skipped with a reason, and the rest of
//! the set keeps working (RFC 7517 §5).

use crate::alg::Algorithm;
use crate::backend::VerifyingKey;
use crate::ed25519;
use crate::error::{Error, Result};
use crate::json::parse_strict;
use crate::pem;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use std::fmt;

/// One verification key, bound to the one algorithm it may verify.
///
/// The algorithm comes from the JWK's `alg` member or, when absent, from its key
/// type and curve (`RSA` → RS256, `EC` P-256 → ES256, P-384 → ES384, `OKP`
/// Ed25519 → EdDSA). A token can never choose another algorithm for this key.
#[derive(Clone)]
pub struct Key {
    kid: Option<String>,
    alg: Algorithm,
    /// Parsed by the crypto backend when the key is loaded, never per request.
    verifying: VerifyingKey,
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Key")
            .field("kid", &self.kid)
            .field("alg", &self.alg.as_str())
            .finish_non_exhaustive()
    }
}

impl Key {
    /// The key id, if the key has one.
    pub fn kid(&self) -> Option<&str> {
        self.kid.as_deref()
    }

    /// The JOSE name of the one algorithm this key verifies (`"ES256"`, ...).
    pub fn alg(&self) -> &'static str {
        self.alg.as_str()
    }

    /// The one algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Parses one public JWK (RFC 7517). Private members, if present, are ignored.
    ///
    /// Symmetric (`oct`) keys are refused here: use [`Key::hmac`] to trust a shared
    /// secret explicitly.
    ///
    /// ```
    /// use rampgate_core::Key;
    ///
    /// let jwk = r#"{"kty":"OKP","crv":"Ed25519","kid":"ed1",
    ///               "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
    /// let key = Key::from_jwk_json(jwk).unwrap();
    /// assert_eq!(key.alg(), "EdDSA");
    /// assert_eq!(key.kid(), Some("ed1"));
    /// ```
    pub fn from_jwk_json(jwk: &str) -> Result<Key> {
        match parse_strict(jwk.as_bytes()) {
            Ok(Value::Object(map)) => Key::from_jwk_map(&map).map_err(Error::config),
            _ => Err(Error::config("a JWK must be a JSON object")),
        }
    }

    pub(crate) fn from_jwk_map(jwk: &Map<String, Value>) -> Result<Key, String> {
        Key::from_jwk_map_as(jwk, None)
    }

    /// A DPoP proof's key (RFC 9449 §4.3): the JWK of the proof's header,
    /// bound to the header's `alg` rather than to the one its type implies
    /// (an RSA key signs PS256 proofs as well as RS256 ones). The JWK must fit
    /// `alg`, and an `alg` member of its own must name it.
    pub(crate) fn from_jwk_map_for(
        jwk: &Map<String, Value>,
        alg: Algorithm,
    ) -> Result<Key, String> {
        Key::from_jwk_map_as(jwk, Some(alg))
    }

    fn from_jwk_map_as(jwk: &Map<String, Value>, forced: Option<Algorithm>) -> Result<Key, String> {
        let kty = str_member(jwk, "kty")?.ok_or("missing kty")?;
        if let Some(usage) = str_member(jwk, "use")?
            && usage != "sig"
        {
            return Err(format!("use is {usage:?}, not \"sig\""));
        }
        if let Some(ops) = jwk.get("key_ops") {
            let ops = ops.as_array().ok_or("key_ops is not an array")?;
            if !ops.iter().any(|op| op.as_str() == Some("verify")) {
                return Err("key_ops does not include \"verify\"".into());
            }
        }
        let kid = str_member(jwk, "kid")?.map(str::to_owned);
        let declared = match str_member(jwk, "alg")? {
            Some(alg) => Some(
                alg.parse::<Algorithm>()
                    .map_err(|_| format!("unsupported alg {alg:?}"))?,
            ),
            None => None,
        };
        let declared = match (declared, forced) {
            (Some(own), Some(forced)) if own != forced => {
                return Err(format!("the key's alg is {own}, not {forced}"));
            }
            (own, forced) => forced.or(own),
        };

        let (alg, verifying) = match kty {
            "RSA" => {
                let n = b64_member(jwk, "n")?;
                let e = b64_member(jwk, "e")?;
                rsa_key(&n, &e, declared)?
            }
            "EC" => {
                let crv = str_member(jwk, "crv")?.ok_or("missing crv")?;
                let (alg, len) = match crv {
                    "P-256" => (Algorithm::ES256, 32),
                    "P-384" => (Algorithm::ES384, 48),
                    other => return Err(format!("unsupported curve {other:?}")),
                };
                if declared.is_some_and(|d| d != alg) {
                    return Err(format!("alg does not fit curve {crv}"));
                }
                let x = b64_member(jwk, "x")?;
                let y = b64_member(jwk, "y")?;
                if x.len() != len || y.len() != len {
                    return Err(format!("x and y must be {len} bytes for {crv}"));
                }
                let mut point = Vec::with_capacity(1 + 2 * len);
                point.push(4);
                point.extend_from_slice(&x);
                point.extend_from_slice(&y);
                (alg, VerifyingKey::ecdsa(alg, &point)?)
            }
            "OKP" => {
                let crv = str_member(jwk, "crv")?.ok_or("missing crv")?;
                if crv != "Ed25519" {
                    return Err(format!("unsupported curve {crv:?}"));
                }
                if declared.is_some_and(|d| d != Algorithm::EdDSA) {
                    return Err("alg does not fit an Ed25519 key".into());
                }
                let x = b64_member(jwk, "x")?;
                let x: [u8; 32] = x
                    .as_slice()
                    .try_into()
                    .map_err(|_| "x must be 32 bytes for Ed25519")?;
                (Algorithm::EdDSA, ed25519_key(&x, "x")?)
            }
            "oct" => return Err("symmetric keys are never taken from a JWK set".into()),
            other => return Err(format!("unsupported kty {other:?}")),
        };
        Ok(Key {
            kid,
            alg,
            verifying,
        })
    }

    /// A key from a PEM-encoded public key, bound to `alg` (for example
    /// `"RS256"`).
    ///
    /// The PEM is a `PUBLIC KEY` (SubjectPublicKeyInfo) of an RSA key, an EC key
    /// on the curve `alg` names (P-256 for ES256, P-384 for ES384; uncompressed
    /// point) or an Ed25519 key, or an `RSA PUBLIC KEY` (PKCS#1). The key must
    /// fit `alg`, and is checked as a JWK's would be. Private keys and
    /// certificates are refused: give the public key.
    ///
    /// ```
    /// use rampgate_core::Key;
    ///
    /// let pem = "-----BEGIN PUBLIC KEY-----
    /// MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=
    /// -----END PUBLIC KEY-----";
    /// let key = Key::from_pem(pem.as_bytes(), "EdDSA", Some("ed1")).unwrap();
    /// assert_eq!(key.alg(), "EdDSA");
    /// assert!(Key::from_pem(pem.as_bytes(), "ES256", None).is_err());
    /// ```
    pub fn from_pem(pem: &[u8], alg: &str, kid: Option<&str>) -> Result<Key> {
        let alg = alg
            .parse::<Algorithm>()
            .map_err(|e| Error::config(e.to_string()))?;
        let kid = kid.map(str::to_owned);
        let verifying = if alg.is_rsa() {
            let (n, e) = pem::rsa_public_key(pem)
                .map_err(|e| Error::config(format!("not an RSA public key PEM: {e}")))?;
            rsa_key(&n, &e, Some(alg)).map_err(Error::config)?.1
        } else if alg.is_ecdsa() {
            let point = pem::ec_public_key(pem, alg)
                .map_err(|e| Error::config(format!("not an EC public key PEM: {e}")))?;
            VerifyingKey::ecdsa(alg, &point).map_err(Error::config)?
        } else if alg.is_eddsa() {
            let x = pem::ed25519_public_key(pem)
                .map_err(|e| Error::config(format!("not an Ed25519 public key PEM: {e}")))?;
            ed25519_key(&x, "the PEM's key").map_err(Error::config)?
        } else {
            return Err(Error::config("use Key::hmac for a shared secret"));
        };
        Ok(Key {
            kid,
            alg,
            verifying,
        })
    }

    /// A shared HMAC secret, bound to `alg` (`"HS256"`, `"HS384"` or `"HS512"`).
    ///
    /// **Warning:** anyone holding the secret can mint tokens. Prefer asymmetric keys;
    /// use this only when the issuer and this service are one trust domain. An issuer
    /// trusted with an HMAC key is never also trusted with public keys, so a public
    /// key can never be used as an HMAC secret (RFC 8725 §3.1).
    ///
    /// The secret must be at least as long as the hash (RFC 7518 §3.2): 32 bytes for
    /// HS256, 48 for HS384, 64 for HS512.
    pub fn hmac(secret: &[u8], alg: &str, kid: Option<&str>) -> Result<Key> {
        let alg = alg
            .parse::<Algorithm>()
            .map_err(|e| Error::config(e.to_string()))?;
        let min = match alg {
            Algorithm::HS256 => 32,
            Algorithm::HS384 => 48,
            Algorithm::HS512 => 64,
            _ => return Err(Error::config("Key::hmac takes HS256, HS384 or HS512")),
        };
        if secret.len() < min {
            return Err(Error::config(format!(
                "an {alg} secret must be at least {min} bytes, got {}",
                secret.len()
            )));
        }
        Ok(Key {
            kid: kid.map(str::to_owned),
            alg,
            verifying: VerifyingKey::hmac(alg, secret).map_err(Error::config)?,
        })
    }

    pub(crate) fn is_symmetric(&self) -> bool {
        self.alg.is_hmac()
    }

    /// Verifies `signature` over `message` with this key's one algorithm.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.verifying.verify(message, signature)
    }
}

/// An Ed25519 key from its 32-byte public key, named `what` in errors. A
/// small-order point makes a trivial signature verify for (almost) any
/// message: the Ed25519 twin of an RSA exponent of 1. A key that is not a point
/// is refused here too, as aws-lc-rs would take it and then fail every request.
fn ed25519_key(x: &[u8; 32], what: &str) -> Result<VerifyingKey, String> {
    match ed25519::check_public_key(x) {
        Ok(()) => VerifyingKey::ed25519(x),
        Err(ed25519::Refused::SmallOrder) => {
            Err("Ed25519 key of small order (every signature would be forgeable)".into())
        }
        Err(ed25519::Refused::NotAPoint) => Err(format!("{what} is not a valid Ed25519 point")),
    }
}

/// The largest RSA modulus the pure-Rust backend (the `rsa` crate) verifies with.
/// aws-lc-rs goes to 8192 bits, but a key set must load the same whichever
/// backend a build uses.
const MAX_RSA_BITS: usize = 4096;

fn rsa_key(
    n: &[u8],
    e: &[u8],
    declared: Option<Algorithm>,
) -> Result<(Algorithm, VerifyingKey), String> {
    let alg = declared.unwrap_or(Algorithm::RS256);
    if !alg.is_rsa() {
        return Err("alg does not fit an RSA key".into());
    }
    let digits: Vec<u8> = n.iter().copied().skip_while(|b| *b == 0).collect();
    let bits = match digits.first() {
        Some(top) => (digits.len() - 1) * 8 + (8 - top.leading_zeros() as usize),
        None => 0,
    };
    // RFC 7518 §3.3: RSA keys of 2048 bits or more.
    if bits < 2048 {
        return Err(format!(
            "RSA modulus of {bits} bits; at least 2048 required"
        ));
    }
    // The RSA backend refuses larger moduli when verifying: such a key would
    // load, then fail every request as signature_invalid.
    if bits > MAX_RSA_BITS {
        return Err(format!(
            "RSA modulus of {bits} bits; at most {MAX_RSA_BITS} supported"
        ));
    }
    // An even or tiny public exponent (e = 1 makes "signatures" trivial) is never
    // a real key; 3 <= e < 2^32 and odd, as every real implementation issues.
    let e_value = e.iter().skip_while(|b| **b == 0).try_fold(0u64, |acc, b| {
        (acc < 1 << 32).then(|| acc << 8 | u64::from(*b))
    });
    match e_value {
        Some(e) if e >= 3 && e % 2 == 1 && e < 1 << 32 => {}
        _ => return Err("RSA public exponent must be odd, at least 3 and below 2^32".into()),
    }
    if roca_fingerprint(n) {
        return Err("RSA key generated by a library with the ROCA flaw (CVE-2017-15361)".into());
    }
    Ok((alg, VerifyingKey::rsa(alg, n, e)?))
}

/// The ROCA fingerprint (Nemec et al., CCS 2017): moduli made by the flawed
/// Infineon library are, modulo each of these small primes, a power of 65537.
/// A random modulus passes this test with negligible probability.
fn roca_fingerprint(n: &[u8]) -> bool {
    const PRIMES: [u32; 38] = [
        3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89,
        97, 101, 103, 107, 109, 113, 127, 131, 137, 139, 149, 151, 157, 163, 167,
    ];
    PRIMES.iter().all(|&p| {
        let residue = n
            .iter()
            .fold(0u32, |acc, b| (acc * 256 + u32::from(*b)) % p);
        // Walk the subgroup generated by 65537 mod p.
        let generator = 65537 % p;
        let mut power = 1u32;
        loop {
            if power == residue {
                return true;
            }
            power = power * generator % p;
            if power == 1 {
                return false;
            }
        }
    })
}

fn str_member<'a>(jwk: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, String> {
    match jwk.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(format!("{name} is not a string")),
    }
}

fn b64_member(jwk: &Map<String, Value>, name: &str) -> Result<Vec<u8>, String> {
    let s = str_member(jwk, name)?.ok_or_else(|| format!("missing {name}"))?;
    URL_SAFE_NO_PAD
        .decode(s)
        .map_err(|_| format!("{name} is not strict base64url"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";
    // RFC 7520 §3.1 EC public key (P-521 there); this one is the P-256 key of RFC 7515 A.3.
    const P256_X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const P256_Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    /// Why `jwk` is refused: the reason a key set would skip it with.
    fn skip_reason(jwk: &str) -> String {
        match Key::from_jwk_json(jwk)
            .map(|_| ())
            .map_err(Error::into_kind)
        {
            Err(ErrorKind::Config { message, .. }) => message,
            other => panic!("expected {jwk} to be refused, got {other:?}"),
        }
    }

    #[test]
    fn ec_key_is_bound_to_its_curve() {
        let jwk =
            format!(r#"{{"kty":"EC","crv":"P-256","kid":"e","x":"{P256_X}","y":"{P256_Y}"}}"#);
        let key = Key::from_jwk_json(&jwk).unwrap();
        assert_eq!(key.alg(), "ES256");
        // conformance: JWK-5 (crv must fit alg)
        let jwk =
            format!(r#"{{"kty":"EC","crv":"P-256","alg":"ES384","x":"{P256_X}","y":"{P256_Y}"}}"#);
        assert!(skip_reason(&jwk).contains("does not fit"));
    }

    #[test]
    fn short_ec_coordinates_are_skipped() {
        // conformance: JWK-4
        let short = URL_SAFE_NO_PAD.encode([1u8; 31]);
        let jwk = format!(r#"{{"kty":"EC","crv":"P-256","x":"{short}","y":"{P256_Y}"}}"#);
        assert!(skip_reason(&jwk).contains("32 bytes"));
    }

    #[test]
    fn off_curve_point_is_skipped() {
        // conformance: JWK-5
        let jwk = format!(
            r#"{{"kty":"EC","crv":"P-256","x":"{P256_X}","y":"{}"}}"#,
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAE"
        );
        assert!(skip_reason(&jwk).contains("crypto backend"));
    }

    #[test]
    fn okp_needs_crv_and_x() {
        // conformance: JWK-6
        assert!(skip_reason(&format!(r#"{{"kty":"OKP","x":"{ED_X}"}}"#)).contains("crv"));
        assert!(skip_reason(r#"{"kty":"OKP","crv":"Ed25519"}"#).contains("missing x"));
        assert!(
            skip_reason(&format!(r#"{{"kty":"OKP","crv":"Ed448","x":"{ED_X}"}}"#))
                .contains("curve")
        );
    }

    #[test]
    fn encryption_keys_and_symmetric_keys_are_skipped() {
        // conformance: JWK-7
        let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","use":"enc","x":"{ED_X}"}}"#);
        assert!(skip_reason(&jwk).contains("use"));
        let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","key_ops":["encrypt"],"x":"{ED_X}"}}"#);
        assert!(skip_reason(&jwk).contains("key_ops"));
        assert!(skip_reason(r#"{"kty":"oct","k":"c2VjcmV0"}"#).contains("symmetric"));
    }

    #[test]
    fn weak_rsa_key_is_skipped() {
        // conformance: JWK-1
        let n_1024 = URL_SAFE_NO_PAD.encode([0xc5u8; 128]);
        let reason = skip_reason(&format!(r#"{{"kty":"RSA","n":"{n_1024}","e":"AQAB"}}"#));
        assert!(reason.contains("2048"), "{reason}");
    }

    #[test]
    fn rsa_size_is_counted_in_bits() {
        let mut n = vec![0x7fu8];
        n.extend([0xc5u8; 255]); // 2047 bits
        let reason = skip_reason(&format!(
            r#"{{"kty":"RSA","n":"{}","e":"AQAB"}}"#,
            URL_SAFE_NO_PAD.encode(&n)
        ));
        assert!(reason.contains("2047 bits"), "{reason}");
    }

    #[test]
    fn rsa_keys_over_4096_bits_are_skipped_at_load() {
        // The RSA backend verifies moduli of at most 4096 bits: a larger key
        // would load and then fail every request.
        let mut n = vec![0x01u8];
        n.extend([0xc5u8; 512]); // 4097 bits
        let reason = skip_reason(&format!(
            r#"{{"kty":"RSA","n":"{}","e":"AQAB"}}"#,
            URL_SAFE_NO_PAD.encode(&n)
        ));
        assert_eq!(reason, "RSA modulus of 4097 bits; at most 4096 supported");
        let n = URL_SAFE_NO_PAD.encode([0xc5u8; 1024]); // 8192 bits
        let reason = skip_reason(&format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB"}}"#));
        assert!(reason.contains("8192 bits; at most 4096"), "{reason}");
        // 4096 bits exactly still loads.
        let n = URL_SAFE_NO_PAD.encode([0xc5u8; 512]);
        assert!(Key::from_jwk_json(&format!(r#"{{"kty":"RSA","n":"{n}","e":"AQAB"}}"#)).is_ok());
    }

    #[test]
    fn bad_rsa_exponents_are_skipped() {
        let n = URL_SAFE_NO_PAD.encode([0xc5u8; 256]);
        for e in ["AQ", "Ag", "AAAAAQ", "AQAAAAAB"] {
            let reason = skip_reason(&format!(r#"{{"kty":"RSA","n":"{n}","e":"{e}"}}"#));
            assert!(reason.contains("exponent"), "{e}: {reason}");
        }
    }

    #[test]
    fn roca_fingerprint_spots_only_flawed_moduli() {
        // A modulus that is 65537^k mod every listed prime: 65537 itself, padded.
        let mut flawed = vec![0u8; 253];
        flawed.extend_from_slice(&[0x01, 0x00, 0x01]);
        assert!(roca_fingerprint(&flawed));
        assert!(!roca_fingerprint(&[0xc5u8; 256]));
    }

    #[test]
    fn small_order_ed25519_keys_are_skipped() {
        // The identity point and an order-8 point: trivial signatures would verify.
        for x in [
            "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "xxdqcD1N2E-6PAt2DRBnDyogU_osOczGTsf9d5KsA3o",
        ] {
            let reason = skip_reason(&format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{x}"}}"#));
            assert!(reason.contains("small order"), "{x}: {reason}");
        }
    }

    #[test]
    fn ed25519_keys_off_the_curve_are_skipped() {
        // y = 2 has no x on the curve.
        let not_a_point = "AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        let reason = skip_reason(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","x":"{not_a_point}"}}"#
        ));
        assert_eq!(reason, "x is not a valid Ed25519 point");
        // Why the core checks: aws-lc-rs takes any 32 bytes as a key (and would
        // fail every request with it); the RustCrypto backend refuses it.
        let mut y = [0u8; 32];
        y[0] = 2;
        assert_eq!(
            VerifyingKey::ed25519(&y).is_ok(),
            cfg!(feature = "aws-lc-rs")
        );
    }

    #[test]
    fn hmac_secret_must_be_long_enough() {
        // conformance: JWK-2
        let err = Key::hmac(&[7u8; 16], "HS256", None).unwrap_err();
        assert_eq!(err.code(), "config_invalid");
        assert!(Key::hmac(&[7u8; 32], "HS256", None).is_ok());
        assert!(Key::hmac(&[7u8; 32], "HS512", None).is_err());
    }
}
