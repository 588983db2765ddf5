//! Server nonces (RFC 9449 §8, §9), without state: the nonce of an epoch
//! (the time divided by the rotation interval) is the HMAC-SHA-256 of that
//! epoch under a secret key, computed by the crypto backend. A proof may
//! carry the current epoch's nonce or the previous one's, so a nonce lives
//! between one and two intervals.
//!
//! Replicas that share the secret (and whose clocks roughly agree) accept
//! each other's nonces. Nonces are unpredictable without the secret, and
//! say nothing but what any client sees anyway: that time passed.

use crate::alg::Algorithm;
use crate::backend::VerifyingKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// What the secret's MAC covers before the epoch, so that the key never
/// signs anything else that could pass for a nonce.
const DOMAIN: &[u8] = b"rampgate DPoP nonce v1\0";

/// The shortest secret accepted: as long as the hash (RFC 2104 §3).
pub(super) const MIN_SECRET: usize = 32;

/// Where a proof's nonce stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NonceCheck {
    /// This epoch's nonce.
    Current,
    /// The previous epoch's: accepted, and the answer should carry the
    /// current one (§8.2).
    Previous,
    /// None, or not one of the two.
    Refused,
}

/// The nonces of one secret and one interval.
#[derive(Clone)]
pub(super) struct Nonces {
    /// HMAC-SHA-256 under the secret.
    mac: VerifyingKey,
    interval_secs: u64,
}

impl Nonces {
    /// Nonces rotated every `interval_secs` (at least 1), under `secret` (at
    /// least [`MIN_SECRET`] bytes).
    pub(super) fn new(secret: &[u8], interval_secs: u64) -> Option<Nonces> {
        if interval_secs == 0 || secret.len() < MIN_SECRET {
            return None;
        }
        let mac = VerifyingKey::hmac(Algorithm::HS256, secret).ok()?;
        Some(Nonces { mac, interval_secs })
    }

    fn epoch(&self, now: f64) -> u64 {
        // `as` saturates: a clock before 1970 is epoch 0.
        (now as u64) / self.interval_secs
    }

    /// What the MAC of an epoch covers.
    fn message(epoch: u64) -> [u8; DOMAIN.len() + 8] {
        let mut message = [0; DOMAIN.len() + 8];
        message[..DOMAIN.len()].copy_from_slice(DOMAIN);
        message[DOMAIN.len()..].copy_from_slice(&epoch.to_be_bytes());
        message
    }

    /// The nonce to hand out now (base64url, 43 characters); `None` only if
    /// the backend could not compute an HMAC, which it always can.
    pub(super) fn current(&self, now: f64) -> Option<String> {
        let tag = self.mac.hmac_tag(&Nonces::message(self.epoch(now)))?;
        Some(URL_SAFE_NO_PAD.encode(tag))
    }

    /// Whether `nonce` is this epoch's or the previous one's. The comparison
    /// takes the same time wherever the bytes differ.
    pub(super) fn check(&self, nonce: Option<&str>, now: f64) -> NonceCheck {
        let Some(bytes) = nonce
            .filter(|n| n.len() == 43)
            .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
        else {
            return NonceCheck::Refused;
        };
        let epoch = self.epoch(now);
        if self.mac.verify(&Nonces::message(epoch), &bytes) {
            NonceCheck::Current
        } else if epoch > 0 && self.mac.verify(&Nonces::message(epoch - 1), &bytes) {
            NonceCheck::Previous
        } else {
            NonceCheck::Refused
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &[u8] = b"a secret of thirty-two bytes, ok";

    #[test]
    fn a_nonce_lives_for_its_epoch_and_the_next() {
        let nonces = Nonces::new(SECRET, 60).unwrap();
        let t = 6_000_000.0;
        let nonce = nonces.current(t).unwrap();
        assert_eq!(nonce.len(), 43);
        assert_eq!(nonces.current(t + 59.0), Some(nonce.clone()));
        assert_ne!(nonces.current(t + 60.0), Some(nonce.clone()));
        assert_eq!(nonces.check(Some(&nonce), t + 30.0), NonceCheck::Current);
        assert_eq!(nonces.check(Some(&nonce), t + 61.0), NonceCheck::Previous);
        assert_eq!(nonces.check(Some(&nonce), t + 120.0), NonceCheck::Refused);
        // A nonce of the future is not one of the two either.
        assert_eq!(nonces.check(Some(&nonce), t - 1.0), NonceCheck::Refused);
    }

    #[test]
    fn only_the_secrets_nonces_pass() {
        let nonces = Nonces::new(SECRET, 60).unwrap();
        let other = Nonces::new(b"another secret of thirty-two b..", 60).unwrap();
        let t = 6_000_000.0;
        // Replicas sharing the secret agree.
        let replica = Nonces::new(SECRET, 60).unwrap();
        assert_eq!(
            replica.check(nonces.current(t).as_deref(), t),
            NonceCheck::Current
        );
        assert_eq!(
            nonces.check(other.current(t).as_deref(), t),
            NonceCheck::Refused
        );
        assert_eq!(nonces.check(None, t), NonceCheck::Refused);
        assert_eq!(nonces.check(Some(""), t), NonceCheck::Refused);
        let mut tampered = nonces.current(t).unwrap().into_bytes();
        tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(tampered).unwrap();
        assert_eq!(nonces.check(Some(&tampered), t), NonceCheck::Refused);
        let padded = format!("{}=", nonces.current(t).unwrap());
        assert_eq!(nonces.check(Some(&padded), t), NonceCheck::Refused);
    }

    #[test]
    fn short_secrets_and_empty_intervals_are_refused() {
        assert!(Nonces::new(&SECRET[..31], 60).is_none());
        assert!(Nonces::new(SECRET, 0).is_none());
    }
}
