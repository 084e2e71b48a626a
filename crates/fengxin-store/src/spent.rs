//! The responder's book of spent requests and allowance claims, in its own redb file.
//!
//! A responder writes here, durably, before it evaluates anything for a querier: the request's
//! id, and the interval of the querier's epoch allowance that the request claims. A request id
//! or a claimed interval that is already in the book is refused, so a querier cannot have one
//! signed request, or one piece of its allowance, served twice by this responder, not even
//! across a crash and restart of the responder (the receipt of the first service may not be on
//! the ledger yet). Reuse of one interval at two responders is not visible here: both receipts
//! reach the ledger, which records it as the querier's equivocation.
//!
//! The book is a separate file from the lists' database so that its one-row write
//! transactions never wait behind a list import (redb has one writer per file).
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | bytes (`schema_version`: u32 BE) |
//! | `requests` | request id (32 bytes) | (list, list epoch) |
//! | `claims` | (querier, allowance epoch, end) | (start, request id) |
//! | `own` | allowance epoch | this node's highest claimed usage as a querier |
//!
//! The `own` table is the querier's side: the highest usage this node has claimed in each
//! epoch, written before the claim goes out, so that a restarted node never claims an interval
//! again whose receipt is not on the ledger yet (which responders would refuse, or the ledger
//! record as an equivocation).
//!
//! A claim of `count` identifiers with cumulative usage `used_after` is the half-open interval
//! `[used_after − count, used_after)`; intervals of one querier and epoch in the book never
//! overlap, so the first entry whose end lies beyond a new interval's start is the only one
//! that can overlap it.

use crate::StoreError;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::path::Path;

/// The book's schema version.
pub const SPENT_SCHEMA_VERSION: u32 = 1;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const REQUESTS: TableDefinition<&[u8; 32], (&str, u64)> = TableDefinition::new("requests");
const CLAIMS: TableDefinition<(&str, u64, u64), (u64, &[u8; 32])> = TableDefinition::new("claims");
const OWN: TableDefinition<u64, u64> = TableDefinition::new("own");

/// What a responder is about to serve.
#[derive(Debug, Clone, Copy)]
pub struct Spend<'a> {
    /// The querier.
    pub querier: &'a str,
    /// The signed request's id.
    pub request: [u8; 32],
    /// The list it screens.
    pub list: &'a str,
    /// The list's epoch it names.
    pub list_epoch: u64,
    /// The allowance interval it claims, if it carries a claim.
    pub claim: Option<ClaimedInterval>,
}

/// An interval of one querier's allowance in one epoch: identifiers `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClaimedInterval {
    /// The ledger epoch whose allowance is used.
    pub epoch: u64,
    /// The querier's usage before this request.
    pub start: u64,
    /// The querier's usage after it (`start` + count).
    pub end: u64,
}

impl ClaimedInterval {
    /// The interval a claim of `count` identifiers with cumulative usage `used_after` covers;
    /// `None` if `count` is zero or exceeds `used_after`.
    pub fn of(epoch: u64, used_after: u64, count: u64) -> Option<Self> {
        let start = used_after.checked_sub(count)?;
        (count > 0).then_some(Self {
            epoch,
            start,
            end: used_after,
        })
    }
}

/// Why a spend was refused, or failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SpendError {
    /// The request was served here before.
    #[error("request {} was already served by this responder", hex::encode(.0))]
    Request([u8; 32]),
    /// The claimed interval overlaps one already served here.
    #[error(
        "allowance identifiers {start}..{end} of epoch {epoch} were already spent at this \
         responder by request {}",
        hex::encode(.by)
    )]
    Claim {
        /// The allowance epoch.
        epoch: u64,
        /// Start of the interval already spent.
        start: u64,
        /// Its end.
        end: u64,
        /// The request that spent it.
        by: [u8; 32],
    },
    /// The book could not be read or written: nothing may be served.
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(crate) fn db(e: impl Into<redb::Error>) -> StoreError {
    StoreError::from(e.into())
}

/// Opens the redb file at `path` (created owner-only if absent) and checks, or on first use
/// writes, its `schema_version` in the `meta` table; returns the database and the open write
/// transaction for the caller to create its tables in and commit.
pub(crate) fn open_versioned(
    path: &Path,
    version: u32,
) -> Result<(Database, redb::WriteTransaction), StoreError> {
    if !path.exists() {
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            opts.mode(0o600);
        }
        opts.open(path).map_err(db)?;
    }
    let db_ = Database::create(path).map_err(|e| match e {
        redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse(path.to_owned()),
        other => db(other),
    })?;
    let txn = db_.begin_write().map_err(db)?;
    {
        let mut meta = txn.open_table(META).map_err(db)?;
        let found = meta
            .get("schema_version")
            .map_err(db)?
            .map(|v| v.value().to_vec());
        match found {
            None => {
                meta.insert("schema_version", version.to_be_bytes().as_slice())
                    .map_err(db)?;
            }
            Some(bytes) => {
                let bytes: [u8; 4] = bytes
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("schema_version is not 4 bytes"))?;
                let found = u32::from_be_bytes(bytes);
                if found != version {
                    return Err(StoreError::SchemaVersion {
                        found,
                        expected: version,
                    });
                }
            }
        }
    }
    Ok((db_, txn))
}

/// The responder's durable book of spent requests and claims.
#[derive(Debug)]
pub struct SpentBook {
    db: Database,
}

impl SpentBook {
    /// Opens the book at `path`, creating it (owner-only) if it does not exist.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let (db_, txn) = open_versioned(path, SPENT_SCHEMA_VERSION)?;
        {
            txn.open_table(REQUESTS).map_err(db)?;
            txn.open_table(CLAIMS).map_err(db)?;
            txn.open_table(OWN).map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(Self { db: db_ })
    }

    /// Records `spend` durably (the write is on disk when this returns `Ok`), or refuses it
    /// if its request or any part of its claimed interval is already in the book. Check and
    /// write are one transaction, so two concurrent spends of one interval cannot both pass.
    pub fn spend(&self, spend: &Spend<'_>) -> Result<(), SpendError> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut requests = txn.open_table(REQUESTS).map_err(db)?;
            if requests.get(&spend.request).map_err(db)?.is_some() {
                return Err(SpendError::Request(spend.request));
            }
            let mut claims = txn.open_table(CLAIMS).map_err(db)?;
            if let Some(c) = spend.claim {
                let after_start = (spend.querier, c.epoch, c.start.saturating_add(1))
                    ..=(spend.querier, c.epoch, u64::MAX);
                let first = claims
                    .range(after_start)
                    .map_err(db)?
                    .next()
                    .transpose()
                    .map_err(db)?
                    .map(|(k, v)| (k.value().2, v.value().0, *v.value().1));
                if let Some((end, start, by)) = first {
                    if start < c.end {
                        return Err(SpendError::Claim {
                            epoch: c.epoch,
                            start,
                            end,
                            by,
                        });
                    }
                }
                claims
                    .insert((spend.querier, c.epoch, c.end), (c.start, &spend.request))
                    .map_err(db)?;
            }
            requests
                .insert(&spend.request, (spend.list, spend.list_epoch))
                .map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(())
    }

    /// Forgets what can no longer be replayed: requests whose (list, epoch) is not `current`
    /// for that list (a responder refuses requests for any other epoch), and claims of
    /// allowance epochs before `epoch` (the ledger refuses them). Returns how many rows went.
    pub fn prune(
        &self,
        current: &dyn Fn(&str, u64) -> bool,
        epoch: u64,
    ) -> Result<u64, StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        let mut gone = 0;
        {
            let mut requests = txn.open_table(REQUESTS).map_err(db)?;
            let before = requests.len().map_err(db)?;
            requests
                .retain(|_, (list, list_epoch)| current(list, list_epoch))
                .map_err(db)?;
            gone += before - requests.len().map_err(db)?;
            let mut claims = txn.open_table(CLAIMS).map_err(db)?;
            let before = claims.len().map_err(db)?;
            claims.retain(|(_, e, _), _| e >= epoch).map_err(db)?;
            gone += before - claims.len().map_err(db)?;
            let mut own = txn.open_table(OWN).map_err(db)?;
            let before = own.len().map_err(db)?;
            own.retain(|e, _| e >= epoch).map_err(db)?;
            gone += before - own.len().map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(gone)
    }

    /// Records, durably, that this node (as a querier) has claimed usage up to `used_after`
    /// in `epoch`; a lower value than the one recorded changes nothing.
    pub fn record_own_claim(&self, epoch: u64, used_after: u64) -> Result<(), StoreError> {
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut own = txn.open_table(OWN).map_err(db)?;
            let before = own.get(epoch).map_err(db)?.map_or(0, |v| v.value());
            if used_after > before {
                own.insert(epoch, used_after).map_err(db)?;
            }
        }
        txn.commit().map_err(db)?;
        Ok(())
    }

    /// This node's highest claimed usage per epoch, as recorded by [`Self::record_own_claim`].
    pub fn own_claims(&self) -> Result<std::collections::BTreeMap<u64, u64>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let own = txn.open_table(OWN).map_err(db)?;
        own.iter()
            .map_err(db)?
            .map(|row| {
                let (k, v) = row.map_err(db)?;
                Ok((k.value(), v.value()))
            })
            .collect()
    }

    /// How many requests and claims the book holds.
    pub fn len(&self) -> Result<(u64, u64), StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let requests = txn.open_table(REQUESTS).map_err(db)?.len().map_err(db)?;
        let claims = txn.open_table(CLAIMS).map_err(db)?.len().map_err(db)?;
        Ok((requests, claims))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spend(request: u8, claim: Option<(u64, u64, u64)>) -> Spend<'static> {
        Spend {
            querier: "bank-q",
            request: [request; 32],
            list: "fraud_txn",
            list_epoch: 1,
            claim: claim.map(|(epoch, start, end)| ClaimedInterval { epoch, start, end }),
        }
    }

    #[test]
    fn a_request_or_an_overlapping_interval_is_refused_and_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spent.redb");
        {
            let book = SpentBook::open(&path).expect("open");
            book.spend(&spend(1, Some((1, 10, 20)))).expect("first");
            book.spend(&spend(2, Some((1, 20, 25))))
                .expect("adjacent after");
            book.spend(&spend(3, Some((1, 5, 10))))
                .expect("adjacent before");
            book.spend(&spend(4, Some((2, 10, 20))))
                .expect("another epoch");
            book.spend(&spend(5, None)).expect("no claim");
        }
        let book = SpentBook::open(&path).expect("reopen");
        assert!(matches!(
            book.spend(&spend(1, Some((1, 100, 101)))),
            Err(SpendError::Request(r)) if r == [1; 32]
        ));
        assert!(matches!(
            book.spend(&spend(5, None)),
            Err(SpendError::Request(_))
        ));
        for (start, end) in [(10, 20), (19, 21), (0, 6), (12, 13), (0, 100), (24, 30)] {
            let refused = book.spend(&spend(9, Some((1, start, end))));
            assert!(
                matches!(refused, Err(SpendError::Claim { epoch: 1, .. })),
                "{start}..{end}: {refused:?}"
            );
        }
        // A refused spend wrote nothing: its request id is still free.
        book.spend(&spend(9, Some((1, 25, 26))))
            .expect("free interval");
        assert_eq!(book.len().expect("len"), (6, 5));
        let other = Spend {
            querier: "bank-r",
            ..spend(10, Some((1, 10, 20)))
        };
        book.spend(&other).expect("another querier's interval");
    }

    #[test]
    fn pruning_forgets_old_epochs_only() {
        let dir = tempfile::tempdir().expect("tempdir");
        let book = SpentBook::open(&dir.path().join("spent.redb")).expect("open");
        book.spend(&spend(1, Some((1, 0, 1)))).expect("spend");
        book.spend(&Spend {
            list_epoch: 2,
            ..spend(2, Some((2, 0, 1)))
        })
        .expect("spend");
        let gone = book
            .prune(&|list, epoch| list == "fraud_txn" && epoch == 2, 2)
            .expect("prune");
        assert_eq!(gone, 2);
        assert_eq!(book.len().expect("len"), (1, 1));
        assert!(matches!(
            book.spend(&spend(2, None)),
            Err(SpendError::Request(_))
        ));
        book.spend(&spend(1, Some((1, 0, 1)))).expect("forgotten");
    }

    #[test]
    fn own_claims_only_grow_survive_reopening_and_are_pruned() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("spent.redb");
        {
            let book = SpentBook::open(&path).expect("open");
            book.record_own_claim(1, 5).expect("record");
            book.record_own_claim(1, 3).expect("lower: ignored");
            book.record_own_claim(2, 7).expect("record");
        }
        let book = SpentBook::open(&path).expect("reopen");
        let own = book.own_claims().expect("read");
        assert_eq!(own.into_iter().collect::<Vec<_>>(), vec![(1, 5), (2, 7)]);
        book.prune(&|_, _| true, 2).expect("prune");
        let own = book.own_claims().expect("read");
        assert_eq!(own.into_iter().collect::<Vec<_>>(), vec![(2, 7)]);
    }

    #[test]
    fn intervals_follow_from_claims() {
        assert_eq!(
            ClaimedInterval::of(3, 10, 4),
            Some(ClaimedInterval {
                epoch: 3,
                start: 6,
                end: 10
            })
        );
        assert_eq!(ClaimedInterval::of(3, 3, 4), None);
        assert_eq!(ClaimedInterval::of(3, 3, 0), None);
    }
}
