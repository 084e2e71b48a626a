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
//!   Each chunk has a labelled SHA-256 hash over its index and bytes; the chunk hashes (the
//!   manifest) are committed by a binary Merkle tree whose top, bound to the entry and chunk
//!   counts, is the **chunk root** ([`SnapshotHeader::root`]) that the publication carries.
//! - **Verification.** An [`Assembler`] takes the manifest (checked against the root) and then
//!   each chunk in order as it arrives, checking its hash, its length and that its tags
//!   continue the strictly increasing order; the first chunk that fails is named, so it is
//!   blamed on its sender. The caller streams the accepted tags into the tree
//!   (`fengxin_tree::IndexedMerkleTree::build_sorted`) and compares the tree's root with the
//!   published one.

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

/// Most entries a snapshot may hold (a tree holds 2^32 slots, one of them the sentinel).
pub const MAX_ENTRIES: u64 = (1 << 32) - 1;

const CHUNK_LABEL: &[u8] = b"fengxin/snapshot-chunk/v1";
const NODE_LABEL: &[u8] = b"fengxin/snapshot-node/v1";
const ROOT_LABEL: &[u8] = b"fengxin/snapshot-root/v1";
const DUMMY_TAG_LABEL: &[u8] = b"fengxin/snapshot-dummy-tag/v1";
const DUMMY_LABEL_LABEL: &[u8] = b"fengxin/snapshot-dummy-label/v1";

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
    /// A chunk does not check out: the sender's fault.
    #[error("chunk {index}: {reason}")]
    BadChunk {
        /// The chunk.
        index: u32,
        /// Why.
        reason: String,
    },
    /// A chunk arrived out of turn.
    #[error("chunk {got} arrived, chunk {expected} was due")]
    OutOfTurn {
        /// The chunk due.
        expected: u32,
        /// The chunk that came.
        got: u32,
    },
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

/// The chunk root of a snapshot of `entries` entries whose chunk hashes are `manifest`: the top
/// of the binary Merkle tree over the hashes (an unpaired node moves up as it is), bound to
/// both counts.
pub fn chunk_root(entries: u64, manifest: &[[u8; 32]]) -> [u8; 32] {
    let mut level: Vec<[u8; 32]> = manifest.to_vec();
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [l, r] => Sha256::new()
                    .chain_update(NODE_LABEL)
                    .chain_update(l)
                    .chain_update(r)
                    .finalize()
                    .into(),
                [one] => *one,
                _ => unreachable!("chunks(2) yields one or two"),
            })
            .collect();
    }
    Sha256::new()
        .chain_update(ROOT_LABEL)
        .chain_update(entries.to_be_bytes())
        .chain_update((manifest.len() as u32).to_be_bytes())
        .chain_update(level.first().copied().unwrap_or([0; 32]))
        .finalize()
        .into()
}

/// A built snapshot: every entry, real and dummy, in increasing tag order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    entries: Vec<Entry>,
}

impl Snapshot {
    /// Pads `real` (any order) with dummies from `secret` up to its size class and sorts the
    /// lot.
    pub fn build(
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
        Ok(Self { entries })
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
        let start = (index as usize).saturating_mul(CHUNK_ENTRIES);
        let end = start.saturating_add(CHUNK_ENTRIES).min(self.entries.len());
        let mut out = Vec::with_capacity(end.saturating_sub(start) * ENTRY_LEN);
        for e in self.entries.get(start..end).unwrap_or(&[]) {
            out.extend_from_slice(e.tag.as_bytes());
            out.extend_from_slice(&e.label);
        }
        out
    }

    /// Every chunk's hash, in order.
    pub fn manifest(&self) -> Vec<[u8; 32]> {
        (0..self.chunks())
            .map(|i| chunk_hash(i, &self.chunk(i)))
            .collect()
    }

    /// What the publication carries.
    pub fn header(&self) -> SnapshotHeader {
        let manifest = self.manifest();
        SnapshotHeader {
            entries: self.entries.len() as u64,
            chunks: manifest.len() as u32,
            root: chunk_root(self.entries.len() as u64, &manifest),
        }
    }
}

/// Receives a snapshot against its published header: the manifest first, then each chunk in
/// order. Memory is one manifest (32 bytes a chunk) and the chunk in hand.
#[derive(Debug)]
pub struct Assembler {
    header: SnapshotHeader,
    manifest: Option<Vec<[u8; 32]>>,
    next: u32,
    last: Option<Tag>,
}

impl Assembler {
    /// An assembler for the snapshot the publication's `header` names.
    pub fn new(header: SnapshotHeader) -> Self {
        Self {
            header,
            manifest: None,
            next: 0,
            last: None,
        }
    }

    /// The header the snapshot is received against.
    pub fn header(&self) -> SnapshotHeader {
        self.header
    }

    /// The next chunk due (where a resumed transfer starts).
    pub fn next_chunk(&self) -> u32 {
        self.next
    }

    /// Accepts the manifest if it has the header's chunk count and hashes to its root.
    pub fn accept_manifest(&mut self, manifest: Vec<[u8; 32]>) -> Result<(), SnapshotError> {
        let h = self.header;
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
                "{} chunk hashes, the header says {}",
                manifest.len(),
                h.chunks
            )));
        }
        if chunk_root(h.entries, &manifest) != h.root {
            return Err(SnapshotError::BadManifest(
                "the chunk hashes do not hash to the published chunk root".into(),
            ));
        }
        self.manifest = Some(manifest);
        Ok(())
    }

    /// Checks chunk `index` (the one due) and returns its entries: its hash is the manifest's,
    /// it holds exactly its share of entries, and its tags continue the increasing order.
    pub fn accept_chunk(&mut self, index: u32, bytes: &[u8]) -> Result<Vec<Entry>, SnapshotError> {
        let manifest = self.manifest.as_ref().ok_or(SnapshotError::NoManifest)?;
        if index != self.next {
            return Err(SnapshotError::OutOfTurn {
                expected: self.next,
                got: index,
            });
        }
        let bad = |reason: String| SnapshotError::BadChunk { index, reason };
        let hash = manifest
            .get(index as usize)
            .ok_or_else(|| bad("beyond the last chunk".into()))?;
        if chunk_hash(index, bytes) != *hash {
            return Err(bad("its hash is not the manifest's".into()));
        }
        let before = u64::from(index) * CHUNK_ENTRIES as u64;
        let due = (self.header.entries - before).min(CHUNK_ENTRIES as u64) as usize;
        if bytes.len() != due * ENTRY_LEN {
            return Err(bad(format!(
                "{} bytes, {due} entries of {ENTRY_LEN} bytes are due",
                bytes.len()
            )));
        }
        let mut entries = Vec::with_capacity(due);
        for (k, raw) in bytes.chunks_exact(ENTRY_LEN).enumerate() {
            let mut t = [0u8; Tag::LEN];
            t.copy_from_slice(&raw[..Tag::LEN]);
            let tag = Tag::from_bytes(t).map_err(|e| bad(format!("entry {k}: {e}")))?;
            if self.last.is_some_and(|last| last >= tag) {
                return Err(bad(format!(
                    "entry {k}: the tags are not strictly increasing"
                )));
            }
            self.last = Some(tag);
            let mut label = [0u8; LABEL_LEN];
            label.copy_from_slice(&raw[Tag::LEN..]);
            entries.push(Entry { tag, label });
        }
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
