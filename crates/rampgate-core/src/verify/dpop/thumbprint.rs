//! The JWK thumbprint of RFC 7638: SHA-256 over the key's required members,
//! in lexicographic order, without whitespace. What a DPoP-bound token's
//! `cnf.jkt` names.

use crate::binding::Thumbprint;
use serde_json::{Map, Value};

/// The required members of each key type (RFC 7638 §3.2), already in
/// lexicographic order. Symmetric keys have no place in DPoP.
fn required_members(kty: &str) -> Option<&'static [&'static str]> {
    match kty {
        "EC" => Some(&["crv", "kty", "x", "y"]),
        "RSA" => Some(&["e", "kty", "n"]),
        "OKP" => Some(&["crv", "kty", "x"]),
        _ => None,
    }
}

/// The RFC 7638 thumbprint of `jwk`, or why there is none.
pub(super) fn of_jwk(jwk: &Map<String, Value>) -> Result<Thumbprint, &'static str> {
    let kty = match jwk.get("kty") {
        Some(Value::String(kty)) => kty.as_str(),
        Some(_) => return Err("kty is not a string"),
        None => return Err("no kty"),
    };
    let members = required_members(kty).ok_or("not an EC, RSA or OKP key")?;
    let mut canonical = Vec::with_capacity(256);
    canonical.push(b'{');
    for (i, name) in members.iter().enumerate() {
        let Some(Value::String(value)) = jwk.get(*name) else {
            return Err("a member the thumbprint covers is missing or not a string");
        };
        if i > 0 {
            canonical.push(b',');
        }
        // Member names need no escaping; values are written as JSON strings
        // (RFC 7638 §3: the JSON serialisation of RFC 7159, no whitespace).
        canonical.push(b'"');
        canonical.extend_from_slice(name.as_bytes());
        canonical.extend_from_slice(b"\":");
        serde_json::to_writer(&mut canonical, value).map_err(|_| "a member is not JSON")?;
    }
    canonical.push(b'}');
    Ok(Thumbprint::sha256(&canonical))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use sha2::{Digest, Sha256};

    fn thumbprint(jwk: Value) -> Result<String, &'static str> {
        let Value::Object(map) = jwk else {
            unreachable!()
        };
        of_jwk(&map).map(|t| t.to_string())
    }

    #[test]
    fn rfc7638_example() {
        // RFC 7638 §3.1, with its optional members, which the thumbprint ignores.
        let jwk = json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn only_the_required_members_count_in_their_order() {
        let a = json!({"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"});
        let b = json!({"x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", "use": "sig", "crv": "Ed25519", "kty": "OKP"});
        assert_eq!(thumbprint(a.clone()), thumbprint(b));
        // The canonical form is {"crv":"Ed25519","kty":"OKP","x":"..."}.
        let canonical =
            br#"{"crv":"Ed25519","kty":"OKP","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;
        let expected = Thumbprint::from_bytes(Sha256::digest(canonical).into());
        assert_eq!(thumbprint(a).unwrap(), expected.to_string());
    }

    #[test]
    fn keys_without_their_members_have_none() {
        assert!(thumbprint(json!({"kty": "EC", "crv": "P-256", "x": "AA"})).is_err());
        assert!(thumbprint(json!({"kty": "oct", "k": "c2VjcmV0"})).is_err());
        assert!(thumbprint(json!({"kty": 1})).is_err());
        assert!(thumbprint(json!({"kty": "RSA", "n": 5, "e": "AQAB"})).is_err());
    }
}
