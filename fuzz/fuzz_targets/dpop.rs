//! Arbitrary bytes as a DPoP request: the first line is the request's URL, the
//! rest the proof. The checker must refuse with a DPoP reason code, never
//! panic, and never accept (no proof here is signed by a key it saw).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampgate_core::dpop::{DpopChecker, DpopOptions, DpopRequest};
use std::sync::OnceLock;
use std::time::Duration;

fn checker() -> &'static DpopChecker {
    static CHECKER: OnceLock<DpopChecker> = OnceLock::new();
    CHECKER.get_or_init(|| {
        DpopChecker::new(DpopOptions::default().require_nonce(Duration::from_secs(60)))
            .expect("checker")
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (url, proof) = text
        .split_once('\n')
        .unwrap_or(("https://api.example/", text));
    let request = DpopRequest::new("GET", url, "an.access.token");
    match checker().check(proof, &request) {
        Ok(_) => panic!("an arbitrary proof was accepted"),
        Err(e) => assert!(e.code().starts_with("dpop_")),
    }
});
