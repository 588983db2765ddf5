//! Writes the key and tokens every load run uses, into OUT_DIR:
//!
//! - `jwk.json`: the public ES256 JWK (kid `dev-1`) all three servers load;
//! - `token.txt`: a valid token, `exp` now + 1 day;
//! - `badsig.txt`: the same claims and `kid`, signed by another P-256 key, so it
//!   parses, names a known key and fails only the signature check;
//! - `garbage.txt`: `not.a.token`, refused before any crypto.
//!
//! Both keys come from `rampgate_testkit::DevIssuer` (ES256); its HTTP server
//! is not used, only its signing.

use rampgate_load::{AUDIENCE, ISSUER, SUBJECT};
use rampgate_testkit::{DevIssuer, SigningAlg};
use std::path::PathBuf;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let out = PathBuf::from(std::env::args().nth(1).expect("usage: mint OUT_DIR"));
    std::fs::create_dir_all(&out).expect("OUT_DIR");
    let start = || {
        DevIssuer::builder()
            .alg(SigningAlg::Es256)
            .audience(AUDIENCE)
            .start()
    };
    let good = start().await.expect("dev issuer");
    let other = start().await.expect("dev issuer");
    let mint = |issuer: &DevIssuer| {
        issuer
            .token()
            .issuer(ISSUER)
            .sub(SUBJECT)
            .scopes(["profile:read"])
            .expires_in(86_400)
            .kid(&good.current_kid())
            .sign()
    };
    let jwks: serde_json::Value = serde_json::from_str(&good.jwks_json()).expect("JWKS");
    let write = |name: &str, body: String| std::fs::write(out.join(name), body).expect("write");
    write("jwk.json", jwks["keys"][0].to_string());
    write("token.txt", mint(&good));
    write("badsig.txt", mint(&other));
    write("garbage.txt", "not.a.token".to_owned());
    eprintln!(
        "wrote jwk.json, token.txt, badsig.txt, garbage.txt to {}",
        out.display()
    );
}
