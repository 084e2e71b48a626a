//! The indexed Merkle trees of every (list, epoch), stored beside the tags.
//!
//! Implements [`fengxin_tree::TreeStore`] over five redb tables keyed by `(list, epoch, ...)`:
//!
//! | table | key | value |
//! |---|---|---|
//! | `tree_nodes` | (list, epoch, level, index) | 32-byte hash |
//! | `tree_leaves` | (list, epoch, slot) | leaf (62 bytes) |
//! | `tree_values` | (list, epoch, value) | slot |
//! | `tree_free` | (list, epoch, slot) | () |
//! | `tree_next` | (list, epoch) | lowest never-used slot |
//!
//! [`TreeTables`] works inside a write transaction (changes commit with the list's entries and
//! tags); [`TreeReader`] reads a committed snapshot for witnesses and refuses writes.

use crate::StoreError;
use fengxin_tree::{Leaf, TreeStore, Value};
use redb::{
    ReadOnlyTable, ReadTransaction, ReadableTable, Table, TableDefinition, WriteTransaction,
};

type NodeKey = (&'static str, u64, u8, u64);
type SlotKey = (&'static str, u64, u64);
type ValueKey = (&'static str, u64, &'static [u8; Value::LEN]);
type ScopeKey = (&'static str, u64);

pub(crate) const NODES: TableDefinition<NodeKey, [u8; 32]> = TableDefinition::new("tree_nodes");
pub(crate) const LEAVES: TableDefinition<SlotKey, [u8; Leaf::LEN]> =
    TableDefinition::new("tree_leaves");
pub(crate) const VALUES: TableDefinition<ValueKey, u64> = TableDefinition::new("tree_values");
pub(crate) const FREE: TableDefinition<SlotKey, ()> = TableDefinition::new("tree_free");
pub(crate) const NEXT: TableDefinition<ScopeKey, u64> = TableDefinition::new("tree_next");

const MIN_VALUE: [u8; Value::LEN] = [0; Value::LEN];
const MAX_VALUE: [u8; Value::LEN] = [0xff; Value::LEN];

/// Errors of the redb tree store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TreeStoreError {
    /// The database failed.
    #[error("tree storage: {0}")]
    Storage(#[from] redb::StorageError),
    /// A write was attempted through a read-only snapshot (a bug in the caller).
    #[error("tree snapshot is read-only")]
    ReadOnly,
    /// Stored data read for the tree does not decode (fatal: the database is damaged).
    #[error("tree input is corrupt: {0}")]
    Corrupt(&'static str),
}

/// The tree tables of one (list, epoch), opened in a write transaction.
pub struct TreeTables<'t> {
    list: String,
    epoch: u64,
    nodes: Table<'t, NodeKey, [u8; 32]>,
    leaves: Table<'t, SlotKey, [u8; Leaf::LEN]>,
    values: Table<'t, ValueKey, u64>,
    free: Table<'t, SlotKey, ()>,
    next: Table<'t, ScopeKey, u64>,
}

impl<'t> TreeTables<'t> {
    /// Opens the tree tables of `(list, epoch)` in a write transaction.
    pub fn open(txn: &'t WriteTransaction, list: &str, epoch: u64) -> Result<Self, StoreError> {
        let open = |e: redb::TableError| StoreError::from(redb::Error::from(e));
        Ok(Self {
            list: list.to_owned(),
            epoch,
            nodes: txn.open_table(NODES).map_err(open)?,
            leaves: txn.open_table(LEAVES).map_err(open)?,
            values: txn.open_table(VALUES).map_err(open)?,
            free: txn.open_table(FREE).map_err(open)?,
            next: txn.open_table(NEXT).map_err(open)?,
        })
    }

    /// Removes the whole tree of this (list, epoch).
    pub(crate) fn clear(&mut self) -> Result<(), redb::StorageError> {
        let (l, e) = (self.list.as_str(), self.epoch);
        self.nodes
            .retain_in((l, e, 0u8, 0u64)..=(l, e, u8::MAX, u64::MAX), |_, _| false)?;
        self.leaves
            .retain_in((l, e, 0u64)..=(l, e, u64::MAX), |_, _| false)?;
        self.values
            .retain_in((l, e, &MIN_VALUE)..=(l, e, &MAX_VALUE), |_, _| false)?;
        self.free
            .retain_in((l, e, 0u64)..=(l, e, u64::MAX), |_, _| false)?;
        self.next.remove((l, e))?;
        Ok(())
    }
}

impl std::fmt::Debug for TreeTables<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TreeTables({}, epoch {})", self.list, self.epoch)
    }
}

/// The tree tables of one (list, epoch) in a committed snapshot (read-only).
pub struct TreeReader {
    list: String,
    epoch: u64,
    nodes: ReadOnlyTable<NodeKey, [u8; 32]>,
    leaves: ReadOnlyTable<SlotKey, [u8; Leaf::LEN]>,
    values: ReadOnlyTable<ValueKey, u64>,
    next: ReadOnlyTable<ScopeKey, u64>,
}

impl TreeReader {
    pub(crate) fn open(txn: &ReadTransaction, list: &str, epoch: u64) -> Result<Self, StoreError> {
        let open = |e: redb::TableError| StoreError::from(redb::Error::from(e));
        Ok(Self {
            list: list.to_owned(),
            epoch,
            nodes: txn.open_table(NODES).map_err(open)?,
            leaves: txn.open_table(LEAVES).map_err(open)?,
            values: txn.open_table(VALUES).map_err(open)?,
            next: txn.open_table(NEXT).map_err(open)?,
        })
    }
}

impl std::fmt::Debug for TreeReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TreeReader({}, epoch {})", self.list, self.epoch)
    }
}

// Reads shared by both views.

fn node<T: ReadableTable<NodeKey, [u8; 32]>>(
    t: &T,
    list: &str,
    epoch: u64,
    level: u8,
    index: u64,
) -> Result<Option<[u8; 32]>, TreeStoreError> {
    Ok(t.get((list, epoch, level, index))?.map(|g| g.value()))
}

fn leaf<T: ReadableTable<SlotKey, [u8; Leaf::LEN]>>(
    t: &T,
    list: &str,
    epoch: u64,
    index: u64,
) -> Result<Option<Leaf>, TreeStoreError> {
    Ok(t.get((list, epoch, index))?
        .map(|g| Leaf::from_bytes(&g.value())))
}

fn find_value<T: ReadableTable<ValueKey, u64>>(
    t: &T,
    list: &str,
    epoch: u64,
    value: Value,
) -> Result<Option<u64>, TreeStoreError> {
    Ok(t.get((list, epoch, &value.to_bytes()))?.map(|g| g.value()))
}

fn find_low<T: ReadableTable<ValueKey, u64>>(
    t: &T,
    list: &str,
    epoch: u64,
    value: Value,
) -> Result<Option<u64>, TreeStoreError> {
    let bytes = value.to_bytes();
    let mut range = t.range((list, epoch, &MIN_VALUE)..(list, epoch, &bytes))?;
    match range.next_back() {
        Some(row) => Ok(Some(row?.1.value())),
        None => Ok(None),
    }
}

fn next_index<T: ReadableTable<ScopeKey, u64>>(
    t: &T,
    list: &str,
    epoch: u64,
) -> Result<u64, TreeStoreError> {
    Ok(t.get((list, epoch))?.map_or(0, |g| g.value()))
}

impl TreeStore for TreeTables<'_> {
    type Error = TreeStoreError;

    fn node(&self, level: u8, index: u64) -> Result<Option<[u8; 32]>, Self::Error> {
        node(&self.nodes, &self.list, self.epoch, level, index)
    }

    fn set_node(
        &mut self,
        level: u8,
        index: u64,
        hash: Option<[u8; 32]>,
    ) -> Result<(), Self::Error> {
        let key = (self.list.as_str(), self.epoch, level, index);
        match hash {
            Some(h) => self.nodes.insert(key, h)?,
            None => self.nodes.remove(key)?,
        };
        Ok(())
    }

    fn leaf(&self, index: u64) -> Result<Option<Leaf>, Self::Error> {
        leaf(&self.leaves, &self.list, self.epoch, index)
    }

    fn put_leaf(&mut self, index: u64, new: Leaf) -> Result<(), Self::Error> {
        let (l, e) = (self.list.as_str(), self.epoch);
        let old = self.leaves.insert((l, e, index), new.to_bytes())?;
        if let Some(old) = old.map(|g| Leaf::from_bytes(&g.value())) {
            let old_key = (l, e, &old.value.to_bytes());
            let maps_here = self.values.get(old_key)?.map(|g| g.value()) == Some(index);
            if old.value != new.value && maps_here {
                self.values.remove(old_key)?;
            }
        }
        self.values.insert((l, e, &new.value.to_bytes()), index)?;
        Ok(())
    }

    fn remove_leaf(&mut self, index: u64) -> Result<(), Self::Error> {
        let (l, e) = (self.list.as_str(), self.epoch);
        let old = self.leaves.remove((l, e, index))?;
        if let Some(old) = old.map(|g| Leaf::from_bytes(&g.value())) {
            let key = (l, e, &old.value.to_bytes());
            if self.values.get(key)?.map(|g| g.value()) == Some(index) {
                self.values.remove(key)?;
            }
        }
        Ok(())
    }

    fn find_value(&self, value: Value) -> Result<Option<u64>, Self::Error> {
        find_value(&self.values, &self.list, self.epoch, value)
    }

    fn find_low(&self, value: Value) -> Result<Option<u64>, Self::Error> {
        find_low(&self.values, &self.list, self.epoch, value)
    }

    fn next_index(&self) -> Result<u64, Self::Error> {
        next_index(&self.next, &self.list, self.epoch)
    }

    fn set_next_index(&mut self, next: u64) -> Result<(), Self::Error> {
        self.next.insert((self.list.as_str(), self.epoch), next)?;
        Ok(())
    }

    fn push_free(&mut self, index: u64) -> Result<(), Self::Error> {
        self.free
            .insert((self.list.as_str(), self.epoch, index), ())?;
        Ok(())
    }

    fn pop_free(&mut self) -> Result<Option<u64>, Self::Error> {
        let (l, e) = (self.list.as_str(), self.epoch);
        let first = {
            let mut range = self.free.range((l, e, 0u64)..=(l, e, u64::MAX))?;
            match range.next() {
                Some(row) => Some(row?.0.value().2),
                None => None,
            }
        };
        if let Some(index) = first {
            self.free.remove((l, e, index))?;
        }
        Ok(first)
    }
}

impl TreeStore for TreeReader {
    type Error = TreeStoreError;

    fn node(&self, level: u8, index: u64) -> Result<Option<[u8; 32]>, Self::Error> {
        node(&self.nodes, &self.list, self.epoch, level, index)
    }

    fn set_node(&mut self, _: u8, _: u64, _: Option<[u8; 32]>) -> Result<(), Self::Error> {
        Err(TreeStoreError::ReadOnly)
    }

    fn leaf(&self, index: u64) -> Result<Option<Leaf>, Self::Error> {
        leaf(&self.leaves, &self.list, self.epoch, index)
    }

    fn put_leaf(&mut self, _: u64, _: Leaf) -> Result<(), Self::Error> {
        Err(TreeStoreError::ReadOnly)
    }

    fn remove_leaf(&mut self, _: u64) -> Result<(), Self::Error> {
        Err(TreeStoreError::ReadOnly)
    }

    fn find_value(&self, value: Value) -> Result<Option<u64>, Self::Error> {
        find_value(&self.values, &self.list, self.epoch, value)
    }

    fn find_low(&self, value: Value) -> Result<Option<u64>, Self::Error> {
        find_low(&self.values, &self.list, self.epoch, value)
    }

    fn next_index(&self) -> Result<u64, Self::Error> {
        next_index(&self.next, &self.list, self.epoch)
    }

    fn set_next_index(&mut self, _: u64) -> Result<(), Self::Error> {
        Err(TreeStoreError::ReadOnly)
    }

    fn push_free(&mut self, _: u64) -> Result<(), Self::Error> {
        Err(TreeStoreError::ReadOnly)
    }

    fn pop_free(&mut self) -> Result<Option<u64>, Self::Error> {
        Err(TreeStoreError::ReadOnly)
    }
}
