//! The command line: commands, arguments and their help.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// The exit statuses, for the help.
macro_rules! exit_status {
    () => {
        "Exit status, for every command: 0 when all is well; 1 for a finding (invalid contract, \
         refused diff, route mismatch, invalid token, denied request, a roll-out step that would \
         break consumers); 2 when the command cannot run (wrong arguments, unreadable file or \
         input, undecodable token, unreachable keys, no valid audit event)."
    };
}

/// Check rampgate ramp contracts, compare their versions and the routes in code, explain decisions, judge roll-outs from audit files, inspect and verify tokens.
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
        "  rampgate ramp report audit.jsonl audit.jsonl.1 --contract contract.toml --window 3d\n",
        "\n",
        exit_status!()
    )
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check contracts, diff their versions, compare them with the routes in code, explain decisions
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Inspect a token (decoded, NOT verified) or verify it against an issuer's keys
    #[command(subcommand)]
    Token(TokenCommand),
    /// Judge a roll-out from the AuditLayer's audit files: may a route be enforced, a consumer advance?
    #[command(subcommand)]
    Ramp(RampCommand),
}

#[derive(Debug, Subcommand)]
pub(crate) enum RampCommand {
    /// Report per route and consumer from audit files, with a verdict for each roll-out step
    ///
    /// Reads the `decision` events of the audit files (JSON Lines; other event types and unknown
    /// fields are skipped; a malformed line is reported as FILE:LINE on standard error, counted and
    /// skipped) and prints, per route and consumer, the allowed, denied and observe-denied
    /// requests and the scopes the observe-denied ones would have missed. Then a verdict for each
    /// roll-out step the contract leaves open: enforcing each route in `observe` or `N%` mode, and
    /// advancing each consumer whose ramp has a next stage: safe, breaks, review, not enough data
    /// (fewer than --min-requests) or no data. Exit status 0 when the report is produced and no
    /// step would break consumers, 1 when one would, 2 when the input cannot be read (no file,
    /// an invalid contract, or not one valid event in the files).
    #[command(
        after_long_help = "Examples:\n  rampgate ramp report audit.jsonl audit.jsonl.1 --contract contract.toml\n  rampgate ramp report audit.jsonl --contract contract.toml --window 3d --json\n  rampgate ramp report audit.jsonl --contract contract.toml --html ramp.html"
    )]
    Report(ReportArgs),
}

#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// The audit files (JSON Lines), in any order: rotated files too (audit.jsonl.1 ...)
    #[arg(required = true, value_name = "AUDIT.jsonl")]
    pub(crate) files: Vec<PathBuf>,
    /// The contract the roll-out follows (TOML): its routes' modes and consumers' stages
    #[arg(long, value_name = "FILE")]
    pub(crate) contract: PathBuf,
    /// Only requests at or after this time (RFC 3339, such as 2026-11-26T00:00:00Z)
    #[arg(long, value_name = "RFC3339", value_parser = parse_since, conflicts_with = "window")]
    pub(crate) since: Option<i64>,
    /// Only requests in this period before the latest request in the files (3d, 12h, 90m, 2w)
    #[arg(long, value_name = "DURATION", value_parser = parse_window)]
    pub(crate) window: Option<i64>,
    /// Below this many requests in the window, a step's verdict is "not enough data"
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) min_requests: u64,
    /// Print one JSON object instead of the table (structure in docs/contracts.md)
    #[arg(long, conflicts_with = "html")]
    pub(crate) json: bool,
    /// Also write the report as one self-contained HTML page (inline CSS and SVG charts)
    #[arg(long, value_name = "OUT.html")]
    pub(crate) html: Option<PathBuf>,
}

fn parse_since(text: &str) -> Result<i64, String> {
    crate::ramp::parse_rfc3339(text)
}

fn parse_window(text: &str) -> Result<i64, String> {
    crate::ramp::parse_duration(text)
}

#[derive(Debug, Subcommand)]
pub(crate) enum TokenCommand {
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
pub(crate) struct VerifyArgs {
    /// The token (a compact JWT); `-` reads it from standard input
    pub(crate) token: String,
    /// The issuer the token must come from (`iss`, exactly)
    #[arg(long, value_name = "ISS")]
    pub(crate) issuer: String,
    /// The audience the token's `aud` must name
    #[arg(long, value_name = "AUD")]
    pub(crate) audience: String,
    /// Read the issuer's keys from this JWK Set file
    #[arg(long, value_name = "FILE")]
    pub(crate) jwks_file: Option<PathBuf>,
    /// Fetch the issuer's keys from this JWK Set URL (https, or http to a loopback host)
    #[arg(long, value_name = "URL")]
    pub(crate) jwks_url: Option<String>,
    /// Find the issuer's keys through OIDC discovery on the issuer
    #[arg(long)]
    pub(crate) discovery: bool,
    /// Require the header's `typ` to be at+jwt (RFC 9068)
    #[arg(long)]
    pub(crate) require_typ_at_jwt: bool,
}

#[derive(Debug, Subcommand)]
pub(crate) enum ContractCommand {
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
    /// reason code. Exit status 0 for allow and observe_deny (the would-be denial is shown), 1 for
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
        /// The token's scopes, space-separated; without it, a token with none
        #[arg(
            long,
            value_name = "SCOPES",
            default_value = "",
            hide_default_value = true
        )]
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
