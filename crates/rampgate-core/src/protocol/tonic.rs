//! tonic: a denial as a [`tonic::Status`], and the verified [`Principal`] (and
//! the contract [`Decision`]) of a `tonic::Request` (feature `tonic`).
//!
//! ```
//! use rampgate_core::tonic::RequestExt;
//!
//! fn say_hello(request: &tonic::Request<()>) -> Result<String, tonic::Status> {
//!     // `JwtLayer` put the principal in the request's extensions; without it
//!     // this is `INTERNAL`, never an unauthenticated pass.
//!     let principal = request.principal()?;
//!     Ok(format!("hello {}", principal.sub().unwrap_or("anonymous")))
//! }
//!
//! let status = say_hello(&tonic::Request::new(())).unwrap_err();
//! assert_eq!(status.code(), tonic::Code::Internal);
//! ```

use crate::contract::Decision;
use crate::denial::{Anonymous, Denial, GRPC_REASON_HEADER};
use crate::principal::Principal;
use tonic::metadata::{MetadataMap, MetadataValue};
use tonic::{Code, Status};

/// The message of the `INTERNAL` status a method gets when it reads a
/// principal that no `JwtLayer` (or interceptor) put there.
pub const NO_JWT_LAYER: &str =
    "the method reads a Principal but no JwtLayer or JwtInterceptor covers it";

impl Denial {
    /// The denial as a `tonic::Status`: the same code, message and metadata
    /// (`www-authenticate` or `grpc-retry-pushback-ms`, `rampgate-reason`) as
    /// the trailers-only answer the layers give.
    pub fn to_status(&self) -> Status {
        let mut metadata = MetadataMap::new();
        if let Ok(reason) = MetadataValue::try_from(self.reason().as_str()) {
            metadata.insert(GRPC_REASON_HEADER, reason);
        }
        match self.retry_after() {
            Some(secs) => {
                metadata.insert("grpc-retry-pushback-ms", MetadataValue::from(secs * 1000));
            }
            None => {
                for challenge in self.www_authenticate_all() {
                    if let Ok(challenge) = MetadataValue::try_from(challenge.as_bytes()) {
                        metadata.append("www-authenticate", challenge);
                    }
                }
                if let Some(nonce) = self
                    .dpop_nonce()
                    .and_then(|n| MetadataValue::try_from(n).ok())
                {
                    metadata.insert(crate::DPOP_NONCE, nonce);
                }
            }
        }
        // A gRPC refusal is an HTTP 200: never kept by a cache.
        metadata.insert("cache-control", MetadataValue::from_static("no-store"));
        Status::with_metadata(
            Code::from_i32(self.grpc_code().as_i32()),
            self.grpc_message(),
            metadata,
        )
    }
}

impl From<Denial> for Status {
    fn from(denial: Denial) -> Status {
        denial.to_status()
    }
}

/// What rampgate's layers left on a `tonic::Request`.
pub trait RequestExt {
    /// The verified principal; a denial status for an anonymous request on a
    /// route where the token is optional (`UNAUTHENTICATED`, with the
    /// challenge); `INTERNAL` when no `JwtLayer` ran.
    #[allow(clippy::result_large_err)]
    fn principal(&self) -> Result<&Principal, Status>;

    /// The contract's decision, when a `ContractLayer` decided the request.
    fn decision(&self) -> Option<&Decision>;
}

impl<T> RequestExt for tonic::Request<T> {
    fn principal(&self) -> Result<&Principal, Status> {
        principal_in(self.extensions())
    }

    fn decision(&self) -> Option<&Decision> {
        self.extensions()
            .get::<std::sync::Arc<Decision>>()
            .map(|d| &**d)
    }
}

/// The principal in `extensions`, or the status to answer without one.
#[allow(clippy::result_large_err)]
pub(crate) fn principal_in(extensions: &http::Extensions) -> Result<&Principal, Status> {
    if let Some(principal) = extensions.get::<Principal>() {
        return Ok(principal);
    }
    match extensions.get::<Anonymous>() {
        Some(Anonymous(challenge)) => Err(challenge.to_status()),
        // INTERNAL with reason layers_misconfigured, like every layering mistake.
        None => Err(crate::DenialOptions::default()
            .deny(&crate::ErrorKind::LayersMisconfigured(NO_JWT_LAYER).into())
            .to_status()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DenialOptions, ErrorKind};

    #[test]
    fn a_denial_status_carries_the_code_message_and_challenge() {
        let denial = DenialOptions::default()
            .realm("api")
            .deny(&ErrorKind::TokenExpired.into());
        let status = denial.to_status();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.message(), "token_expired: token expired");
        assert_eq!(
            status.metadata().get("www-authenticate").unwrap(),
            r#"Bearer realm="api", error="invalid_token", error_description="token expired""#
        );
        assert_eq!(
            status.metadata().get("rampgate-reason").unwrap(),
            "token_expired"
        );
    }

    #[test]
    fn unavailable_keys_ask_for_a_retry_without_a_challenge() {
        let status = DenialOptions::default()
            .deny(&ErrorKind::KeysUnavailable.into())
            .to_status();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.metadata().get("www-authenticate").is_none());
        assert_eq!(
            status.metadata().get("grpc-retry-pushback-ms").unwrap(),
            "5000"
        );
    }

    #[test]
    fn an_anonymous_request_gets_the_bare_challenge() {
        let mut request = tonic::Request::new(());
        let challenge = DenialOptions::default().deny(&ErrorKind::TokenMissing.into());
        request.extensions_mut().insert(Anonymous(challenge));
        let status = request.principal().unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert_eq!(status.metadata().get("www-authenticate").unwrap(), "Bearer");
        assert!(request.decision().is_none());
    }
}
