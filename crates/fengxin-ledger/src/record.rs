//! Ledger records: what members write, each signed by its author.

use crate::credits::{CreditParams, ListSize};
use crate::{digest_of, Digest};
use fengxin_confidential::SealedDetails;
use fengxin_crypto::{labels, IdentityKey};
use fengxin_signed::canon::Canon;
use fengxin_signed::{Publication, Receipt};
use fengxin_types::{Epoch, ListId, MemberName};
use serde::{Deserialize, Serialize};

/// The record format version this code writes and accepts.
pub const RECORD_VERSION: u8 = 2;

/// Longest reason an attestation may give, in bytes.
pub const MAX_REASON: usize = 1024;

/// A signed ledger record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Format version, [`RECORD_VERSION`].
    pub version: u8,
    /// The chain (genesis hash) the record is written for.
    pub chain: Digest,
    /// The member (or, for an attestation, the regulator) that wrote the record.
    pub author: MemberName,
    /// What the record says.
    pub body: RecordBody,
    /// The author's Ed25519 signature over [`Record::signing_bytes`].
    pub signature: Vec<u8>,
}

/// What a record says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RecordBody {
    /// A list publication (author = the publishing member).
    Publication(Publication),
    /// A query receipt: the querier's signed request countersigned by the responder (author =
    /// either of them; one per request id).
    Receipt(Box<Receipt>),
    /// The querier's details of a receipt, sealed to the regulator (author = that querier).
    Details(Box<ReceiptDetails>),
    /// A commitment to the size of one of the author's published lists.
    ListSize(Box<ListSize>),
    /// The regulator's verdict on a published root and its size commitment (author = a
    /// regulator).
    Attestation(RootAttestation),
    /// Settles an ended epoch: pays validators for the blocks they proposed.
    Settlement(Settlement),
    /// Feedback on the hits of a receipt (author = that receipt's querier).
    Feedback(Feedback),
    /// A governance motion; the author's own vote in favour is implied.
    Motion(Motion),
    /// A vote on an open motion.
    Vote(Vote),
    /// Evidence that a member's snapshot is not the one its publication commits to (author =
    /// the querier that found it).
    SnapshotFault(Box<SnapshotFault>),
}

/// Evidence that a member's shared snapshot of (list, epoch) is not the one its publication
/// commits to; every node checks it against the publication on the ledger
/// (docs/snapshots.md).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotFault {
    /// The member whose snapshot it is.
    pub member: MemberName,
    /// The list.
    pub list: ListId,
    /// The publication's epoch.
    pub epoch: Epoch,
    /// What shows it.
    pub evidence: FaultEvidence,
}

/// What shows a snapshot fault.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FaultEvidence {
    /// The manifest the chunk root commits to, whose subtree roots do not make the published
    /// tree root.
    WrongTree {
        /// Every chunk's info.
        manifest: Vec<fengxin_snapshot::ChunkInfo>,
    },
    /// A chunk the member signed as chunk `index` that is not the chunk the chunk root commits
    /// to there.
    Unfaithful {
        /// The chunk.
        index: u32,
        /// The chunk as served, with the member's signature.
        served: fengxin_signed::ServedChunk,
        /// The committed info of chunk `index`.
        info: fengxin_snapshot::ChunkInfo,
        /// Its path to the chunk root.
        path: Vec<[u8; 32]>,
    },
    /// The chunk the chunk root commits to as chunk `index` (whoever sent it), which breaks
    /// its info: its length, its order after the previous chunk, its last tag or its subtree
    /// root.
    Broken {
        /// The chunk.
        index: u32,
        /// Its bytes.
        bytes: Vec<u8>,
        /// The committed info of chunk `index`, and its path.
        info: fengxin_snapshot::ChunkInfo,
        /// Its path to the chunk root.
        path: Vec<[u8; 32]>,
        /// The committed info of chunk `index - 1` and its path (none for chunk 0).
        previous: Option<(fengxin_snapshot::ChunkInfo, Vec<[u8; 32]>)>,
    },
}

impl FaultEvidence {
    /// A short name, for logs and listings.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::WrongTree { .. } => "wrong_tree",
            Self::Unfaithful { .. } => "unfaithful_chunk",
            Self::Broken { .. } => "broken_chunk",
        }
    }

    /// The chunk the evidence is about (none for the manifest).
    pub fn chunk(&self) -> Option<u32> {
        match self {
            Self::WrongTree { .. } => None,
            Self::Unfaithful { index, .. } | Self::Broken { index, .. } => Some(*index),
        }
    }
}

/// A querier's details of one of its receipts (tags, results, case reference), sealed to the
/// regulator's view key and bound to the receipt id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptDetails {
    /// The receipt (its request id).
    pub receipt: Digest,
    /// The sealed details.
    pub sealed: SealedDetails,
}

/// What the regulator found when it checked a published root.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum AttestationOutcome {
    /// The root is over a well-formed tree of the member's sealed tags, and the committed size
    /// counts its real entries.
    Attested,
    /// The root or the size does not hold; the reason says why.
    Refuted,
}

impl AttestationOutcome {
    /// The byte that stands for the outcome in signed encodings.
    pub fn byte(self) -> u8 {
        match self {
            Self::Attested => 1,
            Self::Refuted => 2,
        }
    }
}

/// The regulator's attestation of one publication and its size commitment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootAttestation {
    /// The publishing member.
    pub member: MemberName,
    /// The list.
    pub list: ListId,
    /// The publication epoch.
    pub epoch: Epoch,
    /// The published root.
    pub root: [u8; 32],
    /// The compressed Pedersen commitment of the list's size record for that publication.
    pub size_commitment: [u8; 32],
    /// Attested or refuted.
    pub outcome: AttestationOutcome,
    /// Why (required for a refutation; at most [`MAX_REASON`] bytes).
    pub reason: String,
}

/// Settlement of an ended epoch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Settlement {
    /// The epoch.
    pub epoch: u64,
}

/// Feedback on the hits a query returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// The receipt the feedback is about.
    pub receipt: Digest,
    /// What the querier found.
    pub verdict: Verdict,
}

/// The querier's verdict on a hit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Verdict {
    /// The hit was confirmed by the querier's own investigation.
    Confirmed,
    /// The hit was a false positive.
    FalsePositive,
}

/// A governance motion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Motion {
    /// What the motion does once at least 2/3 of members approve.
    pub action: MotionAction,
    /// Free text for the council (reason, reference to the membership agreement).
    pub note: String,
}

/// What a motion does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum MotionAction {
    /// Admit a new member.
    Admit {
        /// Its name.
        name: MemberName,
        /// Its Ed25519 identity key.
        identity_key: [u8; 32],
        /// Its QUIC address.
        address: String,
    },
    /// Remove a member (revokes its TLS access and its vote).
    Remove {
        /// The member.
        name: MemberName,
    },
    /// Replace the credit parameters.
    SetParams(CreditParams),
    /// Lift the suspension of a member's screening (after an equivocation).
    Reinstate {
        /// The member.
        name: MemberName,
    },
    /// Overrule the regulator's refutation of a publication's root: the refutation stays on
    /// the ledger, marked overruled, and the publication counts as attested (its size toward
    /// the member's allowance, its answers as results).
    Overrule {
        /// The publishing member.
        member: MemberName,
        /// The list.
        list: ListId,
        /// The publication epoch.
        epoch: Epoch,
    },
}

/// A vote on a motion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vote {
    /// The motion (its record id).
    pub motion: Digest,
    /// In favour or against.
    pub approve: bool,
}

/// Why a record was rejected. Deterministic: every node reaches the same rejection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[non_exhaustive]
pub enum Rejection {
    /// A format version this node does not accept.
    #[error("unsupported record version {0}")]
    UnsupportedVersion(u8),
    /// The record, or the request, publication or batch inside it, is signed for another
    /// chain.
    #[error("signed for another chain")]
    OtherChain,
    /// The author is not a current member.
    #[error("{0} is not a current member")]
    UnknownAuthor(MemberName),
    /// The author's signature does not verify.
    #[error("the author's signature does not verify")]
    BadSignature,
    /// The record claims to speak for another member.
    #[error("author {author} cannot write a record for {subject}")]
    NotAuthorsRecord {
        /// The signer.
        author: MemberName,
        /// Who the record is about.
        subject: MemberName,
    },
    /// The same record is already on the ledger.
    #[error("replayed: this record is already on the ledger")]
    Replayed,
    /// A publication's epoch is not after the member's current one for that list.
    #[error("{list}: epoch {epoch} is not after the published epoch {current}")]
    StaleEpoch {
        /// The list.
        list: ListId,
        /// The record's epoch.
        epoch: Epoch,
        /// The current epoch on the ledger.
        current: Epoch,
    },
    /// A publication or receipt field is malformed.
    #[error("malformed {field}: {reason}")]
    Malformed {
        /// Which field.
        field: &'static str,
        /// Why.
        reason: String,
    },
    /// A receipt refers to a publication the ledger does not hold.
    #[error("{member} has no publication of {list} at epoch {epoch}")]
    NotPublished {
        /// The responder.
        member: MemberName,
        /// The list.
        list: ListId,
        /// The epoch.
        epoch: Epoch,
    },
    /// The responder's countersignature on a receipt does not verify.
    #[error("the responder's receipt signature does not verify")]
    BadResponderSignature,
    /// The querier's signature on a receipt's request does not verify.
    #[error("the querier's request signature does not verify")]
    BadQuerierSignature,
    /// Feedback about a receipt the ledger does not hold.
    #[error("unknown receipt {0}")]
    UnknownReceipt(String),
    /// Feedback already given for that receipt.
    #[error("feedback for that receipt is already on the ledger")]
    FeedbackGiven,
    /// A vote on a motion the ledger does not hold.
    #[error("unknown motion {0}")]
    UnknownMotion(String),
    /// The motion is already decided.
    #[error("the motion is already decided")]
    MotionClosed,
    /// The member already voted on that motion.
    #[error("{0} already voted on that motion")]
    AlreadyVoted(MemberName),
    /// A motion that cannot apply to the current membership.
    #[error("invalid motion: {0}")]
    InvalidMotion(String),
    /// A receipt without the allowance claim the consortium requires.
    #[error("receipt lacks {0}")]
    Incomplete(&'static str),
    /// The allowance claim does not hold: over allowance, for an epoch that is neither the
    /// current nor the previous one, or a usage below its own count. (A responder also refuses
    /// a claim overlapping one already used; on the ledger that overlap is an equivocation.)
    #[error("over allowance: {0}")]
    OverAllowance(String),
    /// A list-size commitment whose proofs do not verify.
    #[error("list size: {0}")]
    BadListSize(String),
    /// A settlement of an epoch that has not ended or is already settled.
    #[error("settlement: {0}")]
    Settlement(String),
    /// The querier's screening is suspended (a responder's refusal; receipts already served
    /// are accepted and charged).
    #[error("{0} is suspended from screening until the council reinstates it")]
    Suspended(MemberName),
    /// An attestation that does not match the ledger's publication or size record.
    #[error("attestation: {0}")]
    BadAttestation(String),
    /// Snapshot fault evidence that does not show a fault of the publication it names.
    #[error("snapshot fault: {0}")]
    BadFaultEvidence(String),
    /// The querier is in debt, or its balance does not cover the screening (a responder's
    /// refusal; receipts already served are charged whatever the balance).
    #[error("insufficient credits: balance {balance}, cost {cost}")]
    InsufficientCredits {
        /// The querier's balance.
        balance: i64,
        /// What the screening would cost.
        cost: i64,
    },
}

impl Record {
    /// Signs `body` as `author` for the chain `chain`.
    pub fn sign(chain: Digest, author: MemberName, key: &IdentityKey, body: RecordBody) -> Self {
        let mut record = Self {
            version: RECORD_VERSION,
            chain,
            author,
            body,
            signature: Vec::new(),
        };
        record.signature = key.sign(&record.signing_bytes()).to_vec();
        record
    }

    /// The bytes the author signs: label, version, chain, author, the body's kind and the
    /// SHA-256 of its canonical (postcard) encoding.
    pub fn signing_bytes(&self) -> Vec<u8> {
        Canon::new(labels::LEDGER_RECORD_SIGNATURE)
            .u8(self.version)
            .fixed(&self.chain)
            .name(self.author.as_str())
            .name(self.kind())
            .fixed(&digest_of(b"", &self.body))
            .finish()
    }

    /// The record's identifier: a digest of its content and signature.
    pub fn id(&self) -> Digest {
        digest_of(labels::LEDGER_RECORD_ID, self)
    }

    /// A short name of the record's kind, for logs and listings.
    pub fn kind(&self) -> &'static str {
        match &self.body {
            RecordBody::Publication(_) => "publication",
            RecordBody::Receipt(_) => "receipt",
            RecordBody::Details(_) => "details",
            RecordBody::ListSize(_) => "list_size",
            RecordBody::Attestation(_) => "attestation",
            RecordBody::Settlement(_) => "settlement",
            RecordBody::Feedback(_) => "feedback",
            RecordBody::Motion(_) => "motion",
            RecordBody::Vote(_) => "vote",
            RecordBody::SnapshotFault(_) => "snapshot_fault",
        }
    }
}
