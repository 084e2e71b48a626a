//! The Poseidon gadget: circomlib's two-input Poseidon as R1CS constraints.
//!
//! [`hash2`] is the native function (from `fengxin-tree`), [`hash2_var`] its gadget; both read the
//! same [`fengxin_tree::poseidon::params`] (taken from `light-poseidon`'s parameter module).
//! Additions and the MDS mix are linear combinations (free). Each S-box `x^5` is computed as
//! `x2 = x·x, x3 = x2·x, x4 = x3·x, x5 = x4·x`: four constraints instead of the minimal three
//! (`x4 = x2·x2`), chosen so that the B side of every S-box constraint is the S-box input `x`.
//! The Groth16 prover's most expensive multi-scalar multiplication is over the variables that
//! occur in B (it runs in G2); this keeps the intermediate powers out of it, which costs 2,640
//! cheap G1 terms and saves 2,640 G2 terms per proof. The first round's capacity element is a
//! constant, so a hash costs `4 × (8 × 3 + 57 − 1) = 320` constraints.

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::SynthesisError;
use fengxin_tree::poseidon::{params, WIDTH};

pub use fengxin_tree::poseidon::hash2;

/// Constraints per [`hash2_var`] call.
pub const HASH2_CONSTRAINTS: usize = 320;

/// `x^5`, with `x` as the B operand of every constraint (see the module docs).
fn sbox(x: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let x2 = x.square()?;
    let x3 = &x2 * x;
    let x4 = &x3 * x;
    Ok(&x4 * x)
}

/// Poseidon of two field-element variables, as [`hash2`] computes natively.
pub fn hash2_var(left: &FpVar<Fr>, right: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
    let p = params();
    let mut s: [FpVar<Fr>; WIDTH] = [FpVar::zero(), left.clone(), right.clone()];
    for (r, c) in p.ark.iter().enumerate() {
        for (x, k) in s.iter_mut().zip(c.iter()) {
            *x += *k;
        }
        if p.is_full_round(r) {
            for x in s.iter_mut() {
                *x = sbox(x)?;
            }
        } else {
            s[0] = sbox(&s[0])?;
        }
        let m = &p.mds;
        let mix = |i: usize| -> FpVar<Fr> { &s[0] * m[i][0] + &s[1] * m[i][1] + &s[2] * m[i][2] };
        s = [mix(0), mix(1), mix(2)];
    }
    let [out, _, _] = s;
    Ok(out)
}
