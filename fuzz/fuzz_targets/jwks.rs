//! Arbitrary bytes as a JWK Set: load or refuse cleanly, never panic, and every
//! entry is accounted for (usable or skipped with a reason).
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampgate_core::KeySet;

fuzz_target!(|data: &[u8]| {
    if let Ok((set, skipped)) = KeySet::from_jwks_json(data) {
        assert!(set.len() + skipped.len() <= data.len());
    }
});
