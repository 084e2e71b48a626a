//! The member node's local storage: its lists in one redb file, and the responder's book of
//! spent requests and claims ([`spent`]) in another.
//!
//! Raw list entries live here and nowhere else: nothing in this crate serialises an entry for
//! sending, and no other crate reads the entries table. What leaves the node is derived data
//! (roots, public keys, proofs).
//!
//! Schema (version [`SCHEMA_VERSION`], recorded in the `meta` table; a file with another version
//! is refused):
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | bytes (`schema_version`: u32 BE) |
//! | `lists` | list id | [`ListMeta`] (versioned JSON) |
//! | `entries` | (list, id type, canonical id) | [`EntryRecord`] (binary, version 1; layout on the type) |
//! | `tags` | (list, epoch, tag) | reference count (u32) |
//! | `tree_*` | (list, epoch, ...) | the indexed Merkle tree (see [`TreeTables`]) |
//!
//! Every change to a list goes through a [`ListWriter`]: one redb write transaction that keeps
//! entries, tags and counters in step and commits all at once (or not at all, if the writer is
//! dropped or the process dies before commit).

mod error;
pub mod layouts;
mod schema;
pub mod spent;
mod tree;
mod writer;

pub use error::StoreError;
pub use layouts::{LayoutInbox, LayoutKey, Piece, PieceError, Progress, WaitingLayout};
pub use schema::{EntryRecord, ListMeta, SCHEMA_VERSION};
pub use spent::{ClaimedInterval, Spend, SpendError, SpentBook};
pub use tree::{TreeReader, TreeStoreError, TreeTables};
pub use writer::{ChunkOutcome, ListWriter, NewEntry, RemoveOutcome, Rotation};

use fengxin_crypto::MasterSeed;
use fengxin_tree::{IndexedMerkleTree, Leaf, Lookup, Root};
use fengxin_types::{Epoch, ListId, Tag};
use redb::{Database, ReadableTable, ReadableTableMetadata};
use schema::{ENTRIES, LISTS, META, TAGS};
use std::collections::BTreeMap;
use std::path::Path;

/// The member's database.
#[derive(Debug)]
pub struct Store {
    db: Database,
}

/// Per-list figures for `lists stats`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ListStats {
    /// The list.
    pub list: ListId,
    /// The current epoch.
    pub epoch: Epoch,
    /// Stored entries.
    pub entries: u64,
    /// Stored entries per identifier type.
    pub by_type: BTreeMap<String, u64>,
    /// Distinct tags for the current epoch.
    pub tags: u64,
    /// Root of the current epoch's tree (hex).
    pub root: Option<String>,
    /// Whether queriers may hold the list's snapshot.
    pub policy: fengxin_types::ListPolicy,
    /// The master seed's generation the current epoch's tags were made with.
    pub generation: u64,
}

impl Store {
    /// Creates a new database file; fails if it exists.
    pub fn create(path: &Path) -> Result<Self, StoreError> {
        if path.exists() {
            return Err(StoreError::AlreadyExists(path.to_owned()));
        }
        // The raw lists live here: the file is created owner-only (0600) before redb opens it.
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(path)
            .map_err(|e| StoreError::from(redb::Error::from(e)))?;
        let db = Database::create(path).map_err(redb::Error::from)?;
        let txn = db.begin_write().map_err(redb::Error::from)?;
        {
            let mut meta = txn.open_table(META).map_err(redb::Error::from)?;
            meta.insert("schema_version", SCHEMA_VERSION.to_be_bytes().as_slice())
                .map_err(redb::Error::from)?;
            txn.open_table(LISTS).map_err(redb::Error::from)?;
            txn.open_table(ENTRIES).map_err(redb::Error::from)?;
            txn.open_table(TAGS).map_err(redb::Error::from)?;
            txn.open_table(schema::LABELS).map_err(redb::Error::from)?;
        }
        // Creates the tree tables (empty), so that read snapshots can open them.
        TreeTables::open(&txn, "", 0)?;
        txn.commit().map_err(redb::Error::from)?;
        Ok(Self { db })
    }

    /// Opens an existing database and checks its schema version.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if !path.exists() {
            return Err(StoreError::Missing(path.to_owned()));
        }
        let db = Database::open(path).map_err(|e| match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(path.to_owned()),
            other => StoreError::from(redb::Error::from(other)),
        })?;
        let store = Self { db };
        let found = store.schema_version()?;
        if found != SCHEMA_VERSION {
            return Err(StoreError::SchemaVersion {
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(store)
    }

    fn schema_version(&self) -> Result<u32, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let meta = txn.open_table(META).map_err(redb::Error::from)?;
        let value = meta
            .get("schema_version")
            .map_err(redb::Error::from)?
            .ok_or(StoreError::Corrupt("schema_version missing"))?;
        let bytes: [u8; 4] = value
            .value()
            .try_into()
            .map_err(|_| StoreError::Corrupt("schema_version is not 4 bytes"))?;
        Ok(u32::from_be_bytes(bytes))
    }

    /// Starts a change to `list`: one write transaction, committed by [`ListWriter::commit`].
    ///
    /// New entries are tagged with the (list, current epoch) key derived from `seed`.
    pub fn writer(&self, list: &ListId, seed: &MasterSeed) -> Result<ListWriter, StoreError> {
        ListWriter::begin(&self.db, list, seed)
    }

    /// Moves every list whose tags were made with an earlier generation of the master seed to
    /// its next epoch under `seed` ([`ListWriter`]'s rotation: one transaction per list, so an
    /// interrupted rotation is finished by running it again). Lists already at the seed's
    /// generation are left alone; a list at a later generation than the seed is refused.
    pub fn rotate(&self, seed: &MasterSeed) -> Result<Vec<Rotation>, StoreError> {
        let mut out = Vec::new();
        for (list, _) in self.list_metas()? {
            if let Some(r) = ListWriter::rotate(&self.db, &list, seed)? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Refuses `seed` if any list's tags were made with another generation of it (a rotation
    /// not finished, or a seed file older than the database).
    pub fn check_generation(&self, seed: &MasterSeed) -> Result<(), StoreError> {
        for (list, meta) in self.list_metas()? {
            writer::check_generation(&list, &meta, seed)?;
        }
        Ok(())
    }

    /// Every stored list with its metadata, in list order.
    fn list_metas(&self) -> Result<Vec<(ListId, ListMeta)>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let lists = txn.open_table(LISTS).map_err(redb::Error::from)?;
        let mut out = Vec::new();
        for row in lists.iter().map_err(redb::Error::from)? {
            let (k, v) = row.map_err(redb::Error::from)?;
            let list = ListId::parse(k.value()).map_err(|_| StoreError::Corrupt("bad list id"))?;
            out.push((list, ListMeta::decode(v.value())?));
        }
        Ok(out)
    }

    /// The stored metadata of a list, if it has ever held entries (a list is created by the
    /// first committed change that stores an entry in it).
    pub fn list_meta(&self, list: &ListId) -> Result<Option<ListMeta>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let lists = txn.open_table(LISTS).map_err(redb::Error::from)?;
        let meta = lists.get(list.as_str()).map_err(redb::Error::from)?;
        meta.map(|m| ListMeta::decode(m.value())).transpose()
    }

    /// Sets who may hold `list`'s snapshot (from its next publication). `false` if there is
    /// no such list.
    pub fn set_policy(
        &self,
        list: &ListId,
        policy: fengxin_types::ListPolicy,
    ) -> Result<bool, StoreError> {
        let txn = self.db.begin_write().map_err(redb::Error::from)?;
        {
            let mut lists = txn.open_table(LISTS).map_err(redb::Error::from)?;
            let meta = match lists.get(list.as_str()).map_err(redb::Error::from)? {
                Some(m) => ListMeta::decode(m.value())?,
                None => return Ok(false),
            };
            let meta = ListMeta { policy, ..meta };
            lists
                .insert(list.as_str(), meta.encode().as_slice())
                .map_err(redb::Error::from)?;
        }
        txn.commit().map_err(redb::Error::from)?;
        Ok(true)
    }

    /// Figures for every list.
    pub fn stats(&self) -> Result<Vec<ListStats>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let lists = txn.open_table(LISTS).map_err(redb::Error::from)?;
        let tags = txn.open_table(TAGS).map_err(redb::Error::from)?;
        let mut out = Vec::new();
        for row in lists.iter().map_err(redb::Error::from)? {
            let (k, v) = row.map_err(redb::Error::from)?;
            let list = ListId::parse(k.value()).map_err(|_| StoreError::Corrupt("bad list id"))?;
            let meta = ListMeta::decode(v.value())?;
            let epoch = meta.epoch()?;
            let tag_count = tags
                .range(schema::tag_range(&list, epoch))
                .map_err(redb::Error::from)?
                .count();
            out.push(ListStats {
                list,
                epoch,
                entries: meta.by_type.values().sum(),
                by_type: meta.by_type,
                tags: tag_count as u64,
                root: meta.root,
                policy: meta.policy,
                generation: meta.generation,
            });
        }
        Ok(out)
    }

    /// The sorted tags of `(list, epoch)`.
    pub fn tags(&self, list: &ListId, epoch: Epoch) -> Result<Vec<Tag>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let tags = txn.open_table(TAGS).map_err(redb::Error::from)?;
        let mut out = Vec::new();
        for row in tags
            .range(schema::tag_range(list, epoch))
            .map_err(redb::Error::from)?
        {
            let (k, _) = row.map_err(redb::Error::from)?;
            let (_, _, t) = k.value();
            out.push(Tag::from_bytes(*t).map_err(|_| StoreError::Corrupt("zero tag stored"))?);
        }
        Ok(out)
    }

    /// Looks `tag` up in the committed tree of `(list, epoch)`: hit or miss, with the witness
    /// a proof is built from.
    pub fn lookup(
        &self,
        list: &ListId,
        epoch: Epoch,
        tag: Tag,
    ) -> Result<(Root, Lookup), StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let reader = TreeReader::open(&txn, list.as_str(), epoch.get())?;
        let tree = IndexedMerkleTree::open(reader).map_err(|e| StoreError::Tree(e.to_string()))?;
        let lookup = tree
            .lookup(tag)
            .map_err(|e| StoreError::Tree(e.to_string()))?;
        Ok((tree.root(), lookup))
    }

    /// Every occupied slot of the committed tree of `(list, epoch)` with its leaf, in slot
    /// order (what a publisher seals to the regulator for root attestation).
    pub fn layout(&self, list: &ListId, epoch: Epoch) -> Result<Vec<(u64, Leaf)>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let reader = TreeReader::open(&txn, list.as_str(), epoch.get())?;
        let tree = IndexedMerkleTree::open(reader).map_err(|e| StoreError::Tree(e.to_string()))?;
        tree.layout().map_err(|e| StoreError::Tree(e.to_string()))
    }

    /// The identifiers (type and canonical form) behind those of `tags` that are entries of
    /// `(list, epoch)`: what a member opens for its regulator's sampled check. Scans the
    /// list's entries once.
    pub fn identifiers_of(
        &self,
        list: &ListId,
        epoch: Epoch,
        tags: &std::collections::BTreeSet<Tag>,
    ) -> Result<BTreeMap<Tag, (String, String)>, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        let mut out = BTreeMap::new();
        for row in entries
            .range((list.as_str(), "", "")..)
            .map_err(redb::Error::from)?
        {
            let (k, v) = row.map_err(redb::Error::from)?;
            let (l, id_type, value) = k.value();
            if l != list.as_str() {
                break;
            }
            let record = EntryRecord::decode(v.value())?;
            if record.epoch == epoch.get() && tags.contains(&record.tag) {
                out.insert(record.tag, (id_type.to_owned(), value.to_owned()));
            }
        }
        Ok(out)
    }

    /// The snapshot of `(list, epoch)`: every stored tag with its sealed label, padded with
    /// the dummies of `padding` to the list's size class, in tag order. Its tags are the
    /// leaves of the list's tree.
    pub fn snapshot(
        &self,
        list: &ListId,
        epoch: Epoch,
        padding: &fengxin_snapshot::PaddingSecret,
    ) -> Result<fengxin_snapshot::Snapshot, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let labels = txn.open_table(schema::LABELS).map_err(redb::Error::from)?;
        let mut real = Vec::new();
        for row in labels
            .range(schema::tag_range(list, epoch))
            .map_err(redb::Error::from)?
        {
            let (k, v) = row.map_err(redb::Error::from)?;
            let tag = Tag::from_bytes(*k.value().2).map_err(|_| StoreError::Corrupt("zero tag"))?;
            let label = <[u8; fengxin_snapshot::LABEL_LEN]>::try_from(v.value())
                .map_err(|_| StoreError::Corrupt("label length"))?;
            real.push(fengxin_snapshot::Entry { tag, label });
        }
        // The chunks' subtree roots are nodes of the list's tree, built over the same
        // entries: read, not hashed again.
        let tree = TreeReader::open(&txn, list.as_str(), epoch.get())?;
        let mut failed = None;
        let snapshot =
            fengxin_snapshot::Snapshot::build_with_subtrees(real, padding, list, epoch, |i| {
                match fengxin_tree::TreeStore::node(
                    &tree,
                    fengxin_snapshot::CHUNK_HEIGHT as u8,
                    u64::from(i),
                ) {
                    Ok(node) => node,
                    Err(e) => {
                        failed = Some(e);
                        None
                    }
                }
            });
        if let Some(e) = failed {
            return Err(StoreError::Tree(e.to_string()));
        }
        Ok(snapshot?)
    }

    /// Whether `tag` is stored for `(list, epoch)`.
    pub fn has_tag(&self, list: &ListId, epoch: Epoch, tag: &Tag) -> Result<bool, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let tags = txn.open_table(TAGS).map_err(redb::Error::from)?;
        Ok(tags
            .get((list.as_str(), epoch.get(), tag.as_bytes()))
            .map_err(redb::Error::from)?
            .is_some())
    }

    /// Number of stored entries over all lists (for tests and health output).
    pub fn entry_count(&self) -> Result<u64, StoreError> {
        let txn = self.db.begin_read().map_err(redb::Error::from)?;
        let entries = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        Ok(entries.len().map_err(redb::Error::from)?)
    }
}
