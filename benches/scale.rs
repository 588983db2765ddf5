//! Per-request cost as the work grows: each group varies one dimension and
//! keeps everything else fixed, so a flat row is what the design promises.
//!
//! - `keys`: keys in the issuer's JWKS (1, 10, 100); one ES256 token signed by
//!   the last key, verified in full (`cold`, token cache off) and as a cache
//!   hit (`hit`).
//! - `issuers`: trusted issuers (1, 10, 50); the token is from the last one.
//! - `routes`: contract routes (10, 1 000, 10 000); the decision for the last
//!   route (`Contract::decide`, as `ContractLayer` makes it per request).
//! - `consumers`: named consumers on ramps (10, 1 000, 10 000); the decision for
//!   the last consumer.
//! - `separations`: `[[separation]]` sets in the contract (0, 1, 10), each
//!   naming the route's scope; the decision for a token holding one scope of
//!   each set (allowed: the check runs and finds no conflict).
//! - `revoked`: `jti` entries in the verifier's `RevocationList` (0, 1 000,
//!   1 000 000); a cache hit of a token that is not revoked, which the list is
//!   consulted for on every request.
//! - `redis_mirror` (feature `redis`, with a `redis-server` on the PATH):
//!   100 000 `jti`s revoked in Redis, mirrored by a `RedisRevocationStore`;
//!   a cache hit of a token that is not revoked, as `revoked` measures for
//!   the in-process list. The first sync's time and the mirror's resident
//!   memory are printed.
//! - `cached_tokens`: distinct verified tokens held in the token cache (1,
//!   1 000, 100 000, 1 000 000, in a cache sized for a million); a hit on one of
//!   them. Filling the cache with a million tokens verifies a million tokens
//!   first (about a minute here), and the resident memory the cache took is
//!   printed (`RSS`), as is that of a default-sized cache (4 096 entries) fed
//!   100 000 distinct tokens: the bound holds.
//!
//! `cargo bench --bench scale`. See docs/benchmarks.md ("Cost as the work grows").
#![allow(clippy::unwrap_used, missing_docs)]

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, criterion_group, criterion_main};
use rampgate::contract::Contract;
use rampgate::keys::{KeySet, TokenCacheOptions};
use rampgate::revocation::{Revocation, RevocationList};
use rampgate::{IssuerConfig, Verifier};
use rampgate_testkit::OfflineIssuer;
use std::hint::black_box;
use std::time::Duration;
use tokio::runtime::Runtime;

const AUDIENCE: &str = "scale-api";

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn issuer(n: usize) -> OfflineIssuer {
    OfflineIssuer::for_issuer(format!("https://issuer-{n}.scale.test"), AUDIENCE)
}

fn token(issuer: &OfflineIssuer, jti: usize) -> String {
    issuer
        .token()
        .sub("scale-user")
        .client_id("scale-client")
        .scopes(["s0"])
        .claim("jti", serde_json::json!(format!("scale-{jti}")))
        .expires_in(3600)
        .sign()
}

/// Resident set size of this process, in bytes (Linux).
fn rss() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

fn keys(c: &mut Criterion, rt: &Runtime) {
    let mut group = c.benchmark_group("keys");
    for n in [1usize, 10, 100] {
        // n issuers' keys under one issuer name: the token is signed by the last.
        let signers: Vec<OfflineIssuer> = (0..n)
            .map(|_| OfflineIssuer::for_issuer("https://keys.scale.test", AUDIENCE))
            .collect();
        let jwks: Vec<serde_json::Value> = signers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let set: serde_json::Value = serde_json::from_str(&s.jwks_json()).unwrap();
                // Every offline issuer names its key alike: give each its own kid.
                let mut jwk = set["keys"][0].clone();
                jwk["kid"] = serde_json::json!(format!("k{i}"));
                jwk
            })
            .collect();
        let document = serde_json::json!({ "keys": jwks }).to_string();
        let (set, skipped) = KeySet::from_jwks_json(document.as_bytes()).unwrap();
        assert!(skipped.is_empty());
        let config = signers[0].issuer_config().keys(set);
        let token = signers
            .last()
            .unwrap()
            .token()
            .sub("scale-user")
            .scopes(["s0"])
            .kid(&format!("k{}", n - 1))
            .expires_in(3600)
            .sign();
        cold_and_hit(&mut group, rt, n, &[config], &token);
    }
    group.finish();
}

/// `token` verified in full (`cold`, the token cache off) and found in the
/// token cache (`hit`), by verifiers trusting `configs`.
fn cold_and_hit(
    group: &mut BenchmarkGroup<'_, WallTime>,
    rt: &Runtime,
    n: usize,
    configs: &[IssuerConfig],
    token: &str,
) {
    let build = |cache: bool| {
        let mut builder = Verifier::builder();
        for config in configs {
            builder = builder.issuer(config.clone());
        }
        let builder = if cache {
            builder
        } else {
            builder.no_token_cache()
        };
        rt.block_on(builder.build()).unwrap()
    };
    let (cold, hit) = (build(false), build(true));
    cold.verify_cached(token).unwrap();
    hit.verify_cached(token).unwrap();
    group.bench_with_input(BenchmarkId::new("cold", n), token, |b, t| {
        b.iter(|| cold.verify_cached(black_box(t)).unwrap())
    });
    group.bench_with_input(BenchmarkId::new("hit", n), token, |b, t| {
        b.iter(|| hit.verify_cached(black_box(t)).unwrap())
    });
}

fn issuers(c: &mut Criterion, rt: &Runtime) {
    let mut group = c.benchmark_group("issuers");
    for n in [1usize, 10, 50] {
        let all: Vec<OfflineIssuer> = (0..n).map(issuer).collect();
        let token = token(all.last().unwrap(), 0);
        let configs: Vec<IssuerConfig> = all.iter().map(OfflineIssuer::issuer_config).collect();
        cold_and_hit(&mut group, rt, n, &configs, &token);
    }
    group.finish();
}

/// A contract with `routes` routes (`GET /r{i}/{id}`, each needing one of ten
/// scopes) and `consumers` named consumers on two-stage ramps.
fn contract(routes: usize, consumers: usize) -> Contract {
    let mut text = String::from("version = 1\n[scopes]\n");
    for s in 0..10 {
        text.push_str(&format!("s{s} = \"scope {s}\"\n"));
    }
    text.push_str(
        "[defaults]\nunknown_consumer = { stage = \"default\", scopes = [\"s0\"] }\nunknown_route = \"deny\"\n",
    );
    for r in 0..routes {
        text.push_str(&format!(
            "[[routes]]\nmethod = \"GET\"\npath = \"/r{r}/{{id}}\"\nscopes = [\"s{}\"]\n",
            r % 10
        ));
    }
    for c in 0..consumers {
        text.push_str(&format!(
            "[[consumers]]\nclient_id = \"c{c}\"\nstage = \"pilot\"\nstages = [\n  {{ name = \"pilot\", scopes = [\"s0\"] }},\n  {{ name = \"ga\", scopes = [\"s0\", \"s1\"] }},\n]\n"
        ));
    }
    Contract::parse(&text).unwrap()
}

fn decisions(c: &mut Criterion, rt: &Runtime) {
    let issuer = issuer(0);
    let verifier = rt.block_on(issuer.verifier()).unwrap();
    let scopes = ["s0"];
    let mut group = c.benchmark_group("routes");
    for n in [10usize, 1_000, 10_000] {
        let contract = contract(n, 10);
        // The last route whose scope is s0, so the decision allows.
        let last = (0..n).rev().find(|r| r % 10 == 0).unwrap();
        let path = format!("/r{last}/{{id}}");
        let principal = verifier
            .verify_cached(
                &issuer
                    .token()
                    .client_id("c9")
                    .scopes(scopes)
                    .expires_in(3600)
                    .sign(),
            )
            .unwrap();
        assert!(
            contract
                .decide("GET", Some(&path), &principal)
                .error()
                .is_none()
        );
        group.bench_with_input(BenchmarkId::from_parameter(n), &path, |b, p| {
            b.iter(|| contract.decide("GET", Some(black_box(p)), &principal))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("consumers");
    for n in [10usize, 1_000, 10_000] {
        let contract = contract(10, n);
        let principal = verifier
            .verify_cached(
                &issuer
                    .token()
                    .client_id(&format!("c{}", n - 1))
                    .scopes(scopes)
                    .expires_in(3600)
                    .sign(),
            )
            .unwrap();
        let decision = contract.decide("GET", Some("/r0/{id}"), &principal);
        assert!(decision.error().is_none());
        assert_eq!(decision.stage.as_deref(), Some("pilot"));
        group.bench_with_input(BenchmarkId::from_parameter(n), &principal, |b, p| {
            b.iter(|| contract.decide("GET", Some("/r0/{id}"), black_box(p)))
        });
    }
    group.finish();
}

/// A contract with one route needing `s0` and `sets` separation sets, each
/// keeping `s0` apart from another scope.
fn separated(sets: usize) -> Contract {
    let mut text = String::from("version = 1\n[scopes]\ns0 = \"scope 0\"\n");
    for s in 1..=sets {
        text.push_str(&format!("s{s} = \"scope {s}\"\n"));
    }
    text.push_str(
        "[defaults]\nunknown_consumer = { stage = \"default\", scopes = [\"s0\"] }\n[[routes]]\nmethod = \"GET\"\npath = \"/r/{id}\"\nscopes = [\"s0\"]\n",
    );
    for s in 1..=sets {
        text.push_str(&format!(
            "[[separation]]\nname = \"set{s}\"\nscopes = [\"s0\", \"s{s}\"]\n"
        ));
    }
    Contract::parse(&text).unwrap()
}

fn separations(c: &mut Criterion, rt: &Runtime) {
    let issuer = issuer(0);
    let verifier = rt.block_on(issuer.verifier()).unwrap();
    let principal = verifier
        .verify_cached(
            &issuer
                .token()
                .client_id("c0")
                .scopes(["s0"])
                .expires_in(3600)
                .sign(),
        )
        .unwrap();
    let mut group = c.benchmark_group("separations");
    for n in [0usize, 1, 10] {
        let contract = separated(n);
        assert_eq!(contract.separations().len(), n);
        assert!(
            contract
                .decide("GET", Some("/r/{id}"), &principal)
                .error()
                .is_none()
        );
        group.bench_with_input(BenchmarkId::from_parameter(n), &principal, |b, p| {
            b.iter(|| contract.decide("GET", Some("/r/{id}"), black_box(p)))
        });
    }
    group.finish();
}

fn revoked(c: &mut Criterion, rt: &Runtime) {
    let issuer = issuer(0);
    let token = token(&issuer, 0);
    let mut group = c.benchmark_group("revoked");
    for n in [0usize, 1_000, 1_000_000] {
        let list = RevocationList::new();
        let until = std::time::SystemTime::now() + Duration::from_secs(3600);
        list.revoke_many(
            (0..n).map(|i| Revocation::jti(format!("revoked-{i}")).until(until)),
            None,
        )
        .unwrap();
        let verifier = rt
            .block_on(
                Verifier::builder()
                    .issuer(issuer.issuer_config())
                    .revocations(list.clone())
                    .build(),
            )
            .unwrap();
        verifier.verify_cached(&token).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &token, |b, t| {
            b.iter(|| verifier.verify_cached(black_box(t)).unwrap())
        });
    }
    group.finish();
}

fn cached_tokens(c: &mut Criterion, rt: &Runtime) {
    let issuer = issuer(0);
    let sizes = [1usize, 1_000, 100_000, 1_000_000];
    let most = *sizes.last().unwrap();
    let tokens: Vec<String> = (0..most).map(|i| token(&issuer, i)).collect();
    let build = |options: TokenCacheOptions| {
        rt.block_on(
            Verifier::builder()
                .issuer(issuer.issuer_config())
                .token_cache(options)
                .build(),
        )
        .unwrap()
    };
    let ttl = Duration::from_secs(3600);

    // The default bound (4 096 entries) under 100 000 distinct tokens.
    let before = rss();
    let bounded = build(TokenCacheOptions::default());
    for t in &tokens[..100_000] {
        bounded.verify_cached(t).unwrap();
    }
    let stats = bounded.cache_stats().unwrap();
    eprintln!(
        "RSS: default cache (4096 entries) after 100000 distinct tokens: +{:.1} MiB ({} entries held)",
        (rss().saturating_sub(before)) as f64 / 1048576.0,
        stats.entries
    );
    drop(bounded);

    let mut group = c.benchmark_group("cached_tokens");
    let mut filled = 0;
    let before = rss();
    let big = build(TokenCacheOptions {
        max_entries: most,
        ttl,
    });
    for n in sizes {
        for t in &tokens[filled..n] {
            big.verify_cached(t).unwrap();
        }
        filled = n;
        let held = big.cache_stats().unwrap().entries;
        // The shards fill unevenly: a few entries may have been evicted early.
        assert!(held * 100 >= n * 95, "{held} of {n} held");
        if n == most {
            let grown = rss().saturating_sub(before);
            eprintln!(
                "RSS: cache sized for {most} after {most} distinct tokens: +{:.1} MiB ({:.0} bytes per entry, {held} entries held)",
                grown as f64 / 1048576.0,
                grown as f64 / held as f64
            );
        }
        // A hit on the first token, which every size holds.
        let token = &tokens[0];
        group.bench_with_input(BenchmarkId::new("hit", n), token, |b, t| {
            b.iter(|| big.verify_cached(black_box(t)).unwrap())
        });
    }
    group.finish();
}

#[cfg(feature = "redis")]
fn redis_mirror(c: &mut Criterion, rt: &Runtime) {
    use rampgate::revocation::{RedisRevocationStore, RedisRevocations, RedisStoreOptions};
    let Ok(server) = rampgate_testkit::RedisServer::start() else {
        eprintln!("redis_mirror skipped: no redis-server (apt-get install redis-server)");
        return;
    };
    const N: usize = 100_000;
    let options = RedisStoreOptions::new(server.url());
    let until = std::time::SystemTime::now() + Duration::from_secs(3600);
    rt.block_on(async {
        let client = RedisRevocations::connect(&options).await.unwrap();
        for i in 0..N {
            let r = Revocation::jti(format!("revoked-{i}")).until(until);
            client.revoke(r, None).await.unwrap();
        }
    });
    let before = rss();
    let started = std::time::Instant::now();
    let store = rt.block_on(async {
        let store = RedisRevocationStore::connect(options).await.unwrap();
        assert!(store.wait_synced(Duration::from_secs(60)).await);
        store
    });
    let synced = started.elapsed();
    assert_eq!(store.len(), N);
    eprintln!(
        "redis_mirror: first sync of {N} revocations in {:.2} s; RSS +{:.1} MiB ({:.0} bytes per entry)",
        synced.as_secs_f64(),
        rss().saturating_sub(before) as f64 / 1048576.0,
        rss().saturating_sub(before) as f64 / N as f64
    );
    let issuer = issuer(0);
    let token = token(&issuer, 0);
    let verifier = rt
        .block_on(
            Verifier::builder()
                .issuer(issuer.issuer_config())
                .revocations(store)
                .build(),
        )
        .unwrap();
    verifier.verify_cached(&token).unwrap();
    let mut group = c.benchmark_group("redis_mirror");
    group.bench_with_input(BenchmarkId::from_parameter(N), &token, |b, t| {
        b.iter(|| verifier.verify_cached(black_box(t)).unwrap())
    });
    group.finish();
    drop(server);
}

fn all(c: &mut Criterion) {
    let rt = runtime();
    keys(c, &rt);
    issuers(c, &rt);
    decisions(c, &rt);
    separations(c, &rt);
    revoked(c, &rt);
    #[cfg(feature = "redis")]
    redis_mirror(c, &rt);
    cached_tokens(c, &rt);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = all
}
criterion_main!(benches);
