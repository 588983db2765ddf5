//! What the key tests share: the issuer's name and audience, and a P-256
//! signing key with its public JWK.
#![allow(dead_code, unreachable_pub)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::EncodingKey;
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::{Value, json};

pub const ISS: &str = "https://issuer.example";
pub const AUD: &str = "api";

/// A P-256 key: signs tokens, and is published as `jwk`.
pub struct Signer {
    pub kid: String,
    pub encoding: EncodingKey,
    pub jwk: Value,
}

/// A deterministic key (from `seed`) named `kid`.
pub fn signer(seed: u8, kid: &str) -> Signer {
    let secret = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let point = secret.verifying_key().to_encoded_point(false);
    Signer {
        kid: kid.to_owned(),
        encoding: EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes()),
        jwk: json!({
            "kty": "EC", "crv": "P-256", "kid": kid,
            "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
            "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
        }),
    }
}
