//! A DPoP client's key (RFC 9449): it makes proofs, and tokens are bound to
//! its thumbprint with [`TokenBuilder::dpop_bound`](crate::TokenBuilder::dpop_bound).

use crate::key::{SigningAlg, SigningKey};
use crate::now;
use rampgate_core::binding::Thumbprint;
use serde_json::{Map, Value, json};
use std::sync::atomic::{AtomicU64, Ordering};

/// An ES256 key pair a DPoP client holds, generated in memory.
///
/// ```
/// use rampgate_testkit::{DpopKey, OfflineIssuer};
///
/// let client = DpopKey::generate();
/// let issuer = OfflineIssuer::new();
/// let token = issuer.token().dpop_bound(&client).sign();
/// let proof = client.proof("GET", "https://api.example/me").access_token(&token).sign();
/// assert_eq!(proof.split('.').count(), 3);
/// assert_eq!(client.thumbprint().to_string().len(), 43);
/// ```
pub struct DpopKey {
    key: SigningKey,
    /// The public JWK's required members only (RFC 7638 §3.2).
    public: Value,
    thumbprint: Thumbprint,
}

impl std::fmt::Debug for DpopKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DpopKey")
            .field("thumbprint", &self.thumbprint)
            .finish_non_exhaustive()
    }
}

impl DpopKey {
    /// A fresh P-256 key.
    pub fn generate() -> DpopKey {
        let key = SigningKey::generate(SigningAlg::Es256, String::new());
        let member = |name: &str| key.public_jwk[name].clone();
        let public = json!({"crv": "P-256", "kty": "EC", "x": member("x"), "y": member("y")});
        let thumbprint = rampgate_core::dpop::jwk_thumbprint(&public.to_string())
            .expect("a fresh P-256 key has every member a thumbprint covers");
        DpopKey {
            key,
            public,
            thumbprint,
        }
    }

    /// The RFC 7638 thumbprint of the public key: what a bound token's
    /// `cnf.jkt` holds.
    pub fn thumbprint(&self) -> Thumbprint {
        self.thumbprint
    }

    /// The public JWK (`kty`, `crv`, `x`, `y`).
    pub fn public_jwk(&self) -> &Value {
        &self.public
    }

    /// Starts a proof for `method` and `url` (its `htm` and `htu`), with a
    /// fresh `jti` and `iat` now; [`ProofBuilder::sign`] finishes it.
    pub fn proof(&self, method: &str, url: &str) -> ProofBuilder<'_> {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let jti = format!(
            "{}-{}-{}",
            std::process::id(),
            now(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        let mut header = Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("alg".into(), json!("ES256"));
        header.insert("jwk".into(), self.public.clone());
        let mut claims = Map::new();
        claims.insert("jti".into(), json!(jti));
        claims.insert("htm".into(), json!(method));
        claims.insert("htu".into(), json!(url));
        claims.insert("iat".into(), json!(now()));
        ProofBuilder {
            key: self,
            header,
            claims,
        }
    }
}

/// A DPoP proof being made by a [`DpopKey`].
#[must_use = "a proof builder does nothing until sign() is called"]
pub struct ProofBuilder<'a> {
    key: &'a DpopKey,
    header: Map<String, Value>,
    claims: Map<String, Value>,
}

impl ProofBuilder<'_> {
    /// Sets `ath`, the hash of the access token the proof goes with
    /// (required at a resource server).
    pub fn access_token(self, token: &str) -> Self {
        let ath = Thumbprint::sha256(token.as_bytes()).to_string();
        self.claim("ath", json!(ath))
    }

    /// Sets the server's `nonce`.
    pub fn nonce(self, nonce: &str) -> Self {
        self.claim("nonce", json!(nonce))
    }

    /// Sets `iat` to `seconds` from now (negative: in the past).
    pub fn iat_in(self, seconds: i64) -> Self {
        self.claim("iat", json!(now() + seconds))
    }

    /// Sets `jti` (to replay one, say).
    pub fn jti(self, jti: &str) -> Self {
        self.claim("jti", json!(jti))
    }

    /// Sets any claim; `Value::Null` removes it.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        crate::set_member(&mut self.claims, name, value);
        self
    }

    /// Sets any header member; `Value::Null` removes it.
    pub fn header(mut self, name: &str, value: Value) -> Self {
        crate::set_member(&mut self.header, name, value);
        self
    }

    /// Signs the proof with the key.
    pub fn sign(self) -> String {
        self.key.key.compact(
            &Value::Object(self.header).to_string(),
            &Value::Object(self.claims).to_string(),
        )
    }
}
