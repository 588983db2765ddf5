//! What a request presents besides its token, for a sender-constrained one:
//! the client certificate of its connection, and for `Authorization: DPoP`
//! its DPoP proof (RFC 9449 §7.1), checked against the request.

use super::token::Found;
use http::header::HOST;
use http::{Extensions, HeaderValue, Request};
use rampgate_core::binding::{ClientCertificate, DpopFailure, Presentation};
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
    let htu = dpop.htu(req);
    let request = DpopRequest::new(req.method().as_str(), &htu, &found.token);
    let proof = checker.verify(proof, &request)?;
    let presentation = presentation.dpop(proof.thumbprint());
    let pending = Pending {
        checker: checker.clone(),
        proof,
    };
    Ok((presentation, Some(pending)))
}

impl DpopConfig {
    /// The request's URL as its proof must name it (`htu`), without query:
    /// the configured public URL and the path, or else the request's own
    /// scheme and `Host`.
    fn htu<B>(&self, req: &Request<B>) -> String {
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
        if let Some(base) = &self.public_url {
            return format!("{base}{path}");
        }
        let scheme = uri.scheme_str().unwrap_or("http");
        let host = uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| req.headers().get(HOST).and_then(|h| h.to_str().ok()))
            .unwrap_or_default();
        format!("{scheme}://{host}{path}")
    }
}

/// `options` for a refusal with `error`: a `use_dpop_nonce` refusal sends
/// the current nonce.
pub(crate) fn denial_options(
    options: DenialOptions,
    error: &Error,
    dpop: &DpopConfig,
) -> DenialOptions {
    match (
        error.kind(),
        dpop.checker.as_ref().and_then(DpopChecker::nonce),
    ) {
        (ErrorKind::DpopProof(DpopFailure::NonceRequired), Some(nonce)) => {
            options.dpop_nonce(nonce)
        }
        _ => options,
    }
}

#[cfg(test)]
mod tests;
