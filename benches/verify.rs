//! rampgate's verification cost, side by side with `jsonwebtoken::decode`.
//!
//! Groups (one per comparison, so ratios come from one run):
//!
//! - `verify_es256`, `verify_rs256`: one valid token, `Verifier::verify_cached`
//!   versus `jsonwebtoken::decode::<serde_json::Value>` with the same checks
//!   (alg, iss, aud, exp, 60 s leeway).
//! - `reject`: rampgate's own rejection paths (garbage, expired, unknown `kid`)
//!   next to a valid token of the same issuer: a token refused before the
//!   signature check costs no signature check.
//! - `parse_es256`: the work before any crypto: rampgate refusing a token with an
//!   unknown `kid` (split, strict base64url, duplicate-free JSON header and claims,
//!   issuer, alg and kid lookup) versus `jsonwebtoken::dangerous::insecure_decode`.
//! - `layer_es256`: a 200 `service_fn` bare versus wrapped in `JwtLayer`.
//! - `token_cache`: the same valid token, ES256 and RS256, verified in full
//!   (`cold_*`, the cache turned off) and found in the verified-token cache
//!   (`hit_*`, the default configuration).
//! - `backend`: one signature check per algorithm (RS256, PS256, ES256, ES384,
//!   EdDSA) with each candidate backend: aws-lc-rs with the key parsed once (what
//!   rampgate does) or per call, ring (per call, its only way), and jsonwebtoken's
//!   rust_crypto provider with its verifier made per call or held.
//!
//! Run with `cargo bench --bench verify`. See docs/benchmarks.md.
#![allow(clippy::unwrap_used, missing_docs)]

use aws_lc_rs::signature::{self as lc, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http::{HeaderValue, Request, Response, header::AUTHORIZATION};
use jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rampgate::keys::{Key, KeySet};
use rampgate::{IssuerConfig, JwtLayer, Verifier};
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
    /// The token cache turned off, so that every path is measured in full.
    verifier: Verifier,
    /// The default configuration, token cache on.
    cached: Verifier,
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
            let config = IssuerConfig::new(issuer.issuer(), [issuer.audience()])
                .keys(KeySet::from_keys([key]).unwrap());
            let verifier = Verifier::builder()
                .issuer(config.clone())
                .no_token_cache()
                .build()
                .await
                .unwrap();
            let cached = Verifier::builder().issuer(config).build().await.unwrap();

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
                cached,
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
        assert_eq!(v.cache_stats(), None);
        let hit = self.cached.verify_cached(&self.valid).unwrap();
        assert_eq!(hit.sub(), Some("dev-user"));
        self.cached.verify_cached(&self.valid).unwrap();
        assert_eq!(self.cached.cache_stats().unwrap().hits, 1);
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
        group.bench_function(format!("valid_{alg}"), |b| {
            b.iter(|| f.verifier.verify_cached(black_box(&f.valid)).unwrap())
        });
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

/// A verified token presented again: in full, or from the token cache.
fn token_cache(c: &mut Criterion, es: &Fixture, rs: &Fixture) {
    let mut group = c.benchmark_group("token_cache");
    for f in [es, rs] {
        let alg = format!("{:?}", f.alg).to_lowercase();
        group.bench_function(format!("cold_{alg}"), |b| {
            b.iter(|| f.verifier.verify_cached(black_box(&f.valid)).unwrap())
        });
        group.bench_function(format!("hit_{alg}"), |b| {
            b.iter(|| f.cached.verify_cached(black_box(&f.valid)).unwrap())
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

/// One algorithm's key pair, a message and its signature, and the public key in
/// each candidate backend's form.
struct Signed {
    name: &'static str,
    message: Vec<u8>,
    signature: Vec<u8>,
    /// aws-lc-rs's and ring's verification algorithm names for it.
    lc_alg: &'static dyn lc::VerificationAlgorithm,
    ring_alg: &'static dyn ring::signature::VerificationAlgorithm,
    /// The public key as the backends take it: SPKI-less raw bytes (EC point,
    /// Ed25519 x) or PKCS#1 DER for RSA.
    public: Vec<u8>,
    /// jsonwebtoken's form, for its rust_crypto provider.
    jwt_alg: Algorithm,
    jwt_key: DecodingKey,
}

fn signed_set(message: &[u8]) -> Vec<Signed> {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let rsa = lc::RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
    let rsa_sign = |padding: &'static dyn lc::RsaEncoding| {
        let mut sig = vec![0; rsa.public_modulus_len()];
        rsa.sign(padding, &rng, message, &mut sig).unwrap();
        sig
    };
    let rsa_public = rsa.public_key().as_ref().to_vec();
    let lc::RsaPublicKeyComponents { n, e } =
        lc::RsaPublicKeyComponents::<Vec<u8>>::from(rsa.public_key());
    let rsa_jwt = DecodingKey::from_rsa_raw_components(&n, &e);
    let p256 = lc::EcdsaKeyPair::generate(&lc::ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
    let p384 = lc::EcdsaKeyPair::generate(&lc::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let ed = lc::Ed25519KeyPair::generate().unwrap();
    vec![
        Signed {
            name: "rs256",
            message: message.to_vec(),
            signature: rsa_sign(&lc::RSA_PKCS1_SHA256),
            lc_alg: &lc::RSA_PKCS1_2048_8192_SHA256,
            ring_alg: &ring::signature::RSA_PKCS1_2048_8192_SHA256,
            public: rsa_public.clone(),
            jwt_alg: Algorithm::RS256,
            jwt_key: rsa_jwt.clone(),
        },
        Signed {
            name: "ps256",
            message: message.to_vec(),
            signature: rsa_sign(&lc::RSA_PSS_SHA256),
            lc_alg: &lc::RSA_PSS_2048_8192_SHA256,
            ring_alg: &ring::signature::RSA_PSS_2048_8192_SHA256,
            public: rsa_public,
            jwt_alg: Algorithm::PS256,
            jwt_key: rsa_jwt,
        },
        Signed {
            name: "es256",
            message: message.to_vec(),
            signature: p256.sign(&rng, message).unwrap().as_ref().to_vec(),
            lc_alg: &lc::ECDSA_P256_SHA256_FIXED,
            ring_alg: &ring::signature::ECDSA_P256_SHA256_FIXED,
            public: p256.public_key().as_ref().to_vec(),
            jwt_alg: Algorithm::ES256,
            jwt_key: DecodingKey::from_ec_der(p256.public_key().as_ref()),
        },
        Signed {
            name: "es384",
            message: message.to_vec(),
            signature: p384.sign(&rng, message).unwrap().as_ref().to_vec(),
            lc_alg: &lc::ECDSA_P384_SHA384_FIXED,
            ring_alg: &ring::signature::ECDSA_P384_SHA384_FIXED,
            public: p384.public_key().as_ref().to_vec(),
            jwt_alg: Algorithm::ES384,
            jwt_key: DecodingKey::from_ec_der(p384.public_key().as_ref()),
        },
        Signed {
            name: "eddsa",
            message: message.to_vec(),
            signature: ed.sign(message).as_ref().to_vec(),
            lc_alg: &lc::ED25519,
            ring_alg: &ring::signature::ED25519,
            public: ed.public_key().as_ref().to_vec(),
            jwt_alg: Algorithm::EdDSA,
            jwt_key: DecodingKey::from_ed_der(ed.public_key().as_ref()),
        },
    ]
}

/// One signature check per algorithm and backend, so the backend choice and the
/// worth of parsing a key once come from one run. `aws_lc_parsed_*` is what
/// rampgate's `Key::verify` does; `aws_lc_per_call_*` is what verifying through
/// jsonwebtoken's `verifier_factory` on each call would do with aws-lc-rs;
/// `rust_crypto_per_call_*` is what rampgate did before.
fn backend(c: &mut Criterion, message: &[u8]) {
    let mut group = c.benchmark_group("backend");
    for s in signed_set(message) {
        let name = s.name;
        let parsed = lc::ParsedPublicKey::new(s.lc_alg, &s.public).unwrap();
        parsed.verify_sig(&s.message, &s.signature).unwrap();
        group.bench_function(format!("aws_lc_parsed_{name}"), |b| {
            b.iter(|| {
                parsed
                    .verify_sig(black_box(&s.message), &s.signature)
                    .unwrap()
            })
        });
        group.bench_function(format!("aws_lc_per_call_{name}"), |b| {
            b.iter(|| {
                lc::UnparsedPublicKey::new(s.lc_alg, black_box(&s.public))
                    .verify(black_box(&s.message), &s.signature)
                    .unwrap()
            })
        });
        group.bench_function(format!("ring_per_call_{name}"), |b| {
            b.iter(|| {
                ring::signature::UnparsedPublicKey::new(s.ring_alg, black_box(&s.public))
                    .verify(black_box(&s.message), &s.signature)
                    .unwrap()
            })
        });
        let factory = DEFAULT_PROVIDER.verifier_factory;
        group.bench_function(format!("rust_crypto_per_call_{name}"), |b| {
            b.iter(|| {
                let verifier = factory(&s.jwt_alg, black_box(&s.jwt_key)).unwrap();
                verifier
                    .verify(black_box(&s.message), &s.signature)
                    .unwrap();
            })
        });
        let held = factory(&s.jwt_alg, &s.jwt_key).unwrap();
        group.bench_function(format!("rust_crypto_held_{name}"), |b| {
            b.iter(|| held.verify(black_box(&s.message), &s.signature).unwrap())
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
    token_cache(c, &es, &rs);
    parse(c, &es);
    layer(c, &rt, &es);
    backend(c, es.signed_parts().0);
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
