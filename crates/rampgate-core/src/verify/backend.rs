//! The crypto backend: the one place that knows which library checks signatures.
//!
//! Feature `aws-lc-rs` (the default) verifies with aws-lc-rs; feature
//! `rust-crypto` with the pure-Rust RustCrypto crates, through jsonwebtoken's
//! `rust_crypto` provider, for targets without a C toolchain. When both are
//! enabled (`--all-features`, or two dependents asking for different ones),
//! aws-lc-rs is used: it verifies RS256/PS256 about 10×, ES256 4× and ES384 5×
//! as fast as the pure-Rust crates, and is never slower than ring by more than
//! the noise (docs/benchmarks.md); its RSA is not affected by
//! RUSTSEC-2023-0071. With neither, the crate does not build.
//!
//! A key is parsed and checked once, when its set is loaded; a request only
//! runs the signature check.

use crate::alg::Algorithm;

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
compile_error!(
    "rampgate-core needs a crypto backend: enable the feature `aws-lc-rs` (the default) \
     or `rust-crypto` (pure Rust, no C toolchain)"
);

/// A public key (or HMAC secret) ready to verify, bound to one algorithm.
#[derive(Clone)]
pub(crate) struct VerifyingKey(imp::Key);

impl VerifyingKey {
    /// An RSA key from its big-endian modulus and exponent, for an `RS*` or `PS*`
    /// algorithm.
    pub(crate) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Self, String> {
        imp::rsa(alg, n, e).map(VerifyingKey).map_err(rejected)
    }

    /// An EC key from its uncompressed SEC1 point (`04 || x || y`), for `ES256`
    /// or `ES384`. A point off the algorithm's curve is refused.
    pub(crate) fn ecdsa(alg: Algorithm, point: &[u8]) -> Result<Self, String> {
        imp::ecdsa(alg, point).map(VerifyingKey).map_err(rejected)
    }

    /// An Ed25519 key from its 32-byte public point.
    pub(crate) fn ed25519(x: &[u8]) -> Result<Self, String> {
        imp::ed25519(x).map(VerifyingKey).map_err(rejected)
    }

    /// A shared secret for `HS256`, `HS384` or `HS512`.
    pub(crate) fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Self, String> {
        imp::hmac(alg, secret).map(VerifyingKey).map_err(rejected)
    }

    /// Whether `signature` is this key's signature over `message`.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        imp::verify(&self.0, message, signature)
    }

    /// The HMAC tag of `message` under this key's secret, for values the
    /// service makes and checks itself (DPoP nonces); `None` for a public key.
    /// Check a tag with [`verify`](VerifyingKey::verify), in constant time.
    pub(crate) fn hmac_tag(&self, message: &[u8]) -> Option<Vec<u8>> {
        imp::hmac_tag(&self.0, message)
    }
}

fn rejected(e: impl std::fmt::Display) -> String {
    format!("key rejected by the crypto backend: {e}")
}

#[cfg(feature = "aws-lc-rs")]
mod imp {
    use crate::alg::Algorithm;
    use aws_lc_rs::hmac;
    use aws_lc_rs::signature::{self as sig, ParsedPublicKey, RsaPublicKeyComponents};

    /// aws-lc-rs keys, parsed into the library's own key objects once, so that a
    /// verification does not decode the key again (as `UnparsedPublicKey`, and
    /// jsonwebtoken's aws_lc provider, would on every call: 10–15 % of an RSA
    /// check, nothing measurable for EC and Ed25519).
    #[derive(Clone)]
    pub(super) enum Key {
        Public(ParsedPublicKey),
        // Boxed: an HMAC key holds its padded key schedules, several times the
        // size of a parsed public key.
        Hmac(Box<hmac::Key>),
    }

    pub(super) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Key, String> {
        let params = match alg {
            Algorithm::RS256 => &sig::RSA_PKCS1_2048_8192_SHA256,
            Algorithm::RS384 => &sig::RSA_PKCS1_2048_8192_SHA384,
            Algorithm::RS512 => &sig::RSA_PKCS1_2048_8192_SHA512,
            Algorithm::PS256 => &sig::RSA_PSS_2048_8192_SHA256,
            Algorithm::PS384 => &sig::RSA_PSS_2048_8192_SHA384,
            Algorithm::PS512 => &sig::RSA_PSS_2048_8192_SHA512,
            _ => return Err(format!("{alg} is not an RSA algorithm")),
        };
        RsaPublicKeyComponents { n, e }
            .to_parsed_public_key(params)
            .map(Key::Public)
            .map_err(|e| e.to_string())
    }

    pub(super) fn ecdsa(alg: Algorithm, point: &[u8]) -> Result<Key, String> {
        let alg = match alg {
            Algorithm::ES256 => &sig::ECDSA_P256_SHA256_FIXED,
            Algorithm::ES384 => &sig::ECDSA_P384_SHA384_FIXED,
            _ => return Err(format!("{alg} is not an ECDSA algorithm")),
        };
        ParsedPublicKey::new(alg, point)
            .map(Key::Public)
            .map_err(|e| e.to_string())
    }

    pub(super) fn ed25519(x: &[u8]) -> Result<Key, String> {
        ParsedPublicKey::new(&sig::ED25519, x)
            .map(Key::Public)
            .map_err(|e| e.to_string())
    }

    pub(super) fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Key, String> {
        let alg = match alg {
            Algorithm::HS256 => hmac::HMAC_SHA256,
            Algorithm::HS384 => hmac::HMAC_SHA384,
            Algorithm::HS512 => hmac::HMAC_SHA512,
            _ => return Err(format!("{alg} is not an HMAC algorithm")),
        };
        Ok(Key::Hmac(Box::new(hmac::Key::new(alg, secret))))
    }

    pub(super) fn verify(key: &Key, message: &[u8], signature: &[u8]) -> bool {
        match key {
            Key::Public(key) => key.verify_sig(message, signature).is_ok(),
            // Constant-time comparison of the tag.
            Key::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
        }
    }

    pub(super) fn hmac_tag(key: &Key, message: &[u8]) -> Option<Vec<u8>> {
        match key {
            Key::Public(_) => None,
            Key::Hmac(key) => Some(hmac::sign(key, message).as_ref().to_vec()),
        }
    }
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod imp {
    use crate::alg::Algorithm;
    use jsonwebtoken::DecodingKey;
    use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;

    /// The key as jsonwebtoken's `rust_crypto` provider takes it. The provider's
    /// verifier object is made per call: it is not `Send`/`Sync`, so it cannot be
    /// held in a shared key set, and making it costs nothing measurable for RSA
    /// and ECDSA (15 % for Ed25519, whose point is decompressed each time;
    /// docs/benchmarks.md). It is made once at load too, to refuse bad keys then.
    #[derive(Clone)]
    pub(super) struct Key {
        alg: jsonwebtoken::Algorithm,
        decoding: DecodingKey,
    }

    fn checked(alg: Algorithm, decoding: DecodingKey) -> Result<Key, String> {
        let alg = backend_alg(alg);
        (DEFAULT_PROVIDER.verifier_factory)(&alg, &decoding).map_err(|e| e.to_string())?;
        Ok(Key { alg, decoding })
    }

    pub(super) fn rsa(alg: Algorithm, n: &[u8], e: &[u8]) -> Result<Key, String> {
        if !alg.is_rsa() {
            return Err(format!("{alg} is not an RSA algorithm"));
        }
        checked(alg, DecodingKey::from_rsa_raw_components(n, e))
    }

    pub(super) fn ecdsa(alg: Algorithm, point: &[u8]) -> Result<Key, String> {
        if !alg.is_ecdsa() {
            return Err(format!("{alg} is not an ECDSA algorithm"));
        }
        checked(alg, DecodingKey::from_ec_der(point))
    }

    pub(super) fn ed25519(x: &[u8]) -> Result<Key, String> {
        checked(Algorithm::EdDSA, DecodingKey::from_ed_der(x))
    }

    pub(super) fn hmac(alg: Algorithm, secret: &[u8]) -> Result<Key, String> {
        if !alg.is_hmac() {
            return Err(format!("{alg} is not an HMAC algorithm"));
        }
        checked(alg, DecodingKey::from_secret(secret))
    }

    pub(super) fn verify(key: &Key, message: &[u8], signature: &[u8]) -> bool {
        match (DEFAULT_PROVIDER.verifier_factory)(&key.alg, &key.decoding) {
            // The provider's trait takes a `&Vec`: one small copy per check.
            Ok(verifier) => verifier.verify(message, &signature.to_vec()).is_ok(),
            Err(_) => false,
        }
    }

    pub(super) fn hmac_tag(key: &Key, message: &[u8]) -> Option<Vec<u8>> {
        let hmac = matches!(
            key.alg,
            jsonwebtoken::Algorithm::HS256
                | jsonwebtoken::Algorithm::HS384
                | jsonwebtoken::Algorithm::HS512
        );
        let secret = key.decoding.try_get_as_bytes().ok().filter(|_| hmac)?;
        let encoding = jsonwebtoken::EncodingKey::from_secret(secret);
        let signer = (DEFAULT_PROVIDER.signer_factory)(&key.alg, &encoding).ok()?;
        signer.try_sign(message).ok()
    }

    /// The provider's name for the algorithm.
    const fn backend_alg(alg: Algorithm) -> jsonwebtoken::Algorithm {
        match alg {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::RS384 => jsonwebtoken::Algorithm::RS384,
            Algorithm::RS512 => jsonwebtoken::Algorithm::RS512,
            Algorithm::PS256 => jsonwebtoken::Algorithm::PS256,
            Algorithm::PS384 => jsonwebtoken::Algorithm::PS384,
            Algorithm::PS512 => jsonwebtoken::Algorithm::PS512,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::ES384 => jsonwebtoken::Algorithm::ES384,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
            Algorithm::HS256 => jsonwebtoken::Algorithm::HS256,
            Algorithm::HS384 => jsonwebtoken::Algorithm::HS384,
            Algorithm::HS512 => jsonwebtoken::Algorithm::HS512,
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn algorithm_names_agree_with_the_provider() {
            for alg in Algorithm::ASYMMETRIC.into_iter().chain([
                Algorithm::HS256,
                Algorithm::HS384,
                Algorithm::HS512,
            ]) {
                assert_eq!(format!("{:?}", backend_alg(alg)), alg.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_tags_are_hmac_sha256_and_verify() {
        // RFC 4231 §4.3, test case 2.
        let key = VerifyingKey::hmac(Algorithm::HS256, b"Jefe").unwrap();
        let message = b"what do ya want for nothing?";
        let tag = key.hmac_tag(message).unwrap();
        let expected = crate::hex::parse::<32>(
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
        );
        assert_eq!(
            Some(tag.as_slice()),
            expected.as_ref().map(|e| e.as_slice())
        );
        assert!(key.verify(message, &tag));
        assert!(!key.verify(b"what do ya want for something?", &tag));
        let public = VerifyingKey::ed25519(&[
            0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64,
            0x07, 0x3a, 0x0e, 0xe1, 0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68,
            0xf7, 0x07, 0x51, 0x1a,
        ])
        .unwrap();
        assert_eq!(public.hmac_tag(message), None);
    }
}
