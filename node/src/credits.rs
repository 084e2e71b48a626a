//! The member's side of the confidential counters: committing list sizes, keeping their
//! openings (owner-only), and building the allowance claim and sealed details of each receipt.

use crate::datadir::DataDir;
use curve25519_dalek::Scalar;
use fengxin_confidential::{
    labels as clabels, prove_range_with_context, seal_details, CommittedCount, Opening,
    SealedDetails, ViewPublicKey,
};
use fengxin_ledger::credits::{allowance_context, list_size_context};
use fengxin_ledger::{AllowanceClaim, LedgerState, ListSize, Record, RecordBody};
use fengxin_types::{ListId, MemberName};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The owner-only file holding the openings of this member's size commitments.
pub const SIZES_FILE: &str = "sizes.secret.json";

#[derive(Debug, Clone, Serialize, Deserialize)]
struct SizeOpening {
    list: ListId,
    value: u64,
    blinding: String,
}

/// Openings by commitment (hex).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SizeOpenings(BTreeMap<String, SizeOpening>);

/// Why a list-size commitment or its openings could not be made, read or kept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SizeError {
    /// The data directory could not be read or written.
    #[error(transparent)]
    DataDir(#[from] crate::datadir::DataDirError),
    /// The openings file does not decode.
    #[error("{SIZES_FILE}: {0}")]
    Decode(#[source] serde_json::Error),
    /// The openings could not be encoded.
    #[error("encoding {SIZES_FILE}: {0}")]
    Encode(#[source] serde_json::Error),
    /// A commitment could not be made.
    #[error("{list}: {reason}")]
    Commit {
        /// The list.
        list: ListId,
        /// Why.
        reason: String,
    },
}

impl SizeOpenings {
    /// Reads the file (empty if absent).
    pub fn load(dir: &DataDir) -> Result<Self, SizeError> {
        match dir.read_private(SIZES_FILE)? {
            None => Ok(Self::default()),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(SizeError::Decode),
        }
    }

    fn save(&self, dir: &DataDir) -> Result<(), SizeError> {
        let bytes = serde_json::to_vec_pretty(self).map_err(SizeError::Encode)?;
        dir.write_private(SIZES_FILE, &bytes)?;
        Ok(())
    }

    fn opening(&self, commitment_hex: &str) -> Option<Opening> {
        let o = self.0.get(commitment_hex)?;
        let bytes: [u8; 32] = hex::decode(&o.blinding).ok()?.try_into().ok()?;
        let blinding = Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes))?;
        Some(Opening {
            value: o.value,
            blinding,
        })
    }

    /// The opening of `member`'s allowance as the ledger computes it, if every committed size
    /// on the ledger is one of ours.
    pub fn allowance(&self, state: &LedgerState, member: &MemberName) -> Option<Opening> {
        let p = state.params();
        let mut sum = Opening::public(0);
        for (_, st) in state.counted_sizes(member) {
            sum = sum.add(&self.opening(&st.size.commitment.to_hex())?).ok()?;
        }
        Opening::public(p.base_allowance)
            .add(&sum.mul_u64(p.allowance_per_entry).ok()?)
            .ok()
    }

    /// The allowance's value (what `fengxin credits` shows the member itself).
    pub fn allowance_value(&self, state: &LedgerState, member: &MemberName) -> Option<u64> {
        self.allowance(state, member).map(|o| o.value)
    }
}

/// One published list whose size is to be committed.
#[derive(Debug, Clone)]
pub struct SizeOf {
    /// The list.
    pub list: ListId,
    /// The publication epoch.
    pub epoch: fengxin_types::Epoch,
    /// The published root.
    pub root: [u8; 32],
    /// The list's entries in that epoch.
    pub entries: u64,
}

/// Size commitments, bound to their publication, for every published list whose publication
/// has none on the ledger yet, with their openings saved first. Empty without a regulator key.
pub fn size_records(
    dir: &DataDir,
    state: &LedgerState,
    member: &MemberName,
    identity: &fengxin_crypto::IdentityKey,
    lists: &[SizeOf],
) -> Result<Vec<Record>, SizeError> {
    let Some(view) = state.view_key().copied() else {
        return Ok(Vec::new());
    };
    let mut openings = SizeOpenings::load(dir)?;
    let chain = state.chain_id();
    let mut records = Vec::new();
    for l in lists {
        if state
            .size_record(member, &l.list)
            .is_some_and(|s| s.epoch >= l.epoch)
        {
            continue;
        }
        let (size, opening) = CommittedCount::new(
            l.entries,
            &view.elgamal(),
            &list_size_context(&chain, member, &l.list, l.epoch, &l.root),
            &mut rand_core::OsRng,
        )
        .map_err(|e| SizeError::Commit {
            list: l.list.clone(),
            reason: e.to_string(),
        })?;
        openings.0.insert(
            size.commitment.to_hex(),
            SizeOpening {
                list: l.list.clone(),
                value: opening.value,
                blinding: hex::encode(opening.blinding.to_bytes()),
            },
        );
        records.push(Record::sign(
            chain,
            member.clone(),
            identity,
            RecordBody::ListSize(Box::new(ListSize {
                list: l.list.clone(),
                epoch: l.epoch,
                root: l.root,
                size,
            })),
        ));
    }
    if !records.is_empty() {
        openings.save(dir)?;
    }
    Ok(records)
}

/// Builds the allowance claim for `count` more identifiers in the current epoch, given the
/// highest usage already claimed (locally or on the ledger). `Err` when over allowance.
pub fn claim(
    openings: &SizeOpenings,
    state: &LedgerState,
    member: &MemberName,
    count: u32,
    claimed: u64,
) -> Result<AllowanceClaim, String> {
    let epoch = state.current_epoch();
    let Some(allowance) = openings.allowance(state, member) else {
        return Err("the openings of this member's committed list sizes are missing".into());
    };
    let used_after = claimed.max(state.claimed(member, epoch)) + u64::from(count);
    let remaining = allowance.sub(&Opening::public(used_after)).map_err(|_| {
        format!(
            "over allowance: {used_after} identifiers in epoch {epoch}, allowance {}",
            allowance.value
        )
    })?;
    let proof = prove_range_with_context(
        &remaining,
        64,
        clabels::ALLOWANCE_RANGE_PROOF,
        &allowance_context(&state.chain_id(), member, epoch, used_after, count),
        &mut rand_core::OsRng,
    )
    .map_err(|e| e.to_string())?;
    Ok(AllowanceClaim {
        epoch,
        used_after,
        proof,
    })
}

/// What the regulator reads of a receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptDetails {
    /// The tags asked about (hex).
    pub tags: Vec<String>,
    /// Hit (true) or miss, per tag.
    pub results: Vec<bool>,
    /// The request nonce (hex).
    pub nonce: String,
    /// Request digest (hex).
    pub request_digest: String,
    /// Answer digest (hex).
    pub answer_digest: String,
    /// The querier's case reference, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_reference: Option<String>,
    /// The blinded elements sent (hex), whose digest the querier signed in the request.
    #[serde(default)]
    pub blinded: Vec<String>,
    /// The responder's evaluations (hex), whose digest with the DLEQ proof it countersigned.
    #[serde(default)]
    pub evaluated: Vec<String>,
    /// The DLEQ proof of the evaluations (hex).
    #[serde(default)]
    pub dleq_proof: String,
    /// Each answer's membership proof (hex), in tag order.
    #[serde(default)]
    pub proofs: Vec<String>,
    /// In snapshot mode, how many identifiers hit the held snapshot. A snapshot-mode receipt's
    /// details carry counts only (the responder saw no tag; the tags, blinded elements and
    /// evaluations stay with the querier), so the regulator's figures for it rest on counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hits: Option<u64>,
}

impl ReceiptDetails {
    /// The details of a completed exchange, with the evidence that lets the regulator
    /// recompute the receipt's digests and re-verify every answer.
    pub fn of(exchange: &fengxin_protocol::Exchange, case_reference: Option<&str>) -> Self {
        let receipt = &exchange.receipt;
        let e = &exchange.evidence;
        Self {
            tags: exchange
                .answers
                .iter()
                .map(|a| a.tag().to_string())
                .collect(),
            results: exchange.answers.iter().map(|a| a.hit()).collect(),
            nonce: hex::encode(receipt.request.request.nonce),
            request_digest: hex::encode(receipt.id()),
            answer_digest: hex::encode(receipt.answer_digest),
            case_reference: case_reference.map(str::to_owned),
            blinded: e.blinded.iter().map(hex::encode).collect(),
            evaluated: e.evaluated.iter().map(hex::encode).collect(),
            dleq_proof: hex::encode(&e.dleq_proof),
            proofs: e.proofs.iter().map(hex::encode).collect(),
            hits: None,
        }
    }

    /// The details of a snapshot-mode exchange: its digests, the number of hits and the case
    /// reference.
    pub fn of_snapshot(
        exchange: &fengxin_protocol::SnapshotExchange,
        hits: u64,
        case_reference: Option<&str>,
    ) -> Self {
        let receipt = &exchange.receipt;
        Self {
            tags: Vec::new(),
            results: Vec::new(),
            nonce: hex::encode(receipt.request.request.nonce),
            request_digest: hex::encode(receipt.id()),
            answer_digest: hex::encode(receipt.answer_digest),
            case_reference: case_reference.map(str::to_owned),
            blinded: Vec::new(),
            evaluated: Vec::new(),
            dleq_proof: String::new(),
            proofs: Vec::new(),
            hits: Some(hits),
        }
    }
}

/// Seals the details to the regulator, bound to the receipt id.
pub fn seal(
    view: &ViewPublicKey,
    receipt_id: &[u8; 32],
    details: &ReceiptDetails,
) -> Result<SealedDetails, String> {
    let plain = serde_json::to_vec(details).map_err(|e| e.to_string())?;
    seal_details(view, receipt_id, &plain, &mut rand_core::OsRng).map_err(|e| e.to_string())
}
