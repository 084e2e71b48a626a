//! The ledger core (DESIGN §6): records, their deterministic validation, blocks and the
//! replicated state derived from them. No I/O: the consensus host orders batches of records,
//! and every node applies them with [`LedgerState::apply_batch`] to reach the same state and the
//! same block hashes.
//!
//! * A [`Record`] is signed by its author (a member) and says one thing: a list
//!   [`Publication`](fengxin_protocol::Publication), a query receipt (also signed by the
//!   responder), feedback on a hit, a governance motion (admit or remove a member) or a vote.
//! * A [`Batch`] is what the consensus leader proposes: records plus the leader's signature.
//! * Applying a batch validates each record against the state as it stands at that point;
//!   invalid records are rejected with a [`Rejection`] and never enter the [`Block`] built from
//!   the batch. Blocks are hash-chained and carry the proposer's signature.
//!
//! The state holds only ordered maps, so iteration — and therefore everything derived from
//! it — is the same on every node.

mod block;
pub mod credits;
mod record;
mod state;

pub use block::{Batch, Block, BlockHeader, BLOCK_VERSION};
pub use credits::{AllowanceClaim, CreditEntry, CreditParams, ListSize};
pub use record::{
    Feedback, Motion, MotionAction, QueryReceipt, Record, RecordBody, Rejection, Settlement,
    Verdict, Vote, RECORD_VERSION,
};
pub use state::{
    Applied, GenesisMember, GenesisRegulator, LedgerState, MemberCounters, MemberEntry,
    MotionState, PublishedList, ReceiptState, RegulatorEntry, ReplayError,
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
