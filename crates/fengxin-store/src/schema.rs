//! Table definitions and stored encodings.

use crate::StoreError;
use fengxin_types::{Epoch, ListId, Tag};
use redb::TableDefinition;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 1;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const LISTS: TableDefinition<&str, &[u8]> = TableDefinition::new("lists");
pub(crate) const ENTRIES: TableDefinition<(&str, &str, &str), &[u8]> =
    TableDefinition::new("entries");
pub(crate) const TAGS: TableDefinition<(&str, u64, &[u8; Tag::LEN]), u32> =
    TableDefinition::new("tags");

const MIN_TAG: [u8; Tag::LEN] = [0; Tag::LEN];
const MAX_TAG: [u8; Tag::LEN] = [0xff; Tag::LEN];

pub(crate) type TagKey<'a> = (&'a str, u64, &'a [u8; Tag::LEN]);

/// The key range of all tags of `(list, epoch)`.
pub(crate) fn tag_range<'a>(list: &'a ListId, epoch: Epoch) -> RangeInclusive<TagKey<'a>> {
    (list.as_str(), epoch.get(), &MIN_TAG)..=(list.as_str(), epoch.get(), &MAX_TAG)
}

/// Per-list metadata (stored as versioned JSON).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ListMeta {
    /// Encoding version.
    pub v: u32,
    /// Current epoch.
    pub epoch: u64,
    /// Entry counts per identifier type.
    pub by_type: BTreeMap<String, u64>,
    /// Root of the current epoch's tree (hex), after the first committed change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root: Option<String>,
}

impl ListMeta {
    pub(crate) fn new() -> Self {
        Self {
            v: 1,
            epoch: Epoch::FIRST.get(),
            by_type: BTreeMap::new(),
            root: None,
        }
    }

    /// The current epoch, checked.
    pub fn epoch(&self) -> Result<Epoch, StoreError> {
        Epoch::new(self.epoch).map_err(|_| StoreError::Corrupt("list epoch 0"))
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let m: Self =
            serde_json::from_slice(bytes).map_err(|_| StoreError::Corrupt("list metadata"))?;
        if m.v != 1 {
            return Err(StoreError::Corrupt("unknown list metadata version"));
        }
        Ok(m)
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serialising a struct of integers and strings to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// A stored raw entry. Never leaves the node.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryRecord {
    /// Encoding version.
    pub v: u32,
    /// Reason code, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Date added (YYYY-MM-DD), if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_on: Option<String>,
    /// Source system reference, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ref: Option<String>,
    /// The entry's tag for the list's current epoch (hex).
    pub tag: Tag,
    /// The epoch the tag belongs to.
    pub epoch: u64,
}

impl EntryRecord {
    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let r: Self = serde_json::from_slice(bytes).map_err(|_| StoreError::Corrupt("entry"))?;
        if r.v != 1 {
            return Err(StoreError::Corrupt("unknown entry version"));
        }
        Ok(r)
    }

    pub(crate) fn encode(&self) -> Vec<u8> {
        // Serialising strings and integers to JSON cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}
