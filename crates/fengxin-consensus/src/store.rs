//! The redb store: raft log, vote, membership, blocks, applied position and the outbox.

// openraft's storage traits fix the error type (`StorageError`, about 224 bytes); the helpers
// here return it so `?` works inside the trait methods.
#![allow(clippy::result_large_err)]

use crate::{ApplyOutcome, LedgerTypes, Peer};
use fengxin_ledger::{Block, Digest, LedgerState, Record};
use openraft::storage::{LogFlushed, LogState, RaftLogStorage, RaftStateMachine, Snapshot};
use openraft::{
    AnyError, Entry, EntryPayload, LogId, RaftLogReader, RaftSnapshotBuilder, SnapshotMeta,
    StorageError, StorageIOError, StoredMembership, Vote,
};
use redb::{Database, ReadableTable, TableDefinition};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Debug;
use std::io::Cursor;
use std::ops::RangeBounds;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::watch;

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("raft_log");
const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const OUTBOX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("outbox");

const VOTE: &str = "vote";
const COMMITTED: &str = "committed";
const PURGED: &str = "last_purged";
const APPLIED: &str = "applied";
const MEMBERSHIP: &str = "membership";
const SCHEMA: &str = "schema";
/// The ledger file's schema version.
pub const SCHEMA_VERSION: u8 = 1;

type SErr = StorageError<u64>;

fn werr(e: impl std::fmt::Display) -> SErr {
    StorageIOError::write(AnyError::error(e.to_string())).into()
}

fn rerr(e: impl std::fmt::Display) -> SErr {
    StorageIOError::read(AnyError::error(e.to_string())).into()
}

fn enc<T: Serialize>(v: &T) -> Result<Vec<u8>, SErr> {
    postcard::to_allocvec(v).map_err(werr)
}

fn dec<T: DeserializeOwned>(b: &[u8]) -> Result<T, SErr> {
    postcard::from_bytes(b).map_err(rerr)
}

/// Errors opening the ledger file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// redb failed.
    #[error("ledger database: {0}")]
    Db(String),
    /// The file is of another schema or chain, or its blocks do not replay.
    #[error("ledger database: {0}")]
    Corrupt(String),
}

/// What the state machine shares with the host: the derived state and the height.
#[derive(Debug)]
pub struct Shared {
    /// The ledger state.
    pub state: RwLock<LedgerState>,
    /// The committed height (watchers wake on every block).
    pub height: watch::Sender<u64>,
    /// Recently rejected records (id → reason), for callers waiting on a submission.
    pub rejected: Mutex<BTreeMap<Digest, String>>,
}

/// The ledger database.
#[derive(Debug, Clone)]
pub struct LedgerDb {
    db: Arc<Database>,
}

fn meta_get<T: DeserializeOwned>(db: &Database, key: &str) -> Result<Option<T>, SErr> {
    let txn = db.begin_read().map_err(rerr)?;
    let table = match txn.open_table(META) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
        Err(e) => return Err(rerr(e)),
    };
    match table.get(key).map_err(rerr)? {
        Some(v) => Ok(Some(dec(v.value())?)),
        None => Ok(None),
    }
}

fn meta_put<T: Serialize>(db: &Database, key: &str, value: &T) -> Result<(), SErr> {
    let bytes = enc(value)?;
    let txn = db.begin_write().map_err(werr)?;
    {
        let mut t = txn.open_table(META).map_err(werr)?;
        t.insert(key, bytes.as_slice()).map_err(werr)?;
    }
    txn.commit().map_err(werr)
}

/// Creates `path` owner-only (0600) if it does not exist, and takes group and other access
/// away from it if it does: the ledger holds receipts, sizes and sealed details.
fn owner_only(path: &Path) -> std::io::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(false);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        opts.mode(0o600);
        let file = opts.open(path)?;
        let mode = file.metadata()?.permissions().mode();
        if mode & 0o077 != 0 {
            file.set_permissions(std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    opts.open(path)?;
    Ok(())
}

impl LedgerDb {
    /// Opens (or creates) the ledger file and rebuilds the state from its blocks, starting from
    /// `genesis`.
    pub fn open(path: &Path, genesis: LedgerState) -> Result<(Self, Arc<Shared>), OpenError> {
        owner_only(path).map_err(|e| OpenError::Db(format!("{}: {e}", path.display())))?;
        let db = Database::create(path).map_err(|e| OpenError::Db(e.to_string()))?;
        let db = Arc::new(db);
        {
            let txn = db.begin_write().map_err(|e| OpenError::Db(e.to_string()))?;
            for t in [LOG, BLOCKS] {
                txn.open_table(t)
                    .map_err(|e| OpenError::Db(e.to_string()))?;
            }
            txn.open_table(OUTBOX)
                .map_err(|e| OpenError::Db(e.to_string()))?;
            {
                let mut meta = txn
                    .open_table(META)
                    .map_err(|e| OpenError::Db(e.to_string()))?;
                let existing = meta
                    .get(SCHEMA)
                    .map_err(|e| OpenError::Db(e.to_string()))?
                    .map(|v| v.value().to_vec());
                match existing {
                    None => {
                        let v = [SCHEMA_VERSION];
                        meta.insert(SCHEMA, v.as_slice())
                            .map_err(|e| OpenError::Db(e.to_string()))?;
                        let chain = genesis.chain_id();
                        meta.insert("chain_id", chain.as_slice())
                            .map_err(|e| OpenError::Db(e.to_string()))?;
                    }
                    Some(v) if v == [SCHEMA_VERSION] => {
                        let chain = meta
                            .get("chain_id")
                            .map_err(|e| OpenError::Db(e.to_string()))?
                            .map(|v| v.value().to_vec());
                        if chain.as_deref() != Some(genesis.chain_id().as_slice()) {
                            return Err(OpenError::Corrupt(
                                "the ledger file belongs to another consortium (genesis differs)"
                                    .into(),
                            ));
                        }
                    }
                    Some(v) => {
                        return Err(OpenError::Corrupt(format!(
                            "unsupported ledger schema {v:?} (this build reads {SCHEMA_VERSION})"
                        )))
                    }
                }
            }
            txn.commit().map_err(|e| OpenError::Db(e.to_string()))?;
        }
        let this = Self { db };
        // The node's own blocks are validated as apply validated them: a file edited behind
        // the node's back cannot install state.
        let mut state = genesis;
        for block in this
            .blocks_from(1)
            .map_err(|e| OpenError::Db(e.to_string()))?
        {
            state = state
                .replay(&block)
                .map_err(|e| OpenError::Corrupt(e.to_string()))?;
        }
        let height = state.height();
        let shared = Arc::new(Shared {
            state: RwLock::new(state),
            height: watch::channel(height).0,
            rejected: Mutex::new(BTreeMap::new()),
        });
        Ok((this, shared))
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, SErr> {
        let txn = self.db.begin_read().map_err(rerr)?;
        let t = txn.open_table(BLOCKS).map_err(rerr)?;
        match t.get(height).map_err(rerr)? {
            Some(v) => Ok(Some(dec(v.value())?)),
            None => Ok(None),
        }
    }

    /// Blocks from `height` on, in order.
    pub fn blocks_from(&self, height: u64) -> Result<Vec<Block>, SErr> {
        let txn = self.db.begin_read().map_err(rerr)?;
        let t = txn.open_table(BLOCKS).map_err(rerr)?;
        let mut out = Vec::new();
        for item in t.range(height..).map_err(rerr)? {
            let (_, v) = item.map_err(rerr)?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// Adds records to the outbox (kept until committed or rejected).
    pub fn outbox_put(&self, records: &[Record]) -> Result<(), SErr> {
        let txn = self.db.begin_write().map_err(werr)?;
        {
            let mut t = txn.open_table(OUTBOX).map_err(werr)?;
            for r in records {
                let bytes = enc(r)?;
                t.insert(r.id().as_slice(), bytes.as_slice())
                    .map_err(werr)?;
            }
        }
        txn.commit().map_err(werr)
    }

    /// Drops records from the outbox (settled elsewhere: their effect is on the ledger).
    pub fn outbox_remove(&self, ids: &[Digest]) -> Result<(), SErr> {
        let txn = self.db.begin_write().map_err(werr)?;
        {
            let mut t = txn.open_table(OUTBOX).map_err(werr)?;
            for id in ids {
                t.remove(id.as_slice()).map_err(werr)?;
            }
        }
        txn.commit().map_err(werr)
    }

    /// This node's own records not yet committed or rejected.
    pub fn outbox(&self) -> Result<Vec<Record>, SErr> {
        let txn = self.db.begin_read().map_err(rerr)?;
        let t = txn.open_table(OUTBOX).map_err(rerr)?;
        let mut out = Vec::new();
        for item in t.iter().map_err(rerr)? {
            let (_, v) = item.map_err(rerr)?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }

    /// The raft log store.
    pub fn log_store(&self) -> LogStore {
        LogStore {
            db: self.db.clone(),
        }
    }

    /// The state machine over `shared`.
    pub fn state_machine(&self, shared: Arc<Shared>, genesis: LedgerState) -> StateMachine {
        StateMachine {
            db: self.db.clone(),
            shared,
            genesis,
            snapshot: None,
        }
    }
}

/// The raft log in redb.
#[derive(Debug, Clone)]
pub struct LogStore {
    db: Arc<Database>,
}

impl RaftLogReader<LedgerTypes> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + Send>(
        &mut self,
        range: RB,
    ) -> Result<Vec<Entry<LedgerTypes>>, SErr> {
        let txn = self.db.begin_read().map_err(rerr)?;
        let t = txn.open_table(LOG).map_err(rerr)?;
        let mut out = Vec::new();
        for item in t.range(range).map_err(rerr)? {
            let (_, v) = item.map_err(rerr)?;
            out.push(dec(v.value())?);
        }
        Ok(out)
    }
}

impl RaftLogStorage<LedgerTypes> for LogStore {
    type LogReader = Self;

    async fn get_log_state(&mut self) -> Result<LogState<LedgerTypes>, SErr> {
        let purged: Option<LogId<u64>> = meta_get(&self.db, PURGED)?;
        let txn = self.db.begin_read().map_err(rerr)?;
        let t = txn.open_table(LOG).map_err(rerr)?;
        let last = match t.last().map_err(rerr)? {
            Some((_, v)) => Some(dec::<Entry<LedgerTypes>>(v.value())?.log_id),
            None => purged,
        };
        Ok(LogState {
            last_purged_log_id: purged,
            last_log_id: last,
        })
    }

    async fn get_log_reader(&mut self) -> Self::LogReader {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote<u64>) -> Result<(), SErr> {
        meta_put(&self.db, VOTE, vote)
    }

    async fn read_vote(&mut self) -> Result<Option<Vote<u64>>, SErr> {
        meta_get(&self.db, VOTE)
    }

    async fn save_committed(&mut self, committed: Option<LogId<u64>>) -> Result<(), SErr> {
        meta_put(&self.db, COMMITTED, &committed)
    }

    async fn read_committed(&mut self) -> Result<Option<LogId<u64>>, SErr> {
        Ok(meta_get::<Option<LogId<u64>>>(&self.db, COMMITTED)?.flatten())
    }

    async fn append<I>(&mut self, entries: I, callback: LogFlushed<LedgerTypes>) -> Result<(), SErr>
    where
        I: IntoIterator<Item = Entry<LedgerTypes>> + Send,
        I::IntoIter: Send,
    {
        let txn = self.db.begin_write().map_err(werr)?;
        {
            let mut t = txn.open_table(LOG).map_err(werr)?;
            for entry in entries {
                let bytes = enc(&entry)?;
                t.insert(entry.log_id.index, bytes.as_slice())
                    .map_err(werr)?;
            }
        }
        let result = txn.commit();
        let io = result
            .as_ref()
            .map(|_| ())
            .map_err(|e| std::io::Error::other(e.to_string()));
        callback.log_io_completed(io);
        result.map_err(werr)
    }

    async fn truncate(&mut self, log_id: LogId<u64>) -> Result<(), SErr> {
        let txn = self.db.begin_write().map_err(werr)?;
        {
            let mut t = txn.open_table(LOG).map_err(werr)?;
            t.retain_in(log_id.index.., |_, _| false).map_err(werr)?;
        }
        txn.commit().map_err(werr)
    }

    async fn purge(&mut self, log_id: LogId<u64>) -> Result<(), SErr> {
        let bytes = enc(&Some(log_id))?;
        let txn = self.db.begin_write().map_err(werr)?;
        {
            let mut meta = txn.open_table(META).map_err(werr)?;
            meta.insert(PURGED, bytes.as_slice()).map_err(werr)?;
            let mut t = txn.open_table(LOG).map_err(werr)?;
            t.retain_in(..=log_id.index, |_, _| false).map_err(werr)?;
        }
        txn.commit().map_err(werr)
    }
}

/// The state machine: applies committed batches to the ledger state and stores the blocks.
#[derive(Debug)]
pub struct StateMachine {
    db: Arc<Database>,
    shared: Arc<Shared>,
    genesis: LedgerState,
    snapshot: Option<(SnapshotMeta<u64, Peer>, Vec<u8>)>,
}

/// A snapshot's payload: every block.
#[derive(Serialize, Deserialize)]
struct SnapshotBody {
    blocks: Vec<Block>,
}

impl StateMachine {
    fn membership(&self) -> Result<StoredMembership<u64, Peer>, SErr> {
        Ok(meta_get(&self.db, MEMBERSHIP)?.unwrap_or_default())
    }

    fn build(&self) -> Result<(SnapshotMeta<u64, Peer>, Vec<u8>), SErr> {
        let applied: Option<LogId<u64>> =
            meta_get::<Option<LogId<u64>>>(&self.db, APPLIED)?.flatten();
        let membership = self.membership()?;
        let blocks = LedgerDb {
            db: self.db.clone(),
        }
        .blocks_from(1)?;
        let height = blocks.last().map_or(0, |b| b.header.height);
        let bytes = enc(&SnapshotBody { blocks })?;
        let meta = SnapshotMeta {
            last_log_id: applied,
            last_membership: membership,
            snapshot_id: format!("{}-{height}", applied.map_or(0, |l| l.index)),
        };
        Ok((meta, bytes))
    }
}

impl RaftSnapshotBuilder<LedgerTypes> for StateMachine {
    async fn build_snapshot(&mut self) -> Result<Snapshot<LedgerTypes>, SErr> {
        let (meta, bytes) = self.build()?;
        self.snapshot = Some((meta.clone(), bytes.clone()));
        Ok(Snapshot {
            meta,
            snapshot: Box::new(Cursor::new(bytes)),
        })
    }
}

impl RaftStateMachine<LedgerTypes> for StateMachine {
    type SnapshotBuilder = Self;

    async fn applied_state(
        &mut self,
    ) -> Result<(Option<LogId<u64>>, StoredMembership<u64, Peer>), SErr> {
        let applied = meta_get::<Option<LogId<u64>>>(&self.db, APPLIED)?.flatten();
        Ok((applied, self.membership()?))
    }

    async fn apply<I>(&mut self, entries: I) -> Result<Vec<ApplyOutcome>, SErr>
    where
        I: IntoIterator<Item = Entry<LedgerTypes>> + Send,
        I::IntoIter: Send,
    {
        let mut outcomes = Vec::new();
        let mut blocks = Vec::new();
        let mut done: Vec<Digest> = Vec::new();
        let mut rejected_now = Vec::new();
        let mut last = None;
        let mut membership = None;
        let mut state = self
            .shared
            .state
            .write()
            .map_err(|_| werr("ledger state lock poisoned"))?;
        for entry in entries {
            last = Some(entry.log_id);
            let mut outcome = ApplyOutcome::default();
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Membership(m) => {
                    membership = Some(StoredMembership::new(Some(entry.log_id), m));
                }
                EntryPayload::Normal(batch) => {
                    let applied = state.apply_batch(&batch);
                    if let Some(why) = &applied.batch_error {
                        // The whole batch is refused; its records may be proposed again.
                        outcome.batch_refused = Some(why.clone());
                        outcome.rejected = batch
                            .records
                            .iter()
                            .map(|r| (r.id(), format!("batch refused: {why}")))
                            .collect();
                    }
                    for (id, why) in &applied.rejected {
                        done.push(*id);
                        rejected_now.push((*id, why.to_string()));
                        outcome.rejected.push((*id, why.to_string()));
                    }
                    if let Some(block) = applied.block {
                        outcome.block = Some((block.header.height, block.hash()));
                        done.extend(block.records.iter().map(Record::id));
                        blocks.push(block);
                    }
                }
            }
            outcomes.push(outcome);
        }
        let txn = self.db.begin_write().map_err(werr)?;
        {
            let mut t = txn.open_table(BLOCKS).map_err(werr)?;
            for b in &blocks {
                let bytes = enc(b)?;
                t.insert(b.header.height, bytes.as_slice()).map_err(werr)?;
            }
            let mut outbox = txn.open_table(OUTBOX).map_err(werr)?;
            for id in &done {
                outbox.remove(id.as_slice()).map_err(werr)?;
            }
            let mut meta = txn.open_table(META).map_err(werr)?;
            let applied = enc(&last)?;
            meta.insert(APPLIED, applied.as_slice()).map_err(werr)?;
            if let Some(m) = &membership {
                let bytes = enc(m)?;
                meta.insert(MEMBERSHIP, bytes.as_slice()).map_err(werr)?;
            }
        }
        txn.commit().map_err(werr)?;
        let height = state.height();
        drop(state);
        if !rejected_now.is_empty() {
            if let Ok(mut r) = self.shared.rejected.lock() {
                if r.len() > 100_000 {
                    r.clear();
                }
                r.extend(rejected_now);
            }
        }
        self.shared.height.send_replace(height);
        Ok(outcomes)
    }

    async fn get_snapshot_builder(&mut self) -> Self::SnapshotBuilder {
        StateMachine {
            db: self.db.clone(),
            shared: self.shared.clone(),
            genesis: self.genesis.clone(),
            snapshot: None,
        }
    }

    async fn begin_receiving_snapshot(&mut self) -> Result<Box<Cursor<Vec<u8>>>, SErr> {
        Ok(Box::new(Cursor::new(Vec::new())))
    }

    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta<u64, Peer>,
        snapshot: Box<Cursor<Vec<u8>>>,
    ) -> Result<(), SErr> {
        // Unreachable from peers while log compaction is off (the host refuses every
        // InstallSnapshot); should it ever be reached, every block is validated as apply does.
        let bytes = snapshot.into_inner();
        let body: SnapshotBody = dec(&bytes)?;
        let mut fresh = self.genesis.clone();
        for b in &body.blocks {
            fresh = fresh.replay(b).map_err(werr)?;
        }
        let txn = self.db.begin_write().map_err(werr)?;
        {
            let mut t = txn.open_table(BLOCKS).map_err(werr)?;
            t.retain(|_, _| false).map_err(werr)?;
            for b in &body.blocks {
                let enc_b = enc(b)?;
                t.insert(b.header.height, enc_b.as_slice()).map_err(werr)?;
            }
            let mut m = txn.open_table(META).map_err(werr)?;
            let applied = enc(&meta.last_log_id)?;
            m.insert(APPLIED, applied.as_slice()).map_err(werr)?;
            let membership = enc(&meta.last_membership)?;
            m.insert(MEMBERSHIP, membership.as_slice()).map_err(werr)?;
        }
        txn.commit().map_err(werr)?;
        let height = fresh.height();
        *self
            .shared
            .state
            .write()
            .map_err(|_| werr("ledger state lock poisoned"))? = fresh;
        self.shared.height.send_replace(height);
        self.snapshot = Some((meta.clone(), bytes));
        Ok(())
    }

    async fn get_current_snapshot(&mut self) -> Result<Option<Snapshot<LedgerTypes>>, SErr> {
        Ok(self.snapshot.as_ref().map(|(meta, bytes)| Snapshot {
            meta: meta.clone(),
            snapshot: Box::new(Cursor::new(bytes.clone())),
        }))
    }
}
