//! The batched DLEQ proof of RFC 9497 §2.2 for the VOPRF mode of ristretto255-SHA512, on
//! every core.
//!
//! The `voprf` crate proves and verifies a batch one element at a time: two scalar
//! multiplications per element for the composites alone. Here the composites `M = Σ dᵢ·Cᵢ` and
//! `Z = Σ dᵢ·Dᵢ` are variable-time multiscalar products over public values (the blinded and
//! evaluated elements and the weights hashed from them), split across the cores; every
//! multiplication by a secret (the key `k`, the proof's nonce `r`, a querier's blind) stays
//! constant-time. The bytes hashed are the RFC's exactly, so a proof made here verifies with the
//! crate's client and a proof made by the crate verifies here (tests in `oprf.rs`).

use crate::oprf::OprfError;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{Identity, VartimeMultiscalarMul};
use rand_core::{CryptoRng, RngCore};
use rayon::prelude::*;
use sha2::{Digest, Sha512};
use voprf::Group;

/// RFC 9497 contextString for mode 0x01 (VOPRF) and the suite identifier.
const CONTEXT: &[u8] = b"OPRFV1-\x01-ristretto255-SHA512";
/// Two-byte length of a serialised element.
const ELEM_LEN: [u8; 2] = 32u16.to_be_bytes();
/// Elements below which one core does the whole multiscalar product.
const PARALLEL_FROM: usize = 2048;

/// A batch's public values: each element with its encoding.
pub struct Batch<'a> {
    /// The blinded elements `Cᵢ` (decoded).
    pub blinded: &'a [RistrettoPoint],
    /// Their encodings.
    pub blinded_bytes: &'a [[u8; 32]],
    /// The evaluated elements `Dᵢ` (decoded).
    pub evaluated: &'a [RistrettoPoint],
    /// Their encodings.
    pub evaluated_bytes: &'a [[u8; 32]],
}

impl Batch<'_> {
    fn check(&self) -> Result<(), OprfError> {
        let n = self.blinded.len();
        if n > usize::from(u16::MAX) {
            return Err(OprfError::BatchTooLarge(n));
        }
        if self.blinded_bytes.len() != n
            || self.evaluated.len() != n
            || self.evaluated_bytes.len() != n
        {
            return Err(OprfError::BatchSize {
                expected: n,
                got: self.evaluated.len().min(self.evaluated_bytes.len()),
            });
        }
        Ok(())
    }
}

fn hash_to_scalar(input: &[&[u8]]) -> Result<Scalar, OprfError> {
    <voprf::Ristretto255 as Group>::hash_to_scalar::<Sha512>(input, &[b"HashToScalar-", CONTEXT])
        .map_err(|_| OprfError::Hashing)
}

/// The composite weights `dᵢ` of RFC 9497 `ComputeComposites`, in parallel.
fn weights(public_key: &[u8; 32], batch: &Batch<'_>) -> Result<Vec<Scalar>, OprfError> {
    let seed_dst_len = u16::try_from(5 + CONTEXT.len())
        .map_err(|_| OprfError::Hashing)?
        .to_be_bytes();
    let seed = Sha512::new()
        .chain_update(ELEM_LEN)
        .chain_update(public_key)
        .chain_update(seed_dst_len)
        .chain_update(b"Seed-")
        .chain_update(CONTEXT)
        .finalize();
    let seed_len = 64u16.to_be_bytes();
    batch
        .blinded_bytes
        .par_iter()
        .zip(batch.evaluated_bytes.par_iter())
        .enumerate()
        .map(|(i, (c, d))| {
            let i = u16::try_from(i).map_err(|_| OprfError::BatchTooLarge(i + 1))?;
            hash_to_scalar(&[
                &seed_len,
                &seed,
                &i.to_be_bytes(),
                &ELEM_LEN,
                c,
                &ELEM_LEN,
                d,
                b"Composite",
            ])
        })
        .collect()
}

/// `Σ scalarsᵢ·pointsᵢ`, variable time (public values only), split across the cores.
fn public_sum(scalars: &[Scalar], points: &[RistrettoPoint]) -> RistrettoPoint {
    if scalars.len() < PARALLEL_FROM {
        return RistrettoPoint::vartime_multiscalar_mul(scalars, points);
    }
    let parts = rayon::current_num_threads().max(1);
    let size = scalars.len().div_ceil(parts);
    scalars
        .par_chunks(size)
        .zip(points.par_chunks(size))
        .map(|(s, p)| RistrettoPoint::vartime_multiscalar_mul(s, p))
        .reduce(RistrettoPoint::identity, |a, b| a + b)
}

fn challenge(
    public_key: &[u8; 32],
    m: &RistrettoPoint,
    z: &RistrettoPoint,
    t2: &RistrettoPoint,
    t3: &RistrettoPoint,
) -> Result<Scalar, OprfError> {
    let [m, z, t2, t3] = [m, z, t2, t3].map(|p| p.compress().to_bytes());
    hash_to_scalar(&[
        &ELEM_LEN,
        public_key,
        &ELEM_LEN,
        &m,
        &ELEM_LEN,
        &z,
        &ELEM_LEN,
        &t2,
        &ELEM_LEN,
        &t3,
        b"Challenge",
    ])
}

/// The responder's proof that every `Dᵢ = k·Cᵢ` for the `k` behind `public_key` (`k·G`):
/// RFC 9497 `GenerateProof`, returning `c ‖ s`.
pub fn prove<R: RngCore + CryptoRng>(
    rng: &mut R,
    key: &Scalar,
    public_key: &[u8; 32],
    batch: &Batch<'_>,
) -> Result<[u8; 64], OprfError> {
    batch.check()?;
    let d = weights(public_key, batch)?;
    let m = public_sum(&d, batch.blinded);
    // Secret multiplications: constant time.
    let z = m * key;
    let mut wide = [0u8; 64];
    rng.fill_bytes(&mut wide);
    let r = Scalar::from_bytes_mod_order_wide(&wide);
    wide.fill(0);
    let t2 = RistrettoPoint::mul_base(&r);
    let t3 = m * r;
    let c = challenge(public_key, &m, &z, &t2, &t3)?;
    let s = r - c * key;
    let mut proof = [0u8; 64];
    proof[..32].copy_from_slice(c.as_bytes());
    proof[32..].copy_from_slice(s.as_bytes());
    Ok(proof)
}

/// The querier's check of a responder's proof: RFC 9497 `VerifyProof` against the published
/// key. Everything here is public, so it all runs in variable time.
pub fn verify(
    public_key: &[u8; 32],
    public_point: &RistrettoPoint,
    batch: &Batch<'_>,
    proof: &[u8; 64],
) -> Result<(), OprfError> {
    batch.check()?;
    let scalar = |bytes: &[u8]| -> Result<Scalar, OprfError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| OprfError::BadProofEncoding)?;
        Option::from(Scalar::from_canonical_bytes(arr)).ok_or(OprfError::BadProofEncoding)
    };
    let c = scalar(&proof[..32])?;
    let s = scalar(&proof[32..])?;
    let d = weights(public_key, batch)?;
    let (m, z) = rayon::join(
        || public_sum(&d, batch.blinded),
        || public_sum(&d, batch.evaluated),
    );
    let t2 = RistrettoPoint::vartime_double_scalar_mul_basepoint(&c, public_point, &s);
    let t3 = RistrettoPoint::vartime_multiscalar_mul([s, c], [m, z]);
    let expected = challenge(public_key, &m, &z, &t2, &t3)?;
    if bool::from(subtle::ConstantTimeEq::ct_eq(&expected, &c)) {
        Ok(())
    } else {
        Err(OprfError::ProofVerification)
    }
}

/// Decodes elements in parallel, refusing any that is not a non-identity ristretto255
/// element (the error names the first such position).
pub fn decode(bytes: &[[u8; 32]]) -> Result<Vec<RistrettoPoint>, OprfError> {
    bytes
        .par_iter()
        .enumerate()
        .map(|(i, b)| {
            CompressedRistretto(*b)
                .decompress()
                .filter(|p| *p != RistrettoPoint::identity())
                .ok_or(OprfError::BadElement(i))
        })
        .collect()
}

/// Encodes elements in parallel.
pub fn encode(points: &[RistrettoPoint]) -> Vec<[u8; 32]> {
    points.par_iter().map(|p| p.compress().to_bytes()).collect()
}

/// RFC 9497 `Finalize` of a verified batch: unblinds each evaluated element with the inverse
/// of its blind (inverted in batches, multiplied in constant time) and hashes it with its input.
pub fn unblind_and_hash(
    inputs: &[Vec<u8>],
    blinds: &[Scalar],
    evaluated: &[RistrettoPoint],
) -> Result<Vec<[u8; 64]>, OprfError> {
    if blinds.len() != inputs.len() || evaluated.len() != inputs.len() {
        return Err(OprfError::BatchSize {
            expected: inputs.len(),
            got: evaluated.len(),
        });
    }
    const SLICE: usize = 1024;
    let per_slice: Vec<Vec<[u8; 64]>> = inputs
        .par_chunks(SLICE)
        .zip(blinds.par_chunks(SLICE))
        .zip(evaluated.par_chunks(SLICE))
        .map(|((inputs, blinds), evaluated)| {
            let mut inverses = blinds.to_vec();
            Scalar::batch_invert(&mut inverses);
            let out = inputs
                .iter()
                .zip(&inverses)
                .zip(evaluated)
                .map(|((input, inverse), element)| {
                    let unblinded = (element * inverse).compress().to_bytes();
                    let len = u16::try_from(input.len()).map_err(|_| OprfError::InputTooLong)?;
                    let digest = Sha512::new()
                        .chain_update(len.to_be_bytes())
                        .chain_update(input)
                        .chain_update(ELEM_LEN)
                        .chain_update(unblinded)
                        .chain_update(b"Finalize")
                        .finalize();
                    let mut arr = [0u8; 64];
                    arr.copy_from_slice(&digest);
                    Ok(arr)
                })
                .collect::<Result<Vec<_>, OprfError>>();
            zeroize::Zeroize::zeroize(&mut inverses);
            out
        })
        .collect::<Result<_, _>>()?;
    Ok(per_slice.into_iter().flatten().collect())
}
