//! `rampgate token inspect` and `rampgate token verify`.
//!
//! `inspect` decodes a token without any key and says which checks of the
//! verifier's policy would fail; `verify` runs the core [`Verifier`] itself.
//! The core's token parser is private, so `inspect` splits and decodes the
//! token here, with the same strictness (strict base64url, JSON objects
//! without repeated member names), to report precisely what is wrong.

use crate::time::{human, now_secs};
use crate::{Report, Status};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rampgate_core::{Algorithm, IssuerConfig, Reason, ValidationPolicy, Verifier};
use serde_json::{Map, Value};
use std::fmt::Write as _;
use std::io::Read as _;
use std::path::PathBuf;

/// The longest token accepted, as the verifier's default.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Standard input is read up to this much: a token is never this long, and
/// a runaway pipe must not fill the memory.
const MAX_STDIN_BYTES: u64 = 1024 * 1024;

/// The warning `inspect` always gives.
const NOT_VERIFIED: &str = "NOT VERIFIED: decoded without checking the signature; do not trust these values (use `rampgate token verify`)";

/// The segments of a compact JWS, by position.
const SEGMENTS: [&str; 3] = ["header", "payload", "signature"];

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

fn base64_detail(e: &base64::DecodeError) -> String {
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

fn object(bytes: &[u8], n: usize) -> Result<Map<String, Value>, Malformed> {
    let name = SEGMENTS[n - 1];
    let value = rampgate_core::jws::parse_json_strict(bytes).map_err(|e| Malformed::Json {
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

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Reads the token argument: itself, or standard input for `-`; surrounding
/// whitespace (a newline from `echo`, a paste) is dropped.
pub(crate) fn read_token(arg: &str) -> Result<String, Report> {
    let text = if arg == "-" {
        let mut text = String::new();
        std::io::stdin()
            .take(MAX_STDIN_BYTES)
            .read_to_string(&mut text)
            .map_err(|e| {
                Report::error(
                    Status::Trouble,
                    format!("error: cannot read standard input: {e}\n"),
                )
            })?;
        text
    } else {
        arg.to_owned()
    };
    Ok(text.trim().to_owned())
}

/// The policy options `inspect` checks the token against.
#[derive(Debug, Clone)]
pub(crate) struct InspectOptions {
    pub(crate) issuer: Option<String>,
    pub(crate) audience: Option<String>,
    pub(crate) require_typ_at_jwt: bool,
    pub(crate) leeway: u64,
}

/// The result of one policy check.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    Pass(String),
    Fail(Reason, String),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Check {
    name: &'static str,
    verdict: Verdict,
}

fn pass(name: &'static str, why: impl Into<String>) -> Check {
    Check {
        name,
        verdict: Verdict::Pass(why.into()),
    }
}

fn fail(name: &'static str, reason: Reason, why: impl Into<String>) -> Check {
    Check {
        name,
        verdict: Verdict::Fail(reason, why.into()),
    }
}

fn skip(name: &'static str, why: impl Into<String>) -> Check {
    Check {
        name,
        verdict: Verdict::Skip(why.into()),
    }
}

/// The claims shown with their dates.
const TIME_CLAIMS: [&str; 4] = ["exp", "nbf", "iat", "auth_time"];

/// A NumericDate claim: absent, a finite number, or something else.
enum Date {
    Absent,
    At(f64),
    Invalid,
}

fn date(claims: &Map<String, Value>, name: &str) -> Date {
    match claims.get(name) {
        None => Date::Absent,
        Some(Value::Number(n)) => match n.as_f64() {
            Some(f) if f.is_finite() => Date::At(f),
            _ => Date::Invalid,
        },
        Some(_) => Date::Invalid,
    }
}

/// The checks the verifier would run on these claims, in its order, with the
/// signature and keys left out.
fn checks(token: &Decoded, options: &InspectOptions, now: f64) -> Vec<Check> {
    let (header, claims) = (&token.header, &token.claims);
    let leeway = options.leeway as f64;
    let mut out = Vec::new();
    out.push(match header.get("alg") {
        None => fail("alg", Reason::TokenMalformed, "the header has no alg"),
        Some(Value::String(alg)) => match alg.parse::<Algorithm>() {
            Ok(a) if a.is_hmac() => pass(
                "alg",
                format!("{alg}: accepted only from an issuer configured with a shared secret"),
            ),
            Ok(_) => pass("alg", alg.clone()),
            Err(_) => fail(
                "alg",
                Reason::AlgNotAllowed,
                format!("{alg:?} is not an algorithm rampgate verifies"),
            ),
        },
        Some(_) => fail("alg", Reason::TokenMalformed, "alg is not a string"),
    });
    if header.contains_key("crit") {
        out.push(fail(
            "crit",
            Reason::CritUnsupported,
            "the header lists critical extensions, and rampgate implements none",
        ));
    }
    if let Some(cty) = header.get("cty").and_then(Value::as_str)
        && cty.eq_ignore_ascii_case("jwt")
    {
        out.push(fail(
            "cty",
            Reason::NestedTokenUnsupported,
            "a nested JWT (cty JWT) is never accepted",
        ));
    }
    let typ = header.get("typ").and_then(Value::as_str);
    out.push(if options.require_typ_at_jwt {
        match typ {
            Some(t)
                if ["at+jwt", "application/at+jwt"]
                    .iter()
                    .any(|a| a.eq_ignore_ascii_case(t)) =>
            {
                pass("typ", t)
            }
            Some(t) => fail(
                "typ",
                Reason::TypMismatch,
                format!("typ is {t:?}, not at+jwt or application/at+jwt"),
            ),
            None => fail(
                "typ",
                Reason::TypMismatch,
                "the header has no typ; at+jwt is required",
            ),
        }
    } else {
        skip("typ", "not required (--require-typ-at-jwt requires at+jwt)")
    });
    let invalid_date = |name: &'static str| {
        fail(
            name,
            Reason::ClaimInvalid,
            format!("{name} is not a NumericDate (a finite JSON number)"),
        )
    };
    out.push(match date(claims, "exp") {
        Date::Absent => fail("exp", Reason::ClaimMissing, "exp is required and absent"),
        Date::Invalid => invalid_date("exp"),
        Date::At(exp) if now >= exp + leeway => fail(
            "exp",
            Reason::TokenExpired,
            format!(
                "expired {}, beyond the {}s leeway",
                human(exp, now),
                options.leeway
            ),
        ),
        Date::At(exp) => pass("exp", format!("expires {}", human(exp, now))),
    });
    match date(claims, "nbf") {
        Date::Absent => {}
        Date::Invalid => out.push(invalid_date("nbf")),
        Date::At(nbf) if nbf > now + leeway => out.push(fail(
            "nbf",
            Reason::TokenNotYetValid,
            format!(
                "not valid before {}, beyond the {}s leeway",
                human(nbf, now),
                options.leeway
            ),
        )),
        Date::At(nbf) => out.push(pass("nbf", format!("valid since {}", human(nbf, now)))),
    }
    match date(claims, "iat") {
        Date::Absent => {}
        Date::Invalid => out.push(invalid_date("iat")),
        Date::At(iat) if iat > now + leeway => out.push(fail(
            "iat",
            Reason::TokenIssuedInFuture,
            format!(
                "issued in the future: {}, beyond the {}s leeway",
                human(iat, now),
                options.leeway
            ),
        )),
        Date::At(iat) => out.push(pass("iat", format!("issued {}", human(iat, now)))),
    }
    out.push(match &options.issuer {
        None => skip("iss", "not checked (--issuer ISS checks it)"),
        Some(expected) => match claims.get("iss") {
            None | Some(Value::Null) => {
                fail("iss", Reason::ClaimMissing, "iss is required and absent")
            }
            Some(Value::String(iss)) if iss == expected => pass("iss", format!("{iss:?}")),
            Some(Value::String(iss)) => fail(
                "iss",
                Reason::IssuerUnknown,
                format!("iss is {iss:?}, not {expected:?}"),
            ),
            Some(_) => fail("iss", Reason::ClaimInvalid, "iss is not a string"),
        },
    });
    out.push(match &options.audience {
        None => skip("aud", "not checked (--audience AUD checks it)"),
        Some(expected) => audience(claims.get("aud"), expected),
    });
    out.push(match claims.get("cnf") {
        Some(c) if !c.is_null() => fail(
            "cnf",
            Reason::TokenBound,
            "bound to a key (cnf, DPoP or mTLS): refused as a bearer token",
        ),
        _ => pass("cnf", "absent: a bearer token"),
    });
    out
}

/// `aud` as the verifier checks it: a string or an array of strings, naming
/// the audience.
fn audience(aud: Option<&Value>, expected: &str) -> Check {
    let shapeless = || {
        fail(
            "aud",
            Reason::ClaimInvalid,
            "aud is not a string or an array of strings",
        )
    };
    let names: Vec<&str> = match aud {
        None | Some(Value::Null) => {
            return fail("aud", Reason::ClaimMissing, "aud is required and absent");
        }
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(items)) => match items.iter().map(Value::as_str).collect() {
            Some(names) => names,
            None => return shapeless(),
        },
        Some(_) => return shapeless(),
    };
    if names.contains(&expected) {
        pass("aud", format!("names {expected:?}"))
    } else {
        fail(
            "aud",
            Reason::AudienceMismatch,
            format!(
                "aud is {}, which does not name {expected:?}",
                quoted(&names)
            ),
        )
    }
}

fn quoted(names: &[&str]) -> String {
    match names {
        [one] => format!("{one:?}"),
        many => format!(
            "[{}]",
            many.iter()
                .map(|n| format!("{n:?}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn pretty(map: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(map).unwrap_or_else(|e| format!("(cannot show: {e})"))
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

/// `rampgate token inspect`.
pub(crate) fn inspect(arg: &str, options: &InspectOptions) -> Report {
    let token = match read_token(arg) {
        Ok(token) => token,
        Err(report) => return report,
    };
    let decoded = match decode(&token) {
        Ok(decoded) => decoded,
        Err(e) => return Report::error(Status::Trouble, format!("error: {e}\n")),
    };
    let now = now_secs();
    let mut out = format!("{NOT_VERIFIED}\n");
    let _ = write!(out, "Header:\n{}", indent(&pretty(&decoded.header)));
    let _ = write!(out, "Claims:\n{}", indent(&pretty(&decoded.claims)));
    let dated: Vec<(&str, &Value)> = TIME_CLAIMS
        .iter()
        .filter_map(|name| decoded.claims.get(*name).map(|v| (*name, v)))
        .collect();
    if !dated.is_empty() {
        out.push_str("Times:\n");
        for (name, value) in dated {
            let shown = match date(&decoded.claims, name) {
                Date::At(at) => human(at, now),
                _ => format!("{value} (not a NumericDate)"),
            };
            let _ = writeln!(out, "  {name:<10} {shown}");
        }
    }
    let _ = writeln!(
        out,
        "Signature: {} bytes, not shown and NOT VERIFIED",
        decoded.signature_len
    );
    let checks = checks(&decoded, options, now);
    let _ = writeln!(out, "Checks (leeway {}s):", options.leeway);
    let mut failed = Vec::new();
    for check in &checks {
        let line = match &check.verdict {
            Verdict::Pass(why) => format!("  ok    {}: {why}", check.name),
            Verdict::Skip(why) => format!("  -     {}: {why}", check.name),
            Verdict::Fail(reason, why) => {
                failed.push(reason.as_str());
                format!("  FAIL  {}: {why} ({reason})", check.name)
            }
        };
        let _ = writeln!(out, "{line}");
    }
    let status = if failed.is_empty() {
        out.push_str("Result: no check fails; the signature is NOT VERIFIED\n");
        Status::Ok
    } else {
        let _ = writeln!(
            out,
            "Result: {} ({})",
            crate::count(failed.len(), "failing check"),
            failed.join(", ")
        );
        Status::Failed
    };
    Report {
        stdout: out,
        stderr: format!("warning: {NOT_VERIFIED}\n"),
        status,
    }
}

/// Where `verify` takes the issuer's keys from.
#[derive(Debug, Clone)]
pub(crate) enum Keys {
    File(PathBuf),
    Url(String),
    Discovery,
}

/// The options of `token verify`.
#[derive(Debug, Clone)]
pub(crate) struct VerifyOptions {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) keys: Keys,
    pub(crate) require_typ_at_jwt: bool,
}

/// Failures that are the service's or the operator's, not the token's.
fn not_the_tokens_fault(reason: Reason) -> bool {
    matches!(
        reason,
        Reason::KeysUnavailable | Reason::JwksError | Reason::ConfigInvalid
    )
}

/// `rampgate token verify`.
pub(crate) fn verify(arg: &str, options: &VerifyOptions) -> Report {
    let token = match read_token(arg) {
        Ok(token) => token,
        Err(report) => return report,
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            return Report::error(
                Status::Trouble,
                format!("error: cannot start the async runtime: {e}\n"),
            );
        }
    };
    runtime.block_on(verify_async(&token, options))
}

async fn verify_async(token: &str, options: &VerifyOptions) -> Report {
    let mut policy = ValidationPolicy::default();
    if options.require_typ_at_jwt {
        policy = policy.require_typ_at_jwt();
    }
    let config =
        IssuerConfig::new(options.issuer.clone(), [options.audience.clone()]).policy(policy);
    let config = match &options.keys {
        Keys::File(path) => config.jwks_file(path.clone()),
        Keys::Url(url) => config.jwks_url(url.clone()),
        Keys::Discovery => config.discovery(),
    };
    let verifier = match Verifier::builder().issuer(config).build().await {
        Ok(verifier) => verifier,
        Err(e) => {
            return Report::error(Status::Trouble, format!("error: {} ({})\n", e, e.code()));
        }
    };
    // The keys were just loaded: a refresh for an unknown kid could not find
    // newer ones, and against an unreachable URL it would only wait again.
    match verifier.verify_cached(token) {
        Ok(principal) => {
            let now = now_secs();
            let scopes = principal.scopes().to_string();
            let stdout = format!(
                "OK: signature and claims verified\n  sub:       {}\n  client_id: {}\n  scopes:    {}\n  exp:       {}\n",
                principal.sub().unwrap_or("(none)"),
                principal.client_id().unwrap_or("(none)"),
                if scopes.is_empty() { "(none)" } else { &scopes },
                human(principal.exp() as f64, now),
            );
            Report::ok(stdout)
        }
        Err(e) if not_the_tokens_fault(e.reason()) => {
            // The verifier says only "unavailable"; the fetch error says why.
            let cause = verifier
                .key_stats(&options.issuer)
                .and_then(|s| s.last_error)
                .map(|c| format!(": {c}"))
                .unwrap_or_default();
            Report::error(
                Status::Trouble,
                format!(
                    "error: {e}{cause} ({}): the keys could not be used, which says nothing about the token\n",
                    e.code()
                ),
            )
        }
        Err(e) => Report {
            stdout: format!("INVALID: {}: {e}\n", e.code()),
            stderr: String::new(),
            status: Status::Failed,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    #[test]
    fn each_malformation_names_its_segment() {
        let h = enc(r#"{"alg":"ES256"}"#);
        let p = enc(r#"{"sub":"a"}"#);
        assert_eq!(decode(""), Err(Malformed::Empty));
        assert_eq!(decode("abc"), Err(Malformed::Segments { found: 1 }));
        assert_eq!(
            decode(&format!("{h}..c2ln")),
            Err(Malformed::EmptySegment {
                n: 2,
                name: "payload"
            })
        );
        let padded = decode(&format!("{h}=.{p}.c2ln")).unwrap_err().to_string();
        assert_eq!(
            padded,
            format!(
                "malformed token: segment 1 (header) is not base64url: padding '=' at offset {}",
                h.len()
            )
        );
        let dup = decode(&format!("{h}.{}.c2ln", enc(r#"{"sub":"a","sub":"b"}"#)))
            .unwrap_err()
            .to_string();
        assert!(
            dup.starts_with("malformed token: segment 2 (payload) is not valid JSON: duplicate member name \"sub\": it appears twice"),
            "{dup}"
        );
        assert_eq!(
            decode(&format!("{h}.{}.c2ln", enc("[1]"))),
            Err(Malformed::NotObject {
                n: 2,
                name: "payload",
                kind: "an array"
            })
        );
        let big = "a".repeat(MAX_TOKEN_BYTES + 1);
        assert_eq!(
            decode(&big),
            Err(Malformed::TooLarge {
                len: MAX_TOKEN_BYTES + 1,
                max: MAX_TOKEN_BYTES
            })
        );
        let ok = decode(&format!("{h}.{p}.c2ln")).unwrap();
        assert_eq!(ok.signature_len, 3);
    }

    #[test]
    fn audiences_are_checked_as_the_verifier_does() {
        let aud = |v: Value| audience(Some(&v), "api").verdict;
        assert!(matches!(aud(Value::from("api")), Verdict::Pass(_)));
        assert!(matches!(
            aud(serde_json::json!(["x", "api"])),
            Verdict::Pass(_)
        ));
        assert!(matches!(
            aud(serde_json::json!(["x"])),
            Verdict::Fail(Reason::AudienceMismatch, _)
        ));
        assert!(matches!(
            aud(serde_json::json!([1])),
            Verdict::Fail(Reason::ClaimInvalid, _)
        ));
        assert!(matches!(
            audience(None, "api").verdict,
            Verdict::Fail(Reason::ClaimMissing, _)
        ));
    }
}
