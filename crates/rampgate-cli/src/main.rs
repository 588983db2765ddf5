//! `rampgate`: the command-line tool for rampgate's ramp contracts and tokens.
//!
//! A ramp contract (`contract.toml`) says which scopes each route needs and
//! which scopes each consumer may use at its current stage. This tool checks a
//! contract, says what a new version of it widens or narrows, compares it with
//! the routes the code declares and explains one of its decisions. For
//! operators it also decodes a token (without verifying it) and verifies one
//! with the same `Verifier` the middleware uses. It is meant for CI as much as
//! for people: every command has a stable exit status and a `--json` form where
//! it reports more than one line.
//!
//! # Exit status
//!
//! The same for every command:
//!
//! * `0`: all is well (a valid contract, an accepted diff, matching routes, a
//!   valid token, an allowed or shadow-denied request).
//! * `1`: a finding: the contract has errors, a change lacks a version
//!   increase, the code has routes the contract does not cover, the token is
//!   invalid (or, for `inspect`, a policy check fails), the request is denied,
//!   a roll-out step would break consumers (`ramp report`).
//! * `2`: the command could not run: wrong arguments (clap's usage errors), a
//!   file or standard input that cannot be read, an inventory that is not
//!   inventory JSON, a token that cannot be decoded (`inspect`), keys that
//!   cannot be fetched or read (`verify`: `jwks_error`, `keys_unavailable`,
//!   which are not the token's fault), or audit files without one valid event
//!   (`ramp report`).
//!
//! # `rampgate contract check FILE [--json]`
//!
//! Parses and checks a contract. Every problem is reported, one per line, as
//! compilers print them, to standard error (with `--json`: one object on
//! standard output, `{"ok", "file", "version", "counts": {"routes",
//! "consumers", "scopes"}, "errors": [{"line", "message"}]}`):
//!
//! ```text
//! $ rampgate contract check contract.toml
//! contract.toml: ok (version 4, 6 routes, 3 consumers, 5 scopes)
//!
//! $ rampgate contract check broken.toml
//! broken.toml:11: error: defaults.unknown_route is "deny" or "allow", not "sometimes"
//! broken.toml:16: error: route GET /accounts uses scope "account:read", which is not in [scopes]: add it to the catalog or fix the name
//! broken.toml:25: error: route GET /accounts is declared twice: each method and path appears once
//! $ echo $?
//! 1
//! ```
//!
//! # `rampgate contract diff OLD NEW [--json]`
//!
//! Lists what changes from `OLD` to `NEW`, widened access first. A change that
//! does not increase `version` is refused (exit status 1), and widening access
//! without one most of all:
//!
//! ```text
//! $ rampgate contract diff contract-v4.toml contract-v5.toml
//! contract version 4 -> 5
//!   widened   consumer mobile-app: advanced pilot -> beta (adds accounts:write)
//!
//! $ rampgate contract diff contract-v4.toml contract-edited.toml
//! contract version 4 -> 4
//!   widened   route PATCH /accounts/{id}: mode 25% -> observe
//!   widened   consumer mobile-app: advanced pilot -> beta (adds accounts:write)
//!   neutral   scope cards:read: added to the catalog
//! error: access widens but the version did not increase (4 -> 4): raise `version`
//! ```
//!
//! With `--json` the same diff is one object, and the refusal is its `error`
//! field rather than a line on standard error:
//!
//! ```text
//! $ rampgate contract diff contract-v4.toml contract-v5.toml --json
//! {
//!   "from_version": 4,
//!   "to_version": 5,
//!   "changes": [
//!     {
//!       "kind": "widened",
//!       "subject": "consumer mobile-app",
//!       "detail": "advanced pilot -> beta (adds accounts:write)"
//!     }
//!   ],
//!   "widens": true,
//!   "narrows": false,
//!   "error": null
//! }
//! ```
//!
//! # `rampgate contract routes FILE --inventory INVENTORY.json [--json]`
//!
//! Compares the contract with the routes the code declares. The inventory is
//! JSON written by the application (`rampgate_core::contract::Inventory`):
//!
//! ```text
//! {"routes": [{"method": "GET", "path": "/accounts/{id}", "scopes": ["accounts:read"], "any": []}]}
//! ```
//!
//! Routes in code but not in the contract, and routes whose requirements
//! (`scopes`, `any`) differ, fail the check. Routes only in the contract are
//! reported but do not fail it: another deployment may serve them. Neither does
//! a contract requirement that asks more than the code while it is still being
//! rolled out (`observe` or a percentage below 100): the contract leads on
//! purpose; declare the requirement in code when the contract enforces it.
//!
//! ```text
//! $ rampgate contract routes contract.toml --inventory routes.json
//! In code but not in the contract (2):
//!   POST /accounts/{id}/cards
//!   GET /healthz
//! In the contract but not in code (1):
//!   DELETE /accounts/{id}
//!   note: routes only in the contract do not fail the check; another deployment may serve them
//! Requirements differ (1):
//!   GET /accounts/{id}/statements: the contract requires one of admin, statements:export; the code requires one of statements:export
//! contract.toml: 4 of 7 routes in code match the contract
//! error: 2 routes in code are not in the contract; 1 route has different requirements
//! ```
//!
//! With `--json` the report is an object with `missing_in_contract`,
//! `missing_in_code` (each a list of `{method, path, scopes, any}`) and
//! `mismatched` and `ramping` (each `{method, path, contract: {scopes, any}, code:
//! {scopes, any}}`).
//!
//! # `rampgate contract explain FILE --client-id C [--iss I] [--sub S] --scopes "a b" METHOD PATH [--json]`
//!
//! The contract's decision for one request, and why: the route the path falls
//! under (a concrete path such as `/accounts/42` is matched against the
//! templates), the consumer and its stage (or what `defaults.unknown_consumer`
//! does with an unknown one), the stage's scopes, the token's scopes and the
//! effective ones (both), the route's requirement, its mode (for a percentage,
//! the consumer's roll-out bucket), its trust level and the outcome with its
//! reason code. The decision is `Contract::decide_for`, the one the layers make.
//! Exit status 0 for allow and for a shadow denial (shown as such), 1 for deny.
//!
//! ```text
//! $ rampgate contract explain contract.toml --client-id mobile-app --scopes "accounts:read accounts:write" PATCH /accounts/42
//! contract: contract.toml (version 4)
//! request:  PATCH /accounts/42
//! route:    PATCH /accounts/{id} (the template /accounts/42 falls under)
//! consumer: mobile-app, stage pilot (stages pilot -> beta -> ga)
//! stage allows:     accounts:read
//! token scopes:     accounts:read accounts:write
//! effective scopes: accounts:read (the token's scopes the stage allows)
//! requires: accounts:write
//! mode:     25%: enforced for consumers in buckets 0-24; mobile-app is in bucket 95: observed (shadow_deny)
//! trust:    standard: no step-up
//! outcome:  shadow_deny (scope_beyond_stage): the token has accounts:write, but stage pilot does not allow it; the route is not enforced for this consumer, so the request proceeds and the would-be denial is recorded
//! ```
//!
//! # `rampgate ramp report AUDIT.jsonl... --contract FILE [--since T | --window 3d] [--min-requests N] [--json | --html OUT]`
//!
//! Reads the AuditLayer's `decision` events (other event types and unknown
//! fields are skipped; a malformed line is reported as `FILE:LINE: warning:`
//! and skipped) and prints, per route and consumer, the allowed, denied and
//! observe-denied requests with their rates and the scopes the observe-denied
//! ones would have missed; then a verdict on each open roll-out step: enforcing
//! each route in `observe` or `N%` mode, advancing each consumer that has a
//! next stage (`safe`, `breaks`, `review`, `not_enough_data`, `no_data`).
//! Exit status 1 when a step `breaks`. Rules, JSON structure and a walkthrough
//! in `docs/contracts.md` §10.
//!
//! ```text
//! $ rampgate ramp report audit.jsonl audit.jsonl.1 --contract v7.toml
//! ...
//!   [BREAKS] enforce PATCH /accounts/{id} (now observe): would break 1 consumer: mobile-app (40 of 40 requests would be refused, missing accounts:write)
//!       mobile-app: missing accounts:write (40); reasons scope_beyond_stage (40); its tokens carry the scopes but stage pilot does not allow them: advance it to beta first
//!   [SAFE] advance mobile-app pilot -> beta: safe to advance pilot -> beta (adds accounts:write): none of 163 requests in 3 days would be refused, and 40 refused today for want of a scope would be allowed
//! ```
//!
//! # `rampgate token inspect TOKEN|- [--issuer ISS] [--audience AUD] [--require-typ-at-jwt] [--leeway SECS]`
//!
//! Decodes a token WITHOUT verifying it, and says so on standard error and in
//! the output ("NOT VERIFIED"): the header and claims, the dates (`exp`, `nbf`,
//! `iat`, `auth_time`) in UTC RFC 3339 and relative to now, the signature's
//! length (never its bytes), and each check of the verifier's policy with its
//! reason code when it fails (`alg`, `typ`, `exp`, `nbf`, `iat`, `iss`, `aud`,
//! `cnf`). `-` reads the token from standard input; surrounding whitespace is
//! dropped, and tokens over 8 KiB are refused as the verifier refuses them.
//! Exit status 0 when no check fails, 1 when one does, 2 when the token
//! cannot be decoded (the error names the segment and what is wrong).
//!
//! ```text
//! $ echo "$TOKEN" | rampgate token inspect - --issuer https://login.example.com/ --audience api
//! NOT VERIFIED: decoded without checking the signature; do not trust these values (use `rampgate token verify`)
//! Header:
//!   { "alg": "ES256", "kid": "k1", "typ": "at+jwt" }   (pretty-printed)
//! Claims:
//!   { "aud": "api", "exp": 1795906475, "iss": "https://login.example.com/", ... }
//! Times:
//!   exp        2026-11-28T22:54:35Z (3h ago)
//!   iat        2026-11-28T21:54:35Z (4h ago)
//! Signature: 64 bytes, not shown and NOT VERIFIED
//! Checks (leeway 60s):
//!   ok    alg: ES256
//!   -     typ: not required (--require-typ-at-jwt requires at+jwt)
//!   FAIL  exp: expired 2026-11-28T22:54:35Z (3h ago), beyond the 60s leeway (token_expired)
//!   ok    iat: issued 2026-11-28T21:54:35Z (4h ago)
//!   ok    iss: "https://login.example.com/"
//!   ok    aud: names "api"
//!   ok    cnf: absent: a bearer token
//! Result: 1 failing check (token_expired)
//!
//! $ rampgate token inspect eyJhbGciOiJFUzI1NiJ9=.e30.c2ln
//! error: malformed token: segment 1 (header) is not base64url: padding '=' at offset 20
//! ```
//!
//! # `rampgate token verify TOKEN|- --issuer ISS --audience AUD (--jwks-file FILE | --jwks-url URL | --discovery) [--require-typ-at-jwt]`
//!
//! Verifies the token with the core `Verifier`: `OK` with `sub`, `client_id`,
//! the scopes and `exp`, exit status 0; or `INVALID: CODE: description`, exit
//! status 1. Keys that cannot be read or fetched are exit status 2.
//!
//! ```text
//! $ rampgate token verify "$TOKEN" --issuer https://login.example.com/ --audience api --jwks-file jwks.json
//! OK: signature and claims verified
//!   sub:       alice
//!   client_id: mobile-app
//!   scopes:    accounts:read accounts:write
//!   exp:       2026-11-29T02:05:00Z (in 5m)
//!
//! $ rampgate token verify "$OTHER" --issuer https://login.example.com/ --audience api --jwks-file jwks.json
//! INVALID: signature_invalid: signature does not verify
//! ```

mod args;
mod contract;
mod explain;
mod ramp;
mod routes;
mod time;
mod token;

use args::{Cli, Command, TokenCommand};
use clap::Parser;
use std::io::{self, Write};
use std::process::ExitCode;

/// How a command ended; the process exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Status {
    /// All is well.
    Ok = 0,
    /// The check failed.
    Failed = 1,
    /// The check could not run.
    Trouble = 2,
}

/// What a command prints and how it exits.
#[derive(Debug)]
struct Report {
    stdout: String,
    stderr: String,
    status: Status,
}

impl Report {
    fn ok(stdout: String) -> Report {
        Report {
            stdout,
            stderr: String::new(),
            status: Status::Ok,
        }
    }

    fn error(status: Status, stderr: String) -> Report {
        Report {
            stdout: String::new(),
            stderr,
            status,
        }
    }

    /// Both reports' output, and the worse status.
    fn and(mut self, other: Report) -> Report {
        self.stdout.push_str(&other.stdout);
        self.stderr.push_str(&other.stderr);
        self.status = self.status.max(other.status);
        self
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let report = match cli.command {
        Command::Contract(command) => contract::run(command),
        Command::Token(command) => run_token(command),
        Command::Ramp(command) => ramp::run(command),
    };
    let mut status = report.status;
    if let Err(e) = io::stdout().lock().write_all(report.stdout.as_bytes())
        && e.kind() != io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(io::stderr(), "error: cannot write the output: {e}");
        status = Status::Trouble;
    }
    let _ = io::stderr().lock().write_all(report.stderr.as_bytes());
    ExitCode::from(status as u8)
}

fn run_token(command: TokenCommand) -> Report {
    match command {
        TokenCommand::Inspect {
            token,
            issuer,
            audience,
            require_typ_at_jwt,
            leeway,
        } => token::inspect(
            &token,
            &token::InspectOptions {
                issuer,
                audience,
                require_typ_at_jwt,
                leeway,
            },
        ),
        TokenCommand::Verify(args) => {
            let keys = match (args.jwks_file, args.jwks_url) {
                (Some(file), _) => token::Keys::File(file),
                (None, Some(url)) => token::Keys::Url(url),
                // The argument group requires exactly one source.
                (None, None) => token::Keys::Discovery,
            };
            token::verify(
                &args.token,
                &token::VerifyOptions {
                    issuer: args.issuer,
                    audience: args.audience,
                    keys,
                    require_typ_at_jwt: args.require_typ_at_jwt,
                },
            )
        }
    }
}

/// `3 routes`, `1 route`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Pretty JSON and a newline, for `--json` output.
fn to_json<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(json) => json + "\n",
        // The values serialized here are plain structs of strings, numbers and lists.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn counts_are_singular_or_plural() {
        assert_eq!(count(0, "route"), "0 routes");
        assert_eq!(count(1, "route"), "1 route");
        assert_eq!(count(2, "scope"), "2 scopes");
    }

    #[test]
    fn reports_combine_to_the_worse_status() {
        let a = Report::error(Status::Failed, "a\n".into());
        let b = Report::error(Status::Trouble, "b\n".into());
        let both = a.and(b);
        assert_eq!(
            (both.stderr.as_str(), both.status),
            ("a\nb\n", Status::Trouble)
        );
    }
}
