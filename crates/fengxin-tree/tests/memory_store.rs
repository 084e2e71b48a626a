//! The in-memory store passes the conformance suite, and tree-level properties.

use fengxin_tree::{conformance, IndexedMerkleTree, Lookup, MemoryStore, Value};
use fengxin_types::Tag;
use proptest::prelude::*;

#[test]
fn memory_store_conforms() {
    conformance::run(MemoryStore::new);
}

fn tag_strategy() -> impl Strategy<Value = Tag> {
    proptest::array::uniform31(any::<u8>()).prop_filter_map("non-zero", |b| Tag::from_bytes(b).ok())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Building a set and inserting its elements one by one into an empty tree give the same
    /// answers with valid witnesses; the roots differ only through slot placement, so both are
    /// checked against their own witnesses.
    #[test]
    fn build_and_inserts_answer_alike(
        tags in proptest::collection::vec(tag_strategy(), 0..40),
        probes in proptest::collection::vec(tag_strategy(), 1..10),
    ) {
        let built = IndexedMerkleTree::build(MemoryStore::new(), tags.clone()).expect("build");
        let mut grown = IndexedMerkleTree::open(MemoryStore::new()).expect("open");
        for t in &tags {
            match grown.insert(*t) {
                Ok(()) | Err(fengxin_tree::InsertError::AlreadyPresent(_)) => {}
                Err(e) => panic!("insert: {e}"),
            }
        }
        for p in probes.iter().chain(tags.iter()) {
            for tree in [&built, &grown] {
                let look = tree.lookup(*p).expect("lookup");
                prop_assert_eq!(look.is_member(), tags.contains(p));
                prop_assert_eq!(look.witness().root(), tree.root());
                match look {
                    Lookup::Member(w) => prop_assert_eq!(w.leaf.value, Value::from(*p)),
                    Lookup::NonMember(w) => prop_assert!(w.leaf.gap_contains(Value::from(*p))),
                }
            }
        }
    }
}

#[test]
fn insert_then_delete_restores_root() {
    let tags: Vec<Tag> = (1u8..=20)
        .map(|i| {
            let mut b = [0u8; 31];
            b[0] = i.wrapping_mul(37);
            b[30] = i;
            Tag::from_bytes(b).expect("non-zero")
        })
        .collect();
    let mut tree =
        IndexedMerkleTree::build(MemoryStore::new(), tags[..10].to_vec()).expect("build");
    let root = tree.root();
    let nodes = tree.store().node_count();
    for t in &tags[10..] {
        tree.insert(*t).expect("insert");
    }
    assert_ne!(tree.root(), root);
    for t in tags[10..].iter().rev() {
        tree.delete(*t).expect("delete");
    }
    assert_eq!(
        tree.root(),
        root,
        "deleting in reverse order restores the root"
    );
    assert_eq!(
        tree.store().node_count(),
        nodes,
        "emptied subtrees are removed from the store"
    );
}

/// A store that gets one detail of the contract wrong, to show the suite notices.
struct Faulty {
    inner: MemoryStore,
    /// `find_low` also returns an exact match (≤ instead of <).
    low_inclusive: bool,
    /// `put_leaf` forgets to unmap the slot's previous value.
    stale_values: bool,
}

impl fengxin_tree::TreeStore for Faulty {
    type Error = fengxin_tree::Infallible;
    fn node(&self, level: u8, index: u64) -> Result<Option<[u8; 32]>, Self::Error> {
        self.inner.node(level, index)
    }
    fn set_node(&mut self, l: u8, i: u64, h: Option<[u8; 32]>) -> Result<(), Self::Error> {
        self.inner.set_node(l, i, h)
    }
    fn leaf(&self, index: u64) -> Result<Option<fengxin_tree::Leaf>, Self::Error> {
        self.inner.leaf(index)
    }
    fn put_leaf(&mut self, index: u64, leaf: fengxin_tree::Leaf) -> Result<(), Self::Error> {
        if self.stale_values {
            if let Some(old) = self.inner.leaf(index)? {
                // Re-insert under a fresh slot mapping, leaving `old.value` mapped too.
                self.inner.put_leaf(index, leaf)?;
                if old.value != leaf.value {
                    let keep = fengxin_tree::Leaf {
                        value: old.value,
                        next_value: old.next_value,
                    };
                    self.inner.put_leaf(u32::MAX as u64 + 7, keep)?;
                }
                return Ok(());
            }
        }
        self.inner.put_leaf(index, leaf)
    }
    fn remove_leaf(&mut self, index: u64) -> Result<(), Self::Error> {
        self.inner.remove_leaf(index)
    }
    fn find_value(&self, value: Value) -> Result<Option<u64>, Self::Error> {
        self.inner.find_value(value)
    }
    fn find_low(&self, value: Value) -> Result<Option<u64>, Self::Error> {
        if self.low_inclusive {
            if let Some(i) = self.inner.find_value(value)? {
                return Ok(Some(i));
            }
        }
        self.inner.find_low(value)
    }
    fn next_index(&self) -> Result<u64, Self::Error> {
        self.inner.next_index()
    }
    fn set_next_index(&mut self, next: u64) -> Result<(), Self::Error> {
        self.inner.set_next_index(next)
    }
    fn push_free(&mut self, index: u64) -> Result<(), Self::Error> {
        self.inner.push_free(index)
    }
    fn pop_free(&mut self) -> Result<Option<u64>, Self::Error> {
        self.inner.pop_free()
    }
}

#[test]
#[should_panic(expected = "below")]
fn suite_catches_inclusive_low_leaf() {
    conformance::run(|| Faulty {
        inner: MemoryStore::new(),
        low_inclusive: true,
        stale_values: false,
    });
}

#[test]
#[should_panic(expected = "old value unmapped on replace")]
fn suite_catches_stale_value_index() {
    conformance::run(|| Faulty {
        inner: MemoryStore::new(),
        low_inclusive: false,
        stale_values: true,
    });
}

/// The root of `tags` computed the slow, obvious way: every leaf hashed, every level hashed in
/// full up to the root.
fn naive_root(sorted: &[Tag]) -> fengxin_tree::Root {
    use fengxin_tree::{empty_hashes, poseidon::hash2, Leaf, DEPTH};
    let values: Vec<Value> = std::iter::once(Value::ZERO)
        .chain(sorted.iter().map(|t| Value::from(*t)))
        .collect();
    let mut level: Vec<fengxin_tree::Fr> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            Leaf {
                value: *v,
                next_value: values.get(i + 1).copied().unwrap_or(Value::ZERO),
            }
            .hash()
        })
        .collect();
    for e in empty_hashes().iter().take(DEPTH) {
        level = level
            .chunks(2)
            .map(|p| hash2(p[0], p.get(1).copied().unwrap_or(*e)))
            .collect();
    }
    fengxin_tree::Root::from_field(level[0])
}

fn numbered_tag(i: u64) -> Tag {
    let mut b = [0u8; 31];
    b[..8].copy_from_slice(&i.wrapping_mul(0x9e37_79b9_7f4a_7c15).to_be_bytes());
    b[30] = 1;
    Tag::from_bytes(b).expect("non-zero")
}

/// A streamed build spanning several chunks and several batches of chunks (one worker thread:
/// batches of 2 × 2^14 leaves) gives the root of the obvious computation, and the same tree as
/// a build from an unsorted vector; repeats are skipped, and a stream out of order is refused.
#[test]
fn sorted_stream_build_spans_chunks_and_batches() {
    let mut tags: Vec<Tag> = (0..40_000).map(numbered_tag).collect();
    let unsorted = tags.clone();
    tags.sort_unstable();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("thread pool");
    let streamed = pool.install(|| {
        let with_repeats = tags.iter().flat_map(|t| [Ok(*t), Ok(*t)]);
        IndexedMerkleTree::build_sorted(MemoryStore::new(), with_repeats).expect("sorted build")
    });
    assert_eq!(streamed.root(), naive_root(&tags));
    let built = IndexedMerkleTree::build(MemoryStore::new(), unsorted).expect("build");
    assert_eq!(built.root(), streamed.root());
    assert_eq!(
        fengxin_tree::TreeStore::next_index(streamed.store()).expect("next"),
        tags.len() as u64 + 1
    );
    for i in [0, 16_382, 16_383, 32_767, 32_768, 39_999] {
        let look = streamed.lookup(tags[i]).expect("lookup");
        assert!(look.is_member());
        assert_eq!(look.witness().root(), streamed.root());
    }

    let out_of_order = [Ok(tags[1]), Ok(tags[0])];
    assert!(matches!(
        IndexedMerkleTree::build_sorted(MemoryStore::new(), out_of_order),
        Err(fengxin_tree::BuildError::NotSorted(t)) if t == tags[0]
    ));
    let empty = IndexedMerkleTree::build_sorted(MemoryStore::new(), std::iter::empty())
        .expect("empty build");
    assert_eq!(
        empty.root(),
        IndexedMerkleTree::open(MemoryStore::new())
            .expect("open")
            .root()
    );
}
