//! A committed count: what a member publishes for the size of one of its lists each epoch.
//!
//! [`CommittedCount`] bundles
//!
//! - the Pedersen commitment `C` to the size `v` ([`crate::pedersen`]),
//! - a 32-bit range proof under [`crate::labels::LIST_SIZE_RANGE_PROOF`] ([`crate::range`]),
//! - the regulator's decrypt handle `D` ([`crate::elgamal`]),
//! - the proof that `D` matches `C` ([`crate::HandleProof`]).
//!
//! Both proofs are bound to the same caller-supplied `context` (the ledger passes the encoding
//! of the publication it belongs to: member, list, epoch), so the bundle cannot be replayed in
//! another publication. A verified bundle guarantees that `C` commits to some `v < 2^32` and
//! that the regulator holding the view key will decrypt exactly that `v`.

use crate::range::{prove_range_with_context, verify_range_with_context};
use crate::{
    labels, Commitment, ConfidentialError, DecryptHandle, ElGamalPublicKey, HandleProof, Opening,
    RangeProof, ViewSecret,
};
use rand_core::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};

/// A commitment to a value below `2^32` with its range proof, the regulator's decrypt handle
/// and the handle proof. Serde: a struct of hex strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommittedCount {
    /// The commitment `C = v·B + r·H`.
    pub commitment: Commitment,
    /// 32-bit range proof of `C`, bound to the context.
    pub range_proof: RangeProof,
    /// The decrypt handle `D = r·P`.
    pub handle: DecryptHandle,
    /// Proof that `D` matches `C` under `P`, bound to the context.
    pub handle_proof: HandleProof,
}

impl CommittedCount {
    /// Commits to `value` (which must be below `2^32`) with a fresh blinding and builds the
    /// proofs. Returns the bundle and its opening; the member keeps the opening to compute
    /// openings of derived commitments (allowances) later.
    ///
    /// # Errors
    /// [`ConfidentialError::OutOfRange`] if `value ≥ 2^32`.
    pub fn new<R: RngCore + CryptoRng>(
        value: u64,
        pk: &ElGamalPublicKey,
        context: &[u8],
        rng: &mut R,
    ) -> Result<(CommittedCount, Opening), ConfidentialError> {
        let opening = Opening::new(value, rng);
        let count = CommittedCount::from_opening(&opening, pk, context, rng)?;
        Ok((count, opening))
    }

    /// As [`CommittedCount::new`], for an existing opening.
    ///
    /// # Errors
    /// [`ConfidentialError::OutOfRange`] if `opening.value ≥ 2^32`.
    pub fn from_opening<R: RngCore + CryptoRng>(
        opening: &Opening,
        pk: &ElGamalPublicKey,
        context: &[u8],
        rng: &mut R,
    ) -> Result<CommittedCount, ConfidentialError> {
        let range_proof =
            prove_range_with_context(opening, 32, labels::LIST_SIZE_RANGE_PROOF, context, rng)?;
        let commitment = opening.commit();
        let handle = opening.handle(pk);
        let handle_proof = HandleProof::prove(opening, &commitment, &handle, pk, context, rng);
        Ok(CommittedCount {
            commitment,
            range_proof,
            handle,
            handle_proof,
        })
    }

    /// Checks the range proof and the handle proof for the regulator key `pk` and `context`.
    ///
    /// # Errors
    /// [`ConfidentialError::RangeProofRejected`] or [`ConfidentialError::HandleProofRejected`].
    pub fn verify(&self, pk: &ElGamalPublicKey, context: &[u8]) -> Result<(), ConfidentialError> {
        verify_range_with_context(
            &self.commitment,
            &self.range_proof,
            32,
            labels::LIST_SIZE_RANGE_PROOF,
            context,
        )?;
        self.handle_proof
            .verify(&self.commitment, &self.handle, pk, context)
    }

    /// The regulator's decryption of the committed value (see [`ViewSecret::decrypt`]).
    ///
    /// Call [`CommittedCount::verify`] first: for a verified bundle this always succeeds.
    ///
    /// # Errors
    /// [`ConfidentialError::DiscreteLogNotFound`] for another view key or an unverified,
    /// inconsistent bundle.
    pub fn decrypt(&self, view: &ViewSecret) -> Result<u64, ConfidentialError> {
        view.decrypt(&self.commitment, &self.handle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    #[test]
    fn bundle_verifies_and_decrypts() {
        let mut rng = ChaCha20Rng::seed_from_u64(8);
        let regulator = ViewSecret::from_seed([20; 32]);
        let pk = regulator.public().elgamal();
        for v in [0u64, 1, 9_999_999, u64::from(u32::MAX)] {
            let (count, opening) =
                CommittedCount::new(v, &pk, b"member 3 / fraud_txn / epoch 9", &mut rng)
                    .expect("in range");
            assert_eq!(opening.commit(), count.commitment);
            assert_eq!(count.verify(&pk, b"member 3 / fraud_txn / epoch 9"), Ok(()));
            assert_eq!(count.decrypt(&regulator), Ok(v));

            let json = serde_json::to_string(&count).expect("serialises");
            let back: CommittedCount = serde_json::from_str(&json).expect("parses");
            assert_eq!(back, count);
            assert_eq!(back.verify(&pk, b"member 3 / fraud_txn / epoch 9"), Ok(()));
        }
    }

    #[test]
    fn bundle_rejections() {
        let mut rng = ChaCha20Rng::seed_from_u64(9);
        let regulator = ViewSecret::from_seed([21; 32]);
        let pk = regulator.public().elgamal();
        let ctx: &[u8] = b"ctx";
        assert_eq!(
            CommittedCount::new(1 << 32, &pk, ctx, &mut rng).err(),
            Some(ConfidentialError::OutOfRange {
                value: 1 << 32,
                bits: 32
            })
        );
        let (count, _) = CommittedCount::new(500, &pk, ctx, &mut rng).expect("in range");

        // Another context: the range proof is checked first.
        assert_eq!(
            count.verify(&pk, b"other"),
            Err(ConfidentialError::RangeProofRejected)
        );
        // Another regulator key.
        let other = ViewSecret::from_seed([22; 32]);
        assert_eq!(
            count.verify(&other.public().elgamal(), ctx),
            Err(ConfidentialError::HandleProofRejected)
        );
        assert_eq!(
            count.decrypt(&other),
            Err(ConfidentialError::DiscreteLogNotFound)
        );

        // A member swaps in a handle of another blinding (so the regulator would read garbage).
        let mut forged = count.clone();
        forged.handle = Opening::new(500, &mut rng).handle(&pk);
        assert_eq!(
            forged.verify(&pk, ctx),
            Err(ConfidentialError::HandleProofRejected)
        );

        // A member swaps the commitment for one to a bigger value, keeping the proofs.
        let mut forged = count.clone();
        forged.commitment = forged.commitment.add(&Commitment::public(1));
        assert_eq!(
            forged.verify(&pk, ctx),
            Err(ConfidentialError::RangeProofRejected)
        );

        // Replacing both proofs with ones from another bundle fails as well.
        let (other_count, _) = CommittedCount::new(500, &pk, ctx, &mut rng).expect("in range");
        let mut forged = count.clone();
        forged.handle_proof = other_count.handle_proof;
        assert_eq!(
            forged.verify(&pk, ctx),
            Err(ConfidentialError::HandleProofRejected)
        );
        let mut forged = count;
        forged.range_proof = other_count.range_proof;
        assert_eq!(
            forged.verify(&pk, ctx),
            Err(ConfidentialError::RangeProofRejected)
        );
    }

    #[test]
    fn a_64_bit_proof_does_not_pass_as_the_32_bit_one() {
        let mut rng = ChaCha20Rng::seed_from_u64(10);
        let pk = ViewSecret::from_seed([23; 32]).public().elgamal();
        let (mut count, opening) = CommittedCount::new(7, &pk, b"ctx", &mut rng).expect("fits");
        count.range_proof = crate::prove_range_with_context(
            &opening,
            64,
            labels::LIST_SIZE_RANGE_PROOF,
            b"ctx",
            &mut rng,
        )
        .expect("fits");
        assert_eq!(
            count.verify(&pk, b"ctx"),
            Err(ConfidentialError::RangeProofRejected)
        );
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_json_never_panics(s in ".{0,400}") {
            let _ = serde_json::from_str::<CommittedCount>(&s);
        }
    }

    #[test]
    fn garbage_json_is_rejected_without_panic() {
        for s in [
            "",
            "{}",
            "null",
            r#"{"commitment":"00","range_proof":"","handle":"","handle_proof":""}"#,
            r#"{"commitment":7}"#,
        ] {
            assert!(serde_json::from_str::<CommittedCount>(s).is_err(), "{s}");
        }
    }
}
