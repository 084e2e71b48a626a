//! Pedersen commitments over Ristretto255.
//!
//! # Convention
//!
//! The generators are those of `bulletproofs::PedersenGens::default()`:
//! the value base `B` is the Ristretto basepoint and the blinding base `B_blinding` (written `H`
//! below) is the hash-to-group (SHA3-512) of `B`'s encoding, so nobody knows `log_B(H)`.
//! A commitment to `v` with blinding `r` is
//!
//! ```text
//! C = v·B + r·H
//! ```
//!
//! It is perfectly hiding (for uniform `r`) and computationally binding (discrete log).
//! Commitments are additively homomorphic: `C(a, r) + C(b, s) = C(a + b, r + s)` and
//! `k·C(a, r) = C(k·a, k·r)`, all modulo the group order `ℓ ≈ 2^252`. [`Opening`] mirrors these
//! operations on the secret side; since an opening carries a `u64` value, opening arithmetic that
//! leaves `[0, 2^64)` is refused ([`ConfidentialError::ArithmeticOverflow`]) while the
//! commitment arithmetic stays defined.
//!
//! # Encoding
//!
//! A [`Commitment`] is its 32-byte compressed Ristretto encoding; parsing accepts only canonical
//! encodings of valid points (the identity, a commitment to 0 with blinding 0, is valid). Serde
//! uses the 64-character lower-case hex of those bytes.

use crate::encoding::{decode_hex_array, decode_point, serde_via_hex};
use crate::{ConfidentialError, DecryptHandle, ElGamalPublicKey};
use bulletproofs::PedersenGens;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::Identity;
use rand_core::{CryptoRng, RngCore};
use std::sync::OnceLock;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The Pedersen generators (`B`, `H = B_blinding`) of `bulletproofs::PedersenGens::default()`.
pub fn pedersen_gens() -> &'static PedersenGens {
    static GENS: OnceLock<PedersenGens> = OnceLock::new();
    GENS.get_or_init(PedersenGens::default)
}

/// A Pedersen commitment `C = v·B + r·H` (see the [module documentation](self)).
///
/// Always a valid point: it can only be built by committing or by parsing a canonical encoding.
#[derive(Clone, Copy)]
pub struct Commitment {
    point: RistrettoPoint,
    compressed: CompressedRistretto,
}

impl Commitment {
    /// Length of the encoding in bytes.
    pub const LEN: usize = 32;

    pub(crate) fn from_point(point: RistrettoPoint) -> Self {
        Commitment {
            point,
            compressed: point.compress(),
        }
    }

    pub(crate) fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    pub(crate) fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }

    /// The commitment to a public constant `v` with blinding zero: `v·B`.
    ///
    /// Anyone can compute it, so it hides nothing; it is what the ledger adds or subtracts to
    /// move a committed counter by a public amount. Its opening is [`Opening::public`].
    pub fn public(value: u64) -> Self {
        Commitment::from_point(pedersen_gens().B * Scalar::from(value))
    }

    /// The commitment to zero with blinding zero (the identity point).
    pub fn zero() -> Self {
        Commitment::from_point(RistrettoPoint::identity())
    }

    /// `self + other`: a commitment to the sum of the values, with the sum of the blindings.
    #[allow(clippy::should_implement_trait, reason = "named like the ledger's API")]
    pub fn add(&self, other: &Commitment) -> Commitment {
        Commitment::from_point(self.point + other.point)
    }

    /// `self - other`: a commitment to the difference of the values (modulo `ℓ`), with the
    /// difference of the blindings.
    #[allow(clippy::should_implement_trait, reason = "named like the ledger's API")]
    pub fn sub(&self, other: &Commitment) -> Commitment {
        Commitment::from_point(self.point - other.point)
    }

    /// `k·self`: a commitment to `k` times the value, with `k` times the blinding.
    pub fn mul_u64(&self, k: u64) -> Commitment {
        Commitment::from_point(self.point * Scalar::from(k))
    }

    /// The canonical 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.compressed.to_bytes()
    }

    /// Parses a canonical 32-byte encoding.
    ///
    /// # Errors
    /// [`ConfidentialError::BadLength`] unless exactly 32 bytes;
    /// [`ConfidentialError::InvalidPoint`] if not a canonical Ristretto point encoding.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfidentialError> {
        decode_point(bytes).map(Commitment::from_point)
    }

    /// The encoding as 64 lower-case hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 64 hex characters.
    ///
    /// # Errors
    /// [`ConfidentialError::BadHex`], [`ConfidentialError::BadLength`] or
    /// [`ConfidentialError::InvalidPoint`].
    pub fn from_hex(s: &str) -> Result<Self, ConfidentialError> {
        Commitment::from_bytes(&decode_hex_array::<32>(s)?)
    }
}

impl PartialEq for Commitment {
    fn eq(&self, other: &Self) -> bool {
        // Encodings are canonical, so equal points have equal encodings.
        self.compressed == other.compressed
    }
}
impl Eq for Commitment {}

impl PartialOrd for Commitment {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Commitment {
    /// Orders by encoding bytes (so commitments can key a `BTreeMap`); no arithmetic meaning.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.compressed.as_bytes().cmp(other.compressed.as_bytes())
    }
}

impl std::fmt::Debug for Commitment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Commitment({})", self.to_hex())
    }
}

serde_via_hex!(Commitment);

/// The secret opening `(v, r)` of a [`Commitment`] `C = v·B + r·H`. Wiped on drop.
///
/// Its `Debug` output hides both fields, and it has no `PartialEq` (no variable-time
/// comparisons of secrets).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Opening {
    /// The committed value `v`.
    pub value: u64,
    /// The blinding factor `r`.
    pub blinding: Scalar,
}

impl Opening {
    /// An opening of `value` with a fresh uniformly random blinding.
    pub fn new<R: RngCore + CryptoRng>(value: u64, rng: &mut R) -> Self {
        Opening {
            value,
            blinding: Scalar::random(rng),
        }
    }

    /// The opening of [`Commitment::public`]`(value)`: blinding zero.
    pub fn public(value: u64) -> Self {
        Opening {
            value,
            blinding: Scalar::ZERO,
        }
    }

    /// The commitment `value·B + blinding·H`.
    pub fn commit(&self) -> Commitment {
        Commitment::from_point(pedersen_gens().commit(Scalar::from(self.value), self.blinding))
    }

    /// The regulator's decrypt handle `D = blinding·P` for public key `P`
    /// (see [`crate::elgamal`]).
    pub fn handle(&self, pk: &ElGamalPublicKey) -> DecryptHandle {
        DecryptHandle::from_point(pk.point() * self.blinding)
    }

    /// The opening of `self.commit().add(&other.commit())`.
    ///
    /// # Errors
    /// [`ConfidentialError::ArithmeticOverflow`] if the sum of the values exceeds `u64::MAX`.
    #[allow(clippy::should_implement_trait, reason = "mirrors Commitment::add")]
    pub fn add(&self, other: &Opening) -> Result<Opening, ConfidentialError> {
        Ok(Opening {
            value: self
                .value
                .checked_add(other.value)
                .ok_or(ConfidentialError::ArithmeticOverflow)?,
            blinding: self.blinding + other.blinding,
        })
    }

    /// The opening of `self.commit().sub(&other.commit())`.
    ///
    /// # Errors
    /// [`ConfidentialError::ArithmeticOverflow`] if `other.value > self.value` (the difference is
    /// negative, so the committed value is `ℓ - (other - self)`, which no range proof accepts).
    #[allow(clippy::should_implement_trait, reason = "mirrors Commitment::sub")]
    pub fn sub(&self, other: &Opening) -> Result<Opening, ConfidentialError> {
        Ok(Opening {
            value: self
                .value
                .checked_sub(other.value)
                .ok_or(ConfidentialError::ArithmeticOverflow)?,
            blinding: self.blinding - other.blinding,
        })
    }

    /// The opening of `self.commit().mul_u64(k)`.
    ///
    /// # Errors
    /// [`ConfidentialError::ArithmeticOverflow`] if `k·value` exceeds `u64::MAX`.
    pub fn mul_u64(&self, k: u64) -> Result<Opening, ConfidentialError> {
        Ok(Opening {
            value: self
                .value
                .checked_mul(k)
                .ok_or(ConfidentialError::ArithmeticOverflow)?,
            blinding: self.blinding * Scalar::from(k),
        })
    }
}

impl std::fmt::Debug for Opening {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Opening(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(7)
    }

    #[test]
    fn homomorphism_matches_openings() {
        let mut rng = rng();
        let a = Opening::new(1_000, &mut rng);
        let b = Opening::new(234, &mut rng);
        let sum = a.add(&b).expect("no overflow");
        assert_eq!(sum.value, 1_234);
        assert_eq!(sum.blinding, a.blinding + b.blinding);
        assert_eq!(a.commit().add(&b.commit()), sum.commit());

        let diff = a.sub(&b).expect("no underflow");
        assert_eq!(a.commit().sub(&b.commit()), diff.commit());
        assert_eq!(diff.value, 766);

        let tripled = a.mul_u64(3).expect("no overflow");
        assert_eq!(a.commit().mul_u64(3), tripled.commit());
        assert_eq!(tripled.value, 3_000);

        // Moving a counter by a public amount.
        let moved = a.commit().sub(&Commitment::public(100));
        let moved_opening = a.sub(&Opening::public(100)).expect("no underflow");
        assert_eq!(moved, moved_opening.commit());
        assert_eq!(Commitment::public(0), Commitment::zero());
        assert_eq!(Opening::public(5).commit(), Commitment::public(5));
    }

    #[test]
    fn opening_arithmetic_refuses_to_leave_u64() {
        let mut rng = rng();
        let a = Opening::new(5, &mut rng);
        let b = Opening::new(6, &mut rng);
        let overflow = Some(ConfidentialError::ArithmeticOverflow);
        assert_eq!(a.sub(&b).err(), overflow);
        let max = Opening::new(u64::MAX, &mut rng);
        assert_eq!(max.add(&a).err(), overflow);
        assert_eq!(max.mul_u64(2).err(), overflow);
        // The commitments still compute (modulo ℓ); only the u64 opening is undefined.
        let _ = a.commit().sub(&b.commit());
    }

    #[test]
    fn encoding_roundtrip_and_rejections() {
        let mut rng = rng();
        let c = Opening::new(42, &mut rng).commit();
        assert_eq!(Commitment::from_bytes(&c.to_bytes()), Ok(c));
        assert_eq!(Commitment::from_hex(&c.to_hex()), Ok(c));
        assert_eq!(
            Commitment::from_hex(&c.to_hex().to_uppercase()),
            Ok(c),
            "upper-case hex is accepted"
        );
        let json = serde_json::to_string(&c).expect("serialises");
        assert_eq!(json, format!("\"{}\"", c.to_hex()));
        assert_eq!(serde_json::from_str::<Commitment>(&json).ok(), Some(c));

        assert_eq!(
            Commitment::from_bytes(&[0u8; 31]),
            Err(ConfidentialError::BadLength {
                expected: 32,
                actual: 31
            })
        );
        // 2^255 - 1 is not a canonical field element; 0x01.. is negative (odd).
        assert_eq!(
            Commitment::from_bytes(&[0xff; 32]),
            Err(ConfidentialError::InvalidPoint)
        );
        let mut odd = [0u8; 32];
        odd[0] = 1;
        assert_eq!(
            Commitment::from_bytes(&odd),
            Err(ConfidentialError::InvalidPoint)
        );
        assert_eq!(Commitment::from_hex("zz"), Err(ConfidentialError::BadHex));
        assert_eq!(Commitment::from_hex("abc"), Err(ConfidentialError::BadHex));
        assert!(serde_json::from_str::<Commitment>("\"00\"").is_err());
        assert!(serde_json::from_str::<Commitment>("17").is_err());
    }

    #[test]
    fn opening_debug_hides_secrets() {
        let o = Opening::new(12_345, &mut rng());
        assert_eq!(format!("{o:?}"), "Opening(<secret>)");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn homomorphism_holds(a in 0u64..(1 << 62), b in 0u64..(1 << 62), k in 0u64..4, seed: u64) {
            let mut rng = ChaCha20Rng::seed_from_u64(seed);
            let oa = Opening::new(a, &mut rng);
            let ob = Opening::new(b, &mut rng);
            let sum = oa.add(&ob).expect("below 2^63");
            prop_assert_eq!(oa.commit().add(&ob.commit()), sum.commit());
            let scaled = oa.mul_u64(k).expect("below 2^64");
            prop_assert_eq!(oa.commit().mul_u64(k), scaled.commit());
            if a >= b {
                let diff = oa.sub(&ob).expect("non-negative");
                prop_assert_eq!(oa.commit().sub(&ob.commit()), diff.commit());
            }
        }

        #[test]
        fn parsing_arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80), s in ".{0,80}") {
            let _ = Commitment::from_bytes(&bytes);
            let _ = Commitment::from_hex(&s);
            let _ = Commitment::from_hex(&hex::encode(&bytes));
            let _ = serde_json::from_str::<Commitment>(&s);
            if let Ok(c) = Commitment::from_bytes(&bytes) {
                prop_assert_eq!(c.to_bytes().to_vec(), bytes);
            }
        }
    }
}
