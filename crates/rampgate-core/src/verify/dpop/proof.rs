//! One DPoP proof read and its signature checked: RFC 9449 §4.3 checks 2 to
//! 7, which need nothing of the request. A proof is a compact JWS with
//! strict base64url and duplicate-free JSON, as an access token is
//! ([`parse_jws`]); then its claims, `typ`, `alg`, `jwk` and signature.
//!
//! The `jwk` is refused for a private part before its signature is checked
//! (§4.3 has them the other way round): a client that sends its private key
//! is broken whether its signature verifies or not, and nothing is verified
//! with a key that should never have left it.

use crate::alg::Algorithm;
use crate::binding::{DpopFailure, Thumbprint};
use crate::error::{Error, ErrorKind};
use crate::json::parse_strict;
use crate::key::Key;
use crate::token::parse_jws;
use serde_json::{Map, Value};

use super::thumbprint;

/// The longest proof read, in bytes: an RSA-4096 key's `jwk` is about 700.
pub(super) const MAX_PROOF_BYTES: usize = 8192;

/// The longest `jti` accepted, in bytes (RFC 9449 §4.2 asks for at least 96
/// bits of randomness: 16 to 36 characters in practice).
pub(super) const MAX_JTI_BYTES: usize = 256;

/// JWK members that only a private or symmetric key has (RFC 7518 §6.2.2,
/// §6.3.2, §6.4.1; RFC 8037 §2): none may be in a proof's `jwk` (§4.3 check 7).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A proof whose signature verified with the key of its `jwk`; nothing of it
/// is compared with the request yet.
#[derive(Debug)]
pub(super) struct SignedProof {
    /// The RFC 7638 thumbprint of the proof's key.
    pub(super) key: Thumbprint,
    pub(super) claims: Claims,
}

/// The claims a proof must have (§4.2), and its `nonce` if it has one.
#[derive(Debug)]
pub(super) struct Claims {
    pub(super) jti: String,
    pub(super) htm: String,
    pub(super) htu: String,
    pub(super) iat: f64,
    pub(super) ath: String,
    pub(super) nonce: Option<String>,
}

/// Reads `proof` and checks its signature with its own `jwk`, for one of
/// `algs` (asymmetric algorithms only: the options saw to that).
pub(super) fn read(proof: &str, algs: &[Algorithm]) -> Result<SignedProof, DpopFailure> {
    let jws = parse_jws(proof, MAX_PROOF_BYTES).map_err(jws_failure)?;
    let claims = claims(&jws.payload)?;
    if !jws.header.typ.as_deref().is_some_and(is_dpop_typ) {
        return Err(DpopFailure::Typ);
    }
    if jws.alg.is_hmac() || !algs.contains(&jws.alg) {
        return Err(DpopFailure::Alg);
    }
    let jwk = public_jwk(jws.header.jwk.as_ref())?;
    let key = Key::from_jwk_map_for(jwk, jws.alg).map_err(|detail| {
        tracing::debug!(%detail, alg = %jws.alg, "DPoP proof jwk refused");
        DpopFailure::Jwk("not a public key the header's alg can verify with")
    })?;
    if !key.verify(jws.signing_input, &jws.signature) {
        return Err(DpopFailure::Signature);
    }
    let key = thumbprint::of_jwk(jwk).map_err(DpopFailure::Jwk)?;
    Ok(SignedProof { key, claims })
}

/// What a refusal of the JWS parser means for a proof.
fn jws_failure(error: Error) -> DpopFailure {
    match error.into_kind() {
        ErrorKind::TokenMalformed(why) => DpopFailure::Malformed(why),
        ErrorKind::TokenTooLarge { .. } => DpopFailure::Malformed("longer than 8192 bytes"),
        ErrorKind::AlgNotAllowed(_) => DpopFailure::Alg,
        ErrorKind::CritUnsupported => {
            DpopFailure::Malformed("crit names an extension this server does not implement")
        }
        ErrorKind::NestedTokenUnsupported => DpopFailure::Malformed("cty says it nests a JWT"),
        _ => DpopFailure::Malformed("not a compact JWS"),
    }
}

/// `dpop+jwt`, compared as media types are (RFC 7515 §4.1.9: without case,
/// and with or without `application/`).
fn is_dpop_typ(typ: &str) -> bool {
    let subtype = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    subtype.eq_ignore_ascii_case("dpop+jwt")
}

/// The header's `jwk`, if it is a public key's.
fn public_jwk(jwk: Option<&Value>) -> Result<&Map<String, Value>, DpopFailure> {
    let jwk = match jwk {
        Some(Value::Object(jwk)) => jwk,
        Some(_) => return Err(DpopFailure::Jwk("not a JSON object")),
        None => return Err(DpopFailure::Jwk("the header has no jwk")),
    };
    if PRIVATE_MEMBERS
        .iter()
        .any(|member| jwk.contains_key(*member))
    {
        return Err(DpopFailure::Jwk(
            "it holds a private key: send the public key only",
        ));
    }
    if jwk.get("kty").and_then(Value::as_str) == Some("oct") {
        return Err(DpopFailure::Jwk(
            "a symmetric key (oct) never signs a proof",
        ));
    }
    Ok(jwk)
}

/// The claims of the payload, each of the right type.
fn claims(payload: &[u8]) -> Result<Claims, DpopFailure> {
    let Ok(Value::Object(mut claims)) = parse_strict(payload) else {
        return Err(DpopFailure::Malformed(
            "the claims are not a JSON object (or repeat a member name)",
        ));
    };
    let mut string =
        |name: &str, missing: &'static str, wrong: &'static str| match claims.remove(name) {
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(DpopFailure::Malformed(wrong)),
            None if missing.is_empty() => Ok(None),
            None => Err(DpopFailure::Malformed(missing)),
        };
    let required = |value: Option<String>| value.unwrap_or_default();
    let jti = required(string("jti", "no jti claim", "jti is not a string")?);
    let htm = required(string("htm", "no htm claim", "htm is not a string")?);
    let htu = required(string("htu", "no htu claim", "htu is not a string")?);
    // RFC 9449 §4.2: required when the proof goes with an access token, as
    // at a resource server it always does.
    let ath = required(string(
        "ath",
        "no ath claim (the access token's hash)",
        "ath is not a string",
    )?);
    let nonce = string("nonce", "", "nonce is not a string")?;
    let iat = match claims.get("iat") {
        Some(Value::Number(iat)) => iat
            .as_f64()
            .ok_or(DpopFailure::Malformed("iat is not a number"))?,
        Some(_) => return Err(DpopFailure::Malformed("iat is not a number")),
        None => return Err(DpopFailure::Malformed("no iat claim")),
    };
    if jti.is_empty() {
        return Err(DpopFailure::Malformed("jti is empty"));
    }
    if jti.len() > MAX_JTI_BYTES {
        return Err(DpopFailure::Malformed("jti is longer than 256 bytes"));
    }
    Ok(Claims {
        jti,
        htm,
        htu,
        iat,
        ath,
        nonce,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    fn enc(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn unsigned(header: &Value, claims: &Value) -> String {
        format!("{}.{}.c2ln", enc(header), enc(claims))
    }

    fn claims_ok() -> Value {
        json!({"jti": "j", "htm": "GET", "htu": "https://a.example/", "iat": 1, "ath": "x"})
    }

    fn header(typ: &str, alg: &str, jwk: Value) -> Value {
        json!({"typ": typ, "alg": alg, "jwk": jwk})
    }

    fn ed_jwk() -> Value {
        json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})
    }

    fn failure(proof: &str) -> DpopFailure {
        read(proof, &Algorithm::ASYMMETRIC).unwrap_err()
    }

    #[test]
    fn limits_agree_with_their_messages() {
        assert!(matches!(failure(&"a".repeat(MAX_PROOF_BYTES + 1)),
            DpopFailure::Malformed(why) if why.contains(&MAX_PROOF_BYTES.to_string())));
        let long = claims_ok().as_object().unwrap().clone();
        let mut long = Value::Object(long);
        long["jti"] = json!("j".repeat(MAX_JTI_BYTES + 1));
        let proof = unsigned(&header("dpop+jwt", "EdDSA", ed_jwk()), &long);
        assert!(matches!(failure(&proof),
            DpopFailure::Malformed(why) if why.contains(&MAX_JTI_BYTES.to_string())));
    }

    #[test]
    fn a_proof_is_one_compact_jws_with_the_required_claims() {
        // conformance: 9449-1
        let h = header("dpop+jwt", "EdDSA", ed_jwk());
        assert!(matches!(failure("not a jws"), DpopFailure::Malformed(_)));
        assert!(matches!(failure("a.b.c.d.e"), DpopFailure::Malformed(_)));
        for missing in ["jti", "htm", "htu", "iat", "ath"] {
            let mut c = claims_ok();
            c.as_object_mut().unwrap().remove(missing);
            let why = match failure(&unsigned(&h, &c)) {
                DpopFailure::Malformed(why) => why,
                other => panic!("{missing}: {other:?}"),
            };
            assert!(why.contains(missing), "{missing}: {why}");
        }
        for (name, wrong) in [
            ("jti", json!(1)),
            ("htm", json!(null)),
            ("htu", json!([])),
            ("iat", json!("1")),
            ("ath", json!(1)),
            ("nonce", json!(2)),
            ("jti", json!("")),
        ] {
            let mut c = claims_ok();
            c[name] = wrong;
            assert!(
                matches!(failure(&unsigned(&h, &c)), DpopFailure::Malformed(_)),
                "{name}"
            );
        }
        // Duplicate members, in the header or the claims.
        let dup = format!(
            "{}.{}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"typ":"dpop+jwt","alg":"EdDSA","alg":"ES256"}"#),
            enc(&claims_ok())
        );
        assert!(matches!(failure(&dup), DpopFailure::Malformed(_)));
        let dup = format!(
            "{}.{}.c2ln",
            enc(&h),
            URL_SAFE_NO_PAD
                .encode(r#"{"jti":"a","jti":"b","htm":"GET","htu":"h","iat":1,"ath":"x"}"#)
        );
        assert!(matches!(failure(&dup), DpopFailure::Malformed(_)));
        // Padding is not strict base64url.
        let padded = format!("{}=.{}.c2ln", enc(&h), enc(&claims_ok()));
        assert!(matches!(failure(&padded), DpopFailure::Malformed(_)));
    }

    #[test]
    fn typ_must_be_dpop_jwt() {
        // conformance: 9449-2
        for typ in [
            "JWT",
            "at+jwt",
            "dpop",
            "application/jwt",
            "xapplication/dpop+jwt",
            "",
        ] {
            let proof = unsigned(&header(typ, "EdDSA", ed_jwk()), &claims_ok());
            assert_eq!(failure(&proof), DpopFailure::Typ, "{typ}");
        }
        let no_typ = unsigned(&json!({"alg": "EdDSA", "jwk": ed_jwk()}), &claims_ok());
        assert_eq!(failure(&no_typ), DpopFailure::Typ);
        // Media types are compared without case, with or without application/:
        // these pass typ and fail later, on the made-up signature.
        for typ in [
            "dpop+jwt",
            "DPoP+JWT",
            "application/dpop+jwt",
            "Application/DPOP+jwt",
        ] {
            assert!(is_dpop_typ(typ), "{typ}");
            let proof = unsigned(&header(typ, "EdDSA", ed_jwk()), &claims_ok());
            assert_eq!(failure(&proof), DpopFailure::Signature, "{typ}");
        }
    }

    #[test]
    fn alg_must_be_an_allowed_asymmetric_one() {
        // conformance: 9449-3
        for alg in ["none", "HS256", "HS512", "RS1", "es256"] {
            let proof = unsigned(&header("dpop+jwt", alg, ed_jwk()), &claims_ok());
            assert_eq!(failure(&proof), DpopFailure::Alg, "{alg}");
        }
        let proof = unsigned(&header("dpop+jwt", "EdDSA", ed_jwk()), &claims_ok());
        assert_eq!(
            read(&proof, &[Algorithm::ES256]).unwrap_err(),
            DpopFailure::Alg
        );
        // An HMAC algorithm never passes, even if a caller listed it.
        let proof = unsigned(
            &header("dpop+jwt", "HS256", json!({"kty": "oct"})),
            &claims_ok(),
        );
        assert_eq!(
            read(&proof, &[Algorithm::HS256]).unwrap_err(),
            DpopFailure::Alg
        );
    }

    #[test]
    fn jwk_must_be_a_public_key_for_the_alg() {
        // conformance: 9449-4
        let jwk_failure = |jwk: Value, alg: &str| match failure(&unsigned(
            &header("dpop+jwt", alg, jwk),
            &claims_ok(),
        )) {
            DpopFailure::Jwk(why) => why,
            other => panic!("{other:?}"),
        };
        let no_jwk = unsigned(&json!({"typ": "dpop+jwt", "alg": "EdDSA"}), &claims_ok());
        assert!(matches!(failure(&no_jwk), DpopFailure::Jwk(_)));
        assert_eq!(jwk_failure(json!("a key"), "EdDSA"), "not a JSON object");
        for private in PRIVATE_MEMBERS {
            let mut jwk = ed_jwk();
            jwk[private] = json!("AAAA");
            assert!(jwk_failure(jwk, "EdDSA").contains("private"), "{private}");
        }
        assert!(jwk_failure(json!({"kty": "oct"}), "ES256").contains("symmetric"));
        // A key of another type than the alg's, or a declared alg of its own
        // that is not the header's.
        assert!(jwk_failure(ed_jwk(), "ES256").contains("alg"));
        let mut own = ed_jwk();
        own["alg"] = json!("ES256");
        assert!(jwk_failure(own, "EdDSA").contains("alg"));
        // A small-order Ed25519 key (every signature forgeable) is refused too.
        let weak = json!({"kty": "OKP", "crv": "Ed25519", "x": "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"});
        assert!(matches!(
            failure(&unsigned(&header("dpop+jwt", "EdDSA", weak), &claims_ok())),
            DpopFailure::Jwk(_)
        ));
    }

    #[test]
    fn parser_refusals_become_proof_failures() {
        let crit = unsigned(
            &json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ed_jwk(), "crit": ["x"]}),
            &claims_ok(),
        );
        assert!(matches!(failure(&crit), DpopFailure::Malformed(why) if why.contains("crit")));
        let nested = unsigned(
            &json!({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": ed_jwk(), "cty": "JWT"}),
            &claims_ok(),
        );
        assert!(matches!(failure(&nested), DpopFailure::Malformed(why) if why.contains("cty")));
    }
}
