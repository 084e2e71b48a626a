//! The consensus messages and the transport they travel over.
//!
//! The node carries them over its QUIC connections (the same mutual-TLS identities as
//! screening); tests use [`crate::sim`], an in-process network that can drop, delay and
//! partition.

use crate::{LedgerTypes, Peer};
use fengxin_ledger::Record;
use openraft::error::{InstallSnapshotError, RPCError, RaftError, Unreachable};
use openraft::network::{RPCOption, RaftNetwork, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, InstallSnapshotRequest, InstallSnapshotResponse,
    VoteRequest, VoteResponse,
};
use openraft::AnyError;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// A consensus request between nodes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(clippy::large_enum_variant)]
pub enum RaftRpc {
    /// Raft AppendEntries.
    AppendEntries(AppendEntriesRequest<LedgerTypes>),
    /// Raft RequestVote.
    Vote(VoteRequest<u64>),
    /// Raft InstallSnapshot (one chunk).
    InstallSnapshot(InstallSnapshotRequest<LedgerTypes>),
    /// Records forwarded to the leader for proposal.
    Submit(Vec<Record>),
}

impl RaftRpc {
    /// The message's kind, for logs.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AppendEntries(_) => "append",
            Self::Vote(_) => "vote",
            Self::InstallSnapshot(_) => "snapshot",
            Self::Submit(_) => "submit",
        }
    }
}

/// A consensus reply. A failure inside the peer's engine travels as its text: the engine's
/// own error types nest without bound (a storage error's source chain), so decoding them from a
/// peer would let its reply recurse until the stack overflows.
#[derive(Debug, Serialize, Deserialize)]
pub enum RaftReply {
    /// To AppendEntries.
    AppendEntries(Result<AppendEntriesResponse<u64>, String>),
    /// To RequestVote.
    Vote(Result<VoteResponse<u64>, String>),
    /// To InstallSnapshot.
    InstallSnapshot(Result<InstallSnapshotResponse<u64>, String>),
    /// To Submit: how many records were queued, or why none were.
    Submitted(Result<usize, String>),
    /// The message was refused before it reached the consensus engine.
    Refused(Refusal),
}

/// Why a node refused a consensus message before handing it to the engine. Every consensus
/// message is bound to the authenticated peer that sent it (its TLS identity key): the node id
/// a message claims must be the sender's own, and only current validators take part in
/// elections and replication.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Refusal {
    /// The sender's key is neither a member's nor a regulator's on this node's ledger.
    #[error("the sender is not a party to this ledger")]
    UnknownSender,
    /// Elections and replication are for current validators only.
    #[error("{sender} is not a current validator")]
    NotAValidator {
        /// The sender.
        sender: String,
    },
    /// The message claims to come from another node than its sender.
    #[error("{sender} (node {sender_id:016x}) sent a message on behalf of node {claimed:016x}")]
    WrongSender {
        /// The sender.
        sender: String,
        /// The sender's node id (from its identity key).
        sender_id: u64,
        /// The node id the message claims.
        claimed: u64,
    },
    /// Append and snapshot messages come from an elected leader (a committed vote).
    #[error("{sender} is not an elected leader (the vote is not committed)")]
    NotALeader {
        /// The sender.
        sender: String,
    },
    /// A snapshot chunk whose offset or size is beyond any snapshot this node would accept.
    #[error("snapshot chunk at offset {offset} with {len} bytes exceeds {max} bytes")]
    ChunkOutOfBounds {
        /// The chunk's offset.
        offset: u64,
        /// The chunk's length.
        len: u64,
        /// The largest snapshot accepted.
        max: u64,
    },
    /// Log compaction is off, so no honest leader ever sends a snapshot.
    #[error("snapshots are refused: log compaction is off")]
    SnapshotsDisabled,
    /// The sender's share of the submission queue, or the whole queue, is full.
    #[error("submission queue full: {0}")]
    QueueFull(String),
}

/// Why a message did not reach its peer (or no reply came back).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{peer}: {reason}")]
pub struct TransportError {
    /// The peer.
    pub peer: String,
    /// What went wrong.
    pub reason: String,
}

/// A boxed future returned by [`Transport::call`].
pub type CallFuture<'a> =
    Pin<Box<dyn Future<Output = Result<RaftReply, TransportError>> + Send + 'a>>;

/// Carries consensus messages to peers.
pub trait Transport: Send + Sync + 'static {
    /// Sends `rpc` to `peer` and waits for its reply.
    fn call<'a>(&'a self, peer: &'a Peer, rpc: RaftRpc) -> CallFuture<'a>;
}

/// openraft's network factory over a [`Transport`].
#[derive(Clone)]
pub struct Network {
    pub(crate) transport: Arc<dyn Transport>,
}

/// One peer's client.
pub struct PeerClient {
    transport: Arc<dyn Transport>,
    peer: Peer,
}

impl RaftNetworkFactory<LedgerTypes> for Network {
    type Network = PeerClient;

    async fn new_client(&mut self, _target: u64, node: &Peer) -> Self::Network {
        PeerClient {
            transport: self.transport.clone(),
            peer: node.clone(),
        }
    }
}

fn unreachable<E: std::error::Error>(e: TransportError) -> RPCError<u64, Peer, E> {
    RPCError::Unreachable(Unreachable::new(&AnyError::error(e.to_string())))
}

/// The peer's engine failed: the peer is unusable for now, as if unreachable (openraft backs
/// off and retries).
fn remote_failure<E: std::error::Error>(peer: &Peer, why: &str) -> RPCError<u64, Peer, E> {
    RPCError::Unreachable(Unreachable::new(&AnyError::error(format!(
        "{peer}: engine failure: {why}"
    ))))
}

fn wrong_reply<E: std::error::Error>(peer: &Peer, reply: &RaftReply) -> RPCError<u64, Peer, E> {
    let why = match reply {
        RaftReply::Refused(r) => format!("{peer}: refused: {r}"),
        _ => format!("{peer}: reply of the wrong kind"),
    };
    RPCError::Unreachable(Unreachable::new(&AnyError::error(why)))
}

impl RaftNetwork<LedgerTypes> for PeerClient {
    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<LedgerTypes>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<u64>, RPCError<u64, Peer, RaftError<u64>>> {
        match self
            .transport
            .call(&self.peer, RaftRpc::AppendEntries(rpc))
            .await
        {
            Ok(RaftReply::AppendEntries(r)) => r.map_err(|why| remote_failure(&self.peer, &why)),
            Ok(other) => Err(wrong_reply(&self.peer, &other)),
            Err(e) => Err(unreachable(e)),
        }
    }

    async fn install_snapshot(
        &mut self,
        rpc: InstallSnapshotRequest<LedgerTypes>,
        _option: RPCOption,
    ) -> Result<
        InstallSnapshotResponse<u64>,
        RPCError<u64, Peer, RaftError<u64, InstallSnapshotError>>,
    > {
        match self
            .transport
            .call(&self.peer, RaftRpc::InstallSnapshot(rpc))
            .await
        {
            Ok(RaftReply::InstallSnapshot(r)) => r.map_err(|why| remote_failure(&self.peer, &why)),
            Ok(other) => Err(wrong_reply(&self.peer, &other)),
            Err(e) => Err(unreachable(e)),
        }
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<u64>,
        _option: RPCOption,
    ) -> Result<VoteResponse<u64>, RPCError<u64, Peer, RaftError<u64>>> {
        match self.transport.call(&self.peer, RaftRpc::Vote(rpc)).await {
            Ok(RaftReply::Vote(r)) => r.map_err(|why| remote_failure(&self.peer, &why)),
            Ok(other) => Err(wrong_reply(&self.peer, &other)),
            Err(e) => Err(unreachable(e)),
        }
    }
}
