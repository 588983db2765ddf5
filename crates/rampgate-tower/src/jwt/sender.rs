//! What a request presents besides its token, for a sender-constrained one:
//! the client certificate of its connection, and for `Authorization: DPoP`
//! its DPoP proof (RFC 9449 §7.1), checked against the request.

use super::token::Found;
use http::header::HOST;
use http::uri::Authority;
use http::{Extensions, HeaderValue, Request};
use rampgate_core::binding::{ClientCertificate, DpopFailure, Presentation, TlsConnection};
use rampgate_core::dpop::{DpopChecker, DpopProof, DpopRequest};
use rampgate_core::{DenialOptions, Error, ErrorKind};
use std::sync::Arc;

/// The header of a DPoP proof (RFC 9449 §4.1).
const DPOP: &str = "dpop";

/// How `JwtLayer` checks DPoP proofs: not at all without a checker.
#[derive(Debug, Clone, Default)]
pub(crate) struct DpopConfig {
    pub(crate) checker: Option<DpopChecker>,
    /// The service's URL as clients reach it (`https://api.example.com`,
    /// with a path prefix when a proxy adds one), without a trailing `/`:
    /// the `htu` of a proof is this and the request's path.
    pub(crate) public_url: Option<Arc<str>>,
}

/// A DPoP proof that passed every check but the replay check, which waits
/// until the token it goes with is verified (so that only the proofs of
/// valid tokens take room in the replay cache).
pub(crate) struct Pending {
    checker: DpopChecker,
    proof: DpopProof,
}

impl Pending {
    /// Records the proof's `jti`, refusing a replay; the `DPoP-Nonce` the
    /// answer must carry when the proof's nonce is no longer the current one.
    pub(crate) fn record(self) -> Result<Option<HeaderValue>, Error> {
        self.checker.record(&self.proof)?;
        Ok(self
            .proof
            .needs_fresh_nonce()
            .then(|| self.checker.nonce())
            .flatten()
            .and_then(|nonce| HeaderValue::from_str(&nonce).ok()))
    }
}

/// What the request presented besides its token: the client certificate a
/// TLS acceptor (or a layer trusting a TLS terminator) put in its extensions.
pub(crate) fn presentation(extensions: &Extensions) -> Presentation {
    Presentation::bearer().certificate(extensions.get::<ClientCertificate>().copied())
}

/// [`presentation`], and for a token sent as `Authorization: DPoP` the key of
/// its proof, which must be the one `DPoP` header of the request and match
/// its method, URL and token.
pub(crate) fn presented<B>(
    req: &Request<B>,
    found: &Found<'_>,
    dpop: &DpopConfig,
) -> Result<(Presentation, Option<Pending>), Error> {
    let presentation = presentation(req.extensions());
    // `found.dpop` only when the layer checks DPoP proofs.
    let (true, Some(checker)) = (found.dpop, &dpop.checker) else {
        return Ok((presentation, None));
    };
    let mut proofs = req.headers().get_all(DPOP).iter();
    let proof = match (proofs.next(), proofs.next()) {
        (None, _) => return Err(DpopFailure::Missing.into()),
        (Some(_), Some(_)) => return Err(DpopFailure::Multiple.into()),
        (Some(proof), None) => proof
            .to_str()
            .map_err(|_| DpopFailure::Malformed("the DPoP header is not visible ASCII"))?,
    };
    let htu = dpop.htu(req)?;
    let request = DpopRequest::new(req.method().as_str(), &htu, &found.token);
    let proof = checker.verify(proof, &request)?;
    let presentation = proof.presented(presentation);
    let pending = Pending {
        checker: checker.clone(),
        proof,
    };
    Ok((presentation, Some(pending)))
}

impl DpopConfig {
    /// The request's URL as its proof must name it (`htu`), without query:
    /// the configured public URL and the path, or else the request's own
    /// scheme (`https` over TLS terminated here) and host.
    ///
    /// A path with dot segments (`..`, `%2e`) is refused: the proof would be
    /// compared with the path they resolve to, the router sees another one.
    /// A `Host` that is not `host[:port]` is a malformed request.
    fn htu<B>(&self, req: &Request<B>) -> Result<String, Error> {
        // A nested axum router sees its own part of the path: the client
        // signed the whole one.
        #[cfg(feature = "axum")]
        let uri = req
            .extensions()
            .get::<axum::extract::OriginalUri>()
            .map_or(req.uri(), |original| &original.0);
        #[cfg(not(feature = "axum"))]
        let uri = req.uri();
        let path = uri.path();
        if path.split('/').any(is_dot_segment) {
            return Err(DpopFailure::Htu.into());
        }
        if let Some(base) = &self.public_url {
            return Ok(format!("{base}{path}"));
        }
        let tls = req.extensions().get::<TlsConnection>().is_some();
        let scheme = uri
            .scheme_str()
            .unwrap_or(if tls { "https" } else { "http" });
        let host = match uri.authority() {
            Some(authority) => authority.as_str(),
            None => req
                .headers()
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .unwrap_or_default(),
        };
        // `host[:port]` only: no userinfo, nothing that would end the URL early.
        if host.parse::<Authority>().is_err() || host.contains('@') {
            return Err(ErrorKind::RequestMalformed(
                "a DPoP request needs a Host header naming host[:port]",
            )
            .into());
        }
        Ok(format!("{scheme}://{host}{path}"))
    }
}

/// A `.` or `..` path segment, plain or percent-encoded.
fn is_dot_segment(segment: &str) -> bool {
    let decoded = segment.to_ascii_lowercase().replace("%2e", ".");
    decoded == "." || decoded == ".."
}

impl DpopConfig {
    /// The public URL, checked: an absolute `http(s)` URL naming a host,
    /// without userinfo, query or fragment; without a trailing `/`.
    pub(crate) fn public_url(url: &str) -> Option<Arc<str>> {
        let (scheme, rest) = url.split_once("://")?;
        let host = rest.split('/').next().unwrap_or_default();
        let plain = !url.contains(['?', '#', '@']) && host.parse::<Authority>().is_ok();
        (matches!(scheme, "http" | "https") && plain).then(|| Arc::from(url.trim_end_matches('/')))
    }
}

/// `options` for a refusal with `error`: a `use_dpop_nonce` refusal sends
/// the current nonce.
pub(crate) fn denial_options(
    options: DenialOptions,
    error: &Error,
    dpop: &DpopConfig,
) -> DenialOptions {
    // The nonce (an HMAC) only for the refusal that sends it.
    if !matches!(
        error.kind(),
        ErrorKind::DpopProof(DpopFailure::NonceRequired)
    ) {
        return options;
    }
    match dpop.checker.as_ref().and_then(DpopChecker::nonce) {
        Some(nonce) => options.dpop_nonce(nonce),
        None => options,
    }
}

#[cfg(test)]
mod tests;
