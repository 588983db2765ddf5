//! The response future of [`Jwt`](super::Jwt).

use super::sender::Pending;
use super::token::Found;
use http::header::CACHE_CONTROL;
use http::{HeaderMap, HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use rampgate_core::binding::Presentation;
use rampgate_core::{
    DPOP_NONCE, Denial, DenialOptions, DenialResponseBody, Error, Principal, Verifier,
};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower_service::Service;

type Verifying = Pin<Box<dyn Future<Output = Result<(Principal, After), Error>> + Send>>;

/// What the layer adds to the inner service's answer.
#[derive(Debug, Default)]
pub(crate) struct After {
    /// The token came in the query: the answer must be `private`.
    pub(crate) cache_private: bool,
    /// The proof's nonce was the previous one: the current one, for the
    /// client's next proof (RFC 9449 §8.2).
    pub(crate) dpop_nonce: Option<HeaderValue>,
}

impl After {
    /// What to add to the answer of a verified token, once its DPoP proof
    /// (if any) is recorded against replay, which may still refuse it.
    pub(crate) fn recorded(cache_private: bool, pending: Option<Pending>) -> Result<Self, Error> {
        let dpop_nonce = pending.map(Pending::record).transpose()?.flatten();
        Ok(After {
            cache_private,
            dpop_nonce,
        })
    }

    fn apply(self, headers: &mut HeaderMap) {
        if self.cache_private {
            make_private(headers);
        }
        if let Some(nonce) = self.dpop_nonce {
            headers.insert(DPOP_NONCE, nonce);
        }
    }
}

/// A verification that waits for one refresh of the issuer's keys.
pub(crate) struct Verification {
    pub(crate) verifier: Verifier,
    pub(crate) found: Found<'static>,
    pub(crate) presented: Presentation,
    pub(crate) pending: Option<Pending>,
}

impl Verification {
    async fn run(self) -> Result<(Principal, After), Error> {
        let principal = self
            .verifier
            .verify_presented(&self.found.token, &self.presented)
            .await?;
        let after = After::recorded(self.found.from_query, self.pending)?;
        Ok((principal, after))
    }
}

pin_project! {
    /// Response future of [`Jwt`](super::Jwt): the inner service's answer, or a denial.
    pub struct ResponseFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        state: State<S, ReqBody>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Inner {
            #[pin]
            future: S::Future,
            after: Option<After>,
        },
        // The token named a key not held yet: one refresh of the key set, then on.
        Verifying {
            verification: Verifying,
            request: Option<Request<ReqBody>>,
            inner: Option<S>,
            denial: DenialOptions,
        },
        Denied {
            denial: Option<Denial>,
        },
    }
}

impl<S, ReqBody> ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(super) fn inner(future: S::Future, after: After) -> Self {
        ResponseFuture {
            state: State::Inner {
                future,
                after: Some(after),
            },
        }
    }

    pub(super) fn denied(options: &DenialOptions, error: &Error) -> Self {
        tracing::debug!(reason = error.code(), "request denied");
        ResponseFuture {
            state: State::Denied {
                denial: Some(options.deny(error)),
            },
        }
    }

    pub(super) fn verifying(
        verification: Verification,
        denial: DenialOptions,
        request: Request<ReqBody>,
        inner: S,
    ) -> Self {
        ResponseFuture {
            state: State::Verifying {
                verification: Box::pin(verification.run()),
                request: Some(request),
                inner: Some(inner),
                denial,
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: DenialResponseBody,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut this = self.as_mut().project();
            let next = match this.state.as_mut().project() {
                StateProj::Inner { future, after } => {
                    let mut response = ready!(future.poll(cx))?;
                    if let Some(after) = after.take() {
                        after.apply(response.headers_mut());
                    }
                    return Poll::Ready(Ok(response));
                }
                StateProj::Denied { denial } => {
                    let denial = denial
                        .take()
                        .expect("ResponseFuture polled after completion");
                    return Poll::Ready(Ok(denial.into_response()));
                }
                StateProj::Verifying {
                    verification,
                    request,
                    inner,
                    denial,
                } => {
                    let result = ready!(verification.as_mut().poll(cx));
                    match result {
                        Ok((principal, after)) => {
                            let mut request = request
                                .take()
                                .expect("ResponseFuture polled after completion");
                            let mut inner = inner
                                .take()
                                .expect("ResponseFuture polled after completion");
                            super::note_principal(request.extensions(), &principal);
                            request.extensions_mut().insert(principal);
                            request.extensions_mut().insert(denial.clone());
                            State::Inner {
                                future: inner.call(request),
                                after: Some(after),
                            }
                        }
                        Err(error) => {
                            // No `token::refusal` here: only a token that parsed
                            // (strict base64url and dots) reaches a key refresh.
                            tracing::debug!(reason = error.code(), "request denied");
                            State::Denied {
                                denial: Some(denial.deny(&error)),
                            }
                        }
                    }
                }
            };
            this.state.set(next);
        }
    }
}

/// RFC 6750 §2.3: the answer to a request with the token in its URI must not be
/// kept by shared caches. Adds `private` to what the handler said and never
/// weakens it: a `no-store` or an unqualified `private` is already enough, and
/// replacing `no-store` by `private` would let the browser's cache keep it.
fn make_private(headers: &mut HeaderMap) {
    let mut directives = Vec::new();
    for value in headers.get_all(CACHE_CONTROL) {
        let Ok(value) = value.to_str() else {
            // Not text we can rewrite: a second header is the same list (RFC 9110 §5.3).
            headers.append(CACHE_CONTROL, HeaderValue::from_static("private"));
            return;
        };
        directives.push(value);
    }
    // `private="field"` only hides the named fields from shared caches.
    let enough = directives
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .any(|d| d.eq_ignore_ascii_case("no-store") || d.eq_ignore_ascii_case("private"));
    if enough {
        return;
    }
    // `public` would contradict `private`: a shared cache must not keep it.
    let kept: Vec<&str> = directives
        .iter()
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|d| !d.is_empty() && !d.eq_ignore_ascii_case("public"))
        .collect();
    let merged = if kept.is_empty() {
        HeaderValue::from_static("private")
    } else {
        let joined = format!("{}, private", kept.join(", "));
        match HeaderValue::from_str(&joined) {
            Ok(value) => value,
            Err(_) => HeaderValue::from_static("private, no-store"),
        }
    };
    headers.insert(CACHE_CONTROL, merged);
}

#[cfg(test)]
mod tests {
    //! Each path through the future: verified at once → inner; key refresh →
    //! inner; key refresh → denied; denied at once. The refreshes need a key
    //! set that can be fetched again, so these tests run a `DevIssuer` on
    //! loopback.

    use crate::JwtLayer;
    use crate::tests::{Seen, bearer, plain, reason, run};
    use http::header::CACHE_CONTROL;
    use rampgate_core::{IssuerConfig, Verifier};
    use rampgate_testkit::DevIssuer;
    use tower::{Service, ServiceExt};

    async fn dev() -> (DevIssuer, Verifier) {
        let dev = DevIssuer::start().await.unwrap();
        let verifier = Verifier::builder()
            .issuer(IssuerConfig::new(dev.issuer(), [dev.audience()]).jwks_url(dev.jwks_url()))
            .build()
            .await
            .unwrap();
        assert_eq!(dev.jwks_fetches(), 1, "the verifier fetched its keys once");
        (dev, verifier)
    }

    #[tokio::test]
    async fn known_key_goes_straight_to_the_inner_service() {
        let (dev, verifier) = dev().await;
        let seen = Seen::default();
        let token = dev.token().sub("alice").sign();
        let response = run(&JwtLayer::new(verifier), &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(seen.principal().unwrap().sub(), Some("alice"));
        assert_eq!(dev.jwks_fetches(), 1, "no refresh for a known key");
    }

    #[tokio::test]
    async fn new_key_refreshes_the_key_set_then_runs_the_inner_service() {
        let (dev, verifier) = dev().await;
        dev.rotate().await;
        let seen = Seen::default();
        let token = dev.token().sub("bob").sign();
        let response = run(&JwtLayer::new(verifier), &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(dev.jwks_fetches(), 2, "one refresh for the new kid");
        assert_eq!(seen.calls(), 1);
        assert_eq!(seen.principal().unwrap().sub(), Some("bob"));
    }

    /// A DPoP-bound token signed by a key the verifier does not hold yet:
    /// its proof is recorded after the refresh, so a replay is refused.
    #[tokio::test]
    async fn a_dpop_proof_is_recorded_across_a_refresh() {
        use rampgate_core::dpop::{DpopChecker, DpopOptions};
        let (dev, verifier) = dev().await;
        dev.rotate().await;
        let client = rampgate_testkit::DpopKey::generate();
        let token = dev.token().dpop_bound(&client).sign();
        let proof = client
            .proof("GET", "https://api.example/")
            .access_token(&token)
            .sign();
        let layer = JwtLayer::new(verifier)
            .dpop(DpopChecker::new(DpopOptions::default()).unwrap())
            .dpop_public_url("https://api.example");
        let request = || {
            http::Request::builder()
                .uri("/")
                .header("authorization", format!("DPoP {token}"))
                .header("dpop", &proof)
                .body(())
                .unwrap()
        };
        let seen = Seen::default();
        let response = run(&layer, &seen, request()).await;
        assert_eq!(response.status(), 200);
        assert_eq!(dev.jwks_fetches(), 2, "one refresh for the new kid");
        let seen = Seen::default();
        let response = run(&layer, &seen, request()).await;
        assert_eq!(reason(&response), "dpop_proof_replayed");
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn a_query_token_stays_private_across_a_refresh() {
        let (dev, verifier) = dev().await;
        dev.rotate().await;
        let seen = Seen::default();
        let layer = JwtLayer::new(verifier).allow_query_token("access_token");
        let uri = format!("/?access_token={}", dev.token().sign());
        let response = run(&layer, &seen, plain("GET", &uri)).await;
        assert_eq!(response.status(), 200);
        assert_eq!(dev.jwks_fetches(), 2);
        assert_eq!(response.headers()[CACHE_CONTROL], "private");
    }

    #[tokio::test]
    async fn kid_still_unknown_after_the_refresh_is_denied() {
        let (dev, verifier) = dev().await;
        let seen = Seen::default();
        let token = dev.token().kid("never-published").sign();
        let response = run(&JwtLayer::new(verifier), &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(reason(&response), "kid_unknown");
        assert_eq!(dev.jwks_fetches(), 2, "the refresh was tried");
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn failed_refresh_is_denied() {
        let (dev, verifier) = dev().await;
        dev.rotate().await;
        dev.set_outage(true);
        let seen = Seen::default();
        let token = dev.token().sign();
        let response = run(&JwtLayer::new(verifier), &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(reason(&response), "kid_unknown");
        assert!(dev.jwks_fetches() >= 2, "the refresh was tried");
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn invalid_token_is_denied_without_a_refresh() {
        let (dev, verifier) = dev().await;
        let seen = Seen::default();
        let token = dev.token().expires_in(-600).sign();
        let response = run(&JwtLayer::new(verifier), &seen, bearer("GET", "/", &token)).await;
        assert_eq!(response.status(), 401);
        assert_eq!(reason(&response), "token_expired");
        assert_eq!(
            dev.jwks_fetches(),
            1,
            "a refresh cannot help an expired token"
        );
        assert_eq!(seen.calls(), 0);
    }

    #[tokio::test]
    async fn the_service_keeps_serving_after_a_refresh_moved_its_inner_service() {
        // The refresh path moves the polled-ready inner service into the future
        // and keeps a clone: the next request must find a working service.
        let (dev, verifier) = dev().await;
        dev.rotate().await;
        let seen = Seen::default();
        let mut service = tower_layer::Layer::layer(&JwtLayer::new(verifier), seen.service());
        let first = bearer("GET", "/", &dev.token().sub("one").sign());
        let response = service.ready().await.unwrap().call(first).await.unwrap();
        assert_eq!(response.status(), 200);
        let second = bearer("GET", "/", &dev.token().sub("two").sign());
        let response = service.ready().await.unwrap().call(second).await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(seen.calls(), 2);
        assert_eq!(seen.principal().unwrap().sub(), Some("two"));
        assert_eq!(
            dev.jwks_fetches(),
            2,
            "the second request used the fresh keys"
        );
    }
}
