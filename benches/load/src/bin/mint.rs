//! Writes the keys and tokens every load run uses, into OUT_DIR:
//!
//! - `jwks.json`: the issuer's public JWKS (one ES256 key), served by `jwks`;
//! - `token.txt`: a valid token, `exp` now + 1 day (the "reused token" runs);
//! - `tokens.txt`: `FRESH` distinct valid tokens, one per line (each has its
//!   own `jti`), for the "fresh token per request" runs;
//! - `mixed.txt`: `FRESH` more, for the 1 % of fresh tokens in the "mixed"
//!   runs: a set of their own, so that none of them is a token the `fresh`
//!   runs already put in a server's cache;
//! - `badsig.txt`: the same claims and `kid`, signed by another P-256 key, so it
//!   parses, names a known key and fails only the signature check;
//! - `garbage.txt`: `not.a.token`, refused before any crypto.
//!
//! and, for the gRPC runs (`grpc.sh`), the same with the scope `greet` that
//! the gRPC example's contract requires instead of `profile:read` (the HTTP
//! servers' `/me` body prints the scopes, so the HTTP tokens stay as they are):
//! `grpc_token.txt`, `grpc_tokens.txt` (`FRESH` distinct tokens) and
//! `grpc_badsig.txt`, signed by the same key.
//!
//! Both keys come from `rampgate_testkit::DevIssuer` (ES256); its HTTP server
//! is not used, only its signing.

use rampgate_load::grpc::GRPC_SCOPE;
use rampgate_load::{AUDIENCE, CLIENT_ID, ISSUER, SCOPE, SUBJECT};
use rampgate_testkit::{DevIssuer, SigningAlg};
use std::io::Write;
use std::path::PathBuf;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: mint OUT_DIR FRESH";
    let out = PathBuf::from(args.next().expect(usage));
    let fresh: usize = args.next().expect(usage).parse().expect("FRESH");
    std::fs::create_dir_all(&out).expect("OUT_DIR");
    let start = || {
        DevIssuer::builder()
            .alg(SigningAlg::Es256)
            .audience(AUDIENCE)
            .start()
    };
    let good = start().await.expect("dev issuer");
    let other = start().await.expect("dev issuer");
    let mint = |issuer: &DevIssuer, scope: &str| {
        issuer
            .token()
            .issuer(ISSUER)
            .sub(SUBJECT)
            .client_id(CLIENT_ID)
            .scopes([scope])
            .expires_in(86_400)
            .kid(&good.current_kid())
            .sign()
    };
    let write = |name: &str, body: String| std::fs::write(out.join(name), body).expect("write");
    write("jwks.json", good.jwks_json());
    write("garbage.txt", "not.a.token".to_owned());
    for (prefix, scope) in [("", SCOPE), ("grpc_", GRPC_SCOPE)] {
        write(&format!("{prefix}token.txt"), mint(&good, scope));
        write(&format!("{prefix}badsig.txt"), mint(&other, scope));
    }
    // tokens.txt for the fresh case, mixed.txt for the mixed case's misses
    // (never a token the fresh case sent); grpc_tokens.txt for gRPC.
    for (name, scope) in [
        ("tokens.txt", SCOPE),
        ("mixed.txt", SCOPE),
        ("grpc_tokens.txt", GRPC_SCOPE),
    ] {
        let file = std::fs::File::create(out.join(name)).expect(name);
        let mut file = std::io::BufWriter::new(file);
        for _ in 0..fresh {
            writeln!(file, "{}", mint(&good, scope)).expect("write");
        }
        file.flush().expect("flush");
    }
    eprintln!(
        "wrote jwks.json, token.txt, tokens.txt and mixed.txt ({fresh} tokens each), badsig.txt, \
         garbage.txt, and grpc_token.txt, grpc_tokens.txt, grpc_badsig.txt (scope {GRPC_SCOPE}) to {}",
        out.display()
    );
}
