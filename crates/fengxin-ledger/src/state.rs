//! The replicated state: membership, publications, receipts, motions and per-member counters.

use crate::block::{Batch, Block, BlockHeader, Position, BLOCK_VERSION};
use crate::credits::{
    allowance_context, list_size_context, Allowance, AllowanceClaim, CreditEntry, CreditParams,
    ListSize,
};
use crate::record::{
    AttestationOutcome, Motion, MotionAction, Record, RecordBody, Rejection, RootAttestation,
    Verdict, MAX_REASON, RECORD_VERSION,
};
use crate::Digest;
use fengxin_confidential::{
    labels as clabels, verify_range_with_context, Commitment, CommittedCount, DecryptHandle,
    SealedDetails, ViewPublicKey,
};
use fengxin_crypto::IdentityPublicKey;
use fengxin_signed::{Publication, Receipt, ReceiptError, RECEIPT_VERSION};
use fengxin_types::{Epoch, ListId, MemberName};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// How many allowances in force before a member's recent size commitments still back claims
/// (per member, within the current and the previous epoch; the oldest is dropped first).
pub const MAX_PREVIOUS_ALLOWANCES: usize = 32;

/// A founding member, as the genesis file names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisMember {
    /// Name.
    pub name: MemberName,
    /// Ed25519 identity key.
    pub identity_key: [u8; 32],
    /// QUIC address.
    pub address: String,
}

/// A regulator, as the genesis file names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GenesisRegulator {
    /// Name.
    pub name: MemberName,
    /// Ed25519 identity key (TLS).
    pub identity_key: [u8; 32],
    /// QUIC address.
    pub address: String,
    /// The view public key (hex).
    pub view_public_key: String,
}

/// A current member.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberEntry {
    /// Ed25519 identity key.
    pub identity_key: [u8; 32],
    /// QUIC address.
    pub address: String,
    /// Height at which it joined (0 = genesis).
    pub since: u64,
}

/// A regulator (non-voting, replicates the ledger).
pub type RegulatorEntry = GenesisRegulator;

/// One publication of a list, as the ledger holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedList {
    /// The publication.
    pub publication: Publication,
    /// Height of the block that holds it.
    pub height: u64,
}

/// A query receipt on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReceiptState {
    /// The querier's signed request, countersigned by the responder.
    pub receipt: Receipt,
    /// The allowance claim decoded from the request (with a regulator view key).
    pub claim: Option<AllowanceClaim>,
    /// Who submitted the receipt that was recorded (the responder or the querier).
    pub submitted_by: MemberName,
    /// Height of the block that holds it.
    pub height: u64,
    /// The querier's details sealed to the regulator, once submitted.
    pub details: Option<SealedDetails>,
    /// Feedback, once given.
    pub feedback: Option<Verdict>,
}

/// A list-size commitment on the ledger, bound to one publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SizeState {
    /// The publication epoch.
    pub epoch: Epoch,
    /// The published root.
    pub root: [u8; 32],
    /// The commitment bundle.
    pub size: CommittedCount,
    /// Height of the block that holds it.
    pub height: u64,
}

/// A regulator's attestation on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttestationState {
    /// The attestation.
    pub attestation: RootAttestation,
    /// The regulator that signed it.
    pub regulator: MemberName,
    /// Height of the block that holds it.
    pub height: u64,
    /// Height at which the council overruled a refutation, if it did.
    pub overruled: Option<u64>,
}

impl AttestationState {
    /// The outcome in force: a refutation the council overruled counts as attested.
    pub fn outcome(&self) -> AttestationOutcome {
        match (self.attestation.outcome, self.overruled) {
            (AttestationOutcome::Refuted, Some(_)) => AttestationOutcome::Attested,
            (outcome, _) => outcome,
        }
    }
}

/// A snapshot fault on the ledger: the evidence checked out against the publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultState {
    /// The member that reported it.
    pub reporter: MemberName,
    /// What the evidence showed ([`crate::FaultEvidence::kind`]).
    pub kind: String,
    /// The chunk it is about (none for the manifest).
    pub chunk: Option<u32>,
    /// The record that holds the evidence.
    pub record: Digest,
    /// Height of the block that holds it.
    pub height: u64,
}

/// Evidence that a querier signed overlapping allowance claims: two requests, both on the
/// ledger, whose claimed intervals of one epoch overlap.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equivocation {
    /// The querier.
    pub querier: MemberName,
    /// The ledger epoch of the claims.
    pub epoch: u64,
    /// The receipt (request id) already on the ledger.
    pub first: Digest,
    /// The receipt whose claim overlaps it.
    pub second: Digest,
    /// Height of the block that recorded the second.
    pub height: u64,
}

/// An open or decided motion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MotionState {
    /// The motion.
    pub motion: Motion,
    /// Who proposed it.
    pub proposer: MemberName,
    /// Members in favour.
    pub approve: BTreeSet<MemberName>,
    /// Members against.
    pub reject: BTreeSet<MemberName>,
    /// `Some(true)` once carried, `Some(false)` once it can no longer carry.
    pub decided: Option<bool>,
    /// Height of the block that decided it.
    pub decided_at: Option<u64>,
    /// Why a motion that gathered its majority was closed without effect (it no longer
    /// applied to the membership when it was decided).
    #[serde(default)]
    pub void: Option<String>,
}

/// Public per-member activity counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberCounters {
    /// Query exchanges made (receipts as querier).
    pub queries_made: u64,
    /// Identifiers screened as querier.
    pub identifiers_screened: u64,
    /// Query exchanges answered (receipts as responder).
    pub queries_served: u64,
    /// Identifiers answered as responder.
    pub identifiers_served: u64,
    /// Confirmed hits reported about this member's answers.
    pub confirmed: u64,
    /// False positives reported about this member's answers.
    pub false_positives: u64,
    /// Blocks this member proposed.
    pub blocks_proposed: u64,
}

/// Why a block does not extend the state (see [`LedgerState::replay`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReplayError {
    /// A block format this code does not read.
    #[error("unsupported block version {0}")]
    Version(u8),
    /// The block belongs to another chain.
    #[error("block {height} belongs to another chain")]
    OtherChain {
        /// The block's height.
        height: u64,
    },
    /// The block is not the next one after the current head.
    #[error("block {height} does not extend height {current} ({head})")]
    DoesNotExtend {
        /// The block's height.
        height: u64,
        /// The state's height.
        current: u64,
        /// The state's head (hex).
        head: String,
    },
    /// The proposer is not a current member.
    #[error("block {height}: proposer {proposer} is not a current member")]
    UnknownProposer {
        /// The block's height.
        height: u64,
        /// Who it names.
        proposer: MemberName,
    },
    /// The proposer's signature or the records digest does not verify.
    #[error("block {height}: the proposer's signature or the records digest does not verify")]
    BadSignature {
        /// The block's height.
        height: u64,
    },
    /// A record the proposer did not sign for (or out of the signed order).
    #[error("block {height}: record {record} was not proposed in that order")]
    NotProposed {
        /// The block's height.
        height: u64,
        /// The record id (hex).
        record: String,
    },
    /// A record that the state refuses.
    #[error("block {height}: record {record}: {reason}")]
    InvalidRecord {
        /// The block's height.
        height: u64,
        /// The record id (hex).
        record: String,
        /// Why.
        reason: Rejection,
    },
    /// A block without records (apply never builds one).
    #[error("block {height} holds no records")]
    Empty {
        /// The block's height.
        height: u64,
    },
}

/// The outcome of applying a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The block built from the accepted records (`None` if nothing was accepted or the batch
    /// itself was invalid).
    pub block: Option<Block>,
    /// The records rejected, with the reason.
    pub rejected: Vec<(Digest, Rejection)>,
    /// Why the whole batch was refused (bad proposer or signature), if it was.
    pub batch_error: Option<String>,
}

/// The ledger state every node derives from the blocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerState {
    chain_id: Digest,
    height: u64,
    head: Digest,
    members: BTreeMap<MemberName, MemberEntry>,
    regulators: BTreeMap<MemberName, RegulatorEntry>,
    publications: BTreeMap<(MemberName, ListId, Epoch), PublishedList>,
    receipts: BTreeMap<Digest, ReceiptState>,
    motions: BTreeMap<Digest, MotionState>,
    counters: BTreeMap<MemberName, MemberCounters>,
    params: CreditParams,
    view_key: Option<ViewPublicKey>,
    balances: BTreeMap<MemberName, i64>,
    quality: BTreeMap<MemberName, u32>,
    history: BTreeMap<MemberName, Vec<CreditEntry>>,
    /// Every size record, by (member, list, publication epoch); the latest of each list counts
    /// toward the allowance, the older ones stay for attestation.
    sizes: BTreeMap<(MemberName, ListId, Epoch), SizeState>,
    attestations: BTreeMap<(MemberName, ListId, Epoch), AttestationState>,
    /// Snapshot faults, by the publication whose snapshot they are about.
    snapshot_faults: BTreeMap<(MemberName, ListId, Epoch), FaultState>,
    equivocations: Vec<Equivocation>,
    /// Members whose screening is suspended, with the height it began.
    suspended: BTreeMap<MemberName, u64>,
    /// The allowance in force before a member's latest size commitment, and the last epoch
    /// whose claims may still use it.
    previous_allowance: BTreeMap<MemberName, Vec<(Allowance, u64)>>,
    /// Claimed usage intervals per (member, epoch): (end, receipt) → start, `(start, end]`.
    intervals: BTreeMap<(MemberName, u64), BTreeMap<(u64, Digest), u64>>,
    used: BTreeMap<(MemberName, u64), u64>,
    proposed: BTreeMap<(u64, MemberName), u64>,
    settled: BTreeSet<u64>,
    /// The settlement record that settled each epoch.
    settled_by: BTreeMap<u64, Digest>,
    /// Validators' share of the fees paid in each epoch, not yet settled.
    pools: BTreeMap<u64, i64>,
    /// Credits issued by the genesis rule (initial grants), in all.
    issued: i64,
}

impl LedgerState {
    /// The state at genesis. `chain_id` is the genesis hash; it is also the "previous hash"
    /// of block 1.
    pub fn genesis(
        chain_id: Digest,
        members: Vec<GenesisMember>,
        regulators: Vec<GenesisRegulator>,
    ) -> Self {
        Self::genesis_with(chain_id, members, regulators, CreditParams::default())
    }

    /// The state at genesis with the given credit parameters. The first regulator's view key
    /// (if any, and well-formed) seals receipt details and receives list-size handles; with a
    /// regulator, every receipt's request must carry an allowance claim.
    pub fn genesis_with(
        chain_id: Digest,
        members: Vec<GenesisMember>,
        regulators: Vec<GenesisRegulator>,
        params: CreditParams,
    ) -> Self {
        let view_key = regulators
            .first()
            .and_then(|r| ViewPublicKey::from_hex(&r.view_public_key).ok());
        let names: Vec<MemberName> = members.iter().map(|m| m.name.clone()).collect();
        let mut state = Self {
            chain_id,
            height: 0,
            head: chain_id,
            members: members
                .into_iter()
                .map(|m| {
                    (
                        m.name,
                        MemberEntry {
                            identity_key: m.identity_key,
                            address: m.address,
                            since: 0,
                        },
                    )
                })
                .collect(),
            regulators: regulators
                .into_iter()
                .map(|r| (r.name.clone(), r))
                .collect(),
            publications: BTreeMap::new(),
            receipts: BTreeMap::new(),
            motions: BTreeMap::new(),
            counters: BTreeMap::new(),
            params,
            view_key,
            balances: BTreeMap::new(),
            quality: BTreeMap::new(),
            history: BTreeMap::new(),
            sizes: BTreeMap::new(),
            attestations: BTreeMap::new(),
            snapshot_faults: BTreeMap::new(),
            equivocations: Vec::new(),
            suspended: BTreeMap::new(),
            previous_allowance: BTreeMap::new(),
            intervals: BTreeMap::new(),
            used: BTreeMap::new(),
            proposed: BTreeMap::new(),
            settled: BTreeSet::new(),
            settled_by: BTreeMap::new(),
            pools: BTreeMap::new(),
            issued: 0,
        };
        for name in names {
            state.grant(&name, 0);
        }
        state
    }

    fn grant(&mut self, member: &MemberName, height: u64) {
        let grant = self.params.initial_grant.max(0);
        self.quality
            .entry(member.clone())
            .or_insert(self.params.quality_start);
        self.issued = self.issued.saturating_add(grant);
        self.credit(member, height, None, grant, "initial grant".into());
    }

    fn credit(
        &mut self,
        member: &MemberName,
        height: u64,
        record: Option<Digest>,
        delta: i64,
        reason: String,
    ) {
        let balance = self.balances.entry(member.clone()).or_insert(0);
        *balance = balance.saturating_add(delta);
        let balance = *balance;
        self.history
            .entry(member.clone())
            .or_default()
            .push(CreditEntry {
                height,
                record,
                delta,
                balance,
                reason,
            });
    }

    /// Credits issued so far by the genesis rule (the initial grants). The scheme conserves
    /// them: `Σ balances + pooled() = issued()` at every height.
    pub fn issued(&self) -> i64 {
        self.issued
    }

    /// Fees waiting in the validator pools of epochs not yet settled.
    pub fn pooled(&self) -> i64 {
        self.pools.values().fold(0i64, |a, v| a.saturating_add(*v))
    }

    /// The sum of every balance (removed members' included).
    pub fn total_balances(&self) -> i64 {
        self.balances
            .values()
            .fold(0i64, |a, v| a.saturating_add(*v))
    }

    /// Whether `querier` may be served `count` identifiers now: a member in debt, or whose
    /// balance does not cover the cost, is refused by responders.
    pub fn can_pay(&self, querier: &MemberName, count: u64) -> Result<(), Rejection> {
        if self.suspended.contains_key(querier) {
            return Err(Rejection::Suspended(querier.clone()));
        }
        let balance = self.balance(querier);
        let cost = self.params.cost(count);
        if balance < 0 || balance < cost {
            return Err(Rejection::InsufficientCredits { balance, cost });
        }
        Ok(())
    }

    /// The credit parameters in force.
    pub fn params(&self) -> &CreditParams {
        &self.params
    }

    /// The regulator's view key, if the consortium has one.
    pub fn view_key(&self) -> Option<&ViewPublicKey> {
        self.view_key.as_ref()
    }

    /// The epoch the next block belongs to.
    pub fn current_epoch(&self) -> u64 {
        self.params.epoch_of(self.height + 1)
    }

    /// A member's credit balance.
    pub fn balance(&self, member: &MemberName) -> i64 {
        self.balances.get(member).copied().unwrap_or(0)
    }

    /// A member's quality weight (per mille).
    pub fn quality(&self, member: &MemberName) -> u32 {
        self.quality
            .get(member)
            .copied()
            .unwrap_or(self.params.quality_start)
    }

    /// Every change to a member's credits, oldest first.
    pub fn credit_history(&self, member: &MemberName) -> &[CreditEntry] {
        self.history.get(member).map_or(&[], Vec::as_slice)
    }

    /// A member's committed list sizes in force (the latest of each list): list →
    /// (commitment bundle, height).
    pub fn list_sizes(&self, member: &MemberName) -> Vec<(&ListId, &CommittedCount, u64)> {
        self.latest_sizes(member)
            .into_iter()
            .map(|(l, st)| (l, &st.size, st.height))
            .collect()
    }

    fn latest_sizes(&self, member: &MemberName) -> BTreeMap<&ListId, &SizeState> {
        // Ordered by (member, list, epoch): the last entry of each list is its latest.
        self.sizes
            .iter()
            .filter(|((m, _, _), _)| m == member)
            .map(|((_, l, _), st)| (l, st))
            .collect()
    }

    /// The size record of a member's list in force (its latest publication's), if any.
    pub fn size_record(&self, member: &MemberName, list: &ListId) -> Option<&SizeState> {
        self.sizes
            .range((member.clone(), list.clone(), Epoch::FIRST)..)
            .take_while(|((m, l, _), _)| m == member && l == list)
            .last()
            .map(|(_, st)| st)
    }

    /// The size record of one publication, if any.
    pub fn size_at(&self, member: &MemberName, list: &ListId, epoch: Epoch) -> Option<&SizeState> {
        self.sizes.get(&(member.clone(), list.clone(), epoch))
    }

    /// The regulator's attestation of (member, list, epoch), if any.
    pub fn attestation(
        &self,
        member: &MemberName,
        list: &ListId,
        epoch: Epoch,
    ) -> Option<&AttestationState> {
        self.attestations
            .get(&(member.clone(), list.clone(), epoch))
    }

    /// The snapshot fault recorded against (member, list, epoch)'s publication, if any: its
    /// snapshot is not used for screening.
    pub fn snapshot_fault(
        &self,
        member: &MemberName,
        list: &ListId,
        epoch: Epoch,
    ) -> Option<&FaultState> {
        self.snapshot_faults
            .get(&(member.clone(), list.clone(), epoch))
    }

    /// Every snapshot fault on the ledger, by (member, list, epoch).
    pub fn snapshot_faults(
        &self,
    ) -> impl Iterator<Item = (&(MemberName, ListId, Epoch), &FaultState)> {
        self.snapshot_faults.iter()
    }

    /// Every equivocation the ledger has recorded, oldest first.
    pub fn equivocations(&self) -> &[Equivocation] {
        &self.equivocations
    }

    /// The height at which a member's screening was suspended, if it is.
    pub fn suspended(&self, member: &MemberName) -> Option<u64> {
        self.suspended.get(member).copied()
    }

    /// Identifiers a member has claimed in an epoch (the highest end of its claimed intervals;
    /// the sum of counts never exceeds it unless it equivocated).
    pub fn claimed(&self, member: &MemberName, epoch: u64) -> u64 {
        self.intervals
            .get(&(member.clone(), epoch))
            .and_then(|m| m.keys().map(|(end, _)| *end).max())
            .unwrap_or(0)
    }

    /// Identifiers a member screened in an epoch (sum of its receipts' counts).
    pub fn used(&self, member: &MemberName, epoch: u64) -> u64 {
        self.used
            .get(&(member.clone(), epoch))
            .copied()
            .unwrap_or(0)
    }

    /// Whether an epoch has been settled.
    pub fn settled(&self, epoch: u64) -> bool {
        self.settled.contains(&epoch)
    }

    /// The committed sizes that count toward a member's allowance, one per list: the latest
    /// whose publication the regulator attested. While a newer publication of the list is
    /// pending, the last attested one counts; once the newest judged publication is refuted,
    /// the list counts nothing until a later one is attested. A size for a list nobody
    /// attested (unpublished, unsent, or lying about its tree) adds nothing.
    pub fn counted_sizes(&self, member: &MemberName) -> Vec<(&ListId, &SizeState)> {
        let mut out: Vec<(&ListId, &SizeState)> = Vec::new();
        let mut decided: Option<&ListId> = None;
        // Newest epoch first within each list.
        for ((_, list, epoch), st) in self.sizes.iter().rev().filter(|((m, _, _), _)| m == member) {
            if decided == Some(list) {
                continue;
            }
            match self
                .attestations
                .get(&(member.clone(), list.clone(), *epoch))
                .map(AttestationState::outcome)
            {
                Some(AttestationOutcome::Attested) => {
                    out.push((list, st));
                    decided = Some(list);
                }
                Some(AttestationOutcome::Refuted) => decided = Some(list),
                None => {}
            }
        }
        out.reverse();
        out
    }

    /// A member's allowance: `base + per_entry × Σ counted sizes`
    /// ([`LedgerState::counted_sizes`]), as a commitment, and the regulator's handle for it.
    pub fn allowance(&self, member: &MemberName) -> Allowance {
        let mut sum = Commitment::zero();
        let mut handle = DecryptHandle::zero();
        for (_, st) in self.counted_sizes(member) {
            sum = sum.add(&st.size.commitment);
            handle = handle.add(&st.size.handle);
        }
        let k = self.params.allowance_per_entry;
        Allowance {
            commitment: Commitment::public(self.params.base_allowance).add(&sum.mul_u64(k)),
            handle: handle.mul_u64(k),
        }
    }

    /// The chain identifier (genesis hash).
    pub fn chain_id(&self) -> Digest {
        self.chain_id
    }

    /// Height of the last block (0 at genesis).
    pub fn height(&self) -> u64 {
        self.height
    }

    /// Hash of the last block (the chain id at genesis).
    pub fn head(&self) -> Digest {
        self.head
    }

    /// Current members, by name.
    pub fn members(&self) -> &BTreeMap<MemberName, MemberEntry> {
        &self.members
    }

    /// Regulators, by name.
    pub fn regulators(&self) -> &BTreeMap<MemberName, RegulatorEntry> {
        &self.regulators
    }

    /// The member holding `key`, if any.
    pub fn member_for_key(&self, key: &[u8; 32]) -> Option<&MemberName> {
        self.members
            .iter()
            .find(|(_, m)| &m.identity_key == key)
            .map(|(n, _)| n)
    }

    /// The regulator holding `key`, if any.
    pub fn regulator_for_key(&self, key: &[u8; 32]) -> Option<&MemberName> {
        self.regulators
            .iter()
            .find(|(_, r)| &r.identity_key == key)
            .map(|(n, _)| n)
    }

    /// The member or regulator holding `key`, if any: who may hold a connection to a node.
    pub fn party_for_key(&self, key: &[u8; 32]) -> Option<&MemberName> {
        self.member_for_key(key)
            .or_else(|| self.regulator_for_key(key))
    }

    /// A member's identity key.
    pub fn identity_key(&self, member: &MemberName) -> Option<IdentityPublicKey> {
        self.members
            .get(member)
            .and_then(|m| IdentityPublicKey::from_slice(&m.identity_key).ok())
    }

    /// The publication of (member, list, epoch).
    pub fn publication(
        &self,
        member: &MemberName,
        list: &ListId,
        epoch: Epoch,
    ) -> Option<&PublishedList> {
        self.publications
            .get(&(member.clone(), list.clone(), epoch))
    }

    /// Every member's publication of (list, epoch) whose root is `root` (two members'
    /// trees share a root only if they hold the same tags).
    pub fn publications_with_root(
        &self,
        list: &ListId,
        epoch: Epoch,
        root: &[u8; 32],
    ) -> Vec<(&MemberName, &PublishedList)> {
        self.publications
            .iter()
            .filter(|((_, l, e), p)| l == list && *e == epoch && &p.publication.root == root)
            .map(|((m, _, _), p)| (m, p))
            .collect()
    }

    /// The latest publication of each (member, list).
    pub fn current_publications(&self) -> Vec<&PublishedList> {
        let mut latest: BTreeMap<(&MemberName, &ListId), &PublishedList> = BTreeMap::new();
        for ((member, list, _), p) in &self.publications {
            latest.insert((member, list), p);
        }
        latest.into_values().collect()
    }

    /// The latest publication of (member, list).
    pub fn current_publication(
        &self,
        member: &MemberName,
        list: &ListId,
    ) -> Option<&PublishedList> {
        self.publications
            .range((member.clone(), list.clone(), Epoch::FIRST)..)
            .take_while(|((m, l, _), _)| m == member && l == list)
            .last()
            .map(|(_, p)| p)
    }

    /// A receipt by id.
    pub fn receipt(&self, id: &Digest) -> Option<&ReceiptState> {
        self.receipts.get(id)
    }

    /// Every receipt on the ledger, by id.
    pub fn receipts(&self) -> &BTreeMap<Digest, ReceiptState> {
        &self.receipts
    }

    /// Motions by id.
    pub fn motions(&self) -> &BTreeMap<Digest, MotionState> {
        &self.motions
    }

    /// A member's public counters.
    pub fn counters(&self, member: &MemberName) -> MemberCounters {
        self.counters.get(member).copied().unwrap_or_default()
    }

    /// Checks a record against the current state without applying it.
    pub fn check(&self, record: &Record) -> Result<(), Rejection> {
        self.check_inner(record, true)
    }

    /// [`LedgerState::check`] without verifying allowance range proofs (the one costly check):
    /// for a node admitting records into its queue, since every validator verifies them in
    /// full when it applies the block.
    pub fn precheck(&self, record: &Record) -> Result<(), Rejection> {
        self.check_inner(record, false)
    }

    /// Whether `record` can never commit because another record already did its work: a
    /// receipt whose copy submitted by its other party is on the ledger (one per request id),
    /// or a settlement of an epoch another member's settlement settled. The outbox drops them.
    pub fn settled_by_another(&self, record: &Record) -> bool {
        match &record.body {
            RecordBody::Receipt(r) => self
                .receipts
                .get(&r.id())
                .is_some_and(|kept| kept.submitted_by != record.author),
            // Any member may settle an ended epoch; once another's settlement is on the ledger,
            // this one can only be refused, so it leaves its author's outbox.
            RecordBody::Settlement(st) => self
                .settled_by
                .get(&st.epoch)
                .is_some_and(|by| *by != record.id()),
            _ => false,
        }
    }

    /// [`LedgerState::precheck`] of a submission in order, where a record may depend on an
    /// earlier one of the same submission: a list size on the publication it is bound to, a
    /// querier's details on the receipt they describe. One result per record; the validators
    /// check every record in full when they apply the block.
    pub fn precheck_submission(&self, records: &[Record]) -> Vec<Result<(), Rejection>> {
        records
            .iter()
            .enumerate()
            .map(|(i, r)| match self.check_inner(r, false) {
                Err(e) if provided_earlier(&records[..i], r, &e) => Ok(()),
                other => other,
            })
            .collect()
    }

    fn check_inner(&self, record: &Record, full: bool) -> Result<(), Rejection> {
        if record.version != RECORD_VERSION {
            return Err(Rejection::UnsupportedVersion(record.version));
        }
        if record.chain != self.chain_id {
            return Err(Rejection::OtherChain);
        }
        // Attestations are the regulator's; every other record is a current member's.
        let author_key = match &record.body {
            RecordBody::Attestation(_) => self
                .regulators
                .get(&record.author)
                .and_then(|r| IdentityPublicKey::from_slice(&r.identity_key).ok()),
            _ => self.identity_key(&record.author),
        };
        let Some(author_key) = author_key else {
            return Err(Rejection::UnknownAuthor(record.author.clone()));
        };
        if !author_key.verify(&record.signing_bytes(), &record.signature) {
            return Err(Rejection::BadSignature);
        }
        match &record.body {
            RecordBody::Publication(p) => self.check_publication(&record.author, p),
            RecordBody::Receipt(r) => self.check_receipt(&record.author, r, full),
            RecordBody::Details(d) => {
                let receipt = self.queriers_receipt(&record.author, &d.receipt)?;
                if receipt.details.is_some() {
                    return Err(Rejection::Replayed);
                }
                if self.view_key.is_none() {
                    return Err(Rejection::Malformed {
                        field: "details",
                        reason: "the consortium has no regulator view key".into(),
                    });
                }
                Ok(())
            }
            RecordBody::ListSize(ls) => self.check_list_size(&record.author, ls),
            RecordBody::Attestation(a) => self.check_attestation(a),
            RecordBody::SnapshotFault(f) => self.check_snapshot_fault(&record.author, f, full),
            RecordBody::Settlement(st) => {
                let current = self.current_epoch();
                if st.epoch == 0 || st.epoch >= current {
                    return Err(Rejection::Settlement(format!(
                        "epoch {} has not ended (current epoch {current})",
                        st.epoch
                    )));
                }
                if self.settled.contains(&st.epoch) {
                    return Err(Rejection::Settlement(format!(
                        "epoch {} is already settled",
                        st.epoch
                    )));
                }
                Ok(())
            }
            RecordBody::Feedback(f) => {
                let receipt = self.queriers_receipt(&record.author, &f.receipt)?;
                if receipt.feedback.is_some() {
                    return Err(Rejection::FeedbackGiven);
                }
                Ok(())
            }
            RecordBody::Motion(m) => {
                if self.motions.contains_key(&record.id()) {
                    return Err(Rejection::Replayed);
                }
                self.check_motion(m)
            }
            RecordBody::Vote(v) => {
                let Some(motion) = self.motions.get(&v.motion) else {
                    return Err(Rejection::UnknownMotion(hex::encode(v.motion)));
                };
                if motion.decided.is_some() {
                    return Err(Rejection::MotionClosed);
                }
                if motion.approve.contains(&record.author) || motion.reject.contains(&record.author)
                {
                    return Err(Rejection::AlreadyVoted(record.author.clone()));
                }
                Ok(())
            }
        }
    }

    /// The receipt `id`, if `author` is its querier (what details and feedback are about).
    fn queriers_receipt(
        &self,
        author: &MemberName,
        id: &Digest,
    ) -> Result<&ReceiptState, Rejection> {
        let Some(receipt) = self.receipts.get(id) else {
            return Err(Rejection::UnknownReceipt(hex::encode(id)));
        };
        let querier = &receipt.receipt.request.request.querier;
        if querier != author {
            return Err(Rejection::NotAuthorsRecord {
                author: author.clone(),
                subject: querier.clone(),
            });
        }
        Ok(receipt)
    }

    fn check_publication(&self, author: &MemberName, p: &Publication) -> Result<(), Rejection> {
        if p.member != *author {
            return Err(Rejection::NotAuthorsRecord {
                author: author.clone(),
                subject: p.member.clone(),
            });
        }
        if p.version != Publication::VERSION {
            return Err(Rejection::UnsupportedVersion(p.version));
        }
        if p.chain != self.chain_id {
            return Err(Rejection::OtherChain);
        }
        p.root().map_err(|e| Rejection::Malformed {
            field: "root",
            reason: e.to_string(),
        })?;
        p.oprf_key().map_err(|e| Rejection::Malformed {
            field: "oprf_public_key",
            reason: e.to_string(),
        })?;
        p.checked_snapshot().map_err(|e| Rejection::Malformed {
            field: "snapshot",
            reason: e.to_string(),
        })?;
        if let Some(current) = self.current_publication(author, &p.list) {
            let current = current.publication.epoch;
            if p.epoch <= current {
                return Err(Rejection::StaleEpoch {
                    list: p.list.clone(),
                    epoch: p.epoch,
                    current,
                });
            }
        }
        Ok(())
    }

    /// A receipt: the request for this chain, between two current members, within its mode's
    /// count, against a publication on the ledger, not yet recorded, both signatures valid,
    /// submitted by one of its parties, and (with a regulator view key) an allowance claim
    /// whose proof holds. A claim that overlaps one already used is not a reason to refuse the
    /// receipt: the responder worked; it is the querier's equivocation, recorded on apply.
    fn check_receipt(
        &self,
        author: &MemberName,
        receipt: &Receipt,
        full: bool,
    ) -> Result<(), Rejection> {
        let r = &receipt.request.request;
        if r.version != RECEIPT_VERSION {
            return Err(Rejection::UnsupportedVersion(r.version));
        }
        if r.chain != self.chain_id {
            return Err(Rejection::OtherChain);
        }
        if *author != r.querier && *author != r.responder {
            return Err(Rejection::NotAuthorsRecord {
                author: author.clone(),
                subject: r.responder.clone(),
            });
        }
        if r.responder == r.querier {
            return Err(Rejection::Malformed {
                field: "responder",
                reason: "a member cannot query itself".into(),
            });
        }
        let max = r.mode.max_count();
        if r.count == 0 || usize::try_from(r.count).map_or(true, |c| c > max) {
            return Err(Rejection::Malformed {
                field: "count",
                reason: format!(
                    "{} identifiers (1 to {max} in {} mode)",
                    r.count,
                    r.mode.code()
                ),
            });
        }
        let Some(querier_key) = self.identity_key(&r.querier) else {
            return Err(Rejection::UnknownAuthor(r.querier.clone()));
        };
        let Some(responder_key) = self.identity_key(&r.responder) else {
            return Err(Rejection::UnknownAuthor(r.responder.clone()));
        };
        if self.publication(&r.responder, &r.list, r.epoch).is_none() {
            return Err(Rejection::NotPublished {
                member: r.responder.clone(),
                list: r.list.clone(),
                epoch: r.epoch,
            });
        }
        if self.receipts.contains_key(&receipt.id()) {
            return Err(Rejection::Replayed);
        }
        receipt
            .verify(&querier_key, &responder_key)
            .map_err(|e| match e {
                ReceiptError::QuerierSignature => Rejection::BadQuerierSignature,
                ReceiptError::ResponderSignature => Rejection::BadResponderSignature,
                ReceiptError::Version(v) => Rejection::UnsupportedVersion(v),
                _ => Rejection::BadSignature,
            })?;
        if self.view_key.is_none() {
            return Ok(());
        }
        if r.allowance.is_empty() {
            return Err(Rejection::Incomplete("an allowance claim"));
        }
        let claim =
            AllowanceClaim::from_bytes(&r.allowance).map_err(|reason| Rejection::Malformed {
                field: "allowance",
                reason,
            })?;
        self.check_claim_inner(&r.querier, r.count, &claim, full)
    }

    fn check_list_size(&self, author: &MemberName, ls: &ListSize) -> Result<(), Rejection> {
        let Some(vk) = &self.view_key else {
            return Err(Rejection::BadListSize(
                "the consortium has no regulator view key".into(),
            ));
        };
        let Some(published) = self.publication(author, &ls.list, ls.epoch) else {
            return Err(Rejection::NotPublished {
                member: author.clone(),
                list: ls.list.clone(),
                epoch: ls.epoch,
            });
        };
        if published.publication.root != ls.root {
            return Err(Rejection::BadListSize(format!(
                "{} epoch {}: the size names another root than the published one",
                ls.list, ls.epoch
            )));
        }
        if self.size_at(author, &ls.list, ls.epoch).is_some() {
            return Err(Rejection::Replayed);
        }
        // Only the list's current publication may be sized: a size for a superseded one would
        // rest the allowance on a list that has been replaced.
        if let Some(current) = self.current_publication(author, &ls.list) {
            let current = current.publication.epoch;
            if ls.epoch != current {
                return Err(Rejection::StaleEpoch {
                    list: ls.list.clone(),
                    epoch: ls.epoch,
                    current,
                });
            }
        }
        ls.size
            .verify(
                &vk.elgamal(),
                &list_size_context(&self.chain_id, author, &ls.list, ls.epoch, &ls.root),
            )
            .map_err(|e| Rejection::BadListSize(e.to_string()))
    }

    /// Snapshot fault evidence against the publication it names; `full: false` (a submission's
    /// precheck) leaves out the one expensive step, a committed chunk's subtree hashing, which
    /// every node does when it applies the block.
    fn check_snapshot_fault(
        &self,
        author: &MemberName,
        f: &crate::SnapshotFault,
        full: bool,
    ) -> Result<(), Rejection> {
        let bad = |why: String| Err(Rejection::BadFaultEvidence(why));
        if author == &f.member {
            return bad("a member does not report its own snapshot".into());
        }
        let Some(published) = self.publication(&f.member, &f.list, f.epoch) else {
            return Err(Rejection::NotPublished {
                member: f.member.clone(),
                list: f.list.clone(),
                epoch: f.epoch,
            });
        };
        let Some(header) = published.publication.snapshot else {
            return bad(format!(
                "{} {} is proof-only: it has no snapshot",
                f.member, f.list
            ));
        };
        if self
            .snapshot_faults
            .contains_key(&(f.member.clone(), f.list.clone(), f.epoch))
        {
            return Err(Rejection::Replayed);
        }
        let key = self.identity_key(&f.member);
        crate::fault::check(
            &published.publication,
            &header,
            key.as_ref(),
            &f.evidence,
            full,
        )
        .or_else(bad)
    }

    fn check_attestation(&self, a: &RootAttestation) -> Result<(), Rejection> {
        let bad = |why: String| Err(Rejection::BadAttestation(why));
        let Some(published) = self.publication(&a.member, &a.list, a.epoch) else {
            return Err(Rejection::NotPublished {
                member: a.member.clone(),
                list: a.list.clone(),
                epoch: a.epoch,
            });
        };
        if published.publication.root != a.root {
            return bad(format!(
                "{} {} epoch {}: not the published root",
                a.member, a.list, a.epoch
            ));
        }
        match self.size_at(&a.member, &a.list, a.epoch) {
            Some(st) => {
                if st.size.commitment.to_bytes() != a.size_commitment {
                    return bad("not the size commitment on the ledger".into());
                }
            }
            None => {
                return bad(format!(
                    "{} {} epoch {}: no size commitment on the ledger",
                    a.member, a.list, a.epoch
                ))
            }
        }
        if a.reason.len() > MAX_REASON {
            return bad(format!("the reason is over {MAX_REASON} bytes"));
        }
        if a.outcome == AttestationOutcome::Refuted && a.reason.trim().is_empty() {
            return bad("a refutation gives its reason".into());
        }
        if self
            .attestations
            .contains_key(&(a.member.clone(), a.list.clone(), a.epoch))
        {
            return Err(Rejection::Replayed);
        }
        Ok(())
    }

    /// Checks an allowance claim for `count` identifiers by `querier` against the state: the
    /// epoch, the interval, and the range proof. Overlap with a claim already used is the
    /// querier's equivocation: [`LedgerState::overlapping_claim`] finds it.
    pub fn check_claim(
        &self,
        querier: &MemberName,
        count: u32,
        claim: &AllowanceClaim,
    ) -> Result<(), Rejection> {
        self.check_claim_inner(querier, count, claim, true)
    }

    /// The receipt already on the ledger whose claimed interval overlaps `claim` for `count`
    /// identifiers, if any (a responder refuses such a claim before serving it).
    pub fn overlapping_claim(
        &self,
        querier: &MemberName,
        count: u32,
        claim: &AllowanceClaim,
    ) -> Option<Digest> {
        let start = claim.used_after.checked_sub(u64::from(count))?;
        let intervals = self.intervals.get(&(querier.clone(), claim.epoch))?;
        intervals
            .range((start.saturating_add(1), [0u8; 32])..)
            .find(|(_, s)| **s < claim.used_after)
            .map(|((_, id), _)| *id)
    }

    fn check_claim_inner(
        &self,
        querier: &MemberName,
        count: u32,
        claim: &AllowanceClaim,
        verify_proof: bool,
    ) -> Result<(), Rejection> {
        let current = self.current_epoch();
        if claim.epoch != current && claim.epoch.checked_add(1) != Some(current) {
            return Err(Rejection::OverAllowance(format!(
                "claim for epoch {}, the current epoch is {current}",
                claim.epoch
            )));
        }
        if claim.used_after < u64::from(count) {
            return Err(Rejection::OverAllowance(format!(
                "claimed usage {} is below the {count} identifiers of this receipt",
                claim.used_after
            )));
        }
        if !verify_proof {
            return Ok(());
        }
        let context = allowance_context(
            &self.chain_id,
            querier,
            claim.epoch,
            claim.used_after,
            count,
        );
        let holds = |allowance: &Allowance| {
            let remaining = allowance
                .commitment
                .sub(&Commitment::public(claim.used_after));
            verify_range_with_context(
                &remaining,
                &claim.proof,
                64,
                clabels::ALLOWANCE_RANGE_PROOF,
                &context,
            )
            .is_ok()
        };
        if holds(&self.allowance(querier)) {
            return Ok(());
        }
        // A claim made before one of the member's recent size commitments, for that epoch or
        // earlier.
        let previous = self.previous_allowance.get(querier).into_iter().flatten();
        previous
            .filter(|(_, last_epoch)| claim.epoch <= *last_epoch)
            .any(|(allowance, _)| holds(allowance))
            .then_some(())
            .ok_or(())
            .map_err(|()| {
                Rejection::OverAllowance(format!(
                    "no valid proof that {} identifiers in epoch {} stay within the allowance",
                    claim.used_after, claim.epoch
                ))
            })
    }

    fn check_motion(&self, m: &Motion) -> Result<(), Rejection> {
        match &m.action {
            MotionAction::SetParams(p) => p.check().map_err(Rejection::InvalidMotion),
            MotionAction::Admit {
                name, identity_key, ..
            } => {
                if self.members.contains_key(name) || self.regulators.contains_key(name) {
                    return Err(Rejection::InvalidMotion(format!("{name} is already known")));
                }
                if self.member_for_key(identity_key).is_some()
                    || self.regulator_for_key(identity_key).is_some()
                {
                    return Err(Rejection::InvalidMotion(
                        "that identity key is already in use".into(),
                    ));
                }
                // Consensus peers are addressed by the key's first 8 bytes: no two parties may
                // share them.
                let prefix = &identity_key[..8];
                if self
                    .members
                    .values()
                    .map(|m| &m.identity_key)
                    .chain(self.regulators.values().map(|r| &r.identity_key))
                    .any(|k| &k[..8] == prefix)
                {
                    return Err(Rejection::InvalidMotion(
                        "that identity key's node id is already in use".into(),
                    ));
                }
                if IdentityPublicKey::from_slice(identity_key).is_err() {
                    return Err(Rejection::Malformed {
                        field: "identity_key",
                        reason: "not an Ed25519 public key".into(),
                    });
                }
                Ok(())
            }
            MotionAction::Reinstate { name } => {
                if !self.suspended.contains_key(name) {
                    return Err(Rejection::InvalidMotion(format!("{name} is not suspended")));
                }
                Ok(())
            }
            MotionAction::Overrule {
                member,
                list,
                epoch,
            } => match self.attestation(member, list, *epoch) {
                Some(a)
                    if a.attestation.outcome == AttestationOutcome::Refuted
                        && a.overruled.is_none() =>
                {
                    Ok(())
                }
                _ => Err(Rejection::InvalidMotion(format!(
                    "{member} {list} epoch {epoch} has no refutation to overrule"
                ))),
            },
            MotionAction::Remove { name } => {
                if !self.members.contains_key(name) {
                    return Err(Rejection::InvalidMotion(format!("{name} is not a member")));
                }
                if self.members.len() <= 1 {
                    return Err(Rejection::InvalidMotion(
                        "cannot remove the last member".into(),
                    ));
                }
                Ok(())
            }
        }
    }

    /// Where the next batch goes: this chain, the next height, after the current head.
    pub fn next_position(&self) -> Position {
        Position {
            chain: self.chain_id,
            height: self.height + 1,
            prev_hash: self.head,
        }
    }

    /// Remembers `member`'s allowance in force before a record that changes it (a size
    /// commitment or an attestation) at `height`: claims may be for the current or the
    /// previous epoch, and allowances in force before older epochs can no longer back one.
    fn keep_allowance(&mut self, member: &MemberName, height: u64) {
        let before = self.allowance(member);
        let epoch = self.params.epoch_of(height);
        let kept = self.previous_allowance.entry(member.clone()).or_default();
        kept.retain(|(_, last)| last.saturating_add(1) >= epoch);
        kept.push((before, epoch));
        if kept.len() > MAX_PREVIOUS_ALLOWANCES {
            kept.remove(0);
        }
    }

    /// Applies a batch proposed by the consensus leader: checks the proposer, then each record
    /// in order against the state as it evolves. Accepted records form the next block.
    pub fn apply_batch(&mut self, batch: &Batch) -> Applied {
        let refused = |why: String| Applied {
            block: None,
            rejected: Vec::new(),
            batch_error: Some(why),
        };
        let Some(proposer_key) = self.identity_key(&batch.proposer) else {
            return refused(format!(
                "proposer {} is not a current member",
                batch.proposer
            ));
        };
        if !proposer_key.verify(&batch.signing_bytes(), &batch.signature) {
            return refused("the proposer's signature does not verify".into());
        }
        let height = self.height + 1;
        let here = self.next_position();
        if batch.position != here {
            return refused(format!(
                "the batch is signed for height {} after {} on chain {}; the next block is \
                 height {height} after {}",
                batch.position.height,
                hex::encode(&batch.position.prev_hash[..8]),
                hex::encode(&batch.position.chain[..8]),
                hex::encode(&self.head[..8]),
            ));
        }
        let mut accepted = Vec::new();
        let mut rejected = Vec::new();
        for record in &batch.records {
            match self.check(record) {
                Ok(()) => {
                    self.apply_record(record, height);
                    accepted.push(record.clone());
                }
                Err(why) => rejected.push((record.id(), why)),
            }
        }
        if accepted.is_empty() {
            return Applied {
                block: None,
                rejected,
                batch_error: None,
            };
        }
        let block = Block {
            header: BlockHeader {
                version: BLOCK_VERSION,
                chain_id: self.chain_id,
                height,
                prev_hash: self.head,
                proposer: batch.proposer.clone(),
                term: batch.term,
                proposed_at_ms: batch.proposed_at_ms,
                records_digest: Block::records_digest(&accepted),
            },
            proposed: batch.record_ids(),
            proposer_signature: batch.signature.clone(),
            records: accepted,
        };
        self.finish_block(&block);
        Applied {
            block: Some(block),
            rejected,
            batch_error: None,
        }
    }

    /// Applies a block received or stored as a whole (start-up replay, catch-up, a snapshot),
    /// validating it exactly as [`LedgerState::apply_batch`] validated its batch: the format
    /// version, chain, height and previous hash, the proposer (a current member) and its
    /// signature over the ids it proposed, the records digest, that the records were proposed
    /// and in the proposed order, and every record against the state as it evolves (signatures,
    /// replays, allowance proofs). Consumes the state: on error nothing of it is to be used.
    pub fn replay(mut self, block: &Block) -> Result<Self, ReplayError> {
        let h = &block.header;
        let at = h.height;
        if h.version != BLOCK_VERSION {
            return Err(ReplayError::Version(h.version));
        }
        if h.chain_id != self.chain_id {
            return Err(ReplayError::OtherChain { height: at });
        }
        if at != self.height + 1 || h.prev_hash != self.head {
            return Err(ReplayError::DoesNotExtend {
                height: at,
                current: self.height,
                head: hex::encode(self.head),
            });
        }
        let Some(proposer_key) = self.identity_key(&h.proposer) else {
            return Err(ReplayError::UnknownProposer {
                height: at,
                proposer: h.proposer.clone(),
            });
        };
        if !block.check(&proposer_key) {
            return Err(ReplayError::BadSignature { height: at });
        }
        if block.records.is_empty() {
            return Err(ReplayError::Empty { height: at });
        }
        let mut proposed = block.proposed.iter();
        for record in &block.records {
            let id = record.id();
            if !proposed.any(|p| *p == id) {
                return Err(ReplayError::NotProposed {
                    height: at,
                    record: hex::encode(id),
                });
            }
            self.check(record)
                .map_err(|reason| ReplayError::InvalidRecord {
                    height: at,
                    record: hex::encode(id),
                    reason,
                })?;
            self.apply_record(record, at);
        }
        self.finish_block(block);
        Ok(self)
    }

    fn finish_block(&mut self, block: &Block) {
        self.height = block.header.height;
        self.head = block.hash();
        let epoch = self.params.epoch_of(block.header.height);
        let proposed = self
            .proposed
            .entry((epoch, block.header.proposer.clone()))
            .or_insert(0);
        *proposed = proposed.saturating_add(1);
        let c = self
            .counters
            .entry(block.header.proposer.clone())
            .or_default();
        c.blocks_proposed = c.blocks_proposed.saturating_add(1);
    }

    fn apply_record(&mut self, record: &Record, height: u64) {
        match &record.body {
            RecordBody::Publication(p) => {
                self.publications.insert(
                    (p.member.clone(), p.list.clone(), p.epoch),
                    PublishedList {
                        publication: p.clone(),
                        height,
                    },
                );
            }
            RecordBody::Receipt(receipt) => self.apply_receipt(record, receipt, height),
            RecordBody::Details(d) => {
                if let Some(receipt) = self.receipts.get_mut(&d.receipt) {
                    receipt.details = Some(d.sealed.clone());
                }
            }
            RecordBody::ListSize(ls) => {
                self.keep_allowance(&record.author, height);
                self.sizes.insert(
                    (record.author.clone(), ls.list.clone(), ls.epoch),
                    SizeState {
                        epoch: ls.epoch,
                        root: ls.root,
                        size: ls.size.clone(),
                        height,
                    },
                );
            }
            RecordBody::Attestation(a) => {
                // The attestation changes which sizes count: claims made against the
                // allowance before it stay valid.
                self.keep_allowance(&a.member, height);
                self.attestations.insert(
                    (a.member.clone(), a.list.clone(), a.epoch),
                    AttestationState {
                        attestation: a.clone(),
                        regulator: record.author.clone(),
                        height,
                        overruled: None,
                    },
                );
            }
            RecordBody::SnapshotFault(f) => {
                self.snapshot_faults.insert(
                    (f.member.clone(), f.list.clone(), f.epoch),
                    FaultState {
                        reporter: record.author.clone(),
                        kind: f.evidence.kind().to_owned(),
                        chunk: f.evidence.chunk(),
                        record: record.id(),
                        height,
                    },
                );
            }
            RecordBody::Settlement(st) => {
                self.settled.insert(st.epoch);
                self.settled_by.insert(st.epoch, record.id());
                let pool = self.pools.remove(&st.epoch).unwrap_or(0);
                let paid: Vec<(MemberName, u64)> = self
                    .proposed
                    .iter()
                    .filter(|((e, m), _)| *e == st.epoch && self.members.contains_key(m))
                    .map(|((_, m), n)| (m.clone(), *n))
                    .collect();
                let blocks: u64 = paid.iter().map(|(_, n)| *n).sum();
                let mut left = pool;
                if blocks > 0 && pool > 0 {
                    for (member, n) in paid {
                        let share = i128::from(pool) * i128::from(n) / i128::from(blocks);
                        let share = i64::try_from(share).unwrap_or(0);
                        left -= share;
                        self.credit(
                            &member,
                            height,
                            Some(record.id()),
                            share,
                            format!(
                                "validator share of epoch {}'s fees: {n} of {blocks} blocks",
                                st.epoch
                            ),
                        );
                    }
                }
                // What division leaves (or a pool nobody can be paid from) carries forward.
                if left != 0 {
                    let now = self.params.epoch_of(height);
                    let carry = self.pools.entry(now).or_insert(0);
                    *carry = carry.saturating_add(left);
                }
            }
            RecordBody::Feedback(f) => {
                if let Some(receipt) = self.receipts.get_mut(&f.receipt) {
                    receipt.feedback = Some(f.verdict);
                    let responder = receipt.receipt.request.request.responder.clone();
                    let c = self.counters.entry(responder.clone()).or_default();
                    let p = self.params;
                    let q = self.quality.entry(responder).or_insert(p.quality_start);
                    match f.verdict {
                        Verdict::Confirmed => {
                            c.confirmed = c.confirmed.saturating_add(1);
                            *q = q
                                .saturating_add(p.quality_confirmed_step)
                                .min(p.quality_max);
                        }
                        Verdict::FalsePositive => {
                            c.false_positives = c.false_positives.saturating_add(1);
                            *q = q
                                .saturating_sub(p.quality_false_positive_step)
                                .max(p.quality_min);
                        }
                    }
                }
            }
            RecordBody::Motion(m) => {
                let mut state = MotionState {
                    motion: m.clone(),
                    proposer: record.author.clone(),
                    approve: BTreeSet::from([record.author.clone()]),
                    reject: BTreeSet::new(),
                    decided: None,
                    decided_at: None,
                    void: None,
                };
                let id = record.id();
                self.decide(&mut state, height);
                self.motions.insert(id, state);
            }
            RecordBody::Vote(v) => {
                if let Some(mut state) = self.motions.remove(&v.motion) {
                    if v.approve {
                        state.approve.insert(record.author.clone());
                    } else {
                        state.reject.insert(record.author.clone());
                    }
                    self.decide(&mut state, height);
                    self.motions.insert(v.motion, state);
                }
            }
        }
    }

    /// Records a receipt: counters, the claimed interval (and the querier's equivocation if it
    /// overlaps one already used), and the fee split between the responder and the pool.
    fn apply_receipt(&mut self, record: &Record, receipt: &Receipt, height: u64) {
        let r = &receipt.request.request;
        let count = u64::from(r.count);
        let id = receipt.id();
        let q = self.counters.entry(r.querier.clone()).or_default();
        q.queries_made = q.queries_made.saturating_add(1);
        q.identifiers_screened = q.identifiers_screened.saturating_add(count);
        let s = self.counters.entry(r.responder.clone()).or_default();
        s.queries_served = s.queries_served.saturating_add(1);
        s.identifiers_served = s.identifiers_served.saturating_add(count);
        let claim = if self.view_key.is_some() {
            AllowanceClaim::from_bytes(&r.allowance).ok()
        } else {
            None
        };
        let epoch = claim
            .as_ref()
            .map_or_else(|| self.params.epoch_of(height), |c| c.epoch);
        if let Some(claim) = &claim {
            if let Some(first) = self.overlapping_claim(&r.querier, r.count, claim) {
                self.equivocations.push(Equivocation {
                    querier: r.querier.clone(),
                    epoch: claim.epoch,
                    first,
                    second: id,
                    height,
                });
                if self.params.suspend_on_equivocation {
                    self.suspended.entry(r.querier.clone()).or_insert(height);
                }
            }
            self.intervals
                .entry((r.querier.clone(), claim.epoch))
                .or_default()
                .insert(
                    (claim.used_after, id),
                    claim.used_after.saturating_sub(count),
                );
        }
        let used = self.used.entry((r.querier.clone(), epoch)).or_insert(0);
        *used = used.saturating_add(count);
        let cost = self.params.cost(count);
        let reward = self
            .params
            .responder_share(cost, self.quality(&r.responder));
        let fee_epoch = self.params.epoch_of(height);
        let pool = self.pools.entry(fee_epoch).or_insert(0);
        *pool = pool.saturating_add(cost - reward);
        let rid = Some(record.id());
        self.credit(
            &r.querier,
            height,
            rid,
            -cost,
            format!(
                "screened {count} at {} ({}), receipt {}",
                r.responder,
                r.list,
                hex::encode(&id[..8])
            ),
        );
        self.credit(
            &r.responder,
            height,
            rid,
            reward,
            format!(
                "served {count} to {} ({}), receipt {}",
                r.querier,
                r.list,
                hex::encode(&id[..8])
            ),
        );
        self.receipts.insert(
            id,
            ReceiptState {
                receipt: receipt.clone(),
                claim,
                submitted_by: record.author.clone(),
                height,
                details: None,
                feedback: None,
            },
        );
    }

    /// Carries a motion once at least 2/3 of current members approve; closes it once that can
    /// no longer happen.
    fn decide(&mut self, state: &mut MotionState, height: u64) {
        let n = self.members.len();
        let approve = state
            .approve
            .iter()
            .filter(|m| self.members.contains_key(*m))
            .count();
        let reject = state
            .reject
            .iter()
            .filter(|m| self.members.contains_key(*m))
            .count();
        if approve * 3 >= n * 2 {
            state.decided_at = Some(height);
            // The state may have moved since the motion was filed (another motion admitted
            // the same name or key, removed the member, ...): a motion that no longer applies
            // is closed without effect, with the reason.
            if let Err(why) = self.check_motion(&state.motion) {
                state.decided = Some(false);
                state.void = Some(why.to_string());
                return;
            }
            state.decided = Some(true);
            match &state.motion.action {
                MotionAction::Admit {
                    name,
                    identity_key,
                    address,
                } => {
                    self.members.insert(
                        name.clone(),
                        MemberEntry {
                            identity_key: *identity_key,
                            address: address.clone(),
                            since: height,
                        },
                    );
                    if !self.balances.contains_key(name) {
                        let name = name.clone();
                        self.grant(&name, height);
                    }
                }
                MotionAction::Remove { name } => {
                    self.members.remove(name);
                }
                MotionAction::SetParams(p) => {
                    self.params = *p;
                }
                MotionAction::Reinstate { name } => {
                    self.suspended.remove(name);
                }
                MotionAction::Overrule {
                    member,
                    list,
                    epoch,
                } => {
                    let (member, list, epoch) = (member.clone(), list.clone(), *epoch);
                    self.keep_allowance(&member, height);
                    if let Some(a) = self.attestations.get_mut(&(member, list, epoch)) {
                        a.overruled = Some(height);
                    }
                }
            }
        } else if n.saturating_sub(reject) * 3 < n * 2 {
            state.decided = Some(false);
            state.decided_at = Some(height);
        }
    }
}

/// Whether `why` (the refusal of `record` against the state) only says that something an
/// earlier record of the same submission provides is not on the ledger yet.
fn provided_earlier(earlier: &[Record], record: &Record, why: &Rejection) -> bool {
    match (&record.body, why) {
        (RecordBody::ListSize(ls), Rejection::NotPublished { .. }) => earlier.iter().any(|e| {
            matches!(&e.body, RecordBody::Publication(p)
                if e.author == record.author
                    && p.member == record.author
                    && p.list == ls.list
                    && p.epoch == ls.epoch
                    && p.root == ls.root)
        }),
        (RecordBody::Details(d), Rejection::UnknownReceipt(_)) => earlier
            .iter()
            .any(|e| matches!(&e.body, RecordBody::Receipt(r) if r.id() == d.receipt)),
        _ => false,
    }
}
