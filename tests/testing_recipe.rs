//! The testing guide's audit recipe (docs/getting-started.md, "The audit
//! trail in a test"), verbatim: the documented test must pass.
#![allow(clippy::unwrap_used)]

use axum::{Router, body::Body, http::Request, routing::post};
use rampgate::audit::{AuditLayer, Auditor};
use rampgate::contract::{Contract, ContractHandle};
use rampgate::{AuthStack, Verifier};
use rampgate_testkit::{DevIssuer, MemorySink};
use tower::ServiceExt;

const CONTRACT: &str = r#"
version = 1
[scopes]
"refunds:write" = "Refund an order"
[trust.sensitive]
acr_values = ["mfa"]
[defaults]
unknown_consumer = { stage = "all", scopes = ["refunds:write"] }
[[routes]]
method = "POST"
path = "/orders/{id}/refund"
scopes = ["refunds:write"]
trust = "sensitive"
audit = "required"
"#;

#[tokio::test]
async fn refunds_are_stepped_up_and_audited() {
    let dev = DevIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .issuer(dev.issuer_config())
        .build()
        .await
        .unwrap();
    let contract = ContractHandle::new(Contract::parse(CONTRACT).unwrap());
    let sink = MemorySink::new();
    let auditor = Auditor::builder().sink(sink.clone()).build().unwrap();
    let app = AuthStack::new(verifier)
        .contract(contract)
        .audit(AuditLayer::new(auditor.clone())) // outermost: sees every refusal
        .protect(Router::new().route("/orders/{id}/refund", post(|| async { "refunded" })));

    let refund = |token: String| {
        Request::post("/orders/42/refund")
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap()
    };
    let user = || dev.token().sub("alice").scopes(["refunds:write"]);
    // No multi-factor login: the contract's trust level refuses it.
    let weak = app.clone().oneshot(refund(user().sign())).await.unwrap();
    assert_eq!(weak.status(), 401);
    let strong = app.oneshot(refund(user().acr("mfa").sign())).await.unwrap();
    assert_eq!(strong.status(), 200);

    auditor.flush().await; // the events are written in the background
    let events = sink.decisions();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["reason"], "acr_insufficient");
    assert_eq!(events[0]["step_up"], "failed");
    assert_eq!(events[1]["outcome"], "allow");
    assert_eq!(events[1]["step_up"], "passed");
}

#[test]
fn the_guide_shows_this_very_test() {
    let guide = include_str!("../docs/getting-started.md");
    let section = guide
        .split("### The audit trail in a test: `MemorySink`")
        .nth(1)
        .unwrap();
    let shown = section
        .split("```rust,ignore\n")
        .nth(1)
        .unwrap()
        .split("```")
        .next()
        .unwrap();
    let this = include_str!("testing_recipe.rs");
    assert!(
        this.contains(shown),
        "docs/getting-started.md's recipe and tests/testing_recipe.rs have drifted apart"
    );
}
