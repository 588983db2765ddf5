//! The command line: commands, arguments and their help.

use crate::commands::contract::ContractCommand;
use crate::commands::ramp::RampCommand;
use crate::commands::revocation::{RevocationsCommand, RevokeArgs};
use crate::commands::token::TokenCommand;
use clap::{Parser, Subcommand};

/// The exit statuses, for the help.
macro_rules! exit_status {
    () => {
        "Exit status, for every command: 0 when all is well; 1 for a finding (invalid contract, \
         refused diff, route mismatch, invalid token, denied request, a roll-out step that would \
         break consumers, no revocation to remove); 2 when the command cannot run (wrong \
         arguments, unreadable file or input, undecodable token, unreachable keys, no valid audit \
         event, an invalid revocation, unreachable Redis)."
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
        "  rampgate contract openapi contract.toml --merge openapi.json\n",
        "  rampgate contract explain contract.toml --client-id web --scopes \"a b\" GET /items/1\n",
        "  rampgate token inspect - --issuer https://login.example.com/ --audience api\n",
        "  rampgate token verify \"$TOKEN\" --issuer https://login.example.com/ --audience api --discovery\n",
        "  rampgate ramp report audit.jsonl audit.jsonl.1 --contract contract.toml --window 3d\n",
        "  rampgate revoke jti 6f1c2a --redis redis://127.0.0.1:6379\n",
        "  rampgate revocations list --redis redis://127.0.0.1:6379 --json\n",
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
    /// Check contracts, diff their versions, compare them with the routes in code, write their OpenAPI security, explain decisions
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Inspect a token (decoded, NOT verified) or verify it against an issuer's keys
    #[command(subcommand)]
    Token(TokenCommand),
    /// Judge a roll-out from the AuditLayer's audit files: may a route be enforced, a consumer advance?
    #[command(subcommand)]
    Ramp(RampCommand),
    /// Revoke tokens for every replica at once: writes to the Redis their revocation stores share
    ///
    /// No token and no replica needed: for an incident. Every replica refuses the tokens within
    /// moments, and after restarts. The change is recorded as made by cli:$USER@host. Exit status
    /// 0 when stored; 2 when the revocation is invalid (kid without --iss, until in the past) or
    /// Redis cannot be reached.
    #[command(
        after_long_help = "Examples:\n  rampgate revoke jti 6f1c2a --until 2026-12-01T10:00:00Z --redis redis://127.0.0.1:6379\n  rampgate revoke kid 2024-key --iss https://login.example.com/ --redis redis://10.0.0.5:6379"
    )]
    Revoke(RevokeArgs),
    /// List or remove the revocations in the Redis every replica's revocation store shares
    #[command(subcommand)]
    Revocations(RevocationsCommand),
}
