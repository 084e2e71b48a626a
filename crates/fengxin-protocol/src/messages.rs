//! Wire messages (versioned by the transport frame's version byte, [`PROTOCOL_VERSION`]).

use crate::publication::SignedPublication;
use fengxin_types::{Epoch, ListId, Tag};
use serde::{Deserialize, Serialize};

/// The frame version byte for these messages.
pub const PROTOCOL_VERSION: u8 = 1;

/// Most identifiers in one request.
pub const MAX_BATCH: usize = 1024;

/// A querier's request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Request {
    /// Step 1: evaluate blinded elements.
    Evaluate(EvaluateRequest),
    /// Step 2: answer membership of tags, with proofs.
    Membership(MembershipRequest),
    /// The responder's current signed list publications.
    Publications,
    /// A ledger replication message (encoded by the consensus host; opaque here).
    Ledger(Vec<u8>),
}

/// Step 1 request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluateRequest {
    /// The list.
    pub list: ListId,
    /// The epoch whose published key the querier will check against.
    pub epoch: Epoch,
    /// Blinded elements (compressed ristretto255).
    pub blinded: Vec<[u8; 32]>,
    /// The querier's allowance claim for this many identifiers, encoded by the ledger (empty
    /// when the consortium keeps no allowances). The responder checks it before answering.
    #[serde(default)]
    pub allowance: Vec<u8>,
}

/// Step 2 request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRequest {
    /// The list.
    pub list: ListId,
    /// The epoch.
    pub epoch: Epoch,
    /// The root the querier will verify against (the published one).
    pub root: [u8; 32],
    /// Querier-chosen random nonce: makes every exchange's receipt distinct.
    pub nonce: [u8; 16],
    /// The tags.
    pub tags: Vec<Tag>,
}

/// A responder's response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Response {
    /// Step 1 response.
    Evaluated(EvaluateResponse),
    /// Step 2 response.
    Answers(MembershipResponse),
    /// The responder's signed publications.
    Publications(Vec<SignedPublication>),
    /// The request was refused.
    Refused(Refusal),
    /// A ledger replication reply (opaque here).
    Ledger(Vec<u8>),
}

/// Step 1 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluateResponse {
    /// Evaluated elements, in request order.
    pub evaluated: Vec<[u8; 32]>,
    /// The batch DLEQ proof (64 bytes).
    pub proof: Vec<u8>,
}

/// Step 2 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipResponse {
    /// The responder's signature over the exchange's receipt body.
    pub receipt_signature: Vec<u8>,
    /// One answer per tag, in request order.
    pub answers: Vec<Answer>,
}

/// One tag's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// Hit (`true`) or miss.
    pub result: bool,
    /// The encoded Groth16 proof.
    pub proof: Vec<u8>,
}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RefusalKind {
    /// The responder holds no such list.
    UnknownList,
    /// The requested epoch or root is not the responder's current one.
    StaleRoot,
    /// Too many identifiers in one request.
    BatchTooLarge,
    /// The request is malformed.
    Malformed,
    /// The querier is over its rate limit.
    RateLimited,
    /// The responder failed internally.
    Internal,
    /// The querier's allowance claim does not hold (over allowance).
    OverAllowance,
    /// The querier is not a current member of the consortium.
    NotMember,
    /// The responder is shutting down and takes no new requests.
    ShuttingDown,
    /// The querier is in debt, or its credit balance does not cover the screening.
    InsufficientCredits,
}

impl RefusalKind {
    /// A stable machine-readable code for reports and scripts.
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownList => "unknown_list",
            Self::StaleRoot => "stale_root",
            Self::BatchTooLarge => "batch_too_large",
            Self::Malformed => "malformed",
            Self::RateLimited => "rate_limited",
            Self::Internal => "internal",
            Self::OverAllowance => "over_allowance",
            Self::NotMember => "not_member",
            Self::ShuttingDown => "shutting_down",
            Self::InsufficientCredits => "insufficient_credits",
        }
    }
}

/// A refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    /// The kind.
    pub kind: RefusalKind,
    /// A human-readable reason.
    pub message: String,
}

impl Refusal {
    /// A refusal of `kind`.
    pub fn new(kind: RefusalKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
}
