//! The tree's root from the roots of its subtrees: cutting the sorted build's leaves into
//! subtrees of any height and combining their roots gives the root of the whole build.

use fengxin_tree::{root_over_subtrees, sorted_root, subtree_root, Leaf, Value};
use fengxin_types::Tag;
use proptest::prelude::*;

fn tags(seeds: &[[u8; 31]]) -> Vec<Tag> {
    let mut tags: Vec<Tag> = seeds
        .iter()
        .map(|s| {
            let mut b = *s;
            b[0] &= 0x7f;
            b[30] |= 1;
            Tag::from_bytes(b).expect("tag")
        })
        .collect();
    tags.sort_unstable();
    tags.dedup();
    tags
}

/// The leaves the sorted build puts in slots 0..=n: the sentinel, then one per tag.
fn leaves(tags: &[Tag]) -> Vec<Leaf> {
    let mut values = vec![Value::ZERO];
    values.extend(tags.iter().map(|t| Value::from(*t)));
    (0..values.len())
        .map(|i| Leaf {
            value: values[i],
            next_value: values.get(i + 1).copied().unwrap_or(Value::ZERO),
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn subtree_roots_combine_to_the_sorted_root(
        seeds in proptest::collection::vec(any::<[u8; 31]>(), 0..200),
        height in 0usize..6,
    ) {
        let tags = tags(&seeds);
        let leaves = leaves(&tags);
        let roots: Vec<_> = leaves.chunks(1 << height).map(|c| subtree_root(height, c)).collect();
        let whole = sorted_root(tags.iter().copied()).expect("sorted");
        prop_assert_eq!(root_over_subtrees(height, &roots), whole);
    }
}

#[test]
fn a_changed_leaf_changes_its_subtree_and_the_root() {
    let seeds: Vec<[u8; 31]> = (0..40u8).map(|i| [i.wrapping_mul(37); 31]).collect();
    let tags = tags(&seeds);
    let mut leaves = leaves(&tags);
    let roots: Vec<_> = leaves.chunks(16).map(|c| subtree_root(4, c)).collect();
    leaves[20].next_value = leaves[20].value;
    let bent: Vec<_> = leaves.chunks(16).map(|c| subtree_root(4, c)).collect();
    assert_eq!(roots[0], bent[0]);
    assert_ne!(roots[1], bent[1]);
    assert_ne!(root_over_subtrees(4, &roots), root_over_subtrees(4, &bent));
    assert_eq!(subtree_root(3, &[]), fengxin_tree::empty_hashes()[3]);
}
