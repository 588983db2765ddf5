//! `rampgate revoke` and `rampgate revocations` against a real `redis-server`
//! of each test's own (free loopback port, persistence off, killed at the
//! end), read back through the core's store code as a replica reads it.
#![allow(clippy::unwrap_used)]

#[allow(unreachable_pub, dead_code)]
#[path = "../../rampgate-testkit/src/redis.rs"]
mod redis_server;

use rampgate_core::{
    RedisRevocationStore, RedisRevocations, RedisStoreOptions, RevocationCheck, RevocationStore,
    RevokedBy,
};
use redis_server::RedisServer;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

/// The exit status, standard output and standard error of one run.
fn rampgate(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rampgate"))
        .args(args)
        .env("USER", "ops")
        .env("HOSTNAME", "bastion")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn revoke_list_and_remove_reach_a_replicas_store() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    let rt = runtime();
    // A replica's store, following the same Redis.
    let store = rt
        .block_on(RedisRevocationStore::connect(RedisStoreOptions::new(
            url.as_str(),
        )))
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let s = std::sync::Arc::clone(&seen);
    store.observe(
        1,
        std::sync::Arc::new(move |e: &rampgate_core::RevocationEvent| {
            s.lock().unwrap().push(e.actor.clone());
        }),
    );

    let (status, stdout, stderr) = rampgate(&[
        "revoke", "jti", "6f1c2a", "--until", "2h", "--redis", &url, "--json",
    ]);
    assert_eq!((status, stderr.as_str()), (0, ""));
    let stored: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(stored["by"], "jti");
    assert_eq!(stored["value"], "6f1c2a");
    assert!(stored["until"].is_string(), "{stdout}");

    let (status, stdout, _) = rampgate(&[
        "revoke",
        "kid",
        "2024-key",
        "--iss",
        "https://login.example.com/",
        "--redis",
        &url,
    ]);
    assert_eq!(status, 0);
    assert!(
        stdout.starts_with(
            "revoked: kid 2024-key iss=https://login.example.com/ issued_before=- until=-"
        ),
        "{stdout}"
    );

    // The replica refuses both within a second, and records the CLI's actor.
    let token = RevocationCheck::new("https://login.example.com/")
        .jti(Some("6f1c2a"))
        .kid(Some("other"));
    let start = Instant::now();
    while store.len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "not applied within 1 s"
        );
        // The store's task runs on this runtime: drive it while waiting.
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(10)).await });
    }
    assert_eq!(store.check(&token), Some(RevokedBy::Jti));
    assert_eq!(
        *seen.lock().unwrap(),
        vec![Some("cli:ops@bastion".to_owned()); 2]
    );

    let (status, stdout, _) = rampgate(&["revocations", "list", "--redis", &url, "--json"]);
    assert_eq!(status, 0);
    let listed: Value = serde_json::from_str(&stdout).unwrap();
    let values: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["value"].as_str().unwrap())
        .collect();
    assert_eq!(values, ["6f1c2a", "2024-key"]);
    let (status, stdout, _) = rampgate(&["revocations", "list", "--redis", &url]);
    assert_eq!(status, 0);
    assert_eq!(stdout.lines().count(), 2, "{stdout}");

    let (status, stdout, _) =
        rampgate(&["revocations", "remove", "jti", "6f1c2a", "--redis", &url]);
    assert_eq!(status, 0);
    assert!(stdout.starts_with("removed: jti 6f1c2a"), "{stdout}");
    // Nothing left to remove: a finding, exit status 1.
    let (status, _, stderr) =
        rampgate(&["revocations", "remove", "jti", "6f1c2a", "--redis", &url]);
    assert_eq!(status, 1);
    assert!(stderr.contains("nothing removed"), "{stderr}");
    let left = rt
        .block_on(async {
            RedisRevocations::connect(&RedisStoreOptions::new(url.as_str()))
                .await
                .unwrap()
                .list()
                .await
        })
        .unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].by, RevokedBy::Kid);
    let start = Instant::now();
    while store.check(&token).is_some() {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "removal not applied within 1 s"
        );
        // The store's task runs on this runtime: drive it while waiting.
        rt.block_on(async { tokio::time::sleep(Duration::from_millis(10)).await });
    }
}

#[test]
fn what_cannot_run_is_exit_status_2_with_what_to_fix() {
    let redis = RedisServer::start().unwrap();
    let url = redis.url();
    // A kid revocation without its issuer.
    let (status, _, stderr) = rampgate(&["revoke", "kid", "k1", "--redis", &url]);
    assert_eq!(status, 2);
    assert!(stderr.contains("needs the issuer"), "{stderr}");
    let (status, _, stderr) =
        rampgate(&["revoke", "jti", "j", "--until", "tomorrow", "--redis", &url]);
    assert_eq!(status, 2);
    assert!(stderr.contains("RFC 3339"), "{stderr}");
    let (status, _, stderr) = rampgate(&["revoke", "jti", "j", "--redis", "http://127.0.0.1:1"]);
    assert_eq!(status, 2);
    assert!(stderr.contains("invalid Redis URL"), "{stderr}");
    // Nothing listens there.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let down = format!("redis://127.0.0.1:{closed}");
    let (status, _, stderr) = rampgate(&["revocations", "list", "--redis", &down]);
    assert_eq!(status, 2);
    assert!(stderr.contains("unreachable"), "{stderr}");
    let (status, _, _) = rampgate(&["revoke", "jti", "j"]);
    assert_eq!(status, 2, "--redis is required");
    let (status, _, stderr) = rampgate(&["revocations", "remove", "kid", "k1", "--redis", &url]);
    assert_eq!(status, 2);
    assert!(stderr.contains("--iss is required"), "{stderr}");
    // Nothing was written by any of them.
    let (status, stdout, _) = rampgate(&["revocations", "list", "--redis", &url]);
    assert_eq!((status, stdout.as_str()), (0, ""));
}
