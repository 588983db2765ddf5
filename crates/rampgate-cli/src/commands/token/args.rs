//! `rampgate token`: its subcommands and their arguments.

use clap::{Args, Subcommand};
use std::path::PathBuf;

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
