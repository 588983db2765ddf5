//! A fleet sharing revocations through Redis, as it runs: quickstart
//! processes (built with the `redis` feature) on loopback, one real
//! `redis-server` of the test's own, tokens from an external dev issuer.
//!
//! The issue's "done when": a `jti` revoked (with the `rampgate revoke` CLI,
//! and through the store API) is refused by both instances within a second
//! while other tokens pass, and is still refused after one restarts.
#![allow(clippy::unwrap_used)]

#[path = "common/process.rs"]
mod process;

use process::{Example as Quickstart, start_example};

use rampgate::revocation::{RedisRevocations, RedisStoreOptions, Revocation};
use rampgate_testkit::{DevIssuer, RedisServer};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const AUDIENCE: &str = "https://api.example";

/// Starts the quickstart with `env` and waits for `listening on ADDR`.
fn start(env: &[(&str, &str)]) -> Quickstart {
    start_example("quickstart", env, "listening on")
}

/// The status and the denial's `reason` (empty for an answer that is not a
/// denial: the handler's own JSON has none).
async fn get(client: &reqwest::Client, qs: &Quickstart, token: &str) -> (u16, String) {
    let resp = client
        .get(format!("http://{}/me", qs.addr))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body: serde_json::Value =
        serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap_or_default();
    let reason = body["reason"].as_str().unwrap_or_default().to_owned();
    if status == 200 {
        // The handler ran: its answer names the subject.
        assert_eq!(body["sub"], "alice", "{body}");
    }
    (status, reason)
}

/// Polls until `qs` refuses `token` with 401 `token_revoked_jti`; returns how
/// long it took, or `None` past `within`.
async fn refused_within(
    client: &reqwest::Client,
    qs: &Quickstart,
    token: &str,
    within: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        let (status, reason) = get(client, qs, token).await;
        if status == 401 {
            assert_eq!(reason, "token_revoked_jti");
            return Some(start.elapsed());
        }
        assert_eq!(status, 200, "{reason}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    None
}

async fn fleet() -> (RedisServer, DevIssuer) {
    let redis = RedisServer::start().unwrap();
    let idp = DevIssuer::builder()
        .audience(AUDIENCE)
        .start()
        .await
        .unwrap();
    (redis, idp)
}

fn env<'a>(idp: &'a DevIssuer, jwks: &'a str, redis: &'a str) -> [(&'a str, &'a str); 4] {
    [
        ("RAMPGATE_ISSUER", idp.issuer()),
        ("RAMPGATE_AUDIENCE", AUDIENCE),
        ("RAMPGATE_JWKS_URL", jwks),
        ("RAMPGATE_REDIS_URL", redis),
    ]
}

fn token(idp: &DevIssuer, jti: &str) -> String {
    idp.token()
        .sub("alice")
        .claim("jti", serde_json::json!(jti))
        .expires_in(600)
        .sign()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_jti_revoked_in_redis_is_refused_by_both_instances_and_after_a_restart() {
    let (redis, idp) = fleet().await;
    let (url, jwks) = (redis.url(), idp.jwks_url());
    let env = env(&idp, &jwks, &url);
    // Each instance its own audit file.
    let audit = |name: &str| {
        std::env::temp_dir().join(format!(
            "rampgate-redis-e2e-{}-{}-{name}.jsonl",
            std::process::id(),
            redis.port()
        ))
    };
    let (audit_a, audit_b) = (audit("a"), audit("b"));
    let (path_a, path_b) = (audit_a.display().to_string(), audit_b.display().to_string());
    let with_audit = |path: &str| {
        let mut env = env.to_vec();
        env.push(("RAMPGATE_AUDIT", path));
        env.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
    };
    let (env_a, env_b) = (with_audit(&path_a), with_audit(&path_b));
    let start_with = |env: &[(String, String)]| {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        start(&env)
    };
    let a = tokio::task::block_in_place(|| start_with(&env_a));
    let b = tokio::task::block_in_place(|| start_with(&env_b));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (revoked, other) = (token(&idp, "jti-revoked"), token(&idp, "jti-other"));
    let by_api = token(&idp, "jti-by-api");
    // All pass first, and sit in both instances' token caches.
    for qs in [&a, &b] {
        for t in [&revoked, &other, &by_api] {
            assert_eq!(get(&client, qs, t).await.0, 200);
        }
    }

    // `rampgate revoke`, as an operator runs it during an incident.
    let cli = tokio::task::block_in_place(process::cli);
    let out = Command::new(cli)
        .args([
            "revoke",
            "jti",
            "jti-revoked",
            "--until",
            "10m",
            "--redis",
            &url,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    for qs in [&a, &b] {
        let took = refused_within(&client, qs, &revoked, Duration::from_secs(1)).await;
        assert!(took.is_some(), "{} did not refuse within 1 s", qs.addr);
        assert_eq!(get(&client, qs, &other).await, (200, String::new()));
    }

    // Each instance recorded the change, with who made it.
    for path in [&audit_a, &audit_b] {
        let start = Instant::now();
        loop {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let event = text
                .lines()
                .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .find(|e| e["type"] == "revocation" && e["value"] == "jti-revoked");
            if let Some(event) = event {
                assert_eq!(event["action"], "revoke", "{event}");
                assert!(
                    event["actor"].as_str().unwrap().starts_with("cli:"),
                    "{event}"
                );
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "no revocation event in {}: {text}",
                path.display()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    // The store API, as a program would.
    let store = RedisRevocations::connect(&RedisStoreOptions::new(url.as_str()))
        .await
        .unwrap();
    let exp = SystemTime::now() + Duration::from_secs(600);
    store
        .revoke(Revocation::jti("jti-by-api").until(exp), Some("test"))
        .await
        .unwrap();
    for qs in [&a, &b] {
        let took = refused_within(&client, qs, &by_api, Duration::from_secs(1)).await;
        assert!(took.is_some(), "{} did not refuse within 1 s", qs.addr);
        assert_eq!(get(&client, qs, &other).await, (200, String::new()));
    }

    // A replica restarts: it reads the revocations back from Redis.
    drop(b);
    let b = tokio::task::block_in_place(|| start_with(&env_b));
    assert_eq!(
        get(&client, &b, &revoked).await,
        (401, "token_revoked_jti".into())
    );
    assert_eq!(
        get(&client, &b, &by_api).await,
        (401, "token_revoked_jti".into())
    );
    assert_eq!(get(&client, &b, &other).await.0, 200);
    assert_eq!(get(&client, &a, &revoked).await.0, 401);
    drop((a, b));
    for path in [audit_a, audit_b] {
        let _ = std::fs::remove_file(path);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn past_max_stale_a_fail_closed_instance_answers_503_revocation_unavailable() {
    let (mut redis, idp) = fleet().await;
    let (url, jwks) = (redis.url(), idp.jwks_url());
    let config = std::env::temp_dir().join(format!(
        "rampgate-redis-e2e-{}-{}.toml",
        std::process::id(),
        redis.port()
    ));
    std::fs::write(
        &config,
        "[revocation]\nstore = \"redis\"\nmax_stale_secs = 1\non_stale = \"fail-closed\"\n",
    )
    .unwrap();
    let config_path = config.display().to_string();
    let mut env = env(&idp, &jwks, &url).to_vec();
    env.push(("RAMPGATE_CONFIG", &config_path));
    let qs = tokio::task::block_in_place(|| start(&env));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let valid = token(&idp, "jti-valid");
    assert_eq!(get(&client, &qs, &valid).await.0, 200);
    let ready = client
        .get(format!("http://{}/ready", qs.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let health: serde_json::Value = serde_json::from_slice(&ready.bytes().await.unwrap()).unwrap();
    assert_eq!(health["revocations"]["connected"], true, "{health}");

    redis.stop();
    let start = Instant::now();
    let mut answer = (0, String::new());
    while start.elapsed() < Duration::from_secs(10) {
        answer = get(&client, &qs, &valid).await;
        if answer.0 != 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(answer, (503, "revocation_unavailable".into()));
    let ready = client
        .get(format!("http://{}/ready", qs.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(ready.status(), 503);
    let health: serde_json::Value = serde_json::from_slice(&ready.bytes().await.unwrap()).unwrap();
    assert_eq!(health["revocations"]["usable"], false, "{health}");

    // Back: served again once the mirror is resynchronised.
    redis.restart().unwrap();
    let start = Instant::now();
    while get(&client, &qs, &valid).await.0 != 200 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "not served after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = std::fs::remove_file(&config);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_revocation_through_one_instances_admin_router_is_refused_by_the_other() {
    let (redis, idp) = fleet().await;
    let (url, jwks) = (redis.url(), idp.jwks_url());
    let config = std::env::temp_dir().join(format!(
        "rampgate-redis-admin-{}-{}.toml",
        std::process::id(),
        redis.port()
    ));
    std::fs::write(
        &config,
        format!(
            "[admin]\nissuer = \"{}\"\naudience = \"rampgate-admin\"\njwks_url = \"{jwks}\"\n",
            idp.issuer()
        ),
    )
    .unwrap();
    let config_path = config.display().to_string();
    let mut env = env(&idp, &jwks, &url).to_vec();
    env.push(("RAMPGATE_CONFIG", &config_path));
    let a = tokio::task::block_in_place(|| start(&env));
    let b = tokio::task::block_in_place(|| start(&env));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let (victim, other) = (token(&idp, "jti-admin"), token(&idp, "jti-kept"));
    for qs in [&a, &b] {
        assert_eq!(get(&client, qs, &victim).await.0, 200);
    }
    let revoke = |qs: &Quickstart, bearer: &str| {
        client
            .post(format!("http://{}/admin/revocations", qs.addr))
            .bearer_auth(bearer)
            .header("content-type", "application/json")
            .body(r#"{"by": "jti", "value": "jti-admin"}"#)
            .send()
    };
    // An API token, even one with the admin scope, cannot open it.
    let api_token = idp.token().sub("eve").scopes(["rampgate:admin"]).sign();
    assert_eq!(revoke(&a, &api_token).await.unwrap().status(), 401);
    let admin = idp
        .token()
        .sub("ops")
        .audience("rampgate-admin")
        .scopes(["rampgate:admin"])
        .sign();
    assert_eq!(revoke(&a, &admin).await.unwrap().status(), 201);
    for qs in [&a, &b] {
        let took = refused_within(&client, qs, &victim, Duration::from_secs(1)).await;
        assert!(took.is_some(), "{} did not refuse within 1 s", qs.addr);
        assert_eq!(get(&client, qs, &other).await, (200, String::new()));
    }
    // B's admin router lists it too: it reads the shared store.
    let listed = client
        .get(format!("http://{}/admin/revocations", b.addr))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), 200);
    let body: serde_json::Value = serde_json::from_slice(&listed.bytes().await.unwrap()).unwrap();
    assert_eq!(body["revocations"][0]["value"], "jti-admin", "{body}");
    let _ = std::fs::remove_file(&config);
}
