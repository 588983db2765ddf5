//! `ScopeLayer`: the route needs these scopes from the verified token.
//!
//! Runs after [`JwtLayer`](crate::JwtLayer), which puts the
//! [`Principal`] in the request extensions. A token without the scopes gets 403
//! with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."`
//! (RFC 6750 §3.1) and the inner service never runs.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use pin_project_lite::pin_project;
use rampgate_core::{Anonymous, Denial, DenialOptions, ErrorKind, Principal};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_layer::Layer;
use tower_service::Service;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    All,
    Any,
}

/// Requires scopes of the verified token: all of a set, or any one of a set.
///
/// ```
/// use rampgate_tower::ScopeLayer;
///
/// let read = ScopeLayer::all(["profile:read"]);
/// let admin_or_support = ScopeLayer::any(["admin", "support"]);
/// # let _ = (read, admin_or_support);
/// ```
#[derive(Debug, Clone)]
pub struct ScopeLayer {
    scopes: Arc<[String]>,
    mode: Mode,
}

impl ScopeLayer {
    /// The token must carry every one of `scopes`.
    pub fn all<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeLayer {
            scopes: scopes.into_iter().map(Into::into).collect(),
            mode: Mode::All,
        }
    }

    /// The token must carry at least one of `scopes`.
    pub fn any<I, S>(scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        ScopeLayer {
            scopes: scopes.into_iter().map(Into::into).collect(),
            mode: Mode::Any,
        }
    }

    fn satisfied_by(&self, principal: &Principal) -> bool {
        match self.mode {
            Mode::All => self.scopes.iter().all(|s| principal.has_scope(s)),
            Mode::Any => self.scopes.iter().any(|s| principal.has_scope(s)),
        }
    }
}

impl<S> Layer<S> for ScopeLayer {
    type Service = Scope<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Scope {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`ScopeLayer`].
#[derive(Debug, Clone)]
pub struct Scope<S> {
    inner: S,
    layer: ScopeLayer,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for Scope<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: From<Bytes>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ScopeFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let extensions = req.extensions();
        let denial = match extensions.get::<Principal>() {
            Some(principal) if self.layer.satisfied_by(principal) => None,
            Some(_) => {
                let options = extensions
                    .get::<DenialOptions>()
                    .cloned()
                    .unwrap_or_default();
                Some(Ok(options.deny(
                    &ErrorKind::InsufficientScope {
                        required: self.layer.scopes.join(" "),
                    }
                    .into(),
                )))
            }
            None => match extensions.get::<Anonymous>() {
                Some(Anonymous(challenge)) => Some(Ok(challenge.clone())),
                None => Some(Err(())),
            },
        };
        match denial {
            None => ScopeFuture {
                state: ScopeState::Inner {
                    future: self.inner.call(req),
                },
            },
            Some(denial) => {
                if let Ok(d) = &denial {
                    tracing::debug!(reason = d.reason(), "request denied");
                }
                ScopeFuture {
                    state: ScopeState::Denied {
                        denial: Some(denial),
                    },
                }
            }
        }
    }
}

pin_project! {
    /// Response future of [`Scope`].
    pub struct ScopeFuture<F> {
        #[pin]
        state: ScopeState<F>,
    }
}

pin_project! {
    #[project = ScopeStateProj]
    enum ScopeState<F> {
        Inner { #[pin] future: F },
        // `Err(())`: no JwtLayer ran before this layer, a server-side mistake.
        Denied { denial: Option<Result<Denial, ()>> },
    }
}

impl<F, ResBody, E> Future for ScopeFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
    ResBody: From<Bytes>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            ScopeStateProj::Inner { future } => future.poll(cx),
            ScopeStateProj::Denied { denial } => {
                let denial = denial.take().expect("ScopeFuture polled after completion");
                Poll::Ready(Ok(match denial {
                    Ok(denial) => denial.into_response(),
                    Err(()) => missing_jwt_layer(),
                }))
            }
        }
    }
}

fn missing_jwt_layer<B: From<Bytes>>() -> Response<B> {
    tracing::error!("ScopeLayer applied without JwtLayer before it: refusing the request");
    let mut response = Response::new(B::from(Bytes::from_static(
        br#"{"error":"server_error","reason":"jwt_layer_missing","description":"ScopeLayer needs JwtLayer to run before it"}"#,
    )));
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}
