//! The credit invariant, over random record sequences: whatever members write (receipts
//! between any pair, with or without allowance claims, equivocating ones included,
//! confirmations and false positives, settlements, parameter changes by the council,
//! admissions, reinstatements), `Σ balances + Σ validator pools = Σ grants` at every height. Two
//! colluding members cannot print credits by serving each other and confirming every hit.

mod common;

use common::{
    apply, claim_for, claimed_receipt, council, feedback, genesis_members, list, nonce,
    plain_receipt, receipt_id, receipt_record, regulated_genesis, settlement, Party, CHAIN,
};
use fengxin_confidential::Opening;
use fengxin_crypto::IdentityKey;
use fengxin_ledger::{
    CreditParams, LedgerState, MotionAction, Record, RecordBody, Rejection, Verdict,
};
use fengxin_types::{Epoch, MemberName};
use proptest::prelude::*;

fn party(i: usize) -> Party {
    Party {
        name: MemberName::parse(&format!("bank-{i}")).expect("name"),
        key: IdentityKey::from_slice(&[i as u8 + 1; 32]).expect("key"),
    }
}

fn publication(p: &Party, epoch: u64) -> Record {
    common::publication(p, epoch, [3; 32])
}

/// The responder's record of `q` screening `count` identifiers at `r` (no allowance claim).
fn receipt(q: &Party, r: &Party, n: u64, count: u32) -> Record {
    plain_receipt(q, r, nonce(n), count)
}

/// A consortium of `ps` with `params`: with the regulator (every receipt carries an allowance
/// claim) or without.
fn genesis(ps: &[Party], params: CreditParams, regulated: bool) -> LedgerState {
    if regulated {
        regulated_genesis(ps, params)
    } else {
        LedgerState::genesis_with(CHAIN, genesis_members(ps), Vec::new(), params)
    }
}

/// `q` screening `count` identifiers at `r`, as `r` submits it. With a regulator, the receipt
/// claims the next `count` identifiers of `q`'s allowance in the current epoch or, with
/// `overlap` and a claim already on the ledger for the current or the previous epoch, an
/// interval overlapping the last one `q` claimed there: an equivocation. Returns the record
/// and whether it equivocates.
fn screen(
    state: &LedgerState,
    q: &Party,
    r: &Party,
    n: u64,
    count: u32,
    overlap: bool,
) -> (Record, bool) {
    if state.view_key().is_none() {
        return (receipt(q, r, n, count), false);
    }
    let current = state.current_epoch();
    let reused = [current, current - 1]
        .into_iter()
        .map(|e| (e, state.claimed(&q.name, e)))
        .find(|(e, claimed)| *e > 0 && *claimed > 0)
        .filter(|_| overlap);
    let count64 = u64::from(count);
    let (epoch, used_after) = match reused {
        Some((e, claimed)) => (e, claimed.max(count64)),
        None => (current, state.claimed(&q.name, current) + count64),
    };
    let allowance = Opening::public(state.params().base_allowance);
    let c = claim_for(&CHAIN, q, epoch, &allowance, used_after, count);
    let record = receipt_record(r, claimed_receipt(q, r, nonce(n), count, &c));
    (record, reused.is_some())
}

/// One step a member (honest or not) may take.
#[derive(Debug, Clone)]
enum Op {
    /// `q` screens `count` identifiers at `r`, reusing its last claimed interval if `overlap`
    /// (in a consortium with a regulator).
    Screen {
        q: usize,
        r: usize,
        count: u32,
        overlap: bool,
    },
    /// `by` gives feedback on the `nth` receipt so far (whatever its querier).
    Feedback {
        nth: usize,
        by: usize,
        confirm: bool,
    },
    /// `by` settles an epoch, `back` epochs before the current one.
    Settle { by: usize, back: u64 },
    /// The council sets new parameters (possibly inadmissible ones).
    Params {
        cost: i64,
        grant: i64,
        q_min: u32,
        q_start: u32,
        q_max: u32,
        step: u32,
    },
    /// The council admits a new member (the genesis rule grants it credits).
    Admit,
    /// The council reinstates a member (refused unless it is suspended).
    Reinstate { who: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..4usize, 0..4usize, 1..40u32, proptest::bool::weighted(0.4))
            .prop_map(|(q, r, count, overlap)| Op::Screen { q, r, count, overlap }),
        4 => (0..64usize, 0..4usize, any::<bool>())
            .prop_map(|(nth, by, confirm)| Op::Feedback { nth, by, confirm }),
        2 => (0..4usize, 1..3u64).prop_map(|(by, back)| Op::Settle { by, back }),
        1 => (-5..60i64, -10..3000i64, 0..3000u32, 0..3000u32, 0..3000u32, any::<u32>())
            .prop_map(|(cost, grant, q_min, q_start, q_max, step)| Op::Params {
                cost, grant, q_min, q_start, q_max, step
            }),
        1 => Just(Op::Admit),
        1 => (0..4usize).prop_map(|who| Op::Reinstate { who }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn credits_are_conserved_over_any_record_sequence(
        regulated in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..40),
    ) {
        let mut ps: Vec<Party> = (0..3).map(party).collect();
        let params = CreditParams {
            epoch_blocks: 3,
            base_allowance: 1_000_000,
            ..CreditParams::default()
        };
        let mut state = genesis(&ps, params, regulated);
        let mut epoch_of_list = 1;
        for p in &ps {
            apply(&mut state, &ps[0], vec![publication(p, 1)]);
        }
        let mut receipts: Vec<[u8; 32]> = Vec::new();
        let mut nonce = 0;
        for (step, op) in ops.into_iter().enumerate() {
            let n = ps.len();
            let proposer = step % n;
            let mut equivocation = None;
            let records = match op {
                Op::Screen { q, r, count, overlap } => {
                    let (q, r) = (q % n, r % n);
                    if q == r || !state.members().contains_key(&ps[r].name) {
                        continue;
                    }
                    nonce += 1;
                    let (record, equivocates) =
                        screen(&state, &ps[q], &ps[r], nonce, count, overlap);
                    let published = state.publication(&ps[r].name, &list(), Epoch::FIRST);
                    if equivocates && published.is_some() {
                        equivocation = Some((q, receipt_id(&record)));
                    }
                    vec![record]
                }
                Op::Feedback { nth, by, confirm } => {
                    let Some(id) = receipts.get(nth % receipts.len().max(1)).copied() else {
                        continue;
                    };
                    let verdict = if confirm { Verdict::Confirmed } else { Verdict::FalsePositive };
                    vec![feedback(&ps[by % n], id, verdict)]
                }
                Op::Settle { by, back } => {
                    let epoch = state.current_epoch().saturating_sub(back);
                    vec![settlement(&ps[by % n], epoch)]
                }
                Op::Params { cost, grant, q_min, q_start, q_max, step } => {
                    let p = CreditParams {
                        cost_per_identifier: cost,
                        initial_grant: grant,
                        quality_min: q_min,
                        quality_start: q_start,
                        quality_max: q_max,
                        quality_confirmed_step: step,
                        quality_false_positive_step: step / 2,
                        ..*state.params()
                    };
                    council(&ps, &state, MotionAction::SetParams(p))
                }
                Op::Admit => {
                    let newcomer = party(ps.len());
                    let action = MotionAction::Admit {
                        name: newcomer.name.clone(),
                        identity_key: newcomer.key.public().to_bytes(),
                        address: "127.0.0.1:1".into(),
                    };
                    ps.push(newcomer);
                    council(&ps, &state, action)
                }
                Op::Reinstate { who } => {
                    let name = ps[who % n].name.clone();
                    council(&ps, &state, MotionAction::Reinstate { name })
                }
            };
            let before = state.total_balances() + state.pooled();
            let applied = apply(&mut state, &ps[proposer], records);
            if let Some(block) = &applied.block {
                for r in &block.records {
                    if let RecordBody::Receipt(q) = &r.body {
                        receipts.push(q.id());
                    }
                }
            }
            // An equivocating receipt is accepted and charged; the ledger names both requests
            // and suspends the querier.
            if let Some((q, id)) = equivocation {
                prop_assert!(applied.rejected.is_empty(), "{:?}", applied.rejected);
                let evidence = state.equivocations().last().expect("evidence");
                prop_assert_eq!(evidence.second, id);
                prop_assert_eq!(&evidence.querier, &ps[q].name);
                prop_assert!(state.receipt(&evidence.first).is_some());
                prop_assert_eq!(
                    state.can_pay(&ps[q].name, 1),
                    Err(Rejection::Suspended(ps[q].name.clone()))
                );
            }
            // Keep blocks coming so that epochs end and settle.
            epoch_of_list += 1;
            apply(&mut state, &ps[0], vec![publication(&ps[0], epoch_of_list)]);
            prop_assert_eq!(
                state.total_balances() + state.pooled(),
                state.issued(),
                "after {:?}: balances {} + pools {} vs issued {} (before {})",
                applied.rejected, state.total_balances(), state.pooled(), state.issued(), before
            );
            for m in state.members().keys() {
                let history = state.credit_history(m);
                prop_assert_eq!(history.iter().map(|e| e.delta).sum::<i64>(), state.balance(m));
            }
        }
    }
}

/// Only a receipt's querier gives feedback, once; colluding members serving each other and
/// confirming every hit move credits between them and the validators, never create them.
#[test]
fn collusion_cannot_print_credits() {
    let ps: Vec<Party> = (0..3).map(party).collect();
    let mut state = genesis(&ps, CreditParams::default(), false);
    apply(
        &mut state,
        &ps[2],
        vec![publication(&ps[0], 1), publication(&ps[1], 1)],
    );
    let colluders = state.balance(&ps[0].name) + state.balance(&ps[1].name);
    for n in 0..50u64 {
        let (q, r) = if n % 2 == 0 { (0, 1) } else { (1, 0) };
        let rec = receipt(&ps[q], &ps[r], n, 1);
        let id = receipt_id(&rec);
        let fb = |by: usize| feedback(&ps[by], id, Verdict::Confirmed);
        let out = apply(&mut state, &ps[2], vec![rec, fb(q), fb(q), fb(r)]);
        // The second feedback, and the responder's own, are refused.
        assert_eq!(out.rejected.len(), 2, "{:?}", out.rejected);
        assert!(matches!(out.rejected[0].1, Rejection::FeedbackGiven));
    }
    let after = state.balance(&ps[0].name) + state.balance(&ps[1].name);
    assert!(after <= colluders, "{after} > {colluders}");
    assert_eq!(state.total_balances() + state.pooled(), state.issued());
    // Members in debt, or who cannot cover a screening, are refused by responders.
    assert!(state.can_pay(&ps[0].name, 1).is_ok());
    assert!(matches!(
        state.can_pay(&ps[0].name, 1_000_000),
        Err(Rejection::InsufficientCredits { .. })
    ));
}
