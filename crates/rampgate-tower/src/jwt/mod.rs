//! `JwtLayer`: every request presents a signed JWT access token, verified offline.
//!
//! On success the [`Principal`](rampgate_core::Principal) goes into the request extensions and the inner
//! service runs. On failure the inner service never runs: the answer is 401 with an
//! RFC 6750 `WWW-Authenticate: Bearer` challenge (400 `invalid_request` for a
//! malformed request) and a JSON body with the reason code.

mod future;
mod token;

pub use future::ResponseFuture;

use bytes::Bytes;
use http::{HeaderName, Request, Response};
use rampgate_core::{Anonymous, DenialBody, DenialOptions, ErrorKind, Verifier};
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

/// Where tokens are looked for, besides `Authorization: Bearer`.
#[derive(Debug, Clone, Default)]
pub(crate) struct TokenSources {
    pub(crate) header: Option<HeaderName>,
    pub(crate) cookie: Option<String>,
    pub(crate) query: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct Config {
    pub(crate) verifier: Verifier,
    pub(crate) sources: TokenSources,
    pub(crate) optional: bool,
    pub(crate) denial: DenialOptions,
}

/// A tower [`Layer`] that requires a valid JWT access token on every request.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_core::{IssuerConfig, Key, KeySet, Verifier};
/// use rampgate_tower::JwtLayer;
/// use tower::{ServiceBuilder, ServiceExt};
///
/// let key = Key::from_jwk_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
///     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
/// let verifier = Verifier::builder()
///     .issuer(IssuerConfig::new("https://issuer.example", ["api"])
///         .keys(KeySet::from_keys([key]).unwrap()))
///     .build().await.unwrap();
///
/// let service = ServiceBuilder::new()
///     .layer(JwtLayer::new(verifier).realm("api"))
///     .service_fn(|_req: http::Request<()>| async {
///         Ok::<_, std::convert::Infallible>(http::Response::new(bytes::Bytes::from("secret")))
///     });
///
/// let response = service.oneshot(http::Request::new(())).await.unwrap();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["www-authenticate"], r#"Bearer realm="api""#);
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct JwtLayer {
    config: Arc<Config>,
}

impl JwtLayer {
    /// A layer that verifies tokens with `verifier`, found in `Authorization: Bearer`.
    pub fn new(verifier: Verifier) -> Self {
        JwtLayer {
            config: Arc::new(Config {
                verifier,
                sources: TokenSources::default(),
                optional: false,
                denial: DenialOptions::default(),
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.config);
        f(config);
        self
    }

    /// Sets the `realm` of the `WWW-Authenticate` challenge.
    #[must_use = "a builder method returns the changed layer"]
    pub fn realm(self, realm: impl AsRef<str>) -> Self {
        self.with(|c| c.denial = c.denial.clone().realm(realm))
    }

    /// Adds `resource_metadata="<url>"` (RFC 9728 §5.1) to every challenge.
    #[must_use = "a builder method returns the changed layer"]
    pub fn resource_metadata(self, url: impl AsRef<str>) -> Self {
        self.with(|c| c.denial = c.denial.clone().resource_metadata(url))
    }

    /// Replaces the JSON body of denials (status and challenge stay).
    #[must_use = "a builder method returns the changed layer"]
    pub fn denial_body(self, body: DenialBody) -> Self {
        self.with(|c| c.denial = c.denial.clone().body(body))
    }

    /// Also accepts the token as the whole value of this header (for example
    /// `x-access-token`), when there is no `Authorization: Bearer` header.
    #[must_use = "a builder method returns the changed layer"]
    pub fn token_from_header(self, name: HeaderName) -> Self {
        self.with(|c| c.sources.header = Some(name))
    }

    /// Also accepts the token from this cookie, when there is no
    /// `Authorization: Bearer` header or custom token header.
    #[must_use = "a builder method returns the changed layer"]
    pub fn token_from_cookie(self, name: impl Into<String>) -> Self {
        self.with(|c| c.sources.cookie = Some(name.into()))
    }

    /// Also accepts the token from the query parameter `param` (usually
    /// `access_token`).
    ///
    /// **Warning:** RFC 6750 §2.3 discourages this: URLs end up in logs and
    /// browser history. Successful answers then carry `Cache-Control: private`,
    /// and a token sent both in the header and in the query is refused with
    /// 400 `invalid_request`.
    #[must_use = "a builder method returns the changed layer"]
    pub fn allow_query_token(self, param: impl Into<String>) -> Self {
        self.with(|c| c.sources.query = Some(param.into()))
    }

    /// Lets requests without any token through as anonymous: the handler sees no
    /// [`Principal`](rampgate_core::Principal) (`Option<Principal>` is `None`). A
    /// token that is present but invalid is still refused.
    #[must_use = "a builder method returns the changed layer"]
    pub fn optional(self) -> Self {
        self.with(|c| c.optional = true)
    }
}

impl<S> Layer<S> for JwtLayer {
    type Service = Jwt<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Jwt {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service made by [`JwtLayer`].
#[derive(Debug, Clone)]
pub struct Jwt<S> {
    inner: S,
    config: Arc<Config>,
}

impl<S> Jwt<S> {
    define_inner_service_accessors!();
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Jwt<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone + Send + 'static,
    ReqBody: Send + 'static,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        // Decide while the token borrows from the request, then act on the request.
        let outcome = match token::find(&req, &config.sources) {
            Err(e) => Outcome::Deny(e),
            Ok(None) if config.optional => Outcome::Anonymous,
            Ok(None) => Outcome::Deny(ErrorKind::TokenMissing.into()),
            Ok(Some(found)) => match config.verifier.verify_cached(&found.token) {
                Ok(principal) => Outcome::Verified(principal, found.from_query),
                Err(e) if config.verifier.may_refresh(&e) => Outcome::Refresh(found.into_owned()),
                Err(e) => Outcome::Deny(e),
            },
        };
        match outcome {
            Outcome::Verified(principal, from_query) => {
                req.extensions_mut().insert(principal);
                req.extensions_mut().insert(config.denial.clone());
                ResponseFuture::inner(self.inner.call(req), from_query)
            }
            Outcome::Anonymous => {
                let challenge = config.denial.deny(&ErrorKind::TokenMissing.into());
                req.extensions_mut().insert(Anonymous(challenge));
                req.extensions_mut().insert(config.denial.clone());
                ResponseFuture::inner(self.inner.call(req), false)
            }
            Outcome::Refresh(found) => {
                // The inner service that was polled ready moves into the future;
                // this one keeps a fresh clone (tower-service, "Be careful when
                // cloning inner services").
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                ResponseFuture::verifying(config.clone(), found, req, inner)
            }
            Outcome::Deny(e) => ResponseFuture::denied(config, &e),
        }
    }
}

enum Outcome {
    Verified(rampgate_core::Principal, bool),
    Anonymous,
    Refresh(token::Found<'static>),
    Deny(rampgate_core::Error),
}
