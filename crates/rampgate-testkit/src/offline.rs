//! An issuer without a server, for tests that must not open sockets.

use crate::DEFAULT_AUDIENCE;
use crate::{
    key::{SigningAlg, SigningKey},
    server::jwks_document,
    shared::{Behaviour, Shared},
    token::TokenBuilder,
};

use rampgate_core::{IssuerConfig, Key, KeySet, Verifier};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// The issuer name of an [`OfflineIssuer`](crate::OfflineIssuer) unless told otherwise. It is never
/// fetched: the `.test` top-level domain is reserved (RFC 6761).
pub const OFFLINE_ISSUER: &str = "https://issuer.rampgate.test";

/// A signing key and an issuer name, without a server: mints tokens that its
/// [`OfflineIssuer::verifier`] (static keys, no JWKS fetching) accepts.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_testkit::OfflineIssuer;
///
/// let issuer = OfflineIssuer::new();
/// let verifier = issuer.verifier().await.unwrap();
///
/// let token = issuer.token().sub("alice").scopes(["orders:read"]).sign();
/// // No network call: verify_cached uses the keys held now.
/// let principal = verifier.verify_cached(&token).unwrap();
/// assert_eq!(principal.sub(), Some("alice"));
/// assert!(principal.has_scope("orders:read"));
///
/// let expired = issuer.token().expires_in(-600).sign();
/// assert_eq!(verifier.verify_cached(&expired).unwrap_err().code(), "token_expired");
/// # }
/// ```
pub struct OfflineIssuer {
    pub(crate) shared: Shared,
}

impl std::fmt::Debug for OfflineIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OfflineIssuer")
            .field("issuer", &self.shared.issuer)
            .field("audience", &self.shared.audience)
            .finish_non_exhaustive()
    }
}

impl Default for OfflineIssuer {
    fn default() -> Self {
        OfflineIssuer::new()
    }
}

impl OfflineIssuer {
    /// A fresh ES256 key for the issuer [`OFFLINE_ISSUER`] and the audience
    /// [`DEFAULT_AUDIENCE`].
    pub fn new() -> OfflineIssuer {
        OfflineIssuer::for_issuer(OFFLINE_ISSUER, DEFAULT_AUDIENCE)
    }

    /// A fresh ES256 key for `issuer`, whose tokens carry `audience` by default.
    pub fn for_issuer(issuer: impl Into<String>, audience: impl Into<String>) -> OfflineIssuer {
        let key = SigningKey::generate(SigningAlg::Es256, "offline-1".into());
        OfflineIssuer {
            shared: Shared {
                issuer: issuer.into(),
                audience: audience.into(),
                alg: SigningAlg::Es256,
                keys: Mutex::new(vec![Arc::new(key)]),
                behaviour: Mutex::new(Behaviour::default()),
                jwks_fetches: AtomicU64::new(0),
                discovery_fetches: AtomicU64::new(0),
                next_kid: AtomicU64::new(2),
            },
        }
    }

    /// The issuer identifier (`iss`).
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The default audience of minted tokens.
    pub fn audience(&self) -> &str {
        &self.shared.audience
    }

    /// The kid of the signing key.
    pub fn kid(&self) -> String {
        self.shared.signing_key().kid.clone()
    }

    /// The public key as a JWK Set, as JSON (for a `jwks_file` or a JWKS
    /// served by the test itself).
    pub fn jwks_json(&self) -> String {
        jwks_document(&self.shared).to_string()
    }

    /// The public key as a key set.
    pub fn key_set(&self) -> KeySet {
        let jwk = self.shared.signing_key().public_jwk.to_string();
        let key = Key::from_jwk_json(&jwk).expect("the offline issuer's own JWK always parses");
        KeySet::from_keys([key]).expect("one key with a kid always makes a key set")
    }

    /// An [`IssuerConfig`] that trusts this issuer with its static key set, for
    /// its default audience: add a policy or other issuers before building.
    pub fn issuer_config(&self) -> IssuerConfig {
        IssuerConfig::new(self.issuer(), [self.audience()]).keys(self.key_set())
    }

    /// A verifier that trusts only this issuer, with [`OfflineIssuer::issuer_config`].
    pub async fn verifier(&self) -> rampgate_core::Result<Verifier> {
        Verifier::builder()
            .issuer(self.issuer_config())
            .build()
            .await
    }

    /// Starts minting a token, valid for 5 minutes, with `typ: at+jwt`, this
    /// issuer's `iss` and its default audience (the same defaults and builder as
    /// [`DevIssuer::token`](crate::DevIssuer::token)).
    pub fn token(&self) -> TokenBuilder<'_> {
        self.shared.token()
    }

    /// Signs `header` and `claims` exactly as given: for forged and odd tokens.
    pub fn sign_raw(&self, header: &str, claims: &str) -> String {
        self.shared.sign_raw(header, claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn offline_tokens_verify_without_a_server() {
        let issuer = OfflineIssuer::for_issuer("https://i.example", "api");
        let verifier = issuer.verifier().await.unwrap();
        let token = issuer
            .token()
            .sub("alice")
            .client_id("web")
            .scopes(["a", "b"])
            .sign();
        let p = verifier.verify_cached(&token).unwrap();
        assert_eq!(p.iss(), "https://i.example");
        assert_eq!(p.client_id(), Some("web"));
        assert_eq!(p.scopes().to_string(), "a b");
        assert_eq!(
            verifier.key_stats("https://i.example").unwrap().kids,
            ["offline-1"]
        );
    }

    #[test]
    fn a_lifetime_is_counted_from_the_minting_whatever_the_clock_does_meanwhile() {
        // The load bench minted 50 000 tokens with `expires_in(86_400)`; one
        // whose minting straddled a second had exp - iat = 86 401, past the
        // verifier's 86 400 s limit, and was refused. Here the clock surely
        // turns a second between the builder and its times.
        let issuer = OfflineIssuer::new();
        let builder = issuer.token();
        std::thread::sleep(std::time::Duration::from_millis(1_100));
        let token = builder
            .expires_in(86_400)
            .not_before_in(-5)
            .auth_time_ago(60);
        let claim = |name: &str| token.claims[name].as_i64().unwrap();
        assert_eq!(claim("exp") - claim("iat"), 86_400);
        assert_eq!(claim("nbf") - claim("iat"), -5);
        assert_eq!(claim("auth_time") - claim("iat"), -60);
    }

    #[tokio::test]
    async fn another_offline_key_is_not_trusted() {
        let trusted = OfflineIssuer::new();
        let stranger = OfflineIssuer::new();
        let verifier = trusted.verifier().await.unwrap();
        // Same issuer name and kid, different key: only the signature differs.
        let forged = stranger.token().sign();
        let err = verifier.verify_cached(&forged).unwrap_err();
        assert_eq!(err.code(), "signature_invalid");
        let wrong_audience = trusted.token().audience("other").sign();
        let err = verifier.verify_cached(&wrong_audience).unwrap_err();
        assert_eq!(err.code(), "audience_mismatch");
    }
}
