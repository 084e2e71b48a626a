//! The query protocol core (DESIGN §3, §5.1-5.3): messages and the querier's and responder's
//! steps, with no I/O. The QUIC driver lives in the node; this crate takes bytes-level messages,
//! an RNG and the registry's view, and hands back what to send.
//!
//! One screening exchange between querier A and responder B for one list is two round trips:
//!
//! 1. **Evaluate.** A blinds each identifier (VOPRF) and sends the blinded elements with the
//!    list and the epoch it read from the registry. B evaluates them with its (list, epoch)
//!    key and returns the evaluations with one DLEQ proof. A checks the proof against B's
//!    *published* OPRF key and unblinds: it now holds the tags; B learned nothing.
//! 2. **Membership.** A sends the tags and the root it expects (B's published root). B answers
//!    each with hit/miss and a Groth16 proof against that root. A verifies every proof against
//!    the *published* root.
//!
//! 3. **Receipt.** B's answer carries its signature over the exchange's [`ReceiptBody`]
//!    (who, which list, how many, digests of request and answers); A checks it and submits the
//!    countersigned receipt to the ledger.
//!
//! The querier's steps consume their state ([`start`] → [`AwaitingEvaluation`] →
//! [`AwaitingAnswers`] → [`VerifiedAnswer`]s), so steps cannot run out of order, and a
//! [`VerifiedAnswer`] can only be obtained from a verified proof. Any inconsistency in B's
//! messages is a [`Misbehaviour`], never a miss.

mod messages;
mod publication;
mod querier;
mod receipt;
mod responder;

pub use messages::{
    Answer, EvaluateRequest, EvaluateResponse, MembershipRequest, MembershipResponse, Refusal,
    RefusalKind, Request, Response, MAX_BATCH, PROTOCOL_VERSION,
};
pub use publication::{Publication, PublicationError, SignedPublication};
pub use querier::{
    start, AwaitingAnswers, AwaitingEvaluation, Exchange, Misbehaviour, QueryError, VerifiedAnswer,
};
pub use receipt::{answer_digest, request_digest, ReceiptBody, SignedReceipt, RECEIPT_VERSION};
pub use responder::{AnswerSource, Responder, RngCoreCrypto};
