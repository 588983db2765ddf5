//! Keys from a JWKS file on disk, re-read when the file changes: rotation,
//! removal, a broken or vanished file, and a verifier built without a runtime.
#![allow(clippy::unwrap_used)]

mod common;

use common::{AUD, ISS, Signer, signer};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use rampgate_core::{IssuerConfig, JwksOptions, Verifier};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn token(signer: &Signer) -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let header = json!({"alg": "ES256", "kid": signer.kid, "typ": "at+jwt"});
    let claims = json!({"iss": ISS, "aud": AUD, "exp": now + 300, "sub": "alice"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig =
        jsonwebtoken::crypto::sign(input.as_bytes(), &signer.encoding, Algorithm::ES256).unwrap();
    format!("{input}.{sig}")
}

/// A JWKS file of its own per test, removed at the end.
struct JwksFile(PathBuf);

impl JwksFile {
    fn new(name: &str, keys: &[&Signer]) -> JwksFile {
        let path = std::env::temp_dir().join(format!(
            "rampgate-file-keys-{}-{name}.json",
            std::process::id()
        ));
        let file = JwksFile(path);
        file.publish(keys);
        file
    }

    /// Replaces the file at once (write and rename), as a deployment would.
    fn publish(&self, keys: &[&Signer]) {
        let keys: Vec<Value> = keys.iter().map(|s| s.jwk.clone()).collect();
        self.write(&json!({ "keys": keys }).to_string());
    }

    fn write(&self, text: &str) {
        let tmp = self.0.with_extension("tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &self.0).unwrap();
    }
}

impl Drop for JwksFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn options(poll: Duration) -> JwksOptions {
    JwksOptions {
        file_poll_interval: poll,
        ..JwksOptions::default()
    }
}

fn issuer(file: &JwksFile, poll: Duration) -> IssuerConfig {
    IssuerConfig::new(ISS, [AUD])
        .jwks_file(&file.0)
        .jwks_options(options(poll))
}

/// Polls `check` every 20 ms until it holds, for at most 5 seconds.
async fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(5) {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

fn code(v: &Verifier, signer: &Signer) -> &'static str {
    match v.verify_cached(&token(signer)) {
        Ok(_) => "ok",
        Err(e) => e.code(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_file_is_picked_up_and_the_removed_kid_refused() {
    let (old, new) = (signer(1, "old"), signer(2, "rotated-in"));
    let file = JwksFile::new("rotation", &[&old]);
    let v = Verifier::builder()
        .issuer(issuer(&file, Duration::from_millis(100)))
        .build()
        .await
        .unwrap();
    assert_eq!(code(&v, &old), "ok");
    assert_eq!(code(&v, &new), "kid_unknown");

    // The new key is published next to the old one: both verify.
    file.publish(&[&old, &new]);
    assert!(
        eventually(|| code(&v, &new) == "ok").await,
        "new key picked up"
    );
    assert_eq!(code(&v, &old), "ok");
    let stats = v.key_stats(ISS).unwrap();
    assert_eq!((stats.refreshes, stats.failures), (1, 0), "{stats:?}");
    assert_eq!(stats.kids, vec!["old", "rotated-in"]);

    // The old key is removed: its tokens are refused from the next poll on.
    file.publish(&[&new]);
    assert!(
        eventually(|| code(&v, &old) == "kid_unknown").await,
        "removed key refused"
    );
    assert_eq!(code(&v, &new), "ok");
    assert_eq!(v.key_stats(ISS).unwrap().kids, vec!["rotated-in"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_or_vanished_file_keeps_the_last_good_keys() {
    let (k1, k2) = (signer(1, "k1"), signer(2, "k2"));
    let file = JwksFile::new("broken", &[&k1]);
    let v = Verifier::builder()
        .issuer(issuer(&file, Duration::from_millis(100)))
        .build()
        .await
        .unwrap();

    file.write("{\"keys\": [ this is not json");
    assert!(eventually(|| v.key_stats(ISS).unwrap().failures == 1).await);
    let stats = v.key_stats(ISS).unwrap();
    let error = stats.last_error.unwrap();
    assert!(error.contains(&file.0.display().to_string()), "{error}");
    assert_eq!(code(&v, &k1), "ok", "the last good keys keep serving");
    let health = v.health();
    assert!(health.ready);
    assert_eq!(health.issuers[0].last_error, Some(error));
    // A file that stays broken is reported once, not at every poll.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(v.key_stats(ISS).unwrap().failures, 1);

    // A valid document without a usable key is no better.
    file.write(r#"{"keys":[{"kty":"RSA","kid":"weak","n":"AQAB","e":"AQAB"}]}"#);
    assert!(eventually(|| v.key_stats(ISS).unwrap().failures == 2).await);
    assert_eq!(code(&v, &k1), "ok");

    std::fs::remove_file(&file.0).unwrap();
    assert!(eventually(|| v.key_stats(ISS).unwrap().failures == 3).await);
    let error = v.key_stats(ISS).unwrap().last_error.unwrap();
    assert!(error.contains("cannot read JWKS file"), "{error}");
    assert_eq!(code(&v, &k1), "ok");

    // The file comes back with a rotated key: picked up, the error cleared.
    file.publish(&[&k2]);
    assert!(eventually(|| code(&v, &k2) == "ok").await);
    let stats = v.key_stats(ISS).unwrap();
    assert_eq!((stats.refreshes, stats.failures), (1, 3), "{stats:?}");
    assert_eq!(stats.last_error, None);
    assert_eq!(code(&v, &k1), "kid_unknown");
}

#[tokio::test]
async fn a_zero_poll_interval_never_rereads_the_file() {
    let (k1, k2) = (signer(1, "k1"), signer(2, "k2"));
    let file = JwksFile::new("no-poll", &[&k1]);
    let v = Verifier::builder()
        .issuer(issuer(&file, Duration::ZERO))
        .build()
        .await
        .unwrap();
    file.publish(&[&k2]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(code(&v, &k1), "ok");
    assert_eq!(code(&v, &k2), "kid_unknown");
}

/// Drives a future that never waits on a runtime resource, outside any runtime.
fn block_on_without_runtime<F: std::future::Future>(future: F) -> F::Output {
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    loop {
        if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

#[test]
fn without_a_runtime_the_file_is_read_once_and_the_build_succeeds() {
    let (k1, k2) = (signer(1, "k1"), signer(2, "k2"));
    let file = JwksFile::new("no-runtime", &[&k1]);
    assert!(tokio::runtime::Handle::try_current().is_err());
    let v = block_on_without_runtime(
        Verifier::builder()
            .issuer(issuer(&file, Duration::from_millis(50)))
            .build(),
    )
    .unwrap();
    assert_eq!(code(&v, &k1), "ok");
    // No task re-reads it: the keys of the build keep serving.
    file.publish(&[&k2]);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(code(&v, &k2), "kid_unknown");
    assert_eq!(code(&v, &k1), "ok");
}

#[test]
fn build_pair_hands_the_file_watcher_to_the_caller_which_runs_it_where_it_likes() {
    let (k1, k2) = (signer(1, "k1"), signer(2, "k2"));
    let file = JwksFile::new("pair", &[&k1]);
    // Built outside any runtime: the watcher is a future, not a task.
    let (v, watchers) = block_on_without_runtime(
        Verifier::builder()
            .issuer(issuer(&file, Duration::from_millis(50)))
            .build_pair(),
    )
    .unwrap();
    assert_eq!(code(&v, &k1), "ok");
    // Not run yet: a rotation is not seen.
    file.publish(&[&k1, &k2]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(code(&v, &k2), "kid_unknown");
    // The caller's own runtime runs it: the rotation is picked up.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let task = tokio::spawn(watchers);
        assert!(eventually(|| code(&v, &k2) == "ok").await, "k2 picked up");
        // The watcher holds no verifier: dropping it ends the watcher.
        drop(v);
        tokio::time::timeout(Duration::from_secs(5), task)
            .await
            .expect("the watcher ends with the verifier")
            .unwrap();
    });
}
