//! What the node answers: screening results, status, ledger, receipts, credits, motions,
//! publications, proofs and the regulator's audit. These are also the JSON the `fengxin` and
//! `fengxin-node` commands print with `--json` (docs/cli.md).

use crate::error::ScreenErrorKind;
use crate::hex::{BlockHash, ChainId, Digest, HexBytes, ListRoot, Nonce, OprfPublicKey, RecordId};
use fengxin_types::{Epoch, IdType, ListId, MemberName, Tag};
use serde::{Deserialize, Serialize};

/// A verified answer about one identifier: on the list, or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// On the list.
    Hit,
    /// Not on the list.
    Miss,
}

impl Verdict {
    /// `Hit` for true.
    pub fn from_hit(hit: bool) -> Self {
        if hit {
            Verdict::Hit
        } else {
            Verdict::Miss
        }
    }

    /// Whether it is a hit.
    pub fn is_hit(self) -> bool {
        self == Verdict::Hit
    }

    /// `hit` or `miss`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Hit => "hit",
            Verdict::Miss => "miss",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The querier's feedback on a receipt's hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Feedback {
    /// The querier's own investigation confirmed the hits.
    Confirmed,
    /// The hits were false positives.
    FalsePositive,
}

impl Feedback {
    /// `confirmed` or `false_positive`.
    pub fn as_str(self) -> &'static str {
        match self {
            Feedback::Confirmed => "confirmed",
            Feedback::FalsePositive => "false_positive",
        }
    }
}

impl std::str::FromStr for Feedback {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "confirmed" => Ok(Feedback::Confirmed),
            "false_positive" | "false-positive" => Ok(Feedback::FalsePositive),
            other => Err(format!(
                "verdict must be confirmed or false_positive, not {other:?}"
            )),
        }
    }
}

impl From<Feedback> for fengxin_ledger::Verdict {
    fn from(f: Feedback) -> Self {
        match f {
            Feedback::Confirmed => fengxin_ledger::Verdict::Confirmed,
            Feedback::FalsePositive => fengxin_ledger::Verdict::FalsePositive,
        }
    }
}

impl From<fengxin_ledger::Verdict> for Feedback {
    fn from(v: fengxin_ledger::Verdict) -> Self {
        match v {
            fengxin_ledger::Verdict::Confirmed => Feedback::Confirmed,
            fengxin_ledger::Verdict::FalsePositive => Feedback::FalsePositive,
        }
    }
}

/// How an answer was learnt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScreenMode {
    /// The responder proved each answer against its published root (Groth16).
    Proof,
    /// The querier looked the evaluated tag up in the responder's verified snapshot, which
    /// this node holds.
    Snapshot,
}

impl ScreenMode {
    /// `proof` or `snapshot`.
    pub fn as_str(self) -> &'static str {
        match self {
            ScreenMode::Proof => "proof",
            ScreenMode::Snapshot => "snapshot",
        }
    }
}

/// What a hit's entry says about itself: the label the listing member attached to it,
/// decrypted with a key only the hit's querier can derive (snapshot mode).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HitLabel {
    /// The entry's reason code (at most 28 bytes of the list's `reason`; empty if none).
    pub reason: String,
    /// The day the entry was added (YYYY-MM-DD), if the list gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_on: Option<String>,
}

/// Why a member gave no verified answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScreenError {
    /// The stable kind.
    pub kind: ScreenErrorKind,
    /// A stable code within the kind (see [`ScreenErrorKind`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Details.
    pub message: String,
}

/// One (member, list) answer to a screening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenResult {
    /// The responder.
    pub member: MemberName,
    /// The list (null if the member publishes none, or not the one asked for).
    #[serde(default)]
    pub list: Option<ListId>,
    /// Only when verified; null otherwise (never a miss by default).
    #[serde(default)]
    pub result: Option<Verdict>,
    /// Whether the answer's proofs verified against the published root and key.
    pub verified: bool,
    /// How the answer was learnt (null when nothing was asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ScreenMode>,
    /// The entry's label, on a hit in snapshot mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<HitLabel>,
    /// Whether the regulator attested the published root the answer is for (null when no
    /// list was screened). An answer against a refuted root is never a result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_status: Option<RootStatus>,
    /// What went wrong, when no verified answer exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ScreenError>,
    /// Wall time of this member's exchange, milliseconds.
    pub latency_ms: f64,
}

/// `fengxin screen` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScreenReport {
    /// The identifier type.
    pub identifier_type: IdType,
    /// One entry per (member, list).
    pub results: Vec<ScreenResult>,
    /// Answered by a development consortium: its circuit keys are public, so its proofs can
    /// be forged and its "verified" means nothing. Absent otherwise.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub development: bool,
}

/// One (member, list) answer to a batch screening.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchScreenResult {
    /// The responder.
    pub member: MemberName,
    /// The list (null if the member publishes none, or not the one asked for).
    #[serde(default)]
    pub list: Option<ListId>,
    /// Positions (from 0) of the identifiers that hit; meaningful only when verified.
    pub hits: Vec<usize>,
    /// Whether every answer's proof verified.
    pub verified: bool,
    /// How the answers were learnt (null when nothing was asked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<ScreenMode>,
    /// In snapshot mode, the label of each hit, in the order of `hits` (empty otherwise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<HitLabel>,
    /// As [`ScreenResult::root_status`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_status: Option<RootStatus>,
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
    pub identifier_type: IdType,
    /// Identifiers screened.
    pub count: usize,
    /// One entry per (member, list).
    pub results: Vec<BatchScreenResult>,
    /// As [`ScreenReport::development`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub development: bool,
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
    /// Of those, the ones whose root the regulator attested.
    #[serde(default)]
    pub attested: usize,
    /// Other members' verified snapshots this node holds (snapshot-mode screening).
    #[serde(default)]
    pub held_snapshots: usize,
    /// A development consortium (public circuit keys: proofs can be forged).
    #[serde(default)]
    pub development: bool,
}

/// A node's part in ordering the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LedgerRole {
    /// Orders the ledger this term.
    Leader,
    /// A voter following the leader.
    Follower,
    /// A voter standing for election.
    Candidate,
    /// A non-voting replica (the regulator).
    Learner,
    /// Stopped.
    Stopped,
}

impl LedgerRole {
    /// `leader`, `follower`, `candidate`, `learner` or `stopped`.
    pub fn as_str(self) -> &'static str {
        match self {
            LedgerRole::Leader => "leader",
            LedgerRole::Follower => "follower",
            LedgerRole::Candidate => "candidate",
            LedgerRole::Learner => "learner",
            LedgerRole::Stopped => "stopped",
        }
    }
}

/// `fengxin ledger status` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerStatus {
    /// This node.
    pub node: MemberName,
    /// Committed height.
    pub height: u64,
    /// Hash of the block at that height (the chain id at height 0).
    pub block_hash: BlockHash,
    /// The chain id.
    pub chain_id: ChainId,
    /// This node's role.
    pub role: LedgerRole,
    /// The current leader, if known.
    pub leader: Option<MemberName>,
    /// The consensus term.
    pub term: u64,
    /// Voting validators.
    pub validators: Vec<MemberName>,
    /// Non-voting replicas.
    pub learners: Vec<MemberName>,
    /// Records submitted by this node and not yet committed.
    pub outbox: usize,
}

/// A committed block, as `fengxin ledger block` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BlockView {
    /// Height.
    pub height: u64,
    /// Block hash.
    pub hash: BlockHash,
    /// Previous block hash.
    pub prev_hash: BlockHash,
    /// The proposing validator.
    pub proposer: MemberName,
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
    /// Record id.
    pub id: RecordId,
    /// Kind: `publication`, `receipt`, `details`, `list_size`, `attestation`, `settlement`,
    /// `feedback`, `motion` or `vote`.
    pub kind: String,
    /// Author.
    pub author: MemberName,
    /// The public content, per kind.
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
    /// Receipt id.
    pub id: RecordId,
    /// Block height.
    pub height: u64,
    /// Querier.
    pub querier: MemberName,
    /// Responder.
    pub responder: MemberName,
    /// List.
    pub list: ListId,
    /// Epoch.
    pub epoch: Epoch,
    /// Identifiers screened.
    pub count: u32,
    /// The querier's feedback, once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feedback: Option<Feedback>,
}

/// One change to a member's credits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditChange {
    /// Block height (0 = genesis).
    pub height: u64,
    /// The record behind the change (none for the genesis grant).
    pub record: Option<RecordId>,
    /// Change.
    pub delta: i64,
    /// Balance after.
    pub balance: i64,
    /// Why.
    pub reason: String,
}

impl From<&fengxin_ledger::CreditEntry> for CreditChange {
    fn from(e: &fengxin_ledger::CreditEntry) -> Self {
        Self {
            height: e.height,
            record: e.record.map(RecordId),
            delta: e.delta,
            balance: e.balance,
            reason: e.reason.clone(),
        }
    }
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
    pub history: Vec<CreditChange>,
    /// The height since which this member's screening is suspended (equivocation), if it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suspended_since: Option<u64>,
}

/// Where a motion stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MotionStatus {
    /// Votes are still being counted.
    Open,
    /// Carried by at least 2/3 of the members.
    Carried,
    /// Rejected.
    Failed,
}

impl MotionStatus {
    /// `open`, `carried` or `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            MotionStatus::Open => "open",
            MotionStatus::Carried => "carried",
            MotionStatus::Failed => "failed",
        }
    }
}

/// A governance motion as `fengxin council motions` prints it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MotionView {
    /// Motion id: what votes name.
    pub id: RecordId,
    /// Who proposed it.
    pub proposer: MemberName,
    /// What it does.
    pub action: fengxin_ledger::MotionAction,
    /// The note.
    pub note: String,
    /// Members in favour.
    pub approve: Vec<MemberName>,
    /// Members against.
    pub reject: Vec<MemberName>,
    /// Where it stands.
    pub status: MotionStatus,
    /// Why a motion that gathered its majority was closed without effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub void: Option<String>,
}

/// One line of `lists publish` output.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The list.
    pub list: ListId,
    /// The epoch.
    pub epoch: Epoch,
    /// Root.
    pub root: ListRoot,
    /// OPRF public key.
    pub oprf_public_key: OprfPublicKey,
    /// Whether queriers may hold the list's snapshot (`shared`) or only ask for proofs
    /// (`proof_only`).
    pub policy: fengxin_types::ListPolicy,
    /// The snapshot's size class (entries, real and dummy), for a shared list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_entries: Option<u64>,
}

/// `fengxin-node prove` output, which `fengxin verify` checks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProveOutput {
    /// The list (the prover's claim: the proof does not bind it).
    pub list: ListId,
    /// The epoch (the prover's claim).
    pub epoch: Epoch,
    /// Root.
    pub root: ListRoot,
    /// Tag.
    pub tag: Tag,
    /// Hit or miss.
    pub result: Verdict,
    /// Encoded Groth16 proof.
    pub proof: HexBytes,
}

/// What the regulator reads of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditDetails {
    /// The tags asked about.
    pub tags: Vec<Tag>,
    /// Per tag, as screening says it.
    pub results: Vec<Verdict>,
    /// The request nonce.
    pub nonce: Nonce,
    /// Digest of the blinded request.
    pub request_digest: Digest,
    /// Digest of the answer.
    pub answer_digest: Digest,
    /// The querier's case reference, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<String>,
    /// In snapshot mode, the number of hits (the details carry counts only, no tags).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<u64>,
}

/// One decrypted receipt.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// Block height.
    pub height: u64,
    /// Receipt id.
    pub receipt: RecordId,
    /// Querier.
    pub querier: MemberName,
    /// Responder.
    pub responder: MemberName,
    /// List.
    pub list: ListId,
    /// Identifiers.
    pub count: u32,
    /// The decrypted details.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<AuditDetails>,
    /// Why the details could not be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One list's decrypted size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ListSizeAudit {
    /// List.
    pub list: ListId,
    /// Decrypted entry count.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Why it could not be decrypted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Whether the regulator attested the publication this size is for.
    pub root_status: RootStatus,
    /// The size that counts toward the allowance (the last attested one of the list, which
    /// is this one once attested); null if none counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counted: Option<u64>,
}

/// Per-member figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberAudit {
    /// Member.
    pub member: MemberName,
    /// Receipts as querier.
    pub queries_made: u64,
    /// Identifiers screened.
    pub identifiers_screened: u64,
    /// Distinct tags screened (per responder key).
    pub distinct_tags: u64,
    /// Hits among them.
    pub hits_received: u64,
    /// Receipts as responder.
    pub queries_served: u64,
    /// Identifiers answered.
    pub identifiers_served: u64,
    /// Hits answered.
    pub hits_served: u64,
    /// Confirmed hits reported about its answers.
    pub confirmed: u64,
    /// False positives reported about its answers.
    pub false_positives: u64,
    /// Credit balance.
    pub balance: i64,
    /// Quality weight (per mille).
    pub quality: u32,
    /// Decrypted list sizes.
    pub list_sizes: Vec<ListSizeAudit>,
    /// Allowance per epoch from the decrypted sizes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowance: Option<u64>,
}

impl MemberAudit {
    /// A member with no figures yet.
    pub fn new(member: MemberName) -> Self {
        Self {
            member,
            queries_made: 0,
            identifiers_screened: 0,
            distinct_tags: 0,
            hits_received: 0,
            queries_served: 0,
            identifiers_served: 0,
            hits_served: 0,
            confirmed: 0,
            false_positives: 0,
            balance: 0,
            quality: 0,
            list_sizes: Vec::new(),
            allowance: None,
        }
    }
}

impl FlagRule {
    /// `enumeration`, `fishing`, `equivocation`, `inconsistent_details` or `snapshot_fault`.
    pub fn as_str(self) -> &'static str {
        match self {
            FlagRule::Enumeration => "enumeration",
            FlagRule::Fishing => "fishing",
            FlagRule::Equivocation => "equivocation",
            FlagRule::InconsistentDetails => "inconsistent_details",
            FlagRule::SnapshotFault => "snapshot_fault",
        }
    }
}

/// The audit rule that fired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagRule {
    /// Far more distinct tags than the peers' median.
    Enumeration,
    /// A hit rate against one responder far below the member's rate elsewhere.
    Fishing,
    /// Overlapping allowance claims signed by the member.
    Equivocation,
    /// Sealed details that do not match their receipt (digests, counts) or whose answers do
    /// not verify against the published root: the querier sealed something it did not see.
    InconsistentDetails,
    /// Evidence on the ledger that the member's snapshot is not the one its publication
    /// commits to.
    SnapshotFault,
}

/// A rule that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    /// The rule.
    pub rule: FlagRule,
    /// The member it is about.
    pub member: MemberName,
    /// The responder, for `fishing` and `inconsistent_details`; for `snapshot_fault`, the
    /// member that reported it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder: Option<MemberName>,
    /// The figures that made it fire.
    pub evidence: String,
}

/// `fengxin audit` output.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditReport {
    /// Ledger height read.
    pub height: u64,
    /// First height covered.
    pub from: u64,
    /// Last height covered.
    pub to: u64,
    /// Decrypted receipts, oldest first.
    pub records: Vec<AuditRecord>,
    /// Per member.
    pub members: Vec<MemberAudit>,
    /// Rules that fired.
    pub flags: Vec<Flag>,
}

/// A row that was not stored, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Rejection {
    /// Row number, from 1 at the first data row.
    pub row: u64,
    /// The field at fault (`identifier`, `reason`, `added_on`, `source_ref`, or `row` for the
    /// row as a whole).
    pub field: String,
    /// Why.
    pub reason: String,
}

/// `lists import` result, in the shape of the CLI's JSON output.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ImportReport {
    /// The list.
    pub list: ListId,
    /// Entries stored.
    pub accepted: u64,
    /// Valid rows whose identifier was already stored (or repeated in the file): stored once.
    pub duplicates: u64,
    /// Rows not stored.
    pub rejected: Vec<Rejection>,
}

/// `lists remove` result, in the same shape as [`ImportReport`] (with two extra counts).
///
/// Every data row is counted exactly once: `accepted + duplicates + not_found +
/// rejected.len()` is the number of data rows, as `accepted + duplicates + rejected.len()` is
/// for an import.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RemoveReport {
    /// The list.
    pub list: ListId,
    /// Rows whose entry was removed (one per entry removed).
    pub accepted: u64,
    /// Rows repeating an identifier already removed by an earlier row of this file.
    pub duplicates: u64,
    /// Entries removed (equal to `accepted`).
    pub removed: u64,
    /// Rows with a valid identifier that was not on the list.
    pub not_found: u64,
    /// Rows not processed: the identifier is missing or invalid.
    pub rejected: Vec<Rejection>,
}

/// What the ledger says of a published root: whether the regulator has checked the tree
/// behind it (docs/attestation.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RootStatus {
    /// The regulator rebuilt the tree from the member's sealed tags and found it well formed,
    /// with as many real entries as the committed size.
    Attested,
    /// Published; not attested or refuted yet.
    Pending,
    /// The regulator found the tree or the size false: answers against it are misbehaviour.
    Refuted,
}

impl RootStatus {
    /// The status as the JSON says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Attested => "attested",
            Self::Pending => "pending",
            Self::Refuted => "refuted",
        }
    }
}

impl std::fmt::Display for RootStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `root` request: a root as the ledger knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootView {
    /// The list asked about.
    pub list: ListId,
    /// The epoch asked about.
    pub epoch: Epoch,
    /// The root asked about.
    pub root: ListRoot,
    /// The members whose publication of (list, epoch) has this root (empty: the ledger holds
    /// no such publication).
    pub published_by: Vec<RootPublication>,
}

/// One member's publication of a root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RootPublication {
    /// The publishing member.
    pub member: MemberName,
    /// Height of the block that holds the publication.
    pub height: u64,
    /// Whether it is still the member's current publication of the list.
    pub current: bool,
    /// The regulator's finding.
    pub status: RootStatus,
    /// The regulator that attested or refuted it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regulator: Option<MemberName>,
    /// Why it was refuted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `sample` output: a regulator's sampled check of a member's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampleReport {
    /// The member.
    pub member: MemberName,
    /// The list.
    pub list: ListId,
    /// The publication sampled.
    pub epoch: Epoch,
    /// Its root.
    pub root: ListRoot,
    /// Entries in the sealed layout (leaves besides the sentinel).
    pub entries: u64,
    /// Tags sampled.
    pub sampled: usize,
    /// Sampled tags the member opened to an identifier whose tag, recomputed from a verified
    /// evaluation under the published key, is the sampled one.
    pub verified: usize,
    /// One per sampled tag.
    pub openings: Vec<SampledOpening>,
}

/// One sampled tag and what its opening showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SampledOpening {
    /// The tag, hex.
    pub tag: String,
    /// The identifier type the member opened it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier_type: Option<String>,
    /// The identifier (canonical form) the member opened it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<String>,
    /// Whether the identifier's verified tag is the sampled one.
    pub verified: bool,
    /// Why not, when not verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
