//! The query protocol core (docs/protocol.md, docs/cryptography.md): messages and the
//! querier's and responder's steps, with no I/O. The QUIC driver lives in the node; this crate takes bytes-level messages,
//! an RNG and the registry's view, and hands back what to send.
//!
//! One screening exchange between querier A and responder B for one list is two round trips:
//!
//! 1. **Evaluate.** A blinds each identifier (VOPRF) and sends the blinded elements with its
//!    signed [`QueryRequest`] (chain, parties, list, epoch, mode, nonce, count, digest of the
//!    blinded elements, allowance claim). B checks the request, evaluates the elements with
//!    its (list, epoch) key, countersigns the request with the evaluation's digest (the
//!    [`Receipt`], which B submits to the ledger) and returns the evaluations with one DLEQ
//!    proof and its countersignature. A checks the proof against B's *published* OPRF key and
//!    the countersignature against B's identity key, and unblinds: it now holds the tags; B
//!    learned nothing.
//! 2. **Membership** (proof mode). A sends the tags, the request id and the root it expects
//!    (B's published root). B answers each tag of a request it evaluated, once, with hit/miss
//!    and a Groth16 proof against that root. A verifies every proof against the *published*
//!    root.
//!
//! The querier's steps consume their state ([`Querier::start`] → [`AwaitingEvaluation`] →
//! [`AwaitingAnswers`] → [`VerifiedAnswer`]s), so steps cannot run out of order, and a
//! [`VerifiedAnswer`] can only be obtained from a verified proof. Any inconsistency in B's
//! messages is a [`Misbehaviour`], never a miss.

mod messages;
mod querier;
mod responder;

pub use fengxin_signed::{
    blinded_digest, evaluation_digest, Mode, QueryRequest, Receipt, ReceiptError,
    SignedQueryRequest, MAX_PROOF_BATCH, MAX_SNAPSHOT_BATCH, RECEIPT_VERSION,
};
pub use fengxin_signed::{canon, Publication, PublicationError, ServedChunk, SignedPublication};
pub use messages::{
    Answer, EvaluateRequest, EvaluateResponse, LayoutPiece, LayoutProgress, MembershipRequest,
    MembershipResponse, OpenEvaluateRequest, OpenRequest, OpenedIdentifier, Refusal, RefusalKind,
    Request, Response, SnapshotRequest, LAYOUT_PIECE, MAX_BATCH, MAX_OPENINGS, MAX_SNAPSHOT_CHUNKS,
    PROTOCOL_VERSION,
};
pub use querier::{
    AwaitingAnswers, AwaitingEvaluation, Evidence, Exchange, Misbehaviour, Querier, QueryError,
    SnapshotExchange, VerifiedAnswer,
};
pub use responder::{AnswerSource, Responder, RngCoreCrypto};
