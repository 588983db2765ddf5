//! `rampgate token inspect`: a token decoded (NOT verified), and which checks
//! of the verifier's policy it would fail.

use super::{Decoded, decode, read_token};
use crate::time::{human, now_secs};
use crate::{Report, Status};
use rampgate_core::binding::Confirmation;
use rampgate_core::inspect;
use rampgate_core::{Algorithm, Reason, escape_control};
use serde_json::{Map, Value};
use std::fmt::Write as _;

/// The warning `inspect` always gives.
const NOT_VERIFIED: &str = "NOT VERIFIED: decoded without checking the signature; do not trust these values (use `rampgate token verify`)";

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
pub(super) enum Verdict {
    Pass(String),
    Fail(Reason, String),
    Skip(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Check {
    pub(super) name: &'static str,
    pub(super) verdict: Verdict,
}

pub(super) fn pass(name: &'static str, why: impl Into<String>) -> Check {
    Check {
        name,
        verdict: Verdict::Pass(why.into()),
    }
}

pub(super) fn fail(name: &'static str, reason: Reason, why: impl Into<String>) -> Check {
    Check {
        name,
        verdict: Verdict::Fail(reason, why.into()),
    }
}

pub(super) fn skip(name: &'static str, why: impl Into<String>) -> Check {
    Check {
        name,
        verdict: Verdict::Skip(why.into()),
    }
}

/// The claims shown with their dates.
pub(super) const TIME_CLAIMS: [&str; 4] = ["exp", "nbf", "iat", "auth_time"];

/// A NumericDate claim: absent, a finite number, or something else.
pub(super) enum Date {
    Absent,
    At(f64),
    Invalid,
}

pub(super) fn date(claims: &Map<String, Value>, name: &str) -> Date {
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
pub(super) fn checks(token: &Decoded, options: &InspectOptions, now: f64) -> Vec<Check> {
    let mut out = header_checks(&token.header, options);
    out.extend(date_checks(&token.claims, options, now));
    out.extend(claim_checks(&token.claims, options));
    out
}

/// `alg`, `crit`, `cty` and `typ`, as the verifier reads the header.
fn header_checks(header: &Map<String, Value>, options: &InspectOptions) -> Vec<Check> {
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
        match typ {
            Some(t) if inspect::names_another_jwt_type(t) => fail(
                "typ",
                Reason::TypMismatch,
                format!("typ {t:?} names another kind of JWT than an access token"),
            ),
            Some(t) => pass("typ", format!("{t} (at+jwt is not required)")),
            None => pass("typ", "absent (at+jwt is not required)"),
        }
    });
    out
}

/// `exp`, `nbf` and `iat`, with the leeway.
fn date_checks(claims: &Map<String, Value>, options: &InspectOptions, now: f64) -> Vec<Check> {
    let leeway = options.leeway as f64;
    let mut out = Vec::new();
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
    // The verifier refuses an authentication time in the future, like iat.
    match date(claims, "auth_time") {
        Date::Absent => {}
        Date::Invalid => out.push(invalid_date("auth_time")),
        Date::At(at) if at > now + leeway => out.push(fail(
            "auth_time",
            Reason::ClaimInvalid,
            format!(
                "authenticated in the future: {}, beyond the {}s leeway",
                human(at, now),
                options.leeway
            ),
        )),
        Date::At(at) => out.push(pass(
            "auth_time",
            format!("authenticated {}", human(at, now)),
        )),
    }
    out
}

/// `iss`, `aud`, `cnf` and the claims only ID tokens carry.
fn claim_checks(claims: &Map<String, Value>, options: &InspectOptions) -> Vec<Check> {
    let mut out = Vec::new();
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
    out.push(binding(claims));
    if let Some(name) = inspect::ID_TOKEN_CLAIMS
        .iter()
        .find(|name| claims.get(**name).is_some_and(|v| !v.is_null()))
    {
        out.push(fail(
            "id_token",
            Reason::IdTokenClaims,
            format!("{name} is a claim of OpenID Connect ID tokens: this looks like an ID token"),
        ));
    }
    out
}

/// `cnf` as the verifier reads it: what the token is bound to, and what it
/// must be presented with.
fn binding(claims: &Map<String, Value>) -> Check {
    match Confirmation::from_claims(claims) {
        Ok(None) => pass("cnf", "absent: a bearer token"),
        Ok(Some(cnf)) => {
            let mut bound = Vec::new();
            if let Some(jkt) = cnf.jkt {
                bound.push(format!(
                    "DPoP-bound (jkt {jkt}): accepted only as Authorization: DPoP with a proof by that key"
                ));
            }
            if let Some(x5t) = cnf.x5t_s256 {
                bound.push(format!(
                    "certificate-bound (x5t#S256 {x5t}): accepted only over TLS with that client certificate"
                ));
            }
            pass("cnf", bound.join("; "))
        }
        Err(e) => fail("cnf", e.reason(), e.to_string()),
    }
}

/// `aud` as the verifier checks it: a string or an array of strings, naming
/// the audience.
pub(super) fn audience(aud: Option<&Value>, expected: &str) -> Check {
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

pub(super) fn quoted(names: &[&str]) -> String {
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

pub(super) fn pretty(map: &Map<String, Value>) -> String {
    serde_json::to_string_pretty(map).unwrap_or_else(|e| format!("(cannot show: {e})"))
}

pub(super) fn indent(text: &str) -> String {
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
        // The reasons quote the token's own values (typ, say): escaped.
        let _ = writeln!(out, "{}", escape_control(&line));
    }
    let status = if failed.is_empty() {
        out.push_str("Result: no check fails; the signature is NOT VERIFIED\n");
        Status::Ok
    } else {
        let _ = writeln!(
            out,
            "Result: {} ({})",
            crate::plural::count(failed.len(), "failing check"),
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
