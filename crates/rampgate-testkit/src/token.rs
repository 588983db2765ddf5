//! Minting one token: claims and header, then `sign`.

use crate::{key::alg_name, shared::Shared};

use serde_json::{Map, Value, json};

/// A token being minted by a [`DevIssuer`](crate::DevIssuer) or an [`OfflineIssuer`](crate::OfflineIssuer);
/// [`TokenBuilder::sign`] finishes it.
#[must_use = "a token builder does nothing until sign() is called"]
pub struct TokenBuilder<'a> {
    pub(crate) issuer: &'a Shared,
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    /// The instant of minting (Unix seconds), `iat`'s: the times set relative
    /// to now count from it, so that `expires_in(86_400)` is a lifetime of
    /// exactly 86 400 s even when the clock turns a second while minting.
    pub(crate) now: i64,
}

impl std::fmt::Debug for TokenBuilder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenBuilder")
            .field("header", &self.header)
            .field("claims", &self.claims)
            .finish_non_exhaustive()
    }
}

impl TokenBuilder<'_> {
    /// Sets `sub`. Defaults to `dev-user`.
    #[allow(clippy::should_implement_trait)] // named after the claim, not arithmetic
    pub fn sub(self, sub: &str) -> Self {
        self.claim("sub", json!(sub))
    }

    /// Sets `client_id`. Defaults to `dev-client`.
    pub fn client_id(self, client_id: &str) -> Self {
        self.claim("client_id", json!(client_id))
    }

    /// Sets `scope` (space-delimited).
    pub fn scopes<'s>(self, scopes: impl IntoIterator<Item = &'s str>) -> Self {
        let scope = scopes.into_iter().collect::<Vec<_>>().join(" ");
        self.claim("scope", json!(scope))
    }

    /// Sets `acr`.
    pub fn acr(self, acr: &str) -> Self {
        self.claim("acr", json!(acr))
    }

    /// Sets `amr`.
    pub fn amr<'s>(self, amr: impl IntoIterator<Item = &'s str>) -> Self {
        let amr: Vec<&str> = amr.into_iter().collect();
        self.claim("amr", json!(amr))
    }

    /// Sets `auth_time` to `seconds_ago` seconds before now (the minting).
    pub fn auth_time_ago(self, seconds_ago: i64) -> Self {
        let at = self.now - seconds_ago;
        self.claim("auth_time", json!(at))
    }

    /// Sets `aud` (a string, or an array with [`TokenBuilder::claim`]).
    pub fn audience(self, aud: &str) -> Self {
        self.claim("aud", json!(aud))
    }

    /// Sets `iss`.
    pub fn issuer(self, iss: &str) -> Self {
        self.claim("iss", json!(iss))
    }

    /// Sets the lifetime: `exp = now + seconds` (negative for an expired
    /// token), now being the minting's instant, the default `iat`.
    pub fn expires_in(self, seconds: i64) -> Self {
        let exp = self.now + seconds;
        self.claim("exp", json!(exp))
    }

    /// Sets `nbf = now + seconds` (now: the minting's instant).
    pub fn not_before_in(self, seconds: i64) -> Self {
        let nbf = self.now + seconds;
        self.claim("nbf", json!(nbf))
    }

    /// Sets the header's `typ`, or removes it with `None`. Defaults to `at+jwt`.
    pub fn typ(mut self, typ: Option<&str>) -> Self {
        match typ {
            Some(t) => self.header.insert("typ".into(), json!(t)),
            None => self.header.remove("typ"),
        };
        self
    }

    /// Sets the header's `kid` (defaults to the signing key's own).
    pub fn kid(mut self, kid: &str) -> Self {
        self.header.insert("kid".into(), json!(kid));
        self
    }

    /// Binds the token to a DPoP key (RFC 9449 §6): `cnf.jkt` is the key's
    /// thumbprint, and the token is accepted only with a proof by that key.
    pub fn dpop_bound(self, key: &crate::DpopKey) -> Self {
        self.claim("cnf", json!({ "jkt": key.thumbprint().to_string() }))
    }

    /// Binds the token to a client certificate (RFC 8705 §3):
    /// `cnf.x5t#S256` is the certificate's thumbprint, and the token is
    /// accepted only over a connection that presents it.
    pub fn certificate_bound(
        self,
        certificate: &rampgate_core::binding::ClientCertificate,
    ) -> Self {
        let x5t = certificate.thumbprint().to_string();
        self.claim("cnf", json!({ "x5t#S256": x5t }))
    }

    /// Sets any claim; `Value::Null` removes it.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        crate::set_member(&mut self.claims, name, value);
        self
    }

    /// Signs the token with the issuer's current key.
    pub fn sign(mut self) -> String {
        let key = self.issuer.signing_key();
        self.header
            .insert("alg".into(), json!(alg_name(self.issuer.alg)));
        self.header
            .entry("kid")
            .or_insert_with(|| json!(key.kid.clone()));
        self.issuer.sign_raw(
            &Value::Object(self.header).to_string(),
            &Value::Object(self.claims).to_string(),
        )
    }
}
