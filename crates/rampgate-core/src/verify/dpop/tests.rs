//! The checker's checks in order, with proofs signed here (ES256 through
//! jsonwebtoken's RustCrypto provider, EdDSA with ed25519-dalek); proofs of
//! an independent JOSE library are in tests/dpop.rs.

use super::*;
use crate::ErrorKind;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::Signer as _;
use jsonwebtoken::EncodingKey;
use p256::pkcs8::EncodePrivateKey as _;
use serde_json::json;

const URL: &str = "https://api.example/orders";
const TOKEN: &str = "an.access.token";
/// A fixed "now", so that windows are exact.
const NOW: f64 = 1_800_000_000.0;

enum Signer {
    Es256(EncodingKey),
    Ed25519(ed25519_dalek::SigningKey),
}

struct Client {
    signer: Signer,
    jwk: Value,
}

impl Client {
    fn es256(seed: u8) -> Client {
        let secret = p256::ecdsa::SigningKey::from_slice(&[seed; 32]).unwrap();
        let point = secret.verifying_key().to_encoded_point(false);
        Client {
            signer: Signer::Es256(EncodingKey::from_ec_der(
                secret.to_pkcs8_der().unwrap().as_bytes(),
            )),
            jwk: json!({"kty": "EC", "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                "y": URL_SAFE_NO_PAD.encode(point.y().unwrap())}),
        }
    }

    fn ed25519(seed: u8) -> Client {
        let secret = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
        Client {
            jwk: json!({"kty": "OKP", "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(secret.verifying_key().as_bytes())}),
            signer: Signer::Ed25519(secret),
        }
    }

    fn alg(&self) -> &'static str {
        match self.signer {
            Signer::Es256(_) => "ES256",
            Signer::Ed25519(_) => "EdDSA",
        }
    }

    fn header(&self) -> Value {
        json!({"typ": "dpop+jwt", "alg": self.alg(), "jwk": self.jwk})
    }

    fn sign(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = match &self.signer {
            Signer::Es256(key) => {
                jsonwebtoken::crypto::sign(input.as_bytes(), key, jsonwebtoken::Algorithm::ES256)
                    .unwrap()
            }
            Signer::Ed25519(key) => URL_SAFE_NO_PAD.encode(key.sign(input.as_bytes()).to_bytes()),
        };
        format!("{input}.{signature}")
    }

    /// A good proof for GET `URL` with `TOKEN` at `NOW`, its claims changed by `edit`.
    fn proof(&self, jti: &str, edit: impl FnOnce(&mut Value)) -> String {
        let mut claims = json!({"jti": jti, "htm": "GET", "htu": URL, "iat": NOW as u64,
                                "ath": access_token_hash(TOKEN)});
        edit(&mut claims);
        self.sign(&self.header(), &claims)
    }

    fn thumbprint(&self) -> Thumbprint {
        jwk_thumbprint(&self.jwk.to_string()).unwrap()
    }
}

fn checker(options: DpopOptions) -> DpopChecker {
    DpopChecker::new(options).unwrap()
}

fn get() -> DpopRequest<'static> {
    DpopRequest::new("GET", URL, TOKEN)
}

/// Verifies and records at `now`, as `check` does at the real time.
fn check_at(
    c: &DpopChecker,
    proof: &str,
    request: &DpopRequest<'_>,
    now: f64,
) -> Result<DpopProof, DpopFailure> {
    let proof = c.verify_at(proof, request, now)?;
    c.record_at(&proof, now)?;
    Ok(proof)
}

fn check(c: &DpopChecker, proof: &str) -> Result<DpopProof, DpopFailure> {
    check_at(c, proof, &get(), NOW)
}

#[test]
fn a_good_proof_gives_its_keys_thumbprint() {
    let c = checker(DpopOptions::default());
    for client in [Client::es256(1), Client::ed25519(2)] {
        let proof = check(&c, &client.proof("j1", |_| {})).unwrap();
        assert_eq!(proof.thumbprint(), client.thumbprint());
        assert!(!proof.needs_fresh_nonce());
    }
}

#[test]
fn a_bad_signature_is_refused() {
    // conformance: 9449-4
    let c = checker(DpopOptions::default());
    let client = Client::es256(1);
    let good = client.proof("j1", |_| {});
    // Another key's signature over the same header and claims.
    let (input, _) = good.rsplit_once('.').unwrap();
    let forged = Client::es256(2).sign(&client.header(), &json!({}));
    let forged = format!("{input}.{}", forged.rsplit_once('.').unwrap().1);
    assert_eq!(check(&c, &forged).unwrap_err(), DpopFailure::Signature);
    // The claims changed after signing.
    let (header, _) = input.split_once('.').unwrap();
    let other_claims = URL_SAFE_NO_PAD.encode(
        json!({"jti": "j2", "htm": "GET", "htu": URL,
        "iat": NOW as u64, "ath": access_token_hash(TOKEN)})
        .to_string(),
    );
    let swapped = format!(
        "{header}.{other_claims}.{}",
        good.rsplit_once('.').unwrap().1
    );
    assert_eq!(check(&c, &swapped).unwrap_err(), DpopFailure::Signature);
    // A P-256 key under a header naming ES384: the key does not fit the alg.
    let mut header = client.header();
    header["alg"] = json!("ES384");
    let wrong_alg = client.sign(
        &header,
        &json!({"jti": "j3", "htm": "GET", "htu": URL,
        "iat": NOW as u64, "ath": access_token_hash(TOKEN)}),
    );
    assert!(matches!(
        check(&c, &wrong_alg).unwrap_err(),
        DpopFailure::Jwk(_)
    ));
}

#[test]
fn htm_must_be_the_method() {
    // conformance: 9449-5
    let c = checker(DpopOptions::default());
    let client = Client::es256(1);
    let post = DpopRequest::new("POST", URL, TOKEN);
    let proof = client.proof("j1", |_| {});
    assert_eq!(
        check_at(&c, &proof, &post, NOW).unwrap_err(),
        DpopFailure::Htm
    );
    // Methods are case-sensitive (RFC 9110 §9.1).
    let lower = client.proof("j2", |c| c["htm"] = json!("get"));
    assert_eq!(check(&c, &lower).unwrap_err(), DpopFailure::Htm);
}

#[test]
fn htu_must_be_the_url_but_for_query_and_fragment() {
    // conformance: 9449-5
    let c = checker(DpopOptions::default());
    let client = Client::es256(1);
    let other = client.proof("j1", |c| c["htu"] = json!("https://api.example/admin"));
    assert_eq!(check(&c, &other).unwrap_err(), DpopFailure::Htu);
    let other_host = client.proof("j2", |c| c["htu"] = json!("https://evil.example/orders"));
    assert_eq!(check(&c, &other_host).unwrap_err(), DpopFailure::Htu);
    let http = client.proof("j3", |c| c["htu"] = json!("http://api.example/orders"));
    assert_eq!(check(&c, &http).unwrap_err(), DpopFailure::Htu);
    // The same URL in other spellings, or with another query: accepted.
    for (i, same) in [
        "https://API.example:443/orders?page=3",
        "https://api.example/%6Frders#x",
    ]
    .into_iter()
    .enumerate()
    {
        let proof = client.proof(&format!("same{i}"), |c| c["htu"] = json!(same));
        assert!(check(&c, &proof).is_ok(), "{same}");
    }
    let with_query = DpopRequest::new("GET", "https://api.example/orders?page=2", TOKEN);
    assert!(check_at(&c, &client.proof("j4", |_| {}), &with_query, NOW).is_ok());
    // A request URL that is not one matches nothing.
    let broken = DpopRequest::new("GET", "/orders", TOKEN);
    assert_eq!(
        check_at(&c, &client.proof("j5", |_| {}), &broken, NOW).unwrap_err(),
        DpopFailure::Htu
    );
}

#[test]
fn iat_must_be_within_the_window() {
    // conformance: 9449-6
    let c = checker(DpopOptions::default());
    let client = Client::es256(1);
    for (i, (iat, ok)) in [
        (NOW - 60.0, true),
        (NOW - 61.0, false),
        (NOW + 5.0, true),
        (NOW + 6.0, false),
        (NOW - 600.0, false),
        (NOW + 600.0, false),
        (0.0, false),
        (NOW - 0.5, true),
    ]
    .into_iter()
    .enumerate()
    {
        let proof = client.proof(&format!("j{i}"), |c| c["iat"] = json!(iat));
        match check(&c, &proof) {
            Ok(_) => assert!(ok, "{iat}"),
            Err(e) => {
                assert!(!ok, "{iat}");
                assert_eq!(e, DpopFailure::Iat, "{iat}");
            }
        }
    }
    // The window is the options'.
    let strict = checker(
        DpopOptions::default()
            .max_age(Duration::from_secs(10))
            .future_leeway(Duration::ZERO),
    );
    let proof = client.proof("k", |c| c["iat"] = json!(NOW - 11.0));
    assert_eq!(check(&strict, &proof).unwrap_err(), DpopFailure::Iat);
    let proof = client.proof("k", |c| c["iat"] = json!(NOW + 1.0));
    assert_eq!(check(&strict, &proof).unwrap_err(), DpopFailure::Iat);
}

#[test]
fn ath_must_be_the_access_tokens_hash() {
    // conformance: 9449-7
    let c = checker(DpopOptions::default());
    let client = Client::es256(1);
    let other = client.proof("j1", |c| {
        c["ath"] = json!(access_token_hash("another.token"))
    });
    assert_eq!(check(&c, &other).unwrap_err(), DpopFailure::Ath);
    let padded = client.proof("j2", |c| {
        c["ath"] = json!(format!("{}=", access_token_hash(TOKEN)))
    });
    assert_eq!(check(&c, &padded).unwrap_err(), DpopFailure::Ath);
    let request = DpopRequest::new("GET", URL, "another.token");
    assert_eq!(
        check_at(&c, &client.proof("j3", |_| {}), &request, NOW).unwrap_err(),
        DpopFailure::Ath
    );
}

#[test]
fn a_proof_is_good_once_within_its_window() {
    // conformance: 9449-6
    let c = checker(DpopOptions::default());
    let client = Client::es256(1);
    let proof = client.proof("j1", |_| {});
    assert!(check(&c, &proof).is_ok());
    assert_eq!(check(&c, &proof).unwrap_err(), DpopFailure::Replayed);
    // A clone shares the cache.
    assert_eq!(
        check(&c.clone(), &proof).unwrap_err(),
        DpopFailure::Replayed
    );
    // Another proof with the same jti from the same key: a replay too.
    let again = client.proof("j1", |c| c["iat"] = json!(NOW as u64 - 1));
    assert_eq!(check(&c, &again).unwrap_err(), DpopFailure::Replayed);
    // Another client may use the same jti.
    assert!(check(&c, &Client::ed25519(3).proof("j1", |_| {})).is_ok());
    // At the end of the window the proof is still a replay; after, its iat is too old.
    assert_eq!(
        check_at(&c, &proof, &get(), NOW + 60.0).unwrap_err(),
        DpopFailure::Replayed
    );
    assert_eq!(
        check_at(&c, &proof, &get(), NOW + 61.0).unwrap_err(),
        DpopFailure::Iat
    );
    // Refused proofs are not recorded: the same jti passes once it is good.
    let wrong = client.proof("j9", |c| c["htm"] = json!("PUT"));
    assert!(check(&c, &wrong).is_err());
    assert!(check(&c, &client.proof("j9", |_| {})).is_ok());
}

#[test]
fn verify_then_record_records_once() {
    let c = checker(DpopOptions::default());
    let proof = Client::es256(1).proof("j1", |_| {});
    let first = c.verify_at(&proof, &get(), NOW).unwrap();
    let second = c.verify_at(&proof, &get(), NOW).unwrap();
    assert_eq!(c.record_at(&first, NOW), Ok(()));
    assert_eq!(c.record_at(&second, NOW), Err(DpopFailure::Replayed));
    assert_eq!(c.inner.replay.len(), 1);
}

#[test]
fn a_full_replay_cache_refuses_new_proofs_with_a_503() {
    let c = checker(DpopOptions::default().replay_capacity(1));
    let client = Client::ed25519(1);
    let results: Vec<_> = (0..200)
        .map(|i| check(&c, &client.proof(&format!("j{i}"), |_| {})))
        .collect();
    let full = results
        .iter()
        .filter(|r| matches!(r, Err(DpopFailure::ReplayCacheFull)))
        .count();
    assert!(
        full > 0
            && results
                .iter()
                .all(|r| r.is_ok() || matches!(r, Err(DpopFailure::ReplayCacheFull)))
    );
    let err = Error::from(DpopFailure::ReplayCacheFull);
    assert_eq!(err.code(), "dpop_replay_cache_full");
    assert_eq!(err.kind().status(), http::StatusCode::SERVICE_UNAVAILABLE);
    assert!(err.kind().is_unavailable());
    assert_eq!(err.kind().bearer_error(), None);
    // Once the window has passed, there is room again.
    let later = client.proof("later", |c| c["iat"] = json!(NOW as u64 + 100));
    assert!(check_at(&c, &later, &get(), NOW + 100.0).is_ok());
}

#[test]
fn nonces_when_required() {
    // conformance: 9449-12
    let c = checker(DpopOptions::default().require_nonce(Duration::from_secs(60)));
    let nonces = c.inner.nonces.as_ref().unwrap();
    let client = Client::es256(1);
    let missing = check(&c, &client.proof("j1", |_| {})).unwrap_err();
    assert_eq!(missing, DpopFailure::NonceRequired);
    assert_eq!(
        Error::from(missing).kind().bearer_error(),
        Some(crate::BearerError::UseDpopNonce)
    );
    let wrong = client.proof("j2", |c| c["nonce"] = json!("not-the-servers-nonce"));
    assert_eq!(check(&c, &wrong).unwrap_err(), DpopFailure::NonceRequired);

    let current = nonces.current(NOW).unwrap();
    let proof = check(&c, &client.proof("j3", |c| c["nonce"] = json!(current))).unwrap();
    assert!(!proof.needs_fresh_nonce());
    // The previous epoch's nonce still passes, and asks for a fresh one.
    let previous = nonces.current(NOW - 60.0).unwrap();
    let proof = check(&c, &client.proof("j4", |c| c["nonce"] = json!(previous))).unwrap();
    assert!(proof.needs_fresh_nonce());
    let older = nonces.current(NOW - 120.0).unwrap();
    let proof = client.proof("j5", |c| c["nonce"] = json!(older));
    assert_eq!(check(&c, &proof).unwrap_err(), DpopFailure::NonceRequired);
    // Without nonces, a nonce in a proof is ignored.
    let plain = checker(DpopOptions::default());
    assert!(plain.nonce().is_none());
    assert!(
        check(
            &plain,
            &client.proof("j6", |c| c["nonce"] = json!("anything"))
        )
        .is_ok()
    );
}

#[test]
fn replicas_sharing_a_secret_accept_each_others_nonces() {
    let secret = [7u8; 32];
    let options = DpopOptions::default()
        .require_nonce(Duration::from_secs(60))
        .nonce_secret(secret);
    let (a, b) = (checker(options.clone()), checker(options));
    let alone = checker(DpopOptions::default().require_nonce(Duration::from_secs(60)));
    // One instant for the three: a nonce's period could turn between reads.
    let now = now_secs();
    let nonce = a.nonce_at(now).unwrap();
    assert_eq!(b.nonce_at(now), Some(nonce.clone()));
    assert_ne!(alone.nonce_at(now), Some(nonce.clone()));
    let client = Client::es256(1);
    let proof = client.proof("j1", |c| {
        c["nonce"] = json!(nonce);
        c["iat"] = json!(now as u64);
    });
    assert!(check_at(&b, &proof, &get(), now).is_ok());
    assert_eq!(
        check_at(&alone, &proof, &get(), now).unwrap_err(),
        DpopFailure::NonceRequired
    );
}

#[test]
fn options_refuse_what_would_weaken_the_checks() {
    let config = |options: DpopOptions| DpopChecker::new(options).unwrap_err().into_kind();
    for options in [
        DpopOptions::default().algorithms([Algorithm::ES256, Algorithm::HS256]),
        DpopOptions::default().algorithms([]),
        DpopOptions::default().replay_capacity(0),
        DpopOptions::default().max_age(Duration::from_millis(999)),
        DpopOptions::default().nonce_secret([1u8; 32]),
        DpopOptions::default()
            .require_nonce(Duration::from_secs(60))
            .nonce_secret([1u8; 31]),
        DpopOptions::default().require_nonce(Duration::ZERO),
    ] {
        assert!(
            matches!(config(options.clone()), ErrorKind::Config { .. }),
            "{options:?}"
        );
    }
    // The secret never shows in Debug.
    let debug = format!(
        "{:?}",
        DpopOptions::default().nonce_secret(b"0123456789abcdef0123456789abcdef")
    );
    assert!(
        !debug.contains("0123456789") && debug.contains("<set>"),
        "{debug}"
    );
    let c = checker(DpopOptions::default().algorithms([Algorithm::EdDSA]));
    assert_eq!(c.algs(), [Algorithm::EdDSA]);
    let es = Client::es256(1).proof("j", |_| {});
    assert_eq!(check(&c, &es).unwrap_err(), DpopFailure::Alg);
}

#[test]
fn every_failure_is_an_invalid_dpop_proof_but_nonce_and_room() {
    let c = checker(DpopOptions::default());
    let client = Client::es256(1);
    let err: Error = c
        .verify_at(&client.proof("j", |c| c["htm"] = json!("PUT")), &get(), NOW)
        .unwrap_err()
        .into();
    assert_eq!(err.code(), "dpop_proof_htm");
    assert_eq!(
        err.kind().bearer_error(),
        Some(crate::BearerError::InvalidDpopProof)
    );
    assert_eq!(err.kind().status(), http::StatusCode::UNAUTHORIZED);
}

#[test]
fn a_checker_is_shared_across_threads() {
    fn shared<T: Send + Sync + Clone + 'static>() {}
    shared::<DpopChecker>();
    // Clones share one replay cache, from any thread.
    let c = checker(DpopOptions::default());
    let proof = Client::ed25519(4).proof("j1", |_| {});
    let other = c.clone();
    let first = std::thread::spawn(move || check(&other, &proof).map(|p| p.thumbprint()))
        .join()
        .unwrap();
    assert!(first.is_ok());
    assert_eq!(c.replay_entries(), 1);
}
