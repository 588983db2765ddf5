//! What a refused token claimed comes back with the refusal, taken from the
//! payload the verification decoded: for every refusal that got that far
//! (expired, forged, unknown `kid`, unknown issuer, revoked, a claim of the
//! wrong type), never for a token that did not decode.
#![allow(clippy::unwrap_used)]

mod common;

use common::{AUD, ISS, Signer, signer};
use rampgate_core::binding::Presentation;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use rampgate_core::audit::Claimed;
use rampgate_core::{
    IssuerConfig, Key, KeySet, Revocation, RevocationList, RevocationStore, Verifier,
};
use serde_json::{Value, json};
use std::time::{SystemTime, UNIX_EPOCH};

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn es256(signer: &Signer, kid: &str, claims: &Value) -> String {
    let header = json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig =
        jsonwebtoken::crypto::sign(input.as_bytes(), &signer.encoding, Algorithm::ES256).unwrap();
    format!("{input}.{sig}")
}

fn claims(iss: &str, exp: i64) -> Value {
    json!({"iss": iss, "aud": AUD, "exp": exp, "iat": now() - 10,
        "sub": "alice", "client_id": "web", "jti": "j-1"})
}

fn claimed(iss: &str) -> Option<Claimed> {
    Some(Claimed {
        iss: Some(iss.to_owned()),
        client_id: Some("web".to_owned()),
        sub: Some("alice".to_owned()),
    })
}

#[tokio::test]
async fn every_refusal_that_decoded_the_payload_says_what_the_token_claimed() {
    let (k1, forger) = (signer(1, "k1"), signer(9, "k1"));
    let revocations = RevocationList::new();
    let keys = KeySet::from_keys([Key::from_jwk_json(&k1.jwk.to_string()).unwrap()]).unwrap();
    let verifier = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).keys(keys))
        .revocations(revocations.clone())
        .build()
        .await
        .unwrap();
    let valid = es256(&k1, "k1", &claims(ISS, now() + 300));
    let mut wrong_type = claims(ISS, now() + 300);
    wrong_type["client_id"] = json!(7);
    let cases = [
        (es256(&k1, "k1", &claims(ISS, now() - 600)), "token_expired"),
        (
            es256(&forger, "k1", &claims(ISS, now() + 300)),
            "signature_invalid",
        ),
        (es256(&k1, "k2", &claims(ISS, now() + 300)), "kid_unknown"),
        (
            es256(&k1, "k1", &claims("https://other.example", now() + 300)),
            "issuer_unknown",
        ),
    ];
    for (token, code) in &cases {
        let refused = verifier
            .verify_cached_claimed(token, &Presentation::bearer())
            .unwrap_err();
        assert_eq!(refused.error.code(), *code);
        // The same refusal as verify_cached gives.
        assert_eq!(verifier.verify_cached(token).unwrap_err(), refused.error);
        let iss = if *code == "issuer_unknown" {
            "https://other.example"
        } else {
            ISS
        };
        assert_eq!(refused.claimed, claimed(iss), "{code}");
    }
    // A claim of the wrong type: what is a string is still told.
    let refused = verifier
        .verify_cached_claimed(&es256(&k1, "k1", &wrong_type), &Presentation::bearer())
        .unwrap_err();
    assert_eq!(refused.error.code(), "claim_invalid");
    let told = refused.claimed.unwrap();
    assert_eq!(
        (told.iss.as_deref(), told.sub.as_deref()),
        (Some(ISS), Some("alice"))
    );
    assert_eq!(told.client_id, None);
    // Revoked: refused after the signature, from a cached verification
    // (j-1, verified before it was revoked) and from a full one (j-2).
    assert!(
        verifier
            .verify_cached_claimed(&valid, &Presentation::bearer())
            .is_ok()
    );
    let mut never_seen = claims(ISS, now() + 300);
    never_seen["jti"] = json!("j-2");
    let never_seen = es256(&k1, "k1", &never_seen);
    for jti in ["j-1", "j-2"] {
        revocations.revoke(Revocation::jti(jti), None).unwrap();
    }
    for token in [&valid, &never_seen] {
        let refused = verifier
            .verify_cached_claimed(token, &Presentation::bearer())
            .unwrap_err();
        assert_eq!(refused.error.code(), "token_revoked_jti");
        assert_eq!(refused.claimed, claimed(ISS));
    }
    // Nothing decoded, nothing claimed.
    for garbage in ["not-a-token", "a.b.c", ""] {
        let refused = verifier
            .verify_cached_claimed(garbage, &Presentation::bearer())
            .unwrap_err();
        assert_eq!(refused.claimed, None, "{garbage:?}");
    }
}

#[tokio::test]
async fn a_claimed_value_is_cut_to_256_bytes_on_a_character_boundary() {
    let k1 = signer(1, "k1");
    let keys = KeySet::from_keys([Key::from_jwk_json(&k1.jwk.to_string()).unwrap()]).unwrap();
    let verifier = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).keys(keys))
        .build()
        .await
        .unwrap();
    let mut long = claims(ISS, now() - 600);
    long["sub"] = json!("é".repeat(300));
    let refused = verifier
        .verify_cached_claimed(&es256(&k1, "k1", &long), &Presentation::bearer())
        .unwrap_err();
    let sub = refused.claimed.unwrap().sub.unwrap();
    assert_eq!(sub.len(), 256);
    assert!(sub.chars().all(|c| c == 'é'));
}
