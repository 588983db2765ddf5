//! The verified-token cache: a hit needs the byte-identical token, never
//! outlives its `exp`, its TTL or its key, only successful verifications enter,
//! and its size is bounded with hot entries kept through a scan.
#![allow(clippy::unwrap_used)]

mod common;

use common::{AUD, ISS, Signer, signer};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use rampgate_core::{
    IssuerConfig, Key, KeySet, TokenCacheOptions, TokenCacheStats, ValidationPolicy, Verifier,
};
use serde_json::{Value, json};
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn sign(header: &Value, claims: &Value, key: &EncodingKey, alg: Algorithm) -> String {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{sig}")
}

fn es256(signer: &Signer, kid: &str, claims: Value) -> String {
    let header = json!({"alg": "ES256", "kid": kid, "typ": "at+jwt"});
    sign(&header, &claims, &signer.encoding, Algorithm::ES256)
}

fn claims(jti: &str, exp: i64) -> Value {
    json!({"iss": ISS, "aud": AUD, "exp": exp, "sub": "alice", "jti": jti})
}

/// An HS256 token (cheap to sign even in a debug build) with its own `jti`.
fn hs256(jti: &str) -> String {
    let header = json!({"alg": "HS256", "kid": "h1", "typ": "at+jwt"});
    let key = EncodingKey::from_secret(SECRET);
    sign(&header, &claims(jti, now() + 300), &key, Algorithm::HS256)
}

async fn static_verifier(keys: KeySet, cache: Option<TokenCacheOptions>) -> Verifier {
    let builder = Verifier::builder().issuer(IssuerConfig::new(ISS, [AUD]).keys(keys));
    match cache {
        Some(options) => builder.token_cache(options),
        None => builder.no_token_cache(),
    }
    .build()
    .await
    .unwrap()
}

async fn hmac_verifier(max_entries: usize) -> Verifier {
    let key = Key::hmac(SECRET, "HS256", Some("h1")).unwrap();
    let options = TokenCacheOptions {
        max_entries,
        ..TokenCacheOptions::default()
    };
    static_verifier(KeySet::from_keys([key]).unwrap(), Some(options)).await
}

fn p256_keys(signer: &Signer) -> KeySet {
    KeySet::from_keys([Key::from_jwk_json(&signer.jwk.to_string()).unwrap()]).unwrap()
}

fn stats(v: &Verifier) -> TokenCacheStats {
    v.cache_stats().unwrap()
}

/// What a verifier makes of `token`: the subject, or the error code.
fn outcome(v: &Verifier, token: &str) -> Result<Option<String>, String> {
    v.verify_cached(token)
        .map(|p| p.sub().map(str::to_owned))
        .map_err(|e| e.code().to_owned())
}

#[tokio::test]
async fn the_cache_is_on_by_default_and_can_be_turned_off() {
    let k1 = signer(1, "k1");
    let on = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).keys(p256_keys(&k1)))
        .build()
        .await
        .unwrap();
    assert_eq!(
        stats(&on).capacity,
        TokenCacheOptions::default().max_entries
    );
    let off = static_verifier(p256_keys(&k1), None).await;
    assert_eq!(off.cache_stats(), None);
    let zero = TokenCacheOptions {
        max_entries: 0,
        ..TokenCacheOptions::default()
    };
    let zero = static_verifier(p256_keys(&k1), Some(zero)).await;
    assert_eq!(zero.cache_stats(), None, "0 entries turns the cache off");
}

#[tokio::test]
async fn a_hit_needs_the_byte_identical_token() {
    let (k1, forger) = (signer(1, "k1"), signer(9, "k1"));
    let v = static_verifier(p256_keys(&k1), Some(TokenCacheOptions::default())).await;
    let uncached = static_verifier(p256_keys(&k1), None).await;
    let exp = now() + 300;
    let token = es256(&k1, "k1", claims("j1", exp));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!((stats(&v).insertions, stats(&v).hits), (1, 1));

    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut variants = Vec::new();
    // The same signature bytes, re-encoded: the last base64url character of a
    // 64-byte signature carries two unused bits.
    let last = sig.chars().last().unwrap();
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let pos = alphabet.find(last).unwrap();
    let reencoded = alphabet.chars().nth(pos ^ 1).unwrap();
    variants.push(format!("{input}.{}{reencoded}", &sig[..sig.len() - 1]));
    // One flipped byte in the signature.
    let mut flipped = sig.as_bytes().to_vec();
    flipped[10] = if flipped[10] == b'A' { b'B' } else { b'A' };
    variants.push(format!("{input}.{}", String::from_utf8(flipped).unwrap()));
    // The same header and signature over other claims (same jti, same kid):
    // the same last bytes, so the same slot in the cache (only the tail is
    // hashed), which the byte comparison must still refuse.
    let other = es256(
        &k1,
        "k1",
        json!({"iss": ISS, "aud": AUD, "exp": exp, "sub": "mallory", "jti": "j1"}),
    );
    let (other_input, _) = other.rsplit_once('.').unwrap();
    variants.push(format!("{other_input}.{sig}"));
    // Same jti and kid, signed by another key.
    variants.push(es256(&forger, "k1", claims("j1", exp)));
    // Same jti and kid, the right key, other claims: a token of its own.
    variants.push(other.clone());

    for variant in &variants {
        assert_ne!(variant, &token);
        let before = stats(&v);
        let got = outcome(&v, variant);
        assert_eq!(got, outcome(&uncached, variant), "{variant}");
        assert_eq!(stats(&v).hits, before.hits, "a variant is never a hit");
    }
    assert_eq!(
        outcome(&v, &other),
        Ok(Some("mallory".into())),
        "a token of its own is verified on its own"
    );
    assert_eq!(
        outcome(&v, &format!("{other_input}.{sig}")),
        Err("signature_invalid".into())
    );
    // The original is still a hit.
    let hits = stats(&v).hits;
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, hits + 1);
}

#[tokio::test]
async fn a_cached_token_is_refused_once_past_its_exp() {
    let k1 = signer(1, "k1");
    let v = Verifier::builder()
        .issuer(
            IssuerConfig::new(ISS, [AUD])
                .keys(p256_keys(&k1))
                .policy(ValidationPolicy::default().leeway(Duration::ZERO)),
        )
        .build()
        .await
        .unwrap();
    // Three to four seconds ahead (`now()` is whole seconds): room for the
    // two verifications below on a slow machine, then a sleep until the
    // verifier's clock is past `exp`.
    let exp = now() + 4;
    let token = es256(&k1, "k1", claims("short", exp));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, 1);
    let past = UNIX_EPOCH + Duration::from_secs(exp as u64) + Duration::from_millis(100);
    if let Ok(left) = past.duration_since(SystemTime::now()) {
        tokio::time::sleep(left).await;
    }
    assert_eq!(outcome(&v, &token), Err("token_expired".into()));
    let s = stats(&v);
    assert_eq!((s.invalidated, s.entries), (1, 0), "{s:?}");
    assert_eq!(outcome(&v, &token), Err("token_expired".into()));
}

#[tokio::test]
async fn an_entry_lives_no_longer_than_its_ttl() {
    let k1 = signer(1, "k1");
    let options = TokenCacheOptions {
        ttl: Duration::from_millis(300),
        ..TokenCacheOptions::default()
    };
    let v = static_verifier(p256_keys(&k1), Some(options)).await;
    let token = es256(&k1, "k1", claims("ttl", now() + 300));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    let s = stats(&v);
    assert_eq!((s.hits, s.insertions), (0, 2), "verified again: {s:?}");
}

#[tokio::test]
async fn an_unbounded_ttl_is_bounded_by_exp_and_does_not_panic() {
    let k1 = signer(1, "k1");
    let options = TokenCacheOptions {
        ttl: Duration::MAX,
        ..TokenCacheOptions::default()
    };
    let v = static_verifier(p256_keys(&k1), Some(options)).await;
    let token = es256(&k1, "k1", claims("forever", now() + 300));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, 1);
}

#[tokio::test]
async fn invalid_tokens_never_enter_nor_push_out_a_hot_one() {
    let v = hmac_verifier(64).await;
    let hot = hs256("hot");
    assert_eq!(outcome(&v, &hot), Ok(Some("alice".into())));
    let wrong_key = EncodingKey::from_secret(b"another secret, 32 bytes or more");
    let header = json!({"alg": "HS256", "kid": "h1", "typ": "at+jwt"});
    for i in 0..2_000 {
        let jti = format!("bad-{i}");
        let bad = match i % 4 {
            0 => sign(
                &header,
                &claims(&jti, now() + 300),
                &wrong_key,
                Algorithm::HS256,
            ),
            1 => {
                let key = EncodingKey::from_secret(SECRET);
                sign(&header, &claims(&jti, now() - 3600), &key, Algorithm::HS256)
            }
            2 => {
                let key = EncodingKey::from_secret(SECRET);
                let c = json!({"iss": ISS, "aud": "other", "exp": now() + 300, "jti": jti});
                sign(&header, &c, &key, Algorithm::HS256)
            }
            _ => format!("{}x", hs256(&jti)),
        };
        assert!(v.verify_cached(&bad).is_err(), "{bad}");
    }
    let s = stats(&v);
    assert_eq!((s.entries, s.insertions, s.evictions), (1, 1, 0), "{s:?}");
    assert_eq!(outcome(&v, &hot), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, 1);
}

#[tokio::test]
async fn a_changed_issuer_configuration_starts_from_an_empty_cache() {
    // The cache belongs to one verifier (and its clones); an issuer's
    // configuration is fixed for a verifier's life, so a changed one is a new
    // verifier, which verifies again rather than trusting the old cache.
    let v = hmac_verifier(64).await;
    let token = hs256("cfg");
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(outcome(&v.clone(), &token), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, 1, "a clone shares the cache");
    let key = Key::hmac(SECRET, "HS256", Some("h1")).unwrap();
    let other_audience = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, ["another-api"]).keys(KeySet::from_keys([key]).unwrap()))
        .build()
        .await
        .unwrap();
    assert_eq!(
        outcome(&other_audience, &token),
        Err("audience_mismatch".into())
    );
    assert_eq!(stats(&other_audience).hits, 0);
    assert_eq!(stats(&other_audience).insertions, 0);
}

#[tokio::test]
async fn the_entry_count_never_exceeds_max_entries() {
    let v = hmac_verifier(1_000).await;
    for i in 0..20_000 {
        // Twice each: once the cache is full, a token is kept on its second
        // verification, in a victim's place.
        let token = hs256(&format!("t{i}"));
        assert!(v.verify_cached(&token).is_ok());
        assert!(v.verify_cached(&token).is_ok());
        if i % 500 == 0 {
            assert!(stats(&v).entries <= 1_000, "{:?}", stats(&v));
        }
    }
    let s = stats(&v);
    assert_eq!(s.entries, 1_000, "{s:?}");
    // 1 000 found room; each of the other 19 000 was deferred once, then kept.
    assert_eq!(
        (s.insertions, s.evictions, s.deferred),
        (20_000, 19_000, 19_000),
        "{s:?}"
    );
}

#[tokio::test]
async fn one_shot_tokens_in_a_full_cache_are_not_kept() {
    let v = hmac_verifier(1_000).await;
    for i in 0..20_000 {
        assert!(v.verify_cached(&hs256(&format!("t{i}"))).is_ok());
    }
    let s = stats(&v);
    assert_eq!(s.entries, 1_000, "{s:?}");
    // Once full, a token seen once is not kept: it would displace another.
    assert_eq!(
        (s.insertions, s.evictions, s.deferred),
        (1_000, 0, 19_000),
        "{s:?}"
    );
}

#[tokio::test]
async fn a_token_past_its_ttl_in_a_full_cache_is_kept_again_at_once() {
    let key = Key::hmac(SECRET, "HS256", Some("h1")).unwrap();
    let options = TokenCacheOptions {
        max_entries: 100,
        ttl: Duration::from_millis(600),
    };
    let v = static_verifier(KeySet::from_keys([key]).unwrap(), Some(options)).await;
    let hot = hs256("hot");
    assert_eq!(outcome(&v, &hot), Ok(Some("alice".into())));
    let mut i = 0;
    while stats(&v).entries < 100 {
        assert!(v.verify_cached(&hs256(&format!("t{i}"))).is_ok());
        i += 1;
    }
    std::thread::sleep(Duration::from_millis(700));
    let before = stats(&v);
    // Past its TTL: taken out, verified in full, and kept at once in the slot
    // it freed (the cache is not full of live entries), not deferred.
    assert_eq!(outcome(&v, &hot), Ok(Some("alice".into())));
    let after = stats(&v);
    assert_eq!(after.insertions, before.insertions + 1, "{after:?}");
    assert_eq!(after.deferred, before.deferred, "{after:?}");
    assert_eq!(outcome(&v, &hot), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, after.hits + 1);
}

#[tokio::test]
async fn a_full_cache_keeps_a_new_token_on_its_second_verification() {
    let v = hmac_verifier(1_000).await;
    // Filled: the shards fill unevenly, and a full shard defers its new tokens.
    let mut i = 0;
    while stats(&v).entries < 1_000 {
        assert!(v.verify_cached(&hs256(&format!("t{i}"))).is_ok());
        i += 1;
    }
    let s = stats(&v);
    assert_eq!((s.insertions, s.evictions), (1_000, 0), "{s:?}");
    let deferred = s.deferred;
    let late = hs256("late");
    // First sight: verified, not kept.
    assert_eq!(outcome(&v, &late), Ok(Some("alice".into())));
    let s = stats(&v);
    assert_eq!(
        (s.insertions, s.deferred, s.evictions),
        (1_000, deferred + 1, 0),
        "{s:?}"
    );
    // Second: verified again, kept in a victim's place.
    assert_eq!(outcome(&v, &late), Ok(Some("alice".into())));
    let s = stats(&v);
    assert_eq!(
        (s.insertions, s.deferred, s.evictions),
        (1_001, deferred + 1, 1),
        "{s:?}"
    );
    assert_eq!(s.entries, 1_000);
    // Third: a hit.
    let hits = s.hits;
    assert_eq!(outcome(&v, &late), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, hits + 1);
}

#[tokio::test]
async fn a_hot_token_survives_a_scan_of_one_shot_tokens() {
    let v = hmac_verifier(1_000).await;
    let hot = hs256("hot");
    // Verified, then a hit: in use.
    assert_eq!(outcome(&v, &hot), Ok(Some("alice".into())));
    assert_eq!(outcome(&v, &hot), Ok(Some("alice".into())));
    // Filled by tokens seen once, which found room.
    let mut filled = 0;
    while stats(&v).entries < 1_000 {
        assert!(v.verify_cached(&hs256(&format!("fill{filled}"))).is_ok());
        filled += 1;
    }
    let mut checks = 0;
    for i in 0..10_000 {
        // Twice each, so that they are kept and evict (CLOCK picks the victims).
        let token = hs256(&format!("scan{i}"));
        assert!(v.verify_cached(&token).is_ok());
        assert!(v.verify_cached(&token).is_ok());
        if i % 200 == 199 {
            let hits = stats(&v).hits;
            assert_eq!(outcome(&v, &hot), Ok(Some("alice".into())));
            assert_eq!(stats(&v).hits, hits + 1, "a look at the hot token is a hit");
            checks += 1;
        }
    }
    let s = stats(&v);
    assert_eq!(checks, 50);
    assert!(s.evictions > 9_000, "the scan did evict: {s:?}");
    // The hot token and the fill's 999 that found room, then every scan token
    // once: the hot token was never verified again.
    assert_eq!(s.insertions, 1_000 + 10_000, "{s:?}");
    assert!(filled >= 999);
}

/// A JWKS server on loopback whose document can change at any time (plain
/// threads, one answer per connection).
fn jwks_server(keys: &[&Signer]) -> (String, Arc<Mutex<Value>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let jwks = Arc::new(Mutex::new(Value::Null));
    publish(&jwks, keys);
    let shared = Arc::clone(&jwks);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let body = shared.lock().unwrap().to_string();
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    (url, jwks)
}

fn publish(jwks: &Mutex<Value>, keys: &[&Signer]) {
    let keys: Vec<Value> = keys.iter().map(|s| s.jwk.clone()).collect();
    *jwks.lock().unwrap() = json!({ "keys": keys });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_is_refused_once_its_key_is_removed() {
    let (k1, k2) = (signer(1, "k1"), signer(2, "k2"));
    let (url, jwks) = jwks_server(&[&k1, &k2]);
    let v = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).jwks_url(&url))
        .build()
        .await
        .unwrap();
    let old = es256(&k1, "k1", claims("old", now() + 300));
    let new = es256(&k2, "k2", claims("new", now() + 300));
    for token in [&old, &old, &new, &new] {
        assert_eq!(v.verify(token).await.unwrap().sub(), Some("alice"));
    }
    assert_eq!(stats(&v).hits, 2);

    // k1 is rotated out (or found compromised) and the operator refreshes.
    publish(&jwks, &[&k2]);
    v.refresh_keys(ISS).await.unwrap();
    assert_eq!(v.verify(&old).await.unwrap_err().code(), "kid_unknown");
    assert_eq!(outcome(&v, &old), Err("kid_unknown".into()));
    assert_eq!(stats(&v).invalidated, 1);
    // The token of the key that stayed is verified once more (the refresh made
    // a new key snapshot), then hit again.
    assert_eq!(outcome(&v, &new), Ok(Some("alice".into())));
    let hits = stats(&v).hits;
    assert_eq!(outcome(&v, &new), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, hits + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cached_token_is_refused_once_its_kid_names_another_key() {
    let (k1, replacement) = (signer(1, "k1"), signer(3, "k1"));
    let (url, jwks) = jwks_server(&[&k1]);
    let v = Verifier::builder()
        .issuer(IssuerConfig::new(ISS, [AUD]).jwks_url(&url))
        .build()
        .await
        .unwrap();
    let token = es256(&k1, "k1", claims("old", now() + 300));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(outcome(&v, &token), Ok(Some("alice".into())));
    assert_eq!(stats(&v).hits, 1);

    // The issuer reuses the kid for new key material: the cached entry names
    // the kid that is still there, but not the key that verified it.
    publish(&jwks, &[&replacement]);
    v.refresh_keys(ISS).await.unwrap();
    assert_eq!(outcome(&v, &token), Err("signature_invalid".into()));
    assert_eq!(stats(&v).invalidated, 1);
}

#[test]
fn threads_share_the_cache_without_wrong_answers() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let v = rt.block_on(hmac_verifier(8));
    let tokens: Vec<String> = (0..16).map(|i| hs256(&format!("shared{i}"))).collect();
    let forged: Vec<String> = tokens.iter().map(|t| format!("{t}A")).collect();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for round in 0..200 {
                    for (token, forged) in tokens.iter().zip(&forged) {
                        assert!(v.verify_cached(token).is_ok(), "round {round}");
                        assert!(v.verify_cached(forged).is_err(), "round {round}");
                    }
                }
            });
        }
    });
    let s = stats(&v);
    assert!(s.entries <= 8, "{s:?}");
    assert_eq!(s.hits + s.misses, 2 * 4 * 200 * 16, "{s:?}");
}
