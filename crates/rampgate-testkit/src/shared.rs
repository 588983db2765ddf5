//! What a dev or offline issuer holds: its name, audience, keys and fault
//! settings; and the `/mint` endpoint.

use crate::{
    key::{SigningAlg, SigningKey},
    token::TokenBuilder,
};
use crate::{lock, now};
use rampgate_core::binding::Thumbprint;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the JWKS and discovery endpoints do, for tests of failure handling.
#[derive(Debug, Clone, Default)]
pub(crate) struct Behaviour {
    pub(crate) outage: bool,
    pub(crate) delay: Duration,
    pub(crate) jwks_body: Option<String>,
    pub(crate) max_age: Option<u64>,
}

pub(crate) struct Shared {
    pub(crate) issuer: String,
    pub(crate) audience: String,
    pub(crate) alg: SigningAlg,
    /// Published keys; the last one signs.
    pub(crate) keys: Mutex<Vec<Arc<SigningKey>>>,
    pub(crate) behaviour: Mutex<Behaviour>,
    pub(crate) jwks_fetches: AtomicU64,
    pub(crate) discovery_fetches: AtomicU64,
    pub(crate) next_kid: AtomicU64,
}

impl Shared {
    pub(crate) fn signing_key(&self) -> Arc<SigningKey> {
        lock(&self.keys)
            .last()
            .cloned()
            .expect("the dev issuer always holds a key")
    }

    pub(crate) fn token(&self) -> TokenBuilder<'_> {
        let now = now();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.issuer));
        claims.insert("aud".into(), json!(self.audience));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        claims.insert("sub".into(), json!("dev-user"));
        claims.insert("client_id".into(), json!("dev-client"));
        let n = self.next_kid.fetch_add(1, Ordering::Relaxed);
        claims.insert("jti".into(), json!(format!("dev-{now}-{n}")));
        let mut header = Map::new();
        header.insert("typ".into(), json!("at+jwt"));
        TokenBuilder {
            issuer: self,
            header,
            claims,
            now,
        }
    }

    pub(crate) fn sign_raw(&self, header: &str, claims: &str) -> String {
        self.signing_key().compact(header, claims)
    }
}

/// `GET /mint?sub=&client_id=&scope=&acr=&amr=&auth_time_ago=&expires_in=&aud=&jkt=&x5t=`:
/// a freshly signed token as plain text, for curl walkthroughs. `amr` is
/// comma-separated; `jkt` (a DPoP key's RFC 7638 thumbprint) or `x5t` (a
/// client certificate's SHA-256 thumbprint, base64url) binds the token
/// (`cnf.jkt`, `cnf.x5t#S256`); every parameter is optional.
pub(crate) async fn mint(
    State(s): State<Arc<Shared>>,
    axum::extract::Query(q): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    // A bad number is answered with what to fix, as a 400.
    let number = |name: &str| -> Result<Option<i64>, String> {
        q.get(name)
            .map(|v| {
                v.parse()
                    .map_err(|_| format!("{name} must be a whole number of seconds\n"))
            })
            .transpose()
    };
    let (auth_time_ago, expires_in) = match (number("auth_time_ago"), number("expires_in")) {
        (Ok(a), Ok(e)) => (a, e),
        (Err(why), _) | (_, Err(why)) => return (StatusCode::BAD_REQUEST, why).into_response(),
    };
    let mut token = s.token();
    for (param, claim) in [
        ("sub", "sub"),
        ("client_id", "client_id"),
        ("scope", "scope"),
        ("acr", "acr"),
        ("aud", "aud"),
    ] {
        if let Some(v) = q.get(param) {
            token = token.claim(claim, json!(v));
        }
    }
    for (param, member) in [("jkt", "jkt"), ("x5t", "x5t#S256")] {
        if let Some(v) = q.get(param) {
            if Thumbprint::from_base64url(v).is_none() {
                let why =
                    format!("{param} must be a base64url SHA-256 thumbprint (43 characters)\n");
                return (StatusCode::BAD_REQUEST, why).into_response();
            }
            token = token.claim("cnf", json!({ member: v }));
        }
    }
    if let Some(amr) = q.get("amr") {
        token = token.amr(amr.split(',').filter(|m| !m.is_empty()));
    }
    if let Some(ago) = auth_time_ago {
        token = token.auth_time_ago(ago);
    }
    if let Some(secs) = expires_in {
        token = token.expires_in(secs);
    }
    (
        [(header::CONTENT_TYPE, "text/plain")],
        format!("{}\n", token.sign()),
    )
        .into_response()
}
