//! The storage interface of the tree, and an in-memory implementation.
//!
//! The tree core does no I/O: everything it keeps goes through [`TreeStore`]. The interface is
//! shaped after a few ordered key-value tables, so that a database implementation is a thin
//! mapping:
//!
//! | what | key | value |
//! |---|---|---|
//! | node hashes | `(level: u8, index: u64)` | 32-byte big-endian field element |
//! | leaves | `index: u64` | [`Leaf::to_bytes`] (62 bytes) |
//! | value index | [`Value`] bytes (31, big-endian: byte order = numeric order) | `index: u64` |
//! | free slots | `index: u64` | — |
//! | next fresh slot | — | `u64` |
//!
//! A node that is absent is the empty subtree of its level; the core deletes nodes whose hash
//! becomes the empty hash, so the node table holds only non-empty subtrees.
//!
//! Atomicity is the store's business: one tree operation makes several calls, and a database
//! implementation should run them inside one write transaction (for example a store value that
//! wraps an open transaction, committed by the caller after the operation succeeds).
//!
//! [`crate::conformance::run`] is the suite every implementation must pass.

use std::collections::{BTreeMap, BTreeSet};

use crate::value::{Leaf, Value};

/// Storage for an indexed Merkle tree. See the [module docs](self) for the table layout.
pub trait TreeStore {
    /// The store's error (I/O, corruption). The tree wraps it in its own error types.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The hash of node `(level, index)` (level 0 = leaf hashes, level [`crate::DEPTH`] = root),
    /// or `None` if it was never set or was removed (the empty subtree).
    fn node(&self, level: u8, index: u64) -> Result<Option<[u8; 32]>, Self::Error>;

    /// Sets (`Some`) or removes (`None`) the hash of node `(level, index)`.
    fn set_node(
        &mut self,
        level: u8,
        index: u64,
        hash: Option<[u8; 32]>,
    ) -> Result<(), Self::Error>;

    /// The leaf in slot `index`, if the slot is occupied.
    fn leaf(&self, index: u64) -> Result<Option<Leaf>, Self::Error>;

    /// Puts `leaf` in slot `index`, replacing whatever was there, and keeps the value index in
    /// step: afterwards [`TreeStore::find_value`] maps `leaf.value` to `index`, and the previous
    /// occupant's value (if different) is no longer mapped to `index`.
    fn put_leaf(&mut self, index: u64, leaf: Leaf) -> Result<(), Self::Error>;

    /// Empties slot `index` and removes its value from the value index. A no-op on an empty
    /// slot.
    fn remove_leaf(&mut self, index: u64) -> Result<(), Self::Error>;

    /// The slot holding a leaf whose value is exactly `value`.
    fn find_value(&self, value: Value) -> Result<Option<u64>, Self::Error>;

    /// The slot holding the leaf with the greatest value strictly below `value` (the "low leaf"),
    /// if any.
    fn find_low(&self, value: Value) -> Result<Option<u64>, Self::Error>;

    /// The lowest never-used slot (slots below it are occupied or free).
    fn next_index(&self) -> Result<u64, Self::Error>;

    /// Sets the lowest never-used slot.
    fn set_next_index(&mut self, next: u64) -> Result<(), Self::Error>;

    /// Records that slot `index` was emptied and may be reused.
    fn push_free(&mut self, index: u64) -> Result<(), Self::Error>;

    /// Takes a free slot for reuse (any one; the in-memory store takes the lowest), removing it
    /// from the free list.
    fn pop_free(&mut self) -> Result<Option<u64>, Self::Error>;
}

/// A [`TreeStore`] in memory (ordered maps). For tests, benchmarks and small trees.
#[derive(Debug, Default, Clone)]
pub struct MemoryStore {
    nodes: BTreeMap<(u8, u64), [u8; 32]>,
    leaves: BTreeMap<u64, Leaf>,
    values: BTreeMap<Value, u64>,
    free: BTreeSet<u64>,
    next: u64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of stored (non-empty) nodes.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }
}

/// The in-memory store cannot fail.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Infallible {}

impl TreeStore for MemoryStore {
    type Error = Infallible;

    fn node(&self, level: u8, index: u64) -> Result<Option<[u8; 32]>, Infallible> {
        Ok(self.nodes.get(&(level, index)).copied())
    }

    fn set_node(
        &mut self,
        level: u8,
        index: u64,
        hash: Option<[u8; 32]>,
    ) -> Result<(), Infallible> {
        match hash {
            Some(h) => self.nodes.insert((level, index), h),
            None => self.nodes.remove(&(level, index)),
        };
        Ok(())
    }

    fn leaf(&self, index: u64) -> Result<Option<Leaf>, Infallible> {
        Ok(self.leaves.get(&index).copied())
    }

    fn put_leaf(&mut self, index: u64, leaf: Leaf) -> Result<(), Infallible> {
        if let Some(old) = self.leaves.insert(index, leaf) {
            if old.value != leaf.value && self.values.get(&old.value) == Some(&index) {
                self.values.remove(&old.value);
            }
        }
        self.values.insert(leaf.value, index);
        Ok(())
    }

    fn remove_leaf(&mut self, index: u64) -> Result<(), Infallible> {
        if let Some(old) = self.leaves.remove(&index) {
            if self.values.get(&old.value) == Some(&index) {
                self.values.remove(&old.value);
            }
        }
        Ok(())
    }

    fn find_value(&self, value: Value) -> Result<Option<u64>, Infallible> {
        Ok(self.values.get(&value).copied())
    }

    fn find_low(&self, value: Value) -> Result<Option<u64>, Infallible> {
        Ok(self.values.range(..value).next_back().map(|(_, i)| *i))
    }

    fn next_index(&self) -> Result<u64, Infallible> {
        Ok(self.next)
    }

    fn set_next_index(&mut self, next: u64) -> Result<(), Infallible> {
        self.next = next;
        Ok(())
    }

    fn push_free(&mut self, index: u64) -> Result<(), Infallible> {
        self.free.insert(index);
        Ok(())
    }

    fn pop_free(&mut self) -> Result<Option<u64>, Infallible> {
        Ok(self.free.pop_first())
    }
}

/// A store that keeps nothing: building into it computes only the root
/// ([`crate::sorted_root`]), in memory bounded by the build's chunks in flight.
#[derive(Debug, Default, Clone, Copy)]
pub struct RootOnly;

impl TreeStore for RootOnly {
    type Error = Infallible;

    fn node(&self, _level: u8, _index: u64) -> Result<Option<[u8; 32]>, Infallible> {
        Ok(None)
    }

    fn set_node(&mut self, _: u8, _: u64, _: Option<[u8; 32]>) -> Result<(), Infallible> {
        Ok(())
    }

    fn leaf(&self, _index: u64) -> Result<Option<Leaf>, Infallible> {
        Ok(None)
    }

    fn put_leaf(&mut self, _index: u64, _leaf: Leaf) -> Result<(), Infallible> {
        Ok(())
    }

    fn remove_leaf(&mut self, _index: u64) -> Result<(), Infallible> {
        Ok(())
    }

    fn find_value(&self, _value: Value) -> Result<Option<u64>, Infallible> {
        Ok(None)
    }

    fn find_low(&self, _value: Value) -> Result<Option<u64>, Infallible> {
        Ok(None)
    }

    fn next_index(&self) -> Result<u64, Infallible> {
        Ok(0)
    }

    fn set_next_index(&mut self, _next: u64) -> Result<(), Infallible> {
        Ok(())
    }

    fn push_free(&mut self, _index: u64) -> Result<(), Infallible> {
        Ok(())
    }

    fn pop_free(&mut self) -> Result<Option<u64>, Infallible> {
        Ok(None)
    }
}
