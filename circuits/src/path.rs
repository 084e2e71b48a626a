//! The tree-path gadget: recompute the root of the indexed Merkle tree from a leaf hash, the
//! slot's index bits and the sibling hashes (native twin: [`fengxin_tree::path_root`]).

use ark_bn254::Fr;
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSystemRef, SynthesisError};
use fengxin_tree::DEPTH;

use crate::poseidon::hash2_var;

pub use fengxin_tree::path_root;

/// Constraints per [`MerklePathVar::root`] call, besides the bit allocations: one Poseidon and
/// one selection multiplication per level.
pub const PATH_CONSTRAINTS: usize = DEPTH * (crate::poseidon::HASH2_CONSTRAINTS + 1);

/// A slot's authentication path as circuit variables.
pub struct MerklePathVar {
    /// Little-endian bits of the slot index (bit `l` set: the node at level `l` is a right child).
    pub index_bits: Vec<Boolean<Fr>>,
    /// Sibling hashes from the leaf level up.
    pub siblings: Vec<FpVar<Fr>>,
}

impl MerklePathVar {
    /// Allocates a path as witnesses: `DEPTH` booleans and `DEPTH` field elements.
    pub fn new_witness(
        cs: ConstraintSystemRef<Fr>,
        index: Option<u32>,
        siblings: Option<&[Fr; DEPTH]>,
    ) -> Result<Self, SynthesisError> {
        let mut index_bits = Vec::with_capacity(DEPTH);
        for l in 0..DEPTH {
            index_bits.push(Boolean::new_witness(cs.clone(), || {
                index
                    .map(|i| (u64::from(i) >> l) & 1 == 1)
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
        }
        let mut sibs = Vec::with_capacity(DEPTH);
        for l in 0..DEPTH {
            sibs.push(FpVar::new_witness(cs.clone(), || {
                siblings
                    .map(|s| s[l])
                    .ok_or(SynthesisError::AssignmentMissing)
            })?);
        }
        Ok(Self {
            index_bits,
            siblings: sibs,
        })
    }

    /// The root reached by hashing `leaf_hash` up this path.
    pub fn root(&self, leaf_hash: &FpVar<Fr>) -> Result<FpVar<Fr>, SynthesisError> {
        let mut cur = leaf_hash.clone();
        for (bit, sib) in self.index_bits.iter().zip(&self.siblings) {
            // left = cur + (sib − cur)·bit, right = cur + sib − left: one constraint, with the
            // bit (a small scalar) as its B operand.
            let left = &cur + (sib - &cur) * FpVar::from(bit.clone());
            let right = &cur + sib - &left;
            cur = hash2_var(&left, &right)?;
        }
        Ok(cur)
    }
}
