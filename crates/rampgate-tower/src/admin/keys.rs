//! `POST /keys/refresh`: refetch an issuer's JWKS now, for a compromised or
//! rotated-out key, without waiting for the poller's schedule.

use super::{RevocationAdmin, actor, bad_request, problem};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rampgate_core::{ErrorKind, Principal, escape_control};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshBody {
    iss: String,
}

/// Refreshes the keys of the issuer the body names: 200 with its key health,
/// 404 for an issuer the verifier does not trust, 409 for keys that are not
/// fetched (static or file keys), 502 when the fetch fails (the keys held
/// before stay in force).
pub(super) async fn refresh(
    State(admin): State<RevocationAdmin>,
    principal: Principal,
    body: Bytes,
) -> Response {
    let Some(verifier) = &admin.keys else {
        return problem(StatusCode::NOT_FOUND, "not_found", "no verifier to refresh");
    };
    let body: RefreshBody = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return bad_request(format!("the body must be {{\"iss\": \"...\"}}: {e}")),
    };
    if !verifier.issuers().any(|i| i == body.iss) {
        return problem(
            StatusCode::NOT_FOUND,
            "not_found",
            format!("issuer {:?} is not configured", body.iss),
        );
    }
    tracing::info!(
        iss = &*escape_control(&body.iss),
        actor = actor(&principal).map(escape_control).as_deref(),
        "admin: refreshing the issuer's keys now"
    );
    match verifier.refresh_keys(&body.iss).await {
        Ok(()) => {
            let health = verifier
                .health()
                .issuers
                .into_iter()
                .find(|i| i.issuer == body.iss);
            axum::Json(serde_json::json!({ "refreshed": health })).into_response()
        }
        Err(e) if matches!(e.kind(), ErrorKind::Config { .. }) => {
            problem(StatusCode::CONFLICT, "not_refreshable", e.to_string())
        }
        Err(e) => problem(StatusCode::BAD_GATEWAY, "refresh_failed", e.to_string()),
    }
}
