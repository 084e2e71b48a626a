//! The incentive scheme (DESIGN §7): public credits, confidential allowances.
//!
//! * **Credits** are public integers. Genesis grants every founding member
//!   [`CreditParams::initial_grant`]; a query receipt moves `cost_per_identifier × count` from
//!   the querier and pays the responder `reward_per_identifier × count × quality / 1000`; a
//!   confirmed hit raises the responder's quality weight, a false positive lowers it; an epoch
//!   settlement pays each validator `validator_reward_per_block` for every block it proposed in
//!   that epoch. Every change is a [`CreditEntry`] naming the record (or block) behind it.
//! * **Allowances** are confidential. Each member commits to the size of each list (a Pedersen
//!   commitment with a 32-bit range proof and a decrypt handle for the regulator). A member's
//!   allowance per epoch is `base_allowance + allowance_per_entry × Σ sizes`, computed on the
//!   ledger from the commitments. Each receipt claims a cumulative usage `used_after` for the
//!   epoch and proves with a 64-bit range proof that `allowance − used_after ≥ 0`; the claimed
//!   intervals `(used_after − count, used_after]` of one member in one epoch must not overlap, so
//!   the identifiers it screens in an epoch never exceed its allowance, whatever order its
//!   receipts are committed in.
//! * Members commit their list sizes again every epoch (fresh blindings). Claims made against
//!   the allowance in force before a member's latest size commitment stay valid for claims of
//!   that epoch or earlier, so a re-commitment never invalidates receipts already in flight.

use crate::Digest;
use fengxin_confidential::{Commitment, CommittedCount, DecryptHandle, RangeProof};
use fengxin_types::{ListId, MemberName};
use serde::{Deserialize, Serialize};

/// The scheme's parameters: in genesis, changed only by a governance motion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreditParams {
    /// Credits every founding (and admitted) member starts with.
    pub initial_grant: i64,
    /// Credits a querier pays per screened identifier.
    pub cost_per_identifier: i64,
    /// Credits a responder earns per identifier served, at quality 1000.
    pub reward_per_identifier: i64,
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
    /// Credits per block proposed, paid at the epoch's settlement.
    pub validator_reward_per_block: i64,
    /// Blocks per epoch.
    pub epoch_blocks: u64,
}

impl Default for CreditParams {
    fn default() -> Self {
        Self {
            initial_grant: 10_000,
            cost_per_identifier: 10,
            reward_per_identifier: 8,
            base_allowance: 100,
            allowance_per_entry: 1,
            quality_start: 1000,
            quality_confirmed_step: 50,
            quality_false_positive_step: 100,
            quality_min: 200,
            quality_max: 2000,
            validator_reward_per_block: 5,
            epoch_blocks: 100,
        }
    }
}

impl CreditParams {
    /// The epoch a block at `height` belongs to (1-based).
    pub fn epoch_of(&self, height: u64) -> u64 {
        height.saturating_sub(1) / self.epoch_blocks.max(1) + 1
    }

    /// The responder's reward for `count` identifiers at `quality` (per mille).
    pub fn reward(&self, count: u64, quality: u32) -> i64 {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        self.reward_per_identifier
            .saturating_mul(count)
            .saturating_mul(i64::from(quality))
            / 1000
    }

    /// The querier's cost for `count` identifiers.
    pub fn cost(&self, count: u64) -> i64 {
        self.cost_per_identifier
            .saturating_mul(i64::try_from(count).unwrap_or(i64::MAX))
    }
}

/// A committed list size (the record body).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListSize {
    /// The list.
    pub list: ListId,
    /// The commitment, its range proof, the regulator's handle and the handle proof.
    pub size: CommittedCount,
}

/// The context list-size proofs are bound to: the member and the list.
pub fn list_size_context(member: &MemberName, list: &ListId) -> Vec<u8> {
    crate::encode(&(member, list))
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

/// The context an allowance proof is bound to.
pub fn allowance_context(querier: &MemberName, epoch: u64, used_after: u64, count: u32) -> Vec<u8> {
    crate::encode(&(querier, epoch, used_after, count))
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
