//! Table definitions and stored encodings.

use crate::StoreError;
use fengxin_types::{Epoch, ListId, ListPolicy, Tag};
use redb::TableDefinition;
use std::collections::BTreeMap;
use std::ops::RangeInclusive;

/// The schema version this build reads and writes.
pub const SCHEMA_VERSION: u32 = 2;

pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const LISTS: TableDefinition<&str, &[u8]> = TableDefinition::new("lists");
pub(crate) const ENTRIES: TableDefinition<(&str, &str, &str), &[u8]> =
    TableDefinition::new("entries");
pub(crate) const TAGS: TableDefinition<(&str, u64, &[u8; Tag::LEN]), u32> =
    TableDefinition::new("tags");
/// Each stored tag's sealed label (`fengxin_crypto::label`), for the list's snapshot.
pub(crate) const LABELS: TableDefinition<(&str, u64, &[u8; Tag::LEN]), &[u8]> =
    TableDefinition::new("labels");

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
    /// Whether queriers may hold the list's snapshot (`shared`, the default) or only ask
    /// for proofs (`proof_only`).
    #[serde(default)]
    pub policy: ListPolicy,
    /// The generation of the master seed the current epoch's tags were made with (0 for a
    /// list stored before the seed first ratcheted).
    #[serde(default)]
    pub generation: u64,
}

impl ListMeta {
    pub(crate) fn new(generation: u64) -> Self {
        Self {
            v: 1,
            epoch: Epoch::FIRST.get(),
            by_type: BTreeMap::new(),
            root: None,
            policy: ListPolicy::Shared,
            generation,
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
///
/// Stored in a binary encoding, version 1: `v (u8) || epoch (u64 BE) || tag (31 bytes) ||
/// reason || added_on || source_ref`, each text as a u16 BE length (0xffff = absent) followed by
/// its UTF-8 bytes. Any other version byte is refused as corrupt.
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
    /// The entry's tag for the list's current epoch.
    pub tag: Tag,
    /// The epoch the tag belongs to.
    pub epoch: u64,
}

impl EntryRecord {
    /// Binary encoding, version 1: `v (u8) || epoch (u64 BE) || tag (31) || reason ||
    /// added_on || source_ref`, each text as a u16 BE length (0xffff = absent) and UTF-8 bytes.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(1 + 8 + Tag::LEN + 3 * 2 + 48);
        out.push(1);
        out.extend_from_slice(&self.epoch.to_be_bytes());
        out.extend_from_slice(self.tag.as_bytes());
        for field in [&self.reason, &self.added_on, &self.source_ref] {
            match field {
                // Import limits these fields to 128 characters, far below 0xffff bytes.
                Some(text) if text.len() < usize::from(u16::MAX) => {
                    out.extend_from_slice(&(text.len() as u16).to_be_bytes());
                    out.extend_from_slice(text.as_bytes());
                }
                _ => out.extend_from_slice(&u16::MAX.to_be_bytes()),
            }
        }
        out
    }

    pub(crate) fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        let corrupt = || StoreError::Corrupt("entry record");
        let (&v, rest) = bytes.split_first().ok_or_else(corrupt)?;
        if v != 1 {
            return Err(StoreError::Corrupt("unknown entry version"));
        }
        let (epoch, rest) = rest.split_at_checked(8).ok_or_else(corrupt)?;
        let epoch = u64::from_be_bytes(epoch.try_into().map_err(|_| corrupt())?);
        let (tag, mut rest) = rest.split_at_checked(Tag::LEN).ok_or_else(corrupt)?;
        let tag = Tag::from_slice(tag).map_err(|_| corrupt())?;
        let mut text = || -> Result<Option<String>, StoreError> {
            let (len, r) = rest.split_at_checked(2).ok_or_else(corrupt)?;
            let len = u16::from_be_bytes([len[0], len[1]]);
            if len == u16::MAX {
                rest = r;
                return Ok(None);
            }
            let (t, r) = r.split_at_checked(usize::from(len)).ok_or_else(corrupt)?;
            rest = r;
            String::from_utf8(t.to_vec())
                .map(Some)
                .map_err(|_| corrupt())
        };
        let (reason, added_on, source_ref) = (text()?, text()?, text()?);
        if !rest.is_empty() {
            return Err(corrupt());
        }
        Ok(Self {
            v: v.into(),
            reason,
            added_on,
            source_ref,
            tag,
            epoch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_record_round_trip_and_garbage() {
        let tag = Tag::from_bytes([7; Tag::LEN]).expect("non-zero");
        for (reason, added_on, source_ref) in [
            (None, None, None),
            (
                Some("card_fraud".to_owned()),
                Some("2025-01-02".to_owned()),
                Some("核心-1".to_owned()),
            ),
            (Some(String::new()), None, Some("x".repeat(128))),
        ] {
            let r = EntryRecord {
                v: 1,
                reason,
                added_on,
                source_ref,
                tag,
                epoch: 3,
            };
            assert_eq!(EntryRecord::decode(&r.encode()).expect("decode"), r);
            let bytes = r.encode();
            for cut in 0..bytes.len() {
                assert!(
                    EntryRecord::decode(&bytes[..cut]).is_err(),
                    "truncated at {cut}"
                );
            }
            let mut longer = bytes.clone();
            longer.push(0);
            assert!(EntryRecord::decode(&longer).is_err());
        }
    }
}
