//! Ledger records: what members write, each signed by its author.

use crate::credits::{AllowanceClaim, CreditParams, ListSize};
use crate::{digest_of, Digest};
use fengxin_confidential::SealedDetails;
use fengxin_crypto::{labels, IdentityKey};
use fengxin_protocol::{Publication, SignedReceipt};
use fengxin_types::{Epoch, ListId, MemberName};
use serde::{Deserialize, Serialize};

/// The record format version this code writes and accepts.
pub const RECORD_VERSION: u8 = 1;

/// A signed ledger record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Format version, [`RECORD_VERSION`].
    pub version: u8,
    /// The member that wrote the record.
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
    /// A query receipt (author = the querier; the responder's signature is inside).
    Receipt(Box<QueryReceipt>),
    /// A commitment to the size of one of the author's lists.
    ListSize(Box<ListSize>),
    /// Settles an ended epoch: pays validators for the blocks they proposed.
    Settlement(Settlement),
    /// Feedback on the hits of a receipt (author = that receipt's querier).
    Feedback(Feedback),
    /// A governance motion; the author's own vote in favour is implied.
    Motion(Motion),
    /// A vote on an open motion.
    Vote(Vote),
}

/// A query receipt as the ledger records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueryReceipt {
    /// The public part, signed by the responder.
    pub receipt: SignedReceipt,
    /// The claim to stay within the querier's allowance (required when the consortium has a
    /// regulator view key).
    pub allowance: Option<AllowanceClaim>,
    /// The details (tags, results, nonce, digests, case reference) sealed to the regulator's
    /// view key, bound to the receipt id (required when the consortium has one).
    pub details: Option<SealedDetails>,
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
    /// The responder's signature on a receipt does not verify.
    #[error("the responder's receipt signature does not verify")]
    BadResponderSignature,
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
    /// A receipt without the allowance claim or sealed details the consortium requires.
    #[error("receipt lacks {0}")]
    Incomplete(&'static str),
    /// The allowance claim does not hold: over allowance, or a claimed interval that overlaps
    /// one already used.
    #[error("over allowance: {0}")]
    OverAllowance(String),
    /// A list-size commitment whose proofs do not verify.
    #[error("list size: {0}")]
    BadListSize(String),
    /// A settlement of an epoch that has not ended or is already settled.
    #[error("settlement: {0}")]
    Settlement(String),
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

#[derive(Serialize)]
struct Signed<'a> {
    version: u8,
    author: &'a MemberName,
    body: &'a RecordBody,
}

impl Record {
    /// Signs `body` as `author`.
    pub fn sign(author: MemberName, key: &IdentityKey, body: RecordBody) -> Self {
        let mut record = Self {
            version: RECORD_VERSION,
            author,
            body,
            signature: Vec::new(),
        };
        record.signature = key.sign(&record.signing_bytes()).to_vec();
        record
    }

    /// The bytes the author signs.
    pub fn signing_bytes(&self) -> Vec<u8> {
        let mut out = labels::LEDGER_RECORD_SIGNATURE.to_vec();
        out.extend_from_slice(&digest_of(
            labels::LEDGER_RECORD_SIGNATURE,
            &Signed {
                version: self.version,
                author: &self.author,
                body: &self.body,
            },
        ));
        out
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
            RecordBody::ListSize(_) => "list_size",
            RecordBody::Settlement(_) => "settlement",
            RecordBody::Feedback(_) => "feedback",
            RecordBody::Motion(_) => "motion",
            RecordBody::Vote(_) => "vote",
        }
    }
}
