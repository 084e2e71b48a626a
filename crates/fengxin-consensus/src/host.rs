//! The ledger host: one node's raft instance, its proposer and its membership keeper.

use crate::store::{LedgerDb, OpenError, Shared};
use crate::transport::{Network, RaftReply, RaftRpc, Refusal, Transport};
use crate::{node_id, LedgerTypes, Peer};
use fengxin_crypto::{IdentityKey, IdentityPublicKey};
use fengxin_ledger::{
    Batch, Block, Digest, GenesisMember, GenesisRegulator, LedgerState, Record, Rejection,
};
use fengxin_types::MemberName;
use openraft::{Config, Raft, ServerState, SnapshotPolicy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{Notify, Semaphore};

/// Consensus timing and batching.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Leader heartbeat interval.
    pub heartbeat: Duration,
    /// Election timeout, lower bound.
    pub election_min: Duration,
    /// Election timeout, upper bound.
    pub election_max: Duration,
    /// Records per proposed batch, at most.
    pub batch_max: usize,
    /// Encoded bytes per proposed batch, at most (a batch must fit, with others, in one
    /// AppendEntries frame of the transport).
    pub batch_max_bytes: usize,
    /// How long the proposer waits to fill a batch.
    pub batch_wait: Duration,
    /// Batches in flight (proposed, not yet committed) at once.
    pub inflight: usize,
    /// How long a submitted record may stay uncommitted before it is proposed again.
    pub resend_after: Duration,
    /// Records one peer (or this node's own local API) may have waiting in the submission
    /// queue at once; a submission beyond it is refused whole ([`Refusal::QueueFull`]).
    pub queue_per_peer: usize,
    /// Records the submission queue holds at most, from everyone.
    pub queue_total: usize,
}

impl Default for Timing {
    fn default() -> Self {
        Self {
            // openraft gives every AppendEntries the heartbeat interval to complete: a
            // lagging follower's catch-up message (one batch of up to `batch_max_bytes`, see
            // `max_payload_entries`) must fit in it, or the leader resends it forever.
            heartbeat: Duration::from_millis(250),
            election_min: Duration::from_millis(1000),
            election_max: Duration::from_millis(2000),
            batch_max: 4096,
            batch_max_bytes: 1024 * 1024,
            batch_wait: Duration::from_millis(5),
            inflight: 4,
            resend_after: Duration::from_secs(3),
            queue_per_peer: 8_192,
            queue_total: 65_536,
        }
    }
}

/// How a node joins the ledger.
pub struct LedgerConfig {
    /// This node's member (or regulator) name.
    pub name: MemberName,
    /// Its identity key (signs proposed batches).
    pub key: IdentityKey,
    /// The redb file.
    pub path: PathBuf,
    /// The genesis hash.
    pub chain_id: Digest,
    /// Founding members.
    pub members: Vec<GenesisMember>,
    /// Regulators.
    pub regulators: Vec<GenesisRegulator>,
    /// Credit parameters at genesis.
    pub params: fengxin_ledger::CreditParams,
    /// Timing.
    pub timing: Timing,
}

/// Ledger errors.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// The ledger file could not be opened.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// Storage failed.
    #[error("ledger storage: {0}")]
    Storage(String),
    /// The consensus engine failed.
    #[error("consensus: {0}")]
    Consensus(String),
    /// A record was rejected.
    #[error("record {index} rejected: {reason}")]
    Rejected {
        /// Position in the submission.
        index: usize,
        /// Why.
        reason: Rejection,
    },
    /// A record was rejected when its block was built (ordering made it invalid).
    #[error("record rejected at commit: {0}")]
    RejectedAtCommit(String),
    /// Waiting timed out.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The submission queue is full; nothing was submitted (try again later).
    #[error(transparent)]
    QueueFull(Refusal),
}

/// A node's view of the ledger, for `ledger status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerStatus {
    /// This node.
    pub node: String,
    /// Committed height.
    pub height: u64,
    /// Hash of the block at that height (hex; the chain id at height 0).
    pub block_hash: String,
    /// The chain id (hex).
    pub chain_id: String,
    /// This node's role: leader, follower, candidate or learner.
    pub role: String,
    /// The current leader's name, if known.
    pub leader: Option<String>,
    /// The consensus term.
    pub term: u64,
    /// Voting validators (names).
    pub validators: Vec<String>,
    /// Non-voting replicas (names).
    pub learners: Vec<String>,
    /// Records submitted by this node and not yet committed.
    pub outbox: usize,
}

/// A running ledger node.
#[derive(Clone)]
pub struct Ledger {
    inner: Arc<Inner>,
}

struct Inner {
    raft: Raft<LedgerTypes>,
    id: u64,
    name: MemberName,
    key: IdentityKey,
    db: LedgerDb,
    shared: Arc<Shared>,
    transport: Arc<dyn Transport>,
    queue: Mutex<Queue>,
    wake: Notify,
    timing: Timing,
    stopped: AtomicBool,
    /// Record id → committed height (Ok) or rejection (Err), for records seen recently.
    outcomes: Mutex<BTreeMap<Digest, Result<u64, String>>>,
    /// Bumped after `outcomes` takes in a new block (waiters wake on it, not on the height,
    /// which moves before the outcomes are recorded).
    outcome_tick: tokio::sync::watch::Sender<u64>,
}

#[derive(Default)]
struct Queue {
    records: VecDeque<Record>,
    ids: BTreeSet<Digest>,
    /// Own submissions not yet committed: id → when last proposed.
    sent: BTreeMap<Digest, Instant>,
    /// Who submitted each queued record that counts against a bound: id → origin.
    origin: BTreeMap<Digest, String>,
    /// Queued records per origin.
    per_origin: BTreeMap<String, usize>,
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Ledger {
    /// Opens the node's ledger file, replays its blocks, starts raft and the background tasks.
    /// Founding members initialise the consensus membership on their first start.
    pub async fn start(
        config: LedgerConfig,
        transport: Arc<dyn Transport>,
    ) -> Result<Self, LedgerError> {
        let genesis = LedgerState::genesis_with(
            config.chain_id,
            config.members.clone(),
            config.regulators.clone(),
            config.params,
        );
        let (db, shared) = LedgerDb::open(&config.path, genesis.clone())?;
        let id = node_id(&config.key.public().to_bytes());
        let raft_config = Config {
            cluster_name: format!("fengxin-{}", hex::encode(&config.chain_id[..8])),
            heartbeat_interval: config.timing.heartbeat.as_millis() as u64,
            election_timeout_min: config.timing.election_min.as_millis() as u64,
            election_timeout_max: config.timing.election_max.as_millis() as u64,
            snapshot_policy: SnapshotPolicy::Never,
            // One entry per AppendEntries: the leader has one batch in flight at a time, so
            // this costs nothing in steady state, and a catching-up follower receives at most
            // one batch (`batch_max_bytes`) per message, which must complete within the
            // heartbeat interval.
            max_payload_entries: 1,
            ..Default::default()
        }
        .validate()
        .map_err(|e| LedgerError::Consensus(e.to_string()))?;
        let network = Network {
            transport: transport.clone(),
        };
        let raft = Raft::new(
            id,
            Arc::new(raft_config),
            network,
            db.log_store(),
            db.state_machine(shared.clone(), genesis),
        )
        .await
        .map_err(|e| LedgerError::Consensus(e.to_string()))?;

        let voters: BTreeMap<u64, Peer> = config
            .members
            .iter()
            .map(|m| peer(&m.name, &m.identity_key, &m.address))
            .collect();
        if voters.contains_key(&id)
            && !raft
                .is_initialized()
                .await
                .map_err(|e| LedgerError::Consensus(e.to_string()))?
        {
            // Every founding member initialises with the same membership; all but the first
            // to win an election find the log non-empty and are told so, harmlessly.
            if let Err(e) = raft.initialize(voters).await {
                tracing::warn!("initialise: {e}");
            }
        }
        let inner = Arc::new(Inner {
            raft,
            id,
            name: config.name,
            key: config.key,
            db,
            shared,
            transport,
            queue: Mutex::new(Queue::default()),
            wake: Notify::new(),
            timing: config.timing,
            stopped: AtomicBool::new(false),
            outcomes: Mutex::new(BTreeMap::new()),
            outcome_tick: tokio::sync::watch::channel(0).0,
        });
        let pending = inner
            .db
            .outbox()
            .map_err(|e| LedgerError::Storage(e.to_string()))?;
        if !pending.is_empty() {
            tracing::info!("{} records from the outbox queued again", pending.len());
            inner.enqueue_durable(pending);
        }
        tokio::spawn(proposer(inner.clone()));
        tokio::spawn(keeper(inner.clone()));
        tokio::spawn(watch_outcomes(inner.clone()));
        Ok(Self { inner })
    }

    /// This node's consensus id.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// Handles a consensus message from the peer whose authenticated identity key is `from`
    /// (the node's network server calls this with the key from the peer's TLS certificate).
    /// The message is bound to its sender before the engine sees it (see [`Refusal`]).
    pub async fn handle(&self, from: &IdentityPublicKey, rpc: RaftRpc) -> RaftReply {
        let sender = match self.inner.authorize(from, &rpc) {
            Ok(sender) => sender,
            Err(refusal) => {
                tracing::warn!("refused a {} message: {refusal}", rpc.kind());
                return RaftReply::Refused(refusal);
            }
        };
        let raft = &self.inner.raft;
        match rpc {
            RaftRpc::AppendEntries(r) => {
                RaftReply::AppendEntries(raft.append_entries(r).await.map_err(|e| e.to_string()))
            }
            RaftRpc::Vote(r) => RaftReply::Vote(raft.vote(r).await.map_err(|e| e.to_string())),
            // `authorize` refuses every snapshot while log compaction is off.
            RaftRpc::InstallSnapshot(_) => RaftReply::Refused(Refusal::SnapshotsDisabled),
            RaftRpc::Submit(records) => {
                let n = records.len();
                let valid: Vec<Record> = {
                    let Ok(state) = self.inner.shared.state.read() else {
                        return RaftReply::Submitted(Err("ledger state unavailable".into()));
                    };
                    let checked = state.precheck_submission(&records);
                    records
                        .into_iter()
                        .zip(checked)
                        .filter_map(|(r, ok)| ok.is_ok().then_some(r))
                        .collect()
                };
                let queued = valid.len();
                if let Err(refusal) = self.inner.enqueue(valid, &sender, false) {
                    tracing::warn!("refused a submission: {refusal}");
                    return RaftReply::Refused(refusal);
                }
                RaftReply::Submitted(if queued == n {
                    Ok(queued)
                } else {
                    Err(format!("{} of {n} records invalid", n - queued))
                })
            }
        }
    }

    /// Submits records: each is checked against the current state (an invalid one is refused
    /// with its reason and nothing is submitted; allowance range proofs are left to the
    /// validators), kept in the durable outbox, and proposed by the leader. Returns the record
    /// ids.
    pub fn submit(&self, records: Vec<Record>) -> Result<Vec<Digest>, LedgerError> {
        {
            let state = self
                .inner
                .shared
                .state
                .read()
                .map_err(|_| LedgerError::Storage("ledger state lock poisoned".into()))?;
            for (index, checked) in state.precheck_submission(&records).into_iter().enumerate() {
                checked.map_err(|reason| LedgerError::Rejected { index, reason })?;
            }
        }
        self.inner
            .has_room(records.len(), self.inner.name.as_str())?;
        self.inner
            .db
            .outbox_put(&records)
            .map_err(|e| LedgerError::Storage(e.to_string()))?;
        let ids = records.iter().map(Record::id).collect();
        let own = self.inner.name.to_string();
        self.inner
            .enqueue(records, &own, true)
            .map_err(LedgerError::QueueFull)?;
        Ok(ids)
    }

    /// Waits until the record with `id` is committed (its height) or rejected.
    pub async fn wait_committed(&self, id: Digest, timeout: Duration) -> Result<u64, LedgerError> {
        let mut rx = self.inner.outcome_tick.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(outcome) = self
                .inner
                .outcomes
                .lock()
                .map_err(|_| LedgerError::Storage("outcomes lock poisoned".into()))?
                .get(&id)
                .cloned()
            {
                return outcome.map_err(LedgerError::RejectedAtCommit);
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return Err(LedgerError::Consensus("ledger stopped".into())),
                Err(_) => {
                    return Err(LedgerError::Timeout(format!(
                        "record {} not committed",
                        hex::encode(id)
                    )))
                }
            }
        }
    }

    /// Waits until the committed height reaches `height`.
    pub async fn wait_height(&self, height: u64, timeout: Duration) -> Result<(), LedgerError> {
        let mut rx = self.inner.shared.height.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|h| *h >= height))
            .await
            .map_err(|_| LedgerError::Timeout(format!("height {height} not reached")))?
            .map_err(|_| LedgerError::Consensus("ledger stopped".into()))?;
        Ok(())
    }

    /// The committed height, watched: it changes after every block is applied (the node
    /// re-checks its open connections against the new membership on it).
    pub fn heights(&self) -> tokio::sync::watch::Receiver<u64> {
        self.inner.shared.height.subscribe()
    }

    /// Reads the ledger state.
    pub fn read<R>(&self, f: impl FnOnce(&LedgerState) -> R) -> Result<R, LedgerError> {
        let state = self
            .inner
            .shared
            .state
            .read()
            .map_err(|_| LedgerError::Storage("ledger state lock poisoned".into()))?;
        Ok(f(&state))
    }

    /// The block at `height`.
    pub fn block(&self, height: u64) -> Result<Option<Block>, LedgerError> {
        self.inner
            .db
            .block(height)
            .map_err(|e| LedgerError::Storage(e.to_string()))
    }

    /// Blocks from `height` on.
    pub fn blocks_from(&self, height: u64) -> Result<Vec<Block>, LedgerError> {
        self.inner
            .db
            .blocks_from(height)
            .map_err(|e| LedgerError::Storage(e.to_string()))
    }

    /// This node's view of the ledger.
    pub fn status(&self) -> Result<LedgerStatus, LedgerError> {
        let m = self.inner.raft.metrics().borrow().clone();
        let membership = m.membership_config.membership().clone();
        let name_of = |id: u64| {
            membership
                .get_node(&id)
                .map_or_else(|| format!("node-{id:016x}"), |p| p.name.clone())
        };
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let role = match m.state {
            ServerState::Leader => "leader",
            ServerState::Candidate => "candidate",
            ServerState::Follower if voters.contains(&self.inner.id) => "follower",
            ServerState::Follower | ServerState::Learner => "learner",
            ServerState::Shutdown => "stopped",
        };
        let (height, head, chain) = self.read(|s| (s.height(), s.head(), s.chain_id()))?;
        let outbox = self
            .inner
            .db
            .outbox()
            .map_err(|e| LedgerError::Storage(e.to_string()))?
            .len();
        Ok(LedgerStatus {
            node: self.inner.name.to_string(),
            height,
            block_hash: hex::encode(head),
            chain_id: hex::encode(chain),
            role: role.into(),
            leader: m.current_leader.map(name_of),
            term: m.current_term,
            validators: voters.iter().map(|id| name_of(*id)).collect(),
            learners: membership.learner_ids().map(name_of).collect(),
            outbox,
        })
    }

    /// Whether this node is the current leader.
    pub fn is_leader(&self) -> bool {
        let m = self.inner.raft.metrics().borrow().clone();
        m.state == ServerState::Leader
    }

    /// Whether the membership this node knows is a single configuration: no change between
    /// validator sets is half done (a joint configuration needs a quorum of both sets).
    pub fn membership_settled(&self) -> bool {
        let m = self.inner.raft.metrics().borrow().clone();
        m.membership_config.membership().get_joint_config().len() == 1
    }

    /// Proposes a batch exactly as given (signed by this node), bypassing the submission
    /// checks: for tests of what validators do with invalid proposals.
    pub async fn propose_raw(&self, batch: Batch) -> Result<(), LedgerError> {
        self.inner
            .raft
            .client_write(batch)
            .await
            .map(|_| ())
            .map_err(|e| LedgerError::Consensus(e.to_string()))
    }

    /// This node's identity key (to sign raw batches in tests and tools).
    pub fn identity(&self) -> &IdentityKey {
        &self.inner.key
    }

    /// Stops raft and the background tasks.
    pub async fn shutdown(&self) {
        self.inner.stopped.store(true, Ordering::SeqCst);
        self.inner.wake.notify_waiters();
        let _ = self.inner.raft.shutdown().await;
    }
}

/// The largest snapshot a node would accept, were log compaction on: a chunk beyond it is
/// refused before anything is allocated for it.
pub const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

impl Inner {
    /// Binds a consensus message to its authenticated sender; returns the sender's name.
    ///
    /// * The sender's key must be a member's or a regulator's on this node's ledger.
    /// * Votes, appends and snapshots come only from current validators: the sender's node id
    ///   (from its key) must be a voter of the consensus membership, entered under the same
    ///   name (so two keys sharing a node id prefix cannot stand in for each other). A node in
    ///   no membership yet (admitted after genesis, not yet replicated to) takes the ledger's
    ///   current members as the validators.
    /// * A vote request comes only from its candidate; an append or snapshot only from the
    ///   leader its committed vote names.
    /// * Snapshots are refused while log compaction is off; a chunk with an offset or size
    ///   beyond [`MAX_SNAPSHOT_BYTES`] is refused in any case.
    fn authorize(&self, from: &IdentityPublicKey, rpc: &RaftRpc) -> Result<String, Refusal> {
        let key = from.to_bytes();
        let sender_id = node_id(&key);
        let (sender, is_member) = {
            let state = self
                .shared
                .state
                .read()
                .map_err(|_| Refusal::UnknownSender)?;
            let party = state.party_for_key(&key).ok_or(Refusal::UnknownSender)?;
            (party.to_string(), state.members().contains_key(party))
        };
        let vote = match rpc {
            RaftRpc::Submit(_) => return Ok(sender),
            RaftRpc::Vote(r) => &r.vote,
            RaftRpc::AppendEntries(r) => &r.vote,
            RaftRpc::InstallSnapshot(r) => &r.vote,
        };
        let is_voter = {
            let metrics = self.raft.metrics();
            let m = metrics.borrow();
            let membership = m.membership_config.membership();
            if membership.voter_ids().next().is_none() {
                // In no membership yet (a member admitted after genesis, before its first
                // append): the ledger's members stand for the validators.
                is_member
            } else {
                membership.voter_ids().any(|id| id == sender_id)
                    && membership
                        .get_node(&sender_id)
                        .is_some_and(|p| p.name == sender)
            }
        };
        if !is_voter {
            return Err(Refusal::NotAValidator { sender });
        }
        let claimed = vote.leader_id().voted_for().unwrap_or(0);
        if claimed != sender_id {
            return Err(Refusal::WrongSender {
                sender,
                sender_id,
                claimed,
            });
        }
        match rpc {
            RaftRpc::AppendEntries(_) | RaftRpc::InstallSnapshot(_) if !vote.is_committed() => {
                Err(Refusal::NotALeader { sender })
            }
            RaftRpc::InstallSnapshot(r) => {
                let len = r.data.len() as u64;
                if r.offset
                    .checked_add(len)
                    .is_none_or(|end| end > MAX_SNAPSHOT_BYTES)
                {
                    return Err(Refusal::ChunkOutOfBounds {
                        offset: r.offset,
                        len,
                        max: MAX_SNAPSHOT_BYTES,
                    });
                }
                Err(Refusal::SnapshotsDisabled)
            }
            _ => Ok(sender),
        }
    }

    /// Whether `n` more records from `origin` fit in the submission queue.
    fn has_room(&self, n: usize, origin: &str) -> Result<(), LedgerError> {
        let q = self
            .queue
            .lock()
            .map_err(|_| LedgerError::Storage("queue lock poisoned".into()))?;
        Self::room(&q, &self.timing, n, origin).map_err(LedgerError::QueueFull)
    }

    fn room(q: &Queue, timing: &Timing, n: usize, origin: &str) -> Result<(), Refusal> {
        let mine = q.per_origin.get(origin).copied().unwrap_or(0);
        if mine.saturating_add(n) > timing.queue_per_peer {
            return Err(Refusal::QueueFull(format!(
                "{origin} has {mine} records waiting; {n} more exceed the {} allowed per peer",
                timing.queue_per_peer
            )));
        }
        if q.records.len().saturating_add(n) > timing.queue_total {
            return Err(Refusal::QueueFull(format!(
                "{} records waiting; {n} more exceed the {} allowed in all",
                q.records.len(),
                timing.queue_total
            )));
        }
        Ok(())
    }

    /// Queues records submitted by `origin` (a peer's name, or this node's own), within the
    /// per-peer and total bounds: a submission that does not fit is refused whole.
    fn enqueue(&self, records: Vec<Record>, origin: &str, own: bool) -> Result<(), Refusal> {
        let Ok(mut q) = self.queue.lock() else {
            return Err(Refusal::QueueFull("queue lock poisoned".into()));
        };
        let ids: Vec<Digest> = records.iter().map(Record::id).collect();
        let fresh: BTreeSet<&Digest> = ids.iter().filter(|id| !q.ids.contains(*id)).collect();
        Self::room(&q, &self.timing, fresh.len(), origin)?;
        for (r, id) in records.into_iter().zip(ids) {
            if own {
                q.sent.insert(id, Instant::now());
            }
            if q.ids.insert(id) {
                q.origin.insert(id, origin.to_owned());
                *q.per_origin.entry(origin.to_owned()).or_insert(0) += 1;
                q.records.push_back(r);
            }
        }
        drop(q);
        self.wake.notify_one();
        Ok(())
    }

    /// Queues this node's own records that are already durable in its outbox (after a
    /// restart, or to propose them again): bounded by the outbox, not by the queue.
    fn enqueue_durable(&self, records: Vec<Record>) {
        if let Ok(mut q) = self.queue.lock() {
            for r in records {
                let id = r.id();
                q.sent.insert(id, Instant::now());
                if q.ids.insert(id) {
                    q.records.push_back(r);
                }
            }
        }
        self.wake.notify_one();
    }

    fn take(&self, n: usize, max_bytes: usize) -> Vec<Record> {
        let Ok(mut q) = self.queue.lock() else {
            return Vec::new();
        };
        let mut out: Vec<Record> = Vec::new();
        let mut bytes = 0;
        while out.len() < n {
            let Some(next) = q.records.front() else {
                break;
            };
            let size = fengxin_ledger::encode(next).len();
            if !out.is_empty() && bytes + size > max_bytes {
                break;
            }
            bytes += size;
            if let Some(r) = q.records.pop_front() {
                out.push(r);
            }
        }
        for r in &out {
            let id = r.id();
            q.ids.remove(&id);
            if let Some(origin) = q.origin.remove(&id) {
                if let Some(n) = q.per_origin.get_mut(&origin) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        q.per_origin.remove(&origin);
                    }
                }
            }
            if let Some(t) = q.sent.get_mut(&id) {
                *t = Instant::now();
            }
        }
        out
    }

    fn requeue(&self, records: Vec<Record>) {
        if let Ok(mut q) = self.queue.lock() {
            for r in records.into_iter().rev() {
                if q.ids.insert(r.id()) {
                    q.records.push_front(r);
                }
            }
        }
    }

    fn peer(&self, id: u64) -> Option<Peer> {
        let m = self.raft.metrics().borrow().clone();
        m.membership_config.membership().get_node(&id).cloned()
    }
}

/// Takes queued records and proposes them (as leader) or forwards them to the leader.
async fn proposer(inner: Arc<Inner>) {
    let slots = Arc::new(Semaphore::new(inner.timing.inflight.max(1)));
    while !inner.stopped.load(Ordering::SeqCst) {
        tokio::select! {
            _ = inner.wake.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
        tokio::time::sleep(inner.timing.batch_wait).await;
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else {
                return;
            };
            let records = inner.take(inner.timing.batch_max, inner.timing.batch_max_bytes);
            if records.is_empty() {
                break;
            }
            let m = inner.raft.metrics().borrow().clone();
            match m.current_leader {
                Some(leader) if leader == inner.id && m.state == ServerState::Leader => {
                    // A batch is signed for the position it will take (chain, height, previous
                    // hash), which the leader knows only once its last proposal is applied: so
                    // it proposes one batch at a time. A batch that lands elsewhere (entries of
                    // an earlier term committed first) is refused whole, and its records stay
                    // in their authors' outboxes to be proposed again.
                    let Ok(position) = inner.shared.state.read().map(|s| s.next_position()) else {
                        inner.requeue(records);
                        break;
                    };
                    let batch = Batch::sign(
                        position,
                        inner.name.clone(),
                        &inner.key,
                        m.current_term,
                        now_ms(),
                        records,
                    );
                    let records = batch.records.clone();
                    match inner.raft.client_write(batch).await {
                        Ok(reply) if reply.data.batch_refused.is_some() => {
                            tracing::warn!(
                                "proposal refused at apply: {}",
                                reply.data.batch_refused.unwrap_or_default()
                            );
                            inner.requeue(records);
                        }
                        Ok(_) => {}
                        Err(e) => {
                            tracing::warn!("proposal not committed: {e}");
                            inner.requeue(records);
                        }
                    }
                    drop(permit);
                }
                Some(leader) => {
                    let Some(peer) = inner.peer(leader) else {
                        inner.requeue(records);
                        break;
                    };
                    let inner = inner.clone();
                    tokio::spawn(async move {
                        match inner
                            .transport
                            .call(&peer, RaftRpc::Submit(records.clone()))
                            .await
                        {
                            Ok(RaftReply::Submitted(_)) => {}
                            Ok(_) | Err(_) => {
                                inner.requeue(records);
                                tokio::time::sleep(Duration::from_millis(100)).await;
                            }
                        }
                        drop(permit);
                    });
                }
                None => {
                    inner.requeue(records);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    break;
                }
            }
        }
    }
}

/// Records outcomes of committed batches and proposes again own records that were lost (a
/// leader crashed before committing them).
async fn watch_outcomes(inner: Arc<Inner>) {
    let mut rx = inner.shared.height.subscribe();
    let mut seen_height = 0;
    let mut last_resend = Instant::now();
    while !inner.stopped.load(Ordering::SeqCst) {
        let _ = tokio::time::timeout(Duration::from_millis(200), rx.changed()).await;
        let height = *rx.borrow_and_update();
        if height > seen_height {
            if let Ok(blocks) = inner.db.blocks_from(seen_height + 1) {
                if let Ok(mut out) = inner.outcomes.lock() {
                    if out.len() > 1_000_000 {
                        out.clear();
                    }
                    for b in &blocks {
                        for r in &b.records {
                            out.insert(r.id(), Ok(b.header.height));
                        }
                    }
                    if let Ok(mut rejected) = inner.shared.rejected.lock() {
                        for (id, why) in std::mem::take(&mut *rejected) {
                            out.entry(id).or_insert(Err(why));
                        }
                    }
                }
                if let Ok(mut q) = inner.queue.lock() {
                    for b in &blocks {
                        for r in &b.records {
                            q.sent.remove(&r.id());
                        }
                    }
                }
                seen_height = blocks.last().map_or(seen_height, |b| b.header.height);
                inner.outcome_tick.send_modify(|t| *t += 1);
            }
        }
        if last_resend.elapsed() >= inner.timing.resend_after {
            last_resend = Instant::now();
            let Ok(mut outbox) = inner.db.outbox() else {
                continue;
            };
            // A receipt the other party's copy already put on the ledger will never commit:
            // it leaves the outbox as replayed.
            let settled: Vec<(Digest, Rejection)> = match inner.shared.state.read() {
                Ok(state) => outbox
                    .iter()
                    .filter(|r| state.settled_by_another(r))
                    .map(|r| (r.id(), Rejection::Replayed))
                    .collect(),
                Err(_) => Vec::new(),
            };
            if !settled.is_empty() {
                let ids: Vec<Digest> = settled.iter().map(|(id, _)| *id).collect();
                if inner.db.outbox_remove(&ids).is_ok() {
                    outbox.retain(|r| !ids.contains(&r.id()));
                    if let Ok(mut out) = inner.outcomes.lock() {
                        for (id, why) in settled {
                            out.entry(id).or_insert(Err(why.to_string()));
                        }
                    }
                    inner.outcome_tick.send_modify(|t| *t += 1);
                }
            }
            let stale: Vec<Record> = {
                let Ok(q) = inner.queue.lock() else {
                    continue;
                };
                outbox
                    .into_iter()
                    .filter(|r| {
                        let id = r.id();
                        !q.ids.contains(&id)
                            && q.sent
                                .get(&id)
                                .is_none_or(|t| t.elapsed() >= inner.timing.resend_after)
                    })
                    .collect()
            };
            if !stale.is_empty() {
                inner.enqueue_durable(stale);
            }
        }
    }
}

/// On the leader: keeps the consensus membership in step with the ledger's (members vote,
/// regulators and members still catching up replicate as learners).
async fn keeper(inner: Arc<Inner>) {
    while !inner.stopped.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let m = inner.raft.metrics().borrow().clone();
        if m.state != ServerState::Leader {
            continue;
        }
        let Some((members, regulators)) = peers_of(&inner) else {
            continue;
        };
        let membership = m.membership_config.membership().clone();
        let known: BTreeSet<u64> = membership.nodes().map(|(id, _)| *id).collect();
        for (id, peer) in members.iter().chain(regulators.iter()) {
            if !known.contains(id) {
                tracing::info!("adding {peer} as a learner");
                if let Err(e) = inner.raft.add_learner(*id, peer.clone(), false).await {
                    tracing::warn!("add learner {peer}: {e}");
                }
            }
        }
        let voters: BTreeSet<u64> = membership.voter_ids().collect();
        let wanted: BTreeSet<u64> = members.keys().copied().collect();
        if voters != wanted {
            // Promote only replicas that have caught up.
            let last = m.last_log_index.unwrap_or(0);
            let caught_up = |id: &u64| {
                *id == inner.id
                    || m.replication.as_ref().is_some_and(|r| {
                        r.get(id)
                            .and_then(|l| l.as_ref())
                            .is_some_and(|l| l.index + 64 >= last)
                    })
            };
            if wanted
                .iter()
                .filter(|id| !voters.contains(id))
                .all(caught_up)
            {
                tracing::info!("validators change to {} members", wanted.len());
                if let Err(e) = inner.raft.change_membership(wanted, false).await {
                    tracing::warn!("membership change: {e}");
                }
            }
        }
    }
}

type PeerMap = BTreeMap<u64, Peer>;

/// A ledger party as a consensus peer: its node id and address-book entry.
fn peer(name: &MemberName, identity_key: &[u8; 32], address: &str) -> (u64, Peer) {
    (
        node_id(identity_key),
        Peer {
            name: name.to_string(),
            address: address.to_owned(),
        },
    )
}

/// The ledger's members and regulators as consensus peers.
fn peers_of(inner: &Inner) -> Option<(PeerMap, PeerMap)> {
    let state = inner.shared.state.read().ok()?;
    let members = state
        .members()
        .iter()
        .map(|(n, e)| peer(n, &e.identity_key, &e.address))
        .collect();
    let regulators = state
        .regulators()
        .iter()
        .map(|(n, r)| peer(n, &r.identity_key, &r.address))
        .collect();
    Some((members, regulators))
}
