//! An axum admin router to revoke, list and un-revoke tokens (feature `axum`).
//!
//! | request | does |
//! |---|---|
//! | `POST /revocations` with a JSON body | revokes; answers 201 with the revocation as stored |
//! | `GET /revocations[?by=jti\|sub\|consumer\|kid]` | lists the revocations in force |
//! | `DELETE /revocations?by=..&value=..[&iss=..]` | un-revokes; 200 with what was removed, 404 when nothing was |
//! | `POST /keys/refresh` with `{"iss": ".."}` (with [`RevocationAdmin::keys`]) | refetches the issuer's JWKS now; 200 with its key health, 404 for an unknown issuer, 409 for keys that are not fetched, 502 when the fetch fails |
//!
//! Every route needs a valid token of the admin issuer, naming the admin
//! audience, with the admin scope (`rampgate:admin` by default): an
//! [`AdminPolicy`] that the router cannot be built without. No or a bad token
//! is 401; a token of another issuer the verifier trusts is 401
//! `issuer_unknown`, one for another audience 401 `audience_mismatch`, even
//! with the admin scope (in a service trusting several issuers, issuer B's
//! `rampgate:admin` must not un-revoke issuer A's compromised key); a token
//! without the scope is 403. Give the router a verifier of its own that trusts
//! only the admin issuer and audience (docs/revocation.md). A body
//! or query that does not parse is 400 with `{"error": "invalid_request",
//! "message": ..}`. Every change is a `revocation` event of the store (the
//! actor is the admin token's `sub`, else its `client_id`), and reaches the
//! audit trail with no call when the router is served under an
//! [`AuditLayer`] or built with [`RevocationAdmin::audit`].
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

mod keys;

use crate::{AuditLayer, JwtLayer, ScopeLayer};
use axum::Router;
use axum::body::Bytes;
use axum::extract::Request;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rampgate_core::{
    DenialOptions, Error, ErrorKind, Principal, Revocation, RevocationError, RevocationStore,
    RevokedBy, Verifier,
};
use serde::Deserialize;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The scope the admin routes require unless told otherwise.
pub const DEFAULT_ADMIN_SCOPE: &str = "rampgate:admin";

/// Why an [`AdminPolicy`] cannot be built: each says what to set.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdminPolicyError {
    /// The admin issuer is empty.
    #[error(
        "admin policy: the issuer is empty: name the one issuer (its exact `iss`) whose tokens may change the revocation list"
    )]
    EmptyIssuer,
    /// The admin audience is empty.
    #[error(
        "admin policy: the audience is empty: name the audience admin tokens are issued for (one of its own, not the API's)"
    )]
    EmptyAudience,
    /// The admin scope is empty.
    #[error("admin policy: the scope is empty: name the scope admin tokens carry")]
    EmptyScope,
}

/// Whose tokens may change the revocation list: one issuer, one audience and
/// one scope, all three required of every admin request.
///
/// Issuer and audience have no default: a service that trusts several
/// issuers would otherwise let any of them administer the list (issuer B's
/// `rampgate:admin` un-revoking issuer A's compromised key).
///
/// ```
/// use rampgate_tower::admin::{AdminPolicy, AdminPolicyError};
///
/// let policy = AdminPolicy::new("https://login.example.com/", "rampgate-admin")
///     .unwrap()
///     .scope("ops:revoke")
///     .unwrap();
/// assert_eq!(policy.issuer(), "https://login.example.com/");
/// assert_eq!(policy.scope_name(), "ops:revoke");
/// assert_eq!(AdminPolicy::new("", "rampgate-admin"), Err(AdminPolicyError::EmptyIssuer));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminPolicy {
    issuer: String,
    audience: String,
    scope: String,
}

impl AdminPolicy {
    /// Admin tokens must have `iss == issuer` exactly, name `audience` in
    /// their `aud`, and carry [`DEFAULT_ADMIN_SCOPE`].
    ///
    /// # Errors
    ///
    /// [`AdminPolicyError::EmptyIssuer`] or [`AdminPolicyError::EmptyAudience`].
    pub fn new(
        issuer: impl Into<String>,
        audience: impl Into<String>,
    ) -> Result<Self, AdminPolicyError> {
        let (issuer, audience) = (issuer.into(), audience.into());
        if issuer.is_empty() {
            return Err(AdminPolicyError::EmptyIssuer);
        }
        if audience.is_empty() {
            return Err(AdminPolicyError::EmptyAudience);
        }
        Ok(AdminPolicy {
            issuer,
            audience,
            scope: DEFAULT_ADMIN_SCOPE.to_owned(),
        })
    }

    /// The scope admin tokens must carry instead of [`DEFAULT_ADMIN_SCOPE`].
    ///
    /// # Errors
    ///
    /// [`AdminPolicyError::EmptyScope`].
    pub fn scope(mut self, scope: impl Into<String>) -> Result<Self, AdminPolicyError> {
        self.scope = scope.into();
        if self.scope.is_empty() {
            return Err(AdminPolicyError::EmptyScope);
        }
        Ok(self)
    }

    /// The admin issuer.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The admin audience.
    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// The admin scope.
    pub fn scope_name(&self) -> &str {
        &self.scope
    }

    /// Whether `principal` is an admin token's: of the admin issuer, for the
    /// admin audience (the scope is [`ScopeLayer`]'s). The refusal is what a
    /// verifier trusting only that issuer and audience would answer.
    fn check(&self, principal: Option<&Principal>) -> Result<(), Error> {
        let Some(principal) = principal else {
            // A JwtLayer made optional() lets token-less requests through.
            return Err(ErrorKind::TokenMissing.into());
        };
        if principal.iss() != self.issuer {
            return Err(ErrorKind::IssuerUnknown.into());
        }
        let names_audience = match principal.claims().get("aud") {
            Some(serde_json::Value::String(aud)) => *aud == self.audience,
            Some(serde_json::Value::Array(auds)) => {
                auds.iter().any(|aud| aud.as_str() == Some(&self.audience))
            }
            _ => false,
        };
        if !names_audience {
            return Err(ErrorKind::AudienceMismatch.into());
        }
        Ok(())
    }
}

/// The admin router of a revocation store, for the tokens its
/// [`AdminPolicy`] names.
///
/// Give it a [`JwtLayer`] over a verifier of its own, trusting only the admin
/// issuer for the admin audience, and consulting the same list (so that a
/// revoked admin token is refused too). The router checks the issuer and the
/// audience itself as well, so a verifier shared with the API, trusting other
/// issuers, cannot open it to them.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use rampgate_tower::admin::{AdminPolicy, RevocationAdmin};
/// use rampgate_core::{IssuerConfig, RevocationList, Verifier};
/// use rampgate_tower::JwtLayer;
///
/// # let dev = rampgate_testkit::DevIssuer::start().await.unwrap();
/// # let (admin_issuer, jwks_url) = (dev.issuer(), dev.jwks_url());
/// let revocations = RevocationList::new();
/// // Only the admin issuer, only for the admin audience.
/// let admin_verifier = Verifier::builder()
///     .issuer(IssuerConfig::new(admin_issuer, ["rampgate-admin"]).jwks_url(jwks_url))
///     .revocations(revocations.clone())
///     .build()
///     .await
///     .unwrap();
/// let policy = AdminPolicy::new(admin_issuer, "rampgate-admin").unwrap();
/// let admin = RevocationAdmin::new(revocations, policy)
///     .router(JwtLayer::new(admin_verifier).realm("admin"));
/// let app: axum::Router = axum::Router::new().nest("/admin", admin);
/// # let _ = app;
/// # }
/// ```
#[derive(Clone)]
#[must_use]
pub struct RevocationAdmin {
    store: Arc<dyn RevocationStore>,
    policy: Arc<AdminPolicy>,
    audit: Option<AuditLayer>,
    /// The verifier whose keys `POST /keys/refresh` refetches.
    keys: Option<Verifier>,
}

impl std::fmt::Debug for RevocationAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RevocationAdmin")
            .field("store", &self.store)
            .field("policy", &self.policy)
            .field("audit", &self.audit)
            .field("keys", &self.keys)
            .finish()
    }
}

impl RevocationAdmin {
    /// The admin routes of `store` (a clone of the
    /// [`RevocationList`](rampgate_core::RevocationList) the verifier
    /// consults), for the tokens `policy` names.
    pub fn new(store: impl RevocationStore, policy: AdminPolicy) -> Self {
        RevocationAdmin::shared(Arc::new(store), policy)
    }

    /// The admin routes of a store already shared.
    pub fn shared(store: Arc<dyn RevocationStore>, policy: AdminPolicy) -> Self {
        RevocationAdmin {
            store,
            policy: Arc::new(policy),
            audit: None,
            keys: None,
        }
    }

    /// Adds `POST /keys/refresh`, which refetches an issuer's JWKS in
    /// `verifier` (the service's, not the admin router's own) at once: for a
    /// key the issuer has rotated out because it was compromised.
    pub fn keys(mut self, verifier: Verifier) -> Self {
        self.keys = Some(verifier);
        self
    }

    /// Audits the router: every admin request is a `decision` event of
    /// `audit`'s auditor, and every change of the store (from this router or
    /// from code) a `revocation` event, from now on. Without it, a router
    /// served under an [`AuditLayer`] has its store's changes audited too:
    /// the layer watches the store before the first change passes through.
    pub fn audit(mut self, audit: AuditLayer) -> Self {
        audit.auditor().watch_revocations(self.store.as_ref());
        self.audit = Some(audit);
        self
    }

    /// The policy every admin request is held to.
    pub fn policy(&self) -> &AdminPolicy {
        &self.policy
    }

    /// The router: `/revocations` behind `jwt`, then the admin issuer and
    /// audience, then a [`ScopeLayer`] requiring the admin scope. Merge or nest
    /// it into the service's router.
    pub fn router(self, jwt: JwtLayer) -> Router {
        let scope = ScopeLayer::all([self.policy.scope.clone()]);
        let gate = axum::middleware::from_fn_with_state(self.policy.clone(), admin_gate);
        let meet = axum::middleware::from_fn_with_state(self.store.clone(), meet_store);
        let audit = self.audit.clone();
        // The last layer added runs first: (the audit layer), jwt, the gate,
        // the scope, then the store is handed to an audit layer outside.
        let mut router =
            Router::new().route("/revocations", get(list).post(revoke).delete(unrevoke));
        if self.keys.is_some() {
            router = router.route("/keys/refresh", post(keys::refresh));
        }
        let router = router
            .route_layer(meet)
            .route_layer(scope)
            .route_layer(gate)
            .route_layer(jwt)
            .with_state(self);
        match audit {
            Some(audit) => router.layer(audit),
            None => router,
        }
    }
}

/// Hands the store to the [`AuditLayer`] outside, if any, before the handler
/// can change it: the layer watches it, so the change is an audit event.
async fn meet_store(
    State(store): State<Arc<dyn RevocationStore>>,
    req: Request,
    next: Next,
) -> Response {
    crate::jwt::meet_store(req.extensions(), &store);
    next.run(req).await
}

/// Refuses, before the scope is even looked at, a token that is not of the
/// admin issuer and audience.
async fn admin_gate(State(policy): State<Arc<AdminPolicy>>, req: Request, next: Next) -> Response {
    let principal = req.extensions().get::<Principal>();
    match policy.check(principal) {
        Ok(()) => next.run(req).await,
        Err(error) => {
            tracing::warn!(
                reason = %error.code(),
                iss = principal.map(Principal::iss),
                sub = principal.and_then(Principal::sub),
                admin_issuer = %policy.issuer,
                "admin router refused a token not issued for it"
            );
            DenialOptions::deny_in(req.extensions(), &error).into_response()
        }
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
            TimeInput::Text(t) => rampgate_core::time::parse_rfc3339(t).map_err(|_| {
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
