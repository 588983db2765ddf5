//! Splitting and decoding a compact JWS without any key, saying precisely
//! which segment is wrong and how.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// The longest token accepted, as the verifier's default.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The segments of a compact JWS, by position.
pub(super) const SEGMENTS: [&str; 3] = ["header", "payload", "signature"];

/// Why a token cannot be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum Malformed {
    /// Nothing but whitespace.
    #[error("no token: the input is empty")]
    Empty,
    /// Longer than the verifier accepts.
    #[error(
        "the token is {len} bytes, more than the {max} bytes the verifier accepts (token_too_large)"
    )]
    TooLarge { len: usize, max: usize },
    /// Not three segments.
    #[error("malformed token: expected 3 dot-separated segments (header.payload.signature), found {found}{}",
        if *found == 5 { ": an encrypted token (JWE), which is not accepted" } else { "" })]
    Segments { found: usize },
    /// A segment with nothing in it.
    #[error("malformed token: segment {n} ({name}) is empty")]
    EmptySegment { n: usize, name: &'static str },
    /// A segment that is not strict base64url.
    #[error("malformed token: segment {n} ({name}) is not base64url: {detail}")]
    Base64 {
        n: usize,
        name: &'static str,
        detail: String,
    },
    /// The header or payload is not JSON.
    #[error("malformed token: segment {n} ({name}) is not valid JSON: {detail}")]
    Json {
        n: usize,
        name: &'static str,
        detail: String,
    },
    /// The header or payload is JSON but not an object.
    #[error("malformed token: segment {n} ({name}) is JSON {kind}, not an object")]
    NotObject {
        n: usize,
        name: &'static str,
        kind: &'static str,
    },
}

/// A token split and decoded, nothing verified.
#[derive(Debug, PartialEq)]
pub(crate) struct Decoded {
    pub(crate) header: Map<String, Value>,
    pub(crate) claims: Map<String, Value>,
    /// Only its length is ever shown.
    pub(crate) signature_len: usize,
}

/// Splits and decodes `token`, saying which segment is wrong and how.
pub(crate) fn decode(token: &str) -> Result<Decoded, Malformed> {
    if token.is_empty() {
        return Err(Malformed::Empty);
    }
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Malformed::TooLarge {
            len: token.len(),
            max: MAX_TOKEN_BYTES,
        });
    }
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return Err(Malformed::Segments { found: parts.len() });
    }
    let mut bytes = Vec::with_capacity(3);
    for (i, part) in parts.iter().enumerate() {
        let (n, name) = (i + 1, SEGMENTS[i]);
        if part.is_empty() {
            return Err(Malformed::EmptySegment { n, name });
        }
        let decoded = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|e| Malformed::Base64 {
                n,
                name,
                detail: base64_detail(&e),
            })?;
        bytes.push(decoded);
    }
    Ok(Decoded {
        header: object(&bytes[0], 1)?,
        claims: object(&bytes[1], 2)?,
        signature_len: bytes[2].len(),
    })
}

pub(super) fn base64_detail(e: &base64::DecodeError) -> String {
    use base64::DecodeError as E;
    let shown = |b: u8| match b {
        b'=' => "padding '='".to_owned(),
        b'+' | b'/' => format!(
            "'{}' (standard base64; base64url uses '-' and '_')",
            b as char
        ),
        b if b.is_ascii_graphic() => format!("'{}'", b as char),
        b => format!("byte 0x{b:02x}"),
    };
    match e {
        E::InvalidByte(offset, b) => format!("{} at offset {offset}", shown(*b)),
        E::InvalidLength(len) => {
            format!("invalid length {len} (one character too many or too few)")
        }
        E::InvalidLastSymbol(offset, b) => {
            format!(
                "the last character '{}' at offset {offset} has stray bits (not canonical)",
                *b as char
            )
        }
        E::InvalidPadding => "padding '=' is not allowed".to_owned(),
    }
}

pub(super) fn object(bytes: &[u8], n: usize) -> Result<Map<String, Value>, Malformed> {
    let name = SEGMENTS[n - 1];
    let value = rampgate_core::inspect::parse_json_strict(bytes).map_err(|e| Malformed::Json {
        n,
        name,
        detail: e.to_string(),
    })?;
    match value {
        Value::Object(map) => Ok(map),
        other => Err(Malformed::NotObject {
            n,
            name,
            kind: kind(&other),
        }),
    }
}

pub(super) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
