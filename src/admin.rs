//! An axum admin router to revoke, list and un-revoke tokens (feature `axum`).
//!
//! | request | does |
//! |---|---|
//! | `POST /revocations` with a JSON body | revokes; answers 201 with the revocation as stored |
//! | `GET /revocations[?by=jti\|sub\|consumer\|kid]` | lists the revocations in force |
//! | `DELETE /revocations?by=..&value=..[&iss=..]` | un-revokes; 200 with what was removed, 404 when nothing was |
//!
//! Every route needs a valid token with the admin scope (`rampgate:admin` by
//! default): no or a bad token is 401, a token without the scope 403. A body
//! or query that does not parse is 400 with `{"error": "invalid_request",
//! "message": ..}`. Every change is a `revocation` event of the store (the
//! actor is the admin token's `sub`, else its `client_id`).
//!
//! The POST body:
//!
//! ```json
//! {"by": "jti", "value": "b1c2", "until": "2026-11-29T05:00:00Z"}
//! {"by": "sub", "value": "alice", "issued_before": 1795925106, "iss": "https://issuer.example"}
//! {"by": "consumer", "value": "partner-app"}
//! {"by": "kid", "value": "2024-key", "iss": "https://issuer.example"}
//! ```
//!
//! `until` and `issued_before` are RFC 3339 timestamps or seconds since the
//! epoch; `issued_before` defaults to now, a `jti`'s `until` (its token's
//! `exp`) to the list's maximum token lifetime.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rampgate_core::{
    Principal, Revocation, RevocationError, RevocationStore, RevokedBy, parse_rfc3339,
};
use rampgate_tower::{JwtLayer, ScopeLayer};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The admin router of a revocation store, protected by its own scope.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate::admin::RevocationAdmin;
/// use rampgate::{JwtLayer, RevocationList, Verifier};
///
/// # let dev = rampgate_testkit::DevIssuer::start().await.unwrap();
/// let revocations = RevocationList::new();
/// let verifier = Verifier::builder()
///     .issuer(dev.issuer_config())
///     .revocations(revocations.clone())
///     .build()
///     .await
///     .unwrap();
/// let admin = RevocationAdmin::new(revocations)
///     .scope("ops:revoke")
///     .router(JwtLayer::new(verifier.clone()).realm("admin"));
/// let app: axum::Router = axum::Router::new().nest("/admin", admin);
/// # let _ = app;
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct RevocationAdmin {
    store: Arc<dyn RevocationStore>,
    scope: String,
}

impl std::fmt::Debug for RevocationAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationAdmin")
            .field("store", &self.store)
            .field("scope", &self.scope)
            .finish()
    }
}

/// The scope the admin routes require unless told otherwise.
pub const DEFAULT_ADMIN_SCOPE: &str = "rampgate:admin";

impl RevocationAdmin {
    /// The admin routes of `store` (a clone of the
    /// [`RevocationList`](rampgate_core::RevocationList) the verifier consults).
    pub fn new(store: impl RevocationStore) -> Self {
        RevocationAdmin::shared(Arc::new(store))
    }

    /// The admin routes of a store already shared.
    pub fn shared(store: Arc<dyn RevocationStore>) -> Self {
        RevocationAdmin {
            store,
            scope: DEFAULT_ADMIN_SCOPE.to_owned(),
        }
    }

    /// The scope every admin route requires. Defaults to [`DEFAULT_ADMIN_SCOPE`].
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = scope.into();
        self
    }

    /// The router: `/revocations` behind `jwt` and a [`ScopeLayer`] requiring
    /// the admin scope. Merge or nest it into the service's router.
    pub fn router(self, jwt: JwtLayer) -> Router {
        let scope = ScopeLayer::all([self.scope.clone()]);
        Router::new()
            .route("/revocations", get(list).post(revoke).delete(unrevoke))
            .route_layer(scope)
            .route_layer(jwt)
            .with_state(self)
    }
}

/// A 400 (or 404, 503) answer with a JSON body.
fn problem(status: StatusCode, error: &str, message: impl Into<String>) -> Response {
    let body = serde_json::json!({"error": error, "message": message.into()});
    (status, axum::Json(body)).into_response()
}

fn bad_request(message: impl Into<String>) -> Response {
    problem(StatusCode::BAD_REQUEST, "invalid_request", message)
}

fn store_error(e: RevocationError) -> Response {
    match e {
        RevocationError::Invalid(_) => bad_request(e.to_string()),
        _ => problem(
            StatusCode::SERVICE_UNAVAILABLE,
            "store_unavailable",
            e.to_string(),
        ),
    }
}

/// `by` as a kind, or the message of the 400 that refuses it.
fn parse_by(by: &str) -> Result<RevokedBy, String> {
    by.parse()
        .map_err(|_| format!("by must be one of jti, sub, consumer, kid, not {by:?}"))
}

/// Who made a change: the admin token's `sub`, else its `client_id`.
fn actor(principal: &Principal) -> Option<&str> {
    principal.sub().or(principal.client_id())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevokeBody {
    by: String,
    value: String,
    #[serde(default)]
    iss: Option<String>,
    #[serde(default)]
    issued_before: Option<TimeInput>,
    #[serde(default)]
    until: Option<TimeInput>,
}

/// A time in a body: RFC 3339, or seconds since the epoch.
#[derive(Deserialize)]
#[serde(untagged)]
enum TimeInput {
    Secs(u64),
    Text(String),
}

impl TimeInput {
    /// The time, or the message of the 400 that refuses it.
    fn parse(&self, field: &str) -> Result<SystemTime, String> {
        match self {
            TimeInput::Secs(s) => UNIX_EPOCH
                .checked_add(Duration::from_secs(*s))
                .ok_or_else(|| format!("{field} is out of range")),
            TimeInput::Text(t) => parse_rfc3339(t).ok_or_else(|| {
                format!(
                    "{field} must be an RFC 3339 time (2026-11-29T04:05:06Z) or seconds since the epoch"
                )
            }),
        }
    }
}

async fn revoke(
    State(admin): State<RevocationAdmin>,
    principal: Principal,
    body: Bytes,
) -> Response {
    let body: RevokeBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("the body must be a JSON revocation: {e}")),
    };
    let by = match parse_by(&body.by) {
        Ok(by) => by,
        Err(m) => return bad_request(m),
    };
    let mut revocation = Revocation::new(by, body.value);
    revocation.iss = body.iss;
    for (field, input, slot) in [
        (
            "issued_before",
            &body.issued_before,
            &mut revocation.issued_before,
        ),
        ("until", &body.until, &mut revocation.until),
    ] {
        if let Some(input) = input {
            match input.parse(field) {
                Ok(t) => *slot = Some(t),
                Err(m) => return bad_request(m),
            }
        }
    }
    match admin.store.revoke(revocation, actor(&principal)) {
        Ok(stored) => (StatusCode::CREATED, axum::Json(stored)).into_response(),
        Err(e) => store_error(e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    #[serde(default)]
    by: Option<String>,
}

async fn list(
    State(admin): State<RevocationAdmin>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("the only query parameter is by (jti, sub, consumer or kid)");
    };
    let by = match query.by.as_deref().map(parse_by).transpose() {
        Ok(by) => by,
        Err(m) => return bad_request(m),
    };
    let revocations: Vec<Revocation> = admin
        .store
        .list()
        .into_iter()
        .filter(|r| by.is_none_or(|by| r.by == by))
        .collect();
    axum::Json(serde_json::json!({ "revocations": revocations })).into_response()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnrevokeQuery {
    by: String,
    value: String,
    #[serde(default)]
    iss: Option<String>,
}

async fn unrevoke(
    State(admin): State<RevocationAdmin>,
    principal: Principal,
    query: Result<Query<UnrevokeQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(query)) = query else {
        return bad_request("the query must give by and value (and iss for a kid)");
    };
    let by = match parse_by(&query.by) {
        Ok(by) => by,
        Err(m) => return bad_request(m),
    };
    match admin
        .store
        .unrevoke(by, &query.value, query.iss.as_deref(), actor(&principal))
    {
        Ok(Some(removed)) => axum::Json(removed).into_response(),
        Ok(None) => problem(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("no {by} revocation of {:?}", query.value),
        ),
        Err(e) => store_error(e),
    }
}
