//! The environment the example apps read, in one place:
//! `RAMPGATE_ADDR`, `RAMPGATE_ISSUER`, `RAMPGATE_AUDIENCE`, `RAMPGATE_JWKS_URL`,
//! `RAMPGATE_CONTRACT`.

use crate::DevIssuer;
use rampgate_core::IssuerConfig;
use rampgate_core::contract::{Contract, ContractHandle};
use std::net::SocketAddr;
use std::time::Duration;

/// `RAMPGATE_ADDR`, or `127.0.0.1:3000`.
pub fn listen_addr() -> Result<SocketAddr, String> {
    std::env::var("RAMPGATE_ADDR")
        .unwrap_or_else(|_| "127.0.0.1:3000".into())
        .parse()
        .map_err(|e| format!("RAMPGATE_ADDR is not an address like 127.0.0.1:3000: {e}"))
}

/// The contract file named by `RAMPGATE_CONTRACT`, watched and hot-reloaded
/// every 2 seconds (needs a tokio runtime); else the `embedded` contract text.
pub fn contract(embedded: &str) -> Result<ContractHandle, String> {
    match std::env::var("RAMPGATE_CONTRACT") {
        Ok(path) => {
            let handle = ContractHandle::from_file(&path).map_err(|e| format!("{path}: {e}"))?;
            handle.watch(Duration::from_secs(2));
            Ok(handle)
        }
        Err(_) => Contract::parse(embedded)
            .map(ContractHandle::new)
            .map_err(|e| format!("embedded contract: {e}")),
    }
}

/// The issuer to trust: `RAMPGATE_ISSUER` with `RAMPGATE_AUDIENCE` (keys from
/// `RAMPGATE_JWKS_URL`, or OIDC discovery); else the contract's `issuer` and
/// `audience` (discovery); else a freshly started [`DevIssuer`], returned so the
/// caller keeps it alive and can mint tokens.
pub async fn issuer(contract: &Contract) -> Result<(IssuerConfig, Option<DevIssuer>), String> {
    let var = |name: &str| std::env::var(name).ok();
    match (var("RAMPGATE_ISSUER"), contract.issuer(), contract.audience()) {
        (Some(issuer), _, _) => {
            let audience = var("RAMPGATE_AUDIENCE")
                .ok_or("RAMPGATE_AUDIENCE must be set with RAMPGATE_ISSUER")?;
            let config = IssuerConfig::new(issuer, [audience]);
            Ok(match var("RAMPGATE_JWKS_URL") {
                Some(url) => (config.jwks_url(url), None),
                None => (config.discovery(), None),
            })
        }
        (None, ..) if var("RAMPGATE_AUDIENCE").is_some() || var("RAMPGATE_JWKS_URL").is_some() => {
            Err("RAMPGATE_AUDIENCE or RAMPGATE_JWKS_URL is set but RAMPGATE_ISSUER is not: set RAMPGATE_ISSUER too".into())
        }
        (None, Some(issuer), Some(audience)) => Ok((IssuerConfig::new(issuer, [audience]).discovery(), None)),
        (None, Some(_), None) | (None, None, Some(_)) => Err(
            "the contract names only one of issuer and audience: name both, or neither to use the dev issuer"
                .into(),
        ),
        (None, ..) => {
            let dev = DevIssuer::start()
                .await
                .map_err(|e| format!("starting the dev issuer: {e}"))?;
            Ok((dev.issuer_config(), Some(dev)))
        }
    }
}
