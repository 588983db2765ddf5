//! The response future of [`Jwt`](super::Jwt).

use super::Config;
use super::token::Found;
use bytes::Bytes;
use http::header::CACHE_CONTROL;
use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use rampgate_core::{Denial, Error, Principal};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use tower_service::Service;

type Verification = Pin<Box<dyn Future<Output = Result<Principal, Error>> + Send>>;

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
            cache_private: bool,
        },
        // The token named a key not held yet: one refresh of the key set, then on.
        Verifying {
            verification: Verification,
            request: Option<Request<ReqBody>>,
            inner: Option<S>,
            config: Arc<Config>,
            cache_private: bool,
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
    pub(super) fn inner(future: S::Future, cache_private: bool) -> Self {
        ResponseFuture {
            state: State::Inner {
                future,
                cache_private,
            },
        }
    }

    pub(super) fn denied(config: &Config, error: &Error) -> Self {
        tracing::debug!(reason = error.code(), "request denied");
        ResponseFuture {
            state: State::Denied {
                denial: Some(config.denial.deny(error)),
            },
        }
    }

    pub(super) fn verifying(
        config: Arc<Config>,
        found: Found<'static>,
        request: Request<ReqBody>,
        inner: S,
    ) -> Self {
        let verifier = config.verifier.clone();
        let token = found.token.into_owned();
        ResponseFuture {
            state: State::Verifying {
                verification: Box::pin(async move { verifier.verify(&token).await }),
                request: Some(request),
                inner: Some(inner),
                config,
                cache_private: found.from_query,
            },
        }
    }
}

impl<S, ReqBody, ResBody> Future for ResponseFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            let mut this = self.as_mut().project();
            let next = match this.state.as_mut().project() {
                StateProj::Inner {
                    future,
                    cache_private,
                } => {
                    let mut response = ready!(future.poll(cx))?;
                    if *cache_private {
                        // RFC 6750 §2.3: a token in the URI makes the answer private.
                        response
                            .headers_mut()
                            .insert(CACHE_CONTROL, HeaderValue::from_static("private"));
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
                    config,
                    cache_private,
                } => {
                    let result = ready!(verification.as_mut().poll(cx));
                    match result {
                        Ok(principal) => {
                            let mut request = request
                                .take()
                                .expect("ResponseFuture polled after completion");
                            let mut inner = inner
                                .take()
                                .expect("ResponseFuture polled after completion");
                            request.extensions_mut().insert(principal);
                            request.extensions_mut().insert(config.denial.clone());
                            State::Inner {
                                future: inner.call(request),
                                cache_private: *cache_private,
                            }
                        }
                        Err(error) => {
                            tracing::debug!(reason = error.code(), "request denied");
                            State::Denied {
                                denial: Some(config.denial.deny(&error)),
                            }
                        }
                    }
                }
            };
            this.state.set(next);
        }
    }
}
