//! Every reason code a token can be refused with, reached through `Verifier`
//! itself (no HTTP): the codes audit and dashboards count.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::pkcs8::EncodePrivateKey as _;
use rampgate_core::{IssuerConfig, JwksOptions, Key, KeySet, ValidationPolicy, Verifier};
use serde_json::{Value, json};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ISS: &str = "https://issuer.example";
const AUD: &str = "api";

struct Signer {
    encoding: EncodingKey,
    jwk: String,
}

fn signer(seed: u8, kid: &str) -> Signer {
    let secret = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
    let point = secret.verifying_key().to_encoded_point(false);
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    });
    Signer {
        encoding: EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes()),
        jwk: jwk.to_string(),
    }
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign_with(key: &EncodingKey, alg: Algorithm, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{sig}")
}

fn claims() -> Value {
    json!({"iss": ISS, "aud": AUD, "exp": now() + 300, "iat": now(), "sub": "alice",
           "client_id": "cli", "jti": "j1", "scope": "a b"})
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(name);
    } else {
        claims[name] = value;
    }
    claims
}

async fn verifier(policy: ValidationPolicy, keys: &[&Signer]) -> Verifier {
    let keys = keys.iter().map(|s| Key::from_jwk_json(&s.jwk).unwrap());
    Verifier::builder()
        .issuer(
            IssuerConfig::new(ISS, [AUD])
                .keys(KeySet::from_keys(keys).unwrap())
                .policy(policy),
        )
        .build()
        .await
        .unwrap()
}

async fn code(v: &Verifier, token: &str) -> &'static str {
    v.verify(token).await.unwrap_err().code()
}

/// A SHA-256 thumbprint, base64url (43 characters).
const THUMBPRINT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

#[tokio::test]
async fn a_good_token_verifies_and_yields_its_principal() {
    let k = signer(1, "k1");
    let v = verifier(ValidationPolicy::rfc9068(), &[&k]).await;
    let token = sign_with(
        &k.encoding,
        Algorithm::ES256,
        &json!({"alg":"ES256","kid":"k1","typ":"at+jwt"}),
        &claims(),
    );
    let p = v.verify(&token).await.unwrap();
    assert_eq!(p.sub(), Some("alice"));
    assert_eq!(p.client_id(), Some("cli"));
    assert_eq!(p.iss(), ISS);
    assert_eq!(p.jti(), Some("j1"));
    assert!(p.has_scope("a") && p.has_scope("b"));
    // verify_cached gives the same answer without any network.
    assert_eq!(v.verify_cached(&token).unwrap().sub(), Some("alice"));
}

#[tokio::test]
async fn every_token_reason_code() {
    let k1 = signer(1, "k1");
    let k2 = signer(2, "k2");
    let v = verifier(ValidationPolicy::default(), &[&k1]).await;
    let strict = verifier(ValidationPolicy::rfc9068(), &[&k1]).await;
    let two_keys = verifier(ValidationPolicy::default(), &[&k1, &k2]).await;
    let day = verifier(
        ValidationPolicy::default().max_lifetime(Duration::from_secs(86_400)),
        &[&k1],
    )
    .await;
    let bound_only = verifier(
        ValidationPolicy::default().require_sender_constrained(),
        &[&k1],
    )
    .await;
    let h = json!({"alg": "ES256", "kid": "k1"});
    let es =
        |header: &Value, claims: &Value| sign_with(&k1.encoding, Algorithm::ES256, header, claims);
    let t = now();

    let cases: Vec<(&str, &Verifier, String)> = vec![
        ("token_malformed", &v, "x.y".into()),
        (
            "token_too_large",
            &v,
            es(&h, &with(claims(), "pad", json!("x".repeat(9000)))),
        ),
        (
            "alg_not_allowed",
            &v,
            es(&json!({"alg": "ES384", "kid": "k1"}), &claims()),
        ),
        (
            "alg_not_allowed",
            &v,
            es(&json!({"alg": "none"}), &claims()),
        ),
        (
            "kid_unknown",
            &v,
            es(&json!({"alg": "ES256", "kid": "nope"}), &claims()),
        ),
        (
            "kid_missing",
            &two_keys,
            es(&json!({"alg": "ES256"}), &claims()),
        ),
        (
            "signature_invalid",
            &v,
            sign_with(&k2.encoding, Algorithm::ES256, &h, &claims()),
        ),
        (
            "token_expired",
            &v,
            es(&h, &with(claims(), "exp", json!(t - 61))),
        ),
        (
            "token_not_yet_valid",
            &v,
            es(&h, &with(claims(), "nbf", json!(t + 65))),
        ),
        (
            "token_issued_in_future",
            &v,
            es(&h, &with(claims(), "iat", json!(t + 600))),
        ),
        (
            "token_lifetime_exceeded",
            &day,
            es(&h, &with(claims(), "exp", json!(t + 30 * 86_400))),
        ),
        (
            "issuer_unknown",
            &v,
            es(&h, &with(claims(), "iss", json!("https://issuer.example/"))),
        ),
        (
            "audience_mismatch",
            &v,
            es(&h, &with(claims(), "aud", json!(["x", "y"]))),
        ),
        (
            "claim_missing",
            &v,
            es(&h, &with(claims(), "exp", Value::Null)),
        ),
        (
            "claim_missing",
            &v,
            es(&h, &with(claims(), "iss", Value::Null)),
        ),
        (
            "claim_missing",
            &strict,
            es(
                &json!({"alg":"ES256","kid":"k1","typ":"at+jwt"}),
                &with(claims(), "client_id", Value::Null),
            ),
        ),
        (
            "claim_invalid",
            &v,
            es(&h, &with(claims(), "exp", json!("soon"))),
        ),
        (
            "claim_invalid",
            &v,
            es(&h, &with(claims(), "aud", json!([1]))),
        ),
        (
            "claim_invalid",
            &v,
            es(&h, &with(claims(), "scope", json!(7))),
        ),
        (
            "typ_mismatch",
            &strict,
            es(
                &json!({"alg": "ES256", "kid": "k1", "typ": "JWT"}),
                &claims(),
            ),
        ),
        (
            "typ_mismatch",
            &v,
            es(
                &json!({"alg": "ES256", "kid": "k1", "typ": "logout+jwt"}),
                &claims(),
            ),
        ),
        (
            "id_token_claims",
            &v,
            es(&h, &with(claims(), "nonce", json!("n-0S6_WzA2Mj"))),
        ),
        (
            "crit_unsupported",
            &v,
            es(
                &json!({"alg": "ES256", "kid": "k1", "crit": ["exp"]}),
                &claims(),
            ),
        ),
        (
            "nested_token_unsupported",
            &v,
            es(
                &json!({"alg": "ES256", "kid": "k1", "cty": "JWT"}),
                &claims(),
            ),
        ),
        (
            // A confirmation method whose proof cannot be checked here.
            "token_bound",
            &v,
            es(&h, &with(claims(), "cnf", json!({"jwk": {"kty": "EC"}}))),
        ),
        (
            // A certificate-bound token without its certificate (verify: a
            // bearer presentation).
            "certificate_missing",
            &v,
            es(&h, &with(claims(), "cnf", json!({"x5t#S256": THUMBPRINT}))),
        ),
        ("sender_constraint_required", &bound_only, es(&h, &claims())),
    ];
    let mut seen: Vec<&str> = Vec::new();
    for (expected, verifier, token) in &cases {
        assert_eq!(code(verifier, token).await, *expected, "{token}");
        seen.push(expected);
    }
    // The JWT is exactly at the leeway edge: 59 s past exp still verifies.
    // Inside the leeway (60 s), with margin for a slow test run: still valid.
    assert!(
        v.verify(&es(&h, &with(claims(), "exp", json!(now() - 45))))
            .await
            .is_ok()
    );

    // keys_unavailable: a remote key set that cannot be fetched (nothing listens).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let unreachable = Verifier::builder()
        .issuer(
            IssuerConfig::new(ISS, [AUD])
                .jwks_url(format!("http://{closed}/jwks.json"))
                .jwks_options(JwksOptions {
                    request_timeout: Duration::from_millis(500),
                    ..JwksOptions::default()
                }),
        )
        .build()
        .await
        .unwrap();
    assert_eq!(
        code(&unreachable, &es(&h, &claims())).await,
        "keys_unavailable"
    );
    seen.push("keys_unavailable");

    // Every token-level code is exercised (token_missing and request_malformed
    // belong to the HTTP layer; the scope, contract and step-up codes to
    // ScopeLayer, ContractLayer and StepUpLayer, tested with them).
    for code in rampgate_core::ErrorKind::REQUEST_CODES {
        if [
            "token_missing",
            "request_malformed",
            "scope_insufficient",
            "scope_beyond_stage",
            "consumer_unknown",
            "route_unknown",
            "issuer_not_in_contract",
            // tests/contract_e2e.rs, over a socket.
            "separation_of_duties",
            "acr_insufficient",
            "amr_missing",
            "auth_time_missing",
            "auth_time_stale",
            // A revocation list's codes: tests/revocation_e2e.rs and the
            // core's revocation tests reach each of them.
            "token_revoked_jti",
            "token_revoked_sub",
            "token_revoked_consumer",
            "token_revoked_kid",
            // A shared store out of reach past max_stale, failing closed:
            // the Redis store's tests (tests/redis_revocation.rs).
            "revocation_unavailable",
            // The AuditLayer's (tests/audit_e2e.rs).
            "audit_unavailable",
            // The tower layers' own refusals: a gRPC method called without
            // gRPC, layers that cannot enforce the route (tested with them).
            "grpc_required",
            "layers_misconfigured",
            // A DPoP proof's refusals, and a binding that needs a proof:
            // tests/dpop.rs (proofs made by joserfc) and the JWT layer's
            // sender tests (crates/rampgate-tower/src/jwt/sender/tests.rs).
            "dpop_proof_missing",
            "dpop_proof_multiple",
            "dpop_proof_malformed",
            "dpop_proof_typ",
            "dpop_proof_alg",
            "dpop_proof_jwk",
            "dpop_proof_signature",
            "dpop_proof_htm",
            "dpop_proof_htu",
            "dpop_proof_iat",
            "dpop_proof_replayed",
            "dpop_proof_ath",
            "dpop_nonce_required",
            "dpop_replay_cache_full",
            "dpop_key_mismatch",
            "dpop_token_unbound",
            "certificate_mismatch",
        ]
        .contains(code)
        {
            continue;
        }
        assert!(seen.contains(code), "no test reaches {code}");
    }
}

#[tokio::test]
async fn max_lifetime_refuses_long_lived_and_undated_tokens() {
    let k1 = signer(1, "k1");
    let h = json!({"alg": "ES256", "kid": "k1"});
    let es = |claims: &Value| sign_with(&k1.encoding, Algorithm::ES256, &h, claims);
    let unlimited = verifier(ValidationPolicy::default(), &[&k1]).await;
    let day = verifier(
        ValidationPolicy::default().max_lifetime(Duration::from_secs(86_400)),
        &[&k1],
    )
    .await;
    let t = now();
    // An `exp` in 2099: accepted without a limit, refused with one.
    let forever = es(&with(claims(), "exp", json!(4_102_444_800_i64)));
    assert!(unlimited.verify(&forever).await.is_ok());
    let err = day.verify(&forever).await.unwrap_err();
    assert_eq!(err.code(), "token_lifetime_exceeded");
    assert_eq!(err.kind().status(), 401);
    assert_eq!(
        err.kind().bearer_error(),
        Some(rampgate_core::BearerError::InvalidToken)
    );
    assert!(err.to_string().contains("86400s"), "{err}");
    // Without iat the lifetime cannot be known: iat is required.
    let undated = es(&with(claims(), "iat", Value::Null));
    assert!(unlimited.verify(&undated).await.is_ok());
    let err = day.verify(&undated).await.unwrap_err();
    assert_eq!(err.code(), "claim_missing");
    assert!(err.to_string().contains("iat"), "{err}");
    // Exactly a day, issued an hour ago: accepted.
    let a_day = with(
        with(claims(), "iat", json!(t - 3600)),
        "exp",
        json!(t - 3600 + 86_400),
    );
    assert_eq!(day.verify(&es(&a_day)).await.unwrap().sub(), Some("alice"));
    // A day and a second: refused, though it has most of its life ahead.
    // `iat` is pinned to `t`: `claims()` reads the clock again, and a second
    // ticking over in between would make the lifetime exactly a day.
    let longer = with(with(claims(), "iat", json!(t)), "exp", json!(t + 86_401));
    assert_eq!(code(&day, &es(&longer)).await, "token_lifetime_exceeded");
    // An expired long-lived token is reported as expired (time claims first).
    let stale = with(
        with(claims(), "iat", json!(t - 40 * 86_400)),
        "exp",
        json!(t - 3600),
    );
    assert_eq!(code(&day, &es(&stale)).await, "token_expired");
}

#[tokio::test]
async fn scp_array_elements_are_split_on_spaces_like_the_string_form() {
    let k1 = signer(1, "k1");
    let v = verifier(ValidationPolicy::default(), &[&k1]).await;
    let h = json!({"alg": "ES256", "kid": "k1"});
    let scopes_of = async |name: &str, value: Value| {
        let claims = with(with(claims(), "scope", Value::Null), name, value);
        let token = sign_with(&k1.encoding, Algorithm::ES256, &h, &claims);
        let principal = v.verify(&token).await.unwrap();
        principal
            .scopes()
            .iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(scopes_of("scp", json!(["a b", "c"])).await, ["a", "b", "c"]);
    assert_eq!(scopes_of("scp", json!(["a  b "])).await, ["a", "b"]);
    assert_eq!(scopes_of("scope", json!("a b c")).await, ["a", "b", "c"]);
}

#[tokio::test]
async fn an_auth_time_in_the_future_is_refused_like_iat() {
    let k1 = signer(1, "k1");
    let v = verifier(ValidationPolicy::default(), &[&k1]).await;
    let h = json!({"alg": "ES256", "kid": "k1"});
    let es = |claims: &Value| sign_with(&k1.encoding, Algorithm::ES256, &h, claims);
    // An hour ahead would count as "just authenticated" for the next hour.
    for ahead in [3600, 61 + 5] {
        let token = es(&with(claims(), "auth_time", json!(now() + ahead)));
        let err = v.verify(&token).await.unwrap_err();
        assert_eq!(err.code(), "claim_invalid", "{ahead}");
        assert_eq!(
            err.to_string(),
            "claim auth_time is invalid: must be a NumericDate not in the future"
        );
    }
    // Within the leeway (clock skew), and in the past: accepted.
    for t in [now() + 30, now() - 600] {
        let principal = v
            .verify(&es(&with(claims(), "auth_time", json!(t))))
            .await
            .unwrap();
        assert_eq!(principal.auth_time(), Some(t));
    }
}

#[tokio::test]
async fn other_kinds_of_jwt_are_refused_by_default() {
    // conformance: JWT-11 (RFC 8725 §3.11, RFC 9068 §4)
    let k1 = signer(1, "k1");
    let v = verifier(ValidationPolicy::default(), &[&k1]).await;
    let es = |typ: Option<&str>, claims: &Value| {
        let mut header = json!({"alg": "ES256", "kid": "k1"});
        if let Some(typ) = typ {
            header["typ"] = typ.into();
        }
        sign_with(&k1.encoding, Algorithm::ES256, &header, claims)
    };
    for typ in [
        "logout+jwt",
        "application/logout+jwt",
        "secevent+jwt",
        "SECEVENT+JWT",
        "dpop+jwt",
        "id_token+jwt",
        "Application/ID_TOKEN+JWT",
        "chat+jwt",
    ] {
        let err = v.verify(&es(Some(typ), &claims())).await.unwrap_err();
        assert_eq!(err.code(), "typ_mismatch", "{typ}");
    }
    // What the major identity providers put on access tokens still verifies.
    for typ in [
        None,
        Some("JWT"),
        Some("jwt"),
        Some("at+jwt"),
        Some("AT+JWT"),
        Some("application/at+jwt"),
        Some("application/okta-internal-at+jwt"),
    ] {
        let principal = v.verify(&es(typ, &claims())).await;
        assert_eq!(principal.unwrap().sub(), Some("alice"), "{typ:?}");
    }
    // An ID token's own claims give it away whatever its typ says.
    for name in ["nonce", "at_hash", "c_hash"] {
        let token = es(Some("JWT"), &with(claims(), name, json!("x")));
        let err = v.verify(&token).await.unwrap_err();
        assert_eq!(err.code(), "id_token_claims", "{name}");
        assert!(err.to_string().contains(name), "{err}");
    }
    // ... unless the policy explicitly allows them.
    let lenient = verifier(ValidationPolicy::default().allow_id_token_claims(), &[&k1]).await;
    let token = es(None, &with(claims(), "nonce", json!("x")));
    assert_eq!(lenient.verify(&token).await.unwrap().sub(), Some("alice"));
    // The typ rule is not loosened by it.
    let token = es(Some("logout+jwt"), &claims());
    assert_eq!(
        lenient.verify(&token).await.unwrap_err().code(),
        "typ_mismatch"
    );
    // require_typ_at_jwt() is still the one call that makes at+jwt mandatory.
    let strict = verifier(ValidationPolicy::default().require_typ_at_jwt(), &[&k1]).await;
    for typ in [None, Some("JWT"), Some("application/okta-internal-at+jwt")] {
        let err = strict.verify(&es(typ, &claims())).await.unwrap_err();
        assert_eq!(err.code(), "typ_mismatch", "{typ:?}");
    }
    assert!(strict.verify(&es(Some("at+jwt"), &claims())).await.is_ok());
}

#[tokio::test]
async fn hmac_issuer_verifies_only_its_own_algorithm() {
    let secret = [42u8; 32];
    let v =
        Verifier::builder()
            .issuer(IssuerConfig::new(ISS, [AUD]).keys(
                KeySet::from_keys([Key::hmac(&secret, "HS256", Some("s1")).unwrap()]).unwrap(),
            ))
            .build()
            .await
            .unwrap();
    let key = EncodingKey::from_secret(&secret);
    let good = sign_with(
        &key,
        Algorithm::HS256,
        &json!({"alg": "HS256", "kid": "s1"}),
        &claims(),
    );
    assert!(v.verify(&good).await.is_ok());
    let hs384 = sign_with(
        &key,
        Algorithm::HS384,
        &json!({"alg": "HS384", "kid": "s1"}),
        &claims(),
    );
    assert_eq!(code(&v, &hs384).await, "alg_not_allowed");
    assert_eq!(v.algorithms(ISS), vec!["HS256"]);
}

#[tokio::test]
async fn an_issuer_cannot_mix_hmac_and_public_keys() {
    let k = signer(1, "k1");
    let keys = [
        Key::from_jwk_json(&k.jwk).unwrap(),
        Key::hmac(&[1u8; 32], "HS256", Some("s1")).unwrap(),
    ];
    let err = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).keys(KeySet::from_keys(keys).unwrap()))
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "config_invalid");
}

#[tokio::test]
async fn configuration_mistakes_are_precise_errors() {
    let k = signer(1, "k1");
    let set = || KeySet::from_keys([Key::from_jwk_json(&k.jwk).unwrap()]).unwrap();
    let cases = [
        (
            IssuerConfig::new(ISS, Vec::<String>::new()).keys(set()),
            "audience",
        ),
        (IssuerConfig::new(ISS, [AUD]), "no key source"),
        (
            IssuerConfig::new(ISS, [AUD])
                .keys(set())
                .policy(ValidationPolicy::default().leeway(Duration::from_secs(600))),
            "leeway",
        ),
        (
            IssuerConfig::new(ISS, [AUD])
                .keys(set())
                .policy(ValidationPolicy::default().algorithms([rampgate_core::Algorithm::HS256])),
            "HMAC",
        ),
        (
            IssuerConfig::new(ISS, [AUD]).jwks_file("/nonexistent/jwks.json"),
            "cannot read",
        ),
    ];
    for (config, needle) in cases {
        let err = Verifier::builder()
            .issuer(config)
            .build()
            .await
            .unwrap_err();
        assert_eq!(err.code(), "config_invalid");
        assert!(
            err.to_string().contains(needle),
            "{err} should mention {needle}"
        );
    }
}

#[tokio::test]
async fn keys_from_pem_and_from_a_jwks_file() {
    use p256::pkcs8::EncodePublicKey as _;
    let k = signer(5, "k5");
    let secret = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
    let pem = secret
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let h = json!({"alg": "ES256", "kid": "k5"});
    let token = sign_with(&k.encoding, Algorithm::ES256, &h, &claims());

    let from_pem = Key::from_pem(pem.as_bytes(), "ES256", Some("k5")).unwrap();
    assert_eq!(from_pem.alg(), "ES256");
    let v = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).keys(KeySet::from_keys([from_pem]).unwrap()))
        .build()
        .await
        .unwrap();
    assert!(v.verify(&token).await.is_ok());
    // A PEM is bound to the algorithm it is given for.
    assert!(Key::from_pem(pem.as_bytes(), "RS256", None).is_err());

    let dir = std::env::temp_dir().join(format!("rampgate-jwks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("jwks.json");
    std::fs::write(&file, format!(r#"{{"keys":[{}]}}"#, k.jwk)).unwrap();
    let v = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).jwks_file(&file))
        .build()
        .await
        .unwrap();
    assert!(v.verify(&token).await.is_ok());
    assert_eq!(v.key_stats(ISS).unwrap().kids, vec!["k5"]);
    std::fs::write(&file, "not json").unwrap();
    let err = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).jwks_file(&file))
        .build()
        .await
        .unwrap_err();
    assert_eq!(err.code(), "config_invalid");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_missing_custom_claim_is_named() {
    let k = signer(1, "k1");
    let v = verifier(
        ValidationPolicy::default().require_claims(["tenant"]),
        &[&k],
    )
    .await;
    let token = sign_with(
        &k.encoding,
        Algorithm::ES256,
        &json!({"alg": "ES256", "kid": "k1"}),
        &claims(),
    );
    let err = v.verify(&token).await.unwrap_err();
    assert_eq!(err.code(), "claim_missing");
    assert_eq!(err.to_string(), "required claim missing: tenant");
    let with_tenant = sign_with(
        &k.encoding,
        Algorithm::ES256,
        &json!({"alg": "ES256", "kid": "k1"}),
        &with(claims(), "tenant", json!("acme")),
    );
    assert!(v.verify(&with_tenant).await.is_ok());
}
