//! The issuer's signing keys: generated at start, published as JWKs.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Value, json};

/// The signing algorithm of a [`DevIssuer`](crate::DevIssuer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256 (the default).
    #[default]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key.
    Rs256,
}

pub(crate) struct SigningKey {
    pub(crate) kid: String,
    pub(crate) alg: Algorithm,
    pub(crate) encoding: EncodingKey,
    pub(crate) public_jwk: Value,
}

impl SigningKey {
    pub(crate) fn generate(alg: SigningAlg, kid: String) -> SigningKey {
        let mut rng = rand::rngs::OsRng;
        match alg {
            SigningAlg::Es256 => {
                use p256::pkcs8::EncodePrivateKey as _;
                let secret = p256::ecdsa::SigningKey::random(&mut rng);
                let point = secret.verifying_key().to_encoded_point(false);
                let der = secret
                    .to_pkcs8_der()
                    .expect("a fresh P-256 key always encodes");
                let (x, y) = (
                    point.x().expect("uncompressed"),
                    point.y().expect("uncompressed"),
                );
                SigningKey {
                    public_jwk: json!({
                        "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
                    }),
                    kid,
                    alg: Algorithm::ES256,
                    encoding: EncodingKey::from_ec_der(der.as_bytes()),
                }
            }
            SigningAlg::Rs256 => {
                use rsa::pkcs1::EncodeRsaPrivateKey as _;
                use rsa::traits::PublicKeyParts as _;
                let secret = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation");
                let der = secret
                    .to_pkcs1_der()
                    .expect("a fresh RSA key always encodes");
                SigningKey {
                    public_jwk: json!({
                        "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                        "n": URL_SAFE_NO_PAD.encode(secret.n().to_bytes_be()),
                        "e": URL_SAFE_NO_PAD.encode(secret.e().to_bytes_be()),
                    }),
                    kid,
                    alg: Algorithm::RS256,
                    encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                }
            }
        }
    }

    pub(crate) fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        let signer = (DEFAULT_PROVIDER.signer_factory)(&self.alg, &self.encoding)
            .expect("the dev issuer's own key always makes a signer");
        signer
            .try_sign(signing_input)
            .expect("signing with the dev issuer's key")
    }
}

pub(crate) fn alg_name(alg: SigningAlg) -> &'static str {
    match alg {
        SigningAlg::Es256 => "ES256",
        SigningAlg::Rs256 => "RS256",
    }
}
