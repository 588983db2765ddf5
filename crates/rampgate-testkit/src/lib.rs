//! An embedded OpenID Connect issuer for development and for your own tests.
//!
//! [`DevIssuer`] generates a signing key at start (ES256 by default, RS256 on
//! request), serves OIDC discovery and a JWKS on loopback, and mints tokens. It
//! can also misbehave on purpose (rotate keys, go down, answer slowly, serve a
//! broken JWKS) so that tests can show what a service does then.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use rampgate_testkit::DevIssuer;
//!
//! let issuer = DevIssuer::start().await.unwrap();
//! let token = issuer.token().sub("alice").client_id("cli").scopes(["profile:read"]).sign();
//! assert_eq!(token.split('.').count(), 3);
//!
//! // Point a verifier at it through OIDC discovery.
//! let verifier = rampgate_core::Verifier::builder()
//!     .issuer(issuer.issuer_config())
//!     .build()
//!     .await
//!     .unwrap();
//! let principal = verifier.verify(&token).await.unwrap();
//! assert_eq!(principal.sub(), Some("alice"));
//! # }
//! ```
//!
//! It also mints tokens over HTTP for curl walkthroughs:
//! `GET {issuer}/mint?sub=alice&client_id=cli&scope=a%20b&acr=mfa&amr=mfa,otp&auth_time_ago=10&expires_in=600`
//! answers a signed token as plain text (every parameter optional).
//!
//! Without a server, [`OfflineIssuer`] holds a key pair and signs tokens that a
//! verifier with its static key set accepts: for unit tests that must not
//! open sockets.
//!
//! **Never use either in production**: it serves over plain HTTP, its keys live only
//! in memory, and it mints a token for anyone who asks.

pub mod env;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, EncodingKey};
use rampgate_core::{IssuerConfig, Key, KeySet, Verifier};
use serde_json::{Map, Value, json};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The audience the dev issuer puts in tokens unless told otherwise.
pub const DEFAULT_AUDIENCE: &str = "rampgate-dev";

/// The signing algorithm of a [`DevIssuer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum SigningAlg {
    /// ECDSA P-256 with SHA-256 (the default).
    #[default]
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256 and a 2048-bit key.
    Rs256,
}

struct SigningKey {
    kid: String,
    alg: Algorithm,
    encoding: EncodingKey,
    public_jwk: Value,
}

impl SigningKey {
    fn generate(alg: SigningAlg, kid: String) -> SigningKey {
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

    fn sign(&self, signing_input: &[u8]) -> Vec<u8> {
        let signer = (DEFAULT_PROVIDER.signer_factory)(&self.alg, &self.encoding)
            .expect("the dev issuer's own key always makes a signer");
        signer
            .try_sign(signing_input)
            .expect("signing with the dev issuer's key")
    }
}

/// What the JWKS and discovery endpoints do, for tests of failure handling.
#[derive(Debug, Clone, Default)]
struct Behaviour {
    outage: bool,
    delay: Duration,
    jwks_body: Option<String>,
    max_age: Option<u64>,
}

struct Shared {
    issuer: String,
    audience: String,
    alg: SigningAlg,
    /// Published keys; the last one signs.
    keys: Mutex<Vec<Arc<SigningKey>>>,
    behaviour: Mutex<Behaviour>,
    jwks_fetches: AtomicU64,
    discovery_fetches: AtomicU64,
    next_kid: AtomicU64,
}

impl Shared {
    fn signing_key(&self) -> Arc<SigningKey> {
        lock(&self.keys)
            .last()
            .cloned()
            .expect("the dev issuer always holds a key")
    }

    fn token(&self) -> TokenBuilder<'_> {
        let now = now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(self.audience));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        claims.insert("sub".into(), json!("dev-user"));
        claims.insert("client_id".into(), json!("dev-client"));
        let n = self.next_kid.fetch_add(1, Ordering::Relaxed);
        claims.insert("jti".into(), json!(format!("dev-{now}-{n}")));
        let mut header = Map::new();
        header.insert("typ".into(), json!("at+jwt"));
        TokenBuilder {
            issuer: self,
            header,
            claims,
        }
    }

    fn sign_raw(&self, header: &str, claims: &str) -> String {
        let key = self.signing_key();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(claims)
        );
        let signature = key.sign(input.as_bytes());
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
}

/// `GET /mint?sub=&client_id=&scope=&acr=&amr=&auth_time_ago=&expires_in=&aud=`:
/// a freshly signed token as plain text, for curl walkthroughs. `amr` is
/// comma-separated; every parameter is optional.
async fn mint(
    State(s): State<Arc<Shared>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    // A bad number is answered with what to fix, as a 400.
    let number = |name: &str| -> Result<Option<i64>, String> {
        q.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("{name} must be a whole number of seconds\n"))
            })
            .transpose()
    };
    let (auth_time_ago, expires_in) = match (number("auth_time_ago"), number("expires_in")) {
        (Ok(a), Ok(e)) => (a, e),
        (Err(why), _) | (_, Err(why)) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let mut token = s.token();
    for (param, claim) in [
        ("sub", "sub"),
        ("client_id", "client_id"),
        ("scope", "scope"),
        ("acr", "acr"),
        ("aud", "aud"),
    ] {
        if let Some(v) = q.get(param) {
            token = token.claim(claim, json!(v));
        }
    }
    if let Some(amr) = q.get("amr") {
        token = token.amr(amr.split(',').filter(|m| !m.is_empty()));
    }
    if let Some(ago) = auth_time_ago {
        token = token.auth_time_ago(ago);
    }
    if let Some(secs) = expires_in {
        token = token.expires_in(secs);
    }
    (
        [(header::CONTENT_TYPE, "text/plain")],
        format!("{}\n", token.sign()),
    )
        .into_response()
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Configures a [`DevIssuer`] before it starts.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct DevIssuerBuilder {
    alg: SigningAlg,
    audience: Option<String>,
    addr: Option<SocketAddr>,
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

async fn discovery(State(s): State<Arc<Shared>>) -> Response {
    s.discovery_fetches.fetch_add(1, Ordering::Relaxed);
    let behaviour = lock(&s.behaviour).clone();
    if let Some(r) = misbehave(&behaviour).await {
        return r;
    }
    let doc = json!({
        "issuer": s.issuer,
        "jwks_uri": format!("{}/jwks.json", s.issuer),
        "id_token_signing_alg_values_supported": [alg_name(s.alg)],
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
    });
    axum::Json(doc).into_response()
}

async fn jwks(State(s): State<Arc<Shared>>) -> Response {
    s.jwks_fetches.fetch_add(1, Ordering::Relaxed);
    let behaviour = lock(&s.behaviour).clone();
    if let Some(r) = misbehave(&behaviour).await {
        return r;
    }
    let body = match behaviour.jwks_body {
        Some(body) => body,
        None => jwks_document(&s).to_string(),
    };
    let mut response = ([(header::CONTENT_TYPE, "application/json")], body).into_response();
    if let Some(max_age) = behaviour.max_age
        && let Ok(v) = HeaderValue::from_str(&format!("public, max-age={max_age}"))
    {
        response.headers_mut().insert(header::CACHE_CONTROL, v);
    }
    response
}

async fn misbehave(b: &Behaviour) -> Option<Response> {
    if !b.delay.is_zero() {
        tokio::time::sleep(b.delay).await;
    }
    b.outage.then(|| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            "dev issuer: simulated outage",
        )
            .into_response()
    })
}

fn jwks_document(s: &Shared) -> Value {
    let keys: Vec<Value> = lock(&s.keys).iter().map(|k| k.public_jwk.clone()).collect();
    json!({ "keys": keys })
}

fn alg_name(alg: SigningAlg) -> &'static str {
    match alg {
        SigningAlg::Es256 => "ES256",
        SigningAlg::Rs256 => "RS256",
    }
}

/// A running development issuer on loopback. Stops when dropped.
pub struct DevIssuer {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
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

/// The issuer name of an [`OfflineIssuer`] unless told otherwise. It is never
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
    shared: Shared,
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
    /// [`DevIssuer::token`]).
    pub fn token(&self) -> TokenBuilder<'_> {
        self.shared.token()
    }

    /// Signs `header` and `claims` exactly as given: for forged and odd tokens.
    pub fn sign_raw(&self, header: &str, claims: &str) -> String {
        self.shared.sign_raw(header, claims)
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// A token being minted by a [`DevIssuer`] or an [`OfflineIssuer`];
/// [`TokenBuilder::sign`] finishes it.
#[must_use = "a token builder does nothing until sign() is called"]
pub struct TokenBuilder<'a> {
    issuer: &'a Shared,
    header: Map<String, Value>,
    claims: Map<String, Value>,
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

    /// Sets `auth_time` to `seconds_ago` seconds before now.
    pub fn auth_time_ago(self, seconds_ago: i64) -> Self {
        self.claim("auth_time", json!(now() - seconds_ago))
    }

    /// Sets `aud` (a string, or an array with [`TokenBuilder::claim`]).
    pub fn audience(self, aud: &str) -> Self {
        self.claim("aud", json!(aud))
    }

    /// Sets `iss`.
    pub fn issuer(self, iss: &str) -> Self {
        self.claim("iss", json!(iss))
    }

    /// Sets the lifetime: `exp = now + seconds` (negative for an expired token).
    pub fn expires_in(self, seconds: i64) -> Self {
        self.claim("exp", json!(now() + seconds))
    }

    /// Sets `nbf = now + seconds`.
    pub fn not_before_in(self, seconds: i64) -> Self {
        self.claim("nbf", json!(now() + seconds))
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

    /// Sets any claim; `Value::Null` removes it.
    pub fn claim(mut self, name: &str, value: Value) -> Self {
        if value.is_null() {
            self.claims.remove(name);
        } else {
            self.claims.insert(name.into(), value);
        }
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
