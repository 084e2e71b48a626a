//! The ledger core (docs/ledger.md): records, their deterministic validation, blocks and the
//! replicated state derived from them. No I/O: the consensus host orders batches of records,
//! and every node applies them with [`LedgerState::apply_batch`] to reach the same state and the
//! same block hashes.
//!
//! * A [`Record`] is signed by its author for one chain and says one thing: a list
//!   [`Publication`](fengxin_signed::Publication), a query receipt (the querier's signed
//!   request countersigned by the responder), the querier's sealed details of a receipt, a
//!   list-size commitment bound to a publication, the regulator's attestation of a root,
//!   feedback on a hit, an epoch settlement, a governance motion or a vote. docs/records-v2.md
//!   gives every signed encoding byte by byte.
//! * A [`Batch`] is what the consensus leader proposes: records plus the leader's signature
//!   over their ids and the batch's [`Position`] (chain, height, previous hash).
//! * Applying a batch validates each record against the state as it stands at that point;
//!   invalid records are rejected with a [`Rejection`] and never enter the [`Block`] built from
//!   the batch. Blocks are hash-chained and carry the proposer's signature.
//!
//! The state holds only ordered maps, so iteration — and therefore everything derived from
//! it — is the same on every node.

mod block;
pub mod credits;
mod fault;
mod record;
mod state;

pub use block::{Batch, Block, BlockHeader, Position, BLOCK_VERSION};
pub use credits::{AllowanceClaim, CreditEntry, CreditParams, ListSize};
pub use record::{
    AttestationOutcome, FaultEvidence, Feedback, Motion, MotionAction, ReceiptDetails, Record,
    RecordBody, Rejection, RootAttestation, Settlement, SnapshotFault, Verdict, Vote, MAX_REASON,
    RECORD_VERSION,
};
pub use state::{
    Applied, AttestationState, Equivocation, FaultState, GenesisMember, GenesisRegulator,
    LedgerState, MemberCounters, MemberEntry, MotionState, PublishedList, ReceiptState,
    RegulatorEntry, ReplayError, SizeState,
};

/// A 32-byte digest (record identifiers, block hashes).
pub type Digest = [u8; 32];

pub(crate) fn digest_of<T: serde::Serialize + ?Sized>(label: &[u8], value: &T) -> Digest {
    use sha2::Digest as _;
    let mut h = sha2::Sha256::new();
    h.update(label);
    h.update(encode(value));
    h.finalize().into()
}

/// Canonical encoding of ledger values (postcard). Encoding in-memory values of these types
/// cannot fail; an empty encoding is returned rather than panicking should that ever change.
pub fn encode<T: serde::Serialize + ?Sized>(value: &T) -> Vec<u8> {
    postcard::to_allocvec(value).unwrap_or_default()
}
