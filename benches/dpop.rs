//! What a DPoP proof (RFC 9449) costs beside a bearer token, and what the
//! replay cache costs as it fills.
//!
//! - `dpop`: one ES256 access token verified as a bearer token, in full
//!   (`bearer_cold`, token cache off) and as a cache hit (`bearer_hit`);
//!   one proof checked without recording it (`proof_es256`, `proof_eddsa`,
//!   `proof_rs256`: parse, key, signature, htu, ath); and the DPoP request
//!   as a layer makes it (`dpop_hit_es256`: a fresh proof verified, the
//!   token found in the cache, the proof's `jti` recorded).
//! - `replay_cache`: a checker holding 10 000, 100 000 and 1 000 000 `jti`s
//!   (its window made an hour, so none expires while it fills); a fresh
//!   proof checked and recorded (`check`), and a proof refused as a replay
//!   (`replayed`: the lookup alone). Filling it prints the time it took, the
//!   resident memory it grew by (`RSS`) and the cost of one insertion alone.
//!
//! Fresh proofs are signed before each timed batch (`iter_custom`), so
//! signing is never measured.
//!
//! `cargo bench --bench dpop`. See docs/benchmarks.md ("DPoP").
#![allow(clippy::unwrap_used, missing_docs)]

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as lc, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rampgate::{IssuerConfig, Verifier};
use rampgate_core::dpop::{DpopChecker, DpopOptions, DpopRequest, access_token_hash};
use rampgate_testkit::OfflineIssuer;
use serde_json::json;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::runtime::Runtime;

const URL: &str = "https://api.example/orders";

/// A client's DPoP key, signing proofs for GET `URL` with one access token.
struct Client {
    key: ClientKey,
    header: String,
    ath: String,
    rng: SystemRandom,
    next_jti: AtomicU64,
}

enum ClientKey {
    Es256(lc::EcdsaKeyPair),
    EdDsa(lc::Ed25519KeyPair),
    Rs256(lc::RsaKeyPair),
}

impl Client {
    fn new(key: ClientKey, token: &str) -> Client {
        let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
        let (alg, jwk) = match &key {
            ClientKey::Es256(k) => {
                let point = k.public_key().as_ref();
                let (x, y) = point[1..].split_at(32);
                (
                    "ES256",
                    json!({"kty": "EC", "crv": "P-256", "x": b64(x), "y": b64(y)}),
                )
            }
            ClientKey::EdDsa(k) => (
                "EdDSA",
                json!({"kty": "OKP", "crv": "Ed25519", "x": b64(k.public_key().as_ref())}),
            ),
            ClientKey::Rs256(k) => {
                let lc::RsaPublicKeyComponents { n, e } =
                    lc::RsaPublicKeyComponents::<Vec<u8>>::from(k.public_key());
                ("RS256", json!({"kty": "RSA", "n": b64(&n), "e": b64(&e)}))
            }
        };
        let header = json!({"typ": "dpop+jwt", "alg": alg, "jwk": jwk});
        Client {
            key,
            header: b64(header.to_string().as_bytes()),
            ath: access_token_hash(token),
            rng: SystemRandom::new(),
            next_jti: AtomicU64::new(0),
        }
    }

    fn es256(token: &str) -> Client {
        let key = lc::EcdsaKeyPair::generate(&lc::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        Client::new(ClientKey::Es256(key), token)
    }

    /// A proof with a `jti` never used before.
    fn proof(&self) -> String {
        let jti = self.next_jti.fetch_add(1, Ordering::Relaxed);
        let iat = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let claims = json!({"jti": format!("bench-{jti:016x}"), "htm": "GET", "htu": URL,
                            "iat": iat, "ath": self.ath});
        let input = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match &self.key {
            ClientKey::Es256(k) => k
                .sign(&self.rng, input.as_bytes())
                .unwrap()
                .as_ref()
                .to_vec(),
            ClientKey::EdDsa(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
            ClientKey::Rs256(k) => {
                let mut signature = vec![0; k.public_modulus_len()];
                k.sign(
                    &lc::RSA_PKCS1_SHA256,
                    &self.rng,
                    input.as_bytes(),
                    &mut signature,
                )
                .unwrap();
                signature
            }
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }
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

/// Times `iters` fresh proofs through `each`, signed beforehand.
fn fresh_proofs(client: &Client, iters: u64, mut each: impl FnMut(&str)) -> Duration {
    let proofs: Vec<String> = (0..iters).map(|_| client.proof()).collect();
    let start = Instant::now();
    for proof in &proofs {
        each(proof);
    }
    start.elapsed()
}

fn per_request(c: &mut Criterion, rt: &Runtime) {
    let issuer = OfflineIssuer::for_issuer("https://issuer.dpop.test", "dpop-api");
    let token = issuer
        .token()
        .sub("bench")
        .scopes(["orders:read"])
        .expires_in(3600)
        .sign();
    let build = |config: IssuerConfig, cache: bool| {
        let builder = Verifier::builder().issuer(config);
        let builder = if cache {
            builder
        } else {
            builder.no_token_cache()
        };
        rt.block_on(builder.build()).unwrap()
    };
    let cold = build(issuer.issuer_config(), false);
    let cached = build(issuer.issuer_config(), true);
    cached.verify_cached(&token).unwrap();
    let checker = DpopChecker::new(DpopOptions::default()).unwrap();
    let request = DpopRequest::new("GET", URL, &token);
    let clients = [
        ("proof_es256", Client::es256(&token)),
        (
            "proof_eddsa",
            Client::new(
                ClientKey::EdDsa(lc::Ed25519KeyPair::generate().unwrap()),
                &token,
            ),
        ),
        (
            "proof_rs256",
            Client::new(
                ClientKey::Rs256(
                    lc::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap(),
                ),
                &token,
            ),
        ),
    ];

    let mut group = c.benchmark_group("dpop");
    group.bench_function("bearer_cold_es256", |b| {
        b.iter(|| cold.verify_cached(black_box(&token)).unwrap())
    });
    group.bench_function("bearer_hit_es256", |b| {
        b.iter(|| cached.verify_cached(black_box(&token)).unwrap())
    });
    for (name, client) in &clients {
        let proof = client.proof();
        let _ = checker.verify(&proof, &request).unwrap();
        group.bench_function(*name, |b| {
            b.iter(|| checker.verify(black_box(&proof), &request).unwrap())
        });
    }
    let client = &clients[0].1;
    group.bench_function("dpop_hit_es256", |b| {
        b.iter_custom(|iters| {
            fresh_proofs(client, iters, |proof| {
                let checked = checker.verify(proof, &request).unwrap();
                black_box(cached.verify_cached(&token).unwrap());
                checker.record(&checked).unwrap();
            })
        })
    });
    group.finish();
}

fn replay_cache(c: &mut Criterion) {
    let sizes = [10_000usize, 100_000, 1_000_000];
    let token = "an.access.token";
    let request = DpopRequest::new("GET", URL, token);
    let client = Client::es256(token);
    let before = rss();
    let checker = DpopChecker::new(
        DpopOptions::default()
            .max_age(Duration::from_secs(3600))
            .replay_capacity(4_000_000),
    )
    .unwrap();
    let mut group = c.benchmark_group("replay_cache");
    for n in sizes {
        let start = Instant::now();
        let filling = n.saturating_sub(checker.replay_entries());
        for _ in 0..filling {
            let _ = checker.check(&client.proof(), &request).unwrap();
        }
        let held = checker.replay_entries();
        let grown = rss().saturating_sub(before);
        eprintln!(
            "replay cache: {filling} proofs checked in {:.1} s to hold {held} jtis; RSS +{:.1} MiB ({:.0} bytes per jti)",
            start.elapsed().as_secs_f64(),
            grown as f64 / 1_048_576.0,
            grown as f64 / held as f64
        );
        // One insertion alone: 10 000 proofs verified first, then recorded.
        let verified: Vec<_> = (0..10_000)
            .map(|_| checker.verify(&client.proof(), &request).unwrap())
            .collect();
        let start = Instant::now();
        for proof in &verified {
            checker.record(proof).unwrap();
        }
        eprintln!(
            "replay cache: one insertion at {held} jtis: {:.0} ns",
            start.elapsed().as_nanos() as f64 / verified.len() as f64
        );
        let replayed = &verified[0];
        group.bench_with_input(BenchmarkId::new("replayed", n), replayed, |b, p| {
            b.iter(|| checker.record(black_box(p)).unwrap_err())
        });
        group.bench_function(BenchmarkId::new("check", n), |b| {
            b.iter_custom(|iters| {
                fresh_proofs(&client, iters, |proof| {
                    let _ = checker.check(proof, &request).unwrap();
                })
            })
        });
    }
    group.finish();
}

fn all(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // The replay cache first, so that the memory it grows by is not hidden
    // by what the other group freed.
    replay_cache(c);
    per_request(c, &rt);
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
