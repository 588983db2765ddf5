//! Parsing of a compact JWS (`header.payload.signature`) before any key is chosen.
//!
//! Every step fails closed with a precise reason: size first (before any decoding),
//! then three segments, strict base64url (URL-safe alphabet, no padding, no stray
//! bits), UTF-8 JSON objects without duplicate members, and a header that names a
//! known algorithm and no extension rampgate does not understand.

use crate::alg::Algorithm;
use crate::error::{ErrorKind, Result};
use crate::json::parse_strict;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The protected header fields rampgate acts on.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<String>,
    pub(crate) typ: Option<String>,
    /// The `jwk` member, as it came: only a DPoP proof's key travels in its
    /// header (RFC 9449 §4.2). An access token's is never used.
    pub(crate) jwk: Option<Value>,
}

/// A compact JWS split and decoded, signature not yet verified.
#[derive(Debug)]
pub(crate) struct UnverifiedToken<'a> {
    pub(crate) header: Header,
    pub(crate) claims: Map<String, Value>,
    /// The JSON `claims` were parsed from.
    pub(crate) payload: Vec<u8>,
    /// `base64url(header) "." base64url(payload)`: the bytes the signature covers.
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
}

/// A compact JWS split and decoded; the payload is not interpreted.
#[derive(Debug)]
pub(crate) struct Jws<'a> {
    pub(crate) header: Header,
    pub(crate) alg: Algorithm,
    pub(crate) payload: Vec<u8>,
    pub(crate) signing_input: &'a [u8],
    pub(crate) signature: Vec<u8>,
}

/// Splits and decodes a compact JWS without trusting anything in it yet.
pub(crate) fn parse_jws(token: &str, max_len: usize) -> Result<Jws<'_>> {
    if token.len() > max_len {
        return Err(ErrorKind::TokenTooLarge { max: max_len }.into());
    }
    let (signing_input, signature_b64) = token.rsplit_once('.').ok_or(
        ErrorKind::TokenMalformed("expected three dot-separated segments"),
    )?;
    let (header_b64, payload_b64) =
        signing_input
            .split_once('.')
            .ok_or(ErrorKind::TokenMalformed(
                "expected three dot-separated segments",
            ))?;
    if payload_b64.contains('.') {
        return Err(ErrorKind::TokenMalformed(
            "expected three dot-separated segments (encrypted JWTs are not accepted)",
        )
        .into());
    }
    if header_b64.is_empty() || signature_b64.is_empty() {
        return Err(ErrorKind::TokenMalformed("empty segment").into());
    }

    let header_bytes = b64(header_b64, "header is not strict base64url")?;
    let header = match parse_strict(&header_bytes) {
        Ok(Value::Object(map)) => parse_header(map)?,
        Ok(_) => return Err(ErrorKind::TokenMalformed("header is not a JSON object").into()),
        Err(_) => {
            return Err(ErrorKind::TokenMalformed(
                "header is not valid JSON (or repeats a member name)",
            )
            .into());
        }
    };
    let payload = b64(payload_b64, "payload is not strict base64url")?;
    let signature = b64(signature_b64, "signature is not strict base64url")?;
    Ok(Jws {
        alg: header.alg,
        header,
        payload,
        signing_input: signing_input.as_bytes(),
        signature,
    })
}

/// Splits and decodes a JWT: a compact JWS whose payload is a JSON object.
pub(crate) fn parse(token: &str, max_len: usize) -> Result<UnverifiedToken<'_>> {
    let jws = parse_jws(token, max_len)?;
    let claims = match parse_strict(&jws.payload) {
        Ok(Value::Object(map)) => map,
        Ok(_) => return Err(ErrorKind::TokenMalformed("claims are not a JSON object").into()),
        Err(_) => {
            return Err(ErrorKind::TokenMalformed(
                "claims are not valid JSON (or repeat a member name)",
            )
            .into());
        }
    };
    Ok(UnverifiedToken {
        header: jws.header,
        claims,
        payload: jws.payload,
        signing_input: jws.signing_input,
        signature: jws.signature,
    })
}

fn b64(segment: &str, what: &'static str) -> Result<Vec<u8>> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| ErrorKind::TokenMalformed(what).into())
}

fn parse_header(mut map: Map<String, Value>) -> Result<Header> {
    let alg = match map.get("alg") {
        Some(Value::String(alg)) => alg.parse::<Algorithm>()?,
        Some(_) => return Err(ErrorKind::TokenMalformed("alg is not a string").into()),
        None => return Err(ErrorKind::TokenMalformed("header has no alg").into()),
    };
    // RFC 7515 §4.1.11: a `crit` naming anything we do not implement makes the
    // JWS invalid. rampgate implements no extension, so any `crit` is refused.
    if map.contains_key("crit") {
        return Err(ErrorKind::CritUnsupported.into());
    }
    // RFC 7797 unencoded payloads change what the signature covers.
    match map.get("b64") {
        None | Some(Value::Bool(true)) => {}
        Some(_) => {
            return Err(
                ErrorKind::TokenMalformed("unencoded payloads (b64) are not accepted").into(),
            );
        }
    }
    // RFC 8725 §3.3: every layer of a nested JWT must validate; rampgate does not
    // unwrap nested tokens, so it refuses them outright.
    if let Some(cty) = map.get("cty") {
        match cty {
            Value::String(c) if c.eq_ignore_ascii_case("jwt") => {
                return Err(ErrorKind::NestedTokenUnsupported.into());
            }
            Value::String(_) => {}
            _ => return Err(ErrorKind::TokenMalformed("cty is not a string").into()),
        }
    }
    let kid = optional_string(&mut map, "kid", "kid is not a string")?;
    let typ = optional_string(&mut map, "typ", "typ is not a string")?;
    // `jku`, `x5u`, `x5c` and `jwk` are deliberately ignored for access tokens:
    // their keys come only from the issuer's configured source (RFC 8725
    // §3.10), never from the token. A DPoP proof is signed by the key of its
    // own `jwk`, so that one is kept for the proof checker.
    let jwk = map.remove("jwk");
    Ok(Header { alg, kid, typ, jwk })
}

fn optional_string(
    map: &mut Map<String, Value>,
    name: &str,
    what: &'static str,
) -> Result<Option<String>> {
    match map.remove(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ErrorKind::TokenMalformed(what).into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str) -> String {
        format!("{}.{}.c2ln", enc(header), enc(payload))
    }

    fn code(token: &str) -> &'static str {
        parse(token, 8192).unwrap_err().code()
    }

    #[test]
    fn parses_a_well_formed_token() {
        let t = token(
            r#"{"alg":"ES256","kid":"k1","typ":"at+jwt"}"#,
            r#"{"sub":"a"}"#,
        );
        let parsed = parse(&t, 8192).unwrap();
        assert_eq!(parsed.header.alg, Algorithm::ES256);
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.claims["sub"], "a");
        assert_eq!(parsed.signature, b"sig");
    }

    #[test]
    fn size_is_checked_before_decoding() {
        let t = "x".repeat(9000);
        assert_eq!(code(&t), "token_too_large");
    }

    #[test]
    fn wrong_segment_counts_are_malformed() {
        // conformance: JWT-12
        assert_eq!(code("abc"), "token_malformed");
        assert_eq!(code("a.b"), "token_malformed");
        assert_eq!(code("a.b.c.d.e"), "token_malformed");
        assert_eq!(code("..sig"), "token_malformed");
        let t = token(r#"{"alg":"ES256"}"#, "{}");
        assert_eq!(
            code(&format!("{}.", &t[..t.rfind('.').unwrap()])),
            "token_malformed"
        );
    }

    #[test]
    fn base64_must_be_strict() {
        let h = enc(r#"{"alg":"ES256"}"#);
        let p = enc("{}");
        // padding
        assert_eq!(code(&format!("{h}=.{p}.c2ln")), "token_malformed");
        // standard alphabet
        assert_eq!(code(&format!("{h}.{p}.c2l+")), "token_malformed");
        // whitespace
        assert_eq!(code(&format!("{h} .{p}.c2ln")), "token_malformed");
        // non-canonical trailing bits: "c2lo" decodes to "sih", "c2m" has stray bits
        assert_eq!(code(&format!("{h}.{p}.c2m")), "token_malformed");
    }

    #[test]
    fn header_and_claims_must_be_json_objects() {
        assert_eq!(code(&token("[]", "{}")), "token_malformed");
        assert_eq!(code(&token(r#"{"alg":"ES256"}"#, "[]")), "token_malformed");
        assert_eq!(
            code(&token(r#"{"alg":"ES256"}"#, "not json")),
            "token_malformed"
        );
        assert_eq!(code(&token("{", "{}")), "token_malformed");
    }

    #[test]
    fn duplicate_header_members_are_rejected() {
        // conformance: JWT-10
        let t = token(r#"{"alg":"ES256","alg":"none"}"#, "{}");
        assert_eq!(code(&t), "token_malformed");
        let t = token(r#"{"alg":"ES256"}"#, r#"{"sub":"a","sub":"b"}"#);
        assert_eq!(code(&t), "token_malformed");
    }

    #[test]
    fn alg_none_and_unknown_are_not_allowed() {
        // conformance: JWT-2
        assert_eq!(code(&token(r#"{"alg":"none"}"#, "{}")), "alg_not_allowed");
        assert_eq!(code(&token(r#"{"alg":"NONE"}"#, "{}")), "alg_not_allowed");
        assert_eq!(code(&token(r#"{"alg":"rs256"}"#, "{}")), "alg_not_allowed");
        assert_eq!(code(&token(r#"{"alg":1}"#, "{}")), "token_malformed");
        assert_eq!(code(&token(r#"{"kid":"a"}"#, "{}")), "token_malformed");
    }

    #[test]
    fn crit_is_refused() {
        // conformance: JWT-9
        let t = token(r#"{"alg":"ES256","crit":["x-ext"],"x-ext":1}"#, "{}");
        assert_eq!(code(&t), "crit_unsupported");
    }

    #[test]
    fn nested_jwt_is_refused() {
        // conformance: JWT-4
        let t = token(r#"{"alg":"ES256","cty":"JWT"}"#, "{}");
        assert_eq!(code(&t), "nested_token_unsupported");
    }

    #[test]
    fn unencoded_payload_is_refused() {
        let t = token(r#"{"alg":"ES256","b64":false}"#, "{}");
        assert_eq!(code(&t), "token_malformed");
    }

    #[test]
    fn kid_and_typ_must_be_strings() {
        assert_eq!(
            code(&token(r#"{"alg":"ES256","kid":5}"#, "{}")),
            "token_malformed"
        );
        assert_eq!(
            code(&token(r#"{"alg":"ES256","typ":null}"#, "{}")),
            "token_malformed"
        );
    }
}
