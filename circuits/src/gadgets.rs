//! Small arithmetic gadgets on 248-bit values: bit decomposition (range check) and comparison.

use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, PrimeField};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::SynthesisError;

/// Little-endian bits of `x`, `n` of them, constrained so that `x = Σ bits[i]·2^i`: proves
/// `x < 2^n` (for `n` below the field size). Costs `n + 1` constraints. If `x ≥ 2^n` the witness
/// holds its low bits and the constraint system is unsatisfied.
pub fn to_bits_le_var(x: &FpVar<Fr>, n: usize) -> Result<Vec<Boolean<Fr>>, SynthesisError> {
    debug_assert!(n < Fr::MODULUS_BIT_SIZE as usize);
    let cs = x.cs();
    let value = x.value().ok().map(|v| v.into_bigint());
    let mut bits = Vec::with_capacity(n);
    for i in 0..n {
        bits.push(Boolean::new_witness(cs.clone(), || {
            value
                .map(|v| v.get_bit(i))
                .ok_or(SynthesisError::AssignmentMissing)
        })?);
    }
    Boolean::le_bits_to_fp(&bits)?.enforce_equal(x)?;
    Ok(bits)
}

/// Whether `a < b`, for `a` and `b` already known to be below `2^n`: the top bit of the
/// `(n + 1)`-bit number `2^n + b − a − 1`. Costs `n + 2` constraints.
pub fn is_less_than_var(
    a: &FpVar<Fr>,
    b: &FpVar<Fr>,
    n: usize,
) -> Result<Boolean<Fr>, SynthesisError> {
    let offset = Fr::from(2u64).pow([n as u64]) - Fr::from(1u64);
    let c = b - a + offset;
    let bits = to_bits_le_var(&c, n + 1)?;
    Ok(bits[n].clone())
}

/// Native twin of [`is_less_than_var`] on integers below `2^n`.
pub fn is_less_than(a: Fr, b: Fr) -> bool {
    a.into_bigint() < b.into_bigint()
}
