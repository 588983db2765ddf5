//! Checks of an Ed25519 public key before it is trusted, without a curve
//! library: the key must not be of small order, and must decode to a point.
//!
//! Neither backend refuses a small-order key, and aws-lc-rs takes any 32 bytes
//! as a key (it decodes the point only when verifying, so a bad key would load
//! and then fail every request). Both checks run once, when the key is loaded;
//! the key is public, so nothing here needs to run in constant time.

/// The encodings of the points of small order (1, 2, 4 or 8), the sign bit
/// (the top bit of the last byte) cleared: libsodium's `ge25519_has_small_order`
/// list. A small-order key makes a trivial signature verify for (almost) any
/// message. Each was derived as the `y` of a point of the 8-torsion subgroup
/// (with `x` recovered and `8·P = O` checked in big-integer arithmetic), plus
/// the two non-canonical encodings `y + p` that fit in 255 bits; the test
/// below cross-checks each, with both sign bits, against ed25519-dalek.
const SMALL_ORDER: [[u8; 32]; 7] = [
    // y = 0: the two points of order 4.
    [0; 32],
    // y = 1: the identity.
    [
        0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0, 0, 0,
    ],
    // Points of order 8.
    [
        0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98,
        0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53,
        0xfc, 0x05,
    ],
    [
        0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67,
        0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac,
        0x03, 0x7a,
    ],
    // y = p - 1: the point of order 2.
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    // y = p and y = p + 1: non-canonical encodings of y = 0 and y = 1.
    [
        0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
    [
        0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Why an Ed25519 public key is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    /// A point of small order: every signature would be forgeable.
    SmallOrder,
    /// Not the encoding of a curve point.
    NotAPoint,
}

/// Refuses an Ed25519 public key (its 32-byte encoding, RFC 8032 §5.1.2) of
/// small order, or one that is not the encoding of a curve point.
pub(crate) fn check_public_key(key: &[u8; 32]) -> Result<(), Refused> {
    let mut y = *key;
    if let Some(last) = y.last_mut() {
        *last &= 0x7f;
    }
    if SMALL_ORDER.contains(&y) {
        return Err(Refused::SmallOrder);
    }
    if !is_point(&y) {
        return Err(Refused::NotAPoint);
    }
    Ok(())
}

/// A field element mod p = 2^255 - 19: four little-endian 64-bit limbs, any
/// value below 2^256 (not necessarily reduced).
type Fe = [u64; 4];

/// p = 2^255 - 19.
const P: Fe = [
    0xffff_ffff_ffff_ffed,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
];
/// p - 1, that is -1.
const MINUS_ONE: Fe = [
    0xffff_ffff_ffff_ffec,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x7fff_ffff_ffff_ffff,
];
/// The curve constant d = -121665 / 121666 mod p.
const D: Fe = [
    0x75eb_4dca_1359_78a3,
    0x0070_0a4d_4141_d8ab,
    0x8cc7_4079_7779_e898,
    0x5203_6cee_2b6f_fe73,
];
/// (p - 1) / 2, the exponent of Euler's criterion.
const HALF_P_MINUS_ONE: Fe = [
    0xffff_ffff_ffff_fff6,
    0xffff_ffff_ffff_ffff,
    0xffff_ffff_ffff_ffff,
    0x3fff_ffff_ffff_ffff,
];
const ONE: Fe = [1, 0, 0, 0];

/// Whether `y` (the sign bit cleared) is the canonical encoding of the `y` of a
/// curve point: y < p, and x² = (y² - 1) / (d·y² + 1) has a root (RFC 8032
/// §5.1.3). With v = d·y² + 1, never 0 (-1/d is not a square), u/v is a square
/// exactly when u·v = (u/v)·v² is, which Euler's criterion decides:
/// (u·v)^((p-1)/2) is 0 or 1. A root x = 0 with the sign bit set is also
/// invalid, but only y = ±1 give x = 0, and both are of small order.
fn is_point(y: &[u8; 32]) -> bool {
    let y = from_bytes(y);
    if !less_than(&y, &P) {
        return false;
    }
    let y2 = reduce(mul(&y, &y));
    let u = add(&y2, &MINUS_ONE);
    let v = add(&reduce(mul(&D, &y2)), &ONE);
    let legendre = reduce(pow(&reduce(mul(&u, &v)), &HALF_P_MINUS_ONE));
    legendre == [0; 4] || legendre == ONE
}

fn from_bytes(bytes: &[u8; 32]) -> Fe {
    let mut limbs = [0u64; 4];
    for (limb, chunk) in limbs.iter_mut().zip(bytes.chunks_exact(8)) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        *limb = u64::from_le_bytes(word);
    }
    limbs
}

fn less_than(a: &Fe, b: &Fe) -> bool {
    a.iter().rev().cmp(b.iter().rev()).is_lt()
}

/// a + b, for a + b < 2^256 (two reduced elements).
fn add(a: &Fe, b: &Fe) -> Fe {
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let sum = u128::from(*x) + u128::from(*y) + carry;
        *o = sum as u64;
        carry = sum >> 64;
    }
    out
}

/// a - b, for a >= b.
fn sub(a: &Fe, b: &Fe) -> Fe {
    let mut out = [0u64; 4];
    let mut borrow = false;
    for ((o, x), y) in out.iter_mut().zip(a).zip(b) {
        let (d1, b1) = x.overflowing_sub(*y);
        let (d2, b2) = d1.overflowing_sub(u64::from(borrow));
        *o = d2;
        borrow = b1 || b2;
    }
    out
}

/// The canonical representative (< p) of any value below 2^256 < 3p.
fn reduce(mut a: Fe) -> Fe {
    for _ in 0..2 {
        if !less_than(&a, &P) {
            a = sub(&a, &P);
        }
    }
    a
}

/// a · b mod p, not necessarily reduced: 2^256 ≡ 38 folds the high half in.
fn mul(a: &Fe, b: &Fe) -> Fe {
    let mut wide = [0u64; 8];
    for (i, x) in a.iter().enumerate() {
        let mut carry = 0u128;
        for (j, y) in b.iter().enumerate() {
            let t = u128::from(wide[i + j]) + u128::from(*x) * u128::from(*y) + carry;
            wide[i + j] = t as u64;
            carry = t >> 64;
        }
        wide[i + 4] = carry as u64;
    }
    let (low, high) = wide.split_at(4);
    let mut out = [0u64; 4];
    let mut carry = 0u128;
    for ((o, l), h) in out.iter_mut().zip(low).zip(high) {
        let t = u128::from(*l) + u128::from(*h) * 38 + carry;
        *o = t as u64;
        carry = t >> 64;
    }
    // carry < 39: fold it in once more. If that overflows 2^256 again, what is
    // left is below 39·38, so the last fold cannot carry.
    let mut carry = carry * 38;
    for o in &mut out {
        let t = u128::from(*o) + carry;
        *o = t as u64;
        carry = t >> 64;
    }
    out[0] += (carry as u64) * 38;
    out
}

/// base^exp mod p, square and multiply from the top bit.
fn pow(base: &Fe, exp: &Fe) -> Fe {
    let mut acc = ONE;
    for limb in exp.iter().rev() {
        for bit in (0..64).rev() {
            acc = mul(&acc, &acc);
            if limb >> bit & 1 == 1 {
                acc = mul(&acc, base);
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    /// The public key of RFC 8037 §A.2, the one the crate's examples use.
    const RFC8037_X: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

    fn with_sign(mut key: [u8; 32], sign: bool) -> [u8; 32] {
        if let Some(last) = key.last_mut() {
            *last = (*last & 0x7f) | if sign { 0x80 } else { 0 };
        }
        key
    }

    #[test]
    fn every_listed_encoding_is_weak_or_invalid_for_dalek() {
        for encoding in SMALL_ORDER {
            for sign in [false, true] {
                let key = with_sign(encoding, sign);
                let dalek = ed25519_dalek::VerifyingKey::from_bytes(&key);
                assert!(
                    dalek.map_or(true, |k| k.is_weak()),
                    "{key:02x?} is a strong key for ed25519-dalek"
                );
                assert_eq!(check_public_key(&key), Err(Refused::SmallOrder));
            }
        }
    }

    #[test]
    fn real_keys_are_taken() {
        let rfc: [u8; 32] = URL_SAFE_NO_PAD
            .decode(RFC8037_X)
            .unwrap()
            .try_into()
            .unwrap();
        assert_eq!(check_public_key(&rfc), Ok(()));
        for seed in 0..=255u8 {
            let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]).verifying_key();
            assert_eq!(check_public_key(key.as_bytes()), Ok(()), "seed {seed}");
        }
    }

    /// Arbitrary encodings: taken exactly when dalek decodes them to a point that
    /// is not weak (dalek also takes a non-canonical y >= p, which has
    /// probability 2^-250 here and is tested apart).
    #[test]
    fn agrees_with_dalek_on_arbitrary_encodings() {
        let mut state = 0x7261_6d70_6761_7465u64;
        let mut taken = 0;
        for _ in 0..2000 {
            let mut key = [0u8; 32];
            for byte in &mut key {
                // xorshift64: deterministic, no dependency.
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                *byte = state as u8;
            }
            let dalek = ed25519_dalek::VerifyingKey::from_bytes(&key).is_ok_and(|k| !k.is_weak());
            assert_eq!(check_public_key(&key).is_ok(), dalek, "{key:02x?}");
            taken += usize::from(dalek);
        }
        // About half of all y have a point.
        assert!((800..1200).contains(&taken), "{taken}");
    }

    #[test]
    fn non_canonical_y_is_refused() {
        // y = p + k for k in 0..19 (sign bit either way): p and p + 1 are of
        // small order, the rest are not canonical.
        for k in 0..19u64 {
            let mut key = [0xffu8; 32];
            key[0] = 0xed + k as u8;
            for sign in [false, true] {
                let key = with_sign(key, sign);
                let expected = if k < 2 {
                    Refused::SmallOrder
                } else {
                    Refused::NotAPoint
                };
                assert_eq!(check_public_key(&key), Err(expected), "y = p + {k}");
            }
        }
    }

    #[test]
    fn field_arithmetic_matches_known_values() {
        // -1 · -1 = 1, and d · 121666 = -121665.
        assert_eq!(reduce(mul(&MINUS_ONE, &MINUS_ONE)), ONE);
        let expected = sub(&P, &[121_665, 0, 0, 0]);
        assert_eq!(reduce(mul(&D, &[121_666, 0, 0, 0])), expected);
        // -1 is a square mod p (p ≡ 1 mod 4); 2 is not (p ≡ 5 mod 8).
        assert_eq!(reduce(pow(&MINUS_ONE, &HALF_P_MINUS_ONE)), ONE);
        assert_eq!(reduce(pow(&[2, 0, 0, 0], &HALF_P_MINUS_ONE)), MINUS_ONE);
    }
}
