//! Changes to one list inside one write transaction.

use crate::schema::{EntryRecord, ListMeta, ENTRIES, LABELS, LISTS, TAGS};
use crate::tree::{TreeStoreError, TreeTables};
use crate::StoreError;
use fengxin_crypto::label::{self, Label};
use fengxin_crypto::{ListKey, MasterSeed};
use fengxin_snapshot::PaddingSecret;
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

/// One list's move to a new epoch, keyed by a new generation of the master seed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rotation {
    /// The list.
    pub list: ListId,
    /// The epoch it left (whose tags, labels and tree are gone).
    pub from: Epoch,
    /// The epoch it is now at.
    pub to: Epoch,
    /// Entries re-tagged.
    pub entries: u64,
    /// Root of the new epoch's tree (hex).
    pub root: String,
}

/// Entries re-tagged per step of a rotation: bounds its memory whatever the list's size.
const ROTATION_SLICE: usize = 65_536;

/// Refuses a seed of another generation than the one `meta`'s tags were made with.
pub(crate) fn check_generation(
    list: &ListId,
    meta: &ListMeta,
    seed: &MasterSeed,
) -> Result<(), StoreError> {
    if meta.generation == seed.generation() {
        Ok(())
    } else {
        Err(StoreError::SeedGeneration {
            list: list.clone(),
            list_generation: meta.generation,
            seed_generation: seed.generation(),
        })
    }
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
    padding: PaddingSecret,
    /// Distinct tags stored.
    real: u64,
    removed: BTreeSet<(IdType, String)>,
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
        let (meta, existed) = match stored_meta(&txn, list)? {
            Some(m) => (m, true),
            None => (ListMeta::new(seed.generation()), false),
        };
        check_generation(list, &meta, seed)?;
        let epoch = meta.epoch()?;
        let key = ListKey::derive(seed, list, epoch)?;
        let real = {
            let tags = txn.open_table(TAGS).map_err(redb::Error::from)?;
            let rows = tags
                .range(crate::schema::tag_range(list, epoch))
                .map_err(redb::Error::from)?;
            rows.count() as u64
        };
        Ok(Self {
            txn,
            list: list.clone(),
            meta,
            existed,
            key,
            padding: PaddingSecret::from_bytes(seed.padding_secret(list, epoch)),
            real,
            removed: BTreeSet::new(),
        })
    }

    /// Moves `list` to its next epoch under `seed`, a later generation than its tags were made
    /// with: every stored entry is tagged again with the new epoch's key (in slices of
    /// [`ROTATION_SLICE`], in parallel), its label sealed again under the new output with a
    /// fresh nonce, and the old epoch's tags, labels and tree are deleted; the new tree is
    /// built at commit, all in one transaction. `None` if the list is already at the seed's
    /// generation.
    ///
    /// Nothing of the old epoch is needed: the tags come from the raw entries, so the old
    /// seed can be erased before the rotation starts (and an interrupted rotation finishes
    /// with the new seed alone).
    pub(crate) fn rotate(
        db: &Database,
        list: &ListId,
        seed: &MasterSeed,
    ) -> Result<Option<Rotation>, StoreError> {
        let txn = db.begin_write().map_err(redb::Error::from)?;
        let Some(meta) = stored_meta(&txn, list)? else {
            return Ok(None);
        };
        if meta.generation >= seed.generation() {
            // Nothing to do at the seed's generation; a seed older than the list's tags is
            // refused, never "rotated" backwards.
            check_generation(list, &meta, seed)?;
            return Ok(None);
        }
        let from = meta.epoch()?;
        let to = from
            .get()
            .checked_add(1)
            .and_then(|e| Epoch::new(e).ok())
            .ok_or(StoreError::Corrupt("list epoch at its maximum"))?;
        let key = ListKey::derive(seed, list, to)?;
        let Retagged {
            entries,
            tags: real,
        } = retag_entries(&txn, list, &key)?;
        {
            let mut tags_t = txn.open_table(TAGS).map_err(redb::Error::from)?;
            let mut labels_t = txn.open_table(LABELS).map_err(redb::Error::from)?;
            tags_t
                .retain_in(crate::schema::tag_range(list, from), |_, _| false)
                .map_err(redb::Error::from)?;
            labels_t
                .retain_in(crate::schema::tag_range(list, from), |_, _| false)
                .map_err(redb::Error::from)?;
            TreeTables::open(&txn, list.as_str(), from.get())?
                .clear()
                .map_err(redb::Error::from)?;
        }
        let meta = ListMeta {
            epoch: to.get(),
            generation: seed.generation(),
            root: None,
            ..meta
        };
        let mut writer = Self {
            txn,
            list: list.clone(),
            meta,
            existed: true,
            key,
            padding: PaddingSecret::from_bytes(seed.padding_secret(list, to)),
            real,
            removed: BTreeSet::new(),
        };
        let root = writer.sync_tree()?.to_hex();
        writer.meta.root = Some(root.clone());
        writer.store_meta_and_commit()?;
        Ok(Some(Rotation {
            list: list.clone(),
            from,
            to,
            entries,
            root,
        }))
    }

    /// Sets who may hold the list's snapshot (takes effect at its next publication).
    pub fn set_policy(&mut self, policy: fengxin_types::ListPolicy) {
        self.meta.policy = policy;
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
        // Each entry's tag and its label, sealed under a key from the entry's OPRF output.
        let key = &self.key;
        let tagged: Vec<(Tag, SealedLabel)> = fresh
            .par_iter()
            .map(|e| tag_and_seal(key, &e.id, e.reason.as_deref(), e.added_on.as_deref()))
            .collect::<Result<_, StoreError>>()?;
        let epoch = self.epoch().get();
        let mut entries_t = self.txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        let mut tags_t = self.txn.open_table(TAGS).map_err(redb::Error::from)?;
        let mut labels_t = self.txn.open_table(LABELS).map_err(redb::Error::from)?;
        for (e, (tag, _)) in fresh.into_iter().zip(&tagged) {
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
        self.real += record_tags(&mut tags_t, &mut labels_t, &self.list, epoch, tagged)?;
        Ok(outcome)
    }

    /// Removes a chunk of identifiers with their tags.
    pub fn remove(&mut self, ids: Vec<CanonicalId>) -> Result<RemoveOutcome, StoreError> {
        let mut outcome = RemoveOutcome::default();
        let mut entries_t = self.txn.open_table(ENTRIES).map_err(redb::Error::from)?;
        let mut tags_t = self.txn.open_table(TAGS).map_err(redb::Error::from)?;
        let mut labels_t = self.txn.open_table(LABELS).map_err(redb::Error::from)?;
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
                labels_t.remove(tag_key).map_err(redb::Error::from)?;
                self.real = self.real.saturating_sub(1);
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
        self.store_meta_and_commit()
    }

    fn store_meta_and_commit(self) -> Result<(), StoreError> {
        {
            let mut lists = self.txn.open_table(LISTS).map_err(redb::Error::from)?;
            lists
                .insert(self.list.as_str(), self.meta.encode().as_slice())
                .map_err(redb::Error::from)?;
        }
        self.txn.commit().map_err(redb::Error::from)?;
        Ok(())
    }

    /// Rebuilds the (list, epoch) tree over the tags table, padded with the list's dummy tags
    /// up to its size class ([`fengxin_snapshot::size_class`]; the first `class - real`
    /// dummies of the (list, epoch) padding secret), in sorted order, and returns its root.
    ///
    /// Always a sorted build: the tree is then a function of its tags alone, so a querier that
    /// holds the list's snapshot rebuilds the published root from it. The tags table streams,
    /// in tag order, merged with the sorted dummies into the chunked build: memory stays
    /// bounded by the dummies (at most a fifth of the class) whatever the list's size.
    fn sync_tree(&mut self) -> Result<fengxin_tree::Root, StoreError> {
        let epoch = self.epoch();
        let class = fengxin_snapshot::size_class(self.real)
            .ok_or(StoreError::Corrupt("more entries than a list holds"))?;
        let mut padding =
            fengxin_snapshot::dummy_tags(&self.padding, &self.list, epoch, class - self.real);
        padding.sort_unstable();
        let tags_t = self.txn.open_table(TAGS).map_err(redb::Error::from)?;
        let mut tables = TreeTables::open(&self.txn, self.list.as_str(), epoch.get())?;
        tables.clear().map_err(redb::Error::from)?;
        let rows = tags_t
            .range(crate::schema::tag_range(&self.list, epoch))
            .map_err(redb::Error::from)?;
        let real = rows.map(|row| {
            let (k, _) = row?;
            Tag::from_bytes(*k.value().2).map_err(|_| TreeStoreError::Corrupt("zero tag stored"))
        });
        let tags = merge_sorted(real, padding.into_iter());
        let tree = IndexedMerkleTree::build_sorted(tables, tags).map_err(tree_err)?;
        Ok(tree.root())
    }
}

type SealedLabel = [u8; label::LABEL_LEN];

/// An entry's tag under `key`, and its label sealed under a key from the same OPRF output
/// (independent of the tag) with a fresh nonce.
fn tag_and_seal(
    key: &ListKey,
    id: &CanonicalId,
    reason: Option<&str>,
    added_on: Option<&str>,
) -> Result<(Tag, SealedLabel), StoreError> {
    let output = key.output(id)?;
    let tag = output.tag();
    let l = Label::new(reason, added_on);
    let sealed = label::seal(&output.label_key(), &tag, &l, &mut rand_core::OsRng)
        .map_err(|err| StoreError::Label(format!("{}: {err}", id.as_str())))?;
    Ok((tag, sealed))
}

/// Counts each tag once more for (list, epoch), in tag order (each B-tree page is touched
/// once per chunk), storing the label of a tag seen for the first time. Returns the tags new
/// to the epoch.
fn record_tags(
    tags_t: &mut redb::Table<'_, (&'static str, u64, &'static [u8; Tag::LEN]), u32>,
    labels_t: &mut redb::Table<'_, (&'static str, u64, &'static [u8; Tag::LEN]), &'static [u8]>,
    list: &ListId,
    epoch: u64,
    mut tagged: Vec<(Tag, SealedLabel)>,
) -> Result<u64, StoreError> {
    tagged.sort_unstable_by_key(|(tag, _)| *tag);
    let mut new = 0;
    for (tag, sealed) in tagged {
        let tag_key = (list.as_str(), epoch, tag.as_bytes());
        let count = tags_t
            .get(tag_key)
            .map_err(redb::Error::from)?
            .map_or(0, |c| c.value());
        tags_t
            .insert(tag_key, count.saturating_add(1))
            .map_err(redb::Error::from)?;
        if count == 0 {
            labels_t
                .insert(tag_key, sealed.as_slice())
                .map_err(redb::Error::from)?;
            new += 1;
        }
    }
    Ok(new)
}

/// The stored metadata of `list`, read inside the writer's transaction.
fn stored_meta(txn: &WriteTransaction, list: &ListId) -> Result<Option<ListMeta>, StoreError> {
    let lists = txn.open_table(LISTS).map_err(redb::Error::from)?;
    let stored = lists.get(list.as_str()).map_err(redb::Error::from)?;
    stored.map(|m| ListMeta::decode(m.value())).transpose()
}

/// What [`retag_entries`] did.
struct Retagged {
    /// Entries re-tagged.
    entries: u64,
    /// Distinct tags recorded for the new epoch.
    tags: u64,
}

/// Tags every stored entry of `list` again with `key` (a new epoch's), sealing each label
/// again, and records the tags and labels under the key's epoch.
fn retag_entries(
    txn: &WriteTransaction,
    list: &ListId,
    key: &ListKey,
) -> Result<Retagged, StoreError> {
    use std::ops::Bound;
    let epoch = key.epoch().get();
    let today = fengxin_types::CivilDate::today_china();
    let mut entries_t = txn.open_table(ENTRIES).map_err(redb::Error::from)?;
    let mut tags_t = txn.open_table(TAGS).map_err(redb::Error::from)?;
    let mut labels_t = txn.open_table(LABELS).map_err(redb::Error::from)?;
    let mut after: Option<(String, String)> = None;
    let mut done = Retagged {
        entries: 0,
        tags: 0,
    };
    loop {
        // One slice of the list's entries, in key order, after the last one re-tagged.
        let mut slice: Vec<(CanonicalId, EntryRecord)> = Vec::with_capacity(ROTATION_SLICE);
        {
            let start = match &after {
                Some((t, v)) => Bound::Excluded((list.as_str(), t.as_str(), v.as_str())),
                None => Bound::Included((list.as_str(), "", "")),
            };
            let rows = entries_t
                .range::<(&str, &str, &str)>((start, Bound::Unbounded))
                .map_err(redb::Error::from)?;
            for row in rows {
                let (k, v) = row.map_err(redb::Error::from)?;
                let (l, id_type, value) = k.value();
                if l != list.as_str() {
                    break;
                }
                let stored_id = |reason: String| StoreError::StoredIdentifier {
                    list: list.clone(),
                    id_type: id_type.to_owned(),
                    reason,
                };
                let t: IdType = id_type.parse().map_err(|e| stored_id(format!("{e}")))?;
                let id =
                    CanonicalId::parse(t, value, today).map_err(|e| stored_id(e.to_string()))?;
                if id.as_str() != value {
                    return Err(stored_id("its canonical form changed".into()));
                }
                slice.push((id, EntryRecord::decode(v.value())?));
                if slice.len() == ROTATION_SLICE {
                    break;
                }
            }
        }
        let Some((last, _)) = slice.last() else {
            break;
        };
        after = Some((last.id_type().as_str().to_owned(), last.as_str().to_owned()));
        let tagged: Vec<(Tag, SealedLabel)> = slice
            .par_iter()
            .map(|(id, r)| tag_and_seal(key, id, r.reason.as_deref(), r.added_on.as_deref()))
            .collect::<Result<_, StoreError>>()?;
        for ((id, record), (tag, _)) in slice.iter().zip(&tagged) {
            let record = EntryRecord {
                tag: *tag,
                epoch,
                ..record.clone()
            };
            entries_t
                .insert(
                    (list.as_str(), id.id_type().as_str(), id.as_str()),
                    record.encode().as_slice(),
                )
                .map_err(redb::Error::from)?;
        }
        done.tags += record_tags(&mut tags_t, &mut labels_t, list, epoch, tagged)?;
        done.entries += slice.len() as u64;
    }
    Ok(done)
}

/// Merges the stored real tags (increasing) with the sorted dummies into one increasing
/// stream. A dummy equal to a real tag (chance about 2^-200 for a whole list) would leave the
/// tree one entry short of its class, which the regulator refutes; it is reported instead.
fn merge_sorted<I>(
    real: I,
    dummies: std::vec::IntoIter<Tag>,
) -> impl Iterator<Item = Result<Tag, TreeStoreError>>
where
    I: Iterator<Item = Result<Tag, TreeStoreError>>,
{
    let mut real = real.peekable();
    let mut dummies = dummies.peekable();
    std::iter::from_fn(move || match (real.peek(), dummies.peek()) {
        (Some(Ok(r)), Some(d)) if d < r => dummies.next().map(Ok),
        (Some(Ok(r)), Some(d)) if d == r => Some(Err(TreeStoreError::Corrupt(
            "a dummy tag equals a stored tag",
        ))),
        (Some(_), _) => real.next(),
        (None, Some(_)) => dummies.next().map(Ok),
        (None, None) => None,
    })
}

fn tree_err(e: impl std::fmt::Display) -> StoreError {
    StoreError::Tree(e.to_string())
}
