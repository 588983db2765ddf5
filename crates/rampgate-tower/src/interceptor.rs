//! `JwtInterceptor`: the JWT check as a `tonic::service::Interceptor`
//! (feature `tonic`), for services that prefer interceptors to layers.

use crate::jwt::presentation;
use crate::jwt::token::{bearer_of, refusal};
use rampgate_core::{Anonymous, DenialOptions, ErrorKind, Protocol, Verifier};
use tonic::{Request, Status};

/// Verifies the `authorization: Bearer` token of every call, synchronously
/// against the keys held now ([`Verifier::verify_cached`]), and puts the
/// [`Principal`](rampgate_core::Principal) in the request's extensions, where
/// [`RequestExt::principal`](rampgate_core::tonic::RequestExt::principal)
/// finds it. A refusal is the same `tonic::Status` as [`JwtLayer`](crate::JwtLayer)'s
/// answer to a gRPC request: the same code, reason (`rampgate-reason`) and
/// challenge (`www-authenticate`).
///
/// Being synchronous, it never fetches keys: a token signed by a key the
/// verifier does not hold yet is `kid_unknown` until the key poller has it,
/// where `JwtLayer` would refresh the keys at once. Prefer `JwtLayer` (and
/// [`AuthStack`](crate::AuthStack) for contracts and step-up) when you can.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_tower::JwtInterceptor;
/// use tonic::service::Interceptor;
///
/// let issuer = rampgate_testkit::OfflineIssuer::new();
/// let mut interceptor = JwtInterceptor::new(issuer.verifier().await.unwrap()).realm("api");
/// // With tonic-generated code: `GreeterServer::with_interceptor(greeter, interceptor)`.
/// let status = interceptor.call(tonic::Request::new(())).unwrap_err();
/// assert_eq!(status.code(), tonic::Code::Unauthenticated);
/// assert_eq!(status.metadata().get("www-authenticate").unwrap(), r#"Bearer realm="api""#);
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct JwtInterceptor {
    verifier: Verifier,
    denial: DenialOptions,
    optional: bool,
}

impl JwtInterceptor {
    /// An interceptor that verifies tokens with `verifier`.
    pub fn new(verifier: Verifier) -> Self {
        JwtInterceptor {
            verifier,
            denial: DenialOptions::default().in_protocol(Protocol::Grpc),
            optional: false,
        }
    }

    /// Sets the `realm` of the `www-authenticate` challenge.
    pub fn realm(mut self, realm: impl AsRef<str>) -> Self {
        self.denial = self.denial.realm(realm);
        self
    }

    /// Adds `resource_metadata="<url>"` (RFC 9728 §5.1) to every challenge.
    pub fn resource_metadata(mut self, url: impl AsRef<str>) -> Self {
        self.denial = self.denial.resource_metadata(url);
        self
    }

    /// Lets calls without any token through as anonymous (see
    /// [`JwtLayer::optional`](crate::JwtLayer::optional)).
    pub fn optional(mut self) -> Self {
        self.optional = true;
        self
    }
}

impl tonic::service::Interceptor for JwtInterceptor {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let values = request
            .metadata()
            .get_all("authorization")
            .iter()
            .map(|v| v.to_str().ok());
        let verified = match bearer_of(values) {
            // An AuditLayer outside left its facts in the extensions (tonic
            // keeps them): the fingerprint, the principal or what a refused
            // token claimed, and the verifier's revocation store, go there.
            Ok(Some(token)) => {
                let presented = presentation(request.extensions());
                crate::jwt::verify_noted(
                    crate::jwt::facts_of(request.extensions().get(), request.extensions().get()),
                    token,
                    &presented,
                    &self.verifier,
                )
            }
            .map(Some)
            .map_err(|e| refusal(token, e)),
            Ok(None) if self.optional => Ok(None),
            Ok(None) => Err(ErrorKind::TokenMissing.into()),
            Err(e) => Err(e),
        };
        match verified {
            Ok(Some(principal)) => {
                request.extensions_mut().insert(principal);
            }
            Ok(None) => {
                let challenge = self.denial.deny(&ErrorKind::TokenMissing.into());
                request.extensions_mut().insert(Anonymous(challenge));
            }
            Err(error) => {
                tracing::debug!(reason = error.code(), "call denied");
                return Err(self.denial.deny(&error).to_status());
            }
        }
        request.extensions_mut().insert(self.denial.clone());
        Ok(request)
    }
}
