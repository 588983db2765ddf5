//! Arbitrary bytes as a contract file: parsed or refused with located errors,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rampgate_core::contract::Contract;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Err(errors) = Contract::parse(text)
    {
        assert!(!errors.0.is_empty());
    }
});
