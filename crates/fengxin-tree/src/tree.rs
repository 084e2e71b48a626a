//! The indexed Merkle tree core: bulk build, insert, delete, root and witnesses.

use std::sync::OnceLock;

use ark_bn254::Fr;
use ark_ff::Zero;
use fengxin_types::Tag;
use rayon::prelude::*;

use crate::error::{BuildError, DeleteError, Fault, InsertError, OpenError, WitnessError};
use crate::poseidon::hash2;
use crate::store::TreeStore;
use crate::value::{fr_from_bytes, fr_to_bytes, Leaf, Root, Value};

/// Depth of the tree: 2^32 leaf slots.
pub const DEPTH: usize = 32;

/// Number of leaf slots.
pub const CAPACITY: u64 = 1 << DEPTH;

/// `EMPTY[l]` is the hash of an empty subtree of height `l`: `EMPTY[0] = 0` (an empty slot),
/// `EMPTY[l + 1] = Poseidon(EMPTY[l], EMPTY[l])`.
pub fn empty_hashes() -> &'static [Fr; DEPTH + 1] {
    static EMPTY: OnceLock<[Fr; DEPTH + 1]> = OnceLock::new();
    EMPTY.get_or_init(|| {
        let mut e = [Fr::zero(); DEPTH + 1];
        for l in 0..DEPTH {
            e[l + 1] = hash2(e[l], e[l]);
        }
        e
    })
}

/// The root of a subtree of height `height` whose first slots hold `leaves` (at most
/// 2^`height`) and the rest are empty: the node the tree has at level `height` over those
/// slots.
///
/// # Panics
/// If `height` exceeds [`DEPTH`] or `leaves` does not fit (the caller's invariant).
pub fn subtree_root(height: usize, leaves: &[crate::value::Leaf]) -> Fr {
    assert!(height <= DEPTH && leaves.len() as u128 <= 1u128 << height);
    let empty = empty_hashes();
    let mut level: Vec<Fr> = leaves.par_iter().map(|l| l.hash()).collect();
    for e in empty.iter().take(height) {
        if level.is_empty() {
            break;
        }
        level = level
            .par_chunks(2)
            .map(|p| hash2(p[0], p.get(1).copied().unwrap_or(*e)))
            .collect();
    }
    level.first().copied().unwrap_or(empty[height])
}

/// The root of the tree whose consecutive subtrees of height `height`, from slot 0, have the
/// roots `roots` and whose other slots are empty.
///
/// # Panics
/// If `height` exceeds [`DEPTH`] or there are more than 2^(`DEPTH` - `height`) roots.
pub fn root_over_subtrees(height: usize, roots: &[Fr]) -> Root {
    assert!(height <= DEPTH && roots.len() as u128 <= 1u128 << (DEPTH - height));
    let empty = empty_hashes();
    let mut level = roots.to_vec();
    for e in empty.iter().take(DEPTH).skip(height) {
        if level.is_empty() {
            break;
        }
        level = level
            .chunks(2)
            .map(|p| hash2(p[0], p.get(1).copied().unwrap_or(*e)))
            .collect();
    }
    Root::from_field(level.first().copied().unwrap_or(empty[DEPTH]))
}

/// A leaf, its slot and its authentication path: what a proof of membership or of
/// non-membership is built from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeafWitness {
    /// The leaf.
    pub leaf: Leaf,
    /// Its slot (below 2^32); bit `l` says whether the node at level `l` is a right child.
    pub index: u64,
    /// Sibling hashes from the leaf level up (`siblings[0]` is the sibling leaf's hash).
    pub siblings: [Fr; DEPTH],
}

impl LeafWitness {
    /// The root this witness authenticates against.
    pub fn root(&self) -> Root {
        Root::from_field(path_root(self.leaf.hash(), self.index, &self.siblings))
    }
}

/// The root obtained by hashing `leaf_hash` up the path of slot `index`.
pub fn path_root(leaf_hash: Fr, index: u64, siblings: &[Fr; DEPTH]) -> Fr {
    let mut cur = leaf_hash;
    for (l, sib) in siblings.iter().enumerate() {
        cur = if (index >> l) & 1 == 0 {
            hash2(cur, *sib)
        } else {
            hash2(*sib, cur)
        };
    }
    cur
}

/// What the tree says about a tag, with the witness for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The tag is in the tree: the witness's leaf has `value = tag`.
    Member(LeafWitness),
    /// The tag is not in the tree: the witness's leaf is the low leaf, whose gap holds the tag.
    NonMember(LeafWitness),
}

impl Lookup {
    /// Whether the tag is in the tree.
    pub fn is_member(&self) -> bool {
        matches!(self, Lookup::Member(_))
    }

    /// The witness, whichever the answer.
    pub fn witness(&self) -> &LeafWitness {
        match self {
            Lookup::Member(w) | Lookup::NonMember(w) => w,
        }
    }
}

/// An indexed Merkle tree of depth [`DEPTH`] over a [`TreeStore`].
///
/// Slot 0 holds the sentinel leaf `(0, smallest tag)`; the other occupied slots hold one leaf per
/// tag, linked in increasing order by `next_value`. Only the root is cached in memory.
#[derive(Debug)]
pub struct IndexedMerkleTree<S> {
    store: S,
    root: Fr,
}

/// Leaves per bulk-build chunk (2^14): each chunk's subtree is hashed in memory and written out,
/// so a build's memory is bounded by the chunks in flight, not by the tree size.
const CHUNK_LEVELS: usize = 14;

impl<S: TreeStore> IndexedMerkleTree<S> {
    /// Opens the tree in `store`, creating an empty tree (just the sentinel) if the store is
    /// empty.
    pub fn open(store: S) -> Result<Self, OpenError<S::Error>> {
        if store.next_index().map_err(OpenError::Store)? == 0 {
            let mut tree = Self {
                store,
                root: Fr::zero(),
            };
            tree.store
                .put_leaf(0, Leaf::default())
                .map_err(OpenError::Store)?;
            tree.store.set_next_index(1).map_err(OpenError::Store)?;
            tree.update_path(0, Leaf::default().hash())?;
            return Ok(tree);
        }
        let root = match store.node(DEPTH as u8, 0).map_err(OpenError::Store)? {
            Some(b) => fr_from_bytes(&b)
                .ok_or_else(|| OpenError::Corrupt("root is not a field element".into()))?,
            None => return Err(OpenError::Corrupt("tree without a root".into())),
        };
        Ok(Self { store, root })
    }

    /// Builds the tree of `tags` into an empty store: sorts them, drops duplicates, links the
    /// leaves and hashes the levels in parallel (chunk by chunk, to bound memory).
    pub fn build(store: S, mut tags: Vec<Tag>) -> Result<Self, BuildError<S::Error>> {
        tags.par_sort_unstable();
        tags.dedup();
        if tags.len() as u64 + 1 > CAPACITY {
            return Err(BuildError::TooMany(tags.len()));
        }
        Self::build_sorted(store, tags.into_iter().map(Ok))
    }

    /// Builds the tree of a stream of tags in increasing order (repeats are skipped) into an
    /// empty store, for example straight from an ordered database table.
    ///
    /// Memory is bounded by the chunks in flight (a few times 2^14 leaves) and one root per
    /// chunk, whatever the number of tags: the stream is consumed chunk by chunk, each chunk's
    /// leaves written out and its subtree hashed in parallel. The result is the tree
    /// [`IndexedMerkleTree::build`] makes of the same tags.
    pub fn build_sorted<I>(mut store: S, tags: I) -> Result<Self, BuildError<S::Error>>
    where
        I: IntoIterator<Item = Result<Tag, S::Error>>,
    {
        if store.next_index().map_err(BuildError::Store)? != 0 {
            return Err(BuildError::NotEmpty);
        }
        let mut tags = tags.into_iter();
        let mut last: Option<Tag> = None;
        // The next distinct tag of the stream, checking the order.
        let mut next_tag = || -> Result<Option<Value>, BuildError<S::Error>> {
            loop {
                match tags.next() {
                    None => return Ok(None),
                    Some(Err(e)) => return Err(BuildError::Store(e)),
                    Some(Ok(t)) => match last.cmp(&Some(t)) {
                        std::cmp::Ordering::Equal => continue,
                        std::cmp::Ordering::Greater => return Err(BuildError::NotSorted(t)),
                        std::cmp::Ordering::Less => {
                            last = Some(t);
                            return Ok(Some(Value::from(t)));
                        }
                    },
                }
            }
        };

        let empty = empty_hashes();
        let chunk = 1usize << CHUNK_LEVELS;
        let batch = (rayon::current_num_threads() * 2).max(2) * chunk;
        let mut chunk_roots = Vec::new();
        // Slot `n_leaves` holds `value` and links to `following` (the sentinel holds 0).
        let mut n_leaves: u64 = 0;
        let mut value = Value::ZERO;
        let mut following = next_tag()?;
        let mut done = false;
        while !done {
            let first = n_leaves;
            let mut leaves = Vec::with_capacity(batch);
            while leaves.len() < batch && !done {
                if n_leaves >= CAPACITY {
                    return Err(BuildError::TooMany(n_leaves as usize));
                }
                leaves.push(Leaf {
                    value,
                    next_value: following.unwrap_or(Value::ZERO),
                });
                n_leaves += 1;
                match following {
                    Some(v) => {
                        value = v;
                        following = next_tag()?;
                    }
                    None => done = true,
                }
            }
            for (i, leaf) in leaves.iter().enumerate() {
                store
                    .put_leaf(first + i as u64, *leaf)
                    .map_err(BuildError::Store)?;
            }
            // levels[l] holds the chunk's non-empty nodes at level l (a prefix of the level).
            let results: Vec<Vec<Vec<Fr>>> = leaves
                .par_chunks(chunk)
                .map(|leaves| {
                    let mut levels = Vec::with_capacity(CHUNK_LEVELS + 1);
                    levels.push(leaves.par_iter().map(Leaf::hash).collect::<Vec<Fr>>());
                    for l in 0..CHUNK_LEVELS {
                        let below = &levels[l];
                        let up: Vec<Fr> = below
                            .par_chunks(2)
                            .map(|p| hash2(p[0], p.get(1).copied().unwrap_or(empty[l])))
                            .collect();
                        levels.push(up);
                    }
                    levels
                })
                .collect();
            for (k, levels) in results.into_iter().enumerate() {
                let start = first + (k * chunk) as u64;
                for (l, nodes) in levels.iter().enumerate() {
                    let at = start >> l;
                    for (j, h) in nodes.iter().enumerate() {
                        store
                            .set_node(l as u8, at + j as u64, Some(fr_to_bytes(*h)))
                            .map_err(BuildError::Store)?;
                    }
                }
                let root = levels
                    .last()
                    .and_then(|v| v.first())
                    .copied()
                    .expect("invariant: every chunk holds at least one leaf");
                chunk_roots.push(root);
            }
        }
        store.set_next_index(n_leaves).map_err(BuildError::Store)?;

        let mut level = chunk_roots;
        for (l, e) in empty.iter().enumerate().take(DEPTH).skip(CHUNK_LEVELS) {
            level = level
                .chunks(2)
                .map(|p| hash2(p[0], p.get(1).copied().unwrap_or(*e)))
                .collect();
            for (j, h) in level.iter().enumerate() {
                store
                    .set_node(l as u8 + 1, j as u64, Some(fr_to_bytes(*h)))
                    .map_err(BuildError::Store)?;
            }
        }
        let root = *level
            .first()
            .expect("invariant: the top level has exactly one node");
        Ok(Self { store, root })
    }

    /// The current root.
    pub fn root(&self) -> Root {
        Root::from_field(self.root)
    }

    /// The underlying store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Gives the store back (for example to commit a database transaction).
    pub fn into_store(self) -> S {
        self.store
    }

    /// Whether `tag` is in the tree.
    pub fn contains(&self, tag: Tag) -> Result<bool, S::Error> {
        Ok(self.store.find_value(Value::from(tag))?.is_some())
    }

    /// Inserts `tag`: links it after its low leaf and fills a free slot (a reused one if any).
    /// Costs two path updates (2 × 33 Poseidon hashes).
    pub fn insert(&mut self, tag: Tag) -> Result<(), InsertError<S::Error>> {
        let t = Value::from(tag);
        if self
            .store
            .find_value(t)
            .map_err(InsertError::Store)?
            .is_some()
        {
            return Err(InsertError::AlreadyPresent(tag));
        }
        let (low_index, mut low) = self.low_leaf(t)?;
        let index = match self.store.pop_free().map_err(InsertError::Store)? {
            Some(i) => i,
            None => {
                let next = self.store.next_index().map_err(InsertError::Store)?;
                if next >= CAPACITY {
                    return Err(InsertError::Full);
                }
                self.store
                    .set_next_index(next + 1)
                    .map_err(InsertError::Store)?;
                next
            }
        };
        let new = Leaf {
            value: t,
            next_value: low.next_value,
        };
        low.next_value = t;
        self.store
            .put_leaf(low_index, low)
            .map_err(InsertError::Store)?;
        self.update_path(low_index, low.hash())?;
        self.store
            .put_leaf(index, new)
            .map_err(InsertError::Store)?;
        self.update_path(index, new.hash())?;
        Ok(())
    }

    /// Deletes `tag`: unlinks its leaf (the low leaf takes over its `next_value`) and empties its
    /// slot for reuse.
    pub fn delete(&mut self, tag: Tag) -> Result<(), DeleteError<S::Error>> {
        let t = Value::from(tag);
        let index = self
            .store
            .find_value(t)
            .map_err(DeleteError::Store)?
            .ok_or(DeleteError::NotPresent(tag))?;
        let leaf = self.read_leaf(index)?;
        let (low_index, mut low) = self.low_leaf(t)?;
        if low.next_value != t {
            return Err(DeleteError::Corrupt(format!(
                "low leaf of {tag} in slot {low_index} does not link to it"
            )));
        }
        low.next_value = leaf.next_value;
        self.store
            .put_leaf(low_index, low)
            .map_err(DeleteError::Store)?;
        self.update_path(low_index, low.hash())?;
        self.store.remove_leaf(index).map_err(DeleteError::Store)?;
        self.update_path(index, Fr::zero())?;
        self.store.push_free(index).map_err(DeleteError::Store)?;
        Ok(())
    }

    /// The membership witness of `tag` (its own leaf), or `None` if it is not in the tree.
    pub fn membership_witness(
        &self,
        tag: Tag,
    ) -> Result<Option<LeafWitness>, WitnessError<S::Error>> {
        match self.lookup(tag)? {
            Lookup::Member(w) => Ok(Some(w)),
            Lookup::NonMember(_) => Ok(None),
        }
    }

    /// The non-membership witness of `tag` (its low leaf), or `None` if it is in the tree.
    pub fn non_membership_witness(
        &self,
        tag: Tag,
    ) -> Result<Option<LeafWitness>, WitnessError<S::Error>> {
        match self.lookup(tag)? {
            Lookup::Member(_) => Ok(None),
            Lookup::NonMember(w) => Ok(Some(w)),
        }
    }

    /// Looks `tag` up and returns the answer with its witness.
    pub fn lookup(&self, tag: Tag) -> Result<Lookup, WitnessError<S::Error>> {
        let t = Value::from(tag);
        if let Some(index) = self.store.find_value(t).map_err(WitnessError::Store)? {
            let leaf = self.read_leaf(index)?;
            return Ok(Lookup::Member(self.witness_at(index, leaf)?));
        }
        let (index, leaf) = self.low_leaf(t)?;
        if !leaf.gap_contains(t) {
            return Err(WitnessError::Corrupt(format!(
                "low leaf of {tag} in slot {index} does not cover it"
            )));
        }
        Ok(Lookup::NonMember(self.witness_at(index, leaf)?))
    }

    fn witness_at(&self, index: u64, leaf: Leaf) -> Result<LeafWitness, Fault<S::Error>> {
        let mut siblings = [Fr::zero(); DEPTH];
        for (l, s) in siblings.iter_mut().enumerate() {
            *s = self.node_hash(l, (index >> l) ^ 1)?;
        }
        Ok(LeafWitness {
            leaf,
            index,
            siblings,
        })
    }

    fn read_leaf(&self, index: u64) -> Result<Leaf, Fault<S::Error>> {
        self.store
            .leaf(index)?
            .ok_or_else(|| Fault::Corrupt(format!("value index points at empty slot {index}")))
    }

    fn low_leaf(&self, t: Value) -> Result<(u64, Leaf), Fault<S::Error>> {
        let index = self
            .store
            .find_low(t)?
            .ok_or_else(|| Fault::Corrupt("no sentinel leaf".into()))?;
        Ok((index, self.read_leaf(index)?))
    }

    fn node_hash(&self, level: usize, index: u64) -> Result<Fr, Fault<S::Error>> {
        match self.store.node(level as u8, index)? {
            Some(b) => fr_from_bytes(&b).ok_or_else(|| {
                Fault::Corrupt(format!("node ({level}, {index}) is not a field element"))
            }),
            None => Ok(empty_hashes()[level]),
        }
    }

    fn set_node_hash(&mut self, level: usize, index: u64, h: Fr) -> Result<(), Fault<S::Error>> {
        let v = (h != empty_hashes()[level]).then(|| fr_to_bytes(h));
        self.store.set_node(level as u8, index, v)?;
        Ok(())
    }

    /// Writes `leaf_hash` into slot `index` and rehashes its path up to the root.
    fn update_path(&mut self, index: u64, leaf_hash: Fr) -> Result<(), Fault<S::Error>> {
        let mut cur = leaf_hash;
        let mut idx = index;
        for l in 0..DEPTH {
            self.set_node_hash(l, idx, cur)?;
            let sib = self.node_hash(l, idx ^ 1)?;
            cur = if idx & 1 == 0 {
                hash2(cur, sib)
            } else {
                hash2(sib, cur)
            };
            idx >>= 1;
        }
        self.store
            .set_node(DEPTH as u8, 0, Some(fr_to_bytes(cur)))?;
        self.root = cur;
        Ok(())
    }
}
