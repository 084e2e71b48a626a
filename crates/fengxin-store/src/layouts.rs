//! The regulator's inbox of sealed leaf layouts (root attestation), in its own redb file.
//!
//! A publishing member sends its publication's leaf layout, sealed to the regulator's view
//! key, in pieces of bounded size. The regulator stores each piece as it comes (still
//! sealed: the tags are never on its disk in the clear), opens the layout once it holds all of
//! it and the publication is on the ledger, judges it and marks it judged. The sealed layout
//! stays, so the regulator can judge again or answer a council's question later.
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | bytes (`schema_version`: u32 BE) |
//! | `layouts` | (member, list, epoch) | (root, total length, bytes received, judged) |
//! | `pieces` | (member, list, epoch, offset) | sealed bytes |
//!
//! Pieces are accepted in order only: a piece at another offset than the bytes received so far
//! is answered with that count (the sender resumes there) and stores nothing. A layout for
//! another root or length than the one in progress replaces it, unless it was judged. Each
//! member has at most [`MAX_OPEN_LAYOUTS`] unjudged layouts, and a layout is at most
//! [`MAX_LAYOUT_BYTES`], so nobody can fill the regulator's disk.

use crate::spent::{db, open_versioned};
use crate::StoreError;
use redb::{Database, ReadableTable, TableDefinition};
use std::path::Path;

/// The inbox's schema version.
pub const LAYOUTS_SCHEMA_VERSION: u32 = 1;

/// Largest sealed layout accepted: a full tree of 2^32 slots would not fit; banks' lists of
/// tens of millions of entries do (about 80 bytes per entry).
pub const MAX_LAYOUT_BYTES: u64 = 16 << 30;

/// Unjudged layouts one member may have in the inbox at once.
pub const MAX_OPEN_LAYOUTS: usize = 64;

type Key<'a> = (&'a str, &'a str, u64);
const LAYOUTS: TableDefinition<Key<'static>, (&[u8; 32], u64, u64, bool)> =
    TableDefinition::new("layouts");
const PIECES: TableDefinition<(&str, &str, u64, u64), &[u8]> = TableDefinition::new("pieces");

/// Which publication a layout is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutKey {
    /// The publishing member.
    pub member: String,
    /// The list.
    pub list: String,
    /// The publication epoch.
    pub epoch: u64,
}

/// One piece of a sealed layout as it arrives.
#[derive(Debug, Clone, Copy)]
pub struct Piece<'a> {
    /// The publication's root.
    pub root: [u8; 32],
    /// Length of the whole sealed layout.
    pub total: u64,
    /// Offset of this piece.
    pub offset: u64,
    /// The bytes.
    pub bytes: &'a [u8],
}

/// How much of a layout the inbox holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Bytes stored: the offset of the next piece.
    pub received: u64,
    /// All of it is stored.
    pub complete: bool,
    /// It has been judged (later pieces are ignored).
    pub judged: bool,
}

/// A complete layout waiting to be judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WaitingLayout {
    /// Which publication it is for.
    pub key: LayoutKey,
    /// The root it was sent for.
    pub root: [u8; 32],
}

/// Why a piece was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PieceError {
    /// The piece is malformed: empty, beyond its layout's length, or the layout too large.
    #[error("{0}")]
    Invalid(String),
    /// The member has too many unjudged layouts in the inbox.
    #[error("{0} layouts are waiting to be judged; send the rest once they are")]
    TooMany(usize),
    /// The inbox failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The regulator's inbox of sealed layouts.
#[derive(Debug)]
pub struct LayoutInbox {
    db: Database,
}

impl LayoutInbox {
    /// Opens the inbox at `path`, creating it (owner-only) if it does not exist.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let (db_, txn) = open_versioned(path, LAYOUTS_SCHEMA_VERSION)?;
        {
            txn.open_table(LAYOUTS).map_err(db)?;
            txn.open_table(PIECES).map_err(db)?;
        }
        txn.commit().map_err(db)?;
        Ok(Self { db: db_ })
    }

    /// Stores `piece` of the layout `key` if it is the next one, and says how much is held.
    pub fn receive(&self, key: &LayoutKey, piece: &Piece<'_>) -> Result<Progress, PieceError> {
        let invalid = |m: String| Err(PieceError::Invalid(m));
        if piece.total == 0 || piece.total > MAX_LAYOUT_BYTES {
            return invalid(format!(
                "a sealed layout of {} bytes (1 to {MAX_LAYOUT_BYTES} accepted)",
                piece.total
            ));
        }
        let end = piece.offset.checked_add(piece.bytes.len() as u64);
        if piece.bytes.is_empty() || end.is_none_or(|e| e > piece.total) {
            return invalid(format!(
                "a piece of {} bytes at offset {} of a {}-byte layout",
                piece.bytes.len(),
                piece.offset,
                piece.total
            ));
        }
        let k: Key<'_> = (&key.member, &key.list, key.epoch);
        let txn = self.db.begin_write().map_err(db)?;
        let progress = {
            let mut layouts = txn.open_table(LAYOUTS).map_err(db)?;
            let mut pieces = txn.open_table(PIECES).map_err(db)?;
            let held = layouts.get(k).map_err(db)?.map(|v| {
                let (root, total, received, judged) = v.value();
                (*root, total, received, judged)
            });
            let mut received = match held {
                Some((_, total, received, true)) => {
                    return Ok(Progress {
                        received,
                        complete: received == total,
                        judged: true,
                    })
                }
                Some((root, total, received, false))
                    if root == piece.root && total == piece.total =>
                {
                    received
                }
                other => {
                    // A new layout (or one for another root or length): start it afresh.
                    if other.is_some() {
                        remove_pieces(&mut pieces, key)?;
                    } else {
                        let open = layouts
                            .range((key.member.as_str(), "", 0)..)
                            .map_err(db)?
                            .filter_map(Result::ok)
                            .take_while(|(k, _)| k.value().0 == key.member)
                            .filter(|(_, v)| !v.value().3)
                            .count();
                        if open >= MAX_OPEN_LAYOUTS {
                            return Err(PieceError::TooMany(open));
                        }
                    }
                    0
                }
            };
            if piece.offset == received {
                pieces
                    .insert(
                        (key.member.as_str(), key.list.as_str(), key.epoch, received),
                        piece.bytes,
                    )
                    .map_err(db)?;
                received += piece.bytes.len() as u64;
            }
            layouts
                .insert(k, (&piece.root, piece.total, received, false))
                .map_err(db)?;
            Progress {
                received,
                complete: received == piece.total,
                judged: false,
            }
        };
        txn.commit().map_err(db)?;
        Ok(progress)
    }

    /// Every complete, unjudged layout (its key and root, not its bytes: those are read with
    /// [`LayoutInbox::sealed`] once its publication can be judged).
    pub fn complete_unjudged(&self) -> Result<Vec<WaitingLayout>, StoreError> {
        let txn = self.db.begin_read().map_err(db)?;
        let layouts = txn.open_table(LAYOUTS).map_err(db)?;
        let mut out = Vec::new();
        for row in layouts.iter().map_err(db)? {
            let (k, v) = row.map_err(db)?;
            let (member, list, epoch) = k.value();
            let (root, total, received, judged) = v.value();
            if !judged && received == total {
                out.push(WaitingLayout {
                    key: LayoutKey {
                        member: member.to_owned(),
                        list: list.to_owned(),
                        epoch,
                    },
                    root: *root,
                });
            }
        }
        Ok(out)
    }

    /// The complete sealed layout of `key` for `root` (judged or not), if the inbox holds it.
    pub fn sealed(&self, key: &LayoutKey, root: &[u8; 32]) -> Result<Option<Vec<u8>>, StoreError> {
        let (m, l, e) = (key.member.as_str(), key.list.as_str(), key.epoch);
        let txn = self.db.begin_read().map_err(db)?;
        let layouts = txn.open_table(LAYOUTS).map_err(db)?;
        let total = match layouts.get((m, l, e)).map_err(db)? {
            Some(v) => {
                let (held, total, received, _) = v.value();
                if held != root || received != total {
                    return Ok(None);
                }
                total
            }
            None => return Ok(None),
        };
        let pieces = txn.open_table(PIECES).map_err(db)?;
        let mut sealed = Vec::with_capacity(usize::try_from(total).unwrap_or(0));
        for piece in pieces
            .range((m, l, e, 0)..=(m, l, e, u64::MAX))
            .map_err(db)?
        {
            sealed.extend_from_slice(piece.map_err(db)?.1.value());
        }
        if sealed.len() as u64 != total {
            return Err(StoreError::Corrupt("a layout's pieces do not add up"));
        }
        Ok(Some(sealed))
    }

    /// Marks a layout judged: later pieces for it are ignored.
    pub fn mark_judged(&self, key: &LayoutKey) -> Result<(), StoreError> {
        let k: Key<'_> = (&key.member, &key.list, key.epoch);
        let txn = self.db.begin_write().map_err(db)?;
        {
            let mut layouts = txn.open_table(LAYOUTS).map_err(db)?;
            let held = layouts.get(k).map_err(db)?.map(|v| {
                let (root, total, received, _) = v.value();
                (*root, total, received)
            });
            if let Some((root, total, received)) = held {
                layouts
                    .insert(k, (&root, total, received, true))
                    .map_err(db)?;
            }
        }
        txn.commit().map_err(db)?;
        Ok(())
    }
}

fn remove_pieces(
    pieces: &mut redb::Table<'_, (&'static str, &'static str, u64, u64), &'static [u8]>,
    key: &LayoutKey,
) -> Result<(), StoreError> {
    let (m, l, e) = (key.member.as_str(), key.list.as_str(), key.epoch);
    pieces
        .retain_in((m, l, e, 0)..=(m, l, e, u64::MAX), |_, _| false)
        .map_err(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(list: &str) -> LayoutKey {
        LayoutKey {
            member: "bank-b".into(),
            list: list.into(),
            epoch: 1,
        }
    }

    fn piece(root: u8, total: u64, offset: u64, bytes: &[u8]) -> Piece<'_> {
        Piece {
            root: [root; 32],
            total,
            offset,
            bytes,
        }
    }

    #[test]
    fn pieces_are_stored_in_order_resumed_after_reopening_and_replaced_until_judged() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("layouts.redb");
        let inbox = LayoutInbox::open(&path).expect("open");
        let k = key("fraud_txn");
        let p = inbox.receive(&k, &piece(1, 6, 0, b"abc")).expect("first");
        assert_eq!((p.received, p.complete), (3, false));
        // Out of order: nothing stored, the sender is told where to resume.
        let p = inbox.receive(&k, &piece(1, 6, 5, b"f")).expect("ahead");
        assert_eq!(p.received, 3);
        assert!(inbox.complete_unjudged().expect("list").is_empty());
        assert_eq!(
            inbox.sealed(&k, &[1; 32]).expect("read"),
            None,
            "incomplete"
        );
        drop(inbox);
        let inbox = LayoutInbox::open(&path).expect("reopen");
        let p = inbox.receive(&k, &piece(1, 6, 3, b"def")).expect("rest");
        assert_eq!((p.received, p.complete), (6, true));
        assert_eq!(
            inbox.complete_unjudged().expect("list"),
            vec![WaitingLayout {
                key: k.clone(),
                root: [1; 32],
            }]
        );
        assert_eq!(
            inbox.sealed(&k, &[1; 32]).expect("read"),
            Some(b"abcdef".to_vec())
        );
        assert_eq!(
            inbox.sealed(&k, &[2; 32]).expect("read"),
            None,
            "another root"
        );
        // A layout for another root replaces the unjudged one.
        let p = inbox.receive(&k, &piece(2, 2, 0, b"xy")).expect("replace");
        assert_eq!((p.received, p.complete), (2, true));
        assert_eq!(
            inbox.complete_unjudged().expect("list"),
            vec![WaitingLayout {
                key: k.clone(),
                root: [2; 32],
            }]
        );
        assert_eq!(
            inbox.sealed(&k, &[2; 32]).expect("read"),
            Some(b"xy".to_vec())
        );
        assert_eq!(inbox.sealed(&k, &[1; 32]).expect("read"), None, "replaced");
        // Judged: later pieces are ignored and it is no longer listed.
        inbox.mark_judged(&k).expect("judge");
        let p = inbox.receive(&k, &piece(3, 4, 0, b"zzzz")).expect("late");
        assert!(p.judged);
        assert!(inbox.complete_unjudged().expect("list").is_empty());
        assert_eq!(
            inbox.sealed(&k, &[2; 32]).expect("read"),
            Some(b"xy".to_vec()),
            "a judged layout stays, sealed"
        );
    }

    #[test]
    fn malformed_pieces_and_a_flood_of_layouts_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inbox = LayoutInbox::open(&dir.path().join("layouts.redb")).expect("open");
        let k = key("fraud_txn");
        for bad in [
            piece(1, 0, 0, b"a"),
            piece(1, MAX_LAYOUT_BYTES + 1, 0, b"a"),
            piece(1, 4, 0, b""),
            piece(1, 4, 3, b"ab"),
            piece(1, 4, u64::MAX, b"ab"),
        ] {
            assert!(matches!(
                inbox.receive(&k, &bad),
                Err(PieceError::Invalid(_))
            ));
        }
        for i in 0..MAX_OPEN_LAYOUTS {
            inbox
                .receive(&key(&format!("list{i}")), &piece(1, 2, 0, b"a"))
                .expect("within the bound");
        }
        assert!(matches!(
            inbox.receive(&key("one_more"), &piece(1, 2, 0, b"a")),
            Err(PieceError::TooMany(n)) if n == MAX_OPEN_LAYOUTS
        ));
        // Another member is not affected, and judging one frees a place.
        let other = LayoutKey {
            member: "bank-c".into(),
            ..key("x")
        };
        inbox
            .receive(&other, &piece(1, 2, 0, b"a"))
            .expect("another member");
        inbox.mark_judged(&key("list0")).expect("judge");
        inbox
            .receive(&key("one_more"), &piece(1, 2, 0, b"a"))
            .expect("a place was freed");
    }
}
