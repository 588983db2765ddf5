//! The development issuer: OIDC discovery, JWKS and `/mint` on loopback.

use crate::{DEFAULT_AUDIENCE, lock};
use crate::{
    key::{SigningAlg, SigningKey},
    server::{discovery, jwks, jwks_document},
    shared::{Behaviour, Shared, mint},
    token::TokenBuilder,
};

use axum::Router;
use axum::routing::get;
use rampgate_core::IssuerConfig;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Configures a [`DevIssuer`] before it starts.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct DevIssuerBuilder {
    pub(crate) alg: SigningAlg,
    pub(crate) audience: Option<String>,
    pub(crate) addr: Option<SocketAddr>,
}

impl DevIssuerBuilder {
    /// The signing algorithm. Defaults to ES256.
    pub fn alg(mut self, alg: SigningAlg) -> Self {
        self.alg = alg;
        self
    }

    /// The audience tokens carry by default. Defaults to [`DEFAULT_AUDIENCE`].
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// The address to listen on. Defaults to `127.0.0.1:0` (any free port).
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = Some(addr);
        self
    }

    /// Generates the first key and starts serving.
    pub async fn start(self) -> std::io::Result<DevIssuer> {
        let addr = self
            .addr
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let listener = tokio::net::TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let alg = self.alg;
        let first = tokio::task::spawn_blocking(move || SigningKey::generate(alg, "dev-1".into()))
            .await
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            issuer: format!("http://{local}"),
            audience: self.audience.unwrap_or_else(|| DEFAULT_AUDIENCE.to_owned()),
            alg,
            keys: Mutex::new(vec![Arc::new(first)]),
            behaviour: Mutex::new(Behaviour::default()),
            jwks_fetches: AtomicU64::new(0),
            discovery_fetches: AtomicU64::new(0),
            next_kid: AtomicU64::new(2),
        });
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks.json", get(jwks))
            .route("/mint", get(mint))
            .with_state(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "dev issuer stopped");
            }
        });
        tracing::info!(issuer = %shared.issuer, "dev issuer listening");
        Ok(DevIssuer { shared, server })
    }
}

/// A running development issuer on loopback. Stops when dropped.
pub struct DevIssuer {
    pub(crate) shared: Arc<Shared>,
    pub(crate) server: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for DevIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevIssuer")
            .field("issuer", &self.shared.issuer)
            .field("audience", &self.shared.audience)
            .finish_non_exhaustive()
    }
}

impl Drop for DevIssuer {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl DevIssuer {
    /// Starts an ES256 issuer on a free loopback port.
    pub async fn start() -> std::io::Result<DevIssuer> {
        DevIssuer::builder().start().await
    }

    /// Configures an issuer before starting it.
    pub fn builder() -> DevIssuerBuilder {
        DevIssuerBuilder::default()
    }

    /// The issuer identifier (`iss`), `http://127.0.0.1:PORT`.
    pub fn issuer(&self) -> &str {
        &self.shared.issuer
    }

    /// The default audience of minted tokens.
    pub fn audience(&self) -> &str {
        &self.shared.audience
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/jwks.json", self.shared.issuer)
    }

    /// An [`IssuerConfig`] that trusts this issuer through OIDC discovery, for
    /// its default audience.
    pub fn issuer_config(&self) -> IssuerConfig {
        IssuerConfig::new(self.issuer(), [self.audience()]).discovery()
    }

    /// The published JWK Set, as JSON.
    pub fn jwks_json(&self) -> String {
        jwks_document(&self.shared).to_string()
    }

    /// The kid of the key that signs now.
    pub fn current_kid(&self) -> String {
        self.signing_key().kid.clone()
    }

    fn signing_key(&self) -> Arc<SigningKey> {
        self.shared.signing_key()
    }

    /// Starts minting a token, signed by the current key, valid for 5 minutes,
    /// with `typ: at+jwt`, this issuer's `iss` and its default audience.
    pub fn token(&self) -> TokenBuilder<'_> {
        self.shared.token()
    }

    /// Signs `header` and `claims` exactly as given with the current key: for
    /// forged and odd tokens in tests. `alg` and `kid` are whatever `header` says.
    pub fn sign_raw(&self, header: &str, claims: &str) -> String {
        self.shared.sign_raw(header, claims)
    }

    /// Generates a new key, publishes it beside the old ones and signs with it
    /// from now on. Returns its kid.
    pub async fn rotate(&self) -> String {
        let n = self.shared.next_kid.fetch_add(1, Ordering::Relaxed);
        let kid = format!("dev-key-{n}");
        let alg = self.shared.alg;
        let k = kid.clone();
        let key = tokio::task::spawn_blocking(move || SigningKey::generate(alg, k))
            .await
            .expect("key generation task");
        lock(&self.shared.keys).push(Arc::new(key));
        tracing::info!(kid = %kid, "dev issuer rotated its signing key");
        kid
    }

    /// Stops publishing the key `kid` (it can still sign through [`DevIssuer::token`]
    /// only if it is the current key; retire old keys after [`DevIssuer::rotate`]).
    pub fn retire(&self, kid: &str) {
        let mut keys = lock(&self.shared.keys);
        if keys.len() > 1 {
            keys.retain(|k| k.kid != kid);
        }
    }

    /// Makes discovery and the JWKS answer 503 (`true`) or work again (`false`).
    pub fn set_outage(&self, outage: bool) {
        lock(&self.shared.behaviour).outage = outage;
    }

    /// Delays every discovery and JWKS answer.
    pub fn set_delay(&self, delay: Duration) {
        lock(&self.shared.behaviour).delay = delay;
    }

    /// Serves this body as the JWKS instead of the real one (`None` restores it).
    pub fn set_jwks_body(&self, body: Option<String>) {
        lock(&self.shared.behaviour).jwks_body = body;
    }

    /// Adds `Cache-Control: max-age` to JWKS answers.
    pub fn set_max_age(&self, max_age: Option<u64>) {
        lock(&self.shared.behaviour).max_age = max_age;
    }

    /// How many times the JWKS was requested.
    pub fn jwks_fetches(&self) -> u64 {
        self.shared.jwks_fetches.load(Ordering::Relaxed)
    }

    /// How many times the discovery document was requested.
    pub fn discovery_fetches(&self) -> u64 {
        self.shared.discovery_fetches.load(Ordering::Relaxed)
    }
}
