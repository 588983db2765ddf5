//! The key set of an issuer and the parsing of JWK Set documents (RFC 7517 §5).

use crate::alg::Algorithm;
use crate::error::{Error, ErrorKind, Result};
use crate::json::parse_strict;
use crate::key::Key;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// A JWK that was left out of a key set, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SkippedKey {
    /// The JWK's `kid`, if it had a readable one.
    pub kid: Option<String>,
    /// Why it was skipped.
    pub reason: String,
}

/// The keys of one issuer, decoded once when loaded and looked up by `kid`.
///
/// ```
/// use rampgate_core::KeySet;
///
/// let jwks = r#"{"keys":[
///   {"kty":"OKP","crv":"Ed25519","kid":"a","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
///   {"kty":"RSA","kid":"weak","n":"AQAB","e":"AQAB"}
/// ]}"#;
/// let (set, skipped) = KeySet::from_jwks_json(jwks.as_bytes()).unwrap();
/// assert_eq!(set.kids(), vec!["a"]);
/// assert_eq!(skipped[0].kid.as_deref(), Some("weak"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct KeySet {
    by_kid: foldhash::HashMap<String, Arc<Key>>,
    all: Vec<Arc<Key>>,
}

impl KeySet {
    /// A key set holding `keys`. Keys sharing a `kid` are refused.
    pub fn from_keys(keys: impl IntoIterator<Item = Key>) -> Result<KeySet> {
        let mut set = KeySet::default();
        for key in keys {
            set.insert(key).map_err(Error::config)?;
        }
        Ok(set)
    }

    fn insert(&mut self, key: Key) -> Result<(), String> {
        let key = Arc::new(key);
        if let Some(kid) = key.kid()
            && self.by_kid.insert(kid.to_owned(), key.clone()).is_some()
        {
            return Err(format!("two keys share the kid {kid:?}"));
        }
        self.all.push(key);
        Ok(())
    }

    /// Parses a JWK Set document (`{"keys":[...]}`).
    ///
    /// Entries that cannot be used (unknown `kty`, `use` other than `sig`, weak or
    /// malformed keys, symmetric keys) are skipped and returned with their reason;
    /// keys that share a `kid` are all skipped, since the token could not say which
    /// one it means. The document itself must be a JSON object with a `keys` array.
    pub fn from_jwks_json(bytes: &[u8]) -> Result<(KeySet, Vec<SkippedKey>)> {
        // The document's shape is checked as a whole (one `keys` array, never two);
        // each entry is then parsed strictly on its own, so one malformed entry
        // (a repeated member, say) is skipped instead of spoiling the set.
        #[derive(serde::Deserialize)]
        struct Document<'a> {
            #[serde(borrow)]
            keys: Vec<&'a serde_json::value::RawValue>,
        }
        if bytes.trim_ascii_start().first() != Some(&b'{') {
            return Err(Error::jwks("the JWKS is not a JSON object"));
        }
        let doc: Document<'_> = match serde_json::from_slice(bytes) {
            Ok(doc) => doc,
            Err(e) if e.is_data() => {
                return Err(
                    Error::jwks("the JWKS has no \"keys\" array (or it is repeated)").caused_by(e),
                );
            }
            Err(e) => {
                return Err(Error::jwks(format!("the JWKS is not valid JSON: {e}")).caused_by(e));
            }
        };
        let entries: Vec<Result<Value, String>> = doc
            .keys
            .iter()
            .map(|raw| {
                parse_strict(raw.get().as_bytes())
                    .map_err(|e| format!("entry is not valid JSON: {e}"))
            })
            .collect();
        let mut skipped = Vec::new();
        let mut keys: Vec<Key> = Vec::with_capacity(entries.len());
        for entry in &entries {
            let jwk = match entry {
                Ok(Value::Object(jwk)) => jwk,
                Ok(_) => {
                    skipped.push(SkippedKey {
                        kid: None,
                        reason: "entry is not a JSON object".into(),
                    });
                    continue;
                }
                Err(reason) => {
                    skipped.push(SkippedKey {
                        kid: None,
                        reason: reason.clone(),
                    });
                    continue;
                }
            };
            match Key::from_jwk_map(jwk) {
                Ok(key) => keys.push(key),
                Err(reason) => skipped.push(SkippedKey {
                    kid: jwk.get("kid").and_then(Value::as_str).map(str::to_owned),
                    reason,
                }),
            }
        }
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for kid in keys.iter().filter_map(Key::kid) {
            *counts.entry(kid).or_default() += 1;
        }
        let duplicated: Vec<String> = counts
            .into_iter()
            .filter(|(_, n)| *n > 1)
            .map(|(kid, _)| kid.to_owned())
            .collect();
        let mut set = KeySet::default();
        for key in keys {
            if key.kid().is_some_and(|k| duplicated.iter().any(|d| d == k)) {
                skipped.push(SkippedKey {
                    kid: key.kid().map(str::to_owned),
                    reason: "several keys share this kid".into(),
                });
                continue;
            }
            // Cannot fail: duplicated kids were taken out above.
            let _ = set.insert(key);
        }
        Ok((set, skipped))
    }

    /// The key ids in the set, sorted.
    pub fn kids(&self) -> Vec<&str> {
        let mut kids: Vec<&str> = self.by_kid.keys().map(String::as_str).collect();
        kids.sort_unstable();
        kids
    }

    /// How many keys the set holds.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether the set holds no key.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    pub(crate) fn has_symmetric(&self) -> bool {
        self.all.iter().any(|k| k.is_symmetric())
    }

    /// The distinct algorithms of the keys.
    pub(crate) fn algorithms(&self) -> Vec<Algorithm> {
        let mut algs: Vec<Algorithm> = Vec::new();
        for key in &self.all {
            if !algs.contains(&key.algorithm()) {
                algs.push(key.algorithm());
            }
        }
        algs
    }

    pub(crate) fn has_asymmetric(&self) -> bool {
        self.all.iter().any(|k| !k.is_symmetric())
    }

    /// Picks the one key a token may be verified with. With a `kid`, the key with
    /// exactly that id (case-sensitive); without one, the only key of the token's
    /// algorithm. Keys are never tried one after another.
    pub(crate) fn select(&self, kid: Option<&str>, alg: Algorithm) -> Result<&Arc<Key>> {
        let key = match kid {
            Some(kid) => self.by_kid.get(kid).ok_or(ErrorKind::KidUnknown)?,
            None => {
                let mut candidates = self.all.iter().filter(|k| k.algorithm() == alg);
                match (candidates.next(), candidates.next()) {
                    (Some(only), None) => only,
                    (Some(_), Some(_)) => return Err(ErrorKind::KidMissing.into()),
                    (None, _) => return Err(ErrorKind::KidUnknown.into()),
                }
            }
        };
        if key.algorithm() != alg {
            return Err(
                ErrorKind::AlgNotAllowed("the key for this kid serves another algorithm").into(),
            );
        }
        Ok(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    #[test]
    fn bad_entry_does_not_spoil_the_set() {
        // conformance: JWK-9
        let doc = format!(
            r#"{{"keys":[{{"kty":"bogus"}}, 7, {{"kty":"OKP","crv":"Ed25519","kid":"good","x":"{ED_X}","extra":true}}]}}"#
        );
        let (set, skipped) = KeySet::from_jwks_json(doc.as_bytes()).unwrap();
        assert_eq!(set.kids(), vec!["good"]);
        assert_eq!(skipped.len(), 2);
    }

    #[test]
    fn one_malformed_entry_is_skipped_alone() {
        // conformance: JWK-9
        let doc = format!(
            r#"{{"keys":[{{"kty":"OKP","kid":"a","kid":"b","crv":"Ed25519","x":"{ED_X}"}},{{"kty":"OKP","crv":"Ed25519","kid":"good","x":"{ED_X}"}}]}}"#
        );
        let (set, skipped) = KeySet::from_jwks_json(doc.as_bytes()).unwrap();
        assert_eq!(set.kids(), vec!["good"]);
        assert!(skipped[0].reason.contains("duplicate"), "{skipped:?}");
        // The document's own shape is still strict.
        assert!(KeySet::from_jwks_json(br#"[[{"kty":"OKP"}]]"#).is_err());
    }

    #[test]
    fn duplicate_kids_are_all_skipped() {
        let doc = format!(
            r#"{{"keys":[{{"kty":"OKP","crv":"Ed25519","kid":"d","x":"{ED_X}"}},{{"kty":"OKP","crv":"Ed25519","kid":"d","x":"{ED_X}"}}]}}"#
        );
        let (set, skipped) = KeySet::from_jwks_json(doc.as_bytes()).unwrap();
        assert!(set.is_empty());
        assert_eq!(skipped.len(), 2);
    }

    #[test]
    fn malformed_documents_are_errors() {
        for doc in [
            "[]",
            "{}",
            r#"{"keys":{}}"#,
            "nope",
            r#"{"keys":[],"keys":[]}"#,
        ] {
            let err = KeySet::from_jwks_json(doc.as_bytes()).unwrap_err();
            assert_eq!(err.code(), "jwks_error", "{doc}");
        }
    }

    #[test]
    fn kid_lookup_is_exact_and_alg_bound() {
        let jwk = format!(r#"{{"kty":"OKP","crv":"Ed25519","kid":"Key1","x":"{ED_X}"}}"#);
        let set = KeySet::from_keys([Key::from_jwk_json(&jwk).unwrap()]).unwrap();
        assert!(set.select(Some("Key1"), Algorithm::EdDSA).is_ok());
        // conformance: JWK-8
        assert_eq!(
            set.select(Some("key1"), Algorithm::EdDSA)
                .unwrap_err()
                .code(),
            "kid_unknown"
        );
        // conformance: JWT-3 (a key serves exactly one algorithm)
        assert_eq!(
            set.select(Some("Key1"), Algorithm::ES256)
                .unwrap_err()
                .code(),
            "alg_not_allowed"
        );
        // Without kid, the only key of the algorithm is used.
        assert!(set.select(None, Algorithm::EdDSA).is_ok());
    }

    #[test]
    fn no_kid_with_two_keys_of_the_alg_is_ambiguous() {
        let a = Key::from_jwk_json(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","kid":"a","x":"{ED_X}"}}"#
        ))
        .unwrap();
        let b = Key::from_jwk_json(&format!(
            r#"{{"kty":"OKP","crv":"Ed25519","kid":"b","x":"{ED_X}"}}"#
        ))
        .unwrap();
        let set = KeySet::from_keys([a, b]).unwrap();
        assert_eq!(
            set.select(None, Algorithm::EdDSA).unwrap_err().code(),
            "kid_missing"
        );
    }
}
