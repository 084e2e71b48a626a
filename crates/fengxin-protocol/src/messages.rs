//! Wire messages (versioned by the transport frame's version byte, [`PROTOCOL_VERSION`]).

use fengxin_signed::SignedPublication;
use fengxin_signed::SignedQueryRequest;
use fengxin_types::Tag;
use serde::{Deserialize, Serialize};

/// The frame version byte for these messages.
pub const PROTOCOL_VERSION: u8 = 2;

/// Most identifiers in one proof-mode request.
pub const MAX_BATCH: usize = fengxin_signed::MAX_PROOF_BATCH;

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
    /// A piece of a publication's sealed leaf layout, from its publisher to a regulator
    /// (root attestation). Only regulators accept it.
    Layout(LayoutPiece),
    /// A regulator's sampled check, step 1: the identifiers behind some of the list's tags.
    /// Only regulators may ask.
    Open(OpenRequest),
    /// A regulator's sampled check, step 2: evaluate the blinded identifiers with a proof
    /// under the published OPRF key, so the regulator can recompute their tags.
    OpenEvaluate(OpenEvaluateRequest),
    /// Part of the responder's snapshot of a shared list (its manifest, or some of its chunks),
    /// for a querier to hold. Only current members may ask.
    Snapshot(SnapshotRequest),
}

/// Most chunks one [`SnapshotRequest`] may ask for (8 × 364 KiB, inside a 4 MiB frame).
pub const MAX_SNAPSHOT_CHUNKS: u32 = 8;

/// A request for part of the snapshot of (list, epoch) with the published chunk root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotRequest {
    /// The list.
    pub list: fengxin_types::ListId,
    /// The publication epoch.
    pub epoch: fengxin_types::Epoch,
    /// The chunk root of the publication the querier holds.
    pub chunk_root: [u8; 32],
    /// The first chunk asked for.
    pub first: u32,
    /// How many chunks (at most [`MAX_SNAPSHOT_CHUNKS`]); 0 asks for the manifest.
    pub count: u32,
}

/// Most tags one sampled opening may ask for.
pub const MAX_OPENINGS: usize = 1024;

/// Sampled opening, step 1.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenRequest {
    /// The list.
    pub list: fengxin_types::ListId,
    /// Its current epoch (the published one).
    pub epoch: fengxin_types::Epoch,
    /// The sampled tags (at most [`MAX_OPENINGS`]).
    pub tags: Vec<Tag>,
}

/// An identifier as a member opens it: its type and canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenedIdentifier {
    /// The identifier type (`cn_id`, ...).
    pub id_type: String,
    /// The canonical form.
    pub value: String,
}

/// Sampled opening, step 2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenEvaluateRequest {
    /// The list.
    pub list: fengxin_types::ListId,
    /// Its current epoch.
    pub epoch: fengxin_types::Epoch,
    /// The regulator's blinded elements of the opened identifiers (at most [`MAX_OPENINGS`]).
    pub blinded: Vec<[u8; 32]>,
}

/// Most bytes of a sealed layout in one [`LayoutPiece`] (well inside a frame).
pub const LAYOUT_PIECE: usize = 1 << 20;

/// One piece of the sealed leaf layout of the sender's publication of (list, epoch, root).
/// The pieces of one layout are sent in order; the regulator stores them as they come and
/// opens the layout once it has all of it, so a layout of any size travels in bounded frames
/// and an interrupted transfer resumes where the regulator says it stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutPiece {
    /// The list.
    pub list: fengxin_types::ListId,
    /// The publication epoch.
    pub epoch: fengxin_types::Epoch,
    /// The published root the layout is for.
    pub root: [u8; 32],
    /// Length of the whole sealed layout, bytes.
    pub total: u64,
    /// Offset of this piece in the sealed layout.
    pub offset: u64,
    /// The piece (at most [`LAYOUT_PIECE`] bytes).
    pub bytes: Vec<u8>,
}

/// A regulator's answer to a [`LayoutPiece`]: how much of that layout it holds, and whether
/// it has judged the publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayoutProgress {
    /// Bytes of the sealed layout stored so far: the offset of the next piece to send.
    pub received: u64,
    /// The whole layout is stored (it is judged once the publication and its size commitment
    /// are on the ledger).
    pub complete: bool,
}

/// Step 1 request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluateRequest {
    /// The querier's signed request (list, epoch, mode, count, digest of `blinded`, allowance
    /// claim). The responder checks it before any work is done and countersigns it.
    pub request: SignedQueryRequest,
    /// Blinded elements (compressed ristretto255).
    pub blinded: Vec<[u8; 32]>,
}

/// Step 2 request (proof mode): the tags of an evaluated request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRequest {
    /// The id of the signed request whose evaluation produced the tags.
    pub request_id: [u8; 32],
    /// The root the querier will verify against (the published one).
    pub root: [u8; 32],
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
    /// A regulator's receipt of a layout piece.
    Layout(LayoutProgress),
    /// Step 1 of a sampled opening: per requested tag, the identifier behind it (none if the
    /// member has no entry with that tag).
    Opened(Vec<Option<OpenedIdentifier>>),
    /// Step 2 of a sampled opening: the evaluated elements, in request order, and the batch
    /// DLEQ proof (64 bytes) under the published key.
    OpenEvaluated {
        /// Evaluated elements.
        evaluated: Vec<[u8; 32]>,
        /// The proof.
        proof: Vec<u8>,
    },
    /// A snapshot's manifest: every chunk's info, in order.
    SnapshotManifest(Vec<fengxin_snapshot::ChunkInfo>),
    /// Chunks of a snapshot, from the one asked for, in order, each signed by the serving
    /// member.
    SnapshotChunks(Vec<fengxin_signed::ServedChunk>),
}

/// Step 1 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvaluateResponse {
    /// Evaluated elements, in request order.
    pub evaluated: Vec<[u8; 32]>,
    /// The batch DLEQ proof (64 bytes).
    pub proof: Vec<u8>,
    /// The responder's countersignature of the request with the digest of this evaluation
    /// (the receipt, which the responder submits to the ledger).
    pub receipt_signature: Vec<u8>,
}

/// Step 2 response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipResponse {
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
    /// The querier's signed request does not verify or does not match what was sent.
    BadRequest,
    /// The responder does not offer this mode for the list.
    ModeNotOffered,
    /// A membership request for a request id the responder did not evaluate in proof mode,
    /// or already answered.
    UnknownRequest,
    /// The querier's screening is suspended (equivocation) until the council reinstates it.
    Suspended,
    /// The signed request was already evaluated (a request is served once), or the allowance
    /// interval it claims was already spent at this responder.
    Replayed,
    /// The querier stopped waiting (stream stopped, connection closed, exchange timed out):
    /// the responder stopped the work. Seen in the responder's log, not by the querier.
    Abandoned,
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
            Self::BadRequest => "bad_request",
            Self::ModeNotOffered => "mode_not_offered",
            Self::UnknownRequest => "unknown_request",
            Self::Suspended => "suspended",
            Self::Replayed => "replayed",
            Self::Abandoned => "abandoned",
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
