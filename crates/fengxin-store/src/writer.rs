//! Changes to one list inside one write transaction.

use crate::schema::{EntryRecord, ListMeta, ENTRIES, LISTS, TAGS};
use crate::tree::{TreeStoreError, TreeTables};
use crate::StoreError;
use fengxin_crypto::{ListKey, MasterSeed};
use fengxin_tree::IndexedMerkleTree;
use fengxin_types::{CanonicalId, Epoch, IdType, ListId, Tag};
use rayon::prelude::*;
use redb::{Database, ReadableTable, WriteTransaction};
use std::collections::BTreeSet;

/// A validated entry to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    /// The canonical identifier.
    pub id: CanonicalId,
    /// Reason code.
    pub reason: Option<String>,
    /// Date added, YYYY-MM-DD.
    pub added_on: Option<String>,
    /// Source system reference.
    pub source_ref: Option<String>,
}

/// What [`ListWriter::add`] did with a chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ChunkOutcome {
    /// Entries stored.
    pub accepted: u64,
    /// Entries already stored (before or earlier in this transaction), stored once.
    pub duplicates: u64,
}

/// What [`ListWriter::remove`] did with a chunk.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RemoveOutcome {
    /// Entries removed.
    pub removed: u64,
    /// Identifiers already removed earlier in this transaction.
    pub duplicates: u64,
    /// Identifiers that were not on the list.
    pub not_found: u64,
}

/// One write transaction changing one list: entries, tags and counters move together.
///
/// Dropping the writer without [`ListWriter::commit`] discards every change.
pub struct ListWriter {
    txn: WriteTransaction,
    list: ListId,
    meta: ListMeta,
    /// Whether the list was stored before this transaction.
    existed: bool,
    key: ListKey,
    removed: BTreeSet<(IdType, String)>,
    /// Tags whose presence may have changed in this transaction, for an incremental tree update;
    /// `None` once the tree is to be rebuilt (see [`touch`]).
    touched: Option<BTreeSet<Tag>>,
}

impl std::fmt::Debug for ListWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ListWriter({}, epoch {})", self.list, self.meta.epoch)
    }
}

impl ListWriter {
    pub(crate) fn begin(
        db: &Database,
        list: &ListId,
        seed: &MasterSeed,
    ) -> Result<Self, StoreError> {
        let txn = db.begin_write().map_err(redb::Error::from)?;
        let (meta, existed) = {
            let lists = txn.open_table(LISTS).map_err(redb::Error::from)?;
            let stored = lists.get(list.as_str()).map_err(redb::Error::from)?;
            match stored {
                Some(m) => (ListMeta::decode(m.value())?, true),
                None => (ListMeta::new(), false),
            }
        };
        let epoch = meta.epoch()?;
        let key = ListKey::derive(seed, list, epoch)?;
        // A tree not built yet is built from the tags table at commit: nothing to track.
        let built = {
            let tables = TreeTables::open(&txn, list.as_str(), epoch.get())?;
            fengxin_tree::TreeStore::next_index(&tables).map_err(tree_err)? > 0
        };
        Ok(Self {
            txn,
            list: list.clone(),
            meta,
            existed,
            key,
            removed: BTreeSet::new(),
            touched: built.then(BTreeSet::new),
        })
    }

    /// The list's current epoch.
    pub fn epoch(&self) -> Epoch {
        self.key.epoch()
    }

    /// Adds a chunk of entries. Entries already stored are counted as duplicates and left
    /// untouched (re-importing a file changes nothing). New entries are tagged in parallel.
    pub fn add(&mut self, entries: Vec<NewEntry>) -> Result<ChunkOutcome, StoreError> {
        let mut outcome = ChunkOutcome::default();
        let mut fresh = Vec::with_capacity(entries.len());
        {
            let table = self.txn.open_table(ENTRIES).map_err(redb::Error::from)?;
            let mut seen = BTreeSet::new();
            for e in entries {
                let key = (self.list.as_str(), e.id.id_type().as_str(), e.id.as_str());
                let stored = table.get(key).map_err(redb::Error::from)?.is_some();
                if stored || !seen.insert((e.id.id_type(), e.id.as_str().to_owned())) {
                    outcome.duplicates += 1;
                } else {
                    fresh.push(e);
                }
            }
        }
        // Inserting in key order touches each B-tree page once per chunk, not once per entry.
        fresh.sort_unstable_by(|a, b| {
            (a.id.id_type(), a.id.as_str()).cmp(&(b.id.id_type(), b.id.as_str()))
        });
        let key = &self.key;
        let tags: Vec<Tag> = fresh
            .par_iter()
            .map(|e| key.tag(&e.id))
            .collect::<Result<_, _>>()?;
        let epoch = self.epoch().get();
        let mut entries_t = self.txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        let mut tags_t = self.txn.open_table(TAGS).map_err(redb::Error::from)?;
        for (e, tag) in fresh.into_iter().zip(&tags) {
            let record = EntryRecord {
                v: 1,
                reason: e.reason,
                added_on: e.added_on,
                source_ref: e.source_ref,
                tag: *tag,
                epoch,
            };
            entries_t
                .insert(
                    (self.list.as_str(), e.id.id_type().as_str(), e.id.as_str()),
                    record.encode().as_slice(),
                )
                .map_err(redb::Error::from)?;
            *self
                .meta
                .by_type
                .entry(e.id.id_type().as_str().to_owned())
                .or_insert(0) += 1;
            outcome.accepted += 1;
        }
        // Tags in tag order, for the same reason as the entries above.
        let mut tags = tags;
        tags.sort_unstable();
        for tag in tags {
            let tag_key = (self.list.as_str(), epoch, tag.as_bytes());
            let count = tags_t
                .get(tag_key)
                .map_err(redb::Error::from)?
                .map_or(0, |c| c.value());
            tags_t
                .insert(tag_key, count.saturating_add(1))
                .map_err(redb::Error::from)?;
            if count == 0 {
                touch(&mut self.touched, &self.meta, tag);
            }
        }
        Ok(outcome)
    }

    /// Removes a chunk of identifiers with their tags.
    pub fn remove(&mut self, ids: Vec<CanonicalId>) -> Result<RemoveOutcome, StoreError> {
        let mut outcome = RemoveOutcome::default();
        let mut entries_t = self.txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        let mut tags_t = self.txn.open_table(TAGS).map_err(redb::Error::from)?;
        for id in ids {
            let key = (self.list.as_str(), id.id_type().as_str(), id.as_str());
            let removed = entries_t.remove(key).map_err(redb::Error::from)?;
            let Some(record) = removed else {
                if self
                    .removed
                    .contains(&(id.id_type(), id.as_str().to_owned()))
                {
                    outcome.duplicates += 1;
                } else {
                    outcome.not_found += 1;
                }
                continue;
            };
            let record = EntryRecord::decode(record.value())?;
            let tag_key = (self.list.as_str(), record.epoch, record.tag.as_bytes());
            let count = tags_t
                .get(tag_key)
                .map_err(redb::Error::from)?
                .map_or(0, |c| c.value());
            if count <= 1 {
                tags_t.remove(tag_key).map_err(redb::Error::from)?;
                touch(&mut self.touched, &self.meta, record.tag);
            } else {
                tags_t
                    .insert(tag_key, count - 1)
                    .map_err(redb::Error::from)?;
            }
            if let Some(n) = self.meta.by_type.get_mut(id.id_type().as_str()) {
                *n = n.saturating_sub(1);
            }
            self.removed.insert((id.id_type(), id.as_str().to_owned()));
            outcome.removed += 1;
        }
        Ok(outcome)
    }

    /// Commits every change atomically: entries, tags, counters and the list's tree.
    ///
    /// A list is created only by storing an entry in it: if the list did not exist and this
    /// transaction leaves it empty (every row rejected, a removal from an unknown list), nothing
    /// is written and the list still does not exist.
    pub fn commit(mut self) -> Result<(), StoreError> {
        if !self.existed && self.meta.by_type.values().all(|&n| n == 0) {
            self.txn.abort().map_err(redb::Error::from)?;
            return Ok(());
        }
        let root = self.sync_tree()?;
        self.meta.root = Some(root.to_hex());
        {
            let mut lists = self.txn.open_table(LISTS).map_err(redb::Error::from)?;
            lists
                .insert(self.list.as_str(), self.meta.encode().as_slice())
                .map_err(redb::Error::from)?;
        }
        self.txn.commit().map_err(redb::Error::from)?;
        Ok(())
    }

    /// Brings the (list, epoch) tree in step with the tags table and returns its root.
    ///
    /// Small changes are applied incrementally (two path updates per tag); a first build, or a
    /// change touching more than 1/32 of the entries (where rebuilding hashes less), rebuilds
    /// by streaming the tags table, in tag order, into the chunked build: memory stays bounded
    /// whatever the list's size.
    fn sync_tree(&mut self) -> Result<fengxin_tree::Root, StoreError> {
        let list = self.list.as_str();
        let epoch = self.epoch();
        let tags_t = self.txn.open_table(TAGS).map_err(redb::Error::from)?;
        let mut tables = TreeTables::open(&self.txn, list, epoch.get())?;
        let built = fengxin_tree::TreeStore::next_index(&tables).map_err(tree_err)? > 0;
        let size: u64 = self.meta.by_type.values().sum();
        let touched = match &self.touched {
            Some(t) if built && (t.len() as u64) * 32 <= size => t,
            _ => {
                tables.clear().map_err(redb::Error::from)?;
                let rows = tags_t
                    .range(crate::schema::tag_range(&self.list, epoch))
                    .map_err(redb::Error::from)?;
                let tags = rows.map(|row| {
                    let (k, _) = row?;
                    Tag::from_bytes(*k.value().2)
                        .map_err(|_| TreeStoreError::Corrupt("zero tag stored"))
                });
                let tree = IndexedMerkleTree::build_sorted(tables, tags).map_err(tree_err)?;
                return Ok(tree.root());
            }
        };
        let mut tree = IndexedMerkleTree::open(tables).map_err(tree_err)?;
        for tag in touched {
            let stored = tags_t
                .get((list, epoch.get(), tag.as_bytes()))
                .map_err(redb::Error::from)?
                .is_some();
            let in_tree = tree.contains(*tag).map_err(tree_err)?;
            if stored && !in_tree {
                tree.insert(*tag).map_err(tree_err)?;
            } else if !stored && in_tree {
                tree.delete(*tag).map_err(tree_err)?;
            }
        }
        Ok(tree.root())
    }
}

/// Records that `tag` appeared or disappeared in a list of `meta`'s size. Once more than 1/32 of
/// the list's entries are touched, the tree will be rebuilt at commit (rebuilding hashes less
/// than two path updates per tag), so the set is dropped: it never holds more than 1/32 of the
/// list.
fn touch(touched: &mut Option<BTreeSet<Tag>>, meta: &ListMeta, tag: Tag) {
    let size: u64 = meta.by_type.values().sum();
    if let Some(set) = touched {
        set.insert(tag);
        if (set.len() as u64) * 32 > size {
            *touched = None;
        }
    }
}

fn tree_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Tree(e.to_string())
}
