//! JwtLayer end to end: a real server on loopback, a real JWKS served by the dev
//! issuer over HTTP, and a real client. Every refusal asserts the status, the
//! `WWW-Authenticate` challenge, the reason code, and that the handler did not run.
#![allow(clippy::unwrap_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{assert_invalid_token, serve, serve_layer};
use rampgate::keys::Algorithm;
use rampgate::{IssuerConfig, JwtLayer, ValidationPolicy, Verifier};
use rampgate_testkit::{DevIssuer, SigningAlg};
use serde_json::json;

async fn setup() -> (DevIssuer, common::App) {
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let app = serve(verifier).await;
    (dev, app)
}

#[tokio::test]
async fn valid_token_reaches_the_handler() {
    // conformance: 6750-1
    let (dev, app) = setup().await;
    let token = dev.token().sub("alice").client_id("cli").sign();
    let answer = app.get("/me", Some(&token)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["sub"], "alice");
    assert_eq!(answer.body["client_id"], "cli");
    assert_eq!(app.calls(), 1);
}

#[tokio::test]
async fn no_token_is_a_challenge_without_error() {
    // conformance: 6750-5, 6750-8
    let (_dev, app) = setup().await;
    let answer = app.get("/me", None).await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.challenge.as_deref(), Some(r#"Bearer realm="test""#));
    assert_eq!(answer.reason(), "token_missing");
    assert_eq!(app.calls(), 0);
}

#[tokio::test]
async fn expired_token_is_invalid_token() {
    // conformance: 6750-9, JWT-7, 9068-6
    let (dev, app) = setup().await;
    let token = dev.token().expires_in(-600).sign();
    let answer = app.get("/me", Some(&token)).await;
    assert_invalid_token(&app, &answer, "token_expired");
}

#[tokio::test]
async fn expiry_within_leeway_is_accepted() {
    // conformance: JWT-7 (default leeway 60 s)
    let (dev, app) = setup().await;
    let token = dev.token().expires_in(-30).sign();
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn not_yet_valid_token_is_refused() {
    // conformance: JWT-8
    let (dev, app) = setup().await;
    let token = dev.token().not_before_in(60 + 5).sign();
    let answer = app.get("/me", Some(&token)).await;
    assert_invalid_token(&app, &answer, "token_not_yet_valid");
}

#[tokio::test]
async fn wrong_issuer_is_refused() {
    // conformance: 9068-3 (a trailing-slash variant is another issuer)
    let (dev, app) = setup().await;
    let iss = format!("{}/", dev.issuer());
    let token = dev.token().issuer(&iss).sign();
    let answer = app.get("/me", Some(&token)).await;
    assert_invalid_token(&app, &answer, "issuer_unknown");
}

#[tokio::test]
async fn wrong_or_missing_audience_is_refused() {
    // conformance: JWT-6, 9068-4
    let (dev, app) = setup().await;
    let token = dev.token().audience("other-api").sign();
    assert_invalid_token(
        &app,
        &app.get("/me", Some(&token)).await,
        "audience_mismatch",
    );
    let token = dev.token().claim("aud", json!(["other"])).sign();
    assert_invalid_token(
        &app,
        &app.get("/me", Some(&token)).await,
        "audience_mismatch",
    );
    let token = dev.token().claim("aud", serde_json::Value::Null).sign();
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "claim_missing");
    // An array naming this resource among others is fine.
    let token = dev
        .token()
        .claim("aud", json!(["other", dev.audience()]))
        .sign();
    assert_eq!(app.get("/me", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn alg_none_is_refused() {
    // conformance: JWT-2
    let (dev, app) = setup().await;
    let claims =
        json!({"iss": dev.issuer(), "aud": dev.audience(), "exp": 4_000_000_000u64, "sub": "x"});
    let token = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    // An empty signature segment is malformed before alg is even read.
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "token_malformed");
    let token = format!("{token}AA");
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "alg_not_allowed");
}

#[tokio::test]
async fn hs256_signed_with_the_rsa_public_key_is_refused() {
    // conformance: JWT-3, 8725 3.1: the classic algorithm confusion.
    let dev = DevIssuer::builder()
        .alg(SigningAlg::Rs256)
        .start()
        .await
        .unwrap();
    let verifier = Verifier::builder()
        .issuer(dev.issuer_config())
        .build()
        .await
        .unwrap();
    let app = serve(verifier).await;
    // Sanity: a genuine RS256 token passes.
    assert_eq!(app.get("/me", Some(&dev.token().sign())).await.status, 200);
    assert_eq!(app.calls(), 1);

    let jwks: serde_json::Value = serde_json::from_str(&dev.jwks_json()).unwrap();
    let jwk = &jwks["keys"][0];
    // Every plausible encoding of the public key an attacker might use as secret.
    let n = URL_SAFE_NO_PAD.decode(jwk["n"].as_str().unwrap()).unwrap();
    let secrets: Vec<Vec<u8>> = vec![n, jwk.to_string().into_bytes()];
    let header = json!({"alg": "HS256", "kid": jwk["kid"], "typ": "at+jwt"}).to_string();
    let claims = json!({"iss": dev.issuer(), "aud": dev.audience(), "exp": 4_000_000_000u64, "sub": "mallory"}).to_string();
    for secret in secrets {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&header),
            URL_SAFE_NO_PAD.encode(&claims)
        );
        let sig = jsonwebtoken::crypto::sign(
            input.as_bytes(),
            &jsonwebtoken::EncodingKey::from_secret(&secret),
            jsonwebtoken::Algorithm::HS256,
        )
        .unwrap();
        let token = format!("{input}.{sig}");
        let answer = app.get("/me", Some(&token)).await;
        assert_eq!(answer.status, 401);
        assert_eq!(answer.reason(), "alg_not_allowed");
        assert_eq!(
            app.calls(),
            1,
            "the handler must not run for the forged token"
        );
    }
}

#[tokio::test]
async fn algorithm_outside_the_allow_list_is_refused() {
    // conformance: JWT-1
    let dev = DevIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .issuer(
            dev.issuer_config()
                .policy(ValidationPolicy::default().algorithms([Algorithm::RS256])),
        )
        .build()
        .await
        .unwrap();
    let app = serve(verifier).await;
    let answer = app.get("/me", Some(&dev.token().sign())).await;
    assert_invalid_token(&app, &answer, "alg_not_allowed");
}

#[tokio::test]
async fn token_signed_by_another_issuer_key_is_refused() {
    // conformance: JWT-5, 9068-5
    let (dev, app) = setup().await;
    let other = DevIssuer::start().await.unwrap();
    // Same kid and claims, signed by the other issuer's key.
    let token = other
        .token()
        .issuer(dev.issuer())
        .kid(&dev.current_kid())
        .sign();
    assert_invalid_token(
        &app,
        &app.get("/me", Some(&token)).await,
        "signature_invalid",
    );
    // A token of the other issuer is not trusted at all.
    let token = other.token().audience(dev.audience()).sign();
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "issuer_unknown");
}

#[tokio::test]
async fn embedded_jwk_and_jku_are_never_used() {
    // conformance: JWK-10, 9068-5
    let (dev, app) = setup().await;
    let attacker = DevIssuer::start().await.unwrap();
    let jwks: serde_json::Value = serde_json::from_str(&attacker.jwks_json()).unwrap();
    let header = json!({
        "alg": "ES256", "typ": "at+jwt", "kid": "attacker",
        "jwk": jwks["keys"][0], "jku": attacker.jwks_url(),
    });
    let claims = json!({"iss": dev.issuer(), "aud": dev.audience(), "exp": 4_000_000_000u64, "sub": "mallory"});
    let fetches = attacker.jwks_fetches();
    let token = attacker.sign_raw(&header.to_string(), &claims.to_string());
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "kid_unknown");
    assert_eq!(
        attacker.jwks_fetches(),
        fetches,
        "the jku must never be fetched"
    );
}

#[tokio::test]
async fn oversized_token_is_refused_before_decoding() {
    let (dev, app) = setup().await;
    let token = dev.token().claim("pad", json!("x".repeat(9000))).sign();
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "token_too_large");
}

#[tokio::test]
async fn garbage_tokens_are_401_never_500() {
    // conformance: JWT-12
    let (dev, app) = setup().await;
    let good = dev.token().sign();
    let mut parts = good.split('.');
    let (h, p) = (parts.next().unwrap(), parts.next().unwrap());
    for token in [
        "garbage".to_owned(),
        "a.b.c".to_owned(),
        format!("{h}.{p}"),
        format!("{h}.{p}.AAAA.AAAA"),
        format!("{}.{p}.AAAA", URL_SAFE_NO_PAD.encode("not json")),
        format!("{}.{p}.AAAA", URL_SAFE_NO_PAD.encode([0xff, 0xfe])),
        format!("{h}.{}.AAAA", URL_SAFE_NO_PAD.encode("[1,2]")),
        format!("{h}=.{p}.AAAA"),
    ] {
        let answer = app.get("/me", Some(&token)).await;
        assert_invalid_token(&app, &answer, "token_malformed");
    }
}

#[tokio::test]
async fn duplicate_header_member_is_refused() {
    // conformance: JWT-10
    let (dev, app) = setup().await;
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","alg":"none"}}"#,
        dev.current_kid()
    );
    let claims = json!({"iss": dev.issuer(), "aud": dev.audience(), "exp": 4_000_000_000u64});
    let token = dev.sign_raw(&header, &claims.to_string());
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "token_malformed");
}

#[tokio::test]
async fn crit_extension_is_refused() {
    // conformance: JWT-9
    let (dev, app) = setup().await;
    let header = json!({"alg": "ES256", "kid": dev.current_kid(), "crit": ["x-ext"], "x-ext": 1});
    let claims = json!({"iss": dev.issuer(), "aud": dev.audience(), "exp": 4_000_000_000u64});
    let token = dev.sign_raw(&header.to_string(), &claims.to_string());
    assert_invalid_token(
        &app,
        &app.get("/me", Some(&token)).await,
        "crit_unsupported",
    );
}

#[tokio::test]
async fn date_claims_must_be_numbers() {
    let (dev, app) = setup().await;
    let token = dev.token().claim("exp", json!("4000000000")).sign();
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "claim_invalid");
}

#[tokio::test]
async fn typ_is_enforced_when_required() {
    // conformance: 9068-1, JWT-11
    let dev = DevIssuer::start().await.unwrap();
    let verifier = Verifier::builder()
        .issuer(dev.issuer_config().policy(ValidationPolicy::rfc9068()))
        .build()
        .await
        .unwrap();
    let app = serve(verifier).await;
    let id_token = dev.token().typ(Some("JWT")).sign();
    assert_invalid_token(&app, &app.get("/me", Some(&id_token)).await, "typ_mismatch");
    let untyped = dev.token().typ(None).sign();
    assert_invalid_token(&app, &app.get("/me", Some(&untyped)).await, "typ_mismatch");
    // conformance: 9068-9 (strict profile requires jti)
    let no_jti = dev.token().claim("jti", serde_json::Value::Null).sign();
    assert_invalid_token(&app, &app.get("/me", Some(&no_jti)).await, "claim_missing");
    for typ in ["at+jwt", "at+JWT", "application/at+jwt"] {
        let token = dev.token().typ(Some(typ)).sign();
        assert_eq!(app.get("/me", Some(&token)).await.status, 200, "{typ}");
    }
}

#[tokio::test]
async fn other_kinds_of_jwt_are_refused_under_the_default_policy() {
    // conformance: JWT-11
    let (dev, app) = setup().await;
    for typ in [
        "logout+jwt",
        "application/secevent+jwt",
        "dpop+jwt",
        "id_token+JWT",
    ] {
        let token = dev.token().typ(Some(typ)).sign();
        assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "typ_mismatch");
    }
    // An OIDC ID token typed JWT, whose aud names this API: its claims give it away.
    for claim in ["nonce", "at_hash", "c_hash"] {
        let id_token = dev.token().typ(Some("JWT")).claim(claim, json!("x")).sign();
        let answer = app.get("/me", Some(&id_token)).await;
        assert_invalid_token(&app, &answer, "id_token_claims");
        assert!(
            answer.challenge.as_deref().unwrap().contains(claim),
            "{:?}",
            answer.challenge
        );
    }
    // What identity providers send on access tokens still passes.
    for typ in [
        None,
        Some("JWT"),
        Some("at+jwt"),
        Some("application/okta-internal-at+jwt"),
    ] {
        let token = dev.token().typ(typ).sign();
        assert_eq!(app.get("/me", Some(&token)).await.status, 200, "{typ:?}");
    }
}

#[tokio::test]
async fn kid_is_case_sensitive() {
    // conformance: JWK-8
    let (dev, app) = setup().await;
    let token = dev.token().kid(&dev.current_kid().to_uppercase()).sign();
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "kid_unknown");
}

#[tokio::test]
async fn two_authorization_headers_are_a_bad_request() {
    let (dev, app) = setup().await;
    let token = dev.token().sign();
    let req = app
        .client
        .get(app.url("/me"))
        .header("authorization", format!("Bearer {token}"))
        .header("authorization", format!("Bearer {token}"));
    let answer = app.send(req).await;
    assert_eq!(answer.status, 400);
    let challenge = answer.challenge.clone().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_request""#),
        "{challenge}"
    );
    assert_eq!(answer.reason(), "request_malformed");
    assert_eq!(app.calls(), 0);
}

#[tokio::test]
async fn query_token_only_when_enabled_and_never_with_a_header() {
    // conformance: 6750-3, 6750-4
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let plain = serve(verifier.clone()).await;
    let token = dev.token().sign();
    let answer = plain
        .send(
            plain
                .client
                .get(plain.url(&format!("/me?access_token={token}"))),
        )
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.reason(), "token_missing");

    let app = serve_layer(
        JwtLayer::new(verifier)
            .realm("test")
            .allow_query_token("access_token"),
    )
    .await;
    let answer = app
        .send(
            app.client
                .get(app.url(&format!("/me?access_token={token}"))),
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.cache_control.as_deref(), Some("private"));
    let both = app
        .client
        .get(app.url(&format!("/me?access_token={token}")))
        .header("authorization", format!("Bearer {token}"));
    let answer = app.send(both).await;
    assert_eq!(answer.status, 400);
    assert!(
        answer
            .challenge
            .unwrap()
            .contains(r#"error="invalid_request""#)
    );
    assert_eq!(app.calls(), 1);
}

#[tokio::test]
async fn insufficient_scope_is_403_with_scope() {
    // conformance: 6750-10, 9068-10
    let (dev, app) = setup().await;
    let token = dev.token().scopes(["other"]).sign();
    let answer = app.get("/profile", Some(&token)).await;
    assert_eq!(answer.status, 403);
    assert_eq!(
        answer.challenge.as_deref(),
        Some(
            r#"Bearer realm="test", error="insufficient_scope", error_description="insufficient scope: the route requires profile:read", scope="profile:read""#
        )
    );
    assert_eq!(app.calls(), 0);
    let token = dev.token().scopes(["profile:read"]).sign();
    assert_eq!(app.get("/profile", Some(&token)).await.status, 200);
}

#[tokio::test]
async fn optional_mode_admits_anonymous_but_not_bad_tokens() {
    use axum::routing::get;
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let app = axum::Router::new()
        .route(
            "/feed",
            get(|p: Option<rampgate::Principal>| async move {
                p.and_then(|p| p.sub().map(str::to_owned))
                    .unwrap_or_else(|| "anonymous".into())
            }),
        )
        .route_layer(JwtLayer::new(verifier).optional());
    let addr = common::spawn(app).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/feed");
    let anon = client.get(&url).send().await.unwrap();
    assert_eq!(anon.status(), 200);
    assert_eq!(anon.text().await.unwrap(), "anonymous");
    let token = dev.token().sub("alice").sign();
    let who = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(who.text().await.unwrap(), "alice");
    let expired = dev.token().expires_in(-600).sign();
    let bad = client.get(&url).bearer_auth(&expired).send().await.unwrap();
    assert_eq!(bad.status(), 401);
}

#[tokio::test]
async fn claims_extractor_deserialises_into_the_users_type() {
    use axum::routing::get;
    use rampgate::axum::Claims;
    #[derive(serde::Deserialize)]
    struct Tenant {
        tenant: String,
    }
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let app = axum::Router::new()
        .route(
            "/t",
            get(|Claims(t): Claims<Tenant>| async move { t.tenant }),
        )
        .route_layer(JwtLayer::new(verifier));
    let addr = common::spawn(app).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/t");
    let token = dev.token().claim("tenant", json!("acme")).sign();
    let ok = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(ok.text().await.unwrap(), "acme");
    let token = dev.token().sign();
    let missing = client.get(&url).bearer_auth(&token).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let challenge = missing.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
}

#[tokio::test]
async fn principal_without_the_layer_is_a_server_error_not_a_pass() {
    use axum::routing::get;
    let app = axum::Router::new().route(
        "/x",
        get(|_p: rampgate::Principal| async { "should not run" }),
    );
    let addr = common::spawn(app).await;
    let resp = reqwest::get(format!("http://{addr}/x")).await.unwrap();
    assert_eq!(resp.status(), 500);
    assert!(resp.text().await.unwrap().contains("layers_misconfigured"));
}

#[tokio::test]
async fn custom_denial_body_keeps_status_and_challenge() {
    use rampgate::denial::DenialBody;
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let body = DenialBody::new(|d| {
        let json =
            json!({"type": "about:blank", "status": d.status().as_u16(), "title": d.reason()});
        (
            http::HeaderValue::from_static("application/problem+json"),
            json.to_string().into(),
        )
    });
    let app = serve_layer(JwtLayer::new(verifier).realm("test").denial_body(body)).await;
    let answer = app
        .get("/me", Some(&dev.token().expires_in(-600).sign()))
        .await;
    assert_eq!(answer.status, 401);
    assert_eq!(answer.body["title"], "token_expired");
    assert_eq!(answer.body["status"], 401);
    assert!(
        answer
            .challenge
            .unwrap()
            .contains(r#"error="invalid_token""#)
    );
    assert_eq!(app.calls(), 0);
}

#[tokio::test]
async fn two_issuers_each_verified_with_their_own_keys() {
    let a = DevIssuer::start().await.unwrap();
    let b = DevIssuer::builder()
        .alg(SigningAlg::Rs256)
        .audience("api-b")
        .start()
        .await
        .unwrap();
    let verifier = Verifier::builder()
        .issuer(a.issuer_config())
        .issuer(IssuerConfig::new(b.issuer(), ["api-b"]).jwks_url(b.jwks_url()))
        .build()
        .await
        .unwrap();
    let app = serve(verifier).await;
    assert_eq!(app.get("/me", Some(&a.token().sign())).await.status, 200);
    assert_eq!(app.get("/me", Some(&b.token().sign())).await.status, 200);
    // b's audience is not a's.
    let cross = a.token().audience("api-b").sign();
    assert_eq!(app.get("/me", Some(&cross)).await.status, 401);
}

#[tokio::test]
async fn layer_on_a_whole_router() {
    use axum::routing::get;
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let app = axum::Router::new()
        .route("/a", get(|| async { "a" }))
        .route("/b", get(|| async { "b" }))
        .layer(JwtLayer::new(verifier));
    let addr = common::spawn(app).await;
    let client = reqwest::Client::new();
    for path in ["/a", "/b", "/not-a-route"] {
        let resp = client
            .get(format!("http://{addr}{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{path}");
    }
    let token = dev.token().sign();
    let resp = client
        .get(format!("http://{addr}/b"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.text().await.unwrap(), "b");
}

#[tokio::test]
async fn sender_constrained_token_is_refused_as_bearer() {
    // conformance: 9449-10
    let (dev, app) = setup().await;
    let token = dev
        .token()
        .claim(
            "cnf",
            json!({"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}),
        )
        .sign();
    assert_invalid_token(&app, &app.get("/me", Some(&token)).await, "token_bound");
}

#[tokio::test]
async fn any_of_scopes_are_described_as_one_of() {
    use axum::routing::get;
    let (dev, verifier) = common::dev_issuer_and_verifier().await;
    let app = axum::Router::new()
        .route(
            "/mod",
            get(|| async { "ok" }).route_layer(rampgate::ScopeLayer::any(["admin", "moderator"])),
        )
        .route_layer(JwtLayer::new(verifier));
    let addr = common::spawn(app).await;
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/mod");
    let resp = client
        .get(&url)
        .bearer_auth(dev.token().scopes(["read"]).sign())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(
        resp.headers()["www-authenticate"],
        r#"Bearer error="insufficient_scope", error_description="insufficient scope: the route requires one of admin moderator", scope="admin moderator""#
    );
    let resp = client
        .get(&url)
        .bearer_auth(dev.token().scopes(["moderator"]).sign())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
}

#[tokio::test]
async fn a_verified_tokens_claims_are_all_readable_as_they_were_signed() {
    // The principal keeps the verified payload and parses it on first use:
    // every claim, nested and escaped ones included, and typed access.
    let issuer = rampgate_testkit::OfflineIssuer::new();
    let verifier = issuer.verifier().await.unwrap();
    let token = issuer
        .token()
        .sub("alice")
        .claim("tenant", json!({"id": "acme", "tags": ["a", "b"]}))
        .claim("note", json!("quote \" and \u{e9}"))
        .sign();
    let principal = verifier.verify_cached(&token).unwrap();
    let claims = principal.claims();
    assert_eq!(claims["sub"], "alice");
    assert_eq!(claims["iss"], issuer.issuer());
    assert_eq!(claims["tenant"], json!({"id": "acme", "tags": ["a", "b"]}));
    assert_eq!(claims["note"], "quote \" and \u{e9}");
    // The same map on every call: parsed once.
    assert!(std::ptr::eq(claims, principal.claims()));

    #[derive(serde::Deserialize)]
    struct Tenant {
        id: String,
        tags: Vec<String>,
    }
    #[derive(serde::Deserialize)]
    struct Mine {
        tenant: Tenant,
        exp: i64,
    }
    let mine: Mine = principal.claims_as().unwrap();
    assert_eq!(mine.tenant.id, "acme");
    assert_eq!(mine.tenant.tags, ["a", "b"]);
    assert_eq!(mine.exp, principal.exp());
    // A cached hit hands out the same principal, claims and all.
    let again = verifier.verify_cached(&token).unwrap();
    assert_eq!(again.claims()["tenant"]["id"], "acme");
}
