//! The node's local API for the bank's own tools (`fengxin` CLI): one JSON object per line over
//! a Unix socket in the data directory (`node.sock`, owner-only, like the directory itself).
//!
//! Only processes of the node's own OS user can reach it; an authenticated HTTP API for bank
//! systems is a later addition.

use fengxin_types::MemberName;
use serde::{Deserialize, Serialize};

/// Socket file name in the data directory.
pub const SOCKET: &str = "node.sock";

/// A request to the local API.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ApiRequest {
    /// Screen one identifier against every other member (or a chosen set).
    Screen {
        /// Identifier type.
        id_type: String,
        /// The identifier as entered.
        identifier: String,
        /// Only this list.
        #[serde(default)]
        list: Option<String>,
        /// Only these members.
        #[serde(default)]
        members: Option<Vec<String>>,
        /// The querier's case reference, sealed to the regulator with the receipt's details.
        #[serde(default)]
        case_reference: Option<String>,
    },
    /// Screen many identifiers of one type in one exchange per (member, list).
    ScreenBatch {
        /// Identifier type.
        id_type: String,
        /// The identifiers as entered.
        identifiers: Vec<String>,
        /// Only this list.
        #[serde(default)]
        list: Option<String>,
        /// Only these members.
        #[serde(default)]
        members: Option<Vec<String>>,
        /// The querier's case reference, sealed to the regulator with the receipt's details.
        #[serde(default)]
        case_reference: Option<String>,
    },
    /// Node status.
    Status,
    /// The ledger's height, head hash and validators as this node sees them.
    LedgerStatus,
    /// One committed block.
    LedgerBlock {
        /// Its height.
        height: u64,
    },
    /// The query receipts this member is party to.
    Receipts,
    /// Sign the current publication of every list and submit it to the ledger.
    Publish,
    /// Propose a governance motion (admit, remove or reinstate a member, change the credit
    /// parameters); the proposer's vote in favour is implied.
    Propose {
        /// What the motion does.
        action: fengxin_ledger::MotionAction,
        /// A note for the council.
        #[serde(default)]
        note: String,
    },
    /// Vote on an open motion.
    Vote {
        /// The motion id (hex).
        motion: String,
        /// In favour or against.
        approve: bool,
    },
    /// The ledger's motions, open and decided.
    Motions,
    /// Feedback on the hits of one of this member's receipts.
    Feedback {
        /// The receipt id (hex, from `fengxin receipts`).
        receipt: String,
        /// `confirmed` or `false_positive`.
        verdict: String,
    },
    /// This member's credits, allowance and their history.
    Credits,
    /// Regulator only: decrypted records, per-member figures and enumeration flags.
    Audit {
        /// From this height.
        #[serde(default)]
        from: Option<u64>,
        /// Up to this height.
        #[serde(default)]
        to: Option<u64>,
    },
    /// Submit signed records to the ledger (checked first; nothing is submitted if any is
    /// invalid).
    Submit {
        /// The records.
        records: Vec<fengxin_ledger::Record>,
    },
    /// Stop the daemon gracefully.
    Shutdown,
}

/// One (member, list) answer to a screening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenResult {
    /// The responder.
    pub member: MemberName,
    /// The list (null if the member publishes none, or not the one asked for).
    #[serde(default)]
    pub list: Option<String>,
    /// "hit" or "miss", only when verified; null otherwise (never a miss by default).
    #[serde(default)]
    pub result: Option<String>,
    /// Whether the answer's proofs verified against the published root and key.
    pub verified: bool,
    /// What went wrong, when no verified answer exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScreenError>,
    /// Wall time of this member's exchange, milliseconds.
    pub latency_ms: f64,
}

/// Why a member gave no verified answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenError {
    /// `peer_unreachable`, `peer_misbehaved`, `refused`, `invalid_publication`, `no_list`,
    /// `over_allowance`, `local`.
    pub kind: String,
    /// A stable code within the kind: for `peer_misbehaved` `bad_dleq_proof`,
    /// `bad_groth16_proof`, `malformed_proof`, `wrong_count`, `bad_evaluated_element`,
    /// `bad_receipt_signature`, `unexpected_response`, `bad_frame` or `identity`; for
    /// `refused` the responder's refusal (`stale_root`, `unknown_list`, `rate_limited`,
    /// `not_member`, `shutting_down`, ...) or `frame_rejected`; for `peer_unreachable`
    /// `timeout`, `handshake` or `connection_lost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Details.
    pub message: String,
}

/// `fengxin screen` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenReport {
    /// The identifier type.
    pub identifier_type: String,
    /// One entry per (member, list).
    pub results: Vec<ScreenResult>,
}

/// One (member, list) answer to a batch screening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchScreenResult {
    /// The responder.
    pub member: MemberName,
    /// The list (null if the member publishes none, or not the one asked for).
    #[serde(default)]
    pub list: Option<String>,
    /// Positions (from 0) of the identifiers that hit; meaningful only when verified.
    pub hits: Vec<usize>,
    /// Whether every answer's proof verified.
    pub verified: bool,
    /// What went wrong, when no verified answer exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScreenError>,
    /// Wall time of this member's exchanges, milliseconds.
    pub latency_ms: f64,
}

/// Batch screening output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchScreenReport {
    /// The identifier type.
    pub identifier_type: String,
    /// Identifiers screened.
    pub count: usize,
    /// One entry per (member, list).
    pub results: Vec<BatchScreenResult>,
}

/// Node status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Status {
    /// This member.
    pub member: MemberName,
    /// QUIC address.
    pub listen: String,
    /// Current members (from the ledger).
    pub members: Vec<MemberName>,
    /// Committed ledger height.
    #[serde(default)]
    pub height: u64,
    /// Current list publications on the ledger (all members).
    #[serde(default)]
    pub publications: usize,
}

/// A response from the local API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApiResponse {
    /// Screening results.
    Screen(ScreenReport),
    /// Batch screening results.
    ScreenBatch(BatchScreenReport),
    /// Status.
    Status(Status),
    /// Shutting down.
    ShuttingDown,
    /// Ledger status.
    LedgerStatus(fengxin_consensus::LedgerStatus),
    /// A block.
    LedgerBlock(BlockView),
    /// Receipts.
    Receipts(ReceiptsView),
    /// Publications submitted.
    Published(Vec<crate::publish::Published>),
    /// Credits.
    Credits(CreditsView),
    /// Motions.
    Motions(Vec<MotionView>),
    /// The regulator's audit.
    Audit(crate::audit::AuditReport),
    /// Records submitted (their ids, hex).
    Submitted(Vec<String>),
    /// The request failed.
    Error {
        /// Stable kind.
        kind: String,
        /// Details.
        message: String,
    },
}

/// Why the local API could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The node is not running or the socket is not reachable.
    #[error("{path}: {source} (is `fengxin-node run` running?)")]
    Unreachable {
        /// The socket.
        path: std::path::PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The connection failed mid-call.
    #[error("local API: {0}")]
    Io(#[from] std::io::Error),
    /// The node's reply does not decode.
    #[error("bad reply from the node: {0}")]
    Reply(String),
}

/// One request/response over the node's local socket (blocking).
pub fn call(data_dir: &std::path::Path, request: &ApiRequest) -> Result<ApiResponse, CallError> {
    use std::io::{BufRead, Write};
    let path = data_dir.join(SOCKET);
    let mut stream = std::os::unix::net::UnixStream::connect(&path)
        .map_err(|source| CallError::Unreachable { path, source })?;
    let mut line = serde_json::to_string(request).map_err(|e| CallError::Reply(e.to_string()))?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut reply = String::new();
    std::io::BufReader::new(stream).read_line(&mut reply)?;
    serde_json::from_str(&reply).map_err(|e| CallError::Reply(e.to_string()))
}

/// A committed block, as `fengxin ledger block` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Block hash (hex).
    pub hash: String,
    /// Previous block hash (hex).
    pub prev_hash: String,
    /// The proposing validator.
    pub proposer: String,
    /// The consensus term.
    pub term: u64,
    /// Proposer's clock, ms since the Unix epoch.
    pub proposed_at_ms: u64,
    /// Records proposed (some may have been rejected).
    pub proposed: usize,
    /// The accepted records.
    pub records: Vec<RecordView>,
}

/// One record in a block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordView {
    /// Record id (hex).
    pub id: String,
    /// Kind: publication, receipt, feedback, motion, vote.
    pub kind: String,
    /// Author.
    pub author: String,
    /// The public content.
    pub summary: serde_json::Value,
}

/// `fengxin receipts` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptsView {
    /// This member.
    pub member: MemberName,
    /// The ledger height the list was read at.
    pub height: u64,
    /// Receipts this member is party to, oldest first.
    pub receipts: Vec<ReceiptView>,
}

/// One receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiptView {
    /// Receipt id (hex).
    pub id: String,
    /// Block height.
    pub height: u64,
    /// Querier.
    pub querier: MemberName,
    /// Responder.
    pub responder: MemberName,
    /// List.
    pub list: String,
    /// Epoch.
    pub epoch: u64,
    /// Identifiers screened.
    pub count: u32,
    /// `confirmed` / `false_positive` once the querier gave feedback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<String>,
}

/// `fengxin credits` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditsView {
    /// This member.
    pub member: MemberName,
    /// Ledger height the figures were read at.
    pub height: u64,
    /// Current credit epoch.
    pub epoch: u64,
    /// Credit balance.
    pub balance: i64,
    /// Quality weight, per mille.
    pub quality: u32,
    /// This epoch's allowance (identifiers), known only to the member and the regulator.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowance: Option<u64>,
    /// Identifiers claimed against this epoch's allowance.
    pub used: u64,
    /// Allowance left this epoch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remaining: Option<u64>,
    /// Every change to the balance, oldest first.
    pub history: Vec<fengxin_ledger::CreditEntry>,
    /// The height since which this member's screening is suspended (equivocation), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_since: Option<u64>,
}

/// A governance motion as `fengxin council motions` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MotionView {
    /// Motion id (hex): what votes name.
    pub id: String,
    /// Who proposed it.
    pub proposer: String,
    /// What it does.
    pub action: fengxin_ledger::MotionAction,
    /// The note.
    pub note: String,
    /// Members in favour.
    pub approve: Vec<String>,
    /// Members against.
    pub reject: Vec<String>,
    /// `open`, `carried` or `failed`.
    pub status: String,
    /// Why a motion that gathered its majority was closed without effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void: Option<String>,
}
