//! `rampgate token inspect` and `rampgate token verify`.
//!
//! `inspect` decodes a token without any key and says which checks of the
//! verifier's policy would fail; `verify` runs the core [`Verifier`] itself.
//! `inspect` splits and decodes the token here, with the verifier's strictness
//! (strict base64url; the core's own JSON parser, which refuses repeated member
//! names), to say precisely which segment is wrong and how.

use crate::{Report, Status};
use std::io::Read as _;

/// Standard input is read up to this much: a token is never this long, and
/// a runaway pipe must not fill the memory.
const MAX_STDIN_BYTES: u64 = 1024 * 1024;

mod args;
mod decode;
mod inspect;
mod verify;

pub(crate) use args::TokenCommand;
use decode::{Decoded, decode};
pub(crate) use inspect::{InspectOptions, inspect};
pub(crate) use verify::{Keys, VerifyOptions, verify};

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

/// Runs one `rampgate token` command.
pub(crate) fn run(command: TokenCommand) -> Report {
    match command {
        TokenCommand::Inspect {
            token,
            issuer,
            audience,
            require_typ_at_jwt,
            leeway,
        } => inspect(
            &token,
            &InspectOptions {
                issuer,
                audience,
                require_typ_at_jwt,
                leeway,
            },
        ),
        TokenCommand::Verify(args) => {
            let keys = match (args.jwks_file, args.jwks_url) {
                (Some(file), _) => Keys::File(file),
                (None, Some(url)) => Keys::Url(url),
                // The argument group requires exactly one source.
                (None, None) => Keys::Discovery,
            };
            verify(
                &args.token,
                &VerifyOptions {
                    issuer: args.issuer,
                    audience: args.audience,
                    keys,
                    require_typ_at_jwt: args.require_typ_at_jwt,
                },
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode::*;
    use super::inspect::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use rampgate_core::Reason;
    use serde_json::Value;

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
