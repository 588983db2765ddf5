//! The key path end to end: a real JWKS server (the dev issuer, over HTTP on
//! loopback) that rotates, fails, stalls and serves garbage, in front of a real
//! service. Every refusal asserts the status, the challenge, the reason and that
//! the handler did not run.
#![allow(clippy::unwrap_used)]

mod common;

use common::{App, assert_invalid_token, serve};
use rampgate::{IssuerConfig, JwksOptions, Verifier};
use rampgate_testkit::DevIssuer;
use std::time::{Duration, Instant};

fn fast_options() -> JwksOptions {
    JwksOptions {
        default_refresh: Duration::from_millis(200),
        min_refresh: Duration::from_millis(100),
        max_refresh: Duration::from_secs(1),
        backoff_initial: Duration::from_millis(100),
        backoff_max: Duration::from_millis(200),
        unknown_kid_cooldown: Duration::from_millis(200),
        request_timeout: Duration::from_secs(2),
        ..JwksOptions::default()
    }
}

async fn app_for(dev: &DevIssuer, options: JwksOptions) -> (Verifier, App) {
    let verifier = Verifier::builder()
        .issuer(dev.issuer_config().jwks_options(options))
        .build()
        .await
        .unwrap();
    let app = serve(verifier.clone()).await;
    (verifier, app)
}

/// Polls `check` every 50 ms until it holds, for at most `limit`.
async fn eventually(limit: Duration, mut check: impl AsyncFnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

/// Asserts that a valid `token` is answered 503 `keys_unavailable` with a
/// `Retry-After` and no `invalid_token` challenge, and that the handler did not
/// run (it had run `calls` times before).
async fn assert_keys_unavailable(app: &App, token: &str, calls: usize) {
    let resp = app
        .client
        .get(app.url("/me"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 503);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=30).contains(&retry_after), "{retry_after}");
    assert!(
        resp.headers().get("www-authenticate").is_none(),
        "a 503 says nothing about the token"
    );
    let body: serde_json::Value = serde_json::from_slice(&resp.bytes().await.unwrap()).unwrap();
    assert_eq!(body["reason"], "keys_unavailable", "{body}");
    assert!(body.get("error").is_none(), "{body}");
    assert_eq!(app.calls(), calls, "the handler must not run");
}

#[tokio::test]
async fn rotation_new_kid_is_picked_up_and_removed_kid_rejected() {
    let dev = DevIssuer::start().await.unwrap();
    // Default options: the scheduled refresh is minutes away, so only the
    // unknown-kid refresh can pick up the new key.
    let (verifier, app) = app_for(&dev, JwksOptions::default()).await;
    let old_token = dev.token().sign();
    let old_kid = dev.current_kid();
    assert_eq!(app.get("/me", Some(&old_token)).await.status, 200);

    let new_kid = dev.rotate().await;
    let new_token = dev.token().sign();
    assert_eq!(
        app.get("/me", Some(&new_token)).await.status,
        200,
        "new kid picked up without restart"
    );
    let stats = verifier.key_stats(dev.issuer()).unwrap();
    assert!(stats.kids.contains(&new_kid) && stats.kids.contains(&old_kid));

    // The old key leaves the JWKS: a service that loads it now refuses old tokens.
    dev.retire(&old_kid);
    let (_v, fresh) = app_for(&dev, fast_options()).await;
    let answer = fresh.get("/me", Some(&old_token)).await;
    assert_invalid_token(&fresh, &answer, "kid_unknown");
    assert_eq!(fresh.get("/me", Some(&new_token)).await.status, 200);
}

#[tokio::test]
async fn removed_kid_stops_verifying_at_the_next_scheduled_refresh() {
    let dev = DevIssuer::start().await.unwrap();
    let old_token = dev.token().sign();
    let old_kid = dev.current_kid();
    dev.rotate().await;
    let (verifier, app) = app_for(&dev, fast_options()).await;
    assert_eq!(app.get("/me", Some(&old_token)).await.status, 200);
    assert_eq!(app.calls(), 1);
    dev.retire(&old_kid);
    assert!(
        eventually(Duration::from_secs(5), async || {
            !verifier
                .key_stats(dev.issuer())
                .unwrap()
                .kids
                .contains(&old_kid)
        })
        .await,
        "the poller must drop the retired kid"
    );
    let answer = app.get("/me", Some(&old_token)).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.reason(), "kid_unknown");
    assert_eq!(app.calls(), 1, "the handler must not run");
}

#[tokio::test]
async fn outage_keeps_cached_keys_until_max_stale_then_fails_closed() {
    let dev = DevIssuer::start().await.unwrap();
    let options = JwksOptions {
        max_stale: Duration::from_secs(2),
        ..fast_options()
    };
    let (verifier, app) = app_for(&dev, options).await;
    let token = dev.token().expires_in(3600).sign();
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);

    dev.set_outage(true);
    let failures_before = verifier.key_stats(dev.issuer()).unwrap().failures;
    assert!(
        eventually(Duration::from_secs(3), async || {
            verifier.key_stats(dev.issuer()).unwrap().failures > failures_before
        })
        .await,
        "the poller must notice the outage"
    );
    // JWKS down, but the cached keys keep verifying.
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
    let stats = verifier.key_stats(dev.issuer()).unwrap();
    assert!(
        stats.last_error.as_deref().unwrap().contains("503"),
        "{stats:?}"
    );

    // Past max_stale: fail closed, as the service's fault (503), not the token's.
    assert!(
        eventually(Duration::from_secs(5), async || {
            app.get("/me", Some(&token)).await.status == 503
        })
        .await
    );
    let calls = app.calls();
    assert_keys_unavailable(&app, &token, calls).await;

    // The identity provider comes back: so does service.
    dev.set_outage(false);
    assert!(
        eventually(Duration::from_secs(5), async || {
            app.get("/me", Some(&token)).await.status == 200
        })
        .await
    );
}

#[tokio::test]
async fn unknown_kid_storm_causes_at_most_one_fetch_per_cooldown() {
    let dev = DevIssuer::start().await.unwrap();
    let options = JwksOptions {
        unknown_kid_cooldown: Duration::from_secs(30),
        ..JwksOptions::default()
    };
    let (_verifier, app) = app_for(&dev, options).await;
    let fetches_before = dev.jwks_fetches();
    let app = std::sync::Arc::new(app);
    let mut tasks = Vec::new();
    for worker in 0..50 {
        let app = app.clone();
        let tokens: Vec<String> = (0..20)
            .map(|i| {
                dev.token()
                    .kid(&format!("invented-{worker}-{i}-{}", rand::random::<u64>()))
                    .sign()
            })
            .collect();
        tasks.push(tokio::spawn(async move {
            let mut statuses = Vec::new();
            for token in tokens {
                statuses.push((app.get("/me", Some(&token)).await.status, ()));
            }
            statuses
        }));
    }
    let mut total = 0;
    for task in tasks {
        for (status, ()) in task.await.unwrap() {
            assert_eq!(status, 401);
            total += 1;
        }
    }
    assert_eq!(total, 1000);
    let fetches = dev.jwks_fetches() - fetches_before;
    assert!(
        fetches <= 1,
        "1,000 invented kids caused {fetches} JWKS fetches"
    );
    assert_eq!(app.calls(), 0);
    let answer = app
        .get("/me", Some(&dev.token().kid("one-more").sign()))
        .await;
    assert_invalid_token(&app, &answer, "kid_unknown");
}

#[tokio::test]
async fn slow_jwks_times_out_and_requests_do_not_hang() {
    let dev = DevIssuer::start().await.unwrap();
    dev.set_delay(Duration::from_secs(5));
    let options = JwksOptions {
        request_timeout: Duration::from_millis(300),
        ..fast_options()
    };
    // Building does not fail when the IdP is slow: it times out and retries later.
    let (verifier, app) = app_for(&dev, options).await;
    let stats = verifier.key_stats(dev.issuer()).unwrap();
    assert!(
        stats.last_error.as_deref().unwrap().contains("timed out"),
        "{stats:?}"
    );
    let token = dev.token().sign();
    assert_keys_unavailable(&app, &token, 0).await;

    // Once the IdP answers in time, tokens verify.
    dev.set_delay(Duration::ZERO);
    assert!(
        eventually(Duration::from_secs(5), async || {
            app.get("/me", Some(&token)).await.status == 200
        })
        .await
    );
}

#[tokio::test]
async fn malformed_jwks_never_replaces_good_keys() {
    let dev = DevIssuer::start().await.unwrap();
    let (verifier, app) = app_for(&dev, fast_options()).await;
    let token = dev.token().expires_in(3600).sign();
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
    for body in [
        "not json",
        r#"{"keys":"nope"}"#,
        r#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}"#,
        "[]",
    ] {
        dev.set_jwks_body(Some(body.to_owned()));
        let failures = verifier.key_stats(dev.issuer()).unwrap().failures;
        assert!(
            eventually(Duration::from_secs(3), async || {
                verifier.key_stats(dev.issuer()).unwrap().failures > failures
            })
            .await,
            "{body} must count as a failed refresh"
        );
        assert_eq!(app.get("/me", Some(&token)).await.status, 200, "{body}");
    }
}

#[tokio::test]
async fn malformed_jwks_from_the_start_means_keys_unavailable() {
    let dev = DevIssuer::start().await.unwrap();
    dev.set_jwks_body(Some("<html>oops</html>".into()));
    let (_verifier, app) = app_for(&dev, fast_options()).await;
    assert_keys_unavailable(&app, &dev.token().sign(), 0).await;
}

#[tokio::test]
async fn one_bad_jwk_does_not_spoil_the_set() {
    // conformance: JWK-9
    let dev = DevIssuer::start().await.unwrap();
    let mut jwks: serde_json::Value = serde_json::from_str(&dev.jwks_json()).unwrap();
    jwks["keys"]
        .as_array_mut()
        .unwrap()
        .insert(0, serde_json::json!({"kty": "bogus", "kid": "x"}));
    jwks["keys"].as_array_mut().unwrap().push(serde_json::json!({"kty": "EC", "crv": "P-256", "kid": "enc", "use": "enc", "x": "AA", "y": "AA"}));
    dev.set_jwks_body(Some(jwks.to_string()));
    let (verifier, app) = app_for(&dev, fast_options()).await;
    assert_eq!(app.get("/me", Some(&dev.token().sign())).await.status, 200);
    assert_eq!(
        verifier.key_stats(dev.issuer()).unwrap().kids,
        vec![dev.current_kid()]
    );
}

#[tokio::test]
async fn cache_control_max_age_sets_the_refresh_period() {
    let dev = DevIssuer::start().await.unwrap();
    dev.set_max_age(Some(1));
    let options = JwksOptions {
        min_refresh: Duration::from_millis(500),
        default_refresh: Duration::from_secs(3600),
        ..JwksOptions::default()
    };
    let (_verifier, _app) = app_for(&dev, options).await;
    let first = dev.jwks_fetches();
    // With max-age=1 the poller comes back within about a second, not in an hour.
    assert!(eventually(Duration::from_secs(4), async || dev.jwks_fetches() > first).await);
}

#[tokio::test]
async fn discovery_must_name_the_configured_issuer() {
    let dev = DevIssuer::start().await.unwrap();
    // Same server, but configured with a different issuer string than it announces.
    let pretender = format!("{}/", dev.issuer());
    let verifier = Verifier::builder()
        .issuer(
            IssuerConfig::new(pretender.clone(), [dev.audience()])
                .discovery()
                .jwks_options(fast_options()),
        )
        .build()
        .await
        .unwrap();
    let stats = verifier.key_stats(&pretender).unwrap();
    assert!(stats.last_error.unwrap().contains("another issuer"));
    assert!(stats.kids.is_empty());
}

#[tokio::test]
async fn plain_http_is_refused_for_non_loopback_hosts() {
    let err = Verifier::builder()
        .issuer(
            IssuerConfig::new("https://idp.example", ["api"])
                .jwks_url("http://idp.example/jwks.json"),
        )
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "config_invalid");
    assert!(err.to_string().contains("https"), "{err}");
}

#[tokio::test]
async fn refresh_keys_drops_a_retired_kid_at_once() {
    // An operator who learns a key is compromised does not wait for the schedule.
    let dev = DevIssuer::start().await.unwrap();
    let old_token = dev.token().sign();
    let old_kid = dev.current_kid();
    dev.rotate().await;
    let (verifier, app) = app_for(&dev, JwksOptions::default()).await;
    assert_eq!(app.get("/me", Some(&old_token)).await.status, 200);
    dev.retire(&old_kid);
    verifier.refresh_keys(dev.issuer()).await.unwrap();
    let stats = verifier.key_stats(dev.issuer()).unwrap();
    assert!(
        stats.last_success.is_some() && stats.refreshes >= 2,
        "{stats:?}"
    );
    let answer = app.get("/me", Some(&old_token)).await;
    assert_eq!((answer.status, answer.reason()), (401, "kid_unknown"));
    // A failed forced refresh keeps the keys and says why.
    dev.set_outage(true);
    let err = verifier.refresh_keys(dev.issuer()).await.unwrap_err();
    assert!(err.to_string().contains("503"), "{err}");
    assert_eq!(app.get("/me", Some(&dev.token().sign())).await.status, 200);
    assert_eq!(
        verifier
            .refresh_keys("https://nope.example")
            .await
            .unwrap_err()
            .code(),
        "config_invalid"
    );
}

#[tokio::test]
async fn poller_options_that_would_loop_or_go_stale_are_refused() {
    let dev = DevIssuer::start().await.unwrap();
    let cases = [
        (
            JwksOptions {
                min_refresh: Duration::ZERO,
                ..JwksOptions::default()
            },
            "must be positive",
        ),
        (
            JwksOptions {
                backoff_initial: Duration::ZERO,
                ..JwksOptions::default()
            },
            "must be positive",
        ),
        (
            JwksOptions {
                backoff_max: Duration::ZERO,
                ..JwksOptions::default()
            },
            "must be positive",
        ),
        (
            JwksOptions {
                max_stale: Duration::from_secs(3600),
                ..JwksOptions::default()
            },
            "shorter than max_stale",
        ),
    ];
    for (options, needle) in cases {
        let err = Verifier::builder()
            .issuer(dev.issuer_config().jwks_options(options))
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.code(), "config_invalid");
        assert!(err.to_string().contains(needle), "{err}");
    }
}
