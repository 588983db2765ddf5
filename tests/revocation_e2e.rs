//! Revocation end to end: a real server on loopback, a real JWKS served by the
//! dev issuer, and a `RevocationList` the verifier consults. Every refusal
//! asserts the status, the `invalid_token` challenge, the reason code, and
//! that the handler did not run; every revocation is checked on the very next
//! request, including when the token was already in the verified-token cache.
#![allow(clippy::unwrap_used)]

mod common;

use common::{Answer, App, serve};
use rampgate::admin::{AdminPolicy, RevocationAdmin};
use rampgate::revocation::{
    Revocation, RevocationClock, RevocationEvent, RevocationList, RevocationStore, RevokedBy,
};
use rampgate::{JwtLayer, Verifier};
use rampgate_testkit::DevIssuer;
use serde_json::{Value, json};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

async fn setup_with(list: RevocationList) -> (DevIssuer, Verifier, RevocationList, App) {
    let dev = DevIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .issuer(dev.issuer_config())
        .revocations(list.clone())
        .build()
        .await
        .unwrap();
    let app = serve(verifier.clone()).await;
    (dev, verifier, list, app)
}

async fn setup() -> (DevIssuer, Verifier, RevocationList, App) {
    setup_with(RevocationList::new()).await
}

/// A 401 `invalid_token` with `reason`, and the handler did not run (its call
/// count is still `calls`).
fn assert_revoked(app: &App, answer: &Answer, reason: &str, calls: usize) {
    assert_eq!(answer.status, 401, "body: {}", answer.body);
    let challenge = answer.challenge.as_deref().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="test", error="invalid_token", error_description=""#),
        "{challenge}"
    );
    assert_eq!(answer.reason(), reason, "body: {}", answer.body);
    assert_eq!(answer.body["error"], "invalid_token");
    assert_eq!(app.calls(), calls, "the handler must not run");
}

/// Sends `token` twice, so that the second is a cache hit; returns the hits.
async fn warm_cache(app: &App, verifier: &Verifier, token: &str) {
    let before = verifier.cache_stats().unwrap().hits;
    assert_eq!(app.get("/me", Some(token)).await.status, 200);
    assert_eq!(app.get("/me", Some(token)).await.status, 200);
    assert!(
        verifier.cache_stats().unwrap().hits > before,
        "the token is cached"
    );
}

fn jti_of(token: &str) -> String {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    claims["jti"].as_str().unwrap().to_owned()
}

fn exp_of(token: &str) -> SystemTime {
    use base64::Engine as _;
    let payload = token.split('.').nth(1).unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap(),
    )
    .unwrap();
    UNIX_EPOCH + Duration::from_secs(claims["exp"].as_u64().unwrap())
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test]
async fn a_revoked_jti_fails_on_the_very_next_request_even_when_cached() {
    // conformance: 6750-9, 9068-7 (a revoked token is invalid_token)
    let (dev, verifier, list, app) = setup().await;
    let token = dev.token().sub("alice").sign();
    let other = dev.token().sub("alice").sign();
    warm_cache(&app, &verifier, &token).await;
    let calls = app.calls();
    list.revoke(Revocation::jti(jti_of(&token)).until(exp_of(&token)), None)
        .unwrap();
    let answer = app.get("/me", Some(&token)).await;
    assert_revoked(&app, &answer, "token_revoked_jti", calls);
    // Another token of the same subject is not touched.
    assert_eq!(app.get("/me", Some(&other)).await.status, 200);
    // Un-revoking restores access at once.
    let removed = list
        .unrevoke(RevokedBy::Jti, &jti_of(&token), None, None)
        .unwrap();
    assert!(removed.is_some());
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn a_revoked_subject_refuses_tokens_issued_before_the_cut_off() {
    // conformance: 6750-9
    let (dev, verifier, list, app) = setup().await;
    let token = dev.token().sub("mallory").sign();
    let untimed = dev.token().sub("mallory").claim("iat", Value::Null).sign();
    let bystander = dev.token().sub("bob").sign();
    warm_cache(&app, &verifier, &token).await;
    let calls = app.calls();
    let cut = SystemTime::now() + Duration::from_secs(1);
    list.revoke(Revocation::subject("mallory", cut), Some("ops"))
        .unwrap();
    assert_revoked(
        &app,
        &app.get("/me", Some(&token)).await,
        "token_revoked_sub",
        calls,
    );
    // A token without iat may be older than the cut-off: refused.
    assert_revoked(
        &app,
        &app.get("/me", Some(&untimed)).await,
        "token_revoked_sub",
        calls,
    );
    assert_eq!(app.get("/me", Some(&bystander)).await.status, 200);
    // A token issued after the cut-off passes.
    let fresh = dev
        .token()
        .sub("mallory")
        .claim("iat", json!(now_secs() + 3))
        .sign();
    assert_eq!(app.get("/me", Some(&fresh)).await.status, 200);
    list.unrevoke(RevokedBy::Sub, "mallory", None, None)
        .unwrap();
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn a_revoked_consumer_refuses_its_tokens_issued_before_the_cut_off() {
    // conformance: 6750-9
    let (dev, verifier, list, app) = setup().await;
    let token = dev.token().client_id("leaky-app").sign();
    let via_azp = dev
        .token()
        .claim("client_id", Value::Null)
        .claim("azp", json!("leaky-app"))
        .sign();
    warm_cache(&app, &verifier, &token).await;
    let calls = app.calls();
    list.revoke(
        Revocation::consumer("leaky-app", SystemTime::now() + Duration::from_secs(1))
            .issuer(dev.issuer()),
        None,
    )
    .unwrap();
    assert_revoked(
        &app,
        &app.get("/me", Some(&token)).await,
        "token_revoked_consumer",
        calls,
    );
    assert_revoked(
        &app,
        &app.get("/me", Some(&via_azp)).await,
        "token_revoked_consumer",
        calls,
    );
    let other = dev.token().client_id("good-app").sign();
    assert_eq!(app.get("/me", Some(&other)).await.status, 200);
}

#[tokio::test]
async fn a_revoked_kid_refuses_every_token_it_signed_while_still_published() {
    // conformance: 6750-9
    let (dev, verifier, list, app) = setup().await;
    let old_kid = dev.current_kid();
    let token = dev.token().sub("alice").sign();
    warm_cache(&app, &verifier, &token).await;
    let calls = app.calls();
    list.revoke(Revocation::kid(dev.issuer(), &old_kid), None)
        .unwrap();
    // The issuer still publishes the key.
    assert!(dev.jwks_json().contains(&old_kid));
    assert_revoked(
        &app,
        &app.get("/me", Some(&token)).await,
        "token_revoked_kid",
        calls,
    );
    let another = dev.token().sub("bob").sign();
    assert_revoked(
        &app,
        &app.get("/me", Some(&another)).await,
        "token_revoked_kid",
        calls,
    );
    // A token whose header names no kid is caught by the key that verified it.
    let claims = json!({"iss": dev.issuer(), "aud": dev.audience(), "sub": "carol",
        "iat": now_secs(), "exp": now_secs() + 300});
    let kidless = dev.sign_raw(r#"{"alg":"ES256","typ":"at+jwt"}"#, &claims.to_string());
    assert_revoked(
        &app,
        &app.get("/me", Some(&kidless)).await,
        "token_revoked_kid",
        calls,
    );
    // After a rotation, tokens of the new key pass (one refresh for the new kid).
    let new_kid = dev.rotate().await;
    assert_ne!(new_kid, old_kid);
    let fresh = dev.token().sub("alice").sign();
    assert_eq!(app.get("/me", Some(&fresh)).await.status, 200);
    // A kid of the same name at another issuer is not revoked: the scope is
    // this issuer (checked at the list, as the dev issuer has one name).
    assert!(
        list.unrevoke(RevokedBy::Kid, &old_kid, Some("https://elsewhere"), None)
            .unwrap()
            .is_none()
    );
    list.unrevoke(RevokedBy::Kid, &old_kid, Some(dev.issuer()), None)
        .unwrap()
        .unwrap();
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn a_jti_entry_is_dropped_after_the_tokens_exp() {
    // The list's own clock, moved forward: no sleeping.
    let millis = Arc::new(AtomicU64::new(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis() as u64,
    ));
    let m = Arc::clone(&millis);
    let clock: RevocationClock =
        Arc::new(move || UNIX_EPOCH + Duration::from_millis(m.load(Ordering::SeqCst)));
    let (dev, _verifier, list, app) = setup_with(RevocationList::with_clock(clock)).await;
    let token = dev.token().expires_in(300).sign();
    list.revoke(Revocation::jti(jti_of(&token)).until(exp_of(&token)), None)
        .unwrap();
    assert_revoked(
        &app,
        &app.get("/me", Some(&token)).await,
        "token_revoked_jti",
        0,
    );
    // Within the margin past exp that covers the verifier's leeway: kept.
    millis.fetch_add(330 * 1000, Ordering::SeqCst);
    assert_revoked(
        &app,
        &app.get("/me", Some(&token)).await,
        "token_revoked_jti",
        0,
    );
    assert_eq!(list.len(), 1);
    // Past exp + margin (5 min), the list, on its clock, drops the entry on
    // the next lookup. (The verifier's own clock still finds the token
    // unexpired, so it passes: the entry is gone.)
    millis.fetch_add(300 * 1000, Ordering::SeqCst);
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
    assert_eq!(list.len(), 0);
    assert!(list.is_empty());
}

/// `/me` behind JwtLayer, and the admin router, on one server.
async fn serve_with_admin(
    dev: &DevIssuer,
    list: RevocationList,
) -> (App, Arc<Mutex<Vec<RevocationEvent>>>) {
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    list.on_change(Arc::new(move |e: &RevocationEvent| {
        seen.lock().unwrap().push(e.clone())
    }));
    let verifier = Verifier::builder()
        .issuer(dev.issuer_config())
        .revocations(list.clone())
        .build()
        .await
        .unwrap();
    let policy = AdminPolicy::new(dev.issuer(), dev.audience()).unwrap();
    let admin =
        RevocationAdmin::new(list, policy).router(JwtLayer::new(verifier.clone()).realm("test"));
    let app = common::serve_layer_with(
        JwtLayer::new(verifier).realm("test"),
        axum::Router::new().nest("/admin", admin),
    )
    .await;
    (app, events)
}

#[tokio::test]
async fn the_admin_router_needs_its_scope_and_audits_every_change() {
    // conformance: 6750-8 (no token), 6750-10 (insufficient_scope)
    let dev = DevIssuer::start().await.unwrap();
    let list = RevocationList::new();
    let (app, events) = serve_with_admin(&dev, list.clone()).await;
    let url = app.url("/admin/revocations");
    let body = json!({"by": "sub", "value": "eve"});

    // No token: 401; a token without the admin scope: 403.
    let answer = app
        .send(
            app.client
                .post(&url)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.reason(), "token_missing");
    let user = dev.token().sub("eve").scopes(["profile:read"]).sign();
    let answer = app
        .send(
            app.client
                .post(&url)
                .bearer_auth(&user)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await;
    assert_eq!(answer.status, 403, "body: {}", answer.body);
    assert_eq!(answer.body["error"], "insufficient_scope");
    assert_eq!(answer.reason(), "scope_insufficient");
    let answer = app.send(app.client.get(&url).bearer_auth(&user)).await;
    assert_eq!(answer.status, 403);
    assert!(list.is_empty(), "nothing changed");
    assert!(events.lock().unwrap().is_empty());

    // With the scope: revoke, and eve's token fails on the very next request.
    let admin = dev.token().sub("root").scopes(["rampgate:admin"]).sign();
    assert_eq!(app.get("/me", Some(&user)).await.status, 200);
    let calls = app.calls();
    let answer = app
        .send(
            app.client
                .post(&url)
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body(body.to_string()),
        )
        .await;
    assert_eq!(answer.status, 201, "body: {}", answer.body);
    assert_eq!(answer.body["by"], "sub");
    assert_eq!(answer.body["value"], "eve");
    assert!(
        answer.body["issued_before"]
            .as_str()
            .unwrap()
            .ends_with('Z')
    );
    assert_revoked(
        &app,
        &app.get("/me", Some(&user)).await,
        "token_revoked_sub",
        calls,
    );

    // A kid, with a timestamp in seconds.
    let kid_body =
        json!({"by": "kid", "value": "nope", "iss": dev.issuer(), "until": now_secs() + 600});
    let answer = app
        .send(
            app.client
                .post(&url)
                .bearer_auth(&admin)
                .header("content-type", "application/json")
                .body(kid_body.to_string()),
        )
        .await;
    assert_eq!(answer.status, 201, "body: {}", answer.body);

    // List, whole and filtered.
    let answer = app.send(app.client.get(&url).bearer_auth(&admin)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["revocations"].as_array().unwrap().len(), 2);
    let answer = app
        .send(app.client.get(format!("{url}?by=kid")).bearer_auth(&admin))
        .await;
    let listed = answer.body["revocations"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["iss"], dev.issuer());

    // Un-revoke: eve is back; a second DELETE finds nothing.
    let delete = format!("{url}?by=sub&value=eve");
    let answer = app
        .send(app.client.delete(&delete).bearer_auth(&admin))
        .await;
    assert_eq!(answer.status, 200, "body: {}", answer.body);
    assert_eq!(app.get("/me", Some(&user)).await.status, 200);
    let answer = app
        .send(app.client.delete(&delete).bearer_auth(&admin))
        .await;
    assert_eq!(answer.status, 404);

    // Every change is an event with the actor.
    let events = events.lock().unwrap().clone();
    let seen: Vec<Value> = events
        .iter()
        .map(|e| serde_json::to_value(e).unwrap())
        .collect();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0]["action"], "revoke");
    assert_eq!(seen[0]["by"], "sub");
    assert_eq!(seen[0]["actor"], "root");
    assert_eq!(seen[1]["by"], "kid");
    assert_eq!(seen[2]["action"], "unrevoke");
    assert_eq!(seen[2]["value"], "eve");
}

#[tokio::test]
async fn the_admin_router_rejects_bad_input_with_400() {
    let dev = DevIssuer::start().await.unwrap();
    let list = RevocationList::new();
    let (app, events) = serve_with_admin(&dev, list.clone()).await;
    let url = app.url("/admin/revocations");
    let admin = dev.token().sub("root").scopes(["rampgate:admin"]).sign();
    let past = now_secs() - 10;
    let bad_bodies = [
        "not json".to_owned(),
        json!({"value": "x"}).to_string(),
        json!({"by": "token", "value": "x"}).to_string(),
        json!({"by": "jti"}).to_string(),
        json!({"by": "jti", "value": ""}).to_string(),
        json!({"by": "jti", "value": "x", "until": "tomorrow"}).to_string(),
        json!({"by": "jti", "value": "x", "until": past}).to_string(),
        json!({"by": "kid", "value": "k1"}).to_string(),
        json!({"by": "sub", "value": "x", "colour": "red"}).to_string(),
        json!({"by": "jti", "value": "x", "issued_before": "2026-01-01T00:00:00Z"}).to_string(),
    ];
    for body in bad_bodies {
        let answer = app
            .send(
                app.client
                    .post(&url)
                    .bearer_auth(&admin)
                    .header("content-type", "application/json")
                    .body(body.clone()),
            )
            .await;
        assert_eq!(answer.status, 400, "{body}: {}", answer.body);
        assert_eq!(answer.body["error"], "invalid_request", "{body}");
        assert!(answer.body["message"].as_str().unwrap().len() > 5, "{body}");
    }
    for query in ["?by=nope", "?colour=red"] {
        let answer = app
            .send(app.client.get(format!("{url}{query}")).bearer_auth(&admin))
            .await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
    }
    for query in ["", "?by=sub", "?by=bogus&value=x"] {
        let answer = app
            .send(
                app.client
                    .delete(format!("{url}{query}"))
                    .bearer_auth(&admin),
            )
            .await;
        assert_eq!(answer.status, 400, "{query}: {}", answer.body);
    }
    assert!(list.is_empty());
    assert!(events.lock().unwrap().is_empty());
}

/// The admin audience of the two-issuer service below: not the API's.
const ADMIN_AUDIENCE: &str = "rampgate-admin";

/// A service trusting two issuers with one verifier, each for the API's
/// audience and the admin audience (the verifier alone would take an admin
/// token of either), and the admin router for A's admin tokens. Returns the
/// app, the list and its change events.
async fn two_issuer_admin(
    a: &DevIssuer,
    b: &DevIssuer,
) -> (App, RevocationList, Arc<Mutex<Vec<RevocationEvent>>>) {
    let list = RevocationList::new();
    let events = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&events);
    list.on_change(Arc::new(move |e: &RevocationEvent| {
        seen.lock().unwrap().push(e.clone())
    }));
    let verifier = Verifier::builder()
        .issuer(rampgate::IssuerConfig::new(a.issuer(), [a.audience(), ADMIN_AUDIENCE]).discovery())
        .issuer(rampgate::IssuerConfig::new(b.issuer(), [b.audience(), ADMIN_AUDIENCE]).discovery())
        .revocations(list.clone())
        .build()
        .await
        .unwrap();
    let policy = AdminPolicy::new(a.issuer(), ADMIN_AUDIENCE).unwrap();
    let admin = RevocationAdmin::new(list.clone(), policy)
        .router(JwtLayer::new(verifier.clone()).realm("test"));
    let app = common::serve_layer_with(
        JwtLayer::new(verifier).realm("test"),
        axum::Router::new().nest("/admin", admin),
    )
    .await;
    (app, list, events)
}

#[tokio::test]
async fn another_issuers_admin_scope_cannot_touch_the_revocation_list() {
    let a = DevIssuer::start().await.unwrap();
    let b = DevIssuer::start().await.unwrap();
    // A's first key is compromised: A signs with a new one, the old one is
    // revoked.
    let compromised = a.current_kid();
    a.rotate().await;
    let (app, list, events) = two_issuer_admin(&a, &b).await;
    let url = app.url("/admin/revocations");
    list.revoke(Revocation::kid(a.issuer(), &compromised), Some("incident"))
        .unwrap();
    events.lock().unwrap().clear();
    let post = |token: &str, body: Value| {
        app.client
            .post(&url)
            .bearer_auth(token)
            .header("content-type", "application/json")
            .body(body.to_string())
    };
    let unrevoke_a = format!("{url}?by=kid&value={compromised}&iss={}", a.issuer());

    // B's token with the admin scope, even for the admin audience: 401
    // issuer_unknown, for every route; nothing changes.
    let b_admin = b
        .token()
        .sub("mallory")
        .audience(ADMIN_AUDIENCE)
        .scopes(["rampgate:admin"])
        .sign();
    let b_api_admin = b.token().sub("mallory").scopes(["rampgate:admin"]).sign();
    for token in [&b_admin, &b_api_admin] {
        for request in [
            app.client.delete(&unrevoke_a).bearer_auth(token),
            post(token, json!({"by": "sub", "value": "alice"})),
            app.client.get(&url).bearer_auth(token),
        ] {
            let answer = app.send(request).await;
            assert_eq!(answer.status, 401, "body: {}", answer.body);
            assert_eq!(answer.reason(), "issuer_unknown");
            assert_eq!(answer.body["error"], "invalid_token");
            let challenge = answer.challenge.as_deref().unwrap();
            assert!(
                challenge.contains(r#"error="invalid_token""#),
                "{challenge}"
            );
        }
    }
    // B's API token is still good for the API: the verifier trusts B.
    assert_eq!(app.get("/me", Some(&b_api_admin)).await.status, 200);

    // A's own token with the admin scope, but for the API's audience: 401
    // audience_mismatch.
    let a_api_admin = a.token().sub("alice").scopes(["rampgate:admin"]).sign();
    let answer = app
        .send(app.client.delete(&unrevoke_a).bearer_auth(&a_api_admin))
        .await;
    assert_eq!(answer.status, 401, "body: {}", answer.body);
    assert_eq!(answer.reason(), "audience_mismatch");
    let answer = app
        .send(post(&a_api_admin, json!({"by": "sub", "value": "bob"})))
        .await;
    assert_eq!(answer.reason(), "audience_mismatch");

    // The handlers never ran: the kid is still revoked, nothing was added,
    // no change was recorded.
    assert_eq!(list.len(), 1);
    assert_eq!(list.list()[0].by, RevokedBy::Kid);
    assert!(events.lock().unwrap().is_empty());

    // A's admin token without the scope: 403; with it, for the admin
    // audience: served.
    let a_admin = |scopes: &[&str]| {
        a.token()
            .sub("root")
            .audience(ADMIN_AUDIENCE)
            .scopes(scopes.iter().copied())
            .sign()
    };
    let answer = app
        .send(app.client.get(&url).bearer_auth(a_admin(&["profile:read"])))
        .await;
    assert_eq!(answer.status, 403, "body: {}", answer.body);
    assert_eq!(answer.reason(), "scope_insufficient");
    let answer = app
        .send(post(
            &a_admin(&["rampgate:admin"]),
            json!({"by": "sub", "value": "eve"}),
        ))
        .await;
    assert_eq!(answer.status, 201, "body: {}", answer.body);
    assert_eq!(list.len(), 2);
}

#[test]
fn the_admin_policy_needs_an_issuer_an_audience_and_a_scope() {
    use rampgate::admin::AdminPolicyError;
    assert_eq!(
        AdminPolicy::new("", "aud"),
        Err(AdminPolicyError::EmptyIssuer)
    );
    assert_eq!(
        AdminPolicy::new("https://a.example", ""),
        Err(AdminPolicyError::EmptyAudience)
    );
    let policy = AdminPolicy::new("https://a.example", "aud").unwrap();
    assert_eq!(policy.scope_name(), "rampgate:admin");
    assert_eq!(policy.clone().scope(""), Err(AdminPolicyError::EmptyScope));
    let err = AdminPolicy::new("", "aud").unwrap_err().to_string();
    assert!(err.contains("name the one issuer"), "{err}");
}

#[tokio::test]
async fn the_admin_router_refreshes_an_issuers_keys_now() {
    let dev = DevIssuer::start().await.unwrap();
    let list = RevocationList::new();
    let verifier = Verifier::builder()
        .issuer(dev.issuer_config())
        .revocations(list.clone())
        .build()
        .await
        .unwrap();
    let policy = AdminPolicy::new(dev.issuer(), dev.audience()).unwrap();
    let admin = RevocationAdmin::new(list, policy)
        .keys(verifier.clone())
        .router(JwtLayer::new(verifier.clone()).realm("test"));
    let app = common::serve_layer_with(
        JwtLayer::new(verifier).realm("test"),
        axum::Router::new().nest("/admin", admin),
    )
    .await;
    let url = app.url("/admin/keys/refresh");
    let admin_token = dev.token().sub("ops").scopes(["rampgate:admin"]).sign();
    let refresh = async |token: &str, body: &str| {
        app.send(
            app.client
                .post(&url)
                .bearer_auth(token)
                .header("content-type", "application/json")
                .body(body.to_owned()),
        )
        .await
    };
    let body = json!({"iss": dev.issuer()}).to_string();

    // Without the admin scope: 403, and nothing fetched.
    let fetches = dev.jwks_fetches();
    let user = dev.token().sub("eve").sign();
    assert_eq!(refresh(&user, &body).await.status, 403);
    assert_eq!(dev.jwks_fetches(), fetches);

    // The keys are fetched at once, whatever the poller's schedule.
    let new_kid = dev.rotate().await;
    let answer = refresh(&admin_token, &body).await;
    assert_eq!(answer.status, 200, "body: {}", answer.body);
    assert_eq!(dev.jwks_fetches(), fetches + 1);
    assert_eq!(answer.body["refreshed"]["issuer"], dev.issuer());
    assert!(answer.body["refreshed"]["keys"].as_u64().unwrap() >= 1);
    assert!(!new_kid.is_empty());

    let answer = refresh(
        &admin_token,
        &json!({"iss": "https://other.example"}).to_string(),
    )
    .await;
    assert_eq!(answer.status, 404, "body: {}", answer.body);
    let answer = refresh(&admin_token, "{\"issuer\": 1}").await;
    assert_eq!(answer.status, 400, "body: {}", answer.body);
    assert_eq!(answer.body["error"], "invalid_request");

    // The issuer is down: 502, and the keys held stay in force.
    dev.set_outage(true);
    let answer = refresh(&admin_token, &body).await;
    assert_eq!(answer.status, 502, "body: {}", answer.body);
    assert_eq!(answer.body["error"], "refresh_failed");
    dev.set_outage(false);
    let me = dev.token().sub("alice").sign();
    assert_eq!(app.get("/me", Some(&me)).await.status, 200);
}
