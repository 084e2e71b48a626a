//! R1CS circuits of Fengxin over BN254 (docs/cryptography.md), written with arkworks' constraint
//! library.
//!
//! * [`poseidon`]: circomlib's two-input Poseidon as a gadget ([`poseidon::hash2_var`]) beside
//!   its native twin; both read the same constants, from `light-poseidon`.
//! * [`path`]: the indexed-Merkle-tree path gadget ([`path::MerklePathVar`]).
//! * [`gadgets`]: 248-bit range checks and comparisons.
//! * [`membership`]: the one membership circuit. Public inputs `(root, tag, result)`; a proof
//!   with `result = 1` shows the tag's leaf is in the tree, with `result = 0` that the tag falls
//!   in the gap of a leaf `(v, nv)` of the tree (`v < tag` and `nv = 0` or `tag < nv`). One
//!   verifying key serves both answers, so a proof does not reveal which branch it took beyond
//!   the public `result`. [`membership::check_membership`] is the native check of the same
//!   statement.

pub mod gadgets;
pub mod membership;
pub mod path;
pub mod poseidon;

pub use membership::{
    check_membership, MembershipCircuit, MembershipPrivate, MembershipPublic, MembershipVar,
    MEMBERSHIP_CONSTRAINTS, NUM_PUBLIC_INPUTS,
};
