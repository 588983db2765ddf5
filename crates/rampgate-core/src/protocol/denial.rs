//! The one place a refusal becomes an answer, over HTTP or gRPC.
//!
//! Every denial carries its status, the RFC 6750 `WWW-Authenticate: Bearer`
//! challenge (no `error` attribute when the request had no token, §3.1; no
//! challenge but a `Retry-After` on the 503 for unavailable keys), a stable
//! reason code and a small JSON body. The body can be replaced (for example with
//! RFC 9457 problem details) without losing the status or the challenge.
//!
//! A denial of a gRPC request (see [`grpc::is_grpc`](crate::grpc::is_grpc))
//! is a gRPC answer instead: HTTP 200, trailers-only, with `grpc-status`
//! derived from the HTTP status ([`GrpcCode::for_http`]), a percent-encoded
//! `grpc-message`, the reason code in `rampgate-reason` and the same
//! `www-authenticate` challenge in the metadata.

use crate::body::DenialResponseBody;
use crate::error::{BearerError, Error, ErrorKind};
use crate::grpc::{GrpcCode, percent_encode_message};
use crate::reason::Reason;
use bytes::Bytes;
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Response, StatusCode};
use std::fmt;
use std::sync::Arc;

type RenderFn = dyn Fn(&Denial) -> (HeaderValue, Bytes) + Send + Sync;

/// The `Retry-After` (seconds) of a 503 for unavailable keys: about the first
/// retries of the key poller's backoff (1 s, 2 s, 4 s by default), so that a
/// client retrying then is likely to find the keys, without a retry storm.
pub const RETRY_AFTER_SECS: u64 = 5;

/// A replacement for the default JSON body of denials.
///
/// ```
/// use rampgate_core::{DenialBody, DenialOptions, Error, ErrorKind};
/// use http::HeaderValue;
///
/// let problem = DenialBody::new(|denial| {
///     let body = format!(
///         r#"{{"type":"about:blank","status":{},"title":"{}"}}"#,
///         denial.status().as_u16(),
///         denial.reason()
///     );
///     (HeaderValue::from_static("application/problem+json"), body.into())
/// });
/// let options = DenialOptions::default().body(problem);
/// let response = options
///     .deny(&Error::from(ErrorKind::TokenExpired))
///     .into_response::<bytes::Bytes>();
/// assert_eq!(response.status(), 401);
/// assert_eq!(response.headers()["content-type"], "application/problem+json");
/// assert!(response.headers().contains_key("www-authenticate"));
/// ```
#[derive(Clone)]
pub struct DenialBody(Arc<RenderFn>);

impl DenialBody {
    /// A body made by `render`, which returns the content type and the bytes.
    pub fn new(render: impl Fn(&Denial) -> (HeaderValue, Bytes) + Send + Sync + 'static) -> Self {
        DenialBody(Arc::new(render))
    }
}

impl fmt::Debug for DenialBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DenialBody(..)")
    }
}

/// The header of the server's DPoP nonce (RFC 9449 §8.1).
pub const DPOP_NONCE: &str = "dpop-nonce";

/// The metadata key of a gRPC denial's reason code (`token_expired`, ...).
pub const GRPC_REASON_HEADER: &str = "rampgate-reason";

/// The protocol a denial answers in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Protocol {
    /// An HTTP answer: the status, the challenge and a JSON body.
    #[default]
    Http,
    /// A gRPC answer: HTTP 200, trailers-only, with `grpc-status`.
    Grpc,
}

impl Protocol {
    /// The protocol of a request with these `headers`: gRPC when its
    /// `content-type` is `application/grpc...`, HTTP otherwise.
    pub fn of(headers: &HeaderMap) -> Protocol {
        if crate::grpc::is_grpc(headers) {
            Protocol::Grpc
        } else {
            Protocol::Http
        }
    }
}

/// How denials are rendered: the challenge's realm and resource metadata URL, an
/// optional replacement body, and the request's protocol.
#[derive(Debug, Clone, Default)]
pub struct DenialOptions {
    realm: Option<Arc<str>>,
    resource_metadata: Option<Arc<str>>,
    body: Option<DenialBody>,
    protocol: Protocol,
    /// Shared: most requests' options are clones of the layer's.
    dpop: Option<Arc<DpopChallenge>>,
}

/// The DPoP challenge (RFC 9449 §7.1) denials carry besides the Bearer one.
#[derive(Debug, Clone)]
struct DpopChallenge {
    /// `algs`: the proof algorithms accepted, space-delimited.
    algs: Arc<str>,
    /// Whether this request used `Authorization: DPoP`: its refusals put the
    /// error on the DPoP challenge.
    presented: bool,
    /// The nonce a `use_dpop_nonce` refusal sends in `DPoP-Nonce`.
    nonce: Option<Arc<str>>,
}

impl DenialOptions {
    /// These options for one request: its denials are gRPC answers when the
    /// request is gRPC (`content-type: application/grpc...`), HTTP ones
    /// otherwise. `JwtLayer` leaves the result in the request's extensions, so
    /// that the layers after it answer in the request's protocol.
    pub fn for_request(&self, headers: &HeaderMap) -> DenialOptions {
        self.clone().in_protocol(Protocol::of(headers))
    }

    /// Renders denials in `protocol` (HTTP by default).
    pub fn in_protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// The protocol denials are rendered in.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Sets the `realm` of the challenge. Defaults to none.
    pub fn realm(mut self, realm: impl AsRef<str>) -> Self {
        self.realm = Some(Arc::from(sanitize(realm.as_ref()).as_str()));
        self
    }

    /// Sets `resource_metadata` (RFC 9728 §5.1) on every challenge.
    pub fn resource_metadata(mut self, url: impl AsRef<str>) -> Self {
        self.resource_metadata = Some(Arc::from(sanitize(url.as_ref()).as_str()));
        self
    }

    /// Offers DPoP (RFC 9449) on every challenge: denials carry a second
    /// challenge, `DPoP algs="..."`, beside the Bearer one, and put the error
    /// on it when the request used `Authorization: DPoP` or its proof failed.
    ///
    /// ```
    /// use rampgate_core::binding::DpopFailure;
    /// use rampgate_core::{DenialOptions, Error};
    ///
    /// let options = DenialOptions::default().dpop(["ES256", "EdDSA"]);
    /// let denial = options.deny(&Error::from(DpopFailure::Replayed));
    /// assert_eq!(
    ///     denial.www_authenticate(),
    ///     "DPoP algs=\"ES256 EdDSA\", error=\"invalid_dpop_proof\", \
    ///      error_description=\"the DPoP proof was used before: make a new one per request\""
    /// );
    /// let response = denial.into_response::<bytes::Bytes>();
    /// let challenges: Vec<_> = response.headers().get_all("www-authenticate").iter().collect();
    /// assert_eq!(challenges.len(), 2);
    /// assert_eq!(challenges[1], "Bearer");
    /// ```
    pub fn dpop<I, S>(mut self, algs: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let algs: Vec<String> = algs.into_iter().map(|a| sanitize(a.as_ref())).collect();
        self.dpop = Some(Arc::new(DpopChallenge {
            algs: Arc::from(algs.join(" ")),
            presented: false,
            nonce: None,
        }));
        self
    }

    /// Marks these options as a request's that used `Authorization: DPoP`
    /// (with [`dpop`](DenialOptions::dpop) set): every refusal's error goes
    /// on the DPoP challenge. `JwtLayer` does this.
    pub fn dpop_presented(mut self) -> Self {
        if let Some(dpop) = &mut self.dpop {
            Arc::make_mut(dpop).presented = true;
        }
        self
    }

    /// The server nonce (RFC 9449 §9) a `use_dpop_nonce` refusal sends in
    /// its `DPoP-Nonce` header (with [`dpop`](DenialOptions::dpop) set).
    pub fn dpop_nonce(mut self, nonce: impl AsRef<str>) -> Self {
        if let Some(dpop) = &mut self.dpop {
            Arc::make_mut(dpop).nonce = Some(Arc::from(sanitize(nonce.as_ref()).as_str()));
        }
        self
    }

    /// Replaces the default JSON body.
    pub fn body(mut self, body: DenialBody) -> Self {
        self.body = Some(body);
        self
    }

    /// The denial for `error`, rendered with the options `JwtLayer` left in the
    /// request's extensions (its realm, resource metadata and body), or the
    /// defaults when there are none: how the layers and extractors that run after
    /// `JwtLayer` refuse in the same voice.
    pub fn deny_in(extensions: &http::Extensions, error: &Error) -> Denial {
        match extensions.get::<DenialOptions>() {
            Some(options) => options.deny(error),
            None => DenialOptions::default().deny(error),
        }
    }

    /// The denial for `error`, rendered with these options.
    pub fn deny(&self, error: &Error) -> Denial {
        let kind = error.kind();
        let (reason, description) = match kind {
            // Never tell a client about our key fetching or configuration.
            ErrorKind::Jwks { .. } | ErrorKind::Config { .. } => (
                Reason::KeysUnavailable,
                "signing keys unavailable".to_owned(),
            ),
            _ => (kind.reason(), sanitize(&kind.to_string())),
        };
        // Only a missing scope is worth a new token; a contract refusal names
        // none (its description says why), lest the client ask for one in vain.
        let scope = match kind {
            ErrorKind::InsufficientScope { required, .. } if !required.is_empty() => {
                Some(sanitize(required))
            }
            _ => None,
        };
        let (acr_values, max_age) = match kind {
            ErrorKind::StepUpRequired(f) => (f.acr_values.as_deref().map(sanitize), f.max_age),
            _ => (None, None),
        };
        Denial {
            status: kind.status(),
            error: kind.bearer_error(),
            retry_after: kind.is_unavailable().then_some(RETRY_AFTER_SECS),
            reason,
            description,
            scope,
            acr_values,
            max_age,
            options: self.clone(),
        }
    }
}

/// A refusal, ready to be answered over HTTP.
#[derive(Debug, Clone)]
pub struct Denial {
    status: StatusCode,
    error: Option<BearerError>,
    /// For a 503 (keys unavailable): when to try again, in seconds.
    retry_after: Option<u64>,
    reason: Reason,
    description: String,
    /// For `insufficient_scope`: the scopes the route needs (RFC 6750 §3).
    scope: Option<String>,
    /// For `insufficient_user_authentication`: acceptable `acr` values (RFC 9470 §3).
    acr_values: Option<String>,
    /// For `insufficient_user_authentication`: the largest authentication age.
    max_age: Option<u64>,
    options: DenialOptions,
}

impl Denial {
    /// The HTTP status: 401, 403 for insufficient scope, 400 for a malformed
    /// request, 503 when the issuer's keys are unavailable.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The `Retry-After` of a 503 (keys unavailable), in seconds; `None` for
    /// every denial that is the request's fault.
    pub fn retry_after(&self) -> Option<u64> {
        self.retry_after
    }

    /// The RFC 6750 error code (`invalid_token`, `invalid_request`), or `None`
    /// when the request carried no token or the keys are unavailable (503).
    pub fn error(&self) -> Option<BearerError> {
        self.error
    }

    /// The stable reason (`token_expired`, ...); `as_str()` gives the code.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// A human-readable description, safe to show to the client.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// The `WWW-Authenticate` value of the challenge that carries the error:
    /// `Bearer realm="..", error="..", error_description="..",
    /// resource_metadata=".."`, each parameter at most once; `DPoP
    /// algs="..", error=".."...` instead when DPoP is offered and the request
    /// used it or its proof failed. The answer carries every challenge
    /// ([`Denial::www_authenticate_all`]).
    pub fn www_authenticate(&self) -> HeaderValue {
        self.challenge(self.error_on_dpop(), true)
    }

    /// Every `WWW-Authenticate` value of the answer, the one with the error
    /// first: the Bearer challenge, and the DPoP one when DPoP is offered.
    pub fn www_authenticate_all(&self) -> impl Iterator<Item = HeaderValue> + '_ {
        let dpop_first = self.error_on_dpop();
        let other = self
            .options
            .dpop
            .is_some()
            .then(|| self.challenge(!dpop_first, false));
        std::iter::once(self.www_authenticate()).chain(other)
    }

    /// The `DPoP-Nonce` this answer carries: the server's current nonce, for
    /// a `use_dpop_nonce` refusal.
    pub fn dpop_nonce(&self) -> Option<&str> {
        match (self.error, &self.options.dpop) {
            (Some(BearerError::UseDpopNonce), Some(dpop)) => dpop.nonce.as_deref(),
            _ => None,
        }
    }

    /// Whether the error belongs on the DPoP challenge: DPoP is offered, and
    /// the request used it or the refusal is about its proof.
    fn error_on_dpop(&self) -> bool {
        self.options.dpop.as_ref().is_some_and(|dpop| {
            dpop.presented
                || matches!(
                    self.error,
                    Some(BearerError::InvalidDpopProof | BearerError::UseDpopNonce)
                )
        })
    }

    /// One challenge: `scheme` DPoP or Bearer, with the error or bare.
    fn challenge(&self, dpop: bool, with_error: bool) -> HeaderValue {
        let mut params: Vec<String> = Vec::with_capacity(4);
        if let Some(realm) = &self.options.realm {
            params.push(format!("realm=\"{realm}\""));
        }
        if let (true, Some(challenge)) = (dpop, &self.options.dpop) {
            params.push(format!("algs=\"{}\"", challenge.algs));
        }
        if !with_error {
            return challenge_value(dpop, &params);
        }
        if let Some(error) = self.error {
            params.push(format!("error=\"{error}\""));
            params.push(format!("error_description=\"{}\"", self.description));
        }
        if let Some(scope) = &self.scope {
            params.push(format!("scope=\"{scope}\""));
        }
        if let Some(acr_values) = &self.acr_values {
            params.push(format!("acr_values=\"{acr_values}\""));
        }
        if let Some(max_age) = self.max_age {
            params.push(format!("max_age=\"{max_age}\""));
        }
        if let Some(url) = &self.options.resource_metadata {
            params.push(format!("resource_metadata=\"{url}\""));
        }
        challenge_value(dpop, &params)
    }

    /// Whether the answer carries a `WWW-Authenticate` challenge: for the
    /// token's and the request's faults (400, 401, 403), not for the
    /// service's (500, 503) nor for a gRPC method called without gRPC (415),
    /// which a new token would not cure.
    fn challenges(&self) -> bool {
        matches!(self.status.as_u16(), 400 | 401 | 403)
    }

    /// Adds every challenge, and the `DPoP-Nonce` of a `use_dpop_nonce` refusal.
    fn add_challenges(&self, headers: &mut HeaderMap) {
        for challenge in self.www_authenticate_all() {
            headers.append(WWW_AUTHENTICATE, challenge);
        }
        if let Some(nonce) = self
            .dpop_nonce()
            .and_then(|n| HeaderValue::from_str(n).ok())
        {
            headers.insert(DPOP_NONCE, nonce);
        }
    }

    /// The default body: `{"error":..,"reason":..,"description":..}`.
    pub fn json_body(&self) -> Bytes {
        // No `error` member when the request had no token, as in the challenge.
        let mut body = serde_json::json!({
            "reason": self.reason.as_str(),
            "description": self.description,
        });
        if let Some(error) = self.error {
            body["error"] = error.as_str().into();
        } else if self.status == StatusCode::INTERNAL_SERVER_ERROR {
            body["error"] = "server_error".into();
        }
        if let Some(scope) = &self.scope {
            body["scope"] = scope.as_str().into();
        }
        if let Some(acr_values) = &self.acr_values {
            body["acr_values"] = acr_values.as_str().into();
        }
        if let Some(max_age) = self.max_age {
            body["max_age"] = max_age.into();
        }
        Bytes::from(body.to_string())
    }

    /// The protocol this denial answers in (see
    /// [`DenialOptions::for_request`]).
    pub fn protocol(&self) -> Protocol {
        self.options.protocol
    }

    /// The same denial, answered in `protocol`.
    pub fn in_protocol(mut self, protocol: Protocol) -> Self {
        self.options.protocol = protocol;
        self
    }

    /// The gRPC status code of this denial: derived from the HTTP status
    /// ([`GrpcCode::for_http`]), so 16 `UNAUTHENTICATED` for a token problem,
    /// 7 `PERMISSION_DENIED` for scope, contract and step-up, 14 `UNAVAILABLE`
    /// when the keys are unavailable.
    pub fn grpc_code(&self) -> GrpcCode {
        GrpcCode::for_http(self.status, self.error)
    }

    /// The `grpc-message`, before percent-encoding: `reason: description`.
    pub fn grpc_message(&self) -> String {
        format!("{}: {}", self.reason.as_str(), self.description)
    }

    /// The answer in the request's protocol: [`Denial::into_grpc_response`]
    /// for a gRPC request, [`Denial::into_http_response`] otherwise.
    pub fn into_response<B: DenialResponseBody>(self) -> Response<B> {
        if self.options.protocol == Protocol::Grpc {
            self.into_grpc_response()
        } else {
            self.into_http_response()
        }
    }

    /// The gRPC answer: HTTP 200, trailers-only (an empty body), with
    /// `content-type: application/grpc`, `grpc-status`, the percent-encoded
    /// `grpc-message`, `rampgate-reason`, and the challenge in
    /// `www-authenticate` (or, for unavailable keys, `grpc-retry-pushback-ms`
    /// instead, as the HTTP answer has `Retry-After` instead).
    pub fn into_grpc_response<B: DenialResponseBody>(self) -> Response<B> {
        let mut response = Response::new(B::empty());
        let code = self.grpc_code();
        let message = percent_encode_message(&self.grpc_message());
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        headers.insert("grpc-status", HeaderValue::from(code.as_i32()));
        // Percent-encoded: visible ASCII only, so this cannot fail.
        if let Ok(value) = HeaderValue::from_str(&message) {
            headers.insert("grpc-message", value);
        }
        headers.insert(
            GRPC_REASON_HEADER,
            HeaderValue::from_static(self.reason.as_str()),
        );
        match self.retry_after {
            Some(secs) => {
                headers.insert("grpc-retry-pushback-ms", HeaderValue::from(secs * 1000));
            }
            None if self.challenges() => self.add_challenges(headers),
            None => {}
        }
        // A refusal is an HTTP 200 over gRPC: no cache may keep it for a
        // request that another client sends without gRPC.
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // As over HTTP, the refusal travels with its answer.
        response.extensions_mut().insert(self);
        response
    }

    /// The HTTP answer: the status, the challenge (or `Retry-After`), and the
    /// JSON body (or the replacement [`DenialBody`]).
    pub fn into_http_response<B: DenialResponseBody>(self) -> Response<B> {
        let (content_type, body) = match &self.options.body {
            Some(render) => (render.0)(&self),
            None => (
                HeaderValue::from_static("application/json"),
                self.json_body(),
            ),
        };
        let mut response = Response::new(B::from_bytes(body));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        match self.retry_after {
            // A 503 says nothing about the token, so it carries no challenge
            // (RFC 6750 §3 defines it for 401 and 403): a client must not
            // discard a good token over it.
            Some(secs) => {
                headers.insert(RETRY_AFTER, HeaderValue::from(secs));
            }
            None if self.challenges() => self.add_challenges(headers),
            None => {}
        }
        headers.insert(CONTENT_TYPE, content_type);
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // The refusal travels with its answer, so that middleware around the
        // layers (a `TraceLayer`, the `AuditLayer`) reads the reason as a type.
        response.extensions_mut().insert(self);
        response
    }
}

/// `scheme params`, the scheme DPoP or Bearer.
fn challenge_value(dpop: bool, params: &[String]) -> HeaderValue {
    let scheme = if dpop { "DPoP" } else { "Bearer" };
    let value = if params.is_empty() {
        scheme.to_owned()
    } else {
        format!("{scheme} {}", params.join(", "))
    };
    // Every part was sanitised to visible ASCII, so this cannot fail.
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static(scheme))
}

/// The description: what was refused and why, safe to show to the client (it
/// never contains the token).
impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.description)
    }
}

impl std::error::Error for Denial {}

/// Marker the layer leaves on a request that had no token, on a route where a
/// token is optional. Carries the challenge to answer with when a handler
/// requires a principal after all.
#[derive(Debug, Clone)]
pub struct Anonymous(pub Denial);

/// Keeps only the characters RFC 6750 §3 allows in a quoted challenge value
/// (%x20-21 / %x23-5B / %x5D-7E): no `"`, no `\`, no control or non-ASCII bytes.
fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\x20'..='\x21' | '\x23'..='\x5b' | '\x5d'..='\x7e' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binding::{BindingFailure, DpopFailure};
    use crate::reason::{RevokedBy, StepUpReason};

    fn challenges_of(response: &Response<Bytes>) -> Vec<&str> {
        response
            .headers()
            .get_all(WWW_AUTHENTICATE)
            .iter()
            .map(|v| v.to_str().unwrap())
            .collect()
    }

    // conformance: 9449-11
    #[test]
    fn dpop_challenges_carry_algs_and_the_error_where_the_client_looks() {
        let offered = DenialOptions::default()
            .realm("api")
            .dpop(["ES256", "EdDSA"]);
        // A bearer token refused: the error on Bearer, DPoP offered beside it.
        let bearer: Response<Bytes> = offered
            .deny(&ErrorKind::TokenExpired.into())
            .into_response();
        let expired = "error_description=\"token expired\"";
        assert_eq!(
            challenges_of(&bearer),
            [
                format!("Bearer realm=\"api\", error=\"invalid_token\", {expired}").as_str(),
                "DPoP realm=\"api\", algs=\"ES256 EdDSA\"",
            ]
        );
        // The same refusal of a DPoP request: the error on DPoP, first.
        let dpop: Response<Bytes> = offered
            .clone()
            .dpop_presented()
            .deny(&ErrorKind::TokenExpired.into())
            .into_response();
        assert_eq!(
            challenges_of(&dpop),
            [
                format!(
                    "DPoP realm=\"api\", algs=\"ES256 EdDSA\", error=\"invalid_token\", {expired}"
                )
                .as_str(),
                "Bearer realm=\"api\"",
            ]
        );
        // A proof's failure is invalid_dpop_proof on DPoP, whatever the scheme.
        let proof = offered.deny(&DpopFailure::Htu.into());
        assert_eq!(proof.error(), Some(BearerError::InvalidDpopProof));
        assert!(
            proof.www_authenticate().to_str().unwrap().starts_with(
                "DPoP realm=\"api\", algs=\"ES256 EdDSA\", error=\"invalid_dpop_proof\""
            )
        );
        assert_eq!(proof.dpop_nonce(), None);
        // A binding failure of a DPoP request is invalid_token (RFC 9449 §7.1).
        let key = offered
            .clone()
            .dpop_presented()
            .deny(&BindingFailure::DpopKeyMismatch.into());
        assert_eq!(key.status(), 401);
        assert!(
            key.www_authenticate()
                .to_str()
                .unwrap()
                .starts_with("DPoP realm=\"api\", algs=\"ES256 EdDSA\", error=\"invalid_token\"")
        );
        // Without DPoP offered, nothing changes: one Bearer challenge.
        let plain: Response<Bytes> = DenialOptions::default()
            .deny(&ErrorKind::TokenExpired.into())
            .into_response();
        assert_eq!(challenges_of(&plain).len(), 1);
        assert!(challenges_of(&plain)[0].starts_with("Bearer error="));
    }

    // conformance: 9449-12
    #[test]
    fn a_nonce_refusal_carries_the_current_nonce_in_dpop_nonce() {
        let options = DenialOptions::default().dpop(["ES256"]).dpop_nonce("n-1");
        let denial = options.deny(&DpopFailure::NonceRequired.into());
        assert_eq!(denial.error(), Some(BearerError::UseDpopNonce));
        assert_eq!(denial.status(), 401);
        for protocol in [Protocol::Http, Protocol::Grpc] {
            let response: Response<Bytes> = denial.clone().in_protocol(protocol).into_response();
            assert_eq!(response.headers()[DPOP_NONCE], "n-1", "{protocol:?}");
            assert!(challenges_of(&response)[0].contains("error=\"use_dpop_nonce\""));
        }
        // Any other refusal sends no nonce.
        let other: Response<Bytes> = options.deny(&DpopFailure::Ath.into()).into_response();
        assert!(!other.headers().contains_key(DPOP_NONCE));
    }

    fn challenge(err: ErrorKind, options: &DenialOptions) -> String {
        let d = options.deny(&err.into());
        d.www_authenticate().to_str().unwrap().to_owned()
    }

    #[test]
    fn missing_token_has_no_error_attribute() {
        // conformance: 6750-8
        let o = DenialOptions::default().realm("api");
        assert_eq!(
            challenge(ErrorKind::TokenMissing, &o),
            r#"Bearer realm="api""#
        );
        assert_eq!(
            challenge(ErrorKind::TokenMissing, &DenialOptions::default()),
            "Bearer"
        );
    }

    #[test]
    fn invalid_token_challenge() {
        // conformance: 6750-9
        let o = DenialOptions::default()
            .realm("api")
            .resource_metadata("https://api.example/.well-known/oauth-protected-resource");
        assert_eq!(
            challenge(ErrorKind::TokenExpired, &o),
            r#"Bearer realm="api", error="invalid_token", error_description="token expired", resource_metadata="https://api.example/.well-known/oauth-protected-resource""#
        );
    }

    fn step_up(reasons: &[StepUpReason], acr: Option<&str>, max_age: Option<u64>) -> ErrorKind {
        ErrorKind::StepUpRequired(Box::new(crate::StepUpFailure::new(
            reasons.to_vec(),
            acr.map(str::to_owned),
            max_age,
        )))
    }

    #[test]
    fn step_up_challenge_follows_rfc_9470() {
        // conformance: 9470-1, 9470-2, 9470-3, 9470-4
        let o = DenialOptions::default();
        let kind = step_up(
            &[StepUpReason::AcrInsufficient, StepUpReason::AuthTimeStale],
            Some("mfa hwk"),
            Some(300),
        );
        let d = o.deny(&kind.into());
        assert_eq!(d.status(), 401);
        assert_eq!(
            d.www_authenticate(),
            r#"Bearer error="insufficient_user_authentication", error_description="a stronger authentication level (acr) is required; a more recent authentication is required", acr_values="mfa hwk", max_age="300""#
        );
        let body: serde_json::Value = serde_json::from_slice(&d.json_body()).unwrap();
        assert_eq!(body["reason"], "acr_insufficient");
        assert_eq!(body["acr_values"], "mfa hwk");
        assert_eq!(body["max_age"], 300);
    }

    #[test]
    fn insufficient_scope_is_403_with_scope() {
        // conformance: 6750-10
        let o = DenialOptions::default().realm("api");
        assert_eq!(
            challenge(
                ErrorKind::InsufficientScope {
                    required: "profile:read".into(),
                    one_of: false,
                },
                &o
            ),
            r#"Bearer realm="api", error="insufficient_scope", error_description="insufficient scope: the route requires profile:read", scope="profile:read""#
        );
    }

    #[test]
    fn malformed_request_is_400_invalid_request() {
        let d = DenialOptions::default()
            .deny(&ErrorKind::RequestMalformed("two Authorization headers").into());
        assert_eq!(d.status(), 400);
        assert_eq!(d.error(), Some(BearerError::InvalidRequest));
        let r: Response<Bytes> = d.into_response();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
    }

    #[test]
    fn every_request_reason_renders_a_valid_challenge() {
        // conformance: 6750-7, 9068-7
        let kinds = [
            ErrorKind::TokenMissing,
            ErrorKind::RequestMalformed("x"),
            ErrorKind::TokenTooLarge { max: 8192 },
            ErrorKind::TokenMalformed("header is not valid JSON"),
            ErrorKind::AlgNotAllowed("unknown algorithm"),
            ErrorKind::KidUnknown,
            ErrorKind::KidMissing,
            ErrorKind::SignatureInvalid,
            ErrorKind::TokenExpired,
            ErrorKind::TokenNotYetValid,
            ErrorKind::TokenIssuedInFuture,
            ErrorKind::TokenLifetimeExceeded { max_secs: 86_400 },
            ErrorKind::IssuerUnknown,
            ErrorKind::AudienceMismatch,
            ErrorKind::ClaimMissing("exp".into()),
            ErrorKind::ClaimInvalid {
                claim: "exp".into(),
                expected: "a NumericDate",
            },
            ErrorKind::TypMismatch,
            ErrorKind::IdTokenClaims("nonce"),
            ErrorKind::CritUnsupported,
            ErrorKind::NestedTokenUnsupported,
            ErrorKind::TokenBound,
            ErrorKind::DpopProof(DpopFailure::Missing),
            ErrorKind::DpopProof(DpopFailure::Multiple),
            ErrorKind::DpopProof(DpopFailure::Malformed("no jti")),
            ErrorKind::DpopProof(DpopFailure::Typ),
            ErrorKind::DpopProof(DpopFailure::Alg),
            ErrorKind::DpopProof(DpopFailure::Jwk("a private key")),
            ErrorKind::DpopProof(DpopFailure::Signature),
            ErrorKind::DpopProof(DpopFailure::Htm),
            ErrorKind::DpopProof(DpopFailure::Htu),
            ErrorKind::DpopProof(DpopFailure::Iat),
            ErrorKind::DpopProof(DpopFailure::Replayed),
            ErrorKind::DpopProof(DpopFailure::Ath),
            ErrorKind::DpopProof(DpopFailure::NonceRequired),
            ErrorKind::DpopProof(DpopFailure::ReplayCacheFull),
            ErrorKind::Binding(BindingFailure::DpopKeyMismatch),
            ErrorKind::Binding(BindingFailure::DpopTokenUnbound),
            ErrorKind::Binding(BindingFailure::CertificateMissing),
            ErrorKind::Binding(BindingFailure::CertificateMismatch),
            ErrorKind::Binding(BindingFailure::SenderConstraintRequired),
            ErrorKind::KeysUnavailable,
            ErrorKind::InsufficientScope {
                required: "a b".into(),
                one_of: true,
            },
            ErrorKind::ContractDenied {
                reason: Reason::ScopeBeyondStage,
                required: "a".into(),
                stage: None,
                stage_scopes: None,
            },
            ErrorKind::ContractDenied {
                reason: Reason::ConsumerUnknown,
                required: "a".into(),
                stage: None,
                stage_scopes: None,
            },
            ErrorKind::ContractDenied {
                reason: Reason::RouteUnknown,
                required: String::new(),
                stage: None,
                stage_scopes: None,
            },
            ErrorKind::ContractDenied {
                reason: Reason::IssuerNotInContract,
                required: "a".into(),
                stage: None,
                stage_scopes: None,
            },
            ErrorKind::SeparationOfDuties {
                separation: "four-eyes".into(),
                held: "a b".into(),
            },
            step_up(&[StepUpReason::AcrInsufficient], Some("mfa"), None),
            step_up(&[StepUpReason::AmrMissing], None, None),
            step_up(&[StepUpReason::AuthTimeMissing], None, Some(300)),
            step_up(&[StepUpReason::AuthTimeStale], None, Some(300)),
            ErrorKind::TokenRevoked(RevokedBy::Jti),
            ErrorKind::TokenRevoked(RevokedBy::Sub),
            ErrorKind::TokenRevoked(RevokedBy::Consumer),
            ErrorKind::TokenRevoked(RevokedBy::Kid),
            ErrorKind::RevocationUnavailable,
            ErrorKind::AuditUnavailable,
            ErrorKind::GrpcRequired,
            ErrorKind::LayersMisconfigured("JwtLayer missing"),
        ];
        // Every request reason, each once, in the order the enum declares them.
        let reasons: Vec<Reason> = kinds.iter().map(ErrorKind::reason).collect();
        assert_eq!(reasons, Reason::REQUEST);
        for kind in kinds {
            let d = DenialOptions::default()
                .realm("r")
                .deny(&kind.clone().into());
            let header = d.www_authenticate().to_str().unwrap().to_owned();
            assert!(header.starts_with("Bearer"));
            for param in ["realm=", "error=", "error_description="] {
                assert!(header.matches(param).count() <= 1, "{header}");
            }
            let inner = header.trim_start_matches("Bearer ");
            assert!(!inner.contains('\\'));
            assert_eq!(inner.matches('"').count() % 2, 0);
            let expected_status = match kind {
                ErrorKind::RequestMalformed(_) => 400,
                ErrorKind::InsufficientScope { .. }
                | ErrorKind::ContractDenied { .. }
                | ErrorKind::SeparationOfDuties { .. } => 403,
                ErrorKind::KeysUnavailable
                | ErrorKind::RevocationUnavailable
                | ErrorKind::AuditUnavailable
                | ErrorKind::DpopProof(DpopFailure::ReplayCacheFull) => 503,
                ErrorKind::GrpcRequired => 415,
                ErrorKind::LayersMisconfigured(_) => 500,
                _ => 401,
            };
            assert_eq!(d.status(), expected_status);
            // Every refusal, in either protocol, is never cached; only the
            // token's and the request's faults carry a challenge.
            let challenges = matches!(expected_status, 400 | 401 | 403);
            for protocol in [Protocol::Http, Protocol::Grpc] {
                let r: Response<Bytes> = d.clone().in_protocol(protocol).into_response();
                assert_eq!(
                    r.headers()[CACHE_CONTROL],
                    "no-store",
                    "{kind:?} {protocol:?}"
                );
                assert_eq!(
                    r.headers().contains_key(WWW_AUTHENTICATE),
                    challenges,
                    "{kind:?}"
                );
            }
            if !matches!(
                kind,
                ErrorKind::TokenMissing
                    | ErrorKind::DpopProof(_)
                    | ErrorKind::RequestMalformed(_)
                    | ErrorKind::InsufficientScope { .. }
                    | ErrorKind::ContractDenied { .. }
                    | ErrorKind::SeparationOfDuties { .. }
                    | ErrorKind::StepUpRequired(_)
                    | ErrorKind::KeysUnavailable
                    | ErrorKind::RevocationUnavailable
                    | ErrorKind::AuditUnavailable
                    | ErrorKind::GrpcRequired
                    | ErrorKind::LayersMisconfigured(_)
            ) {
                assert_eq!(d.error(), Some(BearerError::InvalidToken), "{kind:?}");
            }
            let body: serde_json::Value = serde_json::from_slice(&d.json_body()).unwrap();
            assert_eq!(body["reason"], kind.code());
        }
    }

    #[test]
    fn unavailable_keys_are_the_services_fault_503_with_retry_after() {
        for error in [
            Error::from(ErrorKind::KeysUnavailable),
            Error::jwks("GET https://internal/jwks: HTTP 500"),
        ] {
            let d = DenialOptions::default().realm("api").deny(&error);
            assert_eq!(d.status(), 503);
            assert_eq!(d.reason(), Reason::KeysUnavailable);
            assert_eq!(d.error(), None, "no RFC 6750 error code fits a 503");
            assert_eq!(d.retry_after(), Some(RETRY_AFTER_SECS));
            let body: serde_json::Value = serde_json::from_slice(&d.json_body()).unwrap();
            assert_eq!(body["reason"], "keys_unavailable");
            assert!(body.get("error").is_none(), "{body}");
            let r: Response<Bytes> = d.into_response();
            assert_eq!(r.status(), 503);
            assert_eq!(r.headers()[RETRY_AFTER], RETRY_AFTER_SECS.to_string());
            assert!(!r.headers().contains_key(WWW_AUTHENTICATE));
            assert_eq!(r.headers()[CACHE_CONTROL], "no-store");
        }
        // A bad token is still the client's fault: 401, no Retry-After.
        let r: Response<Bytes> = DenialOptions::default()
            .deny(&ErrorKind::KidUnknown.into())
            .into_response();
        assert_eq!(r.status(), 401);
        assert!(!r.headers().contains_key(RETRY_AFTER));
        assert!(r.headers().contains_key(WWW_AUTHENTICATE));
    }

    #[test]
    fn a_grpc_denial_is_a_trailers_only_answer() {
        let mut request = HeaderMap::new();
        request.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
        let options = DenialOptions::default().realm("api").for_request(&request);
        let kind = ErrorKind::InsufficientScope {
            required: "greet".into(),
            one_of: false,
        };
        let r: Response<Bytes> = options.deny(&kind.into()).into_response();
        assert_eq!(r.status(), 200);
        assert!(r.body().is_empty());
        let h = r.headers();
        assert_eq!(h[CONTENT_TYPE], "application/grpc");
        assert_eq!(h["grpc-status"], "7");
        assert_eq!(
            h["grpc-message"],
            "scope_insufficient: insufficient scope: the route requires greet"
        );
        assert_eq!(h[GRPC_REASON_HEADER], "scope_insufficient");
        assert_eq!(
            h[WWW_AUTHENTICATE],
            r#"Bearer realm="api", error="insufficient_scope", error_description="insufficient scope: the route requires greet", scope="greet""#
        );
        // Step-up is a 401 over HTTP, a permission over gRPC.
        let step_up = step_up(&[StepUpReason::AcrInsufficient], Some("mfa"), None);
        let d = options.deny(&step_up.into());
        assert_eq!(d.grpc_code(), GrpcCode::PermissionDenied);
        let r: Response<Bytes> = d.into_response();
        assert_eq!(r.headers()["grpc-status"], "7");
        assert!(
            r.headers()[WWW_AUTHENTICATE]
                .to_str()
                .unwrap()
                .contains(r#"acr_values="mfa""#)
        );
        // Unavailable keys: retry later, no challenge.
        let r: Response<Bytes> = options
            .deny(&ErrorKind::KeysUnavailable.into())
            .into_response();
        assert_eq!(r.headers()["grpc-status"], "14");
        assert_eq!(r.headers()["grpc-retry-pushback-ms"], "5000");
        assert!(!r.headers().contains_key(WWW_AUTHENTICATE));
        // Not gRPC: the HTTP answer, as before.
        let r: Response<Bytes> = DenialOptions::default()
            .for_request(&HeaderMap::new())
            .deny(&ErrorKind::TokenMissing.into())
            .into_response();
        assert_eq!(r.status(), 401);
    }

    #[test]
    fn internal_errors_are_not_described_to_clients() {
        let d = DenialOptions::default().deny(&Error::jwks("GET https://internal/jwks: HTTP 500"));
        assert_eq!(d.reason(), Reason::KeysUnavailable);
        assert!(!d.description().contains("internal"));
    }

    #[test]
    fn quotes_and_backslashes_are_sanitised() {
        let o = DenialOptions::default().realm("a\"b\\c\u{e9}");
        assert_eq!(
            challenge(ErrorKind::TokenMissing, &o),
            r#"Bearer realm="a?b?c?""#
        );
    }
}
