//! Lowercase hex for the digests events carry (token fingerprints, contract
//! file digests): written one way, read back strictly.

use std::fmt;

/// Writes `bytes` as lowercase hex.
pub(crate) fn write(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02x}")?;
    }
    Ok(())
}

/// The `N` bytes `text` spells in hex (either case), or `None` unless it is
/// exactly `2 * N` hex digits.
pub(crate) fn parse<const N: usize>(text: &str) -> Option<[u8; N]> {
    if text.len() != 2 * N || !text.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let mut bytes = [0; N];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    #[test]
    fn hex_reads_back_what_it_writes_and_nothing_else() {
        struct Hex([u8; 3]);
        impl std::fmt::Display for Hex {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                super::write(f, &self.0)
            }
        }
        assert_eq!(Hex([0, 0xab, 0x7f]).to_string(), "00ab7f");
        assert_eq!(super::parse::<3>("00AB7f"), Some([0, 0xab, 0x7f]));
        for bad in ["", "00ab7", "00ab7f0", "00ag7f", "+0ab7f", "é0ab7"] {
            assert_eq!(super::parse::<3>(bad), None, "{bad}");
        }
    }
}
