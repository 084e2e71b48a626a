//! Errors of the tree operations, one enum per operation.

use fengxin_types::Tag;

/// Why opening a tree over a store failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("tree store: {0}")]
    Store(#[source] E),
    /// The store's contents break a tree invariant (fatal: the store is damaged).
    #[error("tree store is corrupt: {0}")]
    Corrupt(String),
}

/// Why a bulk build failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("tree store: {0}")]
    Store(#[source] E),
    /// The store already holds a tree (caller misuse: build into an empty store).
    #[error("bulk build needs an empty store")]
    NotEmpty,
    /// More tags than the tree has slots (2^32 - 1 besides the sentinel).
    #[error("{0} tags do not fit in a tree of depth 32")]
    TooMany(usize),
    /// A sorted build was given a tag below its predecessor (caller misuse).
    #[error("tags out of order at {0}")]
    NotSorted(Tag),
}

/// Why an insertion failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InsertError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("tree store: {0}")]
    Store(#[source] E),
    /// The store's contents break a tree invariant (fatal).
    #[error("tree store is corrupt: {0}")]
    Corrupt(String),
    /// The tag is already in the tree (caller misuse; the tree is unchanged).
    #[error("tag {0} is already in the tree")]
    AlreadyPresent(Tag),
    /// Every slot is taken.
    #[error("the tree is full")]
    Full,
}

/// Why a deletion failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeleteError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("tree store: {0}")]
    Store(#[source] E),
    /// The store's contents break a tree invariant (fatal).
    #[error("tree store is corrupt: {0}")]
    Corrupt(String),
    /// The tag is not in the tree (caller misuse; the tree is unchanged).
    #[error("tag {0} is not in the tree")]
    NotPresent(Tag),
}

/// Why a witness could not be produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WitnessError<E: std::error::Error + 'static> {
    /// The store failed.
    #[error("tree store: {0}")]
    Store(#[source] E),
    /// The store's contents break a tree invariant (fatal).
    #[error("tree store is corrupt: {0}")]
    Corrupt(String),
}

/// Internal: a failure while reading or writing the store.
#[derive(Debug)]
pub(crate) enum Fault<E> {
    Store(E),
    Corrupt(String),
}

impl<E> From<E> for Fault<E> {
    fn from(e: E) -> Self {
        Fault::Store(e)
    }
}

macro_rules! from_fault {
    ($t:ident) => {
        impl<E: std::error::Error + 'static> From<Fault<E>> for $t<E> {
            fn from(f: Fault<E>) -> Self {
                match f {
                    Fault::Store(e) => $t::Store(e),
                    Fault::Corrupt(s) => $t::Corrupt(s),
                }
            }
        }
    };
}
from_fault!(OpenError);
from_fault!(InsertError);
from_fault!(DeleteError);
from_fault!(WitnessError);
