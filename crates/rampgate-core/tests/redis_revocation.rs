//! The Redis revocation store against a real `redis-server` of each test's
//! own (on a free loopback port, persistence off, killed at the end).
#![allow(clippy::unwrap_used)]

#[allow(unreachable_pub, dead_code)]
#[path = "../../rampgate-testkit/src/redis.rs"]
mod redis_server;

use rampgate_core::{
    RedisRevocationStore, RedisRevocations, RedisStoreError, RedisStoreOptions, Revocation,
    RevocationCheck, RevocationStore, RevokedBy, StalePolicy,
};
use redis_server::RedisServer;
use std::time::{Duration, Instant, SystemTime};

const ISS: &str = "https://issuer.example";

fn jti(j: &str) -> RevocationCheck<'_> {
    RevocationCheck::new(ISS).jti(Some(j))
}

fn options(url: &str) -> RedisStoreOptions {
    RedisStoreOptions::new(url)
        .check_interval(Duration::from_millis(200))
        .initial_wait(Duration::from_secs(5))
}

/// Polls `f` until it holds, for at most `within`; returns how long it took.
async fn eventually(within: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if f() {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_on_one_store_is_seen_by_another_within_a_second() {
    let redis = RedisServer::start().unwrap();
    let a = RedisRevocationStore::connect(options(&redis.url()))
        .await
        .unwrap();
    let b = RedisRevocationStore::connect(options(&redis.url()))
        .await
        .unwrap();
    assert!(a.is_connected() && b.is_connected());

    let exp = SystemTime::now() + Duration::from_secs(600);
    a.revoke(Revocation::jti("t-1").until(exp), Some("ops"))
        .unwrap();
    // This replica refuses at once; the other within a second.
    assert_eq!(a.check(&jti("t-1")), Some(RevokedBy::Jti));
    let took = eventually(Duration::from_secs(1), || b.check(&jti("t-1")).is_some()).await;
    assert!(
        took.is_some(),
        "store B did not see the revocation within 1 s"
    );
    assert_eq!(b.check(&jti("t-2")), None);

    // One-off changes straight into Redis (the CLI's way) reach both.
    let cli = RedisRevocations::connect(&options(&redis.url()))
        .await
        .unwrap();
    let now = SystemTime::now();
    cli.revoke(Revocation::subject("alice", now), Some("cli:ops@host"))
        .await
        .unwrap();
    let alice = RevocationCheck::new(ISS).sub(Some("alice")).iat(None);
    for store in [&a, &b] {
        let seen = eventually(Duration::from_secs(1), || store.check(&alice).is_some()).await;
        assert!(seen.is_some());
    }
    let listed = cli.list().await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].by, RevokedBy::Jti);
    assert_eq!(listed[1].value, "alice");

    // Un-revoking through B lifts it on A too.
    assert!(
        b.unrevoke(RevokedBy::Jti, "t-1", None, Some("ops"))
            .unwrap()
            .is_some()
    );
    let lifted = eventually(Duration::from_secs(1), || a.check(&jti("t-1")).is_none()).await;
    assert!(lifted.is_some());
    let removed = cli
        .unrevoke(RevokedBy::Sub, "alice", None, None)
        .await
        .unwrap();
    assert_eq!(removed.map(|r| r.value).as_deref(), Some("alice"));
    assert_eq!(
        cli.unrevoke(RevokedBy::Sub, "alice", None, None)
            .await
            .unwrap(),
        None
    );
    let empty = eventually(Duration::from_secs(1), || a.is_empty() && b.is_empty()).await;
    assert!(empty.is_some());
    assert!(cli.list().await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_while_disconnected_is_seen_after_the_reconnect() {
    let mut redis = RedisServer::start().unwrap();
    let store = RedisRevocationStore::connect(options(&redis.url()))
        .await
        .unwrap();
    store.revoke(Revocation::jti("before"), None).unwrap();
    let cli = RedisRevocations::connect(&options(&redis.url()))
        .await
        .unwrap();
    let mut written = false;
    for _ in 0..100 {
        if cli
            .list()
            .await
            .unwrap()
            .iter()
            .any(|r| r.value == "before")
        {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(written, "the store did not write its change to Redis");

    // The outage: the server goes away. The store keeps serving its mirror.
    redis.stop();
    let down = eventually(Duration::from_secs(3), || !store.is_connected()).await;
    assert!(down.is_some(), "the store did not notice the outage");
    assert_eq!(store.check(&jti("before")), Some(RevokedBy::Jti));
    assert!(store.usable(), "keep-serving is the default");
    let health = store.health().unwrap();
    assert!(!health.connected && health.synced && health.usable);

    // Meanwhile a revocation is made directly in the data the server will
    // come back with (another server saves it into the same directory): no
    // message ever announces it, only a resynchronisation can find it.
    {
        let side = RedisServer::start_in(redis.dir()).unwrap();
        let direct = RedisRevocations::connect(&options(&side.url()))
            .await
            .unwrap();
        direct
            .revoke(Revocation::jti("during"), Some("cli:ops@host"))
            .await
            .unwrap();
        let client = redis::Client::open(side.url()).unwrap();
        let mut conn = client.get_multiplexed_async_connection().await.unwrap();
        redis::cmd("SAVE")
            .query_async::<()>(&mut conn)
            .await
            .unwrap();
    }
    redis.restart().unwrap();
    let resynced = eventually(Duration::from_secs(5), || {
        store.is_connected() && store.check(&jti("during")).is_some()
    })
    .await;
    assert!(
        resynced.is_some(),
        "the change made during the outage was lost"
    );
    // The server came back without "before" (only "during" was saved): the
    // resynchronised mirror holds what Redis holds.
    assert_eq!(store.check(&jti("before")), None);
    assert_eq!(store.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_entries_leave_redis_and_the_mirror() {
    let redis = RedisServer::start().unwrap();
    let opts = options(&redis.url()).expiry_margin(Duration::ZERO);
    let store = RedisRevocationStore::connect(opts.clone()).await.unwrap();
    let cli = RedisRevocations::connect(&opts).await.unwrap();
    let soon = SystemTime::now() + Duration::from_secs(2);
    cli.revoke(Revocation::jti("short").until(soon), None)
        .await
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(600);
    cli.revoke(Revocation::jti("long").until(later), None)
        .await
        .unwrap();
    let seen = eventually(Duration::from_secs(1), || store.len() == 2).await;
    assert!(seen.is_some());
    assert_eq!(store.check(&jti("short")), Some(RevokedBy::Jti));

    let gone = eventually(Duration::from_secs(5), || {
        store.check(&jti("short")).is_none()
    })
    .await;
    assert!(gone.is_some(), "the expired jti is still refused");
    // Redis expires it at the same instant, give or take its clock's ms.
    let mut listed = cli.list().await.unwrap();
    for _ in 0..20 {
        if listed.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        listed = cli.list().await.unwrap();
    }
    assert_eq!(listed.len(), 1, "Redis still holds the expired entry");
    assert_eq!(listed[0].value, "long");
    let dropped = eventually(Duration::from_secs(2), || store.len() == 1).await;
    assert!(dropped.is_some(), "the mirror keeps the expired entry");
    assert_eq!(store.check(&jti("long")), Some(RevokedBy::Jti));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_stale_a_fail_closed_store_is_unusable_and_a_keep_serving_one_serves() {
    let mut redis = RedisServer::start().unwrap();
    let closed = RedisRevocationStore::connect(
        options(&redis.url()).max_stale(Duration::from_millis(500), StalePolicy::FailClosed),
    )
    .await
    .unwrap();
    let open = RedisRevocationStore::connect(
        options(&redis.url()).max_stale(Duration::from_millis(500), StalePolicy::KeepServing),
    )
    .await
    .unwrap();
    closed.revoke(Revocation::jti("x"), None).unwrap();
    let both = eventually(Duration::from_secs(1), || open.check(&jti("x")).is_some()).await;
    assert!(both.is_some());
    assert!(closed.usable() && open.usable());

    redis.stop();
    let stale = eventually(Duration::from_secs(5), || !closed.usable()).await;
    assert!(
        stale.is_some(),
        "fail-closed store still usable past max_stale"
    );
    let health = closed.health().unwrap();
    assert!(!health.connected && !health.usable);
    // Keep-serving answers from its last mirror all along.
    assert!(open.usable());
    assert_eq!(open.check(&jti("x")), Some(RevokedBy::Jti));
    assert!(!open.health().unwrap().connected);

    redis.restart().unwrap();
    let back = eventually(Duration::from_secs(5), || closed.usable()).await;
    assert!(
        back.is_some(),
        "fail-closed store not usable again after reconnect"
    );
    assert!(closed.health().unwrap().connected);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_down_at_start_waits_boundedly_then_applies_the_policy() {
    let mut redis = RedisServer::start().unwrap();
    let url = redis.url();
    redis.stop();
    let started = Instant::now();
    let store = RedisRevocationStore::connect(
        options(&url)
            .initial_wait(Duration::from_millis(600))
            .max_stale(Duration::from_secs(30), StalePolicy::FailClosed),
    )
    .await
    .unwrap();
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(600) && waited < Duration::from_secs(3),
        "{waited:?}"
    );
    assert!(
        !store.usable(),
        "never synchronised: a fail-closed store refuses"
    );
    assert!(!store.health().unwrap().synced);
    redis.restart().unwrap();
    assert!(store.wait_synced(Duration::from_secs(5)).await);
    assert!(store.usable());
}

#[tokio::test]
async fn a_bad_url_is_a_clear_error() {
    for url in ["http://127.0.0.1:6379", "not a url"] {
        let err = RedisRevocationStore::connect(RedisStoreOptions::new(url))
            .await
            .unwrap_err();
        assert!(matches!(err, RedisStoreError::InvalidUrl { .. }), "{err:?}");
        assert!(err.to_string().contains("use redis://"), "{err}");
    }
    // A password never shows in the message.
    let err = RedisRevocations::connect(&RedisStoreOptions::new("redis://user:s3cret@127.0.0.1:1"))
        .await
        .unwrap_err();
    assert!(
        matches!(err, RedisStoreError::Unreachable { .. }),
        "{err:?}"
    );
    assert!(!err.to_string().contains("s3cret"), "{err}");
    assert!(
        err.to_string().contains("check that the server runs"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_made_during_an_outage_is_written_on_reconnect_unless_it_lapsed() {
    let mut redis = RedisServer::start().unwrap();
    let opts = options(&redis.url()).expiry_margin(Duration::ZERO);
    let store = RedisRevocationStore::connect(opts.clone()).await.unwrap();
    redis.stop();
    let down = eventually(Duration::from_secs(3), || !store.is_connected()).await;
    assert!(down.is_some());
    // Made on this replica while Redis is gone: refused here at once.
    let soon = SystemTime::now() + Duration::from_secs(1);
    store
        .revoke(Revocation::jti("lapses").until(soon), None)
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(600);
    store
        .revoke(Revocation::jti("kept").until(later), None)
        .unwrap();
    assert_eq!(store.check(&jti("kept")), Some(RevokedBy::Jti));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    redis.restart().unwrap();
    let back = eventually(Duration::from_secs(5), || store.is_connected()).await;
    assert!(back.is_some(), "not reconnected");
    // Written on reconnect (and kept by the resync); the lapsed one is not.
    let cli = RedisRevocations::connect(&opts).await.unwrap();
    let values: Vec<String> = cli
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.value)
        .collect();
    assert_eq!(values, ["kept"]);
    assert_eq!(store.check(&jti("kept")), Some(RevokedBy::Jti));
    assert_eq!(store.check(&jti("lapses")), None);
}

async fn raw(url: &str) -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(url).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

async fn values_in_redis(cli: &RedisRevocations) -> Vec<String> {
    let mut values: Vec<String> = cli
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.value)
        .collect();
    values.sort();
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_redis_cannot_write_now_stays_queued_until_it_can() {
    let redis = RedisServer::start().unwrap();
    let store = RedisRevocationStore::connect(options(&redis.url()))
        .await
        .unwrap();
    let cli = RedisRevocations::connect(&options(&redis.url()))
        .await
        .unwrap();
    let mut conn = raw(&redis.url()).await;
    // Writes now fail with NOREPLICAS: a server that cannot write for now.
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("min-replicas-to-write")
        .arg("1")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    store.revoke(Revocation::jti("queued"), None).unwrap();
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(values_in_redis(&cli).await.is_empty());
    assert_eq!(store.check(&jti("queued")), Some(RevokedBy::Jti));
    redis::cmd("CONFIG")
        .arg("SET")
        .arg("min-replicas-to-write")
        .arg("0")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let mut written = false;
    for _ in 0..100 {
        if values_in_redis(&cli).await == ["queued"] {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(written, "the queued change was dropped");
    let back = eventually(Duration::from_secs(5), || store.is_connected()).await;
    assert!(back.is_some());
    assert_eq!(store.check(&jti("queued")), Some(RevokedBy::Jti));
    assert_eq!(store.health().unwrap().dropped_changes, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_redis_refuses_for_good_is_dropped_counted_and_does_not_hold_the_queue() {
    let redis = RedisServer::start().unwrap();
    let store = RedisRevocationStore::connect(options(&redis.url()))
        .await
        .unwrap();
    let cli = RedisRevocations::connect(&options(&redis.url()))
        .await
        .unwrap();
    cli.revoke(Revocation::jti("wrongtype"), None)
        .await
        .unwrap();
    let seen = eventually(Duration::from_secs(2), || {
        store.check(&jti("wrongtype")).is_some()
    })
    .await;
    assert!(seen.is_some());
    // Something else turns the entry's key into a list: GETDEL on it is
    // WRONGTYPE, whatever the store retries.
    let mut conn = raw(&redis.url()).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("rampgate:rev:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1);
    redis::cmd("DEL")
        .arg(&keys[0])
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    redis::cmd("RPUSH")
        .arg(&keys[0])
        .arg("x")
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    store
        .unrevoke(RevokedBy::Jti, "wrongtype", None, None)
        .unwrap();
    store.revoke(Revocation::jti("after"), None).unwrap();
    let mut written = false;
    for _ in 0..100 {
        if values_in_redis(&cli).await == ["after"] {
            written = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(written, "the refused change held the queue");
    assert_eq!(store.health().unwrap().dropped_changes, 1);
    assert!(store.is_connected());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_until_at_the_end_of_time_is_kept_without_expiry_and_the_task_lives() {
    let redis = RedisServer::start().unwrap();
    let a = RedisRevocationStore::connect(options(&redis.url()))
        .await
        .unwrap();
    let b = RedisRevocationStore::connect(options(&redis.url()))
        .await
        .unwrap();
    let end = SystemTime::UNIX_EPOCH + Duration::from_secs(u64::MAX >> 1);
    a.revoke(Revocation::jti("forever").until(end), Some("ops"))
        .unwrap();
    let seen = eventually(Duration::from_secs(2), || {
        b.check(&jti("forever")).is_some()
    })
    .await;
    assert!(seen.is_some(), "the other replica did not see it");
    let cli = RedisRevocations::connect(&options(&redis.url()))
        .await
        .unwrap();
    cli.revoke(Revocation::jti("forever-cli").until(end), None)
        .await
        .unwrap();
    assert_eq!(values_in_redis(&cli).await, ["forever", "forever-cli"]);
    let mut conn = raw(&redis.url()).await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("rampgate:rev:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    for key in keys {
        let ttl: i64 = redis::cmd("PTTL")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(ttl, -1, "kept without expiry");
    }
    assert!(a.is_connected() && a.health().unwrap().synced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prefix_with_glob_characters_matches_its_own_keys_only() {
    let redis = RedisServer::start().unwrap();
    let other = RedisRevocations::connect(&options(&redis.url()).prefix("fleeta"))
        .await
        .unwrap();
    other.revoke(Revocation::jti("other"), None).await.unwrap();
    let opts = options(&redis.url()).prefix("fleet[a]");
    let mine = RedisRevocations::connect(&opts).await.unwrap();
    mine.revoke(Revocation::jti("mine"), None).await.unwrap();
    assert_eq!(values_in_redis(&mine).await, ["mine"]);
    let store = RedisRevocationStore::connect(opts).await.unwrap();
    assert!(store.health().unwrap().synced);
    assert_eq!(store.len(), 1);
    assert_eq!(store.check(&jti("mine")), Some(RevokedBy::Jti));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_that_are_not_utf8_are_skipped_and_counted_not_fatal() {
    let redis = RedisServer::start().unwrap();
    let cli = RedisRevocations::connect(&options(&redis.url()))
        .await
        .unwrap();
    cli.revoke(Revocation::jti("good"), None).await.unwrap();
    let mut conn = raw(&redis.url()).await;
    redis::cmd("SET")
        .arg("rampgate:rev:bad-value")
        .arg(&b"\xff\xfe{"[..])
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    redis::cmd("SET")
        .arg(&b"rampgate:rev:\xff"[..])
        .arg(&b"\x80"[..])
        .query_async::<()>(&mut conn)
        .await
        .unwrap();
    let store = RedisRevocationStore::connect(options(&redis.url()))
        .await
        .unwrap();
    let health = store.health().unwrap();
    assert!(health.synced && health.connected);
    assert_eq!(health.skipped_entries, 2);
    assert_eq!(store.len(), 1);
    assert_eq!(store.check(&jti("good")), Some(RevokedBy::Jti));
    assert_eq!(values_in_redis(&cli).await, ["good"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_max_queued_a_change_is_refused_not_queued() {
    let mut redis = RedisServer::start().unwrap();
    let opts = options(&redis.url()).max_queued(2);
    let store = RedisRevocationStore::connect(opts.clone()).await.unwrap();
    redis.stop();
    let down = eventually(Duration::from_secs(3), || !store.is_connected()).await;
    assert!(down.is_some());
    store.revoke(Revocation::jti("one"), None).unwrap();
    store.revoke(Revocation::jti("two"), None).unwrap();
    let err = store.revoke(Revocation::jti("three"), None).unwrap_err();
    assert!(err.to_string().contains("max_queued"), "{err}");
    assert_eq!(store.check(&jti("three")), None, "refused, not applied");
    redis.restart().unwrap();
    let back = eventually(Duration::from_secs(5), || store.is_connected()).await;
    assert!(back.is_some());
    // Written, the queue has room again.
    store.revoke(Revocation::jti("three"), None).unwrap();
    let cli = RedisRevocations::connect(&opts).await.unwrap();
    let mut all = Vec::new();
    for _ in 0..100 {
        all = values_in_redis(&cli).await;
        if all.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(all, ["one", "three", "two"]);
}
