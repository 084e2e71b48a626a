//! Native Poseidon and the indexed Merkle tree of Fengxin (docs/cryptography.md).
//!
//! * [`poseidon`]: Poseidon over the BN254 scalar field with circomlib's parameters, the hash of
//!   every leaf and node (so roots can be checked with standard external tooling).
//! * [`IndexedMerkleTree`]: a fixed-depth ([`DEPTH`] = 32) tree whose leaves `(value,
//!   next_value)` form a sorted linked list starting at the sentinel leaf `(0, smallest tag)` in
//!   slot 0; `next_value = 0` means +infinity. A tag `t` is in the tree iff some leaf has
//!   `value = t`; it is not iff its *low leaf* `(v, nv)` has `v < t` and (`nv = 0` or `t < nv`).
//!   Either fact comes with a [`LeafWitness`] (leaf, slot, sibling path) that the membership
//!   circuit in `fengxin-circuits` checks in zero knowledge.
//! * [`TreeStore`]: all storage goes through this trait (nodes by `(level, index)`, leaves by
//!   slot, a value index with a "greatest value below" lookup, free-slot bookkeeping), so the tree
//!   core does no I/O. [`MemoryStore`] is the in-memory implementation and [`conformance::run`]
//!   the suite other implementations must pass.
//!
//! See `README.md` in this crate for the tree layout, the hashing rules and the circuit
//! statement.
//!
//! Hashing: leaf hash `Poseidon(value, next_value)`, node hash `Poseidon(left, right)`, empty slot
//! `0`, empty subtree of height `l + 1` `Poseidon(E_l, E_l)` ([`empty_hashes`]). Values are
//! 248-bit integers ([`Value`], [`fengxin_types::Tag`]) embedded in the field as integers.

pub mod conformance;
mod error;
pub mod layout;
pub mod poseidon;
mod store;
mod tree;
mod value;

pub use ark_bn254::Fr;
pub use error::{BuildError, DeleteError, InsertError, OpenError, WitnessError};
pub use layout::{check_layout, layout_root, LayoutError};
pub use store::{Infallible, MemoryStore, RootOnly, TreeStore};

/// The root of the tree [`IndexedMerkleTree::build_sorted`] makes of `tags` (increasing;
/// repeats skipped), computed without keeping the tree: what a querier checks a snapshot
/// against.
pub fn sorted_root<I>(tags: I) -> Result<value::Root, BuildError<Infallible>>
where
    I: IntoIterator<Item = fengxin_types::Tag>,
{
    Ok(IndexedMerkleTree::build_sorted(RootOnly, tags.into_iter().map(Ok))?.root())
}
pub use tree::{
    empty_hashes, path_root, root_over_subtrees, subtree_root, IndexedMerkleTree, LeafWitness,
    Lookup, CAPACITY, DEPTH,
};
pub use value::{
    field_to_tag, fr_from_bytes, fr_to_bytes, tag_to_field, Leaf, Root, RootError, Value,
    VALUE_BITS,
};
