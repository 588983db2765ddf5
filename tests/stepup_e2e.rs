//! StepUpLayer end to end: real server on loopback, dev-issuer tokens over a real
//! JWKS, trust levels from a contract and from code. Each refusal asserts the
//! exact RFC 9470 challenge and that the handler did not run.
#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::routing::{get, post};
use rampgate::contract::{Contract, ContractHandle};
use rampgate::{ContractLayer, JwtLayer, StepUpLayer, StepUpPolicy};
use rampgate_testkit::DevIssuer;
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const CONTRACT: &str = r#"
version = 1
[scopes]
"pay" = "Pay"
"read" = "Read"

[trust.sensitive]
acr_values = ["mfa"]
acr_hierarchy = ["pwd", "mfa", "hwk"]
amr = ["otp"]
max_age = 300

[defaults]
unknown_consumer = { stage = "all", scopes = ["pay", "read"] }

[[routes]]
method = "GET"
path = "/balance"
scopes = ["read"]

[[routes]]
method = "POST"
path = "/pay"
scopes = ["pay"]
trust = "sensitive"
"#;

struct App {
    dev: DevIssuer,
    addr: std::net::SocketAddr,
    calls: Arc<AtomicUsize>,
}

async fn start() -> App {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let contract = ContractHandle::new(Contract::parse(CONTRACT).unwrap());
    let calls = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (calls.clone(), calls.clone());
    let app = Router::new()
        .route(
            "/balance",
            get(move || async move {
                c1.fetch_add(1, Ordering::SeqCst);
                "balance"
            }),
        )
        .route(
            "/pay",
            post(move || async move {
                c2.fetch_add(1, Ordering::SeqCst);
                "paid"
            }),
        )
        .route_layer(ContractLayer::new(contract))
        .route_layer(JwtLayer::new(verifier).realm("bank"));
    let addr = common::spawn(app).await;
    App { dev, addr, calls }
}

impl App {
    async fn send(&self, method: &str, path: &str, token: &str) -> (u16, Option<String>, Value) {
        let client = reqwest::Client::new();
        let url = format!("http://{}{path}", self.addr);
        let req = if method == "POST" {
            client.post(url)
        } else {
            client.get(url)
        };
        let resp = req.bearer_auth(token).send().await.unwrap();
        let status = resp.status().as_u16();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or(Value::Null);
        (status, challenge, body)
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

fn challenge(description: &str, extra: &str) -> String {
    format!(
        r#"Bearer realm="bank", error="insufficient_user_authentication", error_description="{description}"{extra}"#
    )
}

#[tokio::test]
async fn standard_routes_ignore_acr_sensitive_ones_demand_it() {
    // conformance: 9470-5
    let app = start().await;
    let plain = app.dev.token().scopes(["read", "pay"]).sign();
    assert_eq!(app.send("GET", "/balance", &plain).await.0, 200);
    let (status, header, body) = app.send("POST", "/pay", &plain).await;
    assert_eq!(status, 401);
    assert_eq!(
        header.unwrap(),
        challenge(
            "a stronger authentication level (acr) is required; other authentication methods (amr) are required; the time of authentication (auth_time) is required",
            r#", acr_values="mfa hwk", max_age="300""#
        )
    );
    assert_eq!(body["reason"], "acr_insufficient");
    assert_eq!(app.calls(), 1, "only the standard route's handler ran");
}

#[tokio::test]
async fn wrong_acr_gets_acr_values() {
    // conformance: 9470-1, 9470-2
    let app = start().await;
    let token = app
        .dev
        .token()
        .scopes(["pay"])
        .acr("pwd")
        .amr(["pwd", "otp"])
        .auth_time_ago(10)
        .sign();
    let (status, header, body) = app.send("POST", "/pay", &token).await;
    assert_eq!(status, 401);
    assert_eq!(
        header.unwrap(),
        challenge(
            "a stronger authentication level (acr) is required",
            r#", acr_values="mfa hwk""#
        )
    );
    assert_eq!(
        (body["reason"].as_str(), body["acr_values"].as_str()),
        (Some("acr_insufficient"), Some("mfa hwk"))
    );
    assert_eq!(app.calls(), 0);
}

#[tokio::test]
async fn missing_amr_is_refused() {
    let app = start().await;
    let token = app
        .dev
        .token()
        .scopes(["pay"])
        .acr("mfa")
        .amr(["pwd"])
        .auth_time_ago(10)
        .sign();
    let (status, header, body) = app.send("POST", "/pay", &token).await;
    assert_eq!(status, 401);
    assert_eq!(
        header.unwrap(),
        challenge(
            "other authentication methods (amr) are required",
            r#", acr_values="mfa hwk""#
        )
    );
    assert_eq!(body["reason"], "amr_missing");
    assert_eq!(app.calls(), 0);
}

#[tokio::test]
async fn stale_auth_time_gets_max_age() {
    // conformance: 9470-3
    let app = start().await;
    let token = app
        .dev
        .token()
        .scopes(["pay"])
        .acr("mfa")
        .amr(["otp"])
        .auth_time_ago(301 + 5)
        .sign();
    let (status, header, body) = app.send("POST", "/pay", &token).await;
    assert_eq!(status, 401);
    assert_eq!(
        header.unwrap(),
        challenge(
            "a more recent authentication is required",
            r#", max_age="300""#
        )
    );
    assert_eq!(
        (body["reason"].as_str(), body["max_age"].as_u64()),
        (Some("auth_time_stale"), Some(300))
    );
    assert_eq!(app.calls(), 0);
}

#[tokio::test]
async fn missing_auth_time_fails_when_max_age_applies() {
    let app = start().await;
    let token = app
        .dev
        .token()
        .scopes(["pay"])
        .acr("mfa")
        .amr(["otp"])
        .sign();
    let (status, header, body) = app.send("POST", "/pay", &token).await;
    assert_eq!(status, 401);
    assert_eq!(
        header.unwrap(),
        challenge(
            "the time of authentication (auth_time) is required",
            r#", max_age="300""#
        )
    );
    assert_eq!(body["reason"], "auth_time_missing");
    assert_eq!(app.calls(), 0);
}

#[tokio::test]
async fn both_unmet_in_one_challenge() {
    // conformance: 9470-4
    let app = start().await;
    let token = app
        .dev
        .token()
        .scopes(["pay"])
        .acr("pwd")
        .amr(["otp"])
        .auth_time_ago(3600)
        .sign();
    let (_, header, _) = app.send("POST", "/pay", &token).await;
    assert_eq!(
        header.unwrap(),
        challenge(
            "a stronger authentication level (acr) is required; a more recent authentication is required",
            r#", acr_values="mfa hwk", max_age="300""#
        )
    );
}

#[tokio::test]
async fn acr_hierarchy_stronger_level_satisfies() {
    let app = start().await;
    for acr in ["mfa", "hwk"] {
        let token = app
            .dev
            .token()
            .scopes(["pay"])
            .acr(acr)
            .amr(["otp"])
            .auth_time_ago(5)
            .sign();
        assert_eq!(app.send("POST", "/pay", &token).await.0, 200, "{acr}");
    }
    let unknown = app
        .dev
        .token()
        .scopes(["pay"])
        .acr("super")
        .amr(["otp"])
        .auth_time_ago(5)
        .sign();
    assert_eq!(app.send("POST", "/pay", &unknown).await.0, 401);
    assert_eq!(app.calls(), 2);
}

#[tokio::test]
async fn step_up_declared_in_code_for_one_route() {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let app = Router::new()
        .route(
            "/approve",
            post(|| async { "ok" }).route_layer(StepUpLayer::new(
                StepUpPolicy::default()
                    .acr_values(["gold"])
                    .max_age(Duration::from_secs(60)),
            )),
        )
        .route("/list", get(|| async { "list" }))
        .route_layer(JwtLayer::new(verifier));
    let addr = common::spawn(app).await;
    let client = reqwest::Client::new();
    let token = dev.token().sign();
    let list = client
        .get(format!("http://{addr}/list"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(list.status(), 200);
    let resp = client
        .post(format!("http://{addr}/approve"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        r#"Bearer error="insufficient_user_authentication", error_description="a stronger authentication level (acr) is required; the time of authentication (auth_time) is required", acr_values="gold", max_age="60""#
    );
    let gold = dev.token().acr("gold").auth_time_ago(1).sign();
    let resp = client
        .post(format!("http://{addr}/approve"))
        .bearer_auth(&gold)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn step_up_declared_in_a_handler_signature() {
    use rampgate::axum::{StepUpRequirement, SteppedUp};
    struct RecentMfa;
    impl StepUpRequirement for RecentMfa {
        fn policy() -> StepUpPolicy {
            StepUpPolicy::default()
                .acr_values(["mfa"])
                .max_age(Duration::from_secs(300))
        }
    }
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let app = Router::new()
        .route(
            "/approve",
            post(move |SteppedUp(p, ..): SteppedUp<RecentMfa>| async move {
                c.fetch_add(1, Ordering::SeqCst);
                p.acr().unwrap_or_default().to_owned()
            }),
        )
        .route_layer(JwtLayer::new(verifier).realm("bank"));
    let addr = common::spawn(app).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/approve");
    let weak = dev.token().acr("pwd").auth_time_ago(5).sign();
    let resp = client.post(&url).bearer_auth(&weak).send().await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        r#"Bearer realm="bank", error="insufficient_user_authentication", error_description="a stronger authentication level (acr) is required", acr_values="mfa""#
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let strong = dev.token().acr("mfa").auth_time_ago(5).sign();
    let resp = client.post(&url).bearer_auth(&strong).send().await.unwrap();
    assert_eq!(resp.text().await.unwrap(), "mfa");
}
