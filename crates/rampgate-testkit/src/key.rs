//! The issuer's signing keys: generated at start, published as JWKs.
//!
//! They are made and used by the same crypto backend as rampgate-core's
//! verification (feature `aws-lc-rs`, the default, or `rust-crypto`; aws-lc-rs
//! when both are on), so a test needs only the one backend.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
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
    pub(crate) public_jwk: Value,
    secret: imp::Secret,
}

impl SigningKey {
    pub(crate) fn generate(alg: SigningAlg, kid: String) -> SigningKey {
        let (secret, public) = imp::generate(alg);
        let public_jwk = match public {
            Public::Ec { x, y } => json!({
                "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y),
            }),
            Public::Rsa { n, e } => json!({
                "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e),
            }),
        };
        SigningKey {
            kid,
            public_jwk,
            secret,
        }
    }

    pub(crate) fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        imp::sign(&self.secret, signing_input)
    }

    /// The JWS compact serialization of `header` and `payload` (JSON text),
    /// signed with this key.
    pub(crate) fn compact(&self, header: &str, payload: &str) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload)
        );
        let signature = self.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// The public half of a fresh key, as big-endian integers.
enum Public {
    Ec { x: Vec<u8>, y: Vec<u8> },
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

#[cfg(feature = "aws-lc-rs")]
mod imp {
    use super::{Public, SigningAlg};
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::rsa::KeySize;
    use aws_lc_rs::signature::{
        ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair,
        RsaPublicKeyComponents,
    };

    pub(super) enum Secret {
        Ec(EcdsaKeyPair),
        Rsa(RsaKeyPair),
    }

    pub(super) fn generate(alg: SigningAlg) -> (Secret, Public) {
        match alg {
            SigningAlg::Es256 => {
                let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                    .expect("P-256 key generation");
                // Uncompressed SEC1: 0x04 || x || y.
                let point = pair.public_key().as_ref();
                let public = Public::Ec {
                    x: point[1..33].to_vec(),
                    y: point[33..65].to_vec(),
                };
                (Secret::Ec(pair), public)
            }
            SigningAlg::Rs256 => {
                let pair = RsaKeyPair::generate(KeySize::Rsa2048).expect("RSA key generation");
                let RsaPublicKeyComponents { n, e } =
                    RsaPublicKeyComponents::<Vec<u8>>::from(pair.public_key());
                (Secret::Rsa(pair), Public::Rsa { n, e })
            }
        }
    }

    pub(super) fn sign(secret: &Secret, message: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match secret {
            Secret::Ec(pair) => pair
                .sign(&rng, message)
                .expect("signing with the dev issuer's key")
                .as_ref()
                .to_vec(),
            Secret::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .expect("signing with the dev issuer's key");
                signature
            }
        }
    }
}

#[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
mod imp {
    use super::{Public, SigningAlg};
    use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    use jsonwebtoken::{Algorithm, EncodingKey};

    pub(super) struct Secret {
        alg: Algorithm,
        encoding: EncodingKey,
    }

    pub(super) fn generate(alg: SigningAlg) -> (Secret, Public) {
        let mut rng = rand::rngs::OsRng;
        match alg {
            SigningAlg::Es256 => {
                use p256::pkcs8::EncodePrivateKey as _;
                let secret = p256::ecdsa::SigningKey::random(&mut rng);
                let point = secret.verifying_key().to_encoded_point(false);
                let der = secret
                    .to_pkcs8_der()
                    .expect("a fresh P-256 key always encodes");
                let public = Public::Ec {
                    x: point.x().expect("uncompressed").to_vec(),
                    y: point.y().expect("uncompressed").to_vec(),
                };
                let secret = Secret {
                    alg: Algorithm::ES256,
                    encoding: EncodingKey::from_ec_der(der.as_bytes()),
                };
                (secret, public)
            }
            SigningAlg::Rs256 => {
                use rsa::pkcs1::EncodeRsaPrivateKey as _;
                use rsa::traits::PublicKeyParts as _;
                let secret = rsa::RsaPrivateKey::new(&mut rng, 2048).expect("RSA key generation");
                let der = secret
                    .to_pkcs1_der()
                    .expect("a fresh RSA key always encodes");
                let public = Public::Rsa {
                    n: secret.n().to_bytes_be(),
                    e: secret.e().to_bytes_be(),
                };
                let secret = Secret {
                    alg: Algorithm::RS256,
                    encoding: EncodingKey::from_rsa_der(der.as_bytes()),
                };
                (secret, public)
            }
        }
    }

    pub(super) fn sign(secret: &Secret, message: &[u8]) -> Vec<u8> {
        let signer = (DEFAULT_PROVIDER.signer_factory)(&secret.alg, &secret.encoding)
            .expect("the dev issuer's own key always makes a signer");
        signer
            .try_sign(message)
            .expect("signing with the dev issuer's key")
    }
}

pub(crate) fn alg_name(alg: SigningAlg) -> &'static str {
    match alg {
        SigningAlg::Es256 => "ES256",
        SigningAlg::Rs256 => "RS256",
    }
}
