//! `rampgate token verify`: the core `Verifier` itself, against an issuer's keys.

use super::read_token;
use crate::time::{human, now_secs};
use crate::{Report, Status};
use rampgate_core::{IssuerConfig, Reason, ValidationPolicy, Verifier, escape_control};
use std::path::PathBuf;

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
pub(super) fn not_the_tokens_fault(reason: Reason) -> bool {
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
                // The token's own values, even signed: escaped for the terminal.
                escape_control(principal.sub().unwrap_or("(none)")),
                escape_control(principal.client_id().unwrap_or("(none)")),
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
            stdout: format!(
                "INVALID: {}: {}\n",
                e.code(),
                escape_control(&e.to_string())
            ),
            stderr: String::new(),
            status: Status::Failed,
        },
    }
}
