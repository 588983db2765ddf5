//! Finding the token in a request (RFC 6750 §2).

use super::TokenSources;
use http::Request;
use http::header::{AUTHORIZATION, COOKIE};
use rampgate_core::{Error, ErrorKind};
use std::borrow::Cow;

#[derive(Debug)]
pub(crate) struct Found<'r> {
    pub(crate) token: Cow<'r, str>,
    /// Sent in the query: the answer must carry `Cache-Control: private`.
    pub(crate) from_query: bool,
    /// Sent as `Authorization: DPoP` (RFC 9449 §7.1): it goes with a proof.
    pub(crate) dpop: bool,
}

impl Found<'_> {
    pub(crate) fn into_owned(self) -> Found<'static> {
        Found {
            token: Cow::Owned(self.token.into_owned()),
            from_query: self.from_query,
            dpop: self.dpop,
        }
    }

    fn other(token: Cow<'_, str>, from_query: bool) -> Found<'_> {
        Found {
            token,
            from_query,
            dpop: false,
        }
    }
}

/// The request's token, `None` when it has none, or an error for a malformed
/// request (two `Authorization` headers, a token sent by two methods). The
/// `DPoP` scheme is one only when `dpop` (the layer accepts DPoP proofs).
pub(crate) fn find<'r, B>(
    req: &'r Request<B>,
    sources: &TokenSources,
    dpop: bool,
) -> Result<Option<Found<'r>>, Error> {
    let from_header = authorization(req, dpop)?;
    let from_query = match &sources.query {
        Some(param) => query_param(req.uri().query().unwrap_or(""), param)?,
        None => None,
    };
    match (from_header, from_query) {
        (Some(_), Some(_)) => Err(malformed("the token was sent by more than one method")),
        (Some((token, dpop)), None) => Ok(Some(Found {
            token: Cow::Borrowed(token),
            from_query: false,
            dpop,
        })),
        (None, Some(token)) => {
            check_b64token(&token)?;
            Ok(Some(Found::other(token, true)))
        }
        (None, None) => {
            if let Some(name) = &sources.header {
                let mut values = req.headers().get_all(name).iter();
                if let Some(value) = values.next() {
                    if values.next().is_some() {
                        return Err(malformed("more than one token header"));
                    }
                    let token = value
                        .to_str()
                        .map_err(|_| {
                            ErrorKind::TokenMalformed("the token header is not visible ASCII")
                        })?
                        .trim();
                    return Ok(Some(Found::other(Cow::Borrowed(token), false)));
                }
            }
            if let Some(name) = &sources.cookie
                && let Some(token) = cookie(req, name)
            {
                return Ok(Some(Found::other(Cow::Borrowed(token), false)));
            }
            Ok(None)
        }
    }
}

fn malformed(why: &'static str) -> Error {
    ErrorKind::RequestMalformed(why).into()
}

/// The token of a single `Authorization: Bearer` header, or `DPoP` when
/// `dpop` (schemes matched without regard to case), and whether it is DPoP.
/// Other schemes are not ours and count as no token.
fn authorization<B>(req: &Request<B>, dpop: bool) -> Result<Option<(&str, bool)>, Error> {
    authorization_of(
        req.headers()
            .get_all(AUTHORIZATION)
            .iter()
            .map(|v| v.to_str().ok()),
        dpop,
    )
}

/// The token of the `Authorization` values `values` (each `None` when it is
/// not visible ASCII), by the rules of [`authorization`] without DPoP: for
/// HTTP headers and gRPC metadata alike.
#[cfg(feature = "tonic")]
pub(crate) fn bearer_of<'v>(
    values: impl Iterator<Item = Option<&'v str>>,
) -> Result<Option<&'v str>, Error> {
    Ok(authorization_of(values, false)?.map(|(token, _)| token))
}

/// The rules of [`authorization`] on the header's values.
fn authorization_of<'v>(
    mut values: impl Iterator<Item = Option<&'v str>>,
    dpop: bool,
) -> Result<Option<(&'v str, bool)>, Error> {
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(malformed("more than one Authorization header"));
    }
    let value = value.ok_or_else(|| malformed("the Authorization header is not visible ASCII"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    let is_dpop = dpop && scheme.eq_ignore_ascii_case("dpop");
    if !is_dpop && !scheme.eq_ignore_ascii_case("bearer") {
        return Ok(None);
    }
    let token = rest.trim_matches(' ');
    if token.is_empty() {
        // The scheme without its credentials is a malformed request (RFC 6750
        // §3.1, RFC 9449 §7.1).
        return Err(malformed(if is_dpop {
            "the DPoP scheme without a token"
        } else {
            "the Bearer scheme without a token"
        }));
    }
    Ok(Some((token, is_dpop)))
}

/// The bytes RFC 6750 §2.1 allows in a `b64token` before its trailing `=`s.
static B64TOKEN: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] =
            c.is_ascii_alphanumeric() || matches!(c, b'-' | b'.' | b'_' | b'~' | b'+' | b'/');
        b += 1;
    }
    table
};

/// The error to answer for a token the verifier refused with `error`: the
/// RFC 6750 syntax error when the token has characters a `b64token` cannot
/// have, else `error`.
///
/// The syntax is checked only once a token is refused: every token the
/// verifier accepts is a JWS compact serialization (base64url and dots, a
/// subset of `b64token`) or byte for byte one it accepted before, so checking
/// every request's token up front (the whole token, on every request) would
/// only repeat the parser's work.
pub(crate) fn refusal(token: &str, error: Error) -> Error {
    match check_b64token(token) {
        Err(syntax) => syntax,
        Ok(()) => error,
    }
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn check_b64token(token: &str) -> Result<(), Error> {
    let body = token.trim_end_matches('=');
    // A table lookup per byte: this runs on every request, over the whole token.
    let ok = !body.is_empty() && body.bytes().all(|b| B64TOKEN[usize::from(b)]);
    if ok {
        Ok(())
    } else {
        Err(ErrorKind::TokenMalformed("the token has characters a bearer token cannot have").into())
    }
}

fn query_param<'q>(query: &'q str, param: &str) -> Result<Option<Cow<'q, str>>, Error> {
    let mut found = None;
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if name == param {
            if found.is_some() {
                return Err(malformed("the token query parameter is repeated"));
            }
            found = Some(percent_decode(value)?);
        }
    }
    Ok(found)
}

fn percent_decode(value: &str) -> Result<Cow<'_, str>, Error> {
    if !value.contains(['%', '+']) {
        return Ok(Cow::Borrowed(value));
    }
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| malformed("bad percent-encoding in the query"))?;
                out.push(hex);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out)
        .map(Cow::Owned)
        .map_err(|_| malformed("bad percent-encoding in the query"))
}

/// The first value of the cookie `name`.
///
/// The same name can come several times: cookies set for a parent domain (by
/// any sibling subdomain) or for another path are sent too. Refusing the
/// request would let a sibling subdomain lock users out, so the first one is
/// used: user agents list the cookie with the longest path first, then the one
/// created first (RFC 6265 §5.4, step 2), usually the application's own. A
/// sibling can still come first with a longer path or an older cookie; only
/// the `__Host-` name prefix keeps it out. The conflict is logged with the name
/// and the count, never a value.
fn cookie<'r, B>(req: &'r Request<B>, name: &str) -> Option<&'r str> {
    let mut values = req
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|header| header.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'));
    let first = values.next()?;
    let others = values.count();
    if others > 0 {
        tracing::warn!(
            cookie = name,
            occurrences = others + 1,
            "the token cookie was sent more than once (set for another path or a parent \
             domain, possibly by another subdomain): using the first, as RFC 6265 orders them"
        );
    }
    Some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(headers: &[(&str, &str)], uri: &str) -> Request<()> {
        let mut b = Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    fn all_sources() -> TokenSources {
        TokenSources {
            header: Some(http::HeaderName::from_static("x-access-token")),
            cookie: Some("at".into()),
            query: Some("access_token".into()),
        }
    }

    fn code(r: &Request<()>, s: &TokenSources, dpop: bool) -> &'static str {
        find(r, s, dpop).unwrap_err().code()
    }

    #[test]
    fn bearer_scheme_is_case_insensitive() {
        // conformance: 6750-1
        for scheme in ["Bearer", "bearer", "BEARER"] {
            let r = req(&[("authorization", &format!("{scheme} abc.def.ghi"))], "/");
            let found = find(&r, &TokenSources::default(), false).unwrap().unwrap();
            assert_eq!(found.token, "abc.def.ghi");
        }
    }

    #[test]
    fn other_schemes_are_no_token() {
        let r = req(&[("authorization", "Basic dXNlcjpwYXNz")], "/");
        assert!(find(&r, &TokenSources::default(), false).unwrap().is_none());
        // DPoP is a scheme only for a layer that checks DPoP proofs.
        let r = req(&[("authorization", "DPoP a.b.c")], "/");
        assert!(find(&r, &TokenSources::default(), false).unwrap().is_none());
    }

    #[test]
    fn the_dpop_scheme_is_found_when_dpop_is_on() {
        // conformance: 9449-9
        for scheme in ["DPoP", "dpop", "DPOP"] {
            let r = req(&[("authorization", &format!("{scheme} abc.def.ghi"))], "/");
            let found = find(&r, &TokenSources::default(), true).unwrap().unwrap();
            assert_eq!(found.token, "abc.def.ghi");
            assert!(found.dpop);
        }
        let r = req(&[("authorization", "Bearer abc.def.ghi")], "/");
        assert!(
            !find(&r, &TokenSources::default(), true)
                .unwrap()
                .unwrap()
                .dpop
        );
        let r = req(&[("authorization", "DPoP ")], "/");
        assert_eq!(
            code(&r, &TokenSources::default(), true),
            "request_malformed"
        );
    }

    #[test]
    fn two_authorization_headers_are_malformed() {
        let r = req(
            &[
                ("authorization", "Bearer a.b.c"),
                ("authorization", "Bearer d.e.f"),
            ],
            "/",
        );
        assert_eq!(
            code(&r, &TokenSources::default(), false),
            "request_malformed"
        );
    }

    #[test]
    fn header_and_query_token_is_malformed() {
        // conformance: 6750-4
        let r = req(&[("authorization", "Bearer a.b.c")], "/?access_token=a.b.c");
        assert_eq!(code(&r, &all_sources(), false), "request_malformed");
    }

    #[test]
    fn query_token_only_when_enabled() {
        let r = req(&[], "/x?a=1&access_token=a.b.c");
        assert!(find(&r, &TokenSources::default(), false).unwrap().is_none());
        let found = find(&r, &all_sources(), false).unwrap().unwrap();
        assert_eq!(found.token, "a.b.c");
        assert!(found.from_query);
        let r = req(&[], "/x?access_token=a&access_token=b");
        assert_eq!(code(&r, &all_sources(), false), "request_malformed");
    }

    #[test]
    fn custom_header_and_cookie() {
        let r = req(
            &[("x-access-token", "h.h.h"), ("cookie", "a=1; at=c.c.c")],
            "/",
        );
        assert_eq!(
            find(&r, &all_sources(), false).unwrap().unwrap().token,
            "h.h.h"
        );
        let r = req(&[("cookie", "a=1; at=c.c.c")], "/");
        assert_eq!(
            find(&r, &all_sources(), false).unwrap().unwrap().token,
            "c.c.c"
        );
        assert!(find(&r, &TokenSources::default(), false).unwrap().is_none());
    }

    #[test]
    fn a_repeated_cookie_uses_the_first_occurrence() {
        // A sibling subdomain can add a cookie of the same name for the parent
        // domain: refusing the request would lock the user out.
        let r = req(
            &[("cookie", "at=first.f.f; theme=dark; at=second.s.s")],
            "/",
        );
        let found = find(&r, &all_sources(), false).unwrap().unwrap();
        assert_eq!(found.token, "first.f.f");
        assert!(!found.from_query);
        // HTTP/2 may split the cookies over several headers; their order holds.
        let r = req(
            &[("cookie", "at=first.f.f"), ("cookie", "at=second.s.s")],
            "/",
        );
        assert_eq!(
            find(&r, &all_sources(), false).unwrap().unwrap().token,
            "first.f.f"
        );
    }

    #[test]
    fn a_repeated_cookie_is_logged_at_warn_without_the_tokens() {
        let r = req(
            &[("cookie", "at=tokA.aa.aa; at=tokB.bb.bb; at=tokC.cc.cc")],
            "/",
        );
        let (found, logs) = crate::tests::capture_logs(|| find(&r, &all_sources(), false));
        assert_eq!(found.unwrap().unwrap().token, "tokA.aa.aa");
        assert_eq!(logs.len(), 1, "{logs:?}");
        let line = &logs[0];
        assert!(line.starts_with("WARN"), "{line}");
        assert!(line.contains(r#"cookie="at""#), "{line}");
        assert!(line.contains("occurrences=3"), "{line}");
        for token in ["tokA", "tokB", "tokC"] {
            assert!(!line.contains(token), "a token in the log: {line}");
        }
        // A single cookie logs nothing.
        let r = req(&[("cookie", "at=first.f.f")], "/");
        let (_, logs) = crate::tests::capture_logs(|| find(&r, &all_sources(), false));
        assert!(logs.is_empty(), "{logs:?}");
    }

    #[test]
    fn bad_token_characters_are_malformed_tokens() {
        // The syntax is judged once the verifier refuses the token: whatever
        // the verifier said, a token with characters a b64token cannot have is
        // answered as that.
        let verifier_said = || Error::from(ErrorKind::SignatureInvalid);
        for bad in ["a.b.c d", "\"a.b.c\"", "a.b,c", "a=b.c"] {
            let r = req(&[("authorization", &format!("Bearer {bad}"))], "/");
            let found = find(&r, &TokenSources::default(), false).unwrap().unwrap();
            assert_eq!(found.token, bad);
            let error = refusal(&found.token, verifier_said());
            assert_eq!(error.code(), "token_malformed", "{bad}");
            assert!(
                error
                    .to_string()
                    .contains("characters a bearer token cannot have")
            );
        }
        // A well-formed token keeps the verifier's own reason.
        for good in ["a.b.c", "a-b_c.d~e+f/g", "abc=="] {
            assert_eq!(refusal(good, verifier_said()).code(), "signature_invalid");
        }
        let r = req(&[("authorization", "Bearer")], "/");
        assert_eq!(
            code(&r, &TokenSources::default(), false),
            "request_malformed"
        );
        let r = req(&[("authorization", "Bearer ")], "/");
        assert_eq!(
            code(&r, &TokenSources::default(), false),
            "request_malformed"
        );
    }
}
