//! The conformance suite for [`TreeStore`] implementations (STYLE item 10).
//!
//! Run it from a test of the implementing crate with a factory that returns a fresh, empty store:
//!
//! ```
//! fengxin_tree::conformance::run(fengxin_tree::MemoryStore::new);
//! ```
//!
//! Every check panics with a message naming what the store got wrong. The suite checks the
//! store's own contract (node, leaf and value tables, the low-leaf lookup, slot bookkeeping) and
//! then drives trees over it, comparing roots and witnesses with a reference computed from
//! scratch and with the in-memory store. Keep the factory cheap: it is called a few dozen times.

use std::collections::BTreeMap;

use ark_bn254::Fr;
use fengxin_types::Tag;
use rand::{Rng, SeedableRng};

use crate::poseidon::hash2;
use crate::store::{MemoryStore, TreeStore};
use crate::tree::{empty_hashes, IndexedMerkleTree, Lookup, DEPTH};
use crate::value::{Leaf, Value};

/// Runs every check against stores made by `factory` (each call must return an empty store).
pub fn run<S, F>(mut factory: F)
where
    S: TreeStore,
    F: FnMut() -> S,
{
    store_contract(factory());
    low_leaf_lookup(factory());
    slot_bookkeeping(factory());
    tree_ops_match_reference(factory(), 0xfe);
    tree_ops_match_reference(factory(), 0x01);
    bulk_build_matches_reference(&mut factory);
    reopen_keeps_state(&mut factory);
}

fn ok<T, E: std::fmt::Debug>(r: Result<T, E>, what: &str) -> T {
    match r {
        Ok(v) => v,
        Err(e) => panic!("store error during {what}: {e:?}"),
    }
}

fn v(n: u8) -> Value {
    let mut b = [0u8; Value::LEN];
    b[Value::LEN - 1] = n;
    Value::from_bytes(b)
}

fn tag(n: u64) -> Tag {
    let mut b = [0u8; Tag::LEN];
    b[Tag::LEN - 8..].copy_from_slice(&n.to_be_bytes());
    b[0] = (n % 251) as u8;
    Tag::from_bytes(b).expect("invariant: n > 0 or a non-zero top byte")
}

fn random_tags(rng: &mut impl Rng, n: usize) -> Vec<Tag> {
    (0..n)
        .map(|_| {
            let mut b = [0u8; Tag::LEN];
            rng.fill(&mut b[..]);
            b[Tag::LEN - 1] |= 1;
            Tag::from_bytes(b).expect("invariant: last byte is odd")
        })
        .collect()
}

fn store_contract<S: TreeStore>(mut s: S) {
    assert_eq!(
        ok(s.next_index(), "next_index"),
        0,
        "a new store starts at slot 0"
    );
    assert_eq!(ok(s.node(3, 7), "node"), None, "a new store has no nodes");
    assert_eq!(ok(s.leaf(0), "leaf"), None, "a new store has no leaves");
    assert_eq!(
        ok(s.pop_free(), "pop_free"),
        None,
        "a new store has no free slots"
    );

    ok(s.set_node(0, u32::MAX as u64, Some([9; 32])), "set_node");
    ok(s.set_node(32, 0, Some([1; 32])), "set_node");
    ok(s.set_node(5, 1, Some([2; 32])), "set_node");
    assert_eq!(ok(s.node(0, u32::MAX as u64), "node"), Some([9; 32]));
    assert_eq!(ok(s.node(32, 0), "node"), Some([1; 32]));
    assert_eq!(ok(s.node(5, 1), "node"), Some([2; 32]));
    assert_eq!(
        ok(s.node(5, 0), "node"),
        None,
        "nodes are keyed by (level, index)"
    );
    assert_eq!(
        ok(s.node(4, 1), "node"),
        None,
        "nodes are keyed by (level, index)"
    );
    ok(s.set_node(5, 1, Some([3; 32])), "set_node");
    assert_eq!(
        ok(s.node(5, 1), "node"),
        Some([3; 32]),
        "set_node overwrites"
    );
    ok(s.set_node(5, 1, None), "set_node");
    assert_eq!(ok(s.node(5, 1), "node"), None, "set_node(None) removes");

    let a = Leaf {
        value: v(1),
        next_value: v(2),
    };
    let b = Leaf {
        value: v(5),
        next_value: Value::ZERO,
    };
    ok(s.put_leaf(7, a), "put_leaf");
    assert_eq!(ok(s.leaf(7), "leaf"), Some(a));
    assert_eq!(ok(s.find_value(v(1)), "find_value"), Some(7));
    // Replacing the leaf in a slot moves the value index.
    ok(s.put_leaf(7, b), "put_leaf");
    assert_eq!(ok(s.leaf(7), "leaf"), Some(b));
    assert_eq!(
        ok(s.find_value(v(1)), "find_value"),
        None,
        "old value unmapped on replace"
    );
    assert_eq!(ok(s.find_value(v(5)), "find_value"), Some(7));
    // Same value, new next_value.
    let b2 = Leaf {
        value: v(5),
        next_value: v(9),
    };
    ok(s.put_leaf(7, b2), "put_leaf");
    assert_eq!(ok(s.find_value(v(5)), "find_value"), Some(7));
    assert_eq!(ok(s.leaf(7), "leaf"), Some(b2));
    ok(s.remove_leaf(7), "remove_leaf");
    assert_eq!(ok(s.leaf(7), "leaf"), None, "remove_leaf empties the slot");
    assert_eq!(
        ok(s.find_value(v(5)), "find_value"),
        None,
        "remove_leaf unmaps the value"
    );
    ok(s.remove_leaf(7), "remove_leaf on an empty slot");
    // Leaf encodings survive all byte patterns.
    let odd = Leaf {
        value: Value::from_bytes([0xff; Value::LEN]),
        next_value: Value::from_bytes([0x80; Value::LEN]),
    };
    ok(s.put_leaf(u32::MAX as u64, odd), "put_leaf");
    assert_eq!(ok(s.leaf(u32::MAX as u64), "leaf"), Some(odd));
}

fn low_leaf_lookup<S: TreeStore>(mut s: S) {
    assert_eq!(
        ok(s.find_low(v(1)), "find_low"),
        None,
        "empty store has no low leaf"
    );
    let mut big = [0u8; Value::LEN];
    big[0] = 1; // 2^240: differs from small values only in the first byte (byte order = numeric)
    let big = Value::from_bytes(big);
    let mut small = [0xffu8; Value::LEN];
    small[0] = 0;
    let small = Value::from_bytes(small);
    for (i, val) in [
        (0u64, Value::ZERO),
        (3, v(10)),
        (1, v(20)),
        (2, big),
        (4, small),
    ] {
        ok(
            s.put_leaf(
                i,
                Leaf {
                    value: val,
                    next_value: Value::ZERO,
                },
            ),
            "put_leaf",
        );
    }
    assert_eq!(
        ok(s.find_low(Value::ZERO), "find_low"),
        None,
        "nothing below 0"
    );
    assert_eq!(ok(s.find_low(v(1)), "find_low"), Some(0));
    assert_eq!(
        ok(s.find_low(v(10)), "find_low"),
        Some(0),
        "low leaf is strictly below"
    );
    assert_eq!(ok(s.find_low(v(11)), "find_low"), Some(3));
    assert_eq!(ok(s.find_low(v(20)), "find_low"), Some(3));
    assert_eq!(ok(s.find_low(v(21)), "find_low"), Some(1));
    assert_eq!(
        ok(s.find_low(big), "find_low"),
        Some(4),
        "numeric, not lexicographic-by-length order"
    );
    assert_eq!(
        ok(
            s.find_low(Value::from_bytes([0xff; Value::LEN])),
            "find_low"
        ),
        Some(2)
    );
    ok(s.remove_leaf(1), "remove_leaf");
    assert_eq!(
        ok(s.find_low(v(21)), "find_low"),
        Some(3),
        "removed values are not low leaves"
    );
}

fn slot_bookkeeping<S: TreeStore>(mut s: S) {
    ok(s.set_next_index(1 << 31), "set_next_index");
    assert_eq!(ok(s.next_index(), "next_index"), 1 << 31);
    for i in [5u64, 2, 9] {
        ok(s.push_free(i), "push_free");
    }
    let mut got = Vec::new();
    while let Some(i) = ok(s.pop_free(), "pop_free") {
        got.push(i);
        assert!(got.len() <= 3, "pop_free returns each free slot once");
    }
    got.sort_unstable();
    assert_eq!(
        got,
        vec![2, 5, 9],
        "pop_free returns exactly the pushed slots"
    );
}

/// The root of a sparse tree, computed from scratch level by level.
pub(crate) fn reference_root(leaves: &BTreeMap<u64, Leaf>) -> Fr {
    let empty = empty_hashes();
    let mut level: BTreeMap<u64, Fr> = leaves.iter().map(|(i, l)| (*i, l.hash())).collect();
    for e in empty.iter().take(DEPTH) {
        let mut up = BTreeMap::new();
        for (&i, &h) in &level {
            let parent = i >> 1;
            if up.contains_key(&parent) {
                continue;
            }
            let sib = level.get(&(i ^ 1)).copied().unwrap_or(*e);
            up.insert(
                parent,
                if i & 1 == 0 {
                    hash2(h, sib)
                } else {
                    hash2(sib, h)
                },
            );
        }
        level = up;
    }
    level.get(&0).copied().unwrap_or(empty[DEPTH])
}

/// The sorted-list invariant: slots' leaves chain 0 -> t1 -> ... -> tn -> 0.
fn check_chain(leaves: &BTreeMap<u64, Leaf>, expected: &std::collections::BTreeSet<Tag>) {
    let mut by_value: BTreeMap<Value, Leaf> = BTreeMap::new();
    for l in leaves.values() {
        assert!(
            by_value.insert(l.value, *l).is_none(),
            "duplicate value in two slots"
        );
    }
    let mut cur = *by_value.get(&Value::ZERO).expect("sentinel leaf present");
    let mut seen = Vec::new();
    while !cur.next_value.is_zero() {
        seen.push(cur.next_value);
        cur = *by_value
            .get(&cur.next_value)
            .expect("next_value points at a leaf");
    }
    let want: Vec<Value> = expected.iter().map(|t| Value::from(*t)).collect();
    assert_eq!(seen, want, "linked list holds exactly the tags, in order");
    assert_eq!(
        leaves.len(),
        expected.len() + 1,
        "one leaf per tag plus the sentinel"
    );
}

fn tree_leaves<S: TreeStore>(s: &S, upto: u64) -> BTreeMap<u64, Leaf> {
    (0..upto)
        .filter_map(|i| ok(s.leaf(i), "leaf").map(|l| (i, l)))
        .collect()
}

fn tree_ops_match_reference<S: TreeStore>(s: S, seed: u8) {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([seed; 32]);
    let mut tree = match IndexedMerkleTree::open(s) {
        Ok(t) => t,
        Err(e) => panic!("open on an empty store: {e}"),
    };
    let mut model = match IndexedMerkleTree::open(MemoryStore::new()) {
        Ok(t) => t,
        Err(e) => panic!("open on a memory store: {e}"),
    };
    assert_eq!(tree.root(), model.root(), "fresh trees agree");
    let mut present = std::collections::BTreeSet::new();
    let pool: Vec<Tag> = (1..=40).map(tag).collect();
    for step in 0..120 {
        let t = pool[rng.gen_range(0..pool.len())];
        if present.contains(&t) && rng.gen_bool(0.6) {
            tree.delete(t).unwrap_or_else(|e| panic!("delete {t}: {e}"));
            model
                .delete(t)
                .unwrap_or_else(|e| panic!("model delete {t}: {e}"));
            present.remove(&t);
            assert!(matches!(
                tree.delete(t),
                Err(crate::DeleteError::NotPresent(_))
            ));
        } else if !present.contains(&t) {
            tree.insert(t).unwrap_or_else(|e| panic!("insert {t}: {e}"));
            model
                .insert(t)
                .unwrap_or_else(|e| panic!("model insert {t}: {e}"));
            present.insert(t);
            assert!(matches!(
                tree.insert(t),
                Err(crate::InsertError::AlreadyPresent(_))
            ));
        }
        assert_eq!(
            tree.root(),
            model.root(),
            "step {step}: roots agree with the memory store"
        );
        let upto = ok(tree.store().next_index(), "next_index");
        assert!(upto <= 41, "slots are reused: next index {upto} too high");
        if step % 10 == 0 {
            let leaves = tree_leaves(tree.store(), upto);
            check_chain(&leaves, &present);
            assert_eq!(
                tree.root(),
                crate::Root::from_field(reference_root(&leaves)),
                "step {step}: root from scratch"
            );
            for probe in pool.iter().take(12) {
                let look = tree
                    .lookup(*probe)
                    .unwrap_or_else(|e| panic!("lookup: {e}"));
                assert_eq!(look.is_member(), present.contains(probe));
                let w = look.witness();
                assert_eq!(
                    w.root(),
                    tree.root(),
                    "witness authenticates against the root"
                );
                match &look {
                    Lookup::Member(w) => assert_eq!(w.leaf.value, Value::from(*probe)),
                    Lookup::NonMember(w) => assert!(w.leaf.gap_contains(Value::from(*probe))),
                }
            }
        }
    }
}

fn bulk_build_matches_reference<S: TreeStore, F: FnMut() -> S>(factory: &mut F) {
    let mut rng = rand_chacha::ChaCha20Rng::from_seed([3; 32]);
    for n in [0usize, 1, 2, 3, 100, 1000] {
        let mut tags = random_tags(&mut rng, n);
        if n > 2 {
            tags.push(tags[0]); // duplicates are dropped
        }
        let tree = IndexedMerkleTree::build(factory(), tags.clone())
            .unwrap_or_else(|e| panic!("build {n}: {e}"));
        let mem = IndexedMerkleTree::build(MemoryStore::new(), tags.clone())
            .unwrap_or_else(|e| panic!("memory build {n}: {e}"));
        assert_eq!(
            tree.root(),
            mem.root(),
            "n = {n}: build agrees with the memory store"
        );
        let set: std::collections::BTreeSet<Tag> = tags.iter().copied().collect();
        let upto = ok(tree.store().next_index(), "next_index");
        assert_eq!(upto, set.len() as u64 + 1);
        let leaves = tree_leaves(tree.store(), upto);
        check_chain(&leaves, &set);
        assert_eq!(
            tree.root(),
            crate::Root::from_field(reference_root(&leaves)),
            "n = {n}: root from scratch"
        );
        // Inserting into a built tree: same root as building with the tag included is not
        // expected (slots differ), but witnesses must stay valid.
        let mut tree = tree;
        let extra = random_tags(&mut rng, 1)[0];
        tree.insert(extra)
            .unwrap_or_else(|e| panic!("insert after build: {e}"));
        let w = tree
            .membership_witness(extra)
            .unwrap_or_else(|e| panic!("witness: {e}"));
        assert_eq!(w.map(|w| w.root()), Some(tree.root()));
        if let Some(first) = set.iter().next() {
            tree.delete(*first)
                .unwrap_or_else(|e| panic!("delete after build: {e}"));
            let w = tree
                .non_membership_witness(*first)
                .unwrap_or_else(|e| panic!("witness: {e}"));
            assert_eq!(w.map(|w| w.root()), Some(tree.root()));
        }
    }
    let mut s = factory();
    ok(s.set_next_index(1), "set_next_index");
    assert!(matches!(
        IndexedMerkleTree::build(s, vec![tag(1)]),
        Err(crate::BuildError::NotEmpty)
    ));
}

fn reopen_keeps_state<S: TreeStore, F: FnMut() -> S>(factory: &mut F) {
    let mut tree = IndexedMerkleTree::build(factory(), (1..50).map(tag).collect())
        .unwrap_or_else(|e| panic!("build: {e}"));
    tree.delete(tag(7))
        .unwrap_or_else(|e| panic!("delete: {e}"));
    let root = tree.root();
    let mut tree =
        IndexedMerkleTree::open(tree.into_store()).unwrap_or_else(|e| panic!("reopen: {e}"));
    assert_eq!(tree.root(), root, "reopening keeps the root");
    tree.insert(tag(1000))
        .unwrap_or_else(|e| panic!("insert after reopen: {e}"));
    assert_eq!(
        ok(
            tree.store().find_value(Value::from(tag(1000))),
            "find_value"
        ),
        Some(7),
        "the freed slot is reused after reopening"
    );
}
