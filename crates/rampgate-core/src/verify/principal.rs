//! Who a verified token speaks for.

use crate::binding::Confirmation;
use crate::error::{ErrorKind, Result};
use crate::verify::json::parse_strict;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::collections::BTreeSet;
use std::fmt;
use std::sync::{Arc, OnceLock};

/// A set of scopes, normalised from every configured scope claim.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    /// Whether the set holds `scope`.
    pub fn contains(&self, scope: &str) -> bool {
        self.0.contains(scope)
    }

    /// Whether the set holds every one of `scopes`.
    pub fn contains_all<'a>(&self, scopes: impl IntoIterator<Item = &'a str>) -> bool {
        scopes.into_iter().all(|s| self.contains(s))
    }

    /// The scopes in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// How many scopes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there is none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<S: Into<String>> FromIterator<S> for Scopes {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        Scopes(iter.into_iter().map(Into::into).collect())
    }
}

impl fmt::Display for Scopes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(s)?;
            first = false;
        }
        Ok(())
    }
}

/// The verified identity of a request: who (`sub`), through which client
/// (`client_id` or `azp`), with which scopes and authentication strength, plus the
/// full claims for typed extraction.
///
/// Cheap to clone (one reference count). The layer puts it in the request
/// extensions; handlers read it with the axum extractor or from the extensions.
#[derive(Clone)]
pub struct Principal(Arc<Inner>);

struct Inner {
    iss: String,
    sub: Option<String>,
    client_id: Option<String>,
    scopes: Scopes,
    acr: Option<String>,
    amr: Vec<String>,
    auth_time: Option<i64>,
    jti: Option<String>,
    exp: i64,
    /// What the token is bound to (`cnf`), if anything.
    confirmation: Option<Confirmation>,
    claims: Claims,
    /// The start of SHA-256 over the token this principal was verified from,
    /// once someone asked ([`Principal::token_digest_prefix`]).
    digest_prefix: OnceLock<[u8; 6]>,
}

/// Every claim of the token: the verified payload's JSON, parsed into a map
/// on the first call of [`Principal::claims`], or the map a principal was
/// built from. A verified token's map is not kept: few handlers ask for it,
/// and its dozen allocations, held until the audit writer drops the event,
/// were most of what a fresh token cost besides its signature.
enum Claims {
    Map(Map<String, Value>),
    Json {
        payload: Vec<u8>,
        map: OnceLock<Map<String, Value>>,
    },
}

impl Claims {
    fn map(&self) -> &Map<String, Value> {
        match self {
            Claims::Map(map) => map,
            Claims::Json { payload, map } => map.get_or_init(|| match parse_strict(payload) {
                Ok(Value::Object(map)) => map,
                // The verifier parsed these very bytes into an object.
                _ => {
                    debug_assert!(false, "a verified payload no longer parses");
                    Map::new()
                }
            }),
        }
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("iss", &self.0.iss)
            .field("sub", &self.0.sub)
            .field("client_id", &self.0.client_id)
            .field("scopes", &self.0.scopes)
            .field("acr", &self.0.acr)
            .field("jti", &self.0.jti)
            .finish_non_exhaustive()
    }
}

/// The first 6 bytes of SHA-256 over `token`: the audit trail's token
/// fingerprint (`TokenFingerprint`), computed here once for both its paths.
pub(crate) fn digest_prefix(token: &str) -> [u8; 6] {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(token.as_bytes());
    let mut prefix = [0u8; 6];
    prefix.copy_from_slice(&digest[..6]);
    prefix
}

impl Principal {
    /// The first 6 bytes of SHA-256 over `token`, which must be the token
    /// this principal was verified from, computed once per principal.
    ///
    /// The verified-token cache hands out the same principal only for the
    /// byte-identical token, so the audit trail's token fingerprint costs one
    /// hash per cached token, not one per request.
    pub(crate) fn token_digest_prefix(&self, token: &str) -> [u8; 6] {
        *self.0.digest_prefix.get_or_init(|| digest_prefix(token))
    }

    /// Builds a principal from verified claims. `scope_claims` are the dotted
    /// paths scopes are read from. `payload`, the JSON `claims` were parsed
    /// from, is kept instead of them when given (see [`Claims`]).
    pub(crate) fn from_claims(
        claims: Map<String, Value>,
        payload: Option<Vec<u8>>,
        scope_claims: &[Vec<String>],
    ) -> Result<Self> {
        let iss = opt_str(&claims, "iss")?.unwrap_or_default();
        let sub = opt_str(&claims, "sub")?;
        let client_id = match opt_str(&claims, "client_id")? {
            Some(id) => Some(id),
            None => opt_str(&claims, "azp")?,
        };
        let mut scopes = BTreeSet::new();
        for path in scope_claims {
            let mut value = claims.get(path[0].as_str());
            for segment in &path[1..] {
                value = value.and_then(|v| v.get(segment.as_str()));
            }
            match value {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => add_scopes(&mut scopes, s),
                Some(Value::Array(items)) => {
                    for item in items {
                        let s = item.as_str().ok_or_else(|| scope_invalid(path))?;
                        add_scopes(&mut scopes, s);
                    }
                }
                Some(_) => {
                    return Err(scope_invalid(path).into());
                }
            }
        }
        let amr = match claims.get("amr") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| v.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(amr_invalid)?,
            Some(_) => return Err(amr_invalid().into()),
        };
        let auth_time = match claims.get("auth_time") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_f64()
                    .filter(|f| f.is_finite())
                    .ok_or_else(auth_time_invalid)? as i64,
            ),
            Some(_) => return Err(auth_time_invalid().into()),
        };
        let exp = claims
            .get("exp")
            .and_then(Value::as_f64)
            .unwrap_or_default() as i64;
        let confirmation = Confirmation::from_claims(&claims)?;
        Ok(Principal(Arc::new(Inner {
            iss,
            sub,
            client_id,
            scopes: Scopes(scopes),
            acr: opt_str(&claims, "acr")?,
            amr,
            auth_time,
            jti: opt_str(&claims, "jti")?,
            exp,
            confirmation,
            claims: match payload {
                Some(payload) => Claims::Json {
                    payload,
                    map: OnceLock::new(),
                },
                None => Claims::Map(claims),
            },
            digest_prefix: OnceLock::new(),
        })))
    }

    /// A principal with these claims, as if a token carrying them had been
    /// verified for the issuer `iss`: for your own tests of handlers and
    /// services that read a `Principal`, without keys or tokens.
    ///
    /// The claims go through the same parsing as a verified token's, with the
    /// default scope claims (`scope` and `scp`), so a claim of the wrong type
    /// fails the same way (`claim_invalid`). `iss` replaces any `iss` in
    /// `claims`. Nothing is verified: never build one from request data.
    ///
    /// ```
    /// use rampgate_core::Principal;
    /// use serde_json::json;
    ///
    /// let alice = Principal::for_tests(
    ///     "https://issuer.example",
    ///     json!({"sub": "alice", "client_id": "web", "scope": "orders:read orders:write"}),
    /// )
    /// .unwrap();
    /// assert_eq!(alice.sub(), Some("alice"));
    /// assert!(alice.has_scope("orders:write"));
    ///
    /// // What a handler would find behind JwtLayer:
    /// let mut request = http::Request::new(());
    /// request.extensions_mut().insert(alice);
    ///
    /// // Claims of the wrong type are refused, as in a token.
    /// let err = Principal::for_tests("https://issuer.example", json!({"scope": 5})).unwrap_err();
    /// assert_eq!(err.code(), "claim_invalid");
    /// ```
    pub fn for_tests(iss: &str, claims: Value) -> Result<Principal> {
        let Value::Object(mut claims) = claims else {
            return Err(ErrorKind::ClaimInvalid {
                claim: "claims".into(),
                expected: "a JSON object",
            }
            .into());
        };
        claims.insert("iss".into(), Value::String(iss.to_owned()));
        // The verifier's own default, so that tests read scopes as production does.
        let policy = crate::ValidationPolicy::default().compile()?;
        Principal::from_claims(claims, None, &policy.scope_claims)
    }

    /// What the token is bound to (its `cnf` claim, RFC 7800): a DPoP key
    /// (`jkt`) or a client certificate (`x5t#S256`). A principal the verifier
    /// hands out with a confirmation was presented with its proof: the DPoP
    /// proof's key or the connection's certificate matched.
    pub fn confirmation(&self) -> Option<&Confirmation> {
        self.0.confirmation.as_ref()
    }

    /// Whether the token is sender-constrained (bound to a key or a
    /// certificate the request proved it holds), not a bearer token.
    pub fn is_sender_constrained(&self) -> bool {
        self.0.confirmation.is_some()
    }

    /// The issuer (`iss`), exactly as configured.
    pub fn iss(&self) -> &str {
        &self.0.iss
    }

    /// The subject (`sub`): the end user, or the client for client-credentials tokens.
    pub fn sub(&self) -> Option<&str> {
        self.0.sub.as_deref()
    }

    /// The OAuth client the token was issued to (`client_id`, or `azp` when absent).
    pub fn client_id(&self) -> Option<&str> {
        self.0.client_id.as_deref()
    }

    /// The scopes, normalised from every configured scope claim.
    pub fn scopes(&self) -> &Scopes {
        &self.0.scopes
    }

    /// Shorthand for `self.scopes().contains(scope)`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0.scopes.contains(scope)
    }

    /// The authentication context class (`acr`).
    pub fn acr(&self) -> Option<&str> {
        self.0.acr.as_deref()
    }

    /// The authentication methods (`amr`).
    pub fn amr(&self) -> &[String] {
        &self.0.amr
    }

    /// When the user authenticated (`auth_time`, seconds since the epoch).
    pub fn auth_time(&self) -> Option<i64> {
        self.0.auth_time
    }

    /// The token id (`jti`).
    pub fn jti(&self) -> Option<&str> {
        self.0.jti.as_deref()
    }

    /// The expiry (`exp`, seconds since the epoch).
    pub fn exp(&self) -> i64 {
        self.0.exp
    }

    /// Every claim of the token, as JSON.
    pub fn claims(&self) -> &Map<String, Value> {
        self.0.claims.map()
    }

    /// Deserialises the claims into the caller's own type.
    ///
    /// ```
    /// # fn demo(principal: &rampgate_core::Principal) -> Result<(), serde_json::Error> {
    /// #[derive(serde::Deserialize)]
    /// struct MyClaims { tenant: String }
    /// let mine: MyClaims = principal.claims_as()?;
    /// # Ok(()) }
    /// ```
    pub fn claims_as<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        match &self.0.claims {
            Claims::Json { payload, .. } => serde_json::from_slice(payload),
            Claims::Map(map) => T::deserialize(&Value::Object(map.clone())),
        }
    }
}

/// Adds the scopes of a space-delimited string (RFC 6749 §3.3).
fn add_scopes(scopes: &mut BTreeSet<String>, delimited: &str) {
    scopes.extend(
        delimited
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
    );
}

fn opt_str(claims: &Map<String, Value>, name: &'static str) -> Result<Option<String>> {
    match claims.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ErrorKind::ClaimInvalid {
            claim: name.into(),
            expected: "a string",
        }
        .into()),
    }
}

/// A scope claim (named by its dotted path) of the wrong shape.
fn scope_invalid(path: &[String]) -> ErrorKind {
    ErrorKind::ClaimInvalid {
        claim: path.join(".").into(),
        expected: "a space-delimited string or an array of strings",
    }
}

fn amr_invalid() -> ErrorKind {
    ErrorKind::ClaimInvalid {
        claim: "amr".into(),
        expected: "an array of strings",
    }
}

fn auth_time_invalid() -> ErrorKind {
    ErrorKind::ClaimInvalid {
        claim: "auth_time".into(),
        expected: "a NumericDate (a finite JSON number)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn principal(claims: Value, paths: &[&str]) -> Result<Principal> {
        let paths: Vec<Vec<String>> = paths
            .iter()
            .map(|p| p.split('.').map(str::to_owned).collect())
            .collect();
        let Value::Object(map) = claims else { panic!() };
        Principal::from_claims(map, None, &paths)
    }

    #[test]
    fn scopes_are_normalised_from_every_claim() {
        let p = principal(
            json!({"scope": "a b  c", "scp": ["d", "a"], "permissions": ["e"],
                   "realm_access": {"roles": ["f"]}}),
            &["scope", "scp", "permissions", "realm_access.roles"],
        )
        .unwrap();
        assert_eq!(
            p.scopes().iter().collect::<Vec<_>>(),
            ["a", "b", "c", "d", "e", "f"]
        );
        assert_eq!(p.scopes().to_string(), "a b c d e f");
    }

    #[test]
    fn client_id_falls_back_to_azp() {
        let p = principal(json!({"azp": "web"}), &[]).unwrap();
        assert_eq!(p.client_id(), Some("web"));
        let p = principal(json!({"azp": "web", "client_id": "cli"}), &[]).unwrap();
        assert_eq!(p.client_id(), Some("cli"));
    }

    #[test]
    fn wrong_claim_types_are_refused() {
        for claims in [
            json!({"scope": 5}),
            json!({"scp": [1]}),
            json!({"sub": 1}),
            json!({"amr": "mfa"}),
            json!({"auth_time": "now"}),
        ] {
            let err = principal(claims.clone(), &["scope", "scp"]).unwrap_err();
            assert_eq!(err.code(), "claim_invalid", "{claims}");
        }
    }

    #[test]
    fn test_constructor_parses_like_verification() {
        let p = Principal::for_tests(
            "https://i.example",
            json!({"iss": "ignored", "sub": "alice", "scp": ["a"], "scope": "b c",
                   "azp": "web", "amr": ["mfa"], "auth_time": 10, "exp": 20}),
        )
        .unwrap();
        assert_eq!(p.iss(), "https://i.example");
        assert_eq!(p.claims()["iss"], "https://i.example");
        assert_eq!(p.client_id(), Some("web"));
        assert_eq!(p.scopes().to_string(), "a b c");
        assert_eq!(p.amr(), ["mfa"]);
        assert_eq!((p.auth_time(), p.exp()), (Some(10), 20));
        // Only the default scope claims count, as for a verified token.
        let p = Principal::for_tests("i", json!({"permissions": ["x"]})).unwrap();
        assert!(p.scopes().is_empty());
        for bad in [json!({"sub": 1}), json!({"amr": "mfa"}), json!("sub")] {
            let err = Principal::for_tests("i", bad.clone()).unwrap_err();
            assert_eq!(err.code(), "claim_invalid", "{bad}");
        }
    }

    #[test]
    fn typed_claims() {
        #[derive(serde::Deserialize)]
        struct Mine {
            tenant: String,
        }
        let p = principal(json!({"tenant": "acme"}), &[]).unwrap();
        assert_eq!(p.claims_as::<Mine>().unwrap().tenant, "acme");
    }
}
