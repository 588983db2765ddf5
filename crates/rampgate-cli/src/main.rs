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
//!   invalid (or, for `inspect`, a policy check fails), the request is denied.
//! * `2`: the command could not run: wrong arguments (clap's usage errors), a
//!   file or standard input that cannot be read, an inventory that is not
//!   inventory JSON, a token that cannot be decoded (`inspect`), or keys that
//!   cannot be fetched or read (`verify`: `jwks_error`, `keys_unavailable`,
//!   which are not the token's fault).
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

mod explain;
mod routes;
mod time;
mod token;

use clap::{Args, Parser, Subcommand};
use rampgate_core::contract::{Change, Contract, ContractDiff, Inventory};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// The exit statuses, for the help.
macro_rules! exit_status {
    () => {
        "Exit status, for every command: 0 when all is well; 1 for a finding (invalid contract, \
         refused diff, route mismatch, invalid token, denied request); 2 when the command cannot \
         run (wrong arguments, unreadable file or input, undecodable token, unreachable keys)."
    };
}

/// Check rampgate ramp contracts, compare their versions and the routes in code, explain decisions, inspect and verify tokens.
///
/// A ramp contract (contract.toml) says which scopes each route needs and which scopes each
/// consumer may use at its current stage.
#[derive(Debug, Parser)]
#[command(
    name = "rampgate",
    version,
    max_term_width = 100,
    after_help = exit_status!(),
    after_long_help = concat!(
        "Examples:\n",
        "  rampgate contract check contract.toml\n",
        "  rampgate contract diff deployed/contract.toml contract.toml --json\n",
        "  rampgate contract routes contract.toml --inventory routes.json\n",
        "  rampgate contract explain contract.toml --client-id web --scopes \"a b\" GET /items/1\n",
        "  rampgate token inspect - --issuer https://login.example.com/ --audience api\n",
        "  rampgate token verify \"$TOKEN\" --issuer https://login.example.com/ --audience api --discovery\n",
        "\n",
        exit_status!()
    )
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check contracts, diff their versions, compare them with the routes in code, explain decisions
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Inspect a token (decoded, NOT verified) or verify it against an issuer's keys
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Decode a token WITHOUT verifying it, and say which policy checks would fail
    ///
    /// Prints the header, the claims, the dates in UTC and relative to now, and each check of the
    /// verifier's policy (alg, typ, exp, nbf, iat, iss, aud, cnf) with its reason code when it
    /// fails. The signature is NOT VERIFIED and never printed. Exit status 0 when no check fails,
    /// 1 when one does, 2 when the token cannot be decoded.
    #[command(
        after_long_help = "Example:\n  echo \"$TOKEN\" | rampgate token inspect - --issuer https://login.example.com/ --audience api"
    )]
    Inspect {
        /// The token (a compact JWT); `-` reads it from standard input
        token: String,
        /// Check `iss` against this issuer
        #[arg(long, value_name = "ISS")]
        issuer: Option<String>,
        /// Check that `aud` names this audience
        #[arg(long, value_name = "AUD")]
        audience: Option<String>,
        /// Require the header's `typ` to be at+jwt (RFC 9068)
        #[arg(long)]
        require_typ_at_jwt: bool,
        /// Clock skew tolerated on exp, nbf and iat, in seconds (at most 300, as in the verifier)
        #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(0..=300))]
        leeway: u64,
    },
    /// Verify a token's signature and claims with the verifier the middleware uses
    ///
    /// Prints `OK` with sub, client_id, the scopes and exp (exit status 0), or `INVALID: CODE:
    /// description` (exit status 1). Keys that cannot be read or fetched (jwks_error,
    /// keys_unavailable) are not the token's fault: exit status 2.
    #[command(
        after_long_help = "Example:\n  rampgate token verify \"$TOKEN\" --issuer https://login.example.com/ --audience api --discovery"
    )]
    Verify(VerifyArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("keys").required(true).args(["jwks_file", "jwks_url", "discovery"])))]
struct VerifyArgs {
    /// The token (a compact JWT); `-` reads it from standard input
    token: String,
    /// The issuer the token must come from (`iss`, exactly)
    #[arg(long, value_name = "ISS")]
    issuer: String,
    /// The audience the token's `aud` must name
    #[arg(long, value_name = "AUD")]
    audience: String,
    /// Read the issuer's keys from this JWK Set file
    #[arg(long, value_name = "FILE")]
    jwks_file: Option<PathBuf>,
    /// Fetch the issuer's keys from this JWK Set URL (https, or http to a loopback host)
    #[arg(long, value_name = "URL")]
    jwks_url: Option<String>,
    /// Find the issuer's keys through OIDC discovery on the issuer
    #[arg(long)]
    discovery: bool,
    /// Require the header's `typ` to be at+jwt (RFC 9068)
    #[arg(long)]
    require_typ_at_jwt: bool,
}

#[derive(Debug, Subcommand)]
enum ContractCommand {
    /// Check a contract and report every error with its line
    ///
    /// Prints `FILE: ok (...)` when the contract is valid; otherwise prints every error as
    /// `FILE:LINE: error: MESSAGE` on standard error and exits with status 1.
    #[command(after_long_help = "Example:\n  rampgate contract check contract.toml")]
    Check {
        /// The contract (TOML)
        file: PathBuf,
        /// Print one JSON object: ok, file, version and counts, or errors (line, message)
        #[arg(long)]
        json: bool,
    },
    /// Show what a new contract version widens or narrows
    ///
    /// Lists each change as widened (more access), narrowed (less access) or neutral, widened
    /// first. Any change without a higher `version` is refused with exit status 1, and widening
    /// access without one most of all.
    #[command(
        after_long_help = "Example, in CI before deploying:\n  rampgate contract diff deployed/contract.toml contract.toml"
    )]
    Diff {
        /// The contract as it is deployed now
        old: PathBuf,
        /// The contract as it will be deployed
        new: PathBuf,
        /// Print one JSON object: from_version, to_version, changes, widens, narrows, error
        #[arg(long)]
        json: bool,
    },
    /// Compare a contract with the routes declared in code
    ///
    /// Reports routes in code but not in the contract, routes in the contract but not in code,
    /// and routes whose required scopes differ. Routes missing from the contract and differing
    /// requirements fail the check (exit status 1); routes only in the contract do not, since
    /// another deployment may serve them, nor do requirements the contract is still rolling out.
    #[command(
        after_long_help = "Example:\n  rampgate contract routes contract.toml --inventory routes.json"
    )]
    Routes {
        /// The contract (TOML)
        file: PathBuf,
        /// The routes the code declares: {"routes": [{"method", "path", "scopes", "any"}]}; `-` reads standard input
        #[arg(long, value_name = "INVENTORY.json")]
        inventory: PathBuf,
        /// Print one JSON object: missing_in_contract, missing_in_code, mismatched, ramping
        #[arg(long)]
        json: bool,
    },
    /// Explain the contract's decision for one request and token
    ///
    /// Shows the route the path falls under, the consumer and its stage, the stage's scopes, the
    /// token's scopes and the effective ones (both), the route's requirement, its mode (with the
    /// consumer's roll-out bucket for a percentage) and trust level, and the outcome with its
    /// reason code. Exit status 0 for allow and shadow_deny (the would-be denial is shown), 1 for
    /// deny.
    #[command(
        after_long_help = "Example:\n  rampgate contract explain contract.toml --client-id web --scopes \"items:read\" GET /items/42"
    )]
    Explain {
        /// The contract (TOML)
        file: PathBuf,
        /// The token's client_id (or azp)
        #[arg(long, value_name = "C")]
        client_id: String,
        /// The token's issuer, compared with the contract's
        #[arg(long, value_name = "I")]
        iss: Option<String>,
        /// The token's sub, for consumers bound to a subject
        #[arg(long, value_name = "S")]
        sub: Option<String>,
        /// The token's scopes, space-separated ("" for none)
        #[arg(long, value_name = "SCOPES")]
        scopes: String,
        /// The request method (GET, POST...)
        method: String,
        /// The request path, a concrete one (/accounts/42) or a template (/accounts/{id})
        path: String,
        /// Print one JSON object: request, decision, route, requirement, consumer, scopes, rollout, trust_demands
        #[arg(long)]
        json: bool,
    },
}

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
        Command::Contract(command) => run(command),
        Command::Token(command) => run_token(command),
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

fn run(command: ContractCommand) -> Report {
    match command {
        ContractCommand::Check { file, json } => check(&file, json),
        ContractCommand::Diff { old, new, json } => diff(&old, &new, json),
        ContractCommand::Routes {
            file,
            inventory,
            json,
        } => routes(&file, &inventory, json),
        ContractCommand::Explain {
            file,
            client_id,
            iss,
            sub,
            scopes,
            method,
            path,
            json,
        } => match load(&file) {
            Ok(contract) => explain::explain(
                &file.display().to_string(),
                &contract,
                &explain::Request {
                    method,
                    path,
                    client_id,
                    iss,
                    sub,
                    scopes,
                },
                json,
            ),
            Err(report) => report,
        },
    }
}

/// Reads a file, or standard input for `-`.
fn read(path: &Path) -> Result<String, Report> {
    if path == Path::new("-") {
        let mut text = String::new();
        return std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map(|_| text)
            .map_err(|e| {
                Report::error(
                    Status::Trouble,
                    format!("error: cannot read standard input: {e}\n"),
                )
            });
    }
    std::fs::read_to_string(path).map_err(|e| {
        Report::error(
            Status::Trouble,
            format!("error: cannot read {}: {e}\n", path.display()),
        )
    })
}

fn load(path: &Path) -> Result<Contract, Report> {
    let text = read(path)?;
    Contract::parse(&text).map_err(|errors| {
        Report::error(
            Status::Failed,
            format!("{}\n", errors.render(&path.display().to_string())),
        )
    })
}

fn load_inventory(path: &Path) -> Result<Inventory, Report> {
    let text = read(path)?;
    Inventory::from_json(&text).map_err(|e| {
        let full = e.to_string();
        let message = full
            .strip_suffix(&format!(" at line {} column {}", e.line(), e.column()))
            .unwrap_or(&full);
        let at = match e.line() {
            0 => String::new(),
            line => format!(":{line}"),
        };
        Report::error(
            Status::Trouble,
            format!(
                "{}{at}: error: {message} (an inventory is {{\"routes\": [{{\"method\", \"path\", \"scopes\", \"any\"}}]}})\n",
                path.display()
            ),
        )
    })
}

/// `3 routes`, `1 route`.
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    match serde_json::to_string_pretty(value) {
        Ok(json) => json + "\n",
        // The values serialized here are plain structs of strings, numbers and lists.
        Err(e) => format!("{{\"error\": {:?}}}\n", e.to_string()),
    }
}

/// The JSON form of `check`.
#[derive(serde::Serialize)]
struct CheckJson {
    ok: bool,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    counts: Option<Counts>,
    errors: Vec<CheckError>,
}

#[derive(serde::Serialize)]
struct Counts {
    routes: usize,
    consumers: usize,
    scopes: usize,
}

#[derive(serde::Serialize)]
struct CheckError {
    line: Option<usize>,
    message: String,
}

fn check(file: &Path, json: bool) -> Report {
    let name = file.display().to_string();
    let text = match read(file) {
        Ok(text) => text,
        Err(report) => return report,
    };
    match (Contract::parse(&text), json) {
        (Ok(contract), false) => Report::ok(format!(
            "{name}: ok (version {}, {}, {}, {})\n",
            contract.version(),
            count(contract.routes().len(), "route"),
            count(contract.consumers().len(), "consumer"),
            count(contract.scopes().len(), "scope"),
        )),
        (Ok(contract), true) => Report::ok(to_json(&CheckJson {
            ok: true,
            file: name,
            version: Some(contract.version()),
            counts: Some(Counts {
                routes: contract.routes().len(),
                consumers: contract.consumers().len(),
                scopes: contract.scopes().len(),
            }),
            errors: Vec::new(),
        })),
        (Err(errors), false) => {
            Report::error(Status::Failed, format!("{}\n", errors.render(&name)))
        }
        (Err(errors), true) => Report {
            stdout: to_json(&CheckJson {
                ok: false,
                file: name,
                version: None,
                counts: None,
                errors: errors
                    .0
                    .into_iter()
                    .map(|e| CheckError {
                        line: e.line,
                        message: e.message,
                    })
                    .collect(),
            }),
            stderr: String::new(),
            status: Status::Failed,
        },
    }
}

/// The JSON form of a diff.
#[derive(serde::Serialize)]
struct DiffJson<'a> {
    from_version: u64,
    to_version: u64,
    changes: &'a [Change],
    widens: bool,
    narrows: bool,
    error: Option<String>,
}

fn diff(old: &Path, new: &Path, json: bool) -> Report {
    let (old, new) = match (load(old), load(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(a), Err(b)) => return a.and(b),
        (Err(report), _) | (_, Err(report)) => return report,
    };
    let diff = ContractDiff::between(&old, &new);
    // The refusal's text is the report, on stderr and in the JSON `error` field.
    let refusal = diff.check().err().map(|e| e.to_string());
    let status = if refusal.is_some() {
        Status::Failed
    } else {
        Status::Ok
    };
    if json {
        let stdout = to_json(&DiffJson {
            from_version: diff.from_version,
            to_version: diff.to_version,
            changes: &diff.changes,
            widens: diff.widens(),
            narrows: diff.narrows(),
            error: refusal,
        });
        Report {
            stdout,
            stderr: String::new(),
            status,
        }
    } else {
        Report {
            stdout: diff.to_string(),
            stderr: refusal.map(|e| format!("error: {e}\n")).unwrap_or_default(),
            status,
        }
    }
}

fn routes(file: &Path, inventory: &Path, json: bool) -> Report {
    let (contract, inventory) = match (load(file), load_inventory(inventory)) {
        (Ok(contract), Ok(inventory)) => (contract, inventory),
        (Err(a), Err(b)) => return a.and(b),
        (Err(report), _) | (_, Err(report)) => return report,
    };
    let report = routes::RouteReport::compare(&contract, &inventory);
    let status = if report.fails() {
        Status::Failed
    } else {
        Status::Ok
    };
    if json {
        Report {
            stdout: to_json(&report),
            stderr: String::new(),
            status,
        }
    } else {
        Report {
            stdout: report.human(&file.display().to_string()),
            stderr: report
                .failure()
                .map(|e| format!("error: {e}\n"))
                .unwrap_or_default(),
            status,
        }
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
