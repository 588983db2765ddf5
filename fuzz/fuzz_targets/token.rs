//! Arbitrary bytes as a token: the verifier must refuse them with a reason code,
//! never panic, and never accept (the key's private half is not known here).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampgate_core::{ErrorKind, IssuerConfig, Key, KeySet, Verifier};
use std::sync::OnceLock;

fn verifier() -> &'static Verifier {
    static VERIFIER: OnceLock<Verifier> = OnceLock::new();
    VERIFIER.get_or_init(|| {
        let key = Key::from_jwk_json(
            r#"{"kty":"EC","crv":"P-256","kid":"k","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#,
        )
        .expect("valid key");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        runtime
            .block_on(
                Verifier::builder()
                    .issuer(
                        IssuerConfig::new("https://i.example", ["api"])
                            .keys(KeySet::from_keys([key]).expect("key set")),
                    )
                    .build(),
            )
            .expect("verifier")
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        match verifier().verify_cached(token) {
            Ok(_) => panic!("an arbitrary input verified"),
            Err(e) => assert!(ErrorKind::REQUEST_CODES.contains(&e.code())),
        }
    }
});
