//! Twisted ElGamal decrypt handles for the regulator.
//!
//! # Convention (as in Solana's ZK token design)
//!
//! With the Pedersen generators `B` (value base) and `H` (blinding base) of [`crate::pedersen`]:
//!
//! - the regulator's ElGamal secret is a non-zero scalar `s`;
//! - its public key is `P = s⁻¹·H` ([`ElGamalPublicKey`]; never the identity);
//! - for a commitment `C = v·B + r·H` the **decrypt handle** is `D = r·P` ([`DecryptHandle`]).
//!
//! The pair `(C, D)` is a twisted ElGamal ciphertext of `v`: the regulator computes
//! `C - s·D = v·B + r·H - r·H = v·B` and recovers `v` by a discrete logarithm that is only
//! feasible because `v < 2^32` (see [`crate::dlog`]). Without `s`, `D` reveals nothing about `v`
//! (it does not even depend on `v`); `C` stays a perfectly hiding commitment.
//!
//! Handles are homomorphic like commitments: the handle of `C₁ + C₂` is `D₁ + D₂`, and a public
//! constant (`Commitment::public`, blinding zero) has the identity as handle
//! ([`DecryptHandle::zero`]). So the regulator can decrypt any linear combination of committed
//! counters whose value stays below `2^32`.
//!
//! A handle alone proves nothing: a member could attach a handle of a different blinding. The
//! [`crate::HandleProof`] proves that `C` and `D` share the same `r`.

use crate::encoding::{decode_hex_array, decode_point, serde_via_hex};
use crate::ConfidentialError;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, IsIdentity};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// The regulator's ElGamal public key `P = s⁻¹·H`. Never the identity.
#[derive(Clone, Copy)]
pub struct ElGamalPublicKey {
    point: RistrettoPoint,
    compressed: CompressedRistretto,
}

impl ElGamalPublicKey {
    /// Length of the encoding in bytes.
    pub const LEN: usize = 32;

    pub(crate) fn point(&self) -> &RistrettoPoint {
        &self.point
    }

    pub(crate) fn compressed(&self) -> &CompressedRistretto {
        &self.compressed
    }

    /// The canonical 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.compressed.to_bytes()
    }

    /// Parses a canonical 32-byte encoding.
    ///
    /// # Errors
    /// [`ConfidentialError::BadLength`], [`ConfidentialError::InvalidPoint`], or
    /// [`ConfidentialError::InvalidPublicKey`] for the identity (it would make every handle the
    /// identity and every handle proof vacuous).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfidentialError> {
        let point = decode_point(bytes)?;
        if point.is_identity() {
            return Err(ConfidentialError::InvalidPublicKey(
                "the identity is not an ElGamal public key",
            ));
        }
        Ok(ElGamalPublicKey {
            point,
            compressed: point.compress(),
        })
    }

    /// The encoding as 64 lower-case hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 64 hex characters.
    ///
    /// # Errors
    /// As [`ElGamalPublicKey::from_bytes`], plus [`ConfidentialError::BadHex`].
    pub fn from_hex(s: &str) -> Result<Self, ConfidentialError> {
        ElGamalPublicKey::from_bytes(&decode_hex_array::<32>(s)?)
    }
}

impl PartialEq for ElGamalPublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}
impl Eq for ElGamalPublicKey {}

impl std::fmt::Debug for ElGamalPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ElGamalPublicKey({})", self.to_hex())
    }
}

serde_via_hex!(ElGamalPublicKey);

/// The regulator's ElGamal secret `s` (non-zero). Wiped on drop. Held inside
/// [`crate::ViewSecret`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(crate) struct ElGamalSecret(Scalar);

impl ElGamalSecret {
    /// Wraps a scalar; `None` for zero (which has no inverse, hence no public key).
    pub(crate) fn new(s: Scalar) -> Option<Self> {
        if s == Scalar::ZERO {
            None
        } else {
            Some(ElGamalSecret(s))
        }
    }

    /// The secret `s = 1`; only a fallback that keeps key derivation total (see `view`).
    pub(crate) fn one() -> Self {
        ElGamalSecret(Scalar::ONE)
    }

    /// `P = s⁻¹·H`.
    pub(crate) fn public(&self) -> ElGamalPublicKey {
        let point = crate::pedersen::pedersen_gens().B_blinding * self.0.invert();
        ElGamalPublicKey {
            point,
            compressed: point.compress(),
        }
    }

    /// `C - s·D`, which is `v·B` when `D` is the handle of `C = v·B + r·H` for this key.
    pub(crate) fn value_point(
        &self,
        commitment: &crate::Commitment,
        handle: &DecryptHandle,
    ) -> RistrettoPoint {
        commitment.point() - handle.point * self.0
    }
}

/// A decrypt handle `D = r·P` for the commitment `C = v·B + r·H` (see the
/// [module documentation](self)). Any valid point, the identity included (blinding zero).
#[derive(Clone, Copy)]
pub struct DecryptHandle {
    point: RistrettoPoint,
    compressed: CompressedRistretto,
}

impl DecryptHandle {
    /// Length of the encoding in bytes.
    pub const LEN: usize = 32;

    pub(crate) fn from_point(point: RistrettoPoint) -> Self {
        DecryptHandle {
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

    /// The handle of a commitment with blinding zero (e.g. `Commitment::public`): the identity.
    pub fn zero() -> Self {
        DecryptHandle::from_point(RistrettoPoint::identity())
    }

    /// The handle of the sum of the two commitments.
    #[allow(clippy::should_implement_trait, reason = "mirrors Commitment::add")]
    pub fn add(&self, other: &DecryptHandle) -> DecryptHandle {
        DecryptHandle::from_point(self.point + other.point)
    }

    /// The handle of the difference of the two commitments.
    #[allow(clippy::should_implement_trait, reason = "mirrors Commitment::sub")]
    pub fn sub(&self, other: &DecryptHandle) -> DecryptHandle {
        DecryptHandle::from_point(self.point - other.point)
    }

    /// The handle of `k` times the commitment.
    pub fn mul_u64(&self, k: u64) -> DecryptHandle {
        DecryptHandle::from_point(self.point * Scalar::from(k))
    }

    /// The canonical 32-byte encoding.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.compressed.to_bytes()
    }

    /// Parses a canonical 32-byte encoding.
    ///
    /// # Errors
    /// [`ConfidentialError::BadLength`] or [`ConfidentialError::InvalidPoint`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfidentialError> {
        decode_point(bytes).map(DecryptHandle::from_point)
    }

    /// The encoding as 64 lower-case hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 64 hex characters.
    ///
    /// # Errors
    /// As [`DecryptHandle::from_bytes`], plus [`ConfidentialError::BadHex`].
    pub fn from_hex(s: &str) -> Result<Self, ConfidentialError> {
        DecryptHandle::from_bytes(&decode_hex_array::<32>(s)?)
    }
}

impl PartialEq for DecryptHandle {
    fn eq(&self, other: &Self) -> bool {
        self.compressed == other.compressed
    }
}
impl Eq for DecryptHandle {}

impl std::fmt::Debug for DecryptHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecryptHandle({})", self.to_hex())
    }
}

serde_via_hex!(DecryptHandle);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Commitment, Opening, ViewSecret};
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn regulator_recovers_value_point() {
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let view = ViewSecret::from_seed([9; 32]);
        let pk = view.public().elgamal();
        let o = Opening::new(77, &mut rng);
        let handle = o.handle(&pk);
        let recovered = view.elgamal_secret().value_point(&o.commit(), &handle);
        assert_eq!(
            recovered,
            crate::pedersen::pedersen_gens().B * Scalar::from(77u64)
        );
    }

    #[test]
    fn handles_are_homomorphic() {
        let mut rng = ChaCha20Rng::seed_from_u64(2);
        let view = ViewSecret::from_seed([3; 32]);
        let pk = view.public().elgamal();
        let a = Opening::new(10, &mut rng);
        let b = Opening::new(4, &mut rng);
        let sum = a.add(&b).expect("small");
        assert_eq!(a.handle(&pk).add(&b.handle(&pk)), sum.handle(&pk));
        let diff = a.sub(&b).expect("small");
        assert_eq!(a.handle(&pk).sub(&b.handle(&pk)), diff.handle(&pk));
        assert_eq!(
            a.handle(&pk).mul_u64(5),
            a.mul_u64(5).expect("small").handle(&pk)
        );
        assert_eq!(Opening::public(9).handle(&pk), DecryptHandle::zero());
        // Decrypting a homomorphic combination: 3·a + public(6) - b = 32.
        let c = a
            .commit()
            .mul_u64(3)
            .add(&Commitment::public(6))
            .sub(&b.commit());
        let d = a
            .handle(&pk)
            .mul_u64(3)
            .add(&DecryptHandle::zero())
            .sub(&b.handle(&pk));
        assert_eq!(view.decrypt(&c, &d), Ok(32));
    }

    #[test]
    fn identity_public_key_is_rejected() {
        assert_eq!(
            ElGamalPublicKey::from_bytes(&[0u8; 32]).err(),
            Some(ConfidentialError::InvalidPublicKey(
                "the identity is not an ElGamal public key"
            ))
        );
        assert_eq!(
            DecryptHandle::from_bytes(&[0u8; 32]),
            Ok(DecryptHandle::zero())
        );
    }

    #[test]
    fn encodings_roundtrip() {
        let view = ViewSecret::from_seed([4; 32]);
        let pk = view.public().elgamal();
        assert_eq!(ElGamalPublicKey::from_hex(&pk.to_hex()), Ok(pk));
        let json = serde_json::to_string(&pk).expect("serialises");
        assert_eq!(
            serde_json::from_str::<ElGamalPublicKey>(&json).ok(),
            Some(pk)
        );
        let h = Opening::new(1, &mut ChaCha20Rng::seed_from_u64(3)).handle(&pk);
        assert_eq!(DecryptHandle::from_hex(&h.to_hex()), Ok(h));
        let json = serde_json::to_string(&h).expect("serialises");
        assert_eq!(serde_json::from_str::<DecryptHandle>(&json).ok(), Some(h));
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80), s in ".{0,80}") {
            let _ = ElGamalPublicKey::from_bytes(&bytes);
            let _ = ElGamalPublicKey::from_hex(&s);
            let _ = DecryptHandle::from_bytes(&bytes);
            let _ = DecryptHandle::from_hex(&s);
            let _ = DecryptHandle::from_hex(&hex::encode(&bytes));
            let _ = serde_json::from_str::<DecryptHandle>(&s);
            let _ = serde_json::from_str::<ElGamalPublicKey>(&s);
        }
    }
}
