//! rampgate's verification cost, side by side with `jsonwebtoken::decode`.
//!
//! Groups (one per comparison, so ratios come from one run):
//!
//! - `verify_es256`, `verify_rs256`: one valid token, `Verifier::verify_cached`
//!   versus `jsonwebtoken::decode::<serde_json::Value>` with the same checks
//!   (alg, iss, aud, exp, 60 s leeway).
//! - `reject`: rampgate's own rejection paths (garbage, expired, unknown `kid`).
//! - `parse_es256`: the work before any crypto: rampgate refusing a token with an
//!   unknown `kid` (split, strict base64url, duplicate-free JSON header and claims,
//!   issuer, alg and kid lookup) versus `jsonwebtoken::dangerous::insecure_decode`.
//! - `layer_es256`: a 200 `service_fn` bare versus wrapped in `JwtLayer`.
//! - `backend`: the `jsonwebtoken` rust_crypto verifier factory alone, and a
//!   signature check with a verifier made per call versus one made once.
//!
//! Run with `cargo bench --bench verify`. See docs/benchmarks.md.
#![allow(clippy::unwrap_used, missing_docs)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rampgate::{IssuerConfig, JwtLayer, Key, KeySet, Verifier};
use rampgate_testkit::{DevIssuer, SigningAlg};
use serde_json::Value;
use std::convert::Infallible;
use std::hint::black_box;
use std::time::Duration;
use tokio::runtime::Runtime;
use tower::{Layer as _, ServiceExt as _};

/// One issuer's tokens, rampgate verifier and the peer's equivalent setup.
struct Fixture {
    alg: Algorithm,
    valid: String,
    expired: String,
    unknown_kid: String,
    verifier: Verifier,
    peer_key: DecodingKey,
    peer_validation: Validation,
}

impl Fixture {
    fn new(rt: &Runtime, alg: SigningAlg) -> Fixture {
        rt.block_on(async {
            let issuer = DevIssuer::builder().alg(alg).start().await.unwrap();
            // Valid for an hour: the whole run must not outlive the tokens.
            let valid = issuer
                .token()
                .scopes(["orders:read", "orders:write"])
                .expires_in(3600)
                .sign();
            let expired = issuer.token().expires_in(-3600).sign();
            let unknown_kid = issuer.token().expires_in(3600).kid("no-such-kid").sign();

            let jwks: Value = serde_json::from_str(&issuer.jwks_json()).unwrap();
            let jwk = &jwks["keys"][0];
            let member = |name: &str| jwk[name].as_str().unwrap().to_owned();

            // Static keys: no network on any path measured.
            let key = Key::from_jwk_json(&jwk.to_string()).unwrap();
            let verifier = Verifier::builder()
                .issuer(
                    IssuerConfig::new(issuer.issuer(), [issuer.audience()])
                        .keys(KeySet::from_keys([key]).unwrap()),
                )
                .build()
                .await
                .unwrap();

            let (alg, peer_key) = match alg {
                SigningAlg::Rs256 => (
                    Algorithm::RS256,
                    DecodingKey::from_rsa_components(&member("n"), &member("e")).unwrap(),
                ),
                _ => (
                    Algorithm::ES256,
                    DecodingKey::from_ec_components(&member("x"), &member("y")).unwrap(),
                ),
            };
            let mut peer_validation = Validation::new(alg);
            peer_validation.set_issuer(&[issuer.issuer()]);
            peer_validation.set_audience(&[issuer.audience()]);
            peer_validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            peer_validation.leeway = 60;

            let fixture = Fixture {
                alg,
                valid,
                expired,
                unknown_kid,
                verifier,
                peer_key,
                peer_validation,
            };
            fixture.preflight();
            fixture
        })
    }

    /// Every path measured does what its name says.
    fn preflight(&self) {
        let v = &self.verifier;
        let principal = v.verify_cached(&self.valid).unwrap();
        assert_eq!(principal.sub(), Some("dev-user"));
        jsonwebtoken::decode::<Value>(&self.valid, &self.peer_key, &self.peer_validation).unwrap();
        let code = |t: &str| v.verify_cached(t).unwrap_err().code();
        assert_eq!(code("not.a.token"), "token_malformed");
        assert_eq!(code(&self.expired), "token_expired");
        assert_eq!(code(&self.unknown_kid), "kid_unknown");
        assert!(!v.may_refresh(&v.verify_cached(&self.unknown_kid).unwrap_err()));
    }

    /// `header.payload` and the raw signature of the valid token.
    fn signed_parts(&self) -> (&[u8], Vec<u8>) {
        let (input, signature) = self.valid.rsplit_once('.').unwrap();
        (input.as_bytes(), URL_SAFE_NO_PAD.decode(signature).unwrap())
    }
}

fn verify_pair(c: &mut Criterion, name: &str, f: &Fixture) {
    let mut group = c.benchmark_group(name);
    group.bench_function("rampgate", |b| {
        b.iter(|| f.verifier.verify_cached(black_box(&f.valid)).unwrap())
    });
    group.bench_function("jsonwebtoken", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<Value>(black_box(&f.valid), &f.peer_key, &f.peer_validation)
                .unwrap()
        })
    });
    group.finish();
}

fn reject(c: &mut Criterion, es: &Fixture, rs: &Fixture) {
    let mut group = c.benchmark_group("reject");
    group.bench_function("garbage", |b| {
        b.iter(|| {
            es.verifier
                .verify_cached(black_box("not.a.token"))
                .unwrap_err()
        })
    });
    for f in [es, rs] {
        let alg = format!("{:?}", f.alg).to_lowercase();
        group.bench_function(format!("expired_{alg}"), |b| {
            b.iter(|| f.verifier.verify_cached(black_box(&f.expired)).unwrap_err())
        });
        group.bench_function(format!("unknown_kid_{alg}"), |b| {
            b.iter(|| {
                f.verifier
                    .verify_cached(black_box(&f.unknown_kid))
                    .unwrap_err()
            })
        });
    }
    group.finish();
}

/// The cost before the signature check, on the same token for both.
fn parse(c: &mut Criterion, f: &Fixture) {
    let mut group = c.benchmark_group("parse_es256");
    group.bench_function("rampgate_unknown_kid", |b| {
        b.iter(|| {
            f.verifier
                .verify_cached(black_box(&f.unknown_kid))
                .unwrap_err()
        })
    });
    group.bench_function("jsonwebtoken_insecure_decode", |b| {
        b.iter(|| {
            jsonwebtoken::dangerous::insecure_decode::<Value>(black_box(&f.unknown_kid)).unwrap()
        })
    });
    group.finish();
}

fn layer(c: &mut Criterion, rt: &Runtime, f: &Fixture) {
    let bare = tower::service_fn(|_req: Request<()>| async {
        Ok::<_, Infallible>(Response::new(Bytes::from_static(b"ok")))
    });
    let layered = JwtLayer::new(f.verifier.clone()).layer(bare);
    let bearer = HeaderValue::from_str(&format!("Bearer {}", f.valid)).unwrap();
    let request = || {
        let mut req = Request::new(());
        req.headers_mut().insert(AUTHORIZATION, bearer.clone());
        req
    };
    // The layered service answers 200 (the token is accepted) before timing.
    rt.block_on(async {
        let response = layered.clone().oneshot(request()).await.unwrap();
        assert_eq!(response.status(), 200);
    });

    let mut group = c.benchmark_group("layer_es256");
    group.bench_function("bare", |b| {
        b.to_async(rt)
            .iter(|| async { bare.oneshot(request()).await.unwrap() })
    });
    group.bench_function("jwt_layer", |b| {
        b.to_async(rt)
            .iter(|| async { layered.clone().oneshot(request()).await.unwrap() })
    });
    group.finish();
}

/// How much of a signature check is making the backend's verifier object, which
/// both rampgate (`Key::verify`) and `jsonwebtoken::decode` do per call.
fn backend(c: &mut Criterion, es: &Fixture, rs: &Fixture) {
    let mut group = c.benchmark_group("backend");
    for f in [es, rs] {
        let alg = format!("{:?}", f.alg).to_lowercase();
        let (input, signature) = f.signed_parts();
        let factory = DEFAULT_PROVIDER.verifier_factory;
        group.bench_function(format!("factory_{alg}"), |b| {
            b.iter(|| factory(&f.alg, black_box(&f.peer_key)).unwrap())
        });
        group.bench_function(format!("factory_and_verify_{alg}"), |b| {
            b.iter(|| {
                let verifier = factory(&f.alg, black_box(&f.peer_key)).unwrap();
                verifier.verify(black_box(input), &signature).unwrap();
            })
        });
        let held = factory(&f.alg, &f.peer_key).unwrap();
        group.bench_function(format!("verify_held_{alg}"), |b| {
            b.iter(|| held.verify(black_box(input), &signature).unwrap())
        });
    }
    group.finish();
}

fn all(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let es = Fixture::new(&rt, SigningAlg::Es256);
    let rs = Fixture::new(&rt, SigningAlg::Rs256);

    verify_pair(c, "verify_es256", &es);
    verify_pair(c, "verify_rs256", &rs);
    reject(c, &es, &rs);
    parse(c, &es);
    layer(c, &rt, &es);
    backend(c, &es, &rs);
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(50)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = all
}
criterion_main!(benches);
