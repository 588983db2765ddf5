//! Shared harness of the end-to-end tests: a real axum server on loopback in front
//! of a handler that counts its calls, and a real HTTP client.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use axum::Router;
use axum::routing::get;
use rampgate::{JwtLayer, Principal, ScopeLayer, Verifier};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct App {
    pub addr: SocketAddr,
    pub calls: Arc<AtomicUsize>,
    pub client: reqwest::Client,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for App {
    fn drop(&mut self) {
        self.server.abort();
    }
}

pub struct Answer {
    pub status: u16,
    pub challenge: Option<String>,
    pub cache_control: Option<String>,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn reason(&self) -> &str {
        self.body["reason"].as_str().unwrap_or("")
    }
}

/// A dev issuer on loopback and a verifier trusting it through OIDC discovery.
pub async fn dev_issuer_and_verifier() -> (rampgate_testkit::DevIssuer, Verifier) {
    let dev = rampgate_testkit::DevIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .issuer(dev.issuer_config())
        .build()
        .await
        .unwrap();
    (dev, verifier)
}

/// Serves `app` on a free loopback port; returns its address.
pub async fn spawn(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// `/me` behind `JwtLayer` (realm "test"); `/profile` also needs `profile:read`.
pub async fn serve(verifier: Verifier) -> App {
    serve_layer(JwtLayer::new(verifier).realm("test")).await
}

pub async fn serve_layer(layer: JwtLayer) -> App {
    serve_layer_with(layer, Router::new()).await
}

/// As [`serve_layer`], with `extra` merged in beside the protected routes
/// (outside their `JwtLayer`: `extra` brings its own layers).
pub async fn serve_layer_with(layer: JwtLayer, extra: Router) -> App {
    let calls = Arc::new(AtomicUsize::new(0));
    let (c1, c2) = (calls.clone(), calls.clone());
    let app = Router::new()
        .route(
            "/me",
            get(move |p: Principal| async move {
                c1.fetch_add(1, Ordering::SeqCst);
                axum::Json(serde_json::json!({"sub": p.sub(), "client_id": p.client_id()}))
            }),
        )
        .route(
            "/profile",
            get(move |_p: Principal| async move {
                c2.fetch_add(1, Ordering::SeqCst);
                axum::Json(serde_json::json!({"ok": true}))
            })
            .route_layer(ScopeLayer::all(["profile:read"])),
        )
        .route_layer(layer)
        .merge(extra);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    App {
        addr,
        calls,
        client,
        server,
    }
}

impl App {
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let mut req = self.client.get(format!("http://{}{path}", self.addr));
        if let Some(token) = token {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        answer(req.send().await.unwrap()).await
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> Answer {
        answer(req.send().await.unwrap()).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

async fn answer(resp: reqwest::Response) -> Answer {
    let status = resp.status().as_u16();
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    let challenge = header("www-authenticate");
    let cache_control = header("cache-control");
    let bytes = resp.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        challenge,
        cache_control,
        body,
    }
}

/// Asserts a 401 `invalid_token` with `reason`, and that the handler did not run.
pub fn assert_invalid_token(app: &App, answer: &Answer, reason: &str) {
    assert_eq!(answer.status, 401, "body: {}", answer.body);
    let challenge = answer.challenge.as_deref().unwrap();
    assert!(
        challenge.starts_with(r#"Bearer realm="test", error="invalid_token", error_description=""#),
        "{challenge}"
    );
    assert_eq!(answer.reason(), reason, "body: {}", answer.body);
    assert_eq!(answer.body["error"], "invalid_token");
    assert_eq!(app.calls(), 0, "the handler must not run");
}
