//! Bulletproofs range proofs over the commitments of [`crate::pedersen`].
//!
//! # What is proven
//!
//! [`verify_range`] accepts only if the prover knows an opening `(v, r)` of the commitment with
//! `0 ≤ v < 2^bits` (`bits` is 32 or 64). [`verify_range_aggregated`] does the same for every
//! commitment of a list, with one proof of logarithmic size. Proofs are non-interactive
//! (Fiat–Shamir over a merlin transcript) and zero-knowledge: they reveal nothing about `v`
//! beyond the range.
//!
//! # Transcript
//!
//! The transcript starts with the caller's label (one of [`crate::labels`]; a proof made under
//! one label does not verify under another), then the message `fengxin-context` (a
//! caller-supplied byte string, empty for [`prove_range`]/[`verify_range`]) and the
//! `fengxin-count` (number of real values, before padding); then the `bulletproofs` crate
//! appends its own domain separator, `n`, `m` and the commitments.
//!
//! # Aggregation and padding
//!
//! The `bulletproofs` crate aggregates a power-of-two number `m` of values. A list of `k` values
//! is padded to the next power of two with commitments to 0 **with blinding 0** — the identity
//! point, whose opening is public. Prover and verifier pad identically; the real count `k` is in
//! the transcript, so a proof for `k` values does not verify for the padded list. At most
//! [`MAX_AGGREGATION`] = 64 values of 64 bits go in one proof; the generators for that case
//! (`BulletproofGens::new(64, 64)`, 8192 points) are built once, lazily.
//!
//! # Verifier randomness
//!
//! Bulletproofs verification batches its equations with a random scalar. Here it comes from a
//! ChaCha20 stream seeded with SHA-256 of the label, context, commitments and proof (under
//! [`crate::labels::RANGE_VERIFIER_RNG`]), so verification is deterministic — every replica of
//! the ledger reaches the same verdict — and needs no OS randomness. The batching scalar is
//! thereby fixed after the proof, exactly as a Fiat–Shamir challenge.

use crate::encoding::{decode_hex, serde_via_hex};
use crate::pedersen::pedersen_gens;
use crate::{labels, Commitment, ConfidentialError, Opening};
use bulletproofs::BulletproofGens;
use curve25519_dalek::ristretto::CompressedRistretto;
use curve25519_dalek::scalar::Scalar;
use merlin::Transcript;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;
use rand_core::{CryptoRng, RngCore};
use sha2::{Digest, Sha256};
use std::sync::OnceLock;

/// The largest number of values in one aggregated range proof.
pub const MAX_AGGREGATION: usize = 64;

/// The largest supported bit size.
const MAX_BITS: usize = 64;

/// Size in bytes of the largest proof we accept: `(2·log2(64·64) + 9)·32`.
pub const MAX_RANGE_PROOF_LEN: usize = (2 * 12 + 9) * 32;

fn bulletproof_gens() -> &'static BulletproofGens {
    static GENS: OnceLock<BulletproofGens> = OnceLock::new();
    GENS.get_or_init(|| BulletproofGens::new(MAX_BITS, MAX_AGGREGATION))
}

/// A Bulletproofs range proof (single or aggregated). Serde: hex of [`RangeProof::to_bytes`].
#[derive(Clone)]
pub struct RangeProof(bulletproofs::RangeProof);

impl RangeProof {
    /// The proof's bytes (`bulletproofs` layout: `(2·log2(bits·m) + 9)` 32-byte elements).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.0.to_bytes()
    }

    /// Parses proof bytes.
    ///
    /// # Errors
    /// [`ConfidentialError::RangeProofMalformed`] for a wrong length (longer than
    /// [`MAX_RANGE_PROOF_LEN`] included), a non-canonical scalar or an ill-formed structure.
    /// Points are only decompressed when verifying.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ConfidentialError> {
        if bytes.len() > MAX_RANGE_PROOF_LEN {
            return Err(ConfidentialError::RangeProofMalformed);
        }
        bulletproofs::RangeProof::from_bytes(bytes)
            .map(RangeProof)
            .map_err(|_| ConfidentialError::RangeProofMalformed)
    }

    /// The proof as lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.to_bytes())
    }

    /// Parses hex proof bytes.
    ///
    /// # Errors
    /// [`ConfidentialError::BadHex`], [`ConfidentialError::BadLength`] (longer than
    /// [`MAX_RANGE_PROOF_LEN`]), or as [`RangeProof::from_bytes`].
    pub fn from_hex(s: &str) -> Result<Self, ConfidentialError> {
        RangeProof::from_bytes(&decode_hex(s, MAX_RANGE_PROOF_LEN)?)
    }
}

impl PartialEq for RangeProof {
    fn eq(&self, other: &Self) -> bool {
        self.to_bytes() == other.to_bytes()
    }
}
impl Eq for RangeProof {}

impl std::fmt::Debug for RangeProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RangeProof({} bytes)", self.to_bytes().len())
    }
}

serde_via_hex!(RangeProof);

fn check_bits(bits: usize) -> Result<(), ConfidentialError> {
    match bits {
        32 | 64 => Ok(()),
        other => Err(ConfidentialError::UnsupportedBitSize(other)),
    }
}

/// Number of values after padding, or an error for 0 or more than [`MAX_AGGREGATION`].
fn padded_len(count: usize) -> Result<usize, ConfidentialError> {
    if count == 0 {
        return Err(ConfidentialError::NoValues);
    }
    if count > MAX_AGGREGATION {
        return Err(ConfidentialError::TooManyValues {
            count,
            max: MAX_AGGREGATION,
        });
    }
    Ok(count.next_power_of_two())
}

fn transcript(label: &'static [u8], context: &[u8], count: usize) -> Transcript {
    let mut t = Transcript::new(label);
    t.append_message(b"fengxin-context", context);
    t.append_u64(b"fengxin-count", count as u64);
    t
}

/// Proves that `opening` commits to a value in `[0, 2^bits)`, `bits` ∈ {32, 64}.
///
/// The proof verifies with [`verify_range`] against `opening.commit()` and the same label.
///
/// # Errors
/// [`ConfidentialError::UnsupportedBitSize`]; [`ConfidentialError::OutOfRange`] if the value
/// does not fit in `bits` bits (no valid proof exists).
pub fn prove_range<R: RngCore + CryptoRng>(
    opening: &Opening,
    bits: usize,
    transcript_label: &'static [u8],
    rng: &mut R,
) -> Result<RangeProof, ConfidentialError> {
    prove_range_with_context(opening, bits, transcript_label, &[], rng)
}

/// Verifies a proof made by [`prove_range`].
///
/// # Errors
/// [`ConfidentialError::UnsupportedBitSize`]; [`ConfidentialError::RangeProofRejected`] if the
/// proof does not prove `commitment ∈ [0, 2^bits)` under this label.
pub fn verify_range(
    commitment: &Commitment,
    proof: &RangeProof,
    bits: usize,
    transcript_label: &'static [u8],
) -> Result<(), ConfidentialError> {
    verify_range_with_context(commitment, proof, bits, transcript_label, &[])
}

/// [`prove_range`], with the proof also bound to `context` (e.g. the record it belongs to):
/// it verifies only with [`verify_range_with_context`] and the same context.
///
/// # Errors
/// As [`prove_range`].
pub fn prove_range_with_context<R: RngCore + CryptoRng>(
    opening: &Opening,
    bits: usize,
    transcript_label: &'static [u8],
    context: &[u8],
    rng: &mut R,
) -> Result<RangeProof, ConfidentialError> {
    prove_range_aggregated_with_context(
        std::slice::from_ref(opening),
        bits,
        transcript_label,
        context,
        rng,
    )
}

/// Verifies a proof made by [`prove_range_with_context`].
///
/// # Errors
/// As [`verify_range`].
pub fn verify_range_with_context(
    commitment: &Commitment,
    proof: &RangeProof,
    bits: usize,
    transcript_label: &'static [u8],
    context: &[u8],
) -> Result<(), ConfidentialError> {
    verify_range_aggregated_with_context(
        std::slice::from_ref(commitment),
        proof,
        bits,
        transcript_label,
        context,
    )
}

/// Proves, in one proof, that every opening commits to a value in `[0, 2^bits)`.
///
/// Any count from 1 to [`MAX_AGGREGATION`] is accepted; it is padded to a power of two as the
/// [module documentation](self) describes.
///
/// # Errors
/// [`ConfidentialError::UnsupportedBitSize`], [`ConfidentialError::NoValues`],
/// [`ConfidentialError::TooManyValues`], [`ConfidentialError::OutOfRange`].
pub fn prove_range_aggregated<R: RngCore + CryptoRng>(
    openings: &[Opening],
    bits: usize,
    transcript_label: &'static [u8],
    rng: &mut R,
) -> Result<RangeProof, ConfidentialError> {
    prove_range_aggregated_with_context(openings, bits, transcript_label, &[], rng)
}

/// Verifies a proof made by [`prove_range_aggregated`] for these commitments, in this order.
///
/// # Errors
/// [`ConfidentialError::UnsupportedBitSize`], [`ConfidentialError::NoValues`],
/// [`ConfidentialError::TooManyValues`], [`ConfidentialError::RangeProofRejected`].
pub fn verify_range_aggregated(
    commitments: &[Commitment],
    proof: &RangeProof,
    bits: usize,
    transcript_label: &'static [u8],
) -> Result<(), ConfidentialError> {
    verify_range_aggregated_with_context(commitments, proof, bits, transcript_label, &[])
}

/// [`prove_range_aggregated`], bound to `context`.
///
/// # Errors
/// As [`prove_range_aggregated`].
pub fn prove_range_aggregated_with_context<R: RngCore + CryptoRng>(
    openings: &[Opening],
    bits: usize,
    transcript_label: &'static [u8],
    context: &[u8],
    rng: &mut R,
) -> Result<RangeProof, ConfidentialError> {
    check_bits(bits)?;
    let padded = padded_len(openings.len())?;
    if bits < 64 {
        if let Some(o) = openings.iter().find(|o| o.value >> bits != 0) {
            return Err(ConfidentialError::OutOfRange {
                value: o.value,
                bits,
            });
        }
    }
    let mut values: Vec<u64> = openings.iter().map(|o| o.value).collect();
    let mut blindings: Vec<Scalar> = openings.iter().map(|o| o.blinding).collect();
    values.resize(padded, 0);
    blindings.resize(padded, Scalar::ZERO);

    let mut t = transcript(transcript_label, context, openings.len());
    let result = bulletproofs::RangeProof::prove_multiple_with_rng(
        bulletproof_gens(),
        pedersen_gens(),
        &mut t,
        &values,
        &blindings,
        bits,
        rng,
    );
    zeroize::Zeroize::zeroize(&mut values);
    zeroize::Zeroize::zeroize(&mut blindings);
    // All parameters were checked above, so the crate cannot refuse; map defensively anyway.
    result
        .map(|(proof, _)| RangeProof(proof))
        .map_err(|_| ConfidentialError::RangeProofRejected)
}

/// Verifies a proof made by [`prove_range_aggregated_with_context`].
///
/// # Errors
/// As [`verify_range_aggregated`].
pub fn verify_range_aggregated_with_context(
    commitments: &[Commitment],
    proof: &RangeProof,
    bits: usize,
    transcript_label: &'static [u8],
    context: &[u8],
) -> Result<(), ConfidentialError> {
    check_bits(bits)?;
    let padded = padded_len(commitments.len())?;
    let mut points: Vec<CompressedRistretto> =
        commitments.iter().map(|c| *c.compressed()).collect();
    points.resize(padded, *Commitment::zero().compressed());

    let mut rng = verifier_rng(transcript_label, context, &points, proof);
    let mut t = transcript(transcript_label, context, commitments.len());
    proof
        .0
        .verify_multiple_with_rng(
            bulletproof_gens(),
            pedersen_gens(),
            &mut t,
            &points,
            bits,
            &mut rng,
        )
        .map_err(|_| ConfidentialError::RangeProofRejected)
}

fn verifier_rng(
    label: &[u8],
    context: &[u8],
    points: &[CompressedRistretto],
    proof: &RangeProof,
) -> ChaCha20Rng {
    let mut h = Sha256::new();
    for part in [labels::RANGE_VERIFIER_RNG, label, context] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part);
    }
    h.update((points.len() as u64).to_be_bytes());
    for p in points {
        h.update(p.as_bytes());
    }
    h.update(proof.to_bytes());
    ChaCha20Rng::from_seed(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{ALLOWANCE_RANGE_PROOF, LIST_SIZE_RANGE_PROOF};
    use proptest::prelude::*;

    fn rng() -> ChaCha20Rng {
        ChaCha20Rng::seed_from_u64(11)
    }

    const REJECTED: Result<(), ConfidentialError> = Err(ConfidentialError::RangeProofRejected);

    #[test]
    fn accepts_edges_of_the_32_bit_range() {
        let mut rng = rng();
        for v in [0u64, 1, u64::from(u32::MAX)] {
            let o = Opening::new(v, &mut rng);
            let proof = prove_range(&o, 32, LIST_SIZE_RANGE_PROOF, &mut rng).expect("in range");
            assert_eq!(
                verify_range(&o.commit(), &proof, 32, LIST_SIZE_RANGE_PROOF),
                Ok(())
            );
            // Through the wire encodings too.
            let proof2 = RangeProof::from_hex(&proof.to_hex()).expect("roundtrip");
            assert_eq!(proof2, proof);
            assert_eq!(
                verify_range(&o.commit(), &proof2, 32, LIST_SIZE_RANGE_PROOF),
                Ok(())
            );
        }
    }

    #[test]
    fn accepts_64_bit_edges() {
        let mut rng = rng();
        for v in [0u64, 1 << 32, u64::MAX] {
            let o = Opening::new(v, &mut rng);
            let proof = prove_range(&o, 64, ALLOWANCE_RANGE_PROOF, &mut rng).expect("in range");
            assert_eq!(
                verify_range(&o.commit(), &proof, 64, ALLOWANCE_RANGE_PROOF),
                Ok(())
            );
        }
    }

    #[test]
    fn rejects_tampering_wrong_commitment_and_wrong_label() {
        let mut rng = rng();
        let o = Opening::new(123_456, &mut rng);
        let c = o.commit();
        let proof = prove_range(&o, 32, LIST_SIZE_RANGE_PROOF, &mut rng).expect("in range");
        let bytes = proof.to_bytes();

        // Flip a bit in each 32-byte element (points, scalars, inner-product proof).
        for i in (0..bytes.len()).step_by(32) {
            let mut tampered = bytes.clone();
            tampered[i + 1] ^= 0x01;
            match RangeProof::from_bytes(&tampered) {
                Ok(p) => assert_eq!(
                    verify_range(&c, &p, 32, LIST_SIZE_RANGE_PROOF),
                    REJECTED,
                    "byte {i}"
                ),
                Err(e) => assert_eq!(e, ConfidentialError::RangeProofMalformed),
            }
        }

        let other = Opening::new(123_456, &mut rng).commit();
        assert_eq!(
            verify_range(&other, &proof, 32, LIST_SIZE_RANGE_PROOF),
            REJECTED
        );
        assert_eq!(
            verify_range(&c, &proof, 32, ALLOWANCE_RANGE_PROOF),
            REJECTED
        );
        assert_eq!(
            verify_range(&c, &proof, 64, LIST_SIZE_RANGE_PROOF),
            REJECTED
        );
        assert_eq!(
            verify_range(&c, &proof, 16, LIST_SIZE_RANGE_PROOF),
            Err(ConfidentialError::UnsupportedBitSize(16))
        );
        // Context binding.
        let bound = prove_range_with_context(&o, 32, LIST_SIZE_RANGE_PROOF, b"record 1", &mut rng)
            .expect("in range");
        assert_eq!(
            verify_range_with_context(&c, &bound, 32, LIST_SIZE_RANGE_PROOF, b"record 1"),
            Ok(())
        );
        assert_eq!(
            verify_range_with_context(&c, &bound, 32, LIST_SIZE_RANGE_PROOF, b"record 2"),
            REJECTED
        );
        assert_eq!(
            verify_range(&c, &bound, 32, LIST_SIZE_RANGE_PROOF),
            REJECTED
        );
    }

    #[test]
    fn two_to_the_32_is_not_a_32_bit_value() {
        let mut rng = rng();
        let o = Opening::new(1 << 32, &mut rng);
        assert_eq!(
            prove_range(&o, 32, LIST_SIZE_RANGE_PROOF, &mut rng).err(),
            Some(ConfidentialError::OutOfRange {
                value: 1 << 32,
                bits: 32
            })
        );
        // A valid 64-bit proof for 2^32 does not pass as a 32-bit proof.
        let proof64 = prove_range(&o, 64, LIST_SIZE_RANGE_PROOF, &mut rng).expect("fits 64 bits");
        assert_eq!(
            verify_range(&o.commit(), &proof64, 64, LIST_SIZE_RANGE_PROOF),
            Ok(())
        );
        assert_eq!(
            verify_range(&o.commit(), &proof64, 32, LIST_SIZE_RANGE_PROOF),
            REJECTED
        );
        // Nor does a "negative" allowance: 5 - 6 = ℓ - 1 has no 64-bit proof from a u64 opening,
        // and a 32-bit proof of 5 does not cover the commitment to 5 - 6.
        let five = Opening::new(5, &mut rng);
        let proof5 = prove_range(&five, 64, ALLOWANCE_RANGE_PROOF, &mut rng).expect("fits");
        let negative = five.commit().sub(&Commitment::public(6));
        assert_eq!(
            verify_range(&negative, &proof5, 64, ALLOWANCE_RANGE_PROOF),
            REJECTED
        );
    }

    #[test]
    fn aggregated_proofs_for_non_powers_of_two() {
        let mut rng = rng();
        for count in [1usize, 3, 4, 5] {
            let openings: Vec<Opening> = (0..count)
                .map(|i| Opening::new(1000 * i as u64 + 7, &mut rng))
                .collect();
            let commitments: Vec<Commitment> = openings.iter().map(Opening::commit).collect();
            let proof = prove_range_aggregated(&openings, 64, ALLOWANCE_RANGE_PROOF, &mut rng)
                .expect("in range");
            assert_eq!(
                verify_range_aggregated(&commitments, &proof, 64, ALLOWANCE_RANGE_PROOF),
                Ok(()),
                "count {count}"
            );
            // Swapping any one commitment for another breaks it.
            for i in 0..count {
                let mut swapped = commitments.clone();
                swapped[i] = Opening::new(1000 * i as u64 + 7, &mut rng).commit();
                assert_eq!(
                    verify_range_aggregated(&swapped, &proof, 64, ALLOWANCE_RANGE_PROOF),
                    REJECTED,
                    "count {count}, swapped {i}"
                );
            }
            if count > 1 {
                let mut reordered = commitments.clone();
                reordered.swap(0, 1);
                assert_eq!(
                    verify_range_aggregated(&reordered, &proof, 64, ALLOWANCE_RANGE_PROOF),
                    REJECTED
                );
            }
            // The padded statement (explicit zero commitments) is a different statement.
            if !count.is_power_of_two() {
                let mut padded = commitments.clone();
                padded.resize(count.next_power_of_two(), Commitment::zero());
                assert_eq!(
                    verify_range_aggregated(&padded, &proof, 64, ALLOWANCE_RANGE_PROOF),
                    REJECTED
                );
            }
        }
    }

    #[test]
    fn aggregation_limits_are_typed_errors() {
        let mut rng = rng();
        let too_many: Vec<Opening> = (0..=MAX_AGGREGATION).map(|_| Opening::public(1)).collect();
        assert_eq!(
            prove_range_aggregated(&too_many, 64, ALLOWANCE_RANGE_PROOF, &mut rng).err(),
            Some(ConfidentialError::TooManyValues { count: 65, max: 64 })
        );
        assert_eq!(
            prove_range_aggregated(&[], 64, ALLOWANCE_RANGE_PROOF, &mut rng).err(),
            Some(ConfidentialError::NoValues)
        );
        let o = Opening::new(1, &mut rng);
        let proof = prove_range(&o, 32, LIST_SIZE_RANGE_PROOF, &mut rng).expect("fits");
        let commitments = vec![o.commit(); MAX_AGGREGATION + 1];
        assert!(matches!(
            verify_range_aggregated(&commitments, &proof, 32, LIST_SIZE_RANGE_PROOF),
            Err(ConfidentialError::TooManyValues { .. })
        ));
        assert_eq!(
            verify_range_aggregated(&[], &proof, 32, LIST_SIZE_RANGE_PROOF),
            Err(ConfidentialError::NoValues)
        );
        assert_eq!(
            prove_range(&o, 8, LIST_SIZE_RANGE_PROOF, &mut rng).err(),
            Some(ConfidentialError::UnsupportedBitSize(8))
        );
        // The largest case works.
        let max: Vec<Opening> = (0..MAX_AGGREGATION as u64)
            .map(|v| Opening::new(v, &mut rng))
            .collect();
        let commitments: Vec<Commitment> = max.iter().map(Opening::commit).collect();
        let proof = prove_range_aggregated(&max, 64, ALLOWANCE_RANGE_PROOF, &mut rng)
            .expect("largest supported case");
        assert_eq!(proof.to_bytes().len(), MAX_RANGE_PROOF_LEN);
        assert_eq!(
            verify_range_aggregated(&commitments, &proof, 64, ALLOWANCE_RANGE_PROOF),
            Ok(())
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn mutated_proofs_are_rejected(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..), 1..4),
            truncate in any::<bool>(),
        ) {
            let mut rng = ChaCha20Rng::seed_from_u64(99);
            let o = Opening::new(77, &mut rng);
            let proof = prove_range(&o, 32, LIST_SIZE_RANGE_PROOF, &mut rng).expect("fits");
            let mut bytes = proof.to_bytes();
            for (index, xor) in &edits {
                let i = index.index(bytes.len());
                bytes[i] ^= xor;
            }
            if truncate {
                bytes.truncate(bytes.len() - 64);
            }
            if let Ok(p) = RangeProof::from_bytes(&bytes) {
                prop_assert_eq!(verify_range(&o.commit(), &p, 32, LIST_SIZE_RANGE_PROOF), REJECTED);
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn parsing_arbitrary_input_never_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..1200),
            s in ".{0,300}",
        ) {
            let _ = RangeProof::from_hex(&s);
            let _ = serde_json::from_str::<RangeProof>(&s);
            // Arbitrary bytes that happen to parse must be rejected by the verifier, not panic.
            if let Ok(p) = RangeProof::from_bytes(&bytes) {
                let c = Commitment::public(1);
                prop_assert!(verify_range(&c, &p, 32, LIST_SIZE_RANGE_PROOF).is_err());
            }
        }
    }
}
