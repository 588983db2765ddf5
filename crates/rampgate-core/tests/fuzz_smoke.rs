//! Mutation fuzzing of the parsers on stable Rust, seeded so a failure reproduces:
//! mutated tokens must be refused with a reason code (never a panic, never a
//! pass), and mutated JWK Sets must load or fail cleanly. Longer runs: `fuzz/`.
#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use p256::pkcs8::EncodePrivateKey as _;
use rampgate_core::{ErrorKind, IssuerConfig, Key, KeySet, Verifier};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::json;

const ITERATIONS: usize = 20_000;

fn mutate(rng: &mut StdRng, input: &[u8]) -> Vec<u8> {
    let mut out = input.to_vec();
    for _ in 0..rng.gen_range(1..4) {
        if out.is_empty() {
            out.push(rng.r#gen());
            continue;
        }
        let i = rng.gen_range(0..out.len());
        match rng.gen_range(0..6) {
            0 => out[i] ^= 1 << rng.gen_range(0..8),
            1 => out[i] = rng.r#gen(),
            2 => {
                out.remove(i);
            }
            3 => out.insert(i, *b".=-_+/ {}\"\\\0".get(rng.gen_range(0..12)).unwrap()),
            4 => {
                let end = rng.gen_range(i..out.len());
                let chunk = out[i..=end].to_vec();
                out.splice(i..i, chunk);
            }
            _ => out.truncate(i),
        }
    }
    out
}

#[tokio::test]
async fn mutated_tokens_are_always_refused_cleanly() {
    let secret = p256::ecdsa::SigningKey::from_slice(&[3u8; 32]).unwrap();
    let point = secret.verifying_key().to_encoded_point(false);
    let jwk = json!({"kty": "EC", "crv": "P-256", "kid": "k",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())});
    let verifier = Verifier::builder()
        .issuer(
            IssuerConfig::new("https://i.example", ["api"])
                .keys(KeySet::from_keys([Key::from_jwk_json(&jwk.to_string()).unwrap()]).unwrap()),
        )
        .build()
        .await
        .unwrap();
    let claims = json!({"iss": "https://i.example", "aud": "api", "exp": 4_000_000_000u64,
                        "scope": "a b", "amr": ["mfa"], "sub": "s"});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"alg": "ES256", "kid": "k"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let key = EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes());
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::ES256).unwrap();
    let token = format!("{input}.{sig}");
    assert!(verifier.verify_cached(&token).is_ok());

    let mut rng = StdRng::seed_from_u64(0x7261_6d70);
    for n in 0..ITERATIONS {
        let bytes = mutate(&mut rng, token.as_bytes());
        let Ok(mutated) = String::from_utf8(bytes) else {
            continue;
        };
        if mutated == token {
            continue;
        }
        match verifier.verify_cached(&mutated) {
            // ES256 signatures are not malleable in rampgate's encoding, and base64url
            // is strict, so any change must be refused.
            Ok(_) => panic!("iteration {n}: mutated token accepted: {mutated}"),
            Err(e) => assert!(
                ErrorKind::REQUEST_CODES.contains(&e.code()),
                "iteration {n}: unexpected code {}",
                e.code()
            ),
        }
    }
}

#[test]
fn mutated_dpop_proofs_and_urls_are_refused_cleanly() {
    use rampgate_core::dpop::{DpopChecker, DpopOptions, DpopRequest, access_token_hash};
    let secret = p256::ecdsa::SigningKey::from_slice(&[5u8; 32]).unwrap();
    let point = secret.verifying_key().to_encoded_point(false);
    let jwk = json!({"kty": "EC", "crv": "P-256",
        "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())});
    let url = "https://api.example:8443/a/b%2Fc/./d?q=1";
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(json!({"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk}).to_string()),
        URL_SAFE_NO_PAD.encode(
            json!({"jti": "j", "htm": "GET", "htu": url, "iat": now,
                   "ath": access_token_hash("t")})
            .to_string()
        )
    );
    let key = EncodingKey::from_ec_der(secret.to_pkcs8_der().unwrap().as_bytes());
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::ES256).unwrap();
    let proof = format!("{input}.{sig}");
    let checker = DpopChecker::new(DpopOptions::default()).unwrap();
    let request = DpopRequest::new("GET", url, "t");
    assert!(checker.verify(&proof, &request).is_ok());

    let mut rng = StdRng::seed_from_u64(0x6470_6f70);
    for n in 0..ITERATIONS / 2 {
        // A mutated proof: refused (verify records nothing, so only a change refuses it).
        if let Ok(mutated) = String::from_utf8(mutate(&mut rng, proof.as_bytes()))
            && mutated != proof
        {
            match checker.verify(&mutated, &request) {
                Ok(_) => panic!("iteration {n}: mutated proof accepted: {mutated}"),
                Err(e) => assert!(e.code().starts_with("dpop_proof_"), "iteration {n}: {e}"),
            }
        }
        // A mutated request URL: the proof matches it or is refused for htu.
        if let Ok(mutated) = String::from_utf8(mutate(&mut rng, url.as_bytes())) {
            let request = DpopRequest::new("GET", &mutated, "t");
            if let Err(e) = checker.verify(&proof, &request) {
                assert_eq!(e.code(), "dpop_proof_htu", "iteration {n}: {mutated:?}");
            }
        }
    }
}

#[test]
fn mutated_jwks_load_or_fail_cleanly() {
    let doc = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "a", "use": "sig",
         "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
        {"kty": "OKP", "crv": "Ed25519", "kid": "b", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
        {"kty": "RSA", "kid": "c", "e": "AQAB", "n": URL_SAFE_NO_PAD.encode([0xc3u8; 256])}
    ]})
    .to_string();
    let (set, skipped) = KeySet::from_jwks_json(doc.as_bytes()).unwrap();
    assert_eq!(set.len() + skipped.len(), 3);
    let mut rng = StdRng::seed_from_u64(0x6a776b73);
    for _ in 0..ITERATIONS {
        let bytes = mutate(&mut rng, doc.as_bytes());
        match KeySet::from_jwks_json(&bytes) {
            Ok((set, skipped)) => {
                // Every entry is either a usable key or skipped with a reason.
                let parsed: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
                let entries = parsed["keys"].as_array().unwrap().len();
                assert_eq!(set.len() + skipped.len(), entries);
            }
            Err(e) => assert_eq!(e.code(), "jwks_error"),
        }
    }
}

#[test]
fn mutated_contracts_parse_or_fail_with_lines() {
    let text = include_str!("../../../examples/payments/contract.toml");
    assert!(rampgate_core::contract::Contract::parse(text).is_ok());
    let mut rng = StdRng::seed_from_u64(0x636f6e74);
    for n in 0..ITERATIONS / 4 {
        let bytes = mutate(&mut rng, text.as_bytes());
        let Ok(mutated) = String::from_utf8(bytes) else {
            continue;
        };
        let lines = mutated.lines().count() + 1;
        if let Err(errors) = rampgate_core::contract::Contract::parse(&mutated) {
            assert!(
                !errors.0.is_empty(),
                "iteration {n}: an error list is never empty"
            );
            for e in &errors.0 {
                // Lines, when given, are inside the mutated file.
                assert!(
                    e.line.is_none_or(|l| l >= 1 && l <= lines),
                    "iteration {n}: {e}"
                );
                assert!(!e.message.is_empty());
            }
        }
    }
}
