//! The credit invariant, over random record sequences: whatever members write (receipts
//! between any pair, confirmations and false positives, settlements, parameter changes by the
//! council, admissions), `Σ balances + Σ validator pools = Σ grants` at every height. Two
//! colluding members cannot print credits by serving each other and confirming every hit.

mod common;

use common::{genesis_members, plain_receipt, signed_receipt, Party};
use fengxin_crypto::IdentityKey;
use fengxin_ledger::{
    Batch, CreditParams, Feedback, LedgerState, Motion, MotionAction, Record, RecordBody,
    Rejection, Settlement, Verdict, Vote,
};
use fengxin_types::MemberName;
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

fn receipt(q: &Party, r: &Party, nonce: u64, count: u32) -> Record {
    let mut n = [0u8; 16];
    n[..8].copy_from_slice(&nonce.to_be_bytes());
    plain_receipt(q, signed_receipt(q, r, n, count, [3; 32]))
}

/// A consortium of `ps` with `params` and no regulator.
fn genesis(ps: &[Party], params: CreditParams) -> LedgerState {
    LedgerState::genesis_with([5; 32], genesis_members(ps), Vec::new(), params)
}

/// One step a member (honest or not) may take.
#[derive(Debug, Clone)]
enum Op {
    /// `q` screens `count` identifiers at `r`.
    Screen { q: usize, r: usize, count: u32 },
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
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..4usize, 0..4usize, 1..40u32).prop_map(|(q, r, count)| Op::Screen { q, r, count }),
        4 => (0..64usize, 0..4usize, any::<bool>())
            .prop_map(|(nth, by, confirm)| Op::Feedback { nth, by, confirm }),
        2 => (0..4usize, 1..3u64).prop_map(|(by, back)| Op::Settle { by, back }),
        1 => (-5..60i64, -10..3000i64, 0..3000u32, 0..3000u32, 0..3000u32, any::<u32>())
            .prop_map(|(cost, grant, q_min, q_start, q_max, step)| Op::Params {
                cost, grant, q_min, q_start, q_max, step
            }),
        1 => Just(Op::Admit),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn credits_are_conserved_over_any_record_sequence(ops in proptest::collection::vec(op(), 1..40)) {
        let mut ps: Vec<Party> = (0..3).map(party).collect();
        let params = CreditParams { epoch_blocks: 3, ..CreditParams::default() };
        let mut state = genesis(&ps, params);
        let mut epoch_of_list = 1;
        let apply = |state: &mut LedgerState, proposer: &Party, records: Vec<Record>| {
            state.apply_batch(&Batch::sign(proposer.name.clone(), &proposer.key, 1, 0, records))
        };
        for p in &ps {
            apply(&mut state, &ps[0], vec![publication(p, 1)]);
        }
        let mut receipts: Vec<[u8; 32]> = Vec::new();
        let mut nonce = 0;
        for (step, op) in ops.into_iter().enumerate() {
            let n = ps.len();
            let proposer = step % n;
            let records = match op {
                Op::Screen { q, r, count } => {
                    let (q, r) = (q % n, r % n);
                    if q == r || !state.members().contains_key(&ps[r].name) {
                        continue;
                    }
                    nonce += 1;
                    vec![receipt(&ps[q], &ps[r], nonce, count)]
                }
                Op::Feedback { nth, by, confirm } => {
                    let Some(id) = receipts.get(nth % receipts.len().max(1)).copied() else {
                        continue;
                    };
                    let verdict = if confirm { Verdict::Confirmed } else { Verdict::FalsePositive };
                    vec![Record::sign(
                        ps[by % n].name.clone(),
                        &ps[by % n].key,
                        RecordBody::Feedback(Feedback { receipt: id, verdict }),
                    )]
                }
                Op::Settle { by, back } => {
                    let epoch = state.current_epoch().saturating_sub(back);
                    vec![Record::sign(
                        ps[by % n].name.clone(),
                        &ps[by % n].key,
                        RecordBody::Settlement(Settlement { epoch }),
                    )]
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
            };
            let before = state.total_balances() + state.pooled();
            let applied = apply(&mut state, &ps[proposer], records);
            if let Some(block) = &applied.block {
                for r in &block.records {
                    if let RecordBody::Receipt(q) = &r.body {
                        receipts.push(q.receipt.body.id());
                    }
                }
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

/// A motion by the first member, approved by enough of the others to carry.
fn council(ps: &[Party], state: &LedgerState, action: MotionAction) -> Vec<Record> {
    let motion = Record::sign(
        ps[0].name.clone(),
        &ps[0].key,
        RecordBody::Motion(Motion {
            action,
            note: String::new(),
        }),
    );
    let id = motion.id();
    let mut out = vec![motion];
    for p in ps[1..]
        .iter()
        .filter(|p| state.members().contains_key(&p.name))
    {
        out.push(Record::sign(
            p.name.clone(),
            &p.key,
            RecordBody::Vote(Vote {
                motion: id,
                approve: true,
            }),
        ));
    }
    out
}

/// Only a receipt's querier gives feedback, once; colluding members serving each other and
/// confirming every hit move credits between them and the validators, never create them.
#[test]
fn collusion_cannot_print_credits() {
    let ps: Vec<Party> = (0..3).map(party).collect();
    let mut state = genesis(&ps, CreditParams::default());
    let apply = |state: &mut LedgerState, records: Vec<Record>| {
        state.apply_batch(&Batch::sign(ps[2].name.clone(), &ps[2].key, 1, 0, records))
    };
    apply(
        &mut state,
        vec![publication(&ps[0], 1), publication(&ps[1], 1)],
    );
    let colluders = state.balance(&ps[0].name) + state.balance(&ps[1].name);
    for nonce in 0..50u64 {
        let (q, r) = if nonce % 2 == 0 { (0, 1) } else { (1, 0) };
        let rec = receipt(&ps[q], &ps[r], nonce, 1);
        let id = match &rec.body {
            RecordBody::Receipt(x) => x.receipt.body.id(),
            _ => unreachable!("a receipt"),
        };
        let fb = |by: usize| {
            Record::sign(
                ps[by].name.clone(),
                &ps[by].key,
                RecordBody::Feedback(Feedback {
                    receipt: id,
                    verdict: Verdict::Confirmed,
                }),
            )
        };
        let out = apply(&mut state, vec![rec, fb(q), fb(q), fb(r)]);
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
