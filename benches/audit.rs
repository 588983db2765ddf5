//! What the `AuditLayer` with the JSON Lines file sink adds to a request.
//!
//! One group, `audit_stack`, so that the ratio comes from one run: the full
//! `AuthStack` (JWT with the verified-token cache, the contract, step-up from
//! the contract) on an axum router, one cached ES256 token, an allowed
//! request,
//!
//! - `without_audit`: the stack alone;
//! - `with_audit_file`: the same stack with `.audit(AuditLayer)` writing to a
//!   `FileSink` (default options: rotation at 100 MiB, fsync on rotation);
//! - `with_audit_discard`: the same with a sink that discards the events
//!   unserialised: the request path's share of the cost, without the writer's
//!   JSON and file work competing for the cores.
//!
//! Requests go through `tower::ServiceExt::oneshot` (no sockets), on a
//! two-worker runtime so that the auditor's writer task runs beside them. The
//! number of events dropped for a full queue is printed at the end: with a
//! writer that keeps up it is 0, and the figure measures the recording path.
//!
//! Run with `cargo bench --bench audit`. See docs/benchmarks.md.
#![allow(clippy::unwrap_used, missing_docs)]

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use criterion::{Criterion, criterion_group, criterion_main};
use rampgate::AuthStack;
use rampgate::audit::{AuditEvent, AuditLayer, AuditSink, Auditor, FileSink, SinkFuture};
use rampgate::contract::{Contract, ContractHandle};
use rampgate_testkit::OfflineIssuer;
use std::time::Duration;
use tower::ServiceExt as _;

const CONTRACT: &str = r#"
version = 1
[scopes]
"items:read" = "Read items"
[[routes]]
method = "GET"
path = "/items/{id}"
scopes = ["items:read"]
[[consumers]]
client_id = "web"
stage = "ga"
stages = [{ name = "ga", scopes = ["items:read"] }]
"#;

/// Takes every batch and does nothing with it.
struct Discard;

impl AuditSink for Discard {
    fn write<'a>(&'a mut self, _batch: &'a [AuditEvent]) -> SinkFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

fn audit_stack(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = std::env::temp_dir().join(format!("rampgate-bench-audit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (issuer, verifier, auditor, discard) = rt.block_on(async {
        let issuer = OfflineIssuer::new();
        let verifier = issuer.verifier().await.unwrap();
        let auditor = Auditor::builder()
            .sink(FileSink::open(dir.join("audit.jsonl")).unwrap())
            .build()
            .unwrap();
        let discard = Auditor::builder().sink(Discard).build().unwrap();
        (issuer, verifier, auditor, discard)
    });
    let contract = ContractHandle::new(Contract::parse(CONTRACT).unwrap());
    let router = || Router::new().route("/items/{id}", get(|| async { "item" }));
    let stack = || AuthStack::new(verifier.clone()).contract(contract.clone());
    let without = stack().protect(router());
    let with = stack()
        .audit(AuditLayer::new(auditor.clone()))
        .protect(router());
    let with_discard = stack()
        .audit(AuditLayer::new(discard.clone()))
        .protect(router());
    let token = issuer
        .token()
        .client_id("web")
        .scopes(["items:read"])
        .sign();
    let bearer = format!("Bearer {token}");
    let request = || {
        http::Request::get("/items/42")
            .header("authorization", bearer.as_str())
            .body(Body::empty())
            .unwrap()
    };
    // Both answer 200 (and the token is in the cache) before timing.
    rt.block_on(async {
        for app in [&without, &with, &with_discard] {
            let response = app.clone().oneshot(request()).await.unwrap();
            assert_eq!(response.status(), 200);
        }
    });

    let mut group = c.benchmark_group("audit_stack");
    group.bench_function("without_audit", |b| {
        b.to_async(&rt)
            .iter(|| async { without.clone().oneshot(request()).await.unwrap() })
    });
    group.bench_function("with_audit_file", |b| {
        b.to_async(&rt)
            .iter(|| async { with.clone().oneshot(request()).await.unwrap() })
    });
    group.bench_function("with_audit_discard", |b| {
        b.to_async(&rt)
            .iter(|| async { with_discard.clone().oneshot(request()).await.unwrap() })
    });
    group.finish();
    for (name, auditor) in [("file", &auditor), ("discard", &discard)] {
        rt.block_on(auditor.flush());
        eprintln!(
            "{name} sink: {} events recorded, {} written, {} dropped (queue full)",
            auditor.recorded(),
            auditor.written(),
            auditor.dropped()
        );
    }
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = audit_stack
}
criterion_main!(benches);
