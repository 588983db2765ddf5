//! The SHA-256 digest of a contract file's bytes: what reload events name, so
//! that an auditor can tell exactly which file was applied or refused.

use sha2::{Digest, Sha256};
use std::borrow::Cow;
use std::fmt;

/// SHA-256 over a contract file's bytes, as read by the handle. Shown and
/// serialised as 64 lowercase hex digits (`sha256sum`'s form).
///
/// ```
/// use rampgate_core::contract::ContractDigest;
///
/// let digest = ContractDigest::of(b"abc");
/// assert_eq!(
///     digest.to_string(),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// assert_eq!(digest.to_string().parse::<ContractDigest>(), Ok(digest));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct ContractDigest([u8; 32]);

impl ContractDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        ContractDigest(Sha256::digest(bytes).into())
    }

    /// The 32 bytes of the digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for ContractDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex::write(f, &self.0)
    }
}

impl fmt::Debug for ContractDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContractDigest({self})")
    }
}

/// Why text is not a contract digest.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a SHA-256 digest is 64 hex digits")]
pub struct DigestParseError;

impl std::str::FromStr for ContractDigest {
    type Err = DigestParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::hex::parse(text)
            .map(ContractDigest)
            .ok_or(DigestParseError)
    }
}

impl serde::Serialize for ContractDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ContractDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Cow::<str>::deserialize(d)?;
        text.parse()
            .map_err(|e| serde::de::Error::custom(format_args!("sha256 {text:?}: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_64_hex_digits_parse() {
        let hex = ContractDigest::of(b"").to_string();
        assert_eq!(
            hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(hex.to_uppercase().parse(), Ok(ContractDigest::of(b"")));
        for bad in ["", &hex[..63], &format!("{hex}0"), &hex.replace('e', "g")] {
            assert_eq!(
                bad.parse::<ContractDigest>(),
                Err(DigestParseError),
                "{bad}"
            );
        }
        // A multi-byte character of the right byte length is refused, not split.
        let odd = format!("é{}", &hex[2..]);
        assert_eq!(odd.parse::<ContractDigest>(), Err(DigestParseError));
    }
}
