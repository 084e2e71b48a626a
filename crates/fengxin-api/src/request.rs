//! What the node's tools ask it, and how requests and responses travel on the local socket.

use crate::error::{ApiError, ErrorKind};
use crate::hex::{ListRoot, RecordId};
use crate::views::{
    AuditReport, BatchScreenReport, BlockView, CreditsView, Feedback, LedgerStatus, MotionView,
    Published, ReceiptsView, RootView, SampleReport, ScreenReport, Status,
};
use fengxin_types::{Epoch, IdType, ListId, MemberName};
use serde::{Deserialize, Serialize};

/// The wire version of [`RequestFrame`] and [`ResponseFrame`]. A node refuses a request of
/// another version with [`ErrorKind::UnsupportedVersion`]; a tool refuses such a reply.
pub const WIRE_VERSION: u32 = 1;

/// A request to the node. Not `#[non_exhaustive]`: the node answers every request, so a new
/// one is a compile error in its handler until it is answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ApiRequest {
    /// Screen one identifier against every other member (or a chosen set).
    Screen {
        /// Identifier type.
        id_type: IdType,
        /// The identifier as entered (canonicalised by the node; never logged or stored).
        identifier: String,
        /// Only this list.
        #[serde(default)]
        list: Option<ListId>,
        /// Only these members.
        #[serde(default)]
        members: Option<Vec<MemberName>>,
        /// The querier's case reference, sealed to the regulator with the receipt's details.
        #[serde(default)]
        case_reference: Option<String>,
    },
    /// Screen many identifiers of one type in one exchange per (member, list).
    ScreenBatch {
        /// Identifier type.
        id_type: IdType,
        /// The identifiers as entered.
        identifiers: Vec<String>,
        /// Only this list.
        #[serde(default)]
        list: Option<ListId>,
        /// Only these members.
        #[serde(default)]
        members: Option<Vec<MemberName>>,
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
        /// The motion.
        motion: RecordId,
        /// In favour or against.
        approve: bool,
    },
    /// The ledger's motions, open and decided.
    Motions,
    /// Feedback on the hits of one of this member's receipts.
    Feedback {
        /// The receipt.
        receipt: RecordId,
        /// The querier's verdict.
        verdict: Feedback,
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
    /// What the ledger says of a root: who published it for (list, epoch) and whether it is
    /// attested.
    Root {
        /// The list.
        list: ListId,
        /// The epoch.
        epoch: Epoch,
        /// The root.
        root: ListRoot,
    },
    /// Regulator only: ask a member to open a random sample of a list's tags (the identifier
    /// behind each, with a proof under the published OPRF key that the tag derives from it).
    /// The regulator learns the sampled identifiers.
    Openings {
        /// The member.
        member: MemberName,
        /// The list (its current publication is sampled).
        list: ListId,
        /// How many tags (at most 1,024).
        count: u32,
    },
    /// Stop the daemon gracefully.
    Shutdown,
}

/// A response from the node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
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
    LedgerStatus(LedgerStatus),
    /// A block.
    LedgerBlock(BlockView),
    /// Receipts.
    Receipts(ReceiptsView),
    /// Publications submitted.
    Published(Vec<Published>),
    /// Credits.
    Credits(CreditsView),
    /// Motions.
    Motions(Vec<MotionView>),
    /// The regulator's audit.
    Audit(AuditReport),
    /// Records submitted.
    Submitted(Vec<RecordId>),
    /// A root as the ledger knows it.
    Root(RootView),
    /// A sampled opening's findings.
    Openings(SampleReport),
    /// The request failed.
    Error(ApiError),
}

impl ApiResponse {
    /// A failure of the given kind.
    pub fn error(kind: ErrorKind, message: impl std::fmt::Display) -> Self {
        ApiResponse::Error(ApiError::new(kind, message.to_string()))
    }
}

/// A request as it travels: `{"v": 1, "request": {"op": ..., ...}}`, one per line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestFrame {
    /// [`WIRE_VERSION`].
    pub v: u32,
    /// The request.
    pub request: ApiRequest,
}

/// A response as it travels: `{"v": 1, "response": {...}}`, one per line, with
/// `"development": true` from a node of a development consortium.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFrame {
    /// [`WIRE_VERSION`].
    pub v: u32,
    /// The response.
    pub response: ApiResponse,
    /// The node belongs to a development consortium (public circuit keys: its proofs can be
    /// forged); tools say so on every output.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub development: bool,
}

/// A decoded response line: the response and whether the node is a development one.
#[derive(Debug, Clone, PartialEq)]
pub struct Reply {
    /// The response.
    pub response: ApiResponse,
    /// See [`ResponseFrame::development`].
    pub development: bool,
}

/// Only the version of a frame, read before the rest so that a frame of another version is
/// refused for its version, not for a field it may have added.
#[derive(Deserialize)]
struct VersionOnly {
    v: u32,
}

/// Reads a frame's version first, then the frame: a frame of another version is refused for its
/// version ([`ErrorKind::UnsupportedVersion`]), a line that does not decode with `bad`.
fn decode_frame<F: serde::de::DeserializeOwned>(
    line: &str,
    bad: ErrorKind,
    what: &str,
    us: &str,
) -> Result<F, ApiError> {
    let bad_line = |e: serde_json::Error| ApiError::new(bad.clone(), format!("{what}: {e}"));
    let version: VersionOnly = serde_json::from_str(line).map_err(bad_line)?;
    if version.v != WIRE_VERSION {
        return Err(ApiError::new(
            ErrorKind::UnsupportedVersion,
            format!(
                "{what} of wire version {}; {us} speaks version {WIRE_VERSION}",
                version.v
            ),
        ));
    }
    serde_json::from_str(line).map_err(bad_line)
}

/// Decodes one request line: the request, or the error to send back.
pub fn decode_request(line: &str) -> Result<ApiRequest, ApiError> {
    decode_frame::<RequestFrame>(
        line,
        ErrorKind::BadRequest,
        "request frame {\"v\", \"request\"}",
        "this node",
    )
    .map(|f| f.request)
}

/// Encodes one response line (with its newline).
pub fn encode_response(response: ApiResponse) -> String {
    encode_reply(response, false)
}

/// Encodes one response line (with its newline), marked as a development node's if so.
pub fn encode_reply(response: ApiResponse, development: bool) -> String {
    let frame = ResponseFrame {
        v: WIRE_VERSION,
        response,
        development,
    };
    let mut text = serde_json::to_string(&frame).unwrap_or_else(|e| {
        serde_json::json!({
            "v": WIRE_VERSION,
            "response": {"error": {"kind": "internal", "message": format!("encoding the reply: {e}")}}
        })
        .to_string()
    });
    text.push('\n');
    text
}

/// Decodes one response line.
pub fn decode_response(line: &str) -> Result<ApiResponse, ApiError> {
    decode_reply(line).map(|r| r.response)
}

/// Decodes one response line with its development mark.
pub fn decode_reply(line: &str) -> Result<Reply, ApiError> {
    decode_frame::<ResponseFrame>(
        line,
        ErrorKind::Protocol,
        "reply from the node",
        "this tool",
    )
    .map(|f| Reply {
        response: f.response,
        development: f.development,
    })
}

/// Encodes one request line (with its newline).
pub fn encode_request(request: &ApiRequest) -> Result<String, ApiError> {
    let frame = RequestFrame {
        v: WIRE_VERSION,
        request: request.clone(),
    };
    let mut text = serde_json::to_string(&frame)
        .map_err(|e| ApiError::new(ErrorKind::Internal, e.to_string()))?;
    text.push('\n');
    Ok(text)
}
