//! Ledger replication (docs/ledger.md): the consensus host around the ledger core.
//!
//! Ordering is done by [openraft](https://docs.rs/openraft) 0.9: the current members are the
//! voters, regulators and members still catching up are learners. Every log entry the leader
//! proposes is a [`Batch`](fengxin_ledger::Batch) of records signed by the leader; each node
//! applies committed batches with [`LedgerState::apply_batch`](fengxin_ledger::LedgerState),
//! which re-validates every record and the leader's signature, so an invalid record never
//! enters a block on any node, and every node builds the same hash-chained blocks.
//!
//! **Fault model.** Raft tolerates crashed, partitioned and restarted nodes (any minority), and
//! the ledger core makes forged or invalid records harmless. It is crash-fault tolerant, not
//! Byzantine-fault tolerant: a voter that lies in the consensus protocol itself (for example a
//! leader sending different log entries to different followers) is not masked; the signed,
//! hash-chained blocks make such a fork detectable and attributable, not impossible.
//!
//! Persistence is one redb file per node ([`store`]): the raft log, vote and membership, the
//! blocks, and the applied position are written together — the blocks of a batch and the
//! applied log id in one transaction — and the derived state is rebuilt from the blocks at
//! start-up. Records a node submits are kept in a durable outbox until they are committed
//! or rejected, so a crash does not lose them and replays cannot duplicate them.

pub mod host;
pub mod sim;
pub mod store;
pub mod transport;

pub use host::{Ledger, LedgerConfig, LedgerError, LedgerStatus, Timing};
pub use transport::{RaftReply, RaftRpc, Refusal, Transport, TransportError};

use serde::{Deserialize, Serialize};
use std::io::Cursor;

/// A node's address book entry in the consensus membership.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Peer {
    /// The member's (or regulator's) name.
    pub name: String,
    /// Its QUIC address.
    pub address: String,
}

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.name, self.address)
    }
}

/// What applying one log entry produced: the new block's height and hash, if any.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApplyOutcome {
    /// Height and hash of the block built from the batch.
    pub block: Option<(u64, [u8; 32])>,
    /// Records rejected: id and reason.
    pub rejected: Vec<([u8; 32], String)>,
    /// Why the whole batch was refused (proposer, signature or position), if it was.
    #[serde(default)]
    pub batch_refused: Option<String>,
}

openraft::declare_raft_types!(
    /// openraft type configuration of the Fengxin ledger.
    pub LedgerTypes:
        D = fengxin_ledger::Batch,
        R = ApplyOutcome,
        NodeId = u64,
        Node = Peer,
        Entry = openraft::Entry<LedgerTypes>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The consensus node id of an identity key: its first 8 bytes, big-endian.
pub fn node_id(identity_key: &[u8; 32]) -> u64 {
    let mut b = [0u8; 8];
    b.copy_from_slice(&identity_key[..8]);
    u64::from_be_bytes(b)
}
