//! Batches (what the consensus leader proposes) and blocks (what the ledger keeps).

use crate::record::Record;
use crate::{digest_of, Digest};
use fengxin_crypto::{labels, IdentityKey, IdentityPublicKey};
use fengxin_signed::canon::Canon;
use fengxin_types::MemberName;
use serde::{Deserialize, Serialize};

/// The block format version.
pub const BLOCK_VERSION: u8 = 2;

/// Where a proposal goes: the chain, the height of the block it would make and the hash of the
/// block before it. The proposer signs it, so a batch cannot be replayed at another position
/// or on another chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Position {
    /// The chain (genesis hash).
    pub chain: Digest,
    /// The height of the block the batch would make.
    pub height: u64,
    /// The hash of the block before it (the chain id for height 1).
    pub prev_hash: Digest,
}

/// A leader's proposal: records in the order it wants them applied, signed by the leader.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// Where the batch goes.
    pub position: Position,
    /// The proposing validator.
    pub proposer: MemberName,
    /// The consensus term (leadership period) it was proposed in.
    pub term: u64,
    /// The proposer's clock, milliseconds since the Unix epoch (informational).
    pub proposed_at_ms: u64,
    /// The records.
    pub records: Vec<Record>,
    /// The proposer's signature over [`Batch::signing_bytes`].
    pub signature: Vec<u8>,
}

impl Batch {
    /// Builds and signs a batch for `position`.
    pub fn sign(
        position: Position,
        proposer: MemberName,
        key: &IdentityKey,
        term: u64,
        proposed_at_ms: u64,
        records: Vec<Record>,
    ) -> Self {
        let mut batch = Self {
            position,
            proposer,
            term,
            proposed_at_ms,
            records,
            signature: Vec::new(),
        };
        batch.signature = key.sign(&batch.signing_bytes()).to_vec();
        batch
    }

    /// The ids of the batch's records, in order.
    pub fn record_ids(&self) -> Vec<Digest> {
        self.records.iter().map(Record::id).collect()
    }

    /// The bytes the proposer signs: the batch's position and header and its record ids (so
    /// a block, which keeps only the accepted records, still carries a checkable signature).
    pub fn signing_bytes(&self) -> Vec<u8> {
        proposal_signing_bytes(
            &self.position,
            &self.proposer,
            self.term,
            self.proposed_at_ms,
            &self.record_ids(),
        )
    }
}

fn proposal_signing_bytes(
    position: &Position,
    proposer: &MemberName,
    term: u64,
    proposed_at_ms: u64,
    record_ids: &[Digest],
) -> Vec<u8> {
    record_ids
        .iter()
        .fold(
            Canon::new(labels::LEDGER_PROPOSAL_SIGNATURE)
                .u8(BLOCK_VERSION)
                .fixed(&position.chain)
                .u64(position.height)
                .fixed(&position.prev_hash)
                .name(proposer.as_str())
                .u64(term)
                .u64(proposed_at_ms)
                .u32(u32::try_from(record_ids.len()).unwrap_or(u32::MAX)),
            |c, id| c.fixed(id),
        )
        .finish()
}

/// A block's header; its hash is the block hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlockHeader {
    /// Format version, [`BLOCK_VERSION`].
    pub version: u8,
    /// The chain this block belongs to (the genesis hash).
    pub chain_id: Digest,
    /// Height: 1 for the first block after genesis.
    pub height: u64,
    /// The previous block's hash (the chain id for height 1).
    pub prev_hash: Digest,
    /// The proposing validator.
    pub proposer: MemberName,
    /// The consensus term.
    pub term: u64,
    /// The proposer's clock, ms since the Unix epoch.
    pub proposed_at_ms: u64,
    /// Digest of the ids of the records accepted into this block.
    pub records_digest: Digest,
}

/// A committed block: the records of one batch that passed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Block {
    /// The header.
    pub header: BlockHeader,
    /// The ids of all the records the proposer signed, in order (some may have been rejected).
    pub proposed: Vec<Digest>,
    /// The proposer's signature over the batch (see [`Batch::signing_bytes`]).
    pub proposer_signature: Vec<u8>,
    /// The accepted records, in order.
    pub records: Vec<Record>,
}

impl Block {
    /// The block hash.
    pub fn hash(&self) -> Digest {
        digest_of(labels::LEDGER_BLOCK_HASH, &self.header)
    }

    /// Digest of a list of record ids.
    pub fn records_digest(records: &[Record]) -> Digest {
        let ids: Vec<Digest> = records.iter().map(Record::id).collect();
        digest_of(labels::LEDGER_BLOCK_HASH, &ids)
    }

    /// Checks the block on its own: the records digest, that the records were proposed, and the
    /// proposer's signature (given the proposer's key).
    pub fn check(&self, proposer_key: &IdentityPublicKey) -> bool {
        if Self::records_digest(&self.records) != self.header.records_digest {
            return false;
        }
        let proposed: std::collections::BTreeSet<&Digest> = self.proposed.iter().collect();
        if !self.records.iter().all(|r| proposed.contains(&r.id())) {
            return false;
        }
        let position = Position {
            chain: self.header.chain_id,
            height: self.header.height,
            prev_hash: self.header.prev_hash,
        };
        proposer_key.verify(
            &proposal_signing_bytes(
                &position,
                &self.header.proposer,
                self.header.term,
                self.header.proposed_at_ms,
                &self.proposed,
            ),
            &self.proposer_signature,
        )
    }
}
