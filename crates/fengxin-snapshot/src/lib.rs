//! The snapshot of one published (list, epoch): what a member shares with queriers for
//! snapshot-mode screening (docs/snapshots.md).
//!
//! - **Padding.** The list's real tags are padded with dummy tags up to a coarse size class
//!   ([`size_class`]: 1,024 entries, then steps of ×1.25), so the snapshot's length says only the
//!   class. Dummies are a PRF of a per-(list, epoch) [`PaddingSecret`] ([`dummy_tags`]): random
//!   to anyone without the secret, and recomputable by the regulator, to whom the secret is
//!   sealed, so that attestation counts only the real entries.
//! - **Entries.** Each entry is a tag and a fixed-size label ([`LABEL_LEN`] bytes, opaque here),
//!   in increasing tag order, the order the published tree is built in.
//! - **Chunks.** The entries are cut into chunks of [`CHUNK_ENTRIES`] (the last may be short).
//!   The manifest says of each chunk ([`ChunkInfo`]) its labelled SHA-256 hash over its index
//!   and bytes, its last tag, and the root of the published tree's subtree of height
//!   [`CHUNK_HEIGHT`] over the chunk's slots; the manifest is committed by a binary Merkle tree
//!   whose top, bound to the entry and chunk counts, is the **chunk root**
//!   ([`SnapshotHeader::root`]) that the publication carries.
//! - **Verification.** An [`Assembler`] takes the manifest (checked against the chunk root,
//!   and its subtree roots against the published tree root) and then each chunk in order as
//!   it arrives, checking its hash, its length, its tags' order after the previous chunk's last
//!   tag, its last tag and its subtree root: the chunks that pass make exactly the published
//!   tree, and the first one that fails is named, so it is blamed on its sender.

use fengxin_tree::{root_over_subtrees, subtree_root, Leaf, Value};
use fengxin_types::{Epoch, ListId, Tag};
use sha2::{Digest, Sha256, Sha512};

/// Entries per chunk (the last chunk may hold fewer).
pub const CHUNK_ENTRIES: usize = 4096;

/// Bytes of an entry's label (sealed reason code and date, [`fengxin_crypto::label`]; random
/// for dummies).
pub const LABEL_LEN: usize = fengxin_crypto::label::LABEL_LEN;

/// Bytes of one entry in a chunk: the tag, then the label.
pub const ENTRY_LEN: usize = Tag::LEN + LABEL_LEN;

/// The smallest size class.
pub const MIN_CLASS: u64 = 1024;

/// Most chunks a shared snapshot may have (33,554,432 entries): its manifest, 95 bytes a
/// chunk, then fits one protocol message and one ledger record (a fault's evidence).
pub const MAX_SHARED_CHUNKS: u32 = 8192;

/// Most entries a snapshot may hold (a tree holds 2^32 slots, one of them the sentinel).
pub const MAX_ENTRIES: u64 = (1 << 32) - 1;

/// Height of the tree's subtree over one chunk's slots: 2^12 = [`CHUNK_ENTRIES`].
pub const CHUNK_HEIGHT: usize = 12;

use fengxin_crypto::labels::{
    SNAPSHOT_CHUNK as CHUNK_LABEL, SNAPSHOT_CHUNK_INFO as INFO_LABEL,
    SNAPSHOT_DUMMY_LABEL as DUMMY_LABEL_LABEL, SNAPSHOT_DUMMY_TAG as DUMMY_TAG_LABEL,
    SNAPSHOT_NODE as NODE_LABEL, SNAPSHOT_ROOT as ROOT_LABEL,
};

/// The size class a list of `real` entries is padded to: the smallest of 1,024 × 1.25^k
/// (rounded up at each step) that holds them. `None` past [`MAX_ENTRIES`].
pub fn size_class(real: u64) -> Option<u64> {
    let mut class = MIN_CLASS;
    while class < real {
        class = class.checked_add(class.div_ceil(4))?;
    }
    (class <= MAX_ENTRIES).then_some(class)
}

/// A per-(list, epoch) secret from which the dummy tags and labels are derived.
#[derive(Clone, PartialEq, Eq)]
pub struct PaddingSecret([u8; 32]);

impl std::fmt::Debug for PaddingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PaddingSecret(..)")
    }
}

impl PaddingSecret {
    /// A fresh random secret.
    pub fn generate<R: rand_core::RngCore + rand_core::CryptoRng>(rng: &mut R) -> Self {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        Self(b)
    }

    /// The secret of these bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes (to seal to the regulator).
    pub fn expose_secret(&self) -> &[u8; 32] {
        &self.0
    }

    fn prf(&self, label: &[u8], list: &ListId, epoch: Epoch, i: u64, ctr: u8) -> [u8; 64] {
        let list = list.as_str().as_bytes();
        Sha512::new()
            .chain_update(label)
            .chain_update(self.0)
            .chain_update([list.len() as u8])
            .chain_update(list)
            .chain_update(epoch.get().to_be_bytes())
            .chain_update(i.to_be_bytes())
            .chain_update([ctr])
            .finalize()
            .into()
    }
}

/// The `i`-th dummy tag of (list, epoch): a non-zero 248-bit value derived from the secret.
pub fn dummy_tag(secret: &PaddingSecret, list: &ListId, epoch: Epoch, i: u64) -> Tag {
    let mut ctr = 0u8;
    loop {
        let out = secret.prf(DUMMY_TAG_LABEL, list, epoch, i, ctr);
        let mut b = [0u8; Tag::LEN];
        b.copy_from_slice(&out[..Tag::LEN]);
        if let Ok(t) = Tag::from_bytes(b) {
            return t;
        }
        ctr = ctr.wrapping_add(1);
    }
}

/// The `i`-th dummy's label: as random-looking as an encrypted one.
pub fn dummy_label(secret: &PaddingSecret, list: &ListId, epoch: Epoch, i: u64) -> [u8; LABEL_LEN] {
    let out = secret.prf(DUMMY_LABEL_LABEL, list, epoch, i, 0);
    let mut b = [0u8; LABEL_LEN];
    b.copy_from_slice(&out[..LABEL_LEN]);
    b
}

/// The first `count` dummy tags of (list, epoch).
pub fn dummy_tags(secret: &PaddingSecret, list: &ListId, epoch: Epoch, count: u64) -> Vec<Tag> {
    (0..count)
        .map(|i| dummy_tag(secret, list, epoch, i))
        .collect()
}

/// One snapshot entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The tag.
    pub tag: Tag,
    /// Its label.
    pub label: [u8; LABEL_LEN],
}

/// Why a snapshot could not be built or a received one is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// More real entries than any size class holds.
    #[error("{0} entries: more than a snapshot holds")]
    TooMany(u64),
    /// A tag appears twice among the real entries.
    #[error("tag {0:?} appears twice")]
    Duplicate(Tag),
    /// A dummy tag equals a real one (chance 2^-200): pad again with a fresh secret.
    #[error("a dummy tag equals a real one; pad again with a fresh padding secret")]
    PaddingCollision,
    /// The manifest does not have the header's number of chunks or does not hash to its root.
    #[error("the manifest does not match the chunk root: {0}")]
    BadManifest(String),
    /// The manifest is the one the chunk root commits to, but its subtree roots do not make
    /// the published tree: the publication's own fault.
    #[error("the manifest's subtree roots make the tree root {built}, not the published one")]
    WrongTree {
        /// The root they make (hex).
        built: String,
    },
    /// A chunk does not check out: the sender's fault.
    #[error("chunk {index}: {reason}")]
    BadChunk {
        /// The chunk.
        index: u32,
        /// Why.
        reason: String,
        /// Whether the chunk is the one the chunk root commits to (its hash is the manifest's),
        /// so the fault is in the publication itself, not only in what was sent.
        committed: bool,
    },
    /// A chunk arrived out of turn.
    #[error("chunk {got} arrived, chunk {expected} was due")]
    OutOfTurn {
        /// The chunk due.
        expected: u32,
        /// The chunk that came.
        got: u32,
    },
    /// A given subtree root is missing.
    #[error("no subtree root for chunk {0}")]
    NoSubtree(u32),
    /// The manifest has not been accepted yet.
    #[error("no manifest yet")]
    NoManifest,
    /// Not every chunk has arrived.
    #[error("{received} of {chunks} chunks received")]
    Incomplete {
        /// Chunks received.
        received: u32,
        /// Chunks in the snapshot.
        chunks: u32,
    },
}

/// What the publication carries of a snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SnapshotHeader {
    /// Entries (real and dummy): the size class.
    pub entries: u64,
    /// Chunks.
    pub chunks: u32,
    /// The chunk root.
    pub root: [u8; 32],
}

impl SnapshotHeader {
    /// Whether the header is well formed: its entries a size class and its chunks the number
    /// they need.
    pub fn is_well_formed(&self) -> bool {
        size_class(self.entries) == Some(self.entries)
            && chunk_count(self.entries) == u64::from(self.chunks)
            && self.chunks <= MAX_SHARED_CHUNKS
    }
}

/// Chunks needed for `entries` entries.
pub fn chunk_count(entries: u64) -> u64 {
    entries.div_ceil(CHUNK_ENTRIES as u64)
}

/// The hash of chunk `index` with bytes `bytes`.
pub fn chunk_hash(index: u32, bytes: &[u8]) -> [u8; 32] {
    Sha256::new()
        .chain_update(CHUNK_LABEL)
        .chain_update(index.to_be_bytes())
        .chain_update(bytes)
        .finalize()
        .into()
}

/// What the manifest says of one chunk (encoded as its three byte strings in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkInfo {
    /// [`chunk_hash`] of the chunk's index and bytes.
    pub hash: [u8; 32],
    /// The chunk's last (greatest) tag.
    pub last: Tag,
    /// The root of the published tree's subtree of height [`CHUNK_HEIGHT`] over the slots
    /// `index · 4096 .. (index + 1) · 4096`: the previous chunk's last tag (the sentinel for
    /// chunk 0) linked to this chunk's first, then this chunk's tags, each linked to the next
    /// (the last chunk's last tag to +infinity if it fits).
    pub subtree: [u8; 32],
}

impl serde::Serialize for ChunkInfo {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serde::Serialize::serialize(&(self.hash, *self.last.as_bytes(), self.subtree), s)
    }
}

impl<'de> serde::Deserialize<'de> for ChunkInfo {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let (hash, last, subtree) = <([u8; 32], [u8; Tag::LEN], [u8; 32])>::deserialize(d)?;
        Ok(Self {
            hash,
            last: Tag::from_bytes(last).map_err(serde::de::Error::custom)?,
            subtree,
        })
    }
}

/// Bytes of a [`ChunkInfo`] in its stored form: hash, last tag, subtree root.
pub const CHUNK_INFO_LEN: usize = 32 + Tag::LEN + 32;

impl ChunkInfo {
    /// The Merkle leaf of chunk `index`'s info.
    pub fn leaf(&self, index: u32) -> [u8; 32] {
        Sha256::new()
            .chain_update(INFO_LABEL)
            .chain_update(index.to_be_bytes())
            .chain_update(self.hash)
            .chain_update(self.last.as_bytes())
            .chain_update(self.subtree)
            .finalize()
            .into()
    }

    /// The stored form.
    pub fn to_bytes(&self) -> [u8; CHUNK_INFO_LEN] {
        let mut out = [0u8; CHUNK_INFO_LEN];
        out[..32].copy_from_slice(&self.hash);
        out[32..32 + Tag::LEN].copy_from_slice(self.last.as_bytes());
        out[32 + Tag::LEN..].copy_from_slice(&self.subtree);
        out
    }

    /// Reads the stored form (`None` if the tag is not one).
    pub fn from_bytes(bytes: &[u8; CHUNK_INFO_LEN]) -> Option<Self> {
        let mut hash = [0u8; 32];
        let mut last = [0u8; Tag::LEN];
        let mut subtree = [0u8; 32];
        hash.copy_from_slice(&bytes[..32]);
        last.copy_from_slice(&bytes[32..32 + Tag::LEN]);
        subtree.copy_from_slice(&bytes[32 + Tag::LEN..]);
        Some(Self {
            hash,
            last: Tag::from_bytes(last).ok()?,
            subtree,
        })
    }
}

/// The leaves of the tree's slots over a chunk with `tags` (increasing, not empty), after the
/// previous chunk's last tag `previous` (`None` for chunk 0: the sentinel). The last chunk's
/// last tag links to +infinity in the same subtree if the chunk is short; a full last chunk's
/// last leaf is [`final_subtree`].
fn chunk_leaves(previous: Option<Tag>, tags: &[Tag], last_chunk: bool) -> Vec<Leaf> {
    let mut leaves = Vec::with_capacity(tags.len() + 1);
    let mut value = previous.map_or(Value::ZERO, Value::from);
    for t in tags {
        leaves.push(Leaf {
            value,
            next_value: Value::from(*t),
        });
        value = Value::from(*t);
    }
    if last_chunk && tags.len() < CHUNK_ENTRIES {
        leaves.push(Leaf {
            value,
            next_value: Value::ZERO,
        });
    }
    leaves
}

/// The subtree root of a chunk with `tags` after `previous` (see [`ChunkInfo::subtree`]).
pub fn chunk_subtree(previous: Option<Tag>, tags: &[Tag], last_chunk: bool) -> [u8; 32] {
    let leaves = chunk_leaves(previous, tags, last_chunk);
    fengxin_tree::Root::from_field(subtree_root(CHUNK_HEIGHT, &leaves)).to_bytes()
}

/// The subtree after the last chunk when that chunk is full: its last tag's leaf alone.
fn final_subtree(last: Tag) -> fengxin_tree::Fr {
    subtree_root(
        CHUNK_HEIGHT,
        &[Leaf {
            value: Value::from(last),
            next_value: Value::ZERO,
        }],
    )
}

/// The tree root the manifest's subtree roots make for a snapshot of `entries` entries
/// (`None` if a subtree root is not a field element).
pub fn manifest_tree_root(entries: u64, manifest: &[ChunkInfo]) -> Option<fengxin_tree::Root> {
    let mut roots = Vec::with_capacity(manifest.len() + 1);
    for info in manifest {
        roots.push(
            fengxin_tree::Root::from_bytes(&info.subtree)
                .ok()?
                .to_field(),
        );
    }
    if entries.is_multiple_of(CHUNK_ENTRIES as u64) {
        roots.push(final_subtree(manifest.last()?.last));
    }
    Some(root_over_subtrees(CHUNK_HEIGHT, &roots))
}

/// The chunk root of a snapshot of `entries` entries with `manifest`: the top of the binary
/// Merkle tree over the chunks' info leaves (an unpaired node moves up as it is), bound to
/// both counts.
pub fn chunk_root(entries: u64, manifest: &[ChunkInfo]) -> [u8; 32] {
    let mut level = info_leaves(manifest);
    while level.len() > 1 {
        level = level_up(&level);
    }
    top_to_root(
        entries,
        manifest.len() as u32,
        level.first().copied().unwrap_or([0; 32]),
    )
}

/// Checks chunk `index` of a snapshot with `header` whose hash is the manifest's `info`
/// against the rest of what the manifest says of it, after the previous chunk's last tag
/// `previous`: its length, its tags' order, its last tag and its subtree root. Anyone holding
/// the publication, the chunk and those two infos can run it.
pub fn check_committed_chunk(
    header: SnapshotHeader,
    index: u32,
    previous: Option<Tag>,
    info: &ChunkInfo,
    bytes: &[u8],
) -> Result<Vec<Entry>, String> {
    let before = u64::from(index) * CHUNK_ENTRIES as u64;
    let due = header
        .entries
        .saturating_sub(before)
        .min(CHUNK_ENTRIES as u64) as usize;
    if due == 0 || bytes.len() != due * ENTRY_LEN {
        return Err(format!(
            "{} bytes, {due} entries of {ENTRY_LEN} bytes are due",
            bytes.len()
        ));
    }
    let mut entries = Vec::with_capacity(due);
    let mut last = previous;
    for (k, raw) in bytes.chunks_exact(ENTRY_LEN).enumerate() {
        let mut t = [0u8; Tag::LEN];
        t.copy_from_slice(&raw[..Tag::LEN]);
        let tag = Tag::from_bytes(t).map_err(|e| format!("entry {k}: {e}"))?;
        if last.is_some_and(|last| last >= tag) {
            return Err(format!("entry {k}: the tags are not strictly increasing"));
        }
        last = Some(tag);
        let mut label = [0u8; LABEL_LEN];
        label.copy_from_slice(&raw[Tag::LEN..]);
        entries.push(Entry { tag, label });
    }
    if last != Some(info.last) {
        return Err("its last tag is not the manifest's".into());
    }
    let tags: Vec<Tag> = entries.iter().map(|e| e.tag).collect();
    let last_chunk = index + 1 == header.chunks;
    if chunk_subtree(previous, &tags, last_chunk) != info.subtree {
        return Err("its tags do not make the manifest's subtree root".into());
    }
    Ok(entries)
}

/// The sibling hashes that take chunk `index`'s info leaf up to the top of the manifest's
/// tree ([`chunk_root`]), from the bottom; levels where the node is unpaired add none.
/// Empty if `index` is past the manifest.
pub fn info_path(manifest: &[ChunkInfo], index: u32) -> Vec<[u8; 32]> {
    let mut level = info_leaves(manifest);
    let mut at = index as usize;
    if at >= level.len() {
        return Vec::new();
    }
    let mut path = Vec::new();
    while level.len() > 1 {
        let sibling = at ^ 1;
        if let Some(h) = level.get(sibling) {
            path.push(*h);
        }
        level = level_up(&level);
        at /= 2;
    }
    path
}

/// Whether `info` is chunk `index`'s info in the manifest `header`'s chunk root commits to,
/// by its [`info_path`].
pub fn verify_info(
    header: &SnapshotHeader,
    index: u32,
    info: &ChunkInfo,
    path: &[[u8; 32]],
) -> bool {
    if index >= header.chunks {
        return false;
    }
    let mut node = info.leaf(index);
    let (mut at, mut width) = (index as u64, u64::from(header.chunks));
    let mut siblings = path.iter();
    while width > 1 {
        let sibling = at ^ 1;
        if sibling < width {
            let Some(h) = siblings.next() else {
                return false;
            };
            node = if at % 2 == 0 {
                node_hash(&node, h)
            } else {
                node_hash(h, &node)
            };
        }
        at /= 2;
        width = width.div_ceil(2);
    }
    siblings.next().is_none() && top_to_root(header.entries, header.chunks, node) == header.root
}

fn info_leaves(manifest: &[ChunkInfo]) -> Vec<[u8; 32]> {
    manifest
        .iter()
        .enumerate()
        .map(|(i, info)| info.leaf(i as u32))
        .collect()
}

/// One level up the manifest's tree: neighbours paired, an unpaired last node moved up.
fn level_up(level: &[[u8; 32]]) -> Vec<[u8; 32]> {
    level
        .chunks(2)
        .map(|pair| match pair {
            [l, r] => node_hash(l, r),
            [one] => *one,
            _ => unreachable!("chunks(2) yields one or two"),
        })
        .collect()
}

fn node_hash(l: &[u8; 32], r: &[u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(NODE_LABEL)
        .chain_update(l)
        .chain_update(r)
        .finalize()
        .into()
}

fn top_to_root(entries: u64, chunks: u32, top: [u8; 32]) -> [u8; 32] {
    Sha256::new()
        .chain_update(ROOT_LABEL)
        .chain_update(entries.to_be_bytes())
        .chain_update(chunks.to_be_bytes())
        .chain_update(top)
        .finalize()
        .into()
}

/// A built snapshot: every entry, real and dummy, in increasing tag order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    entries: Vec<Entry>,
    manifest: Vec<ChunkInfo>,
}

impl Snapshot {
    /// Pads `real` (any order) with dummies from `secret` up to its size class and sorts the
    /// lot.
    pub fn build(
        real: Vec<Entry>,
        secret: &PaddingSecret,
        list: &ListId,
        epoch: Epoch,
    ) -> Result<Self, SnapshotError> {
        let mut snapshot = Self::padded(real, secret, list, epoch)?;
        let subtrees = snapshot.compute_subtrees();
        snapshot.manifest = snapshot.manifest_with(&subtrees);
        Ok(snapshot)
    }

    /// As [`Snapshot::build`], with every chunk's subtree root given (a list database reads
    /// them from the tree it keeps over the same entries, instead of hashing them again).
    /// `subtree(i)` must be the root of chunk `i`'s subtree ([`ChunkInfo::subtree`]).
    pub fn build_with_subtrees(
        real: Vec<Entry>,
        secret: &PaddingSecret,
        list: &ListId,
        epoch: Epoch,
        mut subtree: impl FnMut(u32) -> Option<[u8; 32]>,
    ) -> Result<Self, SnapshotError> {
        let mut snapshot = Self::padded(real, secret, list, epoch)?;
        let subtrees: Vec<[u8; 32]> = (0..snapshot.chunks())
            .map(|i| subtree(i).ok_or(SnapshotError::NoSubtree(i)))
            .collect::<Result<_, _>>()?;
        snapshot.manifest = snapshot.manifest_with(&subtrees);
        Ok(snapshot)
    }

    /// `real` padded and sorted, without a manifest yet.
    fn padded(
        mut real: Vec<Entry>,
        secret: &PaddingSecret,
        list: &ListId,
        epoch: Epoch,
    ) -> Result<Self, SnapshotError> {
        let n = real.len() as u64;
        let class = size_class(n).ok_or(SnapshotError::TooMany(n))?;
        real.sort_unstable_by_key(|e| e.tag);
        if let Some(w) = real.windows(2).find(|w| w[0].tag == w[1].tag) {
            return Err(SnapshotError::Duplicate(w[0].tag));
        }
        let dummies: Vec<Entry> = (0..class - n)
            .map(|i| Entry {
                tag: dummy_tag(secret, list, epoch, i),
                label: dummy_label(secret, list, epoch, i),
            })
            .collect();
        let mut entries = real;
        entries.extend(dummies);
        entries.sort_unstable_by_key(|e| e.tag);
        if entries.windows(2).any(|w| w[0].tag == w[1].tag) {
            return Err(SnapshotError::PaddingCollision);
        }
        Ok(Self {
            entries,
            manifest: Vec::new(),
        })
    }

    /// The entries, in increasing tag order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The tags, in increasing order (what the tree is built over).
    pub fn tags(&self) -> impl Iterator<Item = Tag> + '_ {
        self.entries.iter().map(|e| e.tag)
    }

    /// Number of chunks.
    pub fn chunks(&self) -> u32 {
        chunk_count(self.entries.len() as u64) as u32
    }

    /// The bytes of chunk `index` (empty past the last).
    pub fn chunk(&self, index: u32) -> Vec<u8> {
        let entries = self.chunk_entries(index);
        let mut out = Vec::with_capacity(entries.len() * ENTRY_LEN);
        for e in entries {
            out.extend_from_slice(e.tag.as_bytes());
            out.extend_from_slice(&e.label);
        }
        out
    }

    /// The entries of chunk `index` (none past the last), and the entry before them.
    fn chunk_entries_after(&self, index: u32) -> (Option<&Entry>, &[Entry]) {
        let start = (index as usize).saturating_mul(CHUNK_ENTRIES);
        let end = start.saturating_add(CHUNK_ENTRIES).min(self.entries.len());
        let before = start.checked_sub(1).and_then(|p| self.entries.get(p));
        (before, self.entries.get(start..end).unwrap_or(&[]))
    }

    fn chunk_entries(&self, index: u32) -> &[Entry] {
        self.chunk_entries_after(index).1
    }

    /// Every chunk's info, in order.
    pub fn manifest(&self) -> Vec<ChunkInfo> {
        self.manifest.clone()
    }

    /// Every chunk's subtree root, hashed from its tags.
    fn compute_subtrees(&self) -> Vec<[u8; 32]> {
        let chunks = self.chunks();
        (0..chunks)
            .map(|i| {
                let (before, entries) = self.chunk_entries_after(i);
                let tags: Vec<Tag> = entries.iter().map(|e| e.tag).collect();
                chunk_subtree(before.map(|e| e.tag), &tags, i + 1 == chunks)
            })
            .collect()
    }

    fn manifest_with(&self, subtrees: &[[u8; 32]]) -> Vec<ChunkInfo> {
        (0..self.chunks())
            .zip(subtrees)
            .filter_map(|(i, subtree)| {
                Some(ChunkInfo {
                    hash: chunk_hash(i, &self.chunk(i)),
                    last: self.chunk_entries(i).last()?.tag,
                    subtree: *subtree,
                })
            })
            .collect()
    }

    /// What the publication carries.
    pub fn header(&self) -> SnapshotHeader {
        SnapshotHeader {
            entries: self.entries.len() as u64,
            chunks: self.manifest.len() as u32,
            root: chunk_root(self.entries.len() as u64, &self.manifest),
        }
    }
}

/// Receives a snapshot against its publication: the manifest first, then each chunk in order.
/// Memory is one manifest ([`CHUNK_INFO_LEN`] bytes a chunk) and the chunk in hand.
#[derive(Debug)]
pub struct Assembler {
    header: SnapshotHeader,
    tree_root: [u8; 32],
    manifest: Option<Vec<ChunkInfo>>,
    next: u32,
}

impl Assembler {
    /// An assembler for the snapshot the publication names: its `header` and its tree root.
    pub fn new(header: SnapshotHeader, tree_root: [u8; 32]) -> Self {
        Self {
            header,
            tree_root,
            manifest: None,
            next: 0,
        }
    }

    /// The header the snapshot is received against.
    pub fn header(&self) -> SnapshotHeader {
        self.header
    }

    /// The accepted manifest.
    pub fn manifest(&self) -> Option<&[ChunkInfo]> {
        self.manifest.as_deref()
    }

    /// The accepted manifest, taken once the snapshot is received.
    pub fn into_manifest(self) -> Option<Vec<ChunkInfo>> {
        self.manifest
    }

    /// The next chunk due (where a resumed transfer starts).
    pub fn next_chunk(&self) -> u32 {
        self.next
    }

    /// Accepts the manifest if it has the header's chunk count, hashes to its chunk root, and
    /// its subtree roots make the published tree root ([`SnapshotError::WrongTree`]: the
    /// publication is at fault whoever sent it).
    pub fn accept_manifest(&mut self, manifest: Vec<ChunkInfo>) -> Result<(), SnapshotError> {
        let h = self.header;
        if h.chunks > MAX_SHARED_CHUNKS {
            return Err(SnapshotError::BadManifest(format!(
                "{} chunks: a shared snapshot has at most {MAX_SHARED_CHUNKS}",
                h.chunks
            )));
        }
        if u64::from(h.chunks) != chunk_count(h.entries) {
            return Err(SnapshotError::BadManifest(format!(
                "{} entries need {} chunks, the header says {}",
                h.entries,
                chunk_count(h.entries),
                h.chunks
            )));
        }
        if manifest.len() != h.chunks as usize {
            return Err(SnapshotError::BadManifest(format!(
                "{} chunk infos, the header says {}",
                manifest.len(),
                h.chunks
            )));
        }
        if chunk_root(h.entries, &manifest) != h.root {
            return Err(SnapshotError::BadManifest(
                "the chunk infos do not hash to the published chunk root".into(),
            ));
        }
        let built = manifest_tree_root(h.entries, &manifest);
        if built.map(|r| r.to_bytes()) != Some(self.tree_root) {
            return Err(SnapshotError::WrongTree {
                built: built.map_or_else(
                    || "(none: a subtree root is no field element)".into(),
                    |r| r.to_hex(),
                ),
            });
        }
        self.manifest = Some(manifest);
        Ok(())
    }

    /// Checks chunk `index` (the one due) and returns its entries: its hash is the manifest's,
    /// it holds exactly its share of entries, its tags increase from after the previous
    /// chunk's last tag, its last tag is the manifest's and its tags make the manifest's
    /// subtree root.
    pub fn accept_chunk(&mut self, index: u32, bytes: &[u8]) -> Result<Vec<Entry>, SnapshotError> {
        let manifest = self.manifest.as_ref().ok_or(SnapshotError::NoManifest)?;
        if index != self.next {
            return Err(SnapshotError::OutOfTurn {
                expected: self.next,
                got: index,
            });
        }
        let info = manifest
            .get(index as usize)
            .ok_or_else(|| SnapshotError::BadChunk {
                index,
                reason: "beyond the last chunk".into(),
                committed: false,
            })?;
        if chunk_hash(index, bytes) != info.hash {
            return Err(SnapshotError::BadChunk {
                index,
                reason: "its hash is not the manifest's".into(),
                committed: false,
            });
        }
        let previous = index
            .checked_sub(1)
            .and_then(|p| manifest.get(p as usize))
            .map(|p| p.last);
        let entries =
            check_committed_chunk(self.header, index, previous, info, bytes).map_err(|reason| {
                SnapshotError::BadChunk {
                    index,
                    reason,
                    committed: true,
                }
            })?;
        self.next += 1;
        Ok(entries)
    }

    /// Succeeds once every chunk has been accepted.
    pub fn finish(&self) -> Result<(), SnapshotError> {
        if self.manifest.is_none() {
            return Err(SnapshotError::NoManifest);
        }
        if self.next != self.header.chunks {
            return Err(SnapshotError::Incomplete {
                received: self.next,
                chunks: self.header.chunks,
            });
        }
        Ok(())
    }
}
