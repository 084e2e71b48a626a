//! The membership circuit (docs/cryptography.md): one statement for both answers.
//!
//! Public inputs, in this order: `root`, `tag`, `result` (0 or 1). Witness: a leaf `(value,
//! next_value)`, its slot index (32 bits) and its sibling path. The statement:
//!
//! * `tag ≠ 0`, and `tag`, `value`, `next_value` are below `2^248` (248-bit decompositions);
//! * `result ∈ {0, 1}`;
//! * `Poseidon(value, next_value)` hashed up the path at `index` gives `root`;
//! * `result = 1` ⇒ `value = tag` (the tag's own leaf);
//! * `result = 0` ⇒ `value < tag` and (`next_value = 0` or `tag < next_value`) (the low leaf:
//!   the tag falls in a gap of the sorted list, so it is not in the tree).
//!
//! [`check_membership`] is the native check of the same statement; tests hold the two to the
//! same accept/reject decisions, and [`MEMBERSHIP_CONSTRAINTS`] pins the circuit's size.

use ark_bn254::Fr;
use ark_ff::{BigInteger, Field, PrimeField, Zero};
use ark_r1cs_std::fields::fp::FpVar;
use ark_r1cs_std::prelude::*;
use ark_relations::gr1cs::{ConstraintSynthesizer, ConstraintSystemRef, SynthesisError};
use fengxin_tree::{path_root, LeafWitness, DEPTH, VALUE_BITS};

use crate::gadgets::{is_less_than, is_less_than_var, to_bits_le_var};
use crate::path::MerklePathVar;
use crate::poseidon::{hash2, hash2_var};

/// Number of R1CS constraints of [`MembershipCircuit`] (pinned by a test). Roughly: 33 Poseidon
/// hashes (10,560), three 248-bit range checks (747), two comparisons (500), 32 index bits and
/// 32 path selections, and a dozen for `tag ≠ 0`, `result ∈ {0,1}` and the answer logic. Between
/// 8,192 and 16,384, so the QAP domain has 16,384 points either way.
pub const MEMBERSHIP_CONSTRAINTS: usize = 11_881;

/// Number of public inputs (root, tag, result), not counting the constant 1.
pub const NUM_PUBLIC_INPUTS: usize = 3;

/// The public statement: the tree's root, the queried tag, and the answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MembershipPublic {
    /// The root of the responder's published tree.
    pub root: Fr,
    /// The queried tag, as a field element (must be non-zero and below 2^248 to be provable).
    pub tag: Fr,
    /// `true`: the tag is in the tree; `false`: it is not.
    pub result: bool,
}

impl MembershipPublic {
    /// The public inputs as the verifier sees them: `[root, tag, result]`.
    pub fn to_field_elements(&self) -> [Fr; NUM_PUBLIC_INPUTS] {
        [self.root, self.tag, Fr::from(u64::from(self.result))]
    }
}

/// The private witness: a leaf and its path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MembershipPrivate {
    /// The leaf's value.
    pub value: Fr,
    /// The leaf's next value (0 for +infinity).
    pub next_value: Fr,
    /// The leaf's slot.
    pub index: u32,
    /// Sibling hashes from the leaf level up.
    pub siblings: [Fr; DEPTH],
}

/// Why a tree witness cannot be a circuit witness.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessConversionError {
    /// The slot index does not fit in 32 bits (the tree never produces such a witness).
    #[error("slot index {0} does not fit the tree's depth")]
    IndexOutOfRange(u64),
}

impl TryFrom<&LeafWitness> for MembershipPrivate {
    type Error = WitnessConversionError;
    fn try_from(w: &LeafWitness) -> Result<Self, Self::Error> {
        Ok(Self {
            value: w.leaf.value.to_field(),
            next_value: w.leaf.next_value.to_field(),
            index: u32::try_from(w.index)
                .map_err(|_| WitnessConversionError::IndexOutOfRange(w.index))?,
            siblings: w.siblings,
        })
    }
}

fn below_2_248(x: Fr) -> bool {
    x.into_bigint().num_bits() <= VALUE_BITS as u32
}

/// The native check of the membership statement (see the [module docs](self)).
pub fn check_membership(public: &MembershipPublic, private: &MembershipPrivate) -> bool {
    let MembershipPublic { root, tag, result } = *public;
    let MembershipPrivate {
        value, next_value, ..
    } = *private;
    if tag.is_zero() || !below_2_248(tag) || !below_2_248(value) || !below_2_248(next_value) {
        return false;
    }
    let leaf_hash = hash2(value, next_value);
    if path_root(leaf_hash, u64::from(private.index), &private.siblings) != root {
        return false;
    }
    if result {
        value == tag
    } else {
        is_less_than(value, tag) && (next_value.is_zero() || is_less_than(tag, next_value))
    }
}

/// The circuit variables of the statement; [`MembershipVar::enforce`] adds its constraints.
pub struct MembershipVar {
    /// Public root.
    pub root: FpVar<Fr>,
    /// Public tag.
    pub tag: FpVar<Fr>,
    /// Public result bit.
    pub result: Boolean<Fr>,
    /// Witness leaf value.
    pub value: FpVar<Fr>,
    /// Witness leaf next value.
    pub next_value: FpVar<Fr>,
    /// Witness path.
    pub path: MerklePathVar,
}

impl MembershipVar {
    /// Allocates the public inputs (in the order root, tag, result) and the witness. Values are
    /// `None` during setup.
    pub fn new(
        cs: ConstraintSystemRef<Fr>,
        public: Option<&MembershipPublic>,
        private: Option<&MembershipPrivate>,
    ) -> Result<Self, SynthesisError> {
        let missing = SynthesisError::AssignmentMissing;
        let root = FpVar::new_input(cs.clone(), || public.map(|p| p.root).ok_or(missing))?;
        let tag = FpVar::new_input(cs.clone(), || public.map(|p| p.tag).ok_or(missing))?;
        let result = Boolean::new_input(cs.clone(), || public.map(|p| p.result).ok_or(missing))?;
        let value = FpVar::new_witness(cs.clone(), || private.map(|w| w.value).ok_or(missing))?;
        let next_value =
            FpVar::new_witness(cs.clone(), || private.map(|w| w.next_value).ok_or(missing))?;
        let path =
            MerklePathVar::new_witness(cs, private.map(|w| w.index), private.map(|w| &w.siblings))?;
        Ok(Self {
            root,
            tag,
            result,
            value,
            next_value,
            path,
        })
    }

    /// Enforces the statement.
    pub fn enforce(&self) -> Result<(), SynthesisError> {
        let cs = self.tag.cs();
        // tag ≠ 0: tag · inv = 1.
        let inv = FpVar::new_witness(cs.clone(), || {
            Ok(self.tag.value()?.inverse().unwrap_or(Fr::zero()))
        })?;
        (&self.tag * &inv).enforce_equal(&FpVar::one())?;
        // Ranges: everything compared is below 2^248.
        to_bits_le_var(&self.tag, VALUE_BITS)?;
        to_bits_le_var(&self.value, VALUE_BITS)?;
        to_bits_le_var(&self.next_value, VALUE_BITS)?;
        // The leaf is in the tree.
        let leaf_hash = hash2_var(&self.value, &self.next_value)?;
        self.path.root(&leaf_hash)?.enforce_equal(&self.root)?;
        // result = 1 ⇒ value = tag.
        self.value
            .conditional_enforce_equal(&self.tag, &self.result)?;
        // result = 0 ⇒ value < tag ∧ (next_value = 0 ∨ tag < next_value).
        let low_below = is_less_than_var(&self.value, &self.tag, VALUE_BITS)?;
        let next_above = is_less_than_var(&self.tag, &self.next_value, VALUE_BITS)?;
        let next_is_inf = self.next_value.is_zero()?;
        let gap = &low_below & &(&next_above | &next_is_inf);
        gap.conditional_enforce_equal(&Boolean::TRUE, &!&self.result)?;
        Ok(())
    }
}

/// The membership circuit for Groth16: the statement with its assignment (or none, for setup).
#[derive(Clone, Debug, Default)]
pub struct MembershipCircuit {
    /// Public inputs; `None` during setup.
    pub public: Option<MembershipPublic>,
    /// Witness; `None` during setup.
    pub private: Option<MembershipPrivate>,
}

impl MembershipCircuit {
    /// The circuit shape, without values (for key generation).
    pub fn blank() -> Self {
        Self::default()
    }

    /// The circuit with an assignment (for proving).
    pub fn new(public: MembershipPublic, private: MembershipPrivate) -> Self {
        Self {
            public: Some(public),
            private: Some(private),
        }
    }
}

impl ConstraintSynthesizer<Fr> for MembershipCircuit {
    fn generate_constraints(self, cs: ConstraintSystemRef<Fr>) -> Result<(), SynthesisError> {
        MembershipVar::new(cs, self.public.as_ref(), self.private.as_ref())?.enforce()
    }
}
