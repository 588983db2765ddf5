//! ContractLayer end to end: a real server on loopback, tokens from the dev
//! issuer's real JWKS, a contract file on disk that is hot-reloaded.
#![allow(clippy::unwrap_used)]

mod common;

use axum::Router;
use axum::routing::{get, post};
use rampgate::contract::{ContractHandle, Decision, Inventory, Mode, Outcome};
use rampgate::metadata::MetadataRouter;
use rampgate::{ContractLayer, DecisionReason, JwtLayer, Principal, Verifier};
use rampgate_testkit::DevIssuer;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const CONTRACT: &str = r#"
version = 1

[scopes]
"items:read" = "List items"
"items:write" = "Create items"
"export" = "Export everything"
"audit" = "Read the audit trail"

[defaults]
unknown_consumer = "deny"

[[routes]]
method = "GET"
path = "/items"
scopes = ["items:read"]

[[routes]]
method = "POST"
path = "/items"
scopes = ["items:write"]

[[routes]]
method = "GET"
path = "/items/{id}"
scopes = ["items:read"]

[[routes]]
method = "GET"
path = "/export"
scopes = ["export"]
mode = "observe"

[[routes]]
method = "GET"
path = "/audit"
scopes = ["audit"]
mode = "50%"

[[consumers]]
client_id = "web"
stage = "pilot"
stages = [
  { name = "pilot", scopes = ["items:read"] },
  { name = "ga", scopes = ["items:read", "items:write", "export", "audit"] },
]
"#;

struct Harness {
    dev: DevIssuer,
    addr: std::net::SocketAddr,
    calls: Arc<AtomicUsize>,
    last_decision: Arc<std::sync::Mutex<Option<Decision>>>,
    contract: ContractHandle,
    file: PathBuf,
    client: reqwest::Client,
}

impl Harness {
    async fn start(contract_text: &str) -> Harness {
        let dir = std::env::temp_dir().join(format!(
            "rampgate-contract-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("contract.toml");
        std::fs::write(&file, contract_text).unwrap();
        let contract = ContractHandle::from_file(&file).unwrap();

        let dev = DevIssuer::start().await.unwrap();
        let verifier = Verifier::builder()
            .issuer(dev.issuer_config())
            .build()
            .await
            .unwrap();
        let calls = Arc::new(AtomicUsize::new(0));
        let last_decision = Arc::new(std::sync::Mutex::new(None));
        let handler = {
            let calls = calls.clone();
            let last = last_decision.clone();
            move |p: Principal, decision: Option<axum::Extension<Arc<Decision>>>| {
                let calls = calls.clone();
                let last = last.clone();
                async move {
                    calls.fetch_add(1, Ordering::SeqCst);
                    *last.lock().unwrap() = decision.map(|d| (*d.0).clone());
                    p.client_id().unwrap_or_default().to_owned()
                }
            }
        };
        let app = Router::new()
            .route("/items", get(handler.clone()).post(handler.clone()))
            .route("/items/{id}", get(handler.clone()))
            .route("/export", get(handler.clone()))
            .route("/audit", get(handler.clone()))
            .route("/unlisted", post(handler))
            .route_layer(ContractLayer::new(contract.clone()))
            .route_layer(JwtLayer::new(verifier).realm("test"))
            .merge(rampgate::metadata::router(contract.clone()));
        let addr = common::spawn(app).await;
        Harness {
            dev,
            addr,
            calls,
            last_decision,
            contract,
            file,
            client: reqwest::Client::new(),
        }
    }

    fn token(&self, client_id: &str, scopes: &[&str]) -> String {
        self.dev
            .token()
            .client_id(client_id)
            .scopes(scopes.iter().copied())
            .sign()
    }

    async fn call(&self, method: &str, path: &str, token: &str) -> (u16, Option<String>, Value) {
        let url = format!("http://{}{path}", self.addr);
        let req = match method {
            "POST" => self.client.post(url),
            _ => self.client.get(url),
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

    fn decision(&self) -> Decision {
        self.last_decision.lock().unwrap().clone().unwrap()
    }
}

#[tokio::test]
async fn enforce_allows_within_the_stage_and_denies_beyond_it() {
    let h = Harness::start(CONTRACT).await;
    let token = h.token("web", &["items:read", "items:write"]);
    let (status, _, _) = h.call("GET", "/items", &token).await;
    assert_eq!(status, 200);
    let d = h.decision();
    assert_eq!(
        (d.outcome, d.reason, d.stage.as_deref(), d.contract_version),
        (Outcome::Allow, DecisionReason::Allowed, Some("pilot"), 1)
    );
    assert_eq!(d.route.as_deref(), Some("GET /items"));
    // Path templates are matched, not literal paths.
    assert_eq!(h.call("GET", "/items/42", &token).await.0, 200);

    // The token carries items:write, but the pilot stage does not allow it.
    let before = h.calls();
    let (status, challenge, body) = h.call("POST", "/items", &token).await;
    assert_eq!(status, 403);
    assert_eq!(
        challenge.as_deref(),
        Some(
            r#"Bearer realm="test", error="insufficient_scope", error_description="the contract refuses this request (scope_beyond_stage): this client's current stage pilot allows items:read, not items:write; a new token will not change that""#
        )
    );
    assert_eq!(body["reason"], "scope_beyond_stage");
    assert!(body.get("scope").is_none(), "no scope to ask for: {body}");
    assert_eq!(h.calls(), before, "the handler must not run");

    // A token without the scope at all.
    let (status, _, body) = h.call("GET", "/items", &h.token("web", &[])).await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (403, Some("scope_insufficient"))
    );
}

#[tokio::test]
async fn unknown_consumer_and_unknown_route_are_denied() {
    let h = Harness::start(CONTRACT).await;
    let (status, challenge, body) = h
        .call("GET", "/items", &h.token("stranger", &["items:read"]))
        .await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (403, Some("consumer_unknown"))
    );
    assert!(challenge.unwrap().contains(r#"error="insufficient_scope""#));
    let (status, _, body) = h
        .call("POST", "/unlisted", &h.token("web", &["items:read"]))
        .await;
    assert_eq!(
        (status, body["reason"].as_str()),
        (403, Some("route_unknown"))
    );
    assert_eq!(h.calls(), 0);
}

#[tokio::test]
async fn observe_mode_allows_and_records_the_would_be_denial() {
    let h = Harness::start(CONTRACT).await;
    let (status, _, _) = h
        .call("GET", "/export", &h.token("web", &["items:read"]))
        .await;
    assert_eq!(status, 200);
    let d = h.decision();
    assert_eq!(
        (d.outcome, d.reason, d.mode),
        (
            Outcome::ObserveDeny,
            DecisionReason::ScopeInsufficient,
            Some(Mode::Observe)
        )
    );
}

#[tokio::test]
async fn percentage_mode_enforces_for_a_stable_share_of_consumers() {
    // Forty known clients at a stage without `audit`, so each one's outcome
    // depends only on its bucket; unknown ones are admitted at a default stage.
    let mut text = CONTRACT.replace(
        r#"unknown_consumer = "deny""#,
        r#"unknown_consumer = { stage = "default", scopes = ["items:read"] }"#,
    );
    for i in 0..40 {
        text.push_str(&format!(
            "\n[[consumers]]\nclient_id = \"client-{i}\"\nstage = \"p\"\nstages = [{{ name = \"p\", scopes = [\"items:read\"] }}]\n"
        ));
    }
    let h = Harness::start(&text).await;
    let mut denied = 0;
    for i in 0..40 {
        let client = format!("client-{i}");
        let token = h.token(&client, &["items:read"]);
        let (first, _, _) = h.call("GET", "/audit", &token).await;
        let (second, _, _) = h.call("GET", "/audit", &token).await;
        assert_eq!(first, second, "{client} must not flap");
        let expected = if rampgate::contract::rollout_bucket(&client) < 50 {
            403
        } else {
            200
        };
        assert_eq!(first, expected, "{client}");
        if first == 403 {
            denied += 1;
        }
    }
    assert!(
        (8..=32).contains(&denied),
        "about half of 40 enforced, got {denied}"
    );
    // An unknown consumer picks its own client_id: it gets no bucket and is
    // always enforced, whichever id it picks.
    let calls = h.calls.load(Ordering::SeqCst);
    for i in 0..20 {
        let token = h.token(&format!("stranger-{i}"), &["items:read", "audit"]);
        let (status, _, body) = h.call("GET", "/audit", &token).await;
        assert_eq!(status, 403, "stranger-{i}: {body}");
    }
    assert_eq!(h.calls.load(Ordering::SeqCst), calls, "nothing let through");
}

#[tokio::test]
async fn hot_reload_advances_a_consumer_without_restart() {
    let h = Harness::start(CONTRACT).await;
    let _watch = h.contract.watch_scoped(Duration::from_millis(100)).unwrap();
    let token = h.token("web", &["items:read", "items:write"]);
    assert_eq!(h.call("POST", "/items", &token).await.0, 403);

    // Advance web to ga and raise the version: picked up by the watcher.
    let advanced = CONTRACT
        .replace("version = 1", "version = 2")
        .replace("stage = \"pilot\"", "stage = \"ga\"");
    std::fs::write(&h.file, advanced).unwrap();
    let mut status = 0;
    for _ in 0..50 {
        status = h.call("POST", "/items", &token).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        status, 200,
        "the advanced stage must apply without a restart"
    );
    assert_eq!(h.contract.current().version(), 2);
    assert_eq!(h.decision().stage.as_deref(), Some("ga"));
}

#[tokio::test]
async fn invalid_or_unversioned_reloads_are_refused_and_the_old_contract_serves() {
    let h = Harness::start(CONTRACT).await;
    let token = h.token("web", &["items:read", "items:write"]);

    // Broken TOML: refused, old contract keeps serving.
    std::fs::write(&h.file, "version = 2\n[[routes]\nmethod = ").unwrap();
    let err = h.contract.reload().unwrap_err();
    assert!(err.to_string().starts_with("line 2:"), "{err}");
    assert_eq!(h.contract.current().version(), 1);
    assert_eq!(h.call("GET", "/items", &token).await.0, 200);

    // Widening without a version bump: refused.
    std::fs::write(
        &h.file,
        CONTRACT.replace("stage = \"pilot\"", "stage = \"ga\""),
    )
    .unwrap();
    let err = h.contract.reload().unwrap_err();
    assert_eq!(
        err.to_string(),
        "access widens but the version did not increase (1 -> 1): raise `version`"
    );
    assert_eq!(h.call("POST", "/items", &token).await.0, 403);

    // The same change with a higher version applies, and the diff says what widened.
    std::fs::write(
        &h.file,
        CONTRACT
            .replace("stage = \"pilot\"", "stage = \"ga\"")
            .replace("version = 1", "version = 2"),
    )
    .unwrap();
    let diff = h.contract.reload().unwrap().unwrap();
    assert!(diff.widens());
    assert_eq!(
        diff.changes[0].detail,
        "advanced pilot -> ga (adds audit, export, items:write)"
    );
    assert_eq!(h.call("POST", "/items", &token).await.0, 200);
    // Unchanged file: nothing to do.
    assert!(h.contract.reload().unwrap().is_none());
}

#[tokio::test]
async fn protected_resource_metadata_is_built_from_the_contract() {
    // conformance: 9728-1, 9728-2, 9728-3, 9728-4, 9728-6
    // Without a resource, the request's Host is not reflected: a 500 that says why.
    let h = Harness::start(CONTRACT).await;
    let url = format!("http://{}/.well-known/oauth-protected-resource", h.addr);
    let resp = h.client.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("no resource identifier"),
        "{body}"
    );

    // Opted in, it is the URL the client used, never cached.
    let contract = ContractHandle::new(rampgate::contract::Contract::parse(CONTRACT).unwrap());
    let app: Router = MetadataRouter::new(contract)
        .resource_from_request_host()
        .build();
    let addr = common::spawn(app).await;
    let url = format!("http://{addr}/.well-known/oauth-protected-resource");
    let resp = reqwest::get(&url).await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "application/json");
    assert_eq!(resp.headers()["cache-control"], "no-store");
    let doc: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["resource"], format!("http://{addr}"));
    assert_eq!(
        doc["scopes_supported"],
        serde_json::json!(["audit", "export", "items:read", "items:write"])
    );
    assert_eq!(
        doc["bearer_methods_supported"],
        serde_json::json!(["header"])
    );
    for (k, v) in doc.as_object().unwrap() {
        assert!(
            !(v.is_null() || v == "" || v.as_array().is_some_and(Vec::is_empty)),
            "empty member {k}"
        );
    }

    // With a resource in the contract, path insertion (RFC 9728 §3.1) applies.
    let text = CONTRACT.replace("version = 1", "version = 1\nresource = \"https://api.example.com/v1\"\nissuer = \"https://login.example.com\"");
    let h = Harness::start(&text).await;
    let base = format!("http://{}/.well-known/oauth-protected-resource", h.addr);
    let resp = h.client.get(format!("{base}/v1")).send().await.unwrap();
    let doc: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["resource"], "https://api.example.com/v1");
    assert_eq!(
        doc["authorization_servers"],
        serde_json::json!(["https://login.example.com"])
    );
    assert_eq!(h.client.get(&base).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn challenges_point_to_the_resource_metadata() {
    // conformance: 9728-7
    let (_dev, verifier) = common::dev_issuer_and_verifier().await;
    let app = Router::new()
        .route("/x", get(|| async { "x" }))
        .route_layer(
            JwtLayer::new(verifier)
                .resource_metadata("https://api.example.com/.well-known/oauth-protected-resource"),
        );
    let addr = common::spawn(app).await;
    let resp = reqwest::get(format!("http://{addr}/x")).await.unwrap();
    assert_eq!(resp.status(), 401);
    assert_eq!(
        resp.headers()["www-authenticate"],
        r#"Bearer resource_metadata="https://api.example.com/.well-known/oauth-protected-resource""#
    );
}

#[tokio::test]
async fn scoped_extractor_rejects_like_scope_layer() {
    rampgate::require_scopes!(ReadItems: all ["items:read"]);
    use rampgate::axum::Scoped;
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let app = Router::new()
        .route(
            "/items",
            get(move |p: Scoped<ReadItems>| async move {
                c.fetch_add(1, Ordering::SeqCst);
                p.sub().unwrap_or_default().to_owned()
            }),
        )
        .route_layer(JwtLayer::new(verifier).realm("test"));
    let addr = common::spawn(app).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/items");
    let denied = client
        .get(&url)
        .bearer_auth(dev.token().scopes(["other"]).sign())
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status(), 403);
    assert_eq!(
        denied.headers()["www-authenticate"],
        r#"Bearer realm="test", error="insufficient_scope", error_description="insufficient scope: the route requires items:read", scope="items:read""#
    );
    assert_eq!(calls.load(Ordering::SeqCst), 0);
    let ok = client
        .get(&url)
        .bearer_auth(dev.token().sub("al").scopes(["items:read"]).sign())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.text().await.unwrap(), "al");
    // The extractor's requirement goes into the inventory too.
    let inventory = Inventory::default().scoped::<ReadItems>("GET", "/items");
    assert_eq!(inventory.routes[0].scopes, ["items:read"]);
}

#[tokio::test]
async fn metadata_names_the_verifiers_issuer_when_the_contract_does_not() {
    let contract = ContractHandle::new(rampgate::contract::Contract::parse(CONTRACT).unwrap());
    let (_dev, verifier) = common::dev_issuer_and_verifier().await;
    let jwt = JwtLayer::new(verifier).allow_query_token("access_token");
    let app: Router = MetadataRouter::new(contract)
        .resource("https://api.example.com")
        .authorization_servers(["https://login.example.com"])
        .bearer_methods_of(&jwt)
        .build();
    let addr = common::spawn(app).await;
    let resp = reqwest::get(format!(
        "http://{addr}/.well-known/oauth-protected-resource"
    ))
    .await
    .unwrap();
    assert_eq!(resp.headers()["cache-control"], "max-age=300");
    let doc: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(doc["resource"], "https://api.example.com");
    assert_eq!(
        doc["authorization_servers"],
        serde_json::json!(["https://login.example.com"])
    );
    // The JwtLayer accepts query tokens, so the metadata says so.
    assert_eq!(
        doc["bearer_methods_supported"],
        serde_json::json!(["header", "query"])
    );
}

#[tokio::test]
async fn a_contract_naming_its_issuer_refuses_another_trusted_issuers_tokens() {
    // Two trusted issuers: B can mint any client_id, "web" included.
    let (a, b) = (
        DevIssuer::start().await.unwrap(),
        DevIssuer::start().await.unwrap(),
    );
    let text = CONTRACT.replace(
        "version = 1",
        &format!("version = 1\nissuer = \"{}\"", a.issuer()),
    );
    let contract = ContractHandle::new(rampgate::contract::Contract::parse(&text).unwrap());
    let verifier = Verifier::builder()
        .issuer(a.issuer_config())
        .issuer(b.issuer_config())
        .build()
        .await
        .unwrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = Router::new()
        .route(
            "/items",
            get(move || async move {
                counter.fetch_add(1, Ordering::SeqCst);
                "ok"
            }),
        )
        .route_layer(ContractLayer::new(contract))
        .route_layer(JwtLayer::new(verifier).realm("test"));
    let addr = common::spawn(app).await;
    let get_items = async |token: String| {
        let resp = reqwest::Client::new()
            .get(format!("http://{addr}/items"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let challenge = resp
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or_default();
        (status, challenge, body)
    };
    let token = |dev: &DevIssuer| dev.token().client_id("web").scopes(["items:read"]).sign();
    assert_eq!(get_items(token(&a)).await.0, 200);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    let (status, challenge, body) = get_items(token(&b)).await;
    assert_eq!(status, 403);
    assert_eq!(body["reason"], "issuer_not_in_contract");
    assert_eq!(
        challenge.as_deref(),
        Some(
            r#"Bearer realm="test", error="insufficient_scope", error_description="the contract refuses this request (issuer_not_in_contract): tokens of this issuer are not admitted to this API""#
        )
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1, "nothing let through");
}

#[tokio::test]
async fn a_contract_layer_that_sees_no_matched_template_fails_closed() {
    // Under nest_service or fallback_service, axum matches no template: the
    // raw path `/static/%61dmin` is not the contract's `/static/admin`, and
    // unknown_route = "allow" would have let it through.
    let text = CONTRACT.replace(
        "unknown_consumer = \"deny\"",
        "unknown_consumer = \"deny\"\nunknown_route = \"allow\"",
    ) + "\n[[routes]]\nmethod = \"GET\"\npath = \"/static/admin\"\nscopes = [\"audit\"]\n";
    let contract = ContractHandle::new(rampgate::contract::Contract::parse(&text).unwrap());
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let outside = tower::ServiceBuilder::new()
        .layer(JwtLayer::new(verifier.clone()).realm("test"))
        .layer(ContractLayer::new(contract.clone()))
        .service_fn(move |_req: axum::extract::Request| {
            counter.fetch_add(1, Ordering::SeqCst);
            async {
                Ok::<_, std::convert::Infallible>(axum::response::Response::new(
                    axum::body::Body::from("static"),
                ))
            }
        });
    let app = Router::new()
        .route("/items", get(|| async { "items" }))
        .route_layer(ContractLayer::new(contract))
        .route_layer(JwtLayer::new(verifier).realm("test"))
        .nest_service("/static", outside.clone())
        .fallback_service(outside);
    let addr = common::spawn(app).await;
    let token = dev.token().client_id("web").scopes(["items:read"]).sign();
    let client = reqwest::Client::new();
    for path in [
        "/static/%61dmin",
        "/static/admin",
        "/static/admin/",
        "/elsewhere",
    ] {
        let resp = client
            .get(format!("http://{addr}{path}"))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 500, "{path}");
        let body: Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
        assert_eq!(body["reason"], "layers_misconfigured", "{path}");
        assert!(
            body["description"]
                .as_str()
                .unwrap()
                .contains("route_layer"),
            "{body}"
        );
    }
    assert_eq!(calls.load(Ordering::SeqCst), 0, "nothing let through");
    // The routes under route_layer are decided as usual.
    let resp = client
        .get(format!("http://{addr}/items"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

/// Separation of duties: a token holding two scopes of one `[[separation]]`
/// set is refused on the routes needing either, even where the stage (here
/// the unknown-consumer default, through its intersection with the token)
/// admits one of them.
#[tokio::test]
async fn a_token_holding_both_sides_of_a_separation_is_refused() {
    let contract = r#"
version = 1
[scopes]
"items:read" = "List items"
"items:write" = "Create items"
"export" = "Export everything"
"audit" = "Read the audit trail"
[[separation]]
name = "maker-checker"
scopes = ["items:write", "audit"]
[defaults]
unknown_consumer = { stage = "partner", scopes = ["items:read", "items:write"] }
[[routes]]
method = "GET"
path = "/items"
scopes = ["items:read"]
[[routes]]
method = "POST"
path = "/items"
scopes = ["items:write"]
"#;
    let h = Harness::start(contract).await;
    let both = h.token("partner-app", &["items:read", "items:write", "audit"]);
    let (status, challenge, body) = h.call("POST", "/items", &both).await;
    assert_eq!(status, 403);
    assert_eq!(body["reason"], "separation_of_duties");
    assert_eq!(body["error"], "insufficient_scope");
    assert!(
        body.get("scope").is_none(),
        "more scopes cure nothing: {body}"
    );
    assert_eq!(
        challenge.as_deref(),
        Some(
            r#"Bearer realm="test", error="insufficient_scope", error_description="the contract refuses this request (separation_of_duties): the token carries audit items:write, which the separation maker-checker keeps apart; use a token with only one of them""#
        )
    );
    assert_eq!(h.calls(), 0, "the handler must not run");
    // A route needing neither scope of the set serves the same token.
    assert_eq!(h.call("GET", "/items", &both).await.0, 200);
    // Without the second scope, the write goes through.
    let one = h.token("partner-app", &["items:read", "items:write"]);
    assert_eq!(h.call("POST", "/items", &one).await.0, 200);
    assert_eq!(h.calls(), 2);
}
