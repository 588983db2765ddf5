//! DPoP proofs (RFC 9449) made by an independent JOSE implementation, the
//! Python library joserfc (tests/dpop/proofs.py, run from each test), checked
//! by `rampgate_core::dpop`: what RFC 9449 §4.3 accepts is accepted, and each
//! thing it refuses is refused with its own reason. joserfc's RFC 7638
//! thumbprints are compared with the checker's too.
//!
//! `.ci/run` installs joserfc; by hand: `python3 -m pip install joserfc`.
#![allow(clippy::unwrap_used)]

use rampgate_core::dpop::{DpopChecker, DpopOptions, DpopRequest};
use rampgate_core::{BearerError, Error};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::Duration;

const URL: &str = "https://api.example:443/orders/42";
const TOKEN: &str = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.not-checked-here";

/// A proof joserfc made, and the thumbprint of its key as joserfc sees it.
struct Made {
    proof: String,
    jkt: String,
}

/// Has joserfc make one proof per case (see proofs.py for the members; the
/// defaults here: GET `URL` with `TOKEN`).
fn make(cases: &[Value]) -> HashMap<String, Made> {
    let cases: Vec<Value> = cases
        .iter()
        .map(|case| {
            let mut case = case.clone();
            let defaults = [("htu", json!(URL)), ("ath_of", json!(TOKEN))];
            for (name, value) in defaults {
                if case.get(name).is_none() {
                    case[name] = value;
                }
            }
            case
        })
        .collect();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/dpop/proofs.py");
    let install = "install joserfc: python3 -m pip install joserfc (what .ci/run does)";
    let mut child = Command::new("python3")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 cannot run ({e}): {install}"));
    let input = serde_json::to_vec(&cases).unwrap();
    child.stdin.take().unwrap().write_all(&input).unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stderr.contains("No module named"),
        "joserfc is missing: {install}\n{stderr}"
    );
    assert!(output.status.success(), "proofs.py failed:\n{stderr}");
    let made: HashMap<String, Value> = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(made.len(), cases.len());
    made.into_iter()
        .map(|(name, m)| {
            let made = Made {
                proof: m["proof"].as_str().unwrap().to_owned(),
                jkt: m["jkt"].as_str().unwrap().to_owned(),
            };
            (name, made)
        })
        .collect()
}

fn checker() -> DpopChecker {
    DpopChecker::new(DpopOptions::default()).unwrap()
}

fn get() -> DpopRequest<'static> {
    DpopRequest::new("GET", URL, TOKEN)
}

/// The reason code the checker refuses `made` with, for `request`.
fn refusal(checker: &DpopChecker, made: &Made, request: &DpopRequest<'_>) -> &'static str {
    checker.check(&made.proof, request).unwrap_err().code()
}

#[test]
fn proofs_of_every_key_type_are_accepted_with_their_thumbprint() {
    // conformance: 9449-1, 9449-4, 9449-8 (the thumbprint the token's cnf.jkt must be)
    let made = make(&[
        json!({"name": "es256", "key": "ec1"}),
        json!({"name": "eddsa", "key": "ed"}),
        json!({"name": "rs256", "key": "rsa"}),
        json!({"name": "ps256", "key": "rsa", "alg": "PS256"}),
        json!({"name": "media-type", "key": "ec1", "typ": "application/dpop+jwt"}),
    ]);
    let checker = checker();
    for (name, made) in &made {
        let proof = checker
            .check(&made.proof, &get())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(proof.thumbprint().to_string(), made.jkt, "{name}");
        assert!(!proof.needs_fresh_nonce());
    }
}

#[test]
fn a_replayed_proof_is_refused() {
    // conformance: 9449-6
    let made = make(&[
        json!({"name": "first", "key": "ec1", "jti": "same-jti"}),
        json!({"name": "same-jti-again", "key": "ec1", "jti": "same-jti"}),
        json!({"name": "same-jti-other-key", "key": "ec2", "jti": "same-jti"}),
    ]);
    let checker = checker();
    assert!(checker.check(&made["first"].proof, &get()).is_ok());
    assert_eq!(
        refusal(&checker, &made["first"], &get()),
        "dpop_proof_replayed"
    );
    assert_eq!(
        refusal(&checker, &made["same-jti-again"], &get()),
        "dpop_proof_replayed"
    );
    // One client's jti does not block another's.
    assert!(
        checker
            .check(&made["same-jti-other-key"].proof, &get())
            .is_ok()
    );
}

#[test]
fn a_proof_for_another_method_is_refused() {
    // conformance: 9449-5
    let made = make(&[json!({"name": "post", "htm": "POST"})]);
    assert_eq!(refusal(&checker(), &made["post"], &get()), "dpop_proof_htm");
}

#[test]
fn a_proof_for_another_url_is_refused_and_another_query_is_not() {
    // conformance: 9449-5
    let made = make(&[
        json!({"name": "other-path", "htu": "https://api.example/orders/43"}),
        json!({"name": "other-host", "htu": "https://api.example.evil/orders/42"}),
        json!({"name": "http", "htu": "http://api.example/orders/42"}),
        json!({"name": "query", "htu": "https://api.example/orders/42?expand=items"}),
        json!({"name": "spelling", "htu": "HTTPS://API.EXAMPLE/orders/%34%32"}),
    ]);
    let checker = checker();
    for name in ["other-path", "other-host", "http"] {
        assert_eq!(
            refusal(&checker, &made[name], &get()),
            "dpop_proof_htu",
            "{name}"
        );
    }
    let with_query = DpopRequest::new("GET", "https://api.example/orders/42?page=2", TOKEN);
    assert!(checker.check(&made["query"].proof, &with_query).is_ok());
    assert!(checker.check(&made["spelling"].proof, &get()).is_ok());
}

#[test]
fn a_proof_for_another_access_token_is_refused() {
    // conformance: 9449-7
    let made = make(&[
        json!({"name": "other-token", "ath_of": "another.access.token"}),
        json!({"name": "no-ath", "ath_of": null}),
    ]);
    let checker = checker();
    assert_eq!(
        refusal(&checker, &made["other-token"], &get()),
        "dpop_proof_ath"
    );
    assert_eq!(
        refusal(&checker, &made["no-ath"], &get()),
        "dpop_proof_malformed"
    );
}

#[test]
fn a_proof_outside_the_iat_window_is_refused() {
    // conformance: 9449-6
    let made = make(&[
        json!({"name": "old", "iat_offset": -600}),
        json!({"name": "future", "iat_offset": 600}),
        json!({"name": "a-bit-old", "iat_offset": -70}),
        json!({"name": "recent", "iat_offset": -30}),
    ]);
    let checker = checker();
    for name in ["old", "future", "a-bit-old"] {
        assert_eq!(
            refusal(&checker, &made[name], &get()),
            "dpop_proof_iat",
            "{name}"
        );
    }
    assert!(checker.check(&made["recent"].proof, &get()).is_ok());
}

#[test]
fn a_proof_carrying_its_private_key_is_refused() {
    // conformance: 9449-4
    let made = make(&[
        json!({"name": "ec", "key": "ec1", "private_jwk": true}),
        json!({"name": "rsa", "key": "rsa", "private_jwk": true}),
        json!({"name": "ed", "key": "ed", "private_jwk": true}),
    ]);
    let checker = checker();
    for (name, made) in &made {
        assert_eq!(refusal(&checker, made, &get()), "dpop_proof_jwk", "{name}");
    }
}

#[test]
fn a_proof_typed_jwt_is_refused() {
    // conformance: 9449-2
    let made = make(&[
        json!({"name": "jwt", "typ": "JWT"}),
        json!({"name": "at+jwt", "typ": "at+jwt"}),
    ]);
    let checker = checker();
    for (name, made) in &made {
        assert_eq!(refusal(&checker, made, &get()), "dpop_proof_typ", "{name}");
    }
}

#[test]
fn an_hmac_proof_is_refused() {
    // conformance: 9449-3
    let made = make(&[
        json!({"name": "hs256", "key": "oct", "alg": "HS256"}),
        json!({"name": "hs512", "key": "oct", "alg": "HS512"}),
    ]);
    let checker = checker();
    for (name, made) in &made {
        assert_eq!(refusal(&checker, made, &get()), "dpop_proof_alg", "{name}");
    }
    // Nor does an ES256 proof pass a checker that allows EdDSA only.
    let eddsa_only =
        DpopChecker::new(DpopOptions::default().algorithms([rampgate_core::Algorithm::EdDSA]))
            .unwrap();
    let es = make(&[json!({"name": "es", "key": "ec1"})]);
    assert_eq!(refusal(&eddsa_only, &es["es"], &get()), "dpop_proof_alg");
}

#[test]
fn a_proof_without_a_jti_is_malformed() {
    // conformance: 9449-1
    let made = make(&[
        json!({"name": "no-jti", "drop": ["jti"]}),
        json!({"name": "no-iat", "drop": ["iat"]}),
    ]);
    let checker = checker();
    for (name, made) in &made {
        let err = checker.check(&made.proof, &get()).unwrap_err();
        assert_eq!(err.code(), "dpop_proof_malformed", "{name}");
        assert_eq!(
            err.kind().bearer_error(),
            Some(BearerError::InvalidDpopProof)
        );
    }
}

#[test]
fn the_nonce_flow() {
    // conformance: 9449-12
    let checker =
        DpopChecker::new(DpopOptions::default().require_nonce(Duration::from_secs(300))).unwrap();
    let nonce = checker.nonce().unwrap();
    let made = make(&[
        json!({"name": "without", "jti": "first-try"}),
        json!({"name": "with", "jti": "second-try", "nonce": nonce}),
        json!({"name": "made-up", "nonce": "a-nonce-of-the-clients-own"}),
    ]);
    // No nonce: use_dpop_nonce, and the answer carries the current one.
    let err: Error = checker.check(&made["without"].proof, &get()).unwrap_err();
    assert_eq!(err.code(), "dpop_nonce_required");
    assert_eq!(err.kind().bearer_error(), Some(BearerError::UseDpopNonce));
    assert_eq!(
        refusal(&checker, &made["made-up"], &get()),
        "dpop_nonce_required"
    );
    // The retry with the server's nonce is accepted (unless the nonce rotated
    // twice since it was read, which 300 seconds leave no time for).
    let proof = checker.check(&made["with"].proof, &get()).unwrap();
    assert_eq!(proof.thumbprint().to_string(), made["with"].jkt);
}
