//! The incentive scheme (docs/credits.md): public credits, confidential allowances.
//!
//! * **Credits** are public integers, and the scheme conserves them by construction. The only
//!   issuance is the genesis rule: every founding member, and every member the council admits,
//!   is granted [`CreditParams::initial_grant`] once. A query receipt moves
//!   `cost_per_identifier × count` from the querier; that amount is split, never enlarged:
//!   the responder receives `cost × quality / quality_max` (its quality weight shapes its
//!   share), the rest goes to the epoch's validator pool. An epoch settlement pays the pool
//!   out to the validators in proportion to the blocks each proposed in that epoch; what
//!   integer division leaves over (or a pool with no current member to pay) carries to the
//!   epoch in progress. So at every height `Σ balances + Σ pools = Σ grants`
//!   ([`LedgerState::issued`](crate::LedgerState::issued)). A confirmed hit raises the
//!   responder's quality weight, a false positive lowers it; one feedback per receipt, from
//!   its querier, so confirmations can shift a fee between a responder and the validators but
//!   never create credits. Balances may go below zero only through receipts already served
//!   concurrently: that is a debt, and responders refuse members in debt or whose balance
//!   cannot cover a screening ([`LedgerState::can_pay`](crate::LedgerState::can_pay)).
//! * **Allowances** are confidential. Each member commits to the size of each list (a Pedersen
//!   commitment with a 32-bit range proof and a decrypt handle for the regulator). A member's
//!   allowance per epoch is `base_allowance + allowance_per_entry × Σ sizes`, computed on the
//!   ledger from the commitments. Each receipt claims a cumulative usage `used_after` for the
//!   epoch and proves with a 64-bit range proof that `allowance − used_after ≥ 0`; an honest
//!   member's claimed intervals `(used_after − count, used_after]` in one epoch never overlap,
//!   so the identifiers it screens in an epoch never exceed its allowance, whatever order its
//!   receipts are committed in.
//! * A size commitment is bound to one publication (chain, member, list, epoch, root): one per
//!   publication, refused when replayed or for a publication the ledger does not hold. Claims
//!   made against the allowance in force before a member's latest size commitment stay valid
//!   for claims of that ledger epoch or earlier, so a new publication never invalidates
//!   receipts already in flight.
//! * A querier that signs overlapping claimed intervals (the same allowance spent at two
//!   responders, or twice at one) equivocates: both receipts are accepted and charged (both
//!   responders worked), the ledger records the evidence naming the two signed requests, and
//!   with [`CreditParams::suspend_on_equivocation`] responders refuse the querier until the
//!   council reinstates it.

use crate::Digest;
use fengxin_confidential::{Commitment, CommittedCount, DecryptHandle, RangeProof};
use fengxin_crypto::labels;
use fengxin_signed::canon::Canon;
use fengxin_types::{Epoch, ListId, MemberName};
use serde::{Deserialize, Serialize};

/// The scheme's parameters: in genesis, changed only by a governance motion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditParams {
    /// Credits every founding (and admitted) member starts with.
    pub initial_grant: i64,
    /// Credits a querier pays per screened identifier (split between the responder and the
    /// validators).
    pub cost_per_identifier: i64,
    /// Identifiers a member may screen per epoch without contributing lists.
    pub base_allowance: u64,
    /// Extra identifiers per epoch for every committed list entry.
    pub allowance_per_entry: u64,
    /// Quality weight (per mille) a member starts with.
    pub quality_start: u32,
    /// Raise of the responder's quality for a confirmed hit.
    pub quality_confirmed_step: u32,
    /// Drop of the responder's quality for a false positive.
    pub quality_false_positive_step: u32,
    /// Lowest quality weight.
    pub quality_min: u32,
    /// Highest quality weight.
    pub quality_max: u32,
    /// Blocks per epoch.
    pub epoch_blocks: u64,
    /// The penalty for equivocation (overlapping allowance claims): when set, the querier's
    /// screening is suspended until the council reinstates it.
    #[serde(default = "yes")]
    pub suspend_on_equivocation: bool,
    /// Most entries a list may count: the regulator refutes a root whose committed size is
    /// larger, so no size above it ever raises an allowance.
    #[serde(default = "default_max_list_entries")]
    pub max_list_entries: u64,
}

fn yes() -> bool {
    true
}

fn default_max_list_entries() -> u64 {
    DEFAULT_MAX_LIST_ENTRIES
}

/// The default of [`CreditParams::max_list_entries`]: 50 million entries.
pub const DEFAULT_MAX_LIST_ENTRIES: u64 = 50_000_000;

impl Default for CreditParams {
    fn default() -> Self {
        Self {
            initial_grant: 10_000,
            cost_per_identifier: 10,
            base_allowance: 100,
            allowance_per_entry: 1,
            quality_start: 1000,
            quality_confirmed_step: 50,
            quality_false_positive_step: 100,
            quality_min: 200,
            quality_max: 2000,
            epoch_blocks: 100,
            suspend_on_equivocation: true,
            max_list_entries: DEFAULT_MAX_LIST_ENTRIES,
        }
    }
}

impl CreditParams {
    /// The epoch a block at `height` belongs to (1-based).
    pub fn epoch_of(&self, height: u64) -> u64 {
        height.saturating_sub(1) / self.epoch_blocks.max(1) + 1
    }

    /// The responder's share of a fee of `cost` at `quality`: `cost × quality / quality_max`,
    /// never more than `cost` nor less than zero. The rest of the fee goes to the validators.
    pub fn responder_share(&self, cost: i64, quality: u32) -> i64 {
        let max = i128::from(self.quality_max.max(1));
        let q = i128::from(quality).min(max);
        let share = i128::from(cost.max(0)) * q / max;
        i64::try_from(share)
            .unwrap_or(i64::MAX)
            .clamp(0, cost.max(0))
    }

    /// Whether the parameters are admissible: positive epochs, non-negative grant and cost,
    /// and `quality_min ≤ quality_start ≤ quality_max` with `quality_max > 0`.
    pub fn check(&self) -> Result<(), String> {
        if self.epoch_blocks == 0 {
            return Err("epoch_blocks must be positive".into());
        }
        if self.max_list_entries == 0 {
            return Err("max_list_entries must be positive".into());
        }
        if self.initial_grant < 0 || self.cost_per_identifier < 0 {
            return Err("initial_grant and cost_per_identifier must not be negative".into());
        }
        if self.quality_max == 0
            || self.quality_min > self.quality_start
            || self.quality_start > self.quality_max
        {
            return Err(
                "quality_min ≤ quality_start ≤ quality_max and quality_max > 0 are required".into(),
            );
        }
        Ok(())
    }

    /// The querier's cost for `count` identifiers.
    pub fn cost(&self, count: u64) -> i64 {
        self.cost_per_identifier
            .saturating_mul(i64::try_from(count).unwrap_or(i64::MAX))
    }
}

/// A committed list size (the record body), bound to one publication.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSize {
    /// The list.
    pub list: ListId,
    /// The publication epoch.
    pub epoch: Epoch,
    /// The published root.
    pub root: [u8; 32],
    /// The commitment, its range proof, the regulator's handle and the handle proof.
    pub size: CommittedCount,
}

/// The context list-size proofs are bound to: the chain, the member and the publication
/// (list, epoch, root).
pub fn list_size_context(
    chain: &Digest,
    member: &MemberName,
    list: &ListId,
    epoch: Epoch,
    root: &[u8; 32],
) -> Vec<u8> {
    Canon::new(labels::LIST_SIZE_CONTEXT)
        .fixed(chain)
        .name(member.as_str())
        .name(list.as_str())
        .u64(epoch.get())
        .fixed(root)
        .finish()
}

/// A receipt's claim to stay within its allowance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowanceClaim {
    /// The epoch whose allowance is used.
    pub epoch: u64,
    /// The querier's cumulative usage in that epoch, this receipt included.
    pub used_after: u64,
    /// 64-bit range proof that `allowance − used_after ≥ 0`.
    pub proof: RangeProof,
}

impl AllowanceClaim {
    /// The claim's encoding inside a signed query request (postcard).
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::encode(self)
    }

    /// Decodes a claim from a query request.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, String> {
        postcard::from_bytes(bytes).map_err(|e| format!("allowance claim: {e}"))
    }
}

/// The context an allowance proof is bound to: the chain, the querier, the ledger epoch, the
/// cumulative usage and the receipt's count.
pub fn allowance_context(
    chain: &Digest,
    querier: &MemberName,
    epoch: u64,
    used_after: u64,
    count: u32,
) -> Vec<u8> {
    Canon::new(labels::ALLOWANCE_CONTEXT)
        .fixed(chain)
        .name(querier.as_str())
        .u64(epoch)
        .u64(used_after)
        .u32(count)
        .finish()
}

/// A member's allowance commitment and the regulator's handle for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowance {
    /// Commitment to `base + per_entry × Σ sizes`.
    pub commitment: Commitment,
    /// The regulator's handle for `per_entry × Σ sizes` (the base is public).
    pub handle: DecryptHandle,
}

/// Why a member's credits changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditEntry {
    /// Block height (0 = genesis).
    pub height: u64,
    /// The record behind the change (none for the genesis grant).
    pub record: Option<Digest>,
    /// Change.
    pub delta: i64,
    /// Balance after.
    pub balance: i64,
    /// Human-readable reason.
    pub reason: String,
}
