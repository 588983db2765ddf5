//! `JwtLayer`: every request presents a signed JWT access token, verified offline.
//!
//! On success the [`Principal`](rampgate_core::Principal) goes into the request extensions and the inner
//! service runs. On failure the inner service never runs: the answer is 401 with an
//! RFC 6750 `WWW-Authenticate: Bearer` challenge (400 `invalid_request` for a
//! malformed request) and a JSON body with the reason code.

mod facts;
mod future;
mod sender;
pub(crate) mod token;

pub use facts::TokenFacts;
#[cfg(feature = "tonic")]
pub(crate) use facts::facts_of;
#[cfg(feature = "axum")]
pub(crate) use facts::meet_store;
pub(crate) use facts::{AuditSlot, StoreHook, note_principal, verify_noted};
pub use future::ResponseFuture;
use future::{After, Verification};
#[cfg(feature = "tonic")]
pub(crate) use sender::presentation;
use sender::{DpopConfig, Pending};

use http::{HeaderName, Request, Response};
use rampgate_core::binding::Presentation;
use rampgate_core::dpop::DpopChecker;
use rampgate_core::{
    Anonymous, DenialBody, DenialOptions, DenialResponseBody, ErrorKind, Verifier,
};
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
    pub(crate) dpop: DpopConfig,
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
                dpop: DpopConfig::default(),
            }),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut Config)) -> Self {
        let config = Arc::make_mut(&mut self.config);
        f(config);
        self
    }

    /// The verifier this layer verifies tokens with.
    pub fn verifier(&self) -> &Verifier {
        &self.config.verifier
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

    /// Accepts DPoP-bound tokens (RFC 9449) as `Authorization: DPoP <token>`
    /// with exactly one `DPoP` proof header, checked by `checker` against the
    /// request's method, URL and token, its key then matched with the token's
    /// `cnf.jkt`, on every request (a cached token included). Every
    /// challenge offers `DPoP algs="..."` beside `Bearer`; a refused proof is
    /// 401 `invalid_dpop_proof` (or `use_dpop_nonce` with a `DPoP-Nonce`).
    /// Bearer tokens are still accepted, unless the issuer or the route
    /// requires a sender-constrained token.
    ///
    /// The proof's `htu` must be the request's URL: set
    /// [`dpop_public_url`](JwtLayer::dpop_public_url) behind a proxy, a load
    /// balancer or TLS termination; without it, the request's own scheme
    /// (`http` unless the URI says otherwise) and `Host` are used.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use rampgate_core::dpop::{DpopChecker, DpopOptions};
    /// use rampgate_core::{IssuerConfig, Key, KeySet, Verifier};
    /// use rampgate_tower::JwtLayer;
    ///
    /// # let key = Key::from_jwk_json(r#"{"kty":"OKP","crv":"Ed25519","kid":"k1",
    /// #     "x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#).unwrap();
    /// # let verifier = Verifier::builder()
    /// #     .issuer(IssuerConfig::new("https://issuer.example", ["api"])
    /// #         .keys(KeySet::from_keys([key]).unwrap()))
    /// #     .build().await.unwrap();
    /// let checker = DpopChecker::new(DpopOptions::default()).unwrap();
    /// let layer = JwtLayer::new(verifier)
    ///     .dpop(checker)
    ///     .dpop_public_url("https://api.example.com");
    /// # let _ = layer;
    /// # }
    /// ```
    #[must_use = "a builder method returns the changed layer"]
    pub fn dpop(self, checker: DpopChecker) -> Self {
        self.with(|c| {
            c.denial = c
                .denial
                .clone()
                .dpop(checker.algs().iter().map(|a| a.as_str()));
            c.dpop.checker = Some(checker);
        })
    }

    /// The service's URL as its clients reach it (`https://api.example.com`,
    /// or with the path prefix a proxy adds): a DPoP proof's `htu` must be it
    /// followed by the request's path. Never taken from the request's
    /// `X-Forwarded-*` headers, which are the client's to choose. Used only
    /// with [`dpop`](JwtLayer::dpop).
    ///
    /// # Panics
    ///
    /// When `url` is not an absolute `http`/`https` URL naming a host, or has
    /// userinfo, a query or a fragment: a constant of the program, wrong
    /// before any request (`[dpop] public_url` in the configuration is
    /// checked with an error instead).
    #[must_use = "a builder method returns the changed layer"]
    pub fn dpop_public_url(self, url: impl AsRef<str>) -> Self {
        match self.try_dpop_public_url(url) {
            Ok(layer) => layer,
            Err(e) => panic!("JwtLayer::dpop_public_url: {e}"),
        }
    }

    /// [`dpop_public_url`](JwtLayer::dpop_public_url), with a configuration
    /// error (`config_invalid`) instead of a panic for a URL that cannot be
    /// one: for a URL read at run time.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// # let verifier = rampgate_testkit::OfflineIssuer::new().verifier().await.unwrap();
    /// use rampgate_tower::JwtLayer;
    ///
    /// let err = JwtLayer::new(verifier).try_dpop_public_url("https://api.example.com?x=1").unwrap_err();
    /// assert_eq!(err.code(), "config_invalid");
    /// # }
    /// ```
    pub fn try_dpop_public_url(self, url: impl AsRef<str>) -> Result<Self, rampgate_core::Error> {
        let url = url.as_ref();
        let checked = DpopConfig::public_url(url).ok_or_else(|| ErrorKind::Config {
            message: format!(
                "the DPoP public URL {url:?} must be an http(s) URL naming a host, without userinfo, query or fragment"
            ),
            source: None,
        })?;
        Ok(self.with(|c| c.dpop.public_url = Some(checked)))
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
    ///
    /// **Warning: cross-site request forgery.** A browser attaches cookies to
    /// the requests other sites make it send, so a cookie authenticates
    /// requests the user never meant to make; a header is never added that
    /// way. With a cookie, set it `SameSite=Strict` (or `Lax`, which still
    /// sends it on top-level `GET` navigations), `Secure` and `HttpOnly`, and
    /// refuse state-changing methods (`POST`, `PUT`, `PATCH`, `DELETE`) whose
    /// `Origin` is not yours or whose `Sec-Fetch-Site` is `cross-site`, in a
    /// layer before this one. This layer checks neither. Prefer a name with the
    /// `__Host-` prefix: browsers then refuse the cookie from other subdomains.
    ///
    /// A cookie of this name sent more than once (another subdomain can set one
    /// for the parent domain) is not refused: the first occurrence is used,
    /// which browsers order longest path first, then oldest (RFC 6265 §5.4),
    /// and the conflict is logged at `warn` with the cookie's name and count.
    ///
    /// Cookies are not an RFC 6750 method: [`JwtLayer::bearer_methods`] does
    /// not list them.
    #[must_use = "a builder method returns the changed layer"]
    pub fn token_from_cookie(self, name: impl Into<String>) -> Self {
        self.with(|c| c.sources.cookie = Some(name.into()))
    }

    /// Also accepts the token from the query parameter `param` (usually
    /// `access_token`).
    ///
    /// **Warning:** RFC 6750 §2.3 discourages this: URLs end up in logs and
    /// browser history. The inner service's answers to such requests get
    /// `private` added to their `Cache-Control` (left as they are when they
    /// already say `no-store` or `private`), and a token sent both in the
    /// header and in the query is refused with 400 `invalid_request`.
    #[must_use = "a builder method returns the changed layer"]
    pub fn allow_query_token(self, param: impl Into<String>) -> Self {
        self.with(|c| c.sources.query = Some(param.into()))
    }

    /// The RFC 6750 methods this layer accepts a token by, as RFC 9728 names
    /// them in `bearer_methods_supported`: `header` (`Authorization: Bearer`,
    /// always), then `query` when [`allow_query_token`](Self::allow_query_token)
    /// is on. A custom header and a cookie are not RFC 6750 methods, so they
    /// are not listed.
    pub fn bearer_methods(&self) -> &'static [&'static str] {
        if self.config.sources.query.is_some() {
            &["header", "query"]
        } else {
            &["header"]
        }
    }

    /// The algorithms DPoP proofs may use, when [`dpop`](JwtLayer::dpop) is
    /// on (none otherwise): what RFC 9728 metadata announces as
    /// `dpop_signing_alg_values_supported`.
    pub fn dpop_algs(&self) -> Vec<&'static str> {
        self.config
            .dpop
            .checker
            .as_ref()
            .map_or_else(Vec::new, |c| c.algs().iter().map(|a| a.as_str()).collect())
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
    ResBody: DenialResponseBody,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let config = &self.config;
        // Denials answer in the request's protocol (HTTP or gRPC), here and in
        // the layers after this one, which find these options in the extensions.
        let mut options = config.denial.for_request(req.headers());
        // Decide while the token borrows from the request, then act on the request.
        let outcome = match token::find(&req, &config.sources, config.dpop.checker.is_some()) {
            Err(e) => Outcome::Deny(e),
            Ok(None) if config.optional => Outcome::Anonymous,
            Ok(None) => Outcome::Deny(ErrorKind::TokenMissing.into()),
            Ok(Some(found)) => {
                if found.dpop {
                    options = options.dpop_presented();
                }
                verify(&req, found, config)
            }
        };
        match outcome {
            Outcome::Verified(principal, after) => {
                req.extensions_mut().insert(principal);
                req.extensions_mut().insert(options);
                ResponseFuture::inner(self.inner.call(req), after)
            }
            Outcome::Anonymous => {
                let challenge = options.deny(&ErrorKind::TokenMissing.into());
                req.extensions_mut().insert(Anonymous(challenge));
                req.extensions_mut().insert(options);
                ResponseFuture::inner(self.inner.call(req), After::default())
            }
            Outcome::Refresh(found, presented, pending) => {
                // The inner service that was polled ready moves into the future;
                // this one keeps a fresh clone (tower-service, "Be careful when
                // cloning inner services").
                let clone = self.inner.clone();
                let inner = std::mem::replace(&mut self.inner, clone);
                let verification = Verification {
                    verifier: config.verifier.clone(),
                    found,
                    presented,
                    pending,
                };
                ResponseFuture::verifying(verification, options, req, inner)
            }
            Outcome::Deny(e) => {
                let options = sender::denial_options(options, &e, &config.dpop);
                ResponseFuture::denied(&options, &e)
            }
        }
    }
}

/// Verifies the request's token with what it presented (its DPoP proof
/// checked first), against the keys held now.
fn verify<B>(req: &Request<B>, found: token::Found<'_>, config: &Config) -> Outcome {
    let (presented, pending) = match sender::presented(req, &found, &config.dpop) {
        Ok(presented) => presented,
        Err(e) => return Outcome::Deny(e),
    };
    let facts = facts::in_extensions(req.extensions());
    match verify_noted(facts, &found.token, &presented, &config.verifier) {
        Ok(principal) => match After::recorded(found.from_query, pending) {
            Ok(after) => Outcome::Verified(principal, after),
            Err(e) => Outcome::Deny(e),
        },
        Err(e) if config.verifier.may_refresh(&e) => {
            Outcome::Refresh(found.into_owned(), presented, pending)
        }
        Err(e) => Outcome::Deny(token::refusal(&found.token, e)),
    }
}

enum Outcome {
    Verified(rampgate_core::Principal, After),
    Anonymous,
    Refresh(token::Found<'static>, Presentation, Option<Pending>),
    Deny(rampgate_core::Error),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tests::{Seen, bearer, body, challenge, issuer, plain, reason, run};
    use bytes::Bytes;
    use http::header::{CACHE_CONTROL, CONTENT_TYPE};
    use rampgate_testkit::OfflineIssuer;

    #[tokio::test]
    async fn a_token_with_characters_a_bearer_token_cannot_have_is_refused() {
        // conformance: 6750-1 (the b64token syntax)
        let (issuer, verifier) = issuer().await;
        let layer = JwtLayer::new(verifier);
        let token = issuer.token().sub("alice").sign();
        // Accepted as is, then the same token with a quote, a comma, a space.
        let seen = Seen::default();
        let response = run(&layer, &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 200);
        let (head, tail) = token.split_at(20);
        for bad in [
            format!("\"{token}\""),
            format!("{head},{tail}"),
            format!("{head} {tail}"),
        ] {
            let seen = Seen::default();
            let response = run(&layer, &seen, bearer("GET", "/", &bad)).await;
            assert_eq!(response.status(), 401, "{bad}");
            assert_eq!(reason(&response), "token_malformed");
            assert!(
                body(&response)["description"]
                    .as_str()
                    .unwrap()
                    .contains("characters a bearer token cannot have"),
                "{bad}"
            );
            assert_eq!(seen.calls(), 0);
        }
    }

    #[tokio::test]
    async fn valid_token_runs_the_inner_service_with_the_principal() {
        let (issuer, verifier) = issuer().await;
        let token = issuer
            .token()
            .sub("alice")
            .client_id("web")
            .scopes(["items:read"])
            .sign();
        let seen = Seen::default();
        let response = run(&JwtLayer::new(verifier), &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.body(), "inner ran");
        assert_eq!(seen.calls(), 1);
        let principal = seen.principal().unwrap();
        assert_eq!(principal.sub(), Some("alice"));
        assert_eq!(principal.client_id(), Some("web"));
        assert!(principal.has_scope("items:read"));
        // Only a query token makes the answer private.
        assert!(!response.headers().contains_key(CACHE_CONTROL));
    }

    #[tokio::test]
    async fn missing_token_is_a_bare_challenge_and_the_inner_service_never_runs() {
        // conformance: 6750-8
        let (_, verifier) = issuer().await;
        let seen = Seen::default();
        let layer = JwtLayer::new(verifier).realm("api");
        let response = run(&layer, &seen, plain("GET", "/")).await;
        assert_eq!(response.status(), 401);
        assert_eq!(challenge(&response), r#"Bearer realm="api""#);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[CACHE_CONTROL], "no-store");
        let body = body(&response);
        assert_eq!(body["reason"], "token_missing");
        assert!(
            body.get("error").is_none(),
            "no error member without a token"
        );
        assert_eq!(seen.calls(), 0);
    }

    /// Asserts a 401 `invalid_token` answer with `code`, inner service not run.
    fn assert_invalid_token(response: &Response<Bytes>, seen: &Seen, code: &str) {
        assert_eq!(response.status(), 401);
        assert_eq!(reason(response), code);
        assert_eq!(body(response)["error"], "invalid_token");
        assert!(
            challenge(response).starts_with(r#"Bearer realm="api", error="invalid_token""#),
            "{}",
            challenge(response)
        );
        assert_eq!(seen.calls(), 0, "the inner service must not run");
    }

    #[tokio::test]
    async fn expired_token_is_refused_as_token_expired() {
        let (issuer, verifier) = issuer().await;
        let seen = Seen::default();
        let token = issuer.token().expires_in(-600).sign();
        let layer = JwtLayer::new(verifier).realm("api");
        let response = run(&layer, &seen, bearer("GET", "/", &token)).await;
        assert_invalid_token(&response, &seen, "token_expired");
    }

    #[tokio::test]
    async fn another_keys_signature_is_refused_as_signature_invalid() {
        let (_, verifier) = issuer().await;
        // Same issuer name and kid as the trusted one, another key pair.
        let forger = OfflineIssuer::for_issuer("https://issuer.test", "api");
        let seen = Seen::default();
        let layer = JwtLayer::new(verifier).realm("api");
        let response = run(&layer, &seen, bearer("GET", "/", &forger.token().sign())).await;
        assert_invalid_token(&response, &seen, "signature_invalid");
    }

    #[tokio::test]
    async fn wrong_audience_is_refused_as_audience_mismatch() {
        let (issuer, verifier) = issuer().await;
        let seen = Seen::default();
        let token = issuer.token().audience("another-api").sign();
        let layer = JwtLayer::new(verifier).realm("api");
        let response = run(&layer, &seen, bearer("GET", "/", &token)).await;
        assert_invalid_token(&response, &seen, "audience_mismatch");
    }

    #[tokio::test]
    async fn unknown_kid_with_static_keys_is_refused_without_refresh() {
        let (issuer, verifier) = issuer().await;
        let seen = Seen::default();
        let token = issuer.token().kid("not-ours").sign();
        let layer = JwtLayer::new(verifier).realm("api");
        let response = run(&layer, &seen, bearer("GET", "/", &token)).await;
        assert_invalid_token(&response, &seen, "kid_unknown");
    }

    #[tokio::test]
    async fn two_authorization_headers_are_a_bad_request() {
        let (issuer, verifier) = issuer().await;
        let token = issuer.token().sign();
        let mut req = bearer("GET", "/", &token);
        req.headers_mut().append(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
        );
        let seen = Seen::default();
        let response = run(&JwtLayer::new(verifier), &seen, req).await;
        assert_eq!(response.status(), 400);
        assert_eq!(reason(&response), "request_malformed");
        assert_eq!(body(&response)["error"], "invalid_request");
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn optional_mode_lets_a_request_without_token_through_anonymously() {
        let (_, verifier) = issuer().await;
        let seen = Seen::default();
        let layer = JwtLayer::new(verifier).optional();
        let response = run(&layer, &seen, plain("GET", "/")).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
        assert!(seen.principal().is_none());
        assert!(seen.anonymous());
    }

    #[tokio::test]
    async fn optional_mode_still_refuses_an_invalid_token() {
        let (issuer, verifier) = issuer().await;
        let seen = Seen::default();
        let token = issuer.token().expires_in(-600).sign();
        let layer = JwtLayer::new(verifier).optional().realm("api");
        let response = run(&layer, &seen, bearer("GET", "/", &token)).await;
        assert_invalid_token(&response, &seen, "token_expired");
    }

    #[tokio::test]
    async fn query_token_is_accepted_only_when_enabled_and_makes_the_answer_private() {
        // conformance: 6750-5
        let (issuer, verifier) = issuer().await;
        let token = issuer.token().sub("alice").sign();
        let uri = format!("/items?access_token={token}");

        let seen = Seen::default();
        let response = run(&JwtLayer::new(verifier.clone()), &seen, plain("GET", &uri)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(reason(&response), "token_missing");

        let layer = JwtLayer::new(verifier).allow_query_token("access_token");
        let response = run(&layer, &seen, plain("GET", &uri)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()[CACHE_CONTROL], "private");
        assert_eq!(seen.principal().unwrap().sub(), Some("alice"));
    }

    /// A `JwtLayer` accepting query tokens, in front of a handler that answers
    /// with `Cache-Control: cache_control`; one query-token request.
    async fn query_token_answer(cache_control: &'static str) -> (Response<Bytes>, usize) {
        let (issuer, verifier) = issuer().await;
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counted = calls.clone();
        let handler = tower::service_fn(move |_req: Request<()>| {
            counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let mut response = Response::new(Bytes::from_static(b"handler ran"));
            response
                .headers_mut()
                .insert(CACHE_CONTROL, http::HeaderValue::from_static(cache_control));
            std::future::ready(Ok::<_, std::convert::Infallible>(response))
        });
        let service = JwtLayer::new(verifier)
            .allow_query_token("access_token")
            .layer(handler);
        let uri = format!("/items?access_token={}", issuer.token().sign());
        let response = tower::ServiceExt::oneshot(service, plain("GET", &uri))
            .await
            .unwrap();
        (response, calls.load(std::sync::atomic::Ordering::SeqCst))
    }

    #[tokio::test]
    async fn a_query_token_answer_keeps_the_handlers_no_store() {
        // Replacing no-store by private would let the browser cache keep the answer.
        let (response, calls) = query_token_answer("no-store").await;
        assert_eq!(response.status(), 200);
        assert_eq!(calls, 1, "the handler ran");
        let values: Vec<_> = response.headers().get_all(CACHE_CONTROL).iter().collect();
        assert_eq!(values, ["no-store"]);
    }

    #[tokio::test]
    async fn a_query_token_answer_adds_private_to_the_handlers_directives() {
        let (response, calls) = query_token_answer("max-age=60").await;
        assert_eq!(response.status(), 200);
        assert_eq!(calls, 1, "the handler ran");
        let values: Vec<_> = response.headers().get_all(CACHE_CONTROL).iter().collect();
        assert_eq!(values, ["max-age=60, private"]);
        // A `public` would contradict it: it goes.
        let (response, _) = query_token_answer("public, max-age=60").await;
        assert_eq!(response.headers()[CACHE_CONTROL], "max-age=60, private");
    }

    #[tokio::test]
    async fn a_query_token_answer_keeps_an_unqualified_private_as_it_is() {
        let (response, _) = query_token_answer("private, max-age=60").await;
        assert_eq!(response.headers()[CACHE_CONTROL], "private, max-age=60");
        // `private="set-cookie"` only hides that field from shared caches: the
        // answer itself still needs the unqualified directive.
        let (response, _) = query_token_answer(r#"private="set-cookie""#).await;
        assert_eq!(
            response.headers()[CACHE_CONTROL],
            r#"private="set-cookie", private"#
        );
    }

    #[tokio::test]
    async fn cookie_and_custom_header_tokens() {
        let (issuer, verifier) = issuer().await;
        let token = issuer.token().sub("carol").sign();
        let layer = JwtLayer::new(verifier)
            .token_from_header(HeaderName::from_static("x-access-token"))
            .token_from_cookie("at");
        let seen = Seen::default();
        let mut req = plain("GET", "/");
        req.headers_mut()
            .insert("x-access-token", token.parse().unwrap());
        assert_eq!(run(&layer, &seen, req).await.status(), 200);
        let mut req = plain("GET", "/");
        req.headers_mut()
            .insert("cookie", format!("theme=dark; at={token}").parse().unwrap());
        assert_eq!(run(&layer, &seen, req).await.status(), 200);
        assert_eq!(seen.calls(), 2);
        assert_eq!(seen.principal().unwrap().sub(), Some("carol"));
    }

    #[tokio::test]
    async fn a_cookie_repeated_by_another_subdomain_does_not_lock_the_user_out() {
        let (issuer, verifier) = issuer().await;
        let token = issuer.token().sub("carol").sign();
        let layer = JwtLayer::new(verifier).realm("api").token_from_cookie("at");
        let cookie = |value: String| {
            let mut req = plain("GET", "/");
            req.headers_mut().insert("cookie", value.parse().unwrap());
            req
        };
        // Browsers send the cookie of the longest path, then the oldest, first
        // (RFC 6265 §5.4): that is the one used.
        let seen = Seen::default();
        let response = run(
            &layer,
            &seen,
            cookie(format!("at={token}; at=tossed.by.sibling")),
        )
        .await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 1);
        assert_eq!(seen.principal().unwrap().sub(), Some("carol"));
        // The first one decides, also when it is the bad one: a 401 the client
        // can recover from by signing in again, not a 400.
        let seen = Seen::default();
        let response = run(
            &layer,
            &seen,
            cookie(format!("at=tossed.by.sibling; at={token}")),
        )
        .await;
        assert_eq!(response.status(), 401);
        assert_eq!(reason(&response), "token_malformed");
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn bearer_methods_are_the_rfc_6750_methods_enabled() {
        let (_, verifier) = issuer().await;
        let layer = JwtLayer::new(verifier);
        assert_eq!(layer.bearer_methods(), ["header"]);
        // Neither is an RFC 6750 method.
        let layer = layer
            .token_from_header(HeaderName::from_static("x-access-token"))
            .token_from_cookie("at");
        assert_eq!(layer.bearer_methods(), ["header"]);
        let layer = layer.allow_query_token("access_token");
        assert_eq!(layer.bearer_methods(), ["header", "query"]);
    }

    #[tokio::test]
    async fn challenge_options_and_a_replaced_body_apply_to_every_denial() {
        let (issuer, verifier) = issuer().await;
        let layer = JwtLayer::new(verifier)
            .realm("api")
            .resource_metadata("https://api.test/.well-known/oauth-protected-resource")
            .denial_body(DenialBody::new(|d| {
                (
                    http::HeaderValue::from_static("text/plain"),
                    Bytes::from(format!("denied: {}", d.reason())),
                )
            }));
        let seen = Seen::default();
        let token = issuer.token().expires_in(-600).sign();
        let response = run(&layer, &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(response.body(), "denied: token_expired");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/plain");
        assert!(
            challenge(&response).ends_with(
                r#"resource_metadata="https://api.test/.well-known/oauth-protected-resource""#
            ),
            "{}",
            challenge(&response)
        );
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn denial_options_reach_the_layers_after_it() {
        // ScopeLayer refuses with JwtLayer's realm: the options travel in the
        // extensions of a verified request.
        let (issuer, verifier) = issuer().await;
        let seen = Seen::default();
        let stack = tower::ServiceBuilder::new()
            .layer(JwtLayer::new(verifier).realm("api"))
            .layer(crate::ScopeLayer::all(["items:write"]));
        let response = run(&stack, &seen, bearer("GET", "/", &issuer.token().sign())).await;
        assert_eq!(response.status(), 403);
        assert!(
            challenge(&response).starts_with(r#"Bearer realm="api", error="insufficient_scope""#)
        );
        assert_eq!(seen.calls(), 0);
    }
}
