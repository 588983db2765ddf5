//! Arbitrary bytes as a PEM public key, for each algorithm family: load or
//! refuse cleanly, never panic. The first byte picks the algorithm, so the
//! fuzzer explores the RSA, EC and Ed25519 paths of the DER reader alike.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampgate_core::Key;

const ALGS: [&str; 5] = ["RS256", "PS512", "ES256", "ES384", "EdDSA"];

fuzz_target!(|data: &[u8]| {
    let Some((choice, pem)) = data.split_first() else {
        return;
    };
    let alg = ALGS[usize::from(*choice) % ALGS.len()];
    if let Ok(key) = Key::from_pem(pem, alg, None) {
        assert_eq!(key.alg(), alg);
    }
});
