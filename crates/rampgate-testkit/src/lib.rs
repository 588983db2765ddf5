//! An embedded OpenID Connect issuer for development and for your own tests.
//!
//! [`DevIssuer`] generates a signing key at start (ES256 by default, RS256 on
//! request), serves OIDC discovery and a JWKS on loopback, and mints tokens. It
//! can also misbehave on purpose (rotate keys, go down, answer slowly, serve a
//! broken JWKS) so that tests can show what a service does then.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use rampgate_testkit::DevIssuer;
//!
//! let issuer = DevIssuer::start().await.unwrap();
//! let token = issuer.token().sub("alice").client_id("cli").scopes(["profile:read"]).sign();
//! assert_eq!(token.split('.').count(), 3);
//!
//! // Point a verifier at it through OIDC discovery.
//! let verifier = rampgate_core::Verifier::builder()
//!     .issuer(issuer.issuer_config())
//!     .build()
//!     .await
//!     .unwrap();
//! let principal = verifier.verify(&token).await.unwrap();
//! assert_eq!(principal.sub(), Some("alice"));
//! # }
//! ```
//!
//! It also mints tokens over HTTP for curl walkthroughs:
//! `GET {issuer}/mint?sub=alice&client_id=cli&scope=a%20b&acr=mfa&amr=mfa,otp&auth_time_ago=10&expires_in=600`
//! answers a signed token as plain text (every parameter optional); `jkt=`
//! (a [`DpopKey`]'s thumbprint) or `x5t=` (a client certificate's) binds it.
//!
//! Without a server, [`OfflineIssuer`] holds a key pair and signs tokens that a
//! verifier with its static key set accepts: for unit tests that must not
//! open sockets.
//!
//! **Never use either in production**: it serves over plain HTTP, its keys live only
//! in memory, and it mints a token for anyone who asks.
#![cfg_attr(docsrs, feature(doc_cfg))]

mod audit;
mod dev;
mod dpop;
mod key;
mod offline;
mod redis;
mod server;
mod shared;
mod token;

pub use audit::MemorySink;
pub use dev::{DevIssuer, DevIssuerBuilder};
pub use dpop::{DpopKey, ProofBuilder};
pub use key::SigningAlg;
pub use offline::{OFFLINE_ISSUER, OfflineIssuer};
pub use redis::RedisServer;
pub use token::TokenBuilder;

use std::sync::{Mutex, MutexGuard};
use std::time::{SystemTime, UNIX_EPOCH};

/// The audience the dev issuer puts in tokens unless told otherwise.
pub const DEFAULT_AUDIENCE: &str = "rampgate-dev";

/// Locks `m`, recovering from poisoning: the guarded values (published keys,
/// fault settings) are replaced whole, so a panic cannot leave them half-written.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Sets `name` in a JSON object to `value`, or removes it for `Value::Null`:
/// the builders' `claim` and `header`.
fn set_member(
    object: &mut serde_json::Map<String, serde_json::Value>,
    name: &str,
    value: serde_json::Value,
) {
    if value.is_null() {
        object.remove(name);
    } else {
        object.insert(name.into(), value);
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
