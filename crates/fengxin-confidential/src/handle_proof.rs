//! Proof that a decrypt handle matches a commitment.
//!
//! # Statement
//!
//! Public: the commitment `C`, the handle `D`, the regulator's key `P` (see
//! [`crate::elgamal`]) and a context byte string. The prover shows knowledge of `(v, r)` with
//!
//! ```text
//! C = v·B + r·H    and    D = r·P
//! ```
//!
//! so the regulator's decryption `C - s·D` yields `v·B` for the committed `v`. (That `v` is
//! *small* is the range proof's job; together they make the counter decryptable.)
//!
//! # Protocol (Schnorr-style sigma protocol, Fiat–Shamir)
//!
//! 1. Prover picks random `k_v, k_r` and sends `Y_C = k_v·B + k_r·H`, `Y_D = k_r·P`.
//! 2. Challenge `c` = 64 bytes from a merlin transcript labelled
//!    [`crate::labels::HANDLE_PROOF`] after appending, in order: `context`, `P`, `C`, `D`, `Y_C`,
//!    `Y_D`; reduced modulo `ℓ`.
//! 3. Prover sends `z_v = k_v + c·v`, `z_r = k_r + c·r`.
//!
//! The verifier checks `z_v·B + z_r·H = Y_C + c·C` and `z_r·P = Y_D + c·D`, combined into one
//! multi-scalar multiplication with a weight `w` drawn from the same transcript after `z_v, z_r`
//! (a false equation survives with probability `1/ℓ`). Special soundness: two accepting
//! transcripts with different `c` give `v = Δz_v/Δc`, `r = Δz_r/Δc`; honest-verifier zero
//! knowledge: `(Y_C, Y_D)` can be simulated from random `(c, z_v, z_r)`. Binding `context`
//! prevents replaying a proof in another record.
//!
//! # Encoding
//!
//! 128 bytes: `Y_C ‖ Y_D ‖ z_v ‖ z_r` (compressed points, canonical little-endian scalars).
//! Serde: 256 hex characters.

use crate::encoding::{decode_hex_array, decode_point, decode_scalar, serde_via_hex};
use crate::pedersen::pedersen_gens;
use crate::{labels, Commitment, ConfidentialError, DecryptHandle, ElGamalPublicKey, Opening};
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use merlin::Transcript;
use rand_core::{CryptoRng, RngCore};
use zeroize::Zeroizing;

/// A proof that a [`DecryptHandle`] matches a [`Commitment`] (see the
/// [module documentation](self)).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct HandleProof {
    y_c: CompressedRistretto,
    y_d: CompressedRistretto,
    z_v: Scalar,
    z_r: Scalar,
}

fn challenge(t: &mut Transcript, label: &'static [u8]) -> Scalar {
    let mut bytes = [0u8; 64];
    t.challenge_bytes(label, &mut bytes);
    Scalar::from_bytes_mod_order_wide(&bytes)
}

fn statement_transcript(
    commitment: &Commitment,
    handle: &DecryptHandle,
    pk: &ElGamalPublicKey,
    context: &[u8],
) -> Transcript {
    let mut t = Transcript::new(labels::HANDLE_PROOF);
    t.append_message(b"context", context);
    t.append_message(b"P", pk.compressed().as_bytes());
    t.append_message(b"C", commitment.compressed().as_bytes());
    t.append_message(b"D", handle.compressed().as_bytes());
    t
}

impl HandleProof {
    /// Length of the encoding in bytes.
    pub const LEN: usize = 128;

    /// Proves that `handle` is the handle of `commitment` under `pk`, given its opening.
    ///
    /// The caller passes the commitment and handle it publishes (normally `opening.commit()`
    /// and `opening.handle(pk)`); if they do not match the opening, the proof simply does not
    /// verify.
    pub fn prove<R: RngCore + CryptoRng>(
        opening: &Opening,
        commitment: &Commitment,
        handle: &DecryptHandle,
        pk: &ElGamalPublicKey,
        context: &[u8],
        rng: &mut R,
    ) -> HandleProof {
        let gens = pedersen_gens();
        let k_v = Zeroizing::new(Scalar::random(rng));
        let k_r = Zeroizing::new(Scalar::random(rng));
        let y_c = gens.commit(*k_v, *k_r).compress();
        let y_d = (pk.point() * *k_r).compress();

        let mut t = statement_transcript(commitment, handle, pk, context);
        t.append_message(b"Y_C", y_c.as_bytes());
        t.append_message(b"Y_D", y_d.as_bytes());
        let c = challenge(&mut t, b"c");

        let z_v = *k_v + c * Scalar::from(opening.value);
        let z_r = *k_r + c * opening.blinding;
        HandleProof { y_c, y_d, z_v, z_r }
    }

    /// Verifies the proof for this commitment, handle, key and context.
    ///
    /// # Errors
    /// [`ConfidentialError::HandleProofRejected`].
    pub fn verify(
        &self,
        commitment: &Commitment,
        handle: &DecryptHandle,
        pk: &ElGamalPublicKey,
        context: &[u8],
    ) -> Result<(), ConfidentialError> {
        let rejected = ConfidentialError::HandleProofRejected;
        // Parsing already checked these; decompressing again keeps the type `Copy` and small.
        let y_c = self.y_c.decompress().ok_or(rejected.clone())?;
        let y_d = self.y_d.decompress().ok_or(rejected.clone())?;

        let mut t = statement_transcript(commitment, handle, pk, context);
        t.append_message(b"Y_C", self.y_c.as_bytes());
        t.append_message(b"Y_D", self.y_d.as_bytes());
        let c = challenge(&mut t, b"c");
        t.append_message(b"z_v", self.z_v.as_bytes());
        t.append_message(b"z_r", self.z_r.as_bytes());
        let w = challenge(&mut t, b"w");

        // z_v·B + z_r·H - c·C - Y_C  +  w·(z_r·P - c·D - Y_D)  ==  0
        let gens = pedersen_gens();
        let check = RistrettoPoint::vartime_multiscalar_mul(
            [
                self.z_v,
                self.z_r,
                -c,
                -Scalar::ONE,
                w * self.z_r,
                -(w * c),
                -w,
            ],
            [
                gens.B,
                gens.B_blinding,
                *commitment.point(),
                y_c,
                *pk.point(),
                *handle.point(),
                y_d,
            ],
        );
        if check.is_identity() {
            Ok(())
        } else {
            Err(rejected)
        }
    }

    /// The 128-byte encoding `Y_C ‖ Y_D ‖ z_v ‖ z_r`.
    pub fn to_bytes(&self) -> [u8; 128] {
        let mut out = [0u8; 128];
        out[..32].copy_from_slice(self.y_c.as_bytes());
        out[32..64].copy_from_slice(self.y_d.as_bytes());
        out[64..96].copy_from_slice(self.z_v.as_bytes());
        out[96..].copy_from_slice(self.z_r.as_bytes());
        out
    }

    /// Parses the 128-byte encoding.
    ///
    /// # Errors
    /// [`ConfidentialError::BadLength`], [`ConfidentialError::InvalidPoint`],
    /// [`ConfidentialError::InvalidScalar`].
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfidentialError> {
        if bytes.len() != Self::LEN {
            return Err(ConfidentialError::BadLength {
                expected: Self::LEN,
                actual: bytes.len(),
            });
        }
        let y_c = decode_point(&bytes[..32])?.compress();
        let y_d = decode_point(&bytes[32..64])?.compress();
        let z_v = decode_scalar(&bytes[64..96])?;
        let z_r = decode_scalar(&bytes[96..])?;
        Ok(HandleProof { y_c, y_d, z_v, z_r })
    }

    /// The encoding as 256 lower-case hex characters.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses 256 hex characters.
    ///
    /// # Errors
    /// As [`HandleProof::from_bytes`], plus [`ConfidentialError::BadHex`].
    pub fn from_hex(s: &str) -> Result<Self, ConfidentialError> {
        HandleProof::from_bytes(&decode_hex_array::<128>(s)?)
    }
}

impl std::fmt::Debug for HandleProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "HandleProof({})", self.to_hex())
    }
}

serde_via_hex!(HandleProof);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ViewSecret;
    use proptest::prelude::*;
    use rand_chacha::rand_core::SeedableRng;
    use rand_chacha::ChaCha20Rng;

    const REJECTED: Result<(), ConfidentialError> = Err(ConfidentialError::HandleProofRejected);

    struct Fixture {
        opening: Opening,
        c: Commitment,
        d: DecryptHandle,
        pk: ElGamalPublicKey,
        rng: ChaCha20Rng,
    }

    fn fixture() -> Fixture {
        let mut rng = ChaCha20Rng::seed_from_u64(21);
        let pk = ViewSecret::from_seed([1; 32]).public().elgamal();
        let opening = Opening::new(4_242, &mut rng);
        Fixture {
            c: opening.commit(),
            d: opening.handle(&pk),
            opening,
            pk,
            rng,
        }
    }

    #[test]
    fn honest_proof_verifies_and_roundtrips() {
        let mut f = fixture();
        let proof = HandleProof::prove(&f.opening, &f.c, &f.d, &f.pk, b"ctx", &mut f.rng);
        assert_eq!(proof.verify(&f.c, &f.d, &f.pk, b"ctx"), Ok(()));
        let parsed = HandleProof::from_hex(&proof.to_hex()).expect("roundtrip");
        assert_eq!(parsed, proof);
        let json = serde_json::to_string(&proof).expect("serialises");
        assert_eq!(serde_json::from_str::<HandleProof>(&json).ok(), Some(proof));
        assert_eq!(parsed.verify(&f.c, &f.d, &f.pk, b"ctx"), Ok(()));
    }

    #[test]
    fn handle_with_a_different_blinding_is_rejected() {
        let mut f = fixture();
        // The member attaches the handle of another blinding and "proves" it with either one.
        let other = Opening::new(f.opening.value, &mut f.rng);
        let wrong_d = other.handle(&f.pk);
        for opening in [&f.opening, &other] {
            let proof = HandleProof::prove(opening, &f.c, &wrong_d, &f.pk, b"ctx", &mut f.rng);
            assert_eq!(proof.verify(&f.c, &wrong_d, &f.pk, b"ctx"), REJECTED);
        }
        // And an honest proof does not carry over to another handle.
        let proof = HandleProof::prove(&f.opening, &f.c, &f.d, &f.pk, b"ctx", &mut f.rng);
        assert_eq!(proof.verify(&f.c, &wrong_d, &f.pk, b"ctx"), REJECTED);
        assert_eq!(
            proof.verify(&f.c, &DecryptHandle::zero(), &f.pk, b"ctx"),
            REJECTED
        );
    }

    #[test]
    fn different_key_context_or_commitment_is_rejected() {
        let mut f = fixture();
        let proof = HandleProof::prove(&f.opening, &f.c, &f.d, &f.pk, b"ctx", &mut f.rng);
        let other_pk = ViewSecret::from_seed([2; 32]).public().elgamal();
        assert_eq!(proof.verify(&f.c, &f.d, &other_pk, b"ctx"), REJECTED);
        assert_eq!(proof.verify(&f.c, &f.d, &f.pk, b"ctx2"), REJECTED);
        assert_eq!(proof.verify(&f.c, &f.d, &f.pk, b""), REJECTED);
        let other_c = Opening::new(f.opening.value + 1, &mut f.rng).commit();
        assert_eq!(proof.verify(&other_c, &f.d, &f.pk, b"ctx"), REJECTED);
        // A handle made for another key, proven for that key, does not verify for ours.
        let d_other = f.opening.handle(&other_pk);
        let proof_other =
            HandleProof::prove(&f.opening, &f.c, &d_other, &other_pk, b"ctx", &mut f.rng);
        assert_eq!(
            proof_other.verify(&f.c, &d_other, &other_pk, b"ctx"),
            Ok(())
        );
        assert_eq!(proof_other.verify(&f.c, &d_other, &f.pk, b"ctx"), REJECTED);
    }

    #[test]
    fn tampered_proof_bytes_are_rejected() {
        let mut f = fixture();
        let proof = HandleProof::prove(&f.opening, &f.c, &f.d, &f.pk, b"ctx", &mut f.rng);
        let bytes = proof.to_bytes();
        for i in 0..bytes.len() {
            let mut tampered = bytes;
            tampered[i] ^= 0x02;
            if let Ok(p) = HandleProof::from_bytes(&tampered) {
                assert_eq!(p.verify(&f.c, &f.d, &f.pk, b"ctx"), REJECTED, "byte {i}");
            }
        }
    }

    proptest! {
        #[test]
        fn parsing_arbitrary_input_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200), s in ".{0,300}") {
            let _ = HandleProof::from_hex(&s);
            let _ = serde_json::from_str::<HandleProof>(&s);
            if let Ok(p) = HandleProof::from_bytes(&bytes) {
                let f = fixture();
                prop_assert_eq!(p.verify(&f.c, &f.d, &f.pk, b"ctx"), REJECTED);
            }
        }
    }
}
