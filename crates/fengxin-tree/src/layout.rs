//! A tree's leaf layout (slot by slot), and the check a third party makes of it.
//!
//! The membership circuit proves that a leaf is in the tree under a root; it cannot prove that
//! the tree is a sorted linked list. Whoever holds the layout (the member, and the regulator it
//! seals the layout to) can: [`check_layout`] accepts a layout only if slot 0 holds the
//! sentinel, every value appears once, every leaf links to the next larger value present (the
//! largest to 0, "+infinity"), and no slot is used twice or lies beyond the tree; it then
//! recomputes the root over exactly those slots. Slots matter: a tree changed by inserts and
//! deletes keeps its leaves where they were put, so the same tags in other slots give another
//! root.

use crate::poseidon::hash2;
use crate::store::TreeStore;
use crate::tree::{empty_hashes, IndexedMerkleTree, CAPACITY, DEPTH};
use crate::value::{Leaf, Root, Value};
use crate::Fr;
use rayon::prelude::*;
use std::collections::BTreeMap;

/// Why a layout is not a well-formed indexed Merkle tree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayoutError {
    /// No leaf in slot 0, or the leaf there is not the sentinel (value 0).
    #[error("slot 0 does not hold the sentinel leaf")]
    NoSentinel,
    /// A slot appears twice.
    #[error("slot {0} appears twice")]
    DuplicateSlot(u64),
    /// A slot beyond the tree's capacity.
    #[error("slot {0} is beyond the tree's capacity")]
    SlotOutOfRange(u64),
    /// A value appears in two leaves (or a leaf other than the sentinel holds 0).
    #[error("slot {slot}: value {value} appears more than once")]
    DuplicateValue {
        /// The second slot holding it.
        slot: u64,
        /// The value, hex.
        value: String,
    },
    /// A leaf does not link to the next larger value in the tree: the leaves are not a sorted
    /// linked list, so the tree could prove a miss for a tag it holds.
    #[error("slot {slot}: links to {found}, but the next larger value in the tree is {expected}")]
    BadLink {
        /// The slot.
        slot: u64,
        /// The link it holds, hex.
        found: String,
        /// The link a sorted list needs, hex (0 for +infinity).
        expected: String,
    },
}

/// Checks that `leaves` (slot, leaf) form a well-formed indexed Merkle tree and returns its
/// root and its number of leaves besides the sentinel. The leaves may come in any order.
pub fn check_layout(leaves: &[(u64, Leaf)]) -> Result<(Root, u64), LayoutError> {
    let mut by_slot: BTreeMap<u64, Leaf> = BTreeMap::new();
    for (slot, leaf) in leaves {
        if *slot >= CAPACITY {
            return Err(LayoutError::SlotOutOfRange(*slot));
        }
        if by_slot.insert(*slot, *leaf).is_some() {
            return Err(LayoutError::DuplicateSlot(*slot));
        }
    }
    match by_slot.get(&0) {
        Some(l) if l.value == Value::ZERO => {}
        _ => return Err(LayoutError::NoSentinel),
    }
    let mut by_value: BTreeMap<Value, u64> = BTreeMap::new();
    for (slot, leaf) in &by_slot {
        if by_value.insert(leaf.value, *slot).is_some() {
            return Err(LayoutError::DuplicateValue {
                slot: *slot,
                value: hex_of(leaf.value),
            });
        }
    }
    let values: Vec<(&Value, &u64)> = by_value.iter().collect();
    for (i, (value, slot)) in values.iter().enumerate() {
        let expected = values.get(i + 1).map_or(Value::ZERO, |(v, _)| **v);
        let found = by_slot[*slot].next_value;
        if found != expected {
            return Err(LayoutError::BadLink {
                slot: **slot,
                found: hex_of(found),
                expected: hex_of(expected),
            });
        }
        debug_assert_eq!(by_slot[*slot].value, **value);
    }
    let root = sparse_root(&by_slot);
    Ok((Root::from_field(root), by_slot.len() as u64 - 1))
}

/// The root that `leaves` (slot, leaf) commit to, without checking that they form a sorted
/// linked list: what a tree built over them by hand would publish. Slots beyond the capacity
/// are ignored and a later duplicate slot replaces an earlier one.
pub fn layout_root(leaves: &[(u64, Leaf)]) -> Root {
    let by_slot: BTreeMap<u64, Leaf> = leaves
        .iter()
        .filter(|(slot, _)| *slot < CAPACITY)
        .copied()
        .collect();
    Root::from_field(sparse_root(&by_slot))
}

fn hex_of(v: Value) -> String {
    hex::encode(v.to_bytes())
}

/// The root of a depth-[`DEPTH`] tree whose only non-empty leaves are `leaves` (slot, leaf),
/// in increasing slot order. Each level's hashes are computed in parallel.
fn sparse_root(leaves: &BTreeMap<u64, Leaf>) -> Fr {
    let empty = empty_hashes();
    let slots: Vec<(u64, Leaf)> = leaves.iter().map(|(s, l)| (*s, *l)).collect();
    let mut level: Vec<(u64, Fr)> = slots.par_iter().map(|(s, l)| (*s, l.hash())).collect();
    for e in empty.iter().take(DEPTH) {
        // Pair neighbours (an absent sibling is the empty subtree), then hash the pairs.
        let mut pairs = Vec::with_capacity(level.len().div_ceil(2));
        let mut i = 0;
        while i < level.len() {
            let (index, h) = level[i];
            let (left, right) = if index % 2 == 0 {
                match level.get(i + 1) {
                    Some((j, r)) if *j == index + 1 => {
                        i += 1;
                        (h, *r)
                    }
                    _ => (h, *e),
                }
            } else {
                (*e, h)
            };
            pairs.push((index / 2, left, right));
            i += 1;
        }
        level = pairs
            .par_iter()
            .map(|(index, left, right)| (*index, hash2(*left, *right)))
            .collect();
    }
    level.first().map_or(empty[DEPTH], |(_, h)| *h)
}

impl<S: TreeStore> IndexedMerkleTree<S> {
    /// Every occupied slot with its leaf, in slot order: what [`check_layout`] checks.
    pub fn layout(&self) -> Result<Vec<(u64, Leaf)>, S::Error> {
        let next = self.store().next_index()?;
        let mut out = Vec::new();
        for slot in 0..next {
            if let Some(leaf) = self.store().leaf(slot)? {
                out.push((slot, leaf));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;
    use fengxin_types::Tag;

    fn tag(n: u8) -> Tag {
        let mut b = [0u8; Tag::LEN];
        b[Tag::LEN - 1] = n;
        b[0] = n.wrapping_mul(37);
        Tag::from_bytes(b).expect("non-zero")
    }

    #[test]
    fn a_built_and_an_edited_tree_check_out_with_their_roots() {
        let tags: Vec<Tag> = (1..=40).map(tag).collect();
        let built = IndexedMerkleTree::build(MemoryStore::new(), tags.clone()).expect("build");
        let layout = built.layout().expect("layout");
        assert_eq!(check_layout(&layout), Ok((built.root(), 40)));
        // Inserts and deletes leave holes and reuse slots: still well formed, same root.
        let mut edited = IndexedMerkleTree::open(MemoryStore::new()).expect("open");
        for t in &tags {
            edited.insert(*t).expect("insert");
        }
        for t in tags.iter().step_by(3) {
            edited.delete(*t).expect("delete");
        }
        edited.insert(tag(200)).expect("insert");
        let mut layout = edited.layout().expect("layout");
        let kept = 40 - tags.iter().step_by(3).count() as u64 + 1;
        assert_eq!(check_layout(&layout), Ok((edited.root(), kept)));
        // The order the leaves come in does not matter.
        layout.reverse();
        assert_eq!(check_layout(&layout), Ok((edited.root(), kept)));
        // The unchecked root agrees with the tree's own.
        assert_eq!(layout_root(&layout), edited.root());
        assert_eq!(layout_root(&built.layout().expect("layout")), built.root());
        // The empty tree: the sentinel alone.
        let empty = IndexedMerkleTree::open(MemoryStore::new()).expect("open");
        assert_eq!(
            check_layout(&empty.layout().expect("layout")),
            Ok((empty.root(), 0))
        );
    }

    #[test]
    fn every_malformed_layout_is_refused() {
        let tree = IndexedMerkleTree::build(MemoryStore::new(), (1..=8).map(tag).collect())
            .expect("build");
        let good = tree.layout().expect("layout");
        let refused = |what: &str, layout: Vec<(u64, Leaf)>| check_layout(&layout).expect_err(what);
        // Two leaves' values swapped: the list is out of order.
        let mut swapped = good.clone();
        let (v3, v5) = (swapped[3].1.value, swapped[5].1.value);
        swapped[3].1.value = v5;
        swapped[5].1.value = v3;
        assert!(matches!(
            refused("unsorted", swapped),
            LayoutError::BadLink { .. }
        ));
        // A link that skips a value: that value's tag could be "proven" a miss.
        let mut skipping = good.clone();
        skipping[2].1.next_value = skipping[4].1.value;
        assert!(matches!(
            refused("skipping link", skipping),
            LayoutError::BadLink { slot: 2, .. }
        ));
        // The largest leaf must link to +infinity.
        let mut last = good.clone();
        let n = last.len() - 1;
        last[n].1.next_value = last[1].1.value;
        assert!(matches!(
            refused("cycle", last),
            LayoutError::BadLink { .. }
        ));
        // No sentinel, or another leaf in its slot.
        assert_eq!(
            refused("no sentinel", good[1..].to_vec()),
            LayoutError::NoSentinel
        );
        let mut moved = good.clone();
        moved[0].0 = 99;
        assert_eq!(refused("sentinel moved", moved), LayoutError::NoSentinel);
        // A slot twice, a value twice, a slot past the end.
        let mut twice = good.clone();
        twice.push(good[4]);
        assert_eq!(refused("slot twice", twice), LayoutError::DuplicateSlot(4));
        let mut dup = good.clone();
        dup.push((50, good[4].1));
        assert!(matches!(
            refused("value twice", dup),
            LayoutError::DuplicateValue { slot: 50, .. }
        ));
        let mut far = good.clone();
        far[8].0 = CAPACITY;
        assert_eq!(
            refused("slot past the end", far),
            LayoutError::SlotOutOfRange(CAPACITY)
        );
        // Well formed but moved: another root.
        let mut shifted = good.clone();
        shifted[8].0 = 20;
        let (root, n) = check_layout(&shifted).expect("well formed");
        assert_eq!(n, 8);
        assert_ne!(root, tree.root());
    }
}
