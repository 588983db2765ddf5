//! Remote key sets against a real JWKS server on loopback that can be slow:
//! the unknown-`kid` refresh protocol, seen from concurrent verifications.
#![allow(clippy::unwrap_used)]

mod common;

use common::{AUD, ISS, Signer, signer};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use rampgate_core::{IssuerConfig, JwksOptions, Verifier};
use serde_json::{Value, json};
use std::io::{Read as _, Write as _};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn token(signer: &Signer, kid: &str) -> String {
    let header = json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"});
    let claims = json!({"iss": ISS, "aud": AUD, "exp": now() + 300, "sub": "alice"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig =
        jsonwebtoken::crypto::sign(input.as_bytes(), &signer.encoding, Algorithm::ES256).unwrap();
    format!("{input}.{sig}")
}

/// A JWKS server on loopback (plain threads, HTTP/1.0 style: one answer per
/// connection) whose document and answer delay can change at any time.
#[derive(Clone)]
struct JwksServer {
    url: String,
    jwks: Arc<Mutex<Value>>,
    delay_ms: Arc<AtomicU64>,
    requests: Arc<AtomicUsize>,
    /// A header line (lower case, `name: value`) without which the answer is 403.
    required_header: Arc<Mutex<Option<String>>>,
    /// When set, every answer is a 302 to this location.
    redirect_to: Arc<Mutex<Option<String>>>,
}

impl JwksServer {
    fn start(keys: &[&Signer]) -> JwksServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let server = JwksServer {
            url: format!("http://{}/jwks.json", listener.local_addr().unwrap()),
            jwks: Arc::new(Mutex::new(Value::Null)),
            delay_ms: Arc::new(AtomicU64::new(0)),
            requests: Arc::new(AtomicUsize::new(0)),
            required_header: Arc::new(Mutex::new(None)),
            redirect_to: Arc::new(Mutex::new(None)),
        };
        server.publish(keys);
        let shared = server.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let shared = shared.clone();
                std::thread::spawn(move || {
                    let mut request = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                        match stream.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => request.extend_from_slice(&buf[..n]),
                        }
                    }
                    shared.requests.fetch_add(1, Ordering::SeqCst);
                    let delay = shared.delay_ms.load(Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(delay));
                    let head = String::from_utf8_lossy(&request).to_ascii_lowercase();
                    let allowed = match &*shared.required_header.lock().unwrap() {
                        Some(line) => head.lines().any(|l| l.trim() == line),
                        None => true,
                    };
                    let redirect = shared.redirect_to.lock().unwrap().clone();
                    let body = shared.jwks.lock().unwrap().to_string();
                    let answer = match redirect {
                        Some(location) => format!(
                            "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                        ),
                        None if !allowed => "HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                        None => format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        ),
                    };
                    let _ = stream.write_all(answer.as_bytes());
                });
            }
        });
        server
    }

    fn publish(&self, keys: &[&Signer]) {
        let keys: Vec<Value> = keys.iter().map(|s| s.jwk.clone()).collect();
        *self.jwks.lock().unwrap() = json!({ "keys": keys });
    }

    fn delay(&self, delay: Duration) {
        self.delay_ms
            .store(delay.as_millis() as u64, Ordering::SeqCst);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

async fn verifier(server: &JwksServer, options: JwksOptions) -> Verifier {
    Verifier::builder()
        .issuer(
            IssuerConfig::new(ISS, [AUD])
                .jwks_url(&server.url)
                .jwks_options(options),
        )
        .build()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_arriving_during_an_unknown_kid_fetch_waits_for_it() {
    let (k1, k2) = (signer(1, "k1"), signer(2, "k2"));
    let server = JwksServer::start(&[&k1]);
    let v = verifier(&server, JwksOptions::default()).await;
    assert_eq!(server.requests(), 1);

    // The issuer rotates in k2 without notice; its JWKS answers slowly.
    server.publish(&[&k1, &k2]);
    server.delay(Duration::from_millis(1500));
    let first = tokio::spawn({
        let v = v.clone();
        let t = token(&k2, &k2.kid);
        async move { v.verify(&t).await }
    });
    // The second token arrives while the first one's fetch is in flight.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.requests(), 2, "the first token's fetch is under way");
    let second = tokio::spawn({
        let v = v.clone();
        let t = token(&k2, &k2.kid);
        async move { v.verify(&t).await }
    });
    let (first, second) = (first.await.unwrap(), second.await.unwrap());
    assert_eq!(first.unwrap().sub(), Some("alice"));
    assert_eq!(
        second.map(|p| p.sub().map(str::to_owned)),
        Ok(Some("alice".to_owned())),
        "a late arrival must wait for the fetch in flight, not be refused"
    );
    assert_eq!(server.requests(), 2, "one fetch served both tokens");

    // After the fetch, within the cooldown, an invented kid is refused at
    // once and fetches nothing.
    server.delay(Duration::ZERO);
    let started = Instant::now();
    let err = v.verify(&token(&k1, "invented")).await.unwrap_err();
    assert_eq!(err.code(), "kid_unknown");
    assert!(started.elapsed() < Duration::from_millis(500));
    assert_eq!(server.requests(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invented_kids_during_a_fetch_wait_for_it_and_cause_no_other() {
    let k1 = signer(1, "k1");
    let server = JwksServer::start(&[&k1]);
    let v = verifier(&server, JwksOptions::default()).await;
    server.delay(Duration::from_millis(800));
    let mut tasks = Vec::new();
    for i in 0..8 {
        let v = v.clone();
        let t = token(&k1, &format!("invented-{i}"));
        tasks.push(tokio::spawn(async move { v.verify(&t).await }));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().unwrap_err().code(), "kid_unknown");
    }
    assert_eq!(server.requests(), 2, "one fetch for the whole flood");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_up_can_wait_for_the_first_keys_and_report_health() {
    let k1 = signer(1, "k1");
    let server = JwksServer::start(&[&k1]);
    // The identity provider is too slow at start-up: the first fetch times out.
    server.delay(Duration::from_millis(1500));
    let options = JwksOptions {
        request_timeout: Duration::from_millis(300),
        backoff_initial: Duration::from_millis(200),
        ..JwksOptions::default()
    };
    let v = verifier(&server, options).await;
    let health = v.health();
    assert!(!health.ready);
    let issuer = &health.issuers[0];
    assert_eq!(
        (
            issuer.issuer.as_str(),
            issuer.ready,
            issuer.keys,
            issuer.age_secs,
            issuer.stale
        ),
        (ISS, false, 0, None, false)
    );
    assert!(
        issuer.last_error.as_deref().unwrap().contains("timed out"),
        "{issuer:?}"
    );
    // A valid token meanwhile is the service's fault: 503, not invalid_token.
    let err = v.verify_cached(&token(&k1, "k1")).unwrap_err();
    assert_eq!(err.code(), "keys_unavailable");
    assert_eq!(err.kind().status(), 503);
    assert_eq!(err.kind().bearer_error(), None);

    let err = v.wait_ready(Duration::from_millis(200)).await.unwrap_err();
    assert_eq!(err.code(), "jwks_error");
    assert!(err.to_string().contains(ISS), "{err}");

    server.delay(Duration::ZERO);
    v.wait_ready(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        v.verify_cached(&token(&k1, "k1")).unwrap().sub(),
        Some("alice")
    );
    let health = v.health();
    assert!(health.ready);
    let issuer = &health.issuers[0];
    assert_eq!(
        (issuer.keys, issuer.stale, issuer.last_error.as_deref()),
        (1, false, None)
    );
    assert!(issuer.age_secs.unwrap() < 5);
    let json = serde_json::to_value(&health).unwrap();
    assert_eq!(json["ready"], true);
    assert_eq!(json["issuers"][0]["issuer"], ISS);
    assert!(json["issuers"][0]["last_refresh"].as_u64().unwrap() > 1_700_000_000);
}

/// A client of the kind a network with its own rules needs: here it sends a
/// header the JWKS server insists on, and (as documented) follows no redirect.
#[cfg(feature = "remote-jwks")]
fn client_with_test_header(redirects: reqwest::redirect::Policy) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        "x-test-client",
        reqwest::header::HeaderValue::from_static("yes"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .redirect(redirects)
        .build()
        .unwrap()
}

#[cfg(feature = "remote-jwks")]
async fn verifier_with(
    server: &JwksServer,
    options: JwksOptions,
    client: reqwest::Client,
) -> Verifier {
    Verifier::builder()
        .issuer(
            IssuerConfig::new(ISS, [AUD])
                .jwks_url(&server.url)
                .jwks_options(options)
                .http_client(client),
        )
        .build()
        .await
        .unwrap()
}

#[cfg(feature = "remote-jwks")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplied_http_client_fetches_the_keys() {
    let k1 = signer(1, "k1");
    let server = JwksServer::start(&[&k1]);
    *server.required_header.lock().unwrap() = Some("x-test-client: yes".into());

    // rampgate's own client lacks the header: the server refuses it.
    let own = verifier(&server, JwksOptions::default()).await;
    let stats = own.key_stats(ISS).unwrap();
    assert_eq!((stats.refreshes, stats.failures), (0, 1), "{stats:?}");
    assert!(stats.last_error.unwrap().contains("HTTP 403"));

    let client = client_with_test_header(reqwest::redirect::Policy::none());
    let v = verifier_with(&server, JwksOptions::default(), client).await;
    assert!(v.health().ready);
    assert_eq!(
        v.verify(&token(&k1, "k1")).await.unwrap().sub(),
        Some("alice")
    );
    let stats = v.key_stats(ISS).unwrap();
    assert_eq!((stats.refreshes, stats.failures), (1, 0), "{stats:?}");
    // Forced refreshes go through the same client.
    v.refresh_keys(ISS).await.unwrap();
    assert_eq!(v.key_stats(ISS).unwrap().refreshes, 2);
}

#[cfg(feature = "remote-jwks")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_timeout_holds_for_a_supplied_client_without_one() {
    let k1 = signer(1, "k1");
    let server = JwksServer::start(&[&k1]);
    server.delay(Duration::from_secs(3));
    let options = JwksOptions {
        request_timeout: Duration::from_millis(300),
        ..JwksOptions::default()
    };
    // No timeout of its own: only rampgate's per-request one can end the wait.
    let client = client_with_test_header(reqwest::redirect::Policy::none());
    let started = Instant::now();
    let v = verifier_with(&server, options, client).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let last_error = v.key_stats(ISS).unwrap().last_error.unwrap();
    assert!(last_error.contains("timed out"), "{last_error}");
}

#[cfg(feature = "remote-jwks")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_supplied_client_that_follows_redirects_gets_no_keys_from_them() {
    let k1 = signer(1, "k1");
    let elsewhere = JwksServer::start(&[&k1]);
    let server = JwksServer::start(&[&k1]);
    *server.redirect_to.lock().unwrap() = Some(elsewhere.url.clone());
    let client = client_with_test_header(reqwest::redirect::Policy::limited(3));
    let v = verifier_with(&server, JwksOptions::default(), client).await;
    assert_eq!(
        elsewhere.requests(),
        1,
        "the client did follow the redirect"
    );
    assert!(!v.health().ready);
    let last_error = v.key_stats(ISS).unwrap().last_error.unwrap();
    assert!(last_error.contains("redirected to"), "{last_error}");
    assert_eq!(
        v.verify_cached(&token(&k1, "k1")).unwrap_err().code(),
        "keys_unavailable"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_without_waiting_leaves_the_first_fetch_to_the_poller() {
    let k1 = signer(1, "k1");
    let server = JwksServer::start(&[&k1]);
    server.delay(Duration::from_millis(1500));
    let started = Instant::now();
    let v = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).jwks_url(&server.url))
        .build_without_waiting()
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(!v.health().ready);
    assert_eq!(
        v.verify_cached(&token(&k1, "k1")).unwrap_err().code(),
        "keys_unavailable"
    );
    // The wait is bounded by its own timeout, not by the slow first fetch.
    let err = v.wait_ready(Duration::from_millis(300)).await.unwrap_err();
    assert!(err.to_string().contains(ISS), "{err}");
    assert!(
        started.elapsed() < Duration::from_millis(1200),
        "{:?}",
        started.elapsed()
    );
    v.wait_ready(Duration::from_secs(10)).await.unwrap();
    assert_eq!(
        server.requests(),
        1,
        "the poller's first fetch, and only it"
    );
    assert_eq!(
        v.verify_cached(&token(&k1, "k1")).unwrap().sub(),
        Some("alice")
    );
}
