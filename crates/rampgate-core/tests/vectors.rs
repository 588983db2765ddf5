//! The public JOSE test vectors (Wycheproof and the RFC 7520 cookbook, vendored
//! in `tests/vectors/` from the project's shared vectors, with their licences and
//! source commits) run against rampgate-core's signature verification.
//!
//! Every vector whose result is `invalid` must be refused, either when its key is
//! loaded or configured, or by [`verify_signature`]. Every `valid` vector must
//! verify, unless its algorithm, curve or serialisation is one rampgate does not
//! support: those are counted as skipped and listed in the summary. A missing or
//! truncated vector file fails the tests.
//!
//! Run with `cargo test -p rampgate-core --all-features --test vectors -- --nocapture`
//! to see the summary lines.

#![allow(clippy::unwrap_used)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rampgate_core::inspect::verify_signature;
use rampgate_core::{IssuerConfig, Key, KeySet, Verifier};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The path of a vendored vector file.
macro_rules! vectors {
    ($path:literal) => {
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/", $path)
    };
}

/// The algorithms rampgate verifies (HS* only through `Key::hmac`). A `valid`
/// vector of any other algorithm is skipped.
const SUPPORTED_ALGS: [&str; 12] = [
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA", "HS256",
    "HS384", "HS512",
];

/// The curves of the EC and OKP keys rampgate verifies with.
const SUPPORTED_CURVES: [&str; 3] = ["P-256", "P-384", "Ed25519"];

// ---------------------------------------------------------------------------
// Outcomes and the tally of one vector file
// ---------------------------------------------------------------------------

/// What rampgate did with one vector.
#[derive(Debug)]
enum Outcome {
    /// `verify_signature` returned the payload.
    Verified(Vec<u8>),
    /// The key (or key set) was refused when loaded or configured.
    KeyRefused(String),
    /// `verify_signature` refused the token with this reason code.
    Rejected(&'static str),
}

impl Outcome {
    fn is_verified(&self) -> bool {
        matches!(self, Outcome::Verified(_))
    }

    fn describe(&self) -> String {
        match self {
            Outcome::Verified(_) => "verified".into(),
            Outcome::KeyRefused(reason) => format!("key refused at load: {reason}"),
            Outcome::Rejected(code) => format!("rejected: {code}"),
        }
    }
}

/// The result a vector expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Valid,
    Invalid,
}

impl Expect {
    fn parse(result: &str) -> Expect {
        match result {
            "valid" => Expect::Valid,
            "invalid" => Expect::Invalid,
            other => panic!("unexpected vector result {other:?}"),
        }
    }
}

/// Counts for one vector file, and every failed expectation.
struct Tally {
    source: &'static str,
    verified: usize,
    rejected: usize,
    skipped: BTreeMap<String, usize>,
    corrected: usize,
    failures: Vec<String>,
}

impl Tally {
    fn new(source: &'static str) -> Tally {
        Tally {
            source,
            verified: 0,
            rejected: 0,
            skipped: BTreeMap::new(),
            corrected: 0,
            failures: Vec::new(),
        }
    }

    fn skip(&mut self, reason: impl Into<String>) {
        *self.skipped.entry(reason.into()).or_default() += 1;
    }

    /// Checks one vector's outcome against its expected result.
    fn record(&mut self, name: &str, expect: Expect, outcome: &Outcome) {
        match (expect, outcome.is_verified()) {
            (Expect::Valid, true) => self.verified += 1,
            (Expect::Invalid, false) => self.rejected += 1,
            (Expect::Valid, false) => self.failures.push(format!(
                "{name}: expected valid, got {}",
                outcome.describe()
            )),
            (Expect::Invalid, true) => self
                .failures
                .push(format!("{name}: expected invalid, got verified")),
        }
    }

    /// An extra requirement on a vector (a conformance check), beyond its result.
    fn require(&mut self, holds: bool, name: &str, requirement: &str, outcome: &Outcome) {
        if !holds {
            self.failures
                .push(format!("{name}: {requirement}, got {}", outcome.describe()));
        }
    }

    /// Prints the summary line and fails with every failed expectation.
    fn finish(self) {
        let skipped: usize = self.skipped.values().sum();
        let reasons: Vec<String> = self
            .skipped
            .iter()
            .map(|(reason, n)| format!("{n} × {reason}"))
            .collect();
        eprintln!(
            "{}: {} verified, {} rejected, {} skipped [{}], {} upstream results corrected, {} failed",
            self.source,
            self.verified,
            self.rejected,
            skipped,
            reasons.join("; "),
            self.corrected,
            self.failures.len(),
        );
        assert!(
            self.failures.is_empty(),
            "{}: {} vector(s) failed:\n  {}",
            self.source,
            self.failures.len(),
            self.failures.join("\n  ")
        );
        assert!(
            self.verified > 0,
            "{}: no valid vector was verified",
            self.source
        );
    }
}

// ---------------------------------------------------------------------------
// Reading vectors
// ---------------------------------------------------------------------------

/// Reads a JSON vector file, failing loudly if it is missing or unreadable.
fn load_json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("the test vectors {path} cannot be read ({e}); they are required, not optional")
    });
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

/// The test groups of a Wycheproof file, after checking that the file holds as
/// many tests as its header announces (so a truncated file fails).
fn test_groups<'a>(doc: &'a Value, path: &str) -> &'a [Value] {
    let groups = doc["testGroups"]
        .as_array()
        .unwrap_or_else(|| panic!("{path} has no testGroups array"));
    let announced = doc["numberOfTests"].as_u64().unwrap();
    let found: usize = groups
        .iter()
        .map(|g| g["tests"].as_array().unwrap().len())
        .sum();
    assert_eq!(
        found as u64, announced,
        "{path}: numberOfTests disagrees with the tests present"
    );
    assert!(found > 0, "{path} holds no test");
    groups
}

/// One Wycheproof test case.
struct Case<'a> {
    id: u64,
    comment: &'a str,
    jws: &'a str,
    expect: Expect,
    flags: Vec<&'a str>,
}

impl<'a> Case<'a> {
    fn read(case: &'a Value) -> Case<'a> {
        Case {
            id: case["tcId"].as_u64().unwrap(),
            comment: case["comment"].as_str().unwrap(),
            jws: case["jws"].as_str().unwrap(),
            expect: Expect::parse(case["result"].as_str().unwrap()),
            flags: case["flags"]
                .as_array()
                .map(|flags| flags.iter().map(|f| f.as_str().unwrap()).collect())
                .unwrap_or_default(),
        }
    }

    fn has_flag(&self, flag: &str) -> bool {
        self.flags.contains(&flag)
    }

    fn name(&self, source: &str, group: &Value) -> String {
        format!(
            "{source} tcId {} (group {:?}) {:?} flags {:?}",
            self.id,
            group["comment"].as_str().unwrap_or(""),
            self.comment,
            self.flags
        )
    }
}

fn cases(group: &Value) -> Vec<Case<'_>> {
    group["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(Case::read)
        .collect()
}

// ---------------------------------------------------------------------------
// Keys, tokens and verification
// ---------------------------------------------------------------------------

/// Loads one JWK the way an application configures rampgate: a symmetric (`oct`)
/// key through [`Key::hmac`], bound to the JWK's `alg`; any other key with
/// [`Key::from_jwk_json`].
fn load_key(jwk: &Value) -> Result<Key, String> {
    let members = jwk.as_object().ok_or("a JWK must be a JSON object")?;
    let text = |name: &str| members.get(name).and_then(Value::as_str);
    if text("kty") != Some("oct") {
        return Key::from_jwk_json(&jwk.to_string()).map_err(|e| e.to_string());
    }
    let secret = URL_SAFE_NO_PAD
        .decode(text("k").ok_or("an oct JWK without k")?)
        .map_err(|e| format!("k is not base64url: {e}"))?;
    let alg = text("alg").ok_or("an oct JWK without alg cannot be bound to an algorithm")?;
    Key::hmac(&secret, alg, text("kid")).map_err(|e| e.to_string())
}

/// Loads a JWK Set and configures it as one issuer's static keys, so that the
/// verifier's configuration checks (empty sets, HMAC secrets mixed with public
/// keys, duplicate `kid`s) apply. Any key refused refuses the whole set.
async fn load_key_set(jwks: &Value) -> Result<Vec<Key>, String> {
    let entries = jwks["keys"]
        .as_array()
        .ok_or("a JWK Set needs a keys array")?;
    let keys = entries
        .iter()
        .map(load_key)
        .collect::<Result<Vec<_>, _>>()?;
    let set = KeySet::from_keys(keys.clone()).map_err(|e| e.to_string())?;
    Verifier::builder()
        .issuer(IssuerConfig::new("https://issuer.test", ["https://resource.test"]).keys(set))
        .build()
        .await
        .map_err(|e| e.to_string())?;
    Ok(keys)
}

/// Picks the key a token names, as a `KeySet` does: the key with exactly its `kid`,
/// or, without a `kid`, the only key of its `alg`. A token whose header cannot be
/// read goes to the first key, so that the library itself refuses it.
fn select<'k>(keys: &'k [Key], jws: &str) -> Result<&'k Key, &'static str> {
    let Some(header) = header_of(jws) else {
        return keys.first().ok_or("kid_unknown");
    };
    if let Some(kid) = header.get("kid").and_then(Value::as_str) {
        return keys
            .iter()
            .find(|k| k.kid() == Some(kid))
            .ok_or("kid_unknown");
    }
    let alg = header.get("alg").and_then(Value::as_str);
    let mut candidates = keys.iter().filter(|k| Some(k.alg()) == alg);
    match (candidates.next(), candidates.next()) {
        (Some(only), None) => Ok(only),
        (Some(_), Some(_)) => Err("kid_missing"),
        (None, _) => Err("kid_unknown"),
    }
}

fn verify(key: &Result<Key, String>, jws: &str) -> Outcome {
    match key {
        Err(reason) => Outcome::KeyRefused(reason.clone()),
        Ok(key) => match verify_signature(jws, key) {
            Ok(payload) => Outcome::Verified(payload),
            Err(e) => Outcome::Rejected(e.code()),
        },
    }
}

/// The decoded protected header of a compact JWS, if it can be read at all.
fn header_of(jws: &str) -> Option<Map<String, Value>> {
    let encoded = jws.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(encoded).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(header) => Some(header),
        _ => None,
    }
}

fn header_alg(jws: &str) -> Option<String> {
    header_of(jws)?.get("alg")?.as_str().map(str::to_owned)
}

/// Whether `jws` is a JWS in the JSON serialisation rather than the compact one.
fn is_json_serialisation(jws: &str) -> bool {
    serde_json::from_str::<Value>(jws).is_ok_and(|v| v.is_object())
}

/// Why a vector falls outside what rampgate supports, if it does: an algorithm or
/// curve it does not implement, named by the token or by the key.
fn unsupported(jwk: &Value, jws: &str) -> Option<String> {
    if let Some(alg) = header_alg(jws)
        && !SUPPORTED_ALGS.contains(&alg.as_str())
    {
        return Some(format!("token alg {alg} unsupported"));
    }
    if let Some(alg) = jwk.get("alg").and_then(Value::as_str)
        && !SUPPORTED_ALGS.contains(&alg)
    {
        return Some(format!("key alg {alg} unsupported"));
    }
    if let Some(crv) = jwk.get("crv").and_then(Value::as_str)
        && !SUPPORTED_CURVES.contains(&crv)
    {
        return Some(format!("curve {crv} unsupported"));
    }
    None
}

/// The decoded signature of a compact JWS, if it has a decodable third segment.
fn signature_of(jws: &str) -> Option<Vec<u8>> {
    let mut segments = jws.split('.');
    let signature = segments.nth(2)?;
    if segments.next().is_some() {
        return None;
    }
    URL_SAFE_NO_PAD.decode(signature).ok()
}

/// The raw `R‖S` length an ECDSA algorithm's signature must have (RFC 7518 §3.4).
fn ecdsa_signature_len(alg: &str) -> Option<usize> {
    match alg {
        "ES256" => Some(64),
        "ES384" => Some(96),
        "ES512" => Some(132),
        _ => None,
    }
}

/// The DER `ECDSA-Sig-Value` encoding of a raw `R‖S` signature, the form
/// RFC 7518 §3.4 rules out.
fn der_from_raw(raw: &[u8]) -> Vec<u8> {
    fn integer(bytes: &[u8]) -> Vec<u8> {
        let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
        let mut value = Vec::with_capacity(trimmed.len() + 1);
        if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
            value.push(0);
        }
        value.extend_from_slice(&trimmed);
        let mut out = vec![0x02, u8::try_from(value.len()).unwrap()];
        out.extend_from_slice(&value);
        out
    }
    let (r, s) = raw.split_at(raw.len() / 2);
    let body = [integer(r), integer(s)].concat();
    let mut der = vec![0x30, u8::try_from(body.len()).unwrap()];
    der.extend_from_slice(&body);
    der
}

/// `jws` with its signature replaced by `signature`.
fn with_signature(jws: &str, signature: &[u8]) -> String {
    let signing_input = &jws[..jws.rfind('.').unwrap()];
    format!("{signing_input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// Checks that apply to any vector, whatever its file, tagged with the
/// conformance requirements they test.
fn conformance_checks(
    tally: &mut Tally,
    name: &str,
    case: &Case<'_>,
    key: &Result<Key, String>,
    outcome: &Outcome,
) {
    let token_alg = header_alg(case.jws);

    // conformance: JWT-2 — `alg: none` (in any letter case) never verifies. With
    // a signature present it is refused for its algorithm; with an empty one the
    // token is already malformed (every JWS has a non-empty signature segment).
    let alg_none = token_alg
        .as_deref()
        .is_some_and(|a| a.eq_ignore_ascii_case("none"));
    if alg_none || case.has_flag("AlgIsNone") {
        let empty_signature = case.jws.ends_with('.');
        tally.require(
            if empty_signature {
                !outcome.is_verified()
            } else {
                matches!(outcome, Outcome::Rejected("alg_not_allowed"))
            },
            name,
            "alg none must be refused (alg_not_allowed when a signature is present)",
            outcome,
        );
        return;
    }

    // conformance: JWT-1, JWT-3 — a key serves exactly one algorithm. A token naming
    // another algorithm (an HS256 token "keyed" with the EC public key, RFC 7520
    // Figure 20 under a PS256 key) is refused for its algorithm, never checked
    // with the key under the token's choice of algorithm.
    if let (Some(token_alg), Ok(key)) = (token_alg.as_deref(), key)
        && token_alg != key.alg()
    {
        tally.require(
            matches!(outcome, Outcome::Rejected("alg_not_allowed")),
            name,
            &format!(
                "a {token_alg} token for a key bound to {} must be refused with alg_not_allowed",
                key.alg()
            ),
            outcome,
        );
    }
    // Wycheproof's WrongPrimitive cases whose header names the key's algorithm
    // carry a signature made with another primitive (RS256 for a PS512 key, ...):
    // the one algorithm of the key must not accept it.
    if case.has_flag("WrongPrimitive") {
        tally.require(
            !outcome.is_verified(),
            name,
            "a signature made with another primitive must be refused",
            outcome,
        );
    }

    // conformance: JWK-3 — an ECDSA signature is the raw R‖S of exactly twice the
    // coordinate size; longer, shorter or DER-encoded signatures are refused.
    if let Some(expected) = token_alg.as_deref().and_then(ecdsa_signature_len)
        && let Some(signature) = signature_of(case.jws)
        && signature.len() != expected
    {
        tally.require(
            !outcome.is_verified(),
            name,
            &format!(
                "an ECDSA signature of {} bytes (not {expected}) must be refused",
                signature.len()
            ),
            outcome,
        );
    }
}

// ---------------------------------------------------------------------------
// Wycheproof: json_web_signature_test.json
// ---------------------------------------------------------------------------

/// Why an upstream result is wrong, as a premise the test re-checks on the data.
enum Premise {
    /// The jws is byte-for-byte the jws of this other test case.
    SameTokenAs(u64),
    /// The jws holds characters outside the base64url alphabet and the dots.
    NotBase64url,
    /// The token's `alg` differs from the `alg` of the group's key.
    AlgDiffersFromKey,
}

/// Wycheproof vectors (identical in C2SP/wycheproof `testvectors_v1/`) whose
/// recorded result contradicts RFC 7515/7517 or the file's own other cases. The
/// corrected result is asserted instead, and the premise is re-checked, so the test
/// fails if rampgate's behaviour changes or if the upstream data is fixed.
const CORRECTIONS: [(u64, Expect, Premise, &str); 6] = [
    (
        346,
        Expect::Invalid,
        Premise::AlgDiffersFromKey,
        "Figure20 is a PS384 token for a key whose JWK says alg PS256: the file's own \
         WrongPrimitive cases (tcId 331-340) call exactly this invalid (RFC 7517 §4.4, RFC 8725 §3.1)",
    ),
    (
        350,
        Expect::Invalid,
        Premise::AlgDiffersFromKey,
        "Figure20 is a PS384 token for a key whose JWK says alg PS256: the file's own \
         WrongPrimitive cases (tcId 331-340) call exactly this invalid (RFC 7517 §4.4, RFC 8725 §3.1)",
    ),
    (
        367,
        Expect::Valid,
        Premise::SameTokenAs(357),
        "invalidBase64Padding lost its padding upstream: it is the valid tcId 357 token",
    ),
    (
        370,
        Expect::Valid,
        Premise::SameTokenAs(357),
        "invalidBase64PaddingInPayload lost its padding upstream: it is the valid tcId 357 token",
    ),
    (
        372,
        Expect::Invalid,
        Premise::NotBase64url,
        "InvalidCharacterInsertedInHeader is marked valid but has a '?' in the header: \
         not base64url (RFC 7515 §2, §7.1)",
    ),
    (
        373,
        Expect::Invalid,
        Premise::NotBase64url,
        "InvalidCharacterInsertedInPayload is marked valid but has a '?' in the payload: \
         not base64url (RFC 7515 §2, §7.1)",
    ),
];

#[test]
fn wycheproof_json_web_signature() {
    let path = vectors!("wycheproof/json_web_signature_test.json");
    let doc = load_json(path);
    let groups = test_groups(&doc, path);
    let mut tally = Tally::new("wycheproof json_web_signature_test.json");
    let tokens: HashMap<u64, (&str, Expect)> = groups
        .iter()
        .flat_map(cases)
        .map(|case| (case.id, (case.jws, case.expect)))
        .collect();

    for group in groups {
        let jwk = group
            .get("public")
            .or_else(|| group.get("private"))
            .expect("a test group without a key");
        let key = load_key(jwk);
        for case in cases(group) {
            let name = case.name(tally.source, group);
            let mut expect = case.expect;

            if let Some((_, corrected, premise, why)) =
                CORRECTIONS.iter().find(|(id, ..)| *id == case.id)
            {
                let holds = match premise {
                    Premise::SameTokenAs(other) => {
                        tokens.get(other) == Some(&(case.jws, Expect::Valid))
                    }
                    Premise::NotBase64url => !case
                        .jws
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b)),
                    Premise::AlgDiffersFromKey => {
                        header_alg(case.jws).as_deref() != jwk.get("alg").and_then(Value::as_str)
                    }
                };
                if !holds || case.expect == *corrected {
                    tally.failures.push(format!(
                        "{name}: the correction \"{why}\" no longer applies to the data; remove it"
                    ));
                    continue;
                }
                expect = *corrected;
                tally.corrected += 1;
            }

            if is_json_serialisation(case.jws) {
                // rampgate reads compact JWS only; a JSON serialisation handed over
                // as a token must be refused, never half-read.
                if expect == Expect::Valid {
                    tally.skip("valid JSON serialisation (compact only)");
                    let outcome = verify(&key, case.jws);
                    tally.require(
                        !outcome.is_verified(),
                        &name,
                        "a JSON serialisation must be refused",
                        &outcome,
                    );
                    continue;
                }
            } else if expect == Expect::Valid
                && let Some(why) = unsupported(jwk, case.jws)
            {
                tally.skip(why);
                continue;
            }

            let outcome = verify(&key, case.jws);
            conformance_checks(&mut tally, &name, &case, &key, &outcome);
            tally.record(&name, expect, &outcome);

            if let (Outcome::Verified(_), Some(len)) = (
                &outcome,
                header_alg(case.jws)
                    .as_deref()
                    .and_then(ecdsa_signature_len),
            ) {
                // conformance: JWK-3 — the same valid signature, DER-encoded, is refused.
                let raw = signature_of(case.jws).unwrap();
                assert_eq!(raw.len(), len);
                let der = with_signature(case.jws, &der_from_raw(&raw));
                let der_outcome = verify(&key, &der);
                tally.require(
                    !der_outcome.is_verified(),
                    &format!("{name} (its signature DER-encoded)"),
                    "a DER-encoded ECDSA signature must be refused",
                    &der_outcome,
                );
            }
        }
    }
    tally.finish();
}

// ---------------------------------------------------------------------------
// Wycheproof: json_web_key_test.json (JWS verification with JWK Sets)
// ---------------------------------------------------------------------------

#[tokio::test]
async fn wycheproof_json_web_key() {
    let path = vectors!("wycheproof/json_web_key_test.json");
    let doc = load_json(path);
    let mut tally = Tally::new("wycheproof json_web_key_test.json");

    for group in test_groups(&doc, path) {
        let jwks = group
            .get("public")
            .or_else(|| group.get("private"))
            .expect("a test group without a key set");
        let keys = load_key_set(jwks).await;
        for case in cases(group) {
            let name = case.name(tally.source, group);
            if case.expect == Expect::Valid {
                let entries = jwks["keys"].as_array().unwrap();
                if let Some(why) = entries.iter().find_map(|jwk| unsupported(jwk, case.jws)) {
                    tally.skip(why);
                    continue;
                }
            }
            let key = match &keys {
                Err(reason) => Err(reason.clone()),
                Ok(keys) => match select(keys, case.jws) {
                    Ok(key) => Ok(key.clone()),
                    Err(code) => {
                        let outcome = Outcome::Rejected(code);
                        tally.record(&name, case.expect, &outcome);
                        continue;
                    }
                },
            };
            let outcome = verify(&key, case.jws);
            conformance_checks(&mut tally, &name, &case, &key, &outcome);
            tally.record(&name, case.expect, &outcome);
        }
    }
    tally.finish();
}

// ---------------------------------------------------------------------------
// RFC 7520 §4: JWS examples
// ---------------------------------------------------------------------------

/// The public key file of `rfc7520/jwk/` for a key type, and the members that
/// must match the example's input key.
fn rfc7520_public_key(kty: &str) -> (&'static str, &'static [&'static str]) {
    match kty {
        "RSA" => (
            vectors!("rfc7520/jwk/3_3.rsa_public_key.json"),
            &["n", "e", "kid"],
        ),
        "EC" => (
            vectors!("rfc7520/jwk/3_1.ec_public_key.json"),
            &["crv", "x", "y", "kid"],
        ),
        "oct" => (
            vectors!("rfc7520/jwk/3_5.symmetric_key_mac_computation.json"),
            &["k", "kid"],
        ),
        other => panic!("no RFC 7520 key of type {other}"),
    }
}

#[test]
fn rfc7520_jws_examples() {
    let dir = vectors!("rfc7520/jws");
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("the test vectors {dir} cannot be read ({e})"))
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            path.extension().is_some_and(|e| e == "json")
                && path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("4_"))
        })
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        8,
        "expected the eight JWS examples 4_1 to 4_8 in {dir}"
    );
    let mut tally = Tally::new("rfc7520 jws/4_*.json");

    for file in &files {
        rfc7520_example(&mut tally, file);
    }
    tally.finish();
}

fn rfc7520_example(tally: &mut Tally, file: &Path) {
    let name = format!("rfc7520 {}", file.file_name().unwrap().to_string_lossy());
    let example = load_json(file.to_str().unwrap());
    let input = &example["input"];
    let (Some(alg), Some(input_key)) = (input["alg"].as_str(), input["key"].as_object()) else {
        // §4.8: several signatures with several keys, in the JSON serialisation only.
        assert!(example["output"].get("compact").is_none(), "{name}");
        tally.skip("multiple signatures (JSON serialisation only)");
        return;
    };
    let Some(compact) = example["output"]["compact"].as_str() else {
        // §4.6, §4.7: unprotected header members only exist in the JSON serialisation.
        tally.skip("JSON serialisation only");
        return;
    };
    if !SUPPORTED_ALGS.contains(&alg) {
        tally.skip(format!("alg {alg} unsupported"));
        return;
    }

    // The public key from rfc7520/jwk/, checked against the example's input key and
    // bound to the example's algorithm, as a configuration would bind it.
    let kty = input_key["kty"].as_str().unwrap();
    let (key_path, members) = rfc7520_public_key(kty);
    let mut jwk = load_json(key_path);
    for member in members {
        assert_eq!(
            jwk.get(*member),
            input_key.get(*member),
            "{name}: the key in {key_path} differs from the example's input key in {member}"
        );
    }
    jwk["alg"] = Value::from(alg);
    let key = load_key(&jwk);

    let payload = input["payload"].as_str().unwrap().as_bytes();
    let (head, rest) = compact.split_once('.').unwrap();
    let (encoded_payload, signature) = rest.split_once('.').unwrap();
    let token = if encoded_payload.is_empty() {
        // §4.5 detaches the content: reattach it (RFC 7515 appendix F). As sent, the
        // empty payload is not what was signed, so that token must not verify.
        let detached = verify(&key, compact);
        tally.require(
            !detached.is_verified(),
            &format!("{name} (content still detached)"),
            "a signature over the detached content must not verify an empty payload",
            &detached,
        );
        format!("{head}.{}.{signature}", URL_SAFE_NO_PAD.encode(payload))
    } else {
        compact.to_owned()
    };

    let outcome = verify(&key, &token);
    tally.record(&name, Expect::Valid, &outcome);
    if let Outcome::Verified(verified) = &outcome {
        assert_eq!(
            verified.as_slice(),
            payload,
            "{name}: wrong payload returned"
        );
    }

    // The same example's JSON serialisations must be refused, never half-read.
    for form in ["json", "json_flat"] {
        if let Some(json) = example["output"].get(form) {
            tally.skip("JSON serialisation (compact only)");
            let outcome = verify(&key, &json.to_string());
            tally.require(
                !outcome.is_verified(),
                &format!("{name} ({form})"),
                "a JSON serialisation must be refused",
                &outcome,
            );
        }
    }
}
