//! Credits and confidential counters: list-size commitments, allowance claims, sealed details,
//! equivocation, and the balances of a scripted multi-epoch scenario against a table written
//! here.

use fengxin_confidential::{open_details, Commitment, CommittedCount, Opening, ViewSecret};
mod common;

use common::{
    apply_ok, attested, claim, claim_for, committed, details_record, details_text, feedback,
    motion, receipt_record, regulated_genesis, rng, settlement, size_context, size_record, view,
    vote, Party,
};
use fengxin_crypto::IdentityKey;
use fengxin_ledger::{
    AllowanceClaim, AttestationOutcome, CreditParams, Equivocation, LedgerState, MotionAction,
    Record, RecordBody, Rejection, Verdict,
};
use fengxin_types::MemberName;

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
        suspend_on_equivocation: true,
        max_list_entries: 1_000_000,
    }
}

fn genesis(ps: &[Party]) -> LedgerState {
    regulated_genesis(ps, params())
}

/// The root every publication here has.
const ROOT: [u8; 32] = [1; 32];

fn publication(p: &Party, epoch: u64) -> Record {
    common::publication(p, epoch, ROOT)
}

/// `p`'s size record of `value` entries for its publication at `epoch`, and its opening.
fn size(p: &Party, epoch: u64, value: u64) -> (Record, Opening) {
    common::size(p, epoch, ROOT, value, value + 100 * epoch)
}

/// The querier's allowance opening: base + Σ sizes.
fn allowance(opening: &Opening) -> Opening {
    common::allowance(params().base_allowance, &[opening])
}

struct Exchange {
    /// The receipt record, as the responder submits it.
    record: Record,
    /// The request id.
    id: [u8; 32],
}

/// `q` screening `count` identifiers at `r` under `claim` (none: an empty allowance field).
fn receipt(q: &Party, r: &Party, nonce: u8, count: u32, claim: Option<AllowanceClaim>) -> Exchange {
    let allowance = claim.as_ref().map(AllowanceClaim::to_bytes);
    let request = common::request(q, r, [nonce; 16], count, allowance.unwrap_or_default());
    let receipt = common::countersigned(q, r, request);
    Exchange {
        id: receipt.id(),
        record: receipt_record(r, receipt),
    }
}

#[test]
fn list_sizes_are_proven_and_only_the_regulator_reads_them() {
    let ps = parties();
    let mut state = genesis(&ps);
    apply_ok(
        &mut state,
        &ps[2],
        vec![publication(&ps[0], 1), publication(&ps[1], 1)],
    );
    let (good, opening) = size(&ps[0], 1, 1234);
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
                state.check(&size_record(&ps[0], 1, ROOT, tampered)),
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
        state.check(&size_record(&ps[0], 1, ROOT, mismatched)),
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
        state.check(&size_record(&ps[0], 1, ROOT, out_of_range)),
        Err(Rejection::BadListSize(_))
    ));
    // bank-b cannot pass off bank-a's commitment for its own publication of the same root
    // (the proofs are bound to the member and the publication).
    assert!(matches!(
        state.check(&size_record(&ps[1], 1, ROOT, ls.size.clone())),
        Err(Rejection::BadListSize(_))
    ));

    // Committed but not attested yet: the size is on the ledger and counts nothing.
    apply_ok(&mut state, &ps[0], vec![good.clone()]);
    assert_eq!(state.list_sizes(&ps[0].name).len(), 1);
    assert_eq!(
        state.allowance(&ps[0].name).commitment,
        Commitment::public(10)
    );
    let RecordBody::ListSize(ls) = &good.body else {
        panic!("size")
    };
    let attested = common::attestation_of(&ps[0].name, ls, AttestationOutcome::Attested, "");
    apply_ok(&mut state, &ps[0], vec![attested]);
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
fn receipts_need_a_valid_allowance_claim_and_details_are_sealed_apart() {
    let ps = parties();
    let mut state = genesis(&ps);
    let (sa, oa) = size(&ps[0], 1, 5);
    apply_ok(
        &mut state,
        &ps[1],
        attested(vec![publication(&ps[0], 1), publication(&ps[1], 1), sa]),
    );
    let allow = allowance(&oa); // 15

    let ok = receipt(
        &ps[0],
        &ps[1],
        1,
        10,
        Some(claim(&state, &ps[0], &allow, 10, 10)),
    );
    assert_eq!(state.check(&ok.record), Ok(()));
    // Without a claim, or with bytes that are no claim.
    let bare = receipt(&ps[0], &ps[1], 2, 1, None);
    assert_eq!(
        state.check(&bare.record),
        Err(Rejection::Incomplete("an allowance claim"))
    );
    let garbage = common::countersigned(
        &ps[0],
        &ps[1],
        common::request(&ps[0], &ps[1], [2; 16], 1, vec![0xff; 3]),
    );
    assert!(matches!(
        state.check(&receipt_record(&ps[1], garbage)),
        Err(Rejection::Malformed {
            field: "allowance",
            ..
        })
    ));
    // A proof made for another usage than the one claimed.
    let mut wrong = claim(&state, &ps[0], &allow, 15, 6);
    wrong.used_after = 16;
    let over = receipt(&ps[0], &ps[1], 3, 6, Some(wrong));
    assert!(matches!(
        state.check(&over.record),
        Err(Rejection::OverAllowance(_))
    ));
    // A proof made for another count, or for another chain.
    let other_count = receipt(
        &ps[0],
        &ps[1],
        3,
        9,
        Some(claim(&state, &ps[0], &allow, 10, 10)),
    );
    assert!(matches!(
        state.check(&other_count.record),
        Err(Rejection::OverAllowance(_))
    ));
    let other_chain = claim_for(&[8; 32], &ps[0], state.current_epoch(), &allow, 10, 10);
    let other_chain = receipt(&ps[0], &ps[1], 3, 10, Some(other_chain));
    assert!(matches!(
        state.check(&other_chain.record),
        Err(Rejection::OverAllowance(_))
    ));
    // A tampered proof.
    let mut tampered = claim(&state, &ps[0], &allow, 10, 10);
    let mut bytes = tampered.proof.to_bytes();
    bytes[10] ^= 1;
    if let Ok(p) = fengxin_confidential::RangeProof::from_bytes(&bytes) {
        tampered.proof = p;
        let t = receipt(&ps[0], &ps[1], 4, 10, Some(tampered));
        assert!(matches!(
            state.check(&t.record),
            Err(Rejection::OverAllowance(_))
        ));
    }

    apply_ok(&mut state, &ps[2], vec![ok.record.clone()]);
    assert_eq!(state.claimed(&ps[0].name, 1), 10);
    let stored = state.receipt(&ok.id).expect("on the ledger");
    assert_eq!(stored.claim.as_ref().map(|c| c.used_after), Some(10));
    assert_eq!(stored.details, None);
    // The same receipt again is a replay.
    assert_eq!(state.check(&ok.record), Err(Rejection::Replayed));
    // 5 more fit exactly; a 16th identifier has no valid proof at all.
    let fits = receipt(
        &ps[0],
        &ps[1],
        6,
        5,
        Some(claim(&state, &ps[0], &allow, 15, 5)),
    );
    assert_eq!(state.check(&fits.record), Ok(()));
    assert!(allow.sub(&Opening::public(16)).is_err());

    // The querier seals the details apart, bound to the receipt; the responder cannot.
    let details = details_record(&ps[0], ok.id, 1);
    assert!(matches!(
        state.check(&details_record(&ps[1], ok.id, 1)),
        Err(Rejection::NotAuthorsRecord { .. })
    ));
    apply_ok(&mut state, &ps[2], vec![details.clone()]);
    // Only the regulator opens the details, and only for this receipt.
    let sealed = state
        .receipt(&ok.id)
        .and_then(|r| r.details.as_ref())
        .expect("sealed");
    let plain = open_details(&view(), &ok.id, sealed).expect("regulator opens");
    assert_eq!(plain, details_text(1));
    assert!(open_details(&ViewSecret::from_seed([1; 32]), &ok.id, sealed).is_err());
    assert!(open_details(&view(), &fits.id, sealed).is_err());
    for record in [&ok.record, &details] {
        let on_ledger = fengxin_ledger::encode(record);
        assert!(
            !on_ledger.windows(8).any(|w| w == b"case ref"),
            "the record holds no plaintext detail"
        );
    }
}

/// A querier that spends one interval of its allowance twice (here at two responders)
/// equivocates: both receipts are accepted and charged, the ledger names both requests, and
/// responders refuse the querier until the council reinstates it.
#[test]
fn overlapping_claims_are_charged_recorded_and_suspend_the_querier() {
    let ps = parties();
    let (a, b, c) = (&ps[0], &ps[1], &ps[2]);
    let mut s = genesis(&ps);
    let (sa, oa) = size(a, 1, 5);
    let first = apply_ok(
        &mut s,
        b,
        attested(vec![
            publication(a, 1),
            publication(b, 1),
            publication(c, 1),
            sa,
        ]),
    );
    let allow = allowance(&oa); // 15
    let ok = receipt(a, b, 1, 10, Some(claim(&s, a, &allow, 10, 10)));
    let second = apply_ok(&mut s, c, vec![ok.record.clone()]);
    assert_eq!(s.can_pay(&a.name, 1), Ok(()));

    // The same interval (5, 10] again, at c.
    let again = claim(&s, a, &allow, 10, 5);
    assert_eq!(s.overlapping_claim(&a.name, 5, &again), Some(ok.id));
    let overlap = receipt(a, c, 2, 5, Some(again));
    assert_eq!(s.check(&overlap.record), Ok(()));
    let balance = s.balance(&a.name);
    let third = apply_ok(&mut s, b, vec![overlap.record.clone()]);

    // Both are on the ledger and charged.
    assert!(s.receipt(&ok.id).is_some() && s.receipt(&overlap.id).is_some());
    assert_eq!(s.balance(&a.name), balance - 50);
    assert_eq!(s.used(&a.name, 1), 15);
    assert_eq!(s.claimed(&a.name, 1), 10);
    assert_eq!(s.total_balances() + s.pooled(), s.issued());
    // The evidence names both requests; the querier is suspended.
    assert_eq!(
        s.equivocations(),
        &[Equivocation {
            querier: a.name.clone(),
            epoch: 1,
            first: ok.id,
            second: overlap.id,
            height: 3,
        }]
    );
    assert_eq!(s.suspended(&a.name), Some(3));
    assert_eq!(
        s.can_pay(&a.name, 1),
        Err(Rejection::Suspended(a.name.clone()))
    );
    assert_eq!(s.can_pay(&b.name, 1), Ok(()));
    // Receipts already served are still accepted and charged.
    let served = receipt(a, b, 3, 5, Some(claim(&s, a, &allow, 15, 5)));
    assert_eq!(s.check(&served.record), Ok(()));

    // Replaying the blocks records the same evidence.
    let replayed = [&first, &second, &third]
        .iter()
        .try_fold(genesis(&ps), |st, block| st.replay(block))
        .expect("replay");
    assert_eq!(replayed, s);

    // Only a suspended member can be reinstated; 2 of 3 carry it.
    assert!(matches!(
        s.check(&motion(
            b,
            MotionAction::Reinstate {
                name: c.name.clone()
            }
        )),
        Err(Rejection::InvalidMotion(_))
    ));
    let reinstate = motion(
        b,
        MotionAction::Reinstate {
            name: a.name.clone(),
        },
    );
    apply_ok(&mut s, c, vec![reinstate.clone()]);
    assert_eq!(s.suspended(&a.name), Some(3), "1 of 3 is not 2/3");
    apply_ok(&mut s, c, vec![vote(c, &reinstate, true)]);
    assert_eq!(s.motions()[&reinstate.id()].decided, Some(true));
    assert_eq!(s.suspended(&a.name), None);
    assert_eq!(s.can_pay(&a.name, 1), Ok(()));
    assert_eq!(s.equivocations().len(), 1, "the evidence stays");

    // With the penalty switched off, the evidence is recorded and nobody is suspended.
    let mut lenient = regulated_genesis(
        &ps,
        CreditParams {
            suspend_on_equivocation: false,
            ..params()
        },
    );
    for block in [&first, &second, &third] {
        lenient = lenient.replay(block).expect("replay");
    }
    assert_eq!(lenient.equivocations(), s.equivocations());
    assert_eq!(lenient.suspended(&a.name), None);
    assert_eq!(lenient.can_pay(&a.name, 1), Ok(()));
}

#[test]
fn balances_over_a_scripted_multi_epoch_scenario() {
    let ps = parties();
    let (a, b, c) = (&ps[0], &ps[1], &ps[2]);
    let mut s = genesis(&ps);
    let (sa, oa) = size(a, 1, 5);
    let (sb, _) = size(b, 1, 3);
    let (sc, oc) = size(c, 1, 2);
    let (allow_a, allow_c) = (allowance(&oa), allowance(&oc)); // 15 and 12
                                                               // Height 1 (epoch 1), proposed by a: publications and sizes.
    let publications = vec![publication(a, 1), publication(b, 1), publication(c, 1)];
    apply_ok(
        &mut s,
        a,
        attested([publications, vec![sa, sb, sc]].concat()),
    );
    // Height 2, by b: a screens 2 at b (and seals the details).
    let r1 = receipt(a, b, 1, 2, Some(claim(&s, a, &allow_a, 2, 2)));
    apply_ok(
        &mut s,
        b,
        vec![r1.record.clone(), details_record(a, r1.id, 1)],
    );
    // Height 3, by c: a screens 3 at c; c screens 1 at b.
    let r2 = receipt(a, c, 2, 3, Some(claim(&s, a, &allow_a, 5, 3)));
    let r3 = receipt(c, b, 3, 1, Some(claim(&s, c, &allow_c, 1, 1)));
    apply_ok(&mut s, c, vec![r2.record, r3.record.clone()]);
    // Height 4, by a: a confirms the hit from b.
    apply_ok(&mut s, a, vec![feedback(a, r1.id, Verdict::Confirmed)]);
    assert_eq!(s.current_epoch(), 2);
    // Height 5 (epoch 2), by b: a screens 2 at b (b's quality is 1050 now); epoch 1 settles.
    assert!(matches!(
        s.check(&settlement(a, 2)),
        Err(Rejection::Settlement(_))
    ));
    let r4 = receipt(a, b, 4, 2, Some(claim(&s, a, &allow_a, 2, 2)));
    assert!(!s.settled_by_another(&settlement(c, 1)), "epoch 1 is open");
    apply_ok(&mut s, b, vec![r4.record, settlement(b, 1)]);
    assert!(matches!(
        s.check(&settlement(c, 1)),
        Err(Rejection::Settlement(_))
    ));
    // c's settlement of epoch 1 can never commit now (c may have queued it while behind): it
    // leaves c's outbox. b's own settlement is not "another's".
    assert!(s.settled_by_another(&settlement(c, 1)));
    assert!(!s.settled_by_another(&settlement(b, 1)));
    // Height 6, by c: c reports b's hit as a false positive (quality 950), then screens 4 at b.
    let r5 = receipt(c, b, 5, 4, Some(claim(&s, c, &allow_c, 4, 4)));
    apply_ok(
        &mut s,
        c,
        vec![feedback(c, r3.id, Verdict::FalsePositive), r5.record],
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
    assert!(s.equivocations().is_empty());
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
    let (first, old) = size(a, 1, 5);
    let (sc, oc) = size(c, 1, 2);
    let publications = vec![publication(a, 1), publication(b, 1), publication(c, 1)];
    apply_ok(
        &mut s,
        b,
        attested([publications, vec![first, sc]].concat()),
    );
    // A claim against bank-a's epoch-1 allowance, made but not yet committed...
    let in_flight = receipt(a, b, 1, 2, Some(claim(&s, a, &allowance(&old), 2, 2)));
    // ...while blocks move on into epoch 2 (four blocks per epoch)...
    for used in 1..=3u64 {
        let r = receipt(
            c,
            b,
            10 + used as u8,
            1,
            Some(claim(&s, c, &allowance(&oc), used, 1)),
        );
        apply_ok(&mut s, a, vec![r.record]);
    }
    assert_eq!(s.current_epoch(), 2);
    // ...and bank-a publishes its list afresh and commits its unchanged size for it.
    let (count, new) = committed(5, &size_context(a, 2, ROOT), 777);
    assert_ne!(old.commit(), new.commit(), "a fresh blinding");
    apply_ok(
        &mut s,
        b,
        attested(vec![publication(a, 2), size_record(a, 2, ROOT, count)]),
    );
    // The claim in flight still holds; new claims use the new allowance.
    assert_eq!(s.check(&in_flight.record), Ok(()));
    let now = receipt(a, b, 2, 1, Some(claim(&s, a, &allowance(&new), 3, 1)));
    assert_eq!(s.check(&now.record), Ok(()));
    // A second publication and size in the same epoch (a member with a busy list, or several
    // lists) leaves both claims in flight valid.
    let (count, newer) = committed(5, &size_context(a, 3, ROOT), 779);
    apply_ok(
        &mut s,
        b,
        attested(vec![publication(a, 3), size_record(a, 3, ROOT, count)]),
    );
    assert_eq!(s.check(&in_flight.record), Ok(()), "claimed before both");
    assert_eq!(s.check(&now.record), Ok(()), "claimed between them");
    let latest = receipt(a, b, 4, 1, Some(claim(&s, a, &allowance(&newer), 4, 1)));
    assert_eq!(s.check(&latest.record), Ok(()));
    // A claim proven against an allowance the ledger never held does not.
    let other = Opening::new(5, &mut rng(778));
    let forged = receipt(a, b, 5, 1, Some(claim(&s, a, &allowance(&other), 5, 1)));
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
    // No claim overlaps on a ledger that holds none, whatever its bounds.
    let mut c = claim(&state, &ps[0], &base, 1, 1);
    c.used_after = u64::MAX;
    assert_eq!(state.overlapping_claim(&ps[0].name, u32::MAX, &c), None);
}

/// A size counts toward the allowance only once the regulator attested its publication: a
/// size for an unpublished list is refused, a pending or refuted one adds nothing, a pending
/// newer publication leaves the last attested size in force, and a refuted newer one stops
/// the list from counting.
#[test]
fn only_attested_sizes_count_toward_an_allowance() {
    let ps = parties();
    let (a, b) = (&ps[0], &ps[1]);
    let mut s = genesis(&ps);
    let base = Commitment::public(params().base_allowance);
    let allowance_of = |s: &LedgerState| s.allowance(&a.name).commitment;
    let body = |r: &Record| match &r.body {
        RecordBody::ListSize(ls) => (**ls).clone(),
        other => panic!("not a size: {other:?}"),
    };
    let judged =
        |r: &Record, outcome, reason| common::attestation_of(&a.name, &body(r), outcome, reason);

    // A size for a list that was never published.
    let (unpublished, _) = size(a, 1, u64::from(u32::MAX));
    assert!(matches!(
        s.check(&unpublished),
        Err(Rejection::NotPublished { .. })
    ));
    // Published, with an inflated size: nothing counts while pending, nor once refuted.
    apply_ok(&mut s, b, vec![publication(a, 1)]);
    let (inflated, _) = size(a, 1, u64::from(u32::MAX));
    apply_ok(&mut s, b, vec![inflated.clone()]);
    assert_eq!(allowance_of(&s), base, "pending");
    apply_ok(
        &mut s,
        b,
        vec![judged(
            &inflated,
            AttestationOutcome::Refuted,
            "the committed size 4294967295 does not count the tree's 5 entries",
        )],
    );
    assert_eq!(allowance_of(&s), base, "refuted");
    // An honest publication, attested: its size counts.
    apply_ok(&mut s, b, vec![publication(a, 2)]);
    let (honest, five) = size(a, 2, 5);
    apply_ok(&mut s, b, vec![honest.clone()]);
    assert_eq!(allowance_of(&s), base, "pending");
    apply_ok(
        &mut s,
        b,
        vec![judged(&honest, AttestationOutcome::Attested, "")],
    );
    assert_eq!(allowance_of(&s), base.add(&five.commit()));
    // A newer publication pending: the last attested size stays in force...
    apply_ok(&mut s, b, vec![publication(a, 3)]);
    let (newer, seven) = size(a, 3, 7);
    apply_ok(&mut s, b, vec![newer.clone()]);
    assert_eq!(allowance_of(&s), base.add(&five.commit()));
    // ...until it is attested.
    apply_ok(
        &mut s,
        b,
        vec![judged(&newer, AttestationOutcome::Attested, "")],
    );
    assert_eq!(allowance_of(&s), base.add(&seven.commit()));
    // A refuted newest publication: the list counts nothing until a later one is attested.
    apply_ok(&mut s, b, vec![publication(a, 4)]);
    let (lie, nine) = size(a, 4, 9);
    apply_ok(&mut s, b, vec![lie.clone()]);
    assert_eq!(allowance_of(&s), base.add(&seven.commit()));
    apply_ok(
        &mut s,
        b,
        vec![judged(
            &lie,
            AttestationOutcome::Refuted,
            "not a sorted linked list",
        )],
    );
    assert_eq!(allowance_of(&s), base);
    // The committed sizes are all still on the ledger for the regulator to read.
    assert_eq!(s.list_sizes(&a.name).len(), 1);
    assert_eq!(s.counted_sizes(&a.name).len(), 0);

    // The council overrules the refutation (2 of 3): the publication counts as attested, the
    // refutation stays on the ledger, marked. Only a refutation can be overruled, once.
    let overrule = |epoch: u64| MotionAction::Overrule {
        member: a.name.clone(),
        list: common::list(),
        epoch: fengxin_types::Epoch::new(epoch).expect("epoch"),
    };
    for not_refuted in [3, 9] {
        assert!(matches!(
            s.check(&motion(b, overrule(not_refuted))),
            Err(Rejection::InvalidMotion(_))
        ));
    }
    let m = motion(b, overrule(4));
    apply_ok(&mut s, b, vec![m.clone()]);
    assert_eq!(allowance_of(&s), base, "1 of 3 is not 2/3");
    apply_ok(&mut s, b, vec![vote(&ps[2], &m, true)]);
    assert_eq!(s.motions()[&m.id()].decided, Some(true));
    let a4 = s
        .attestation(
            &a.name,
            &common::list(),
            fengxin_types::Epoch::new(4).expect("epoch"),
        )
        .expect("the refutation");
    assert_eq!(a4.attestation.outcome, AttestationOutcome::Refuted);
    assert!(a4.overruled.is_some());
    assert_eq!(a4.outcome(), AttestationOutcome::Attested);
    assert_eq!(s.counted_sizes(&a.name).len(), 1);
    assert_eq!(allowance_of(&s), base.add(&nine.commit()));
    let again = b.sign(RecordBody::Motion(fengxin_ledger::Motion {
        action: overrule(4),
        note: "once more".into(),
    }));
    let refused = s.check(&again);
    assert!(
        matches!(refused, Err(Rejection::InvalidMotion(_))),
        "{refused:?}"
    );
}
