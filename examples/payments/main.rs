//! A payments service: reading accounts, creating transactions, and approving
//! them, which needs a recent multi-factor authentication (RFC 9470 step-up).
//!
//! ```text
//! cargo run --example payments
//! ```
//!
//! - `GET /accounts/{id}`: scope `accounts:read`.
//! - `POST /transactions`: scope `payments:write`; body `{"from","to","amount"}`.
//! - `POST /transactions/{id}/approve`: scope `payments:approve`, trust level
//!   `sensitive`: `acr` at least `mfa`, authenticated within 5 minutes.
//!
//! Creating and approving are separate duties (`[[separation]] four-eyes` in
//! the contract): `payments-console` creates, `approvals-console` approves, and
//! a token carrying both scopes is refused (403 `separation_of_duties`).
//!
//! Configuration as in the quickstart (`RAMPGATE_CONFIG`, `RAMPGATE_ADDR`,
//! `RAMPGATE_ISSUER`, `RAMPGATE_AUDIENCE`, `RAMPGATE_JWKS_URL`,
//! `RAMPGATE_READY_TIMEOUT`; `GET /ready` serves the key health), and
//! `RAMPGATE_CONTRACT` to replace the embedded `examples/payments/contract.toml`.
//! `RAMPGATE_AUDIT=FILE` appends one JSON line per request to `FILE` (the audit
//! trail, `docs/audit.md`; approvals are `audit = "required"` in the contract:
//! they answer 503 rather than run unaudited); `GET /metrics` serves the
//! Prometheus metrics. With no issuer configured, the example starts the
//! development issuer and says so on stderr.
//! As in the quickstart, `[revocation]` (or `RAMPGATE_REDIS_URL`) shares
//! revocations with every replica, each change audited, and `[admin]` mounts
//! the admin router for the operators' issuer and scope.
//! The walkthrough is in `examples/payments/README.md`.

#[path = "../support/mod.rs"]
mod support;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use rampgate::{ContractLayer, JwtLayer, Principal};
use rampgate_testkit::DevIssuer;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Ledger {
    accounts: BTreeMap<String, i64>,
    transactions: BTreeMap<String, Transaction>,
}

struct Transaction {
    from: String,
    to: String,
    amount: i64,
    created_by: String,
    approved_by: Option<String>,
}

type Shared = Arc<Mutex<Ledger>>;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    support::init_tracing();

    // Before the verifier fetches its first keys, so that the JWKS metrics
    // count that fetch too.
    let metrics = support::metrics_route()?;
    let support::Setup {
        config,
        contract,
        verifier,
        dev,
    } = support::setup(include_str!("contract.toml")).await?;
    let addr = config.listen_addr();
    let issuers: Vec<String> = verifier.issuers().map(str::to_owned).collect();
    let ready = support::ready_route(verifier.clone());
    let audit = support::audit_layer(&config, &contract, &verifier)?;
    // Kept to flush the audit queue once the server has stopped.
    let auditor = audit.auditor().clone();

    let ledger: Shared = Arc::default();
    {
        let mut l = ledger.lock().unwrap_or_else(|p| p.into_inner());
        l.accounts.insert("acc-1".into(), 10_000);
        l.accounts.insert("acc-2".into(), 2_500);
        // One pending transaction, so the approval walkthrough works right away.
        l.transactions.insert(
            "tx-1".into(),
            Transaction {
                from: "acc-1".into(),
                to: "acc-2".into(),
                amount: 125,
                created_by: "seed".into(),
                approved_by: None,
            },
        );
    }

    // The last route_layer added runs first: the audit layer (which records
    // every refusal too), JwtLayer, then the contract, which also demands the
    // step-up of the routes it marks sensitive.
    let app = Router::new()
        .route("/accounts/{id}", get(account))
        .route("/transactions", post(create))
        .route("/transactions/{id}/approve", post(approve))
        .route_layer(ContractLayer::new(contract.clone()))
        .route_layer(JwtLayer::new(verifier.clone()).realm("payments"))
        .route_layer(audit)
        .route("/ready", ready)
        .route("/metrics", metrics)
        .route("/health", get(|| async { "ok" }))
        .merge(
            // A loopback demo whose port can be chosen at bind time: the resource is the
            // URL the client used. Behind a proxy, give `.resource(url)` instead.
            rampgate::metadata::MetadataRouter::new(contract)
                .resource_from_request_host()
                .authorization_servers(issuers)
                .build(),
        )
        .with_state(ledger);
    // `[admin]`: the admin router, for the operators' issuer and scope only.
    let app = support::with_admin(app, &config, &verifier).await?;

    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    println!("listening on {addr}");
    if let Some(dev) = &dev {
        print_walkthrough(dev, addr);
    }
    support::serve_audited(listener, app, &auditor).await?;
    Ok(())
}

async fn account(
    State(ledger): State<Shared>,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    let l = ledger.lock().unwrap_or_else(|p| p.into_inner());
    let balance = l.accounts.get(&id).ok_or(StatusCode::NOT_FOUND)?;
    Ok(Json(json!({ "id": id, "balance": balance })))
}

async fn create(
    State(ledger): State<Shared>,
    principal: Principal,
    Json(body): Json<Value>,
) -> Result<(StatusCode, Json<Value>), (StatusCode, Json<Value>)> {
    let bad = |msg: &str| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": msg })),
        )
    };
    let from = body["from"]
        .as_str()
        .ok_or_else(|| bad("from is required"))?
        .to_owned();
    let to = body["to"]
        .as_str()
        .ok_or_else(|| bad("to is required"))?
        .to_owned();
    let amount = body["amount"]
        .as_i64()
        .filter(|a| *a > 0)
        .ok_or_else(|| bad("amount must be a positive integer"))?;
    let mut l = ledger.lock().unwrap_or_else(|p| p.into_inner());
    if !l.accounts.contains_key(&from) || !l.accounts.contains_key(&to) {
        return Err(bad("unknown account"));
    }
    let id = format!("tx-{}", l.transactions.len() + 1);
    l.transactions.insert(
        id.clone(),
        Transaction {
            from: from.clone(),
            to: to.clone(),
            amount,
            created_by: principal.sub().unwrap_or_default().to_owned(),
            approved_by: None,
        },
    );
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": id, "from": from, "to": to, "amount": amount, "status": "pending" })),
    ))
}

async fn approve(
    State(ledger): State<Shared>,
    principal: Principal,
    Path(id): Path<String>,
) -> Result<Json<Value>, (StatusCode, Json<Value>)> {
    let mut l = ledger.lock().unwrap_or_else(|p| p.into_inner());
    let Ledger {
        accounts,
        transactions,
    } = &mut *l;
    let tx = transactions.get_mut(&id).ok_or((
        StatusCode::NOT_FOUND,
        Json(json!({ "error": "no such transaction" })),
    ))?;
    if tx.approved_by.is_some() {
        return Err((
            StatusCode::CONFLICT,
            Json(json!({ "error": "already approved" })),
        ));
    }
    let approver = principal.sub().unwrap_or_default().to_owned();
    if let Some(balance) = accounts.get_mut(&tx.from) {
        *balance -= tx.amount;
    }
    if let Some(balance) = accounts.get_mut(&tx.to) {
        *balance += tx.amount;
    }
    tx.approved_by = Some(approver.clone());
    Ok(Json(json!({
        "id": id,
        "status": "approved",
        "approved_by": approver,
        "created_by": tx.created_by,
        "acr": principal.acr(),
    })))
}

fn print_walkthrough(dev: &DevIssuer, addr: SocketAddr) {
    // Password-only logins: enough to read and to create, not to approve.
    let login = |sub: &str, client_id: &str, scopes: [&str; 2]| {
        dev.token()
            .sub(sub)
            .client_id(client_id)
            .scopes(scopes)
            .acr("pwd")
            .amr(["pwd"])
            .auth_time_ago(0)
            .expires_in(3600)
            .sign()
    };
    let console = login(
        "oscar",
        "payments-console",
        ["accounts:read", "payments:write"],
    );
    let approver = login(
        "olivia",
        "approvals-console",
        ["accounts:read", "payments:approve"],
    );
    let mint = format!(
        "{}/mint?sub=olivia&client_id=approvals-console&scope=accounts:read%20payments:approve&acr=mfa&amr=pwd,otp&auth_time_ago=0",
        dev.issuer()
    );
    println!(
        "\nembedded dev issuer: {} (audience {})\n\nTry it:\n\
         \x20 curl -i -H 'Authorization: Bearer {console}' http://{addr}/accounts/acc-1\n\
         \x20 curl -i -X POST -H 'Authorization: Bearer {console}' -H 'content-type: application/json' -d '{{\"from\":\"acc-1\",\"to\":\"acc-2\",\"amount\":50}}' http://{addr}/transactions\n\
         \x20 curl -i -X POST -H 'Authorization: Bearer {approver}' http://{addr}/transactions/tx-1/approve   # 401 insufficient_user_authentication\n\
         \x20 curl -i -X POST -H \"Authorization: Bearer $(curl -s '{mint}')\" http://{addr}/transactions/tx-1/approve   # 200 approved after step-up\n",
        dev.issuer(),
        dev.audience(),
    );
}
