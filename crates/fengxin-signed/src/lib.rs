//! What Fengxin's participants sign, byte by byte, and nothing else: list publications, query
//! requests and the receipts that countersign them, and the canonical writer every signed
//! encoding is built with ([`canon`]). The ledger core and the query protocol both use these
//! types; this crate holds them without the prover, the network or storage, so the ledger
//! needs none of those. docs/records-v2.md gives each encoding.

pub mod canon;
mod chunk;
mod publication;
mod receipt;

pub use chunk::ServedChunk;
pub use publication::{Publication, PublicationError, SignedPublication};
pub use receipt::{
    blinded_digest, evaluation_digest, Mode, QueryRequest, Receipt, ReceiptError,
    SignedQueryRequest, MAX_PROOF_BATCH, MAX_SNAPSHOT_BATCH, RECEIPT_VERSION,
};
