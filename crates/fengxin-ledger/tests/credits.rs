//! Credits and confidential counters: list-size commitments, allowance claims, sealed details,
//! and the balances of a scripted multi-epoch scenario against a table written here.

use fengxin_confidential::{
    labels as clabels, open_details, prove_range_with_context, seal_details, Commitment,
    CommittedCount, Opening, ViewSecret,
};
mod common;

use common::{genesis_members, list, signed_receipt, Party};
use fengxin_crypto::IdentityKey;
use fengxin_ledger::credits::{allowance_context, list_size_context};
use fengxin_ledger::{
    AllowanceClaim, Batch, CreditParams, Feedback, GenesisRegulator, LedgerState, ListSize,
    QueryReceipt, Record, RecordBody, Rejection, Settlement, Verdict,
};
use fengxin_types::MemberName;
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha20Rng;

fn parties() -> Vec<Party> {
    ["bank-a", "bank-b", "bank-c"]
        .iter()
        .enumerate()
        .map(|(i, n)| Party {
            name: MemberName::parse(n).expect("name"),
            key: IdentityKey::from_slice(&[i as u8 + 11; 32]).expect("key"),
        })
        .collect()
}

fn view() -> ViewSecret {
    ViewSecret::from_seed([9; 32])
}

fn params() -> CreditParams {
    CreditParams {
        initial_grant: 1000,
        cost_per_identifier: 10,
        base_allowance: 10,
        allowance_per_entry: 1,
        quality_start: 1000,
        quality_confirmed_step: 50,
        quality_false_positive_step: 100,
        quality_min: 200,
        quality_max: 2000,
        epoch_blocks: 4,
    }
}

fn genesis(ps: &[Party]) -> LedgerState {
    LedgerState::genesis_with(
        [3; 32],
        genesis_members(ps),
        vec![GenesisRegulator {
            name: MemberName::parse("regulator").expect("name"),
            identity_key: IdentityKey::from_slice(&[99; 32])
                .expect("key")
                .public()
                .to_bytes(),
            address: "127.0.0.1:2".into(),
            view_public_key: view().public().to_hex(),
        }],
        params(),
    )
}

fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

fn publication(p: &Party) -> Record {
    common::publication(p, 1, [1; 32])
}

fn size(p: &Party, value: u64) -> (Record, Opening) {
    let (count, opening) = CommittedCount::new(
        value,
        &view().public().elgamal(),
        &list_size_context(&p.name, &list()),
        &mut rng(value + 100),
    )
    .expect("commit");
    (size_record(p, count), opening)
}

fn size_record(p: &Party, size: CommittedCount) -> Record {
    Record::sign(
        p.name.clone(),
        &p.key,
        RecordBody::ListSize(Box::new(ListSize { list: list(), size })),
    )
}

/// The querier's allowance opening: base + Σ sizes.
fn allowance(opening: &Opening) -> Opening {
    Opening::public(params().base_allowance)
        .add(opening)
        .expect("add")
}

fn claim(
    state: &LedgerState,
    q: &Party,
    allowance: &Opening,
    used_after: u64,
    count: u32,
) -> AllowanceClaim {
    let epoch = state.current_epoch();
    let remaining = allowance
        .sub(&Opening::public(used_after))
        .expect("within allowance");
    AllowanceClaim {
        epoch,
        used_after,
        proof: prove_range_with_context(
            &remaining,
            64,
            clabels::ALLOWANCE_RANGE_PROOF,
            &allowance_context(&q.name, epoch, used_after, count),
            &mut rng(used_after),
        )
        .expect("prove"),
    }
}

struct Exchange {
    record: Record,
    id: [u8; 32],
}

fn receipt(
    q: &Party,
    r: &Party,
    nonce: u8,
    count: u32,
    claim: Option<AllowanceClaim>,
    sealed: bool,
) -> Exchange {
    let signed = signed_receipt(q, r, [nonce; 16], count, [1; 32]);
    let id = signed.body.id();
    let details = sealed.then(|| {
        seal_details(
            &view().public(),
            &id,
            format!("case ref CASE-{nonce}; tags and results").as_bytes(),
            &mut rng(u64::from(nonce)),
        )
        .expect("seal")
    });
    Exchange {
        record: Record::sign(
            q.name.clone(),
            &q.key,
            RecordBody::Receipt(Box::new(QueryReceipt {
                receipt: signed,
                allowance: claim,
                details,
            })),
        ),
        id,
    }
}

fn apply(state: &mut LedgerState, proposer: &Party, records: Vec<Record>) {
    let batch = Batch::sign(proposer.name.clone(), &proposer.key, 1, 0, records);
    let out = state.apply_batch(&batch);
    assert!(out.rejected.is_empty(), "{:?}", out.rejected);
    assert!(out.block.is_some());
}

#[test]
fn list_sizes_are_proven_and_only_the_regulator_reads_them() {
    let ps = parties();
    let mut state = genesis(&ps);
    let (good, opening) = size(&ps[0], 1234);
    assert_eq!(state.check(&good), Ok(()));

    // A tampered range proof.
    let RecordBody::ListSize(ls) = good.body.clone() else {
        panic!("size")
    };
    let original = ls.size.range_proof.to_bytes();
    let mut tried = 0;
    for i in (32..original.len()).step_by(97) {
        let mut bytes = original.clone();
        bytes[i] ^= 1;
        // Some flips do not even decode; those that do must not verify.
        if let Ok(proof) = fengxin_confidential::RangeProof::from_bytes(&bytes) {
            let mut tampered = ls.size.clone();
            tampered.range_proof = proof;
            assert!(matches!(
                state.check(&size_record(&ps[0], tampered)),
                Err(Rejection::BadListSize(_))
            ));
            tried += 1;
        }
    }
    assert!(tried > 0);
    // A handle made with another blinding than the commitment's.
    let other = Opening::new(1234, &mut rng(5));
    let mut mismatched = ls.size.clone();
    mismatched.handle = other.handle(&view().public().elgamal());
    assert!(matches!(
        state.check(&size_record(&ps[0], mismatched)),
        Err(Rejection::BadListSize(_))
    ));
    // A commitment to a value out of the 32-bit range cannot be built, nor passed off under
    // another bundle's proofs.
    assert!(CommittedCount::new(1 << 32, &view().public().elgamal(), b"x", &mut rng(6)).is_err());
    let mut out_of_range = ls.size.clone();
    let big = Opening::new(1 << 32, &mut rng(7));
    out_of_range.commitment = big.commit();
    out_of_range.handle = big.handle(&view().public().elgamal());
    assert!(matches!(
        state.check(&size_record(&ps[0], out_of_range)),
        Err(Rejection::BadListSize(_))
    ));
    // bank-b cannot pass off bank-a's commitment (the proofs are bound to member and list).
    assert!(matches!(
        state.check(&size_record(&ps[1], ls.size.clone())),
        Err(Rejection::BadListSize(_))
    ));

    apply(&mut state, &ps[0], vec![good]);
    let stored = state.list_sizes(&ps[0].name);
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].1.decrypt(&view()), Ok(1234));
    assert!(stored[0]
        .1
        .decrypt(&ViewSecret::from_seed([8; 32]))
        .is_err());
    // The allowance handle decrypts to per_entry × Σ sizes.
    let a = state.allowance(&ps[0].name);
    assert_eq!(a.commitment, Commitment::public(10).add(&opening.commit()));
    let sizes_part = a.commitment.sub(&Commitment::public(10));
    assert_eq!(view().decrypt(&sizes_part, &a.handle), Ok(1234));
}

#[test]
fn receipts_need_a_valid_allowance_claim_and_sealed_details() {
    let ps = parties();
    let mut state = genesis(&ps);
    let (sa, oa) = size(&ps[0], 5);
    apply(&mut state, &ps[1], vec![publication(&ps[1]), sa]);
    let allow = allowance(&oa); // 15

    let ok = receipt(
        &ps[0],
        &ps[1],
        1,
        10,
        Some(claim(&state, &ps[0], &allow, 10, 10)),
        true,
    );
    assert_eq!(state.check(&ok.record), Ok(()));
    // Without a claim or without sealed details.
    let bare = receipt(&ps[0], &ps[1], 2, 1, None, true);
    assert_eq!(
        state.check(&bare.record),
        Err(Rejection::Incomplete("an allowance claim"))
    );
    let unsealed = receipt(
        &ps[0],
        &ps[1],
        2,
        1,
        Some(claim(&state, &ps[0], &allow, 1, 1)),
        false,
    );
    assert!(matches!(
        state.check(&unsealed.record),
        Err(Rejection::Incomplete(_))
    ));
    // A proof made for another usage than the one claimed.
    let mut wrong = claim(&state, &ps[0], &allow, 15, 6);
    wrong.used_after = 16;
    let over = receipt(&ps[0], &ps[1], 3, 6, Some(wrong), true);
    assert!(matches!(
        state.check(&over.record),
        Err(Rejection::OverAllowance(_))
    ));
    // A tampered proof.
    let mut tampered = claim(&state, &ps[0], &allow, 10, 10);
    let mut bytes = tampered.proof.to_bytes();
    bytes[10] ^= 1;
    if let Ok(p) = fengxin_confidential::RangeProof::from_bytes(&bytes) {
        tampered.proof = p;
        let t = receipt(&ps[0], &ps[1], 4, 10, Some(tampered), true);
        assert!(matches!(
            state.check(&t.record),
            Err(Rejection::OverAllowance(_))
        ));
    }

    apply(&mut state, &ps[2], vec![ok.record.clone()]);
    assert_eq!(state.claimed(&ps[0].name, 1), 10);
    // The same receipt again is a replay; a new one reusing the claimed interval overlaps.
    assert_eq!(state.check(&ok.record), Err(Rejection::Replayed));
    let overlap = receipt(
        &ps[0],
        &ps[1],
        5,
        5,
        Some(claim(&state, &ps[0], &allow, 10, 5)),
        true,
    );
    assert!(matches!(
        state.check(&overlap.record),
        Err(Rejection::OverAllowance(_))
    ));
    // 5 more fit exactly; a 16th identifier has no valid proof at all.
    let fits = receipt(
        &ps[0],
        &ps[1],
        6,
        5,
        Some(claim(&state, &ps[0], &allow, 15, 5)),
        true,
    );
    assert_eq!(state.check(&fits.record), Ok(()));
    assert!(allow.sub(&Opening::public(16)).is_err());

    // Only the regulator opens the details, and only for this receipt.
    let RecordBody::Receipt(q) = &ok.record.body else {
        panic!("receipt")
    };
    let sealed = q.details.as_ref().expect("sealed");
    let plain = open_details(&view(), &ok.id, sealed).expect("regulator opens");
    assert_eq!(plain, b"case ref CASE-1; tags and results");
    assert!(open_details(&ViewSecret::from_seed([1; 32]), &ok.id, sealed).is_err());
    assert!(open_details(&view(), &fits.id, sealed).is_err());
    let on_ledger = fengxin_ledger::encode(&ok.record);
    assert!(
        !on_ledger.windows(8).any(|w| w == b"case ref"),
        "the record holds no plaintext detail"
    );
}

#[test]
fn balances_over_a_scripted_multi_epoch_scenario() {
    let ps = parties();
    let (a, b, c) = (&ps[0], &ps[1], &ps[2]);
    let mut s = genesis(&ps);
    let (sa, oa) = size(a, 5);
    let (sb, _) = size(b, 3);
    let (sc, oc) = size(c, 2);
    let (allow_a, allow_c) = (allowance(&oa), allowance(&oc)); // 15 and 12
                                                               // Height 1 (epoch 1), proposed by a: publications and sizes.
    apply(&mut s, a, vec![publication(b), publication(c), sa, sb, sc]);
    // Height 2, by b: a screens 2 at b.
    let r1 = receipt(a, b, 1, 2, Some(claim(&s, a, &allow_a, 2, 2)), true);
    apply(&mut s, b, vec![r1.record.clone()]);
    // Height 3, by c: a screens 3 at c; c screens 1 at b.
    let r2 = receipt(a, c, 2, 3, Some(claim(&s, a, &allow_a, 5, 3)), true);
    let r3 = receipt(c, b, 3, 1, Some(claim(&s, c, &allow_c, 1, 1)), true);
    apply(&mut s, c, vec![r2.record, r3.record.clone()]);
    // Height 4, by a: a confirms the hit from b.
    let fb = |p: &Party, id: [u8; 32], verdict| {
        Record::sign(
            p.name.clone(),
            &p.key,
            RecordBody::Feedback(Feedback {
                receipt: id,
                verdict,
            }),
        )
    };
    apply(&mut s, a, vec![fb(a, r1.id, Verdict::Confirmed)]);
    assert_eq!(s.current_epoch(), 2);
    // Height 5 (epoch 2), by b: a screens 2 at b (b's quality is 1050 now); epoch 1 settles.
    let settle = |p: &Party, epoch| {
        Record::sign(
            p.name.clone(),
            &p.key,
            RecordBody::Settlement(Settlement { epoch }),
        )
    };
    assert!(matches!(
        s.check(&settle(a, 2)),
        Err(Rejection::Settlement(_))
    ));
    let r4 = receipt(a, b, 4, 2, Some(claim(&s, a, &allow_a, 2, 2)), true);
    apply(&mut s, b, vec![r4.record, settle(b, 1)]);
    assert!(matches!(
        s.check(&settle(c, 1)),
        Err(Rejection::Settlement(_))
    ));
    // Height 6, by c: c reports b's hit as a false positive (quality 950), then screens 4 at b.
    let r5 = receipt(c, b, 5, 4, Some(claim(&s, c, &allow_c, 4, 4)), true);
    apply(
        &mut s,
        c,
        vec![fb(c, r3.id, Verdict::FalsePositive), r5.record],
    );

    // Fees are split, never created: the responder takes cost × quality / 2000, the rest
    // goes to the epoch's validator pool. Epoch 1's pool (10 + 15 + 5 = 30) is paid for 4
    // blocks (a 2, b 1, c 1): 15, 7, 7, and the 1 left carries to epoch 2, which also holds
    // 20 − 10 (r4 at quality 1050) and 40 − 19 (r5 at 950).
    // member, balance, quality, used in epoch 1, used in epoch 2
    let expected = [
        ("bank-a", 1000 - 20 - 30 - 20 + 15, 1000, 5, 2),
        ("bank-b", 1000 + 10 + 5 + 10 + 7 + 19, 950, 0, 0),
        ("bank-c", 1000 + 15 - 10 + 7 - 40, 1000, 1, 4),
    ];
    assert_eq!(s.pooled(), 1 + 10 + 21);
    assert_eq!(s.issued(), 3000);
    assert_eq!(s.total_balances() + s.pooled(), s.issued());
    for (name, balance, quality, used1, used2) in expected {
        let m = MemberName::parse(name).expect("name");
        assert_eq!(s.balance(&m), balance, "{name} balance");
        assert_eq!(s.quality(&m), quality, "{name} quality");
        assert_eq!(s.used(&m, 1), used1, "{name} epoch 1");
        assert_eq!(s.used(&m, 2), used2, "{name} epoch 2");
        // Every change is explained by a record (or the genesis grant) and adds up.
        let history = s.credit_history(&m);
        assert_eq!(history.iter().map(|e| e.delta).sum::<i64>(), balance);
        assert!(history[1..].iter().all(|e| e.record.is_some()));
        assert_eq!(history.last().map(|e| e.balance), Some(balance));
    }
}

#[test]
fn a_new_epochs_size_commitment_does_not_invalidate_claims_in_flight() {
    let ps = parties();
    let (a, b, c) = (&ps[0], &ps[1], &ps[2]);
    let mut s = genesis(&ps);
    let (first, old) = size(a, 5);
    let (sc, oc) = size(c, 2);
    apply(&mut s, b, vec![publication(b), first, sc]);
    // A claim against bank-a's epoch-1 allowance, made but not yet committed...
    let in_flight = receipt(a, b, 1, 2, Some(claim(&s, a, &allowance(&old), 2, 2)), true);
    // ...while blocks move on into epoch 2 (four blocks per epoch)...
    for used in 1..=3u64 {
        let r = receipt(
            c,
            b,
            10 + used as u8,
            1,
            Some(claim(&s, c, &allowance(&oc), used, 1)),
            true,
        );
        apply(&mut s, a, vec![r.record]);
    }
    assert_eq!(s.current_epoch(), 2);
    // ...and bank-a commits its unchanged size afresh for the new epoch.
    let (count, new) = CommittedCount::new(
        5,
        &view().public().elgamal(),
        &list_size_context(&a.name, &list()),
        &mut rng(777),
    )
    .expect("commit");
    assert_ne!(old.commit(), new.commit(), "a fresh blinding");
    apply(&mut s, b, vec![size_record(a, count)]);
    // The claim in flight still holds; new claims use the new allowance.
    assert_eq!(s.check(&in_flight.record), Ok(()));
    let now = receipt(a, b, 2, 1, Some(claim(&s, a, &allowance(&new), 3, 1)), true);
    assert_eq!(s.check(&now.record), Ok(()));
    // A claim proven against an allowance the ledger never held does not.
    let other = Opening::new(5, &mut rng(778));
    let forged = receipt(
        a,
        b,
        3,
        1,
        Some(claim(&s, a, &allowance(&other), 4, 1)),
        true,
    );
    assert!(matches!(
        s.check(&forged.record),
        Err(Rejection::OverAllowance(_))
    ));
}

/// A claim for an epoch at the edge of the integers, or a usage below its own count, is a
/// typed rejection, not an overflow.
#[test]
fn claims_at_the_edges_of_the_integers_are_rejected() {
    let ps = parties();
    let state = genesis(&ps);
    let base = Opening::public(params().base_allowance);
    let mut c = claim(&state, &ps[0], &base, 1, 1);
    c.epoch = u64::MAX;
    assert!(matches!(
        state.check_claim(&ps[0].name, 1, &c),
        Err(Rejection::OverAllowance(_))
    ));
    let mut c = claim(&state, &ps[0], &base, 1, 1);
    c.used_after = u64::MAX;
    assert!(state.check_claim(&ps[0].name, 0, &c).is_err());
    assert!(state.check_claim(&ps[0].name, u32::MAX, &c).is_err());
    let c = claim(&state, &ps[0], &base, 1, 1);
    assert!(matches!(
        state.check_claim(&ps[0].name, 2, &c),
        Err(Rejection::OverAllowance(_))
    ));
}
