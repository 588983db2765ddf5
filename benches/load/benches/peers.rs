//! rampgate beside its peers, each group in one criterion run so that its
//! ratios come from one run (see docs/benchmarks.md, "Peers"):
//!
//! - `cold_rs256`, `cold_es256`, `cold_eddsa`: one valid token verified in full
//!   (rampgate's token cache off) by `rampgate::Verifier::verify_cached`, and by
//!   `jsonwebtoken::decode` (11, `aws_lc_rs` provider, the fastest it has) with
//!   the same checks: alg, `iss`, `aud`, `exp`, 60 s leeway.
//! - `stack_es256`: `GET /me` through a whole router (`tower::ServiceExt::oneshot`,
//!   no socket), with one reused ES256 token: bare axum 0.8; rampgate's
//!   `JwtLayer` alone and its full `AuthStack` (JWT, ramp contract, step-up),
//!   with the token cache (the default) and without it; axum 0.7 +
//!   `jwt-authorizer` 0.15; axum 0.8 + `axum-jwt-auth` 0.7. Every handler
//!   answers the same JSON body from the claims.
//!
//! `cargo bench --bench peers` from benches/load.
#![allow(clippy::unwrap_used, missing_docs)]

use aws_lc_rs::signature::{Ed25519KeyPair, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use criterion::{Criterion, criterion_group, criterion_main};
use http::header::AUTHORIZATION;
use http::{HeaderValue, Request};
use rampgate::contract::{Contract, ContractHandle};
use rampgate::keys::{Key, KeySet};
use rampgate::{AuthStack, IssuerConfig, JwtLayer, Verifier};
use rampgate_load::{AUDIENCE, CLIENT_ID, ISSUER, Me, SCOPE, SUBJECT};
use rampgate_testkit::{DevIssuer, SigningAlg};
use serde::Deserialize;
use serde_json::{Value, json};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;
use tokio::runtime::Runtime;
use tower::ServiceExt as _;

/// A token, the issuer's public JWK, and both verifiers for it.
struct Cold {
    name: &'static str,
    token: String,
    verifier: Verifier,
    peer_key: jsonwebtoken::DecodingKey,
    peer_validation: jsonwebtoken::Validation,
}

fn claims() -> Value {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "iss": ISSUER, "aud": AUDIENCE, "sub": SUBJECT, "client_id": CLIENT_ID,
        "scope": SCOPE, "iat": now, "exp": now + 3600, "jti": "bench-1",
    })
}

/// An ES256 or RS256 token from the testkit's dev issuer, and its JWK.
async fn dev_token(alg: SigningAlg) -> (String, Value) {
    let issuer = DevIssuer::builder()
        .alg(alg)
        .audience(AUDIENCE)
        .start()
        .await
        .unwrap();
    let token = issuer
        .token()
        .issuer(ISSUER)
        .sub(SUBJECT)
        .client_id(CLIENT_ID)
        .scopes([SCOPE])
        .expires_in(3600)
        .sign();
    let jwks: Value = serde_json::from_str(&issuer.jwks_json()).unwrap();
    (token, jwks["keys"][0].clone())
}

/// An EdDSA token signed here with aws-lc-rs (the testkit signs ES256 and
/// RS256 only), and its JWK.
fn eddsa_token() -> (String, Value) {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pair = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
    let header = json!({"alg": "EdDSA", "typ": "at+jwt", "kid": "ed-1"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    let signature = URL_SAFE_NO_PAD.encode(pair.sign(input.as_bytes()).as_ref());
    let jwk = json!({
        "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": "ed-1",
        "x": URL_SAFE_NO_PAD.encode(pair.public_key().as_ref()),
    });
    (format!("{input}.{signature}"), jwk)
}

async fn cold(name: &'static str, token: String, jwk: Value) -> Cold {
    let key = Key::from_jwk_json(&jwk.to_string()).unwrap();
    let verifier = Verifier::builder()
        .issuer(IssuerConfig::new(ISSUER, [AUDIENCE]).keys(KeySet::from_keys([key]).unwrap()))
        .no_token_cache()
        .build()
        .await
        .unwrap();
    let parsed: jsonwebtoken::jwk::Jwk = serde_json::from_value(jwk).unwrap();
    let peer_key = jsonwebtoken::DecodingKey::from_jwk(&parsed).unwrap();
    let alg = match name {
        "rs256" => jsonwebtoken::Algorithm::RS256,
        "es256" => jsonwebtoken::Algorithm::ES256,
        _ => jsonwebtoken::Algorithm::EdDSA,
    };
    let mut peer_validation = jsonwebtoken::Validation::new(alg);
    peer_validation.set_issuer(&[ISSUER]);
    peer_validation.set_audience(&[AUDIENCE]);
    peer_validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    peer_validation.leeway = 60;
    let cold = Cold {
        name,
        token,
        verifier,
        peer_key,
        peer_validation,
    };
    // Both accept the token before anything is timed.
    assert_eq!(
        cold.verifier.verify_cached(&cold.token).unwrap().sub(),
        Some(SUBJECT)
    );
    jsonwebtoken::decode::<Value>(&cold.token, &cold.peer_key, &cold.peer_validation).unwrap();
    cold
}

fn cold_groups(c: &mut Criterion, rt: &Runtime) {
    let fixtures = rt.block_on(async {
        let (rs, rs_jwk) = dev_token(SigningAlg::Rs256).await;
        let (es, es_jwk) = dev_token(SigningAlg::Es256).await;
        let (ed, ed_jwk) = eddsa_token();
        vec![
            cold("rs256", rs, rs_jwk).await,
            cold("es256", es, es_jwk).await,
            cold("eddsa", ed, ed_jwk).await,
        ]
    });
    for f in &fixtures {
        let mut group = c.benchmark_group(format!("cold_{}", f.name));
        group.bench_function("rampgate", |b| {
            b.iter(|| f.verifier.verify_cached(black_box(&f.token)).unwrap())
        });
        group.bench_function("jsonwebtoken", |b| {
            b.iter(|| {
                jsonwebtoken::decode::<Value>(black_box(&f.token), &f.peer_key, &f.peer_validation)
                    .unwrap()
            })
        });
        group.finish();
    }
}

/// The quickstart's contract, cut to `/me`: any valid token, unknown consumers
/// admitted at a default stage.
const CONTRACT: &str = r#"
version = 1
[scopes]
"profile:read" = "Read the signed-in user's profile"
[defaults]
unknown_consumer = { stage = "default", scopes = ["profile:read"] }
unknown_route = "deny"
[[routes]]
method = "GET"
path = "/me"
"#;

#[derive(Clone, Deserialize)]
struct PeerClaims {
    sub: String,
    client_id: String,
    scope: String,
}

fn body(sub: &str, client_id: &str, scope: &str) -> Value {
    json!(Me {
        sub,
        client_id,
        scopes: scope.split(' ').collect()
    })
}

fn stack_group(c: &mut Criterion, rt: &Runtime) {
    let (token, jwk) = rt.block_on(dev_token(SigningAlg::Es256));
    let jwks = json!({ "keys": [jwk.clone()] }).to_string();
    let bearer = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
    let request = || {
        let mut req = Request::get("/me").body(axum::body::Body::empty()).unwrap();
        req.headers_mut().insert(AUTHORIZATION, bearer.clone());
        req
    };
    let request07 = || {
        let mut req = Request::get("/me")
            .body(axum07::body::Body::empty())
            .unwrap();
        req.headers_mut().insert(AUTHORIZATION, bearer.clone());
        req
    };

    let verifier = |cache: bool| {
        let key = Key::from_jwk_json(&jwk.to_string()).unwrap();
        let builder = Verifier::builder()
            .issuer(IssuerConfig::new(ISSUER, [AUDIENCE]).keys(KeySet::from_keys([key]).unwrap()));
        let builder = if cache {
            builder
        } else {
            builder.no_token_cache()
        };
        rt.block_on(builder.build()).unwrap()
    };
    let contract = ContractHandle::new(Contract::parse(CONTRACT).unwrap());
    let me = || axum::Router::new().route("/me", axum::routing::get(rampgate_load::me));
    let bare = axum::Router::new().route(
        "/me",
        axum::routing::get(|| async { axum::Json(body(SUBJECT, CLIENT_ID, SCOPE)) }),
    );
    let jwt_only = me().route_layer(JwtLayer::new(verifier(true)));
    let full = |cache: bool| {
        AuthStack::new(verifier(cache))
            .contract(contract.clone())
            .protect(me())
    };
    let (full_cached, full_cold) = (full(true), full(false));

    let authorizer = rt.block_on(async {
        use jwt_authorizer::{Authorizer, IntoLayer, JwtAuthorizer, JwtClaims, Validation};
        let auth: Authorizer<PeerClaims> = JwtAuthorizer::from_jwks_text(&jwks)
            .validation(Validation::new().iss(&[ISSUER]).aud(&[AUDIENCE]))
            .build()
            .await
            .unwrap();
        axum07::Router::new()
            .route(
                "/me",
                axum07::routing::get(|JwtClaims(c): JwtClaims<PeerClaims>| async move {
                    axum07::Json(body(&c.sub, &c.client_id, &c.scope))
                }),
            )
            .layer(auth.into_layer())
    });

    let jwt_auth = {
        use axum_jwt_auth::{Claims, Decoder, LocalDecoder};
        let parsed: jsonwebtoken10::jwk::Jwk = serde_json::from_value(jwk.clone()).unwrap();
        let key = jsonwebtoken10::DecodingKey::from_jwk(&parsed).unwrap();
        let mut validation = jsonwebtoken10::Validation::new(jsonwebtoken10::Algorithm::ES256);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        let decoder: Decoder<PeerClaims> = Arc::new(
            LocalDecoder::builder()
                .keys(vec![key])
                .validation(validation)
                .build()
                .unwrap(),
        );
        axum::Router::new()
            .route(
                "/me",
                axum::routing::get(|c: Claims<PeerClaims>| async move {
                    axum::Json(body(&c.claims.sub, &c.claims.client_id, &c.claims.scope))
                }),
            )
            .with_state(decoder)
    };

    // Every router answers 200 and the same body before anything is timed.
    rt.block_on(async {
        let expected = body(SUBJECT, CLIENT_ID, SCOPE);
        for (name, router) in [
            ("bare", &bare),
            ("jwt_only", &jwt_only),
            ("full_cached", &full_cached),
            ("full_cold", &full_cold),
            ("axum_jwt_auth", &jwt_auth),
        ] {
            let response = router.clone().oneshot(request()).await.unwrap();
            assert_eq!(response.status(), 200, "{name}");
            let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            assert_eq!(
                serde_json::from_slice::<Value>(&bytes).unwrap(),
                expected,
                "{name}"
            );
        }
        let response = authorizer.clone().oneshot(request07()).await.unwrap();
        assert_eq!(response.status(), 200, "jwt_authorizer");
        let bytes = axum07::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .unwrap();
        assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), expected);
    });

    let mut group = c.benchmark_group("stack_es256");
    for (name, router) in [
        ("bare_axum", &bare),
        ("rampgate_jwt_cached", &jwt_only),
        ("rampgate_full_cached", &full_cached),
        ("rampgate_full_cold", &full_cold),
        ("axum_jwt_auth", &jwt_auth),
    ] {
        group.bench_function(name, |b| {
            b.to_async(rt)
                .iter(|| async { router.clone().oneshot(request()).await.unwrap() })
        });
    }
    group.bench_function("jwt_authorizer", |b| {
        b.to_async(rt)
            .iter(|| async { authorizer.clone().oneshot(request07()).await.unwrap() })
    });
    group.finish();
}

fn all(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    cold_groups(c, &rt);
    stack_group(c, &rt);
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
