//! Alerts end to end: a real HTTP receiver on loopback takes what the
//! auditor's alert webhook POSTs, for each alert class, and fails or stalls
//! on demand to show the bounded retries and the bounded queue.
#![allow(clippy::unwrap_used)]

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::post;
use rampgate::audit::{AlertWebhook, AuditEvent, Auditor, DecisionEvent, WebhookSink};
use rampgate::contract::ContractHandle;
use rampgate::revocation::{Revocation, RevocationList, RevocationStore};
use rampgate::{Reason, anomaly};
use serde_json::{Value, json};
use sha2::Digest;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::Semaphore;

const ISSUER: &str = "https://issuer.rampgate.test";

const CONTRACT: &str = r#"
version = 1

[scopes]
"items:read" = "Read items"
"items:write" = "Write items"

[[routes]]
method = "GET"
path = "/items"
scopes = ["items:read"]

[[routes]]
method = "POST"
path = "/items"
scopes = ["items:write"]

[[consumers]]
client_id = "web"
stage = "pilot"
stages = [
  { name = "pilot", scopes = ["items:read"] },
  { name = "ga", scopes = ["items:read", "items:write"] },
]
"#;

const NOTE: &str =
    "[change]\nauthor = \"ana\"\nreason = \"web passed its pilot\"\nticket = \"CHG-12\"\n";

/// An alert receiver on loopback: answers every POST to `/hook` with
/// `status` once its gate lets it, and keeps the bodies it took (2xx).
struct Receiver {
    url: String,
    posts: Arc<AtomicUsize>,
    bodies: Arc<Mutex<Vec<Value>>>,
    status: Arc<AtomicU16>,
    gate: Arc<Semaphore>,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Receiver {
    async fn start(status: u16) -> Receiver {
        let posts = Arc::new(AtomicUsize::new(0));
        let bodies: Arc<Mutex<Vec<Value>>> = Arc::default();
        let status = Arc::new(AtomicU16::new(status));
        let gate = Arc::new(Semaphore::new(Semaphore::MAX_PERMITS / 2));
        let (p, b, s, g) = (
            posts.clone(),
            Arc::clone(&bodies),
            status.clone(),
            gate.clone(),
        );
        let app = Router::new().route(
            "/hook",
            post(move |body: Bytes| {
                let (p, b, s, g) = (p.clone(), b.clone(), s.clone(), g.clone());
                async move {
                    p.fetch_add(1, Ordering::SeqCst);
                    let _pass = g.acquire().await.unwrap();
                    let status = StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap();
                    if status.is_success() {
                        let alert: Value = serde_json::from_slice(&body).unwrap();
                        b.lock().unwrap().push(alert);
                    }
                    status
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url,
            posts,
            bodies,
            status,
            gate,
            server,
        }
    }

    /// Holds every answer until [`open`](Receiver::open).
    fn hold(&self) {
        let held = self.gate.available_permits();
        self.gate.forget_permits(held);
    }

    fn open(&self) {
        self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
    }

    fn bodies(&self) -> Vec<Value> {
        self.bodies.lock().unwrap().clone()
    }

    fn posts(&self) -> usize {
        self.posts.load(Ordering::SeqCst)
    }

    /// Waits until the receiver has been sent `n` POSTs (at most 20 s).
    async fn wait_posts(&self, n: usize) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while self.posts() < n {
            assert!(tokio::time::Instant::now() < deadline, "{n} posts expected");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// An alert sink to this receiver: `retries`, 10 ms apart, and the
    /// chat `text`.
    fn sink(&self, retries: u32) -> AlertWebhook {
        WebhookSink::new(&self.url)
            .unwrap()
            .retries(retries)
            .backoff(Duration::from_millis(10))
            .for_alerts()
            .text(true)
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "rampgate-alerts-{name}-{}-{:?}",
        std::process::id(),
        SystemTime::now()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn sha256_hex(text: &str) -> String {
    sha2::Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `text` to the contract file and reloads it.
fn reload(handle: &ContractHandle, file: &std::path::Path, text: &str) {
    std::fs::write(file, text).unwrap();
    handle.reload().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_widening_reload_alerts_with_its_note_and_digest_and_a_narrowing_does_not() {
    let receiver = Receiver::start(204).await;
    let dir = temp_dir("widening");
    let file = dir.join("contract.toml");
    std::fs::write(&file, CONTRACT).unwrap();
    let handle = ContractHandle::from_file(&file).unwrap();
    let auditor = Auditor::builder().alerts(receiver.sink(0)).build().unwrap();
    auditor.watch_contract(&handle);

    // v2 advances web to ga, with a note: a widening.
    let v2 = format!(
        "{}{NOTE}",
        CONTRACT
            .replace("version = 1", "version = 2")
            .replace("stage = \"pilot\"", "stage = \"ga\"")
    );
    reload(&handle, &file, &v2);
    auditor.flush().await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    let alert = &bodies[0];
    let sha256 = sha256_hex(&v2);
    assert_eq!(alert["source"], "rampgate");
    assert_eq!(alert["classes"], json!(["contract_widening"]));
    let event = &alert["event"];
    assert_eq!(event["type"], "contract_changed");
    assert_eq!(
        (&event["previous_version"], &event["version"]),
        (&json!(1), &json!(2))
    );
    assert_eq!(event["alert"], true);
    assert_eq!(event["sha256"], sha256);
    assert_eq!(
        event["change"],
        json!({"author": "ana", "reason": "web passed its pilot", "ticket": "CHG-12"})
    );
    assert_eq!(
        event["changes"][0],
        json!({
            "route": null,
            "consumer": "web",
            "kind": "widening",
            "detail": "advanced pilot -> ga (adds items:write)",
            "stage_move": {"from": "pilot", "to": "ga", "direction": "advanced"},
        })
    );
    let summary = format!(
        "rampgate: contract 1 -> 2 widens access (consumer web: advanced pilot -> ga (adds \
         items:write)); change by ana: web passed its pilot (CHG-12); sha256 {}",
        &sha256[..12]
    );
    assert_eq!(alert["summary"], summary);
    assert_eq!(alert["text"], summary.replace('>', "&gt;"));
    assert_eq!(alert["ts"], event["ts"]);

    // v3 drops a route: a narrowing, which is in the trail but no alert.
    let v3 = v2.replace("version = 2", "version = 3").replace(
        "[[routes]]\nmethod = \"POST\"\npath = \"/items\"\nscopes = [\"items:write\"]\n",
        "",
    );
    reload(&handle, &file, &v3);
    auditor.flush().await;
    assert_eq!(handle.current().version(), 3);
    assert_eq!(receiver.bodies().len(), 1, "a narrowing is no alert");
    assert_eq!(receiver.posts(), 1);
    assert_eq!((auditor.alerts_sent(), auditor.widenings()), (1, 1));
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_rolled_back_is_an_alert() {
    let receiver = Receiver::start(200).await;
    let dir = temp_dir("rollback");
    let file = dir.join("contract.toml");
    let ga = CONTRACT.replace("stage = \"pilot\"", "stage = \"ga\"");
    std::fs::write(&file, &ga).unwrap();
    let handle = ContractHandle::from_file(&file).unwrap();
    let auditor = Auditor::builder().alerts(receiver.sink(0)).build().unwrap();
    auditor.watch_contract(&handle);
    reload(
        &handle,
        &file,
        &CONTRACT.replace("version = 1", "version = 2"),
    );
    auditor.flush().await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    assert_eq!(bodies[0]["classes"], json!(["stage_rollback"]));
    assert_eq!(bodies[0]["event"]["alert"], false, "it narrows");
    assert_eq!(
        bodies[0]["event"]["changes"][0]["stage_move"],
        json!({"from": "ga", "to": "pilot", "direction": "rolled_back"})
    );
    assert!(bodies[0]["event"]["change"].is_null());
    assert!(
        bodies[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("rampgate: contract 1 -> 2 rolls back (consumer web: ga -> pilot); no change note; sha256 "),
        "{}",
        bodies[0]["summary"]
    );
    assert_eq!(auditor.widenings(), 0);
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kid_revocation_alerts_and_other_revocations_do_not() {
    let receiver = Receiver::start(202).await;
    let auditor = Auditor::builder().alerts(receiver.sink(0)).build().unwrap();
    let list = RevocationList::new();
    assert!(auditor.watch_revocations(&list));
    list.revoke(Revocation::jti("j-1"), Some("ops")).unwrap();
    list.revoke(Revocation::subject("alice", SystemTime::now()), None)
        .unwrap();
    list.revoke(Revocation::kid(ISSUER, "2024-key"), Some("ops"))
        .unwrap();
    auditor.flush().await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    assert_eq!(bodies[0]["classes"], json!(["kid_revocation"]));
    let event = &bodies[0]["event"];
    assert_eq!(event["type"], "revocation");
    assert_eq!(
        (
            &event["action"],
            &event["by"],
            &event["value"],
            &event["iss"],
            &event["actor"]
        ),
        (
            &json!("revoke"),
            &json!("kid"),
            &json!("2024-key"),
            &json!(ISSUER),
            &json!("ops")
        )
    );
    assert_eq!(
        bodies[0]["text"],
        format!("rampgate: key kid 2024-key of {ISSUER} revoked by ops")
    );
    assert_eq!(auditor.alerts_sent(), 1);
}

/// A refusal of an expired token from `addr`, as the AuditLayer records it.
fn expired(addr: &str) -> AuditEvent {
    let mut d = DecisionEvent::new(
        SystemTime::now(),
        http::HeaderValue::from_static("req"),
        http::Method::GET,
    );
    d.outcome = rampgate::audit::AuditOutcome::Deny;
    d.reason = Reason::TokenExpired.into();
    d.status = 401;
    d.client_addr = Some(addr.parse().unwrap());
    AuditEvent::Decision(d)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anomaly_signal_alerts() {
    let receiver = Receiver::start(200).await;
    let detector = anomaly::AnomalyDetector::new(anomaly::AnomalyOptions {
        expired_retries: 2,
        ..anomaly::AnomalyOptions::default()
    });
    let auditor = Auditor::builder()
        .anomalies(detector)
        .alerts(receiver.sink(0))
        .build()
        .unwrap();
    for _ in 0..3 {
        auditor.record(expired("192.0.2.7:4431"));
    }
    auditor.flush().await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "one per key and window: {bodies:#?}");
    assert_eq!(bodies[0]["classes"], json!(["anomaly"]));
    let event = &bodies[0]["event"];
    assert_eq!(event["type"], "anomaly");
    assert_eq!(
        (&event["signal"], &event["key_kind"], &event["key"]),
        (
            &json!("expired_retries"),
            &json!("client_addr"),
            &json!("192.0.2.7")
        )
    );
    assert_eq!(
        (&event["count"], &event["threshold"]),
        (&json!(2), &json!(2))
    );
    assert_eq!(
        bodies[0]["summary"],
        "rampgate anomaly: expired_retries by client_addr 192.0.2.7: 2 in 60 s (threshold 2)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_overflow_alerts_once_a_minute() {
    let receiver = Receiver::start(200).await;
    let auditor = Auditor::builder()
        .capacity(1)
        .alerts(receiver.sink(0))
        .build()
        .unwrap();
    // The queue's one place, held as a fail-closed route holds it.
    let permit = auditor.reserve().unwrap();
    for _ in 0..3 {
        assert!(!auditor.record(expired("192.0.2.8:1")), "no room");
    }
    assert_eq!(auditor.dropped(), 3);
    drop(permit);
    auditor.flush().await;
    let bodies = receiver.bodies();
    assert_eq!(bodies.len(), 1, "{bodies:#?}");
    assert_eq!(bodies[0]["classes"], json!(["audit_overflow"]));
    let event = &bodies[0]["event"];
    assert_eq!(event["type"], "audit_overflow");
    assert_eq!(
        (&event["dropped_total"], &event["capacity"]),
        (&json!(1), &json!(1))
    );
    assert_eq!(
        bodies[0]["summary"],
        "rampgate: the audit queue is full: 1 events dropped so far (queue of 1); the audit trail is missing events"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_receiver_gets_bounded_retries_then_the_alert_is_counted_failed() {
    let receiver = Receiver::start(503).await;
    let auditor = Auditor::builder().alerts(receiver.sink(2)).build().unwrap();
    let list = RevocationList::new();
    auditor.watch_revocations(&list);
    list.revoke(Revocation::kid(ISSUER, "k1"), None).unwrap();
    auditor.flush().await;
    assert_eq!(receiver.posts(), 3, "the first try and 2 retries");
    assert_eq!((auditor.alerts_sent(), auditor.alerts_failed()), (0, 1));
    // The receiver recovers: the next alert goes through at once.
    receiver.status.store(204, Ordering::SeqCst);
    list.revoke(Revocation::kid(ISSUER, "k2"), None).unwrap();
    auditor.flush().await;
    assert_eq!(receiver.posts(), 4);
    assert_eq!((auditor.alerts_sent(), auditor.alerts_failed()), (1, 1));
    assert_eq!(receiver.bodies()[0]["event"]["value"], "k2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_alert_queue_drops_and_counts() {
    let receiver = Receiver::start(200).await;
    receiver.hold();
    let auditor = Auditor::builder()
        .alerts(receiver.sink(0))
        .alert_capacity(2)
        .build()
        .unwrap();
    let list = RevocationList::new();
    auditor.watch_revocations(&list);
    list.revoke(Revocation::kid(ISSUER, "k0"), None).unwrap();
    // k0 is being posted: the queue's 2 places take k1 and k2, the rest drop.
    receiver.wait_posts(1).await;
    for i in 1..=5 {
        list.revoke(Revocation::kid(ISSUER, format!("k{i}")), None)
            .unwrap();
    }
    assert_eq!(auditor.alerts_dropped(), 3);
    receiver.open();
    auditor.flush().await;
    let values: Vec<Value> = receiver
        .bodies()
        .iter()
        .map(|b| b["event"]["value"].clone())
        .collect();
    assert_eq!(values, [json!("k0"), json!("k1"), json!("k2")]);
    assert_eq!(
        (
            auditor.alerts_sent(),
            auditor.alerts_failed(),
            auditor.alerts_dropped()
        ),
        (3, 0, 3)
    );
    // Every revocation is still in the audit trail itself.
    assert_eq!(auditor.written(), 6);
}

/// A webhook that takes an alert and never answers does not hold
/// `Auditor::flush` (and with it a shutdown) beyond `ALERT_FLUSH_TIMEOUT`:
/// the audit trail itself is flushed, and the alert stays queued.
#[tokio::test]
async fn flush_does_not_wait_on_a_webhook_that_never_answers() {
    let receiver = Receiver::start(200).await;
    receiver.hold();
    // Three retries of a 10 s request: delivering (or failing) the alert
    // would take 40 s; the flush returns after ALERT_FLUSH_TIMEOUT (10 s).
    let auditor = Auditor::builder().alerts(receiver.sink(3)).build().unwrap();
    let list = RevocationList::new();
    auditor.watch_revocations(&list);
    list.revoke(Revocation::kid(ISSUER, "k0"), None).unwrap();
    receiver.wait_posts(1).await;
    let bound = rampgate::audit::ALERT_FLUSH_TIMEOUT + Duration::from_secs(5);
    tokio::time::timeout(bound, auditor.flush())
        .await
        .expect("flush returns once ALERT_FLUSH_TIMEOUT has passed");
    assert_eq!(auditor.written(), 1, "the trail itself was flushed");
    assert_eq!(
        (auditor.alerts_sent(), auditor.alerts_failed()),
        (0, 0),
        "the alert is still being tried"
    );
    receiver.open();
}
