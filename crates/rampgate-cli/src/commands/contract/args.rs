//! `rampgate contract`: its subcommands and their arguments.

use clap::Subcommand;
use std::path::PathBuf;

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
    /// first, under the new version's `[change]` note when it has one. Any change without a
    /// higher `version` is refused with exit status 1, and widening access without one most of
    /// all; with `--require-change-note`, so is a widening without a note saying why.
    #[command(
        after_long_help = "Example, in CI before deploying:\n  rampgate contract diff --require-change-note deployed/contract.toml contract.toml"
    )]
    Diff {
        /// The contract as it is deployed now
        old: PathBuf,
        /// The contract as it will be deployed
        new: PathBuf,
        /// Print one JSON object: from_version, to_version, change_note, changes, widens, narrows, error
        #[arg(long)]
        json: bool,
        /// Refuse (exit status 1) a widening whose new version has no `[change]` note of its own
        /// (an author and a reason, a ticket if any)
        #[arg(long)]
        require_change_note: bool,
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
    /// Print an OpenAPI 3.1 document of the contract's HTTP routes and their security
    ///
    /// Each operation gets the route's scopes as its `security` (an any-of list as alternatives),
    /// its trust level as `x-rampgate-trust` and the 401 and 403 answers of the layers; gRPC
    /// routes are left out. The security scheme is OpenID Connect discovery of the issuer (the
    /// contract's, or --issuer-url), or OAuth 2.0 client credentials at --token-url; with neither,
    /// HTTP bearer (JWT) with the scopes as roles, and a note says so. With --merge,
    /// adds all this to an existing document and reports, on standard error, its operations the
    /// contract does not cover (exit status 1) and the contract's routes it does not have.
    #[command(
        after_long_help = "Examples:\n  rampgate contract openapi contract.toml --issuer-url https://login.example.com/\n  rampgate contract openapi contract.toml --merge openapi.json > openapi.secured.json"
    )]
    Openapi {
        /// The contract (TOML)
        file: PathBuf,
        /// An OpenAPI 3 document (JSON; from utoipa, aide...) to add the security to; `-` reads standard input
        #[arg(long, value_name = "openapi.json")]
        merge: Option<PathBuf>,
        /// The issuer, for an openIdConnect scheme at {issuer}/.well-known/openid-configuration (default: the contract's issuer)
        #[arg(long, value_name = "URL", conflicts_with = "token_url")]
        issuer_url: Option<String>,
        /// The token endpoint, for an oauth2 scheme with the client credentials flow and the contract's scopes
        #[arg(long, value_name = "URL")]
        token_url: Option<String>,
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
        /// The request method (GET, POST...), or an MCP method (tools/call, resources/read...)
        method: String,
        /// The request path, a concrete one (/accounts/42) or a template (/accounts/{id}); for an
        /// MCP method, the tool or prompt name or the resource URI
        path: String,
        /// Print one JSON object: request, decision, route, requirement, consumer, scopes, rollout, trust_demands
        #[arg(long)]
        json: bool,
    },
}
